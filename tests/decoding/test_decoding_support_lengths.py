"""The support checks that depend on the run's lengths: rope scaling and position tables.

Rotary types whose frequencies follow the longest position of the current forward (longrope,
dynamic) decode wrong tokens once a run crosses their switch point: a verification forward over
several drafted tokens rotates them unlike one token at a time, and for longrope transformers'
generate even recomputes the cache there. These tests reproduce that on tiny random models,
then check that every run the guard lets through is exact (token-identical to transformers'
greedy ``generate``) and that it lets through the runs that are.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest
import torch
import transformers as tf
from tiny_models import ARCH_VOCAB, ARCHITECTURES, arch_model, greedy_generate
from transformers.modeling_rope_utils import ROPE_INIT_FUNCTIONS
from transformers.models.llama.modeling_llama import LlamaRotaryEmbedding

from dynatree.decoding.registry import build_decoder, parse_params
from dynatree.decoding.support import (
    EXTRAPOLATES,
    LENGTH_ROPE,
    STATIC_ROPE,
    check_rope,
    fixed_positions,
    rope_switches,
    rope_types,
)
from dynatree.errors import UsageError
from dynatree.locate import position_limit

pytestmark = pytest.mark.usefixtures("one_thread")

SWITCH = 32  # where the tiny models' length-dependent rotations switch
HEAD_PAIRS = 4  # rotary frequencies per head (head size 8)
#: rope parameters of each rotary type transformers knows (a new type fails until added here)
ROPE = {
    "default": {"rope_type": "default"},
    "linear": {"rope_type": "linear", "factor": 2.0},
    "dynamic": {"rope_type": "dynamic", "factor": 8.0},
    "yarn": {"rope_type": "yarn", "factor": 4.0, "original_max_position_embeddings": SWITCH},
    "longrope": {
        "rope_type": "longrope",
        "short_factor": [1.0] * HEAD_PAIRS,
        "long_factor": [1.0, 8.0, 64.0, 0.5],
        "original_max_position_embeddings": SWITCH,
    },
    "llama3": {
        "rope_type": "llama3",
        "factor": 4.0,
        "low_freq_factor": 1.0,
        "high_freq_factor": 4.0,
        "original_max_position_embeddings": SWITCH,
    },
    "proportional": {"rope_type": "proportional", "factor": 2.0},
}
METHODS = {
    "ar": {},
    "linear": {"K": "4"},
    "fixed_tree": {"D": "4", "B": "2", "tau": "0.001"},
    "dynatree": {"tau": "0.001", "rho_stop": "0.0001", "D_0": "2", "D_max": "4"},
    "hf_assisted": {},
}


def llama_config(rope: str, positions: int) -> Any:
    return tf.LlamaConfig(
        vocab_size=ARCH_VOCAB, hidden_size=16, num_hidden_layers=2, num_attention_heads=2,
        num_key_value_heads=1, intermediate_size=32, max_position_embeddings=positions,
        initializer_range=0.3, rope_parameters={"rope_theta": 10000.0, **ROPE[rope]},
    )  # fmt: skip


def phi3_longrope(seed: int) -> torch.nn.Module:
    """Phi-3 as the 128k models ship it: longrope factors, original_max_position_embeddings."""
    torch.manual_seed(seed)
    config = tf.Phi3Config(
        vocab_size=ARCH_VOCAB, hidden_size=16, num_hidden_layers=2, num_attention_heads=2,
        num_key_value_heads=1, intermediate_size=32, max_position_embeddings=4 * SWITCH,
        original_max_position_embeddings=SWITCH, initializer_range=0.3, pad_token_id=0,
        rope_scaling={k: v for k, v in ROPE["longrope"].items() if "original" not in k},
    )  # fmt: skip
    return tf.AutoModelForCausalLM.from_config(config, attn_implementation="eager").eval()


def llama_dynamic(seed: int) -> torch.nn.Module:
    torch.manual_seed(seed)
    config = llama_config("dynamic", positions=SWITCH)
    return tf.AutoModelForCausalLM.from_config(config, attn_implementation="eager").eval()


def test_every_rope_type_transformers_knows_is_classified() -> None:
    known = set(ROPE_INIT_FUNCTIONS) | {"default"}
    assert known == STATIC_ROPE | set(LENGTH_ROPE) == set(ROPE)
    assert not STATIC_ROPE & set(LENGTH_ROPE)


def _cos(rotary: torch.nn.Module, last: int) -> torch.Tensor:
    """The rotation of positions 0..7 in a forward whose longest position is ``last``."""
    positions = torch.tensor([[*range(8), last]])
    cos, _ = rotary(torch.zeros(1), positions)
    return cos[0, :8]


@pytest.mark.parametrize("rope", sorted(ROPE))
def test_classification_matches_how_transformers_rotates(rope: str) -> None:
    """Static types rotate a position alike in every forward; length-dependent ones switch
    exactly where :func:`rope_switches` says: once a forward's sequence passes the point."""
    config = llama_config(rope, positions=SWITCH)
    assert rope_types(config.to_dict()) == [rope]
    short = _cos(LlamaRotaryEmbedding(config), 8)
    switches = rope_switches(config.to_dict())
    if rope in STATIC_ROPE:
        assert not switches
        assert torch.equal(short, _cos(LlamaRotaryEmbedding(config), 4 * SWITCH))
        return
    assert [(kind, at) for kind, at, _, _ in switches] == [(rope, SWITCH)]
    assert torch.equal(short, _cos(LlamaRotaryEmbedding(config), SWITCH - 1))  # seq_len = at
    assert not torch.equal(short, _cos(LlamaRotaryEmbedding(config), SWITCH))  # seq_len = at + 1


