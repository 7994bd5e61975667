"""Decoder parameters: one frozen dataclass per method, parsed from ``key=value`` strings.

Validation lives here so the CLI rejects a bad setting before any model is loaded, with a
message that names the parameter.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from dynatree.assignments import build
from dynatree.errors import UsageError


def _unit_open(name: str, value: float) -> None:
    if not 0.0 < value < 1.0:
        raise UsageError(f"{name}={value}: must lie in the open interval (0, 1)")


def _at_least(name: str, value: int, low: int) -> None:
    if value < low:
        raise UsageError(f"{name}={value}: must be >= {low}")


@dataclass(frozen=True)
class ARParams:
    """Plain greedy decoding has no parameters."""

    def validate(self) -> None:
        return None


@dataclass(frozen=True)
class LinearParams:
    """K: draft tokens per iteration."""

    K: int = 5

    @property
    def draft_depth(self) -> int:
        """Positions past the committed text a verification can reach (the models must hold)."""
        return self.K

    def validate(self) -> None:
        _at_least("K", self.K, 1)


@dataclass(frozen=True)
class FixedTreeParams:
    """Static tree: depth D, branching B, cumulative-probability pruning tau, node budget N_max."""

    D: int = 5
    B: int = 2
    tau: float = 0.1
    N_max: int = 256

    @property
    def draft_depth(self) -> int:
        """Positions past the committed text a verification can reach (the models must hold)."""
        return self.D

    def validate(self) -> None:
        _at_least("D", self.D, 1)
        _at_least("B", self.B, 1)
        _at_least("N_max", self.N_max, 1)
        _unit_open("tau", self.tau)


@dataclass(frozen=True)
class DynaTreeParams:
    """DynaTree (DESIGN.md §1). Each adaptive component can be switched off for the ablation.

    With ``dynamic_breadth`` off every node gets ``B_mid`` children; with ``dynamic_depth`` off
    a node is expandable iff its depth is below ``D_0`` (a fixed tree of depth D_0); with
    ``history`` off D_0 and tau_h stay at their configured values.
    """

    D_0: int = 5
    D_max: int = 8
    B_min: int = 1
    B_mid: int = 2
    B_max: int = 3
    tau_h: float = 0.9
    tau_l: float = 0.4
    rho_stop: float = 0.01
    rho_deep: float = 0.5
    tau: float = 0.05
    N_max: int = 256
    W: int = 8
    a_star: float = 0.6
    eta_D: float = 2.0
    eta_h: float = 0.2
    dynamic_breadth: bool = True
    dynamic_depth: bool = True
    history: bool = True

    @property
    def draft_depth(self) -> int:
        """Positions past the committed text a verification can reach (the models must hold)."""
        return self.D_max

    def validate(self) -> None:
        for name in ("B_min", "B_mid", "B_max", "D_0", "D_max", "N_max", "W"):
            _at_least(name, getattr(self, name), 1)
        if not self.B_min <= self.B_mid <= self.B_max:
            raise UsageError(
                f"B_min={self.B_min}, B_mid={self.B_mid}, B_max={self.B_max}: "
                "need B_min <= B_mid <= B_max"
            )
        if self.D_0 >= self.D_max:
            raise UsageError(f"D_0={self.D_0} >= D_max={self.D_max}: need D_0 < D_max")
        for name in ("tau_h", "tau_l", "rho_stop", "rho_deep", "tau", "a_star"):
            _unit_open(name, getattr(self, name))
        if self.tau_l > self.tau_h:
            raise UsageError(f"tau_l={self.tau_l} > tau_h={self.tau_h}: need tau_l <= tau_h")
        for name in ("eta_D", "eta_h"):
            if getattr(self, name) < 0:
                raise UsageError(f"{name}={getattr(self, name)}: must be >= 0")


@dataclass(frozen=True)
class HFAssistedParams:
    """transformers' assisted generation: its own draft-length schedule and confidence cut-off."""

    num_assistant_tokens: int = 20
    schedule: str = "heuristic"
    confidence_threshold: float = 0.4

    def validate(self) -> None:
        _at_least("num_assistant_tokens", self.num_assistant_tokens, 1)
        if self.schedule not in ("heuristic", "constant", "heuristic_transient"):
            raise UsageError(
                f"schedule={self.schedule!r}: expected heuristic, constant or heuristic_transient"
            )
        _unit_open("confidence_threshold", self.confidence_threshold)


PARAMS: dict[str, type] = {
    "ar": ARParams,
    "linear": LinearParams,
    "fixed_tree": FixedTreeParams,
    "dynatree": DynaTreeParams,
    "hf_assisted": HFAssistedParams,
}


def parse_params(method: str, overrides: dict[str, Any]) -> Any:
    """Build and validate the parameter dataclass of ``method`` from ``overrides``."""
    if method not in PARAMS:
        raise UsageError(f"--method {method!r}: unknown method; choose one of {', '.join(PARAMS)}")
    params = build(PARAMS[method], overrides, f"parameter for {method}")
    params.validate()
    return params


def params_dict(params: Any) -> dict[str, Any]:
    """The resolved parameters (defaults included) as a JSON-ready dict."""
    return dataclasses.asdict(params)
