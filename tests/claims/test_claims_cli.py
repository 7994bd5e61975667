"""`dynatree claims`: the terminal table, the CSV + sidecar, and bad input (SYNTHETIC numbers)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pandas as pd
import pytest
import yaml
from claims_numbers import CLAIMS_FILE, embedded_run

from dynatree.claims.output import COLUMNS, claims_numbers, provenance_path
from dynatree.cli import main
from dynatree.errors import UsageError


@pytest.fixture
def numbers_file(tmp_path: Path) -> Path:
    path = tmp_path / "numbers.json"
    path.write_text(json.dumps({"schema": "dynatree.numbers/1", "numbers": embedded_run()}))
    return path


def test_prints_the_verdict_table_and_writes_csv_with_provenance(numbers_file, tmp_path, capsys):
    out = tmp_path / "results" / "claims.csv"
    argv = ["claims", "--numbers", str(numbers_file), "--claims", str(CLAIMS_FILE)]
    assert main([*argv, "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    header, *lines = printed.splitlines()
    assert header.split() == ["claim", "verdict", "reported", "reproduced"]
    assert lines[0].startswith("table1.wikitext.ar_tps ")
    assert lines[0].index("not comparable") == header.index("verdict")  # aligned columns
    assert "lossless: every output equals AR" in printed
    assert printed.rstrip().endswith("23 claims: 13 holds, 0 does not hold, 10 not comparable")

    table = pd.read_csv(out, keep_default_na=False)
    assert tuple(table.columns) == COLUMNS
    assert len(table) == 23
    side = json.loads(provenance_path(out).read_text())
    assert provenance_path(out).name == "claims.provenance.json"
    assert side["numbers"]["sha256"] == hashlib.sha256(numbers_file.read_bytes()).hexdigest()
    assert side["claims"]["sha256"] == hashlib.sha256(CLAIMS_FILE.read_bytes()).hexdigest()
    assert side["claims"]["version"] == yaml.safe_load(CLAIMS_FILE.read_text())["version"]
    assert side["counts"] == {"n": 23, "n_holds": 13, "n_fails": 0, "n_not_comparable": 10}
    assert {"git_commit", "git_dirty", "created", "command"} <= set(side["provenance"])


def test_without_out_nothing_is_written(numbers_file, tmp_path, capsys):
    argv = ["claims", "--numbers", str(numbers_file), "--claims", str(CLAIMS_FILE)]
    assert main(argv) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["numbers.json"]


def test_claims_numbers_mark_the_originals_values(numbers_file, tmp_path, capsys):
    out = tmp_path / "claims.csv"
    argv = ["claims", "--numbers", str(numbers_file), "--claims", str(CLAIMS_FILE)]
    assert main([*argv, "--out", str(out)]) == 0
    entries = claims_numbers(out)
    assert entries["claims.n"]["value"] == 23
    assert entries["claims.n_not_comparable"]["value"] == 10
    assert entries["claims.fails"]["value"] == []
    reported = entries["claims.table1.wikitext.dynatree_tps.reported"]
    assert reported["value"] == "219.5 tok/s"
    assert reported["sources"] == [str(CLAIMS_FILE)]  # the original's number, from the file
    mine = entries["claims.table1.wikitext.dynatree_vs_fixed_tree.reproduced"]
    assert mine["sources"] == [
        "res/main.wikitext.dynatree.speedup.json",
        "res/main.wikitext.fixed_tree.speedup.json",
    ]


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda d: d["claims"][0].update(check="nearly"), "claims/0/check: 'nearly' is not one of"),
        (lambda d: d["claims"][11].pop("keys"), "'keys' is a required property"),
        (lambda d: d["claims"][0].update(kind="relative"), "'matches' checks absolute claims"),
        (lambda d: d["claims"][0].update(tolerance="tight"), "tolerance 'tight' is not defined"),
        (lambda d: d["claims"][0].update(requires=["gpu"]), "requires 'gpu'"),
        (lambda d: d["claims"][1].update(id=d["claims"][0]["id"]), "duplicate id"),
        (lambda d: d["claims"][0].update(text="speedup \u00d7 1.6"), "claims/0/text"),
        (lambda d: d["original"].pop("main.wikitext.ar.tps_mean"), "has no value under `original`"),
    ],
)
def test_bad_claims_file_exits_2_naming_the_field(numbers_file, tmp_path, capsys, edit, message):
    doc = yaml.safe_load(CLAIMS_FILE.read_text())
    edit(doc)
    bad = tmp_path / "claims.yaml"
    bad.write_text(yaml.safe_dump(doc, allow_unicode=True))
    out = tmp_path / "claims.csv"
    argv = ["claims", "--numbers", str(numbers_file), "--claims", str(bad), "--out", str(out)]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert f"--claims {bad}" in err and message in err
    assert len(err.strip().splitlines()) == 1
    assert not out.exists() and not provenance_path(out).exists()


def test_missing_inputs_exit_2(numbers_file, tmp_path, capsys):
    out = tmp_path / "claims.csv"
    argv = ["claims", "--numbers", str(tmp_path / "nope.json"), "--claims", str(CLAIMS_FILE)]
    assert main([*argv, "--out", str(out)]) == 2
    assert "--numbers" in capsys.readouterr().err
    argv = ["claims", "--numbers", str(numbers_file), "--claims", str(tmp_path / "nope.yaml")]
    assert main([*argv, "--out", str(out)]) == 2
    assert "config/claims.yaml" in capsys.readouterr().err
    (tmp_path / "broken.yaml").write_text("claims: [unclosed\n")
    argv = ["claims", "--numbers", str(numbers_file), "--claims", str(tmp_path / "broken.yaml")]
    assert main(argv) == 2
    assert "not valid YAML" in capsys.readouterr().err
    assert not out.exists()


@pytest.fixture
def table(numbers_file, tmp_path, capsys) -> Path:
    """A whole claims CSV and its sidecar, checked against the repository's claims file."""
    out = tmp_path / "claims.csv"
    argv = ["claims", "--numbers", str(numbers_file), "--claims", str(CLAIMS_FILE)]
    assert main([*argv, "--out", str(out)]) == 0
    capsys.readouterr()
    return out


