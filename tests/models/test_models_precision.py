"""The training arithmetic: bf16 only where the CPU runs it natively, as torch's kernels see it."""

from __future__ import annotations

import pytest
import torch

from dynatree.models.precision import choose_precision, cpu_bf16_facts

NATIVE = {"aten_capability": "AVX512", "amx_bf16": False, "avx512_bf16": True, "onednn_bf16": True}


@pytest.mark.parametrize(
    ("facts", "path", "why"),
    [
        (NATIVE, "bf16", "AVX512-BF16"),
        ({**NATIVE, "amx_bf16": True, "avx512_bf16": False}, "bf16", "AMX-BF16"),
        ({**NATIVE, "avx512_bf16": False}, "fp32", "no AMX-BF16 or AVX512-BF16"),
        ({**NATIVE, "aten_capability": "AVX2"}, "fp32", "ATEN_CPU_CAPABILITY"),
        ({**NATIVE, "onednn_bf16": False}, "fp32", "ONEDNN_MAX_CPU_ISA"),
    ],
)
def test_auto_takes_bf16_only_where_native(facts: dict, path: str, why: str) -> None:
    choice = choose_precision("auto", facts)
    assert (choice.setting, choice.path, choice.cpu) == ("auto", path, facts)
    assert why in choice.reason and path in choice.describe()


@pytest.mark.parametrize("forced", ["bf16", "fp32"])
def test_a_forced_precision_wins(forced: str) -> None:
    for facts in (NATIVE, {**NATIVE, "avx512_bf16": False}):
        choice = choose_precision(forced, facts)
        assert choice.path == forced and "set by the user" in choice.reason


def test_autocast_follows_the_path() -> None:
    layer = torch.nn.Linear(4, 4)
    x = torch.randn(2, 4)
    with choose_precision("bf16", NATIVE).autocast():
        assert layer(x).dtype == torch.bfloat16
    with choose_precision("fp32", NATIVE).autocast():
        assert layer(x).dtype == torch.float32


def test_facts_are_what_torch_reports() -> None:
    facts = cpu_bf16_facts()
    assert facts["aten_capability"] == torch.backends.cpu.get_cpu_capability()
    assert {type(facts[k]) for k in ("amx_bf16", "avx512_bf16", "onednn_bf16")} == {bool}
