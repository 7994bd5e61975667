"""Depth cap: no tree is deeper than the tokens still to generate minus the bonus token.

GPT-2 has a learned absolute position table of n_positions rows; with n_positions = prompt + T
AR fits exactly (its last forward is at position prompt + T - 2), and a drafted node one level too
deep would index past the table (IndexError in wpe).
"""

from __future__ import annotations

import copy

import pytest
import torch
from tiny_models import AlwaysWrongDraft
from transformers import GPT2Config, GPT2LMHeadModel

from dynatree.decoding.registry import METHODS, build_decoder, parse_params

VOCAB = 96
PROMPT = 4
T = 10
PARAMS = {  # deep enough to overrun the table near the end without the cap; small budgets
    "linear": {"K": "5"},
    "fixed_tree": {"D": "5", "B": "2", "tau": "0.0001", "N_max": "12"},
    "dynatree": {"tau": "0.0001", "rho_stop": "0.0001", "D_0": "5", "D_max": "6", "N_max": "12"},
}


def gpt2(seed: int, layers: int, hidden: int) -> GPT2LMHeadModel:
    torch.manual_seed(seed)
    config = GPT2Config(
        vocab_size=VOCAB,
        n_positions=PROMPT + T,
        n_embd=hidden,
        n_layer=layers,
        n_head=4,
        initializer_range=0.2,
        bos_token_id=0,
        eos_token_id=0,
    )
    model = GPT2LMHeadModel(config)
    model.config._attn_implementation = "eager"
    return model.eval()


def tree_methods() -> list[str]:
    """Every method whose decoder runs the shared draft → verify loop (new ones included)."""
    return [m for m, entry in METHODS.items() if entry.uses_tree]


class PositionLog(torch.nn.Module):
    """Records, per forward with explicit positions, its largest position id."""

    def __init__(self, inner: torch.nn.Module) -> None:
        super().__init__()
        self.inner, self.config = inner, inner.config
        self.largest: list[int] = []

    def forward(self, **kwargs):  # type: ignore[no-untyped-def]
        if kwargs.get("position_ids") is not None:
            self.largest.append(int(kwargs["position_ids"].max()))
        return self.inner(**kwargs)

    def get_input_embeddings(self) -> torch.nn.Module:  # a cost-aware decoder profiles the pair
        return self.inner.get_input_embeddings()


@pytest.fixture(scope="module")
def models() -> dict[str, torch.nn.Module]:
    target = gpt2(0, 2, 32)
    return {
        "target": target,
        "identical": copy.deepcopy(target),  # accepts deep drafts: reaches the end in big steps
        "wrong": AlwaysWrongDraft(target),  # one token per iteration: every tail length occurs
        "random": gpt2(1, 1, 16),
    }


def ar_tokens(target: torch.nn.Module, ids: torch.Tensor, n: int) -> list[int]:
    return build_decoder("ar", parse_params("ar", {}), target).generate(ids, n).tokens


@pytest.mark.parametrize("draft", ["identical", "wrong", "random"])
@pytest.mark.parametrize("method", tree_methods())
def test_trees_stay_within_the_tokens_left(models, method, draft) -> None:  # type: ignore[no-untyped-def]
    ids = torch.randint(0, VOCAB, (1, PROMPT), generator=torch.Generator().manual_seed(2))
    target, drafter = PositionLog(models["target"]), PositionLog(models[draft])
    decoder = build_decoder(method, parse_params(method, PARAMS.get(method, {})), target, drafter)
    reference = ar_tokens(models["target"], ids, T)
    for n in range(T - 3, T + 1):  # several lengths up to the table's end: each ends differently
        target.largest.clear()
        drafter.largest.clear()
        out = decoder.generate(ids, n)
        assert out.tokens == reference[:n]
        # AR's last forward is at position PROMPT + n - 2; nothing may go further. A tree's
        # deepest node sits at root + depth, so this is depth <= tokens left - 1 per iteration.
        assert max(target.largest + drafter.largest, default=0) <= PROMPT + n - 2


def test_chains_draft_only_what_can_be_committed(models) -> None:  # type: ignore[no-untyped-def]
    ids = torch.randint(0, VOCAB, (1, PROMPT), generator=torch.Generator().manual_seed(3))
    target = models["target"]
    params = parse_params("linear", {"K": "5"})
    n = T  # 1 (prefill) + 6 + 3: the last chain is cut to 2 so its bonus is the 10th token
    out = build_decoder("linear", params, target, models["identical"]).generate(ids, n)
    assert out.tokens == ar_tokens(target, ids, n)
    assert out.stats.accepted_lengths == [5, 2]
    assert out.stats.drafted_tokens == out.stats.accepted_tokens == 7  # no draft wasted
    # one token per iteration: with r tokens left a chain of min(K, r - 1) is drafted
    out = build_decoder("linear", params, target, models["wrong"]).generate(ids, n)
    assert out.tokens == ar_tokens(target, ids, n)
    assert out.stats.drafted_tokens == sum(min(5, r - 1) for r in range(1, n))


def test_hf_assisted_caps_its_own_drafts(models) -> None:  # type: ignore[no-untyped-def]
    """transformers limits the assistant to max_length - 1 - current length: no crash either."""
    ids = torch.randint(0, VOCAB, (1, PROMPT), generator=torch.Generator().manual_seed(4))
    target = models["target"]
    for draft in (models["identical"], models["random"]):
        decoder = build_decoder("hf_assisted", parse_params("hf_assisted", {}), target, draft)
        for n in (T - 1, T):
            assert decoder.generate(ids, n).tokens == ar_tokens(target, ids, n)
