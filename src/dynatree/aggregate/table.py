"""One tidy row per benchmark result: the table every figure and number is computed from.

Columns (see docs/formats.md, "Aggregate table CSV"): identity (experiment, dataset, method,
setting), every tag as ``tag_<name>``, every decoder parameter as ``param_<name>``, the protocol,
every summary statistic under its own name (``tps_mean``, ``tps_std``, ...), ``speedup`` against
the matching AR result (same prompts, T and regime), and provenance (source path, git commit,
library versions, hardware).

``speedup`` is the paired speedup (AR timed next to the method in the same job, see
``dynatree.bench.harness``) with its interval wherever the result was paired, else the ratio of
two jobs' mean throughputs, ``speedup_unpaired``, kept beside it for comparison.
"""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from dynatree.bench import stats
from dynatree.bench.metrics import NUMERIC_METRICS
from dynatree.bench.prediction import predicted_speedup
from dynatree.bench.result_file import load_result
from dynatree.bench.verdict import VERDICTS, summary_counts
from dynatree.decoding.cost import CostProfile
from dynatree.errors import UsageError

SPEEDUP_COLUMNS = (
    "speedup",
    *stats.ci_keys("speedup"),
    "speedup_paired",
    "speedup_unpaired",
    "ar_tps_mean",
    "ar_source",
    "speedup_by_prompt",
    "part_by_prompt",
)

_PROTOCOL = (
    "max_new_tokens",
    "warmup",
    "n_prompts",
    "n_measured",
    "l_max",
    "prompts_sha256",
    "device",
    "dtype",
    "threads",
    "parts",  # a job merged from parts (dynatree.bench.parts); absent for a whole job
)
_MODELS = ("target", "draft", "target_params", "draft_params")
# The last column: how many rows the table has, so a reader can tell a whole table from one cut
# short at a line end (fewer rows) or inside a line (an empty count).
TABLE_ROWS = "table_rows"
_IDENTITY = ("experiment", "dataset", "method", "source")
# Columns that hold a number or nothing (NaN: not measured, no interval, no AR input); a reader
# refuses anything else there.
NUMERIC_COLUMNS = (
    *(c for c in _PROTOCOL if c not in ("prompts_sha256", "device", "dtype")),
    *stats.ci_keys("speedup"),
    "speedup",
    "speedup_unpaired",
    "ar_tps_mean",
    "target_params",
    "draft_params",
    *(f"{m}_{s}" for m in NUMERIC_METRICS for s in ("mean", "std")),
    "n",
    "exact_match_rate",
    *(f"n_{v}" for v in VERDICTS),
    "peak_memory_bytes",
    *(f"tree_nodes_p{q}" for q in (10, 50, 90)),
    "paired_speedup_median",
    *stats.ci_keys("paired_speedup"),
    "paired_exact_match_rate",
    "predicted_speedup",
    "model_ratio",
    "floor_speedup",
)
_PROVENANCE = (
    "git_commit",
    "git_dirty",
    "dynatree",
    "torch",
    "transformers",
    "python",
    "device_name",
    "cpu_model",
    "hostname",
    "created",
    "same_as",  # a shared result (dynatree share): the result file it copies
)


def regime(result: dict[str, Any]) -> str:
    """The regime a result ran in (``protocol.compile``; results without it ran eager)."""
    return str((result["protocol"].get("compile") or {}).get("regime", "eager"))


def _ar_key(result: dict[str, Any]) -> tuple[str, str, int, str]:
    """Results are comparable only on the same prompts, the same number of new tokens and in
    the same regime (a compiled method against compiled AR)."""
    proto = result["protocol"]
    return (
        result["tags"]["dataset"],
        proto["prompts_sha256"],
        int(proto["max_new_tokens"]),
        regime(result),
    )


def _row(experiment: str, path: str, result: dict[str, Any]) -> dict[str, Any]:
    tags = result["tags"]
    row: dict[str, Any] = {
        "experiment": experiment,
        "dataset": tags["dataset"],
        "method": result["method"],
        "setting": tags.get("setting", ""),
    }
    row.update({f"tag_{k}": v for k, v in sorted(tags.items())})
    row.update({f"param_{k}": v for k, v in sorted(result["params"].items())})
    row.update({k: result["protocol"].get(k) for k in _PROTOCOL})
    row["regime"] = regime(result)
    row["compile_s"] = (result["protocol"].get("compile") or {}).get("compile_s", 0.0)
    row.update({k: result["models"].get(k) for k in _MODELS})
    row.update(dict(sorted(result["summary"].items())))
    row.update(summary_counts(result))  # verdict counts, also for results that predate them
    prov = result["provenance"]
    row.update({("dynatree_version" if k == "dynatree" else k): prov.get(k) for k in _PROVENANCE})
    row["source"] = path
    return row


