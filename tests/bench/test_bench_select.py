"""`dynatree select`: a sweep's settings raced over rounds; the winner, or a declared tie and the
rule that resolved it; exact settings only. All results here are made up."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dynatree.bench.selection import PREDICTED_WITHIN, TIE_WITHIN, describe, race
from dynatree.errors import UsageError

PROTOCOL = {"prompts_sha256": "abc", "max_new_tokens": 8, "device": "cpu", "dtype": "float32"}


def result(
    tmp_path: Path,
    name: str,
    tps: float,
    exact: list,
    method="fixed_tree",
    paired: list | None = None,
    params: dict | None = None,
    part: str | None = None,
    first_prompt: int = 0,
    **proto,
):
    """A result with one row per ``exact`` flag; ``paired``: per-row paired speedups; with
    ``part`` a racing round of setting ``name`` (its prompts numbered from ``first_prompt``)."""
    rate = None if None in exact else sum(exact) / len(exact)
    rows = [{"prompt_id": f"p{first_prompt + i}", "warmup": False, "exact_match": e, "tps": tps}
            for i, e in enumerate(exact)]  # fmt: skip
    summary = {"tps_mean": tps, "exact_match_rate": rate, "paired_speedup_mean": None}
    if paired is not None:
        for row, speedup in zip(rows, paired, strict=True):
            row["paired_speedup"] = speedup
        summary["paired_speedup_mean"] = sum(paired) / len(paired)
    obj = {
        "schema": "dynatree.bench/1",
        "method": method,
        "params": params or {"D": int(tps)},
        "tags": {"setting": name} if part else {},
        "protocol": {**PROTOCOL, **({"part": part} if part else {}), **proto},
        "rows": rows,
        "summary": summary,
    }
    path = tmp_path / (f"{name}_{part.replace('/', 'of')}.json" if part else f"{name}.json")
    path.write_text(json.dumps(obj))
    return str(path)


def skip(tmp_path: Path, name: str, part: str) -> str:
    path = tmp_path / f"{name}_{part.replace('/', 'of')}.json"
    doc = {
        "schema": "dynatree.bench-skip/1",
        "method": "fixed_tree",
        "params": {},
        "tags": {"setting": name},
        "protocol": {"part": part},
        "skipped": {"decision": "d"},
    }
    path.write_text(json.dumps(doc))
    return str(path)


def test_one_round_picks_the_fastest_exact(tmp_path):
    paths = [
        result(tmp_path, "slow", 10.0, [True, True]),
        result(tmp_path, "fast_inexact", 30.0, [True, False]),
        result(tmp_path, "no_reference", 40.0, [None, None]),
        result(tmp_path, "fast", 20.0, [True, True]),
    ]
    selected = race(paths)
    assert {k: selected[k] for k in ("method", "params", "source", "tps_mean")} == {
        "method": "fixed_tree", "params": {"D": 20}, "source": paths[3], "tps_mean": 20.0
    }  # fmt: skip
    assert selected["criterion"] == "tps_mean" and selected["score"] == 20.0
    assert (selected["outcome"], selected["tie"], selected["rounds"]) == ("leads", [], 1)
    status = {s["setting"]: (s["status"], s["dropped_round"]) for s in selected["settings"]}
    assert status[paths[0]] == ("dropped", 1)  # significantly behind (every prompt slower)
    assert status[paths[1]] == status[paths[2]] == ("inexact", 1)
    assert "leads significantly after round 1 of 1" in describe(selected)


def test_a_tie_within_noise_goes_to_the_cheaper_tree(tmp_path):
    """The paired speedups say both are level (throughput drifted between the jobs); the tie is
    declared, and the smaller tree (D = 4, B = 2: 30 nodes, against 126) wins it although it is
    not the leader."""
    big = result(tmp_path, "big", 30.0, [True] * 4, paired=[1.55, 1.62, 1.52, 1.61],
                 params={"D": 6, "B": 2})  # fmt: skip
    small = result(tmp_path, "small", 20.0, [True] * 4, paired=[1.60, 1.55, 1.45, 1.63],
                   params={"D": 4, "B": 2})  # fmt: skip
    selected = race([big, small])
    assert selected["criterion"] == "paired_speedup_mean"
    assert (selected["leader"], selected["source"], selected["outcome"]) == (big, small, "tie")
    assert selected["tie"] == [big, small] and selected["rule"] == "cheapest"
    versus = next(s for s in selected["settings"] if s["setting"] == small)
    assert versus["ratio_ci_low"] < 1.0 < versus["ratio_ci_high"]
    assert "wins a tie of" in describe(selected)


def test_a_setting_significantly_but_slightly_behind_stays_in_the_tie(tmp_path):
    """Issue 22: a setting 2 % behind the leader on every prompt is significantly behind, but by
    less than a setting moves between runs (TIE_WITHIN): it stays, and as the cheapest it wins;
    one 10 % behind on every prompt drops."""
    base = [1.50, 1.60, 1.55, 1.58]
    big = result(tmp_path, "big", 20.0, [True] * 4, paired=base, params={"D": 6, "B": 2})
    close = result(tmp_path, "close", 20.0, [True] * 4, paired=[v * 0.98 for v in base],
                   params={"D": 4, "B": 2})  # fmt: skip
    far = result(tmp_path, "far", 20.0, [True] * 4, paired=[v * 0.90 for v in base],
                 params={"D": 2, "B": 2})  # fmt: skip
    selected = race([big, close, far])
    assert selected["tie_within"] == TIE_WITHIN == 0.05
    entries = {s["setting"]: s for s in selected["settings"]}
    assert entries[close]["ratio_ci_high"] < 1.0  # significantly behind ...
    assert entries[close]["status"] == "racing"  # ... yet within the margin
    assert (entries[far]["status"], entries[far]["dropped_round"]) == ("dropped", 1)
    assert (selected["outcome"], selected["tie"]) == ("tie", [big, close])
    assert selected["source"] == close


def with_iterations(path: str, sizes: list, widths: list, accepted: list) -> str:
    """``path``'s rows given the same iterations (what the cost model prices)."""
    doc = json.loads(Path(path).read_text())
    for row in doc["rows"]:
        row.update(prompt_tokens=10, new_tokens=1 + sum(a + 1 for a in accepted), ttft_s=0.01,
                   verify_sizes=sizes, draft_widths=widths, accepted_lengths=accepted)  # fmt: skip
    Path(path).write_text(json.dumps(doc))
    return path


