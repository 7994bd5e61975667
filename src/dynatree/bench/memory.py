"""Peak memory of one decode: CUDA max allocated on a GPU, the process's peak RSS on a CPU."""

from __future__ import annotations

import resource
import sys

import torch


def reset_peak(device: torch.device) -> None:
    """Start a fresh CUDA peak for the next prompt (the CPU peak RSS cannot be reset)."""
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)


def peak_bytes(device: torch.device) -> int:
    """Peak since :func:`reset_peak` on CUDA; on CPU the process's peak RSS so far.

    ``ru_maxrss`` is in KiB on Linux and in bytes on macOS.
    """
    if device.type == "cuda":
        return int(torch.cuda.max_memory_allocated(device))
    maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(maxrss if sys.platform == "darwin" else maxrss * 1024)
