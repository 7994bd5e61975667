"""Per-prompt metrics and their summary: one formula for every method (docs/formats.md).

Kept free of torch and of timing so the formulas can be unit-tested on hand-made statistics.
"""

from __future__ import annotations

import math
import statistics
from typing import TYPE_CHECKING, Any

from dynatree.bench import stats
from dynatree.bench.verdict import verdict_counts

if TYPE_CHECKING:  # torch-free at run time: `dynatree bench` validates and merges without torch
    from dynatree.decoding.base import DecodeOutput

# Row fields that are numbers (or null) and get a mean and sample std in the summary.
NUMERIC_METRICS: tuple[str, ...] = (
    "prompt_tokens",
    "new_tokens",
    "wall_time_s",
    "tps",
    "ttft_s",
    "tpot_s",
    "iterations",
    "drafted_tokens",
    "drafted_depth",
    "accepted_tokens",
    "acceptance_rate",
    "tokens_per_iter",
    "accepted_len",
    "tree_nodes",
    "draft_time_s",
    "verify_time_s",
    "peak_memory_bytes",
    "paired_ar_wall_time_s",
    "paired_ar_tps",
    "paired_speedup",
)


def _ratio(num: float, den: float) -> float | None:
    return num / den if den > 0 else None


def prompt_row(
    prompt_id: str,
    prompt_sha256: str,
    prompt_tokens: int,
    warmup: bool,
    output: DecodeOutput,
    wall_time_s: float,
    peak_memory_bytes: int,
    reference: list[int] | None,
    max_new_tokens: int,
) -> dict[str, Any]:
    """The result row of one prompt (docs/formats.md, "Benchmark result JSON").

    ``tokens_per_iter`` (L̄) counts the prefill forward as an iteration: new_tokens /
    (iterations + 1), so every target forward that committed tokens is in the denominator and AR
    gets exactly 1.0. ``acceptance_rate`` and ``accepted_len`` are null when nothing was drafted
    (AR); ``tpot_s`` is null for a single new token.
    """
    stats = output.stats
    new_tokens = len(output.tokens)
    drafted = stats.drafted_depth > 0
    exact = None
    if reference is not None:
        exact = output.tokens[:max_new_tokens] == reference[:max_new_tokens]
    return {
        "prompt_id": prompt_id,
        "prompt_sha256": prompt_sha256,
        "warmup": warmup,
        "prompt_tokens": prompt_tokens,
        "new_tokens": new_tokens,
        "wall_time_s": wall_time_s,
        "tps": _ratio(new_tokens, wall_time_s),
        "ttft_s": stats.ttft_s,
        "tpot_s": _ratio(wall_time_s - stats.ttft_s, new_tokens - 1),
        "iterations": stats.iterations,
        "drafted_tokens": stats.drafted_tokens,
        "drafted_depth": stats.drafted_depth,
        "accepted_tokens": stats.accepted_tokens,
        "acceptance_rate": _ratio(stats.accepted_tokens, stats.drafted_depth),
        "tokens_per_iter": new_tokens / (stats.iterations + 1),
        "accepted_len": _ratio(stats.accepted_tokens, stats.iterations) if drafted else None,
        "tree_nodes": _ratio(stats.drafted_tokens, stats.iterations) if drafted else None,
        "draft_time_s": stats.draft_time_s,
        "verify_time_s": stats.verify_time_s,
        "peak_memory_bytes": peak_memory_bytes,
        "exact_match": exact,
        "verdict": None,  # set with "divergence" after the timed loop (bench.verdict)
        "divergence": None,
        "tokens": list(output.tokens),
        # Per iteration: what it committed and what it cost (a verify-cost profile prices it).
        "accepted_lengths": list(stats.accepted_lengths),
        "verify_sizes": list(stats.verify_sizes),
        "draft_widths": [list(w) for w in stats.draft_widths],
    }


def paired_fields(
    row: dict[str, Any],
    ar: DecodeOutput | None,
    ar_wall_time_s: float | None,
    ar_first: bool | None,
    max_new_tokens: int,
) -> dict[str, Any]:
    """The paired-AR fields of ``row`` (all null when the job ran without ``--paired``).

    ``paired_speedup`` = method tokens/s over the paired AR run's tokens/s on the same prompt
    in the same process, i.e. AR time / method time for the same T tokens (they decode the
    same tokens whenever the method is exact). ``paired_exact_match`` compares the method's
    tokens with that AR run's: a free in-process exactness check.
    """
    if ar is None or ar_wall_time_s is None:
        return {
            "paired_ar_first": None,
            "paired_ar_wall_time_s": None,
            "paired_ar_tps": None,
            "paired_speedup": None,
            "paired_exact_match": None,
        }
    ar_tps = _ratio(len(ar.tokens), ar_wall_time_s)
    speedup = None if row["tps"] is None or not ar_tps else row["tps"] / ar_tps
    return {
        "paired_ar_first": ar_first,
        "paired_ar_wall_time_s": ar_wall_time_s,
        "paired_ar_tps": ar_tps,
        "paired_speedup": speedup,
        "paired_exact_match": row["tokens"][:max_new_tokens] == ar.tokens[:max_new_tokens],
    }


def _mean_std(values: list[float]) -> tuple[float | None, float | None]:
    if not values:
        return None, None
    mean = math.fsum(values) / len(values)
    std = statistics.stdev(values) if len(values) > 1 else None
    return mean, std


def summarize(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Mean and sample std of every numeric metric over measured rows (null values skipped)."""
    measured = [row for row in rows if not row["warmup"]]
    summary: dict[str, Any] = {"n": len(measured)}
    for name in NUMERIC_METRICS:
        values = [float(row[name]) for row in measured if row.get(name) is not None]
        summary[f"{name}_mean"], summary[f"{name}_std"] = _mean_std(values)
    summary.update(_paired_summary(measured))
    matches = [row["exact_match"] for row in measured if row["exact_match"] is not None]
    summary["exact_match_rate"] = sum(matches) / len(matches) if matches else None
    summary.update(verdict_counts(rows))
    summary["peak_memory_bytes"] = max((row["peak_memory_bytes"] for row in measured), default=0)
    sizes = sorted(n - 1 for row in measured for n in row.get("verify_sizes", []))
    for q in (10, 50, 90):  # the drafted-node count per iteration, over every iteration
        summary[f"tree_nodes_p{q}"] = sizes[(len(sizes) - 1) * q // 100] if sizes else None
    return summary


def _paired_summary(measured: list[dict[str, Any]]) -> dict[str, Any]:
    """Median and bootstrap interval of the per-prompt paired speedups (null when unpaired); a
    merged result's interval resamples its parts, then their prompts (dynatree.bench.stats)."""
    low_key, high_key = stats.ci_keys("paired_speedup")
    timed = [row for row in measured if row.get("paired_speedup")]
    speedups = [row["paired_speedup"] for row in timed]
    flags = [
        row["paired_exact_match"] for row in measured if row.get("paired_exact_match") is not None
    ]
    out: dict[str, Any] = {
        "paired_speedup_median": None,
        low_key: None,
        high_key: None,
        "paired_exact_match_rate": sum(flags) / len(flags) if flags else None,
    }
    if speedups:
        ci = stats.bootstrap_ci(speedups, clusters=[row.get("part", 1) for row in timed])
        out.update(
            {
                "paired_speedup_median": statistics.median(speedups),
                low_key: ci.low,
                high_key: ci.high,
            }
        )
    return out
