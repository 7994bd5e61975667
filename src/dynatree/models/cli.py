"""``dynatree models fetch`` and ``dynatree models build-embedded``."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``models`` with its ``fetch`` and ``build-embedded`` subcommands."""
    models = subparsers.add_parser("models", help="paper models from the Hub; the embedded pair")
    sub = models.add_subparsers(dest="models_command", required=True)

    fetch = sub.add_parser(
        "fetch",
        help="download a Hub model at a pinned revision (or link a local model directory)",
        description="Download --model at --revision with huggingface_hub (honours HF_HOME and "
        "HF_HUB_OFFLINE) into --out; a local model directory is linked instead.",
    )
    fetch.add_argument("--model", required=True, help="Hub id (EleutherAI/pythia-70m) or directory")
    fetch.add_argument(
        "--revision", required=True, help="branch, tag or commit (ignored for a dir)"
    )
    fetch.add_argument("--out", type=Path, required=True, help="model directory to create")
    fetch.set_defaults(func=run_fetch)

    build = sub.add_parser(
        "build-embedded",
        help="train the offline target/draft pair (GPT-NeoX) and write its report",
        description="Train a byte-level BPE tokenizer, a target and a distilled draft on the "
        "training split of --corpus-dir; write OUT/target, OUT/draft and the report JSON.",
    )
    build.add_argument(
        "--corpus-dir",
        type=Path,
        required=True,
        help="offline corpus with wikitext-2-raw/ and gutenberg/ (e.g. ../shared/data)",
    )
    build.add_argument("--out", type=Path, required=True, help="directory for target/ and draft/")
    build.add_argument("--report", type=Path, required=True, help="build report JSON to write")
    build.add_argument(
        "--set",
        dest="settings",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override one EmbeddedSettings field (repeatable), e.g. --set target_steps=100",
    )
    build.set_defaults(func=run_build)


def run_fetch(args: argparse.Namespace) -> int:
    """Fetch and say what was done in one line."""
    from dynatree.models.fetch import fetch_model

    result = fetch_model(args.model, args.revision, args.out)
    print(f"{args.out}: {result['model']} {result['action']}")
    return 0


def run_build(args: argparse.Namespace) -> int:
    """Validate the settings and corpus first, then build and write the report last.

    The build's OpenMP threads wait passively (:mod:`dynatree.omp`; torch is not imported yet).
    """
    from dynatree.omp import wait_passively

    wait_passively()
    from dynatree.data.splits import training_files
    from dynatree.errors import UsageError
    from dynatree.io import check_outputs, write_json_atomic
    from dynatree.models.settings import parse_settings

    settings = parse_settings(args.settings)
    check_outputs(
        {"--out": args.out, "--report": args.report},
        {"--corpus-dir": args.corpus_dir},
        directories={"--out"},
    )
    if not args.corpus_dir.is_dir():
        raise UsageError(
            f"--corpus-dir {args.corpus_dir}: no such directory; point it at the offline corpus "
            "(e.g. ../shared/data)"
        )
    training_files(args.corpus_dir)
    from dynatree.models.embedded import build_embedded  # torch: only once the inputs are good

    report = build_embedded(args.corpus_dir, args.out, settings)
    write_json_atomic(args.report, report)
    print(
        f"{args.out}: agreement {report['agreement']:.3f}, c {report['c']:.3f}, "
        f"built in {report['timing_s']['total_s']:.0f} s"
    )
    return 0
