"""Solving a model (deterministic and two-stage stochastic), their summaries and run writers."""

from __future__ import annotations

import hashlib
import time
from pathlib import Path
from typing import TYPE_CHECKING

from fleetopt import __version__
from fleetopt.api._keywords import arguments_checked
from fleetopt.api._models import ModelArg, _loaded_and_data, _loaded_of
from fleetopt.api._runs import _npv_differs, _recorded
from fleetopt.core.data import ModelData
from fleetopt.core.economics.grade_limit import signed_book_beyond_grade_limit
from fleetopt.core.economics.statements import plan_statements
from fleetopt.core.plan import plan_axes
from fleetopt.core.purchases import FixedPurchases, purchases_for
from fleetopt.core.purchases import read_purchases as _read_purchases
from fleetopt.core.results.headline import COST_SOLVE_FIGURES
from fleetopt.core.results.plan_limits import PLAN_LIMITS_KEY, plan_limits
from fleetopt.core.results.tables import plan_frame
from fleetopt.core.tail import TAIL
from fleetopt.core.units import counted, format_usd
from fleetopt.errors import Argument, InputError, warn
from fleetopt.evaluate import resources
from fleetopt.evaluate.forecast import forecast_run
from fleetopt.evaluate.planfile import plans_npz_bytes
from fleetopt.milp.diagnose import lacking_words
from fleetopt.milp.highs import DEFAULT_MIP_GAP, STOCHASTIC_MIP_GAP
from fleetopt.milp.solve import InfeasibleModel, SolveResult
from fleetopt.milp.solve import solve as _solve_data
from fleetopt.milp.stochastic.fixed_first_stage import complete_purchases_with_rescue
from fleetopt.milp.stochastic.rescue import names_finance_limit, rescuable
from fleetopt.runs import limits
from fleetopt.runs.file_text import csv_text, json_text
from fleetopt.runs.folder import RunFolder
from fleetopt.runs.limits import DEFAULT_SCREEN
from fleetopt.runs.registry import is_table, table_solved
from fleetopt.schema.loaded_model import LoadedModel
from fleetopt.stochastic.forecast_completion import rescued_completion
from fleetopt.stochastic.gap import check_gap_scenarios, gap_frame
from fleetopt.stochastic.replications import check_replications, stability_frame
from fleetopt.stochastic.result import PLAN_LABELS, StochasticResult
from fleetopt.stochastic.run import solve_stochastic as _solve_stochastic_data
from fleetopt.stochastic.settings import check_settings
from fleetopt.sweep.result import SweepResult
from fleetopt.sweep.run import read_proposals

if TYPE_CHECKING:  # a type only: pandas is imported where a frame is made
    import pandas as pd


# the objective that weighs a contract offered, as the API and the command line set it
_NPV_OBJECTIVE = Argument("objective='npv'", "--objective npv")


def _warn_offers_declined(data: ModelData) -> None:
    """The cost objective counts no revenue, so it never takes an optional contract (formulation
    §6, "Cost"): say so for a model that offers some, rather than decline them silently."""
    offers = [k.name for k in data.contracts if not k.signed]
    if offers:
        warn(f"the cost objective counts no revenue, so it declines every contract not signed ("
             f"{', '.join(offers)}): solve with ", _NPV_OBJECTIVE, " to weigh them (docs/formulation.md §6)")


# what a rescue does for an infeasible solve's fixed purchases, as its diagnosis makes sure (True: a
# conflict of finance limits alone) or not (finance limits beside others the purchases are not proven
# to lack: GPUs or MW of a diagnosis not proven, a revenue share the rescue holds; only it tells)
RESCUE_WORDS = {
    True: "completes these purchases anyway, breaking those limits on the forecast",
    False: "tries to complete these purchases anyway by curing the finance limits alone (the diagnosis "
    "names others beside them, which a plan breaking only the finance limits may keep: only the rescue "
    "tells)",
}
# what the rescue cures, where it cannot complete fixed purchases (formulation §4, "Purchases that
# break a hard limit")
FINANCE_ONLY = "the rescue cures finance limits only (cash, covenants, the borrowing base)"


