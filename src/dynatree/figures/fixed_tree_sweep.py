"""Fixed-tree sweep: speedup over the (D, B, tau) grid per dataset; the best setting starred.

The main table's fixed tree is selected from this sweep, so the star marks the setting the
paper compares DynaTree against.
"""

from __future__ import annotations

from typing import Any

from dynatree.figures import style

_LINESTYLES = ("-", "--", ":", "-.")


def draw(table: Any) -> Any:
    import matplotlib.pyplot as plt
    import seaborn as sns

    part = style.rows(table, "fixed_tree_sweep", "fixed_tree_sweep")
    part = part[part["method"] == "fixed_tree"]
    datasets = style.ordered_datasets(part["dataset"])
    branchings = sorted(part["param_B"].unique())
    taus = sorted(part["param_tau"].unique())
    colors = dict(zip(branchings, sns.color_palette("viridis", len(branchings)), strict=True))
    fig, axes = plt.subplots(
        1, len(datasets), figsize=(style.COLUMN_WIDTH, 2.1), sharey=True, squeeze=False
    )
    for ax, ds in zip(axes[0], datasets, strict=True):
        sel = part[part["dataset"] == ds]
        for b in branchings:
            for j, tau in enumerate(taus):
                line = sel[(sel["param_B"] == b) & (sel["param_tau"] == tau)].sort_values("param_D")
                if not line.empty:
                    ax.errorbar(
                        line["param_D"],
                        line["speedup"],
                        yerr=style.ci_errors(line),
                        capsize=1.5,
                        elinewidth=0.6,
                        color=colors[b],
                        marker="o",
                        linestyle=_LINESTYLES[j % len(_LINESTYLES)],
                        markersize=3,
                        label=f"B={b:g}, τ={tau:g}",
                    )
        best = sel.loc[sel["speedup"].idxmax()]  # as `dynatree select` ranks them
        ax.plot(
            best["param_D"],
            best["speedup"],
            marker="*",
            color="black",
            markersize=9,
            linestyle="none",
            label="best",
        )
        ax.set_title(style.dataset_label(ds))
        ax.set_xlabel("Depth D")
        ax.set_xticks(sorted(sel["param_D"].unique()))
    axes[0, 0].set_ylabel("Speedup over AR (×)")
    rows = style.bottom_legend(fig, axes[0, 0], ncol=3, handlelength=2.0)
    fig.tight_layout(rect=(0, 0.06 * rows, 1, 1), w_pad=0.6)
    return fig
