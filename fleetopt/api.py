"""The Python API for notebooks and scripts; the CLI is a thin layer over it.

>>> import fleetopt.api as fo
>>> result = fo.solve("tiny")
>>> result.plan_frame().head()          # every decision
>>> result.statements_frame()           # quarterly statements, USD

Every ``write_*_run`` function writes a run folder and records it in the run registry, once: the
CLI writes its runs through them, so a run written from Python is listed by `fleetopt runs` too.

A run is named, wherever one is taken (``evaluate``, ``compare``, ``report``, ``run`` ...), by its
run folder (a path), a plan file, or its run id (an int, or a string of digits that is not an
existing path), as the CLI takes them, or by its :class:`RunRecord` (what :func:`runs` lists). Bad
input raises :class:`~fleetopt.errors.InputError` (its message names the argument, and the CLI
option beside it where they differ); something to know that does not stop the work (a setting
capped to what the machine has, plans made from another version of their model) is a
:class:`~fleetopt.errors.FleetoptWarning`, shown by :mod:`warnings`.
"""

from __future__ import annotations

import hashlib
import shlex
import sys
import tempfile
import time
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from numbers import Integral
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fleetopt import __version__
from fleetopt.compare import (
    DIFFERENCE_SEPARATOR,
    RESERVED_LABELS,
    TWO_PLANS_NEEDED,
    CompareError,
    Comparison,
    ModelUsed,
    compare_plans,
    compare_what_if,
    figures_not_back,
    plan_sources,
    plans_from_refs,
    policy_note,
    policy_notes,
    scenarios_of_runs,
    unique_labels,
)
from fleetopt.core.data import ModelData, model_fingerprint
from fleetopt.core.data import load as _load
from fleetopt.core.economics import plan_statements, signed_book_beyond_grade_limit
from fleetopt.core.plan import Plan, plan_axes
from fleetopt.core.purchases import FixedPurchases, is_purchase_table, purchases_for
from fleetopt.core.purchases import read_purchases as _read_purchases
from fleetopt.core.results import COST_SOLVE_FIGURES, plan_frame
from fleetopt.core.tail import TAIL
from fleetopt.core.units import counted, format_usd
from fleetopt.errors import FleetoptError, FleetoptWarning, InputError, StoppedAfterWriting, user_path, warn
from fleetopt.evaluate import resources
from fleetopt.evaluate.backend import BACKENDS
from fleetopt.evaluate.batch import PlanFileError
from fleetopt.evaluate.engine import EvaluationResult
from fleetopt.evaluate.forecast import forecast_run
from fleetopt.evaluate.jobfolder import EvaluationJob, refuse_threads_with_workers, refuse_workers_with_ray
from fleetopt.evaluate.jobfolder import evaluation_summary as _evaluation_summary
from fleetopt.evaluate.jobfolder import model_of_plans as _model_of_plans
from fleetopt.evaluate.jobfolder import prepare_evaluation as _prepare_evaluation
from fleetopt.evaluate.jobfolder import resume_evaluation as _resume_evaluation
from fleetopt.evaluate.jobfolder import write_evaluate_run as _write_evaluate_folder
from fleetopt.evaluate.metrics import DEFAULT_RANK, RANK_COLUMNS, shown_first
from fleetopt.evaluate.planfile import load_plans, plans_npz_bytes, save_plans
from fleetopt.evaluate.sources import (
    PlanSource,
    in_sample_note,
    model_copy_of,
    other_version_note,
    version_note,
)
from fleetopt.milp.highs import DEFAULT_MIP_GAP, STOCHASTIC_MIP_GAP
from fleetopt.milp.solve import InfeasibleModel, NoPlanFound, SolveResult
from fleetopt.milp.solve import solve as _solve_data
from fleetopt.milp.stochastic import (
    complete_purchases_with_rescue,
    names_finance_limit,
    rescuable,
)
from fleetopt.report import checked_metrics_table, write_report
from fleetopt.report import comparison_html as _comparison_html
from fleetopt.runs import limits
from fleetopt.runs.files import signals_deferred
from fleetopt.runs.folder import (
    METRICS_TABLES,
    RUN_KINDS,
    RunData,
    RunDirError,
    RunFolder,
    csv_text,
    finished_folders,
    json_text,
    refuse_unwritable_file,
    run_name,
    unfinished_jobs,
    written_at,
)
from fleetopt.runs.registry import (
    Registry,
    RegistryError,
    RunRecord,
    check_key_figures,
    check_results_of_kind,
    key_figures,
)
from fleetopt.schema import PlanningModel
from fleetopt.schema.edit import edited_model, sets_field
from fleetopt.schema.loading import (
    MODEL_CHANGES,
    LoadedModel,
    ModelError,
    change_words,
    load_yaml,
    recorded_changes,
    typed_path,
)
from fleetopt.stochastic.run import (
    DEFAULT_SCREEN,
    MAX_SCREENED,
    StochasticResult,
    check_settings,
    rescued_completion,
)
from fleetopt.stochastic.run import solve_stochastic as _solve_stochastic_data
from fleetopt.sweep.candidates import Rule, RuleNotMet
from fleetopt.sweep.run import SweepResult, read_proposals
from fleetopt.sweep.run import prepare_sweep as _prepare_sweep
from fleetopt.sweep.run import rerank_sweep as _rerank_sweep
from fleetopt.sweep.run import resume_sweep as _resume_sweep
from fleetopt.sweep.run import run_sweep as _run_sweep
from fleetopt.sweep.run import write_sweep_run as _write_sweep_folder

if TYPE_CHECKING:  # a type only: pandas is imported where a frame is made
    import pandas as pd

__all__ = [
    "Comparison",
    "EvaluationJob",
    "EvaluationResult",
    "FixedPurchases",
    "FleetoptError",
    "FleetoptWarning",
    "InfeasibleModel",
    "InputError",
    "LoadedModel",
    "ModelError",
    "NoPlanFound",
    "PlanSource",
    "Rule",
    "RuleNotMet",
    "RunData",
    "RunFolder",
    "RunRecord",
    "SolveResult",
    "StochasticResult",
    "SweepResult",
    "compare",
    "comparison_html",
    "edit",
    "evaluate",
    "evaluation_summary",
    "forget_runs",
    "load",
    "model_of_plans",
    "plan_file_bytes",
    "prepare_evaluation",
    "read_purchases",
    "read_run",
    "record_run",
    "recorded_run_id",
    "report",
    "rerank_sweep",
    "resolve_run",
    "resume_evaluation",
    "resume_sweep",
    "run",
    "run_id",
    "runs",
    "schema",
    "solve",
    "solve_stochastic",
    "sweep",
    "unfinished_runs",
    "unrecorded_runs",
    "write_evaluate_run",
    "write_solve_run",
    "write_stochastic_run",
    "write_sweep_run",
]


ModelArg = str | Path | LoadedModel | tuple | None
"""A model: a model file's path, a bundled model's name ("tiny", "lab", "neocloud"), None (the
default model), a :class:`LoadedModel`, or the ``(LoadedModel, ModelData)`` pair :func:`load`
returns."""


def _is_loaded_pair(model) -> bool:
    """Whether ``model`` is what :func:`load` returns."""
    return isinstance(model, tuple) and len(model) == 2 and isinstance(model[0], LoadedModel)


def _loadable(model):
    """``model`` as :func:`load` takes it (see :data:`ModelArg`); anything else is refused by name."""
    if _is_loaded_pair(model):
        model[0].check_text()
        return model[0]
    if isinstance(model, LoadedModel):
        model.check_text()
    if isinstance(model, (str, Path)) and not str(model).strip():
        raise InputError("model is empty: give a model file path, a bundled model name or None (the default)")
    if model is None or isinstance(model, (str, Path, LoadedModel)):
        return model
    raise InputError(
        "model must be a model file path, a bundled model name, None (the default model), a LoadedModel "
        f"or what fleetopt.api.load returns (got a value of type {type(model).__name__})"
    )


def load(model: ModelArg = None) -> tuple[LoadedModel, ModelData]:
    """Load a model (see :data:`ModelArg`): the validated model file with its text, and its data
    (the arrays the MILP and the evaluator read). A bad model file raises
    :class:`~fleetopt.schema.loading.ModelError` (an InputError) listing every problem, with its line."""
    return _load(_loadable(model))


def schema() -> dict:
    """The JSON Schema of the model-file format, as `fleetopt schema` prints it (for an editor, or a
    validator of model files made by other tools)."""
    return PlanningModel.model_json_schema()


def edit(model: ModelArg, changes: Mapping[str | tuple, Any] | list[tuple]) -> LoadedModel:
    """A copy of ``model`` (see :data:`ModelArg`) with ``changes`` made, validated as a model file
    is, for :func:`solve` and the others:
    ``fo.edit("tiny", {"contracts.lab-a-training.price_usd_per_gpu_hour": 3.0})``. A field is
    named by its path as `fleetopt validate` names it (a list's item by its position from 0:
    ``"fleet.0.gpus"``); None removes a field, so its default applies. A mapping set on a block
    changes only the fields it names (``{"risk": {"price_volatility_annual": 0.5}}`` keeps the
    other risk factors; a JSON merge patch); to replace a block whole, remove it (None) in one edit
    and set it in the next (an empty mapping, ``{"contracts": {}}``, changes nothing), or give
    ``changes`` as a list of (path, value) pairs, made in order (``[("risk", None), ("risk", {...})]``);
    a number set on a series written with steps or growth replaces it whole, with a
    :class:`FleetoptWarning` naming ``PATH.start``, which changes its starting level alone. The copy's
    text (a run's model.yaml) is written from the data, without the file's comments. A bad value or
    field raises :class:`~fleetopt.errors.InputError` naming it (its subclass
    :class:`~fleetopt.schema.loading.ModelError` for what the model file's validation finds)."""
    return edited_model(_load(_loadable(model))[0], changes)


def _tokens(name: str, tokens) -> list[str]:
    """A command line's tokens, each a string: a string given whole ("--x") was split into its
    characters."""
    if isinstance(tokens, str) or not isinstance(tokens, Iterable):
        raise InputError(f"{name} must be a list of command-line tokens, e.g. ['--report'] (got {tokens!r})")
    return [limits.text(name, token) for token in tokens]


