"""Drawing primitives for the code-drawn schematics: token nodes, boxes, arrows (data coords)."""

from __future__ import annotations

from typing import Any

ACCEPT = "#2ca02c"
REJECT = "#d62728"
DRAFT = "#1f77b4"
TARGET = "#ff7f0e"
NEUTRAL = "#d9d9d9"


def blank(ax: Any, xlim: tuple[float, float], ylim: tuple[float, float]) -> None:
    """An axis with no frame or ticks and equal scaling, for diagrams."""
    ax.set_xlim(*xlim)
    ax.set_ylim(*ylim)
    ax.set_aspect("equal")
    ax.axis("off")


def node(ax: Any, x: float, y: float, text: str, color: str = "white", r: float = 0.28) -> None:
    from matplotlib.patches import Circle

    ax.add_patch(Circle((x, y), r, facecolor=color, edgecolor="black", linewidth=0.7, zorder=3))
    ax.text(x, y, text, ha="center", va="center", fontsize=6.5, zorder=4)


def box(
    ax: Any,
    x: float,
    y: float,
    w: float,
    h: float,
    text: str,
    color: str = "white",
    fontsize: float = 6.5,
) -> None:
    from matplotlib.patches import FancyBboxPatch

    ax.add_patch(
        FancyBboxPatch(
            (x - w / 2, y - h / 2),
            w,
            h,
            boxstyle="round,pad=0.02,rounding_size=0.08",
            facecolor=color,
            edgecolor="black",
            linewidth=0.7,
            zorder=2,
        )
    )
    ax.text(x, y, text, ha="center", va="center", fontsize=fontsize, zorder=4, wrap=True)


def arrow(
    ax: Any,
    start: tuple[float, float],
    end: tuple[float, float],
    color: str = "black",
    style: str = "-|>",
    lw: float = 0.8,
    shrink: float = 9.0,
    ls: str = "-",
) -> None:
    ax.annotate(
        "",
        xy=end,
        xytext=start,
        zorder=1,
        arrowprops={
            "arrowstyle": style,
            "color": color,
            "lw": lw,
            "shrinkA": shrink,
            "shrinkB": shrink,
            "linestyle": ls,
        },
    )
