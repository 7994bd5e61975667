"""How often the target accepts a drafted token, given the draft's confidence in it.

A drafted node is *tested* when its parent was accepted (the target's greedy choice after the
parent is then known); it is accepted iff that choice is its token. Binning tested nodes by the
draft's conditional probability q, separately for the draft's top choice and the others, gives a
calibration map f(q, top) = P(accepted | q, top), learned online from the prompt's own
verifications. Keeping the top choice apart matters when the draft is confidently right but its
probabilities are flat (a small vocabulary share still wins the argmax). Estimates start from
the identity (a calibrated draft: f(q) = q), as ``weight`` pseudo-counts, so early iterations
behave sensibly and the data takes over as it accumulates (see :meth:`rate`).
"""

from __future__ import annotations

import bisect

# Bin edges on q: fine near 0 and 1, where drafts put most of their mass.
EDGES = (0.0, 0.02, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 1.0)


class AcceptanceCalibration:
    """Running counts per (top choice or not, q bin); ``rate`` is the posterior mean."""

    def __init__(self, weight: float = 4.0) -> None:
        self.weight = weight
        self.reset()

    def reset(self) -> None:
        bins = len(EDGES) - 1
        self.accepted = {top: [0.0] * bins for top in (True, False)}
        self.tested = {top: [0.0] * bins for top in (True, False)}

    @staticmethod
    def _bin(q: float) -> int:
        return min(max(bisect.bisect_right(EDGES, q) - 1, 0), len(EDGES) - 2)

    def observe(self, q: float, top: bool, accepted: bool) -> None:
        b = self._bin(q)
        self.tested[top][b] += 1.0
        self.accepted[top][b] += float(accepted)

    def top_rate(self) -> float:
        """How often the draft's top choice was accepted, over all bins (prior: one half)."""
        tested = sum(self.tested[True])
        return (sum(self.accepted[True]) + 0.5 * self.weight) / (tested + self.weight)

    def rate(self, q: float, top: bool) -> float:
        """The bin's counts, shrunk toward the class's pooled rate, itself shrunk toward q.

        Bins fill slowly (a prompt tests a few hundred nodes over a dozen bins); the pooled
        rate of the draft's top choices (or of the others) learns within a few iterations how
        far the draft's probabilities are from its real accuracy, and lends that to every bin
        until the bin's own counts take over.
        """
        b = self._bin(q)
        pooled = (sum(self.accepted[top]) + self.weight * q) / (sum(self.tested[top]) + self.weight)
        return (self.accepted[top][b] + self.weight * pooled) / (self.tested[top][b] + self.weight)
