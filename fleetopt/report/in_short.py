"""A report's answer first ("In short"): which plan, what it is worth over the futures against the
forecast, how often it defaults or breaches, and whether it keeps its limits on the forecast."""

from __future__ import annotations

from html import escape

import numpy as np
import pandas as pd

from fleetopt.core.results.covenant_words import (
    TRAILING_WHAT_IF,
    covenants_met_without_room,
    first_tested_quarter,
    lowest_cushion,
    untested_breaches,
)
from fleetopt.core.results.fleet import WHY_NOTHING_BOUGHT, bought_nothing
from fleetopt.core.results.headline import present_cost_shown
from fleetopt.core.results.risk_sentences import risk_in_short
from fleetopt.core.results.tables import gpu_capex_by_year, purchases_by_generation_year
from fleetopt.core.units import (
    counted,
    format_count,
    format_percent,
    format_usd,
    format_usd_per_hour,
    listed,
    quoted,
    whole_count,
)
from fleetopt.evaluate.first_place import first_place_in_short
from fleetopt.evaluate.forecast import SAME_USD
from fleetopt.evaluate.metrics import (
    SERVICE_COLUMN,
    best_plan_label,
    demand_in_short,
    ranking_of,
    shown_plans,
)
from fleetopt.evaluate.slip import slips
from fleetopt.report.reading import ReportRun, cost_sweep
from fleetopt.stochastic.paired import out_of_sample_advice, out_of_sample_verdict
from fleetopt.stochastic.summary_words import stopped_short
from fleetopt.sweep.recommendation import lead_in_short
from fleetopt.sweep.rule import COST_COLUMN, COST_WORDS, forecast_optimum_row


def summary_section(run: ReportRun) -> str:
    """The page's answer first, in a few sentences: which plan, what it is worth over the futures
    against the forecast, how often it defaults or breaches, and whether it keeps its limits on the
    forecast (a finance reader met the provenance and some thirty tiles of equal weight first).
    An evaluation whose plans are left out keeps what its own files give (:func:`_without_the_plan`)."""
    if not run.focus or run.forecast is None:
        return _in_short(_without_the_plan(run))
    fc, row = run.forecast, run.main_metrics
    label = _plan_label(run)
    cost = run.solved_for_cost  # a lab's plan: what serving its demand costs (its NPV is market-valued)
    futures = not (row is None or run.summary.get("deterministic"))
    if cost:
        fig = run.figures
        on_forecast = (f"{format_usd(fig['present_cost_usd'])} on the forecast "
                       f"({format_usd_per_hour(fig['present_cost_per_h100_hour_usd'])} per H100-equivalent GPU-hour)")
        if futures and present_cost_shown(row):  # over the futures against the forecast, in one sentence
            said = _over_the_futures(run, row, label, cost, on_forecast)
        else:
            said = [f"{label}: present cost {on_forecast}.", *(_over_the_futures(run, row, label, cost)
                                                               if futures else [])]
    elif futures:
        said = _over_the_futures(run, row, label, cost)
    else:
        said = [_forecast_alone(run, label, fc.npv_usd)]
    if cost_sweep(run) and (chosen := _cost_choice(run, row)):  # why this plan, beside what it costs
        said.insert(1, chosen)
    said.append(_what_it_buys(run))
    said.append(_on_the_forecast(run))
    if run.kind == "sweep" and (lead := lead_in_short(run.summary, run.folder)):  # how sure the pick is
        said.append(lead)
    if run.kind == "evaluate" and (lead := first_place_in_short(run.summary, run.metrics)):  # its first plan
        said.append(lead)
    oos = run.summary.get("out_of_sample") or {}
    if run.kind == "stochastic" and oos.get("paired"):  # the question a stochastic solve answers: first
        n = run.summary["settings"]["scenarios"]
        advice = out_of_sample_advice(oos["paired"], n, weight=run.summary["settings"].get("risk_weight") or 0.0)
        said[:0] = [f"What to commit to now: the first stage of the stochastic plan or of the forecast optimum "
                    f"(below), judged on {oos['scenarios']:,} fresh futures, out of sample, the two plans on "
                    f"the same ones. On the same futures the stochastic plan is "
                    f"{out_of_sample_verdict(oos['paired'], n)}."] + ([f"What it means: {advice}."] if advice else [])
        if stopped := stopped_short(run.summary):  # a first stage the solve did not finish with
            said.insert(2 if advice else 1, f"But {stopped}.")
    return _in_short(said)


