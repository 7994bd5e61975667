"""The audit: every numeric literal in the paper's body must come from numbers.json.

Strict form (run by every render): the templates are rendered with each value the formatter
prints wrapped in markers; after removing the marked spans, the only digits left in the body
may be those of string facts and source paths printed verbatim (file names, commits) or the
allow-list. A number typed into a template is unmarked and fails, even when it happens to equal
some value in numbers.json.

Loose form (``dynatree paper audit`` on a finished .tex): the rendered LaTeX body (after
``\\begin{document}``) is stripped of markup whose arguments are not prose (labels, references,
citations, graphics options, column specs, rules), then every digit run is checked against the
formatted values of numbers.json (signed and absolute, at their declared precision), the digits
inside its string facts and source paths, and the allow-list.
"""

from __future__ import annotations

import re
from typing import Any

from dynatree.numbers_file import format_value
from dynatree.paper.values import MARK_CLOSE, MARK_OPEN

NUMBER = re.compile(r"\d+(?:\.\d+)?")
# Literals the prose may contain without a source: 0 and 1 are mathematical constants of the
# method's formulas (the clipping intervals [1, D_max - 1] and [0, 1]), not results.
ALLOW: frozenset[str] = frozenset({"0", "1"})
_DROP_ARG = (
    "label",
    "ref",
    "eqref",
    "autoref",
    "cref",
    "pageref",
    "cite",
    "citep",
    "citet",
    "citealp",
    "includegraphics",
    "input",
    "include",
    "bibliography",
    "bibliographystyle",
    "begin",
    "end",
    "vspace",
    "hspace",
    "addlinespace",
    "cmidrule",
    "graphicspath",
    "color",
    "hypersetup",
    "setcounter",
    "newpage",
    "clearpage",
    "appendix",
)
_COLSPEC = re.compile(
    r"\\begin\{(tabular\*?|tabularx|array|longtable)\}(\{[^{}]*\})?\{(?:[^{}]|\{[^{}]*\})*\}"
)
_COMMENT = re.compile(r"(?<!\\)%.*")
_PARENS = re.compile(r"\\cmidrule\([^)]*\)")
_MULTI = re.compile(r"\\multicolumn\{\d+\}\{[^{}]*\}|\\multirow\{\d+\}\{[^{}]*\}")


def body(tex: str) -> str:
    """The text between \\begin{document} and \\end{document}, comments removed."""
    start = tex.find("\\begin{document}")
    end = tex.rfind("\\end{document}")
    text = tex[start if start >= 0 else 0 : end if end >= 0 else len(tex)]
    return "\n".join(_COMMENT.sub("", line) for line in text.splitlines())


def numeric_literals(tex: str) -> list[str]:
    """Numeric literals of the prose, tables and captions of ``tex``."""
    text = _COLSPEC.sub(" ", body(tex))
    text = _PARENS.sub(r"\\cmidrule", text)
    text = _MULTI.sub(" ", text)
    for name in _DROP_ARG:
        text = re.sub(rf"\\{name}(?![A-Za-z])\*?(\[[^\]]*\])?(\{{[^{{}}]*\}})?", " ", text)
    text = re.sub(r"\\[A-Za-z]+\*?\s*\[[^\[\]]*\]", " ", text)  # options of any command
    text = re.sub(r"\\\\\s*\[[^\]]*\]", " ", text)  # \\[2pt]
    text = re.sub(r"\\[A-Za-z]+", " ", text)
    return NUMBER.findall(text)


def allowed(numbers: dict[str, dict[str, Any]]) -> set[str]:
    """Every literal numbers.json can account for."""
    ok = set(ALLOW)
    for entry in numbers.values():
        value, digits = entry["value"], entry["digits"]
        items = value if isinstance(value, list) else [value]
        for item in items:
            if isinstance(item, int | float) and not isinstance(item, bool):
                ok.update(NUMBER.findall(format_value(item, digits)))
                ok.update(NUMBER.findall(format_value(abs(item), digits)))
            elif isinstance(item, str):
                ok.update(NUMBER.findall(item))
        for src in entry["sources"]:
            ok.update(NUMBER.findall(src))
    return ok


def _string_digits(numbers: dict[str, dict[str, Any]]) -> set[str]:
    """Digits a template may print verbatim: those inside string facts and source paths."""
    ok = set(ALLOW)
    for entry in numbers.values():
        value = entry["value"]
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, str):
                ok.update(NUMBER.findall(item))
        for src in entry["sources"]:
            ok.update(NUMBER.findall(src))
    return ok


def audit_marked(marked_tex: str, numbers: dict[str, dict[str, Any]]) -> list[str]:
    """Strict audit of a render made with marked values (see the module docstring)."""
    unmarked = re.sub(f"{MARK_OPEN}[^{MARK_CLOSE}]*{MARK_CLOSE}", " ", marked_tex)
    ok = _string_digits(numbers)
    return sorted({lit for lit in numeric_literals(unmarked) if lit not in ok})


def audit(tex: str, numbers: dict[str, dict[str, Any]]) -> list[str]:
    """The literals of ``tex`` that numbers.json cannot account for (empty when clean)."""
    ok = allowed(numbers)
    return sorted({lit for lit in numeric_literals(tex) if lit not in ok})
