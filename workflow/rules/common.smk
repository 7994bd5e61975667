# Shared lookups for the rules in the other .smk files (the benchmark plan, PLAN, comes from
# workflow/lib/pipeline_plan.py via the Snakefile's config checks), model locations,
# command-line fragments. Functions live here only, so the .smk files with rules stay
# declarative.

import dataclasses
import functools
import hashlib
import json
import os
import shlex
from pathlib import Path

from snakemake.exceptions import WorkflowError

from pipeline_config import HUB_DATA_DIR
from pipeline_plan import (
    EXPERIMENTS,
    FIGURE_FILES,
    FIGURE_TABLES,
    bench_path,
    compile_flag,
    fmt,
    model_dir,
    profile_path,
    race_path,
    select_path,
    table_path,
)

from dynatree.decoding.registry import METHODS, decoder_source_files, uses_profile

MODEL_SOURCE = config["models"]["source"]
MODEL_DIRS = {role: model_dir(MODEL_SOURCE, role) for role in ("target", "draft")}
EMBEDDED_REPORT = "results/models/embedded_report.json"
PROTOCOL = config["protocol"]
DEVICE = PROTOCOL["device"]
GPUS = 0 if DEVICE == "cpu" else 1
# The verify-cost profile of this run's model pair, device, dtype and threads ("all": every core
# given to snakemake), in the protocol's regime; the methods that price their trees read it, and
# so do the tables. Jobs of an explicit regime (experiments.regimes) read that regime's profile.
PROFILE_STEM = "{}-{}-{}-t{}".format(
    MODEL_SOURCE, DEVICE, PROTOCOL["dtype"], PROTOCOL["threads"] or "all"
)
PROFILE = profile_path(PROFILE_STEM, None)


def job_profile(regime):
    """The cost profile a job of ``regime`` (None: the protocol's) prices with."""
    return profile_path(PROFILE_STEM, regime)


def table_profiles(experiment):
    """The profiles of every regime an experiment's jobs run in (their predicted speedups)."""
    regimes = {job.regime for job in PLAN.experiments[experiment]}
    return [job_profile(r) for r in sorted(regimes, key=lambda r: r or "")]


def bench_compile(wildcards):
    """--compile of a benchmark job: its explicit regime's, else protocol.compile."""
    return compile_flag(bench_job(wildcards).regime, PROTOCOL)


def data_fingerprint(directory: str) -> str:
    """sha256 over the raw-text directory's file names and contents (0.1 s for the 67 MB
    offline set), a param of the rules that read it: an edited, added or removed file reruns
    them (Snakemake's params trigger). Their input is the directory as ``ancient``, so a copy
    with new times (a re-download, a restored backup, a re-mounted share) does not rebuild the
    embedded models and, after them, every benchmark. A missing directory is left to
    Snakemake's missing-input error."""
    root = Path(directory)
    digest = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        digest.update(path.relative_to(root).as_posix().encode() + b"\0")
        digest.update(path.read_bytes())
    return digest.hexdigest()


def lock_fingerprint(lock) -> str:
    """sha256 of the lock's pins (repositories, commits, files and sums; not its comments): a
    param of the rules that download or read a download, so a new pin reruns them."""
    pins = {name: dataclasses.asdict(ds) for name, ds in sorted(lock.datasets.items())}
    return hashlib.sha256(json.dumps(pins, sort_keys=True).encode()).hexdigest()


# The raw text that prompts and the embedded build read, as resolve_data decided (Snakefile).
# A local copy is compared by content (data_fingerprint) and read as it is; a download is the
# output of fetch_data, rerun when the lock's pins change.
DATA_DIR = DATA.dir
DATA_LOCK = config["data"]["lock"]
if DATA.source == "local":
    DATA_INPUT = ancient(DATA_DIR)
    DATA_FINGERPRINT = data_fingerprint(DATA_DIR)
else:
    DATA_INPUT = DATA_DIR
    DATA_FINGERPRINT = lock_fingerprint(DATA.lock)
DATA_MANIFEST = "results/data/manifest.json"


def bench_threads(wildcards):
    """Timing jobs own the machine: a benchmark or profile job reserves every core Snakemake was
    given, so no other job (benchmark or not) runs beside it, however few threads torch uses
    there (torch_threads). `bench_slot` keeps two timing jobs apart (the default profile caps it
    at 1); `gpu` gives each its own device. A function, since --report and friends run without
    --cores. The SLURM profile pins it per job instead (set-threads).
    """
    return workflow.cores


def torch_threads(wildcards, threads):
    """torch's thread count in a timing job: protocol.threads, else every core the job holds."""
    return PROTOCOL["threads"] or threads


def hub_model(role):
    return config["models"][role]