def _one_purchases(purchases, data: ModelData) -> FixedPurchases:
    """A solve's fixed purchases (:func:`purchases_for`); a one-entry dict ``{"delay Rubin": table}``
    names them, as a sweep's candidates are named, so that two edited tables are told apart in
    labels and the run registry."""
    if not isinstance(purchases, dict):
        if isinstance(purchases, (str, Path)) and str(purchases).strip():
            limits.path("purchases", purchases)  # a NUL character, a name too long: refused by name
        return purchases_for(purchases, data)
    if len(purchases) != 1:
        raise InputError(f"purchases: a solve fixes one set of purchases, named {{name: table}} (got "
                         f"{len(purchases)}); fleetopt.api.sweep(purchases=...) compares several")
    return read_proposals(purchases, data)[0]


# a solve's keywords a notebook may reach for that are another function's: the two-stage solve's
SOLVE_ELSEWHERE = {
    name: "a two-stage plan over scenarios is fleetopt.api.solve_stochastic(model, scenarios) (`fleetopt "
    "solve --stochastic N`); a plan's risk over scenarios, fleetopt.api.evaluate(run, scenarios=N)"
    for name in ("stochastic", "scenarios")
}


@arguments_checked(SOLVE_ELSEWHERE)
def solve(
    model: ModelArg | ModelData = None,
    *,
    objective: str = "npv",
    time_limit: float | None = None,
    mip_gap: float = DEFAULT_MIP_GAP,
    threads: int | None = None,
    purchases: str | Path | FixedPurchases | pd.DataFrame | dict | None = None,
    rescue: bool = False,
) -> SolveResult:
    """Solve a model's MILP and return the best plan with its statements: a :class:`SolveResult`.

    ``model``: as :func:`load` takes it, or a :class:`ModelData` (then :func:`write_solve_run` needs the
    LoadedModel given). ``objective``: "npv" (maximise NPV, USD) or "cost" (minimise discounted
    cost, USD). ``time_limit``: seconds of HiGHS search (None: none); ``mip_gap``: relative gap to
    stop at, in [0, 0.999]; ``threads``: HiGHS threads (None: HiGHS decides; more than the usable
    cores are capped to them, with a :class:`FleetoptWarning`). ``purchases``: a CSV file of the
    GPU purchases the plan must make (columns quarter, sku, site, gpus; or a solve's plan.csv): every
    purchase is fixed to the file's, none elsewhere, and the solver chooses the rest
    (docs/formulation.md §4, "Fixed purchases"), a pandas DataFrame of those columns (a plan's
    ``plan_frame()`` rows, edited), or what :func:`read_purchases` read; as ``{"delay Rubin":
    table}``, named so in the plan's label ("milp, purchases fixed (delay Rubin)") and the run
    registry, where a table is otherwise "purchases table" (one line of text, as a comparison's
    label). ``rescue``
    (with ``purchases``): where they break a hard limit on the forecast (a covenant, the cash
    floor), complete them anyway with the rescue model (status "rescued", formulation §4) so that
    their risk can be evaluated. An infeasible model raises :class:`InfeasibleModel`; no plan
    within the time limit :class:`NoPlanFound`."""
    _check_solve_settings(objective, time_limit, mip_gap, threads, purchases, rescue)
    loaded, data = _loaded_and_data(model)
    if objective == "cost":
        _warn_offers_declined(data)
    if (broken := signed_book_beyond_grade_limit(data, loaded)) is not None:  # before the infeasible solve
        warn(broken)
    fixed = None if purchases is None else _one_purchases(purchases, data)
    threads = resources.capped_threads(threads)
    result = _solved_or_rescued(data, objective, time_limit, mip_gap, threads, fixed, rescue)
    result.loaded = loaded
    result.on_forecast = _policy_on_forecast(result)
    _warn_if_the_policy_reacts(result)
    return result


def _check_solve_settings(objective: str, time_limit: float | None, mip_gap: float, threads: int | None,
                          purchases, rescue: bool) -> None:  # fmt: skip
    """:func:`solve`'s settings checked before the model is read."""
    limits.text("objective", objective, ("npv", "cost"))
    limits.solver_settings(mip_gap, time_limit, threads)
    limits.flag("rescue", rescue)
    if rescue and (purchases is None or objective != "npv"):
        raise InputError("rescue completes fixed purchases (purchases=, --purchases) that break a "
                         "hard limit, for the npv objective: give purchases, and leave the objective "
                         "at npv")  # fmt: skip


