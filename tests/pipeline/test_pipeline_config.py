"""The config: defaults filled, and every bad or impossible config stopped before any job with one
line naming the keys (in-process through the Snakefile's one call, `prepare`, and end to end
through `snakemake -n` for each kind)."""

from __future__ import annotations

import copy
import json
import time
from pathlib import Path

import pytest
import yaml
from config_schema import load_schema, validate_config
from pipeline_config import HUB_DATA_DIR, ConfigError, prepare, read_yaml, resolve_data
from pipeline_helpers import CONFIGS, REPO, scratch_copy, snakemake

SCHEMA = load_schema()
NAN, INF = float("nan"), float("inf")


def _load(name: str = "config/smoke.yaml") -> dict:
    return yaml.safe_load((REPO / name).read_text(encoding="utf-8"))


def _set(config: dict, dotted: str, value) -> dict:
    node = config
    *parents, leaf = dotted.split(".")
    for key in parents:
        node = node.setdefault(key, {})
    node[leaf] = value
    return config


@pytest.mark.parametrize("name", CONFIGS)
def test_shipped_configs_validate_and_plan(name: str) -> None:
    assert prepare(_load(name), copy.deepcopy(SCHEMA)).jobs


def test_defaults_are_filled_without_editing_the_schema() -> None:
    before = json.dumps(SCHEMA, sort_keys=True)
    config = _load()
    del config["protocol"]
    del config["data"]
    validate_config(config, SCHEMA)
    assert config["protocol"]["n_prompts"] == 10
    assert config["protocol"]["threads"] is None
    assert config["protocol"]["beyond_context"] is False
    assert config["data"] == {
        "source": "auto",
        "dir": "../shared/data",
        "lock": "config/data.lock.yaml",
        "seed": 0,
    }
    assert config["datasets"]["wikitext"]["params"] == {}
    assert config["models"]["embedded"]["target_steps"] == 30  # given values are kept
    config["data"]["seed"] = 5  # a filled default is the config's own copy
    assert json.dumps(SCHEMA, sort_keys=True) == before


def _rejects(config: dict, *needles: str) -> str:
    with pytest.raises(ConfigError) as info:
        prepare(config, SCHEMA)
    message = str(info.value)
    assert "\n" not in message and message.startswith("config: "), message
    assert len(message) < 1000, message  # one line, never a schema dump
    for needle in needles:
        assert needle in message, message
    return message


# (dotted key, value, words the one-line message must contain)
SCHEMA_CASES = {
    "typo'd top-level key": ("protocl", {}, ["top level", "'protocl'", "allowed: models"]),
    "typo'd nested key": ("protocol.n_promts", 3, ["protocol:", "'n_promts'", "n_prompts"]),
    "typo'd decoder parameter": ("methods.dynatree.tau_hh", 0.9, ["methods.dynatree", "tau_h"]),
    "typo'd sweep key": ("experiments.fixed_tree_sweep.depth", [3], ["fixed_tree_sweep", "D, B"]),
    "negative warm-up": ("protocol.warmup", -1, ["protocol.warmup", "minimum"]),
    "unknown device": ("protocol.device", "tpu", ["protocol.device", "cpu, cuda"]),
    "threshold above 1": ("methods.fixed_tree.tau", 1.5, ["methods.fixed_tree.tau"]),
    "unknown method": ("experiments.main.methods", ["ar", "medusa"], ["methods[1]", "medusa"]),
    "string length": ("datasets.wikitext.l_max", "long", ["datasets.wikitext.l_max", "integer"]),
    "unknown dataset": ("datasets.c4", {"l_max": 32}, ["datasets", "'c4'", "wikitext, pg19"]),
    "non-boolean flag": ("protocol.beyond_context", "yes", ["beyond_context", "boolean"]),
    # YAML .nan and .inf are floats: NaN satisfies every bound, inf every minimum
    "NaN decoder gain": (
        "methods.dynatree.eta_h",
        NAN,
        ["methods.dynatree.eta_h: nan", "a finite number >= 0"],
    ),
    "infinite prior": ("methods.dynatree_ca.prior", INF, ["dynatree_ca.prior: inf", "> 0"]),
    "zero prior (it divides)": ("methods.dynatree_ca.prior", 0, ["dynatree_ca.prior", "0"]),
    "NaN threshold": ("methods.fixed_tree.tau", NAN, ["fixed_tree.tau: nan", "> 0 and < 1"]),
    "infinite threshold": ("methods.fixed_tree.tau", INF, ["fixed_tree.tau", "maximum of 1"]),
    "NaN in a list": (
        "experiments.sensitivity.thresholds",
        [[NAN, 0.4]],
        ["thresholds[0][0]: nan", "< 1"],
    ),
    "NaN per-dataset override": (
        "datasets.pg19.params",
        {"dynatree": {"eta_D": NAN}},
        ["pg19.params.dynatree.eta_D"],
    ),
    "infinite learning rate": (
        "models.embedded.target_lr",
        INF,
        ["models.embedded.target_lr: inf", "a finite number > 0"],
    ),
    "NaN distillation weight": (
        "models.embedded.distill_alpha",
        NAN,
        ["distill_alpha: nan", ">= 0 and <= 1"],
    ),
    "embedded fraction out of range": (
        "models.embedded.heldout_fraction",
        0.7,
        ["heldout_fraction", "maximum of 0.5"],
    ),
}


