"""Measurements for the build report: perplexity, draft/target agreement, per-token latency.

All in fp32 and eval mode, as the benchmark will run the models; latency is batch-1 greedy
decoding with the KV cache, the regime in which the draft/target cost ratio c matters.
"""

from __future__ import annotations

import math
import time
from typing import Any

import torch
import torch.nn.functional as F

from dynatree.models.training import greedy_continue


@torch.no_grad()
def perplexity(model: Any, windows: torch.Tensor) -> float:
    """exp(mean next-token cross-entropy) over held-out ``windows`` (batch, length)."""
    model.eval()
    total, count = 0.0, 0
    for row in windows.split(8):
        logits = model(row[:, :-1]).logits.float()
        labels = row[:, 1:]
        total += float(
            F.cross_entropy(
                logits.reshape(-1, logits.size(-1)), labels.reshape(-1), reduction="sum"
            )
        )
        count += labels.numel()
    return math.exp(total / count)


@torch.no_grad()
def agreement(target: Any, draft: Any, prompts: torch.Tensor, new_tokens: int) -> dict[str, Any]:
    """Top-1 agreement of the draft with the target on the target's greedy continuations.

    The target continues each held-out prompt greedily; the draft then reads prompt plus
    continuation and, at each continuation position, is right when its argmax is the token the
    target chose: the per-token acceptance chance of a linear speculative decoder.
    """
    target.eval()
    draft.eval()
    sequences = greedy_continue(target, prompts, new_tokens)
    start = prompts.size(1) - 1
    predicted = draft(sequences[:, :-1]).logits[:, start:].argmax(-1)
    chosen = sequences[:, start + 1 :]
    matches = (predicted == chosen).float()
    return {
        "agreement": float(matches.mean()),
        "agreement_first_token": float(matches[:, 0].mean()),
        "tokens": int(matches.numel()),
    }


@torch.no_grad()
def decode_latency(
    models: dict[str, Any], prompt: torch.Tensor, new_tokens: int, repeats: int
) -> dict[str, float]:
    """Seconds per decoded token (prefill excluded) of each model, best of ``repeats`` runs.

    Batch-1 greedy runs alternate between the models, so a burst of load from another process
    falls on both rather than on one (their ratio is c); the minimum is the least disturbed
    estimate on a shared machine.
    """
    best = dict.fromkeys(models, math.inf)
    for _ in range(repeats):
        for name, model in models.items():
            model.eval()
            out = model(prompt, use_cache=True)
            cache = out.past_key_values
            token = out.logits[:, -1].argmax(-1, keepdim=True)
            begin = time.perf_counter()
            for _ in range(new_tokens):
                out = model(token, past_key_values=cache, use_cache=True)
                cache = out.past_key_values
                token = out.logits[:, -1].argmax(-1, keepdim=True)
            best[name] = min(best[name], (time.perf_counter() - begin) / new_tokens)
    return best


def parameter_count(model: Any) -> int:
    """All parameters, embeddings included (as Pythia's model names count them)."""
    return sum(p.numel() for p in model.parameters())
