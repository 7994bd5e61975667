"""transformers' own assisted generation (``generate(assistant_model=...)``): the peer baseline.

Run as a user would run it (greedy, its own draft-length schedule and confidence cut-off), timed
by the same harness. Its internals are not ours, so statistics are observed from outside: a
streamer marks the first token and counts verification iterations (one ``put`` per iteration),
and forward hooks on the draft count drafted tokens (one per draft forward) and lap the clock
around each draft forward.
"""

from __future__ import annotations

import copy
from typing import Any

import torch
from transformers.generation.streamers import BaseStreamer

from dynatree.decoding.base import Clock, DecodeOutput, Decoder, DecodeStats
from dynatree.decoding.params import HFAssistedParams


class _Probe(BaseStreamer):
    """Counts the chunks (iterations) streamed and marks the first new token on the clock."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.puts = 0

    @property
    def started(self) -> bool:
        """Whether the first new token has arrived (the first put is the prompt)."""
        return self.puts >= 2

    def put(self, value: torch.Tensor) -> None:
        self.puts += 1
        if self.puts == 2:
            self.clock.lap("ttft")

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
        Assisted generation needs the KV cache, which some configs switch off (MPT's
        ``use_cache: false``), so both configs turn it on.
        """
        target = copy.deepcopy(self.target.generation_config)
        target.eos_token_id = eos_token_id
        target.pad_token_id = eos_token_id if eos_token_id is not None else 0
        target.use_cache = True
        assistant = copy.deepcopy(self.draft.generation_config)
        assistant.eos_token_id = eos_token_id
        assistant.use_cache = True
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
        probe = _Probe(self.clock)

        # Before the first new token everything is time to first token; after it, a draft
        # forward is drafting and the rest (target forwards, HF's bookkeeping) verification.
        def before(_module: Any, _args: Any) -> None:
            self.clock.lap("verify" if probe.started else "ttft")

        def after(_module: Any, _args: Any, _output: Any) -> None:
            nonlocal draft_forwards
            draft_forwards += 1
            self.clock.lap("draft" if probe.started else "ttft")

        saved = self.target.generation_config, self.draft.generation_config
        self.target.generation_config, self.draft.generation_config = self._configs(eos_token_id)
        hooks = [
            self.draft.register_forward_pre_hook(before),
            self.draft.register_forward_hook(after),
        ]
        self.clock.start()
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
        self.clock.lap("verify")
        stats.set_phase_times(self.clock.totals())
        tokens = output[0, input_ids.shape[1] :].tolist()
        # puts: the prompt, then one chunk per target forward. HF's first target forward is the
        # prefill and a verification at once; counting it as the prefill keeps L̄ comparable.
        stats.iterations = max(probe.puts - 2, 0)
        # every draft forward (the first one catches up on the prompt) yields one candidate
        stats.drafted_tokens = stats.drafted_depth = draft_forwards
        # each target forward commits its accepted candidates plus one target token
        stats.accepted_tokens = max(len(tokens) - 1 - stats.iterations, 0)
        return DecodeOutput(tokens=tokens, stats=stats)
