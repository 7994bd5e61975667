"""The `dynatree` command: one entry point for every pipeline step, so each rule also runs by hand.

Each stage owns a ``cli`` module with ``register(subparsers)``; handlers import heavy libraries
(torch, transformers, pandas) lazily so ``dynatree --help`` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
from collections.abc import Sequence
from typing import NoReturn

from dynatree import __version__
from dynatree.errors import exit_status

_STAGES = (
    "dynatree.bench.cli",
    "dynatree.bench.profile_cli",
    "dynatree.models.cli",
    "dynatree.data.cli",
    "dynatree.aggregate.cli",
    "dynatree.claims.cli",
    "dynatree.stability.cli",
    "dynatree.figures.cli",
    "dynatree.paper.cli",
)


class _Parser(argparse.ArgumentParser):
    """argparse with the one-line error contract: a bad option is ``prog: error: ...`` on one
    line and exit 2 (no usage block); subcommand parsers inherit it."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    """The full parser, every stage's subcommands included."""
    parser = _Parser(prog="dynatree", description=__doc__)
    parser.add_argument("--version", action="version", version=f"dynatree {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    for name in _STAGES:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one subcommand; a :class:`UsageError` becomes one line on stderr and exit status 2."""
    args = build_parser().parse_args(argv)
    return exit_status(lambda: args.func(args), f"dynatree {args.command}")


if __name__ == "__main__":
    raise SystemExit(main())
