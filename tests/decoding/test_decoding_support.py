"""Architectures the tree decoders cannot verify exactly are refused; the supported ones are exact.

Tiny random models of each architecture, eager attention, a wide initialisation (0.3) so greedy
choices are not near-ties.
"""

from __future__ import annotations

import copy
import functools

import pytest
import torch
import transformers as tf

from dynatree.decoding.registry import build_decoder, parse_params
from dynatree.decoding.support import CHAIN_EXACT, TREE_EXACT, check_decoder
from dynatree.errors import UsageError

pytestmark = pytest.mark.usefixtures("one_thread")

VOCAB = 64
H, L, HEADS = 16, 2, 2
_COMMON = dict(
    vocab_size=VOCAB,
    hidden_size=H,
    num_hidden_layers=L,
    num_attention_heads=HEADS,
    intermediate_size=2 * H,
    max_position_embeddings=128,
    initializer_range=0.3,
)

CONFIGS = {
    "gpt_neox": lambda: tf.GPTNeoXConfig(**_COMMON),
    "gpt2": lambda: tf.GPT2Config(
        vocab_size=VOCAB, n_embd=H, n_layer=L, n_head=HEADS, n_positions=128,
        initializer_range=0.3, bos_token_id=0, eos_token_id=0,
    ),
    "llama": lambda: tf.LlamaConfig(num_key_value_heads=1, **_COMMON),
    "qwen2": lambda: tf.Qwen2Config(num_key_value_heads=1, **_COMMON),
    "qwen3": lambda: tf.Qwen3Config(num_key_value_heads=1, head_dim=8, **_COMMON),
    "phi": lambda: tf.PhiConfig(**_COMMON),
    "phi3": lambda: tf.Phi3Config(num_key_value_heads=1, pad_token_id=0, **_COMMON),
    "gemma": lambda: tf.GemmaConfig(num_key_value_heads=1, head_dim=8, **_COMMON),
    "opt": lambda: tf.OPTConfig(
        vocab_size=VOCAB, hidden_size=H, num_hidden_layers=L, num_attention_heads=HEADS,
        ffn_dim=2 * H, max_position_embeddings=128, word_embed_proj_dim=H, init_std=0.3,
        bos_token_id=0, eos_token_id=0, pad_token_id=0,
    ),
    "falcon": lambda: tf.FalconConfig(
        vocab_size=VOCAB, hidden_size=H, num_hidden_layers=L, num_attention_heads=HEADS,
        alibi=False, initializer_range=0.3, bos_token_id=0, eos_token_id=0,
    ),
    "gptj": lambda: tf.GPTJConfig(
        vocab_size=VOCAB, n_embd=H, n_layer=L, n_head=HEADS, rotary_dim=4, n_positions=128,
        initializer_range=0.3, bos_token_id=0, eos_token_id=0,
    ),
    "mistral": lambda: tf.MistralConfig(num_key_value_heads=1, sliding_window=None, **_COMMON),
    # refused for trees
    "gpt_neo": lambda: tf.GPTNeoConfig(
        vocab_size=VOCAB, hidden_size=H, num_layers=L, num_heads=HEADS, window_size=4,
        attention_types=[[["global", "local"], 1]], max_position_embeddings=128,
        initializer_range=0.3, bos_token_id=0, eos_token_id=0,
    ),
    "mpt": lambda: tf.MptConfig(
        vocab_size=VOCAB, d_model=H, n_layers=L, n_heads=HEADS, max_seq_len=128,
        initializer_range=0.3,
    ),
    "bloom": lambda: tf.BloomConfig(
        vocab_size=VOCAB, hidden_size=H, n_layer=L, n_head=HEADS, initializer_range=0.3,
    ),
    "falcon_alibi": lambda: tf.FalconConfig(
        vocab_size=VOCAB, hidden_size=H, num_hidden_layers=L, num_attention_heads=HEADS,
        alibi=True, initializer_range=0.3, bos_token_id=0, eos_token_id=0,
    ),
    "mistral_sliding": lambda: tf.MistralConfig(
        num_key_value_heads=1, sliding_window=4, **_COMMON
    ),
}  # fmt: skip
REFUSED = {
    "gpt_neo": "local-attention",
    "mpt": "ALiBi",
    "bloom": "ALiBi",
    "falcon_alibi": "ALiBi",
    "mistral_sliding": "sliding window",
}
EXACT_ALL_DECODERS = ["gpt2", "llama", "qwen2", "phi3", "opt"]
SPECULATIVE = {
    "linear": {"K": "3"},
    "fixed_tree": {"D": "3", "B": "2", "tau": "0.001"},
    "dynatree": {"tau": "0.001", "rho_stop": "0.0001", "D_0": "2", "D_max": "3"},
    "hf_assisted": {},
}
T = 8


