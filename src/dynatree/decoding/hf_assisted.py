"""transformers' own assisted generation (``generate(assistant_model=...)``): the peer baseline.

Run as a user would run it (greedy, its own draft-length schedule and confidence cut-off), timed
by the same harness. Its internals are not ours, so statistics are observed from outside: a
streamer timestamps the first token and counts verification iterations (one ``put`` per
iteration), and a forward hook on the draft counts drafted tokens (one per draft forward) and
times drafting.
"""

from __future__ import annotations

import copy
from typing import Any

import torch
from transformers.generation.streamers import BaseStreamer

from dynatree.decoding.base import Clock, DecodeOutput, Decoder, DecodeStats
from dynatree.decoding.params import HFAssistedParams


class _Probe(BaseStreamer):
    """Records when the first new token arrives and how many chunks (iterations) follow."""

    def __init__(self, clock: Clock, start: float) -> None:
        self.clock, self.start = clock, start
        self.puts = 0
        self.ttft_s = 0.0

    def put(self, value: torch.Tensor) -> None:
        self.puts += 1
        if self.puts == 2:  # the first put is the prompt
            self.ttft_s = self.clock.now() - self.start

    def end(self) -> None:
        return None


class HFAssistedDecoder(Decoder):
    name = "hf_assisted"

    def __init__(self, target: Any, draft: Any, params: HFAssistedParams) -> None:
        self.target = target
        self.draft = draft
        self.params = params
        self.clock = Clock(next(target.parameters()).device)

    def _configs(self, eos_token_id: int | None) -> tuple[Any, Any]:
        """Generation configs for target and assistant with OUR stopping rule.

        They replace the models' own for the call: passing ``eos_token_id=None`` to ``generate``
        falls back to the model's default EOS, and ``min_new_tokens`` would suppress EOS logits
        (changing greedy choices), so only swapping the configs keeps the output equal to AR.
        """
        target = copy.deepcopy(self.target.generation_config)
        target.eos_token_id = eos_token_id
        target.pad_token_id = eos_token_id if eos_token_id is not None else 0
        assistant = copy.deepcopy(self.draft.generation_config)
        assistant.eos_token_id = eos_token_id
        assistant.num_assistant_tokens = self.params.num_assistant_tokens
        assistant.num_assistant_tokens_schedule = self.params.schedule
        assistant.assistant_confidence_threshold = self.params.confidence_threshold
        return target, assistant

    @torch.inference_mode()
    def generate(
        self, input_ids: torch.Tensor, max_new_tokens: int, eos_token_id: int | None = None
    ) -> DecodeOutput:
        stats = DecodeStats()
        draft_forwards = 0
        draft_started = 0.0

        def before(_module: Any, _args: Any) -> None:
            nonlocal draft_started
            draft_started = self.clock.now()

        def after(_module: Any, _args: Any, _output: Any) -> None:
            nonlocal draft_forwards
            draft_forwards += 1
            stats.draft_time_s += self.clock.now() - draft_started

        saved = self.target.generation_config, self.draft.generation_config
        self.target.generation_config, self.draft.generation_config = self._configs(eos_token_id)
        hooks = [
            self.draft.register_forward_pre_hook(before),
            self.draft.register_forward_hook(after),
        ]
        start = self.clock.now()
        probe = _Probe(self.clock, start)
        try:
            output = self.target.generate(
                input_ids,
                attention_mask=torch.ones_like(input_ids),
                assistant_model=self.draft,
                do_sample=False,
                max_new_tokens=max_new_tokens,
                streamer=probe,
            )
        finally:
            for hook in hooks:
                hook.remove()
            self.target.generation_config, self.draft.generation_config = saved
        elapsed = self.clock.now() - start
        tokens = output[0, input_ids.shape[1] :].tolist()
        stats.ttft_s = probe.ttft_s
        # puts: the prompt, then one chunk per target forward. HF's first target forward is the
        # prefill and a verification at once; counting it as the prefill keeps L̄ comparable.
        stats.iterations = max(probe.puts - 2, 0)
        # every draft forward (the first one catches up on the prompt) yields one candidate
        stats.drafted_tokens = stats.drafted_depth = draft_forwards
        # each target forward commits its accepted candidates plus one target token
        stats.accepted_tokens = max(len(tokens) - 1 - stats.iterations, 0)
        stats.verify_time_s = max(elapsed - stats.ttft_s - stats.draft_time_s, 0.0)
        return DecodeOutput(tokens=tokens, stats=stats)
