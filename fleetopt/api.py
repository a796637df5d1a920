"""The Python API for notebooks and scripts; the CLI is a thin layer over it.

>>> import fleetopt.api as fo
>>> result = fo.solve("tiny")
>>> result.plan_frame().head()          # every decision
>>> result.statements_frame()           # quarterly statements, USD

Every ``write_*_run`` function writes a run folder and records it in the run registry, once: the
CLI writes its runs through them, so a run written from Python is listed by `fleetopt runs` too.
"""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

from fleetopt import __version__
from fleetopt.core.data import load
from fleetopt.core.economics import plan_statements
from fleetopt.core.plan import plan_axes
from fleetopt.core.results import headline, plan_frame
from fleetopt.errors import InputError
from fleetopt.evaluate.jobfolder import (
    EvaluationJob,
    evaluation_summary,
    model_of_plans,
    prepare_evaluation,
    resume_evaluation,
)
from fleetopt.evaluate.jobfolder import write_evaluate_run as _write_evaluate_folder
from fleetopt.evaluate.planfile import plans_npz_bytes
from fleetopt.milp.solve import InfeasibleModel, NoPlanFound, SolveResult
from fleetopt.milp.solve import solve as _solve_data
from fleetopt.report import write_report
from fleetopt.runs import limits
from fleetopt.runs.folder import RunFolder, json_text
from fleetopt.runs.registry import Registry, RegistryError
from fleetopt.schema.loading import LoadedModel
from fleetopt.stochastic.run import StochasticResult, check_settings
from fleetopt.stochastic.run import solve_stochastic as _solve_stochastic_data
from fleetopt.sweep.run import SweepResult, resume_sweep, sweep
from fleetopt.sweep.run import write_sweep_run as _write_sweep_folder

__all__ = [
    "EvaluationJob",
    "InfeasibleModel",
    "NoPlanFound",
    "RunFolder",
    "SolveResult",
    "StochasticResult",
    "SweepResult",
    "evaluate",
    "evaluation_summary",
    "load",
    "model_of_plans",
    "prepare_evaluation",
    "register_run",
    "report",
    "resolve_run",
    "resume_evaluation",
    "resume_sweep",
    "run_id",
    "solve",
    "solve_stochastic",
    "sweep",
    "write_evaluate_run",
    "write_solve_run",
    "write_stochastic_run",
    "write_sweep_run",
]


def solve(
    model: str | Path | LoadedModel | None = None,
    *,
    objective: str = "npv",
    time_limit: float | None = None,
    mip_gap: float = 0.005,
    threads: int | None = None,
) -> SolveResult:
    """Solve a model's MILP and return the best plan with its statements."""
    limits.text("objective", objective, ("npv", "cost"))
    limits.solver_settings(mip_gap, time_limit, threads)
    _loaded, data = load(model)
    return _solve_data(data, objective, time_limit=time_limit, mip_gap=mip_gap, threads=threads)


def solve_summary(result: SolveResult, loaded: LoadedModel) -> dict:
    """The content of summary.json for a solve run."""
    fig = headline(result.data, result.plan, result.statements)
    return {
        "fleetopt_version": __version__,
        "kind": "solve",
        "model_name": loaded.model.name,
        "model_source": loaded.source,
        "model_hash": loaded.content_hash,
        "status": result.status,
        "objective": result.objective_kind,
        "objective_usd": result.objective_usd,
        "bound_usd": result.bound_usd,
        "gap": result.gap,
        "build_seconds": result.build_seconds,
        "solve_seconds": result.solve_seconds,
        "model_size": result.model_size,
        **fig,
    }


