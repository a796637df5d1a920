"""The figures a comparison of plans shows (`FIGURES`: each with its unit and which side is better), their
paired standard errors, the verdict's words, and the headings of its other tables."""

from __future__ import annotations

import math

import numpy as np

from fleetopt.core.covenants import CATALOGUE
from fleetopt.core.metric_columns import (
    ANY_DEFAULT_LABEL,
    BREACH_LABEL,
    CVAR5_NPV_LABEL,
    DEFAULT_LABEL,
    MEAN_NPV_LABEL,
    P5_NPV_LABEL,
    SHORTFALL_SHARE,
    UNCURED_LABEL,
    first_breach_column,
)
from fleetopt.core.results.covenant_words import (
    CUSHION_MEANS,
    TRAILING_WHAT_IF,
)
from fleetopt.core.results.fleet import POWER_BUILT_LABEL
from fleetopt.core.results.headline import (
    CVAR95_COST_LABEL,
    LAB_FIGURES,
    MEAN_COST_LABEL,
    NPV_LIMITED_CVAR5_LABEL,
    P95_COST_LABEL,
    PEAK_DEBT_FORECAST_LABEL,
)
from fleetopt.core.units import (
    USD_PER_H100_HOUR,
)
from fleetopt.evaluate.metrics import (
    ACCELERATED,
    BASE_PREPAY_LABELS,
    BASE_PREPAY_USD_LABELS,
    COST_PAIRED_ERROR,
    LIMITED_LIABILITY,
    MEAN_OF_PAIRS,
    NO_DIRECTION,
    NO_ERROR,
    NOISE_USD,
    NOT_MEASURED,
    NPV_PAIRED_ERROR,
    REACTION_LABELS,
    REACTION_MEANS,
    REACTION_USD_LABELS,
    SAME,
    WITHIN,
    WORSE,
)
from fleetopt.evaluate.metrics import BETTER as BETTER_SIDE

YES_NO = "1 yes, 0 no"  # a figure that is 1 (yes) or 0 (no), as the CSV and JSON write it


NOISE_MARK = " (within 2 s.e.)"  # a difference the scenarios could give by chance


# each figure with the row of its difference's paired standard error
PAIRED_ERROR = {
    **NPV_PAIRED_ERROR,
    "loss_probability": "loss_probability_paired_se",
    "breach_probability": "breach_probability_paired_se",
    "uncured_breach_probability": "uncured_breach_probability_paired_se",
    "default_probability": "default_probability_paired_se",
    "any_default_probability": "any_default_probability_paired_se",
    "demand_served_share": "demand_served_share_paired_se",
    "shortfall_probability": "shortfall_probability_paired_se",
    # the other means over the scenarios: npv_limited_mean_paired_se_usd, mean_utilisation_paired_se
    **{figure: f"{figure.removesuffix('_usd')}_paired_se{'_usd' if figure.endswith('_usd') else ''}"
       for figure in MEAN_OF_PAIRS},
    # a cost plan's present cost over the scenarios, its mean and its tail (the costliest 5 %)
    **COST_PAIRED_ERROR,
}


# the present cost's tail over the scenarios, the costliest 5 %: P95 and CVaR95
PRESENT_COST_TAIL = ("present_cost_p95_usd", "present_cost_cvar95_usd")


def is_difference_error(key: str) -> bool:
    """Whether figure ``key`` is the standard error of a difference to the first plan: the first plan has
    none against itself."""
    return key in PAIRED_ERROR.values()


# the figures over the scenarios with a better direction and no paired error (quantiles, a mean over
# the scenarios without a default, which are not the same for two plans, shares of the first
# breaches): never coloured better or worse, whose difference may be chance (Comparison.judged)
NO_PAIRED_ERROR = ("npv_mean_no_default_usd", "npv_limited_cvar5_usd", "npv_accelerated_cvar5_usd",
                   "npv_median_usd", "npv_p95_usd", *(first_breach_column(k) for k in CATALOGUE))


