"""Prove the GPU path in one command: exactness in half precision, verify-cost curve, memory, speed.

    PYTHONPATH=src python benchmarks/device_check.py --out results/device/device.json
    PYTHONPATH=src python benchmarks/device_check.py --tiny --device cpu --out /tmp/device.json

Builds random-weight GPT-NeoX models with the exact shapes of Pythia-2.8B (target) and
Pythia-70M (draft) from the configs in benchmarks/device_check/ (vocabulary 50304, nothing
downloaded), directly on the device in each dtype (CUDA: float16 and bfloat16), and measures:

- exactness of every decoder against AR, with the draft = a copy of the target (acceptance ~100 %,
  so deep and wide trees are exercised) and with the random 70M-shape draft, on random prompts;
  per prompt: exact or the first differing position and the target's top-2 logit gap there;
- the cost profile (``dynatree.decoding.profiling``, the code ``dynatree profile`` runs): t(n)/t(1)
  for n = 1 ... 256 tree tokens at a few prefix lengths, and the draft's per-level cost g(w);
- tokens/s and peak memory (CUDA ``max_memory_allocated``) per method at T = 256;
- the cost of phase timing (the decoders' CUDA-event clock on vs off; first dtype only), which
  must be < 1 %;
- eager vs compiled (``decoding.regime``; CUDA graphs on CUDA): AR tokens/s as a fraction of the
  target's weight-streaming floor (``bench.floor``: its matrices read once per token), t(n) as
  multiples of that floor, and the compile time, per regime.

``--embedded DIR`` repeats the checks on a trained pair (``DIR/target``, ``DIR/draft``) in the
first dtype, right after the random pair's (``--prompts JSONL``: on those prompts).
Random weights give near-tied logits, which half precision flips at random; the output layer's
rows are therefore scaled by heavy-tailed (log-normal) factors, so the greedy token usually
wins by a wide margin, and every mismatch is reported with that margin.
The JSON (docs/formats.md, "Device check JSON") is rewritten after every part, so a run cut
short keeps what it measured; parts that would start after ``--budget-s`` are skipped.
"""

from __future__ import annotations

import argparse
import copy
import json
import statistics
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import torch

from dynatree.bench import provenance
from dynatree.bench.floor import weight_bytes, weight_products
from dynatree.bench.harness import load_models, timed_generate
from dynatree.bench.prompts import load_prompts
from dynatree.bench.runtime_args import default_threads
from dynatree.bench.verdict import first_divergence
from dynatree.decoding import profiling
from dynatree.decoding.cost import SCHEMA as COST_SCHEMA
from dynatree.decoding.regime import EAGER, resolve, sizes_up_to
from dynatree.decoding.registry import (
    METHODS,
    build_decoder,
    needs_draft,
    parse_params,
    uses_profile,
)
from dynatree.decoding.runner import ModelRunner, greedy
from dynatree.errors import UsageError, exit_status
from dynatree.io import write_json_atomic
from dynatree.models.loading import DTYPES, resolve_device

SCHEMA = "dynatree.device_check/1"
CONFIGS = Path(__file__).resolve().parent / "device_check"
#: settings that grow long trees when the draft agrees with the target (N_max = 256 caps them)
EXACT_PARAMS: dict[str, dict[str, str]] = {
    "linear": {"K": "8"},
    "fixed_tree": {"D": "8", "B": "3", "tau": "0.001"},
    "dynatree": {"tau": "0.001", "rho_stop": "0.0001"},
}
#: phase timing is timed on the setting with the most clock laps per second
PHASE_METHOD, PHASE_PARAMS = "linear", {"K": "1"}
#: log-normal spread of the output rows' scale, and the largest row factor (keeps fp16 finite)
PEAK_SIGMA, PEAK_TOP = 2.0, 32.0


