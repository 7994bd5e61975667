"""Tiny randomly initialised causal LMs built from a config (GPT-NeoX = Pythia's architecture,
Llama, Qwen2), for the decoding and exactness tests, and a draft that is always wrong.

A large ``initializer_range`` makes the logits peaked, so greedy choices are not near-ties that
float rounding could flip between batched and sequential evaluation; a test that wants such
near-ties passes a smaller one.
"""

from __future__ import annotations

import copy

import torch
from transformers import (
    GPTNeoXConfig,
    GPTNeoXForCausalLM,
    LlamaConfig,
    LlamaForCausalLM,
    Qwen2Config,
    Qwen2ForCausalLM,
)

VOCAB = 96


def tiny_model(
    arch: str, seed: int, layers: int = 2, hidden: int = 32, init: float = 0.2
) -> torch.nn.Module:
    """A tiny eval-mode model with eager attention (custom 4D masks need it)."""
    torch.manual_seed(seed)
    common = dict(
        vocab_size=VOCAB,
        hidden_size=hidden,
        num_hidden_layers=layers,
        num_attention_heads=4,
        intermediate_size=2 * hidden,
        max_position_embeddings=512,
        initializer_range=init,
    )
    if arch == "gpt_neox":
        model = GPTNeoXForCausalLM(GPTNeoXConfig(**common))
    elif arch == "llama":
        model = LlamaForCausalLM(LlamaConfig(num_key_value_heads=2, **common))
    elif arch == "qwen2":
        model = Qwen2ForCausalLM(Qwen2Config(num_key_value_heads=2, **common))
    else:
        raise ValueError(arch)
    model.config._attn_implementation = "eager"
    return model.eval()


class AlwaysWrongDraft(torch.nn.Module):
    """A draft whose every top choice differs from the target's greedy token in that context.

    It runs a copy of the target and pushes the target's argmax to the bottom of the ranking,
    so no drafted token can ever be accepted: acceptance must be exactly zero.
    """

    def __init__(self, target: torch.nn.Module) -> None:
        super().__init__()
        self.inner = copy.deepcopy(target)
        self.config = self.inner.config

    def get_input_embeddings(self) -> torch.nn.Module:
        return self.inner.get_input_embeddings()

    def forward(self, **kwargs):  # type: ignore[no-untyped-def]
        out = self.inner(**kwargs)
        logits = out.logits.clone()
        logits.scatter_(-1, logits.argmax(-1, keepdim=True), torch.finfo(logits.dtype).min)
        out.logits = logits
        return out
