"""The claims file (config/claims.yaml): loaded, validated, and cross-checked before any check runs.

Its structure is a JSON schema built here from the check kinds of :mod:`dynatree.claims.checks`
(each kind declares the fields it needs), so a new kind is declared once and the file format
follows. Names a claim refers to (a tolerance, a comparability profile, an original value) must
exist; a mistake is a :class:`UsageError` naming the claim and the field.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from dynatree.claims.checks import CHECKS, KINDS
from dynatree.claims.records import Claim, ClaimsFile
from dynatree.errors import UsageError

SCHEMA = "dynatree.claims/1"
_ASCII = {"type": "string", "pattern": "^[ -~]+$"}  # printed in terminals and by pdflatex
_KEYS = {"type": "array", "items": {"type": "string"}, "minItems": 1}
_COMMON = ("id", "kind", "check", "where", "label", "text")  # the rest goes to Claim.fields


def _claim_schema() -> dict[str, Any]:
    """One claim: common fields, plus the fields its check kind requires."""
    return {
        "type": "object",
        "required": list(_COMMON),
        "properties": {
            "id": {"type": "string", "pattern": "^[A-Za-z0-9_.]+$"},
            "kind": {"enum": list(KINDS)},
            "check": {"enum": sorted(CHECKS)},
            "where": _ASCII,
            "label": _ASCII,
            "text": _ASCII,
            "reported": _ASCII,
            "for_each": {
                "type": "object",
                "additionalProperties": {"oneOf": [{"type": "string"}, _KEYS]},
            },
            "requires": _KEYS,
        },
        "allOf": [
            {
                "if": {"properties": {"check": {"const": name}}},
                "then": {"required": list(check.fields)},
            }
            for name, check in CHECKS.items()
        ],
    }


FILE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["schema", "version", "paper", "original", "comparable", "tolerances", "claims"],
    "properties": {
        "schema": {"const": SCHEMA},
        "version": {"type": "integer", "minimum": 1},
        "paper": _ASCII,
        "original": {
            "type": "object",
            "additionalProperties": {
                "type": "object",
                "required": ["value", "unit", "digits", "where"],
                "additionalProperties": False,
                "properties": {
                    "value": {"type": "number"},
                    "std": {"type": "number", "minimum": 0},
                    "unit": {"type": ["string", "null"]},
                    "digits": {"type": "integer", "minimum": 0},
                    "where": _ASCII,
                },
            },
        },
        "comparable": {
            "type": "object",
            "additionalProperties": {
                "type": "object",
                "required": ["why", "facts"],
                "properties": {
                    "why": {"type": "string"},
                    "facts": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "required": ["what", "keys"],
                            "additionalProperties": False,
                            "properties": {
                                "what": _ASCII,
                                "keys": _KEYS,
                                "equals": {"type": ["string", "number", "boolean"]},
                                "contains": {"type": "string"},
                            },
                            "oneOf": [{"required": ["equals"]}, {"required": ["contains"]}],
                        },
                    },
                },
            },
        },
        "tolerances": {
            "type": "object",
            "additionalProperties": {
                "type": "object",
                "required": ["why"],
                "additionalProperties": False,
                "properties": {
                    "rel": {"type": "number", "minimum": 0},
                    "abs": {"type": "number", "minimum": 0},
                    "why": {"type": "string"},
                },
                "anyOf": [{"required": ["rel"]}, {"required": ["abs"]}],
            },
        },
        "claims": {"type": "array", "minItems": 1, "items": _claim_schema()},
        "not_encoded": {"type": "array"},
    },
}


def _where(error: Any) -> str:
    return "/".join(str(p) for p in error.absolute_path) or "(top level)"


def load_claims(path: str | Path) -> ClaimsFile:
    """Parse and validate the claims file; every error names the file and the field."""
    import jsonschema
    import yaml

    option = f"--claims {path}"
    try:
        raw = Path(path).read_bytes()
    except (FileNotFoundError, IsADirectoryError):
        raise UsageError(f"{option}: no such file (the repository's: config/claims.yaml)") from None
    try:
        doc = yaml.safe_load(raw)
    except yaml.YAMLError as exc:
        raise UsageError(f"{option}: not valid YAML ({exc})".replace("\n", " ")) from None
    validator = jsonschema.Draft202012Validator(FILE_SCHEMA)
    error = jsonschema.exceptions.best_match(validator.iter_errors(doc))
    if error is not None:
        raise UsageError(f"{option}: {_where(error)}: {error.message}")
    claims = tuple(
        Claim(
            id=c["id"],
            kind=c["kind"],
            check=c["check"],
            where=c["where"],
            label=c["label"],
            text=c["text"],
            fields={k: v for k, v in c.items() if k not in _COMMON},
        )
        for c in doc["claims"]
    )
    spec = ClaimsFile(
        path=str(path),
        version=doc["version"],
        sha256=hashlib.sha256(raw).hexdigest(),
        original=doc["original"],
        comparable=doc["comparable"],
        tolerances=doc["tolerances"],
        claims=claims,
    )
    _cross_check(spec, option)
    return spec


def _cross_check(spec: ClaimsFile, option: str) -> None:
    """References between sections resolve, ids are unique, kinds agree with checks."""
    seen: set[str] = set()
    for claim in spec.claims:
        where = f"{option}: claim {claim.id}"
        if claim.id in seen:
            raise UsageError(f"{where}: duplicate id; give each claim its own")
        seen.add(claim.id)
        if CHECKS[claim.check].kind != claim.kind:
            kind = CHECKS[claim.check].kind
            raise UsageError(f"{where}: {claim.check!r} checks {kind} claims; set kind: {kind}")
        for name in claim.fields.get("requires", []):
            if name not in spec.comparable:
                raise UsageError(f"{where}: requires {name!r}, which `comparable` does not define")
        tolerance = claim.fields.get("tolerance")
        if tolerance is not None and tolerance not in spec.tolerances:
            raise UsageError(f"{where}: tolerance {tolerance!r} is not defined under `tolerances`")
        if claim.kind == "absolute" and claim.fields["key"] not in spec.original:
            raise UsageError(f"{where}: key {claim.fields['key']!r} has no value under `original`")
