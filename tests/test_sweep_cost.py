"""`fleetopt sweep --objective cost` (fo.sweep(model, objective="cost")): a lab's candidates solved for
least present cost, ranked by their mean present cost over the scenarios among plans serving enough of
the demand (docs/cli.md, "A sweep by cost")."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import run_cli

from fleetopt import api
from fleetopt.errors import InputError
from fleetopt.sweep.rule import COST_FRONT_FIGURES, Rule, RuleNotMet, pareto_front, recommend


def _cost_metrics() -> pd.DataFrame:
    """Five candidates by hand (USD, shares): B and E tie on mean cost and service, E's tail lower."""
    rows = [  # plan, origin, mean present cost, CVaR95 cost, demand served
        ("A", "forecast", 100.0, 150.0, 0.90),
        ("B", "stress", 120.0, 160.0, 0.96),
        ("C", "stress", 140.0, 170.0, 0.98),
        ("D", "stress", 70.0, 90.0, 0.70),
        ("E", "variation", 120.0, 155.0, 0.96),
    ]
    frame = pd.DataFrame(rows, columns=["plan", "origin", "present_cost_mean_usd", "present_cost_cvar95_usd",
                                        "demand_served_share"])  # fmt: skip
    return frame.assign(forecast_within_limits=True, breach_probability=0.0, default_probability=0.0,
                        any_default_probability=0.0, shortfall_probability=1.0 - frame["demand_served_share"])


def test_the_cost_rule_picks_the_cheapest_plan_serving_enough():
    metrics = _cost_metrics()
    # no floor given: the forecast optimum's 90 %: A, B, C and E serve that much, A costs least (D 70 %)
    assert metrics["plan"][recommend(metrics, Rule(prefer="cost"))] == "A"
    # 95 %: B, C and E; B and E tie at $120, the tie to the higher service (equal), then the lower CVaR95
    assert metrics["plan"][recommend(metrics, Rule(prefer="cost", min_service=0.95))] == "E"
    assert metrics["plan"][recommend(metrics, Rule(prefer="cost", min_service=0.98))] == "C"


def test_plans_apart_by_round_off_alone_go_to_the_earlier_candidate():
    """lab's "milp: late power" is the forecast optimum's plan but for the solver's round-off: every
    figure equal to 1e-15 but its CVaR95 cost a hair lower, which made it the pick ("changes mean present
    cost by $0, CVaR95 by $0"). Ties within round-off (1e-9 relative) on each tie-break too now go to the
    earlier candidate; a real difference in the tail still decides (E over B above)."""
    metrics = _cost_metrics()
    metrics.loc[4, ["present_cost_mean_usd", "present_cost_cvar95_usd", "demand_served_share"]] = (
        100.0, 150.0 * (1 - 1e-12), 0.90)  # E: A's figures but for round-off
    assert metrics["plan"][recommend(metrics, Rule(prefer="cost"))] == "A"
    metrics.loc[4, "present_cost_cvar95_usd"] = 149.0  # E's tail lower by a dollar: E
    assert metrics["plan"][recommend(metrics, Rule(prefer="cost"))] == "E"


def test_the_cost_front_is_of_mean_and_tail_cost_and_service():
    # B is dominated by E (same mean and service, lower tail); D cheapest, C serves most, A between
    front = pareto_front(_cost_metrics(), COST_FRONT_FIGURES)
    assert list(_cost_metrics()["plan"][front]) == ["A", "C", "D", "E"]


def test_a_service_floor_no_plan_meets_says_the_floor_that_admits_the_nearest():
    with pytest.raises(RuleNotMet) as caught:
        recommend(_cost_metrics(), Rule(prefer="cost", min_service=0.99))
    assert caught.value.values == {"--min-service": "0.98"}
    advice = InputError.naming(*caught.value.looser("fleetopt sweep --resume S"))
    assert "--min-service 0.98" in advice.typed() and "min_service=0.98 (--min-service 0.98)" in str(advice)


@pytest.mark.parametrize("rule, message", [
    (dict(prefer="cost", min_cvar5_usd=-5e7), "--min-cvar (min_cvar5_usd) limits CVaR5 NPV"),
    (dict(min_service=0.9), "min_service (--min-service) limits a sweep by cost: give it with --objective "
                            "cost (in Python, objective='cost' and rule=fleetopt.api.Rule(prefer='cost', "
                            "min_service=...)); a sweep whose candidates maximise NPV, resumed or re-ranked, "
                            "has no service floor"),
])  # fmt: skip
def test_npv_limits_are_refused_in_a_cost_rule_and_a_service_floor_in_an_npv_rule(rule, message):
    with pytest.raises(InputError, match=message.replace("(", r"\(").replace(")", r"\)")):
        Rule(**rule)


