"""The report's covenant fans: each covenant ratio the model tests, over the re-simulated scenarios,
quarter by quarter, against its limit (report/charts.py ``_covenant_fans``, svg.fan)."""

from __future__ import annotations

import html
import re
from html import unescape
from pathlib import Path

import numpy as np
import pytest
from conftest import run_cli

from fleetopt import api
from fleetopt.core.data import load
from fleetopt.core.plan import Plan
from fleetopt.core.units import format_percent
from fleetopt.evaluate.batch import compile_plans
from fleetopt.evaluate.planfile import load_plans
from fleetopt.evaluate.sample_runs import sample_runs
from fleetopt.report import charts, page, svg
from fleetopt.report.charts import _percentiles

SCENARIOS = 12  # every one re-simulated for the charts (FAN_SCENARIOS is more)
DSCR_TITLE = "EBITDA / debt service over scenarios, by quarter: milp"


@pytest.fixture(scope="module")
def evaluation(tmp_path_factory, solve_run) -> Path:
    """tiny's optimum evaluated on 12 scenarios (seed 0)."""
    folder = tmp_path_factory.mktemp("fans") / "E"
    code, _, err = run_cli("evaluate", "tiny", "--plans", str(solve_run), "--scenarios", str(SCENARIOS),
                           "--out", str(folder))  # fmt: skip
    assert code == 0, err
    return folder


@pytest.fixture(scope="module")
def dscr_by_hand(evaluation) -> np.ndarray:
    """(scenarios, quarters) tiny's DSCR, as each scenario's path writes it (NaN where not tested)."""
    return np.array([api.scenario_path(evaluation, i).frame["dscr_ratio"].to_numpy(dtype=float)
                     for i in range(SCENARIOS)])  # fmt: skip


@pytest.fixture(scope="module")
def drawn(evaluation) -> tuple[str, dict[str, svg.Fan]]:
    """The report's HTML and each fan it draws, by its title (the wide and narrow drawings' one)."""
    fans: dict[str, svg.Fan] = {}
    drawing = svg.fan
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(svg, "fan", lambda title, *args, **kw: fans.setdefault(title, args[1])
                   and drawing(title, *args, **kw))  # fmt: skip
        html = page.build_report(evaluation)
    return html, fans


def test_a_fan_s_bands_are_the_percentiles_of_the_scenarios_ratio(drawn, dscr_by_hand):
    """The DSCR fan's 5th, 25th, 75th and 95th percentiles and median in each quarter tested are
    NumPy's of the 12 scenarios' DSCR that each scenario's path gives; nothing is drawn in 2026Q3,
    before tiny's `test_from: 2026Q4`."""
    fan = drawn[1][DSCR_TITLE]
    assert fan.tested.tolist() == [False] + [True] * 7
    (p5, p95, *_), (p25, p75, *_) = fan.bands
    for q, drawn_values in ((5, p5), (25, p25), (50, fan.median), (75, p75), (95, p95)):
        expected = np.percentile(dscr_by_hand[:, 1:], q, axis=0)
        np.testing.assert_allclose(drawn_values[1:], expected, rtol=1e-12, err_msg=f"P{q}")
    assert np.isnan(dscr_by_hand[:, 0]).all()


def test_the_borrowing_base_s_fan_is_the_percentiles_of_the_base_used(drawn, evaluation):
    """The borrowing base used (GPU-secured debt / max LTV over the GPUs' resale value) by quarter over
    the 12 scenarios, as each scenario's path gives it: the simulation records the base's two sides
    (it drew no fan, its sides unrecorded). tiny tests it in every quarter its loan is owed."""
    used = np.array([api.scenario_path(evaluation, i).frame["borrowing_base_ratio"].to_numpy(dtype=float)
                     for i in range(SCENARIOS)])  # fmt: skip
    fan = drawn[1]["borrowing base used over scenarios, by quarter: milp"]
    tested = fan.tested
    assert tested.all() and fan.limit[0] == 1.0
    breaching = (used > 1.0 + 1e-9).mean(axis=0)  # the caption's share, in its tightest quarter
    t = int(np.argmax(breaching))
    quarter = ["2026Q3", "2026Q4", "2027Q1", "2027Q2", "2027Q3", "2027Q4", "2028Q1", "2028Q2"][t]
    assert (f"Its tightest quarter is {quarter}: {breaching[t]:.1%} of the 12 scenarios (seed 0) breach it "
            "there (above 100.0%)") in html.unescape(drawn[0])
    (p5, p95, *_), _ = fan.bands
    for q, drawn_values in ((5, p5), (50, fan.median), (95, p95)):
        np.testing.assert_allclose(drawn_values, np.percentile(used, q, axis=0), rtol=1e-12, err_msg=f"P{q}")


