"""The benchmark plan: AR sharing, selection wiring, tags and job counts for every config."""

from __future__ import annotations

import sys
from collections import Counter

import pytest
import yaml
from pipeline_helpers import CONFIGS, REPO

sys.path.insert(0, str(REPO / "workflow" / "lib"))
from config_schema import validate_config  # noqa: E402
from pipeline_plan import (  # noqa: E402
    BASELINE,
    EXPERIMENTS,
    REGIMES,
    PlanError,
    build_plan,
    compile_flag,
    protocol_regime,
)

from dynatree.decoding.params import params_dict  # noqa: E402
from dynatree.decoding.registry import parse_params  # noqa: E402


def _config(name: str) -> dict:
    config = yaml.safe_load((REPO / name).read_text(encoding="utf-8"))
    validate_config(config)
    return config


@pytest.fixture(params=CONFIGS)
def config(request) -> dict:
    return _config(request.param)


def test_one_ar_job_per_prompt_set_and_length(config) -> None:
    plan = build_plan(config, lambda m, p: parse_params(m, p))
    ar = [j for j in plan.jobs.values() if j.method == "ar"]
    assert all(j.experiment == BASELINE for j in ar)
    keys = Counter(j.ar_key for j in ar)
    assert max(keys.values()) == 1
    # Every speculative job is checked against the AR run on its own prompts and T.
    for job in plan.jobs.values():
        if job.method != "ar":
            ref = plan.reference(job)
            assert ref is not None and ref.ar_key == job.ar_key
    # ... and nothing else: no AR job without a speculative job using it.
    used = {plan.reference(j).key for j in plan.jobs.values() if j.method != "ar"}
    assert used == {j.key for j in ar}


def _own_n(config: dict, experiment: str) -> int:
    return config["experiments"][experiment].get("n_prompts") or config["protocol"]["n_prompts"]


def test_each_experiment_times_its_own_prompt_count(config) -> None:
    """experiments.<name>.n_prompts times an experiment on its own prompt set (the first n of
    the same sample) with its own AR baseline; protocol.n_prompts is the default."""
    config["experiments"]["main"]["n_prompts"] = config["protocol"]["n_prompts"] + 3
    plan = build_plan(config)
    for job in plan.jobs.values():
        if job.method == "ar":
            users = [j for j in plan.jobs.values() if plan.reference(j) is job]
            assert {_own_n(config, j.experiment) for j in users} == {job.n_prompts}, job.key
        else:
            assert job.n_prompts == _own_n(config, job.experiment), job.key
        assert job.prompts.endswith(f"_n{job.n_prompts}.jsonl")
    assert {n for _, _, n in plan.prompt_sets} == {_own_n(config, e) for e in EXPERIMENTS}


def test_jobs_of_experiments_in_parts_are_split_and_shared_ones_are_not(config) -> None:
    """experiments.<name>.parts splits every timed job of the experiment (not its AR baseline)
    into that many part results; tables still read the jobs' own result files."""
    config["experiments"]["main"]["parts"] = 2
    plan = build_plan(config)
    for job in plan.jobs.values():
        parts = config["experiments"].get(job.experiment, {}).get("parts", 1)
        if job.same_as is not None or job.experiment == BASELINE or parts == 1:
            assert job.part_paths == [], job.key
            continue
        assert job.part_paths == [
            job.path.replace("results/bench/", "results/bench_parts/").replace(
                ".json", f"/part{i}.json"
            )
            for i in range(1, parts + 1)
        ]
    assert "main" in plan.split_experiments
    assert set(plan.table_inputs("main")) == {
        *(j.path for j in plan.experiments["main"]),
        *(plan.reference(j).path for j in plan.experiments["main"] if j.method != "ar"),
    }
    for name in EXPERIMENTS:
        config["experiments"][name]["parts"] = 1
    assert build_plan(config).split_experiments == []


def test_a_sweep_in_parts_races(config) -> None:
    """A sweep's parts are racing rounds: part I > 1 reads the decision after round I - 1; the
    decision and the selection read every setting's rounds (rule race_round, select_setting)."""
    for sweep in ("linear_sweep", "fixed_tree_sweep"):
        config["experiments"][sweep].update(n_prompts=config["protocol"]["warmup"] + 3, parts=3)
    plan = build_plan(config)
    for (dataset, method), jobs in plan.sweeps.items():
        assert plan.sweep_rounds(dataset, method) == 3
        for job in jobs:
            assert job.races and job.race_input(1) is None
            assert job.race_input(3) == f"results/select/{dataset}/{method}/round2.json"
        assert plan.race_inputs(dataset, method, 1) == [j.part_paths[0] for j in jobs]
        assert len(plan.race_inputs(dataset, method)) == 3 * len(jobs)
    assert not any(j.races for j in plan.experiments["main"])
    for sweep in ("linear_sweep", "fixed_tree_sweep"):
        config["experiments"][sweep]["parts"] = 1
    plan = build_plan(config)
    for (dataset, method), jobs in plan.sweeps.items():
        assert plan.race_inputs(dataset, method) == [j.path for j in jobs]


