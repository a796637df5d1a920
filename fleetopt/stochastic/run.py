"""`fleetopt solve --stochastic N`, step by step (docs/formulation.md §7b): the settings checked, the
forecast optimum, the evaluator's scenarios screened and reduced, RP solved with the measures RP, EV,
EEV, WS, VSS, EVPI, the first stage completed on the forecast, and an out-of-sample check."""

from __future__ import annotations

import time

from fleetopt.core.data import ModelData
from fleetopt.core.tail import TAIL
from fleetopt.milp.highs import STOCHASTIC_MIP_GAP, stage
from fleetopt.milp.stochastic.first_stage import SHARED_PURCHASES, FirstStage
from fleetopt.milp.stochastic.fixed_first_stage import ForecastSolution, solve_with_first_stage
from fleetopt.milp.stochastic.rescue import EMERGENCY_EQUITY_COST
from fleetopt.runs import limits
from fleetopt.stochastic.forecast_completion import complete_plan
from fleetopt.stochastic.gap import check_gap_scenarios, fresh_scenario_rows, gap_record, gap_seed
from fleetopt.stochastic.out_of_sample import out_of_sample
from fleetopt.stochastic.recourse import recourse_by_route
from fleetopt.stochastic.replications import (
    check_replications,
    out_of_sample_seed,
    replication_seeds,
    replications_record,
)
from fleetopt.stochastic.result import StochasticResult
from fleetopt.stochastic.screening import reduced_scenarios
from fleetopt.stochastic.settings import SolverSettings, check_before_solving, first_stage_quarters
from fleetopt.stochastic.timings import peak_rss_bytes, timed


def solve_stochastic(
    data: ModelData,
    n: int,
    *,
    quarters: int | None = None,
    risk_weight: float = 0.0,
    alpha: float = TAIL,
    seed: int = 0,
    screen: int = limits.DEFAULT_SCREEN,
    oos_scenarios: int = limits.DEFAULT_SCENARIOS,
    oos_seed: int | None = None,
    mip_gap: float = STOCHASTIC_MIP_GAP,
    time_limit: float | None = None,
    threads: int | None = None,
    backend: str = "auto",
    integer_later: bool = False,
    measures: bool = True,
    route: str = "blocks",
    share_purchases: bool = False,
    replications: int = 1,
    gap_scenarios: int = 0,
) -> StochasticResult:
    """The two-stage stochastic plan of ``data`` over ``n`` scenarios reduced from ``screen`` drawn
    with ``seed``, with the measures (``measures``: EEV and WS too) and an out-of-sample evaluation
    of the completed plan next to the forecast optimum on ``oos_scenarios`` of ``oos_seed``
    (default ``seed + replications``, the first seed no replication reduced; 0 skips it). ``route``:
    "blocks" (fleetopt's extensive form, §7b) or "mpisppy-ef" (mpi-sppy's, risk-neutral, without EEV
    and WS). ``quarters`` None: the default of :func:`first_stage_quarters`. ``share_purchases``: every
    purchase, power block and draw in the first stage, whatever its quarter
    (:data:`~fleetopt.milp.stochastic.first_stage.SHARED_PURCHASES`). ``replications`` K > 1: the same
    solve on the samples of seeds ``seed + 1`` ... ``seed + K - 1`` too, their first stages side by side
    in ``result.replications`` (:mod:`fleetopt.stochastic.replications`); the plan is the first
    sample's (``seed``), the one a solve without replications makes. ``gap_scenarios`` M > 0 (with K >= 2):
    the plan's first stage fixed in M fresh scenarios of seed ``seed + replications``, each re-planned,
    and the optimality gap estimated against the K samples' optima (:mod:`fleetopt.stochastic.gap`)."""
    started = time.perf_counter()
    quarters = first_stage_quarters(data, quarters)
    shared = FirstStage(quarters, SHARED_PURCHASES if share_purchases else ())
    check_replications(replications)
    check_gap_scenarios(gap_scenarios, replications, risk_weight)
    check_before_solving(data, n, quarters, risk_weight, alpha, route, seed, oos_seed,
                         max(screen, oos_scenarios), backend, threads, share_purchases)  # fmt: skip
    solver = SolverSettings(mip_gap, time_limit, threads)
    timings: dict = {}
    forecast = timed(timings, "forecast_seconds", forecast_optimum, data, shared, solver)

    def sample(scenario_seed: int, times: dict) -> StochasticResult:
        """The stochastic plan of the ``n`` scenarios reduced from those of ``scenario_seed``."""
        return solve_sample(
            data, n, forecast, shared, scenario_seed, times, risk_weight=risk_weight, alpha=alpha,
            screen=screen, backend=backend, integer_later=integer_later, measures=measures, route=route,
            solver=solver,
        )  # fmt: skip

    result = sample(seed, timings)
    if oos_scenarios:
        oos_seed = out_of_sample_seed(seed, replications) if oos_seed is None else oos_seed
        result.out_of_sample = timed(
            timings, "out_of_sample_seconds", out_of_sample,
            data, result.plan, forecast.plan, oos_scenarios, oos_seed, backend,
        )  # fmt: skip
    if replications > 1:
        seeds = replication_seeds(seed, replications)[1:]
        others = timed(timings, "replications_seconds", lambda: [sample(s, {}) for s in seeds])
        result.replications = replications_record(data, [result, *others], result.settings)
    if gap_scenarios:
        timed(timings, "gap_seconds", first_stage_gap, data, shared, result, gap_scenarios, integer_later,
              solver)
    timings["total_seconds"] = time.perf_counter() - started
    return result


