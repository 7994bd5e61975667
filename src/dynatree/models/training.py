"""Train the embedded target and distil the draft from it (CPU, seeded, with progress bars).

Speculative decoding only pays when the draft predicts the *target's* next token, so after (and
optionally during) the target's training the draft minimises a KL divergence to the target's
logits, finishing on the target's own greedy continuations: the text it will be asked to guess.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from typing import Any

import torch
import torch.nn.functional as F
from tqdm import tqdm

from dynatree.models.corpus import WindowSampler
from dynatree.models.precision import Precision
from dynatree.models.settings import EmbeddedSettings


def build_model(settings: EmbeddedSettings, which: str, vocab_size: int, eos_id: int) -> Any:
    """A randomly initialised GPT-NeoX (Pythia architecture) of the ``which`` model's size."""
    from transformers import GPTNeoXConfig, GPTNeoXForCausalLM

    config = GPTNeoXConfig(
        vocab_size=vocab_size,
        hidden_size=getattr(settings, f"{which}_hidden"),
        num_hidden_layers=getattr(settings, f"{which}_layers"),
        num_attention_heads=getattr(settings, f"{which}_heads"),
        intermediate_size=getattr(settings, f"{which}_intermediate"),
        max_position_embeddings=settings.max_position_embeddings,
        rope_parameters={
            "rope_type": "default",
            "rope_theta": 10000.0,
            "partial_rotary_factor": 0.25,
        },
        use_parallel_residual=True,
        tie_word_embeddings=False,
        bos_token_id=eos_id,
        eos_token_id=eos_id,
    )
    return GPTNeoXForCausalLM(config)


