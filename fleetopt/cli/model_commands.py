"""`fleetopt validate`, `fleetopt schema` and `fleetopt solve`."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from fleetopt import api
from fleetopt.cli.common import (
    MipGapOption,
    ModelArg,
    Objective,
    OutFolderOption,
    ReportFlag,
    ThreadsOption,
    TimeLimitOption,
    app,
    capped_threads,
    console,
    finish_report,
    register,
    registry_checked,
    write_output,
)
from fleetopt.cli.render import model_summary_table, solve_summary_tables
from fleetopt.errors import InputError
from fleetopt.runs.folder import RunFolder
from fleetopt.schema import PlanningModel
from fleetopt.schema.loading import load_model


@app.command()
def validate(model: ModelArg = None) -> None:
    """Check a model file and summarise what it describes (or list every problem found)."""
    loaded = load_model(model)
    console.print(model_summary_table(loaded))
    console.print(f"[green]ok[/green]: {loaded.source} is a valid model")


@app.command()
def schema(
    out: Annotated[Path | None, typer.Option(help="Write to this file instead of printing.")] = None,
) -> None:
    """Print the JSON Schema of the model-file format (for editors and validators)."""
    text = json.dumps(PlanningModel.model_json_schema(), indent=2) + "\n"
    if out is None:
        sys.stdout.write(text)
        return
    if out.is_dir():
        raise InputError(f"--out {out} is a directory: give a file name such as fleetopt-schema.json")
    write_output(out, text)


@app.command()
def solve(
    model: ModelArg = None,
    out: OutFolderOption = None,
    time_limit: TimeLimitOption = None,
    mip_gap: MipGapOption = 0.005,
    threads: ThreadsOption = None,
    objective: Annotated[
        Objective,
        typer.Option(help="npv: maximise equity NPV. cost: minimise the present cost of serving demand."),
    ] = Objective.npv,
    report: ReportFlag = False,
) -> None:
    """Solve the fleet MILP and write the plan, statements and summary to a run folder."""
    loaded = load_model(model)
    threads = capped_threads(threads)
    registry_checked()
    # claimed before the solve: a concurrent run can never take the folder a finished solve needs
    with RunFolder.claim(out, loaded.model.name).released_on_failure() as folder:
        console.print(f"solving [bold]{loaded.model.name}[/bold] ({objective.value}) ...")
        result = api.solve(
            loaded, objective=objective.value, time_limit=time_limit, mip_gap=mip_gap, threads=threads
        )
        for renderable in solve_summary_tables(result):
            console.print(renderable)
        path = api.write_solve_run(result, loaded, folder.path, register=False)  # recorded below
    run_id = register("solve", loaded, path, api.solve_summary(result, loaded))
    console.print(
        f"wrote [bold]{path}[/bold] (summary.json, plan.csv, plan.npz, statements.csv): run {run_id}"
    )
    finish_report(path, report)
