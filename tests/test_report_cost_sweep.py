"""A sweep by cost's report (`fleetopt sweep lab --objective cost --report`, `fleetopt report SWEEP`), as
a lab reads it: the pick by mean present cost among plans serving at least the floor, against the forecast
optimum; its present cost and the demand it serves first; the candidates, the front and the rule in cost
terms; the glossary's present cost, its tail and the service floor (docs/cli.md, "A sweep by cost")."""

from __future__ import annotations

import dataclasses
import re

import pandas as pd
import pytest
from conftest import TINY_PATH

from fleetopt import api
from fleetopt.core.data import load
from fleetopt.core.units import format_percent, format_usd
from fleetopt.report.candidates import recommendation_section
from fleetopt.report.definitions import glossary
from fleetopt.report.markdown import markdown_of_page
from fleetopt.report.page import build_report
from fleetopt.report.reading import read_report_run
from fleetopt.sweep.rule import Rule

SCENARIOS = 100


@pytest.fixture(scope="module")
def cost_sweep(tmp_path_factory):
    """A lab's sweep by cost with a 95 % floor, the forecast optimum (88.7 % served) below it: its folder,
    its candidates.csv and its report read as Markdown (the page's own words and tables)."""
    folder = tmp_path_factory.mktemp("cost-sweep") / "S"
    result = api.sweep("lab", objective="cost", candidates=5, scenarios=SCENARIOS,
                       rule=Rule(prefer="cost", min_service=0.95))  # fmt: skip
    api.write_sweep_run(result, folder)
    return folder, pd.read_csv(folder / "candidates.csv"), markdown_of_page(build_report(folder))


def _section(page: str, heading: str) -> str:
    """The Markdown of the section under ``heading`` (a level-2 heading's start), to the next one."""
    return page.split(f"\n## {heading}", 1)[1].split("\n## ", 1)[0]


def _figures(section: str) -> dict[str, str]:
    """A key-figure section's figures, by label: '- label: **value**' (Markdown's escapes dropped)."""
    found = re.findall(r"^- (.*?): \*\*(.*)\*\*$", section, re.M)
    return {label: value.replace("\\", "") for label, value in found}


def _words(section: str) -> str:
    """A section's words on one line, Markdown's escapes dropped."""
    return " ".join(section.replace("\\", "").split())


