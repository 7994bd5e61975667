"""A loaded claims file as data: what :mod:`dynatree.claims.spec` returns and the checks read.

Kept apart from the loader because the loader's schema is built from the check kinds
(:mod:`dynatree.claims.checks`), which in turn read the file's ``original`` and ``tolerances``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Claim:
    """One claim as written in the file; ``fields`` holds everything its check reads."""

    id: str
    kind: str
    check: str
    where: str
    label: str
    text: str
    fields: dict[str, Any]


@dataclass(frozen=True)
class ClaimsFile:
    path: str
    version: int
    sha256: str
    original: dict[str, dict[str, Any]]
    comparable: dict[str, dict[str, Any]]
    tolerances: dict[str, dict[str, Any]]
    claims: tuple[Claim, ...]
