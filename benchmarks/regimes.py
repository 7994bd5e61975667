"""Eager vs compiled forwards in one process: each model's step against its weight-streaming
floor, and every method's speedup over the AR of its own regime.

A quick look (not a pipeline step, not a test), on the embedded pair by default. For each
regime (eager; compiled: AOTInductor on a CPU, CUDA graphs on CUDA, sizes padded to buckets), a
cost profile is measured with the decoders' own calls (``dynatree.decoding.profiling``; DynaTree-CA
prices its trees with it), and every method decodes the prompts paired with the AR of that
regime. Printed, as ratios: each model's one-token step (t(1), g(1) at the longest measured
cache) over its floor (``dynatree.bench.floor``: its weight matrices read once), c = g(1)/t(1),
the warm-up (compile) time, and per prompt set and method the paired speedup in each regime, the
compiled/eager ratio of the two speedups (AR: of its tokens/s), and the exactness verdicts
against the AR of the regime (exact / tie / wrong).

    python benchmarks/regimes.py --prompts results/prompts/wikitext_L112_n6.jsonl \\
        results/prompts/pg19_L128_n6.jsonl --threads 1
    python benchmarks/regimes.py --random --threads 1     # tiny random pair, random prompts
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import torch

from dynatree.bench.floor import weight_products
from dynatree.bench.harness import decode_prompts, load_models, prepare
from dynatree.bench.metrics import summarize
from dynatree.bench.prompts import Prompt, ids_sha256, load_prompts
from dynatree.bench.runtime_args import default_threads
from dynatree.decoding.cost import SCHEMA, CostProfile
from dynatree.decoding.profiling import measure
from dynatree.decoding.regime import EAGER, Regime, resolve
from dynatree.decoding.registry import build_decoder, needs_draft, parse_params
from dynatree.errors import UsageError, exit_status
from dynatree.locate import locate_model
from dynatree.models.loading import resolve_device, resolve_dtype

EMBEDDED = Path("models/embedded")
METHODS = ("ar", "linear", "dynatree", "dynatree_ca")  # experiments.regimes' default


def random_prompts(n: int, length: int, vocab: int) -> list[Prompt]:
    gen = torch.Generator().manual_seed(0)
    ids = [tuple(torch.randint(0, vocab, (length,), generator=gen).tolist()) for _ in range(n)]
    return [
        Prompt(id=f"random-{i:03d}", input_ids=p, sha256=ids_sha256(p)) for i, p in enumerate(ids)
    ]


def random_pair(device: torch.device, dtype: torch.dtype) -> tuple[Any, Any]:
    """A tiny random GPT-NeoX target (4 layers, width 128) and draft (1 layer, width 64)."""
    from transformers import GPTNeoXConfig, GPTNeoXForCausalLM

    def build(layers: int, width: int, seed: int) -> Any:
        torch.manual_seed(seed)
        config = GPTNeoXConfig(
            vocab_size=512,
            hidden_size=width,
            num_hidden_layers=layers,
            num_attention_heads=4,
            intermediate_size=4 * width,
        )
        config._attn_implementation = "eager"
        return GPTNeoXForCausalLM(config).to(device=device, dtype=dtype).eval()

    return build(4, 128, 0), build(1, 64, 1)


def steps(
    target: Any, draft: Any, regime: Regime, prefixes: list[int], max_tree: int, repeats: int
) -> dict[str, Any]:
    """A cost profile of ``regime`` (for DynaTree-CA) and its one-token steps at the longest
    cache: t(1) and g(1) in seconds."""
    measured = measure(target, draft, prefixes, max_tree, repeats, warmup=2, regime=regime)
    longest = max(prefixes)
    t1 = next(p for p in measured["verify"] if p["prefix"] == longest and p["n"] == 1)
    g1 = next(p for p in measured["draft_level"] if p["prefix"] == longest and p["width"] == 1)
    device = next(target.parameters()).device
    profile = CostProfile({"schema": SCHEMA, "device": device.type, **measured}, regime.name)
    return {
        "profile": profile,
        "t1": t1["median_s"],
        "g1": g1["median_s"],
        "compile_s": measured["compile"]["compile_s"],
    }


def decode(
    methods: list[str],
    target: Any,
    draft: Any,
    regime: Regime,
    cost: CostProfile,
    prompts: list[Prompt],
    args: argparse.Namespace,
) -> dict[str, dict[str, Any]]:
    """Every method's summary on ``prompts``, paired with the AR of ``regime``; the verdicts
    are against that AR's tokens."""
    device = next(target.parameters()).device
    ar = build_decoder("ar", parse_params("ar", {}), target, None, regime)
    prepare([ar], prompts, args.max_new_tokens)
    rows = decode_prompts(ar, prompts, args.max_new_tokens, args.warmup, None, None, device)
    reference = {p.id: row["tokens"] for p, row in zip(prompts, rows, strict=True)}
    summaries = {"ar": summarize(rows)}
    for method in methods:
        if method == "ar":
            continue
        other = draft if needs_draft(method) else None
        if method == "dynatree_ca":
            from dynatree.decoding.dynatree_ca import DynaTreeCADecoder

            params = parse_params(method, {})
            decoder: Any = DynaTreeCADecoder(target, other, params, regime, cost=cost)
        else:
            decoder = build_decoder(method, parse_params(method, {}), target, other, regime)
        rows = decode_prompts(
            decoder, prompts, args.max_new_tokens, args.warmup, None, reference, device, ar
        )
        summaries[method] = summarize(rows)
    return summaries


