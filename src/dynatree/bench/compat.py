"""Checks that need the loaded models: shared tokenizer, vocabularies that cover it, prompt ids.

Speculative decoding compares draft and target token ids directly, so both must speak the same
vocabulary; an embedding matrix may be padded beyond the tokenizer (Pythia pads to 50304), which
is fine as long as it covers every id the tokenizer can produce.
"""

from __future__ import annotations

from typing import Any

from dynatree.bench.prompts import Prompt
from dynatree.errors import UsageError


def output_vocab(model: Any) -> int:
    """Rows of the model's output projection: the ids its logits can name."""
    head = model.get_output_embeddings()
    if head is not None:
        return int(head.weight.shape[0])
    return int(model.config.vocab_size)


def tokenizer_size(tokenizer: Any) -> int:
    """One past the largest id the tokenizer knows (added tokens included)."""
    return max(tokenizer.get_vocab().values()) + 1


def check_pair(target: Any, target_tok: Any, draft: Any, draft_tok: Any) -> None:
    """Draft and target must share the tokenizer, and both output layers must cover it."""
    if target_tok.get_vocab() != draft_tok.get_vocab():
        raise UsageError(
            "--draft: its tokenizer's vocabulary differs from --target's; "
            "speculative decoding needs one shared tokenizer"
        )
    size = tokenizer_size(target_tok)
    for flag, model in (("--target", target), ("--draft", draft)):
        if output_vocab(model) < size:
            raise UsageError(
                f"{flag}: output vocabulary {output_vocab(model)} < the tokenizer's {size} ids"
            )


def check_prompt_ids(prompts: list[Prompt], target: Any, prompts_path: str) -> None:
    """Every prompt id must be a row of the target's embedding (else: prompts of another model)."""
    rows = int(target.get_input_embeddings().weight.shape[0])
    for prompt in prompts:
        top = max(prompt.input_ids)
        if top >= rows:
            raise UsageError(
                f"--prompts {prompts_path!r}: prompt {prompt.id!r} has token id {top} >= the "
                f"target's {rows} embeddings; tokenize the prompts with the target's tokenizer"
            )