def _cost_choice(run: ReportRun, row: pd.Series | None) -> str:
    """A cost sweep's pick as its rule chose it, against the forecast optimum: 'Chosen for the lowest mean
    present cost among the candidates serving at least 95.0% of the demand on average (--min-service),
    within the rule's risk limits (Recommendation, below): $221.3M more on average than the forecast
    optimum, “milp: forecast” ($776.7M, CVaR95 $984.6M), which serves 88.9%.' ('' without the optimum's figures)."""
    optimum = forecast_optimum_row(run.metrics) if run.metrics is not None else None
    if row is None or optimum is None or SERVICE_COLUMN not in optimum:
        return ""
    floor = (run.summary.get("rule_settings") or {}).get("min_service")
    whose = "--min-service" if floor is not None else "the forecast optimum's share"
    floor = float(optimum[SERVICE_COLUMN]) if floor is None else float(floor)
    chosen = (f"Chosen for the lowest {COST_WORDS} among the candidates serving at least {format_percent(floor)} "
              f"of the demand on average ({whose}), within the rule's risk limits (Recommendation, below)")
    if optimum["plan"] == run.main_label:
        return f"{chosen}: it is the forecast optimum."
    apart = float(row[COST_COLUMN]) - float(optimum[COST_COLUMN])
    than = (f"{format_usd(abs(apart))} {'more' if apart > 0 else 'less'} on average than"
            if format_usd(abs(apart)) != "$0" else f"the same {COST_WORDS} as")
    return (f"{chosen}: {than} the forecast optimum, {quoted(optimum['plan'])} ({format_usd(optimum[COST_COLUMN])}, "
            f"CVaR95 {format_usd(optimum['present_cost_cvar95_usd'])}), which serves "
            f"{format_percent(optimum[SERVICE_COLUMN])}.")  # fmt: skip


def _in_short(said: list[str]) -> str:
    """The section of the sentences ``said`` ('' where there are none)."""
    return f'<h2>In short</h2><p class="why">{escape(" ".join(said))}</p>' if said else ""


def _without_the_plan(run: ReportRun) -> list[str]:
    """An evaluation's "In short" where its plans file is left out (reading's ``plans_left_out``): what
    its metrics and summary.json give, the plan's value and risk over the futures and how sure its first
    place is, and one sentence on what needs the plan and why it is left out; none for another run."""
    row = run.main_metrics
    if not run.plans_left_out or row is None:
        return []
    label = _plan_label(run)
    if run.summary.get("deterministic"):  # its one future is the forecast, run with the plan's policy
        said = [_forecast_alone(run, label, float(row["npv_mean_usd"]))]
    else:
        said = _over_the_futures(run, row, label, run.solved_for_cost)
    if lead := first_place_in_short(run.summary, run.metrics):
        said.append(lead)
    return [*said, f"What it buys and whether it keeps its limits on the forecast are left out: {run.plans_left_out}."]


def _forecast_alone(run: ReportRun, label: str, npv: float) -> str:
    """The plan's NPV on the forecast where that is all the run has (a solve, a deterministic evaluation)."""
    others = ("fleetopt evaluate gives its risk over others" if run.kind != "evaluate" else
              "evaluated on it alone: an evaluation without --deterministic gives its risk over others")
    return f"{label}: NPV {format_usd(npv)} on the forecast, the one future the MILP plans for ({others})."


def _plan_label(run: ReportRun) -> str:
    """Whose figures "In short" gives: a sweep's 'Recommended plan “A”'; of an evaluation of several
    plans over scenarios, the terminal's 'The best plan by CVaR5 NPV, “A”' (:func:`best_plan_label`:
    'Plan “A”' read as the only plan evaluated); else 'Plan “A”'."""
    if run.kind == "sweep":
        return f"Recommended plan {quoted(run.main_label)}"
    if run.kind != "evaluate" or run.summary.get("deterministic") or run.metrics is None:
        return f"Plan {quoted(run.main_label)}"
    ranking = run.summary.get("ranking")
    several = len(shown_plans(run.metrics, ranking)[0]) > 1  # as the terminal counts them
    return best_plan_label(run.main_label, ranking_of(ranking)[0], several)


def _what_it_buys(run: ReportRun) -> str:
    """The plan's GPUs bought and their capex, by year: a capacity planner asking what to order next
    year found it some twenty sections down. A plan that buys none says so (it said nothing, its
    tables all zeros), and a solve for NPV why, as the terminal does (:data:`NOTHING_BOUGHT`)."""
    plan = run.plans[run.focus[0]]
    by_year = purchases_by_generation_year(run.data, plan.buy_blocks).sum(axis=0)
    if not by_year.any():
        why = run.kind == "solve" and bought_nothing(run.data, plan, "cost" if run.solved_for_cost else "npv")
        return f"It buys no GPUs: {WHY_NOTHING_BOUGHT}." if why else "It buys no GPUs."
    capex = gpu_capex_by_year(run.data, plan.buy_blocks)
    years = "; ".join(f"{year} {whole_count(gpus)} ({format_usd(capex[year])})" for year, gpus in by_year.items() if gpus)
    return (f"It buys {format_count(by_year.sum(), 'GPUs')} for {format_usd(capex.sum())} of GPU capex (undiscounted), "
            f"by year: {years}; each order, by quarter, SKU and site, below.")  # fmt: skip


def _over_the_futures(run: ReportRun, row: pd.Series, label: str, cost: bool, forecast_cost: str = "") -> list[str]:
    """The plan's value and risk over the scenarios against the forecast (where the report ran the plan
    on it), in two sentences, as the terminal and a notebook give them; a cost plan's demand served too,
    and its present cost first, against ``forecast_cost`` (its words on the forecast) where given."""
    n = run.scenario_source[1]
    served = demand_in_short(n, row) if cost else None
    forecast = None if run.forecast is None else run.forecast.npv_usd
    return risk_in_short(label, n, row, forecast, served, run.data.T, forecast_cost)


