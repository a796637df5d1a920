"""`fleetopt compare`: a plan against itself, purchase differences worked out by hand, output formats
and bad inputs."""

from __future__ import annotations

import json
import os
import re
import shutil
import warnings
from html import escape
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from conftest import TINY_PATH, run_cli
from milp_builders import base_model

from fleetopt import api
from fleetopt.compare.comparison import Comparison
from fleetopt.compare.figures import BETTER, PAIRED_ERROR
from fleetopt.compare.labels import unique_labels
from fleetopt.compare.plan_figures import (
    contracts_against_first,
    paired_loss_error,
    paired_mean_errors,
    paired_share_errors,
    purchases_against_first,
)
from fleetopt.compare.run import compare_plans
from fleetopt.compare.sources import CompareError, plans_from_refs
from fleetopt.core.data import build_data
from fleetopt.core.plan import Plan
from fleetopt.core.results.headline import LAB_FIGURES
from fleetopt.core.units import format_figure, whole_count
from fleetopt.errors import FleetoptWarning, InputError, warn, warnings_held
from fleetopt.evaluate.batch import compile_plans
from fleetopt.evaluate.engine import evaluate
from fleetopt.evaluate.metrics import paired_tail_errors
from fleetopt.evaluate.planfile import save_plans
from fleetopt.milp.persistent import PersistentPlanner

SCENARIOS = "200"


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    """A solve run folder of tiny, and its result."""
    loaded, _ = api.load("tiny")
    result = api.solve(loaded)
    folder = api.write_solve_run(result, loaded, tmp_path_factory.mktemp("compare") / "A")
    return folder, result, loaded


def altered(data, plan: Plan) -> Plan:
    """The plan with 3 more blocks of the last SKU in its last sale quarter, 2 more of the first SKU in
    its first sale quarter and one block fewer of its largest purchase, completed by the MILP (so
    that it holds what it buys and keeps within every hard limit, as plan files must)."""
    out = Plan(**{k: v.copy() for k, v in plan.arrays().items()})
    last, first = data.S - 1, 0
    out.buy_blocks[last, 0, int(np.flatnonzero(data.on_sale[last])[-1])] += 3
    out.buy_blocks[first, 0, int(np.flatnonzero(data.on_sale[first])[0])] += 2
    out.buy_blocks[np.unravel_index(np.argmax(plan.buy_blocks), plan.buy_blocks.shape)] -= 1
    completed = PersistentPlanner(data).complete(out)
    assert completed.plan is not None, completed.status
    return completed.plan


def expected_difference(data, first: Plan, other: Plan) -> dict[tuple[str, str], float]:
    """(quarter, sku) -> GPUs bought by ``other`` less ``first``, by hand: blocks x block size."""
    out = {}
    for s in range(data.S):
        for t in range(data.T):
            blocks = sum(other.buy_blocks[s, i, t] - first.buy_blocks[s, i, t] for i in range(data.I))
            if blocks:
                out[(data.quarter_labels[t], data.sku_names[s])] = float(blocks * data.block_size[s])
    return out


# the errors of a plan's figures less the first plan's: none for the first plan itself
# the paired errors' rows of plans solved for NPV (NaN for the first plan); a lab's have two more
PAIRED = [error for figure, error in PAIRED_ERROR.items() if figure not in LAB_FIGURES]


def differences(records, plan_label: str) -> dict[tuple[str, str], float]:
    return {(r["quarter"], r["sku"]): r["gpus_vs_first_plan"] for r in records if r["plan"] == plan_label}


def assert_same_figures(figures: list[dict], a: str, b: str) -> None:
    """Every figure of ``a`` that of ``b`` (the first plan ``a``'s paired errors are none, ``b``'s 0)."""
    for row in figures:
        if "_paired_se" in row["figure"]:
            assert (row[a], row[b]) == (None, 0.0)
            continue
        assert row[a] == pytest.approx(row[b], rel=1e-12, abs=1e-9, nan_ok=True), row["figure"]


# ---------------------------------------------------------------- a plan against itself


def test_plan_against_itself_api(tiny_run):
    folder, result, _ = tiny_run
    plans, labels, _, _ = plans_from_refs([folder, folder], result.data)
    assert len(plans) == 2 and len(set(labels)) == 2
    comp = compare_plans(result.data, plans, labels, 200, 0)
    a, b = labels
    # a figure's error is left out with it (the NPV with limited liability where it repeats the NPV's)
    paired = [error for error in PAIRED if error in comp.figures.index]
    assert "npv_limited_mean_paired_se_usd" not in paired and "expected_min_cash_paired_se_usd" in paired
    same = comp.figures.drop(paired)  # none for the first plan, 0 for the second
    np.testing.assert_array_equal(same[a].to_numpy(), same[b].to_numpy())
    assert np.isnan(comp.figures.loc[paired, a]).all()
    assert (comp.figures.loc[paired, b] == 0.0).all()
    # a lab's figures (what a plan costs, the demand it serves) only where a plan was solved for least
    # cost: of plans that maximise NPV they rank nothing (from a finance review)
    lab = {"present_cost_usd", "present_cost_per_h100_hour_usd", "market_demand_served"}
    assert not (lab | {"demand_served_share", "shortfall_probability"}) & set(comp.figures.index)
    # what it spends and earns, and how near it comes to a covenant: the solve's own figures
    # ("breaches on the forecast: no" read as safe for a plan on its DSCR limit)
    spent = ("capex_gpu_total_usd", "capex_power_total_usd", "revenue_total_usd",
             "revenue_contracts_total_usd", "lowest_covenant_cushion", "npv_cash_held_usd")
    for figure in spent:
        assert comp.figures.loc[figure, a] == result.headline()[figure], figure
    assert comp.better("lowest_covenant_cushion") == "higher" and comp.better("revenue_total_usd") == ""
    for name, cushion in result.headline()["covenant_cushion"].items():  # each covenant's, the solve's
        assert comp.figures.loc[f"cushion_{name}", a] == cushion, name
    assert comp.purchase_diff.empty
    mw = comp.mw_used.pivot_table(index=["site", "quarter"], columns="plan", values="mw_used")
    np.testing.assert_array_equal(mw[a].to_numpy(), mw[b].to_numpy())


def test_the_capex_of_the_first_year_is_shown_beside_the_horizons(tiny_run):
    """What each plan spends now and later: tiny's optimum buys its 2,000 B200 in 2026Q3 at $60,000
    each, $120.0M, all of it in the first year (2026Q3..2027Q2); the altered plan's first year is its
    purchases of quarters 0 to 3 (blocks x block size x price), the rest of its capex later."""
    _, result, _ = tiny_run
    data = result.data
    other = altered(data, result.plan)
    comp = compare_plans(data, [result.plan, other], ["a", "b"], 20, 0)
    figures = comp.figures
    assert figures.loc["capex_gpu_first_year_usd", "a"] == 120e6 == figures.loc["capex_gpu_total_usd", "a"]
    bought = other.buy_blocks * data.block_size[:, None, None] * data.capex_path[:, None, :]
    assert figures.loc["capex_gpu_first_year_usd", "b"] == pytest.approx(bought[:, :, :4].sum(), rel=1e-12)
    assert figures.loc["capex_gpu_first_year_usd", "b"] < figures.loc["capex_gpu_total_usd", "b"]
    assert figures.loc["power_committed_first_year_usd", "a"] == 0.0
    text = comp.to_markdown()
    assert "| of which in the first year, 2026Q3..2027Q2 (MILP statements) | \\$120.0M |" in text
    assert ("| capex of the power blocks started in the first year, 2026Q3..2027Q2 (whole blocks, paid "
            "over their lead time) | \\$0 |") in text


def test_a_power_block_started_in_the_first_year_commits_its_whole_capex(tiny_run):
    """tiny's block: 10 MW at $9.36M per MW, $93.6M, paid over its 4-quarter lead time ($23.4M a
    quarter). One started in 2027Q1 (quarter 2) pays $46.8M in the first year (2026Q3..2027Q2) and
    $46.8M after, but the plan commits all $93.6M there; one started in 2028Q1 commits nothing
    in the first year."""
    from fleetopt.compare.plan_figures import first_year_capex
    from fleetopt.core.economics.statements import plan_statements

    data = tiny_run[1].data
    plan = Plan.empty(data)
    plan.build_blocks[0, 2] = 1
    plan.build_blocks[0, 6] = 1
    lines = plan_statements(data, plan).lines
    assert lines["capex_power_usd"][:4].sum() == pytest.approx(46.8e6, rel=1e-12)
    figures = first_year_capex(data, plan, lines)
    assert figures == {"capex_gpu_first_year_usd": 0.0, "power_committed_first_year_usd": 93.6e6}


def test_purchases_are_summed_by_generation_and_quarter_without_site_moves(tiny_run):
    """A decision meeting reads what a plan buys more or less of: 16 more H100 in 2026Q3 are 16 more
    Hopper; 8 B200 fewer in texas and 8 more at another site that quarter are no Blackwell
    difference; 24 more B200 in 2028Q2 are 24 more Blackwell. The page showed only the rows by SKU
    and site, where a block moved between sites reads as two changes."""
    from fleetopt.compare.plan_figures import purchases_by_generation
    from fleetopt.report.comparison import comparison_html

    _, result, _ = tiny_run
    data = result.data
    diff = pd.DataFrame([("b", "2026Q3", "H100", "texas", 16.0), ("b", "2026Q3", "B200", "texas", -8.0),
                         ("b", "2026Q3", "B200", "ohio", 8.0), ("b", "2028Q2", "B200", "texas", 24.0)],
                        columns=["plan", "quarter", "sku", "site", "gpus_vs_first_plan"])  # fmt: skip
    summed = purchases_by_generation(data, diff)
    assert summed.values.tolist() == [["b", "2026Q3", "hopper", 16.0], ["b", "2028Q2", "blackwell", 24.0]]
    assert purchases_by_generation(data, diff.iloc[1:3]).empty  # a move between sites alone: no row
    # the altered plan: 16 more H100 and 8 fewer B200 in 2026Q3, 24 more B200 in 2028Q2 (one site)
    comp = compare_plans(data, [result.plan, altered(data, result.plan)], ["a", "b"], 20, 0)
    page = comparison_html(comp)
    assert "Purchases against a by generation, sites summed (GPUs: + more, - fewer)" in page
    for quarter, generation, gpus in (("2026Q3", "hopper", "+16"), ("2026Q3", "blackwell", "-8"),
                                      ("2028Q2", "blackwell", "+24")):  # fmt: skip
        row = f"<td class='text'>{quarter}</td><td class='text'>{generation}</td><td>{gpus}</td>"
        assert row in page, row
    # the terminal's table too, before the one by SKU and site
    from fleetopt.cli.render.compare import comparison_tables
    from fleetopt.cli.render.tables import plain_text

    text = plain_text(comparison_tables(comp))
    summed = text.split("purchases against a by generation")[1].split("purchases against a by SKU")[0]
    assert re.search(r"│ b +│ 2026Q3 +│ hopper +│ +\+16 │", summed), summed
    assert re.search(r"│ b +│ 2028Q2 +│ blackwell +│ +\+24 │", summed), summed


def test_the_files_give_the_purchases_by_generation_as_the_page_does(tiny_run):
    """The altered plan (16 more H100 and 8 fewer B200 in 2026Q3, 24 more B200 in 2028Q2): the CSV,
    JSON and Markdown, which a finance team reads, gave the purchases by SKU and site only; they now
    have the page's table by generation too. The plan against itself has none (an empty table with
    its columns)."""
    _, result, _ = tiny_run
    data = result.data
    comp = compare_plans(data, [result.plan, altered(data, result.plan)], ["a", "b"], 20, 0)
    want = [["b", "2026Q3", "hopper", 16.0], ["b", "2026Q3", "blackwell", -8.0],
            ["b", "2028Q2", "blackwell", 24.0]]  # fmt: skip
    assert comp.tables()["purchases_by_generation"].values.tolist() == want
    doc = json.loads(comp.to_json())
    assert [[r[k] for k in ("plan", "quarter", "generation", "gpus_vs_first_plan")]
            for r in doc["purchases_by_generation"]] == want  # fmt: skip
    assert "# purchases_by_generation\nplan,quarter,generation,gpus_vs_first_plan\nb,2026Q3,hopper,16" in (
        comp.to_csv())
    markdown = comp.to_markdown()
    assert "## Purchases against the first plan by generation, sites summed" in markdown
    assert "| b | 2028Q2 | blackwell | +24 GPUs |" in markdown
    same = compare_plans(data, [result.plan, result.plan], ["a", "b"], 20, 0).tables()
    assert same["purchases_by_generation"].empty
    assert list(same["purchases_by_generation"].columns) == ["plan", "quarter", "generation",
                                                             "gpus_vs_first_plan"]  # fmt: skip


def test_a_purchase_difference_that_rounds_to_no_gpu_reads_0_as_the_figures_zeros_do(tiny_run):
    """Plans whose purchases differ by 0.3 GPUs (a plan edited in a notebook) wrote "+0" and "-0" in
    the purchase tables, where the figures table writes a zero difference "0 GPUs" and "$0": a
    difference that rounds to no GPU has no sign; one of 8 GPUs is still "+8", one of -1 "-1 GPU"."""
    from dataclasses import replace

    from fleetopt.cli.render.compare import comparison_tables
    from fleetopt.cli.render.tables import plain_text
    from fleetopt.report.comparison import comparison_html

    _, result, _ = tiny_run
    diff = pd.DataFrame([("b", "2026Q3", "H100", "texas", -0.3), ("b", "2026Q3", "B200", "texas", 0.3),
                         ("b", "2028Q2", "B200", "texas", 8.0), ("b", "2028Q3", "B200", "texas", -1.0)],
                        columns=["plan", "quarter", "sku", "site", "gpus_vs_first_plan"])  # fmt: skip
    comp = replace(compare_plans(result.data, [result.plan] * 2, ["a", "b"], 20, 0), purchase_diff=diff)
    text = plain_text(comparison_tables(comp))
    tables = text.split("purchases against a by generation")[1]
    by_generation, by_sku = tables.split("purchases against a by SKU")
    for table, item in ((by_generation, "hopper"), (by_generation, "blackwell"), (by_sku, "H100 │ texas")):
        assert re.search(rf"│ b +│ 2026Q3 +│ {item} +│ +0 │", table), table
    assert re.search(r"│ 2028Q2 +│ blackwell +│ +\+8 │", by_generation), by_generation
    assert "+0" not in text and "-0 " not in text
    page = comparison_html(comp)
    for item in ("hopper", "blackwell", "H100</td><td class='text'>texas", "B200</td><td class='text'>texas"):
        assert f"<td class='text'>2026Q3</td><td class='text'>{item}</td><td>0</td>" in page, item
    assert "<td class='text'>blackwell</td><td>+8</td>" in page
    markdown = comp.to_markdown()
    assert "| b | 2026Q3 | H100 | texas | 0 GPUs |" in markdown
    assert "| b | 2026Q3 | hopper | 0 GPUs |" in markdown
    assert "| b | 2028Q2 | B200 | texas | +8 GPUs |" in markdown
    assert "| b | 2028Q3 | B200 | texas | -1 GPU |" in markdown


def test_a_cushion_already_breached_reads_as_breached_not_as_a_negative_fall():
    """tiny with its optional contract at $3.00 breaches DSCR on the forecast: the comparison showed
    "the fall of EBITDA that breaches it: -1.1%". A negative cushion is a breach by that much; the
    files keep the number."""
    cell = Comparison.cell
    assert cell("cushion_dscr", [-0.011], "share", 0) == "breached (1.1% short)"
    assert cell("lowest_covenant_cushion", [0.282], "share", 0) == "28.2%"
    assert cell("lowest_covenant_cushion", [-np.inf], "share", 0) == "breached (at or below zero)"
    assert cell("breach_probability", [0.0], "share", 0) == "0.0%"


def _two_plans(figures: dict[str, tuple[float, float]]) -> Comparison:
    """Plans "a" and "b" with ``figures`` (key: (a's, b's)) and no other table."""
    frame = pd.DataFrame.from_dict(figures, orient="index", columns=["a", "b"])
    empty = {name: pd.DataFrame(columns=columns) for name, columns in (
        ("mw_used", ["plan", "site", "quarter", "mw_used", "mw_available"]),
        ("gpus", ["plan", "quarter", "generation", "gpus"]),
        ("purchase_diff", ["plan", "quarter", "sku", "site", "gpus_vs_first_plan"]))}  # fmt: skip
    return Comparison(["a", "b"], frame, n_scenarios=10, seed=0, **empty)


def test_better_says_a_yes_no_figure_s_better_answer_and_whose_view_a_lenders_figure_is():
    """A finance walkthrough read "breaches a covenant ... on the forecast: no / no" with "lower" in
    the 'better' column, and the lenders' uncovered debt "lower" under a note saying "better for the
    company". A yes/no row says the better answer ("no"), nothing where the plans agree; the
    uncovered debt says "lower, for lenders", as the note explains; the JSON keeps its directions."""
    from fleetopt.cli.render.compare import comparison_tables
    from fleetopt.report.comparison import comparison_html

    breach = "breaches a covenant in the quarters tested, or defaults, on the forecast"
    uncovered = "debt a default leaves uncovered by the GPUs and cash (mean over all scenarios; undiscounted)"
    differ = _two_plans({"forecast_breach": (0.0, 1.0), "uncovered_debt_mean_usd": (1e6, 4e5)})
    agree = _two_plans({"forecast_breach": (0.0, 0.0)})
    assert f"| {breach} | no | yes |  | no |" in differ.to_markdown()
    assert f"| {uncovered} | \\$1.0M | \\$400.0k | -\\$600.0k | lower, for lenders |" in differ.to_markdown()
    assert f"| {breach} | no | no |  |  |" in agree.to_markdown()
    assert [row[2] for row in comparison_tables(differ)[0].rows] == ["no", "lower, for lenders"]
    assert [row[2] for row in comparison_tables(agree)[0].rows] == [""]
    assert "<td class='text'>lower, for lenders</td>" in comparison_html(differ)
    assert "better for the company, or for its lenders where it says 'for lenders'" in differ.notes()[-1]
    records = json.loads(differ.to_json())["figures"]
    assert [r["better"] for r in records] == ["lower", "lower"]


def test_plan_against_itself_cli_by_folder_and_id(tiny_run):
    folder, _, _ = tiny_run
    run_id = api.record_run(folder)
    for refs in ([str(folder), str(folder)], [str(run_id), str(run_id)]):
        code, out, err = run_cli("compare", *refs, "--format", "json", "--scenarios", SCENARIOS)
        assert code == 0, err
        doc = json.loads(out)
        assert len(doc["plans"]) == 2 and doc["scenarios"] == 200
        assert_same_figures(doc["figures"], *doc["plans"])
        assert doc["purchase_differences"] == []


def test_a_sweep_s_plans_are_compared_on_its_own_futures(tiny_run, tmp_path):
    """`fleetopt compare SWEEP`: without --scenarios and --seed, the sweep's 150 futures of seed 3,
    so its pick's mean NPV is the one the sweep printed; an option given still wins; a solve run
    has no futures of its own (1,000 of seed 0)."""
    folder = tmp_path / "S"
    # its pick, a cash-buffer plan that breaches on the forecast, differs from the forecast optimum
    code, _, err = run_cli("sweep", "tiny", "--candidates", "3", "--scenarios", "150", "--seed", "3",
                           "--allow-forecast-breach", "--allow-riskier", "--out", str(folder))  # fmt: skip
    assert code == 0, err
    swept = pd.read_csv(folder / "candidates.csv").set_index("plan")
    code, out, err = run_cli("compare", str(folder), "--format", "json")
    assert code == 0, err
    doc = json.loads(out)
    assert (doc["scenarios"], doc["seed"]) == (150, 3)
    mean = next(f for f in doc["figures"] if f["figure"] == "npv_mean_usd")
    for plan in doc["plans"]:
        assert mean[plan] == pytest.approx(swept.loc[plan, "npv_mean_usd"], rel=1e-9)
    code, out, _ = run_cli("compare", str(folder), "--format", "json", "--seed", "0")
    assert (json.loads(out)["scenarios"], json.loads(out)["seed"]) == (150, 0)
    code, out, _ = run_cli("compare", str(tiny_run[0]), str(folder), "--format", "json")
    assert (json.loads(out)["scenarios"], json.loads(out)["seed"]) == (150, 3)
    code, out, _ = run_cli("compare", str(tiny_run[0]), str(tiny_run[0]), "--format", "json")
    assert (json.loads(out)["scenarios"], json.loads(out)["seed"]) == (1000, 0)


