"""The embedded pair's tokenizer: a byte-level BPE trained on the training text.

Byte-level BPE (as in Pythia/GPT-2) encodes any input without unknown tokens; a small vocabulary
keeps the embedding and output layers, a large share of a small draft's per-token cost, cheap.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

EOS = "<|endoftext|>"


def train_tokenizer(texts: Iterable[str], vocab_size: int) -> Any:
    """Train the BPE on ``texts`` and wrap it as a transformers fast tokenizer (EOS = BOS = UNK).

    Special tokens mirror Pythia's tokenizer so every later step treats the pair like Pythia.
    """
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    bpe.post_processor = processors.ByteLevel(trim_offsets=False)
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=[EOS],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    bpe.train_from_iterator(texts, trainer=trainer)
    return PreTrainedTokenizerFast(
        tokenizer_object=bpe, eos_token=EOS, bos_token=EOS, unk_token=EOS
    )
