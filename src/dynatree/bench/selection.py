"""Pick a sweep's setting by racing: the main table's linear K and fixed tree (issue 22).

Why racing: each sweep point used to be one 5-prompt job, and neighbouring settings are within
noise of each other, so "the fastest" changed from run to run. A sweep split into K parts
(``experiments.<sweep>.parts``) now runs them as rounds: every setting starts on the first share
of the prompts; after each round from the second on, a setting whose paired speedup is
significantly behind the leader's (``dynatree.bench.stats.compare`` on the prompts both measured,
the paper's rule: the interval of the difference excludes zero; each round's prompts, timed by
one process per setting, are a cluster of its bootstrap) drops out, and only the others decode
the next round's new prompts (their later parts are skip records, ``dynatree.bench.parts``). The
race ends when one setting is left (it leads significantly) or the K rounds, the prompt budget,
are spent. Why not drop after round 1 (:data:`DROP_FROM_ROUND`): there each setting is one
process, whose machine state moves its mean as much as its prompts' spread does
(docs/stability.md), so a first round cannot tell a slower setting from a slower process (in
three full runs, two sweeps selected another setting in one run because its winner elsewhere had
dropped after round 1). A sweep in one round decides on its prompts, the only evidence it has.

A setting drops only when it is significantly behind the leader *and* its mean is more than
:data:`TIE_WITHIN` below the leader's: a smaller gap is less than one setting moves between
whole runs (docs/stability.md), and D4 B2 and D8 B2, which draft the same trees, came out
"significantly" apart in one run. Settings still racing at the end are a declared tie. With
the cost profile (``--profile``) it goes to the settings the cost model predicts fastest from
their own iterations (dynatree.bench.prediction; every one within :data:`PREDICTED_WITHIN` of
the best prediction counts as fastest), of those to the cheapest tree (``draft_budget`` of the
method's parameters, the most nodes one iteration drafts), then to the order of the inputs;
without a profile, to the cheapest. Why not the leader: among settings the data cannot tell
apart, the leader is a coin toss between runs. Why not the cheapest alone: the cheapest member
of a tie is usually the slowest one, at the edge of the tie, so the winner flipped whenever it
dropped (linear K2 vs K4, docs/measurements.md). A prediction reads what is deterministic (the
tokens each iteration committed, a property of the models and prompts) priced by one profile
shared by all settings, so it does not move with the sweep jobs' timing noise. Why 5 %, not
2 %: the model's own error is several percent (measured / predicted 0.87-1.06 on the main
table over six runs), and in three runs of c5fea52 a 2 % window moved WikiText-2's linear K
between K6 and K4 as K4's prediction sat 2.0-2.3 % below the best (docs/measurements.md).

Only settings whose every row reproduced the AR reference qualify: a numerical tie (``tie``
verdict, dynatree.bench.verdict) does (the target's own rounding), a ``wrong`` row or an
undiagnosed mismatch never does, and such a setting leaves the race at once.

The same function writes the decision after each round (what the next round's jobs read with
``dynatree bench --race``) and the final selection (a params file for ``--params-file``).
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from typing import Any

from dynatree.bench import stats
from dynatree.bench.parts import SKIP_SCHEMA, parse_part
from dynatree.bench.prediction import predicted_speedup
from dynatree.bench.reference import SCHEMA, read_result
from dynatree.bench.verdict import VERDICTS, row_verdict
from dynatree.decoding.cost import CostProfile
from dynatree.errors import UsageError
from dynatree.io import read_json

DROP_FROM_ROUND = 2  # the first round after which a setting can drop (of a sweep in 2+ rounds)
#: A setting this close (relative mean) to the leader stays in the race even when significantly
#: behind it (module docstring): what a mean moves between runs.
TIE_WITHIN = stats.BETWEEN_RUNS
#: Predicted speedups this close (relative) to the tie's best count as the best: about the cost
#: model's own error (module docstring).
PREDICTED_WITHIN = 0.05
#: Tie rules (the selection's ``rule``) and how the paper and the log say them.
TIE_RULES = {
    "predicted": "the fastest the cost model predicts from each setting's own iterations "
    f"(within {PREDICTED_WITHIN:.0%}), then the cheapest tree, then the sweep's order",
    "cheapest": "the cheapest tree (fewest drafted nodes per iteration), then the sweep's order",
}
# Protocol fields that must agree for settings to be compared (parts share their prompts file).
_SAME_PROTOCOL = ("prompts_sha256", "max_new_tokens", "device", "dtype")
_SPEED = {"type": "number", "exclusiveMinimum": 0}
_SPEED_OR_NULL = {"type": ["number", "null"], "exclusiveMinimum": 0}
# What select reads from each input (docs/formats.md): a result without rows, or with a null,
# non-numeric or non-positive throughput or speedup, cannot be ranked and is an error naming the
# field, not a crash or a winner that depends on the order of the inputs (NaN: read_json).
SELECT_FIELDS = {
    "type": "object",
    "required": ["method", "params", "protocol", "rows", "summary"],
    "properties": {
        "method": {"type": "string"},
        "params": {"type": "object"},
        "protocol": {"type": "object"},
        "rows": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "properties": {
                    "prompt_id": {"type": "string"},
                    "warmup": {"type": "boolean"},
                    "tps": _SPEED_OR_NULL,
                    "paired_speedup": _SPEED_OR_NULL,
                    "exact_match": {"type": ["boolean", "null"]},
                    "verdict": {"enum": [*VERDICTS, None]},
                },
            },
        },
        "summary": {
            "type": "object",
            "required": ["tps_mean"],
            "properties": {"tps_mean": _SPEED, "paired_speedup_mean": _SPEED_OR_NULL},
        },
    },
}


@dataclass
class _Setting:
    """One sweep setting in the race: its rounds (a result or None for a skip record, by round)."""

    name: str
    method: str
    params: dict[str, Any]
    dataset: str | None
    rounds: dict[int, tuple[str, dict[str, Any] | None]] = field(default_factory=dict)
    status: str = "racing"  # racing | dropped | inexact
    dropped_round: int | None = None
    values: dict[str, float] = field(default_factory=dict)  # measured prompt id → value
    round_of: dict[str, int] = field(default_factory=dict)  # measured prompt id → its round
    versus: stats.Comparison | None = None  # against the leader, when last compared
    predicted: float | None = None  # the cost model's speedup over its measured rows (a tie's)

    def results(self) -> list[tuple[str, dict[str, Any]]]:
        return [(p, r) for _, (p, r) in sorted(self.rounds.items()) if r is not None]


def _is_exact(result: dict[str, Any]) -> bool:
    """Exact or a tie on every prompt, warm-up included; unchecked results never qualify."""
    rows = result["rows"]
    return bool(rows) and all(row_verdict(row) in ("exact", "tie") for row in rows)


def _read(path: str) -> tuple[dict[str, Any] | None, dict[str, Any]]:
    """(result or None, the fields naming it): a benchmark result, or a part's skip record."""
    doc = read_json(path, "--inputs")
    if isinstance(doc, dict) and doc.get("schema") == SKIP_SCHEMA:
        return None, doc
    if not isinstance(doc, dict) or doc.get("schema") != SCHEMA:
        raise UsageError(f"--inputs {path!r}: not a benchmark result ({SCHEMA}) nor a skip record")
    result = read_result(path, "--inputs", SELECT_FIELDS)
    return result, result