class _Trainer:
    """AdamW with linear warm-up and cosine decay to 10 % over ``steps``, plus gradient clipping."""

    def __init__(self, model: Any, lr: float, steps: int, settings: EmbeddedSettings):
        decay = [p for n, p in model.named_parameters() if p.dim() >= 2]
        other = [p for n, p in model.named_parameters() if p.dim() < 2]
        self.model = model
        self.optimizer = torch.optim.AdamW(
            [
                {"params": decay, "weight_decay": settings.weight_decay},
                {"params": other, "weight_decay": 0.0},
            ],
            lr=lr,
            betas=(0.9, 0.95),
        )
        warmup = min(settings.warmup_steps, max(1, steps // 10))
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(
            self.optimizer, lambda s: _lr_factor(s, warmup, steps)
        )
        self.clip = settings.grad_clip

    def step(self, loss: torch.Tensor) -> float:
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if self.clip > 0:
            torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.clip)
        self.optimizer.step()
        self.scheduler.step()
        return float(loss.detach())


def _lr_factor(step: int, warmup: int, total: int) -> float:
    if step < warmup:
        return (step + 1) / warmup
    progress = min(1.0, (step - warmup) / max(1, total - warmup))
    return 0.1 + 0.9 * 0.5 * (1.0 + math.cos(math.pi * progress))


def distill_loss(
    draft_logits: torch.Tensor,
    target_logits: torch.Tensor,
    labels: torch.Tensor,
    settings: EmbeddedSettings,
) -> torch.Tensor:
    """Cross-entropy of the draft against ``alpha * softmax(target) + (1 - alpha) * onehot(label)``.

    That is ``alpha * KL(target || draft) + (1 - alpha) * CE(draft, labels)`` plus the target's
    entropy, a constant for the draft: the same gradient for one log-softmax over the
    vocabulary instead of three (the loss is the larger part of a draft step).
    """
    vocab = draft_logits.size(-1)
    alpha = settings.distill_alpha
    with torch.no_grad():
        soft = F.softmax(target_logits.float().reshape(-1, vocab), dim=-1).mul_(alpha)
        soft.scatter_add_(1, labels.reshape(-1, 1), torch.full((soft.size(0), 1), 1.0 - alpha))
    return F.cross_entropy(draft_logits.float().reshape(-1, vocab), soft)


def _bar(total: int, desc: str) -> Any:
    return tqdm(total=total, desc=desc, unit="step", dynamic_ncols=True, mininterval=2.0)


def train_target(
    target: Any,
    draft: Any,
    sampler: WindowSampler,
    settings: EmbeddedSettings,
    precision: Precision,
) -> dict[str, float]:
    """Train the target on the corpus; with ``distill_joint`` the draft follows it step by step.

    The joint draft reuses the target's forward pass (its logits, detached), so following the
    target costs only the draft's own small forward and backward.
    """
    target.train()
    draft.train()
    t_opt = _Trainer(target, settings.target_lr, settings.target_steps, settings)
    d_opt = _Trainer(draft, settings.draft_lr, settings.target_steps, settings)
    t_loss = d_loss = float("nan")
    with _bar(settings.target_steps, "target") as bar:
        for _ in range(settings.target_steps):
            batch = sampler.batch(settings.target_batch_size)
            inputs, labels = batch[:, :-1], batch[:, 1:]
            with precision.autocast():
                logits = target(inputs).logits
            loss = F.cross_entropy(logits.float().reshape(-1, logits.size(-1)), labels.reshape(-1))
            t_loss = t_opt.step(loss)
            if settings.distill_joint:
                with precision.autocast():
                    d_logits = draft(inputs).logits
                d_loss = d_opt.step(distill_loss(d_logits, logits.detach(), labels, settings))
            bar.set_postfix(loss=f"{t_loss:.3f}", draft=f"{d_loss:.3f}")
            bar.update()
    return {"target_final_loss": t_loss, "draft_joint_final_loss": d_loss}


def distill_draft(
    target: Any,
    draft: Any,
    batches: Callable[[], torch.Tensor],
    steps: int,
    settings: EmbeddedSettings,
    precision: Precision,
    desc: str,
) -> float:
    """``steps`` draft updates on the frozen target's logits for batches from ``batches()``."""
    target.eval()
    draft.train()
    opt = _Trainer(draft, settings.draft_lr, steps, settings)
    loss = float("nan")
    with _bar(steps, desc) as bar:
        for _ in range(steps):
            batch = batches()
            inputs, labels = batch[:, :-1], batch[:, 1:]
            with torch.no_grad(), precision.autocast():
                t_logits = target(inputs).logits
            with precision.autocast():
                d_logits = draft(inputs).logits
            loss = opt.step(distill_loss(d_logits, t_logits, labels, settings))
            bar.set_postfix(loss=f"{loss:.3f}")
            bar.update()
    return loss


@torch.no_grad()
def greedy_continue(model: Any, ids: torch.Tensor, new_tokens: int) -> torch.Tensor:
    """``ids`` (batch, prompt) followed by ``new_tokens`` greedy tokens, with the KV cache."""
    out = model(ids, use_cache=True)
    cache = out.past_key_values
    token = out.logits[:, -1].argmax(-1, keepdim=True)
    generated = [token]
    for _ in range(new_tokens - 1):
        out = model(token, past_key_values=cache, use_cache=True)
        cache = out.past_key_values
        token = out.logits[:, -1].argmax(-1, keepdim=True)
        generated.append(token)
    return torch.cat([ids, *generated], dim=1)


def greedy_corpus(
    target: Any,
    sampler: WindowSampler,
    settings: EmbeddedSettings,
    precision: Precision,
    chunk: int = 32,
) -> torch.Tensor:
    """``greedy_sequences`` corpus prompts, each followed by the target's greedy continuation."""
    target.eval()
    rows = []
    with _bar(math.ceil(settings.greedy_sequences / chunk), "target greedy") as bar:
        for start in range(0, settings.greedy_sequences, chunk):
            size = min(chunk, settings.greedy_sequences - start)
            prompts = sampler.batch(size)[:, : settings.greedy_prompt_tokens]
            with precision.autocast():
                rows.append(greedy_continue(target, prompts, settings.greedy_new_tokens))
            bar.update()
    return torch.cat(rows)


def cycle_batches(
    sequences: torch.Tensor, batch_size: int, seed: int
) -> Callable[[], torch.Tensor]:
    """Endless seeded reshuffled epochs over ``sequences`` in batches of ``batch_size``."""
    generator = torch.Generator().manual_seed(seed)

    def rows() -> Iterator[int]:
        while True:
            yield from torch.randperm(len(sequences), generator=generator).tolist()

    order = rows()
    return lambda: sequences[[next(order) for _ in range(batch_size)]]
