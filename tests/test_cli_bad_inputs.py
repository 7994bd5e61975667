"""Every bad input to the CLI fails at once: exit 2, one stderr line naming the option or file,
nothing written, before any model is loaded (the pipeline config's bad inputs:
tests/pipeline/test_pipeline_config.py).

Each case runs the real entry point in-process with the model-loading modules made unimportable
(torch, transformers, the harness, the model build) and the Hub download stubbed out, so a
command that got as far as loading a model would crash instead of exiting 2; a control per
command shows its valid form does get that far. A few cases also run in a fresh interpreter to
show torch is never imported on the way to the error. The later stages (merge, select, aggregate,
claims, figure, paper) get SYNTHETIC but whole input files (tests/support/synthetic.py), each case
spoiling one: a file that is truncated, holds NaN or a string where a number belongs, or an
output that is one of the command's inputs; a control shows each unspoiled command succeeds.
"""

from __future__ import annotations

import errno
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from claims_numbers import CLAIMS_FILE, REPO, embedded_run
from synthetic import SyntheticSuite, split_parts, write_profile

import dynatree.cli
from dynatree.bench.prompts import ids_sha256
from dynatree.claims.output import provenance_path
from dynatree.models import fetch

# Importing any of these means a model is about to be loaded (or trained).
MODEL_LOADERS = (
    "torch",
    "transformers",
    "dynatree.bench.harness",
    "dynatree.models.loading",
    "dynatree.models.embedded",
)
READ_ONLY = Path("/sys/dynatree-test")  # sysfs: no new files, for root too
PROMPT_LENGTHS = (3, 9, 5)
T = 8


@dataclass(frozen=True)
class Inputs:
    """Valid inputs of every command, under ``root``; a case spoils one of them."""

    root: Path

    def __getattr__(self, name: str) -> Path:
        return (
            self.root
            / {
                "target": "models/target",
                "draft": "models/draft",
                "gpt2": "models/gpt2",
                "mpt": "models/mpt",
                "longrope": "models/longrope",
                "dynamic": "models/dynamic",
                "empty": "empty_dir",
                "prompts": "prompts.jsonl",
                "reference": "reference.json",
                "selected": "selected.json",
                "result": "result.json",
                "corpus": "corpus",
                "out": "out/result.json",
                "out_dir": "out/models",
                "whole": "results/whole.json",  # a complete result (select, aggregate)
                "ar": "results/ar.json",
                "part1": "results/part1.json",
                "part2": "results/part2.json",
                "table": "tables/main.csv",
                "numbers": "numbers.json",
                "claims_csv": "claims/claims.csv",
                "profile": "profile.json",
                "templates": "templates",
                "tex": "build/main.tex",
            }[name]
        )


def _write_model(folder: Path, positions: int | None, **config: object) -> None:
    """A model directory as locate sees it: config.json and tokenizer files (no weights: any
    attempt to load it would fail, and the loaders are blocked anyway); a GPT-NeoX unless
    ``config`` says otherwise."""
    folder.mkdir(parents=True)
    config = {"model_type": "gpt_neox", "vocab_size": 32, **config}
    if positions is not None:
        config["max_position_embeddings"] = positions
    (folder / "config.json").write_text(json.dumps(config))
    (folder / "tokenizer.json").write_text("{}")


def _prompt_rows(lengths: tuple[int, ...]) -> list[dict]:
    rows = []
    for index, length in enumerate(lengths):
        ids = [2 + (index + k) % 20 for k in range(length)]
        rows.append({"id": f"p{index}", "input_ids": ids, "sha256": ids_sha256(ids)})
    return rows


def _write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def _reference(**protocol) -> dict:
    return {
        "schema": "dynatree.bench/1",
        "method": "ar",
        "protocol": {"max_new_tokens": T, "stop_at_eos": False, **protocol},
        "rows": [
            {"prompt_id": r["id"], "prompt_sha256": r["sha256"], "tokens": [1] * T}
            for r in _prompt_rows(PROMPT_LENGTHS)
        ],
    }


def _result(**summary) -> dict:
    return {
        "schema": "dynatree.bench/1",
        "method": "linear",
        "params": {"K": 3},
        "tags": {"dataset": "wikitext", "setting": "K3"},
        "models": {},
        "provenance": {},
        "protocol": {"prompts_sha256": "x", "max_new_tokens": T, "device": "cpu"},
        "rows": [{"exact_match": True}],
        "summary": {"tps_mean": 10.0, "exact_match_rate": 1.0, **summary},
    }


def _write_corpus(root: Path) -> None:
    wiki = root / "wikitext-2-raw"
    wiki.mkdir(parents=True)
    article = " = Title = \n \n The cat sat on the mat. It was red. \n"
    for split in ("train", "valid", "test"):
        (wiki / f"wiki.{split}.raw").write_text(article * 20)
    books = root / "gutenberg"
    books.mkdir()
    for i in range(12):
        (books / f"pg{i}.txt").write_text(
            f"*** START OF THE PROJECT GUTENBERG EBOOK {i} ***\nA dog ran.\n*** END OF IT ***\n"
        )


@pytest.fixture(scope="module")
def stage_files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Whole inputs of the later stages, written once: results (a job and its parts), a table,
    numbers.json, a claims CSV with its sidecar, a profile, the paper's templates, a .tex."""
    from dynatree.aggregate.table import build_table
    from dynatree.claims.evaluate import evaluate
    from dynatree.claims.output import write
    from dynatree.claims.spec import load_claims
    from dynatree.io import write_json_atomic
    from dynatree.numbers_file import load_numbers

    root = tmp_path_factory.mktemp("stages")
    i = Inputs(root)
    suite = SyntheticSuite(root / "synthetic")
    whole = suite.result("main", "wikitext", "linear", "K4", {"K": 4}, n_prompts=7)
    i.whole.parent.mkdir()
    shutil.copy(whole, i.whole)
    shutil.copy(suite.ar[("wikitext", 200, 64, "eager")], i.ar)
    for path, part in zip((i.part1, i.part2), split_parts(_load(i.whole), 2), strict=True):
        write_json_atomic(path, part)
    i.table.parent.mkdir()
    build_table("main", [str(i.whole), str(i.ar)]).to_csv(i.table, index=False)
    i.numbers.write_text(json.dumps({"schema": "dynatree.numbers/1", "numbers": embedded_run()}))
    spec = load_claims(CLAIMS_FILE)
    write(evaluate(spec, load_numbers(i.numbers)), spec, i.numbers, i.claims_csv)
    write_profile(i.profile)
    shutil.copytree(REPO / "paper", i.templates, ignore=shutil.ignore_patterns("build", "*.pdf"))
    i.tex.parent.mkdir()
    i.tex.write_text("\\documentclass{article}\\begin{document}x\\end{document}\n")
    shutil.rmtree(root / "synthetic")
    return root


