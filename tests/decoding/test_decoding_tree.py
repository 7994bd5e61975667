"""Tree structure, masks, acceptance and KV surgery, checked on hand-built cases."""

from __future__ import annotations

import torch
from tiny_models import VOCAB, tiny_model

from dynatree.decoding.kv import keep_entries
from dynatree.decoding.tree import TokenTree, additive_mask


def small_tree() -> TokenTree:
    """root(5) -> a(1), b(2); a -> c(3); b -> d(3)."""
    tree = TokenTree.with_root(5, max_nodes=8, device=torch.device("cpu"), root_position=10)
    a, b = tree.add_level([0, 0], [1, 2], [0.6, 0.3])
    tree.add_level([a, b], [3, 3], [0.5, 0.1])
    return tree


def test_ancestor_matrix_and_positions() -> None:
    tree = small_tree()
    anc = tree.ancestors[: len(tree), : len(tree)]
    expected = torch.tensor(
        [
            [1, 0, 0, 0, 0],
            [1, 1, 0, 0, 0],
            [1, 0, 1, 0, 0],
            [1, 1, 0, 1, 0],
            [1, 0, 1, 0, 1],
        ],
        dtype=torch.bool,
    )
    assert torch.equal(anc, expected)
    assert tree.position_ids().tolist() == [[10, 11, 11, 12, 12]]
    assert tree.position_ids([3, 1]).tolist() == [[12, 11]]
    assert abs(tree.conditional_prob(3) - 0.5 / 0.6) < 1e-12
    assert tree.max_depth == 2


def test_accept_follows_target_choices() -> None:
    tree = small_tree()
    # target after root -> 2 (node b), after b -> 3 (node d), after d -> 9 (bonus)
    assert tree.accept([2, 0, 3, 0, 9]) == [2, 4]
    assert tree.accept([7, 0, 0, 0, 0]) == []
    assert tree.accept([1, 4, 0, 0, 0]) == [1]


def test_additive_mask_is_float_and_blocks_non_ancestors() -> None:
    tree = small_tree()
    mask = additive_mask(tree.ancestors[:5, :5], prefix_len=3, dtype=torch.float16)
    assert mask.shape == (1, 1, 5, 8) and mask.dtype == torch.float16
    assert torch.all(mask[0, 0, :, :3] == 0)
    assert mask[0, 0, 3, 3 + 2] == torch.finfo(torch.float16).min  # c does not see b
    assert mask[0, 0, 3, 3 + 1] == 0  # c sees its parent a


def test_keep_entries_equals_running_the_kept_tokens() -> None:
    """Gathering the accepted path's KV entries gives the cache sequential decoding would have."""
    model = tiny_model("gpt_neox", 0)
    prefix = torch.tensor([[3, 1, 4, 1]])
    with torch.inference_mode():
        cache = model(input_ids=prefix, use_cache=True).past_key_values
        branch = torch.tensor([[5, 9, 2]])  # positions 4, 5, 5: 9 and 2 are siblings
        mask = torch.tensor([[1, 0, 0], [1, 1, 0], [1, 0, 1]], dtype=torch.bool)
        model(
            input_ids=branch,
            position_ids=torch.tensor([[4, 5, 5]]),
            attention_mask=additive_mask(mask, 4, torch.float32),
            past_key_values=cache,
            use_cache=True,
        )
        keep_entries(cache, 4, torch.tensor([0, 2]))  # keep 5 then 2
        nxt = torch.tensor([[7]])
        got = model(input_ids=nxt, past_key_values=cache, use_cache=True).logits[0, -1]
        ref = model(input_ids=torch.tensor([[3, 1, 4, 1, 5, 2, 7]])).logits[0, -1]
    assert cache.get_seq_length() == 7
    assert torch.allclose(got, ref, atol=1e-5)
    assert got.shape[-1] == VOCAB