def _solved_or_rescued(data: ModelData, objective: str, time_limit: float | None, mip_gap: float,
                       threads: int | None, fixed: FixedPurchases | None,
                       rescue: bool) -> SolveResult:  # fmt: skip
    """The MILP's best plan (:func:`solve`); where the ``fixed`` purchases make it infeasible, the
    rescue's (:func:`_rescued`)."""
    started = time.perf_counter()
    try:
        return _solve_data(
            data, objective, time_limit=time_limit, mip_gap=mip_gap, threads=threads, purchases=fixed
        )
    except InfeasibleModel as exc:
        # a rescue cures finance limits only: purchases short of power or a contract stay infeasible
        if fixed is None or objective != "npv":
            raise
        return _rescued(exc, data, fixed, rescue, mip_gap, time_limit, started, threads)


def _rescued(exc: InfeasibleModel, data: ModelData, fixed: FixedPurchases, rescue: bool, mip_gap: float,
             time_limit: float | None, started: float, threads: int | None) -> SolveResult:  # fmt: skip
    """Fixed purchases the MILP found infeasible (``exc``) completed by the rescue model, where
    ``rescue`` and the conflict names a finance limit, the purchases not proven to lack GPUs or MW
    (formulation §4); else ``exc`` raised, saying whether a rescue would help. ``started``: when the
    solve started (``time_limit`` covers both)."""
    lacking = lacking_words(exc.diagnosis)  # proven: the rescue, which holds GPUs and MW, cannot help
    finance = names_finance_limit(exc.diagnosis)
    exc.rescuable = offered = finance and not lacking
    exc.rescue_certain = offered and rescuable(exc.diagnosis)
    if lacking and (rescue or finance):  # where a rescue comes to mind
        raise _hinted(exc, f"{FINANCE_ONLY}, so it cannot complete these purchases: whatever the money "
                           f"they are short of {lacking}")  # fmt: skip
    if not rescue:
        if offered:  # in Python, said in the message; the CLI says it with the command given
            exc.args = (f"{exc}; solve(..., rescue=True) {RESCUE_WORDS[exc.rescue_certain]}",)
        raise exc
    # tried where a finance limit is in the conflict, as a sweep's proposal is: GPUs or MW the
    # purchases are not proven to lack may be only the diagnosis's way around it; the rescue holds them
    left = None if time_limit is None else max(1.0, time_limit - (time.perf_counter() - started))
    result = complete_purchases_with_rescue(data, fixed, mip_gap, left, threads) if offered else None
    if result is None:
        raise _hinted(exc, "the rescue found no plan either: a limit it does not cure is broken too"
                      if offered else f"{FINANCE_ONLY}, and these purchases break others")  # fmt: skip
    result.completion = rescued_completion(data, result.plan, result.rescue)
    return result


def _hinted(exc: InfeasibleModel, hint: str) -> InfeasibleModel:
    """``exc`` with ``hint``, what to do about it, at the end of its message (the CLI's line of its own)."""
    exc.hint = hint
    exc.args = (f"{exc}; {hint}",)
    return exc


def _warn_if_the_policy_reacts(result: SolveResult) -> None:
    """Say so where the plan, run on the forecast with the model's policy, is not its statements:
    the report, compare and the sweep show that run, and the sweep never recommends a plan that
    breaches there."""
    run = result.on_forecast
    if not run["policy_reacts"]:
        return
    buffer = result.data.policy.liquidity_buffer_usd
    why = f" (a liquidity buffer of {format_usd(buffer)} above finance.min_cash_usd)" if buffer > 0 else ""
    breaks = run["policy_breaks"]
    warn(
        f"run with the model's policy{why}, the plan reacts on the forecast itself: NPV "
        f"{format_usd(run['policy_npv_usd'])} against the MILP's {format_usd(result.statements.npv_usd)}, "
        f"and it {'keeps every covenant' if breaks == 'none' else breaks}. The MILP keeps cash above the "
        "minimum only; the policy defers orders and cuts prepayments below the minimum plus the buffer "
        "(docs/evaluation.md, 'Policy: how a plan reacts', the paragraph 'Nothing reacts on the "
        "forecast'). The report and compare show this run "
        "(quarter by quarter in the report of fleetopt evaluate --plans RUN --deterministic --report), and "
        "fleetopt sweep does not recommend a plan that breaches a covenant on its forecast"
    )


