"""Linear speculative decoding: the draft proposes a chain of K tokens, verified in one pass."""

from __future__ import annotations

from typing import Any

from dynatree.decoding.drafting import ThresholdPolicy
from dynatree.decoding.params import LinearParams
from dynatree.decoding.regime import EAGER, Regime
from dynatree.decoding.speculative import SpeculativeDecoder


class ChainPolicy(ThresholdPolicy):
    """One child per node (the draft's argmax) down to depth K: a tree that is a chain."""

    max_branching = 1

    def __init__(self, params: LinearParams) -> None:
        self.depth = params.K
        self.max_nodes = params.K

    def branching(self, confidence: float) -> int:
        return 1

    def expandable(self, depth: int, prob: float) -> bool:
        return depth < self.depth


class LinearDecoder(SpeculativeDecoder):
    name = "linear"

    def __init__(
        self, target: Any, draft: Any, params: LinearParams, regime: Regime = EAGER
    ) -> None:
        super().__init__(target, draft, ChainPolicy(params), regime)
        self.params = params
