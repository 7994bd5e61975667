"""The pipeline config's JSON schema, completed from the method registry, and its validation.

``workflow/schemas/config.schema.yaml`` holds the structure; the method names and each method's
parameter definitions come from :mod:`dynatree.decoding.registry` (declared once, there), so a
new method is a valid config key the moment it is registered.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft202012Validator, validators

from dynatree.decoding.registry import config_schema_defs

SCHEMA_PATH = Path(__file__).resolve().parents[1] / "schemas" / "config.schema.yaml"


def load_schema(path: str | Path = SCHEMA_PATH) -> dict[str, Any]:
    """The schema at ``path`` with the registry's ``$defs`` filled in."""
    schema = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    schema["$defs"].update(config_schema_defs())
    return schema


def _with_defaults(cls: Any) -> Any:
    """A validator class that fills each missing property's ``default`` before checking it."""
    check_properties = cls.VALIDATORS["properties"]

    def properties(validator: Any, props: dict[str, Any], instance: Any, schema: Any) -> Any:
        if isinstance(instance, dict):
            for name, sub in props.items():
                if "default" in sub:
                    instance.setdefault(name, copy.deepcopy(sub["default"]))
        yield from check_properties(validator, props, instance, schema)

    return validators.extend(cls, {"properties": properties})


def validate_config(config: dict[str, Any], schema: dict[str, Any] | None = None) -> dict[str, Any]:
    """Fill defaults into ``config`` in place and raise on the first schema violation."""
    validator = _with_defaults(Draft202012Validator)(schema or load_schema())
    error = next(iter(validator.iter_errors(config)), None)
    if error is not None:
        raise error
    return config
