"""Grow a draft token tree with the draft model: one batched forward per tree level.

The draft keeps its KV cache across iterations. Each level's expandable nodes are fed together
under a tree mask (each node sees the committed prefix, its ancestors and itself), so siblings
never share mutable state. After verification only the accepted path's entries are kept.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

import torch

from dynatree.decoding.kv import keep_entries
from dynatree.decoding.tree import TokenTree, additive_mask


class ExpansionPolicy(ABC):
    """Decides the tree's shape: how many children a node gets and whether it is expanded."""

    #: at most this many drafted nodes per tree (root excluded)
    max_nodes: int
    #: upper bound of :meth:`branching`; the draft's top-k is computed once per level with it
    max_branching: int

    def start(self) -> None:  # noqa: B027 - optional hook
        """Reset per-prompt state (history adaptation) at the start of ``generate``."""

    @abstractmethod
    def branching(self, confidence: float) -> int:
        """Children for a node whose draft distribution has max probability ``confidence``."""

    @abstractmethod
    def expandable(self, depth: int, prob: float) -> bool:
        """Whether a node at ``depth`` with cumulative draft probability ``prob`` gets children."""

    def observe(self, accepted: int, depth: int) -> None:  # noqa: B027 - optional hook
        """Feedback after verification: ``accepted`` of a ``depth``-deep draft were committed."""


class TreeDrafter:
    """Owns the draft model's cache; builds one :class:`TokenTree` per iteration."""

    def __init__(self, draft: Any, policy: ExpansionPolicy) -> None:
        self.draft = draft
        self.policy = policy
        self.device = next(draft.parameters()).device
        self.dtype = next(draft.parameters()).dtype
        self.cache: Any = None
        self.cached = 0  # committed tokens whose entries are in the cache
        self.fed: list[int] = []  # tree nodes in the cache after the committed ones, in order

    def prefill(self, input_ids: torch.Tensor) -> None:
        """Fill the draft cache with the prompt (except nothing is left pending)."""
        out = self.draft(input_ids=input_ids, use_cache=True)
        self.cache = out.past_key_values
        self.cached = input_ids.shape[1]

    def _top(self, logits: torch.Tensor) -> tuple[list[list[float]], list[list[int]]]:
        """Top-k probabilities and tokens per row, moved to the host in one transfer."""
        k = min(self.policy.max_branching, logits.shape[-1])
        probs, ids = torch.softmax(logits.float(), dim=-1).topk(k, dim=-1)
        return probs.tolist(), ids.tolist()

    def draft_tree(self, committed: list[int]) -> TokenTree:
        """Catch the cache up with ``committed`` (ending with the root), then grow the tree."""
        pending = committed[self.cached :]
        positions = torch.arange(self.cached, len(committed), device=self.device)[None]
        out = self.draft(
            input_ids=torch.tensor([pending], device=self.device),
            position_ids=positions,
            past_key_values=self.cache,
            use_cache=True,
        )
        self.cached = len(committed)
        self.fed = []
        root_position = len(committed) - 1
        tree = TokenTree.with_root(committed[-1], self.policy.max_nodes, self.device)
        frontier = [0]
        top_probs, top_ids = self._top(out.logits[0, -1:])
        while True:
            parents, tokens, probs = self._children(tree, frontier, top_probs, top_ids)
            new = tree.add_level(parents, tokens, probs)
            room = len(tree) - 1 < self.policy.max_nodes
            expand = [
                n for n in new if room and self.policy.expandable(tree.depths[n], tree.probs[n])
            ]
            if not expand:
                return tree
            top_probs, top_ids = self.feed_level(tree, expand, root_position)
            frontier = expand

    def feed_level(
        self, tree: TokenTree, expand: list[int], root_position: int
    ) -> tuple[list[list[float]], list[list[int]]]:
        """One batched draft forward over one level's nodes ``expand``; their top-k on the host.

        Each node attends to the committed prefix, the nodes fed earlier that are its ancestors,
        and itself. The cost profile (``dynatree.bench.profile``) times exactly this call.
        """
        columns = self.fed + expand
        rows_t = torch.tensor(expand, device=self.device)
        cols_t = torch.tensor(columns, device=self.device)
        allowed = tree.ancestors[rows_t][:, cols_t]
        out = self.draft(
            input_ids=tree.token_tensor(expand),
            position_ids=tree.position_ids(root_position, expand),
            attention_mask=additive_mask(allowed, self.cached, self.dtype),
            past_key_values=self.cache,
            use_cache=True,
        )
        self.fed = columns
        return self._top(out.logits[0])

    def _children(
        self,
        tree: TokenTree,
        frontier: list[int],
        top_probs: list[list[float]],
        top_ids: list[list[int]],
    ) -> tuple[list[int], list[int], list[float]]:
        """The next level: top-B(u) draft tokens of every frontier node, within the node budget."""
        budget = self.policy.max_nodes - (len(tree) - 1)
        parents: list[int] = []
        tokens: list[int] = []
        probs: list[float] = []
        for node, row_p, row_i in zip(frontier, top_probs, top_ids, strict=True):
            for prob, token in zip(row_p[: self.policy.branching(row_p[0])], row_i, strict=False):
                if len(parents) == budget:
                    return parents, tokens, probs
                parents.append(node)
                tokens.append(token)
                probs.append(tree.probs[node] * prob)
        return parents, tokens, probs

    def commit(self, path: list[int]) -> None:
        """Keep the cache entries of the accepted path (those fed to the draft), drop the rest."""
        slot = {node: i for i, node in enumerate(self.fed)}
        keep: list[int] = []
        for node in path:
            if node not in slot:
                break  # an accepted leaf was never fed; it is caught up next iteration
            keep.append(slot[node])
        keep_entries(
            self.cache, self.cached, torch.tensor(keep, dtype=torch.long, device=self.device)
        )
        self.cached += len(keep)
        self.fed = []