@dataclass(frozen=True)
class Scale:
    """How big one run of the check is: the paper's shapes on a GPU, or tiny ones anywhere."""

    name: str
    target_config: str
    draft_config: str
    target_shrink: dict[str, int] = field(default_factory=dict)  # config overrides (tiny)
    draft_shrink: dict[str, int] = field(default_factory=dict)
    n_prompts: int = 3
    prompt_len: int = 128
    exact_tokens: int = 64
    throughput_tokens: int = 256
    prefix_lengths: tuple[int, ...] = (128, 512, 1024)
    max_tree: int = 256
    repeats: int = 10
    warmup: int = 3
    phase_runs: int = 3
    phase_tokens: int = 128
    regime_max_tree: int = 64  # t(n) of the eager-vs-compiled part: n = 1, 2, 4, ... this


PAPER = Scale("pythia-shapes", "pythia-2.8b.json", "pythia-70m.json")
TINY = Scale(
    "tiny",
    "pythia-2.8b.json",
    "pythia-70m.json",
    target_shrink={"hidden_size": 64, "num_hidden_layers": 2, "intermediate_size": 128},
    draft_shrink={"hidden_size": 32, "num_hidden_layers": 1, "intermediate_size": 64},
    n_prompts=2,
    prompt_len=12,
    exact_tokens=12,
    throughput_tokens=16,
    prefix_lengths=(8, 24),
    max_tree=16,
    repeats=2,
    warmup=1,
    phase_runs=1,
    phase_tokens=8,
    regime_max_tree=2,
)


class Budget:
    """Wall-clock allowance: parts that would start after it are skipped, not half-run."""

    def __init__(self, seconds: float) -> None:
        self.start = time.perf_counter()
        self.seconds = seconds

    def elapsed(self) -> float:
        return time.perf_counter() - self.start

    def spent(self) -> bool:
        return self.elapsed() > self.seconds


def say(message: str) -> None:
    print(message, flush=True)


def read_config(name: str, shrink: dict[str, int]) -> dict[str, Any]:
    """A model config from benchmarks/device_check/ (``_``-keys are comments), shrunk if asked."""
    raw = json.loads((CONFIGS / name).read_text(encoding="utf-8"))
    return {k: v for k, v in raw.items() if not k.startswith("_")} | shrink


def peak_logits(model: Any, seed: int) -> None:
    """Scale the output rows by log-normal factors (largest = PEAK_TOP), in place.

    Logits of random weights are near-Gaussian over 50k tokens, so the top two are close and
    half-precision rounding flips greedy choices at random; heavy-tailed row norms make the
    winner stand out by a fraction of its own size while it still depends on the context.
    """
    head = model.get_output_embeddings().weight
    gen = torch.Generator(device=head.device).manual_seed(seed)
    z = torch.randn(head.shape[0], 1, generator=gen, device=head.device, dtype=torch.float32)
    factors = torch.exp(PEAK_SIGMA * z)
    with torch.no_grad():
        head.mul_((factors * (PEAK_TOP / factors.max())).to(head.dtype))


def build_random(
    config: dict[str, Any], device: torch.device, dtype: torch.dtype, seed: int
) -> Any:
    """A random-weight model built directly on ``device`` in ``dtype`` (no CPU copy)."""
    from transformers import AutoConfig, AutoModelForCausalLM

    settings = {k: v for k, v in config.items() if k not in ("model_type", "architectures")}
    torch.manual_seed(seed)
    with torch.device(device):
        model = AutoModelForCausalLM.from_config(
            AutoConfig.for_model(config["model_type"], **settings),
            dtype=dtype,
            attn_implementation="eager",
        )
    peak_logits(model, seed)
    return model.eval()


def n_params(model: Any) -> int:
    return sum(p.numel() for p in model.parameters())


def random_prompts(n: int, length: int, vocab: int, device: torch.device) -> list[torch.Tensor]:
    gen = torch.Generator().manual_seed(1234)
    return [torch.randint(0, vocab, (1, length), generator=gen).to(device) for _ in range(n)]


