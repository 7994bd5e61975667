"""`dynatree bench` end to end on tiny random models: rows, summary, exactness, atomic output."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

from dynatree.bench import harness
from dynatree.decoding import registry

T = 8  # must equal conftest.T


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


@pytest.mark.parametrize("method", sorted(m for m, e in registry.METHODS.items() if e.needs_draft))
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
