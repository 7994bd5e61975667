"""The decoder interface and the per-call statistics every decoder reports.

A decoder owns its models and caches; ``generate`` decodes one prompt greedily and returns the new
tokens plus counters. The benchmark harness times the call; decoders only time their own phases
(drafting, verification, time to first token), synchronising CUDA so the split is real.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any

import torch


@dataclass
class DecodeStats:
    """Counters for one ``generate`` call (definitions: docs/formats.md)."""

    iterations: int = 0  # target forwards after prefill (AR: decode steps)
    drafted_tokens: int = 0  # draft tokens sent to verification (all tree nodes)
    drafted_depth: int = 0  # sum over iterations of the drafted tree's depth (K if linear)
    accepted_tokens: int = 0  # drafted tokens committed (bonus tokens excluded)
    draft_time_s: float = 0.0
    verify_time_s: float = 0.0
    ttft_s: float = 0.0  # from the call's start to the first committed token
    accepted_lengths: list[int] = field(default_factory=list)  # per iteration, before the bonus
    # What each iteration cost, in the units of a verify-cost profile (dynatree.bench.profile):
    # tokens verified (root included) and the width of every draft forward that built the tree.
    verify_sizes: list[int] = field(default_factory=list)
    draft_widths: list[list[int]] = field(default_factory=list)


@dataclass
class DecodeOutput:
    """New tokens only (the prompt is not repeated) and the call's statistics."""

    tokens: list[int]
    stats: DecodeStats


class Clock:
    """Wall clock that waits for the device first, so GPU phases are timed, not just queued."""

    def __init__(self, device: torch.device) -> None:
        self._cuda = device.type == "cuda"

    def now(self) -> float:
        if self._cuda:
            torch.cuda.synchronize()
        return time.perf_counter()


class Decoder(ABC):
    """Greedy decoding of one prompt at batch size 1; output must equal AR with the target."""

    name: str = ""
    target: Any  # the target model: the harness diagnoses mismatches with it (bench.verdict)

    @abstractmethod
    def generate(
        self, input_ids: torch.Tensor, max_new_tokens: int, eos_token_id: int | None = None
    ) -> DecodeOutput:
        """Decode up to ``max_new_tokens`` new tokens after ``input_ids`` (shape ``(1, L)``).

        Stops early right after committing ``eos_token_id`` when it is given.
        """
