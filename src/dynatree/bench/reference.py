"""The AR reference: load an AR result file and check it can judge this run's exactness.

A reference decoded from other prompts, with fewer tokens, or with a different EOS rule would
turn every comparison into a false mismatch (or a false match), so it is rejected up front.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dynatree.bench.prompts import Prompt
from dynatree.checked_json import read_validated
from dynatree.errors import UsageError

SCHEMA = "dynatree.bench/1"

_COUNT = {"type": "integer", "minimum": 0}
# The fields of a result (docs/formats.md) that --reference reads: a file edited by hand or cut
# short by a crash of an older version fails here, naming the field, not with a KeyError.
REFERENCE_FIELDS = {
    "type": "object",
    "required": ["method", "protocol", "rows"],
    "properties": {
        "method": {"type": "string"},
        "protocol": {
            "type": "object",
            "required": ["max_new_tokens"],
            "properties": {"max_new_tokens": _COUNT, "stop_at_eos": {"type": "boolean"}},
        },
        "rows": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["prompt_id", "prompt_sha256", "tokens"],
                "properties": {
                    "prompt_id": {"type": "string"},
                    "prompt_sha256": {"type": "string"},
                    "tokens": {"type": "array", "items": _COUNT},
                },
            },
        },
    },
}


def read_result(
    path: str | Path, flag: str, fields: dict[str, Any], hint: str = "; rerun the job that wrote it"
) -> dict[str, Any]:
    """A benchmark result JSON with the ``fields`` the caller reads (a JSON schema); anything
    else (NaN included, :func:`dynatree.io.read_json`) is a :class:`UsageError` naming ``flag``,
    the file and the field."""
    return read_validated(path, flag, fields, hint, (SCHEMA, "benchmark result"))


def load_reference(
    path: str | Path, prompts: list[Prompt], max_new_tokens: int, stop_at_eos: bool
) -> dict[str, list[int]]:
    """Prompt id → the AR tokens truncated to ``max_new_tokens``, after checking compatibility."""
    flag = f"--reference {str(path)!r}"
    result = read_result(path, "--reference", REFERENCE_FIELDS)
    if result.get("method") != "ar":
        raise UsageError(f"{flag}: method is {result.get('method')!r}; the reference must be ar")
    protocol = result["protocol"]
    ref_t = protocol["max_new_tokens"]
    if ref_t < max_new_tokens:
        raise UsageError(
            f"{flag}: decoded {ref_t} new tokens < --max-new-tokens {max_new_tokens}; "
            "rerun the reference with at least as many"
        )
    if bool(protocol.get("stop_at_eos", False)) != stop_at_eos:
        raise UsageError(f"{flag}: its --stop-at-eos setting differs from this run's")
    rows = {row["prompt_id"]: row for row in result["rows"]}
    reference: dict[str, list[int]] = {}
    for prompt in prompts:
        row = rows.get(prompt.id)
        if row is None:
            raise UsageError(f"{flag}: has no row for prompt {prompt.id!r}; same --prompts needed")
        if row["prompt_sha256"] != prompt.sha256:
            raise UsageError(f"{flag}: prompt {prompt.id!r} differs from --prompts (sha256)")
        tokens = list(row["tokens"])
        if len(tokens) < max_new_tokens and not stop_at_eos:
            raise UsageError(
                f"{flag}: prompt {prompt.id!r} has {len(tokens)} tokens "
                f"< --max-new-tokens {max_new_tokens}"
            )
        reference[prompt.id] = tokens[:max_new_tokens]
    return reference
