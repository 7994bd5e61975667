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
from dynatree.aggregate.table import build_table, prompt_parts, prompt_speedups, read_tables
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


def test_the_part_that_timed_each_prompt_is_kept_for_comparisons(suite, tmp_path):
    whole = build_table("main", suite["main"])
    assert all(set(prompt_parts(row).values()) == {1} for _, row in whole.iterrows())
    merged = json.loads(Path(suite["main"][0]).read_text())
    measured = [r for r in merged["rows"] if not r["warmup"]]
    for i, r in enumerate(measured):
        r["part"] = 1 + i * 2 // len(measured)  # two parts, as dynatree.bench.parts.merge marks
    copy = tmp_path / "merged.json"
    copy.write_text(json.dumps(merged))
    ar = [p for p in suite["main"] if "-ar-" in p and merged["tags"]["dataset"] in p]
    row = build_table("main", [str(copy), *ar]).set_index("method").loc[merged["method"]]
    assert prompt_parts(row) == {r["prompt_id"]: r["part"] for r in measured}


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


def _lose(doc: dict) -> None:
    """A result that lost its last measured row (a copy or an edit cut short)."""
    doc["rows"].pop()


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (_lose, r"3 rows, but protocol.n_prompts is 4; the file is incomplete or edited"),
        (lambda d: d["protocol"].update(n_prompts=3), r"4 rows, but protocol.n_prompts is 3"),
        (lambda d: d["summary"].update(n=2), r"3 measured rows, but summary.n is 2"),
        (
            lambda d: d["rows"][2].update(prompt_id=d["rows"][1]["prompt_id"]),
            "prompt .* has two rows",
        ),
        (lambda d: d["rows"].reverse(), "a warm-up row after a measured one"),
        (lambda d: d["rows"][1].update(tps="fast"), r"rows\[1\]\.tps: 'fast' is not of type"),
        (lambda d: d["rows"][1].update(tps=0), r"rows\[1\]\.tps: 0 is less than or equal"),
        (lambda d: d["summary"].update(tps_mean=None), r"summary\.tps_mean: None"),
        (lambda d: d["summary"].update(ttft_s_mean="1"), r"summary\.ttft_s_mean: '1'"),
        (lambda d: d["rows"][0].pop("warmup"), r"rows\[0\]\.warmup: missing"),
        (lambda d: d.update(rows=[]), r"rows: \[\] should be non-empty"),
        (lambda d: d.update(method="magic"), r"method: 'magic' is not allowed"),
    ],
)
def test_a_result_that_is_not_whole_is_refused_naming_the_field(suite, tmp_path, edit, message):
    doc = json.loads(Path(suite["main"][0]).read_text())
    edit(doc)
    path = tmp_path / "spoiled.json"
    path.write_text(json.dumps(doc))
    with pytest.raises(UsageError, match=rf"--inputs {path}: {message}"):
        build_table("main", [str(path)])


def test_nan_in_a_result_is_refused_naming_the_key(suite, tmp_path):
    text = Path(suite["main"][0]).read_text()
    path = tmp_path / "nan.json"
    path.write_text(text.replace('"tps_mean": ', '"tps_mean": NaN, "was": ', 1))
    with pytest.raises(UsageError, match="summary.tps_mean: NaN where a number belongs"):
        build_table("main", [str(path)])


@pytest.fixture(scope="module")
def table_csv(suite, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("table") / "main.csv"
    assert run(["aggregate", "table", "--experiment", "main", "--inputs", *suite["main"],
                "--out", str(out)]) == 0  # fmt: skip
    return out


def test_a_table_says_how_many_rows_it_has_in_its_last_column(table_csv):
    frame = pd.read_csv(table_csv)
    assert frame.columns[-1] == "table_rows"
    assert (frame["table_rows"] == len(frame)).all()
    assert len(read_tables([str(table_csv)])) == len(frame)


def _lines(path: Path, keep: slice) -> str:
    return "".join(path.read_text().splitlines(keepends=True)[keep])


@pytest.mark.parametrize(
    ("spoil", "message"),
    [
        (lambda p: "", "empty file"),
        (lambda p: _lines(p, slice(0, 1)), r"no rows \(a header alone\)"),
        (lambda p: _lines(p, slice(0, -2)), r"\d+ rows where table_rows says \d+; the table is"),
        (lambda p: p.read_text()[:-40], r"row \d+ is cut short \(no table_rows\)"),
        (lambda p: p.read_text().replace("\nmain,", "\n,", 1), "row 2: experiment is empty"),
        (lambda p: b"experiment,\xff\xfe\n", "not a readable CSV"),
    ],
    ids=["empty", "header", "lost rows", "cut in a line", "empty cell", "not UTF-8"],
)
def test_a_table_that_is_not_whole_is_refused(table_csv, tmp_path, spoil, message):
    bad = tmp_path / "main.csv"
    text = spoil(table_csv)
    bad.write_bytes(text if isinstance(text, bytes) else text.encode())
    with pytest.raises(UsageError, match=rf"--tables {bad}: {message}"):
        read_tables([str(bad)])


@pytest.mark.parametrize(
    ("column", "value", "message"),
    [
        ("tps_mean", "fast", "tps_mean 'fast' is not a positive finite number"),
        ("tps_mean", "0", "tps_mean 0.0 is not a positive finite number"),
        ("speedup", "inf", "speedup inf is not a finite number"),
        ("n_wrong", "none", "n_wrong 'none' is not a finite number"),
        ("max_new_tokens", "1e999", "max_new_tokens inf is not a finite number"),
    ],
)
def test_a_number_that_is_not_a_number_is_refused(table_csv, tmp_path, column, value, message):
    frame = pd.read_csv(table_csv)
    frame[column] = frame[column].astype(object)
    frame.loc[3, column] = value
    bad = tmp_path / "main.csv"
    frame.to_csv(bad, index=False)
    with pytest.raises(UsageError, match=rf"--tables {bad}: row 5: {message}"):
        read_tables([str(bad)])
