"""A plan solved for least cost is shown by its present cost over the scenarios wherever a lab looks: the
terminal's evaluate table and "In short", a notebook's display, `fleetopt runs`, the report's key figures
and "In short", and `fleetopt compare` (docs/evaluation.md, "The present cost"). The figures shown are
metrics.csv's, read back; an NPV plan shows none of them."""

from __future__ import annotations

import json
import math

import pandas as pd
import pytest
from conftest import run_cli

from fleetopt import api
from fleetopt.cli.render.runs import key_figure
from fleetopt.compare.comparison import Comparison
from fleetopt.compare.figures import MEAN_COST_SE
from fleetopt.core.units import format_error, format_usd
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
    assert "Its mean NPV (the GPUs' own use valued at market prices, as revenue) " in text
    se = format_error(float(row["present_cost_mean_se_usd"]))
    assert f"Sampling error, one standard error over 300 futures: {se} on the mean present cost," in text
    # lower is better: the tail of the costliest scenarios lies above the mean
    assert row["present_cost_mean_usd"] < row["present_cost_p95_usd"] <= row["present_cost_cvar95_usd"]


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


def _by_hand(mean_b: float) -> Comparison:
    """Two cost plans A and B compared by hand: mean present cost $100M and ``mean_b``, each with a
    standard error of $10M, CVaR95 $150M and $140M."""
    index = ["present_cost_mean_usd", MEAN_COST_SE, "present_cost_cvar95_usd"]
    figures = pd.DataFrame({"A": [100e6, 10e6, 150e6], "B": [mean_b, 10e6, 140e6]}, index=index)
    empty = pd.DataFrame()
    comp = Comparison(["A", "B"], figures, empty, empty, empty, 300, 0)
    comp.cost_plans = ["A", "B"]
    return comp


def test_compare_judges_the_mean_present_cost_by_its_unpaired_error():
    """The evaluator keeps no per-scenario cost to pair, so the difference's error is that of two
    independent means: sqrt(10^2 + 10^2) = $14.14M, two of them $28.28M. B at $130M is $30M dearer, beyond
    two errors: worse (lower is better); at $120M, $20M is within them. Its CVaR95, $10M cheaper, has no
    error at all: neither better nor worse."""
    worse = _by_hand(130e6)
    assert worse.verdict(1) == (
        "“B” against “A” (± two standard errors, paired but the mean present cost's, unpaired): mean present "
        "cost +$30.0M ± $28.3M, CVaR95 present cost -$10.0M; worse in mean present cost; without a standard "
        "error: CVaR95 present cost")
    within = _by_hand(120e6)
    assert "within two standard errors: mean present cost" in within.verdict(1)
    assert within.within_noise("present_cost_mean_usd", 1)
    assert not within.judged("present_cost_cvar95_usd", 1)


def test_compare_shows_two_cost_plans_present_cost_over_the_scenarios(lab_cost, tmp_path):
    """lab's cost optimum against the same purchases with four Vera Rubin blocks more in 2027Q1: each
    plan's mean, P95 and CVaR95 present cost over the common scenarios, first, with the mean's unpaired
    error computed from the two plans' own, sqrt(se_A^2 + se_B^2)."""
    solved = lab_cost[0]
    plan = pd.read_csv(solved / "plan.csv")
    buys = plan[plan["decision"] == "buy"].copy()
    more = (buys["quarter"] == "2027Q1") & (buys["sku"] == "VR-NVL72")
    buys.loc[more, "value"] += 4
    buys.to_csv(tmp_path / "early.csv", index=False)
    early = api.write_solve_run(api.solve("lab", objective="cost", purchases=tmp_path / "early.csv"),
                                out=tmp_path / "early")  # fmt: skip
    comp = api.compare([solved, early], scenarios=SCENARIOS, seed=SEED)
    a, b = comp.labels
    first = list(comp.figures.index[:7])
    assert first == ["present_cost_usd", "present_cost_per_h100_hour_usd", "present_cost_mean_usd",
                     MEAN_COST_SE, "present_cost_mean_unpaired_se_usd", "present_cost_p95_usd",
                     "present_cost_cvar95_usd"]
    metrics = api.evaluate(solved, scenarios=SCENARIOS, seed=SEED).result.metrics.iloc[0]
    for column in ("present_cost_mean_usd", MEAN_COST_SE, "present_cost_p95_usd", "present_cost_cvar95_usd"):
        assert comp.figures.loc[column, a] == pytest.approx(metrics[column], rel=1e-12), column
    se_a, se_b = comp.figures.loc[MEAN_COST_SE, [a, b]]
    assert comp.figures.loc["present_cost_mean_unpaired_se_usd", b] == pytest.approx(math.hypot(se_a, se_b))
    assert math.isnan(comp.figures.loc["present_cost_mean_unpaired_se_usd", a])
    # the dearer plan serves the same demand: its costs are ranked, lower better
    assert comp.better("present_cost_mean_usd") == "lower" == comp.better("present_cost_cvar95_usd")
    assert comp.figures.loc["present_cost_mean_usd", b] > comp.figures.loc["present_cost_mean_usd", a]
    assert "mean present cost minus the first plan's': the standard error of the difference of two means" \
        in " ".join(comp.notes())
    assert "mean present cost +$" in comp.verdict(1)
    # an NPV comparison has none of these rows
    tiny = api.compare([api.solve("tiny")] * 2, scenarios=20)
    assert not any(key.startswith("present_cost") for key in tiny.figures.index)
