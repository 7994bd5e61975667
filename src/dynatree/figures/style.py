"""The one look shared by every figure: sizes for a two-column paper, fonts, method colours.

Figures are drawn at their printed size (column width 3.4 in, full width 7.0 in) with 7-8 pt
text, so nothing is scaled down by LaTeX and every label stays legible.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dynatree.data.splits import DATASET_LABELS
from dynatree.decoding.registry import METHODS
from dynatree.errors import UsageError
from dynatree.experiments import VARIANTS
from dynatree.io import atomic_path

COLUMN_WIDTH = 3.4
FULL_WIDTH = 7.0


def apply() -> None:
    """Select the non-interactive backend and the shared rcParams (idempotent)."""
    import matplotlib

    matplotlib.use("Agg")
    import seaborn as sns

    sns.set_theme(context="paper", style="whitegrid")
    matplotlib.rcParams.update(
        {
            "font.size": 7.5,
            "axes.titlesize": 8,
            "axes.labelsize": 7.5,
            "xtick.labelsize": 7,
            "ytick.labelsize": 7,
            "legend.fontsize": 6.5,
            "legend.title_fontsize": 7,
            "axes.linewidth": 0.6,
            "grid.linewidth": 0.4,
            "lines.linewidth": 1.2,
            "lines.markersize": 4,
            "pdf.fonttype": 42,
            "ps.fonttype": 42,
            "savefig.bbox": "tight",
            "savefig.pad_inches": 0.02,
            "figure.dpi": 100,
        }
    )


def method_label(method: str) -> str:
    return METHODS[method].label if method in METHODS else method


def method_color(method: str) -> str | None:
    """The method's colour from the registry (matplotlib's cycle for anything else)."""
    return METHODS[method].color if method in METHODS else None


def method_marker(method: str) -> str:
    return METHODS[method].marker if method in METHODS else "o"


def variant_label(variant: str) -> str:
    return VARIANTS[variant].short if variant in VARIANTS else variant


def dataset_label(dataset: str) -> str:
    return DATASET_LABELS.get(dataset, dataset)


def ordered_methods(methods: Any) -> list[str]:
    present = list(dict.fromkeys(methods))
    return [m for m in METHODS if m in present] + sorted(set(present) - set(METHODS))


def ordered_datasets(datasets: Any) -> list[str]:
    present = list(dict.fromkeys(datasets))
    return [d for d in DATASET_LABELS if d in present] + sorted(set(present) - set(DATASET_LABELS))


def rows(table: Any, experiment: str, figure: str) -> Any:
    """The rows of ``experiment``; none means the wrong CSV was passed, so say which is needed."""
    part = table[table["experiment"] == experiment]
    if part.empty:
        raise UsageError(
            f"--tables: no rows of experiment {experiment!r}; figure {figure} needs "
            f"results/aggregate/{experiment}.csv"
        )
    return part


def bottom_legend(
    fig: Any, ax: Any, ncol: int | None = None, y: float = -0.02, handlelength: float = 1.5
) -> int:
    """One legend for the whole figure, centred under the panels, from ``ax``'s entries.

    Returns the number of legend rows so callers can reserve room for them.
    """
    handles, labels = ax.get_legend_handles_labels()
    ncol = len(labels) if ncol is None else min(ncol, len(labels))
    fig.legend(
        handles,
        labels,
        loc="lower center",
        ncol=ncol,
        frameon=False,
        bbox_to_anchor=(0.5, y),
        columnspacing=0.8,
        handlelength=handlelength,
    )
    return -(-len(labels) // max(ncol, 1))


def save(fig: Any, out: str | Path) -> list[Path]:
    """Write ``out`` as PDF (for LaTeX) and the same stem as PNG (for the report), atomically."""
    import matplotlib.pyplot as plt

    out = Path(out)
    if out.suffix != ".pdf":
        raise UsageError(f"--out {out}: must end in .pdf (the .png is written next to it)")
    written = []
    for path, fmt, dpi in ((out, "pdf", None), (out.with_suffix(".png"), "png", 200)):
        with atomic_path(path) as tmp:
            fig.savefig(tmp, format=fmt, dpi=dpi, metadata=_metadata(fmt))
        written.append(path)
    plt.close(fig)
    return written


def _metadata(fmt: str) -> dict[str, Any]:
    """No timestamps in the files, so an unchanged figure is byte-identical on a rerun."""
    return {"CreationDate": None} if fmt == "pdf" else {}


def grouped_bars(
    ax: Any, frame: Any, x: str, hue: str, y: str, yerr: str | None, labels: dict[str, str]
) -> None:
    """Bars of ``y`` (± ``yerr``) grouped by ``x`` and coloured by method (``hue``)."""
    import numpy as np

    groups = ordered_datasets(frame[x]) if x == "dataset" else list(dict.fromkeys(frame[x]))
    hues = ordered_methods(frame[hue])
    width = 0.8 / max(1, len(hues))
    for i, h in enumerate(hues):
        part = frame[frame[hue] == h].set_index(x)
        heights = [float(part[y].get(g, np.nan)) for g in groups]
        errs = [float(part[yerr].get(g, np.nan)) for g in groups] if yerr else None
        pos = np.arange(len(groups)) - 0.4 + width * (i + 0.5)
        ax.bar(
            pos,
            heights,
            width * 0.92,
            yerr=errs,
            label=method_label(h),
            color=method_color(h),
            capsize=1.5,
            error_kw={"elinewidth": 0.6},
        )
    ax.set_xticks(range(len(groups)))
    ax.set_xticklabels([labels.get(g, g) for g in groups])
