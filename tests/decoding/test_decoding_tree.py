"""Tree structure, positions and acceptance, checked on hand-built cases."""

from __future__ import annotations

import torch

from dynatree.decoding.tree import TokenTree


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
    assert tree.positions() == [10, 11, 11, 12, 12]
    assert tree.positions([3, 1]) == [12, 11]
    assert abs(tree.conditional_prob(3) - 0.5 / 0.6) < 1e-12
    assert tree.max_depth == 2


def test_accept_follows_target_choices() -> None:
    tree = small_tree()
    # target after root -> 2 (node b), after b -> 3 (node d), after d -> 9 (bonus)
    assert tree.accept([2, 0, 3, 0, 9]) == [2, 4]
    assert tree.accept([7, 0, 0, 0, 0]) == []
    assert tree.accept([1, 4, 0, 0, 0]) == [1]