def test_a_tie_goes_to_the_cheapest_of_the_settings_the_profile_predicts_fastest(tmp_path):
    """The cheapest member (D = 2) commits one token per iteration less: predicted slower, it
    does not win the tie although it is cheapest; of the two predicted alike (same iterations),
    the cheaper (D = 4) does. Without a profile the cheapest wins, as before."""
    from dynatree.decoding.cost import SCHEMA, CostProfile

    tie = {"big": (6, [1.55, 1.62, 1.52, 1.61]), "twin": (4, [1.60, 1.55, 1.45, 1.63]),
           "small": (2, [1.58, 1.50, 1.56, 1.60])}  # fmt: skip
    paths = {
        name: result(tmp_path, name, 20.0, [True] * 4, paired=paired, params={"D": d, "B": 2})
        for name, (d, paired) in tie.items()
    }
    for name in ("big", "twin"):
        with_iterations(paths[name], [5, 5], [[1, 2], [1, 2]], [3, 3])
    with_iterations(paths["small"], [3, 3, 3, 3], [[1, 1]] * 4, [1, 1, 1, 1])
    profile = CostProfile({
        "schema": SCHEMA,
        "verify": [{"n": n, "prefix": 0, "median_s": 0.01 + 0.001 * n} for n in (1, 8)],
        "draft_level": [{"width": w, "prefix": 0, "median_s": 0.001 * w} for w in (1, 8)],
        "ar_step": [{"prefix": 0, "median_s": 0.01}],
    })  # fmt: skip
    selected = race(list(paths.values()), profile=profile)
    assert (selected["outcome"], selected["rule"]) == ("tie", "predicted")
    assert selected["source"] == paths["twin"]
    predicted = {s["setting"]: s["predicted_speedup"] for s in selected["settings"]}
    assert predicted[paths["big"]] == predicted[paths["twin"]]
    assert predicted[paths["twin"]] > predicted[paths["small"]] * (1 + PREDICTED_WITHIN)
    assert "predicts" in describe(selected)
    cheapest = race(list(paths.values()))
    assert (cheapest["source"], cheapest["rule"]) == (paths["small"], "cheapest")


