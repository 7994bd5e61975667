"""Method name → decoder class, so the harness builds any decoder from a name and parameters."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dynatree.decoding.params import PARAMS, parse_params

if TYPE_CHECKING:  # the interface imports torch; parsing parameters must not
    from dynatree.decoding.base import Decoder

METHODS: tuple[str, ...] = tuple(PARAMS)

# module:class per method; imported on demand so parsing parameters never loads a decoder.
_CLASSES = {
    "ar": "dynatree.decoding.ar:ARDecoder",
    "linear": "dynatree.decoding.linear:LinearDecoder",
    "fixed_tree": "dynatree.decoding.fixed_tree:FixedTreeDecoder",
    "dynatree": "dynatree.decoding.dynatree:DynaTreeDecoder",
    "hf_assisted": "dynatree.decoding.hf_assisted:HFAssistedDecoder",
}

NEEDS_DRAFT: frozenset[str] = frozenset(METHODS) - {"ar"}


# Modules every decoder depends on besides its own (interface, parameters, tree machinery).
_SHARED = ("dynatree.decoding.base", "dynatree.decoding.params")
_TREE = (
    "dynatree.decoding.tree",
    "dynatree.decoding.kv",
    "dynatree.decoding.drafting",
    "dynatree.decoding.speculative",
)


def decoder_source_files(method: str) -> list[Path]:
    """Source files whose change must rerun ``method``'s benchmark jobs (pipeline inputs)."""
    own = _CLASSES[method].split(":")[0]
    modules = [*_SHARED, own]
    if method in ("linear", "fixed_tree", "dynatree"):
        modules += list(_TREE)
    root = Path(__file__).resolve().parents[1]
    paths = [root.joinpath(*m.split(".")[1:]).with_suffix(".py") for m in modules]
    return [p for p in paths if p.exists()]


def build_decoder(method: str, params: Any, target: Any, draft: Any | None = None) -> Decoder:
    """Instantiate ``method``'s decoder with validated ``params`` (see :func:`parse_params`)."""
    module, cls = _CLASSES[method].split(":")
    decoder_cls = getattr(importlib.import_module(module), cls)
    if method in NEEDS_DRAFT:
        if draft is None:
            raise ValueError(f"method {method} needs a draft model")
        return decoder_cls(target, draft, params)
    return decoder_cls(target, params)


__all__ = ["METHODS", "NEEDS_DRAFT", "build_decoder", "decoder_source_files", "parse_params"]
