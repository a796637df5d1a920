"""`fleetopt validate`, `fleetopt schema` and `fleetopt solve`."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from fleetopt.cli.common import (
    EXIT_INFEASIBLE,
    EXIT_NO_PLAN,
    ModelArg,
    Objective,
    ReportFlag,
    app,
    console,
    err_console,
    fail,
    finish_report,
    load_or_exit,
)
from fleetopt.cli.render import model_summary_table


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
        from fleetopt.runs.files import write_text_atomic

        if out.is_dir():
            raise fail(f"--out {out} is a directory: give a file name such as fleetopt-schema.json")
        try:
            write_text_atomic(out, text + "\n")
        except OSError as exc:
            raise fail(f"cannot write {out}: {exc.strerror or exc}") from None
        console.print(f"wrote {out}", markup=False)


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
    from fleetopt.cli.render import solve_summary_tables
    from fleetopt.milp.diagnose import format_diagnosis
    from fleetopt.runs.folder import RunDirError

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
