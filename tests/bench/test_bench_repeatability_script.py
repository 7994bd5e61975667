"""benchmarks/repeatability.py runs the comparison twice (one process per job) and prints both."""

from __future__ import annotations

import runpy
from pathlib import Path

import pytest

from dynatree.errors import UsageError

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "repeatability.py"


def test_two_runs_paired_and_unpaired(models, prompts, tmp_path, capsys):
    main = runpy.run_path(str(SCRIPT))["main"]
    argv = [
        "--target", str(models["target"]), "--draft", str(models["draft"]),
        "--prompts", str(prompts), "--max-new-tokens", "6", "--methods", "ar", "linear",
        "--threads", "1", "--out-dir", str(tmp_path / "runs"),
    ]  # fmt: skip
    assert main(argv) == 0
    out = capsys.readouterr().out
    line = next(li for li in out.splitlines() if li.startswith("linear"))
    fields = line.split()
    assert fields[-1] == "100%"  # exact in both runs
    assert "|" in fields  # paired columns, then unpaired columns
    assert "largest run-to-run change: paired" in out
    for run in ("run1", "run2"):
        assert (tmp_path / "runs" / run / "linear.json").is_file()


def test_bad_input_is_named(models, prompts):
    main = runpy.run_path(str(SCRIPT))["main"]
    base = ["--target", str(models["target"]), "--draft", str(models["draft"])]
    with pytest.raises(UsageError, match="--runs"):
        main([*base, "--prompts", str(prompts), "--runs", "1"])
    with pytest.raises(UsageError, match="--methods"):
        main([*base, "--prompts", str(prompts), "--methods", "ar"])
