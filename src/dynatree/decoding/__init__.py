"""Greedy decoders behind one interface: AR, linear, fixed tree, DynaTree, HF assisted.

The names below are imported on first use (PEP 562), so importing ``dynatree.decoding.params``
(what the CLI and the pipeline's planner need to check a setting) does not import torch.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "DecodeOutput": "dynatree.decoding.base",
    "DecodeStats": "dynatree.decoding.base",
    "Decoder": "dynatree.decoding.base",
    "METHODS": "dynatree.decoding.registry",
    "build_decoder": "dynatree.decoding.registry",
    "parse_params": "dynatree.decoding.registry",
}


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name]), name)


__all__ = list(_EXPORTS)
