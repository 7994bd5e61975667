"""benchmarks/compare_decoders.py still runs every decoder and prints one row per method."""

from __future__ import annotations

import runpy
from pathlib import Path

from dynatree.decoding.registry import METHODS

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "compare_decoders.py"


def test_compare_script_random_pair(capsys, tmp_path):
    main = runpy.run_path(str(SCRIPT))["main"]
    argv = "--random --draft-is-target --vocab 64 --n-prompts 2 --prompt-len 5 --max-new-tokens 6"
    argv = [*argv.split(), "--threads", "1", "--device", "cpu"]
    argv += ["--profile-out", str(tmp_path / "profile.json"), "--profile-repeats", "1"]
    assert main(argv) == 0
    rows = {}
    out = capsys.readouterr().out
    for line in out.splitlines():
        fields = line.split()
        if fields and fields[0] in METHODS:
            rows[fields[0]] = fields
    assert set(rows) == set(METHODS)
    assert "t(n)/t(1)" in out and (tmp_path / "profile.json").is_file()  # the profile it used
    assert rows["ar"][-1] == "-"  # AR is the reference, not compared with itself
    assert all(rows[m][-1] == "2/0/0" for m in METHODS if m != "ar")  # exact/tie/wrong prompts