# ---------------------------------------------------------------- two different plans


def test_purchase_difference_of_two_plans_in_one_file(tiny_run, tmp_path):
    _, result, loaded = tiny_run
    data, base = result.data, result.plan
    other = altered(data, base)
    file = tmp_path / "two.npz"
    save_plans(file, [base, other], ["base", "other"], loaded.model.name, loaded.content_hash)
    want = expected_difference(data, base, other)
    assert len(want) == 3  # three (quarter, SKU) cells changed

    code, out, err = run_cli("compare", str(file), "--model", "tiny", "--format", "json",
                             "--scenarios", SCENARIOS)  # fmt: skip
    assert code == 0, err
    doc = json.loads(out)
    assert doc["plans"] == ["base", "other"]
    assert differences(doc["purchase_differences"], "other") == pytest.approx(want)
    figures = {r["figure"]: r for r in doc["figures"]}
    assert figures["gpus_bought"]["other"] - figures["gpus_bought"]["base"] == pytest.approx(
        sum(want.values())
    )


def test_purchase_difference_of_a_run_and_a_plan_file(tiny_run, tmp_path):
    folder, result, loaded = tiny_run
    data = result.data
    other = altered(data, result.plan)
    file = tmp_path / "other.npz"
    save_plans(file, [other], ["other"], loaded.model.name, loaded.content_hash)
    plans, labels, _, _ = plans_from_refs([folder, file], data)
    comp = compare_plans(data, plans, labels, 100, 3)
    records = comp.purchase_diff.to_dict(orient="records")
    assert differences(records, labels[1]) == pytest.approx(expected_difference(data, result.plan, other))
    assert not comp.figures[labels[0]].equals(comp.figures[labels[1]])


# ---------------------------------------------------------------- formats


@pytest.mark.parametrize("fmt", ["csv", "markdown", "json"])
def test_formats_write_a_file(tiny_run, tmp_path, fmt):
    folder = tiny_run[0]
    out = tmp_path / "sub" / f"comparison.{fmt}"
    code, stdout, err = run_cli("compare", str(folder), str(folder), "--format", fmt,
                                "--scenarios", "50", "--out", str(out))  # fmt: skip
    assert code == 0, err
    assert out.is_file() and "wrote" in stdout
    text = out.read_text()
    if fmt == "json":
        tables = {"plan_runs", "figures", "mw_by_site", "gpus_by_generation", "purchase_differences"}
        assert tables <= set(json.loads(text))
        # tiny sells Hopper and Blackwell only: no Rubin rows of 0 GPUs
        generations = {row["generation"] for row in json.loads(text)["gpus_by_generation"]}
        assert generations == {"hopper", "blackwell"}
    elif fmt == "csv":
        about, runs, head = (part.splitlines()[1:] for part in text.split("\n\n")[:3])
        assert text.startswith("# about\n") and runs[0] == "plan,run" and head[0].startswith("figure,")
        assert "# purchase_differences" in text
        about = dict(pd.read_csv(pd.io.common.StringIO("\n".join(about))).values)
        assert about["model_name"] == "tiny" and about["model_hash"] == api.load("tiny")[0].content_hash
        assert (about["scenarios"], about["seed"]) == ("50", "0")
        figures = pd.read_csv(pd.io.common.StringIO("\n".join(head)))
        # 50 figures (P(any default), its, P(uncured breach)'s and P(NPV < 0)'s paired errors, those
        # of the NPV if lenders accelerate, the debt an uncured breach leaves uncovered, the lowest
        # cash and utilisation, the
        # first year's capex, the lowest cushion on the trailing year's averages among them, as tiny
        # tests each quarter's own EBITDA; a lab's present costs and demand share left out, and the
        # NPV with limited liability, the NPV's own figures where no scenario defaults, and the debt
        # at a liquidity default; the debt at an uncured breach is in: some scenarios have one), and
        # which covenant breaks first for each of tiny's four tests (leverage, DSCR, liquidity, and
        # the borrowing base of its GPU-secured loan), and what the policy had to do (its 7 reactions'
        # shares and 3 means in USD)
        first = {"first_breach_leverage_share", "first_breach_dscr_share", "first_breach_liquidity_share",
                 "first_breach_borrowing_base_share"}  # fmt: skip
        assert {f for f in figures["figure"] if f.startswith("first_breach_")} == first
        # and each tested covenant's cushion (a credit analyst's review: the smallest fall alone named
        # none, and a fall of EBITDA and one of the GPUs' resale value are not equally likely)
        cushions = {"cushion_leverage", "cushion_dscr", "cushion_liquidity", "cushion_borrowing_base"}
        assert {f for f in figures["figure"] if f.startswith("cushion_")} == cushions
        assert "lowest_covenant_cushion_trailing" in set(figures["figure"])
        # and the NPV if lenders accelerate, which differs from the NPV with limited liability: an
        # uncured breach ends the shareholders' claim in some scenarios
        assert len(figures) == 50 + 4 + 4 + 10 and {"figure", "unit"} <= set(figures.columns)
        assert "npv_limited_mean_usd" not in set(figures["figure"])
        assert {"npv_accelerated_mean_usd", "npv_accelerated_cvar5_usd"} <= set(figures["figure"])
        assert "debt_at_default_mean_usd" not in set(figures["figure"])
        assert "uncovered_debt_at_uncured_breach_mean_usd" in set(figures["figure"])
        # tiny's largest customer, enterprise-b: 27 % of its forecast optimum's revenue (formulation.md)
        share = figures.set_index("figure").loc["largest_customer_revenue_share"].iloc[2]
        assert 0.26 < float(share) < 0.28
    else:
        assert text.startswith("# Plan comparison (50 common scenarios, seed 0)")
        assert "## Purchases against the first plan" in text and "(none)" in text


def test_out_s_suffix_sets_the_format(tiny_run, tmp_path):
    """`--out c.html` wrote the terminal's text tables into an .html file (one run-on paragraph in a
    browser), and `--out c.csv` wrote them too: the suffix now names the format (.csv, .json, .md,
    .html) unless --format does. Each may be written again over its own earlier output (a CSV's and
    a JSON's were refused as files fleetopt did not write: their first lines were not recognised)."""
    folder = tiny_run[0]
    compare = ("compare", str(folder), str(folder), "--scenarios", "20", "--out")
    for name, start in (("c.csv", "# about"), ("c.json", "{"), ("c.md", "# Plan comparison"),
                        ("c.html", "<!doctype html>")):  # fmt: skip
        for _ in range(2):
            code, _, err = run_cli(*compare, str(tmp_path / name))
            assert code == 0, err
            assert (tmp_path / name).read_text().startswith(start), name
    # a --format the name contradicts wrote CSV into a .json file: refused, as conflicting options are
    code, _, err = run_cli(*compare, str(tmp_path / "x.json"), "--format", "csv")
    assert code == 2 and "--format csv cannot apply with --out " in " ".join(err.split()), err
    assert not (tmp_path / "x.json").exists()
    assert run_cli(*compare, str(tmp_path / "x.json"), "--format", "json")[0] == 0  # agreeing: fine
    # a name of no format fleetopt writes got the terminal's table, box drawing and all
    code, _, err = run_cli(*compare, str(tmp_path / "c.xlsx"))
    said = f"error: --out {tmp_path / 'c.xlsx'}: a comparison is written as"  # the option once, as typed
    assert code == 2 and said in err and "give --format" in " ".join(err.split()), err
    assert not (tmp_path / "c.xlsx").exists()
    assert run_cli(*compare, str(tmp_path / "c.xlsx"), "--format", "csv")[0] == 0  # asked for: written
    assert (tmp_path / "c.xlsx").read_text().startswith("# about")


def test_an_out_file_in_a_folder_that_cannot_be_written_is_refused_before_the_evaluation(
    tiny_run, tmp_path, monkeypatch
):
    """--out in a read-only folder failed only after the whole evaluation (minutes on neocloud).
    The folder is made read-only for this user by os.access's answer (root writes anywhere)."""
    import fleetopt.runs.files as files_module

    locked = tmp_path / "ro"
    locked.mkdir()
    real_access = os.access
    monkeypatch.setattr(files_module.os, "access", lambda p, m: Path(p) != locked and real_access(p, m))
    for command in (("compare", str(tiny_run[0]), str(tiny_run[0]), "--scenarios", "20"),
                    ("report", str(tiny_run[0]))):  # fmt: skip
        code, out, err = run_cli(*command, "--out", str(locked / "c.md"))
        said = f"cannot write --out {locked / 'c.md'}: {locked} is not a folder this user can write to"
        assert code == 2 and said in " ".join(err.split()), err  # both name the option once, as typed
        assert "plans on" not in out and not any(locked.iterdir())


def test_table_format_with_out_writes_the_tables_as_text(tiny_run, tmp_path):
    """`--out cmp.txt` with the default table format wrote nothing and exited 0."""
    folder = tiny_run[0]
    out = tmp_path / "cmp.txt"
    code, stdout, err = run_cli("compare", str(folder), str(folder), "--scenarios", "50", "--out", str(out))
    assert code == 0, err
    assert stdout.splitlines()[0] == f"wrote {out}"
    text = out.read_text()
    _, printed, _ = run_cli("compare", str(folder), str(folder), "--scenarios", "50")
    assert "mean NPV" in text and "\x1b[" not in text  # no colour codes in a file
    assert [line.split() for line in text.splitlines()] == [line.split() for line in printed.splitlines()]


@pytest.mark.parametrize("name", ["c.html", "c.csv"])
def test_out_file_leaves_the_verdict_on_the_terminal(tiny_run, tmp_path, name):
    """`--out c.html` said only "wrote c.html": the planner who typed it had to open the page for the
    answer. The line naming the file is followed by "In short", as the tables end. The same plan
    twice on the same 50 scenarios differs in nothing, by hand: every difference 0, the same in all
    five figures."""
    folder, out = tiny_run[0], tmp_path / name
    code, stdout, err = run_cli("compare", str(folder), str(folder), "--label", "base", "--label", "again",
                                "--scenarios", "50", "--out", str(out))  # fmt: skip
    assert code == 0, err
    lines = stdout.splitlines()
    assert lines[0] == f"wrote {out}" and out.is_file()
    assert " ".join(" ".join(lines[1:]).split()) == (
        "In short: “again” against “base”: mean NPV -$23.3M against -$23.3M ($0), CVaR5 NPV (the mean NPV "
        "of the worst 5 % of futures) -$90.8M against -$90.8M ($0), P(covenant breach) 94.0% against "
        "94.0% (0.0 pp), P(liquidity default) 0.0% against 0.0% (0.0 pp), P(any default) 86.0% against "
        "86.0% (0.0 pp); the same in all five."
    )


def test_the_same_plan_twice_is_warned_of_in_one_line(tiny_run):
    """`compare RUN RUN` gave every difference 0 with no warning, only a note among the table's. The
    warning names both labels and the plan's digest; two different plans give none."""
    folder, result, _ = tiny_run
    code, _, err = run_cli("compare", str(folder), str(folder), "--label", "base", "--label", "again",
                           "--scenarios", "20", "--format", "json")  # fmt: skip
    assert code == 0, err
    warned = [line for line in err.splitlines() if line.strip()]
    assert len(warned) == 1 and re.fullmatch(
        r"warning: plans “base” and “again” are the same plan \(sha256 [0-9a-f]{12} of their decisions and "
        r"cash buffer\): every difference is 0", warned[0]), err
    other = altered(result.data, result.plan)
    with warnings.catch_warnings():
        warnings.simplefilter("error", FleetoptWarning)  # two different plans: no warning
        compare_plans(result.data, [result.plan, other], ["a", "b"], 5, 0)


def test_table_format_prints(tiny_run):
    folder, *_ = tiny_run
    code, out, err = run_cli("compare", str(folder), str(folder), "--scenarios", "50")
    assert code == 0, err
    assert "NPV" in out


# ---------------------------------------------------------------- bad inputs


@pytest.fixture(scope="module")
def other_model_run(tmp_path_factory):
    """A solve run folder of a small hand-made model named 'handmade' (not tiny)."""
    root = tmp_path_factory.mktemp("other")
    d = base_model()
    d["name"] = "handmade"
    path = root / "handmade.yaml"
    path.write_text(yaml.safe_dump(d, sort_keys=False))
    loaded, _ = api.load(path)
    result = api.solve(loaded)
    folder = api.write_solve_run(result, loaded, root / "H")
    file = root / "handmade.npz"
    save_plans(file, [result.plan, result.plan], ["h1", "h2"], "handmade", loaded.content_hash)
    return folder, file


def assert_bad_input(args, *fragments: str) -> None:
    code, out, err = run_cli("compare", *args, "--scenarios", "20")
    assert code == 2, (code, out, err)
    assert "Traceback" not in err + out
    assert err.startswith("error: "), err
    for fragment in fragments:
        assert fragment in err, err


def test_unknown_run_ids():
    assert_bad_input(["999", "998"], "no run with id 999")


def test_plans_of_different_models(tiny_run, other_model_run):
    folder = str(tiny_run[0])
    handmade_run, handmade_file = map(str, other_model_run)
    assert_bad_input([folder, handmade_run], "handmade", "tiny")
    assert_bad_input([handmade_run, folder], "handmade", "tiny")
    assert_bad_input([folder, handmade_file], "handmade", "tiny")
    # the message says what --model does: it takes a version of the plans' model, not another one
    assert_bad_input([folder, handmade_run], "its plans are for model 'handmade', but every plan of a "
                     "comparison is evaluated under one model, here 'tiny' (the first run folder's copy",
                     "cannot be compared. --model may be a version of 'handmade'")  # fmt: skip
    assert_bad_input([folder, handmade_run, "--model", "tiny"], "here 'tiny' (the model given)")


def test_a_run_s_plan_file_given_directly_is_compared_under_the_model_beside_it(other_model_run):
    """`compare runs/a/plan.npz runs/b/plan.npz` fell back to the default model and refused the plans
    of 'handmade', although the run's model.yaml sits beside its plan file."""
    plan = other_model_run[0] / "plan.npz"
    result = api.compare([plan, plan], scenarios=5)
    assert result.model.name == "handmade"
    assert result.model.source == str(other_model_run[0] / "model.yaml")
    assert result.model.chosen == "the first run folder's copy, as no model was given"
    run = other_model_run[0].name  # a run's plan file is labelled by its run ("plan.npz" names none)
    assert result.labels == [f"{run}: milp", f"{run}: milp (2)"]
    # evaluate finds a plan file's model by the same definition
    from fleetopt.evaluate.jobfolder import model_of_plans

    assert model_of_plans(plan) == other_model_run[0] / "model.yaml"


def test_fewer_than_two_plans(tiny_run):
    assert_bad_input([str(tiny_run[0])], "at least two plans")


def test_missing_path(tiny_run, tmp_path):
    missing = tmp_path / "nowhere"
    assert_bad_input([str(tiny_run[0]), str(missing)], str(missing), "no such run folder or plan file")
    assert_bad_input([str(missing), str(tiny_run[0])], str(missing))