@pytest.fixture(scope="module")
def lab_cost_sweep():
    return api.sweep("lab", objective="cost", candidates=5, scenarios=50,
                     rule=Rule(prefer="cost", min_service=0.95))  # fmt: skip


def test_a_cost_sweep_of_lab_solves_for_cost_and_picks_by_mean_cost(lab_cost_sweep):
    metrics = lab_cost_sweep.metrics
    # solved for least cost: the forecast optimum meets the forecast's demand exactly, the demand-up
    # stresses hold spare capacity, the price shock (no cost of a lab's) is not made
    assert {"milp: forecast", "milp: demand +25%", "milp: demand +50%"} <= set(metrics["plan"])
    assert not any("price shock" in c.label for c in lab_cost_sweep.candidates.candidates)
    by_plan = metrics.set_index("plan")
    assert by_plan.loc["milp: forecast", "demand_served_share"] < 0.95  # short of the floor
    # by hand from the figures: the cheapest of those serving 95 % or more
    eligible = metrics[metrics["demand_served_share"] >= 0.95]
    cheapest = eligible.loc[eligible["present_cost_mean_usd"].idxmin(), "plan"]
    assert lab_cost_sweep.recommended["plan"] == cheapest == "milp: demand +25%"
    summary = lab_cost_sweep.summary()
    assert summary["objective"] == "cost" and summary["present_cost_mean_usd"] == pytest.approx(
        by_plan.loc[cheapest, "present_cost_mean_usd"])


@pytest.mark.parametrize("option", [["--min-cvar", "-5M"], ["--prefer", "mean"], ["--stochastic", "5"]])
def test_cli_cost_sweep_refuses_npv_options_by_name(tmp_path, option):
    code, _out, err = run_cli("sweep", "lab", "--objective", "cost", *option, "--out", str(tmp_path / "S"))
    assert code == 2 and err.startswith(f"error: {option[0]}") and len(err.strip().splitlines()) == 1, err
    assert not (tmp_path / "S").exists()


def test_a_stopped_cost_sweep_resumes_to_the_straight_sweeps_pick(tmp_path, lab_cost_sweep):
    folder = tmp_path / "sweep"

    def stop_after_demand_up(line: str) -> None:
        if line.startswith("milp: demand +25%"):
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        api.sweep("lab", objective="cost", candidates=5, scenarios=50, folder=folder,
                  rule=Rule(prefer="cost", min_service=0.95), candidate_progress=stop_after_demand_up)
    result = api.resume_sweep(folder)
    assert result.rule.by_cost and result.recommended["plan"] == lab_cost_sweep.recommended["plan"]
    columns = ["plan", "present_cost_mean_usd", "demand_served_share"]
    pd.testing.assert_frame_equal(result.metrics[columns], lab_cost_sweep.metrics[columns])
    # its run's plans evaluated again are known for plans solved for cost: their present cost comes too
    again, _, _ = api.evaluate(api.write_sweep_run(result, folder), scenarios=50)
    assert again.solved_for_cost
    cost = "present_cost_mean_usd"
    np.testing.assert_array_equal(again.metrics[cost], result.metrics[cost])


def test_a_cost_sweep_no_plan_meets_finishes_with_a_looser_floor(tmp_path):
    folder = tmp_path / "sweep"
    with pytest.raises(RuleNotMet, match="--min-service"):
        api.sweep("lab", objective="cost", candidates=3, scenarios=20, folder=folder,
                  rule=Rule(prefer="cost", min_service=0.999))
    with pytest.raises(InputError, match="--prefer cvar5"):  # its candidates were solved for cost
        api.resume_sweep(folder, rule_changes={"prefer": "cvar5", "min_service": None})
    result = api.resume_sweep(folder, rule_changes={"min_service": 0.5})
    served = result.metrics["demand_served_share"].to_numpy()
    assert np.all(result.metrics["present_cost_mean_usd"][served >= 0.5] >= result.recommended[
        "present_cost_mean_usd"])