# each pair's outcome (EvaluationResult.outcomes; "any_default" made from ANY_DEFAULT_EVENTS) and the
# figure whose difference's paired error it gives
OUTCOME_FIGURES = {
    "breach": "breach_probability", "uncured_breach": "uncured_breach_probability",
    "default": "default_probability", "any_default": "any_default_probability",
    "demand_share": "demand_served_share", "demand_short": "shortfall_probability",
}  # fmt: skip


# the lab's figures over the scenarios with their paired errors (shown only beside a cost plan)
LAB_ROWS = tuple(row for figure in LAB_FIGURES for row in (figure, PAIRED_ERROR[figure]))


def is_cushion(key: str) -> bool:
    """Whether the figure ``key`` is a covenant's cushion: a share a quantity may fall before a
    breach, negative where it is already breached (by that share short)."""
    return key.startswith(("lowest_covenant_cushion", "cushion_"))


def none_measured(figures: dict, key: str) -> bool:
    """Whether no plan has a number for figure ``key`` (``figures``: label -> figure -> value)."""
    values = [plan.get(key, np.nan) for plan in figures.values()]
    return all(not (isinstance(v, (int, float)) and math.isfinite(v)) for v in values)


def cushion_figure(kind) -> str:
    """The comparison's figure of covenant ``kind``'s cushion (covenant_words.covenant_cushions)."""
    return f"cushion_{kind.name}"


def covenant_figure_names(kinds) -> dict[str, str]:
    """The names of each covenant's figures (its cushion, its share of first breaches), of ``kinds``
    as a model tests them (``ModelData.covenant_kinds``: its DSCR on EBITDA less tax named so)."""
    return {
        **{cushion_figure(k): f"{k.label} covenant: the fall of {k.protects} that breaches it, on the "
           "forecast (MILP statements)" for k in kinds},
        **{first_breach_column(k): f"first breach breaks {k.label}" for k in kinds},
    }  # fmt: skip


_CATALOGUE_NAMES = covenant_figure_names(CATALOGUE)


POLICY_REACTION = "the policy's reaction"  # the start of the name of each row of what the policy did


