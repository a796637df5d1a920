"""The optional mpi-sppy route (`pip install fleetopt[stochastic]`, docs/formulation.md §7b): the
recourse problem RP handed to mpi-sppy (https://github.com/Pyomo/mpi-sppy) through a
``scenario_creator`` over the same scenario model as fleetopt's own extensive form
(:func:`fleetopt.milp.stochastic.scenario_model.scenario_model`, its parameters set by
``apply_scenario``, its first stage by ``first_stage_keys``): mpi-sppy's extensive form
(``--stochastic-solver mpisppy-ef``), in one process when mpi4py is absent (mpi-sppy falls back to
a one-rank stand-in). It is the seam for mpi-sppy's decompositions (progressive hedging and its
cylinders across MPI ranks) on runs too large for one machine; progressive hedging itself is not
offered (docs/formulation.md §7b: on tiny it had not converged after 50 iterations).

Only the risk-neutral objective (L = 0): mpi-sppy's scenario objectives are each scenario's value,
and CVaR's rows tie the scenarios together outside any scenario model.
"""

from __future__ import annotations

import contextlib
import sys
import time
from dataclasses import dataclass

import pyomo.environ as pyo

from fleetopt.core.data import ModelData
from fleetopt.errors import Argument, InputError, NoPlanError
from fleetopt.milp.highs import STOCHASTIC_MIP_GAP, gap_to_bound, stops_kept
from fleetopt.milp.stochastic.debt_rows import cure_by_repaying, owe_nothing
from fleetopt.milp.stochastic.extensive_form import cloned
from fleetopt.milp.stochastic.first_stage import FirstStage, first_stage_keys, first_stage_values
from fleetopt.milp.stochastic.scenario_model import scenario_model
from fleetopt.milp.stochastic.scenario_rows import scenario_row
from fleetopt.milp.stochastic.scenarios import ScenarioInputs, apply_scenario
from fleetopt.milp.units import MUSD

ROUTES = ("mpisppy-ef",)
# the settings a stochastic solve's route is refused by, as the API and the command line call them
ROUTE = Argument("solver", "--stochastic-solver")
RISK_WEIGHT = Argument("risk_weight", "--risk-weight")
SOLVER = "appsi_highs"  # HiGHS through Pyomo (highspy), the solver of every other fleetopt solve


def mpisppy_modules():
    """mpi-sppy's extensive form, progressive hedging and utilities; a clear input error without it."""
    try:
        with mpisppy_notes_on_stderr():  # its import prints "[    0.00] Initializing mpi-sppy"
            from mpisppy.opt.ef import ExtensiveForm
            from mpisppy.utils import sputils
    except ImportError as exc:
        raise InputError(
            "the mpi-sppy route needs mpi-sppy: pip install 'fleetopt[stochastic]' (or choose the default "
            f"--stochastic-solver blocks) ({exc})"
        ) from exc
    return ExtensiveForm, sputils


def mpisppy_notes_on_stderr():
    """mpi-sppy's timing notes ("[    0.31] Initializing SPBase"), which it prints on stdout, moved
    to stderr: stdout holds fleetopt's output alone, as it does for every other solve (docs/cli.md)."""
    return contextlib.redirect_stdout(sys.stderr)


def check_route(route: str, risk_weight: float) -> None:
    """The route known, mpi-sppy importable and the objective risk-neutral, or an input error."""
    if route not in ROUTES:
        raise InputError(f"--stochastic-solver must be blocks or {' or '.join(ROUTES)} (got {route})")
    if risk_weight:
        raise InputError.naming(ROUTE, f" {route} solves the risk-neutral objective: leave ", RISK_WEIGHT,
                                " at 0")
    mpisppy_modules()


@dataclass
class ScenarioCreator:
    """mpi-sppy's ``scenario_creator``: scenario ``name``'s model, cloned from one built model (the
    data and index sets shared) with the scenario's parameters set, its value as the objective, its
    first stage attached as the root node and its probability."""

    data: ModelData
    scenarios: dict[str, ScenarioInputs]
    stage: FirstStage
    integer_later: bool = False  # purchases and blocks from the first stage's end on whole, as by_blocks
    base: pyo.ConcreteModel | None = None
    scale: float = 1.0  # each scenario's objective is its value times this (:func:`objective_scale`)

    def __call__(self, name: str, **_) -> pyo.ConcreteModel:
        _, sputils = mpisppy_modules()
        if self.base is None:
            self.base = scenario_model(self.data, self.stage, self.integer_later)
        m = cloned(self.base)
        sc = self.scenarios[name]
        apply_scenario(m, self.data, sc)
        m.value_objective = pyo.Objective(expr=self.scale * m.scenario_value, sense=pyo.maximize)
        first = [
            getattr(m, var)[key]
            for var, key in first_stage_keys(m, self.stage)
            if not getattr(m, var)[key].fixed
        ]
        sputils.attach_root_node(m, 0.0, first)
        m._mpisppy_probability = sc.probability
        return m


