"""The static KV cache and the model runner: slots, masks, padding, compaction in place, and the
compiled regime (one small compile: tiny models, few buckets)."""

from __future__ import annotations

import pytest
import torch
from tiny_models import VOCAB, tiny_model

from dynatree.decoding import aot
from dynatree.decoding.regime import AOT, EAGER, Regime, resolve, sizes_up_to
from dynatree.decoding.registry import build_decoder, parse_params
from dynatree.decoding.runner import ModelRunner, greedy, host_rows, top_k_head

pytestmark = pytest.mark.usefixtures("one_thread")

PREFIX = [3, 1, 4, 1]
# 5 after the prefix, then two siblings after it: 9 and 2 (positions 4, 5, 5)
BRANCH, POSITIONS = [5, 9, 2], [4, 5, 5]
SIBLINGS = torch.tensor([[1, 0, 0], [1, 1, 0], [1, 0, 1]], dtype=torch.bool)


def padded(model: torch.nn.Module, largest: int) -> ModelRunner:
    """A runner with CUDA's padded buckets whose step is left uncompiled, so padding is checked
    on a CPU without paying for a compile."""
    runner = ModelRunner(model, greedy, largest, Regime("reduce-overhead", bucketed=True))
    runner.step = runner.head
    runner._compiled = lambda ids, pos, mask: runner.head(
        runner.model, runner.cache, ids, pos, mask
    )  # type: ignore[method-assign]
    return runner


def logits_after(model: torch.nn.Module, tokens: list[int]) -> torch.Tensor:
    with torch.inference_mode():
        return model(input_ids=torch.tensor([tokens])).logits[0]


@pytest.mark.parametrize("bucketed", [False, True])
def test_kept_entries_equal_decoding_the_kept_tokens(bucketed: bool) -> None:
    """Keep 5 and 2 of a branch: the next token sees the cache sequential decoding builds, and
    the buffers are neither re-allocated nor grown."""
    model = tiny_model("gpt_neox", 0)
    runner = padded(model, 4) if bucketed else ModelRunner(model, greedy, 4)
    runner.start(16)
    with torch.inference_mode():
        runner.prefill(PREFIX)
        keys = runner.cache.layers[0].keys
        address, capacity = keys.data_ptr(), keys.shape[2]
        choices = host_rows(runner.forward(BRANCH, POSITIONS, SIBLINGS), 3)
        runner.keep([0, 2])
        after = host_rows(runner.forward([7], [6], torch.ones(1, 1, dtype=torch.bool)), 1)
    expected = logits_after(model, [*PREFIX, 5, 2, 7])[-1].argmax().item()
    assert after == [expected]
    sequential = [logits_after(model, [*PREFIX, *path])[-1].argmax().item()
                  for path in ([5], [5, 9], [5, 2])]  # fmt: skip
    assert choices == sequential
    assert runner.cache.length == 6
    assert runner.cache.layers[0].keys.data_ptr() == address
    assert runner.cache.layers[0].keys.shape[2] == capacity


def test_padding_rows_see_themselves_and_no_row_sees_past_what_it_may() -> None:
    model = tiny_model("gpt_neox", 0)
    runner = padded(model, 8)
    runner.start(32)
    with torch.inference_mode():
        runner.prefill(PREFIX)
        mask = runner._mask(3, 4, runner.cache.capacity, runner.end, SIBLINGS)
    blocked = torch.finfo(mask.dtype).min
    seen = mask[0, 0] == 0
    assert mask.shape == (1, 1, 4, runner.cache.capacity) and mask.dtype == torch.float32
    assert seen[:3, :4].all()  # the prefix
    assert torch.equal(seen[:3, 4:7], SIBLINGS)  # the branch by ancestry
    assert not seen[:3, 7:].any() and (mask[0, 0, :3, 7:] == blocked).all()
    assert seen[3].nonzero().flatten().tolist() == [7]  # the padding row: its own slot only


def test_padded_levels_map_entries_to_their_slots() -> None:
    """Two draft-like calls, the first padded (3 -> 4): the second sees the first's real entries
    at their slots, and keeping entries across the gap moves them next to the prefix."""
    model = tiny_model("llama", 0)
    runner = padded(model, 4)
    runner.start(32)
    with torch.inference_mode():
        runner.prefill(PREFIX)
        runner.forward(BRANCH, POSITIONS, SIBLINGS)  # slots 4, 5, 6 (+ padding at 7)
        allowed = torch.tensor([[1, 0, 1, 1]], dtype=torch.bool)  # after 5, 2: sees 5, 2, itself
        choice = host_rows(runner.forward([8], [6], allowed), 1)
        assert runner.written == [4, 5, 6, 8]
        runner.keep([0, 2, 3])
        after = host_rows(runner.forward([1], [7], torch.ones(1, 1, dtype=torch.bool)), 1)
    assert choice == [logits_after(model, [*PREFIX, 5, 2, 8])[-1].argmax().item()]
    assert after == [logits_after(model, [*PREFIX, 5, 2, 8, 1])[-1].argmax().item()]


