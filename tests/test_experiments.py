"""Experiments and figures are declared once; the schema, the plan and the CLI agree with them."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

from dynatree.experiments import EXPERIMENTS
from dynatree.figures.registry import FIGURES

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "workflow" / "lib"))
from config_schema import load_schema  # noqa: E402
from pipeline_plan import EXPERIMENTS as PLANNED  # noqa: E402
from pipeline_plan import FIGURE_TABLES  # noqa: E402
from pipeline_plan import _Builder as Builder  # noqa: E402


def test_every_experiment_has_a_config_section_and_a_plan() -> None:
    section = load_schema()["properties"]["experiments"]
    assert set(section["required"]) == set(section["properties"]) == set(EXPERIMENTS)
    assert PLANNED == tuple(EXPERIMENTS)
    assert all(callable(getattr(Builder, name, None)) for name in EXPERIMENTS)


def test_every_figure_has_a_module_and_reads_declared_experiments() -> None:
    assert FIGURE_TABLES is FIGURES
    for name, tables in FIGURES.items():
        assert callable(importlib.import_module(f"dynatree.figures.{name}").draw), name
        assert set(tables) <= set(EXPERIMENTS), name


def test_paper_labels_every_experiment() -> None:
    from dynatree.paper.values import Values

    context = Values({}).context()
    for name, experiment in EXPERIMENTS.items():
        assert context["experiment"](name) == experiment.label
        assert all(ref.split(":")[0] in ("tab", "fig") for ref in context["shown_in"](name))
