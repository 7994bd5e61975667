"""`dynatree paper render|compile|audit`: numbers.json + figures → LaTeX → PDF."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("paper", help="render and compile the paper")
    sub = parser.add_subparsers(dest="paper_command", required=True)

    render = sub.add_parser("render", help="numbers.json + figures → main.tex + refs.bib")
    render.add_argument("--numbers", required=True, metavar="JSON")
    render.add_argument("--figures-dir", required=True, metavar="DIR")
    render.add_argument("--out-dir", required=True, metavar="DIR")
    render.add_argument(
        "--templates", default="paper", metavar="DIR", help="template directory (default: paper)"
    )
    render.add_argument("--claims", metavar="CSV", help="claims verdicts (`dynatree claims --out`)")
    render.set_defaults(func=_render)

    compile_ = sub.add_parser("compile", help="latexmk -pdf the rendered paper")
    compile_.add_argument("--tex", required=True, metavar="TEX")
    compile_.add_argument("--out", required=True, metavar="PDF")
    compile_.set_defaults(func=_compile)

    audit = sub.add_parser("audit", help="list numbers in a .tex that numbers.json lacks")
    audit.add_argument("--tex", required=True, metavar="TEX")
    audit.add_argument("--numbers", required=True, metavar="JSON")
    audit.add_argument("--claims", metavar="CSV", help="the claims CSV the paper was rendered with")
    audit.set_defaults(func=_audit)


def _render(args: argparse.Namespace) -> int:
    from dynatree.paper.render import render

    render(args.numbers, args.figures_dir, args.out_dir, args.templates, args.claims)
    return 0


def _compile(args: argparse.Namespace) -> int:
    from dynatree.paper.compile import compile_pdf

    compile_pdf(args.tex, args.out)
    return 0


def _audit(args: argparse.Namespace) -> int:
    from pathlib import Path

    from dynatree.errors import UsageError
    from dynatree.paper.audit import audit
    from dynatree.paper.render import load_values

    tex = Path(args.tex)
    if not tex.is_file():
        raise UsageError(f"--tex {tex}: file not found")
    bad = audit(tex.read_text(encoding="utf-8"), load_values(args.numbers, args.claims))
    for literal in bad:
        print(literal)
    return 1 if bad else 0