def test_buckets_and_regimes() -> None:
    assert sizes_up_to(1) == [1] and sizes_up_to(12) == [1, 2, 4, 8, 12]
    assert resolve("auto", "cpu") == EAGER and resolve("off", "cuda") == EAGER
    cuda, cpu = resolve("auto", "cuda"), resolve("on", "cpu")
    assert (cuda.mode, cuda.bucketed, cuda.buckets(5), cuda.shapes(5)) == (
        "reduce-overhead", True, [1, 2, 4, 5], [1, 2, 4, 5],
    )  # fmt: skip
    assert (cpu.mode, cpu.name, cpu.buckets(5), cpu.shapes(5), cpu.shapes(1)) == (
        AOT, "compiled", [], [1, 2], [1],
    )  # fmt: skip
    assert EAGER.buckets(12) == EAGER.shapes(12) == [] and EAGER.name == "eager"
    runner = padded(tiny_model("gpt_neox", 0), 5)
    assert [runner.bucket(n) for n in (1, 3, 5)] == [1, 4, 5]
    assert ModelRunner(tiny_model("gpt_neox", 0), greedy, 5).bucket(3) == 3


def test_compiled_decoders_match_ar_and_compile_only_while_preparing(monkeypatch) -> None:
    """The CPU's compiled regime end to end: AOTInductor packages per model and head (one token;
    two or more, symbolic), exact against eager AR, and after ``prepare`` no decode builds or
    loads one, however many tokens its calls feed."""
    target, draft = tiny_model("gpt_neox", 0), tiny_model("gpt_neox", 1, layers=1, hidden=16)
    compiled = resolve("on", "cpu")
    ids = torch.randint(0, VOCAB, (1, 7), generator=torch.Generator().manual_seed(4))
    eager_ar = build_decoder("ar", parse_params("ar", {}), target).generate(ids, 16).tokens
    tree = {"D": "3", "B": "3", "tau": "0.001", "N_max": "20"}
    decoders = [
        build_decoder("ar", parse_params("ar", {}), target, None, compiled),
        build_decoder("linear", parse_params("linear", {"K": "2"}), target, draft, compiled),
        build_decoder("fixed_tree", parse_params("fixed_tree", tree), target, target, compiled),
    ]
    # outside inference mode, as a user may call it: the packages must still serve generate's
    assert all(d.prepare(ids.shape[1], 16) > 0 for d in decoders)
    assert decoders[0].prepare(ids.shape[1], 16) == 0  # done once

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("a package built or loaded while decoding")

    monkeypatch.setattr(aot, "_build", refuse)
    monkeypatch.setattr(torch._inductor, "aoti_load_package", refuse)
    for decoder in decoders:
        out = decoder.generate(ids, 16)
        assert out.tokens == eager_ar
    assert max(out.stats.verify_sizes) > 8  # the identical draft grew trees of many sizes


def test_a_package_serves_any_model_of_its_config_and_writes_the_runners_cache() -> None:
    """Packages hold no weights and no cache: built for one model, one serves another of the
    same configuration with that model's weights, writing into that runner's own buffers (so
    keeping entries moves what the package wrote)."""
    compiled = resolve("on", "cpu")
    runs = {}
    for seed in (0, 2):
        model = tiny_model("llama", seed)
        runner = ModelRunner(model, greedy, 4, compiled)
        runner.warm_up(16)
        runner.start(16)
        with torch.inference_mode():
            runner.prefill(PREFIX)
            keys = runner.cache.layers[0].keys.clone()
            choices = host_rows(runner.forward(BRANCH, POSITIONS, SIBLINGS), 3)
            assert not torch.equal(keys, runner.cache.layers[0].keys)  # written in place
            runner.keep([0, 2])
            after = host_rows(runner.forward([7], [6], torch.ones(1, 1, dtype=torch.bool)), 1)
        sequential = [logits_after(model, [*PREFIX, *path])[-1].argmax().item()
                      for path in ([5], [5, 9], [5, 2])]  # fmt: skip
        assert choices == sequential
        assert after == [logits_after(model, [*PREFIX, 5, 2, 7])[-1].argmax().item()]
        runs[seed] = (choices, after)
    assert runs[0] != runs[2]  # two models' own weights, not the first one's baked in


def test_package_key_names_what_the_generated_code_depends_on() -> None:
    model, other = tiny_model("llama", 0), tiny_model("llama", 2)
    shapes = [torch.Size([1, 2, 1024, 8])] * 2
    key = aot.package_key(model, greedy, shapes, many=True)
    assert key == aot.package_key(other, greedy, shapes, many=True)  # weights are not in it
    assert key != aot.package_key(model, greedy, shapes, many=False)
    assert key != aot.package_key(model, greedy, [torch.Size([1, 2, 2048, 8])] * 2, many=True)
    assert key != aot.package_key(model, top_k_head(3), shapes, many=True)
    assert aot.package_key(model, top_k_head(3), shapes, True) != aot.package_key(
        model, top_k_head(9), shapes, True
    )
    assert key != aot.package_key(tiny_model("llama", 0, layers=3), greedy, shapes, many=True)
    assert key != aot.package_key(model.to(torch.float64), greedy, shapes, many=True)
