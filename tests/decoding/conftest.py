"""Tiny randomly initialised causal LMs (GPT-NeoX = Pythia's architecture, and Llama).

A large ``initializer_range`` makes the logits peaked, so greedy choices are not near-ties that
float rounding could flip between batched and sequential evaluation.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator

import pytest
import torch
from transformers import GPTNeoXConfig, GPTNeoXForCausalLM, LlamaConfig, LlamaForCausalLM

VOCAB = 96


def tiny_model(arch: str, seed: int, layers: int = 2, hidden: int = 32) -> torch.nn.Module:
    """A tiny eval-mode model with eager attention (custom 4D masks need it)."""
    torch.manual_seed(seed)
    common = dict(
        vocab_size=VOCAB,
        hidden_size=hidden,
        num_hidden_layers=layers,
        num_attention_heads=4,
        intermediate_size=2 * hidden,
        max_position_embeddings=512,
        initializer_range=0.2,
    )
    if arch == "gpt_neox":
        model = GPTNeoXForCausalLM(GPTNeoXConfig(**common))
    elif arch == "llama":
        model = LlamaForCausalLM(LlamaConfig(num_key_value_heads=2, **common))
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


@pytest.fixture(scope="session", params=["gpt_neox", "llama"])
def pair(request: pytest.FixtureRequest) -> tuple[torch.nn.Module, torch.nn.Module]:
    """(target, draft) of one architecture; the draft is smaller and differently seeded."""
    return tiny_model(request.param, 0), tiny_model(request.param, 1, layers=1, hidden=16)


@pytest.fixture(scope="module")
def one_thread() -> Iterator[None]:
    """Tiny models run op by op: a second torch thread only adds wake-up stalls, which on a
    shared, loaded machine make each op ~100x slower. Restored afterwards."""
    saved = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(saved)
