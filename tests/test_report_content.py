"""What the HTML reports say: provenance, definitions, forecast-only labels, the scenario metrics,
the sweep's rule and dropped candidates; and the chart and table helpers (one money scale per
column, round histogram ticks, markers, labelled Pareto points)."""

from __future__ import annotations

import dataclasses
import io
import itertools
import json
import re
import shutil
from html import escape, unescape
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from conftest import TINY_PATH, run_cli

from fleetopt.core.data import load
from fleetopt.core.units import (
    error_beside,
    format_mean_and_error,
    format_percent,
    format_rate,
    format_solver_status,
    format_usd,
    format_usd_per_hour,
    usd_column_formatter,
    whole_count,
)
from fleetopt.evaluate.metrics import REACTION_LABELS, REACTION_MEANS
from fleetopt.report import in_short, page, provenance, reading, svg, two_stage
from fleetopt.report.candidates import _rule_text
from fleetopt.report.key_figures import IMPUTED_VALUE
from fleetopt.report.statements import _by_quarter, _decisions_section, _power_built
from fleetopt.runs.summary_schema import BEST_MEAN_KEY

# tiny's optimum on its forecast, as "In short" says it: its borrowing base is met with no room
TINY_KEPT = ("keeps every covenant, with no room on the borrowing base in 7 of 8 quarters, and its cash "
             "above the default level")
TINY_COVENANTS = "debt / annualised EBITDA &lt;= 6x; EBITDA / debt service &gt;= 1.4x; liquidity &gt;= $25.0M"


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, Path]:
    """Run folders of tiny: a solve, an evaluation of its plan on 200 scenarios, a sweep of 3
    candidates on 100 scenarios, a deterministic evaluation and a sweep whose pick breaches on its own
    forecast ("breach"), each with its report.html."""
    root = tmp_path_factory.mktemp("content")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("FLEETOPT_RUNS_DIR", str(root / "runs"))
        folders = [str(root / name) for name in "SEW"]
        # 1,000 B200 in 2026Q4 miss tiny's 1.4x DSCR on the forecast, even completed with the rescue
        orders = _purchases(root, "2026Q4,B200,texas,1000")
        for args in (
            ("solve", "tiny", "--out", folders[0]),
            ("evaluate", "tiny", "--plans", folders[0], "--scenarios", "200", "--out", folders[1]),
            # its pick, a cash-buffer plan, keeps every covenant on the forecast: its buffer cuts nothing
            ("sweep", "tiny", "--candidates", "3", "--scenarios", "100", "--allow-forecast-breach",
             "--allow-riskier", "--out", folders[2]),
            ("evaluate", "tiny", "--plans", folders[0], "--deterministic", "--out", str(root / "D")),
            # the forecast optimum, those purchases, the optimum with a $30M buffer and the purchases
            # with $14.6M and $29.2M: only the purchases breach in at most 80 % of the scenarios, and the
            # pick, with its $29.2M buffer, cuts prepayments on the forecast, where it misses the DSCR
            ("sweep", "tiny", "--candidates", "3", "--scenarios", "100", "--purchases", str(orders),
             "--max-breach-prob", "0.8", "--allow-forecast-breach", "--allow-riskier", "--out",
             str(root / "B")),
        ):
            code, _, err = run_cli(*args)
            assert code == 0, err
            code, _, err = run_cli("report", args[-1])
            assert code == 0, err
    return {"solve": root / "S", "evaluate": root / "E", "sweep": root / "W", "deterministic": root / "D",
            "breach": root / "B"}


def html_of(folder: Path) -> str:
    return (folder / "report.html").read_text(encoding="utf-8")


def text_of(folder: Path) -> str:
    """The report's text without tags, entities decoded, spaces collapsed."""
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", html_of(folder))))


def in_short_of(folder: Path) -> str:
    """The report's "In short" paragraph, as text_of reads it."""
    paragraph = html_of(folder).split("<h2>In short</h2>", 1)[1].split("</p>", 1)[0]
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", paragraph)))


def table_headers(html: str, after: str) -> list[str]:
    """The column headers, as read (tags dropped, spaces collapsed), of the first table after ``after``."""
    table = html.split(after, 1)[1].split("</table>", 1)[0]
    cells = re.findall(r"<th(?:\s[^>]*)?>(.*?)</th>", table)
    return [" ".join(unescape(re.sub(r"<[^>]+>", " ", cell)).split()) for cell in cells]


def summary_of(folder: Path) -> dict:
    return json.loads((folder / "summary.json").read_text(encoding="utf-8"))


# ---------------------------------------------------------------- provenance


@pytest.mark.parametrize("kind", ["solve", "evaluate", "sweep"])
def test_provenance_names_model_folder_and_discount_rate(runs, kind):
    folder, summary = runs[kind], summary_of(runs[kind])
    text = text_of(folder)
    assert "Provenance" in text
    assert f"run folder {folder.resolve()}" in text  # absolute, whatever the cwd
    assert summary["model_hash"] in text and "tiny" in text
    assert "discount rate 15% a year (NPV factor" in text  # tiny: discount_rate_annual 0.15


def test_provenance_says_what_the_scenarios_draw():
    """0.4.31 made the default model's prices revert to the forecast: over 2,000 futures (seed 7) its
    forecast optimum's P(any default) is 49.8 %, 57.0 % with the old random walk, and its report said
    of its scenarios only "2,000 (seed 7)" either way, so two reports side by side read as one risk. The
    Provenance now says what the scenarios draw (as `fleetopt validate` says it); the forecast alone
    draws nothing."""
    from fleetopt.api import edit
    from fleetopt.report.provenance import _scenario_facts

    model = load(TINY_PATH)[0]
    reverting = {"risk.price_mean_reversion_half_life_quarters": 8,
                 "risk.price_trend_volatility_annual": 0.05}  # fmt: skip
    for changes, deterministic in (({}, False), (reverting, False), (reverting, True)):
        data = load(edit(model, changes) if changes else model)[1]
        run = SimpleNamespace(data=data, metrics=pd.DataFrame({"plan": ["milp"]}),
                              summary={"deterministic": deterministic}, kind="evaluate",
                              scenario_source=(7, 2000))  # fmt: skip
        drawn = dict(_scenario_facts(run)).get("the scenarios draw", "")
        said = bool(changes) and not deterministic
        assert ("reverting to the forecast, half-life 8 quarters" in drawn) == said
        assert ("prices' slope uncertain (5%/year" in drawn) == said
        # the walk said so too: its absent clause alone told a reader nothing (a review, 0.4.31)
        assert ("a random walk, never reverting" in drawn) == (not changes and not deterministic)
        assert drawn.startswith("prices 25%/sqrt(year)") != deterministic


def test_provenance_names_the_model_where_a_reader_finds_it(runs, tmp_path, monkeypatch):
    """A model given as a relative path (`evaluate tiny.yaml`) was shown only as typed: the report
    names the run folder's copy, an absolute path, and the file the model was read from, in full (it
    was the path as typed, relative to a folder the reader may not know)."""
    monkeypatch.chdir(tmp_path)
    shutil.copy(runs["solve"] / "model.yaml", "tiny.yaml")
    code, _, err = run_cli("evaluate", "tiny.yaml", "--plans", str(runs["solve"]), "--scenarios", "20",
                           "--out", "E")  # fmt: skip
    assert code == 0, err
    assert run_cli("report", "E")[0] == 0
    run = tmp_path / "E"
    copy, hash_ = (run / "model.yaml").resolve(), summary_of(run)["model_hash"]
    read = (tmp_path / "tiny.yaml").resolve()
    assert f"model tiny (hash {hash_}): {copy}, the run's copy of {read}" in text_of(run)
    # the solve of the bundled tiny: its copy, and the bundled file it read
    solve, source = runs["solve"].resolve(), summary_of(runs["solve"])["model_source"]
    assert f"{solve / 'model.yaml'}, the run's copy of {source}" in text_of(runs["solve"])


def test_provenance_names_what_the_run_changed_in_the_file_it_read(tmp_path, monkeypatch):
    """A solve with --set named its model.yaml "the run's copy of /…/tiny.yaml", the file as is:
    the copy is the file as changed for the run, and the provenance says how."""
    monkeypatch.chdir(tmp_path)
    shutil.copy(TINY_PATH, "tiny.yaml")
    code, _, err = run_cli("solve", "tiny.yaml", "--set", "horizon.discount_rate_annual=0.1", "--out", "S",
                           "--report")  # fmt: skip
    assert code == 0, err
    run, read = tmp_path / "S", (tmp_path / "tiny.yaml").resolve()
    said = (f"{(run / 'model.yaml').resolve()}, the run's copy of {read}, changed for this run: "
            "horizon.discount_rate_annual = 0.1 ")
    assert said in text_of(run)


def test_solve_provenance_has_milp_status_gap_and_bound(runs):
    summary, text = summary_of(runs["solve"]), text_of(runs["solve"])
    status = format_solver_status(summary["status"], None)  # its gap once ("optimal within 0.20%" twice)
    assert f"MILP {status}, relative gap {summary['gap']:.2%}" in text
    assert f"bound {format_usd(summary['bound_usd'])}" in text


@pytest.mark.parametrize("kind", ["evaluate", "sweep"])
def test_scenario_provenance_has_seed_count_and_backend(runs, kind):
    summary, text = summary_of(runs[kind]), text_of(runs[kind])
    n = summary["n_scenarios"]
    assert f"scenarios {n:,} (seed 0)" in text
    assert f"evaluated on {summary['backend']} ({summary['device']})" in text


# ---------------------------------------------------------------- definitions


def test_definitions_give_the_models_levels_and_covenants(runs):
    """tiny: min_cash_usd $25M, no default_cash_usd (so the default level is the floor), covenants
    leverage <= 6x, DSCR >= 1.4x, liquidity >= $25M tested from 2026Q4; 200 scenarios give a tail
    of k = ceil(0.05 x 200) = 10."""
    html, text = html_of(runs["evaluate"]), text_of(runs["evaluate"])
    assert "Definitions" in text
    assert "k = ceil(5 % of scenarios) = 10 of 200" in text
    assert (
        "below the default level of $25.0M (finance.default_cash_usd is not set: the treasury floor)" in text
    )
    assert TINY_COVENANTS in html and "tested every quarter from 2026Q4" in text
    assert "can add up to more than P(covenant breach)" in text
    assert "runs on to the horizon with negative cash" in text
    assert "net present value at the model's discount rate of 15% a year" in text
    # the key figures' newer terms are defined too (they were shown undefined)
    assert "NPV if lenders accelerate the NPV with limited liability, with the shareholders' claim" in text
    assert "P(uncured covenant breach) share of scenarios with a breach the owners could not cure" in text


def test_the_definition_of_an_uncured_breach_says_no_breach_is_cured_after_a_liquidity_default():
    """Since 0.4.25 a breach in or after a liquidity default's quarter is never cured; the report's
    definition of P(uncured covenant breach) named only the cures' count (covenants.equity_cures)."""
    data = load(TINY_PATH)[1]
    uncured = dict(page.glossary(data, ["milp"], 200, "evaluate"))["P(uncured covenant breach)"]
    assert uncured.startswith("share of scenarios with a breach the owners could not cure (never two "
                              "quarters in a row, at most finance.covenants.equity_cures, none in or after a "
                              "liquidity default's quarter): an event of default")  # fmt: skip


def test_the_definition_of_an_uncured_breach_names_a_breach_the_cash_covers_where_the_model_does():
    """With finance.covenants.cash_covering_debt_cures a breach whose quarter's cash covers the debt
    is no uncured breach: the report's definition of P(uncured covenant breach) says so, and only then."""
    from fleetopt.api import edit

    model = load(TINY_PATH)[0]
    for on in (False, True):
        data = load(edit(model, {"finance.covenants.cash_covering_debt_cures": on}))[1]
        uncured = dict(page.glossary(data, ["milp"], 200, "evaluate"))["P(uncured covenant breach)"]
        said = ("no event of default where the quarter's cash covers its debt "
                "(finance.covenants.cash_covering_debt_cures)")
        assert (said in uncured) is on


def test_the_assumptions_state_the_cure_rule_the_uncured_breaches_were_counted_by():
    """The default model counts a breach whose quarter's cash covers its debt as no event of default
    (finance.covenants.cash_covering_debt_cures: true since 0.4.31), and its report's definition said
    so, while "What these figures assume" gave the rule without that clause: a lender read two rules
    for one P(uncured covenant breach). Both now give the model's."""
    from fleetopt.api import edit
    from fleetopt.report.definitions import _assumptions

    model = load(TINY_PATH)[0]
    said = ("no event of default where the quarter's cash covers its debt "
                "(finance.covenants.cash_covering_debt_cures)")
    for on in (False, True):
        data = load(edit(model, {"finance.covenants.cash_covering_debt_cures": on}))[1]
        run = SimpleNamespace(data=data, metrics=pd.DataFrame({"plan": ["milp"]}), summary={})
        assumed = " ".join(_assumptions(run))
        assert "one the owners could not cure (never two quarters in a row" in assumed
        assert (said in assumed) is on


def test_the_assumptions_say_the_forecast_contains_the_self_competition_shock():
    """The provenance lists "hyperscalers' spare capacity sold (chance 8% a quarter ...)" as a risk the
    scenarios draw, but with risk.mean_one (the default) each scenario's prices are divided by the
    shock's mean, so it costs nothing on average (the default model's mean NPV $12.84B, $3.98B with it
    on top: docs/calibration.md, item 7), which no report said. tiny's shock (chance 5 % a quarter,
    never in the first, a drop of 10-30 %, mean 20 %) has arrived by 2028Q2, its eighth quarter, with
    probability 1 - 0.95^7 = 0.3017, a mean multiplier of 1 - 0.3017 x 0.2 = 0.93967: a future it
    never reaches has its prices raised by 1 / 0.93967 - 1 = 6.421 %."""
    from fleetopt.api import edit
    from fleetopt.report.definitions import _assumptions

    model = load(TINY_PATH)[0]
    said = "raises them in the futures it never reaches (by 6.421% in 2028Q2), so the shock costs nothing"
    scenarios = pd.DataFrame({"plan": ["milp"]})
    for changes, scored, shown in (({}, scenarios, True), ({"risk.mean_one": False}, scenarios, False),
                                   ({"risk.self_competition": None}, scenarios, False), ({}, None, False)):
        data = load(edit(model, changes) if changes else model)[1]
        run = SimpleNamespace(data=data, metrics=scored, summary={})
        assert (said in " ".join(_assumptions(run))) is shown, changes


def test_an_uncured_breach_median_before_the_first_breach_s_says_why():
    """The default sweep's pick read "2030Q4 median quarter of the first covenant breach, of the 60.1%
    of scenarios with one" above "2030Q3 median quarter of the uncured covenant breach, of the 40.1%":
    an event of default before the breach it follows, to a lender. Four scenarios of a horizon of
    eight quarters: A breaches first in quarter 2 and uncured in 3, B in 3 and 4, C and D breach only
    in 6 and cure it. The first breaches 2, 3, 6, 6 have the median 3 (the lower middle one), the
    uncured 3, 4 the median 3: equal, nothing said. With B's first breach and uncured one in 3
    and 4 moved to 5 and 6, the first breaches 2, 5, 6, 6 have the median 5, the uncured 3, 6 the
    median 3: earlier, and the key figure says why."""
    from fleetopt.evaluate.metrics import median_quarter
    from fleetopt.report.key_figures import _median_quarter_kpis

    labels = [f"2027Q{q}" for q in range(1, 5)] + [f"2028Q{q}" for q in range(1, 5)]
    run = SimpleNamespace(data=SimpleNamespace(quarter_labels=labels))
    why = "earlier than the first breach's median, which is over more scenarios"
    for firsts, uncured, shown in (([1, 2, 5, 5], [2, 3, 8, 8], False), ([1, 4, 5, 5], [2, 5, 8, 8], True)):
        # quarters before each event (8: never), as simulate counts them; the medians numbered from 1
        breach_at, uncured_at = (median_quarter(np.array([q]), 8)[0] for q in (firsts, uncured))
        row = pd.Series({"breach_median_quarter": breach_at, "breach_probability": 1.0,
                         "uncured_breach_median_quarter": uncured_at, "uncured_breach_probability": 0.5})
        kpis = {kpi.label: kpi.value for kpi in _median_quarter_kpis(run, row)}
        uncured_label = next(label for label in kpis if "uncured" in label)
        assert (why in uncured_label) is shown
        assert kpis[uncured_label] == labels[int(uncured_at) - 1]


def test_the_policy_reactions_definition_says_each_mean_in_usd_is_over_all_scenarios():
    """The key figures "mean deposits forfeited" and "mean distress-sale proceeds" were left undefined
    (only mean capex deferred was): the default model's $1.06B of deposits forfeited, beside 67.1 % of
    scenarios cancelling an order, reads as a mean over those 67.1 %, where it is over all 2,000 (the
    scenarios with none count 0: evaluate/metrics.py)."""
    data = load(TINY_PATH)[1]
    reactions = dict(page.glossary(data, ["milp"], 200, "evaluate"))["policy reactions"]
    assert reactions.endswith("mean capex deferred, mean deposits forfeited and mean distress-sale proceeds "
                              "are means over all the scenarios, 0 in those where the policy did not act, "
                              "USD (the capex deferred at the prices planned).")  # fmt: skip


def test_the_definitions_write_the_discount_rate_as_the_key_figures_do():
    """A discount rate of 8.125 % was "8.12%" in the NPV's definition (and the provenance: "15.00%"
    for tiny's 15 %) beside "8.125%" in the key figures: one rate, written one way
    (core/units.format_rate) in the report and the comparison page."""
    from fleetopt import api

    data = api.load(api.edit("tiny", {"horizon.discount_rate_annual": 0.08125}))[1]
    npv = dict(page.glossary(data, ["milp"], None, "solve"))["NPV"]
    assert npv.startswith("net present value at the model's discount rate of 8.125% a year: ")


def test_the_default_level_that_is_the_floor_is_called_the_floor(runs):
    """tiny sets no default_cash_usd: its default level is its treasury floor, $25.0M. The definition
    said the level 'is not the treasury floor of $25.0M' in the same breath."""
    text = text_of(runs["evaluate"])
    assert "The default level is the treasury floor of $25.0M (finance.min_cash_usd)" in text
    assert "That is not the treasury floor" not in text


def test_every_column_and_forecast_figure_is_defined(runs):
    """utilisation (docs/evaluation.md: GPUs rented out over GPUs held), a sweep's forecast NPV
    and origin, and 'on the forecast' as the run with the plan's own policy (true of a policy
    candidate too, which the MILP's statements are not)."""
    evaluate, sweep = text_of(runs["evaluate"]), text_of(runs["sweep"])
    assert "utilisation mean over scenarios and quarters of the GPUs rented out (serving a" in evaluate
    assert "forecast NPV the candidate's NPV on the forecast" in sweep
    assert "origin how the sweep made" in sweep
    assert "origin how the sweep made" not in evaluate
    assert "on the forecast the plan run on the model's forecast" in sweep
    assert "with its own policy, as a scenario is run" in sweep


def test_solve_definitions_leave_out_scenario_terms(runs):
    text = text_of(runs["solve"])
    assert "NPV net present value" in text and "lowest DSCR" in text
    assert "P5 and CVaR5" not in text  # a solve has no scenarios


# ---------------------------------------------------------------- key figures


def test_a_report_opens_with_its_answer_in_short(runs):
    """A finance reader met the provenance and some thirty tiles of equal weight first: the page now
    opens with which plan, its value over the futures against the forecast, how often it defaults
    or breaches, and whether it keeps its limits on the forecast, in the figures shown below."""
    row = pd.read_csv(runs["evaluate"] / "metrics.csv").iloc[0]
    text = text_of(runs["evaluate"])
    assert text.index("In short") < text.index("Provenance")
    said = text[text.index("In short"):text.index("Provenance")]
    assert f"Plan “milp”: mean NPV {format_usd(row['npv_mean_usd'])} over 200 futures against " in said
    cvar5, loss = format_usd(row["npv_cvar5_usd"]), row["loss_probability"]
    limited = format_usd(row["npv_limited_cvar5_usd"])
    worst = (f"the worst 5 % average {cvar5}, counting a defaulted future's shortfall as the owners' loss "
             f"({limited} to shareholders with limited liability); {loss:.1%} end with a negative NPV")
    assert worst in said
    assert (f"Over the horizon's 8 quarters, a liquidity default in {row['default_probability']:.1%} of the "
            "futures, a covenant breach in "
            f"{row['breach_probability']:.1%}, one the owners could not cure (an event of default) in "
            f"{row['uncured_breach_probability']:.1%}; any default (a liquidity default or an uncured "
            "covenant breach, as lenders count defaults) in "
            f"{row['any_default_probability']:.1%}.") in said  # fmt: skip
    solve = text_of(runs["solve"])
    fig = summary_of(runs["solve"])
    assert (f"In short Plan “milp”: NPV {format_usd(fig['npv_usd'])} on the forecast, the one future the "
            "MILP plans for (fleetopt evaluate gives its risk over others).") in solve
    sweep = text_of(runs["sweep"])
    assert f"In short Recommended plan “{summary_of(runs['sweep'])['recommended']}”: mean NPV" in sweep
    # how sure the pick is, as the terminal says it (a new user's walkthrough: only further down)
    from fleetopt.sweep.recommendation import lead_in_short

    lead = lead_in_short(summary_of(runs["sweep"]), runs["sweep"])  # its command names the run
    assert lead and lead in " ".join(sweep[sweep.index("In short"):sweep.index("Provenance")].split())


def test_a_report_in_short_says_what_the_plan_buys_by_year(runs):
    """A capacity planner asking what to order in 2027 found the purchases some twenty sections down:
    "In short" now gives the GPUs bought and their capex by year. tiny's optimum: 2,000 B200 at
    $60,000 in 2026Q3, $120.0M, nothing after."""
    text = text_of(runs["solve"])
    said = text[text.index("In short"):text.index("Provenance")]
    assert ("It buys 2,000 GPUs for $120.0M of GPU capex (undiscounted), by year: 2026 (Q3-Q4) 2,000 "
            "($120.0M); each order, by quarter, SKU and site, below.") in said


def test_an_evaluation_of_several_plans_says_its_plan_is_the_best_by_its_ranking(runs, tmp_path, monkeypatch):
    """The terminal's "In short" of an evaluation of several plans says 'The best plan by mean NPV,
    “A”'; its report said 'Plan “A”', read as the only plan evaluated. The sweep's plans on 50
    scenarios, ranked by mean NPV: the plan with the highest mean NPV among those keeping their
    limits on the forecast, as metrics.csv holds them."""
    monkeypatch.setenv("FLEETOPT_RUNS_DIR", str(tmp_path / "runs"))
    folder = tmp_path / "E"
    code, out, err = run_cli("evaluate", "--plans", str(runs["sweep"]), "--scenarios", "50",
                             "--rank-by", "mean", "--out", str(folder), "--report")  # fmt: skip
    assert code == 0, out + err
    metrics = pd.read_csv(folder / "metrics.csv")
    assert len(metrics) > 1
    best = metrics[metrics["forecast_within_limits"]].sort_values("npv_mean_usd").iloc[-1]
    said = (f"The best plan by mean NPV, “{best['plan']}”: mean NPV {format_usd(best['npv_mean_usd'])} "
            "over 50 futures")
    assert in_short_of(folder).strip().startswith(said)
    assert said in " ".join(out.split())  # the terminal's words


def test_a_report_in_short_says_the_plan_buys_nothing_and_a_solve_says_why(tmp_path, monkeypatch):
    """A plan buying no GPU said nothing of purchases in "In short" (its tables all zeros, its tile
    a bare 0), where the terminal says 'GPUs bought: none: at the forecast's prices ...'. tiny with
    B200 at $2M a GPU (33x its $60k) and no covenants: the optimum keeps the installed H100s and
    buys nothing. Its solve's report says so with the terminal's reason; an evaluation of the same
    plan, not the optimiser's own run, says only that it buys none."""
    monkeypatch.setenv("FLEETOPT_RUNS_DIR", str(tmp_path / "runs"))
    solve, evaluation = tmp_path / "S", tmp_path / "D"
    sets = ("--set", "skus.B200.capex_per_gpu_usd.start=2000000", "--set", "finance.covenants=null")
    for args in (("solve", "tiny", *sets, "--out", str(solve)),
                 ("evaluate", "--plans", str(solve), "--deterministic", "--out", str(evaluation))):
        code, out, err = run_cli(*args, "--report")
        assert code == 0, out + err
    said = in_short_of(solve)
    assert ("It buys no GPUs: at the forecast's prices, costs, power and financing no purchase raises the "
            "NPV; to see what one would cost, fix it with --purchases (docs/cli.md, \"Your own purchases\") "
            "and compare the two runs' NPV.") in said
    said = in_short_of(evaluation)
    assert "It buys no GPUs. On the forecast" in said and "no purchase raises" not in said


def test_a_report_in_short_names_a_breach_on_the_trailing_year():
    """tiny tests each quarter's own EBITDA; where its covenants on flows would breach on the trailing
    year's averages the summary says so, with the covenant, the shortfall and the quarter (here a
    stand-in headroom of tiny's DSCR, -3.8 % of 1.4x: EBITDA 1 - 1 / 0.962 = 4.0 % short; the words
    by hand: tests/test_covenants.py)."""
    forecast = SimpleNamespace(within_limits=True, lines={"revolver_balance_usd": np.zeros(8)})
    run = SimpleNamespace(forecast=forecast, trailing_year={"dscr": (-0.038, "2027Q1")}, data=load("tiny")[1],
                          statements=None)  # fmt: skip
    assert in_short._on_the_forecast(run) == (
        "On the forecast it keeps every covenant and its cash above the default level; if tested on the "
        "trailing four quarters' averages (the model tests each quarter's own), EBITDA / debt service "
        "would be breached (EBITDA 4.0% short), tightest in 2027Q1."
    )
    # a forecast run that keeps its cash by drawing the revolver (never the MILP's statements) says so
    forecast.lines["revolver_balance_usd"][1:3] = (1.9e6, 0.4e6)
    assert in_short._on_the_forecast(run).startswith(
        "On the forecast it keeps every covenant and its cash above the default level, drawing the "
        "revolver (up to $1.9M, in 2026Q4); if tested"
    )


def test_a_report_in_short_names_only_a_covenant_on_flows_as_breached_on_the_trailing_year():
    """tiny's liquidity covenant (cash >= $25M) reads the same on the trailing year as on each
    quarter, yet a forecast short of cash said 'if tested on the trailing four quarters' averages
    ..., liquidity would be breached (cash at or below zero)', as if that basis brought the breach.
    Stand-in headrooms: liquidity -0.2 (cash 0.2 / 0.8 = 25.0% short), leverage 0.5 and DSCR 0.25
    (EBITDA 0.25 / 1.25 = 20% above a breach): nothing on flows breaches, so nothing is said; with
    the DSCR at -0.038 it is the DSCR that is named (EBITDA 0.038 / 0.962 = 4.0% short)."""
    yearly = {"leverage": (0.5, "2027Q1"), "dscr": (0.25, "2027Q2"), "liquidity": (-0.2, "2026Q4")}
    run = SimpleNamespace(trailing_year=yearly, data=load("tiny")[1])
    assert in_short.trailing_breach_words(run) == ""
    yearly["dscr"] = (-0.038, "2027Q1")
    assert in_short.trailing_breach_words(run) == (
        "; if tested on the trailing four quarters' averages (the model tests each quarter's own), "
        "EBITDA / debt service would be breached (EBITDA 4.0% short), tightest in 2027Q1"
    )


def test_a_report_in_short_names_the_breaches_of_the_assumed_grace():
    """The default model's "In short" said "keeps every covenant" while its 2026Q3 DSCR was 0.94x,
    before testing starts in 2027Q1 (a grace the model assumes): a lender reading the first screen
    would take it as compliant. By hand on tiny's optimum (DSCR 2.993x in 2026Q3, 2.950x in 2026Q4)
    under a 3.0x minimum tested from 2027Q1: both quarters named, "in the quarters tested" said."""
    from fleetopt import api
    from fleetopt.core.economics.statements import plan_statements

    plan = api.solve("tiny").plan
    strict = api.edit("tiny", {"finance.covenants.min_dscr": 3.0, "finance.covenants.test_from": "2027Q1"})
    data = api.load(strict)[1]
    # within_limits: a stand-in for the forecast run; the grace's words come from the statements
    forecast = SimpleNamespace(within_limits=True, lines={"revolver_balance_usd": np.zeros(8)})
    statements = plan_statements(data, plan)
    run = SimpleNamespace(forecast=forecast, trailing_year={}, data=data, statements=statements, milp_only="",
                          figures={"covenant_headroom": {"dscr": 0.1}})  # fmt: skip
    assert in_short._on_the_forecast(run) == (
        "On the forecast it keeps every covenant in the quarters tested, with no room on the borrowing base "
        "in 7 of 8 quarters, and its cash above the default level; before 2027Q1, when the covenants are "
        "first tested (a grace the model assumes, not one a lender gave), it would breach EBITDA / debt "
        "service 2.99x in 2026Q3 and 2.95x in 2026Q4 "
        "(minimum 3x)."
    )
    # a plan whose policy reacts on the forecast: the grace's figures are its statements', marked so
    run.milp_only = page.MILP_ONLY
    assert in_short._on_the_forecast(run).endswith("(minimum 3x) (the plan's statements, as planned).")
    run.milp_only = ""
    # tiny as it is, tested from 2026Q4, breaches nothing before: the sentence as before
    run.data = api.load("tiny")[1]
    run.statements = plan_statements(run.data, plan)
    kept = ("On the forecast it keeps every covenant, with no room on the borrowing base in 7 of 8 quarters, "
            "and its cash above the default level.")
    assert in_short._on_the_forecast(run) == kept


