"""The check kinds a claim can use, declared once; the claims file only names keys and values.

Every check reads numbers.json through :class:`Facts` (which records the keys it used, so each
verdict can name its result files) and returns an :class:`Outcome`. Orderings go through one
function, :func:`compare`: when numbers.json carries a 95 % confidence interval for a value
(the bounds named by ``dynatree.bench.stats.ci_keys``, the paper's own rule) or for a
difference, a claim
"A is faster than B" holds only when the intervals say so and A is more than
``dynatree.bench.stats.BETWEEN_RUNS`` faster (a smaller difference reversed between runs of the
same code, issue 22); otherwise the point values decide and the verdict says that it rests on
point values.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from dynatree.bench.stats import BETWEEN_RUNS, ci_keys
from dynatree.claims.records import ClaimsFile
from dynatree.numbers_file import format_value

HOLDS, FAILS, NOT_COMPARABLE = "holds", "does not hold", "not comparable"
VERDICTS = (HOLDS, FAILS, NOT_COMPARABLE)
KINDS = ("relative", "absolute")


class Absent(Exception):
    """numbers.json lacks a key a check needs (an experiment not run, a metric not recorded)."""

    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


@dataclass(frozen=True)
class Outcome:
    verdict: str
    reproduced: str
    why: str


def shown(value: Any, unit: str | None, digits: int | None) -> str:
    """A number as the paper prints it, with its unit (``1.43x``, ``22.1 tok/s``, ``100.0%``)."""
    text = format_value(value, digits)
    if not unit or text == "--":
        return text
    return f"{text}{unit}" if unit in ("x", "%") else f"{text} {unit}"


class Facts:
    """Read access to numbers.json entries; remembers every key read."""

    def __init__(self, numbers: dict[str, dict[str, Any]]) -> None:
        self.numbers = numbers
        self.used: list[str] = []

    def has(self, key: str) -> bool:
        return key in self.numbers and self.numbers[key]["value"] is not None

    def entry(self, key: str) -> dict[str, Any]:
        if not self.has(key):
            raise Absent(key)
        if key not in self.used:
            self.used.append(key)
        return self.numbers[key]

    def value(self, key: str) -> Any:
        return self.entry(key)["value"]

    def number(self, key: str) -> float:
        value = self.value(key)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise Absent(key)  # a list (several distinct values) or a string: nothing to compare
        return float(value)

    def shown(self, key: str) -> str:
        e = self.entry(key)
        return shown(e["value"], e["unit"], e["digits"])

    def interval(self, key: str) -> tuple[float, float] | None:
        low, high = ci_keys(key)
        if not (self.has(low) and self.has(high)):
            return None
        return self.number(low), self.number(high)

    def sources(self) -> list[str]:
        return sorted({s for key in self.used for s in self.numbers[key]["sources"]})


@dataclass(frozen=True)
class Comparison:
    """How value A stands to value B: "higher", "lower" or "on par", and on what evidence
    (``within_runs``: significantly apart, but by less than a mean moves between runs)."""

    order: str
    why: str
    within_runs: bool = False


def _order(low_above: bool, high_below: bool) -> str:
    return "higher" if low_above else "lower" if high_below else "on par"


def _span(facts: Facts, key: str) -> str:
    """The 95 % interval of ``key`` as printed, at the key's own precision and unit."""
    low, high = facts.interval(key)
    e = facts.entry(key)
    return f"[{shown(low, e['unit'], e['digits'])}, {shown(high, e['unit'], e['digits'])}]"


def _beyond_runs(order: str, ratio: float, why: str) -> Comparison:
    """A significant order that stands only when A and B are more than :data:`BETWEEN_RUNS`
    apart (``ratio``: A over B); a smaller gap is called on par and says so."""
    if order == "on par" or abs(ratio - 1) > BETWEEN_RUNS:
        return Comparison(order, why)
    gap = f"{(ratio - 1) * 100:+.1f} %"
    return Comparison(
        "on par",
        f"{why}, but {gap} is within the {BETWEEN_RUNS * 100:.0f} % a mean moves between runs",
        within_runs=True,
    )


