"""`fleetopt solve --stochastic N --replications K --gap-scenarios M` (docs/formulation.md §7b "Optimality
gap"): the K samples' optima against the plan's first stage re-planned in M fresh scenarios, with the
same recourse on both sides; the figures, the file they are recomputed from, and the refusals."""

from __future__ import annotations

import json
import math
import shutil
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from test_stochastic_replications import hand_record, hand_summary, page_text
from typer.testing import CliRunner

from fleetopt import api
from fleetopt.cli import app
from fleetopt.core.data import load
from fleetopt.core.units import format_usd
from fleetopt.errors import FleetoptWarning, InputError
from fleetopt.evaluate.scenarios import generate_scenarios
from fleetopt.milp.stochastic.extensive_form import build_extensive_form
from fleetopt.milp.stochastic.first_stage import FirstStage
from fleetopt.report.definitions import replication_terms
from fleetopt.report.page import build_report
from fleetopt.report.two_stage import stochastic_section
from fleetopt.stochastic.gap import T_975, Z_975, gap_record, optimality_gap_words, t_975
from fleetopt.stochastic.replications import stability_line
from fleetopt.stochastic.screening import scenario_inputs

# tiny's forecast objective less its NPV: the tie-breaks of §5.9-5.10 (formulation §7b, "$8.59 on tiny's
# forecast"), which a scenario's value subtracts and the forecast's NPV does not
TINY_TIE_BREAKS_USD = 8.59


def test_with_every_future_the_forecast_both_sides_are_the_forecast_optimum_and_the_gap_is_nil():
    # no risk block: every scenario drawn is the forecast, so each sample's optimum and each fresh
    # scenario's value under the plan's first stage are the forecast optimum's value, its NPV less the
    # tie-breaks, with no spread on either side
    with pytest.warns(FleetoptWarning, match="every scenario drawn is the model's forecast"):
        result = api.solve_stochastic(api.edit("tiny", {"risk": None}), 2, replications=2, gap_scenarios=4,
                                      out_of_sample=0)  # fmt: skip
    gap = result.replications["gap"]
    forecast_value = result.measures["ev_usd"] - TINY_TIE_BREAKS_USD
    assert gap["sample_optima_mean_usd"] == pytest.approx(forecast_value, abs=0.01)
    assert gap["fresh_values_mean_usd"] == pytest.approx(forecast_value, abs=0.01)
    assert abs(gap["gap_usd"]) < 1.0 and gap["gap_se_usd"] == pytest.approx(0.0, abs=1e-6)
    assert gap["gap_at_most_usd"] == pytest.approx(gap["gap_usd"] + gap["solver_slack_usd"], abs=1e-6)
    assert gap["scenarios"] == 4 and gap["seed"] == 2  # seed 0 + K: no replication reduced it


def test_the_bound_adds_each_side_s_half_width_at_97_5_percent_and_the_solves_slack():
    # U: objectives 10 and 14 (bounds 10 and 15: slack 0.5 on average); L: values 1, 2, 3, 6
    record = gap_record([10.0, 14.0], [10.0, 15.0], [1.0, 2.0, 3.0, 6.0], seed=7, reduced=False,
                        status="optimal")  # fmt: skip
    se_upper = math.sqrt(8.0) / math.sqrt(2)  # s_U = sqrt(((10 - 12)^2 + (14 - 12)^2) / 1)
    se_lower = math.sqrt(14.0 / 3.0) / 2.0  # s_L = sqrt((4 + 1 + 0 + 9) / 3)
    assert record["sample_optima_mean_usd"] == 12.0 and record["fresh_values_mean_usd"] == 3.0
    assert record["gap_usd"] == 9.0
    assert record["gap_se_usd"] == pytest.approx(math.sqrt(se_upper**2 + se_lower**2))
    assert record["solver_slack_usd"] == pytest.approx(0.5)
    assert record["gap_at_most_usd"] == pytest.approx(9.0 + 12.7062 * se_upper + 3.1824 * se_lower + 0.5)
    # every figure a plain float, as a notebook reads the others (the bound was a numpy float64)
    assert all(type(record[key]) is float for key in record if key.endswith("_usd")), record
    unknown = gap_record([10.0, 14.0], [10.0, None], [1.0, 2.0], seed=7, reduced=False, status="optimal")
    assert unknown["gap_at_most_usd"] is None and unknown["solver_slack_usd"] is None


