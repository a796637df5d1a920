"""Shared pieces of the command line: the app, consoles, exit codes, option types, helpers."""

from __future__ import annotations

import signal
import sys
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from fleetopt import __version__
from fleetopt.schema.loading import LoadedModel, ModelError, load_model

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
    typer.Argument(help="Model file, or a bundled model name (neocloud, tiny, lab). Default: neocloud."),
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


class Objective(StrEnum):
    npv = "npv"
    cost = "cost"


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


def _raise_interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


def resolve_run_or_exit(ref: Path) -> Path:
    """A run folder or plan file from a path or a registry run id."""
    from fleetopt import api
    from fleetopt.runs.registry import RegistryError

    try:
        return api.resolve_run(ref)
    except RegistryError as exc:
        raise fail(str(exc)) from None


def finish_report(path: Path, wanted: bool) -> None:
    if wanted:
        from fleetopt.report import write_report

        console.print(f"wrote [bold]{write_report(path)}[/bold]")


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