def test_a_setting_clearly_ahead_leads(tmp_path):
    a = result(tmp_path, "a", 30.0, [True] * 4, paired=[1.20, 1.22, 1.18, 1.21])
    b = result(tmp_path, "b", 20.0, [True] * 4, paired=[1.55, 1.60, 1.52, 1.61])
    selected = race([a, b])
    assert (selected["source"], selected["outcome"]) == (b, "leads")
    assert race([b])["outcome"] == "leads" and "only setting" in describe(race([b]))


def _round(
    where: Path, index: int, of: int, paired: dict[str, list[float] | None], budget: dict[str, int]
) -> list[str]:
    """Round ``index`` of ``of``: each named setting's result on its 3 new prompts (D = its
    ``budget``), or a skip record where its speedups are None."""
    part = f"{index}/{of}"
    shared = {"part": part, "first_prompt": 3 * (index - 1)}
    made = []
    for name, values in paired.items():
        if values is None:
            made.append(skip(where, name, part))
            continue
        params = {"D": budget[name]}
        made.append(result(where, name, 1, [True] * 3, paired=values, params=params, **shared))
    return made


def test_round_one_never_drops_later_rounds_drop_the_slow(tmp_path):
    """Round 1: c is behind on every prompt, but one process per setting cannot tell a slower
    setting from a slower process: everyone races on. Round 2: c behind again (two processes
    agree) and drops; a and b are level and race on. Round 3 (c skips it) has a ahead, but a
    lead that one of the rounds' processes shows is within what a process's machine state moves
    (each round is a cluster of the bootstrap): a and b tie, and the cheaper b wins."""
    budget = {"a": 5, "b": 4, "c": 6}
    r1 = _round(tmp_path, 1, 3, {"a": [1.50, 1.60, 1.55], "b": [1.58, 1.52, 1.57],
                                 "c": [1.0, 1.02, 0.98]}, budget)  # fmt: skip
    decision = race(r1, (1, 3))
    assert (decision["alive"], decision["decided"]) == (["a", "b", "c"], False)
    behind = next(s for s in decision["settings"] if s["setting"] == "c")
    assert behind["ratio_ci_high"] < 1  # significantly behind, and still racing
    assert "round 1 of 3, still racing: a, b, c" in describe(decision)
    r2 = _round(tmp_path, 2, 3, {"a": [1.55, 1.57, 1.52], "b": [1.53, 1.56, 1.55],
                                 "c": [1.01, 0.99, 1.0]}, budget)  # fmt: skip
    decision = race([*r1, *r2], (2, 3))
    assert (decision["final"], decision["alive"], decision["decided"]) == (False, ["a", "b"], False)
    assert "round 2 of 3, still racing: a, b; out: c (dropped in round 2)" in describe(decision)
    r3 = _round(tmp_path, 3, 3, {"a": [1.9, 2.0, 1.95], "b": [1.50, 1.52, 1.49], "c": None},
                budget)  # fmt: skip
    selected = race([*r1, *r2, *r3])
    assert (selected["setting"], selected["outcome"], selected["rounds_run"]) == ("b", "tie", 3)
    assert selected["tie"] == ["a", "b"] and selected["leader"] == "a"
    entries = {s["setting"]: s for s in selected["settings"]}
    assert (entries["b"]["status"], entries["b"]["dropped_round"]) == ("racing", None)
    assert entries["b"]["ratio_ci_low"] < 1 < entries["b"]["ratio_ci_high"]
    assert entries["a"]["n"] == 9 and entries["c"]["n"] == 6
    assert selected["sources"] == [r1[1], r2[1], r3[1]]
    # a ahead in every round's process: a leads
    both = tmp_path / "both"
    both.mkdir()
    rounds = [
        *_round(both, 1, 3, {"a": [1.62, 1.50, 1.63], "b": [1.58, 1.52, 1.57]}, budget),
        *_round(both, 2, 3, {"a": [1.8, 1.85, 1.9], "b": [1.45, 1.5, 1.48]}, budget),
        *_round(both, 3, 3, {"a": [1.9, 2.0, 1.95], "b": [1.40, 1.41, 1.39]}, budget),
    ]
    assert race(rounds[:2], (1, 3))["alive"] == ["a", "b"]
    selected = race(rounds)
    assert (selected["setting"], selected["outcome"]) == ("a", "leads")