def test_a_reduced_run_without_a_bound_calls_no_bound_indicative():
    # no solver bound from a sample: no bound is given, so the reduction's caveat cannot call one indicative
    unknown = gap_record([10.0, 14.0], [10.0, None], [1.0, 2.0], seed=7, reduced=True, status="optimal")
    words = optimality_gap_words(unknown, {"scenarios": 5, "screened": 200})
    assert "no bound (a replication's solve gave none)" in words
    assert "so any bound would be only indicative" in words and "the bound is indicative" not in words


def _t_cdf(x: float, df: int) -> float:
    """Student's t distribution function at ``x`` by Simpson's rule on its density."""
    grid = np.linspace(0.0, x, 20_001)
    log_c = math.lgamma((df + 1) / 2) - math.lgamma(df / 2) - 0.5 * math.log(df * math.pi)
    density = np.exp(log_c - (df + 1) / 2 * np.log1p(grid**2 / df))
    h = grid[1] - grid[0]
    return 0.5 + h / 3 * (density[0] + density[-1] + 4 * density[1:-1:2].sum() + 2 * density[2:-1:2].sum())


def test_the_quantiles_are_the_97_5_percent_points():
    for df, value in enumerate(T_975, start=1):
        assert _t_cdf(value, df) == pytest.approx(0.975, abs=5e-5), df
    assert 0.5 * math.erfc(-Z_975 / math.sqrt(2)) == pytest.approx(0.975, abs=1e-7)
    for df in (30, 45, 100, 999):  # beyond the table: the expansion
        assert _t_cdf(t_975(df), df) == pytest.approx(0.975, abs=5e-6), df
    assert t_975(30) == pytest.approx(2.0423, abs=1e-4) and t_975(1) == T_975[0]


def test_few_fresh_scenarios_widen_the_lower_side_by_student_s_t():
    # M = 2 fresh scenarios: L's half-width at t with one degree of freedom (12.71), not the normal's 1.96
    record = gap_record([10.0, 14.0], [10.0, 14.0], [1.0, 3.0], seed=7, reduced=False, status="optimal")
    se_upper, se_lower = math.sqrt(8.0) / math.sqrt(2), math.sqrt(2.0) / math.sqrt(2)
    assert record["gap_at_most_usd"] == pytest.approx(10.0 + 12.7062 * se_upper + 12.7062 * se_lower)


def test_a_notebook_has_each_sample_s_decisions_and_each_fresh_scenario_s_value_as_a_frame():
    """Every future is the forecast (no risk block): both samples make the forecast optimum's first
    stage, so each decision's amount is the same in each, its mean, min and max; each of the 4 fresh
    scenarios is worth the forecast's value (its NPV less the tie-breaks) with no rescue. The display's
    "Next:" names both frames; a solve of one sample has neither (no rows) and names none."""
    with pytest.warns(FleetoptWarning, match="every scenario drawn is the model's forecast"):
        result = api.solve_stochastic(api.edit("tiny", {"risk": None}), 2, replications=2, gap_scenarios=4,
                                      out_of_sample=0)  # fmt: skip
    samples = result.replications_frame()
    assert list(samples.columns) == ["quarter", "decision", "item", "unit", "seed_0", "seed_1", "mean", "min",
                                     "max"]  # fmt: skip
    assert len(samples) == len(result.replications["stability"]) > 0
    for column in ("seed_1", "mean", "min", "max"):
        assert samples[column].tolist() == pytest.approx(samples["seed_0"].tolist(), rel=1e-9), column
    fresh = result.gap_frame()
    assert fresh["scenario"].tolist() == [0, 1, 2, 3] and not fresh["rescued"].any()
    forecast_value = result.measures["ev_usd"] - TINY_TIE_BREAKS_USD
    assert fresh["value_usd"].tolist() == pytest.approx([forecast_value] * 4, abs=0.01)
    assert fresh["value_usd"].mean() == pytest.approx(result.replications["gap"]["fresh_values_mean_usd"])
    shown = result._repr_markdown_().splitlines()[-1]
    assert ".replications_frame() (each decision in each sample), .gap_frame() (each fresh" in shown
    one = api.solve_stochastic("tiny", 2, out_of_sample=0)
    assert one.replications_frame().empty and one.gap_frame().empty
    assert list(one.gap_frame().columns) == ["scenario", "value_usd", "npv_usd", "rescued"]
    assert "replications_frame" not in one._repr_markdown_() and "gap_frame" not in one._repr_markdown_()


