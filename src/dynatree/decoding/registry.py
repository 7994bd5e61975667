"""Method name → decoder class, so the harness builds any decoder from a name and parameters."""

from __future__ import annotations

import importlib
from typing import Any

from dynatree.decoding.base import Decoder
from dynatree.decoding.params import PARAMS, parse_params

METHODS: tuple[str, ...] = tuple(PARAMS)

# module:class per method; imported on demand so parsing parameters never loads a decoder.
_CLASSES = {
    "ar": "dynatree.decoding.ar:ARDecoder",
    "linear": "dynatree.decoding.linear:LinearDecoder",
    "fixed_tree": "dynatree.decoding.tree_decoders:FixedTreeDecoder",
    "dynatree": "dynatree.decoding.tree_decoders:DynaTreeDecoder",
    "hf_assisted": "dynatree.decoding.hf_assisted:HFAssistedDecoder",
}

NEEDS_DRAFT: frozenset[str] = frozenset(METHODS) - {"ar"}


def decoder_source_module(method: str) -> str:
    """The module implementing ``method`` (the pipeline hashes its source to trigger reruns)."""
    return _CLASSES[method].split(":")[0]


def build_decoder(method: str, params: Any, target: Any, draft: Any | None = None) -> Decoder:
    """Instantiate the decoder for ``method`` with validated ``params`` (see :func:`parse_params`)."""
    module, cls = _CLASSES[method].split(":")
    decoder_cls = getattr(importlib.import_module(module), cls)
    if method in NEEDS_DRAFT:
        if draft is None:
            raise ValueError(f"method {method} needs a draft model")
        return decoder_cls(target, draft, params)
    return decoder_cls(target, params)


__all__ = ["METHODS", "NEEDS_DRAFT", "build_decoder", "decoder_source_module", "parse_params"]
