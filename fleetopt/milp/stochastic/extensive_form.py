"""The extensive form (docs/formulation.md §7b): :func:`scenario_model` cloned once per scenario,
non-anticipativity rows tying the first stage, the risk objective, and its solve by the block
solver (:class:`ExtensiveForm`, :class:`EFSolution`)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import pyomo.environ as pyo

from fleetopt.core.data import ModelData
from fleetopt.core.tail import TAIL
from fleetopt.core.units import counted
from fleetopt.milp.ef_highs import BlockSolver, group_sizes, tied_to
from fleetopt.milp.highs import gap_to_bound, stops_kept
from fleetopt.milp.stochastic.debt_rows import cure_by_repaying, owe_nothing
from fleetopt.milp.stochastic.first_stage import FirstStage, fix_first_stage, tied_keys
from fleetopt.milp.stochastic.rescue import EMERGENCY_EQUITY_COST
from fleetopt.milp.stochastic.scenario_model import scenario_model
from fleetopt.milp.stochastic.scenario_rows import scenario_row
from fleetopt.milp.stochastic.scenarios import ScenarioInputs, apply_scenario
from fleetopt.milp.units import MUSD


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
    keys = tied_keys(first, stage)
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

