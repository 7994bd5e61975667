"""JSON-schema validation whose failure is one line: the key path and what is allowed there.

jsonschema's own message for one unknown key prints the whole (sub)schema and instance, hundreds
of lines for the pipeline config. Here the most relevant error (``best_match``) becomes e.g.
``protocol: unknown key 'n_promts'; allowed: n_prompts, warmup, ...`` or ``rows[2].tokens:
missing``. Used for the pipeline config (with defaults filled in, as Snakemake's ``validate``
does) and for the benchmark results that later stages read.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Iterable
from typing import Any

_SHOWN = 60  # characters of an offending value shown in a message


class SchemaViolation(ValueError):
    """``instance`` does not match the schema; ``str()`` is the one-line description."""


def key_path(parts: Iterable[Any]) -> str:
    """``["rows", 2, "tokens"]`` → ``rows[2].tokens`` (empty: the top level)."""
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= _SHOWN else text[: _SHOWN - 3] + "..."


def describe(error: Any) -> str:
    """One line for a ``jsonschema.ValidationError``: where, what was found, what is allowed."""
    where = key_path(error.absolute_path)
    schema, kind, instance = error.schema, error.validator, error.instance
    if kind == "additionalProperties" and isinstance(instance, dict):
        allowed = list(schema.get("properties", {}))
        unknown = [k for k in instance if k not in allowed]
        names = ", ".join(repr(k) for k in unknown)
        tail = f"; allowed: {', '.join(allowed)}" if allowed else ""
        return f"{where or 'top level'}: unknown key {names}{tail}"
    if kind == "required":
        missing = [k for k in error.validator_value if k not in instance]
        return f"{key_path([*error.absolute_path, missing[0]])}: missing (required)"
    if kind == "enum":
        allowed = ", ".join(str(v) for v in error.validator_value)
        return f"{where or 'top level'}: {_shown(instance)} is not allowed; choose one of {allowed}"
    if kind == "type":
        expected = error.validator_value
        expected = " or ".join(expected) if isinstance(expected, list) else expected
        return f"{where or 'top level'}: {_shown(instance)} is not of type {expected}"
    message = error.message
    if len(message) > 3 * _SHOWN:
        message = f"{_shown(instance)} does not satisfy {kind}={_shown(error.validator_value)}"
    return f"{where or 'top level'}: {message}"


def _with_defaults(validator_class: Any) -> Any:
    """A validator class that fills missing properties from their ``default`` while validating
    (the jsonschema FAQ recipe Snakemake's ``validate`` uses; defaults are copied, so filling a
    nested default never edits the schema)."""
    from jsonschema import validators

    check_properties = validator_class.VALIDATORS["properties"]

    def properties(validator: Any, props: dict, instance: Any, schema: dict) -> Any:
        if isinstance(instance, dict):
            for name, subschema in props.items():
                if isinstance(subschema, dict) and "default" in subschema:
                    instance.setdefault(name, copy.deepcopy(subschema["default"]))
        yield from check_properties(validator, props, instance, schema)

    return validators.extend(validator_class, {"properties": properties})


def first_non_finite(instance: Any, path: tuple[Any, ...] = ()) -> tuple[Any, ...] | None:
    """The key path of the first NaN or infinite number in a JSON-like ``instance`` (None: all
    finite). YAML's ``.nan`` and ``.inf`` are floats that satisfy ``minimum`` (NaN compares
    false with every bound, ``inf`` is above every minimum), and JSON schema has no keyword
    for them, so this walk is the one check of finiteness wherever a schema is applied."""
    if isinstance(instance, float) and not math.isfinite(instance):
        return path
    if isinstance(instance, dict):
        items: Iterable[tuple[Any, Any]] = instance.items()
    elif isinstance(instance, list):
        items = enumerate(instance)
    else:
        return None
    for key, value in items:
        found = first_non_finite(value, (*path, key))
        if found is not None:
            return found
    return None


def _fragment(schema: dict[str, Any], path: tuple[Any, ...]) -> dict[str, Any]:
    """The subschema that applies at ``path`` (following properties, items and local $refs)."""

    def resolve(node: Any) -> dict[str, Any]:
        while isinstance(node, dict) and "$ref" in node:
            target: Any = schema
            for part in node["$ref"].removeprefix("#/").split("/"):
                target = target.get(part, {})
            node = target
        return node if isinstance(node, dict) else {}

    node = resolve(schema)
    for part in path:
        if isinstance(part, int):
            node = resolve(node.get("items", {}))
        else:
            extra = node.get("additionalProperties")
            node = resolve(node.get("properties", {}).get(part, extra if extra else {}))
    return node


def range_words(fragment: dict[str, Any]) -> str:
    """``a finite number > 0 and < 1`` from a schema fragment's bounds."""
    signs = {"exclusiveMinimum": ">", "minimum": ">=", "exclusiveMaximum": "<", "maximum": "<="}
    parts = [f"{sign} {fragment[key]:g}" for key, sign in signs.items() if key in fragment]
    return "a finite number" + (f" {' and '.join(parts)}" if parts else "")


def validate(
    instance: Any, schema: dict[str, Any], *, fill_defaults: bool = False, finite: bool = False
) -> Any:
    """Check ``instance`` (filling defaults in place when asked) and return it; with
    ``finite``, every number in it must also be finite (:func:`first_non_finite`).

    Raises :class:`SchemaViolation` with the single most relevant error.
    """
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import best_match

    cls = _with_defaults(Draft202012Validator) if fill_defaults else Draft202012Validator
    error = best_match(cls(schema).iter_errors(instance))
    if error is not None:
        raise SchemaViolation(describe(error))
    bad = first_non_finite(instance) if finite else None
    if bad is not None:
        value = instance
        for part in bad:
            value = value[part]
        allowed = range_words(_fragment(schema, bad))
        raise SchemaViolation(f"{key_path(bad) or 'top level'}: {value} is not allowed; {allowed}")
    return instance
