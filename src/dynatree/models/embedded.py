"""Build the embedded model pair: tokenizer, target, distilled draft, and the build report.

The pair lets the default pipeline run with no network on a laptop CPU; both models are saved
with ``save_pretrained`` next to the shared tokenizer, so later steps load them exactly like
Pythia checkpoints.
"""

from __future__ import annotations

import os
import platform
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import torch

from dynatree.io import atomic_dir
from dynatree.models.corpus import (
    WindowSampler,
    encode_streams,
    load_corpus,
    tokenizer_sample,
)
from dynatree.models.evaluate import agreement, decode_latency, parameter_count, perplexity
from dynatree.models.precision import choose_precision
from dynatree.models.settings import EmbeddedSettings
from dynatree.models.tokenizer import train_tokenizer
from dynatree.models.training import (
    build_model,
    cycle_batches,
    distill_draft,
    greedy_corpus,
    train_target,
)

REPORT_SCHEMA = "dynatree.embedded/1"


class _Clock:
    """Wall time per build phase, for the report."""

    def __init__(self) -> None:
        self.start = self.last = time.perf_counter()
        self.phases: dict[str, float] = {}

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.phases[name] = round(now - self.last, 3)
        self.last = now

    def total(self) -> float:
        return round(time.perf_counter() - self.start, 3)


def build_embedded(corpus_dir: Path, out_dir: Path, settings: EmbeddedSettings) -> dict[str, Any]:
    """Train the pair, save ``out_dir/target`` and ``out_dir/draft``; return the report."""
    torch.set_num_threads(settings.threads)
    torch.manual_seed(settings.seed)
    precision = choose_precision(settings.precision)
    print(precision.describe(), file=sys.stderr, flush=True)
    clock = _Clock()

    corpus = load_corpus(corpus_dir, settings.train_chars, settings.heldout_fraction)
    tokenizer = train_tokenizer(
        tokenizer_sample(corpus, settings.tokenizer_chars), settings.vocab_size
    )
    clock.lap("tokenizer_s")
    train_streams = encode_streams(corpus.train, tokenizer)
    heldout_streams = encode_streams(corpus.heldout, tokenizer)
    window = settings.context_length + 1
    sampler = WindowSampler(train_streams, window, settings.wikitext_weight, settings.seed + 2)
    clock.lap("encode_s")

    vocab, eos = len(tokenizer), tokenizer.eos_token_id
    torch.manual_seed(settings.seed)
    target = build_model(settings, "target", vocab, eos)
    torch.manual_seed(settings.seed + 1)
    draft = build_model(settings, "draft", vocab, eos)
    losses = train_target(target, draft, sampler, settings, precision)
    clock.lap("target_s")
    if settings.draft_steps:
        losses["draft_distill_final_loss"] = distill_draft(
            target,
            draft,
            lambda: sampler.batch(settings.draft_batch_size),
            settings.draft_steps,
            settings,
            precision,
            "draft distil",
        )
    clock.lap("draft_distill_s")
    if settings.greedy_sequences and settings.greedy_steps:
        greedy_sampler = WindowSampler(
            train_streams, window, settings.wikitext_weight, settings.seed + 3
        )
        sequences = greedy_corpus(target, greedy_sampler, settings, precision)
        losses["draft_greedy_final_loss"] = distill_draft(
            target,
            draft,
            cycle_batches(sequences, settings.draft_batch_size, settings.seed + 4),
            settings.greedy_steps,
            settings,
            precision,
            "draft greedy",
        )
    clock.lap("draft_greedy_s")
    training_s = round(clock.last - clock.start, 3)

    evaluation = _evaluate(target, draft, heldout_streams, settings)
    clock.lap("eval_s")
    _save_pair(out_dir, target, draft, tokenizer)
    clock.lap("save_s")
    return {
        "schema": REPORT_SCHEMA,
        "seed": settings.seed,
        "settings": settings.to_dict(),
        "torch_threads": torch.get_num_threads(),
        "precision": precision.to_dict(),
        "corpus": {
            "dir": str(corpus_dir),
            "train_files": corpus.files,
            "train_chars": corpus.train_chars(),
            "train_tokens": {k: len(v) for k, v in train_streams.items()},
            "heldout_tokens": {k: len(v) for k, v in heldout_streams.items()},
        },
        "tokenizer": {"vocab_size": vocab, "eos_token": tokenizer.eos_token},
        "target": {"params": parameter_count(target), **evaluation["target"]},
        "draft": {"params": parameter_count(draft), **evaluation["draft"]},
        "agreement": evaluation["agreement"],
        "agreement_first_token": evaluation["agreement_detail"]["agreement_first_token"],
        "agreement_tokens": evaluation["agreement_detail"]["tokens"],
        "c": evaluation["draft"]["latency_s_per_token"]
        / evaluation["target"]["latency_s_per_token"],
        "losses": losses,
        "training_time_s": training_s,
        "timing_s": {**clock.phases, "total_s": clock.total()},
        "provenance": _provenance(),
    }


def _evaluate(
    target: Any, draft: Any, streams: dict[str, torch.Tensor], settings: EmbeddedSettings
) -> dict[str, Any]:
    """Held-out perplexity of both, agreement, and the per-token decode latency of both."""
    window = settings.context_length + 1
    length = min(window, min(len(s) for s in streams.values()) - 1)
    heldout = WindowSampler(streams, length, settings.wikitext_weight, settings.seed + 5)
    windows = heldout.batch(settings.eval_windows)
    prompts = heldout.batch(settings.eval_prompts)[:, : settings.eval_prompt_tokens]
    agree = agreement(target, draft, prompts, settings.eval_new_tokens)
    latency = decode_latency(
        {"target": target, "draft": draft},
        prompts[:1],
        settings.latency_new_tokens,
        settings.latency_repeats,
    )
    return {
        "agreement": agree["agreement"],
        "agreement_detail": agree,
        "target": {
            "perplexity": perplexity(target, windows),
            "latency_s_per_token": latency["target"],
        },
        "draft": {
            "perplexity": perplexity(draft, windows),
            "latency_s_per_token": latency["draft"],
        },
    }


def _save_pair(out_dir: Path, target: Any, draft: Any, tokenizer: Any) -> None:
    """Write both model directories into a temporary sibling, then move it onto ``out_dir``."""
    with atomic_dir(out_dir) as tmp:
        for name, model in (("target", target), ("draft", draft)):
            model.save_pretrained(tmp / name)
            tokenizer.save_pretrained(tmp / name)


def _provenance() -> dict[str, Any]:
    import tokenizers
    import transformers

    return {
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "tokenizers": tokenizers.__version__,
        "python": platform.python_version(),
        "cpu_model": _cpu_model(),
        "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY"),
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()
