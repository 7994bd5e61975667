"""Tiny randomly initialised causal LMs built from a config (GPT-NeoX = Pythia's architecture,
Llama, Qwen2), for the decoding and exactness tests; one tiny config of every architecture the
support check classifies (:data:`ARCHITECTURES`); and a draft that is always wrong.

A large ``initializer_range`` makes the logits peaked, so greedy choices are not near-ties that
float rounding could flip between batched and sequential evaluation; a test that wants such
near-ties passes a smaller one.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Callable
from typing import Any

import torch
import transformers as tf
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


ARCH_VOCAB = 64
_H, _L, _HEADS = 16, 2, 2


def _common(positions: int) -> dict[str, Any]:
    return dict(
        vocab_size=ARCH_VOCAB,
        hidden_size=_H,
        num_hidden_layers=_L,
        num_attention_heads=_HEADS,
        intermediate_size=2 * _H,
        max_position_embeddings=positions,
        initializer_range=0.3,
    )


def _ids() -> dict[str, int]:
    return dict(bos_token_id=0, eos_token_id=0)


#: a tiny config of each architecture (and variant) the support check classifies, by a name,
#: given its number of positions; wide initialisation (0.3) so greedy choices are not near-ties
ARCHITECTURES: dict[str, Callable[[int], Any]] = {
    "gpt_neox": lambda n: tf.GPTNeoXConfig(**_common(n)),
    "gpt2": lambda n: tf.GPT2Config(
        vocab_size=ARCH_VOCAB, n_embd=_H, n_layer=_L, n_head=_HEADS, n_positions=n,
        initializer_range=0.3, **_ids(),
    ),
    "llama": lambda n: tf.LlamaConfig(num_key_value_heads=1, **_common(n)),
    "qwen2": lambda n: tf.Qwen2Config(num_key_value_heads=1, **_common(n)),
    "qwen3": lambda n: tf.Qwen3Config(num_key_value_heads=1, head_dim=8, **_common(n)),
    "phi": lambda n: tf.PhiConfig(**_common(n)),
    "phi3": lambda n: tf.Phi3Config(num_key_value_heads=1, pad_token_id=0, **_common(n)),
    "gemma": lambda n: tf.GemmaConfig(num_key_value_heads=1, head_dim=8, **_common(n)),
    "opt": lambda n: tf.OPTConfig(
        vocab_size=ARCH_VOCAB, hidden_size=_H, num_hidden_layers=_L, num_attention_heads=_HEADS,
        ffn_dim=2 * _H, max_position_embeddings=n, word_embed_proj_dim=_H, init_std=0.3,
        pad_token_id=0, **_ids(),
    ),
    "falcon": lambda n: tf.FalconConfig(
        vocab_size=ARCH_VOCAB, hidden_size=_H, num_hidden_layers=_L, num_attention_heads=_HEADS,
        alibi=False, max_position_embeddings=n, initializer_range=0.3, **_ids(),
    ),
    "gptj": lambda n: tf.GPTJConfig(
        vocab_size=ARCH_VOCAB, n_embd=_H, n_layer=_L, n_head=_HEADS, rotary_dim=4, n_positions=n,
        initializer_range=0.3, **_ids(),
    ),
    "mistral": lambda n: tf.MistralConfig(num_key_value_heads=1, sliding_window=None, **_common(n)),
    # refused for trees
    "gpt_neo": lambda n: tf.GPTNeoConfig(
        vocab_size=ARCH_VOCAB, hidden_size=_H, num_layers=_L, num_heads=_HEADS, window_size=4,
        attention_types=[[["global", "local"], 1]], max_position_embeddings=n,
        initializer_range=0.3, **_ids(),
    ),
    "mpt": lambda n: tf.MptConfig(
        vocab_size=ARCH_VOCAB, d_model=_H, n_layers=_L, n_heads=_HEADS, max_seq_len=n,
        initializer_range=0.3,
    ),
    "bloom": lambda n: tf.BloomConfig(
        vocab_size=ARCH_VOCAB, hidden_size=_H, n_layer=_L, n_head=_HEADS, initializer_range=0.3,
    ),
    "falcon_alibi": lambda n: tf.FalconConfig(
        vocab_size=ARCH_VOCAB, hidden_size=_H, num_hidden_layers=_L, num_attention_heads=_HEADS,
        alibi=True, max_position_embeddings=n, initializer_range=0.3, **_ids(),
    ),
    "mistral_sliding": lambda n: tf.MistralConfig(
        num_key_value_heads=1, sliding_window=4, **_common(n)
    ),
}  # fmt: skip


@functools.cache
def arch_model(arch: str, seed: int = 0, positions: int = 128) -> torch.nn.Module:
    """An eval-mode random model of :data:`ARCHITECTURES` ``arch`` with eager attention (cached:
    treat it as read-only)."""
    torch.manual_seed(seed)
    config = ARCHITECTURES[arch](positions)
    return tf.AutoModelForCausalLM.from_config(config, attn_implementation="eager").eval()


def greedy_generate(model: torch.nn.Module, prompt: torch.Tensor, n: int) -> list[int]:
    """transformers' own greedy ``generate``: ``n`` new tokens, no EOS stop, the model's own
    cache setting (MPT: none, so every step is a full forward): the reference our AR must
    equal. The model's generation config is restored afterwards."""
    saved = model.generation_config
    model.generation_config = copy.deepcopy(saved)
    model.generation_config.eos_token_id = None
    try:
        out = model.generate(
            prompt,
            attention_mask=torch.ones_like(prompt),
            do_sample=False,
            max_new_tokens=n,
            pad_token_id=0,
        )
    finally:
        model.generation_config = saved
    return out[0, prompt.shape[1] :].tolist()


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
