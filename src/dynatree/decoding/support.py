"""Which models, at which lengths, our decoders reproduce exactly: refuse the rest, in one line.

Tree verification feeds several candidate tokens at once, siblings sharing a position, with
explicit position ids and an additive 4D mask (each node sees the prefix and its ancestors),
and then keeps only the accepted entries of its KV cache (the static slot cache of
``dynatree.decoding.kv``). A model is exact under that only if every attention layer honours
both and its cache would be a plain list of entries (no window that drops old ones).
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

Two more ingredients depend on the run's lengths, so they are checked where the prompts and T
are known (``dynatree bench`` before any weights load, the pipeline's config check):

- rotary embeddings whose frequencies depend on the longest position of the current forward
  (transformers' ``dynamic_rope_update``: ``longrope`` and ``dynamic``, :data:`LENGTH_ROPE`):
  a forward over several new tokens then rotates them unlike one token at a time, so a run
  whose lengths cross the switch point is refused; the other types (:data:`STATIC_ROPE`) fix
  their frequencies when the model loads;
- position tables (learned absolute positions, GPT-J's sinusoid table, MPT's ALiBi tensor):
  past ``max_position_embeddings`` only the model types of :data:`EXTRAPOLATES` still run,
  so ``--beyond-context`` is refused for every other one instead of an index error mid-run.

The functions on config dicts (config.json as read, or ``config.to_dict()``) import nothing, so
the command-line checks stay torch-free; :func:`unsupported` needs transformers.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
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

#: model types that compute positions per forward (rotary, or ALiBi built from the mask), so
#: they run past ``max_position_embeddings`` (``--beyond-context``); the others on the lists
#: above read a table of that many rows (GPT-2, OPT, GPT-Neo: learned; GPT-J: sinusoids; MPT:
#: an ALiBi tensor of ``max_seq_len`` columns) and fail there; tests verify both sides
EXTRAPOLATES: frozenset[str] = frozenset(
    {"gpt_neox", "llama", "qwen2", "qwen3", "phi", "phi3", "gemma", "falcon", "mistral", "bloom"}
)

#: rotary types of transformers 5.23 (``ROPE_INIT_FUNCTIONS`` and ``default``) whose
#: frequencies are fixed when the model loads: every forward rotates a position alike
STATIC_ROPE: frozenset[str] = frozenset({"default", "linear", "yarn", "llama3", "proportional"})


@dataclass(frozen=True)
class RopeSwitch:
    """A rotary type whose frequencies follow the longest position of the current forward."""

    keys: tuple[str, ...]  # config keys of the switch point (rope dict first, then top level)
    past_ok: bool  # a run whose every forward lies past the switch is still exact
    exact: tuple[str, ...]  # methods that stay exact across it
    why: str  # what happens there, for the one-line refusal
    fix: str  # what else the user can do


#: rotary types transformers recomputes in the forward (``dynamic_rope_update``), by name
LENGTH_ROPE: dict[str, RopeSwitch] = {
    # seq_len > original_max_position_embeddings: long factors for the whole forward, and
    # transformers' generate (Phi-3) drops the cache there to recompute it with them
    "longrope": RopeSwitch(
        keys=("original_max_position_embeddings",),
        past_ok=True,
        exact=(),
        why="switches its longrope factors from short to long there (transformers' generate "
        "recomputes the whole cache at that point; no cached decoder reproduces it)",
        fix="or give only prompts longer than that",
    ),
    # seq_len > max_position_embeddings: NTK-rescaled from the longest position of each forward
    "dynamic": RopeSwitch(
        keys=("max_position_embeddings",),
        past_ok=False,
        exact=("ar",),
        why="rescales its dynamic rotary frequencies past it from the longest position of "
        "each forward, so a forward over several drafted tokens rotates them unlike "
        "decoding one token at a time",
        fix="or use --method ar (its forwards are transformers' generate's)",
    ),
}

# Legacy rope_scaling names transformers maps to longrope for Phi-3 (Phi3Config).
_PHI3_LONGROPE = ("su", "yarn")

TREE, CHAIN = "tree", "chain"


def architecture(config: dict[str, Any]) -> str:
    """How a model is named in a refusal: its architecture classes, else its model type."""
    names = config.get("architectures") or [config.get("model_type") or "a model of no type"]
    return ", ".join(str(name) for name in names)


def _rope_entries(config: dict[str, Any]) -> list[dict[str, Any]]:
    """The rope dicts of a config dict: one, or one per layer type where they are nested
    (``rope_scaling`` wins over ``rope_parameters``, as in transformers)."""
    rope = config.get("rope_scaling") or config.get("rope_parameters") or {}
    if not isinstance(rope, dict):
        return []
    return [v for v in rope.values() if isinstance(v, dict)] or [rope]


def _rope_type(config: dict[str, Any], entry: dict[str, Any]) -> str:
    kind = str(entry.get("rope_type") or entry.get("type") or "default")
    if config.get("model_type") == "phi3" and kind in _PHI3_LONGROPE:
        return "longrope"
    return kind


def rope_types(config: dict[str, Any]) -> list[str]:
    """The rotary type of every rope entry of a config dict."""
    return [_rope_type(config, entry) for entry in _rope_entries(config)]


def rope_switches(config: dict[str, Any]) -> list[tuple[str, int, str, RopeSwitch]]:
    """(rope type, switch point, its config key, rule) for every length-dependent rope entry.

    Every key that can set the point is read (the rope dict's and the top level's
    ``original_max_position_embeddings`` may differ in a hand-written config.json): a run is
    refused if it crosses any of them.
    """
    found = []
    for entry in _rope_entries(config):
        kind = _rope_type(config, entry)
        # transformers tests ``"dynamic" in rope_type``
        rule = LENGTH_ROPE.get("dynamic" if "dynamic" in kind else kind)
        if rule is None:
            continue
        points: dict[int, str] = {}
        for key in rule.keys:
            for scope, where in ((entry, f"rope_scaling.{key}"), (config, key)):
                if isinstance(scope.get(key), int):
                    points.setdefault(scope[key], where)
        if not points and isinstance(config.get("max_position_embeddings"), int):
            points[config["max_position_embeddings"]] = "max_position_embeddings"
        found += [(kind, at, key, rule) for at, key in points.items()]
    return found


def unknown_rope(config: dict[str, Any]) -> str | None:
    """A rotary type neither :data:`STATIC_ROPE` nor :data:`LENGTH_ROPE` (None: all known)."""
    for kind in rope_types(config):
        if kind not in STATIC_ROPE and kind not in LENGTH_ROPE and "dynamic" not in kind:
            return kind
    return None


def check_rope(
    config: dict[str, Any] | None,
    flag: str,
    method: str,
    prompts: Iterable[tuple[str, int]],
    max_new_tokens: int,
) -> None:
    """Refuse a run some of whose prompts cross the target's length-dependent rope switch.

    A prompt of P tokens decoded for T new ones runs forwards whose longest sequence goes from
    P (the prefill) to P + T - 1; trees never reach further (the drafter caps a tree at the
    tokens still to come). Counting P + T keeps the rule one line long, one token cautious.
    """
    if config is None:
        return
    prompts = list(prompts)
    for _, at, key, rule in rope_switches(config):
        if method in rule.exact:
            continue
        for prompt_id, length in prompts:
            end = length + max_new_tokens
            if end > at and (length <= at or not rule.past_ok):
                raise UsageError(
                    f"--max-new-tokens {max_new_tokens}: prompt {prompt_id!r} ({length} tokens) "
                    f"+ T = {end} passes {at} ({key}), where {flag}'s {architecture(config)} "
                    f"{rule.why}; keep prompt + T <= {at} (shorter prompts or T), {rule.fix}"
                )


def fixed_positions(config: dict[str, Any] | None) -> str | None:
    """Why a model cannot run past its position limit (None: it can, or nothing is known)."""
    if config is None or config.get("model_type") in EXTRAPOLATES:
        return None
    return (
        f"{architecture(config)} may read its positions from a table of that many rows (only "
        f"model types {', '.join(sorted(EXTRAPOLATES))} are known to run past it)"
    )


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
    """Why a model with ``config`` (a transformers config) cannot be decoded exactly with
    ``need`` (tree or chain), whatever the lengths."""
    name = config.model_type
    layers = _cache_layers(config)
    if layers - {"DynamicLayer"}:
        return f"its KV cache has {', '.join(sorted(layers - {'DynamicLayer'}))} (sliding window)"
    rope = unknown_rope(config.to_dict())
    if rope is not None:
        return f"its rotary type {rope!r} is not known to rotate every forward alike"
    if need == CHAIN and name in CHAIN_EXACT:
        return None
    if _alibi(config):
        return "ALiBi position biases ignore the explicit tree positions and mask"
    if _local_layers(config):
        return "its local-attention layers build their own windowed mask"
    if name not in TREE_EXACT:
        return f"not verified exact under tree masks (verified: {', '.join(sorted(TREE_EXACT))})"
    return None


def check_model(config: Any, need: str, flag: str) -> None:
    """Raise a one-line :class:`UsageError` naming the architecture when a model with
    ``config`` (a transformers config) is unfit for ``need``."""
    reason = unsupported(config, need)
    if reason is not None:
        archs = ", ".join(getattr(config, "architectures", None) or [config.model_type])
        decoding = "tree" if need == TREE else "linear (chain)"
        chain_ok = need == TREE and unsupported(config, CHAIN) is None
        works = "linear, ar and hf_assisted still work" if chain_ok else "ar and hf_assisted work"
        raise UsageError(
            f"{flag}: {archs} cannot be {decoding}-decoded exactly: {reason} ({works})"
        )


def check_models(target: Any, draft: Any, max_branching: int) -> None:
    """Refuse target or draft before a speculative decoder with this branching touches them
    (its constructor calls this: no decoder exists for a pair it would decode wrongly)."""
    need = CHAIN if max_branching == 1 else TREE
    check_model(target.config, need, "--target")
    check_model(draft.config, need, "--draft")
