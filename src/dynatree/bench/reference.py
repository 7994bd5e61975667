"""The AR reference: load an AR result file and check it can judge this run's exactness.

A reference decoded from other prompts, with fewer tokens, or with a different EOS rule would
turn every comparison into a false mismatch (or a false match), so it is rejected up front.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dynatree.bench.prompts import Prompt
from dynatree.errors import UsageError
from dynatree.io import read_json

SCHEMA = "dynatree.bench/1"


def _read_result(path: Path, flag: str) -> dict[str, Any]:
    obj = read_json(path, flag)
    if not isinstance(obj, dict) or obj.get("schema") != SCHEMA:
        raise UsageError(f"{flag} {str(path)!r}: not a benchmark result ({SCHEMA})")
    return obj


def read_result(path: str | Path, flag: str) -> dict[str, Any]:
    """A benchmark result JSON; anything else is a :class:`UsageError` naming ``flag``."""
    return _read_result(Path(path), flag)


def load_reference(
    path: str | Path, prompts: list[Prompt], max_new_tokens: int, stop_at_eos: bool
) -> dict[str, list[int]]:
    """Prompt id → the AR tokens truncated to ``max_new_tokens``, after checking compatibility."""
    flag = f"--reference {str(path)!r}"
    result = _read_result(Path(path), "--reference")
    if result.get("method") != "ar":
        raise UsageError(f"{flag}: method is {result.get('method')!r}; the reference must be ar")
    protocol = result.get("protocol", {})
    ref_t = protocol.get("max_new_tokens", 0)
    if ref_t < max_new_tokens:
        raise UsageError(
            f"{flag}: decoded {ref_t} new tokens < --max-new-tokens {max_new_tokens}; "
            "rerun the reference with at least as many"
        )
    if bool(protocol.get("stop_at_eos", False)) != stop_at_eos:
        raise UsageError(f"{flag}: its --stop-at-eos setting differs from this run's")
    rows = {row["prompt_id"]: row for row in result.get("rows", [])}
    reference: dict[str, list[int]] = {}
    for prompt in prompts:
        row = rows.get(prompt.id)
        if row is None:
            raise UsageError(f"{flag}: has no row for prompt {prompt.id!r}; same --prompts needed")
        if row.get("prompt_sha256") != prompt.sha256:
            raise UsageError(f"{flag}: prompt {prompt.id!r} differs from --prompts (sha256)")
        tokens = list(row["tokens"])
        if len(tokens) < max_new_tokens and not stop_at_eos:
            raise UsageError(
                f"{flag}: prompt {prompt.id!r} has {len(tokens)} tokens "
                f"< --max-new-tokens {max_new_tokens}"
            )
        reference[prompt.id] = tokens[:max_new_tokens]
    return reference
