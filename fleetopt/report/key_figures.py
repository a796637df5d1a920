"""The key figures of the plan a report is about: over the scenarios where the run has them (NPV,
defaults, the lenders' side, when it breaks, the policy's reactions), then on the forecast (its
NPV, cash, debt, covenants' headroom and the MILP's statements)."""

from __future__ import annotations

import math
from html import escape

import numpy as np
import pandas as pd

from fleetopt.core.covenants import tested_kinds
from fleetopt.core.metric_columns import (
    ANY_DEFAULT_LABEL,
    BREACH_LABEL,
    CVAR5_NPV_LABEL,
    DEFAULT_LABEL,
    P5_NPV_LABEL,
    SHORTFALL_SHARE,
    UNCURED_LABEL,
    first_breach_column,
)
from fleetopt.core.results.cost import (
    COST_LABEL,
    COST_PER_H100_HOUR,
    FORECAST_DEMAND_LABEL,
    MARKET_VALUED,
    WITHOUT_MARKET_REVENUE,
    budget_words,
    cost_per_h100_hour_basis,
    forecast_demand_words,
    present_cost_arithmetic,
)
from fleetopt.core.results.covenant_words import (
    LIQUIDITY_COVER_LABEL,
    covenant_test,
    dscr_name,
    first_tested_quarter,
    limit_words,
    ratio_words,
    share_words,
    tested_from,
    trailing_year_words,
    untested_breaches,
)
from fleetopt.core.results.customers import (
    CUSTOMERS_LABEL,
    contracted_by_year,
    customer_words,
    revenue_words,
)
from fleetopt.core.results.fleet import POWER_BUILT_LABEL, SOON_RETIRED_LABEL, soon_retired
from fleetopt.core.results.headline import (
    CAPEX_LABEL,
    CVAR95_COST_LABEL,
    CVAR95_COST_MEANS,
    MEAN_COST_LABEL,
    NPV_LIMITED_CVAR5_LABEL,
    P95_COST_LABEL,
    P95_COST_MEANS,
    PEAK_DEBT_FORECAST_LABEL,
    REVENUE_LABEL,
    dscr_words,
    liquidity_cover_words,
    present_cost_shown,
)
from fleetopt.core.results.plan_limits import PLAN_LIMITS_LABEL, plan_limits
from fleetopt.core.results.risk_sentences import IMPUTED_NPV
from fleetopt.core.results.shocks import lowest_quarter, shocked_cash_label, worst_shock
from fleetopt.core.results.valuation import (
    CASH_HELD_LABEL,
    OTHER_RATES_LABEL,
    RATE_STEP,
    cash_timing_words,
    npv_terminal_arithmetic,
    other_rates_words,
)
from fleetopt.core.units import (
    H100_EQ_GPUS,
    counted,
    decimals_apart,
    format_count,
    format_figure,
    format_mean_and_error,
    format_mw,
    format_percent,
    format_rate,
    format_usd,
    format_usd_per_hour,
)
from fleetopt.evaluate.metrics import (
    ACCELERATED,
    DEBT_AT_DEFAULT_METRICS,
    DEBT_AT_UNCURED_METRICS,
    MEDIAN_QUARTER_WORDS,
    UNCURED_BEFORE_FIRST_WORDS,
    event_words,
    limited_liability_differs,
    median_quarter_label,
    reaction_labels,
    reaction_usd_labels,
    uncured_median_before_first,
)
from fleetopt.report.markup import Kpi, kpi_block
from fleetopt.report.reading import ReportRun, in_cost_terms


def _any_quarter(quarters: int) -> str:
    """'any of the 8 quarters'; of a one-quarter horizon 'its one quarter' (it read 'any of the 1 quarters')."""
    return f"any of the {quarters} quarters" if quarters > 1 else "its one quarter"


def _breach_quarters(data) -> str:
    """The quarters a breach is counted in, in words: "any of the 28 quarters" where every covenant
    is tested in each; "any quarter tested: the 26 from 2027Q1 (the borrowing base: all 28)" where
    the model's covenants start later (``covenants.test_from``) than the borrowing base, tested in
    every quarter."""
    tested = int(data.covenant_tested.sum())
    base = any(test.kind.facility_test for test in data.covenants)
    if not base and (tested == 0 or not data.covenants):
        return "no quarter (the model tests no covenant in its horizon)"
    if tested in (0, data.T):  # none of the block's (the borrowing base alone), or all quarters
        return _any_quarter(data.T)
    every = f" (the borrowing base: all {data.T})" if base else ""
    return f"any quarter tested: the {tested} from {first_tested_quarter(data)}{every}"