def test_a_report_in_short_says_where_the_plan_meets_a_covenant_with_no_room():
    """tiny's report said its optimum "keeps every covenant" while the borrowing base, the first breach
    in 80 % of its futures, was met exactly on the forecast: its 8.1 % term loan is cheaper than the
    15 % discount rate, so the plan prepays only what the base needs. By hand: the loan's $200.0M less
    $10.0M a quarter and the prepayments ($26.0M, then $4.6M) leaves $164.0M, $149.4M, ... at the
    quarters' ends, each over the 70 % max LTV ($234.3M, $213.4M, ...) the fleet's resale value in
    2026Q3..2028Q1; in 2028Q2 $69.7M / 0.7 = $99.6M against $106.7M: room. The quarters are those of
    CovenantTest.met_without_room (within NO_ROOM of the limit), the headroom rows' "met with no room":
    a resale value 1e-5 above the need in 2026Q3 is room; the DSCR held at its limit in 2026Q4 and
    2027Q1 is named too, of the 7 quarters it is tested in."""
    from fleetopt import api
    from fleetopt.core.economics.statements import plan_statements

    data = api.load("tiny")[1]
    statements = plan_statements(data, api.solve("tiny").plan)
    lines = statements.lines
    assert data.facilities[0].max_ltv == 0.7
    need = lines["debt_facility_gpu-term-loan_usd"] / 0.7
    assert [format_usd(v) for v in need] == ["$234.3M", "$213.4M", "$192.5M", "$171.5M", "$149.3M", "$132.7M",
                                             "$116.2M", "$99.6M"]  # fmt: skip
    assert format_usd(lines["collateral_value_usd"][-1]) == "$106.7M"
    run = SimpleNamespace(data=data, statements=statements, milp_only="")
    assert in_short._no_room_words(run) == ", with no room on the borrowing base in 7 of 8 quarters,"
    lines["collateral_value_usd"] = lines["collateral_value_usd"].copy()
    lines["collateral_value_usd"][0] *= 1 + 1e-5
    assert in_short._no_room_words(run) == ", with no room on the borrowing base in 6 of 8 quarters,"
    lines["ebitda_usd"] = lines["ebitda_usd"].copy()  # EBITDA at 1.4x the debt service of 2026Q4 and 2027Q1
    lines["ebitda_usd"][1:3] = 1.4 * lines["debt_service_usd"][1:3]
    run.milp_only = page.MILP_ONLY
    assert in_short._no_room_words(run) == (
        ", with no room on EBITDA / debt service in 2 of 7 quarters tested and the borrowing base in 6 of 8 "
        f"quarters ({page.MILP_ONLY}),"
    )


def test_the_optimiser_s_plan_name_is_defined(runs):
    """A CFO met 'Key figures of milp' with no word of what milp is."""
    for kind in ("solve", "evaluate", "sweep"):
        assert "Definitions milp a plan named milp is the optimiser's" in text_of(runs[kind]), kind


def test_forecast_figures_are_labelled_and_dscr_scope_stated(runs):
    text = text_of(runs["evaluate"])
    for label in ("NPV on the forecast", "peak debt on the forecast", "lowest cash on the forecast (2026Q3)",
                  "lowest DSCR on the forecast, quarters tested from 2026Q4"):  # fmt: skip
        assert label in text  # the lowest cash's quarter: before the covenants' first test


def test_a_solve_report_says_its_figures_are_of_the_forecast_and_how_to_test_others(runs):
    """tiny's plan is within every limit on the forecast and breaches in most scenarios: the solve's
    report said nothing of the other futures."""
    text = text_of(runs["solve"])
    assert f"the one future the MILP plans for. How often it breaches a covenant or defaults in others: " \
           f"fleetopt evaluate --plans {runs['solve']}" in text
    assert "fleetopt evaluate --plans" not in text_of(runs["evaluate"])


def test_a_solve_report_gives_each_facility_s_terms_and_balances(runs):
    """A finance review found no debt schedule in the report (the notes' maturities and whether they
    are refinanced were nowhere): a row per facility, its terms in one table and its balances, the
    statements' own, in USD as the second table's title says, in the next."""
    html = html_of(runs["solve"])
    terms = html[html.index("Debt by facility of"):]
    terms, table = terms.split("</table>", 2)[:2]
    assert "amortizing over 20 quarters" in terms and "8.10% floating" in terms
    assert "<h3>Balance of each facility (USD)</h3>" in table
    assert ">2027Q4<" in table  # the balance at the end of 2027Q4, said so by the caption
    said = " ".join(text_of(runs["solve"]).split())
    assert "The revolver, which the scenarios draw when cash runs short, is not a facility here." in said
    assert "assumed refinanced at the spread shown" not in said  # tiny refinances no bullet
    balance = pd.read_csv(runs["solve"] / "statements.csv")["debt_facility_gpu-term-loan_usd"]
    last = float(re.findall(r'data-v="([^"]+)"', table)[-1])  # the end of 2028Q2, the horizon's last
    assert last == pytest.approx(balance.iloc[-1], rel=1e-9)


def test_a_solve_report_gives_the_scheduled_principal_by_year_until_the_debt_is_repaid(runs):
    """A treasurer found tiny's term loan "outstanding at the horizon's end" ($69.7M) and no repayments
    by year after it. By hand: the $200.0M opening balance amortizes over 20 quarters, $10.0M a quarter
    from 2026Q3 ($20.0M in 2026's two quarters, $40.0M in 2027, $20.0M in 2028's first two); the plan
    prepays $50.3M, which retires the last instalments, so $200.0M - 8 x $10.0M - $50.3M = $69.7M is
    left, repaid at $10.0M a quarter from 2028Q3: $20.0M in 2028, $40.0M in 2029 and the last $9.7M in
    2030Q1. The rows after the horizon add up to the debt at its end, which the NPV deducts at face."""
    statements = pd.read_csv(runs["solve"] / "statements.csv")
    prepaid = statements["prepayment_usd"].sum()
    assert format_usd(prepaid) == "$50.3M" and statements["draws_usd"].sum() == 0
    left = 200e6 - 8 * 10e6 - prepaid
    assert left == pytest.approx(statements["debt_facility_gpu-term-loan_usd"].iloc[-1], abs=1.0)
    html = html_of(runs["solve"])
    table = html.split("<h3>Scheduled principal by year (USD)</h3>", 1)[1].split("</table>", 1)[0]
    rows = [[unescape(cell) for cell in re.findall(r"<td[^>]*>([^<]*)</td>", row)]
            for row in re.findall(r"<tr>(.*?)</tr>", table.split("<tbody>", 1)[1])]  # fmt: skip
    assert table_headers(html, "Scheduled principal by year") == ["year", "when", "gpu-term-loan",
                                                                  "all facilities"]  # fmt: skip
    assert rows == [
        ["2026", "in the horizon", "$20.0M", "$20.0M"],
        ["2027", "in the horizon", "$40.0M", "$40.0M"],
        ["2028", "in the horizon", "$20.0M", "$20.0M"],
        ["2028", "after the horizon", "$20.0M", "$20.0M"],
        ["2029", "after the horizon", "$40.0M", "$40.0M"],
        ["2030", "after the horizon", format_usd(left - 60e6), format_usd(left - 60e6)],
    ]
    assert format_usd(left - 60e6) == "$9.7M"
    assert (f"The rows after the horizon add up to the debt at its end, {format_usd(left)} at the end of "
            "2028Q2, which the NPV deducts at face in 2028Q2") in text_of(runs["solve"])


def test_the_scheduled_principal_after_the_horizon_follows_each_facility_s_terms():
    """Three facilities of a three-quarter horizon, by hand. Amortizing over 4 quarters: an opening 400
    (100 a quarter from quarter 0), 100 drawn in quarter 1 (25 a quarter from quarter 2), 50 prepaid in
    quarter 2: 100, 100, 125 in the horizon, then 125 in quarter 3, and nothing after: the prepayment
    retired the draw's last two instalments. A bullet of 300 maturing in quarter 5, after the horizon,
    refinanced then: 300 due in quarter 5 (its refinancing is a new loan). A bullet of 300 refinanced in
    quarter 1, inside the horizon: no instalment, its 300 left with no date."""
    from fleetopt.report.debt_maturity import _repaid_by_quarter

    loan = load("tiny")[1].facilities[0]
    amortizing = dataclasses.replace(loan, opening_usd=400.0, amortization_quarters=4)
    paid, left = _repaid_by_quarter(amortizing, np.array([0.0, 100.0, 0.0]), np.array([0.0, 0.0, 50.0]), 3)
    assert list(paid) == [100.0, 100.0, 125.0, 125.0, 0.0, 0.0, 0.0] and left == 0.0
    notes = dataclasses.replace(loan, opening_usd=300.0, amortization_quarters=None, maturity=5,
                                refinanced=True)
    paid, left = _repaid_by_quarter(notes, np.zeros(3), np.zeros(3), 3)
    assert list(paid) == [0.0, 0.0, 0.0, 0.0, 0.0, 300.0] and left == 0.0
    paid, left = _repaid_by_quarter(dataclasses.replace(notes, maturity=1), np.zeros(3), np.zeros(3), 3)
    assert not paid.any() and left == 300.0


def test_a_report_says_what_its_figures_assume_that_a_lender_would_question(runs):
    """The caveats of docs/calibration.md never reached the mailed report (a finance review: "lower
    bound" appeared nowhere): every report lists the plan's, an evaluation's the scenarios' too (an
    evaluation on the forecast alone: the plan's only)."""
    from fleetopt.report.definitions import PLAN_ASSUMPTIONS, SCENARIO_ASSUMPTIONS

    grace = "The covenants are not tested before 2026Q4 (finance.covenants.test_from)"  # tiny's
    for kind, scenarios in (("evaluate", True), ("sweep", True), ("solve", False), ("deterministic", False)):
        text = " ".join(text_of(runs[kind]).split())
        assert "What these figures assume" in text and grace in text, kind
        assert all(" ".join(words.split()) in text for words in PLAN_ASSUMPTIONS), kind
        assert all((" ".join(words.split()) in text) == scenarios for words in SCENARIO_ASSUMPTIONS), kind
        assert "assumed refinanced at maturity" not in text  # tiny has no bullet
    assert "P(liquidity default) is a lower bound" in " ".join(text_of(runs["evaluate"]).split())


def test_the_assumptions_name_the_model_s_refinanced_notes_and_grace_only_where_it_has_them():
    """The grace of finance.covenants.test_from was said of models without covenants, and the
    refinancing of models without a bullet (a review); P(covenant breach) of a model that tests
    no covenant was counted "in any of the T quarters"."""
    from milp_builders import base_model, data_of

    from fleetopt import api
    from fleetopt.report.definitions import _assumptions
    from fleetopt.report.key_figures import _breach_quarters

    data = api.load("neocloud")[1]
    said = " ".join(_assumptions(SimpleNamespace(data=data, metrics=None, summary={})))
    notes = "senior-notes-2030, senior-notes-2031, convertible-notes-2031, convertible-notes-2032"
    assert f"{notes} are assumed refinanced at maturity" in said
    assert "The covenants are not tested before 2027Q1" in said
    assert "no customer defaults" in said
    bare = data_of(base_model())  # no covenants, no facility
    said = " ".join(_assumptions(SimpleNamespace(data=bare, metrics=None, summary={})))
    assert "refinanced" not in said and "not tested before" not in said
    lab = api.load("lab")[1]  # no contracts: no customer to default (a lab team's review)
    said = " ".join(_assumptions(SimpleNamespace(data=lab, metrics=None, summary={})))
    assert "customer" not in said and "The forecast has no late power; in the scenarios" in said
    assert "contract" not in said
    assert _breach_quarters(bare) == "no quarter (the model tests no covenant in its horizon)"


def test_the_assumptions_say_no_contract_is_signed_beyond_the_model_s():
    """The default model's contracts bring 92 % of 2026's revenue and none of 2033's: the book runs off and
    nothing replaces it (docs/calibration.md, "The horizon's end"), which its report's assumptions did not
    say. tiny, with contracts, says it; a model without contracts (a lab's) has none to renew."""
    from fleetopt import api
    from fleetopt.report.definitions import _assumptions

    for name, said in (("tiny", True), ("neocloud", True), ("lab", False)):
        data = api.load(name)[1]
        assumed = " ".join(_assumptions(SimpleNamespace(data=data, metrics=None, summary={})))
        assert ("never contracted again, though a company would sign new contracts" in assumed) is said, name


def test_the_assumptions_write_the_revolver_rate_as_given():
    """tiny's revolver at 8.25 % a year read "at 8.2% a year" (one decimal of a per cent) in the
    report's assumptions, where the key figures write rates to four significant digits."""
    from fleetopt import api
    from fleetopt.report.definitions import _assumptions

    data = api.load(api.edit("tiny", {"finance.revolver.annual_rate": 0.0825}))[1]
    said = " ".join(_assumptions(SimpleNamespace(data=data, metrics=None, summary={})))
    assert "($100.0M at 8.25% a year on the balance drawn)" in said


def test_a_covenant_ratio_by_its_limit_is_not_rounded_onto_it():
    """The key figures wrote a DSCR of 1.396 against a 1.4x minimum as "lowest 1.40x (minimum 1.4x)"
    beside "breached", and a leverage of 5.996 as "highest 6.00x (maximum 6x)": ratios by their
    limit are written to three decimals, as the untested breaches already were (core/results/covenant_words.py
    ratio_words)."""
    from fleetopt import api
    from fleetopt.report.key_figures import _headroom_kpis

    data = api.load("tiny")[1]  # leverage at most 6x, DSCR at least 1.4x
    room = {"dscr": 1.396 / 1.4 - 1.0, "leverage": 1.0 - 5.996 / 6.0}
    run = SimpleNamespace(data=data, trailing_year={}, milp_only="")
    said = unescape(" ".join(_headroom_kpis(run, {"covenant_headroom": room}, "2026Q3")))
    assert "lowest 1.396x (minimum 1.4x); breached" in said
    assert "highest 5.996x (maximum 6x)" in said
    room = {"dscr": 1.95 / 1.4 - 1.0}  # far from it: two decimals
    said = unescape(" ".join(_headroom_kpis(run, {"covenant_headroom": room}, "2026Q3")))
    assert "lowest 1.95x (minimum 1.4x)" in said


def test_a_share_of_debt_by_its_limit_is_not_rounded_onto_it():
    """Cash at 9.6 % of debt against a 10 % minimum read "lowest 10% (minimum 10%); breached" in the
    key figures (and "cash / debt 10% in 2026Q4 (minimum 10%)" in the untested breaches): a share
    of debt was written to a whole per cent whatever its limit. Where that rounds it onto the limit
    it is written to the hundredth of a per cent, as a ratio is to three decimals; far from it, whole."""
    from fleetopt import api
    from fleetopt.core.results.covenant_words import ratio_words
    from fleetopt.report.key_figures import _headroom_kpis

    data = api.load(api.edit("tiny", {"finance.covenants.min_liquidity_fraction_of_debt": 0.10}))[1]
    run = SimpleNamespace(data=data, trailing_year={}, milp_only="")
    room = {"liquidity_fraction": 0.096 / 0.10 - 1.0}
    said = unescape(" ".join(_headroom_kpis(run, {"covenant_headroom": room}, "2026Q3")))
    assert "lowest 9.60% (minimum 10%); breached" in said
    kind = next(test.kind for test in data.covenants if test.kind.name == "liquidity_fraction")
    assert (ratio_words(kind, 0.1004, 0.10), ratio_words(kind, 0.25, 0.10)) == ("10.04%", "25%")


def test_the_borrowing_base_used_by_its_limit_is_not_rounded_onto_it():
    """GPU-secured balances needing 100.4 % of the fleet's resale value read "need at most 100% of the
    whole fleet's resale value (limit 100%); breached": as a share of debt, it is written to the
    hundredth of a per cent where a whole one would meet the limit (covenant_words.share_words)."""
    from fleetopt import api
    from fleetopt.report.key_figures import _headroom_kpis

    data = api.load("tiny")[1]  # a GPU-term loan at most 65 % of the GPUs' resale value
    run = SimpleNamespace(data=data, trailing_year={}, milp_only="")
    for used, said in ((1.004, "100.40%"), (0.996, "99.60%"), (0.8, "80%")):
        room = {"borrowing_base": 1.0 - used}
        text = unescape(" ".join(_headroom_kpis(run, {"covenant_headroom": room}, "2026Q3")))
        assert f"need at most {said} of the whole fleet's resale value (limit 100%)" in text, text


def test_a_solve_report_gives_each_year_s_share_of_revenue_under_contract(runs):
    """The horizon's 41 % under contract hid the run-off, 92 % in 2026 to 10 % in 2032 (a credit
    analyst's review): each year's share, from the statements; tiny's first and last years, which
    its horizon (2026Q3-2028Q2) covers in half, named with their quarters ('2026 92%' read as the
    whole year's)."""
    lines = pd.read_csv(runs["solve"] / "statements.csv")
    by_year = lines.assign(year=lines["quarter"].str[:4]).groupby("year")
    years = by_year[["revenue_contracts_usd", "revenue_usd"]].sum()
    years.index = ["2026 (Q3-Q4)", "2027", "2028 (Q1-Q2)"]
    shares = ", ".join(f"{y} {r.revenue_contracts_usd / r.revenue_usd:.0%}" for y, r in years.iterrows())
    # a sentence, not a tile's figure: listed under the tiles, its words before it
    assert f"share of each year's revenue under contract {shares}" in " ".join(text_of(runs["solve"]).split())


def test_a_report_of_a_one_quarter_ebitda_model_gives_each_flow_covenant_on_the_trailing_year(runs):
    """tiny tests each quarter's own EBITDA, as the default model does, whose lowest DSCR 1.62x is a
    breach on the trailing year's averages (a credit analyst's review: most facilities test that):
    beside each covenant on a flow, its cushion on the trailing four quarters' averages, in the
    report and in the solve's terminal output (which once left it out)."""
    from fleetopt import api
    from fleetopt.cli.render.solve import solve_summary_tables
    from fleetopt.cli.render.tables import plain_text
    from fleetopt.core.results.covenant_words import covenant_headroom, trailing_year_headroom

    result = api.solve("tiny")
    yearly = covenant_headroom(result.data, result.statements, 4)
    trailing = trailing_year_headroom(result.data, result.statements)
    quarters = {name: quarter for name, (_, quarter) in trailing.items()}
    text = " ".join(text_of(runs["solve"]).split())
    terminal = " ".join(plain_text(solve_summary_tables(result), width=400).split()).replace("│ ", "")
    for test in result.data.covenants:
        said = (f"if tested on the trailing four quarters' averages (the model tests each quarter's own), "
                f"{test.cushion_words(yearly[test.kind.name])}, "
                f"tightest in {quarters[test.kind.name]}")
        assert (said in text) == (test.kind.name in ("leverage", "dscr")), test.kind.name
        assert (said in terminal) == (test.kind.name in ("leverage", "dscr")), test.kind.name


def test_a_solve_report_gives_the_npv_with_cash_held_as_the_terminal_does(runs):
    """The terminal printed the NPV with cash held to the end ($14.91B on the default model against
    $18.69B) and the report left it out (from a finance reader's review)."""
    summary = json.loads((runs["solve"] / "summary.json").read_text())
    text = text_of(runs["solve"])
    held, timing = format_usd(summary["npv_cash_held_usd"]), format_usd(summary["cash_timing_credit_usd"])
    assert f"{held} NPV with cash held to the end: the NPV counts each quarter's change in cash as paid " \
           f"out then; {timing} of the NPV comes from that timing" in text


def test_the_debt_an_uncured_breach_leaves_wholly_covered_reads_all_of_it(runs):
    """'100.0%' of the debt covered at an uncured breach read as a share capped at 100 %. In tiny's
    evaluation no uncured breach leaves any debt uncovered ($0 uncovered, mean over all scenarios), so
    the share, 1 - 0 / the debt owed, is the whole debt: 'all of it'. A share a tenth of a point
    short of it is written to the hundredth (99.96 %, not 100.0 %); any other to a tenth."""
    from fleetopt.report.key_figures import _covered_words

    row = pd.read_csv(runs["evaluate"] / "metrics.csv").iloc[0]
    assert row["uncured_breach_probability"] > 0 and row["uncovered_debt_at_uncured_breach_mean_usd"] == 0
    assert row["debt_covered_at_uncured_breach"] == 1.0
    assert "all of it share of it that selling the GPUs then held and the cash would repay" in text_of(
        runs["evaluate"])
    assert [_covered_words(share) for share in (1.0, 0.9996, 0.876, float("nan"))] == [
        "all of it", "99.96%", "87.6%", "n/a"]


def test_the_npv_s_end_part_says_its_gpus_are_a_quarter_older_than_the_statements_last_quarter(runs):
    """A treasurer found tiny's terminal assets, $92.3M, below the statements' last quarter's GPU resale
    value less the 5 % selling cost, $101.3M, and nothing on the page said why: the end prices the GPUs
    at their age at the horizon's end (formulation §6), a quarter older. By hand: 2,000 B200 bought in
    2026Q3 at $60,000 and 9,396.7 H100 of 2024Q1 at $50,000 (9,600 less the 61.5 and 141.8 retired),
    on tiny's curve (0.80, 0.50, 0.34, 0.24, 0.14, 0.10 by year of age, linear between): in 2028Q2, aged
    1.75 and 4.25 years, 0.38 and 0.13 of their capex, $106.7M, $101.3M after selling costs; at the
    horizon's end, aged 2 and 4.5 years, 0.34 and 0.12, x 0.95: $92.3M."""
    b200, h100 = 2_000 * 60_000, (9_600 - 61.5 - 141.8) * 50_000
    last_quarter, at_end = b200 * 0.38 + h100 * 0.13, 0.95 * (b200 * 0.34 + h100 * 0.12)
    statements = pd.read_csv(runs["solve"] / "statements.csv")
    assert format_usd(statements["fleet_resale_value_usd"].iloc[-1]) == format_usd(last_quarter) == "$106.7M"
    assert format_usd(0.95 * last_quarter) == "$101.3M"
    assert format_usd(summary_of(runs["solve"])["terminal_assets_usd"]) == format_usd(at_end) == "$92.3M"
    text = text_of(runs["solve"])
    assert ("GPUs at resale and power plant at book $92.3M - tax on their sale $0 - debt $69.7M); the GPUs "
            "at their resale value at the horizon's end, a quarter older than in the last quarter's "
            "statements, less selling costs (formulation §6)") in text


def test_on_the_forecast_is_the_plan_run_with_its_own_policy(runs):
    """The pick of tiny's sweep with 1,000 B200 of yours is "yours: purchases.csv, cash buffer $29.2M":
    run on the forecast with its $29.2M buffer, the policy cuts 2027Q4's planned $27.4M prepayment to
    $20.6M (docs/evaluation.md, policy rule 3), so it owes $26.9M after that quarter (the MILP's
    statements: $20.0M) and its NPV is -$36.4M, not the statements' -$36.6M (figures read from the
    run). The key figures, the table of the run's quarters and the candidates table all say -$36.4M
    (candidates.csv, forecast_npvs); the figures only the MILP's statements have are marked as such."""
    folder = runs["breach"]
    pick = summary_of(folder)["recommended"]
    assert pick == "yours: purchases.csv, cash buffer $29.2M"  # a pick whose policy reacts on the forecast
    forecast_npv = pd.read_csv(folder / "candidates.csv").set_index("plan").loc[pick, "forecast_npv_usd"]
    run = reading.read_report_run(folder)
    assert run.forecast.npv_usd == pytest.approx(forecast_npv, abs=0.01)
    assert run.forecast.reacts and run.forecast.npv_usd > run.statements.npv_usd + 1e5
    assert (format_usd(forecast_npv), format_usd(run.statements.npv_usd)) == ("-$36.4M", "-$36.6M")
    assert run.forecast.lines["prepayment_usd"][5] == pytest.approx(20_561_469.6, abs=1.0)
    assert run.statements.lines["prepayment_usd"][5] == pytest.approx(27_440_000.0, abs=1.0)
    assert run.forecast.lines["debt_usd"][5] == pytest.approx(26_878_530.4, abs=1.0)
    assert run.statements.lines["debt_usd"][5] == pytest.approx(20e6, abs=1.0)
    text = text_of(folder)
    assert f"{format_usd(forecast_npv)} NPV on the forecast" in text
    assert f"{format_usd(run.statements.npv_usd)} NPV on the forecast" not in text
    # the run's quarters, not the statements': 2027Q4 prepays $20.6M and ends owing $26.9M
    quarters = text.split(f"Quarterly figures of {pick} on the forecast, run with its policy", 1)[1]
    row = quarters.split(" 2027Q4 ", 1)[1].split(" 2028Q1 ", 1)[0].split()  # EBITDA, ..., debt prepaid, ...
    assert (row[3], row[-1]) == ("$20.6M", "$26.9M")  # its debt prepaid and its debt at quarter end
    marked = "(the plan's statements, as planned)"
    assert f"lowest DSCR on the forecast, quarters tested from 2026Q4 {marked}" in text
    # the end part shown is of the MILP's NPV, not of the -$11.1M above: named with its own value
    assert f"of the MILP plan's NPV {format_usd(run.statements.npv_usd)}, at the end (present value)" in text
    assert f"Quarterly figures of {pick} on the forecast, run with its policy" in text
    assert "revolver drawn at quarter end" in text  # the debt column includes it
    assert f"MILP statements of {pick}, as planned (USD)" in text
    assert "'the plan's statements, as planned': a figure of the plan's statements under this model, its " \
           "decisions as planned with no reaction of its policy (the MILP's own statements under the model " \
           "it was solved with). On the forecast with its policy cash buffer of $29.2M the policy defers " \
           "orders or cuts prepayments" in text  # fmt: skip


def test_the_cash_timing_and_other_rates_name_the_milp_npv_they_are_of(runs):
    """Beside "NPV on the forecast" of a pick whose policy reacts there (-$36.4M on tiny's sweep
    with 1,000 B200 of yours), the NPV with cash held and at other rates are the MILP's statements'
    (-$36.6M): the part the cash's timing makes, -$36.6M less the NPV with cash held, and the NPVs at
    10 % and 20 %, are of that NPV, which the report names, as it names it for the end part (the
    default model's sweep: "$3.37B of the NPV" beside $13.64B, where it is $15.39B less $12.02B)."""
    folder = runs["breach"]
    run = reading.read_report_run(folder)
    assert run.milp_only
    fig, milp_npv = run.figures, format_usd(run.statements.npv_usd)
    held = fig["npv_cash_held_usd"]
    assert fig["cash_timing_credit_usd"] == pytest.approx(run.statements.npv_usd - held, abs=1.0)
    text = text_of(folder)
    timing = format_usd(fig["cash_timing_credit_usd"])
    assert f"{timing} of the MILP plan's NPV {milp_npv} comes from that timing" in text
    assert f"{timing} of the NPV comes from that timing" not in text
    assert f"above the model's 15%, at which the MILP plan's NPV is {milp_npv} (formulation §6)" in text


def test_a_plan_serving_a_contract_short_is_reported_with_that_reason(runs, tmp_path):
    """The sweep's lost-customer stress optimum serves its customer's signed contracts nothing: on
    the forecast they are delivered short (late, then cancelled), so the report marks the MILP's
    figures and says why, not that a cash buffer did it (it has none)."""
    from fleetopt import api
    from fleetopt.evaluate.planfile import save_plans

    loaded, data = api.load("tiny")
    plan = api.solve(loaded).plan
    k = next(k for k, c in enumerate(data.contracts) if c.signed)
    plan.contract_gpus[k] = 0.0  # its GPUs stay in service, on the market
    save_plans(tmp_path / "short.npz", [plan], ["short"], data.model.name, loaded.content_hash)
    code, _, err = run_cli("evaluate", "tiny", "--plans", str(tmp_path / "short.npz"), "--deterministic",
                           "--out", str(tmp_path / "E"), "--report")  # fmt: skip
    assert code == 0, err
    text = text_of(tmp_path / "E")
    assert "(the plan's statements, as planned)" in text
    assert "On the forecast a contract it serves with fewer GPUs than the contract has is delivered short " \
           "(late, then cancelled)" in text  # fmt: skip
    assert "policy cash buffer" not in text.split("On the forecast", 1)[1][:120]


def test_a_run_whose_plan_file_breaks_a_hard_limit_is_not_reported(runs, tmp_path):
    """A plan.npz edited to serve a contract five times over was reported as +$127.2M on the
    forecast, while `evaluate` refused the same file."""
    from fleetopt import api
    from fleetopt.evaluate.planfile import load_plans, save_plans

    folder = tmp_path / "S"
    shutil.copytree(runs["solve"], folder)
    (folder / "report.html").unlink()
    summary = json.loads((folder / "summary.json").read_text())
    del summary["plan_sha256"]  # as a run written before solves kept it (else that check comes first)
    (folder / "summary.json").write_text(json.dumps(summary))
    _, data = api.load("tiny")
    plans, labels, meta = load_plans(folder / "plan.npz", data)
    plans[0].contract_gpus[0, 0, 0, 2] += 16000.0
    save_plans(folder / "plan.npz", plans, labels, data.model.name, meta["model_hash"])
    code, _, err = run_cli("report", str(folder))
    assert code == 2, err
    assert "serves contract 'lab-a-training' with 20,000 GPUs in 2027Q1, more than its 4,000" in err
    assert not (folder / "report.html").exists()


def test_a_solve_run_whose_plan_file_was_replaced_is_not_reported(runs, tmp_path):
    """Another run's plan.npz copied into a solve folder gave a report whose provenance (the
    objective, from summary.json) and key figures (from the plan) were of two plans, with no word:
    summary.json keeps the SHA-256 of the plan.npz the solve wrote, and the report checks it."""
    from fleetopt import api

    folder = tmp_path / "S"
    shutil.copytree(runs["solve"], folder)
    (folder / "report.html").unlink()
    other = api.solve("tiny", purchases=_purchases(tmp_path, "2026Q4,B200,texas,2000"))
    shutil.copy(api.write_solve_run(other, out=tmp_path / "other") / "plan.npz", folder / "plan.npz")
    code, _, err = run_cli("report", str(folder))
    assert code == 2, err
    assert "plan.npz changed since the run wrote it" in err and "restore it, or solve again" in err
    assert not (folder / "report.html").exists()