@pytest.mark.parametrize("case", SCHEMA_CASES, ids=list(SCHEMA_CASES))
def test_schema_violation_is_one_line_naming_the_key(case: str) -> None:
    dotted, value, needles = SCHEMA_CASES[case]
    message = _rejects(_set(_load(), dotted, value), *needles)
    assert "Failed validating" not in message and "$defs" not in message


def test_hub_models_need_target_and_draft() -> None:
    config = _load("config/paper.yaml")
    del config["models"]["draft"]
    _rejects(config, "models.draft", "missing")


IMPOSSIBLE = {
    "no measured prompt": ({"protocol.n_prompts": 2, "protocol.warmup": 2}, ["protocol.warmup"]),
    "more parts than measured prompts": (
        {"experiments.main.parts": 3},
        ["experiments.main.parts 3", "2 measured prompts", "experiments.main.n_prompts 3"],
    ),
    "min_tokens above l_max": (
        {"datasets.pg19.min_tokens": 40},
        ["datasets.pg19.min_tokens 40", "datasets.pg19.l_max 32"],
    ),
    "min_tokens above a prompt_length l_max": (
        {"datasets.wikitext.min_tokens": 20},
        ["datasets.wikitext.min_tokens 20", "experiments.prompt_length.l_max 16"],
    ),
    "l_max + T beyond the trained context": (
        {"datasets.wikitext.l_max": 60},
        ["datasets.wikitext.l_max 60", "protocol.max_new_tokens 16", "context_length"],
    ),
    "a sweep's T beyond the trained context": (
        {"experiments.length_scaling.max_new_tokens": [16, 40]},
        ["experiments.length_scaling.max_new_tokens 40", "context_length"],
    ),
    "tiny l_max": ({"experiments.prompt_length.l_max": [4, 32]}, ["prompt_length.l_max 4", ">= 8"]),
    "impossible decoder setting": ({"methods.dynatree.D_0": 9}, ["dynatree", "D_0"]),
    "unknown build setting": ({"models.embedded.target_stepz": 3}, ["models.embedded", "stepz"]),
    "context above the positions": (
        {"models.embedded.context_length": 1024},
        ["models.embedded", "context_length=1024", "max_position_embeddings"],
    ),
}


@pytest.mark.parametrize("case", IMPOSSIBLE, ids=list(IMPOSSIBLE))
def test_impossible_config_is_one_line_naming_the_keys(case: str) -> None:
    edits, needles = IMPOSSIBLE[case]
    config = _load()
    for dotted, value in edits.items():
        _set(config, dotted, value)
    _rejects(config, *needles)


def test_beyond_context_lets_a_run_pass_the_trained_context() -> None:
    config = _set(_load(), "datasets.wikitext.l_max", 60)
    _set(config, "protocol.beyond_context", True)
    assert prepare(config, SCHEMA).jobs


def _fetched(root: Path, positions: int, **target: object) -> None:
    """config.json of a fetched Pythia pair; ``target`` overrides keys of the target's."""
    for role in ("target", "draft"):
        folder = root / "models" / "hub" / role
        folder.mkdir(parents=True)
        config = {"model_type": "gpt_neox", "max_position_embeddings": positions}
        (folder / "config.json").write_text(
            json.dumps({**config, **(target if role == "target" else {})})
        )


