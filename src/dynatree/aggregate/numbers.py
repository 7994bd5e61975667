"""``results/numbers.json``: every number the paper prints, each with the result files behind it.

Layout (docs/formats.md, "Numbers JSON"): ``{"schema": "dynatree.numbers/1", "numbers": {KEY:
ENTRY}}`` where KEY is a dotted path (``main.wikitext.dynatree.tps_mean``) and ENTRY is
``{"value": ..., "unit": str|null, "digits": int|null, "sources": [path, ...]}``. Values are
stored in the unit the paper shows (ms, MiB, %), and ``digits`` is the precision it prints them
with, so the paper only formats and never computes, and an audit can recompute every printed
literal from this file alone.
"""

from __future__ import annotations

import itertools
import math
import statistics
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from dynatree.aggregate.table import prompt_parts, prompt_speedups
from dynatree.bench import stats
from dynatree.bench.verdict import TIE_EPS_MULTIPLE
from dynatree.data.splits import DATASETS
from dynatree.decoding.cost import read_device_check, read_profile
from dynatree.decoding.registry import METHODS
from dynatree.errors import UsageError
from dynatree.experiments import variant_names
from dynatree.io import read_json
from dynatree.numbers_file import SCHEMA

# Interval bounds of a speedup key K are stored as K + stats.CI_LOW / K + stats.CI_HIGH.
_SPEEDUP_LOW, _SPEEDUP_HIGH = stats.ci_keys("speedup")
# Verbs of a comparison (dynatree.bench.stats.compare's verdict → prose).
VERBS = {stats.BETTER: "improves on", stats.WORSE: "trails", stats.ON_PAR: "is on par with"}
NOT_COMPARABLE = "cannot be compared with"

# (column in the aggregate table, key suffix, unit, digits, scale)
_RESULT_METRICS = (
    ("tps_mean", "tps_mean", "tok/s", 1, 1.0),
    ("tps_std", "tps_std", "tok/s", 1, 1.0),
    ("speedup", "speedup", "x", 2, 1.0),
    (_SPEEDUP_LOW, _SPEEDUP_LOW, "x", 2, 1.0),
    (_SPEEDUP_HIGH, _SPEEDUP_HIGH, "x", 2, 1.0),
    ("speedup_unpaired", "speedup_unpaired", "x", 2, 1.0),
    ("ttft_s_mean", "ttft_ms_mean", "ms", 1, 1e3),
    ("ttft_s_std", "ttft_ms_std", "ms", 1, 1e3),
    ("tpot_s_mean", "tpot_ms_mean", "ms", 2, 1e3),
    ("tpot_s_std", "tpot_ms_std", "ms", 2, 1e3),
    ("acceptance_rate_mean", "acceptance_pct_mean", "%", 1, 100.0),
    ("acceptance_rate_std", "acceptance_pct_std", "%", 1, 100.0),
    ("tokens_per_iter_mean", "tokens_per_iter_mean", "tokens", 2, 1.0),
    ("tokens_per_iter_std", "tokens_per_iter_std", "tokens", 2, 1.0),
    ("accepted_len_mean", "accepted_len_mean", "tokens", 2, 1.0),
    ("accepted_len_std", "accepted_len_std", "tokens", 2, 1.0),
    ("iterations_mean", "iterations_mean", "count", 1, 1.0),
    ("iterations_std", "iterations_std", "count", 1, 1.0),
    ("tree_nodes_mean", "tree_nodes_mean", "nodes", 1, 1.0),
    ("tree_nodes_p10", "tree_nodes_p10", "nodes", 0, 1.0),
    ("tree_nodes_p50", "tree_nodes_p50", "nodes", 0, 1.0),
    ("tree_nodes_p90", "tree_nodes_p90", "nodes", 0, 1.0),
    ("predicted_speedup", "predicted_speedup", "x", 2, 1.0),
    ("model_ratio", "model_ratio", "x", 2, 1.0),
    ("floor_speedup", "floor_speedup", "x", 2, 1.0),
    ("peak_memory_bytes", "peak_memory_mib", "MiB", 0, 1.0 / 2**20),
    ("exact_match_rate", "exact_match_pct", "%", 1, 100.0),
    ("n", "n", "count", 0, 1.0),
    ("max_new_tokens", "max_new_tokens", "tokens", 0, 1.0),
    ("l_max", "l_max", "tokens", 0, 1.0),
)


def _clean(value: Any) -> Any:
    """JSON-safe scalar: NaN becomes null, numpy scalars become Python ones."""
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)  # CSV round trips turn integer columns with gaps into floats
    return value


