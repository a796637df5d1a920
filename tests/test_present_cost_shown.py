"""A plan solved for least cost is shown by its present cost over the scenarios wherever a lab looks: the
terminal's evaluate table and "In short", a notebook's display, `fleetopt runs`, the report's key figures
and "In short", and `fleetopt compare` (docs/evaluation.md, "The present cost"). The figures shown are
metrics.csv's, read back; an NPV plan shows none of them."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from conftest import run_cli

from fleetopt import api
from fleetopt.cli.render.runs import key_figure
from fleetopt.compare.comparison import Comparison
from fleetopt.compare.plan_figures import paired_errors
from fleetopt.core.units import format_difference, format_error, format_usd
from fleetopt.evaluate.batch import compile_plans
from fleetopt.evaluate.engine import evaluate
from fleetopt.evaluate.result import DEMAND_OUTCOMES, MEAN_OUTCOMES, OUTCOMES
from fleetopt.evaluate.result_fields import PRESENT_COST
from fleetopt.evaluate.sources import read_plans
from fleetopt.runs.key_figures import key_figures

SCENARIOS, SEED = 300, 4


def _words(text: str) -> str:
    """``text`` with its line breaks and runs of spaces as one space (the terminal wraps its lines)."""
    return " ".join(text.split())


@pytest.fixture(scope="module")
def lab_cost(tmp_path_factory):
    """lab solved for least cost, then evaluated on 300 scenarios (seed 4) through the CLI: (solve
    folder, evaluation folder, the evaluation's terminal output, its metrics.csv's row)."""
    root = tmp_path_factory.mktemp("lab-cost")
    loaded, _ = api.load("lab")
    solved = api.write_solve_run(api.solve(loaded, objective="cost"), loaded, root / "cost")
    code, text, err = run_cli("evaluate", "--plans", str(solved), "--scenarios", str(SCENARIOS), "--seed",
                              str(SEED), "--out", str(root / "E"))  # fmt: skip
    assert code == 0, err
    row = pd.read_csv(root / "E" / "metrics.csv").iloc[0]
    return solved, root / "E", _words(text), row


def _shown(row, column: str) -> str:
    return format_usd(float(row[column]))


def _cost_sentence(row) -> str:
    """The present cost's sentence of "In short", from metrics.csv's figures."""
    return (f"present cost {_shown(row, 'present_cost_mean_usd')} on average over {SCENARIOS} futures; the "
            f"costliest 5 % average {_shown(row, 'present_cost_cvar95_usd')}, none of them below "
            f"{_shown(row, 'present_cost_p95_usd')}.")


def test_evaluate_prints_what_a_cost_plan_costs_over_the_scenarios_first(lab_cost):
    """The terminal gave the demand served and the NPVs of a lab's plan, never its present cost, the figure
    it was solved for: now a table of its mean (with its standard error), P95 and CVaR95, before the NPVs,
    and "In short" opens with it and gives its sampling error."""
    _, _, text, row = lab_cost
    cells = " │ ".join(_shown(row, c) for c in ("present_cost_mean_usd", "present_cost_mean_se_usd",
                                                 "present_cost_p95_usd", "present_cost_cvar95_usd"))
    assert f"│ milp │ {cells} │" in text, text
    assert text.index("what the plan costs over 300 scenarios") < text.index("the plan over the scenarios")
    assert f"In short: Plan “milp”: {_cost_sentence(row)}" in text
    imputed = format_usd(float(row["npv_mean_usd"]))
    imputed_words = "Its imputed value, the NPV with the GPUs' own use valued at market prices"
    assert f"{imputed_words}: {imputed} on average." in text
    assert "the worst 5 % average" not in text and "end with a negative NPV" not in text
    se = format_error(float(row["present_cost_mean_se_usd"]))
    assert f"Sampling error, one standard error over 300 futures: {se} on the mean present cost," in text
    # lower is better: the tail of the costliest scenarios lies above the mean
    assert row["present_cost_mean_usd"] < row["present_cost_p95_usd"] <= row["present_cost_cvar95_usd"]


def test_a_cost_plans_in_short_weighs_its_present_cost_and_service_and_imputes_its_npv():
    """A lab's plan over 100 futures, by hand: present cost $700.0M on average, the costliest 5 % $900.0M
    (none below $850.0M), 10 % of futures short of demand; its NPV of $212.4M (worst 5 % -$221.2M, 21 %
    negative) values its own use at market prices, which no one pays: said as an imputed value alone, its
    tail and P(NPV < 0) left out, so the sampling error's largest probability is the 10 % short's,
    sqrt(0.1 x 0.9 / 100) = 3.0 pp, not P(NPV < 0)'s 4.1 pp. The same row without its present cost (a
    plan solved for NPV) is said by its NPV, as before."""
    from fleetopt.core.results.risk_sentences import risk_in_short

    row = {"present_cost_mean_usd": 700e6, "present_cost_mean_se_usd": 5e6, "present_cost_p95_usd": 850e6,
           "present_cost_cvar95_usd": 900e6, "npv_mean_usd": 212.4e6, "npv_mean_se_usd": 25.6e6,
           "npv_cvar5_usd": -221.2e6, "loss_probability": 0.21, "default_probability": 0.0,
           "breach_probability": 0.0, "shortfall_probability": 0.1}
    said = risk_in_short("Plan “milp”", 100, row, forecast_npv=340.2e6, served="It serves 95.0% ...")
    assert said == [
        "Plan “milp”: present cost $700.0M on average over 100 futures; the costliest 5 % average $900.0M, "
        "none of them below $850.0M.",
        "It serves 95.0% ...",
        "Its imputed value, the NPV with the GPUs' own use valued at market prices: $212.4M on average "
        "against $340.2M on the forecast.",
        "A liquidity default in 0.0% of the futures, a covenant breach in 0.0%.",
        "Sampling error, one standard error over 100 futures: $5.0M on the mean present cost, $26M on the "
        "mean NPV, at most 3.0 pp on each probability.",
    ]
    npv = {c: v for c, v in row.items() if not c.startswith("present_cost")}
    assert risk_in_short("Plan “milp”", 100, npv)[0] == (
        "Plan “milp”: mean NPV $212.4M over 100 futures; the worst 5 % average -$221.2M; 21.0% end with a "
        "negative NPV.")


def test_an_npv_plans_evaluation_says_no_present_cost(tmp_path):
    """Its metrics have no present cost: its table and "In short" are as they were."""
    solved = api.write_solve_run(api.solve("tiny"), out=tmp_path / "S")
    code, text, err = run_cli("evaluate", "--plans", str(solved), "--scenarios", "20", "--out",
                              str(tmp_path / "E"))  # fmt: skip
    assert code == 0, err
    assert "present cost" not in text and "In short: Plan “milp”: mean NPV" in _words(text)


def test_a_deterministic_evaluation_prints_the_present_cost_on_the_forecast(lab_cost, tmp_path):
    """Its one scenario is the forecast: the solve's present cost ($779.7M on lab), no error, no tail."""
    solved = lab_cost[0]
    code, text, err = run_cli("evaluate", "--plans", str(solved), "--deterministic", "--out",
                              str(tmp_path / "D"))  # fmt: skip
    assert code == 0, err
    assert "│ milp │ $779.7M │" in _words(text) and "CVaR95" not in text