def write_solve_run(
    result: SolveResult, loaded: LoadedModel, out: str | Path | None = None, *, command: str | None = None
) -> Path:
    """Write summary.json, plan.csv, plan.npz, statements.csv and model.yaml into a run folder:
    ``out`` (new or empty), or a new one under the runs folder, claimed when it is written; and
    record it in the run registry (``command``: see :func:`register_run`)."""
    _check_solved_from(result, loaded)
    folder = RunFolder(out) if out is not None else RunFolder.claim(None, loaded.model.name)
    summary = solve_summary(result, loaded)
    files = {
        RunFolder.SUMMARY: json_text(summary),
        RunFolder.PLAN_CSV: plan_frame(result.data, result.plan).to_csv(index=False),
        RunFolder.STATEMENTS: result.statements_frame().to_csv(index=False, float_format="%.6f"),
        RunFolder.PLAN: plans_npz_bytes(
            [result.plan], ["milp"], loaded.model.name, loaded.content_hash, axes=plan_axes(result.data)
        ),
        RunFolder.MODEL: loaded.text,
    }
    return _recorded("solve", loaded, folder.write(files), summary, command)


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
    model: str | Path | LoadedModel | None = None,
    scenarios: int = 5,
    *,
    first_stage_quarters: int = 4,
    risk_weight: float = 0.0,
    cvar_alpha: float = 0.05,
    scenario_seed: int = 0,
    screen: int = 200,
    out_of_sample: int = 1000,
    time_limit: float | None = None,
    mip_gap: float = 0.01,
    threads: int | None = None,
    backend: str = "auto",
    solver: str = "blocks",
) -> StochasticResult:
    """The two-stage stochastic plan (docs/formulation.md §7b): ``scenarios`` representatives of
    ``screen`` scenarios of ``scenario_seed``, first stage before quarter ``first_stage_quarters``,
    objective (1 - risk_weight) E[NPV] + risk_weight CVaR_cvar_alpha(NPV), the measures (RP, EV, EEV,
    WS, VSS, EVPI) and ``out_of_sample`` fresh scenarios (seed ``scenario_seed + 1``; 0: none).
    ``solver``: "blocks" (fleetopt's extensive form) or "mpisppy-ef" (mpi-sppy's; the
    `fleetopt[stochastic]` extra; L = 0; no EEV or WS). Bad settings raise
    :class:`~fleetopt.errors.InputError`."""
    limits.solver_settings(mip_gap, time_limit, threads)
    _loaded, data = load(model)
    check_settings(data, scenarios, first_stage_quarters, risk_weight, cvar_alpha, solver)
    return _solve_stochastic_data(
        data, scenarios, quarters=first_stage_quarters, risk_weight=risk_weight, alpha=cvar_alpha,
        seed=scenario_seed, screen=screen, oos_scenarios=out_of_sample, mip_gap=mip_gap,
        time_limit=time_limit, threads=threads, backend=backend, route=solver,
    )  # fmt: skip


def stochastic_summary(result: StochasticResult, loaded: LoadedModel) -> dict:
    """The content of summary.json for a stochastic solve run."""
    return {
        "fleetopt_version": __version__,
        "kind": "stochastic",
        "model_name": loaded.model.name,
        "model_source": loaded.source,
        "model_hash": loaded.content_hash,
        **result.summary(),
        "plan": headline(result.data, result.plan, plan_statements(result.data, result.plan)),
    }


def write_stochastic_run(
    result: StochasticResult,
    loaded: LoadedModel,
    out: str | Path | None = None,
    *,
    command: str | None = None,
) -> Path:
    """Write summary.json (the measures), plan.npz (the completed stochastic plan and the forecast
    optimum, so `fleetopt compare FOLDER` compares them), plan.csv and statements.csv of the
    stochastic plan, and model.yaml into a run folder; and record it in the run registry."""
    _check_solved_from(result, loaded)
    folder = RunFolder(out) if out is not None else RunFolder.claim(None, loaded.model.name)
    statements = plan_statements(result.data, result.plan)
    summary = stochastic_summary(result, loaded)
    files = {
        RunFolder.SUMMARY: json_text(summary),
        RunFolder.PLAN_CSV: plan_frame(result.data, result.plan).to_csv(index=False),
        RunFolder.STATEMENTS: statements.frame(result.data.quarter_labels).to_csv(
            index=False, float_format="%.6f"
        ),
        RunFolder.PLAN: plans_npz_bytes(
            [result.plan, result.forecast_plan],
            ["stochastic", "forecast"],
            loaded.model.name,
            loaded.content_hash,
            axes=plan_axes(result.data),
        ),
        RunFolder.MODEL: loaded.text,
    }
    figures = {k: v for k, v in summary.items() if k.endswith("_usd")}
    return _recorded("stochastic", loaded, folder.write(files), figures, command)


