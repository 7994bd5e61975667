"""Every config plans (the paper's without GPU or network) and the workflow lints clean."""

from __future__ import annotations

import sys

import pytest
import yaml
from pipeline_helpers import CONFIGS, DATA_DIR, REPO, job_counts, scratch_copy, snakemake

sys.path.insert(0, str(REPO / "workflow" / "lib"))
from config_schema import validate_config  # noqa: E402
from pipeline_plan import FIGURE_TABLES, build_plan  # noqa: E402


@pytest.mark.parametrize("name", CONFIGS)
def test_dry_run_plans_the_whole_paper(name: str, monkeypatch) -> None:
    # No GPU and no network needed to plan (the paper config targets CUDA and the Hub).
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    run = snakemake(["-n", "-F", "--configfile", name], cwd=REPO)
    assert run.returncode == 0, run.stderr[-2000:]
    counts = job_counts(run.stdout)
    config = yaml.safe_load((REPO / name).read_text(encoding="utf-8"))
    validate_config(config)
    plan = build_plan(config)
    split = [job for job in plan.jobs.values() if job.part_paths]
    assert counts["bench"] == len(plan.jobs) - len(split) - len(plan.shared)
    assert counts.get("bench_part", 0) == sum(job.parts for job in split)
    assert counts.get("merge_bench_parts", 0) == len(split)
    assert counts.get("share_result", 0) == len(plan.shared)
    rounds = sum(plan.sweep_rounds(*key) - 1 for key in plan.sweeps)
    assert counts.get("race_round", 0) == rounds
    assert counts["figure"] == len(FIGURE_TABLES)
    assert counts["prompts"] == len(plan.prompt_sets)
    assert counts["select_setting"] == len(plan.selections)
    assert counts["compile_paper"] == 1
    # One verify-cost profile; every DynaTree-CA job prices its trees with it.
    assert counts["profile"] == 1
    assert "--set profile=results/profile/" in run.stdout
    models = "fetch_model" if config["models"]["source"] == "hub" else "build_embedded"
    assert counts[models] == (2 if models == "fetch_model" else 1)


def test_lint_is_clean() -> None:
    run = snakemake(["--lint"], cwd=REPO)
    assert run.returncode == 0, run.stdout[-3000:]
    assert "Lints for" not in run.stdout + run.stderr


def test_plain_dry_run_uses_the_default_profile() -> None:
    """No flag: Snakemake finds profiles/default next to the Snakefile and applies it."""
    run = snakemake(["-n", "--configfile", "config/smoke.yaml"], cwd=REPO)
    assert run.returncode == 0, run.stderr[-2000:]
    assert "Using workflow specific profile profiles/default" in run.stderr
    assert "Shell command: python -m dynatree bench" in run.stdout  # its printshellcmds


def test_slurm_profile_by_name() -> None:
    run = snakemake(
        ["-n", "--workflow-profile", "slurm", "--configfile", "config/smoke.yaml"], cwd=REPO
    )
    assert run.returncode == 0, run.stderr[-2000:]
    assert "Using workflow specific profile profiles/slurm" in run.stderr


def test_timing_jobs_hold_every_core_whatever_torch_uses() -> None:
    """The default config decodes on one torch thread, yet a benchmark or profile job reserves
    all cores given to Snakemake, so no prompts, select or figure job runs beside a timing."""
    run = snakemake(["-n", "-F", "--cores", "3"], cwd=REPO)
    assert run.returncode == 0, run.stderr[-2000:]
    blocks = run.stdout.split("\n\n")  # one per job: its time stamp, "rule NAME:", details
    timing = [b for b in blocks if "\nrule bench:" in b or "\nrule profile:" in b]
    assert len(timing) > 10
    for block in timing:
        assert "threads: 3" in block and "--threads 1 " in block, block


@pytest.fixture(scope="module")
def lone_clone(tmp_path_factory: pytest.TempPathFactory):
    """The repository copied where nothing is beside it (no ../shared), as a new user's clone."""
    root = tmp_path_factory.mktemp("lone") / "repo"
    scratch_copy(root)
    assert not (root.parent / "shared").exists()
    return root


@pytest.mark.parametrize("name", ["config.yaml", "config/paper.yaml"])
def test_a_clone_without_data_plans_the_download(lone_clone, name: str, monkeypatch) -> None:
    """No data directory: the plan downloads the lock's pinned sources (no network to plan)."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    run = snakemake(["-n", "--configfile", name], cwd=lone_clone)
    assert run.returncode == 0, run.stderr[-2000:]
    counts = job_counts(run.stdout)
    assert counts["fetch_data"] == 1 and counts["data_manifest"] == 1
    assert "--data-dir data/hub" in run.stdout
    assert "downloaded into data/hub" in run.stderr


@pytest.mark.skipif(not (DATA_DIR / "wikitext-2-raw").is_dir(), reason="no ../shared/data here")
@pytest.mark.parametrize("name", ["config.yaml", "config/smoke.yaml"])
def test_with_the_local_copy_the_default_downloads_nothing(name: str) -> None:
    run = snakemake(["-n", "-F", "--configfile", name], cwd=REPO)
    assert run.returncode == 0, run.stderr[-2000:]
    counts = job_counts(run.stdout)
    assert "fetch_data" not in counts and counts["data_manifest"] == 1
    assert "--data-dir ../shared/data" in run.stdout
    assert "data: the local copy at data.dir ../shared/data (no download)" in run.stderr


def test_stability_runs_on_demand_only(tmp_path) -> None:
    """Rule stability is not part of `all`; asked for, it compares the runs named in
    stability_runs (two at least, else one line saying how), and naming them reruns nothing
    of this run (results/config.json leaves them out)."""
    run = snakemake(["-n", "-F", "--configfile", "config/smoke.yaml"], cwd=REPO)
    assert "stability" not in job_counts(run.stdout)
    runs = []
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        for file in ("claims.csv", "numbers.json"):
            (tmp_path / name / file).write_text("")
        runs.append(str(tmp_path / name))
    names = f"stability_runs=[{', '.join(runs)}]"
    run = snakemake(["-n", "stability", "--config", names], cwd=REPO)
    assert run.returncode == 0, run.stderr[-2000:]
    assert job_counts(run.stdout) == {"stability": 1, "total": 1}
    assert f"--runs {runs[0]} {runs[1]} --out results/stability.csv" in run.stdout
    run = snakemake(["-n", "stability"], cwd=REPO)
    assert run.returncode != 0
    assert "stability_runs='[../run1/results, results]'" in run.stdout + run.stderr
