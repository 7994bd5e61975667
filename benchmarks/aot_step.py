"""A one-token step ahead of time (AOTInductor) against eager and ``torch.compile``, per model.

Issue 21 asks for each model's step within a small multiple of its weight-streaming floor. On a
CPU, ``torch.compile`` leaves about 0.3 ms per call of dynamo's frame wrapper and inductor's
Python wrapper (docs/measurements.md), which is most of the embedded draft's step. This script
prices the call path without them: the same forward (the decoders' greedy head over a
``SlotCache`` written at an explicit slot) exported with ``torch.export`` and compiled by
AOTInductor into a package whose cache buffers are this process's own tensors
(``load_constants(..., user_managed=True)``), so a decoder could still move entries in place.

Per model, in one process: the floor (``dynatree.bench.floor``), the step eager, compiled and
AOT (median ms at a cache of ``--prefix`` tokens, and as multiples of the floor), AOT's compile
time, and whether a greedy decode of ``--new-tokens`` tokens fed one at a time gives eager's
tokens on the compiled and AOT paths (a difference is a rounding tie or a bug: look). Then c,
the draft's step over the target's, on each path. A quick look, not a pipeline step:

    python benchmarks/aot_step.py --threads 1                  # the embedded pair
    python benchmarks/aot_step.py --random --threads 1         # tiny random pair
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from dynatree.bench.floor import weight_products
from dynatree.decoding.kv import SlotCache
from dynatree.decoding.runner import greedy
from dynatree.errors import exit_status
from dynatree.io import write_json_atomic

sys.path.insert(0, str(Path(__file__).resolve().parent))
from regimes import EMBEDDED, random_pair  # noqa: E402  (the benchmarks' own tiny pair)

PATHS = ("eager", "compiled", "aot")


class SlotStep(torch.nn.Module):
    """One model's greedy head over a :class:`SlotCache` whose key and value buffers are this
    module's, so that ``torch.export`` sees the cache writes as buffer mutations."""

    def __init__(self, model: Any, capacity: int) -> None:
        super().__init__()
        config = model.config
        heads = getattr(config, "num_key_value_heads", None) or config.num_attention_heads
        dim = getattr(config, "head_dim", None) or config.hidden_size // config.num_attention_heads
        self.model, self.capacity, self.layers = model, capacity, config.num_hidden_layers
        for i in range(self.layers):
            self.register_buffer(f"k{i}", torch.zeros(1, heads, capacity, dim))
            self.register_buffer(f"v{i}", torch.zeros(1, heads, capacity, dim))

    def forward(
        self, ids: torch.Tensor, pos: torch.Tensor, mask: torch.Tensor, slots: torch.Tensor
    ) -> torch.Tensor:
        cache = SlotCache(self.capacity)
        cache.slots, cache.mask = slots, mask
        for i in range(self.layers):
            layer = cache.layer_class_to_replicate()
            layer.keys, layer.values = getattr(self, f"k{i}"), getattr(self, f"v{i}")
            layer.dtype, layer.device, layer.is_initialized = ids.dtype, ids.device, True
            cache.layers.append(layer)
        return greedy(self.model, cache, ids, pos, mask)


def step_inputs(token: int, slot: int, capacity: int) -> tuple[torch.Tensor, ...]:
    """One token at position and slot ``slot``, seeing slots 0 .. ``slot``."""
    mask = torch.full((1, 1, 1, capacity), torch.finfo(torch.float32).min)
    mask[..., : slot + 1] = 0.0
    return torch.tensor([[token]]), torch.tensor([[slot]]), mask, torch.tensor([slot])


def decode(call: Callable[..., torch.Tensor], prompt: list[int], new: int, cap: int) -> list[int]:
    """Greedy tokens after ``prompt``, every token fed alone (one shape for every path)."""
    tokens = list(prompt)
    for slot in range(len(prompt) + new - 1):
        out = int(call(*step_inputs(tokens[slot], slot, cap))[-1])
        if slot >= len(prompt) - 1:
            tokens.append(out)
    return tokens[len(prompt) :]


def median_ms(call: Callable[[], Any], repeats: int, warmup: int) -> float:
    times = []
    for index in range(warmup + repeats):
        started = time.perf_counter()
        call()
        if index >= warmup:
            times.append(time.perf_counter() - started)
    return statistics.median(times) * 1e3