FIGURES = [
    ("npv_forecast_usd", "NPV on the forecast", "USD"),
    # the NPV without the credit for cash counted as paid out when earned (formulation §6): two plans
    # whose cash differs compare otherwise on it (a finance review)
    ("npv_cash_held_usd", "NPV with cash held to the end, on the forecast (MILP statements)", "USD"),
    # 1: the plan, run on the forecast with its policy, breaches a covenant or defaults (0: neither)
    ("forecast_breach", "breaches a covenant in the quarters tested, or defaults, on the forecast", YES_NO),
    # how near the plan's statements come to a covenant: "no" above may sit on a limit (0 %)
    ("lowest_covenant_cushion", f"{CUSHION_MEANS}, on the forecast (MILP statements; 0: on a limit; "
     "negative: breached, so much short)", "share"),
    # the same on the trailing year's averages, which most facilities test: a model testing each
    # quarter's own flows can call a plan within its limits that breaches there (NaN: tested so already)
    ("lowest_covenant_cushion_trailing", f"{CUSHION_MEANS}, {TRAILING_WHAT_IF}, on the forecast (MILP "
     "statements)", "share"),
    # each covenant's: a smallest fall of EBITDA and one of the GPUs' resale value are not equally likely
    *((cushion_figure(k), _CATALOGUE_NAMES[cushion_figure(k)], "share") for k in CATALOGUE),
    ("npv_mean_usd", MEAN_NPV_LABEL, "USD"),
    ("npv_mean_se_usd", f"{MEAN_NPV_LABEL}: standard error", "USD"),
    # the difference to the first plan on the same scenarios: far more precise than the two errors
    ("npv_mean_paired_se_usd", f"{MEAN_NPV_LABEL} minus the first plan's: standard error", "USD"),
    ("npv_mean_no_default_usd", f"{MEAN_NPV_LABEL} without a liquidity default", "USD"),
    # the shareholders' NPV: a default ends their claim (docs/evaluation.md, metrics.csv)
    ("npv_limited_mean_usd", f"{MEAN_NPV_LABEL} with limited liability", "USD"),
    ("npv_limited_mean_paired_se_usd", f"{MEAN_NPV_LABEL} with limited liability minus the first plan's: "
     "standard error", "USD"),
    # and had lenders accelerated at the first event of default of either kind ("The NPV if lenders
    # accelerate"): the shareholders' NPV at an uncured breach too
    ("npv_accelerated_mean_usd", f"{MEAN_NPV_LABEL} if lenders accelerate at the first event of default",
     "USD"),
    ("npv_accelerated_mean_paired_se_usd", f"{MEAN_NPV_LABEL} if lenders accelerate minus the first plan's: "
     "standard error", "USD"),
    ("npv_std_usd", "standard deviation of NPV", "USD"),
    ("npv_p5_usd", P5_NPV_LABEL, "USD"),
    # the tail figures' differences are noisy: their errors (P5's by resampling the scenarios)
    ("npv_p5_paired_se_usd", f"{P5_NPV_LABEL} minus the first plan's: standard error (bootstrap)", "USD"),
    ("npv_cvar5_usd", CVAR5_NPV_LABEL, "USD"),
    ("npv_cvar5_paired_se_usd", f"{CVAR5_NPV_LABEL} minus the first plan's: standard error", "USD"),
    ("npv_limited_cvar5_usd", NPV_LIMITED_CVAR5_LABEL, "USD"),
    ("npv_accelerated_cvar5_usd", f"{CVAR5_NPV_LABEL} if lenders accelerate at the first event of default",
     "USD"),
    ("npv_median_usd", "median NPV", "USD"),
    ("npv_p95_usd", "P95 NPV", "USD"),
    ("loss_probability", "P(NPV < 0)", "share"),
    ("loss_probability_paired_se", "P(NPV < 0) minus the first plan's: standard error", "share"),
    ("breach_probability", BREACH_LABEL, "share"),
    ("breach_probability_paired_se", f"{BREACH_LABEL} minus the first plan's: standard error", "share"),
    ("uncured_breach_probability", f"{UNCURED_LABEL}: an event of default", "share"),
    ("uncured_breach_probability_paired_se", f"{UNCURED_LABEL} minus the first plan's: standard "
                                             "error", "share"),
    ("default_probability", DEFAULT_LABEL, "share"),
    ("default_probability_paired_se", f"{DEFAULT_LABEL} minus the first plan's: standard error", "share"),
    ("any_default_probability", f"{ANY_DEFAULT_LABEL}: a liquidity default or an uncured covenant breach",
     "share"),
    ("any_default_probability_paired_se", f"{ANY_DEFAULT_LABEL} minus the first plan's: standard error",
     "share"),
    # the lenders' side of a default (docs/evaluation.md, "The debt at a default"), undiscounted USD of
    # the default's quarter; the share covered has no better direction (fewer defaults can leave the
    # ones left less covered), the debt left uncovered, over all scenarios, has
    ("debt_at_default_mean_usd", "debt owed at a liquidity default (mean over the scenarios with one; "
     "undiscounted)", "USD"),
    ("debt_covered_at_default", "share of the debt at defaults the GPUs' sale and the cash would repay",
     "share"),
    ("uncovered_debt_mean_usd", "debt a default leaves uncovered by the GPUs and cash (mean over all "
     "scenarios; undiscounted)", "USD"),
    ("uncovered_debt_mean_paired_se_usd", "debt a default leaves uncovered minus the first plan's: standard "
     "error", "USD"),
    # the same at an uncured covenant breach, had lenders accelerated then ("The debt at an uncured breach")
    ("debt_at_uncured_breach_mean_usd", "debt owed at an uncured covenant breach (mean over the scenarios "
     "with one; undiscounted)", "USD"),
    ("debt_covered_at_uncured_breach", "share of the debt at uncured breaches the GPUs' sale and the cash "
     "would repay", "share"),
    ("uncovered_debt_at_uncured_breach_mean_usd", "debt an uncured breach leaves uncovered by the GPUs and "
     "cash, had lenders accelerated (mean over all scenarios; undiscounted)", "USD"),
    ("uncovered_debt_at_uncured_breach_mean_paired_se_usd", "debt an uncured breach leaves uncovered minus "
     "the first plan's: standard error", "USD"),
    # which covenant breaks first; a comparison keeps the rows of its model's covenants only
    *((first_breach_column(k), _CATALOGUE_NAMES[first_breach_column(k)], "share") for k in CATALOGUE),
    ("expected_min_cash_usd", "mean lowest cash", "USD"),
    ("expected_min_cash_paired_se_usd", "mean lowest cash minus the first plan's: standard error", "USD"),
    ("mean_utilisation", "mean utilisation", "share"),
    ("mean_utilisation_paired_se", "mean utilisation minus the first plan's: standard error", "share"),
    # what the company had to do to survive each plan's futures (docs/evaluation.md, "Policy"), as
    # `fleetopt evaluate` shows it: no better direction (a deferral that keeps the company alive is no
    # failure of the plan) and no paired error; rule 6's after the others, only where the plans' metrics
    # have its columns (the rule on: _figure_order)
    *((column, f"{POLICY_REACTION}: {label} (share of scenarios)", "share")
      for column, label in {**REACTION_LABELS, **BASE_PREPAY_LABELS}.items()),
    *((column, f"{POLICY_REACTION}: {label} ({REACTION_MEANS})", "USD")
      for column, label in {**REACTION_USD_LABELS, **BASE_PREPAY_USD_LABELS}.items()),
    # a risk the plans met, not a reaction (only where the model's risk.delivery_slip is on): a plan
    # that buys no slipping SKU early is not slipped
    ("slipped_share", "P(GPUs it bought delivered late: risk.delivery_slip)", "share"),
    ("peak_debt_forecast_usd", PEAK_DEBT_FORECAST_LABEL, "USD"),
    # what the plan spends and earns, which GPU counts alone do not show
    ("capex_gpu_total_usd", "GPU capex over the horizon (MILP statements)", "USD"),
    # what a plan commits to before the next annual review, and so what it spends later: a plan that
    # defers its orders looks like one that buys less in the horizon's totals (first_year_names)
    ("capex_gpu_first_year_usd", "of which in the horizon's first year (MILP statements)", "USD"),
    ("capex_power_total_usd", "power capex over the horizon (MILP statements)", "USD"),
    # a block is paid over its lead time: what one started in the first year commits is its whole cost
    ("power_committed_first_year_usd", "capex of the power blocks started in the horizon's first year "
     "(whole blocks, paid over their lead time)", "USD"),
    ("revenue_total_usd", "revenue over the horizon (MILP statements)", "USD"),
    # of it, the contracts': the rest is the market's, whose volume and price nothing holds
    ("revenue_contracts_total_usd", "of which under contract (MILP statements)", "USD"),
    # how much of it one customer holds: the concentration a lost customer would take with it
    ("largest_customer_revenue_share", "largest customer's share of revenue (MILP statements)", "share"),
    # the cost objective's figure (`solve --objective cost`), from the plan's statements (without its
    # policy, which the cost objective's plans have no use for): a lab's plans are compared by it
    ("present_cost_usd", "present cost on the forecast (MILP statements)", "USD"),
    # the same per unit of compute: levelized over the H100-equivalent GPU-hours in service (formulation §6)
    ("present_cost_per_h100_hour_usd", "present cost per H100-equivalent GPU-hour in service, levelized "
     "(MILP statements)", USD_PER_H100_HOUR),
    # and over the scenarios, on each one's path (docs/evaluation.md, "The present cost"): lower is
    # better, so its tail is the costliest 5 %
    ("present_cost_mean_usd", f"{MEAN_COST_LABEL} over the scenarios", "USD"),
    ("present_cost_mean_se_usd", f"{MEAN_COST_LABEL}: standard error", "USD"),
    # paired, as the NPV's: the plans' costs move together with the scenarios, which the difference removes
    ("present_cost_mean_paired_se_usd", f"{MEAN_COST_LABEL} minus the first plan's: standard error", "USD"),
    ("present_cost_p95_usd", f"{P95_COST_LABEL}: the least of the costliest 5 % of the scenarios", "USD"),
    ("present_cost_p95_paired_se_usd", f"{P95_COST_LABEL} minus the first plan's: standard error "
     "(bootstrap)", "USD"),
    ("present_cost_cvar95_usd", f"{CVAR95_COST_LABEL}: the mean of the costliest 5 % of the scenarios",
     "USD"),
    ("present_cost_cvar95_paired_se_usd", f"{CVAR95_COST_LABEL} minus the first plan's: standard error",
     "USD"),
    # what that cost buys: plans serving different demand do not compare by their present cost
    ("market_demand_served", "share of market demand served on the forecast (MILP statements)", "share"),
    # and over the scenarios, whose demand moves (docs/evaluation.md, metrics.csv): LAB_FIGURES
    ("demand_served_share", "share of market demand served (mean over scenarios)", "share"),
    ("demand_served_share_paired_se", "share of market demand served minus the first plan's: standard "
                                      "error", "share"),
    ("shortfall_probability", f"P(more than {SHORTFALL_SHARE * 100:g} % of market demand not served)",
     "share"),
    ("shortfall_probability_paired_se", f"P(more than {SHORTFALL_SHARE * 100:g} % not served) minus the "
                                        "first plan's: standard error", "share"),
    ("gpus_bought", "GPUs bought", "GPUs"),
    ("power_built_mw", POWER_BUILT_LABEL, "MW"),
    # what the MILP chose around a plan's purchases, which often moves its NPV as much as they do
    ("contracts_taken", "contracts taken (of the model's offers)", "contracts"),
    ("gpus_retired", "GPUs retired over the horizon", "GPUs"),
    ("debt_drawn_usd", "debt drawn over the horizon (facility draws)", "USD"),
]


