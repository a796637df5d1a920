"""One built MILP re-solved many times: stress forecasts and fixed candidate plans.

The model is built once and loaded into a persistent HiGHS instance. A stress test changes only
mutable parameters (market prices, demand, power online, contract availability, facility
limits); a candidate plan fixes the strategic integers (purchases, power blocks, contracts) and
lets the solver fill in the operational decisions. Between solves the persistent solver updates
just what changed instead of rebuilding the model.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import pyomo.environ as pyo

from fleetopt.core.data import ModelData
from fleetopt.core.plan import Plan
from fleetopt.milp.build import build_model
from fleetopt.milp.highs import DEFAULT_MIP_GAP, WatchedHighs, relative_gap
from fleetopt.milp.solve import extract_plan, solve_settled
from fleetopt.milp.units import VARIABLE_UNITS, from_model_units, to_model_units
from fleetopt.schema.risk import Robustness


@dataclass
class Stress:
    """A forecast change applied to the built model's parameters (neutral by default)."""

    name: str
    price_scale: np.ndarray | None = None  # (2, T) multiplier on market prices by use
    demand_scale: np.ndarray | None = None  # (2, T) multiplier on market demand by use
    power_delay_quarters: dict[int, int] = field(default_factory=dict)  # site -> quarters late
    contracts_lost: tuple[int, ...] = ()  # contracts whose customer is gone
    leverage_scale: float = 1.0  # share of each facility's undrawn size that may be drawn
    collateral_scale: float = 1.0  # multiplier on the GPUs' value as the borrowing base's collateral
    min_cash_raise_usd: float = 0.0  # cash held above finance.min_cash_usd each quarter: a planned buffer
    description: str = ""


@dataclass
class PlannerResult:
    status: str  # optimal | time_limit | infeasible | no_plan
    plan: Plan | None
    objective_usd: float | None
    seconds: float
    results: object = None  # the solver's results (milp.solve.raise_without_plan reads them)
    gap: float | None = None  # the branch and bound's relative gap to its bound (None: not known)


