"""The pipeline config: read, validated against the schema (defaults filled), checked possible.

Everything here runs when Snakemake parses the workflow, before any job is planned, and every
failure is a :class:`ConfigError` whose message is one line naming the config keys and the fix:
a YAML syntax error gives its line, a schema violation its key path and what is allowed there
(not jsonschema's dump of the whole schema), and a config that is valid but impossible (no
measured prompt, prompts that cannot be as long as asked, prompts plus generation beyond the
models' context) stops ``snakemake -n`` instead of failing job by job hours later.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from config_schema import validate_config
from pipeline_plan import BASELINE, Plan, PlanError, build_plan, fmt, model_dir

from dynatree.data.lock import DataLock, read_lock
from dynatree.data.manifest import verify_local
from dynatree.data.prompts import MIN_PROMPT_TOKENS
from dynatree.decoding.registry import parse_params
from dynatree.decoding.support import fixed_positions, rope_switches
from dynatree.errors import UsageError
from dynatree.locate import position_limit
from dynatree.models.settings import EmbeddedSettings, parse_settings
from dynatree.validation import SchemaViolation


class ConfigError(ValueError):
    """The config cannot run; the message (one line) names the keys and the fix."""


def read_yaml(path: str | Path) -> dict[str, Any]:
    """A YAML mapping; a syntax error names the file, line and column."""
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except yaml.MarkedYAMLError as exc:
        mark, context = exc.problem_mark, exc.context_mark
        where = f" line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        started = f" ({exc.context} at line {context.line + 1})" if exc.context and context else ""
        raise ConfigError(f"{path}{where}: YAML syntax error: {exc.problem}{started}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: YAML syntax error: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping of config keys at the top level")
    return data


def prepare(config: dict[str, Any], schema: dict[str, Any] | None = None) -> Plan:
    """Validate ``config`` against ``schema`` (default: config_schema.load_schema(); defaults
    filled in place), check it is possible, return its plan.

    The one call the Snakefile makes before any rule is defined; every check that needs no job
    output is here, so ``snakemake -n`` rejects what would otherwise fail job by job.
    """
    try:
        validate_config(config, schema)
    except SchemaViolation as exc:
        raise ConfigError(f"config: {exc}") from None
    check_protocol(config)
    source = config["models"]["source"]
    embedded = embedded_settings(config) if source == "embedded" else None
    try:
        plan = build_plan(config, check_params)
    except PlanError as exc:
        raise ConfigError(f"config: {exc}") from None
    check_prompt_sets(config, plan, MIN_PROMPT_TOKENS)
    dirs = {role: model_dir(source, role) for role in ("target", "draft")}
    for limit in context_limits(embedded, dirs):
        check_context(config, plan, limit)
    return plan


# Where rule fetch_data puts the raw text it downloads (data.source: hub).
HUB_DATA_DIR = "data/hub"


@dataclass(frozen=True)
class DataSource:
    """Where this run's raw text comes from, decided before any job is planned."""

    source: str  # "local": data.dir as it is; "hub": rule fetch_data downloads into HUB_DATA_DIR
    dir: str  # the directory the rules read
    lock: DataLock
    note: str  # one line for the log: what was decided and why


def resolve_data(config: dict[str, Any]) -> DataSource:
    """Decide data.source ``auto`` (data.dir when it exists, else the Hub) and record the
    decision in ``config``; a local copy is checked against the lock's sums now, so a wrong file
    stops ``snakemake -n``, not a job. Reads no network."""
    data = config["data"]
    try:
        lock = read_lock(data["lock"], "config: data.lock")
    except UsageError as exc:
        raise ConfigError(str(exc)) from None
    asked = data["source"]
    local = Path(data["dir"])
    source = ("local" if local.is_dir() else "hub") if asked == "auto" else asked
    data["source"] = source
    why = f" (data.source auto: no local copy at data.dir {data['dir']})" if asked == "auto" else ""
    if source == "hub":
        note = f"data: the pinned sources of {data['lock']}, downloaded into {HUB_DATA_DIR}{why}"
        return DataSource("hub", HUB_DATA_DIR, lock, note)
    if not local.is_dir():
        raise ConfigError(
            f"config: data.source local: data.dir {data['dir']} is not a directory; put the "
            "offline copy there (README, Data), point data.dir at it, or set data.source: hub"
        )
    try:
        verify_local(local, lock, "config: data.dir")
    except UsageError as exc:
        raise ConfigError(str(exc)) from None
    note = f"data: the local copy at data.dir {data['dir']} (no download)"
    return DataSource("local", data["dir"], lock, note)


def check_params(method: str, params: dict[str, Any]) -> None:
    """An impossible decoder setting stops planning, naming the parameter."""
    try:
        parse_params(method, params)
    except UsageError as exc:
        raise ConfigError(f"config: {method} parameters {params}: {exc}") from None


def embedded_settings(config: dict[str, Any]) -> EmbeddedSettings:
    """models.embedded as the build will see it; a typo'd or impossible key stops planning,
    not a long build."""
    pairs = [f"{k}={fmt(v)}" for k, v in config["models"]["embedded"].items()]
    try:
        return parse_settings(pairs)
    except UsageError as exc:
        raise ConfigError(f"config: models.embedded: {exc}") from None


@dataclass(frozen=True)
class ContextLimit:
    """How many positions the models can use, and where that number comes from."""

    positions: int
    source: str  # e.g. "models.embedded.context_length" or ".../config.json"
    hard: bool  # False: beyond it the model still runs (protocol.beyond_context may allow it)
    exempt: tuple[str, ...] = ()  # methods that stay exact past it


