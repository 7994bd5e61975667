"""Decoder parameters: one frozen dataclass per method, parsed from ``key=value`` strings.

Each field declares its own bound (:func:`at_least`, :func:`open_unit`, :func:`non_negative`,
:func:`positive`, :func:`one_of`; :class:`dynatree.bounds.Bound`: a finite number in a stated
range); the same declaration validates a command-line value here and produces the field's JSON
schema for the pipeline config (:func:`params_schema`), so a bound is written once.
Cross-field rules (``B_min <= B_mid <= B_max``) live in each class's ``check``. Validation happens
before any model is loaded, with a message that names the parameter.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field, fields
from typing import Any

from dynatree.assignments import build
from dynatree.bounds import Bound
from dynatree.errors import UsageError


def at_least(low: int, default: int) -> Any:
    """An integer field ``>= low``."""
    return field(default=default, metadata={"bound": Bound(low=low)})


def non_negative(default: float) -> Any:
    """A real field ``>= 0`` (a gain, a step size)."""
    return field(default=default, metadata={"bound": Bound(low=0)})


def positive(default: float) -> Any:
    """A real field ``> 0`` (a pseudo-count that divides)."""
    return field(default=default, metadata={"bound": Bound(low=0, exclusive=True)})


def open_unit(default: float) -> Any:
    """A probability-like field in the open interval (0, 1)."""
    return field(default=default, metadata={"bound": Bound(low=0.0, high=1.0, exclusive=True)})


def existing_file() -> Any:
    """An optional path (empty by default) that must name an existing file when set."""
    return field(default="", metadata={"bound": Bound(file=True)})


def one_of(default: str, *choices: str) -> Any:
    """A string field taking one of ``choices``."""
    return field(default=default, metadata={"bound": Bound(choices=choices)})


class Params:
    """Base of every parameter dataclass: per-field bounds, then the class's cross-field rules."""

    def validate(self) -> None:
        for f in fields(self):  # type: ignore[arg-type]
            bound = f.metadata.get("bound")
            if bound is not None:
                bound.check(f.name, getattr(self, f.name))
        self.check()

    def check(self) -> None:
        """Rules that relate several fields (none by default)."""


@dataclass(frozen=True)
class ARParams(Params):
    """Plain greedy decoding has no parameters."""


@dataclass(frozen=True)
class LinearParams(Params):
    """K: draft tokens per iteration."""

    K: int = at_least(1, 5)

    @property
    def draft_depth(self) -> int:
        """How deep its drafts can go (the CLI rejects a depth no model's positions can hold)."""
        return self.K

    @property
    def max_branching(self) -> int:
        """Children per node at most: 1 is a chain (what the support check asks of a model)."""
        return 1

    @property
    def draft_budget(self) -> int:
        """The most nodes one iteration drafts: a sweep's tie goes to the smallest (select)."""
        return self.K


@dataclass(frozen=True)
class FixedTreeParams(Params):
    """Static tree: depth D, branching B, cumulative-probability pruning tau, node budget N_max."""

    D: int = at_least(1, 5)
    B: int = at_least(1, 2)
    tau: float = open_unit(0.1)
    N_max: int = at_least(1, 256)

    @property
    def draft_depth(self) -> int:
        """How deep its drafts can go (the CLI rejects a depth no model's positions can hold)."""
        return self.D

    @property
    def max_branching(self) -> int:
        """Children per node at most: 1 is a chain (what the support check asks of a model)."""
        return self.B

    @property
    def draft_budget(self) -> int:
        """The most nodes one iteration drafts (the complete tree, capped by N_max): a sweep's
        tie goes to the smallest (select)."""
        return min(self.N_max, sum(self.B**depth for depth in range(1, self.D + 1)))


