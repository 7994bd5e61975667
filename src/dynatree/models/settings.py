"""Settings of the embedded model pair: one frozen dataclass, its fields are the ``--set`` keys.

The defaults are the laptop default, sized for the slowest CPU we support: about 12 minutes for
the whole pair on 2 AVX2 cores in fp32 (docs/measurements.md, "Timings, build paths"). They
are the same on every machine; only the arithmetic (``precision``: bf16 where the CPU has it
natively) differs. The pipeline's smoke config overrides a few of them to build a toy pair in
seconds.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, fields
from typing import Any

from dynatree.assignments import build, parse_pairs
from dynatree.bounds import Bound
from dynatree.errors import UsageError

# Values of the ``precision`` setting (what each means: dynatree.models.precision).
PRECISIONS = ("auto", "bf16", "fp32")

# The range of every numeric setting that need not simply be a finite number > 0.
_RANGES: dict[str, Bound] = {
    "seed": Bound(),
    # 0 switches a phase off
    **{
        name: Bound(low=0)
        for name in (
            "draft_steps",
            "greedy_steps",
            "greedy_sequences",
            "warmup_steps",
            "weight_decay",
            "grad_clip",
        )
    },
    "heldout_fraction": Bound(low=0.0, high=0.5, exclusive=True),
    "wikitext_weight": Bound(low=0.0, high=1.0),
    "distill_alpha": Bound(low=0.0, high=1.0),
    "vocab_size": Bound(low=300),  # 256 byte tokens + merges
}
_POSITIVE = Bound(low=0, exclusive=True)


def setting_bound(name: str) -> Bound:
    """The stated range of numeric setting ``name``."""
    return _RANGES.get(name, _POSITIVE)


@dataclass(frozen=True)
class EmbeddedSettings:
    """Everything that decides the embedded pair; recorded verbatim in the build report.

    Sizes: the target must be several times slower per token than the draft (latency ratio c),
    and the draft must agree with the target; both models use GPT-NeoX (Pythia) blocks. On a
    CPU, batch-1 decoding costs mostly a fixed overhead per layer, so a narrow 8-layer target
    keeps c near 0.1 against a 1-layer draft for a quarter of the training arithmetic of a
    512-wide one. With about 1.2M training tokens, small batches learn more per token (held-out
    perplexity 158 after 600 steps of 8 windows, 167 after 300 steps of 16).
    Training: the target learns the corpus; the draft is distilled from the target (KL to the
    target's next-token distribution mixed with cross-entropy) first alongside the target's
    training, then on the finished target's logits, then on the target's own greedy
    continuations, which are exactly what it must predict during speculative decoding.
    """

    seed: int = 0
    threads: int = 2
    # Tokenizer and data.
    vocab_size: int = 4096
    tokenizer_chars: int = 3_000_000
    train_chars: int = 12_000_000
    heldout_fraction: float = 0.02
    wikitext_weight: float = 0.35
    context_length: int = 256
    max_position_embeddings: int = 4096
    # Target model.
    target_layers: int = 8
    target_hidden: int = 256
    target_heads: int = 4
    target_intermediate: int = 1024
    target_steps: int = 600
    target_batch_size: int = 8
    target_lr: float = 2e-3
    # Draft model.
    draft_layers: int = 1
    draft_hidden: int = 128
    draft_heads: int = 4
    draft_intermediate: int = 512
    draft_lr: float = 3e-3
    draft_batch_size: int = 16
    draft_steps: int = 100
    # Distillation.
    distill_alpha: float = 0.8
    distill_joint: bool = True
    greedy_sequences: int = 512
    greedy_prompt_tokens: int = 32
    greedy_new_tokens: int = 96
    greedy_steps: int = 200
    # Optimisation shared by both models.
    warmup_steps: int = 30
    weight_decay: float = 0.01
    grad_clip: float = 1.0
    # Arithmetic of training: auto = bf16 autocast where the CPU has native bf16, else fp32
    # (dynatree.models.precision); bf16 or fp32 force one.
    precision: str = "auto"
    # Evaluation for the report.
    eval_prompts: int = 16
    eval_prompt_tokens: int = 64
    eval_new_tokens: int = 64
    eval_windows: int = 64
    latency_new_tokens: int = 64
    latency_repeats: int = 5

    def validate(self) -> None:
        """Reject settings that cannot build a pair, naming the ``--set`` key: every number
        finite and in its stated range (:func:`setting_bound`), then the rules between them."""
        for f in fields(self):
            if f.type in ("int", "float"):
                setting_bound(f.name).check(f"--set {f.name}", getattr(self, f.name))
        if self.precision not in PRECISIONS:
            raise UsageError(
                f"--set precision={self.precision}: must be one of {', '.join(PRECISIONS)}"
            )
        for model in ("target", "draft"):
            hidden, heads = getattr(self, f"{model}_hidden"), getattr(self, f"{model}_heads")
            if hidden % heads or (hidden // heads) % 4:
                raise UsageError(
                    f"--set {model}_hidden={hidden}, {model}_heads={heads}: the head size "
                    "(hidden / heads) must be a whole multiple of 4"
                )
        if (
            self.greedy_sequences
            and self.greedy_steps
            and (self.greedy_prompt_tokens + self.greedy_new_tokens > self.context_length + 1)
        ):
            raise UsageError(
                "--set greedy_prompt_tokens + greedy_new_tokens: must be <= context_length + 1"
            )
        if self.context_length > self.max_position_embeddings:
            raise UsageError(
                f"--set context_length={self.context_length}: exceeds max_position_embeddings="
                f"{self.max_position_embeddings}; raise max_position_embeddings or shorten it"
            )
        if self.eval_prompt_tokens + self.eval_new_tokens > self.max_position_embeddings:
            raise UsageError(
                "--set eval_prompt_tokens + eval_new_tokens: exceeds max_position_embeddings"
            )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready copy for the report."""
        return dataclasses.asdict(self)


def settings_schema() -> dict[str, Any]:
    """The config's ``models.embedded`` block as a closed JSON-schema object: each setting's
    type and stated range, from the declarations above (unset settings take the defaults)."""
    properties = {}
    for f in fields(EmbeddedSettings):
        kind = str(f.type)
        if f.name == "precision":
            bound = Bound(choices=PRECISIONS)
        else:
            bound = setting_bound(f.name) if kind in ("int", "float") else Bound()
        properties[f.name] = bound.schema(kind)
    return {"type": "object", "additionalProperties": False, "properties": properties}


def parse_settings(pairs: list[str]) -> EmbeddedSettings:
    """``["key=value", ...]`` over the defaults; unknown keys and bad values are usage errors."""
    settings = build(EmbeddedSettings, parse_pairs(pairs, "--set"), "setting")
    settings.validate()
    return settings