#: the cost profile measured for the pair now being checked: the cost-aware methods price with it
PROFILE_PATH: list[str] = []
#: the parts to run (``--parts``; empty: all)
PARTS: set[str] = set()


def priced(method: str) -> dict[str, str]:
    """The measured profile for a cost-aware method (none before the profile part ran)."""
    return {"profile": PROFILE_PATH[-1]} if uses_profile(method) and PROFILE_PATH else {}


def params_for(method: str, overrides: dict[str, str] | None = None) -> Any:
    """The exactness part's settings (long trees), priced where the method prices."""
    return parse_params(
        method, {**EXACT_PARAMS.get(method, {}), **priced(method), **(overrides or {})}
    )


def decoder_for(method: str, target: Any, draft: Any, params: Any | None = None) -> Any:
    # a speculative decoder refuses a pair it would not decode exactly when it is built
    return build_decoder(
        method,
        params_for(method) if params is None else params,
        target,
        draft if needs_draft(method) else None,
    )


def measure_profile(target: Any, draft: Any, scale: Scale, out: str) -> dict[str, Any]:
    """The cost profile of the pair (the code ``dynatree profile`` runs), also written beside
    the report so that the cost-aware methods of the later parts price their trees with it."""
    measured = profiling.measure(
        target, draft, list(scale.prefix_lengths), scale.max_tree, scale.repeats, scale.warmup
    )
    device = next(target.parameters()).device
    path = str(Path(out).with_suffix("")) + f".profile{len(PROFILE_PATH)}.json"
    doc = {"schema": COST_SCHEMA, "device": device.type, **measured}
    write_json_atomic(path, doc)
    PROFILE_PATH.append(path)
    return measured


@torch.inference_mode()
def logit_stats(target: Any, prompt: torch.Tensor) -> dict[str, Any]:
    """Finiteness and peakedness of the target's logits over one prompt."""
    logits = target(input_ids=prompt).logits[0].float()
    top = logits.topk(2, dim=-1).values
    return {
        "finite": bool(torch.isfinite(logits).all()),
        "top2_gap_median": float((top[:, 0] - top[:, 1]).median()),
        "max_prob_median": float(torch.softmax(logits, -1).max(-1).values.median()),
        "distinct_argmax": len(set(logits.argmax(-1).tolist())),
        "positions": int(logits.shape[0]),
    }


@torch.inference_mode()
def top2_gap(target: Any, prompt: torch.Tensor, tokens: list[int], position: int) -> float:
    """The target's top-1 minus top-2 logit before new token ``position`` of ``tokens``."""
    context = torch.tensor([tokens[:position]], dtype=torch.long, device=prompt.device)
    logits = target(input_ids=torch.cat([prompt, context], dim=1)).logits[0, -1].float()
    top = logits.topk(2).values
    return float(top[0] - top[1])


def exactness(
    target: Any, drafts: dict[str, Any], prompts: list[torch.Tensor], tokens: int
) -> dict[str, Any]:
    """Every decoder against AR on every prompt, with each draft."""
    ar = decoder_for("ar", target, None)
    references = [ar.generate(p, tokens).tokens for p in prompts]
    rows = []
    for method in (m for m in METHODS if m != "ar"):
        for draft_name, draft in drafts.items():
            decoder = decoder_for(method, target, draft)
            for index, (prompt, reference) in enumerate(zip(prompts, references, strict=True)):
                out = decoder.generate(prompt, tokens)
                diff = first_divergence(out.tokens, reference)
                rows.append(
                    {
                        "method": method,
                        "draft": draft_name,
                        "prompt": index,
                        "exact": diff is None,
                        "first_diff": diff,
                        "top2_gap": None
                        if diff is None
                        else top2_gap(target, prompt, reference, diff),
                        "tokens_per_iter": len(out.tokens) / (out.stats.iterations + 1),
                        "drafted_tokens": out.stats.drafted_tokens,
                    }
                )
            say(f"    exact {method:<12} draft={draft_name:<6} "
                f"{sum(r['exact'] for r in rows[-len(prompts):])}/{len(prompts)}")  # fmt: skip
    summary: dict[str, str] = {}
    for row in rows:
        key = f"{row['method']}/{row['draft']}"
        done, total = (int(x) for x in summary.get(key, "0/0").split("/"))
        summary[key] = f"{done + row['exact']}/{total + 1}"
    return {"tokens": tokens, "n_prompts": len(prompts), "rows": rows, "summary": summary}


