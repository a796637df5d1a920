"""Two-stage stochastic programme over the fleet MILP: the extensive form (docs/formulation.md §7b).

One scenario model is built once (:func:`scenario_model`: the MILP in diagnosis form, every soft
row with a penalised slack, plus a revolver and emergency equity in the cash roll-forward so that
every scenario is feasible), then cloned once per scenario; each clone gets its scenario through
the mutable parameters of :func:`fleetopt.milp.fleet.add_stress_parameters`. The first-stage
decisions (dated before quarter Q, and every contract acceptance) are tied across the clones by
non-anticipativity rows; the objective is (1 - L) x expected value + L x CVaR_A (Rockafellar-Uryasev).

Everything here is in model units (MUSD) until :class:`StochasticResult` reports USD. This module
knows nothing of the evaluator: a scenario arrives as :class:`ScenarioInputs` (fleetopt/stochastic/
maps the evaluator's scenarios onto them).
"""

from __future__ import annotations

import enum
import time
from dataclasses import dataclass, field

import numpy as np
import pyomo.environ as pyo

from fleetopt.core.covenants import CATALOGUE, FLOWS, TOLERANCE_USD
from fleetopt.core.data import ModelData
from fleetopt.core.economics.operating import mw_per_gpu
from fleetopt.core.economics.statements import plan_statements
from fleetopt.core.plan import Plan
from fleetopt.core.quarters import per_quarter
from fleetopt.core.tail import TAIL
from fleetopt.core.units import H100_EQ_GPUS, counted
from fleetopt.milp.build import SLACKS, build_model
from fleetopt.milp.covenants import STRESS_KINDS, cures_stress_covenant, end_of_quarter, slack_index
from fleetopt.milp.diagnose import model_limit_words
from fleetopt.milp.ef_highs import BlockSolver, group_sizes, tied_to
from fleetopt.milp.finance import equity_npv, tie_breaks
from fleetopt.milp.highs import DEFAULT_MIP_GAP, gap_to_bound, model_size, stops_kept
from fleetopt.milp.solve import NoPlanFound, SolveResult, extract_plan, raise_without_plan, solve_settled
from fleetopt.milp.units import MUSD, from_model_units, output_unit, to_model_units

# decisions dated by their last index; those before quarter Q are first stage (non-anticipative)
DATED_FIRST_STAGE = ("buy", "buy_training", "build", "redeploy", "retire_tr", "retire_in", "draw", "prepay")
# the families --share-purchases makes first stage in every quarter: GPU blocks bought, power blocks
# started and debt drawn, which the evaluator runs as the plan dates them (its policy only defers an
# order, and the draws that fund it); the GPUs' training split, redeployments, retirements, prepayments
# (which the policy cuts) and the revolver stay each copy's own after quarter Q (formulation §7b)
SHARED_PURCHASES = ("buy", "build", "draw")
# each USD of emergency equity costs its amount plus this much NPV (dilution at a distressed price):
# above the value of a USD of cash to any plan, so that equity only ever cures a shortfall
EMERGENCY_EQUITY_COST = 10.0
# the revolver cures a shortfall first: besides its interest, each USD drawn costs the emergency
# equity cost spread over the horizon, equity_cost / T NPV per quarter outstanding (revolver_penalty):
# outstanding over the whole horizon it costs what equity does, so it is the cheaper cure of any
# shortfall shorter than the horizon, and a quarter of it costs more than a USD of cash is worth
# to a plan for a quarter (the equity cost bounds its worth over the horizon). At 0.1 per quarter
# the MILP used it as a bridge: tiny at L = 0.5 drew $4.61M in 2026Q3 in every scenario alongside
# a $12.07M prepayment (formulation §7b)
# penalty per unit of a physical slack, MUSD: a MW-quarter drawn beyond what is online (power), or
# would be were every block late (late_power, the robustness test of §5.13), a GPU-quarter of a
# contract delivered short after its deadline (both far above what they could earn)
PHYSICAL_PENALTY = {"MW": 10.0, "GPUs": 0.05, H100_EQ_GPUS: 0.05}
# a scenario's GPUs in service never draw more than its sites have online (in_service_power); the
# idle draw of GPUs held at a site whose block is late may go unpowered (idle_unpowered), up to the
# MW that are late: GPUs waiting for their data hall, which cost nothing beyond the revenue they do
# not earn (as in the evaluator, evaluation.md quarter step 1). A MW-quarter of it costs this much
# (MUSD), a tie-break. Before 0.4.13 the power slack, at the MW penalty, also powered GPUs in
# service, more cheaply than a contract delivered short: late_greenfield at N = 4 served its
# contract on 0.21-10.21 MW that did not exist in every scenario
IDLE_DRAW_PENALTY = 0.01
# slacks the emergency equity cures in cash (held at 0: the cash itself must keep the floor)
CASH_CURED = ("min_cash", "liquidity_covenant")
# slacks that cure a covenant or the borrowing base: the evaluator calls the scenario a breach (every
# covenant group of the catalogue but the cash ones, so a new kind of covenant is cured as the others)
COVENANT_CURED = tuple(dict.fromkeys(k.group for k in CATALOGUE if k.group not in CASH_CURED))
RESCUE_TOLERANCE_USD = 1.0
BORROWING_BASE = "borrowing_base"  # its cure is charged once, not per quarter (_collateral_cure)
# the slacks of the MW a site has online: no completion of a plan draws more (a plan file may not)
POWER_SLACKS = ("power", "late_power")
# the limits a rescue of fixed purchases may cure: finance only (no MW or GPU that does not exist)
FINANCE_CURED = CASH_CURED + COVENANT_CURED
# the covenant groups on debt, and their stress rows (§5.13), by their kind: where a scenario copy owes
# none of the quantity whose absence means no lender tests the kind (§5.11: its `applies_when`, as the
# model tests it, :func:`owed`), its row is not charged (:meth:`ExtensiveForm.solve`)
DEBT_KINDS = {k.group: k for k in CATALOGUE if k.needs_debt} | {
    group: k for group, k in STRESS_KINDS.items() if k.needs_debt
}


