"""How much a training step and AR decoding slow down when one other process wants a core.

A quick look (not a pipeline step, not a test). For each OpenMP setting and thread count, a
fresh child process (OpenMP reads its variables once, when torch starts it) times a
training step of the embedded target (randomly initialised, the recipe's shape, batch and
context, in the arithmetic the build would choose) and batch-1 greedy decoding with the KV
cache, first on a quiet machine and then with ``yes > /dev/null`` running beside it. The ratio
busy/quiet should be near the share of the cores lost (about 2x on 2 cores), not 10-50x as when
spinning OpenMP threads fight the other process for the cores.

    python benchmarks/busy_machine.py                 # about 5 minutes on 2 cores
    python benchmarks/busy_machine.py --steps 2 --configs OMP_WAIT_POLICY=PASSIVE:1

Other processes on the machine disturb both columns; the load average is printed alongside.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from typing import Any

# ENV=VALUE[,ENV=VALUE]:THREADS; "-" is torch's default (OMP_WAIT_POLICY unset, libgomp spins).
DEFAULT_CONFIGS = (
    "-:2",
    "OMP_WAIT_POLICY=ACTIVE:2",
    "OMP_WAIT_POLICY=PASSIVE:2",
    "GOMP_SPINCOUNT=1000:2",
    "OMP_WAIT_POLICY=PASSIVE:1",
)


def _worker(threads: int, steps: int, tokens: int) -> dict[str, float]:
    """Median seconds per training step and per decoded token, in this process."""
    import torch
    import torch.nn.functional as F

    from dynatree.models.evaluate import decode_latency
    from dynatree.models.precision import choose_precision
    from dynatree.models.settings import EmbeddedSettings
    from dynatree.models.training import build_model

    settings = EmbeddedSettings()
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    vocab = settings.vocab_size
    model = build_model(settings, "target", vocab, 0)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)
    precision = choose_precision(settings.precision)
    batch = torch.randint(0, vocab, (settings.target_batch_size, settings.context_length + 1))

    def train_step() -> None:
        with precision.autocast():
            logits = model(batch[:, :-1]).logits
        loss = F.cross_entropy(logits.float().reshape(-1, vocab), batch[:, 1:].reshape(-1))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    model.train()
    train_step()  # warm-up
    step_times = []
    for _ in range(steps):
        begin = time.perf_counter()
        train_step()
        step_times.append(time.perf_counter() - begin)
    prompt = torch.randint(0, vocab, (1, 64))
    decode_latency({"target": model}, prompt, tokens, 1)  # warm-up
    decode = [decode_latency({"target": model}, prompt, tokens, 1)["target"] for _ in range(steps)]
    return {
        "train_step_s": statistics.median(step_times),
        "decode_s_per_token": statistics.median(decode),
    }


def _run_child(omp: str, threads: int, steps: int, tokens: int) -> dict[str, float]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OMP_", "GOMP_"))}
    if omp != "-":
        env.update(item.split("=", 1) for item in omp.split(","))
    cmd = [sys.executable, __file__, "--worker", str(threads), "--steps", str(steps)]
    done = subprocess.run(
        [*cmd, "--tokens", str(tokens)], env=env, capture_output=True, text=True, check=True
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def _measure(config: str, steps: int, tokens: int) -> dict[str, Any]:
    omp, _, threads = config.rpartition(":")
    quiet = _run_child(omp, int(threads), steps, tokens)
    hog = subprocess.Popen(["yes"], stdout=subprocess.DEVNULL)
    try:
        busy = _run_child(omp, int(threads), steps, tokens)
    finally:
        hog.terminate()
        hog.wait()
    row: dict[str, Any] = {"OpenMP": "default" if omp == "-" else omp, "threads": int(threads)}
    for key, label in (("train_step_s", "train step"), ("decode_s_per_token", "AR decode")):
        row[f"{label} quiet s"] = quiet[key]
        row[f"{label} busy s"] = busy[key]
        row[f"{label} busy/quiet"] = busy[key] / quiet[key]
    return row


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--configs",
        nargs="+",
        default=list(DEFAULT_CONFIGS),
        metavar="ENV=VALUE:THREADS",
        help="OpenMP variables (comma-separated; '-' for none) and torch threads",
    )
    parser.add_argument("--steps", type=int, default=3, help="timed training steps per run")
    parser.add_argument("--tokens", type=int, default=64, help="decoded tokens per run")
    parser.add_argument("--worker", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker is not None:
        print(json.dumps(_worker(args.worker, args.steps, args.tokens)))
        return 0

    import pandas as pd

    load = os.getloadavg()
    rows = [_measure(config, args.steps, args.tokens) for config in args.configs]
    table = pd.DataFrame(rows)
    print(
        f"load average before: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}, cores: {os.cpu_count()}"
    )
    print(table.to_string(index=False, float_format=lambda x: f"{x:.4g}"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
