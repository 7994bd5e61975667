"""KV-cache surgery for transformers' ``DynamicCache``: keep only the entries of committed tokens.

Verification appends every tree node to the cache; afterwards we keep the prefix plus the accepted
path by index (one gather per layer) instead of cropping and re-running the committed tokens,
which would cost a second target forward per iteration.
"""

from __future__ import annotations

from typing import Any

import torch


def cache_length(cache: Any) -> int:
    """Number of positions held by the cache (0 for an empty one)."""
    return int(cache.get_seq_length()) if cache is not None else 0


def keep_entries(cache: Any, prefix: int, keep: torch.Tensor) -> None:
    """Keep the first ``prefix`` entries, then the entries at offsets ``keep`` after them.

    ``keep`` holds offsets relative to ``prefix`` (in order); everything else is dropped, in
    place, on every layer. Only full-attention dynamic layers are supported: a sliding-window
    layer would also need its own window bookkeeping.
    """
    index = torch.cat([torch.arange(prefix, device=keep.device), keep + prefix])
    for layer in cache.layers:
        if type(layer).__name__ != "DynamicLayer":
            raise TypeError(f"unsupported cache layer {type(layer).__name__}: need DynamicLayer")
        idx = index.to(layer.keys.device)
        layer.keys = layer.keys.index_select(-2, idx)
        layer.values = layer.values.index_select(-2, idx)
