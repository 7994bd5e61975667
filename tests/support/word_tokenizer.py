"""A word-level tokenizer over a few words, saved like a real model's (no download)."""

from __future__ import annotations

from tokenizers import Tokenizer
from tokenizers.models import WordLevel
from tokenizers.pre_tokenizers import Whitespace
from transformers import PreTrainedTokenizerFast

WORDS = "the a cat dog sat ran on under mat tree big small red blue and then it was".split()


def make_tokenizer(words: list[str]) -> PreTrainedTokenizerFast:
    """Word-level tokenizer: ``<unk>`` = 0, ``<eos>`` = 1, then ``words``."""
    vocab = {"<unk>": 0, "<eos>": 1, **{w: i + 2 for i, w in enumerate(words)}}
    core = Tokenizer(WordLevel(vocab, unk_token="<unk>"))
    core.pre_tokenizer = Whitespace()
    return PreTrainedTokenizerFast(tokenizer_object=core, unk_token="<unk>", eos_token="<eos>")
