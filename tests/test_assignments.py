"""``--set key=value`` parsing and typing shared by decoder parameters and embedded settings."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from dynatree.assignments import build, coerce, parse_pairs
from dynatree.errors import UsageError


@dataclass(frozen=True)
class Example:
    n: int = 1
    x: float = 0.5
    on: bool = False
    name: str = "a"


def test_parse_pairs() -> None:
    assert parse_pairs(["a=1", "b = x=y"], "--tag") == {"a": "1", "b": "x=y"}
    assert parse_pairs(None, "--tag") == {}
    with pytest.raises(UsageError, match="--tag a: given twice"):
        parse_pairs(["a=1", "a=2"], "--tag")
    with pytest.raises(UsageError, match="expected key=value"):
        parse_pairs(["novalue"], "--set")


def test_build_types_values_and_names_unknown_keys() -> None:
    built = build(Example, {"n": "3", "x": 2, "on": "yes", "name": "b"}, "setting")
    assert built == Example(n=3, x=2.0, on=True, name="b")
    with pytest.raises(UsageError, match="--set size: unknown setting .*n, x, on, name"):
        build(Example, {"size": "1"}, "setting")


@pytest.mark.parametrize(("value", "kind"), [("2.5", "int"), (2.5, "int"), ("maybe", "bool")])
def test_coerce_rejects_values_of_the_wrong_type(value: object, kind: str) -> None:
    with pytest.raises(UsageError, match=f"--set k={value!r}: expected"):
        coerce("k", value, kind)
