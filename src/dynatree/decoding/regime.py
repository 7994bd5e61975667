"""How the model forwards run: eager, or compiled (the two regimes).

Eager, every forward pays PyTorch's per-operation dispatch; on a small model that overhead, not
the arithmetic or the weight traffic, sets the step time. Compiled, the forward of each shape is
one generated program, compiled once before any timing (the decoders' ``prepare``):

- on a CPU, compiled ahead of time by AOTInductor (``decoding.aot``) with the call's token
  count symbolic (``dynamic``): one program for one-token calls and one for all larger ones,
  per model, nothing padded, called without Python wrappers;
- on CUDA, graph capture (``mode="reduce-overhead"``), which needs static shapes: each call is
  padded to a bucket (1, 2, 4, ... and the largest call), one CUDA graph per bucket.

``auto`` compiles where it pays for a benchmark job: on CUDA, where a graph replaces hundreds of
kernel launches per forward; not on a CPU, where a job would spend longer compiling than
compiling saves it (docs/measurements.md, "Compiled forwards against eager"). Torch-free, so
command lines are checked before torch loads.
"""

from __future__ import annotations

from dataclasses import dataclass

#: values of ``--compile`` (``protocol.compile``: true, false, null = auto)
SETTINGS = ("auto", "on", "off")
#: the CPU's compiled mode: compiled ahead of time by AOTInductor (``decoding.aot``)
AOT = "aot-inductor"


@dataclass(frozen=True)
class Regime:
    """Eager (``mode`` None), compiled ahead of time (:data:`AOT`) or with torch.compile
    ``mode`` (CUDA graphs); ``bucketed``: static shapes, each call padded to a bucket (else the
    token count is a symbolic dimension)."""

    mode: str | None = None
    bucketed: bool = False

    @property
    def compiled(self) -> bool:
        return self.mode is not None

    @property
    def name(self) -> str:
        """``eager`` or ``compiled``: how results, tables and the paper name the regime."""
        return "compiled" if self.compiled else "eager"

    def buckets(self, largest: int) -> list[int]:
        """Padded sizes for calls of 1 .. ``largest`` tokens (none: calls run as they are)."""
        return sizes_up_to(largest) if self.bucketed else []

    def shapes(self, largest: int) -> list[int]:
        """One call size per graph the warm-up must compile: every bucket, or for symbolic
        sizes one token (specialised by the compiler) and two (the symbolic graph)."""
        if not self.compiled:
            return []
        return self.buckets(largest) if self.bucketed else sorted({1, min(2, largest)})

    def describe(self) -> dict[str, object]:
        """What the result files record (docs/formats.md, ``protocol.compile``)."""
        shapes = None if not self.compiled else "bucketed" if self.bucketed else "dynamic"
        return {"regime": self.name, "mode": self.mode, "shapes": shapes}


EAGER = Regime()


def sizes_up_to(largest: int) -> list[int]:
    """1, 2, 4, ... below ``largest``, then ``largest`` itself."""
    sizes = []
    size = 1
    while size < largest:
        sizes.append(size)
        size *= 2
    return [*sizes, largest]


def resolve(setting: str, device_type: str) -> Regime:
    """The regime ``setting`` (one of :data:`SETTINGS`) means on a ``device_type`` device."""
    cuda = device_type == "cuda"
    if setting == "on" or (setting == "auto" and cuda):
        return Regime("reduce-overhead", bucketed=True) if cuda else Regime(AOT)
    return EAGER
