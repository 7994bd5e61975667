"""numbers.json as the paper and the claims read it: whole, and a number wherever one is printed
(SYNTHETIC entries)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from claims_numbers import embedded_run

from dynatree.errors import UsageError
from dynatree.numbers_file import load_numbers


def _write(tmp_path: Path, numbers: object, text: str | None = None) -> Path:
    path = tmp_path / "numbers.json"
    path.write_text(
        text
        if text is not None
        else json.dumps({"schema": "dynatree.numbers/1", "numbers": numbers})
    )
    return path


def test_a_whole_numbers_file_loads(tmp_path):
    numbers = embedded_run()
    assert load_numbers(_write(tmp_path, numbers)) == numbers


def _set(key: str, **fields: object):
    def edit(numbers: dict) -> None:
        numbers[key].update(fields)

    return edit


KEY = "main.wikitext.ar.tps_mean"  # a number printed in Table 1 and read by a claim


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (_set(KEY, value="fast"), rf"numbers\.{KEY}\.value: 'fast' is not of type number"),
        (_set(KEY, value=True), rf"numbers\.{KEY}\.value: True is not of type number"),
        (_set(KEY, value=["1", 2]), rf"numbers\.{KEY}\.value\[0\]: '1' is not of type number"),
        (
            _set(KEY, unit=None, value="x"),
            rf"numbers\.{KEY}\.value: 'x' is not of type number",
        ),  # digits
        (_set(KEY, digits="1"), rf"numbers\.{KEY}\.digits: '1' is not of type integer"),
        (_set(KEY, digits=-1), rf"numbers\.{KEY}\.digits: -1 is less than the minimum"),
        (
            _set(KEY, sources="res.json"),
            rf"numbers\.{KEY}\.sources: 'res.json' is not of type array",
        ),
        (_set(KEY, value={"a": 1}), rf"numbers\.{KEY}\.value: .* is not valid under any"),
        (_set(KEY, extra=1), rf"numbers\.{KEY}: unknown key 'extra'"),
        (lambda n: n[KEY].pop("unit"), rf"numbers\.{KEY}\.unit: missing"),
        (lambda n: n.__setitem__(KEY, 3.0), rf"numbers\.{KEY}: 3\.0 is not of type object"),
    ],
)
def test_an_entry_that_is_not_whole_or_not_a_number_is_refused(tmp_path, edit, message):
    numbers = embedded_run()
    edit(numbers)
    path = _write(tmp_path, numbers)
    with pytest.raises(UsageError, match=rf"--numbers {path}: {message}"):
        load_numbers(path)


def test_strings_and_string_lists_without_a_unit_are_facts(tmp_path):
    numbers = embedded_run()
    numbers["main.datasets"] = {"value": ["wikitext"], "unit": None, "digits": 0, "sources": []}
    numbers["hardware.cpu_model"] = {"value": "x", "unit": None, "digits": None, "sources": []}
    load_numbers(_write(tmp_path, numbers))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"schema": "dynatree.numbers/1", "numbers": []}', r"numbers: \[\] is not of type"),
        ('{"schema": "dynatree.numbers/1"}', "numbers: missing"),
        (
            '{"schema": "dynatree.numbers/1", "numbers": {"k": {"value": NaN, "unit": "x", '
            '"digits": 2, "sources": []}}}',
            r"numbers\.k\.value: NaN where a number belongs",
        ),
    ],
)
def test_a_malformed_file_is_one_line(tmp_path, text, message):
    path = _write(tmp_path, None, text)
    with pytest.raises(UsageError, match=rf"--numbers .*: {message}"):
        load_numbers(path)
