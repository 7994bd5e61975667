"""Every benchmark job the pipeline runs, expanded once from the validated config.

The Snakemake rules stay declarative: a job is named by its wildcards (experiment, dataset,
method, setting) and everything else (decoder parameters, prompts, the AR reference, whether its
parameters come from a selection) is looked up here. Keeping the expansion in plain Python lets
the tests check the plan itself (job counts, AR sharing, selection wiring) without Snakemake.

Conventions (docs/formats.md has the file formats):

- One AR job per (dataset, L_max, T, prompt count), experiment ``baseline``; every speculative job
  with the same prompts and T takes it as ``--reference`` and every table that shows such a job
  includes it, so speedups and exactness always refer to the same greedy run.
- A prompt set is (dataset, L_max, n): the main table may be timed on more prompts than the other
  experiments (``experiments.main.n_prompts``), since run-to-run noise of its mean speedups
  shrinks with the prompts measured. The sampler takes a seeded shuffle's first n documents, so
  the smaller set is the larger one's first n prompts.
- A job may be timed in parts (``experiments.main.parts``): K jobs under ``results/bench_parts``,
  each the warm-up prompts plus one share of the measured ones, scheduled apart and merged into
  the job's own result file (dynatree.bench.parts says why), so nothing downstream sees parts.
- The main table's ``linear`` K and ``fixed_tree`` setting are *selected* per dataset from the
  sweeps by the ``select_setting`` rule; jobs marked ``selected`` read that file via
  ``--params-file`` (the same selected setting serves length scaling and prompt length).
- Jobs run in the protocol's regime (``protocol.compile``: eager or compiled forwards) unless
  they name one (``regime``: the ``regimes`` experiment runs its comparison in both); a job of
  an explicit regime has AR baselines and a cost profile of that regime, so its speedups and
  predictions always refer to the AR of its own regime.
- A sweep timed in parts *races* (dynatree.bench.selection): its parts are rounds, and part I > 1
  of every setting reads the decision after round I - 1 (``race_round``, ``--race``), decoding
  its share only while the setting is still in the race (else it writes a skip record). The
  number of rounds is fixed by the config, so every timed job is a rule output known before the
  run (a checkpoint would re-plan the DAG mid-run, which dry runs and a SLURM submission of the
  whole DAG cannot show); a dropped setting's later rounds cost a process start each.
- A job that measures exactly what an earlier one does (same method, parameters or selection,
  prompts, T and parts; e.g. a sensitivity point at the default setting, the ablation's full
  DynaTree on the main table's prompts) is not timed again: it *shares* that job's result, copied
  under its own tags (``share_result``, ``results/shared/``), so its table reads as before and
  the copy names the job it came from. Experiments are expanded in their declared order, so
  the first declaration times.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from dynatree.experiments import EXPERIMENTS as _EXPERIMENTS
from dynatree.experiments import variant_names
from dynatree.figures.registry import FIGURE_FILES, FIGURES  # noqa: F401  (the rules' lookups)

BASELINE = "baseline"
REGIMES = ("eager", "compiled")  # decoding.regime.Regime.name
SELECTABLE = ("linear", "fixed_tree")  # methods whose main setting comes from a sweep
SWEEP_OF = {"linear": "linear_sweep", "fixed_tree": "fixed_tree_sweep"}
EXPERIMENTS = tuple(_EXPERIMENTS)  # each has a same-named method of _Builder below
# Figures (DESIGN.md §3) and the tables each one reads; schematics are drawn from code alone.
FIGURE_TABLES: dict[str, tuple[str, ...]] = FIGURES


def fmt(value: Any) -> str:
    """A parameter value as the CLI and the file names spell it (``true``, ``0.1``, ``8``)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