def bench_job(wildcards):
    key = (wildcards.experiment, wildcards.dataset, wildcards.method, wildcards.setting)
    try:
        return PLAN.jobs[key]
    except KeyError:
        raise WorkflowError(f"{bench_path(*key)} is not a job of this config's plan") from None


def relative(paths):
    """Source files of this checkout as job inputs: relative to the working directory, as every
    other input is. Snakemake records a job's set of inputs; with absolute paths a complete copy
    of a finished checkout at another path (cp -a, a restored backup, another mount point) would
    see every set changed and rerun every job."""
    here = Path.cwd().resolve()
    return [os.path.relpath(Path(p).resolve(), here) for p in paths]


@functools.cache
def decoder_sources(method):
    """The decoder's source files (inputs of its jobs), looked up once per method."""
    return tuple(relative(decoder_source_files(method)))


# The experiments whose jobs run in parts, as the merge rule's wildcard constraint (a pattern
# that matches nothing when none does, so every result then comes from rule bench).
SPLIT_EXPERIMENTS = "|".join(PLAN.split_experiments) or "(?!)"


def bench_part_flag(wildcards):
    """--part I/K in a part of a split job (rule bench_part), nothing in a whole job."""
    if "part" not in wildcards.keys():
        return ""
    return f"--part {wildcards.part}/{bench_job(wildcards).parts}"


def bench_priority(wildcards):
    """Part I of every split job runs before part I+1 of any (whole jobs rank with part 1), so
    a job's parts are timed minutes apart, in different stretches of the machine's state."""
    return 1 - int(wildcards.get("part", 1))


def bench_inputs(wildcards):
    """Models, prompts, the AR reference, a selected setting, and the decoder's source files."""
    job = bench_job(wildcards)
    inputs = {
        "target": MODEL_DIRS["target"],
        "draft": MODEL_DIRS["draft"],
        "prompts": job.prompts,
        "code": list(decoder_sources(job.method)),
    }
    reference = PLAN.reference(job)
    if reference is not None:
        inputs["reference"] = reference.path
    if uses_profile(job.method):
        inputs["profile"] = job_profile(job.regime)
    if job.selected:
        inputs["params_file"] = select_path(job.dataset, job.method)
    race = job.race_input(int(wildcards.get("part", 1)))
    if race is not None:
        inputs["race"] = race
    return inputs


def assignment_flags(flag, values):
    """``flag key=value`` per entry of ``values``, sorted by key, each shell-quoted."""
    return [f"{flag} {shlex.quote(f'{k}={fmt(v)}')}" for k, v in sorted(values.items())]


def shared_source(wildcards):
    """The result a shared job copies (the job timed in its place)."""
    job = bench_job(wildcards)
    if job.same_as is None:
        raise WorkflowError(f"{job.path} is timed, not shared")
    return PLAN.jobs[job.same_as].path


def shared_tags(wildcards):
    return " ".join(assignment_flags("--tag", bench_job(wildcards).tags))


def bench_settings(wildcards):
    """Decoder parameters, tags and protocol.beyond_context as CLI flags (a config change reruns
    the job: params trigger; the flag only when set, so the default changes nothing)."""
    job = bench_job(wildcards)
    flags = assignment_flags("--set", job.params) + assignment_flags("--tag", job.tags)
    if PROTOCOL["beyond_context"]:
        flags.append("--beyond-context")
    return " ".join(flags)


def bench_pairing(wildcards):
    """--paired for speculative jobs when protocol.paired (AR jobs are the baseline itself)."""
    return "--paired" if PROTOCOL["paired"] and wildcards.method != "ar" else ""


def bench_files(wildcards, input):
    """--reference / --params-file / the profile / a racing decision, present only for the jobs
    that have them."""
    flags = []
    if "profile" in input.keys():
        flags.append(f"--set profile={shlex.quote(input.profile)}")
    if "reference" in input.keys():
        flags.append(f"--reference {shlex.quote(input.reference)}")
    if "params_file" in input.keys():
        flags.append(f"--params-file {shlex.quote(input.params_file)}")
    if "race" in input.keys():
        flags.append(f"--race {shlex.quote(input.race)}")
    return " ".join(flags)


def sweep_results(wildcards):
    """Every round of every setting of the sweep (parts, skip records included, when it races;
    else the whole results): select replays the race from them."""
    if (wildcards.dataset, wildcards.method) not in PLAN.sweeps:
        raise WorkflowError(f"no sweep results for {wildcards.method} on {wildcards.dataset}")
    return PLAN.race_inputs(wildcards.dataset, wildcards.method)


def race_round_results(wildcards):
    """Rounds 1..I of every setting of a racing sweep (the decision after round I reads them)."""
    key = (wildcards.dataset, wildcards.method)
    if key not in PLAN.sweeps or not 1 <= int(wildcards.round) < PLAN.sweep_rounds(*key):
        raise WorkflowError(f"{race_path(*key, wildcards.round)} is not a round of this config")
    return PLAN.race_inputs(*key, int(wildcards.round))