RAW_FORMS = {
    "phi3 rope_scaling longrope, top-level original": {
        "model_type": "phi3",
        "original_max_position_embeddings": SWITCH,
        "rope_scaling": {"type": "longrope", "short_factor": [1.0] * 4, "long_factor": [2.0] * 4},
    },
    "phi3 legacy 'su' with the original inside": {
        "model_type": "phi3",
        "rope_scaling": {
            "type": "su",
            "short_factor": [1.0] * 4,
            "long_factor": [2.0] * 4,
            "original_max_position_embeddings": SWITCH,
        },
    },
    "phi3 legacy 'yarn', both originals": {
        "model_type": "phi3",
        "original_max_position_embeddings": SWITCH,
        "rope_scaling": {
            "type": "yarn",
            "short_factor": [1.0] * 4,
            "long_factor": [2.0] * 4,
            "original_max_position_embeddings": 2 * SWITCH,
        },
    },
    "llama rope_scaling dynamic": {
        "model_type": "llama",
        "max_position_embeddings": SWITCH,
        "rope_scaling": {"type": "dynamic", "factor": 2.0},
    },
    "llama rope_parameters longrope": {
        "model_type": "llama",
        "rope_parameters": {**ROPE["longrope"], "rope_theta": 10000.0},
    },
    "qwen2 rope_scaling yarn (static)": {
        "model_type": "qwen2",
        "rope_scaling": {"rope_type": "yarn", "factor": 4.0, "original_max_position_embeddings": 8},
    },
}


@pytest.mark.parametrize("form", RAW_FORMS, ids=list(RAW_FORMS))
def test_config_json_is_read_as_transformers_reads_it(form: str) -> None:
    """The torch-free check reads config.json as written (legacy names, keys in either place);
    the switch transformers will use must be among the points it checks."""
    raw = {
        "vocab_size": ARCH_VOCAB, "hidden_size": 16, "num_attention_heads": 2,
        "max_position_embeddings": 4 * SWITCH, **RAW_FORMS[form],
    }  # fmt: skip
    config = tf.AutoConfig.for_model(**raw)
    loaded = config.rope_parameters
    runtime = {  # where transformers' dynamic_rope_update switches
        "longrope": {loaded.get("original_max_position_embeddings")},
        "dynamic": {config.max_position_embeddings},
    }.get(loaded["rope_type"], set())
    for read in (raw, config.to_dict()):  # as bench reads config.json, and after AutoConfig
        assert rope_types(read) == [loaded["rope_type"]]
        points = {at for _, at, _, _ in rope_switches(read)}
        assert runtime <= points and bool(points) == bool(runtime)


