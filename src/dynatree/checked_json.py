"""JSON inputs checked against the fields their reader uses, refused in one line otherwise.

Above :mod:`dynatree.io` and :mod:`dynatree.validation` (jsonschema), in a module of its own:
the data rules, whose environment has no jsonschema, import io but never read such a file.
"""

from __future__ import annotations

import os
from typing import Any

from dynatree.errors import UsageError
from dynatree.io import read_json
from dynatree.validation import SchemaViolation, validate


def read_validated(
    path: str | os.PathLike[str],
    option: str,
    fields: dict[str, Any],
    hint: str = "",
    kind: tuple[str, str] | None = None,
) -> Any:
    """A JSON input (:func:`read_json`) with the ``fields`` its reader uses (a JSON schema);
    anything else is a :class:`UsageError` naming ``option``, the file and the field. ``kind``
    = (schema id, what the file is) refuses a file of another kind first, by what it should be."""
    doc = read_json(path, option, hint)
    if kind is not None and (not isinstance(doc, dict) or doc.get("schema") != kind[0]):
        raise UsageError(f"{option} {path}: not a {kind[1]} (expected schema {kind[0]!r})")
    try:
        return validate(doc, fields)
    except SchemaViolation as exc:
        raise UsageError(f"{option} {path}: {exc}{hint}") from None