@arguments_checked()
def read_purchases(path: str | Path, model: ModelArg | ModelData = None) -> FixedPurchases:
    """The GPU purchases of a CSV file (columns quarter, sku, site, gpus; or a solve's plan.csv),
    checked against ``model`` (as :func:`solve` takes it): to give :func:`solve` as ``purchases``.
    Bad rows raise :class:`InputError` naming the file, line and field.

    Returns a :class:`FixedPurchases`.
    """
    try:
        limits.path("path", path, optional=False)
    except InputError as exc:
        if is_table(path):  # solve takes the table itself
            raise InputError.naming(*exc.message_parts(), f"; {table_solved('no file to read')}") from None
        raise
    return _read_purchases(path, _loaded_and_data(model)[1])


def solve_summary(result: SolveResult, loaded: LoadedModel) -> dict:
    """The content of summary.json for a solve run; ``loaded``: the model it was solved from."""
    limits.instance("result", result, SolveResult, "what fleetopt.api.solve returns")
    loaded = _loaded_of(loaded, "loaded")
    _check_solved_from(result, loaded)
    fig = _written_headline(result.headline(), result.objective_kind)
    return {
        "fleetopt_version": __version__,
        "kind": "solve",
        "model_name": loaded.model.name,
        **loaded.origin_record,
        "model_hash": loaded.content_hash,
        **loaded.basis_record,
        "status": result.status,
        "objective": result.objective_kind,
        "objective_usd": result.objective_usd,
        "bound_usd": result.bound_usd,
        "gap": result.gap,
        "build_seconds": result.build_seconds,
        "solve_seconds": result.solve_seconds,
        "model_size": result.model_size,
        **({} if result.purchases is None else {"purchases": _purchases_summary(result)}),
        # purchases completed with the rescue: what it took, and the limits the plan breaks
        **({} if result.completion is None else {"completion": result.completion}),
        **fig,
        # the limits the plan reaches on the forecast: what held it back
        PLAN_LIMITS_KEY: plan_limits(result.data, result.plan, result.statements, result.objective_kind,
                                     purchases_fixed=result.purchases is not None),
        **(result.on_forecast or _policy_on_forecast(result)),
    }


def _written_headline(fig: dict, objective: str) -> dict:
    """The headline figures summary.json keeps: a cost solve's own (:data:`COST_SOLVE_FIGURES`)
    only for a cost solve."""
    return {k: v for k, v in fig.items() if objective == "cost" or k not in COST_SOLVE_FIGURES}


def _policy_on_forecast(result: SolveResult) -> dict:
    """The plan run on the forecast with the model's policy (docs/evaluation.md, "Nothing reacts on
    the forecast"), as the report, compare and the sweep see it: it equals the statements unless
    the policy reacts there (a liquidity buffer above the MILP's cash floor cuts prepayments and
    defers orders), and then it may breach a covenant the MILP kept."""
    run = forecast_run(result.data, result.plan, None, result.statements)
    return {
        "policy_npv_usd": run.npv_usd,
        "policy_reacts": run.reacts,
        "policy_within_limits": run.within_limits,
        "policy_breaks": run.limits_words(),
    }


def _solve_label(result: SolveResult) -> str:
    """A solve's plan as evaluations and comparisons name it: "milp", or "milp, purchases fixed
    (orders.csv)" naming the planner's file (two planners' files solved apart are told apart)."""
    if result.purchases is None:
        return "milp"
    fixed = f"milp, purchases fixed ({Path(result.purchases.source).name})"
    return fixed if result.rescue is None else f"{fixed}, rescued"


def _purchases_summary(result: SolveResult) -> dict:
    """What a solve with fixed purchases was given: the file, its purchase rows and GPUs."""
    fixed = result.purchases
    gpus = fixed.gpus(result.data)
    return {"file": fixed.source, "copy": RunFolder.PURCHASES, "rows": fixed.rows, "gpus": gpus}


