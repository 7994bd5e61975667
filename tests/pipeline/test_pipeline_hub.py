"""The smoke DAG from a clone with nothing beside it (no ../shared), models and data both from a
local Hub server (HF_ENDPOINT): the tiny GPT-NeoX pair and WikiText-2/PG-19-shaped files at
pinned commits, downloaded by fetch_model and fetch_data, to the PDF (the issue's "Done when")."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from hub_repos import (
    MODEL_COMMITS,
    MODEL_REPOS,
    PG19_COMMIT,
    PG19_REPO,
    WIKI_REPO,
    publish_data,
    publish_models,
    tiny_data,
    tiny_model_files,
)
from local_hub import LocalHub
from pipeline_helpers import env, scratch_copy

pytestmark = pytest.mark.pipeline

HUB_TIMEOUT_S = 60 * 60  # generous: a loaded runner must not fail the build (the time is printed)


@dataclass
class HubRun:
    root: Path
    rc: int
    log: str
    elapsed_s: float
    requests: list[str]
    again: subprocess.CompletedProcess


@pytest.fixture(scope="module")
def hub_run(tmp_path_factory: pytest.TempPathFactory) -> HubRun:
    base = tmp_path_factory.mktemp("hub")
    root = base / "repo"
    scratch_copy(root)
    assert not (base / "shared").exists()  # a new user's clone: no offline data anywhere
    lock = tiny_data().lock(base / "test.lock.yaml")
    sources = {
        "models": {
            "source": "hub",
            **{role: {"id": MODEL_REPOS[role], "revision": MODEL_COMMITS[role]}
               for role in ("target", "draft")},
        },
        "data": {"source": "hub", "lock": str(lock)},
    }  # fmt: skip
    (root / "hub.yaml").write_text(yaml.safe_dump(sources), encoding="utf-8")
    command = [sys.executable, "-m", "snakemake", "--cores", "2",
               "--configfile", "config/smoke.yaml", "hub.yaml"]  # fmt: skip
    with LocalHub() as hub:
        publish_data(hub, tiny_data())
        publish_models(hub, tiny_model_files(base / "tiny-pair"))
        run_env = {
            **env(root),
            "HF_ENDPOINT": hub.endpoint,
            "HF_HOME": str(base / "hf"),
            "HF_HUB_DISABLE_TELEMETRY": "1",
        }
        run_env.pop("HF_HUB_OFFLINE", None)
        start = time.monotonic()
        run = subprocess.run(
            command, cwd=root, env=run_env, capture_output=True, text=True, timeout=HUB_TIMEOUT_S
        )
        elapsed = time.monotonic() - start
        again = subprocess.run(
            [*command, "-n"], cwd=root, env=run_env, capture_output=True, text=True, timeout=120
        )
    log = run.stdout[-4000:] + run.stderr[-4000:]
    return HubRun(root, run.returncode, log, elapsed, list(hub.requests), again)


def test_the_smoke_dag_runs_from_the_hub_to_the_pdf(
    hub_run: HubRun, capsys: pytest.CaptureFixture[str]
) -> None:
    assert hub_run.rc == 0, hub_run.log
    assert (hub_run.root / "paper" / "dynatree.pdf").read_bytes()[:5] == b"%PDF-"
    with capsys.disabled():  # timed, not asserted
        print(f"\nsmoke DAG from the local Hub to the PDF: {hub_run.elapsed_s:.0f} s")
    asked = "\n".join(hub_run.requests)
    for repo in (*MODEL_REPOS.values(), WIKI_REPO, PG19_REPO):
        assert f"{repo}/resolve/" in asked, repo
    assert (hub_run.root / "models" / "hub" / "target" / "model.safetensors").is_file()
    assert not (hub_run.root / "models" / "embedded").exists()


def test_prompts_come_from_the_downloaded_text(hub_run: HubRun) -> None:
    assert hub_run.rc == 0, hub_run.log
    prompts = hub_run.root / "results" / "prompts"
    wiki = [json.loads(line) for line in (prompts / "wikitext_L32_n3.jsonl").open()]
    pg19 = [json.loads(line) for line in (prompts / "pg19_L32_n3.jsonl").open()]
    assert all(p["source"].startswith("wiki.test.raw#") for p in wiki)
    assert {p["source"] for p in pg19} <= {"1001.txt", "1002.txt", "1003.txt", "1004.txt"}


def test_every_result_is_exact(hub_run: HubRun) -> None:
    assert hub_run.rc == 0, hub_run.log
    results = sorted((hub_run.root / "results" / "bench").rglob("*.json"))
    assert results
    for path in results:
        result = json.loads(path.read_text())
        if result["method"] != "ar":
            assert result["summary"]["exact_match_rate"] == 1.0, path


def test_the_paper_names_the_pg19_it_ran_on(hub_run: HubRun) -> None:
    """From the run's own provenance: the manifest fetch_data wrote, numbers.json, the setup."""
    assert hub_run.rc == 0, hub_run.log
    manifest = json.loads((hub_run.root / "results" / "data" / "manifest.json").read_text())
    assert manifest["source"] == "hub"
    assert manifest["datasets"]["pg19"]["revision"] == PG19_COMMIT
    numbers = json.loads((hub_run.root / "results" / "numbers.json").read_text())["numbers"]
    assert numbers["data.pg19.repo"]["value"] == PG19_REPO
    assert numbers["data.pg19.standin"]["value"] is False
    tex = " ".join((hub_run.root / "paper" / "build" / "main.tex").read_text().split())
    cited = "the PG-19 test split~\\citep{rae2019compressive})"
    assert f"{cited}, downloaded from \\texttt{{{PG19_REPO}}}" in tex
    assert f"at commit \\texttt{{{PG19_COMMIT[:12]}}}" in tex


def test_a_complete_run_downloads_nothing_again(hub_run: HubRun) -> None:
    assert hub_run.rc == 0, hub_run.log
    assert hub_run.again.returncode == 0, hub_run.again.stderr[-2000:]
    assert "Nothing to be done" in hub_run.again.stdout + hub_run.again.stderr
