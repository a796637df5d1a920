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
from fleetopt.core.units import format_usd
from fleetopt.evaluate import save_plans
from fleetopt.evaluate.first_place import first_place_words
from fleetopt.evaluate.metrics import FORECAST_OK, paired_npv_error, ranked_plans

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
                f"against a standard error of the paired difference of {format_usd(se)} on the same 60 "
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