# each figure's unit
FIGURE_UNITS = {key: unit for key, _, unit in FIGURES}


# the present cost over the scenarios (metrics.csv's, where the plans were solved for cost), each figure with
# its difference's paired error, the mean with its own error too
SCENARIO_COST_ROWS = ("present_cost_mean_usd", "present_cost_mean_se_usd",
                      PAIRED_ERROR["present_cost_mean_usd"],
                      *(row for figure in PRESENT_COST_TAIL for row in (figure, PAIRED_ERROR[figure])))


# a lab's figures, which a comparison with a cost plan shows first: what the plan costs and serves
COST_FIRST = ("present_cost_usd", "present_cost_per_h100_hour_usd", *SCENARIO_COST_ROWS,
              "market_demand_served", *LAB_ROWS)


# what plans cost: not ranked where they serve different shares of the demand (less cost buys less)
COSTS = ("present_cost_usd", "present_cost_per_h100_hour_usd", "present_cost_mean_usd", *PRESENT_COST_TAIL)


# the figures of the plans' NPV: of plans solved for least cost, an imputed value (revenue values each
# GPU-hour at its generation's market price), which decides nothing between them (Comparison.better)
NPV_FIGURES = (*(key for key, _, _ in FIGURES if key.startswith("npv_")), "loss_probability")


