"""Every figure renders (PDF + PNG, non-empty) from synthetic tables; wrong inputs are refused."""

from __future__ import annotations

import argparse

import pytest

from synthetic import write_profile, write_suite
from dynatree.aggregate.table import build_table
from dynatree.errors import UsageError
from dynatree.figures import cli


@pytest.fixture(scope="module")
def tables(tmp_path_factory):
    root = tmp_path_factory.mktemp("figures")
    paths = {}
    for experiment, inputs in write_suite(root / "results").items():
        paths[experiment] = str(root / f"{experiment}.csv")
        build_table(experiment, inputs).to_csv(paths[experiment], index=False)
    return paths


def run(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    cli.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(argv)
    return args.func(args)


# figure → the aggregate CSVs it needs (documented in docs/formats.md)
NEEDS = {
    "main_results": ["main"],
    "ablation": ["ablation"],
    "length_scaling": ["length_scaling"],
    "fixed_tree_sweep": ["fixed_tree_sweep"],
    "sensitivity": ["sensitivity", "main"],
    "prompt_length": ["prompt_length"],
    "schematic_paradigms": [],
    "schematic_iteration": [],
    "schematic_adaptive": [],
    "verify_cost": ["main"],
}


def test_every_cli_figure_is_tested():
    assert set(NEEDS) == set(cli.FIGURES)


@pytest.mark.parametrize("name", sorted(NEEDS))
def test_figure_renders(name, tables, tmp_path):
    from PIL import Image

    out = tmp_path / f"{name}.pdf"
    argv = ["figure", name, "--out", str(out)]
    if NEEDS[name]:
        argv += ["--tables", *(tables[e] for e in NEEDS[name])]
    for file in cli.FIGURE_FILES.get(name, ()):  # a synthetic profile; a GPU one for the other
        device = "cuda" if file == "gpu" else "cpu"
        path = write_profile(tmp_path / f"{file}.json", device)
        if file == "gpu":  # a device check holds its profile per run
            path = _device_check(tmp_path / "gpu-check.json", path)
        argv += ["--file", f"{file}={path}"]
    assert run(argv) == 0
    assert out.read_bytes().startswith(b"%PDF")
    png = out.with_suffix(".png")
    with Image.open(png) as image:
        width, height = image.size
        colours = image.convert("L").getextrema()
    assert width > 300 and height > 150
    assert colours[0] < colours[1]  # not a blank canvas


def test_sensitivity_draws_reference_lines_from_main(tables):
    from dynatree.aggregate.table import read_tables
    from dynatree.figures import sensitivity, style

    style.apply()
    fig = sensitivity.draw(read_tables([tables["sensitivity"], tables["main"]]))
    labels = [t.get_text() for t in fig.axes[2].get_legend().get_texts()]
    assert {"AR", "Fixed tree", "DynaTree"} <= set(labels)


def test_wrong_table_names_the_missing_csv(tables, tmp_path):
    out = tmp_path / "ablation.pdf"
    with pytest.raises(UsageError, match="ablation.csv"):
        run(["figure", "ablation", "--tables", tables["main"], "--out", str(out)])
    assert not out.exists()


def test_data_figure_without_tables_is_refused(tmp_path):
    with pytest.raises(UsageError, match="--tables"):
        run(["figure", "main_results", "--out", str(tmp_path / "m.pdf")])


def test_out_must_be_pdf(tmp_path):
    with pytest.raises(UsageError, match="--out"):
        run(["figure", "schematic_iteration", "--out", str(tmp_path / "m.png")])


def _device_check(out, profile_path):  # type: ignore[no-untyped-def]
    """A device-check report (benchmarks/device_check.py layout) around one synthetic profile."""
    import json

    profile = json.loads(open(profile_path).read())
    run = {"pair": "random pythia", "dtype": "float16", "profile": profile}
    out.write_text(json.dumps({"runs": [run], "provenance": {"device_name": "Synthetic GPU"}}))
    return str(out)
