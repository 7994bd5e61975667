"""The smoke config end to end, in a scratch copy of the repository (its results/ stay untouched).

One module-scoped run serves every test here: first Snakemake and a benchmark job are SIGKILLed
halfway (a power cut) and the run left as it is, then the README's recovery (`--unlock`, rerun)
takes the DAG from that state to the PDF, timed.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import psutil
import pytest
from pipeline_helpers import env, scratch_copy, snakemake

pytestmark = pytest.mark.pipeline

SMOKE_LIMIT_S = 8 * 60  # the budget for the whole smoke DAG on 2 cores
KILLED = "results/bench/baseline/wikitext/ar/L32_T16_n2.json"


@dataclass
class SmokeRun:
    root: Path
    data: Path
    config_args: list[str]
    killed_output_existed: bool
    killed_run_rc: int
    locked: subprocess.CompletedProcess
    elapsed_s: float
    rc: int
    log: str


def _bench_process(parent: psutil.Process) -> psutil.Process | None:
    for child in parent.children(recursive=True):
        try:
            cmd = child.cmdline()
        except psutil.NoSuchProcess:
            continue
        if "bench" in cmd and "dynatree" in cmd[:3]:  # python -m dynatree bench ...
            return child
    return None


def _kill_bench_halfway(root: Path, config_args: list[str]) -> tuple[bool, int]:
    """Start the run for one AR job; once it is decoding, SIGKILL Snakemake, then the job."""
    log = root / "logs" / "bench" / KILLED.removeprefix("results/bench/").replace(".json", ".log")
    proc = subprocess.Popen(
        [sys.executable, "-m", "snakemake", KILLED, "--cores", "2", *config_args],
        cwd=root,
        env=env(root),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    parent = psutil.Process(proc.pid)
    deadline = time.monotonic() + 300
    killed = False
    while proc.poll() is None and time.monotonic() < deadline:
        bench = _bench_process(parent)
        if bench is not None and log.exists() and "bench ar" in log.read_text(errors="replace"):
            # halfway: models loaded, prompts being decoded; nothing gets to clean up
            parent.send_signal(signal.SIGKILL)
            bench.send_signal(signal.SIGKILL)
            killed = True
            break
        time.sleep(0.05)
    rc = proc.wait(timeout=120)
    assert killed, "the benchmark job was never seen running"
    return (root / KILLED).exists(), rc


@pytest.fixture(scope="module")
def smoke(tmp_path_factory, data_dir) -> SmokeRun:
    root = tmp_path_factory.mktemp("smoke") / "repo"
    local = scratch_copy(root)
    # The raw text as a writable copy of its own, which the rerun test may touch and edit.
    data = root.parent / "data"
    shutil.copytree(data_dir, data)
    for path in (data, *data.rglob("*")):
        path.chmod(path.stat().st_mode | stat.S_IWUSR)
    local.write_text(f"data:\n  dir: {data}\n", encoding="utf-8")
    config_args = ["--configfile", "config/smoke.yaml", str(local)]
    start = time.monotonic()
    existed, killed_rc = _kill_bench_halfway(root, config_args)
    locked = snakemake(["--cores", "2", *config_args], cwd=root)  # the killed run's lock
    snakemake(["--unlock", *config_args], cwd=root)
    run = snakemake(["--cores", "2", *config_args], cwd=root, timeout=2 * SMOKE_LIMIT_S)
    elapsed = time.monotonic() - start
    return SmokeRun(root, data, config_args, existed, killed_rc, locked, elapsed, run.returncode,
                    run.stdout[-4000:] + run.stderr[-4000:])  # fmt: skip


def test_killed_job_leaves_no_result(smoke: SmokeRun) -> None:
    assert smoke.killed_run_rc == -signal.SIGKILL
    assert not smoke.killed_output_existed


def test_after_a_killed_snakemake_the_rerun_asks_for_unlock(smoke: SmokeRun) -> None:
    """What the README says: the next run refuses (lock) and names --unlock; after it, it runs."""
    assert smoke.locked.returncode != 0
    assert "--unlock" in smoke.locked.stdout + smoke.locked.stderr
    assert smoke.rc == 0, smoke.log


def test_smoke_runs_to_the_pdf(smoke: SmokeRun, capsys: pytest.CaptureFixture[str]) -> None:
    assert smoke.rc == 0, smoke.log
    pdf = smoke.root / "paper" / "dynatree.pdf"
    assert pdf.read_bytes()[:5] == b"%PDF-"
    # Timed, not asserted: a loaded CI runner must not fail the build (budget: SMOKE_LIMIT_S).
    with capsys.disabled():
        print(f"\nsmoke DAG to the PDF: {smoke.elapsed_s:.0f} s (budget {SMOKE_LIMIT_S} s)")
    numbers = json.loads((smoke.root / "results" / "numbers.json").read_text())
    assert numbers["numbers"]
    for name in ("main_results", "schematic_iteration", "sensitivity"):
        assert (smoke.root / "figures" / f"{name}.png").stat().st_size > 0


def test_every_result_is_whole_and_exact(smoke: SmokeRun) -> None:
    assert smoke.rc == 0, smoke.log
    results = sorted((smoke.root / "results" / "bench").rglob("*.json"))
    assert results
    for path in results:
        result = json.loads(path.read_text())  # a partial file would not parse
        assert result["schema"] == "dynatree.bench/1"
        if result["method"] != "ar":
            assert result["summary"]["exact_match_rate"] == 1.0, path
    leftovers = [p for p in (smoke.root / "results").rglob("*.tmp")]
    assert not leftovers


def test_claims_are_checked_and_in_the_paper(smoke: SmokeRun) -> None:
    assert smoke.rc == 0, smoke.log
    claims = pd.read_csv(smoke.root / "results" / "claims.csv", keep_default_na=False)
    absolute = claims[claims["kind"] == "absolute"]
    assert len(absolute) and (absolute["verdict"] == "not comparable").all()
    assert absolute["why"].str.contains("device cpu vs cuda").all()
    relative = claims[claims["kind"] == "relative"]
    assert relative["verdict"].isin(["holds", "does not hold", "not comparable"]).all()
    assert relative["why"].str.len().gt(0).all()
    tex = (smoke.root / "paper" / "build" / "main.tex").read_text()
    assert "\\section{Claims checked}" in tex


def test_the_paper_says_pg19_was_the_offline_stand_in(smoke: SmokeRun) -> None:
    """Read from the run's own data manifest (a local copy with gutenberg/), never typed."""
    assert smoke.rc == 0, smoke.log
    manifest = json.loads((smoke.root / "results" / "data" / "manifest.json").read_text())
    assert manifest["source"] == "local" and manifest["datasets"]["pg19"]["standin"] is True
    tex = " ".join((smoke.root / "paper" / "build" / "main.tex").read_text().split())
    assert "the offline Gutenberg stand-in for PG-19: 98 Project Gutenberg books" in tex
    assert "not the PG-19 test split" in tex and "downloaded from" not in tex


