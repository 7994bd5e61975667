"""`dynatree models build-embedded` with the smoke settings: a loadable pair and a full report."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
import torch

from dynatree import cli
from dynatree.data.splits import pg19_split
from dynatree.errors import UsageError
from dynatree.models import precision
from dynatree.models.loading import load_causal_lm, load_tokenizer
from dynatree.models.settings import EmbeddedSettings, parse_settings

WORDS = "the a river king old house of and stood near when light before silent green".split()

# A toy pair that builds in seconds: it exercises every phase of the build, its numbers mean
# nothing.
SMOKE_SETTINGS: dict[str, str] = {
    "threads": "1",
    "vocab_size": "384",
    "tokenizer_chars": "100000",
    "train_chars": "200000",
    "context_length": "32",
    "max_position_embeddings": "2048",
    "target_layers": "2",
    "target_hidden": "32",
    "target_heads": "2",
    "target_intermediate": "64",
    "target_steps": "8",
    "target_batch_size": "4",
    "draft_hidden": "16",
    "draft_heads": "2",
    "draft_intermediate": "32",
    "draft_steps": "4",
    "draft_batch_size": "4",
    "greedy_sequences": "4",
    "greedy_prompt_tokens": "8",
    "greedy_new_tokens": "8",
    "greedy_steps": "4",
    "warmup_steps": "2",
    "eval_windows": "4",
    "eval_prompts": "2",
    "eval_prompt_tokens": "8",
    "eval_new_tokens": "8",
    "latency_new_tokens": "4",
    "latency_repeats": "1",
}


def _text(rng: random.Random, sentences: int) -> str:
    return " ".join(
        " ".join(rng.choice(WORDS) for _ in range(rng.randint(4, 12))).capitalize() + "."
        for _ in range(sentences)
    )


def _corpus(root: Path) -> Path:
    """Training files hold text; every prompt file is corrupt, so reading one fails the build."""
    rng = random.Random(0)
    wiki = root / "wikitext-2-raw"
    wiki.mkdir(parents=True)
    (wiki / "wiki.valid.raw").write_text(" = Valid = \n \n " + _text(rng, 400) + "\n")
    (wiki / "wiki.test.raw").write_bytes(b"\xff\xfe not text")
    books = root / "gutenberg"
    books.mkdir()
    for i in range(12):
        if pg19_split(f"pg{i}.txt") == "test":
            (books / f"pg{i}.txt").write_bytes(b"\xff\xfe not text")
        else:
            body = _text(rng, 150)
            (books / f"pg{i}.txt").write_text(
                f"Header\n*** START OF THE PROJECT GUTENBERG EBOOK {i} ***\n{body}\n"
                f"*** END OF THE PROJECT GUTENBERG EBOOK {i} ***\nFooter\n"
            )
    return root


def _build(
    monkeypatch: pytest.MonkeyPatch, corpus: Path, out: Path, report: Path, **extra: str
) -> int:
    monkeypatch.setattr(cli, "_STAGES", ("dynatree.models.cli",))
    monkeypatch.setenv("OMP_WAIT_POLICY", "PASSIVE")  # the build sets it; keep it test-local
    sets = [x for k, v in {**SMOKE_SETTINGS, **extra}.items() for x in ("--set", f"{k}={v}")]
    return cli.main(
        [
            "models",
            "build-embedded",
            "--corpus-dir",
            str(corpus),
            "--out",
            str(out),
            "--report",
            str(report),
            *sets,
        ]
    )


def test_smoke_build_is_loadable_complete_and_deterministic(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    corpus = _corpus(tmp_path / "data")
    avx2_only = {"aten_capability": "AVX2", "amx_bf16": False, "avx512_bf16": False}
    monkeypatch.setattr(precision, "cpu_bf16_facts", lambda: {**avx2_only, "onednn_bf16": False})
    assert _build(monkeypatch, corpus, tmp_path / "a", tmp_path / "a.json") == 0
    report = json.loads((tmp_path / "a.json").read_text())
    cpu = torch.device("cpu")
    for name in ("target", "draft"):
        path = tmp_path / "a" / name
        model = load_causal_lm(str(path), cpu, torch.float32)
        tok = load_tokenizer(str(path))
        assert model.config.model_type == "gpt_neox"
        assert tok.eos_token == "<|endoftext|>" and tok.is_fast
        assert model.config.vocab_size == len(tok) == report["tokenizer"]["vocab_size"]
        assert report[name]["params"] == sum(p.numel() for p in model.parameters())
        assert report[name]["perplexity"] > 1.0
        assert report[name]["latency_s_per_token"] > 0.0
    assert report["draft"]["params"] < report["target"]["params"]
    assert 0.0 <= report["agreement"] <= 1.0
    ratio = report["draft"]["latency_s_per_token"] / report["target"]["latency_s_per_token"]
    assert report["c"] == pytest.approx(ratio)
    assert report["seed"] == 0 and report["torch_threads"] == 1
    assert report["precision"]["setting"] == "auto" and report["precision"]["path"] == "fp32"
    assert "no AMX-BF16 or AVX512-BF16" in report["precision"]["reason"]
    assert report["precision"]["cpu"]["aten_capability"] == "AVX2"
    assert report["settings"]["target_steps"] == int(SMOKE_SETTINGS["target_steps"])
    assert report["training_time_s"] > 0
    assert not any("test" in f for f in report["corpus"]["train_files"])

    assert _build(monkeypatch, corpus, tmp_path / "b", tmp_path / "b.json") == 0
    for name in ("target", "draft"):
        for file in ("model.safetensors", "tokenizer.json"):
            a, b = (tmp_path / d / name / file for d in ("a", "b"))
            assert a.read_bytes() == b.read_bytes(), f"{name}/{file} differs between builds"


def test_settings_parse_and_validate() -> None:
    assert parse_settings([]) == EmbeddedSettings()
    assert parse_settings(["target_steps=3", "precision=fp32"]).precision == "fp32"
    with pytest.raises(UsageError, match="--set precision=fast: must be one of auto, bf16, fp32"):
        parse_settings(["precision=fast"])
    with pytest.raises(UsageError, match="--set nope"):
        parse_settings(["nope=1"])
    with pytest.raises(UsageError, match="target_lr"):
        parse_settings(["target_lr=fast"])
    with pytest.raises(UsageError, match="draft_hidden"):
        parse_settings(["draft_hidden=30", "draft_heads=4"])
    with pytest.raises(UsageError, match="target_steps"):
        parse_settings(["target_steps=0"])


def test_missing_corpus_is_a_usage_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert _build(monkeypatch, tmp_path / "nope", tmp_path / "o", tmp_path / "r.json") == 2
    assert "--corpus-dir" in capsys.readouterr().err
    assert not (tmp_path / "o").exists() and not (tmp_path / "r.json").exists()
