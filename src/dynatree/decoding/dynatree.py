"""DynaTree: confidence-aware breadth, probability-gated depth, pruning and history adaptation.

DESIGN.md §1. Breadth: a node whose draft distribution peaks at c(u) gets B_min children if
c(u) >= tau_h, B_max if c(u) < tau_l, else B_mid. Depth: u is expanded iff d(u) < D_max,
p(u) >= rho_stop and (d(u) < D_0 or p(u) > rho_deep), and never if p(u) < tau (pruning).
History: the mean acceptance a over the last W iterations steers D_0 and tau_h toward a target
a* by proportional control, every iteration. Each component can be switched off (ablation).
"""

from __future__ import annotations

from collections import deque
from typing import Any

from dynatree.decoding.drafting import ThresholdPolicy
from dynatree.decoding.params import DynaTreeParams
from dynatree.decoding.regime import EAGER, Regime
from dynatree.decoding.speculative import SpeculativeDecoder
from dynatree.decoding.tree import TokenTree


class AdaptivePolicy(ThresholdPolicy):
    """The DynaTree expansion rules; D_0 and tau_h are the adapted state."""

    def __init__(self, params: DynaTreeParams) -> None:
        self.params = params
        self.max_nodes = params.N_max
        self.max_branching = params.max_branching
        self.start()

    def start(self) -> None:
        self.d0 = float(self.params.D_0)
        self.tau_h = self.params.tau_h
        self.window: deque[float] = deque(maxlen=self.params.W)

    def branching(self, confidence: float) -> int:
        p = self.params
        if not p.dynamic_breadth:
            return p.B_mid
        if confidence >= self.tau_h:
            return p.B_min
        if confidence < p.tau_l:
            return p.B_max
        return p.B_mid

    def expandable(self, depth: int, prob: float) -> bool:
        p = self.params
        d0 = round(self.d0)
        if prob < p.tau:
            return False
        if not p.dynamic_depth:
            return depth < d0
        return depth < p.D_max and prob >= p.rho_stop and (depth < d0 or prob > p.rho_deep)

    def observe(self, tree: TokenTree, path: list[int]) -> None:
        self.adapt(len(path), tree.max_depth)

    def adapt(self, accepted: int, depth: int) -> None:
        """Proportional control toward a*: accept more than a* → go deeper and branch less."""
        p = self.params
        if not p.history or depth == 0:
            return
        self.window.append(accepted / depth)
        error = sum(self.window) / len(self.window) - p.a_star
        self.d0 = min(max(self.d0 + p.eta_D * error, 1.0), p.D_max - 1.0)
        self.tau_h = min(max(self.tau_h - p.eta_h * error, p.tau_l), 1.0)


class DynaTreeDecoder(SpeculativeDecoder):
    name = "dynatree"

    def __init__(
        self, target: Any, draft: Any, params: DynaTreeParams, regime: Regime = EAGER
    ) -> None:
        super().__init__(target, draft, AdaptivePolicy(params), regime)
        self.params = params
