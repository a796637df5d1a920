"""How sure an evaluation's first place is: `fleetopt evaluate --plans FOLDER --rank-by X` (the
command a sweep prints to settle a pick within noise) ranked the plans on fresh scenarios but never
said whether the first plan's lead over the second was beyond two paired standard errors, so the
planner still had to run `fleetopt compare`. Its "In short", and its report's, now say it, in the
words and by the rule of a sweep's lead (evaluate.lead.lead_sentence)."""

from __future__ import annotations

import json
import math
from html import unescape

import numpy as np
import pandas as pd
import pytest
from conftest import run_cli
from evaluate_builders import plan_variants

from fleetopt import api
from fleetopt.compare.run import compare_plans
from fleetopt.core.units import format_error, format_figure, format_usd
from fleetopt.errors import InputError
from fleetopt.evaluate.first_place import first_place_words
from fleetopt.evaluate.metrics import FORECAST_OK, paired_npv_error, ranked_plans, ranking_words
from fleetopt.evaluate.planfile import load_plans, save_plans

# a scenario's NPV of plan "b", USD: "a" makes $250,000 more in every one of the 40
B_NPV = np.arange(40, dtype=np.float64) * 1.0e6 - 10.0e6
A_NPV = B_NPV + 250_000.0


def _two(cvar_a: float, cvar_b: float, kept=(True, True)) -> pd.DataFrame:
    """Two plans' metrics, "a" first in the file."""
    return pd.DataFrame({"plan": ["a", "b"], FORECAST_OK: list(kept), "npv_cvar5_usd": [cvar_a, cvar_b],
                         "npv_mean_usd": [0.0, 0.0], "breach_probability": [0.1, 0.1]})  # fmt: skip


def test_a_lead_the_same_in_every_scenario_has_no_error_and_is_beyond_chance():
    """"a" makes $250,000 more than "b" in every scenario: its CVaR5 (the mean of the worst 2 of 40)
    is $250,000 higher, and the difference of the two plans on the same scenarios has no spread,
    a paired standard error of 0 (for the mean, the CVaR5 and the P5 alike): beyond two errors."""
    for figure in ("npv_mean_usd", "npv_cvar5_usd", "npv_p5_usd"):
        assert paired_npv_error(figure, B_NPV, A_NPV) == 0.0
    ranked = ranked_plans(_two(-9.25e6, -9.5e6))  # CVaR5, the mean of the worst 2: b (-10M - 9M) / 2
    assert ranked["plan"].tolist() == ["a", "b"]
    assert first_place_words(ranked, "cvar5", 40, 0.0) == (
        " It leads the second plan, “b”, by $250.0k of CVaR5 NPV, against a standard error of the paired "
        "difference of $0 on the same 40 scenarios: beyond two standard errors, so these scenarios tell the "
        "two apart."
    )


def test_a_lead_within_two_errors_says_how_many_scenarios_would_tell():
    """A lead of $250,000 with an error of $250,000 is one error: within two. Four errors' worth of
    variance over 40 scenarios (the error falls as one over the square root of the count): 160."""
    said = first_place_words(ranked_plans(_two(-9.25e6, -9.5e6)), "cvar5", 40, 250_000.0)
    assert "within two standard errors, so these scenarios do not tell the two apart (about 160 would" in said
    assert said.endswith("; evaluate again with --scenarios 160 and another --seed to measure the plans on "
                         "that many.")  # fmt: skip


def test_two_identical_plans_tie_and_the_first_given_comes_first():
    """Equal figures: a tie, the ranking keeping the plans' order."""
    same = ranked_plans(_two(-9.5e6, -9.5e6))
    assert same["plan"].tolist() == ["a", "b"]
    assert first_place_words(same, "cvar5", 40, 0.0) == (
        " It ties with the second plan, “b”, on CVaR5 NPV: the two are not told apart (exactly equal "
        "figures are ranked in the plans' order)."
    )


def test_nothing_is_said_of_one_plan_or_of_nothing_measured():
    one = ranked_plans(_two(-9.5e6, -9.5e6), max_breach_prob=0.1).head(1)
    assert first_place_words(one, "cvar5", 40, 0.0) == ""
    assert first_place_words(ranked_plans(_two(-9.25e6, -9.5e6)), "cvar5", 40, None) == ""  # deterministic
    no_error = first_place_words(ranked_plans(_two(-9.25e6, -9.5e6)), "cvar5", 20, math.nan)
    assert no_error.endswith("a tail of one scenario (the worst of 20) gives that lead no standard error.")