def _headroom_kpis(run: ReportRun, fig: dict, first: str) -> list[Kpi]:
    """Each covenant's tightest quarter on the forecast, in the covenant's own terms: its lowest
    ratio against a minimum, its highest against a maximum, cash above a USD minimum, or why it has
    nothing to test (no debt service). A model that tests each quarter's own EBITDA gets, beside a
    flow's covenant, its cushion on the trailing year's, which most facilities test."""
    out = []
    yearly = run.trailing_year
    for test in run.data.covenants:
        room = fig["covenant_headroom"].get(test.kind.name)
        if room is None:
            continue
        kind, limit = test.kind, test.threshold
        scope = "every quarter" if kind.facility_test else f"quarters tested from {first}"
        if isinstance(room, str):  # nothing to test: "not tested: no debt service"
            out.append(_milp_kpi(run, f"{kind.label} covenant on the forecast, {scope}", room))
            continue
        tightest = test.tightest(room)
        if kind.facility_test:  # the borrowing base
            value = (f"the GPU-secured balances, each divided by its facility's max LTV, need at most "
                     f"{share_words(tightest, limit)} of the whole fleet's resale value (limit 100%)")
        elif kind.denominator is None:  # a USD minimum: the lowest cash tested
            above = tightest - limit
            # named with its quarters: beside the "lowest cash" of every quarter it read as a sum wrong
            value = (f"lowest cash {format_usd(tightest)}{tested_from(run.data, kind.name)}: {format_usd(abs(above))} "
                     f"{'above' if above >= 0 else 'below'} the {format_usd(limit)} minimum")  # fmt: skip
        else:  # a ratio, or a share of debt: 1.396x beside a 1.4x minimum, never 1.40x
            value = (f"{'highest' if kind.bound == 'max' else 'lowest'} {ratio_words(kind, tightest, limit)} "
                     f"({limit_words(test)})")  # fmt: skip
        if kind.denominator is not None or kind.facility_test:  # a ratio: how far what it protects may fall
            value += f"; {test.cushion_words(room)}"
        year = trailing_year_words(test, yearly)
        if year is not None:
            value += f"; {year}"
        out.append(_milp_kpi(run, f"{kind.label} covenant on the forecast, {scope}", value))
    return out


def _grace_words(run: ReportRun, first: str | None) -> str:
    """' (covenants tested from 2027Q1: an assumed grace before)' where testing starts after the
    horizon's first quarter: "none" beside the breaches of the grace quarters read as a contradiction
    (from a finance review)."""
    if first in (None, run.data.quarter_labels[0]):
        return ""
    return f" (covenants tested from {first}: an assumed grace before)"


def _untested_kpis(run: ReportRun, first: str | None) -> list[Kpi]:
    """The quarters before the covenants are tested whose statements would breach them: "no breach
    on the forecast" holds only by the grace the model assumes, which a lender may not give."""
    early = untested_breaches(run.data, run.statements) if first else None
    if early is None:
        return []
    what = (f"covenants breached on the forecast before {first}, when testing starts "
            "(finance.covenants.test_from: a grace the model assumes, not a waiver a lender gave)")
    return [_milp_kpi(run, what, early)]


def _soon_retired_kpis(run: ReportRun) -> list[Kpi]:
    """GPUs the plan buys and retires within a year (sold at resale): whole blocks trimmed, or a
    planner's purchases that later ones leave no power for."""
    soon = soon_retired(run.data, run.plans[run.focus[0]], run.statements)
    return [] if soon is None else [Kpi(SOON_RETIRED_LABEL, soon)]


def _forecast_groups(run: ReportRun) -> list[tuple[str, list[Kpi]]]:
    """The key figures on the forecast under headings, as those over the scenarios are: NPV, peak debt
    and lowest cash of the forecast run with the plan's policy; DSCR, covenants and shocks of the
    MILP's statements, marked as such where the policy changes the forecast. A plan solved for least
    cost (its solve's, a cost sweep's pick, an evaluation's) by its cost and demand first, and of its NPV,
    an imputed value, the figure alone; a heading with no figure is left out."""
    cost = run.solved_for_cost
    groups = [
        ("Cost and demand served", _cost_kpis(run, run.figures) if cost else []),
        (IMPUTED_VALUE, [_forecast_npv_kpi(run)]) if cost else ("Value", _forecast_value_kpis(run)),
        ("Debt and cash", _forecast_cash_kpis(run)),
        ("Covenants and defaults", _forecast_covenant_kpis(run)),
        ("Revenue and customers", _forecast_revenue_kpis(run)),
        ("Fleet, power and capex", _forecast_fleet_kpis(run)),
        (PLAN_LIMITS_LABEL[0].upper() + PLAN_LIMITS_LABEL[1:], _limit_kpis(run)),
    ]
    return [(heading, kpis) for heading, kpis in groups if kpis]


def _market_valued(run: ReportRun) -> str:
    """The words that mark a figure of a cost plan valuing the GPUs' own use at market prices."""
    return MARKET_VALUED if run.solved_for_cost else ""


