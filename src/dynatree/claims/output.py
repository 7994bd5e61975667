"""results/claims.csv, its provenance sidecar, and the ``claims.*`` values the paper prints.

The CSV is the one record of the verdicts: the terminal table, the paper's appendix table and its
"k of n claims hold" sentence are all read back from it. For the paper, :func:`claims_numbers`
turns its rows into numbers.json-style entries, so the templates print them with the same
accessors as every other number and the render audit covers them. The original paper's values
(``claims.<id>.reported``) name the claims file as their source; this run's values name the
result files behind them.
"""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from dynatree.claims.checks import FAILS, HOLDS, NOT_COMPARABLE, VERDICTS
from dynatree.claims.evaluate import Row
from dynatree.claims.records import ClaimsFile
from dynatree.errors import UsageError
from dynatree.io import atomic_path, read_json, write_json_atomic
from dynatree.validation import SchemaViolation, validate

COLUMNS = tuple(f.name for f in dataclasses.fields(Row))
PROVENANCE_SCHEMA = "dynatree.claims-check/1"
COUNTS = {"n_holds": HOLDS, "n_fails": FAILS, "n_not_comparable": NOT_COMPARABLE}


def provenance_path(table: str | Path) -> Path:
    """The sidecar of a claims table: results/claims.csv → results/claims.provenance.json."""
    return Path(table).with_suffix(".provenance.json")


def frame(rows: list[Row]) -> Any:
    import pandas as pd

    return pd.DataFrame([dataclasses.asdict(r) for r in rows], columns=list(COLUMNS))


