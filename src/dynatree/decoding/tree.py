"""The draft token tree: nodes in breadth-first order, ancestor matrix, masks and positions.

Node 0 is the root: the last committed token, not yet in either model's cache, at sequence
position ``root_position``. Every other node is a drafted candidate with a parent, a depth
(root = 0), and a cumulative draft probability. The ancestor matrix is grown level by level with
tensor ops, so masks cost no per-node host work. ``draft_widths`` records how many nodes each
draft forward that built the tree fed (its first entry: the catch-up of committed tokens), which
is what drafting the tree cost.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch


@dataclass
class TokenTree:
    """Host-side structure (small: at most N_max + 1 nodes) plus the device ancestor matrix."""

    capacity: int
    device: torch.device
    root_position: int = 0
    tokens: list[int] = field(default_factory=list)
    parents: list[int] = field(default_factory=list)
    depths: list[int] = field(default_factory=list)
    probs: list[float] = field(default_factory=list)
    children: list[dict[int, int]] = field(default_factory=list)
    draft_widths: list[int] = field(default_factory=list)
    ancestors: torch.Tensor = field(init=False)

    def __post_init__(self) -> None:
        # ancestors[i, j]: node j is node i or one of its ancestors.
        self.ancestors = torch.zeros(
            self.capacity, self.capacity, dtype=torch.bool, device=self.device
        )

    @classmethod
    def with_root(
        cls, root_token: int, max_nodes: int, device: torch.device, root_position: int = 0
    ) -> TokenTree:
        tree = cls(capacity=max_nodes + 1, device=device, root_position=root_position)
        tree._append(root_token, -1, 0, 1.0)
        tree.ancestors[0, 0] = True
        return tree

    def __len__(self) -> int:
        return len(self.tokens)

    @property
    def max_depth(self) -> int:
        return max(self.depths)

    def _append(self, token: int, parent: int, depth: int, prob: float) -> int:
        index = len(self.tokens)
        self.tokens.append(token)
        self.parents.append(parent)
        self.depths.append(depth)
        self.probs.append(prob)
        self.children.append({})
        if parent >= 0:
            self.children[parent][token] = index
        return index

    def add_level(self, parents: list[int], tokens: list[int], probs: list[float]) -> list[int]:
        """Append one level of children (same depth) and extend the ancestor matrix."""
        first = len(self.tokens)
        for parent, token, prob in zip(parents, tokens, probs, strict=True):
            self._append(token, parent, self.depths[parent] + 1, prob)
        new = list(range(first, len(self.tokens)))
        if new:
            rows = torch.arange(first, len(self.tokens), device=self.device)
            self.ancestors[rows] = self.ancestors[torch.tensor(parents, device=self.device)]
            self.ancestors[rows, rows] = True
        return new

    def positions(self, nodes: list[int] | None = None) -> list[int]:
        """Positions of ``nodes`` (all by default) = root position + depth: siblings share a
        position, as sequentially."""
        depths = self.depths if nodes is None else [self.depths[i] for i in nodes]
        return [self.root_position + d for d in depths]

    def conditional_prob(self, node: int) -> float:
        """The draft's probability of ``node``'s token given its parent's path."""
        parent = self.probs[self.parents[node]]
        return self.probs[node] / parent if parent > 0 else 0.0

    def accept(self, target_argmax: list[int]) -> list[int]:
        """Longest root-to-node path whose tokens equal the target's greedy choices.

        ``target_argmax[i]`` is the target's argmax after node ``i`` (in its tree context).
        Returns the accepted nodes (root excluded) in path order.
        """
        path: list[int] = []
        node = 0
        while (child := self.children[node].get(target_argmax[node])) is not None:
            path.append(child)
            node = child
        return path
