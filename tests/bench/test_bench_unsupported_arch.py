"""`dynatree bench` refuses a model it would decode wrongly (tree verification, rope scaling
across its switch, a position table run past its end): exit 2, one line, before weights load."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from transformers import (
    GPT2Config,
    GPT2LMHeadModel,
    MptConfig,
    MptForCausalLM,
    Phi3Config,
    Phi3ForCausalLM,
)
from word_tokenizer import WORDS, make_tokenizer


@pytest.fixture(scope="module")
def mpt(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny random MPT (ALiBi) saved with the test tokenizer."""
    path = tmp_path_factory.mktemp("mpt")
    config = MptConfig(vocab_size=32, d_model=16, n_layers=1, n_heads=2, max_seq_len=64)
    MptForCausalLM(config).eval().save_pretrained(path)
    make_tokenizer(WORDS).save_pretrained(path)
    return path


@pytest.mark.parametrize(("role", "method"), [("--target", "dynatree"), ("--draft", "fixed_tree")])
def test_tree_method_on_alibi_model_is_refused(
    cli, capsys, bench_argv, prompts, tmp_path, mpt, role, method
):  # type: ignore[no-untyped-def]
    out = tmp_path / "r.json"
    argv = bench_argv(prompts, out, "--method", method)
    argv[argv.index(role) + 1] = str(mpt)
    assert cli(*argv) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and role in err and "mpt" in err.lower() and "ALiBi" in err
    assert not out.exists()


def test_linear_on_alibi_model_runs(cli, bench_argv, prompts, tmp_path, mpt):  # type: ignore[no-untyped-def]
    out = tmp_path / "r.json"
    argv = bench_argv(prompts, out, "--method", "linear")
    argv[argv.index("--target") + 1] = argv[argv.index("--draft") + 1] = str(mpt)
    assert cli(*argv) == 0 and out.exists()


# --- The checks that depend on the run's lengths (dynatree.decoding.support), end to end ---