def _load(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


@pytest.fixture
def inputs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, stage_files: Path) -> Inputs:
    i = Inputs(tmp_path)
    _write_model(i.target, positions=64)
    _write_model(i.draft, positions=48)
    _write_model(i.gpt2, None, model_type="gpt2", n_positions=64)
    _write_model(i.mpt, None, model_type="mpt", max_seq_len=12)
    _write_model(
        i.longrope,
        64,
        model_type="phi3",
        original_max_position_embeddings=12,
        rope_scaling={"type": "longrope", "short_factor": [1.0], "long_factor": [4.0]},
    )
    _write_model(i.dynamic, 12, model_type="llama", rope_scaling={"type": "dynamic", "factor": 2.0})
    i.empty.mkdir()
    _write_jsonl(i.prompts, _prompt_rows(PROMPT_LENGTHS))
    i.reference.write_text(json.dumps(_reference()))
    i.selected.write_text(json.dumps({"method": "linear", "params": {"K": 3}}))
    i.result.write_text(json.dumps(_result()))
    _write_corpus(i.corpus)
    shutil.copytree(stage_files, tmp_path, dirs_exist_ok=True, symlinks=True)
    monkeypatch.chdir(tmp_path)  # relative model paths resolve here (models/ exists)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    return i


def bench(i: Inputs, *extra: str, **replace: str) -> list[str]:
    return _argv(
        ["bench", "--target", i.target, "--draft", i.draft, "--method", "linear",
         "--prompts", i.prompts, "--max-new-tokens", str(T), "--warmup", "1",
         "--threads", "1", "--device", "cpu", "--out", i.out],
        extra, replace,
    )  # fmt: skip


def select(i: Inputs, *extra: str, **replace: str) -> list[str]:
    return _argv(["select", "--inputs", i.result, "--out", i.out], extra, replace)


def share(i: Inputs, *extra: str, **replace: str) -> list[str]:
    argv = ["share", "--of", i.result, "--tag", "dataset=wikitext", "--out", i.out]
    return _argv(argv, extra, replace)


def prompts(i: Inputs, *extra: str, **replace: str) -> list[str]:
    return _argv(
        ["data", "prompts", "--dataset", "wikitext", "--data-dir", i.corpus,
         "--tokenizer", i.target, "--n", "2", "--max-tokens", "32", "--seed", "0",
         "--out", i.root / "out" / "p.jsonl"],
        extra, replace,
    )  # fmt: skip


LOCK = Path(dynatree.cli.__file__).parents[2] / "config" / "data.lock.yaml"


def data_fetch(i: Inputs, *extra: str, **replace: str) -> list[str]:
    return _argv(["data", "fetch", "--lock", LOCK, "--out", i.root / "out" / "hub"], extra, replace)


def data_manifest(i: Inputs, *extra: str, **replace: str) -> list[str]:
    return _argv(
        ["data", "manifest", "--data-dir", i.corpus, "--lock", LOCK,
         "--out", i.root / "out" / "manifest.json"],
        extra, replace,
    )  # fmt: skip


def build(i: Inputs, *extra: str, **replace: str) -> list[str]:
    return _argv(
        ["models", "build-embedded", "--corpus-dir", i.corpus, "--out", i.out_dir,
         "--report", i.root / "out" / "report.json"],
        extra, replace,
    )  # fmt: skip


def fetch_cmd(i: Inputs, *extra: str, **replace: str) -> list[str]:
    return _argv(
        ["models", "fetch", "--model", i.target, "--revision", "main", "--out", i.out_dir],
        extra,
        replace,
    )


def profile(i: Inputs, *extra: str, **replace: str) -> list[str]:
    return _argv(
        ["profile", "--target", i.target, "--draft", i.draft, "--device", "cpu", "--threads", "1",
         "--max-tree", "4", "--prefix-lengths", "8", "--out", i.root / "out" / "profile.json"],
        extra, replace,
    )  # fmt: skip


def merge(i: Inputs, *extra: str, second: Path | None = None, **replace: str) -> list[str]:
    """Merge the two parts (``inputs=`` replaces the first, ``second=`` the second)."""
    argv = ["merge", "--inputs", i.part1, second or i.part2, "--out", i.out]
    return _argv(argv, extra, replace)


def table(i: Inputs, *extra: str, **replace: str) -> list[str]:
    return _argv(
        ["aggregate", "table", "--experiment", "main", "--inputs", i.whole, i.ar,
         "--profile", i.profile, "--out", i.root / "out" / "main.csv"],
        extra, replace,
    )  # fmt: skip


def numbers(i: Inputs, *extra: str, **replace: str) -> list[str]:
    return _argv(
        ["aggregate", "numbers", "--tables", i.table, "--profile", i.profile,
         "--out", i.root / "out" / "numbers.json"],
        extra, replace,
    )  # fmt: skip


def claims(i: Inputs, *extra: str, **replace: str) -> list[str]:
    return _argv(
        ["claims", "--numbers", i.numbers, "--claims", CLAIMS_FILE,
         "--out", i.root / "out" / "claims.csv"],
        extra, replace,
    )  # fmt: skip


def figure(i: Inputs, *extra: str, name: str = "main_results", **replace: str) -> list[str]:
    return _argv(
        ["figure", name, "--tables", i.table, "--out", i.root / "out" / "f.pdf"], extra, replace
    )


def render(i: Inputs, *extra: str, **replace: str) -> list[str]:
    return _argv(
        ["paper", "render", "--numbers", i.numbers, "--claims", i.claims_csv,
         "--figures-dir", i.root / "figures", "--out-dir", i.root / "out" / "build",
         "--templates", i.templates],
        extra, replace,
    )  # fmt: skip


