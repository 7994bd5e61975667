"""The package's import graph is a stack: no import cycle, and no reach upward.

Every module under src/dynatree is parsed with ``ast`` (nothing is imported), and every import
statement counts: at the top of a module, inside a function, or under ``TYPE_CHECKING``, since
a cycle hidden in a function is still a cycle. So does a string naming a module of the package
(``"dynatree.bench.cli"``, ``"dynatree.decoding.ar:ARDecoder"``): that is what
``importlib.import_module`` loads (the CLI's stages, the registry's decoders). A shared piece
that two layers need lives below both of them; these tests name the import that breaks that, by
file and line.
"""

from __future__ import annotations

import ast
import graphlib
import itertools
from dataclasses import dataclass
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = "dynatree"

#: Units low to high: the subpackages of dynatree by name, its top-level modules by module name,
#: ``__init__`` for the package's own __init__ (``__version__``). A unit imports only from
#: itself and from units of lower layers; units that share a layer do not import each other.
LAYERS: list[list[str]] = [
    ["__init__", "errors", "validation", "omp", "experiments"],  # declarations, no imports
    ["io", "bounds", "assignments", "locate"],  # files, settings, model names
    ["checked_json"],  # JSON inputs checked against their fields (jsonschema)
    ["numbers_file"],  # numbers.json: aggregate writes it; claims, paper, stability read it
    ["data", "decoding"],  # the datasets; the decoders, their cost model and its measurement
    ["models"],  # the embedded pair is trained on the data's corpus
    ["bench"],  # runs decoders on models and data; result files
    ["aggregate"],  # result files into tables and numbers.json
    ["figures", "claims", "stability"],  # read the tables and numbers.json
    ["paper"],  # renders numbers.json, the figures and the claims' table
    ["cli"],  # loads every stage's cli by name
    ["__main__"],
]


@dataclass(frozen=True)
class Import:
    module: str  # the importing module, e.g. dynatree.bench.cli
    target: str  # the imported module of this package, e.g. dynatree.bench.result_file
    path: str  # the importing module's file, from the repository root
    line: int

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.module} imports {self.target}"


def modules() -> dict[str, Path]:
    """Every module of the package by dotted name (a package by its own name)."""
    found = {}
    for path in sorted((SRC / PACKAGE).rglob("*.py")):
        parts = list(path.relative_to(SRC).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def imports(known: dict[str, Path]) -> list[Import]:
    """Every import of a module of this package, wherever in the module it is written.

    ``from a.b import c`` imports ``a.b.c`` when that is a module, else ``a.b``; relative
    imports are resolved against the importing module's package; a string constant that is a
    dotted module name (optionally ``:attribute``) is an import by name.
    """
    found = []
    root = SRC.parent
    for name, path in known.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join([*anchor, *([node.module] if node.module else [])])
                targets = [
                    f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base
                    for alias in node.names
                ]
            elif isinstance(node, ast.Constant) and isinstance(node.value, str):
                named = node.value.partition(":")[0]
                targets = [named] if "." in named and named in known else []
            for target in targets:
                while target and target not in known:  # import a.b.c.d: the module a.b.c
                    target = target.rpartition(".")[0]
                if target and target != name:
                    found.append(Import(name, target, str(path.relative_to(root)), node.lineno))
    return list(dict.fromkeys(found))  # ``from a import b, c``: one import of ``a``


def unit(module: str) -> str:
    """The layering unit of a module: its subpackage, or itself at the top level."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def cycle(edges: list[Import]) -> list[Import]:
    """The imports along one import cycle, in order (none: the graph has no cycle)."""
    graph: dict[str, set[str]] = {}
    for edge in edges:
        graph.setdefault(edge.module, set()).add(edge.target)
    try:
        graphlib.TopologicalSorter(graph).prepare()
    except graphlib.CycleError as error:
        nodes = error.args[1]  # [a, b, ..., a]: each imported by the next
        by_pair = {(e.module, e.target): e for e in edges}
        return [by_pair[(b, a)] for a, b in itertools.pairwise(nodes)]
    return []


def upward(edges: list[Import], layers: list[list[str]]) -> list[Import]:
    """The imports that reach a unit of the same or a higher layer than their own."""
    level = {name: i for i, layer in enumerate(layers) for name in layer}
    return [
        e
        for e in edges
        if unit(e.module) != unit(e.target) and level[unit(e.target)] >= level[unit(e.module)]
    ]


@pytest.fixture(scope="module")
def edges() -> list[Import]:
    return imports(modules())


def test_every_unit_has_one_layer() -> None:
    declared = [name for layer in LAYERS for name in layer]
    assert len(declared) == len(set(declared)), "a unit declared in two layers"
    assert {unit(m) for m in modules()} == set(declared)


def test_no_import_cycle(edges: list[Import]) -> None:
    found = cycle(edges)
    assert not found, "an import cycle:\n" + "\n".join(map(str, found))


def test_no_unit_imports_from_its_own_layer_or_above(edges: list[Import]) -> None:
    bad = upward(edges, LAYERS)
    assert not bad, "imports that reach up the stack:\n" + "\n".join(map(str, bad))


def test_the_checks_find_a_cycle_and_an_upward_import() -> None:
    """The two checks on a made-up graph: they can fail."""
    bench, table = "dynatree.bench.cli", "dynatree.aggregate.table"
    up = Import(bench, table, "src/dynatree/bench/cli.py", 3)
    down = Import(table, bench, "src/dynatree/aggregate/table.py", 5)
    assert set(cycle([up, down])) == {up, down}
    assert cycle([up]) == []
    assert upward([up, down], [["bench"], ["aggregate"]]) == [up]
    assert upward([down], [["bench", "aggregate"]]) == [down]  # siblings stay apart
    assert str(up) == "src/dynatree/bench/cli.py:3: dynatree.bench.cli imports " + table