def _rows(candidates: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    """The pick's and the forecast optimum's rows of candidates.csv."""
    by_plan = candidates.set_index("plan")
    pick = candidates.loc[candidates["recommended"], "plan"].iloc[0]
    return by_plan.loc[pick], by_plan.loc[candidates.loc[candidates["origin"] == "forecast", "plan"].iloc[0]]


def test_in_short_says_why_the_pick_and_what_it_costs_against_the_forecast_optimum(cost_sweep):
    _, candidates, page = cost_sweep
    pick, optimum = _rows(candidates)
    assert pick.name == "milp: demand +25%"
    assert optimum["demand_served_share"] < 0.95 <= pick["demand_served_share"]
    more = format_usd(pick["present_cost_mean_usd"] - optimum["present_cost_mean_usd"])  # by hand
    assert (f"Chosen for the lowest mean present cost among the candidates serving at least 95.0% of the "
            f"demand on average (--min-service), within the rule's risk limits (Recommendation, below): "
            f"{more} more on average than the forecast optimum, “milp: forecast” "
            f"({format_usd(optimum['present_cost_mean_usd'])}, CVaR95 "
            f"{format_usd(optimum['present_cost_cvar95_usd'])}), which serves "
            f"{format_percent(optimum['demand_served_share'])}.") in _words(_section(page, "In short"))


def test_the_pick_s_key_figures_are_its_present_cost_and_service_then_its_imputed_value(cost_sweep):
    _, candidates, page = cost_sweep
    pick, _ = _rows(candidates)
    section = _section(page, f"Key figures of {pick.name} over")
    headings = re.findall(r"^### (.*)$", section, re.M)
    assert headings[:3] == ["Present cost", "Demand served", "Defaults and breaches"]
    assert headings[-1] == "Imputed value: the NPV with the GPUs' own use valued at market prices"
    assert not {"Value", "The tail and the shareholders"} & set(headings)  # no NPV tail of a lab's
    figures = _figures(section)
    mean = figures["mean present cost ± standard error"].split(" ± ")[0]
    assert mean == format_usd(pick["present_cost_mean_usd"])
    cvar95 = "CVaR95 present cost: the mean present cost of the costliest 5 % of the scenarios"
    assert figures[cvar95] == format_usd(pick["present_cost_cvar95_usd"])
    served = figures["market demand served (mean over scenarios)"]
    assert served == format_percent(pick["demand_served_share"])
    assert figures["P(more than 1% of demand not served)"] == format_percent(pick["shortfall_probability"])
    assert [label for label in figures if "NPV" in label] == ["mean NPV ± standard error"]  # imputed, alone
    # a sweep keeps no objective of its own: nothing to say of one solved before the fleet was counted
    assert "was without it" not in _section(page, f"Key figures of {pick.name} on the forecast")


def test_the_recommendation_gives_the_pick_s_cost_and_its_rule_in_cost_terms(cost_sweep):
    folder, candidates, page = cost_sweep
    pick, _ = _rows(candidates)
    said = _words(_section(page, "Recommendation").split("\n###")[0])
    assert f"Its mean present cost is {format_usd(pick['present_cost_mean_usd'])} ± " in said
    assert f"its CVaR95 present cost {format_usd(pick['present_cost_cvar95_usd'])}" in said
    assert "lowest mean present cost among plans with" in said and "share of demand served >= 95%" in said
    assert "mean NPV" not in said and "CVaR5 NPV" not in said
    # where the sweep's why does not state its rule, the report's rule line states it, by cost
    run = read_report_run(folder)
    run = dataclasses.replace(run, summary={**run.summary, "why": "Chosen."})
    rule = re.search(r"<br>(Rule: [^<]*)", recommendation_section(run)).group(1)
    assert rule.startswith("Rule: the candidate with the lowest mean present cost among those with ")
    assert rule.endswith("and share of demand served &gt;= 95%.")


def test_the_candidates_and_the_front_are_of_cost_lower_better_and_demand_served(cost_sweep):
    page = cost_sweep[2]
    table = _section(page, "Candidates and their risk")
    header = next(line for line in table.splitlines() if line.startswith("| \\#"))
    columns = [cell.strip() for cell in header.strip("|").split("|")]
    assert columns[3:9] == ["mean present cost", "SE of mean cost", "CVaR95 cost", "P95 cost",
                            "demand served", "P(shortfall)"]  # fmt: skip
    assert "mean NPV, imputed" in columns
    assert not {"mean NPV", "CVaR5 NPV", "forecast NPV", "P5 NPV"} & set(columns)
    caption = _words(table)
    assert "Pareto front of mean present cost, CVaR95 present cost and demand served" in caption
    assert "lower is better" in caption
    front = _words(_section(page, "Pareto front"))
    assert "Candidates: CVaR95 present cost against mean present cost, lower is better" in front
    words = "mean present cost and CVaR95 present cost (lower is better) and the share of demand served"
    assert words in front
    assert "| # | plan | demand served |" in front and "P(covenant breach)" not in front


def test_the_glossary_defines_the_present_cost_its_tail_and_the_service_floor(cost_sweep):
    _, _, page = cost_sweep
    terms = dict(re.findall(r"^- \*\*(.*?)\*\*: (.*)$", _section(page, "Definitions"), re.M))
    assert "Lower is better" in terms["present cost"]
    # the costliest 5 % of 100 scenarios: k = 5
    assert "k = ceil(5 % of scenarios) = 5 of 100: P95 is the k-th highest present cost" in \
        terms["P95 and CVaR95 present cost"]
    assert "more than 1% of the horizon's market demand is not served" in terms["demand served"]
    assert "--min-service, or where none is given the forecast optimum's share" in terms["service floor"]
    assert "forecast NPV" not in terms  # the cost table has none


def test_an_npv_sweep_s_glossary_has_no_cost_terms():
    terms = dict(glossary(load(TINY_PATH)[1], ["milp"], 200, "sweep"))
    assert "forecast NPV" in terms and not {"present cost", "service floor", "demand served"} & set(terms)


def test_its_histogram_is_of_the_pick_s_and_the_optimum_s_present_cost(cost_sweep):
    """The NPV histogram's place holds each scenario's present cost of the pick and of the forecast
    optimum, their mean and P95 marked as the candidates table gives them (lower is better)."""
    folder, candidates, _ = cost_sweep
    html = build_report(folder)
    assert 'aria-label="NPV distribution over scenarios"' not in html
    chart = html.split('aria-label="Present cost distribution over scenarios"', 1)[1].split("</svg>", 1)[0]
    pick, optimum = _rows(candidates)
    for row in (pick, optimum):
        for marker, column in (("mean", "present_cost_mean_usd"), ("P95", "present_cost_p95_usd")):
            assert f"<title>{row.name} {marker}: {format_usd(row[column])}</title>" in chart
