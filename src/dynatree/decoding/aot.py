"""The CPU's compiled regime: a runner's head compiled ahead of time by AOTInductor.

``torch.compile`` on a CPU leaves about 0.3 ms per call in dynamo's frame wrapper and inductor's
Python wrapper, which is most of a small draft's step (docs/measurements.md, "Compiled ahead of
time").
Here the head over a :class:`SlotCache` is exported (``torch.export``) and compiled into a
package whose call is one C++ function: two packages per model, head and cache capacity, one for
one-token calls (the token count specialised) and one for calls of two tokens or more, each with
the token count and the attended window as export dimensions.

A package holds no tensor of its own. The model's weights and the cache's key and value buffers
are this process's tensors, handed over as user-managed constants
(``load_constants(..., user_managed=True)``): a call writes the runner's cache in place, so
moving accepted entries (``SlotCache.move``) needs nothing from the package, and a package built
for one model serves any model of the same configuration. Packages are kept on disk under
inductor's cache directory (``TORCHINDUCTOR_CACHE_DIR``, which the pipeline sets), named by a
digest of everything that decides the generated code (:func:`package_key`), so every later
process, job and decoder of the same shape loads instead of compiling.
"""

from __future__ import annotations

import functools
import hashlib
import inspect
import json
import os
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from dynatree.decoding import kv


class _HeadOverCache(torch.nn.Module):
    """``head(model, cache, ids, positions, mask)`` over a :class:`kv.SlotCache` whose buffers
    are this module's, so that ``torch.export`` sees the cache writes as buffer mutations."""

    def __init__(self, model: Any, head: Callable[..., Any], shapes: list[torch.Size]) -> None:
        super().__init__()
        self.model, self.head, self.layers = model, head, len(shapes)
        self.capacity = shapes[0][2]
        param = next(model.parameters())
        for i, shape in enumerate(shapes):
            for kind in "kv":
                buffer = torch.zeros(shape, dtype=param.dtype, device=param.device)
                self.register_buffer(f"{kind}{i}", buffer)

    def forward(
        self, ids: torch.Tensor, positions: torch.Tensor, mask: torch.Tensor, slots: torch.Tensor
    ) -> Any:
        cache = kv.SlotCache(self.capacity)
        cache.slots, cache.mask = slots, mask
        for i in range(self.layers):
            layer = cache.layer_class_to_replicate()
            layer.keys, layer.values = getattr(self, f"k{i}"), getattr(self, f"v{i}")
            layer.dtype, layer.device, layer.is_initialized = mask.dtype, mask.device, True
            cache.layers.append(layer)
        return self.head(self.model, cache, ids, positions, mask)


def _head_name(head: Callable[..., Any]) -> str:
    """The head's function and bound arguments (``top_k`` with its k is another program)."""
    if isinstance(head, functools.partial):
        return f"{_head_name(head.func)}{sorted(head.keywords.items())}{head.args}"
    return f"{head.__module__}.{head.__qualname__}"


def _head_module(head: Callable[..., Any]) -> str:
    """The module that defines the head's function."""
    return _head_module(head.func) if isinstance(head, functools.partial) else head.__module__


@functools.cache
def _code_digest(head_module: str) -> str:
    """The source that the exported program traces besides the model: the cache, this module
    and the module that defines the head."""
    modules = (kv, sys.modules[__name__], sys.modules[head_module])
    text = "".join(inspect.getsource(module) for module in modules)
    return hashlib.sha256(text.encode()).hexdigest()


def package_key(model: Any, head: Callable[..., Any], shapes: list[torch.Size], many: bool) -> str:
    """A digest of everything the generated code depends on: library versions, this package's
    tracing code, the model's configuration and dtype, the head, the cache's buffer shapes, the
    call kind and the CPU's vector instructions inductor generates for."""
    import transformers
    from torch._inductor.cpu_vec_isa import pick_vec_isa

    param = next(model.parameters())
    parts = {
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "code": _code_digest(_head_module(head)),
        "config": model.config.to_json_string(use_diff=False),
        "dtype": str(param.dtype),
        "device": param.device.type,
        "head": _head_name(head),
        "shapes": [list(s) for s in shapes],
        "many": many,
        "isa": str(pick_vec_isa()),
    }
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:32]


