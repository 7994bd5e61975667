"""The cost profile: measured through the decoders' own calls, written by `dynatree profile`,
read back by :class:`CostProfile` (interpolation), with bad arguments refused before loading."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from transformers import GPTNeoXConfig, GPTNeoXForCausalLM

import dynatree.cli
from dynatree.bench import profile
from dynatree.bench.floor import weight_bytes, weight_matrices, weight_streaming
from dynatree.decoding.ar import ARDecoder
from dynatree.decoding.cost import SCHEMA, CostProfile
from dynatree.decoding.drafting import TreeDrafter
from dynatree.decoding.runner import ModelRunner, greedy
from dynatree.errors import UsageError


def tiny(layers: int, seed: int) -> GPTNeoXForCausalLM:
    torch.manual_seed(seed)
    config = GPTNeoXConfig(
        vocab_size=48,
        hidden_size=16,
        num_hidden_layers=layers,
        num_attention_heads=2,
        intermediate_size=32,
        max_position_embeddings=64,
    )
    config._attn_implementation = "eager"
    return GPTNeoXForCausalLM(config).eval()


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    monkeypatch.setattr(dynatree.cli, "_STAGES", ("dynatree.bench.profile_cli",))
    return lambda *argv: dynatree.cli.main([str(a) for a in argv])


def test_random_tree_is_breadth_first_and_well_formed() -> None:
    tree = profile.random_tree(40, vocab=48, device=torch.device("cpu"), seed=3)
    assert len(tree) == 40
    assert tree.depths == sorted(tree.depths) and tree.depths[0] == 0
    assert all(tree.parents[i] < i and tree.depths[i] == tree.depths[tree.parents[i]] + 1
               for i in range(1, 40))  # fmt: skip
    assert tree.max_depth > 2  # a tree, not a star or a chain


def test_curves_leave_caches_at_the_prefix_and_normalise_to_the_smallest() -> None:
    verifier = ModelRunner(tiny(2, 0), greedy, 8)
    drafter = TreeDrafter(tiny(1, 1), profile._TopK(4))
    verifier.start(18)
    drafter.start(18)
    verify = profile.verify_curve(verifier, prefix=9, sizes=[1, 2, 8], repeats=2, warmup=1)
    level = profile.draft_curve(drafter, prefix=9, widths=[1, 4], repeats=2, warmup=0)
    assert [p["n"] for p in verify] == [1, 2, 8] and [p["width"] for p in level] == [1, 4]
    for point in verify + level:
        assert point["prefix"] == 9
        assert point["min_s"] <= point["median_s"] <= point["max_s"]
    assert verify[0]["ratio"] == level[0]["ratio"] == 1.0


def test_ar_step_and_draft_phases_are_timed_by_the_decoders_own_code() -> None:
    target, draft = tiny(2, 0), tiny(1, 1)
    step = profile.ar_step_curve(ARDecoder(target), prefix=9, steps=4, repeats=2, warmup=1)
    assert (step["prefix"], step["steps"]) == (9 + 2, 4)  # the steps' mean cache length
    assert 0 < step["min_s"] <= step["median_s"] <= step["max_s"]
    shapes = [(1, 3), (2, 2), (3, 1)]
    verifier, drafter = ModelRunner(target, greedy, 8), TreeDrafter(draft, profile._TopK(8))
    verifier.start(18)
    drafter.start(18)
    phases = profile.draft_phase_curve(verifier, drafter, 9, shapes, repeats=2, warmup=1)
    drawn = {(p["branching"], p["depth"]): (p["rounds"], p["nodes"]) for p in phases}
    # the catch-up of the root first, then one forward per expanded level
    assert drawn == {(1, 3): ([1, 1, 1], 3), (2, 2): ([1, 2], 6), (3, 1): ([1], 3)}
    assert all(p["prefix"] == 9 and p["min_s"] <= p["median_s"] for p in phases)
    assert profile.shape_nodes(2, 3) == 14


def fake_profile() -> dict:  # type: ignore[type-arg]
    """t(n) = prefix/1000 + n/100 at n = 1, 2, 4; g(w) = 1 + w (prefix-independent)."""
    verify = [
        {"n": n, "prefix": prefix, "median_s": prefix / 1000 + n / 100}
        for prefix in (100, 300)
        for n in (1, 2, 4)
    ]
    draft = [{"width": w, "prefix": 100, "median_s": 1.0 + w} for w in (1, 2, 4)]
    return {"schema": SCHEMA, "verify": verify, "draft_level": draft, "device": "cpu"}


def test_every_timed_call_follows_an_untimed_call_of_its_size() -> None:
    """A small size timed right after the largest would pay for the caches it evicted."""
    log: list[int] = []
    calls = {size: (lambda size=size: log.append(size)) for size in (1, 8, 64)}
    times = profile._round_robin(calls, torch.device("cpu"), repeats=3, warmup=1, desc="t")
    assert {size: len(t) for size, t in times.items()} == {1: 3, 8: 3, 64: 3}
    assert len(log) == 2 * 3 * (3 + 1)
    assert all(log[i] == log[i + 1] for i in range(0, len(log), 2))


def test_a_timed_call_can_follow_what_the_decoder_runs_before_it() -> None:
    """A draft phase is timed right after a verification, as in decoding (``before``)."""
    log: list[str] = []
    calls = {size: (lambda size=size: log.append(f"phase{size}")) for size in (1, 2)}
    before = {size: (lambda size=size: log.append(f"verify{size}")) for size in (1, 2)}
    profile._round_robin(calls, torch.device("cpu"), repeats=2, warmup=0, desc="d", before=before)
    assert all(log[i] == log[i + 1].replace("phase", "verify") for i in range(0, len(log), 2))
    assert len(log) == 2 * 2 * 2


def test_cost_profile_interpolates_between_and_beyond_measurements() -> None:
    cost = CostProfile(fake_profile())
    assert cost.verify_s(2, 100) == pytest.approx(0.12)
    assert cost.verify_s(3, 100) == pytest.approx(0.13)  # linear in n
    assert cost.verify_s(2, 200) == pytest.approx(0.22)  # linear in the prefix
    assert cost.verify_s(2, 50) == cost.verify_s(2, 100)  # prefix clamped below
    assert cost.verify_s(2, 900) == cost.verify_s(2, 300)  # and above
    assert cost.verify_s(8, 100) == pytest.approx(0.14 * 8 / 4)  # proportional beyond
    assert cost.draft_level_s(3, 500) == pytest.approx(4.0)
    assert (cost.prefix_lengths, cost.max_tree, cost.device) == ([100, 300], 4, "cpu")
    with pytest.raises(ValueError):
        cost.verify_s(0, 100)


def test_compiled_profile_prices_a_size_at_its_bucket() -> None:
    doc = fake_profile()
    doc["compile"] = {"regime": "compiled", "mode": "default", "buckets": [1, 2, 4]}
    cost = CostProfile(doc)
    assert cost.regime == "compiled" and CostProfile(fake_profile()).regime == "eager"
    assert cost.verify_s(3, 100) == cost.verify_s(4, 100) == pytest.approx(0.14)
    assert cost.draft_level_s(3, 100) == pytest.approx(5.0)


def test_floor_streams_every_multiplied_matrix_once() -> None:
    """The input embedding is indexed, not multiplied; a tied output layer counts once."""
    model = tiny(2, 0)
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
    assert weight_streaming(model, repeats=3, warmup=1) > 0


def test_cost_profile_refuses_other_files(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="schema"):
        CostProfile({"schema": "dynatree.bench/1"})
    with pytest.raises(UsageError, match="malformed"):
        CostProfile({"schema": SCHEMA, "verify": [{"n": 1}], "draft_level": []})
    with pytest.raises(UsageError, match="--profile"):
        CostProfile.from_file(str(tmp_path / "missing.json"))


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
    assert result["floor"]["target_s"] > 0 and result["floor"]["draft_s"] > 0
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