# a lab's NPV figures' heading (a cost sweep's, an evaluation's of plans solved for least cost): its NPV
# values its GPUs' own use at market prices (no one pays it), so its NPV figures are of an imputed value,
# after what it costs and the demand it serves
IMPUTED_VALUE = f"Imputed value: {IMPUTED_NPV}"


def _forecast_npv_kpi(run: ReportRun) -> Kpi:
    """The NPV on the forecast (of a cost plan: marked as valuing the GPUs' own use at market prices)."""
    return Kpi("NPV on the forecast" + _market_valued(run), format_usd(run.forecast.npv_usd))


def _forecast_value_kpis(run: ReportRun) -> list[Kpi]:
    """The NPV on the forecast, its terminal part, with cash held, and at other discount rates."""
    fig = run.figures
    return [
        _forecast_npv_kpi(run),
        _milp_kpi(run, f"{_whose_npv(run, fig)}, at the end (present value): {npv_terminal_arithmetic(fig)}"
                  f"{_terminal_gpu_age(run)}", format_usd(fig["npv_terminal_usd"])),
        _milp_kpi(run, f"{CASH_HELD_LABEL}: {cash_timing_words(fig, _whose_npv(run, fig))}",
                  format_usd(fig["npv_cash_held_usd"])),
        _milp_kpi(run, f"{OTHER_RATES_LABEL}: its equity cash flows and terminal equity discounted "
                  f"{RATE_STEP * 100:.0f} points a year below{_not_under_zero(run)} and above the model's "
                  f"{format_rate(run.data.discount_rate_annual)}{_at_the_model_rate(run, fig)} (formulation §6)",
                  other_rates_words(fig)),
    ]  # fmt: skip


# why the GPUs at the end are worth less than the statements' last quarter's resale value less selling costs
TERMINAL_GPU_AGE = ("the GPUs at their resale value at the horizon's end, a quarter older than in the last "
                    "quarter's statements, less selling costs (formulation §6)")


def _terminal_gpu_age(run: ReportRun) -> str:
    """'; the GPUs at their resale value at the horizon's end, ...' where the plan holds GPUs at the end:
    tiny's $92.3M read as a mistake beside its statements' last quarter, $106.7M less 5 % ($101.3M)."""
    held = run.statements is None or run.statements.lines["fleet_resale_value_usd"][-1] > 0
    return f"; {TERMINAL_GPU_AGE}" if held else ""


def _not_under_zero(run: ReportRun) -> str:
    """' (not under 0%)' where the rate below the model's is floored (core/results/valuation.py npv_at_other_rates):
    '5 points below the model's 3%' read beside 'at 0% a year'."""
    return " (not under 0%)" if run.data.discount_rate_annual < RATE_STEP else ""


def _forecast_cash_kpis(run: ReportRun) -> list[Kpi]:
    """Peak debt, lowest cash (a cost plan's budget beside it), the cover of the next year's debt
    payments and the lowest cash under robustness shocks."""
    fig, fc, cost = run.figures, run.forecast, run.solved_for_cost
    lowest = run.data.quarter_labels[lowest_quarter(fc.lines["cash_usd"])]
    kpis = [
        Kpi(PEAK_DEBT_FORECAST_LABEL, format_usd(fc.peak_debt_usd)),
        # its quarter: beside the liquidity covenant's headroom, tested from a later quarter, the two
        # read as a contradiction ($30.3M lowest, yet $24.3M above a $25.0M minimum)
        Kpi(f"lowest cash on the forecast ({lowest})" + _market_valued(run), format_usd(fc.lowest_cash_usd)),
        *_budget_kpis(run, fig, cost),
        _milp_kpi(run, LIQUIDITY_COVER_LABEL, liquidity_cover_words(fig)),
    ]
    worst = worst_shock(fig)
    if worst is not None:
        kpis.append(_milp_kpi(
            run, f"{shocked_cash_label(cost)} on the forecast ({worst['case']}, {worst['quarter']})",
            format_usd(worst["lowest_cash_usd"]),
        ))  # fmt: skip
    return kpis


def _forecast_covenant_kpis(run: ReportRun) -> list[Kpi]:
    """The lowest DSCR, breaches before testing starts and each covenant's tightest quarter (whether
    the plan breaches or defaults on the forecast, and what it breaks first: "In short" says it, once)."""
    first = first_tested_quarter(run.data) if run.data.covenants else None
    dscr_scope = f"quarters tested from {first}" if first else "all quarters"
    dscr = covenant_test(run.data, "dscr")
    if dscr is not None and dscr.facility:  # it lapses with its facility
        dscr_scope = f"quarters tested{tested_from(run.data, 'dscr')}"
    return [
        # named by its cash flow, as the terminal names it: "lowest DSCR ((EBITDA - tax) / debt service)"
        _milp_kpi(run, f"lowest {dscr_name(run.data)} on the forecast, {dscr_scope}", dscr_words(run.figures)),
        *_untested_kpis(run, first),
        *(_headroom_kpis(run, run.figures, first) if first else []),
    ]  # fmt: skip