def test_a_first_place_won_on_the_forecast_is_said_to_be_so_whatever_the_figures():
    """"b" has the higher CVaR5 but breaches a covenant on its own forecast: the ranking puts "a",
    which keeps its limits, first by that rule, not by the figure."""
    ranked = ranked_plans(_two(-9.5e6, -9.25e6, kept=(True, False)))
    assert ranked["plan"].tolist() == ["a", "b"]
    assert first_place_words(ranked, "cvar5", 40, math.nan) == (
        " It is the only plan ranked that keeps its limits on the forecast: the second plan, “b”, and any "
        "after it, come after it whatever their figures, as each breaches a covenant or defaults on the "
        "forecast itself."
    )


@pytest.fixture(scope="module")
def plan_files(tmp_path_factory):
    """tiny's optimum and two variants in one file; the optimum twice, as "a" and "b", in another."""
    folder = tmp_path_factory.mktemp("plans")
    loaded, data = api.load("tiny")
    plans, labels = plan_variants(data, api.solve(loaded).plan)
    save_plans(folder / "plans.npz", plans[:3], labels[:3], loaded.model.name, loaded.content_hash)
    save_plans(folder / "same.npz", [plans[0], plans[0]], ["a", "b"], loaded.model.name, loaded.content_hash)
    return folder


def _in_short(stdout: str) -> str:
    start = stdout.index("In short:")
    return " ".join(stdout[start:stdout.index("\nwrote ", start)].split())


def _report_in_short(folder) -> str:
    code, out, err = run_cli("report", str(folder))
    assert code == 0, out + err
    page = unescape((folder / "report.html").read_text(encoding="utf-8"))
    start = page.index("<h2>In short</h2>")
    return page[start:page.index("</p>", start)]


def test_the_same_plan_twice_ties_in_the_terminal_and_the_report(plan_files, here):
    code, stdout, stderr = run_cli("evaluate", "tiny", "--plans", str(plan_files / "same.npz"),
                                   "--scenarios", "40", "--out", "E")  # fmt: skip
    assert code == 0, stdout + stderr
    tie = ("It ties with the second plan, “b”, on CVaR5 NPV: the two are not told apart (exactly equal "
           "figures are ranked in the plans' order).")  # fmt: skip
    assert _in_short(stdout).endswith(tie)
    assert json.loads((here / "E" / "summary.json").read_text())["ranking"]["lead_se_usd"] == 0.0
    assert tie in _report_in_short(here / "E")


def test_the_lead_and_its_error_are_the_metrics_and_the_npv_matrix(plan_files, here):
    """The lead is the first plan's figure less the second's in metrics.csv, its error compare's
    paired error of the two rows of the NPV matrix, whether the evaluation kept the matrix or the
    two plans are evaluated again on the same scenarios; the report says what the terminal did."""
    plans = str(plan_files / "plans.npz")
    said = {}
    for out, keep in (("K", ["--keep-matrix"]), ("N", [])):
        code, stdout, stderr = run_cli("evaluate", "tiny", "--plans", plans, "--scenarios", "60", "--seed",
                                       "3", "--rank-by", "mean", *keep, "--out", out)  # fmt: skip
        assert code == 0, stdout + stderr
        said[out] = _in_short(stdout)
    assert said["K"] == said["N"]
    metrics = pd.read_csv(here / "K" / "metrics.csv")
    ranked = ranked_plans(metrics, "mean")
    first, second = (int(row) for row in ranked.index[:2])
    matrix = np.load(here / "K" / "npv_matrix.npy")
    se = paired_npv_error("npv_mean_usd", matrix[second], matrix[first])
    lead = metrics["npv_mean_usd"].iloc[first] - metrics["npv_mean_usd"].iloc[second]
    expected = (f"the second plan, “{metrics['plan'].iloc[second]}”, by {format_usd(lead)} of mean NPV, "
                f"against a standard error of the paired difference of {format_error(se)} on the same 60 "
                "scenarios")  # fmt: skip
    assert expected in said["K"]
    kept = json.loads((here / "N" / "summary.json").read_text())["ranking"]["lead_se_usd"]
    assert kept == pytest.approx(se)
    assert expected in _report_in_short(here / "N")


def test_a_deterministic_evaluation_says_nothing_of_a_lead(plan_files, here):
    code, stdout, stderr = run_cli("evaluate", "tiny", "--plans", str(plan_files / "same.npz"),
                                   "--deterministic", "--out", "D")  # fmt: skip
    assert code == 0, stdout + stderr
    assert "second plan" not in stdout
    assert "lead_se_usd" not in json.loads((here / "D" / "summary.json").read_text())["ranking"]


# ---------------------------------------------------------------- --rank-by any-default

