"""Every bad `dynatree bench` input: exit 2, one stderr line naming the parameter, no output."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from dynatree.bench import cli as bench_cli
from dynatree.bench.options import build_options
from dynatree.decoding.params import FixedTreeParams


def expect_usage_error(cli, capsys, argv: list[str], out: Path, needle: str) -> str:
    """Run ``argv``; check exit 2, one line naming ``needle``, no output; return the line."""
    capsys.readouterr()
    assert cli(*argv) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err, err
    assert err.startswith("dynatree bench: error:") and needle in err, err
    assert not out.exists()
    assert not list(out.parent.glob(f".{out.name}.*")), "temporary file left behind"
    return err


def replace(argv: list[str], flag: str, value: str) -> list[str]:
    argv = list(argv)
    argv[argv.index(flag) + 1] = value
    return argv


CASES = {
    "unknown method": (["--method", "beam"], {}, "--method"),
    "unknown parameter": (["--method", "linear", "--set", "Q=1"], {}, "--set Q"),
    "malformed --set": (["--method", "linear", "--set", "K"], {}, "--set"),
    "K below 1": (["--method", "linear", "--set", "K=0"], {}, "K=0"),
    "tau_l above tau_h": (
        ["--method", "dynatree", "--set", "tau_l=0.95", "--set", "tau_h=0.9"],
        {},
        "tau_l",
    ),
    "B_min above B_max": (
        ["--method", "dynatree", "--set", "B_min=4", "--set", "B_max=3"],
        {},
        "B_min",
    ),
    "D_0 not below D_max": (["--method", "dynatree", "--set", "D_0=8"], {}, "D_0"),
    "threshold outside (0,1)": (["--method", "fixed_tree", "--set", "tau=1.5"], {}, "tau"),
    "T below 1": (["--method", "ar"], {"--max-new-tokens": "0"}, "--max-new-tokens"),
    "negative warm-up": (["--method", "ar"], {"--warmup": "-1"}, "--warmup"),
    "warm-up leaves nothing": (["--method", "ar"], {"--warmup": "3"}, "--warmup"),
    "threads below 1": (["--method", "ar"], {"--threads": "0"}, "--threads"),
    "missing target": (["--method", "ar"], {"--target": "/nonexistent/target"}, "--target"),
    "missing draft": (["--method", "linear"], {"--draft": "/nonexistent/draft"}, "--draft"),
    "bad device": (["--method", "ar"], {"--device": "tpu"}, "--device"),
    "ar paired with itself": (["--method", "ar", "--paired"], {}, "--paired"),
}


@pytest.mark.parametrize("case", CASES, ids=list(CASES))
def test_bad_argument(cli, capsys, bench_argv, prompts, tmp_path, case):
    extra, replaced, needle = CASES[case]
    out = tmp_path / "out" / "result.json"
    argv = bench_argv(prompts, out, *extra)
    for flag, value in replaced.items():
        argv = replace(argv, flag, value)
    expect_usage_error(cli, capsys, argv, out, needle)


def test_speculative_method_without_draft(cli, capsys, bench_argv, prompts, tmp_path):
    out = tmp_path / "result.json"
    argv = bench_argv(prompts, out, "--method", "linear")
    i = argv.index("--draft")
    expect_usage_error(cli, capsys, argv[:i] + argv[i + 2 :], out, "--draft")


PROMPT_FILES = {
    "missing": (None, "no such file"),
    "empty": ("\n", "no prompts"),
    "bad JSON": ('{"id": "a", "input_ids": [2]}\n{oops\n', "line 2"),
    "no ids": ('{"id": "a", "input_ids": []}\n', "line 1"),
    "bad hash": ('{"id": "a", "input_ids": [2, 3], "sha256": "00"}\n', "sha256"),
    "duplicate id": ('{"id": "a", "input_ids": [2]}\n{"id": "a", "input_ids": [3]}\n', "line 2"),
    "id outside vocabulary": ('{"id": "a", "input_ids": [2, 999]}\n', "999"),
}


@pytest.mark.parametrize("case", PROMPT_FILES, ids=list(PROMPT_FILES))
def test_bad_prompts_file(cli, capsys, bench_argv, tmp_path, case):
    content, needle = PROMPT_FILES[case]
    path = tmp_path / "prompts.jsonl"
    if content is not None:
        path.write_text(content)
    out = tmp_path / "result.json"
    argv = replace(bench_argv(path, out, "--method", "ar"), "--warmup", "0")
    assert needle in expect_usage_error(cli, capsys, argv, out, "--prompts")


@pytest.mark.parametrize("draft", ["draft_other_tokenizer", "draft_small_vocab"])
def test_incompatible_draft(cli, capsys, bench_argv, models, prompts, tmp_path, draft):
    out = tmp_path / "result.json"
    argv = replace(bench_argv(prompts, out, "--method", "linear"), "--draft", str(models[draft]))
    expect_usage_error(cli, capsys, argv, out, "--draft")


def edited_reference(cli, bench_argv, prompts, tmp_path, edits: dict[str, object]) -> Path:
    """An AR result for ``prompts`` with ``edits`` (``a.0.b`` addresses nested fields)."""
    path = tmp_path / "reference.json"
    assert cli(*bench_argv(prompts, path, "--method", "ar")) == 0
    result = json.loads(path.read_text())
    for dotted, value in edits.items():
        *parents, key = dotted.split(".")
        node = result
        for part in parents:
            node = node[int(part)] if part.isdigit() else node[part]
        node[key] = value
    path.write_text(json.dumps(result))
    return path


REFERENCE_EDITS = {
    "not AR": ({"method": "linear"}, "must be ar"),
    "other prompts": ({"rows.1.prompt_sha256": "0" * 64}, "differs"),
    "missing prompt": ({"rows.1.prompt_id": "elsewhere"}, "no row"),
    "too few tokens": ({"protocol.max_new_tokens": 4}, "--max-new-tokens"),
    "other EOS rule": ({"protocol.stop_at_eos": True}, "--stop-at-eos"),
    "not a result": ({"schema": "something/else"}, "not a benchmark result"),
}


@pytest.mark.parametrize("case", REFERENCE_EDITS, ids=list(REFERENCE_EDITS))
def test_bad_reference(cli, capsys, bench_argv, prompts, tmp_path, case):
    edits, needle = REFERENCE_EDITS[case]
    reference = edited_reference(cli, bench_argv, prompts, tmp_path, edits)
    out = tmp_path / "result.json"
    argv = bench_argv(prompts, out, "--method", "ar", "--reference", str(reference))
    assert needle in expect_usage_error(cli, capsys, argv, out, "--reference")


def test_missing_reference(cli, capsys, bench_argv, prompts, tmp_path):
    out = tmp_path / "result.json"
    argv = bench_argv(prompts, out, "--method", "ar", "--reference", str(tmp_path / "no.json"))
    expect_usage_error(cli, capsys, argv, out, "--reference")


def parse_bench(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    bench_cli.register(parser.add_subparsers())
    return parser.parse_args(argv)


def test_params_file_is_the_base_and_set_overrides(bench_argv, prompts, tmp_path):
    params = tmp_path / "selected.json"
    params.write_text(json.dumps({"method": "fixed_tree", "params": {"D": 3, "B": 4}}))
    argv = bench_argv(
        prompts, tmp_path / "r.json", "--method", "fixed_tree",
        "--params-file", str(params), "--set", "B=1",
    )  # fmt: skip
    assert build_options(parse_bench(argv)).params == FixedTreeParams(D=3, B=1)


def test_params_file_method_mismatch(cli, capsys, bench_argv, prompts, tmp_path):
    params = tmp_path / "selected.json"
    params.write_text(json.dumps({"method": "fixed_tree", "params": {"D": 3}}))
    out = tmp_path / "result.json"
    argv = bench_argv(prompts, out, "--method", "linear", "--params-file", str(params))
    expect_usage_error(cli, capsys, argv, out, "--params-file")
