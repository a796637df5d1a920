"""What the topic modules share while they build one model: the sparse index sets, the unit
coefficients (money already in model units) and the :class:`Builder` that adds constraint groups.

Variables exist only over valid index tuples (a cohort from its purchase quarter, a SKU only while
on sale, training only while eligible, a contract only over its term), never as dense cross
products (docs/formulation.md §2).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np
import pyomo.environ as pyo

from fleetopt.core.data import ModelData
from fleetopt.core.economics.debt import Financing
from fleetopt.core.economics.operating import (
    block_price_usd,
    contract_revenue_per_gpu,
    electricity_cost_per_mw,
    market_revenue_per_gpu,
    mw_per_gpu,
    site_fixed_cost_per_mw,
)
from fleetopt.milp.groups import ConstraintGroup, Slack
from fleetopt.milp.units import to_model_units
from fleetopt.schema.risk import Robustness


@dataclass
class IndexSets:
    """Sparse index tuples of the model and lookups used while building it."""

    buy: list[tuple[int, int, int]]
    cohort_quarters: list[tuple[int, int]]
    moves: list[tuple[int, int]]
    active: list[tuple[int, int, int, int]]
    serve: list[tuple[int, int, int, int]]
    build: list[tuple[int, int]]
    draw: list[tuple[int, int]]
    forced_retire: dict[int, int] = field(default_factory=dict)  # cohort -> quarter it must go
    cohorts_at: dict = field(default_factory=dict)  # (s, i, t) -> cohorts alive
    # lookups derived from the tuples above
    serve_at: dict = field(default_factory=dict)  # (u, s, i, t) -> contracts served from there
    serve_by_kt: dict = field(default_factory=dict)  # (k, t) -> (s, i) serving contract k in t
    market_terms: dict = field(default_factory=dict)  # (u, t) -> (s, i) with GPUs in service
    cohorts_by_t: dict = field(default_factory=dict)  # t -> cohorts alive
    moves_by_t: dict = field(default_factory=dict)  # t -> cohorts that may move or retire
    forced_by_t: dict = field(default_factory=dict)  # t -> cohorts that must retire
    first_quarter: dict = field(default_factory=dict)  # cohort -> its first quarter in the model
    move_keys: set = field(default_factory=set)  # the tuples of ``moves``, for membership tests
    buy_keys: set = field(default_factory=set)  # the tuples of ``buy``, for membership tests
    buy_by_t: dict = field(default_factory=dict)  # t -> (s, i) on sale at site i in t, in ``buy``'s order


def index_sets(data: ModelData) -> IndexSets:
    T = data.T
    buy = [(s, i, t) for s in range(data.S) for i in range(data.I) for t in range(T) if data.on_sale[s, t]]
    cohort_quarters, moves, forced = [], [], {}
    cohorts_at: dict = defaultdict(list)
    for c in data.cohorts:
        alive_ts = np.flatnonzero(data.alive[c.index])
        for t in alive_ts:
            cohort_quarters.append((c.index, int(t)))
            cohorts_at[(c.sku, c.site, int(t))].append(c.index)
            if c.existing or t > c.bought:
                moves.append((c.index, int(t)))
        if len(alive_ts) and alive_ts[-1] < T - 1:
            forced[c.index] = int(alive_ts[-1]) + 1
        elif not len(alive_ts) and c.existing:
            forced[c.index] = 0  # installed GPUs already past the maximum age go in the first quarter
    active = []
    for s, i, t in sorted(cohorts_at):
        for u in (0, 1):
            if u == 0 and not data.training_eligible[s, t]:
                continue
            active.append((u, s, i, t))
    active_set = set(active)
    serve = [
        (k, s, i, t)
        for k, con in enumerate(data.contracts)
        for s in con.skus
        for i in range(data.I)
        for t in range(con.start, con.end + 1)
        if (con.use, s, i, t) in active_set
    ]
    build = [(i, t) for i, site in enumerate(data.sites) for t in site.build_quarters]
    draw = [(f, t) for f, fac in enumerate(data.facilities) for t in fac.draw_quarters]
    ix = IndexSets(buy, cohort_quarters, moves, active, serve, build, draw, forced, dict(cohorts_at))
    _add_lookups(ix, data)
    return ix


def _add_lookups(ix: IndexSets, data: ModelData) -> None:
    serve_at, serve_by_kt, market_terms = defaultdict(list), defaultdict(list), defaultdict(list)
    for k, s, i, t in ix.serve:
        serve_at[(data.contracts[k].use, s, i, t)].append(k)
        serve_by_kt[(k, t)].append((s, i))
    for u, s, i, t in ix.active:
        market_terms[(u, t)].append((s, i))
    cohorts_by_t, moves_by_t, forced_by_t = defaultdict(list), defaultdict(list), defaultdict(list)
    for c, t in ix.cohort_quarters:
        cohorts_by_t[t].append(c)
        ix.first_quarter.setdefault(c, t)
    for c, t in ix.moves:
        moves_by_t[t].append(c)
    for c, t in ix.forced_retire.items():
        forced_by_t[t].append(c)
    buy_by_t = defaultdict(list)
    for s, i, t in ix.buy:
        buy_by_t[t].append((s, i))
    ix.serve_at, ix.serve_by_kt, ix.market_terms = serve_at, serve_by_kt, market_terms
    ix.cohorts_by_t, ix.moves_by_t, ix.forced_by_t = cohorts_by_t, moves_by_t, forced_by_t
    ix.move_keys, ix.buy_keys, ix.buy_by_t = set(ix.moves), set(ix.buy), buy_by_t


@dataclass
class Coefficients:
    """The unit coefficients of the model, from :mod:`fleetopt.core.economics` and ``ModelData``, with
    money converted to model units (MUSD) here and nowhere else. Per GPU unless stated.

    A rule summing over cohorts reads an entry as ``float(...)`` before it multiplies a Pyomo
    expression: a NumPy scalar on the left takes NumPy's ufunc path, which made the build of a
    20-site, 60-quarter model 15-35 % slower (benchmarks/README.md, "MILP scaling"); the row is the same."""

    mw_per_gpu: np.ndarray  # (S, I) MW per GPU in service
    market_revenue: np.ndarray  # (2, S, T) per GPU-quarter on the market, by use
    contract_revenue: np.ndarray  # (K,) per GPU-quarter delivered
    contract_payments: np.ndarray  # (K, T) cash received besides revenue while the customer is live
    contract_termination: np.ndarray  # (K, T) cash received when the customer ends the contract in t
    deferred_revenue_end: np.ndarray  # (K,) prepayment not yet earned after the horizon, per contract taken
    electricity: np.ndarray  # (I, T) per MW-quarter drawn
    site_fixed_cost: list  # [I] per MW-quarter online
    power_capex: list  # [I] (T, T) paid in t for a block started in tau
    power_depreciation: list  # [I] (T, T) charged in t for a block started in tau
    power_book_end: list  # [I] (T,) book value at the end of a block started in tau
    gpu_opex: np.ndarray  # (S,) per GPU-quarter held
    redeploy_cost: float  # per GPU moved
    overhead: np.ndarray  # (T,) per quarter
    depreciation: np.ndarray  # (C, T) per GPU held
    disposal_gain: np.ndarray  # (C, T) proceeds less book value, per GPU retired
    proceeds: np.ndarray  # (C, T) per GPU retired
    block_capex: np.ndarray  # (S, T) per block bought
    resale_gross: np.ndarray  # (C, T) collateral value per GPU held
    terminal_value: np.ndarray  # (C,) per GPU held at the end
    terminal_book: np.ndarray  # (C,) book value per GPU held at the end
    opening_cash: float
    min_cash: float
    opening_balance: list  # [F]
    facility_headroom: list  # [F] size less opening balance: what may be drawn
    opening_principal: np.ndarray  # (F, T) scheduled principal on opening balances
    financing: Financing  # rates and principal shares (not money)

    @classmethod
    def of(cls, data: ModelData) -> Coefficients:
        musd = to_model_units
        schedules = data.site_schedules
        financing = Financing.from_data(data, with_revolver=False)
        return cls(
            mw_per_gpu=mw_per_gpu(data),
            market_revenue=musd(market_revenue_per_gpu(data)),
            contract_revenue=musd(contract_revenue_per_gpu(data)),
            contract_payments=musd(data.contract_payments.live),
            contract_termination=musd(data.contract_payments.ended),
            deferred_revenue_end=musd(data.contract_payments.deferred_end),
            electricity=musd(electricity_cost_per_mw(data)),
            site_fixed_cost=musd(site_fixed_cost_per_mw(data)).tolist(),
            power_capex=[musd(s.capex) for s in schedules],
            power_depreciation=[musd(s.depreciation) for s in schedules],
            power_book_end=[musd(s.book_end) for s in schedules],
            gpu_opex=musd(data.opex_per_gpu_quarter),
            redeploy_cost=musd(data.redeploy_cost),
            overhead=musd(data.overhead),
            depreciation=musd(data.depreciation),
            disposal_gain=musd(data.proceeds - data.book_value),
            proceeds=musd(data.proceeds),
            block_capex=musd(block_price_usd(data)),
            resale_gross=musd(data.resale_gross),
            terminal_value=musd(data.terminal_value),
            terminal_book=musd(data.terminal_book),
            opening_cash=musd(data.opening_cash),
            min_cash=musd(data.min_cash),
            opening_balance=[musd(fac.opening_usd) for fac in data.facilities],
            facility_headroom=[musd(fac.undrawn_usd) for fac in data.facilities],
            opening_principal=musd(financing.opening_principal),
            financing=financing,
        )


@dataclass
class Builder:
    """What the topic modules share while they add components to one model."""

    m: pyo.ConcreteModel
    data: ModelData
    ix: IndexSets
    objective: str
    relax: bool
    robustness: Robustness | None = None
    recourse: bool = False  # a stochastic scenario's model (build_model's ``recourse``)
    slack_index: list = field(default_factory=list)
    slacks: dict[str, Slack] = field(default_factory=dict)  # slack name -> Slack, as used
    _group: ConstraintGroup | None = field(default=None, init=False, repr=False)  # the group being added

    def __post_init__(self):
        self.coef = Coefficients.of(self.data)

    def add(self, group: ConstraintGroup, *index) -> pyo.Constraint:
        """Add ``group`` over ``index`` as the component ``m.<group.name>``: one row per key from
        ``group.rule(b, *key)``. A rule whose terms all vanish is a plain True or False: the first
        is skipped, the second becomes an impossible row (a variable held at 0 must equal 1) so
        that the solver reports it as infeasible."""

        def checked(m, *key):
            expr = group.rule(self, *key)
            if isinstance(expr, (bool, np.bool_)) and expr:
                return pyo.Constraint.Skip
            if isinstance(expr, (bool, np.bool_)):
                return m.held_at_zero == 1.0
            return expr

        self._group = group
        try:  # a ConcreteModel builds the rows when the component is assigned
            setattr(self.m, group.name, pyo.Constraint(*index, rule=checked))
        finally:
            self._group = None
        return getattr(self.m, group.name)

    @property
    def group(self) -> ConstraintGroup:
        """The group being added (a rule may serve several groups, e.g. the covenants')."""
        return self._group

    def expression(self, name: str, *index, rule) -> pyo.Expression:
        """Add the named expression ``m.<name>`` over ``index``, one term per key from
        ``rule(b, *key)`` (a term docs/formulation.md names, e.g. drawn MW or revenue)."""
        setattr(self.m, name, pyo.Expression(*index, rule=lambda m, *key: rule(self, *key)))
        return getattr(self.m, name)

    def slack(self, *key) -> pyo.Expression | float:
        """A non-negative slack on row ``key`` of the group being added, in diagnosis mode; 0
        otherwise. The group's :class:`Slack` names it (the slack index is ``(name, *key)``)."""
        if not self.relax:
            return 0.0
        soft = self._group.slack
        if soft is None:
            raise ValueError(
                f"constraint group {self._group.name} has no Slack: the diagnosis may not relax it"
            )
        self.slacks[soft.name] = soft
        idx = (soft.name, *key)
        self.slack_index.append(idx)
        self.m.SLACK.add(idx)
        return self.m.slack[idx]
