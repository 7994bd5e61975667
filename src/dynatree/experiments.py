"""Every experiment of the paper, declared once: the plan, the tables, the labels derive from it.

An experiment is one aggregate table (``results/aggregate/<name>.csv``). The pipeline plan
(workflow/lib/pipeline_plan.py) expands each one's config section into benchmark jobs, the
numbers stage summarises it, and the paper names it with ``label`` and cites the tables and
figures listed in ``shown_in`` (LaTeX labels) in its provenance appendix.
tests/test_experiments.py checks that the config schema, the plan and this list agree.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Variant:
    """One configuration of an ablation (tagged ``variant=<name>`` on its results)."""

    name: str
    label: str  # LaTeX, for tables
    short: str  # plain text, for figure tick labels


@dataclass(frozen=True)
class Experiment:
    name: str
    label: str  # as the paper's prose names it
    shown_in: tuple[str, ...]  # LaTeX labels of the tables/figures built from it
    variants: tuple[Variant, ...] = ()  # an ablation's configurations, in order


EXPERIMENTS: dict[str, Experiment] = {
    e.name: e
    for e in (
        Experiment(
            "main",
            "main comparison",
            ("tab:main", "tab:latency", "tab:efficiency", "tab:memory", "fig:main")
            + ("fig:sensitivity", "fig:cost"),  # reference lines; tree sizes chosen
        ),
        # The paper's progression: a fixed tree, then DynaTree's components one by one.
        Experiment(
            "ablation",
            "ablation",
            ("tab:ablation", "fig:ablation"),
            (
                Variant("fixed", "Fixed tree", "Fixed"),
                Variant("breadth_depth", "+ breadth \\& depth", "+B&D"),
                Variant("history", "+ history", "+Hist."),
            ),
        ),
        Experiment("length_scaling", "length scaling", ("fig:length",)),
        # The sweeps also choose the main table's fixed-tree setting and linear K.
        Experiment("fixed_tree_sweep", "fixed-tree sweep", ("fig:sweep", "tab:main")),
        Experiment("linear_sweep", "linear $K$ sweep", ("tab:main",)),
        Experiment("sensitivity", "parameter sensitivity", ("fig:sensitivity",)),
        Experiment("prompt_length", "prompt-length sensitivity", ("fig:prompt",)),
        # The main comparison with eager and with compiled forwards (decoding.regime): how each
        # method's speedup changes when the framework's per-op overhead goes away.
        Experiment("regimes", "eager-vs-compiled comparison", ("tab:regimes",)),
        # DynaTree-CA with each of its two ideas taken away.
        Experiment(
            "ca_ablation",
            "DynaTree-CA ablation",
            ("tab:ca_ablation",),
            (
                Variant("full", "DynaTree-CA", "CA"),
                Variant("no_calibration", "-- calibration map", "-Calib."),
                Variant("no_prices", "-- cost model (fixed budget)", "-Prices"),
            ),
        ),
    )
}

VARIANTS: dict[str, Variant] = {v.name: v for e in EXPERIMENTS.values() for v in e.variants}


def variant_names(experiment: str) -> tuple[str, ...]:
    """The variants of an ablation experiment, in their declared order."""
    return tuple(v.name for v in EXPERIMENTS[experiment].variants)