def _param_digits(value: Any) -> int | None:
    """Print a parameter as written in the config: integers bare, floats with their decimals."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if isinstance(value, int) or float(value).is_integer():
        return 0
    text = repr(float(value))
    return min(4, len(text.split(".")[1])) if "." in text and "e" not in text else 4


class Numbers:
    """The growing numbers.json document."""

    def __init__(self) -> None:
        self.entries: dict[str, dict[str, Any]] = {}

    def add(
        self,
        key: str,
        value: Any,
        sources: Iterable[str] = (),
        unit: str | None = None,
        digits: int | None = None,
    ) -> None:
        if isinstance(value, list | tuple):
            value = [_clean(v) for v in value]
        else:
            value = _clean(value)
        if digits is None and not isinstance(value, list):
            digits = _param_digits(value)
        elif digits is None and value:
            digits = max((_param_digits(v) or 0) for v in value)
        self.entries[key] = {
            "value": value,
            "unit": unit,
            "digits": digits,
            "sources": sorted({str(s) for s in sources if s}),
        }

    def add_change(self, key: str, ours: float, theirs: float, sources: Iterable[str]) -> None:
        """Signed % difference of ``ours`` over ``theirs`` and its magnitude (no verdict)."""
        sources = list(sources)
        if ours is None or theirs is None or not theirs or math.isnan(ours * theirs):
            pct = float("nan")
        else:
            pct = (ours / theirs - 1.0) * 100.0
        self.add(f"{key}.pct", pct, sources, "%", 1)
        self.add(f"{key}.pct_abs", abs(pct), sources, "%", 1)

    def add_comparison(
        self,
        key: str,
        ours: Mapping[str, float],
        theirs: Mapping[str, float],
        sources: Iterable[str],
        parts: tuple[Mapping[str, int], Mapping[str, int]] = ({}, {}),
    ) -> None:
        """How ``ours`` compares with ``theirs`` (per-prompt speedups, prompt id → value).

        ``pct`` is the signed % difference of their mean speedups over the prompts both
        measured, ``pct_ci_low``/``pct_ci_high`` its bootstrap interval, ``significant`` whether
        that interval excludes 0 (``dynatree.bench.stats.compare``, the one rule), and ``verb``
        the prose: "improves on" / "trails" only when significant (and not printed as 0.0 %),
        else "is on par with"; "cannot be compared with" when no prompt is shared. ``parts``:
        the part (process) that timed each prompt of ours and of theirs; prompts timed by the
        same two processes form one cluster of the bootstrap (dynatree.bench.stats).
        """
        sources = list(sources)
        common = sorted(set(ours) & set(theirs))
        low_key, high_key = stats.ci_keys(f"{key}.pct")
        if not common:
            pct, low, high, significant, verb = (float("nan"),) * 3 + (False, NOT_COMPARABLE)
        else:
            clusters = [(parts[0].get(p, 1), parts[1].get(p, 1)) for p in common]
            result = stats.compare([ours[p] for p in common], [theirs[p] for p in common], clusters)
            pct = (result.ratio - 1.0) * 100.0
            low = float("nan") if result.low is None else (result.low - 1.0) * 100.0
            high = float("nan") if result.high is None else (result.high - 1.0) * 100.0
            # The verb must agree with the printed (1-decimal) percentage.
            significant = result.significant and round(pct, 1) != 0
            verb = VERBS[result.verdict] if significant else VERBS[stats.ON_PAR]
        self.add(f"{key}.pct", pct, sources, "%", 1)
        self.add(f"{key}.pct_abs", abs(pct), sources, "%", 1)
        self.add(low_key, low, sources, "%", 1)
        self.add(high_key, high, sources, "%", 1)
        self.add(f"{key}.significant", significant, sources)
        self.add(f"{key}.verb", verb, sources)
        self._sizing(key, [ours[p] / theirs[p] for p in common if theirs[p]], pct, sources)

    def _sizing(self, key: str, ratios: list[float], pct: float, sources: list[str]) -> None:
        """How many prompts this comparison's verdict needs to repeat (issue 22): the sd of its
        per-prompt % differences (``sd_pct``), the prompts it had (``n``) and
        ``n_stable`` = ``stats.prompts_for_stable_verdict`` at the effect measured (null when
        it cannot be measured, or sits at the margin, where no count settles it)."""
        diffs = [(r - 1.0) * 100.0 for r in ratios]
        sd = statistics.stdev(diffs) if len(diffs) > 1 else float("nan")
        needed = stats.prompts_for_stable_verdict(pct, sd)
        self.add(f"{key}.n", len(diffs), sources, "count", 0)
        self.add(f"{key}.sd_pct", sd, sources, "%", 1)
        self.add(f"{key}.n_stable", needed if math.isfinite(needed) else None, sources, "count", 0)

    def add_speedup(self, key: str, row: Any, column: str = "speedup") -> None:
        """A speedup from a table row with its interval bounds (``key`` + CI_LOW / CI_HIGH)."""
        src = [row["source"], row.get("ar_source", "")]
        self.add(key, row[column], src, "x", 2)
        for suffix in (stats.CI_LOW, stats.CI_HIGH):
            self.add(f"{key}{suffix}", row.get(f"{column}{suffix}"), src, "x", 2)

    def add_result(self, prefix: str, row: Any) -> None:
        """All per-result metrics and decoder parameters of one table row under ``prefix``."""
        src = [row["source"]] + ([row["ar_source"]] if _clean(row.get("ar_source")) else [])
        for column, suffix, unit, digits, scale in _RESULT_METRICS:
            if column in row.index:
                value = _clean(row[column])
                self.add(
                    f"{prefix}.{suffix}",
                    None if value is None else value * scale,
                    src,
                    unit,
                    digits,
                )
        for column in row.index:
            if column.startswith("param_") and _clean(row[column]) is not None:
                self.add(f"{prefix}.param.{column[6:]}", row[column], [row["source"]])
        self.add(f"{prefix}.setting", str(row.get("setting", "")), [row["source"]])
        if "speedup_paired" in row.index:
            self.add(f"{prefix}.speedup_paired", bool(row["speedup_paired"]), [row["source"]])

    def document(self) -> dict[str, Any]:
        return {"schema": SCHEMA, "numbers": dict(sorted(self.entries.items()))}


def _ordered(values: Iterable[str], order: Sequence[str]) -> list[str]:
    present = list(dict.fromkeys(values))
    return [v for v in order if v in present] + sorted(v for v in present if v not in order)


def _one(frame: Any, what: str) -> Any:
    """The single row of ``frame``; two rows for one table cell is a pipeline error."""
    if len(frame) != 1:
        paths = ", ".join(frame["source"].astype(str)) or "none"
        raise UsageError(f"--tables: expected one result for {what}, found {len(frame)} ({paths})")
    return frame.iloc[0]


def _compare_rows(nb: Numbers, key: str, ours: Any, theirs: Any) -> None:
    """Numbers.add_comparison of two table rows on their per-prompt speedups."""
    sources = [ours["source"], theirs["source"]]
    parts = (prompt_parts(ours), prompt_parts(theirs))
    nb.add_comparison(key, prompt_speedups(ours), prompt_speedups(theirs), sources, parts)


def _best_two(frame: Any, by: str) -> tuple[Any, Any | None]:
    """The rows with the highest and second-highest ``by`` (NaN last; None without a second)."""
    ranked = frame.sort_values(by, ascending=False, kind="stable", na_position="last")
    return ranked.iloc[0], (ranked.iloc[1] if len(ranked) > 1 else None)


def _speculative(frame: Any) -> Any:
    return frame[frame["method"] != "ar"]


def _ar_rows(frame: Any) -> Any:
    return frame[frame["method"] == "ar"]


def _main(nb: Numbers, main: Any) -> None:
    datasets = _ordered(main["dataset"], DATASETS)
    methods = _ordered(main["method"], tuple(METHODS))
    all_src = list(main["source"])
    nb.add("main.datasets", datasets, all_src)
    nb.add("main.methods", methods, all_src)
    for ds in datasets:
        part = main[main["dataset"] == ds]
        rows = {
            m: _one(part[part["method"] == m], f"main/{ds}/{m}") for m in part["method"].unique()
        }
        for m, row in rows.items():
            nb.add_result(f"main.{ds}.{m}", row)
        spec = _speculative(part)
        if len(spec):
            best, runner_up = _best_two(spec, "speedup")
            nb.add(f"main.{ds}.best_method", best["method"], spec["source"])
            nb.add_speedup(f"main.{ds}.best_speedup", best)
            if runner_up is not None:
                nb.add(f"main.{ds}.runner_up_method", runner_up["method"], spec["source"])
                _compare_rows(nb, f"main.{ds}.best_vs_runner_up", best, runner_up)
        # The best value of each table column, so the templates can bold it without comparing.
        for column, suffix, higher in (
            ("tps_mean", "tps_mean", True),
            ("speedup", "speedup", True),
            ("ttft_s_mean", "ttft_ms_mean", False),
            ("tpot_s_mean", "tpot_ms_mean", False),
            ("acceptance_rate_mean", "acceptance_pct_mean", True),
            ("tokens_per_iter_mean", "tokens_per_iter_mean", True),
            ("accepted_len_mean", "accepted_len_mean", True),
            ("iterations_mean", "iterations_mean", False),
        ):
            valid = part.dropna(subset=[column])
            if column == "acceptance_rate_mean" or column == "accepted_len_mean":
                valid = _speculative(valid)
            if len(valid):
                idx = valid[column].idxmax() if higher else valid[column].idxmin()
                nb.add(f"main.{ds}.best.{suffix}", valid.loc[idx, "method"], valid["source"])
        _ca_vs_rivals(nb, f"main.{ds}.dynatree_ca", rows)
        if "dynatree" in rows:
            dyn = rows["dynatree"]
            for other, row in rows.items():
                if other != "dynatree":
                    _compare_rows(nb, f"main.{ds}.dynatree_vs.{other}", dyn, row)
    _memory(nb, main, datasets, methods)
    _model_ratios(nb, main)


def _model_ratios(nb: Numbers, main: Any) -> None:
    """The range of measured / predicted speedup over the main table's tree methods."""
    if "model_ratio" not in main.columns:
        return
    priced = main.dropna(subset=["model_ratio"])
    if not len(priced):
        return
    sources = list(priced["source"])
    nb.add("main.model_ratio_min", priced["model_ratio"].min(), sources, "x", 2)
    nb.add("main.model_ratio_max", priced["model_ratio"].max(), sources, "x", 2)
    nb.add("main.priced_methods", _ordered(priced["method"], tuple(METHODS)), sources)


