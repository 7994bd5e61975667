"""``--set key=value`` handling shared by decoder parameters and the embedded-pair settings.

Both are frozen dataclasses whose field annotations (strings, under ``from __future__ import
annotations``) give the type each value is converted to; unknown keys and bad values are usage
errors that name the key.
"""

from __future__ import annotations

from dataclasses import fields
from typing import Any

from dynatree.errors import UsageError

_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")


def parse_pairs(items: list[str] | None, flag: str) -> dict[str, str]:
    """``["k=v", ...]`` → dict; a missing ``=``, empty key or repeated key is a usage error."""
    pairs: dict[str, str] = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise UsageError(f"{flag} {item!r}: expected key=value")
        if key in pairs:
            raise UsageError(f"{flag} {key}: given twice")
        pairs[key] = value.strip()
    return pairs


def coerce(name: str, value: Any, kind: str) -> Any:
    """Convert a command-line string (or a JSON value) to ``kind`` (int, float, bool or str)."""
    if kind == "bool":
        if isinstance(value, bool):
            return value
        lowered = str(value).lower()
        if lowered in _TRUE:
            return True
        if lowered in _FALSE:
            return False
        raise UsageError(f"--set {name}={value!r}: expected true or false")
    convert = {"int": int, "float": float, "str": str}[kind]
    try:
        if kind == "int" and isinstance(value, float) and not value.is_integer():
            raise ValueError
        return convert(value)
    except (TypeError, ValueError):
        raise UsageError(f"--set {name}={value!r}: expected {kind}") from None


def build(cls: type, values: dict[str, Any], what: str) -> Any:
    """An instance of dataclass ``cls`` from ``values`` over its defaults.

    ``what`` names the thing configured in the unknown-key message (e.g. "parameter for linear").
    """
    known = {f.name: str(f.type) for f in fields(cls)}
    typed: dict[str, Any] = {}
    for key, value in values.items():
        if key not in known:
            raise UsageError(f"--set {key}: unknown {what} (valid: {', '.join(known) or 'none'})")
        typed[key] = coerce(key, value, known[key])
    return cls(**typed)
