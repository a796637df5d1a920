"""RP, the recourse problem, solved over the reduced scenarios (docs/formulation.md §7b): by
fleetopt's extensive form and block solver, with its measures, or by mpi-sppy; and which first
stage the plan keeps, RP's or the forecast optimum's."""

from __future__ import annotations

import time
from dataclasses import dataclass, replace

import numpy as np

from fleetopt.core.units import format_duration, format_usd
from fleetopt.errors import NoPlanError
from fleetopt.milp.highs import model_size, stage
from fleetopt.milp.stochastic.extensive_form import EFSolution, ExtensiveForm, build_extensive_form
from fleetopt.milp.stochastic.first_stage import first_stage_values
from fleetopt.milp.stochastic.risk import cvar
from fleetopt.stochastic.measures import (
    eev_and_ws,
    eev_in_sample,
    ends_below,
    kept_plan_figures,
    measure_differences,
    plan_figures,
    recourse_figures,
    ws_again_under_rp_rules,
)
from fleetopt.stochastic.mpisppy_route import solve_by_mpisppy
from fleetopt.stochastic.settings import SolverSettings
from fleetopt.stochastic.timings import timed


def recourse_by_route(
    route, data, inputs, forecast, shared, risk_weight, alpha, integer_later, measures, solver
) -> Recourse:
    """RP solved on ``route``: fleetopt's extensive form and block solver (with EEV and WS where
    ``measures``), or mpi-sppy's (risk-neutral, without them)."""
    if route == "blocks":
        return by_blocks(
            data, inputs, forecast, shared, risk_weight, alpha, integer_later, measures, solver
        )
    return by_mpisppy(data, inputs, forecast, shared, route, risk_weight, alpha, integer_later, solver)


@dataclass
class Recourse:
    """RP solved: the first stage the plan keeps, the figures (RP, EV, and EEV, WS, VSS, EVPI where
    measured), the reduced scenarios' rows under it, and how long each step took."""

    first_stage: dict
    figures: dict
    scenarios: list[dict]
    method: str
    model_size: dict
    timings: dict


def by_blocks(
    data, inputs, forecast, shared, risk_weight, alpha, integer_later, measures, solver
) -> Recourse:
    """RP by fleetopt's extensive form and block solver (§7b), with EEV and WS when ``measures``;
    the forecast optimum's first stage kept when it is within the gap of RP, or better than the plan
    an RP stopped short of the gap holds (:func:`forecast_kept`)."""
    ef = build_extensive_form(data, inputs, shared, risk_weight, alpha, integer_later)
    rp = solve_recourse_problem(ef, solver)
    timings = {
        "build_seconds": ef.build_seconds, "solve_seconds": rp.seconds, "load_seconds": ef.load_seconds,
        "solve_steps": rp.steps,
    }  # fmt: skip
    first_stage, chosen, why = first_stage_values(ef.block(0), shared), rp, None
    figures = recourse_figures(ef, rp, forecast)
    method = None  # RP's, and where WS was solved again, how
    if measures:
        extra, eev = timed(timings, "measures_seconds", eev_and_ws, ef, forecast, rp, solver)
        own, eev_is_rp = rp, False
        if ends_below(rp, eev, solver.mip_gap):
            rp = timed(timings, "resolve_seconds", solve_again_under_eev_rules, ef, rp, eev, solver)
            first_stage, chosen = first_stage_values(ef.block(0), shared), rp
            eev_is_rp = rp.status != "optimal" or ends_below(rp, eev, solver.mip_gap)
            if eev_is_rp:  # EEV's solution is one of RP's: the best found
                rp = replace(eev, method=f"{rp.method}; below EEV: RP is the forecast's first stage's")
            figures = recourse_figures(ef, rp, forecast) | extra | {"rp_own_usd": own.objective_usd}
            extra = measure_differences(figures, solver.mip_gap)
        figures.update(extra)
        if (figures["evpi_usd"] or 0.0) < 0:  # WS below RP by more than the gap (measure_difference)
            started = time.perf_counter()
            again, note = ws_again_under_rp_rules(ef, figures["ws_usd"], rp, solver)
            figures.update(again)
            figures.update(measure_differences(figures, solver.mip_gap))
            timings["measures_seconds"] += time.perf_counter() - started
            method = f"{rp.method}; {note}"
        why = FORECAST_ABOVE_RP if eev_is_rp else forecast_kept(figures, rp, solver.mip_gap)
        if why:
            first_stage, chosen = forecast.first_stage, eev
            figures.update(plan_figures(ef, eev))
    figures["first_stage"] = "RP's" if chosen is rp else f"the forecast optimum's ({why})"
    figures.update(kept_plan_figures(chosen, rp))
    rows = chosen.scenarios
    if risk_weight == 1.0:  # E[V] has no weight: a scenario outside the CVaR tail has any recourse
        apart = timed(timings, "recourse_seconds", recourse_apart, ef, first_stage, integer_later, solver)
        if apart.scenarios:
            rows = apart.scenarios
            figures.update(plan_figures(ef, apart))
        if figures.get("eev_expected_npv_usd") is not None:  # EEV's recourse is as arbitrary there
            started = time.perf_counter()
            eev_apart = apart if chosen is not rp else recourse_apart(
                ef, forecast.first_stage, integer_later, solver
            )
            figures.update(eev_in_sample(ef, eev_apart))
            timings["measures_seconds"] += time.perf_counter() - started
    return Recourse(first_stage, figures, rows, method or rp.method, model_size(ef.m), timings)


