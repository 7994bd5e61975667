"""The values a number may take, declared once: a finite number in a stated range (or a choice).

Decoder parameters (:mod:`dynatree.decoding.params`) and the embedded pair's build settings
(:mod:`dynatree.models.settings`) declare a :class:`Bound` per field; the same declaration checks
a command-line value and writes the field's JSON-schema fragment for the pipeline config. Every
numeric check here refuses NaN and infinities first: ``value < low`` alone lets both through
(NaN compares false with everything, ``inf`` is above every low), which is how ``eta_h=nan`` once
ran to NaN results and ``target_lr=inf`` built a NaN-trained pair.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dynatree.errors import UsageError


def is_finite_number(value: Any) -> bool:
    """An int or a finite float (bools are not numbers here)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    return math.isfinite(value)


@dataclass(frozen=True)
class Bound:
    """A numeric range (``low``/``high``: None is unbounded on that side; ``exclusive``: the
    range excludes the ends it has), a set of choices, or a path that must exist."""

    low: float | None = None
    high: float | None = None
    exclusive: bool = False
    choices: tuple[str, ...] = ()
    file: bool = False  # a path that must name an existing file when given

    @property
    def numeric(self) -> bool:
        return not self.choices and not self.file

    def describe(self) -> str:
        """The range in words, as a refusal states it."""
        lo, hi = self.low, self.high
        if lo is not None and hi is not None:
            if self.exclusive:
                return f"a finite number in the open interval ({lo:g}, {hi:g})"
            return f"a finite number in [{lo:g}, {hi:g}]"
        if lo is not None:
            return f"a finite number {'>' if self.exclusive else '>='} {lo:g}"
        if hi is not None:
            return f"a finite number {'<' if self.exclusive else '<='} {hi:g}"
        return "a finite number"

    def contains(self, value: Any) -> bool:
        """Whether ``value`` is a finite number within the range."""
        if not is_finite_number(value):
            return False
        if self.low is not None and (value <= self.low if self.exclusive else value < self.low):
            return False
        return self.high is None or (value < self.high if self.exclusive else value <= self.high)

    def check(self, name: str, value: Any) -> None:
        """Raise a one-line :class:`UsageError` naming ``name`` when ``value`` is outside."""
        if self.file:
            if value and not Path(value).is_file():
                raise UsageError(f"{name}={value!r}: no such file")
            return
        if self.choices:
            if value not in self.choices:
                raise UsageError(f"{name}={value!r}: expected one of {', '.join(self.choices)}")
            return
        if not self.contains(value):
            raise UsageError(f"{name}={value}: must be {self.describe()}")

    def schema(self, kind: str) -> dict[str, Any]:
        """The JSON-schema fragment of a field of type ``kind`` with this bound (NaN and
        infinities are refused where the schema is applied: dynatree.validation)."""
        out: dict[str, Any] = {
            "int": {"type": "integer"},
            "float": {"type": "number"},
            "bool": {"type": "boolean"},
            "str": {"type": "string"},
        }[kind]
        if self.choices:
            out["enum"] = list(self.choices)
            return out
        prefix = "exclusive" if self.exclusive else ""
        for side, value in (("Minimum", self.low), ("Maximum", self.high)):
            if value is not None and self.numeric and kind in ("int", "float"):
                out[f"{prefix}{side}" if prefix else side.lower()] = value
        return out
