# Shared lookups for the rules in the other .smk files (the benchmark plan lives in
# workflow/lib/pipeline_plan.py), model locations, command-line fragments. Functions live here
# only, so the .smk files with rules stay declarative.

import json
import shlex
import sys
from pathlib import Path

from snakemake.exceptions import WorkflowError

sys.path.insert(0, str(Path(workflow.basedir) / "workflow" / "lib"))

from pipeline_plan import (  # noqa: E402
    EXPERIMENTS,
    FIGURE_TABLES,
    PlanError,
    bench_path,
    build_plan,
    fmt,
    prompts_path,
    select_path,
    table_path,
)

try:
    from dynatree.decoding.params import parse_params
    from dynatree.decoding.registry import decoder_source_files
    from dynatree.errors import UsageError
except ImportError as exc:
    raise WorkflowError(
        f"cannot import the dynatree package ({exc}); run the README's set-up command "
        "(pip install -e '.[pipeline]') in the environment that runs snakemake"
    ) from exc


def check_params(method, params):
    """Stop planning on an impossible decoder setting, naming the parameter (no job has run)."""
    try:
        parse_params(method, params)
    except UsageError as exc:
        raise WorkflowError(f"config: {method} parameters {params}: {exc}") from None


def check_embedded_settings():
    """A typo'd or impossible models.embedded key stops planning, not a long build."""
    from dynatree.models.settings import parse_settings

    try:
        parse_settings([f"{k}={fmt(v)}" for k, v in config["models"]["embedded"].items()])
    except UsageError as exc:
        raise WorkflowError(f"config: models.embedded: {exc}") from None


if config["models"]["source"] == "embedded":
    check_embedded_settings()
try:
    PLAN = build_plan(config, check_params)
except PlanError as exc:
    raise WorkflowError(f"config: {exc}") from None

PROTOCOL = config["protocol"]
DEVICE = PROTOCOL["device"]
GPUS = 0 if DEVICE == "cpu" else 1


def bench_threads(wildcards):
    """Timing jobs own the machine: by default a benchmark job reserves every core Snakemake was
    given, so no other job (benchmark or not) runs beside it. `bench_slot` keeps two apart even
    when protocol.threads is smaller (the default profile caps it at 1); `gpu` gives each its own
    device. A function, since --report and friends run without --cores.
    """
    return PROTOCOL["threads"] or workflow.cores


MODEL_SOURCE = config["models"]["source"]
MODEL_DIRS = {role: f"models/{MODEL_SOURCE}/{role}" for role in ("target", "draft")}
EMBEDDED_REPORT = "results/models/embedded_report.json"


def hub_model(role):
    return config["models"][role]


def bench_job(wildcards):
    key = (wildcards.experiment, wildcards.dataset, wildcards.method, wildcards.setting)
    try:
        return PLAN.jobs[key]
    except KeyError:
        raise WorkflowError(f"{bench_path(*key)} is not a job of this config's plan") from None


def bench_inputs(wildcards):
    """Models, prompts, the AR reference, a selected setting, and the decoder's source files."""
    job = bench_job(wildcards)
    inputs = {
        "target": MODEL_DIRS["target"],
        "draft": MODEL_DIRS["draft"],
        "prompts": prompts_path(job.dataset, job.l_max),
        "code": [str(p) for p in decoder_source_files(job.method)],
    }
    reference = PLAN.reference(job)
    if reference is not None:
        inputs["reference"] = reference.path
    if job.selected:
        inputs["params_file"] = select_path(job.dataset, job.method)
    return inputs


def bench_settings(wildcards):
    """Decoder parameters and tags as CLI flags (a config change reruns the job: params trigger)."""
    job = bench_job(wildcards)
    flags = [f"--set {shlex.quote(f'{k}={fmt(v)}')}" for k, v in sorted(job.params.items())]
    flags += [f"--tag {shlex.quote(f'{k}={fmt(v)}')}" for k, v in sorted(job.tags.items())]
    return " ".join(flags)


def bench_files(wildcards, input):
    """--reference / --params-file, present only for the jobs that have them."""
    flags = []
    if "reference" in input.keys():
        flags.append(f"--reference {shlex.quote(input.reference)}")
    if "params_file" in input.keys():
        flags.append(f"--params-file {shlex.quote(input.params_file)}")
    return " ".join(flags)


def sweep_results(wildcards):
    jobs = PLAN.sweeps.get((wildcards.dataset, wildcards.method))
    if not jobs:
        raise WorkflowError(f"no sweep results for {wildcards.method} on {wildcards.dataset}")
    return [job.path for job in jobs]


def min_tokens_flag(wildcards):
    value = config["datasets"][wildcards.dataset].get("min_tokens")
    return "" if value is None else f"--min-tokens {value}"


def embedded_settings():
    return " ".join(
        f"--set {shlex.quote(f'{k}={fmt(v)}')}"
        for k, v in sorted(config["models"]["embedded"].items())
    )


def figure_tables(wildcards):
    return [table_path(name) for name in FIGURE_TABLES[wildcards.name]]


def figure_source(wildcards):
    """The figure's own module (editing it reruns that figure and the paper, nothing else)."""
    import dynatree.figures

    package = Path(dynatree.figures.__file__).parent
    own = package / f"{wildcards.name}.py"
    shared = [p for p in sorted(package.glob("*.py")) if not p.stem.startswith(tuple(FIGURE_TABLES))]
    return [str(p) for p in [own, *shared] if p.exists()]


def numbers_inputs(wildcards):
    inputs = {"tables": [table_path(name) for name in EXPERIMENTS], "config": "results/config.json"}
    if MODEL_SOURCE == "embedded":
        inputs["embedded_report"] = EMBEDDED_REPORT
    return inputs


def numbers_flags(wildcards, input):
    if "embedded_report" in input.keys():
        return f"--embedded-report {shlex.quote(input.embedded_report)}"
    return ""


def resolved_config_text():
    return json.dumps(config, indent=2, sort_keys=True) + "\n"


def all_targets():
    return [
        "paper/dynatree.pdf",
        "results/numbers.json",
        *[table_path(name) for name in EXPERIMENTS],
        *[f"figures/{name}.pdf" for name in FIGURE_TABLES],
    ]


def paper_sources():
    """Templates, bibliography and style files under paper/ (not the build outputs)."""
    root = Path("paper")
    outputs = {root / "build", root / "dynatree.pdf"}
    return sorted(
        str(p)
        for p in root.rglob("*")
        if p.is_file() and not any(p == o or o in p.parents for o in outputs)
    )