def _settings(paths: list[str]) -> tuple[list[_Setting], int]:
    """The inputs grouped by setting (tag ``setting``, else the file) and round (``part``)."""
    if not paths:
        raise UsageError("--inputs: give at least one benchmark result")
    settings: dict[str, _Setting] = {}
    split: tuple[int, str] | None = None
    first: tuple[str, dict[str, Any]] | None = None
    for path in paths:
        result, doc = _read(path)
        label = doc.get("protocol", {}).get("part")
        index, parts = (1, 1) if label is None else parse_part(label, f"--inputs {path}: part")
        split = split or (parts, path)
        if parts != split[0]:
            raise UsageError(
                f"--inputs {path}: part {label} of a sweep in {parts} rounds, {split[1]} of one "
                f"in {split[0]}; pass one sweep's results"
            )
        name = doc.get("tags", {}).get("setting") or path
        dataset = doc.get("tags", {}).get("dataset")
        setting = settings.setdefault(
            name, _Setting(name, doc["method"], dict(doc["params"]), dataset)
        )
        if index in setting.rounds:
            other = setting.rounds[index][0]
            raise UsageError(f"--inputs {path}: round {index} of {name} is also {other}")
        setting.rounds[index] = (path, result)
        if result is None:
            continue
        first = first or (path, result)
        if result["method"] != first[1]["method"]:
            raise UsageError(
                f"--inputs {path!r}: method {result['method']!r} differs from "
                f"{first[1]['method']!r} in {first[0]!r}; select compares one method's settings"
            )
        for key in _SAME_PROTOCOL:
            if result["protocol"].get(key) != first[1]["protocol"].get(key):
                raise UsageError(
                    f"--inputs {path!r}: protocol {key} differs from {first[0]!r}; "
                    "speedups are only comparable under one protocol"
                )
    return list(settings.values()), split[0] if split else 1


