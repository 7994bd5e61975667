"""``dynatree data prompts|fetch|manifest``: the benchmark prompts, the pinned download of the raw
text and the manifest of what a run read."""

from __future__ import annotations

import argparse
from pathlib import Path

from dynatree.data.splits import DATASETS
from dynatree.errors import UsageError


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``data`` with its ``prompts``, ``fetch`` and ``manifest`` subcommands."""
    data = subparsers.add_parser(
        "data", help="the raw text (download, manifest) and the benchmark prompts"
    )
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
        required=True,
        help="raw text (wikitext-2-raw/, and pg19/ or gutenberg/): an offline copy such as "
        "../shared/data, or what `dynatree data fetch` made (data/hub)",
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

    fetch = sub.add_parser(
        "fetch",
        help="download the data lock's pinned files and derive the raw text from them",
        description="Download every file of --lock at its pinned commit with huggingface_hub "
        "(honours HF_ENDPOINT, HF_HOME and HF_HUB_OFFLINE), check each file's size and sha256, "
        "derive the raw text into --out (checked against the lock's sums) with manifest.json.",
    )
    fetch.add_argument("--lock", type=Path, required=True, help="data lock YAML")
    fetch.add_argument("--out", type=Path, required=True, help="data directory to create")
    fetch.set_defaults(func=run_fetch)

    manifest = sub.add_parser(
        "manifest",
        help="verify a data directory against the data lock and describe it (manifest JSON)",
        description="Check --data-dir's raw text files against --lock's sums and write the run's "
        "data manifest: where each dataset came from (a download's repo and commit, a local "
        "copy, the Gutenberg stand-in) and every file's sha256.",
    )
    manifest.add_argument("--data-dir", type=Path, required=True, help="data directory")
    manifest.add_argument("--lock", type=Path, required=True, help="data lock YAML")
    manifest.add_argument("--out", type=Path, required=True, help="manifest JSON to write")
    manifest.set_defaults(func=run_manifest)


def run_prompts(args: argparse.Namespace) -> int:
    """Validate (output and tokenizer location first), load documents and tokenizer, sample,
    write atomically."""
    from dynatree.data.documents import local_documents
    from dynatree.data.prompts import MIN_PROMPT_TOKENS, render_jsonl, sample_prompts
    from dynatree.io import check_outputs, write_text_atomic
    from dynatree.locate import load_tokenizer, locate_model

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
    documents = local_documents(args.dataset, args.data_dir)
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


def run_fetch(args: argparse.Namespace) -> int:
    """Download, verify, derive; one line per dataset at the end."""
    from dynatree.data.fetch import fetch_data
    from dynatree.data.lock import read_lock

    manifest = fetch_data(read_lock(args.lock, "--lock"), args.out)
    for name, entry in manifest["datasets"].items():
        source = f"{entry['repo']}@{entry['revision']}"
        print(f"{args.out}: {name} from {source} ({len(entry['files'])} files)")
    return 0


def run_manifest(args: argparse.Namespace) -> int:
    """Verify and describe the data directory (checks first, then one atomic write)."""
    from dynatree.data.lock import read_lock
    from dynatree.data.manifest import local_manifest
    from dynatree.io import check_writable, write_json_atomic

    check_writable(args.out, "--out")
    doc = local_manifest(args.data_dir, read_lock(args.lock, "--lock"))
    write_json_atomic(args.out, doc)
    titles = ", ".join(f"{k}: {v['title']}" for k, v in doc["datasets"].items())
    print(f"{args.out}: {args.data_dir} ({titles})")
    return 0
