"""A sweep names the plan of highest mean NPV no worse than the forecast optimum on every figure its
rule reads, where that is not its pick (a finance review of the default sweep: "milp: demand slump"
beat the forecast optimum on every figure, mean NPV included, and nothing said so)."""

from __future__ import annotations

import html
import json
import re

import numpy as np
import pandas as pd
import pytest
from conftest import run_cli

from fleetopt.report import page
from fleetopt.runs.registry import Registry
from fleetopt.sweep.recommendation import best_mean_words
from fleetopt.sweep.rule import Rule, best_mean_within_rule, recommend


def five_plans() -> pd.DataFrame:
    """The forecast optimum (mean NPV $12B, CVaR5 -$22B, P(breach) 64 %, P(liquidity default) 25 %,
    P(any default) 45 %) and four plans, in $B:
    A  13.0, -19.0, 61 %, 21 %, 42 %: no riskier than the optimum and better on mean NPV and CVaR5;
    B  11.0, -18.8, 60 %, 19 %, 40 %: the best CVaR5 within the rule, the pick;
    C  14.0, -15.0, 90 %, 22 %, 70 %: a better tail and mean NPV, but breaching more (outside the rule);
    D  13.5, -23.0, 60 %, 20 %, 40 %: within the rule, mean NPV above A's, CVaR5 below the optimum's;
    E  13.6, -20.0, 50 %, 20 %, 40 %: breaches on the forecast itself."""
    return pd.DataFrame({
        "plan": ["milp: forecast", "A", "B", "C", "D", "E"],
        "origin": ["forecast", "stress", "policy", "stress", "variation", "variation"],
        "forecast_within_limits": [True, True, True, True, True, False],
        "npv_mean_usd": [12e9, 13e9, 11e9, 14e9, 13.5e9, 13.6e9],
        "npv_cvar5_usd": [-22e9, -19e9, -18.8e9, -15e9, -23e9, -20e9],
        "npv_p5_usd": [-15e9, -12e9, -11e9, -10e9, -16e9, -13e9],
        "breach_probability": [0.64, 0.61, 0.60, 0.90, 0.60, 0.50],
        "default_probability": [0.25, 0.21, 0.19, 0.22, 0.20, 0.20],
        "any_default_probability": [0.45, 0.42, 0.40, 0.70, 0.40, 0.40],
    })  # fmt: skip


NONE_LEFT_OUT = np.zeros(6, dtype=bool)


def test_the_plan_of_highest_mean_npv_no_worse_than_the_forecast_optimum_is_found():
    """The rule picks B (CVaR5 -$18.8B, the best of the optimum, A, B and D; C breaches more than the
    optimum, E on the forecast). Of the plans above both the optimum's $12B and B's $11B of mean NPV,
    C is outside the rule, D's CVaR5 is below the optimum's and E breaches on the forecast: A is the
    one, though D and E have more mean NPV."""
    metrics, rule = five_plans(), Rule()
    pick = recommend(metrics, rule)
    assert pick == 2
    assert best_mean_within_rule(metrics, rule, pick, NONE_LEFT_OUT) == 1
    # a buffer that never acted (the same plan as another) is not named
    a_left_out = np.array([False, True, False, False, False, False])
    assert best_mean_within_rule(metrics, rule, pick, a_left_out) is None
    # a rule that admits plans breaching on the forecast still names a plan no worse than the optimum:
    # its pick is the same (E's CVaR5 is below B's), and E is not named
    loose = Rule(forecast_within_limits=False)
    assert recommend(metrics, loose) == 2
    assert best_mean_within_rule(metrics, loose, 2, NONE_LEFT_OUT) == 1
    # --allow-riskier picks C, whose mean NPV, $14B, no plan within the rule passes: nothing to name
    riskier = Rule(no_riskier_than_optimum=False)
    assert recommend(metrics, riskier) == 3
    assert best_mean_within_rule(metrics, riskier, 3, NONE_LEFT_OUT) is None
    # ranked by mean NPV the pick is D, the highest within the rule: nothing above it
    by_mean = Rule(prefer="mean")
    assert recommend(metrics, by_mean) == 4
    assert best_mean_within_rule(metrics, by_mean, 4, NONE_LEFT_OUT) is None
    # ranked by P5: B's -$11B is the best within the rule; A's -$12B is above the optimum's -$15B
    assert best_mean_within_rule(metrics, Rule(prefer="p5"), 2, NONE_LEFT_OUT) == 1


def test_nothing_is_named_where_the_plan_above_the_optimum_is_the_pick_itself():
    """B's mean NPV raised to $13.2B: above A's, so the plan of highest mean NPV no worse than the
    optimum is the pick, and none other is above it."""
    metrics = five_plans()
    metrics.loc[2, "npv_mean_usd"] = 13.2e9
    assert recommend(metrics, Rule()) == 2
    assert best_mean_within_rule(metrics, Rule(), 2, NONE_LEFT_OUT) is None
    # nor where no forecast optimum is among the metrics (a frame made by hand)
    assert best_mean_within_rule(five_plans().iloc[1:].reset_index(drop=True), Rule(), 1,
                                 NONE_LEFT_OUT[1:]) is None  # fmt: skip


