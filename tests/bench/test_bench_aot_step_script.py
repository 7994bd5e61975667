"""benchmarks/aot_step.py: the AOTInductor step decodes eager's tokens through cache buffers the
process owns, and every path is reported against the floor."""

from __future__ import annotations

import json
import runpy
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "aot_step.py"


def test_aot_step_script_random_pair(capsys, tmp_path):
    main = runpy.run_path(str(SCRIPT))["main"]
    out = tmp_path / "aot.json"
    argv = "--random --threads 1 --capacity 32 --prefix 8 --new-tokens 4 --repeats 3 --warmup 1"
    assert main([*argv.split(), "--out", str(out)]) == 0
    result = json.loads(out.read_text())
    for name in ("target", "draft"):
        row = result[name]
        assert row["aot_same_tokens"] and row["compiled_same_tokens"]  # 4 greedy tokens each
        for path in ("eager", "compiled", "aot"):
            assert row[f"{path}_floor_multiple"] == row[f"{path}_ms"] / row["floor_ms"] > 0
    assert set(result["c"]) == {"eager", "compiled", "aot"}
    assert "greedy tokens as eager's: compiled True, AOT True" in capsys.readouterr().out
