"""A plan's statements: the roll-forward of cash and debt through the horizon, the NPV's two parts,
and the quarterly statements of one plan on the forecast (:func:`plan_statements`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from fleetopt.core.covenants import statement_quantities
from fleetopt.core.data import ModelData
from fleetopt.core.economics.debt import (
    FinanceState,
    Financing,
    collateral_required,
    scheduled_principal,
)
from fleetopt.core.economics.operating import (
    deferred_revenue_end,
    operating_lines,
    terminal_assets,
    terminal_fleet_book,
)
from fleetopt.core.economics.quarter_finance import (
    finance_step,
)
from fleetopt.core.economics.taxes import liquidation_tax
from fleetopt.core.plan import Plan


def roll_forward(
    fin: Financing,
    ebitda: Any,
    depreciation: Any,
    gain: Any,
    investing: Any,
    draws: Any,
    prepay: Any,
    rate_shift: Any = 0.0,
    xp: Any = np,
) -> dict[str, Any]:
    """Carry cash and debt through the horizon, keeping every quarter's lines.

    ``ebitda``, ``depreciation``, ``gain``, ``investing`` and ``rate_shift`` are (..., T);
    ``draws`` and ``prepay`` are (..., F, T). Returns (..., T) arrays of every financing line, of
    the collateral the GPU-secured balances need (``collateral_required_usd``), of the taxable
    income before the floor at 0 (``taxable_income_usd``: the tax's basis, with the losses carried
    in), and the balances by facility (..., F, T).
    """
    T = ebitda.shape[-1]
    batch = ebitda.shape[:-1]
    sched = scheduled_principal(fin, draws, xp)
    shift = xp.broadcast_to(xp.asarray(rate_shift, dtype=xp.float64), (*batch, T))
    state = FinanceState.opening(fin, batch, xp)
    out: dict[str, Any] = {}
    balances, collateral, taxable = [], [], []
    for t in range(T):
        step = finance_step(
            fin, state, t, ebitda[..., t], depreciation[..., t], gain[..., t], investing[..., t],
            draws[..., t], prepay[..., t], sched[..., t], shift[..., t], xp,
        )  # fmt: skip
        for name, value in step.lines().items():
            out.setdefault(name, []).append(value)
        balances.append(state.balance)
        collateral.append(collateral_required(fin, state.balance, xp))
        taxable.append(step.taxable)
    rolled = {name: xp.stack(values, axis=-1) for name, values in out.items()}
    rolled["balance_by_facility_usd"] = xp.stack(balances, axis=-1)
    rolled["collateral_required_usd"] = xp.stack(collateral, axis=-1)
    rolled["taxable_income_usd"] = xp.stack(taxable, axis=-1)
    return rolled


def npv_parts(
    data: ModelData, cash: Any, debt_end: Any, terminal_assets: Any, opening_cash: float, xp: Any = np
) -> tuple[Any, Any]:
    """The two parts of the NPV, USD: the equity cash flows (the change in cash each quarter,
    discounted), and the terminal equity (``terminal_assets``, after the tax of their sale, less
    ``debt_end``, everything owed at the end) discounted by the last quarter's factor."""
    prev = xp.concatenate([xp.full((*cash.shape[:-1], 1), opening_cash), cash[..., :-1]], axis=-1)
    discount = xp.asarray(data.discount)
    return ((cash - prev) * discount).sum(axis=-1), discount[-1] * (terminal_assets - debt_end)


