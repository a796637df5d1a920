"""An evaluation of plans solved for least cost (a lab's) ranked by their present cost, lower first
(`fleetopt evaluate --rank-by cost|cost-cvar95`, by default for such plans; docs/evaluation.md,
"Outputs"): the ranking, how sure its first place is, the refusal of a present cost where the plans have
none, and the terminal's ranking line."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from conftest import run_cli
from evaluate_builders import batch, with_risk
from milp_builders import base_model, data_of, sku

from fleetopt import api
from fleetopt.core.plan import Plan
from fleetopt.core.units import format_usd
from fleetopt.errors import InputError
from fleetopt.evaluate.engine import evaluate
from fleetopt.evaluate.first_place import first_place_words
from fleetopt.evaluate.result_fields import PRESENT_COST
from fleetopt.evaluate.scenarios import generate_scenarios
from fleetopt.evaluate.simulate import SimulationConstants, simulate
from fleetopt.milp.solve import solve

SCENARIOS, SEED = 40, 3

# the refusal of a ranking by a present cost of plans that have none, as the terminal says it
REFUSED = ("--rank-by cost ranks plans by their mean present cost, which only plans solved with --objective "
           "cost have: these were not, or their plan file does not say so (an NPV plan has no present cost); "
           "rank them by cvar5, mean, p5 or any-default")


def _words(text: str) -> str:
    """``text`` with its line breaks and runs of spaces as one space (the terminal wraps its lines)."""
    return " ".join(text.split())


@pytest.fixture(scope="module")
def three_plans():
    """formulation §6's levelized case (tests/test_present_cost.py: one SKU, no discounting, opex, power
    or interest; $40,250 on the forecast), its resale values moving 40 % a year, and three plans: the cost
    optimum, a plan that buys nothing (no fleet at the start, no GPU, no cost: $0 in every scenario) and
    the optimum again. (data, their batch, each pair's present cost by simulate, the evaluation computing
    the present cost, and the same without it: plans solved for NPV, as far as it knows)."""
    d = base_model()
    d["skus"]["A"] = sku(training_throughput=2.0, inference_throughput=2.0)
    d["market"]["demand_gpus"] = {"training": [10.0, 21.0, 21.0, 21.0], "inference": 0.0}
    d["horizon"]["discount_rate_annual"] = 0.0
    plan = solve(data_of(d), mip_gap=1e-9, objective="cost").plan
    data = data_of(with_risk(d, resale_value_volatility_annual=0.4))
    plans = batch(data, [plan, Plan.empty(data), plan], ["milp", "nothing bought", "milp again"])
    consts = replace(SimulationConstants.from_data(data), present_cost=True)
    cost = simulate(consts, plans, generate_scenarios(data, SEED, 0, SCENARIOS))[PRESENT_COST]
    priced = evaluate(data, plans, SCENARIOS, SEED, backend="numpy", present_cost=True)
    unpriced = evaluate(data, plans, SCENARIOS, SEED, backend="numpy", present_cost=False)
    return data, plans, cost, priced, unpriced


def test_plans_solved_for_least_cost_are_ranked_by_their_present_cost_lower_first_by_default(three_plans):
    """The plan that buys nothing costs $0 in every scenario, the optimum about $40,000 (its resale values
    move): by mean present cost, and by CVaR95, it comes first, then the optimum and the optimum again,
    tied, in the plans' order; by CVaR5 NPV, the ranking an NPV plan gets by default, the optimum, which
    values its GPUs' use at market prices, comes first."""
    _, _, cost, priced, _ = three_plans
    assert not cost[1].any() and cost[0].min() > 35_000  # by hand: nothing bought costs nothing
    assert priced.metrics["present_cost_mean_usd"].tolist() == pytest.approx(cost.mean(axis=1), rel=1e-12)
    cheapest_first = ["nothing bought", "milp", "milp again"]
    assert priced.default_rank == "cost"
    assert priced.ranked()["plan"].tolist() == cheapest_first
    assert priced.ranked("cost")["plan"].tolist() == cheapest_first
    assert priced.ranked("cost-cvar95")["plan"].tolist() == cheapest_first
    assert priced.ranked("cvar5")["plan"].tolist() == ["milp", "milp again", "nothing bought"]


