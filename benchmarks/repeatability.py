"""How repeatable are speedups on this machine? Run the main comparison twice and compare.

Each run is what the pipeline does for one dataset of the main table: an AR job, then one job
per speculative method with ``--paired`` (AR timed next to the method on every prompt) and
``--reference`` (exactness). Every job is its own ``dynatree bench`` process, as in the
pipeline: the drift that unpaired speedups suffer from is drift *between* jobs, so running the
methods in one process would hide it. Printed per method: both runs' paired speedups (with their
intervals) and unpaired speedups (method job throughput / AR job throughput), and each one's
run 2 / run 1 ratio; a ratio near 1 means the number repeats on this machine.

    python benchmarks/repeatability.py --prompts results/prompts/wikitext_L112_n6.jsonl
    python benchmarks/repeatability.py --target T --draft D --prompts P --methods ar linear

Defaults: the embedded pair (models/embedded), T = 128, one warm-up prompt, every method of
the main comparison with its default parameters (``--set method.key=value`` to change one).
On the embedded pair (6 prompts) both runs take a few minutes on 2 CPU cores.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from dynatree.assignments import parse_pairs
from dynatree.bench import stats
from dynatree.bench.prompts import load_prompts
from dynatree.bench.runtime_args import default_threads
from dynatree.decoding.registry import METHODS
from dynatree.errors import UsageError, exit_status
from dynatree.io import read_json
from dynatree.locate import locate_model

EMBEDDED = Path("models/embedded")
MAIN_METHODS = ("ar", "linear", "fixed_tree", "dynatree", "hf_assisted")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--target", default=str(EMBEDDED / "target"))
    parser.add_argument("--draft", default=str(EMBEDDED / "draft"))
    parser.add_argument("--prompts", required=True, metavar="JSONL", help="one prompt set")
    parser.add_argument("--max-new-tokens", type=int, default=128, metavar="T")
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--methods", nargs="+", default=list(MAIN_METHODS), choices=METHODS)
    parser.add_argument(
        "--set", action="append", metavar="METHOD.KEY=VALUE", help="e.g. linear.K=4"
    )
    parser.add_argument("--runs", type=int, default=2, help="repetitions (default 2)")
    parser.add_argument("--threads", type=int, default=default_threads())
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--out-dir", help="keep the result files here (default: a temp dir)")
    return parser.parse_args(argv)


def method_flags(method: str, settings: dict[str, str]) -> list[str]:
    """``--set key=value`` flags for the ``method.key=value`` entries that concern it."""
    flags = []
    for key, value in settings.items():
        owner, _, name = key.partition(".")
        if owner == method:
            flags += ["--set", f"{name}={value}"]
    return flags


def bench(args: argparse.Namespace, method: str, out: Path, extra: list[str]) -> dict[str, Any]:
    """One ``dynatree bench`` process; its result, or a UsageError carrying its last words."""
    cmd = [
        sys.executable, "-m", "dynatree", "bench",
        "--target", args.target, "--draft", args.draft, "--method", method,
        "--prompts", args.prompts, "--max-new-tokens", str(args.max_new_tokens),
        "--warmup", str(args.warmup), "--threads", str(args.threads),
        "--device", args.device, "--tag", "dataset=repeatability", "--out", str(out), *extra,
    ]  # fmt: skip
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["(no output)"]
        raise UsageError(f"dynatree bench --method {method} failed: {tail[0]}")
    return read_json(out, "result")


def run_once(args: argparse.Namespace, settings: dict[str, str], out_dir: Path) -> dict:
    """One main comparison: method → {paired, paired CI, unpaired, exact} (AR first)."""
    ar_path = out_dir / "ar.json"
    ar = bench(args, "ar", ar_path, method_flags("ar", settings))
    rows = {}
    for method in (m for m in args.methods if m != "ar"):
        extra = ["--paired", "--reference", str(ar_path), *method_flags(method, settings)]
        result = bench(args, method, out_dir / f"{method}.json", extra)
        summary = result["summary"]
        rows[method] = {
            "paired": summary["paired_speedup_mean"],
            "ci": tuple(summary[k] for k in stats.ci_keys("paired_speedup")),
            "unpaired": summary["tps_mean"] / ar["summary"]["tps_mean"],
            "exact": summary["exact_match_rate"],
        }
    return rows


def _ci(ci: tuple[float | None, float | None]) -> str:
    return "[   -,    -]" if ci[0] is None else f"[{ci[0]:.2f}, {ci[1]:.2f}]"


def format_report(runs: list[dict[str, dict[str, Any]]]) -> str:
    """Per method: each run's paired and unpaired speedup, and last run / first run."""
    first, last = runs[0], runs[-1]
    head = (
        f"{'method':<12}"
        + "".join(f" {'paired run ' + str(i + 1):>20}" for i in range(len(runs)))
        + f" {'ratio':>6} |"
        + "".join(f" {'unpaired ' + str(i + 1):>10}" for i in range(len(runs)))
        + f" {'ratio':>6} {'exact':>6}"
    )
    lines = [head, "-" * len(head)]
    spread = {"paired": 0.0, "unpaired": 0.0}
    for method in first:
        cells = "".join(f" {r[method]['paired']:>6.2f}x {_ci(r[method]['ci']):>12}" for r in runs)
        unpaired = "".join(f" {r[method]['unpaired']:>9.2f}x" for r in runs)
        ratios = {k: last[method][k] / first[method][k] for k in spread}
        for k, ratio in ratios.items():
            spread[k] = max(spread[k], abs(ratio - 1.0))
        exact = min(r[method]["exact"] or 0.0 for r in runs)
        lines.append(
            f"{method:<12}{cells} {ratios['paired']:>6.3f} |{unpaired} "
            f"{ratios['unpaired']:>6.3f} {exact:>6.0%}"
        )
    lines.append(
        f"largest run-to-run change: paired {spread['paired']:.1%}, "
        f"unpaired {spread['unpaired']:.1%} (ratio = last run / first run; "
        f"brackets: {stats.CI_LEVEL:.0%} bootstrap interval over prompts)"
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    settings = parse_pairs(args.set, "--set")
    locate_model(args.target, "--target")
    locate_model(args.draft, "--draft")
    prompts = load_prompts(args.prompts)
    if not 0 <= args.warmup < len(prompts):
        raise UsageError(f"--warmup {args.warmup}: must be in [0, {len(prompts)})")
    if args.runs < 2:
        raise UsageError(f"--runs {args.runs}: needs at least 2 to compare")
    if not any(m != "ar" for m in args.methods):
        raise UsageError("--methods: give at least one speculative method")
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="repeatability-") as tmp:
        root = Path(args.out_dir or tmp)
        runs = []
        for index in range(args.runs):
            out_dir = root / f"run{index + 1}"
            out_dir.mkdir(parents=True, exist_ok=True)
            print(f"run {index + 1}/{args.runs} ...", file=sys.stderr, flush=True)
            runs.append(run_once(args, settings, out_dir))
    print(
        f"prompts={len(prompts)} (warm-up {args.warmup}) T={args.max_new_tokens} "
        f"threads={args.threads} device={args.device} "
        f"load average {load_before:.2f} before, {os.getloadavg()[0]:.2f} after"
    )
    print(format_report(runs))
    return 0


if __name__ == "__main__":
    sys.exit(exit_status(main, "repeatability"))
