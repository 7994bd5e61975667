"""`dynatree stability`: several runs side by side, what changed flagged. The runs are SYNTHETIC
result directories (tests/support/synthetic.py): nothing here is a measurement."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pytest
from synthetic import write_numbers, write_profile, write_selections, write_suite, write_tables

import dynatree.cli
from dynatree.claims.evaluate import evaluate
from dynatree.claims.output import write
from dynatree.claims.spec import load_claims
from dynatree.numbers_file import load_numbers
from dynatree.stability.compare import FIT_BAND, Row, compare, read_run, summary

CLAIMS_FILE = Path(__file__).resolve().parents[2] / "config" / "claims.yaml"


def _run(root: Path, seed: int) -> Path:
    """A finished run's results/ directory: claims.csv, select/<ds>/<method>.json, numbers.json."""
    results = root / "results"
    suite = write_suite(root / "bench", seed=seed)
    profile = write_profile(root / "profile.json")
    tables = write_tables(results / "aggregate", suite, [profile])
    selections = []
    for path in write_selections(root / "flat", suite):
        ds, method = Path(path).stem.split("-")[1:]
        (results / "select" / ds).mkdir(parents=True, exist_ok=True)
        selections.append(str(shutil.copy(path, results / "select" / ds / f"{method}.json")))
    numbers = write_numbers(results / "numbers.json", tables, selections, [profile])
    spec = load_claims(CLAIMS_FILE)
    write(evaluate(spec, load_numbers(numbers)), spec, numbers, results / "claims.csv")
    return results


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("runs")
    return [_run(root / name, seed) for name, seed in (("a", 7), ("b", 7), ("c", 8))]


def test_a_rerun_with_the_same_results_changes_nothing(runs):
    rows = compare([read_run(runs[0], "a"), read_run(runs[1], "b")])
    assert {row.what for row in rows} == {"claim", "selection", "tie", "speedup", "fit"}
    assert not any(row.changed for row in rows if row.what != "fit")
    speedups = [row for row in rows if row.what == "speedup"]
    assert len(speedups) == 10  # 2 datasets × 5 speculative methods
    assert all(row.ratios == [1.0, 1.0] for row in speedups)
    claims = [row for row in rows if row.what == "claim"]
    assert len(claims) == 23 and claims[0].key == "table1.wikitext.ar_tps"


def test_what_differs_is_flagged(runs):
    a, c = read_run(runs[0], "a"), read_run(runs[2], "c")
    rows = compare([a, c], tolerance=0.01)
    for row in rows:
        if row.what == "speedup":
            assert row.changed == any(abs(r - 1) > 0.01 for r in row.ratios)
            assert row.change.startswith("c/a ")
        else:
            assert row.changed == (len(set(row.values)) > 1)
    assert any(row.changed for row in rows if row.what == "speedup")  # another seed moves them
    key = "wikitext/fixed_tree"
    chosen = next(row for row in rows if (row.what, row.key) == ("selection", key))
    assert chosen.values == [a.selections[key]["setting"], c.selections[key]["setting"]]


def test_measured_over_predicted_is_shown_per_run_and_flagged_outside_the_band(runs):
    a, c = read_run(runs[0], "a"), read_run(runs[2], "c")
    fits = [row for row in compare([a, c]) if row.what == "fit"]
    # the tree methods the profile prices, on both datasets; AR and transformers' not
    assert {row.key.split("/")[1] for row in fits} == {
        "linear",
        "fixed_tree",
        "dynatree",
        "dynatree_ca",
    }
    low, high = FIT_BAND
    for row in fits:
        values = [a.fits[row.key], c.fits[row.key]]
        assert row.values == [f"{v:.2f}" for v in values]
        assert row.changed == any(not low <= v <= high for v in values)


def test_cli_writes_csv_and_markdown(runs, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(dynatree.cli, "_STAGES", ("dynatree.stability.cli",))
    out = tmp_path / "stability.csv"
    argv = ["stability", "--runs", *map(str, runs), "--labels", "a", "b", "c", "--out", str(out)]
    assert dynatree.cli.main(argv) == 0
    with out.open(newline="") as handle:
        table = list(csv.DictReader(handle))
    assert list(table[0]) == ["what", "key", "a", "b", "c", "change", "changed"]
    md = out.with_suffix(".md").read_text()
    assert f"- a: `{runs[0]}`" in md and "| what | key | a | b | c | change |" in md
    assert "claims: " in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "named"),
    [
        (lambda r, o: ["--runs", r[0], "--out", o], "at least two"),
        (lambda r, o: ["--runs", r[0], r[0].parent, "--out", o], "no claims.csv"),
        (lambda r, o: ["--runs", *r[:2], "--labels", "x", "--out", o], "--labels"),
        (lambda r, o: ["--runs", *r[:2], "--tolerance", "5", "--out", o], "--tolerance 5"),
        (lambda r, o: ["--runs", *r[:2], "--out", o.with_suffix(".txt")], "name the CSV"),
    ],
)
def test_bad_inputs_are_one_line_and_write_nothing(
    runs, tmp_path, capsys, monkeypatch, argv, named
):
    monkeypatch.setattr(dynatree.cli, "_STAGES", ("dynatree.stability.cli",))
    out = tmp_path / "s.csv"
    assert dynatree.cli.main(["stability", *map(str, argv(runs, out))]) == 2
    err = capsys.readouterr().err.strip()
    assert named in err and len(err.splitlines()) == 1
    assert not out.exists() and not out.with_suffix(".md").exists()


def test_a_sweep_repeats_when_its_setting_or_its_declared_tie_does():
    """Another member of the same declared tie is a repeat; another tie with the same setting
    too; both changed is not."""
    rows = [
        Row("selection", "w/linear", ["K4", "K2"], changed=True),
        Row("tie", "w/linear", ["K2, K4", "K2, K4"]),
        Row("selection", "p/linear", ["K2", "K2"]),
        Row("tie", "p/linear", ["K2, K4", "K2"], changed=True),
        Row("selection", "p/fixed_tree", ["D4", "D8"], changed=True),
        Row("tie", "p/fixed_tree", ["D4, D8", "D8"], changed=True),
    ]
    lines = summary(rows, 0.05)
    assert "sweeps: 2 of 3 same selected setting or same declared tie" in lines
    assert lines.index("ties: 1 of 3 same declared tie (or a lead) in every run") + 1 == (
        lines.index("sweeps: 2 of 3 same selected setting or same declared tie")
    )
