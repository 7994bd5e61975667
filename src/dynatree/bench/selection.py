"""Pick the fastest exact setting among benchmark results of one method (a sweep's winner).

The winner is written as a params file for ``dynatree bench --params-file``, so the main table
runs exactly the setting the sweep found best. Only results whose every row reproduced the AR
reference qualify: a fast but inexact setting is not a valid speculative decoder. A numerical tie
(``tie`` verdict, dynatree.bench.verdict) qualifies: it is the target's own rounding, not the
decoder's, and excluding it would favour settings that merely happened to dodge near-ties. A
``wrong`` row (a bug) or an undiagnosed mismatch of an older result never does.
"""

from __future__ import annotations

from typing import Any

from dynatree.bench.reference import read_result
from dynatree.bench.verdict import row_verdict
from dynatree.errors import UsageError

# Protocol fields that must agree for throughputs to be comparable.
_SAME_PROTOCOL = ("prompts_sha256", "max_new_tokens", "device", "dtype")
# What select reads from each input (docs/formats.md): a result without rows, or with a null
# throughput, cannot be ranked and is an error naming the field, not a crash.
SELECT_FIELDS = {
    "type": "object",
    "required": ["method", "params", "protocol", "rows", "summary"],
    "properties": {
        "method": {"type": "string"},
        "params": {"type": "object"},
        "protocol": {"type": "object"},
        "rows": {"type": "array", "minItems": 1, "items": {"type": "object"}},
        "summary": {
            "type": "object",
            "required": ["tps_mean"],
            "properties": {"tps_mean": {"type": "number", "exclusiveMinimum": 0}},
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
    path, best = max(exact, key=lambda item: item[1]["summary"]["tps_mean"])
    return {
        "method": best["method"],
        "params": best["params"],
        "source": path,
        "tps_mean": best["summary"]["tps_mean"],
    }
