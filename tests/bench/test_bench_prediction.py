"""The cost model's prediction: hand-computed on a linear profile, and carried into the tables."""

from __future__ import annotations

import pytest
from synthetic import write_profile, write_suite

from dynatree.aggregate.numbers import CA_RIVALS, build_numbers
from dynatree.aggregate.table import build_table, read_tables
from dynatree.bench.prediction import ar_time_s, predicted_speedup, tree_time_s
from dynatree.decoding.cost import SCHEMA, CostProfile


def line_profile(per_token: float, per_width: float, **extra: list) -> CostProfile:
    """t(n) = 1 + per_token·(n - 1) and g(w) = 0.1 + per_width·(w - 1), seconds, any cache;
    ``extra`` adds curves (``ar_step``, ``draft_phase``)."""
    sizes = [1, 2, 4, 8, 16]

    def points(key: str, base: float, slope: float) -> list[dict]:
        return [
            {key: n, "prefix": prefix, "median_s": base + slope * (n - 1), "ratio": 0.0}
            for prefix in (1, 1000)
            for n in sizes
        ]

    return CostProfile(
        {
            "schema": SCHEMA,
            "verify": points("n", 1.0, per_token),
            "draft_level": points("width", 0.1, per_width),
            **extra,
        }
    )


def test_times_follow_the_iterations() -> None:
    profile = line_profile(per_token=0.5, per_width=0.0)
    assert ar_time_s(profile, prompt_tokens=5, new_tokens=4, ttft_s=2.0) == pytest.approx(5.0)
    row = {
        "ttft_s": 2.0,
        "prompt_tokens": 5,
        "verify_sizes": [3, 2],  # root + 2 drafted, root + 1
        "draft_widths": [[1, 2], [1]],
        "accepted_lengths": [2, 0],
    }
    # 2 + (t(3) + g(1) + g(2)) + (t(2) + g(1)) = 2 + 2.2 + 1.6
    assert tree_time_s(profile, row) == pytest.approx(5.8)
    assert tree_time_s(profile, {**row, "verify_sizes": []}) is None


def test_ar_is_priced_by_its_own_step_and_drafts_by_their_host_work() -> None:
    """Issue 22: AR's step is not a one-token verification (no mask, no roll-back), and a
    draft phase costs more than its forwards."""
    phases = [  # host work = 0.05 per phase + 0.01 per drafted node, g(w) = 0.1 here
        {"prefix": 10, "rounds": rounds, "nodes": nodes,
         "median_s": 0.1 * len(rounds) + 0.05 + 0.01 * nodes}
        for rounds, nodes in (([1, 1], 2), ([1, 1, 1, 1], 4), ([1, 1, 2], 6), ([1, 2, 4], 14))
    ]  # fmt: skip
    ar = [{"prefix": 1, "median_s": 0.8}, {"prefix": 1001, "median_s": 0.9}]
    profile = line_profile(per_token=0.5, per_width=0.0, ar_step=ar, draft_phase=phases)
    assert profile.ar_step_s(501) == pytest.approx(0.85)
    # 2 + 0.8 per step at prompt 5 (and a little more per later token): not t(1) = 1 s
    assert ar_time_s(profile, prompt_tokens=5, new_tokens=4, ttft_s=2.0) == pytest.approx(
        2.0 + 0.8 * 3 + 0.1 / 1000 * (4 + 5 + 6)
    )
    fit = profile.draft_overhead
    assert fit["per_phase_s"] == pytest.approx(0.05)
    assert fit["per_node_s"] == pytest.approx(0.01)
    assert fit["per_round_s"] == pytest.approx(0.0, abs=1e-12)
    row = {
        "ttft_s": 2.0,
        "prompt_tokens": 5,
        "verify_sizes": [3, 2],
        "draft_widths": [[1, 2], [1]],
        "accepted_lengths": [2, 0],
    }
    # the forwards as before (5.8 s) plus (0.05 + 0.01 × 2) + (0.05 + 0.01 × 1)
    assert tree_time_s(profile, row) == pytest.approx(5.8 + 0.07 + 0.06)


def test_overhead_fit_never_pays_time_back() -> None:
    """A term that fits negative is dropped (host work cannot make a phase cheaper)."""
    phases = [
        {"prefix": 10, "rounds": [1] * r, "nodes": r, "median_s": 0.1 * r + 0.2 - 0.01 * r}
        for r in (2, 4, 8)
    ]
    fit = line_profile(0.0, 0.0, draft_phase=phases).draft_overhead
    assert min(fit.values()) >= 0.0
    assert line_profile(0.0, 0.0).draft_overhead == dict.fromkeys(fit, 0.0)  # none measured