# the figures discounted at the model's rate: a what-if that changes the rate moves them without the
# plan doing better or worse (Comparison.better)
DISCOUNTED = (*NPV_FIGURES, *COSTS)


# said once where plans solved for least cost are compared, of the NPV rows (Comparison.notes): lab's
# "hopper-stretch" read -$26.0M of mean NPV beside +$50.7M of mean present cost
NPV_NOT_COST = ("Their NPV differences are not cost differences: the imputed revenue values each GPU-hour "
                "at its generation's market price, so plans that serve the same demand differ in NPV by "
                "what their GPUs would fetch as well as by what they cost; the NPV rows have no 'better' "
                "and decide nothing, the present cost ranks these plans")


# which way a figure is better for the company (a figure not here has no better direction)
BETTER = {
    **dict.fromkeys(("npv_forecast_usd", "npv_cash_held_usd", "npv_mean_usd", "npv_mean_no_default_usd",
                     *LIMITED_LIABILITY, *ACCELERATED, "npv_p5_usd", "npv_cvar5_usd", "npv_median_usd",
                     "npv_p95_usd",
                     "expected_min_cash_usd", "mean_utilisation", "demand_served_share",
                     "market_demand_served", "lowest_covenant_cushion", "lowest_covenant_cushion_trailing"),
                    "higher"),
    **dict.fromkeys(("forecast_breach", "loss_probability", "breach_probability",
                     "uncured_breach_probability", "default_probability", "any_default_probability",
                     "peak_debt_forecast_usd", *COSTS,
                     "shortfall_probability",
                     "largest_customer_revenue_share", "uncovered_debt_mean_usd",
                     "uncovered_debt_at_uncured_breach_mean_usd",
                     *(first_breach_column(k) for k in CATALOGUE)), "lower"),
    **dict.fromkeys((cushion_figure(k) for k in CATALOGUE), "higher"),
}  # fmt: skip