def test_in_two_rounds_only_the_last_can_drop(tmp_path):
    """A sweep in two rounds (the smoke config's): nothing drops after the first, and
    after the second a setting behind in both rounds' processes does."""
    budget = {"a": 5, "b": 4}
    r1 = _round(tmp_path, 1, 2, {"a": [2.0, 2.1, 2.05], "b": [1.0, 1.1, 1.05]}, budget)
    assert race(r1, (1, 2))["alive"] == ["a", "b"]
    r2 = _round(tmp_path, 2, 2, {"a": [2.1, 2.0, 2.05], "b": [1.05, 1.0, 1.1]}, budget)
    selected = race([*r1, *r2])
    assert (selected["setting"], selected["outcome"]) == ("a", "leads")
    assert [s["dropped_round"] for s in selected["settings"]] == [None, 2]


def test_a_decided_race_skips_the_rest_and_stale_inputs_are_refused(tmp_path):
    budget = {"a": 5, "b": 4}
    r1 = _round(tmp_path, 1, 3, {"a": [2.0, 2.1, 2.05], "b": [1.0, 1.1, 1.05]}, budget)
    r2 = _round(tmp_path, 2, 3, {"a": [2.1, 2.0, 2.05], "b": [1.05, 1.0, 1.1]}, budget)
    assert race([*r1, *r2], (2, 3))["decided"] is True  # b is out: a leads, alone
    r3 = _round(tmp_path, 3, 3, {"a": None, "b": None}, budget)
    selected = race([*r1, *r2, *r3])
    assert (selected["setting"], selected["rounds_run"], selected["outcome"]) == ("a", 3, "leads")
    with pytest.raises(UsageError, match="round 3 of b missing"):
        race([*r1, *r2, r3[0]])
    with pytest.raises(UsageError, match="round 1 of a is also"):
        race([r1[0], r1[0]])
    with pytest.raises(UsageError, match=r"--round 1/2: the inputs are a sweep in 3 rounds"):
        race(r1, (1, 2))
    (tmp_path / "stale").mkdir()
    stale = _round(tmp_path / "stale", 2, 3, {"b": None}, budget)  # b was still racing
    with pytest.raises(UsageError, match="b skipped round 2 while still in the race"):
        race([*r1, r2[0], *stale], (2, 3))


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
        race(paths)


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
    assert race(list(paths.values()))["source"] == paths["tie"]
    with pytest.raises(UsageError, match="no setting matches"):
        race([paths["wrong"]])


def test_none_exact(tmp_path):
    paths = [result(tmp_path, "a", 10.0, [False]), result(tmp_path, "b", 9.0, [None])]
    with pytest.raises(UsageError, match="no setting matches"):
        race(paths)


def test_cli_writes_params_file_and_decisions(cli, capsys, tmp_path):
    paths = [result(tmp_path, n, tps, [True] * 2) for n, tps in (("a", 10.0), ("b", 20.0))]
    out = tmp_path / "selected.json"
    assert cli("select", "--inputs", *paths, "--out", out) == 0
    assert json.loads(out.read_text())["source"] == paths[1]
    assert "dynatree select: " in capsys.readouterr().err
    parts = [result(tmp_path, n, 10.0, [True], part="1/2") for n in ("a", "b")]
    assert cli("select", "--inputs", *parts, "--round", "1/2", "--out", out) == 0
    assert json.loads(out.read_text())["alive"] == ["a", "b"]


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
            race(order)
