"""One tidy row per benchmark result: the table every figure and number is computed from.

Columns (see docs/formats.md, "Aggregate table CSV"): identity (experiment, dataset, method,
setting), every tag as ``tag_<name>``, every decoder parameter as ``param_<name>``, the protocol,
every summary statistic under its own name (``tps_mean``, ``tps_std``, ...), ``speedup`` against
the matching AR result, and provenance (source path, git commit, library versions, hardware).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from dynatree.aggregate.load import load_result
from dynatree.bench.verdict import summary_counts
from dynatree.errors import UsageError

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
)
_MODELS = ("target", "draft", "target_params", "draft_params")
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
)


def _ar_key(result: dict[str, Any]) -> tuple[str, str, int]:
    """Results are comparable only on the same prompts and the same number of new tokens."""
    proto = result["protocol"]
    return (result["tags"]["dataset"], proto["prompts_sha256"], int(proto["max_new_tokens"]))


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
    row.update({k: result["models"].get(k) for k in _MODELS})
    row.update(dict(sorted(result["summary"].items())))
    row.update(summary_counts(result))  # verdict counts, also for results that predate them
    prov = result["provenance"]
    row.update({("dynatree_version" if k == "dynatree" else k): prov.get(k) for k in _PROVENANCE})
    row["source"] = path
    return row


def build_table(experiment: str, paths: Sequence[str | Path]) -> Any:
    """The tidy DataFrame of ``experiment`` from its result files (AR baselines included).

    ``speedup`` = tps_mean / tps_mean of the AR result with the same (dataset, prompts_sha256,
    max_new_tokens) among the inputs; without one it is NaN and a warning names the file. Two
    different AR results for one key are ambiguous and rejected.
    """
    import pandas as pd

    unique = list(dict.fromkeys(str(p) for p in paths))
    if not unique:
        raise UsageError("--inputs: no result files given")
    results = {p: load_result(p) for p in unique}
    ar: dict[tuple[str, str, int], str] = {}
    for path, result in results.items():
        if result["method"] != "ar":
            continue
        key = _ar_key(result)
        if key in ar:
            raise UsageError(
                f"--inputs: {ar[key]} and {path} are both AR results for dataset={key[0]}, "
                f"max_new_tokens={key[2]} on the same prompts; pass only one"
            )
        ar[key] = path
    rows = []
    for path, result in results.items():
        row = _row(experiment, path, result)
        ref = ar.get(_ar_key(result))
        if ref is None:
            print(
                f"dynatree aggregate table: warning: {path}: no AR result with the same dataset, "
                "prompts and max_new_tokens among --inputs; speedup left empty",
                file=sys.stderr,
            )
            row["ar_tps_mean"] = float("nan")
            row["ar_source"] = ""
        else:
            row["ar_tps_mean"] = float(results[ref]["summary"]["tps_mean"])
            row["ar_source"] = ref
        row["speedup"] = float(row["tps_mean"]) / row["ar_tps_mean"]
        rows.append(row)
    frame = pd.DataFrame(rows)
    first = ["experiment", "dataset", "method", "setting"]
    tags = sorted(c for c in frame.columns if c.startswith("tag_"))
    params = sorted(c for c in frame.columns if c.startswith("param_"))
    lead = first + tags + params + list(_PROTOCOL) + ["speedup", "ar_tps_mean", "ar_source"]
    rest = [c for c in frame.columns if c not in lead]
    frame = frame[lead + rest]
    order = ["dataset", "method", "setting", "max_new_tokens", "l_max", "source"]
    return frame.sort_values(order, kind="stable").reset_index(drop=True)


def read_tables(paths: Sequence[str | Path]) -> Any:
    """Concatenate aggregate CSVs (each names its experiment in a column) into one frame."""
    import pandas as pd

    frames = []
    for p in dict.fromkeys(str(p) for p in paths):
        if not Path(p).is_file():
            raise UsageError(f"--tables {p}: file not found; run `dynatree aggregate table` first")
        frame = pd.read_csv(p, keep_default_na=True)
        for col in ("experiment", "dataset", "method", "tps_mean", "speedup", "source"):
            if col not in frame.columns:
                raise UsageError(f"--tables {p}: column {col!r} missing; not an aggregate table")
        frames.append(frame)
    if not frames:
        raise UsageError("--tables: no table given")
    table = pd.concat(frames, ignore_index=True)
    if "setting" in table.columns:
        table["setting"] = table["setting"].fillna("").astype(str)
    return table
