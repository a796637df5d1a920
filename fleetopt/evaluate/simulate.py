"""Array-level simulation of plans under scenarios: the reference implementation.

Every (plan, scenario) pair is simulated quarter by quarter with its own state (cash, debt,
revolver, contract status), vectorised over a (P, S) grid with NumPy or CuPy (``xp``). Loops run
only over the small axes (sites, generations, contracts, facilities) in a fixed order, so a
pair's result does not depend on the chunk it is computed in. The fused CUDA kernel
(:mod:`fleetopt.evaluate.kernel`) implements the same quarter and is tested against this code.

Semantics (docs/evaluation.md): the plan's decisions are fixed and its policy
(:class:`~fleetopt.schema.policy.Policy`) reacts to the scenario. Power blocks that are late leave
GPUs at their site unpowered (contracts served first, or every use in proportion); a contract not
delivered in full after its deadline is late, then cancelled with its penalty (or cancelled at
once, open loop), and a defaulted customer's contracts end, their GPUs offered on the market;
market sales are capped by realised demand; prices, electricity, resale values and floating rates
follow the scenario; orders are deferred or cancelled and GPUs sold to stay liquid
(:mod:`fleetopt.evaluate.liquidity`); cash below the minimum draws the revolver, and beyond it
(and the sales) the scenario is a liquidity default.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, NamedTuple

import numpy as np

from fleetopt.core.arrays import less_product, plus, plus_over, reusing
from fleetopt.core.covenants import (
    FLOWS,
    CovenantTest,
    CureRights,
    cash_covers_debt,
    kind_bit,
    net_debt,
    window_mean,
)
from fleetopt.core.data import ContractPayments, ModelData, capacity_steps
from fleetopt.core.economics import (
    LIQUIDITY_TOLERANCE_USD,
    DrawsMoved,
    FinanceState,
    Financing,
    QuarterFinance,
    collateral_required,
    contract_revenue_per_gpu,
    finance_step,
    liquidation_tax,
    site_fixed_cost_per_mw,
    term_debt,
)
from fleetopt.evaluate.layout import (
    REL,
    PlanColumns,
    PowerShortfall,
    ScenarioRows,
    Shortfall,
    fully_powered,
    over_sites,
    over_sites_at,
    unpowered,
)
from fleetopt.evaluate.liquidity import (
    LIQUIDITY_REACTIONS,
    REACTION_USD,
    Adjustments,
    Liquidity,
    deferred_draws_interest,
    taken_share,
)
from fleetopt.evaluate.pairs import Pairs
from fleetopt.evaluate.planbatch import PlanBatch
from fleetopt.evaluate.scenarios import ScenarioSet, forecast_scenario
from fleetopt.schema.policy import Policy

# per pair, the quarters before its first covenant breach, before its liquidity default and before its
# uncured covenant breach (T: none in the horizon): the quarter index of each, for when a plan breaks
# (cumulative shares by quarter)
TIMING_FIELDS = ("quarters_before_breach", "quarters_before_default", "quarters_before_uncured")


@dataclass(frozen=True)
class SimulationConstants:
    """Model-level numbers the simulation needs besides the plans and scenarios."""

    T: int
    discount: np.ndarray  # (T,)
    fixed_cost_per_mw: np.ndarray  # (I,)
    contract_revenue_per_gpu: np.ndarray  # (K,)
    contract_deadline: np.ndarray  # (K,)
    contract_size: np.ndarray  # (K,) GPUs
    contract_penalty: np.ndarray  # (K,)
    financing: Financing
    covenants: tuple[CovenantTest, ...]  # fleetopt/core/covenants.py
    covenant_window: int  # quarters of flows the covenant tests average
    covenant_from: int  # first quarter any covenant is tested in (T without covenants)
    equity_cures: int  # breached quarters the owners may cure (core.covenants.CureRights)
    cash_covering_debt_cures: bool  # a breached quarter whose cash covers its debt is no default (CureRights)
    policy: Policy  # the recourse rules (fleetopt/schema/policy.py; every rule off: open loop)
    contract_use: np.ndarray  # (K,) 0 training, 1 inference
    delay_allowance: np.ndarray  # (K,) late quarters before a late contract is cancelled
    delay_penalty: np.ndarray  # (K,) USD per late quarter
    capacity_step_mw: np.ndarray  # (I, T) increase of each site's contracted capacity due in quarter t
    contract_payments: ContractPayments  # prepayments and termination payments (core/data.py)

    @classmethod
    def from_data(cls, data: ModelData) -> SimulationConstants:
        return cls(
            T=data.T,
            discount=data.discount,
            fixed_cost_per_mw=site_fixed_cost_per_mw(data),
            contract_revenue_per_gpu=contract_revenue_per_gpu(data),
            contract_deadline=np.array([c.deadline for c in data.contracts], dtype=np.int64),
            contract_size=np.array([c.gpus for c in data.contracts], dtype=np.float64),
            contract_penalty=np.array([c.penalty_usd for c in data.contracts]),
            financing=Financing.from_data(data, with_revolver=True),
            covenants=data.covenants,
            covenant_window=data.covenant_window,
            covenant_from=first_tested(data),
            equity_cures=data.equity_cures,
            cash_covering_debt_cures=data.cash_covering_debt_cures,
            policy=data.policy,
            contract_use=np.array([c.use for c in data.contracts], dtype=np.int64),
            delay_allowance=np.array([c.delay_allowance for c in data.contracts], dtype=np.int64),
            delay_penalty=np.array([c.delay_penalty_usd for c in data.contracts]),
            capacity_step_mw=late_capacity_steps(data),
            contract_payments=data.contract_payments,
        )

    def with_policy(self, policy: Policy) -> SimulationConstants:
        return replace(self, policy=policy)


def first_tested(data: ModelData) -> int:
    """The first quarter any covenant (the borrowing base included) is tested in; T if none is."""
    return min((c.first_quarter for c in data.covenants), default=data.T)


def late_capacity_steps(data: ModelData) -> np.ndarray:
    """(I, T) the contracted capacity increases a scenario may delay: every one where
    ``risk.power_delay.contracted_probability`` is positive, none otherwise."""
    delay = data.risk.power_delay
    steps = capacity_steps(data)
    late = delay is not None and delay.contracted_probability > 0 and delay.contracted_max_extra > 0
    return steps if late else np.zeros_like(steps)


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
# simulate(watch=...)'s NPV end term E and its parts, (P, S) USD each, undiscounted (_end_term;
# docs/evaluation.md, "The NPV"): the fleet at the last quarter's resale value and its book value, the
# gain or loss of the last quarter's distress sales, the gain G taxed with the end (the three: value -
# book + distress), the last quarter's taxable income y, the tax of the sale, the power plant at book,
# the debt at the end, the prepayments not yet earned, and E
END_TERM_PARTS = ("fleet_resale_value", "fleet_book_value", "distress_sale_gain", "gain",
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
# a result takes at most 8 bytes (a float64; a bool, 1): the rows in memory and their file
# (spill.py) count 8 a value
RESULT_VALUE_BYTES = 8


def result_bytes(n_plans: int, n_scenarios: int) -> int:
    """Bytes the results (:data:`RESULT_FIELDS`) of ``n_plans`` plans over ``n_scenarios`` scenarios
    take, in memory or in a file (spill.py): 216 a (plan, scenario) pair."""
    return RESULT_VALUE_BYTES * len(RESULT_FIELDS) * n_plans * n_scenarios


def simulate(
    consts: SimulationConstants,
    plans: PlanBatch,
    scen: ScenarioSet,
    xp: Any = np,
    record: tuple[str, ...] = (),
    rows: ScenarioRows | None = None,
    market_earned: bool = False,
    watch: Any = None,
    columns: PlanColumns | None = None,
) -> dict[str, Any]:
    """Simulate every plan under every scenario; returns (P, S) arrays of ``RESULT_FIELDS``.

    ``plans`` and ``scen`` may hold NumPy arrays; they are moved to ``xp``. ``record`` names
    quarterly lines (e.g. ``cash_usd``, ``debt_usd``) to return as (P, S, T) paths. ``rows``:
    ``scen`` already laid out (callers simulating several plan batches on one block).
    ``market_earned``: also return ``MARKET_EARNED``, (P, S, G, T) what each generation's own market
    GPUs earn (:func:`_market`, :func:`_less_market_electricity`; the forecast run's, for policy
    rule 0's saving). ``watch(t, seen)``: called at the end of each quarter with what it did,
    ``seen`` the dict :func:`_watched` names (:mod:`fleetopt.evaluate.path` reads one scenario's
    quarter from it, :mod:`fleetopt.sweep.cancelled` the deposits forfeited); with it, the results
    also hold the NPV's end term and its parts (``END_TERM_PARTS``).
    ``columns``: ``plans`` already laid out (callers simulating them on several scenario blocks).
    """
    P, S, T = plans.P, scen.S, consts.T
    run = _Simulation(consts, plans, scen, xp, rows, columns, keep_sold=watch is not None)
    totals = _Totals(consts, (P, S), run.state.cash, xp)
    paths = {name: xp.zeros((P, S, T)) for name in record}
    earned = xp.zeros((P, S, run.pl.gen_market_gpus.shape[0], T)) if market_earned else None
    parts = None if watch is None else {}
    for t in range(T):
        quarter = run.quarter(t, totals.demand_served, earned, parts)  # quarter steps 1-5
        totals.liquidity_default(run, quarter.step, t)
        totals.add_discounted_cash(quarter.step.cash, t)
        tested = totals.covenants(run, quarter, t) if consts.covenants else _UNTESTED  # quarter step 6
        totals.count_quarter(quarter.gpus_used, run.pl.inv_held[t])
        if watch is not None:
            watch(t, _watched(run, totals, quarter, tested, parts))
        if record:
            _record(paths, quarter, t)
    return {
        **totals.results(run, quarter.step, end_parts=watch is not None),
        **run.book.reactions(),
        **run.liquidity.reactions(),
        **paths,
        **({} if earned is None else {MARKET_EARNED: earned}),
    }


class _Quarter(NamedTuple):
    """What quarter steps 1-5 of a quarter leave for the rest of it, each (P, S) or None."""

    taken: Adjustments | None  # the GPUs and payments the policy took out (None: nothing)
    ebitda: Any
    gpus_used: Any  # GPUs sold or delivered (_operations)
    step: QuarterFinance  # its financing, with the cash after the revolver and the distress sales


# the covenants of a quarter, as _Totals.covenants returns them: the borrowing base's quantities,
# the covenants missed (kind_bit mask) and the pairs whose breach is uncured now (None: not tested)
_UNTESTED = (None, None, None)


class _Simulation:
    """A (P, S) block's layout and running state: the plans' columns and the scenarios' rows, the
    finance state, the policy's liquidity rules, the power shortfall and the contract book."""

    def __init__(self, consts: SimulationConstants, plans: PlanBatch, scen: ScenarioSet, xp: Any,
                 rows: ScenarioRows | None, columns: PlanColumns | None, keep_sold: bool):  # fmt: skip
        shape, policy, fin = (plans.P, scen.S), consts.policy, consts.financing
        self.consts, self.xp = consts, xp
        self.state = FinanceState.opening(fin, shape, xp, balance_batch=(plans.P, 1))
        self.sc = rows if rows is not None else ScenarioRows(scen, xp)
        self.pl = columns if columns is not None else PlanColumns(plans, xp)
        self.liquidity = Liquidity(policy, self.pl, fin, shape, consts.T, xp)
        self.power = PowerShortfall(consts.fixed_cost_per_mw, consts.capacity_step_mw, plans, scen,
                                    consts.T, xp, policy.power_to_contracts_first,
                                    takes_out=self.liquidity.on)  # fmt: skip
        self.book = ContractBook.opening(self.pl, scen, shape, policy, xp)
        self.liquidity.keep_sold = keep_sold  # the path says which GPUs a distress sale sold

    def quarter(self, t: int, served: Any, earned: Any, parts: dict | None) -> _Quarter:
        """Quarter ``t``'s steps 1-5 (docs/evaluation.md) with the policy's reactions: the orders
        deferred or cancelled (rule 0), the customers' payments besides revenue, the power (1), the
        contracts, market and costs (2-4, :func:`_operations`; ``served``, ``earned``, ``parts`` as
        it takes them), the financing (5) and the distress sales (rule 4)."""
        consts, pl, sc, xp = self.consts, self.pl, self.sc, self.xp
        taken = self.liquidity.orders(t, self.state, sc)
        # the contracts' status before this quarter's
        paid = contract_payments(consts.contract_payments, pl, sc, self.book.status, t)
        short = _power_left(self.power, pl, self.power.quarter(t), taken, t)
        ebitda, gpus_used = _operations(consts, pl, sc, self.book, self.power, short, taken, t, served, xp,
                                        earned, parts)  # fmt: skip
        step = _financing(consts, self.state, pl, sc, t, ebitda, taken, self.liquidity, paid, xp, parts)
        self.liquidity.sell(t, self.state, sc.resale_factor[t])
        step.cash = self.state.cash
        return _Quarter(taken, ebitda, gpus_used, step)

    def debt_at_default(self, step: QuarterFinance, t: int, pairs: Pairs) -> tuple[Any, Any, Any]:
        """:func:`_debt_at_default` at ``pairs`` at the end of quarter ``t``."""
        return _debt_at_default(self.consts, self.pl, self.sc, step, self.liquidity, t, pairs, self.xp)


class _Totals:
    """Each pair's figures as the quarters add them up: the NPV (and its limited-liability and
    acceleration variants, fixed at the default that ends them), the lowest cash, the covenant
    breaches and cures, the debt at a default, utilisation, demand served and the quarters before
    each kind of break (``TIMING_FIELDS``)."""

    def __init__(self, consts: SimulationConstants, shape: tuple[int, int], opening_cash: Any, xp: Any):
        self.consts, self.xp, self.shape = consts, xp, shape
        self.npv = xp.zeros(shape)
        self.min_cash = xp.full(shape, xp.inf)
        self.first_breach = xp.zeros(shape)  # the covenants missed in the first quarter any is (kind_bit)
        self.cures = CureRights(consts.equity_cures, shape, xp, consts.cash_covering_debt_cures)
        self.flows = {name: [] for name in FLOWS}  # the covenants' flows of the last quarters (trailing)
        self.util = xp.zeros(shape)
        self.demand_served = xp.zeros(shape)  # H100-equivalent GPU-quarters of market demand served
        self.before_breach, self.before_default = xp.zeros(shape), xp.zeros(shape)
        self.before_uncured = xp.full(shape, float(consts.T))  # an uncured breach's quarter, when one comes
        # more than the tolerance below the default level after the revolver (and the policy's distress
        # sales, which start at the same tolerance) is a default
        self.default_below = consts.financing.default_cash - LIQUIDITY_TOLERANCE_USD
        self.solvent = xp.ones(shape, dtype=bool)  # no liquidity default yet
        self.npv_limited = xp.zeros(shape)  # the NPV with limited liability where the pair has defaulted
        # the NPV if lenders accelerate, where an event of default came
        self.npv_accelerated = xp.zeros(shape)
        self.no_event = xp.ones(shape, dtype=bool)  # no event of default of either kind yet
        self.at_default = {name: xp.zeros(shape) for name in (*DEBT_AT_DEFAULT, *DEBT_AT_UNCURED)}
        self.prev_cash = opening_cash.copy()

    def liquidity_default(self, run: _Simulation, step: QuarterFinance, t: int) -> None:
        """Where a pair first defaults in quarter ``t``, the shareholders' claim ends: the cash the
        company held is lost to them (``npv_limited``, and ``npv_accelerated`` where no event of
        default came before); the lenders' side of it (``DEBT_AT_DEFAULT``)."""
        defaulted_now = self.solvent & (step.cash < self.default_below)
        if not defaulted_now.any():
            return
        xp = self.xp
        now = Pairs.where(defaulted_now, self.shape, xp)  # few pairs: each step on them alone
        now.put(self.npv_limited, now.take(self.npv) - self.consts.discount[t] * now.take(self.prev_cash))
        _keep_where(self.npv_accelerated, now.take(self.npv_limited), now.take(self.no_event), now, xp)
        _keep(self.at_default, DEBT_AT_DEFAULT, run.debt_at_default(step, t, now), now)
        self.solvent &= ~defaulted_now
        self.no_event &= ~defaulted_now

    def add_discounted_cash(self, cash: Any, t: int) -> None:
        """Add quarter ``t``'s discounted change in ``cash`` to the NPV; keep the lowest cash."""
        change = cash - self.prev_cash
        change *= self.consts.discount[t]  # the discounted change in cash, made in one array
        self.npv += change
        self.prev_cash = cash
        self.xp.minimum(self.min_cash, cash, out=self.min_cash)

    def covenants(self, run: _Simulation, quarter: _Quarter, t: int) -> tuple:
        """Quarter step 6: the covenants tested in ``t``, the equity cures, and at an uncured breach
        the lenders' side of the event of default. Returns as ``_UNTESTED`` names."""
        consts, xp = self.consts, self.xp
        base = _borrowing_base(consts, run.pl, run.sc, run.state, quarter.taken, t, xp)
        missed = _covenants(consts, t, self.flows, quarter.ebitda, quarter.step, base, xp)
        if missed is not None:
            self.first_breach += (self.first_breach == 0) * missed
        covered = None  # read only with cash_covering_debt_cures
        if missed is not None and self.cures.cash_covers:
            covered = cash_covers_debt(quarter.step.debt, quarter.step.cash, xp)
        accelerated = self.cures.quarter(None if missed is None else missed > 0, ~self.solvent, covered)
        if accelerated is not None and accelerated.any():
            self._uncured_breach(run, quarter.step, accelerated, t)
        return base, missed, accelerated

    def _uncured_breach(self, run: _Simulation, step: QuarterFinance, accelerated: Any, t: int) -> None:
        """The lenders' side of the event of default at the pairs ``accelerated`` in quarter ``t``
        (``DEBT_AT_UNCURED``) and, where it is the first event of default, ``npv_accelerated``: the
        lenders take the GPUs and the cash, the shareholders keep what is left after the debt."""
        xp, discount = self.xp, self.consts.discount[t]
        now = Pairs.where(accelerated, self.shape, xp)
        owed = run.debt_at_default(step, t, now)
        _keep(self.at_default, DEBT_AT_UNCURED, owed, now)
        now.put(self.before_uncured, float(t))
        ended = (now.take(self.npv) - discount * now.take(step.cash)) + discount * owed[2]
        _keep_where(self.npv_accelerated, ended, now.take(self.no_event), now, xp)
        self.no_event &= ~accelerated

    def count_quarter(self, gpus_used: Any, inv_held: Any) -> None:
        """Count the quarter in the quarters before a break, while none has come (a breach and the
        lowest cash are for good), and its GPUs used (a sum _operations made) per GPU held."""
        self.before_breach += self.first_breach == 0
        self.before_default += self.solvent
        self.util += reusing(gpus_used, self.xp.multiply, gpus_used, inv_held)

    def results(self, run: _Simulation, last: QuarterFinance, end_parts: bool = False) -> dict[str, Any]:
        """The pairs' figures after the last quarter (``last``: its financing), with the NPV's end
        term (:func:`_end_term`), as ``RESULT_FIELDS`` names them (the reactions apart); with
        ``end_parts``, the end term's parts too, (P, S) each, as ``END_TERM_PARTS`` names them."""
        consts, xp = self.consts, self.xp
        discount = consts.discount[consts.T - 1]
        parts = _end_term(consts, run.pl, run.sc, run.state, last, run.liquidity, xp)
        end = parts["end_term"]
        kept = {name: xp.zeros(self.shape) + parts[name] for name in END_TERM_PARTS} if end_parts else {}
        # limited liability at the end: a company worth less than nothing is worth nothing to its shareholders
        limited_end = self.npv + discount * xp.maximum(end, -self.prev_cash)
        self.npv += discount * end
        return {
            "npv": self.npv,
            "npv_limited": xp.where(self.solvent, limited_end, self.npv_limited),
            "npv_accelerated": xp.where(self.no_event, limited_end, self.npv_accelerated),
            **self.at_default,
            "min_cash": self.min_cash,
            "breach": self.first_breach > 0,
            "first_breach": self.first_breach,
            "uncured_breach": self.cures.uncured,
            # cash below the default level after the revolver and sales in any quarter
            "default": ~self.solvent,
            "quarters_before_breach": self.before_breach,
            "quarters_before_default": self.before_default,
            "quarters_before_uncured": self.before_uncured,
            "utilisation": self.util / consts.T,
            # the market demand the plan served over the horizon, H100-equivalent GPU-quarters (a lab's
            # own demand where the plan serves it: metrics.demand_metrics)
            "demand_served": self.demand_served,
            **kept,
        }


def _watched(run: _Simulation, totals: _Totals, quarter: _Quarter, tested: tuple, parts: dict | None) -> dict:
    """What ``simulate(watch=...)`` is shown of a quarter: its own values (``parts``: its revenue
    and costs, :func:`_operations`'s, and the cash flows :func:`_financing` records; ``tested``: its
    covenants, as ``_UNTESTED`` names them) and the running state after it."""
    base, missed, accelerated = tested
    return {
        "parts": parts, "ebitda": quarter.ebitda,
        "step": quarter.step, "book": run.book, "liquidity": run.liquidity, "base": base, "missed": missed,
        "accelerated": accelerated, "cures": totals.cures, "solvent": totals.solvent,
    }  # fmt: skip


def _record(paths: dict, quarter: _Quarter, t: int) -> None:
    """Quarter ``t``'s lines named in ``paths`` (``QuarterFinance.lines`` and ``ebitda_usd``)."""
    lines = {**quarter.step.lines(), "ebitda_usd": quarter.ebitda}
    for name, path in paths.items():  # + 0.0: a repayment of nothing is 0, not -0
        path[:, :, t] = lines[name] + 0.0


def forecast_cash_flow(data: ModelData, plans: PlanBatch) -> tuple[np.ndarray, np.ndarray]:
    """Each plan run on the forecast as the evaluator runs it, what policy rule 0 reads
    (docs/evaluation.md): (P, T) its change in cash every quarter, the cash need the rule projects,
    and (P, G, T) what each generation's market GPUs earn every quarter (revenue within the demand
    and the power online, less their electricity), what the rule values the GPUs it defers with.
    Market sales are capped by the forecast demand in each use, contracts paid as the evaluator pays
    them on the forecast (a contract served short is late, then cancelled, with its penalties, under
    the model's contract rules), with the plan's own draws and prepayments, without the revolver and
    without the liquidity rules (policy rules 0, 3 and 4: the order rule is what reads this).
    ``plans``' own ``forecast_cash_flow``, ``gen_market_earned`` and ``order_saving`` are not read."""
    policy = data.policy.model_copy(update={"defer_orders": False, "distress_sales": False,
                                            "cut_prepayments": False})  # fmt: skip
    consts = replace(SimulationConstants.from_data(data), policy=policy,
                     financing=Financing.from_data(data, with_revolver=False))  # fmt: skip
    out = simulate(consts, plans, forecast_scenario(data), record=("cash_usd",), market_earned=True)
    cash = out["cash_usd"][:, 0]
    flow = np.diff(cash, axis=-1, prepend=np.full((plans.P, 1), data.opening_cash))
    return flow, out[MARKET_EARNED][:, 0]


def _end_term(consts: SimulationConstants, pl, sc, state: FinanceState, step: QuarterFinance,
              liquidity: Liquidity, xp: Any) -> dict[str, Any]:  # fmt: skip
    """The NPV's end term, undiscounted, ``end_term`` (P, S), and its parts as ``END_TERM_PARTS`` names
    them (each (P, S), (P, 1) or a number): the fleet at the scenario's last resale value and the power
    plant at book, less the tax of their sale, less the debt and the prepayments not yet earned
    (docs/evaluation.md)."""
    T, fin = consts.T, consts.financing
    debt_end = term_debt(state, xp) + state.revolver
    fleet, fleet_book = pl.terminal_fleet, pl.terminal_book
    gone = liquidity.terminal() if liquidity.on else None
    if gone is not None:  # the GPUs the policy took out are not there at the end
        fleet, fleet_book = fleet - gone[0], fleet_book - gone[1]
    value = fleet * sc.resale_factor[T - 1]
    gain = value - fleet_book
    distress_gain = liquidity.carried_gain
    if distress_gain is not None:  # the last quarter's distress sales (taxed with it)
        gain = gain + distress_gain
    tax = liquidation_tax(step.taxable, gain, fin.tax_rate, xp)
    terminal = value + pl.terminal_power - tax
    deferred = deferred_revenue_end(consts.contract_payments, pl, sc, T)
    owed = debt_end if deferred is None else debt_end + deferred
    return {"fleet_resale_value": value, "fleet_book_value": fleet_book,
            "distress_sale_gain": 0.0 if distress_gain is None else distress_gain, "gain": gain,
            "taxable_income_last": step.taxable, "liquidation_tax": tax,
            "power_plant_book_value": pl.terminal_power,
            "debt_end": debt_end, "unearned_prepayments": 0.0 if deferred is None else deferred,
            "end_term": terminal - owed}  # fmt: skip


def _keep(kept: dict, names: tuple[str, str], values: tuple, pairs: Pairs) -> None:
    """Write ``values`` (taken at ``pairs``) into the arrays ``kept[name]`` of ``names`` at the
    ``pairs`` (the first of ``values`` where there are more)."""
    for name, value in zip(names, values[: len(names)], strict=True):
        pairs.put(kept[name], value)


def _keep_where(kept: Any, value: Any, where: Any, pairs: Pairs, xp: Any) -> None:
    """Write ``value`` into ``kept`` at those of ``pairs`` where ``where`` (both taken at them) holds."""
    pairs.put(kept, xp.where(where, value, pairs.take(kept)))


def _debt_at_default(consts: SimulationConstants, pl, sc, step: QuarterFinance, liquidity: Liquidity,
                     t: int, pairs: Pairs, xp: Any) -> tuple[Any, Any, Any]:  # fmt: skip
    """``DEBT_AT_DEFAULT`` at ``pairs`` at the end of quarter ``t`` (kept where a pair defaults in it,
    and as ``DEBT_AT_UNCURED`` where its uncured covenant breach comes in it): the debt owed B
    (``step.debt``: term loans, balances kept by cut prepayments, the revolver; a distress sale
    repays none), and what of it the GPUs held (less those the policy sold, cancelled or deferred),
    sold at the scenario's resale value less selling costs and the policy's distress discount, V,
    and the cash C, where positive, would not repay: max(0, B - V - max(C, 0)) (docs/evaluation.md,
    "The debt at a default"); and third what is left of V + max(C, 0) once B is repaid, max(0,
    V + max(C, 0) - B), the shareholders' at an acceleration ("The NPV if lenders accelerate")."""
    fleet = None  # net sale value at forecast resale values, the GPUs taken out excepted
    for g in np.flatnonzero(pl.gen_is_held[:, t]):  # the others hold no GPUs in any plan
        value = pairs.take(pl.gen_sale_value[g, t])
        gone = liquidity.not_held(g, pairs)
        if gone is not None:
            value = value - taken_share(gone, pairs.take(pl.gen_held_inverse[g, t]), xp) * value
        fleet = plus(fleet, value)
    debt = pairs.take(step.debt)
    recovered = xp.maximum(pairs.take(step.cash), 0.0)
    if fleet is not None:
        resale = pairs.take(sc.resale_factor[t]) * consts.policy.sale_share
        recovered = fleet * resale + recovered
    return debt, xp.maximum(debt - recovered, 0.0), xp.maximum(recovered - debt, 0.0)


def contract_payments(payments: ContractPayments, pl, sc, status: Any, t: int) -> Any:
    """(P, S) USD the customers pay in quarter ``t`` besides revenue (None: nothing in any pair):
    for each contract taken, its ``live`` payment where the customer is live in ``t`` and its
    ``ended`` (termination) payment where the customer ended the contract in ``t`` and it had not
    been cancelled for late delivery (``status``: the contracts' status before quarter ``t``, (K, P,
    S)). Contracts in order, each term added only where it is not 0 (the kernel's order)."""
    total = None
    for k in np.flatnonzero(payments.live[:, t] != 0.0):
        total = plus_over(total, pl.accepted[k] * (sc.alive_row(k, t) * payments.live[k, t]), sc.xp)
    for k in np.flatnonzero(payments.ended[:, t] != 0.0):  # never in quarter 0 (after a term's first)
        ended = sc.alive_row(k, t - 1) - sc.alive_row(k, t)
        total = plus_over(total, status[k] * (ended * payments.ended[k, t]), sc.xp)
    return total


def deferred_revenue_end(payments: ContractPayments, pl, sc, T: int) -> Any:
    """(P, S) USD of prepayments not yet earned after the last quarter, for the contracts taken whose
    customer is live in it (None: none); the terminal value deducts it with the debt."""
    total = None
    for k in np.flatnonzero(payments.deferred_end != 0.0):
        total = plus(total, pl.accepted[k] * (sc.alive_row(k, T - 1) * payments.deferred_end[k]))
    return total


def _financing(consts: SimulationConstants, state: FinanceState, pl, sc, t: int, ebitda: Any,
               taken: Adjustments | None, liquidity: Liquidity, paid: Any,
               xp: Any, parts: dict | None = None) -> QuarterFinance:  # fmt: skip
    """Quarter ``t``'s financing (:func:`finance_step`), disposals at the scenario's resale value,
    with the policy's changes (``taken``: GPUs taken out, deferred payments; the prepayment rule
    within the borrowing base's room, :func:`_base_room`). ``paid``: the customers' payments besides
    revenue (:func:`contract_payments`; None: none), cash that is not income: it enters with the
    investing flows, as their negative. ``parts`` (a watched path's): given the capex paid and those
    two cash flows, ``disposal_proceeds`` and ``contract_payments``, which no statement line shows, and
    the ``depreciation`` and ``gain`` (disposals', and the quarter before's distress sales') the tax reads."""
    fin = consts.financing
    proceeds, book, capex, depreciation = pl.proceeds[t], pl.book[t], pl.capex[t], pl.depreciation[t]
    any_proceeds = pl.any_proceeds[t]
    if taken is not None:
        for g, share in enumerate(taken.held):
            if share is not None and pl.gen_any["gen_depreciation"][g, t]:
                depreciation = less_product(depreciation, share, pl.gen_depreciation[g, t], xp)
        for g in np.flatnonzero(pl.gen_retires[:, t]):  # the plan disposes of GPUs of g: some may be gone
            cut = liquidity.planned_sales_cut(g, t)
            if cut is not None:
                proceeds = less_product(proceeds, cut, pl.gen_retired_proceeds[g, t], xp)
                book = less_product(book, cut, pl.gen_retired_book[g, t], xp)
        if taken.capex is not None:
            capex = capex + taken.capex
    if any_proceeds:
        cash_proceeds = proceeds * sc.resale_factor[t]
        gain, investing = cash_proceeds - book, capex - cash_proceeds
    else:  # nothing sold this quarter in any plan: no scenario resale value to apply
        gain, investing = -book, capex
    if taken is not None:
        sale_gain = liquidity.gain()
        if sale_gain is not None:  # last quarter's distress sales, taxed now
            gain = reusing(gain, xp.add, gain, sale_gain)  # a difference made above
    if paid is not None:
        investing = investing - paid
    if parts is not None:
        parts["capex"] = capex
        parts["disposal_proceeds"] = cash_proceeds if any_proceeds else 0.0
        parts["contract_payments"] = 0.0 if paid is None else paid
        parts["depreciation"], parts["gain"] = depreciation, gain  # the tax's deductions and gains
    floor = liquidity.prepayment_floor(t)
    moved = None if taken is None else _moved_draws(pl, sc, t, taken)
    step = finance_step(
        fin, state, t, ebitda, depreciation, gain, investing, pl.draws[t], pl.prepay[t],
        pl.scheduled[t], sc.rate_shift[t], xp, floor, moved, sc.spread_shift[t], pl.repaid[t],
        None if floor is None else _base_room(consts, pl, sc, taken, t, xp),
    )  # fmt: skip
    if floor is not None:
        liquidity.count_cut(step.prepayment_cut)
    return step


def _moved_draws(pl, sc, t: int, taken: Adjustments) -> DrawsMoved | None:
    """The GPU-backed draws the order rule moved into and out of quarter ``t`` (None: none)."""
    if taken.draws_in is None and taken.draws_out is None:
        return None
    draws = saved = owed = 0.0
    forgone = None
    if taken.draws_in is not None:
        drawn = taken.draws_in
        if taken.draws_cancelled is not None:  # a cancelled order's draws are never drawn
            drawn = drawn - taken.draws_cancelled
            forgone = taken.draws_cancelled[..., None] * pl.ltv_facility_draws[t - 1]
        draws = drawn * pl.ltv_draws[t - 1]
        saved = deferred_draws_interest(pl, t, taken.draws_in, sc.rate_shift[t])
    owed_forgone = None
    if taken.draws_out is not None:
        owed = taken.draws_out * pl.ltv_draws[t]
        draws = draws - owed
        owed_forgone = taken.draws_out[..., None] * pl.ltv_facility_draws[t]
    return DrawsMoved(draws, saved, owed, forgone, owed_forgone)


def _operations(consts, pl, sc, book: ContractBook, power: PowerShortfall, short: Shortfall | None,
                taken: Adjustments | None, t: int, served: Any, xp: Any,
                earned: Any = None, parts: dict | None = None) -> tuple:  # fmt: skip
    """EBITDA and GPUs in use (sold or delivered) in quarter ``t``; adds the market demand served
    (H100-equivalent GPUs) to ``served``, and (``earned``, None: not kept) what each generation's own
    market GPUs earn, less their electricity, to ``earned[:, :, g, t]``; updates the contract book.
    ``parts`` (None: not kept): filled with the quarter's ``contract_revenue``, ``market_revenue``
    (rule 5's idle GPUs' included), ``electricity``, ``fixed`` costs, contract ``penalty`` (USD, (P, S)
    or 0.0) and ``served``, each contract's GPUs delivered; EBITDA is revenue less the three costs.

    With ``short`` None every pair is fully powered; otherwise each site's planned draw is scaled
    by its powered share, and each use's GPUs by theirs. Both give the same bits for a pair whose
    every share is 1, so whether a quarter takes the short path (which depends on the other pairs
    simulated with it) cannot change a pair's result.
    """
    if parts is not None:
        parts["served"] = {}
    contract_revenue, delivered_gpus, penalty, freed = _contracts(consts, pl, sc, book, short, t, xp, parts)
    shares = None if short is None else short.market
    idle = book.policy.idle_gpus_to_market and bool(pl.idle.groups[t])
    safe = book.policy.freed_gpus_to_market or taken is not None or book.policy.idle_gpus_to_market
    excess = [sc.demand[0, t], sc.demand[1, t]] if idle else None  # demand the plan's market GPUs leave
    market_revenue, sold_gpus = _market(pl, sc, shares, freed, taken, safe, t, served, xp, earned, excess)
    if earned is not None:
        _less_market_electricity(earned, pl, sc, short, t)
    book.count_freed(freed)
    planned = pl.electricity_total[t] if short is None else over_sites(
        pl.electricity[:, t], short.phi, pl.used["electricity"][:, t]
    )
    fixed = pl.fixed_costs[t] if short is None else pl.fixed_costs[t] - short.fixed_saved
    if taken is not None:  # GPUs taken out draw no power and cost no opex
        for g in range(len(taken.market)):
            if taken.market[g] is not None and pl.gen_any["gen_market_electricity"][g, t]:
                planned = less_product(planned, taken.market[g], pl.gen_market_electricity[g, t], xp)
            if taken.held[g] is not None and pl.gen_any["gen_opex"][g, t]:
                fixed = less_product(fixed, taken.held[g], pl.gen_opex[g, t], xp)
        if short is not None:
            planned = _unpowered_taken(pl, short, taken.market, planned, t, xp)
    electricity = planned * sc.electricity_factor[t]
    ebitda = market_revenue + contract_revenue  # then the costs, in place: the parts are kept as they are
    ebitda = reusing(ebitda, xp.subtract, ebitda, electricity)
    ebitda = reusing(ebitda, xp.subtract, ebitda, fixed)
    if penalty is not None:
        ebitda = reusing(ebitda, xp.subtract, ebitda, penalty)
    used = sold_gpus + delivered_gpus
    if parts is not None:
        parts.update(contract_revenue=contract_revenue, market_revenue=market_revenue,
                     electricity=electricity, fixed=fixed, penalty=_zero(penalty))  # fmt: skip
    if idle:  # policy rule 5: what the idle GPUs put to work earn, less their electricity at full draw
        net, idle_gpus = _idle_market(pl, sc, power, short, taken, excess, t, served, xp, parts)
        ebitda, used = reusing(ebitda, xp.add, ebitda, net), reusing(used, xp.add, used, idle_gpus)
    return ebitda, used


def _borrowing_base(consts: SimulationConstants, pl, sc, state: FinanceState, taken: Adjustments | None,
                    t: int, xp: Any) -> dict | None:  # fmt: skip
    """The borrowing base's quantities at the end of quarter ``t`` (None: not tested then): the
    collateral the GPU-secured balances need, the plan's and those kept by cut prepayments, less
    those the pair never drew and the GPU-backed draws deferred to the next quarter; and the GPUs'
    gross resale value at the scenario's resale values, less the GPUs taken out (docs/evaluation.md,
    "Covenants")."""
    if not any(test.kind.facility_test and test.tested[t] for test in consts.covenants):
        return None
    fin = consts.financing
    required = collateral_required(fin, state.balance, xp)
    if state.kept is not None:
        for f in np.flatnonzero(fin.collateral_weight):
            required = required + fin.collateral_weight[f] * state.kept[..., f]
    if state.forgone is not None:  # the draws of cancelled orders, never drawn
        for slot, f in enumerate(state.forgone_facilities):
            required = less_product(required, fin.collateral_weight[f], state.forgone[..., slot], xp)
    value = pl.collateral[t]
    if taken is not None:
        if taken.draws_out is not None:
            required = less_product(required, taken.draws_out, pl.ltv_collateral[t], xp)
        for g, share in enumerate(taken.held):
            if share is not None:
                value = less_product(value, share, pl.gen_collateral[g, t], xp)
    return {"collateral_required": required, "collateral": value * sc.resale_factor[t]}


def _base_room(consts: SimulationConstants, pl, sc, taken: Adjustments | None, t: int, xp: Any):
    """The borrowing base's room for the prepayment rule in quarter ``t``, a function of the finance
    state: the GPUs' collateral value less the collateral required, USD (P, S), as the base's test
    computes it (:func:`_borrowing_base`), lowered to the least of the later quarters' as projected
    (:func:`_later_base_change`): a balance kept stays owed; None where the base is not tested in
    ``t`` (the prepayment rule may then cut it all)."""

    def room(state: FinanceState) -> Any:
        base = _borrowing_base(consts, pl, sc, state, taken, t, xp)
        return (base["collateral"] - base["collateral_required"]) + _later_base_change(pl, sc, t, xp)

    tested = any(test.kind.facility_test and test.tested[t] for test in consts.covenants)
    return room if tested else None


def _later_base_change(pl, sc, t: int, xp: Any) -> Any:
    """(P, S) USD, at most 0: the least change from quarter ``t`` to a later quarter u of the plan's
    own room in the borrowing base, its GPUs' value at the scenario's resale factor of ``t`` less the
    collateral its balances need: f_t (C_u - C_t) - (N_u - N_t) (docs/evaluation.md, policy rule 3).
    The kernel's fo_later_base_change computes it in the same order."""
    least = 0.0
    for u in range(t + 1, len(pl.collateral)):
        change = sc.resale_factor[t] * (pl.collateral[u] - pl.collateral[t])
        least = xp.minimum(least, change - (pl.collateral_required[u] - pl.collateral_required[t]))
    return least


def _covenants(consts: SimulationConstants, t: int, flows: dict, ebitda: Any, step: QuarterFinance,
               base: dict | None, xp: Any) -> Any:  # fmt: skip
    """(P, S) the covenants quarter ``t`` misses (fleetopt/core/covenants.py): a sum of their kinds'
    bits, 0 where none is; None where none is tested in ``t``. ``base``: the borrowing base's
    quantities (:func:`_borrowing_base`)."""
    window = consts.covenant_window
    quarter = {"ebitda": ebitda, "debt_service": step.debt_service, "interest": step.interest,
               "ebitda_less_tax": ebitda - step.tax}  # fmt: skip
    if window > 1:  # the flows of the last quarters, tested or not, for the trailing averages
        for name in FLOWS:
            flows[name] = [*flows[name][1 - window :], quarter[name]]
    tests = [test for test in consts.covenants if test.tested[t]]
    if not tests:
        return None
    values = {"debt": step.debt, "cash": step.cash, **(base or {})}
    if any(test.kind.numerator == "net_debt" for test in tests):
        values["net_debt"] = net_debt(step.debt, step.cash, xp)
    for name in FLOWS:
        values[name] = window_mean(flows[name], window) if window > 1 else quarter[name]
    missed = None  # one kind per test, so the sum of their bits is the mask
    for test in tests:
        bits = test.breached(values, xp) * float(kind_bit(test.kind))
        missed = plus_over(missed, bits, xp)
    return missed


class ContractBook:
    """Each contract's state in every pair: live (1.0) or ended (0.0: customer default or
    cancellation), with the policy's late quarters, and which reactions each pair has had.

    The status is updated lazily, in the quarters a plan serves the contract: customer defaults are
    permanent, so catching up on the quarters a contract was not looked at gives the same status."""

    def __init__(self, status: Any, late: Any, policy: Policy, first_default: np.ndarray, xp: Any):
        self.status, self.late, self.policy, self.xp = status, late, policy, xp
        # (K,) the first quarter in which some pair may have ended the contract (T: none yet)
        self.first_end = first_default.copy()
        shape = status.shape[1:]
        self.flags = {name: xp.zeros(shape, dtype=bool) for name in CONTRACT_REACTIONS if name != "freed"}
        self.freed_gpus = None  # GPU-quarters offered on the market after their contract ended

    @classmethod
    def opening(cls, pl, scen: ScenarioSet, shape: tuple[int, int], policy: Policy, xp: Any) -> ContractBook:
        status = xp.empty((pl.K, *shape))
        status[...] = pl.accepted
        late = xp.zeros((pl.K, *shape)) if policy.reschedule_late_contracts else None
        alive = np.asarray(scen.factors["contract_alive"])  # (S, K, T)
        every = alive.all(axis=0) if alive.shape[0] else np.ones(alive.shape[1:], dtype=bool)  # (K, T)
        T = every.shape[1]
        first_default = np.array([T if a.all() else int(np.argmin(a)) for a in every], dtype=np.int64)
        return cls(status, late, policy, first_default, xp)

    def may_have_ended(self, k: int, t: int) -> bool:
        """Whether contract ``k`` may have ended by quarter ``t`` in some pair (a customer default in
        some scenario, or a cancellation): before that, freeing its GPUs adds exactly nothing."""
        return t >= self.first_end[k]

    def cancelled_at(self, k: int, t: int) -> None:
        self.first_end[k] = min(self.first_end[k], t)

    def flag(self, name: str, happened: Any, pairs: Pairs | None = None) -> None:
        """Record that ``name`` happened (at ``pairs``; None: ``happened`` is (P, S))."""
        if pairs is None:
            self.flags[name] |= happened
        else:
            pairs.flag(self.flags[name], happened)

    def count_freed(self, freed: FreedCapacity) -> None:
        for gpus in freed.gpus:  # the quarter's own arrays, read by the market before: added to in place
            if gpus is not None:
                self.freed_gpus = plus_over(self.freed_gpus, gpus, self.xp)

    def reactions(self) -> dict[str, Any]:
        xp = self.xp
        out = {name: flags.astype(xp.float64) for name, flags in self.flags.items()}
        freed = xp.zeros(self.status.shape[1:]) if self.freed_gpus is None else self.freed_gpus > 0
        out["freed"] = freed.astype(xp.float64)
        return out


@dataclass
class FreedCapacity:
    """GPUs of contracts that ended early, offered on their use's market this quarter: H100-
    equivalent supply and GPUs by use, forecast-price revenue by (use, generation), each (P, S)
    (None: nothing). Each contract adds its GPUs at the pairs where it has ended (:meth:`add`)."""

    supply: list = field(default_factory=lambda: [None, None])
    gpus: list = field(default_factory=lambda: [None, None])
    revenue: dict = field(default_factory=dict)

    def add(self, kind: str, key: Any, pairs: Pairs, x: Any) -> None:
        """Add ``x`` at ``pairs`` to the ``kind`` ("supply", "gpus" or "revenue") of ``key`` (a
        use, or (use, generation)): the other pairs add exactly 0.0, which changes nothing."""
        if kind == "revenue":
            self.revenue[key] = pairs.added(self.revenue.get(key), x)
        else:
            table = getattr(self, kind)
            table[key] = pairs.added(table[key], x)


def _contracts(consts, pl, sc, book: ContractBook, short: Shortfall | None, t: int, xp: Any,
               parts: dict | None = None) -> tuple:  # fmt: skip
    """Revenue, GPUs delivered, penalties (None: none) and freed capacity of the contracts in
    quarter ``t``; updates the ``book`` (and ``parts["served"]``, each contract's GPUs delivered).

    A contract no plan serves or owes GPUs this quarter adds nothing and is skipped (adding 0.0
    changes no bits, so the skipping cannot make a pair's result depend on the other plans in its
    chunk). Status is 1.0 or 0.0: multiplying by it is exact and much cheaper than selecting.
    Every pair is first computed as delivered in full; the pairs where some site lacks power, and
    those of plans that serve the contract with fewer GPUs than it has (:func:`_short_pairs`), are
    then computed again on their own with their shares.
    """
    revenue = gpus = penalty = None
    shape = book.status.shape[1:]
    freed = FreedCapacity()
    status = book.status
    for k in pl.served_contracts[t]:
        used = pl.used["contract_gpus"][k, :, t]
        alive = sc.alive_row(k, t)
        owing = pl.owing.get((k, t))  # plans that serve it with fewer GPUs than it has
        power_short = short is not None and not fully_powered(short.contract, used)
        partly = power_short or owing is not None
        if partly:
            pairs, phi = _short_pairs(short if power_short else None, owing, len(used), shape, xp)
            before = pairs.take(status[k])
        status[k] *= alive
        served = pl.contract_total[k, t] * status[k]
        if partly:
            delivered = over_sites_at(pairs, pl.contract_gpus[k, :, t], phi, used)
            if t >= consts.contract_deadline[k]:
                paid = _late_contract(consts, pl, sc, book, k, t, pairs, before, delivered)
                penalty = pairs.added(penalty, paid)
            pairs.put(served, delivered * pairs.take(status[k]))
        revenue = plus_over(revenue, consts.contract_revenue_per_gpu[k] * served, xp)
        if parts is not None:
            parts["served"][int(k)] = served.copy()
        gpus = plus_over(gpus, served, xp)  # the first contract's served, added to in place
        if book.policy.freed_gpus_to_market and book.may_have_ended(k, t):
            _free(consts, pl, book, k, short, t, freed, xp)
    return _zero(revenue), _zero(gpus), penalty, freed


def _short_pairs(short: Shortfall | None, owing: Any, sites: int, shape: tuple[int, int], xp: Any) -> tuple:
    """The pairs a contract is computed at on its own this quarter, and each site's contract share
    there (None: 1): the pairs short of power (``short``; None: none), and every pair of the plans
    ``owing`` it GPUs they do not serve ((P, 1) bool; None: none)."""
    if owing is None:
        return short.contract_pairs(shape, xp)
    mask = xp.broadcast_to(owing, shape)
    if short is not None:
        mask = mask | short.contract_mask(shape, xp)
    pairs = Pairs.where(mask, shape, xp)
    return pairs, [None] * sites if short is None else short.contract_shares_at(pairs)


def _late_contract(consts, pl, sc, book: ContractBook, k: int, t: int, pairs: Pairs, before: Any,
                   delivered: Any) -> Any:  # fmt: skip
    """At ``pairs`` short of power, or of plans serving the contract with fewer GPUs than it has
    (:func:`_short_pairs`), at or after contract ``k``'s deadline, with its status
    ``before`` this quarter and GPUs ``delivered``: late, or cancelled with its penalty
    (:func:`_late_delivery`), where its customer is still live; updates its status there. Returns
    the penalty paid there."""
    undelivered = delivered < pairs.take(pl.contract_required[k, t]) * (1.0 - REL) - REL
    # a customer that defaults this quarter ends the contract without penalty: not late, not cancelled
    live = before * pairs.take(sc.alive_row(k, t))
    paid, ended = _late_delivery(consts, book, k, t, pairs, live, undelivered)
    pairs.put(book.status[k], live * (1.0 - ended))
    return paid


def _late_delivery(consts, book: ContractBook, k: int, t: int, pairs: Pairs, live: Any,
                   undelivered: Any) -> tuple:  # fmt: skip
    """A contract delivered short at or after its deadline, ``live`` (1.0: neither ended before this
    quarter nor its customer defaulted in it) at ``pairs``: (penalty paid, 1.0 where it ends now).
    Open loop: it is cancelled with its cancellation penalty. Rescheduled: the quarter is late (it
    earns on the GPUs delivered and pays the delay penalty) until the late quarters exceed the
    allowance, which cancels it."""
    short_now = live * undelivered
    if book.late is None:
        book.flag("cancelled", short_now > 0, pairs)
        book.cancelled_at(k, t)
        return consts.contract_penalty[k] * short_now, short_now
    late_quarters = pairs.take(book.late[k]) + short_now
    pairs.put(book.late[k], late_quarters)
    cancelled = short_now * (late_quarters > consts.delay_allowance[k])
    late = short_now - cancelled
    book.flag("rescheduled", late > 0, pairs)
    ended = cancelled > 0
    book.flag("cancelled", ended, pairs)
    if ended.any():
        book.cancelled_at(k, t)
    paid = consts.contract_penalty[k] * cancelled + consts.delay_penalty[k] * late
    return paid, cancelled


def _free(consts, pl, book: ContractBook, k: int, short: Shortfall | None, t: int, freed: FreedCapacity,
          xp: Any) -> None:  # fmt: skip
    """Offer the planned GPUs of contract ``k`` on its use's market at the pairs where it has
    ended and the plan has some to offer (they keep the power the plan gave the contract: its
    powered share). The other pairs would add exactly 0.0 (status 1.0, or nothing planned)."""
    status = book.status[k]
    ended = status == 0.0
    if not pl.every_plan_offers[k, t]:
        ended &= pl.freed_plans[k, t]
    pairs = Pairs.where(ended, status.shape, xp)
    if pairs.size == 0:
        return
    u = int(consts.contract_use[k])
    used = pl.used["contract_gpus"][k, :, t]
    powered = short is None or fully_powered(short.contract, used)
    phi = None if powered else [None if p is None else pairs.take(p) for p in short.contract]
    if powered:
        supply, gpus = pairs.take(pl.freed_supply_total[k, t]), pairs.take(pl.contract_total[k, t])
    else:
        supply = over_sites_at(pairs, pl.freed_supply[k, :, t], phi, pl.used["freed_supply"][k, :, t])
        gpus = over_sites_at(pairs, pl.contract_gpus[k, :, t], phi, used)
    freed.add("supply", u, pairs, supply)
    freed.add("gpus", u, pairs, gpus)
    for g in pl.freed_generations[k][t]:
        base = (
            pairs.take(pl.freed_revenue_total[k, g, t])
            if powered
            else over_sites_at(pairs, pl.freed_revenue[k, g, :, t], phi, pl.used["freed_revenue"][k, g, :, t])
        )
        freed.add("revenue", (u, g), pairs, base)


def _zero(total: Any) -> Any:
    return 0.0 if total is None else total


def _market(pl, sc, shares, freed: FreedCapacity, taken: Adjustments | None, safe: bool, t: int,
            served: Any, xp: Any, earned: Any = None,
            excess: list | None = None) -> tuple[Any, Any]:  # fmt: skip
    """Market revenue and GPUs sold in quarter ``t``: planned sales scaled by their uses' powered
    ``shares`` (None: fully powered), with the ``freed`` capacity and without the GPUs ``taken`` out
    (policy), capped by demand; each use's demand served (H100-equivalent GPUs) is added to
    ``served``, the (P, S) total. ``safe``: the policy's demand cap, which also holds where the offer
    is changed per pair (the same numbers wherever the plan's supply is positive). ``earned``
    (None: not kept): each generation's revenue from the plan's own market GPUs (not the freed
    ones), within power and demand, is added to ``earned[:, :, g, t]``. ``excess`` (None: not kept;
    given only with ``safe``): each use's demand, replaced by what of it the use's sales leave."""
    revenue_total = sold_total = None
    for u in range(2):
        if not pl.any_market[u, t] and freed.supply[u] is None:
            continue
        phi = None if shares is None else shares[u]
        powered, supply, gpus = _powered_offer(pl, phi, u, t)
        revenue, own = _use_revenue(pl, sc, phi, powered, freed, taken, safe, u, t, xp, earned is not None)
        supply, gpus, made = _less_taken_out(pl, taken, supply, gpus, phi, powered, u, t, xp)
        cap = sc.demand[u, t]
        scale, supply, gpus = _demand_scale(pl, freed, cap, supply, gpus, made, safe, powered, u, t, xp)
        revenue_total = plus_over(revenue_total, reusing(revenue, xp.multiply, revenue, scale), xp)
        for g, value in own:
            earned[:, :, g, t] += value * scale
        if safe:  # supply and gpus are this quarter's own arrays (else they may be the plans' columns)
            gpus = reusing(gpus, xp.multiply, gpus, scale)
            supply = reusing(supply, xp.multiply, supply, scale)
        else:
            gpus, supply = gpus * scale, supply * scale
        sold_total, sold = plus_over(sold_total, gpus, xp), supply
        served += sold  # each use straight into the pair's total, as the kernel adds it
        if excess is not None:
            excess[u] = xp.maximum(cap - sold, 0.0)
    return _zero(revenue_total), _zero(sold_total)


def _powered_offer(pl, phi: list | None, u: int, t: int) -> tuple[bool, Any, Any]:
    """Whether every site use ``u`` sells from in quarter ``t`` is powered (``phi``, its site
    shares; None: all), and the planned supply and GPUs offered that have power: the plans' site
    totals where all do (the same bits as the weighted sums with every weight 1)."""
    used = pl.used["market_revenue"][u, :, :, t]  # (G, I)
    powered = phi is None or (
        fully_powered(phi, pl.used["supply"][u, :, t] | pl.used["market_gpus"][u, :, t] | used.any(axis=0))
    )
    if powered:
        return powered, pl.supply_total[u, t], pl.market_gpus_total[u, t]
    supply = over_sites(pl.supply[u, :, t], phi, pl.used["supply"][u, :, t])
    gpus = over_sites(pl.market_gpus[u, :, t], phi, pl.used["market_gpus"][u, :, t])
    return powered, supply, gpus


def _use_revenue(pl, sc, phi: list | None, powered: bool, freed: FreedCapacity, taken: Adjustments | None,
                 safe: bool, u: int, t: int, xp: Any, keep_own: bool) -> tuple[Any, list]:  # fmt: skip
    """Use ``u``'s market revenue in quarter ``t`` at the scenario's prices, before the demand cap:
    each generation's powered sales (less the GPUs ``taken`` out, with ``safe``) plus its ``freed``
    capacity's; and, with ``keep_own``, each generation's from the plan's own GPUs as (g, revenue)
    pairs, for ``earned`` (0.0 where nothing is sold)."""
    used = pl.used["market_revenue"][u, :, :, t]  # (G, I)
    revenue, own = None, []
    generations = set(pl.generations_sold[u][t]) | {g for (v, g) in freed.revenue if v == u}
    for g in sorted(generations):
        base = (
            pl.market_revenue_total[u, g, t]
            if powered
            else over_sites(pl.market_revenue[u, g, :, t], phi, used[g])
        )
        if safe:  # less the plan's own market GPUs taken out, floored at 0 (:func:`_offered_revenue`)
            base = _offered_revenue(base, None if taken is None else taken.market[g], xp)
        if keep_own:
            own.append((g, base * sc.price_factor[g, t]))
        made = safe  # _offered_revenue's array, written over from here on
        if (u, g) in freed.revenue:  # freed GPUs are never taken out
            base, made = _over_if(made, xp.add, base, freed.revenue[u, g]), True
        revenue = plus_over(revenue, _over_if(made, xp.multiply, base, sc.price_factor[g, t]), xp)
    return _zero(revenue), own


def _less_taken_out(pl, taken: Adjustments | None, supply: Any, gpus: Any, phi: list | None, powered: bool,
                    u: int, t: int, xp: Any) -> tuple[Any, Any, dict]:  # fmt: skip
    """Use ``u``'s ``supply`` and ``gpus`` offered less what the GPUs ``taken`` out by the policy
    would have supplied and counted (:func:`_taken_out`), and which of the two are arrays made
    here (so later steps may write over them; else they may be the plans' own columns)."""
    made = {"supply": False, "gpus": False}
    if taken is None:
        return supply, gpus, made
    for g, share in enumerate(taken.market):
        if share is not None:
            if pl.gen_any["gen_market_supply"][u, g, t]:
                out = _taken_out(pl, share, "supply", u, g, phi, powered, t, xp)
                supply, made["supply"] = reusing(out, xp.subtract, supply, out), True
            if pl.gen_any["gen_market_count"][u, g, t]:
                out = _taken_out(pl, share, "count", u, g, phi, powered, t, xp)
                gpus, made["gpus"] = reusing(out, xp.subtract, gpus, out), True
    return supply, gpus, made


def _demand_scale(pl, freed: FreedCapacity, cap: Any, supply: Any, gpus: Any, made: dict, safe: bool,
                  powered: bool, u: int, t: int, xp: Any) -> tuple[Any, Any, Any]:  # fmt: skip
    """The share of use ``u``'s offer that demand ``cap`` takes in quarter ``t``: cap / supply where
    demand binds, else exactly 1; with the policy's cap (``safe``), the offer (returned with it)
    first gets the ``freed`` capacity and is floored at 0; without it, the cheaper division where
    every plan supplies the market or sells nothing in it."""
    if safe:
        # 0 where nothing is offered; a plan's supply that is negative by round-off counts as nothing
        if freed.supply[u] is not None:
            supply = _over_if(made["supply"], xp.add, supply, freed.supply[u])
            gpus = _over_if(made["gpus"], xp.add, gpus, freed.gpus[u])
            made = {"supply": True, "gpus": True}
        supply = _over_if(made["supply"], xp.maximum, supply, 0.0)
        gpus = _over_if(made["gpus"], xp.maximum, gpus, 0.0)
        bound = xp.minimum(cap, supply)
        return reusing(bound, xp.divide, bound, xp.maximum(supply, TINY)), supply, gpus
    if powered and pl.supply_positive_or_idle[u, t]:
        return xp.minimum(cap, supply) / pl.supply_safe[u, t], supply, gpus  # supply / supply: exactly 1
    return xp.where(supply > cap, cap / xp.where(supply > 0, supply, 1.0), 1.0), supply, gpus


def _over_if(made: bool, ufunc: Any, a: Any, b: Any) -> Any:
    """``ufunc(a, b)``, written over ``a`` where it was ``made`` by this step (:func:`reusing`)."""
    return reusing(a, ufunc, a, b) if made else ufunc(a, b)


def _offered_revenue(base: Any, taken: Any, xp: Any) -> Any:
    """A generation's powered market revenue ``base`` at forecast prices less the share ``taken``
    out of its market GPUs (None: none in any pair; the use's shares are those of the GPUs left),
    as their supply and GPUs in :func:`_market`, floored at 0 so revenue follows the GPUs sold.
    Floored in every pair, taken out or not, as the kernel's fo_market_revenue: a plan's revenue
    negative by round-off must not count only where some plan simulated with it has GPUs taken
    out. Where nothing is taken out, ``base - 0.0 * base`` is ``base`` to the bit."""
    if taken is None:
        return xp.maximum(base, 0.0)
    offered = less_product(base, taken, base, xp)
    return reusing(offered, xp.maximum, offered, 0.0)


def _idle_market(pl, sc, power: PowerShortfall, short: Shortfall | None, taken: Adjustments | None,
                 excess: list, t: int, served: Any, xp: Any,
                 parts: dict | None = None) -> tuple[Any, Any]:  # fmt: skip
    """Policy rule 5 (``idle_gpus_to_market``, docs/evaluation.md): the GPUs the plans hold idle in
    quarter ``t``, offered group by group (``pl.idle.groups``: site, use, generation) to the demand
    their use's market GPUs leave (``excess``, drawn down), within the MW each site has online
    beyond its planned draw (drawn down); a group sells the share x = min(1, excess / its supply,
    MW left / its added MW), none where its generation has GPUs taken out by the policy or the
    scenario's price does not cover its added electricity. Adds the demand served to ``served``;
    returns what they earn less that electricity (at the scenario's prices), and the GPUs sold (the
    two added to ``parts``' market revenue and electricity, :func:`_operations`). The kernel's
    fo_idle_market, operation for operation."""
    revenue = gpus = extra = None
    left = {}  # each site's MW online beyond its planned draw, as it is used
    idle = pl.idle
    for i, u, g in idle.groups[t]:
        if i not in left:  # the plan's where no pair is short (no block late), else the scenario's
            online = None if short is None else power.online(i, t)
            left[i] = idle.headroom[i, t] if online is None else xp.maximum(online - idle.drawn[i, t], 0.0)
        table = {name: column[u, g, i, t] for name, column in idle.tables.items()}
        supply, mw, count = table["supply"], table["mw"], table["gpus"]
        base, bill = table["revenue"], table["electricity"]
        x = xp.minimum(1.0, excess[u] / xp.where(supply > 0, supply, 1.0))
        x = xp.where(mw > 0, xp.minimum(x, left[i] / xp.where(mw > 0, mw, 1.0)), x)
        offered = (count > 0) & (base * sc.price_factor[g, t] > bill * sc.electricity_factor[t])
        if taken is not None and taken.held[g] is not None:
            offered = offered & ~(taken.held[g] > 0)
        x = xp.where(offered, x, 0.0)
        sold = supply * x
        excess[u] = xp.maximum(excess[u] - sold, 0.0)
        left[i] = xp.maximum(left[i] - mw * x, 0.0)
        served += sold
        revenue = plus(revenue, (base * x) * sc.price_factor[g, t])
        gpus = plus(gpus, count * x)
        extra = plus(extra, bill * x)
    if parts is not None:
        parts["market_revenue"] = parts["market_revenue"] + _zero(revenue)
        parts["electricity"] = parts["electricity"] + _zero(extra) * sc.electricity_factor[t]
    return _zero(revenue) - _zero(extra) * sc.electricity_factor[t], _zero(gpus)


def _less_market_electricity(earned: Any, pl, sc, short: Shortfall | None, t: int) -> None:
    """Take from ``earned[:, :, g, t]`` the electricity of generation g's market GPUs in quarter
    ``t`` at the scenario's price: of those powered, each use's share at each site (``short``; None:
    all of them)."""
    for g in np.flatnonzero(pl.gen_any["gen_market_electricity"][:, t]):
        if short is None:  # the plan's total, summed as below with every share 1
            bill = pl.gen_market_bill[g, t]
        else:
            site = pl.gen_site_market["electricity"]
            used = pl.used["gen_site_market"]
            bill = sum(over_sites(site[u, g, :, t], short.market[u], used[u, g, :, t]) for u in range(2))
        earned[:, :, g, t] -= bill * sc.electricity_factor[t]


def _taken_out(pl, share: Any, name: str, u: int, g: int, phi: list | None, powered: bool, t: int,
               xp: Any) -> Any:  # fmt: skip
    """The market ``name`` ("supply" or "count") of use ``u`` the GPUs of generation ``g`` taken out
    remove: ``share`` of what of the forecast's is powered (``phi``, the use's site shares, those of
    the GPUs left; ``powered``: every used site's share is 1), so that one generation's removal
    never takes another's; ``share`` x the forecast's floored at 0, to the bit, wherever nothing
    lacks power (so whether other pairs of the batch lack it changes nothing)."""
    forecast = getattr(pl, f"gen_market_{name}")[u, g, t]
    if powered:
        return share * xp.maximum(forecast, 0.0)
    lost = unpowered(pl.gen_site_market[name][u, g, :, t], phi, pl.used["gen_site_market"][u, g, :, t])
    left = _less(forecast, lost, xp)
    return reusing(left, xp.multiply, share, left)


def _less(forecast: Any, lost: Any, xp: Any) -> Any:
    """What of a ``forecast`` quantity is powered, less what of it lacks power (``lost``, an array
    :func:`unpowered` made, written over; None: nothing), floored at 0 (a forecast negative by
    round-off counts as nothing, lost or not)."""
    if lost is None:
        return xp.maximum(forecast, 0.0)
    left = reusing(lost, xp.subtract, forecast, lost)
    return reusing(left, xp.maximum, left, 0.0)


def _power_left(power: PowerShortfall, pl, short: Shortfall | None, taken: Adjustments | None,
                t: int) -> Shortfall | None:  # fmt: skip
    """``short`` with each short site's MW given to the GPUs left after the policy's takeout
    (:meth:`PowerShortfall.after_taken`): the market MW the GPUs of each generation taken out
    would have drawn there, its taken share of its GPUs' MW at the site, by use. ``short`` itself
    where nothing is taken out at a short site."""
    if short is None or taken is None:
        return short
    taken_mw = []
    for i, phi in enumerate(short.phi):
        by_use = [None] if phi is None else [_taken_at(pl, taken.market, "mw", (u,), i, t) for u in (0, 1)]
        taken_mw.append(None if all(mw is None for mw in by_use) else tuple(by_use))
    return short if all(mw is None for mw in taken_mw) else power.after_taken(short, taken_mw, t)


def _taken_at(pl, shares: list, name: str, uses: tuple, i: int, t: int) -> Any:
    """The market ``name`` ("mw" or "electricity") at site ``i`` of the GPUs taken out (by
    generation ``shares`` of their market GPUs, None: none) in ``uses``, uses then generations in
    order; None where nothing is taken out there."""
    total = None
    for u in uses:
        for g, share in enumerate(shares):
            if share is not None and pl.used["gen_site_market"][u, g, i, t]:
                total = plus(total, share * pl.gen_site_market[name][u, g, i, t])
    return total


def _unpowered_taken(pl, short: Shortfall, shares: list, planned: Any, t: int, xp: Any) -> Any:
    """The ``planned`` electricity (the powered draw less the forecast electricity of the market
    GPUs taken out, by generation ``shares``) plus, at each short site, what of the GPUs taken out
    had no power: their electricity there, at most the site's unpowered draw. So a short site draws
    its MW online, or its planned draw less the GPUs taken out where that is less; ``planned`` to
    the bit wherever nothing lacks power (an unpowered draw of 0.0)."""
    for i, phi in enumerate(short.phi):
        taken = None if phi is None else _taken_at(pl, shares, "electricity", (0, 1), i, t)
        if taken is not None:
            planned = planned + xp.minimum(taken, (1.0 - phi) * pl.electricity[i, t])
    return planned


TINY = 1e-300  # below any positive supply: dividing by it only where the supply is 0
