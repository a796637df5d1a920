"""`fleetopt evaluate` and `fleetopt sweep`: plans under uncertainty, resumable batch jobs."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Annotated

import typer

from fleetopt.cli.common import (
    RANK_COLUMNS,
    BackendName,
    ExecutorName,
    ModelArg,
    RankBy,
    ReportFlag,
    app,
    console,
    err_console,
    fail,
    finish_report,
    interruptible,
    load_or_exit,
    resolve_run_or_exit,
)


@app.command()
def evaluate(
    model: ModelArg = None,
    plans: Annotated[
        Path | None,
        typer.Option(
            help="A run folder (solve or sweep), a run id, or a plan file (.npz, one plan or many)."
        ),
    ] = None,
    scenarios: Annotated[int, typer.Option(min=1, help="Number of simulated futures.")] = 1000,
    seed: Annotated[int, typer.Option(min=0, help="Seed: the same seed gives the same scenarios.")] = 0,
    out: Annotated[
        Path | None, typer.Option(help="Run folder to write. Default: runs/<timestamp>-<model>-evaluate/.")
    ] = None,
    backend: Annotated[
        BackendName, typer.Option(help="auto: CuPy when a CUDA GPU is present, else NumPy.")
    ] = BackendName.auto,
    max_memory: Annotated[
        str | None,
        typer.Option(help="Working-memory budget, e.g. 2GB (default: half the free GPU memory or RAM)."),
    ] = None,
    deterministic: Annotated[
        bool, typer.Option(help="Evaluate on the forecast itself (one scenario).")
    ] = False,
    keep_matrix: Annotated[
        bool, typer.Option(help="Also write the plan x scenario NPV matrix (npv_matrix.npy).")
    ] = False,
    rank_by: Annotated[
        RankBy, typer.Option(help="Rule for the best plans printed: mean, cvar5 or p5 NPV.")
    ] = RankBy.cvar5,
    max_breach_prob: Annotated[
        float | None,
        typer.Option(min=0.0, max=1.0, help="Only rank plans with at most this breach probability."),
    ] = None,
    top: Annotated[int, typer.Option(min=1, help="How many plans to print.")] = 5,
    executor: Annotated[
        ExecutorName,
        typer.Option(help="local: this process. ray: chunks as Ray tasks (pip install fleetopt[ray])."),
    ] = ExecutorName.local,
    ray_address: Annotated[
        str | None, typer.Option(help="Address of an existing Ray cluster (default: start a local one).")
    ] = None,
    resume: Annotated[
        Path | None,
        typer.Option(help="Finish an interrupted evaluation in this run folder (computes missing chunks)."),
    ] = None,
    workers: Annotated[
        int, typer.Option(min=1, help="NumPy worker processes on this machine (default 1: in this process).")
    ] = 1,
    threads: Annotated[
        int | None,
        typer.Option(min=1, help="NumPy threads in this process (default: one per usable core)."),
    ] = None,
    report: ReportFlag = False,
) -> None:
    """Evaluate plans against seeded scenarios: NPV distribution, breach and default risk, utilisation."""
    from fleetopt import api
    from fleetopt.cli.render import evaluation_table, progress_bar
    from fleetopt.evaluate import BackendError, PlanFileError
    from fleetopt.evaluate.backend import parse_memory
    from fleetopt.evaluate.jobs import RayUnavailable
    from fleetopt.evaluate.sources import model_file_of
    from fleetopt.runs.folder import RunDirError, default_run_dir

    try:
        if resume is not None:
            folder = resolve_run_or_exit(resume)
            job = api.resume_evaluation(folder)
        else:
            if plans is None:
                raise fail("give --plans (a run folder, run id or plan file), or --resume a run folder")
            if out is not None and out.exists() and (not out.is_dir() or any(out.iterdir())):
                raise fail(f"--out {out} already exists and is not empty: choose another folder")
            try:
                budget = parse_memory(max_memory) if max_memory is not None else None
            except ValueError as exc:
                raise fail(f"--max-memory {exc}") from None
            plans = resolve_run_or_exit(plans)
            loaded = load_or_exit(model if model is not None else model_file_of(plans))
            job = api.prepare_evaluation(
                plans, loaded, scenarios=scenarios, seed=seed, backend=backend.value, max_memory=budget,
                deterministic=deterministic, keep_matrix=keep_matrix, executor=executor.value,
                ray_address=ray_address,
                workers=workers, threads=threads,
            )  # fmt: skip
            folder = out if out is not None else default_run_dir(f"{loaded.model.name}-evaluate")
            job.start(folder)
    except (PlanFileError, BackendError, RayUnavailable) as exc:
        raise fail(str(exc)) from None
    loaded, source = job.loaded, job.source
    if source.model_hash and source.model_hash != loaded.content_hash:
        err_console.print(
            f"warning: the plans were made from another version of model {loaded.model.name!r} "
            f"(hash {source.model_hash}, now {loaded.content_hash})"
        )
    with interruptible(folder, "evaluate"), progress_bar(console, job.settings["n_scenarios"]) as advance:
        result = job.run(folder, progress=advance)
    console.print(
        f"{result.n_plans:,} plans x {result.n_scenarios:,} scenarios on {result.backend} ({result.device}) "
        f"in {result.seconds:.2f} s: {result.pair_quarters_per_second:,.3g} plan-scenario-quarters/s"
    )
    ranked = result.metrics
    if max_breach_prob is not None:
        ranked = ranked[ranked["breach_probability"] <= max_breach_prob]
    if ranked.empty:
        err_console.print(f"no plan has a breach probability at or below {max_breach_prob}")
    else:
        ranked = ranked.sort_values(RANK_COLUMNS[rank_by.value], ascending=False, kind="stable").head(top)
        console.print(evaluation_table(ranked, f"best plans by {rank_by.value} NPV"))
    try:
        path = api.write_evaluate_run(result, loaded, source, folder)
    except (RunDirError, OSError) as exc:
        raise fail(str(exc)) from None
    best = result.metrics.iloc[0]
    figures = {k: best[k] for k in ("npv_mean_usd", "npv_cvar5_usd", "breach_probability")}
    run_id = api.register_run("evaluate", loaded, path, {"n_plans": result.n_plans, **figures})
    console.print(f"wrote [bold]{path}[/bold] (metrics.csv, summary.json): run {run_id}")
    finish_report(path, report)


@app.command()
def sweep(
    model: ModelArg = None,
    candidates: Annotated[int, typer.Option(min=1, help="Most candidate plans to evaluate.")] = 20,
    scenarios: Annotated[
        int, typer.Option(min=1, help="Common scenarios every candidate is evaluated on.")
    ] = 1000,
    seed: Annotated[int, typer.Option(min=0, help="Scenario seed.")] = 0,
    out: Annotated[
        Path | None, typer.Option(help="Run folder. Default: runs/<timestamp>-<model>-sweep/.")
    ] = None,
    prefer: Annotated[
        RankBy, typer.Option(help="Pick the best plan by this NPV figure among those meeting the limits.")
    ] = RankBy.cvar5,
    max_breach_prob: Annotated[
        float | None,
        typer.Option(min=0.0, max=1.0, help="Only plans with at most this covenant-breach probability."),
    ] = None,
    max_default_prob: Annotated[
        float | None,
        typer.Option(min=0.0, max=1.0, help="Only plans with at most this liquidity-default probability."),
    ] = None,
    min_cvar: Annotated[
        float | None, typer.Option(help="Only plans whose CVaR5 NPV is at least this, USD.")
    ] = None,
    backend: Annotated[BackendName, typer.Option(help="Evaluation backend.")] = BackendName.auto,
    mip_gap: Annotated[
        float, typer.Option(min=0.0, max=0.999, help="MILP gap for each candidate solve.")
    ] = 0.005,
    time_limit: Annotated[
        float | None, typer.Option(min=0.001, help="Time limit per MILP solve, seconds.")
    ] = None,
    threads: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="Threads for the MILP solves (default: HiGHS decides) and the NumPy evaluation "
            "(default: one per usable core).",
        ),
    ] = None,
    resume: Annotated[
        Path | None,
        typer.Option(help="Finish an interrupted sweep in this run folder (its candidates are saved)."),
    ] = None,
    report: ReportFlag = False,
) -> None:
    """Generate candidate plans (forecast and stress optima, variations), evaluate them on common
    scenarios, and recommend one by a rule; prints the Pareto front."""
    from fleetopt import api
    from fleetopt.evaluate import BackendError
    from fleetopt.runs.folder import default_run_dir
    from fleetopt.sweep.candidates import Rule, RuleError

    if resume is not None:
        return _resume_sweep(resolve_run_or_exit(resume), report)
    if out is not None and out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise fail(f"--out {out} already exists and is not empty: choose another folder")
    loaded = load_or_exit(model)
    rule = Rule(prefer.value, max_breach_prob, max_default_prob, min_cvar)
    console.print(
        f"sweeping [bold]{loaded.model.name}[/bold]: {candidates} candidates x {scenarios:,} scenarios ..."
    )
    folder = out if out is not None else default_run_dir(f"{loaded.model.name}-sweep")
    try:
        with interruptible(folder, "sweep"):
            result = api.sweep(
                loaded, candidates=candidates, scenarios=scenarios, seed=seed, rule=rule,
                backend=backend.value, mip_gap=mip_gap, time_limit=time_limit, threads=threads, folder=folder,
            )  # fmt: skip
    except (RuleError, BackendError) as exc:
        if not (folder / "summary.json").exists():
            shutil.rmtree(folder, ignore_errors=True)  # nothing half-written
        raise fail(str(exc)) from None
    _sweep_done(result, folder, report)


def _resume_sweep(folder: Path, report: bool) -> None:
    from fleetopt import api
    from fleetopt.evaluate import PlanFileError
    from fleetopt.sweep.candidates import RuleError

    try:
        with interruptible(folder, "sweep"):
            result = api.resume_sweep(folder)
    except (PlanFileError, RuleError) as exc:
        raise fail(str(exc)) from None
    _sweep_done(result, folder, report)


def _sweep_done(result, folder: Path, report: bool) -> None:
    from fleetopt import api
    from fleetopt.cli.render import sweep_table

    console.print(sweep_table(result.metrics, "candidates (* Pareto front, > recommended)"))
    console.print(f"recommended: [bold]{result.recommended['plan']}[/bold]. {result.why()}", soft_wrap=True)
    path = api.write_sweep_run(result, folder)
    run_id = api.register_run("sweep", result.loaded, path, result.summary())
    console.print(
        f"wrote [bold]{path}[/bold] (plans.npz, candidates.csv, front.csv, summary.json): run {run_id}"
    )
    finish_report(path, report)
