"""Run every decoder on the same prompts in one process and print how they compare.

A quick look (not a pipeline step, not a test), under 5 minutes on the embedded pair: paired
speedup over AR (AR decodes every prompt right next to each method, so the machine's drift
cancels) with its 95 % interval, the speedup the verify-cost profile predicts from what each
tree method did, tree nodes per iteration, tokens per target forward, acceptance, where the wall
time goes (drafting, verification, the rest), and whether each method reproduced AR's tokens
(prompts exact / numerical tie / wrong). The cost-aware methods price their trees with
``--profile`` or, by default, a profile measured here first (printed with the table).

    python benchmarks/compare_decoders.py                      # models/embedded/{target,draft}
    python benchmarks/compare_decoders.py --target T --draft D --prompts prompts.jsonl
    python benchmarks/compare_decoders.py --random             # tiny random GPT-NeoX pair
    python benchmarks/compare_decoders.py --random --draft-is-target   # everything accepted
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path
from typing import Any

import torch

from dynatree.assignments import parse_pairs
from dynatree.bench.harness import decode_prompts, load_models
from dynatree.bench.metrics import summarize
from dynatree.bench.prediction import predicted_speedup
from dynatree.bench.prompts import Prompt, ids_sha256, load_prompts
from dynatree.bench.runtime_args import default_threads
from dynatree.decoding.cost import CostProfile
from dynatree.decoding.registry import (
    METHODS,
    build_decoder,
    needs_draft,
    parse_params,
    uses_profile,
)
from dynatree.errors import UsageError, exit_status
from dynatree.locate import locate_model
from dynatree.models.loading import resolve_device, resolve_dtype

EMBEDDED = Path("models/embedded")


def random_pair(device: torch.device, dtype: torch.dtype, vocab: int) -> tuple[Any, Any]:
    """A random GPT-NeoX target (6 layers, width 256) and draft (2 layers, width 64)."""
    from transformers import GPTNeoXConfig, GPTNeoXForCausalLM

    def build(layers: int, width: int, seed: int) -> Any:
        torch.manual_seed(seed)
        config = GPTNeoXConfig(
            vocab_size=vocab,
            hidden_size=width,
            num_hidden_layers=layers,
            num_attention_heads=4,
            intermediate_size=4 * width,
            max_position_embeddings=4096,
        )
        return GPTNeoXForCausalLM(config).to(device=device, dtype=dtype).eval()

    return build(6, 256, seed=0), build(2, 64, seed=1)


def random_prompts(n: int, length: int, vocab: int, seed: int) -> list[Prompt]:
    gen = torch.Generator().manual_seed(seed)
    prompts = []
    for index in range(n):
        ids = tuple(torch.randint(0, vocab, (length,), generator=gen).tolist())
        prompts.append(Prompt(id=f"random-{index:03d}", input_ids=ids, sha256=ids_sha256(ids)))
    return prompts


def method_params(method: str, settings: dict[str, str]) -> Any:
    """``--set method.key=value`` entries that concern ``method``, parsed and validated."""
    own = {k.split(".", 1)[1]: v for k, v in settings.items() if k.split(".", 1)[0] == method}
    return parse_params(method, own)


def format_table(summaries: dict[str, dict[str, Any]], predicted: dict[str, float | None]) -> str:
    """One line per method; times are shares of the mean wall time. ``speedup`` is paired: AR
    decodes each prompt next to the method (mean over prompts, 95 % interval in brackets);
    ``pred`` is what the verify-cost profile predicts from the method's iterations."""

    def num(value: float | None, fmt: str) -> str:
        return "-" if value is None else format(value, fmt)

    def verdicts(s: dict[str, Any]) -> str:
        counts = [s["n_exact"], s["n_tie"], s["n_wrong"]]
        return "-" if None in counts else "/".join(str(c) for c in counts)

    def speedup(s: dict[str, Any]) -> str:
        if s["paired_speedup_mean"] is None:
            return "1.00x" + " " * 14
        low, high = s["paired_speedup_ci_low"], s["paired_speedup_ci_high"]
        interval = "" if low is None else f"[{low:.2f},{high:.2f}]"
        return f"{s['paired_speedup_mean']:.2f}x {interval:<13}"

    head = (
        f"{'method':<12} {'tok/s':>8} {'speedup [95% CI]':<19} {'pred':>5} {'nodes':>5} "
        f"{'L_bar':>6} {'l_bar':>6} {'accept':>6} "
        f"{'draft':>6} {'verify':>6} {'overhd':>6} {'(ttft)':>6} {'exact/tie/wrong':>15}"
    )
    lines = [head, "-" * len(head)]
    for method, s in summaries.items():
        wall = s["wall_time_s_mean"]
        overhead = wall - s["draft_time_s_mean"] - s["verify_time_s_mean"]
        lines.append(
            f"{method:<12} {s['tps_mean']:>8.1f} {speedup(s):<19} "
            f"{num(predicted.get(method), '.2f'):>5} {num(s['tree_nodes_mean'], '.1f'):>5} "
            f"{s['tokens_per_iter_mean']:>6.2f} {num(s['accepted_len_mean'], '.2f'):>6} "
            f"{num(s['acceptance_rate_mean'], '.1%'):>6} "
            f"{s['draft_time_s_mean'] / wall:>6.1%} {s['verify_time_s_mean'] / wall:>6.1%} "
            f"{overhead / wall:>6.1%} {s['ttft_s_mean'] / wall:>6.1%} "
            f"{verdicts(s):>15}"
        )
    return "\n".join(lines)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--target", default=str(EMBEDDED / "target"))
    parser.add_argument("--draft", default=str(EMBEDDED / "draft"))
    parser.add_argument("--random", action="store_true", help="tiny random GPT-NeoX pair")
    parser.add_argument("--vocab", type=int, default=512, help="vocabulary of --random")
    parser.add_argument(
        "--draft-is-target", action="store_true", help="draft with the target (all accepted)"
    )
    parser.add_argument("--prompts", help="prompts JSONL (default: random ids)")
    parser.add_argument("--n-prompts", type=int, default=4)
    parser.add_argument("--prompt-len", type=int, default=64)
    parser.add_argument("--max-new-tokens", type=int, default=64)
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--methods", nargs="+", default=list(METHODS), choices=METHODS)
    parser.add_argument(
        "--set", action="append", metavar="METHOD.KEY=VALUE", help="e.g. linear.K=4"
    )
    parser.add_argument("--device", default="auto")
    parser.add_argument("--dtype", default="auto")
    parser.add_argument("--threads", type=int, default=default_threads())
    parser.add_argument(
        "--profile",
        help="verify-cost profile JSON (dynatree profile) for the cost-aware methods; "
        "default: measure one here (written to --profile-out)",
    )
    parser.add_argument("--profile-out", default="results/profile/compare.json", metavar="JSON")
    parser.add_argument("--profile-repeats", type=int, default=5)
    return parser.parse_args(argv)


