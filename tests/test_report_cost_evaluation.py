"""The report of an evaluation of plans solved for least cost (`fleetopt evaluate --plans LAB_RUN --report`),
as a lab reads it, in a cost sweep's terms (docs/evaluation.md, "The present cost"): the plan shown by its
mean present cost, its present cost and the demand it serves first and its NPV last, as an imputed value;
the plans' table of cost; a histogram of each scenario's present cost where an NPV plan's report draws
its NPV's."""

from __future__ import annotations

import json
import re
from html import unescape

import pandas as pd
import pytest
from milp_builders import base_model, load, sku

from fleetopt import api
from fleetopt.cli.render.runs import key_figure
from fleetopt.core.units import format_usd
from fleetopt.evaluate.engine import evaluate
from fleetopt.report.markdown import markdown_of_page
from fleetopt.report.page import build_report
from fleetopt.runs.key_figures import key_figures

SCENARIOS = 30
IMPUTED = "Imputed value: the NPV with the GPUs' own use valued at market prices"
COST_HISTOGRAM, NPV_HISTOGRAM = "Present cost distribution over scenarios", "NPV distribution over scenarios"


@pytest.fixture(scope="module")
def lab_evaluation(tmp_path_factory):
    """`fleetopt sweep lab --objective cost`'s 5 candidates evaluated on 30 scenarios (seed 0), written as
    a run, ranked by its default: (its metrics.csv, its report's HTML, the report as Markdown)."""
    root = tmp_path_factory.mktemp("lab-report")
    api.write_sweep_run(api.sweep("lab", objective="cost", candidates=5, scenarios=20), root / "sweep")
    folder = api.write_evaluate_run(api.evaluate(root / "sweep", scenarios=SCENARIOS), out=root / "E")
    html = build_report(folder)
    return pd.read_csv(folder / "metrics.csv").set_index("plan"), html, markdown_of_page(html)


def _section(page: str, heading: str) -> str:
    """The Markdown of the section under ``heading`` (a level-2 heading's start), to the next one."""
    return page.split(f"\n## {heading}", 1)[1].split("\n## ", 1)[0]


def _chart(html: str, title: str) -> str:
    """A chart's wide drawing, by its title."""
    return html.split(f'aria-label="{title}"', 1)[1].split("</svg>", 1)[0]


def test_the_plan_shown_is_the_cheapest_and_its_key_figures_lead_with_its_present_cost(lab_evaluation):
    """The plan shown is the one of lowest mean present cost (the forecast optimum: the others are it with
    a cash buffer that never acts, or solved for more demand), its key figures over the scenarios come as a
    cost sweep's pick's, present cost first and the NPV last, imputed and alone; on the forecast, cost and
    demand first, the NPV's figure alone."""
    metrics, _, page = lab_evaluation
    cheapest = metrics["present_cost_mean_usd"].idxmin()
    assert cheapest == "milp: forecast"
    assert ("The plan shown: milp: forecast, the lowest mean present cost, by the evaluation's --rank-by "
            "cost.") in page
    assert "In short\n\nThe best plan by mean present cost, “milp: forecast”: present cost " in page
    over = _section(page, f"Key figures of {cheapest} over")
    assert re.findall(r"^### (.*)$", over, re.M) == [
        "Present cost", "Demand served", "Defaults and breaches", "What the policy had to do",
        "Which covenant breaks first", IMPUTED]  # fmt: skip
    mean = format_usd(metrics.loc[cheapest, "present_cost_mean_usd"])
    first = over.split("\n### ")[1]
    assert first.startswith(f"Present cost\n\n- mean present cost ± standard error: **\\{mean} ±")
    assert re.findall(r"^- (.*NPV.*?): \*\*", over, re.M) == ["mean NPV ± standard error"]
    on_forecast = _section(page, f"Key figures of {cheapest} on the forecast")
    assert re.findall(r"^### (.*)$", on_forecast, re.M)[:2] == ["Cost and demand served", IMPUTED]
    assert "other discount rates" not in on_forecast


def test_the_plans_table_is_of_their_present_cost_first_and_their_npv_imputed(lab_evaluation):
    page = lab_evaluation[2]
    table = _section(page, "Plans and their risk over")
    header = next(line for line in table.splitlines() if line.startswith("| \\#"))
    columns = [cell.strip() for cell in header.strip("|").split("|")]
    assert columns[2:4] == ["mean present cost", "SE of mean cost"]
    assert "mean NPV, imputed" in columns and not {"mean NPV", "CVaR5 NPV", "P5 NPV"} & set(columns)


def test_its_histogram_is_of_each_scenario_s_present_cost_marked_with_the_key_figures(lab_evaluation):
    """The histogram is of the plan's present cost in each of the run's 30 scenarios, re-simulated, its mean
    and P95 marked as the key figures give them (metrics.csv's); no NPV histogram."""
    metrics, html, _ = lab_evaluation
    assert NPV_HISTOGRAM not in html
    chart = _chart(html, COST_HISTOGRAM)
    row = metrics.loc["milp: forecast"]
    marked = re.findall(r"<title>(milp: forecast (?:mean|P95)[^<]*)</title>", chart)
    assert marked == [f"milp: forecast mean: {format_usd(row['present_cost_mean_usd'])}",
                      f"milp: forecast P95: {format_usd(row['present_cost_p95_usd'])}"]  # fmt: skip
    assert "mean present cost" in chart and "P95 present cost" in chart and "present cost, USD" in chart
    assert (f"All {SCENARIOS} scenarios of the run (seed 0), re-simulated; mean and P95 marked are the key "
            "figures' above.") in unescape(html)


