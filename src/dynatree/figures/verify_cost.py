"""What verification and drafting cost on the hardware: t(n)/t(1) and g(w)/g(1), measured.

Panel (a) is this run's profile (rule ``profile``) with the tree sizes DynaTree-CA chose in the
main comparison marked on the target's curve (median, 10th-90th percentile of the drafted nodes
per iteration, plus the root); panel (b), when a GPU device check has been committed
(``results/device/*.json``, benchmarks/device_check.py), the same curves on that GPU, labelled
with its name: where verifying more tokens is nearly free, wide trees pay.
"""

from __future__ import annotations

from typing import Any

from dynatree.decoding.cost import read_device_check, read_profile
from dynatree.figures import style


def _curve(points: list[dict[str, Any]], key: str) -> tuple[list[int], list[float], int]:
    """The ratio curve at the largest measured prefix (the decoding regime's end)."""
    prefix = max(p["prefix"] for p in points)
    chosen = sorted((p for p in points if p["prefix"] == prefix), key=lambda p: p[key])
    return [p[key] for p in chosen], [p["ratio"] for p in chosen], prefix


def _panel(ax: Any, profile: dict[str, Any], title: str) -> None:
    n, t, prefix = _curve(profile["verify"], "n")
    w, g, _ = _curve(profile["draft_level"], "width")
    ax.plot(n, t, marker="o", color=style.method_color("ar"), label=f"target $t(n)/t(1)$")
    ax.plot(w, g, marker="s", color=style.method_color("linear"), label="draft $g(w)/g(1)$")
    ax.set_xscale("log", base=2)
    ax.set_xlabel(f"tokens per forward (cache {prefix})")
    ax.set_title(title, loc="left")


def _gpu_runs(path: str) -> tuple[list[tuple[str, dict[str, Any]]], str]:
    """The half-precision profiles of a device-check report (pair label, profile) and the GPU."""
    report = read_device_check(path, "--file gpu")
    runs = [
        (run["pair"].split("/")[-1], run["profile"])
        for run in report.get("runs", [])
        if "profile" in run and run["dtype"] == "float16"
    ]
    return runs, str(report.get("provenance", {}).get("device_name", "GPU"))


def draw(table: Any, profile: str, gpu: str | None = None) -> Any:
    import matplotlib.pyplot as plt
    import numpy as np

    measured = read_profile(profile, "--file profile")
    gpu_runs, gpu_name = _gpu_runs(gpu) if gpu else ([], "")
    panels = 2 if gpu_runs else 1
    fig, axes = plt.subplots(1, panels, figsize=(style.COLUMN_WIDTH, 2.1), squeeze=False)
    ax = axes[0][0]
    hardware = f"{measured.get('device', '')}, {measured.get('dtype', '')}"
    _panel(ax, measured, f"(a) this run ({hardware})")
    ax.set_ylabel("cost relative to one token")
    part = table[(table["experiment"] == "main") & (table["method"] == "dynatree_ca")]
    n, t, _ = _curve(measured["verify"], "n")
    for _, row in part.iterrows():
        size = float(row["tree_nodes_p50"]) + 1  # the root is verified too
        low, high = float(row["tree_nodes_p10"]) + 1, float(row["tree_nodes_p90"]) + 1
        ax.errorbar(
            size,
            float(np.interp(size, n, t)),
            xerr=[[size - low], [high - size]],
            fmt=style.method_marker("dynatree_ca"),
            color=style.method_color("dynatree_ca"),
            capsize=2,
            label=f"DynaTree-CA trees ({style.dataset_label(row['dataset'])})",
        )
    if gpu_runs:
        gpu_ax = axes[0][1]
        _panel(gpu_ax, gpu_runs[0][1], f"(b) {gpu_name}, fp16")
        for label, other in gpu_runs[1:]:
            n_other, t_other, _ = _curve(other["verify"], "n")
            gpu_ax.plot(n_other, t_other, linestyle="--", color=style.method_color("ar"))
            gpu_ax.annotate(label, (n_other[-1], t_other[-1]), fontsize=6)
    style.bottom_legend(fig, ax, ncol=2, handlelength=1.2)
    fig.tight_layout(rect=(0, 0.14, 1, 1), w_pad=0.8)
    return fig
