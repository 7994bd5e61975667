"""One entry per method: the schema, CLI, plan, figures and paper all derive from the registry.

A dummy method registered in that one place must be accepted by the config schema, planned by
the pipeline, listed by ``dynatree bench --help``, coloured by the figures and labelled by the
paper, with nothing else edited.
"""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

import pytest
import yaml

from dynatree.cli import build_parser
from dynatree.decoding import params as P
from dynatree.decoding import registry
from dynatree.decoding.registry import METHODS, Method
from dynatree.errors import UsageError
from dynatree.figures import style
from dynatree.paper.values import Values

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "workflow" / "lib"))
from config_schema import load_schema, validate_config  # noqa: E402
from pipeline_plan import build_plan  # noqa: E402

DUMMY = Method(
    "dummy",
    "Dummy SD",
    P.LinearParams,
    "dynatree.decoding.linear:LinearDecoder",
    needs_draft=True,
    uses_tree=True,
    color="#123456",
    marker="X",
)


@pytest.fixture
def dummy(monkeypatch: pytest.MonkeyPatch) -> Method:
    monkeypatch.setitem(METHODS, DUMMY.name, DUMMY)
    return DUMMY


def _smoke_config() -> dict:
    return yaml.safe_load((REPO / "config" / "smoke.yaml").read_text(encoding="utf-8"))


def test_schema_enum_and_parameters_follow_the_registry() -> None:
    defs = load_schema()["$defs"]
    assert defs["method_name"]["enum"] == list(METHODS)
    for name, entry in METHODS.items():
        names = [f.name for f in dataclasses.fields(entry.params)]
        props = defs["method_params"]["properties"].get(name, {}).get("properties", {})
        assert list(props) == names, name


def test_every_entry_builds_its_declared_decoder() -> None:
    import importlib

    from dynatree.decoding.base import Decoder

    for name, entry in METHODS.items():
        module, cls = entry.decoder.split(":")
        decoder_cls = getattr(importlib.import_module(module), cls)
        assert issubclass(decoder_cls, Decoder) and decoder_cls.name == name
        assert all(p.is_file() for p in registry.decoder_source_files(name))
        assert registry.parse_params(name, {}) == entry.params()


def test_bounds_are_declared_once_and_enforced_by_both() -> None:
    schema = load_schema()["$defs"]["method_params"]["properties"]["fixed_tree"]["properties"]
    assert schema["tau"] == {"type": "number", "exclusiveMinimum": 0.0, "exclusiveMaximum": 1.0}
    with pytest.raises(UsageError, match="tau=1.5"):
        registry.parse_params("fixed_tree", {"tau": "1.5"})
    with pytest.raises(UsageError, match="schedule"):
        registry.parse_params("hf_assisted", {"schedule": "sometimes"})


def test_a_dummy_method_reaches_every_stage(dummy: Method, capsys) -> None:  # type: ignore[no-untyped-def]
    # Config schema and plan: a valid key and a planned job.
    config = _smoke_config()
    config["methods"]["dummy"] = {"K": 2}
    config["experiments"]["main"]["methods"] = ["ar", "dummy"]
    validate_config(config, load_schema())
    plan = build_plan(config, registry.parse_params)
    assert ("main", "wikitext", "dummy", "default") in plan.jobs
    assert registry.decoder_source_files("dummy")
    # CLI: the bench help lists it.
    with pytest.raises(SystemExit):
        build_parser().parse_args(["bench", "--help"])
    assert "dummy" in capsys.readouterr().out
    # Figures and paper: colour, marker and label.
    assert (style.method_color("dummy"), style.method_marker("dummy")) == ("#123456", "X")
    assert style.method_label("dummy") == "Dummy SD"
    assert Values({}).context()["method"]("dummy") == "Dummy SD"
    assert "dummy" in style.ordered_methods(["dummy", "ar"])


def test_bench_help_lists_every_method(capsys) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(SystemExit):
        build_parser().parse_args(["bench", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert all(name in out for name in METHODS)
