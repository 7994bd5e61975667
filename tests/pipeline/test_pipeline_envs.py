"""envs/*.yaml (one conda environment per rule group, for `--sdm conda`) can deploy and suffice.

Conda itself is not needed: what Snakemake does to an env file is reproduced (it copies the file
to .snakemake/conda/<hash>.yaml and conda runs pip from there), every pin is checked against
pyproject.toml, and each environment is checked to hold what its rules' code imports (statically,
functions included, following the package's own modules) and nothing else.
"""

from __future__ import annotations

import argparse
import ast
import importlib
import importlib.metadata as metadata
import importlib.util
import re
import shutil
import sys
from functools import cache
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement
from pipeline_helpers import REPO

from dynatree import cli

ENV_FILES = sorted((REPO / "envs").glob("*.yaml"))
_PIN = re.compile(r"^([A-Za-z0-9_.\-]+)==(\S+)$")
_PYPROJECT = (REPO / "pyproject.toml").read_text(encoding="utf-8")
# Quoted requirement strings of pyproject.toml (tomllib is Python >= 3.11 only).
_QUOTED_PIN = re.compile(r'^\s*"([A-Za-z0-9_.\-\[\]]+)==([^"]+)",?\s*$', re.M)


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _pyproject_pins() -> dict[str, str]:
    return {_norm(name): version for name, version in _QUOTED_PIN.findall(_PYPROJECT)}


def _runtime_dependencies() -> set[str]:
    block = _PYPROJECT.split("dependencies = [", 1)[1].split("]", 1)[0]
    return {_norm(name) for name, _ in _QUOTED_PIN.findall(block)}


def _pip_entries(path: Path) -> list[str]:
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    entries = []
    for dep in doc["dependencies"]:
        if isinstance(dep, dict):
            entries += dep.get("pip", [])
    return entries


def _env_pins(path: Path) -> dict[str, str]:
    return {_norm(m[1]): m[2] for e in _pip_entries(path) if (m := _PIN.match(e))}


def test_every_rule_group_has_an_environment() -> None:
    names = {p.stem for p in ENV_FILES}
    assert {"models", "data", "bench", "aggregate", "figures", "paper"} <= names


@pytest.mark.parametrize("path", ENV_FILES, ids=lambda p: p.name)
def test_env_deploys_from_where_snakemake_puts_it(path: Path, tmp_path: Path) -> None:
    """Snakemake copies the file to .snakemake/conda/<hash>.yaml and conda runs pip there, so a
    local path in the pip section (``-e ..``, ``-r file``, ``./pkg``) resolves from that copy,
    not from envs/: it must not point anywhere (the rules run the package from src/ instead)."""
    copy = tmp_path / ".snakemake" / "conda" / "0123abcd.yaml"
    copy.parent.mkdir(parents=True)
    shutil.copy(path, copy)
    for entry in _pip_entries(copy):
        spec = entry.split(None, 1)[-1] if entry.startswith("-") else entry
        local = entry.startswith("-") or spec.startswith((".", "/", "file:")) or "/" in spec
        if local:
            resolved = (copy.parent / spec.removeprefix("file:")).resolve()
            packaged = (resolved / "pyproject.toml").is_file() or resolved.is_file()
            pytest.fail(
                f"{path.name}: pip entry {entry!r} resolves to {resolved} from Snakemake's copy "
                f"({'exists' if packaged else 'nothing there'}); list pinned packages instead"
            )


@pytest.mark.parametrize("path", ENV_FILES, ids=lambda p: p.name)
def test_env_pins_agree_with_pyproject(path: Path) -> None:
    pins = _pyproject_pins()
    for entry in _pip_entries(path):
        match = _PIN.match(entry)
        assert match, f"{path.name}: {entry!r} is not an exact pin"
        name, version = _norm(match[1]), match[2]
        assert name in pins, f"{path.name}: {name} is not a dependency in pyproject.toml"
        assert version == pins[name], (
            f"{path.name}: {name}=={version} but pyproject.toml pins {pins[name]}"
        )


def test_rules_point_at_existing_environments() -> None:
    for smk in (REPO / "workflow" / "rules").glob("*.smk"):
        for ref in re.findall(r'"\.\./\.\./(envs/[^"]+)"', smk.read_text(encoding="utf-8")):
            assert (REPO / ref).is_file(), f"{smk.name}: conda env {ref} does not exist"


# --- What each environment must hold: the rules' imports --------------------------------------


def _rules() -> dict[str, tuple[str, str]]:
    """rule → (env file name, dynatree subcommand) for every rule with a conda env."""
    rules = {}
    for smk in (REPO / "workflow" / "rules").glob("*.smk"):
        text = smk.read_text(encoding="utf-8")
        for block in re.split(r"^(?=rule \w+:)", text, flags=re.M)[1:]:
            name = block.split(":", 1)[0].removeprefix("rule ")
            env = re.search(r'conda:\s*"\.\./\.\./envs/([^"]+)"', block)
            command = re.search(r'"python -m dynatree (\S+)', block)
            if env:
                assert command, f"rule {name}: a conda env but no `python -m dynatree` command"
                rules[name] = (env[1], command[1])
    return rules


def _command_modules() -> dict[str, str]:
    """Top-level subcommand → the CLI module that registers it."""
    owners = {}
    for module in cli._STAGES:
        sub = argparse.ArgumentParser().add_subparsers()
        importlib.import_module(module).register(sub)
        owners.update(dict.fromkeys(sub.choices, module))
    return owners