def _memory(nb: Numbers, main: Any, datasets: list[str], methods: list[str]) -> None:
    """Table 5: peak memory averaged over datasets, and its change relative to AR."""
    avg: dict[str, float] = {}
    for m in methods:
        part = main[main["method"] == m]
        values = part["peak_memory_bytes"].astype(float) / 2**20
        avg[m] = float(values.mean())
        nb.add(f"main.memory.{m}.avg_mib", avg[m], part["source"], "MiB", 0)
    if "ar" in avg:
        ar_src = list(_ar_rows(main)["source"])
        for m in methods:
            src = list(main[main["method"] == m]["source"]) + ar_src
            nb.add_change(f"main.memory.{m}.vs_ar", avg[m], avg["ar"], src)


def _ablation(nb: Numbers, name: str, table: Any) -> None:
    """An ablation's variants per dataset, each compared with the first declared variant and
    with the one declared before it (what adding its component bought: ``<v>.vs_<previous>``)."""
    spec = table[table["method"] != "ar"]
    if "tag_variant" not in spec.columns:
        raise UsageError(f"--tables {name}: results lack the `variant` tag (--tag variant=...)")
    order = variant_names(name)
    datasets = _ordered(spec["dataset"], DATASETS)
    nb.add(f"{name}.datasets", datasets, spec["source"])
    for ds in datasets:
        part = spec[spec["dataset"] == ds]
        variants = _ordered(part["tag_variant"].astype(str), order)
        nb.add(f"{name}.{ds}.variants", variants, part["source"])
        rows = {v: _one(part[part["tag_variant"] == v], f"{name}/{ds}/{v}") for v in variants}
        for v, row in rows.items():
            nb.add_result(f"{name}.{ds}.{v}", row)
        if order[0] in rows:
            base = rows[order[0]]
            for v, row in rows.items():
                _compare_rows(nb, f"{name}.{ds}.{v}.vs_{order[0]}", row, base)
        for previous, v in itertools.pairwise(order):
            if previous != order[0] and previous in rows and v in rows:
                _compare_rows(nb, f"{name}.{ds}.{v}.vs_{previous}", rows[v], rows[previous])


