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


def test_bad_samples_are_rejected():
    with pytest.raises(ValueError, match="equal length"):
        stats.compare([1.0, 2.0], [1.0])
    with pytest.raises(ValueError, match="finite"):
        stats.bootstrap_ci([float("nan"), 1.0])


def test_bound_names_are_declared_once():
    assert stats.ci_keys("speedup") == ("speedup_ci_low", "speedup_ci_high")


def test_prompts_for_a_stable_verdict_follow_the_spread_and_the_effect():
    """n = ((z(0.975) + z(0.95)) · sd / effect)^2: an effect of 5 % among per-prompt
    differences of sd 8.8 % needs 41 prompts; half the effect four times as many; none: never."""
    from dynatree.bench.stats import prompts_for_stable_verdict

    assert prompts_for_stable_verdict(5.0, 8.8) == 41
    assert prompts_for_stable_verdict(-5.0, 8.8) == 41
    assert prompts_for_stable_verdict(2.5, 8.8) == 162
    assert prompts_for_stable_verdict(0.0, 8.8) == math.inf
    assert math.isnan(prompts_for_stable_verdict(5.0, math.nan))
