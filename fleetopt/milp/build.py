"""Build the Pyomo MILP of a fleet plan.

Variables exist only over valid index tuples (a cohort from its purchase quarter,
a SKU only while on sale, training only while eligible, a contract only over its
term), never as dense cross products. Money is in millions of USD inside the model
(``MUSD``) to keep HiGHS's coefficient range narrow; GPU counts are GPUs.
Every constraint group is documented in docs/formulation.md.

The components are added by topic, in this order:

* :mod:`fleetopt.milp.fleet`: decisions, the forecast parameters a stress test may change,
  cohort balances, forced retirement, GPUs in service;
* :mod:`fleetopt.milp.operations`: contracts, market demand, power, and the operating money
  lines (EBITDA, depreciation, disposals, capex);
* :mod:`fleetopt.milp.finance`: debt, borrowing base, tax and cash, covenants, the liquidity
  stress test, customer concentration, and the objective.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np
import pyomo.environ as pyo

from fleetopt.core import economics as econ
from fleetopt.core.data import ModelData
from fleetopt.schema import Robustness

MUSD = 1e6

# Constraint groups that the infeasibility diagnosis may relax, with the unit of their slack,
# and the weight of one unit of slack. Money slacks weigh most so that a diagnosis points at
# the physical shortfall (power, contracts, demand) before the cash it would take to fix it.
SLACK_WEIGHTS = {"MW": 1.0, "GPUs": 1.0 / 500.0, "H100-eq GPUs": 1.0 / 500.0, "MUSD": 10.0}
SOFT_GROUPS = {
    "power": "MW",
    "late_power": "MW",
    "contract_delivery": "GPUs",
    "min_cash": "MUSD",
    "borrowing_base": "MUSD",
    "leverage_covenant": "MUSD",
    "dscr_covenant": "MUSD",
    "liquidity_covenant": "MUSD",
    "robustness": "MUSD",
    "customer_share": "MUSD",
    "demand_floor": "H100-eq GPUs",
}
# The robustness rows (docs/formulation.md §5.13) are relaxed first: when a model is feasible
# without its `robustness` block, the diagnosis should name the requirement, not the deliveries
# or cash that giving it up would spare.
ROBUSTNESS_GROUPS = ("robustness", "late_power")


def slack_weight(group: str) -> float:
    """Weight of one unit of slack on ``group`` in the diagnosis objective."""
    weight = SLACK_WEIGHTS[SOFT_GROUPS[group]]
    return weight / 1e4 if group in ROBUSTNESS_GROUPS else weight


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
    ix.serve_at, ix.serve_by_kt, ix.market_terms = serve_at, serve_by_kt, market_terms
    ix.cohorts_by_t, ix.moves_by_t, ix.forced_by_t = cohorts_by_t, moves_by_t, forced_by_t


@dataclass
class Builder:
    """What the topic modules share while they add components to one model."""

    m: pyo.ConcreteModel
    data: ModelData
    ix: IndexSets
    objective: str
    relax: bool
    robustness: Robustness | None = None
    slack_index: list = field(default_factory=list)

    def __post_init__(self):
        # unit coefficients shared by several groups: the economics module's, once
        self.mw_per_gpu = econ.mw_per_gpu(self.data)  # (S, I) MW per GPU in service
        self.market_revenue_musd = econ.market_revenue_per_gpu(self.data) / MUSD  # (2, S, T)
        self.contract_revenue_musd = econ.contract_revenue_per_gpu(self.data) / MUSD  # (K,)

    def constraint(self, *index, rule) -> pyo.Constraint:
        """A constraint over ``index``. A rule whose terms all vanish is a plain True or False:
        the first is skipped, the second becomes an impossible row (a variable held at 0 must
        equal 1) so that the solver reports it as infeasible."""

        def checked(m, *key):
            expr = rule(m, *key)
            if isinstance(expr, (bool, np.bool_)) and expr:
                return pyo.Constraint.Skip
            if isinstance(expr, (bool, np.bool_)):
                return m.held_at_zero == 1.0
            return expr

        return pyo.Constraint(*index, rule=checked)

    def slack(self, group: str, *key) -> pyo.Expression | float:
        """A non-negative slack on a soft group in diagnosis mode; 0 otherwise."""
        if not self.relax:
            return 0.0
        idx = (group, *key)
        self.slack_index.append(idx)
        self.m.SLACK.add(idx)
        return self.m.slack[idx]


def build_model(
    data: ModelData,
    objective: str = "npv",
    relax: bool = False,
    robustness: Robustness | None = None,
) -> pyo.ConcreteModel:
    """The fleet MILP. ``objective`` is ``npv`` (maximise) or ``cost`` (minimise).

    ``robustness`` holds the shocks the plan must survive: the model file's ``robustness`` block
    unless another is given.

    With ``relax=True`` every soft-able constraint group gets a non-negative slack and the
    objective becomes: minimise total slack (used to diagnose infeasible inputs).
    """
    from fleetopt.milp import finance, fleet, operations

    if objective not in ("npv", "cost"):
        raise ValueError(f"objective must be 'npv' or 'cost', not {objective!r}")
    ix = index_sets(data)
    m = pyo.ConcreteModel(name=data.model.name)
    m.data = data
    m.ix = ix
    m.objective_kind = objective
    b = Builder(m, data, ix, objective, relax, robustness or data.model.robustness)

    fleet.add_sets_and_decisions(b)
    fleet.add_stress_parameters(b)
    m.held_at_zero = pyo.Var(bounds=(0.0, 0.0))  # see Builder.constraint
    m.SLACK = pyo.Set(dimen=None, initialize=[], ordered=True)
    m.slack = pyo.Var(m.SLACK, domain=pyo.NonNegativeReals, dense=False)

    fleet.add_cohorts(b)
    operations.add_contracts_and_market(b)
    operations.add_power(b)
    operations.add_money_lines(b)
    finance.add_debt(b)
    finance.add_cash(b)
    finance.add_covenants(b)
    finance.add_robustness(b)
    finance.add_concentration(b)
    finance.add_objective(b)
    m.slack_index = b.slack_index
    return m
