"""Pick the fastest exact setting among benchmark results of one method (a sweep's winner).

The winner is written as a params file for ``dynatree bench --params-file``, so the main table
runs exactly the setting the sweep found best. Only results whose every row reproduced the AR
reference qualify: a fast but inexact setting is not a valid speculative decoder. A numerical tie
(``tie`` verdict, dynatree.bench.verdict) qualifies: it is the target's own rounding, not the
decoder's, and excluding it would favour settings that merely happened to dodge near-ties. A
``wrong`` row (a bug) or an undiagnosed mismatch of an older result never does.

Settings are ranked by their paired speedup when every candidate was run with ``--paired`` (it
cancels the machine's drift between the sweep's jobs), else by throughput. The winner is the
fastest either way, but the output also says whether the runner-up is within noise of it
(``dynatree.bench.stats.compare`` on their per-prompt values, the paper's own rule).
"""

from __future__ import annotations

from typing import Any

from dynatree.bench import stats
from dynatree.bench.reference import read_result
from dynatree.bench.verdict import VERDICTS, row_verdict
from dynatree.errors import UsageError

# Protocol fields that must agree for throughputs to be comparable.
_SAME_PROTOCOL = ("prompts_sha256", "max_new_tokens", "device", "dtype")
_SPEED = {"type": "number", "exclusiveMinimum": 0}
_SPEED_OR_NULL = {"type": ["number", "null"], "exclusiveMinimum": 0}
# What select reads from each input (docs/formats.md): a result without rows, or with a null,
# non-numeric or non-positive throughput or speedup, cannot be ranked and is an error naming the
# field, not a crash or a winner that depends on the order of the inputs (NaN: read_json).
SELECT_FIELDS = {
    "type": "object",
    "required": ["method", "params", "protocol", "rows", "summary"],
    "properties": {
        "method": {"type": "string"},
        "params": {"type": "object"},
        "protocol": {"type": "object"},
        "rows": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "properties": {
                    "prompt_id": {"type": "string"},
                    "warmup": {"type": "boolean"},
                    "tps": _SPEED_OR_NULL,
                    "paired_speedup": _SPEED_OR_NULL,
                    "exact_match": {"type": ["boolean", "null"]},
                    "verdict": {"enum": [*VERDICTS, None]},
                },
            },
        },
        "summary": {
            "type": "object",
            "required": ["tps_mean"],
            "properties": {"tps_mean": _SPEED, "paired_speedup_mean": _SPEED_OR_NULL},
        },
    },
}


def _is_exact(result: dict[str, Any]) -> bool:
    """Exact or a tie on every prompt, warm-up included; unchecked results never qualify."""
    rows = result["rows"]
    return bool(rows) and all(row_verdict(row) in ("exact", "tie") for row in rows)


def select_best(paths: list[str]) -> dict[str, Any]:
    """The selected-setting object (docs/formats.md) for the fastest exact result in ``paths``."""
    if not paths:
        raise UsageError("--inputs: give at least one benchmark result")
    results = [(path, read_result(path, "--inputs", SELECT_FIELDS)) for path in paths]
    first_path, first = results[0]
    for path, result in results[1:]:
        if result["method"] != first["method"]:
            raise UsageError(
                f"--inputs {path!r}: method {result['method']!r} differs from "
                f"{first['method']!r} in {first_path!r}; select compares one method's settings"
            )
        for key in _SAME_PROTOCOL:
            if result["protocol"].get(key) != first["protocol"].get(key):
                raise UsageError(
                    f"--inputs {path!r}: protocol {key} differs from {first_path!r}; "
                    "throughputs are only comparable under one protocol"
                )
    exact = [(path, result) for path, result in results if _is_exact(result)]
    if not exact:
        raise UsageError(
            "--inputs: no result matches its AR reference (up to numerical ties) on every "
            "prompt (run dynatree bench with --reference)"
        )
    criterion = _criterion([result for _, result in exact])
    ranked = sorted(exact, key=lambda item: item[1]["summary"][criterion], reverse=True)
    path, best = ranked[0]  # a stable sort: the first input wins ties
    return {
        "method": best["method"],
        "params": best["params"],
        "source": path,
        "tps_mean": best["summary"]["tps_mean"],
        "criterion": criterion,
        "score": best["summary"][criterion],
        "runner_up": _runner_up(best, ranked[1], criterion) if len(ranked) > 1 else None,
    }


def _criterion(results: list[dict[str, Any]]) -> str:
    """Paired speedup when every candidate has one, else mean throughput."""
    paired = all(r["summary"].get("paired_speedup_mean") is not None for r in results)
    return "paired_speedup_mean" if paired else "tps_mean"


def _per_prompt(result: dict[str, Any], criterion: str) -> dict[str, float]:
    """Measured prompt id → the per-prompt value behind ``criterion``."""
    field = "paired_speedup" if criterion == "paired_speedup_mean" else "tps"
    rows = [row for row in result["rows"] if not row.get("warmup", False)]
    return {row["prompt_id"]: row[field] for row in rows if row.get(field) is not None}


def _runner_up(best: dict[str, Any], second: tuple[str, dict[str, Any]], criterion: str) -> Any:
    """The second-best setting and whether the winner is significantly ahead of it."""
    path, result = second
    ours, theirs = _per_prompt(best, criterion), _per_prompt(result, criterion)
    common = sorted(set(ours) & set(theirs))
    low, high = stats.ci_keys("ratio")
    runner = {"params": result["params"], "source": path, "score": result["summary"][criterion]}
    if not common:  # no per-prompt values to compare: no evidence that the winner is ahead
        ratio = best["summary"][criterion] / runner["score"]
        return {**runner, "ratio": ratio, low: None, high: None, "within_noise": True}
    verdict = stats.compare([ours[p] for p in common], [theirs[p] for p in common])
    return {
        **runner,
        "ratio": verdict.ratio,
        low: verdict.low,
        high: verdict.high,
        "within_noise": not verdict.significant,
    }


def describe(selected: dict[str, Any]) -> str:
    """One log line: the winner, and whether the runner-up is within noise of it."""
    line = (
        f"dynatree select: {selected['method']} {selected['params']} wins "
        f"({selected['criterion']} {selected['score']:.3f}; {selected['source']})"
    )
    runner = selected["runner_up"]
    if runner is None:
        return line + "; no runner-up"
    low, high = (runner[k] for k in stats.ci_keys("ratio"))
    interval = "no interval" if low is None else f"{stats.CI_LEVEL:.0%} CI [{low:.3f}, {high:.3f}]"
    verdict = "WITHIN NOISE of" if runner["within_noise"] else "significantly ahead of"
    return (
        f"{line}; it is {verdict} the runner-up {runner['params']} "
        f"({runner['score']:.3f}; ratio {runner['ratio']:.3f}, {interval})"
    )