def test_the_line_gives_the_differences_against_the_optimum_and_the_pick_with_their_errors():
    """A against the optimum: +$1.00B of mean NPV and +$3.00B of CVaR5; against the pick B: +$2.00B
    and -$0.20B, which the pick gives up and gains. The line said "Highest mean NPV within the rule: A"
    though D, within the rule, has more ($13.5B): its CVaR5 is below the optimum's, so the line says
    what A is the highest of. Each error to two significant figures, as every sentence states one:
    $50.4M is $50M, $300M, and $105M half up $110M (it read $50.4M, $300.0M, $105.0M)."""
    best = {
        "plan": "A",
        "against_forecast_optimum": {"npv_mean_usd": 1e9, "npv_mean_paired_se_usd": 5.04e7,
                                     "npv_cvar5_usd": 3e9, "npv_cvar5_paired_se_usd": 3e8},
        "against_pick": {"npv_mean_usd": 2e9, "npv_mean_paired_se_usd": 1.05e8,
                         "npv_cvar5_usd": -2e8, "npv_cvar5_paired_se_usd": None},
    }  # fmt: skip
    assert best_mean_words(best, "cvar5", 1000) == (
        "Highest mean NPV no worse than the forecast optimum on every figure the rule reads: A: against "
        "the forecast optimum mean NPV +$1.00B (paired "
        "standard error $50M) and CVaR5 NPV +$3.00B ($300M); the pick gives up $2.00B of mean NPV to "
        "it ($110M) for +$200.0M of CVaR5 NPV, on the same 1,000 scenarios."
    )
    assert best_mean_words(None, "cvar5", 1000) == ""
    damaged = {**best, "against_pick": {"npv_mean_usd": "2e9"}}  # a summary.json edited by hand
    assert best_mean_words(damaged, "cvar5", 1000) == ""


def words(text: str) -> str:
    return " ".join(text.split())


def test_a_tiny_sweep_names_the_plan_its_terminal_summary_report_and_rerank(tmp_path):
    """tiny, 5 candidates on 30 scenarios of seed 0: the rule picks "milp: price shock, cash buffer
    $60.0M" (mean NPV -$25.7M); "milp: forecast, cash buffer $30.0M" has P(breach) 96.7 %, P(liquidity
    default) 0 % and P(any default) 86.7 %, the forecast optimum's, and a mean NPV ($79.7k) and CVaR5
    above it: named, with the differences of candidates.csv's figures. Its $60.0M twin has more
    mean NPV but a default of either kind in 90.0 %: not named."""
    out = tmp_path / "S"
    code, said, _ = run_cli("sweep", "tiny", "--candidates", "5", "--scenarios", "30", "--seed", "0",
                            "--out", str(out))  # fmt: skip
    assert code == 0
    summary = json.loads((out / "summary.json").read_text())
    metrics = pd.read_csv(out / "candidates.csv").set_index("plan")
    best = summary["best_mean_within_rule"]
    assert summary["recommended"] == "milp: price shock, cash buffer $60.0M"
    assert best["plan"] == "milp: forecast, cash buffer $30.0M"
    named = (best["plan"], "milp: forecast", summary["recommended"])
    it, optimum, pick = (metrics.loc[name] for name in named)
    for column in ("npv_mean_usd", "npv_cvar5_usd"):
        against = best["against_forecast_optimum"][column]
        assert against == pytest.approx(it[column] - optimum[column], rel=1e-9)
        assert best["against_pick"][column] == pytest.approx(it[column] - pick[column], rel=1e-9)
    assert best["against_forecast_optimum"]["npv_mean_usd"] > 0 and best["against_pick"]["npv_mean_usd"] > 0
    assert all(best[part][se] > 0 for part in ("against_forecast_optimum", "against_pick")
               for se in ("npv_mean_paired_se_usd", "npv_cvar5_paired_se_usd"))  # fmt: skip
    line = best_mean_words(best, "cvar5", 30)
    assert line.startswith("Highest mean NPV no worse than the forecast optimum on every figure the rule "
                           "reads: milp: forecast, cash buffer $30.0M: against the forecast optimum mean NPV "
                           "+$79.7k (paired standard error ")
    printed = words(said)
    assert line in printed and printed.index("recommended: ") < printed.index(line)
    report = words(html.unescape(page.build_report(out)))
    assert line in report
    # `fleetopt runs` records its label (a figure of the run, as the runner-up's)
    (record,) = Registry().list()
    assert record.figures["best_mean_within_rule"] == best["plan"]
    code, again, _ = run_cli("sweep", "--rerank", str(out), "--out", str(tmp_path / "R"))
    assert code == 0 and line in words(again)  # the same scenarios, the same figures
    assert json.loads((tmp_path / "R" / "summary.json").read_text())["best_mean_within_rule"] == best


def test_a_sweep_with_no_such_plan_says_nothing(tmp_path):
    """tiny, 5 candidates on 30 scenarios of seed 7: the plans above the forecast optimum's mean NPV
    ("milp: forecast, cash buffer $30.0M" and "$60.0M") default as lenders count it in 80.0 % of the
    scenarios against its 73.3 %: outside the rule, so nothing is named."""
    out = tmp_path / "S"
    code, said, _ = run_cli("sweep", "tiny", "--candidates", "5", "--scenarios", "30", "--seed", "7",
                            "--out", str(out))  # fmt: skip
    assert code == 0
    assert json.loads((out / "summary.json").read_text())["best_mean_within_rule"] is None
    assert "Highest mean NPV" not in said
    assert "Highest mean NPV" not in page.build_report(out)
    assert re.search(r"recommended: milp: price shock, cash buffer \$30\.0M", said)