def _forecast_revenue_kpis(run: ReportRun) -> list[Kpi]:
    """Revenue over the horizon and, of a model with contracts, its customers and each year's share
    under contract (a lab planning its own demand may have none: figures of "none" say nothing)."""
    fig, valued = run.figures, _market_valued(run)
    kpis = [_milp_kpi(run, REVENUE_LABEL + valued, revenue_words(fig, bool(run.data.contracts)))]
    if run.data.contracts:
        kpis += [_milp_kpi(run, CUSTOMERS_LABEL, customer_words(run.data, fig)),
                 _milp_kpi(run, "share of each year's revenue under contract" + valued,
                           contracted_by_year(run.data, run.statements))]  # fmt: skip
    return kpis


def _forecast_fleet_kpis(run: ReportRun) -> list[Kpi]:
    """GPUs bought (and those retired soon after), capex and power built."""
    fig = run.figures
    return [
        Kpi("GPUs bought (the plan's orders)", format_figure(fig["gpus_bought"], "GPUs")),  # as compare
        *_soon_retired_kpis(run),
        _milp_kpi(run, CAPEX_LABEL,
                  f"{format_usd(fig['capex_gpu_total_usd'])} / {format_usd(fig['capex_power_total_usd'])}"),
        Kpi(POWER_BUILT_LABEL, format_mw(fig["power_built_mw"])),
    ]  # fmt: skip


def _limit_kpis(run: ReportRun) -> list[Kpi]:
    """A solve's limits on the forecast, a key figure each (:func:`plan_limits`): what held the plan
    back. Only a solve's: of an evaluated or a sweep's plan, which no solve chose freely, "another GPU
    would lower the NPV" need not hold."""
    if run.kind != "solve" or run.statements is None:
        return []
    limits = plan_limits(run.data, run.plans[run.focus[0]], run.statements,
                         "cost" if run.solved_for_cost else "npv", "purchases" in run.summary)
    return [_milp_kpi(run, *_limit_label_and_value(entry)) for entry in limits]


def _limit_label_and_value(entry: dict) -> tuple[str, str]:
    """A limit's key figure: its words' subject as the label and the rest as the value ("power at
    texas" and "all its MW online in use ..."), where the value had repeated its label ("power at
    texas: all its MW ..."); words with no subject keep the limit's name as the label."""
    subject, sep, rest = entry["words"].partition(": ")
    return (subject, rest) if sep and rest else (entry["limit"], entry["words"])


def _cost_kpis(run: ReportRun, fig: dict) -> list[Kpi]:
    """A cost solve's objective, its present cost, per H100-equivalent GPU-hour and the demand it meets."""
    objective = f"{COST_LABEL}: {present_cost_arithmetic(fig)}"
    # a sweep's summary.json names its objective but keeps no objective of its own: nothing to compare
    solved_before = "objective_usd" in run.summary and "present_cost_opening_fleet_usd" not in run.summary
    if fig["present_cost_opening_fleet_usd"] and solved_before:
        # a solve before 0.4.3: its objective (in its provenance) left out the installed fleet
        objective += (f" (since fleetopt 0.4.3 with the installed fleet at the start: the run's own objective, "
                      f"{format_usd(run.summary.get('objective_usd'))}, was without it)")
    return [
        _milp_kpi(run, objective, format_usd(fig["present_cost_usd"])),
        _milp_kpi(run, f"{COST_PER_H100_HOUR}: {cost_per_h100_hour_basis(fig)}",
                  _per_gpu_hour(fig["present_cost_per_h100_hour_usd"])),
        _milp_kpi(run, FORECAST_DEMAND_LABEL, forecast_demand_words(fig)),
    ]  # fmt: skip


def _per_gpu_hour(usd: float | None) -> str:
    """A price per GPU-hour with its unit beside the figure, as the tile shows it: $0.61/GPU-hour
    (n/a alone where there is none)."""
    price = format_usd_per_hour(usd)
    return price if price == "n/a" else f"{price}/GPU-hour"


def _budget_kpis(run: ReportRun, fig: dict, cost: bool) -> list[Kpi]:
    """A cost plan's lowest cash less the market revenue to date (formulation §6, "Cost"): a lab's
    real budget, against its floor ``finance.min_cash_usd`` (below it only in a run of before 0.4.8)."""
    if not cost:
        return []
    value = fig["min_cash_without_market_revenue_usd"]
    return [_milp_kpi(run, f"{WITHOUT_MARKET_REVENUE}; {budget_words(run.data, value)}", format_usd(value))]


def _whose_npv(run: ReportRun, fig: dict) -> str:
    """Whose NPV the end part is of: the NPV above, or where the plan's policy changes the forecast
    the MILP's own (another NPV, named with its value so that the parts can be added up)."""
    return f"of the MILP plan's NPV {format_usd(fig['npv_usd'])}" if run.milp_only else "of the NPV"


