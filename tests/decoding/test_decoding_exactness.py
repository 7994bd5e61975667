"""Every decoder must reproduce greedy AR decoding of the target token for token."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tiny_models import VOCAB, AlwaysWrongDraft

from dynatree.decoding.registry import METHODS, build_decoder, parse_params

SPECULATIVE = {
    "linear": {"K": "4"},
    "fixed_tree": {"D": "4", "B": "3", "tau": "0.01"},
    "dynatree": {"tau": "0.01", "rho_stop": "0.001", "D_0": "3", "D_max": "5"},
    "hf_assisted": {},
}


def test_every_registered_decoder_is_tested_exact() -> None:
    """A decoder added to the registry joins SPECULATIVE here, or brings its own exactness tests
    (tests/decoding/test_decoding_<name>.py, as DynaTree-CA, which needs a cost profile)."""
    own = {m for m in METHODS if (Path(__file__).parent / f"test_decoding_{m}.py").is_file()}
    assert set(METHODS) - {"ar"} - own - set(SPECULATIVE) == set()


def ar_tokens(target, ids, n, eos=None):  # type: ignore[no-untyped-def]
    return build_decoder("ar", parse_params("ar", {}), target).generate(ids, n, eos).tokens


def decoder(method, target, draft, **overrides):  # type: ignore[no-untyped-def]
    params = {**SPECULATIVE[method], **{k: str(v) for k, v in overrides.items()}}
    return build_decoder(method, parse_params(method, params), target, draft)


def test_ar_matches_transformers_generate(pair) -> None:  # type: ignore[no-untyped-def]
    target, _ = pair
    ids = torch.randint(0, VOCAB, (1, 9), generator=torch.Generator().manual_seed(3))
    expected = target.generate(ids, max_new_tokens=20, do_sample=False, min_new_tokens=20)
    assert ar_tokens(target, ids, 20) == expected[0, 9:].tolist()


@pytest.mark.parametrize("method", list(SPECULATIVE))
@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    prompt_len=st.integers(1, 24),
    seed=st.integers(0, 2**16),
    new_tokens=st.integers(1, 30),
)
def test_exact_over_prompts(pair, method, prompt_len, seed, new_tokens) -> None:  # type: ignore[no-untyped-def]
    target, draft = pair
    ids = torch.randint(0, VOCAB, (1, prompt_len), generator=torch.Generator().manual_seed(seed))
    out = decoder(method, target, draft).generate(ids, new_tokens)
    assert out.tokens == ar_tokens(target, ids, new_tokens)


@pytest.mark.parametrize("method", ["linear", "fixed_tree", "dynatree"])
def test_identical_draft_accepts_everything(pair, method) -> None:  # type: ignore[no-untyped-def]
    target, _ = pair
    ids = torch.randint(0, VOCAB, (1, 6), generator=torch.Generator().manual_seed(5))
    out = decoder(method, target, copy.deepcopy(target)).generate(ids, 40)
    assert out.tokens == ar_tokens(target, ids, 40)
    lengths = out.stats.accepted_lengths
    # The draft's top-1 child is always the target's choice, so no iteration accepts nothing;
    # a chain is accepted whole, and near T it is drafted only as deep as can be committed.
    assert all(n >= 1 for n in lengths[:-1])  # the last may have room for the bonus only
    if method == "linear":
        assert lengths[:-1] == [4] * (len(lengths) - 1)
        assert out.stats.accepted_tokens == out.stats.drafted_depth


@pytest.mark.parametrize("method", ["linear", "fixed_tree", "dynatree"])
def test_always_wrong_draft_still_exact(pair, method) -> None:  # type: ignore[no-untyped-def]
    target, _ = pair
    ids = torch.randint(0, VOCAB, (1, 5), generator=torch.Generator().manual_seed(6))
    out = decoder(method, target, AlwaysWrongDraft(target)).generate(ids, 25)
    assert out.tokens == ar_tokens(target, ids, 25)
    assert out.stats.accepted_tokens == 0
    assert out.stats.iterations == 24  # one token of progress per verification


@pytest.mark.parametrize("method", list(SPECULATIVE))
def test_single_new_token(pair, method) -> None:  # type: ignore[no-untyped-def]
    target, draft = pair
    ids = torch.tensor([[7]])
    out = decoder(method, target, draft).generate(ids, 1)
    assert out.tokens == ar_tokens(target, ids, 1)
    assert len(out.tokens) == 1


@pytest.mark.parametrize("method", ["linear", "fixed_tree", "dynatree", "hf_assisted"])
def test_eos_inside_a_draft_stops_like_ar(pair, method) -> None:  # type: ignore[no-untyped-def]
    target, _ = pair
    ids = torch.randint(0, VOCAB, (1, 4), generator=torch.Generator().manual_seed(8))
    full = ar_tokens(target, ids, 30)
    eos = full[6]  # accepted mid-draft with an identical draft
    expected = ar_tokens(target, ids, 30, eos)
    assert expected[-1] == eos and len(expected) <= 7
    out = decoder(method, target, copy.deepcopy(target)).generate(ids, 30, eos)
    assert out.tokens == expected


def test_tree_hits_node_budget(pair) -> None:  # type: ignore[no-untyped-def]
    target, _ = pair
    ids = torch.randint(0, VOCAB, (1, 5), generator=torch.Generator().manual_seed(9))
    out = decoder("fixed_tree", target, copy.deepcopy(target), D=6, B=3, tau=0.0001, N_max=5)
    result = out.generate(ids, 30)
    assert result.tokens == ar_tokens(target, ids, 30)
    sizes = result.stats.verify_sizes  # root included
    assert sizes[0] == 6 and max(sizes) == 6  # the budget binds; only the end is smaller
    assert result.stats.drafted_tokens == sum(sizes) - len(sizes)


def test_hf_assisted_ignores_the_models_default_eos(pair) -> None:  # type: ignore[no-untyped-def]
    """Without --stop-at-eos the model's own EOS must neither stop nor be suppressed."""
    target, draft = pair
    ids = torch.randint(0, VOCAB, (1, 4), generator=torch.Generator().manual_seed(8))
    expected = ar_tokens(target, ids, 30)
    saved = target.generation_config.eos_token_id
    target.generation_config.eos_token_id = expected[3]
    try:
        assert decoder("hf_assisted", target, draft).generate(ids, 30).tokens == expected
    finally:
        target.generation_config.eos_token_id = saved