def throughput(target: Any, draft: Any, prompt: torch.Tensor, tokens: int) -> list[dict[str, Any]]:
    """Tokens/s and peak memory per method at T = ``tokens`` (one warm-up call each)."""
    rows: list[dict[str, Any]] = []
    reference: list[int] | None = None
    for method in ["ar", *(m for m in METHODS if m != "ar")]:
        decoder = decoder_for(method, target, draft, parse_params(method, priced(method)))
        decoder.generate(prompt, 8)
        output, wall, peak = timed_generate(decoder, prompt, tokens, None)
        reference = output.tokens if reference is None else reference
        stats = output.stats
        rows.append(
            {
                "method": method,
                "new_tokens": len(output.tokens),
                "wall_time_s": wall,
                "tps": len(output.tokens) / wall,
                "speedup": None,
                "peak_memory_bytes": peak,
                "iterations": stats.iterations,
                "tokens_per_iter": len(output.tokens) / (stats.iterations + 1),
                "draft_time_s": stats.draft_time_s,
                "verify_time_s": stats.verify_time_s,
                "exact": output.tokens == reference,
            }
        )
        say(f"    speed {method:<12} {rows[-1]['tps']:8.1f} tok/s  peak {peak / 2**20:8.0f} MiB")
    for row in rows:
        row["speedup"] = row["tps"] / rows[0]["tps"]
    return rows


def phase_timing(target: Any, draft: Any, prompt: torch.Tensor, runs: int, tokens: int) -> dict:
    """Throughput with the decoder's phase clock on and off, ``runs`` pairs back to back.

    The order within a pair alternates (on first, then off first), so a device that speeds up
    or slows down over the runs favours neither; the overhead is one minus the median of the
    pairs' on/off throughput ratios.
    """
    decoder = decoder_for(PHASE_METHOD, target, draft, params_for(PHASE_METHOD, PHASE_PARAMS))
    decoder.generate(prompt, 8)
    tps: dict[bool, list[float]] = {True: [], False: []}
    for index in range(runs):
        for enabled in (True, False) if index % 2 == 0 else (False, True):
            decoder.clock.enabled = enabled
            output, wall, _ = timed_generate(decoder, prompt, tokens, None)
            tps[enabled].append(len(output.tokens) / wall)
    decoder.clock.enabled = True
    ratios = [on / off for on, off in zip(tps[True], tps[False], strict=True)]
    return {
        "method": PHASE_METHOD,
        "params": PHASE_PARAMS,
        "tokens": tokens,
        "tps_on": tps[True],
        "tps_off": tps[False],
        "overhead_pct": 100.0 * (1.0 - statistics.median(ratios)),
    }