def _l_max_key(config: dict[str, Any], dataset: str, l_max: int) -> str:
    if l_max == config["datasets"][dataset]["l_max"]:
        return f"datasets.{dataset}.l_max"
    return "experiments.prompt_length.l_max"


def _t_key(config: dict[str, Any], experiment: str, t: int) -> str:
    if t == config["protocol"]["max_new_tokens"]:
        return "protocol.max_new_tokens"
    return f"experiments.{experiment}.max_new_tokens"


def check_protocol(config: dict[str, Any]) -> None:
    """Settings that need no plan: at least one measured prompt in every experiment, and in
    every part of a job timed in parts."""
    protocol = config["protocol"]
    counts = {"protocol.n_prompts": protocol["n_prompts"]}
    split = []  # (experiment, parts, the key of its prompt count)
    for name, spec in config["experiments"].items():
        key = "protocol.n_prompts"
        if spec.get("n_prompts") is not None:
            key = f"experiments.{name}.n_prompts"
            counts[key] = spec["n_prompts"]
        split.append((name, spec.get("parts", 1), key))
    for key, n in counts.items():
        if protocol["warmup"] >= n:
            raise ConfigError(
                f"config: protocol.warmup {protocol['warmup']} must be < {key} {n} so that at "
                "least one prompt is measured"
            )
    for name, parts, key in split:
        measured = counts[key] - protocol["warmup"]
        if parts > measured:
            raise ConfigError(
                f"config: experiments.{name}.parts {parts} must be <= the {measured} measured "
                f"prompts ({key} {counts[key]} minus protocol.warmup) so every part measures one"
            )


def check_prompt_sets(config: dict[str, Any], plan: Plan, min_prompt_tokens: int) -> None:
    """Every prompt set the plan needs can be sampled: L_max not tiny, min_tokens <= L_max."""
    for dataset, l_max, _ in plan.prompt_sets:
        key = _l_max_key(config, dataset, l_max)
        if l_max < min_prompt_tokens:
            raise ConfigError(
                f"config: {key} {l_max} must be >= {min_prompt_tokens} tokens "
                "(dynatree data prompts --max-tokens)"
            )
        min_tokens = config["datasets"][dataset].get("min_tokens")
        if min_tokens is not None and min_tokens > l_max:
            raise ConfigError(
                f"config: datasets.{dataset}.min_tokens {min_tokens} > {key} {l_max}: no prompt "
                f"can be that long; lower min_tokens to at most {l_max}"
            )


def context_limits(
    embedded: EmbeddedSettings | None, model_dirs: dict[str, str]
) -> list[ContextLimit]:
    """The context limits that apply: for the embedded pair its trained context (soft) and its
    positions (hard); for Hub models, once fetched, the positions in their config.json (hard
    for a position table, dynatree.decoding.support.fixed_positions) and where the target's
    rotary embedding switches with the sequence length (support.rope_switches: hard, as the
    pipeline cannot know that every prompt lies past it)."""
    if embedded is not None:
        return [
            ContextLimit(
                embedded.context_length,
                "models.embedded.context_length, the embedded pair's trained context",
                hard=False,
            ),
            ContextLimit(
                embedded.max_position_embeddings,
                "models.embedded.max_position_embeddings",
                hard=True,
            ),
        ]
    limits = []
    for role, folder in model_dirs.items():
        config_json = Path(folder) / "config.json"
        if not config_json.is_file():
            continue
        model = read_json_config(config_json)
        limit = position_limit(model)
        if limit is not None:
            table = fixed_positions(model)
            why = f", and {table}" if table else ""
            limits.append(
                ContextLimit(limit[1], f"{limit[0]} of {config_json}{why}", hard=bool(table))
            )
        if role != "target":
            continue  # only the target's rotation decides the tokens
        for kind, at, key, rule in rope_switches(model):
            limits.append(
                ContextLimit(
                    at,
                    f"{key} of {config_json}, where its {kind} rotary embedding switches and "
                    "no cached decoder is exact across",
                    hard=True,
                    exempt=rule.exact,
                )
            )
    return limits


def read_json_config(path: Path) -> dict[str, Any]:
    """A fetched model's config.json; unreadable: a one-line error."""
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(
            f"{path}: unreadable ({exc}); fetch the model again (delete {path.parent})"
        ) from None
    if not isinstance(config, dict):
        raise ConfigError(
            f"{path}: not a JSON object; fetch the model again (delete {path.parent})"
        )
    return config


def check_context(config: dict[str, Any], plan: Plan, limit: ContextLimit) -> None:
    """Prompt + T fits ``limit`` for every job (drafts never reach further: the drafter caps a
    tree at the tokens still to come); with protocol.beyond_context and a soft limit, only the
    prompt must fit."""
    prompt_only = config["protocol"]["beyond_context"] and not limit.hard
    for job in plan.jobs.values():
        if job.experiment == BASELINE or job.method in limit.exempt:
            continue  # every baseline serves a speculative job with the same prompts and T
        terms = {f"{_l_max_key(config, job.dataset, job.l_max)} {job.l_max}": job.l_max}
        if not prompt_only:
            t_key = _t_key(config, job.experiment, job.max_new_tokens)
            terms[f"{t_key} {job.max_new_tokens}"] = job.max_new_tokens
        need = sum(terms.values())
        if need > limit.positions:
            fix = "" if limit.hard or prompt_only else ", or set protocol.beyond_context: true"
            raise ConfigError(
                f"config: {' + '.join(terms)} = {need} > {limit.positions} positions "
                f"({limit.source}); lower them{fix}"
            )
