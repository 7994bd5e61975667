"""`dynatree aggregate table|numbers`: result JSONs → tidy CSV → numbers.json."""

from __future__ import annotations

import argparse
import re

from dynatree.errors import UsageError

_NAME = re.compile(r"^[A-Za-z0-9_]+$")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("aggregate", help="tidy tables and numbers.json from results")
    sub = parser.add_subparsers(dest="aggregate_command", required=True)

    table = sub.add_parser("table", help="one tidy CSV row per benchmark result")
    table.add_argument("--experiment", required=True, help="experiment name, e.g. main")
    table.add_argument(
        "--inputs",
        required=True,
        nargs="+",
        metavar="JSON",
        help="the experiment's results plus the AR results they compare with",
    )
    table.add_argument(
        "--profile",
        nargs="+",
        metavar="JSON",
        help="verify-cost profiles (dynatree profile), one per regime the results ran in: adds "
        "the cost model's predicted speedups (each result priced by its regime's profile)",
    )
    table.add_argument("--out", required=True, metavar="CSV")
    table.set_defaults(func=_table)

    numbers = sub.add_parser("numbers", help="every number the paper uses, with its sources")
    numbers.add_argument("--tables", required=True, nargs="+", metavar="CSV")
    numbers.add_argument("--out", required=True, metavar="JSON")
    numbers.add_argument(
        "--embedded-report",
        metavar="JSON",
        help="models build report; its scalar fields become embedded.* facts",
    )
    numbers.add_argument(
        "--config",
        metavar="JSON",
        help="the resolved run config; its scalar fields become config.* facts",
    )
    numbers.add_argument(
        "--profile",
        nargs="+",
        default=[],
        metavar="JSON",
        help="the run's verify-cost profiles, one per regime: cost.* facts (from the main "
        "table's regime) and floor.* facts",
    )
    numbers.add_argument(
        "--device-check",
        metavar="JSON",
        help="a GPU device check (benchmarks/device_check.py): gpu.* facts",
    )
    numbers.add_argument(
        "--data-manifest",
        metavar="JSON",
        help="the run's data manifest (dynatree data manifest): data.* facts, e.g. which PG-19",
    )
    numbers.add_argument(
        "--selections",
        nargs="+",
        default=[],
        metavar="JSON",
        help="the sweeps' selections (dynatree select): select.* facts",
    )
    numbers.set_defaults(func=_numbers)


def _table(args: argparse.Namespace) -> int:
    from dynatree.aggregate.table import build_table
    from dynatree.io import atomic_path, check_outputs

    if not _NAME.match(args.experiment):
        raise UsageError(f"--experiment {args.experiment!r}: use letters, digits and underscores")
    check_outputs({"--out": args.out}, {"--inputs": args.inputs, "--profile": args.profile})
    frame = build_table(args.experiment, args.inputs, args.profile)
    with atomic_path(args.out) as tmp:
        frame.to_csv(tmp, index=False)
    return 0


def _numbers(args: argparse.Namespace) -> int:
    from dynatree.aggregate.numbers import build_numbers
    from dynatree.aggregate.table import read_tables
    from dynatree.io import check_outputs, write_json_atomic

    inputs = {
        "--tables": args.tables,
        "--embedded-report": args.embedded_report,
        "--config": args.config,
        "--profile": args.profile,
        "--device-check": args.device_check,
        "--data-manifest": args.data_manifest,
        "--selections": args.selections,
    }
    check_outputs({"--out": args.out}, inputs)
    table = read_tables(args.tables)
    doc = build_numbers(
        table,
        args.tables,
        args.embedded_report,
        args.config,
        args.profile,
        args.device_check,
        args.data_manifest,
        args.selections,
    )
    write_json_atomic(args.out, doc)
    return 0