def _planned(smoke: SmokeRun, *extra: str, root: Path | None = None) -> dict[str, set[str]]:
    """Rules (and the methods of benchmark jobs) a dry run would execute now (in ``root``, the
    smoke run's checkout or a copy of it)."""
    root = root or smoke.root
    local = str(smoke.root / "local.yaml")
    config_args = [str(root / "local.yaml") if a == local else a for a in smoke.config_args]
    run = snakemake(["-n", *config_args, *extra], cwd=root)
    assert run.returncode == 0, run.stderr[-2000:]
    rules: dict[str, set[str]] = {}
    current = None
    for line in run.stdout.splitlines():
        if line.startswith(("rule ", "localrule ")):
            current = line.split()[1].rstrip(":")
            rules.setdefault(current, set())
        elif current and line.strip().startswith("wildcards:"):
            fields = dict(f.split("=", 1) for f in line.split(":", 1)[1].strip().split(", "))
            if "method" in fields:
                rules[current].add(fields["method"])
    return rules


def test_complete_run_is_up_to_date(smoke: SmokeRun, capsys: pytest.CaptureFixture[str]) -> None:
    assert smoke.rc == 0, smoke.log
    start = time.monotonic()
    assert _planned(smoke) == {}
    with capsys.disabled():  # timed, not asserted (README: the no-op dry run)
        print(f"\nno-op dry run of the complete smoke tree: {time.monotonic() - start:.1f} s")


def test_a_copy_of_the_finished_checkout_plans_nothing(smoke: SmokeRun, tmp_path: Path) -> None:
    """A finished checkout copied whole to another path (cp -a: a moved folder, a restored
    backup, the same tree at another mount point) is finished there too: every input, the
    decoder and figure sources included, is recorded relative to the workflow."""
    assert smoke.rc == 0, smoke.log
    copy = tmp_path / "elsewhere" / "repo"
    shutil.copytree(smoke.root, copy, symlinks=True, copy_function=shutil.copy2)
    assert _planned(smoke, root=copy) == {}