def _values(nb: Numbers, key: str, series: Any, sources: Any) -> list[Any]:
    values = sorted({_clean(v) for v in series.dropna()})
    nb.add(key, values, sources)
    return values


def _extremes(nb: Numbers, key: str, part: Any, by: str, column: str = "speedup") -> None:
    """Min and max of ``column`` over a sweep, and the sweep value where each occurs."""
    valid = part.dropna(subset=[column])
    if not len(valid):
        return
    for name, idx in (("min", valid[column].idxmin()), ("max", valid[column].idxmax())):
        row = valid.loc[idx]
        if column == "speedup":
            nb.add_speedup(f"{key}.{column}_{name}", row)
        else:
            nb.add(f"{key}.{column}_{name}", row[column], [row["source"]], "tok/s", 1)
        nb.add(f"{key}.{column}_{name}_at", row[by], [row["source"]])


def _grid(nb: Numbers, key: str, part: Any, params: Sequence[str]) -> None:
    """A sweep's size, the values of each swept parameter, and its speedup extremes."""
    nb.add(f"{key}.n_settings", len(part), part["source"], "count", 0)
    for p in params:
        _values(nb, f"{key}.{p}_values", part[f"param_{p}"], part["source"])
    _extremes(nb, key, part, "setting")


def _sweep_best(nb: Numbers, key: str, part: Any, params: Sequence[str]) -> None:
    """A sensitivity series: its grid and its best setting by throughput."""
    best, _ = _best_two(part, "tps_mean")
    nb.add_result(f"{key}.best", best)
    _grid(nb, key, part, params)


def _fixed_tree_sweep(nb: Numbers, table: Any) -> None:
    """The fixed-tree sweep's grid per dataset (which setting won is the race's: ``select.*``,
    from the selection, not the highest mean here: a raced setting's mean covers the rounds it
    ran, and a tie goes by its rule)."""
    spec = table[table["method"] == "fixed_tree"]
    datasets = _ordered(spec["dataset"], DATASETS)
    nb.add("fixed_tree_sweep.datasets", datasets, spec["source"])
    for ds in datasets:
        _grid(nb, f"fixed_tree_sweep.{ds}", spec[spec["dataset"] == ds], ("D", "B", "tau"))


def _linear_sweep(nb: Numbers, table: Any) -> None:
    spec = table[table["method"] == "linear"]
    datasets = _ordered(spec["dataset"], DATASETS)
    nb.add("linear_sweep.datasets", datasets, spec["source"])
    for ds in datasets:
        _grid(nb, f"linear_sweep.{ds}", spec[spec["dataset"] == ds], ("K",))


def _by_axis(nb: Numbers, name: str, table: Any, axis: str, label: str) -> None:
    """Length scaling (axis max_new_tokens) and prompt length (axis l_max): one key per point."""
    datasets = _ordered(table["dataset"], DATASETS)
    nb.add(f"{name}.datasets", datasets, table["source"])
    nb.add(f"{name}.methods", _ordered(table["method"], tuple(METHODS)), table["source"])
    for ds in datasets:
        part = table[table["dataset"] == ds]
        points = _values(nb, f"{name}.{ds}.{label}_values", part[axis], part["source"])
        for point in points:
            at = part[part[axis] == point]
            for m in at["method"].unique():
                row = _one(at[at["method"] == m], f"{name}/{ds}/{label}={point}/{m}")
                nb.add_result(f"{name}.{ds}.{label}{int(point)}.{m}", row)
        for m in _speculative(part)["method"].unique():
            _extremes(nb, f"{name}.{ds}.{m}", part[part["method"] == m], axis)
        _ca_cells(nb, f"{name}.{ds}", part, axis)


# The methods DynaTree-CA must beat: the paper's own decoders at their selected settings.
CA_RIVALS = ("linear", "fixed_tree", "dynatree")


def _ca_vs_rivals(nb: Numbers, key: str, rows: dict[str, Any]) -> None:
    """DynaTree-CA against the fastest of its rivals in one table cell (main results)."""
    rivals = {m: rows[m] for m in CA_RIVALS if m in rows}
    if "dynatree_ca" not in rows or not rivals:
        return
    ca = rows["dynatree_ca"]
    best = max(rivals, key=lambda m: float(rivals[m]["speedup"]))
    sources = [ca["source"], rivals[best]["source"]]
    nb.add(f"{key}.best_rival", best, sources)
    ratio = float(ca["speedup"]) / float(rivals[best]["speedup"])
    nb.add(f"{key}.ratio_to_best_rival", ratio, sources, "x", 2)
    _compare_rows(nb, f"{key}.vs_best_rival", ca, rivals[best])