# the figures whose better direction is the lenders', not the company's: the debt a default leaves
# uncovered is theirs to lose (the shareholders' NPV ends at the default either way)
LENDERS_VIEW = ("uncovered_debt_mean_usd", "uncovered_debt_at_uncured_breach_mean_usd")


BETTER_MEANS = ("'better': which way a figure is better for the company, or for its lenders where it "
                "says 'for lenders'")


NOT_APPLICABLE = "—"  # a cell with no figure: the first plan's difference to itself


# the figures a comparison's verdict reads (Comparison.verdict), each by a short name (FIGURES gives
# the whole); with a plan solved for least cost, what the plans cost and serve (a lab's NPV values its
# GPUs' own use at market prices)
VERDICT = {
    "npv_mean_usd": MEAN_NPV_LABEL, "npv_cvar5_usd": CVAR5_NPV_LABEL, "breach_probability": BREACH_LABEL,
    "default_probability": DEFAULT_LABEL,
    # either default, as lenders count them (a run before 0.4.14 has none: left out)
    "any_default_probability": ANY_DEFAULT_LABEL,
}  # fmt: skip


# a verdict figure's meaning, said once, where "In short" first names it (the terminal's first line)
VERDICT_GLOSS = {"npv_cvar5_usd": "the mean NPV of the worst 5 % of futures"}

# the two figures a plan may trade, one for the other (a sweep's pick gives up mean NPV for CVaR5), and
# those "In short" ranks three plans or more by
TRADE_OFF = RANKED = ("npv_mean_usd", "npv_cvar5_usd")


COST_VERDICT = {
    "present_cost_usd": "present cost", "present_cost_per_h100_hour_usd": "cost per H100-hour",
    # over the scenarios, with their paired errors: the mean and the tail of the highest costs
    "present_cost_mean_usd": MEAN_COST_LABEL, "present_cost_cvar95_usd": CVAR95_COST_LABEL,
    "market_demand_served": "demand served on the forecast", "default_probability": DEFAULT_LABEL,
    # every cost plan serves all of the forecast's demand: the scenarios' demand is what tells them apart
    "demand_served_share": "demand served over the scenarios",
    "shortfall_probability": f"P(more than {SHORTFALL_SHARE * 100:g} % short)",
}  # fmt: skip


