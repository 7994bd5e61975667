"""Metric formulas on hand-made decoder statistics (docs/formats.md, metric definitions)."""

from __future__ import annotations

import pytest

from dynatree.bench.metrics import NUMERIC_METRICS, prompt_row, summarize
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
    assert set(summary) == {"n", "exact_match_rate", "peak_memory_bytes"} | counts | {
        f"{m}_{s}" for m in NUMERIC_METRICS for s in ("mean", "std")
    }
