"""Autoregressive greedy decoding with a KV cache: the baseline of every speedup."""

from __future__ import annotations

from typing import Any

import torch

from dynatree.decoding.base import Clock, DecodeOutput, Decoder, DecodeStats
from dynatree.decoding.params import ARParams
from dynatree.decoding.regime import EAGER, Regime
from dynatree.decoding.runner import ModelRunner, greedy, host_rows
from dynatree.decoding.support import CHAIN, unsupported
from dynatree.errors import UsageError


class ARDecoder(Decoder):
    """One target forward per new token; one host sync per token (output and EOS check).

    Each step is the target's verification of a one-token tree (the same runner call, compiled
    alike in the compiled regime), so AR is the baseline of its own regime. A model our runner
    does not verify exactly even for a chain (ALiBi, sliding windows, unknown architectures:
    decoding.support) decodes with its own cache and causal mask instead, eager only, as
    transformers' generate would.
    """

    name = "ar"

    def __init__(self, target: Any, params: ARParams | None = None, regime: Regime = EAGER) -> None:
        self.target = target
        self.params = params or ARParams()
        device = next(target.parameters()).device
        self.clock = Clock(device)
        self.own = unsupported(target.config, CHAIN)  # why the model runs its own cache
        if self.own is not None and regime.compiled:
            raise UsageError(
                f"--compile: AR runs {target.config.model_type} on its own cache ({self.own}), "
                "which is not compiled here; run it eager"
            )
        if self.own is None:
            self.runner = ModelRunner(target, greedy, 1, regime)
            self.runners = {"target": self.runner}
        self._self = torch.ones(1, 1, dtype=torch.bool, device=device)

    @torch.inference_mode()
    def generate(
        self, input_ids: torch.Tensor, max_new_tokens: int, eos_token_id: int | None = None
    ) -> DecodeOutput:
        stats = DecodeStats()
        step = self._own_steps if self.own is not None else self._runner_steps
        self.clock.start()
        tokens = step(input_ids, max_new_tokens, eos_token_id, stats)
        self.clock.lap("verify")
        stats.set_phase_times(self.clock.totals())
        return DecodeOutput(tokens=tokens, stats=stats)

    def _runner_steps(
        self, input_ids: torch.Tensor, max_new_tokens: int, eos: int | None, stats: DecodeStats
    ) -> list[int]:
        runner = self.runner
        prompt = input_ids[0].tolist()
        runner.start(len(prompt) + max_new_tokens)
        tokens: list[int] = runner.prefill(prompt)
        self.clock.lap("ttft")
        while len(tokens) < max_new_tokens and tokens[-1] != eos:
            position = len(prompt) + len(tokens) - 1
            tokens += host_rows(runner.forward(tokens[-1:], [position], self._self), 1)
            runner.keep([0])
            stats.iterations += 1
        return tokens

    def _own_steps(
        self, input_ids: torch.Tensor, max_new_tokens: int, eos: int | None, stats: DecodeStats
    ) -> list[int]:
        out = self.target(input_ids=input_ids, use_cache=True)
        token = out.logits[:, -1:].argmax(-1)
        tokens = [int(token)]
        self.clock.lap("ttft")
        while len(tokens) < max_new_tokens and tokens[-1] != eos:
            out = self.target(input_ids=token, past_key_values=out.past_key_values, use_cache=True)
            token = out.logits[:, -1:].argmax(-1)
            tokens.append(int(token))
            stats.iterations += 1
        return tokens