def _purchases(folder: Path, *rows: str) -> Path:
    path = folder / "purchases.csv"
    path.write_text("\n".join(["quarter,sku,site,gpus", *rows]) + "\n")
    return path


def test_on_the_forecast_without_a_buffer_is_the_statements(runs):
    """The solve's plan runs with the model's policy (tiny: no buffer): nothing reacts on the
    forecast, the run's NPV is the statements' (to $1) and nothing is marked."""
    run = reading.read_report_run(runs["solve"])
    assert not run.forecast.reacts and run.milp_only == ""
    assert run.forecast.npv_usd == pytest.approx(run.statements.npv_usd, abs=1.0)
    assert "(the plan's statements, as planned)" not in text_of(runs["solve"])


def test_evaluate_shows_new_metrics_with_their_values(runs):
    row = pd.read_csv(runs["evaluate"] / "metrics.csv").iloc[0]
    text = text_of(runs["evaluate"])
    mean = format_mean_and_error(row["npv_mean_usd"], row["npv_mean_se_usd"])
    assert f"{mean} mean NPV ± standard error" in text
    assert f"{row['loss_probability']:.1%} P(NPV < 0)" in text
    no_default = "mean NPV of the scenarios with no liquidity default"
    assert f"{format_usd(row['npv_mean_no_default_usd'])} {no_default}" in text
    assert f"{format_usd(row['expected_min_cash_usd'])} mean over scenarios of the lowest cash" in text


def test_the_mean_npv_without_a_default_names_the_default_it_leaves_out(runs):
    """tiny's plan never runs out of cash (P(liquidity default) 0) but most scenarios breach a covenant
    uncured (P(any default) well above 0): the mean NPV without a default is over every scenario, so
    its label names the liquidity default, not "no default" beside P(any default) (a finance review)."""
    row = pd.read_csv(runs["evaluate"] / "metrics.csv").iloc[0]
    assert row["default_probability"] == 0 and row["any_default_probability"] > 0
    assert row["npv_mean_no_default_usd"] == pytest.approx(row["npv_mean_usd"])
    text = text_of(runs["evaluate"])
    assert "mean NPV of the scenarios with no liquidity default" in text
    assert "mean NPV, no liq. default" in table_headers(html_of(runs["evaluate"]), "The plan and its risk")
    assert "with no default" not in text and "NPV, no default" not in text


def test_evaluate_shows_every_policy_reaction_as_a_share_of_scenarios(runs):
    """Each reaction of metrics.csv, with its value, among the key figures and in the table."""
    row = pd.read_csv(runs["evaluate"] / "metrics.csv").iloc[0]
    text = text_of(runs["evaluate"])
    for column, label in REACTION_LABELS.items():
        assert f"{row[column]:.1%} scenarios with: {label}" in text, label
    html = html_of(runs["evaluate"])
    table = html[html.index("What the policy had to do in the plan's scenarios") :]
    headers = table_headers(html, "What the policy had to do in the plan's scenarios")
    assert set(REACTION_LABELS.values()) <= set(headers)
    caption = table[table.index("</h3>") : table.index("<table")]
    assert "Shares of the scenarios with each reaction;" in caption


def test_evaluate_table_is_not_called_candidates(runs):
    text = text_of(runs["evaluate"])
    assert "The plan and its risk over 200 scenarios (seed 0)" in text
    assert "Candidates and their risk" not in text


def _histogram_markers(html: str) -> list[str]:
    """The NPV histogram's marker tooltips ('milp mean: $1.2M')."""
    chart = html.split("NPV distribution over scenarios", 1)[1].split("</svg>", 1)[0]
    return re.findall(r"<title>([^<:]*(?:mean|P5)[^<:]*: [^<]*)</title>", chart)


def _key_figure_markers(run_folder) -> list[str]:
    """The markers the histogram owes the run's one plan: metrics.csv's mean and P5, as the key figures
    write them."""
    metrics = pd.read_csv(run_folder / "metrics.csv").iloc[0]
    return [f"milp mean: {format_usd(metrics['npv_mean_usd'])}",
            f"milp P5: {format_usd(metrics['npv_p5_usd'])}"]


def test_the_npv_histogram_marks_the_key_figures(runs, monkeypatch):
    """The default model's report drew its NPV histogram from the charts' first 500 scenarios and
    marked their mean, $11.56B, and P5, -$17.65B, beside key figures of $12.84B and -$17.22B. With
    50 re-simulated for the other charts, the histogram is of all 200 and marks metrics.csv's mean
    and P5, written as the key figures write them; the caption says so."""
    monkeypatch.setattr("fleetopt.report.charts.FAN_SCENARIOS", 50)
    monkeypatch.setattr("fleetopt.report.charts.BREAK_BLOCK", 60)
    html = page.build_report(runs["evaluate"])
    assert _histogram_markers(html) == _key_figure_markers(runs["evaluate"])
    assert "scenario sample" not in html
    assert ("All 200 scenarios of the run (seed 0), re-simulated; mean and P5 marked are the key figures' "
            "above.") in unescape(html)
    assert _histogram_markers(html) == _histogram_markers(html_of(runs["evaluate"]))


def test_the_npv_histogram_of_a_large_run_marks_the_run_s_figures(runs, monkeypatch):
    """A run of more than BREAK_SCENARIOS_MAX scenarios (a GPU job's million): the bars are of its
    first ones, 120 of 200 here, and the mean and P5 marked still metrics.csv's, as the caption says."""
    monkeypatch.setattr("fleetopt.report.charts.FAN_SCENARIOS", 50)
    monkeypatch.setattr("fleetopt.report.charts.BREAK_SCENARIOS_MAX", 120)
    html = page.build_report(runs["evaluate"])
    assert _histogram_markers(html) == _key_figure_markers(runs["evaluate"])
    assert ("The first 120 of the run's 200 scenarios (seed 0), re-simulated; mean and P5 marked are of "
            "all 200, the key figures' above.") in unescape(html)


def test_the_chart_markers_of_a_sample_say_so(runs, monkeypatch):
    """Where the run's metrics give no mean and P5 for a plan, the histogram marks those of the
    scenarios drawn: of fewer than the run's, the markers' legend and tooltips name the sample."""
    monkeypatch.setattr("fleetopt.report.charts._run_figures", lambda run, label, shown: None)
    whole = page.build_report(runs["evaluate"])  # 200 scenarios, all re-simulated
    assert ">mean NPV</text>" in whole and "scenario sample" not in whole
    monkeypatch.setattr("fleetopt.report.charts.BREAK_SCENARIOS_MAX", 50)
    monkeypatch.setattr("fleetopt.report.charts.FAN_SCENARIOS", 50)
    html = page.build_report(runs["evaluate"])
    for marker in ("mean NPV", "P5 NPV"):
        assert f">{marker} (50-scenario sample)</text>" in html, marker
    assert re.search(r"<title>milp mean \(50-scenario sample\): -?\$[0-9.]+[kMB]</title>", html)
    assert ("The first 50 of the run's 200 scenarios (seed 0), re-simulated; mean and P5 of these 50, the "
            "key figures above use all 200.") in unescape(html)


def _break_points(html: str) -> list[str]:
    """The 'When ... breaks' chart's points, as its tooltips say them ('2028Q2: liquidity default 8.5%')."""
    chart = html.split("breaks: share of scenarios by the end of each quarter", 1)[1].split("</svg>", 1)[0]
    return re.findall(r"<title>([^<]*)</title>", chart)


def test_when_it_breaks_ends_at_the_key_figures(runs, monkeypatch):
    """The default model's report drew 'When it breaks' from the charts' 500 scenarios: it ended at
    19.2 % liquidity defaults where the key figures said 17.7 % of all 2,000. It is drawn from every
    scenario of the run: 200 here, with 50 re-simulated for the other charts and the rest simulated 60
    at a time, the chart is the one drawn from all 200 at once, and its last quarter's shares are
    metrics.csv's probabilities, as the key figures write them."""
    whole = _break_points(html_of(runs["evaluate"]))  # FAN_SCENARIOS >= 200: all in one piece
    monkeypatch.setattr("fleetopt.report.charts.FAN_SCENARIOS", 50)
    monkeypatch.setattr("fleetopt.report.charts.BREAK_BLOCK", 60)
    html = page.build_report(runs["evaluate"])
    assert _break_points(html) == whole
    metrics = pd.read_csv(runs["evaluate"] / "metrics.csv").iloc[0]
    last = load(TINY_PATH)[1].quarter_labels[-1]
    for line, figure in (("covenant breached", "breach_probability"), ("uncured breach",
                         "uncured_breach_probability"), ("liquidity default", "default_probability")):
        said = f"{last}: {line} {format_percent(metrics[figure])}"
        assert said in whole, (said, whole[-3:])
    assert "All 200 scenarios of the run (seed 0), re-simulated: the shares by the last quarter are the " \
           "key figures' above." in unescape(html)


def test_when_it_breaks_of_a_large_run_is_drawn_from_its_first_scenarios_and_says_so(runs, monkeypatch,
                                                                                      tmp_path):
    """A GPU job's million scenarios would be re-simulated on the CPU for this one chart (two
    minutes): at most BREAK_SCENARIOS_MAX are. With the cap at 120 of the run's 200, the chart is that
    of the first 120, its last quarter the probabilities of an evaluation of those 120 scenarios (the
    same seed's first), and the caption says the shares are within sampling error of the key figures'."""
    monkeypatch.setattr("fleetopt.report.charts.FAN_SCENARIOS", 50)
    monkeypatch.setattr("fleetopt.report.charts.BREAK_BLOCK", 60)
    monkeypatch.setattr("fleetopt.report.charts.BREAK_SCENARIOS_MAX", 120)
    html = page.build_report(runs["evaluate"])
    first = tmp_path / "first"
    code, _, err = run_cli("evaluate", "tiny", "--plans", str(runs["solve"]), "--scenarios", "120", "--out",
                           str(first))
    assert code == 0, err
    metrics = pd.read_csv(first / "metrics.csv").iloc[0]
    last = load(TINY_PATH)[1].quarter_labels[-1]
    points = _break_points(html)
    for line, figure in (("covenant breached", "breach_probability"),
                         ("liquidity default", "default_probability")):  # fmt: skip
        said = f"{last}: {line} {format_percent(metrics[figure])}"
        assert said in points, (said, points[-3:])
    assert ("The first 120 of the run's 200 scenarios (seed 0), re-simulated: the shares by the last quarter "
            "are within sampling error of the key figures' above, which are of all 200.") in unescape(html)


# ---------------------------------------------------------------- the sweep


def test_sweep_recommendation_states_rule_limits_and_pick_risk(runs):
    folder = runs["sweep"]
    summary, text = summary_of(folder), text_of(folder)
    metrics = pd.read_csv(folder / "candidates.csv")
    pick = metrics[metrics["plan"] == summary["recommended"]].iloc[0]
    # the rule once: in the sweep's why, not again in the report's words (a review of the report)
    assert f"Chosen by the rule ({summary['rule']})" in text and "Rule: the candidate" not in text
    assert summary["rule"] == ("best CVaR5 NPV, with no limit on the breach probability, liquidity default "
                               "probability or probability of any default")
    # all three the rule left unlimited, as its words say (P(any default) was left out)
    assert ("No limit was set on P(covenant breach) (--max-breach-prob), P(liquidity default) "
            "(--max-default-prob) or P(any default) (--max-any-default-prob)") in text
    # beside the liquidity default, the defaults lenders count (a treasurer read the first as those)
    said = (f"Its P(liquidity default) is {pick['default_probability']:.1%}, P(any default) "
            f"{pick['any_default_probability']:.1%}, P(covenant breach) {pick['breach_probability']:.1%}, "
            f"mean NPV {format_usd(pick['npv_mean_usd'])} and CVaR5 NPV {format_usd(pick['npv_cvar5_usd'])}.")
    assert said in text
    for dropped in summary["dropped"]:
        assert f"{dropped['plan']}: {dropped['status']}" in text
    # its buffer cuts nothing on the forecast: its quarters there are its statements
    assert f"Quarterly statements of {summary['recommended']} on the forecast (USD)" in text
    assert "run with its policy" not in text


def test_the_pareto_chart_says_its_front_has_a_third_figure(runs):
    """The chart plots mean NPV against CVaR5, but the front is of mean NPV, CVaR5 and P(covenant
    breach) (sweep/candidates.py, pareto_front): a point that looks dominated in the chart is on the
    front for its lower P(breach). Caption and table title say so, and the chart's key gives each
    P(breach): a table beside the chart, a row (number, plan, P(breach)) a candidate; the caption
    listed 22 candidates as one run-on paragraph."""
    text = text_of(runs["sweep"])
    metrics = pd.read_csv(runs["sweep"] / "candidates.csv")
    assert "The Pareto front is of three figures: mean NPV and CVaR5 NPV (higher is better) and " \
           "P(covenant breach) (lower is better)" in text  # fmt: skip
    key = re.search(r"<table class='key'[^>]*>(.*?)</table>", html_of(runs["sweep"]), re.S).group(1)
    rows = [[unescape(re.sub(r"<[^>]+>", "", c)) for c in re.findall(r"<td[^>]*>.*?</td>", r)]
            for r in re.findall(r"<tr[^>]*>(.*?)</tr>", key) if "<td" in r]  # fmt: skip
    summary = json.loads((runs["sweep"] / "summary.json").read_text())
    named = {summary["forecast_optimum"]: " (forecast optimum)", summary["recommended"]: " (recommendation)"}
    assert len(named) == 2 and not summary.get(BEST_MEAN_KEY)  # each role a plan of its own; no third plan
    assert rows == [[str(n + 1), r["plan"] + named.get(r["plan"], ""), f"{r['breach_probability']:.1%}"]
                    for n, r in metrics.iterrows()]  # fmt: skip
    assert "a bold blue number: Pareto front of mean NPV, CVaR5 NPV and P(covenant breach);" in text
    code, out, _ = run_cli("sweep", "tiny", "--candidates", "1", "--scenarios", "10", "--out",
                           str(runs["sweep"].parent / "one"))  # fmt: skip
    assert code == 0 and "* Pareto front of mean NPV, CVaR5 NPV and P(breach); > recommended" in out


def test_the_pareto_key_marks_a_plan_that_breaks_its_forecast(runs):
    """The candidates table marks '!' a plan that breaches or defaults on its own forecast; the
    Pareto chart's key beside it did not, so a reader picking from the chart saw no sign of it. The
    "breach" sweep: its fixed purchases (1,000 B200 in 2026Q4) miss tiny's DSCR on the forecast."""
    metrics = pd.read_csv(runs["breach"] / "candidates.csv")
    broken = ~metrics["forecast_within_limits"].astype(bool)
    assert broken.any() and not broken.all()
    html = html_of(runs["breach"])
    key = re.search(r"<table class='key'[^>]*>(.*?)</table>\s*<p class='cap'>(.*?)</p>", html, re.S)
    rows = (re.findall(r"<td[^>]*>.*?</td>", r) for r in re.findall(r"<tr[^>]*>(.*?)</tr>", key.group(1)))
    plans = [unescape(re.sub(r"<[^>]+>", "", cells[1])) for cells in rows if cells]
    roles = r" \((forecast optimum|recommendation)\)$"  # what a plan is to the sweep, after its name
    assert [re.sub(roles, "", plan) for plan in plans] == [
        ("! " if b else "") + p for p, b in zip(metrics["plan"], broken, strict=True)]
    assert "!: breaches a covenant or defaults on the forecast itself." in unescape(key.group(2))


def test_rule_text_names_set_and_missing_limits():
    from fleetopt.sweep.rule import Rule

    unlimited = {"forecast_within_limits": False, "no_riskier_than_optimum": False}

    def of(**fields):  # a sweep as written now: its rule's fields in summary.json
        return SimpleNamespace(folder=Path("S"), job={}, summary={"rule_settings": vars(Rule(**fields))})

    text = _rule_text(of(prefer="mean", max_breach_prob=0.1, **unlimited))
    assert text.startswith(
        "Rule: the candidate with the highest mean NPV among those with P(covenant breach)"
    )
    assert "P(covenant breach) at most 0.1 (10%)" in text  # as --max-breach-prob gave it, not 10.00%
    assert ("No limit was set on P(liquidity default) (--max-default-prob) or P(any default) "
            "(--max-any-default-prob)") in text  # fmt: skip
    both = of(prefer="p5", max_breach_prob=0.1, max_default_prob=0.02, **unlimited)
    assert _rule_text(both).endswith("No limit was set on P(any default) (--max-any-default-prob): the pick "
                                     "can carry any such risk; set one to exclude risky candidates.")
    every = of(prefer="p5", max_breach_prob=0.1, max_default_prob=0.02, max_any_default_prob=0.3, **unlimited)
    assert "No limit" not in _rule_text(every) and "P(any default) at most 0.3 (30%)" in _rule_text(every)
    older = SimpleNamespace(folder=Path("S"), job={}, summary={"rule": "best CVaR5 NPV"})
    assert "No limit on P(covenant breach) or P(liquidity default) was set" in _rule_text(older)
    assert _rule_text(of(no_riskier_than_optimum=False)).startswith(
        "Rule: the candidate with the highest CVaR5 NPV among those with no covenant breach or liquidity "
        "default on the forecast itself."
    )
    assert _rule_text(of()) == (
        "Rule: the candidate with the highest CVaR5 NPV among those with no covenant breach or liquidity "
        "default on the forecast itself and P(covenant breach), P(liquidity default) and P(any default) no "
        "higher than the forecast optimum's."
    )
    # a sweep before P(any default) joined the optimum's risks: its report says the two its rule kept
    before = of()
    before.summary["rule"] = ("best CVaR5 NPV among plans with no breach or default on the forecast "
                              "and breach and liquidity default probabilities no higher than the "
                              "forecast optimum's")  # fmt: skip
    assert _rule_text(before).endswith("P(covenant breach) and P(liquidity default) no higher than the "
                                       "forecast optimum's.")
    # a sweep written before summary.json kept the fields: job.json's rule where the summary's words
    # are its, else those words (it was resumed with a looser rule)
    started = vars(Rule(max_breach_prob=0.0001))
    said = Rule(**started).describe()
    kept = SimpleNamespace(folder=Path("S"), job={"rule": started}, summary={"rule": said})
    assert "P(covenant breach) at most 0.0001 (0.01%)" in _rule_text(kept)
    loosened = Rule(max_breach_prob=1.0).describe()
    resumed = SimpleNamespace(folder=Path("S"), job={"rule": started}, summary={"rule": loosened})
    assert _rule_text(resumed) == f"Rule: {loosened}."


def test_a_breach_limit_the_user_gave_is_written_as_given():
    """--max-breach-prob 0.00001 read "at most 0.00%" in the report's rule and in its "The plan shown"
    sentence, as if no breach were allowed, and 0.125 "12.50%": the limit is written as it was given."""
    from fleetopt.evaluate.metrics import ranking_words
    from fleetopt.sweep.rule import Rule

    for limit, words in ((1e-5, "0.001%"), (0.125, "12.5%")):
        rule = Rule(max_breach_prob=limit)
        kept = SimpleNamespace(folder=Path("S"), job={"rule": vars(rule)}, summary={"rule": rule.describe()})
        assert f"P(covenant breach) at most {limit:.4g} ({words})" in _rule_text(kept)
        assert ranking_words("mean", limit).endswith(f"among plans with P(covenant breach) at most {words}")


def test_the_plans_table_gives_the_mean_npv_s_standard_error_in_the_mean_s_scale(runs):
    """The candidates table wrote the standard error of the mean NPV in a scale of its own, "$599.8k"
    and "$549.4M": four figures of a sampling error. It is now in the mean NPV column's scale, as the
    key figure's "-$19.9M ± $0.8M": tiny's $844.0k and $599.8k beside means in $M, $0.8M and $0.6M; the
    default model's $549.4M and $480.0M beside means in $B, $0.55B and $0.48B."""
    from fleetopt.report.candidates import _errors_in_the_mean_scale

    tiny = pd.DataFrame({"npv_mean_usd": [-19.9e6, -14.1e6], "npv_mean_se_usd": [844.0e3, 599.8e3]})
    assert list(_errors_in_the_mean_scale(tiny)["npv_mean_se_usd"]) == ["$0.8M", "$0.6M"]
    neocloud = pd.DataFrame({"npv_mean_usd": [12.8e9, 18.69e9], "npv_mean_se_usd": [549.4e6, 480.0e6]})
    assert list(_errors_in_the_mean_scale(neocloud)["npv_mean_se_usd"]) == ["$0.55B", "$0.48B"]
    lab = pd.DataFrame({"present_cost_mean_usd": [1_012_345_678.0], "present_cost_mean_se_usd": [10.4e6]})
    assert list(_errors_in_the_mean_scale(lab)["present_cost_mean_se_usd"]) == ["$10M"]  # not $0.01B
    row = pd.read_csv(runs["evaluate"] / "metrics.csv").iloc[0]
    html, title = html_of(runs["evaluate"]), "The plan and its risk over 200 scenarios"
    table = html.split(title, 1)[1].split("</table>", 1)[0]
    cells = dict(zip(table_headers(html, title), re.findall(r"<td[^>]*>([^<]*)</td>", table), strict=False))
    shown = error_beside(row["npv_mean_se_usd"], [row["npv_mean_usd"]])
    assert shown.endswith("M") and len(shown.split(".")[1]) == 2  # '$2.7M': one decimal of $M
    assert cells["mean NPV"] == format_usd(row["npv_mean_usd"]) and cells["SE of mean NPV"] == shown


def test_candidates_table_has_readable_headers_in_a_scroll_box(runs):
    html = html_of(runs["sweep"])
    headers = table_headers(html, "Candidates and their risk")
    assert "P(liquidity default)" in headers and "mean NPV, no liq. default" in headers
    assert not [h for h in headers if re.fullmatch(r"[a-z0-9]+(_[a-z0-9]+)+", h)], headers  # no snake_case
    assert '<div class="scroll"><table' in html and "overflow-x:auto" in html


# the heading of a sweep's table of its candidates' policy reactions
POLICY_TABLE = "What the policy had to do in each candidate's scenarios</h3>"


def test_the_candidates_policy_reactions_are_a_table_of_their_own_and_no_column_is_lost(runs):
    """The candidates table had 24 columns, of which a 1280 px page showed 10. What the policy had to
    do is now a table of its own below it, each row named by its # and plan as above; between them
    the two tables keep every column, each once; their short headers are said in the caption. (The
    sweep with your purchases: they breach on the forecast, so its table has the '!' column.)"""
    html = html_of(runs["breach"])
    plans = pd.read_csv(runs["breach"] / "candidates.csv")["plan"]
    figures = table_headers(html, "Candidates and their risk")
    policy = table_headers(html, POLICY_TABLE)
    assert policy[:2] == ["#", "plan"] and figures[:3] == ["#", "!", "plan"]
    assert policy[2:] == [*REACTION_LABELS.values(), "mean capex deferred"]
    assert not set(figures) & set(policy[2:])
    limited = "CVaR5 NPV, limited" in figures  # where it differs from the NPV's CVaR5
    assert len(figures) == 16 + limited
    for after in ("Candidates and their risk", POLICY_TABLE):
        table = html.split(after, 1)[1].split("</table>", 1)[0]
        assert re.findall(r"<tr[^>]*><td[^>]*>(\d+)</td>", table) == [str(n + 1) for n in range(len(plans))]
        for plan in plans:  # after it in brackets, what it is to the sweep where it has a role
            assert len(re.findall(rf">{re.escape(escape(plan))}(?: \([^<)]*\))?</td>", table)) == 1, plan
    caption = unescape(html.split("Candidates and their risk", 1)[1].split("</p>", 1)[0])
    assert "money in USD; no liq. default: of the scenarios with no liquidity default" in caption
    assert ("limited: with limited liability" in caption) == limited


def test_the_plans_table_gives_p_any_default_beside_p_liquidity_default():
    """The report's table of candidates (of an evaluation's plans) gave P(liquidity default) but not
    P(any default), which the terminal's tables give: the default model's price-shock stress read
    16.1 % beside the forecast optimum's 18.1 %, as the safer plan, while a lender counts an event
    of default in 84.1 % of its futures against 48.8 %. Both plans here, with those four figures."""
    from fleetopt.report.candidates import candidates_section

    metrics = pd.DataFrame({"plan": ["milp: forecast", "milp: price shock"],
                            "npv_mean_usd": [12.87e9, 9.25e9], "npv_cvar5_usd": [-18.73e9, -12.40e9],
                            "breach_probability": [0.664, 0.947],
                            "default_probability": [0.181, 0.161], "any_default_probability": [0.488, 0.841]})
    run = SimpleNamespace(metrics=metrics, data=load(TINY_PATH)[1], kind="evaluate", summary={},
                          plan_roles={}, scenario_source=(0, 1000))  # fmt: skip
    html = candidates_section(run)
    headers = table_headers(html, "Plans and their risk")
    assert headers[headers.index("P(liquidity default)") + 1] == "P(any default)"
    rows = re.findall(r"<tr[^>]*>(.*?)</tr>", html.split("<tbody>", 1)[1])
    cells = [[unescape(re.sub(r"<[^>]+>", "", c)) for c in re.findall(r"<td[^>]*>(.*?)</td>", row)]
             for row in rows]
    at = headers.index("P(any default)")
    assert [row[at] for row in cells] == ["48.8%", "84.1%"]
    assert [row[at - 1] for row in cells] == ["18.1%", "16.1%"]


def test_the_policy_table_says_its_capex_deferred_is_a_mean_over_every_scenario(runs):
    """The policy table's caption said 'mean capex deferred: over the scenarios', which a reader
    took for the mean of the scenarios where the policy deferred; it is over all of them, 0 where the
    policy did not act, as the terminal's policy table says."""
    html = html_of(runs["breach"])
    caption = unescape(html.split(POLICY_TABLE, 1)[1].split("</p>", 1)[0])
    assert f"mean capex deferred, in USD: {REACTION_MEANS}." in caption


def test_every_table_that_can_be_wider_than_the_page_says_to_scroll_it(runs):
    """The candidates table said to scroll it sideways; the quarterly statements (16 columns) and the
    debt by facility (a column per year's end), wider than a 1280 px page too, did not, and their
    right-hand columns were simply out of view."""
    html = html_of(runs["solve"])
    for title in ("Quarterly statements of", "Debt by facility of"):
        section = html[html.index(title) :]
        section = section[: section.index("<table")]
        columns = len(re.findall(r"<th[ >]", html[html.index(title) :].split("</tr>")[0]))
        hint = f"{columns} columns: scroll the table sideways to see them all; click a header to sort."
        assert f"<p class='cap hint'>{hint}</p>" in section, title


@pytest.mark.parametrize(
    ("kind", "folder"), [("solve", "S"), ("evaluate", "E"), ("sweep", "W"), ("evaluate", "D")]
)
def test_every_printed_page_names_its_report(runs, kind, folder):
    """Printed, a report named its run on the first page alone: page 5 of a sweep's report, mailed
    as a PDF, said neither which report, model or run it was of nor its number. Each printed page's
    bottom margin names the report's kind and model, its run folder and when it was written, and
    says 'page N of M' (the @page margin boxes, printed by Chromium)."""
    path = runs["deterministic" if folder == "D" else kind]
    html = html_of(path)
    style = html[html.index("<style>") : html.index("</style>")]
    rule = re.search(r'@page\{@bottom-left\{content:"([^"]*)";[^}]*\}@bottom-right\{content:([^;]*);', style)
    assert rule is not None, "no margin boxes on the printed page"
    assert re.fullmatch(rf"fleetopt {kind}: tiny, run folder {folder}, report written "
                        r"\d{4}-\d\d-\d\d \d\d:\d\d UTC", rule.group(1)), rule.group(1)  # fmt: skip
    assert rule.group(2) == '"page " counter(page) " of " counter(pages)'
    assert "white-space:nowrap}" in style[rule.end() :]  # 'page 2 of 7' on one line beside a long folder name


def test_a_printed_page_s_words_cannot_end_its_style():
    """The words in a printed page's margin are a CSS string inside the page's <style>: a model or
    folder named with a quote, a backslash, '</style>' or a line break is escaped, not read as CSS
    or HTML."""
    assert page.css_string('a"b\\c</style>\n') == '"a\\22 b\\5C c\\3C /style\\3E \\A "'
    assert page.css_string("lab · 2026") == '"lab · 2026"'


def test_a_printed_facts_list_is_a_block_its_heading_can_keep_to(runs):
    """Printed, "Decisions of milp" sat alone at the foot of a page of the default model's evaluation
    report, its facts list on the next: Chromium moved the list, a grid, whole, and h2's break-after:
    avoid did not hold (a walkthrough's PDF). In print the list is a block that breaks between its
    lines, each term above its figure, so the heading keeps its first lines (checked by hand on that
    PDF: the heading and its first facts print on one page)."""
    style = re.search(r"@media print\{(.*?)\}\s*(?:dl\.terms|</style>)", html_of(runs["evaluate"]), re.S)
    assert style is not None and "h2{break-after:avoid}" in style.group(1)
    assert "dl.facts{display:block}" in style.group(1)


# ---------------------------------------------------------------- helpers


def test_money_column_uses_one_scale():
    """A column takes the scale of its median non-zero figure, one that would show as $1,000.0M
    counting as a billion. $1B, $999.96M, $25M: median $999.96M, billions ($1.00B twice, never
    $1,000.0M beside $1.0B); $2B, $30M, $40M: median $40M, millions, but a figure of 1,000 millions
    or more as format_usd writes it ($2.00B, not $2,000.0M). A report's disposal proceeds read
    "$2,099.1k" beside "$84.8k": $2.1M."""
    fmt = usd_column_formatter([1e9, 999.96e6, 25e6, 0.0, float("nan")])
    assert [fmt(v) for v in (1e9, 999.96e6, 25e6)] == ["$1.00B", "$1.00B", "$0.03B"]
    assert fmt(float("nan")) == "n/a" and fmt(0.0) == "$0" and fmt(-1e6) == "$0"  # -$0.001B rounds to $0
    small = usd_column_formatter([2e9, 30e6, 40e6])
    assert [small(2e9), small(30e6), small(-2.5e6)] == ["$2.00B", "$30.0M", "-$2.5M"]
    proceeds = usd_column_formatter([84.8e3, 2_099.1e3, 50e3])
    assert [proceeds(84.8e3), proceeds(2_099.1e3), proceeds(-999.96e3)] == ["$84.8k", "$2.1M", "-$1.0M"]


