"""The weight-streaming floor: how long reading a model's weights once takes on this machine.

At batch size 1 a decoding step multiplies every weight matrix by one vector, so no step can be
faster than streaming each matrix once from wherever it lives (memory, or a cache it fits in).
We time exactly that, one matrix-vector product per matrix the forward multiplies by (every
2-D weight except embedding tables, which are only indexed, unless one doubles as the output
layer), back to back in the model's order, and report measured steps as multiples of it, as
gpt-fast reports achieved bandwidth next to tokens per second. The statistic is the median over
repeats after a warm-up, timed with the decoders' clock (CUDA events on a GPU).
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
def weight_streaming(model: Any, repeats: int = 30, warmup: int = 5) -> float:
    """Median seconds to multiply every weight matrix of ``model`` by one vector."""
    matrices = weight_matrices(model)
    vectors = [torch.ones(m.shape[1], dtype=m.dtype, device=m.device) for m in matrices]
    clock = Clock(matrices[0].device)
    times = []
    for index in range(warmup + repeats):
        clock.start()
        for matrix, vector in zip(matrices, vectors, strict=True):
            torch.mv(matrix, vector)
        clock.lap("stream")
        if index >= warmup:
            times.append(clock.totals()["stream"])
    return statistics.median(times)


def weight_bytes(model: Any) -> int:
    """Bytes of the matrices :func:`weight_streaming` reads."""
    return sum(m.numel() * m.element_size() for m in weight_matrices(model))