def _grid(chart: str) -> dict[float, float]:
    """A chart's y gridlines, by their tick's value (1.0 for '1x'), at their pixel."""
    gridlines = re.findall(r'<line x1="[^"]*" x2="[^"]*" y1="([^"]*)" y2="[^"]*" class="grid"/>', chart)
    ys = [float(y) for y in gridlines]
    ticks = re.findall(r'text-anchor="end">(-?[0-9.]+)x</text>', chart)
    return {float(v): y for v, y in zip(ticks, ys, strict=True)}


def test_the_limit_line_is_at_the_model_s_limit(drawn):
    """tiny's `min_dscr: 1.4`: the dashed line sits 40 % of the way from the 1x gridline to the 2x
    one, named in the legend as the covenant reads."""
    html, _ = drawn
    chart = html.split(f'aria-label="{DSCR_TITLE}"', 1)[1].split("</svg>", 1)[0]
    grid = _grid(chart)
    y = float(re.search(rf'<line [^>]*y1="([^"]*)"[^>]*stroke="{svg.LIMIT_COLOUR}"', chart).group(1))
    assert y == pytest.approx(grid[1.0] + 0.4 * (grid[2.0] - grid[1.0]), abs=0.1)
    assert ">limit: EBITDA / debt service &gt;= 1.4x</text>" in chart
    assert ">not tested</text>" in chart


def test_the_caption_gives_the_share_breaching_in_the_tightest_quarter(drawn, dscr_by_hand, evaluation):
    """The caption names the tested quarter most scenarios breach the DSCR in and that share, as
    counted on the scenarios' paths (a DSCR below 1.4x)."""
    html, _ = drawn
    after = html.split(f'aria-label="{DSCR_TITLE}"', 1)[1]
    caption = unescape(after.split("<p class='cap'>", 1)[1].split("</p>")[0])
    below = (dscr_by_hand < 1.4).mean(axis=0)
    assert below.max() > 0  # tiny's 12 scenarios breach it
    t = int(np.argmax(below))
    quarter = api.scenario_path(evaluation, 0).frame["quarter"].iloc[t]
    assert caption.startswith(f"Its tightest quarter is {quarter}: {format_percent(below[t])} of the 12 "
                              "scenarios (seed 0) breach it there (below 1.4x)")
    assert "runs on after a liquidity default" in caption
    assert "Where debt service is nil or negative the ratio is unbounded and not tested" in caption


def test_only_the_main_plan_s_quarterly_lines_are_recorded(solve_run):
    """A sweep's report re-simulates its pick, forecast optimum and third plan for the NPV histogram,
    but draws the bands and fans of its pick alone: the quarterly lines they read (cash, debt and the
    covenants' six, 8 bytes x 500 scenarios x quarters each, a plan) are recorded for it only. Each
    plan's results are those it gets simulated alone, the pick's lines too. tiny's optimum, the same
    plan buying nothing and buying twice as much."""
    data = load(solve_run / "model.yaml")[1]
    plan = load_plans(solve_run / "plan.npz", data)[0][0]
    plans = [plan]
    for times in (0, 2):
        other = Plan(**{name: values.copy() for name, values in plan.arrays().items()})
        other.buy_blocks *= times
        plans.append(other)
    sim = charts._paths(data, plans, ["pick", "none", "twice"], None, 0, SCENARIOS)
    assert {sim[name].shape for name in charts.COVENANT_LINES} == {(1, SCENARIOS, data.T)}
    for i, label in enumerate(["pick", "none", "twice"]):
        alone = sample_runs(data, compile_plans(data, [plans[i]], [label]), SCENARIOS, 0,
                            record=charts.COVENANT_LINES)  # fmt: skip
        for name, values in alone.items():
            if name not in charts.COVENANT_LINES:  # a result: every plan's
                np.testing.assert_array_equal(sim[name][i], values[0], err_msg=f"{label}: {name}")
            elif i == 0:  # a line: the pick's alone
                np.testing.assert_array_equal(sim[name][0], values[0], err_msg=f"{label}: {name}")


