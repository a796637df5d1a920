"""A service floor for an evaluation's ranking by present cost (`fleetopt evaluate --min-service`, API
``min_service=``; docs/evaluation.md, "Outputs"): cost alone ranks first the plan that serves least, so
plans serving at least the floor come first, those below it after, marked; without a floor the "In
short" says what the cheapest plan gives up. Refused with a ranking by an NPV figure; kept in
summary.json, for the report and a resume."""

from __future__ import annotations

import json
import math

import pandas as pd
import pytest
from conftest import run_cli

from fleetopt import api
from fleetopt.errors import InputError
from fleetopt.evaluate.first_place import first_place_words
from fleetopt.evaluate.metrics import FORECAST_OK, ranked_plans

SCENARIOS = 40


def _words(text: str) -> str:
    """``text`` with its line breaks and runs of spaces as one space (the terminal wraps its lines)."""
    return " ".join(text.split())


def _three(kept=(True, True, True)) -> pd.DataFrame:
    """Three lab plans' metrics: "slump" costs $700M and serves 70.9 % of the demand, "forecast" $712M
    and 88.7 %, "more" $800M and 95.0 % (mean present cost; CVaR95 $100M above each)."""
    return pd.DataFrame({
        "plan": ["slump", "forecast", "more"], FORECAST_OK: list(kept),
        "present_cost_mean_usd": [700e6, 712e6, 800e6], "present_cost_cvar95_usd": [800e6, 812e6, 900e6],
        "demand_served_share": [0.709, 0.887, 0.95], "npv_cvar5_usd": [0.0, 0.0, 0.0],
    })  # fmt: skip


def test_plans_below_the_floor_are_ranked_after_those_that_keep_it_each_part_cheapest_first():
    """By cost alone "slump" is first; a floor of 85 % puts it last (it alone is below); one of 90 %
    leaves "more" alone above it, then the two below, cheapest first. A plan that breaches on its own
    forecast still comes after every plan that keeps its limits, whatever it serves."""
    assert ranked_plans(_three(), "cost")["plan"].tolist() == ["slump", "forecast", "more"]
    assert ranked_plans(_three(), "cost", None, 0.85)["plan"].tolist() == ["forecast", "more", "slump"]
    assert ranked_plans(_three(), "cost", None, 0.9)["plan"].tolist() == ["more", "slump", "forecast"]
    at_it = ranked_plans(_three(), "cost", None, 0.887)  # "forecast" serves the floor exactly: it keeps it
    assert at_it["plan"].tolist() == ["forecast", "more", "slump"]
    breaching = ranked_plans(_three(kept=(True, True, False)), "cost", None, 0.85)
    assert breaching["plan"].tolist() == ["forecast", "slump", "more"]


def test_the_in_short_names_the_cheaper_plan_the_floor_passed_over_and_why():
    """A floor of 85 %: "forecast" leads "more" by $88M of mean present cost ($0 error: beyond two), and
    "slump", $12M cheaper than "forecast", was passed over at 70.9 %. By CVaR95 the same, its figure's."""
    said = first_place_words(ranked_plans(_three(), "cost", None, 0.85), "cost", SCENARIOS, 0.0, 0.85)
    assert said.startswith(" It costs $88.0M less on average than the second plan, “more” (mean present "
                           "cost)")  # fmt: skip
    assert said.endswith(" “slump” costs $12.0M less (mean present cost) but serves 70.9% of the demand, "
                         "below the floor of 85.0% (--min-service).")  # fmt: skip
    tail = first_place_words(ranked_plans(_three(), "cost-cvar95", None, 0.85), "cost-cvar95", SCENARIOS, 0.0,
                             0.85)  # fmt: skip
    assert tail.endswith(" “slump” costs $12.0M less (CVaR95 present cost) but serves 70.9% of the demand, "
                         "below the floor of 85.0% (--min-service).")  # fmt: skip


