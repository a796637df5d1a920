"""`fleetopt solve --stochastic N`: scenarios of the evaluator screened and reduced, the extensive form
solved, the measures RP, EV, EEV, WS, VSS, EVPI, and an out-of-sample check (docs/formulation.md §7b)."""

from __future__ import annotations

import time
import tracemalloc
from dataclasses import dataclass, field

import numpy as np

from fleetopt.core.data import ModelData
from fleetopt.core.plan import Plan
from fleetopt.errors import InputError, NoPlanError
from fleetopt.evaluate import ScenarioSet, compile_plans, evaluate, generate_scenarios
from fleetopt.milp import stochastic as sto
from fleetopt.milp.highs import model_size
from fleetopt.stochastic.reduction import reduce_scenarios


def check_settings(data: ModelData, n: int, quarters: int, risk_weight: float, alpha: float) -> None:
    """Bad settings are input errors (exit code 2), each with what is allowed."""
    if n < 1:
        raise InputError(f"--stochastic must be at least 1 scenario (got {n})")
    if not 0.0 < alpha < 1.0:
        raise InputError(f"--cvar-alpha must lie strictly between 0 and 1 (got {alpha})")
    if not 0.0 <= risk_weight <= 1.0:
        raise InputError(f"--risk-weight must lie in [0, 1] (got {risk_weight})")
    if not 1 <= quarters <= data.T:
        raise InputError(
            f"--first-stage-quarters must lie in 1..{data.T}, the quarters of the horizon (got {quarters})"
        )


def scenario_inputs(data: ModelData, scenarios: ScenarioSet, rows, probabilities) -> list[sto.ScenarioInputs]:
    """The evaluator's scenarios ``rows`` as MILP parameters (demand as a multiple of the forecast)."""
    forecast = np.asarray(data.demand, dtype=np.float64)
    out = []
    for n, p in zip(rows, probabilities, strict=True):
        demand = np.divide(scenarios.demand[n], forecast, out=np.ones_like(forecast), where=forecast > 0)
        out.append(
            sto.ScenarioInputs(
                name=f"scenario {int(scenarios.index[n])}",
                probability=float(p),
                price_by_generation=scenarios.price_factor[n],
                demand_scale=demand,
                contract_alive=scenarios.contract_alive[n].astype(np.float64),
                block_delay=scenarios.delay[n],
                rate_shift=scenarios.rate_shift[n],
                electricity=scenarios.electricity_factor[n],
                resale=scenarios.resale_factor[n],
            )
        )
    return out


def scenario_features(scenarios: ScenarioSet) -> np.ndarray:
    """(M, 8) what a scenario is, for the reduction's distances: price level (mean and last
    quarter), demand level, customers lost, quarters of power delay, electricity, resale at the
    end, rate shift."""
    S = scenarios.S
    return np.column_stack(
        [
            scenarios.price_factor.reshape(S, -1).mean(axis=1),
            scenarios.price_factor[:, :, -1].mean(axis=1),
            scenarios.demand.reshape(S, -1).mean(axis=1),
            1.0 - scenarios.contract_alive.reshape(S, -1).mean(axis=1)
            if scenarios.contract_alive.size
            else np.zeros(S),
            scenarios.delay.reshape(S, -1).sum(axis=1),
            scenarios.electricity_factor.mean(axis=1),
            scenarios.resale_factor[:, -1],
            scenarios.rate_shift.mean(axis=1),
        ]
    )


@dataclass
class StochasticResult:
    """The stochastic solution, its completed plan, the forecast optimum and the measures (USD)."""

    data: ModelData
    settings: dict
    plan: Plan  # the first stage completed on the forecast
    forecast_plan: Plan
    first_stage: dict
    measures: dict
    scenarios: list[dict]  # the reduced scenarios under the stochastic solution
    timings: dict
    model_size: dict
    out_of_sample: dict = field(default_factory=dict)
    completion: dict = field(default_factory=dict)

    def summary(self) -> dict:
        defaults = [row for row in self.scenarios if row["rescued"]]
        return {
            "settings": self.settings,
            **self.measures,
            "rescued_scenarios": len(defaults),
            "rescued_probability": float(sum(row["probability"] for row in defaults)),
            "scenarios": self.scenarios,
            "timings": self.timings,
            "model_size": self.model_size,
            "completion": self.completion,
            "out_of_sample": self.out_of_sample,
            "first_stage_purchases_gpus": float(
                sum(
                    v * self.data.block_size[k[0]]
                    for (name, k), v in self.first_stage.items()
                    if name == "buy"
                )
            ),
        }