@functools.cache
def build(arch: str, seed: int = 0) -> torch.nn.Module:
    torch.manual_seed(seed)
    return tf.AutoModelForCausalLM.from_config(CONFIGS[arch](), attn_implementation="eager").eval()


@functools.cache
def ar(arch: str, n: int = T) -> list[int]:
    """The target's greedy continuation of PROMPT, computed once per architecture."""
    return build_decoder("ar", parse_params("ar", {}), build(arch)).generate(PROMPT, n).tokens


def decoder(method: str, target: torch.nn.Module, draft: torch.nn.Module):  # type: ignore[no-untyped-def]
    return build_decoder(method, parse_params(method, SPECULATIVE[method]), target, draft)


PROMPT = torch.randint(0, VOCAB, (1, 6), generator=torch.Generator().manual_seed(1))


def test_every_architecture_is_classified() -> None:
    assert set(TREE_EXACT) == {c().model_type for a, c in CONFIGS.items() if a not in REFUSED}
    assert CHAIN_EXACT <= {CONFIGS[a]().model_type for a in REFUSED}


@pytest.mark.parametrize("arch", sorted(REFUSED))
@pytest.mark.parametrize("method", ["fixed_tree", "dynatree"])
def test_tree_decoding_refused(arch: str, method: str) -> None:
    target = build(arch)
    with pytest.raises(UsageError) as info:
        check_decoder(decoder(method, target, target), target, target)
    message = str(info.value)
    assert "\n" not in message and REFUSED[arch] in message
    assert target.config.model_type in message


@pytest.mark.parametrize("arch", sorted(REFUSED))
def test_chain_decoding_allowed_only_where_exact(arch: str) -> None:
    target = build(arch)
    linear = decoder("linear", target, copy.deepcopy(target))
    if target.config.model_type in CHAIN_EXACT:
        check_decoder(linear, target, target)
        assert linear.generate(PROMPT, 2 * T).tokens == ar(arch, 2 * T)
    else:
        with pytest.raises(UsageError):
            check_decoder(linear, target, target)


@pytest.mark.parametrize("arch", sorted(REFUSED))
def test_models_own_decoding_is_never_refused(arch: str) -> None:
    """AR keeps working on every architecture: those the static cache does not serve exactly
    even for a chain decode on their own cache, as transformers' greedy generate does."""
    target = build(arch)
    ar = build_decoder("ar", parse_params("ar", {}), target)
    check_decoder(ar, target, None)
    check_decoder(decoder("hf_assisted", target, target), target, target)
    expected = target.generate(PROMPT, max_new_tokens=2 * T, min_new_tokens=2 * T, do_sample=False)
    assert ar.generate(PROMPT, 2 * T).tokens == expected[0, PROMPT.shape[1] :].tolist()
    assert (ar.own is None) == (target.config.model_type in CHAIN_EXACT)


@pytest.mark.parametrize("arch", EXACT_ALL_DECODERS)
@pytest.mark.parametrize("method", list(SPECULATIVE))
def test_supported_exact_under_every_decoder(arch: str, method: str) -> None:
    target, draft = build(arch), build(arch, seed=1)
    for candidate in (draft, copy.deepcopy(target)):
        speculative = decoder(method, target, candidate)
        check_decoder(speculative, target, candidate)
        assert speculative.generate(PROMPT, T).tokens == ar(arch)


@pytest.mark.parametrize("arch", sorted(set(CONFIGS) - set(REFUSED) - set(EXACT_ALL_DECODERS)))
def test_other_supported_exact_with_deep_trees(arch: str) -> None:
    target = build(arch)
    speculative = decoder("fixed_tree", target, copy.deepcopy(target))
    check_decoder(speculative, target, target)
    assert speculative.generate(PROMPT, T).tokens == ar(arch)