def test_half_a_gpu_reads_as_one_where_the_report_and_terminal_write_a_count():
    """The MILP's holdings are continuous, and "{:,.0f}" rounds a half to even: 0.5 GPUs retired in a
    quarter (listed, as it rounds to a GPU) read '0', 2.5 read '2'. Every count is written by
    units.whole_count, a half away from zero as every other figure: 1 and 3."""
    from fleetopt.report.markup import sortable_table

    data = SimpleNamespace(quarter_labels=["2026Q3", "2026Q4", "2027Q1"])
    assert _by_quarter(data, np.array([0.5, 2.5, 0.0]), whole_count) == "3 (2026Q3: 1, 2026Q4: 3)"
    table = sortable_table(pd.DataFrame({"gpus": [0.5, 2.5]}), count_cols={"gpus"})
    assert re.findall(r"<td[^>]*>([^<]*)</td>", table) == ["1", "3"]
    fleet = svg.lines("Fleet", ["2026Q3", "2026Q4"], {"hopper": np.array([0.5, 2.5])}, "GPUs")
    assert re.findall(r"<title>(2026Q\d: hopper [^<]*)</title>", fleet) == ["2026Q3: hopper 1 GPU",
                                                                            "2026Q4: hopper 3 GPUs"]


def test_a_total_and_its_parts_are_each_rounded_on_their_own():
    """Each figure of the decisions rounded on its own: 61.6 and 141.6 GPUs retired (203.2) read
    '203 (62, 142)', $7.05M twice '$14.1M ($7.1M, $7.1M)', money each in its own scale; two sites of 2.5 MW
    '5 MW; a: 2.5 MW; b: 2.5 MW'. The section says so."""
    data = SimpleNamespace(quarter_labels=["2026Q3", "2026Q4", "2027Q1"])
    assert _by_quarter(data, np.array([61.6, 0.2, 141.6]), whole_count) == "203 (2026Q3: 62, 2027Q1: 142)"
    usd = _by_quarter(data, np.array([7.05e6, 7.05e6, 0.0]))
    assert usd == "$14.1M (2026Q3: $7.1M, 2026Q4: $7.1M)"
    # a facility's small draw beside a large one: each in its own scale (one scale wrote "2027Q1: $0")
    usd = _by_quarter(data, np.array([3.2e9, 0.0, 855_115.0]))
    assert usd == "$3.20B (2026Q3: $3.20B, 2027Q1: $855.1k)"
    sites = [SimpleNamespace(name="a", block_mw=2.5), SimpleNamespace(name="b", block_mw=2.5)]
    plan = SimpleNamespace(build_blocks=np.array([[1.0, 0.0], [0.0, 1.0]]))
    assert _power_built(SimpleNamespace(sites=sites), plan) == "5 MW; a: 2.5 MW; b: 2.5 MW"


def test_a_stochastic_measure_reads_the_same_in_the_terminal_and_the_report():
    """VSS = RP - EEV = $2.35B - $2.319B = $31M: "$31.0M" on both, where the report's column in the
    scale of its median (RP, EV, EEV, WS: billions) wrote it $0.03B."""
    from rich.console import Console

    from fleetopt.cli.render.stochastic import stochastic_summary_table

    settings = {"scenarios": 2, "screened": 200, "scenario_seed": 0, "first_stage_quarters": 4,
                "first_stage_before": "2027Q3", "risk_weight": 0.0, "cvar_alpha": 0.1,
                "later_purchases": "continuous"}  # fmt: skip
    summary = {"settings": settings, "status": "optimal", "gap": 0.0, "timings": {}, "rp_usd": 2.35e9,
               "ev_usd": 2.4e9, "eev_usd": 2.319e9, "ws_usd": 2.5e9, "vss_usd": 31e6, "evpi_usd": 150e6,
               "scenarios": []}  # fmt: skip
    console = Console(width=400, record=True)
    console.print(stochastic_summary_table(summary))
    terminal = {line.split("│")[1].strip(): line.split("│")[2].strip()
                for line in console.export_text().splitlines() if line.count("│") == 3}  # fmt: skip
    html = two_stage.stochastic_section(SimpleNamespace(summary=summary, data=load(TINY_PATH)[1]))
    cells = re.findall(r'<td class="text(?: wrap)?">([^<]*)</td><td data-v="[^"]*">([^<]*)</td>', html)
    report = {unescape(label): value for label, value in cells}
    # one label each, in words (the terminal's read 'VSS = RP - EEV', 'WS (wait-and-see)': a walkthrough)
    vss = ("VSS = RP - EEV: value of the stochastic solution over the reduced scenarios (in sample, rescue "
           "penalties counted: where it comes from, below)")
    evpi = "EVPI = WS - RP: expected value of perfect information (what knowing the future would gain)"
    assert terminal[vss] == report[vss] == "$31.0M" and terminal[evpi] == report[evpi] == "$150.0M"
    rp = ("RP, recourse problem: the solver's objective for the stochastic plan over the reduced scenarios "
          "(expected NPV less rescue penalties; in sample, not a forecast of value)")
    assert terminal[rp] == report[rp] == "$2.35B"


def test_the_commitments_say_a_difference_is_of_the_unrounded_figures():
    """tiny's stochastic plan on 5 scenarios retires 327.38 H100s in 2026Q3, the forecast optimum
    61.54: the table read 327 GPUs, 62 GPUs, +266 GPUs (265.85), a unit off what a planner subtracts,
    with nothing said of it; its caption now says so."""
    settings = {"first_stage_quarters": 4, "first_stage_before": "2027Q3"}
    retire = {"quarter": "2026Q3", "decision": "retire", "item": "H100@texas installed cohort 0",
              "stochastic": 327.3846153846148, "forecast_optimum": 61.538461538459885,
              "unit": "GPUs"}  # fmt: skip
    html = two_stage._commitments({"commitments": [retire], "settings": settings})
    text = unescape(re.sub(r"<[^>]+>", " ", html))
    assert re.search(r"327 GPUs\s+62 GPUs\s+\+266 GPUs", text)
    assert ("Each figure is rounded on its own and each difference is taken of the unrounded figures, so a "
            "difference may be one off the difference of the rounded ones.") in text


def test_the_stochastic_report_says_how_its_plan_was_made_as_the_terminal_does():
    """Whose first stage the plan keeps, the scenarios the solve rescued, how the plan was completed
    and each forecast limit it breaks: the terminal said them, the report left them out, so nothing
    tied RP to the plan shown. One list (stochastic.summary_words.plan_facts) for both; the warning in red."""
    from rich.console import Console

    from fleetopt.cli.render.stochastic import stochastic_summary_table

    settings = {"scenarios": 3, "screened": 200, "scenario_seed": 0, "first_stage_quarters": 4,
                "first_stage_before": "2027Q3", "risk_weight": 0.0, "cvar_alpha": 0.05,
                "later_purchases": "continuous"}  # fmt: skip
    completion = {"method": "forecast MILP with the first stage fixed, rescued",
                  "rescue": {"revolver_peak_usd": 1.9e6, "emergency_equity_usd": 0.0,
                             "slacks": {"dscr_covenant": {"amount": 1.82e6, "unit": "USD"}}},
                  "limits_broken": [{"limit": "the $25.0M minimum cash", "quarters": ["2026Q4"],
                                     "lowest_usd": 23.1e6}]}  # fmt: skip
    summary = {"settings": settings, "status": "optimal", "gap": 0.0, "timings": {}, "rp_usd": -8.9e6,
               "first_stage": "RP's", "covenant_cured_scenarios": 1, "covenant_cured_probability": 0.2,
               "completion": completion, "scenarios": []}  # fmt: skip
    console = Console(width=400, record=True)
    console.print(stochastic_summary_table(summary))
    terminal = console.export_text()
    html = two_stage.stochastic_section(SimpleNamespace(summary=summary, data=load(TINY_PATH)[1]))
    facts = re.findall(r"<dt>([^<]*)</dt><dd class='(bad)?'>([^<]*)</dd>", html)
    cures = "scenarios with covenant cures (equity paid in to cure a breach, $11 of value per $1 short)"
    labels = [label for label, _, _ in facts]
    assert labels == ["first stage of the plan", cures, "plan completed by", "warning"]
    for label, bad, text in facts:
        assert unescape(text) in terminal and (bad == "bad") == (label == "warning")
    # money as every other figure (format_usd), the group in words with its ratio (it read dscr_covenant)
    assert "EBITDA / debt service covenant $1.8M short" in unescape(facts[2][2])
    rows = [{"scenario": "scenario 7", "probability": 0.2, "value_usd": -9e6, "npv_usd": -8e6,
             "emergency_equity_usd": 0.0, "revolver_peak_usd": 0.0, "cash_rescue": False, "rescued": True,
             "slacks": {"dscr_covenant": {"amount": 876_000.0, "unit": "USD"}}},
            {"scenario": "scenario 9", "probability": 0.8, "value_usd": 1e6, "npv_usd": 1e6,
             "emergency_equity_usd": 0.0, "revolver_peak_usd": 0.0, "rescued": False,
             "slacks": {}}]  # fmt: skip
    run = SimpleNamespace(summary={**summary, "scenarios": rows}, data=load(TINY_PATH)[1])
    section = two_stage.stochastic_section(run)
    text = unescape(re.sub(r"<[^>]+>", " ", section))
    # a rescue with no emergency equity said only "rescued: yes": it names what was relaxed now
    said = r"scenario 7 .*EBITDA / debt service covenant \$876.0k short .*scenario 9 .* none"
    assert re.search(said, " ".join(text.split()))


def tick_labels(chart: str) -> list[str]:
    return re.findall(
        r'<text x="[^"]+" y="[^"]+" class="tick" text-anchor="(?:middle|end)">([^<]*)</text>', chart
    )


def test_histogram_ticks_are_round_and_markers_drawn():
    """1,000 samples evenly from -$10M to $30M: the axis spans their 0.5-99.5 percentiles, about
    -$9.8M to $29.8M; nice_ticks(lo, hi, 6) steps by $10M (a $5M step would need 8 ticks), and the
    ticks are -$10M (the axis drawn from it, within half a step of -$9.8M), $0, $10M, $20M."""
    samples = np.linspace(-10e6, 30e6, 1000)
    chart = svg.histogram("t", {"a": samples}, {"a": {"mean": 10e6, "P5": -8e6}})
    labels = tick_labels(chart)
    assert [t for t in labels if t.startswith(("$", "-$"))] == ["-$10M", "$0", "$10M", "$20M"]
    assert "NPV, USD" in chart
    for legend in ("mean NPV", "P5 NPV", "NPV = 0"):
        assert f">{legend}</text>" in chart
    assert chart.count("<line x1=") - chart.count('class="grid"') >= 3  # mean, P5 and zero
    # the share axis: its unit and per-cent ticks (an edit once commented them out: 0-0.2, no unit)
    assert '>share of scenarios</text>' in chart
    assert [t for t in labels if t.endswith("%")] and not [t for t in labels if t.startswith("0.")]


def _usd_ticks(chart: str) -> list[str]:
    return [t for t in tick_labels(chart) if t.startswith(("$", "-$"))]


def _bars(chart: str) -> list[tuple[float, str]]:
    """Each bar's x and its tooltip's bin."""
    return [(float(x), tip) for x, tip in re.findall(r'<rect x="([0-9.]+)"[^>]*><title>a: ([^<]*): ', chart)]


def test_a_histogram_spanning_negative_npvs_labels_a_negative_value():
    """NPVs from -$18B to $45B: the axis spans about -$17.7B to $44.7B (the 0.5-99.5 percentiles),
    nice_ticks steps by $20B (a $10B step needs 6.2 > 6), and its -$20B tick, below the axis, was
    dropped: $0, $20B, $40B, no label under the negative NPVs, which a finance reader looks at.
    Each case worked by hand; the bins (and so the bars' tooltips) are those of before."""
    wide = np.linspace(-18e9, 45e9, 1001)
    chart = svg.histogram("t", {"a": wide})
    # 1. -$20B is $2.3B below the axis's -$17.7B, within half a step ($10B): the axis starts there
    assert _usd_ticks(chart) == ["-$20B", "$0", "$20B", "$40B"]
    bars = _bars(chart)
    assert bars[0][0] > svg.WIDE.left + 10  # the first bar starts right of the axis's -$20B
    assert bars[0][1] == "up to -$15.6B" and bars[-1][1] == "$42.6B and above" and len(bars) == 30
    # 2. -$12B to $45B (-$11.7B to $44.7B): -$20B is $8.3B below, over half a step; a $10B step has
    #    -$10B inside the axis and 6 labels, which fit the wide chart's 6
    assert _usd_ticks(svg.histogram("t", {"a": np.linspace(-12e9, 45e9, 1001)})) == [
        "-$10B", "$0", "$10B", "$20B", "$30B", "$40B"]  # fmt: skip
    # 3. a phone's chart (4 ticks): -$5B to $45B, axis -$4.75B to $44.75B, $20B step; -$20B is far
    #    below, a $10B step's 6 labels do not fit, a $5B step's -$5B lies below within $0.25B but its
    #    labels do not fit either: the axis's end itself is labelled, to one decimal, and $0, 27 px
    #    from it, would run into it: left out (its dotted zero line stays)
    narrow = svg.histogram("t", {"a": np.linspace(-5e9, 45e9, 1001)}, layout=svg.NARROW)
    assert _usd_ticks(narrow) == ["-$4.8B", "$20B", "$40B"] and ">NPV = 0</text>" in narrow
    # no negative values, no change: $0 to $45B (the axis from $0.2B) keeps its ticks inside it
    positive = svg.histogram("t", {"a": np.linspace(0, 45e9, 1001)})
    assert _usd_ticks(positive) == ["$10B", "$20B", "$30B", "$40B"]


def test_the_end_bars_say_they_count_the_scenarios_beyond_the_axis():
    """The first bar's tooltip said '-$98.4M to -$92.3M: 0.7%' while it also counted a -$122.8M
    scenario (the axis spans the 0.5-99.5 percentiles, the end bars take the rest)."""
    samples = np.concatenate([np.linspace(-10e6, 30e6, 998), [-100e6, 200e6]])
    chart = svg.histogram("t", {"a": samples}, bins=4)
    tips = re.findall(r"<title>a: ([^<]*)</title>", chart)
    assert tips[0].startswith("up to ") and tips[-1].endswith(" and above: 25.3%")
    assert all(" to " in tip for tip in tips[1:-1])


def test_narrow_bins_tell_their_edges_apart():
    """Two close plans' NPV differences, -$3.82M to -$3.5M in 30 bins: a tooltip read '-$3.8M to
    -$3.8M' (a lab planner's review). Each bar now names edges that differ."""
    chart = svg.histogram("t", {"a": np.linspace(-3.82e6, -3.5e6, 1000)})
    middle = re.findall(r"<title>a: ([^<]*): [0-9.]+%</title>", chart)[1:-1]
    assert middle and all(low != high for low, high in (tip.split(" to ") for tip in middle)), middle


def test_second_histogram_series_is_an_outline():
    rng = np.random.default_rng(0)
    chart = svg.histogram("t", {"a": rng.normal(0, 1e6, 500), "b": rng.normal(1e6, 1e6, 500)})
    assert '<path d="M' in chart and f'fill="none" stroke="{svg.NO_ROLE_FIRST[1]}"' in chart


def chart_lines(chart: str) -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    """The colours of a chart's vertical marker lines and of its legend's line swatches (14 px wide),
    each by dash ('' solid)."""
    markers: dict[str, set[str]] = {}
    legend: dict[str, set[str]] = {}
    for x1, x2, colour, dash in re.findall(
        r'<line x1="([\d.]+)" x2="([\d.]+)" y1="[^"]+" y2="[^"]+" stroke="([^"]+)" stroke-width="2"'
        r'(?: stroke-dasharray="([^"]+)")?/?>', chart):  # fmt: skip
        if x1 == x2:
            markers.setdefault(dash, set()).add(colour)
        elif float(x2) - float(x1) == 14:
            legend.setdefault(dash, set()).add(colour)
    return markers, legend


def test_legends_show_what_the_chart_draws():
    """The scenario bands' legend swatches were grey while the bands were blue (cash) and orange
    (debt); the histogram's "mean NPV" was one grey line while each plan's mean is drawn in its own
    colour, and its bars' swatch a solid box beside bars drawn at 60 % opacity; a difference
    histogram's legend said "mean NPV" for the mean difference. Each legend entry now has the
    colours and name of what it stands for."""
    q = ["2026Q3", "2026Q4", "2027Q1"]
    ones = np.ones(3)
    ranges = [(ones * 1e6, ones * 4e6, 0.15, "5-95 % of scenarios"),
              (ones * 2e6, ones * 3e6, 0.25, "25-75 %")]  # fmt: skip
    bands = {"cash": ranges, "debt": ranges}
    lines = {"cash": ones * 2e6, "debt": ones * 3e6}
    chart = svg.lines("t", q, lines, "USD", y_fmt=svg.usd_tick, bands=bands)
    drawn = set(re.findall(r'<polygon points="[^"]+" fill="([^"]+)" opacity="([^"]+)"/?>', chart))
    swatch = r'<rect x="[^"]+" y="[^"]+" width="12" height="10" fill="([^"]+)" opacity="([^"]+)"/>'
    shown = set(re.findall(swatch, chart))
    assert drawn == shown == {(c, o) for c in svg.NO_ROLE_FIRST[:2] for o in ("0.15", "0.25")}, (drawn, shown)
    for name in ("cash 5-95 % of scenarios", "cash 25-75 %", "debt 5-95 % of scenarios", "debt 25-75 %"):
        assert f">{name}</text>" in chart, name

    rng = np.random.default_rng(0)
    samples = {"a": rng.normal(0, 1e6, 500), "b": rng.normal(1e6, 1e6, 500)}
    markers = {k: {"mean": float(v.mean()), "P5": float(np.quantile(v, 0.05))} for k, v in samples.items()}
    chart = svg.histogram("t", samples, markers)
    markers, legend = chart_lines(chart)
    two = set(svg.NO_ROLE_FIRST[:2])
    assert markers[""] == markers["6 4"] == two, markers  # each plan's mean (solid) and P5 (dashed)
    assert legend[""] == legend["4 3"] == two, legend
    assert ">mean NPV</text>" in chart and ">P5 NPV</text>" in chart

    # the filled bars' swatch at the bars' own opacity: a solid box read as a darker series
    bar = r'<rect x="[^"]+" y="[^"]+" width="[^"]+" height="[^"]+" fill="([^"]+)" opacity="([^"]+)"><title>'
    bars = set(re.findall(bar, chart))
    assert bars and all(f'width="12" height="10" fill="{c}" opacity="{o}"/>' in chart for c, o in bars), bars

    diff = svg.histogram("t", {"difference": samples["b"] - samples["a"]}, {"difference": {"mean": 1e6}},
                         x_title="NPV difference, USD", marked="difference")  # fmt: skip
    assert ">mean difference</text>" in diff and ">difference = 0</text>" in diff and "mean NPV" not in diff


def test_a_band_hidden_by_its_line_is_left_out_of_the_legend_and_its_line_says_so():
    """The default model's cash and debt chart listed the debt's 5-95 % and 25-75 % bands in its
    legend, but the debt varies by under a pixel across the scenarios: the bands lay under the
    debt's line and read as missing; later their legend entries said 'thinner than the line', two
    swatches of what no reader could find. A band no taller than the line (2 px) anywhere is left out
    of the legend; the line's own entry says so (and the band's tooltip); one the eye can see is
    listed."""
    q = ["2026Q3", "2026Q4", "2027Q1"]
    ones = np.ones(3)
    # an axis of $0 to $40B over 210 px: $0.1B is a tenth of a pixel, $10B about 50 px
    bands = {"cash": [(ones * 0.0, ones * 40e9, 0.15, "5-95 % of scenarios")],
             "debt": [(ones * 20e9, ones * 20.1e9, 0.15, "5-95 % of scenarios")]}  # fmt: skip
    lines = {"cash": ones * 10e9, "debt": ones * 20e9}
    chart = svg.lines("t", q, lines, "USD", y_fmt=svg.usd_tick, bands=bands)
    thin = "debt 5-95 % of scenarios (thinner than the line: debt barely varies)"
    assert f"<title>{thin}</title>" in chart and chart.count(thin) == 1  # its tooltip alone
    words = " ".join(re.sub(r"<[^>]+>", " ", chart).split())  # a legend entry may wrap onto two lines
    assert "debt (barely varies over the scenarios: its bands are thinner than the line)" in words
    assert ">cash 5-95 % of scenarios</text>" in chart and "cash barely varies" not in chart
    assert chart.count('opacity="0.15"/>') == 1  # one band's swatch: the cash's


def test_the_npv_at_other_rates_says_where_the_lower_rate_is_floored(runs, tmp_path, monkeypatch):
    """tiny at a 3 % discount rate: the rate 5 points below is floored at 0 %, and the figure read
    '$7.9M at 0% a year' under words saying '5 points a year below and above the model's 3%'."""
    monkeypatch.setenv("FLEETOPT_RUNS_DIR", str(tmp_path / "runs"))
    code, out, err = run_cli("solve", "tiny", "--set", "horizon.discount_rate_annual=0.03", "--out",
                             str(tmp_path / "S"), "--report")  # fmt: skip
    assert code == 0, out + err
    words = "terminal equity discounted 5 points a year below{} and above the model's {}"
    assert words.format(" (not under 0%)", "3%") in text_of(tmp_path / "S")
    assert words.format("", "15%") in text_of(runs["solve"])  # tiny's 15 %: 10 % and 20 %


def test_a_one_quarter_report_counts_its_quarter_in_the_singular(tmp_path, monkeypatch):
    """tiny cut to its first quarter, 2026Q3 (its optional contract, starting 2027Q1, removed and its
    covenants tested from 2026Q3): its report read 'horizon 2026Q3 to 2026Q3 (1 quarters)' and
    'cash below $25.0M in any of the 1 quarters'."""
    monkeypatch.setenv("FLEETOPT_RUNS_DIR", str(tmp_path / "runs"))
    solve, evaluation = tmp_path / "S", tmp_path / "E"
    sets = ("--set", "horizon.quarters=1", "--set", "contracts.enterprise-inference=null",
            "--set", "finance.covenants.test_from=2026Q3")  # fmt: skip
    for args in (("solve", "tiny", *sets, "--out", str(solve)),
                 ("evaluate", "--plans", str(solve), "--scenarios", "20", "--out", str(evaluation))):
        code, out, err = run_cli(*args, "--report")
        assert code == 0, out + err
    text = text_of(evaluation)
    assert "2026Q3 to 2026Q3 (1 quarter)" in text and "1 quarters" not in text
    assert "P(liquidity default): cash below $25.0M in its one quarter" in text
    assert "P(covenant breach) in its one quarter" in text


def test_a_one_quarter_horizon_draws_its_lines_and_areas_across_the_plot():
    """A path or polygon of one point draws nothing: a one-quarter report's fleet, power, cash and
    borrowing base charts were empty frames. Its value is now held across the plot, its quarter
    labelled in the middle. The wide chart's plot spans x 84 to 692 (720 - 28), y 46 (top) to 254
    (46 + 320 - 46 - 66); 5 MW is the top tick of 0-5; 9,600 GPUs on ticks 0-10k lie at
    46 + 208 x (1 - 0.96) = 54.3."""
    chart = svg.lines("Power", ["2026Q3"], {"MW drawn": np.array([5.0])}, "MW", y_fmt=svg.mw_tick)
    assert 'd="M84.0,46.0 L692.0,46.0"' in chart
    assert '<text x="388.0" y="' in chart and ">2026Q3</text>" in chart  # (84 + 692) / 2
    area = svg.stacked_area("Fleet", ["2026Q3"], {"hopper": np.array([9600.0])}, {"hopper": "#999"}, "GPUs")
    assert 'points="84.0,54.3 692.0,54.3 692.0,254.0 84.0,254.0"' in area


def test_axis_unit_sits_below_the_title():
    """Title baseline at y=18 (14 px font); the unit label's 11 px glyphs start at its baseline - 11."""
    chart = svg.lines("t", ["a", "b"], {"x": np.array([1.0, 2.0])}, "USD")
    unit_y = float(re.search(r'<text x="8" y="([\d.]+)" class="tick">USD</text>', chart).group(1))
    assert unit_y - 11 > 18


def test_scatter_labels_points_and_keeps_last_tick_inside():
    points = [{"label": f"p{k}", "key": str(k), "x": x, "y": y, "front": False, "recommended": k == 1}
              for k, (x, y) in enumerate([(2e9, -30e9), (9e9, -17e9), (13.9e9, -22e9)], start=1)]  # fmt: skip
    chart = svg.scatter("t", points, "x", "y", "mean NPV, USD", "CVaR5 NPV, USD")
    for k in ("1", "2", "3"):
        assert f'class="tick point" text-anchor="middle">{k}</text>' in chart
    tick = r'<text x="([\d.]+)" y="[^"]+" class="tick" text-anchor="(\w+)">(\$[^<]*)</text>'
    ticks = re.findall(tick, chart)
    assert len(ticks) >= 3
    for x, anchor, label in ticks:  # each x tick's right end inside the chart
        right = float(x) + (0 if anchor == "end" else svg.WIDE.char * len(label) / 2)
        assert right <= svg.WIDE.w, (x, anchor, label)


def test_scatter_labels_of_a_crowd_do_not_overlap_and_far_ones_have_leaders():
    """Twelve candidates on one spot (a sweep's candidates that differ by a buffer): the eight spots
    around a point held at most eight labels and the rest were drawn over them. Now every label has
    a spot of its own, at least two digits' width or a line's height from the others, and each one
    beyond the first ring is joined to its point by a leader line."""
    # on the front: another candidate is numbered only beside its point, never in a crowd
    crowd = [{"label": f"p{k}", "key": str(k), "x": 20e9 + k, "y": 5e9 + k, "front": True}
             for k in range(1, 13)]  # fmt: skip
    points = [*crowd, {"label": "far", "key": "13", "x": 30e9, "y": 1e9, "front": True}]
    chart = svg.scatter("t", points, "x", "y", "mean NPV, USD", "CVaR5 NPV, USD")
    spots = [(float(x), float(y)) for x, y in
             re.findall(r'<text x="([\d.]+)" y="([\d.]+)" class="tick point"', chart)]  # fmt: skip
    assert len(spots) == 13
    for i, (x, y) in enumerate(spots):
        for u, v in spots[i + 1 :]:
            assert abs(x - u) >= 16 or abs(y - v) >= 12, ((x, y), (u, v))
    # of the first ring's eight spots (12 px beside, 12 above, 20 below ...) three are two digits
    # wide and a line high apart: right, left and below; the other nine of the crowd go further out
    assert chart.count('stroke="#64748b"') == 9


# the default model's sweep (22 candidates): mean NPV and CVaR5 NPV, $B
DEFAULT_SWEEP_POINTS = [
    (12.36, -20.49), (11.78, -20.14), (11.08, -20.14), (8.89, -13.88), (3.66, -27.82), (12.93, -18.23),
    (12.00, -21.72), (7.86, -18.52), (6.17, -20.96), (10.95, -20.67), (-4.22, -30.11), (12.10, -20.86),
    (9.34, -15.56), (9.87, -14.44), (8.60, -17.51), (9.61, -14.44), (1.13, -21.83), (8.50, -21.22),
    (10.37, -20.20), (2.58, -26.62), (12.08, -17.54), (11.07, -17.53),
]


def scatter_labels(chart: str) -> list[tuple[tuple[float, float], tuple[float, float], bool]]:
    """Each labelled point of a scatter, in order: its centre, its label's centre (the text's
    baseline less 4 px) and whether a leader joins them."""
    drawn = re.findall(r'<circle cx="([\d.]+)" cy="([\d.]+)"[^>]*>.*?</circle>\n?(<line [^>]*/>\n?)?'
                       r'<text x="([\d.]+)" y="([\d.]+)" class="tick point"', chart)  # fmt: skip
    return [((float(cx), float(cy)), (float(lx), float(ly) - 4), bool(leader))
            for cx, cy, leader, lx, ly in drawn]  # fmt: skip


def test_a_scatter_label_without_a_leader_is_nearest_its_own_point():
    """The default model's sweep put candidate 13's label below its point, beside point 15 (whose own
    label sat above it) and nearer 15 than 13 lies from its label by half: '13' read as point 15's.
    A label drawn beside its point without a leader now has its own point clearly the nearest: every
    other point (but those its dot overlaps) at least 1.5 times as far from the label; a label that cannot
    be placed so goes further out, joined to its point by a leader that passes over no other point."""
    # each on the front, so each numbered (another candidate is numbered only where it fits beside its point)
    points = [{"label": f"{k}", "key": str(k), "x": x * 1e9, "y": y * 1e9, "front": True,
               "recommended": k == 6} for k, (x, y) in enumerate(DEFAULT_SWEEP_POINTS, start=1)]  # fmt: skip
    labels = scatter_labels(svg.scatter("t", points, "x", "y", "mean NPV, USD", "CVaR5 NPV, USD"))
    assert len(labels) == len(points)
    centres = [c for c, _, _ in labels]
    for k, ((cx, cy), (lx, ly), leader) in enumerate(labels, start=1):
        if leader:  # it passes over no other point (r = 5)
            dx, dy = lx - cx, ly - cy
            for x, y in centres:
                t = np.clip(((x - cx) * dx + (y - cy) * dy) / (dx * dx + dy * dy), 0, 1)
                passes = np.hypot(x - cx - t * dx, y - cy - t * dy)
                assert np.hypot(x - cx, y - cy) < svg.SAME_SPOT_PX or passes > 5, (k, x, y)
            continue
        own = np.hypot(lx - cx, ly - cy)
        apart = [(x, y) for x, y in centres if np.hypot(x - cx, y - cy) >= svg.SAME_SPOT_PX]
        others = [np.hypot(lx - x, ly - y) for x, y in apart]
        assert min(others) >= 1.5 * own, (k, own, min(others))