def test_a_model_without_covenants_has_no_fan(tmp_path, solve_run):
    """Without `finance.covenants` no covenant ratio is tested: no fan is drawn but the borrowing
    base's, which tiny's GPU-secured loan still tests."""
    folder = tmp_path / "E"
    code, _, err = run_cli("evaluate", "tiny", "--plans", str(solve_run), "--scenarios", "4", "--set",
                           "finance.covenants=null", "--out", str(folder))  # fmt: skip
    assert code == 0, err
    html = page.build_report(folder)
    assert "EBITDA / debt service over scenarios" not in html and "debt / annualised EBITDA over" not in html
    assert "borrowing base used over scenarios, by quarter" in html


def test_a_limit_of_0_draws_no_fan(tmp_path, solve_run):
    """An interest cover of at least 0x is no limit to come close to: the report drew its fan and
    stopped with a traceback (its tightest quarter none, its axis 4 x 0 wide: the second reviewer's
    finding). It is left out; the DSCR's and leverage's fans stay."""
    folder = tmp_path / "E"
    code, _, err = run_cli("evaluate", "tiny", "--plans", str(solve_run), "--scenarios", "4", "--set",
                           "finance.covenants.min_interest_coverage=0", "--out", str(folder))  # fmt: skip
    assert code == 0, err
    html = page.build_report(folder)
    assert "EBITDA / interest over scenarios" not in html and "EBITDA / debt service over scenarios" in html


def test_an_unbounded_ratio_is_above_every_other_in_the_percentiles():
    """A quarter without debt service has an unbounded DSCR (inf): a percentile among such scenarios
    is unbounded, one below them NumPy's, never NaN (NumPy's own gave NaN from 50 % up here)."""
    ratio = np.array([[1.0, 2.0], [2.0, 2.0], [3.0, 2.0], [np.inf, 2.0], [np.inf, 2.0]])
    p25, p50, p75, p95 = _percentiles(ratio, [25, 50, 75, 95])
    assert p25.tolist() == [2.0, 2.0] and p50.tolist() == [3.0, 2.0]
    assert p75.tolist() == [np.inf, 2.0] and p95.tolist() == [np.inf, 2.0]


def test_the_axis_reaches_four_times_the_limit_and_the_caption_says_what_lies_beyond(tmp_path, solve_run):
    """tiny with an interest cover of at least 3x and cash of at least 10 % of debt: its cover of 10x
    to 20x is drawn on an axis up to 4 x 3x = 12x, the bands above it at 12x, as the caption says;
    cash / debt is drawn in per cent against its 10 %."""
    folder = tmp_path / "E"
    code, _, err = run_cli("evaluate", "tiny", "--plans", str(solve_run), "--scenarios", str(SCENARIOS),
                           "--set", "finance.covenants.min_interest_coverage=3", "--set",
                           "finance.covenants.min_liquidity_fraction_of_debt=0.1",
                           "--out", str(folder))  # fmt: skip
    assert code == 0, err
    html = unescape(page.build_report(folder))
    cover = html.split('aria-label="EBITDA / interest over scenarios, by quarter: milp"', 1)[1]
    assert "Bands above 12.00x are drawn at 12.00x." in cover.split("<p class='cap'>", 1)[1].split("</p>")[0]
    assert ">12.5x</text>" in cover.split("</svg>", 1)[0]  # the axis's top tick, the first above 12x
    share = html.split('aria-label="cash / debt over scenarios, by quarter: milp"', 1)[1]
    share = share.split("</svg>", 1)[0]
    assert ">cash / debt (%)</text>" in share and ">limit: cash / debt >= 10%</text>" in share
