"""`dynatree profile`: measure the verify-cost and draft-level curves of a model pair.

Writes one cost profile JSON (docs/formats.md, "Cost profile JSON") that
:class:`dynatree.decoding.cost.CostProfile` reads. Like a timing job it should have the machine to
itself.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from typing import Any

from dynatree.bench.runtime_args import add_runtime_arguments, check_runtime
from dynatree.errors import UsageError
from dynatree.io import check_outputs


@dataclass(frozen=True)
class ProfileOptions:
    """A validated profile job."""

    target: str
    draft: str
    device: str
    dtype: str
    threads: int
    compile: str
    max_tree: int
    prefix_lengths: list[int]
    repeats: int
    warmup: int
    out: str


def register(subparsers: Any) -> None:
    """Add the ``profile`` subcommand to the top-level parser."""
    parser = subparsers.add_parser(
        "profile",
        help="measure verify cost t(n) and draft level cost g(w); writes a cost profile JSON",
        description="Times the target verifying n = 1, 2, 4, ..., --max-tree tree tokens and "
        "the draft feeding tree levels of as many nodes, at each prefix length, through the "
        "decoders' own code (docs/formats.md, 'Cost profile JSON').",
    )
    parser.add_argument("--target", required=True, help="target model directory (or Hub id)")
    parser.add_argument("--draft", required=True, help="draft model directory (or Hub id)")
    add_runtime_arguments(parser, "prefix + tree")
    parser.add_argument(
        "--max-tree",
        type=int,
        default=256,
        metavar="N",
        help="largest tree measured, in tokens per verification (root included); default 256",
    )
    parser.add_argument(
        "--prefix-lengths",
        type=int,
        nargs="+",
        default=[128, 512],
        metavar="L",
        help="cached tokens before the tree (default: 128 512)",
    )
    parser.add_argument(
        "--repeats", type=int, default=10, metavar="R", help="timed rounds (median; default 10)"
    )
    parser.add_argument(
        "--warmup", type=int, default=2, metavar="W", help="untimed rounds first (default 2)"
    )
    parser.add_argument("--out", required=True, metavar="JSON", help="profile file")
    parser.set_defaults(func=_profile)


def build_options(args: argparse.Namespace) -> ProfileOptions:
    """Check every argument before a model is loaded."""
    from dynatree.decoding.support import fixed_positions
    from dynatree.locate import config_positions, locate_model

    for value, flag, low in (
        (args.max_tree, "--max-tree", 1),
        (args.repeats, "--repeats", 1),
        (args.warmup, "--warmup", 0),
    ):
        if value < low:
            raise UsageError(f"{flag} {value}: must be >= {low}")
    threads = check_runtime(args)
    if min(args.prefix_lengths) < 1:
        raise UsageError(f"--prefix-lengths {min(args.prefix_lengths)}: must be >= 1")
    if not args.out:
        raise UsageError("--out: give the profile path")
    check_outputs({"--out": args.out}, {"--target": args.target, "--draft": args.draft})
    from dynatree.models.loading import resolve_device, resolve_dtype

    resolve_dtype(args.dtype, resolve_device(args.device))
    prefixes = sorted(set(args.prefix_lengths))
    for path, flag in ((args.target, "--target"), (args.draft, "--draft")):
        config = locate_model(path, flag).config
        limit = config_positions(config)
        if limit is None or prefixes[-1] + args.max_tree <= limit:
            continue
        table = fixed_positions(config)
        if not args.beyond_context or table is not None:
            why = f", and {table}" if args.beyond_context else ""
            raise UsageError(
                f"--prefix-lengths {prefixes[-1]} + --max-tree {args.max_tree} exceeds {flag}'s "
                f"{limit} positions{why}; measure shorter prefixes or smaller trees"
            )
    return ProfileOptions(
        target=args.target,
        draft=args.draft,
        device=args.device,
        dtype=args.dtype,
        threads=threads,
        compile=args.compile,
        max_tree=args.max_tree,
        prefix_lengths=prefixes,
        repeats=args.repeats,
        warmup=args.warmup,
        out=args.out,
    )


def run_profile(options: ProfileOptions, argv: list[str]) -> dict[str, Any]:
    """Load the pair, refuse what tree decoding cannot verify, measure, and add provenance."""
    import torch

    from dynatree.bench import provenance
    from dynatree.bench.floor import floor_curve
    from dynatree.bench.harness import load_models
    from dynatree.decoding.cost import SCHEMA
    from dynatree.decoding.profiling import measure
    from dynatree.decoding.regime import resolve
    from dynatree.decoding.support import TREE, check_model
    from dynatree.models.loading import load_config, resolve_device, resolve_dtype

    device = resolve_device(options.device)
    dtype = resolve_dtype(options.dtype, device)
    torch.set_num_threads(options.threads)
    for name, flag in ((options.target, "--target"), (options.draft, "--draft")):
        check_model(load_config(name, flag), TREE, flag)  # before any weights load
    target, _, draft = load_models(options.target, options.draft, device, dtype)
    regime = resolve(options.compile, device.type)
    measured = measure(
        target,
        draft,
        options.prefix_lengths,
        options.max_tree,
        options.repeats,
        options.warmup,
        regime,
    )
    return {
        "schema": SCHEMA,
        "models": {
            "target": options.target,
            "draft": options.draft,
            "target_params": sum(p.numel() for p in target.parameters()),
            "draft_params": sum(p.numel() for p in draft.parameters()),
        },
        "device": device.type,
        "dtype": str(dtype).removeprefix("torch."),
        "threads": options.threads,
        **measured,
        "floor": floor_curve(target, draft, measured["settings"]["sizes"]),
        "provenance": provenance.collect(device, argv),
    }


def _profile(args: argparse.Namespace) -> int:
    from dynatree.io import write_json_atomic

    options = build_options(args)
    write_json_atomic(options.out, run_profile(options, sys.argv))
    return 0
