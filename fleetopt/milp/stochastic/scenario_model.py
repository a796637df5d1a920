"""The model one scenario runs (:func:`scenario_model`): the NPV MILP in diagnosis form, with a
revolver and emergency equity in the cash roll-forward, its GPUs in service powered by the MW
online, and its value (the owners' NPV less tie-breaks and penalties, docs/formulation.md §7b)."""

from __future__ import annotations

import numpy as np
import pyomo.environ as pyo

from fleetopt.core.data import ModelData
from fleetopt.core.economics.operating import mw_per_gpu
from fleetopt.core.quarters import per_quarter
from fleetopt.milp.build import SLACKS, build_model
from fleetopt.milp.finance import equity_npv, tie_breaks
from fleetopt.milp.stochastic.debt_rows import add_owing_nothing
from fleetopt.milp.stochastic.first_stage import FirstStage
from fleetopt.milp.stochastic.rescue import (
    BORROWING_BASE,
    CASH_CURED,
    EMERGENCY_EQUITY_COST,
    IDLE_DRAW_PENALTY,
    PHYSICAL_PENALTY,
    revolver_penalty,
)
from fleetopt.milp.units import MUSD, to_model_units


def scenario_model(
    data: ModelData,
    stage: FirstStage,
    integer_later: bool = False,
    equity_cost: float = EMERGENCY_EQUITY_COST,
) -> pyo.ConcreteModel:
    """The model one scenario runs: the NPV MILP in diagnosis form (penalised slacks), with a revolver
    and emergency equity in the cash roll-forward, and its value as ``scenario_value``.

    ``owner_npv``: the NPV of §6 less the emergency equity the owners put in (the revolver balance
    left at the end is debt). ``scenario_value``: ``owner_npv`` less the forecast objective's
    tie-breaks, ``equity_cost`` per MUSD of emergency equity and the physical and covenant slacks
    at their penalties. With
    ``integer_later`` False, purchases and power blocks outside the first ``stage`` are continuous.
    """
    m = build_model(data, "npv", relax=True, recourse=True)
    m.objective.deactivate()
    for idx in m.SLACK:
        if idx[0] in CASH_CURED:
            m.slack[idx].fix(0.0)
    _add_rescue(m, data)
    add_owing_nothing(m, data)
    mw = mw_per_gpu(data)  # (S, I), once for every row
    m.in_service_power = pyo.Constraint(
        range(data.I), m.T, rule=lambda m, i, t: _in_service_power_rule(m, mw, i, t)
    )
    _let_idle_draw_wait_for_late_blocks(m, data)
    if not integer_later:
        for name in ("buy", "build"):
            for key, var in getattr(m, name).items():
                if not stage.holds(name, key):
                    var.domain = pyo.NonNegativeReals
    _add_scenario_value(m, data, equity_cost)
    return m


def _add_rescue(m: pyo.ConcreteModel, data: ModelData) -> None:
    """The revolver (drawn and repaid within its size) and emergency equity, in the cash
    roll-forward (interest on the revolver: not tax-deductible)."""
    m.rescue_equity = pyo.Var(m.T, domain=pyo.NonNegativeReals)
    limit = data.revolver_usd / MUSD
    m.revolver_draw = pyo.Var(m.T, domain=pyo.NonNegativeReals)
    m.revolver_repay = pyo.Var(m.T, domain=pyo.NonNegativeReals)
    m.revolver_balance = pyo.Var(m.T, bounds=(0.0, limit))
    rate = per_quarter(data.revolver_rate_annual)

    def before(t):
        return m.revolver_balance[t - 1] if t > 0 else 0.0

    m.revolver_flow = pyo.Constraint(
        m.T,
        rule=lambda m, t: m.revolver_balance[t] == before(t) + m.revolver_draw[t] - m.revolver_repay[t],
    )
    for t in range(data.T):
        row = m.cash_flow[t]
        lhs, rhs = row.expr.args
        extra = m.rescue_equity[t] + m.revolver_draw[t] - m.revolver_repay[t] - rate * before(t)
        row.set_value(lhs == rhs + extra)