def _ca_cells(nb: Numbers, key: str, part: Any, axis: str) -> None:
    """DynaTree-CA's speedup over the fastest method's in each cell, at its worst cell."""
    worst: tuple[float, Any, list[str]] | None = None
    for point in sorted(part[axis].dropna().unique()):
        at = part[part[axis] == point]
        ca = at[at["method"] == "dynatree_ca"]
        others = at[at["method"] != "dynatree_ca"]
        if len(ca) != 1 or not len(others):
            continue
        fastest = others.loc[others["speedup"].idxmax()]
        ratio = float(ca.iloc[0]["speedup"]) / float(fastest["speedup"])
        if worst is None or ratio < worst[0]:
            worst = (ratio, point, [ca.iloc[0]["source"], fastest["source"]])
    if worst is not None:
        nb.add(f"{key}.dynatree_ca.min_ratio_to_fastest", worst[0], worst[2], "x", 2)
        nb.add(f"{key}.dynatree_ca.min_ratio_to_fastest_at", worst[1], worst[2])


def _regimes(nb: Numbers, table: Any) -> None:
    """The main comparison eager and compiled: per dataset, regime and method the result
    (``regimes.<ds>.<regime>.<m>.*``, speedups against the AR of the same regime), and per
    method how its speedup changes when the forwards are compiled: ``.speedup_ratio`` =
    compiled / eager speedup, with the bootstrap comparison of the per-prompt speedups
    (``.compiled_vs_eager.*``; the same prompts in both regimes). For AR, ``.tps_ratio`` =
    compiled / eager tokens per second: what compiling alone gives."""
    regimes = _ordered(table["regime"], ("eager", "compiled"))
    datasets = _ordered(table["dataset"], DATASETS)
    nb.add("regimes.regimes", regimes, table["source"])
    nb.add("regimes.datasets", datasets, table["source"])
    nb.add("regimes.methods", _ordered(table["method"], tuple(METHODS)), table["source"])
    for ds in datasets:
        part = table[table["dataset"] == ds]
        rows: dict[tuple[str, str], Any] = {}
        for (regime, m), cell in part.groupby(["regime", "method"]):
            rows[regime, m] = _one(cell, f"regimes/{ds}/{regime}/{m}")
            nb.add_result(f"regimes.{ds}.{regime}.{m}", rows[regime, m])
            compile_s = rows[regime, m].get("compile_s")
            nb.add(f"regimes.{ds}.{regime}.{m}.compile_s", compile_s, [rows[regime, m]["source"]],
                   "s", 0)  # fmt: skip
        for m in part["method"].unique():
            eager, compiled = rows.get(("eager", m)), rows.get(("compiled", m))
            if eager is None or compiled is None:
                continue
            key, sources = f"regimes.{ds}.{m}", [eager["source"], compiled["source"]]
            if m == "ar":
                ratio = float(compiled["tps_mean"]) / float(eager["tps_mean"])
                nb.add(f"{key}.tps_ratio", ratio, sources, "x", 2)
                continue
            ratio = float(compiled["speedup"]) / float(eager["speedup"])
            nb.add(f"{key}.speedup_ratio", ratio, sources, "x", 2)
            _compare_rows(nb, f"{key}.compiled_vs_eager", compiled, eager)


def _floor(nb: Numbers, profiles: dict[str, tuple[str, dict[str, Any]]]) -> None:
    """Each model's weight-streaming floor (bench.floor, in a profile) and, per regime, its
    one-token step as a multiple of it: the target verifying the root alone (an AR step), the
    draft feeding one node; ``c`` = draft step / target step; ``t_ratio.n<N>`` = t(N)/t(1), what
    verifying N tokens costs over one in that regime. The floor's own ``c`` and ``t_ratio`` (its
    products with N vectors over one) are the least those can be on this machine."""
    for regime, (path, profile) in profiles.items():
        floor = profile.get("floor")
        if not floor:
            continue
        nb.add("floor.target_ms", floor["target_s"] * 1e3, [path], "ms", 2)
        nb.add("floor.draft_ms", floor["draft_s"] * 1e3, [path], "ms", 2)
        nb.add("floor.c", floor["draft_s"] / floor["target_s"], [path], "x", 3)
        for point in floor.get("curve", []):
            ratio = point["target_s"] / floor["target_s"]
            nb.add(f"floor.t_ratio.n{point['n']}", ratio, [path], "x", 2)
        prefix = max(point["prefix"] for point in profile["verify"])
        target = next(p for p in profile["verify"] if p["prefix"] == prefix and p["n"] == 1)
        draft = next(p for p in profile["draft_level"] if p["prefix"] == prefix and p["width"] == 1)
        key = f"floor.{regime}"
        nb.add(f"{key}.prefix", prefix, [path], "tokens", 0)
        nb.add(f"{key}.target_ms", target["median_s"] * 1e3, [path], "ms", 2)
        nb.add(f"{key}.draft_ms", draft["median_s"] * 1e3, [path], "ms", 2)
        nb.add(f"{key}.target_multiple", target["median_s"] / floor["target_s"], [path], "x", 1)
        nb.add(f"{key}.draft_multiple", draft["median_s"] / floor["draft_s"], [path], "x", 1)
        nb.add(f"{key}.c", draft["median_s"] / target["median_s"], [path], "x", 3)
        for point in profile["verify"]:
            if point["prefix"] == prefix:
                nb.add(f"{key}.t_ratio.n{point['n']}", point["ratio"], [path], "x", 2)
        compiled = profile.get("compile") or {}
        nb.add(f"{key}.compile_s", compiled.get("compile_s", 0.0), [path], "s", 0)
        if compiled.get("mode"):
            nb.add(f"{key}.mode", compiled["mode"], [path])