@arguments_checked()
def write_solve_run(
    result: SolveResult,
    loaded: LoadedModel | tuple | None = None,
    out: str | Path | None = None,
    *,
    command: str | None = None,
) -> Path:
    """Write summary.json, plan.csv, plan.npz, statements.csv and model.yaml (and purchases.csv,
    a copy of the file whose purchases the solve fixed) into a run folder:
    ``out`` (new or empty), or a new one under the runs folder, claimed when it is written; and
    record it in the run registry (``command``: what `fleetopt runs show` gives as the command
    that made the run; default: the Python program that called the API). ``loaded``: the model
    the result was solved from (a LoadedModel or what :func:`load` returns; None: the one
    :func:`solve` kept). Returns the run folder (a Path)."""
    limits.instance("result", result, SolveResult, "what fleetopt.api.solve returns")
    limits.text("command", command, optional=True)
    loaded = _loaded_of(loaded if loaded is not None else getattr(result, "loaded", None), "loaded")
    _check_solved_from(result, loaded)
    _check_plan_unchanged(result)
    limits.out_path("out", out)
    folder = RunFolder.to_write(out, "solve", loaded.model.name)
    plan_file = plan_file_bytes(result, loaded)
    summary = _with_plan_hash(solve_summary(result, loaded), plan_file)
    files = {
        RunFolder.SUMMARY: json_text(summary),
        RunFolder.PLAN_CSV: plan_frame(result.data, result.plan).to_csv(index=False),
        RunFolder.STATEMENTS: csv_text(result.statements_frame()),
        RunFolder.PLAN: plan_file,
        RunFolder.MODEL: loaded.text,
        **({} if result.purchases is None else {RunFolder.PURCHASES: result.purchases.text}),
    }
    return _recorded(loaded, lambda: folder.write(files), summary, command)


@arguments_checked()
def plan_file_bytes(result: SolveResult | StochasticResult, loaded: LoadedModel) -> bytes:
    """The plan file (plan.npz) of a solve's run folder (its plan, labelled as
    :func:`_solve_label` says) or of a stochastic solve's (the stochastic plan, then the forecast
    optimum); ``loaded``: the model it was solved from, whose policy cash buffer each plan keeps (a
    plan is run with its own buffer under any version of the model, as a sweep's are).

    Returns the file's bytes.
    """
    limits.instance("result", result, (SolveResult, StochasticResult), "what fleetopt.api.solve returns")
    limits.instance("loaded", loaded, LoadedModel, "a loaded model (fleetopt.api.load(...)[0])")
    _check_solved_from(result, loaded)  # one model's plans labelled with another's name and hash
    if isinstance(result, StochasticResult):
        plans, labels = [result.plan, result.forecast_plan], list(PLAN_LABELS)
    else:
        plans, labels = [result.plan], [_solve_label(result)]
    buffers = [loaded.model.policy.liquidity_buffer_usd] * len(plans)
    model, axes = loaded.model.name, plan_axes(result.data)
    return plans_npz_bytes(plans, labels, model, loaded.content_hash, buffers=buffers, axes=axes)


def _with_plan_hash(summary: dict, plan_file: bytes) -> dict:
    """``summary`` with ``plan_sha256``, the SHA-256 of the plan file the run writes beside it, which
    `fleetopt report` checks (docs/formulation.md, "What a solve writes")."""
    return {**summary, "plan_sha256": hashlib.sha256(plan_file).hexdigest()}


def _check_solved_from(result: SolveResult | StochasticResult, loaded: LoadedModel) -> None:
    """Refuse to label a plan with a model it was not solved from: the run folder would hold one
    model's plan beside another model's model.yaml, hash and figures."""
    if result.data.model == loaded.model:
        return
    solved = result.data.model.name
    raise InputError(
        f"the result was solved from model {solved!r} (fingerprint {result.data.fingerprint[:16]}), not "
        f"from the model given, {loaded.model.name!r} (hash {loaded.content_hash}, {loaded.source}): "
        "pass the LoadedModel the result was solved from"
    )