def cures_covenant(idx: tuple) -> bool:
    """Whether the slack ``m.slack[idx]`` cures a covenant or the borrowing base (COVENANT_CURED), or
    a stress covenant row (§5.13, the groups of STRESS_KINDS, cured by the ``robustness`` slack)."""
    return idx[0] in COVENANT_CURED or cures_stress_covenant(idx)


def rescuable(diagnosis: list[dict]) -> bool:
    """Whether an infeasible solve's conflict (its diagnosis) is of finance limits alone (cash,
    covenants, the borrowing base), which a rescue cures; not power, contracts or the fleet."""
    return bool(diagnosis) and all(entry["group"] in FINANCE_CURED for entry in diagnosis)


def names_finance_limit(diagnosis: list[dict]) -> bool:
    """Whether an infeasible solve's conflict names a finance limit, which a rescue cures: its
    message offers the rescue, and asked for (`--rescue`) the rescue is tried, whatever else the
    conflict names (power or a contract short may be only the diagnosis's cheapest way around a
    covenant: only the rescue itself tells); it holds the others."""
    return bool({entry["group"] for entry in diagnosis} & set(FINANCE_CURED))


@dataclass
class ScenarioInputs:
    """One scenario in MILP terms; None leaves a factor at the forecast."""

    name: str
    probability: float
    price_by_generation: np.ndarray | None = None  # (G, T) multiplier on market prices
    demand_scale: np.ndarray | None = None  # (2, T) multiplier on market demand by use
    contract_alive: np.ndarray | None = None  # (K, T) 1 while the customer has not defaulted
    block_delay: np.ndarray | None = None  # (I, T) extra quarters of a block started at i in tau
    rate_shift: np.ndarray | None = None  # (T,) change of the floating reference rate, annual
    spread_shift: np.ndarray | None = None  # (T,) change of the spread of refinanced bullets, annual
    electricity: np.ndarray | None = None  # (T,) multiplier on electricity prices
    resale: np.ndarray | None = None  # (T,) multiplier on resale values (proceeds, terminal, collateral)


def apply_scenario(m: pyo.Block, data: ModelData, sc: ScenarioInputs) -> None:
    """Set the scenario parameters of one (scenario) model to ``sc``."""
    for (g, t), p in m.generation_price.items():
        p.set_value(1.0 if sc.price_by_generation is None else float(sc.price_by_generation[g, t]))
    for (u, t), p in m.demand_scale.items():
        p.set_value(1.0 if sc.demand_scale is None else float(sc.demand_scale[u, t]))
    for (k, t), p in m.contract_alive.items():
        p.set_value(1.0 if sc.contract_alive is None else float(sc.contract_alive[k, t]))
    for (i, tau, t), p in m.block_online.items():
        delay = 0 if sc.block_delay is None else int(sc.block_delay[i, tau])
        p.set_value(1.0 if t >= tau + data.sites[i].lead_time + delay else 0.0)
    for t, p in m.rate_shift.items():
        p.set_value(0.0 if sc.rate_shift is None else float(sc.rate_shift[t]))
    for t, p in m.spread_shift.items():
        p.set_value(0.0 if sc.spread_shift is None else float(sc.spread_shift[t]))
    for t, p in m.electricity_scale.items():
        p.set_value(1.0 if sc.electricity is None else float(sc.electricity[t]))
    during, end = cohort_resale_scale(data, sc.resale)
    for (c, t), p in m.resale_scale.items():
        p.set_value(float(during[c, t]))
    for c, p in m.terminal_resale_scale.items():
        p.set_value(float(end[c]))
    # the collateral at the scenario's resale level, uncapped: the evaluator's borrowing base values
    # every GPU held so (docs/evaluation.md, quarter step 6), whatever the cap on a sale's proceeds
    for t, p in m.collateral_scale.items():
        p.set_value(1.0 if sc.resale is None else float(sc.resale[t]))


