"""`dynatree aggregate numbers`: each number equals a recomputation from the tables."""

from __future__ import annotations

import argparse
import json

import pandas as pd
import pytest

from dynatree.aggregate import cli
from dynatree.aggregate.synthetic import write_suite
from dynatree.errors import UsageError


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


def test_layout(built):
    doc, _, _ = built
    assert doc["schema"] == "dynatree.numbers/1"
    for key, entry in doc["numbers"].items():
        assert set(entry) == {"value", "unit", "digits", "sources"}, key
        assert isinstance(entry["sources"], list)


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
        pct = (dyn["tps_mean"] / fixed["tps_mean"] - 1) * 100
        entry = nums[f"main.{ds}.dynatree_vs.fixed_tree.pct"]
        assert entry["value"] == pytest.approx(pct)
        assert entry["unit"] == "%"
        verb = nums[f"main.{ds}.dynatree_vs.fixed_tree.verb"]["value"]
        assert verb == ("improves on" if pct > 0 else "trails")
        assert sorted(entry["sources"]) == sorted([dyn["source"], fixed["source"]])
        spec = part.drop(index="ar")
        assert nums[f"main.{ds}.best_method"]["value"] == spec["tps_mean"].idxmax()
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
    pct = (abl.loc["history", "tps_mean"] / abl.loc["fixed", "tps_mean"] - 1) * 100
    assert nums["ablation.wikitext.history.vs_fixed.pct"]["value"] == pytest.approx(pct)
    assert nums["ablation.wikitext.variants"]["value"] == ["fixed", "breadth_depth", "history"]
    sweep = table[(table["experiment"] == "fixed_tree_sweep") & (table["dataset"] == "wikitext")]
    sweep = sweep[sweep["method"] == "fixed_tree"]
    best = sweep.loc[sweep["tps_mean"].idxmax()]
    assert nums["fixed_tree_sweep.wikitext.best.param.D"]["value"] == best["param_D"]
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


@pytest.mark.parametrize(
    ("ours", "theirs", "verb"),
    [(110.0, 100.0, "improves on"), (90.0, 100.0, "trails"), (100.04, 100.0, "matches")],
)
def test_comparison_verb_agrees_with_the_printed_percentage(ours, theirs, verb) -> None:
    from dynatree.aggregate.numbers import Numbers

    nb = Numbers()
    nb.add_comparison("x", ours, theirs, ["r.json"])
    assert nb.entries["x.verb"]["value"] == verb
