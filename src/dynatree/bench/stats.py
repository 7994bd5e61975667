"""Confidence intervals and the one significance rule for speedups (benchmarks, prose, selection).

Every benchmark job decodes the same prompts, so per-prompt values of two results pair up by
prompt id. An interval is a percentile bootstrap over prompts: prompts are resampled with
replacement (both samples of a comparison with the same indices, so their pairing is kept),
:data:`N_RESAMPLES` times from a generator seeded with :data:`SEED`, so the same results always
give the same interval. numpy does this in a few lines; scipy.stats.bootstrap would add a pinned
dependency to every environment for one function.

A job timed in parts (dynatree.bench.parts) ran its prompts in several processes, minutes apart, and
each process's minute of machine state moves its whole share: between full runs of the embedded
default, the mean paired speedup of one part's prompts moved by 4-8 % (sd over three runs), as much
as or more than the prompts' own spread within a part (standard error 3-7 %), and comparisons
significant in one run were on par in the next (docs/measurements.md). So where the prompts came
from several processes, the bootstrap is two-stage: the processes (clusters) are resampled, then the
prompts within each; an interval then also says how much the result depends on the processes'
machine states, and a verdict holds only when it exceeds them.

What the interval means: the range of the statistic that resampling *these* prompts produces,
i.e. how much the result depends on which prompts were drawn, at :data:`CI_LEVEL`. With few
prompts the percentile bootstrap is narrower than nominal: simulated on normal data, the 95 %
interval of a mean covers the truth 75 % of the time at n = 3, 84 % at n = 5 (the embedded
default), 89 % at n = 8 (the paper's protocol) and 90 % at n = 10. Read it as a guide to how
much the prompts disagree, not as a guarantee; with one prompt there is no interval (``None``).

:func:`compare` is the rule every comparative statement uses ("improves"/"trails" only when the
interval of the ratio excludes 1, i.e. the interval of the difference excludes 0); the prose in
``dynatree.aggregate.numbers``, ``dynatree select`` and the claims check call it, never their own.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np

CI_LEVEL = 0.95
N_RESAMPLES = 10_000
SEED = 0

# Suffixes of the two bounds wherever an interval is stored next to its value (result summary,
# aggregate table, numbers.json): ``speedup`` → ``speedup_ci_low``, ``speedup_ci_high``.
CI_LOW, CI_HIGH = "_ci_low", "_ci_high"

# Verdicts of :func:`compare`.
BETTER, WORSE, ON_PAR = "better", "worse", "on_par"
#: How far a setting's mean paired speedup moves between whole runs of the same code on one
#: machine (docs/stability.md: 3.5-5 % on the embedded pair; a run's process state moves all its
#: prompts, which no interval inside one run sees). A difference within it is not a finding,
#: however significant one run calls it: the sweeps keep such settings in the race
#: (dynatree.bench.selection) and the claims call them on par (dynatree.claims.checks).
BETWEEN_RUNS = 0.05
#: How often a verdict must come out the same on a rerun for a prompt count to be called enough
#: (:func:`prompts_for_stable_verdict`).
REPEAT = 0.95


def ci_keys(name: str) -> tuple[str, str]:
    """The names of the lower and upper bound stored next to ``name``."""
    return f"{name}{CI_LOW}", f"{name}{CI_HIGH}"


@dataclass(frozen=True)
class Interval:
    """A statistic over ``n`` prompts and its bootstrap interval (``None`` bounds when n < 2)."""

    estimate: float
    low: float | None
    high: float | None
    n: int


@dataclass(frozen=True)
class Comparison:
    """Ratio of two results' mean per-prompt values, its interval and the verdict."""

    ratio: float
    low: float | None
    high: float | None
    n: int
    verdict: str  # BETTER | WORSE | ON_PAR

    @property
    def significant(self) -> bool:
        return self.verdict != ON_PAR


def _mean(values: np.ndarray) -> np.ndarray:
    return values.mean(axis=-1)