class PersistentPlanner:
    """Build once, then solve under stresses or with strategic decisions fixed."""

    def __init__(
        self,
        data: ModelData,
        objective: str = "npv",
        mip_gap: float = DEFAULT_MIP_GAP,
        time_limit: float | None = None,
        threads: int | None = None,
        robustness: Robustness | None = None,
    ):
        self.data = data
        self.m = build_model(data, objective, robustness=robustness)
        self.solver = WatchedHighs()
        self.options = {"rel_gap": mip_gap, "time_limit": time_limit, "threads": threads}
        self._base_capacity = {key: pyo.value(p) for key, p in self.m.capacity_mw.items()}
        self._base_limits = {key: pyo.value(p) for key, p in self.m.facility_limit.items()}
        # the strategic decisions' own bounds, which fix() sets back when it frees them
        self._bounds = {
            id(v): (v.lower, v.upper) for c in (self.m.buy, self.m.build, self.m.accept) for v in c.values()
        }

    # ------------------------------------------------------------ parameters

    def apply(self, stress: Stress | None) -> None:
        """Set every stress parameter (None: back to the forecast)."""
        m, data = self.m, self.data
        stress = stress or Stress("forecast")
        for (u, t), p in m.price_scale.items():
            p.set_value(1.0 if stress.price_scale is None else float(stress.price_scale[u, t]))
        for (u, t), p in m.demand_scale.items():
            p.set_value(1.0 if stress.demand_scale is None else float(stress.demand_scale[u, t]))
        for (i, t), p in m.capacity_mw.items():
            delay = stress.power_delay_quarters.get(i, 0)
            # capacity the utility adds on its own schedule arrives ``delay`` quarters late
            later = data.sites[i].capacity_mw[max(0, t - delay)] if delay else self._base_capacity[i, t]
            p.set_value(float(min(self._base_capacity[i, t], later)))
        for (i, tau, t), p in m.block_online.items():
            delay = stress.power_delay_quarters.get(i, 0)
            p.set_value(1.0 if t >= tau + data.sites[i].lead_time + delay else 0.0)
        for k, p in m.contract_available.items():
            p.set_value(0.0 if k in stress.contracts_lost else 1.0)
        for f, p in m.facility_limit.items():
            p.set_value(self._base_limits[f] * stress.leverage_scale)
        for p in m.collateral_scale.values():
            p.set_value(stress.collateral_scale)
        m.min_cash_raise.set_value(to_model_units(stress.min_cash_raise_usd))

    def fix(self, plan: Plan | None, contracts: bool = False) -> None:
        """Fix purchases and power blocks (and contract choices when ``contracts``) to ``plan``;
        None frees them all. Fixed by pinning their bounds, not with Var.fix: Pyomo's persistent
        HiGHS interface deletes every row using a variable whose fixed state changes and appends it
        again, so the row order HiGHS solves, and which of tied optima it returns, would depend on
        the solves before (a resumed sweep's new planner completed a plan differently)."""
        m = self.m
        self._pin(m.buy, None if plan is None else plan.buy_blocks)
        self._pin(m.build, None if plan is None else plan.build_blocks)
        self._pin(m.accept, np.round(plan.accepted) if plan is not None and contracts else None)

    def _pin(self, variables, values: np.ndarray | None) -> None:
        """Each of ``variables`` held at ``values[key]`` (None: its own bounds again)."""
        for key, var in variables.items():
            if values is None:
                var.lower, var.upper = self._bounds[id(var)]
            else:
                var.lower = var.upper = float(values[key])

    # ------------------------------------------------------------ solving

    def solve(self) -> PlannerResult:
        started = time.perf_counter()
        status, results, incumbent = solve_settled(self.m, self.solver, **self.options)
        seconds = time.perf_counter() - started
        if status in ("infeasible", "no_plan"):
            return PlannerResult(status, None, None, seconds, results)
        objective_usd = from_model_units(incumbent, VARIABLE_UNITS["objective"])
        gap = relative_gap(incumbent, results.objective_bound)
        return PlannerResult(status, extract_plan(self.m, self.data), objective_usd, seconds, gap=gap)

    def solve_stress(self, stress: Stress | None) -> PlannerResult:
        """The optimal plan for a stressed forecast (strategic decisions free)."""
        self.fix(None)
        self.apply(stress)
        return self.solve()

    def complete_purchases(self, blocks: np.ndarray) -> PlannerResult:
        """The best plan under the forecast with every purchase fixed to ``blocks`` ((S, I, T) whole
        blocks: a procurement plan written by people) and everything else chosen by the solver."""
        self.apply(None)
        self.fix(None)
        self._pin(self.m.buy, blocks)
        try:
            return self.solve()
        finally:
            self.fix(None)

    def complete(self, plan: Plan, contracts: bool = False, stress: Stress | None = None,
                 draws_at_most: np.ndarray | None = None) -> PlannerResult:  # fmt: skip
        """The best operation of ``plan``'s purchases and power blocks under the forecast (contracts
        re-chosen unless ``contracts``; ``stress``: the forecast with a raised minimum cash, else
        None; ``draws_at_most``: (F, T) USD, each facility's draw in each quarter capped). Infeasible
        when they break a hard limit (power, cash, covenants, signed contracts)."""
        self.apply(stress)
        self.fix(plan, contracts)
        self._cap_draws(draws_at_most)
        try:
            return self.solve()
        finally:
            self.fix(None)
            self._cap_draws(None)

    def _cap_draws(self, caps: np.ndarray | None) -> None:
        """Each draw at most ``caps[f, t]`` USD (None: uncapped, its own bound)."""
        for (f, t), var in self.m.draw.items():
            var.upper = None if caps is None else float(to_model_units(max(caps[f, t], 0.0)))