def cost_profile(args: argparse.Namespace, target: Any, draft: Any, prompts: list[Prompt]) -> str:
    """The profile file the cost-aware methods price with: given, or measured here now."""
    from dynatree.decoding.cost import SCHEMA, CostProfile
    from dynatree.decoding.profiling import measure
    from dynatree.io import write_json_atomic

    if args.profile:
        CostProfile.from_file(args.profile)
        return args.profile
    longest = max(len(p.input_ids) for p in prompts)
    prefixes = sorted({max(1, longest // 2), longest + args.max_new_tokens - 1})
    max_tree = max(getattr(p, "N_max", 1) for p in args.params.values()) + 1
    measured = measure(target, draft, prefixes, max_tree, args.profile_repeats, warmup=2)
    device = next(target.parameters()).device
    doc = {"schema": SCHEMA, "device": device.type, "threads": args.threads, **measured}
    write_json_atomic(args.profile_out, doc)
    return args.profile_out


def describe_profile(path: str) -> str:
    """The profile's ratio curves at its longest cache, for the table's header."""
    from dynatree.io import read_json

    doc = read_json(path, "--profile")
    lines = []
    for curve, size, name in (("verify", "n", "t(n)/t(1)"), ("draft_level", "width", "g(w)/g(1)")):
        prefix = max(p["prefix"] for p in doc[curve])
        points = [p for p in doc[curve] if p["prefix"] == prefix]
        text = "  ".join(f"{p[size]}:{p['ratio']:.2f}" for p in points)
        lines.append(f"profile {path}, cache {prefix}: {name}  {text}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    device = resolve_device(args.device)
    dtype = resolve_dtype(args.dtype, device)
    torch.set_num_threads(args.threads)
    settings = parse_pairs(args.set, "--set")
    params = {m: method_params(m, settings) for m in args.methods}
    args.params = params

    if args.random:
        target, draft = random_pair(device, dtype, args.vocab)
        vocab = args.vocab
    else:
        locate_model(args.target, "--target (or use --random)")
        locate_model(args.draft, "--draft (or use --random)")
        target, _, draft = load_models(args.target, args.draft, device, dtype)
        vocab = int(target.get_input_embeddings().weight.shape[0])
    if args.draft_is_target:
        draft = target
    if args.prompts:
        prompts = load_prompts(args.prompts)
    else:
        prompts = random_prompts(args.n_prompts, args.prompt_len, vocab, seed=0)
    if not 0 <= args.warmup < len(prompts):
        raise UsageError(f"--warmup {args.warmup}: must be in [0, {len(prompts)})")

    profile = cost_profile(args, target, draft, prompts)
    cost = CostProfile.from_file(profile)
    ar = build_decoder("ar", parse_params("ar", {}), target)
    summaries: dict[str, dict[str, Any]] = {}
    predicted: dict[str, float | None] = {}
    reference = None
    for method in ["ar", *(m for m in args.methods if m != "ar")]:
        chosen = params.get(method, parse_params(method, {}))
        if uses_profile(method):
            chosen = dataclasses.replace(chosen, profile=profile)
        decoder = build_decoder(method, chosen, target, draft if needs_draft(method) else None)
        rows = decode_prompts(
            decoder, prompts, args.max_new_tokens, args.warmup, None, reference, device,
            None if method == "ar" else ar,
        )  # fmt: skip
        if reference is None:
            reference = {p.id: row["tokens"] for p, row in zip(prompts, rows, strict=True)}
        summaries[method] = summarize(rows)
        predicted[method] = predicted_speedup(cost, {"rows": rows})

    print(
        f"device={device.type} dtype={str(dtype).removeprefix('torch.')} threads={args.threads} "
        f"prompts={len(prompts)} (warm-up {args.warmup}) T={args.max_new_tokens} "
        f"target={sum(p.numel() for p in target.parameters()):,} params "
        f"draft={sum(p.numel() for p in draft.parameters()):,} params"
    )
    print(describe_profile(profile))
    print(format_table(summaries, predicted))
    print(
        "L_bar = new tokens / target forwards (prefill included); l_bar = accepted drafted "
        "tokens / iteration;\naccept = accepted / drafted depth; draft/verify/overhd = shares "
        "of wall time, overhd = wall - draft - verify (includes ttft, shown alone)."
    )
    return 0


if __name__ == "__main__":
    sys.exit(exit_status(main, "compare_decoders"))
