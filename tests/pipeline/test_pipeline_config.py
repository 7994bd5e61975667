"""The config schema: defaults filled, typo'd keys and bad values rejected with the key named."""

from __future__ import annotations

import copy
import sys

import pytest
import yaml
from pipeline_helpers import CONFIGS, REPO, snakemake

sys.path.insert(0, str(REPO / "workflow" / "lib"))
from config_schema import validate_config  # noqa: E402


def _load(name: str = "config/smoke.yaml") -> dict:
    return yaml.safe_load((REPO / name).read_text(encoding="utf-8"))


@pytest.mark.parametrize("name", CONFIGS)
def test_shipped_configs_validate(name: str) -> None:
    validate_config(_load(name))


def test_defaults_are_filled() -> None:
    config = _load()
    del config["protocol"]
    validate_config(config)
    assert config["protocol"]["n_prompts"] == 10
    assert config["protocol"]["threads"] is None
    assert config["datasets"]["wikitext"]["params"] == {}
    assert config["models"]["embedded"]["target_steps"] == 30  # given values are kept


def _set(config: dict, dotted: str, value) -> None:
    *parents, leaf = dotted.split(".")
    for key in parents:
        config = config[key]
    config[leaf] = value


@pytest.mark.parametrize(
    ("dotted", "value", "named"),
    [
        ("protocl", {}, "protocl"),  # typo'd top-level key
        ("protocol.n_promts", 3, "n_promts"),  # typo'd nested key
        ("methods.dynatree.tau_hh", 0.9, "tau_hh"),  # typo'd decoder parameter
        ("experiments.fixed_tree_sweep.depth", [3], "depth"),
        ("protocol.warmup", -1, "warmup"),  # bad values
        ("protocol.device", "tpu", "device"),
        ("methods.fixed_tree.tau", 1.5, "tau"),
        ("experiments.main.methods", ["ar", "medusa"], "methods"),
        ("datasets.wikitext.l_max", "long", "l_max"),
    ],
)
def test_schema_rejects_and_names_the_key(dotted: str, value, named: str) -> None:
    config = copy.deepcopy(_load())
    _set(config, dotted, value)
    with pytest.raises(Exception) as info:
        validate_config(config)
    assert named in str(info.value)


def test_hub_models_need_target_and_draft() -> None:
    config = _load("config/paper.yaml")
    del config["models"]["draft"]
    with pytest.raises(Exception, match="draft"):
        validate_config(config)


@pytest.mark.parametrize(
    ("dotted", "value", "named"),
    [
        ("protocol.n_promts", 3, "n_promts"),  # schema
        ("methods.dynatree.D_0", 9, "D_0"),  # valid type, impossible setting (D_0 >= D_max)
        ("models.embedded.target_stepz", 3, "target_stepz"),  # build settings are checked too
    ],
)
def test_snakemake_stops_before_any_job(tmp_path, dotted: str, value, named: str) -> None:
    config = _load()
    _set(config, dotted, value)
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(config), encoding="utf-8")
    run = snakemake(["-n", "--configfile", str(bad)], cwd=REPO)
    assert run.returncode != 0
    assert named in run.stdout + run.stderr
    assert "Job stats" not in run.stdout + run.stderr
