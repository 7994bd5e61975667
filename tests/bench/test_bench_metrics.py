"""Metric formulas on hand-made decoder statistics (docs/formats.md, metric definitions)."""

from __future__ import annotations

import pytest

from dynatree.bench.metrics import NUMERIC_METRICS, paired_fields, prompt_row, summarize
from dynatree.decoding.base import DecodeOutput, DecodeStats


def row(tokens, stats, wall=2.0, warmup=False, reference=None, peak=100, prompt_tokens=4):
    return prompt_row(
        prompt_id="p",
        prompt_sha256="h",
        prompt_tokens=prompt_tokens,
        warmup=warmup,
        output=DecodeOutput(tokens=tokens, stats=stats),
        wall_time_s=wall,
        peak_memory_bytes=peak,
        reference=reference,
        max_new_tokens=10,
    )


def test_speculative_row():
    # 10 tokens: 1 from prefill + 3 iterations drafting depth 4 each, 6 drafted tokens accepted.
    stats = DecodeStats(
        iterations=3, drafted_tokens=20, drafted_depth=12, accepted_tokens=6,
        draft_time_s=0.5, verify_time_s=1.0, ttft_s=0.2,
    )  # fmt: skip
    r = row(list(range(10)), stats, reference=list(range(10)) + [99])
    assert r["new_tokens"] == 10
    assert r["tps"] == 5.0
    assert r["tpot_s"] == pytest.approx(1.8 / 9)
    assert r["acceptance_rate"] == 0.5
    assert r["tokens_per_iter"] == 10 / 4  # the prefill forward counts as an iteration
    assert r["accepted_len"] == 2.0
    assert r["exact_match"] is True  # reference truncated to max_new_tokens
    assert r["drafted_tokens"] == 20 and r["draft_time_s"] == 0.5


def test_ar_row_and_edge_cases():
    ar = row([5] * 10, DecodeStats(iterations=9, ttft_s=0.1), reference=[5] * 9 + [6])
    assert ar["tokens_per_iter"] == 1.0
    assert ar["acceptance_rate"] is None and ar["accepted_len"] is None
    assert ar["exact_match"] is False
    single = row([5], DecodeStats(ttft_s=0.1))
    assert single["tpot_s"] is None and single["tokens_per_iter"] == 1.0
    assert single["exact_match"] is None


def test_summary_uses_measured_rows_and_skips_nulls():
    rows = [
        row([1] * 10, DecodeStats(iterations=9), wall=100.0, warmup=True, peak=999),
        row([1] * 10, DecodeStats(iterations=4, drafted_depth=8, accepted_tokens=4), wall=1.0,
            reference=[1] * 10, peak=10),
        row([1] * 10, DecodeStats(iterations=9), wall=2.0, reference=[2] * 10, peak=20),
    ]  # fmt: skip
    summary = summarize(rows)
    assert summary["n"] == 2
    assert summary["wall_time_s_mean"] == 1.5
    assert summary["wall_time_s_std"] == pytest.approx(0.5**0.5)
    assert summary["acceptance_rate_mean"] == 0.5 and summary["acceptance_rate_std"] is None
    assert summary["exact_match_rate"] == 0.5
    assert summary["peak_memory_bytes"] == 20
    # verdict counts cover every row (warm-up too); an undiagnosed mismatch counts as wrong
    assert (summary["n_exact"], summary["n_tie"], summary["n_wrong"]) == (1, 0, 1)
    counts = {"n_exact", "n_tie", "n_wrong"}
    paired = {"paired_speedup_median", "paired_speedup_ci_low", "paired_speedup_ci_high"}
    quantiles = {"tree_nodes_p10", "tree_nodes_p50", "tree_nodes_p90"}
    assert set(summary) == {"n", "exact_match_rate", "peak_memory_bytes"} | counts | paired | {
        "paired_exact_match_rate"
    } | quantiles | {f"{m}_{s}" for m in NUMERIC_METRICS for s in ("mean", "std")}
    assert summary["paired_speedup_mean"] is None and summary["paired_speedup_ci_low"] is None


def test_paired_fields_and_their_summary():
    speedups = []
    rows = []
    for i, (wall, ar_wall) in enumerate([(9.0, 9.0), (1.0, 2.0), (1.0, 3.0), (2.0, 3.0)]):
        r = row([1] * 10, DecodeStats(iterations=9), wall=wall, warmup=i == 0)
        ar = DecodeOutput(tokens=[1] * 9 + [2], stats=DecodeStats())
        r.update(paired_fields(r, ar, ar_wall, i % 2 == 0, max_new_tokens=10))
        assert r["paired_speedup"] == pytest.approx(ar_wall / wall)  # same T: time ratio
        assert r["paired_exact_match"] is False and r["paired_ar_first"] is (i % 2 == 0)
        speedups.append(ar_wall / wall)
        rows.append(r)
    summary = summarize(rows)
    assert summary["paired_speedup_mean"] == pytest.approx(sum(speedups[1:]) / 3)
    assert summary["paired_speedup_median"] == 2.0
    assert 1.5 <= summary["paired_speedup_ci_low"] < summary["paired_speedup_ci_high"] <= 3.0
    assert summary["paired_exact_match_rate"] == 0.0
    assert paired_fields(rows[0], None, None, None, 10)["paired_speedup"] is None
