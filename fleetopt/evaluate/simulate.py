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

This module holds the quarter loop, the running totals (the NPV and its variants, the debt at a
default) and the end term; each quarter step is a module of its own: the contracts
(:mod:`~fleetopt.evaluate.contract_book`), the market and costs
(:mod:`~fleetopt.evaluate.operations`), the financing (:mod:`~fleetopt.evaluate.financing`) and the
covenant tests (:mod:`~fleetopt.evaluate.covenant_tests`); what it returns per pair is
:mod:`~fleetopt.evaluate.result_fields`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, NamedTuple

import numpy as np

from fleetopt.core.arrays import plus, reusing
from fleetopt.core.covenants import FLOWS, CovenantTest, CureRights, cash_covers_debt
from fleetopt.core.data import ContractPayments, ModelData, capacity_steps
from fleetopt.core.economics.debt import FinanceState, Financing, term_debt
from fleetopt.core.economics.operating import (
    contract_revenue_per_gpu,
    opening_fleet_value,
    site_fixed_cost_per_mw,
)
from fleetopt.core.economics.policy_balances import LIQUIDITY_TOLERANCE_USD
from fleetopt.core.economics.quarter_finance import QuarterFinance
from fleetopt.core.economics.taxes import liquidation_tax
from fleetopt.evaluate.contract_book import ContractBook, contract_payments, deferred_revenue_end
from fleetopt.evaluate.covenant_tests import borrowing_base, covenants_missed
from fleetopt.evaluate.factors import contracts_cut
from fleetopt.evaluate.financing import prepay_borrowing_base, quarter_financing
from fleetopt.evaluate.layout import PlanColumns, PowerShortfall, ScenarioRows
from fleetopt.evaluate.liquidity import Adjustments, Liquidity, taken_share
from fleetopt.evaluate.operations import power_left, quarter_operations
from fleetopt.evaluate.pairs import Pairs
from fleetopt.evaluate.planbatch import PlanBatch
from fleetopt.evaluate.result_fields import (
    DEBT_AT_DEFAULT,
    DEBT_AT_UNCURED,
    END_TERM_PARTS,
    MARKET_EARNED,
    PRESENT_COST,
)
from fleetopt.evaluate.scenarios import ScenarioSet, forecast_scenario
from fleetopt.schema.policy import Policy


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
    contracts_cut: int = 0  # rows of the factor contract_kept_share (risk.contract_scale_back): K or 0
    opening_fleet_value: float = 0.0  # V0 of the present cost (core.economics.operating.opening_fleet_value)
    # each pair's present cost (PRESENT_COST) computed too: only where asked (plans solved for least cost)
    present_cost: bool = False

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
            contracts_cut=contracts_cut(data),
            opening_fleet_value=opening_fleet_value(data),
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
    GPUs earn (:func:`~fleetopt.evaluate.operations._market`,
    :func:`~fleetopt.evaluate.operations._less_market_electricity`; the forecast run's, for policy
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
    parts = None if watch is None and not consts.present_cost else {}
    for t in range(T):
        quarter = run.quarter(t, totals.demand_served, earned, parts)  # quarter steps 1-5
        totals.liquidity_default(run, quarter.step, t)
        totals.add_discounted_cash(quarter.step.cash, t)
        if consts.present_cost:
            totals.add_discounted_cost(parts, quarter.step, run.liquidity, t)
        tested = totals.covenants(run, quarter, t) if consts.covenants else _UNTESTED  # quarter step 6
        totals.count_quarter(quarter.gpus_used, run.pl.inv_held[t])
        if watch is not None:
            watch(t, _watched(run, totals, quarter, tested, parts))
        if record:
            _record(paths, quarter, tested[0], t)
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
    gpus_used: Any  # GPUs sold or delivered (quarter_operations)
    step: QuarterFinance  # its financing, with the cash after the revolver and the distress sales
    base: dict | None  # the borrowing base after policy rule 6 where the rule is on (None: not tested)


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
        contracts, market and costs (2-4, :func:`~fleetopt.evaluate.operations.quarter_operations`;
        ``served``, ``earned``, ``parts`` as it takes them), the financing (5) and the distress sales
        (rule 4)."""
        consts, pl, sc, xp = self.consts, self.pl, self.sc, self.xp
        taken = self.liquidity.orders(t, self.state, sc)
        # the contracts' status before this quarter's
        paid = contract_payments(consts.contract_payments, pl, sc, self.book.status, t)
        short = power_left(self.power, pl, self.power.quarter(t), taken, t)
        ebitda, gpus_used = quarter_operations(consts, pl, sc, self.book, self.power, short, taken, t, served,
                                               xp, earned, parts)  # fmt: skip
        step = quarter_financing(consts, self.state, pl, sc, t, ebitda, taken, self.liquidity, paid, xp,
                                 parts)  # fmt: skip
        base = None
        if consts.policy.prepay_borrowing_base:
            base = prepay_borrowing_base(consts, self.state, pl, sc, t, taken, self.liquidity, step, xp)
        self.liquidity.sell(t, self.state, sc.resale_factor[t])  # moves cash alone: the base stands
        step.cash = self.state.cash
        return _Quarter(taken, ebitda, gpus_used, step, base)

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
        # the present cost (docs/evaluation.md, "The present cost"): V0, then each quarter's, where asked
        self.present_cost = xp.full(shape, consts.opening_fleet_value) if consts.present_cost else None
        self.distress_sold = 0.0  # the distress sales' proceeds to date, to take each quarter's

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

    def add_discounted_cost(self, parts: dict, step: QuarterFinance, liquidity: Liquidity, t: int) -> None:
        """Add quarter ``t``'s discounted cost to the present cost (formulation §6, "Cost", on the
        pair's path): its opex (electricity, fixed costs and penalties: revenue less EBITDA), its capex
        paid less its disposals' proceeds and its distress sales' (``parts`` and ``liquidity``'s), and
        its interest (``step``'s)."""
        cost = parts["electricity"] + parts["fixed"] + parts["penalty"] + parts["capex"]
        cost = cost - parts["disposal_proceeds"] + step.interest
        sold = liquidity.usd.get("distress_sold_usd")
        if sold is not None:  # the proceeds of this quarter's distress sales
            cost = cost - (sold - self.distress_sold)
            self.distress_sold = sold.copy()
        self.present_cost += self.consts.discount[t] * cost

    def covenants(self, run: _Simulation, quarter: _Quarter, t: int) -> tuple:
        """Quarter step 6: the covenants tested in ``t``, the equity cures, and at an uncured breach
        the lenders' side of the event of default. Returns as ``_UNTESTED`` names."""
        consts, xp = self.consts, self.xp
        base = quarter.base  # policy rule 6's, where it is on; else built here
        if not consts.policy.prepay_borrowing_base:
            base = borrowing_base(consts, run.pl, run.sc, run.state, quarter.taken, t, xp)
        missed = covenants_missed(consts, t, self.flows, quarter.ebitda, quarter.step, base, xp)
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
        lowest cash are for good), and its GPUs used (a sum quarter_operations made) per GPU held."""
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
        if self.present_cost is not None:  # less the value at the end: the fleet at resale, power at book
            self.present_cost -= discount * (parts["fleet_sale_proceeds"] + parts["power_plant_book_value"])
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
            **({} if self.present_cost is None else {PRESENT_COST: self.present_cost}),
            **kept,
        }


def _watched(run: _Simulation, totals: _Totals, quarter: _Quarter, tested: tuple, parts: dict | None) -> dict:
    """What ``simulate(watch=...)`` is shown of a quarter: its own values (``parts``: its revenue
    and costs, :func:`~fleetopt.evaluate.operations.quarter_operations`'s, and the cash flows
    :func:`~fleetopt.evaluate.financing.quarter_financing` records; ``tested``: its covenants, as
    ``_UNTESTED`` names them) and the running state after it."""
    base, missed, accelerated = tested
    return {
        "parts": parts, "ebitda": quarter.ebitda,
        "step": quarter.step, "book": run.book, "liquidity": run.liquidity, "base": base, "missed": missed,
        "accelerated": accelerated, "cures": totals.cures, "solvent": totals.solvent,
    }  # fmt: skip


# the borrowing base's two sides, USD, by their names in a path's lines (0 where not tested, as path.csv)
BASE_LINES = {"collateral_required_usd": "collateral_required", "collateral_value_usd": "collateral"}


def _record(paths: dict, quarter: _Quarter, base: dict | None, t: int) -> None:
    """Quarter ``t``'s lines named in ``paths`` (``QuarterFinance.lines``, ``ebitda_usd`` and the
    borrowing base's sides, :data:`BASE_LINES`, from the quarter's covenants ``base``)."""
    lines = {**quarter.step.lines(), "ebitda_usd": quarter.ebitda,
             **{name: (base or {}).get(key, 0.0) for name, key in BASE_LINES.items()}}  # fmt: skip
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
    without the liquidity rules (policy rules 0, 3, 4 and 6: the order rule is what reads this).
    ``plans``' own ``forecast_cash_flow``, ``gen_market_earned`` and ``order_saving`` are not read."""
    rules_off = ("defer_orders", "distress_sales", "cut_prepayments", "prepay_borrowing_base")
    policy = data.policy.model_copy(update=dict.fromkeys(rules_off, False))
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
    return {"fleet_sale_proceeds": value, "fleet_book_value": fleet_book,
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

