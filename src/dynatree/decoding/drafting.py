"""Grow a draft token tree with the draft model: one batched draft forward per round.

The draft keeps its KV cache across iterations (a static cache, run through a
:class:`~dynatree.decoding.runner.ModelRunner` in the decoder's regime). Each round, the nodes
the policy chose to expand are fed together under a tree mask (each node sees the committed
prefix, its ancestors and itself), so siblings never share mutable state; their top-k next
tokens become *candidates*. The
:class:`ExpansionPolicy` decides which candidates join the tree and which of the new nodes are
expanded next: that is all a method decides. After verification only the accepted path's
entries are kept.

Whatever the policy, a tree never reaches deeper than ``max_depth`` (the tokens still to
generate, less the bonus token): deeper nodes could never be committed, and with learned
absolute position embeddings their positions could exceed what AR decoding ever reaches.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any

import torch

from dynatree.decoding.regime import EAGER, Regime
from dynatree.decoding.runner import ModelRunner, host_rows, top_k_head
from dynatree.decoding.tree import TokenTree


@dataclass(frozen=True)
class Candidate:
    """A possible child: ``token`` after node ``parent``, the draft's ``rank``-th choice there."""

    parent: int
    token: int
    q: float  # draft probability of ``token`` given the parent's path
    rank: int  # 0 for the draft's top choice after ``parent``


class ExpansionPolicy(ABC):
    """Decides the tree's shape, one round at a time."""

    #: at most this many drafted nodes per tree (root excluded)
    max_nodes: int
    #: candidates per expanded node: the draft's top-k is computed once per round with this k
    max_branching: int

    def start(self) -> None:  # noqa: B027 - optional hook
        """Reset per-prompt state at the start of ``generate``."""

    @abstractmethod
    def admit(self, tree: TokenTree, candidates: list[Candidate]) -> list[Candidate]:
        """The candidates that join ``tree`` now (their parents are in it), in order.

        ``candidates`` are the children of the nodes fed last round, grouped by parent in feed
        order and by rank within a parent. The result must fit ``max_nodes``.
        """

    @abstractmethod
    def expand(self, tree: TokenTree, new: list[int]) -> list[int]:
        """Tree nodes to feed to the draft next round (none ends drafting); ``new`` just joined."""

    def observe(self, tree: TokenTree, path: list[int]) -> None:  # noqa: B027 - optional hook
        """Feedback after verification: ``path`` (node indices) of ``tree`` was accepted."""


class ThresholdPolicy(ExpansionPolicy):
    """A shape from local rules: a node's children count follows the draft's confidence there,
    and whether a node is expanded follows its depth and cumulative probability (linear, fixed
    tree and DynaTree differ only in these two rules)."""

    @abstractmethod
    def branching(self, confidence: float) -> int:
        """Children for a node whose draft distribution has max probability ``confidence``."""

    @abstractmethod
    def expandable(self, depth: int, prob: float) -> bool:
        """Whether a node at ``depth`` with cumulative draft probability ``prob`` gets children."""

    def admit(self, tree: TokenTree, candidates: list[Candidate]) -> list[Candidate]:
        """The top-B(u) candidates of every parent, in feed order, within the node budget."""
        budget = self.max_nodes - (len(tree) - 1)
        chosen: list[Candidate] = []
        keep = 0
        for c in candidates:
            if c.rank == 0:
                keep = self.branching(c.q)
            if c.rank < keep:
                if len(chosen) == budget:
                    break
                chosen.append(c)
        return chosen

    def expand(self, tree: TokenTree, new: list[int]) -> list[int]:
        if len(tree) - 1 >= self.max_nodes:
            return []
        return [n for n in new if self.expandable(tree.depths[n], tree.probs[n])]