def compile_cmd(i: Inputs, *extra: str, **replace: str) -> list[str]:
    return _argv(
        ["paper", "compile", "--tex", i.tex, "--out", i.root / "out" / "p.pdf"], extra, replace
    )


def _argv(base: list, extra: tuple, replace: dict) -> list[str]:
    """``base`` with options replaced (``max_new_tokens="x"``; None drops the option), then
    ``extra`` appended."""
    argv = [str(a) for a in base]
    for key, value in replace.items():
        flag = "--" + key.replace("_", "-")
        at = argv.index(flag)
        if value is None:
            del argv[at : at + 2]
        else:
            argv[at + 1] = str(value)
    return argv + [str(e) for e in extra]


def _edit(path: Path, change: Callable[[dict], object]) -> Path:
    """``path`` (JSON) with ``change`` applied to its document in place."""
    doc = _load(path)
    change(doc)
    return _json(path, doc)


def _text(path: Path, change: Callable[[str], str]) -> Path:
    return _spoil(path, change(path.read_text(encoding="utf-8")))


def _lines(path: Path, keep: slice) -> Path:
    """``path`` cut to the lines in ``keep`` (a file truncated at a line end)."""
    return _text(path, lambda t: "".join(t.splitlines(keepends=True)[keep]))


def _cut(path: Path, fraction: float) -> Path:
    """``path`` cut inside a line (a copy or a write stopped short)."""
    return _text(path, lambda t: t[: int(len(t.rstrip("\n")) * fraction)])


def _cut_last_line(path: Path) -> Path:
    """``path`` cut a few characters into its last line (the row loses its later columns)."""
    return _text(path, lambda t: t[: t.rstrip("\n").rfind("\n") + 6])


def _link(link: Path, to: Path, hard: bool = False) -> Path:
    link.parent.mkdir(parents=True, exist_ok=True)
    os.link(to, link) if hard else link.symlink_to(to)
    return link


def _lose_measured_rows(doc: dict) -> None:
    doc["rows"] = [r for r in doc["rows"] if r["warmup"]]


def _lose_a_row_consistently(doc: dict) -> None:
    """A part that lost a measured row, its counts and summary edited to agree."""
    from dynatree.bench.metrics import summarize

    doc["rows"].pop()
    doc["protocol"].update(n_prompts=len(doc["rows"]), n_measured=len(doc["rows"]) - 1)
    doc["summary"] = summarize(doc["rows"])


def _spoil_column(path: Path, column: str, value: str) -> Path:
    """The first row's ``column`` of a CSV replaced by ``value``."""
    import pandas as pd

    frame = pd.read_csv(path)
    frame[column] = frame[column].astype(object)
    frame.loc[0, column] = value
    frame.to_csv(path, index=False)
    return path


def _drop_column(path: Path, column: str) -> Path:
    import pandas as pd

    pd.read_csv(path).drop(columns=[column]).to_csv(path, index=False)
    return path


def _sidecar(i: Inputs, change: Callable[[dict], object]) -> Path:
    """The claims CSV, its sidecar edited by ``change``."""
    _edit(provenance_path(i.claims_csv), change)
    return i.claims_csv


def _drop_claim(i: Inputs) -> Path:
    """The claims CSV without its first claim, the sidecar's counts edited to agree."""
    import pandas as pd

    frame = pd.read_csv(i.claims_csv, keep_default_na=False)
    gone = frame.iloc[0]["verdict"]
    frame.iloc[1:].to_csv(i.claims_csv, index=False)
    key = {"holds": "n_holds", "does not hold": "n_fails", "not comparable": "n_not_comparable"}

    def recount(doc: dict) -> None:
        doc["counts"]["n"] -= 1
        doc["counts"][key[gone]] -= 1

    return _sidecar(i, recount)


def _entry(key: str, **change: object) -> Callable[[dict], None]:
    return lambda doc: doc["numbers"][key].update(change)


def _spoil(path: Path, text: str | bytes) -> Path:
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def _json(path: Path, obj: object) -> Path:
    return _spoil(path, json.dumps(obj))


@dataclass(frozen=True)
class Case:
    argv: Callable[[Inputs], list[str]]
    needles: tuple[str, ...]  # the option or file named, and what is wrong


def case(argv: Callable[[Inputs], list[str]], *needles: str) -> Case:
    return Case(argv, needles)