def _ratio_of_means(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return a.mean(axis=-1) / b.mean(axis=-1)


def _arrays(samples: Sequence[Sequence[float]]) -> list[np.ndarray]:
    arrays = [np.asarray(s, dtype=float) for s in samples]
    if not arrays or len({a.shape for a in arrays}) != 1 or arrays[0].ndim != 1:
        raise ValueError("bootstrap: samples must be 1-d and of equal length (paired by prompt)")
    if arrays[0].size == 0 or not all(np.isfinite(a).all() for a in arrays):
        raise ValueError("bootstrap: samples must be non-empty and finite")
    return arrays


def _two_stage(rng: np.random.Generator, clusters: Sequence[Hashable]) -> np.ndarray:
    """``(N_RESAMPLES, n)`` prompt indices: each cluster's slot (its size kept) filled with
    prompts drawn with replacement from a cluster drawn with replacement."""
    labels = list(dict.fromkeys(clusters))
    members = [np.flatnonzero([c == label for c in clusters]) for label in labels]
    order = np.concatenate(members)  # the prompts grouped by cluster
    sizes = np.array([m.size for m in members])
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    picked = rng.integers(0, len(labels), size=(N_RESAMPLES, len(labels)))
    slots = []
    for slot, size in enumerate(sizes):
        chosen = picked[:, slot, None]
        draw = (rng.random((N_RESAMPLES, size)) * sizes[chosen]).astype(int)
        slots.append(order[starts[chosen] + draw])
    return np.concatenate(slots, axis=1)


def bootstrap_ci(
    *samples: Sequence[float],
    statistic: Callable[..., np.ndarray] = _mean,
    clusters: Sequence[Hashable] | None = None,
) -> Interval:
    """``statistic`` of the samples and its percentile bootstrap interval over prompts.

    ``statistic`` takes one array per sample and reduces the last axis (it is called on the
    samples and on a ``(N_RESAMPLES, n)`` stack of resamples); the default is the mean of one
    sample. Several samples are resampled with the same prompt indices. ``clusters`` (one label
    per prompt: the process that timed it) makes the bootstrap two-stage where there are two
    or more (module docstring).
    """
    arrays = _arrays(samples)
    n = arrays[0].size
    if clusters is not None and len(clusters) != n:
        raise ValueError("bootstrap: one cluster label per prompt")
    estimate = float(statistic(*arrays))
    if n < 2:
        return Interval(estimate, None, None, n)
    rng = np.random.default_rng(SEED)
    if clusters is not None and len(set(clusters)) > 1:
        index = _two_stage(rng, clusters)
    else:
        index = rng.integers(0, n, size=(N_RESAMPLES, n))
    dist = statistic(*(a[index] for a in arrays))
    alpha = (1.0 - CI_LEVEL) / 2.0
    low, high = np.quantile(dist, [alpha, 1.0 - alpha])
    return Interval(estimate, float(low), float(high), n)


def compare(
    ours: Sequence[float],
    theirs: Sequence[float],
    clusters: Sequence[Hashable] | None = None,
) -> Comparison:
    """Is ``ours`` (per-prompt values, higher is better) different from ``theirs``?

    Both are per-prompt speedups (or throughputs) of two results on the same prompts, in the
    same prompt order. The ratio of their means gets a paired bootstrap interval; the verdict
    is BETTER / WORSE only when the whole interval lies above / below 1, else ON_PAR (also with
    fewer than two prompts, where no interval exists). ``clusters``: see :func:`bootstrap_ci`.
    """
    ci = bootstrap_ci(ours, theirs, statistic=_ratio_of_means, clusters=clusters)
    if ci.low is None or ci.high is None or math.isnan(ci.low):
        verdict = ON_PAR
    elif ci.low > 1.0:
        verdict = BETTER
    elif ci.high < 1.0:
        verdict = WORSE
    else:
        verdict = ON_PAR
    return Comparison(ci.estimate, ci.low, ci.high, ci.n, verdict)


def prompts_for_stable_verdict(effect_pct: float, sd_pct: float) -> float:
    """Measured prompts at which a comparison of this effect repeats its verdict in
    :data:`REPEAT` of reruns, from the spread of its per-prompt differences.

    A verdict has two edges. :func:`compare` calls an effect significant when its interval
    (level :data:`CI_LEVEL`) excludes zero, roughly when |mean| > z_a · sd / sqrt(n) with
    z_a = z(1 - (1 - level)/2); and a claim calls a difference within :data:`BETWEEN_RUNS` (m)
    on par however significant (dynatree.claims.checks). A rerun's mean scatters by
    sd / sqrt(n) around the true effect, z_r = z(REPEAT). An effect within the margin repeats
    "on par" once the margin is z_r standard errors away: n = (z_r · sd / (m - |effect|))^2. An
    effect beyond it must stay beyond it and significant: the larger of
    (z_r · sd / (|effect| - m))^2 and ((z_a + z_r) · sd / effect)^2, the usual sample size of
    a two-sided test at that power. An effect at the margin never settles (inf). All in percent
    of the compared speedup.
    """
    if sd_pct < 0 or math.isnan(effect_pct) or math.isnan(sd_pct):
        return math.nan
    margin = BETWEEN_RUNS * 100.0
    if abs(effect_pct) == margin:
        return math.inf
    z_r = NormalDist().inv_cdf(REPEAT)
    needed = (z_r * sd_pct / abs(abs(effect_pct) - margin)) ** 2
    if abs(effect_pct) > margin:
        z_a = NormalDist().inv_cdf(1 - (1 - CI_LEVEL) / 2)
        needed = max(needed, ((z_a + z_r) * sd_pct / effect_pct) ** 2)
    return math.ceil(needed)
