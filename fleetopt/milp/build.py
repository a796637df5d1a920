"""Build the Pyomo MILP of a fleet plan.

Money is in millions of USD inside the model (:mod:`fleetopt.milp.units`) to keep HiGHS's
coefficient range narrow; GPU counts are GPUs. Every constraint group is a
:class:`~fleetopt.milp.groups.ConstraintGroup` listed in ``GROUPS`` and documented in
docs/formulation.md (a test checks the two against each other).

The components are added by topic, in this order:

* :mod:`fleetopt.milp.fleet`: decisions, the forecast parameters a stress test may change,
  cohort balances, forced retirement, GPUs in service;
* :mod:`fleetopt.milp.operations`: contracts, market demand, power, and the operating money
  lines (revenue, EBITDA, depreciation, disposals, capex);
* :mod:`fleetopt.milp.finance`: debt, borrowing base, tax and cash, the liquidity stress test,
  customer concentration, and the objective;
* :mod:`fleetopt.milp.covenants`: the covenant rows, from the covenant catalogue, and their copies
  under the `robustness` income shocks.
"""

from __future__ import annotations

import numpy as np
import pyomo.environ as pyo

from fleetopt.core.data import ModelData
from fleetopt.milp import covenants, finance, fleet, operations
from fleetopt.milp.builder import Builder, index_sets
from fleetopt.milp.groups import ConstraintGroup, Slack
from fleetopt.schema.risk import Robustness

# Every constraint group of the model, whichever a given model builds.
GROUPS: tuple[ConstraintGroup, ...] = (*fleet.GROUPS, *operations.GROUPS, *finance.GROUPS, *covenants.GROUPS)
# The slacks the infeasibility diagnosis may add, by name (the first element of a slack index).
SLACKS: dict[str, Slack] = {group.slack.name: group.slack for group in GROUPS if group.slack is not None}


# what a solve maximises or minimises: the NPV of equity cash flows, or the present cost (§6)
OBJECTIVES = ("npv", "cost")


def build_model(
    data: ModelData,
    objective: str = "npv",
    relax: bool = False,
    robustness: Robustness | None = None,
    purchases: np.ndarray | None = None,
    recourse: bool = False,
) -> pyo.ConcreteModel:
    """The fleet MILP. ``objective`` is ``npv`` (maximise) or ``cost`` (minimise).

    ``robustness`` holds the shocks the plan must survive: the model file's ``robustness`` block
    unless another is given. ``purchases``: (S, I, T) blocks every purchase is fixed to (a
    procurement plan written by people, :mod:`fleetopt.core.purchases`); None: the solver chooses.

    With ``relax=True`` every soft-able constraint group gets a non-negative slack and the
    objective becomes: minimise total slack (used to diagnose infeasible inputs). ``recourse``
    (with ``relax``): a stochastic scenario's model, in which an optional contract accepted in the
    first stage may be delivered short too (§7b; a diagnosis may not relax it: it would be taken
    for its revenue and reported short).
    """
    if objective not in OBJECTIVES:
        raise ValueError(f"objective must be 'npv' or 'cost', not {objective!r}")
    ix = index_sets(data)
    m = pyo.ConcreteModel(name=data.name)
    m.data = data
    m.ix = ix
    m.objective_kind = objective
    b = Builder(m, data, ix, objective, relax, robustness or data.robustness, recourse=recourse)

    fleet.add_sets_and_decisions(b)
    if purchases is not None:
        fleet.fix_purchases(m, purchases)
    fleet.add_stress_parameters(b)
    m.held_at_zero = pyo.Var(bounds=(0.0, 0.0))  # see Builder.add
    m.SLACK = pyo.Set(dimen=None, initialize=[], ordered=True)
    m.slack = pyo.Var(m.SLACK, domain=pyo.NonNegativeReals, dense=False)

    fleet.add_cohorts(b)
    fleet.add_allocation(b)
    operations.add_contracts_and_market(b)
    operations.add_power(b)
    operations.add_money_lines(b)
    finance.add_debt(b)
    finance.add_cash(b)
    covenants.add_covenants(b)
    finance.add_robustness(b)
    finance.add_concentration(b)
    finance.add_objective(b)
    m.slack_index = b.slack_index
    return m