def test_an_npv_plan_s_report_draws_its_npv_not_a_present_cost(tmp_path):
    """An evaluation of a plan solved for NPV has no present cost: its report draws the NPV's histogram,
    its key figures and table the NPV's, as before."""
    solved = api.write_solve_run(api.solve("tiny"), out=tmp_path / "S")
    html = build_report(api.write_evaluate_run(api.evaluate(solved, scenarios=20), out=tmp_path / "E"))
    assert NPV_HISTOGRAM in html and COST_HISTOGRAM not in html and IMPUTED not in unescape(html)


def _levelized_plan_file(folder) -> tuple:
    """formulation §6's levelized cost solve (tests/test_present_cost.py: one SKU, no discounting, opex,
    power or interest; $20,000 + $24,000 - $750 - $3,000 = $40,250 on the forecast), its plan written to a
    file of its own, which says nothing of the objective it was solved for: (the model, its plans read
    back as fleetopt.api.evaluate reads them)."""
    d = base_model()
    d["skus"]["A"] = sku(training_throughput=2.0, inference_throughput=2.0)
    d["market"]["demand_gpus"] = {"training": [10.0, 21.0, 21.0, 21.0], "inference": 0.0}
    d["horizon"]["discount_rate_annual"] = 0.0
    loaded = load(d)
    plans = folder / "mine.npz"
    plans.write_bytes(api.plan_file_bytes(api.solve(loaded, objective="cost", mip_gap=1e-9), loaded))
    _, loaded, source = api.evaluate(plans, loaded, deterministic=True, backend="numpy")
    return loaded, source


def test_a_run_of_an_evaluation_asked_for_the_present_cost_is_reported_by_cost(tmp_path):
    """Plans whose file says nothing of their objective, evaluated in Python with their present cost
    (``engine.evaluate(..., present_cost=True)``: the user asked for cost figures) and written as a run:
    its summary.json says "cost", so its record, `fleetopt runs` and its report lead with the present cost,
    $40,250 on the forecast ($40.3k), and the demand served, all of it, with the note on what its NPV
    counts, as the result's own display did; they led with the NPV (from a review). Without the present
    cost the same plans are written as before: objective not known, by NPV."""
    loaded, source = _levelized_plan_file(tmp_path)
    assert source.objective is None
    data = api.load(loaded)[1]
    plans = source.compile(data)
    for present_cost, objective in ((True, "cost"), (False, None)):
        result = evaluate(data, plans, 1, 0, deterministic=True, backend="numpy", present_cost=present_cost)
        folder = api.write_evaluate_run(result, loaded, source, out=tmp_path / f"E-{present_cost}")
        summary = json.loads((folder / "summary.json").read_text())
        assert summary["plans_objective"] == objective
        page = markdown_of_page(build_report(folder)).replace("\\$", "$")
        listed = key_figure("evaluate", key_figures(summary))  # as `fleetopt runs` lists its record
        if present_cost:
            assert summary["metrics"][0]["present_cost_mean_usd"] == pytest.approx(40_250.0, rel=1e-9)
            assert summary["ranking"]["rank_by"] == "cost"
            assert "- market demand served on the forecast (evaluator): **100.0%**" in page
            assert "- present cost of the plan (the objective):" in page and "**$40.3k**" in page
            assert "solved for least cost" in page
            assert listed == "milp: present cost $40.3k on the forecast, demand served 100.0% on the forecast"
        else:
            assert "present cost" not in page and "solved for least cost" not in page
            assert "- NPV on the forecast: **" in page and listed.startswith("milp: NPV $")


def test_plans_solved_for_npv_priced_by_their_present_cost_too_stay_npv_plans(tmp_path):
    """An NPV solve's plans evaluated with their present cost beside (present_cost=True) were written
    plans_objective "cost": their report called the plan solved for least cost and its NPV an imputed
    value (a review). Their file says NPV: so does the run."""
    result = api.solve("tiny", mip_gap=0.05)
    run = api.write_solve_run(result, out=tmp_path / "solve")
    _, loaded, source = api.evaluate(run, scenarios=5, seed=1)
    assert source.objective == "npv"
    priced = evaluate(api.load(loaded)[1], source.compile(api.load(loaded)[1]), 5, 1, backend="numpy",
                      present_cost=True)  # fmt: skip
    folder = api.write_evaluate_run(priced, loaded, source, out=tmp_path / "E")
    summary = json.loads((folder / "summary.json").read_text())
    assert summary["plans_objective"] == "npv"
    assert "solved for least cost" not in markdown_of_page(build_report(folder))