def _is_type_checking(node: ast.AST) -> bool:
    return isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)


_DEFS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
Request = tuple[str, frozenset[str] | None]  # a module and the names used from it (None: all)


@cache
def _is_module(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


@cache
def _tree(module: str) -> ast.Module:
    return ast.parse(Path(importlib.util.find_spec(module).origin).read_text(encoding="utf-8"))


def _imports_in(nodes: list[ast.AST]) -> list[Request]:
    """What ``nodes`` (and everything nested in them) import; ``if TYPE_CHECKING`` never runs."""
    found: list[Request] = []

    def visit(node: ast.AST) -> None:
        if _is_type_checking(node):
            return
        if isinstance(node, ast.Import):
            found.extend((alias.name, None) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            for alias in node.names:
                sub = f"{node.module}.{alias.name}"
                found.append((sub, None) if _is_module(sub) else (node.module, {alias.name}))
        elif isinstance(node, ast.Call) and ast.unparse(node.func).endswith("import_module"):
            if node.args and isinstance(node.args[0], ast.Constant):
                found.append((node.args[0].value, None))
        for child in ast.iter_child_nodes(node):
            visit(child)

    for node in nodes:
        visit(node)
    return [(m, None if names is None else frozenset(names)) for m, names in found]


def _module_imports(module: str, names: frozenset[str] | None) -> list[Request]:
    """What importing ``module`` and running ``names`` (None: any of its functions) imports.

    Module-level statements always run; a function or class runs only when used: those named,
    and the module's own functions and classes they refer to, transitively.
    """
    tree = _tree(module)
    defs = {node.name: node for node in tree.body if isinstance(node, _DEFS)}
    chosen = set(defs) if names is None else set(names) & set(defs)
    todo = list(chosen)
    while todo:
        for node in ast.walk(defs[todo.pop()]):
            if isinstance(node, ast.Name) and node.id in defs and node.id not in chosen:
                chosen.add(node.id)
                todo.append(node.id)
    top_level = [node for node in tree.body if not isinstance(node, _DEFS)]
    return _imports_in(top_level + [defs[name] for name in chosen])


def _third_party(roots: list[Request]) -> set[str]:
    """Top-level third-party packages the ``roots`` import, following the package's modules."""
    scanned: dict[str, frozenset[str] | None] = {}
    todo = list(roots)
    found: set[str] = set()
    while todo:
        module, names = todo.pop()
        top = module.split(".")[0]
        if top != "dynatree":
            if top not in sys.stdlib_module_names and top != "__future__":
                found.add(top)
            continue
        if module in scanned:
            before = scanned[module]
            if before is None or (names is not None and names <= before):
                continue
            names = None if names is None else names | before
        scanned[module] = names
        todo.extend(_module_imports(module, names))
    return found


@cache
def _requirements(dist: str) -> frozenset[str]:
    """``dist`` and everything it requires (no extras), transitively."""
    out = {dist}
    for spec in metadata.requires(dist) or []:
        req = Requirement(spec)
        if req.marker is None or req.marker.evaluate({"extra": ""}):
            out |= _requirements(_norm(req.name))
    return frozenset(out)


def _closure(dists: set[str]) -> set[str]:
    return set().union(*(_requirements(d) for d in dists)) if dists else set()


def _needed(commands: set[str]) -> set[str]:
    """Distributions of pyproject's runtime dependencies the commands' code imports."""
    owners = _command_modules()
    # Every stage's CLI module is imported to build the parser; only the commands' own run.
    roots: list[Request] = [(m, frozenset()) for m in ("dynatree.cli", *cli._STAGES)]
    roots += [(owners[c], None) for c in commands]
    top_to_dists = metadata.packages_distributions()
    runtime = _runtime_dependencies()
    needed = set()
    for top in _third_party(roots):
        dists = {_norm(d) for d in top_to_dists.get(top, [])}
        # Installed but not a runtime dependency (e.g. the optional `datasets`): not needed.
        needed |= dists & _closure(runtime)
    return needed


def _env_commands() -> dict[str, set[str]]:
    envs: dict[str, set[str]] = {}
    for env, command in _rules().values():
        envs.setdefault(env, set()).add(command)
    return envs


@pytest.mark.parametrize("env", sorted(_env_commands()))
def test_env_holds_what_its_rules_import(env: str) -> None:
    commands = _env_commands()[env]
    needed = _needed(commands)
    pins = set(_env_pins(REPO / "envs" / env))
    missing = needed - _closure(pins)
    assert not missing, f"envs/{env} (commands {sorted(commands)}) lacks {sorted(missing)}"


@pytest.mark.parametrize("env", sorted(_env_commands()))
def test_env_holds_nothing_its_rules_do_not_need(env: str) -> None:
    commands = _env_commands()[env]
    pins = set(_env_pins(REPO / "envs" / env))
    unneeded = pins - _closure(_needed(commands))
    assert not unneeded, f"envs/{env} (commands {sorted(commands)}) pins unused {sorted(unneeded)}"


def test_every_runtime_dependency_is_needed_by_some_rule() -> None:
    used = _closure(_needed({c for _, c in _rules().values()}))
    snakemake_process = {"jsonschema", "pyyaml"}  # config validation in the Snakemake process
    unused = _runtime_dependencies() - used - snakemake_process
    assert not unused, f"pyproject.toml runtime dependencies no rule imports: {sorted(unused)}"