def _covenants_tested(run: ReportRun) -> bool:
    """Whether the plan's forecast tests some covenant: none where the model has none, or where each
    has nothing to test (a lab's plan that never borrows: "not tested: no GPU-secured debt")."""
    if not run.data.covenants:
        return False
    if run.statements is None:  # nothing to tell them apart by: as the model has them
        return True
    return any(isinstance(room, float) for room in run.figures["covenant_headroom"].values())


def _on_the_forecast(run: ReportRun) -> str:
    """Whether the plan keeps its limits on the forecast, and on the trailing year's averages where
    the model tests each quarter's own flows (the basis most facilities test)."""
    fc = run.forecast
    grace = _grace_breach_words(run)
    tested = _covenants_tested(run)
    kept = "every covenant" + (" in the quarters tested" if grace else "") + _no_room_words(run) + " and its cash"
    if not tested:
        kept = "its cash"
    # a slip's futures beside the forecast's on time: say which the forecast is (a new user read both)
    forecast = "On the forecast (deliveries on time)" if slips(run.data) else "On the forecast"
    text = (f"{forecast} it keeps {kept} above the default level"
            if fc.within_limits else f"{forecast} it {fc.limits_words()}")  # fmt: skip
    return text + _revolver_words(run) + grace + trailing_breach_words(run) + "."


def trailing_breach_words(run: ReportRun) -> str:
    """'; if tested on the trailing four quarters' averages (...), EBITDA / debt service would be
    breached (EBITDA 3.8% short), tightest in 2027Q1': the covenant of the lowest cushion on that
    basis where it is breached ("a covenant would be breached (3.8% short)" named neither the
    covenant, nor what is short, nor when); '' where none is. Only a covenant on flows counts, as the
    key figures' (trailing_year_words): one on cash, debt or collateral reads the same on either basis,
    and named here ('liquidity would be breached') it read as a breach the yearly basis brings."""
    flows = {test.kind.name for test in run.data.covenants if test.kind.on_flows}
    rooms = {name: room for name, (room, _) in run.trailing_year.items() if name in flows}
    share, name = lowest_cushion(run.data, rooms) if rooms else (None, None)
    if share is None or share >= 0:
        return ""
    test = next(t for t in run.data.covenants if t.kind.name == name)
    quarter = run.trailing_year[name][1]
    breached = test.cushion_words(rooms[name])
    return f"; {TRAILING_WHAT_IF}, {test.kind.label} would be {breached}, tightest in {quarter}"


def _no_room_words(run: ReportRun) -> str:
    """', with no room on the borrowing base in 7 of 8 quarters,': each covenant the statements meet
    with no room (``covenant_words.covenants_met_without_room``, as the solve's limits read it) and in
    how many of its tested quarters; '' where none. "keeps every covenant" alone hid that tiny's
    optimum holds the borrowing base exactly on the forecast, the first breach of 80 % of its futures."""
    if run.statements is None:
        return ""
    parts = []
    for test, at in covenants_met_without_room(run.data, run.statements):
        tested = int(test.tested.sum())
        of = f"{int(at.sum())} of {counted(tested, 'quarter')}" + ("" if tested == run.data.T else " tested")
        parts.append(f"{'the borrowing base' if test.kind.facility_test else test.kind.label} in {of}")
    marked = f" ({run.milp_only})" if parts and run.milp_only else ""
    return f", with no room on {listed(parts)}{marked}," if parts else ""


def _grace_breach_words(run: ReportRun) -> str:
    """'; before 2027Q1, when the covenants are first tested (...), it would breach EBITDA / debt
    service 0.94x in 2026Q3 ...' where the forecast's statements breach a covenant in the grace the
    model assumes: "keeps every covenant" alone, on the page's first screen, hid a DSCR of 0.94x that
    a lender who gave no grace would count (the key figures said it, some thirty tiles below)."""
    first = first_tested_quarter(run.data) if run.data.covenants else None
    if run.statements is None or first in (None, run.data.quarter_labels[0]):
        return ""
    early = untested_breaches(run.data, run.statements)
    if early is None:
        return ""
    marked = f" ({run.milp_only})" if run.milp_only else ""  # the policy's run changes them: as the key figure
    return (f"; before {first}, when the covenants are first tested (a grace the model assumes, not one "
            f"a lender gave), it would breach {early}{marked}")


def _revolver_words(run: ReportRun) -> str:
    """', drawing the revolver (up to $1.9M, in 2026Q4)' where the plan's forecast run draws it:
    the MILP's statements never do, so their warnings ('breaks cash >= min cash ... without the
    revolver') read as contradicting a plan said to keep its cash (a stochastic review)."""
    drawn = run.forecast.lines["revolver_balance_usd"]
    if drawn.max() <= SAME_USD:
        return ""
    peak = int(np.argmax(drawn))
    return f", drawing the revolver (up to {format_usd(drawn[peak])}, in {run.data.quarter_labels[peak]})"
