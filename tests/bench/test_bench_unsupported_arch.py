"""`dynatree bench` refuses a model whose tree verification would be wrong: exit 2, one line."""

from __future__ import annotations

from pathlib import Path

import pytest
from transformers import MptConfig, MptForCausalLM
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