def package_dir() -> Path:
    """Where packages are kept: beside inductor's own on-disk cache."""
    from torch._inductor.runtime.cache_dir_utils import cache_dir

    return Path(cache_dir()) / "dynatree-aot"


def _example(tokens: int, window: int, dtype: torch.dtype, device: torch.device) -> tuple:
    ids = torch.zeros(1, tokens, dtype=torch.long, device=device)
    mask = torch.zeros(1, 1, tokens, window, dtype=dtype, device=device)
    return ids, ids.clone(), mask, torch.arange(tokens, device=device)


def _build(module: _HeadOverCache, many: bool, path: Path) -> None:
    """Export ``module`` for one-token calls or for calls of two tokens or more, and compile it
    into a package at ``path`` (written beside it, then renamed: concurrent jobs may race)."""
    from torch.export import Dim

    top = module.capacity - 1  # the runner keeps every window below the capacity
    window = Dim("window", min=2, max=top)
    param = next(module.model.parameters())
    if many:
        tokens = Dim("tokens", min=2, max=top)
        example = _example(2, 3, param.dtype, param.device)
        dims: tuple = ({1: tokens}, {1: tokens}, {2: tokens, 3: window}, {0: tokens})
    else:
        example = _example(1, 2, param.dtype, param.device)
        dims = (None, None, {3: window}, None)
    exported = torch.export.export(module, example, dynamic_shapes=dims, strict=False)
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=path.parent) as scratch:
        partial = Path(scratch) / path.name
        with torch._inductor.config.patch({"aot_inductor.package_constants_in_so": False}):
            torch._inductor.aoti_compile_and_package(exported, package_path=str(partial))
        os.replace(partial, path)


class AotHead:
    """A head, ``head(model, cache, ids, positions, mask)``, run by AOTInductor packages (module
    docstring) bound to one model and one :class:`kv.SlotCache` at a time. Each package is built
    or loaded on the first call of its kind with them, for the cache's buffer shapes then."""

    def __init__(self, head: Callable[..., Any]) -> None:
        self.head = head
        self.bound: tuple[Any, kv.SlotCache] | None = None  # what the packages were handed
        self.packages: dict[bool, Any] = {}  # many tokens? -> the loaded package's loader

    def __call__(
        self,
        model: Any,
        cache: kv.SlotCache,
        ids: torch.Tensor,
        positions: torch.Tensor,
        mask: torch.Tensor,
    ) -> Any:
        if self.bound is None or self.bound[0] is not model or self.bound[1] is not cache:
            self.bound, self.packages = (model, cache), {}
        many = ids.shape[1] > 1
        if many not in self.packages:
            self.packages[many] = self._load(model, cache, many)
        # the loader's flat call: the package's own __call__ parses its input and output specs
        # (JSON) on every call, about a third of the step of a small draft
        out = self.packages[many].boxed_run([ids, positions, mask, cache.slots])
        return out[0] if len(out) == 1 else tuple(out)  # a head's tensor, or its tuple

    def _load(self, model: Any, cache: kv.SlotCache, many: bool) -> Any:
        """The package for this model, cache and call kind (built if not on disk), handed the
        model's weights and the cache's buffers."""
        shapes = [layer.keys.shape for layer in cache.layers]
        if not shapes:
            raise RuntimeError("the cache has no layers yet: prefill before a compiled call")
        path = package_dir() / f"{package_key(model, self.head, shapes, many)}.pt2"
        if not path.is_file():
            with torch.inference_mode(False):  # export traces outside inference mode
                _build(_HeadOverCache(model, self.head, shapes).eval(), many, path)
        constants = {f"model.{n}": t for n, t in model.named_parameters(remove_duplicate=False)}
        constants |= {f"model.{n}": t for n, t in model.named_buffers(remove_duplicate=False)}
        for i, layer in enumerate(cache.layers):
            constants[f"k{i}"], constants[f"v{i}"] = layer.keys, layer.values
        package = torch._inductor.aoti_load_package(str(path))
        names = package.get_constant_fqns()
        package.load_constants(
            {name: constants[name] for name in names}, check_full_update=True, user_managed=True
        )
        return package.loader
