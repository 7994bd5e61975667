"""SYNTHETIC numbers.json contents for the claims checks: nothing here is a measurement.

``paper_run()`` is a made-up run on the original's protocol (Pythia pair, CUDA fp16 on an A100,
T = 1500) whose values equal the original's Table 1, so every shipped claim holds on it; the
tests change one thing at a time and watch the verdicts move.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]  # tests/support/ -> the repository
CLAIMS_FILE = REPO / "config" / "claims.yaml"

Numbers = dict[str, dict[str, Any]]
# (experiment, tree method) pairs of paper_run's exactness entries
EXACT_RUNS = (("main", "fixed_tree"), ("main", "dynatree"), ("fixed_tree_sweep", "fixed_tree"))


def put(numbers: Numbers, key: str, value: Any, unit: str | None = None, digits: int | None = None):
    numbers[key] = {"value": value, "unit": unit, "digits": digits, "sources": [f"res/{key}.json"]}


def paper_run() -> Numbers:
    n: Numbers = {}
    for key, value in {
        "config.models.target.id": "EleutherAI/pythia-2.8b",
        "config.models.draft.id": "EleutherAI/pythia-70m",
        "models.target": "models/hub/target",
        "models.draft": "models/hub/draft",
        "protocol.device": "cuda",
        "protocol.dtype": "float16",
        "protocol.max_new_tokens": 1500,
        "config.datasets.wikitext.l_max": 800,
        "config.datasets.pg19.l_max": 1000,
        "hardware.device_name": "NVIDIA A100-SXM4-80GB",
    }.items():
        put(n, key, value)
    table1 = {
        "wikitext": (133.4, {"linear": 1.47, "fixed_tree": 1.50, "dynatree": 1.64}, 219.5),
        "pg19": (114.8, {"linear": 1.26, "fixed_tree": 1.62, "dynatree": 1.70}, 194.9),
    }
    for ds, (ar_tps, speedups, dyn_tps) in table1.items():
        put(n, f"main.{ds}.ar.tps_mean", ar_tps, "tok/s", 1)
        put(n, f"main.{ds}.ar.speedup", 1.0, "x", 2)
        for method, speedup in speedups.items():
            put(n, f"main.{ds}.{method}.speedup", speedup, "x", 2)
            put(n, f"main.{ds}.{method}.tps_mean", ar_tps * speedup, "tok/s", 1)
        put(n, f"main.{ds}.dynatree.tps_mean", dyn_tps, "tok/s", 1)
        put(n, f"main.{ds}.dynatree_vs.fixed_tree.pct", 9.3, "%", 1)
    put(n, "ablation.datasets", ["wikitext", "pg19"])
    for ds in ("wikitext", "pg19"):
        for variant, speedup in (("fixed", 1.50), ("breadth_depth", 1.61), ("history", 1.72)):
            put(n, f"ablation.{ds}.{variant}.speedup", speedup, "x", 2)
        put(n, f"ablation.{ds}.breadth_depth.vs_fixed.pct", 6.8, "%", 1)
        put(n, f"ablation.{ds}.history.vs_breadth_depth.pct", 6.6, "%", 1)
    put(n, "length_scaling.datasets", ["wikitext"])
    put(n, "length_scaling.wikitext.T_values", [100, 500, 1500], None, 0)
    for T, speedup in ((100, 1.41), (500, 1.52), (1500, 1.64)):
        put(n, f"length_scaling.wikitext.T{T}.dynatree.speedup", speedup, "x", 2)
    put(n, "fixed_tree_sweep.datasets", ["wikitext", "pg19"])
    for ds in ("wikitext", "pg19"):
        for name, best, grid in (("D", 8, [4, 6, 8]), ("B", 3, [2, 3]), ("tau", 0.1, [0.05, 0.1])):
            put(n, f"select.{ds}.fixed_tree.param.{name}", best)
            put(n, f"fixed_tree_sweep.{ds}.{name}_values", grid)
        put(n, f"select.{ds}.fixed_tree.tie_n", 0, "count", 0)
    for ds, best in (("wikitext", 8), ("pg19", 5)):
        put(n, f"select.{ds}.linear.param.K", best, None, 0)
        put(n, f"select.{ds}.linear.tie_n", 0, "count", 0)
        put(n, f"linear_sweep.{ds}.K_values", [2, 5, 8], None, 0)
    put(n, "exact.experiments", ["fixed_tree_sweep", "main"])
    put(n, "exact.main.methods", ["fixed_tree", "dynatree", "hf_assisted"])
    put(n, "exact.fixed_tree_sweep.methods", ["fixed_tree"])
    for exp, method in EXACT_RUNS:
        put(n, f"exact.{exp}.{method}.runs", 2, "count", 0)
        put(n, f"exact.{exp}.{method}.checked", 2, "count", 0)
        put(n, f"exact.{exp}.{method}.min_pct", 100.0, "%", 1)
        put(n, f"exact.{exp}.{method}.n_exact", 4, "count", 0)
        put(n, f"exact.{exp}.{method}.n_tie", 0, "count", 0)
        put(n, f"exact.{exp}.{method}.n_wrong", 0, "count", 0)
    return n


def embedded_run() -> Numbers:
    """The same values under the embedded default's facts: small CPU models, float32, T = 128."""
    n = paper_run()
    for key in ("config.models.target.id", "config.models.draft.id"):
        del n[key]
    for key, value in {
        "models.target": "models/embedded/target",
        "models.draft": "models/embedded/draft",
        "protocol.device": "cpu",
        "protocol.dtype": "float32",
        "protocol.max_new_tokens": 128,
        "config.datasets.wikitext.l_max": 112,
        "config.datasets.pg19.l_max": 128,
        "hardware.device_name": "cpu",
    }.items():
        put(n, key, value)
    return n