def _sensitivity(nb: Numbers, table: Any) -> None:
    spec = table[table["method"] == "dynatree"]
    if "tag_variant" not in spec.columns:
        raise UsageError("--tables sensitivity: results lack the `variant` tag (--tag variant=...)")
    datasets = _ordered(spec["dataset"], DATASETS)
    nb.add("sensitivity.datasets", datasets, spec["source"])
    swept = {
        "threshold": ("tau_h", "tau_l"),
        "breadth": ("B_max", "B_mid", "B_min"),
        "depth": ("D_max", "D_0"),
    }
    for ds in datasets:
        part = spec[spec["dataset"] == ds]
        for variant, params in swept.items():
            sub = part[part["tag_variant"] == variant]
            if len(sub):
                key = f"sensitivity.{ds}.{variant}"
                _sweep_best(nb, key, sub, params)
                _extremes(nb, key, sub, "setting", "tps_mean")


def _verdict_sums(rows: Any) -> dict[str, int]:
    """Prompt counts per verdict over the runs in ``rows`` (unchecked runs add nothing)."""
    return {
        name: int(rows[name].fillna(0).sum()) if name in rows.columns else 0
        for name in ("n_exact", "n_tie", "n_wrong")
    }


def _shared(frame: Any) -> Any:
    """Which rows are shared results (a copy of another experiment's run: ``same_as``)."""
    if "same_as" not in frame.columns:
        return frame["source"].isna()  # none
    return frame["same_as"].notna() & (frame["same_as"].astype(str) != "")


def _exactness(nb: Numbers, table: Any) -> None:
    """The honesty check: how often each method reproduced AR's tokens, per experiment.

    Prompt counts per verdict (exact, numerical tie, wrong; dynatree.bench.verdict) and the
    overall ``status`` the prose branches on: ``wrong`` if any prompt is (a bug), else
    ``unchecked`` if a run had no AR reference, else ``ties`` if any prompt is a tie, else
    ``exact``. A result shared by several experiments (``same_as``: one run, several tables)
    is counted once, under the experiment that timed it.
    """
    spec = _speculative(table)
    shared = _shared(spec)
    nb.add("exact.shared_runs", int(shared.sum()), spec["source"], "count", 0)
    spec = spec[~shared]
    experiments = sorted(spec["experiment"].unique())
    nb.add("exact.experiments", experiments, spec["source"])
    nb.add("exact.tie_eps_multiple", TIE_EPS_MULTIPLE)  # the verdict's k (a code constant)
    for exp in experiments:
        part = spec[spec["experiment"] == exp]
        methods = _ordered(part["method"], tuple(METHODS))
        nb.add(f"exact.{exp}.methods", methods, part["source"])
        for m in methods:
            rows = part[part["method"] == m]
            rates = rows["exact_match_rate"].astype(float) * 100.0
            nb.add(f"exact.{exp}.{m}.runs", len(rows), rows["source"], "count", 0)
            nb.add(f"exact.{exp}.{m}.checked", int(rates.notna().sum()), rows["source"], "count", 0)
            nb.add(f"exact.{exp}.{m}.min_pct", rates.min(), rows["source"], "%", 1)
            nb.add(f"exact.{exp}.{m}.mean_pct", rates.mean(), rows["source"], "%", 1)
            for name, count in _verdict_sums(rows).items():
                nb.add(f"exact.{exp}.{m}.{name}", count, rows["source"], "count", 0)
    rates = spec["exact_match_rate"].astype(float) * 100.0
    checked = int(rates.notna().sum())
    nb.add("exact.all.runs", len(spec), spec["source"], "count", 0)
    nb.add("exact.all.checked", checked, spec["source"], "count", 0)
    nb.add("exact.all.min_pct", rates.min(), spec["source"], "%", 1)
    nb.add("exact.all.all_exact", bool((rates == 100.0).all()), spec["source"])
    sums = _verdict_sums(spec)
    for name, count in sums.items():
        nb.add(f"exact.all.{name}", count, spec["source"], "count", 0)
    wrong = spec[spec["n_wrong"].fillna(0) > 0] if "n_wrong" in spec.columns else spec[:0]
    nb.add("exact.all.wrong_sources", sorted(wrong["source"]), wrong["source"])
    if sums["n_wrong"]:
        status = "wrong"
    elif checked < len(spec):
        status = "unchecked"
    else:
        status = "ties" if sums["n_tie"] else "exact"
    nb.add("exact.all.status", status, spec["source"])


def _unique(nb: Numbers, key: str, frame: Any, column: str, **kw: Any) -> None:
    """A protocol/provenance fact; several distinct values are kept as a list, never hidden."""
    if column not in frame.columns:
        return
    values = [_clean(v) for v in frame[column].dropna().unique()]
    values = sorted(values, key=str)
    if values:
        nb.add(key, values[0] if len(values) == 1 else values, frame["source"], **kw)