def _at_the_model_rate(run: ReportRun, fig: dict) -> str:
    """Where the NPV shown is the policy's run, the MILP plan's NPV at the model's rate, which the
    other rates' NPVs are beside (they are the MILP's statements discounted otherwise)."""
    return f", at which the MILP plan's NPV is {format_usd(fig['npv_usd'])}" if run.milp_only else ""


def _milp_kpi(run: ReportRun, label: str, value: str) -> Kpi:
    """A key figure of the MILP's statements: marked so where the plan's policy changes the forecast."""
    return Kpi(f"{label} ({run.milp_only})" if run.milp_only else label, value)


def _deterministic_kpis(run: ReportRun, row: pd.Series) -> list[Kpi]:
    """A deterministic evaluation's one scenario is the forecast: whether it breaches, defaults or
    makes the policy react (yes or no: no shares, no tails); its NPV, lowest cash, breach and default
    are the forecast run's key figures below, repeated here only where the evaluation's own differ."""

    def yes(column):
        return event_words(row[column])

    kpis = [*_forecast_cost_kpis(run, row), *_demand_kpis(run, row)]  # a lab's: first
    # the NPV and lowest cash of the same run on the forecast are the key figures below: said once
    # there, and here only where the evaluation's own differ, with why
    fc, differs = run.forecast, " (as the evaluation recorded it; the forecast run below is this report's rerun)"
    if fc is None:  # its plans file left out: no run of the plan below, these are the figures
        differs = " (as the evaluation recorded it)"
    npv = format_usd(row["npv_mean_usd"])
    if fc is None or npv != format_usd(fc.npv_usd):
        kpis.append(Kpi("NPV on the forecast" + differs, npv))
    if "expected_min_cash_usd" in row:
        cash = format_usd(row["expected_min_cash_usd"])
        if fc is None or cash != format_usd(fc.lowest_cash_usd):
            kpis.append(Kpi("lowest cash on the forecast" + differs, cash))
    first_breaks = [kind.label for kind in run.data.covenant_kinds
                    if (column := first_breach_column(kind)) in row and row[column] > 0]  # fmt: skip
    # whether it breaches or defaults: the forecast run's, said once ("In short", and what it breaks in
    # the key figures below: "no" here beside "none" read as a repeat), here only where the evaluation differs
    if fc is None or (fc.defaults, fc.breaches, fc.first_breach) != (
            row["default_probability"] > 0, row["breach_probability"] > 0, tuple(first_breaks)):
        kpis += _deterministic_event_kpis(run, row, first_breaks)
    taken = reaction_labels(True, row.index)  # rule 6's where on
    kpis += [Kpi(f"policy reaction: {label}", yes(column)) for column, label in taken.items()
             if column in row and row[column] > 0]  # fmt: skip
    return kpis


def _forecast_cost_kpis(run: ReportRun, row: pd.Series) -> list[Kpi]:
    """A deterministic evaluation's present cost of a plan solved for least cost, the plan run on the
    forecast with its policy: only where it differs from its statements' (the key figures below), as
    its NPV is said."""
    if not present_cost_shown(row):
        return []
    cost = format_usd(float(row["present_cost_mean_usd"]))
    if run.statements is not None and cost == format_usd(run.figures["present_cost_usd"]):
        return []
    return [Kpi("present cost on the forecast, with the plan's policy (as the evaluation recorded it)", cost)]


def _deterministic_event_kpis(run: ReportRun, row: pd.Series, first_breaks: list[str]) -> list[Kpi]:
    """Whether a deterministic evaluation's plan defaults and breaches (yes or no), and the covenants
    its first breach breaks."""
    # "no covenant breach" beside the forecast's grace-quarter breaches (0.94x in 2026Q3) says when testing starts
    first = first_tested_quarter(run.data) if run.data.covenants else None
    return [Kpi(f"liquidity default (cash below {format_usd(run.data.default_cash)})",
                event_words(row["default_probability"])),
            Kpi("covenant breach" + _grace_words(run, first), event_words(row["breach_probability"])),
            *(Kpi(f"first breach breaks {label}", "yes") for label in first_breaks)]  # fmt: skip




