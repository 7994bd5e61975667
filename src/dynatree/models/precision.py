"""Which arithmetic the embedded build trains in: bf16 autocast where the CPU has it, else fp32.

bf16 autocast only pays on CPUs with bf16 instructions (AMX or AVX512-BF16): there training is
faster (measured on a 2-core AMD Zen 4 with AVX512-BF16: the whole build 9.6 min in bf16, 12.8
min in fp32 at AVX2). Elsewhere torch emulates bf16 and a step is about 40 times slower than in
fp32 (measured on an AVX2-only AMD EPYC: 347 s vs 8.5 s). The hardware flag alone is not
enough: ATen's kernels (``ATEN_CPU_CAPABILITY``) and oneDNN's (``ONEDNN_MAX_CPU_ISA``) may be
limited below it, and then bf16 is emulated too; so all three must agree before ``auto`` picks
bf16. The recipe (every setting) is the same on every machine; only this arithmetic path differs.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

import torch

_INSTRUCTIONS = {"amx_bf16": "AMX-BF16", "avx512_bf16": "AVX512-BF16"}


@dataclass(frozen=True)
class Precision:
    """The chosen arithmetic path, why, and the CPU facts the choice was made from."""

    setting: str  # the ``precision`` setting: auto, bf16 or fp32
    path: str  # what training runs in: bf16 (autocast, fp32 weights) or fp32
    reason: str
    cpu: dict[str, Any]

    def autocast(self) -> contextlib.AbstractContextManager[Any]:
        """bf16 autocast on the bf16 path (weights and optimiser state stay fp32), else nothing."""
        if self.path == "bf16":
            return torch.autocast("cpu", dtype=torch.bfloat16)
        return contextlib.nullcontext()

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready copy for the build report."""
        return asdict(self)

    def describe(self) -> str:
        """One log line."""
        return f"training arithmetic: {self.path} ({self.reason})"


def cpu_bf16_facts() -> dict[str, Any]:
    """What torch knows about bf16 on this CPU, each fact as the kernels will actually see it.

    ``aten_capability`` honours ``ATEN_CPU_CAPABILITY`` and ``onednn_bf16`` honours
    ``ONEDNN_MAX_CPU_ISA``; the instruction flags are the hardware's (cpuinfo).
    """
    caps = torch.cpu.get_capabilities()
    onednn = getattr(torch.ops.mkldnn, "_is_mkldnn_bf16_supported", None)
    return {
        "aten_capability": torch.backends.cpu.get_cpu_capability(),
        "amx_bf16": bool(caps.get("amx_bf16", False)),
        "avx512_bf16": bool(caps.get("avx512_bf16", False)),
        "onednn_bf16": bool(onednn()) if onednn is not None else False,
    }


def choose_precision(setting: str, facts: Mapping[str, Any] | None = None) -> Precision:
    """The arithmetic path for ``setting``; ``auto`` takes bf16 only where it is native.

    ``facts`` defaults to :func:`cpu_bf16_facts` (tests pass their own).
    """
    cpu = dict(cpu_bf16_facts() if facts is None else facts)
    if setting in ("bf16", "fp32"):
        return Precision(setting, setting, f"precision={setting} set by the user", cpu)
    native = "/".join(label for key, label in _INSTRUCTIONS.items() if cpu[key])
    if not native:
        reason = "auto: no AMX-BF16 or AVX512-BF16 on this CPU, bf16 would be emulated"
    elif cpu["aten_capability"] != "AVX512":
        reason = (
            f"auto: the CPU has {native} but ATen's kernels run at {cpu['aten_capability']} "
            "(ATEN_CPU_CAPABILITY), bf16 would be emulated"
        )
    elif not cpu["onednn_bf16"]:
        reason = (
            f"auto: the CPU has {native} but oneDNN's bf16 is off (ONEDNN_MAX_CPU_ISA), "
            "bf16 would be emulated"
        )
    else:
        return Precision(setting, "bf16", f"auto: native bf16 on this CPU ({native})", cpu)
    return Precision(setting, "fp32", reason, cpu)