def test_a_cost_sweep_s_lead_has_the_paired_error_of_its_present_costs():
    """The pick's lead had no standard error ("the evaluator keeps no scenario's present cost"): each
    pair's cost is now kept, so the lead reads as an NPV sweep's. By hand, 300 scenarios: $12.0M
    against an error of $2.0M is beyond two errors; $3.0M against $2.0M within, and 300 x (2 x 2 /
    3)^2 = 533.3 scenarios, 534, to two figures 530, would tell them apart."""
    from fleetopt.evaluate.lead import Lead
    from fleetopt.sweep.recommendation import cost_lead_words

    beyond = cost_lead_words(Lead("B", 12e6, 2e6), 700e6, 300)
    assert beyond == (" It costs $12.0M less on average than the runner-up, B (mean present cost), against "
                      "a standard error of the paired difference of $2.0M on the same 300 scenarios: beyond "
                      "two standard errors, so these scenarios tell the two apart.")
    within = cost_lead_words(Lead("B", 3e6, 2e6), 700e6, 300)
    assert within.endswith("within two standard errors, so these scenarios do not tell the two apart (about "
                           "530 would, were the lead as measured).")


def test_a_cost_sweep_s_lead_is_said_in_each_branch_of_an_npv_lead():
    """The lead's other branches, in a cost's words: a tie (within 1e-9 of the pick's $700M, $0.70), one
    scenario (no error), and round-off: $0.90, beyond the tie's margin of $0.10 on a $100M pick but
    within a dollar, was said 'within two standard errors' with 370 scenarios that would tell it."""
    from fleetopt.evaluate.lead import Lead
    from fleetopt.sweep.recommendation import COST_TIE, cost_lead_words

    tie = cost_lead_words(Lead("B", 0.5, 2e6), 700e6, 300)
    assert tie == f" It ties with the runner-up, B, on mean present cost: {COST_TIE}."
    one = cost_lead_words(Lead("B", 12e6, float("nan")), 700e6, 1)
    assert one == (" It costs $12.0M less on average than the runner-up, B (mean present cost); one scenario "
                   "gives that lead no standard error.")
    round_off = cost_lead_words(Lead("B", 0.9, 0.5), 100e6, 300)
    assert round_off == (" It costs $1 less on average than the runner-up, B (mean present cost), round-off: "
                         "the two are not told apart.")


def test_a_lab_cost_sweep_s_lead_is_measured_with_an_error(lab_cost_sweep):
    """lab's cost sweep (50 scenarios): its pick's lead over the runner-up now has a standard error (it
    was NaN: none measured), and its words give it."""
    lead = lab_cost_sweep.lead
    assert lead.runner_up is not None and np.isfinite(lead.se) and lead.se > 0
    assert "standard error of the paired difference" in lab_cost_sweep.why()


def test_a_cost_sweep_of_a_model_no_cost_plan_fits_is_diagnosed_for_cost(tmp_path):
    """tiny cannot meet its demand at least cost within its limits (`fleetopt solve tiny --objective cost`
    names the market demand first): the cost sweep's forecast optimum was diagnosed as an NPV model,
    which has no conflict, and said "the conflict is numerical"; it is diagnosed for cost now."""
    code, _out, err = run_cli("sweep", "tiny", "--objective", "cost", "--candidates", "3", "--scenarios",
                              "20", "--out", str(tmp_path / "S"))  # fmt: skip
    assert code == 3 and "market demand" in err and "the conflict is numerical" not in err, err


def test_the_run_registry_lists_a_cost_sweep_by_its_pick_s_present_cost(tmp_path, lab_cost_sweep):
    """`fleetopt runs` listed a cost sweep by its pick's mean NPV and CVaR5 (its evaluations of cost plans
    by their present cost): now by the pick's mean and CVaR95 present cost and the demand it serves."""
    import json

    from fleetopt.cli.render.runs import key_figure
    from fleetopt.core.units import format_usd
    from fleetopt.runs.key_figures import key_figures

    folder = api.write_sweep_run(lab_cost_sweep, tmp_path / "sweep")
    summary = json.loads((folder / "summary.json").read_text())
    listed = key_figure("sweep", key_figures(summary))
    assert (f"present cost {format_usd(summary['present_cost_mean_usd'])} on average (CVaR95 "
            f"{format_usd(summary['present_cost_cvar95_usd'])}), demand served") in listed, listed
    assert "mean NPV" not in listed
