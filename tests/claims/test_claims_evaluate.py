"""Every shipped claim holds on a run that equals the original, and flips when its numbers do.

All numbers here are SYNTHETIC (tests/claims/conftest.py).
"""

from __future__ import annotations

from typing import Any

import pytest
from claims_numbers import CLAIMS_FILE, embedded_run, paper_run, put

from dynatree.claims.checks import FAILS, HOLDS, NOT_COMPARABLE, Facts
from dynatree.claims.evaluate import evaluate, evaluate_claim, instances
from dynatree.claims.records import Claim
from dynatree.claims.spec import load_claims

CLAIMS = load_claims(CLAIMS_FILE).claims


def flip(claim: Claim, numbers: dict) -> None:
    """Change ``numbers`` so that ``claim`` stops holding, by the meaning of its check kind."""
    for _, fields in instances(claim, Facts(numbers)):
        if claim.check == "matches":
            numbers[fields["key"]]["value"] *= 1.5
        elif claim.check == "greater":
            a, b = fields["keys"]
            numbers[a]["value"], numbers[b]["value"] = numbers[b]["value"], numbers[a]["value"]
        elif claim.check == "above":
            numbers[fields["key"]]["value"] = 0.9 * fields["than"]
        elif claim.check == "increasing":
            template, (var, list_key) = fields["series"]["key"], list(fields["series"].items())[1]
            keys = [template.format(**{var: p}) for p in numbers[list_key]["value"]]
            values = [numbers[k]["value"] for k in keys]
            for k, v in zip(keys, reversed(values), strict=True):
                numbers[k]["value"] = v
        elif claim.check == "equals":
            first = fields["expect"][0]
            other = next(g for g in numbers[first["grid"]]["value"] if g != first["value"])
            numbers[first["key"]]["value"] = other
        elif claim.check == "lossless":
            numbers["exact.main.dynatree.n_wrong"]["value"] = 1
        else:  # a new check kind needs its own flip here
            raise AssertionError(f"no flip for check {claim.check}")


def verdict(claim_id: str, numbers: dict) -> Any:
    spec = load_claims(CLAIMS_FILE)
    (claim,) = [c for c in spec.claims if c.id == claim_id]
    return evaluate_claim(claim, spec, numbers)


def test_every_claim_holds_on_a_run_equal_to_the_original(spec):
    rows = evaluate(spec, paper_run())
    assert {r.claim: r.verdict for r in rows} == {c.id: HOLDS for c in spec.claims}
    kinds = {c.check for c in spec.claims}
    assert kinds == {"matches", "greater", "above", "increasing", "equals", "lossless"}


@pytest.mark.parametrize("claim", CLAIMS, ids=lambda c: c.id)
def test_each_claim_flips_both_ways(claim):
    holding = paper_run()
    failing = paper_run()
    flip(claim, failing)
    assert verdict(claim.id, holding).verdict == HOLDS
    row = verdict(claim.id, failing)
    assert row.verdict == FAILS, row.why
    assert row.why and row.reproduced
    assert verdict(claim.id, holding).verdict == HOLDS  # and back: the verdict follows the data


def test_absolute_claims_are_not_comparable_on_the_embedded_default(spec):
    rows = evaluate(spec, embedded_run())
    for row in rows:
        if row.kind == "absolute":
            assert row.verdict == NOT_COMPARABLE
            assert row.reproduced == ""
            for differs in (
                "target models/embedded/target vs EleutherAI/pythia-2.8b",
                "device cpu vs cuda",
                "dtype float32 vs float16",
                "T 128 vs 1500",
            ):
                assert differs in row.why
        else:
            assert row.verdict == HOLDS, (row.claim, row.why)  # relative: checked on every run


def test_another_gpu_keeps_speedups_comparable_but_not_tokens_per_second(spec):
    numbers = paper_run()
    put(numbers, "hardware.device_name", "NVIDIA H100 80GB HBM3")
    rows = {r.claim: r for r in evaluate(spec, numbers)}
    assert rows["table1.wikitext.dynatree_speedup"].verdict == HOLDS
    tps = rows["table1.wikitext.dynatree_tps"]
    assert tps.verdict == NOT_COMPARABLE
    assert "device name NVIDIA H100 80GB HBM3 vs A100" in tps.why


def test_several_distinct_facts_are_not_the_original_protocol():
    numbers = paper_run()
    put(numbers, "protocol.device", ["cpu", "cuda"])
    row = verdict("table1.pg19.dynatree_speedup", numbers)
    assert row.verdict == NOT_COMPARABLE
    assert "device cpu, cuda vs cuda" in row.why


def test_experiment_not_run_is_not_comparable():
    numbers = {k: v for k, v in paper_run().items() if not k.startswith("ablation.")}
    row = verdict("table4.history_adds_speed", numbers)
    assert row.verdict == NOT_COMPARABLE
    assert "numbers.json has no ablation.datasets" in row.why
    numbers = paper_run()
    del numbers["ablation.pg19.history.speedup"]
    row = verdict("table4.history_adds_speed", numbers)
    assert row.verdict == NOT_COMPARABLE
    assert "pg19: numbers.json has no ablation.pg19.history.speedup" in row.why


def test_a_failing_dataset_decides_a_for_each_claim():
    numbers = paper_run()
    put(numbers, "ablation.pg19.history.speedup", 1.0, "x", 2)
    row = verdict("table4.history_adds_speed", numbers)
    assert row.verdict == FAILS
    assert row.why.startswith("wikitext: ") and "; pg19: " in row.why


