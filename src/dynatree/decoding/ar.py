"""Autoregressive greedy decoding with a KV cache: the baseline of every speedup."""

from __future__ import annotations

from typing import Any

import torch

from dynatree.decoding.base import Clock, DecodeOutput, Decoder, DecodeStats
from dynatree.decoding.params import ARParams
from dynatree.decoding.regime import EAGER, Regime
from dynatree.decoding.runner import ModelRunner, greedy, host_rows


class ARDecoder(Decoder):
    """One target forward per new token; one host sync per token (output and EOS check).

    Each step is the target's verification of a one-token tree (the same call, compiled alike
    in the compiled regime), so AR is the baseline of its own regime.
    """

    name = "ar"

    def __init__(self, target: Any, params: ARParams | None = None, regime: Regime = EAGER) -> None:
        self.target = target
        self.params = params or ARParams()
        self.runner = ModelRunner(target, greedy, 1, regime)
        self.runners = {"target": self.runner}
        self.clock = Clock(self.runner.device)
        self._self = torch.ones(1, 1, dtype=torch.bool, device=self.runner.device)

    @torch.inference_mode()
    def generate(
        self, input_ids: torch.Tensor, max_new_tokens: int, eos_token_id: int | None = None
    ) -> DecodeOutput:
        stats = DecodeStats()
        runner = self.runner
        prompt = input_ids[0].tolist()
        runner.start(len(prompt) + max_new_tokens)
        self.clock.start()
        tokens: list[int] = runner.prefill(prompt)
        self.clock.lap("ttft")
        while len(tokens) < max_new_tokens and tokens[-1] != eos_token_id:
            position = len(prompt) + len(tokens) - 1
            tokens += host_rows(runner.forward(tokens[-1:], [position], self._self), 1)
            runner.keep([0])
            stats.iterations += 1
        self.clock.lap("verify")
        stats.set_phase_times(self.clock.totals())
        return DecodeOutput(tokens=tokens, stats=stats)