def test_a_first_place_won_by_the_floor_alone_is_said_to_be_so():
    """A floor of 90 %: "more" alone keeps it, first whatever its cost, as a plan first by its forecast is
    said to be; "slump", the cheapest, $100M less, was passed over."""
    said = first_place_words(ranked_plans(_three(), "cost", None, 0.9), "cost", SCENARIOS, math.nan, 0.9)
    assert said == (" It is the only plan ranked that serves at least 90% of the demand (--min-service): the "
                    "second plan, “slump”, and any after it, come after it whatever their figures. “slump” "
                    "costs $100.0M less (mean present cost) but serves 70.9% of the demand, below the floor "
                    "of 90.0% (--min-service).")  # fmt: skip


def test_a_floor_no_plan_serves_is_said_with_the_most_any_serves():
    """A floor of 96 % that none of the three serves ("more" serves the most, 95.0 %): the ranking is by
    cost alone, every plan marked below it, and the words say so first, where they read as if "slump"
    kept it; by a deterministic evaluation's (no error) and with one plan ranked too."""
    ranked = ranked_plans(_three(), "cost", None, 0.96)
    assert ranked["plan"].tolist() == ["slump", "forecast", "more"]
    none = (" No plan ranked serves at least 96.0% of the demand (--min-service): the most any serves is "
            "95.0% (“more”), so the floor puts none ahead of another.")  # fmt: skip
    assert first_place_words(ranked, "cost", SCENARIOS, 0.0, 0.96).startswith(none + " It costs $12.0M less")
    assert first_place_words(ranked, "cost", 1, None, 0.96, on_forecast=True) == none
    assert first_place_words(ranked.tail(1), "cost", SCENARIOS, 0.0, 0.96) == none
    assert "No plan" not in first_place_words(ranked_plans(_three(), "cost", None, 0.95), "cost", SCENARIOS,
                                              0.0, 0.95)  # fmt: skip


def test_the_share_passed_over_and_the_floor_are_written_at_one_precision_that_tells_them_apart():
    """A floor of 70.93 % passes over "slump" at 70.9 %: both to the hundredth of a point, 70.90% below
    70.93% (it wrote '70.9% ... below the floor of 70.93%'); one of 85 % and 70.9 % to a tenth, the floor's
    as given at least (85.0%)."""
    said = first_place_words(ranked_plans(_three(), "cost", None, 0.7093), "cost", SCENARIOS, 0.0, 0.7093)
    assert said.endswith(" “slump” costs $12.0M less (mean present cost) but serves 70.90% of the demand, "
                         "below the floor of 70.93% (--min-service).")  # fmt: skip


def test_on_the_forecast_alone_the_floor_still_names_the_cheaper_plan_it_passed_over():
    """A deterministic evaluation measures no lead (no error): with a floor of 85 % it still says that
    "slump", $12M cheaper on the forecast, was passed over at 70.9 % (it said nothing); without one, what
    the cheapest gives up. One plan ranked says nothing, nor does an NPV ranking."""
    ranked = ranked_plans(_three(), "cost", None, 0.85)
    said = first_place_words(ranked, "cost", 1, None, 0.85, on_forecast=True)
    assert said == (" “slump” costs $12.0M less (present cost on the forecast) but serves 70.9% of the "
                    "demand, below the floor of 85.0% (--min-service).")  # fmt: skip
    said = first_place_words(ranked_plans(_three(), "cost"), "cost", 1, None, on_forecast=True)
    assert said.startswith(" “forecast”, $12.0M dearer (present cost on the forecast), serves 88.7%")
    assert first_place_words(ranked.head(1), "cost", 1, None, 0.85, on_forecast=True) == ""
    assert first_place_words(ranked_plans(_three(), "cvar5"), "cvar5", 1, None, on_forecast=True) == ""


