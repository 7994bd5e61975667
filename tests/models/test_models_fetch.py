"""`dynatree models fetch`: local directories work, offline without a copy fails in one line."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from dynatree import cli
from dynatree.models.loading import load_causal_lm


def _fetch(monkeypatch: pytest.MonkeyPatch, *argv: str) -> int:
    monkeypatch.setattr(cli, "_STAGES", ("dynatree.models.cli",))
    return cli.main(["models", "fetch", *argv])


@pytest.fixture
def tiny_model(tmp_path: Path) -> Path:
    from transformers import GPTNeoXConfig, GPTNeoXForCausalLM

    torch.manual_seed(0)
    config = GPTNeoXConfig(
        vocab_size=64,
        hidden_size=16,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=32,
    )
    path = tmp_path / "src-model"
    GPTNeoXForCausalLM(config).save_pretrained(path)
    return path


def test_fetch_links_a_local_directory(
    monkeypatch: pytest.MonkeyPatch, tiny_model: Path, tmp_path: Path
) -> None:
    out = tmp_path / "models" / "tiny"
    assert (
        _fetch(monkeypatch, "--model", str(tiny_model), "--revision", "main", "--out", str(out))
        == 0
    )
    assert (out / "config.json").is_file()
    ids = torch.tensor([[1, 2, 3]])
    cpu = torch.device("cpu")
    a = load_causal_lm(str(tiny_model), cpu, torch.float32)(ids).logits
    b = load_causal_lm(str(out), cpu, torch.float32)(ids).logits
    assert torch.equal(a, b)
    # fetching again replaces the directory; --out equal to --model is accepted as is
    assert (
        _fetch(monkeypatch, "--model", str(tiny_model), "--revision", "x", "--out", str(out)) == 0
    )
    assert _fetch(monkeypatch, "--model", str(out), "--revision", "x", "--out", str(out)) == 0
    assert (out / "config.json").is_file()


def test_not_a_model_directory(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    (tmp_path / "empty").mkdir()
    out = tmp_path / "out"
    assert (
        _fetch(
            monkeypatch, "--model", str(tmp_path / "empty"), "--revision", "main", "--out", str(out)
        )
        == 2
    )
    assert "config.json" in capsys.readouterr().err
    assert not out.exists()


def test_offline_without_a_cached_copy_says_how_out(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    model = "dynatree-tests/no-such-model"
    out = tmp_path / "out"
    assert _fetch(monkeypatch, "--model", model, "--revision", "step1", "--out", str(out)) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert model in err and "go online" in err and "local model directory" in err
    assert not out.exists()
