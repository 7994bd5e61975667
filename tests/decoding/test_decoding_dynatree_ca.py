"""DynaTree-CA: exact like every decoder, chain-like under CPU-like prices, wide under GPU-like.

The cost models here are synthetic (a line t(n) = base + slope·n), so the shape tests do not
depend on the machine: a steep slope is a CPU's verification, a flat one a GPU's.
"""

from __future__ import annotations

import copy

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tiny_models import VOCAB

from dynatree.decoding.calibration import AcceptanceCalibration
from dynatree.decoding.dynatree_ca import DynaTreeCADecoder
from dynatree.decoding.registry import build_decoder, parse_params


class LineCost:
    """t(n) = base + slope·n for verification, a constant per draft round."""

    def __init__(self, slope: float, base: float = 1.0, level: float = 0.1) -> None:
        self.slope, self.base, self.level = slope, base, level

    def verify_s(self, tokens: int, prefix: int) -> float:
        return self.base + self.slope * tokens

    def draft_level_s(self, width: int, prefix: int) -> float:
        return self.level


CPU, GPU = LineCost(slope=0.2), LineCost(slope=0.001)


def ca(target, draft, cost, **overrides):  # type: ignore[no-untyped-def]
    params = parse_params("dynatree_ca", {k: str(v) for k, v in overrides.items()})
    return DynaTreeCADecoder(target, draft, params, cost=cost)


def ar_tokens(target, ids, n):  # type: ignore[no-untyped-def]
    return build_decoder("ar", parse_params("ar", {}), target).generate(ids, n).tokens


@pytest.mark.parametrize(
    "variant", [{}, {"calibrate": "false"}, {"priced": "false", "budget": 5}, {"N_max": 3}]
)
@pytest.mark.parametrize("cost", [CPU, GPU], ids=["cpu", "gpu"])
@settings(
    max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(prompt_len=st.integers(1, 20), seed=st.integers(0, 2**16), new_tokens=st.integers(1, 30))
def test_exact_over_prompts(pair, variant, cost, prompt_len, seed, new_tokens) -> None:  # type: ignore[no-untyped-def]
    target, draft = pair
    ids = torch.randint(0, VOCAB, (1, prompt_len), generator=torch.Generator().manual_seed(seed))
    out = ca(target, draft, cost, **variant).generate(ids, new_tokens)
    assert out.tokens == ar_tokens(target, ids, new_tokens)
    n_max = int(variant.get("N_max", parse_params("dynatree_ca", {}).N_max))
    assert max(out.stats.verify_sizes, default=1) <= n_max + 1


def test_prices_shape_the_tree(pair) -> None:  # type: ignore[no-untyped-def]
    """With a draft that is always right, a CPU's prices give chains, a GPU's wide trees."""
    target, _ = pair
    ids = torch.randint(0, VOCAB, (1, 8), generator=torch.Generator().manual_seed(1))
    shapes = {}
    for name, cost in (("cpu", CPU), ("gpu", GPU)):
        out = ca(target, copy.deepcopy(target), cost).generate(ids, 80)
        assert out.tokens == ar_tokens(target, ids, 80)
        rounds = [w for widths in out.stats.draft_widths for w in widths[1:]]
        sizes = out.stats.verify_sizes
        shapes[name] = (sum(sizes) / len(sizes), max(rounds, default=0), out.stats.iterations)
    (cpu_size, cpu_width, cpu_iters), (gpu_size, gpu_width, gpu_iters) = shapes.values()
    assert cpu_width == 1  # a chain: one node fed per round
    assert gpu_size > 2 * cpu_size and gpu_width > 1
    assert gpu_iters < cpu_iters  # the wide trees commit more per verification


def test_fixed_budget_without_prices(pair) -> None:  # type: ignore[no-untyped-def]
    target, _ = pair
    ids = torch.randint(0, VOCAB, (1, 6), generator=torch.Generator().manual_seed(2))
    out = ca(target, copy.deepcopy(target), CPU, priced="false", budget=6).generate(ids, 60)
    assert out.stats.verify_sizes[0] == 7 and max(out.stats.verify_sizes) == 7


def test_never_drafts_past_the_end(pair) -> None:  # type: ignore[no-untyped-def]
    target, _ = pair
    ids = torch.randint(0, VOCAB, (1, 6), generator=torch.Generator().manual_seed(4))
    out = ca(target, copy.deepcopy(target), GPU).generate(ids, 10)
    assert out.tokens == ar_tokens(target, ids, 10)
    assert out.stats.accepted_tokens + out.stats.iterations + 1 == 10


def test_calibration_starts_calibrated_and_learns() -> None:
    cal = AcceptanceCalibration(weight=4.0)
    assert cal.rate(0.92, top=True) == pytest.approx(0.92)  # the identity before any data
    for _ in range(40):
        cal.observe(0.92, top=True, accepted=False)
    assert cal.rate(0.92, top=True) < 0.1
    assert cal.rate(0.92, top=False) == pytest.approx(0.92)  # other choices are kept apart
    assert cal.top_rate() < 0.1
    # An underconfident draft: its top choices at q ~ 0.3 are always right. A handful of tests
    # in one bin teaches every bin of the class, long before those bins see data of their own.
    cal = AcceptanceCalibration(weight=4.0)
    for _ in range(12):
        cal.observe(0.32, top=True, accepted=True)
    assert cal.rate(0.32, top=True) > 0.9 and cal.rate(0.55, top=True) > 0.7
    assert cal.rate(0.55, top=False) == pytest.approx(0.55)
