"""`dynatree data prompts`: seeded, byte-reproducible, cut to at most L tokens, clear errors."""

from __future__ import annotations

import hashlib
import json
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest

from dynatree import cli
from dynatree.data.documents import local_documents, strip_gutenberg, wikitext_articles
from dynatree.data.prompts import cut_document
from dynatree.data.splits import pg19_split
from dynatree.models.tokenizer import train_tokenizer

SHARED = Path(__file__).resolve().parents[3] / "shared" / "data"
WORDS = "the a river king old house of and stood near when light before silent green".split()
FIELDS = ["id", "dataset", "source", "text", "input_ids", "n_tokens", "sha256"]


def _sentences(rng: random.Random, n: int) -> str:
    out = []
    for _ in range(n):
        words = [rng.choice(WORDS) for _ in range(rng.randint(5, 14))]
        out.append(" ".join(words).capitalize() + rng.choice([".", ".", "!", "?"]))
    return " ".join(out)


def _write_corpus(root: Path, n_articles: int = 8, n_books: int = 24) -> Path:
    rng = random.Random(0)
    wiki = root / "wikitext-2-raw"
    wiki.mkdir(parents=True)
    articles = []
    for i in range(n_articles):
        body = f" = = Section = = \n \n {_sentences(rng, 30)} \n"
        articles.append(f" \n = Article {i} = \n \n {_sentences(rng, 30)} \n \n{body}")
    (wiki / "wiki.test.raw").write_text("".join(articles))
    (wiki / "wiki.valid.raw").write_text(" = Valid = \n \n " + _sentences(rng, 20) + "\n")
    books = root / "gutenberg"
    books.mkdir()
    for i in range(n_books):
        lines = "\n".join(_sentences(rng, 4) for _ in range(40))
        text = (
            f"The Project Gutenberg eBook {i}\r\n\r\n*** START OF THE PROJECT GUTENBERG EBOOK "
            f"{i} ***\r\n{lines}\r\n*** END OF THE PROJECT GUTENBERG EBOOK {i} ***\r\nLicense"
        )
        (books / f"pg{i}.txt").write_text(text)
    return root


@pytest.fixture(scope="module")
def tokenizer_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("tok")
    rng = random.Random(1)
    train_tokenizer([_sentences(rng, 200)], vocab_size=320).save_pretrained(out)
    return out


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    return _write_corpus(tmp_path / "data")


def _prompts(monkeypatch: pytest.MonkeyPatch, *argv: str) -> int:
    monkeypatch.setattr(cli, "_STAGES", ("dynatree.data.cli",))
    return cli.main(["data", "prompts", *argv])


def _argv(corpus: Path, tok: Path, out: Path, **kw: object) -> list[str]:
    opts = {
        "dataset": "wikitext",
        "data-dir": corpus,
        "tokenizer": tok,
        "n": 4,
        "max-tokens": 60,
        "seed": 7,
        "out": out,
        **kw,
    }
    return [x for k, v in opts.items() for x in (f"--{k}", str(v))]


@pytest.mark.parametrize("dataset", ["wikitext", "pg19"])
def test_prompts_are_byte_identical_and_valid(
    monkeypatch: pytest.MonkeyPatch,
    corpus: Path,
    tokenizer_dir: Path,
    tmp_path: Path,
    dataset: str,
) -> None:
    from transformers import AutoTokenizer

    a, b, c = tmp_path / "a.jsonl", tmp_path / "b.jsonl", tmp_path / "c.jsonl"
    for out, seed in ((a, 7), (b, 7), (c, 8)):
        argv = _argv(corpus, tokenizer_dir, out, dataset=dataset, seed=seed, **{"min-tokens": 20})
        assert _prompts(monkeypatch, *argv) == 0
    assert a.read_bytes() == b.read_bytes()
    assert a.read_bytes() != c.read_bytes()
    tok = AutoTokenizer.from_pretrained(tokenizer_dir)
    rows = [json.loads(line) for line in a.read_text().splitlines()]
    assert [r["id"] for r in rows] == [f"{dataset}-{i:03d}" for i in range(4)]
    assert len({r["source"] for r in rows}) == 4
    for r in rows:
        assert list(r) == FIELDS
        assert r["dataset"] == dataset
        assert 20 <= r["n_tokens"] == len(r["input_ids"]) <= 60
        assert r["input_ids"] == tok(r["text"], add_special_tokens=False)["input_ids"]
        ids_text = ",".join(map(str, r["input_ids"])).encode()
        assert r["sha256"] == hashlib.sha256(ids_text).hexdigest()
        assert r["text"][-1] in ".!?"  # cut at a sentence end
        assert "START OF" not in r["text"]
        if dataset == "pg19":
            assert pg19_split(r["source"]) == "test"
        else:
            assert r["source"].startswith("wiki.test.raw#")