@arguments_checked()
def solve_stochastic(
    model: ModelArg | ModelData = None,
    scenarios: int = 5,
    *,
    first_stage_quarters: int | None = None,
    risk_weight: float = 0.0,
    cvar_alpha: float = TAIL,
    scenario_seed: int = 0,
    screen: int | None = None,
    out_of_sample: int = limits.DEFAULT_SCENARIOS,
    time_limit: float | None = None,
    mip_gap: float = STOCHASTIC_MIP_GAP,
    threads: int | None = None,
    backend: str = "auto",
    solver: str = "blocks",
    integer_later: bool = False,
    share_purchases: bool = False,
    replications: int = 1,
    gap_scenarios: int = 0,
) -> StochasticResult:
    """The two-stage stochastic plan (docs/formulation.md §7b) of ``model`` (as :func:`solve` takes
    it): ``scenarios`` representatives of
    ``screen`` scenarios of ``scenario_seed`` (None: 200, or ``scenarios`` where that is more; fewer
    than ``scenarios`` is refused), first stage before quarter ``first_stage_quarters``
    (None: 4, or the whole horizon when it is shorter), objective (1 - risk_weight) E[V] +
    risk_weight CVaR_cvar_alpha(V) with V a scenario's value, its NPV less the recourse's penalties
    (emergency equity, revolver, slacks; not the NPV itself), the measures (RP, EV, EEV, WS, VSS,
    EVPI; a measure not solved to ``mip_gap`` is None) and ``out_of_sample`` fresh scenarios (seed
    ``scenario_seed + 1``; 0: none). ``mip_gap`` defaults to 1 %, as `fleetopt solve --stochastic`'s.
    ``solver``: "blocks" (fleetopt's extensive form) or "mpisppy-ef" (mpi-sppy's; the
    `fleetopt[stochastic]` extra; L = 0; no EEV or WS). ``integer_later``: the scenarios'
    purchases and power blocks after the first stage in whole blocks, as the first stage's
    (default: continuous, a relaxation that solves faster and values the recourse a little above
    its worth). ``share_purchases``: every purchase, power block and draw shared by the scenarios
    in every quarter, as the evaluator runs them, each scenario re-planning only its prepayments,
    retirements, moves to inference, its purchases' split between training and inference and its
    operations after the first stage. ``backend``: the evaluator's, which screens the scenarios
    and runs the out-of-sample check, as :func:`evaluate`'s. ``time_limit`` in
    seconds; ``threads`` capped to the usable cores, with a :class:`FleetoptWarning`. ``replications`` K
    (1 to 30): the same solve on K scenario samples, of seeds ``scenario_seed`` ... ``scenario_seed + K - 1``,
    the plan the first's; K > 1 gives ``result.replications``: each first-stage decision in every sample,
    its mean, min and max, and a verdict on its stability (docs/formulation.md §7b "Replications").
    ``gap_scenarios`` M (0: none; 2 to 1,000, with K >= 2 and risk_weight 0): the plan's first stage fixed
    in M fresh scenarios, each re-planned by the programme's scenario model, and the optimality gap of
    the first stage estimated against the K samples' optima, ``result.replications["gap"]``
    (docs/formulation.md §7b "Optimality gap"). Bad settings raise
    :class:`~fleetopt.errors.InputError`.

    Returns a :class:`StochasticResult` (:func:`write_stochastic_run` writes it as a run).
    """
    limits.solver_settings(mip_gap, time_limit, threads)
    limits.seed("scenario_seed", scenario_seed)
    limits.flag(Argument("integer_later", "--integer-later"), integer_later)
    limits.flag(limits.SHARE_PURCHASES, share_purchases)
    if screen is not None:
        limits.whole("screen", screen, 1, limits.MAX_SCREENED)
    limits.whole("out_of_sample", out_of_sample, 0)  # 0: none
    check_replications(replications)
    check_gap_scenarios(gap_scenarios, replications, risk_weight)
    loaded, data = _loaded_and_data(model)
    threads = resources.capped_threads(threads)
    check_settings(data, scenarios, first_stage_quarters, risk_weight, cvar_alpha, solver,
                   share_purchases=share_purchases)
    if screen is not None and screen < scenarios:  # drawn: max(screen, scenarios), so it meant nothing
        raise InputError(f"screen must be at least scenarios ({scenarios:,}): "
                         f"{counted(scenarios, 'representative')} cannot be reduced from "
                         f"{counted(screen, 'scenario')} (got screen={screen:,})")
    screen = DEFAULT_SCREEN if screen is None else screen
    result = _solve_stochastic_data(
        data, scenarios, quarters=first_stage_quarters, risk_weight=risk_weight, alpha=cvar_alpha,
        seed=scenario_seed, screen=screen, oos_scenarios=out_of_sample, mip_gap=mip_gap,
        time_limit=time_limit, threads=threads, backend=backend, route=solver, integer_later=integer_later,
        share_purchases=share_purchases, replications=replications, gap_scenarios=gap_scenarios,
    )  # fmt: skip
    result.loaded = loaded
    return _with_plans_key(result)


def _plans_key(result: StochasticResult | SweepResult) -> bytes:
    """The decisions of the plans a stochastic solve or a sweep writes (:meth:`Plan.decisions_key`)."""
    if isinstance(result, StochasticResult):
        plans = [result.plan, result.forecast_plan]
    else:
        plans = [c.plan for c in result.candidates.candidates if c.plan is not None]
    return b"".join(plan.decisions_key() for plan in plans)


