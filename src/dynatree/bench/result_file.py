"""Read benchmark result JSONs (docs/formats.md) and reject anything that is not a whole one.

Aggregation and ``dynatree merge`` are the first stages that see results from many jobs at once;
a truncated, foreign or hand-edited file must stop them with a message naming the file and the
field, not surface later as a NaN in the paper or as a mean over half the prompts. Every field
they read is typed here, and the rows must be the prompts the protocol says were decoded.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dynatree.bench.metrics import NUMERIC_METRICS
from dynatree.bench.reference import read_result
from dynatree.bench.verdict import VERDICTS
from dynatree.decoding.registry import METHODS
from dynatree.errors import UsageError

_HINT = "; rerun its bench job"
_NUMBER = {"type": ["number", "null"]}
_COUNT = {"type": "integer", "minimum": 0}
_POSITIVE = {"type": "integer", "minimum": 1}
_INTS = {"type": "array", "items": _COUNT}
# One row per prompt: what the tables, the cost model and a merge's recomputed summary read.
_ROW = {
    "type": "object",
    "required": [
        "prompt_id",
        "warmup",
        "prompt_tokens",
        "new_tokens",
        "tps",
        "ttft_s",
        "exact_match",
        "peak_memory_bytes",
    ],  # fmt: skip
    "properties": {
        **dict.fromkeys(NUMERIC_METRICS, _NUMBER),
        "prompt_id": {"type": "string", "minLength": 1},
        "warmup": {"type": "boolean"},
        "prompt_tokens": _COUNT,
        "new_tokens": _COUNT,
        "tps": {"type": "number", "exclusiveMinimum": 0},
        "ttft_s": {"type": "number", "minimum": 0},
        "peak_memory_bytes": _COUNT,
        "exact_match": {"type": ["boolean", "null"]},
        "paired_exact_match": {"type": ["boolean", "null"]},
        "verdict": {"enum": [*VERDICTS, None]},
        "tokens": _INTS,
        "accepted_lengths": _INTS,
        "verify_sizes": _INTS,
        "draft_widths": {"type": "array", "items": _INTS},
        "part": _POSITIVE,  # merged results: the part (process) that timed the row
    },
}
RESULT_FIELDS = {
    "type": "object",
    "required": [
        "method",
        "params",
        "tags",
        "protocol",
        "models",
        "rows",
        "summary",
        "provenance",
    ],  # fmt: skip
    "properties": {
        "method": {"enum": list(METHODS)},
        "params": {"type": "object"},
        "tags": {
            "type": "object",
            "required": ["dataset"],
            "properties": {"dataset": {"type": "string", "minLength": 1}},
        },
        "protocol": {
            "type": "object",
            "required": ["max_new_tokens", "warmup", "n_prompts", "n_measured", "prompts_sha256"],
            "properties": {
                "max_new_tokens": _POSITIVE,
                "warmup": _COUNT,
                "n_prompts": _POSITIVE,
                "n_measured": _POSITIVE,
                "l_max": _COUNT,
                "threads": _POSITIVE,
                "parts": _POSITIVE,
                "part": {"type": "string"},
                "prompts_sha256": {"type": "string", "minLength": 1},
            },
        },
        "models": {"type": "object"},
        "rows": {"type": "array", "minItems": 1, "items": _ROW},
        "summary": {
            "type": "object",
            "required": ["n", "tps_mean"],
            "properties": {"n": _POSITIVE, "tps_mean": {"type": "number", "exclusiveMinimum": 0}},
            "additionalProperties": _NUMBER,  # means, stds, rates, counts, quantiles: numbers
        },
        "provenance": {"type": "object"},
    },
}


def check_rows(path: str | Path, result: dict[str, Any], flag: str = "--inputs") -> None:
    """The rows are the prompts the protocol and summary say were decoded: ``n_prompts`` rows,
    the first ``warmup`` of them warm-up, ``n_measured`` = summary ``n`` measured, each prompt
    once. A file that lost rows (an edit, a copy cut short) fails here, naming what is missing."""
    protocol, rows = result["protocol"], result["rows"]
    warmup = [row["warmup"] for row in rows]
    n_measured = warmup.count(False)
    expected = [
        ("rows", len(rows), "protocol.n_prompts", protocol["n_prompts"]),
        ("measured rows", n_measured, "protocol.n_measured", protocol["n_measured"]),
        ("measured rows", n_measured, "summary.n", result["summary"]["n"]),
        ("warm-up rows", len(rows) - n_measured, "protocol.warmup", protocol["warmup"]),
    ]
    for what, found, field, says in expected:
        if found != says:
            raise UsageError(
                f"{flag} {path}: {found} {what}, but {field} is {says}; the file is incomplete "
                f"or edited{_HINT}"
            )
    if warmup != sorted(warmup, reverse=True):
        raise UsageError(f"{flag} {path}: a warm-up row after a measured one{_HINT}")
    ids = [row["prompt_id"] for row in rows]
    repeated = sorted({i for i in ids if ids.count(i) > 1})
    if repeated:
        raise UsageError(f"{flag} {path}: prompt {repeated[0]!r} has two rows{_HINT}")


def load_result(path: str | Path, flag: str = "--inputs") -> dict[str, Any]:
    """Parse one benchmark result: every field aggregation and merging read, typed, NaN-free
    (:func:`dynatree.io.read_json`), with the rows its protocol says (errors name ``flag``, the
    option that gave the file)."""
    result = read_result(path, flag, RESULT_FIELDS, _HINT)
    check_rows(path, result, flag)
    return result
