"""Fixed-tree sweep: speedup over the (D, B, tau) grid per dataset; the selected setting starred.

The main table's fixed tree is raced on this sweep (dynatree.bench.selection), so the star marks
the setting the paper compares DynaTree against: the main table's own, which is not always the
highest point (a declared tie goes by its rule, not the highest mean; settings dropped early
have fewer prompts).
"""

from __future__ import annotations

import functools
import operator
from typing import Any

from dynatree.figures import style

_LINESTYLES = ("-", "--", ":", "-.")


def _selected(sweep: Any, main: Any) -> Any:
    """The sweep row with the main table's (D, B, tau); without a main table, the fastest."""
    if len(main) == 1:
        same = (sweep[f"param_{p}"] == main.iloc[0][f"param_{p}"] for p in ("D", "B", "tau"))
        rows = sweep[functools.reduce(operator.and_, same)]
        if len(rows):
            return rows.iloc[0]
    return sweep.loc[sweep["speedup"].idxmax()]


def draw(table: Any) -> Any:
    import matplotlib.pyplot as plt
    import seaborn as sns

    part = style.rows(table, "fixed_tree_sweep", "fixed_tree_sweep")
    part = part[part["method"] == "fixed_tree"]
    main = table[(table["experiment"] == "main") & (table["method"] == "fixed_tree")]
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
        chosen = main[main["dataset"] == ds]
        star = _selected(sel, chosen)
        ax.plot(
            star["param_D"],
            star["speedup"],
            marker="*",
            color="black",
            markersize=9,
            linestyle="none",
            label="selected" if len(chosen) else "fastest",
        )
        ax.set_title(style.dataset_label(ds))
        ax.set_xlabel("Depth D")
        ax.set_xticks(sorted(sel["param_D"].unique()))
    axes[0, 0].set_ylabel("Speedup over AR (×)")
    rows = style.bottom_legend(fig, axes[0, 0], ncol=3, handlelength=2.0)
    fig.tight_layout(rect=(0, 0.06 * rows, 1, 1), w_pad=0.6)
    return fig
