"""`dynatree profile`: writes a cost profile :class:`CostProfile` reads back, with the pair's
weight-streaming floor; bad arguments are refused before loading."""

from __future__ import annotations

import json

import pytest
import torch
from tiny_models import tiny_model
from transformers import GPTNeoXConfig, GPTNeoXForCausalLM

import dynatree.cli
from dynatree.bench.floor import weight_bytes, weight_matrices, weight_products
from dynatree.decoding.cost import SCHEMA, CostProfile


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    monkeypatch.setattr(dynatree.cli, "_STAGES", ("dynatree.bench.profile_cli",))
    return lambda *argv: dynatree.cli.main([str(a) for a in argv])


def test_floor_streams_every_multiplied_matrix_once() -> None:
    """The input embedding is indexed, not multiplied; a tied output layer counts once."""
    model = tiny_model("gpt_neox", 0)
    shapes = sorted(tuple(m.shape) for m in weight_matrices(model))
    linears = sorted(tuple(m.weight.shape) for m in model.modules()
                     if isinstance(m, torch.nn.Linear))  # fmt: skip
    assert shapes == linears  # every Linear, the output layer included; no embedding table
    assert weight_bytes(model) == 4 * sum(torch.Size(s).numel() for s in shapes)
    torch.manual_seed(0)
    config = GPTNeoXConfig(
        vocab_size=48,
        hidden_size=16,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=32,
        tie_word_embeddings=True,
    )
    tied = GPTNeoXForCausalLM(config).eval()
    head = tied.get_output_embeddings().weight
    assert sum(m.data_ptr() == head.data_ptr() for m in weight_matrices(tied)) == 1
    assert weight_products(model, repeats=3, warmup=1) > 0


def test_profile_command_writes_a_readable_profile(cli, models, tmp_path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "profile" / "tiny.json"
    argv = ["profile", "--target", models["target"], "--draft", models["draft"],
            "--device", "cpu", "--threads", "1", "--max-tree", "6", "--prefix-lengths", "20", "5",
            "--repeats", "2", "--warmup", "0", "--out", out]  # fmt: skip
    assert cli(*argv) == 0
    result = json.loads(out.read_text())
    assert result["schema"] == SCHEMA
    assert (result["device"], result["dtype"], result["threads"]) == ("cpu", "float32", 1)
    assert result["settings"]["sizes"] == [1, 2, 4, 6]
    assert result["settings"]["prefix_lengths"] == [5, 20]
    assert len(result["verify"]) == len(result["draft_level"]) == 8
    assert [p["prefix"] for p in result["ar_step"]] == [5 + 3, 20 + 3]  # 6 steps each
    shapes = result["settings"]["draft_shapes"]
    assert shapes == [[1, 2], [1, 4]]  # trees of at most --max-tree tokens, root included
    assert len(result["draft_phase"]) == 2 * len(shapes)
    assert result["models"]["target_params"] > result["models"]["draft_params"] > 0
    assert result["provenance"]["command"]
    assert result["compile"] == {"regime": "eager", "mode": None, "shapes": None, "buckets": [],
                                 "compile_s": result["compile"]["compile_s"]}  # fmt: skip
    floor = result["floor"]
    assert [point["n"] for point in floor["curve"]] == [1, 2, 4, 6]  # the verified sizes
    one = floor["curve"][0]
    assert (floor["target_s"], floor["draft_s"]) == (one["target_s"], one["draft_s"])
    assert min(p[m] for p in floor["curve"] for m in ("target_s", "draft_s")) > 0
    cost = CostProfile.from_file(str(out))
    assert cost.verify_s(6, 20) == next(
        p["median_s"] for p in result["verify"] if (p["n"], p["prefix"]) == (6, 20)
    )
    assert cost.ar_step_s(23) == result["ar_step"][1]["median_s"]
    assert min(cost.draft_overhead.values()) >= 0


@pytest.mark.parametrize(
    ("extra", "named"),
    [
        (["--max-tree", "0"], "--max-tree"),
        (["--repeats", "0"], "--repeats"),
        (["--prefix-lengths", "0"], "--prefix-lengths"),
        (["--prefix-lengths", "120", "--max-tree", "16"], "positions"),  # tiny models: 128
        (["--threads", "0"], "--threads"),
        (["--dtype", "float8"], "--dtype"),
    ],
)
def test_bad_arguments_exit_2_before_loading(  # type: ignore[no-untyped-def]
    cli, models, tmp_path, capsys, monkeypatch, extra, named
):
    from dynatree.bench import harness

    monkeypatch.setattr(harness, "load_models", lambda *a, **k: pytest.fail("models loaded"))
    out = tmp_path / "p.json"
    argv = ["profile", "--target", models["target"], "--draft", models["draft"],
            "--device", "cpu", "--out", out, *extra]  # fmt: skip
    assert cli(*argv) == 2
    err = capsys.readouterr().err.strip()
    assert named in err and len(err.splitlines()) == 1
    assert not out.exists()


def test_missing_model_directory_is_named(cli, models, tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    argv = ["profile", "--target", tmp_path / "nope", "--draft", models["draft"],
            "--out", tmp_path / "p.json"]  # fmt: skip
    assert cli(*argv) == 2
    assert "--target" in capsys.readouterr().err