def first_stage_gap(
    data: ModelData, shared: FirstStage, result: StochasticResult, count: int, integer_later: bool,
    solver: SolverSettings,
) -> None:
    """The plan's first stage in ``count`` fresh scenarios (``result.gap_scenarios``) and the gap
    estimated against the replications' optima (``result.replications["gap"]``)."""
    s, record = result.settings, result.replications
    seed = gap_seed(s["scenario_seed"], record["count"])
    rows, status = fresh_scenario_rows(data, shared, result.first_stage, count, seed, integer_later, solver)
    record["gap"] = gap_record(
        record["objectives_usd"], record["bounds_usd"], [row["value_usd"] for row in rows], seed=seed,
        reduced=s["screened"] > s["scenarios"], status=status,
    )  # fmt: skip
    result.gap_scenarios = rows


def solve_sample(
    data: ModelData, n: int, forecast: ForecastSolution, shared: FirstStage, seed: int, timings: dict, *,
    risk_weight: float, alpha: float, screen: int, backend: str, integer_later: bool, measures: bool,
    route: str, solver: SolverSettings,
) -> StochasticResult:
    """The steps of :func:`solve_stochastic` on one scenario sample (``seed``), given the forecast
    optimum: the scenarios screened and reduced, RP and its measures, the first stage completed on the
    forecast; each step's wall time recorded in ``timings``."""
    drawn, inputs = timed(
        timings, "screening_seconds", reduced_scenarios, data, forecast.plan, n, alpha, seed, screen, backend
    )
    recourse = recourse_by_route(
        route, data, inputs, forecast, shared, risk_weight, alpha, integer_later, measures, solver
    )
    timings.update(recourse.timings)
    plan, completion = timed(
        timings, "completion_seconds", complete_plan, data, shared, recourse.first_stage, solver
    )
    timings["peak_rss_bytes"] = peak_rss_bytes()
    settings = run_settings(
        data, n, shared, risk_weight, alpha, seed, solver.mip_gap, integer_later, route,
        distinct=len(inputs), screened=drawn.S, method=recourse.method,
    )  # fmt: skip
    return StochasticResult(
        data, settings, plan, forecast.plan, recourse.first_stage, recourse.figures, recourse.scenarios,
        timings, recourse.model_size, completion=completion,
    )  # fmt: skip


def run_settings(
    data: ModelData, n: int, shared: FirstStage, risk_weight: float, alpha: float, seed: int,
    mip_gap: float, integer_later: bool, route: str, *, distinct: int, screened: int, method: str,
) -> dict:
    """A run's settings as its summary.json records them: those asked, and what the solve made of them
    (``distinct`` reduced scenarios kept of ``screened`` drawn; ``method``, how RP was solved)."""
    quarters = shared.quarters
    return {
        "scenarios": n,
        "distinct_scenarios": distinct,
        "first_stage_quarters": quarters,
        "first_stage_before": data.quarter_labels[quarters] if quarters < data.T else None,
        "share_purchases": shared.whole_horizon == SHARED_PURCHASES,
        "risk_weight": risk_weight,
        "cvar_alpha": alpha,
        "scenario_seed": seed,
        "screened": screened,
        "mip_gap": mip_gap,
        "later_purchases": "integer" if integer_later else "continuous",
        "emergency_equity_cost": EMERGENCY_EQUITY_COST,
        "solver": route,
        "solve_method": method,
    }


def forecast_optimum(data: ModelData, shared: FirstStage, solver: SolverSettings) -> ForecastSolution:
    """The forecast MILP's optimum (EV and the first stage of EEV); no plan is the error `fleetopt
    solve` would give (the stochastic programme needs the forecast's optimum)."""
    with stage("the forecast optimum (EV)", called="NPV"):
        return solve_with_first_stage(
            data, shared, mip_gap=solver.mip_gap, time_limit=solver.time_limit, threads=solver.threads,
            required=True,
        )  # fmt: skip