# why the plan keeps the forecast optimum's first stage where RP's solve, and its solve again under
# EEV's covenant cures, both ended below EEV (by_blocks)
FORECAST_ABOVE_RP = "above RP's plans, its own and solved again under EEV's covenant cures"


def solve_again_under_eev_rules(
    ef: ExtensiveForm, rp: EFSolution, eev: EFSolution, solver: SolverSettings
) -> EFSolution:
    """RP solved again, its first stage free, from the rows EEV's solve lifted and the cures it held
    to the debt (EEV's solution is a plan of it), and on as :meth:`~fleetopt.milp.stochastic.
    extensive_form.ExtensiveForm.solve` goes (§7b, "RP at least EEV")."""
    with stage("RP again, under EEV's covenant cures"):
        again = ef.solve(solver.mip_gap, solver.time_limit, solver.threads, rules=eev.rules)
    again.method = (f"{rp.method}; its plan ({format_usd(rp.objective_usd)}) below EEV, so again under "
                    f"EEV's covenant cures: {again.method}")  # fmt: skip
    return again


def recourse_apart(
    ef: ExtensiveForm, first_stage: dict, integer_later: bool, solver: SolverSettings
) -> EFSolution:
    """Each reduced scenario's recourse under ``first_stage`` with its own V_n maximised: the
    extensive form of ``ef``'s scenarios at L = 0 with the first stage fixed, where no row links the
    scenarios and sum p_n V_n (every p_n > 0) is maximised by maximising each V_n. At L = 1 the
    extensive form's objective gives a scenario outside the CVaR tail no weight, so RP's solution
    may hold any recourse there (tiny, N = 2: the body scenario's V equal to the tail's, its NPV
    -$72.06M where its own best is -$25.8M; §7b, "The scenario rows at L=1")."""
    own = build_extensive_form(ef.data, ef.scenarios, ef.stage, 0.0, ef.alpha, integer_later)
    own.fix_first_stage(first_stage)
    with stage("each scenario's own best recourse"):
        return own.solve(solver.mip_gap, solver.time_limit, solver.threads)


