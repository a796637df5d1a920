"""The measures of a two-stage solve (docs/formulation.md §7b, "Measures"): RP, EV, EEV, WS,
VSS = RP - EEV and EVPI = WS - RP, the expected NPV and CVaR over the reduced scenarios, and
the solves again that keep RP at least EEV and WS at least RP."""

from __future__ import annotations

import numpy as np

from fleetopt.core.units import format_usd
from fleetopt.milp.highs import gap_to_bound, stage
from fleetopt.milp.stochastic.extensive_form import EFSolution, ExtensiveForm
from fleetopt.milp.stochastic.fixed_first_stage import ForecastSolution
from fleetopt.milp.stochastic.risk import cvar
from fleetopt.stochastic.rescues import rescue_counts
from fleetopt.stochastic.settings import SolverSettings


def ends_below(solution: EFSolution, floor: EFSolution, mip_gap: float) -> bool:
    """Whether both reached the gap and ``floor`` is above ``solution`` by more than the gap (RP below
    EEV: VSS below 0; WS below RP: EVPI below 0; :func:`measure_difference`), which an exact solve
    cannot give: ``floor``'s solution is one of ``solution``'s problem, but each solve decides which
    covenant cures to cut to the debt from its own last plan (§7b, "A covenant cure costs at most the
    debt"), so one can end below."""
    value, floor_value = solved_to_gap(solution), solved_to_gap(floor)
    if value is None or floor_value is None:
        return False
    return measure_difference(value, floor_value, mip_gap) < 0


def ws_again_under_rp_rules(
    ef: ExtensiveForm, ws_usd: float, rp: EFSolution, solver: SolverSettings
) -> tuple[dict, str]:
    """WS solved again from the rows RP's solve lifted and the cures it held to the debt, where its own
    solve ended below RP (``ws_usd``): RP's solution, its non-anticipativity dropped, is a plan of it,
    so WS is at least RP; where that solve too ends below RP (a time limit), RP's solution is the best
    plan of WS found, and WS is RP (§7b, "WS at least RP"). Returns ``ws_usd`` and ``ws_own_usd`` (the
    own solve's value), and the words for ``solve_method``."""
    again = wait_and_see(ef, solver, rules=rp.rules, stage_name="WS again, under RP's covenant cures")
    below = f"WS ({format_usd(ws_usd)}) below RP, so again under RP's covenant cures"
    if again.status != "optimal" or ends_below(again, rp, solver.mip_gap):
        return {"ws_usd": rp.objective_usd, "ws_own_usd": ws_usd}, f"{below}: below RP too: WS is RP's value"
    return {"ws_usd": again.objective_usd, "ws_own_usd": ws_usd}, f"{below}: {again.method}"


def wait_and_see(
    ef: ExtensiveForm, solver: SolverSettings, rules: tuple | None = None,
    stage_name: str = "WS (each scenario on its own)",
) -> EFSolution:
    """WS: the extensive form without non-anticipativity, each scenario on its own, its covenant rows
    on debt as another solve's ``rules`` left them where given (:meth:`~fleetopt.milp.stochastic.
    extensive_form.ExtensiveForm.solve`)."""
    ef.m.nonanticipativity.deactivate()
    try:
        with stage(stage_name):
            return ef.solve(solver.mip_gap, solver.time_limit, solver.threads, rules=rules)
    finally:
        ef.m.nonanticipativity.activate()


def measure_differences(figures: dict, mip_gap: float) -> dict:
    """VSS = RP - EEV and EVPI = WS - RP of ``figures`` (:func:`_difference`)."""
    rp = figures["rp_usd"] if figures.get("status") == "optimal" else None
    return {
        "vss_usd": _difference(rp, figures.get("eev_usd"), mip_gap),
        "evpi_usd": _difference(figures.get("ws_usd"), rp, mip_gap),
    }


def kept_plan_figures(chosen: EFSolution, rp: EFSolution) -> dict:
    """The value of the plan kept (``plan_value_usd``: RP's, or EEV where the forecast optimum's first
    stage is kept) and its gap to RP's bound (``plan_gap``, relative to that value, as HiGHS's)."""
    if chosen is rp:
        return {"plan_value_usd": rp.objective_usd, "plan_gap": rp.gap}
    value = chosen.objective_usd
    return {"plan_value_usd": value, "plan_gap": gap_to_bound(value, rp.bound_usd)}


def recourse_figures(ef: ExtensiveForm, rp: EFSolution, forecast: ForecastSolution) -> dict:
    """RP, EV, and the stochastic plan's expected NPV and CVaR over the reduced scenarios."""
    return {
        "status": rp.status,
        "gap": rp.gap,
        "rp_usd": rp.objective_usd,
        "rp_bound_usd": rp.bound_usd,
        "ev_usd": forecast.npv_usd,
        **plan_figures(ef, rp),
    }


def plan_figures(ef: ExtensiveForm, solution: EFSolution) -> dict:
    """Expected NPV and its CVaR over the reduced scenarios of a solution of the extensive form."""
    npv = np.array([row["npv_usd"] for row in solution.scenarios])
    return {
        "expected_npv_usd": expected_npv(ef, solution),
        "cvar_npv_usd": cvar(npv, ef.probabilities, ef.alpha),
    }