def _by_prompt(result: dict[str, Any], ar: dict[str, Any] | None) -> dict[str, float]:
    """Per measured prompt: its paired speedup, else its tps over the AR result's on that prompt.

    These are the samples every comparison of two results bootstraps (``dynatree.bench.stats``).
    """
    measured = [row for row in result["rows"] if not row["warmup"]]
    if any(row.get("paired_speedup") for row in measured):
        return {
            row["prompt_id"]: row["paired_speedup"] for row in measured if row["paired_speedup"]
        }
    if ar is None:
        return {}
    ar_tps = {row["prompt_id"]: row["tps"] for row in ar["rows"]}
    return {
        row["prompt_id"]: row["tps"] / ar_tps[row["prompt_id"]]
        for row in measured
        if row["tps"] and ar_tps.get(row["prompt_id"])
    }


def _speedup(row: dict[str, Any], result: dict[str, Any], ar: dict[str, Any] | None) -> None:
    """Fill the SPEEDUP_COLUMNS of ``row`` (see build_table)."""
    low, high = stats.ci_keys("speedup")
    paired_low, paired_high = stats.ci_keys("paired_speedup")
    summary = result["summary"]
    row["ar_tps_mean"] = float("nan") if ar is None else float(ar["summary"]["tps_mean"])
    row["speedup_unpaired"] = float(row["tps_mean"]) / row["ar_tps_mean"]
    paired = summary.get("paired_speedup_mean")
    row["speedup_paired"] = paired is not None
    row["speedup"] = row["speedup_unpaired"] if paired is None else float(paired)
    row[low] = _float(summary.get(paired_low)) if paired is not None else float("nan")
    row[high] = _float(summary.get(paired_high)) if paired is not None else float("nan")
    row["speedup_by_prompt"] = json.dumps(_by_prompt(result, ar), sort_keys=True)
    # the process (part) that timed each prompt: a merged result's rows say; a whole job is one
    parts = {r["prompt_id"]: r.get("part", 1) for r in result["rows"] if not r["warmup"]}
    row["part_by_prompt"] = json.dumps(parts, sort_keys=True)


def _float(value: Any) -> float:
    return float("nan") if value is None else float(value)


def _by_prompt_column(row: Any, column: str) -> dict[str, Any]:
    """A per-prompt JSON column of a table row read back (empty when the row has none)."""
    text = row.get(column) if hasattr(row, "get") else None
    return json.loads(text) if isinstance(text, str) and text else {}


def prompt_speedups(row: Any) -> dict[str, float]:
    """The ``speedup_by_prompt`` column of a table row read back (prompt id → speedup)."""
    values = _by_prompt_column(row, "speedup_by_prompt").items()
    return {str(k): float(v) for k, v in values if not math.isnan(float(v))}


def prompt_parts(row: Any) -> dict[str, int]:
    """The ``part_by_prompt`` column read back (prompt id → the part that timed it)."""
    return {str(k): int(v) for k, v in _by_prompt_column(row, "part_by_prompt").items()}


def build_table(
    experiment: str, paths: Sequence[str | Path], profiles: Sequence[str] | None = None
) -> Any:
    """The tidy DataFrame of ``experiment`` from its result files (AR baselines included).

    Each row is compared with the AR result of the same (dataset, prompts_sha256,
    max_new_tokens) among the inputs: ``speedup_unpaired`` = tps_mean / that result's tps_mean;
    ``speedup`` = the result's own paired speedup (summary ``paired_speedup_mean``, with
    ``speedup_ci_low``/``_high`` from its summary) when it was run with ``--paired``, else
    ``speedup_unpaired`` (interval empty: one run of two jobs cannot measure the drift between
    them); ``speedup_paired`` says which. ``speedup_by_prompt`` (JSON) holds the per-prompt
    values that comparisons bootstrap. Without an AR input the unpaired columns are NaN and a
    warning names the file. Two different AR results for one key are ambiguous and rejected.
    With verify-cost ``profiles``, tree methods also get ``predicted_speedup`` (what the profile
    of their regime predicts from their iterations, dynatree.bench.prediction; NaN without
    one) and ``model_ratio`` = speedup / predicted_speedup, and ``floor_speedup``: the same
    prediction of the decode after the prefill with every forward priced at its weight products
    alone (the profile's floor, :meth:`dynatree.decoding.cost.CostProfile.at_floor`), the
    speedup those iterations would give with the framework's overhead gone (NaN for a profile
    without it).
    """
    import pandas as pd

    unique = list(dict.fromkeys(str(p) for p in paths))
    if not unique:
        raise UsageError("--inputs: no result files given")
    results = {p: load_result(p) for p in unique}
    costs: dict[str, CostProfile] = {}
    floors: dict[str, CostProfile] = {}
    for path in profiles or ():
        cost = CostProfile.from_file(path, "--profile")
        if cost.regime in costs:
            raise UsageError(f"--profile: two profiles of the {cost.regime} regime; pass one")
        costs[cost.regime] = cost
        floor = cost.at_floor()
        if floor is not None:
            floors[cost.regime] = floor
    ar: dict[tuple[str, str, int], str] = {}
    for path, result in results.items():
        if result["method"] != "ar":
            continue
        key = _ar_key(result)
        if key in ar:
            raise UsageError(
                f"--inputs: {ar[key]} and {path} are both AR results for dataset={key[0]}, "
                f"max_new_tokens={key[2]} on the same prompts in the {key[3]} regime; pass only "
                "one"
            )
        ar[key] = path
    rows = []
    for path, result in results.items():
        row = _row(experiment, path, result)
        ref = ar.get(_ar_key(result))
        if ref is None:
            print(
                f"dynatree aggregate table: warning: {path}: no AR result with the same dataset, "
                "prompts and max_new_tokens among --inputs; unpaired speedup left empty",
                file=sys.stderr,
            )
        row["ar_source"] = "" if ref is None else ref
        _speedup(row, result, None if ref is None else results[ref])
        cost = costs.get(row["regime"])
        predicted = None if cost is None else predicted_speedup(cost, result)
        row["predicted_speedup"] = float("nan") if predicted is None else predicted
        row["model_ratio"] = row["speedup"] / row["predicted_speedup"]
        floor = floors.get(row["regime"])
        at_floor = None if floor is None else predicted_speedup(floor, result, prefill=False)
        row["floor_speedup"] = float("nan") if at_floor is None else at_floor
        rows.append(row)
    frame = pd.DataFrame(rows)
    first = ["experiment", "dataset", "method", "setting"]
    tags = sorted(c for c in frame.columns if c.startswith("tag_"))
    params = sorted(c for c in frame.columns if c.startswith("param_"))
    lead = first + tags + params + list(_PROTOCOL) + ["regime"] + list(SPEEDUP_COLUMNS)
    rest = [c for c in frame.columns if c not in lead]
    frame = frame[lead + rest]
    order = ["dataset", "method", "setting", "max_new_tokens", "l_max", "regime", "source"]
    frame = frame.sort_values(order, kind="stable").reset_index(drop=True)
    frame[TABLE_ROWS] = len(frame)  # last: a row cut short loses it, a cut table its count
    return frame