def _protocol(nb: Numbers, table: Any, main: Any | None) -> None:
    ref = main if main is not None else table
    for column, kw in (
        ("max_new_tokens", {"unit": "tokens", "digits": 0}),
        ("warmup", {"unit": "count", "digits": 0}),
        ("n_prompts", {"unit": "count", "digits": 0}),
        ("n_measured", {"unit": "count", "digits": 0}),
        ("device", {}),
        ("dtype", {}),
        ("threads", {"unit": "count", "digits": 0}),
        ("parts", {"unit": "count", "digits": 0}),  # only when the main table ran in parts
    ):
        _unique(nb, f"protocol.{column}", ref, column, **kw)
    # Each experiment's measured prompts and parts (experiments.<name>.n_prompts, .parts): the
    # most any of its timed settings ran (a raced sweep's survivors), for the setup's sentence.
    timed = _speculative(table)
    timed = timed[~_shared(timed)]
    for exp in sorted(timed["experiment"].unique()):
        rows = timed[timed["experiment"] == exp]
        parts = rows["parts"].fillna(1).max() if "parts" in rows.columns else 1
        key = f"protocol.experiment.{exp}"
        nb.add(f"{key}.n_measured", rows["n_measured"].max(), rows["source"], "count", 0)
        nb.add(f"{key}.parts", parts, rows["source"], "count", 0)
    for ds in ref["dataset"].unique():
        _unique(
            nb, f"protocol.{ds}.l_max", ref[ref["dataset"] == ds], "l_max", unit="tokens", digits=0
        )
    for column in ("target", "draft"):
        _unique(nb, f"models.{column}", table, column)
        if f"{column}_params" in table.columns:
            frame = table[["source"]].assign(_m=table[f"{column}_params"].astype(float) / 1e6)
            _unique(nb, f"models.{column}_params_m", frame, "_m", unit="M", digits=2)
    for column in ("device_name", "cpu_model", "hostname"):
        _unique(nb, f"hardware.{column}", table, column)
    for column in ("dynatree_version", "torch", "transformers", "python"):
        _unique(nb, f"versions.{column}", table, column)
    _unique(nb, "provenance.git_commit", table, "git_commit")
    dirty = table["git_dirty"].astype(str).str.lower().eq("true").any()
    nb.add("provenance.git_dirty", bool(dirty), table["source"])
    synthetic = table.get("tag_synthetic")
    is_synth = synthetic is not None and synthetic.astype(str).str.lower().eq("true").any()
    nb.add("provenance.synthetic", bool(is_synth), table["source"])
    nb.add("provenance.n_results", int(table["source"].nunique()), table["source"], "count", 0)
    paired = table[table["method"] != "ar"].get("speedup_paired")
    is_paired = paired is not None and len(paired) > 0 and paired.astype(bool).all()
    nb.add("protocol.paired", bool(is_paired), table["source"])
    nb.add("stats.ci_pct", stats.CI_LEVEL * 100.0, [], "%", 0)
    nb.add("stats.n_resamples", stats.N_RESAMPLES, [], "count", 0)
    nb.add("stats.repeat_pct", stats.REPEAT * 100.0, [], "%", 0)
    nb.add("stats.between_runs_pct", stats.BETWEEN_RUNS * 100.0, [], "%", 0)


def _flatten(nb: Numbers, prefix: str, obj: Any, source: str, depth: int = 0) -> None:
    """Scalar leaves of a JSON document (config, build report) as facts the paper may quote."""
    if isinstance(obj, dict) and depth < 5:
        for k, v in obj.items():
            _flatten(nb, f"{prefix}.{k}", v, source, depth + 1)
    elif isinstance(obj, list) and all(isinstance(v, str | int | float | bool) for v in obj):
        nb.add(prefix, list(obj), [source])
    elif isinstance(obj, str | int | float | bool) or obj is None:
        nb.add(prefix, obj, [source])


def _cost_curves(nb: Numbers, key: str, profile: dict[str, Any], source: str) -> None:
    """A verify-cost profile's ratio curves at its longest cache, as facts the prose can quote:
    ``KEY.t_ratio.n<N>`` = t(N)/t(1), ``KEY.g_ratio.w<W>`` = g(W)/g(1), ``KEY.prefix``."""
    for curve, size, short in (("verify", "n", "t"), ("draft_level", "width", "g")):
        prefix = max(point["prefix"] for point in profile[curve])
        nb.add(f"{key}.prefix", prefix, [source], "tokens", 0)
        for point in profile[curve]:
            if point["prefix"] == prefix:
                nb.add(
                    f"{key}.{short}_ratio.{size[0]}{point[size]}", point["ratio"], [source], "x", 2
                )
    nb.add(f"{key}.device", profile.get("device"), [source])
    nb.add(f"{key}.dtype", profile.get("dtype"), [source])


def _selection(nb: Numbers, path: str) -> None:
    """A sweep's race (``dynatree select``): the selected setting, whether it led significantly
    or won a declared tie (and which settings tied), over how many rounds and prompts.

    Keys ``select.<dataset>.<method>.*``; a tie member's parameters under ``tie.<i>.param.*``."""
    doc = read_json(path, "--selections")
    try:
        _add_selection(nb, path, doc)
    except (KeyError, IndexError, StopIteration, TypeError, AttributeError):
        raise UsageError(f"--selections {path}: not a final selection (dynatree select)") from None


