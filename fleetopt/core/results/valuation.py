"""What a plan's NPV counts and how it is made: the basis its figures are stated on, its terminal part, the
credit the cash's timing gives it and its value at other discount rates."""

from __future__ import annotations

import numpy as np

from fleetopt.core.covenants import TOLERANCE_USD
from fleetopt.core.data import ModelData
from fleetopt.core.economics.statements import Statements
from fleetopt.core.quarters import discount_factors
from fleetopt.core.units import counted, format_rate, format_usd


def horizon_words(quarters: int) -> str:
    """"the horizon's 28 quarters": what the NPVs and the probabilities of default and breach are
    counted over (a reader asked over how long a 17.7 % default probability was)."""
    return f"the horizon's {counted(quarters, 'quarter')}"


def basis_words(quarters: int, *rates_annual: float, figures: tuple[str, ...] = ("npv",)) -> str:
    """"over the horizon's 28 quarters (NPV: equity cash flows and terminal equity at 15% a year,
    USD)": what a run's or a comparison's figures are counted over and at what rate they discount.
    ``figures``: the objectives whose figures are said (milp/build.OBJECTIVES: "npv", :func:`npv_words`;
    "cost", a cost solve's present cost, :func:`present_cost_basis_words`), each in its own words
    (a cost solve's listed present cost was said to be an equity NPV); none: the horizon alone."""
    said = "; ".join(_FIGURE_BASIS[figure](*rates_annual) for figure in figures)
    return f"over {horizon_words(quarters)}" + (f" ({said})" if said else "")


def solve_figures(objective: str) -> tuple[str, ...]:
    """:func:`basis_words`'s ``figures`` of a solve's figures: a cost solve's present cost, then the
    NPV that values its GPUs' use at market prices; else the NPV alone."""
    return ("cost", "npv") if objective == "cost" else ("npv",)


def npv_words(*rates_annual: float) -> str:
    """'NPV: equity cash flows and terminal equity at 15% a year, USD': which NPV a table reads (the
    quarters' flows and the equity left at the end, formulation §6: "equity cash flows" alone read as
    the first only); of two models with different rates (a what-if), '... at 15% and 20% a year, USD'."""
    return f"NPV: equity cash flows and terminal equity at {_rates_words(rates_annual)} a year, USD"


def present_cost_basis_words(*rates_annual: float) -> str:
    """'present cost: the fleet at the start and the quarters' costs less the value at the end at 10% a
    year, USD': what a cost solve's present cost counts and discounts (formulation §6, "Cost")."""
    return (f"present cost: the fleet at the start and the quarters' costs less the value at the end at "
            f"{_rates_words(rates_annual)} a year, USD")


def _rates_words(rates_annual) -> str:
    """'15%', or '15% and 20%' (a what-if's two models)."""
    return " and ".join(map(format_rate, rates_annual))


# the words of basis_words's figures, by the objective that gives them (milp/build.OBJECTIVES)
_FIGURE_BASIS = {"npv": npv_words, "cost": present_cost_basis_words}


NPV_QUARTERS_LABEL = "  of which the quarters' cash flows (present value)"


NPV_TERMINAL_LABEL = "  of which at the end (present value)"


def npv_terminal_arithmetic(fig: dict) -> str:
    """How a :func:`headline`'s terminal part of the NPV is made (formulation §6): '0.376 (the last
    quarter's discount factor) x (GPUs at resale and power plant at book $6.56B + tax saved by
    selling them below book $301.4M (all of the last quarter's own tax, the most a loss can save) -
    debt $10.25B)', the parenthesis where the loss's tax is capped at that quarter's (§5.10); a gain's
    tax is '- tax on the gain of their sale' (no tax: '- tax on their sale $0'), and prepayments not
    yet earned, where there are any, are subtracted by name."""
    tax, debt = fig["liquidation_tax_usd"], fig["debt_end_usd"]
    # a loss saves tax: added, not a negative subtracted
    taxed = f"- tax on the gain of their sale {format_usd(tax)}"
    if tax == 0:  # no gain, or a loss the last quarter had no taxable income to deduct it from
        taxed = "- tax on their sale $0"
    elif tax < 0:
        taxed = f"+ tax saved by selling them below book {format_usd(-tax)}"
        if -tax >= fig["tax_last_quarter_usd"] - TOLERANCE_USD:  # the cap of §5.10 binds
            taxed += " (all of the last quarter's own tax, the most a loss can save)"
    unearned = fig["owed_end_usd"] - debt
    owed = f"- debt {format_usd(debt)}" + (
        f" - prepayments not yet earned {format_usd(unearned)}" if unearned > 0.5 else ""
    )
    return (
        f"{fig['terminal_discount_factor']:.3f} (the last quarter's discount factor) x (GPUs at resale and "
        f"power plant at book {format_usd(fig['terminal_assets_usd'])} {taxed} {owed})"
    )


