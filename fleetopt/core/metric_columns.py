"""The metrics a plan is judged by over its scenarios: their column names and meanings, as metrics.csv,
a sweep's candidates.csv and every reader of them name them (computed by :mod:`fleetopt.evaluate.metrics`;
docs/evaluation.md, "Outputs")."""

from __future__ import annotations

from fleetopt.core.covenants import CATALOGUE


def first_breach_column(kind) -> str:
    """The metrics column of the share of scenarios whose first breach breaks covenant ``kind``."""
    return f"first_breach_{kind.name}_share"


# each event's probability as every table and sentence names it: long where there is room (reports,
# notebooks, comparisons), short in a terminal's columns and in lists of several
BREACH_LABEL, BREACH_SHORT = "P(covenant breach)", "P(breach)"  # breach_probability
UNCURED_LABEL, UNCURED_SHORT = "P(uncured covenant breach)", "P(uncured breach)"  # uncured_breach_probability
DEFAULT_LABEL, DEFAULT_SHORT = "P(liquidity default)", "P(liq. default)"  # default_probability
ANY_DEFAULT_LABEL = "P(any default)"  # any_default_probability: short enough for a terminal's column
# the NPV's statistics, the statistic first as in "mean NPV", the name most tables and docs gave them;
# what one means goes beside it ("CVaR5 NPV: the mean NPV of the worst 5 %"), never inside it
MEAN_NPV_LABEL = "mean NPV"  # npv_mean_usd
P5_NPV_LABEL = "P5 NPV"  # npv_p5_usd
CVAR5_NPV_LABEL = "CVaR5 NPV"  # npv_cvar5_usd


# a scenario is short when more than this share of its market demand over the horizon is not served
SHORTFALL_SHARE = 0.01


# when a breached quarter is cured (docs/evaluation.md, quarter step 6, "Cure rights")
CURE_LIMITS = ("never two quarters in a row, at most finance.covenants.equity_cures, none in or after a "
               "liquidity default's quarter")


# a breached quarter with cash enough to repay every lender (finance.covenants.cash_covering_debt_cures);
# "none where the quarter's cash covers its debt" after the cure limits read as no cure allowed there
CASH_COVERED = "no event of default where the quarter's cash covers its debt"


def cure_limits(cash_covers: bool) -> str:
    """When a breached quarter is no uncured breach: CURE_LIMITS, and with
    ``finance.covenants.cash_covering_debt_cures`` a quarter whose cash covers its debt."""
    covered = f"; {CASH_COVERED} (finance.covenants.cash_covering_debt_cures)"
    return CURE_LIMITS + (covered if cash_covers else "")

# metrics.csv's columns besides METRIC_COLUMNS where the plans were solved for least cost (solve --objective
# cost; absent otherwise): each scenario's present cost of the plan, formulation §6 "Cost" on the scenario's
# path (docs/evaluation.md, "The present cost"); lower is better, so its tail is the 5 % of highest costs
PRESENT_COST_COLUMNS = {
    "present_cost_mean_usd": "mean over scenarios of the present cost: the installed fleet's value at the "
    "start, plus each quarter's capex paid less disposal and distress sale proceeds, interest and opex, "
    "discounted, less the fleet at the scenario's last resale value and the power plant at book, "
    "discounted from the last quarter, USD",
    "present_cost_mean_se_usd": "standard error of the mean present cost (sample standard deviation, "
    "divisor scenarios - 1, / sqrt(scenarios); n/a: one), USD",
    "present_cost_p95_usd": "95th percentile of the present cost (the k-th highest, k = ceil(5 % of "
    "scenarios)), USD",
    "present_cost_cvar95_usd": "mean present cost of the 5 % of scenarios where it is highest (CVaR95), USD",
}