def solve_stochastic(
    data: ModelData,
    n: int,
    *,
    quarters: int = 4,
    risk_weight: float = 0.0,
    alpha: float = 0.05,
    seed: int = 0,
    screen: int = 200,
    oos_scenarios: int = 1000,
    oos_seed: int | None = None,
    mip_gap: float = 0.01,
    time_limit: float | None = None,
    threads: int | None = None,
    backend: str = "auto",
    integer_later: bool = False,
    measures: bool = True,
) -> StochasticResult:
    """The two-stage stochastic plan of ``data`` over ``n`` scenarios reduced from ``screen`` drawn
    with ``seed``, with the measures (``measures``: EEV and WS too) and an out-of-sample evaluation
    of the completed plan next to the forecast optimum on ``oos_scenarios`` of ``oos_seed``
    (default ``seed + 1``; 0 skips it)."""
    check_settings(data, n, quarters, risk_weight, alpha)
    tracemalloc.start()
    timings = {}
    started = time.perf_counter()
    forecast = sto.solve_with_first_stage(
        data, quarters, mip_gap=mip_gap, time_limit=time_limit, threads=threads
    )
    if forecast is None:
        raise NoPlanError(
            "the forecast MILP has no feasible plan: the stochastic programme needs its optimum"
        )
    timings["forecast_seconds"] = time.perf_counter() - started

    started = time.perf_counter()
    drawn = generate_scenarios(data, seed, 0, max(screen, n))
    screening = evaluate(
        data,
        compile_plans(data, [forecast.plan], ["forecast"]),
        drawn.S,
        seed,
        backend=backend,
        keep_matrix=True,
    )
    npv = screening.npv_matrix[0]
    rows, probabilities = reduce_scenarios(npv, scenario_features(drawn), n, alpha)
    inputs = scenario_inputs(data, drawn, rows, probabilities)
    timings["screening_seconds"] = time.perf_counter() - started

    ef = sto.build_extensive_form(data, inputs, quarters, risk_weight, alpha, integer_later)
    timings["build_seconds"] = ef.build_seconds
    rp = ef.solve(mip_gap, time_limit, threads)
    timings["solve_seconds"] = rp.seconds
    if rp.objective_usd is None:
        raise NoPlanError(f"the extensive form stopped ({rp.status}) after {rp.seconds:.1f} s without a plan")
    first_stage = sto.first_stage_values(ef.block(0), quarters)
    p = ef.probabilities
    figures = {
        "status": rp.status,
        "gap": rp.gap,
        "rp_usd": rp.objective_usd,
        "ev_usd": forecast.objective_usd,
        "expected_npv_usd": float(np.dot(p, [row["npv_usd"] for row in rp.scenarios])),
        "cvar_npv_usd": sto.cvar(np.array([row["npv_usd"] for row in rp.scenarios]), p, alpha),
    }
    if measures:
        ef.fix_first_stage(forecast.first_stage)
        eev = ef.solve(mip_gap, time_limit, threads)
        ef.fix_first_stage(None)
        ef.m.nonanticipativity.deactivate()
        ws = ef.solve(mip_gap, time_limit, threads)
        ef.m.nonanticipativity.activate()
        timings["measures_seconds"] = eev.seconds + ws.seconds
        figures.update(
            eev_usd=eev.objective_usd,
            ws_usd=ws.objective_usd,
            vss_usd=None if eev.objective_usd is None else rp.objective_usd - eev.objective_usd,
            evpi_usd=None if ws.objective_usd is None else ws.objective_usd - rp.objective_usd,
            eev_rescued_probability=float(sum(r["probability"] for r in eev.scenarios if r["rescued"])),
        )
    started = time.perf_counter()
    completed = sto.solve_with_first_stage(
        data, quarters, first_stage, mip_gap=mip_gap, time_limit=time_limit, threads=threads
    )
    if completed is not None:
        plan, completion = (
            completed.plan,
            {"method": "forecast MILP", "npv_forecast_usd": completed.objective_usd},
        )
    else:
        plan, row = sto.complete_with_rescue(data, quarters, first_stage, mip_gap, time_limit, threads)
        completion = {"method": "forecast with rescue", "npv_forecast_usd": row["npv_usd"], "rescue": row}
    timings["completion_seconds"] = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    timings["peak_python_memory_bytes"] = peak
    settings = {
        "scenarios": n,
        "first_stage_quarters": quarters,
        "risk_weight": risk_weight,
        "cvar_alpha": alpha,
        "scenario_seed": seed,
        "screened": drawn.S,
        "mip_gap": mip_gap,
        "later_purchases": "integer" if integer_later else "continuous",
        "emergency_equity_cost": sto.EMERGENCY_EQUITY_COST,
    }
    result = StochasticResult(
        data, settings, plan, forecast.plan, first_stage, figures, rp.scenarios, timings,
        model_size(ef.m), completion=completion,
    )  # fmt: skip
    oos_seed = seed + 1 if oos_seed is None else oos_seed
    if oos_scenarios:
        result.out_of_sample = out_of_sample(data, plan, forecast.plan, oos_scenarios, oos_seed, backend)
    return result


def out_of_sample(data: ModelData, plan: Plan, forecast_plan: Plan, n: int, seed: int, backend: str) -> dict:
    """Both plans evaluated on the same fresh scenarios (a seed the reduction did not use)."""
    ev = evaluate(
        data, compile_plans(data, [plan, forecast_plan], ["stochastic", "forecast"]), n, seed, backend=backend
    )
    rows = ev.metrics.set_index("plan")
    return {
        "seed": seed,
        "scenarios": n,
        "metrics": {label: {k: float(v) for k, v in rows.loc[label].items()} for label in rows.index},
    }
