"""Schematic: one DynaTree iteration — draft, serialize with a tree mask, verify, select, update."""

from __future__ import annotations

from typing import Any

from dynatree.figures import shapes, style

_STEPS = (
    ("Draft tree\n$M_D$, budget $N_{\\max}$", shapes.DRAFT),
    ("Serialize BFS\n+ tree mask", shapes.NEUTRAL),
    ("Verify: one\n$M_T$ forward", shapes.TARGET),
    ("Select longest\nmatching path\n+ bonus token", shapes.ACCEPT),
    ("Update KV\ncaches", shapes.NEUTRAL),
)


def _mask(ax: Any, x0: float, y0: float, size: float) -> None:
    """A 5-node tree attention mask: each node sees its ancestors and itself."""
    from matplotlib.patches import Rectangle

    parents = [-1, 0, 0, 1, 1]
    n = len(parents)
    cell = size / n
    for i in range(n):
        seen = {i}
        p = parents[i]
        while p >= 0:
            seen.add(p)
            p = parents[p]
        for j in range(n):
            color = "#4d4d4d" if j in seen else "white"
            ax.add_patch(
                Rectangle(
                    (x0 + j * cell, y0 - (i + 1) * cell),
                    cell,
                    cell,
                    facecolor=color,
                    edgecolor="#999999",
                    linewidth=0.3,
                )
            )
    ax.text(x0 + size / 2, y0 - size - 0.12, "tree mask", ha="center", va="top", fontsize=6)


def draw(table: Any = None) -> Any:
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(style.FULL_WIDTH, 1.55))
    shapes.blank(ax, (-0.2, 14.2), (-2.3, 1.0))
    xs = [1.2 + 2.9 * i for i in range(len(_STEPS))]
    for i, (x, (text, color)) in enumerate(zip(xs, _STEPS, strict=True)):
        shapes.box(ax, x, 0, 2.2, 1.1, f"{i + 1}. {text}", color=color + "40", fontsize=6.5)
        if i:
            shapes.arrow(ax, (xs[i - 1] + 1.1, 0), (x - 1.1, 0), shrink=1)
    ax.plot([xs[-1], xs[-1]], [-0.55, -0.85], color="black", linestyle="--", linewidth=0.8)
    ax.plot([xs[-1], xs[0]], [-0.85, -0.85], color="black", linestyle="--", linewidth=0.8)
    shapes.arrow(ax, (xs[0], -0.85), (xs[0], -0.55), ls="--", shrink=0)
    ax.text(
        (xs[2] + xs[4]) / 2,
        -1.0,
        "next iteration from the committed prefix (history window updates $D_0$, $\\tau_h$)",
        ha="center",
        va="top",
        fontsize=6,
    )
    _mask(ax, xs[1] - 0.45, -1.0, 0.9)
    fig.tight_layout()
    return fig
