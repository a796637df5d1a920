"""The scenarios of a two-stage solve: the evaluator's scenarios drawn, screened by the forecast
optimum's NPV, reduced (:mod:`fleetopt.stochastic.reduction`) and made the MILP's inputs
(docs/formulation.md §7b)."""

from __future__ import annotations

import numpy as np

from fleetopt.core.data import ModelData
from fleetopt.core.plan import Plan
from fleetopt.errors import warn
from fleetopt.evaluate.batch import compile_plans
from fleetopt.evaluate.engine import evaluate
from fleetopt.evaluate.factors import taken_shares
from fleetopt.evaluate.scenarios import ScenarioSet, deterministic_scenarios, generate_scenarios
from fleetopt.milp.stochastic.scenarios import ScenarioInputs
from fleetopt.runs import limits
from fleetopt.stochastic.reduction import reduce_scenarios


def scenario_inputs(data: ModelData, scenarios: ScenarioSet, rows, probabilities) -> list[ScenarioInputs]:
    """The evaluator's scenarios ``rows`` as MILP parameters (demand as a multiple of the forecast)."""
    forecast = np.asarray(data.demand, dtype=np.float64)
    out = []
    for n, p in zip(rows, probabilities, strict=True):
        demand = np.divide(scenarios.demand[n], forecast, out=np.ones_like(forecast), where=forecast > 0)
        out.append(
            ScenarioInputs(
                name=f"scenario {int(scenarios.index[n])}",
                probability=float(p),
                price_by_generation=scenarios.price_factor[n],
                demand_scale=demand,
                contract_alive=taken_shares(scenarios.contract_alive[n], scenarios.contract_kept_share[n]),
                block_delay=scenarios.delay[n],
                rate_shift=scenarios.rate_shift[n],
                spread_shift=scenarios.spread_shift[n],
                electricity=scenarios.electricity_factor[n],
                resale=scenarios.resale_factor[n],
            )
        )
    return out


def scenario_features(scenarios: ScenarioSet) -> np.ndarray:
    """(M, 9) what a scenario is, for the reduction's distances: price level (mean and last
    quarter), demand level, customers lost, quarters of power delay, electricity, resale at the
    end, rate shift, spread shift (a constant column, such as a spread shift of zero, is dropped)."""
    S = scenarios.S
    taken = taken_shares(scenarios.contract_alive, scenarios.contract_kept_share)
    return np.column_stack(
        [
            scenarios.price_factor.reshape(S, -1).mean(axis=1),
            scenarios.price_factor[:, :, -1].mean(axis=1),
            scenarios.demand.reshape(S, -1).mean(axis=1),
            1.0 - taken.reshape(S, -1).mean(axis=1)
            if scenarios.contract_alive.size
            else np.zeros(S),
            scenarios.delay.reshape(S, -1).sum(axis=1),
            scenarios.electricity_factor.mean(axis=1),
            scenarios.resale_factor[:, -1],
            scenarios.rate_shift.mean(axis=1),
            scenarios.spread_shift.mean(axis=1),
        ]
    )


# what a solve whose futures are all the forecast is told: a planner's model without a risk block got
# "no better and no worse ... more scenarios (--stochastic N) may tell them apart", which none can
ONLY_THE_FORECAST = (
    "every scenario drawn is the model's forecast (no risk block, or every risk factor at zero), so the "
    "stochastic plan can only be the forecast optimum and more scenarios cannot change it: give the model "
    "a risk block (docs/evaluation.md) for futures to plan across"
)


def all_the_forecast(data: ModelData, drawn: ScenarioSet) -> bool:
    """Whether every factor of every scenario ``drawn`` is the forecast's (its neutral path)."""
    forecast = deterministic_scenarios(data, drawn.S)
    return all(np.array_equal(drawn.factors[name], forecast.factors[name]) for name in drawn.factors)


def screened_count(n: int, screen: int = limits.DEFAULT_SCREEN) -> int:
    """How many scenarios a stochastic solve over ``n`` draws (the first of its seed) and screens:
    ``screen``, or ``n`` where it asks for more (every one kept, none reduced)."""
    return max(screen, n)


def reduced_scenarios(
    data: ModelData, forecast_plan: Plan, n: int, alpha: float, seed: int, screen: int, backend: str
) -> tuple[ScenarioSet, list[ScenarioInputs]]:
    """:func:`screened_count` scenarios drawn with ``seed``, screened by the forecast optimum's NPV on
    them (the evaluator), and reduced to ``n`` with probabilities: (the drawn set, the MILP inputs).
    Representatives of probability 0 (their features identical to an earlier representative's, so
    no scenario is nearest to them) are left out: fewer than ``n`` then, as the run reports."""
    drawn = generate_scenarios(data, seed, 0, screened_count(n, screen))
    if all_the_forecast(data, drawn):
        warn(ONLY_THE_FORECAST)
    plans = compile_plans(data, [forecast_plan], ["forecast"])
    npv = evaluate(data, plans, drawn.S, seed, backend=backend, keep_matrix=True).npv_matrix[0]
    rows, probabilities = reduce_scenarios(npv, scenario_features(drawn), n, alpha)
    kept = probabilities > 0  # a representative of probability 0 duplicates an earlier one's features
    return drawn, scenario_inputs(data, drawn, rows[kept], probabilities[kept])