def test_kpi_money_rounds_before_its_scale():
    """$999,999,999.99 to 4 significant digits is $1.000B: it reads $1.00B, not $1,000.0M."""
    assert format_usd(999_999_999.99) == "$1.00B"
    assert format_usd(30_307_340.4) == "$30.3M" and format_usd(-850_123.0) == "-$850.1k"


def test_the_gpus_bought_tile_gives_its_unit(runs):
    """Every other tile's figure carries its unit ($120.0M, 0 MW, $0.61/GPU-hour); the GPUs bought
    read a bare '2,000', where compare writes '2,000 GPUs'. tiny's optimum: 250 blocks of 8 B200."""
    tile = '<b>2,000 GPUs</b><span>GPUs bought (the plan&#x27;s orders)</span>'
    assert tile in html_of(runs["solve"]) and tile in html_of(runs["evaluate"])


def test_the_demand_short_tile_of_a_cost_plan_gives_its_unit():
    """A lab's 'H100-eq. GPUs short in an average quarter' tile read a bare '7,685' beside 89.0 %
    and 80.0 %. 4,000 H100-eq. GPU-quarters unserved over a 4-quarter horizon: 1,000 a quarter."""
    from fleetopt.report.key_figures import _demand_kpis

    row = pd.Series({"demand_served_share": 0.9, "unserved_demand_mean_gpu_quarters": 4000.0,
                     "shortfall_probability": 0.8})  # fmt: skip
    for deterministic in (False, True):
        run = SimpleNamespace(solved_for_cost=True, data=SimpleNamespace(T=4),
                              summary={"deterministic": deterministic})  # fmt: skip
        assert _demand_kpis(run, row)[1].value == "1,000 H100-eq. GPUs"


def test_a_demand_short_by_part_of_a_gpu_is_not_zero_gpus():
    """1.2 H100-eq. GPU-quarters unserved over 4 quarters, 0.3 a quarter, read "0 H100-eq. GPUs" short
    beside 99.9 % served: a shortfall is rounded up, in the tile and evaluate's table alike."""
    from fleetopt.cli.render.evaluate import demand_served_table
    from fleetopt.report.key_figures import _demand_kpis

    row = pd.Series({"plan": "milp", "demand_served_share": 0.999, "unserved_demand_mean_gpu_quarters": 1.2,
                     "shortfall_probability": 0.0})  # fmt: skip
    run = SimpleNamespace(solved_for_cost=True, data=SimpleNamespace(T=4), summary={"deterministic": False})
    assert _demand_kpis(run, row)[1].value == "1 H100-eq. GPU"
    (cells,) = [list(cells) for cells in zip(*(c._cells for c in demand_served_table(
        pd.DataFrame([row]), "t", 4).columns), strict=True)]  # fmt: skip
    assert cells[2] == "1", cells


def test_deterministic_evaluation_draws_no_scenario_charts(runs):
    """Its one scenario is the forecast: no histogram or bands of random scenarios, and its table
    says so; its table of one plan is 'The plan on the forecast', not 'Plans on the forecast'."""
    text = text_of(runs["deterministic"])
    assert "The plan on the forecast (deterministic evaluation) Shares are 100 % where" in text  # one plan
    assert "NPV distribution" not in text and "(bands)" not in text
    assert "Cash and debt on the forecast" in text
    assert "scenarios 1: the forecast itself (deterministic evaluation)" in text


def test_a_deterministic_evaluation_shows_no_error_tail_or_shares(runs):
    """One scenario has no standard error ('± $0'), no P5 or CVaR5 (the NPV itself) and no 'share of
    scenarios with' a reaction: its key figures say NPV, lowest cash, and yes or no (tiny's forecast
    optimum: no default, no breach on the forecast; its lowest cash $30.3M, as the solve's). The
    evaluator's NPV and lowest cash are the forecast run's: each said once, not in two sections
    (-$14.1M twice read as a repeat, from a finance reader's review)."""
    text = text_of(runs["deterministic"])
    row = pd.read_csv(runs["deterministic"] / "metrics.csv").iloc[0]
    npv = format_usd(row["npv_mean_usd"])
    assert npv == "-$14.1M" and text.count(f"{npv} NPV on the forecast") == 1, text.count(npv)
    assert text.count("$30.3M lowest cash on the forecast") == 1
    assert "(evaluator" not in text
    # no breach and no default: said once, in short, not as "no" and "no" and a card of "none" below
    # (a repeat in the same words)
    assert text.count(TINY_KEPT) == 1
    assert "no liquidity default (cash below" not in text and "no covenant breach (covenants" not in text
    assert "covenant breach or default on the forecast" not in text
    assert "(deterministic)" not in text  # its section, every figure of which the forecast's says: gone
    for gone in ("± ", "P5 NPV", "CVaR5", "scenarios with:", "standard error", "SE of mean NPV"):
        assert gone not in text, gone
    assert "NPV on the forecast" in table_headers(html_of(runs["deterministic"]), "The plan on the forecast")


def test_a_deterministic_evaluation_whose_recorded_npv_differs_from_the_rerun_says_both(runs, tmp_path):
    """Where the NPV an evaluation recorded is not the forecast run's the report reruns (a run written
    by an older evaluator), both are shown, the recorded one saying which it is; the lowest cash, the
    same in both, once."""
    folder = tmp_path / "D"
    shutil.copytree(runs["deterministic"], folder)
    metrics = pd.read_csv(folder / "metrics.csv")
    metrics["npv_mean_usd"] = -15_000_000.0
    metrics.to_csv(folder / "metrics.csv", index=False)
    summary = json.loads((folder / "summary.json").read_text())
    summary["metrics"][0]["npv_mean_usd"] = -15_000_000.0  # as the evaluation wrote both
    (folder / "summary.json").write_text(json.dumps(summary))
    code, _, err = run_cli("report", str(folder))
    assert code == 0, err
    text = text_of(folder)
    assert "-$15.0M NPV on the forecast (as the evaluation recorded it; the forecast run below is this " \
           "report's rerun)" in text
    assert "-$14.1M NPV on the forecast" in text and text.count("$30.3M lowest cash on the forecast") == 1


def test_a_deterministic_evaluation_whose_recorded_breach_differs_from_the_rerun_says_both(runs, tmp_path):
    """Where the evaluation recorded a breach the report's rerun of the forecast does not have (a run
    written by an older evaluator), its own breach and default are shown above the rerun's "none"."""
    folder = tmp_path / "D"
    shutil.copytree(runs["deterministic"], folder)
    metrics = pd.read_csv(folder / "metrics.csv")
    metrics["breach_probability"] = 1.0
    metrics.to_csv(folder / "metrics.csv", index=False)
    summary = json.loads((folder / "summary.json").read_text())
    summary["metrics"][0]["breach_probability"] = 1.0  # as the evaluation wrote both
    (folder / "summary.json").write_text(json.dumps(summary))
    code, _, err = run_cli("report", str(folder))
    assert code == 0, err
    text = text_of(folder)
    assert "yes covenant breach (covenants tested from 2026Q4" in text
    assert "no liquidity default (cash below $25.0M)" in text
    assert f"On the forecast it {TINY_KEPT}" in text


def test_count_ticks_are_short():
    assert [svg.number_tick(v) for v in (250_000, 5.0, 7.5, 12_500, 0)] == ["250k", "5", "7.5", "12.5k", "0"]
    # the default model's fleet axis steps by 250k: its 1,250,000 read 1.2M (and 1,250 MW 1.2k)
    ticks = [svg.number_tick(v) for v in svg.nice_ticks(0, 1_200_000)]
    assert ticks == ["0", "250k", "500k", "750k", "1M", "1.25M"]
    # power in MW is written whole, as a planner reads a site's size: 1,250 MW, not 1.25k
    assert [svg.mw_tick(v) for v in svg.nice_ticks(0, 1_200)] == ["0", "250", "500", "750", "1,000", "1,250"]
    assert svg.mw_tick(2.5) == "2.5"


def y_ticks(chart: str) -> list[tuple[float, str]]:
    """Each gridline's height (pixels) and the label beside it."""
    return [(float(y), label) for y, label in re.findall(
        r'<text x="[^"]+" y="([^"]+)" class="tick" text-anchor="end">([^<]*)</text>', chart)]  # fmt: skip


@pytest.mark.parametrize("top", [0.003, 0.009, 0.02, 0.045, 0.1, 0.115, 0.3, 0.72])
def test_share_gridlines_are_labelled_with_their_exact_share(top):
    """The sweep's NPV histogram drew gridlines at 2.5 % and 7.5 % labelled "2%" and "8%": its share
    axis stepped by 2.5 points and wrote whole per cents. Every share axis (the histograms', the
    when-it-breaks chart's) now steps by whole per cents, so each label is its gridline's share: the
    labels are evenly spaced in value as the gridlines are in height."""
    rng = np.random.default_rng(1)
    samples = np.concatenate([np.zeros(round(top * 1000)), rng.uniform(1, 2, 1000 - round(top * 1000))])
    line = svg.lines("t", ["2026Q3", "2026Q4"], {"a": np.array([0.0, top])}, "share", y_fmt=svg.share_tick)
    charts = {"histogram": svg.histogram("t", {"a": samples}, bins=10_000), "lines": line}
    for kind, chart in charts.items():
        ticks = y_ticks(chart)
        values = [float(label.rstrip("%")) for _, label in ticks]
        assert all(label.endswith("%") for _, label in ticks), (kind, ticks)
        heights = [y for y, _ in ticks]
        # equal steps in value and in height (a label rounded off its gridline breaks the first)
        assert len(set(np.round(np.diff(values), 9))) == 1, (kind, top, ticks)
        assert np.ptp(np.diff(heights)) < 0.2, (kind, top, ticks)
        assert values[-1] / 100 >= min(top, 1.0) - 1e-9, (kind, top, ticks)
        if kind == "lines":  # the axis fits its line: a 0.3 % top was drawn on a 0-1 % axis
            assert values[-1] / 100 <= 2 * top, (kind, top, ticks)


def test_null_figures_of_a_summary_read_as_missing():
    """summary.json writes a non-finite figure (no scenario without a default to average) as null."""
    summary = {
        "out_of_sample": {"metrics": {"stochastic": {"npv_mean_usd": -1e6, "npv_mean_no_default_usd": None}}}
    }
    frame = reading._out_of_sample_metrics(summary)
    value = frame.iloc[0]["npv_mean_no_default_usd"]
    assert np.isnan(value) and format_usd(value) == "n/a" and format_percent(value) == "n/a"


def test_the_borrowing_base_is_defined_shown_and_charted(runs):
    """tiny's GPU-backed loan (max_ltv 0.70): the definitions name the base as tested in every
    quarter, the key figures give its tightest quarter on the forecast (the MILP uses it in full:
    100 %, to the hundredth of a per cent as it is at the limit), and the plan section charts the
    collateral needed against the GPUs' resale value."""
    text = text_of(runs["evaluate"])
    assert ("borrowing base: GPU-secured debt / max LTV <= GPU resale value, tested in every quarter "
            "(facilities' max_ltv)") in text  # fmt: skip
    assert ("the GPU-secured balances, each divided by its facility's max LTV, need at most 100.00% of the "
            "whole fleet's resale value (limit 100%); met with no room") in text  # fmt: skip
    assert "borrowing base covenant on the forecast, every quarter" in text
    assert "Borrowing base on the forecast" in text
    assert "collateral needed (GPU-secured debt / max LTV)" in text and "GPU resale value" in text


def test_the_terminal_s_policy_table_says_its_usd_column_is_usd(runs):
    """'what the policy had to do (share of scenarios)' had a column of USD, 'mean capex deferred',
    read as a share by its title: the column and the title say USD."""
    from fleetopt.cli.render.evaluate import reactions_table
    from fleetopt.cli.render.tables import plain_text

    metrics = pd.read_csv(runs["evaluate"] / "metrics.csv")
    text = plain_text([reactions_table(metrics, "t")], width=400)
    for label in ("mean capex deferred", "mean deposits forfeited", "mean distress-sale proceeds"):
        assert f"{label} (USD)" in text
    code, out, _ = run_cli("evaluate", "tiny", "--plans", str(runs["solve"]), "--scenarios", "10")
    said = " ".join(out.split())  # the title wraps at the table's width
    # its means are over all the scenarios, in the report's definition's words: "mean deposits forfeited"
    # beside 67.1 % of scenarios cancelling an order read as a mean over those (a finance walkthrough)
    over_all = "means over all the scenarios, 0 in those where the policy did not act"
    title = f"what the policy had to do (shares of scenarios; the USD columns: {over_all})"
    assert code == 0 and title in said
    reactions = dict(page.glossary(load(TINY_PATH)[1], ["milp"], 200, "evaluate"))["policy reactions"]
    assert f"are {over_all}, USD" in reactions


def test_the_plan_s_decisions_are_listed(runs):
    """Contracts accepted and declined, retirements, redeployments, power and each facility's draws
    and prepayments (tiny's forecast optimum takes both contracts, draws nothing on its GPU term loan
    and prepays $50.3M of it: to stay within its borrowing base, docs/evaluation.md policy rule 3, and the
    instalments of a netted draw, formulation §5.9). A plan that declines
    lab-a-training says so."""
    text = text_of(runs["solve"])
    assert "contracts accepted lab-a-training, enterprise-inference contracts declined none" in text
    # each figure rounded on its own, as in the statements' table ($4.65M is $4.6M in both): the
    # parts of $50.3M read 50.2, which the section's note explains
    prepaid = ("$50.3M (2026Q3: $26.0M, 2026Q4: $4.6M, 2027Q1: $4.6M, 2027Q2: $4.6M, 2027Q3: $5.6M, "
               "2027Q4: $1.6M, 2028Q1: $1.6M, 2028Q2: $1.6M)")  # fmt: skip
    assert f"facility gpu-term-loan prepaid {prepaid}" in text
    assert "GPUs retired 203 (2026Q3: 62, 2027Q3: 142)" in text
    assert "Each figure is rounded on its own" in text
    assert "GPUs redeployed from training to inference" in text
    run = reading.read_report_run(runs["solve"])
    run.plans[0].accepted[0] = 0.0
    section = re.sub(r"<[^>]+>", " ", _decisions_section(run))
    declined = r"contracts accepted\s+enterprise-inference\s+contracts declined\s+lab-a-training"
    assert re.search(declined, section)


def test_purchases_table_has_the_model_s_generations_and_marks_part_years(runs):
    """tiny sells H100 and B200 (no Rubin) over 2026Q3..2028Q2: rows hopper and blackwell, columns
    '2026 (Q3-Q4)', '2027' and '2028 (Q1-Q2)'."""
    html = html_of(runs["solve"])
    table = html.split("GPUs bought by generation and year")[1].split("</table>")[0]
    assert "rubin" not in table and "hopper" in table and "blackwell" in table
    assert "<th>2026 (Q3-Q4)</th><th>2027</th><th>2028 (Q1-Q2)</th>" in table
    # under them, as the terminal prints it, each year's GPU capex: 2,000 B200 x $60,000 in 2026
    # (the report showed the GPUs alone, and a planner asked what next year's orders cost)
    rows = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", table))
    assert "blackwell 2,000 0 0 GPU capex $120.0M $0 $0" in rows, rows
    # and each order: tiny's optimum buys 2,000 B200 at texas in 2026Q3 for $120.0M
    orders = re.sub(r"<[^>]+>", " ", html.split("Orders of")[1].split("</table>")[0])
    assert re.search(r"2026Q3\s+B200\s+texas\s+250\s+2,000\s+\$120\.0M", orders), orders


def test_covenant_room_is_read_on_one_basis():
    """headroom is 1 - ratio / limit against a maximum and ratio / limit - 1 against a minimum: two
    bases. Read as how far the protected quantity may fall before a breach: debt / EBITDA 0.95x
    against 6x: EBITDA may fall 1 - 0.95 / 6 = 84.17 %; DSCR 1.95x against 1.4x (headroom 39.29 %):
    EBITDA may fall 1 - 1.4 / 1.95 = 28.21 %, where EBITDA x (1 - 0.2821) / debt service = 1.4x."""
    from fleetopt.core.covenants import CATALOGUE, CovenantTest

    def test_of(kind, limit):
        return CovenantTest(kind, limit, np.ones(2, dtype=bool), (0, 1), 1)

    leverage, dscr = test_of(CATALOGUE[0], 6.0), test_of(CATALOGUE[1], 1.4)
    word, share = leverage.cushion(1 - 0.95 / 6)
    assert word == "EBITDA" and share == pytest.approx(0.841667, abs=1e-6)
    word, share = dscr.cushion(1.95 / 1.4 - 1)
    assert word == "EBITDA" and share == pytest.approx(1 - 1.4 / 1.95, rel=1e-12)
    assert f"{share:.1%}" == "28.2%"
    assert format_solver_status("optimal", 0.005) == "optimal within 0.50% (relative gap)"
    assert format_solver_status("optimal", 2e-6) == "optimal"  # a gap that shows as 0.0 %
    # the solver's word was shown as it is ("time_limit"); the gap stands beside it in every table
    stopped = format_solver_status("time_limit", 0.2)
    assert stopped == "time limit reached (the best plan found; its gap beside it)"


def test_terminal_tables_never_cut_a_header_or_a_figure(runs):
    """At 120 columns, with the sweep's long plan labels, 'P(breach)' printed as 'P(breac…' and
    labels wrapped over five lines: the figure columns now keep their headers' longest word and
    their figures whole, and the plan column gives way (wrapping at spaces)."""
    from rich.console import Console

    from fleetopt.cli.render.evaluate import evaluation_table, reactions_table
    from fleetopt.cli.render.sweep import sweep_table

    metrics = pd.read_csv(runs["evaluate"] / "metrics.csv")
    long = pd.concat([metrics] * 3, ignore_index=True)
    long["plan"] = ["milp: forecast, cash buffer $30.0M", "milp: forecast, buy 1q later",
                    "milp: lost anchor customer"]  # fmt: skip
    swept = pd.read_csv(runs["sweep"] / "candidates.csv")
    for table, last in ((evaluation_table(long, "t"), "util."), (reactions_table(long, "t"), "(USD)"),
                        (sweep_table(swept, "t"), "P(any default)")):  # fmt: skip
        console = Console(width=120, record=True, file=io.StringIO())
        console.print(table)
        text = console.export_text()
        assert "…" not in text and last in text, text


def test_the_evaluation_tables_note_says_what_mean_lowest_cash_is():
    """The default model's evaluation prints a mean lowest cash of -$3.66B, the one heading of the
    table its note left unexplained: how cash falls below zero is a finance reader's first question.
    The note says it is each scenario's lowest cash averaged, a default's shortfall carried as
    negative cash."""
    from rich.console import Console

    from fleetopt.cli.render.evaluate import evaluation_table

    row = {"plan": "milp", "npv_mean_usd": 13.53e9, "npv_mean_se_usd": 0.63e9,
           "npv_mean_no_default_usd": 24.09e9, "npv_p5_usd": -16.47e9, "npv_cvar5_usd": -19.95e9,
           "loss_probability": 0.399,
           "breach_probability": 0.715, "default_probability": 0.299, "expected_min_cash_usd": -3.66e9,
           "mean_utilisation": 0.823}  # fmt: skip
    console = Console(width=400, record=True, file=io.StringIO())
    console.print(evaluation_table(pd.DataFrame([row]), "t"))
    text = " ".join(console.export_text().split())
    assert "-$3.66B" in text
    assert "mean lowest cash: each scenario's lowest quarter-end cash, averaged" in text
    assert "default's shortfall is carried as negative cash" in text


def test_terminal_tables_on_a_narrow_terminal_keep_every_figure_whole(runs):
    """At 80 columns every figure of an evaluation printed cut short ('-$1…' for a CVaR5 of
    -$102.3M), and at 120 a table rich's layout could not fit was cropped at the edge. A table too
    wide for the terminal is printed with its headers wrapped, then without its outer frame, then
    turned (a column per plan), then plan by plan: every line within the width, every figure whole."""
    from rich.console import Console

    from fleetopt.cli.render.evaluate import evaluation_table
    from fleetopt.cli.render.sweep import sweep_table

    metrics = pd.read_csv(runs["evaluate"] / "metrics.csv")
    metrics["npv_cvar5_usd"] = -102.3e6
    swept = pd.read_csv(runs["sweep"] / "candidates.csv")
    breach = [f"{share:.1%}" for share in swept["breach_probability"]]
    for width in (30, 40, 60, 80, 100, 110, 120):
        for table, figures in ((evaluation_table(metrics, "t"), ["-$102.3M", "util."]),
                               (evaluation_table(swept, "t"), breach),
                               (sweep_table(swept, "t"), [*breach, "P(liq."])):  # fmt: skip
            console = Console(width=width, record=True, file=io.StringIO())
            console.print(table)
            text = console.export_text()
            assert "…" not in text and max(map(len, text.splitlines())) <= width, text
            assert all(figure in text for figure in figures), text
            if width == 120:  # the plain layout: a header row naming the plans' column
                lines = text.splitlines()  # unframed, the header's last line is above its rule
                rule = next((n for n, line in enumerate(lines) if line.strip().startswith("─")), 0)
                assert "┃ plan " in text or "plan " in lines[rule - 1], text


def test_the_terminal_shows_the_npv_with_limited_liability_only_where_it_differs(runs):
    """The NPV with limited liability is the NPV wherever no scenario defaults or ends worth less
    than nothing: a table repeating the NPV's figures would only crowd the output."""
    from rich.console import Console

    from fleetopt.cli.render.evaluate import limited_liability_table
    from fleetopt.cli.render.sweep import sweep_table
    from fleetopt.cli.render.tables import plain_text
    from fleetopt.core.units import format_figure, format_usd

    metrics = pd.read_csv(runs["evaluate"] / "metrics.csv")
    accelerated = metrics[["npv_accelerated_mean_usd", "npv_accelerated_cvar5_usd"]].copy()
    metrics["npv_limited_mean_usd"] = metrics["npv_accelerated_mean_usd"] = metrics["npv_mean_usd"]
    metrics["npv_limited_cvar5_usd"] = metrics["npv_accelerated_cvar5_usd"] = metrics["npv_cvar5_usd"]
    assert limited_liability_table(metrics, "t") is None
    metrics["npv_limited_cvar5_usd"] = metrics["npv_accelerated_cvar5_usd"] = -2.3e9
    console = Console(width=80, record=True, file=io.StringIO())
    console.print(limited_liability_table(metrics, "t"))
    text = " ".join(console.export_text().split())
    assert "CVaR5 NPV" in text and "-$2.30B" in text
    assert "a liquidity default ends the shareholders' claim" in text and "accelerated" not in text
    # tiny's own: no default, so limited liability is the NPV, but an uncured breach ends the claim if
    # the lenders accelerate (their figures beside P(any default))
    metrics["npv_limited_mean_usd"] = metrics["npv_mean_usd"]
    metrics["npv_limited_cvar5_usd"] = metrics["npv_cvar5_usd"]
    metrics[accelerated.columns] = accelerated
    console = Console(width=200, record=True, file=io.StringIO())
    console.print(limited_liability_table(metrics, "t"))
    text = " ".join(console.export_text().split())
    row = metrics.iloc[0]
    cells = [format_figure(row["any_default_probability"], "share"),
             format_usd(row["npv_accelerated_mean_usd"]),
             format_usd(row["npv_accelerated_cvar5_usd"])]
    assert " │ ".join(cells) in text and "CVaR5, accelerated" in text
    # a liquidity default's share beside P(any default) is named as the evaluation table names it
    assert "P(liq. default)" in text and "P(default)" not in text
    assert "the lenders accelerate at the first event of default of either kind" in text
    # and a sweep's candidates: a column of the shareholders' CVaR5 where it differs
    swept = pd.read_csv(runs["sweep"] / "candidates.csv")
    swept["npv_limited_mean_usd"] = swept["npv_mean_usd"]
    swept["npv_limited_cvar5_usd"] = swept["npv_cvar5_usd"]
    assert "limited" not in plain_text([sweep_table(swept, "t")], width=250)
    # CVaR5 itself defined under the candidates, as under evaluate's table (a walkthrough)
    caption = plain_text([sweep_table(swept, "t")], width=250)
    assert "CVaR5 NPV: the mean NPV of the worst 5 % of scenarios" in caption
    swept["npv_limited_cvar5_usd"] = -2.3e9
    assert "CVaR5, limited" in plain_text([sweep_table(swept, "t")], width=250)


def test_the_lenders_table_is_shown_where_a_plan_defaults_with_n_a_for_one_that_does_not(runs):
    """tiny's plan never defaults over its 200 scenarios: no table of the debt at a default. Given two
    plans, one defaulting in a quarter of its scenarios owing $1.9B on average, 60 % of it covered
    and $190M uncovered on average, the other never: the table, the second plan's debt and share
    'n/a' (not 'nan%') and nothing uncovered."""
    from rich.console import Console

    from fleetopt.cli.render.evaluate import debt_at_default_table

    metrics = pd.read_csv(runs["evaluate"] / "metrics.csv")
    assert metrics["default_probability"].max() == 0 and debt_at_default_table(metrics, "t") is None
    two = pd.concat([metrics, metrics], ignore_index=True)
    two.loc[0, ["default_probability", "debt_at_default_mean_usd", "debt_covered_at_default",
                "uncovered_debt_mean_usd"]] = [0.25, 1.9e9, 0.6, 1.9e8]  # fmt: skip
    console = Console(width=150, record=True, file=io.StringIO())
    console.print(debt_at_default_table(two, "t"))
    rows = [" ".join(line.split()) for line in console.export_text().splitlines()]
    assert any("25.0% │ $1.90B │ 60.0% │ $190.0M" in row for row in rows), rows
    assert any("0.0% │ n/a │ n/a │ $0" in row for row in rows), rows


def test_the_lenders_table_says_the_gpus_are_sold_at_the_distress_discount():
    """The terminal's table said the GPUs that cover the debt at a default are sold "at the
    scenario's resale value less selling costs", where the figure (evaluate/simulate.py
    _debt_at_default), metrics.csv's description and the report's glossary also take the policy's
    distress discount off."""
    from fleetopt.cli.render.evaluate import debt_at_default_table

    row = {"plan": "a", "default_probability": 0.25, "debt_at_default_mean_usd": 1.9e9,
           "debt_covered_at_default": 0.6, "uncovered_debt_mean_usd": 1.9e8}  # fmt: skip
    caption = " ".join(str(debt_at_default_table(pd.DataFrame([row]), "t").caption).split())
    said = "at the scenario's resale value less selling costs and the distress discount, and the cash"
    assert said in caption


def test_the_lenders_at_an_uncured_breach_are_in_the_report_with_no_liquidity_default(runs):
    """tiny's plan never defaults over its 200 scenarios but breaches uncured in some: the report's
    key figures give the debt at the uncured breach, as the terminal does (a review: they came only
    with the liquidity default's, and so were left out here)."""
    row = pd.read_csv(runs["evaluate"] / "metrics.csv").iloc[0]
    assert row["default_probability"] == 0 and row["uncured_breach_probability"] > 0
    text = text_of(runs["evaluate"])
    owed = format_usd(row["debt_at_uncured_breach_mean_usd"])
    assert f"{owed} debt owed at an uncured covenant breach, had the lenders accelerated" in text
    assert "debt owed at a liquidity default" not in text
    # undiscounted, as the liquidity default's: the default model's $5.20B, written by its -$18.11B of
    # CVaR5 (present values), read as a present value where it alone had no period
    uncovered = format_usd(row["uncovered_debt_at_uncured_breach_mean_usd"])
    assert (f"{uncovered} debt an uncured breach leaves uncovered by the GPUs and cash (mean over all "
            "scenarios, USD of the breach's quarter)") in text


def test_the_npv_if_lenders_accelerate_is_a_key_figure_and_a_run_without_it_is_still_reported(runs, tmp_path):
    """tiny's plan never defaults but breaches uncured in some scenarios: the shareholders' NPV if the
    lenders accelerate there differs from the NPV with limited liability (the NPV itself here), and the
    key figures give it; a run written before the figure (metrics.csv without its columns) is
    reported without it, not refused."""
    row = pd.read_csv(runs["evaluate"] / "metrics.csv").iloc[0]
    assert row["npv_accelerated_mean_usd"] != row["npv_limited_mean_usd"]
    text = text_of(runs["evaluate"])
    assert f"{format_usd(row['npv_accelerated_mean_usd'])} mean NPV if lenders accelerate" in text
    assert f"{format_usd(row['npv_accelerated_cvar5_usd'])} CVaR5 NPV if lenders accelerate" in text
    folder = tmp_path / "E"
    shutil.copytree(runs["evaluate"], folder)
    (folder / "report.html").unlink()
    metrics = pd.read_csv(folder / "metrics.csv")
    metrics.drop(columns=["npv_accelerated_mean_usd", "npv_accelerated_cvar5_usd"]).to_csv(
        folder / "metrics.csv", index=False)
    code, _, err = run_cli("report", str(folder))
    assert code == 0, err
    old = text_of(folder)  # the key figure left out (the Definitions still define the term)
    assert "mean NPV if lenders accelerate" not in old and "Key figures of" in old


def test_the_report_says_when_a_plan_breaks_as_the_terminal_does(runs):
    """A finance reader found the median quarters of the first breach and of the default only in
    a chart without labels: the report's key figures give them, with the share they are of, for
    what breaks (tiny's plan breaches in most of its scenarios and never defaults)."""
    from fleetopt import api

    metrics = pd.read_csv(runs["evaluate"] / "metrics.csv").iloc[0]
    text = text_of(runs["evaluate"])
    assert metrics["breach_probability"] > 0 and metrics["default_probability"] == 0
    quarter = api.load("tiny")[1].quarter_labels[int(metrics["breach_median_quarter"]) - 1]
    share = f"{metrics['breach_probability']:.1%}"
    said = f"{quarter} median quarter of the first covenant breach, of the {share} of scenarios with one"
    assert said in text
    assert "median quarter of the liquidity default" not in text