# name: (model builder, prompt tokens, T, runs past the model's positions)
SCENARIOS = {
    "longrope: prompt + T crosses the switch": (phi3_longrope, 24, 16),
    "longrope: all before the switch": (phi3_longrope, 8, 16),
    "longrope: all past the switch": (phi3_longrope, 40, 16),
    "dynamic: --beyond-context crosses the switch": (llama_dynamic, 24, 24),
    "dynamic: within the positions": (llama_dynamic, 8, 16),
}
CROSSING = [name for name in SCENARIOS if "crosses" in name]


def _prompt(length: int, seed: int) -> torch.Tensor:
    return torch.randint(0, ARCH_VOCAB, (1, length), generator=torch.Generator().manual_seed(seed))


def _run(method: str, target: torch.nn.Module, prompt: torch.Tensor, n: int) -> list[int]:
    draft = copy.deepcopy(target) if method != "ar" else None
    return (
        build_decoder(method, parse_params(method, METHODS[method]), target, draft)
        .generate(prompt, n)
        .tokens
    )


def _refusal(target: torch.nn.Module, method: str, length: int, n: int) -> str | None:
    try:
        check_rope(target.config.to_dict(), "--target", method, [("p", length)], n)
    except UsageError as exc:
        return str(exc)
    return None


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("method", list(METHODS))
@pytest.mark.parametrize("scenario", SCENARIOS, ids=list(SCENARIOS))
def test_every_run_the_guard_accepts_equals_generate(scenario: str, method: str, seed: int) -> None:
    build, length, n = SCENARIOS[scenario]
    target = build(seed)
    prompt = _prompt(length, seed)
    refusal = _refusal(target, method, length, n)
    if refusal is None:
        assert _run(method, target, prompt, n) == greedy_generate(target, prompt, n)
        return
    assert scenario in CROSSING  # runs that are exact are not refused
    kind = "longrope" if "longrope" in scenario else "dynamic"
    assert "\n" not in refusal and f"passes {SWITCH}" in refusal and kind in refusal
    assert f"--target's {target.config.model_type}" in refusal and "keep prompt + T <=" in refusal


@pytest.mark.parametrize("scenario", CROSSING)
def test_crossing_the_switch_breaks_exactness_without_the_guard(scenario: str) -> None:
    """Why the refusals above are needed: some decoder's tokens differ from generate's."""
    build, length, n = SCENARIOS[scenario]
    target = build(0)
    prompt = _prompt(length, 0)
    reference = greedy_generate(target, prompt, n)
    wrong = [m for m in METHODS if _run(m, target, prompt, n) != reference]
    assert {"linear", "fixed_tree"} <= set(wrong)
    assert ("ar" in wrong) == ("longrope" in scenario)  # Phi-3's generate recomputes its cache


@pytest.mark.parametrize("arch", sorted(ARCHITECTURES))
def test_only_models_without_a_position_table_run_past_it(arch: str) -> None:
    """``--beyond-context`` is refused exactly for the models that would fail there."""
    model = arch_model(arch, positions=16)
    config = model.config.to_dict()
    prompt = torch.randint(0, ARCH_VOCAB, (1, 6), generator=torch.Generator().manual_seed(0))
    ar = build_decoder("ar", parse_params("ar", {}), model)
    if model.config.model_type in EXTRAPOLATES:
        assert fixed_positions(config) is None
        assert len(ar.generate(prompt, 16).tokens) == 16
    else:
        assert position_limit(config)[1] == 16  # the limit is read whatever its key (max_seq_len)
        assert "table of that many rows" in fixed_positions(config)
        with pytest.raises((IndexError, RuntimeError)):
            ar.generate(prompt, 16)
