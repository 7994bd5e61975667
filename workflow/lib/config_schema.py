"""The pipeline config's JSON schema, completed from the method registry, and its validation.

``workflow/schemas/config.schema.yaml`` holds the structure; the method names and each method's
parameter definitions come from :mod:`dynatree.decoding.registry` (declared once, there), so a
new method is a valid config key the moment it is registered, and the embedded pair's settings
with their ranges from :mod:`dynatree.models.settings`. A violation is one line naming
the key path and what is allowed there (:mod:`dynatree.validation`), never the schema itself.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from dynatree.decoding.registry import config_schema_defs
from dynatree.models.settings import settings_schema
from dynatree.validation import validate

SCHEMA_PATH = Path(__file__).resolve().parents[1] / "schemas" / "config.schema.yaml"
# libyaml's loader where PyYAML has it: the pure-Python one is a tenth of the planning time.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load_schema(path: str | Path = SCHEMA_PATH) -> dict[str, Any]:
    """The schema at ``path`` with the registry's ``$defs`` filled in."""
    schema = yaml.load(Path(path).read_text(encoding="utf-8"), Loader=_LOADER)
    schema["$defs"].update(config_schema_defs(), embedded_settings=settings_schema())
    return schema


def validate_config(config: dict[str, Any], schema: dict[str, Any] | None = None) -> dict[str, Any]:
    """Fill defaults into ``config`` in place; a violation, or a number that is NaN or infinite
    anywhere in it (YAML ``.nan``, ``.inf``), raises :class:`dynatree.validation.SchemaViolation`
    (one line: key path, what is allowed)."""
    return validate(config, schema or load_schema(), fill_defaults=True, finite=True)