@pytest.mark.parametrize("dataset", ["wikitext", "pg19"])
def test_a_smaller_set_is_the_first_prompts_of_a_larger_one(
    monkeypatch: pytest.MonkeyPatch, corpus: Path, tokenizer_dir: Path, tmp_path: Path, dataset: str
) -> None:
    """The pipeline times the main table on more prompts than the other experiments and pairs
    their results by prompt id: the ids must name the same prompts in both files."""
    small, large = tmp_path / "small.jsonl", tmp_path / "large.jsonl"
    for out, n in ((small, 2), (large, 4)):
        argv = _argv(corpus, tokenizer_dir, out, dataset=dataset, n=n, **{"min-tokens": 20})
        assert _prompts(monkeypatch, *argv) == 0
    large_lines = large.read_text().splitlines()
    assert small.read_text().splitlines() == large_lines[:2]
    assert len(large_lines) == 4


def test_prompts_run_without_torch(corpus: Path, tokenizer_dir: Path, tmp_path: Path) -> None:
    """The prompts rule's conda environment (envs/data.yaml) has tokenizers but no torch."""
    out = tmp_path / "p.jsonl"
    script = (
        "import sys\nsys.modules['torch'] = None  # import torch fails, as in envs/data.yaml\n"
        "from dynatree.cli import main\nsys.exit(main(sys.argv[1:]))\n"
    )
    src = str(Path(cli.__file__).parents[1])
    run = subprocess.run(
        [sys.executable, "-c", script, "data", "prompts", *_argv(corpus, tokenizer_dir, out)],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": src},
        timeout=120,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    assert len(out.read_text().splitlines()) == 4


def test_cut_keeps_short_documents_whole_and_cuts_long_ones(tokenizer_dir: Path) -> None:
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(tokenizer_dir)
    short = "The river stood near the house."
    assert cut_document(short, tok, 100)[0] == short
    long = _sentences(random.Random(3), 50)
    for limit in (5, 17, 40, 90):
        text, ids = cut_document(long, tok, limit)
        assert 0 < len(ids) <= limit and long.startswith(text)


def test_gutenberg_and_wikitext_parsing(tmp_path: Path) -> None:
    book = "Header\n*** START OF THE BOOK ***\nBody line.\n*** END OF THE BOOK ***\nFooter"
    assert strip_gutenberg(book, tmp_path / "b.txt", "--data-dir") == "Body line."
    raw = " \n = One = \n \n Text .\n \n = = Sub = = \n More .\n \n = Two = \n \n Other .\n"
    articles = wikitext_articles(raw)
    assert len(articles) == 2 and "= = Sub = =" in articles[0]


def _fails(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
    out: Path,
    *needles: str,
) -> None:
    assert _prompts(monkeypatch, *argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    for needle in needles:
        assert needle in err
    assert not out.exists()


def test_errors_are_one_line_and_write_nothing(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    corpus: Path,
    tokenizer_dir: Path,
    tmp_path: Path,
) -> None:
    out = tmp_path / "p.jsonl"
    _fails(monkeypatch, capsys, _argv(tmp_path / "nope", tokenizer_dir, out), out, "--data-dir")
    _fails(monkeypatch, capsys, _argv(corpus, tokenizer_dir, out, n=50), out, "--n 50", "lower")
    _fails(
        monkeypatch,
        capsys,
        _argv(corpus, tokenizer_dir, out, **{"min-tokens": 99}),
        out,
        "--min-tokens",
    )
    test_book = next(
        p for p in sorted((corpus / "gutenberg").iterdir()) if pg19_split(p.name) == "test"
    )
    test_book.write_bytes(b"\xff\xfe\x00garbage")
    _fails(
        monkeypatch,
        capsys,
        _argv(corpus, tokenizer_dir, out, dataset="pg19"),
        out,
        test_book.name,
        "restore",
    )
    (corpus / "wikitext-2-raw" / "wiki.test.raw").write_text("")
    _fails(monkeypatch, capsys, _argv(corpus, tokenizer_dir, out), out, "empty")


@pytest.mark.skipif(not SHARED.is_dir(), reason="offline corpus ../shared/data not present")
def test_real_corpus_documents_load() -> None:
    wiki = local_documents("wikitext", SHARED)
    books = local_documents("pg19", SHARED)
    assert len(wiki) > 20 and len(books) >= 10
    assert all("*** START OF" not in b.text and "*** END OF" not in b.text for b in books)
    assert all(d.text.startswith("= ") for d in wiki)
