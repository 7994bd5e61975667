"""Jobs timed in parts: which prompts each part decodes, and how parts join into one result."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from dynatree.bench.metrics import NUMERIC_METRICS, summarize
from dynatree.bench.parts import merge, parse_part, part_prompts, racing, skip_record
from dynatree.errors import UsageError


@pytest.mark.parametrize(("n_measured", "parts"), [(1, 1), (2, 2), (7, 1), (7, 3), (30, 3)])
def test_shares_are_contiguous_even_and_cover_each_prompt_once(n_measured, parts):
    prompts = ["warm-up", *range(n_measured)]
    shares = [part_prompts(prompts, 1, i, parts) for i in range(1, parts + 1)]
    assert all(s[0] == "warm-up" for s in shares)
    assert [p for s in shares for p in s[1:]] == list(range(n_measured))
    sizes = [len(s) for s in shares]
    assert max(sizes) - min(sizes) <= 1


def test_a_part_decodes_the_warmup_then_its_share():
    prompts = [f"p{i}" for i in range(9)]  # 2 warm-up + 7 measured: shares of 2, 2, 3
    assert part_prompts(prompts, 2, 1, 3) == ["p0", "p1", "p2", "p3"]
    assert part_prompts(prompts, 2, 2, 3) == ["p0", "p1", "p4", "p5"]
    assert part_prompts(prompts, 2, 3, 3) == ["p0", "p1", "p6", "p7", "p8"]


def test_more_parts_than_measured_prompts_is_refused():
    with pytest.raises(UsageError, match="more parts than the 2 measured prompts"):
        part_prompts(["w", "a", "b"], 1, 1, 3)


@pytest.mark.parametrize("text", ["3", "0/2", "3/2", "a/b", "1/", "/2", "-1/2"])
def test_bad_part_is_one_line_naming_the_option(text):
    with pytest.raises(UsageError, match=r"--part .*expected I/K"):
        parse_part(text)


def _row(prompt: str, warmup: bool, speedup: float) -> dict[str, Any]:
    return {
        **dict.fromkeys(NUMERIC_METRICS, 1.0),
        "prompt_id": prompt,
        "warmup": warmup,
        "tps": 100.0 * speedup,
        "paired_speedup": speedup,
        "exact_match": True,
        "verdict": "exact",
    }


def _part(index: int, parts: int, prompts: list[str], cpu: str = "cpu A") -> dict[str, Any]:
    rows = [_row("w", True, 9.0)] + [_row(p, False, 1.0 + index) for p in prompts]
    return {
        "schema": "dynatree.bench/1",
        "method": "linear",
        "params": {"K": 4},
        "tags": {"dataset": "d", "experiment": "main", "setting": "selected"},
        "protocol": {
            "max_new_tokens": 8,
            "warmup": 1,
            "n_prompts": len(rows),
            "n_measured": len(rows) - 1,
            "paired": True,
            "prompts_sha256": "abc",
            "l_max": 10 * index,
            "part": f"{index}/{parts}",
        },
        "models": {"target": "t", "draft": "d"},
        "rows": rows,
        "summary": summarize(rows),
        "provenance": {"git_commit": "c", "device_name": cpu, "created": f"t{index}"},
    }


def _parts() -> list[tuple[str, dict[str, Any]]]:
    return [
        ("p2.json", _part(2, 2, ["c", "d"])),  # any order
        ("p1.json", _part(1, 2, ["a", "b"])),
    ]


def test_merge_reads_like_one_job_over_every_prompt():
    merged = merge(_parts())
    assert [(r["prompt_id"], r["warmup"]) for r in merged["rows"]] == [
        ("w", True), ("a", False), ("b", False), ("c", False), ("d", False)
    ]  # fmt: skip
    assert [r["paired_speedup"] for r in merged["rows"][1:]] == [2.0, 2.0, 3.0, 3.0]
    # each measured row names the part (process) that timed it: the bootstrap's clusters
    assert [r.get("part") for r in merged["rows"]] == [None, 1, 1, 2, 2]
    assert merged["summary"] == summarize(merged["rows"])
    assert merged["summary"]["paired_speedup_mean"] == pytest.approx(2.5)
    protocol = merged["protocol"]
    assert (protocol["n_prompts"], protocol["n_measured"], protocol["parts"]) == (5, 4, 2)
    assert protocol["l_max"] == 20  # the longest prompt of any part
    assert "part" not in protocol
    assert [p["created"] for p in merged["provenance"]["parts"]] == ["t1", "t2"]
    assert merged["params"] == {"K": 4} and merged["tags"]["setting"] == "selected"


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda r: r["params"].update(K=6), "params.K 6 differs from p1.json's 4"),
        (lambda r: r["tags"].update(setting="x"), "tags.setting 'x' differs"),
        (lambda r: r["protocol"].update(max_new_tokens=16), "protocol.max_new_tokens 16 differs"),
        (lambda r: r["provenance"].update(device_name="B"), "device_name 'B' .* one machine"),
        (lambda r: r["protocol"].update(part="1/2"), "part 1/2 is also"),
        (lambda r: r["protocol"].update(part="2/3"), "split 3 ways, p1.json one split 2"),
        (lambda r: r["protocol"].pop("part"), "not a part result"),
    ],
)
def test_parts_of_different_jobs_are_refused_naming_the_file(edit, message):
    parts = copy.deepcopy(_parts())
    edit(parts[0][1])
    parts.reverse()  # the edited part last: the error names it
    with pytest.raises(UsageError, match=f"--inputs p2.json: .*{message}"):
        merge(parts)


def test_a_missing_part_is_named():
    with pytest.raises(UsageError, match="parts 1/2 missing"):
        merge(_parts()[:1])


def test_a_differently_split_part_names_the_file_that_set_the_split():
    first = ("p3.json", _part(1, 3, ["a"]))
    with pytest.raises(UsageError, match="p2.json: .*split 2 ways, p3.json one split 3 ways"):
        merge([first, ("p2.json", _part(2, 2, ["b"]))])


def test_a_part_short_of_its_share_is_refused():
    """A part that lost a measured row, its counts edited to agree: the shares give it away."""
    merge([("p1.json", _part(1, 2, ["a", "b"])), ("p2.json", _part(2, 2, ["c", "d", "e"]))])
    with pytest.raises(UsageError, match=r"the parts hold 3\+2 measured .* \(2\+3\)"):
        merge([("p1.json", _part(1, 2, ["a", "b", "c"])), ("p2.json", _part(2, 2, ["d", "e"]))])


def test_parts_of_different_prompts_are_refused():
    first, second = _parts()[1], _parts()[0]
    second[1]["rows"][1]["prompt_id"] = "a"  # also in part 1
    with pytest.raises(UsageError, match="p2.json: prompt 'a' is also measured in p1.json"):
        merge([first, second])
    first, second = _parts()[1], _parts()[0]
    second[1]["rows"][0]["prompt_id"] = "w2"
    with pytest.raises(UsageError, match="p2.json: its warm-up prompts differ from p1.json"):
        merge([first, second])


def _prompts_file(tmp_path, ids: list[str]) -> tuple[str, str]:
    from dynatree.bench.prompts import file_sha256, ids_sha256

    path = tmp_path / "prompts.jsonl"
    lines = [json.dumps({"id": i, "input_ids": [1, 2], "sha256": ids_sha256([1, 2])}) for i in ids]
    path.write_text("\n".join(lines) + "\n")
    return str(path), file_sha256(path)


def test_with_the_prompt_file_at_hand_every_measured_prompt_is_needed(tmp_path):
    """Shares cannot tell 1 + 1 of 2 prompts from 1 + 2 of 3 with one lost: the prompt file
    the parts name (and hash) can, and is read when it is there."""
    path, sha = _prompts_file(tmp_path, ["w", "a", "b", "c"])
    parts = [("p1.json", _part(1, 2, ["a"])), ("p2.json", _part(2, 2, ["b"]))]
    for _, part in parts:
        part["protocol"].update(prompts_path=path, prompts_sha256=sha)
    with pytest.raises(UsageError, match=r"the parts lack c of the 3 measured prompts of .*"):
        merge(parts)
    parts[1][1]["rows"].append(_row("c", False, 3.0))
    assert len(merge(parts)["rows"]) == 4
    for _, part in parts:  # not the file they decoded
        part["protocol"]["prompts_sha256"] = "another file"
    parts[1][1]["rows"].pop()
    merge(parts)  # without the file, the shares are all there is to check


def test_a_skipped_racing_round_merges_as_the_rounds_that_ran():
    """A sweep's part 2 out of the race is a skip record: the merged result is part 1's."""
    first = _part(1, 2, ["a", "b"])
    skipped = skip_record("linear", {"K": 4}, first["tags"], "2/2", "round1.json")
    merged = merge([("p2.json", skipped), ("p1.json", first)])
    assert [r["prompt_id"] for r in merged["rows"]] == ["w", "a", "b"]
    protocol = merged["protocol"]
    assert (protocol["n_measured"], protocol["parts"], protocol["parts_run"]) == (2, 2, 1)
    assert len(merged["provenance"]["parts"]) == 1
    with pytest.raises(UsageError, match="p1.json: part 1/2 did not run"):
        merge([("p1.json", {**skipped, "protocol": {"part": "1/2"}}), ("p2.json", _part(2, 2, []))])


def test_a_racing_decision_keeps_the_settings_still_in_the_race():
    decision = {"alive": ["K4", "K6"], "decided": False}
    assert racing(decision, "K4", "d.json") and not racing(decision, "K2", "d.json")
    assert not racing({"alive": ["K4"], "decided": True}, "K4", "d.json")  # a decided race
    with pytest.raises(UsageError, match="--race d.json: not a racing decision"):
        racing({"method": "linear", "params": {}}, "K4", "d.json")