def _with_plans_key(result):
    """``result``, keeping its plans' key: a plan changed in place (``sw.plan().buy_blocks[...] =
    0``) is refused when the result is written (:func:`_check_plans_unchanged`)."""
    result.solved_key = _plans_key(result)
    return result


def _check_plans_unchanged(result: StochasticResult | SweepResult) -> None:
    """A result whose plans' arrays were changed after they were made is refused, as a solve's is
    (:func:`_check_plan_unchanged`): its run would record their figures beside other plans."""
    made = getattr(result, "solved_key", None)  # None: not made through this module
    if made is not None and made != _plans_key(result):
        raise InputError(
            "result's plans were changed after they were made (its figures are those of the plans made); "
            "to evaluate changed purchases, solve with them (fleetopt.api.solve(model, purchases=...), "
            "or sweep(purchases=...))"
        )


def stochastic_summary(result: StochasticResult, loaded: LoadedModel) -> dict:
    """The content of summary.json for a stochastic solve run; ``loaded``: the model it was solved
    from."""
    limits.instance("result", result, StochasticResult, "what fleetopt.api.solve_stochastic returns")
    loaded = _loaded_of(loaded, "loaded")
    _check_solved_from(result, loaded)
    return {
        "fleetopt_version": __version__,
        "kind": "stochastic",
        "model_name": loaded.model.name,
        **loaded.origin_record,
        "model_hash": loaded.content_hash,
        **loaded.basis_record,
        **result.summary(),
        "plan": _written_headline(result.headline(), "npv"),
    }


@arguments_checked()
def write_stochastic_run(
    result: StochasticResult,
    loaded: LoadedModel | tuple | None = None,
    out: str | Path | None = None,
    *,
    command: str | None = None,
) -> Path:
    """Write summary.json (the measures), plan.npz (the completed stochastic plan and the forecast
    optimum, so `fleetopt compare FOLDER` compares them), plan.csv and statements.csv of the
    stochastic plan, replications.csv where it was solved on several samples (each first-stage
    decision in each), gap_scenarios.csv where its optimality gap was estimated (each fresh scenario's
    value under its first stage), and model.yaml into a run folder; and record it in the run registry.
    ``loaded``: the model it was solved from (a LoadedModel or what :func:`load` returns; None:
    the one :func:`solve_stochastic` kept); ``out`` and ``command``: as :func:`write_solve_run`'s.
    Returns the run folder (a Path)."""
    limits.instance("result", result, StochasticResult, "what fleetopt.api.solve_stochastic returns")
    limits.text("command", command, optional=True)
    loaded = _loaded_of(loaded if loaded is not None else result.loaded, "loaded")
    _check_solved_from(result, loaded)
    _check_plans_unchanged(result)
    limits.out_path("out", out)
    # named by its kind, as an evaluation's and a sweep's are (it read as a solve's folder)
    folder = RunFolder.to_write(out, "stochastic", loaded.model.name)
    statements = plan_statements(result.data, result.plan)
    plan_file = plan_file_bytes(result, loaded)
    summary = _with_plan_hash(stochastic_summary(result, loaded), plan_file)
    files = {
        RunFolder.SUMMARY: json_text(summary),
        RunFolder.PLAN_CSV: plan_frame(result.data, result.plan).to_csv(index=False),
        RunFolder.STATEMENTS: csv_text(statements.frame(result.data.quarter_labels)),
        RunFolder.PLAN: plan_file,
        RunFolder.MODEL: loaded.text,
        **({} if result.replications is None
           else {RunFolder.REPLICATIONS: csv_text(stability_frame(result.replications))}),
        **({} if result.gap_scenarios is None
           else {RunFolder.GAP_CSV: csv_text(gap_frame(result.gap_scenarios))}),
    }  # fmt: skip
    return _recorded(loaded, lambda: folder.write(files), summary, command)


def _check_plan_unchanged(result: SolveResult) -> None:
    """A result whose plan's arrays were changed after the solve is refused: its run would record
    the solve's figures for another plan (a notebook's ``r.plan.buy_blocks *= 2``)."""
    own, solved = plan_statements(result.data, result.plan).npv_usd, result.statements.npv_usd
    if _npv_differs(own, solved):
        raise InputError(
            f"result's plan was changed after its solve: its NPV is now {format_usd(own)}, the solve's "
            f"{format_usd(solved)}; to evaluate changed purchases, solve with them "
            "(fleetopt.api.solve(model, purchases=...))"
        )