def test_a_notebook_shows_the_present_cost_in_short(lab_cost):
    """A notebook's display of the evaluation says it as the terminal does."""
    solved, _, _, row = lab_cost
    shown = _words(api.evaluate(solved, scenarios=SCENARIOS, seed=SEED).result._repr_markdown_())
    assert f"Plan “milp”: {_cost_sentence(row)}".replace("$", "\\$") in shown
    # its key figures' table opens with the present cost, its error and tail, before the NPV
    cells = " | ".join(_shown(row, c).replace("$", "\\$") for c in ("present_cost_mean_usd",
                       "present_cost_mean_se_usd", "present_cost_cvar95_usd"))  # fmt: skip
    header = "| plan | mean present cost | s.e. of mean present cost | CVaR95 present cost | mean NPV |"
    assert header in shown
    assert f"| milp | {cells} |" in shown


def test_the_run_registry_lists_a_cost_plans_present_cost(lab_cost):
    """`fleetopt runs` listed a cost plan's evaluation by its demand served alone; `runs show` had neither
    its mean nor its CVaR95 present cost."""
    _, folder, _, row = lab_cost
    kept = key_figures(json.loads((folder / "summary.json").read_text()))
    cost = (f"milp: present cost {_shown(row, 'present_cost_mean_usd')} on average (CVaR95 "
            f"{_shown(row, 'present_cost_cvar95_usd')}), demand served")
    assert key_figure("evaluate", kept).startswith(cost)
    assert run_cli("runs", "add", str(folder))[0] == 0  # in this test's registry
    code, text, err = run_cli("runs", "show", str(folder))
    assert code == 0, err
    assert f"present_cost_cvar95_usd │ {_shown(row, 'present_cost_cvar95_usd')}" in _words(text)
    assert "(present cost: the fleet at the start" in _words(text)  # what the figures count, first