def test_without_a_floor_the_in_short_says_what_the_cheapest_plan_gives_up():
    """No floor: "slump" is first and serves 70.9 % against 88.7 % for "forecast", $12M dearer: said,
    with the floor that ranks "forecast" first (its share in whole points, down: 0.88). Plans within a
    point of each other's service say nothing of it, nor does a ranking by an NPV figure."""
    said = first_place_words(ranked_plans(_three(), "cost"), "cost", SCENARIOS, 0.0)
    assert said.endswith(" “forecast”, $12.0M dearer (mean present cost), serves 88.7% of the demand against "
                         "its 70.9%: --min-service 0.88 ranks by cost among plans serving at least 88%.")
    # a share of whole points is its own floor (0.29 x 100 is 28.999999999999996 in binary: it said 0.28)
    whole = _three().assign(demand_served_share=[0.2, 0.29, 0.57])
    said = first_place_words(ranked_plans(whole, "cost"), "cost", SCENARIOS, 0.0)
    assert "--min-service 0.29 ranks" in said
    close = _three().assign(demand_served_share=[0.94, 0.945, 0.95])
    assert "--min-service" not in first_place_words(ranked_plans(close, "cost"), "cost", SCENARIOS, 0.0)
    assert "--min-service" not in first_place_words(ranked_plans(_three(), "cvar5"), "cvar5", SCENARIOS, 0.0)


@pytest.fixture(scope="module")
def lab_plans(tmp_path_factory):
    """`fleetopt sweep lab --objective cost` (5 candidates, 20 scenarios: the forecast optimum, twice with a
    cash buffer that never acts, and solved for 25 % and 50 % more demand, dearer and serving more)."""
    root = tmp_path_factory.mktemp("lab-floor")
    api.write_sweep_run(api.sweep("lab", objective="cost", candidates=5, scenarios=20), root / "sweep")
    return root


def _evaluate(root, out: str, *options: str):
    return run_cli("evaluate", "--plans", str(root / "sweep"), "--scenarios", "30", "--out", str(root / out),
                   *options)  # fmt: skip


def test_a_floor_moves_the_first_place_marks_those_below_and_is_kept_for_the_report(lab_plans):
    """On lab the forecast optimum (and its two cash-buffer twins) is cheapest but serves less than 95 % of
    the demand, the plan solved for 25 % more demand more: --min-service 0.95 ranks that plan first, marks
    the three below, says what was passed over, and summary.json keeps the floor, so the report shows the
    same plan and says the same."""
    code, out, err = _evaluate(lab_plans, "F", "--min-service", "0.95")
    assert code == 0, err
    summary = json.loads((lab_plans / "F" / "summary.json").read_text())
    rows = {row["plan"]: row for row in summary["metrics"]}
    forecast, more = rows["milp: forecast"], rows["milp: demand +25%"]
    assert forecast["demand_served_share"] < 0.95 <= more["demand_served_share"]
    assert forecast["present_cost_mean_usd"] < more["present_cost_mean_usd"]
    assert summary["ranking"]["min_service"] == 0.95
    said = _words(out)
    assert "In short: The best plan by mean present cost, “milp: demand +25%”" in said
    assert "│ < milp: forecast │" in said and "│ milp: demand +25% │" in said
    assert "< serves less than 95% of the demand (--min-service), ranked after those that do" in said
    passed = "“milp: forecast” costs $"
    assert passed in said and "of the demand, below the floor of 95.0% (--min-service)." in said
    code, out, err = run_cli("report", str(lab_plans / "F"))
    assert code == 0, err
    page = _words((lab_plans / "F" / "report.html").read_text())
    assert passed in page and "below the floor of 95.0% (--min-service)." in page


def test_without_a_floor_a_lab_s_in_short_says_what_its_cheapest_plan_gives_up(lab_plans):
    code, out, err = _evaluate(lab_plans, "N")
    assert code == 0, err
    said = _words(out)
    assert "In short: The best plan by mean present cost, “milp: forecast”" in said
    assert "“milp: demand +25%”, $" in said
    assert "--min-service 0.95 ranks by cost among plans serving at least 95%." in said


