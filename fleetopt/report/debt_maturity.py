"""A plan's debt maturity profile: each facility's scheduled principal by year, in the horizon and
after it until the balance left at its end is repaid, by the facility's own terms (docs/formulation.md
§5.9) and the plan's draws and prepayments."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from fleetopt.core.covenants import TOLERANCE_USD
from fleetopt.core.data import FacilityData, ModelData
from fleetopt.core.economics.debt import principal_schedule, repaid_from
from fleetopt.core.plan import Plan
from fleetopt.core.quarters import calendar_year, parse_quarter, quarter_label

IN_HORIZON, AFTER_HORIZON = "in the horizon", "after the horizon"
# a refinanced bullet's balance: the new bullet matures after the horizon, on no date the model gives
UNDATED = "refinanced in it: no maturity modelled"
ALL_FACILITIES = "all facilities"


def maturity_frame(data: ModelData, plan: Plan) -> pd.DataFrame:
    """A row per calendar year (``year``, ``when``: in the horizon or after it; the horizon's last
    year split in two where it ends within it), a column per facility that repays anything, and
    ``all facilities``: the scheduled principal paid in it, USD. After the horizon each facility goes
    on repaying its schedule until the balance left at the horizon's end is paid (a prepayment retires
    the last instalments, each paid in full while the balance lasts, as ``repaid_from`` pays them), so
    the rows after it add up to the debt at its end; a refinanced bullet's balance is a last row,
    undated. Empty where no facility repays anything."""
    paid, undated = {}, {}
    for f, fac in enumerate(data.facilities):
        by_quarter, left = _repaid_by_quarter(fac, plan.draws[f], plan.prepay[f], data.T)
        if by_quarter.sum() + left > TOLERANCE_USD:
            paid[fac.name], undated[fac.name] = by_quarter, left
    if not paid:
        return pd.DataFrame()
    quarters = max(_last_paid(by_quarter) for by_quarter in paid.values()) + 1
    start = parse_quarter(data.quarter_labels[0])
    shown = range(max(quarters, data.T))
    frame = pd.DataFrame({
        "year": [calendar_year(quarter_label(start + t)) for t in shown],
        "when": [IN_HORIZON if t < data.T else AFTER_HORIZON for t in shown],
        **{name: _padded(by_quarter, len(shown)) for name, by_quarter in paid.items()},
    })  # fmt: skip
    frame = frame.groupby(["year", "when"], sort=False).sum()
    if sum(undated.values()) > TOLERANCE_USD:
        frame.loc[("no date", f"{AFTER_HORIZON}, {UNDATED}"), :] = list(undated.values())
    frame[ALL_FACILITIES] = frame.sum(axis=1)
    return frame.reset_index()


def _repaid_by_quarter(fac: FacilityData, draws: np.ndarray, prepay: np.ndarray, T: int) -> tuple[np.ndarray, float]:
    """The facility's scheduled principal paid in each quarter from the horizon's start until the
    plan's balance is repaid, and the balance no schedule repays (a refinanced bullet's)."""
    quarters = T + (fac.amortization_quarters or 0) + max(0, (fac.maturity or 0) + 1 - T)
    opening, from_draws = principal_schedule(_due_at_maturity(fac, T), quarters)
    drawn = np.zeros(quarters)
    drawn[:T] = draws
    scheduled = opening + drawn @ from_draws
    balance, paid = fac.opening_usd, np.zeros(quarters)
    for t in range(quarters):
        paid[t], _, balance = repaid_from(balance + drawn[t], scheduled[t], prepay[t] if t < T else 0.0)
    return paid, float(balance)


def _due_at_maturity(fac: FacilityData, T: int) -> FacilityData:
    """A bullet maturing after the horizon is due then, refinanced or not (its refinancing is a new
    loan); one refinanced inside it stays as it is: its new bullet's maturity is not in the model."""
    if fac.refinanced and fac.maturity is not None and fac.maturity >= T:
        return dataclasses.replace(fac, refinanced=False)
    return fac


def _padded(by_quarter: np.ndarray, quarters: int) -> np.ndarray:
    """``by_quarter`` cut or padded with zeros to ``quarters``: the facilities' schedules differ in length."""
    out = np.zeros(quarters)
    out[: min(quarters, len(by_quarter))] = by_quarter[:quarters]
    return out


def _last_paid(by_quarter: np.ndarray) -> int:
    """The last quarter (from the horizon's start) in which something is repaid; -1 where none is."""
    some = np.flatnonzero(by_quarter > TOLERANCE_USD)
    return int(some[-1]) if some.size else -1