def test_a_setting_measured_twice_is_timed_once(config) -> None:
    """A job that measures what an earlier one does shares its result (results/shared/); the
    job it copies is timed, measures the same thing, and comes first in declared order."""
    plan = build_plan(config)
    order = {name: i for i, name in enumerate(EXPERIMENTS)}
    for job in plan.shared:
        timed = plan.jobs[job.same_as]
        assert timed.same_as is None and timed.measures == job.measures
        assert order[timed.experiment] <= order[job.experiment]
        assert job.path.startswith("results/shared/") and job.part_paths == []
    measured = [j.measures for j in plan.jobs.values() if j.method != "ar" and j.same_as is None]
    assert len(measured) == len(set(measured))


def test_the_default_config_shares_its_repeated_default_settings() -> None:
    """config.yaml's sensitivity grid meets DynaTree's default setting three times."""
    plan = build_plan(_config("config.yaml"))
    shared = {j.key for j in plan.shared}
    assert {("sensitivity", "wikitext", "dynatree", s) for s in ("Bmax3", "Dmax8")} <= shared


def test_main_table_settings_come_from_the_sweeps(config) -> None:
    plan = build_plan(config)
    main = {(j.dataset, j.method): j for j in plan.experiments["main"]}
    for dataset in config["experiments"]["main"]["datasets"]:
        for method in ("linear", "fixed_tree"):
            job = main[(dataset, method)]
            assert job.selected and job.params == {}
            sweep = plan.sweeps[(dataset, method)]
            assert sweep and all(j.method == method and j.dataset == dataset for j in sweep)
        assert not main[(dataset, "dynatree")].selected


def test_tables_include_their_baselines_once(config) -> None:
    plan = build_plan(config)
    for name in EXPERIMENTS:
        paths = plan.table_inputs(name)
        assert len(paths) == len(set(paths))
        ar = [p for p in paths if f"/{BASELINE}/" in p]
        assert ar, f"{name}: no AR baseline among the table's inputs"


def test_tags_name_the_variant_and_prompt_length(config) -> None:
    plan = build_plan(config)
    ablation = {j.tags["variant"] for j in plan.experiments["ablation"]}
    assert ablation == {"fixed", "breadth_depth", "history"}
    assert {j.tags["variant"] for j in plan.experiments["sensitivity"]} == {
        "threshold",
        "breadth",
        "depth",
    }
    lengths = {j.tags["l_max"] for j in plan.experiments["prompt_length"]}
    assert lengths == set(config["experiments"]["prompt_length"]["l_max"])
    for job in plan.jobs.values():
        assert {"dataset", "experiment", "setting"} <= set(job.tags)


def _expected_jobs(config: dict) -> int:
    """Benchmark jobs computed from the config by hand (the plan must agree)."""
    e = config["experiments"]
    spec = lambda methods: len([m for m in methods if m != "ar"])  # noqa: E731
    n = spec(e["main"]["methods"]) * len(e["main"]["datasets"])
    n += 3 * len(e["ablation"]["datasets"]) + 3 * len(e["ca_ablation"]["datasets"])
    n += spec(e["length_scaling"]["methods"]) * len(e["length_scaling"]["max_new_tokens"])
    ft = e["fixed_tree_sweep"]
    n += len(ft["D"]) * len(ft["B"]) * len(ft["tau"]) * len(ft["datasets"])
    n += len(e["linear_sweep"]["K"]) * len(e["linear_sweep"]["datasets"])
    s = e["sensitivity"]
    n += len(s["thresholds"]) + len(s["B_max"]) + len(s["D_max"])
    n += spec(e["prompt_length"]["methods"]) * len(e["prompt_length"]["l_max"])
    n += len(REGIMES) * spec(e["regimes"]["methods"]) * len(e["regimes"]["datasets"])
    return n


