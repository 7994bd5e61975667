"""`dynatree bench` (one decoder over a prompt set), `dynatree merge` (a split job's parts) and
`dynatree select` (a sweep's winner)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from dynatree.bench.runtime_args import add_runtime_arguments
from dynatree.decoding.registry import METHODS


def register(subparsers: Any) -> None:
    """Add the ``bench``, ``merge`` and ``select`` subcommands to the top-level parser."""
    bench = subparsers.add_parser(
        "bench",
        help="benchmark one decoder on a prompts file; writes one result JSON",
        description="Decode every prompt greedily with one method; per-prompt rows, summary "
        "and provenance go to --out (docs/formats.md, 'Benchmark result JSON').",
    )
    bench.add_argument("--target", required=True, help="target model directory (or Hub id)")
    bench.add_argument("--draft", help="draft model directory (or Hub id); not used by ar")
    bench.add_argument(
        "--method", required=True, metavar="METHOD", help="one of: " + ", ".join(METHODS)
    )
    bench.add_argument(
        "--set", action="append", metavar="KEY=VALUE", help="decoder parameter (repeatable)"
    )
    bench.add_argument(
        "--params-file",
        metavar="JSON",
        help="selected setting from `dynatree select`; "
        "its params are the base that --set overrides",
    )
    bench.add_argument("--prompts", required=True, metavar="JSONL", help="prompts file")
    bench.add_argument("--max-new-tokens", type=int, required=True, metavar="T")
    bench.add_argument(
        "--warmup",
        type=int,
        required=True,
        metavar="W",
        help="the first W prompts are run but left out of the summary",
    )
    bench.add_argument("--reference", metavar="AR_JSON", help="AR result to check exactness")
    bench.add_argument(
        "--tag", action="append", metavar="KEY=VALUE", help="free-form label (repeatable)"
    )
    add_runtime_arguments(bench, "prompt + T", "; a prompt must still fit")
    bench.add_argument(
        "--stop-at-eos", action="store_true", help="stop a prompt after the EOS token"
    )
    bench.add_argument(
        "--paired",
        action="store_true",
        help="also time AR (the target alone) on every prompt, interleaved with the method, "
        "and report the paired speedup per prompt (speculative methods only)",
    )
    bench.add_argument(
        "--part",
        metavar="I/K",
        help="decode the warm-up prompts and the I-th of K contiguous shares of the measured "
        "ones (join the K results with `dynatree merge`)",
    )
    bench.add_argument("--out", required=True, metavar="JSON", help="result file")
    bench.set_defaults(func=_bench)

    merge = subparsers.add_parser(
        "merge",
        help="join the part results of one split bench job into its result",
        description="The first part's warm-up rows and every part's measured rows, the summary "
        "recomputed, each part's provenance kept (docs/formats.md).",
    )
    merge.add_argument("--inputs", nargs="+", required=True, metavar="PART_JSON")
    merge.add_argument("--out", required=True, metavar="JSON")
    merge.set_defaults(func=_merge)

    select = subparsers.add_parser(
        "select",
        help="pick the fastest exact setting among results of one method",
        description="Writes the selected-setting JSON (docs/formats.md), usable as "
        "`dynatree bench --params-file`.",
    )
    select.add_argument("--inputs", nargs="+", required=True, metavar="RESULT_JSON")
    select.add_argument("--out", required=True, metavar="JSON")
    select.set_defaults(func=_select)


def _bench(args: argparse.Namespace) -> int:
    from dynatree.omp import wait_passively

    wait_passively()  # before torch is imported: a busy machine must not stall the timing
    from dynatree.bench.options import build_options
    from dynatree.io import write_json_atomic

    options = build_options(args)  # every check that needs no model: before torch is imported
    from dynatree.bench.harness import run_benchmark

    result = run_benchmark(options, sys.argv)
    write_json_atomic(options.out, result)
    return 0


def _merge(args: argparse.Namespace) -> int:
    from pathlib import Path

    from dynatree.aggregate.load import load_result
    from dynatree.bench.parts import merge
    from dynatree.io import check_outputs, write_json_atomic

    parts = [Path(p) for p in args.inputs]
    size = sum(p.stat().st_size for p in parts if p.is_file())  # the joined rows: about theirs
    check_outputs({"--out": args.out}, {"--inputs": args.inputs}, size=size)
    write_json_atomic(args.out, merge([(path, load_result(path)) for path in args.inputs]))
    return 0


def _select(args: argparse.Namespace) -> int:
    from dynatree.bench.selection import describe, select_best
    from dynatree.io import check_outputs, write_json_atomic

    check_outputs({"--out": args.out}, {"--inputs": args.inputs})
    selected = select_best(args.inputs)
    write_json_atomic(args.out, selected)
    print(describe(selected), file=sys.stderr)
    return 0