CASES: dict[str, Case] = {
    # --- dynatree bench ---
    "bench: prompts not UTF-8": case(
        lambda i: bench(i, prompts=_spoil(i.root / "latin1.jsonl", b'{"id": "\xe9"}\n')),
        "--prompts",
        "line 1",
        "not UTF-8",
    ),
    "bench: --target an empty directory": case(
        lambda i: bench(i, target=i.empty), "--target", "no config.json"
    ),
    "bench: --draft an empty directory": case(
        lambda i: bench(i, draft=i.empty), "--draft", "no config.json"
    ),
    "bench: mistyped relative --target": case(
        lambda i: bench(i, target="models/nope"), "--target models/nope", "no such model directory"
    ),
    "bench: --target ./path that is not there": case(
        lambda i: bench(i, target="./nope"), "--target ./nope", "no such model directory"
    ),
    "bench: --target deep path that is not there": case(
        lambda i: bench(i, target="a/b/c"), "--target a/b/c", "no such model directory"
    ),
    "bench: --target not a Hub id": case(
        lambda i: bench(i, target="no such model"), "--target no such model", "org/name"
    ),
    "bench: Hub --target offline, not cached": case(
        lambda i: bench(i, target="dynatree-tests/no-such-model"),
        "--target dynatree-tests/no-such-model",
        "HF_HUB_OFFLINE",
    ),
    "bench: --reference rows without tokens": case(
        lambda i: bench(i, "--reference", _json(i.reference, _strip_tokens(_reference()))),
        "--reference",
        "rows[0].tokens: missing",
    ),
    "bench: --reference max_new_tokens a string": case(
        lambda i: bench(i, "--reference", _json(i.reference, _reference(max_new_tokens="8"))),
        "--reference",
        "protocol.max_new_tokens",
        "integer",
    ),
    "bench: --reference not JSON": case(
        lambda i: bench(i, "--reference", _spoil(i.reference, "{oops")), "--reference", "JSON"
    ),
    "bench: --out an existing directory": case(
        lambda i: bench(i, out=i.empty), "--out", "is a directory"
    ),
    "bench: --out in a read-only location": case(
        lambda i: bench(i, out=READ_ONLY / "r.json"), "--out", "cannot write"
    ),
    "bench: prompt longer than the target's positions": case(
        lambda i: bench(i, prompts=_write_jsonl(i.root / "long.jsonl", _prompt_rows((70, 3)))),
        "--prompts",
        "70 tokens",
        "--target",
        "max_position_embeddings 64",
    ),
    "bench: prompt + T beyond the positions": case(
        lambda i: bench(i, max_new_tokens="60"), "--max-new-tokens 60", "64"
    ),
    "bench: prompt + T beyond the draft's positions": case(
        lambda i: bench(i, max_new_tokens="42"), "--max-new-tokens 42", "--draft", "48"
    ),
    "bench: --beyond-context past GPT-2's learned positions": case(
        lambda i: bench(i, "--beyond-context", target=i.gpt2, max_new_tokens="60"),
        "--beyond-context",
        "--target's n_positions 64",
        "table",
    ),
    "bench: prompt + T beyond MPT's max_seq_len": case(
        lambda i: bench(i, target=i.mpt), "--max-new-tokens 8", "--target's max_seq_len 12"
    ),
    "bench: prompt + T across the target's longrope switch": case(
        lambda i: bench(i, target=i.longrope),
        "--max-new-tokens 8",
        "'p1' (9 tokens) + T = 17 passes 12",
        "longrope",
    ),
    "bench: --beyond-context past a dynamic rope's switch": case(
        lambda i: bench(i, "--beyond-context", target=i.dynamic), "passes 12", "dynamic", "ar"
    ),
    "bench: --set eta_h=nan": case(
        lambda i: bench(i, "--set", "eta_h=nan", method="dynatree"),
        "eta_h=nan",
        "a finite number >= 0",
    ),
    "bench: --set eta_D=-inf": case(
        lambda i: bench(i, "--set", "eta_D=-inf", method="dynatree"), "eta_D=-inf", ">= 0"
    ),
    "bench: --set prior=inf": case(
        lambda i: bench(i, "--set", "prior=inf", method="dynatree_ca"),
        "prior=inf",
        "a finite number > 0",
    ),
    "bench: --set prior=0 (divides the calibration)": case(
        lambda i: bench(i, "--set", "prior=0", method="dynatree_ca"), "prior=0", "> 0"
    ),
    "bench: --set tau=nan": case(
        lambda i: bench(i, "--set", "tau=nan", method="fixed_tree"),
        "tau=nan",
        "open interval (0, 1)",
    ),
    "bench: --params-file with a NaN": case(
        lambda i: bench(
            i,
            "--params-file",
            _json(i.selected, {"method": "dynatree", "params": {"eta_D": float("nan")}}),
            method="dynatree",
        ),
        "--params-file",
        "params.eta_D: NaN where a number belongs",
    ),
    "bench: --set profile= a cost profile with a NaN time": case(
        lambda i: bench(i, "--set", f"profile={_nan_profile(i.root)}", method="dynatree_ca"),
        "--set profile",
        "verify[1].median_s: NaN where a number belongs",
    ),
    "bench: --set K=600 beyond the context": case(
        lambda i: bench(i, "--set", "K=600"), "--set", "draft depth 600", "64"
    ),
    "bench: --params-file with an unknown key": case(
        lambda i: bench(i, "--params-file", _json(i.selected, _selected(Q=1))),
        "--params-file",
        "selected.json",
        "Q",
    ),
    "bench: --params-file with a bad value": case(
        lambda i: bench(i, "--params-file", _json(i.selected, _selected(K=0))),
        "--params-file",
        "selected.json",
        "K=0",
    ),
    "bench: --params-file not JSON": case(
        lambda i: bench(i, "--params-file", _spoil(i.selected, "[")), "--params-file", "JSON"
    ),
    "bench: unknown --device": case(lambda i: bench(i, device="tpu"), "--device", "tpu"),
    "bench: unknown --dtype": case(lambda i: bench(i, "--dtype", "int8"), "--dtype", "int8"),
    "bench: unknown --compile": case(lambda i: bench(i, "--compile", "yes"), "--compile", "yes"),
    "bench: --compile on for transformers' own generate": case(
        lambda i: bench(i, "--compile", "on", method="hf_assisted"), "--compile", "hf_assisted"
    ),
    "bench: --max-new-tokens not a number": case(
        lambda i: bench(i, max_new_tokens="many"), "--max-new-tokens", "many"
    ),
    "bench: --warmup leaves no prompt": case(lambda i: bench(i, warmup="3"), "--warmup 3"),
    "bench: missing --out": case(lambda i: bench(i, out=None), "--out", "required"),
    # --- dynatree select ---
    "select: result without summary": case(
        lambda i: select(i, inputs=_json(i.result, _without(_result(), "summary"))),
        "--inputs",
        "result.json",
        "summary: missing",
    ),
    "select: tps_mean null": case(
        lambda i: select(i, inputs=_json(i.result, _result(tps_mean=None))),
        "--inputs",
        "summary.tps_mean",
        "None",
    ),
    "select: no rows, summary claims exactness": case(
        lambda i: select(i, inputs=_json(i.result, {**_result(), "rows": []})),
        "--inputs",
        "rows",
    ),
    "select: not a benchmark result": case(
        lambda i: select(i, inputs=_json(i.result, {"rows": []})),
        "--inputs",
        "not a benchmark result",
    ),
    "select: missing input": case(
        lambda i: select(i, inputs=i.root / "nope.json"), "--inputs", "no such file"
    ),
    "select: --out an existing directory": case(
        lambda i: select(i, out=i.empty), "--out", "is a directory"
    ),
    "select: --out in a read-only location": case(
        lambda i: select(i, out=READ_ONLY / "s.json"), "--out", "cannot write"
    ),
    "select: --round of another sweep's rounds": case(
        lambda i: select(i, "--round", "1/3"), "--round 1/3", "a sweep in 1 rounds"
    ),
    "select: --round I beyond K": case(
        lambda i: select(i, "--round", "2/1"), "--round '2/1'", "1 <= I <= K"
    ),
    "select: a skip record where the race needs a result": case(
        lambda i: select(i, inputs=_json(i.result, {"schema": "dynatree.bench/9"})),
        "--inputs",
        "not a benchmark result",
    ),
    # --- dynatree bench --race (a sweep's racing round) ---
    "bench: --race without --part": case(
        lambda i: bench(i, "--race", _json(i.selected, _decision()), "--tag", "setting=K3"),
        "--race",
        "--part I/K",
    ),
    "bench: --race not a decision": case(
        lambda i: bench(i, "--race", i.selected, "--part", "2/2", "--tag", "setting=K3"),
        "--race",
        "not a racing decision",
    ),
    "bench: --race decision missing": case(
        lambda i: bench(i, "--race", i.root / "nope.json", "--part", "2/2", "--tag", "setting=K3"),
        "--race",
        "nope.json",
    ),
    # --- dynatree share ---
    "share: without the job's dataset tag": case(
        lambda i: share(i, tag="setting=x"), "--tag", "dataset="
    ),
    "share: another dataset's result": case(
        lambda i: share(i, tag="dataset=pg19", of=i.whole), "--of", "not --tag's 'pg19'"
    ),
    "share: --of not a result": case(lambda i: share(i, of=i.prompts), "--of", "prompts.jsonl"),
    # --- dynatree data prompts ---
    "data prompts: --tokenizer an empty directory": case(
        lambda i: prompts(i, tokenizer=i.empty), "--tokenizer", "no tokenizer"
    ),
    "data prompts: mistyped --tokenizer path": case(
        lambda i: prompts(i, tokenizer="models/nope"), "--tokenizer models/nope", "no such"
    ),
    "data prompts: --out an existing directory": case(
        lambda i: prompts(i, out=i.empty), "--out", "is a directory"
    ),
    "data prompts: --out in a read-only location": case(
        lambda i: prompts(i, out=READ_ONLY / "p.jsonl"), "--out", "cannot write"
    ),
    "data prompts: --max-tokens 1": case(
        lambda i: prompts(i, max_tokens="1"), "--max-tokens 1", ">= 8"
    ),
    "data prompts: --min-tokens above --max-tokens": case(
        lambda i: prompts(i, "--min-tokens", "40"), "--min-tokens 40"
    ),
    "data prompts: --n 0": case(lambda i: prompts(i, n="0"), "--n 0"),
    "data prompts: --data-dir missing": case(
        lambda i: prompts(i, data_dir=i.root / "nope"), "--data-dir", "no such directory"
    ),
    "data prompts: no --data-dir": case(
        lambda i: prompts(i, data_dir=None), "--data-dir", "required"
    ),
    "data prompts: unknown --dataset": case(lambda i: prompts(i, dataset="c4"), "--dataset", "c4"),
    # --- dynatree data fetch / manifest (checked before any network access) ---
    "data fetch: --lock missing": case(
        lambda i: data_fetch(i, lock=i.root / "nope.yaml"), "--lock", "no such file"
    ),
    "data fetch: --lock not a data lock": case(
        lambda i: data_fetch(i, lock=i.result), "data lock", "schema"
    ),
    "data fetch: --out in a read-only location": case(
        lambda i: data_fetch(i, out=READ_ONLY / "hub"), "--out", "cannot write"
    ),
    "data manifest: --data-dir missing": case(
        lambda i: data_manifest(i, data_dir=i.root / "nope"), "--data-dir", "no such directory"
    ),
    "data manifest: --out an existing directory": case(
        lambda i: data_manifest(i, out=i.empty), "--out", "is a directory"
    ),
    # --- dynatree models build-embedded ---
    "build-embedded: context_length above max_position_embeddings": case(
        lambda i: build(i, "--set", "context_length=8192"),
        "--set context_length=8192",
        "max_position_embeddings",
    ),
    "build-embedded: --set target_lr=inf": case(
        lambda i: build(i, "--set", "target_lr=inf"), "--set target_lr=inf", "finite number > 0"
    ),
    "build-embedded: --set draft_lr=nan": case(
        lambda i: build(i, "--set", "draft_lr=nan"), "--set draft_lr=nan", "> 0"
    ),
    "build-embedded: --set distill_alpha=nan": case(
        lambda i: build(i, "--set", "distill_alpha=nan"), "distill_alpha=nan", "[0, 1]"
    ),
    "build-embedded: --set heldout_fraction=inf": case(
        lambda i: build(i, "--set", "heldout_fraction=inf"), "heldout_fraction=inf", "(0, 0.5)"
    ),
    "build-embedded: unknown --set key": case(
        lambda i: build(i, "--set", "target_stepz=3"), "--set target_stepz", "unknown"
    ),
    "build-embedded: --corpus-dir missing": case(
        lambda i: build(i, corpus_dir=i.root / "nope"), "--corpus-dir", "no such directory"
    ),
    "build-embedded: --out an existing file": case(
        lambda i: build(i, out=i.prompts), "--out", "is a file"
    ),
    "build-embedded: --report an existing directory": case(
        lambda i: build(i, report=i.empty), "--report", "is a directory"
    ),
    "build-embedded: --report in a read-only location": case(
        lambda i: build(i, report=READ_ONLY / "r.json"), "--report", "cannot write"
    ),
    # --- dynatree models fetch ---
    "fetch: --model an empty directory": case(
        lambda i: fetch_cmd(i, model=i.empty), "--model", "no config.json"
    ),
    "fetch: mistyped relative --model": case(
        lambda i: fetch_cmd(i, model="models/nope"), "--model models/nope", "no such"
    ),
    "fetch: Hub --model offline, not cached": case(
        lambda i: fetch_cmd(i, model="dynatree-tests/no-such-model"),
        "--model dynatree-tests/no-such-model",
        "HF_HUB_OFFLINE",
    ),
    "fetch: --out an existing file": case(
        lambda i: fetch_cmd(i, out=i.prompts), "--out", "is a file"
    ),
    "fetch: --out in a read-only location": case(
        lambda i: fetch_cmd(i, out=READ_ONLY / "m"), "--out", "cannot write"
    ),
    # --- every command: an output that is one of its inputs ---
    "bench: --out is --prompts": case(
        lambda i: bench(i, out=i.prompts), "--out", "prompts.jsonl: is --prompts", "an input"
    ),
    "bench: --out a symbolic link to --reference": case(
        lambda i: bench(i, "--reference", i.reference, out=_link(i.root / "o.json", i.reference)),
        "--out",
        "is --reference",
    ),
    "bench: --out a hard link to --params-file": case(
        lambda i: bench(
            i, "--params-file", i.selected, out=_link(i.root / "o.json", i.selected, hard=True)
        ),
        "--out",
        "is --params-file",
    ),
    "bench: --out the target's config.json": case(
        lambda i: bench(i, out=i.target / "config.json"), "--out", "lies inside --target"
    ),
    "merge: --out is a part": case(lambda i: merge(i, out=i.part2), "--out", "is --inputs"),
    "select: --out is its input (relative path)": case(
        lambda i: select(i, inputs=i.whole, out="results/../results/whole.json"),
        "--out",
        "is --inputs",
    ),
    "select: --out is --profile": case(
        lambda i: select(i, "--profile", i.profile, out=i.profile), "--out", "is --profile"
    ),
    "aggregate table: --out is --profile": case(
        lambda i: table(i, out=i.profile), "--out", "is --profile"
    ),
    "aggregate numbers: --out is the table": case(
        lambda i: numbers(i, out=i.table), "--out", "is --tables"
    ),
    "claims: --out is --numbers": case(lambda i: claims(i, out=i.numbers), "--out", "is --numbers"),
    "claims: --out's sidecar is --numbers": case(
        lambda i: claims(
            i,
            numbers=_link(i.root / "n.provenance.json", i.numbers, hard=True),
            out=i.root / "n.csv",
        ),
        "--out",
        "n.provenance.json: is --numbers",
    ),
    "figure: --out a symbolic link to the table": case(
        lambda i: figure(i, out=_link(i.root / "f.pdf", i.table)), "--out", "is --tables"
    ),
    "paper render: --out-dir the templates (refs.bib)": case(
        lambda i: render(i, out_dir=i.templates), "--out-dir", "refs.bib: is --templates"
    ),
    "paper compile: --out is --tex": case(
        lambda i: compile_cmd(i, out=i.tex), "--out", "main.tex: is --tex"
    ),
    "data prompts: --out a file of --data-dir": case(
        lambda i: prompts(i, out=i.corpus / "wikitext-2-raw" / "wiki.test.raw"),
        "--out",
        "lies inside --data-dir",
    ),
    "build-embedded: --out holds --corpus-dir": case(
        lambda i: build(i, out=i.root), "--out", "contains --corpus-dir"
    ),
    "build-embedded: --report a corpus file": case(
        lambda i: build(i, report=i.corpus / "gutenberg" / "pg1.txt"),
        "--report",
        "lies inside --corpus-dir",
    ),
    "fetch: --out holds --model": case(
        lambda i: fetch_cmd(i, out=i.root / "models"), "--out", "contains --model"
    ),
    "profile: --out the draft's config.json": case(
        lambda i: profile(i, out=i.draft / "config.json"), "--out", "lies inside --draft"
    ),
    # --- dynatree merge: incomplete or malformed parts ---
    "merge: a part lost its measured rows": case(
        lambda i: merge(i, inputs=_edit(i.part1, _lose_measured_rows)),
        "--inputs",
        "part1.json",
        "1 rows, but protocol.n_prompts is 4",
    ),
    "merge: a part lost a row and its counts agree": case(
        lambda i: merge(i, second=_edit(i.part2, _lose_a_row_consistently)),
        "--inputs",
        "the parts hold 3+2 measured prompts",
        "shares of 5 prompts among 2 parts (2+3)",
    ),
    "merge: rows not a list": case(
        lambda i: merge(i, inputs=_edit(i.part1, lambda d: d.update(rows={}))),
        "--inputs",
        "rows",
        "array",
    ),
    "merge: a row without warmup": case(
        lambda i: merge(i, inputs=_edit(i.part1, lambda d: d["rows"][1].pop("warmup"))),
        "--inputs",
        "rows[1].warmup: missing",
    ),
    "merge: tps a string": case(
        lambda i: merge(i, inputs=_edit(i.part1, lambda d: d["rows"][1].update(tps="fast"))),
        "--inputs",
        "rows[1].tps",
        "'fast'",
    ),
    "merge: NaN paired speedup": case(
        lambda i: merge(
            i,
            inputs=_text(
                i.part1, lambda t: re.sub(r'"paired_speedup": [\d.]+', '"paired_speedup": NaN', t)
            ),
        ),
        "--inputs",
        "paired_speedup: NaN where a number belongs",
    ),
    # --- dynatree select ---
    "select: NaN paired speedup": case(
        lambda i: select(
            i,
            inputs=_text(
                i.whole,
                lambda t: t.replace('"paired_speedup_mean": ', '"paired_speedup_mean": NaN, "x": '),
            ),
        ),
        "--inputs",
        "summary.paired_speedup_mean: NaN",
    ),
    "select: paired speedup a string": case(
        lambda i: select(
            i, inputs=_edit(i.whole, lambda d: d["summary"].update(paired_speedup_mean="1.5"))
        ),
        "--inputs",
        "summary.paired_speedup_mean",
    ),
    # --- dynatree aggregate table ---
    "aggregate table: a result lost its measured rows": case(
        lambda i: table(i, "--inputs", _edit(i.whole, _lose_measured_rows)),
        "--inputs",
        "whole.json",
        "1 rows, but protocol.n_prompts is 7",
    ),
    "select: --profile without its curves": case(
        lambda i: select(i, "--profile", _edit(i.profile, lambda d: d.pop("verify"))),
        "--profile",
        "verify: missing",
    ),
    "aggregate table: --profile without its curves": case(
        lambda i: table(i, profile=_edit(i.profile, lambda d: d.pop("verify"))),
        "--profile",
        "verify: missing",
    ),
    # --- dynatree aggregate numbers and figure: the tables ---
    "aggregate numbers: an empty table": case(
        lambda i: numbers(i, tables=_spoil(i.table, "")), "--tables", "main.csv", "empty file"
    ),
    "aggregate numbers: a table of a header alone": case(
        lambda i: numbers(i, tables=_lines(i.table, slice(0, 1))), "--tables", "no rows"
    ),
    "aggregate numbers: a table cut at a line end": case(
        lambda i: numbers(i, tables=_lines(i.table, slice(0, 2))),
        "--tables",
        "1 rows where table_rows says 2",
    ),
    "aggregate numbers: a table cut inside a line": case(
        lambda i: numbers(i, tables=_cut(i.table, 0.9)), "--tables", "row 3 is cut short"
    ),
    "aggregate numbers: tps_mean not a number": case(
        lambda i: numbers(i, tables=_spoil_column(i.table, "tps_mean", "fast")),
        "--tables",
        "row 2: tps_mean 'fast' is not a positive finite number",
    ),
    "aggregate numbers: an infinite speedup": case(
        lambda i: numbers(i, tables=_spoil_column(i.table, "speedup", "inf")),
        "--tables",
        "speedup",
        "finite",
    ),
    "aggregate numbers: a table of an older version": case(
        lambda i: numbers(i, tables=_drop_column(i.table, "table_rows")),
        "--tables",
        "column 'table_rows' missing",
    ),
    "figure: a table cut at a line end": case(
        lambda i: figure(i, tables=_lines(i.table, slice(0, 2))), "--tables", "truncated"
    ),
    "figure: an empty table": case(
        lambda i: figure(i, tables=_spoil(i.table, "")), "--tables", "empty file"
    ),
    "figure verify_cost: --file profile without verify": case(
        lambda i: figure(
            i,
            "--file",
            f"profile={_edit(i.profile, lambda d: d.pop('verify'))}",
            name="verify_cost",
        ),
        "--file profile",
        "verify: missing",
    ),
    # --- dynatree claims and paper render: numbers.json, the claims CSV ---
    "claims: a number that is a string": case(
        lambda i: claims(
            i, numbers=_edit(i.numbers, _entry("main.wikitext.ar.tps_mean", value="fast"))
        ),
        "--numbers",
        "main.wikitext.ar.tps_mean.value: 'fast' is not of type number",
    ),
    "claims: an entry without digits": case(
        lambda i: claims(
            i, numbers=_edit(i.numbers, lambda d: d["numbers"]["protocol.device"].pop("digits"))
        ),
        "--numbers",
        "protocol.device.digits: missing",
    ),
    "claims: numbers not an object": case(
        lambda i: claims(i, numbers=_edit(i.numbers, lambda d: d.update(numbers=[]))),
        "--numbers",
        "numbers: [] is not of type object",
    ),
    "claims: NaN in numbers.json": case(
        lambda i: claims(
            i, numbers=_text(i.numbers, lambda t: t.replace('"value": 1.0', '"value": NaN', 1))
        ),
        "--numbers",
        "NaN where a number belongs",
    ),
    "paper render: a number that is a string": case(
        lambda i: render(
            i, numbers=_edit(i.numbers, _entry("main.wikitext.ar.tps_mean", value="x"))
        ),
        "--numbers",
        "tps_mean.value",
    ),
    "paper render: a claims CSV that lost claims": case(
        lambda i: render(i, claims=_lines(i.claims_csv, slice(0, -3))),
        "--claims",
        "truncated or edited",
    ),
    "paper render: a claims CSV cut inside a line": case(
        lambda i: render(i, claims=_cut_last_line(i.claims_csv)), "--claims", "is not whole"
    ),
    "paper render: a claims CSV checked against another claims file": case(
        lambda i: render(
            i,
            claims=_sidecar(i, lambda d: d["claims"].update(sha256="0" * 64)),
        ),
        "--claims",
        "changed since it was checked",
    ),
    "paper render: a claims CSV without a claim of the claims file": case(
        lambda i: render(i, claims=_drop_claim(i)), "--claims", "truncated or edited"
    ),
    # --- read-only outputs of the commands that had no write check ---
    "aggregate table: --out in a read-only location": case(
        lambda i: table(i, out=READ_ONLY / "t.csv"), "--out", "cannot write"
    ),
    "aggregate numbers: --out in a read-only location": case(
        lambda i: numbers(i, out=READ_ONLY / "n.json"), "--out", "cannot write"
    ),
    "claims: --out in a read-only location": case(
        lambda i: claims(i, out=READ_ONLY / "c.csv"), "--out", "cannot write"
    ),
    "figure: --out in a read-only location": case(
        lambda i: figure(i, out=READ_ONLY / "f.pdf"), "--out", "cannot write"
    ),
    "paper render: --out-dir in a read-only location": case(
        lambda i: render(i, out_dir=READ_ONLY / "build"), "--out-dir", "cannot write"
    ),
    "paper compile: --out in a read-only location": case(
        lambda i: compile_cmd(i, out=READ_ONLY / "p.pdf"), "--out", "cannot write"
    ),
    "profile: --out in a read-only location": case(
        lambda i: profile(i, out=READ_ONLY / "p.json"), "--out", "cannot write"
    ),
}


