"""Read benchmark result JSONs (docs/formats.md) and reject anything that is not one.

Aggregation is the first stage that sees results from many jobs at once; a truncated or foreign
file must stop it with a message naming the file, not surface later as a NaN in the paper.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dynatree.bench.reference import SCHEMA
from dynatree.errors import UsageError
from dynatree.io import read_json

_REQUIRED = ("method", "params", "tags", "protocol", "models", "summary", "provenance")
_REQUIRED_PROTOCOL = ("max_new_tokens", "prompts_sha256")
_REQUIRED_TAGS = ("dataset",)


def load_result(path: str | Path, flag: str = "--inputs") -> dict[str, Any]:
    """Parse one benchmark result and check the fields aggregation relies on (errors name
    ``flag``, the option that gave the file)."""
    p = Path(path)
    data = read_json(p, flag, "; rerun its bench job")
    if not isinstance(data, dict) or data.get("schema") != SCHEMA:
        raise UsageError(f"{flag} {p}: not a benchmark result (expected schema {SCHEMA!r})")
    missing = [k for k in _REQUIRED if k not in data]
    missing += [f"protocol.{k}" for k in _REQUIRED_PROTOCOL if k not in data.get("protocol", {})]
    missing += [f"tags.{k}" for k in _REQUIRED_TAGS if k not in data.get("tags", {})]
    if missing:
        raise UsageError(f"{flag} {p}: missing {', '.join(missing)}; rerun its bench job")
    if "tps_mean" not in data["summary"]:
        raise UsageError(f"{flag} {p}: summary has no tps_mean; rerun its bench job")
    return data
