"""Claims × numbers.json → one verdict row per claim.

A claim is first checked for comparability (the facts of every profile it ``requires``: an
absolute value means nothing on other models or hardware), then expanded over ``for_each`` (one
evaluation per dataset the experiment ran on, say), then run by its check kind. A key the check
needs that numbers.json lacks makes the claim "not comparable", naming the key.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Any

from dynatree.claims.checks import CHECKS, FAILS, HOLDS, NOT_COMPARABLE, Absent, Facts, Outcome
from dynatree.claims.records import Claim, ClaimsFile


@dataclass(frozen=True)
class Row:
    """One line of claims.csv (docs/formats.md)."""

    claim: str
    label: str
    kind: str
    where: str
    text: str
    reported: str
    reproduced: str
    verdict: str
    why: str
    keys: str
    sources: str


def _fact_matches(value: Any, fact: dict[str, Any]) -> bool:
    if "contains" in fact:
        return isinstance(value, str) and fact["contains"].lower() in value.lower()
    want = fact["equals"]
    if isinstance(value, int | float) and isinstance(want, int | float):
        return math.isclose(float(value), float(want))
    return value == want


def differences(spec: ClaimsFile, profiles: list[str], facts: Facts) -> list[str]:
    """The facts of ``profiles`` this run does not share with the original, as "what ours vs
    theirs"; empty when the run uses the original's protocol."""
    out = []
    for name in profiles:
        for fact in spec.comparable[name]["facts"]:
            want = fact.get("equals", fact.get("contains"))
            key = next((k for k in fact["keys"] if facts.has(k)), None)
            if key is None:
                out.append(f"{fact['what']} not recorded vs {want}")
                continue
            value = facts.value(key)
            if isinstance(value, list) or not _fact_matches(value, fact):
                shown = ", ".join(map(str, value)) if isinstance(value, list) else value
                out.append(f"{fact['what']} {shown} vs {want}")
    return out


class _Keep(dict):
    """str.format_map mapping that leaves placeholders it does not know (``{T}``) in place."""

    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def _substitute(obj: Any, names: dict[str, Any]) -> Any:
    if isinstance(obj, str):
        return obj.format_map(_Keep(names))
    if isinstance(obj, list):
        return [_substitute(v, names) for v in obj]
    if isinstance(obj, dict):
        return {k: _substitute(v, names) for k, v in obj.items()}
    return obj


def instances(claim: Claim, facts: Facts) -> list[tuple[str, dict[str, Any]]]:
    """The claim's fields once per ``for_each`` combination, placeholders filled, each with a
    label ("wikitext"); a single unlabelled instance without ``for_each``. Raises
    :class:`Absent` when a list it iterates over is not in numbers.json."""
    axes = []
    for name, source in claim.fields.get("for_each", {}).items():
        values = facts.value(source) if isinstance(source, str) else source
        axes.append([(name, v) for v in (values if isinstance(values, list) else [values])])
    return [
        ("/".join(str(v) for _, v in combo), _substitute(claim.fields, dict(combo)))
        for combo in itertools.product(*axes)
    ]


def _combine(parts: list[tuple[str, Outcome]]) -> Outcome:
    """Several evaluations of one claim: it holds only where every one holds."""
    if len(parts) == 1:
        return parts[0][1]
    verdicts = {o.verdict for _, o in parts}
    verdict = next((v for v in (FAILS, NOT_COMPARABLE) if v in verdicts), HOLDS)
    return Outcome(
        verdict,
        "; ".join(f"{label}: {o.reproduced}" for label, o in parts if o.reproduced),
        "; ".join(f"{label}: {o.why}" for label, o in parts),
    )


def _absent(key: str) -> str:
    return f"numbers.json has no {key} (experiment not run, or the value was not recorded)"


def _outcome(claim: Claim, spec: ClaimsFile, facts: Facts) -> Outcome:
    requires = claim.fields.get("requires", [])
    differ = differences(spec, requires, facts)
    if differ:
        return Outcome(
            NOT_COMPARABLE,
            "",
            f"this run differs from the original's {' and '.join(requires)} (this run vs "
            "original): " + "; ".join(differ),
        )
    try:
        todo = instances(claim, facts)
    except Absent as exc:
        return Outcome(NOT_COMPARABLE, "", _absent(exc.key))
    if not todo:
        return Outcome(NOT_COMPARABLE, "", "the experiment ran on no dataset")
    parts = []
    for label, fields in todo:
        try:
            result = CHECKS[claim.check].run(fields, facts, spec)
        except Absent as exc:
            result = Outcome(NOT_COMPARABLE, "", _absent(exc.key))
        parts.append((label, result))
    return _combine(parts)


def evaluate_claim(claim: Claim, spec: ClaimsFile, numbers: dict[str, dict[str, Any]]) -> Row:
    facts = Facts(numbers)
    outcome = _outcome(claim, spec, facts)
    reported = CHECKS[claim.check].reported(claim.fields, spec)
    return Row(
        claim=claim.id,
        label=claim.label,
        kind=claim.kind,
        where=claim.where,
        text=claim.text,
        reported=reported or claim.fields.get("reported", "stated"),
        reproduced=outcome.reproduced,
        verdict=outcome.verdict,
        why=outcome.why,
        keys=";".join(facts.used),
        sources=";".join(facts.sources()),
    )


def evaluate(spec: ClaimsFile, numbers: dict[str, dict[str, Any]]) -> list[Row]:
    """Every claim of ``spec`` against ``numbers`` (the "numbers" mapping of numbers.json)."""
    return [evaluate_claim(claim, spec, numbers) for claim in spec.claims]
