"""DynaTree parameter sensitivity: thresholds, breadth and depth, against AR and the fixed tree.

(a) each (tau_h, tau_l) setting as a point coloured by throughput; (b) and (c) throughput
mean ± std as B_max and D_max vary, with horizontal reference lines for AR and the fixed tree
measured on the same prompts and T (taken from any table passed, e.g. main.csv).
"""

from __future__ import annotations

from typing import Any

from dynatree.errors import UsageError
from dynatree.figures import style


def _reference(table: Any, sweep: Any, method: str) -> Any:
    """The ``method`` row measured on the sweep's prompts and T; main's when there are several."""
    key = sweep.iloc[0]
    ref = table[
        (table["method"] == method)
        & (table["dataset"] == key["dataset"])
        & (table["prompts_sha256"] == key["prompts_sha256"])
        & (table["max_new_tokens"] == key["max_new_tokens"])
    ].drop_duplicates("source")
    if len(ref) > 1:
        ref = ref[ref["experiment"] == "main"] if (ref["experiment"] == "main").any() else ref
    return None if ref.empty else ref.iloc[0]


def _sweep(ax: Any, table: Any, sub: Any, param: str, label: str, title: str) -> None:
    sub = sub.sort_values(f"param_{param}")
    ax.errorbar(
        sub[f"param_{param}"],
        sub["tps_mean"],
        yerr=sub["tps_std"],
        marker="D",
        color=style.method_color("dynatree"),
        capsize=2,
        label="DynaTree",
    )
    for method, ls in (("ar", "--"), ("fixed_tree", ":")):
        ref = _reference(table, sub, method)
        if ref is not None:
            ax.axhline(
                ref["tps_mean"],
                color=style.method_color(method),
                linestyle=ls,
                label=style.method_label(method),
            )
    ax.set_xlabel(label)
    ax.set_xticks(sorted(sub[f"param_{param}"].unique()))
    ax.set_title(title)


def draw(table: Any) -> Any:
    import matplotlib.pyplot as plt

    part = style.rows(table, "sensitivity", "sensitivity")
    part = part[part["method"] == "dynatree"]
    ds = style.ordered_datasets(part["dataset"])[0]
    part = part[part["dataset"] == ds]
    variants = {v: part[part["tag_variant"] == v] for v in ("threshold", "breadth", "depth")}
    missing = [v for v, sub in variants.items() if sub.empty]
    if missing:
        raise UsageError(f"--tables: sensitivity has no rows with variant={', '.join(missing)}")
    fig, axes = plt.subplots(1, 3, figsize=(style.FULL_WIDTH, 2.0))
    thr = variants["threshold"]
    points = axes[0].scatter(
        thr["param_tau_l"],
        thr["param_tau_h"],
        c=thr["tps_mean"],
        cmap="viridis",
        s=40,
        edgecolor="black",
        linewidth=0.4,
    )
    best = thr.loc[thr["tps_mean"].idxmax()]
    axes[0].plot(
        best["param_tau_l"],
        best["param_tau_h"],
        marker="*",
        color="red",
        markersize=10,
        linestyle="none",
        label="best",
    )
    fig.colorbar(points, ax=axes[0], label="tok/s", pad=0.02)
    axes[0].set_xlabel(r"$\tau_l$ (low-confidence threshold)")
    axes[0].set_ylabel(r"$\tau_h$ (high-confidence threshold)")
    axes[0].set_title("(a) Confidence thresholds")
    axes[0].legend(loc="lower right", frameon=True)
    _sweep(
        axes[1], table, variants["breadth"], "B_max", r"$B_{\max}$ (max. children)", "(b) Breadth"
    )
    _sweep(axes[2], table, variants["depth"], "D_max", r"$D_{\max}$ (max. depth)", "(c) Depth")
    axes[1].set_ylabel("Throughput (tok/s)")
    axes[2].legend(loc="best", frameon=True)
    fig.tight_layout(w_pad=1.5)
    return fig