def _loaded_and_data(model) -> tuple[LoadedModel | None, ModelData]:
    """The model and its data; the pair :func:`load` returns and a :class:`ModelData` alone
    (``load(...)[1]``, without a LoadedModel: only where the model file's text is not needed) are
    taken as they are."""
    if isinstance(model, ModelData):
        return None, model
    if _is_loaded_pair(model) and isinstance(model[1], ModelData):
        if model[0].model.name != model[1].name:  # a pair of two loads: the model solved is not its text's
            raise InputError(f"model: the pair's LoadedModel is {model[0].model.name!r} and its data "
                             f"{model[1].name!r}: give the pair one fleetopt.api.load returned")  # fmt: skip
        return model
    return load(model)


def _warn_offers_declined(data: ModelData) -> None:
    """The cost objective counts no revenue, so it never takes an optional contract (formulation
    §6, "Cost"): say so for a model that offers some, rather than decline them silently."""
    offers = [k.name for k in data.contracts if not k.signed]
    if offers:
        warn(f"the cost objective counts no revenue, so it declines every contract not signed ("
             f"{', '.join(offers)}): solve with --objective npv to weigh them (docs/formulation.md §6)")


# what a rescue does for an infeasible solve's fixed purchases, as its diagnosis makes sure (True: a
# conflict of finance limits alone) or not (finance limits beside others: the diagnosis's cheapest
# relaxation may name a contract short where curing a covenant alone would do; only the rescue tells)
RESCUE_WORDS = {
    True: "completes these purchases anyway, breaking those limits on the forecast",
    False: "tries to complete these purchases anyway by curing the finance limits alone (the diagnosis "
    "names others beside them, perhaps only as its cheapest way around them)",
}


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
    """Solve a model's MILP and return the best plan with its statements.

    ``model``: see :data:`ModelArg`, or a :class:`ModelData` (then :func:`write_solve_run` needs the
    LoadedModel given). ``objective``: "npv" (maximise NPV, USD) or "cost" (minimise discounted
    cost, USD). ``time_limit``: seconds of HiGHS search (None: none); ``mip_gap``: relative gap to
    stop at, in [0, 0.999]; ``threads``: HiGHS threads (None: HiGHS decides; more than the usable
    cores are capped to them, with a :class:`FleetoptWarning`). ``purchases``: a CSV file of the
    GPU purchases the plan must make (columns quarter, sku, site, gpus; or a solve's plan.csv): every
    purchase is fixed to the file's, none elsewhere, and the solver chooses the rest
    (docs/formulation.md §4, "Fixed purchases"), a pandas DataFrame of those columns (a plan's
    ``plan_frame()`` rows, edited), or what :func:`read_purchases` read; as ``{"delay Rubin":
    table}``, named so in the plan's label ("milp, purchases fixed (delay Rubin)") and the run
    registry, where a table is otherwise "purchases table". ``rescue``
    (with ``purchases``): where they break a hard limit on the forecast (a covenant, the cash
    floor), complete them anyway with the rescue model (status "rescued", formulation §4) so that
    their risk can be evaluated. An infeasible model raises :class:`InfeasibleModel`; no plan
    within the time limit :class:`NoPlanFound`."""
    limits.text("objective", objective, ("npv", "cost"))
    limits.solver_settings(mip_gap, time_limit, threads)
    limits.flag("rescue", rescue)
    if rescue and (purchases is None or objective != "npv"):
        raise InputError("rescue completes fixed purchases (purchases=, --purchases) that break a "
                         "hard limit, for the npv objective: give purchases, and leave the objective "
                         "at npv")  # fmt: skip
    loaded, data = _loaded_and_data(model)
    if objective == "cost":
        _warn_offers_declined(data)
    if (broken := signed_book_beyond_grade_limit(data)) is not None:  # before the infeasible solve
        warn(broken)
    fixed = None if purchases is None else _one_purchases(purchases, data)
    threads = resources.capped_threads(threads)
    started = time.perf_counter()
    try:
        result = _solve_data(
            data, objective, time_limit=time_limit, mip_gap=mip_gap, threads=threads, purchases=fixed
        )
    except InfeasibleModel as exc:
        # a rescue cures finance limits only: purchases short of power or a contract stay infeasible
        if fixed is None or objective != "npv":
            raise
        exc.rescuable = offered = names_finance_limit(exc.diagnosis)
        exc.rescue_certain = offered and rescuable(exc.diagnosis)
        if not rescue:
            if offered:  # in Python, said in the message; the CLI says it with the command given
                exc.args = (f"{exc}; solve(..., rescue=True) {RESCUE_WORDS[exc.rescue_certain]}",)
            raise
        # tried where a finance limit is in the conflict, as a sweep's proposal is: power or a contract
        # beside it may be only the diagnosis's cheapest way around it, and the rescue holds those
        left = None if time_limit is None else max(1.0, time_limit - (time.perf_counter() - started))
        result = complete_purchases_with_rescue(data, fixed, mip_gap, left, threads) if offered else None
        if result is None:
            exc.hint = ("the rescue found no plan either: a limit it does not cure is broken too" if offered
                        else "the rescue cures finance limits only (cash, covenants, the borrowing base), "
                        "and these purchases break others")  # fmt: skip
            exc.args = (f"{exc}; {exc.hint}",)
            raise
        result.completion = rescued_completion(data, result.plan, result.rescue)
    result.loaded = loaded
    result.on_forecast = _policy_on_forecast(result)
    _warn_if_the_policy_reacts(result)
    return result


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


def read_purchases(path: str | Path, model: ModelArg | ModelData = None) -> FixedPurchases:
    """The GPU purchases of a CSV file (columns quarter, sku, site, gpus; or a solve's plan.csv),
    checked against ``model``: to give :func:`solve` as ``purchases``. Bad rows raise
    :class:`InputError` naming the file, line and field."""
    limits.path("path", path, optional=False)
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
        "model_source": loaded.source,
        "model_hash": loaded.content_hash,
        MODEL_CHANGES: loaded.changes_record,
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
    :func:`solve` kept). Returns the run folder."""
    limits.instance("result", result, SolveResult, "what fleetopt.api.solve returns")
    limits.text("command", command, optional=True)
    loaded = _loaded_of(loaded if loaded is not None else getattr(result, "loaded", None), "loaded")
    _check_solved_from(result, loaded)
    _check_plan_unchanged(result)
    limits.path("out", out)
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


def plan_file_bytes(result: SolveResult | StochasticResult, loaded: LoadedModel) -> bytes:
    """The plan file (plan.npz) of a solve's run folder (its plan, labelled as
    :func:`_solve_label` says) or of a stochastic solve's (the stochastic plan, then the forecast
    optimum); ``loaded``: the model it was solved from, whose policy cash buffer each plan keeps (a
    plan is run with its own buffer under any version of the model, as a sweep's are)."""
    limits.instance("result", result, (SolveResult, StochasticResult), "what fleetopt.api.solve returns")
    limits.instance("loaded", loaded, LoadedModel, "a loaded model (fleetopt.api.load(...)[0])")
    _check_solved_from(result, loaded)  # one model's plans labelled with another's name and hash
    if isinstance(result, StochasticResult):
        plans, labels = [result.plan, result.forecast_plan], ["stochastic", "forecast"]
    else:
        plans, labels = [result.plan], [_solve_label(result)]
    buffers = [loaded.model.policy.liquidity_buffer_usd] * len(plans)
    model, axes = loaded.model.name, plan_axes(result.data)
    return plans_npz_bytes(plans, labels, model, loaded.content_hash, buffers=buffers, axes=axes)


def _with_plan_hash(summary: dict, plan_file: bytes) -> dict:
    """``summary`` with ``plan_sha256``, the SHA-256 of the plan file the run writes beside it, which
    `fleetopt report` checks (docs/formulation.md, "What a solve writes")."""
    return {**summary, "plan_sha256": hashlib.sha256(plan_file).hexdigest()}


def _loaded_of(loaded, name: str) -> LoadedModel:
    """The LoadedModel a run is written with: one, or the pair :func:`load` returns; its model
    must be its text's (model.yaml)."""
    if _is_loaded_pair(loaded):
        loaded = loaded[0]
    if isinstance(loaded, LoadedModel):
        loaded.check_text()
        return loaded
    got = "None: a result solved from a ModelData keeps none" if loaded is None else type(loaded).__name__
    if isinstance(loaded, (str, Path)):  # write_solve_run(result, "runs/x"): the folder is out=
        got += f" {str(loaded)!r}: a folder to write the run to is out=, e.g. out={str(loaded)!r}"
    raise InputError(
        f"{name} must be the LoadedModel the result was made from, fleetopt.api.load(MODEL)[0] (or the "
        f"pair load returns), which holds the model file's text for the run folder (got {got})"
    )


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


# ---------------------------------------------------------------- two-stage stochastic solve


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
) -> StochasticResult:
    """The two-stage stochastic plan (docs/formulation.md §7b): ``scenarios`` representatives of
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
    its worth). ``time_limit`` in seconds; ``threads``
    capped to the usable cores, with a :class:`FleetoptWarning`. Bad settings raise
    :class:`~fleetopt.errors.InputError`."""
    limits.solver_settings(mip_gap, time_limit, threads)
    limits.seed("scenario_seed", scenario_seed)
    limits.flag("integer_later (--integer-later)", integer_later)
    if screen is not None:
        limits.whole("screen", screen, 1, MAX_SCREENED)
    limits.whole("out_of_sample", out_of_sample, 0)  # 0: none
    loaded, data = _loaded_and_data(model)
    threads = resources.capped_threads(threads)
    check_settings(data, scenarios, first_stage_quarters, risk_weight, cvar_alpha, solver)
    if screen is not None and screen < scenarios:  # drawn: max(screen, scenarios), so it meant nothing
        raise InputError(f"screen must be at least scenarios ({scenarios:,}): "
                         f"{counted(scenarios, 'representative')} cannot be reduced from "
                         f"{counted(screen, 'scenario')} (got screen={screen:,})")
    screen = DEFAULT_SCREEN if screen is None else screen
    result = _solve_stochastic_data(
        data, scenarios, quarters=first_stage_quarters, risk_weight=risk_weight, alpha=cvar_alpha,
        seed=scenario_seed, screen=screen, oos_scenarios=out_of_sample, mip_gap=mip_gap,
        time_limit=time_limit, threads=threads, backend=backend, route=solver, integer_later=integer_later,
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
        "model_source": loaded.source,
        "model_hash": loaded.content_hash,
        MODEL_CHANGES: loaded.changes_record,
        **result.summary(),
        "plan": _written_headline(result.headline(), "npv"),
    }