def test_the_report_of_a_cost_plans_evaluation_gives_its_present_cost(lab_cost, tmp_path):
    """Its key figures open with the present cost over the scenarios, and "In short" says it against the
    forecast's, once (it said the forecast's alone, then the NPV's over the futures)."""
    _, folder, _, row = lab_cost
    page = _words(api.report(folder, tmp_path / "r.md").read_text().replace("\\$", "$"))
    mean, se = (_shown(row, c) for c in ("present_cost_mean_usd", "present_cost_mean_se_usd"))
    assert f"mean present cost ± standard error: **{mean} ± {se}**" in page
    assert f"CVaR95 present cost: the mean present cost of the costliest 5 % of the scenarios: " \
           f"**{_shown(row, 'present_cost_cvar95_usd')}**" in page
    said = (f"Plan “milp”: present cost {mean} on average over {SCENARIOS} futures against $779.7M on the "
            "forecast ($0.61 per H100-equivalent GPU-hour); the costliest 5 %")
    assert said in page and page.count("on the forecast ($0.61 per H100-equivalent GPU-hour)") == 1


def _paired_cost_errors(cost_a: list[float], cost_b: list[float], n: int = 1) -> dict[str, float]:
    """Plan ``n``'s (B's) paired errors against plan A's, as compare computes them from each pair's
    outcomes, of which only the present cost is written down (the others 0)."""
    cost = np.array([cost_a, cost_b], dtype=np.float64)
    zeros = np.zeros_like(cost)
    outcomes = {name: zeros for name in (*OUTCOMES, *DEMAND_OUTCOMES, *MEAN_OUTCOMES)}
    return paired_errors(zeros, outcomes | {PRESENT_COST: cost}, n)


def test_the_mean_present_cost_s_paired_error_worked_by_hand():
    """Costs 10, 20, 30, 40 against 12, 18, 35, 40 on four scenarios: differences 2, -2, 5, 0, their mean
    1.25, sample variance (0.75^2 + 3.25^2 + 3.75^2 + 1.25^2) / 3 = 26.75 / 3, the error sqrt(26.75 / 3 /
    4) = $1.493 (the two means' own errors, $6.45 and $6.29, would give sqrt(6.45^2 + 6.29^2) = $9.01
    unpaired: the plans move together); the tail, of one scenario on four, has none."""
    errors = _paired_cost_errors([10, 20, 30, 40], [12, 18, 35, 40])
    assert errors["present_cost_mean_paired_se_usd"] == pytest.approx(1.4930394, rel=1e-6)
    assert np.isnan(errors["present_cost_p95_paired_se_usd"])
    assert np.isnan(errors["present_cost_cvar95_paired_se_usd"])
    # the first plan has no difference to itself
    itself = _paired_cost_errors([10, 20, 30, 40], [12, 18, 35, 40], 0)
    assert np.isnan(itself["present_cost_mean_paired_se_usd"])