def _sha256(path: str | Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def write(rows: list[Row], spec: ClaimsFile, numbers_path: str | Path, out: str | Path) -> None:
    """The CSV and its sidecar (what was checked against what, by which code, when)."""
    from dynatree import __version__
    from dynatree.bench.provenance import git_state

    commit, dirty = git_state()
    verdicts = [r.verdict for r in rows]
    sidecar = {
        "schema": PROVENANCE_SCHEMA,
        "table": str(out),
        "claims": {"path": spec.path, "version": spec.version, "sha256": spec.sha256},
        "numbers": {"path": str(numbers_path), "sha256": _sha256(numbers_path)},
        "counts": {"n": len(rows), **{k: verdicts.count(v) for k, v in COUNTS.items()}},
        "provenance": {
            "git_commit": commit,
            "git_dirty": dirty,
            "dynatree": __version__,
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "command": ["dynatree", *sys.argv[1:]],
        },
    }
    with atomic_path(out) as tmp:
        frame(rows).to_csv(tmp, index=False)
        sidecar["table_sha256"] = _sha256(tmp)
    write_json_atomic(provenance_path(out), sidecar)


def _entry(value: Any, sources: list[str], unit: str | None = None, digits: int | None = None):
    return {"value": value, "unit": unit, "digits": digits, "sources": sorted(set(sources))}


_RERUN = "; rerun `dynatree claims --out`"
_TEXT = {"type": "string"}
# The sidecar fields the paper reads.
SIDECAR_FIELDS = {
    "type": "object",
    "required": ["schema", "table_sha256", "claims", "numbers"],
    "properties": {
        "schema": {"const": PROVENANCE_SCHEMA},
        "table_sha256": _TEXT,
        "claims": {
            "type": "object",
            "required": ["path", "version", "sha256"],
            "properties": {
                "path": _TEXT,
                "version": {"type": "integer", "minimum": 1},
                "sha256": _TEXT,
            },
        },
        "numbers": {
            "type": "object",
            "required": ["path", "sha256"],
            "properties": {"path": _TEXT, "sha256": _TEXT},
        },
    },
}


def read_rows(table: str | Path) -> list[dict[str, str]]:
    """The claims CSV's rows: every column in every row (a file cut inside a line lacks some),
    a verdict of :data:`dynatree.claims.checks.VERDICTS`, each claim once."""
    try:
        with open(table, encoding="utf-8", newline="") as handle:
            rows = list(csv.DictReader(handle))
    except (FileNotFoundError, IsADirectoryError):
        raise UsageError(f"--claims {table}: no such file; run `dynatree claims --out`") from None
    except (UnicodeDecodeError, csv.Error) as exc:
        raise UsageError(f"--claims {table}: not a readable CSV ({exc}){_RERUN}") from None
    if not rows or set(COLUMNS) - set(rows[0]):
        raise UsageError(f"--claims {table}: not a claims table (columns {', '.join(COLUMNS)})")
    seen: set[str] = set()
    for line, row in enumerate(rows, start=2):
        if None in row.values() or None in row:
            raise UsageError(f"--claims {table}: line {line} is not whole{_RERUN}")
        if row["verdict"] not in VERDICTS:
            raise UsageError(
                f"--claims {table}: line {line}: verdict {row['verdict']!r} is not one of "
                f"{', '.join(VERDICTS)}{_RERUN}"
            )
        if not row["claim"] or row["claim"] in seen:
            what = "repeated" if row["claim"] else "empty"
            raise UsageError(f"--claims {table}: line {line}: claim id {what}{_RERUN}")
        seen.add(row["claim"])
    return rows


def _read_sidecar(table: str | Path) -> dict[str, Any]:
    """The sidecar of ``table``: the table must be the bytes it was written with (a CSV that
    lost rows would make the paper report "0 of the 7 claims hold" as a finding), and the
    claims file it was checked against must be at hand, unchanged (every claim it has is then a
    row of the table)."""
    side_path = provenance_path(table)
    side = read_json(side_path, "--claims", _RERUN)
    try:
        validate(side, SIDECAR_FIELDS)
    except SchemaViolation as exc:
        raise UsageError(f"--claims {table}: {side_path.name}: {exc}{_RERUN}") from None
    if _sha256(table) != side["table_sha256"]:
        raise UsageError(
            f"--claims {table}: not the table `dynatree claims` wrote (its sha256 differs from "
            f"{side_path.name}'s); the table is truncated or edited{_RERUN}"
        )
    claims_file = Path(side["claims"]["path"])
    if not claims_file.is_file():
        raise UsageError(
            f"--claims {table}: the claims file it was checked against, {claims_file}, is not "
            f"at hand (run where `dynatree claims` ran){_RERUN}"
        )
    if _sha256(claims_file) != side["claims"]["sha256"]:
        raise UsageError(f"--claims {table}: {claims_file} changed since it was checked{_RERUN}")
    return side


def claims_numbers(table: str | Path) -> dict[str, dict[str, Any]]:
    """``claims.*`` entries (numbers.json layout) from a claims CSV and its sidecar."""
    rows = read_rows(table)
    side = _read_sidecar(table)
    me, claims_file = [str(table)], side["claims"]["path"]
    out = {
        "claims.ids": _entry([r["claim"] for r in rows], me),
        "claims.n": _entry(len(rows), me, "count", 0),
        "claims.file": _entry(claims_file, [claims_file]),
        "claims.version": _entry(side["claims"]["version"], [claims_file], "count", 0),
        "claims.sha256": _entry(side["claims"]["sha256"], [claims_file]),
        "claims.numbers_sha256": _entry(side["numbers"]["sha256"], [side["numbers"]["path"]]),
    }
    for key, verdict in COUNTS.items():
        chosen = [r["claim"] for r in rows if r["verdict"] == verdict]
        out[f"claims.{key}"] = _entry(len(chosen), me, "count", 0)
        out[f"claims.{key.removeprefix('n_')}"] = _entry(chosen, me)
    for r in rows:
        prefix, result_files = f"claims.{r['claim']}", [s for s in r["sources"].split(";") if s]
        for field in ("label", "kind", "where", "text", "verdict", "why"):
            out[f"{prefix}.{field}"] = _entry(r[field], me)
        out[f"{prefix}.reported"] = _entry(r["reported"], [claims_file])  # the original's
        out[f"{prefix}.reproduced"] = _entry(r["reproduced"], result_files or me)
    return out
