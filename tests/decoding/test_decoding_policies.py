"""DynaTree's expansion rules and history control, and parameter validation."""

from __future__ import annotations

import pytest

from dynatree.decoding.dynatree import AdaptivePolicy
from dynatree.decoding.fixed_tree import FixedPolicy
from dynatree.decoding.registry import parse_params
from dynatree.errors import UsageError


def policy(**overrides: object) -> AdaptivePolicy:
    return AdaptivePolicy(parse_params("dynatree", {k: str(v) for k, v in overrides.items()}))


def test_breadth_follows_confidence() -> None:
    p = policy(B_min=1, B_mid=2, B_max=4, tau_h=0.8, tau_l=0.3)
    assert p.branching(0.9) == 1
    assert p.branching(0.5) == 2
    assert p.branching(0.1) == 4
    assert policy(dynamic_breadth=False, B_mid=2).branching(0.01) == 2


def test_depth_rules() -> None:
    p = policy(D_0=2, D_max=4, rho_stop=0.05, rho_deep=0.5, tau=0.01)
    assert p.expandable(1, 0.2)  # shallow: only rho_stop applies
    assert not p.expandable(2, 0.4)  # beyond D_0 needs p > rho_deep
    assert p.expandable(3, 0.6)
    assert not p.expandable(4, 0.9)  # D_max is a hard cap
    assert not p.expandable(0, 0.04)  # below rho_stop
    assert not policy(tau=0.3).expandable(0, 0.2)  # pruned
    fixed_depth = policy(dynamic_depth=False, D_0=2, D_max=4)
    assert fixed_depth.expandable(1, 0.06) and not fixed_depth.expandable(2, 0.99)


def test_history_control_moves_toward_target_and_resets() -> None:
    p = policy(D_0=3, D_max=8, a_star=0.5, eta_D=2.0, eta_h=0.5, tau_h=0.8, tau_l=0.2, W=4)
    for _ in range(4):
        p.adapt(accepted=4, depth=4)  # acceptance 1.0 > a*: deeper, fewer branches
    assert p.d0 > 3 and p.tau_h < 0.8
    assert p.d0 <= 7 and p.tau_h >= 0.2
    p.start()
    assert p.d0 == 3 and p.tau_h == 0.8
    off = policy(history=False)
    off.adapt(accepted=0, depth=5)
    assert off.d0 == 5


def test_fixed_policy() -> None:
    p = FixedPolicy(parse_params("fixed_tree", {"D": "3", "B": "2", "tau": "0.1"}))
    assert p.branching(0.99) == 2
    assert p.expandable(2, 0.1) and not p.expandable(3, 1.0) and not p.expandable(0, 0.09)


@pytest.mark.parametrize(
    ("method", "overrides", "named"),
    [
        ("linear", {"K": "0"}, "K"),
        ("dynatree", {"tau_l": "0.95"}, "tau_l"),
        ("dynatree", {"B_min": "4"}, "B_min"),
        ("dynatree", {"D_0": "8"}, "D_0"),
        ("dynatree", {"rho_stop": "1.5"}, "rho_stop"),
        ("fixed_tree", {"tau": "0"}, "tau"),
        ("fixed_tree", {"depth": "3"}, "depth"),
        ("fixed_tree", {"D": "three"}, "D"),
        ("nope", {}, "--method"),
    ],
)
def test_bad_parameters_name_the_parameter(method: str, overrides: dict, named: str) -> None:
    with pytest.raises(UsageError, match=named):
        parse_params(method, overrides)
