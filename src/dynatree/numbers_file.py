"""numbers.json (docs/formats.md, "Numbers JSON"): its schema, its reader, and how a value prints.

``dynatree aggregate numbers`` writes the file; the claims, the paper and the stability table
read it through :func:`load_numbers`. The paper, its audit and the claims' verdicts print a
value with :func:`format_value`, at the precision its entry declares, so a number reads the
same in all three.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from dynatree.checked_json import read_validated

SCHEMA = "dynatree.numbers/1"


def format_value(value: Any, digits: int | None) -> str:
    """The one formatting rule shared by the renderer, the audit and the claims."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "--"
    if isinstance(value, list):
        return ", ".join(format_value(v, digits) for v in value)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    return f"{value:.{digits or 0}f}"


_NUMBER = {"type": ["number", "null"]}
_SCALAR = {"type": ["number", "string", "boolean", "null"]}
# numbers.json (docs/formats.md): an entry with a unit, or a single value printed with
# ``digits`` decimals, is a number (null: not measured); a string there would be printed in a
# table as if it were one and compared by the claims as if it were one.
ENTRY_SCHEMA = {
    "type": "object",
    "required": ["value", "unit", "digits", "sources"],
    "additionalProperties": False,
    "properties": {
        "value": {"anyOf": [_SCALAR, {"type": "array", "items": _SCALAR}]},
        "unit": {"type": ["string", "null"]},
        "digits": {"type": ["integer", "null"], "minimum": 0},
        "sources": {"type": "array", "items": {"type": "string"}},
    },
    "allOf": [
        {
            "if": {"properties": {"unit": {"type": "string"}}},
            "then": {"properties": {"value": {"anyOf": [_NUMBER, {"items": _NUMBER}]}}},
        },
        {
            "if": {"properties": {"digits": {"type": "integer"}, "value": _SCALAR}},
            "then": {"properties": {"value": _NUMBER}},
        },
    ],
}
NUMBERS_SCHEMA = {
    "type": "object",
    "required": ["schema", "numbers"],
    "properties": {
        "schema": {"const": SCHEMA},
        "numbers": {"type": "object", "additionalProperties": ENTRY_SCHEMA},
    },
}


def load_numbers(path: str | Path) -> dict[str, dict[str, Any]]:
    """numbers.json's entries, checked against :data:`NUMBERS_SCHEMA` (NaN: ``read_json``)."""
    hint = "; run `dynatree aggregate numbers`"
    kind = (SCHEMA, "numbers file")
    return read_validated(path, "--numbers", NUMBERS_SCHEMA, hint, kind)["numbers"]