def regimes(target: Any, prompt: torch.Tensor, scale: Scale) -> dict[str, Any]:
    """AR tokens/s and t(n), eager and compiled, against the target's weight-streaming floor.

    Per regime: AR decodes ``throughput_tokens`` after one prompt (caches sized and buckets
    compiled first; the seconds that took are ``compile_s``); its tokens/s as a fraction of
    the floor's (one weight read per token), and t(n) for n up to ``regime_max_tree`` at the
    middle prefix (each n also as a multiple of the floor).
    """
    floor = weight_products(target)
    device = prompt.device
    prefix = sorted(scale.prefix_lengths)[len(scale.prefix_lengths) // 2]
    tokens = scale.throughput_tokens
    out: dict[str, Any] = {"floor_s": floor, "weight_bytes": weight_bytes(target), "prefix": prefix}
    reference: list[int] | None = None
    for regime in (EAGER, resolve("on", device.type)):
        ar = build_decoder("ar", parse_params("ar", {}), target, None, regime)
        with torch.inference_mode():
            compile_s = ar.prepare(prompt.shape[1], tokens)
        output, wall, _ = timed_generate(ar, prompt, tokens, None)
        reference = output.tokens if reference is None else reference
        verifier = ModelRunner(target, greedy, scale.regime_max_tree, regime)
        with torch.inference_mode():
            compile_s += verifier.warm_up(prefix + scale.regime_max_tree)
        verifier.start(prefix + scale.regime_max_tree)
        sizes = sizes_up_to(scale.regime_max_tree)
        curve, _ = profiling.verify_curve(verifier, prefix, sizes, scale.repeats, scale.warmup)
        for point in curve:
            point["floor_multiple"] = point["median_s"] / floor
        tps = len(output.tokens) / wall
        out[regime.name] = {
            **regime.describe(),
            "compile_s": compile_s,
            "ar_tps": tps,
            "ar_floor_fraction": tps * floor,
            "ar_exact": output.tokens == reference,
            "verify": curve,
        }
        say(
            f"    {regime.name:<8} AR {tps:8.1f} tok/s = {tps * floor:6.1%} of the floor's "
            f"{1 / floor:.0f} tok/s; warm-up (compile) {compile_s:.0f} s"
        )
    return out


def check_pair(
    label: str,
    target: Any,
    draft: Any,
    scale: Scale,
    budget: Budget,
    report: dict[str, Any],
    out: str,
    phases: bool,
    prompts: list[torch.Tensor] | None = None,
) -> None:
    """Run every part on one (pair, dtype), appending its record to ``report`` as it goes;
    the phase-timing overhead only where ``phases`` (once per check is enough)."""
    device = next(target.parameters()).device
    dtype = next(target.parameters()).dtype
    vocab = int(target.get_input_embeddings().weight.shape[0])
    if prompts is None:
        prompts = random_prompts(scale.n_prompts, scale.prompt_len, vocab, device)
    run: dict[str, Any] = {
        "pair": label,
        "dtype": str(dtype).removeprefix("torch."),
        "models": {"target_params": n_params(target), "draft_params": n_params(draft)},
        "logits": logit_stats(target, prompts[0]),
        "skipped": [],
    }
    report["runs"].append(run)
    say(f"  logits: {run['logits']}")
    parts = {
        "profile": lambda: measure_profile(target, draft, scale, out),
        "exactness": lambda: exactness(
            target, {"self": copy.deepcopy(target), "random": draft}, prompts, scale.exact_tokens
        ),
        "throughput": lambda: throughput(target, draft, prompts[0], scale.throughput_tokens),
    }
    if phases:
        parts["phase_timing"] = lambda: phase_timing(
            target, draft, prompts[0], scale.phase_runs, scale.phase_tokens
        )
    parts["regimes"] = lambda: regimes(target, prompts[0], scale)
    for name, part in parts.items():
        if PARTS and name not in PARTS:
            continue
        if budget.spent():
            run["skipped"].append(name)
            say(f"  {name}: skipped (time budget spent)")
            continue
        say(f"  {name} ... ({budget.elapsed():.0f} s elapsed)")
        started = time.perf_counter()
        run[name] = part()
        run[f"{name}_s"] = round(time.perf_counter() - started, 1)
        write_json_atomic(out, report)


def driver_version() -> str | None:
    """The NVIDIA driver version from nvidia-smi, when it is there."""
    try:
        done = subprocess.run(
            ["nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader"],
            capture_output=True,
            text=True,
            timeout=20,
            check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip().splitlines()[0] if done.stdout.strip() else None


def curve_line(points: list[dict[str, Any]], size_key: str, prefix: int) -> str:
    chosen = [p for p in points if p["prefix"] == prefix]
    return "  ".join(f"{p[size_key]}:{p['ratio']:.2f}" for p in chosen)


def format_table(report: dict[str, Any]) -> str:
    """One block per (pair, dtype): methods × (exact self/random, tok/s, speedup, L̄, peak)."""
    lines = []
    for run in report["runs"]:
        logits = run["logits"]
        lines.append(
            f"== {run['pair']} {run['dtype']}: target {run['models']['target_params'] / 1e6:.0f}M"
            f" draft {run['models']['draft_params'] / 1e6:.1f}M params; logits finite="
            f"{logits['finite']}, median top-2 gap {logits['top2_gap_median']:.2f}"
        )
        summary = run.get("exactness", {}).get("summary", {})
        speed = {row["method"]: row for row in run.get("throughput", [])}
        head = (
            f"{'method':<12} {'exact:self':>10} {'exact:rand':>10} {'tok/s':>8} {'speedup':>7} "
            f"{'L_bar':>6} {'peak MiB':>9}"
        )
        lines += [head, "-" * len(head)]
        for method in METHODS:
            s = speed.get(method)
            lines.append(
                f"{method:<12} {summary.get(f'{method}/self', '-'):>10} "
                f"{summary.get(f'{method}/random', '-'):>10} "
                + (
                    f"{s['tps']:>8.1f} {s['speedup']:>6.2f}x {s['tokens_per_iter']:>6.2f} "
                    f"{s['peak_memory_bytes'] / 2**20:>9.0f}"
                    if s
                    else f"{'-':>8} {'-':>7} {'-':>6} {'-':>9}"
                )
            )
        for row in run.get("exactness", {}).get("rows", []):
            if not row["exact"]:
                lines.append(
                    f"  mismatch {row['method']}/{row['draft']} prompt {row['prompt']}: first at "
                    f"token {row['first_diff']}, target top-2 gap there {row['top2_gap']:.3g}"
                )
        if "profile" in run:
            measured = run["profile"]
            for prefix in measured["settings"]["prefix_lengths"]:
                verify = curve_line(measured["verify"], "n", prefix)
                level = curve_line(measured["draft_level"], "width", prefix)
                lines.append(f"  t(n)/t(1) prefix {prefix}: {verify}")
                lines.append(f"  g(w)/g(1) prefix {prefix}: {level}")
        if "regimes" in run:
            part = run["regimes"]
            for name in ("eager", "compiled"):
                if name in part:
                    r = part[name]
                    multiples = "  ".join(
                        f"{p['n']}:{p['floor_multiple']:.1f}" for p in r["verify"]
                    )
                    lines.append(
                        f"  {name:<8} AR {r['ar_tps']:.1f} tok/s = {r['ar_floor_fraction']:.1%} "
                        f"of the floor (exact {r['ar_exact']}); t(n)/floor at prefix "
                        f"{part['prefix']}: {multiples}"
                    )
        if "phase_timing" in run:
            overhead = run["phase_timing"]["overhead_pct"]
            lines.append(f"  phase timing costs {overhead:.2f} % of tok/s")
        if run["skipped"]:
            lines.append(f"  skipped (time budget): {', '.join(run['skipped'])}")
    return "\n".join(lines)


def check_embedded(
    args: argparse.Namespace,
    device: torch.device,
    dtype: torch.dtype,
    scale: Scale,
    budget: Budget,
    report: dict[str, Any],
) -> None:
    """The trained pair (``--embedded``), on its real prompts when ``--prompts`` names them."""
    target, _, draft = load_models(
        str(Path(args.embedded) / "target"), str(Path(args.embedded) / "draft"), device, dtype
    )
    say(f"embedded {str(dtype).removeprefix('torch.')}: loaded")
    prompts = None
    if args.prompts:
        prompts = [
            torch.tensor([p.input_ids], device=device)
            for p in load_prompts(args.prompts)[: scale.n_prompts]
        ]
    label = f"embedded {args.embedded}"
    check_pair(label, target, draft, scale, budget, report, args.out, False, prompts)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", required=True, metavar="JSON", help="the report")
    parser.add_argument("--tiny", action="store_true", help="tiny shapes (CPU, CI)")
    parser.add_argument("--device", default="auto", help="auto (CUDA if present), cpu, cuda")
    parser.add_argument(
        "--dtypes", nargs="+", choices=list(DTYPES), help="default: float16 bfloat16 on CUDA, "
        "float32 on CPU",
    )  # fmt: skip
    parser.add_argument("--threads", type=int, help="torch CPU threads (default: all cores)")
    parser.add_argument("--embedded", metavar="DIR", help="also check DIR/target + DIR/draft")
    parser.add_argument(
        "--prompts",
        metavar="JSONL",
        help="prompts (dynatree data prompts) for the --embedded pair, instead of random ids",
    )
    parser.add_argument(
        "--budget-s", type=float, default=360.0, help="start no part after this (default 360 s)"
    )
    parser.add_argument(
        "--parts",
        nargs="+",
        default=[],
        choices=["profile", "exactness", "throughput", "phase_timing", "regimes"],
        help="run only these parts (default: all)",
    )
    parser.add_argument("--phase-runs", type=int, help="on/off pairs of the phase-timing part")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    PARTS.update(args.parts)
    budget = Budget(args.budget_s)
    device = resolve_device(args.device)
    if device.type != "cuda" and not args.tiny:
        raise UsageError("--device: the Pythia shapes need a CUDA device; add --tiny on a CPU")
    if args.embedded is not None:
        for sub in ("target", "draft"):
            if not (Path(args.embedded) / sub).is_dir():
                raise UsageError(f"--embedded {args.embedded}: no {sub}/ model directory in it")
    threads = default_threads() if args.threads is None else args.threads
    if threads < 1:
        raise UsageError(f"--threads {threads}: must be >= 1")
    torch.set_num_threads(threads)
    dtypes = args.dtypes or (["float16", "bfloat16"] if device.type == "cuda" else ["float32"])
    scale = TINY if args.tiny else PAPER
    if args.phase_runs:
        scale = replace(scale, phase_runs=args.phase_runs)
    report: dict[str, Any] = {
        "schema": SCHEMA,
        "complete": False,
        "scale": asdict(scale),
        "device": device.type,
        "dtypes": dtypes,
        "threads": threads,
        "methods": list(METHODS),
        "exact_params": EXACT_PARAMS,
        "peaking": {"sigma": PEAK_SIGMA, "top": PEAK_TOP},
        "runs": [],
        "provenance": {**provenance.collect(device, sys.argv), "driver": driver_version()},
    }
    say(f"device check: {scale.name} on {report['provenance']['device_name']}, dtypes {dtypes}")
    for index, dtype_name in enumerate(dtypes):
        dtype = DTYPES[dtype_name]
        started = time.perf_counter()
        target_config = read_config(scale.target_config, scale.target_shrink)
        target = build_random(target_config, device, dtype, seed=0)
        draft = build_random(read_config(scale.draft_config, scale.draft_shrink), device, dtype, 1)
        say(f"{scale.name} {dtype_name}: built in {time.perf_counter() - started:.1f} s")
        label = f"random {scale.name}"
        check_pair(label, target, draft, scale, budget, report, args.out, phases=index == 0)
        del target, draft
        if device.type == "cuda":
            torch.cuda.empty_cache()
        if index == 0 and args.embedded is not None:  # one dtype is enough for the trained pair
            check_embedded(args, device, dtype, scale, budget, report)
    report["complete"] = True
    report["elapsed_s"] = round(budget.elapsed(), 1)
    write_json_atomic(args.out, report)
    say(format_table(report))
    say(f"wrote {args.out} in {report['elapsed_s']} s")
    return 0


if __name__ == "__main__":
    sys.exit(exit_status(main, "device_check"))