def cohort_resale_scale(data: ModelData, resale: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """(C, T) and (C,) each cohort's resale factor on a sale in quarter t and at the horizon's end: the
    scenario's ``resale`` (the end: its last quarter's), capped for a cohort bought in the horizon at
    the factor where its market value reaches its price (price / value in quarter t; at the end, price
    / value then). A copy sees its scenario to the end: uncapped, where resale values rise above a new
    GPU's price it bought GPUs at the forecast's price to sell or hold them at the scenario's (the
    default model's reduced scenario ending at 2.73x bought GPUs no site could power). The opening
    fleet is not capped: no recourse buys more of it. Ones where resale is None (the forecast)."""
    C, T = len(data.cohorts), data.T
    if resale is None:
        return np.ones((C, T)), np.ones(C)
    factor = np.asarray(resale, dtype=np.float64)
    price = np.array([c.capex_per_gpu_usd for c in data.cohorts])[:, None]
    bought = np.array([c.bought >= 0 for c in data.cohorts])[:, None]
    value = np.hstack([data.resale_gross, data.terminal_gross[:, None]])  # (C, T + 1), USD per GPU
    cap = np.divide(price, value, out=np.full(value.shape, np.inf), where=value > 0)
    scale = np.minimum(np.append(factor, factor[-1])[None, :], np.where(bought, cap, np.inf))
    return scale[:, :T], scale[:, T]


@dataclass(frozen=True)
class FirstStage:
    """The decisions every scenario copy shares (§7b, "Stages"): those dated before ``quarters``, every
    contract acceptance, and the families of ``whole_horizon`` (:data:`SHARED_PURCHASES`) in every
    quarter."""

    quarters: int
    whole_horizon: tuple[str, ...] = ()

    def holds(self, name: str, key: tuple) -> bool:
        return key[-1] < self.quarters or name in self.whole_horizon


def first_stage_keys(m: pyo.Block, stage: FirstStage) -> list[tuple[str, object]]:
    """(variable name, index) of every first-stage decision of ``stage``, and every contract
    acceptance."""
    keys = [(name, key) for name in DATED_FIRST_STAGE for key in getattr(m, name) if stage.holds(name, key)]
    return keys + [("accept", k) for k in m.accept]


def first_stage_values(m: pyo.Block, stage: FirstStage) -> dict[tuple[str, object], float]:
    """The solved first-stage decisions of ``m`` (model units; integers rounded)."""
    out = {}
    for name, key in first_stage_keys(m, stage):
        var = getattr(m, name)[key]
        value = 0.0 if var.value is None else float(var.value)
        out[(name, key)] = float(round(value)) if var.is_integer() or var.is_binary() else max(value, 0.0)
    return out


def fix_first_stage(m: pyo.Block, values: dict) -> list:
    """Fix ``m``'s first-stage decisions to ``values``; returns the variables it fixed (those the
    model fixes itself, such as training purchases of an ineligible SKU, are left alone)."""
    fixed = []
    for (name, key), value in values.items():
        var = getattr(m, name)[key]
        if not var.fixed:
            var.fix(value)
            fixed.append(var)
    return fixed


def revolver_penalty(quarters: int, equity_cost: float = EMERGENCY_EQUITY_COST) -> float:
    """NPV per USD of revolver outstanding per quarter, besides its interest: ``equity_cost`` spread
    over the horizon's ``quarters`` (1.25 on tiny's 8 quarters, with the default equity cost)."""
    return equity_cost / quarters


# ----------------------------------------------------------------------------- the scenario model


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
    _add_owing_nothing(m, data)
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


def _add_owing_nothing(m: pyo.ConcreteModel, data: ModelData) -> None:
    """``untested`` (MUSD, >= 0, no cost), a column of every covenant row on debt, fixed at 0: freed
    where the copy is held to owe nothing (:func:`owe_nothing`), it takes the row's place, so that a
    copy that owes no debt (no debt service, no interest) is not charged for a covenant no lender
    tests (§7b): there the row would read EBITDA >= 0.

    ``repayment_cure``, beside each such row: what the copy owes that the row tests (:func:`owed`)
    <= its slack + ``ratio_cured`` (MUSD, >= 0, no cost), free while the row stands; where the copy is
    held to repay instead (:func:`cure_by_repaying`) the row is untested and ``ratio_cured`` fixed at
    0, so that the cure is what repaying that debt costs, no more (with EBITDA below 0 the row's own
    cure exceeds it); where it is held to owe nothing (:func:`owe_nothing`) the slack is fixed at 0
    too: the row reads owed <= 0. No such row where an opening balance is tested, which no copy can
    repay, nor where nothing can be owed.

    Each row is keyed (group, quarter), or (group, case, quarter) for a stress row (§5.13)."""
    rows = [(group, *_flat(idx)) for group in DEBT_KINDS if hasattr(m, group) for idx in getattr(m, group)]
    m.UNTESTED = pyo.Set(initialize=rows, dimen=None, ordered=True)
    m.untested = pyo.Var(m.UNTESTED, domain=pyo.NonNegativeReals)
    m.ratio_cured = pyo.Var(m.UNTESTED, domain=pyo.NonNegativeReals)
    for key in rows:
        m.untested[key].fix(0.0)
        row = _debt_row(m, key)
        lhs, rhs = row.expr.args  # lesser <= greater + slack, as Pyomo holds either sense
        row.set_value(lhs <= rhs + m.untested[key])

    def repayment_cure(m, *key):
        owes = owed(m, data, key)
        if isinstance(owes, Unowed):  # nothing a copy could repay
            return pyo.Constraint.Skip
        return owes <= _cure(m, key) + m.ratio_cured[key]

    m.repayment_cure = pyo.Constraint(m.UNTESTED, rule=repayment_cure)


def _flat(idx) -> tuple:
    """A row's index in its group (the quarter, or (case, quarter)) as a tuple."""
    return idx if isinstance(idx, tuple) else (idx,)


def _row_index(key: tuple):
    """The index in its group of the covenant row on debt ``key`` (a key of ``m.UNTESTED``)."""
    return key[1] if len(key) == 2 else key[1:]


def _debt_row(m: pyo.Block, key: tuple) -> pyo.Constraint:
    return getattr(m, key[0])[_row_index(key)]


def _cure(m: pyo.Block, key: tuple) -> pyo.Var:
    """The slack (cure) of the covenant row on debt ``key``: its own, or a stress row's ``robustness``."""
    return m.slack[slack_index(key[0], _row_index(key))]


class Unowed(enum.Enum):
    """:func:`owed` where it is no quantity of the copy's: where nothing can be owed, or where an
    opening balance is, which no copy can repay."""

    NOTHING = "nothing can be owed"
    OPENING_BALANCE = "an opening balance is owed"


def owed(m: pyo.Block, data: ModelData, key: tuple):
    """What a copy owes that the covenant row on debt ``key`` (a key of ``m.UNTESTED``) tests (MUSD):
    the quantity whose absence means no lender tests the row's kind, as the model tests it (its
    ``applies_when``, §5.11). One held at the end of the row's quarter is that quantity: the debt, or
    with ``leverage_numerator: net_debt`` the debt less the cash (a stress row's: less the cash its
    income shock leaves, §5.13). Debt service and interest, flows, are paid on the balances at the
    start of every quarter of the EBITDA period: their sum; :attr:`Unowed.NOTHING` where none can be
    owed (no facility, or no quarter before), :attr:`Unowed.OPENING_BALANCE` where an opening balance
    is owed then."""
    group, t = key[0], key[-1]
    when = data.covenant_kinds[CATALOGUE.index(DEBT_KINDS[group])].applies_when
    if when not in FLOWS:
        return end_of_quarter(m, when, t, key[1] if len(key) == 3 else None)
    starts = range(max(0, t - data.covenant_window + 1), t + 1)
    if 0 in starts and any(fac.opening_usd > 0 for fac in data.facilities):
        return Unowed.OPENING_BALANCE
    balances = [m.balance[f, q - 1] for q in starts if q > 0 for f in m.F]
    return sum(balances) if balances else Unowed.NOTHING


def owe_nothing(m: pyo.Block, data: ModelData) -> tuple[list, list]:
    """Where a solved copy paid a cure of a covenant on debt while owing nothing that the row tests
    (:func:`owed`, within TOLERANCE_USD), hold it to owe nothing there and free the row's
    ``untested`` column: the row no longer stands. Held by its ``repayment_cure`` row with the cure
    and ``ratio_cured`` fixed at 0 (owed <= 0: the balances at 0, or, net of cash, cash covering the
    debt). A row net of cash is cured by cash too: where the copy's cash exceeds its debt (by more
    than TOLERANCE_USD) and the row binds (:func:`_shortfall`), the cash meets it, that emergency
    equity or the revolver may have raised for it at their penalties. Returns (the variables fixed,
    the columns freed)."""
    fixed, freed = [], []
    tolerance = to_model_units(TOLERANCE_USD)
    for key in m.UNTESTED:  # each group on debt is tested once a quarter (no part), by case if stressed
        owes, cure = owed(m, data, key), _cure(m, key)
        if owes is Unowed.OPENING_BALANCE or not m.untested[key].fixed:
            continue
        owes = 0.0 if owes is Unowed.NOTHING else pyo.value(owes)
        met_by_cash = owes < -tolerance and _shortfall(m, key) >= -tolerance
        if owes <= tolerance and ((cure.value or 0.0) > tolerance or met_by_cash):
            for var in (cure, m.ratio_cured[key]):
                if not var.fixed:
                    var.fix(0.0)
                    fixed.append(var)
            m.untested[key].unfix()
            freed.append(m.untested[key])
    return fixed, freed


def cure_by_repaying(m: pyo.Block, let_go: set) -> tuple[list, list]:
    """Where a solved copy's cure of a covenant on debt exceeds what repaying the debt the row tests
    costs (``repayment_cure``; by more than TOLERANCE_USD: EBITDA below 0, say, where leverage's cure
    is the debt plus 4 x the limit x the EBITDA short), hold the copy to cure by repaying: the row
    untested, its cure that debt. Where one so held would cure the row itself for less (by more than
    TOLERANCE_USD), the row stands again, once (``let_go``: the rows so let go, added to). Returns
    (the rows now held to repay, those let go), as keys of ``m.UNTESTED``."""
    held, released = [], []
    tolerance = to_model_units(TOLERANCE_USD)
    for key in m.repayment_cure:
        cure, ratio_cured, untested = _cure(m, key).value or 0.0, m.ratio_cured[key], m.untested[key]
        if cure <= tolerance:
            continue
        owes = pyo.value(m.repayment_cure[key].expr.args[0])  # what the copy owes that the row tests
        if not ratio_cured.fixed and untested.fixed and cure > owes + tolerance:
            untested.unfix()
            ratio_cured.fix(0.0)
            held.append(key)
        elif ratio_cured.fixed and key not in let_go and _row_cure(m, key) < cure - tolerance:
            untested.fix(0.0)
            ratio_cured.unfix()
            let_go.add(key)
            released.append(key)
    return held, released


def _row_cure(m: pyo.Block, key: tuple) -> float:
    """The cure the covenant row ``key`` itself would need at the solved values (MUSD)."""
    return max(0.0, _shortfall(m, key))


def _shortfall(m: pyo.Block, key: tuple) -> float:
    """By how much the covenant row ``key``'s test, without its cure, is missed at the solved values
    (MUSD; below 0: met with that much room)."""
    lhs, rhs = _debt_row(m, key).expr.args
    slack = (_cure(m, key).value or 0.0) + (m.untested[key].value or 0.0)
    return pyo.value(lhs) - pyo.value(rhs) + slack


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


# ----------------------------------------------------------------------------- the extensive form


def cvar(values: np.ndarray, probabilities: np.ndarray, alpha: float) -> float:
    """CVaR_alpha of a discrete distribution: the probability-weighted mean of its worst alpha share."""
    order = np.argsort(values, kind="stable")
    left, total = alpha, 0.0
    for n in order:
        take = min(left, probabilities[n])
        total += take * values[n]
        left -= take
        if left <= 1e-15:
            break
    return total / alpha


@dataclass
class ExtensiveForm:
    """The built extensive form: one block per scenario, non-anticipativity, the risk objective."""

    m: pyo.ConcreteModel
    data: ModelData
    scenarios: list[ScenarioInputs]
    stage: FirstStage
    risk_weight: float
    alpha: float
    build_seconds: float
    _fixed: list = field(default_factory=list, repr=False)
    _held: list = field(default_factory=list, repr=False)  # cures and ratio_cured owe_nothing fixed at 0
    _freed: list = field(default_factory=list, repr=False)  # untested columns it freed
    _repaying: list = field(default_factory=list, repr=False)  # (block, row) cure_by_repaying held
    _let_go: dict = field(default_factory=dict, repr=False)  # rows it let stand again, by scenario
    _highs: BlockSolver | None = field(default=None, repr=False)
    load_seconds: float = 0.0  # the Pyomo model compiled for HiGHS (once, by the first solve)

    def block(self, n: int) -> pyo.Block:
        return getattr(self.m, f"scenario_{n}")

    @property
    def probabilities(self) -> np.ndarray:
        return np.array([sc.probability for sc in self.scenarios])

    def fix_first_stage(self, values: dict | None) -> None:
        """Every scenario's first stage fixed to ``values`` (None: free again)."""
        for var in self._fixed:
            var.unfix()
        self._fixed = []
        for n in range(len(self.scenarios) if values is not None else 0):
            self._fixed += fix_first_stage(self.block(n), values)

    def solve(
        self, mip_gap: float, time_limit: float | None, threads: int | None, rules: tuple | None = None
    ) -> EFSolution:
        """The extensive form as it stands (first stage fixed or not, non-anticipativity active or
        not) solved to ``mip_gap`` by :class:`~fleetopt.milp.ef_highs.BlockSolver`, every covenant
        on debt tested where a copy can owe (or as another solve's ``rules`` left them, its
        :attr:`EFSolution.rules`); then, while a copy paid a cure of one where it owes nothing, or
        one above the debt, solved again with that copy held to owe nothing there and the row
        untested (:func:`owe_nothing`, :func:`cure_by_repaying`, §7b). A solve again without a plan
        leaves the last plan."""
        started = time.perf_counter()
        self._test_where_owed()
        if rules is not None:
            self._hold(rules)
        solution = self._solve_as_held(mip_gap, time_limit, threads)
        if rules is not None and solution.objective_usd is not None:
            solution.method = f"{solution.method} with {self._lifted_words()}"
        while solution.objective_usd is not None:
            lifted, repaying = self._owe_nothing(), self._cure_by_repaying()
            if not (lifted or repaying):
                break
            kept = [var.value for var in self._highs.vars]
            left = None if time_limit is None else time_limit - (time.perf_counter() - started)
            again = self._solve_as_held(mip_gap, left, threads)
            if again.objective_usd is None:
                for var, value in zip(self._highs.vars, kept, strict=True):
                    var.set_value(value, skip_validation=True)
                break
            again.method = f"{again.method}, then again with {self._lifted_words()}"
            solution = again
        solution.seconds = time.perf_counter() - started
        solution.rules = self._rules()
        return solution

    def _rules(self) -> tuple:
        """Which rows the last solve left lifted and which cures held to the debt (for :meth:`solve`'s
        ``rules``): the variables owe_nothing fixed at 0, the columns freed, the rows held to repay,
        those let go."""
        held = {(blk.name, key): (blk, key) for blk, key in self._repaying if blk.ratio_cured[key].fixed}
        let_go = {n: set(keys) for n, keys in self._let_go.items()}
        return list(self._held), list(self._freed), list(held.values()), let_go

    def _hold(self, rules: tuple) -> None:
        """The rows lifted and the cures held to the debt as ``rules`` (:meth:`_rules`) have them."""
        held, freed, repaying, let_go = rules
        for var in held:
            var.fix(0.0)
        for var in freed:
            var.unfix()
        for blk, key in repaying:
            blk.untested[key].unfix()
            blk.ratio_cured[key].fix(0.0)
        self._held, self._freed, self._repaying = list(held), list(freed), list(repaying)
        self._let_go = {n: set(keys) for n, keys in let_go.items()}

    def _owe_nothing(self) -> int:
        """:func:`owe_nothing` in every copy, remembered so that the next solve can undo it; the
        number of rows it untested."""
        freed = 0
        for n in range(len(self.scenarios)):
            fixed, untested = owe_nothing(self.block(n), self.data)
            self._held += fixed
            self._freed += untested
            freed += len(untested)
        return freed

    def _cure_by_repaying(self) -> int:
        """:func:`cure_by_repaying` in every copy, remembered so that the next solve can undo it; the
        number of rows whose cure it changed."""
        changed = 0
        for n in range(len(self.scenarios)):
            blk, let_go = self.block(n), self._let_go.setdefault(n, set())
            held, released = cure_by_repaying(blk, let_go)
            self._repaying += [(blk, key) for key in held]
            changed += len(held) + len(released)
        return changed

    def _lifted_words(self) -> str:
        """The rows lifted so far, for ``solve_method``."""
        repaying = len({(blk.name, key) for blk, key in self._repaying if blk.ratio_cured[key].fixed})
        parts = []
        if self._freed or not repaying:
            parts.append(f"{counted(len(self._freed), 'covenant row')} untested where a copy owes nothing")
        if repaying:
            parts.append(f"{counted(repaying, 'covenant cure')} cut to the debt owed")
        return ", ".join(parts)

    def _test_where_owed(self) -> None:
        """Undo :func:`owe_nothing` and :func:`cure_by_repaying`: every covenant row on debt stands
        again, no copy held to owe nothing, every cure the row's own."""
        for var in self._held:
            var.unfix()
        for var in self._freed:
            var.fix(0.0)
        for blk, key in self._repaying:
            blk.untested[key].fix(0.0)
            blk.ratio_cured[key].unfix()
        self._held, self._freed, self._repaying, self._let_go = [], [], [], {}

    def _solve_as_held(self, mip_gap: float, time_limit: float | None, threads: int | None) -> EFSolution:
        started = time.perf_counter()
        if self._highs is None:
            blocks = [self.block(n) for n in range(len(self.scenarios))]
            values = [blk.scenario_value for blk in blocks]
            self._highs = BlockSolver(
                self.m, blocks, self.m.nonanticipativity, values, list(self.probabilities)
            )
            self.load_seconds = time.perf_counter() - started
        limit = None if time_limit is None else max(1.0, time_limit - (time.perf_counter() - started))
        result = self._highs.solve(mip_gap, limit, threads)
        seconds = time.perf_counter() - started
        if result.objective is None:
            return EFSolution(result.status, None, None, None, seconds, [], result.method, result.seconds)
        objective, bound = result.objective, result.bound
        gap = gap_to_bound(objective, bound)
        rows = [self._scenario_row(n) for n in range(len(self.scenarios))]
        return EFSolution(
            result.status, objective * MUSD, gap, None if bound is None else bound * MUSD, seconds, rows,
            result.method, result.seconds,
        )  # fmt: skip

    def _scenario_row(self, n: int) -> dict:
        return scenario_row(self.block(n), self.data, self.scenarios[n])


def summed_unit(unit: str) -> str:
    """The unit of a slack group's amounts summed over its quarters: every physical slack is per
    quarter, so 0.2 MW short in two quarters is 0.4 MW-quarters (USD: the quarters' shortfalls
    added up)."""
    unit = output_unit(unit)
    return unit if unit == "USD" else f"{unit.removesuffix('s')}-quarters"


def scenario_row(blk: pyo.Block, data: ModelData, sc: ScenarioInputs) -> dict:
    """A solved scenario model's figures (USD): its value, NPV, the rescue it needed (the slacks of
    each group it relaxed, summed over the group's quarters: USD, MW-quarters or GPU-quarters,
    :func:`summed_unit`, with the limit's words as the diagnosis gives them, the model's own
    covenant: :func:`~fleetopt.milp.diagnose.model_limit_words`) and what kind: ``cash_rescue``
    (emergency equity: cash short after the revolver, the evaluator's liquidity default),
    ``covenant_cure`` (a covenant or borrowing-base slack, or a stress covenant row's: the evaluator's
    breach, :func:`cures_covenant`), ``relaxed`` (any other slack: power, contract delivery, demand
    floor, customer share, the robustness block's stress cash and liquidity rows) and
    ``rescued``, any of the three."""
    T = data.T
    equity = sum(pyo.value(blk.rescue_equity[t]) for t in range(T)) * MUSD
    revolver = max(pyo.value(blk.revolver_balance[t]) for t in range(T)) * MUSD
    slacks = {}  # group -> {"amount", "unit", "limit"}: the group's relaxation summed over its quarters
    keys = {}  # group -> its rows relaxed, whose parts the limit's words name
    cures = set()  # whether each slack used cures a covenant (cures_covenant)
    for idx in blk.SLACK:
        value = _relaxed(blk, idx)
        if value > 1e-6:
            cures.add(cures_covenant(idx))
            unit = SLACKS[idx[0]].unit
            entry = slacks.setdefault(idx[0], {"amount": 0.0, "unit": summed_unit(unit)})
            entry["amount"] += from_model_units(value, unit)
            keys.setdefault(idx[0], []).append(idx[1:])
    for group, entry in slacks.items():  # as the diagnosis names it: the model's own covenant
        entry["limit"] = model_limit_words(data, group, keys[group])
    return {
        "scenario": sc.name,
        "probability": sc.probability,
        "value_usd": pyo.value(blk.scenario_value) * MUSD,
        "npv_usd": pyo.value(blk.owner_npv) * MUSD,
        "emergency_equity_usd": equity,
        "revolver_peak_usd": revolver,
        "slacks": slacks,
        "cash_rescue": equity > RESCUE_TOLERANCE_USD,
        "covenant_cure": True in cures,
        "relaxed": False in cures,
        "rescued": equity > RESCUE_TOLERANCE_USD or bool(slacks),
    }


def _relaxed(blk: pyo.Block, idx: tuple) -> float:
    """How far a solved copy relaxed the row of slack ``idx`` (model units): its slack, or for the
    borrowing base, cured once at its largest shortfall (:func:`_collateral_cure`), the row's own
    shortfall: its slack may lie anywhere up to that largest one at no cost."""
    value = blk.slack[idx].value or 0.0
    if idx[0] != BORROWING_BASE:
        return value
    needed, allowed = blk.borrowing_base[idx[1]].expr.args  # needed <= collateral + slack
    return max(0.0, pyo.value(needed) - pyo.value(allowed) + value)


@dataclass
class EFSolution:
    status: str
    objective_usd: float | None
    gap: float | None
    bound_usd: float | None
    seconds: float
    scenarios: list[dict]
    method: str = ""  # how the plan was found: LP, LP and rounding, branch and bound
    steps: dict = field(default_factory=dict)  # seconds by step of the block solver
    rules: tuple | None = None  # the rows it lifted and cures it held to the debt (ExtensiveForm._rules)

    def values(self) -> np.ndarray:
        return np.array([row["value_usd"] for row in self.scenarios])


def cloned(base: pyo.ConcreteModel) -> pyo.ConcreteModel:
    """A copy of :func:`scenario_model`'s ``base`` sharing its data and index sets. Pyomo's copy
    retries a failed step under a bare ``except``, which swallows a Ctrl-C that lands in it:
    :func:`~fleetopt.milp.highs.stops_kept` notes the stop and raises it once the copy is made."""
    with stops_kept():
        return base.clone(memo={id(base.data): base.data, id(base.ix): base.ix})


def build_extensive_form(
    data: ModelData,
    scenarios: list[ScenarioInputs],
    stage: FirstStage,
    risk_weight: float = 0.0,
    alpha: float = TAIL,
    integer_later: bool = False,
    equity_cost: float = EMERGENCY_EQUITY_COST,
) -> ExtensiveForm:
    """The extensive form: :func:`scenario_model` built once and cloned per scenario (its data and
    index sets shared, not copied), each clone's parameters set to its scenario, first-stage
    decisions equal in every scenario (each copy tied to one other scenario's, along the tree of
    :func:`~fleetopt.milp.ef_highs.tied_to`), and the objective (1 - L) E[V] + L CVaR_A(V)
    (Rockafellar-Uryasev: max eta - (1/A) sum_n p_n z_n, z_n >= eta - V_n, z_n >= 0)."""
    started = time.perf_counter()
    base = scenario_model(data, stage, integer_later, equity_cost)
    ef = pyo.ConcreteModel(name=f"{data.name}-stochastic")
    N = len(scenarios)
    ef.S = pyo.RangeSet(0, N - 1)
    for n, sc in enumerate(scenarios):
        blk = base if n == N - 1 else cloned(base)
        setattr(ef, f"scenario_{n}", blk)
        apply_scenario(blk, data, sc)
    first = ef.scenario_0
    keys = [
        (name, key) for name, key in first_stage_keys(first, stage) if not getattr(first, name)[key].fixed
    ]
    # tied along the tree of nested scenario groups (ef_highs.tied_to): the same constraint as
    # every copy equal to scenario 0's, in a shape the block solver merges group by group
    sizes = group_sizes(N)
    ef.nonanticipativity = pyo.ConstraintList()
    for n in range(1, N):
        blk, tied = getattr(ef, f"scenario_{n}"), getattr(ef, f"scenario_{tied_to(n, sizes)}")
        for name, key in keys:
            ef.nonanticipativity.add(getattr(blk, name)[key] == getattr(tied, name)[key])
    p = [sc.probability for sc in scenarios]
    values = [getattr(ef, f"scenario_{n}").scenario_value for n in range(N)]
    expected = sum(p[n] * values[n] for n in range(N))
    objective = (1.0 - risk_weight) * expected
    if risk_weight > 0:
        ef.eta = pyo.Var(domain=pyo.Reals)
        ef.shortfall = pyo.Var(ef.S, domain=pyo.NonNegativeReals)
        ef.cvar_rows = pyo.Constraint(ef.S, rule=lambda ef, n: ef.shortfall[n] >= ef.eta - values[n])
        objective += risk_weight * (ef.eta - sum(p[n] * ef.shortfall[n] for n in range(N)) / alpha)
    ef.objective = pyo.Objective(expr=objective, sense=pyo.maximize)
    return ExtensiveForm(ef, data, scenarios, stage, risk_weight, alpha, time.perf_counter() - started)


def risk_value(values: np.ndarray, probabilities: np.ndarray, risk_weight: float, alpha: float) -> float:
    """(1 - L) E[V] + L CVaR_A(V) of per-scenario values."""
    expected = float(np.dot(probabilities, values))
    if risk_weight == 0:
        return expected
    return (1.0 - risk_weight) * expected + risk_weight * cvar(values, probabilities, alpha)


# ----------------------------------------------------------------------------- forecast and completion


@dataclass
class ForecastSolution:
    """The forecast MILP solved: its objective (the NPV less the tie-breaks of §5.9-5.10), plan,
    first stage and the plan's NPV by its statements (what `fleetopt solve` reports)."""

    status: str
    objective_usd: float
    plan: Plan
    first_stage: dict
    seconds: float
    model_size: dict
    npv_usd: float | None = None


def solve_with_first_stage(
    data: ModelData,
    stage: FirstStage,
    first_stage: dict | None = None,
    mip_gap: float = DEFAULT_MIP_GAP,
    time_limit: float | None = None,
    threads: int | None = None,
    required: bool = False,
) -> ForecastSolution | None:
    """The forecast MILP (§5-§6), with the first stage fixed to ``first_stage`` when given: the
    forecast optimum, or a first stage completed into a full plan. None when infeasible, or with
    ``required`` the error `fleetopt solve` gives (infeasible with its diagnosis, or no plan)."""
    m = build_model(data, "npv")
    if first_stage is not None:
        fix_first_stage(m, first_stage)
    started = time.perf_counter()
    status, results, incumbent = solve_settled(m, rel_gap=mip_gap, time_limit=time_limit, threads=threads)
    seconds = time.perf_counter() - started
    if status in ("infeasible", "no_plan"):
        if required:
            raise_without_plan(data, status, results, seconds, {"time_limit": time_limit, "threads": threads})
        return None
    plan = extract_plan(m, data)
    return ForecastSolution(
        status,
        float(incumbent) * MUSD,
        plan,
        netted_first_stage(first_stage_values(m, stage), plan),
        seconds,
        model_size(m),
        plan_statements(data, plan).npv_usd,
    )


def netted_first_stage(values: dict[tuple[str, object], float], plan: Plan) -> dict:
    """``values`` with the draws and prepayments of ``plan``, whose extraction nets a draw and a
    prepayment of one quarter (``finance.net_same_quarter_draws``): the two tie on the forecast, but
    the gross draw schedules more instalments, which a scenario with the first stage fixed must pay
    (on tiny, a solve whose tie fell on a $31.6M draw and $57.6M prepayment in 2026Q3 made EEV
    $2.6M worse than the netted first stage's)."""
    out = dict(values)
    for name, key in values:
        if name in ("draw", "prepay"):
            f, t = key
            usd = plan.draws[f, t] if name == "draw" else plan.prepay[f, t]
            out[(name, key)] = to_model_units(float(usd))
    return out


def complete_purchases_with_rescue(
    data: ModelData,
    purchases,
    mip_gap: float = DEFAULT_MIP_GAP,
    time_limit: float | None = None,
    threads: int | None = None,
) -> SolveResult | None:
    """Purchases written by people (``purchases``: a :class:`~fleetopt.core.purchases.FixedPurchases`)
    that break a hard limit on the forecast, completed anyway: the forecast scenario's model with
    its rescue (:func:`scenario_model`: the revolver, then covenant cures and emergency equity at
    their penalties, every slack priced) and every purchase fixed to the file's. The plan is the
    one that needs the least rescue, its statements those of the plan alone (no rescue in them):
    they break the limits the rescue cured. Only finance limits are cured (:data:`FINANCE_CURED`):
    purchases that need power, or break another physical limit, have no plan (None). Status
    ``rescued`` (``rescued, time limit reached`` where the time limit stopped it with a plan);
    ``rescue``: the forecast's row (:func:`scenario_row`)."""
    started = time.perf_counter()
    # whole purchases and power blocks in every quarter, as the forecast MILP's: a plan file holds a
    # plan's GPUs as bought, which a rounded continuous purchase would contradict
    ef = build_extensive_form(data, [ScenarioInputs("forecast", 1.0)], FirstStage(1), integer_later=True)
    blk = ef.block(0)
    ef.fix_first_stage({("buy", key): float(purchases.blocks[key]) for key in blk.buy})
    for key in blk.SLACK:  # power, contracts, demand: no rescue creates what does not exist
        if key[0] not in FINANCE_CURED:
            blk.slack[key].fix(0.0)
    build_seconds = time.perf_counter() - started
    solution = ef.solve(mip_gap, time_limit, threads)
    if solution.status == "infeasible":
        return None
    if solution.objective_usd is None:
        raise NoPlanFound(f"the rescue of the purchases of {purchases.source} found no plan "
                          f"({solution.status}) in {solution.seconds:.1f} s")  # fmt: skip
    plan = extract_plan(blk, data)
    statements = plan_statements(data, plan)
    return SolveResult(
        # its gap is of the rescue's penalised value, not of the NPV shown: not given
        status="rescued" if solution.status == "optimal" else "rescued, time limit reached",
        objective_kind="npv",
        objective_usd=statements.npv_usd,
        bound_usd=None,
        gap=None,
        build_seconds=build_seconds,
        solve_seconds=solution.seconds,
        model_size=model_size(ef.m),
        plan=plan,
        statements=statements,
        data=data,
        purchases=purchases,
        rescue=solution.scenarios[0],
    )


def complete_with_rescue(
    data: ModelData,
    stage: FirstStage,
    first_stage: dict,
    mip_gap: float = DEFAULT_MIP_GAP,
    time_limit: float | None = None,
    threads: int | None = None,
) -> tuple[Plan, dict] | None:
    """A first stage completed on the forecast scenario with the rescue of :func:`scenario_model`
    (for a first stage the plain forecast MILP finds infeasible); returns the plan and the
    forecast scenario's row (its rescue), or None where no completion draws only the MW online:
    power is never relaxed (the evaluator refuses a plan that draws more than its sites have)."""
    ef = build_extensive_form(data, [ScenarioInputs("forecast", 1.0)], stage, integer_later=True)
    ef.fix_first_stage(first_stage)
    blk = ef.block(0)
    for key in blk.SLACK:
        if key[0] in POWER_SLACKS:
            blk.slack[key].fix(0.0)
    solution = ef.solve(mip_gap, time_limit, threads)
    if solution.objective_usd is None:
        return None
    return extract_plan(blk, data), solution.scenarios[0]
