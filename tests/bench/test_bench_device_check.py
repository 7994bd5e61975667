"""benchmarks/device_check.py keeps running: its tiny CPU mode end to end, and its refusals."""

from __future__ import annotations

import json
import runpy
from pathlib import Path

import pytest

from dynatree.decoding.registry import METHODS
from dynatree.errors import UsageError

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "device_check.py"


@pytest.fixture(scope="module")
def script() -> dict:  # type: ignore[type-arg]
    return runpy.run_path(str(SCRIPT))


def test_tiny_cpu_mode_writes_a_complete_report(script, tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "device.json"
    assert script["main"](["--tiny", "--device", "cpu", "--threads", "1", "--out", str(out)]) == 0
    report = json.loads(out.read_text())
    assert report["schema"] == "dynatree.device_check/1" and report["complete"]
    assert report["provenance"]["torch"] and report["methods"] == list(METHODS)
    (run,) = report["runs"]
    assert run["dtype"] == "float32" and run["logits"]["finite"] and run["skipped"] == []
    speculative = [m for m in METHODS if m != "ar"]
    assert set(run["exactness"]["summary"]) == {f"{m}/{d}" for m in speculative
                                                for d in ("self", "random")}  # fmt: skip
    assert all(row["exact"] for row in run["exactness"]["rows"])
    assert [row["method"] for row in run["throughput"]] == list(METHODS)
    assert all(row["exact"] and row["peak_memory_bytes"] > 0 for row in run["throughput"])
    sizes = run["profile"]["settings"]["sizes"]
    assert [p["n"] for p in run["profile"]["verify"]] == sizes * 2
    assert len(run["phase_timing"]["tps_on"]) == len(run["phase_timing"]["tps_off"]) == 1
    table = capsys.readouterr().out
    assert all(method in table for method in METHODS) and "t(n)/t(1)" in table


def test_paper_shapes_need_cuda(script, tmp_path) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(UsageError, match="--device"):
        script["main"](["--device", "cpu", "--out", str(tmp_path / "d.json")])
    assert not (tmp_path / "d.json").exists()


def test_configs_have_the_pythia_shapes(script) -> None:  # type: ignore[no-untyped-def]
    target = script["read_config"]("pythia-2.8b.json", {})
    draft = script["read_config"]("pythia-70m.json", {})
    assert (target["hidden_size"], target["num_hidden_layers"], target["vocab_size"]) == (
        2560, 32, 50304,
    )  # fmt: skip
    assert (draft["hidden_size"], draft["num_hidden_layers"], draft["vocab_size"]) == (
        512, 6, 50304,
    )  # fmt: skip