def npv_terminal_words(fig: dict) -> str:
    """The terminal part of the NPV and its arithmetic: '-$1.28B = 0.376 (...) x (...)'."""
    return f"{format_usd(fig['npv_terminal_usd'])} = {npv_terminal_arithmetic(fig)}"


CASH_HELD_LABEL = "NPV with cash held to the end"


def cash_timing_words(fig: dict, whose_npv: str = "of the NPV") -> str:
    """How much of the NPV the timing of its cash makes: the NPV counts each quarter's change in
    cash as paid to equity then, which no treasurer does with cash built up to pay notes later
    (formulation §6). ``whose_npv`` names the NPV it is part of where another is shown beside it."""
    return (f"the NPV counts each quarter's change in cash as paid out then; "
            f"{format_usd(fig['cash_timing_credit_usd'])} {whose_npv} comes from that timing: formulation §6")


# the same plan's NPV at the model's rate less and plus this many points a year (a sensitivity of
# the valuation, not of the plan: a plan solved at another rate is another plan)
RATE_STEP = 0.05


OTHER_RATES_LABEL = "NPV at other discount rates (this plan)"


def npv_at_rate(data: ModelData, st: Statements, rate_annual: float) -> float:
    """The plan's NPV with its equity cash flows and terminal equity discounted at ``rate_annual``
    instead of the model's rate, USD: sum_t flow_t (1 + r)^-(t+1)/4 + the same factor of the last
    quarter x the terminal equity (``npv_terminal_usd`` / DF_{T-1}): the formula of §6 at r."""
    factors = discount_factors(rate_annual, data.T)
    terminal_equity = st.npv_terminal_usd / data.discount[-1]
    return float(np.dot(st.lines["equity_cash_flow_usd"], factors) + factors[-1] * terminal_equity)


def npv_at_other_rates(data: ModelData, st: Statements) -> dict[str, float]:
    """The plan's NPV at the model's rate less and plus :data:`RATE_STEP` (not below 0), keyed by
    the rate in percent, to four significant digits ("10%", "20%"; "7.5%" at a model rate of 12.5 %)."""
    rate = data.discount_rate_annual
    rates = sorted({max(0.0, rate - RATE_STEP), rate + RATE_STEP})
    return {format_rate(r): npv_at_rate(data, st, r) for r in rates}


def other_rates_words(fig: dict) -> str:
    """'$24.1B at 10% a year, $14.9B at 20%' (n/a for a run written before the figure existed)."""
    other = fig.get("npv_at_other_rates_usd")
    if not other:
        return "n/a (a run written before fleetopt 0.4.10)"
    parts = [f"{format_usd(v)} at {k}" for k, v in other.items()]
    return " a year, ".join(parts) + " a year"


def cash_held_words(fig: dict) -> str:
    """The NPV with the cash kept to the end, and :func:`cash_timing_words`."""
    return f"{format_usd(fig['npv_cash_held_usd'])} ({cash_timing_words(fig)})"


def cash_timing_credit(data: ModelData, equity_flows: np.ndarray) -> float:
    """What the NPV gains by counting each quarter's change in cash as paid to equity that quarter
    rather than kept until the horizon's end: sum_t (cash_t - cash_t-1) (DF_t - DF_T-1), USD
    (docs/formulation.md §6; a plan that borrows to hold cash is credited with the difference)."""
    return float(np.dot(equity_flows, data.discount - data.discount[-1]))