def test_fetched_hub_models_bound_prompt_plus_generation(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    paper = _load("config/paper.yaml")
    assert prepare(copy.deepcopy(paper), SCHEMA).jobs  # not fetched yet: nothing to check
    _fetched(tmp_path, 2048)
    assert prepare(copy.deepcopy(paper), SCHEMA).jobs  # the paper opts in: beyond_context
    strict = _set(copy.deepcopy(paper), "protocol.beyond_context", False)
    _rejects(strict, "protocol.max_new_tokens 1500", "> 2048", "beyond_context: true")
    too_long = _set(copy.deepcopy(paper), "datasets.pg19.l_max", 4000)
    _rejects(too_long, "datasets.pg19.l_max 4000 = 4000 > 2048")


def test_prompt_plus_generation_may_fill_the_positions_exactly(tmp_path, monkeypatch) -> None:
    """Drafts never reach past prompt + T (the drafter caps them), so that is all that counts."""
    monkeypatch.chdir(tmp_path)
    _fetched(tmp_path, 1000 + 1500)  # PG-19's longest prompt + T
    config = _set(_load("config/paper.yaml"), "protocol.beyond_context", False)
    assert prepare(copy.deepcopy(config), SCHEMA).jobs
    _rejects(_set(config, "datasets.pg19.l_max", 1001), "datasets.pg19.l_max 1001 + protocol")


def test_beyond_context_refused_for_a_position_table(tmp_path, monkeypatch) -> None:
    """GPT-2's learned positions stop at n_positions: protocol.beyond_context cannot help."""
    monkeypatch.chdir(tmp_path)
    _fetched(tmp_path, 2048, model_type="gpt2", n_positions=1024)
    _rejects(_load("config/paper.yaml"), "> 1024 positions", "n_positions", "table")


@pytest.mark.parametrize(
    ("rope", "fix"),
    [
        (
            {
                "model_type": "phi3",
                "original_max_position_embeddings": 2048,
                "rope_scaling": {"type": "longrope", "short_factor": [1], "long_factor": [2]},
            },
            "original_max_position_embeddings",
        ),
        ({"model_type": "llama", "rope_scaling": {"type": "dynamic", "factor": 2}}, "dynamic"),
    ],
    ids=["longrope", "dynamic"],
)
def test_a_length_dependent_rope_switch_bounds_every_job(tmp_path, monkeypatch, rope, fix) -> None:
    """Where the target's rotation switches with the sequence length no speculative decoder is
    exact across (dynatree.decoding.support), even with protocol.beyond_context."""
    monkeypatch.chdir(tmp_path)
    _fetched(tmp_path / "near", 2048, **rope)
    _fetched(tmp_path / "far", 4096, **{**rope, "original_max_position_embeddings": 4096})
    config = _load("config/paper.yaml")
    assert config["protocol"]["beyond_context"]
    monkeypatch.chdir(tmp_path / "near")
    _rejects(copy.deepcopy(config), "> 2048 positions", fix, "rotary embedding switches")
    monkeypatch.chdir(tmp_path / "far")  # every prompt + T (at most 2500) before the switch
    assert prepare(config, SCHEMA).jobs


def test_yaml_syntax_error_names_the_line(tmp_path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("protocol:\n  n_prompts: 3\n warmup: [1\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"bad.yaml line 3, column 2: YAML syntax error: "):
        read_yaml(bad)


# --- The same, end to end: `snakemake -n` stops in seconds, the one line names the keys. ------


def _dry_run(cwd: Path, *args: str) -> tuple[int, str, float]:
    start = time.monotonic()
    run = snakemake(["-n", *args], cwd=cwd)
    return run.returncode, run.stdout + run.stderr, time.monotonic() - start


@pytest.mark.parametrize(
    ("edits", "named"),
    [
        ({"protocol.n_promts": 3}, "protocol: unknown key 'n_promts'"),  # schema
        ({"methods.dynatree.D_0": 9}, "D_0=9 >= D_max"),  # impossible decoder setting
        ({"models.embedded.target_stepz": 3}, "target_stepz"),  # build settings
        ({"protocol.warmup": 2}, "protocol.warmup 2 must be < protocol.n_prompts 2"),
        ({"datasets.pg19.min_tokens": 40}, "datasets.pg19.min_tokens 40 > datasets.pg19.l_max"),
        ({"datasets.wikitext.l_max": 60}, "datasets.wikitext.l_max 60 + protocol.max_new_tokens"),
        ({"models.embedded.target_lr": float("inf")}, "models.embedded.target_lr: inf"),
    ],
    ids=["schema", "decoder", "build", "warmup", "min_tokens", "context", "infinite"],
)
def test_snakemake_stops_before_any_job(tmp_path, edits: dict, named: str, capsys) -> None:
    config = _load()
    for dotted, value in edits.items():
        _set(config, dotted, value)
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(config), encoding="utf-8")
    rc, output, seconds = _dry_run(REPO, "--configfile", str(bad))
    assert rc != 0
    lines = [line for line in output.splitlines() if named in line]
    assert len(lines) == 1 and lines[0].startswith("config: "), output
    assert "Job stats" not in output and "Failed validating" not in output
    assert len(output.splitlines()) <= 4, output  # profile notice, WorkflowError, line, frame
    with capsys.disabled():
        print(f"\n  snakemake -n rejected it in {seconds:.1f} s")


def test_default_config_syntax_error_names_the_line(tmp_path) -> None:
    root = tmp_path / "repo"
    scratch_copy(root)
    lines = (root / "config.yaml").read_text(encoding="utf-8").splitlines()
    line = next(n for n, row in enumerate(lines, 1) if row == "  n_prompts: 6")
    lines[line - 1] = "  n_prompts: [6"  # an unclosed list: YAML notices on the next line
    (root / "config.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    rc, output, _ = _dry_run(root)
    assert rc != 0
    assert f"config.yaml line {line + 1}, column" in output, output
    assert f"flow sequence at line {line})" in output, output


# --- Where the raw text comes from (data.source) ----------------------------------------------


def _data_config(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, **data) -> dict:
    """The smoke config, data.* as given, run from the repository (the lock's relative path)."""
    monkeypatch.chdir(REPO)
    config = _load()
    config["data"] = {"dir": str(tmp_path / "copy"), **data}
    validate_config(config, SCHEMA)
    return config


def _copy(tmp_path: Path) -> Path:
    (tmp_path / "copy" / "wikitext-2-raw").mkdir(parents=True)
    (tmp_path / "copy" / "gutenberg").mkdir()
    return tmp_path / "copy"


def test_auto_reads_a_local_copy_when_there_is_one(monkeypatch, tmp_path: Path) -> None:
    _copy(tmp_path)
    config = _data_config(monkeypatch, tmp_path)
    data = resolve_data(config)
    assert (data.source, data.dir) == ("local", str(tmp_path / "copy"))
    assert config["data"]["source"] == "local" and "no download" in data.note


def test_auto_downloads_when_there_is_none(monkeypatch, tmp_path: Path) -> None:
    config = _data_config(monkeypatch, tmp_path)
    data = resolve_data(config)
    assert (data.source, data.dir) == ("hub", HUB_DATA_DIR)
    assert config["data"]["source"] == "hub"
    assert "no local copy" in data.note and "config/data.lock.yaml" in data.note


def test_hub_is_used_even_beside_a_local_copy(monkeypatch, tmp_path: Path) -> None:
    _copy(tmp_path)
    data = resolve_data(_data_config(monkeypatch, tmp_path, source="hub"))
    assert data.source == "hub"


def test_local_without_the_directory_is_one_line(monkeypatch, tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        resolve_data(_data_config(monkeypatch, tmp_path, source="local"))
    message = str(info.value)
    assert "\n" not in message and "data.dir" in message and "data.source: hub" in message


def test_a_local_file_unlike_the_lock_stops_planning(monkeypatch, tmp_path: Path) -> None:
    copy_dir = _copy(tmp_path)
    (copy_dir / "wikitext-2-raw" / "wiki.test.raw").write_text(" = Not WikiText = \n")
    with pytest.raises(ConfigError) as info:
        resolve_data(_data_config(monkeypatch, tmp_path))
    message = str(info.value)
    assert "\n" not in message and "wikitext-2-raw/wiki.test.raw" in message
    assert "config/data.lock.yaml" in message and "restore the file" in message


def test_a_missing_lock_is_one_line(monkeypatch, tmp_path: Path) -> None:
    config = _data_config(monkeypatch, tmp_path, lock="config/nope.lock.yaml")
    with pytest.raises(ConfigError, match="data.lock config/nope.lock.yaml: no such file"):
        resolve_data(config)