# ---------------------------------------------------------------- an evaluation's plans


@pytest.fixture
def evaluated_copy(runs, tmp_path) -> tuple[Path, Path]:
    """tiny's solve copied to P and evaluated from there (20 scenarios) into E: (P, E)."""

    plans, folder = tmp_path / "P", tmp_path / "E"
    shutil.copytree(runs["solve"], plans)
    args = ("evaluate", "tiny", "--plans", str(plans), "--scenarios", "20", "--out", str(folder))
    code, _, err = run_cli(*args)
    assert code == 0, err
    return plans, folder


def other_plans(path: Path, labels: list[str]) -> None:
    """Write at ``path`` the solve's plan with every purchase doubled, once per label."""
    from fleetopt.core.data import load
    from fleetopt.core.plan import Plan
    from fleetopt.evaluate.planfile import load_plans, save_plans

    loaded, data = load(path.parent / "model.yaml")
    plan = load_plans(path, data)[0][0]
    other = Plan(**{k: v.copy() for k, v in plan.arrays().items()})
    other.buy_blocks *= 2
    save_plans(path, [other] * len(labels), labels, "tiny", loaded.content_hash)


def test_an_evaluation_s_plans_replaced_since_are_left_out_saying_why(evaluated_copy):
    """The audit replaced P/plan.npz (same label 'milp') after the evaluation: the report showed the
    other plan's decisions under the evaluated plan's risk. The SHA-256 job.json and summary.json
    keep no longer matches: the plan sections are left out, the provenance and a warning say why."""
    plans, folder = evaluated_copy
    stored = summary_of(folder)["plans_sha256"]
    assert stored == json.loads((folder / "job.json").read_text())["plans_sha256"]
    code, _, err = run_cli("report", str(folder))
    assert code == 0 and "Decisions of milp" in text_of(folder)
    other_plans(plans / "plan.npz", ["milp"])
    code, _, err = run_cli("report", str(folder))
    text = text_of(folder)
    assert code == 0
    assert "changed since the evaluation" in err and "changed since the evaluation" in text
    assert "Decisions of" not in text and "Key figures of milp on the forecast" not in text
    assert "NPV distribution" not in text
    assert "The plan and its risk over 20 scenarios" in text  # the evaluation's own figures stay


def test_an_evaluation_whose_plans_file_is_gone_keeps_in_short_over_the_futures(evaluated_copy):
    """P/plan.npz deleted after the evaluation: the report left out "In short" whole, though its
    sentences over the futures need only the evaluation's metrics.csv and summary.json. It keeps those,
    each figure the metrics' row, leaves out what the plan buys and its run on the forecast (no "against
    $X on the forecast"), and says so in one sentence."""
    plans, folder = evaluated_copy
    (plans / "plan.npz").unlink()
    code, _, err = run_cli("report", str(folder))
    assert code == 0 and "no longer there" in err
    row = pd.read_csv(folder / "metrics.csv").iloc[0]
    said = in_short_of(folder).strip()

    def pct(column: str) -> str:  # a share of 20 futures, a multiple of 5 %
        return f"{100 * row[column]:.1f}%"

    opening = f"Plan \u201cmilp\u201d: mean NPV {format_usd(row['npv_mean_usd'])} over 20 futures; "
    assert said.startswith(f"{opening}the worst 5 % average {format_usd(row['npv_cvar5_usd'])}")
    assert f"{pct('loss_probability')} end with a negative NPV" in said
    assert (f"Over the horizon's 8 quarters, a liquidity default in {pct('default_probability')} of the "
            f"futures, a covenant breach in {pct('breach_probability')}, one the owners could not cure (an "
            f"event of default) in {pct('uncured_breach_probability')}; any default") in said  # fmt: skip
    assert "on the forecast;" not in said and "It buys" not in said and "keeps every covenant" not in said
    assert said.endswith(f"What it buys and whether it keeps its limits on the forecast are left out: the "
                         f"plans file {plans / 'plan.npz'} (as given to the evaluation) is no longer there.")
    text = text_of(folder)
    assert "Decisions of" not in text and "Key figures of milp on the forecast" not in text


def key_figure_tiles(html: str, heading: str) -> dict[str, str]:
    """The key-figure tiles under the section ``heading`` (to the next section), label -> figure."""
    section = html.split(heading, 1)[1].split("<h2>", 1)[0]
    tiles = re.findall(r'<div class="kpi[^"]*"><b>(.*?)</b><span>(.*?)</span></div>', section)
    return {unescape(label): unescape(value) for value, label in tiles}


def test_an_evaluation_whose_plans_file_is_gone_keeps_its_key_figures_over_the_futures(evaluated_copy):
    """P/plan.npz deleted after the evaluation: the report left out "Key figures of milp over 20
    scenarios", though each of them is a figure of the evaluation's metrics.csv row. It keeps them, as
    they read with the plans there, each its metrics.csv figure; those on the forecast, which run the
    plan, stay out, named among what the provenance says is left out."""
    plans, folder = evaluated_copy
    heading = "Key figures of milp over 20 scenarios (seed 0)"
    assert run_cli("report", str(folder))[0] == 0
    with_plans = key_figure_tiles(html_of(folder), heading)
    (plans / "plan.npz").unlink()
    code, _, err = run_cli("report", str(folder))
    assert code == 0 and "no longer there" in err
    html, text = html_of(folder), text_of(folder)
    tiles = key_figure_tiles(html, heading)
    assert tiles == with_plans and len(tiles) > 20
    row = pd.read_csv(folder / "metrics.csv").iloc[0]
    usd = {"mean NPV ± standard error": format_mean_and_error(row["npv_mean_usd"], row["npv_mean_se_usd"]),
           "median NPV (half the scenarios below it)": format_usd(row["npv_median_usd"]),
           "CVaR5 NPV: the mean of the worst 5 %": format_usd(row["npv_cvar5_usd"]),
           "P5 NPV": format_usd(row["npv_p5_usd"]),
           "mean over scenarios of the lowest cash": format_usd(row["expected_min_cash_usd"])}  # fmt: skip
    for label, figure in usd.items():
        assert tiles[label] == figure, label
    reactions = {f"scenarios with: {label}": column for column, label in REACTION_LABELS.items()}
    shares = {"P(NPV < 0)": "loss_probability",
              "P(liquidity default): cash below $25.0M in any of the 8 quarters": "default_probability",
              **reactions}  # fmt: skip
    for label, column in shares.items():  # a share of 20 futures, a multiple of 5 %
        assert tiles[label] == f"{100 * row[column]:.1f}%", label
    assert "Key figures of milp on the forecast" not in text and "Decisions of" not in text
    assert "leaves out the plans' own sections (key figures on the forecast, decisions, charts" in text


def test_a_deterministic_evaluation_whose_plans_are_gone_gives_its_recorded_forecast_figures(runs, tmp_path):
    """tiny's solve copied to P, evaluated --deterministic, P/plan.npz deleted: its key figures on the
    forecast are the evaluation's own (metrics.csv: its NPV and lowest cash, whether it breaches or
    defaults), no longer pointing to "the forecast run below", which needs the plan."""
    plans, folder = tmp_path / "P", tmp_path / "D"
    shutil.copytree(runs["solve"], plans)
    code, _, err = run_cli("evaluate", "tiny", "--plans", str(plans), "--deterministic", "--out", str(folder))
    assert code == 0, err
    (plans / "plan.npz").unlink()
    assert run_cli("report", str(folder))[0] == 0
    row = pd.read_csv(folder / "metrics.csv").iloc[0]
    tiles = key_figure_tiles(html_of(folder), "Key figures of milp on the forecast (deterministic)")
    assert tiles["NPV on the forecast (as the evaluation recorded it)"] == format_usd(row["npv_mean_usd"])
    assert tiles["lowest cash on the forecast (as the evaluation recorded it)"] == format_usd(
        row["expected_min_cash_usd"])
    assert tiles["liquidity default (cash below $25.0M)"] == ("yes" if row["default_probability"] else "no")
    assert "this report's rerun" not in text_of(folder)


def test_without_a_stored_hash_the_plans_must_have_the_evaluated_labels(evaluated_copy):
    """An evaluation that stored no hash (older runs): a file with other labels is not its plans,
    and a label missing never falls back to another plan."""
    plans, folder = evaluated_copy
    for name in ("job.json", "summary.json"):
        doc = json.loads((folder / name).read_text())
        doc.pop("plans_sha256")
        (folder / name).write_text(json.dumps(doc))
    other_plans(plans / "plan.npz", ["milp"])  # the same label: the report cannot tell, and shows it
    assert run_cli("report", str(folder))[0] == 0 and "Decisions of milp" in text_of(folder)
    other_plans(plans / "plan.npz", ["a", "milp"])
    code, _, err = run_cli("report", str(folder))
    assert code == 0
    assert "holds 2 plans (a, milp), not the 1 plan evaluated (milp)" in text_of(folder)
    assert "not the 1 plan evaluated" in err and "Decisions of" not in text_of(folder)


def test_an_evaluation_s_plan_shown_follows_its_ranking_and_says_which_rule(runs, tmp_path):
    """`evaluate --rank-by mean --max-breach-prob X --report`: the report showed the best plan by
    CVaR5 while the terminal printed another. It shows the terminal's first plan, naming the rule;
    the rule is kept in summary.json, and a run without one (older) is ranked by CVaR5. tiny's
    forecast optimum beside its optimum under a what-if max_ltv of 0.8 instead of tiny's 0.7: the
    latter has the better mean NPV only by keeping debt tiny's borrowing base does not allow on the
    forecast (marked `!`), so it comes after the forecast optimum, and the sentence says so."""
    from fleetopt.evaluate.metrics import FORECAST_OK
    from fleetopt.evaluate.planfile import load_plans, save_plans

    looser = tmp_path / "L"
    code, _, err = run_cli("solve", "tiny", "--set", "finance.facilities.gpu-term-loan.max_ltv=0.8", "--out",
                           str(looser))  # fmt: skip
    assert code == 0, err
    loaded, data = load(runs["solve"] / "model.yaml")
    plans = [load_plans(folder / "plan.npz", data)[0][0] for folder in (runs["solve"], looser)]
    both = tmp_path / "plans.npz"
    save_plans(both, plans, ["milp: forecast", "milp: max_ltv 0.8"], "tiny", loaded.content_hash)
    probe = tmp_path / "probe"
    code, _, err = run_cli("evaluate", "tiny", "--plans", str(both), "--scenarios", "50", "--out", str(probe))
    assert code == 0, err
    metrics = pd.read_csv(probe / "metrics.csv")
    marked = metrics[~metrics[FORECAST_OK]]
    best_by_mean = metrics.sort_values("npv_mean_usd", ascending=False).iloc[0]["plan"]
    assert best_by_mean in set(marked["plan"])
    shown = "milp: forecast"
    assert bool(metrics[metrics["plan"] == shown][FORECAST_OK].iloc[0])
    limit = 1.0
    folder = tmp_path / "E"
    args = ("--plans", str(both), "--scenarios", "50", "--rank-by", "mean",
            "--max-breach-prob", f"{limit!r}", "--report", "--out", str(folder))  # fmt: skip
    code, out, err = run_cli("evaluate", "tiny", *args)
    assert code == 0, err
    assert "best plans by mean NPV (! last)" in " ".join(out.split())
    # the first plan ranked first by keeping its limits on the forecast: no lead on the figure to measure
    assert summary_of(folder)["ranking"] == {"rank_by": "mean", "max_breach_prob": limit, "lead_se_usd": None}
    text = text_of(folder)
    assert "It is the only plan ranked that keeps its limits on the forecast: the second plan, “" in text
    assert f"Key figures of {shown} on the forecast" in text
    marks = "(a plan marked !, which breaches a covenant or defaults on the forecast itself, comes last)"
    assert (f"The plan shown: {shown}, the highest mean NPV among plans with P(covenant breach) at most "
            f"{format_rate(limit)}, by the evaluation's --rank-by mean --max-breach-prob {limit:g} {marks}"
            ) in text
    doc = summary_of(folder)
    doc.pop("ranking")  # as an evaluation written before runs kept their ranking
    (folder / "summary.json").write_text(json.dumps(doc))
    assert run_cli("report", str(folder))[0] == 0
    last = " (a plan marked !, which breaches a covenant or defaults on the forecast itself, comes last)"
    assert f"Key figures of {shown} on the forecast" in text_of(folder)
    assert f"the highest CVaR5 NPV, CVaR5 as the run kept no --rank-by{last}" in text_of(folder)
    doc["ranking"] = {"rank_by": "mean", "max_breach_prob": 0.0}  # no plan meets it
    (folder / "summary.json").write_text(json.dumps(doc))
    assert run_cli("report", str(folder))[0] == 0
    none_meets = f"the highest mean NPV of all plans{last}: none has P(covenant breach) at most 0%"
    assert none_meets in text_of(folder)
    # a limit that leaves out the marked plans (they breach in every scenario): the forecast optimum,
    # the only plan left, with no word on marks
    below = float(metrics[~metrics[FORECAST_OK]]["breach_probability"].min()) - 0.01
    assert float(metrics[metrics["plan"] == shown]["breach_probability"].iloc[0]) <= below
    doc["ranking"] = {"rank_by": "mean", "max_breach_prob": below}
    (folder / "summary.json").write_text(json.dumps(doc))
    assert run_cli("report", str(folder))[0] == 0
    assert (f"The plan shown: {shown}, the highest mean NPV among plans with P(covenant breach) at most "
            f"{format_rate(below)}, by the evaluation's --rank-by mean --max-breach-prob {below:g}"
            ) in text_of(folder)


def test_a_candidate_that_breaches_on_its_forecast_is_marked_and_its_covenant_named(runs):
    """The terminal marks such a candidate '!', the report did not, nor say which covenant the
    pick breaks on its forecast: its candidates table has the '!' column and legend, and "In short"
    says what the plan shown breaks on the forecast, once (a key figure below said it again); the
    MILP's plan breaks nothing, said once too. The pick's lead over the runner-up, said in short
    and again under Recommendation, is said once, in short. (The sweep with your purchases, 1,000
    B200 that miss the DSCR on the forecast: 3 of its 5 candidates, the pick among them.)"""
    candidates = pd.read_csv(runs["breach"] / "candidates.csv")
    html, text = html_of(runs["breach"]), text_of(runs["breach"])
    assert "!: breaches a covenant or defaults on the forecast itself" in text
    marks = len(re.findall(r'<td class="text(?: stick)?">!</td>', html))  # stick: in view when scrolled
    assert marks == int((~candidates["forecast_within_limits"]).sum()) == 3
    pick = summary_of(runs["breach"])["recommended"]
    assert not candidates.set_index("plan").loc[pick, "forecast_within_limits"]
    assert text.count("first misses EBITDA / debt service") == 1
    in_short = in_short_of(runs["breach"])
    assert "On the forecast it breaches a covenant (first misses EBITDA / debt service)" in in_short
    runner_up = summary_of(runs["breach"])["runner_up"]
    assert text.count(f"the runner-up, {runner_up}") == 1
    assert f"the runner-up, {runner_up}" in in_short
    # the MILP's plan breaks nothing: said once, in short (a card of "none" below said it again)
    solved = text_of(runs["solve"])
    assert solved.count(TINY_KEPT) == 1
    assert "covenant breach or default on the forecast" not in solved


def test_the_statements_table_reconciles_cash(runs):
    """Every flow of the cash identity is a column, with the opening cash and debt above the table:
    tiny's 2026Q4 (opening cash $150M, debt $200M) lacked its tax, so its cash could not be
    recomputed from the table. The identity holds on the statements to the cent."""
    from fleetopt.core.data import load

    text = text_of(runs["solve"])
    assert "Opening cash $150.0M, opening debt $200.0M. Cash at a quarter's end is the previous" in text
    headers = table_headers(html_of(runs["solve"]), "<h2>Quarterly statements of")
    assert {"tax", "disposal proceeds", "customer payments"} <= set(headers), headers  # in USD: its title
    _, data = load(runs["solve"] / "model.yaml")
    lines = pd.read_csv(runs["solve"] / "statements.csv")
    inflow = ["ebitda_usd", "disposal_proceeds_usd", "contract_payments_usd", "draws_usd"]
    outflow = ["tax_usd", "capex_gpu_usd", "capex_power_usd", "interest_usd", "principal_usd",
               "prepayment_usd"]  # fmt: skip
    flows = lines[inflow].sum(axis=1) - lines[outflow].sum(axis=1)
    np.testing.assert_allclose(data.opening_cash + flows.cumsum(), lines["cash_usd"], atol=0.01)


def test_the_recommended_plan_on_the_front_is_marked_both(runs):
    """The sweep's table says "green for the recommendation ... a bold blue number: Pareto front"; the
    pick, on the front, was only coloured, so a reader took it to be off the front. The title said
    "red" after the row turned green, and "bold" of a number a reader could not tell bold (now blue as
    well)."""
    html = unescape(html_of(runs["sweep"]))
    assert "green for the recommendation" in html and "a bold blue number: Pareto front" in html
    assert "red for the recommendation" not in html
    for after in ("Candidates and their risk", POLICY_TABLE):  # its figures, its reactions
        table = html.split(after, 1)[1].split("</table>", 1)[0]
        recommended = [m for m in re.findall(r'<tr class="([^"]*)"', table) if "rec" in m.split()]
        assert recommended == ["rec front"]


def test_an_evaluation_marks_the_plans_that_break_their_limits_on_their_own_forecast(runs, tmp_path):
    """The sweep's plans evaluated again: your purchases, with and without cash buffers, miss the DSCR
    on their own forecast (the sweep marks them `!`). An evaluation said nothing of it, and its report
    featured them. Now metrics.csv has the sweep's own column, the terminal and the report mark the
    plans, and say what the mark means."""
    out = tmp_path / "again"
    code, stdout, err = run_cli("evaluate", "--plans", str(runs["breach"]), "--scenarios", "20",
                                "--out", str(out), "--report")  # fmt: skip
    assert code == 0, err
    swept = pd.read_csv(runs["breach"] / "candidates.csv").set_index("plan")["forecast_within_limits"]
    again = pd.read_csv(out / "metrics.csv").set_index("plan")["forecast_within_limits"]
    assert again.to_dict() == swept.to_dict() and not again.all() and again.any()
    # the first table, up to its legend: each marked plan's name (a row's or, five plans being more
    # than a row table shows, a column's header) once with its mark, the others' without
    said = "! breaches a covenant or defaults on the forecast itself (run with its policy)"
    first = stdout.split("\n! breaches a covenant", 1)[0]
    assert first.count("! yours") == (~again).sum() == 3 and "! milp" not in first
    assert said in " ".join(stdout.split())
    assert page.FORECAST_MARK_WORDS in text_of(out)
    assert re.search(r'<th class="text(?: stick)?">!</th>', html_of(out))
    # a plan within its limits on the forecast: no column of empty marks, unexplained (a walkthrough)
    assert pd.read_csv(runs["evaluate"] / "metrics.csv")["forecast_within_limits"].all()
    assert not re.search(r'<th class="text(?: stick)?">!</th>', html_of(runs["evaluate"]))


def test_the_provenance_gives_the_run_id_time_and_command_of_its_record(runs):
    """The registry knows the run's id, when it was recorded and the command that wrote it; the
    report left all three out. A folder the registry does not hold gets none of them."""
    text = text_of(runs["solve"])
    # the command recorded is the CLI's argv: in-process under pytest, "fleetopt" and pytest's arguments
    recorded = r"written by fleetopt \S+; run \d+, recorded \d{4}-\d\d-\d\dT[\d:]+\+00:00 by `fleetopt[^`]*`"
    assert re.search(recorded, text)
    assert provenance._recorded(runs["solve"].parent / "not-a-run") == ""


def test_cash_below_the_liquidity_minimum_is_said_to_be_below_it(runs, tmp_path):
    """tiny's plan evaluated on the forecast of a model whose market prices crashed: its lowest cash
    tested is under the $25.0M minimum, which the report wrote as "-$95.2M above the $25.0M minimum"."""
    crashed = (TINY_PATH.read_text(encoding="utf-8")
               .replace("hopper: {start: 2.35,", "hopper: {start: 0.30,")
               .replace("blackwell: {start: 5.30,", "blackwell: {start: 0.50,")
               .replace("hopper: {start: 2.10,", "hopper: {start: 0.30,")
               .replace("blackwell: {start: 4.80,", "blackwell: {start: 0.50,"))  # fmt: skip
    model = tmp_path / "crash.yaml"
    model.write_text(crashed, encoding="utf-8")
    code, _, err = run_cli("evaluate", str(model), "--plans", str(runs["solve"]), "--deterministic",
                           "--out", str(tmp_path / "E"), "--report")  # fmt: skip
    assert code == 0, err
    text = text_of(tmp_path / "E")
    below = r"liquidity covenant on the forecast, .{0,160}?: \$[\d.]+M below the \$25\.0M minimum"
    assert re.search(below, text), text
    assert "above the $25.0M minimum" not in text


def test_the_liquidity_covenant_tile_names_the_lowest_cash_of_the_quarters_it_tests(runs):
    """tiny's covenants are tested from 2026Q4: the tile read "$24.3M above the $25.0M minimum" beside
    "lowest cash $30.3M" (2026Q3, not tested), a sum that did not add up. It gives the lowest cash of
    the quarters tested ($49.3M) and says which quarters those are."""
    from fleetopt.core.data import load
    from fleetopt.core.results.covenant_words import quarters_tested

    _, data = load(runs["solve"] / "model.yaml")
    cash = pd.read_csv(runs["solve"] / "statements.csv")["cash_usd"].to_numpy()
    lowest = float(cash[quarters_tested(data, "liquidity")].min())
    assert format_usd(lowest) == "$49.3M" and format_usd(cash.min()) == "$30.3M"
    # a sentence: listed under the tiles, its words before it
    tile = (f"liquidity covenant on the forecast, quarters tested from 2026Q4 lowest cash $49.3M (quarters "
            f"tested, from 2026Q4): {format_usd(lowest - 25e6)} above the $25.0M minimum")  # fmt: skip
    assert tile in text_of(runs["solve"]), tile


def test_when_plans_break_is_the_cumulative_share_by_quarter(runs):
    """Three scenarios broken in quarters 0 and 2 and never (4) over four quarters: a third by the
    end of quarters 0 and 1, two thirds by the end of quarters 2 and 3. The evaluation's report
    draws it for its plan, a breach and a default."""
    from fleetopt.evaluate.metrics import broken_by_quarter

    np.testing.assert_allclose(broken_by_quarter(np.array([0.0, 2.0, 4.0]), 4), [1 / 3, 1 / 3, 2 / 3, 2 / 3])
    text = text_of(runs["evaluate"])
    assert "When milp breaks: share of scenarios by the end of each quarter" in text
    assert "covenant breached" in text and "liquidity default" in text


def test_a_cost_plans_statements_say_why_it_prepays(tmp_path, monkeypatch):
    """A lab's plan solved for least cost prepays its debt (principal is not a cost, interest is:
    formulation §6, "Caveat"); its report said repaying debt early "would lower the NPV, so the
    plan repays only what covenants need" (from a lab planner's review). lab with $300M owed at the
    start: its cost plan prepays, and the report says why; lab as bundled borrows nothing: neither
    sentence; solved for NPV: the NPV's."""
    from fleetopt import api

    monkeypatch.setenv("FLEETOPT_RUNS_DIR", str(tmp_path / "runs"))
    owing = api.edit("lab", {("finance", "facilities", "gpu-loan", "opening_balance_usd"): 3e8})
    cost, npv = "counts interest but not principal", "Cash kept is not idle"
    for name, model, objective, said in (("owing", owing, "cost", {cost}), ("lab", "lab", "cost", set()),
                                         ("npv", "lab", "npv", {npv})):  # fmt: skip
        result = api.solve(model, objective=objective)
        if objective == "cost":
            assert (result.plan.prepay.sum() > 0) == (name == "owing")
        out = api.write_solve_run(result, out=tmp_path / name)
        api.report(out, out=tmp_path / f"{name}.html")
        text = unescape((tmp_path / f"{name}.html").read_text())
        assert {sentence for sentence in (cost, npv) if sentence in text} == said, name


def test_a_cost_solve_of_before_the_fleet_charge_is_reported_with_both_figures(tmp_path, monkeypatch):
    """A cost solve written by 0.4.2 (no present_cost_opening_fleet_usd in its summary) showed the
    present cost recomputed with the installed fleet beside its own objective without it, as if the
    two disagreed: the key figure now says which is which."""
    monkeypatch.setenv("FLEETOPT_RUNS_DIR", str(tmp_path / "runs"))
    run = tmp_path / "old"
    code, _, err = run_cli("solve", "lab", "--objective", "cost", "--out", str(run))
    assert code == 0, err
    summary = json.loads((run / "summary.json").read_text())
    opening = summary.pop("present_cost_opening_fleet_usd")
    summary["objective_usd"] -= opening
    (run / "summary.json").write_text(json.dumps(summary))
    code, _, err = run_cli("report", str(run), "--out", str(tmp_path / "r.html"))
    assert code == 0, err
    text = " ".join(unescape((tmp_path / "r.html").read_text()).split())
    assert f"the run's own objective, {format_usd(summary['objective_usd'])}, was without it" in text


def test_an_evaluation_of_a_cost_plan_reports_its_present_cost_and_real_budget(runs, tmp_path, monkeypatch):
    """An evaluation's report of a lab's cost plan left out the present cost and called its NPV and
    cash plain NPV and cash: it read the solve's `objective`, which an evaluation's summary does not
    have (from a lab planner's review). lab: cash less the market revenue to date (the budget the
    cost objective holds above the $250M floor) at the statements' lowest; the solve's report, the
    evaluation's and the deterministic one's say so."""
    import pandas as pd

    from fleetopt import api

    monkeypatch.setenv("FLEETOPT_RUNS_DIR", str(tmp_path / "runs"))
    solved = api.write_solve_run(api.solve("lab", objective="cost"), out=tmp_path / "solve")
    lines = pd.read_csv(solved / "statements.csv")
    market = (lines["revenue_training_market_usd"] + lines["revenue_inference_market_usd"]).cumsum()
    real = float((lines["cash_usd"] - market).min())
    assert 2.5e8 < real < float(lines["cash_usd"].min())
    for name, args in (("risk", ["--scenarios", "50", "--seed", "7"]), ("forecast", ["--deterministic"])):
        code, _, err = run_cli("evaluate", "--plans", str(solved), *args, "--out", str(tmp_path / name))
        assert code == 0, err
    for folder in ("solve", "risk", "forecast"):
        code, _, err = run_cli("report", str(tmp_path / folder), "--out", str(tmp_path / f"{folder}.html"))
        assert code == 0, err
        text = " ".join(unescape((tmp_path / f"{folder}.html").read_text()).split())
        assert "present cost of the plan (the objective)" in text, folder
        # and per H100-equivalent GPU-hour in service, levelized (formulation §6, "Cost"), the solve's figure
        summary = json.loads((solved / "summary.json").read_text())
        hours = f"{summary['compute_in_service_h100_hours_discounted']:,.0f}"
        assert f"(levelized): the present cost {format_usd(summary['present_cost_usd'])} over {hours}" in text
        # its tile's figure carries its unit beside it, not only in the label below: "$0.61/GPU-hour"
        # ($779.7M over 1,286,311,835 H100-equivalent GPU-hours), not a bare "$0.61"
        per_hour = summary["present_cost_usd"] / summary["compute_in_service_h100_hours_discounted"]
        assert format_usd_per_hour(per_hour) == "$0.61"
        assert "<b>$0.61/GPU-hour</b><span>present cost per H100-equivalent GPU-hour" in (
            (tmp_path / f"{folder}.html").read_text()), folder
        for figure in ("NPV on the forecast", "revenue over the horizon, undiscounted"):
            assert f"{figure} (the GPUs' own use valued at market prices, as revenue)" in text, folder
        assert "Compute against demand on the forecast: milp" in text, folder  # H100-eq., not GPU counts
        budget_words = "lowest cash less the market revenue to date (the GPUs' own use: no one pays it)"
        assert budget_words in text and format_usd(real) in text, folder
        assert "below finance.min_cash_usd" not in text, folder  # the cost objective holds the budget
        # the statements' revenue, EBITDA and cash count the own use too: said at the top, the solve's too
        assert "solved for least cost (`fleetopt solve --objective cost`): NPV, cash and revenue" in text
    assert "Compute against demand" not in text_of(runs["solve"])  # a plan solved for NPV
    # its gap is HiGHS's, of the objective without the fleet at the start (formulation §6, "Cost")
    solve_text = " ".join(unescape((tmp_path / "solve.html").read_text()).split())
    gap_words = "the objective less the installed fleet at the start ($239.4M), which HiGHS is not given"
    assert gap_words in solve_text and "which HiGHS is not given" not in text_of(runs["solve"])
    forecast = " ".join(unescape((tmp_path / "forecast.html").read_text()).split())
    assert "market demand served on the forecast (evaluator)" in forecast
    assert "served (mean over scenarios)" not in forecast and "P(more than" not in forecast  # one scenario


def test_a_plan_that_never_breaks_gets_a_sentence_not_a_flat_chart(tmp_path, monkeypatch):
    """lab's cost plan borrows nothing and has no covenant: in no scenario does it breach or default,
    and "When it breaks" was a chart of two lines flat at 0 (from a lab planner's review)."""
    from fleetopt import api

    monkeypatch.setenv("FLEETOPT_RUNS_DIR", str(tmp_path / "runs"))
    solved = api.write_solve_run(api.solve("lab", objective="cost"), out=tmp_path / "solve")
    code, _, err = run_cli("evaluate", "--plans", str(solved), "--scenarios", "30", "--seed", "7",
                           "--out", str(tmp_path / "risk"), "--report")  # fmt: skip
    assert code == 0, err
    metrics = pd.read_csv(tmp_path / "risk" / "metrics.csv")
    assert metrics.loc[0, "breach_probability"] == 0 and metrics.loc[0, "default_probability"] == 0
    text = text_of(tmp_path / "risk")
    said = "When milp breaks In none of the 30 scenarios re-simulated does it breach a covenant or default."
    assert said in text
    assert "When milp breaks: share of scenarios" not in text
    # its GPU loan is never drawn: the borrowing base's chart, flat at $0, says why
    assert "No GPU-secured debt is owed on the forecast: the borrowing base is not tested" in text
    # and "In short" does not claim it keeps a covenant that is never tested (a report review)
    assert "On the forecast it keeps its cash above the default level." in text
    assert "keeps every covenant" not in text