# the sides a verdict puts each figure's difference on (Comparison._side, by judged_side), in words,
# in the order it says them
SIDE_WORDS = {BETTER_SIDE: "better in", WORSE: "worse in", WITHIN: "within two standard errors:",
              NO_ERROR: "without a standard error:", SAME: "the same in",
              NO_DIRECTION: "no better direction:", NOT_MEASURED: "not measured:"}  # fmt: skip


VERDICT_SIDES = tuple(SIDE_WORDS.values())


# round-off in each figure's unit: two plans whose figures differ by no more, with a paired error of no more
# where they have one, are the same in it (same_to_round_off, compare's one rule of "the same", for every
# figure): $1 of money (metrics.NOISE_USD: a loan repaid in thirds leaves 1e-10 USD); 1e-6 of a share, a
# MILP's round-off of the demand it serves (a share of scenarios moves by 1/M, more than this below a
# million scenarios) and of a count (a solver's 1.3e-11 GPUs)
ROUND_OFF = {"USD": NOISE_USD, USD_PER_H100_HOUR: 1e-6, "share": 1e-6, "GPUs": 1e-6, "MW": 1e-6,
             "contracts": 1e-6}  # fmt: skip


def same_to_round_off(diff: float, se: float | None, unit: str) -> bool:
    """Whether a difference ``diff`` of a figure in ``unit``, with its paired standard error ``se`` (None:
    the figure has none), is round-off (:data:`ROUND_OFF`), the difference and the error alike: the plans
    are the same in it, not within chance of each other (demand served identical to 6 digits, with an
    error of 1e-18, read "0.0 pp (within 2 s.e.)"). An error not known (NaN) is not round-off."""
    noise = ROUND_OFF.get(unit, 0.0)
    return abs(diff) <= noise and (se is None or se <= noise)


# the shares of the market demand a plan serves, and where: plans that differ in one are not ranked
# by their present cost (Comparison.serve_different_demand)
SHARES_SERVED = (("market_demand_served", "on the forecast"), ("demand_served_share", "over the scenarios"))


# the Markdown headings of the comparison's other tables
MARKDOWN_TITLES = {
    "mw_by_site": "MW used and available (facility MW: IT load x PUE), by site and quarter",
    "gpus_by_generation": "GPUs held, by generation and quarter",
    "purchases_by_generation": "Purchases against the first plan by generation, sites summed (GPUs: + more, "
    "- fewer)",
    "purchase_differences": "Purchases against the first plan (GPUs: + more, - fewer)",
}


# the columns of the comparison's other tables, in words with their units, as tables for people
# (terminal, Markdown) head them; the CSV and the JSON keep the keys
COLUMN_HEADERS = {
    "plan": "plan",
    "run": "run folder or plan file",
    "site": "site",
    "quarter": "quarter",
    "mw_used": "MW used",
    "mw_available": "MW available",
    "generation": "generation",
    "gpus": "GPUs held",
    "sku": "SKU",
    "gpus_vs_first_plan": "GPUs",  # the tables' titles say + more, - fewer
}


# the columns of the comparison's against_pick table (Comparison.tables): the difference of each
# figure of the verdict, the plan's less the pick's, with its paired standard error, as numbers
AGAINST_PICK_COLUMNS = ("plan", "pick", "figure", "unit", "better", "difference", "paired_se")


PAIRED_SE_HEADER = "paired standard error"  # the tables for people's header of that error


# the tables of figures, which the CSV writes unrounded (the others' MW and GPUs to 6 decimals)
FIGURE_TABLES = ("figures", "against_pick")
