"""Every figure of the paper, declared once: name → the experiments whose tables it reads.

The figure is drawn by the module of the same name (``dynatree.figures.<name>.draw``); the
pipeline's ``figure`` rule takes those tables as inputs, and the paper shows the figure when the
first of them ran. Schematics read no table and are always shown.
"""

from __future__ import annotations

FIGURES: dict[str, tuple[str, ...]] = {
    "schematic_paradigms": (),
    "schematic_iteration": (),
    "schematic_adaptive": (),
    "main_results": ("main",),
    "ablation": ("ablation",),
    "length_scaling": ("length_scaling",),
    "fixed_tree_sweep": ("fixed_tree_sweep", "main"),
    "sensitivity": ("sensitivity", "main"),
    "prompt_length": ("prompt_length",),
    "verify_cost": ("main",),
}

# Figures that also read JSON files by name (the rule passes ``--file NAME=PATH``): the run's
# verify-cost profile and, when one is committed, a GPU device check (results/device/).
FIGURE_FILES: dict[str, tuple[str, ...]] = {"verify_cost": ("profile", "gpu")}
