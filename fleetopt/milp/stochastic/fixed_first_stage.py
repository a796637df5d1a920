"""The forecast MILP with a first stage fixed (:func:`solve_with_first_stage`: the forecast optimum, or
a first stage completed into a plan), and plans completed with the rescue of :func:`scenario_model`
where the plain MILP finds them infeasible: a first stage (:func:`complete_with_rescue`) or
purchases written by people (:func:`complete_purchases_with_rescue`)."""

from __future__ import annotations

import time
from dataclasses import dataclass

from fleetopt.core.data import ModelData
from fleetopt.core.economics.statements import plan_statements
from fleetopt.core.plan import Plan
from fleetopt.milp.build import build_model
from fleetopt.milp.highs import DEFAULT_MIP_GAP, model_size
from fleetopt.milp.solve import NoPlanFound, SolveResult, extract_plan, raise_without_plan, solve_settled
from fleetopt.milp.stochastic.extensive_form import build_extensive_form
from fleetopt.milp.stochastic.first_stage import FirstStage, first_stage_values, fix_first_stage
from fleetopt.milp.stochastic.rescue import FINANCE_CURED, POWER_SLACKS
from fleetopt.milp.stochastic.scenarios import ScenarioInputs
from fleetopt.milp.units import MUSD, to_model_units


@dataclass
class ForecastSolution:
    """The forecast MILP solved: its objective (the NPV less the tie-breaks of §5.9-5.10), plan,
    first stage and the plan's NPV by its statements (what `fleetopt solve` reports)."""

    status: str
    objective_usd: float
    plan: Plan
    first_stage: dict
    seconds: float
    model_size: dict
    npv_usd: float | None = None


def solve_with_first_stage(
    data: ModelData,
    stage: FirstStage,
    first_stage: dict | None = None,
    mip_gap: float = DEFAULT_MIP_GAP,
    time_limit: float | None = None,
    threads: int | None = None,
    required: bool = False,
) -> ForecastSolution | None:
    """The forecast MILP (§5-§6), with the first stage fixed to ``first_stage`` when given: the
    forecast optimum, or a first stage completed into a full plan. None when infeasible, or with
    ``required`` the error `fleetopt solve` gives (infeasible with its diagnosis, or no plan)."""
    m = build_model(data, "npv")
    if first_stage is not None:
        fix_first_stage(m, first_stage)
    started = time.perf_counter()
    status, results, incumbent = solve_settled(m, rel_gap=mip_gap, time_limit=time_limit, threads=threads)
    seconds = time.perf_counter() - started
    if status in ("infeasible", "no_plan"):
        if required:
            raise_without_plan(data, status, results, seconds, {"time_limit": time_limit, "threads": threads})
        return None
    plan = extract_plan(m, data)
    return ForecastSolution(
        status,
        float(incumbent) * MUSD,
        plan,
        netted_first_stage(first_stage_values(m, stage), plan),
        seconds,
        model_size(m),
        plan_statements(data, plan).npv_usd,
    )


def netted_first_stage(values: dict[tuple[str, object], float], plan: Plan) -> dict:
    """``values`` with the draws and prepayments of ``plan``, whose extraction nets a draw and a
    prepayment of one quarter (``finance.net_same_quarter_draws``): the two tie on the forecast, but
    the gross draw schedules more instalments, which a scenario with the first stage fixed must pay
    (on tiny, a solve whose tie fell on a $31.6M draw and $57.6M prepayment in 2026Q3 made EEV
    $2.6M worse than the netted first stage's)."""
    out = dict(values)
    for name, key in values:
        if name in ("draw", "prepay"):
            f, t = key
            usd = plan.draws[f, t] if name == "draw" else plan.prepay[f, t]
            out[(name, key)] = to_model_units(float(usd))
    return out


def complete_purchases_with_rescue(
    data: ModelData,
    purchases,
    mip_gap: float = DEFAULT_MIP_GAP,
    time_limit: float | None = None,
    threads: int | None = None,
) -> SolveResult | None:
    """Purchases written by people (``purchases``: a :class:`~fleetopt.core.purchases.FixedPurchases`)
    that break a hard limit on the forecast, completed anyway: the forecast scenario's model with
    its rescue (:func:`scenario_model`: the revolver, then covenant cures and emergency equity at
    their penalties, every slack priced) and every purchase fixed to the file's. The plan is the
    one that needs the least rescue, its statements those of the plan alone (no rescue in them):
    they break the limits the rescue cured. Only finance limits are cured (:data:`FINANCE_CURED`):
    purchases that need power, or break another physical limit, have no plan (None). Status
    ``rescued`` (``rescued, time limit reached`` where the time limit stopped it with a plan);
    ``rescue``: the forecast's row (:func:`scenario_row`)."""
    started = time.perf_counter()
    # whole purchases and power blocks in every quarter, as the forecast MILP's: a plan file holds a
    # plan's GPUs as bought, which a rounded continuous purchase would contradict
    ef = build_extensive_form(data, [ScenarioInputs("forecast", 1.0)], FirstStage(1), integer_later=True)
    blk = ef.block(0)
    ef.fix_first_stage({("buy", key): float(purchases.blocks[key]) for key in blk.buy})
    for key in blk.SLACK:  # power, contracts, demand: no rescue creates what does not exist
        if key[0] not in FINANCE_CURED:
            blk.slack[key].fix(0.0)
    build_seconds = time.perf_counter() - started
    solution = ef.solve(mip_gap, time_limit, threads)
    if solution.status == "infeasible":
        return None
    if solution.objective_usd is None:
        raise NoPlanFound(f"the rescue of the purchases of {purchases.source} found no plan "
                          f"({solution.status}) in {solution.seconds:.1f} s")  # fmt: skip
    plan = extract_plan(blk, data)
    statements = plan_statements(data, plan)
    return SolveResult(
        # its gap is of the rescue's penalised value, not of the NPV shown: not given
        status="rescued" if solution.status == "optimal" else "rescued, time limit reached",
        objective_kind="npv",
        objective_usd=statements.npv_usd,
        bound_usd=None,
        gap=None,
        build_seconds=build_seconds,
        solve_seconds=solution.seconds,
        model_size=model_size(ef.m),
        plan=plan,
        statements=statements,
        data=data,
        purchases=purchases,
        rescue=solution.scenarios[0],
    )


def complete_with_rescue(
    data: ModelData,
    stage: FirstStage,
    first_stage: dict,
    mip_gap: float = DEFAULT_MIP_GAP,
    time_limit: float | None = None,
    threads: int | None = None,
) -> tuple[Plan, dict] | None:
    """A first stage completed on the forecast scenario with the rescue of :func:`scenario_model`
    (for a first stage the plain forecast MILP finds infeasible); returns the plan and the
    forecast scenario's row (its rescue), or None where no completion draws only the MW online:
    power is never relaxed (the evaluator refuses a plan that draws more than its sites have)."""
    ef = build_extensive_form(data, [ScenarioInputs("forecast", 1.0)], stage, integer_later=True)
    ef.fix_first_stage(first_stage)
    blk = ef.block(0)
    for key in blk.SLACK:
        if key[0] in POWER_SLACKS:
            blk.slack[key].fix(0.0)
    solution = ef.solve(mip_gap, time_limit, threads)
    if solution.objective_usd is None:
        return None
    return extract_plan(blk, data), solution.scenarios[0]