def test_a_floor_with_an_npv_ranking_is_refused_by_name(lab_plans):
    """A floor ranks a lab's plans by cost: with --rank-by cvar5 it is refused in one line, exit 2, no
    folder; in Python by its keyword, from the result and from write_evaluate_run."""
    code, out, err = _evaluate(lab_plans, "R", "--rank-by", "cvar5", "--min-service", "0.9")
    assert code == 2 and out == "" and "Traceback" not in err, err
    assert _words(err) == ("error: --min-service applies only to a ranking by present cost, --rank-by cost "
                           "or cost-cvar95, not cvar5: an NPV plan serves the demand that pays, its share "
                           "served is its sales, not an obligation")  # fmt: skip
    assert not (lab_plans / "R").exists()
    code, out, err = _evaluate(lab_plans, "R", "--min-service", "1.5")
    assert code == 2 and "--min-service" in err and not (lab_plans / "R").exists(), err
    evaluated = api.evaluate(lab_plans / "sweep", scenarios=10)
    refused = r"^min_service \(--min-service\) applies only to a ranking by present cost, rank_by"
    with pytest.raises(InputError, match=refused):
        evaluated[0].ranked("mean", min_service=0.9)
    with pytest.raises(InputError, match=refused):
        api.write_evaluate_run(evaluated, out=lab_plans / "W", ranking={"rank_by": "p5", "min_service": 0.9})
    assert not (lab_plans / "W").exists()


def test_a_finished_evaluation_resumed_with_another_floor_is_refused(lab_plans):
    """The floor is a ranking option: a finished evaluation's retry with the same floor changes nothing,
    another (or one where it had none) is refused, saying how to rank its plans so."""
    job = api.prepare_evaluation(lab_plans / "sweep", scenarios=10, seed=3)
    job.start(lab_plans / "B")
    code, out, err = run_cli("evaluate", "--resume", str(lab_plans / "B"), "--min-service", "0.95")
    assert code == 0, out + err
    assert json.loads((lab_plans / "B" / "summary.json").read_text())["ranking"]["min_service"] == 0.95
    code, out, err = run_cli("evaluate", "--resume", str(lab_plans / "B"), "--min-service", "0.95")
    assert code == 0 and "nothing to resume" in _words(out), out + err
    code, out, err = run_cli("evaluate", "--resume", str(lab_plans / "B"), "--min-service", "0.9")
    assert code == 2 and f"--min-service 0.9 cannot apply with --resume of {lab_plans / 'B'}" in _words(err)


def test_a_deterministic_evaluation_with_a_floor_says_the_cheaper_plan_it_passed_over(lab_plans):
    """lab's training demand growing 120 % a year: on the forecast the forecast optimum serves 76.5 % of
    the demand, the plan solved for 50 % more demand 96.4 %. With --deterministic --min-service 0.95 the
    terminal, below its tables, and the report's In short say the optimum was passed over, by its present
    cost on the forecast (both said nothing of it)."""
    code, out, err = run_cli("evaluate", "--plans", str(lab_plans / "sweep"), "--deterministic", "--set",
                             "market.demand_gpus.training.annual_growth=1.2", "--min-service", "0.95",
                             "--out", str(lab_plans / "D"), "--report")  # fmt: skip
    assert code == 0, err
    said = ("“milp: forecast” costs $455.6M less (present cost on the forecast) but serves 76.5% of the "
            "demand, below the floor of 95.0% (--min-service).")
    assert said in _words(out)
    assert said in _words((lab_plans / "D" / "report.html").read_text())