def compare(facts: Facts, a: str, b: str | float, diff: str | None = None) -> Comparison:
    """Order the value at key ``a`` against key (or constant) ``b``.

    The significance rule lives here only: an interval of the difference (key ``diff``, signed
    A over B, in %) decides when present; else the intervals of both sides (a constant is its
    own interval) decide, "on par" when they overlap (a conservative test); either way a
    significant order within :data:`BETWEEN_RUNS` is on par. Without intervals, the point values.
    """
    if diff is not None and facts.interval(diff) is not None:
        low, high = facts.interval(diff)
        order = _order(low > 0, high < 0)
        says = "includes zero" if order == "on par" else "excludes zero"
        why = f"95 % interval of the difference {_span(facts, diff)} {says}"
        return _beyond_runs(order, 1 + facts.number(diff) / 100, why)
    side_b = (b, b) if isinstance(b, int | float) else facts.interval(b)
    side_a = facts.interval(a)
    if side_a is not None and side_b is not None:
        order = _order(side_a[0] > side_b[1], side_a[1] < side_b[0])
        says = "overlap" if order == "on par" else "do not overlap"
        span_b = f"{b:g}" if isinstance(b, int | float) else _span(facts, b)
        why = f"95 % intervals {_span(facts, a)} and {span_b} {says}"
        value_b = float(b) if isinstance(b, int | float) else facts.number(b)
        return _beyond_runs(order, facts.number(a) / value_b, why)
    va = facts.number(a)
    vb = float(b) if isinstance(b, int | float) else facts.number(b)
    sign = ">" if va > vb else "<" if va < vb else "="
    order = _order(va > vb, va < vb)
    text_b = f"{vb:g}" if isinstance(b, int | float) else facts.shown(b)
    return Comparison(
        order, f"{facts.shown(a)} {sign} {text_b} (point values: no 95 % intervals in numbers.json)"
    )


def _verdict(comparison: Comparison) -> tuple[str, str]:
    if comparison.order == "higher":
        return HOLDS, comparison.why
    if comparison.order == "lower" or comparison.within_runs:
        return FAILS, comparison.why
    return FAILS, f"not significantly different: {comparison.why}"


def _greater(fields: dict[str, Any], facts: Facts, spec: ClaimsFile) -> Outcome:
    a, b = fields["keys"]
    verdict, why = _verdict(compare(facts, a, b, fields.get("diff")))
    return Outcome(verdict, f"{facts.shown(a)} vs {facts.shown(b)}", why)


def _above(fields: dict[str, Any], facts: Facts, spec: ClaimsFile) -> Outcome:
    verdict, why = _verdict(compare(facts, fields["key"], float(fields["than"])))
    return Outcome(verdict, facts.shown(fields["key"]), why)


def _key_part(value: Any) -> str:
    """A list value as it appears inside a numbers.json key (T128, L64)."""
    return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)


def _increasing(fields: dict[str, Any], facts: Facts, spec: ClaimsFile) -> Outcome:
    """A series grows: its last value is significantly above its first, and no step between
    neighbours falls significantly. Why not every step significantly up: a small experiment's
    neighbouring steps sit at the edge of significance, so that verdict flipped between reruns
    of the same code (issue 22) while the trend itself did not."""
    series = dict(fields["series"])
    template = series.pop("key")
    (var, list_key), *_ = series.items()
    points = facts.value(list_key)
    keys = [template.format(**{var: _key_part(p)}) for p in points]
    shown_points = ", ".join(_key_part(p) for p in points)
    if len(keys) < 2:
        return Outcome(NOT_COMPARABLE, "", f"{var} has {len(keys)} value(s); a trend needs two")
    values = ", ".join(facts.shown(k) for k in keys)
    reproduced = f"{values} at {var} = {shown_points}"
    ends = f"{var} {_key_part(points[0])} to {_key_part(points[-1])}"
    overall = compare(facts, keys[-1], keys[0])
    falls = []
    for i in range(1, len(keys)):
        comparison = compare(facts, keys[i], keys[i - 1])
        if comparison.order == "lower":
            step = f"{_key_part(points[i - 1])} to {_key_part(points[i])}"
            falls.append(f"{var} {step}: {comparison.why}")
    if falls:
        return Outcome(FAILS, reproduced, "falls at " + "; ".join(falls))
    if overall.order != "higher":
        return Outcome(FAILS, reproduced, f"does not grow from {ends}: {overall.why}")
    return Outcome(HOLDS, reproduced, f"grows from {ends} ({overall.why}); no step falls")


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, int | float) and isinstance(b, int | float):
        return math.isclose(float(a), float(b), rel_tol=1e-9)
    return a == b


