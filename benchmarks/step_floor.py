"""Each model's one-token step in the decoders' runner, eager and compiled, against its floor.

Issue 21 asks for each model's step within a small multiple of its weight-streaming floor
(``dynatree.bench.floor``). Per model, in one process, with the runner every decoder uses
(``dynatree.decoding.runner``) at a cache of ``--prefix`` tokens, in each regime:

- ``step``: the head alone on one prepared token (the model's forward: what the floor bounds);
- ``call``: a whole ``ModelRunner.forward`` of one token and its result on the host (the step
  plus building the call's mask and inputs: what a decoder pays per AR step or draft level);

as median ms and as multiples of the floor, the compiled regime's warm-up seconds (building or
loading its AOTInductor packages), and whether a greedy decode of ``--new-tokens`` tokens, one
call per token, gives eager's tokens when compiled (a difference is a rounding tie or a bug:
look). Then c, the draft's step over the target's, per regime. A quick look, not a pipeline step:

    python benchmarks/step_floor.py --threads 1                # the embedded pair
    python benchmarks/step_floor.py --random --threads 1       # tiny random pair
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from dynatree.bench.floor import weight_products
from dynatree.decoding.regime import EAGER, resolve
from dynatree.decoding.runner import ModelRunner, greedy, host_rows
from dynatree.errors import exit_status
from dynatree.io import write_json_atomic

sys.path.insert(0, str(Path(__file__).resolve().parent))
from regimes import EMBEDDED, random_pair  # noqa: E402  (the benchmarks' own tiny pair)

REGIMES = {"eager": EAGER, "compiled": resolve("on", "cpu")}
ONE = torch.ones(1, 1, dtype=torch.bool)


def median_ms(call: Callable[[], Any], repeats: int, warmup: int) -> float:
    times = []
    for index in range(warmup + repeats):
        started = time.perf_counter()
        call()
        if index >= warmup:
            times.append(time.perf_counter() - started)
    return statistics.median(times) * 1e3


def decode(runner: ModelRunner, prompt: list[int], new: int) -> list[int]:
    """Greedy tokens after ``prompt``, one call per token, the cache emptied first."""
    runner.start(len(prompt) + new)
    tokens = runner.prefill(prompt)  # the greedy token after the prompt, on the host
    for position in range(len(prompt), len(prompt) + new - 1):
        tokens.append(host_rows(runner.forward(tokens[-1:], [position], ONE), 1)[0])
        runner.keep([0])
    return tokens


def timings(runner: ModelRunner, prompt: list[int], repeats: int, warmup: int) -> dict[str, float]:
    """Median ms of the step and the call (module docstring) of one token after ``prompt``."""
    prefix = len(prompt)
    runner.start(prefix + 1)
    runner.prefill(prompt)
    host_rows(runner.forward([1], [prefix], ONE), 1)  # one call's inputs, kept
    inputs = (torch.tensor([[1]]), torch.tensor([[prefix]]), runner.cache.mask)
    runner.rewind(prefix)

    def call() -> None:
        host_rows(runner.forward([1], [prefix], ONE), 1)
        runner.rewind(prefix)

    def step() -> None:  # at the call's slot: cache.slots is kept
        runner.step(runner.model, runner.cache, *inputs)  # the head, or its compiled form

    return {
        kind: median_ms(timed, repeats, warmup) for kind, timed in (("step", step), ("call", call))
    }


@torch.inference_mode()
def measure_model(model: Any, args: argparse.Namespace) -> dict[str, Any]:
    """The floor, and the step and call in each regime (module docstring), for one model."""
    vocab = model.config.vocab_size
    generator = torch.Generator().manual_seed(0)
    prompt = torch.randint(0, vocab, (args.prefix,), generator=generator).tolist()
    out: dict[str, Any] = {"floor_ms": weight_products(model) * 1e3}
    tokens = {}
    for name, regime in REGIMES.items():
        runner = ModelRunner(model, greedy, 1, regime)
        out[f"{name}_warm_up_s"] = runner.warm_up(args.prefix + args.new_tokens)
        tokens[name] = decode(runner, prompt, args.new_tokens)
        for kind, ms in timings(runner, prompt, args.repeats, args.warmup).items():
            out[f"{name}_{kind}_ms"], out[f"{name}_{kind}_floor_multiple"] = (
                ms,
                ms / out["floor_ms"],
            )
    out["compiled_same_tokens"] = tokens["compiled"] == tokens["eager"]
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--target", default=str(EMBEDDED / "target"), help="model directory")
    parser.add_argument("--draft", default=str(EMBEDDED / "draft"), help="model directory")
    parser.add_argument("--random", action="store_true", help="a tiny random pair instead")
    parser.add_argument("--prefix", type=int, default=100, help="cached tokens when timed")
    parser.add_argument("--new-tokens", type=int, default=16, help="tokens the decode checks")
    parser.add_argument("--repeats", type=int, default=400, help="timed calls (median)")
    parser.add_argument("--warmup", type=int, default=50, help="untimed calls first")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    parser.add_argument("--out", help="also write the measurements as JSON here")
    args = parser.parse_args(argv)
    if args.prefix < 1 or args.new_tokens < 1:
        parser.error("--prefix and --new-tokens must be at least 1")
    torch.set_num_threads(args.threads)
    if args.random:
        target, draft = random_pair(torch.device("cpu"), torch.float32)
    else:
        from transformers import AutoModelForCausalLM

        def load(path: str) -> Any:
            return AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32).eval()

        target, draft = load(args.target), load(args.draft)
    result: dict[str, Any] = {"target": measure_model(target, args)}
    result["draft"] = measure_model(draft, args)
    result["c"] = {
        name: result["draft"][f"{name}_step_ms"] / result["target"][f"{name}_step_ms"]
        for name in REGIMES
    }
    columns = [(name, kind) for name in REGIMES for kind in ("step", "call")]
    print(
        f"{'model':8} {'floor ms':>9}"
        + "".join(f" {f'{n} {k} ms':>17} {'x floor':>8}" for n, k in columns)
    )
    for name in ("target", "draft"):
        row = result[name]
        cells = "".join(
            f" {row[f'{n}_{k}_ms']:17.3f} {row[f'{n}_{k}_floor_multiple']:8.2f}" for n, k in columns
        )
        print(f"{name:8} {row['floor_ms']:9.3f}{cells}")
    print("c (step): " + ", ".join(f"{n} {result['c'][n]:.3f}" for n in REGIMES))
    for name in ("target", "draft"):
        row = result[name]
        print(
            f"{name}: compiled warm-up {row['compiled_warm_up_s']:.1f} s; greedy tokens as "
            f"eager's: {row['compiled_same_tokens']}"
        )
    if args.out:
        write_json_atomic(args.out, result)
    return 0


if __name__ == "__main__":
    sys.exit(exit_status(main, "step_floor"))
