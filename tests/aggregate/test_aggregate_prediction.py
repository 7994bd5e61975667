"""The cost model's prediction: hand-computed on a linear profile, and carried into the tables."""

from __future__ import annotations

import pytest
from synthetic import write_profile, write_suite

from dynatree.aggregate.numbers import CA_RIVALS, build_numbers
from dynatree.aggregate.prediction import ar_time_s, predicted_speedup, tree_time_s
from dynatree.aggregate.table import build_table, read_tables
from dynatree.decoding.cost import SCHEMA, CostProfile


def line_profile(per_token: float, per_width: float) -> CostProfile:
    """t(n) = 1 + per_token·(n - 1) and g(w) = 0.1 + per_width·(w - 1), seconds, any cache."""
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