def _read_table(path: str) -> Any:
    """One aggregate CSV, whole (``table_rows`` rows, none cut short), with a number (or
    nothing) in every numeric column and a positive throughput in every row; anything else is a
    :class:`UsageError` naming the file, the column and the row."""
    import pandas as pd

    rerun = "; rerun `dynatree aggregate table`"
    if not Path(path).is_file():
        raise UsageError(f"--tables {path}: file not found; run `dynatree aggregate table` first")
    try:
        frame = pd.read_csv(path, keep_default_na=True)
    except pd.errors.EmptyDataError:
        raise UsageError(f"--tables {path}: empty file{rerun}") from None
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        why = str(exc).strip().splitlines()[-1]
        raise UsageError(f"--tables {path}: not a readable CSV ({why}){rerun}") from None
    for col in (*_IDENTITY, "tps_mean", "speedup", TABLE_ROWS):
        if col not in frame.columns:
            raise UsageError(
                f"--tables {path}: column {col!r} missing; not an aggregate table of this "
                f"version{rerun}"
            )
    if frame.empty:
        raise UsageError(f"--tables {path}: no rows (a header alone){rerun}")
    cut = frame[TABLE_ROWS].isna()
    if cut.any():
        raise UsageError(
            f"--tables {path}: row {_line(cut)} is cut short (no {TABLE_ROWS}); the table is "
            f"truncated{rerun}"
        )
    says = sorted(set(frame[TABLE_ROWS]))
    if says != [len(frame)]:
        raise UsageError(
            f"--tables {path}: {len(frame)} rows where {TABLE_ROWS} says "
            f"{', '.join(f'{n:g}' for n in says)}; the table is truncated or edited{rerun}"
        )
    for col in _IDENTITY:
        empty = frame[col].isna()
        if empty.any():
            raise UsageError(f"--tables {path}: row {_line(empty)}: {col} is empty{rerun}")
    for col in [c for c in NUMERIC_COLUMNS if c in frame.columns]:
        values = pd.to_numeric(frame[col], errors="coerce")
        bad = (values.isna() & frame[col].notna()) | values.abs().eq(float("inf"))
        if col == "tps_mean":
            bad |= ~(values > 0)
        if bad.any():
            value = frame[col][bad].iloc[0]
            shown = repr(value) if isinstance(value, str) else str(value)
            raise UsageError(
                f"--tables {path}: row {_line(bad)}: {col} {shown} is not a "
                f"{'positive ' if col == 'tps_mean' else ''}finite number{rerun}"
            )
        frame[col] = values
    return frame


def _line(mask: Any) -> int:
    """The CSV line (header = line 1) of the first row where ``mask`` holds."""
    return int(mask.to_numpy().nonzero()[0][0]) + 2


def read_tables(paths: Sequence[str | Path]) -> Any:
    """Concatenate aggregate CSVs (each names its experiment in a column) into one frame."""
    import pandas as pd

    frames = [_read_table(p) for p in dict.fromkeys(str(p) for p in paths)]
    if not frames:
        raise UsageError("--tables: no table given")
    table = pd.concat(frames, ignore_index=True)
    if "setting" in table.columns:
        table["setting"] = table["setting"].fillna("").astype(str)
    return table
