"""``dynatree data prompts``: write the benchmark prompts JSONL of one dataset."""

from __future__ import annotations

import argparse
from pathlib import Path

from dynatree.data.splits import DATASETS
from dynatree.errors import UsageError


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``data`` with its ``prompts`` subcommand."""
    data = subparsers.add_parser("data", help="benchmark prompts from WikiText-2 and PG-19")
    sub = data.add_subparsers(dest="data_command", required=True)
    p = sub.add_parser(
        "prompts",
        help="seeded sample of N documents, each cut to at most L tokens",
        description="Sample N prompts from the WikiText-2 raw test split or the PG-19 test books, "
        "each cut to at most --max-tokens tokens of --tokenizer at a sentence or line end.",
    )
    p.add_argument("--dataset", required=True, choices=DATASETS)
    p.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        help="offline corpus (wikitext-2-raw/, gutenberg/), e.g. ../shared/data; "
        "without it the `datasets` package downloads the data",
    )
    p.add_argument("--tokenizer", required=True, help="model directory or Hub id of the tokenizer")
    p.add_argument("--n", type=int, required=True, help="number of prompts")
    p.add_argument(
        "--max-tokens", type=int, required=True, help="L_max: tokens per prompt, at most"
    )
    p.add_argument(
        "--min-tokens",
        type=int,
        default=None,
        help="skip documents shorter than this many tokens (default: half of --max-tokens)",
    )
    p.add_argument("--seed", type=int, required=True)
    p.add_argument("--out", type=Path, required=True, help="prompts JSONL to write")
    p.set_defaults(func=run_prompts)


def run_prompts(args: argparse.Namespace) -> int:
    """Validate (output and tokenizer location first), load documents and tokenizer, sample,
    write atomically."""
    from dynatree.data.documents import hub_documents, local_documents
    from dynatree.data.prompts import MIN_PROMPT_TOKENS, render_jsonl, sample_prompts
    from dynatree.io import check_outputs, write_text_atomic
    from dynatree.models.locate import load_tokenizer, locate_model

    if args.n < 1:
        raise UsageError(f"--n {args.n}: must be >= 1")
    if args.max_tokens < MIN_PROMPT_TOKENS:
        raise UsageError(
            f"--max-tokens {args.max_tokens}: must be >= {MIN_PROMPT_TOKENS} "
            "(a prompt is cut at a sentence end in its second half)"
        )
    min_tokens = args.min_tokens if args.min_tokens is not None else max(1, args.max_tokens // 2)
    if not 1 <= min_tokens <= args.max_tokens:
        raise UsageError(f"--min-tokens {min_tokens}: must lie in [1, --max-tokens]")
    check_outputs({"--out": args.out}, {"--data-dir": args.data_dir, "--tokenizer": args.tokenizer})
    locate_model(args.tokenizer, "--tokenizer", need="tokenizer")
    if args.data_dir is not None:
        documents = local_documents(args.dataset, args.data_dir)
    else:
        documents = hub_documents(args.dataset)
    tokenizer = load_tokenizer(args.tokenizer, what="--tokenizer")
    if not getattr(tokenizer, "is_fast", False):
        raise UsageError(
            f"--tokenizer {args.tokenizer}: needs a fast (Rust) tokenizer for token offsets; "
            "save the model with tokenizer.json"
        )
    prompts = sample_prompts(
        documents, tokenizer, args.dataset, args.n, args.max_tokens, min_tokens, args.seed
    )
    write_text_atomic(args.out, render_jsonl(prompts))
    return 0