@dataclass
class Statements:
    """Quarterly statements of one plan under the forecast, with headline figures."""

    lines: dict[str, np.ndarray]
    npv_usd: float
    terminal_assets_usd: float  # fleet at net realisable value plus power plant at book, before tax
    liquidation_tax_usd: float  # tax on the fleet's sale at the end (negative: a credit)
    owed_end_usd: float  # debt and customer prepayments not yet earned, at the end
    npv_terminal_usd: float  # the NPV's terminal equity part (npv_parts), present value

    def __repr__(self) -> str:  # a notebook shows this, not every line's array
        T = len(self.lines["cash_usd"])
        return (f"Statements({T} quarters, NPV {self.npv_usd:,.0f} USD, {len(self.lines)} lines: "
                ".lines['cash_usd'] ..., .frame(quarter_labels) or SolveResult.statements_frame() "
                "for a table)")  # fmt: skip

    @property
    def npv_quarters_usd(self) -> float:
        """The NPV's other part: the equity cash flows of the quarters, present value."""
        return self.npv_usd - self.npv_terminal_usd

    def frame(self, quarter_labels: list[str]):
        import pandas as pd

        df = pd.DataFrame({k: v for k, v in self.lines.items() if np.ndim(v) == 1})
        df.insert(0, "quarter", quarter_labels)
        return df


def forecast_roll_forward(data: ModelData, plan: Plan, lines: dict, with_revolver: bool = False) -> dict:
    """:func:`roll_forward` of a plan's operating ``lines`` (:func:`operating_lines`) on the forecast:
    one plan, or a stack (every line then has a leading plan axis)."""
    return roll_forward(
        Financing.from_data(data, with_revolver=with_revolver),
        lines["ebitda_usd"],
        lines["depreciation_gpu_usd"] + lines["depreciation_power_usd"],
        lines["gain_on_disposal_usd"],
        # cash out besides operations, interest, tax and debt: the contracts' payments come in here
        lines["capex_gpu_usd"]
        + lines["capex_power_usd"]
        - lines["disposal_proceeds_usd"]
        - lines["contract_payments_usd"],
        plan.draws,
        plan.prepay,
    )


def _add_lines(lines: dict[str, np.ndarray], new: dict[str, np.ndarray]) -> None:
    """Add statement lines, refusing a name already there: a line named after a facility, site or
    contract must never replace another line (a facility `service` replaced `debt_service_usd`)."""
    repeated = sorted(set(lines) & set(new))
    assert not repeated, f"statement lines written twice: {repeated}"
    lines.update(new)


def plan_statements(data: ModelData, plan: Plan, with_revolver: bool = False) -> Statements:
    """Price a plan under the model's own forecast: operating lines, then the roll-forward."""
    lines = operating_lines(data, plan)
    rolled = forecast_roll_forward(data, plan, lines, with_revolver)
    placed_below = ("balance_by_facility_usd", "collateral_required_usd", "taxable_income_usd")
    _add_lines(lines, {k: v for k, v in rolled.items() if k not in placed_below})
    balances = rolled["balance_by_facility_usd"]
    _add_lines(
        lines, {f"debt_facility_{fac.name}_usd": balances[..., f, :] for f, fac in enumerate(data.facilities)}
    )
    _add_lines(lines, {
        "equity_cash_flow_usd": np.diff(np.concatenate([[data.opening_cash], lines["cash_usd"]])),
        "collateral_value_usd": lines["fleet_resale_value_usd"],
        "collateral_required_usd": rolled["collateral_required_usd"],
    })  # fmt: skip
    quantities = statement_quantities(lines, data.covenant_window)
    # every covenant ratio, tested or not, on the covenants' EBITDA period
    # (the DSCR on the model's cash flow, dscr_cash_flow)
    ratios = {kind.ratio_line: kind.ratio(quantities) for kind in data.covenant_kinds if kind.ratio_line}
    _add_lines(lines, ratios)
    fleet, power = terminal_assets(data, plan)
    gain = fleet - terminal_fleet_book(data, plan)
    tax_end = float(liquidation_tax(rolled["taxable_income_usd"][..., -1], gain, data.tax_rate))
    owed_end = float(lines["debt_usd"][-1] + deferred_revenue_end(data, plan))
    flows, terminal = npv_parts(data, lines["cash_usd"], owed_end, fleet + power - tax_end, data.opening_cash)
    return Statements(lines, float(flows + terminal), fleet + power, tax_end, owed_end, float(terminal))
