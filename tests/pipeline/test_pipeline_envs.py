"""envs/*.yaml (one conda environment per rule group) must pin exactly what pyproject.toml pins."""

from __future__ import annotations

import re

import pytest
import yaml
from pipeline_helpers import REPO

ENV_FILES = sorted((REPO / "envs").glob("*.yaml"))
_PIN = re.compile(r"^([A-Za-z0-9_.\-\[\]]+)==(\S+)$")


_PYPROJECT = (REPO / "pyproject.toml").read_text(encoding="utf-8")
# Quoted requirement strings of pyproject.toml (tomllib is Python >= 3.11 only).
_QUOTED_PIN = re.compile(r'^\s*"([A-Za-z0-9_.\-\[\]]+)==([^"]+)",?\s*$', re.M)


def _pyproject_pins() -> dict[str, str]:
    return {name.lower(): version for name, version in _QUOTED_PIN.findall(_PYPROJECT)}


def _runtime_dependencies() -> set[str]:
    block = _PYPROJECT.split("dependencies = [", 1)[1].split("]", 1)[0]
    return {name.lower() for name, _ in _QUOTED_PIN.findall(block)}


def _pip_entries(path) -> list[str]:
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    entries = []
    for dep in doc["dependencies"]:
        if isinstance(dep, dict):
            entries += dep.get("pip", [])
    return entries


def test_every_rule_group_has_an_environment() -> None:
    names = {p.stem for p in ENV_FILES}
    assert {"models", "data", "bench", "aggregate", "figures", "paper"} <= names


@pytest.mark.parametrize("path", ENV_FILES, ids=lambda p: p.name)
def test_env_pins_agree_with_pyproject(path) -> None:
    pins = _pyproject_pins()
    entries = _pip_entries(path)
    assert "-e .." in entries, f"{path.name}: must install the repository's package (-e ..)"
    for entry in entries:
        if entry == "-e ..":
            continue
        match = _PIN.match(entry)
        assert match, f"{path.name}: {entry!r} is not an exact pin"
        name, version = match[1].lower(), match[2]
        assert name in pins, f"{path.name}: {name} is not a dependency in pyproject.toml"
        assert version == pins[name], (
            f"{path.name}: {name}=={version} but pyproject.toml pins {pins[name]}"
        )


def test_every_runtime_dependency_is_in_some_environment() -> None:
    runtime = _runtime_dependencies()
    assert "torch" in runtime
    pinned = {_PIN.match(e)[1].lower() for p in ENV_FILES for e in _pip_entries(p) if _PIN.match(e)}
    missing = runtime - pinned - {"jsonschema", "pyyaml"}  # used by the snakemake process only
    assert not missing, f"runtime dependencies missing from every envs/*.yaml: {sorted(missing)}"


def test_rules_point_at_existing_environments() -> None:
    for smk in (REPO / "workflow" / "rules").glob("*.smk"):
        for ref in re.findall(r'"\.\./\.\./(envs/[^"]+)"', smk.read_text(encoding="utf-8")):
            assert (REPO / ref).is_file(), f"{smk.name}: conda env {ref} does not exist"
