"""The paper renders from a SYNTHETIC result set; every number in its body traces to numbers.json.

The result files generated here are fake test data (tests/support/synthetic.py), tagged
synthetic=true; nothing in them is a measurement.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from synthetic import write_numbers, write_profile, write_selections, write_suite, write_tables

from dynatree.claims.evaluate import evaluate
from dynatree.claims.output import write
from dynatree.claims.spec import load_claims
from dynatree.errors import UsageError
from dynatree.figures.cli import FIGURES
from dynatree.numbers_file import format_value, load_numbers
from dynatree.paper import audit as audit_mod
from dynatree.paper.compile import compile_pdf, overfull
from dynatree.paper.render import load_values, render

TEMPLATES = Path(__file__).resolve().parents[2] / "paper"
CLAIMS_FILE = TEMPLATES.parent / "config" / "claims.yaml"


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    """numbers.json from synthetic results, and stand-in figure PDFs (rendering is tested in
    tests/figures; here only their presence matters)."""
    root = tmp_path_factory.mktemp("paper")
    profiles = [write_profile(root / f"{r}.json", regime=r) for r in ("eager", "compiled")]
    suite = write_suite(root / "results")
    selections = write_selections(root / "select", suite, profiles[0])
    tables = write_tables(root / "aggregate", suite, profiles)
    numbers = write_numbers(root / "numbers.json", tables, selections, profiles)
    figures = root / "figures"
    figures.mkdir()
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    for name in FIGURES:
        fig, ax = plt.subplots(figsize=(2, 1))
        ax.plot([0, 1], [0, 1])
        fig.savefig(figures / f"{name}.pdf")
        plt.close(fig)
    return root, numbers, figures


@pytest.fixture(scope="module")
def claims(inputs):
    """results/claims.csv (and its sidecar) for the synthetic numbers."""
    root, numbers, _ = inputs
    spec = load_claims(CLAIMS_FILE)
    out = root / "claims.csv"
    write(evaluate(spec, load_numbers(numbers)), spec, numbers, out)
    return out


def test_claims_table_and_sentence_are_served_and_audited(inputs, claims, tmp_path):
    _, numbers, figures = inputs
    tex = render(numbers, figures, tmp_path / "build", TEMPLATES, claims).read_text()
    assert "\\section{Claims checked}" in tex and "\\label{tab:claims}" in tex
    assert tex.count("claims of the original paper that we check") == 2  # abstract, conclusion
    assert "219.5 tok/s" in tex  # the original's value, served from the claims file
    assert audit_mod.audit(tex, load_values(numbers, claims)) == []
    # Without the claims entries the original's numbers are unaccounted for: they are not in
    # numbers.json, and only the claims file (through claims.csv) vouches for them.
    assert "219.5" in audit_mod.audit(tex, load_numbers(numbers))


def test_rendered_numbers_all_come_from_numbers_json(inputs, tmp_path):
    root, numbers, figures = inputs
    tex = render(numbers, figures, tmp_path / "build", TEMPLATES).read_text()
    nums = json.loads(numbers.read_text())["numbers"]
    literals = audit_mod.numeric_literals(tex)
    assert len(literals) > 150  # the tables and prose really are full of numbers
    assert nums["main.wikitext.dynatree.tps_mean"]["value"] is not None
    assert format_value(nums["main.wikitext.dynatree.tps_mean"]["value"], 1) in tex
    assert audit_mod.audit(tex, nums) == []
    assert "\x1e" not in tex and "\x1f" not in tex
    assert "SYNTHETIC TEST DATA" in tex
    assert (tmp_path / "build" / "refs.bib").is_file()


@pytest.mark.parametrize("typed", ["219.5", "we saw a 1.64\\x{} speedup", "+9.4\\%", "0.75"])
def test_hand_typed_number_fails_the_render(inputs, tmp_path, typed):
    _, numbers, figures = inputs
    templates = tmp_path / "templates"
    shutil.copytree(TEMPLATES, templates)
    conclusion = templates / "sections" / "conclusion.tex.j2"
    conclusion.write_text(conclusion.read_text() + f"\nIn the paper, {typed} tokens/s.\n")
    with pytest.raises(UsageError, match="numbers.json does not contain"):
        render(numbers, figures, tmp_path / "build", templates)
    assert not (tmp_path / "build" / "main.tex").exists()


def test_literal_extraction_skips_markup():
    tex = r"""\documentclass[10pt]{article}\begin{document}
    See Table~\ref{tab:x2} \citep{leviathan2023fast}.
    \includegraphics[width=0.5\linewidth]{fig1}
    \begin{tabular}{lrr} \cmidrule(lr){2-3} \multicolumn{2}{c}{A} & 7.25 \\[2pt] \end{tabular}
    % a comment 99
    \end{document}"""
    assert audit_mod.numeric_literals(tex) == ["7.25"]


def test_missing_key_and_missing_figure_are_named(inputs, tmp_path):
    _, numbers, figures = inputs
    templates = tmp_path / "templates"
    shutil.copytree(TEMPLATES, templates)
    conclusion = templates / "sections" / "conclusion.tex.j2"
    conclusion.write_text(conclusion.read_text() + '\n\\VAR{n("main.nowhere.tps_mean")}\n')
    with pytest.raises(UsageError, match="main.nowhere.tps_mean"):
        render(numbers, figures, tmp_path / "build", templates)
    partial = tmp_path / "figs"
    shutil.copytree(figures, partial)
    (partial / "ablation.pdf").unlink()
    with pytest.raises(UsageError, match="ablation.pdf"):
        render(numbers, partial, tmp_path / "build", TEMPLATES)


def test_overfull_names_what_runs_visibly_past_its_column(tmp_path):
    log = tmp_path / "main.log"
    log.write_text(
        "Overfull \\hbox (38.24553pt too wide) in paragraph at lines 546--557\n"
        "Overfull \\hbox (0.4pt too wide) in paragraph at lines 12--13\n"  # invisible
        "Overfull \\hbox (3.1pt too wide) detected at line 640\n"
        "Underfull \\hbox (badness 10000) in paragraph at lines 1--2\n"
    )
    assert overfull(log) == [(38.24553, "546--557"), (3.1, "640")]
    assert overfull(tmp_path / "missing.log") == []


@pytest.mark.skipif(shutil.which("latexmk") is None, reason="TeX not installed")
def test_a_digest_fits_its_line_wherever_it_falls(tmp_path):
    """The appendix prints the claims file's SHA-256 (64 characters, a third of a page's line)
    after a path as long as the user's checkout: set as one word, it ran past the line on CI's
    longer checkout path. Typeset with the template's ``\\digest`` it breaks anywhere; every
    offset of it in a line must fit, and the same text as one word must not (so this can fail)."""
    preamble = [
        line
        for line in (TEMPLATES / "main.tex.j2").read_text().splitlines()
        if line.startswith(
            ("\\usepackage{url}", "\\urlstyle", "\\Urlmuskip", "\\DeclareUrlCommand\\digest")
        )
    ]
    assert len(preamble) == 4
    sha = "e5c4b61663cda5320c7433ba086b8518b9f102f041691b9b70d92e51533baf07"

    def overflows(word: str) -> list:
        body = "\n\n".join(
            f"{'read from claims ' * k}(version 3, hash {word}), against" for k in range(24)
        )
        tex = tmp_path / word[1:4] / "main.tex"
        tex.parent.mkdir()
        tex.write_text(
            "\n".join(
                [
                    "\\documentclass{article}",
                    *preamble,
                    "\\begin{document}",
                    body,
                    "\\end{document}",
                    "",
                ]
            )
        )
        compile_pdf(tex, tex.with_suffix(".pdf"))
        return overfull(tex.parent / "latexmk" / "main.log")

    assert overflows(f"\\digest{{{sha}}}") == []
    assert overflows(f"\\texttt{{{sha}}}") != []


@pytest.mark.skipif(shutil.which("latexmk") is None, reason="TeX not installed")
def test_compile_produces_a_pdf(inputs, claims, tmp_path):
    _, numbers, figures = inputs
    tex = render(numbers, figures, tmp_path / "build", TEMPLATES, claims)
    pdf = compile_pdf(tex, tmp_path / "out" / "paper.pdf")
    assert pdf.read_bytes().startswith(b"%PDF")
    assert overfull(tex.parent / "latexmk" / "main.log") == []  # every table fits its column
    broken = tmp_path / "broken" / "main.tex"
    broken.parent.mkdir()
    broken.write_text("\\documentclass{article}\\begin{document}\\undefinedmacro\\end{document}\n")
    with pytest.raises(UsageError, match="Undefined control sequence"):
        compile_pdf(broken, tmp_path / "broken.pdf")
    assert not (tmp_path / "broken.pdf").exists()


def exactness_variant(numbers: Path, out: Path, status: str) -> Path:
    """numbers.json with the verdict counts edited to give ``status`` (exact, ties, wrong)."""
    doc = json.loads(numbers.read_text())
    nums = doc["numbers"]
    exp = nums["exact.experiments"]["value"][0]
    method = nums[f"exact.{exp}.methods"]["value"][0]
    count = {"exact": 0, "ties": 3, "wrong": 1}[status]
    name = "n_wrong" if status == "wrong" else "n_tie"
    for key in (f"exact.all.{name}", f"exact.{exp}.{method}.{name}"):
        nums[key]["value"] = count
    nums["exact.all.status"]["value"] = status
    if status == "wrong":
        nums["exact.all.wrong_sources"]["value"] = [f"results/bench/{exp}/wikitext/{method}/x.json"]
    out.write_text(json.dumps(doc))
    return out


@pytest.mark.parametrize(
    ("status", "says"),
    [
        ("exact", "token-identical to autoregressive decoding on every prompt of all"),
        ("ties", "exact up to 3 numerical ties: every other prompt"),
        ("wrong", "Correctness failure: on 1 prompt a speculative decoder"),
    ],
)
def test_exactness_prose_follows_the_verdicts(inputs, tmp_path, status, says):
    _, numbers, figures = inputs
    variant = exactness_variant(numbers, tmp_path / "numbers.json", status)
    tex = " ".join(render(variant, figures, tmp_path / "build", TEMPLATES).read_text().split())
    abstract = tex[tex.index("\\begin{abstract}") : tex.index("\\end{abstract}")]
    assert says in abstract
    if status != "exact":
        assert "token-identical to autoregressive decoding on every prompt" not in tex
    if status == "wrong":
        assert "x.json" in tex and "\\textcolor{red}{\\textbf{1}}" in tex


def test_renders_results_made_outside_a_git_checkout(inputs, tmp_path):
    """A tarball or a cluster copy of the repo has no git: its results record no commit, and
    the paper says so instead of failing (the SLURM stage of CI runs from such a copy)."""
    _, numbers, figures = inputs
    document = json.loads(numbers.read_text())
    dropped = [k for k in document["numbers"] if k.startswith("provenance.git_")]
    assert dropped  # the synthetic results do record a commit
    for key in dropped:
        del document["numbers"][key]
    no_git = tmp_path / "numbers.json"
    no_git.write_text(json.dumps(document))
    tex = render(no_git, figures, tmp_path / "build", TEMPLATES).read_text()
    assert "no commit recorded" in tex and "no code commit" in tex


def test_setup_names_every_experiments_prompts_and_the_ablations_sizing(inputs, tmp_path):
    """Experiments are timed on prompt counts of their own (experiments.<name>.n_prompts,
    .parts): the setup names each, and says how many prompts the ablation's comparisons need
    for their verdicts to repeat (numbers.json: sd_pct, n_stable), issue 22."""
    from dynatree.experiments import EXPERIMENTS

    _, numbers, figures = inputs
    facts = json.loads(numbers.read_text())["numbers"]
    tex = " ".join(render(numbers, figures, tmp_path / "build", TEMPLATES).read_text().split())
    for name, experiment in EXPERIMENTS.items():
        n = facts[f"protocol.experiment.{name}.n_measured"]["value"]
        parts = facts[f"protocol.experiment.{name}.parts"]["value"]
        shown = f"{experiment.label} {n}" + (f" ({parts}~parts run apart)" if parts > 1 else "")
        assert shown in tex, shown
    key = "ablation.wikitext.breadth_depth.vs_fixed"
    sd, needed = facts[f"{key}.sd_pct"]["value"], facts[f"{key}.n_stable"]["value"]
    assert f"$s={sd:.1f}$\\% over 3 prompts, so $n={needed}$" in tex
    assert "from $n = (z_{95}\\,s/(m - |\\delta|))^2$ prompts" in tex
    assert "$n = ((z_{95} + z_{95})\\,s/\\delta)^2$" in tex


def test_setup_says_the_main_table_ran_in_parts_only_when_it_did(inputs, tmp_path):
    _, numbers, figures = inputs
    document = json.loads(numbers.read_text())
    parts = document["numbers"]["protocol.parts"]["value"]
    tex = " ".join(render(numbers, figures, tmp_path / "parts", TEMPLATES).read_text().split())
    assert f"each main-table configuration is timed as {parts} jobs" in tex
    del document["numbers"]["protocol.parts"]
    whole = tmp_path / "numbers.json"
    whole.write_text(json.dumps(document))
    tex = render(whole, figures, tmp_path / "whole", TEMPLATES).read_text()
    assert "main-table configuration is timed as" not in " ".join(tex.split())


def test_regimes_section_compares_each_method_with_the_ar_of_its_regime(inputs, tmp_path):
    """The eager-vs-compiled table and prose are computed: the ratios come from numbers.json,
    and the section is left out when the experiment did not run."""
    _, numbers, figures = inputs
    document = json.loads(numbers.read_text())
    facts = document["numbers"]
    tex = " ".join(render(numbers, figures, tmp_path / "with", TEMPLATES).read_text().split())
    assert "\\label{tab:regimes}" in tex

    def shown(key: str) -> str:
        return format_value(facts[key]["value"], facts[key]["digits"])

    ratio = "regimes.wikitext.dynatree_ca.speedup_ratio"
    assert facts[ratio]["value"] > 1  # the synthetic compiled regime gains more over its AR
    compiled = shown("regimes.wikitext.compiled.dynatree_ca.speedup")
    assert f"{compiled}\\x{{}} ({shown(ratio)} times)" in tex
    assert f"compiling makes AR {shown('regimes.wikitext.ar.tps_ratio')} times as fast" in tex
    assert f"$c={shown('floor.compiled.c')}$" in tex and f"{shown('floor.target_ms')}~ms" in tex
    assert facts["floor.compiled.mode"]["value"] == "aot-inductor"  # the profile's, so:
    assert "here ahead of time by AOTInductor" in tex and "CUDA graphs" not in tex
    assert f"costs {shown('floor.compiled.t_ratio.n16')} times one token compiled" in tex
    assert facts["floor.t_ratio.n16"]["value"] == 4.0  # the synthetic products: flat to 4, then n/4
    assert f"16 vectors takes {shown('floor.t_ratio.n16')} times as long" in tex
    assert f"the draft's step would be $c={shown('floor.c')}$ of the target's" in tex
    at_floor = shown("main.wikitext.dynatree_ca.floor_speedup")
    assert f"DynaTree-CA's iterations on WikiText-2 would give {at_floor}\\x{{}}" in tex
    for key in [k for k in facts if k.startswith(("regimes.", "floor."))]:
        del facts[key]
    without = tmp_path / "numbers.json"
    without.write_text(json.dumps(document))
    tex = render(without, figures, tmp_path / "without", TEMPLATES).read_text()
    assert "\\label{tab:regimes}" not in tex and "compiled forwards}" not in tex
