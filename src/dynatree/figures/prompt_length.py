"""Prompt-length sensitivity: throughput and speedup as the prompt cut-off L_max grows."""

from __future__ import annotations

from typing import Any

from dynatree.figures import style


def draw(table: Any) -> Any:
    import matplotlib.pyplot as plt

    part = style.rows(table, "prompt_length", "prompt_length")
    ds = style.ordered_datasets(part["dataset"])[0]
    part = part[part["dataset"] == ds]
    fig, (ax_tps, ax_sp) = plt.subplots(1, 2, figsize=(style.COLUMN_WIDTH, 1.9), sharex=True)
    for m in style.ordered_methods(part["method"]):
        sel = part[part["method"] == m].sort_values("l_max")
        kw = {
            "color": style.method_color(m),
            "marker": style.method_marker(m),
            "label": style.method_label(m),
        }
        ax_tps.errorbar(sel["l_max"], sel["tps_mean"], yerr=sel["tps_std"], capsize=1.5, **kw)
        if m != "ar":
            ax_sp.plot(sel["l_max"], sel["speedup"], **kw)
    ax_sp.axhline(1.0, color="black", linewidth=0.6, linestyle="--")
    ax_tps.set_ylabel("Throughput (tok/s)")
    ax_sp.set_ylabel("Speedup over AR (×)")
    ax_tps.set_title("(a) Throughput")
    ax_sp.set_title("(b) Speedup")
    for ax in (ax_tps, ax_sp):
        ax.set_xlabel(r"Prompt length $L_{\max}$")
    style.bottom_legend(fig, ax_tps)
    fig.tight_layout(rect=(0, 0.09, 1, 1), w_pad=0.8)
    return fig
