"""`dynatree select`: the fastest setting exact on every prompt, among one method and protocol."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dynatree.bench.selection import select_best
from dynatree.errors import UsageError

PROTOCOL = {"prompts_sha256": "abc", "max_new_tokens": 8, "device": "cpu", "dtype": "float32"}


def result(tmp_path: Path, name: str, tps: float, exact: list, method="fixed_tree", **proto):
    rate = None if None in exact else sum(exact) / len(exact)
    obj = {
        "schema": "dynatree.bench/1",
        "method": method,
        "params": {"D": int(tps)},
        "protocol": {**PROTOCOL, **proto},
        "rows": [{"exact_match": e} for e in exact],
        "summary": {"tps_mean": tps, "exact_match_rate": rate},
    }
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps(obj))
    return str(path)


def test_picks_fastest_exact(tmp_path):
    paths = [
        result(tmp_path, "slow", 10.0, [True, True]),
        result(tmp_path, "fast_inexact", 30.0, [True, False]),
        result(tmp_path, "no_reference", 40.0, [None, None]),
        result(tmp_path, "fast", 20.0, [True, True]),
    ]
    assert select_best(paths) == {
        "method": "fixed_tree", "params": {"D": 20}, "source": paths[3], "tps_mean": 20.0
    }  # fmt: skip


@pytest.mark.parametrize(
    ("second", "needle"),
    [
        ({"method": "linear"}, "method"),
        ({"max_new_tokens": 16}, "max_new_tokens"),
        ({"prompts_sha256": "other"}, "prompts_sha256"),
    ],
)
def test_rejects_mixed_inputs(tmp_path, second, needle):
    method = second.pop("method", "fixed_tree")
    paths = [
        result(tmp_path, "a", 10.0, [True]),
        result(tmp_path, "b", 20.0, [True], method=method, **second),
    ]
    with pytest.raises(UsageError, match=needle):
        select_best(paths)


def test_ties_qualify_wrong_rows_never(tmp_path):
    """Verdicts decide: a tie is the target's rounding (allowed), a wrong token is a bug."""
    verdicts = {"wrong": ["exact", "wrong"], "tie": ["tie", "exact"], "exact": ["exact"] * 2}
    paths = {}
    for tps, (name, row_verdicts) in zip((30.0, 20.0, 10.0), verdicts.items(), strict=True):
        paths[name] = result(tmp_path, name, tps, [v == "exact" for v in row_verdicts])
        obj = json.loads(Path(paths[name]).read_text())
        for row, verdict in zip(obj["rows"], row_verdicts, strict=True):
            row["verdict"] = verdict
        Path(paths[name]).write_text(json.dumps(obj))
    assert select_best(list(paths.values()))["source"] == paths["tie"]
    with pytest.raises(UsageError, match="no result matches"):
        select_best([paths["wrong"]])


def test_none_exact(tmp_path):
    paths = [result(tmp_path, "a", 10.0, [False]), result(tmp_path, "b", 9.0, [None])]
    with pytest.raises(UsageError, match="no result matches"):
        select_best(paths)


def test_cli_writes_params_file(cli, tmp_path):
    paths = [result(tmp_path, "a", 10.0, [True]), result(tmp_path, "b", 20.0, [True])]
    out = tmp_path / "selected.json"
    assert cli("select", "--inputs", *paths, "--out", out) == 0
    assert json.loads(out.read_text())["source"] == paths[1]


def test_cli_error_writes_nothing(cli, capsys, tmp_path):
    out = tmp_path / "selected.json"
    assert cli("select", "--inputs", str(tmp_path / "missing.json"), "--out", out) == 2
    assert "--inputs" in capsys.readouterr().err
    assert not out.exists()
