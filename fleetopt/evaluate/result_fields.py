"""What the array simulation returns for each (plan, scenario) pair: the result fields and their
names (:data:`RESULT_FIELDS`, the same (P, S) arrays from NumPy, the C build and CUDA), the parts
:func:`~fleetopt.evaluate.simulate.simulate` adds on request, and the bytes the results take."""

from __future__ import annotations

from fleetopt.evaluate.liquidity import BASE_PREPAID, BASE_PREPAID_USD, LIQUIDITY_REACTIONS, REACTION_USD

# per pair, the quarters before its first covenant breach, before its liquidity default and before its
# uncured covenant breach (T: none in the horizon): the quarter index of each, for when a plan breaks
# (cumulative shares by quarter)
TIMING_FIELDS = ("quarters_before_breach", "quarters_before_default", "quarters_before_uncured")

# per pair, at its first liquidity default (0 without one), USD: the debt owed at the end of that
# quarter, and the part of it that selling the GPUs held (as a distress sale would sell them) and
# the cash left would not repay: what lenders would have to recover from contracts, sites or not at all
DEBT_AT_DEFAULT = ("debt_at_default", "uncovered_debt")
# the same at its uncured covenant breach, the event of default on which lenders may accelerate
# (0 without one): what they would be owed then, and could not recover from the GPUs and cash, had
# they accelerated
DEBT_AT_UNCURED = ("debt_at_uncured_breach", "uncovered_debt_at_uncured_breach")
# the policy's reactions, per pair: a contract started late (rescheduled), a contract cancelled for
# being later than its allowance, GPUs of a contract that ended early offered on the market
CONTRACT_REACTIONS = ("rescheduled", "cancelled", "freed")
# simulate(market_earned=True)'s (P, S, G, T) what each generation's own market GPUs earn each quarter,
# within power and demand, less their electricity: on the forecast, policy rule 0's saving
MARKET_EARNED = "gen_market_earned_usd"
# simulate(watch=...)'s NPV end term E and its parts, (P, S) USD each, undiscounted (simulate._end_term;
# docs/evaluation.md, "The NPV"): the fleet's sale at the last quarter's resale value net of the selling
# cost (formulation §3's proceeds; statements.csv's fleet_resale_value_usd is the gross value) and its
# book value, the gain or loss of the last quarter's distress sales, the gain G taxed with the end
# (the three: proceeds - book + distress), the last quarter's taxable income y, the tax of the sale,
# the power plant at book, the debt at the end, the prepayments not yet earned, and E
END_TERM_PARTS = ("fleet_sale_proceeds", "fleet_book_value", "distress_sale_gain", "gain",
                  "taxable_income_last", "liquidation_tax", "power_plant_book_value", "debt_end",
                  "unearned_prepayments", "end_term")  # fmt: skip
# npv_limited: the NPV with limited liability, the shareholders' claim ended by a liquidity default;
# npv_accelerated: the same ended by the first event of default of either kind, the lenders accelerating
# at an uncured breach (docs/evaluation.md, "The NPV if lenders accelerate"); the lenders' side of a
# default (docs/evaluation.md, "The debt at a default")
RESULT_FIELDS = (
    "npv", "npv_limited", "npv_accelerated", *DEBT_AT_DEFAULT, "min_cash", "breach", "first_breach",
    "uncured_breach", *DEBT_AT_UNCURED, "default", "utilisation",
    *CONTRACT_REACTIONS, *LIQUIDITY_REACTIONS, *REACTION_USD, *TIMING_FIELDS, "demand_served",
)  # fmt: skip
# simulate's (P, S) present cost of each pair, USD, only where SimulationConstants.present_cost asks for
# it (plans solved for least cost): V0 + sum_t DF_t (capex - proceeds + interest + opex) - DF_{T-1} x the
# assets at the end, on the pair's path (docs/evaluation.md, "The present cost"); one more row kept
# where computed (fields_kept)
PRESENT_COST = "present_cost"
# simulate's (P, S) policy rule 6 results, only where `policy.prepay_borrowing_base` is on: whether the pair
# made a mandatory prepayment of a borrowing-base deficiency, and the principal so prepaid, USD
# (docs/evaluation.md, "Policy"); kept where asked (fields_kept), so a model without the rule keeps
# and writes what it did before
BASE_PREPAY_FIELDS = (BASE_PREPAID, BASE_PREPAID_USD)
# a result takes at most 8 bytes (a float64; a bool, 1): the rows in memory and their file
# (spill.py) count 8 a value
RESULT_VALUE_BYTES = 8


def fields_kept(present_cost: bool, base_prepay: bool = False) -> tuple[str, ...]:
    """The (P, S) results a chunk keeps, in memory or in a file (spill.py): :data:`RESULT_FIELDS`,
    and :data:`PRESENT_COST` where the run computes it, so that a block kept by an earlier attempt
    holds it too; :data:`BASE_PREPAY_FIELDS` where ``base_prepay`` (the policy's rule 6 on)."""
    kept = (*RESULT_FIELDS, PRESENT_COST) if present_cost else RESULT_FIELDS
    return (*kept, *BASE_PREPAY_FIELDS) if base_prepay else kept


def result_bytes(n_plans: int, n_scenarios: int, fields: tuple[str, ...] = RESULT_FIELDS) -> int:
    """Bytes the results ``fields`` (:data:`RESULT_FIELDS` unless said) of ``n_plans`` plans over
    ``n_scenarios`` scenarios take, in memory or in a file (spill.py): 216 a (plan, scenario) pair,
    224 with a plan solved for cost's present cost (:func:`fields_kept`)."""
    return RESULT_VALUE_BYTES * len(fields) * n_plans * n_scenarios