def _demand_kpis(run: ReportRun, row: pd.Series) -> list[Kpi]:
    """The demand a plan solved for least cost serves over the scenarios (none for other plans, and
    runs before 0.4.3 have no such columns); the demand not served as GPUs short in an average
    quarter of the horizon."""
    if not run.solved_for_cost or not math.isfinite(row.get("demand_served_share", math.nan)):
        return []
    short = row["unserved_demand_mean_gpu_quarters"] / run.data.T
    words = f"more than {SHORTFALL_SHARE:.0%} of demand not served"
    if run.summary.get("deterministic"):  # one scenario, the forecast: no mean, no probability
        return [
            Kpi("market demand served on the forecast (evaluator)", format_percent(row["demand_served_share"])),
            Kpi("H100-eq. GPUs short in an average quarter on the forecast", format_count(short, H100_EQ_GPUS, "up")),
            Kpi(words + " on the forecast", event_words(row["shortfall_probability"])),
        ]
    return [
        Kpi("market demand served (mean over scenarios)", format_percent(row["demand_served_share"])),
        Kpi("H100-eq. GPUs short in an average quarter (mean over scenarios)", format_count(short, H100_EQ_GPUS, "up")),
        Kpi(f"P({words})", format_percent(row["shortfall_probability"])),
    ]


def _median_quarter_kpis(run: ReportRun, row: pd.Series) -> list[Kpi]:
    """When the plan breaks: the median quarter of its first covenant breach, of its uncured breach
    and of its liquidity default among the scenarios with one (as `fleetopt evaluate` prints them); none where none breaks."""
    out = []
    for name, (words, share) in MEDIAN_QUARTER_WORDS.items():
        if name in row and row.get(share, 0) > 0:
            out.append(Kpi(f"median quarter of the {words}, of the {format_percent(row[share])} of scenarios with one"
                           f"{_before_the_first_breach(row, name)}",
                           median_quarter_label(row[name], run.data.quarter_labels)))  # fmt: skip
    return out


def _before_the_first_breach(row: pd.Series, name: str) -> str:
    """Why the uncured breach's median quarter comes before the first breach's, where it does."""
    if name != "uncured_breach_median_quarter" or not uncured_median_before_first(row):
        return ""
    return f" ({UNCURED_BEFORE_FIRST_WORDS})"


# the key figures of the lenders' side of an event of default, by its metrics (debt, share covered, uncovered)
LENDERS_KPIS = {
    DEBT_AT_DEFAULT_METRICS: (
        "debt owed at a liquidity default (mean over the scenarios with one, USD of its quarter)",
        "share of it that selling the GPUs still held and the cash would repay",
        "debt a default leaves uncovered by the GPUs and cash (mean over all scenarios, USD of the default's "
        "quarter)",
    ),
    DEBT_AT_UNCURED_METRICS: (
        "debt owed at an uncured covenant breach, had the lenders accelerated (mean over the scenarios with "
        "one, USD of its quarter)",
        "share of it that selling the GPUs then held and the cash would repay",
        "debt an uncured breach leaves uncovered by the GPUs and cash (mean over all scenarios, USD of the "
        "breach's quarter)",
    ),
}


def _covered_words(share: float) -> str:
    """The share of the debt at a default the GPUs and cash would repay: 'all of it' where it is the
    whole debt ('100.0%' read as a share capped at 100 %), else in per cent, to the hundredth or beyond
    where one decimal would round it onto 100 % (99.96%)."""
    if share >= 1.0:
        return "all of it"
    return format_percent(share, decimals_apart(share, 1.0, 1, -2, most=4))


def _lenders_kpis(row: pd.Series) -> list[Kpi]:
    """The lenders' side of a liquidity default, then of an uncured covenant breach had they
    accelerated (docs/evaluation.md): each left out where no scenario has the event (or the evaluation
    has no such figures: before 0.4.7, before 0.4.12); a figure of them the table lacks, n/a."""
    out = []
    for (debt, covered, uncovered), words in LENDERS_KPIS.items():
        if pd.isna(row.get(debt, np.nan)):
            continue
        out += [Kpi(words[0], format_usd(float(row[debt]))), Kpi(words[1], _covered_words(row.get(covered, np.nan))),
                Kpi(words[2], format_usd(row.get(uncovered)))]  # fmt: skip
    return out


def _scenario_groups(run: ReportRun, row: pd.Series) -> list[tuple[str, list[Kpi]]]:
    """The key figures over the scenarios of the plan shown (``row``: its metrics), each the table has
    (older runs lack some), under the headings a finance reader scans: a lab's demand first, then the
    NPV, its tail and the shareholders', the probabilities of a default, the lenders' side of one,
    when the plan breaks, what the policy had to do and which covenant breaks first (32 tiles in one
    grid read as one undifferentiated list). A deterministic evaluation's few: under one heading.
    A lab's plan's (a cost sweep's pick, an evaluation's plan shown of plans solved for least cost),
    as a lab weighs it: its present cost and the demand it serves, its risks, and last its imputed
    value (the mean NPV, and of the futures with no liquidity default where some has one): the NPV's
    tail and the shareholders' figures, of an imputed revenue no one pays, are left out."""
    if run.summary.get("deterministic"):
        return [("", _deterministic_kpis(run, row))]
    cost = in_cost_terms(run)
    value = [] if cost else [("Value", _value_kpis(row)), ("The tail and the shareholders", _tail_kpis(row))]
    imputed = [(IMPUTED_VALUE, _value_kpis(row)[:1] + _no_default_kpis(row))] if cost else []
    groups = [
        ("Present cost", _present_cost_kpis(row)),
        ("Demand served", _demand_kpis(run, row)),
        *value,
        ("Defaults and breaches", _default_kpis(run, row)),
        ("The lenders at a default", _lenders_kpis(row)),
        ("When it breaks", _median_quarter_kpis(run, row)),
        ("What the policy had to do", _reaction_kpis(run, row)),
        ("Which covenant breaks first", _first_breach_kpis(run, row)),
        *imputed,
    ]
    return [(heading, kpis) for heading, kpis in groups if kpis]