def _add_scenario_value(m: pyo.ConcreteModel, data: ModelData, equity_cost: float) -> None:
    """``owner_npv``, ``tie_break``, ``penalty`` and ``scenario_value`` (:func:`scenario_model`)."""
    T, df = data.T, data.discount
    # prepayments not yet earned at the end are owed like debt (§6), as in the forecast objective
    debt_end = sum(m.balance[f, T - 1] for f in m.F) + m.revolver_balance[T - 1] + m.deferred_revenue_end
    cash_npv = equity_npv(m, df, to_model_units(data.opening_cash), debt_end)
    m.owner_npv = pyo.Expression(expr=cash_npv - sum(df[t] * m.rescue_equity[t] for t in range(T)))
    # the same tie-breaks as the forecast objective (§5.9, §5.10): in the value, not in the NPV reported
    m.tie_break = pyo.Expression(expr=tie_breaks(m, data))
    penalties = [_collateral_cure(m, data, equity_cost)]
    for idx in m.SLACK:
        if idx[0] in CASH_CURED or idx[0] == BORROWING_BASE:
            continue
        unit = SLACKS[idx[0]].unit
        penalties.append(PHYSICAL_PENALTY.get(unit, 1.0 + equity_cost) * m.slack[idx])
    penalties.append(IDLE_DRAW_PENALTY * sum(m.idle_unpowered.values()))
    revolver = revolver_penalty(T, equity_cost) * sum(df[t] * m.revolver_balance[t] for t in range(T))
    m.penalty = pyo.Expression(
        expr=equity_cost * sum(df[t] * m.rescue_equity[t] for t in range(T)) + revolver + sum(penalties)
    )
    m.scenario_value = pyo.Expression(expr=m.owner_npv - m.tie_break - m.penalty)


def _collateral_cure(m: pyo.ConcreteModel, data: ModelData, equity_cost: float):
    """The borrowing base's cure, charged once (§7b "Recourse"): repaying ``max_ltv`` USD per USD of
    collateral missing cures the base in its quarter and in every later one (a prepayment shortens no
    instalment, §5.9), so a copy whose shortfalls are s_t repays max_ltv x max_t s_t in all, at the
    cure price (1 + ``equity_cost``) per USD. ``collateral_repaid`` (MUSD of collateral, >= 0) is the
    largest shortfall so far: at least s_t and at least its value the quarter before. Charged per
    quarter at 11 per USD of collateral (until 2026-12-07), a shortfall lasting four quarters cost
    4 / max_ltv times that repayment. With several secured
    facilities, the smallest ``max_ltv`` (a USD repaid there frees the most collateral), whether or
    not that facility is owed then (a simplification)."""
    quarters = {idx[1] for idx in m.SLACK if idx[0] == BORROWING_BASE}
    if not quarters:
        return 0.0
    ltv = min(fac.max_ltv for fac in data.facilities if fac.max_ltv is not None)
    m.collateral_repaid = pyo.Var(m.T, domain=pyo.NonNegativeReals)

    m.collateral_repaid_grows = pyo.Constraint(
        range(1, data.T), rule=lambda m, t: m.collateral_repaid[t] >= m.collateral_repaid[t - 1]
    )
    m.collateral_repaid_covers = pyo.Constraint(
        sorted(quarters), rule=lambda m, t: m.collateral_repaid[t] >= m.slack[BORROWING_BASE, t]
    )
    return (1.0 + equity_cost) * ltv * m.collateral_repaid[data.T - 1]


def _in_service_power_rule(m: pyo.ConcreteModel, mw: np.ndarray, i: int, t: int):
    r"""\sum_{u,s} μ_{s,i} a_{u,s,i,t} <= online_{i,t} (``mw``: μ, MW per GPU by SKU and site): GPUs
    in service at site i draw no more than its MW online in the scenario, with no slack (idle draw
    may wait for a late block: ``idle_unpowered``, §7b)."""
    terms = [(u, s) for u in (0, 1) for s in range(m.data.S) if (u, s, i, t) in m.ACT]
    drawn = sum(mw[s, i] * m.in_service[u, s, i, t] for u, s in terms)
    if isinstance(drawn, (int, float)):
        return pyo.Constraint.Skip
    return drawn <= m.online_mw[i, t]


def _let_idle_draw_wait_for_late_blocks(m: pyo.ConcreteModel, data: ModelData) -> None:
    r"""Each site's power row gains ``idle_unpowered`` (MW, >= 0): drawn - u <= online + slack, with
    u at most the MW of its blocks late in the scenario, M_i \sum_{τ: τ+ℓ_i<=t} w_{i,τ} (1 - on_{i,τ,t}),
    linear in the builds (on: the scenario parameter ``block_online``). With ``in_service_power`` it
    can only be idle draw, and only where a block is late; on time, the power row holds as in §5.6."""
    m.idle_unpowered = pyo.Var(range(data.I), m.T, domain=pyo.NonNegativeReals)

    def late_mw(m, i, t):
        site = data.sites[i]
        late = [m.build[i, tau] * (1 - m.block_online[i, tau, t])
                for tau in site.build_quarters if tau + site.lead_time <= t]  # fmt: skip
        if not late:
            return m.idle_unpowered[i, t] == 0.0
        return m.idle_unpowered[i, t] <= site.block_mw * sum(late)

    m.late_mw_cap = pyo.Constraint(range(data.I), m.T, rule=late_mw)
    for (i, t), row in m.power.items():
        lhs, rhs = row.expr.args
        # its electricity is still paid (§5.7 on the drawn MW): a credit for it would make u worth
        # raising to its cap, past the draw left unpowered, where u <= max(0, drawn - online) is not linear
        row.set_value(lhs - m.idle_unpowered[i, t] <= rhs)