def _add_selection(nb: Numbers, path: str, doc: Any) -> None:
    winner = next(s for s in doc["settings"] if s["setting"] == doc["setting"])
    ds = doc["dataset"]
    key = f"select.{ds}.{doc['method']}"
    for name, value in doc["params"].items():
        nb.add(f"{key}.param.{name}", value, [path])
    nb.add(f"{key}.setting", doc["setting"], [path])
    nb.add(f"{key}.outcome", doc["outcome"], [path])
    nb.add(f"{key}.rule", doc["rule"], [path])
    nb.add(f"{key}.tie_within_pct", 100 * doc["tie_within"], [path], "%", 0)
    if doc["rule"] == "predicted":
        nb.add(f"{key}.predicted_within_pct", 100 * doc["predicted_within"], [path], "%", 0)
    nb.add(f"{key}.leader_selected", doc["leader"] == doc["setting"], [path])
    nb.add(f"{key}.rounds", doc["rounds"], [path], "count", 0)
    nb.add(f"{key}.rounds_run", doc["rounds_run"], [path], "count", 0)
    nb.add(f"{key}.round_prompts", doc["round_prompts"][0], [path], "count", 0)
    nb.add(f"{key}.n_settings", len(doc["settings"]), [path], "count", 0)
    nb.add(f"{key}.n_measured", winner["n"], [path], "count", 0)
    dropped = [s for s in doc["settings"] if s["status"] != "racing"]
    nb.add(f"{key}.n_dropped", len(dropped), [path], "count", 0)
    nb.add(f"{key}.tie_n", len(doc["tie"]), [path], "count", 0)
    ties = [s for s in doc["settings"] if s["setting"] in doc["tie"]]
    for i, member in enumerate(ties):
        for name, value in member["params"].items():
            nb.add(f"{key}.tie.{i}.param.{name}", value, [path])


def _gpu_check(nb: Numbers, path: str) -> None:
    """The committed GPU device check: its GPU, and its first fp16 run's cost curves."""
    report = read_device_check(path, "--device-check")
    runs = [r for r in report.get("runs", []) if "profile" in r and r["dtype"] == "float16"]
    if not runs:
        return
    nb.add("gpu.device_name", report.get("provenance", {}).get("device_name"), [path])
    _cost_curves(nb, "gpu.cost", {"dtype": "float16", **runs[0]["profile"]}, path)


def _data(nb: Numbers, path: str) -> None:
    """Where each dataset's raw text came from (the data manifest): ``data.<dataset>.title``,
    ``.origin`` (hub or local), ``.repo``, ``.revision`` and its first 12 digits ``.commit`` (a
    pinned download), ``.standin``
    (PG-19's offline Gutenberg stand-in), ``.n_files``; not the per-file sums."""
    manifest = read_json(path, "--data-manifest", "; rerun rule data_manifest")
    nb.add("data.source", manifest.get("source"), [path])
    for name, entry in sorted((manifest.get("datasets") or {}).items()):
        for key in ("title", "origin", "repo", "revision", "standin"):
            if entry.get(key) is not None:
                nb.add(f"data.{name}.{key}", entry[key], [path])
        if entry.get("revision"):
            nb.add(f"data.{name}.commit", entry["revision"][:12], [path])  # as the paper shows it
        nb.add(f"data.{name}.n_files", len(entry.get("files") or {}), [path], "count", 0)


def build_numbers(
    table: Any,
    table_paths: Sequence[str],
    embedded_report: str | None = None,
    config: str | None = None,
    profiles: Sequence[str] = (),
    device_check: str | None = None,
    data_manifest: str | None = None,
    selections: Sequence[str] = (),
) -> dict[str, Any]:
    """Compute numbers.json from the concatenated aggregate tables (``read_tables``), plus the
    run's facts files (build report, config, GPU check, data manifest, sweeps' selections);
    among the cost ``profiles`` (one per regime), the main table's regime gives ``cost.*``."""
    nb = Numbers()
    experiments = {exp: table[table["experiment"] == exp] for exp in table["experiment"].unique()}
    main = experiments.get("main")
    nb.add("experiments", sorted(experiments), table["source"])
    for exp, frame in experiments.items():
        nb.add(f"sources.{exp}", sorted(frame["source"].unique()), frame["source"])
    nb.add("tables", sorted(table_paths), table_paths)
    if main is not None:
        _main(nb, main)
    for name in ("ablation", "ca_ablation"):
        if name in experiments:
            _ablation(nb, name, experiments[name])
    if "fixed_tree_sweep" in experiments:
        _fixed_tree_sweep(nb, experiments["fixed_tree_sweep"])
    if "linear_sweep" in experiments:
        _linear_sweep(nb, experiments["linear_sweep"])
    if "length_scaling" in experiments:
        _by_axis(nb, "length_scaling", experiments["length_scaling"], "max_new_tokens", "T")
    if "prompt_length" in experiments:
        _by_axis(nb, "prompt_length", experiments["prompt_length"], "l_max", "L")
    if "sensitivity" in experiments:
        _sensitivity(nb, experiments["sensitivity"])
    if "regimes" in experiments:
        _regimes(nb, experiments["regimes"])
    _exactness(nb, table)
    _protocol(nb, table, main)
    if embedded_report:
        _flatten(nb, "embedded", read_json(embedded_report, "--embedded-report"), embedded_report)
    if config:
        _flatten(nb, "config", read_json(config, "--config"), config)
    by_regime = {}
    for path in profiles:
        profile = read_profile(path)
        by_regime[(profile.get("compile") or {}).get("regime", "eager")] = (path, profile)
    ref = main if main is not None else table
    main_regime = str(ref["regime"].iloc[0]) if "regime" in ref.columns and len(ref) else "eager"
    if main_regime in by_regime:
        _cost_curves(nb, "cost", by_regime[main_regime][1], by_regime[main_regime][0])
    _floor(nb, by_regime)
    if device_check:
        _gpu_check(nb, device_check)
    if data_manifest:
        _data(nb, data_manifest)
    for path in selections:
        _selection(nb, path)
    return nb.document()
