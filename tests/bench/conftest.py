"""Tiny random GPT-NeoX target/draft pairs with a word-level tokenizer, saved like real models.

Built once per session in a temporary directory: the harness loads them through the same
``from_pretrained`` path as the real models, and tests never download anything.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
import torch
from transformers import GPTNeoXConfig, GPTNeoXForCausalLM, PreTrainedTokenizerFast
from word_tokenizer import WORDS, make_tokenizer

import dynatree.cli
from dynatree.bench.prompts import ids_sha256

T = 8  # new tokens per prompt in the CLI tests


def save_model(
    path: Path, tokenizer: PreTrainedTokenizerFast, layers: int, seed: int, vocab: int = 32
) -> Path:
    """A random GPT-NeoX with a padded ``vocab``-row embedding, saved with its tokenizer."""
    torch.manual_seed(seed)
    config = GPTNeoXConfig(
        vocab_size=vocab,
        hidden_size=32,
        num_hidden_layers=layers,
        num_attention_heads=4,
        intermediate_size=64,
        max_position_embeddings=128,
        eos_token_id=1,
        bos_token_id=1,
    )
    GPTNeoXForCausalLM(config).eval().save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path


@pytest.fixture(scope="session")
def models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Paths of a target, a draft sharing its tokenizer, and two incompatible drafts."""
    root = tmp_path_factory.mktemp("bench_models")
    tokenizer = make_tokenizer(WORDS)
    other = make_tokenizer(list(reversed(WORDS)))
    return {
        "target": save_model(root / "target", tokenizer, layers=2, seed=0),
        "draft": save_model(root / "draft", tokenizer, layers=1, seed=1),
        "draft_other_tokenizer": save_model(root / "other", other, layers=1, seed=1),
        "draft_small_vocab": save_model(root / "small", tokenizer, layers=1, seed=1, vocab=8),
    }


def write_prompts(path: Path, lengths: list[int], seed: int = 0) -> Path:
    """A prompts JSONL (docs/formats.md) of random in-vocabulary ids with the given lengths."""
    gen = torch.Generator().manual_seed(seed)
    with open(path, "w", encoding="utf-8") as handle:
        for index, length in enumerate(lengths):
            ids = torch.randint(2, len(WORDS) + 2, (length,), generator=gen).tolist()
            row = {
                "id": f"test-{index:03d}",
                "dataset": "test",
                "source": "random",
                "text": "",
                "input_ids": ids,
                "n_tokens": length,
                "sha256": ids_sha256(ids),
            }
            handle.write(json.dumps(row) + "\n")
    return path


@pytest.fixture
def prompts(tmp_path: Path) -> Path:
    """Three prompts of different lengths (so a warm-up leak changes the summary)."""
    return write_prompts(tmp_path / "prompts.jsonl", [3, 9, 5])


@pytest.fixture
def five_prompts(tmp_path: Path) -> Path:
    """One warm-up and four measured prompts (enough to split a job in two parts of two)."""
    return write_prompts(tmp_path / "five.jsonl", [3, 9, 5, 7, 4])


@pytest.fixture
def bench_argv(models: dict[str, Path]) -> Callable[..., list[str]]:
    """``bench`` arguments for the tiny pair at T=8 with one warm-up prompt, plus ``extra``."""

    def argv(prompts: Path, out: Path, *extra: str) -> list[str]:
        return [
            "bench",
            "--target", str(models["target"]),
            "--draft", str(models["draft"]),
            "--prompts", str(prompts),
            "--max-new-tokens", str(T),
            "--warmup", "1",
            "--threads", "1",
            "--device", "cpu",
            "--out", str(out),
            *extra,
        ]  # fmt: skip

    return argv


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch) -> Callable[..., int]:
    """The real ``dynatree`` entry point with only the bench stage registered."""
    monkeypatch.setattr(dynatree.cli, "_STAGES", ("dynatree.bench.cli",))

    def run(*argv: str | Path) -> int:
        return dynatree.cli.main([str(a) for a in argv])

    return run
