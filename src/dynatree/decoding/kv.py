"""The decoders' KV cache: fixed buffers written at explicit slots, compacted in place.

Each attention layer holds keys and values for ``capacity`` slots, allocated once. A forward
writes its tokens at the slots the cache was told to use (:attr:`SlotCache.slots`: after the
committed entries, tree nodes in the order they are fed), never by concatenation; after a
verification the accepted entries are moved next to the committed ones with one ``index_copy_``
per layer, within the same buffers. Nothing is re-allocated while decoding, so the buffers keep
their addresses: a compiled forward (and a CUDA graph) can write into them.

Attention reads a window of the buffers, ``keys[..., :window, :]``, as long as the caller's 4D
additive mask (its last dimension; a symbolic size in a compiled graph): the slots written so
far, or the whole capacity where shapes must be static (CUDA graphs), the slots beyond the
valid entries masked. Rotary and learned positions come from explicit ``position_ids``,
never from the cache length, so a tree node's slot and its position are independent.

Only plain full-attention layers fit: a sliding-window or linear-attention layer keeps its own
bookkeeping (``decoding.support`` refuses such models before decoding starts).
"""

from __future__ import annotations

import functools
from typing import Any

import torch
from transformers.cache_utils import Cache, StaticLayer


class SlotLayer(StaticLayer):
    """A static layer written at its cache's :attr:`SlotCache.slots` and read over its mask's
    window (instead of a running length, as transformers' own)."""

    def __init__(self, cache: SlotCache) -> None:
        super().__init__(max_cache_len=cache.capacity)
        self.cache = cache

    def update(
        self, key_states: torch.Tensor, value_states: torch.Tensor, *args: Any, **kwargs: Any
    ) -> tuple[torch.Tensor, torch.Tensor]:
        if not self.is_initialized:
            self.lazy_initialization(key_states, value_states)
        slots = self.cache.slots
        self.keys.index_copy_(2, slots, key_states)
        self.values.index_copy_(2, slots, value_states)
        window = self.cache.mask.shape[-1]
        return self.keys[:, :, :window], self.values[:, :, :window]

    def get_seq_length(self) -> int:
        return self.cache.length

    def get_mask_sizes(self, query_length: int) -> tuple[int, int]:
        return self.cache.mask.shape[-1], 0


class SlotCache(Cache):
    """One model's cache: ``length`` committed entries at slots ``0 .. length - 1``.

    Layers are created as the model first calls them (one per attention layer, whatever the
    architecture calls its layers). The owner sets :attr:`slots` and :attr:`mask` (the one the
    model is given) before each forward (:class:`dynatree.decoding.runner.ModelRunner` does).
    """

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.length = 0  # committed entries (host-side: reading it never syncs a device)
        self.slots = torch.zeros(0, dtype=torch.long)  # where the next forward writes
        self.mask = torch.zeros(1, 1, 0, 0)  # the next forward's; its width is the window
        super().__init__(layer_class_to_replicate=functools.partial(SlotLayer, self))

    def move(self, source: torch.Tensor, target: torch.Tensor) -> None:
        """Copy the entries at slots ``source`` to slots ``target``, on every layer, in place.

        The sources are gathered first, so overlapping ranges are safe.
        """
        for layer in self.layers:
            for buffer in (layer.keys, layer.values):
                buffer.index_copy_(2, target, buffer.index_select(2, source))