def race_round_flag(wildcards):
    return f"--round {wildcards.round}/{PLAN.sweep_rounds(wildcards.dataset, wildcards.method)}"


def min_tokens_flag(wildcards):
    value = config["datasets"][wildcards.dataset].get("min_tokens")
    return "" if value is None else f"--min-tokens {value}"


def embedded_settings():
    return " ".join(assignment_flags("--set", config["models"]["embedded"]))


def figure_tables(wildcards):
    return [table_path(name) for name in FIGURE_TABLES[wildcards.name]]


# A GPU device check committed to the repository (benchmarks/device_check.py), newest name last.
GPU_CHECKS = sorted(str(p) for p in Path("results/device").glob("*.json"))


def figure_files(wildcards):
    """The named JSON inputs of figures that read some (FIGURE_FILES): profile, a GPU check."""
    available = {"profile": PROFILE, **({"gpu": GPU_CHECKS[-1]} if GPU_CHECKS else {})}
    return {n: available[n] for n in FIGURE_FILES.get(wildcards.name, ()) if n in available}


def figure_file_flags(wildcards, input):
    return " ".join(
        f"--file {name}={shlex.quote(input[name])}"
        for name in FIGURE_FILES.get(wildcards.name, ())
        if name in input.keys()
    )


def figure_source(wildcards):
    """The figure's own module (editing it reruns that figure and the paper, nothing else)."""
    import dynatree.figures

    package = Path(dynatree.figures.__file__).parent
    own = package / f"{wildcards.name}.py"
    shared = [p for p in sorted(package.glob("*.py")) if not p.stem.startswith(tuple(FIGURE_TABLES))]
    return relative(p for p in [own, *shared] if p.exists())


def numbers_inputs(wildcards):
    inputs = {
        "tables": [table_path(name) for name in EXPERIMENTS],
        "config": "results/config.json",
        "profile": [job_profile(r) for r in PLAN.regimes],
        "data_manifest": DATA_MANIFEST,
    }
    if MODEL_SOURCE == "embedded":
        inputs["embedded_report"] = EMBEDDED_REPORT
    if GPU_CHECKS:
        inputs["device_check"] = GPU_CHECKS[-1]
    if PLAN.selections:
        inputs["selections"] = [select_path(*key) for key in PLAN.selections]
    return inputs


def numbers_flags(wildcards, input):
    """The optional inputs as flags: the build report, the profiles, a committed GPU check, the
    data manifest."""
    flags = {
        "embedded_report": "--embedded-report",
        "profile": "--profile",
        "device_check": "--device-check",
        "data_manifest": "--data-manifest",
        "selections": "--selections",
    }
    parts = []
    for key, flag in flags.items():
        if key in input.keys():
            paths = [input[key]] if isinstance(input[key], str) else list(input[key])
            parts.append(" ".join([flag, *(shlex.quote(p) for p in paths)]))
    return " ".join(parts)


CLAIMS_FILE = "config/claims.yaml"


def claims_source():
    """The claims checker's modules and the numbers.json reader and formatter it prints values
    with (editing one reruns the check and the paper)."""
    import dynatree.claims
    import dynatree.numbers_file

    modules = sorted(Path(dynatree.claims.__file__).parent.glob("*.py"))
    return relative([*modules, Path(dynatree.numbers_file.__file__)])


def resolved_config_text():
    """This run's settings (stability_runs names other runs to compare: not one of them)."""
    own = {k: v for k, v in config.items() if k != "stability_runs"}
    return json.dumps(own, indent=2, sort_keys=True) + "\n"


def stability_inputs(wildcards):
    """The stability rule's inputs, each run's claims and numbers (select/ is read beside)."""
    runs = config["stability_runs"]
    if len(runs) < 2:
        raise WorkflowError(
            "stability (the rule) needs two or more finished runs' results/ directories, e.g. "
            "--config stability_runs='[../run1/results, results]'"
        )
    return [f"{run.rstrip('/')}/{name}" for run in runs for name in ("claims.csv", "numbers.json")]


def all_targets():
    return [
        "paper/dynatree.pdf",
        "results/numbers.json",
        "results/claims.csv",
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


def default_params(method):
    """A method's parameters with nothing set (the values its jobs use for unset keys)."""
    from dynatree.decoding.params import params_dict
    from dynatree.decoding.registry import parse_params

    return params_dict(parse_params(method, {}))


def profile_sources():
    """The measuring code and the decoding code it times: editing either remeasures."""
    import dynatree.bench
    import dynatree.decoding

    measuring = [
        Path(dynatree.decoding.__file__).parent / "profiling.py",
        Path(dynatree.bench.__file__).parent / "profile_cli.py",
    ]
    return [*relative(measuring), *decoder_sources("dynatree")]