def _three_by_default() -> pd.DataFrame:
    """Three plans whose CVaR5 and P(any default) rank them in opposite orders."""
    return pd.DataFrame({"plan": ["a", "b", "c"], FORECAST_OK: [True] * 3,
                         "npv_cvar5_usd": [-9.0e6, -9.5e6, -9.25e6], "npv_mean_usd": [0.0] * 3,
                         "breach_probability": [0.4] * 3,
                         "any_default_probability": [0.30, 0.10, 0.20]})  # fmt: skip


def test_ranking_by_any_default_puts_the_lowest_probability_first_and_says_its_lead_in_points():
    """`fleetopt evaluate --rank-by` could not rank by P(any default), the default as lenders count
    it. Lower is better: "b" (10%) before "c" (20%) and "a" (30%), whatever their CVaR5. Its lead
    over "c" is 10 points; with a paired error of 3 points on 400 scenarios, beyond two errors; with
    6 points, within them: (2 x 6 / 10)^2 x 400 = 576, about 580 scenarios would tell them apart. The
    error to two significant figures, as every sentence states one (3.0 pp, not 3.00 pp)."""
    ranked = ranked_plans(_three_by_default(), "any-default")
    assert ranked["plan"].tolist() == ["b", "c", "a"]
    assert first_place_words(ranked, "any-default", 400, 0.03) == (
        " It leads the second plan, “c”, by 10.00 pp of P(any default), against a standard error of the "
        "paired difference of 3.0 pp on the same 400 scenarios: beyond two standard errors, so these "
        "scenarios tell the two apart."
    )
    within = first_place_words(ranked, "any-default", 400, 0.06)
    assert "10.00 pp of P(any default), against a standard error of the paired difference of 6.0 pp" in within
    assert "do not tell the two apart (about 580 would, were the lead as measured)" in within


def test_two_plans_that_never_default_tie_on_any_default():
    """Both at 0%: a tie on the figure, not a lead of round-off (a dollar's noise is not a share's)."""
    frame = _three_by_default().assign(any_default_probability=[0.0, 0.0, 0.5])
    ranked = ranked_plans(frame, "any-default")
    assert ranked["plan"].tolist() == ["a", "b", "c"]
    assert first_place_words(ranked, "any-default", 400, 0.0) == (
        " It ties with the second plan, “b”, on P(any default): the two are not told apart (exactly equal "
        "figures are ranked by mean NPV, higher first)."
    )


def test_plans_tied_on_any_default_are_ranked_by_mean_npv_higher_first():
    """A deterministic evaluation puts every plan that does not default at 0% of P(any default): the
    ranking kept the plan file's order ("a" first at -$5M). Ties now go to the higher mean NPV, the
    figure a finance team reads next: "b" ($3M), "c" ($1M), "a" (-$5M), then "d", which defaults;
    and "e", which keeps its limits only off the forecast, last whatever its figures."""
    frame = pd.DataFrame({"plan": list("abcde"), FORECAST_OK: [True] * 4 + [False],
                          "npv_mean_usd": [-5e6, 3e6, 1e6, 9e6, 20e6], "breach_probability": [0.0] * 5,
                          "any_default_probability": [0.0, 0.0, 0.0, 1.0, 0.0]})  # fmt: skip
    assert ranked_plans(frame, "any-default")["plan"].tolist() == ["b", "c", "a", "d", "e"]
    assert ranking_words("any-default") == "the lowest P(any default), then the highest mean NPV"
    assert ranked_plans(frame, "mean")["plan"].tolist() == ["d", "b", "c", "a", "e"]  # no tie break


def test_the_terminal_ranks_by_any_default_with_compare_s_paired_error(plan_files, here):
    """`fleetopt evaluate --rank-by any-default` prints the plans lowest P(any default) first, under
    that heading, and its first plan's lead over the second is their difference in metrics.csv with
    the paired error `fleetopt compare` gives it on the same scenarios (here "prepaid" defaults in
    43 of the 60, "milp" in 44: a lead of 1.67 points, one scenario, within two errors);
    summary.json keeps the ranking, and the report says the same."""
    code, stdout, stderr = run_cli("evaluate", "tiny", "--plans", str(plan_files / "plans.npz"),
                                   "--scenarios", "60", "--seed", "3", "--rank-by", "any-default",
                                   "--out", "A")  # fmt: skip
    assert code == 0, stdout + stderr
    assert "best plans by P(any default), then mean NPV" in stdout
    metrics = pd.read_csv(here / "A" / "metrics.csv")
    ranked = ranked_plans(metrics, "any-default")
    assert ranked["any_default_probability"].is_monotonic_increasing
    first, second = (str(ranked["plan"].iloc[k]) for k in range(2))
    data = api.load("tiny")[1]
    plans, labels, _ = load_plans(plan_files / "plans.npz", data)
    pair = [plans[labels.index(first)], plans[labels.index(second)]]
    compared = compare_plans(data, pair, [first, second], 60, 3, backend="numpy").figures[second]
    se = compared["any_default_probability_paired_se"]
    lead = ranked["any_default_probability"].iloc[1] - ranked["any_default_probability"].iloc[0]
    expected = (f"{format_figure(lead, 'pp')} of P(any default), against a standard error of the paired "
                f"difference of {format_error(se, 'pp')} on the same 60 scenarios")  # fmt: skip
    assert f"the second plan, “{second}”," in _in_short(stdout) and expected in _in_short(stdout)
    ranking = json.loads((here / "A" / "summary.json").read_text())["ranking"]
    assert ranking["rank_by"] == "any-default" and ranking["lead_se_share"] == pytest.approx(se)  # not USD
    assert expected in _report_in_short(here / "A")