def _name(key: str) -> str:
    return key.rsplit(".", 1)[-1]


def _tied(fields: dict[str, Any], facts: Facts) -> bool:
    """Whether a member of the declared tie at ``fields["tie"]`` (a ``select.<ds>.<method>``
    key, dynatree.bench.selection) has every expected value."""
    prefix = fields.get("tie")
    if prefix is None or not facts.has(f"{prefix}.tie_n"):
        return False
    expect = [(_name(e["key"]), e["value"]) for e in fields["expect"]]
    for i in range(int(facts.number(f"{prefix}.tie_n"))):
        member = [(f"{prefix}.tie.{i}.param.{name}", want) for name, want in expect]
        if all(facts.has(key) and _same(facts.value(key), want) for key, want in member):
            return True
    return False


def _equals(fields: dict[str, Any], facts: Facts, spec: ClaimsFile) -> Outcome:
    """Each key has its claimed value; a selected setting (``tie``: its selection's key) also
    holds when the claimed one is in the tie the race declared: the data cannot tell them
    apart, and which of them the tie rule picked is not the claim's point."""
    found, differ, off_grid = [], [], []
    for item in fields["expect"]:
        key, want = item["key"], item["value"]
        if "grid" in item:
            grid = facts.value(item["grid"])
            grid = grid if isinstance(grid, list) else [grid]
            if not any(_same(g, want) for g in grid):
                values = ", ".join(_key_part(g) for g in grid)
                off_grid.append(f"{_name(key)} = {_key_part(want)} (swept: {values})")
        got = facts.value(key)
        found.append(f"{_name(key)}={_key_part(got)}")
        if not _same(got, want):
            differ.append(f"{_name(key)} is {_key_part(got)}, not {_key_part(want)}")
    reproduced = ", ".join(found)
    if off_grid:
        return Outcome(NOT_COMPARABLE, reproduced, "the sweep did not try " + "; ".join(off_grid))
    if differ and _tied(fields, facts):
        n = int(facts.number(f"{fields['tie']}.tie_n"))
        why = (
            f"the claimed setting is within noise of the selected one ({'; '.join(differ)}): "
            f"both are in a tie of {n} settings the race could not separate"
        )
        return Outcome(HOLDS, reproduced, why)
    if differ:
        return Outcome(FAILS, reproduced, "; ".join(differ))
    return Outcome(HOLDS, reproduced, "the fastest setting of the sweep is the claimed one")


def _matches(fields: dict[str, Any], facts: Facts, spec: ClaimsFile) -> Outcome:
    key = fields["key"]
    original = spec.original[key]
    tolerance = spec.tolerances[fields["tolerance"]]
    reported = original["value"]
    allowed = max(tolerance.get("abs", 0.0), tolerance.get("rel", 0.0) * abs(reported))
    got = facts.number(key)
    gap = abs(got - reported)
    digits = max(original["digits"], facts.entry(key)["digits"] or 0)
    rule = f"tolerance {fields['tolerance']!r}" + (
        f": {tolerance['rel'] * 100:g} % of the reported value" if "rel" in tolerance else ""
    )
    ok = gap <= allowed
    why = (
        f"|{got:.{digits}f} - {reported:.{digits}f}| = {gap:.{digits}f} "
        f"{'<=' if ok else '>'} {allowed:.{digits}f} ({rule})"
    )
    return Outcome(HOLDS if ok else FAILS, facts.shown(key), why)


def _method_label(name: str) -> str:
    from dynatree.decoding.registry import METHODS

    return METHODS[name].label if name in METHODS else name


def _counted(per_method: dict[str, int]) -> str:
    """``DynaTree-CA: 1, Fixed tree: 2`` (methods in the order met)."""
    return ", ".join(f"{_method_label(m)}: {k}" for m, k in per_method.items() if k)