def test_predicted_speedup_is_ar_over_method_on_measured_prompts() -> None:
    profile = line_profile(per_token=0.0, per_width=0.0)  # verification free beyond one token
    chain = {
        "warmup": False,
        "ttft_s": 0.0,
        "prompt_tokens": 5,
        "new_tokens": 9,
        "verify_sizes": [5, 5],  # each commits 4 + 1 tokens
        "draft_widths": [[1, 1, 1, 1], [1, 1, 1, 1]],
        "accepted_lengths": [4, 3],
    }
    warm = {**chain, "warmup": True, "verify_sizes": [1]}
    # AR: 8 steps of 1 s; the chain: 2 × (1 + 4 × 0.1) = 2.8 s
    assert predicted_speedup(profile, {"rows": [warm, chain]}) == pytest.approx(8 / 2.8)
    assert predicted_speedup(profile, {"rows": [{**chain, "verify_sizes": []}]}) is None


def test_at_floor_prices_each_forward_at_its_weight_products() -> None:
    """At the floor a forward of n tokens costs the products with n vectors, whatever the cache,
    AR's step the product with one, and nothing else; the prefill is left out of both sides."""
    curve = [{"n": n, "target_s": t, "draft_s": d} for n, t, d in ((1, 1.0, 0.1), (2, 1.0, 0.1),
                                                                   (4, 2.0, 0.2))]  # fmt: skip
    measured = {
        "schema": SCHEMA,
        "verify": [{"n": 1, "prefix": p, "median_s": 9.0, "ratio": 1} for p in (3, 300)],
        "draft_level": [{"width": 1, "prefix": 3, "median_s": 0.9, "ratio": 1}],
    }
    assert CostProfile(measured).at_floor() is None  # measured before the floor's curve
    floor = CostProfile({**measured, "floor": {"curve": curve}}).at_floor()
    assert floor.verify_s(4, 3) == floor.verify_s(4, 300) == 2.0 and floor.ar_step_s(50) == 1.0
    assert floor.draft_level_s(3, 100) == pytest.approx(0.15)  # between measured widths
    assert floor.draft_overhead_s(3, 7) == 0.0
    row = {
        "warmup": False,
        "ttft_s": 3.0,
        "prompt_tokens": 5,
        "new_tokens": 5,
        "verify_sizes": [4, 2],
        "draft_widths": [[1, 2], [1]],
        "accepted_lengths": [3, 0],
    }
    # AR: 4 steps of 1 s; the method: t(4) + g(1) + g(2) + t(2) + g(1) = 2 + 0.2 + 1 + 0.1
    assert predicted_speedup(floor, {"rows": [row]}, prefill=False) == pytest.approx(4 / 3.3)
    assert predicted_speedup(floor, {"rows": [row]}) == pytest.approx(7 / 6.3)


def test_tables_and_numbers_carry_the_model(tmp_path) -> None:  # type: ignore[no-untyped-def]
    inputs = write_suite(tmp_path / "results")
    profile = write_profile(tmp_path / "profile.json")
    main = build_table("main", inputs["main"], [profile])
    priced = main.dropna(subset=["predicted_speedup"])
    assert set(priced["method"]) == {"linear", "fixed_tree", "dynatree", "dynatree_ca"}
    ratio = priced["speedup"] / priced["predicted_speedup"]
    assert (priced["model_ratio"] - ratio).abs().max() < 1e-9
    assert main.loc[main["method"] == "ar", "predicted_speedup"].isna().all()
    assert build_table("main", inputs["main"])["predicted_speedup"].isna().all()  # no profile
    # the synthetic profile's draft level costs what its verification does (c = 1); at its
    # floor the draft is 0.18 of the target, so the same iterations gain more there
    assert (priced["floor_speedup"] > priced["predicted_speedup"]).all()
    assert main.loc[main["method"] == "ar", "floor_speedup"].isna().all()

    path = tmp_path / "main.csv"
    main.to_csv(path, index=False)
    numbers = build_numbers(read_tables([str(path)]), [str(path)], profiles=[profile])["numbers"]
    assert numbers["main.priced_methods"]["value"] == [
        "linear",
        "fixed_tree",
        "dynatree",
        "dynatree_ca",
    ]
    low, high = numbers["main.model_ratio_min"]["value"], numbers["main.model_ratio_max"]["value"]
    assert low == pytest.approx(ratio.min()) and high == pytest.approx(ratio.max())
    assert numbers["main.wikitext.dynatree_ca.best_rival"]["value"] in CA_RIVALS
    assert numbers["cost.t_ratio.n257"]["value"] == pytest.approx(1 + 0.06 * 256)
    at_floor = priced.loc[priced["method"] == "dynatree_ca"].iloc[0]
    key = f"main.{at_floor['dataset']}.dynatree_ca.floor_speedup"
    assert numbers[key]["value"] == pytest.approx(at_floor["floor_speedup"])