def write_stochastic_run(
    result: StochasticResult,
    loaded: LoadedModel | tuple | None = None,
    out: str | Path | None = None,
    *,
    command: str | None = None,
) -> Path:
    """Write summary.json (the measures), plan.npz (the completed stochastic plan and the forecast
    optimum, so `fleetopt compare FOLDER` compares them), plan.csv and statements.csv of the
    stochastic plan, and model.yaml into a run folder; and record it in the run registry.
    ``loaded``: the model it was solved from (a LoadedModel or what :func:`load` returns; None:
    the one :func:`solve_stochastic` kept)."""
    limits.instance("result", result, StochasticResult, "what fleetopt.api.solve_stochastic returns")
    limits.text("command", command, optional=True)
    loaded = _loaded_of(loaded if loaded is not None else result.loaded, "loaded")
    _check_solved_from(result, loaded)
    _check_plans_unchanged(result)
    limits.path("out", out)
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
    }
    return _recorded(loaded, lambda: folder.write(files), summary, command)


# ---------------------------------------------------------------- evaluation


def evaluate(
    plans: str | Path | int,
    model: ModelArg = None,
    *,
    scenarios: int | None = None,
    seed: int = 0,
    backend: str = "auto",
    max_memory: int | None = None,
    deterministic: bool = False,
    keep_matrix: bool = False,
    threads: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[EvaluationResult, LoadedModel, object]:
    """Evaluate the plans of a run (folder or run id) or plan file on seeded scenarios of the model,
    in memory (:func:`write_evaluate_run` writes the result as a run).

    ``model``: see :data:`ModelArg`; None: a run folder's copy of its model, or the bundled model a
    plan file names (see :func:`model_of_plans`), else the default model.
    ``scenarios``: simulated futures, the same for every plan (None: 1,000); refused with
    ``deterministic=True``, which evaluates the forecast itself (one scenario). ``seed``: the
    scenario seed, in [0, 2**63 - 1]. ``backend``: "auto" (CuPy on a CUDA GPU, except for a run NumPy
    finishes before CuPy has started, :func:`~fleetopt.evaluate.engine.numpy_seconds`; else the C
    build of the kernel from :data:`~fleetopt.evaluate.engine.AUTO_C_BUILD_PAIR_QUARTERS`
    plan-scenario-quarters on, where a C compiler builds it; else NumPy), "numpy",
    "cupy" or "cpu-kernel". ``max_memory``: the simulation's working-memory budget in bytes (None:
    half the free GPU memory or RAM); more than the physical memory it runs in is capped to it,
    with a :class:`FleetoptWarning`. ``keep_matrix``: also keep the plans x scenarios NPV matrix
    (USD, ``result.npv_matrix``, 8 bytes per pair). ``threads``: NumPy threads (default: one per
    usable core; more are capped to them). ``progress``: called as ``progress(pairs, total)`` after
    each block of the run: ``pairs`` (plan, scenario) pairs just finished, of ``total`` (plans x
    scenarios) in all.

    Returns ``(EvaluationResult, LoadedModel, PlanSource)``: the result (``result.metrics``: one
    row per plan, NPV mean/P5/CVaR5 in USD, breach and default probabilities in [0, 1]), the model
    it was evaluated with and the plans. Plans made from another version of the model give a
    :class:`FleetoptWarning`.
    """
    limits.callback("progress", progress)
    job = prepare_evaluation(
        plans, model, scenarios=scenarios, seed=seed, backend=backend, max_memory=max_memory,
        deterministic=deterministic, keep_matrix=keep_matrix, threads=threads,
    )  # fmt: skip
    return job.run(progress=progress), job.loaded, job.source


def prepare_evaluation(
    plans: str | Path | int,
    model: ModelArg = None,
    *,
    scenarios: int | None = None,
    seed: int = 0,
    backend: str = "auto",
    max_memory: int | None = None,
    deterministic: bool = False,
    keep_matrix: bool = False,
    executor: str = "local",
    ray_address: str | None = None,
    workers: int = 1,
    threads: int | None = None,
) -> EvaluationJob:
    """An evaluation checked and ready to run (:meth:`EvaluationJob.start` a run folder, then
    :meth:`EvaluationJob.run`): the settings of :func:`evaluate`, and ``executor`` "local" or "ray"
    (``ray_address``: an existing cluster's) and ``workers`` one-thread processes on this machine
    (NumPy, or the C build where ``backend`` takes it for this run). The
    memory budget is held to the memory of each worker (``max_memory`` bytes)."""
    deterministic = limits.flag("deterministic (--deterministic)", deterministic)
    if deterministic and scenarios is not None:
        raise InputError(
            "scenarios (--scenarios) cannot apply with deterministic=True (--deterministic), which "
            "evaluates the forecast itself (one scenario): leave scenarios out"
        )
    if deterministic and seed != 0:  # job.json kept it, summary.json did not: it did nothing
        raise InputError(f"seed (--seed) cannot apply with deterministic=True (--deterministic), which "
                         f"evaluates the forecast itself: leave seed out (got {seed!r})")  # fmt: skip
    scenarios = limits.DEFAULT_SCENARIOS if scenarios is None else scenarios
    refuse_threads_with_workers(threads, workers, executor)
    refuse_workers_with_ray(workers, executor)
    if max_memory is not None:
        bytes_given = "max_memory (--max-memory; from Python a whole number of bytes, 4 * 2**30 for 4G)"
        limits.whole(bytes_given, max_memory, 1)
    limits.text("ray_address (--ray-address)", ray_address, optional=True)
    if ray_address is not None and executor != "ray":  # it was dropped in silence
        raise InputError(f"ray_address (--ray-address) applies with executor='ray' (--executor ray), not "
                         f"executor={executor!r}: give both, or neither")  # fmt: skip
    limits.whole("workers", workers, 1)
    workers = resources.capped_workers(workers, executor)  # before the memory each worker gets
    limits.threads("threads", threads)
    # the plans where they are now: a notebook that moves (os.chdir) before the run is written must
    # not name the plans, nor read their objective, from its new folder
    job = _prepare_evaluation(
        resolve_run(plans, "plans").resolve(), _loadable(model), scenarios=scenarios, seed=seed,
        backend=backend,
        max_memory=resources.budget_within_memory(max_memory, backend, executor, workers),
        deterministic=deterministic, keep_matrix=keep_matrix, executor=executor,
        ray_address=ray_address, workers=workers, threads=resources.capped_threads(threads),
    )  # fmt: skip
    _warn_if_other_model_version(job.loaded, job.source)
    if deterministic:
        _warn_if_risk_changed(job.loaded)
    else:
        _warn_if_in_sample([job.source], seed, scenarios)
    return job


def _warn_if_in_sample(sources: list[PlanSource], seed: int, scenarios: int) -> None:
    """A stochastic solve's plans evaluated on scenarios it was fitted to are warned of, once a run
    (:func:`~fleetopt.evaluate.sources.in_sample_note`)."""
    for path in dict.fromkeys(source.path for source in sources):
        note = in_sample_note(path, seed, scenarios)
        if note is not None:
            warn(note)


def _warn_if_risk_changed(loaded: LoadedModel) -> None:
    """A deterministic evaluation is of the forecast, where no risk factor acts (every factor
    neutral): a change to the risk block made for it does nothing, which is said (a certain
    delivery slip set as a what-if, risk.delivery_slip with probability 1, gave the on-time figures
    beside 'changed for this run: risk.delivery_slip = ...')."""
    risk = [path if isinstance(path, str) else typed_path(path) for path, _ in loaded.changes or ()
            if (path.split(".", 1)[0] if isinstance(path, str) else path[0]) == "risk"]  # fmt: skip
    if risk:
        warn(f"{', '.join(risk)}: changed for this run, but a deterministic evaluation (--deterministic) "
             "is of the forecast, where no risk factor acts: the change does nothing to its figures; "
             "evaluate on scenarios (--scenarios N) to see its effect")


def resume_evaluation(
    folder: str | Path | int,
    *,
    backend: str | None = None,
    threads: int | None = None,
    workers: int | None = None,
    executor: str | None = None,
    ray_address: str | None = None,
    max_memory: int | None = None,
    plans: str | Path | None = None,
) -> EvaluationJob:
    """The job of an interrupted evaluation run (folder or run id), with the same plans, model and
    settings: :meth:`EvaluationJob.run` it with the folder to compute only what it had not saved.
    ``plans``: where its plans file (or the run folder holding it) is now, where it moved since it
    started (the same file, checked by its SHA-256; None: where the job found it).
    ``backend``, ``threads``, ``workers``, ``executor``, ``ray_address`` and ``max_memory`` (as
    :func:`prepare_evaluation`'s; None: the job's own) change how this resume runs, not its results
    (a job started on a GPU finished on a CPU: NumPy, the C build and CuPy agree to 1e-12; a job
    killed for memory finished with a smaller budget: the chunks stored before are kept, the
    others sized for this machine and budget)."""
    refuse_threads_with_workers(threads, workers, executor)
    run = resolve_run(folder, "folder")
    how = {"backend": backend, "threads": threads, "workers": workers, "executor": executor,
           "ray_address": ray_address, "max_memory": max_memory}  # fmt: skip
    job = _resume_evaluation(run, how, plans)
    with RunFolder(run).locked_for_run():  # a warning raised as an error lets go of the folder
        _warn_if_other_model_version(job.loaded, job.source)
    return job


def _warn_if_other_model_version(loaded: LoadedModel, source, whose: str = "the plans") -> str | None:
    """Plans (``source``, a PlanSource; ``whose``: them in words) made from another version of
    their model than ``loaded`` are evaluated, with a warning (:func:`other_version_note`); returns
    its sentence (None: no warning)."""
    if not source.model_hash:  # plans of no known model
        return None
    note = other_version_note(source.model_hash, source.path, loaded, whose)
    if note is not None:
        warn(note)
    return note


def model_of_plans(plans: str | Path | int) -> Path | str | None:
    """The model to evaluate ``plans`` (a run folder, run id or plan file) with when none is given:
    a run folder's copy of its model, a plan file's bundled model (by the name in its metadata),
    else None (the default model)."""
    return _model_of_plans(resolve_run(plans, "plans"))


def evaluation_summary(result: EvaluationResult, loaded: LoadedModel | tuple, source) -> dict:
    """The content of an evaluation run's summary.json: the model (name, source, hash), the plans'
    source and model hash, the run's settings (plans, scenarios, seed, backend, device, chunk sizes),
    its speed (seconds; plan-scenario-quarters per second) and ``metrics``, one dict per plan
    (money in USD, probabilities in [0, 1])."""
    limits.instance("result", result, EvaluationResult, "what fleetopt.api.evaluate returns first")
    limits.instance("source", source, PlanSource, "what fleetopt.api.evaluate returns third")
    loaded = _loaded_of(loaded, "loaded")
    _check_evaluated_under(result, loaded)
    return _evaluation_summary(result, loaded, source)


def _check_evaluated_under(result: EvaluationResult, loaded: LoadedModel) -> None:
    """Refuse to label an evaluation with a model it was not evaluated under: its figures would be
    recorded as that model's."""
    if result.model_fingerprint and result.model_fingerprint != model_fingerprint(loaded.model):
        raise InputError(
            f"the result was evaluated under another model than the one given, {loaded.model.name!r} "
            f"({loaded.source}): pass the LoadedModel fleetopt.api.evaluate returned with it"
        )


def write_evaluate_run(
    result: EvaluationResult,
    loaded: LoadedModel | tuple,
    source,
    out: str | Path | None = None,
    *,
    command: str | None = None,
    ranking: dict | None = None,
) -> Path:
    """Write metrics.csv, summary.json and model.yaml (and npv_matrix.npy when kept) into a run
    folder: ``out`` (new or empty, or the folder of a started job) or a new one under the runs
    folder; and record it in the run registry with the figures of the plan it shows first (by
    ``ranking``).
    ``loaded`` and ``source``: the model and plans :func:`evaluate` returned with the result.
    ``ranking``: how the best plan is chosen, ``{"rank_by": "mean"|"cvar5"|"p5", "max_breach_prob":
    share or None}`` (as `fleetopt evaluate --rank-by --max-breach-prob`), kept in summary.json for
    the report (None: CVaR5); with ``"lead_se_usd"``, the paired standard error of the first plan's
    lead over the second (None: none known), its report's In short says how sure that first place is."""
    limits.instance("result", result, EvaluationResult, "what fleetopt.api.evaluate returns first")
    limits.text("command", command, optional=True)
    loaded = _loaded_of(loaded, "loaded")
    _check_evaluated_under(result, loaded)
    limits.instance("source", source, PlanSource, "the plans fleetopt.api.evaluate returns third")
    limits.path("out", out)
    if ranking is not None:
        ranking = _checked_ranking(ranking)
    write = partial(_write_evaluate_folder, result, loaded, source, out, ranking)
    return _recorded(loaded, write, lambda path: RunFolder(path).summary(), command)


def _checked_ranking(ranking: dict) -> dict:
    """``ranking`` of :func:`write_evaluate_run`, each field checked."""
    if not isinstance(ranking, dict) or set(ranking) - {"rank_by", "max_breach_prob", "lead_se_usd"}:
        raise InputError(f"ranking must be a dict of rank_by and max_breach_prob (got {ranking!r})")
    rank_by = limits.text("ranking's rank_by", ranking.get("rank_by", DEFAULT_RANK), tuple(RANK_COLUMNS))
    share = ranking.get("max_breach_prob")
    if share is not None:
        share = limits.number("ranking's max_breach_prob", share, 0.0, 1.0)
    checked = {"rank_by": rank_by, "max_breach_prob": share}
    if "lead_se_usd" in ranking:  # the CLI's: the first plan's lead's paired error (None: none known)
        se = ranking["lead_se_usd"]
        checked["lead_se_usd"] = None if se is None else limits.number("ranking's lead_se_usd", se, 0.0)
    return checked


# ---------------------------------------------------------------- sweep


def sweep(
    model: ModelArg = None,
    *,
    candidates: int = limits.DEFAULT_CANDIDATES,
    scenarios: int = limits.DEFAULT_SCENARIOS,
    seed: int = 0,
    rule: Rule | None = None,
    backend: str = "auto",
    mip_gap: float = DEFAULT_MIP_GAP,
    time_limit: float | None = None,
    threads: int | None = None,
    progress: Callable[[int, int], None] | None = None,
    folder: str | Path | None = None,
    stochastic: int = 0,
    stochastic_mip_gap: float = STOCHASTIC_MIP_GAP,
    candidate_progress: Callable[[str], None] | None = None,
    purchases: Iterable[str | Path | FixedPurchases | pd.DataFrame] | Mapping = (),
    resume_options: Iterable[str] = (),
    on_folder: Callable[[Path], None] | None = None,
) -> SweepResult:
    """Evaluate up to ``candidates`` plans, made until that many have a plan or the list runs out
    (a duplicate, or a plan that breaks a hard limit, is dropped and does not count, so more may be
    made): the forecast optimum, stress optima, variations; with
    ``stochastic`` N > 0 the two-stage stochastic plan over N scenarios; for each of the CSV files
    or tables ``purchases`` (as :func:`solve` reads them) a procurement plan written by people, "yours:
    FILE", its purchases fixed and the rest the forecast's best; a dict {name: file or table} names
    each "yours: name"; tables in a list are "purchases table 1", "2" ...), on ``scenarios`` common futures of
    ``seed``; find the Pareto front and recommend one by ``rule``. Where the rule's pick is neither
    the forecast optimum nor a cash-buffer run, its two cash-buffer runs are evaluated on the same
    scenarios and the rule picks again (a second round, on top of ``candidates``).

    ``rule``: a :class:`Rule` (None: ``Rule()``), the best plan by ``prefer`` among those meeting
    every limit:

    - ``prefer``: "cvar5" (default), "mean" or "p5": the NPV figure to maximise (USD);
    - ``max_breach_prob``, ``max_default_prob``: the highest covenant-breach and liquidity-default
      probability allowed, in [0, 1] (None: no limit);
    - ``min_cvar5_usd``: the lowest CVaR5 NPV allowed, USD (None: no limit);
    - ``forecast_within_limits`` (default True): only plans that breach no covenant and do not
      default on the forecast itself (False: as ``--allow-forecast-breach``);
    - ``no_riskier_than_optimum`` (default True): only plans whose breach and default probabilities
      are no higher than the forecast optimum's on the same scenarios (False: as ``--allow-riskier``).

    e.g. ``fo.sweep("tiny", rule=fo.Rule(prefer="mean", max_breach_prob=0.05))``. When no candidate
    meets it, :class:`~fleetopt.sweep.candidates.RuleNotMet` (an InputError) says how close they came.

    ``mip_gap``, ``time_limit`` (seconds) and ``threads``: each candidate's MILP solve (threads
    beyond the usable cores are capped, with a :class:`FleetoptWarning`); the stochastic plan's
    gap is ``stochastic_mip_gap`` (1 %, as :func:`solve_stochastic`'s). ``backend``: see
    :func:`evaluate`. With ``folder`` (new or empty, as `fleetopt sweep --out`: one holding another
    run is refused before any work; True: a new folder in the runs folder, named as `fleetopt
    sweep` names it), each candidate and evaluation chunk is saved there as it is
    made, so :func:`resume_sweep` finishes an interrupted sweep (a sweep stopped or failed lets go
    of the folder, so another process may resume it too; one with no plan for the forecast leaves
    nothing, a folder it made removed); :func:`write_sweep_run` writes the
    result (``resume_options``: what the command that resumes it is given again, for
    `fleetopt runs`). The folder is claimed once the settings, the model and ``purchases`` are
    checked, before any solve; ``on_folder`` is then called with its path (the CLI says there
    what it sweeps, and names the folder if stopped). ``candidate_progress`` is called with one
    line per candidate ("<label>: <status> (<k> of <n>)", k counting those with a plan; "<label>:
    <status>" for one without), ``progress`` as the evaluation goes (see :func:`evaluate`).

    Returns a :class:`SweepResult`: ``metrics`` (one row per evaluated candidate; ``on_front``
    marks the Pareto front), ``recommended`` (the rule's pick: its row of ``metrics``),
    ``forecast_optimum`` (the forecast optimum's row) and ``why()`` (one sentence).
    """
    if rule is not None and not isinstance(rule, Rule):
        raise InputError(
            f"rule must be a fleetopt.api.Rule, e.g. Rule(prefer='cvar5', max_breach_prob=0.05), or None "
            f"for Rule() (got {rule!r})"
        )
    limits.callback("progress", progress)
    limits.callback("candidate_progress", candidate_progress)
    limits.callback("on_folder", on_folder)
    if folder is not True:
        limits.path("folder", folder)
        RunFolder.check_new(folder)  # before the model is even read
    prepared = _prepare_sweep(
        _loadable(model), candidates=candidates, scenarios=scenarios, seed=seed, rule=rule, backend=backend,
        mip_gap=mip_gap, time_limit=time_limit, threads=threads, stochastic=stochastic,
        stochastic_mip_gap=stochastic_mip_gap, purchases=_purchases_list(purchases),
        resume_options=_tokens("resume_options", resume_options),
    )  # fmt: skip
    if folder is None:
        return _with_plans_key(_run_sweep(prepared, None, progress, candidate_progress))
    # claimed as the CLI's --out is (refused now if not new or empty); a sweep that fails or is stopped
    # lets go of it: its lock (a notebook lives on: another process may resume it), and the folder
    # itself where made here and left empty
    run = RunFolder.claim(None if folder is True else folder, run_name("sweep", prepared.loaded.model.name))
    with run.released_on_failure():
        if on_folder is not None:
            on_folder(run.path)
        return _with_plans_key(_run_sweep(prepared, run.path, progress, candidate_progress))


def _purchases_list(purchases) -> list:
    """``purchases`` as a list (a lone file is one, None none), or a dict of them by name; each is
    checked when it is read
    (:func:`~fleetopt.core.purchases.purchases_for`)."""
    if purchases is None:
        return []
    if isinstance(purchases, Mapping):  # {name: file or table}: each candidate named by its key
        return dict(purchases)
    if isinstance(purchases, (str, Path, FixedPurchases)) or is_purchase_table(purchases):
        return [purchases]  # a table is one (iterating over it gives its column names)
    try:
        return list(purchases)
    except TypeError:
        raise InputError(f"purchases must be a list of CSV files (got {type(purchases).__name__})") from None


def resume_sweep(
    folder: str | Path | int,
    progress: Callable[[int, int], None] | None = None,
    rule_changes: dict | None = None,
    candidate_progress: Callable[[str], None] | None = None,
    *,
    backend: str | None = None,
    threads: int | None = None,
) -> SweepResult:
    """Finish an interrupted sweep (its folder or run id): the candidates it saved are taken as they
    are, only those it had not made are solved, and only missing evaluation chunks are evaluated.
    ``rule_changes``: fields of :class:`Rule` to replace (a sweep whose rule no candidate met
    finishes with a looser one), e.g. ``{"max_breach_prob": 0.1}``. ``backend`` and ``threads``
    (None: the sweep's own) change how its evaluation runs, not its figures (to 1e-12)."""
    folder = resolve_run(folder, "folder")
    if rule_changes is not None:
        Rule.checked_fields("rule_changes", rule_changes)
    limits.callback("progress", progress)  # before the work, not at its first call
    limits.callback("candidate_progress", candidate_progress)
    how = {"backend": backend, "threads": threads}  # checked by the resume
    return _with_plans_key(_resume_sweep(folder, progress, rule_changes=rule_changes,
                                         candidate_progress=candidate_progress, how=how))  # fmt: skip


def rerank_sweep(
    folder: str | Path | int,
    rule_changes: dict | None = None,
    *,
    backend: str = "auto",
    threads: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> SweepResult:
    """A finished sweep (its folder or run id) ranked by another rule, with no solve: the rule it
    finished with, with ``rule_changes`` (fields of :class:`Rule`, e.g.
    ``{"no_riskier_than_optimum": False}`` for ``--allow-riskier``). Its candidates are evaluated
    again on its scenarios (seconds: the solves were the sweep's minutes), so the figures are the
    sweep's own. The folder is only read: :func:`write_sweep_run` writes the result to a new one,
    whose summary.json names the sweep (``reranked_from``). ``backend``, ``threads`` and
    ``progress``: as :func:`evaluate`'s."""
    folder = resolve_run(folder, "folder")
    if rule_changes is not None:
        Rule.checked_fields("rule_changes", rule_changes)
    limits.text("backend", backend, BACKENDS)
    limits.callback("progress", progress)
    threads = resources.capped_threads(limits.threads("threads", threads))
    return _with_plans_key(_rerank_sweep(folder, rule_changes, backend, threads, progress))


def write_sweep_run(
    result: SweepResult, out: str | Path | None = None, *, command: str | None = None
) -> Path:
    """Write plans.npz, candidates.csv, candidates.json, front.csv, summary.json and model.yaml into
    a run folder, ``out``: the folder the sweep saved its candidates and chunks in (``result.job_folder``,
    which None means where the sweep had one: otherwise that folder would stay an unfinished sweep
    beside the new one), a new one, or None without a job folder: a new default one; and record it in
    the run registry."""
    limits.instance("result", result, SweepResult, "what fleetopt.api.sweep returns")
    limits.text("command", command, optional=True)
    _check_plans_unchanged(result)
    limits.path("out", out)
    out = result.job_folder if out is None else out
    return _recorded(result.loaded, lambda: _write_sweep_folder(result, out), result.summary, command)


# ---------------------------------------------------------------- registry and reports


def _register_run(kind: str, loaded: LoadedModel, path: str | Path, figures: dict, command: str | None = None,
                  created: datetime | None = None) -> int:  # fmt: skip
    """Record a written run folder in the registry of the runs folder; returns the run id.
    ``command``: what `fleetopt runs show` gives as the command that made the run (default: the
    Python program that called the API); ``created``: when it was written (None: now)."""
    # the one list kept: the model's changes, which `runs show` gives beside the model
    keep = {k: v for k, v in figures.items()
            if isinstance(v, (int, float, str, bool)) or v is None or k == MODEL_CHANGES}  # fmt: skip
    command = command if command is not None else _python_command(kind)
    return Registry().record(kind, loaded.model.name, loaded.content_hash, Path(path), keep, command, created)


def _python_command(kind: str) -> str:
    """What `fleetopt runs show` gives as the command of a run written from Python: the program,
    or a notebook (a Jupyter kernel's argv names only its connection file)."""
    if sys.argv and "ipykernel" in sys.argv[0]:
        program = "a Jupyter notebook"
    else:
        program = shlex.join(sys.argv) if sys.argv and sys.argv[0] else "python"
    return f"fleetopt.api.write_{kind}_run, called by {program}"


def _key_figures(summary: dict) -> dict:
    """A run's figures for its record; an evaluation's are of the plan its report shows."""
    return key_figures(summary, shown_first(summary) if summary.get("kind") == "evaluate" else None)


def _recorded(loaded: LoadedModel, write: Callable[[], Path], summary: dict | Callable[[Path], dict],
              command: str | None) -> Path:  # fmt: skip
    """The run folder ``write()`` writes, once recorded in the registry with the key figures of its
    ``summary`` (its summary.json, or a function of the folder giving it): the one place where a
    written run is recorded. Ctrl-C and SIGTERM wait until both are done, so a stop never leaves a
    finished run unrecorded. A registry that fails keeps the run, and the message says where it
    is and how to record it later."""
    path = None
    try:
        with signals_deferred(say=True):
            path = write()
            run = RunFolder(path)
            figures = summary(path) if callable(summary) else summary
            try:
                _register_run(figures["kind"], loaded, path, _key_figures(figures), command)
            except RegistryError as exc:
                run.release_lock()  # untidy, unlocked: `fleetopt runs` lists it to be recorded
                raise RegistryError(
                    f"the run is saved in {path}, but it could not be recorded: {exc}; once the registry "
                    f"can be written, record it with fleetopt runs add {path}"
                ) from None
            except BaseException:  # any other failure: the lock let go too (a notebook lives on)
                run.release_lock()
                raise
            if run.is_job:  # its chunks and lock, kept until now so a kill before the record is seen
                run.tidy_finished_job()
    except KeyboardInterrupt:  # the stop held until the run was written and recorded
        if path is None:
            raise
        raise StoppedAfterWriting(path) from None
    return path.resolve()  # a notebook's later os.chdir leaves it pointing at this run


def record_run(folder: str | Path, command: str | None = None) -> int:
    """Record a finished run folder that the registry lacks (its recording failed, e.g. on a lock
    held too long, or it was copied from another runs folder); returns its new run id. Its
    summary.json gives the kind, model and key figures; its model.yaml must be the model they were
    made from, and a solve's plan.npz the file the run wrote. A folder already recorded is
    refused, naming its run id. A job's folder (an evaluation or sweep killed while it was being
    recorded) is locked while it is recorded (refused while another process finishes it), then
    loses its chunks and lock as a finished job does, once the record is written. ``command``: what
    `fleetopt runs show` gives as the command (default: that the run was recorded afterwards)."""
    limits.text("command", command, optional=True)
    run = _finished_run(folder)
    if not (run.is_job and run.left_untidy):  # nothing to tidy: no lock (a read-only folder records too)
        return _record_finished_run(run, command)
    with run.held_while_tidied():  # its chunks and lock removed only once the record is written
        return _record_finished_run(run, command)


def _record_finished_run(run: RunFolder, command: str | None) -> int:
    """:func:`record_run` of the finished run folder ``run``."""
    kind = run.summary(complete=False).get("kind")  # the kind first: a folder of another kind is named so
    if kind not in RUN_KINDS:
        raise RunDirError(
            f"{run.path / RunFolder.SUMMARY}: 'kind' is {kind!r}, not one of {', '.join(RUN_KINDS)}"
        )
    check_results_of_kind(run, kind)
    summary = run.summary()
    if (run / RunFolder.JOB).exists():  # report and compare read it: a damaged one is refused here too
        run.job()
    if kind == "sweep":  # its picks among its candidates, as the report reads them
        candidates = run.table(RunFolder.CANDIDATES_CSV, ("plan",), text=("plan",))
        run.sweep_picks(list(candidates["plan"]), RunFolder.CANDIDATES_CSV)
    check_key_figures(run.path / RunFolder.SUMMARY, kind, _key_figures(summary))
    # refused now, not when `runs show` reads them from the record
    recorded_changes(summary.get(MODEL_CHANGES), str(run / RunFolder.SUMMARY))
    if run.model_file is None:
        raise RunDirError(
            f"{run.path} has no {RunFolder.MODEL}: the model its figures were made from is unknown"
        )
    loaded, data = load(run.model_file)
    run.check_model_copy(loaded)
    if run.plan_changed():
        raise RunDirError(f"{run.plan_changed_words()}: the registry would record this run's figures for "
                          "another plan; restore it, or solve again")  # fmt: skip
    if kind == "solve":
        _check_solve_npv(run, data, summary)
    if kind in METRICS_TABLES:  # a row per plan, each cell a number: as the report reads it
        labels = [] if kind == "evaluate" else load_plans(run / RunFolder.PLANS, data)[1]
        checked_metrics_table(run, kind, summary, labels)
    recorded = recorded_run_id(run.path)
    if recorded is not None:
        raise RegistryError(
            f"{run.path} is already recorded as run {recorded} (fleetopt runs show {recorded}): nothing added"
        )
    command = command if command is not None else "unknown (recorded afterwards by fleetopt runs add)"
    return _register_run(kind, loaded, run.path, _key_figures(summary), command, written_at(run))


def _npv_differs(own: float, figure: float) -> bool:
    """Whether a plan's NPV (``own``, from its statements) is not ``figure``, a solve's or a run's:
    more than $1 or 1e-9 of it apart (float round-off is not a difference)."""
    return abs(own - figure) > max(1.0, 1e-9 * abs(own))


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


def _check_solve_npv(run: RunFolder, data: ModelData, summary: dict) -> None:
    """A solve's summary.json must give its plan's NPV on its model (a hand-edited figure was
    recorded, and the report then showed an objective above the solver's bound)."""
    npv = summary.get("npv_usd")
    path = run.path / RunFolder.PLAN
    if not isinstance(npv, (int, float)) or not path.is_file():
        return  # a summary without the figure: nothing to record it by, nothing to check
    plans, _, _ = load_plans(path, data)
    own = plan_statements(data, plans[0]).npv_usd
    if _npv_differs(own, npv):
        raise RunDirError(
            f"{run.path / RunFolder.SUMMARY}: npv_usd {format_usd(npv)} is not the NPV of its "
            f"{RunFolder.PLAN} on its {RunFolder.MODEL} ({format_usd(own)}): the summary was edited or "
            "belongs to another run; nothing recorded"
        )


def _finished_run(folder: str | Path) -> RunFolder:
    """The finished run folder ``folder``, or a refusal saying what it is instead."""
    run = RunFolder(user_path(limits.path("folder", folder, optional=False)).resolve())
    if not run.path.is_dir():
        what = "a file, not a run folder" if run.path.exists() else "no such run folder"
        raise RunDirError(f"{folder}: {what}")
    if not run.is_finished:
        what = "an unfinished job: finish it with --resume" if run.is_job else "not a fleetopt run folder"
        raise RunDirError(f"{run.path} has no {RunFolder.SUMMARY}: {what}")
    return run


def recorded_run_id(folder: str | Path) -> int | None:
    """The registry id of the run folder ``folder`` (its latest record), None where it is not
    recorded (a registry that cannot be read is refused)."""
    limits.path("folder", folder, optional=False)
    return Registry().recorded_id(folder)


def run_id(path: str | Path | int) -> int:
    """The registry id of the run folder ``path`` (its latest record); a run id (an int, or digits
    that are not an existing path, as everywhere a run is taken) is checked and given back."""
    registry = Registry()
    number = registry.id_given(path, "path")  # refuses, by name, what names no run at all (True, a float)
    return registry.get(number).id if number is not None else registry.id_of(path)


def resolve_run(ref: str | Path | int, name: str = "ref") -> Path:
    """A run folder or plan file from its path, or a run folder from its run id (an int, or digits
    that are not an existing path). A path that does not exist, an unknown run id and a recorded run
    whose folder is gone raise :class:`~fleetopt.runs.registry.RegistryError` (an InputError)."""
    return Registry().resolve(ref, name)


def runs(model: str | None = None, limit: int | None = 30, kind: str | None = None) -> list[RunRecord]:
    """The runs recorded in the registry of the runs folder (``$FLEETOPT_RUNS_DIR`` or ./runs),
    newest first: at most ``limit`` (None: all), only those of the model named ``model`` and of
    the ``kind`` (solve, stochastic, evaluate, sweep) when given.

    Each :class:`RunRecord` has ``id``, ``created_utc`` (ISO 8601, UTC), ``kind`` (solve,
    stochastic, evaluate, sweep), ``command``, ``model_name``, ``model_hash``, ``path`` (the run
    folder), ``exists`` and ``figures`` (its summary.json's key figures by name: ``_usd`` in USD,
    ``_probability`` in [0, 1], ``_seconds`` in seconds, with the run's counts, status and texts
    as written there). As a table:
    ``pandas.DataFrame([r.as_dict() for r in fo.runs(limit=None)])`` (every run)."""
    limits.model_name("model (--model)", model)
    limits.text("kind", kind, RUN_KINDS, optional=True)
    if limit is not None:
        limit = limits.whole("limit", limit, 1)  # an int: SQLite refuses a numpy integer
    return Registry().list(model=model, limit=limit, kind=kind)


def unfinished_runs(model: str | None = None) -> list[tuple[Path, str, str | None]]:
    """The evaluations and sweeps in the runs folder (``$FLEETOPT_RUNS_DIR`` or ./runs) that have not
    finished, which the registry lists only once they do: ``(folder, kind, pid)``, kind
    ``evaluate`` or ``sweep`` (None for a job folder whose job.json is damaged: unreadable, or naming
    no kind of job; it cannot be resumed until it is restored), pid the process still running it (a
    string), or None for one that was interrupted (``fleetopt <kind> --resume FOLDER`` finishes it).
    Oldest first. Jobs written with
    ``--out`` outside the runs folder are not looked for. ``model``: only jobs of the model of this
    name (the name in their model.yaml)."""
    limits.model_name("model (--model)", model)
    jobs = unfinished_jobs()
    if model is not None:
        jobs = [run for run in jobs if _model_name_in(run) == model]
    return [(run.path, run.interrupted_kind(), run.running_pid()) for run in jobs]


def unrecorded_runs(model: str | None = None, kind: str | None = None) -> list[Path]:
    """The evaluations and sweeps in the runs folder killed after they wrote their results and
    before they were recorded: finished (summary.json), left untidy (chunks or lock still there),
    no process finishing them, and not in the registry (`fleetopt runs add FOLDER` records and tidies
    each). A run forgotten on purpose (`fleetopt runs forget`) is not one. Oldest first; ``model``:
    only runs of the model of this name; ``kind``: only runs of this kind."""
    limits.model_name("model (--model)", model)
    limits.text("kind", kind, RUN_KINDS, optional=True)
    untidy = [run for run in finished_folders() if run.is_job and run.left_untidy and not run.running_pid()]
    if not untidy:
        return []
    recorded = {record.path.resolve() for record in Registry().list()}
    runs = [run for run in untidy if run.path.resolve() not in recorded]
    runs = [run for run in runs if model is None or _model_name_in(run) == model]
    return [run.path for run in runs if kind is None or _kind_in(run) == kind]


def _kind_in(run: RunFolder) -> str | None:
    """The kind in a finished run folder's summary.json (None: one that cannot be read)."""
    try:
        return run.kind
    except (OSError, InputError):
        return None


def _model_name_in(run: RunFolder) -> str | None:
    """The name in a run folder's model.yaml (None: no copy, or one that cannot be read)."""
    try:
        data = load_yaml(run.model_file.read_text(encoding="utf-8"), str(run.model_file))
    except (AttributeError, OSError, UnicodeDecodeError, InputError):
        return None
    return data.get("name") if isinstance(data, dict) else None


def forget_runs(
    runs: Iterable[str | Path | int] = (), *, missing: bool = False, dry_run: bool = False
) -> list[RunRecord]:
    """Remove runs from the registry (``fleetopt runs`` no longer lists them); their folders are
    left as they are (:func:`record_run` records one again, under a new id). ``runs``: run ids (an
    int, or digits) or run folders (their latest record); each takes with it the earlier runs
    recorded in its folder, whose files a later run there replaced. ``missing``: also every run
    whose folder is gone or holds a later run (a folder on a share that is not mounted counts as
    gone: look first with ``dry_run``). ``dry_run``: remove nothing, return what would go. An
    unknown run removes nothing. Returns the records removed, oldest first."""
    if isinstance(runs, (str, bytes, Path, Integral)):
        raise InputError(f"runs must be a list of run ids or folders, not one {type(runs).__name__}")
    if not isinstance(runs, Iterable):
        raise InputError(f"runs must be a list of run ids or folders, not {runs!r}")
    runs = list(runs)  # read once: a generator was used up by the check below, its runs kept
    limits.flag("missing", missing)
    limits.flag("dry_run", dry_run)
    registry = Registry()
    if any(isinstance(ref, str) and not ref.strip() for ref in runs):  # "" would be the current folder
        raise InputError("runs: an empty name is not a run id or folder")
    ids = [registry.find(ref, "each of runs").id for ref in runs]
    if not ids and not missing:
        raise InputError("name the runs to forget (run ids or folders), or forget those whose folders are "
                         "gone (missing=True)")  # fmt: skip
    return registry.forget(ids, missing=missing, dry_run=dry_run)


def read_run(ref: str | Path | int) -> RunData:
    """A finished run's files as data, by run id or folder (as :func:`run` takes it): ``summary``
    (its summary.json), ``tables`` by name (``plan``, ``statements``, ``metrics``, ``candidates``,
    ``front``, ``purchases``: those its kind writes, as pandas DataFrames; money in USD, shares in
    [0, 1]) and ``npv_matrix`` where an evaluation kept it, e.g.
    ``fo.read_run(3)["metrics"]``; a run's own file (its plan.npz, summary.json) names its folder."""
    path = resolve_run(ref)
    owner = RunFolder.owning(path) if path.is_file() else None
    return (owner or RunFolder(path)).data()


def run(ref: str | Path | int) -> RunRecord:
    """One run's record (see :func:`runs`): by run id (an int, or digits that are not an existing
    path) or by its run folder (its latest record)."""
    return Registry().find(ref, "ref")


def compare(
    runs: str | Path | int | SolveResult | Iterable[str | Path | int | SolveResult],
    model: ModelArg = None,
    *,
    scenarios: int | None = None,
    seed: int | None = None,
    backend: str = "auto",
    labels: Iterable[str] | None = None,
    what_if: Mapping[str | tuple, Any] | list[tuple] | None = None,
) -> Comparison:
    """Compare plans side by side on common scenarios (as `fleetopt compare`): NPV, risk, debt,
    power, fleet and purchases.

    ``runs``: run folders, run ids or plan files (one, or a list): a sweep gives its recommended
    plan and its forecast optimum, a solve its plan, a plan file all its plans. ``model``: see
    :data:`ModelArg`; every plan is evaluated under it (None: the first run folder's model.yaml,
    a run's plan file given directly counting as its folder, so the figures depend on which run
    comes first; else the default model). Plans made from
    another version of it give a :class:`FleetoptWarning` naming their run and the blocks that
    differ, as :func:`evaluate` does. ``scenarios`` and ``seed``: the common futures; None: those
    of the first run given with figures of its own (an evaluation's, a sweep's, a stochastic
    solve's out-of-sample ones; so its own figures come back), else 1,000 and seed 0. A run whose
    own figures are of other scenarios than those used gives a :class:`FleetoptWarning`.
    ``backend``: see :func:`evaluate`. ``labels``: a name for each plan compared, in order (a
    sweep's folder counts two plans; None: each run's name and its plan's label), unique and not empty.
    ``runs`` may instead be :class:`SolveResult` and :class:`StochasticResult` objects, as
    :func:`solve` and :func:`solve_stochastic` return them, compared without writing them first:
    under their model, or under ``model`` where they were solved from different models (what-if
    edits: :func:`edit`); 1,000 scenarios of seed 0 unless given (a stochastic result alone: its
    out-of-sample ones); named "milp", "milp, purchases fixed (FILE)" ..., a stochastic result's two plans
    "forecast" and "stochastic", unless ``labels``.

    ``what_if``: changes to the model, as :func:`edit` takes them (``{"risk.delivery_slip":
    {"probability": 1, "min_quarters": 2, "max_quarters": 2}}``): ``runs`` must then give one plan,
    compared with itself run under the model so changed, on the same scenarios, so each difference
    is what the change does to it, with a paired error (`fleetopt compare RUN --what-if PATH=VALUE`;
    docs/evaluation.md, "What if"); ``labels`` then names the two, default the plan's label and
    that label with ", what if".

    Returns a :class:`Comparison`: ``to_csv()``, ``to_json()``, ``to_markdown()``, its tables
    (money in USD, probabilities in [0, 1]) and ``model``, the model used."""
    given = _runs_given(runs)
    if what_if is not None and (not isinstance(what_if, (Mapping, list)) or not what_if):
        raise InputError("what_if must be the changes to the model, a mapping of PATH to value or a list of "
                         f"(PATH, value) pairs as fleetopt.api.edit takes them, not empty (got {what_if!r})")
    # the settings first: a bad one was refused only after the plans' warnings were given
    if scenarios is not None:
        limits.scenarios("scenarios", scenarios)
    if seed is not None:
        limits.seed("seed", seed)
    limits.text("backend", backend, BACKENDS)
    names = _checked_labels(labels)
    solved = [r for r in given if isinstance(r, (SolveResult, StochasticResult))]
    if solved:
        for ref in given:  # what is neither (a SweepResult) refused as such, not as "both"
            if not isinstance(ref, (SolveResult, StochasticResult)):
                Registry.id_given(ref, "runs")
        if len(solved) != len(given):
            raise InputError("runs must be run folders, run ids or plan files, or solve results, "
                             "not both: write the solves first (write_solve_run, write_stochastic_run) "
                             "to compare them with runs")  # fmt: skip
        own = [r.out_of_sample for r in solved if isinstance(r, StochasticResult) and r.out_of_sample]
        if len(solved) == 1 and own:  # its out-of-sample futures, as for its run folder
            scenarios = own[0]["scenarios"] if scenarios is None else scenarios
            seed = own[0]["seed"] if seed is None else seed
        plans = _in_memory(solved)
        if what_if is not None:
            return _what_if_of_solved(plans, model, scenarios, seed, backend, names, what_if)
        if len(plans) < 2:  # as for one run folder: a comparison of one plan says nothing
            raise CompareError(f"{TWO_PLANS_NEEDED}: give two solve results (a stochastic solve's result "
                               "alone gives two: its plan and its forecast optimum)")  # fmt: skip
        return _compare_solved(plans, model, scenarios, seed, backend, names)
    return _compare_runs([resolve_run(r, "runs") for r in given], model, scenarios, seed, backend, names,
                         what_if)  # fmt: skip


def comparison_html(comparison: Comparison) -> str:
    """The self-contained HTML page of a comparison (what :func:`compare` returns), as `fleetopt
    compare --out c.html` writes it: ``Path("c.html").write_text(fo.comparison_html(c))``."""
    limits.instance("comparison", comparison, Comparison, "what fleetopt.api.compare returns")
    return _comparison_html(comparison)


def _runs_given(runs) -> list:
    """:func:`compare`'s ``runs`` as a list: one as a list of one (a run id from a table of
    fo.runs() is a numpy integer), refused where it is neither one nor a list, or names none."""
    if isinstance(runs, (str, Path, Integral, RunRecord, SolveResult, StochasticResult)):
        return [runs]
    if not isinstance(runs, Iterable) or isinstance(runs, (bytes, dict)):
        raise InputError(
            f"runs must be a run folder, run id or plan file, or a list of them (got a {type(runs).__name__})"
        )
    given = list(runs)
    if not given:
        raise InputError("runs must name at least one run folder, run id or plan file")
    return given


def _compare_runs(refs: list[Path], model, scenarios, seed, backend: str, names, what_if=None) -> Comparison:
    """:func:`compare` of run folders and plan files (``refs``, resolved), the settings checked."""
    chosen, model_given, copy_used = "the model given", model, False
    if model is None:
        model, chosen = _model_of_comparison(refs)
        copy_used = model is not None
    loaded, data = _loaded_and_data(model)  # a pair load returned is used as it is
    sources = plan_sources(refs, data, chosen)
    plans, labels, buffers, runs = plans_from_refs(refs, data, sources, least=1 if what_if is not None else 2)
    if what_if is not None:
        _what_if_editable(loaded)
        versions = [_warn_if_other_model_version(loaded, source, f"the plans of {ref}")
                    for ref, source in dict(zip(refs, sources, strict=True)).items()]  # fmt: skip
        settings = _compare_settings(refs, scenarios, seed)
        if _gives_a_pick(refs):  # its pick (or stochastic plan), what the run recommends, not its optimum
            plans, labels, buffers, runs = plans[1:], labels[1:], buffers[1:], runs[1:]
        given = _WhatIfPlan(plans, labels, buffers[:1], runs[:1], tuple(v for v in versions if v))
        return _what_if(loaded, data, given, what_if, names, (*settings, backend),
                        _model_used(loaded, chosen))  # fmt: skip
    labels = _named(labels, names)
    used, versions, policies = None, [], []
    if loaded is not None:
        for ref, source in dict(zip(refs, sources, strict=True)).items():  # a run given twice: once
            versions.append(_warn_if_other_model_version(loaded, source, f"the plans of {ref}"))
        versions = [note for note in versions if note is not None]
        policies = policy_notes(loaded, refs, sources)  # a note, not a warning: as evaluate says none
        if (versions or policies) and model_given is None and copy_used:
            chosen += " (plans made from another version of it are evaluated under this one too)"
        used = _model_used(loaded, chosen)
    scenarios, seed = _compare_settings(refs, scenarios, seed)
    not_back = figures_not_back(refs, scenarios, seed)
    for sentence in not_back:
        warn(sentence)
    _warn_if_in_sample(sources, seed, scenarios)
    return compare_plans(data, plans, labels, scenarios, seed, backend, buffers, used, versions, runs,
                         not_back, policies=policies)  # fmt: skip


def _compare_settings(refs: list[Path], scenarios: int | None, seed: int | None) -> tuple[int, int]:
    """The common futures: those given, else the first run's own (a sweep's, an evaluation's, a
    stochastic solve's: its figures come back), else 1,000 of seed 0."""
    own = scenarios_of_runs(refs)
    default_scenarios, default_seed = own if own is not None else (limits.DEFAULT_SCENARIOS, 0)
    scenarios = limits.scenarios("scenarios", default_scenarios if scenarios is None else scenarios)
    return scenarios, limits.seed("seed", default_seed if seed is None else seed)


@dataclass(frozen=True)
class _WhatIfPlan:
    """The plans a what-if was given (it compares one), their labels, and the first's cash buffer
    (None: the model's) and run folder or plan file; ``versions``: the notes of plans made from
    another version of the model (as a comparison's); ``objective``: what the first was solved for
    (None: read from its run folder)."""

    plans: list
    labels: list[str]
    buffers: list
    runs: list[str]
    versions: tuple[str, ...] = ()
    objective: str | None = None


def _what_if_editable(loaded: LoadedModel | None) -> None:
    """Refuse a what-if of a model given as ModelData alone: there is no model file to edit."""
    if loaded is None:
        raise InputError("what_if (--what-if) edits the model: give model= as a model file, a bundled "
                         "model's name or a LoadedModel, not ModelData alone")  # fmt: skip


def _what_if(loaded, data, given: _WhatIfPlan, what_if, names, settings: tuple, used) -> Comparison:
    """:func:`compare`'s ``what_if``: the one plan given under the model and under it changed."""
    if len(given.plans) != 1:
        raise CompareError(f"what_if (--what-if) compares one plan with itself under the model changed: "
                           f"{len(given.plans)} given ({', '.join(given.labels)}); give one run or plan file "
                           "of one plan (a solve's folder gives its plan, a sweep's its pick, a stochastic "
                           "solve's its stochastic plan; a plan file, every plan it holds)")  # fmt: skip
    _what_if_editable(loaded)
    try:
        changed = edit(loaded, what_if)
    except ModelError as exc:  # named as the change asked, not as the model it would have made
        asked = change_words(list(what_if.items()) if isinstance(what_if, Mapping) else what_if)
        raise ModelError(f"what_if (--what-if) {asked}", exc.issues) from None
    pair = [given.labels[0], f"{given.labels[0]}, what if"] if names is None else names
    if len(pair) != 2:
        raise InputError(f"{LABELS}: {len(pair)} given for a what-if, which compares two: the plan and the "
                         "plan under the model changed")  # fmt: skip
    made = changed.changes[len(loaded.changes):]
    words = change_words(made)
    changed_data = _loaded_and_data(changed)[1]
    buffers = (given.buffers[0], _what_if_buffer(changed, made, given.buffers[0]))
    _check_what_if(loaded, (changed, changed_data), given, words, buffers)
    scenarios, seed, backend = settings
    comparison = compare_what_if(data, changed_data, given.plans[0], pair, words, scenarios, seed, backend,
                                 buffers, used, given.runs[0], given.versions, given.objective,
                                 _model_used(changed, f"the first side's model with {words}"))  # fmt: skip
    if changed.model != loaded.model and not comparison.differs():  # a change the model already has: said
        warn(f"what_if (--what-if) {words}: every figure of the plan is the same under the model so changed: "
             "the change touches nothing this plan does or risks (a delivery slip, for one, delays only "
             "the SKUs not yet on sale when the horizon starts)")
    return comparison


def _gives_a_pick(refs: list[Path]) -> bool:
    """Whether ``refs`` is one sweep's or stochastic solve's folder, which a comparison reads as its
    forecast optimum and then its pick (or stochastic plan): a what-if takes the pick alone."""
    return len(refs) == 1 and refs[0].is_dir() and RunFolder(refs[0]).kind in ("sweep", "stochastic")


def _check_what_if(loaded: LoadedModel, changed: tuple, given: _WhatIfPlan, words: str,
                   buffers: tuple) -> None:  # fmt: skip
    """Refuse a what-if the plan cannot run under (its arrays do not fit the changed model, ``changed``:
    it and its data), and warn of one that leaves the model and the plan's cash buffer (``buffers``: on
    each side, USD; None: the model's) as they were (every difference would be 0)."""
    if problems := given.plans[0].shape_problems(changed[1]):
        raise CompareError(f"what_if (--what-if) {words}: the plan {given.labels[0]!r} does not fit the "
                           f"model so changed ({problems[0]}): a what-if may change what the plan runs under "
                           "(prices, risks, finance, policy), not what its decisions are over (the horizon, "
                           "the SKUs and when they are on sale, the sites, the contracts); solve the changed "
                           "model (fleetopt solve --set PATH=VALUE) and compare the two runs")  # fmt: skip
    own = loaded.model.policy.liquidity_buffer_usd
    if changed[0].model == loaded.model and len({own if b is None else b for b in buffers}) == 1:
        warn(f"what_if (--what-if) {words}: the model already has that, so the what-if is the plan under "
             "the same model again and every difference is 0: give a value other than the model's")


def _what_if_buffer(changed: LoadedModel, made: tuple, buffer: float | None) -> float | None:
    """The cash buffer the plan runs with under the changed model: the changed model's where the
    what-if's changes (``made``) set ``policy.liquidity_buffer_usd`` (what it asks, the model's own
    value too: a sweep's plan may have another), else the plan's own (a plan keeps the buffer it was
    made with)."""
    asked = sets_field(made, ("policy", "liquidity_buffer_usd"))
    return changed.model.policy.liquidity_buffer_usd if asked else buffer


def _what_if_of_solved(results: list, model, scenarios, seed, backend, names, what_if) -> Comparison:
    """:func:`compare`'s ``what_if`` of a solve result in memory, under its own model or ``model``."""
    if model is None:
        loaded, data = results[0].loaded, results[0].data
    else:
        loaded, data = _loaded_and_data(model)
    labels = [r.label for r in results]
    plans = [r.plan if model is None else _plan_under(r, data, r.label) for r in results]
    buffers = [None if r.loaded is None else r.loaded.model.policy.liquidity_buffer_usd for r in results]
    settings = (*_compare_settings([], scenarios, seed), backend)
    used = _model_used(loaded, "the solve's own model" if model is None else "the model given")
    given = _WhatIfPlan(plans, labels, buffers[:1], ["(in memory: not written)"],
                        objective=results[0].objective if results else None)  # fmt: skip
    return _what_if(loaded, data, given, what_if, names, settings, used)


def _model_used(loaded: LoadedModel | None, why: str) -> ModelUsed | None:
    """The model a comparison evaluates under, as its output names it (None: given as ModelData)."""
    return None if loaded is None else ModelUsed(loaded.model.name, loaded.content_hash, loaded.source, why)


@dataclass(frozen=True)
class _SolvedPlan:
    """A plan compared in memory: its label, and the data and model it was solved from."""

    label: str
    plan: Plan
    data: ModelData
    loaded: LoadedModel | None
    objective: str = "npv"  # what it was solved for: npv, or cost (a lab's plan)


def _in_memory(results: list) -> list[_SolvedPlan]:
    """The plans of solve results: a solve's plan; a stochastic solve's forecast optimum, then its
    stochastic plan (the differences as the solve prints them, as for its run folder)."""
    out = []
    for r in results:
        if isinstance(r, StochasticResult):
            out += [_SolvedPlan("forecast", r.forecast_plan, r.data, r.loaded),
                    _SolvedPlan("stochastic", r.plan, r.data, r.loaded)]  # fmt: skip
        else:
            out.append(_SolvedPlan(_solve_label(r), r.plan, r.data, r.loaded, r.objective_kind))
    return out


def _compare_solved(results: list[_SolvedPlan], model, scenarios, seed, backend, names) -> Comparison:
    """:func:`compare` of solve results in memory: their plans under their own model, or under
    ``model`` (what-if solves of edited models compared under one of them)."""
    labels = _named(unique_labels([r.label for r in results]), names)
    versions: list[str] = []
    policies: list[str] = []
    models = sorted({r.data.name for r in results})
    if len(models) > 1:  # no model reads both: model= would refuse the plans of the other name
        raise InputError(f"the solve results compared are of models of two names ({', '.join(models)}): "
                         "every plan is evaluated under one model, which reads only the plans made for "
                         "a version of it; compare plans of one model (its versions: fleetopt.api.edit)")
    if model is None:
        if len({r.data.fingerprint for r in results}) > 1:
            raise InputError("the solve results compared are of different models (or versions of one): "
                             "give model= (say the first one's LoadedModel), under which every plan is "
                             "evaluated")  # fmt: skip
        loaded, data = results[0].loaded, results[0].data
        plans = [r.plan for r in results]
        why = "the solves' own model"
    else:
        loaded, data = _loaded_and_data(model)
        plans = [_plan_under(r, data, label) for r, label in zip(results, labels, strict=True)]
        notes = [_other_version_of_solve(loaded, r, label) for r, label in zip(results, labels, strict=True)]
        versions = [note for note in notes if note is not None]
        # each solve's plan keeps its own cash buffer (below): its other policy fields are this model's
        whose = [f"the plans of the solve {label!r}" for label in labels]
        notes = [None if loaded is None else policy_note(r.loaded, loaded, who, own_buffer=True)
                 for r, who in zip(results, whose, strict=True)]  # fmt: skip
        policies = [note for note in notes if note is not None]
        why = "the model given"
    # each plan keeps its own model's cash buffer, as the plan file of its run would
    buffers = [None if r.loaded is None else r.loaded.model.policy.liquidity_buffer_usd for r in results]
    used = _model_used(loaded, why)
    n, s = _compare_settings([], scenarios, seed)  # no run folder: 1,000 of seed 0 unless given
    runs = ["(in memory: not written)"] * len(results)
    objectives = [r.objective for r in results]
    return compare_plans(data, plans, labels, n, s, backend, buffers, used, versions, runs, [], objectives,
                         policies)  # fmt: skip


def _plan_under(result: _SolvedPlan, data, label: str) -> Plan:
    """``result``'s plan as ``data``'s model reads it: as a plan file of it would be read (its items
    matched by name, every shape checked), or refused naming the plan."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "plan.npz"
        name = result.loaded.model.name if result.loaded is not None else data.name
        digest = result.loaded.content_hash if result.loaded is not None else ""
        save_plans(path, [result.plan], [label], name, digest, axes=plan_axes(result.data))
        try:
            plans, _, _ = load_plans(path, data)
        except PlanFileError as exc:
            why = str(exc).replace(f"{path}: ", "")
            raise InputError(f"the plan {label!r} does not fit the model given: {why}") from None
    return plans[0]


def _other_version_of_solve(loaded: LoadedModel | None, result: _SolvedPlan, label: str) -> str | None:
    """The sentence of :func:`~fleetopt.evaluate.sources.version_note`, given as a
    :class:`FleetoptWarning` too, where ``result`` was solved from another version of the model its
    plan is evaluated under (as for the plan file of its run: blocks a solve's plan does not depend
    on say nothing, its own cash buffer is said)."""
    if loaded is None or result.loaded is None:
        return None
    buffer = [result.loaded.model.policy.liquidity_buffer_usd]
    whose = f"the plans of the solve {label!r}"
    note = version_note(result.loaded.content_hash, result.loaded, "solve", buffer, loaded, whose)
    if note is not None:
        warn(note)
    return note


def _named(labels: list[str], names: list[str] | None) -> list[str]:
    """The plans' ``labels``, or the ``names`` given for them (one each, in order)."""
    if names is None:
        return labels
    if len(names) != len(labels):
        raise InputError(f"{LABELS}: {len(names)} given for {len(labels)} plans to compare "
                         f"({', '.join(labels)}): give one for each, in that order")  # fmt: skip
    return names


LABELS = "labels (--label)"  # the plans' names, as the API and the CLI call them


def _checked_labels(labels) -> list[str] | None:
    """The plans' names given to :func:`compare`: strings, none empty, none repeated."""
    if labels is None:
        return None
    if isinstance(labels, (str, bytes)) or not isinstance(labels, Iterable):
        raise InputError(f"labels must be a list of names, one per plan (got {type(labels).__name__})")
    names = [limits.text(LABELS, label) for label in labels]
    if any(not name.strip() for name in names):
        raise InputError(f"{LABELS} must not be empty")
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise InputError(f"{LABELS} must be unique: {', '.join(repeated)} given more than once")
    for name in names:  # a newline split a Markdown row in two; an escape reached the terminal as one
        if any(unicodedata.category(ch) == "Cc" for ch in name):
            raise InputError(f"{LABELS} must be one line of text, without control characters (got {name!r})")
    for name in names:  # a column of the figures table, or a difference's header ('b − a')
        if name in RESERVED_LABELS or DIFFERENCE_SEPARATOR in name:
            raise InputError(f"{LABELS}: {name!r} names a column of the comparison's figures table "
                             f"({', '.join(RESERVED_LABELS)}, or 'B{DIFFERENCE_SEPARATOR}A' for a "
                             "difference): give the plan another name")  # fmt: skip
    return names


def _model_of_comparison(refs: list[Path]) -> tuple[Path | None, str]:
    """The model a comparison given none uses, and why: the first run folder's copy of its model,
    else the default model."""
    for ref in refs:
        if (copy := model_copy_of(ref)) is not None:  # a run's plan file given directly too
            return copy, "the first run folder's copy, as no model was given"
    return None, "the default model, as no model was given and no run folder holds a copy of one"


def report(run: str | Path | int, out: str | Path | None = None) -> Path:
    """Write the HTML report of a run folder or run id (default: report.html inside the folder).
    An ``out`` that is a file of a run folder (its summary.json, plans, another run's report ...) is
    refused, as is a run whose model.yaml is not the model its figures were made from
    (:class:`~fleetopt.errors.InputError`), and so is an existing file that is not a report
    fleetopt wrote (a model, notes). A file of a finished run folder (its plan.npz, summary.json)
    names that run, as it does for the other commands. Returns the report's path."""
    limits.path("out", out)
    if out is not None:  # a folder that is a file read "File exists", from the folders made for it
        refuse_unwritable_file(out, "out")
    path = resolve_run(run, "run")
    owner = RunFolder.owning(path) if path.is_file() else None
    return write_report(owner.path if owner is not None and owner.is_finished else path, out).resolve()
