"""`dynatree claims`: the original paper's claims checked against numbers.json, in the terminal
(and, with ``--out``, as results/claims.csv plus its provenance sidecar)."""

from __future__ import annotations

import argparse

TERMINAL_COLUMNS = ["claim", "verdict", "reported", "reproduced"]


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "claims", help="check the original paper's claims against numbers.json"
    )
    parser.add_argument("--numbers", required=True, metavar="JSON", help="results/numbers.json")
    parser.add_argument(
        "--claims", required=True, metavar="YAML", help="the claims file (config/claims.yaml)"
    )
    parser.add_argument(
        "--out",
        metavar="CSV",
        help="also write the verdicts here (and CSV's .provenance.json beside it)",
    )
    parser.set_defaults(func=_claims)


def summary(rows: list) -> str:
    """One line: how many claims hold, do not hold, cannot be compared."""
    from dynatree.claims.checks import VERDICTS

    counts = ", ".join(f"{sum(r.verdict == v for r in rows)} {v}" for v in VERDICTS)
    return f"{len(rows)} claims: {counts}"


def _claims(args: argparse.Namespace) -> int:
    from dynatree.claims.evaluate import evaluate
    from dynatree.claims.output import frame, provenance_path, write
    from dynatree.claims.spec import load_claims
    from dynatree.io import check_outputs
    from dynatree.numbers_file import load_numbers

    if args.out:  # the table and its sidecar
        outputs = {"--out": [args.out, provenance_path(args.out)]}
        check_outputs(outputs, {"--numbers": args.numbers, "--claims": args.claims})
    spec = load_claims(args.claims)
    rows = evaluate(spec, load_numbers(args.numbers))
    table = frame(rows)[TERMINAL_COLUMNS]
    left = {c: f"{{:<{table[c].str.len().max()}}}".format for c in TERMINAL_COLUMNS}
    print(table.to_string(index=False, justify="left", formatters=left))
    print()
    for row in rows:
        print(f"{row.claim}: {row.why}")
    print()
    print(summary(rows))
    if args.out:
        write(rows, spec, args.numbers, args.out)
    return 0