def _no_default_kpis(row: pd.Series) -> list[Kpi]:
    """The mean NPV of the scenarios with no liquidity default, where some scenario has one (else the mean)."""
    if not row.get("default_probability", 0) > 0 or "npv_mean_no_default_usd" not in row:
        return []
    return [Kpi(NO_DEFAULT_MEAN_LABEL, _row_usd(row, "npv_mean_no_default_usd"))]


NO_DEFAULT_MEAN_LABEL = "mean NPV of the scenarios with no liquidity default"


def _row_usd(row: pd.Series, column: str) -> str:
    """A money figure of a metrics row, n/a where the row lacks it."""
    return format_usd(float(row[column])) if column in row else "n/a"


def _present_cost_kpis(row: pd.Series) -> list[Kpi]:
    """A plan solved for least cost by its present cost over the scenarios (docs/evaluation.md, "The present
    cost"): mean ± its standard error, CVaR95 and P95, the tail of the highest costs; none for other plans."""
    if not present_cost_shown(row):
        return []
    return [Kpi(f"{MEAN_COST_LABEL} ± standard error", mean_and_error(row, "present_cost_mean_usd",
                                                                      "present_cost_mean_se_usd")),
            Kpi(f"{CVAR95_COST_LABEL}: {CVAR95_COST_MEANS}", _row_usd(row, "present_cost_cvar95_usd")),
            Kpi(f"{P95_COST_LABEL}: {P95_COST_MEANS}", _row_usd(row, "present_cost_p95_usd"))]  # fmt: skip


def mean_and_error(row: pd.Series, mean: str, se: str) -> str:
    """A mean of a metrics row with its standard error (:func:`format_mean_and_error`): -$17.9M ± $0.8M."""
    return format_mean_and_error(row[mean], row[se])


def _value_kpis(row: pd.Series) -> list[Kpi]:
    """The NPV over the scenarios: mean (± its standard error), median and the mean without a default."""
    mean = _row_usd(row, "npv_mean_usd")
    has_se = "npv_mean_se_usd" in row and np.isfinite(row["npv_mean_se_usd"])  # none on one scenario
    if has_se:  # the error in the mean's own scale: -$17.9M ± $0.8M
        mean = mean_and_error(row, "npv_mean_usd", "npv_mean_se_usd")
    kpis = [Kpi("mean NPV ± standard error" if has_se else "mean NPV (one scenario: no standard error)"
                if "npv_mean_se_usd" in row else "mean NPV", mean)]  # fmt: skip
    if "npv_median_usd" in row:  # an evaluation of before 0.4.5 has none
        kpis.append(Kpi("median NPV (half the scenarios below it)", _row_usd(row, "npv_median_usd")))
    if "npv_mean_no_default_usd" in row:
        kpis.append(Kpi(NO_DEFAULT_MEAN_LABEL, _row_usd(row, "npv_mean_no_default_usd")))
    return kpis


def _tail_kpis(row: pd.Series) -> list[Kpi]:
    """The NPV's tail: CVaR5, P5, P(NPV < 0), and the shareholders' NPV with limited liability and
    if lenders accelerate (where they differ from the NPV)."""
    kpis = [Kpi(f"{CVAR5_NPV_LABEL}: the mean of the worst 5 %", _row_usd(row, "npv_cvar5_usd")),
            Kpi(P5_NPV_LABEL, _row_usd(row, "npv_p5_usd"))]  # fmt: skip
    if "loss_probability" in row:
        kpis.append(Kpi("P(NPV < 0)", format_percent(row["loss_probability"])))
    if limited_liability_differs(row.to_frame().T):
        kpis += [
            Kpi("mean NPV with limited liability (a default ends the shareholders' claim)",
                _row_usd(row, "npv_limited_mean_usd")),
            Kpi(NPV_LIMITED_CVAR5_LABEL, _row_usd(row, "npv_limited_cvar5_usd")),
        ]
    if limited_liability_differs(row.to_frame().T, ACCELERATED):  # none in a run written before it
        kpis += [
            Kpi("mean NPV if lenders accelerate at the first event of default (at an uncured breach the "
                "shareholders keep what the GPUs and cash leave after the debt)",
                _row_usd(row, "npv_accelerated_mean_usd")),
            Kpi(f"{CVAR5_NPV_LABEL} if lenders accelerate", _row_usd(row, "npv_accelerated_cvar5_usd")),
        ]
    return kpis


