"""Ablation progression: fixed tree → + dynamic breadth & depth → + history adaptation.

Two panels, each with a twin axis: throughput with verification iterations, and tokens per
iteration (L̄) with acceptance rate, so the speed change can be read against its causes.
"""

from __future__ import annotations

from typing import Any

from dynatree.experiments import variant_names
from dynatree.figures import style


def draw(table: Any) -> Any:
    import matplotlib.pyplot as plt
    import numpy as np

    part = style.rows(table, "ablation", "ablation")
    part = part[part["method"] != "ar"]
    datasets = style.ordered_datasets(part["dataset"])
    order = [v for v in variant_names("ablation") if v in set(part["tag_variant"])]
    order += sorted(set(part["tag_variant"]) - set(order))
    labels, frames = [], []
    for ds in datasets:
        for v in order:
            sel = part[(part["dataset"] == ds) & (part["tag_variant"] == v)]
            if len(sel):
                frames.append(sel.iloc[0])
                label = style.variant_label(v)
                labels.append(
                    label if len(datasets) == 1 else f"{label}\n{style.dataset_label(ds)}"
                )
    x = np.arange(len(frames))
    fig, axes = plt.subplots(1, 2, figsize=(style.COLUMN_WIDTH, 2.1))
    panels = (
        ("tps_mean", "tps_std", "Throughput (tok/s)", "iterations_mean", "#Iter", 1.0),
        (
            "tokens_per_iter_mean",
            "tokens_per_iter_std",
            r"$\bar{L}$ (tokens/iter)",
            "acceptance_rate_mean",
            "Acceptance (%)",
            100.0,
        ),
    )
    for ax, (bar, err, bar_label, line, line_label, scale), title in zip(
        axes, panels, ("(a) Throughput & #Iter", r"(b) $\bar{L}$ & acceptance"), strict=True
    ):
        ax.bar(
            x,
            [r[bar] for r in frames],
            0.6,
            yerr=[r[err] for r in frames],
            capsize=1.5,
            color=style.method_color("dynatree"),
            alpha=0.75,
            error_kw={"elinewidth": 0.6},
        )
        ax.set_ylabel(bar_label)
        ax.set_xticks(x)
        ax.set_xticklabels(labels, fontsize=6.5, rotation=30, ha="right", rotation_mode="anchor")
        ax.set_title(title)
        twin = ax.twinx()
        twin.plot(x, [r[line] * scale for r in frames], color="black", marker="o")
        twin.set_ylabel(line_label)
        twin.grid(False)
        lo, hi = twin.get_ylim()
        pad = 0.25 * (hi - lo or 1.0)
        twin.set_ylim(lo - pad, hi + pad)
    fig.tight_layout(w_pad=0.6)
    return fig