def test_the_first_place_s_lead_and_its_paired_error_are_of_the_present_costs(three_plans):
    """The first plan's lead over the second is the optimum's mean cost less nothing's, and its paired
    standard error the standard error of the optimum's costs less $0, scenario by scenario: their own
    (sample standard deviation over sqrt(40)); a notebook's In short says it."""
    _, _, cost, priced, _ = three_plans
    by_hand = cost[0].std(ddof=1) / np.sqrt(SCENARIOS)
    assert priced.first_place_error() == pytest.approx(by_hand, rel=1e-9)
    assert priced.first_place_error("cost") == pytest.approx(by_hand, rel=1e-9)
    said = _words(priced._in_short()[0])
    assert said.startswith("In short: The best plan by mean present cost, “nothing bought”: present cost $0")
    assert (f"It costs {format_usd(cost[0].mean())} less on average than the second plan, “milp” (mean "
            f"present cost), against a standard error of the paired difference of $200 on the same "
            f"{SCENARIOS} scenarios: beyond two standard errors") in said
    assert "best by mean present cost 'nothing bought' mean present cost $0, CVaR95 $0" in repr(priced)


def test_a_first_place_by_present_cost_is_said_as_a_saving_as_a_cost_sweep_s_pick():
    """By mean present cost an evaluation's first place is said in a cost sweep's words (lead.COST_LEAD),
    by CVaR95 as a saving in the costliest 5 % of futures: plans of $700M and $712M on average (CVaR95
    $900M and $930M), a paired error of $2M, and a tie (two of $700M) broken in the plans' order."""
    ranked = pd.DataFrame({"plan": ["A", "B"], "present_cost_mean_usd": [700e6, 712e6],
                           "present_cost_cvar95_usd": [900e6, 930e6]})
    assert first_place_words(ranked, "cost", 300, 2e6) == (
        " It costs $12.0M less on average than the second plan, “B” (mean present cost), against a standard "
        "error of the paired difference of $2.0M on the same 300 scenarios: beyond two standard errors, so "
        "these scenarios tell the two apart.")
    assert first_place_words(ranked, "cost-cvar95", 300, 2e6).startswith(
        " It costs $30.0M less on average in the costliest 5 % of futures than the second plan, “B” (CVaR95 "
        "present cost), against a standard error")
    tied = ranked.assign(present_cost_mean_usd=700e6)
    assert first_place_words(tied, "cost", 300, 2e6) == (
        " It ties with the second plan, “B”, on mean present cost: the two are not told apart (exactly equal "
        "figures are ranked in the plans' order).")


def test_a_ranking_by_present_cost_of_plans_without_one_is_refused_by_name(three_plans):
    """Plans evaluated without their present cost (solved for NPV: an NPV plan has none) rank by CVaR5 NPV
    by default; a ranking by either present cost is refused, naming it and the rankings that apply, in
    Python (rank_by) and in writing the run (ranking's rank_by)."""
    _, _, _, priced, unpriced = three_plans
    assert unpriced.default_rank == "cvar5"
    assert unpriced.ranked()["plan"].tolist() == priced.ranked("cvar5")["plan"].tolist()
    for rank_by in ("cost", "cost-cvar95"):
        named = rf"^rank_by \(--rank-by\) {rank_by} ranks plans by their"
        with pytest.raises(InputError, match=named) as refused:
            unpriced.ranked(rank_by)
        assert refused.value.typed().endswith("(an NPV plan has no present cost); rank them by cvar5, mean, "
                                              "p5 or any-default")