def test_a_run_written_from_python_keeps_its_first_place_s_lead_in_the_unit_of_its_ranking(plan_files, here):
    """`api.write_evaluate_run(..., ranking={"rank_by": "mean"})` kept no lead_se_usd (only the CLI
    measured it), so its report's In short left out how sure its first place is, as a notebook's
    display of the result did. The writer measures it: by mean NPV, compare's paired error of the
    NPV matrix's rows of the first two plans; by P(any default), a share (lead_se_share). A lead
    given is refused by name, and nothing is written."""
    result, loaded, source = api.evaluate(plan_files / "plans.npz", "tiny", scenarios=60, seed=3,
                                          keep_matrix=True, backend="numpy")  # fmt: skip
    first, second = (int(row) for row in result.ranked("mean").index[:2])
    se = paired_npv_error("npv_mean_usd", result.npv_matrix[second], result.npv_matrix[first])
    path = api.write_evaluate_run(result, loaded, source, here / "M", ranking={"rank_by": "mean"})
    ranking = json.loads((path / "summary.json").read_text())["ranking"]
    assert ranking == {"rank_by": "mean", "max_breach_prob": None, "lead_se_usd": pytest.approx(se)}
    measured = f"a standard error of the paired difference of {format_error(se)} on the same 60 scenarios"
    assert measured in _report_in_short(path)
    first, second = (int(row) for row in result.ranked().index[:2])  # the display's: by CVaR5
    se = paired_npv_error("npv_cvar5_usd", result.npv_matrix[second], result.npv_matrix[first])
    said = f"the paired difference of {format_error(se)} on the same 60 scenarios"
    assert said in result._in_short()[0]
    assert "on the same 60 scenarios: beyond two standard errors" in result._repr_html_()  # its $ in spans
    by_default = api.write_evaluate_run(result, loaded, source, here / "A",
                                        ranking={"rank_by": "any-default"})  # fmt: skip
    ranking = json.loads((by_default / "summary.json").read_text())["ranking"]
    assert set(ranking) == {"rank_by", "max_breach_prob", "lead_se_share"}
    assert 0 < ranking["lead_se_share"] < 1  # a share, not USD
    for key in ("lead_se_usd", "lead_se_share"):
        with pytest.raises(InputError, match=f"ranking's {key} is measured from the result"):
            api.write_evaluate_run(result, loaded, source, here / "E", ranking={"rank_by": "mean", key: 0.05})
        assert not (here / "E").exists()


def test_the_command_and_the_api_write_the_same_summary_apart_from_timings(plan_files, here):
    """`fleetopt evaluate --rank-by mean` and fo.evaluate + fo.write_evaluate_run with that ranking,
    on the same scenarios, write the same summary.json (its lead's error included), but for how
    long each took and when it was written."""
    plans = str(plan_files / "plans.npz")
    code, out, err = run_cli("evaluate", "tiny", "--plans", plans, "--scenarios", "60", "--seed", "3",
                             "--rank-by", "mean", "--backend", "numpy", "--out", "C")  # fmt: skip
    assert code == 0, out + err
    result, loaded, source = api.evaluate(plans, "tiny", scenarios=60, seed=3, backend="numpy")
    api.write_evaluate_run(result, loaded, source, here / "P", ranking={"rank_by": "mean"})
    timings = ("seconds", "plan_scenario_quarters_per_second", "written_utc")
    command, python = (json.loads((here / f / "summary.json").read_text()) for f in ("C", "P"))
    assert "lead_se_usd" in command["ranking"]
    assert {k: v for k, v in command.items() if k not in timings} == {
        k: v for k, v in python.items() if k not in timings}
