"""Which models our speculative decoders verify exactly: refuse the rest at load, in one line.

Tree verification feeds several candidate tokens at once, siblings sharing a position, with
explicit position ids and an additive 4D mask (each node sees the prefix and its ancestors),
and then keeps only the accepted entries of a plain dynamic KV cache. A model is exact under
that only if every attention layer honours both and its cache is a plain list of entries.
Three mechanisms break it, silently (wrong tokens) or loudly (a traceback deep in a forward):

- ALiBi biases computed from the cache length or a 2D padding mask (BLOOM, MPT, Falcon with
  ``alibi``): siblings get distinct distances and the tree mask is not the one applied;
- local-attention layers (GPT-Neo): the layer builds its own windowed mask;
- sliding-window caches (Mistral, Qwen2 with a window): entries cannot be kept by index.

A chain (linear drafting) needs less: consecutive positions and a causal mask, which MPT's
ALiBi and GPT-Neo's local layers get right on their own (verified), while BLOOM and Falcon's
ALiBi reject a 4D mask altogether. Rather than trusting the mechanisms above to be the only
ones, a model type must also be on the list the tests verify
(tests/decoding/test_decoding_support.py): unknown architectures are refused, not guessed.
"""

from __future__ import annotations

from typing import Any

from dynatree.errors import UsageError

#: model types whose every decoder is verified token-identical to AR (tiny random models)
TREE_EXACT: frozenset[str] = frozenset(
    {
        "gpt_neox",
        "gpt2",
        "llama",
        "qwen2",
        "qwen3",
        "phi",
        "phi3",
        "gemma",
        "opt",
        "falcon",
        "gptj",
        "mistral",
    }
)
#: model types refused for trees but verified exact with a chain (linear drafting)
CHAIN_EXACT: frozenset[str] = frozenset({"mpt", "gpt_neo"})

TREE, CHAIN = "tree", "chain"


def _alibi(config: Any) -> bool:
    """ALiBi position biases (BLOOM always; MPT and Falcon by a config flag)."""
    if config.model_type == "bloom":
        return True
    attn = getattr(config, "attn_config", None)
    return bool(getattr(config, "alibi", False) or getattr(attn, "alibi", False))


def _local_layers(config: Any) -> bool:
    """GPT-Neo style local (windowed) attention layers."""
    return "local" in (getattr(config, "attention_layers", None) or [])


def _cache_layers(config: Any) -> set[str]:
    """Layer classes of the dynamic cache this model builds (sliding-window layers show here)."""
    from transformers import DynamicCache

    return {type(layer).__name__ for layer in DynamicCache(config=config).layers}


def unsupported(config: Any, need: str) -> str | None:
    """Why a model with ``config`` cannot be decoded exactly with ``need`` (tree or chain)."""
    name = config.model_type
    layers = _cache_layers(config)
    if layers - {"DynamicLayer"}:
        return f"its KV cache has {', '.join(sorted(layers - {'DynamicLayer'}))} (sliding window)"
    if need == CHAIN and name in CHAIN_EXACT:
        return None
    if _alibi(config):
        return "ALiBi position biases ignore the explicit tree positions and mask"
    if _local_layers(config):
        return "its local-attention layers build their own windowed mask"
    if name not in TREE_EXACT:
        return f"not verified exact under tree masks (verified: {', '.join(sorted(TREE_EXACT))})"
    return None


def required(decoder: Any) -> str | None:
    """``tree``, ``chain`` or None (the decoder only runs the model's own causal forward)."""
    from dynatree.decoding.speculative import SpeculativeDecoder

    if not isinstance(decoder, SpeculativeDecoder):
        return None
    return CHAIN if decoder.policy.max_branching == 1 else TREE


def check_model(model: Any, need: str, flag: str) -> None:
    """Raise a one-line :class:`UsageError` naming the architecture when ``model`` is unfit."""
    config = model.config
    reason = unsupported(config, need)
    if reason is not None:
        archs = ", ".join(getattr(config, "architectures", None) or [config.model_type])
        decoding = "tree" if need == TREE else "linear (chain)"
        chain_ok = need == TREE and unsupported(config, CHAIN) is None
        works = "linear, ar and hf_assisted still work" if chain_ok else "ar and hf_assisted work"
        raise UsageError(
            f"{flag}: {archs} cannot be {decoding}-decoded exactly: {reason} ({works})"
        )


def check_tree_support(model: Any, flag: str) -> None:
    """Refuse a model whose tree verification would not be exact."""
    check_model(model, TREE, flag)


def check_decoder(decoder: Any, target: Any, draft: Any | None) -> None:
    """Refuse target or draft when ``decoder`` needs masks they do not honour."""
    need = required(decoder)
    if need is None:
        return
    check_model(target, need, "--target")
    if draft is not None:
        check_model(draft, need, "--draft")