def test_not_a_run_folder_or_plan_file(tiny_run, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    assert_bad_input([str(tiny_run[0]), str(empty)], "no plan file")
    junk = tmp_path / "junk.npz"
    junk.write_bytes(b"not a zip")
    assert_bad_input([str(tiny_run[0]), str(junk)], f"{junk} is not a whole .npz archive (damaged")


def test_a_run_s_plan_csv_is_named_as_such_with_what_to_give_instead(tiny_run):
    """`compare runs/base runs/base/plan.csv` said "not a fleetopt plan file (BadZipFile)"."""
    folder = tiny_run[0]
    assert_bad_input([str(folder), str(folder / "plan.csv")],
                     f"{folder / 'plan.csv'} is a CSV file, not a fleetopt plan file (plan.npz or "
                     f"plans.npz): give its run folder {folder} or {folder / 'plan.npz'}; to solve with its "
                     f"purchases fixed: fleetopt solve MODEL --purchases {folder / 'plan.csv'}")  # fmt: skip
    assert_bad_input([str(folder), str(folder / "model.yaml")], "is a model file", "compare's --model")


def test_out_that_is_a_folder_is_refused_before_the_work(tiny_run, tmp_path, monkeypatch):
    """`compare ... --out runs/base` evaluated, then said "cannot write runs/base: Is a directory"."""
    import fleetopt.cli.review_commands as commands

    monkeypatch.setattr(commands.api, "compare", lambda *a, **k: pytest.fail("evaluated"))
    folder = tiny_run[0]
    assert_bad_input([str(folder), str(folder), "--out", str(tmp_path)],
                     f"error: --out {tmp_path} is a folder: give a file name such as",
                     f"{tmp_path / 'comparison.txt'}")  # fmt: skip
    assert_bad_input([str(folder), str(folder), "--out", str(tmp_path), "--format", "markdown"],
                     f"{tmp_path / 'comparison.md'}")  # fmt: skip


def test_an_evaluation_s_folder_compares_the_plans_it_evaluated_on_its_scenarios(tiny_run, tmp_path):
    """Two plans evaluated with --seed 7, then compared by their solves' folders, were compared on
    seed 0 without a word, and their evaluations' folders were refused (from a capacity planner's
    review). An evaluation's folder now gives the plans it evaluated, and the comparison defaults
    to its scenarios, so its figures come back; plans changed since are refused."""
    folder = tiny_run[0]
    evaluation, model, plans = api.evaluate(folder, scenarios=30, seed=7)
    run = api.write_evaluate_run(evaluation, model, plans, tmp_path / "E")
    comp = api.compare([run, folder])
    assert (comp.n_scenarios, comp.seed) == (30, 7)
    assert comp.figures.loc["npv_mean_usd", comp.labels[0]] == evaluation.metrics["npv_mean_usd"].iloc[0]
    copy = tmp_path / "copy"  # an evaluation of a plan file that changed since
    copy.mkdir()
    shutil.copy(folder / "plan.npz", copy / "plan.npz")
    evaluation, model, plans = api.evaluate(copy / "plan.npz", scenarios=20, seed=0)
    again = api.write_evaluate_run(evaluation, model, plans, tmp_path / "F")
    (copy / "plan.npz").write_bytes(b"PK" + (copy / "plan.npz").read_bytes()[2:] + b"x")
    assert_bad_input([str(folder), str(again)], "is an evaluation's folder", f"read from {copy / 'plan.npz'}",
                     "which changed since", "give the plans themselves")  # fmt: skip
    (copy / "plan.npz").unlink()
    assert_bad_input([str(folder), str(again)], f"read from {copy / 'plan.npz'}, which is gone")


def test_compare_error_from_the_api(tiny_run):
    folder, result, _ = tiny_run
    with pytest.raises(CompareError, match="at least two"):
        plans_from_refs([Path(folder)], result.data)


def test_repeated_labels_keep_every_plan(tiny_run, tmp_path):
    """Labels 'x', 'x', 'x (2)': renaming the second to 'x (2)' must not collide with the third."""
    _, result, loaded = tiny_run
    file = tmp_path / "dup.npz"
    save_plans(file, [result.plan] * 3, ["x", "x", "x (2)"], loaded.model.name, loaded.content_hash)
    plans, labels, _, _ = plans_from_refs([file], result.data)
    assert len(set(labels)) == 3
    comp = compare_plans(result.data, plans, labels, 20, 0)
    assert list(comp.figures.columns) == labels
    with pytest.raises(CompareError, match="unique"):
        compare_plans(result.data, plans[:2], ["y", "y"], 20, 0)


def test_every_output_names_each_plan_s_run(tiny_run, tmp_path):
    """Two runs both named 'base' gave columns 'base: milp' and 'base: milp (2)' that no file
    could tell apart: each names the run folder (a run id as its folder) or plan file of each plan."""
    import shutil

    folder = tiny_run[0]
    other = tmp_path / "x" / folder.name
    shutil.copytree(folder, other)
    run_id = api.record_run(other)
    args = ("compare", str(folder), str(run_id), "--scenarios", "10")
    code, out, err = run_cli(*args, "--format", "json")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["plans"] == [f"{folder.name}: milp", f"{folder.name}: milp (2)"]
    assert doc["plan_runs"] == [{"plan": f"{folder.name}: milp", "run": str(folder)},
                                {"plan": f"{folder.name}: milp (2)", "run": str(other)}]  # fmt: skip
    csv = run_cli(*args, "--format", "csv")[1]
    assert f"# plan_runs\nplan,run\n{folder.name}: milp,{folder}\n{folder.name}: milp (2),{other}\n" in csv
    markdown = run_cli(*args, "--format", "markdown")[1]
    assert f"| {folder.name}: milp (2) | {str(other).replace('_', chr(92) + '_')} |" in markdown
    table = tmp_path / "t.txt"
    assert run_cli(*args, "--out", str(table))[0] == 0
    assert "where each plan comes from" in table.read_text()


def test_markdown_formats_figures_as_the_terminal_does_and_escapes_labels(tiny_run):
    _, result, _ = tiny_run
    data = result.data
    comp = compare_plans(data, [result.plan, altered(data, result.plan)], ["forecast_optimum", "a|b*"], 50, 3)
    text = comp.to_markdown()
    assert not re.search(r"\de[+-]\d", text)  # no raw floats such as 2.02658e+10
    figures = text.split("## Figures")[1].split("##")[0]
    npv = next(line for line in figures.splitlines() if line.startswith("| mean NPV |"))
    assert npv.count("$") == 3  # both plans and their difference, with a scale suffix
    assert "%" in next(line for line in figures.splitlines() if "P(covenant breach)" in line)
    assert "| forecast\\_optimum |" in figures and "a\\|b\\*" in figures
    assert "GPUs |" in text.split("## Purchases against the first plan")[1]
    # the tables' headers in words with units, as the terminal's (the audit found mw_used, gpus)
    heads = [line for line in text.splitlines() if line.startswith("| plan |")]
    assert heads == ["| plan | run folder or plan file |",
                     "| plan | site | quarter | MW used | MW available |",
                     "| plan | quarter | generation | GPUs held |",
                     "| plan | quarter | generation | GPUs |",
                     "| plan | quarter | SKU | site | GPUs |"]  # fmt: skip


def test_markdown_of_plans_buying_the_same_says_so_as_the_terminal_does(tiny_run):
    """Two plans that buy the same GPUs: the terminal shows no by-generation table and reads '(no
    differences)' under the SKU-and-site one; the Markdown wrote a by-generation section too, an
    empty one, beside the SKU-and-site one's "(none)"."""
    from fleetopt.cli.render.compare import comparison_tables
    from fleetopt.cli.render.tables import plain_text

    _, result, _ = tiny_run
    comp = compare_plans(result.data, [result.plan, result.plan], ["a", "b"], 5, 0)
    terminal = plain_text(comparison_tables(comp))
    assert "by generation" not in terminal and "(no differences)" in terminal
    text = comp.to_markdown()
    assert "Purchases against the first plan by generation" not in text
    by_sku = text.split("## Purchases against the first plan")[1]
    assert by_sku.split("\n\n")[1].strip() == "(none)"


def test_peak_mw_keeps_its_decimal_in_the_terminal_and_markdown(tiny_run):
    """'peak MW needed by site' showed 3.61 MW as "4 MW"; the figures are format_mw's (3.6 MW)."""
    from fleetopt.cli.render.compare import comparison_tables
    from fleetopt.cli.render.tables import plain_text

    _, result, _ = tiny_run
    comp = compare_plans(result.data, [result.plan, result.plan], ["a", "b"], 5, 0)
    comp.mw_used["mw_used"] = [3.61 if plan == "a" else 0.25 for plan in comp.mw_used["plan"]]
    peak = plain_text(comparison_tables(comp)).split("peak MW needed by")[1]
    assert re.search(r"│ a +│ +3\.6 MW │", peak) and re.search(r"│ b +│ +0\.25 MW │", peak), peak
    assert "| a | texas | 2026Q3 | 3.6 MW | 20 MW |" in comp.to_markdown()


def test_differences_are_in_points_for_shares_and_absent_for_standard_errors():
    """P(breach) 50 % against 60 % differs by +10.0 percentage points (not "+10.0%"); two standard
    errors have no meaningful difference (the paired error is its own row): the cell is empty."""
    from fleetopt.compare.comparison import Comparison

    assert Comparison.difference("breach_probability", [0.5, 0.6], "share") == "+10.0 pp"
    assert Comparison.difference("npv_mean_usd", [2e9, 1.5e9], "USD") == "-$500.0M"
    assert Comparison.difference("npv_mean_se_usd", [5e8, 6e8], "USD") == ""
    assert Comparison.difference("npv_mean_paired_se_usd", [0.0, 3e8], "USD") == ""


# ---------------------------------------------------------------- plans with a policy buffer; three plans


@pytest.fixture(scope="module")
def buffer_sweep(tmp_path_factory):
    """A sweep of tiny's three first candidates (the forecast optimum and it with a $30M and a $60M
    cash buffer) on 50 scenarios, and its candidates table; any plan may be recommended."""
    folder = tmp_path_factory.mktemp("buffers") / "W"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("FLEETOPT_RUNS_DIR", str(folder.parent / "runs"))
        code, _, err = run_cli("sweep", "tiny", "--candidates", "3", "--scenarios", "50",
                               "--allow-forecast-breach", "--allow-riskier",
                               "--out", str(folder))  # fmt: skip
    assert code == 0, err
    return folder, pd.read_csv(folder / "candidates.csv").set_index("plan")


def test_forecast_figures_of_a_buffer_plan_are_its_run_with_its_policy(buffer_sweep):
    """On the forecast the $60M-buffer plan cuts none of the MILP's prepayments, which its borrowing
    base needs in full (docs/evaluation.md, policy rule 3): like the forecast optimum it prepays down
    to a peak of $164.0M after quarter 0's instalment; the NPV and the peak debt on the forecast are
    the run with the plan's own buffer (the sweep's forecast NPV) for both."""
    folder, candidates = buffer_sweep
    data = build_data(api.load(str(folder / "model.yaml"))[0].model)
    plans, labels, buffers, _ = plans_from_refs([folder], data)
    comp = compare_plans(data, plans, labels, 20, 0, buffers=buffers)
    optimum, pick = labels  # the optimum first: the differences are the pick's less the optimum's
    assert "cash buffer $60.0M" in pick and optimum == "milp: forecast"
    for label in labels:
        assert comp.figures.loc["npv_forecast_usd", label] == pytest.approx(
            candidates.loc[label, "forecast_npv_usd"], abs=0.01
        )
    for label in labels:
        assert comp.figures.loc["peak_debt_forecast_usd", label] == pytest.approx(164_015_384.6, abs=1.0)


def test_a_plan_that_breaches_on_its_own_forecast_gets_a_row_and_a_note(buffer_sweep, tiny_run):
    """A plan that breaches a covenant on its forecast, which compare did not say: a row 'breaches
    or defaults on the forecast' (1 yes, 0 no; the sweep's forecast_within_limits negated) and a
    note naming the covenant its first breach breaks. The sweep's buffered plans keep every
    covenant on the forecast (policy rule 3 never cuts a prepayment the base needs); tiny's
    optimum under a max_ltv of 0.6 instead of the 0.7 it was solved for misses the base."""
    folder, candidates = buffer_sweep
    code, out, err = run_cli("compare", str(folder), "--scenarios", "20", "--format", "json")
    assert code == 0, err
    doc = json.loads(out)
    row = next(r for r in doc["figures"] if r["figure"] == "forecast_breach")
    for plan in doc["plans"]:
        assert row[plan] == (0.0 if candidates.loc[plan, "forecast_within_limits"] else 1.0) == 0.0
    assert doc["forecast_breaches"] == {}
    lower = ["--what-if", "finance.facilities.gpu-term-loan.max_ltv=0.6", "--scenarios", "20", "--format"]
    code, out, err = run_cli("compare", str(tiny_run[0]), *lower, "json")
    assert code == 0, err
    doc = json.loads(out)
    row = next(r for r in doc["figures"] if r["figure"] == "forecast_breach")
    plan, what_if = doc["plans"]
    assert (row[what_if], row[plan], row["unit"], row["better"]) == (1.0, 0.0, "1 yes, 0 no", "lower")
    assert doc["forecast_breaches"] == {what_if: "breaches a covenant (first misses borrowing base)"}
    markdown = run_cli("compare", str(tiny_run[0]), *lower, "markdown")[1]
    row = "| breaches a covenant in the quarters tested, or defaults, on the forecast | no | yes |  | no |"
    assert row in markdown
    assert "on the forecast, with its policy: breaches a covenant (first misses borrowing base)." in markdown


def test_a_what_if_over_another_horizon_is_refused_before_the_changed_model_s_warnings(tiny_run):
    """tiny's plan under a horizon of 6 quarters, not its 8, cannot run (a what-if changes what the
    plan runs under, not the quarters its decisions are over), yet the changed model's warning that
    enterprise-inference's last 2 quarters fall after 2027Q4 came first (three such before the
    refusal on the default model). The refusal now comes alone; a what-if that runs keeps them."""
    folder = str(tiny_run[0])
    code, out, err = run_cli("compare", folder, "--scenarios", "5", "--what-if", "horizon.quarters=6")
    assert code == 2 and out == "", (out, err)
    assert err.startswith("error: --what-if horizon.quarters = 6: the plan"), err
    assert "warning" not in err and "fall after the horizon ends" not in err
    with warnings.catch_warnings(record=True) as said:
        warnings.simplefilter("always")
        with pytest.raises(CompareError, match="does not fit the model so changed"):
            api.compare(folder, scenarios=5, what_if={"horizon.quarters": 6})
    assert [str(w.message) for w in said] == []


def test_held_warnings_are_given_once_the_work_goes_on():
    """What :func:`warnings_held` holds back comes out, in order, where its block does not raise."""
    with pytest.warns(FleetoptWarning) as said, warnings_held():
        warn("first")
        warn("second")
    assert [str(w.message) for w in said] == ["first", "second"]


def test_three_plans_show_each_difference_and_which_way_is_better(buffer_sweep):
    """Three plans of one file: a column 'B − A' and 'C − A' for each (not only for two plans), the
    first plan's paired standard error against itself is —, not $0, and each figure says which way
    is better. Each plan given twice is the same plan as itself (same decisions, same buffer); the
    forecast optimum and it with a buffer make the same decisions but are not the same plan."""
    folder, _ = buffer_sweep
    code, out, err = run_cli("compare", str(folder / "plans.npz"), str(folder / "plans.npz"),
                             "--model", str(folder / "model.yaml"), "--scenarios", "20",
                             "--format", "markdown")  # fmt: skip
    assert code == 0, err
    table = out.split("## Figures")[1].split("\n\n")[1]
    head = table.splitlines()[0]
    assert head.count(" − ") == 5 and head.rstrip(" |").endswith("better")
    paired = next(line for line in table.splitlines() if "first plan's: standard error" in line)
    assert paired.split("|")[2].strip() == "—"
    npv = next(line for line in table.splitlines() if line.startswith("| mean NPV |"))
    assert npv.rstrip(" |").endswith("higher")
    breach = next(line for line in table.splitlines() if line.startswith("| P(covenant breach) |"))
    assert breach.rstrip(" |").endswith("lower")
    notes = out.replace("\\", "")
    run = folder.name  # the sweep's plan file, labelled by its run
    assert f"“{run}: milp: forecast” and “{run}: milp: forecast (4)” are the same plan" in notes
    assert notes.count("are the same plan") == 3  # the same decisions with another buffer are not


def test_piped_tables_take_the_width_columns_gives(monkeypatch):
    """Piped output was always 120 columns wide, whatever COLUMNS said (plan names wrapped over 5
    lines): with COLUMNS=200 rich takes that width (None: rich reads COLUMNS), without it 120."""
    import io

    from fleetopt.cli.consoles import output_width

    monkeypatch.setenv("COLUMNS", "200")
    assert output_width(io.StringIO()) is None
    monkeypatch.delenv("COLUMNS")
    assert output_width(io.StringIO()) == 120


def test_a_sweep_that_recommends_its_forecast_optimum_is_compared_with_another_run(tmp_path):
    """tiny's sweep recommends its forecast optimum (its buffered plans breach on the forecast): its
    folder alone holds one plan to compare, and the message says what to add."""
    folder = tmp_path / "S"
    code, _, err = run_cli("sweep", "tiny", "--candidates", "3", "--scenarios", "50", "--out", str(folder))
    assert code == 0, err
    code, _, err = run_cli("compare", str(folder))
    assert code == 2
    err = " ".join(err.split())
    assert "the sweep recommended its forecast optimum, its only plan to compare" in err
    # and how to compare every candidate it evaluated, on its own scenarios: that command works
    assert f"fleetopt compare {folder / 'plans.npz'}" in err
    assert "fleetopt.api" not in err
    code, out, err = run_cli("compare", str(folder / "plans.npz"))
    assert code == 0, err
    assert "plans on 50 common scenarios (seed 0)" in " ".join(out.split())
    # a notebook is told the Python call that does it (it was told the command's words alone)
    with pytest.raises(CompareError, match="its only plan to compare") as alone:
        api.compare(folder)
    every = f"fleetopt.api.compare({str(folder / 'plans.npz')!r})"
    assert f"compare every candidate it evaluated: {every}" in str(alone.value)


def test_a_comparison_says_its_horizon_and_discount_rate_once_where_its_figures_are(tiny_run):
    """`fleetopt compare` gave NPVs and probabilities of default over a horizon and at a rate it did
    not state (the page only under Definitions). tiny runs 8 quarters at 15 % a year: the terminal
    says so under the figures' first title, once; the Markdown's and the page's headings too."""
    folder = str(tiny_run[0])
    said = "over the horizon's 8 quarters (NPV: equity cash flows and terminal equity at 15% a year, USD)"
    code, out, err = run_cli("compare", folder, folder, "--scenarios", "20")
    assert code == 0, err
    assert " ".join(out.split()).count(said) == 1, out
    code, out, err = run_cli("compare", folder, folder, "--scenarios", "20", "--format", "markdown")
    assert code == 0, err
    assert out.startswith(f"# Plan comparison (20 common scenarios, seed 0) {said}\n"), out[:200]
    code, out, err = run_cli("compare", folder, folder, "--scenarios", "20", "--format", "html")
    assert code == 0, err
    assert f'<p class="sub">2 plans on 20 common scenarios (seed 0) {escape(said)}; written' in out
    # the CSV's "about" and the JSON gave a rate only for a what-if's two, the horizon never
    code, out, err = run_cli("compare", folder, folder, "--scenarios", "20", "--format", "csv")
    assert code == 0, err
    about = out.split("\n\n")[0].splitlines()
    rows = {"horizon_quarters,8", "discount_rate_annual,0.15", f'horizon_and_discount_rate,"{said}"'}
    assert rows <= set(about), about
    code, out, err = run_cli("compare", folder, folder, "--scenarios", "20", "--format", "json")
    assert code == 0, err
    doc = json.loads(out)
    assert (doc["horizon_quarters"], doc["discount_rate_annual"], doc["what_if_discount_rate_annual"]) == (
        8, 0.15, None)  # fmt: skip


# ---------------------------------------------------------------- plans of another version of the model


@pytest.fixture(scope="module")
def versions(tiny_run, tmp_path_factory):
    """tiny's run A, a run V of a hand-made version of tiny (electricity $95/MWh, not $55: the sites
    block) and two more versions that plans do not depend on: risk (price volatility 0.5, not 0.25)
    and a comment."""
    root = tmp_path_factory.mktemp("versions")
    text = tiny_run[2].text
    edits = {
        "elec": ("electricity_price_usd_per_mwh: 55", "electricity_price_usd_per_mwh: 95"),
        "risk": ("price_volatility_annual: 0.25", "price_volatility_annual: 0.5"),
        "comment": ("# tiny: one site", "# tiny, commented: one site"),
    }
    files = {}
    for name, (old, new) in edits.items():
        assert text.count(old) == 1
        files[name] = root / f"{name}.yaml"
        files[name].write_text(text.replace(old, new))
    loaded, _ = api.load(files["elec"])
    run = api.write_solve_run(api.solve(loaded), loaded, root / "V")
    return tiny_run[0], run, files


def compared(*args: str) -> tuple[dict, str]:
    code, out, err = run_cli("compare", *args, "--format", "json", "--scenarios", "20")
    assert code == 0, err
    return json.loads(out), err


def forecast_npv(doc: dict, plan: str) -> float:
    return next(row for row in doc["figures"] if row["figure"] == "npv_forecast_usd")[plan]


def test_plans_of_another_model_version_are_compared_under_the_first_runs_model_with_a_warning(versions):
    """`compare A V` evaluated V's plan under A's model (and `compare V A` A's under V's) with no
    word of it. Each order names the model used, and warns of the other run's plans once, naming it
    and the block that differs; a plan on the forecast of its own model is its solve's objective."""
    a, v, _ = versions
    objective = {run: json.loads((run / "summary.json").read_text())["objective_usd"] for run in (a, v)}
    for first, other in ((a, v), (v, a)):
        doc, err = compared(str(first), str(other))
        made_from = json.loads((first / "summary.json").read_text())["model_hash"]
        chosen = ("the first run folder's copy, as no model was given (plans made from another version "
                  "of it are evaluated under this one too)")  # fmt: skip
        source = str(first / "model.yaml")
        assert doc["model"] == {"name": "tiny", "hash": made_from, "source": source, "chosen": chosen}
        theirs, ours = (95.0, 55.0) if other == v else (55.0, 95.0)
        note = (f"the plans of {other} were made from another version of model 'tiny' (hash "
                f"{json.loads((other / 'summary.json').read_text())['model_hash']}, now {made_from}; blocks "
                f"that differ: sites: sites.texas.electricity_price_usd_per_mwh was {theirs}, now {ours})"
                )  # fmt: skip
        warnings = [line for line in err.splitlines() if line.startswith("warning: ")]
        assert warnings == [f"warning: {note}"]
        assert doc["model_versions"] == [note]  # the file says it too, not only the terminal
        assert forecast_npv(doc, doc["plans"][0]) == pytest.approx(objective[first], rel=1e-6)
        # the other plan pays $95 rather than $55 a MWh, or the reverse: millions apart
        assert abs(forecast_npv(doc, doc["plans"][1]) - objective[other]) > 1e6


def test_the_other_version_is_noted_in_every_file_format_and_only_when_true(versions, tmp_path):
    """The warning was on stderr only: the CSV, Markdown and --out text carry it, naming the run
    and the blocks; with no plan of another version, no note, and the model's sentence no longer
    says plans of another version are evaluated under it."""
    a, v, _ = versions
    for fmt, marker in (("csv", "model_version_note_1,"), ("markdown", "Note: the plans of "),
                        ("table", "Note: the plans of ")):  # fmt: skip
        out = tmp_path / f"c.{fmt}"
        args = ("compare", str(a), str(v), "--scenarios", "20", "--format", fmt, "--out", str(out))
        code, _, err = run_cli(*args)
        assert code == 0, err
        text = out.read_text()
        assert marker in text and str(v) in text and "blocks that differ: sites" in text
    doc, err = compared(str(a), str(a))
    assert doc["model_versions"] == [] and "another version" not in err
    assert err.count("warning: ") == 1 and "are the same plan" in err  # a run given twice: the same plan
    assert doc["model"]["chosen"] == "the first run folder's copy, as no model was given"


def test_an_evaluation_s_report_notes_plans_of_another_version(versions, tmp_path):
    """`evaluate tiny --plans V` (V made with $95/MWh electricity) warned on stderr only; its
    report says so too, naming the plans and the block that differs."""
    _, v, _ = versions
    folder = tmp_path / "E"
    args = ("evaluate", "tiny", "--plans", str(v), "--scenarios", "20", "--out", str(folder), "--report")
    code, _, err = run_cli(*args)
    assert code == 0 and "blocks that differ: sites" in err
    html = (folder / "report.html").read_text()
    assert f"Note: the plans of {v / 'plan.npz'} were made from another version of model" in html
    assert ("blocks that differ: sites: sites.texas.electricity_price_usd_per_mwh was 95.0, now 55.0); every "
            "figure here is of the model above.") in html


def test_the_model_given_is_named_and_warned_of_once_per_run(versions):
    a, v, files = versions
    doc, err = compared(str(a), str(a), str(v), "--model", str(files["elec"]))
    assert doc["model"]["source"] == str(files["elec"]) and doc["model"]["chosen"] == "the model given"
    assert err.count("were made from another") == 1 and f"the plans of {a} were made from another" in err
    assert err.count("warning: ") == 2 and "are the same plan" in err  # a given twice: the same plan
    assert "blocks that differ: sites" in err
    code, out, _ = run_cli("compare", str(a), str(v), "--model", str(files["elec"]), "--scenarios", "20",
                           "--format", "markdown")  # fmt: skip
    assert code == 0
    assert f"Every plan is evaluated under model 'tiny' (hash {doc['model']['hash']}, from" in out


def test_the_model_used_is_named_in_full_with_the_fields_changed_in_it(tiny_run, tmp_path, monkeypatch):
    """A comparison named its model as typed ("A/model.yaml", relative to a folder a later reader may
    not know), where a run's model_source is the file in full; and a model given edited by
    fleetopt.api.edit as the file alone. It names the file in full and what was changed."""
    monkeypatch.chdir(tmp_path)
    shutil.copytree(tiny_run[0], "A")
    doc, _ = compared("A", "A")
    assert doc["model"]["source"] == str((tmp_path / "A" / "model.yaml").resolve())
    edited = api.edit("A/model.yaml", {"horizon.discount_rate_annual": 0.12})
    with pytest.warns(api.FleetoptWarning, match="made from another version"):  # A's plan: at 15 %
        comparison = api.compare(["A", "A"], edited, scenarios=5)
    assert comparison.model.as_dict()["changes"] == "horizon.discount_rate_annual = 0.12"
    read = tmp_path / "A" / "model.yaml"
    said = f"from {read}, changed for this run: horizon.discount_rate_annual = 0.12): the model given."
    assert said in comparison.notes()[0]


def test_the_copy_of_an_edited_solves_model_is_named_as_changed(tmp_path):
    """A comparison of a --set solve, under its folder's copy of the model (the model as the solve
    changed it), named the copy alone, as a file's own model; a what-if on it too."""
    edited = api.edit("tiny", {"horizon.discount_rate_annual": 0.12})
    solve = api.write_solve_run(api.solve(edited), out=tmp_path / "S")
    comparison = api.compare([solve, solve], scenarios=5)
    copied = "as changed for the run it was copied from: horizon.discount_rate_annual = 0.12"
    assert f"from {solve / 'model.yaml'}, {copied}): the first run folder's copy" in comparison.notes()[0]
    assert comparison.model.as_dict()["source_changes"] == "horizon.discount_rate_annual = 0.12"
    assert "changes" not in comparison.model.as_dict()  # nothing changed for the comparison itself
    what_if = api.compare([solve], what_if={"risk.price_volatility_annual": 0.5}, scenarios=5)
    assert what_if.what_if_model.as_dict()["source_changes"] == "horizon.discount_rate_annual = 0.12"
    assert what_if.what_if_model.as_dict()["changes"] == "risk.price_volatility_annual = 0.5"


@pytest.mark.parametrize("version", ["risk", "comment"])
def test_no_warning_where_only_blocks_plans_do_not_depend_on_differ(versions, version):
    a, _, files = versions
    doc, err = compared(str(a), str(a), "--model", str(files[version]))
    assert "another version" not in err and doc["model"]["source"] == str(files[version])
    assert err.count("warning: ") == 1 and "are the same plan" in err  # a given twice: the same plan


def test_the_api_warns_with_a_fleetopt_warning(versions):
    a, v, _ = versions
    warned = f"the plans of {re.escape(str(v))} were made from .*blocks that differ: sites"
    with pytest.warns(api.FleetoptWarning, match=warned):
        comparison = api.compare([a, v], scenarios=10)
    assert comparison.model.hash == json.loads((a / "summary.json").read_text())["model_hash"]
    assert comparison.notes()[0].startswith("Every plan is evaluated under model 'tiny'")


@pytest.fixture(scope="module")
def policy_version(tiny_run, tmp_path_factory):
    """A solve of tiny whose policy sells no GPU in distress and keeps a $5M cash buffer (tiny's: on,
    $0), written as run P, and its result."""
    edited = api.edit(tiny_run[2], {"policy.distress_sales": False, "policy.liquidity_buffer_usd": 5e6})
    result = api.solve(edited)
    return api.write_solve_run(result, edited, tmp_path_factory.mktemp("policy") / "P"), result


def test_plans_made_under_another_policy_are_said_to_run_with_the_first_models(tiny_run, policy_version):
    """`compare A P` ran P's plan with A's policy (distress sales on) with no word of it: the policy is
    a block plans do not depend on, so no version note named it. A note names the field that differs
    and the policy used, without a warning (as evaluate gives none); the $5M buffer, which P's plan
    keeps, is said by the buffer's own note, not again here; plans of the same policy have none."""
    a, p = tiny_run[0], policy_version[0]
    doc, err = compared(str(a), str(p))
    hash_a = json.loads((a / "summary.json").read_text())["model_hash"]
    note = (f"the plans of {p} were made under another policy (policy.distress_sales was false, now true): "
            f"every plan compared runs with the policy of model 'tiny' (hash {hash_a}), the model it is "
            "evaluated under")  # fmt: skip
    assert doc["policy_notes"] == [note]
    assert doc["model"]["chosen"].endswith("(plans made from another version of it are evaluated under this "
                                           "one too)")  # fmt: skip
    assert [line for line in err.splitlines() if "distress_sales" in line] == []
    assert "keep the policy cash buffer recorded with them ($5.0M" in doc["model_versions"][0]
    code, out, _ = run_cli("compare", str(a), str(p), "--scenarios", "20", "--format", "csv")
    assert code == 0 and 'policy_note_1,"the plans of' in out
    assert compared(str(a), str(a))[0]["policy_notes"] == []
    # solves compared in memory under one of their models: the same note
    with pytest.warns(FleetoptWarning, match="keep the policy cash buffer recorded with them"):
        comparison = api.compare([tiny_run[1], policy_version[1]], model=tiny_run[2], scenarios=10,
                                 labels=["base", "no sales"])  # fmt: skip
    assert comparison.policies == [note.replace(f"the plans of {p}", "the plans of the solve 'no sales'")]
    assert f"Note: {comparison.policies[0]}." in comparison.notes()


def test_the_csv_rounds_mw_and_gpus_and_the_json_keeps_them(tiny_run):
    """mw_used 20.000000000000004 against mw_available 20.0 (a sum's round-off) in the CSV."""
    from fleetopt.compare.comparison import Comparison

    frame = pd.DataFrame({"plan": ["p"], "site": ["texas"], "quarter": ["2026Q4"],
                          "mw_used": [20.000000000000004], "mw_available": [20.0]})  # fmt: skip
    gpus = pd.DataFrame({"plan": ["p"], "quarter": ["2026Q4"], "generation": ["hopper"], "gpus": [-1.3e-11]})
    figures = pd.DataFrame({"p": [1.0 / 3]}, index=["npv_mean_usd"])
    comp = Comparison(["p"], figures, frame, gpus, pd.DataFrame(columns=["plan", "quarter", "sku",
                      "gpus_vs_first_plan"]), 1, 0)  # fmt: skip
    csv = comp.to_csv()
    assert "p,texas,2026Q4,20.0,20.0\n" in csv and "p,2026Q4,hopper,0.0\n" in csv
    assert "0.3333333333333333" in csv  # the figures as computed
    assert json.loads(comp.to_json())["mw_by_site"][0]["mw_used"] == 20.000000000000004


def test_a_stochastic_solve_is_compared_on_its_own_out_of_sample_scenarios(tmp_path):
    """compare re-evaluated a stochastic run on seed 0 while its help said a run's own figures come
    back: it takes the run's out-of-sample scenarios and seed (here 1,000, seed 3 + 1), so each
    plan's mean NPV is the run's own; other scenarios are warned of, naming the run."""
    folder = tmp_path / "S"
    code, _, err = run_cli("solve", "tiny", "--stochastic", "2", "--first-stage-quarters", "2",
                           "--scenario-seed", "3", "--out", str(folder))  # fmt: skip
    assert code == 0, err
    own = json.loads((folder / "summary.json").read_text())["out_of_sample"]
    assert (own["scenarios"], own["seed"]) == (1000, 4)
    code, out, err = run_cli("compare", str(folder), "--format", "json")
    assert code == 0 and "warning" not in err
    doc = json.loads(out)
    assert (doc["scenarios"], doc["seed"]) == (1000, 4)
    means = next(row for row in doc["figures"] if row["figure"] == "npv_mean_usd")
    for plan in doc["plans"]:
        assert means[plan] == pytest.approx(own["metrics"][plan]["npv_mean_usd"], rel=1e-9)
    # the difference as the solve prints it, "stochastic less forecast" (it was forecast - stochastic)
    assert doc["plans"] == ["forecast", "stochastic"]
    stochastic_less_forecast = means["stochastic"] - means["forecast"]
    assert means["stochastic − forecast"] == pytest.approx(stochastic_less_forecast, abs=1e-6)
    assert own["paired"]["npv_mean_usd_diff"] == pytest.approx(stochastic_less_forecast, abs=1e-6)
    code, out, err = run_cli("compare", str(folder), "--seed", "0", "--scenarios", "50", "--format", "json")
    assert code == 0
    said = (f"{folder}'s own figures are of 1,000 scenarios (seed 4); this comparison uses 50 "
            "(seed 0): its plans' figures here are not those")  # fmt: skip
    assert f"warning: {said}" in err
    assert json.loads(out)["scenario_notes"] == [said]  # in the file too: a mailed comparison keeps it
    code, out, _ = run_cli("compare", str(folder), "--seed", "0", "--scenarios", "50", "--format", "markdown")
    assert code == 0 and f"Note: {said}." in out.replace("\\", "")
    code, out, _ = run_cli("compare", str(folder), "--seed", "0", "--scenarios", "50", "--format", "csv")
    assert code == 0 and f"scenarios_note_1,{said}" in out.replace('"', "")


@pytest.mark.parametrize("scenarios", [20, 200])
def test_p95_mirrors_p5_and_the_median_and_first_paired_error_are_as_documented(tiny_run, scenarios):
    """P5 is the k-th worst NPV, k = ceil(5 % of M); P95 was sorted[ceil(0.95 M) - 1], the
    (k+1)-th best: for M = 20 (k = 1) the second best, not the best. Now the k-th best: sorted[M - k]
    (20: the best, the mirror of P5 the worst; 200: sorted[190] against P5's sorted[9]). The median
    is NumPy's (the mean of the two middle NPVs for even M). The first plan's paired error was 0.0 in
    the CSV and JSON where the docs and the tables say —: none (empty, null)."""
    folder = tiny_run[0]
    evaluation, _, _ = api.evaluate(folder, scenarios=scenarios, seed=0, keep_matrix=True)
    npv = np.sort(evaluation.npv_matrix[0])
    k = int(np.ceil(0.05 * scenarios))
    comp = api.compare([folder, folder], scenarios=scenarios, seed=0)
    first = comp.labels[0]
    assert comp.figures.loc["npv_p5_usd", first] == pytest.approx(npv[k - 1], abs=1e-3)
    assert comp.figures.loc["npv_p95_usd", first] == pytest.approx(npv[scenarios - k], abs=1e-3)
    assert comp.figures.loc["npv_median_usd", first] == pytest.approx(
        (npv[scenarios // 2 - 1] + npv[scenarios // 2]) / 2, abs=1e-3
    )
    if scenarios == 20:
        assert comp.figures.loc["npv_p95_usd", first] == pytest.approx(npv.max(), abs=1e-3)
    paired = next(r for r in json.loads(comp.to_json())["figures"] if r["figure"] == "npv_mean_paired_se_usd")
    assert paired[first] is None and paired[comp.labels[1]] == 0.0  # the same plan: no difference
    row = next(line for line in comp.to_csv().splitlines() if line.startswith("npv_mean_paired_se_usd,"))
    assert row == "npv_mean_paired_se_usd,USD,,,0.0,"  # and no difference of two errors


def test_the_paired_error_is_the_sample_deviation_of_the_differences_over_root_s():
    """Differences 1, 2 and 6 USD: mean 3, sample variance (4 + 1 + 9) / 2 = 7, error sqrt(7 / 3) =
    1.5275 USD. compare divided by S (1.2472), the stochastic check by S - 1: one definition now."""
    from fleetopt.evaluate.metrics import paired_error

    assert paired_error(np.array([1.0, 2.0, 6.0])) == pytest.approx(np.sqrt(7.0 / 3.0), rel=1e-12)
    assert np.isnan(paired_error(np.array([5.0])))


def test_the_paired_error_s_note_names_the_difference_columns_as_they_are_headed():
    """The note pointed to "'… − milp' columns" where the HTML page heads them by the plans' letters,
    "B − A" (its key above naming the letters): it names them so, and says the terminal and the Markdown
    head them by the labels, as they do ("milp (2) − milp")."""
    comp = api.compare([api.solve("tiny")] * 2, scenarios=20)
    a, b = comp.labels
    note = next(note for note in comp.notes() if note.startswith("'mean NPV minus the first plan's'"))
    said = ("the difference itself is in the 'B − A' columns, a later plan B's figure less the first plan "
            "A's, headed by the plans' labels in the terminal and the Markdown and by their letters on the "
            "HTML page")
    assert said in note, note
    assert comp.difference_headers() == [f"{b} − {a}"]
    assert f"<abbr title='{escape(b)} − {escape(a)}'>B − A</abbr>" in api.comparison_html(comp)


def test_the_json_and_csv_carry_each_difference_as_a_number(buffer_sweep):
    """The tables showed 'B − A' but the JSON and CSV carried only each plan's figures. Now each
    figure row has the difference as a number: the pick's mean NPV less the optimum's, and none for
    a standard error or a yes/no (as the tables leave those cells empty)."""
    folder, _ = buffer_sweep
    code, out, err = run_cli("compare", str(folder), "--scenarios", "20", "--format", "json")
    assert code == 0, err
    doc = json.loads(out)
    optimum, pick = doc["plans"]
    rows = {r["figure"]: r for r in doc["figures"]}
    column = f"{pick} − {optimum}"
    mean = rows["npv_mean_usd"]
    assert mean[column] == pytest.approx(mean[pick] - mean[optimum], rel=1e-12)
    assert rows["npv_mean_se_usd"][column] is None and rows["forecast_breach"][column] is None


def test_plans_with_the_same_purchases_say_their_differences_are_not_the_purchases(tiny_run):
    """Unedited purchases solved again gave a plan that moved a draw to another facility: compare
    showed +$0.35B of mean NPV with "(no differences)" in its purchases, and said nothing more."""
    _, result, _ = tiny_run
    data, plan = result.data, result.plan
    moved = Plan(**{name: value.copy() for name, value in plan.arrays().items()})
    moved.prepay[0, 3] += 1.0e6  # prepaid a quarter earlier than the plan does: the same commitments
    comp = compare_plans(data, [plan, moved, plan], ["solved", "moved", "again"], 20, 0)
    debt = ["debt prepayments"]
    assert comp.same == [("solved", "again")]
    # "again" is the same plan as "solved": its note would repeat solved's, so it has none
    assert comp.same_commitments == [("solved", "moved", debt)]
    said = " ".join(comp.notes())
    assert ("“solved” and “moved” buy the same GPUs, build the same power and take the same contracts; they "
            "differ only in debt prepayments: their differences come from those, not from what") in said
    assert json.loads(comp.to_json())["same_commitments"][0] == ["solved", "moved", debt]
    assert json.loads(comp.to_json())["same_plans"] == [["solved", "again"]]
    csv = comp.to_csv()
    assert "same_plan_note_1,“solved” and “again” are the same plan" in csv
    assert "same_commitments_note_1," in csv


def test_what_the_policy_had_to_do_is_compared_as_evaluate_shows_it(tiny_run, tmp_path):
    """A finance reader asked what the company had to do to survive each plan, which `evaluate` shows
    and compare did not. tiny's optimum ends 2026Q3 with $30.3M on the forecast, its $120M of B200
    paid from its $150M of opening cash: opened with $30M instead ($120M less), it is $89.7M short of
    its $25M minimum in the first quarter, before any risk moves, and sells GPUs in distress in every
    scenario; with its own cash it never does. The rows are `evaluate`'s figures on the same
    scenarios, in every format, with no better direction."""
    folder, result, loaded = tiny_run
    assert result.statements_frame()["cash_usd"].iloc[0] == pytest.approx(30.3e6, abs=0.1e6)
    short = {"finance.opening_cash_usd": 30_000_000}
    comp = api.compare([folder], loaded, what_if=short, scenarios=20, seed=0,
                       labels=["base", "short of cash"])
    base, changed = comp.labels
    assert (comp.figures.loc["sold_share", base], comp.figures.loc["sold_share", changed]) == (0.0, 1.0)
    assert comp.figures.loc["distress_sale_proceeds_mean_usd", changed] > 0.0
    evaluation, _, _ = api.evaluate(folder, api.edit(loaded, short), scenarios=20, seed=0)
    for column in ("sold_share", "prepayment_cut_share", "freed_share", "distress_sale_proceeds_mean_usd"):
        assert comp.figures.loc[column, changed] == evaluation.metrics[column].iloc[0], column
    assert comp.better("sold_share") == ""
    assert ("| the policy's reaction: distress sale (share of scenarios) | 0.0% | 100.0% | +100.0 pp |  |"
            in comp.to_markdown())
    csv_rows = [line for line in comp.to_csv().splitlines() if line.startswith("sold_share,")]
    assert csv_rows == ["sold_share,share,,0.0,1.0,1.0"]
    page = api.comparison_html(comp)
    assert "the policy&#x27;s reaction: distress sale (share of scenarios)" in page


# policy rule 6's rows, as the Markdown writes them (the USD row's name ends in REACTION_MEANS)
BASE_PREPAY_ROWS = ("| the policy's reaction: borrowing base prepaid (share of scenarios) | 100.0% | 0.0% | "
                    "-100.0 pp |  |",
                    "| the policy's reaction: mean borrowing base prepaid (means over all the scenarios, 0 "
                    "in those where the policy did not act) | \\$7.0M | \\$0 | -\\$7.0M |  |")


def test_policy_rule_6_s_prepayments_are_compared_only_where_the_rule_is_on(here):
    """tests/test_policy_borrowing_base_prepay.py's deficient instance (the rule on, no risk): its fleet
    plan prepays $7M to mend the base in quarter 0 of every scenario (metrics.csv: 1 and $7M); the
    same plan prepaying $10M itself in quarter 0 owes $60M at its end, which $85.7M of the $90M fleet
    secures: none. Their evaluation compared has the rows, after the other reactions', no better
    direction; evaluated with the rule off (--set), neither row; a what-if turning it off gives the
    plan 0 % and $0 there (the rule off prepays nothing)."""
    from test_policy_borrowing_base_prepay import deficient_model, fleet_plan

    (here / "model.yaml").write_text(yaml.safe_dump(deficient_model(), sort_keys=False), encoding="utf-8")
    loaded, data = api.load(str(here / "model.yaml"))
    fleet, prepaid = fleet_plan(data), fleet_plan(data)
    prepaid.prepay[0, 0] = 10e6
    for file, plans in (("plans.npz", [fleet, prepaid]), ("fleet.npz", [fleet])):
        labels = ["fleet", "prepaid"][: len(plans)]
        save_plans(here / file, plans, labels, loaded.model.name, loaded.content_hash)
    evaluated = ("evaluate", "model.yaml", "--plans", "plans.npz", "--scenarios", "20")
    assert run_cli(*evaluated, "--out", "on")[0] == 0
    assert run_cli(*evaluated, "--out", "off", "--set", "policy.prepay_borrowing_base=false")[0] == 0
    metrics = pd.read_csv(here / "on" / "metrics.csv", comment="#").set_index("plan")
    assert metrics.loc[["fleet", "prepaid"], "base_prepaid_mean_usd"].tolist() == [7e6, 0.0]
    code, out, err = run_cli("compare", "on", "--format", "markdown")
    assert code == 0, out + err
    rows = out.splitlines()
    assert [row for row in rows if "base prepaid" in row] == list(BASE_PREPAY_ROWS)
    assert rows.index(BASE_PREPAY_ROWS[0]) == rows.index(BASE_PREPAY_ROWS[1]) - 4  # after each kind's own
    code, out, err = run_cli("compare", "off", "--format", "markdown")
    assert code == 0 and "base prepaid" not in out, out + err
    comp = api.compare([here / "fleet.npz"], str(here / "model.yaml"), scenarios=20, seed=0,
                       what_if={"policy.prepay_borrowing_base": False}, labels=["on", "off"])
    assert comp.figures.loc[["base_prepaid_share", "base_prepaid_mean_usd"]].values.tolist() == [[1.0, 0.0],
                                                                                                  [7e6, 0.0]]
    assert comp.better("base_prepaid_share") == comp.better("base_prepaid_mean_usd") == ""


def test_a_lab_s_comparison_has_no_rows_of_contracts_started_late():
    """lab's model has no contracts: no contract can start late or be cancelled, so those rows of
    the policy's reactions would be zeros that say nothing; its deferred orders stay."""
    result = api.solve("lab")
    comp = api.compare([result, result], "lab", scenarios=20, seed=0)
    assert {"rescheduled_share", "cancelled_share", "freed_share"}.isdisjoint(comp.figures.index)
    assert "deferred_share" in comp.figures.index


# ---------------------------------------------------------------- a lab's plans: present cost and demand


def test_the_share_of_demand_served_caps_each_use_and_quarter_by_its_demand():
    """Training demand 10 and 10, inference 5 and 0 (H100-eq.); a plan offers 12 and 4 for
    training (two sites: 8 + 4, then 1 + 3) and 5 and 3 for inference: it serves 10 + 4 + 5 + 0 =
    19 of 25, 0.76; a plan offering nothing serves 0."""
    from types import SimpleNamespace

    from fleetopt.compare.plan_figures import market_demand_served

    data = SimpleNamespace(demand=[np.array([10.0, 10.0]), np.array([5.0, 0.0])])
    supply = np.zeros((2, 2, 2, 2))  # (P, use, site, quarter)
    supply[0, 0] = [[8.0, 1.0], [4.0, 3.0]]
    supply[0, 1] = [[5.0, 3.0], [0.0, 0.0]]
    served = market_demand_served(data, SimpleNamespace(market_supply=supply, P=2))
    np.testing.assert_allclose(served, [0.76, 0.0], rtol=1e-15)


@pytest.fixture(scope="module")
def lab_runs(tmp_path_factory):
    """lab solved for least cost and for NPV, written as runs: (cost folder, NPV folder)."""
    root = tmp_path_factory.mktemp("lab")
    loaded, _ = api.load("lab")
    cost = api.write_solve_run(api.solve(loaded, objective="cost"), loaded, root / "cost")
    return cost, api.write_solve_run(api.solve(loaded), loaded, root / "npv")


def test_plans_serving_different_demand_are_not_ranked_by_their_present_cost(lab_runs):
    """The cost objective meets lab's demand exactly (formulation §5.5): all of it; the NPV plan
    serves less for less cost, so "lower" would call it better: the row has no verdict then, a
    note gives the shares, and the cost plan is named as valuing its own use at market prices."""
    cost, npv = lab_runs
    comp = api.compare([cost, npv], scenarios=20)
    served = comp.figures.loc["market_demand_served"]
    a, b = comp.labels
    assert served[a] == pytest.approx(1.0, abs=1e-9) and served[b] < 0.99
    # and over the scenarios: a lab's service level, shown where a plan was solved for least cost
    assert comp.figures.loc["demand_served_share", a] < 1.0
    assert comp.figures.loc["shortfall_probability", b] >= comp.figures.loc["shortfall_probability", a]
    assert comp.figures.loc["present_cost_usd", b] < comp.figures.loc["present_cost_usd", a]
    assert comp.better("present_cost_usd") == "" and comp.better("present_cost_per_h100_hour_usd") == ""
    notes = " ".join(comp.notes())
    assert "serve different shares of the market demand" in notes
    assert f"“{a}” was solved for least cost" in notes
    assert json.loads(comp.to_json())["cost_plans"] == [a]
    same = api.compare([cost, cost], scenarios=20)
    assert same.better("present_cost_usd") == "lower" and "different shares" not in " ".join(same.notes())
    assert same.better("present_cost_per_h100_hour_usd") == "lower"
    # each plan's levelized cost is its solve's (formulation §6, "Cost")
    solved = json.loads((cost / "summary.json").read_text())["present_cost_per_h100_hour_usd"]
    assert comp.figures.loc["present_cost_per_h100_hour_usd", a] == pytest.approx(solved, rel=1e-9)


def test_cost_solves_compared_in_memory_keep_a_lab_s_figures():
    """Whether a plan was solved for least cost was read from its run folder alone: two cost solves
    compared in memory lost their present cost, the figure a lab ranks plans by (a review)."""
    loaded, _ = api.load("lab")
    cost = api.solve(loaded, objective="cost")
    comp = api.compare([cost, cost], scenarios=10, labels=["a", "b"])
    assert comp.cost_plans == ["a", "b"]
    assert list(comp.figures.index[:3]) == ["present_cost_usd", "present_cost_per_h100_hour_usd",
                                            "present_cost_mean_usd"]  # fmt: skip
    assert comp.figures.loc["present_cost_usd", "a"] == cost.headline()["present_cost_usd"]
    # the figures' basis says the present cost, whose rows lead, by what it is, then the NPV's
    assert comp.basis() == (" over the horizon's 12 quarters (present cost: the fleet at the start and the "
                            "quarters' costs less the value at the end at 10% a year, USD; NPV: equity cash "
                            "flows and terminal equity at 10% a year, USD)")


def test_an_evaluation_of_a_cost_plan_is_compared_as_a_cost_plan(lab_runs, tmp_path):
    """An evaluation's folder read as no solve: its cost plan was compared as an NPV plan's."""
    cost, npv = lab_runs
    code, _, err = run_cli("evaluate", "--plans", str(cost), "--scenarios", "5", "--out", str(tmp_path / "E"))
    assert code == 0, err
    comp = api.compare([tmp_path / "E", npv], scenarios=5)
    assert comp.cost_plans == [comp.labels[0]]


def test_a_cost_plan_holding_spare_capacity_is_not_ranked_by_its_present_cost(lab_runs, tmp_path):
    """A lab holds spare capacity by solving for more demand than it forecasts (docs/formulation.md
    §6, "Cost"): lab with 20 % more demand serves all of lab's forecast, as the cost optimum does,
    and more over the scenarios, for a higher present cost, which "lower" called worse (from a lab
    planner's review): no verdict, and a note says the shares over the scenarios differ."""
    cost, _ = lab_runs
    spare = api.edit("lab", {"market.demand_gpus.training.start": 19200,
                             "market.demand_gpus.inference.start": 4800})  # fmt: skip
    folder = api.write_solve_run(api.solve(spare, objective="cost"), spare, tmp_path / "spare")
    with pytest.warns(FleetoptWarning, match="another version of model 'lab'"):
        comp = api.compare([cost, folder], model="lab", scenarios=200, seed=7)
    a, b = comp.labels
    assert comp.figures.loc["market_demand_served", b] == pytest.approx(1.0, abs=1e-9)
    assert comp.figures.loc["demand_served_share", b] > comp.figures.loc["demand_served_share", a]
    assert comp.figures.loc["present_cost_usd", b] > comp.figures.loc["present_cost_usd", a]
    assert comp.better("present_cost_usd") == "" == comp.better("present_cost_mean_usd")
    notes = " ".join(comp.notes())
    assert "serve different shares of the market demand over the scenarios" in notes
    assert "on the forecast (" not in notes  # both serve all of it
    # a lab reads what its plans cost and serve first, then their NPVs
    first = ["present_cost_usd", "present_cost_per_h100_hour_usd", "present_cost_mean_usd",
             "present_cost_mean_se_usd", "present_cost_mean_paired_se_usd", "present_cost_p95_usd",
             "present_cost_p95_paired_se_usd", "present_cost_cvar95_usd", "present_cost_cvar95_paired_se_usd",
             "market_demand_served", "demand_served_share", "demand_served_share_paired_se",
             "shortfall_probability", "shortfall_probability_paired_se"]  # fmt: skip
    assert list(comp.figures.index[:14]) == first
    # and so do the terminal's table, the CSV and the page, which go by its rows (they kept FIGURES'
    # order, NPVs first: from a review)
    assert [key for key, _, _ in comp.rows()][:14] == first
    text = comp.to_markdown()
    assert text.index("present cost on the forecast") < text.index("NPV on the forecast")


def test_an_evaluation_of_a_cost_plan_says_what_its_npv_counts(lab_runs, tmp_path):
    cost, npv = lab_runs
    out = tmp_path / "E"
    code, text, err = run_cli("evaluate", "--plans", str(cost), "--scenarios", "20", "--out", str(out),
                              "--report")  # fmt: skip
    assert code == 0, err
    assert "solved for least cost" in text
    assert json.loads((out / "summary.json").read_text())["plans_objective"] == "cost"
    assert "solved for least cost" in (out / "report.html").read_text()
    code, text, _ = run_cli("evaluate", "--plans", str(npv), "--scenarios", "20", "--out", f"{tmp_path}/N")
    assert code == 0 and "least cost" not in text
    assert json.loads((tmp_path / "N" / "summary.json").read_text())["plans_objective"] == "npv"


def test_the_evaluator_serves_the_demand_compare_computes_on_the_forecast(lab_runs, tmp_path):
    """lab's two plans run on the forecast (a deterministic evaluation) serve the shares of the
    demand that compare computes from their plans (the cost plan all of it, so no shortfall); over
    scenarios the cost plan falls short where demand runs above the forecast, and the C build of the
    kernel serves the same demand as NumPy. The evaluation of a cost plan prints the demand served."""
    from fleetopt.compare.plan_figures import market_demand_served
    from fleetopt.evaluate.backend import c_compiler
    from fleetopt.evaluate.batch import compile_plans
    from fleetopt.evaluate.engine import evaluate
    from fleetopt.evaluate.sources import read_plans

    _, data = api.load("lab")
    plans = [read_plans(folder, data).plans[0] for folder in lab_runs]
    batch = compile_plans(data, plans, ["cost", "npv"])
    forecast = evaluate(data, batch, 1, 0, backend="numpy", deterministic=True).metrics
    np.testing.assert_allclose(forecast["demand_served_share"], market_demand_served(data, batch), rtol=1e-12)
    assert forecast["demand_served_share"].iloc[0] == pytest.approx(1.0, abs=1e-12)
    assert forecast["shortfall_probability"].tolist() == [0.0, 1.0]
    numpy = evaluate(data, batch, 300, 4, backend="numpy").metrics
    assert 0 < numpy["shortfall_probability"].iloc[0] < 1
    assert 0.5 < numpy["demand_served_share"].iloc[0] < 1.0
    if c_compiler() is not None:
        built = evaluate(data, batch, 300, 4, backend="cpu-kernel").metrics
        for column in ("demand_served_share", "unserved_demand_mean_gpu_quarters", "shortfall_probability"):
            np.testing.assert_allclose(built[column], numpy[column], rtol=1e-12, err_msg=column)
    code, text, err = run_cli("evaluate", "--plans", str(lab_runs[0]), "--scenarios", "300", "--seed", "4",
                              "--out", str(tmp_path / "E"))  # fmt: skip
    assert code == 0, err
    short, served = (f"{numpy[c].iloc[0]:.1%}" for c in ("shortfall_probability", "demand_served_share"))
    per_quarter = whole_count(numpy["unserved_demand_mean_gpu_quarters"].iloc[0] / data.T, "up")  # GPUs short
    rows = [line for line in text.splitlines() if "milp" in line and short in line and served in line]
    assert rows and per_quarter in rows[0], text
    # a lab planner reads what the plan serves first, its NPV (its own use valued at market prices) after
    assert text.index("the demand served") < text.index("the plan over the scenarios"), text


def test_each_solve_is_compared_with_its_own_policy_buffer(tmp_path):
    """Two solves of tiny that differ only in `policy.liquidity_buffer_usd` were both run with the
    first run's buffer: "the same plan", equal figures, and a comparison that changed with the order
    of the runs. A solve's plan file keeps its model's buffer, which every reader runs it with."""
    from fleetopt.errors import FleetoptWarning
    from fleetopt.evaluate.planfile import PlanFileReader

    b0 = api.write_solve_run(api.solve("tiny"), out=tmp_path / "b0")
    buffered = api.edit("tiny", {("policy", "liquidity_buffer_usd"): 20e6})
    b20 = api.write_solve_run(api.solve(buffered), out=tmp_path / "b20")
    assert PlanFileReader(b20 / "plan.npz", api.load("tiny")[1]).buffers == [20e6]
    with pytest.warns(FleetoptWarning, match="b20 keep the policy cash buffer recorded with them"):
        one = api.compare([b0, b20], scenarios=100, seed=1).figures.drop(index=PAIRED, errors="ignore")
    with pytest.warns(FleetoptWarning, match="b0 keep the policy cash buffer recorded with them"):
        other = api.compare([b20, b0], scenarios=100, seed=1).figures.drop(index=PAIRED, errors="ignore")
    pd.testing.assert_frame_equal(one, other[one.columns])
    # the buffer never cuts the prepayments the borrowing base needs, all of them on the forecast:
    # the same forecast run, no breach
    assert one.loc["forecast_breach"].tolist() == [0.0, 0.0]
    assert one.loc["npv_forecast_usd", "b20: milp"] == one.loc["npv_forecast_usd", "b0: milp"]
    # evaluated under the buffered model, the plan made without one keeps its own, and is told so
    with pytest.warns(FleetoptWarning, match=r"keep the policy cash buffer recorded with them \(\$0 above "
                      r"finance.min_cash_usd; made under a model whose buffer was \$0\), not this model's "
                      r"\$20.0M: a plan's buffer"):  # fmt: skip
        evaluation, _, _ = api.evaluate(b0, buffered, deterministic=True)
    assert evaluation.metrics["npv_mean_usd"][0] == pytest.approx(one.loc["npv_forecast_usd", "b0: milp"])


def test_plans_of_which_some_record_no_buffer_are_told_apart(tmp_path):
    """A sweep's plan file from before every candidate kept its buffer records null for those that
    set none: they take the evaluating model's buffer, and the warning said all the plans kept
    theirs."""
    import shutil

    from fleetopt.core.plan import plan_axes
    from fleetopt.errors import FleetoptWarning
    from fleetopt.evaluate.planfile import plans_npz_bytes

    solved = api.solve("tiny")
    loaded, _ = api.load("tiny")
    folder = tmp_path / "old-sweep"
    folder.mkdir()
    shutil.copy(TINY_PATH, folder / "model.yaml")
    (folder / "plans.npz").write_bytes(plans_npz_bytes(
        [solved.plan, solved.plan], ["milp", "milp, buffer"], "tiny", loaded.content_hash, [None, 30e6],
        plan_axes(solved.data)))  # fmt: skip
    buffered = api.edit("tiny", {("policy", "liquidity_buffer_usd"): 20e6})
    said = r"1 of 2 of the plans keep the policy cash buffer recorded with them \(\$30.0M above "
    with pytest.warns(FleetoptWarning, match=said + r".*not this model's \$20.0M; the other 1 run with this"):
        job = api.prepare_evaluation(folder / "plans.npz", buffered, scenarios=10)
    assert job.batch.liquidity_buffer.tolist() == [20e6, 30e6]


def test_a_wide_comparison_splits_into_tables_that_keep_every_figure_whole():
    """Six plans and five differences on a 120-column terminal cut every figure short ('$18.6…',
    '-$3.6…': B or M unreadable). The figure columns now go into as many tables as the width
    needs, each with the figure names and 'better', every figure whole, no line past the edge."""
    from rich.console import Console

    from fleetopt.cli.render.compare import ColumnGroups

    labels = [f"milp: stress number {n}" for n in range(6)] + [f"plan {n} − plan 0" for n in range(1, 6)]
    rows = [("NPV on the forecast", [f"-${n + 10}.69B" for n in range(11)], "higher"),
            ("P(covenant breach)", [f"{n + 60}.5%" for n in range(11)], "lower")]  # fmt: skip
    table = ColumnGroups("plans on 200 common scenarios", "the notes", "figure", labels, rows, "better")
    for width in (80, 120):
        console = Console(width=width, record=True, color_system=None)
        console.print(table)
        text = console.export_text()
        assert max(len(line) for line in text.splitlines()) <= width
        assert "…" not in text
        for _, cells, _ in rows:
            assert all(cell in text for cell in cells)
        parts = len(table.groups(width))
        assert parts > 1 and text.count(" of ") >= parts and text.count("the notes") == 1


def test_a_table_of_differences_alone_has_no_blank_rows():
    """Two plans and their difference in two tables (the default model's at 120 columns, these at
    70): the second, of the difference alone, had a row for every standard error and yes/no figure
    with nothing in it (16 blank rows on the default model). Such a row is now only in the table
    where it has a figure."""
    from rich.console import Console

    from fleetopt.cli.render.compare import ColumnGroups

    labels = ["base-risk: milp", "mine: milp, purchases fixed (my-orders.csv)",
              "mine: milp, purchases fixed (my-orders.csv) − base-risk: milp"]  # fmt: skip
    name = "mean NPV minus the first plan's: standard error, a name long enough to want its room"
    rows = [("mean NPV, over the scenarios, of the equity cash flows and the equity left at the end",
             ["$12.63B", "$8.46B", "-$4.17B"], "higher"),
            (name, ["—", "$695.4M", ""], "")]  # fmt: skip
    table = ColumnGroups("2 plans", "", "figure", labels, rows, "better")
    assert table.groups(70) == [[0, 1], [2]]
    console = Console(width=70, record=True, color_system=None)
    console.print(table)
    first, second = console.export_text().split("(2 of 2)")
    assert "-$4.17B" in second and "$695.4M" in first
    assert "standard error" in first and "standard error" not in second, second


# ---------------------------------------------------------------- what the plans differ in


def test_gpus_moved_to_another_site_show_as_a_difference_at_each_site():
    """One block of the first SKU bought at the second site instead of the first (neocloud has
    several): the table summed the sites and said "(no differences)"; now -1 block at the one and
    +1 block at the other, in GPUs."""
    data = api.load("neocloud")[1]
    first, moved = Plan.empty(data), Plan.empty(data)
    first.buy_blocks[0, 0, 2] = 1.0
    moved.buy_blocks[0, 1, 2] = 1.0
    table = purchases_against_first(data, [first, moved], ["first", "moved"])
    block = float(data.block_size[0])
    sites = [site.name for site in data.sites]
    assert table.to_dict(orient="records") == [
        {"plan": "moved", "quarter": data.quarter_labels[2], "sku": data.sku_names[0], "site": sites[0],
         "gpus_vs_first_plan": -block},
        {"plan": "moved", "quarter": data.quarter_labels[2], "sku": data.sku_names[0], "site": sites[1],
         "gpus_vs_first_plan": block},
    ]  # fmt: skip


def test_contracts_taken_and_declined_against_the_first_plan_are_named(tiny_run):
    """tiny's first contract taken by the first plan only, its second by the second plan only."""
    data = tiny_run[1].data
    names = [c.name for c in data.contracts]
    a, b, c = Plan.empty(data), Plan.empty(data), Plan.empty(data)
    a.accepted[0] = 1.0
    b.accepted[1] = 1.0
    c.accepted[0] = 1.0
    assert contracts_against_first(data, [a, b, c], ["a", "b", "c"]) == [("b", [names[1]], [names[0]])]


def test_the_tail_differences_errors_by_resampling_and_by_influence_values():
    """Two scenarios: k = 1, so P5 and CVaR5 are each plan's worst NPV, and neither difference has an
    error (NaN, n/a): CVaR5's influence values, psi = q + min(x - q, 0) / (k/S) - CVaR (formulation
    §7b), would be 0 whatever the plans (q = CVaR), and a bootstrap of the worst NPV called a sweep's
    P5 lead of one scenario "beyond two standard errors". P5's error by the bootstrap on 40
    scenarios (k = 2, P5 the second worst): A earns 0 in all, B 10 but 0 in one; a resample's
    difference is 0 where it draws that scenario twice or more (probability 1 - (39/40)^40 - 40 x
    (1/40)(39/40)^39 = 0.2642), else 10, so its standard deviation is 10 x sqrt(0.2642 x 0.7358) =
    4.41, which 200 resamples estimate. CVaR5's error on 40
    scenarios, A all 0 and B 0 but -10 and -30: k = 2, B's CVaR -20 and q -10, so psi_B is
    -10 + 20 x min(x + 10, 0) + 20: -390 for the -30, 10 for the 39 others (mean 0); its sample
    variance is (390^2 + 39 x 10^2) / 39 = 4,000, and the error sqrt(4,000 / 40) = 10. A plan that
    is the first plus a constant differs by that constant in every resample and influence value: 0."""
    one = paired_tail_errors(np.array([0.0, 0.0]), np.array([0.0, 10.0]), 1)
    assert set(one) == {"npv_p5_paired_se_usd", "npv_cvar5_paired_se_usd"}
    assert all(np.isnan(v) for v in one.values())
    b = np.full(40, 10.0)
    b[0] = 0.0
    errors = paired_tail_errors(np.zeros(40), b, 1)
    assert 3.8 < errors["npv_p5_paired_se_usd"] < 4.9
    b = np.zeros(40)
    b[:2] = (-10.0, -30.0)
    assert paired_tail_errors(np.zeros(40), b, 1)["npv_cvar5_paired_se_usd"] == pytest.approx(10.0, rel=1e-12)
    b = np.full(40, 10.0)
    b[0] = 0.0
    again = paired_tail_errors(np.zeros(40), b, 1)  # a fixed seed
    assert again["npv_p5_paired_se_usd"] == errors["npv_p5_paired_se_usd"]
    base = np.random.default_rng(1).normal(0, 1e9, 500)
    shifted = paired_tail_errors(base, base + 2.5e8, 1)
    assert shifted == pytest.approx({k: 0.0 for k in shifted}, abs=1e-6)
    assert all(np.isnan(v) for v in paired_tail_errors(base, base, 0).values())  # the first plan itself


# ---------------------------------------------------------------- the plans' names


def test_labels_name_the_plans_compared_one_each_in_order(tiny_run):
    """`--label base --label mine`: the plans' columns and the difference are headed by them (before,
    a folder's name and its plan's label, 'R: milp, purchases fixed', wrapped over five lines)."""
    folder = tiny_run[0]
    comp = api.compare([folder, folder], scenarios=50, labels=["base", "mine"])
    assert comp.labels == ["base", "mine"] and comp.difference_headers() == ["mine − base"]
    code, out, err = run_cli("compare", str(folder), str(folder), "--scenarios", "50", "--label", "base",
                             "--label", "mine")  # fmt: skip
    assert code == 0, err
    assert "mine − base" in out


@pytest.mark.parametrize(
    "labels, message",
    [(["only one"], "labels (--label): 1 given for 2 plans to compare"),
     (["a", "a"], "labels (--label) must be unique: a given more than once"),
     (["a", " "], "labels (--label) must not be empty"),
     ("ab", "labels must be a list of names, one per plan"),
     (["a", "b\nc"], "labels (--label) must be one line of text, without control characters (got 'b\\nc')"),
     (["a\x1b[31m", "b"], "labels (--label) must be one line of text, without control characters")],
)  # fmt: skip
def test_labels_that_do_not_name_each_plan_once_are_refused(tiny_run, labels, message):
    """A label with a newline split its row of the Markdown tables in two (a broken table), and an
    escape sequence in one was written to the terminal as it was, recolouring what followed."""
    folder = tiny_run[0]
    with pytest.raises(InputError, match=re.escape(message)):
        api.compare([folder, folder], scenarios=50, labels=labels)


def test_the_command_names_a_label_refused_by_its_option_alone(tiny_run):
    """`compare A B --label a` said "labels (--label): 1 given ...", the API's argument beside the
    option: the command names its option once, as typed."""
    folder = str(tiny_run[0])
    code, out, err = run_cli("compare", folder, folder, "--scenarios", "5", "--label", "a", "--label", "a")
    assert code == 2 and out == "" and err == "error: --label must be unique: a given more than once\n", err


# ---------------------------------------------------------------- the HTML page


def test_an_html_comparison_shows_every_figure_its_differences_and_charts(tiny_run):
    """The page holds the Comparison's own cells: each figure's row, each difference coloured by
    whether it is better for the company (a higher mean NPV green, a higher breach probability red),
    the notes, the NPV histogram and the per-scenario difference's, the purchases and the peak MW."""
    _, result, _ = tiny_run
    data = result.data
    comp = compare_plans(data, [result.plan, altered(data, result.plan)], ["optimum", "mine<b>"], 200, 3)
    html = api.comparison_html(comp)
    assert html.startswith("<!doctype html>") and "<title>fleetopt comparison" in html
    assert "mine&lt;b&gt;" in html and "mine<b>" not in html  # labels escaped
    # a printed page's bottom margin names the comparison (a page read apart from the first)
    margin = "fleetopt comparison: model not recorded, 2 plans on 200 common scenarios (seed 3), written "
    assert f'@bottom-left{{content:"{margin}' in html
    assert html.index("<h2>In short</h2>") < html.index("<h2>Figures</h2>")  # the verdict first
    assert f"<li>{escape(comp.verdicts()[0])}.</li>" in html
    # a mailed page defines its figures as a run's report does, with the comparison's own words
    assert "<h2>Definitions</h2>" in html and "<dt>P5 and CVaR5</dt>" in html and "<dt>pp</dt>" in html
    # what a colour claims: beyond two paired errors only where the figure has one (a red first-breach
    # share of +0.1 pp, with no error, was read as a difference beyond chance)
    assert "<dt>green, red</dt>" in html and "one with no paired error is not coloured" in html
    assert "<dt>no paired error</dt>" in html and "median NPV; P95 NPV;" in html
    for _, name, _ in comp.rows():
        assert f"<td class='text'>{escape(name)}</td>" in html, name
    rows = {re.sub("<[^>]+>", "|", row).split("|")[1]: row for row in html.split("<tr>")[1:] if "<td" in row}
    for key, better in (("npv_mean_usd", "higher"), ("breach_probability", "lower")):
        name = escape(next(n for k, n, _ in comp.rows() if k == key))
        change = comp.figures.loc[key, "mine<b>"] - comp.figures.loc[key, "optimum"]
        want = ("good" if (change > 0) == (better == "higher") else "bad") if abs(change) > 1e-9 else None
        if want:
            assert f"<td class='{want}'>" in rows[name], (key, change)
    assert "NPV over the common scenarios" in html and "mine&lt;b&gt; − optimum, scenario by scenario" in html
    assert html.count('<svg class="chart wide"') == 2  # each chart is drawn wide and narrow
    assert "Purchases against optimum" in html and "Peak MW needed by site" in html
    for note in comp.notes():
        assert escape(note) in html
    # a difference within two paired standard errors is neither green nor red, and says so: the
    # mean NPV's difference set to 1.5 of its error, the CVaR5's to 2.5 (coloured, as before)
    for key, error, times in (("npv_mean_usd", "npv_mean_paired_se_usd", 1.5),
                              ("npv_cvar5_usd", "npv_cvar5_paired_se_usd", 2.5)):  # fmt: skip
        figures = comp.figures
        figures.loc[key, "mine<b>"] = figures.loc[key, "optimum"] + times * figures.loc[error, "mine<b>"]
    page = api.comparison_html(comp)
    cells = {re.sub("<[^>]+>", "|", row).split("|")[1]: row for row in page.split("<tr>")[1:]}
    mean, cvar = cells["mean NPV"], cells["CVaR5 NPV"]
    assert "(within 2 s.e.)" in mean and "class='good'" not in mean and "class='bad'" not in mean
    assert "(within 2 s.e.)" not in cvar and "class='good'" in cvar
    # without a standard error (NaN: a CVaR5 on 20 scenarios or fewer, whose tail is one scenario) a
    # difference is neither green nor red either, as "In short" says "without a standard error": the
    # page coloured it green, "better", the one scenario deciding it
    comp.figures.loc["npv_cvar5_paired_se_usd", "mine<b>"] = np.nan
    cvar = {re.sub("<[^>]+>", "|", row).split("|")[1]: row
            for row in api.comparison_html(comp).split("<tr>")[1:]}["CVaR5 NPV"]  # fmt: skip
    assert "class='good'" not in cvar and "class='bad'" not in cvar, cvar
    assert "without a standard error: CVaR5 NPV" in comp.verdict(1)
    # a plan the same as the first in every scenario: said, not a histogram of zeros scaled to 125 %
    same = api.comparison_html(compare_plans(data, [result.plan, result.plan], ["optimum", "again"], 50, 3))
    assert same.count('<svg class="chart wide"') == 1  # each chart is drawn wide and narrow
    assert "again: the same NPV as optimum in every scenario." in same


def test_an_html_comparison_s_figure_names_wrap_and_a_wide_one_says_to_scroll(tiny_run):
    """The figures' names wrap in a column of 11em to 30em (on one line the longest made it ~1000 px
    wide), and its cells at their spaces; a comparison of more plans than fit a 1280 px page says to
    scroll its Figures sideways, as the report's candidates table does, and one of three plans does
    not."""
    _, result, _ = tiny_run
    data, plan = result.data, result.plan
    other = altered(data, plan)
    three = api.comparison_html(compare_plans(data, [plan, other, plan], ["a", "b", "c"], 20, 3))
    # its cells wrap at their spaces too, below names of at least 11em (18em, with cells on one line:
    # three plans of the default model's size put C − A and 'better' behind the scroll at 1024 px;
    # rendered by headless Chromium at 1024 and 1400 px, they fit)
    assert "table.figures td{white-space:normal}table.figures td:first-child{min-width:11em;max-width:30em}" \
        in three
    assert "<table class='figures'>" in three and "scroll the table sideways" not in three
    four = api.comparison_html(compare_plans(data, [plan, other, plan, other], ["a", "b", "c", "d"], 20, 3))
    figures = four[four.index("<h2>Figures</h2>") : four.index("<table class='figures'>")]
    assert "<p class='cap hint'>9 columns: scroll the table sideways to see them all.</p>" in figures


def test_compare_format_html_writes_the_page_to_standard_output(tiny_run):
    folder = tiny_run[0]
    code, out, err = run_cli("compare", str(folder), str(folder), "--scenarios", "20", "--format", "html")
    assert code == 0, err
    assert out.startswith("<!doctype html>") and out.rstrip().endswith("</html>")


# ---------------------------------------------------------------- solve results in memory


def test_solve_results_are_compared_without_writing_them(tiny_run, tmp_path):
    """A notebook's `fo.compare([a, b])` of two solves was refused with a registry error: now their
    plans are compared under their model, as the same plans written as runs are."""
    folder = tiny_run[0]
    free = api.solve("tiny")
    later = api.solve("tiny", purchases=_later_orders(tmp_path))
    comp = api.compare([free, later], scenarios=100, seed=2)
    assert comp.labels == ["milp", "milp, purchases fixed (later-orders.csv)"]
    assert comp.runs == ["(in memory: not written)"] * 2 and comp.model.name == "tiny"
    named = api.compare([free, free], scenarios=100, seed=2, labels=["a", "b"])
    assert named.labels == ["a", "b"]
    assert api.compare([free, free], scenarios=100, seed=2).labels == ["milp", "milp (2)"]
    # the same plans written as runs: the same figures
    written = api.compare([api.write_solve_run(free), api.write_solve_run(later)], scenarios=100, seed=2)
    np.testing.assert_array_equal(comp.figures.to_numpy(), written.figures.to_numpy())
    with pytest.raises(InputError, match="not both"):
        api.compare([free, folder], scenarios=100)
    given = api.compare([free, later], "tiny", scenarios=100, seed=2)  # their own model, given
    np.testing.assert_array_equal(given.figures.to_numpy(), comp.figures.to_numpy())


def test_what_if_solves_of_edited_models_are_compared_under_the_model_given(tmp_path):
    """The notebook's first experiment, a solve of tiny and one with the optional contract's price
    cut, was refused ("of one model"): under model= both plans are evaluated under it, as the
    runs written and compared with model= are, with a warning for the plan of the other version."""
    edited = api.edit("tiny", {"contracts.enterprise-inference.price_usd_per_gpu_hour": 2.0})
    base, cheap = api.solve("tiny"), api.solve(edited)
    with pytest.raises(InputError, match=r"different versions of model .tiny. .*: give model="):
        api.compare([base, cheap], scenarios=50)
    other = (r"the plans of the solve 'base' were made from another version of model 'tiny' "
             r"\(hash \w+, now \w+; blocks that differ: contracts: "
             r"contracts.enterprise-inference.price_usd_per_gpu_hour was [\d.]+, now 2.0\)")
    with pytest.warns(FleetoptWarning, match=other):
        comp = api.compare([base, cheap], edited, scenarios=50, seed=3, labels=["base", "cheap"])
    assert comp.model.hash == edited.content_hash and len(comp.versions) == 1
    runs = [api.write_solve_run(result, out=tmp_path / name) for result, name in ((base, "b"), (cheap, "c"))]
    with pytest.warns(FleetoptWarning):
        written = api.compare(runs, edited, scenarios=50, seed=3, labels=["base", "cheap"])
    np.testing.assert_array_equal(comp.figures.to_numpy(), written.figures.to_numpy())
    # each plan keeps its own model's cash buffer, as its run's plan file does (in memory, the plan
    # solved under a buffer of 0 was evaluated with the edited model's $50M)
    buffered = api.edit("tiny", {"policy.liquidity_buffer_usd": 50e6})
    buffered_solve = api.solve(buffered)  # it cuts nothing on the forecast: the base needs it all
    base_run = tmp_path / "b"
    with pytest.warns(FleetoptWarning, match=r"keep the policy cash buffer recorded with them \(\$0 above"):
        in_memory = api.compare([base, buffered_solve], buffered, scenarios=50, seed=3, labels=["a", "b"])
    runs = [base_run, api.write_solve_run(buffered_solve, out=tmp_path / "buffered")]
    with pytest.warns(FleetoptWarning):
        written = api.compare(runs, buffered, scenarios=50, seed=3, labels=["a", "b"])
    np.testing.assert_array_equal(in_memory.figures.to_numpy(), written.figures.to_numpy())
    # a plan of a model with other items is refused, naming it
    fewer = api.edit("tiny", {"contracts.enterprise-inference": None})
    with pytest.raises(InputError, match=r"the plan 'base' does not fit the model given"):
        api.compare([base, cheap], fewer, scenarios=50, labels=["base", "cheap"])


def _later_orders(folder) -> Path:
    path = folder / "later-orders.csv"
    path.write_text("quarter,sku,site,gpus\n2026Q4,B200,texas,2000\n")
    return path


def test_a_report_does_not_replace_a_comparison_page(tiny_run, tmp_path):
    """`fleetopt report RUN --out c.html` replaced a comparison page silently (both are fleetopt
    HTML); each command now replaces only its own output."""
    folder = tiny_run[0]
    page = tmp_path / "c.html"
    assert run_cli("compare", str(folder), str(folder), "--scenarios", "20", "--out", str(page))[0] == 0
    code, _, err = run_cli("report", str(folder), "--out", str(page))
    assert code == 2 and "is a comparison fleetopt wrote, not a report" in " ".join(err.split()), err
    assert "<title>fleetopt comparison" in page.read_text()


def test_the_probabilities_differences_have_paired_errors():
    """Breaches in scenarios 3-4 for the first plan, 2-3 for the other: differences (0, 1, 0, -1),
    mean 0, sample variance 2/3, error sqrt(2/3 / 4) = 0.408 (40.82 pp); no default in either: 0.
    The breaches uncured in scenario 4 for the first and 2 for the other, where the other also
    defaults in scenario 1: any default (0, 0, 0, 1) against (1, 1, 0, 0), differences (1, 1, 0, -1),
    mean 1/4, sample variance (9/16 + 9/16 + 1/16 + 25/16) / 3 = 11/12, error sqrt(11/12 / 4) = 0.4787;
    the uncured breaches alone (0, 1, 0, -1), as the breaches: 0.408."""
    breach = np.array([[0, 0, 1, 1], [0, 1, 1, 0]], dtype=bool)
    no_demand = np.full((2, 4), np.nan)  # a model without market demand: its figures have no error
    outcomes = {"breach": breach, "default": np.zeros((2, 4), bool),
                "uncured_breach": np.array([[0, 0, 0, 1], [0, 1, 0, 0]], dtype=bool),
                "demand_share": no_demand, "demand_short": no_demand}  # fmt: skip
    errors = paired_share_errors(outcomes, 1)
    assert np.isnan(errors["demand_served_share_paired_se"])
    assert np.isnan(errors["shortfall_probability_paired_se"])
    assert errors["breach_probability_paired_se"] == pytest.approx((2 / 3 / 4) ** 0.5, rel=1e-12)
    assert errors["default_probability_paired_se"] == 0.0
    assert errors["uncured_breach_probability_paired_se"] == pytest.approx((2 / 3 / 4) ** 0.5, rel=1e-12)
    outcomes["default"] = np.array([[0, 0, 0, 0], [1, 0, 0, 0]], dtype=bool)
    errors = paired_share_errors(outcomes, 1)
    assert errors["any_default_probability_paired_se"] == pytest.approx((11 / 12 / 4) ** 0.5, rel=1e-12)
    assert all(np.isnan(v) for v in paired_share_errors(outcomes, 0).values())
    assert format_figure(errors["breach_probability_paired_se"], "pp") == "40.82 pp"


def test_p_npv_below_zero_has_a_paired_error_as_the_other_probabilities():
    """P(NPV < 0) was coloured green or red with no error (the default model's 3/4-Rubin plan read
    "-0.6 pp" green): losses in scenarios 1 and 3 for the first plan, 3 and 4 for the other:
    differences (-1, 0, 0, 1), mean 0, sample variance 2/3, error sqrt(2/3 / 4) = 40.82 pp, within
    two errors of the 0 difference; none for the first plan."""
    npv = np.array([[-1.0, 2.0, -3.0, 4.0], [1.0, 2.0, -3.0, -4.0]])
    assert np.isnan(paired_loss_error(npv, 0))
    assert paired_loss_error(npv, 1) == pytest.approx((2 / 3 / 4) ** 0.5, rel=1e-12)
    figures = pd.DataFrame({"A": [0.5, np.nan], "B": [0.5, paired_loss_error(npv, 1)]},
                           index=["loss_probability", "loss_probability_paired_se"])  # fmt: skip
    empty = pd.DataFrame()
    comp = Comparison(["A", "B"], figures, empty, empty, empty, 4, 0)
    assert comp.difference_shown("loss_probability", [0.5, 0.5], "share", 1) == "0.0 pp (within 2 s.e.)"
    assert not comp.judged("loss_probability", 1)


def test_the_other_means_over_the_scenarios_have_paired_errors_by_hand():
    """compare coloured the mean lowest cash, the NPV with limited liability and the debt left
    uncovered by direction alone, with no error behind them. Four scenarios: lowest cash 10, 20, 30,
    40 against 12, 18, 35, 40: differences (2, -2, 5, 0), mean 1.25, squares about it 0.5625 +
    10.5625 + 14.0625 + 1.5625 = 26.75, error sqrt(26.75 / 3 / 4) = 1.4930; the NPV with limited
    liability -1, 2, 3, 4 against 0, 2, 3, 4: (1, 0, 0, 0), error sqrt(0.75 / 3 / 4) = 0.25; debt
    left uncovered 100 in the third scenario against none: (0, 0, -100, 0), error sqrt(7,500 / 3 /
    4) = 25; utilisation 0.5 throughout against 0.6, 0.4, 0.6, 0.4: sqrt(0.04 / 3 / 4) = 5.77 pp;
    the same NPV if lenders accelerate and uncovered debt at an uncured breach: 0; none for the
    first plan."""
    hand = {"min_cash": ([10, 20, 30, 40], [12, 18, 35, 40]), "npv_limited": ([-1, 2, 3, 4], [0, 2, 3, 4]),
            "npv_accelerated": ([1, 2, 3, 4], [1, 2, 3, 4]), "uncovered_debt": ([0, 0, 100, 0], [0, 0, 0, 0]),
            "uncovered_debt_at_uncured_breach": ([0] * 4, [0] * 4),
            "utilisation": ([0.5] * 4, [0.6, 0.4, 0.6, 0.4])}  # fmt: skip
    outcomes = {name: np.array(rows, dtype=np.float64) for name, rows in hand.items()}
    errors = paired_mean_errors(outcomes, 1)
    assert errors == pytest.approx({
        "expected_min_cash_paired_se_usd": (26.75 / 12) ** 0.5, "npv_limited_mean_paired_se_usd": 0.25,
        "npv_accelerated_mean_paired_se_usd": 0.0, "uncovered_debt_mean_paired_se_usd": 25.0,
        "uncovered_debt_at_uncured_breach_mean_paired_se_usd": 0.0,
        "mean_utilisation_paired_se": (0.04 / 12) ** 0.5}, rel=1e-12)  # fmt: skip
    assert all(np.isnan(e) for e in paired_mean_errors(outcomes, 0).values())
    # the lowest cash up 1.25 with an error of 1.49: within two errors, not coloured; up 4: beyond
    # them, green; the median, which has no paired error, up 4 too: never coloured
    rows = ["expected_min_cash_usd", "expected_min_cash_paired_se_usd", "npv_median_usd"]
    figures = pd.DataFrame({"A": [25.0, np.nan, 2.5], "B": [26.25, errors[rows[1]], 6.5]}, index=rows)
    empty = pd.DataFrame()
    comp = Comparison(["A", "B"], figures, empty, empty, empty, 4, 0)
    assert comp.difference_shown(rows[0], [25.0, 26.25], "USD", 1).endswith(" (within 2 s.e.)")
    assert not comp.judged(rows[0], 1) and not comp.judged("npv_median_usd", 1)
    comp.figures.loc[rows[0], "B"] = 29.0
    assert comp.judged(rows[0], 1) and "s.e." not in comp.difference_shown(rows[0], [25.0, 29.0], "USD", 1)


def test_the_means_errors_are_those_of_the_scenarios_values(tiny_run):
    """compare's paired error of the mean lowest cash is that of its evaluation's own per-pair
    values, whose means are the figures."""
    _, result, _ = tiny_run
    data = result.data
    comp = compare_plans(data, [result.plan, altered(data, result.plan)], ["a", "b"], 200, 3)
    again = evaluate(data, compile_plans(data, [result.plan, altered(data, result.plan)], ["a", "b"]), 200, 3,
                     keep_outcomes=True).outcomes["min_cash"]  # fmt: skip
    assert comp.figures.loc["expected_min_cash_usd", "b"] == pytest.approx(again[1].mean(), rel=1e-12)
    expected = (again[1] - again[0]).std(ddof=1) / np.sqrt(200)
    assert comp.figures.loc["expected_min_cash_paired_se_usd", "b"] == pytest.approx(expected, rel=1e-12)


def test_the_loss_probability_error_is_that_of_the_scenarios_npvs(tiny_run):
    """compare's row of P(NPV < 0)'s paired error is that of its own NPV matrix's 0/1 losses."""
    _, result, _ = tiny_run
    data = result.data
    comp = compare_plans(data, [result.plan, altered(data, result.plan)], ["a", "b"], 200, 3)
    loss = (comp.npv_matrix < 0).astype(float)
    expected = (loss[1] - loss[0]).std(ddof=1) / np.sqrt(200)
    assert comp.figures.loc["loss_probability_paired_se", "b"] == pytest.approx(expected, rel=1e-12)
    assert np.isnan(comp.figures.loc["loss_probability_paired_se", "a"])
    assert comp.figures.loc["loss_probability", "b"] == pytest.approx(loss[1].mean(), rel=1e-12)


def test_the_probabilities_errors_are_shares_in_the_files_and_points_in_the_tables(tiny_run):
    """The CSV said unit pp beside a share (0.0204 for 2.04 pp): a file reader was off by 100."""
    _, result, _ = tiny_run
    data = result.data
    comp = compare_plans(data, [result.plan, altered(data, result.plan)], ["a", "b"], 200, 3)
    figures = comp.tables()["figures"].set_index("figure")
    error = figures.loc["breach_probability_paired_se", "b"]
    assert figures.loc["breach_probability_paired_se", "unit"] == "share" and 0 < error < 1
    shown = comp.cell("breach_probability_paired_se", [np.nan, error], "share", 1)
    assert shown == f"{error * 100:.2f} pp"
    # the flags are the evaluation's own: their means are its probabilities, exactly
    batch = compile_plans(data, [result.plan, altered(data, result.plan)], ["a", "b"])
    ev = evaluate(data, batch, 200, 3, backend="numpy", keep_outcomes=True, plan_chunk=1)
    for name, column in (("breach", "breach_probability"), ("default", "default_probability")):
        np.testing.assert_array_equal(ev.outcomes[name].mean(axis=1), ev.metrics[column].to_numpy())


def test_the_npv_with_limited_liability_is_compared_where_it_differs(neocloud_solved):
    """The default model's forecast optimum defaults in about 30 % of its futures: compare gives
    its NPV with limited liability beside the NPV (higher is better), each the mean over the same
    scenarios as metrics.csv's; tiny's, which never defaults, leaves the rows out (above)."""
    from fleetopt.evaluate.metrics import LIMITED_LIABILITY

    comparison = api.compare([neocloud_solved, neocloud_solved], None, scenarios=200, seed=7,
                             labels=["a", "b"])  # fmt: skip
    figures = comparison.figures
    assert set(LIMITED_LIABILITY) <= set(figures.index)
    mean, limited = figures.loc["npv_mean_usd", "a"], figures.loc["npv_limited_mean_usd", "a"]
    assert limited > mean  # the holes below the shareholders' floor are the lenders'
    assert figures.loc["npv_limited_cvar5_usd", "a"] > figures.loc["npv_cvar5_usd", "a"]
    assert all(BETTER[name] == "higher" for name in LIMITED_LIABILITY)


def test_a_plan_named_as_a_column_of_the_figures_table_is_refused_or_renamed(tmp_path):
    """A plan labelled 'unit' made `tables()` fail inside pandas, and one labelled 'b − a'
    overwrote the difference b − a with its own figures: a label given is refused, one taken from
    a run folder's name is numbered, as a repeated one is."""
    for label in ("unit", "figure", "better", "b − a"):
        with pytest.raises(InputError, match="names a column of the comparison's figures table"):
            api.compare([tmp_path / "a", tmp_path / "b"], labels=["x", label])
    assert unique_labels(["unit", "x", "figure", "b − a"]) == ["unit (1)", "x", "figure (3)", "b - a"]


def test_the_verdict_says_which_figures_are_better_worse_or_within_noise():
    """B against A: mean NPV +$600,000 with a paired error of $100,000 (better), CVaR5 -$50,000 with
    $40,000 (within two errors), P(covenant breach) +3 points with 0.5 (worse), P(liquidity default)
    -2 points with 0.5 (better); C against A: better in all four."""
    from fleetopt.compare.comparison import Comparison

    figures = pd.DataFrame(
        {"A": [10e6, np.nan, -5e6, np.nan, 0.30, np.nan, 0.20, np.nan],
         "B": [10.6e6, 1e5, -5.05e6, 4e4, 0.33, 0.005, 0.18, 0.005],
         "C": [11e6, 1e5, -4e6, 4e4, 0.20, 0.005, 0.10, 0.005]},
        index=["npv_mean_usd", "npv_mean_paired_se_usd", "npv_cvar5_usd", "npv_cvar5_paired_se_usd",
               "breach_probability", "breach_probability_paired_se", "default_probability",
               "default_probability_paired_se"],
    )  # fmt: skip
    empty = pd.DataFrame()
    comp = Comparison(["A", "B", "C"], figures, empty, empty, empty, 100, 0)
    # each difference with two paired errors, how sure it is (the first screen had no error in it)
    # and each plan's level, the later plan's first (the differences alone gave a reader no scale)
    assert comp.verdict(1) == (
        "“B” against “A” (± two paired standard errors): mean NPV $10.6M against $10.0M (+$600.0k ± "
        "$200.0k), CVaR5 NPV -$5.1M against -$5.0M (-$50.0k ± $80.0k), P(covenant breach) 33.0% against "
        "30.0% (+3.0 pp ± 1.0 pp), P(liquidity default) 18.0% against 20.0% (-2.0 pp ± 1.0 pp); better in "
        "mean NPV, P(liquidity default); worse in P(covenant breach); within two standard errors: CVaR5 NPV"
    )
    assert comp.verdict(2).endswith("; better in all four")
    # since 0.4.14 P(any default) too, the default as lenders count it: C 10 points lower with 0.5
    either = pd.DataFrame({"A": [0.45, np.nan], "B": [0.45, 0.0], "C": [0.35, 0.005]},
                          index=["any_default_probability", "any_default_probability_paired_se"])  # fmt: skip
    comp = Comparison(["A", "B", "C"], pd.concat([figures, either]), empty, empty, empty, 100, 0)
    assert comp.verdict(2) == (
        "“C” against “A” (± two paired standard errors): mean NPV $11.0M against $10.0M (+$1.0M ± $200.0k), "
        "CVaR5 NPV -$4.0M against -$5.0M (+$1.0M ± $80.0k), P(covenant breach) 20.0% against 30.0% (-10.0 pp "
        "± 1.0 pp), P(liquidity default) 10.0% against 20.0% (-10.0 pp ± 1.0 pp), P(any default) 35.0% "
        "against 45.0% (-10.0 pp ± 1.0 pp); better in all five"
    )
    assert comp.verdict(1).endswith("; the same in P(any default)")
    # no difference, but an error: within two of them, as the table says '0.0 pp (within 2 s.e.)'
    # ('the same in' read as if the scenarios could not have told the plans apart)
    noisy = pd.DataFrame({"A": [0.45, np.nan], "B": [0.45, 0.003], "C": [0.35, 0.005]},
                         index=["any_default_probability", "any_default_probability_paired_se"])  # fmt: skip
    comp = Comparison(["A", "B", "C"], pd.concat([figures, noisy]), empty, empty, empty, 100, 0)
    assert "P(any default) 45.0% against 45.0% (0.0 pp ± 0.6 pp)" in comp.verdict(1)
    assert comp.verdict(1).endswith("; within two standard errors: CVaR5 NPV, P(any default)")


def test_a_mixed_verdict_says_the_trade_off_in_the_sweeps_words():
    """B against A: mean NPV $400,000 lower with a paired error of $100,000 (worse), CVaR5 NPV $1.0M
    higher with $40,000 (better): "In short" listed the two differences and left the reader to see a
    trade; it says it as the sweep says its pick's, "gives up $400.0k of mean NPV for +$1.0M of CVaR5
    NPV". C, better in both, trades nothing; nor does a difference within two errors."""
    from fleetopt.compare.comparison import Comparison

    figures = pd.DataFrame(
        {"A": [10e6, np.nan, -5e6, np.nan], "B": [9.6e6, 1e5, -4e6, 4e4], "C": [11e6, 1e5, -4e6, 4e4],
         "D": [9.9e6, 1e5, -4e6, 4e4]},
        index=["npv_mean_usd", "npv_mean_paired_se_usd", "npv_cvar5_usd", "npv_cvar5_paired_se_usd"],
    )  # fmt: skip
    empty = pd.DataFrame()
    comp = Comparison(["A", "B", "C", "D"], figures, empty, empty, empty, 100, 0)
    assert comp.verdict(1) == (
        "“B” against “A” (± two paired standard errors): mean NPV $9.6M against $10.0M (-$400.0k ± "
        "$200.0k), CVaR5 NPV -$4.0M against -$5.0M (+$1.0M ± $80.0k); better in CVaR5 NPV; worse in mean "
        "NPV; a trade-off: it gives up $400.0k of mean NPV for +$1.0M of CVaR5 NPV"
    )
    assert comp.verdict(2).endswith("; better in both")  # no trade
    assert "trade-off" not in comp.verdict(3)  # mean NPV -$100.0k within two errors of $100.0k
    # said once, where a terminal's "In short" first names it: what CVaR5 NPV is
    assert comp.verdicts()[0].startswith("“B” against “A” (± two paired standard errors): mean NPV $9.6M "
                                         "against $10.0M (-$400.0k ± $200.0k), CVaR5 NPV (the mean NPV of "
                                         "the worst 5 % of futures) -$4.0M")  # fmt: skip
    assert "worst 5 %" not in " ".join(comp.verdicts()[1:])


def test_three_plans_are_ranked_with_the_leads_paired_error():
    """Each later plan was judged against the first alone: of A, B and C nothing said which of B and C
    is better. By hand, on 4 scenarios ($M): A 10, 12, 14, 16 (mean 13, worst 10); B = A + 2, 1, 3, 2
    (mean 15, worst 12); C = A - 1 (mean 12, worst 9). By mean NPV B leads A by $2.0M; the differences
    2, 1, 3, 2 have sample variance 2/3, so the paired error is sqrt(2/3 / 4) = $408k (format_error:
    $410k); twice it, $816k, is below $2.0M: told apart. C is $1.0M below A in every scenario: no
    error. CVaR5 on 4 scenarios is the worst one: its lead has no standard error. Two plans, or plans
    solved for least cost without their per-scenario present cost, are not ranked."""
    from fleetopt.compare.comparison import Comparison

    a = np.array([10.0, 12.0, 14.0, 16.0]) * 1e6
    npv = np.vstack([a, a + np.array([2.0, 1.0, 3.0, 2.0]) * 1e6, a - 1e6])
    figures = pd.DataFrame({"A": [13e6, 10e6], "B": [15e6, 12e6], "C": [12e6, 9e6]},
                           index=["npv_mean_usd", "npv_cvar5_usd"])  # fmt: skip
    empty = pd.DataFrame()
    comp = Comparison(["A", "B", "C"], figures, empty, empty, empty, 4, 0, npv_matrix=npv)
    assert comp.rankings() == [
        "by mean NPV, “B” leads ($15.0M), then “A” ($13.0M), then “C” ($12.0M, $1.0M below “A”). It leads "
        "the runner-up, “A”, by $2.0M of mean NPV, against a standard error of the paired difference of "
        "$410k on the same 4 scenarios: beyond two standard errors, so these scenarios tell the two apart",
        "by CVaR5 NPV, “B” leads ($12.0M), then “A” ($10.0M), then “C” ($9.0M, $1.0M below “A”). It leads "
        "the runner-up, “A”, by $2.0M of CVaR5 NPV; a tail of one scenario (the worst of 4) gives that "
        "lead no standard error",
    ]
    assert comp.verdicts()[-2:] == comp.rankings()  # the last "In short" lines
    two = Comparison(["A", "B"], figures[["A", "B"]], empty, empty, empty, 4, 0, npv_matrix=npv[:2])
    assert two.rankings() == []
    comp.cost_plans = ["A"]
    assert comp.rankings() == []


def test_three_cost_plans_are_ranked_by_their_present_cost_lowest_first():
    """Three lab plans solved for least cost had no ranking (their NPVs rank nothing, and nothing ranked
    them by cost). By hand, on 4 scenarios ($M of present cost): A 10, 12, 14, 16 (mean 13, costliest
    16); B = A - 2, 1, 3, 2 (mean 11, costliest 14); C = A + 1 (mean 14, costliest 17). B costs $2.0M
    less than A on average; the differences' sample variance 2/3 gives the paired error sqrt(2/3 / 4) =
    $408k ($410k), twice it below $2.0M: told apart. C is $1.0M dearer than A in every scenario. The
    costliest 5 % of 4 scenarios is one: no standard error."""
    from fleetopt.compare.comparison import Comparison

    a = np.array([10.0, 12.0, 14.0, 16.0]) * 1e6
    cost = np.vstack([a, a - np.array([2.0, 1.0, 3.0, 2.0]) * 1e6, a + 1e6])
    figures = pd.DataFrame({"A": [13e6, 16e6], "B": [11e6, 14e6], "C": [14e6, 17e6]},
                           index=["present_cost_mean_usd", "present_cost_cvar95_usd"])  # fmt: skip
    empty = pd.DataFrame()
    comp = Comparison(["A", "B", "C"], figures, empty, empty, empty, 4, 0, cost_plans=["A", "B", "C"],
                      cost_matrix=cost)  # fmt: skip
    assert comp.rankings() == [
        "by mean present cost, “B” leads ($11.0M), then “A” ($13.0M), then “C” ($14.0M, $1.0M dearer than "
        "“A”). It costs $2.0M less on average than the runner-up, “A” (mean present cost), against a "
        "standard error of the paired difference of $410k on the same 4 scenarios: beyond two standard "
        "errors, so these scenarios tell the two apart",
        "by CVaR95 present cost, “B” leads ($14.0M), then “A” ($16.0M), then “C” ($17.0M, $1.0M dearer than "
        "“A”). It costs $2.0M less on average in the costliest 5 % of futures than the runner-up, “A” "
        "(CVaR95 present cost); a tail of one scenario (the worst of 4) gives that lead no standard error",
    ]


def test_three_plans_whose_first_two_tie_are_not_said_to_lead():
    """The same plan given twice beside a third: the first two tie, and the ranking said "“A” leads
    ($13.0M), then “A (2)” ($13.0M). It ties with the runner-up ...: neither leads" (review)."""
    from fleetopt.compare.comparison import Comparison

    a = np.array([10.0, 12.0, 14.0, 16.0]) * 1e6
    npv = np.vstack([a, a, a - 1e6])
    figures = pd.DataFrame({"A": [13e6, 10e6], "A (2)": [13e6, 10e6], "C": [12e6, 9e6]},
                           index=["npv_mean_usd", "npv_cvar5_usd"])  # fmt: skip
    empty = pd.DataFrame()
    comp = Comparison(["A", "A (2)", "C"], figures, empty, empty, empty, 4, 0, npv_matrix=npv)
    by_mean = comp.rankings()[0]
    assert by_mean.startswith("by mean NPV, “A” ($13.0M), then “A (2)” ($13.0M), then “C” ($12.0M, ")
    assert "It ties with the runner-up, “A (2)”, on mean NPV: neither leads" in by_mean
    assert "leads (" not in by_mean
    # beyond the tie's margin but within a dollar, round-off: not a lead either (review)
    figures.loc["npv_mean_usd", "A"] = 13e6 + 0.5
    comp = Comparison(["A", "A (2)", "C"], figures, empty, empty, empty, 4, 0, npv_matrix=npv)
    assert "leads (" not in comp.rankings()[0] and "round-off" in comp.rankings()[0]


def test_the_verdict_calls_nothing_better_without_an_error_or_a_figure():
    """One scenario: no paired error, so a difference is neither better nor worse; a figure missing
    (NaN) is not measured; with a plan solved for least cost the verdict reads what the plans cost
    and serve, not their market-valued NPV."""
    from fleetopt.compare.comparison import Comparison

    figures = pd.DataFrame(
        {"A": [10e6, np.nan, -5e6, np.nan, 1e9, 0.5, 0.9],
         "B": [11e6, np.nan, np.nan, np.nan, 0.9e9, 0.4, 0.9]},
        index=["npv_mean_usd", "npv_mean_paired_se_usd", "npv_cvar5_usd", "npv_cvar5_paired_se_usd",
               "present_cost_usd", "present_cost_per_h100_hour_usd", "market_demand_served"],
    )  # fmt: skip
    empty = pd.DataFrame()
    comp = Comparison(["A", "B"], figures, empty, empty, empty, 1, 0)
    said = comp.verdict(1)
    assert said.endswith("; without a standard error: mean NPV; not measured: CVaR5 NPV"), said
    comp.cost_plans = ["A"]
    said = comp.verdict(1)
    assert said == ("“B” against “A”: present cost $900.0M against $1.00B (-$100.0M), cost per H100-hour "
                    "$0.40 against $0.50 (-$0.10), demand served on the forecast 90.0% against 90.0% (0.0 "
                    "pp); better in present cost, cost per H100-hour; the same in demand served on the "
                    "forecast")


def test_a_labs_demand_figures_have_paired_errors():
    """A lab's verdict called any difference in the demand served over the scenarios better or worse
    (a diff review): they now have paired errors. Shares served 0.9, 0.8, 1.0, 0.7 for the first
    plan and 0.95, 0.9, 1.0, 0.75 for the other: differences (0.05, 0.1, 0, 0.05), mean 0.05, sample
    variance (0 + 0.0025 + 0.0025 + 0) / 3, error sqrt(0.005 / 3 / 4) = 2.04 pp. Both are short (by
    more than 1 %) in scenarios 1, 2 and 4: differences 0, error 0."""
    share = np.array([[0.9, 0.8, 1.0, 0.7], [0.95, 0.9, 1.0, 0.75]])
    outcomes = {"breach": np.zeros((2, 4), bool), "uncured_breach": np.zeros((2, 4), bool),
                "default": np.zeros((2, 4), bool), "demand_share": share,
                "demand_short": (share < 0.99).astype(float)}  # fmt: skip
    errors = paired_share_errors(outcomes, 1)
    assert errors["demand_served_share_paired_se"] == pytest.approx((0.005 / 3 / 4) ** 0.5, rel=1e-12)
    assert errors["shortfall_probability_paired_se"] == 0.0


def test_the_cost_verdict_reads_the_demand_served_over_the_scenarios():
    """Every plan solved for least cost serves all of the forecast's demand, so a lab's verdict must
    say what tells them apart: the share served over the scenarios and the risk of a shortfall (a plan
    solved for 20 % more demand serves 94.7 % against 89.2 % on lab, short in 53.3 % of the futures
    against 81.8 %), not 'the same in demand served'; its present cost then has no better direction.
    They come in the table's order, what the plans cost and serve before P(liquidity default)."""
    from fleetopt.compare.comparison import Comparison

    figures = pd.DataFrame(
        {"A": [779.7e6, 0.61, 1.0, 0.892, 0.818, 0.0], "B": [957.7e6, 0.62, 1.0, 0.947, 0.533, 0.0]},
        index=["present_cost_usd", "present_cost_per_h100_hour_usd", "market_demand_served",
               "demand_served_share", "shortfall_probability", "default_probability"],
    )  # fmt: skip
    empty = pd.DataFrame()
    comp = Comparison(["A", "B"], figures, empty, empty, empty, 1000, 7)
    comp.cost_plans = ["A", "B"]
    assert comp.verdict(1) == (
        "“B” against “A”: present cost $957.7M against $779.7M (+$178.0M), cost per H100-hour $0.62 against "
        "$0.61 (+$0.01), demand served on the forecast 100.0% against 100.0% (0.0 pp), demand served over "
        "the scenarios 94.7% against 89.2% (+5.5 pp), P(more than 1 % short) 53.3% against 81.8% (-28.5 "
        "pp), P(liquidity default) 0.0% against 0.0% (0.0 pp); better in demand served over the scenarios, "
        "P(more than 1 % short); the same in demand served on the forecast, P(liquidity default); no "
        "better direction: present cost, cost per H100-hour"
    )


def test_levels_that_print_the_same_in_short_show_the_digits_their_difference_is_in():
    """A lab's "In short" read "cost per H100-hour $0.61 against $0.61 (+$0.01)": the levels rounded to
    the cent hid the difference the parenthesis showed. B's $0.612 against A's $0.605 now reads to the
    tenth of a cent, difference and all (+$0.007, not +$0.01); its present cost $340,212,000 against
    $340,200,000 to the $10k ($12.0k apart); its demand served over the scenarios 90.04 % against
    89.96 % to the hundredth of a point (+0.08 pp); levels that print apart, or the same with no
    difference, as before."""
    from fleetopt.compare.comparison import Comparison

    figures = pd.DataFrame(
        {"A": [340.2e6, 0.605, 1.0, 0.8996, 0.0], "B": [340.212e6, 0.612, 1.0, 0.9004, 0.0]},
        index=["present_cost_usd", "present_cost_per_h100_hour_usd", "market_demand_served",
               "demand_served_share", "default_probability"],
    )  # fmt: skip
    empty = pd.DataFrame()
    comp = Comparison(["A", "B"], figures, empty, empty, empty, 1000, 7)
    comp.cost_plans = ["A", "B"]
    assert comp.verdict(1).startswith(
        "“B” against “A”: present cost $340.21M against $340.20M (+$12.0k), cost per H100-hour $0.612 "
        "against $0.605 (+$0.007), demand served on the forecast 100.0% against 100.0% (0.0 pp), demand "
        "served over the scenarios 90.04% against 89.96% (+0.08 pp), P(liquidity default) 0.0% against 0.0% "
        "(0.0 pp); "
    )


def test_labels_holding_commas_are_quoted_in_the_notes_and_repeated_ones_told_apart():
    """A lab's note read "Note: milp, milp, purchases fixed (Rubin early) were solved for least cost":
    two plans or three? Each label is quoted, as the verdict quotes it; two plans both labelled milp
    are the numbered labels of the figures' columns."""
    from fleetopt.compare.comparison import Comparison

    early = "milp, purchases fixed (Rubin early)"
    figures = pd.DataFrame({"milp": [0.0], early: [0.0]}, index=["npv_mean_usd"])
    empty = pd.DataFrame()
    comp = Comparison(list(figures.columns), figures, empty, empty, empty, 10, 0)
    comp.cost_plans = list(figures.columns)
    comp.forecast_limits = [(early, "breaches a covenant")]
    notes = comp.notes()
    assert ("Note: “milp” and “milp, purchases fixed (Rubin early)” were solved for least cost "
            "(`fleetopt solve --objective cost`)") in " ".join(notes)
    assert f"“{early}” on the forecast, with its policy: breaches a covenant." in notes
    assert f"“milp” and “{early}” were solved for least cost" in comp.to_csv()
    lab = api.solve("lab", objective="cost")
    twice = api.compare([lab, lab], scenarios=5)
    assert twice.labels == ["milp", "milp (2)"]
    assert "Note: “milp” and “milp (2)” were solved for least cost" in " ".join(twice.notes())


def test_an_error_too_small_for_its_digits_reads_as_below_them_not_as_nothing():
    """Two lab plans, one buying Rubin a quarter early, differed in mean utilisation by -1.2 pp with a
    paired error shown as "0.00 pp", which reads as the same difference in every scenario (an error of
    0). It nearly is: the early GPUs idle in every future alike. By hand, on four scenarios, B's
    utilisation less A's: -1.20, -1.19, -1.21, -1.20 pp; mean -1.20 pp; deviations 0, 0.01, -0.01,
    0 pp, so the standard deviation is sqrt(0.0002 / 3) = 0.0082 pp and the error 0.0082 / sqrt(4)
    = 0.0041 pp: "< 0.01 pp", and the difference, 290 errors, is no chance: worse. An error of
    exactly 0 stays 0.00 pp; one that shows its digits is as before."""
    from fleetopt.compare.comparison import Comparison
    from fleetopt.evaluate.metrics import paired_error

    a = np.array([0.90, 0.80, 0.95, 0.85])
    b = a + np.array([-0.0120, -0.0119, -0.0121, -0.0120])
    se = paired_error(b - a)
    assert se == pytest.approx(0.0041e-2, abs=0.0001e-2)
    comp = _two_plans({"mean_utilisation": (a.mean(), b.mean()), "mean_utilisation_paired_se": (np.nan, se)})
    figures = comp.figures
    values = list(figures.loc["mean_utilisation_paired_se"])
    assert comp.cell("mean_utilisation_paired_se", values, "share", 1) == "< 0.01 pp"
    row = "| mean utilisation minus the first plan's: standard error | — | \\< 0.01 pp |"
    assert row in comp.to_markdown()
    means = list(figures.loc["mean_utilisation"])
    assert comp.difference_shown("mean_utilisation", means, "share", 1) == "-1.2 pp"
    assert comp.judged("mean_utilisation", 1) and comp.better("mean_utilisation") == "higher"
    assert Comparison.error_cell(0.0, "share") == "0.00 pp"
    assert Comparison.error_cell(0.0123, "share") == "1.23 pp"
    # an error of round-off ($1 of money, 1e-6 of a share: ROUND_OFF) is none: the plans are the same
    assert Comparison.error_cell(0.3, "USD") == "$0" and Comparison.error_cell(4e-7, "share") == "0.00 pp"


def test_a_difference_of_nothing_with_no_error_is_not_marked_as_chance():
    """Two plans with the same figure in every scenario (both never default: 0.0 % each, a paired
    error of 0) showed "0.0 pp (within 2 s.e.)", a difference the scenarios could give by chance,
    where the plans are the same; a difference of exactly two errors (50 pp against an error of
    25 pp) is within them, and one beyond (62.5 pp) is not."""
    from fleetopt.compare.comparison import Comparison

    figures = pd.DataFrame(
        {"A": [0.0, np.nan, 0.25, np.nan], "B": [0.0, 0.0, 0.75, 0.25]},
        index=["default_probability", "default_probability_paired_se", "breach_probability",
               "breach_probability_paired_se"],
    )  # fmt: skip
    empty = pd.DataFrame()
    comp = Comparison(["A", "B"], figures, empty, empty, empty, 1000, 7)
    assert comp.difference_shown("default_probability", [0.0, 0.0], "share", 1) == "0.0 pp"
    assert comp.within_noise("breach_probability", 1)
    comp.figures.loc["breach_probability", "B"] = 0.875
    assert not comp.within_noise("breach_probability", 1)


def test_a_covenant_no_plan_tests_has_no_rows_of_nothing():
    """lab's cost plans never draw their GPU loan, so its borrowing base is "not tested" on every
    plan's forecast: the comparison had three cushion rows of n/a (a report review). They are left
    out; tiny's, which its plans test, stay (test_formats_write_a_file counts them)."""
    solved = api.solve("lab", objective="cost")
    comp = api.compare([solved, solved], "lab", scenarios=20, seed=7, labels=["a", "b"])
    assert not [key for key in comp.figures.index if key.startswith(("cushion_", "lowest_covenant_cushion"))]
    assert "present_cost_usd" in comp.figures.index


def test_a_comparison_on_one_scenario_says_one_common_scenario(tiny_run):
    """compare on one scenario titled itself '1 common scenarios' (terminal, notebook, text, page)."""
    folder, _, _ = tiny_run
    comp = api.compare([folder, folder], scenarios=1)
    assert comp._repr_markdown_().startswith("**Plan comparison** (1 common scenario, seed 0)")
    code, out, err = run_cli("compare", str(folder), str(folder), "--scenarios", "1")
    assert code == 0, err
    assert "plans on 1 common scenario (seed 0)" in " ".join(out.split())
    # no histogram of one NPV a plan: the page said nothing of its missing Distributions section
    page = api.comparison_html(comp)
    assert "<h2>Distributions</h2><p class='cap'>None drawn: over one scenario" in page and "<svg" not in page


def two_dollars_apart(result, scenarios: int):
    """tiny's solve ("A") compared with its plan less $2 of prepayment in the first quarter ("B"), on
    ``scenarios`` of seed 1."""
    import copy
    import dataclasses

    plan = copy.deepcopy(result.plan)
    plan.prepay[0, 0] -= 2.0
    return api.compare([result, dataclasses.replace(result, plan=plan)], scenarios=scenarios, seed=1,
                       labels=["A", "B"])  # fmt: skip


def test_a_money_difference_within_a_dollar_is_round_off_not_better(tiny_run):
    """Two plans that differ by $2 of prepayment in the first quarter differ by $0.21 of mean NPV in
    every scenario alike (paired standard error about 0): compare called that "better in mean NPV"
    and coloured it, where the stochastic verdict and the sweep's lead call a difference within $1
    (`NOISE_USD`) round-off. Now compare judges money the same way, not coloured; and as the difference
    and its error are both round-off, the plans are the same in it, not within chance of each other."""
    comparison = two_dollars_apart(tiny_run[1], scenarios=200)
    npv = comparison.figures.loc["npv_mean_usd"]
    diff = float(npv["B"]) - float(npv["A"])
    assert 0 < abs(diff) < 1.0
    assert not comparison.within_noise("npv_mean_usd", 1) and not comparison.judged("npv_mean_usd", 1)
    assert "better in mean NPV" not in comparison.verdict(1)
    assert "the same in mean NPV" in comparison.verdict(1)


def test_a_money_figure_without_an_error_within_a_dollar_is_the_same(tiny_run):
    """The same two plans $2 of prepayment apart differ by $0.20 of forecast NPV, a figure without a
    paired error: compare called that "better" (and $0.19 of NPV with cash held "worse"), the $1 of
    round-off applied only to figures with an error. Now it is the same, as the sweep's lead says."""
    comparison = two_dollars_apart(tiny_run[1], scenarios=20)
    npv = comparison.figures.loc["npv_forecast_usd"]
    assert 0 < abs(float(npv["B"]) - float(npv["A"])) < 1.0
    assert comparison._side("npv_forecast_usd", 1) == "the same in"
    assert not comparison.judged("npv_forecast_usd", 1)  # not coloured


def test_differences_below_round_off_read_the_same_in_every_figure():
    """Two lab plans serving the same demand read "0.0 pp (within 2 s.e.)" of demand served, its error
    "< 0.01 pp" and In short "within two standard errors", where the per-scenario differences were
    round-off (a paired error of 1.2e-18). By hand: B serves A's 90.0 % (error 1.2e-18, under the 1e-6
    of a share's round-off); B's mean present cost is $0.50 more with an error of $0.20 (both under $1
    of money's); its CVaR95 present cost $2.0M more with an error of $0.5M: twice it, $1.0M, is below
    $2.0M, so worse. The first two are the same, their differences none and their errors 0."""
    figures = pd.DataFrame({"A": [500e6, np.nan, 600e6, np.nan, 0.9, np.nan],
                            "B": [500e6 + 0.5, 0.2, 602e6, 0.5e6, 0.9, 1.2e-18]},
                           index=["present_cost_mean_usd", "present_cost_mean_paired_se_usd",
                                  "present_cost_cvar95_usd", "present_cost_cvar95_paired_se_usd",
                                  "demand_served_share", "demand_served_share_paired_se"])  # fmt: skip
    empty = pd.DataFrame()
    comp = Comparison(["A", "B"], figures, empty, empty, empty, 400, 11, cost_plans=["A", "B"])
    assert comp.verdict(1) == (
        "“B” against “A” (± two paired standard errors): mean present cost $500.0M against $500.0M ($0), "
        "CVaR95 present cost $602.0M against $600.0M (+$2.0M ± $1.0M), demand served over the scenarios "
        "90.0% against 90.0% (0.0 pp); worse in CVaR95 present cost; the same in mean present cost, demand "
        "served over the scenarios")
    shown = comp._figure_rows().set_index("figure")
    assert list(shown["B − A"]) == ["$0", "", "+$2.0M", "", "0.0 pp", ""]
    assert list(shown["B"])[1::2] == ["$0", "$500.0k", "0.00 pp"]  # the errors: round-off is none
    assert not comp.judged("demand_served_share", 1) and not comp.within_noise("demand_served_share", 1)



def test_the_npv_of_plans_solved_for_least_cost_is_marked_neither_better_nor_worse():
    """lab's "hopper-stretch" against its cost optimum: mean NPV -$26.0M, mean present cost +$50.7M (its
    imputed revenue values each GPU-hour at its generation's market price, so its NPV moves by what its
    GPUs would fetch as well). The page marked the NPV rows ✗ (red) as if they decided anything. Now the
    NPV rows have no 'better', are not coloured, and one note, once, says they are not cost differences;
    the present cost's difference, beyond two paired errors ($1.0M), is still worse (red)."""
    from fleetopt.compare.figures import NPV_NOT_COST
    from fleetopt.report.comparison import _figures_section

    figures = pd.DataFrame({"optimum": [776.5e6, np.nan, 242.0e6, np.nan, 0.198, np.nan],
                            "hopper-stretch": [827.2e6, 0.5e6, 216.0e6, 0.55e6, 0.243, 0.0104]},
                           index=["present_cost_mean_usd", "present_cost_mean_paired_se_usd", "npv_mean_usd",
                                  "npv_mean_paired_se_usd", "loss_probability",
                                  "loss_probability_paired_se"])  # fmt: skip
    empty = pd.DataFrame()
    labels = ["optimum", "hopper-stretch"]
    comp = Comparison(labels, figures, empty, empty, empty, 400, 11, cost_plans=labels)
    assert [comp.better(key) for key in figures.index[::2]] == ["lower", "", ""]
    assert comp.notes().count(f"{NPV_NOT_COST}.") == 1
    rows = _figures_section(comp).split("<tr>")[2:]
    assert "class='bad'" in rows[0] and "+$50.7M" in rows[0]  # the present cost: worse
    assert all("class='good'" not in row and "class='bad'" not in row for row in rows[2:])
    # beside NPV plans alone the NPV decides: higher is better, and no such note
    npv = Comparison(labels, figures, empty, empty, empty, 400, 11)
    assert npv.better("npv_mean_usd") == "higher" and f"{NPV_NOT_COST}." not in npv.notes()