def test_the_costliest_tail_s_paired_errors_worked_by_hand():
    """Forty scenarios, k = ceil(5 % of 40) = 2 costliest. A costs $100 in each; B $100 but $110 and $130
    in two: B's CVaR95 is $120, its P95 (the 2nd highest) $110. CVaR95's error is that of the influence
    values, the NPV's CVaR5 mirrored (docs/evaluation.md's example, negated): q = 110, B's value
    q + max(x - q, 0) x 40 / 2 - 120 is 390 for the $130 and -10 for the 39 others, A's 0; the sample
    variance of the difference (390^2 + 39 x 10^2) / 39 = 4,000, the error sqrt(4,000 / 40) = $10. P95's
    by the bootstrap: B costs $10 less than A but in one scenario where it costs the same; a resample's P95
    difference is 0 where it draws that scenario twice or more (probability 1 - (39/40)^40 - (39/40)^39 =
    0.2642), else -10, an error of about 10 x sqrt(0.2642 x 0.7358) = $4.41."""
    tail = _paired_cost_errors([100.0] * 40, [100.0] * 38 + [110.0, 130.0])
    assert tail["present_cost_cvar95_paired_se_usd"] == pytest.approx(10.0, rel=1e-12)
    p95 = _paired_cost_errors([100.0] * 40, [90.0] * 39 + [100.0])
    assert p95["present_cost_p95_paired_se_usd"] == pytest.approx(4.41, abs=0.6)  # 200 resamples


def _by_hand(mean_b: float) -> Comparison:
    """Two cost plans A and B compared by hand: mean present cost $100M and ``mean_b``, the difference's
    paired standard error $14M, CVaR95 $150M and $140M, that difference's $4M."""
    index = ["present_cost_mean_usd", "present_cost_mean_paired_se_usd", "present_cost_cvar95_usd",
             "present_cost_cvar95_paired_se_usd"]
    figures = pd.DataFrame({"A": [100e6, np.nan, 150e6, np.nan], "B": [mean_b, 14e6, 140e6, 4e6]},
                           index=index)
    empty = pd.DataFrame()
    comp = Comparison(["A", "B"], figures, empty, empty, empty, 300, 0)
    comp.cost_plans = ["A", "B"]
    return comp


def test_compare_judges_the_present_cost_by_its_paired_errors():
    """The mean's and the CVaR95's differences have paired errors, as the NPV's: B at $130M is $30M
    dearer, beyond two errors ($28M): worse (lower is better); at $120M, $20M is within them. Its CVaR95,
    $10M cheaper, beyond two errors ($8M): better (it had no error at all, neither better nor worse)."""
    worse = _by_hand(130e6)
    assert worse.verdict(1) == (
        "“B” against “A” (± two paired standard errors): mean present cost $130.0M against $100.0M (+$30.0M "
        "± $28.0M), CVaR95 present cost $140.0M against $150.0M (-$10.0M ± $8.0M); better in CVaR95 present "
        "cost; worse in mean present cost")
    within = _by_hand(120e6)
    assert "within two standard errors: mean present cost" in within.verdict(1)
    assert within.within_noise("present_cost_mean_usd", 1)
    assert within.judged("present_cost_cvar95_usd", 1)


