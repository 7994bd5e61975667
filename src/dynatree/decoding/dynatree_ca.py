"""DynaTree-CA: the tree that maximises predicted committed tokens per second (DESIGN.md §1b).

DynaTree sizes its tree from draft confidence alone, as if verification were free. Here every
node has a price: t(n), the target's measured latency to verify n tree tokens over the prefix
cache, and g(w), the draft's latency for one round of width w (a verify-cost profile,
``dynatree profile``). A node u is worth a(u), its chance of being accepted: the product along
its path of f(q), where q is the draft's conditional probability of each token and f a
calibration map learned online from this prompt's verifications. A tree S (root-closed) is
expected to commit 1 + Σ_{u∈S} a(u) tokens, so the policy picks S to maximise

    rate(S) = (1 + Σ_{u∈S} a(u)) / (Σ_rounds g(w) + t(|S| + 1)).

Candidates are ranked globally by a(u) across levels (as EAGLE-2 and OPT-Tree do): since a only
shrinks along a path, the best tree of each size is the top nodes by a, root-closed by
construction. Each round admits the prefix of the ranking that maximises the rate, then feeds
the next round only when the best children it could discover are predicted to raise the rate
more than the round costs. On a CPU, where t(n) grows with n, trees stay small and chain-like;
on a GPU, where t(n) is flat for tens of tokens, they grow wide.

Ablations: ``calibrate=false`` uses a(u) = p(u), the raw cumulative draft probability;
``priced=false`` replaces the cost model by a fixed node ``budget`` (top-``budget`` nodes by a).
"""

from __future__ import annotations

import heapq
import itertools
import time
from typing import Any, Protocol

from dynatree.decoding.calibration import AcceptanceCalibration
from dynatree.decoding.cost import CostProfile
from dynatree.decoding.drafting import Candidate, ExpansionPolicy
from dynatree.decoding.params import DynaTreeCAParams
from dynatree.decoding.profiling import in_process_profile
from dynatree.decoding.regime import EAGER, Regime
from dynatree.decoding.speculative import SpeculativeDecoder
from dynatree.decoding.support import check_models
from dynatree.decoding.tree import TokenTree

# Cache lengths within one bucket share their prices (the curves move slowly with the cache).
PREFIX_BUCKET = 32
# Weight of the newest iteration in the running mean of the unpriced overhead.
OVERHEAD_GAIN = 0.1


class CostModel(Protocol):
    """Predicted latencies in seconds (a verify-cost profile)."""

    def verify_s(self, tokens: int, prefix: int) -> float:
        """The target's forward over ``tokens`` tree tokens after ``prefix`` cached ones."""

    def draft_level_s(self, width: int, prefix: int) -> float:
        """One draft forward over ``width`` tree nodes after ``prefix`` cached tokens."""


