"""`dynatree bench` end to end on tiny random models: rows, summary, exactness, atomic output."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

from dynatree.bench import harness
from dynatree.bench.selection import race as replay
from dynatree.decoding import registry
from dynatree.errors import UsageError

T = 8  # must equal conftest.T
SPECULATIVE = sorted(m for m, entry in registry.METHODS.items() if entry.needs_draft)


def greedy_reference(model_dir: Path, ids: list[int], n: int) -> list[int]:
    """Greedy continuation by plain full-sequence forwards, independent of every decoder."""
    model = AutoModelForCausalLM.from_pretrained(model_dir).eval()
    seq = list(ids)
    with torch.no_grad():
        for _ in range(n):
            seq.append(int(model(torch.tensor([seq])).logits[0, -1].argmax()))
    return seq[len(ids) :]


def test_ar_result_rows_summary_and_provenance(cli, bench_argv, models, prompts, tmp_path):
    out = tmp_path / "ar.json"
    assert cli(*bench_argv(prompts, out, "--method", "ar", "--tag", "dataset=test")) == 0
    result = json.loads(out.read_text())

    assert result["schema"] == "dynatree.bench/1"
    assert result["method"] == "ar" and result["params"] == {}
    assert result["tags"] == {"dataset": "test"}
    assert result["models"]["draft"] is None and result["models"]["draft_params"] is None
    assert result["models"]["target_params"] > 0
    protocol = result["protocol"]
    assert (protocol["n_prompts"], protocol["n_measured"], protocol["l_max"]) == (3, 2, 9)
    assert (protocol["device"], protocol["dtype"], protocol["threads"]) == ("cpu", "float32", 1)

    prompt_rows = [json.loads(line) for line in prompts.read_text().splitlines()]
    rows = result["rows"]
    assert [r["warmup"] for r in rows] == [True, False, False]
    for row, prompt in zip(rows, prompt_rows, strict=True):
        assert row["prompt_id"] == prompt["id"]
        assert row["tokens"] == greedy_reference(models["target"], prompt["input_ids"], T)
        assert row["new_tokens"] == T and row["iterations"] == T - 1
        assert row["tokens_per_iter"] == 1.0
        assert row["acceptance_rate"] is None and row["accepted_len"] is None
        assert row["exact_match"] is None and row["verdict"] is None
        assert row["tps"] == pytest.approx(T / row["wall_time_s"])
        assert row["peak_memory_bytes"] > 0

    summary = result["summary"]
    assert summary["n"] == 2
    assert summary["prompt_tokens_mean"] == 7.0  # measured prompts 9 and 5; warm-up (3) excluded
    assert summary["prompt_tokens_std"] == pytest.approx(2**0.5 * 2)
    assert summary["acceptance_rate_mean"] is None
    assert summary["exact_match_rate"] is None
    provenance = result["provenance"]
    assert provenance["torch"] == torch.__version__
    assert provenance["created"].endswith("+00:00")


@pytest.fixture
def ar_reference(cli, bench_argv, prompts, tmp_path) -> Path:
    out = tmp_path / "reference.json"
    assert cli(*bench_argv(prompts, out, "--method", "ar")) == 0
    return out


def test_reference_match_is_recorded(cli, bench_argv, prompts, ar_reference, tmp_path):
    out = tmp_path / "checked.json"
    argv = bench_argv(prompts, out, "--method", "ar", "--reference", str(ar_reference))
    assert cli(*argv) == 0
    result = json.loads(out.read_text())
    assert [row["exact_match"] for row in result["rows"]] == [True, True, True]
    assert result["summary"]["exact_match_rate"] == 1.0


def test_wrong_reference_is_recorded_as_mismatch(cli, bench_argv, prompts, ar_reference, tmp_path):
    wrong = json.loads(ar_reference.read_text())
    wrong["rows"][2]["tokens"][3] = (wrong["rows"][2]["tokens"][3] + 1) % 20
    ar_reference.write_text(json.dumps(wrong))
    out = tmp_path / "checked.json"
    argv = bench_argv(prompts, out, "--method", "ar", "--reference", str(ar_reference))
    assert cli(*argv) == 0
    result = json.loads(out.read_text())
    assert [row["exact_match"] for row in result["rows"]] == [True, True, False]
    assert result["summary"]["exact_match_rate"] == 0.5
    # the reference's token is not one the target nearly prefers: not a tie
    assert [row["verdict"] for row in result["rows"]] == ["exact", "exact", "wrong"]
    divergence = result["rows"][2]["divergence"]
    assert divergence["position"] == 3 and divergence["gap"] > divergence["tolerance"]
    assert result["rows"][0]["divergence"] is None
    summary = result["summary"]
    assert (summary["n_exact"], summary["n_tie"], summary["n_wrong"]) == (2, 0, 1)


@pytest.mark.parametrize("method", SPECULATIVE)
def test_speculative_methods_match_ar(cli, bench_argv, prompts, ar_reference, tmp_path, method):
    out = tmp_path / f"{method}.json"
    argv = bench_argv(prompts, out, "--method", method, "--reference", str(ar_reference))
    assert cli(*argv) == 0
    result = json.loads(out.read_text())
    assert result["summary"]["exact_match_rate"] == 1.0
    assert all(row["exact_match"] for row in result["rows"])
    assert [row["verdict"] for row in result["rows"]] == ["exact"] * 3
    assert result["summary"]["n_exact"] == 3 and result["summary"]["n_wrong"] == 0
    assert result["models"]["draft_params"] > 0
    for row in result["rows"]:
        assert row["tokens_per_iter"] == row["new_tokens"] / (row["iterations"] + 1)
        if row["drafted_depth"]:
            assert 0.0 <= row["acceptance_rate"] <= 1.0


@pytest.mark.parametrize("method", SPECULATIVE)
def test_paired_timing_interleaves_ar(cli, bench_argv, prompts, ar_reference, tmp_path, method):
    out = tmp_path / "paired.json"
    argv = bench_argv(prompts, out, "--method", method, "--paired", "--reference", ar_reference)
    assert cli(*argv) == 0
    result = json.loads(out.read_text())
    assert result["protocol"]["paired"] is True
    rows = result["rows"]
    assert [row["paired_ar_first"] for row in rows] == [True, False, True]
    for row in rows:
        assert row["paired_exact_match"] is True  # the method reproduced the paired AR run
        assert row["paired_ar_tps"] == pytest.approx(T / row["paired_ar_wall_time_s"])
        assert row["paired_speedup"] == pytest.approx(row["tps"] / row["paired_ar_tps"])
    summary = result["summary"]
    measured = [row["paired_speedup"] for row in rows[1:]]
    assert summary["paired_speedup_mean"] == pytest.approx(sum(measured) / 2)
    assert summary["paired_speedup_ci_low"] <= summary["paired_speedup_mean"]
    assert summary["paired_speedup_mean"] <= summary["paired_speedup_ci_high"]
    assert summary["paired_exact_match_rate"] == 1.0


def test_unpaired_rows_carry_null_paired_fields(cli, bench_argv, prompts, ar_reference):
    result = json.loads(Path(ar_reference).read_text())
    assert result["protocol"]["paired"] is False
    assert all(row["paired_speedup"] is None for row in result["rows"])
    assert result["summary"]["paired_speedup_mean"] is None
    assert result["summary"]["paired_speedup_ci_low"] is None


def test_paired_order_alternates(monkeypatch, models, prompts):
    """AR runs before the method on even prompts and after it on odd ones, each once."""
    from dynatree.bench.prompts import load_prompts
    from dynatree.decoding.registry import build_decoder, parse_params

    target = AutoModelForCausalLM.from_pretrained(models["target"]).eval()
    draft = AutoModelForCausalLM.from_pretrained(models["draft"]).eval()
    calls = []
    real = harness.timed_generate

    def record(decoder, *args, **kwargs):
        calls.append(decoder.name)
        return real(decoder, *args, **kwargs)

    monkeypatch.setattr(harness, "timed_generate", record)
    method = build_decoder("linear", parse_params("linear", {}), target, draft)
    baseline = build_decoder("ar", parse_params("ar", {}), target)
    prompt_set = load_prompts(prompts)
    harness.decode_prompts(
        method, prompt_set, T, 1, None, None, torch.device("cpu"), baseline=baseline
    )
    assert calls == ["ar", "linear", "linear", "ar", "ar", "linear"]


def test_failed_run_writes_nothing(cli, bench_argv, prompts, tmp_path, monkeypatch):
    out = tmp_path / "result.json"
    out.write_text("previous\n")
    calls = []
    real = harness.timed_generate

    def fail_on_second(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("simulated crash mid-run")
        return real(*args, **kwargs)

    monkeypatch.setattr(harness, "timed_generate", fail_on_second)
    with pytest.raises(RuntimeError, match="simulated crash"):
        cli(*bench_argv(prompts, out, "--method", "ar"))
    assert out.read_text() == "previous\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["prompts.jsonl", "result.json"]


def test_stop_at_eos_and_ar_ignores_draft(cli, bench_argv, prompts, models, tmp_path):
    # A target whose every greedy token is EOS: its final norm outputs a constant vector that
    # only the EOS row of the output layer aligns with.
    model = AutoModelForCausalLM.from_pretrained(models["target"])
    with torch.no_grad():
        model.gpt_neox.final_layer_norm.weight.zero_()
        model.gpt_neox.final_layer_norm.bias.fill_(1.0)
        model.get_output_embeddings().weight[1].fill_(10.0)  # conftest's EOS id
    eos_target = tmp_path / "eos_target"
    model.save_pretrained(eos_target)
    AutoTokenizer.from_pretrained(models["target"]).save_pretrained(eos_target)

    for stop, expected in ((True, [1]), (False, [1] * T)):
        out = tmp_path / f"eos_{stop}.json"
        argv = bench_argv(prompts, out, "--method", "ar", *(["--stop-at-eos"] if stop else []))
        argv[argv.index("--target") + 1] = str(eos_target)
        argv[argv.index("--draft") + 1] = str(tmp_path / "no-such-draft")  # ar ignores it
        assert cli(*argv) == 0
        result = json.loads(out.read_text())
        assert result["protocol"]["stop_at_eos"] is stop
        assert [row["tokens"] for row in result["rows"]] == [expected] * 3
    assert result["rows"][0]["tpot_s"] is not None
    single = json.loads((tmp_path / "eos_True.json").read_text())["rows"][0]
    assert single["tpot_s"] is None and single["tokens_per_iter"] == 1.0


def test_parts_merge_into_the_whole_job(cli, bench_argv, five_prompts, tmp_path):
    """A job run as two parts and merged has the whole job's rows: same prompts, same tokens,
    same verdicts, one warm-up row, and the summary over every measured prompt."""
    prompts = five_prompts
    reference = tmp_path / "ar5.json"
    assert cli(*bench_argv(prompts, reference, "--method", "ar")) == 0
    common = ("--method", "linear", "--paired", "--reference", str(reference), "--tag", "dataset=t")
    whole = tmp_path / "whole.json"
    assert cli(*bench_argv(prompts, whole, *common)) == 0
    parts = [tmp_path / f"part{i}.json" for i in (1, 2)]
    for i, out in enumerate(parts, start=1):
        assert cli(*bench_argv(prompts, out, *common, "--part", f"{i}/2")) == 0
    first = json.loads(parts[0].read_text())
    assert [r["prompt_id"] for r in first["rows"]] == ["test-000", "test-001", "test-002"]
    assert first["protocol"]["part"] == "1/2"

    merged_path = tmp_path / "merged.json"
    assert cli("merge", "--inputs", *reversed(parts), "--out", merged_path) == 0
    merged, expected = json.loads(merged_path.read_text()), json.loads(whole.read_text())
    keys = ("prompt_id", "warmup", "tokens", "verdict", "paired_exact_match")
    assert [[r[k] for k in keys] for r in merged["rows"]] == [
        [r[k] for k in keys] for r in expected["rows"]
    ]
    # the same protocol, but the warm-up time is each part's (their sum)
    compile_s = sum(json.loads(p.read_text())["protocol"]["compile"]["compile_s"] for p in parts)
    assert merged["protocol"]["compile"]["compile_s"] == pytest.approx(compile_s, abs=1e-3)
    for protocol in (merged["protocol"], expected["protocol"]):
        del protocol["compile"]["compile_s"]
    assert merged["protocol"] == {**expected["protocol"], "parts": 2, "parts_run": 2}
    assert merged["summary"]["n"] == 4
    for key in ("n_exact", "n_wrong", "exact_match_rate", "paired_exact_match_rate"):
        assert merged["summary"][key] == expected["summary"][key]
    assert len(merged["provenance"]["parts"]) == 2


def _scale_paired(path: Path, like: Path, factor: float) -> None:
    """Give ``path``'s measured prompts ``like``'s paired speedups times ``factor``."""
    from dynatree.bench.metrics import summarize

    doc, ref = json.loads(path.read_text()), json.loads(like.read_text())
    for row, other in zip(doc["rows"], ref["rows"], strict=True):
        row["paired_speedup"] = other["paired_speedup"] * factor
    doc["summary"] = summarize(doc["rows"])
    path.write_text(json.dumps(doc))


def test_a_racing_round_runs_only_what_the_decision_keeps(
    cli, bench_argv, five_prompts, tmp_path, capsys, monkeypatch
):
    """A three-round race: K2 is behind in round 1 but races on (one process per setting is no
    evidence); behind again in round 2, the decision drops it; in round 3 it writes a skip
    record without loading a model while the others decode their share; merge joins the rounds
    that ran; select replays the whole race from the parts and skip records."""
    prompts = five_prompts
    reference = tmp_path / "ar5.json"
    assert cli(*bench_argv(prompts, reference, "--method", "ar")) == 0
    common = ("--method", "linear", "--paired", "--reference", str(reference), "--tag", "dataset=t")
    parts = {k: [tmp_path / f"K{k}_part{i}.json" for i in (1, 2, 3)] for k in (2, 3, 4)}
    setting = {k: ("--set", f"K={k}", "--tag", f"setting=K{k}") for k in parts}

    def play(index: int, extra: tuple[str, ...]) -> Path:
        """Round ``index`` of every setting, K2 made clearly behind and K4 level with K3; the
        decision after it."""
        for k, paths in parts.items():
            assert cli(*bench_argv(prompts, paths[index - 1], *common, *setting[k], *extra)) == 0
        _scale_paired(parts[2][index - 1], parts[3][index - 1], 0.5)
        _scale_paired(parts[4][index - 1], parts[3][index - 1], 1.0)
        decision = tmp_path / f"round{index}.json"
        done = [str(p) for paths in parts.values() for p in paths[:index]]
        assert cli("select", "--inputs", *done, "--round", f"{index}/3", "--out", decision) == 0
        return decision

    state = json.loads(play(1, ("--part", "1/3")).read_text())
    assert (state["rounds_run"], state["final"], state["alive"]) == (1, False, ["K2", "K3", "K4"])
    assert "still racing: K2, K3, K4" in capsys.readouterr().err
    decision = play(2, ("--race", str(tmp_path / "round1.json"), "--part", "2/3"))
    assert json.loads(decision.read_text())["alive"] == ["K3", "K4"]
    assert "still racing: K3, K4; out: K2 (dropped in round 2)" in capsys.readouterr().err

    race = ("--race", str(decision), "--part", "3/3")
    real = harness.load_models
    monkeypatch.setattr(harness, "load_models", lambda *a, **k: pytest.fail("models loaded"))
    assert cli(*bench_argv(prompts, parts[2][2], *common, *setting[2], *race)) == 0
    skip = json.loads(parts[2][2].read_text())
    assert skip["schema"] == "dynatree.bench-skip/1" and skip["protocol"] == {"part": "3/3"}
    assert "out of the race" in capsys.readouterr().err
    monkeypatch.setattr(harness, "load_models", real)
    for k in (3, 4):
        assert cli(*bench_argv(prompts, parts[k][2], *common, *setting[k], *race)) == 0
        assert json.loads(parts[k][2].read_text())["protocol"]["part"] == "3/3"

    merged = tmp_path / "K2.json"
    assert cli("merge", "--inputs", *parts[2], "--out", merged) == 0
    protocol = json.loads(merged.read_text())["protocol"]
    assert (protocol["n_measured"], protocol["parts"], protocol["parts_run"]) == (2, 3, 2)
    final = replay([str(p) for paths in parts.values() for p in paths])
    assert final["final"] and final["setting"] in ("K3", "K4")
    k2 = final["settings"][0]
    assert (k2["setting"], k2["status"], k2["dropped_round"], k2["n"]) == ("K2", "dropped", 2, 2)
    _scale_paired(parts[2][1], parts[3][1], 1.0)  # now K2 was level in round 2: its skip is stale
    with pytest.raises(UsageError, match="K2 skipped round 3 while still in the race"):
        replay([str(p) for paths in parts.values() for p in paths])


def test_merge_refuses_a_whole_job(cli, ar_reference, tmp_path, capsys):
    assert cli("merge", "--inputs", ar_reference, "--out", tmp_path / "m.json") == 2
    assert f"--inputs {ar_reference}:" in capsys.readouterr().err
    assert not (tmp_path / "m.json").exists()
