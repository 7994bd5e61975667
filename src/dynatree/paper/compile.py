"""Compile the rendered LaTeX with latexmk (pdflatex + bibtex), non-interactively.

The PDF appears at ``--out`` only when the build succeeded (atomic copy); a failure raises an
error carrying the tail of the LaTeX log, which is where the cause is. Content that runs past
its column (a table grown by a column, a long unbreakable value) still builds, so it is named
in a warning instead, with the lines of the rendered LaTeX to look at.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from dynatree.errors import UsageError
from dynatree.io import atomic_path, check_outputs

_TAIL_LINES = 25
# LaTeX's report of a line or box wider than its column; below a point it is invisible
_OVERFULL = re.compile(
    r"Overfull \\hbox \((\d+(?:\.\d+)?)pt too wide\) .*?at lines? (\d+(?:--\d+)?)"
)
_VISIBLE_PT = 1.0


class CompileError(UsageError):
    """latexmk failed; the message holds the log tail."""


def _tail(log: Path, fallback: str) -> str:
    text = log.read_text(encoding="utf-8", errors="replace") if log.is_file() else fallback
    return "\n".join(text.splitlines()[-_TAIL_LINES:])


def compile_pdf(tex: str | Path, out: str | Path, timeout_s: int = 600) -> Path:
    """Build ``tex`` into ``out`` (PDF). Auxiliary files stay in ``<tex dir>/latexmk/``."""
    tex, out = Path(tex), Path(out)
    if not tex.is_file():
        raise UsageError(f"--tex {tex}: file not found; run `dynatree paper render` first")
    check_outputs({"--out": out}, {"--tex": [tex, tex.parent / "refs.bib"]})
    if shutil.which("latexmk") is None:
        raise UsageError(
            "latexmk not found: install TeX (apt-get install latexmk "
            "texlive-latex-extra texlive-fonts-recommended)"
        )
    build = tex.parent / "latexmk"
    cmd = [
        "latexmk",
        "-pdf",
        "-interaction=nonstopmode",
        "-halt-on-error",
        "-file-line-error",
        f"-outdir={build.name}",
        tex.name,
    ]
    # Fixed timestamps make the PDF reproducible from the same inputs.
    env = dict(os.environ, SOURCE_DATE_EPOCH="0", FORCE_SOURCE_DATE="1")
    try:
        proc = subprocess.run(
            cmd,
            cwd=tex.parent,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout_s,
            stdin=subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired:
        raise CompileError(f"--tex {tex}: latexmk ran past {timeout_s} s") from None
    pdf = build / f"{tex.stem}.pdf"
    if proc.returncode != 0 or not pdf.is_file():
        tail = _tail(build / f"{tex.stem}.log", proc.stdout + proc.stderr)
        raise CompileError(
            f"--tex {tex}: latexmk failed (exit {proc.returncode}); log tail:\n{tail}"
        )
    for width, lines in overfull(build / f"{tex.stem}.log"):
        print(
            f"dynatree paper compile: warning: {tex} lines {lines} run {width:.0f}pt past their "
            "column (a table or line too wide for it)",
            file=sys.stderr,
        )
    with atomic_path(out) as tmp:
        shutil.copyfile(pdf, tmp)
    return out


def overfull(log: Path) -> list[tuple[float, str]]:
    """(points too wide, rendered LaTeX lines) of every visibly overfull box in a LaTeX log."""
    text = log.read_text(encoding="utf-8", errors="replace") if log.is_file() else ""
    found = ((float(m[1]), m[2]) for m in _OVERFULL.finditer(text))
    return [(width, lines) for width, lines in found if width > _VISIBLE_PT]