def test_an_evaluation_with_its_present_cost_counts_its_plans_solved_for_least_cost_throughout(three_plans):
    """One rule says whether plans were solved for least cost: every plan has a present cost. Evaluated
    with it (``present_cost=True``, whatever their plan file says), the plans rank by mean present cost by
    default, first the plan that buys nothing ($0), and the In short gives the demand it serves, none of
    the 10 then 21 GPUs asked; without it, by CVaR5 NPV, no word of the demand."""
    _, plans, _, priced, unpriced = three_plans
    assert not plans.solved_for_cost and priced.solved_for_cost and not unpriced.solved_for_cost
    assert priced.default_rank == "cost" and priced.ranked()["plan"].iloc[0] == "nothing bought"
    said = _words(priced._repr_markdown_())
    assert "In short: The best plan by mean present cost, “nothing bought”: present cost" in said
    assert "It serves 0.0% of the demand on average over 40 futures, as bought" in said
    assert "of the demand on average" not in _words(unpriced._repr_markdown_())


@pytest.fixture(scope="module")
def lab_runs(tmp_path_factory):
    """`fleetopt sweep lab --objective cost` (5 candidates, 20 scenarios: the forecast optimum, twice with a
    cash buffer that never acts, and solved for 25 % and 50 % more demand, dearer): its folder of plans
    solved for least cost, and `fleetopt solve tiny`'s, solved for NPV."""
    root = tmp_path_factory.mktemp("lab-rank")
    api.write_sweep_run(api.sweep("lab", objective="cost", candidates=5, scenarios=20), root / "sweep")
    api.write_solve_run(api.solve("tiny"), out=root / "npv")
    return root


def _ranked(folder) -> tuple[list[dict], dict]:
    """An evaluation's plans' metrics (summary.json's) by mean present cost, lower first (the plan file's
    order on a tie), and its ranking."""
    summary = json.loads((folder / "summary.json").read_text())
    return sorted(summary["metrics"], key=lambda row: row["present_cost_mean_usd"]), summary["ranking"]


def test_evaluate_ranks_a_lab_s_plans_by_mean_present_cost_and_says_it_is_the_default(lab_runs):
    """Without --rank-by a lab's plans are printed cheapest first under the ranking line, which says it is
    their default, and summary.json keeps the ranking by cost with its lead's error (USD); given, it says
    no default; --rank-by cvar5 ranks them by their NPV as before."""
    code, out, err = run_cli("evaluate", "--plans", str(lab_runs / "sweep"), "--scenarios", "30", "--out",
                             str(lab_runs / "E"))  # fmt: skip
    assert code == 0, err
    said = _words(out)
    order, ranking = _ranked(lab_runs / "E")
    assert ranking["rank_by"] == "cost" and "lead_se_usd" in ranking
    assert order[0]["plan"] == "milp: forecast" and order[-1]["plan"] == "milp: demand +50%"
    assert ("best plans by mean present cost (the default for plans solved for least cost): what they cost "
            "over 30 scenarios") in said
    rows = [said.index(f"│ {row['plan']} │ {format_usd(row['present_cost_mean_usd'])} │") for row in order]
    assert rows == sorted(rows)  # the cost table cheapest first
    assert "the same plans' NPV, imputed" in said and "best plans by CVaR5 NPV" not in said
    assert "In short: The best plan by mean present cost, “milp: forecast”" in said
    code, out, err = run_cli("evaluate", "--plans", str(lab_runs / "sweep"), "--scenarios", "30", "--rank-by",
                             "cost", "--out", str(lab_runs / "G"))  # fmt: skip
    assert code == 0 and "best plans by mean present cost: what they cost" in _words(out), err
    assert "the default" not in out
    code, out, err = run_cli("evaluate", "--plans", str(lab_runs / "sweep"), "--scenarios", "30", "--rank-by",
                             "cvar5", "--out", str(lab_runs / "N"))  # fmt: skip
    assert code == 0 and "best plans by CVaR5 NPV" in _words(out), err
    assert _ranked(lab_runs / "N")[1]["rank_by"] == "cvar5"


