"""Render ``paper/main.tex.j2`` (and its includes) from numbers.json into a buildable LaTeX tree.

The templates use LaTeX-safe jinja2 delimiters (``\\VAR{...}``, ``\\BLOCK{...}``, ``\\#{...}``)
so they stay readable LaTeX. The rendered body is audited before it is written: a numeric
literal that numbers.json cannot account for stops the render.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

from dynatree.claims.output import provenance_path
from dynatree.errors import UsageError
from dynatree.figures.registry import FIGURES
from dynatree.io import atomic_path, check_outputs, write_text_atomic
from dynatree.numbers_file import load_numbers
from dynatree.paper.audit import audit_marked
from dynatree.paper.values import Values, strip_marks


def environment(templates: str | Path) -> Any:
    import jinja2

    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(templates)),
        block_start_string=r"\BLOCK{",
        block_end_string="}",
        variable_start_string=r"\VAR{",
        variable_end_string="}",
        comment_start_string=r"\#{",
        comment_end_string="}",
        line_comment_prefix="%#",
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )


def _figures(values: Values, figures_dir: Path, out_dir: Path) -> tuple[list[str], str]:
    """The figures this paper shows (those whose experiments ran), checked to exist."""
    ran = set(values.v("experiments"))
    wanted = [name for name, needs in FIGURES.items() if not needs or needs[0] in ran]
    missing = [n for n in wanted if not (figures_dir / f"{n}.pdf").is_file()]
    if missing:
        raise UsageError(
            f"--figures-dir {figures_dir}: missing {', '.join(m + '.pdf' for m in missing)}; "
            "run `dynatree figure NAME` for each"
        )
    rel = os.path.relpath(figures_dir.resolve(), out_dir.resolve()).replace(os.sep, "/")
    return wanted, rel + "/"


def load_values(
    numbers_path: str | Path, claims: str | Path | None = None
) -> dict[str, dict[str, Any]]:
    """numbers.json, plus the ``claims.*`` entries of a claims CSV: everything the paper prints."""
    numbers = load_numbers(numbers_path)
    if claims is None:
        return numbers
    from dynatree.claims.output import claims_numbers

    extra = claims_numbers(claims)
    clash = sorted(set(extra) & set(numbers))
    if clash:
        raise UsageError(f"--claims {claims}: numbers.json already has {', '.join(clash[:3])}")
    return {**numbers, **extra}


def render(
    numbers_path: str | Path,
    figures_dir: str | Path,
    out_dir: str | Path,
    templates: str | Path = "paper",
    claims: str | Path | None = None,
) -> Path:
    """Write ``out_dir/main.tex`` and ``out_dir/refs.bib``; return the .tex path.

    ``claims`` (results/claims.csv) adds its verdicts as ``claims.*`` values (see
    :func:`load_values`); without it the paper has no claims table.
    """
    import jinja2

    templates, out_dir, figures_dir = Path(templates), Path(out_dir), Path(figures_dir)
    if not (templates / "main.tex.j2").is_file():
        raise UsageError(f"--templates {templates}: no main.tex.j2 there (the repo's paper/)")
    inputs = {
        "--numbers": numbers_path,
        "--claims": None if claims is None else [claims, provenance_path(claims)],
        "--figures-dir": sorted(figures_dir.glob("*.pdf")),
        "--templates": [*sorted(templates.rglob("*.j2")), templates / "refs.bib"],
    }
    check_outputs({"--out-dir": [out_dir / "main.tex", out_dir / "refs.bib"]}, inputs)
    numbers = load_values(numbers_path, claims)
    values = Values(numbers, mark=True)
    figures, graphics_path = _figures(values, figures_dir, out_dir)
    context = values.context()
    context.update(
        figures=figures,
        figure_inputs={name: FIGURES[name] for name in figures},
        graphics_path=graphics_path,
        numbers_path=str(numbers_path),
    )
    try:
        tex = environment(templates).get_template("main.tex.j2").render(**context)
    except jinja2.TemplateError as exc:
        where = f" ({exc.filename}:{exc.lineno})" if hasattr(exc, "lineno") else ""
        raise UsageError(f"--templates {templates}: {exc}{where}") from None
    unexplained = audit_marked(tex, numbers)
    if unexplained:
        raise UsageError(
            f"--templates {templates}: numbers in the text that numbers.json does not contain: "
            f"{', '.join(unexplained)}; print them with \\VAR{{n(key)}} instead of typing them"
        )
    out_dir.mkdir(parents=True, exist_ok=True)
    write_text_atomic(out_dir / "main.tex", strip_marks(tex))
    with atomic_path(out_dir / "refs.bib") as tmp:
        shutil.copyfile(templates / "refs.bib", tmp)
    return out_dir / "main.tex"