@dataclass(frozen=True)
class DynaTreeParams(Params):
    """DynaTree (DESIGN.md §1). Each adaptive component can be switched off for the ablation.

    With ``dynamic_breadth`` off every node gets ``B_mid`` children; with ``dynamic_depth`` off
    a node is expandable iff its depth is below ``D_0`` (a fixed tree of depth D_0); with
    ``history`` off D_0 and tau_h stay at their configured values.
    """

    D_0: int = at_least(1, 5)
    D_max: int = at_least(1, 8)
    B_min: int = at_least(1, 1)
    B_mid: int = at_least(1, 2)
    B_max: int = at_least(1, 3)
    tau_h: float = open_unit(0.9)
    tau_l: float = open_unit(0.4)
    rho_stop: float = open_unit(0.01)
    rho_deep: float = open_unit(0.5)
    tau: float = open_unit(0.05)
    N_max: int = at_least(1, 256)
    W: int = at_least(1, 8)
    a_star: float = open_unit(0.6)
    eta_D: float = non_negative(2.0)
    eta_h: float = non_negative(0.2)
    dynamic_breadth: bool = True
    dynamic_depth: bool = True
    history: bool = True

    @property
    def draft_depth(self) -> int:
        """How deep its drafts can go (the CLI rejects a depth no model's positions can hold)."""
        return self.D_max

    @property
    def max_branching(self) -> int:
        """Children per node at most: 1 is a chain (what the support check asks of a model)."""
        return self.B_max if self.dynamic_breadth else self.B_mid

    def check(self) -> None:
        if not self.B_min <= self.B_mid <= self.B_max:
            raise UsageError(
                f"B_min={self.B_min}, B_mid={self.B_mid}, B_max={self.B_max}: "
                "need B_min <= B_mid <= B_max"
            )
        if self.D_0 >= self.D_max:
            raise UsageError(f"D_0={self.D_0} >= D_max={self.D_max}: need D_0 < D_max")
        if self.tau_l > self.tau_h:
            raise UsageError(f"tau_l={self.tau_l} > tau_h={self.tau_h}: need tau_l <= tau_h")


@dataclass(frozen=True)
class DynaTreeCAParams(Params):
    """DynaTree-CA (DESIGN.md §1b): the tree that maximises predicted tokens per second.

    ``profile`` is a verify-cost profile JSON (``dynatree profile``; the pipeline passes its
    own); empty means one is measured in-process when the decoder is built. ``N_max`` caps the
    tree, ``B_max`` is the candidates discovered per expanded node, ``prior`` the pseudo-counts
    per bin of the calibration map's prior. ``calibrate=false`` ranks nodes by raw draft
    probability; ``priced=false`` verifies a fixed ``budget`` of nodes instead of pricing them.
    The same values serve every dataset and experiment: nothing here is tuned per setting.
    """

    profile: str = existing_file()
    N_max: int = at_least(1, 64)
    B_max: int = at_least(1, 4)
    prior: float = positive(4.0)
    calibrate: bool = True
    priced: bool = True
    budget: int = at_least(1, 16)

    @property
    def max_branching(self) -> int:
        """Candidates per expanded node: 1 is a chain (what the support check asks of a model)."""
        return self.B_max


@dataclass(frozen=True)
class HFAssistedParams(Params):
    """transformers' assisted generation: its own draft-length schedule and confidence cut-off."""

    num_assistant_tokens: int = at_least(1, 20)
    schedule: str = one_of("heuristic", "heuristic", "constant", "heuristic_transient")
    confidence_threshold: float = open_unit(0.4)


def parse_params(cls: type, overrides: dict[str, Any], what: str) -> Any:
    """Build and validate an instance of parameter class ``cls`` from ``overrides``."""
    params = build(cls, overrides, what)
    params.validate()
    return params


def params_schema(cls: type) -> dict[str, Any]:
    """The closed JSON-schema object of ``cls``'s fields (unset fields take the defaults)."""
    properties = {}
    for f in fields(cls):
        bound = f.metadata.get("bound", Bound())
        properties[f.name] = bound.schema(str(f.type))
    return {"type": "object", "additionalProperties": False, "properties": properties}


def params_dict(params: Any) -> dict[str, Any]:
    """The resolved parameters (defaults included) as a JSON-ready dict."""
    return dataclasses.asdict(params)