@pytest.fixture(scope="module")
def gap_run(tmp_path_factory):
    """tiny solved on 2 samples of 2 scenarios with the gap over 4 fresh scenarios, by the command."""
    root = tmp_path_factory.mktemp("gap")
    out = root / "run"
    args = ["solve", "tiny", "--stochastic", "2", "--replications", "2", "--gap-scenarios", "4",
            "--out", str(out)]  # fmt: skip
    got = CliRunner().invoke(app, args, env={"FLEETOPT_RUNS_DIR": str(root / "runs"), "COLUMNS": "400"})
    assert got.exit_code == 0, got.output
    return out, " ".join(got.output.split())


def test_the_run_folder_holds_each_fresh_scenario_and_the_figures_recompute_from_its_files(gap_run):
    out, output = gap_run
    summary = json.loads((out / "summary.json").read_text())
    record, gap = summary["replications"], summary["replications"]["gap"]
    values = pd.read_csv(out / "gap_scenarios.csv")
    assert list(values.columns) == ["scenario", "value_usd", "npv_usd", "rescued"]
    assert list(values["scenario"]) == [0, 1, 2, 3]
    assert values["value_usd"].mean() == pytest.approx(gap["fresh_values_mean_usd"], abs=1e-5)
    assert values["value_usd"].std(ddof=1) / 2 == pytest.approx(gap["fresh_values_se_usd"], abs=1e-5)
    assert np.mean(record["objectives_usd"]) == pytest.approx(gap["sample_optima_mean_usd"])
    assert gap["gap_usd"] == pytest.approx(gap["sample_optima_mean_usd"] - gap["fresh_values_mean_usd"])
    assert gap["seed"] == summary["out_of_sample"]["seed"] == 2
    # a scenario's value is never above its NPV: it is the NPV less the penalties and tie-breaks
    assert (values["value_usd"] <= values["npv_usd"] + 1e-6).all()
    assert "Optimality gap of the first stage: " in output and " ± $" in output
    chance = "; below 0 by chance alone: no gap is" if gap["gap_usd"] < 0 else ""
    assert f"(estimate, 4 fresh scenarios{chance}), at most $" in output
    assert "reduced from 200 drawn, not a plain sample, so the bound is indicative" in output


def test_the_run_read_back_holds_its_replications_and_fresh_scenarios(gap_run, tmp_path):
    """fleetopt.api.read_run of a stochastic run gave its plan and statements alone: its
    replications.csv and gap_scenarios.csv are tables of it too, as written; a run without them
    reads as before."""
    out, _ = gap_run
    data = api.read_run(out)
    assert list(data.tables) == ["plan", "statements", "replications", "gap_scenarios"]
    for name in ("replications", "gap_scenarios"):
        pd.testing.assert_frame_equal(data[name], pd.read_csv(out / f"{name}.csv"))
    assert data["gap_scenarios"]["value_usd"].mean() == pytest.approx(
        data.summary["replications"]["gap"]["fresh_values_mean_usd"], abs=1e-5
    )
    alone = tmp_path / "alone"
    shutil.copytree(out, alone)
    (alone / "replications.csv").unlink()
    (alone / "gap_scenarios.csv").unlink()
    assert list(api.read_run(alone).tables) == ["plan", "statements"]


def test_a_fresh_scenario_s_value_is_its_copy_solved_alone_with_the_plan_s_first_stage(gap_run):
    out, _ = gap_run
    values = pd.read_csv(out / "gap_scenarios.csv")
    _, data = api.load("tiny")
    result = api.solve_stochastic("tiny", 2, out_of_sample=0)  # the run's plan: replication 0's, seed 0
    drawn = generate_scenarios(data, 2, 0, 4)
    third = scenario_inputs(data, drawn, np.array([2]), np.array([1.0]))
    ef = build_extensive_form(data, third, FirstStage(result.settings["first_stage_quarters"]))
    ef.fix_first_stage(result.first_stage)
    alone = ef.solve(0.01, None, None)
    assert alone.scenarios[0]["value_usd"] == pytest.approx(values["value_usd"][2], rel=0.01)