def test_a_stopped_cost_evaluation_resumed_under_an_npv_ranking_drops_its_kept_floor_and_says_so(lab_plans):
    """Stopped after `--rank-by cost --min-service 0.9` (job.json keeps both), resumed with --rank-by cvar5:
    the floor, which only a ranking by present cost takes, goes with the ranking it was kept for, said in one
    line (it was refused naming --min-service, which the user had not typed, and --min-service 0 could
    not drop it); the run finishes ranked by CVaR5 NPV without a floor. Typed now, a floor is the user's
    own: with an NPV ranking it is refused. From Python a resume keeps no ranking: write_evaluate_run
    takes the one given."""
    for name in ("S", "T"):
        api.prepare_evaluation(lab_plans / "sweep", scenarios=10, seed=3).start(
            lab_plans / name, ("--rank-by", "cost", "--min-service", "0.9"))  # fmt: skip
    resume = ("evaluate", "--resume", str(lab_plans / "S"), "--rank-by", "cvar5")
    code, out, err = run_cli(*resume, "--min-service", "0")
    assert code == 2 and "--min-service applies only to a ranking by present cost" in _words(err), out + err
    code, out, err = run_cli(*resume)
    assert code == 0, out + err
    assert ("Note: --min-service 0.9, kept from the run's start, is dropped: --rank-by cvar5 ranks by CVaR5 "
            "NPV, and only a ranking by present cost takes a service floor.") in out.splitlines()
    ranking = json.loads((lab_plans / "S" / "summary.json").read_text())["ranking"]
    assert ranking["rank_by"] == "cvar5" and "min_service" not in ranking
    job = api.resume_evaluation(lab_plans / "T")
    api.write_evaluate_run(job.run(lab_plans / "T"), job.loaded, job.source, lab_plans / "T",
                           ranking={"rank_by": "cvar5"})  # fmt: skip
    ranking = json.loads((lab_plans / "T" / "summary.json").read_text())["ranking"]
    assert ranking["rank_by"] == "cvar5" and "min_service" not in ranking


def test_the_report_marks_the_plans_below_the_floor_and_names_it_in_its_ranking_rule(lab_plans):
    """The report's table of plans marks the three lab plans below 95 % with '<' in a column of its own,
    its legend above the table as the terminal's below its own, and the sentence naming the plan shown
    says the floor ranked it, as the terminal's table title does."""
    code, _, err = _evaluate(lab_plans, "P", "--min-service", "0.95", "--report")
    assert code == 0, err
    page = (lab_plans / "P" / "report.html").read_text()
    legend = "&lt;: serves less than 95% of the demand (--min-service), ranked after those that do"
    assert legend in page
    assert page.count('<td class="text stick">&lt;</td>') == 3, "three plans below the floor, marked"
    assert ("The plan shown: milp: demand +25%, the lowest mean present cost, plans serving at least 95% of "
            "the demand first, by the evaluation&#x27;s --rank-by cost --min-service 0.95.") in _words(page)
    code, _, err = _evaluate(lab_plans, "Q", "--report")  # no floor: no mark, no legend
    assert code == 0, err
    page = (lab_plans / "Q" / "report.html").read_text()
    assert "--min-service), ranked after" not in page and '<td class="text stick">&lt;</td>' not in page


def test_fleetopt_runs_lists_an_evaluation_s_plan_by_its_ranking_with_the_floor():
    """`fleetopt runs` names the ranking that chose the plan it lists: with a floor of 85 % "forecast",
    not the cheaper "slump" (70.9 %), by the lowest mean present cost, plans at least at the floor first."""
    from fleetopt.cli.render.runs import key_figure
    from fleetopt.evaluate.metrics import shown_first
    from fleetopt.runs.key_figures import key_figures

    run = {"kind": "evaluate", "n_plans": 3, "plans_objective": "cost", "n_scenarios": SCENARIOS,
           "metrics": _three().assign(npv_mean_usd=0.0).to_dict("records")}  # fmt: skip

    def listed(ranking):
        summary = {**run, "ranking": ranking}
        return key_figure("evaluate", key_figures(summary, shown_first(summary)))

    assert listed({"rank_by": "cost"}).startswith("slump (of 3 plans, the lowest mean present cost): ")
    assert listed({"rank_by": "cost", "min_service": 0.85}).startswith(
        "forecast (of 3 plans, the lowest mean present cost, plans serving at least 85% of the demand "
        "first): ")
