"""The `fleetopt` command line: a thin layer over the Python API.

Exit codes: 0 success, 1 unexpected internal error, 2 bad input, 3 infeasible model.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from fleetopt import __version__
from fleetopt.loading import LoadedModel, ModelError, load_model
from fleetopt.summary import model_summary_table

EXIT_BAD_INPUT = 2
EXIT_INFEASIBLE = 3

app = typer.Typer(
    name="fleetopt",
    help="Plan a GPU fleet: buy, redeploy, retire, build power and draw debt; test plans against uncertain futures.",
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

        write_text_atomic(out, text + "\n")
        console.print(f"wrote {out}")


def main() -> None:
    """Entry point of the `fleetopt` script."""
    try:
        app()
    except KeyboardInterrupt:
        err_console.print("interrupted")
        sys.exit(130)