def objective_scale(scenarios: list[ScenarioInputs]) -> float:
    """1 / the least probability: mpi-sppy weighs each scenario's objective by its probability, and
    the value's tie-breaks (1e-6 per MUSD of tax, §5.10) weighed by a p_n below 0.1 fall under
    HiGHS's dual feasibility tolerance (1e-7), so its optimum may hold any tax that the liquidation
    tax gives back (a scenario of p = 0.05 paid its $1B of cash as tax: RP $50 low). Scaled, every
    coefficient is at least the forecast MILP's; RP, its bound and gap are read back unscaled."""
    return 1.0 / min(sc.probability for sc in scenarios)


@dataclass
class RouteSolution:
    """RP by the mpi-sppy route: its value and bound (USD), the first stage, the scenarios' rows."""

    objective_usd: float
    bound_usd: float | None
    first_stage: dict
    scenarios: list[dict]  # each scenario's row (:func:`fleetopt.milp.stochastic.scenario_rows.scenario_row`)
    build_seconds: float  # the scenario models created and the extensive form built by mpi-sppy
    seconds: float  # HiGHS on it
    gap: float | None  # the extensive form's relative MIP gap (None: no bound reported)


def solve_by_mpisppy(
    data: ModelData,
    scenarios: list[ScenarioInputs],
    stage: FirstStage,
    route: str,
    mip_gap: float = STOCHASTIC_MIP_GAP,
    risk_weight: float = 0.0,
    integer_later: bool = False,
) -> RouteSolution:
    """RP of ``scenarios`` by mpi-sppy's extensive form (HiGHS to ``mip_gap``); the first stage read
    from the first scenario's model (non-anticipativity makes every scenario's the same)."""
    check_route(route, risk_weight)
    ExtensiveForm, sputils = mpisppy_modules()
    names = [f"scenario_{n}" for n in range(len(scenarios))]
    scale = objective_scale(scenarios)
    named = dict(zip(names, scenarios, strict=True))
    creator = ScenarioCreator(data, named, stage, integer_later, scale=scale)
    started = time.perf_counter()
    with mpisppy_notes_on_stderr():
        ef = ExtensiveForm({"solver": SOLVER}, names, creator)
    # the re-solves below only fix and free variables, which HiGHS gets anew; resending every
    # parameter's coefficient made it warn on stdout of each one at 0 ("|Value| of 0 supplied to
    # Highs::changeCoeff ... ignored": the resale scale's, with `retirement.resale: false`)
    ef.solver.update_config.update_params = False
    built = time.perf_counter()
    let_go = {name: set() for name in names}
    while True:  # as ExtensiveForm.solve: no cure where nothing is owed, none above the debt (§7b)
        # appsi_highs handles Ctrl-C in HiGHS's callback: the stop would be lost
        with stops_kept(), mpisppy_notes_on_stderr():
            results = ef.solve_extensive_form(solver_options={"mip_rel_gap": mip_gap})
        if sputils.not_good_enough_results(results):
            raise NoPlanError(
                f"mpi-sppy's extensive form stopped without a plan ({results.solver.termination_condition})"
            )
        if not any([_cures_changed(ef.local_scenarios[name], data, let_go[name]) for name in names]):
            break
    objective = pyo.value(ef.ef.EF_Obj) / scale
    bound = None if results.problem.upper_bound is None else results.problem.upper_bound / scale
    gap = gap_to_bound(objective, bound)
    rows = [scenario_row(ef.local_scenarios[name], data, creator.scenarios[name]) for name in names]
    return RouteSolution(
        float(objective) * MUSD,
        None if bound is None else float(bound) * MUSD,
        first_stage_values(ef.local_scenarios[names[0]], stage),
        rows,
        built - started,
        time.perf_counter() - built,
        gap,
    )


def _cures_changed(m: pyo.Block, data: ModelData, let_go: set) -> bool:
    """Whether a solved scenario's covenant rows on debt changed: lifted where it owes nothing
    (:func:`~fleetopt.milp.stochastic.debt_rows.owe_nothing`), or its cure cut to the debt owed
    (:func:`~fleetopt.milp.stochastic.debt_rows.cure_by_repaying`), so that it is solved again."""
    _, lifted = owe_nothing(m, data)
    held, released = cure_by_repaying(m, let_go)
    return bool(lifted or held or released)