@dataclass(frozen=True)
class BenchJob:
    """One ``dynatree bench`` run: one method, one setting, one prompt set, one T."""

    experiment: str
    dataset: str
    method: str
    setting: str
    l_max: int
    max_new_tokens: int
    n_prompts: int
    params: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)
    selected: bool = False
    extra_tags: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)
    parts: int = 1
    regime: str | None = None  # None: protocol.compile decides; else one of REGIMES
    races: bool = False  # a sweep's parts are racing rounds (module docstring)
    # The job timed in its place when an earlier job measures the same thing (module docstring).
    same_as: tuple[str, str, str, str] | None = field(default=None, compare=False)

    @property
    def key(self) -> tuple[str, str, str, str]:
        return (self.experiment, self.dataset, self.method, self.setting)

    @property
    def path(self) -> str:
        return bench_path(*self.key) if self.same_as is None else shared_path(*self.key)

    @property
    def part_paths(self) -> list[str]:
        """The part results merged into :attr:`path` (none for a job run whole or shared)."""
        if self.parts == 1 or self.same_as is not None:
            return []
        return [part_path(*self.key, i) for i in range(1, self.parts + 1)]

    @property
    def measures(self) -> tuple[Any, ...]:
        """What the job times: two jobs with equal values measure the same thing."""
        params = tuple(sorted((k, fmt(v)) for k, v in self.params.items()))
        return (self.dataset, self.method, params, self.selected, self.l_max,
                self.max_new_tokens, self.n_prompts, self.parts, self.regime)  # fmt: skip

    def race_input(self, part: int) -> str | None:
        """The decision part ``part`` of a racing job reads (None for round 1 or no race)."""
        return race_path(self.dataset, self.method, part - 1) if self.races and part > 1 else None

    @property
    def ar_key(self) -> tuple[str, int, int, int, str | None]:
        return (self.dataset, self.l_max, self.max_new_tokens, self.n_prompts, self.regime)

    @property
    def prompts(self) -> str:
        return prompts_path(self.dataset, self.l_max, self.n_prompts)

    @property
    def tags(self) -> dict[str, Any]:
        return {
            "dataset": self.dataset,
            "experiment": self.experiment,
            "setting": self.setting,
            **self.extra_tags,
        }


def model_dir(source: str, role: str) -> str:
    """Where the target or draft of ``models.source`` lives (fetched or built)."""
    return f"models/{source}/{role}"


def bench_path(experiment: str, dataset: str, method: str, setting: str) -> str:
    return f"results/bench/{experiment}/{dataset}/{method}/{setting}.json"


def shared_path(experiment: str, dataset: str, method: str, setting: str) -> str:
    """A job's copy of the result of the job that measured the same thing (``same_as``)."""
    return f"results/shared/{experiment}/{dataset}/{method}/{setting}.json"


def part_path(experiment: str, dataset: str, method: str, setting: str, part: int) -> str:
    return f"results/bench_parts/{experiment}/{dataset}/{method}/{setting}/part{part}.json"


def prompts_path(dataset: str, l_max: int, n_prompts: int) -> str:
    return f"results/prompts/{dataset}_L{l_max}_n{n_prompts}.jsonl"


def profile_path(stem: str, regime: str | None) -> str:
    """The cost profile of the protocol's regime (``stem``), or of an explicit ``regime``."""
    return f"results/profile/{stem}{'' if regime is None else '-' + regime}.json"


def compile_setting(protocol: dict[str, Any]) -> str:
    """``protocol.compile`` (true, false, null) as ``--compile`` spells it (on, off, auto)."""
    return {True: "on", False: "off", None: "auto"}[protocol["compile"]]


def compile_flag(regime: str | None, protocol: dict[str, Any]) -> str:
    """``--compile`` of a job: its explicit regime's, else the protocol's setting."""
    return {"eager": "off", "compiled": "on"}.get(regime or "", compile_setting(protocol))


def protocol_regime(protocol: dict[str, Any]) -> str | None:
    """The regime ``protocol.compile`` gives on ``protocol.device`` (decoding.regime.resolve),
    None where only the machine can tell (``auto`` on an ``auto`` device)."""
    setting, device = compile_setting(protocol), protocol["device"]
    if setting == "auto" and device == "auto":
        return None
    compiled = setting == "on" or (setting == "auto" and device == "cuda")
    return REGIMES[compiled]


def select_path(dataset: str, method: str) -> str:
    return f"results/select/{dataset}/{method}.json"


def race_path(dataset: str, method: str, round_: int) -> str:
    """The racing decision after round ``round_`` of a sweep (``dynatree select --round``)."""
    return f"results/select/{dataset}/{method}/round{round_}.json"


def table_path(experiment: str) -> str:
    return f"results/aggregate/{experiment}.csv"


class PlanError(ValueError):
    """The config is valid against the schema but describes an impossible plan."""