def _criterion(settings: list[_Setting]) -> str:
    """Paired speedup when every result has one, else mean throughput."""
    results = [r for s in settings for _, r in s.results()]
    paired = all(r["summary"].get("paired_speedup_mean") is not None for r in results)
    return "paired_speedup_mean" if paired else "tps_mean"


def _per_prompt(result: dict[str, Any], criterion: str) -> dict[str, float]:
    """Measured prompt id → the per-prompt value behind ``criterion``."""
    column = "paired_speedup" if criterion == "paired_speedup_mean" else "tps"
    rows = [row for row in result["rows"] if not row.get("warmup", False)]
    return {row["prompt_id"]: row[column] for row in rows if row.get(column) is not None}


def _mean(setting: _Setting, prompts: list[str]) -> float:
    return statistics.fmean(setting.values[p] for p in prompts)


def _play_round(racing: list[_Setting], index: int, criterion: str, may_drop: bool) -> None:
    """Add round ``index`` to the settings still racing, then compare each with the leader and,
    when ``may_drop``, drop those significantly and more than :data:`TIE_WITHIN` behind it."""
    for setting in racing:
        path, result = setting.rounds[index]
        if result is None:
            raise UsageError(
                f"--inputs {path}: {setting.name} skipped round {index} while still in the race; "
                "rerun that part (its --race decision is stale)"
            )
        if not _is_exact(result):
            setting.status, setting.dropped_round = "inexact", index
            continue
        values = _per_prompt(result, criterion)
        setting.values.update(values)
        setting.round_of.update(dict.fromkeys(values, index))
    alive = [s for s in racing if s.status == "racing"]
    if len(alive) < 2:
        return
    prompts = sorted(set.intersection(*(set(s.values) for s in alive)))
    if not prompts:
        return  # nothing to compare on: nobody is behind
    leader = max(alive, key=lambda s: _mean(s, prompts))  # the first of equals: input order
    for setting in alive:
        if setting is leader:
            setting.versus = None
            continue
        theirs = [setting.values[p] for p in prompts]
        # each round is its own process per setting: a cluster of the bootstrap (bench.stats)
        clusters = [(setting.round_of[p], leader.round_of[p]) for p in prompts]
        setting.versus = stats.compare(theirs, [leader.values[p] for p in prompts], clusters)
        versus = setting.versus
        if may_drop and versus.verdict == stats.WORSE and versus.ratio < 1 - TIE_WITHIN:
            setting.status, setting.dropped_round = "dropped", index


def _budget(setting: _Setting) -> int:
    """The most nodes one iteration of the setting drafts (``draft_budget`` of its params; 0 for
    a method without one, whose ties then go by the sweep's order)."""
    from dynatree.decoding.registry import parse_params

    return int(getattr(parse_params(setting.method, setting.params), "draft_budget", 0))


def _resolve_tie(
    alive: list[_Setting], settings: list[_Setting], profile: CostProfile | None
) -> tuple[_Setting, str]:
    """The tie's winner and the rule that chose it (module docstring): the cheapest of those
    the profile predicts fastest; the cheapest of all when a setting cannot be priced."""
    candidates, rule = alive, "cheapest"
    if profile is not None and len(alive) > 1:
        for setting in alive:
            rows = [row for _, result in setting.results() for row in result["rows"]]
            setting.predicted = predicted_speedup(profile, {"rows": rows})
        if all(s.predicted is not None for s in alive):
            best = max(s.predicted for s in alive)
            candidates = [s for s in alive if s.predicted >= best * (1 - PREDICTED_WITHIN)]
            rule = "predicted"
    return min(candidates, key=lambda s: (_budget(s), settings.index(s))), rule


