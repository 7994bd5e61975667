"""The floor of a forward: how long multiplying a model's weights by its tokens takes here.

At batch size 1 a decoding step multiplies every weight matrix by one vector, so no step can be
faster than streaming each matrix once from wherever it lives (memory, or a cache it fits in):
the weight-streaming floor. A forward of n tokens (a verification of n tree nodes) multiplies
every matrix by n vectors; where the processor's arithmetic, not its memory, is the limit (one
CPU thread), that takes longer than streaming, so verifying n tokens has a floor of its own:
with PyTorch's products (those a forward runs, eager or compiled), nothing verifies them for
less. We time exactly those products, one per matrix the
forward multiplies by (every 2-D weight except embedding tables, which are only indexed, unless
one doubles as the output layer), back to back in the model's order, as ``torch.nn.Linear``
computes them, and report measured steps as multiples of them, as gpt-fast reports achieved
bandwidth next to tokens per second. The statistic is the median over repeats after a warm-up,
timed with the decoders' clock (CUDA events on a GPU).
"""

from __future__ import annotations

import statistics
from typing import Any

import torch

from dynatree.decoding.base import Clock


def weight_matrices(model: Any) -> list[torch.Tensor]:
    """The 2-D weights a forward multiplies by, each once (a tied output layer counts once)."""
    output = model.get_output_embeddings()
    tables = {
        id(m.weight)
        for m in model.modules()
        if isinstance(m, torch.nn.Embedding) and (output is None or m.weight is not output.weight)
    }
    seen: set[int] = set()
    matrices = []
    for param in model.parameters():
        if param.dim() == 2 and id(param) not in tables and id(param) not in seen:
            seen.add(id(param))
            matrices.append(param.detach())
    return matrices


@torch.inference_mode()
def weight_products(model: Any, tokens: int = 1, repeats: int = 30, warmup: int = 5) -> float:
    """Median seconds to multiply every weight matrix of ``model`` by ``tokens`` vectors (one
    token: the weight-streaming floor)."""
    matrices = weight_matrices(model)
    inputs = [torch.ones(tokens, m.shape[1], dtype=m.dtype, device=m.device) for m in matrices]
    clock = Clock(matrices[0].device)
    times = []
    for index in range(warmup + repeats):
        clock.start()
        for matrix, rows in zip(matrices, inputs, strict=True):
            torch.nn.functional.linear(rows, matrix)
        clock.lap("products")
        if index >= warmup:
            times.append(clock.totals()["products"])
    return statistics.median(times)


def floor_curve(target: Any, draft: Any, sizes: list[int]) -> dict[str, Any]:
    """A cost profile's ``floor``: both models' weight-streaming floors and, per call size n of
    the profile, their products with n vectors (docs/formats.md, "Cost profile JSON")."""
    curve = [
        {"n": n, "target_s": weight_products(target, n), "draft_s": weight_products(draft, n)}
        for n in sizes
    ]
    one = next(point for point in curve if point["n"] == 1)
    return {"target_s": one["target_s"], "draft_s": one["draft_s"], "curve": curve}


def weight_bytes(model: Any) -> int:
    """Bytes of the matrices :func:`weight_products` reads."""
    return sum(m.numel() * m.element_size() for m in weight_matrices(model))