@dataclass
class Plan:
    """All benchmark jobs, indexed the ways the rules need them."""

    jobs: dict[tuple[str, str, str, str], BenchJob] = field(default_factory=dict)
    experiments: dict[str, list[BenchJob]] = field(default_factory=dict)
    sweeps: dict[tuple[str, str], list[BenchJob]] = field(default_factory=dict)
    timed: dict[tuple[Any, ...], BenchJob] = field(default_factory=dict)  # by what they measure

    def add(self, job: BenchJob) -> BenchJob:
        """Register ``job`` (AR baselines once, however many experiments share them); a job
        that measures what an earlier timed one does shares its result (module docstring)."""
        existing = self.jobs.get(job.key)
        if existing is not None:
            if job.experiment != BASELINE:
                raise PlanError(f"two settings of {job.experiment} are both labelled {job.key}")
            return existing
        if job.method != "ar" and not job.races:
            timed = self.timed.setdefault(job.measures, job)
            if timed is not job and not timed.races:
                job = dataclasses.replace(job, same_as=timed.key)
        self.jobs[job.key] = job
        return job

    @property
    def shared(self) -> list[BenchJob]:
        """Jobs that copy another job's result instead of being timed."""
        return [job for job in self.jobs.values() if job.same_as is not None]

    def ar(
        self,
        dataset: str,
        l_max: int,
        max_new_tokens: int,
        n_prompts: int,
        regime: str | None = None,
    ) -> BenchJob:
        """The shared AR baseline for these prompts, this T and this regime."""
        key = bench_key_of_ar(dataset, l_max, max_new_tokens, n_prompts, regime)
        tags = {"l_max": l_max}
        return self.add(
            BenchJob(*key, l_max, max_new_tokens, n_prompts, extra_tags=tags, regime=regime)
        )

    def reference(self, job: BenchJob) -> BenchJob | None:
        """The AR result ``job`` is checked against (None for AR jobs themselves)."""
        if job.method == "ar":
            return None
        return self.jobs[bench_key_of_ar(*job.ar_key)]

    @property
    def prompt_sets(self) -> list[tuple[str, int, int]]:
        """(dataset, L_max, n) of every prompts file the jobs read."""
        return sorted({(j.dataset, j.l_max, j.n_prompts) for j in self.jobs.values()})

    @property
    def split_experiments(self) -> list[str]:
        """Experiments whose jobs run in parts (merged by their own rule)."""
        return sorted({j.experiment for j in self.jobs.values() if j.part_paths})

    @property
    def selections(self) -> list[tuple[str, str]]:
        return sorted({(j.dataset, j.method) for j in self.jobs.values() if j.selected})

    def sweep_rounds(self, dataset: str, method: str) -> int:
        """How many racing rounds the sweep of ``method`` on ``dataset`` runs (1: no race)."""
        return max(job.parts for job in self.sweeps[(dataset, method)])

    def race_inputs(self, dataset: str, method: str, rounds: int | None = None) -> list[str]:
        """Every setting's results of rounds 1..``rounds`` (default: all) of a sweep: its parts
        when it races, else its whole results."""
        jobs = self.sweeps[(dataset, method)]
        if self.sweep_rounds(dataset, method) == 1:
            return [job.path for job in jobs]
        last = self.sweep_rounds(dataset, method) if rounds is None else rounds
        return [path for job in jobs for path in job.part_paths[:last]]

    @property
    def regimes(self) -> list[str | None]:
        """Regimes some job runs in (None: the protocol's), for their profiles and baselines."""
        return sorted({j.regime for j in self.jobs.values()}, key=lambda r: r or "")

    def profiled_jobs(self, regime: str | None = None) -> list[BenchJob]:
        """The jobs a profile prices: every job for the protocol's regime (its profile also
        predicts every table's speedups), only that regime's jobs for an explicit one."""
        jobs = list(self.jobs.values())
        return jobs if regime is None else [j for j in jobs if j.regime == regime]

    def profile_prefixes(self, regime: str | None = None) -> list[int]:
        """Cache lengths the cost profile measures: half the shortest prompt cap, the longest
        prompt plus its generation (the deepest a verification starts), and their midpoint."""
        jobs = self.profiled_jobs(regime)
        low = max(1, min(j.l_max for j in jobs) // 2)
        high = max(j.l_max + j.max_new_tokens - 1 for j in jobs)
        return sorted({low, (low + high) // 2, high})

    def profile_max_tree(
        self, defaults: Callable[[str], dict[str, Any]], regime: str | None = None
    ) -> int:
        """The largest tree any of those jobs may verify (root included): 1 + the largest node
        budget (N_max; a linear draft's K).

        ``defaults(method)`` gives a method's default parameters (for jobs that leave N_max unset
        or read it from a selection)."""
        return 1 + max((node_budget(j, defaults) for j in self.profiled_jobs(regime)), default=0)

    def table_inputs(self, experiment: str) -> list[str]:
        """Result files of one experiment plus the AR baselines its speedups refer to."""
        jobs = self.experiments[experiment]
        refs = [self.reference(j) for j in jobs]
        paths = [j.path for j in jobs] + [r.path for r in refs if r is not None]
        return list(dict.fromkeys(paths))


def node_budget(job: BenchJob, defaults: Callable[[str], dict[str, Any]]) -> int:
    """Drafted nodes a job may verify at once: N_max, or K for a linear draft (0 for AR)."""
    params = {**defaults(job.method), **job.params}
    return int(params.get("N_max", params.get("K", 0)))


def bench_key_of_ar(
    dataset: str, l_max: int, max_new_tokens: int, n_prompts: int, regime: str | None = None
) -> tuple[str, str, str, str]:
    suffix = "" if regime is None else f"_{regime}"
    return (BASELINE, dataset, "ar", f"L{l_max}_T{max_new_tokens}_n{n_prompts}{suffix}")


class _Builder:
    """Expands each experiment section of the config into jobs."""

    def __init__(self, config: dict[str, Any], check: Callable[[str, dict[str, Any]], None]):
        self.config = config
        self.check = check
        self.plan = Plan()
        self.T = int(config["protocol"]["max_new_tokens"])

    def n_prompts(self, experiment: str) -> int:
        """The experiment's prompt count (its own ``n_prompts``, else protocol.n_prompts)."""
        own = self.config["experiments"][experiment].get("n_prompts")
        return int(own or self.config["protocol"]["n_prompts"])

    def parts(self, experiment: str) -> int:
        """How many jobs time each of the experiment's settings (AR baselines run whole)."""
        return int(self.config["experiments"][experiment].get("parts", 1))

    def l_max(self, dataset: str) -> int:
        return int(self.config["datasets"][dataset]["l_max"])

    def params(self, method: str, dataset: str, **override: Any) -> dict[str, Any]:
        """Config parameters: method defaults < dataset overrides < experiment overrides."""
        merged = {
            **self.config["methods"].get(method, {}),
            **self.config["datasets"][dataset].get("params", {}).get(method, {}),
            **override,
        }
        self.check(method, merged)
        return merged

    def job(
        self,
        experiment: str,
        dataset: str,
        method: str,
        setting: str,
        *,
        l_max: int | None = None,
        T: int | None = None,
        params: dict[str, Any] | None = None,
        selected: bool = False,
        tags: dict[str, Any] | None = None,
        regime: str | None = None,
    ) -> BenchJob:
        """Register one job; an ``ar`` method maps to the shared baseline instead."""
        if dataset not in self.config["datasets"]:
            raise PlanError(
                f"experiments.{experiment}: dataset {dataset!r} is not configured under datasets"
            )
        l_max = self.l_max(dataset) if l_max is None else l_max
        T = self.T if T is None else T
        n = self.n_prompts(experiment)
        if method == "ar":
            job = self.plan.ar(dataset, l_max, T, n, regime)
        else:
            if selected:
                sweep = SWEEP_OF[method]
                if dataset not in self.config["experiments"][sweep]["datasets"]:
                    raise PlanError(
                        f"experiments.{experiment}: the {method} setting for {dataset} is selected "
                        f"from experiments.{sweep}, which does not cover {dataset}; add it there"
                    )
                params = {}
            elif params is None:
                params = self.params(method, dataset)
            job = self.plan.add(
                BenchJob(
                    experiment,
                    dataset,
                    method,
                    setting,
                    l_max,
                    T,
                    n,
                    params=params,
                    selected=selected,
                    extra_tags=tags or {},
                    parts=self.parts(experiment),
                    regime=regime,
                    races=experiment in SWEEP_OF.values() and self.parts(experiment) > 1,
                )
            )
            self.plan.ar(dataset, l_max, T, n, regime)
        self.plan.experiments.setdefault(experiment, []).append(job)
        return job

    def methods_row(
        self, experiment: str, dataset: str, methods: Iterable[str], setting: str, **kwargs: Any
    ) -> None:
        """The standard comparison: AR, selected linear/fixed tree, configured others."""
        for method in methods:
            self.job(experiment, dataset, method, setting, selected=method in SELECTABLE, **kwargs)

    def build(self) -> Plan:
        exps = self.config["experiments"]
        for name in EXPERIMENTS:
            getattr(self, name)(exps[name])
        for sweep_method, sweep in SWEEP_OF.items():
            for job in self.plan.experiments.get(sweep, []):
                self.plan.sweeps.setdefault((job.dataset, sweep_method), []).append(job)
        return self.plan

    def main(self, spec: dict[str, Any]) -> None:
        for dataset in spec["datasets"]:
            for method in spec["methods"]:
                selected = method in SELECTABLE
                label = "selected" if selected else "default"
                self.job("main", dataset, method, label, selected=selected)

    def regimes(self, spec: dict[str, Any]) -> None:
        """The main comparison (configured settings) eager and compiled, each regime's jobs
        against the AR of that regime; the protocol's regime needs no flag of its own (its AR
        baselines are shared with the other experiments)."""
        default = protocol_regime(self.config["protocol"])
        for regime in REGIMES:
            explicit = None if regime == default else regime
            for dataset in spec["datasets"]:
                for method in spec["methods"]:
                    self.check_compiles(method)
                    self.job("regimes", dataset, method, regime, regime=explicit)

    def check_compiles(self, method: str) -> None:
        from dynatree.decoding.registry import method as entry

        if not entry(method).compiles:
            raise PlanError(
                f"experiments.regimes.methods: {method} runs transformers' own generate, which "
                "has no compiled regime; leave it out"
            )

    def variants(
        self, experiment: str, spec: dict[str, Any], configs: dict[str, tuple[str, dict[str, Any]]]
    ) -> None:
        """One job per declared variant of an ablation: ``configs[variant] = (method, params)``."""
        for variant in variant_names(experiment):
            method, overrides = configs[variant]
            for dataset in spec["datasets"]:
                self.job(
                    experiment,
                    dataset,
                    method,
                    variant,
                    T=spec.get("max_new_tokens"),
                    params=self.params(method, dataset, **overrides),
                    tags={"variant": variant},
                )

    def ablation(self, spec: dict[str, Any]) -> None:
        configs = {
            "fixed": ("fixed_tree", spec["fixed_tree"]),
            "breadth_depth": ("dynatree", {"history": False}),
            "history": ("dynatree", {}),
        }
        self.variants("ablation", spec, configs)

    def ca_ablation(self, spec: dict[str, Any]) -> None:
        configs = {
            "full": ("dynatree_ca", {}),
            "no_calibration": ("dynatree_ca", {"calibrate": False}),
            "no_prices": ("dynatree_ca", {"priced": False}),  # verifies `budget` nodes
        }
        self.variants("ca_ablation", spec, configs)

    def length_scaling(self, spec: dict[str, Any]) -> None:
        dataset = spec["dataset"]
        for T in spec["max_new_tokens"]:
            self.methods_row("length_scaling", dataset, spec["methods"], f"T{T}", T=int(T))

    def fixed_tree_sweep(self, spec: dict[str, Any]) -> None:
        T = spec.get("max_new_tokens")
        for dataset in spec["datasets"]:
            for D in spec["D"]:
                for B in spec["B"]:
                    for tau in spec["tau"]:
                        params = self.params("fixed_tree", dataset, D=D, B=B, tau=tau)
                        setting = f"D{D}_B{B}_tau{fmt(tau)}"
                        self.job(
                            "fixed_tree_sweep", dataset, "fixed_tree", setting, T=T, params=params
                        )

    def linear_sweep(self, spec: dict[str, Any]) -> None:
        T = spec.get("max_new_tokens")
        for dataset in spec["datasets"]:
            for K in spec["K"]:
                params = self.params("linear", dataset, K=K)
                self.job("linear_sweep", dataset, "linear", f"K{K}", T=T, params=params)

    def sensitivity(self, spec: dict[str, Any]) -> None:
        dataset, T = spec["dataset"], spec.get("max_new_tokens")
        variants: list[tuple[str, str, dict[str, Any]]] = []
        for tau_h, tau_l in spec["thresholds"]:
            variants.append(
                ("threshold", f"th{fmt(tau_h)}_tl{fmt(tau_l)}", {"tau_h": tau_h, "tau_l": tau_l})
            )
        variants += [("breadth", f"Bmax{b}", {"B_max": b}) for b in spec["B_max"]]
        variants += [("depth", f"Dmax{d}", {"D_max": d}) for d in spec["D_max"]]
        for variant, setting, override in variants:
            params = self.params("dynatree", dataset, **override)
            self.job(
                "sensitivity",
                dataset,
                "dynatree",
                setting,
                T=T,
                params=params,
                tags={"variant": variant},
            )

    def prompt_length(self, spec: dict[str, Any]) -> None:
        dataset = spec["dataset"]
        for L in spec["l_max"]:
            self.methods_row(
                "prompt_length",
                dataset,
                spec["methods"],
                f"L{L}",
                l_max=int(L),
                tags={"l_max": int(L)},
            )


def _no_check(method: str, params: dict[str, Any]) -> None:
    return None


def build_plan(
    config: dict[str, Any], check: Callable[[str, dict[str, Any]], None] = _no_check
) -> Plan:
    """Expand ``config`` (already schema-validated) into the benchmark plan.

    ``check(method, params)`` validates one decoder setting (the pipeline passes the package's
    ``parse_params`` so an impossible setting stops planning, naming the parameter).
    """
    return _Builder(config, check).build()