def _lossless(fields: dict[str, Any], facts: Facts, spec: ClaimsFile) -> Outcome:
    """What the verdict counts say (exact / tie / wrong per prompt, dynatree.bench.verdict; the
    same counts the exactness table prints): a wrong token fails the claim; a numerical tie of
    the target's logits does not, but is named with its method, so the verdict never reads
    "no output differs" while the table counts a differing one."""
    keys = fields["exact_keys"]
    runs = checked = 0
    counts = {"exact": 0, "tie": 0, "wrong": 0}
    ties: dict[str, int] = {}
    wrong: dict[str, int] = {}
    for exp in facts.value(fields["experiments"]):
        for method in fields["methods"]:
            if method not in facts.value(keys["methods"].format(exp=exp)):
                continue
            at = {name: template.format(exp=exp, method=method) for name, template in keys.items()}
            runs += int(facts.number(at["runs"]))
            n = int(facts.number(at["checked"]))
            checked += n
            if n == 0:
                continue
            for name in counts:
                counts[name] += int(facts.number(at[name]))
            ties[method] = ties.get(method, 0) + int(facts.number(at["tie"]))
            wrong[method] = wrong.get(method, 0) + int(facts.number(at["wrong"]))
    if not checked:
        return Outcome(NOT_COMPARABLE, "", f"no run of {', '.join(fields['methods'])} was checked")
    prompts = sum(counts.values())
    reproduced = (
        f"{counts['exact']} of {prompts} prompts token-identical, {counts['tie']} numerical "
        f"tie{'s' if counts['tie'] != 1 else ''}, {counts['wrong']} wrong ({checked} runs)"
    )
    unchecked = f"; {runs - checked} of {runs} runs had no AR reference" if checked < runs else ""
    if counts["wrong"]:
        why = (
            f"{counts['wrong']} output{'s' if counts['wrong'] != 1 else ''} differ from AR beyond "
            f"a numerical tie ({_counted(wrong)})"
        )
        return Outcome(FAILS, reproduced, why + unchecked)
    if counts["tie"]:
        why = (
            f"every output equals AR except {counts['tie']} numerical "
            f"tie{'s' if counts['tie'] != 1 else ''} ({_counted(ties)})"
        )
        return Outcome(HOLDS, reproduced, why + unchecked)
    return Outcome(HOLDS, reproduced, f"every output equals AR{unchecked}")


def _reported_pair(fields: dict[str, Any], spec: ClaimsFile) -> str | None:
    a, b = fields["keys"]
    if a in spec.original and b in spec.original:
        return f"{original_shown(spec, a)} vs {original_shown(spec, b)}"
    return None


def _reported_one(fields: dict[str, Any], spec: ClaimsFile) -> str | None:
    return original_shown(spec, fields["key"]) if fields["key"] in spec.original else None


def _reported_expect(fields: dict[str, Any], spec: ClaimsFile) -> str:
    return ", ".join(f"{_name(i['key'])}={_key_part(i['value'])}" for i in fields["expect"])


def original_shown(spec: ClaimsFile, key: str, with_std: bool = False) -> str:
    """The original paper's value of ``key`` as printed (``133.4 +/- 0.5 tok/s``)."""
    o = spec.original[key]
    value = shown(o["value"], o["unit"], o["digits"])
    if with_std and "std" in o:
        number, _, unit = value.partition(" ")
        return f"{number} +/- {o['std']:.{o['digits']}f} {unit}".rstrip()
    return value


@dataclass(frozen=True)
class Check:
    """A check kind: its claim kind, the claim fields it reads, how it runs, and how the
    original's side is shown (None: the claim's own ``reported`` text)."""

    kind: str
    fields: tuple[str, ...]
    run: Callable[[dict[str, Any], Facts, ClaimsFile], Outcome]
    reported: Callable[[dict[str, Any], ClaimsFile], str | None] = lambda fields, spec: None


CHECKS: dict[str, Check] = {
    "greater": Check("relative", ("keys",), _greater, _reported_pair),
    "above": Check("relative", ("key", "than"), _above, _reported_one),
    "increasing": Check("relative", ("series",), _increasing),
    "equals": Check("relative", ("expect",), _equals, _reported_expect),
    "lossless": Check("relative", ("experiments", "methods", "exact_keys"), _lossless),
    "matches": Check(
        "absolute",
        ("key", "tolerance"),
        _matches,
        lambda fields, spec: original_shown(spec, fields["key"], with_std=True),
    ),
}