def test_setting_outside_the_grid_is_not_comparable():
    numbers = paper_run()
    put(numbers, "linear_sweep.pg19.K_values", [2, 3, 4], None, 0)
    put(numbers, "select.pg19.linear.param.K", 4, None, 0)
    row = verdict("linear.pg19.best_K", numbers)
    assert row.verdict == NOT_COMPARABLE
    assert "the sweep did not try K = 5 (swept: 2, 3, 4)" in row.why
    assert row.reproduced == "K=4"


def test_a_claimed_setting_in_the_declared_tie_holds():
    """The race could not separate K = 5 from the selected K = 2 (a tie, resolved to the
    cheaper K): the claim "K = 5 is fastest" is not contradicted; outside the tie it fails."""
    numbers = paper_run()
    put(numbers, "select.pg19.linear.param.K", 2, None, 0)
    assert verdict("linear.pg19.best_K", numbers).verdict == FAILS
    put(numbers, "select.pg19.linear.tie_n", 2, "count", 0)
    put(numbers, "select.pg19.linear.tie.0.param.K", 2, None, 0)
    put(numbers, "select.pg19.linear.tie.1.param.K", 5, None, 0)
    row = verdict("linear.pg19.best_K", numbers)
    assert row.verdict == HOLDS
    assert row.why == (
        "the claimed setting is within noise of the selected one (K is 2, not 5): both are in "
        "a tie of 2 settings the race could not separate"
    )
    put(numbers, "select.pg19.linear.tie.1.param.K", 8, None, 0)
    assert verdict("linear.pg19.best_K", numbers).verdict == FAILS


def test_trend_needs_two_points():
    numbers = paper_run()
    put(numbers, "length_scaling.wikitext.T_values", [1500], None, 0)
    assert verdict("length.dynatree_speedup_grows_with_T", numbers).verdict == NOT_COMPARABLE


def test_lossless_without_any_checked_run_is_not_comparable():
    numbers = paper_run()
    for key in [k for k in numbers if k.endswith(".checked")]:
        numbers[key]["value"] = 0
    row = verdict("lossless", numbers)
    assert row.verdict == NOT_COMPARABLE


def test_lossless_reports_unchecked_runs_and_ignores_other_methods():
    numbers = paper_run()
    put(numbers, "exact.main.dynatree.checked", 1, "count", 0)
    put(numbers, "exact.main.hf_assisted.n_wrong", 3, "count", 0)  # not on the tree loop
    row = verdict("lossless", numbers)
    assert row.verdict == HOLDS
    assert row.why == "every output equals AR; 1 of 6 runs had no AR reference"


def test_lossless_says_what_the_verdict_counts_say():
    """A tie holds but is named with its method (the exactness table counts it); a wrong
    token fails, named too; the reproduced column adds the counts up."""
    numbers = paper_run()
    row = verdict("lossless", numbers)
    assert (row.verdict, row.why) == (HOLDS, "every output equals AR")
    assert row.reproduced == "12 of 12 prompts token-identical, 0 numerical ties, 0 wrong (6 runs)"
    put(numbers, "exact.main.dynatree.n_exact", 3, "count", 0)
    put(numbers, "exact.main.dynatree.n_tie", 1, "count", 0)
    row = verdict("lossless", numbers)
    assert row.verdict == HOLDS
    assert row.why == "every output equals AR except 1 numerical tie (DynaTree: 1)"
    assert row.reproduced.startswith("11 of 12 prompts token-identical, 1 numerical tie, 0 wrong")
    put(numbers, "exact.fixed_tree_sweep.fixed_tree.n_exact", 2, "count", 0)
    put(numbers, "exact.fixed_tree_sweep.fixed_tree.n_wrong", 2, "count", 0)
    row = verdict("lossless", numbers)
    assert row.verdict == FAILS
    assert row.why == "2 outputs differ from AR beyond a numerical tie (Fixed tree: 2)"


def test_lossless_covers_every_tree_loop_method():
    """DynaTree-CA's tie counts (the case of issue 22: the claim said "no output differs"
    while the exactness table counted a DynaTree-CA tie)."""
    numbers = paper_run()
    put(numbers, "exact.main.methods", ["fixed_tree", "dynatree", "dynatree_ca"])
    for name, value in (("runs", 2), ("checked", 2), ("n_exact", 3), ("n_tie", 1), ("n_wrong", 0)):
        put(numbers, f"exact.main.dynatree_ca.{name}", value, "count", 0)
    row = verdict("lossless", numbers)
    assert row.why == "every output equals AR except 1 numerical tie (DynaTree-CA: 1)"


def test_reported_values_are_the_originals(spec):
    rows = {r.claim: r for r in evaluate(spec, paper_run())}
    assert rows["table1.wikitext.ar_tps"].reported == "133.4 +/- 0.5 tok/s"
    assert rows["table1.pg19.dynatree_vs_fixed_tree"].reported == "1.70x vs 1.62x"
    assert rows["table1.wikitext.linear_vs_ar"].reported == "1.47x"
    assert rows["sweep.best_fixed_tree"].reported == "D=8, B=3, tau=0.1"
    assert rows["length.dynatree_speedup_grows_with_T"].reported == "grows with T"
    row = rows["table1.wikitext.dynatree_vs_fixed_tree"]
    assert row.reproduced == "1.64x vs 1.50x"
    assert "point values" in row.why
    assert row.keys.split(";") == [
        "main.wikitext.dynatree.speedup",
        "main.wikitext.fixed_tree.speedup",
    ]
    assert "res/main.wikitext.dynatree.speedup.json" in row.sources.split(";")
