"""Schematic: DynaTree's three adaptive mechanisms — breadth, depth, history.

Illustrative curves only (no axis values are shown): the symbols name the configuration
parameters whose measured effect the sensitivity figure reports.
"""

from __future__ import annotations

from typing import Any

from dynatree.figures import shapes, style


def _breadth(ax: Any) -> None:
    tl, th = 0.4, 0.8
    for lo, hi, label, color in (
        (0, tl, "$B_{\\max}$", shapes.REJECT),
        (tl, th, "$B_{mid}$", shapes.NEUTRAL),
        (th, 1, "$B_{\\min}$", shapes.ACCEPT),
    ):
        ax.axvspan(lo, hi, color=color, alpha=0.35)
        ax.text((lo + hi) / 2, 0.5, f"{label}\nchildren", ha="center", va="center", fontsize=6.5)
    ax.set_xticks([tl, th])
    ax.set_xticklabels(["$\\tau_l$", "$\\tau_h$"])
    ax.set_yticks([])
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_xlabel("draft confidence $c(u)$")
    ax.set_title("(a) Dynamic breadth")


def _depth(ax: Any) -> None:
    import numpy as np

    depth = np.arange(0, 9)
    for decay, color in ((0.85, shapes.ACCEPT), (0.6, shapes.DRAFT), (0.35, shapes.REJECT)):
        ax.plot(depth, decay**depth, marker="o", markersize=2.5, color=color)
    ax.set_yscale("log")
    ax.axhline(0.02, color="black", linestyle="--", linewidth=0.7)
    ax.axhline(0.3, color="black", linestyle=":", linewidth=0.7)
    ax.axvline(4, color="grey", linewidth=0.7)
    ax.axvline(8, color="grey", linewidth=0.7)
    ax.text(8.3, 0.3, "$\\rho_{deep}$", va="center", fontsize=6.5)
    ax.text(8.3, 0.02, "$\\rho_{stop}$", va="center", fontsize=6.5)
    ax.set_xticks([4, 8])
    ax.set_xticklabels(["$D_0$", "$D_{\\max}$"])
    ax.set_yticks([])
    ax.minorticks_off()
    ax.set_xlim(0, 9.6)
    ax.set_xlabel("node depth $d(u)$")
    ax.set_ylabel("path prob. $p(u)$")
    ax.set_title("(b) Dynamic depth")


def _history(ax: Any) -> None:
    import numpy as np

    rng = np.random.default_rng(0)
    r = np.arange(30)
    accept = np.clip(0.45 + 0.25 * np.tanh((r - 12) / 4) + rng.normal(0, 0.06, r.size), 0, 1)
    ax.plot(r, accept, color=shapes.DRAFT, linewidth=0.8, label="$a_r$")
    ax.axhline(0.55, color="black", linestyle="--", linewidth=0.7, label="$a^*$")
    window = np.convolve(accept, np.ones(5) / 5, mode="full")[: r.size]
    d0 = np.clip(np.round(3 + 8 * (window - 0.55)), 1, 7)
    twin = ax.twinx()
    twin.step(r, d0, color=shapes.TARGET, where="post", linewidth=1.0, label="$D_0$")
    twin.set_ylim(0, 9.5)
    twin.set_yticks([])
    twin.grid(False)
    ax.axvspan(20, 25, color=shapes.NEUTRAL, alpha=0.6)
    ax.text(22.5, 1.02, "window $W$", ha="center", va="bottom", fontsize=6)
    ax.set_ylim(0, 1.15)
    ax.set_yticks([])
    ax.set_xticks([])
    ax.set_xlabel("iteration $r$")
    ax.set_title("(c) History adaptation")
    handles = ax.get_legend_handles_labels()[0] + twin.get_legend_handles_labels()[0]
    ax.legend(handles=handles, loc="lower right", fontsize=6, frameon=True)


def draw(table: Any = None) -> Any:
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(style.FULL_WIDTH, 1.7))
    _breadth(axes[0])
    _depth(axes[1])
    _history(axes[2])
    fig.tight_layout(w_pad=1.0)
    return fig
