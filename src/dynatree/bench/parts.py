"""One benchmark job timed as several parts, run apart in time, and joined into one result.

Why: pairing each prompt with AR cancels a machine that is uniformly slower for a while, but
not one whose slowness changes the speedup itself. On a shared 2-core VM a job's AR time moved
by 9 % (sd) between runs, and the paired speedup of the same job moved with it (about 0.4 % per
1 % of AR time, 198 job pairs of three full runs): a job's minute of machine state sets its
mean. A job split into parts that the pipeline schedules apart averages over several such
states (workflow/rules/benchmarks.smk).

A part decodes the warm-up prompts (every process needs its own) and then one contiguous share
of the measured prompts; :func:`merge` keeps the first part's warm-up rows and every part's
measured rows, so the joined result reads exactly like one job over the whole prompt file, each
measured row marked with its ``part``: the intervals over them resample parts, then prompts
(dynatree.bench.stats).

A sweep's parts are racing rounds (dynatree.bench.selection): part I > 1 of a setting that the
decision after round I - 1 dropped (or of a race already decided) decodes nothing and writes a
*skip record* (:func:`skip_record`) in its place, so the pipeline still sees every part as an
output; :func:`merge` joins the parts that ran.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from dynatree.bench.metrics import summarize
from dynatree.bench.prompts import file_sha256, load_prompts
from dynatree.errors import UsageError

#: A racing round a setting did not run (docs/formats.md, "Skip record JSON").
SKIP_SCHEMA = "dynatree.bench-skip/1"

# Protocol fields that describe a part's share of the prompts; everything else must match.
_PART_PROTOCOL = ("n_prompts", "n_measured", "l_max", "part")
# What must be equal for two parts to be one measurement: the libraries and the hardware (a
# mean over different CPUs is nobody's speedup). Not the commit: Snakemake reruns the parts
# whose decoder changed, and each part's provenance is kept.
_SAME_PROVENANCE = ("dynatree", "torch", "transformers", "device_name")


def parse_part(text: str, option: str = "--part") -> tuple[int, int]:
    """``"I/K"`` -> (I, K) with 1 <= I <= K."""
    index, sep, count = text.partition("/")
    if not (sep and index.isdigit() and count.isdigit()) or not 1 <= int(index) <= int(count):
        raise UsageError(f"{option} {text!r}: expected I/K with 1 <= I <= K, e.g. 2/3")
    return int(index), int(count)


def part_prompts(prompts: list[Any], warmup: int, part: int, parts: int) -> list[Any]:
    """The prompts part ``part`` decodes: the warm-up ones, then its contiguous share of the
    rest (shares differ in size by at most one and together hold every measured prompt once)."""
    measured = prompts[warmup:]
    n = len(measured)
    if parts > n:
        raise UsageError(
            f"--part {part}/{parts}: more parts than the {n} measured prompts; "
            "use at most one part per measured prompt"
        )
    return prompts[:warmup] + measured[(part - 1) * n // parts : part * n // parts]


def racing(decision: dict[str, Any], setting: str, path: str) -> bool:
    """Whether ``setting`` still races after ``decision`` (a ``dynatree select --round``
    object read from ``path``): in its ``alive`` list and the race not decided."""
    alive = decision.get("alive")
    if not isinstance(alive, list) or "decided" not in decision:
        raise UsageError(f"--race {path}: not a racing decision (run dynatree select --round)")
    return setting in alive and not decision["decided"]


def skip_record(
    method: str, params: dict[str, Any], tags: dict[str, Any], part: str, decision: str
) -> dict[str, Any]:
    """What a part that did not race writes instead of a result (no model was loaded)."""
    return {
        "schema": SKIP_SCHEMA,
        "method": method,
        "params": params,
        "tags": tags,
        "protocol": {"part": part},
        "skipped": {"decision": decision},
    }


def _without(mapping: dict[str, Any], keys: tuple[str, ...]) -> dict[str, Any]:
    return {k: v for k, v in mapping.items() if k not in keys}


def _shared_protocol(protocol: dict[str, Any]) -> dict[str, Any]:
    """What every part of one job has in common: not its share of the prompts, nor the seconds
    its own warm-up took (``compile.compile_s``)."""
    shared = _without(protocol, _PART_PROTOCOL)
    if "compile" in shared:
        shared["compile"] = _without(shared["compile"], ("compile_s",))
    return shared


def _differences(result: dict[str, Any], first: dict[str, Any]) -> Iterator[tuple[str, Any, Any]]:
    """(field, value, the first part's value) wherever two parts are not one job's."""
    if result["method"] != first["method"]:
        yield "method", result["method"], first["method"]
    blocks = {
        "params": (result["params"], first["params"]),
        "tags": (result["tags"], first["tags"]),
        "models": (result["models"], first["models"]),
        "protocol": (_shared_protocol(result["protocol"]), _shared_protocol(first["protocol"])),
        "provenance": (
            {k: result["provenance"].get(k) for k in _SAME_PROVENANCE},
            {k: first["provenance"].get(k) for k in _SAME_PROVENANCE},
        ),
    }
    for name, (mine, theirs) in blocks.items():
        for key in sorted(mine.keys() | theirs.keys()):
            if mine.get(key) != theirs.get(key):
                yield f"{name}.{key}", mine.get(key), theirs.get(key)


def _check_shares(ordered: list[tuple[str, dict[str, Any]]], parts: int) -> None:
    """The parts that ran (parts 1, 2, ... of ``parts``; a race may stop a setting after any
    round) each hold their whole share (:func:`part_prompts`) of one prompt set: the same
    warm-up prompts, measured prompts no other part has, and as many as its share of the total.
    A part that lost measured rows (and says so consistently) would otherwise shrink the job
    to the prompts that are left."""
    measured = [[r["prompt_id"] for r in res["rows"] if not r["warmup"]] for _, res in ordered]
    first_path, first = ordered[0]
    warmup = [r["prompt_id"] for r in first["rows"] if r["warmup"]]
    seen: dict[str, str] = {}
    for (path, result), ids in zip(ordered, measured, strict=True):
        if [r["prompt_id"] for r in result["rows"] if r["warmup"]] != warmup:
            raise UsageError(
                f"--inputs {path}: its warm-up prompts differ from {first_path}'s; "
                "all parts must come from one job"
            )
        for prompt in ids:
            if prompt in seen:
                raise UsageError(
                    f"--inputs {path}: prompt {prompt!r} is also measured in {seen[prompt]}; "
                    "all parts must come from one job"
                )
            seen[prompt] = path
    protocol = first["protocol"]
    prompts = Path(str(protocol.get("prompts_path") or ""))
    expected = None
    if prompts.is_file() and file_sha256(prompts) == protocol["prompts_sha256"]:
        # The prompt file the parts decoded is at hand: they must hold its measured prompts.
        expected = [p.id for p in load_prompts(prompts)][protocol["warmup"] :]
    elif len(ordered) < parts:
        return  # a race stopped the job early and its total is not at hand
    joined = [prompt for ids in measured for prompt in ids]
    want = expected if expected is None or len(ordered) == parts else expected[: len(joined)]
    if want is not None and joined != want:
        missing = [prompt for prompt in want if prompt not in seen]
        what = f"lack {', '.join(missing[:3])} of" if missing else "hold out of order"
        raise UsageError(
            f"--inputs: the parts {what} the {len(expected)} measured prompts of {prompts} "
            f"(protocol.prompts_path); a part is incomplete or from another job: rerun it"
        )
    total = len(expected) if expected is not None else sum(map(len, measured))
    shares = [i * total // parts - (i - 1) * total // parts for i in range(1, parts + 1)]
    shares = shares[: len(ordered)]
    if list(map(len, measured)) != shares:
        raise UsageError(
            f"--inputs: the parts hold {'+'.join(str(len(ids)) for ids in measured)} measured "
            f"prompts, not the shares of {total} prompts among {parts} parts "
            f"({'+'.join(map(str, shares))}); a part is incomplete or from another job: rerun it"
        )


def merge(results: list[tuple[str, dict[str, Any]]]) -> dict[str, Any]:
    """One result from every part of one job (``(path, result)`` pairs, any order; a racing
    round's skip record stands for a part that did not run).

    Refuses parts of different jobs, libraries or hardware, and a missing or repeated part,
    naming the file; the summary is recomputed over the joined rows of the parts that ran.
    """
    by_part: dict[int, tuple[str, dict[str, Any]]] = {}
    split: tuple[int, str] | None = None  # (K, the first file): every part must say K
    for path, result in results:
        label = result.get("protocol", {}).get("part")
        if label is None:
            raise UsageError(f"--inputs {path}: not a part result (no protocol.part)")
        part, parts = parse_part(label, f"--inputs {path}: protocol.part")
        if part in by_part:
            raise UsageError(f"--inputs {path}: part {label} is also {by_part[part][0]}")
        by_part[part] = (path, result)
        split = split or (parts, path)
        if parts != split[0]:
            raise UsageError(
                f"--inputs {path}: part {label} of a job split {parts} ways, "
                f"{split[1]} one split {split[0]} ways; pass one job's parts"
            )
    if split is None:
        raise UsageError("--inputs: no part results given")
    parts = split[0]
    missing = sorted(set(range(1, parts + 1)) - set(by_part))
    if missing:
        raise UsageError(
            f"--inputs: parts {', '.join(f'{i}/{parts}' for i in missing)} missing; "
            "pass every part of the job"
        )
    ran = [i for i in range(1, parts + 1) if by_part[i][1].get("schema") != SKIP_SCHEMA]
    if not ran or ran[0] != 1:
        raise UsageError(f"--inputs {by_part[1][0]}: part 1/{parts} did not run; rerun it")
    first_path, first = by_part[1]
    for path, result in (by_part[i] for i in ran[1:]):
        for field, value, expected in _differences(result, first):
            raise UsageError(
                f"--inputs {path}: {field} {value!r} differs from {first_path}'s {expected!r}; "
                "all parts must come from one job on one machine"
            )
    _check_shares([by_part[i] for i in ran], parts)
    ordered = [by_part[i][1] for i in ran]
    rows = [row for row in first["rows"] if row["warmup"]]
    # each measured row says which part's process timed it: the clusters of its intervals
    rows += [
        {**row, "part": i}
        for i, result in zip(ran, ordered, strict=True)
        for row in result["rows"]
        if not row["warmup"]
    ]
    protocol = _without(first["protocol"], _PART_PROTOCOL)
    protocol.update(
        n_prompts=len(rows),
        n_measured=sum(not r["warmup"] for r in rows),
        l_max=max(result["protocol"]["l_max"] for result in ordered),
        parts=parts,
        parts_run=len(ran),
    )
    if "compile" in protocol:  # the job's warm-ups together
        seconds = sum(result["protocol"]["compile"].get("compile_s", 0.0) for result in ordered)
        protocol["compile"] = {**protocol["compile"], "compile_s": round(seconds, 3)}
    provenance = dict(first["provenance"])
    provenance["parts"] = [result["provenance"] for result in ordered]
    return {
        **first,
        "protocol": protocol,
        "rows": rows,
        "summary": summarize(rows),
        "provenance": provenance,
    }