def test_compare_shows_two_cost_plans_present_cost_over_the_scenarios(lab_cost, tmp_path):
    """lab's cost optimum against the same purchases with four Vera Rubin blocks more in 2027Q1: each
    plan's mean, P95 and CVaR95 present cost over the common scenarios, first, each difference with its
    paired error: the mean's that of the per-scenario differences of the two plans' costs, read back from
    an evaluation of both that keeps each pair's (far below the unpaired sqrt(se_A^2 + se_B^2) shown
    before: the plans' costs move together with the resale values)."""
    solved = lab_cost[0]
    plan = pd.read_csv(solved / "plan.csv")
    buys = plan[plan["decision"] == "buy"].copy()
    more = (buys["quarter"] == "2027Q1") & (buys["sku"] == "VR-NVL72")
    buys.loc[more, "value"] += 4
    buys.to_csv(tmp_path / "early.csv", index=False)
    early_solve = api.solve("lab", objective="cost", purchases=tmp_path / "early.csv")
    early = api.write_solve_run(early_solve, out=tmp_path / "early")
    comp = api.compare([solved, early], scenarios=SCENARIOS, seed=SEED)
    a, b = comp.labels
    first = list(comp.figures.index[:9])
    assert first == ["present_cost_usd", "present_cost_per_h100_hour_usd", "present_cost_mean_usd",
                     "present_cost_mean_se_usd", "present_cost_mean_paired_se_usd", "present_cost_p95_usd",
                     "present_cost_p95_paired_se_usd", "present_cost_cvar95_usd",
                     "present_cost_cvar95_paired_se_usd"]
    metrics = api.evaluate(solved, scenarios=SCENARIOS, seed=SEED).result.metrics.iloc[0]
    for column in ("present_cost_mean_usd", "present_cost_mean_se_usd", "present_cost_p95_usd",
                   "present_cost_cvar95_usd"):
        assert comp.figures.loc[column, a] == pytest.approx(metrics[column], rel=1e-12), column
    # each pair's present cost, kept by the evaluation (keep_outcomes) as compare's is
    data = early_solve.data
    plans = [read_plans(solved, data).plans[0], early_solve.plan]
    kept = evaluate(data, compile_plans(data, plans, ["a", "b"]), SCENARIOS, SEED, keep_outcomes=True,
                    present_cost=True).outcomes[PRESENT_COST]
    assert kept.mean(axis=1) == pytest.approx(comp.figures.loc["present_cost_mean_usd", [a, b]], rel=1e-12)
    differences = kept[1] - kept[0]
    se = differences.std(ddof=1) / np.sqrt(SCENARIOS)
    assert comp.figures.loc["present_cost_mean_paired_se_usd", b] == pytest.approx(se, rel=1e-9)
    assert np.isnan(comp.figures.loc["present_cost_mean_paired_se_usd", a])
    unpaired = np.hypot(*comp.figures.loc["present_cost_mean_se_usd", [a, b]])
    assert se < unpaired / 10
    for tail in ("present_cost_p95_paired_se_usd", "present_cost_cvar95_paired_se_usd"):
        assert 0 < comp.figures.loc[tail, b] < unpaired, tail
    # the dearer plan serves the same demand: its costs are ranked, lower better, and judged by the errors
    assert comp.better("present_cost_mean_usd") == "lower" == comp.better("present_cost_cvar95_usd")
    difference = comp.figures.loc["present_cost_mean_usd", b] - comp.figures.loc["present_cost_mean_usd", a]
    assert difference > 2 * se
    assert comp.judged("present_cost_mean_usd", 1)
    assert "mean present cost minus the first plan's': the standard error of the per-scenario differences" \
        in " ".join(comp.notes())
    verdict = comp.verdict(1)
    two_errors = format_difference(2 * se, "USD").lstrip("+")
    assert "(± two paired standard errors)" in verdict, verdict
    said = f"({format_difference(difference, 'USD')} ± {two_errors}), CVaR95 present cost $"
    assert said in verdict, verdict
    assert "; worse in present cost, cost per H100-hour, mean present cost, CVaR95 present cost;" in verdict
    # an NPV comparison has none of these rows
    tiny = api.compare([api.solve("tiny")] * 2, scenarios=20)
    assert not any(key.startswith("present_cost") for key in tiny.figures.index)