METRIC_COLUMNS = {
    "npv_mean_usd": "mean NPV over scenarios, USD",
    "npv_std_usd": "standard deviation of NPV, USD",
    "npv_mean_se_usd": "standard error of the mean NPV (sample standard deviation, divisor scenarios - 1, "
                       "/ sqrt(scenarios); n/a: one), USD",
    "npv_mean_no_default_usd": "mean NPV of the scenarios with no liquidity default (NaN: all default), USD",
    "npv_median_usd": "median NPV over scenarios (the mean of the two middle ones for an even count), USD",
    "loss_probability": "share of scenarios with a negative NPV",
    "npv_p5_usd": "5th percentile of NPV (k-th worst, k = ceil(5 % of scenarios)), USD",
    "npv_cvar5_usd": "mean NPV of the worst 5 % of scenarios, USD",
    # with limited liability (docs/evaluation.md, "After a liquidity default"): the shareholders' NPV,
    # their claim never below nothing, where the NPV above keeps counting a defaulted scenario's hole
    "npv_limited_mean_usd": "mean NPV with limited liability: a liquidity default ends the shareholders' "
    "claim (their flows until it, the cash held lost, nothing after), and a company worth less than "
    "nothing at the end is worth nothing to them, USD",
    "npv_limited_cvar5_usd": "mean NPV with limited liability of the worst 5 % of scenarios, USD",
    # the same had lenders accelerated at the first event of default of either kind (docs/evaluation.md,
    # "The NPV if lenders accelerate")
    "npv_accelerated_mean_usd": "mean NPV if lenders accelerate: the first event of default of either kind "
    "ends the shareholders' claim (their flows until it; at a liquidity default the cash held lost, at an "
    "uncured covenant breach what the GPUs' distress sale and the cash leave once the debt is repaid), "
    "nothing after; without one, the NPV with limited liability, USD",
    "npv_accelerated_cvar5_usd": "mean NPV if lenders accelerate of the worst 5 % of scenarios, USD",
    "breach_probability": "share of scenarios with any covenant breach",
    # a lender's event of default (docs/evaluation.md, quarter step 6): a breach the owners could not cure
    "uncured_breach_probability": "share of scenarios with an uncured covenant breach: a breached quarter "
    f"the owners could not cure ({CURE_LIMITS}; with finance.covenants.cash_covering_debt_cures, "
    f"{CASH_COVERED}), an event of default on which lenders may accelerate",
    "default_probability": "share of scenarios with a liquidity default",
    # the lenders' definition: either event of default (a CDS pays on bankruptcy or a failure to pay
    # only, so it prices the liquidity default: docs/calibration.md)
    "any_default_probability": "share of scenarios with a liquidity default or an uncured covenant "
    "breach (either event of default): at least the larger of the two shares, at most their sum",
    # the lenders' side of a default (docs/evaluation.md, "The debt at a default"): what the company
    # owes then, and how much of it selling its GPUs (as a distress sale would) and its cash would repay
    "debt_at_default_mean_usd": "mean over the scenarios with a liquidity default of the debt owed at the "
    "end of the default's quarter (term loans, balances kept by cut prepayments, the revolver), USD "
    "(NaN: none defaults)",
    "debt_covered_at_default": "share of the debt owed at liquidity defaults (summed over the scenarios with "
    "one) that selling the GPUs held at the scenario's resale value, less selling costs and the distress "
    "discount, and the cash left would repay (NaN: none defaults owing debt)",
    "uncovered_debt_mean_usd": "mean over all scenarios of the debt at a liquidity default that selling the "
    "GPUs and the cash would not repay (0 without a default), USD of the default's quarter, undiscounted",
    "debt_at_uncured_breach_mean_usd": "mean over the scenarios with an uncured covenant breach of the debt "
    "owed at the end of its quarter (term loans, balances kept by cut prepayments, the revolver), what "
    "lenders who accelerated then would claim, USD (NaN: none has one)",
    "debt_covered_at_uncured_breach": "share of the debt owed at uncured breaches (summed over the scenarios "
    "with one) that selling the GPUs held then at the scenario's resale value, less selling costs and the "
    "distress discount, and the cash would repay (NaN: none has one owing debt)",
    "uncovered_debt_at_uncured_breach_mean_usd": "mean over all scenarios of the debt at an uncured breach "
    "that selling the GPUs and the cash would not repay (0 without one), USD of its quarter, undiscounted",
    "expected_min_cash_usd": "mean over scenarios of the lowest quarterly cash, USD",
    "mean_utilisation": "mean share of held GPUs rented out (serving a contract, or on the market within "
    "demand)",
    # the policy's reactions (docs/evaluation.md, "Policy"): how often the company had to act
    "rescheduled_share": "share of scenarios in which a contract was late within its allowance (power short "
    "at or after its deadline)",
    "cancelled_share": "share of scenarios in which a contract was cancelled for late delivery",
    "freed_share": "share of scenarios in which GPUs of a contract that ended early went to the market",
    "deferred_share": "share of scenarios in which a GPU order was deferred to keep cash",
    "order_cancelled_share": "share of scenarios in which a deferred GPU order was cancelled (deposit lost)",
    "sold_share": "share of scenarios with a distress sale of GPUs",
    "prepayment_cut_share": "share of scenarios in which a planned debt prepayment was cut to keep cash",
    "deferred_capex_mean_usd": "mean over scenarios of the GPU capex deferred, USD, at the price of the "
    "quarter planned",
    "forfeited_deposits_mean_usd": "mean over scenarios of the deposits forfeited on cancelled GPU orders, "
    "USD",
    "distress_sale_proceeds_mean_usd": "mean over scenarios of the proceeds of distress sales of GPUs, USD",
    # which covenant breaks first: shares of all scenarios, summing to at least breach_probability
    # (a first breach can miss several covenants in the same quarter)
    **{
        first_breach_column(kind): f"share of scenarios whose first breach breaks {kind.label}"
        for kind in CATALOGUE
    },
    # when it breaks: from each pair's quarters before its first breach and before its default
    "breach_median_quarter": "median over the scenarios with a covenant breach of the quarter of the first, "
    "numbered from 1 (the horizon's first quarter; the earlier of the two middle ones; NaN: none breaches)",
    "uncured_breach_median_quarter": "median over the scenarios with an uncured covenant breach of the "
    "quarter of it, numbered from 1 (NaN: none has one)",
    "default_median_quarter": "median over the scenarios with a liquidity default of the quarter of the "
    "default, numbered from 1 (NaN: none defaults)",
    # the market demand the plan serves: a lab's or hyperscaler's own demand where it plans for it
    # (solve --objective cost); for a neocloud, its share of the whole market's
    "demand_served_share": "mean over scenarios of the market demand served / the scenario's market demand, "
    "both in H100-equivalent GPU-quarters over the horizon, over the scenarios with market demand "
    "(NaN: the model has none)",
    "unserved_demand_mean_gpu_quarters": "mean over scenarios of the market demand not served, "
    "H100-equivalent GPU-quarters",
    "shortfall_probability": f"share of scenarios in which more than {SHORTFALL_SHARE * 100:g} % of the "
    "horizon's market demand is not served",
}
