"""Architectures the tree decoders cannot verify exactly are refused; the supported ones are exact.

Tiny random models of each architecture (tests/support/tiny_models.py: eager attention, a wide
initialisation so greedy choices are not near-ties). A speculative decoder refuses an unfit pair
when it is built, so every caller is guarded and nothing has touched the models yet. The checks
that depend on the run's lengths (rope scaling, position tables): test_decoding_support_lengths.
"""

from __future__ import annotations

import copy
import functools

import pytest
import torch
from tiny_models import ARCH_VOCAB, ARCHITECTURES, arch_model, greedy_generate

from dynatree.decoding.registry import build_decoder, parse_params, required
from dynatree.decoding.support import CHAIN_EXACT, TREE_EXACT
from dynatree.errors import UsageError

pytestmark = pytest.mark.usefixtures("one_thread")

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
PROMPT = torch.randint(0, ARCH_VOCAB, (1, 6), generator=torch.Generator().manual_seed(1))


@functools.cache
def ar(arch: str, n: int = T) -> list[int]:
    """The target's greedy continuation of PROMPT, computed once per architecture."""
    return build_decoder("ar", parse_params("ar", {}), arch_model(arch)).generate(PROMPT, n).tokens


def decoder(method: str, target: torch.nn.Module, draft: torch.nn.Module):  # type: ignore[no-untyped-def]
    return build_decoder(method, parse_params(method, SPECULATIVE[method]), target, draft)


def test_every_architecture_is_classified() -> None:
    types = {a: ARCHITECTURES[a](128).model_type for a in ARCHITECTURES}
    assert set(TREE_EXACT) == {t for a, t in types.items() if a not in REFUSED}
    assert CHAIN_EXACT <= {types[a] for a in REFUSED}


@pytest.mark.parametrize("arch", sorted(ARCHITECTURES))
def test_our_ar_equals_transformers_greedy_generate(arch: str) -> None:
    """Wherever we accept a model (AR runs on every architecture), our AR is the reference
    every speculative decoder is checked against: it must be transformers' own greedy output."""
    assert ar(arch, 2 * T) == greedy_generate(arch_model(arch), PROMPT, 2 * T)


@pytest.mark.parametrize("arch", sorted(REFUSED))
@pytest.mark.parametrize("method", ["fixed_tree", "dynatree", "dynatree_ca"])
def test_tree_decoding_refused(arch: str, method: str) -> None:
    target = arch_model(arch)
    params = parse_params(method, SPECULATIVE.get(method, {}))
    assert required(method, params) == "tree"
    with pytest.raises(UsageError) as info:
        build_decoder(method, params, target, target)
    message = str(info.value)
    assert "\n" not in message and REFUSED[arch] in message
    assert target.config.model_type in message


@pytest.mark.parametrize("arch", sorted(REFUSED))
def test_cost_aware_decoder_refuses_before_its_profile_touches_the_models(arch: str) -> None:
    """Without a profile DynaTree-CA measures one in process, with tree forwards: an unfit
    pair must be refused first, not fail (or be timed) inside them."""
    target, draft = copy.deepcopy(arch_model(arch)), copy.deepcopy(arch_model(arch, seed=1))
    calls = []
    for model in (target, draft):
        model.register_forward_pre_hook(lambda *_: calls.append(1))
    with pytest.raises(UsageError, match=REFUSED[arch]):
        build_decoder("dynatree_ca", parse_params("dynatree_ca", {"N_max": "4"}), target, draft)
    assert calls == []


@pytest.mark.parametrize("arch", sorted(REFUSED))
def test_chain_decoding_allowed_only_where_exact(arch: str) -> None:
    target = arch_model(arch)
    if target.config.model_type in CHAIN_EXACT:
        linear = decoder("linear", target, copy.deepcopy(target))
        assert linear.generate(PROMPT, 2 * T).tokens == ar(arch, 2 * T)
    else:
        with pytest.raises(UsageError):
            decoder("linear", target, target)


@pytest.mark.parametrize("arch", sorted(REFUSED))
def test_models_own_decoding_is_never_refused_and_exact(arch: str) -> None:
    """AR and transformers' assisted generation run the model's own causal forwards; MPT's
    configs switch the cache off (``use_cache: false``), which assisted generation needs."""
    target = arch_model(arch)
    assert required("ar", parse_params("ar", {})) is None
    assisted = decoder("hf_assisted", target, copy.deepcopy(arch_model(arch, seed=1)))
    assert assisted.generate(PROMPT, T).tokens == ar(arch)
    # AR runs on the static cache wherever a chain is exact, else on the model's own cache
    own = build_decoder("ar", parse_params("ar", {}), target).own
    assert (own is None) == (target.config.model_type in CHAIN_EXACT)


@pytest.mark.parametrize("arch", EXACT_ALL_DECODERS)
@pytest.mark.parametrize("method", list(SPECULATIVE))
def test_supported_exact_under_every_decoder(arch: str, method: str) -> None:
    target, draft = arch_model(arch), arch_model(arch, seed=1)
    for candidate in (draft, copy.deepcopy(target)):
        speculative = decoder(method, target, candidate)
        assert speculative.generate(PROMPT, T).tokens == ar(arch)


OTHER_SUPPORTED = sorted(set(ARCHITECTURES) - set(REFUSED) - set(EXACT_ALL_DECODERS))


@pytest.mark.parametrize("arch", OTHER_SUPPORTED)
def test_other_supported_exact_with_deep_trees(arch: str) -> None:
    target = arch_model(arch)
    speculative = decoder("fixed_tree", target, copy.deepcopy(target))
    assert speculative.generate(PROMPT, T).tokens == ar(arch)


@pytest.mark.parametrize(
    ("method", "params", "need"),
    [
        ("linear", {}, "chain"),
        ("fixed_tree", {"B": "1"}, "chain"),
        ("fixed_tree", {}, "tree"),
        ("dynatree", {"dynamic_breadth": "false", "B_mid": "1", "B_min": "1"}, "chain"),
        ("dynatree", {}, "tree"),
        ("dynatree_ca", {"B_max": "1"}, "chain"),
        ("hf_assisted", {}, None),
    ],
)
def test_required_support_follows_the_branching(method: str, params: dict, need: str) -> None:
    """What ``bench`` checks on the configs before loading is what the decoder checks when built."""
    parsed = parse_params(method, params)
    assert required(method, parsed) == need
    if need is not None and method != "dynatree_ca":  # (it would measure a profile first)
        target = arch_model("mpt")  # chain-exact, tree-refused
        if need == "tree":
            with pytest.raises(UsageError):
                build_decoder(method, parsed, target, target)
        else:
            build_decoder(method, parsed, target, target)
