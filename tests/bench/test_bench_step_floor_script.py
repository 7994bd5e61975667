"""benchmarks/step_floor.py: the compiled runner decodes eager's tokens, and each model's step
and call are reported against its floor in both regimes."""

from __future__ import annotations

import json
import runpy
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "step_floor.py"


def test_step_floor_script_random_pair(capsys, tmp_path):
    main = runpy.run_path(str(SCRIPT))["main"]
    out = tmp_path / "steps.json"
    argv = "--random --threads 1 --prefix 8 --new-tokens 4 --repeats 3 --warmup 1"
    assert main([*argv.split(), "--out", str(out)]) == 0
    result = json.loads(out.read_text())
    for name in ("target", "draft"):
        row = result[name]
        assert row["compiled_same_tokens"]  # 4 greedy tokens each
        assert row["compiled_warm_up_s"] > 0
        for regime in ("eager", "compiled"):
            for kind in ("step", "call"):
                key = f"{regime}_{kind}"
                assert row[f"{key}_floor_multiple"] == row[f"{key}_ms"] / row["floor_ms"] > 0
    assert set(result["c"]) == {"eager", "compiled"}
    assert capsys.readouterr().out.count("greedy tokens as eager's: True") == 2