# ---------------------------------------------------------------- evaluation


def evaluate(
    plans: str | Path,
    model: str | Path | LoadedModel | None = None,
    *,
    scenarios: int = 1000,
    seed: int = 0,
    backend: str = "auto",
    max_memory: int | None = None,
    deterministic: bool = False,
    keep_matrix: bool = False,
    threads: int | None = None,
    progress=None,
):
    """Evaluate the plans in a run folder or plan file on seeded scenarios of the model (in memory).

    With ``model`` None: a run folder's copy of its model, or the bundled model a plan file names
    (see :func:`model_of_plans`), else the default model.
    ``threads``: NumPy threads (default: one per usable core).
    Returns ``(EvaluationResult, LoadedModel, PlanSource)``.
    """
    job = prepare_evaluation(
        plans, model, scenarios=scenarios, seed=seed, backend=backend, max_memory=max_memory,
        deterministic=deterministic, keep_matrix=keep_matrix, threads=threads,
    )  # fmt: skip
    return job.run(progress=progress), job.loaded, job.source


def write_evaluate_run(
    result, loaded: LoadedModel, source, out: str | Path | None = None, *, command: str | None = None
) -> Path:
    """Write metrics.csv and summary.json (and npv_matrix.npy when kept) into a run folder: ``out``
    (new or empty, or the folder of a started job) or a new one under the runs folder; and record
    it in the run registry with the figures of its first plan."""
    path = _write_evaluate_folder(result, loaded, source, out)
    first = result.metrics.iloc[0]
    figures = {k: first[k] for k in ("npv_mean_usd", "npv_cvar5_usd", "breach_probability")}
    return _recorded("evaluate", loaded, path, {"n_plans": result.n_plans, **figures}, command)


# ---------------------------------------------------------------- sweep


def write_sweep_run(
    result: SweepResult, out: str | Path | None = None, *, command: str | None = None
) -> Path:
    """Write plans.npz, candidates.csv, front.csv, summary.json and model.yaml into a run folder
    (the folder the sweep saved its candidates and chunks in, a new one, or None: a new default
    one); and record it in the run registry."""
    path = _write_sweep_folder(result, out)
    return _recorded("sweep", result.loaded, path, result.summary(), command)


# ---------------------------------------------------------------- registry and reports


def register_run(
    kind: str, loaded: LoadedModel, path: str | Path, figures: dict, command: str | None = None
) -> int:
    """Record a written run folder in the registry of the runs folder; returns the run id.
    ``command``: what `fleetopt runs show` gives as the command that made the run (default: the
    Python program that called the API)."""
    keep = {k: v for k, v in figures.items() if isinstance(v, (int, float, str, bool)) or v is None}
    command = command if command is not None else _python_command(kind)
    return Registry().record(kind, loaded.model.name, loaded.content_hash, Path(path), keep, command)


def _python_command(kind: str) -> str:
    program = shlex.join(sys.argv) if sys.argv and sys.argv[0] else "python"
    return f"fleetopt.api.write_{kind}_run, called by {program}"


def _recorded(kind: str, loaded: LoadedModel, path: Path, figures: dict, command: str | None) -> Path:
    """``path`` once recorded in the registry: the one place where a written run is recorded. A
    registry that fails now keeps the run, and the message says where it is."""
    try:
        register_run(kind, loaded, path, figures, command)
    except RegistryError as exc:
        raise RegistryError(f"the run is saved in {path}, but it could not be recorded: {exc}") from None
    return path


def run_id(path: str | Path) -> int:
    """The registry id of the run folder ``path`` (its latest record)."""
    return Registry().id_of(path)


def resolve_run(ref: str | Path) -> Path:
    """A run folder from a path or a registry run id."""
    return Registry().resolve(ref)


def report(run: str | Path, out: str | Path | None = None) -> Path:
    """Write the HTML report of a run folder or run id (default: report.html inside the folder).
    An ``out`` that is a file of a run folder (its summary.json, plans, another run's report ...) is
    refused, as is a run whose model.yaml is not the model its figures were made from
    (:class:`~fleetopt.errors.InputError`)."""
    return write_report(resolve_run(run), out)