def _keep(table: Path, lines: slice) -> None:
    table.write_text("".join(table.read_text().splitlines(keepends=True)[lines]))


def _edit_sidecar(table: Path, change) -> None:
    side = json.loads(provenance_path(table).read_text())
    change(side)
    provenance_path(table).write_text(json.dumps(side))


def _drop_first_claim(table: Path) -> None:
    """The first claim's row gone, and the sidecar's counts edited to agree."""
    frame = pd.read_csv(table, keep_default_na=False)
    frame.iloc[1:].to_csv(table, index=False)
    counts = {"holds": "n_holds", "does not hold": "n_fails", "not comparable": "n_not_comparable"}
    gone = counts[frame.iloc[0]["verdict"]]
    _edit_sidecar(table, lambda s: s["counts"].update(n=s["counts"]["n"] - 1))
    _edit_sidecar(table, lambda s: s["counts"].update({gone: s["counts"][gone] - 1}))


@pytest.mark.parametrize(
    ("spoil", "message"),
    [
        (lambda t: _keep(t, slice(0, 8)), "not the table `dynatree claims` wrote"),
        (lambda t: t.write_text(t.read_text()[:-60]), "truncated or edited"),
        (lambda t: t.write_text(t.read_text().replace(",holds,", ",held,", 1)), "verdict 'held'"),
        (lambda t: _edit_sidecar(t, lambda s: s["claims"].update(sha256="0" * 64)), "changed"),
        (lambda t: _edit_sidecar(t, lambda s: s.pop("table_sha256")), "table_sha256: missing"),
        (lambda t: _edit_sidecar(t, lambda s: s["claims"].update(path="gone.yaml")), "at hand"),
        (_drop_first_claim, "the table is truncated or edited"),
    ],
    ids=[
        "lost rows",
        "cut in a line",
        "verdict",
        "claims file changed",
        "sidecar",
        "claims file gone",
        "a claim gone",
    ],  # fmt: skip
)
def test_a_claims_table_that_is_not_whole_is_refused(table, spoil, message):
    """A truncated claims CSV would make the paper say "0 of the 7 claims hold" of a run."""
    spoil(table)
    named = rf"{table.parent}/claims\.(csv|provenance\.json)"  # the table or its sidecar
    with pytest.raises(UsageError, match=rf"--claims {named}: .*{message}"):
        claims_numbers(table)
