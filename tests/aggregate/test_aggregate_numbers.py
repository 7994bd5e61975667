"""`dynatree aggregate numbers`: each number equals a recomputation from the tables."""

from __future__ import annotations

import argparse
import json

import pandas as pd
import pytest
from synthetic import write_suite

from dynatree.aggregate import cli
from dynatree.errors import UsageError
from dynatree.numbers_file import load_numbers


def run(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    cli.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(argv)
    return args.func(args)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    root = tmp_path_factory.mktemp("numbers")
    suite = write_suite(root / "results")
    tables = []
    for experiment, paths in suite.items():
        out = root / "aggregate" / f"{experiment}.csv"
        run(
            [
                "aggregate",
                "table",
                "--experiment",
                experiment,
                "--inputs",
                *paths,
                "--out",
                str(out),
            ]
        )
        tables.append(str(out))
    report = root / "report.json"
    report.write_text(json.dumps({"target": {"n_layer": 2, "name": "tiny"}, "corpus_tokens": 123}))
    config = root / "config.json"
    config.write_text(json.dumps({"protocol": {"T": 64}, "datasets": ["wikitext", "pg19"]}))
    out = root / "numbers.json"
    run(
        [
            "aggregate",
            "numbers",
            "--tables",
            *tables,
            "--out",
            str(out),
            "--embedded-report",
            str(report),
            "--config",
            str(config),
        ]
    )
    doc = json.loads(out.read_text())
    table = pd.concat([pd.read_csv(t) for t in tables], ignore_index=True)
    return doc, table, suite


def test_layout(built, tmp_path):
    doc, _, _ = built
    assert doc["schema"] == "dynatree.numbers/1"
    for key, entry in doc["numbers"].items():
        assert set(entry) == {"value", "unit", "digits", "sources"}, key
        assert isinstance(entry["sources"], list)
    path = tmp_path / "numbers.json"
    path.write_text(json.dumps(doc))
    assert load_numbers(path) == doc["numbers"]  # what the paper and the claims accept


def test_main_numbers_match_the_table(built):
    doc, table, suite = built
    nums = doc["numbers"]
    main = table[table["experiment"] == "main"]
    for ds in ("wikitext", "pg19"):
        part = main[main["dataset"] == ds].set_index("method")
        dyn, fixed = part.loc["dynatree"], part.loc["fixed_tree"]
        assert nums[f"main.{ds}.dynatree.tps_mean"]["value"] == pytest.approx(dyn["tps_mean"])
        assert nums[f"main.{ds}.dynatree.ttft_ms_mean"]["value"] == pytest.approx(
            dyn["ttft_s_mean"] * 1e3
        )
        # Paired: the comparison is the ratio of the two paired speedups, not of throughputs.
        assert dyn["speedup_paired"] and not part.loc["ar", "speedup_paired"]
        assert dyn["speedup"] == pytest.approx(dyn["paired_speedup_mean"])
        assert dyn["speedup_unpaired"] == pytest.approx(dyn["tps_mean"] / dyn["ar_tps_mean"])
        pct = (dyn["speedup"] / fixed["speedup"] - 1) * 100
        key = f"main.{ds}.dynatree_vs.fixed_tree"
        entry = nums[f"{key}.pct"]
        assert entry["value"] == pytest.approx(pct)
        assert entry["unit"] == "%"
        low, high = nums[f"{key}.pct_ci_low"]["value"], nums[f"{key}.pct_ci_high"]["value"]
        assert low <= pct <= high
        significant = nums[f"{key}.significant"]["value"]
        assert significant == (low > 0 or high < 0)
        verb = nums[f"{key}.verb"]["value"]
        assert verb == (
            "is on par with" if not significant else "improves on" if pct > 0 else "trails"
        )
        assert sorted(entry["sources"]) == sorted([dyn["source"], fixed["source"]])
        speedup = nums[f"main.{ds}.dynatree.speedup"]
        assert speedup["value"] == pytest.approx(dyn["speedup"])
        assert nums[f"main.{ds}.dynatree.speedup_ci_low"]["value"] <= speedup["value"]
        assert nums[f"main.{ds}.dynatree.speedup_ci_high"]["value"] >= speedup["value"]
        assert nums[f"main.{ds}.ar.speedup_ci_low"]["value"] is None  # AR is the reference
        spec = part.drop(index="ar")
        assert nums[f"main.{ds}.best_method"]["value"] == spec["speedup"].idxmax()
        runner_up = spec["speedup"].drop(index=spec["speedup"].idxmax()).idxmax()
        assert nums[f"main.{ds}.runner_up_method"]["value"] == runner_up
        assert f"main.{ds}.best_vs_runner_up.significant" in nums
        assert nums[f"main.{ds}.best.ttft_ms_mean"]["value"] == part["ttft_s_mean"].idxmin()
        assert nums[f"main.{ds}.fixed_tree.param.D"]["value"] == fixed["param_D"]
        assert dyn["source"] in nums[f"main.{ds}.dynatree.tps_mean"]["sources"]
    mem = main.groupby("method")["peak_memory_bytes"].mean() / 2**20
    assert nums["main.memory.dynatree.avg_mib"]["value"] == pytest.approx(mem["dynatree"])
    assert nums["main.memory.dynatree.vs_ar.pct"]["value"] == pytest.approx(
        (mem["dynatree"] / mem["ar"] - 1) * 100
    )


def test_ablation_delta_and_sweeps(built):
    doc, table, _ = built
    nums = doc["numbers"]
    abl = table[(table["experiment"] == "ablation") & (table["method"] != "ar")]
    abl = abl.set_index("tag_variant")
    pct = (abl.loc["history", "speedup"] / abl.loc["fixed", "speedup"] - 1) * 100
    assert nums["ablation.wikitext.history.vs_fixed.pct"]["value"] == pytest.approx(pct)
    assert nums["ablation.wikitext.variants"]["value"] == ["fixed", "breadth_depth", "history"]
    sweep = table[(table["experiment"] == "fixed_tree_sweep") & (table["dataset"] == "wikitext")]
    sweep = sweep[sweep["method"] == "fixed_tree"]
    assert "fixed_tree_sweep.wikitext.best.param.D" not in nums  # the race says: select.*
    assert nums["fixed_tree_sweep.wikitext.speedup_max"]["value"] == pytest.approx(
        sweep["speedup"].max()
    )
    assert nums["fixed_tree_sweep.wikitext.n_settings"]["value"] == len(sweep)
    assert nums["fixed_tree_sweep.wikitext.D_values"]["value"] == [3, 4, 5]
    assert nums["length_scaling.wikitext.T_values"]["value"] == [16, 32, 64]
    assert nums["prompt_length.wikitext.L_values"]["value"] == [100, 200, 300]
    assert nums["sensitivity.wikitext.threshold.n_settings"]["value"] == 5


def test_protocol_provenance_and_exactness(built):
    doc, table, _ = built
    nums = doc["numbers"]
    assert nums["protocol.max_new_tokens"]["value"] == 64
    assert nums["protocol.warmup"]["value"] == 1
    assert nums["protocol.parts"]["value"] == 3  # the main table's jobs, merged from parts
    assert nums["models.target"]["value"] == "synthetic/target"
    assert nums["versions.torch"]["value"] == "2.13.0"
    assert nums["provenance.synthetic"]["value"] is True
    spec = table[table["method"] != "ar"]
    assert nums["exact.all.checked"]["value"] == len(spec)
    assert nums["exact.all.all_exact"]["value"] is True
    assert nums["exact.all.status"]["value"] == "exact"
    assert nums["exact.all.n_exact"]["value"] == spec["n_exact"].sum() > 0
    assert nums["exact.all.n_tie"]["value"] == nums["exact.all.n_wrong"]["value"] == 0
    assert nums["exact.all.wrong_sources"]["value"] == []
    main = spec[(spec["experiment"] == "main") & (spec["method"] == "dynatree")]
    assert nums["exact.main.dynatree.n_exact"]["value"] == main["n_exact"].sum()
    assert nums["exact.tie_eps_multiple"]["value"] == 4
    assert nums["embedded.target.n_layer"]["value"] == 2
    assert nums["config.protocol.T"]["value"] == 64
    assert nums["config.datasets"]["value"] == ["wikitext", "pg19"]


def test_missing_table_is_a_usage_error(tmp_path):
    with pytest.raises(UsageError, match="--tables"):
        run(
            [
                "aggregate",
                "numbers",
                "--tables",
                str(tmp_path / "none.csv"),
                "--out",
                str(tmp_path / "n.json"),
            ]
        )
    assert not (tmp_path / "n.json").exists()


PROMPTS = ("p0", "p1", "p2", "p3", "p4")
BASE = (1.50, 1.52, 1.49, 1.55, 1.47)


@pytest.mark.parametrize(
    ("ours", "verb", "significant"),
    [
        ((1.80, 1.75, 1.86, 1.79, 1.83), "improves on", True),  # clearly separated
        ((1.20, 1.22, 1.18, 1.25, 1.21), "trails", True),
        ((1.58, 1.41, 1.62, 1.44, 1.52), "is on par with", False),  # overlapping
        ((1.5006, 1.5206, 1.4906, 1.5506, 1.4706), "is on par with", False),  # prints as 0.0 %
    ],
)
def test_comparison_verb_needs_a_significant_difference(ours, verb, significant) -> None:
    from dynatree.aggregate.numbers import Numbers

    nb = Numbers()
    nb.add_comparison(
        "x",
        dict(zip(PROMPTS, ours, strict=True)),
        dict(zip(PROMPTS, BASE, strict=True)),
        ["r.json"],
    )
    assert nb.entries["x.verb"]["value"] == verb
    assert nb.entries["x.significant"]["value"] is significant
    low, high = nb.entries["x.pct_ci_low"]["value"], nb.entries["x.pct_ci_high"]["value"]
    assert low <= nb.entries["x.pct"]["value"] <= high
    assert (low > 0 or high < 0) or not significant


def test_a_comparison_of_merged_results_resamples_the_processes_that_timed_them() -> None:
    from dynatree.aggregate.numbers import Numbers

    ids = [f"p{i}" for i in range(9)]
    theirs = dict(zip(ids, [1.50, 1.52, 1.49, 1.51, 1.50, 1.53, 1.48, 1.50, 1.51], strict=True))
    shift = [1.05] * 3 + [0.99] * 3 + [1.07] * 3  # each part's process in its own state
    ours = {p: theirs[p] * s for p, s in zip(ids, shift, strict=True)}
    parts = {p: 1 + i // 3 for i, p in enumerate(ids)}
    nb = Numbers()
    nb.add_comparison("whole", ours, theirs, ["r.json"])
    nb.add_comparison("parts", ours, theirs, ["r.json"], (parts, parts))
    assert nb.entries["whole.verb"]["value"] == "improves on"
    assert nb.entries["parts.verb"]["value"] == "is on par with"
    assert nb.entries["parts.pct"]["value"] == nb.entries["whole.pct"]["value"]


def test_comparison_without_shared_prompts() -> None:
    from dynatree.aggregate.numbers import Numbers

    nb = Numbers()
    nb.add_comparison("x", {"a": 1.5}, {"b": 1.4}, ["r.json"])
    assert nb.entries["x.verb"]["value"] == "cannot be compared with"
    assert nb.entries["x.pct"]["value"] is None


def test_comparison_says_how_many_prompts_its_verdict_needs() -> None:
    """Issue 22: n, the sd of the per-prompt % differences, and the prompts at which a verdict
    on an effect of the measured size repeats (stats.prompts_for_stable_verdict)."""
    import statistics

    from dynatree.aggregate.numbers import Numbers
    from dynatree.bench.stats import prompts_for_stable_verdict

    ours = (1.58, 1.41, 1.62, 1.44, 1.52)
    nb = Numbers()
    base = dict(zip(PROMPTS, BASE, strict=True))
    nb.add_comparison("x", dict(zip(PROMPTS, ours, strict=True)), base, ["r.json"])
    diffs = [(a / b - 1) * 100 for a, b in zip(ours, BASE, strict=True)]
    assert nb.entries["x.n"]["value"] == 5
    assert nb.entries["x.sd_pct"]["value"] == pytest.approx(statistics.stdev(diffs))
    expected = prompts_for_stable_verdict(nb.entries["x.pct"]["value"], statistics.stdev(diffs))
    assert nb.entries["x.n_stable"]["value"] == expected > 5
    nb.add_comparison("y", base, base, ["r.json"])
    assert nb.entries["y.n_stable"]["value"] == 0  # no effect and no spread: on par already


def test_ablation_compares_each_component_with_the_one_before(built):
    doc, _, _ = built
    nums = doc["numbers"]
    assert "ablation.wikitext.history.vs_breadth_depth.verb" in nums
    assert "ablation.wikitext.breadth_depth.vs_fixed.verb" in nums
    assert "ablation.wikitext.breadth_depth.vs_breadth_depth.verb" not in nums
    assert nums["protocol.experiment.ablation.n_measured"]["value"] == 3
    assert nums["protocol.experiment.main.parts"]["value"] == 3