def test_the_commitments_now_read_the_same_in_the_terminal_and_the_report():
    """A stochastic solve gave RP, EV, EEV, VSS, EVPI but not what it commits to: the first stage,
    beside the forecast optimum's, is one list of lines (stochastic.commitments.commitment_lines) for both.
    A contract accepted by one plan only reads yes / no, its difference "accepted"; the GPUs in all
    last (1,952 + 48 against 2,000: a difference of 0 GPUs, unsigned). The report set the two
    plans' figures and their difference left, as words ('2,000 GPUs' under '$26.0M' read ragged);
    they are right-aligned as a table's numbers are."""
    from rich.console import Console

    from fleetopt.cli.render.stochastic import commitments_table

    settings = {"first_stage_quarters": 4, "first_stage_before": "2027Q3"}
    rows = [
        {"quarter": "2026Q3", "decision": "buy_gpus", "item": "B200@texas", "unit": "GPUs",
         "stochastic": 1952.0, "forecast_optimum": 2000.0},
        {"quarter": "2026Q3", "decision": "prepay_debt", "item": "gpu-term-loan", "unit": "USD",
         "stochastic": 26.9728e6, "forecast_optimum": 25.984615e6},
        {"quarter": "2027Q1", "decision": "buy_gpus", "item": "B200@texas", "unit": "GPUs",
         "stochastic": 48.0, "forecast_optimum": 0.0},
        {"quarter": "2027Q1", "decision": "build_power", "item": "texas", "unit": "MW",
         "stochastic": 2.5, "forecast_optimum": 0.0},
        {"quarter": "2027Q2", "decision": "contract_accepted", "item": "lab-b", "unit": "0/1",
         "stochastic": 1.0, "forecast_optimum": 0.0},
    ]  # fmt: skip
    summary = {"settings": settings, "commitments": rows}
    console = Console(width=400, record=True)
    console.print(commitments_table(summary))
    terminal = [[cell.strip() for cell in line.split("│")[1:-1]]
                for line in console.export_text().splitlines() if line.count("│") == 7]  # fmt: skip
    html = two_stage.stochastic_section(SimpleNamespace(summary={"settings": {**settings, "scenarios": 3,
        "screened": 200, "scenario_seed": 0, "risk_weight": 0.0, "cvar_alpha": 0.05,
        "later_purchases": "continuous"}, "status": "optimal", "gap": 0.0, "scenarios": [],
        "commitments": rows}, data=load(TINY_PATH)[1]))  # fmt: skip
    table = html[html.index("What to commit to now"):]
    cells = [re.findall(r'<td( class="text")?>([^<]*)</td>', row)
             for row in re.findall(r"<tr>(.*?)</tr>", table[:table.index("</table>")])]  # fmt: skip
    report = [[unescape(cell) for _, cell in row] for row in cells]
    assert terminal == [row for row in report if row]
    # the two plans' figures and their difference right-aligned, as a table's numbers are; words left
    assert all([bool(text) for text, _ in row] == [True] * 3 + [False] * 3 for row in cells if row), cells
    assert terminal == [
        ["2026Q3", "buy", "B200@texas", "1,952 GPUs", "2,000 GPUs", "-48 GPUs"],
        ["2026Q3", "prepay", "gpu-term-loan", "$27.0M", "$26.0M", "+$988.2k"],
        ["2027Q1", "buy", "B200@texas", "48 GPUs", "0 GPUs", "+48 GPUs"],
        ["2027Q1", "build power", "texas", "2.5 MW", "0 MW", "+2.5 MW"],  # not "2 MW": half a block
        ["2027Q2", "accept contract", "lab-b", "yes", "no", "accepted"],
        ["", "buy, all", "", "2,000 GPUs", "2,000 GPUs", "0 GPUs"],
    ]
    assert commitments_table({"settings": settings, "commitments": []}) is None


def test_an_evaluation_report_gives_the_median_npv_and_the_horizon_of_its_probabilities(runs):
    """A finance reader took the mean for the typical future (the default model: mean $13.5B,
    median $6.1B) and P(default) for a yearly rate: the key figures give the median and say the
    probabilities are over the horizon's quarters."""
    row = pd.read_csv(runs["evaluate"] / "metrics.csv").iloc[0]
    text = text_of(runs["evaluate"])
    assert f"{format_usd(row['npv_median_usd'])} median NPV (half the scenarios below it)" in text
    assert "in any of the 8 quarters" in text  # the default, below
    # tiny tests its covenants from its second quarter, the borrowing base from its first (a finance
    # review read "tested of the 28" of the default model, whose ratios are tested in 26)
    assert "P(covenant breach) in any quarter tested: the 7 from 2026Q4 (the borrowing base: all 8)" in text
    # and the breaches the owners could not cure, a lender's event of default
    uncured = f"{row['uncured_breach_probability']:.1%}"
    assert f"{uncured} P(uncured covenant breach): a breach the owners could not cure" in text


def test_an_evaluation_on_one_scenario_says_it_has_no_standard_error(runs, tmp_path, monkeypatch):
    """`evaluate --scenarios 1 --report` showed "-$64.3M ± n/a" under "Key figures of milp over 1
    scenarios": one scenario has no spread, said in words, and one scenario is singular."""
    monkeypatch.setenv("FLEETOPT_RUNS_DIR", str(tmp_path / "runs"))
    code, _, err = run_cli("evaluate", "--plans", str(runs["solve"]), "--scenarios", "1", "--out",
                           str(tmp_path / "one"), "--report")  # fmt: skip
    assert code == 0, err
    text = text_of(tmp_path / "one")
    assert "Key figures of milp over 1 scenario (seed" in text and "± n/a" not in text
    assert "mean NPV (one scenario: no standard error)" in text


def test_an_evaluation_on_one_scenario_draws_no_meaningless_charts(runs, tmp_path, monkeypatch):
    """`evaluate --scenarios 1 --report` drew an NPV histogram of one bar at its axis's left edge with
    no figure on the axis, 'bands' of cash and debt that were the one scenario's path (each legend
    entry 'thinner than the line'), and captions 'All 1 scenarios of the run', 'The 1 scenarios of
    the NPV chart', 'Bands from 1 re-simulated scenarios'. The NPV is said in words, the cash chart is
    the forecast's lines alone, and one scenario is singular."""
    monkeypatch.setenv("FLEETOPT_RUNS_DIR", str(tmp_path / "runs"))
    code, _, err = run_cli("evaluate", "--plans", str(runs["solve"]), "--scenarios", "1", "--out",
                           str(tmp_path / "one"), "--report")  # fmt: skip
    assert code == 0, err
    html, text = html_of(tmp_path / "one"), text_of(tmp_path / "one")
    npv = format_usd(summary_of(tmp_path / "one")["metrics"][0]["npv_mean_usd"])
    assert f"The one scenario of milp has an NPV of {npv}: no distribution to draw." in text
    assert 'aria-label="NPV distribution over scenarios"' not in html
    assert "1 scenarios" not in text and "re-simulated scenarios" not in text
    assert "Cash and debt on the forecast" in text and "5-95 %" not in text


def test_runs_show_writes_the_cover_of_next_years_debt_payments_as_a_ratio():
    """A 40-quarter solve printed 'lowest cover of the next year's debt payments ... 1.11x at the end
    of 2027Q1' in the terminal and the report, and `runs show` of that run 'min_liquidity_cover 1.107',
    a bare number beside 'min_dscr 4.79x': the same cover is a multiple everywhere."""
    from fleetopt.core.results.headline import figure_text, liquidity_cover_words

    assert figure_text("min_liquidity_cover", 1.107) == "1.11x"  # `runs show`
    fig = {"min_liquidity_cover": 1.107, "min_liquidity_cover_quarter": "2027Q1"}
    assert liquidity_cover_words(fig) == "1.11x at the end of 2027Q1"  # the terminal and the report
    assert figure_text("min_liquidity_cover", None) == (
        "n/a: no debt service is due in a whole year ahead inside the horizon "
        "(none in a horizon of four quarters or fewer)"
    )


def test_runs_show_writes_a_solver_status_in_words():
    """`runs show` of a stochastic solve stopped by its time limit printed HiGHS's 'time_limit' (its
    status, and WS's and EEV's), where the terminal and the report say it in words (a review)."""
    from fleetopt.core.results.headline import figure_text

    words = "time limit reached (the best plan found; its gap beside it)"
    assert figure_text("status", "time_limit") == words and figure_text("ws_status", "time_limit") == words
    assert figure_text("eev_status", "optimal") == "optimal"


def test_a_solver_gap_reads_the_same_in_the_terminal_the_report_and_runs_show():
    """0.203 % was 'optimal within 0.2%' in the terminal, 0.203% in the report and 0.20% in
    `runs show`: one gap, written one way (to the hundredth of a percent) everywhere."""
    from fleetopt.core.results.headline import figure_text

    summary = {"status": "optimal", "gap": 0.00203}
    assert format_solver_status("optimal", 0.00203) == "optimal within 0.20% (relative gap)"
    assert figure_text("gap", 0.00203) == "0.20%"  # `runs show`
    facts = dict(provenance._solver_facts(summary))
    assert "relative gap 0.20%" in facts["MILP"] and "0.203" not in facts["MILP"]
    assert format_solver_status("optimal", 4e-5) == "optimal"  # shows as 0.00 %: no 'within'
    no_gap = dict(provenance._solver_facts({"status": "optimal", "gap": None}))
    assert no_gap["MILP"].endswith("relative gap n/a")


def test_the_assumptions_agree_with_the_uncured_breach_figure():
    """An evaluation's report gave P(uncured covenant breach), "a breach the owners could not cure",
    and its assumptions said every breach is "never cured, waived or accelerated" (a finance
    review): they now say cures are counted and what is not simulated."""
    from fleetopt import api
    from fleetopt.report.definitions import _assumptions

    data = api.load("neocloud")[1]
    said = " ".join(_assumptions(SimpleNamespace(data=data, metrics=object(), summary={})))
    assert "never cured" not in said
    assert ("and one the owners could not cure (never two quarters in a row, at most "
            "finance.covenants.equity_cures, none in or after a liquidity default's quarter; no event of "
            "default where the quarter's cash covers its debt (finance.covenants.cash_covering_debt_cures)) "
            "in P(uncured covenant breach), but neither is simulated: a cure brings in no cash and no debt "
            "is accelerated.") in said


def test_the_in_short_of_a_cost_plans_evaluation_says_the_demand_it_serves(tmp_path, monkeypatch):
    """A lab's plan over the futures: its "In short" (the terminal's last line, the report's top) said
    its present cost or NPV and its liquidity defaults but not how much of its own demand it serves,
    the figure a lab plans for (from a lab capacity team's review). lab's cost optimum on 40 futures:
    both say the mean share served and the share of futures short by more than 1 %, from metrics.csv;
    a plan solved for NPV says neither."""
    from fleetopt import api

    monkeypatch.setenv("FLEETOPT_RUNS_DIR", str(tmp_path / "runs"))
    solved = {objective: api.write_solve_run(api.solve("lab", objective=objective), out=tmp_path / objective)
              for objective in ("cost", "npv")}  # fmt: skip
    for objective, folder in solved.items():
        out = tmp_path / f"{objective}-risk"
        code, printed, err = run_cli("evaluate", "--plans", str(folder), "--scenarios", "40", "--seed", "7",
                                     "--out", str(out), "--report")  # fmt: skip
        assert code == 0, err
        row = pd.read_csv(out / "metrics.csv").iloc[0]
        said = (f"It serves {row['demand_served_share']:.1%} of the demand on average over 40 futures, as "
                f"bought; more than 1% of it goes unserved in {row['shortfall_probability']:.1%} of them.")
        terminal = " ".join(printed[printed.index("In short:"):].split())
        report = text_of(out)
        report = report[report.index("In short"):report.index("Provenance")]
        assert (said in terminal, said in report) == ((True, True) if objective == "cost" else (False, False))
        over = "Over the horizon's 12 quarters, a liquidity default in"  # lab's
        assert over in terminal and over in report
        # its mean NPV (market-valued, as the note beside each says) in the same words: a cost plan's
        # report left it out, and its error, which the terminal and a notebook give; a cost plan's after
        # its present cost over the same futures (tests/test_present_cost_shown.py)
        npv = format_usd(row["npv_mean_usd"])
        mean = (f"Its imputed value, the NPV with the GPUs' own use valued at market prices: {npv} on average"
                if objective == "cost" else f"Plan “milp”: mean NPV {npv} over 40 futures")
        assert mean in terminal and mean in report and "on the mean NPV" in report


def test_a_cost_plans_in_short_gives_the_error_of_the_shares_it_states():
    """A cost plan's "In short" states its mean NPV and P(NPV < 0) = 21 %, as the terminal's, and the
    share of futures short of demand, 50 %: its sampling error is that of the mean NPV and the
    largest of the shares', sqrt(0.5 x 0.5 / 100) = 5.0 pp. Over 100 futures, none defaulting."""
    from fleetopt.core.results.risk_sentences import risk_in_short

    row = {"npv_mean_usd": 212.4e6, "npv_mean_se_usd": 25.6e6, "npv_cvar5_usd": -221.2e6,
           "loss_probability": 0.21, "default_probability": 0.0, "breach_probability": 0.0,
           "shortfall_probability": 0.5}  # fmt: skip
    said = risk_in_short("Plan “milp”", 100, row, served="It serves 89.0% of the demand ...")
    assert said == [
        "Plan “milp”: mean NPV $212.4M over 100 futures; the worst 5 % average -$221.2M; 21.0% end with a "
        "negative NPV.",
        "It serves 89.0% of the demand ...",
        "A liquidity default in 0.0% of the futures, a covenant breach in 0.0%.",
        "Sampling error, one standard error over 100 futures: $26M on the mean NPV, at most 5.0 pp on each "
        "probability.",
    ]
    assert risk_in_short("Plan “milp”", 100, row)[2] == (  # a plan solved for NPV: as before
        "Sampling error, one standard error over 100 futures: $26M on the mean NPV, at most 4.1 pp on each "
        "probability.")  # fmt: skip


def test_the_terminals_in_short_of_a_cost_plan_gives_the_error_of_the_share_short_of_demand():
    """`fleetopt evaluate` of a cost plan says its mean NPV, P(NPV < 0) = 21 % and that 50 % of the
    futures are short of demand, yet its sampling error read 'at most 4.1 pp on each probability',
    P(NPV < 0)'s, where the 50 % said is sqrt(0.5 x 0.5 / 100) = 5.0 pp off (the report's counted it)."""
    from fleetopt.cli.evaluation_output import in_short

    ranked = pd.DataFrame([{"plan": "milp", "npv_mean_usd": 212.4e6, "npv_mean_se_usd": 25.6e6,
                            "npv_cvar5_usd": -221.2e6, "loss_probability": 0.21, "default_probability": 0.0,
                            "breach_probability": 0.0, "demand_served_share": 0.89,
                            "shortfall_probability": 0.5}])  # fmt: skip
    said = in_short(SimpleNamespace(n_scenarios=100, quarters=12), ranked, "cvar5", True, None).plain
    assert "more than 1% of it goes unserved in 50.0% of them." in said
    assert said.endswith("Sampling error, one standard error over 100 futures: $26M on the mean NPV, "
                         "at most 5.0 pp on each probability.")  # fmt: skip


def test_the_definition_of_milp_says_what_a_cost_plan_was_solved_for():
    """The definitions of a lab's report said a plan named milp is the MILP's "to maximise the NPV on
    the forecast", although it was solved for least cost (from a lab capacity team's review): a cost
    plan's pages (its solve, evaluation, a comparison with one) say it minimises the present cost."""
    data = load(TINY_PATH)[1]
    words = {cost: dict(page.glossary(data, ["milp"], None, "solve", cost=cost))["milp"]
             for cost in (False, True)}  # fmt: skip
    assert "to maximise the NPV on the forecast within" in words[False]
    assert "minimise the present cost of serving the model's demand" in words[True]
    assert "minimise" not in words[False]


def test_a_lab_report_without_contracts_says_nothing_of_contracts_in_its_revenue(runs, tmp_path, monkeypatch):
    """lab has no contracts: its report gave its revenue as '$1.06B (0% under contract)' and its
    statements an 'of which under contract' and a 'customer payments' column of $0 in every quarter
    (a lab planner's review). Now the revenue alone, and no contract column; tiny, which has
    contracts, keeps all three."""
    from fleetopt import api

    monkeypatch.setenv("FLEETOPT_RUNS_DIR", str(tmp_path / "runs"))
    solved = api.write_solve_run(api.solve("lab", objective="cost"), out=tmp_path / "solve")
    code, _, err = run_cli("report", str(solved))
    assert code == 0, err
    lab = text_of(solved)
    revenue = json.loads((solved / "summary.json").read_text())["revenue_total_usd"]
    assert f"{format_usd(revenue)} revenue over the horizon" in lab
    for said in ("under contract", "customer payments"):
        assert said not in lab, said
        assert said in text_of(runs["solve"]), said


def test_a_lab_evaluation_defines_only_the_policy_reactions_it_can_have(runs, tmp_path, monkeypatch):
    """lab has no contracts: its evaluation's key figures leave out the contracts' policy reactions,
    but its definitions said the policy 'ran a contract late', 'had one cancelled' and 'offered the
    GPUs of an ended contract on the market', and its utilisation counted GPUs 'rented out (serving a
    contract ...)' (a lab planner's review). Now only tiny's say so."""
    from fleetopt import api

    monkeypatch.setenv("FLEETOPT_RUNS_DIR", str(tmp_path / "runs"))
    solved = api.write_solve_run(api.solve("lab", objective="cost"), out=tmp_path / "solve")
    run = tmp_path / "risk"
    code, _, err = run_cli("evaluate", "--plans", str(solved), "--scenarios", "20", "--out", str(run),
                           "--report")
    assert code == 0, err
    lab, tiny = text_of(run), text_of(runs["evaluate"])
    assert "policy reactions shares of scenarios in which the policy of docs/evaluation.md deferred" in lab
    for said in ("ran a contract late", "ended contract", "rented out (serving a contract"):
        assert said not in lab and said in tiny, said
    assert "utilisation mean over scenarios and quarters of the GPUs in use (serving the scenario's" in lab


def test_in_short_says_what_the_policy_had_to_do_to_get_through_the_futures():
    """A CFO's review: that the plan needed deferred and cancelled orders, distress sales and late
    contracts in most futures sat some thirty tiles down; "In short" (report and terminal) now says
    it after the risk, most often first, and nothing where the policy never acted."""
    from fleetopt.core.results.risk_sentences import survival_in_short

    row = {"deferred_share": 0.741, "order_cancelled_share": 0.672, "sold_share": 0.644,
           "rescheduled_share": 0.501, "prepayment_cut_share": 0.0, "cancelled_share": 0.0,
           "freed_share": 0.3}  # fmt: skip
    assert survival_in_short(row) == [
        "Its policy had to defer an order in 74.1% of the futures, cancel an order (its deposit lost) in "
        "67.2%, sell GPUs in distress in 64.4%, start a contract late in 50.1%."
    ]
    assert survival_in_short({**row, "deferred_share": 0.5})[0].startswith(
        "Its policy had to cancel an order (its deposit lost) in 67.2% of the futures, sell GPUs in "
        "distress in 64.4%, start a contract late in 50.1%, defer an order in 50.0%")
    assert survival_in_short(dict.fromkeys(row, 0.0)) == [] and survival_in_short({}) == []


def test_the_lowest_cash_is_the_first_quarter_on_its_floor():
    """A plan held at its $1.00B minimum for seven quarters: the terminal said 2027Q4 and the report
    2026Q3, each the smallest by round-off of its own statements (a CFO's review); both now name the
    first quarter within $1 of the lowest."""
    from fleetopt.core.results.shocks import lowest_quarter

    assert lowest_quarter(np.array([5e9, 1e9 + 0.4, 1e9 + 0.2, 1e9, 3e9])) == 1
    assert lowest_quarter(np.array([5e9, 1e9 + 2.0, 1e9, 3e9])) == 2  # $2 above: another quarter


def test_the_glossary_spells_out_pue_and_ltv_where_the_model_has_a_borrowing_base():
    """A CFO's review: 'MW drawn (facility, with PUE)' and 'GPU-secured debt / max LTV' were never
    spelt out. PUE always (every site has one), LTV where some facility sets a max_ltv."""
    from fleetopt.core.data import load

    _, neocloud = load("neocloud")  # ddtl-next lends at most 65 % of the GPUs' value
    terms = dict(page.glossary(neocloud, ["milp"], None, "solve"))
    assert terms["PUE"].startswith("power usage effectiveness") and terms["LTV"].startswith("loan-to-value")
    _, tiny = load("tiny")
    assert ("LTV" in dict(page.glossary(tiny, ["milp"], None, "solve"))) == any(
        f.max_ltv is not None for f in tiny.facilities)


def test_a_line_chart_s_points_give_their_quarter_and_value_when_hovered():
    """Hovering a line chart showed only the line's name; the histogram's bars gave their values.
    Each point of a line now has a tooltip with its quarter, the line's name and its value in the
    axis's unit, written as the key figures write it."""
    q = ["2027Q2", "2027Q3"]
    cash = svg.lines("t", q, {"cash": np.array([1.0e9, 1.234e9])}, "USD", y_fmt=svg.usd_tick)
    power = svg.lines("t", q, {"MW drawn": np.array([800.0, 820.0])}, "MW", y_fmt=svg.mw_tick)
    share = svg.lines("t", q, {"covenant breached": np.array([0.0, 0.125])}, "share", y_fmt=svg.share_tick)
    gpus = svg.lines("t", q, {"training compute": np.array([1200.0, 1500.0])}, "H100-equivalent GPUs")

    def tips(chart: str) -> list[str]:
        return [unescape(t) for t in re.findall(r'<circle [^>]*class="hit"><title>([^<]*)</title>', chart)]

    assert tips(cash) == ["2027Q2: cash $1.00B", "2027Q3: cash $1.23B"]
    assert tips(power) == ["2027Q2: MW drawn 800 MW", "2027Q3: MW drawn 820 MW"]
    assert tips(share)[1] == "2027Q3: covenant breached 12.5%"
    assert tips(gpus)[1] == "2027Q3: training compute 1,500 H100-equivalent GPUs"
    # on the point, where the eye is: the circle's centre is the line's vertex
    vertex = re.search(r'<path d="M[\d.]+,[\d.]+ L([\d.]+),([\d.]+)"', cash).groups()
    assert re.search(rf'<circle cx="{vertex[0]}" cy="{vertex[1]}" r="\d+"', cash), vertex


def _key(html: str) -> dict[str, str]:
    """The key above a comparison's Figures table: each column head's words, by the head."""
    key = html[html.index("<dl class='facts key'") : html.index("</dl>", html.index("<h2>Figures</h2>"))]
    return {unescape(dt): unescape(dd) for dt, dd in re.findall(r"<dt>([^<]*)</dt><dd>([^<]*)</dd>", key)}


def test_a_comparison_s_figures_are_headed_by_letters_each_plan_named_in_full_in_the_key(runs, tmp_path):
    """compare's Figures table headed its columns with the plans' labels and their differences
    ("W: milp: forecast, cash buffer $60.0M − W: milp: forecast"), each head wrapped over 5 to 8
    lines. Each plan's column is headed by its letter, a difference's by two ("B − A"), the labels
    shown on hovering; the key above the table names each plan in full, with what it is to its run."""
    out = tmp_path / "plans.html"
    code, _, err = run_cli("compare", str(runs["sweep"]), str(runs["solve"]), "--scenarios", "20",
                           "--out", str(out))  # fmt: skip
    assert code == 0, err
    html = out.read_text(encoding="utf-8")
    plans = html[html.index("<h2>The plans</h2>") : html.index("<h2>Figures</h2>")]
    labels = [unescape(t) for t in re.findall(r"<dt>([^<]*)</dt>", plans)]
    assert labels == ["W: milp: forecast", "W: milp: forecast, cash buffer $60.0M", "S: milp"], labels
    assert table_headers(html, "<h2>Figures</h2>") == ["figure", "A", "B", "C", "B − A", "C − A", "better"]
    for letters, full in (("A", labels[0]), ("B − A", f"{labels[1]} − {labels[0]}")):
        assert f"<th><abbr title='{escape(full)}'>{letters}</abbr></th>" in html, letters
    assert _key(html) == {"A": f"{labels[0]} (forecast optimum)", "B": f"{labels[1]} (recommendation)",
                          "C": labels[2], "B − A, C − A": "each plan's figure less A's"}  # fmt: skip
    # of two plans, the one difference by its letters; of more than three, the first and the last
    for refs, differences in (([runs["solve"], runs["evaluate"]], {"B − A": "B's figure less A's"}),
                              ([runs["sweep"], runs["solve"], runs["evaluate"]],
                               {"B − A to D − A": "each plan's figure less A's"})):  # fmt: skip
        code, _, err = run_cli("compare", *map(str, refs), "--scenarios", "20", "--out", str(out))
        assert code == 0, err
        key = _key(out.read_text(encoding="utf-8"))
        assert {head: words for head, words in key.items() if " − " in head} == differences, key


def test_a_plan_identical_to_another_says_so_in_the_npv_histogram_s_legend(runs, tmp_path):
    """A comparison's NPV histogram draws a plan identical to an earlier one exactly under it (its
    outline under the other's, its mean line on the other's), so it read as missing. Its legend
    entry now says which plan it is identical to."""
    out = tmp_path / "same.html"
    code, _, err = run_cli("compare", str(runs["solve"]), str(runs["evaluate"]), str(runs["solve"]),
                           "--scenarios", "20", "--out", str(out))  # fmt: skip
    assert code == 0, err
    html = out.read_text(encoding="utf-8")
    start = html.index("NPV over the common scenarios")
    chart = html[start : html.index("</svg>", start)]
    legend = [unescape(t) for t in re.findall(r'class="tick">([^<]*)</text>', chart)]
    labels = [unescape(t) for t in re.findall(r"<dt>([^<]*)</dt>", html[html.index("<h2>The plans</h2>") :])]
    first, *others = labels[:3]
    assert first in legend, legend  # the first plan drawn in view, as itself
    for label in others:
        assert f"{label} (identical to {first})" in legend, (legend, labels)


def text_lines(chart: str) -> list[tuple[float, str, str, str]]:
    """Each line of a chart's text: (x, anchor, class, words), a wrapped text's lines one by one."""
    out = []
    for attrs, body in re.findall(r"<text ([^>]*)>(.*?)</text>", chart, re.S):
        x = float(re.search(r'\bx="([\d.]+)"', attrs).group(1))
        anchor = (re.search(r'text-anchor="(\w+)"', attrs) or [None, "start"])[1]
        cls = re.search(r'class="([^"]*)"', attrs).group(1)
        spans = re.findall(r'<tspan x="([\d.]+)"[^>]*>([^<]*)</tspan>', body) or [(x, body)]
        out += [(float(sx), anchor, cls, unescape(words)) for sx, words in spans]
    return out


@pytest.mark.parametrize("layout", ["WIDE", "NARROW"])
def test_a_chart_s_words_stay_inside_its_drawing(layout):
    """A chart drawn for a phone (svg.NARROW, 360 units wide) with the report's longest words: a
    plan's long title, a band's legend entry ('... (thinner than the line: debt barely varies)') and
    the histogram's axis title. Each line of text, at its type's width, lies inside the drawing:
    the title, a long legend entry and the axis title wrap onto lines of their own."""
    lay = getattr(svg, layout)
    q = [f"{2026 + k // 4}Q{k % 4 + 1}" for k in range(20)]
    title = ("When milp: demand slump, cash buffer $6.98B breaks: share of scenarios by the end of each "
             "quarter")  # fmt: skip
    thin = [(np.ones(20), np.ones(20) * 1.0001, 0.15, "5-95 % of scenarios")]
    lines = svg.lines(title, q, {"cash": np.arange(20.0), "debt": np.ones(20)}, "USD",
                      y_fmt=svg.usd_tick, bands={"debt": thin}, layout=lay)  # fmt: skip
    histogram = svg.histogram(title, {"a": np.linspace(-3e9, 2e9, 500)}, layout=lay)
    for chart in (lines, histogram):
        width = float(re.search(r'viewBox="0 0 ([\d.]+) ', chart).group(1))
        assert width == lay.w
        for x, anchor, cls, words in text_lines(chart):
            em = svg.TITLE_CHAR * lay.title if cls == "title" else lay.char
            start = x - {"start": 0, "middle": 0.5, "end": 1}[anchor] * em * len(words)
            assert start >= 0 and start + em * len(words) <= width + 0.5, (x, anchor, words)
        assert "(thinner than the line" in chart or chart is histogram


def test_a_narrow_chart_s_x_labels_do_not_run_into_each_other():
    """Drawn narrow, a scatter's USD axis put '-$15M' and '-$10M' a space apart, the last label
    ended at its tick by the plot's edge: a label that would run into the one before it is left out
    (its gridline stays), and each label drawn is at least a character clear of the next."""
    points = [{"x": x, "y": -x * 2, "label": "p", "key": ""} for x in np.linspace(-34e6, -11e6, 8)]
    chart = svg.scatter("t", points, "x", "y", "mean NPV, USD", "CVaR5 NPV, USD", layout=svg.NARROW)
    tick = r'<text x="([\d.]+)" y="([\d.]+)" class="tick" text-anchor="(\w+)">([^<]*)</text>'
    found = re.findall(tick, chart)
    axis_y = max(float(y) for _, y, _, _ in found)  # the x axis's labels, below every y tick label
    lay, spans = svg.NARROW, []
    for x, y, anchor, words in found:
        if float(y) == axis_y:
            width = lay.char * len(unescape(words))
            start = float(x) - (width if anchor == "end" else width / 2)
            spans.append((start, start + width))
    spans.sort()
    assert len(spans) >= 3, spans
    assert all(b[0] - a[1] >= lay.char - 1e-6 for a, b in itertools.pairwise(spans)), spans