def expected_npv(ef: ExtensiveForm, solution: EFSolution) -> float:
    """The probability-weighted NPV of a solution's scenarios (USD; no penalties, no tie-breaks)."""
    return float(np.dot(ef.probabilities, [row["npv_usd"] for row in solution.scenarios]))


def eev_and_ws(
    ef: ExtensiveForm, forecast: ForecastSolution, rp: EFSolution, solver: SolverSettings
) -> tuple[dict, EFSolution]:
    """EEV (the forecast optimum's first stage in every scenario), WS (each scenario on its own:
    non-anticipativity dropped), VSS = RP - EEV and EVPI = WS - RP; and the EEV solution. A measure
    whose solve stopped short of the gap (a time limit) is None, its status and gap kept
    (``eev_status``, ``eev_gap``, ...), and so is every difference that needs it (§7b, "Measures")."""
    ef.fix_first_stage(forecast.first_stage)
    with stage("EEV (the forecast's first stage in the scenarios)"):
        eev = ef.solve(solver.mip_gap, solver.time_limit, solver.threads)
    ef.fix_first_stage(None)
    ws = wait_and_see(ef, solver)
    eev_usd, ws_usd = solved_to_gap(eev), solved_to_gap(ws)
    solved = {"status": rp.status, "rp_usd": rp.objective_usd, "eev_usd": eev_usd, "ws_usd": ws_usd}
    return {
        "eev_usd": eev_usd,
        "ws_usd": ws_usd,
        **measure_differences(solved, solver.mip_gap),
        "eev_status": eev.status, "eev_gap": eev.gap, "ws_status": ws.status, "ws_gap": ws.gap,
        **eev_in_sample(ef, eev, solved=eev_usd is not None),
    }, eev  # fmt: skip


def eev_in_sample(ef: ExtensiveForm, eev: EFSolution, solved: bool = True) -> dict:
    """From ``eev``'s scenario rows: the probability of the reduced scenarios that need a rescue under
    the forecast optimum's first stage, and its expected NPV there (EEV as an NPV, without its
    penalties: the stochastic plan's expected NPV is read against it; None unless ``solved`` to the
    gap, or without rows; the probability None without rows: a solve that found no plan). At L = 1
    both are read from each scenario's own best recourse (:func:`~fleetopt.stochastic.recourse.
    recourse_apart`): the extensive form's rows may hold any recourse outside the CVaR tail,
    emergency equity included (buy_now_or_later at A = 1/4: 75 % "rescued" there, none apart)."""
    npv = expected_npv(ef, eev) if solved and eev.scenarios else None
    rescued = rescue_counts(eev.scenarios)["rescued_probability"] if eev.scenarios else None
    return {"eev_rescued_probability": rescued, "eev_expected_npv_usd": npv}


def vss_split(figures: dict) -> dict:
    """VSS in its two parts (USD): ``vss_npv_usd``, the stochastic plan's expected NPV less the
    forecast optimum's first stage's over the reduced scenarios, and ``vss_penalty_usd``, the rest:
    the rescue and cure penalties (and tie-breaks) the plan avoids, and under a risk weight L the
    CVaR's weight too (§7b, "Measures"); {} where a part is not known. A CFO read twosite's VSS,
    $239.1M, as value beside an out-of-sample mean NPV $5.7M below the forecast optimum's: its NPV
    part was -$2.9M."""
    vss, mine, eev = (figures.get(k) for k in ("vss_usd", "expected_npv_usd", "eev_expected_npv_usd"))
    if None in (vss, mine, eev):
        return {}
    return {"vss_npv_usd": mine - eev, "vss_penalty_usd": vss - (mine - eev)}


def _difference(better: float | None, worse: float | None, mip_gap: float) -> float | None:
    """:func:`measure_difference`, or None where a side was not solved to the gap: RP stopped by a
    time limit holds a plan that can be anywhere below RP, so RP - EEV says nothing of VSS."""
    return None if better is None or worse is None else measure_difference(better, worse, mip_gap)


def measure_difference(better: float, worse: float, mip_gap: float) -> float:
    """VSS = RP - EEV or EVPI = WS - RP (USD): at least 0 in exact arithmetic, but each side is an
    incumbent within ``mip_gap`` of its own optimum, so their difference can come out below 0 by up
    to the gap: such a difference is 0 (tiny, L = 1: WS -$94,948,773 at a 0.135 % gap against RP
    -$94,876,983 gave EVPI -$71,790; both are -$94,844,349 at a 1e-6 gap). One further below is kept
    as it is: no gap explains it."""
    difference = better - worse
    within_gap = -difference <= mip_gap * max(abs(better), abs(worse))
    return 0.0 if difference < 0 and within_gap else difference


def solved_to_gap(solution: EFSolution) -> float | None:
    """A measure's objective (USD), or None unless its solve reached the gap: a plan stopped by the
    time limit has an objective far from the measure (WS of tiny at N = 50 and 20 s, before WS was
    solved block by block: -$26,773B)."""
    return solution.objective_usd if solution.status == "optimal" else None
