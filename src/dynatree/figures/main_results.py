"""Main results: throughput (± std) and speedup (95 % interval) per method, grouped by dataset."""

from __future__ import annotations

from typing import Any

from dynatree.figures import style


def draw(table: Any) -> Any:
    import matplotlib.pyplot as plt

    part = style.rows(table, "main", "main_results")
    fig, (ax_tps, ax_sp) = plt.subplots(1, 2, figsize=(style.COLUMN_WIDTH, 2.0))
    style.grouped_bars(
        ax_tps, part, "dataset", "method", "tps_mean", "tps_std", style.DATASET_LABELS
    )
    ax_tps.set_ylabel("Throughput (tok/s)")
    ax_tps.set_title("(a) Throughput")
    style.grouped_bars(
        ax_sp, part, "dataset", "method", "speedup", None, style.DATASET_LABELS, ci=True
    )
    ax_sp.axhline(1.0, color="black", linewidth=0.6, linestyle="--")
    ax_sp.set_ylabel("Speedup over AR (×)")
    ax_sp.set_title("(b) Speedup")
    style.bottom_legend(fig, ax_tps, ncol=5, handlelength=1.2)
    fig.tight_layout(rect=(0, 0.08, 1, 1), w_pad=0.8)
    return fig
