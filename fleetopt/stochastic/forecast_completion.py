"""The first stage completed into a full plan on the forecast (the forecast MILP, or the rescue
model), and the forecast's hard limits a completed plan breaks (docs/formulation.md §7b)."""

from __future__ import annotations

import numpy as np

from fleetopt.core.covenants import statement_quantities
from fleetopt.core.data import ModelData
from fleetopt.core.economics.policy_balances import LIQUIDITY_TOLERANCE_USD
from fleetopt.core.economics.statements import plan_statements
from fleetopt.core.plan import Plan
from fleetopt.core.units import format_usd
from fleetopt.errors import NoPlanError
from fleetopt.milp.highs import stage
from fleetopt.milp.stochastic.first_stage import FirstStage
from fleetopt.milp.stochastic.fixed_first_stage import complete_with_rescue, solve_with_first_stage
from fleetopt.stochastic.settings import SolverSettings


def complete_plan(
    data: ModelData, shared: FirstStage, first_stage: dict, solver: SolverSettings
) -> tuple[Plan, dict]:
    """The first stage completed into a full plan on the forecast: by the forecast MILP with the
    first stage fixed, or, where that is infeasible, by the rescue model (and how it was done)."""
    gap, limit, threads = solver.mip_gap, solver.time_limit, solver.threads
    with stage("the plan's first stage completed on the forecast", called="NPV"):
        completed = solve_with_first_stage(
            data, shared, first_stage, mip_gap=gap, time_limit=limit, threads=threads
        )
    if completed is not None:
        plan = completed.plan
        completion = {"method": "forecast MILP", "npv_forecast_usd": completed.npv_usd}
    else:
        rescued = complete_with_rescue(data, shared, first_stage, gap, limit, threads)
        if rescued is None:
            quarters = shared.quarters
            before = f" before {data.quarter_labels[quarters]}" if quarters < data.T else ""
            shared_later = bool(shared.whole_horizon) and quarters < data.T
            later = ", with every later purchase, power block and draw" if shared_later else ""
            or_unshared = ", without --share-purchases" if shared_later else ""
            raise NoPlanError(
                f"the first stage chosen over the scenarios (its commitments{before}{later}) cannot be "
                "completed on the forecast without drawing more power than its sites have online, even "
                "with its finance limits rescued: the scenarios' solves relaxed power or contracts (their "
                "rows' slacks) to fit it. Try more scenarios (--stochastic N), fewer first-stage quarters "
                f"(--first-stage-quarters){or_unshared}, or the forecast's own plan (fleetopt solve)"
            )
        plan, row = rescued
        completion = {"method": "forecast with rescue", "npv_forecast_usd": row["npv_usd"], "rescue": row}
    completion["limits_broken"] = forecast_limits_broken(data, plan)
    return plan, completion


def rescued_completion(data: ModelData, plan: Plan, row: dict) -> dict:
    """The completion of purchases people fixed by the rescue model (`fleetopt solve --purchases
    FILE --rescue`): ``row``, the forecast's rescue, and the limits the plan breaks, as
    :func:`complete_plan` reports a stochastic plan completed so."""
    return {"method": "the rescue model, the purchases fixed", "rescue": row,
            "limits_broken": forecast_limits_broken(data, plan)}  # fmt: skip


def forecast_limits_broken(data: ModelData, plan: Plan) -> list[dict]:
    """The forecast's hard limits the plan breaks on its own forecast statements (no revolver, as
    the forecast MILP holds them): cash below ``finance.min_cash_usd`` and each covenant test
    (the borrowing base included) missed by more than 1 USD, each with its quarters. Empty for a
    plan the forecast MILP completed; a plan completed with the rescue breaks some (§7b)."""
    statements = plan_statements(data, plan)
    labels = data.quarter_labels
    cash = statements.lines["cash_usd"]
    low = cash < data.min_cash - LIQUIDITY_TOLERANCE_USD
    out = []
    if low.any():
        out.append({
            "limit": f"cash >= min cash {format_usd(data.min_cash)}",
            "quarters": [labels[t] for t in np.flatnonzero(low)],
            "lowest_usd": float(cash[low].min()),
        })  # fmt: skip
    quantities = statement_quantities(statements.lines, data.covenant_window)
    for test in data.covenants:
        missed = np.asarray(test.breached(quantities)) & test.tested
        if missed.any():
            out.append({"limit": test.describe(), "quarters": [labels[t] for t in np.flatnonzero(missed)]})
    return out