@pytest.fixture(scope="module")
def gpt2(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny random GPT-2: learned absolute positions, a table of 16 rows."""
    path = tmp_path_factory.mktemp("gpt2")
    config = GPT2Config(vocab_size=32, n_embd=16, n_layer=1, n_head=2, n_positions=16)
    GPT2LMHeadModel(config).eval().save_pretrained(path)
    make_tokenizer(WORDS).save_pretrained(path)
    return path


@pytest.fixture(scope="module")
def longrope(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny random Phi-3 whose longrope factors switch past 12 positions (of 64)."""
    path = tmp_path_factory.mktemp("longrope")
    config = Phi3Config(
        vocab_size=32, hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
        num_key_value_heads=1, intermediate_size=32, max_position_embeddings=64,
        original_max_position_embeddings=12, pad_token_id=0,
        rope_scaling={"type": "longrope", "short_factor": [1.0] * 4, "long_factor": [4.0] * 4},
    )  # fmt: skip
    Phi3ForCausalLM(config).eval().save_pretrained(path)
    make_tokenizer(WORDS).save_pretrained(path)
    return path


def _no_weights(monkeypatch: pytest.MonkeyPatch) -> None:
    from dynatree.bench import harness

    monkeypatch.setattr(harness, "load_models", lambda *a, **k: pytest.fail("weights loaded"))


def _one_line(capsys: pytest.CaptureFixture[str], *needles: str) -> None:
    err = capsys.readouterr().err.strip()
    assert "\n" not in err, err
    for needle in needles:
        assert needle in err, err


def _with(argv: list[str], **models: Path) -> list[str]:
    for flag, path in models.items():
        argv[argv.index(f"--{flag}") + 1] = str(path)
    return argv


def test_beyond_context_past_learned_positions_is_refused(
    cli, capsys, bench_argv, prompts, tmp_path, gpt2
):  # type: ignore[no-untyped-def]
    """Prompt 9 + T 8 > GPT-2's 16 rows: an index error mid-run before, one line now."""
    argv = bench_argv(prompts, tmp_path / "r.json", "--method", "ar", "--beyond-context")
    assert cli(*_with(argv, target=gpt2)) == 2
    _one_line(capsys, "--beyond-context", "--target", "n_positions 16", "table")


def test_profile_beyond_context_past_learned_positions_is_refused(
    cli, capsys, tmp_path, gpt2, monkeypatch
):  # type: ignore[no-untyped-def]
    import dynatree.cli

    monkeypatch.setattr(dynatree.cli, "_STAGES", ("dynatree.bench.profile_cli",))
    _no_weights(monkeypatch)
    argv = ["profile", "--target", gpt2, "--draft", gpt2, "--device", "cpu", "--beyond-context",
            "--prefix-lengths", "12", "--max-tree", "8", "--out", tmp_path / "p.json"]  # fmt: skip
    assert cli(*argv) == 2
    _one_line(capsys, "--prefix-lengths 12 + --max-tree 8", "--target", "table")


@pytest.mark.parametrize("hub_uncached", [False, True], ids=["config.json", "uncached Hub"])
def test_longrope_switch_crossed_is_refused_before_weights_load(
    cli, capsys, bench_argv, prompts, tmp_path, longrope, monkeypatch, hub_uncached
):  # type: ignore[no-untyped-def]
    """Prompt 9 + T 8 crosses 12. The command-line check reads config.json; a Hub model not in
    the local cache is only seen by the harness, through AutoConfig, still before weights."""
    from dynatree.bench import options
    from dynatree.locate import ModelRef

    _no_weights(monkeypatch)
    if hub_uncached:
        monkeypatch.setattr(options, "locate_model", lambda name, _: ModelRef(name, None, None))
    argv = bench_argv(prompts, tmp_path / "r.json", "--method", "ar")
    assert cli(*_with(argv, target=longrope)) == 2
    _one_line(capsys, "--max-new-tokens 8", "'test-001' (9 tokens)", "passes 12", "longrope")
    assert not (tmp_path / "r.json").exists()


def test_longrope_run_before_the_switch_is_exact(cli, bench_argv, prompts, tmp_path, longrope):  # type: ignore[no-untyped-def]
    ar, out = tmp_path / "ar.json", tmp_path / "r.json"
    argv = _with(bench_argv(prompts, ar, "--method", "ar"), target=longrope)
    argv[argv.index("--max-new-tokens") + 1] = "3"  # the longest prompt, 9, + 3 <= 12
    assert cli(*argv) == 0
    argv = bench_argv(prompts, out, "--method", "linear", "--reference", str(ar))
    argv[argv.index("--max-new-tokens") + 1] = "3"
    assert cli(*_with(argv, target=longrope, draft=longrope)) == 0
    assert json.loads(out.read_text())["summary"]["exact_match_rate"] == 1.0


def test_cost_aware_decoder_without_profile_refused_before_weights_load(
    cli, capsys, bench_argv, prompts, tmp_path, mpt, monkeypatch
):  # type: ignore[no-untyped-def]
    """It used to measure its in-process profile (tree forwards) before the support check."""
    _no_weights(monkeypatch)
    argv = bench_argv(prompts, tmp_path / "r.json", "--method", "dynatree_ca")
    assert cli(*_with(argv, target=mpt, draft=mpt)) == 2
    _one_line(capsys, "--target", "ALiBi")


def test_transformers_assisted_on_mpt_runs_exactly(cli, bench_argv, prompts, tmp_path, mpt):  # type: ignore[no-untyped-def]
    """MPT's config says use_cache: false, which transformers' assisted generation refuses."""
    ar, out = tmp_path / "ar.json", tmp_path / "r.json"
    assert cli(*_with(bench_argv(prompts, ar, "--method", "ar"), target=mpt)) == 0
    argv = bench_argv(prompts, out, "--method", "hf_assisted", "--reference", str(ar))
    assert cli(*_with(argv, target=mpt, draft=mpt)) == 0
    assert json.loads(out.read_text())["summary"]["exact_match_rate"] == 1.0
