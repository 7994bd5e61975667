"""The interval and the significance rule all comparative statements use (bench.stats)."""

from __future__ import annotations

import math

import pytest

from dynatree.bench import stats


def test_interval_is_reproducible_and_brackets_the_mean():
    values = [1.52, 1.61, 1.47, 1.58, 1.55]
    first, again = stats.bootstrap_ci(values), stats.bootstrap_ci(values)
    assert first == again  # fixed seed: the same results give the same interval
    assert first.estimate == pytest.approx(sum(values) / 5)
    assert min(values) <= first.low < first.estimate < first.high <= max(values)
    assert first.n == 5


def test_one_prompt_has_no_interval():
    ci = stats.bootstrap_ci([1.4])
    assert (ci.estimate, ci.low, ci.high) == (1.4, None, None)
    assert stats.compare([1.9], [1.0]).verdict == stats.ON_PAR


def test_overlapping_results_are_on_par():
    ours = [1.50, 1.62, 1.41, 1.58, 1.47]
    theirs = [1.55, 1.49, 1.52, 1.50, 1.60]
    result = stats.compare(ours, theirs)
    assert result.verdict == stats.ON_PAR and not result.significant
    assert result.low < 1.0 < result.high


def test_separated_results_are_better_or_worse():
    fast = [1.80, 1.75, 1.86, 1.79, 1.83]
    slow = [1.50, 1.52, 1.49, 1.55, 1.47]
    assert stats.compare(fast, slow).verdict == stats.BETTER
    worse = stats.compare(slow, fast)
    assert worse.verdict == stats.WORSE and worse.significant
    assert worse.ratio == pytest.approx(sum(slow) / sum(fast))
    assert worse.high < 1.0


def test_pairing_by_prompt_matters():
    # Prompts differ a lot, but ours is 5 % faster on every one: paired, that is significant.
    theirs = [1.2, 2.0, 1.5, 2.6, 1.1, 1.8]
    ours = [1.05 * v for v in theirs]
    assert stats.compare(ours, theirs).verdict == stats.BETTER


def test_prompts_timed_by_one_process_are_one_bootstrap():
    ours = [1.50, 1.62, 1.41, 1.58, 1.47, 1.55]
    theirs = [1.55, 1.49, 1.52, 1.50, 1.60, 1.40]
    one = stats.compare(ours, theirs, clusters=[1] * 6)
    assert one == stats.compare(ours, theirs)


def test_processes_that_moved_a_whole_share_widen_the_interval():
    # three processes, each off in its own way on all its prompts (a machine state),
    # the prompts within a process close together: per prompt, ours looks steadily faster
    shift = [1.05] * 3 + [0.99] * 3 + [1.07] * 3
    theirs = [1.50, 1.52, 1.49, 1.51, 1.50, 1.53, 1.48, 1.50, 1.51]
    ours = [t * s for t, s in zip(theirs, shift, strict=True)]
    by_prompt = stats.compare(ours, theirs)
    by_process = stats.compare(ours, theirs, clusters=[1, 1, 1, 2, 2, 2, 3, 3, 3])
    assert by_prompt.verdict == stats.BETTER  # the prompts alone call it significant
    assert by_process.verdict == stats.ON_PAR and by_process.low < 1.0 < by_process.high
    assert by_process.ratio == by_prompt.ratio
    again = stats.compare(ours, theirs, clusters=[1, 1, 1, 2, 2, 2, 3, 3, 3])
    assert again == by_process  # seeded
    with pytest.raises(ValueError, match="one cluster label per prompt"):
        stats.bootstrap_ci(ours, clusters=[1, 2])


def test_unequal_clusters_keep_every_resample_the_size_of_the_sample():
    values = [1.0, 1.1, 1.2, 2.0, 2.1]
    ci = stats.bootstrap_ci(values, clusters=["a", "a", "a", "b", "b"])
    assert ci.n == 5 and 1.0 < ci.low < ci.estimate < ci.high < 2.1


def test_bad_samples_are_rejected():
    with pytest.raises(ValueError, match="equal length"):
        stats.compare([1.0, 2.0], [1.0])
    with pytest.raises(ValueError, match="finite"):
        stats.bootstrap_ci([float("nan"), 1.0])


def test_bound_names_are_declared_once():
    assert stats.ci_keys("speedup") == ("speedup_ci_low", "speedup_ci_high")


def test_prompts_for_a_stable_verdict_follow_the_spread_and_the_effect():
    """Two edges, significance and the 5 % margin (BETWEEN_RUNS): among per-prompt differences
    of sd 8.8 %, an effect of 10 % needs ((z(0.975) + z(0.95)) · 8.8 / 10)^2 = 11 prompts to stay
    significant (staying beyond 5 % needs fewer); 2.5 % stays on par from
    (z(0.95) · 8.8 / 2.5)^2 = 34 prompts, none from 9; an effect at the margin never settles."""
    from dynatree.bench.stats import prompts_for_stable_verdict

    assert prompts_for_stable_verdict(10.0, 8.8) == 11
    assert prompts_for_stable_verdict(-10.0, 8.8) == 11
    assert prompts_for_stable_verdict(6.0, 8.8) == 210  # (1.645 · 8.8 / 1)^2: the margin's edge
    assert prompts_for_stable_verdict(2.5, 8.8) == 34
    assert prompts_for_stable_verdict(0.0, 8.8) == 9
    assert prompts_for_stable_verdict(5.0, 8.8) == math.inf
    assert math.isnan(prompts_for_stable_verdict(5.0, math.nan))
