"""Several finished runs side by side: what each concluded, and what changed between them.

A reviewer who reruns the pipeline and gets another "best setting" or a claim with another verdict
stops trusting the rest (issue 22). This table says, per run: each claim's verdict (``claims.csv``),
each sweep's selected setting and the tie it declared (``select/``), and each main-table row's
paired speedup with its interval (``numbers.json``), with the ratio of every run to the first, and
each tree method's measured / predicted speedup (how much of the real cost the cost profile sees). A
verdict, selection or tie that differs, a speedup ratio beyond ``tolerance``, or a measured /
predicted outside :data:`FIT_BAND` is flagged. Nothing is typed by hand: the README's repeatability
section is this table's output.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dynatree.errors import UsageError
from dynatree.io import read_json
from dynatree.numbers_file import load_numbers

#: Default tolerance on a speedup's ratio between runs (the README's "within ±5 %").
TOLERANCE = 0.05
#: Measured / predicted speedup within which the cost model sees a decode's real cost (issue 22).
FIT_BAND = (0.9, 1.1)
ABSENT = "--"


@dataclass(frozen=True)
class Run:
    """One finished run: its label and what it concluded."""

    label: str
    path: str
    verdicts: dict[str, str]  # claim id → verdict
    selections: dict[str, dict[str, Any]]  # "<dataset>/<method>" → selection JSON
    speedups: dict[str, tuple[float, float | None, float | None]]  # "<ds>/<method>" → (s, lo, hi)
    fits: dict[str, float]  # "<ds>/<method>" → measured / predicted speedup (tree methods)


@dataclass
class Row:
    """One line of the table: what, which one, its value in each run, and what changed."""

    what: str  # claim | selection | tie | speedup | fit
    key: str
    values: list[str]
    change: str = ""
    changed: bool = False
    ratios: list[float | None] = field(default_factory=list)


def _claims(path: Path) -> dict[str, str]:
    file = path / "claims.csv"
    if not file.is_file():
        raise UsageError(f"--runs {path}: no claims.csv; run the pipeline there to the claims")
    with file.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    if rows and not {"claim", "verdict"} <= set(rows[0]):
        raise UsageError(f"--runs {file}: not a claims table (columns claim, verdict)")
    return {row["claim"]: row["verdict"] for row in rows}


def _selections(path: Path) -> dict[str, dict[str, Any]]:
    """``select/<dataset>/<method>.json`` (the racing rounds' decisions live one level deeper)."""
    found = {}
    for file in sorted((path / "select").glob("*/*.json")):
        doc = read_json(file, "--runs")
        if not isinstance(doc, dict) or "setting" not in doc or "tie" not in doc:
            raise UsageError(f"--runs {file}: not a selection (dynatree select); rerun the race")
        found[f"{file.parent.name}/{file.stem}"] = doc
    return found


def _main_rows(
    path: Path,
) -> tuple[dict[str, tuple[float, float | None, float | None]], dict[str, float]]:
    """Every main-table row's speedup and interval, and the measured / predicted speedup of the
    rows a cost profile prices, from numbers.json."""
    file = path / "numbers.json"
    if not file.is_file():
        raise UsageError(f"--runs {path}: no numbers.json; run the pipeline there to the numbers")
    numbers = load_numbers(file)

    def value(key: str) -> Any:
        return numbers[key]["value"] if key in numbers else None

    speedups, fits = {}, {}
    for ds in value("main.datasets") or []:
        for method in value("main.methods") or []:
            key = f"main.{ds}.{method}.speedup"
            if method != "ar" and value(key) is not None:
                interval = value(f"{key}_ci_low"), value(f"{key}_ci_high")
                speedups[f"{ds}/{method}"] = (value(key), *interval)
            if value(f"main.{ds}.{method}.model_ratio") is not None:
                fits[f"{ds}/{method}"] = value(f"main.{ds}.{method}.model_ratio")
    return speedups, fits


def read_run(path: str | Path, label: str) -> Run:
    """A result directory (``results/`` of a finished run) and what it concluded."""
    root = Path(path)
    if not root.is_dir():
        raise UsageError(f"--runs {path}: not a directory; give a run's results/ directory")
    return Run(label, str(path), _claims(root), _selections(root), *_main_rows(root))


def _same(what: str, key: str, values: list[str]) -> Row:
    """A row whose values must be equal in every run."""
    row = Row(what, key, values)
    row.changed = len(set(values)) > 1
    row.change = "differs" if row.changed else ""
    return row


def _tie(selection: dict[str, Any] | None) -> str:
    if selection is None:
        return ABSENT
    return ", ".join(selection["tie"]) if selection["tie"] else "leads"


def _shown(speedup: tuple[float, float | None, float | None] | None) -> str:
    if speedup is None:
        return ABSENT
    value, low, high = speedup
    interval = "" if low is None or high is None else f" [{low:.2f}, {high:.2f}]"
    return f"{value:.2f}x{interval}"


def _speedup_row(key: str, runs: list[Run], tolerance: float) -> Row:
    """A main-table row: each run's speedup, each run's ratio to the first, flagged beyond the
    tolerance (or where a run lacks the row)."""
    found = [run.speedups.get(key) for run in runs]
    row = Row("speedup", key, [_shown(s) for s in found])
    first = found[0]
    row.ratios = [None if s is None or first is None else s[0] / first[0] for s in found]
    parts = [
        f"{run.label}/{runs[0].label} {ratio:.3f}" if ratio is not None else f"{run.label}: absent"
        for run, ratio in zip(runs[1:], row.ratios[1:], strict=True)
    ]
    row.change = "; ".join(parts)
    row.changed = any(r is None or abs(r - 1.0) > tolerance for r in row.ratios)
    return row


def _fit_row(key: str, runs: list[Run]) -> Row:
    """A priced main-table row: each run's measured / predicted, flagged outside FIT_BAND."""
    found = [run.fits.get(key) for run in runs]
    row = Row("fit", key, [ABSENT if f is None else f"{f:.2f}" for f in found])
    low, high = FIT_BAND
    row.changed = any(f is None or not low <= f <= high for f in found)
    row.change = f"{low:.2f}-{high:.2f}" if row.changed else ""
    return row


def compare(runs: list[Run], tolerance: float = TOLERANCE) -> list[Row]:
    """Every claim, selection, tie, main-table speedup and model fit of ``runs``, in that order."""
    if len(runs) < 2:
        raise UsageError("--runs: give at least two result directories to compare")
    rows = []
    claims = list(dict.fromkeys(c for run in runs for c in run.verdicts))
    rows += [_same("claim", c, [run.verdicts.get(c, ABSENT) for run in runs]) for c in claims]
    sweeps = sorted({s for run in runs for s in run.selections})
    for sweep in sweeps:
        chosen = [run.selections.get(sweep) for run in runs]
        settings = [ABSENT if s is None else s["setting"] for s in chosen]
        rows.append(_same("selection", sweep, settings))
        rows.append(_same("tie", sweep, [_tie(s) for s in chosen]))
    keys = list(dict.fromkeys(k for run in runs for k in run.speedups))
    rows += [_speedup_row(key, runs, tolerance) for key in keys]
    fitted = list(dict.fromkeys(k for run in runs for k in run.fits))
    rows += [_fit_row(key, runs) for key in fitted]
    return rows


def write_csv(rows: list[Row], runs: list[Run], path: str | Path) -> None:
    """One CSV line per row: what, key, one column per run label, change, changed."""
    from dynatree.io import atomic_path

    with atomic_path(path) as tmp, tmp.open("w", encoding="utf-8", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(["what", "key", *(run.label for run in runs), "change", "changed"])
        for row in rows:
            out.writerow([row.what, row.key, *row.values, row.change, str(row.changed).lower()])


def summary(rows: list[Row], tolerance: float) -> list[str]:
    """One line per kind: how many rows agree across every run."""
    lines = []
    for what, agree in (
        ("claim", "same verdict in every run"),
        ("selection", "same selected setting in every run"),
        ("tie", "same declared tie (or a lead) in every run"),
        ("speedup", f"paired speedup within ±{tolerance:.0%} of the first run in every run"),
        ("fit", "measured / predicted within {:.2f}-{:.2f} in every run".format(*FIT_BAND)),
    ):
        mine = [row for row in rows if row.what == what]
        if mine:
            same = sum(not row.changed for row in mine)
            lines.append(f"{what}s: {same} of {len(mine)} {agree}")
        if what == "tie":
            lines += _sweeps(rows)
    return lines


def _sweeps(rows: list[Row]) -> list[str]:
    """Sweeps that repeat their decision: the same selected setting or, where a tie went to
    another of its members, the same declared tie (issue 22's "the same selected settings (or
    the same declared ties)")."""
    changed: dict[str, bool] = {}
    for row in rows:
        if row.what in ("selection", "tie"):
            changed[row.key] = changed.get(row.key, True) and row.changed
    if not changed:
        return []
    same = sum(not c for c in changed.values())
    return [f"sweeps: {same} of {len(changed)} same selected setting or same declared tie"]


def markdown(rows: list[Row], runs: list[Run], tolerance: float) -> str:
    """The same table in Markdown, with the runs' paths and the summary above it."""
    legend = [f"- {run.label}: `{run.path}`" for run in runs]
    head = ["what", "key", *(run.label for run in runs), "change"]
    lines = [
        "# Stability across runs (`dynatree stability`)",
        "",
        *legend,
        "",
        *(f"- {line}" for line in summary(rows, tolerance)),
        "",
        "| " + " | ".join(head) + " |",
        "| " + " | ".join("---" for _ in head) + " |",
    ]
    for row in rows:
        flag = "OUTSIDE" if row.what == "fit" else "CHANGED"
        change = f"**{flag}** {row.change}".strip() if row.changed else row.change
        cells = [row.what, f"`{row.key}`", *row.values, change]
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(lines) + "\n"
