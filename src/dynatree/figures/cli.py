"""`dynatree figure NAME --tables CSV ... --out figures/NAME.pdf` (also writes NAME.png)."""

from __future__ import annotations

import argparse
import importlib
from pathlib import Path

from dynatree.errors import UsageError
from dynatree.io import check_outputs
from dynatree.figures.registry import FIGURE_FILES, FIGURES


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("figure", help="draw one paper figure (PDF + PNG)")
    parser.add_argument(
        "name", choices=sorted(FIGURES), metavar="NAME", help="one of: " + ", ".join(FIGURES)
    )
    parser.add_argument(
        "--tables",
        nargs="+",
        default=[],
        metavar="CSV",
        help="aggregate tables the figure reads (not needed for schematics)",
    )
    parser.add_argument(
        "--file",
        action="append",
        default=[],
        metavar="NAME=JSON",
        help="a named JSON input of figures that read one (verify_cost: profile=..., gpu=...)",
    )
    parser.add_argument(
        "--out", required=True, metavar="PDF", help="NAME.pdf; NAME.png is written next to it"
    )
    parser.set_defaults(func=_figure)


def render(name: str, tables: list[str], out: str, files: dict[str, str] | None = None) -> None:
    """Draw figure ``name`` from ``tables`` (and its named JSON ``files``), as PDF + PNG."""
    from dynatree.figures import style

    if not out.endswith(".pdf"):
        raise UsageError(f"--out {out}: must end in .pdf (the .png is written next to it)")
    outputs = {"--out": [out, str(Path(out).with_suffix(".png"))]}
    check_outputs(outputs, {"--tables": tables, "--file": list((files or {}).values())})
    table = None
    if FIGURES[name]:
        if not tables:
            raise UsageError(f"--tables: figure {name} needs aggregate CSVs (see docs/formats.md)")
        from dynatree.aggregate.table import read_tables

        table = read_tables(tables)
    files = dict(files or {})
    unknown = set(files) - set(FIGURE_FILES.get(name, ()))
    if unknown:
        raise UsageError(f"--file {sorted(unknown)[0]}: figure {name} reads no such file")
    needed = FIGURE_FILES.get(name, ())[:1]  # the first named file is required
    missing = [f for f in needed if f not in files]
    if missing:
        raise UsageError(f"--file {missing[0]}=JSON: figure {name} needs it")
    style.apply()
    module = importlib.import_module(f"dynatree.figures.{name}")
    style.save(module.draw(table, **files), out)


def _figure(args: argparse.Namespace) -> int:
    from dynatree.assignments import parse_pairs

    render(args.name, args.tables, args.out, parse_pairs(args.file, "--file"))
    return 0
