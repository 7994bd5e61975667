"""The decoder interface and the per-call statistics every decoder reports.

A decoder owns its models and caches; ``generate`` decodes one prompt greedily and returns the new
tokens plus counters. The benchmark harness times the call; decoders only time their own phases
(drafting, verification, time to first token) with a :class:`Clock`, which on CUDA records events
instead of synchronising, so timing the phases does not stall the device it measures.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from itertools import pairwise
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
    # What each iteration cost, in the units of a verify-cost profile (dynatree.decoding.profiling):
    # tokens verified (root included) and the width of every draft forward that built the tree.
    verify_sizes: list[int] = field(default_factory=list)
    draft_widths: list[list[int]] = field(default_factory=list)

    def set_phase_times(self, totals: dict[str, float]) -> None:
        """Take ``ttft``, ``draft`` and ``verify`` from :meth:`Clock.totals`."""
        self.ttft_s = totals.get("ttft", 0.0)
        self.draft_time_s = totals.get("draft", 0.0)
        self.verify_time_s = totals.get("verify", 0.0)


@dataclass
class DecodeOutput:
    """New tokens only (the prompt is not repeated) and the call's statistics."""

    tokens: list[int]
    stats: DecodeStats


class Clock:
    """Splits one ``generate`` call into phases by laps: each lap ends the previous phase.

    On CUDA a lap records an event on the current stream (no synchronisation): the device
    timestamps it when it gets there, so phases are device time without stalls, and the events
    are resolved once, in :meth:`totals`, at the end of the call. On CPU a lap reads
    ``perf_counter``. Consecutive laps of one phase merge (one event, not two). With
    ``enabled`` False laps cost nothing and every phase reads 0 (to measure timing overhead).
    """

    def __init__(self, device: torch.device, enabled: bool = True) -> None:
        self.cuda = device.type == "cuda"
        self.enabled = enabled
        self._marks: list[Any] = []
        self._phases: list[str] = []  # _phases[i]: what ran from _marks[i] to _marks[i + 1]

    def _mark(self) -> Any:
        if not self.cuda:
            return time.perf_counter()
        event = torch.cuda.Event(enable_timing=True)
        event.record()
        return event

    def start(self) -> None:
        """Forget earlier laps and mark the start of a call."""
        self._marks, self._phases = [], []
        if self.enabled:
            self._marks.append(self._mark())

    def lap(self, phase: str) -> None:
        """Attribute the time since the previous lap (or :meth:`start`) to ``phase``."""
        if not self.enabled:
            return
        if self._phases and self._phases[-1] == phase:
            self._marks[-1] = self._mark()
            return
        self._phases.append(phase)
        self._marks.append(self._mark())

    def totals(self) -> dict[str, float]:
        """Seconds per phase since :meth:`start` (phases never lapped read 0 via ``get``)."""
        if len(self._marks) < 2:
            return {}
        if self.cuda:
            self._marks[-1].synchronize()
            spans = [a.elapsed_time(b) / 1e3 for a, b in pairwise(self._marks)]
        else:
            spans = [b - a for a, b in pairwise(self._marks)]
        out: dict[str, float] = {}
        for phase, span in zip(self._phases, spans, strict=True):
            out[phase] = out.get(phase, 0.0) + span
        return out


class Decoder(ABC):
    """Greedy decoding of one prompt at batch size 1; output must equal AR with the target."""

    name: str = ""
    target: Any  # the target model: the harness diagnoses mismatches with it (bench.verdict)
    #: times the phases of ``generate``; ``clock.enabled = False`` switches phase timing off
    clock: Clock
    #: the decoder's model runners by role (``target``, ``draft``; decoding.runner), whose caches
    #: and shapes :meth:`prepare` sets (none: the decoder runs its models its own way)
    runners: dict[str, Any] = {}

    def prepare(self, longest_prompt: int, max_new_tokens: int) -> float:
        """Size every cache for prompts of up to ``longest_prompt`` tokens and T new tokens, and
        run each padded shape once (compiling it, in the compiled regime), so that nothing is
        allocated or compiled while a decode is timed; the seconds it took."""
        return sum(r.warm_up(longest_prompt + max_new_tokens) for r in self.runners.values())

    @abstractmethod
    def generate(
        self, input_ids: torch.Tensor, max_new_tokens: int, eos_token_id: int | None = None
    ) -> DecodeOutput:
        """Decode up to ``max_new_tokens`` new tokens after ``input_ids`` (shape ``(1, L)``).

        Stops early right after committing ``eos_token_id`` when it is given.
        """
