"""Shared by the pipeline tests: run Snakemake on the repository or on a scratch copy of it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
# The workflow's own modules (pipeline_plan, pipeline_config), importable as the Snakefile does.
sys.path.insert(0, str(REPO / "workflow" / "lib"))
DATA_DIR = (REPO / ".." / "shared" / "data").resolve()
CONFIGS = ("config.yaml", "config/paper.yaml", "config/smoke.yaml")

# Rule outputs and local state (top level) a scratch copy must not inherit from the working tree,
# and caches (anywhere).
_TOP_LEVEL = {
    ".git", ".venv", ".snakemake", "results", "models", "data", "logs", "figures", "report.html"
}  # fmt: skip
_CACHES = {"__pycache__", ".pytest_cache", ".ruff_cache", ".hypothesis"}


def env(root: Path = REPO) -> dict[str, str]:
    """This interpreter's bin/ first on PATH (rules call `dynatree`), and ``root``'s package.

    With ``root/src`` first on PYTHONPATH a scratch copy runs its own sources, so a test can edit
    a module there (to check what reruns) without touching the working tree.
    """
    out = dict(os.environ)
    out["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{out.get('PATH', '')}"
    out["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(root / "src"), out.get("PYTHONPATH", "")) if p
    )
    return out


def snakemake(args: list[str], cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess:
    """Run snakemake (this interpreter's) in ``cwd``; output captured, never raises on failure."""
    return subprocess.run(
        [sys.executable, "-m", "snakemake", *args],
        cwd=cwd,
        env=env(cwd),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def job_counts(output: str) -> dict[str, int]:
    """The "Job stats" table of a dry run as {rule: count}."""
    counts: dict[str, int] = {}
    lines = output.splitlines()
    start = lines.index("Job stats:") + 3
    for line in lines[start:]:
        parts = line.split()
        if len(parts) != 2 or not parts[1].isdigit():
            break
        counts[parts[0]] = int(parts[1])
    return counts


def scratch_copy(dest: Path) -> Path:
    """Copy the repository's sources (no outputs, no caches) to ``dest`` as a new git repository.

    Returns the extra config file that points ``data.dir`` at the shared corpus, to be given after
    the config under test.
    """

    def ignore(folder: str, names: list[str]) -> set[str]:
        skipped = {n for n in names if n in _CACHES}
        here = Path(folder).resolve()
        if here == REPO:
            skipped |= _TOP_LEVEL & set(names)
        elif here == REPO / "paper":
            skipped |= {"build", "dynatree.pdf"} & set(names)
        return skipped

    shutil.copytree(REPO, dest, ignore=ignore, symlinks=True)
    # A git checkout of its own, like a fresh clone: results record the commit they came from.
    git = ["git", "-c", "user.name=pipeline-test", "-c", "user.email=test@localhost"]
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "scratch copy"]):
        subprocess.run([*git, *args], cwd=dest, check=True, capture_output=True)
    local = dest / "local.yaml"
    local.write_text(f"data:\n  dir: {DATA_DIR}\n", encoding="utf-8")
    return local
