"""Comparative prose follows the significance rule: SYNTHETIC results whose per-prompt speedups
overlap read "is on par with ... (no significant difference", clearly separated ones read
"improves on" / "trails". The result files are fake test data (tests/support/synthetic.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from synthetic import write_numbers, write_selections, write_suite, write_tables

from dynatree.bench.metrics import summarize
from dynatree.figures.cli import FIGURES
from dynatree.paper.render import render
from dynatree.paper.values import Values

TEMPLATES = Path(__file__).resolve().parents[2] / "paper"


def _set_dynatree_speedups(suite: dict[str, list[str]], factors: list[float]) -> None:
    """Make each main DynaTree result's per-prompt speedups the fixed tree's times ``factors``."""
    for ds in ("wikitext", "pg19"):
        paths = {
            m: next(p for p in suite["main"] if Path(p).name.startswith(f"main-{ds}-{m}-"))
            for m in ("dynatree", "fixed_tree")
        }
        dyn, fixed = (json.loads(Path(paths[m]).read_text()) for m in ("dynatree", "fixed_tree"))
        for row, ref, factor in zip(dyn["rows"], fixed["rows"], factors, strict=True):
            row["paired_speedup"] = ref["paired_speedup"] * factor
        dyn["summary"] = summarize(dyn["rows"])
        Path(paths["dynatree"]).write_text(json.dumps(dyn))


def _render(root: Path, factors: list[float]) -> str:
    suite = write_suite(root / "results")
    _set_dynatree_speedups(suite, factors)
    tables = write_tables(root / "aggregate", suite)
    selections = write_selections(root / "select", suite)
    numbers = write_numbers(root / "numbers.json", tables, selections)
    figures = root / "figures"
    figures.mkdir()
    for name in FIGURES:  # stand-ins: only their presence matters here
        (figures / f"{name}.pdf").write_bytes(b"%PDF-1.4\n")
    return render(numbers, figures, root / "build", TEMPLATES).read_text()


ON_PAR = "is on par with the tuned fixed tree (no significant difference"
BETTER, WORSE = "improves on the tuned fixed tree", "trails the tuned fixed tree"
CASES = {  # per-prompt factors (warm-up first) → phrase expected, phrases forbidden
    "overlapping": ([1.0, 0.97, 1.03, 0.98], ON_PAR, (BETTER, WORSE)),
    "faster": ([1.0, 1.12, 1.10, 1.11], f"{BETTER} by", (ON_PAR, WORSE)),
    "slower": ([1.0, 0.88, 0.90, 0.89], f"{WORSE} by", (ON_PAR, BETTER)),
}


@pytest.mark.parametrize("case", CASES)
def test_comparison_wording(tmp_path, case):
    factors, expected, absent = CASES[case]
    tex = " ".join(_render(tmp_path, factors).split())  # undo line breaks
    assert expected in tex
    for phrase in absent:
        assert phrase not in tex


def test_versus_and_interval_accessors():
    entry = {"unit": "%", "digits": 1, "sources": []}
    numbers = {
        "c.verb": {**entry, "value": "trails", "digits": None},
        "c.significant": {**entry, "value": True, "digits": None},
        "c.pct": {**entry, "value": -6.04},
        "c.pct_ci_low": {**entry, "value": -8.71},
        "c.pct_ci_high": {**entry, "value": -4.92},
        "s": {**entry, "value": 1.384, "digits": 2},
        "s_ci_low": {**entry, "value": 1.371, "digits": 2},
        "s_ci_high": {**entry, "value": 1.392, "digits": 2},
        "ar": {**entry, "value": 1.0, "digits": 2},
    }
    values = Values(numbers)
    assert values.versus("c", "it") == "trails it by 6.0\\% [4.9, 8.7]"
    numbers["c.significant"]["value"] = False
    numbers["c.verb"]["value"] = "is on par with"
    assert values.versus("c", "it") == (
        "is on par with it (no significant difference: $-$6.0\\% [$-$8.7, $-$4.9])"
    )
    assert values.nci("s") == "1.38 [1.37, 1.39]"
    assert values.nci("ar") == "1.00" and values.ci("ar") == ""