def test_the_pareto_chart_s_legend_names_only_the_kinds_of_point_drawn():
    """The Pareto chart's legend always listed 'recommended', 'Pareto front' and 'other candidates':
    a sweep whose candidates are all on the front (or of one candidate) showed a grey swatch for
    candidates the chart does not have. Its legend names the kinds drawn."""
    points = [{"x": 1e6 * k, "y": -1e6 * k, "label": str(k), "key": str(k), "front": True,
               "recommended": k == 1} for k in range(1, 4)]  # fmt: skip
    legend = re.findall(r'class="tick">([^<]*)</text>', svg.scatter("t", points, "x", "y", "mean", "CVaR5"))
    assert "recommended" in legend and "Pareto front" in legend and "other candidates" not in legend


def test_a_sweep_of_one_candidate_says_it_has_no_front(tmp_path, monkeypatch):
    """`sweep --candidates 1 --report` drew a Pareto chart of one point, its legend naming a front and
    other candidates it did not have: one candidate is said in words, with no chart."""
    monkeypatch.setenv("FLEETOPT_RUNS_DIR", str(tmp_path / "runs"))
    code, _, err = run_cli("sweep", "tiny", "--candidates", "1", "--scenarios", "20", "--out",
                           str(tmp_path / "one"), "--report")  # fmt: skip
    assert code == 0, err
    html, text = html_of(tmp_path / "one"), text_of(tmp_path / "one")
    assert "Pareto front One candidate was evaluated (milp: forecast): no other to weigh it against" in text
    assert 'aria-label="Candidates: CVaR5 NPV against mean NPV"' not in html


def test_a_sweep_report_s_green_means_recommended_only(runs):
    """The sweep's report drew its recommended plan green (Pareto chart, candidates table) and, in
    'When ... breaks', its liquidity defaults green too (the palette's third colour): one colour, a
    good sign and the worst event. A default is drawn vermillion; green is the recommendation's."""
    html = html_of(runs["sweep"])
    drawn = r'<svg class="chart(?: wide)?" viewBox="[^"]*" role="img" aria-label="([^"]*)"(.*?)</svg>'
    charts = dict(re.findall(drawn, html, re.S))
    breaks = next(svg_ for name, svg_ in charts.items() if name.startswith("When "))
    assert svg.RECOMMENDED not in breaks and svg.OKABE_ITO["vermillion"] in breaks
    assert svg.RECOMMENDED in charts["Candidates: CVaR5 NPV against mean NPV"]


def test_the_candidates_table_s_heading_names_it_and_its_caption_says_how_to_read_it(runs):
    """The sweep's table was headed 'Candidates and their risk over 100 scenarios (seed 0; green:
    recommended, a bold blue number: Pareto front of mean NPV, CVaR5 and P(covenant breach); !:
    breaches a covenant or defaults on the forecast itself); policy columns: share of scenarios', a
    heading of seven lines on a phone. The heading names the table; how to read it is its caption
    (the policy's shares now a table of their own, below). The '!' is explained where a candidate
    is marked (the sweep with your purchases), and only there."""
    for folder, marks in ((runs["breach"], f"{page.FORECAST_MARK_WORDS}; "), (runs["sweep"], "")):
        html = html_of(folder)
        heading = re.search(r"<h2>(Candidates and their risk[^<]*)</h2><p class='cap'>([^<]*)</p>", html)
        assert heading is not None
        assert heading.group(1) == "Candidates and their risk over 100 scenarios (seed 0)"
        limited = "CVaR5 NPV, limited" in table_headers(html, "Candidates and their risk")
        assert unescape(heading.group(2)) == (
            "A bar at a row's start marks its plan's role, in the charts' colour: green for the "
            "recommendation and orange for the forecast optimum (the role said after the plan too); a bold "
            "blue number: Pareto front of "
            f"mean NPV, CVaR5 NPV and P(covenant breach); {marks}money in USD; no liq. default: of the "
            "scenarios with no liquidity default"
            + ("; limited: with limited liability." if limited else "."))


@pytest.mark.parametrize("layout", ["WIDE", "NARROW"])
def test_a_chart_s_quarter_labels_are_a_whole_number_of_years_apart(layout):
    """Drawn narrow, the default model's 28 quarters were labelled 2026Q3, 2028Q2, 2030Q1, 2031Q4 (a
    label every 7 quarters), each a different quarter of its year. Labels more than two quarters
    apart are a whole number of years apart: 2026Q3, 2028Q3, 2030Q3, 2032Q3."""
    q = [f"{2026 + (k + 2) // 4}Q{(k + 2) % 4 + 1}" for k in range(28)]
    chart = svg.lines("t", q, {"a": np.arange(28.0)}, "MW", y_fmt=svg.mw_tick, layout=getattr(svg, layout))
    labels = [words for *_, words in text_lines(chart) if re.fullmatch(r"\d{4}Q\d", words)]
    assert labels[0] == "2026Q3" and {label[-2:] for label in labels} == {"Q3"}, labels
    assert len(labels) >= 4, labels


def test_a_stochastic_report_leads_with_what_to_commit_to_and_how_to_judge_it(tmp_path, monkeypatch):
    """tiny --stochastic 5: the report opened its stochastic part with RP, EV, EEV, WS, VSS, EVPI and
    three in-sample figures, the out-of-sample verdict under them and the commitments after, so a
    reader met several "values" before the answer and took the plan's out-of-sample loss for the
    feature failing. In short now opens with what to commit to now, the verdict and what it means;
    the sections run: what to commit to now (with the gap that parts its forecast optimum from
    fleetopt solve's), how to judge it (both plans on the fresh scenarios, their paired differences),
    then the diagnostics, labelled as the solver's in-sample figures. The paired differences pinned
    (mean -$1.2M, standard error $47.1k; CVaR5 +$695.8k: a trade since the scenario copies value
    their collateral at the scenario's resale factor, worse in mean NPV before, -$1.5M ($60.8k)) are
    read from the report since policy rule 3 never cuts the prepayments the borrowing base needs, now
    or in a later quarter (-$1.1M, $47.8k, +$799.9k while it read the quarter's base alone;
    docs/evaluation.md)."""
    monkeypatch.setenv("FLEETOPT_RUNS_DIR", str(tmp_path / "runs"))
    folder = tmp_path / "sto"
    for args in (("solve", "tiny", "--stochastic", "5", "--out", str(folder)), ("report", str(folder))):
        code, _, err = run_cli(*args)
        assert code == 0, err
    text = text_of(folder)
    short = text[text.index("In short") : text.index("Provenance")]
    assert short.startswith("In short What to commit to now: the first stage of the stochastic plan or of "
                            "the forecast optimum (below), judged on 1,000 fresh futures, out of sample")
    assert ("On the same futures the stochastic plan is a trade against the forecast optimum: better CVaR5, "
            "P(breach) and P(any default), worse mean NPV, each beyond 2 standard errors") in short
    assert ("What it means: neither plan is better on every figure: committing to the stochastic plan's "
            "first stage buys its better figures at the price of its worse ones") in short
    heads = [re.sub(r"<[^>]+>", "", h) for h in re.findall(r"<h2[^>]*>(.*?)</h2>", html_of(folder))]
    at = {h: heads.index(h) for h in ("What to commit to now", "How to judge it: out of sample",
                                      "Two-stage stochastic solution: diagnostics")}  # fmt: skip
    assert list(at.values()) == sorted(at.values()) and at["How to judge it: out of sample"] == at[
        "What to commit to now"] + 1  # fmt: skip
    commit = text[text.index("What to commit to now Each decision") : text.index("How to judge it")]
    assert "solved at this run's 1.00% gap, not fleetopt solve's 0.50%: it may buy differently" in commit
    judge = text[text.index("How to judge it") : text.index("Two-stage stochastic solution: diagnostics")]
    assert "stochastic less forecast (paired standard error) -$1.2M ($47.1k)" in judge
    assert "choose by which matter more to you" in judge
    # the paired differences once, in the table: its words repeated the difference row ("less the
    # forecast optimum (paired standard errors in brackets): mean -$1.5M ($60.8k), CVaR5 ..."); the
    # words keep what the table does not carry, the verdict and what to do
    assert judge.count("($47.1k)") == 1 and "+$695.8k" in judge and "CVaR5 +$695.8k" not in judge
    said = ("the first less the second, with its paired standard errors in brackets, in the table below. The "
            "stochastic plan is a trade against the forecast optimum: better CVaR5, P(breach) and P(any "
            "default), worse mean NPV, each beyond 2 standard errors")
    assert said in judge
    diagnostics = text[text.index("Two-stage stochastic solution: diagnostics") :]
    assert diagnostics.startswith("Two-stage stochastic solution: diagnostics The solver's figures over its "
                                  "5 reduced scenarios (in sample): what the solve optimised, not forecasts")
    assert "RP, recourse problem: the solver's objective for the stochastic plan" in diagnostics


# the headings of the key figures over the scenarios, in the order a finance reader scans them
SCENARIO_FIGURE_HEADINGS = ["Demand served", "Value", "The tail and the shareholders",
                            "Defaults and breaches", "The lenders at a default", "When it breaks",
                            "What the policy had to do", "Which covenant breaks first"]  # fmt: skip


def _scenario_figure_groups(html: str) -> dict[str, str]:
    """The key figures over the scenarios of a report, by the heading they are under: its text."""
    section = html.split(" scenarios (seed ", 1)[1].split(" on the forecast</h2>", 1)[0]
    parts = re.split(r"<h3 class='figures'>([^<]*)</h3>", section)[1:]
    pairs = zip(parts[::2], parts[1::2], strict=True)
    return {heading: unescape(re.sub(r"<[^>]+>", " ", body)) for heading, body in pairs}


@pytest.mark.parametrize("kind", ["evaluate", "sweep"])
def test_the_key_figures_over_the_scenarios_are_grouped_under_headings(runs, kind):
    """An evaluation's key figures over its scenarios were 32 tiles in one grid: value, tails,
    probabilities, the lenders' side, timing, the policy's reactions and which covenant breaks first
    undifferentiated (a finance reader's review). They are grouped under short headings, in the order
    a reader scans them, the same tiles and words."""
    groups = _scenario_figure_groups(html_of(runs[kind]))
    headings = list(groups)
    assert headings == [h for h in SCENARIO_FIGURE_HEADINGS if h in groups], headings
    assert {"Value", "The tail and the shareholders", "Defaults and breaches", "What the policy had to do",
            "Which covenant breaks first"} <= set(headings)  # fmt: skip
    assert "mean NPV ± standard error" in groups["Value"] and "median NPV" in groups["Value"]
    assert "CVaR5 NPV: the mean of the worst 5 %" in groups["The tail and the shareholders"]
    assert "P(NPV < 0)" in groups["The tail and the shareholders"]
    assert "P(liquidity default): cash below" in groups["Defaults and breaches"]
    assert "mean over scenarios of the lowest cash" in groups["Defaults and breaches"]
    assert "scenarios with: order deferred" in groups["What the policy had to do"]
    assert "scenarios whose first breach breaks" in groups["Which covenant breaks first"]
    if "When it breaks" in groups:
        assert "median quarter of the first covenant breach" in groups["When it breaks"]


# the headings of the key figures on the forecast: a cost plan's cost first, as its demand is above
FORECAST_FIGURE_HEADINGS = ["Cost and demand served", "Value", "Debt and cash", "Covenants and defaults",
                            "Revenue and customers", "Fleet, power and capex",
                            "What held the plan back (limits reached on the forecast)"]  # fmt: skip


def _forecast_figure_groups(html: str) -> dict[str, str]:
    """The key figures on the forecast of a report, by the heading they are under: its text."""
    section = html.split(" on the forecast</h2>", 1)[1].split("<h2>", 1)[0]
    parts = re.split(r"<h3 class='figures'>([^<]*)</h3>", section)
    assert not re.sub(r"<[^>]+>", "", parts[0]).strip(), parts[0]  # no figure above the first heading
    pairs = zip(parts[1::2], parts[2::2], strict=True)
    return {heading: " ".join(unescape(re.sub(r"<[^>]+>", " ", body)).split()) for heading, body in pairs}


def test_the_key_figures_on_the_forecast_are_grouped_as_those_over_the_scenarios(runs, tmp_path, monkeypatch):
    """A solve's key figures on the forecast were 16 tiles and lists in one grid, NPV beside GPUs
    bought beside a covenant's headroom, where the evaluation's over the scenarios come under
    headings. They come under headings too: tiny's NPV and its parts under Value, peak debt and
    lowest cash under Debt and cash, the DSCR and each covenant's headroom under Covenants and
    defaults, revenue and customers, then the fleet; lab's cost solve opens with its cost."""
    groups = _forecast_figure_groups(html_of(runs["solve"]))
    assert list(groups) == FORECAST_FIGURE_HEADINGS[1:], list(groups)
    assert "NPV on the forecast" in groups["Value"] and "NPV at other discount rates" in groups["Value"]
    assert "peak debt on the forecast" in groups["Debt and cash"]
    assert "lowest cash on the forecast (2026Q3)" in groups["Debt and cash"]
    assert "lowest DSCR on the forecast" in groups["Covenants and defaults"]
    assert "liquidity covenant on the forecast" in groups["Covenants and defaults"]
    assert "contract revenue by customer" in groups["Revenue and customers"]
    assert "2,000 GPUs GPUs bought" in groups["Fleet, power and capex"]
    assert "0 MW power built" in groups["Fleet, power and capex"]
    held = groups["What held the plan back (limits reached on the forecast)"]
    # each limit's subject its term, the rest its text: the text had repeated the term ("power at texas:")
    assert "power at texas all its MW online in use (up to 20 MW, blocks built included) in 2026Q3..2027Q2" \
        in held and "power at texas power at texas" not in held and "debt no facility can draw more" in held
    monkeypatch.setenv("FLEETOPT_RUNS_DIR", str(tmp_path / "runs"))
    code, _, err = run_cli("solve", "lab", "--objective", "cost", "--out", str(tmp_path / "C"), "--report")
    assert code == 0, err
    lab = _forecast_figure_groups(html_of(tmp_path / "C"))
    cost_headings = [*FORECAST_FIGURE_HEADINGS[:1], IMPUTED_VALUE, *FORECAST_FIGURE_HEADINGS[2:]]
    lab = {unescape(heading): figures for heading, figures in lab.items()}
    assert list(lab) == cost_headings, list(lab)
    assert "present cost of the plan (the objective)" in lab["Cost and demand served"]
    # its NPV, of a revenue no one pays, the figure alone, as a cost plan's evaluation shows it: not the
    # NPV's parts, with cash held and at other rates (a neocloud's value)
    imputed = "$340.2M NPV on the forecast (the GPUs' own use valued at market prices, as revenue)"
    assert lab[IMPUTED_VALUE] == imputed


def test_a_key_figure_whose_words_show_its_arithmetic_takes_a_tile_two_columns_wide(runs):
    """A cost solve's present cost, its words its arithmetic (293 characters), ran 13 lines in a tile
    170 px wide, and the tiles beside it stretched as tall, mostly blank. A tile whose words are
    longer than 120 characters spans two columns (one on a screen of one column); others, one."""
    from fleetopt.report.markup import KPI_WIDE_LABEL, Kpi

    assert KPI_WIDE_LABEL == 120
    assert Kpi("x" * 121, "$1.0M").startswith('<div class="kpi wide">')
    assert Kpi("x" * 120, "$1.0M").startswith('<div class="kpi">')
    html = html_of(runs["solve"])
    end_part = r'<div class="kpi wide"><b>[^<]*</b><span>of the NPV, at the end \(present value\): 0\.756 '
    assert re.search(end_part, html)  # its words: 169 characters
    assert ".kpi.wide{grid-column:span 2}" in html
    assert "(max-width:373px){.kpi.wide{grid-column:auto}}" in html  # one column: no column past the edge
    assert re.search(r'<div class="kpi"><b>[^<]*</b><span>NPV on the forecast</span>', html)


def test_a_key_figure_whose_value_is_a_sentence_is_listed_under_the_tiles(runs):
    """On the forecast, a key figure whose bold value was a sentence (each customer's share, each year's
    share under contract, a covenant's headroom) made a tile two columns wide and many lines tall, its
    row ragged and half blank. Such figures are listed under the tiles, each after its words; short
    figures stay tiles."""
    from fleetopt.report.markup import KPI_LONG_VALUE

    html = html_of(runs["solve"])
    section = html.split(" on the forecast</h2>", 1)[1].split("<h2>", 1)[0]
    tiles = re.findall(r'<div class="kpi"><b>([^<]*)</b>', section)
    assert tiles and all(len(unescape(t)) <= KPI_LONG_VALUE for t in tiles), tiles
    assert "NPV on the forecast" in section.split("<dl", 1)[0]  # a figure: a tile
    listed = "".join(re.findall(r"<dl class='facts figures'>(.*?)</dl>", section))  # a list a group
    pairs = re.findall(r"<dt>([^<]*)</dt><dd>([^<]*)</dd>", listed)
    words = [unescape(dt) for dt, _ in pairs]
    assert "share of each year's revenue under contract" in words
    assert any(w.startswith("contract revenue by customer") for w in words)
    assert any(w.startswith("liquidity covenant on the forecast") for w in words)
    assert all(len(unescape(dd)) > KPI_LONG_VALUE for _, dd in pairs)


def test_a_chart_s_box_takes_its_own_height_not_its_neighbour_s():
    """The boxes of a grid stretched to the tallest in their row: the Pareto chart beside its long key,
    a site's power beside the cash chart, each left half its box blank. Each takes its own height."""
    grid = re.search(r"\.grid\{display:grid;[^}]*\}", page.STYLE).group(0)
    assert "align-items:start" in grid, grid


def test_a_long_header_is_cut_into_two_lines_at_the_space_that_keeps_them_shortest():
    """Over figures as narrow as '$2.8M' a browser wrapped 'mean NPV, no liquidity default (USD)' a
    word a line, five lines tall. Cut after 'mean', 'NPV,', 'no', 'liquidity' or 'default' its longer
    line is 31, 26, 23, 22 or 30 characters: cut after 'liquidity', two lines. A header within 14
    characters, or no wider than its figures, stays whole, and a formula is not cut at its symbol."""
    from fleetopt.report.markup import header_lines, sortable_table

    long = "mean NPV, no liquidity default (USD)"
    assert header_lines(long, 7) == ["mean NPV, no liquidity", "default (USD)"]
    assert header_lines(long, 40) == [long]  # its figures are wider
    assert header_lines("opening (USD)", 7) == ["opening (USD)"]
    assert header_lines("scheduled principal", 7) == ["scheduled", "principal"]
    assert header_lines("P(NPV < 0) share", 5) == ["P(NPV < 0)", "share"]  # not 'P(NPV <' / '0) share'
    assert header_lines("P(covenant breach)", 6) == ["P(covenant", "breach)"]
    table = sortable_table(pd.DataFrame({"npv": [-2.8e6]}), money_cols={"npv"}, headers={"npv": long})
    assert "<th>mean NPV, no liquidity <br>default (USD)</th>" in table, table  # read as one: a space


def test_the_candidates_table_cuts_a_long_header_into_three_lines():
    """The default model's sweep table (16 columns) was 58 px wider than a 1280 px page, its headers
    on two lines each: 'mean NPV, no liq. default' cut after 'no' is 12 characters over figures of 7
    ('$18.39B'); on three lines, 'mean NPV,' / 'no liq.' / 'default', 9. A fit table cuts a third
    line only where it shortens the longest; other tables keep two (the statements' header rows)."""
    from fleetopt.report.markup import header_lines, sortable_table

    header = "mean NPV, no liq. default"
    assert header_lines(header, 7, 0) == ["mean NPV, no", "liq. default"]
    assert header_lines(header, 7, 0, 3) == ["mean NPV,", "no liq.", "default"]
    assert header_lines("P(covenant breach)", 5, 0, 3) == ["P(covenant", "breach)"]  # one cut only
    assert header_lines("CVaR5 NPV", 7, 0, 3) == ["CVaR5", "NPV"]  # two lines already as narrow
    frame = pd.DataFrame({"npv": [1.839e10]})
    tall = sortable_table(frame, money_cols={"npv"}, headers={"npv": header}, fit=True, tall_headers=True)
    assert "<th>mean NPV, <br>no liq. <br>default</th>" in tall, tall
    fit = sortable_table(frame, money_cols={"npv"}, headers={"npv": header}, fit=True)
    assert "<th>mean NPV, no <br>liq. default</th>" in fit, fit


def test_the_debt_by_facility_table_s_headers_are_short_over_its_figures(runs):
    """The debt-by-facility table's header row was six lines tall, mostly empty: 'peak at a quarter's
    end (USD)' and 'end of 2026Q4 (USD)' over columns as narrow as '$1.13B' wrapped a word a line.
    The balances' headers are a word or a quarter ('peak', '2026Q4'), their unit their table's title
    ('Balance of each facility (USD)'); the caption says what they are."""
    html = html_of(runs["solve"])
    assert table_headers(html, "<h2>Debt by facility of")[-1] == "size (USD)"  # the terms' one figure
    headers = table_headers(html, "<h3>Balance of each facility (USD)</h3>")
    assert headers == ["facility", "opening", "quarter-end peak", "2026Q4", "2027Q4", "2028Q2"], headers
    said = "at the horizon's start (opening), its quarter-end peak (the highest at a quarter's end"
    assert said in text_of(runs["solve"])


def test_a_loan_that_only_repays_shows_its_quarter_end_peak_as_such_below_its_opening(runs):
    """A finance reader read 'peak $968.6M' beside 'opening $1.13B' (the default model's ddtl-1) as
    an error: the peak is of the quarters' ends, as peak debt is everywhere (the terminal's 'peak
    debt (at a quarter's end)'). tiny's term loan opens at $200.0M and draws nothing: its highest
    quarter-end balance is its first, after that quarter's instalment and prepayment, below $200.0M;
    header and caption say it is a quarter's end's, and why it is below the opening."""
    html = html_of(runs["solve"])
    table = html.split("<h3>Balance of each facility (USD)</h3>", 1)[1].split("</table>", 1)[0]
    row = re.findall(r'data-v="([^"]+)"', table)[:2]  # opening, quarter-end peak
    first = pd.read_csv(runs["solve"] / "statements.csv")["debt_facility_gpu-term-loan_usd"].iloc[0]
    assert [float(v) for v in row] == [200e6, pytest.approx(first, rel=1e-9)] and first < 200e6
    assert table_headers(html, "<h3>Balance of each facility (USD)</h3>")[2] == "quarter-end peak"
    assert "below the opening where the first quarter repays more than it draws" in text_of(runs["solve"])


@pytest.mark.parametrize("layout", ["WIDE", "NARROW"])
def test_a_legend_entry_ends_well_before_the_next_one_s_swatch(layout):
    """The Pareto chart's legend read 'recommended■Pareto front': its width was reckoned at 0.6 em a
    character, narrower than 'recommended' is drawn (about 0.65 em in DejaVu Sans, m's and d's
    wide). Each entry's words, at 0.65 em a character, end at least 8 px before the next swatch."""
    lay = getattr(svg, layout)
    points = [{"label": "a", "key": "1", "x": 1.0, "y": 1.0, "front": False, "recommended": True},
              {"label": "b", "key": "2", "x": 2.0, "y": 3.0, "front": True, "recommended": False},
              {"label": "c", "key": "3", "x": 3.0, "y": 2.0, "front": False,
               "recommended": False}]  # fmt: skip
    chart = svg.scatter("t", points, "x", "y", "mean NPV, USD", "CVaR5 NPV, USD", layout=lay)
    legend = re.findall(r'<text x="([\d.]+)" y="([\d.]+)" class="tick">(recommended|Pareto front|other '
                        r"candidates)</text>", chart)  # fmt: skip
    assert [words for *_, words in legend] == ["recommended", "Pareto front", "other candidates"]
    for (x, y, words), (x2, y2, _) in itertools.pairwise(legend):
        if y == y2:  # on one row: the next swatch starts 18 px before its words
            assert float(x) + 0.65 * lay.tick * len(words) + 8 <= float(x2) - 18, (words, x, x2)


def test_a_crowd_of_other_candidates_is_not_numbered_over_the_front():
    """The default model's sweep drew about 14 numbers in one corner of its Pareto chart, leaders
    crossing. The recommended plan's and the front's numbers come first, each drawn (with a leader
    where they crowd); another candidate's number only where it fits beside its own point, never with
    a leader (its name is in its tooltip and the key)."""
    grey = [{"label": f"grey {k}", "key": str(k), "x": 10.0 + 0.02 * (k % 4), "y": 5.0 + 0.02 * (k // 4),
             "front": False, "recommended": False} for k in range(1, 13)]  # fmt: skip
    ahead = [{"label": "front", "key": "13", "x": 10.05, "y": 5.12, "front": True, "recommended": False},
             {"label": "pick", "key": "14", "x": 10.08, "y": 5.09, "front": True, "recommended": True},
             {"label": "far", "key": "15", "x": 2.0, "y": 1.0, "front": False,
              "recommended": False}]  # fmt: skip
    chart = svg.scatter("t", grey + ahead, "x", "y", "mean NPV, USD", "CVaR5 NPV, USD")
    numbers = re.findall(r'class="tick point" text-anchor="middle">(\d+)</text>', chart)
    assert {"13", "14", "15"} <= set(numbers), numbers  # the front's, the pick's, a lone point's
    assert len([n for n in numbers if int(n) <= 12]) < 12, numbers  # not the whole crowd's
    assert chart.count('stroke="#64748b" stroke-width="0.75"') <= 2  # leaders: the front's at most


def _covenant_rows(html: str) -> dict[str, list[str]]:
    """The covenant table's rows by quarter: each cell's text."""
    table = html[html.index("Covenant tests by quarter of"):].split("</table>", 1)[0]
    rows = [re.findall(r"<td[^>]*>([^<]*)</td>", row) for row in table.split("<tr")[2:]]
    return {row[0]: [unescape(c) for c in row[1:]] for row in rows}


def test_a_report_gives_each_covenant_s_ratio_in_every_quarter_with_the_interest_cover(tmp_path, monkeypatch):
    """A treasurer found each covenant's tightest quarter alone, and no interest cover: lenders follow
    the headroom quarter by quarter. tiny's plan on the forecast, by hand from its statements: in
    2026Q4 EBITDA $39.30M, interest $3.32M on the $164.0M left at 2026Q3's end at 8.1 % a year,
    scheduled principal $10M ($200M over 20 quarters): DSCR 39.30 / 13.32 = 2.95x, interest cover
    39.30 / 3.32 = 11.83x, debt $149.37M / (4 x 39.30) = 0.95x; 2026Q3, before test_from, is marked
    not tested; in 2028Q2 the GPU-secured $69.74M / 0.70 needs 93 % of the fleet's $106.7M."""
    monkeypatch.setenv("FLEETOPT_RUNS_DIR", str(tmp_path / "runs"))
    assert run_cli("solve", "tiny", "--out", str(tmp_path / "S"), "--report")[0] == 0
    rows = _covenant_rows(html_of(tmp_path / "S"))
    assert list(rows) == ["2026Q3", "2026Q4", "2027Q1", "2027Q2", "2027Q3", "2027Q4", "2028Q1", "2028Q2"]
    assert rows["2026Q3"][:3] == ["0.98x (not tested)", "2.99x (not tested)", "$30.3M (not tested)"]
    assert rows["2026Q4"] == ["0.95x", "2.95x", "$49.3M", "100.00%", "11.83x"]
    assert rows["2028Q2"] == ["0.77x", "1.95x", "$129.0M", "93%", "13.78x"]
    head = html_of(tmp_path / "S").split("Covenant tests by quarter of", 1)[1].split("</thead>", 1)[0]
    assert "interest cover, no covenant" in " ".join(unescape(re.sub(r"<[^>]+>", " ", head)).split())


def test_the_covenant_table_marks_a_breach_and_one_the_grace_hides():
    """A quarter before the covenants' first test whose ratio misses the limit reads 'not tested;
    would breach' (the grace the model assumes hides it), a tested one 'breached': a DSCR of 1.3x
    against 1.4x, $13M of EBITDA over $10M of debt service."""
    from fleetopt.core.covenants import CATALOGUE, CovenantTest
    from fleetopt.report.statements import _covenant_cells

    dscr = next(kind for kind in CATALOGUE if kind.name == "dscr")
    test = CovenantTest(dscr, 1.4, np.array([False, True, True]), (1, 2), 1)
    quantities = {"ebitda": np.array([13e6, 20e6, 13e6]), "debt_service": np.full(3, 10e6)}
    cells = _covenant_cells(test, quantities)
    assert cells == ["1.30x (not tested; would breach)", "2.00x", "1.30x (breached)"]


def test_the_definitions_say_what_debt_service_and_the_lowest_cash_are():
    """A treasurer read 'lowest EBITDA / debt service' with no word of what debt service is (a DSCR
    counting prepayments, or a bullet at maturity, reads far lower), and 'lowest quarterly cash' as
    possibly a quarter's average: the DSCR's debt service is the interest and scheduled principal
    (tiny's 2026Q3: $4.05M + $10M, not its $26.0M prepaid), the lowest cash a quarter's end's."""
    data = load(TINY_PATH)[1]
    terms = dict(page.glossary(data, ["milp"], 200, "evaluate"))
    assert terms["lowest DSCR"].endswith("Debt service: the quarter's interest and scheduled principal, not "
                                         "prepayments nor a bullet repaid at maturity (refinanced or paid "
                                         "from cash).")  # fmt: skip
    assert "each scenario's lowest quarter-end cash, after the revolver and any distress sale" in \
        terms["mean lowest cash"]