def test_the_report_gives_the_gap_its_bound_and_what_it_means_under_the_stability_table():
    # U: the samples' optima $10M and $14M (bounds $10M and $15M: slack $0.5M); L: $1M, $2M, $3M, $6M.
    # Gap 12 - 3 = $9.0M; standard errors 2.0 and sqrt(14/3)/2 = 1.08, together $2.3M; at most
    # 9 + 12.7062 x 2.0 + 3.1824 x 1.08 + 0.5 = $38.3M (t with 1 and 3 degrees of freedom)
    record = gap_record([10e6, 14e6], [10e6, 15e6], [1e6, 2e6, 3e6, 6e6], seed=2, reduced=False,
                        status="optimal")  # fmt: skip
    summary = hand_summary({**hand_record(), "gap": record})
    text = page_text(stochastic_section(SimpleNamespace(summary=summary, data=load("tiny")[1])))
    said = ("Optimality gap of the first stage: $9.0M ± $2.3M (estimate, 4 fresh scenarios), at most $38.3M "
            "at 95%. What it means: the best first stage could be worth at most $38.3M more than the plan's "
            "(95% confidence), in the programme's objective (the futures' expected NPV less the penalties of "
            "the rescues they need). Each fresh scenario's value: gap_scenarios.csv.")
    assert said in text and text.index("1,448 2,000 1,724") < text.index(said)
    reduced = {**summary, "replications": {**hand_record(), "gap": {**record, "reduced": True}}}
    text = page_text(stochastic_section(SimpleNamespace(summary=reduced, data=load("tiny")[1])))
    assert "each sample's 5 scenarios were reduced from 200 drawn, not a plain sample" in text
    assert "$38.3M more than the plan's (95% confidence; indicative: each sample was reduced)" in text
    terms = replication_terms(summary["replications"])
    assert [term for term, _ in terms] == ["replication", "optimality gap (estimate)"]


def test_the_run_s_report_says_the_summary_s_verdict_table_and_gap_and_one_sample_s_none(gap_run, tmp_path):
    out, _ = gap_run
    record = json.loads((out / "summary.json").read_text())["replications"]
    text = page_text(build_report(out))
    assert f"{record['verdict'][0].upper()}{record['verdict'][1:]}." in text
    for row in record["stability"]:
        line = stability_line(row)
        assert " ".join([*line[:4], "differ" if row["varies"] else "agree", *line[4:]]) in text
    gap = record["gap"]
    said = f"Optimality gap of the first stage: {format_usd(gap['gap_usd'])} ± $"
    most = f"at most {format_usd(gap['gap_at_most_usd'])} more than the plan's (95% confidence; indicative"
    assert said in text and most in text
    definitions = text[text.index("Definitions"):]
    assert "replication the stochastic solve again" in definitions
    assert "optimality gap (estimate) how much more the best first stage" in definitions
    # one sample (--replications 1): none of it
    args = ["solve", "tiny", "--stochastic", "2", "--out", str(tmp_path / "one")]
    got = CliRunner().invoke(app, args, env={"FLEETOPT_RUNS_DIR": str(tmp_path / "runs")})
    assert got.exit_code == 0, got.output
    alone = page_text(build_report(tmp_path / "one"))
    assert not any(words in alone for words in ("How stable", "Optimality gap", "replication", "samples"))


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["--gap-scenarios", "4"], "--gap-scenarios cannot apply without --stochastic N"),
        (["--stochastic", "2", "--gap-scenarios", "4"],
         "--gap-scenarios needs --replications K of at least 2"),
        (["--stochastic", "2", "--replications", "2", "--gap-scenarios", "1"],
         "--gap-scenarios must be 0 (none) or at least 2 fresh scenarios"),
        (["--stochastic", "2", "--replications", "2", "--gap-scenarios", "4", "--risk-weight", "0.5"],
         "--gap-scenarios estimates the gap of the expected value: leave --risk-weight at 0 (got 0.5"),
    ],
)  # fmt: skip
def test_the_option_is_refused_by_name_where_it_cannot_apply(args, said, tmp_path, monkeypatch):
    monkeypatch.setenv("FLEETOPT_RUNS_DIR", str(tmp_path / "runs"))
    got = CliRunner().invoke(app, ["solve", "tiny", *args], env={"COLUMNS": "400"})
    assert got.exit_code == 2
    assert said in " ".join(got.output.split()) and "Traceback" not in got.output
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").glob("*tiny*"))


def test_the_api_refuses_a_gap_without_replications_by_name():
    with pytest.raises(InputError, match=r"gap_scenarios \(--gap-scenarios\) needs replications"):
        api.solve_stochastic("tiny", 2, gap_scenarios=4)