def test_job_count_matches_the_config(config) -> None:
    plan = build_plan(config)
    speculative = [j for j in plan.jobs.values() if j.method != "ar"]
    assert len(speculative) == _expected_jobs(config)


def test_impossible_setting_stops_planning() -> None:
    from dynatree.errors import UsageError

    config = _config("config/smoke.yaml")
    config["experiments"]["sensitivity"]["D_max"] = [2]  # D_0 = 2 in smoke: needs D_max > D_0
    with pytest.raises(UsageError, match="D_0"):
        build_plan(config, lambda m, p: parse_params(m, p))


def test_selection_needs_the_sweep_on_that_dataset() -> None:
    config = _config("config/smoke.yaml")
    config["experiments"]["linear_sweep"]["datasets"] = ["wikitext"]
    with pytest.raises(PlanError, match="linear_sweep"):
        build_plan(config)


def test_profile_covers_every_cache_and_tree_the_plan_uses(config) -> None:
    plan = build_plan(config)
    prefixes = plan.profile_prefixes()
    jobs = list(plan.jobs.values())
    assert prefixes[0] == min(j.l_max for j in jobs) // 2
    assert prefixes[-1] == max(j.l_max + j.max_new_tokens for j in jobs) - 1
    defaults = lambda m: params_dict(parse_params(m, {}))  # noqa: E731

    def budget(job) -> int:  # type: ignore[no-untyped-def]
        params = {**defaults(job.method), **job.params}
        return params["N_max"] if "N_max" in params else params.get("K", 0)

    assert plan.profile_max_tree(defaults) == max(map(budget, jobs)) + 1 >= 65
    for regime in {j.regime for j in jobs} - {None}:  # an explicit regime's: its own jobs
        own = [j for j in jobs if j.regime == regime]
        assert plan.profile_max_tree(defaults, regime) == max(map(budget, own)) + 1 > 1
        assert plan.profile_prefixes(regime)[-1] == max(j.l_max + j.max_new_tokens for j in own) - 1


def test_dynatree_ca_runs_in_every_comparison_and_its_ablation(config) -> None:
    plan = build_plan(config)
    for experiment in ("main", "length_scaling", "prompt_length", "ca_ablation"):
        assert any(j.method == "dynatree_ca" for j in plan.experiments[experiment]), experiment
    variants = {j.tags["variant"]: j.params for j in plan.experiments["ca_ablation"]}
    assert variants["no_calibration"]["calibrate"] is False
    assert variants["no_prices"]["priced"] is False and "calibrate" not in variants["full"]


def test_regimes_pair_each_job_with_the_ar_of_its_regime(config) -> None:
    """Every (dataset, method) of experiments.regimes in both regimes; the protocol's regime
    needs no flag of its own and shares the other experiments' baselines."""
    plan = build_plan(config)
    spec = config["experiments"]["regimes"]
    default = protocol_regime(config["protocol"])
    assert default == ("compiled" if config["protocol"]["device"] == "cuda" else "eager")
    runs = Counter()
    for job in plan.experiments["regimes"]:
        regime = job.setting if job.method != "ar" else (job.regime or default)
        runs[job.dataset, job.method] += 1
        assert job.regime == (None if regime == default else regime)
        assert compile_flag(job.regime, config["protocol"]) in ("auto", "on", "off")
        if job.method != "ar":
            assert plan.reference(job).regime == job.regime
    assert runs == {(d, m): len(REGIMES) for d in spec["datasets"] for m in spec["methods"]}
    other = next(r for r in REGIMES if r != default)
    explicit = [j for j in plan.jobs.values() if j.regime is not None]
    assert explicit and all(j.regime == other for j in explicit)
    assert all(j.experiment in ("regimes", BASELINE) for j in explicit)


def test_regimes_refuse_a_method_that_cannot_compile() -> None:
    config = _config("config/smoke.yaml")
    config["experiments"]["regimes"]["methods"] = ["ar", "hf_assisted"]
    with pytest.raises(PlanError, match="hf_assisted"):
        build_plan(config)


def test_protocol_regime_and_compile_flag() -> None:
    protocol = {"compile": None, "device": "cpu"}
    assert protocol_regime(protocol) == "eager" and compile_flag(None, protocol) == "auto"
    assert protocol_regime({"compile": None, "device": "cuda"}) == "compiled"
    assert protocol_regime({"compile": None, "device": "auto"}) is None  # only the machine knows
    assert protocol_regime({"compile": True, "device": "auto"}) == "compiled"
    assert compile_flag("compiled", protocol) == "on" and compile_flag("eager", protocol) == "off"
