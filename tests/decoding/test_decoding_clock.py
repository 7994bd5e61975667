"""The phase clock: laps split a call into phases, merge repeats, and can be switched off."""

from __future__ import annotations

import pytest
import torch
from tiny_models import VOCAB, tiny_model

from dynatree.decoding.base import Clock
from dynatree.decoding.registry import build_decoder, parse_params

pytestmark = pytest.mark.usefixtures("one_thread")


def test_laps_attribute_time_to_phases_and_merge_repeats(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    ticks = iter([0.0, 1.0, 3.0, 6.0, 10.0])
    monkeypatch.setattr("dynatree.decoding.base.time.perf_counter", lambda: next(ticks))
    clock = Clock(torch.device("cpu"))
    clock.start()  # 0
    clock.lap("ttft")  # 1
    clock.lap("draft")  # 3
    clock.lap("draft")  # 6: extends the same span
    clock.lap("verify")  # 10
    assert clock.totals() == {"ttft": 1.0, "draft": 5.0, "verify": 4.0}


def test_disabled_clock_reads_zero() -> None:
    clock = Clock(torch.device("cpu"), enabled=False)
    clock.start()
    clock.lap("draft")
    assert clock.totals() == {}


@pytest.mark.parametrize("method", ["ar", "linear", "dynatree", "hf_assisted"])
def test_decoders_split_their_call_into_phases(method) -> None:  # type: ignore[no-untyped-def]
    target, draft = tiny_model("gpt_neox", 0), tiny_model("gpt_neox", 1, layers=1, hidden=16)
    draft = None if method == "ar" else draft
    decoder = build_decoder(method, parse_params(method, {}), target, draft)
    ids = torch.randint(0, VOCAB, (1, 6), generator=torch.Generator().manual_seed(0))
    stats = decoder.generate(ids, 12).stats
    assert stats.ttft_s > 0 and stats.verify_time_s > 0
    assert (stats.draft_time_s > 0) == (method != "ar")
    decoder.clock.enabled = False
    off = decoder.generate(ids, 12)
    assert (off.stats.ttft_s, off.stats.draft_time_s, off.stats.verify_time_s) == (0, 0, 0)