def by_mpisppy(
    data, inputs, forecast, shared, route, risk_weight, alpha, integer_later, solver
) -> Recourse:
    """RP by mpi-sppy (:mod:`fleetopt.stochastic.mpisppy_route`): RP, EV, the expected NPV and CVaR
    over the reduced scenarios; EEV and WS are not measured on this route (None)."""
    rp = solve_by_mpisppy(data, inputs, shared, route, solver.mip_gap, risk_weight, integer_later)
    probabilities = np.array([sc.probability for sc in inputs])
    npv = np.array([row["npv_usd"] for row in rp.scenarios])
    figures = {
        "status": "optimal", "gap": rp.gap, "rp_usd": rp.objective_usd, "rp_bound_usd": rp.bound_usd,
        "ev_usd": forecast.npv_usd, "expected_npv_usd": float(np.dot(probabilities, npv)),
        "cvar_npv_usd": cvar(npv, probabilities, alpha),
        "eev_usd": None, "ws_usd": None, "vss_usd": None, "evpi_usd": None, "first_stage": "RP's",
        "plan_value_usd": rp.objective_usd, "plan_gap": rp.gap,
    }  # fmt: skip
    return Recourse(
        rp.first_stage,
        figures,
        rp.scenarios,
        route,
        {},
        {"build_seconds": rp.build_seconds, "solve_seconds": rp.seconds},
    )


def solve_recourse_problem(ef: ExtensiveForm, solver: SolverSettings) -> EFSolution:
    """RP: the extensive form with non-anticipativity; no plan is an error."""
    with stage("RP (the stochastic plan)"):
        rp = ef.solve(solver.mip_gap, solver.time_limit, solver.threads)
    if rp.objective_usd is None:
        raise NoPlanError(_no_stochastic_plan(rp, solver))
    return rp


def _no_stochastic_plan(rp: EFSolution, solver: SolverSettings) -> str:
    """Why RP ended without a plan, and what to do: an infeasible extensive form (a scenario copy no
    plan completes), or a solve stopped first (at --time-limit, or HiGHS gave up)."""
    if rp.status == "infeasible":
        why = ("is infeasible: no first stage is completed within the hard limits in every scenario; "
               "`fleetopt solve` without --stochastic gives the forecast optimum, a plan")  # fmt: skip
    elif solver.time_limit is not None:
        why = (f"found no plan within its --time-limit of {solver.time_limit:g} s; give it longer, fewer "
               "scenarios (--stochastic N) or a larger --mip-gap, or commit to the forecast optimum's first "
               "stage (`fleetopt solve` without --stochastic)")  # fmt: skip
    else:
        why = (f"stopped without a plan ({rp.status}); fewer scenarios (--stochastic N) or a larger "
               "--mip-gap may solve it, or commit to the forecast optimum's first stage (`fleetopt solve` "
               "without --stochastic)")  # fmt: skip
    return f"the extensive form (RP, the stochastic plan) {why}, after {format_duration(rp.seconds)}"


def forecast_kept(figures: dict, rp: EFSolution, mip_gap: float) -> str | None:
    """Why the stochastic plan keeps the forecast optimum's first stage rather than RP's, in words,
    or None where it keeps RP's: EEV within the gap of RP's bound (:func:`forecast_within_gap`), or
    EEV above the value of the plan an RP stopped short of the gap holds (a time limit): the
    forecast's first stage is then the better solution of RP found (§7b, "Which first stage the
    plan keeps"; tiny at N = 20 and a 1 s limit, one run at load 5: RP's plan -$34.6M, EEV -$25.7M)."""
    if forecast_within_gap(figures, rp, mip_gap):
        return "within the gap of RP"
    eev = figures.get("eev_usd")
    if rp.status != "optimal" and eev is not None and eev > rp.objective_usd:
        return f"above the value of RP's plan, which stopped at the {rp.status.replace('_', ' ')}"
    return None


def forecast_within_gap(figures: dict, rp: EFSolution, mip_gap: float) -> bool:
    """Whether the forecast optimum's first stage is itself a solution of RP within ``mip_gap`` of
    RP's bound (EEV that close): then the scenarios give no reason, beyond the solver's tolerance,
    to commit to anything else, and the stochastic plan keeps the forecast's first stage (§7b)."""
    eev, bound = figures.get("eev_usd"), rp.bound_usd
    if eev is None or bound is None:
        return False
    return bound - eev <= mip_gap * max(abs(eev), 1e-9)