def measure_model(model: Any, args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    """The floor and the step on each path (module docstring) for one model."""
    step = SlotStep(model, args.capacity).eval()
    example = step_inputs(1, args.prefix, args.capacity)
    started = time.perf_counter()
    exported = torch.export.export(step, example, strict=False)  # outside inference mode
    package = torch._inductor.aoti_compile_and_package(
        exported, package_path=str(workdir / f"{id(step)}.pt2")
    )
    aot = torch._inductor.aoti_load_package(package)
    aot_buffers = {name: torch.zeros_like(b) for name, b in step.named_buffers(recurse=False)}
    aot.load_constants(aot_buffers, check_full_update=False, user_managed=True)
    compile_s = time.perf_counter() - started
    compiled = torch.compile(step, fullgraph=True)
    calls = {"eager": step, "compiled": compiled, "aot": aot}
    buffers = {path: dict(step.named_buffers(recurse=False)) for path in ("eager", "compiled")}
    buffers["aot"] = aot_buffers
    vocab = model.config.vocab_size
    prompt = torch.randint(0, vocab, (args.prefix,), generator=torch.Generator().manual_seed(0))
    out: dict[str, Any] = {"floor_ms": weight_products(model) * 1e3, "aot_compile_s": compile_s}
    tokens = {}
    with torch.inference_mode():
        for path, call in calls.items():
            for buffer in buffers[path].values():
                buffer.zero_()
            tokens[path] = decode(call, prompt.tolist(), args.new_tokens, args.capacity)
            ms = median_ms(lambda call=call: call(*example), args.repeats, args.warmup)
            out[f"{path}_ms"], out[f"{path}_floor_multiple"] = ms, ms / out["floor_ms"]
    for path in ("compiled", "aot"):
        out[f"{path}_same_tokens"] = tokens[path] == tokens["eager"]
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--target", default=str(EMBEDDED / "target"), help="model directory")
    parser.add_argument("--draft", default=str(EMBEDDED / "draft"), help="model directory")
    parser.add_argument("--random", action="store_true", help="a tiny random pair instead")
    parser.add_argument("--capacity", type=int, default=256, help="cache slots (default 256)")
    parser.add_argument("--prefix", type=int, default=100, help="cached tokens when timed")
    parser.add_argument("--new-tokens", type=int, default=16, help="tokens the decode checks")
    parser.add_argument("--repeats", type=int, default=400, help="timed calls (median)")
    parser.add_argument("--warmup", type=int, default=50, help="untimed calls first")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    parser.add_argument("--out", help="also write the measurements as JSON here")
    args = parser.parse_args(argv)
    if not 0 < args.prefix < args.capacity - args.new_tokens:
        parser.error(f"--prefix {args.prefix}: must leave --new-tokens slots below --capacity")
    torch.set_num_threads(args.threads)
    if args.random:
        target, draft = random_pair(torch.device("cpu"), torch.float32)
    else:
        from transformers import AutoModelForCausalLM

        def load(path: str) -> Any:
            return AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32).eval()

        target, draft = load(args.target), load(args.draft)
    with tempfile.TemporaryDirectory() as workdir:
        pair = (("target", target), ("draft", draft))
        result = {name: measure_model(model, args, Path(workdir)) for name, model in pair}
    result["c"] = {p: result["draft"][f"{p}_ms"] / result["target"][f"{p}_ms"] for p in PATHS}
    print(
        f"{'model':8} {'floor ms':>9}" + "".join(f" {p + ' ms':>12} {'x floor':>8}" for p in PATHS)
    )
    for name in ("target", "draft"):
        row = result[name]
        cells = "".join(f" {row[f'{p}_ms']:12.3f} {row[f'{p}_floor_multiple']:8.2f}" for p in PATHS)
        print(f"{name:8} {row['floor_ms']:9.3f}{cells}")
    print("c       " + " " * 10 + "".join(f" {result['c'][p]:12.3f} {'':8}" for p in PATHS))
    for name in ("target", "draft"):
        row = result[name]
        print(
            f"{name}: AOT compile {row['aot_compile_s']:.1f} s; greedy tokens as eager's: "
            f"compiled {row['compiled_same_tokens']}, AOT {row['aot_same_tokens']}"
        )
    if args.out:
        write_json_atomic(args.out, result)
    return 0


if __name__ == "__main__":
    sys.exit(exit_status(main, "aot_step"))
