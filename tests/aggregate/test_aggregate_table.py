"""`dynatree aggregate table`: one row per result, flattened params, speedup vs the right AR."""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

import pandas as pd
import pytest
from synthetic import SyntheticSuite, write_suite

from dynatree.aggregate import cli
from dynatree.aggregate.table import build_table, prompt_speedups
from dynatree.errors import UsageError


def run(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    cli.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(argv)
    return args.func(args)


@pytest.fixture(scope="module")
def suite(tmp_path_factory):
    return write_suite(tmp_path_factory.mktemp("synthetic-results"))


def test_one_row_per_result_with_flattened_params(suite, tmp_path):
    out = tmp_path / "main.csv"
    assert (
        run(
            [
                "aggregate",
                "table",
                "--experiment",
                "main",
                "--inputs",
                *suite["main"],
                "--out",
                str(out),
            ]
        )
        == 0
    )
    table = pd.read_csv(out)
    assert len(table) == len(suite["main"])
    assert set(table["experiment"]) == {"main"}
    assert set(table["tag_experiment"]) == {"main", "baseline"}
    linear = table[(table["method"] == "linear") & (table["dataset"] == "wikitext")].iloc[0]
    assert linear["param_K"] == 4
    for column in (
        "tps_mean",
        "tps_std",
        "exact_match_rate",
        "git_commit",
        "source",
        "n",
        "max_new_tokens",
        "setting",
        "tag_synthetic",
    ):
        assert column in table.columns


def test_verdict_counts_also_for_results_without_verdicts(suite, tmp_path):
    """Results written before verdicts existed: counted from exact_match (false = wrong)."""
    first, second = [p for p in suite["linear_sweep"] if "-linear-" in p][:2]
    old = json.loads(open(first).read())
    for row in old["rows"]:
        del row["verdict"], row["divergence"]
    old["rows"][1]["exact_match"] = False
    for key in ("n_exact", "n_tie", "n_wrong"):
        del old["summary"][key]
    path = tmp_path / "old.json"
    path.write_text(json.dumps(old))
    ar = [p for p in suite["linear_sweep"] if "-ar-" in p][0]
    table = build_table("linear_sweep", [second, str(path), ar])
    counts = table.set_index("source")[["n_exact", "n_tie", "n_wrong"]]
    assert counts.loc[str(path)].tolist() == [len(old["rows"]) - 1, 0, 1]
    assert counts.loc[second].tolist() == [len(old["rows"]), 0, 0]
    assert counts.loc[ar].isna().all()  # no reference: unchecked


def test_speedup_uses_the_ar_result_on_the_same_prompts_and_length(suite):
    table = build_table("length_scaling", suite["length_scaling"])
    for _, row in table.iterrows():
        ar = table[(table["method"] == "ar") & (table["max_new_tokens"] == row["max_new_tokens"])]
        assert len(ar) == 1
        assert row["ar_source"] == ar.iloc[0]["source"]
        unpaired = row["tps_mean"] / ar.iloc[0]["tps_mean"]
        assert row["speedup_unpaired"] == pytest.approx(unpaired)
        if row["method"] == "ar":
            assert row["speedup"] == 1.0 and not row["speedup_paired"]
            assert math.isnan(row["speedup_ci_low"])
        else:  # the synthetic results are paired: speedup is the job's own paired speedup
            assert row["speedup_paired"]
            assert row["speedup"] == pytest.approx(row["paired_speedup_mean"])
            assert row["speedup_ci_low"] <= row["speedup"] <= row["speedup_ci_high"]


def test_per_prompt_speedups_are_kept_for_comparisons(suite):
    table = build_table("main", suite["main"])
    for _, row in table.iterrows():
        by_prompt = prompt_speedups(row)
        assert len(by_prompt) == row["n"]  # measured prompts only
        assert sum(by_prompt.values()) / len(by_prompt) == pytest.approx(row["speedup"])
    unpaired = json.loads(Path(suite["main"][0]).read_text())
    for r in unpaired["rows"]:
        r["paired_speedup"] = None
    unpaired["summary"]["paired_speedup_mean"] = None
    copy = Path(suite["main"][0]).with_name("unpaired.json")
    copy.write_text(json.dumps(unpaired))
    ar = [p for p in suite["main"] if "-ar-" in p and unpaired["tags"]["dataset"] in p]
    row = build_table("main", [str(copy), *ar]).set_index("method").loc[unpaired["method"]]
    assert not row["speedup_paired"] and math.isnan(row["speedup_ci_low"])
    assert row["speedup"] == row["speedup_unpaired"]
    ar_rows = {r["prompt_id"]: r["tps"] for r in json.loads(Path(ar[0]).read_text())["rows"]}
    expected = {r["prompt_id"]: r["tps"] / ar_rows[r["prompt_id"]] for r in unpaired["rows"][1:]}
    assert prompt_speedups(row) == pytest.approx(expected)


def test_missing_ar_leaves_unpaired_speedup_empty_and_warns(suite, capsys):
    spec = [p for p in suite["main"] if "-ar-" not in p]
    table = build_table("main", spec)
    assert table["speedup_unpaired"].isna().all()
    assert table["speedup"].notna().all()  # paired results carry their own AR
    assert "no AR result" in capsys.readouterr().err


def test_two_ar_results_for_one_key_are_rejected(tmp_path):
    s = SyntheticSuite(tmp_path)
    first = s.result("main", "wikitext", "ar", "ar")
    second = str(tmp_path / "copy.json")
    (tmp_path / "copy.json").write_text((tmp_path / first.split("/")[-1]).read_text())
    with pytest.raises(UsageError, match="both AR results"):
        build_table("main", [first, second])


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "not valid JSON"),
        (json.dumps({"schema": "other"}), "not a benchmark result"),
        (json.dumps({"schema": "dynatree.bench/1", "method": "ar"}), "missing"),
    ],
)
def test_bad_inputs_name_the_file(tmp_path, content, message):
    bad = tmp_path / "bad.json"
    bad.write_text(content)
    with pytest.raises(UsageError, match=message) as err:
        build_table("main", [str(bad)])
    assert str(bad) in str(err.value)


def test_bad_experiment_name_writes_nothing(suite, tmp_path):
    out = tmp_path / "x.csv"
    with pytest.raises(UsageError, match="--experiment"):
        run(
            [
                "aggregate",
                "table",
                "--experiment",
                "a/b",
                "--inputs",
                *suite["main"],
                "--out",
                str(out),
            ]
        )
    assert not out.exists()


def test_nan_free_speedups_for_the_whole_suite(suite):
    for experiment, paths in suite.items():
        table = build_table(experiment, paths)
        assert not any(math.isnan(x) for x in table["speedup"]), experiment
