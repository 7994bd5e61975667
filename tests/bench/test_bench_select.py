"""`dynatree select`: the fastest setting exact on every prompt, among one method and protocol."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dynatree.bench.selection import describe, select_best
from dynatree.errors import UsageError

PROTOCOL = {"prompts_sha256": "abc", "max_new_tokens": 8, "device": "cpu", "dtype": "float32"}


def result(
    tmp_path: Path,
    name: str,
    tps: float,
    exact: list,
    method="fixed_tree",
    paired: list | None = None,
    **proto,
):
    """A result with one row per ``exact`` flag; ``paired``: per-row paired speedups."""
    rate = None if None in exact else sum(exact) / len(exact)
    rows = [{"prompt_id": f"p{i}", "warmup": False, "exact_match": e, "tps": tps}
            for i, e in enumerate(exact)]  # fmt: skip
    summary = {"tps_mean": tps, "exact_match_rate": rate, "paired_speedup_mean": None}
    if paired is not None:
        for row, speedup in zip(rows, paired, strict=True):
            row["paired_speedup"] = speedup
        summary["paired_speedup_mean"] = sum(paired) / len(paired)
    obj = {
        "schema": "dynatree.bench/1",
        "method": method,
        "params": {"D": int(tps)},
        "protocol": {**PROTOCOL, **proto},
        "rows": rows,
        "summary": summary,
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
    selected = select_best(paths)
    assert {k: selected[k] for k in ("method", "params", "source", "tps_mean")} == {
        "method": "fixed_tree", "params": {"D": 20}, "source": paths[3], "tps_mean": 20.0
    }  # fmt: skip
    assert selected["criterion"] == "tps_mean" and selected["score"] == 20.0
    assert selected["runner_up"]["source"] == paths[0]


def test_paired_speedup_ranks_and_runner_up_within_noise(tmp_path):
    # Throughput drifted between the jobs (a is "faster"), the paired speedups say b is.
    a = result(tmp_path, "a", 30.0, [True] * 4, paired=[1.50, 1.62, 1.41, 1.58])
    b = result(tmp_path, "b", 20.0, [True] * 4, paired=[1.55, 1.60, 1.52, 1.61])
    selected = select_best([a, b])
    assert selected["source"] == b and selected["criterion"] == "paired_speedup_mean"
    runner = selected["runner_up"]
    assert runner["source"] == a and runner["within_noise"] is True
    assert runner["ratio_ci_low"] < 1.0 < runner["ratio_ci_high"]
    assert "WITHIN NOISE" in describe(selected)


def test_runner_up_clearly_behind(tmp_path):
    a = result(tmp_path, "a", 30.0, [True] * 4, paired=[1.20, 1.22, 1.18, 1.21])
    b = result(tmp_path, "b", 20.0, [True] * 4, paired=[1.55, 1.60, 1.52, 1.61])
    selected = select_best([a, b])
    assert selected["source"] == b and selected["runner_up"]["within_noise"] is False
    assert "significantly ahead" in describe(selected)
    alone = select_best([b])
    assert alone["runner_up"] is None and "no runner-up" in describe(alone)


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


def test_cli_writes_params_file(cli, capsys, tmp_path):
    paths = [result(tmp_path, "a", 10.0, [True]), result(tmp_path, "b", 20.0, [True])]
    out = tmp_path / "selected.json"
    assert cli("select", "--inputs", *paths, "--out", out) == 0
    assert json.loads(out.read_text())["source"] == paths[1]
    assert "dynatree select: fixed_tree" in capsys.readouterr().err


def test_cli_error_writes_nothing(cli, capsys, tmp_path):
    out = tmp_path / "selected.json"
    assert cli("select", "--inputs", str(tmp_path / "missing.json"), "--out", out) == 2
    assert "--inputs" in capsys.readouterr().err
    assert not out.exists()


@pytest.mark.parametrize(
    ("spoil", "needle"),
    [
        (lambda t: t.replace('"paired_speedup_mean": 1.5', '"paired_speedup_mean": NaN'), "NaN"),
        (lambda t: t.replace('"paired_speedup": 1.4', '"paired_speedup": Infinity'), "Infinity"),
        (
            lambda t: t.replace('"paired_speedup_mean": 1.5', '"paired_speedup_mean": "1.5"'),
            "'1.5'",
        ),
        (lambda t: t.replace('"paired_speedup_mean": 1.5', '"paired_speedup_mean": 0'), "0"),
    ],
    ids=["NaN mean", "infinite prompt", "string", "zero"],
)
def test_a_speedup_that_is_not_a_positive_number_is_refused(tmp_path, spoil, needle):
    """NaN compares false with everything, so a NaN speedup made the winner depend on the order
    of the inputs; it is refused, naming the file and the field, as is any non-number."""
    good = result(tmp_path, "good", 10.0, [True, True], paired=[1.3, 1.3])
    bad = result(tmp_path, "bad", 10.0, [True, True], paired=[1.6, 1.4])
    Path(bad).write_text(spoil(Path(bad).read_text()))
    for order in ([good, bad], [bad, good]):
        with pytest.raises(UsageError, match=rf"--inputs .*bad\.json: .*paired_speedup.*{needle}"):
            select_best(order)
