"""The out-of-sample check of a two-stage solve: the stochastic plan and the forecast optimum
evaluated on the same fresh scenarios, with the paired differences' standard errors
(:mod:`fleetopt.stochastic.paired`)."""

from __future__ import annotations

from fleetopt.core.data import ModelData
from fleetopt.core.plan import Plan
from fleetopt.evaluate.batch import compile_plans
from fleetopt.stochastic.paired import evaluate_paired, paired_comparison, scenario_outcomes
from fleetopt.stochastic.result import FORECAST_PLAN, PLAN_LABELS


def out_of_sample(data: ModelData, plan: Plan, forecast_plan: Plan, n: int, seed: int, backend: str) -> dict:
    """Both plans evaluated on the same fresh scenarios (a seed the reduction did not use), and the
    stochastic plan's differences from the forecast optimum with the standard errors of the paired
    differences (``paired``: stochastic/paired.py, as benchmarks/bench_stochastic reports them)."""
    batch = compile_plans(data, [plan, forecast_plan], list(PLAN_LABELS))
    ev = evaluate_paired(data, batch, n, seed, backend=backend)
    rows = ev.metrics.set_index("plan")
    paired = paired_comparison(scenario_outcomes(ev), FORECAST_PLAN)
    return {
        "seed": seed,
        "scenarios": n,
        "metrics": {label: {k: float(v) for k, v in rows.loc[label].items()} for label in rows.index},
        "paired": {k: v for k, v in paired[0].items() if k.endswith(("_diff", "_diff_se"))},
    }
