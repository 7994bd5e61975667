"""`dynatree bench` (one decoder over a prompt set), `dynatree merge` (a split job's parts),
`dynatree share` (a job's result under another job's tags) and `dynatree select` (a sweep's
race)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from dynatree.bench.runtime_args import add_runtime_arguments
from dynatree.decoding.registry import METHODS
from dynatree.errors import UsageError


def register(subparsers: Any) -> None:
    """Add the ``bench``, ``merge``, ``share`` and ``select`` subcommands to the top-level
    parser."""
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
    bench.add_argument(
        "--race",
        metavar="DECISION_JSON",
        help="a racing round of a sweep (with --part): decode only if the decision after the "
        "previous round (`dynatree select --round`) keeps this setting (--tag setting) in the "
        "race; else write a skip record, loading no model",
    )
    bench.add_argument("--out", required=True, metavar="JSON", help="result file")
    bench.set_defaults(func=_bench)

    merge = subparsers.add_parser(
        "merge",
        help="join the part results of one split bench job into its result",
        description="The first part's warm-up rows and every part's measured rows, the summary "
        "recomputed, each part's provenance kept (docs/formats.md).",
    )
    merge.add_argument(
        "--inputs", nargs="+", required=True, metavar="PART_JSON", help="results or skip records"
    )
    merge.add_argument("--out", required=True, metavar="JSON")
    merge.set_defaults(func=_merge)

    share = subparsers.add_parser(
        "share",
        help="a benchmark result under another job's tags (a job that measures the same thing)",
        description="Copies the result, replacing its tags with --tag's and naming the file it "
        "came from (provenance.same_as; docs/formats.md).",
    )
    share.add_argument("--of", required=True, metavar="RESULT_JSON", help="the timed result")
    share.add_argument(
        "--tag", action="append", metavar="KEY=VALUE", help="the sharing job's tags (repeatable)"
    )
    share.add_argument("--out", required=True, metavar="JSON")
    share.set_defaults(func=_share)

    select = subparsers.add_parser(
        "select",
        help="race a sweep's settings: the decision after a round, or the selected setting",
        description="Replays the race over a sweep's results (parts are rounds; skip records "
        "stand for rounds a setting did not run) and writes the selection JSON "
        "(docs/formats.md), usable as `dynatree bench --params-file`; with --round I/K the "
        "decision after round I, which `dynatree bench --race` reads.",
    )
    select.add_argument(
        "--inputs", nargs="+", required=True, metavar="JSON", help="results or skip records"
    )
    select.add_argument(
        "--round", metavar="I/K", help="the decision after round I of K (default: the last)"
    )
    select.add_argument(
        "--profile",
        metavar="JSON",
        help="cost profile of the sweep's regime (dynatree profile): a final tie goes to the "
        "setting it predicts fastest, then the cheapest (default: the cheapest)",
    )
    select.add_argument("--out", required=True, metavar="JSON")
    select.set_defaults(func=_select)


def _bench(args: argparse.Namespace) -> int:
    from dynatree.omp import wait_passively

    wait_passively()  # before torch is imported: a busy machine must not stall the timing
    from dynatree.bench.options import build_options
    from dynatree.io import write_json_atomic

    options = build_options(args)  # every check that needs no model: before torch is imported
    if options.skip is not None:  # a racing round this setting does not run
        write_json_atomic(options.out, options.skip)
        print(f"dynatree bench: out of the race ({args.race}): skip record", file=sys.stderr)
        return 0
    from dynatree.bench.harness import run_benchmark

    result = run_benchmark(options, sys.argv)
    write_json_atomic(options.out, result)
    return 0


def _merge(args: argparse.Namespace) -> int:
    from pathlib import Path

    from dynatree.bench.parts import SKIP_SCHEMA, merge
    from dynatree.bench.result_file import load_result
    from dynatree.io import check_outputs, read_json, write_json_atomic

    paths = [Path(p) for p in args.inputs]
    size = sum(p.stat().st_size for p in paths if p.is_file())  # the joined rows: about theirs
    check_outputs({"--out": args.out}, {"--inputs": args.inputs}, size=size)
    parts = []
    for path in args.inputs:
        doc = read_json(path, "--inputs")
        skipped = isinstance(doc, dict) and doc.get("schema") == SKIP_SCHEMA
        parts.append((path, doc if skipped else load_result(path)))
    write_json_atomic(args.out, merge(parts))
    return 0


def _share(args: argparse.Namespace) -> int:
    from dynatree.assignments import parse_pairs
    from dynatree.bench.result_file import load_result
    from dynatree.io import check_outputs, write_json_atomic

    tags = parse_pairs(args.tag, "--tag")
    if "dataset" not in tags:
        raise UsageError("--tag: a shared result needs its job's tags, dataset=... at least")
    check_outputs({"--out": args.out}, {"--of": args.of})
    result = load_result(args.of, "--of")
    dataset = result["tags"]["dataset"]
    if dataset != tags["dataset"]:
        raise UsageError(f"--of {args.of}: dataset {dataset!r}, not --tag's {tags['dataset']!r}")
    provenance = {**result["provenance"], "same_as": str(args.of)}
    write_json_atomic(args.out, {**result, "tags": tags, "provenance": provenance})
    return 0


def _select(args: argparse.Namespace) -> int:
    from dynatree.bench.parts import parse_part
    from dynatree.bench.selection import describe, race
    from dynatree.decoding.cost import CostProfile
    from dynatree.io import check_outputs, write_json_atomic

    given = {"--inputs": args.inputs, **({"--profile": args.profile} if args.profile else {})}
    check_outputs({"--out": args.out}, given)
    profile = CostProfile.from_file(args.profile) if args.profile else None
    round_ = None if args.round is None else parse_part(args.round, "--round")
    selected = race(args.inputs, round_, profile)
    write_json_atomic(args.out, selected)
    print(describe(selected), file=sys.stderr)
    return 0