def speedup(summary: dict[str, Any]) -> str:
    low, high = summary["paired_speedup_ci_low"], summary["paired_speedup_ci_high"]
    interval = "" if low is None else f" [{low:.2f},{high:.2f}]"
    return f"{summary['paired_speedup_mean']:.2f}x{interval}"


def verdicts(summary: dict[str, Any]) -> str:
    counts = [summary["n_exact"], summary["n_tie"], summary["n_wrong"]]
    return "-" if None in counts else "/".join(str(c) for c in counts)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--target", default=str(EMBEDDED / "target"))
    parser.add_argument("--draft", default=str(EMBEDDED / "draft"))
    parser.add_argument("--random", action="store_true", help="tiny random GPT-NeoX pair")
    parser.add_argument("--prompts", nargs="+", metavar="JSONL", help="default: random ids")
    parser.add_argument("--n-prompts", type=int, default=4, help="random prompts (default 4)")
    parser.add_argument("--max-new-tokens", type=int, default=128)
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--methods", nargs="+", default=list(METHODS), choices=METHODS)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--dtype", default="auto")
    parser.add_argument("--threads", type=int, default=default_threads())
    parser.add_argument("--repeats", type=int, default=7, help="profile rounds (default 7)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    device = resolve_device(args.device)
    dtype = resolve_dtype(args.dtype, device)
    torch.set_num_threads(args.threads)
    if args.random:
        target, draft = random_pair(device, dtype)
    else:
        locate_model(args.target, "--target (or use --random)")
        locate_model(args.draft, "--draft (or use --random)")
        target, _, draft = load_models(args.target, args.draft, device, dtype)
    vocab = int(target.get_input_embeddings().weight.shape[0])
    sets = {Path(p).stem: load_prompts(p) for p in args.prompts or []}
    if not sets:
        sets = {"random": random_prompts(args.n_prompts, 64, vocab)}
    for name, prompts in sets.items():
        if not 0 <= args.warmup < len(prompts):
            raise UsageError(f"--warmup {args.warmup}: must be < the {len(prompts)} of {name}")
    longest = max(len(p.input_ids) for prompts in sets.values() for p in prompts)
    prefixes = [max(1, longest // 2), longest + args.max_new_tokens - 1]
    max_tree = parse_params("dynatree_ca", {}).N_max + 1
    floors = {"target": weight_products(target), "draft": weight_products(draft)}
    regimes = (EAGER, resolve("on", device.type))
    measured = {r.name: steps(target, draft, r, prefixes, max_tree, args.repeats) for r in regimes}
    results = {
        (name, r.name): decode(
            args.methods, target, draft, r, measured[r.name]["profile"], prompts, args
        )
        for name, prompts in sets.items()
        for r in regimes
    }

    print(
        f"device={device.type} dtype={str(dtype).removeprefix('torch.')} threads={args.threads}"
        f" T={args.max_new_tokens} target={sum(p.numel() for p in target.parameters()):,} "
        f"draft={sum(p.numel() for p in draft.parameters()):,} params; one-token steps at a "
        f"cache of {prefixes[-1]} tokens"
    )
    print(
        f"{'model':<8} {'floor ms':>9} "
        + " ".join(f"{r.name + ' ms':>12} {'x floor':>8}" for r in regimes)
    )
    for model, key in (("target", "t1"), ("draft", "g1")):
        cells = " ".join(
            f"{measured[r.name][key] * 1e3:>12.3f} {measured[r.name][key] / floors[model]:>7.2f}x"
            for r in regimes
        )
        print(f"{model:<8} {floors[model] * 1e3:>9.3f} {cells}")
    print(
        "c = g(1)/t(1): "
        + ", ".join(
            f"{r.name} {measured[r.name]['g1'] / measured[r.name]['t1']:.3f}" for r in regimes
        )
        + "; profile warm-up (compile) s: "
        + ", ".join(f"{r.name} {measured[r.name]['compile_s']:.0f}" for r in regimes)
    )
    head = (
        f"{'prompts':<22} {'method':<12} {'eager':>18} {'compiled':>18} {'comp/eager':>10} "
        f"{'exact/tie/wrong e | c':>22}"
    )
    print(head + "\n" + "-" * len(head))
    for name in sets:
        for method in args.methods:
            eager, compiled = results[name, "eager"][method], results[name, "compiled"][method]
            if method == "ar":
                cells = f"{eager['tps_mean']:>12.1f} tok/s {compiled['tps_mean']:>12.1f} tok/s"
                ratio = compiled["tps_mean"] / eager["tps_mean"]
            else:
                cells = f"{speedup(eager):>18} {speedup(compiled):>18}"
                ratio = compiled["paired_speedup_mean"] / eager["paired_speedup_mean"]
            print(
                f"{name:<22} {method:<12} {cells} {ratio:>9.2f}x "
                f"{verdicts(eager) + ' | ' + verdicts(compiled):>22}"
            )
    print(
        "speedups: paired with the AR of the same regime (mean over measured prompts, 95 % "
        "interval); comp/eager: compiled over eager speedup (AR: tokens/s)."
    )
    return 0


if __name__ == "__main__":
    sys.exit(exit_status(main, "regimes"))
