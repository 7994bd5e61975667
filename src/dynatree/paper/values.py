"""numbers.json as the template sees it: every printed number is formatted here, nowhere else.

Templates call ``n(key)`` (a number at its declared precision), ``s(key)`` (a string fact,
LaTeX-escaped), ``pm(prefix)`` (``mean ± std``), ``ci(key)`` / ``nci(key)`` (a value's
confidence interval in brackets), ``versus(key, other)`` (a computed comparison phrase) and
friends; a key that is not in numbers.json is an error naming the key, never a silent blank.
"""

from __future__ import annotations

import re
from typing import Any

from dynatree.bench import stats
from dynatree.data.splits import DATASET_LABELS
from dynatree.decoding.registry import METHODS
from dynatree.errors import UsageError
from dynatree.experiments import EXPERIMENTS, VARIANTS
from dynatree.numbers_file import format_value

_TEX_SPECIAL = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
}
_TEX_RE = re.compile("|".join(re.escape(k) for k in _TEX_SPECIAL))


def tex_escape(text: Any) -> str:
    """Plain text (model paths, CPU names) made safe for LaTeX."""
    return _TEX_RE.sub(lambda m: _TEX_SPECIAL[m.group(0)], str(text))


# Markers around every value the formatter prints, so the audit can tell a served number from
# a typed one; ``strip_marks`` removes them before the LaTeX is written.
MARK_OPEN, MARK_CLOSE = "\x1e", "\x1f"


def strip_marks(text: str) -> str:
    return text.replace(MARK_OPEN, "").replace(MARK_CLOSE, "")


class Values:
    """Accessors the templates use; each records the keys it served."""

    def __init__(self, numbers: dict[str, dict[str, Any]], mark: bool = False) -> None:
        self.numbers = numbers
        self.used: set[str] = set()
        self.mark = mark

    def _out(self, text: str) -> str:
        return f"{MARK_OPEN}{text}{MARK_CLOSE}" if self.mark else text

    def entry(self, key: str) -> dict[str, Any]:
        if key not in self.numbers:
            raise UsageError(f"template asks for {key!r}, which numbers.json does not contain")
        self.used.add(key)
        return self.numbers[key]

    def has(self, key: str) -> bool:
        return key in self.numbers and self.numbers[key]["value"] is not None

    def v(self, key: str) -> Any:
        return self.entry(key)["value"]

    def n(self, key: str) -> str:
        e = self.entry(key)
        return self._out(format_value(e["value"], e["digits"]))

    def n_abs(self, key: str) -> str:
        e = self.entry(key)
        value = e["value"]
        shown = abs(value) if isinstance(value, int | float) else value
        return self._out(format_value(shown, e["digits"]))

    def signed(self, key: str) -> str:
        """A change with its sign written out (+3.1 / $-$6.2), for Δ columns."""
        e = self.entry(key)
        value, text = e["value"], format_value(e["value"], e["digits"])
        if text == "--" or not isinstance(value, int | float):
            return self._out(text)
        return f"$-${self._out(text[1:])}" if text.startswith("-") else f"+{self._out(text)}"

    def s(self, key: str) -> str:
        return self._out(tex_escape(format_value(self.v(key), self.entry(key)["digits"])))

    def pm(self, prefix: str) -> str:
        """``mean $\\pm$ std`` from ``prefix_mean``, ``prefix_std``; the mean alone without std."""
        mean, std = self.n(f"{prefix}_mean"), self.n(f"{prefix}_std")
        missing = self._out("--")
        return mean if missing in (mean, std) else f"{mean} $\\pm$ {std}"

    def ci(self, key: str) -> str:
        """``[low, high]``, the interval stored next to ``key``; empty when there is none."""
        low, high = stats.ci_keys(key)
        if not (self.has(low) and self.has(high)):
            return ""
        return f"[{self.n(low)}, {self.n(high)}]"

    def nci(self, key: str) -> str:
        """``value [low, high]`` (the value alone without an interval), for table cells."""
        interval = self.ci(key)
        return f"{self.n(key)} {interval}" if interval else self.n(key)

    def versus(self, key: str, other: str) -> str:
        """The comparison at ``key`` (``Numbers.add_comparison``) as prose about ``other``.

        "improves on OTHER by 8.1 % [3.2, 12.9]" / "trails OTHER by ..." only when the
        difference is significant; otherwise "is on par with OTHER (no significant difference:
        +1.5 % [-2.0, +4.9])". The bracket is the interval of the difference, oriented like the
        printed magnitude.
        """
        verb = self.v(f"{key}.verb")
        if not self.has(f"{key}.pct"):
            return f"{verb} {other}"
        low, high = stats.ci_keys(f"{key}.pct")
        has_ci = self.has(low) and self.has(high)
        if self.v(f"{key}.significant"):
            bounds = (low, high) if self.v(f"{key}.pct") > 0 else (high, low)
            interval = f" [{self.n_abs(bounds[0])}, {self.n_abs(bounds[1])}]" if has_ci else ""
            return f"{verb} {other} by {self.n_abs(f'{key}.pct')}\\%{interval}"
        interval = f" [{self.signed(low)}, {self.signed(high)}]" if has_ci else ""
        return (
            f"{verb} {other} (no significant difference: {self.signed(f'{key}.pct')}\\%{interval})"
        )

    def sources(self, key: str) -> list[str]:
        return list(self.entry(key)["sources"])

    def context(self) -> dict[str, Any]:
        """Everything a template may call."""

        def label(registry: dict[str, Any], key: str) -> str:
            return registry[key].label if key in registry else tex_escape(key)

        return {
            "n": self.n,
            "n_abs": self.n_abs,
            "signed": self.signed,
            "s": self.s,
            "v": self.v,
            "has": self.has,
            "pm": self.pm,
            "ci": self.ci,
            "nci": self.nci,
            "versus": self.versus,
            "sources": self.sources,
            "tex": tex_escape,
            "method": lambda m: tex_escape(label(METHODS, m)),
            "dataset": lambda d: tex_escape(DATASET_LABELS.get(d, d)),
            "variant": lambda v: label(VARIANTS, v),  # LaTeX labels
            "experiment": lambda e: label(EXPERIMENTS, e),
            "shown_in": lambda e: EXPERIMENTS[e].shown_in if e in EXPERIMENTS else (),
            "bold": lambda text, cond: f"\\textbf{{{text}}}" if cond else text,
        }