def race(
    paths: list[str], round_: tuple[int, int] | None = None, profile: CostProfile | None = None
) -> dict[str, Any]:
    """The race over the results (and skip records) in ``paths`` after round I of K
    (``round_``; default: the last, the final selection), as the selection object of
    docs/formats.md; a final tie goes by ``profile``'s predictions when given."""
    settings, total = _settings(paths)
    played, rounds = (total, total) if round_ is None else round_
    if rounds != total:
        raise UsageError(f"--round {played}/{rounds}: the inputs are a sweep in {total} rounds")
    for setting in settings:
        missing = [i for i in range(1, played + 1) if i not in setting.rounds]
        if missing:
            raise UsageError(
                f"--inputs: round {missing[0]} of {setting.name} missing; pass every part of "
                f"rounds 1..{played} of every setting"
            )
    criterion = _criterion(settings)
    for index in range(1, played + 1):
        racing = [s for s in settings if s.status == "racing"]
        if len(racing) < 2 and index > 1:
            break  # decided: the later rounds are skip records
        _play_round(racing, index, criterion, index >= min(DROP_FROM_ROUND, total))
    alive = [s for s in settings if s.status == "racing"]
    if not alive:
        raise UsageError(
            "--inputs: no setting matches its AR reference (up to numerical ties) on every "
            "prompt (run dynatree bench with --reference)"
        )
    prompts = sorted(set.intersection(*(set(s.values) for s in alive)))
    leader = max(alive, key=lambda s: _mean(s, prompts)) if prompts else alive[0]
    final = played == total
    # before the entries: a tie's members carry their predictions
    winner, rule = _resolve_tie(alive, settings, profile) if final else (leader, "")
    decision: dict[str, Any] = {
        "method": settings[0].method,
        "dataset": settings[0].dataset,
        "criterion": criterion,
        "rounds": total,
        "rounds_run": played,
        "round_prompts": [_share(settings, index) for index in range(1, played + 1)],
        "final": final,
        "decided": len(alive) == 1,
        "alive": [s.name for s in alive],
        "leader": leader.name,
        "settings": [_entry(s, leader) for s in settings],
    }
    if not final:
        return decision
    sources = [path for path, _ in winner.results()]
    tps = [row["tps"] for _, r in winner.results() for row in r["rows"] if not row["warmup"]]
    return {
        **decision,
        "params": winner.params,
        "setting": winner.name,
        "source": sources[0],
        "sources": sources,
        "score": statistics.fmean(winner.values.values()),
        "tps_mean": statistics.fmean(tps),
        "outcome": "leads" if len(alive) == 1 else "tie",
        "tie": [s.name for s in alive] if len(alive) > 1 else [],
        "tie_within": TIE_WITHIN,
        "rule": rule,
        "rule_text": TIE_RULES[rule],
        **({"predicted_within": PREDICTED_WITHIN} if rule == "predicted" else {}),
    }


def _share(settings: list[_Setting], index: int) -> int:
    """Measured prompts of round ``index`` (0 when no setting ran it: a decided race)."""
    ran = [r for s in settings if (r := s.rounds[index][1]) is not None]
    return max((sum(not row["warmup"] for row in r["rows"]) for r in ran), default=0)


def _entry(setting: _Setting, leader: _Setting) -> dict[str, Any]:
    """A setting's line in the selection: status, prompts, mean, and how it stood to the leader."""
    low, high = stats.ci_keys("ratio")
    versus = setting.versus
    return {
        "setting": setting.name,
        "params": setting.params,
        "status": setting.status,
        "dropped_round": setting.dropped_round,
        "n": len(setting.values),
        "score": statistics.fmean(setting.values.values()) if setting.values else None,
        "ratio": None if versus is None else versus.ratio,
        low: None if versus is None else versus.low,
        high: None if versus is None else versus.high,
        "leader": setting is leader,
        "predicted_speedup": setting.predicted,
    }


def describe(selected: dict[str, Any]) -> str:
    """One log line: the leader or the winner, and who dropped out when."""
    dropped = [
        f"{s['setting']} ({s['status']} in round {s['dropped_round']})"
        for s in selected["settings"]
        if s["status"] != "racing"
    ]
    gone = "; out: " + ", ".join(dropped) if dropped else ""
    rounds = f"after round {selected['rounds_run']} of {selected['rounds']}"
    if not selected["final"]:
        return f"dynatree select: {rounds}, still racing: {', '.join(selected['alive'])}{gone}"
    if selected["outcome"] == "leads":
        how = "leads significantly" if len(selected["settings"]) > 1 else "is the only setting"
        return f"dynatree select: {selected['setting']} {how} {rounds}{gone}"
    return (
        f"dynatree select: {selected['setting']} wins a tie of {', '.join(selected['tie'])} "
        f"{rounds} (within noise of the leader {selected['leader']}; rule: "
        f"{selected['rule_text']}){gone}"
    )
