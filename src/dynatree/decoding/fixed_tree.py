"""Fixed-tree speculative decoding: every node gets B children down to depth D, pruned by tau."""

from __future__ import annotations

from typing import Any

from dynatree.decoding.drafting import ThresholdPolicy
from dynatree.decoding.params import FixedTreeParams
from dynatree.decoding.regime import EAGER, Regime
from dynatree.decoding.speculative import SpeculativeDecoder


class FixedPolicy(ThresholdPolicy):
    """Static shape: B children per expanded node; expand while depth < D and p(u) >= tau."""

    def __init__(self, params: FixedTreeParams) -> None:
        self.params = params
        self.max_nodes = params.N_max
        self.max_branching = params.max_branching

    def branching(self, confidence: float) -> int:
        return self.params.B

    def expandable(self, depth: int, prob: float) -> bool:
        return depth < self.params.D and prob >= self.params.tau


class FixedTreeDecoder(SpeculativeDecoder):
    name = "fixed_tree"

    def __init__(
        self, target: Any, draft: Any, params: FixedTreeParams, regime: Regime = EAGER
    ) -> None:
        super().__init__(target, draft, FixedPolicy(params), regime)
        self.params = params