class PricedPolicy(ExpansionPolicy):
    """Global ranking by calibrated acceptance; tree size and depth chosen by predicted rate."""

    def __init__(self, params: DynaTreeCAParams, cost: CostModel) -> None:
        self.params = params
        self.cost = cost
        self.max_nodes = params.N_max
        self.max_branching = params.max_branching
        self.calibration = AcceptanceCalibration(params.prior)
        self.price_cache: dict[int, tuple[list[float], list[float]]] = {}
        self.start()

    def start(self) -> None:
        self.calibration.reset()
        self.tree: TokenTree | None = None
        self.overhead = 0.0  # seconds per iteration the profile does not price (learned)
        self.since: float | None = None  # when the last tree began
        self.priced = 0.0  # what the profile prices of the time since then

    # --- per-tree state ------------------------------------------------------------------
    def _begin(self, tree: TokenTree) -> None:
        self.tree = tree
        self.verify, self.draft = self._prices(tree.root_position)
        self._learn_overhead(tree)
        self.value = [1.0]  # a(u) per tree node; the root is given
        self.top = [True]  # whether each node was the draft's top choice after its parent
        self.fed = {0}
        self.pool: list[tuple[float, int, Candidate]] = []  # max-heap on a(u) via negation
        self.order = itertools.count()  # FIFO among equal values keeps parents before children

    def _learn_overhead(self, tree: TokenTree) -> None:
        """What an iteration costs beyond its priced forwards, measured between two trees.

        From one tree's start to the next, the profile prices the draft rounds, the
        verification and the next tree's catch-up forward; the rest of the wall time (cache
        surgery, bookkeeping, the policy's own decisions) is a fixed cost per iteration, which
        makes bigger trees worth more. Host time is real time here, also on a GPU: every draft
        round and verification copies its result to the host. A running mean over the prompt.
        """
        now = time.perf_counter()
        if self.since is not None:
            measured = now - self.since
            priced = self.priced + self.draft[tree.draft_widths[0] - 1]
            self.overhead += OVERHEAD_GAIN * (max(measured - priced, 0.0) - self.overhead)
        self.since = now

    def _accept_prob(self, c: Candidate) -> float:
        return self.calibration.rate(c.q, c.rank == 0) if self.params.calibrate else c.q

    def _prices(self, prefix: int) -> tuple[list[float], list[float]]:
        """t(n) and g(w) for every size a tree can reach, at caches near ``prefix``.

        Looked up once per bucket of cache lengths rather than interpolated per decision, and
        made non-decreasing: a measured curve can dip by noise, but verifying (or drafting)
        more tokens never costs less, and a dip would only attract the choice to an artefact.
        """
        bucket = prefix // PREFIX_BUCKET
        if bucket not in self.price_cache:
            at = bucket * PREFIX_BUCKET + PREFIX_BUCKET // 2
            sizes = range(1, self.max_nodes + 2)
            verify = list(itertools.accumulate((self.cost.verify_s(n, at) for n in sizes), max))
            draft = list(itertools.accumulate((self.cost.draft_level_s(w, at) for w in sizes), max))
            self.price_cache[bucket] = (verify, draft)
        return self.price_cache[bucket]

    def _rate(self, expected: float, nodes: int, draft_s: float) -> float:
        """Predicted tokens per second of a tree of ``nodes`` drafted nodes (plus the root)."""
        return expected / (draft_s + self.verify[nodes] + self.overhead)

    def _draft_s(self, tree: TokenTree, extra_width: int = 0) -> float:
        widths = tree.draft_widths + ([extra_width] if extra_width else [])
        return sum(self.draft[w - 1] for w in widths)

    # --- the two decisions ---------------------------------------------------------------
    def admit(self, tree: TokenTree, candidates: list[Candidate]) -> list[Candidate]:
        if tree is not self.tree:
            self._begin(tree)
        for c in candidates:
            value = self.value[c.parent] * self._accept_prob(c)
            heapq.heappush(self.pool, (-value, next(self.order), c))
        room = self.max_nodes - (len(tree) - 1)
        ranked = [heapq.heappop(self.pool) for _ in range(min(room, len(self.pool)))]
        take = self._best_prefix(tree, [-v for v, _, _ in ranked])
        for item in ranked[take:]:
            heapq.heappush(self.pool, item)
        chosen = [c for _, _, c in ranked[:take]]
        self.value += [-v for v, _, _ in ranked[:take]]
        self.top += [c.rank == 0 for c in chosen]
        return chosen

    def _best_prefix(self, tree: TokenTree, values: list[float]) -> int:
        """How many of the ranked candidate ``values`` to admit.

        A tree of the root alone always takes its best candidate: without tested nodes the
        calibration map could never learn that the draft guesses better than it believes.
        """
        n = len(tree) - 1
        if not self.params.priced:
            return min(len(values), max(self.params.budget - n, 0))
        draft_s = self._draft_s(tree)
        expected = sum(self.value)  # 1 (the bonus token) + Σ a(u) over drafted nodes
        first = 1 if n == 0 and values else 0
        expected += sum(values[:first])
        best, best_rate = first, self._rate(expected, n + first, draft_s)
        for k in range(first + 1, len(values) + 1):
            expected += values[k - 1]
            rate = self._rate(expected, n + k, draft_s)
            if rate > best_rate:
                best, best_rate = k, rate
        return best

    def expand(self, tree: TokenTree, new: list[int]) -> list[int]:
        unfed = sorted(
            (n for n in range(1, len(tree)) if n not in self.fed),
            key=lambda n: -self.value[n],
        )
        if not unfed or len(tree) - 1 >= self.max_nodes:
            return []
        feed = self._best_feed(tree, unfed) if self.params.priced else unfed
        self.fed.update(feed)
        return feed

    def _best_feed(self, tree: TokenTree, unfed: list[int]) -> list[int]:
        """The most valuable unfed nodes worth one more draft round, or none.

        Feeding m nodes costs g(m) now and is predicted to discover, per node u, a best child
        worth a(u)·ρ (ρ: how often the draft's top choice has been accepted so far);
        the round pays when the rate with those children beats the rate without the round.
        """
        n = len(tree) - 1
        expected = sum(self.value)
        now = self._rate(expected, n, self._draft_s(tree))
        rho = self.calibration.top_rate() if self.params.calibrate else 0.5
        best, best_rate = 0, now
        gain = 0.0
        for m, node in enumerate(unfed[: self.max_nodes - n], start=1):
            gain += self.value[node] * rho
            rate = self._rate(expected + gain, n + m, self._draft_s(tree, extra_width=m))
            if rate > best_rate:
                best, best_rate = m, rate
        return unfed[:best]

    def observe(self, tree: TokenTree, path: list[int]) -> None:
        """Every tested node (a child of the root or of an accepted node) updates f."""
        rounds = tree.draft_widths[1:]
        self.priced = self.verify[len(tree) - 1] + sum(self.draft[w - 1] for w in rounds)
        if not self.params.calibrate:
            return
        on_path = {0, *path}
        accepted = set(path)
        for node in range(1, len(tree)):
            if tree.parents[node] in on_path:
                q = tree.conditional_prob(node)
                self.calibration.observe(q, self.top[node], node in accepted)


class DynaTreeCADecoder(SpeculativeDecoder):
    name = "dynatree_ca"

    def __init__(
        self,
        target: Any,
        draft: Any,
        params: DynaTreeCAParams,
        regime: Regime = EAGER,
        cost: CostModel | None = None,
    ) -> None:
        if cost is None and params.profile:
            cost = CostProfile.from_file(params.profile, "--set profile")
        elif cost is None:  # run by hand without a profile: measure this pair here and now
            # the profile runs tree forwards: refuse an unfit pair before they touch it
            check_models(target, draft, params.max_branching)
            cost = in_process_profile(target, draft, params.N_max + 1, regime)
        super().__init__(target, draft, PricedPolicy(params, cost), regime)
        self.params = params
