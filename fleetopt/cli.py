"""The `fleetopt` command line: a thin layer over the Python API.

Exit codes: 0 success, 1 unexpected internal error, 2 bad input, 3 infeasible model,
4 no feasible plan found within the time limit.
"""

from __future__ import annotations

import json
import shutil
import signal
import sys
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from fleetopt import __version__
from fleetopt.loading import LoadedModel, ModelError, load_model
from fleetopt.summary import model_summary_table

EXIT_BAD_INPUT = 2
EXIT_INFEASIBLE = 3
EXIT_NO_PLAN = 4

app = typer.Typer(
    name="fleetopt",
    help="Plan a GPU fleet (buy, redeploy, retire, power, debt) and test plans against uncertain futures.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
# piped output (CI logs, files) gets wide enough tables instead of rich's 80-column default
console = Console(width=None if sys.stdout.isatty() else 120)
err_console = Console(stderr=True, highlight=False, width=None if sys.stderr.isatty() else 120)

ModelArg = Annotated[
    str | None,
    typer.Argument(help="Model file, or a bundled model name (neocloud, tiny). Default: neocloud."),
]


ReportFlag = Annotated[bool, typer.Option("--report", help="Also write report.html in the run folder.")]


def fail(message: str, code: int = EXIT_BAD_INPUT) -> typer.Exit:
    err_console.print(f"error: {message}", markup=False, soft_wrap=True)
    return typer.Exit(code)


def load_or_exit(model: str | None) -> LoadedModel:
    try:
        return load_model(model)
    except ModelError as exc:
        for issue in exc.issues:
            err_console.print(f"error: {issue.format(exc.source)}", markup=False, soft_wrap=True)
        raise typer.Exit(EXIT_BAD_INPUT) from None


def _version(value: bool) -> None:
    if value:
        console.print(f"fleetopt {__version__}")
        raise typer.Exit()


@app.callback()
def main_callback(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    """fleetopt: GPU fleet planning."""


@app.command()
def validate(model: ModelArg = None) -> None:
    """Check a model file and summarise what it describes (or list every problem found)."""
    loaded = load_or_exit(model)
    console.print(model_summary_table(loaded))
    console.print(f"[green]ok[/green]: {loaded.source} is a valid model")


@app.command()
def schema(
    out: Annotated[Path | None, typer.Option(help="Write to this file instead of printing.")] = None,
) -> None:
    """Print the JSON Schema of the model-file format (for editors and validators)."""
    from fleetopt.schema import PlanningModel

    text = json.dumps(PlanningModel.model_json_schema(), indent=2)
    if out is None:
        sys.stdout.write(text + "\n")
    else:
        from fleetopt.outputs import write_text_atomic

        if out.is_dir():
            raise fail(f"--out {out} is a directory: give a file name such as fleetopt-schema.json")
        try:
            write_text_atomic(out, text + "\n")
        except OSError as exc:
            raise fail(f"cannot write {out}: {exc.strerror or exc}") from None
        console.print(f"wrote {out}", markup=False)


class Objective(StrEnum):
    npv = "npv"
    cost = "cost"


@app.command()
def solve(
    model: ModelArg = None,
    out: Annotated[
        Path | None, typer.Option(help="Run folder to write. Default: runs/<timestamp>-<model name>/.")
    ] = None,
    time_limit: Annotated[
        float | None,
        typer.Option(min=0.001, help="Stop after this many seconds and keep the best plan found."),
    ] = None,
    mip_gap: Annotated[
        float, typer.Option(min=0.0, max=0.999, help="Relative optimality gap to stop at.")
    ] = 0.005,
    threads: Annotated[
        int | None, typer.Option(min=1, help="Solver threads (default: HiGHS decides).")
    ] = None,
    objective: Annotated[
        Objective,
        typer.Option(help="npv: maximise equity NPV. cost: minimise the present cost of serving demand."),
    ] = Objective.npv,
    report: ReportFlag = False,
) -> None:
    """Solve the fleet MILP and write the plan, statements and summary to a run folder."""
    from fleetopt import api
    from fleetopt.milp.diagnose import format_diagnosis
    from fleetopt.rundir import RunDirError
    from fleetopt.summary import solve_summary_tables

    loaded = load_or_exit(model)
    if out is not None and out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise fail(f"--out {out} already exists and is not empty: choose another folder")
    console.print(f"solving [bold]{loaded.model.name}[/bold] ({objective.value}) ...")
    try:
        result = api.solve(
            loaded, objective=objective.value, time_limit=time_limit, mip_gap=mip_gap, threads=threads
        )
    except api.InfeasibleModel as exc:
        err_console.print("infeasible: no plan meets every constraint. Constraint groups in conflict:")
        for line in format_diagnosis(exc.diagnosis):
            err_console.print(f"  {line}", markup=False, soft_wrap=True)
        raise typer.Exit(EXIT_INFEASIBLE) from None
    except api.NoPlanFound as exc:
        raise fail(f"no plan found: {exc}; raise --time-limit", EXIT_NO_PLAN) from None
    for renderable in solve_summary_tables(result):
        console.print(renderable)
    try:
        path = api.write_solve_run(result, loaded, out)
    except (RunDirError, OSError) as exc:
        raise fail(str(exc)) from None
    run_id = api.register_run("solve", loaded, path, api.solve_summary(result, loaded))
    console.print(
        f"wrote [bold]{path}[/bold] (summary.json, plan.csv, plan.npz, statements.csv): run {run_id}"
    )
    finish_report(path, report)


class BackendName(StrEnum):
    auto = "auto"
    numpy = "numpy"
    cupy = "cupy"


class RankBy(StrEnum):
    mean = "mean"
    cvar5 = "cvar5"
    p5 = "p5"


RANK_COLUMNS = {"mean": "npv_mean_usd", "cvar5": "npv_cvar5_usd", "p5": "npv_p5_usd"}


class ExecutorName(StrEnum):
    local = "local"
    ray = "ray"


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
    report: ReportFlag = False,
) -> None:
    """Evaluate plans against seeded scenarios: NPV distribution, breach and default risk, utilisation."""
    from fleetopt import api
    from fleetopt.evaluate import BackendError, PlanFileError
    from fleetopt.evaluate.backend import parse_memory
    from fleetopt.evaluate.jobs import RayUnavailable
    from fleetopt.evaluate.sources import model_file_of
    from fleetopt.rundir import RunDirError, default_run_dir
    from fleetopt.summary import evaluation_table, progress_bar

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
                workers=workers,
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


def _raise_interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


def resolve_run_or_exit(ref: Path) -> Path:
    """A run folder or plan file from a path or a registry run id."""
    from fleetopt import api
    from fleetopt.registry import RegistryError

    try:
        return api.resolve_run(ref)
    except RegistryError as exc:
        raise fail(str(exc)) from None


def finish_report(path: Path, wanted: bool) -> None:
    if wanted:
        from fleetopt.report import write_report

        console.print(f"wrote [bold]{write_report(path)}[/bold]")


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
    threads: Annotated[int | None, typer.Option(min=1, help="Solver threads.")] = None,
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
    from fleetopt.rundir import default_run_dir
    from fleetopt.sweep import Rule, RuleError

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
    from fleetopt.sweep import RuleError

    try:
        with interruptible(folder, "sweep"):
            result = api.resume_sweep(folder)
    except (PlanFileError, RuleError) as exc:
        raise fail(str(exc)) from None
    _sweep_done(result, folder, report)


def _sweep_done(result, folder: Path, report: bool) -> None:
    from fleetopt import api
    from fleetopt.summary import sweep_table

    console.print(sweep_table(result.metrics, "candidates (* Pareto front, > recommended)"))
    console.print(f"recommended: [bold]{result.recommended['plan']}[/bold]. {result.why()}", soft_wrap=True)
    path = api.write_sweep_run(result, folder)
    run_id = api.register_run("sweep", result.loaded, path, result.summary())
    console.print(
        f"wrote [bold]{path}[/bold] (plans.npz, candidates.csv, front.csv, summary.json): run {run_id}"
    )
    finish_report(path, report)


@contextmanager
def interruptible(folder: Path, command: str):
    """SIGTERM behaves like Ctrl-C; either stops the run with a message saying how to resume it."""
    from fleetopt.api import CHUNK_FOLDER
    from fleetopt.evaluate.jobs import ChunkStore

    previous = signal.signal(signal.SIGTERM, _raise_interrupt)
    try:
        yield
    except KeyboardInterrupt:
        stored = ChunkStore(folder / CHUNK_FOLDER).count() if (folder / CHUNK_FOLDER).exists() else 0
        if (folder / "job.json").exists():
            err_console.print(
                f"interrupted: {stored} evaluation chunks are saved in {folder}; "
                f"finish with: fleetopt {command} --resume {folder}",
                markup=False,
                soft_wrap=True,
            )
        else:
            err_console.print("interrupted before anything was saved: run it again", markup=False)
        raise typer.Exit(130) from None
    finally:
        signal.signal(signal.SIGTERM, previous)


class Format(StrEnum):
    table = "table"
    csv = "csv"
    json = "json"
    markdown = "markdown"


@app.command()
def compare(
    runs: Annotated[
        list[Path],
        typer.Argument(
            help="Run folders, run ids or plan files (a sweep gives its pick and the forecast optimum)."
        ),
    ],
    model: Annotated[
        Path | None, typer.Option(help="Model file (default: the first run folder's model.yaml).")
    ] = None,
    scenarios: Annotated[int, typer.Option(min=1, help="Common scenarios.")] = 1000,
    seed: Annotated[int, typer.Option(min=0, help="Scenario seed.")] = 0,
    format: Annotated[
        Format, typer.Option("--format", help="table (terminal), csv, json or markdown.")
    ] = Format.table,
    out: Annotated[
        Path | None, typer.Option(help="Write the csv/json/markdown here instead of printing it.")
    ] = None,
    backend: Annotated[BackendName, typer.Option(help="Evaluation backend.")] = BackendName.auto,
) -> None:
    """Compare plans side by side on common scenarios: NPV, risk, debt, power, fleet and purchases."""
    from fleetopt.compare import CompareError, compare_plans, plans_from_refs
    from fleetopt.data import build_data
    from fleetopt.evaluate import BackendError
    from fleetopt.evaluate.sources import model_file_of
    from fleetopt.outputs import write_text_atomic
    from fleetopt.summary import comparison_tables

    refs = [resolve_run_or_exit(r) for r in runs]
    for ref in refs:
        if not ref.exists():
            raise fail(f"{ref}: no such run folder or plan file")
    model_path = model or next((m for m in map(model_file_of, refs) if m is not None), None)
    loaded = load_or_exit(str(model_path) if model_path else None)
    data = build_data(loaded)
    try:
        plans, labels = plans_from_refs(refs, data)
        result = compare_plans(data, plans, labels, scenarios, seed, backend.value)
    except (CompareError, BackendError) as exc:
        raise fail(str(exc)) from None
    if format == Format.table:
        for table in comparison_tables(result):
            console.print(table)
        return
    text = {"csv": result.to_csv, "json": result.to_json, "markdown": result.to_markdown}[format.value]()
    if out is None:
        sys.stdout.write(text)
    else:
        try:
            write_text_atomic(out, text)
        except OSError as exc:
            raise fail(f"cannot write {out}: {exc.strerror or exc}") from None
        console.print(f"wrote {out}", markup=False)


@app.command("report")
def report_command(
    run: Annotated[Path, typer.Argument(help="A run folder or run id.")],
    out: Annotated[
        Path | None, typer.Option(help="HTML file to write (default: report.html in the run folder).")
    ] = None,
) -> None:
    """Write a self-contained HTML report of a run (charts inline; works offline)."""
    from fleetopt import api
    from fleetopt.evaluate import PlanFileError
    from fleetopt.report import ReportError

    folder = resolve_run_or_exit(run)
    try:
        path = api.report(folder, out)
    except (ReportError, PlanFileError) as exc:
        raise fail(str(exc)) from None
    except OSError as exc:
        raise fail(f"cannot write the report: {exc.strerror or exc}") from None
    console.print(f"wrote [bold]{path}[/bold]")


runs_app = typer.Typer(help="The run registry: every solve, evaluate and sweep.", no_args_is_help=False)
app.add_typer(runs_app, name="runs")


@runs_app.callback(invoke_without_command=True)
def runs_list(
    ctx: typer.Context,
    model: Annotated[str | None, typer.Option(help="Only runs of this model (by name).")] = None,
    limit: Annotated[int, typer.Option(min=1, help="How many runs to show.")] = 30,
) -> None:
    """List runs, newest first."""
    if ctx.invoked_subcommand is not None:
        return
    from fleetopt.registry import Registry
    from fleetopt.summary import runs_table

    records = Registry().list(model=model, limit=limit)
    if not records:
        console.print("no runs recorded yet" + (f" for model {model!r}" if model else ""), markup=False)
        return
    console.print(runs_table(records))


@runs_app.command("show")
def runs_show(run_id: Annotated[int, typer.Argument(help="Run id (see `fleetopt runs`).")]) -> None:
    """Print one run: when, what command, which model, its key figures and where its folder is."""
    from fleetopt.registry import Registry, RegistryError
    from fleetopt.summary import run_detail

    try:
        record = Registry().get(run_id)
    except RegistryError as exc:
        raise fail(str(exc)) from None
    console.print(run_detail(record))


def main() -> None:
    """Entry point of the `fleetopt` script."""
    try:
        app()
    except KeyboardInterrupt:
        err_console.print("interrupted")
        sys.exit(130)


if __name__ == "__main__":
    main()
