"""Autoregressive greedy decoding with a KV cache: the baseline of every speedup."""

from __future__ import annotations

from typing import Any

import torch

from dynatree.decoding.base import Clock, DecodeOutput, Decoder, DecodeStats
from dynatree.decoding.params import ARParams


class ARDecoder(Decoder):
    """One target forward per new token; one host sync per token (output and EOS check)."""

    name = "ar"

    def __init__(self, target: Any, params: ARParams | None = None) -> None:
        self.target = target
        self.params = params or ARParams()
        self.clock = Clock(next(target.parameters()).device)

    @torch.inference_mode()
    def generate(
        self, input_ids: torch.Tensor, max_new_tokens: int, eos_token_id: int | None = None
    ) -> DecodeOutput:
        stats = DecodeStats()
        self.clock.start()
        out = self.target(input_ids=input_ids, use_cache=True)
        cache = out.past_key_values
        token = out.logits[:, -1:].argmax(-1)
        tokens: list[int] = [int(token)]
        self.clock.lap("ttft")
        while len(tokens) < max_new_tokens and tokens[-1] != eos_token_id:
            out = self.target(input_ids=token, past_key_values=cache, use_cache=True)
            cache = out.past_key_values
            token = out.logits[:, -1:].argmax(-1)
            tokens.append(int(token))
            stats.iterations += 1
        self.clock.lap("verify")
        stats.set_phase_times(self.clock.totals())
        return DecodeOutput(tokens=tokens, stats=stats)