def test_evaluate_refuses_a_present_cost_ranking_of_npv_plans_before_any_work(lab_runs):
    """An NPV plan has no present cost: `--rank-by cost` of it is refused in one line, exit 2, no folder."""
    code, out, err = run_cli("evaluate", "--plans", str(lab_runs / "npv"), "--scenarios", "20", "--rank-by",
                             "cost", "--out", str(lab_runs / "R"))  # fmt: skip
    assert code == 2 and out == "" and "Traceback" not in err, err
    assert _words(err) == f"error: {REFUSED}"
    assert not (lab_runs / "R").exists()


def test_a_finished_lab_evaluation_resumed_with_its_default_ranking_is_no_change(lab_runs):
    """A lab's evaluation finished ranked by cost, its default: its retry with --rank-by cost changes
    nothing ("nothing to resume", exit 0), where --rank-by cvar5 is a new ranking, refused."""
    job = api.prepare_evaluation(lab_runs / "sweep", scenarios=10, seed=3)
    job.start(lab_runs / "B")  # started, stopped before any chunk: a job to resume
    code, out, err = run_cli("evaluate", "--resume", str(lab_runs / "B"))
    assert code == 0 and _ranked(lab_runs / "B")[1]["rank_by"] == "cost", out + err
    code, out, err = run_cli("evaluate", "--resume", str(lab_runs / "B"), "--rank-by", "cost")
    assert code == 0 and "nothing to resume" in _words(out), out + err
    code, out, err = run_cli("evaluate", "--resume", str(lab_runs / "B"), "--rank-by", "cvar5")
    assert code == 2 and f"--rank-by cvar5 cannot apply with --resume of {lab_runs / 'B'}" in _words(err)


def test_a_finished_npv_evaluation_resumed_with_a_cost_ranking_is_refused_as_a_new_one_would_be(lab_runs):
    """A finished evaluation of NPV plans resumed with --rank-by cost was told to evaluate them again with
    --rank-by cost, a command refused in its turn: it is refused as that command is, by the plans' lack
    of a present cost (exit 2), and a --min-service with their NPV ranking as a new evaluation refuses it;
    nothing suggested, nothing written."""
    code, out, err = run_cli("evaluate", "--plans", str(lab_runs / "npv"), "--scenarios", "20", "--out",
                             str(lab_runs / "V"))  # fmt: skip
    assert code == 0, err
    before = (lab_runs / "V" / "summary.json").read_text()
    code, out, err = run_cli("evaluate", "--resume", str(lab_runs / "V"), "--rank-by", "cost")
    assert code == 2 and out == "" and _words(err) == f"error: {REFUSED}", err
    code, out, err = run_cli("evaluate", "--resume", str(lab_runs / "V"), "--min-service", "0.9")
    assert code == 2 and out == "", err
    assert _words(err) == ("error: --min-service applies only to a ranking by present cost, --rank-by cost "
                           "or cost-cvar95, not cvar5: an NPV plan serves the demand that pays, its share "
                           "served is its sales, not an obligation")  # fmt: skip
    assert (lab_runs / "V" / "summary.json").read_text() == before


def test_a_deterministic_evaluation_ranks_a_lab_s_plans_by_present_cost_on_the_forecast(lab_runs):
    """One scenario, the forecast, has no mean: the terminal's table is of the 'best plans by present cost
    on the forecast', its title on one line of 120 columns and the next (it was wrapped into a column of 52
    characters: the table's own width), and the report names the rule by the same words, not 'the lowest
    mean present cost'."""
    code, out, err = run_cli("evaluate", "--plans", str(lab_runs / "sweep"), "--deterministic", "--report",
                             "--out", str(lab_runs / "D"))  # fmt: skip
    assert code == 0, err
    title = [line.strip() for line in out.splitlines() if "best plans by" in line]
    assert title == ["best plans by present cost on the forecast (the default for plans solved for least "
                     "cost): what they cost"], out  # fmt: skip
    assert "mean present cost" not in _words(out)
    page = _words((lab_runs / "D" / "report.html").read_text())
    assert ("The plan shown: milp: forecast, the lowest present cost on the forecast, by the "
            "evaluation&#x27;s --rank-by cost") in page  # fmt: skip
    assert "mean present cost, by the evaluation" not in page