def _default_kpis(run: ReportRun, row: pd.Series) -> list[Kpi]:
    """P(liquidity default), P(covenant breach), P(uncured covenant breach), P(any default) and the
    mean lowest cash (older runs have some of them not)."""
    kpis = [
        Kpi(f"{DEFAULT_LABEL}: cash below {format_usd(run.data.default_cash)} in {_any_quarter(run.data.T)}",
            format_percent(row["default_probability"])),
        Kpi(f"{BREACH_LABEL} in {_breach_quarters(run.data)}", format_percent(row["breach_probability"])),
    ]  # fmt: skip
    if "uncured_breach_probability" in row:  # not in a run written before fleetopt 0.4.11
        kpis.append(Kpi(f"{UNCURED_LABEL}: a breach the owners could not cure, an event of "
                        "default on which lenders may accelerate", format_percent(row["uncured_breach_probability"])))
    if "any_default_probability" in row:  # not in a run written before fleetopt 0.4.14
        kpis.append(Kpi(f"{ANY_DEFAULT_LABEL}: a liquidity default or an uncured covenant breach, either event of "
                        "default as lenders count them", format_percent(row["any_default_probability"])))
    if "expected_min_cash_usd" in row:
        kpis.append(Kpi("mean over scenarios of the lowest cash", _row_usd(row, "expected_min_cash_usd")))
    return kpis


def _reaction_kpis(run: ReportRun, row: pd.Series) -> list[Kpi]:
    """What the policy had to do, and the delivery slips it met (older runs have no such columns)."""
    kpis = []
    if "slipped_share" in row:  # a risk met, not a reaction: only where risk.delivery_slip is on
        late = "scenarios with: GPUs delivered late (risk.delivery_slip)"
        kpis.append(Kpi(late, format_percent(row["slipped_share"])))
    kpis += [
        Kpi(f"scenarios with: {label}", format_percent(row[column]))
        for column, label in reaction_labels(bool(run.data.contracts), row.index).items()
        if column in row
    ]
    kpis += [Kpi(label, _row_usd(row, column)) for column, label in reaction_usd_labels(row.index).items()]
    return kpis


def _first_breach_kpis(run: ReportRun, row: pd.Series) -> list[Kpi]:
    """The share of scenarios whose first breach breaks each covenant tested."""
    return [
        Kpi(f"scenarios whose first breach breaks {kind.label}", format_percent(row[column]))
        for kind in tested_kinds(run.data.covenants)
        if (column := first_breach_column(kind)) in row
    ]


def _grouped_section(title: str, groups: list[tuple[str, list[Kpi]]]) -> str:
    """Key figures under their title, group by group, each under its heading."""
    out = f"<h2>{title}</h2>"
    for heading, kpis in groups:
        out += (f"<h3 class='figures'>{escape(heading)}</h3>" if heading else "") + kpi_block(kpis)
    return out


def key_figures_section(run: ReportRun) -> str:
    """Key figures of the main plan over the scenarios where the run has them, then on the forecast:
    the risk first (a reader who stops at the forecast's figures would take a plan that breaches in
    most futures as safe). An evaluation whose plans file is left out (reading's ``plans_left_out``)
    keeps those over the scenarios, its metrics' (its plan shown: ``plan_shown``); those on the
    forecast need the plan, and the provenance's list of what is left out names them."""
    if not run.focus and not run.plan_shown:
        return ""
    label = escape(run.main_label)
    out = ""
    if run.shown_why:
        out += f"<p class='cap'>{escape(f'The plan shown: {run.main_label}, {run.shown_why}.')}</p>"
    row = run.main_metrics
    groups = [] if row is None else [(h, kpis) for h, kpis in _scenario_groups(run, row) if kpis]
    if groups:  # a deterministic evaluation's, each figure the forecast run's below: none
        seed, n = run.scenario_source
        where = (
            "on the forecast (deterministic)"
            if run.summary.get("deterministic")
            else f"over {counted(n, 'scenario')} (seed {seed})"
        )
        out += _grouped_section(f"Key figures of {label} {where}", groups)
    if not run.focus:  # its plans file left out: nothing on the forecast to show
        return out
    out += _grouped_section(f"Key figures of {label} on the forecast", _forecast_groups(run))
    if run.milp_only:
        out += f"<p class='cap'>{escape(run.milp_only_note)}</p>"
    if run.kind == "solve":  # a plan within every limit on the forecast may breach in most futures
        others = ("These are its figures on the forecast, the one future the MILP plans for. How often it "
                  f"breaches a covenant or defaults in others: fleetopt evaluate --plans {run.folder}.")
        out += f"<p class='cap'>{escape(others)}</p>"
    return out