def _nan_profile(root: Path) -> Path:
    """A cost profile (docs/formats.md) one of whose measured times is NaN."""
    point = {"prefix": 16, "median_s": 0.01, "min_s": 0.01, "max_s": 0.01}
    return _json(
        root / "profile.json",
        {
            "schema": "dynatree.profile/1",
            "verify": [{**point, "n": 1}, {**point, "n": 2, "median_s": float("nan")}],
            "draft_level": [{**point, "width": 1}],
        },
    )


def _strip_tokens(reference: dict) -> dict:
    del reference["rows"][0]["tokens"]
    return reference


def _selected(**params) -> dict:
    return {"method": "linear", "params": params}


def _decision() -> dict:
    """A racing decision (dynatree select --round) that keeps K3 in the race."""
    return {"method": "linear", "alive": ["K3"], "decided": False, "rounds": 2, "rounds_run": 1}


def _without(obj: dict, key: str) -> dict:
    return {k: v for k, v in obj.items() if k != key}


def _tree(root: Path) -> dict[str, float | None]:
    """Every path under ``root`` with its mtime (None for directories)."""
    return {str(p): None if p.is_dir() else p.stat().st_mtime_ns for p in sorted(root.rglob("*"))}


@pytest.fixture
def no_model_loading(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make loading (or training, or downloading) a model impossible in this test."""
    for name in MODEL_LOADERS:
        monkeypatch.setitem(sys.modules, name, None)

    def forbidden(*args: object, **kwargs: object) -> None:
        raise AssertionError("reached the model download / copy")

    monkeypatch.setattr(fetch, "_download", forbidden)
    monkeypatch.setattr(fetch, "_materialise", forbidden)


def run_cli(argv: list[str]) -> int:
    try:
        return dynatree.cli.main(argv)
    except SystemExit as exc:  # argparse: its one-line error (dynatree.cli._Parser)
        return int(exc.code)


@pytest.mark.parametrize("name", CASES, ids=list(CASES))
def test_bad_input_is_one_line_exit_2_nothing_written(
    name: str, inputs: Inputs, no_model_loading: None, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = CASES[name].argv(inputs)
    before = _tree(inputs.root)
    capsys.readouterr()
    assert run_cli(argv) == 2
    captured = capsys.readouterr()
    lines = captured.err.splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith(f"dynatree {argv[0]}") and ": error: " in lines[0], lines[0]
    for needle in CASES[name].needles:
        assert needle in lines[0], lines[0]
    assert captured.out == ""
    assert _tree(inputs.root) == before, "something was written"


def test_at_least_forty_bad_inputs() -> None:
    assert len(CASES) >= 40


CONTROLS = {
    "bench": (bench, "dynatree.bench.harness"),
    "data prompts": (prompts, "transformers"),
    "build-embedded": (build, "dynatree.models.embedded"),
}


@pytest.mark.parametrize("name", CONTROLS)
def test_valid_command_gets_as_far_as_loading_a_model(
    name: str, inputs: Inputs, no_model_loading: None
) -> None:
    """The cases above are rejected for what they spoil: unspoiled, each command passes every
    check and stops only at the blocked model loader."""
    argv, loader = CONTROLS[name]
    with pytest.raises(ModuleNotFoundError, match=loader):
        run_cli(argv(inputs))


def test_valid_fetch_gets_as_far_as_copying(inputs: Inputs, no_model_loading: None) -> None:
    with pytest.raises(AssertionError, match="reached the model download"):
        run_cli(fetch_cmd(inputs))


@pytest.mark.parametrize(
    "name",
    [
        "bench: unknown --device",
        "bench: --compile on for transformers' own generate",
        "bench: --out in a read-only location",
        "bench: prompt + T beyond the positions",
        "bench: prompt + T across the target's longrope switch",
        "bench: --set eta_h=nan",
        "select: tps_mean null",
        "build-embedded: --set target_lr=inf",
        "data prompts: --tokenizer an empty directory",
        "build-embedded: context_length above max_position_embeddings",
        "fetch: --model an empty directory",
    ],
)
def test_rejection_never_imports_torch(name: str, inputs: Inputs) -> None:
    """In a fresh interpreter (as the pipeline runs it): exit 2 and neither torch nor
    transformers imported on the way (a bench job used to spend ~5 s importing them first)."""
    script = (
        "import sys\nfrom dynatree.cli import main\nrc = main(sys.argv[1:])\n"
        "print(rc, *sorted({'torch', 'transformers'} & set(sys.modules)))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(Path(dynatree.cli.__file__).parents[1])}
    run = subprocess.run(
        [sys.executable, "-c", script, *CASES[name].argv(inputs)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert run.stdout.split() == ["2"], run.stdout + run.stderr
    assert len(run.stderr.splitlines()) == 1, run.stderr


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only directories")
def test_read_only_directory(inputs: Inputs, no_model_loading, capsys) -> None:
    locked = inputs.root / "locked"
    locked.mkdir(mode=0o555)
    assert run_cli(bench(inputs, out=locked / "r.json")) == 2
    assert "cannot write" in capsys.readouterr().err


# The commands whose output had no check before the work (bench, select, data prompts and the
# model builds had one) and bench, whose check now also asks for room on the disk.
WRITERS: dict[str, Callable[[Inputs], list[str]]] = {
    "bench": bench,
    "merge": merge,
    "aggregate table": table,
    "aggregate numbers": numbers,
    "claims": claims,
    "figure": figure,
    "paper render": render,
    "paper compile": compile_cmd,
    "profile": profile,
}


def _one_error_line(capsys: pytest.CaptureFixture[str], argv: list[str]) -> str:
    captured = capsys.readouterr()
    lines = captured.err.splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith(f"dynatree {argv[0]}: error: "), lines[0]
    return lines[0]


@pytest.mark.parametrize("name", WRITERS)
def test_a_full_disk_is_refused_before_any_work(
    name: str, inputs: Inputs, no_model_loading: None, capsys, monkeypatch
) -> None:
    usage = shutil.disk_usage(inputs.root)
    monkeypatch.setattr(shutil, "disk_usage", lambda _: usage._replace(free=0))
    argv = WRITERS[name](inputs)
    before = _tree(inputs.root)
    capsys.readouterr()
    assert run_cli(argv) == 2
    assert "0 bytes free, this output needs about" in _one_error_line(capsys, argv)
    assert _tree(inputs.root) == before


@pytest.mark.parametrize(
    "name", ["merge", "aggregate table", "aggregate numbers", "claims", "figure"]
)
def test_a_disk_that_fills_during_the_write_is_one_line_and_leaves_nothing(
    name: str, inputs: Inputs, no_model_loading: None, capsys, monkeypatch
) -> None:
    """The check before the work cannot promise the space stays free: a write that fails for
    want of it names the file, and leaves neither it nor a temporary."""

    def full(*args: object) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "replace", full)  # the rename that ends every atomic write
    argv = WRITERS[name](inputs)
    before = _tree(inputs.root)
    capsys.readouterr()
    assert run_cli(argv) == 2
    assert "cannot write (No space left on device); nothing was written" in _one_error_line(
        capsys, argv
    )
    files = {path: mtime for path, mtime in _tree(inputs.root).items() if mtime is not None}
    assert files == {path: mtime for path, mtime in before.items() if mtime is not None}