class TreeDrafter:
    """Owns the draft model's runner and cache; builds one :class:`TokenTree` per iteration."""

    def __init__(self, draft: Any, policy: ExpansionPolicy, regime: Regime = EAGER) -> None:
        self.policy = policy
        # a level feeds at most max_nodes nodes, a catch-up at most 2 tokens (an accepted leaf
        # that was never fed, and the bonus token); a tree's levels all write before a commit
        head, largest = top_k_head(policy.max_branching), max(policy.max_nodes, 2)
        self.runner = ModelRunner(draft, head, largest, regime, levels=True)
        self.device = self.runner.device
        self.cached = 0  # committed tokens whose entries are in the cache
        self.fed: list[int] = []  # tree nodes in the cache after the committed ones, in order

    def start(self, committed: int) -> None:
        """Empty the cache for a prompt that commits at most ``committed`` tokens."""
        self.runner.start(committed)
        self.cached, self.fed = 0, []

    def prefill(self, prompt: list[int]) -> None:
        """Fill the draft cache with the prompt (nothing is left pending)."""
        self.runner.prefill(prompt)
        self.cached = len(prompt)

    def _top(self, out: Any, first: int, end: int) -> tuple[list[list[float]], list[list[int]]]:
        """Rows ``first`` to ``end`` of the head's top-k on the host, each cut to the policy's
        branching (the head may compute more: runner.top_k_head)."""
        k = self.policy.max_branching
        probs, ids = host_rows(out, end)
        return [row[:k] for row in probs[first:]], [row[:k] for row in ids[first:]]

    def draft_tree(self, committed: list[int], max_depth: int) -> TokenTree:
        """Catch the cache up with ``committed`` (ending with the root), then grow the tree.

        No node is deeper than ``max_depth`` (0: the tree is the root alone).
        """
        pending = committed[self.cached :]
        n = len(pending)
        causal = torch.ones(n, n, dtype=torch.bool, device=self.device).tril_()
        out = self.runner.forward(pending, list(range(self.cached, len(committed))), causal)
        self.runner.keep(list(range(n)))
        self.cached = len(committed)
        self.fed = []
        tree = TokenTree.with_root(
            committed[-1], self.policy.max_nodes, self.device, root_position=len(committed) - 1
        )
        tree.draft_widths.append(n)
        frontier = [0]
        top_probs, top_ids = self._top(out, n - 1, n)
        while True:
            candidates = [
                Candidate(node, token, q, rank)
                for node, row_p, row_i in zip(frontier, top_probs, top_ids, strict=True)
                if tree.depths[node] < max_depth
                for rank, (q, token) in enumerate(zip(row_p, row_i, strict=True))
            ]
            chosen = self.policy.admit(tree, candidates)
            new = tree.add_level(
                [c.parent for c in chosen],
                [c.token for c in chosen],
                [tree.probs[c.parent] * c.q for c in chosen],
            )
            expand = [n for n in self.policy.expand(tree, new) if tree.depths[n] < max_depth]
            if not expand:
                return tree
            top_probs, top_ids = self.feed_level(tree, expand)
            tree.draft_widths.append(len(expand))
            frontier = expand

    def feed_level(
        self, tree: TokenTree, expand: list[int]
    ) -> tuple[list[list[float]], list[list[int]]]:
        """One batched draft forward over the nodes ``expand``; their top-k on the host.

        Each node attends to the committed prefix, the nodes fed earlier that are its ancestors,
        and itself. The cost profile (``dynatree.decoding.profiling``) times exactly this call.
        """
        columns = self.fed + expand
        rows_t = torch.tensor(expand, device=self.device)
        cols_t = torch.tensor(columns, device=self.device)
        allowed = tree.ancestors[rows_t][:, cols_t]
        tokens = [tree.tokens[i] for i in expand]
        out = self.runner.forward(tokens, tree.positions(expand), allowed)
        self.fed = columns
        return self._top(out, 0, len(expand))

    def commit(self, path: list[int]) -> None:
        """Keep the cache entries of the accepted path (those fed to the draft), drop the rest."""
        slot = {node: i for i, node in enumerate(self.fed)}
        keep: list[int] = []
        for node in path:
            if node not in slot:
                break  # an accepted leaf was never fed; it is caught up next iteration
            keep.append(slot[node])
        self.runner.keep(keep)
        self.cached += len(keep)
        self.fed = []
