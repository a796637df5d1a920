"""The `fleetopt` command line: a thin layer over the Python API.

Exit codes: 0 success, 1 unexpected internal error, 2 bad input, 3 infeasible model,
4 no feasible plan found within the time limit.
"""

from __future__ import annotations

import json
import sys
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
console = Console()
err_console = Console(stderr=True, highlight=False)

ModelArg = Annotated[
    str | None,
    typer.Argument(help="Model file, or a bundled model name (neocloud, tiny). Default: neocloud."),
]


class UserError(Exception):
    """Bad input found outside the model file (options, plan files, run ids): exit code 2."""


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
    console.print(f"wrote [bold]{path}[/bold] (summary.json, plan.csv, plan.npz, statements.csv, model.yaml)")


def main() -> None:
    """Entry point of the `fleetopt` script."""
    try:
        app()
    except KeyboardInterrupt:
        err_console.print("interrupted")
        sys.exit(130)
