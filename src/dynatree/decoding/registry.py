"""Every decoding method, declared once: everything else derives from :data:`METHODS`.

An entry names the method's parameter class, its decoder class (imported on demand, so parsing
parameters never loads torch), whether it needs a draft model, whether it runs on the shared tree
machinery, and how it is shown (label, colour, marker). The config schema's method enums and
parameter definitions, the CLI's choices, the figures' palette and the paper's labels are all
computed from this table; tests/decoding/test_decoding_registry.py checks that they agree.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dynatree.decoding import params as P
from dynatree.decoding.support import CHAIN, TREE
from dynatree.errors import UsageError

if TYPE_CHECKING:  # the registry never imports torch: parsing and planning stay fast
    from dynatree.decoding.base import Decoder
    from dynatree.decoding.regime import Regime


@dataclass(frozen=True)
class Method:
    """One decoding method and how every stage refers to it."""

    name: str
    label: str  # as printed in tables, prose and legends
    params: type  # its frozen parameter dataclass (dynatree.decoding.params)
    decoder: str  # "module:Class" of its Decoder
    needs_draft: bool
    uses_tree: bool  # built on the shared draft→verify→accept loop (speculative.py)
    color: str
    marker: str
    compiles: bool = True  # runs its models through decoding.runner (eager or compiled)

    @property
    def module(self) -> str:
        return self.decoder.split(":")[0]


METHODS: dict[str, Method] = {
    m.name: m
    for m in (
        Method(
            "ar", "AR", P.ARParams, "dynatree.decoding.ar:ARDecoder", False, False, "#7f7f7f", "o"
        ),
        Method(
            "linear",
            "Linear SD",
            P.LinearParams,
            "dynatree.decoding.linear:LinearDecoder",
            True,
            True,
            "#1f77b4",
            "s",
        ),
        Method(
            "fixed_tree",
            "Fixed tree",
            P.FixedTreeParams,
            "dynatree.decoding.fixed_tree:FixedTreeDecoder",
            True,
            True,
            "#ff7f0e",
            "^",
        ),
        Method(
            "dynatree",
            "DynaTree",
            P.DynaTreeParams,
            "dynatree.decoding.dynatree:DynaTreeDecoder",
            True,
            True,
            "#d62728",
            "D",
        ),
        Method(
            "dynatree_ca",
            "DynaTree-CA",
            P.DynaTreeCAParams,
            "dynatree.decoding.dynatree_ca:DynaTreeCADecoder",
            True,
            True,
            "#9467bd",
            "P",
        ),
        Method(
            "hf_assisted",
            "HF assisted",
            P.HFAssistedParams,
            "dynatree.decoding.hf_assisted:HFAssistedDecoder",
            True,
            False,
            "#2ca02c",
            "v",
            compiles=False,  # transformers' own generate and cache
        ),
    )
}

# Modules every decoder depends on besides its own, and those of the shared tree loop.
_SHARED = ("dynatree.decoding.base", "dynatree.decoding.params")
_RUNNER = ("dynatree.decoding.kv", "dynatree.decoding.regime", "dynatree.decoding.runner")
_TREE = (
    "dynatree.decoding.tree",
    "dynatree.decoding.drafting",
    "dynatree.decoding.speculative",
)


def method(name: str, flag: str = "--method") -> Method:
    """The registry entry of ``name``; an unknown name is a usage error listing the valid ones."""
    if name not in METHODS:
        raise UsageError(f"{flag} {name!r}: unknown method; choose one of {', '.join(METHODS)}")
    return METHODS[name]


def needs_draft(name: str) -> bool:
    return method(name).needs_draft


def uses_profile(name: str) -> bool:
    """Whether the method prices its trees with a verify-cost profile (its ``profile`` setting)."""
    return any(f.name == "profile" for f in fields(method(name).params))


def required(name: str, params: Any) -> str | None:
    """What ``name`` with ``params`` needs of a model (dynatree.decoding.support): ``tree``,
    ``chain``, or None (the method only runs the model's own causal forward)."""
    if not method(name).uses_tree:
        return None
    return CHAIN if params.max_branching == 1 else TREE


def parse_params(name: str, overrides: dict[str, Any]) -> Any:
    """Build and validate the parameter dataclass of method ``name`` from ``overrides``."""
    return P.parse_params(method(name).params, overrides, f"parameter for {name}")


def decoder_source_files(name: str) -> list[Path]:
    """Source files whose change must rerun ``name``'s benchmark jobs (pipeline inputs)."""
    entry = method(name)
    modules = [
        *_SHARED,
        entry.module,
        *(_RUNNER if entry.compiles else ()),
        *(_TREE if entry.uses_tree else ()),
    ]
    root = Path(__file__).resolve().parents[1]
    paths = [root.joinpath(*m.split(".")[1:]).with_suffix(".py") for m in modules]
    return [p for p in dict.fromkeys(paths) if p.exists()]


def check_regime(name: str, compiled: bool, flag: str = "--compile") -> None:
    """Refuse to compile a method whose models do not run through our runners."""
    if compiled and not method(name).compiles:
        raise UsageError(
            f"{flag}: method {name} runs transformers' own generate, which is not compiled here; "
            "run it eager (--compile off)"
        )


def build_decoder(
    name: str, params: Any, target: Any, draft: Any | None = None, regime: Regime | None = None
) -> Decoder:
    """Instantiate ``name``'s decoder with validated ``params`` (see :func:`parse_params`), in
    ``regime`` (eager by default; decoding.regime)."""
    entry = method(name)
    module, cls = entry.decoder.split(":")
    decoder_cls = getattr(importlib.import_module(module), cls)
    extra = {}
    if regime is not None and entry.compiles:
        extra["regime"] = regime
    elif regime is not None:
        check_regime(name, regime.compiled)
    if entry.needs_draft:
        if draft is None:
            raise ValueError(f"method {name} needs a draft model")
        return decoder_cls(target, draft, params, **extra)
    return decoder_cls(target, params, **extra)


def config_schema_defs() -> dict[str, Any]:
    """The config schema's method-dependent definitions (``$defs``), computed from the registry."""
    return {
        "method_name": {"type": "string", "enum": list(METHODS)},
        "method_params": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                name: P.params_schema(m.params) for name, m in METHODS.items() if fields(m.params)
            },
        },
    }


__all__ = [
    "METHODS",
    "Method",
    "build_decoder",
    "check_regime",
    "config_schema_defs",
    "decoder_source_files",
    "method",
    "needs_draft",
    "uses_profile",
    "parse_params",
]
