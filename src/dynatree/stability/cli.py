"""`dynatree stability --runs DIR DIR ... --out CSV`: what several runs concluded, side by side
(the CSV and a Markdown copy beside it; docs/formats.md, "Stability table")."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "stability",
        help="compare finished runs: claims' verdicts, selected settings, main-table speedups",
        description="Each --runs directory is a finished run's results/ (claims.csv, select/, "
        "numbers.json). Writes one table (CSV, and Markdown with the same stem) flagging every "
        "verdict, selection or tie that differs, every speedup beyond --tolerance and every "
        "measured / predicted speedup outside 0.9-1.1.",
    )
    parser.add_argument("--runs", nargs="+", required=True, metavar="DIR", help="results dirs")
    parser.add_argument(
        "--labels", nargs="+", metavar="NAME", help="one per run (default: run1, run2, ...)"
    )
    parser.add_argument(
        "--tolerance",
        type=float,
        default=None,
        metavar="F",
        help="a speedup ratio between runs beyond 1 ± F is flagged (default 0.05)",
    )
    parser.add_argument("--out", required=True, metavar="CSV", help="the table (and .md beside)")
    parser.set_defaults(func=_stability)


def _stability(args: argparse.Namespace) -> int:
    from dynatree.errors import UsageError
    from dynatree.io import check_writable, write_text_atomic
    from dynatree.stability import compare as table

    labels = args.labels or [f"run{i}" for i in range(1, len(args.runs) + 1)]
    if len(labels) != len(args.runs) or len(set(labels)) != len(labels):
        raise UsageError(f"--labels: give {len(args.runs)} distinct names, one per --runs")
    tolerance = table.TOLERANCE if args.tolerance is None else args.tolerance
    if not 0 < tolerance < 1:
        raise UsageError(f"--tolerance {tolerance}: expected a fraction between 0 and 1")
    out = Path(args.out)
    if out.suffix != ".csv":
        raise UsageError(f"--out {out}: name the CSV (the Markdown is written beside it)")
    check_writable(out, "--out")
    runs = [table.read_run(path, label) for path, label in zip(args.runs, labels, strict=True)]
    rows = table.compare(runs, tolerance)
    table.write_csv(rows, runs, out)
    write_text_atomic(out.with_suffix(".md"), table.markdown(rows, runs, tolerance))
    print("\n".join(table.summary(rows, tolerance)), file=sys.stderr)
    return 0
