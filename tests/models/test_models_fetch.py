"""`dynatree models fetch`: local directories work, offline without a copy fails in one line."""

from __future__ import annotations

import json
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


# --- Against a local Hub server (HF_ENDPOINT): the protocol path the paper's models take ------


@pytest.fixture(scope="module")
def tiny_hub(tmp_path_factory: pytest.TempPathFactory):
    from hub_repos import publish_models, tiny_model_files
    from local_hub import LocalHub

    files = tiny_model_files(tmp_path_factory.mktemp("tiny-pair"))
    with LocalHub() as hub:
        publish_models(hub, files)
        yield hub, files


def _fetch_process(tmp_path: Path, endpoint: str, *argv: str):
    import os
    import subprocess
    import sys

    from dynatree import cli as cli_module

    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "TRANSFORMERS_"))}
    env.update(
        HF_ENDPOINT=endpoint,
        HF_HOME=str(tmp_path / "hf"),
        HF_HUB_DISABLE_TELEMETRY="1",
        PYTHONPATH=str(Path(cli_module.__file__).resolve().parents[1]),
    )
    return subprocess.run(
        [sys.executable, "-m", "dynatree", "models", "fetch", *argv],
        env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip


@pytest.mark.parametrize("revision", ["commit", "main"], ids=["pinned commit", "branch"])
def test_fetch_downloads_a_pinned_snapshot_from_the_hub(tiny_hub, tmp_path: Path, revision):
    from hub_repos import MODEL_COMMITS, MODEL_REPOS

    hub, files = tiny_hub
    rev = MODEL_COMMITS["target"] if revision == "commit" else "main"
    out = tmp_path / "models" / "hub" / "target"
    argv = ["--model", MODEL_REPOS["target"], "--revision", rev, "--out", str(out)]
    run = _fetch_process(tmp_path, hub.endpoint, *argv)
    assert run.returncode == 0, run.stderr
    for name, data in files["target"].items():
        assert (out / name).read_bytes() == data, name
    record = json.loads((out / "dynatree-fetch.json").read_text())
    assert record["commit"] == MODEL_COMMITS["target"] and record["source"] == "hub"


def test_fetch_of_a_revision_that_does_not_exist(tiny_hub, tmp_path: Path) -> None:
    from hub_repos import MODEL_REPOS

    hub, _ = tiny_hub
    out = tmp_path / "out"
    run = _fetch_process(
        tmp_path, hub.endpoint, "--model", MODEL_REPOS["draft"], "--revision", "step9", "--out",
        str(out),
    )  # fmt: skip
    assert run.returncode == 2
    err = run.stderr.strip().splitlines()
    assert len(err) == 1 and "--revision step9" in err[0] and MODEL_REPOS["draft"] in err[0]
    assert not out.exists()
