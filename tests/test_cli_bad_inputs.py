"""Every bad input to the CLI fails at once: exit 2, one stderr line naming the option or file,
nothing written, before any model is loaded (the pipeline config's bad inputs:
tests/pipeline/test_pipeline_config.py).

Each case runs the real entry point in-process with the model-loading modules made unimportable
(torch, transformers, the harness, the model build) and the Hub download stubbed out, so a
command that got as far as loading a model would crash instead of exiting 2; a control per
command shows its valid form does get that far. A few cases also run in a fresh interpreter to
show torch is never imported on the way to the error.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

import dynatree.cli
from dynatree.bench.prompts import ids_sha256
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
                "empty": "empty_dir",
                "prompts": "prompts.jsonl",
                "reference": "reference.json",
                "selected": "selected.json",
                "result": "result.json",
                "corpus": "corpus",
                "out": "out/result.json",
                "out_dir": "out/models",
            }[name]
        )


def _write_model(folder: Path, positions: int) -> None:
    """A model directory as locate sees it: config.json and tokenizer files (no weights: any
    attempt to load it would fail, and the loaders are blocked anyway)."""
    folder.mkdir(parents=True)
    config = {"model_type": "gpt_neox", "vocab_size": 32, "max_position_embeddings": positions}
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


@pytest.fixture
def inputs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Inputs:
    i = Inputs(tmp_path)
    _write_model(i.target, positions=64)
    _write_model(i.draft, positions=48)
    i.empty.mkdir()
    _write_jsonl(i.prompts, _prompt_rows(PROMPT_LENGTHS))
    i.reference.write_text(json.dumps(_reference()))
    i.selected.write_text(json.dumps({"method": "linear", "params": {"K": 3}}))
    i.result.write_text(json.dumps(_result()))
    _write_corpus(i.corpus)
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
        lambda i: share(i, tag="dataset=pg19"), "--of", "not --tag's 'pg19'"
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
    "data prompts: no --data-dir (config key data.dir)": case(
        lambda i: prompts(i, data_dir=None), "--data-dir", "data.dir"
    ),
    "data prompts: unknown --dataset": case(lambda i: prompts(i, dataset="c4"), "--dataset", "c4"),
    # --- dynatree models build-embedded ---
    "build-embedded: context_length above max_position_embeddings": case(
        lambda i: build(i, "--set", "context_length=8192"),
        "--set context_length=8192",
        "max_position_embeddings",
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
}


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
        "bench: --out in a read-only location",
        "bench: prompt + T beyond the positions",
        "select: tps_mean null",
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