@pytest.mark.parametrize(
    ("name", "rules"),
    [
        ("bench/ablation/wikitext/dynatree/history.json", {"bench"}),
        (
            "bench_parts/main/wikitext/dynatree/default/part1.json",
            {"bench_part", "merge_bench_parts"},
        ),
    ],
    ids=["whole job", "part of a split job"],
)
def test_deleting_a_result_alone_reruns_nothing_forcerun_does(
    smoke: SmokeRun, name: str, rules: set[str]
) -> None:
    """The README's advice: Snakemake rebuilds only what a target needs, and the tables made
    from a deleted result are still newer than everything they read, so deleting it alone plans
    nothing; --forcerun <file> reruns it and everything made from it (for one part of a split
    job: that part, the merge, and what reads the merged result)."""
    assert smoke.rc == 0, smoke.log
    result = smoke.root / "results" / name
    kept, stat = result.read_bytes(), result.stat()
    result.unlink()
    try:
        assert _planned(smoke) == {}
        planned = _planned(smoke, "--forcerun", str(result.relative_to(smoke.root)))
    finally:
        result.write_bytes(kept)
        os.utime(result, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # as it was: up to date
    assert {rule: planned.get(rule) for rule in rules} == dict.fromkeys(rules, {"dynatree"})
    assert {"aggregate_table", "numbers", "compile_paper"} <= set(planned)


def test_forcerun_reruns_one_rule_and_what_depends_on_it(smoke: SmokeRun) -> None:
    assert smoke.rc == 0, smoke.log
    planned = _planned(smoke, "--forcerun", "numbers")
    assert set(planned) == {"numbers", "claims", "render_paper", "compile_paper", "all"}


def test_data_is_compared_by_content_not_by_time(smoke: SmokeRun) -> None:
    """A re-download, a restored backup or a re-mounted share gives the raw text new times:
    that alone reruns nothing (rebuilding the models would redo every benchmark); a changed
    file reruns the models, the prompts and all that follows. A changed file the data lock sums
    stops the plan itself, in one line naming it."""
    assert smoke.rc == 0, smoke.log
    paths = [smoke.data, *smoke.data.rglob("*")]
    times = {p: p.stat() for p in paths}
    edited = sorted((smoke.data / "gutenberg").glob("*.txt"))[0]
    locked = smoke.data / "wikitext-2-raw" / "wiki.valid.raw"
    text, locked_text = edited.read_bytes(), locked.read_bytes()
    try:
        later = time.time() + 60
        for path in paths:
            os.utime(path, (later, later))
        assert _planned(smoke) == {}
        edited.write_bytes(text + b"\n")
        planned = _planned(smoke)
        edited.write_bytes(text)
        locked.write_bytes(locked_text + b"\n")
        refused = snakemake(["-n", *smoke.config_args], cwd=smoke.root)
    finally:
        edited.write_bytes(text)
        locked.write_bytes(locked_text)
        for path, st in times.items():
            os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert {"build_embedded", "prompts", "bench", "data_manifest", "compile_paper"} <= set(planned)
    assert refused.returncode != 0
    said = refused.stdout + refused.stderr  # Snakemake prints a parse-time error to either
    assert "wikitext-2-raw/wiki.valid.raw" in said and "data lock" in said


@contextmanager
def _edited(path: Path) -> Iterator[None]:
    """Append a comment to a module of the scratch copy for one dry run, then restore it."""
    text = path.read_text(encoding="utf-8")
    path.write_text(text + "\n# edited by test_pipeline_smoke\n", encoding="utf-8")
    try:
        yield
    finally:
        path.write_text(text, encoding="utf-8")


def test_editing_a_figure_module_reruns_only_figures_and_paper(smoke: SmokeRun) -> None:
    assert smoke.rc == 0, smoke.log
    with _edited(smoke.root / "src" / "dynatree" / "figures" / "main_results.py"):
        planned = _planned(smoke)
    assert set(planned) == {"figure", "render_paper", "compile_paper", "all"}


def test_editing_a_decoder_reruns_its_jobs_only(smoke: SmokeRun) -> None:
    assert smoke.rc == 0, smoke.log
    with _edited(smoke.root / "src" / "dynatree" / "decoding" / "linear.py"):
        planned = _planned(smoke)
    assert planned["bench"] == planned["bench_part"] == {"linear"}
    assert "build_embedded" not in planned and "prompts" not in planned


def test_report_has_the_figures(smoke: SmokeRun) -> None:
    assert smoke.rc == 0, smoke.log
    run = snakemake([*smoke.config_args, "--report", "report.html"], cwd=smoke.root)
    assert run.returncode == 0, run.stderr[-2000:]
    html = (smoke.root / "report.html").read_text(errors="replace")
    assert "main_results" in html and "dynatree.pdf" in html
