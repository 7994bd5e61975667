"""Length scaling: TPS, L̄, ℓ̄ and acceptance as the generation length T grows (four panels)."""

from __future__ import annotations

from typing import Any

from dynatree.figures import style

_PANELS = (
    ("tps_mean", "tps_std", "Throughput (tok/s)", 1.0),
    ("tokens_per_iter_mean", None, r"$\bar{L}$ (tokens/iter)", 1.0),
    ("accepted_len_mean", None, r"$\bar{\ell}$ (accepted/iter)", 1.0),
    ("acceptance_rate_mean", None, "Acceptance (%)", 100.0),
)


def draw(table: Any) -> Any:
    import matplotlib.pyplot as plt

    part = style.rows(table, "length_scaling", "length_scaling")
    ds = style.ordered_datasets(part["dataset"])[0]
    part = part[part["dataset"] == ds]
    fig, axes = plt.subplots(2, 2, figsize=(style.COLUMN_WIDTH, 2.9), sharex=True)
    for ax, (col, err, label, scale), letter in zip(axes.flat, _PANELS, "abcd", strict=True):
        for m in style.ordered_methods(part["method"]):
            sel = part[part["method"] == m].sort_values("max_new_tokens").dropna(subset=[col])
            if sel.empty:
                continue
            x, y = sel["max_new_tokens"], sel[col] * scale
            ax.plot(
                x,
                y,
                label=style.method_label(m),
                color=style.method_color(m),
                marker=style.method_marker(m),
            )
            if err:
                e = sel[err].fillna(0) * scale
                ax.fill_between(
                    x, y - e, y + e, color=style.method_color(m), alpha=0.15, linewidth=0
                )
        ax.set_ylabel(label)
        ax.set_title(f"({letter})", loc="left")
    for ax in axes[1]:
        ax.set_xlabel("Generation length T (tokens)")
    style.bottom_legend(fig, axes[0, 0], y=-0.01)
    fig.tight_layout(rect=(0, 0.05, 1, 1), h_pad=0.4, w_pad=0.6)
    return fig
