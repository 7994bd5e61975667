"""A number is finite and within its stated range, or refused in one line naming it and the range.

Decoder parameters, build settings and the config all check numbers through dynatree.bounds (the
config's schema fragments are written from the same declarations; its NaN and infinities are
caught where the schema is applied: tests/pipeline/test_pipeline_config.py).
"""

from __future__ import annotations

import dataclasses

import pytest

from dynatree.bounds import Bound, is_finite_number
from dynatree.decoding.registry import METHODS, parse_params
from dynatree.errors import UsageError
from dynatree.models.settings import EmbeddedSettings, parse_settings, settings_schema
from dynatree.validation import SchemaViolation, first_non_finite, validate

NAN, INF = float("nan"), float("inf")


@pytest.mark.parametrize(
    ("bound", "inside", "outside", "words"),
    [
        (Bound(low=1), [1, 7, 10**9], [0, -1, NAN, INF], "a finite number >= 1"),
        (Bound(low=0, exclusive=True), [1e-9, 4.0], [0, -INF, INF, NAN], "a finite number > 0"),
        (Bound(0.0, 1.0, exclusive=True), [0.5], [0.0, 1.0, NAN], "in the open interval (0, 1)"),
        (Bound(0.0, 1.0), [0.0, 1.0], [1.5, -0.1, NAN], "a finite number in [0, 1]"),
        (Bound(), [0, -3, 2.5], [NAN, INF, -INF, True, "1"], "a finite number"),
    ],
)
def test_a_bound_holds_finite_numbers_in_its_range(bound, inside, outside, words) -> None:  # type: ignore[no-untyped-def]
    assert all(bound.contains(v) for v in inside)
    assert not any(bound.contains(v) for v in outside)
    assert words in bound.describe()
    for value in outside:
        with pytest.raises(UsageError) as info:
            bound.check("x", value)
        assert str(info.value) == f"x={value}: must be {bound.describe()}"


def test_booleans_and_strings_are_not_numbers() -> None:
    assert not is_finite_number(True) and not is_finite_number("3") and is_finite_number(3)


def _numeric_fields(cls: type) -> list[dataclasses.Field]:
    return [f for f in dataclasses.fields(cls) if str(f.type) == "float"]


@pytest.mark.parametrize("method", [m for m in METHODS if _numeric_fields(METHODS[m].params)])
@pytest.mark.parametrize("value", ["nan", "inf", "-inf"])
def test_no_float_decoder_parameter_takes_nan_or_inf(method: str, value: str) -> None:
    for f in _numeric_fields(METHODS[method].params):
        with pytest.raises(UsageError, match=f"^{f.name}={value}: must be a finite number"):
            parse_params(method, {f.name: value})


@pytest.mark.parametrize("value", ["nan", "inf", "-inf"])
def test_no_float_build_setting_takes_nan_or_inf(value: str) -> None:
    for f in _numeric_fields(EmbeddedSettings):
        with pytest.raises(UsageError, match=rf"^--set {f.name}={value}: must be a finite number"):
            parse_settings([f"{f.name}={value}"])


def test_settings_schema_states_each_settings_range() -> None:
    """The config's models.embedded block is written from the settings' declarations."""
    schema = settings_schema()
    assert list(schema["properties"]) == [f.name for f in dataclasses.fields(EmbeddedSettings)]
    assert schema["properties"]["target_lr"] == {"type": "number", "exclusiveMinimum": 0}
    assert schema["properties"]["draft_steps"] == {"type": "integer", "minimum": 0}
    assert schema["properties"]["distill_alpha"] == {"type": "number", "minimum": 0, "maximum": 1}
    assert schema["properties"]["precision"]["enum"] == ["auto", "bf16", "fp32"]
    validate({"target_lr": 0.5, "precision": "fp32"}, schema)
    with pytest.raises(SchemaViolation, match="target_lr"):
        validate({"target_lr": 0}, schema)


def test_finite_check_names_the_key_path_and_the_range() -> None:
    schema = {
        "type": "object",
        "properties": {"a": {"type": "array", "items": {"$ref": "#/$defs/u"}}},
        "$defs": {"u": {"type": "number", "exclusiveMinimum": 0, "maximum": 1}},
    }
    assert first_non_finite({"a": [0.5, {"b": [1, INF]}]}) == ("a", 1, "b", 1)
    assert first_non_finite({"a": [0.5, True, "nan"]}) is None
    validate({"a": [NAN]}, schema)  # the schema alone lets NaN through
    with pytest.raises(SchemaViolation) as info:
        validate({"a": [NAN]}, schema, finite=True)
    assert str(info.value) == "a[0]: nan is not allowed; a finite number > 0 and <= 1"
