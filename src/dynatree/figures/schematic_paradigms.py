"""Schematic: three decoding paradigms (autoregressive, linear speculative, tree speculative).

Drawn by code so the figure is a build product like every plot; nothing in it is data.
"""

from __future__ import annotations

from typing import Any

from dynatree.figures import shapes, style


def _autoregressive(ax: Any) -> None:
    shapes.blank(ax, (-0.6, 5.2), (-1.6, 1.4))
    shapes.box(ax, 0.3, 0, 1.2, 0.6, "prefix", shapes.NEUTRAL)
    for i in range(3):
        x = 1.8 + 1.2 * i
        shapes.node(ax, x, 0, f"$t_{{{i + 1}}}$", shapes.ACCEPT)
        shapes.arrow(ax, (x - 1.2 if i else 0.9, 0), (x, 0))
        ax.text(x, -0.75, "$M_T$\npass", ha="center", va="top", fontsize=6, color=shapes.TARGET)
    ax.set_title("(a) Autoregressive: one target pass per token", fontsize=7)


def _linear(ax: Any) -> None:
    shapes.blank(ax, (-0.6, 5.2), (-1.6, 1.4))
    shapes.box(ax, 0.3, 0, 1.2, 0.6, "prefix", shapes.NEUTRAL)
    colors = (shapes.ACCEPT, shapes.ACCEPT, shapes.REJECT, shapes.NEUTRAL)
    for i, c in enumerate(colors):
        x = 1.5 + 0.95 * i
        shapes.node(ax, x, 0, f"$d_{{{i + 1}}}$", c, r=0.26)
        shapes.arrow(ax, (x - 0.95 if i else 0.9, 0), (x, 0), color=shapes.DRAFT)
    ax.text(2.9, 0.55, "$M_D$ drafts $K$ tokens", ha="center", fontsize=6, color=shapes.DRAFT)
    ax.text(
        2.9,
        -0.6,
        "one $M_T$ pass verifies;\nlongest match + bonus kept",
        ha="center",
        va="top",
        fontsize=6,
        color=shapes.TARGET,
    )
    ax.set_title("(b) Linear speculative decoding", fontsize=7)


def _tree(ax: Any) -> None:
    shapes.blank(ax, (-0.6, 5.2), (-1.6, 1.4))
    shapes.box(ax, 0.3, 0, 1.2, 0.6, "prefix", shapes.NEUTRAL)
    layout = {  # node: (x, y, parent, colour)
        "a": (1.6, 0.7, None, shapes.ACCEPT),
        "b": (1.6, -0.7, None, shapes.NEUTRAL),
        "c": (2.8, 1.05, "a", shapes.NEUTRAL),
        "d": (2.8, 0.25, "a", shapes.ACCEPT),
        "e": (2.8, -0.7, "b", shapes.NEUTRAL),
        "f": (4.0, 0.6, "d", shapes.ACCEPT),
        "g": (4.0, -0.1, "d", shapes.NEUTRAL),
    }
    for x, y, parent, color in layout.values():
        start = (0.9, 0) if parent is None else layout[parent][:2]
        on_path = color == shapes.ACCEPT
        shapes.arrow(
            ax,
            start,
            (x, y),
            color=shapes.ACCEPT if on_path else "black",
            lw=1.2 if on_path else 0.6,
            shrink=7,
        )
        shapes.node(ax, x, y, "", color, r=0.22)
    ax.text(
        2.6,
        -1.25,
        "tree in one $M_T$ pass; longest\naccepted root path + bonus",
        ha="center",
        va="top",
        fontsize=6,
        color=shapes.TARGET,
    )
    ax.set_title("(c) Tree speculative decoding (DynaTree)", fontsize=7)


def draw(table: Any = None) -> Any:
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(style.FULL_WIDTH, 1.75))
    _autoregressive(axes[0])
    _linear(axes[1])
    _tree(axes[2])
    from matplotlib.lines import Line2D

    legend = [
        Line2D(
            [], [], marker="o", linestyle="none", markerfacecolor=c, markeredgecolor="k", label=lab
        )
        for c, lab in (
            (shapes.ACCEPT, "committed"),
            (shapes.REJECT, "rejected"),
            (shapes.NEUTRAL, "not on accepted path"),
        )
    ]
    fig.legend(
        handles=legend, loc="lower center", ncol=3, frameon=False, bbox_to_anchor=(0.5, -0.03)
    )
    fig.tight_layout(rect=(0, 0.08, 1, 1), w_pad=0.3)
    return fig
