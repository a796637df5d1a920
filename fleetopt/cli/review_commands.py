"""`fleetopt compare`, `fleetopt report` and `fleetopt runs`: reviewing and sharing runs."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from fleetopt.cli.common import (
    BackendName,
    Format,
    app,
    console,
    fail,
    load_or_exit,
    resolve_run_or_exit,
)


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
    from fleetopt.cli.render import comparison_tables
    from fleetopt.compare import CompareError, compare_plans, plans_from_refs
    from fleetopt.core.data import build_data
    from fleetopt.evaluate import BackendError
    from fleetopt.evaluate.sources import model_file_of
    from fleetopt.runs.files import write_text_atomic

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
    from fleetopt.cli.render import runs_table
    from fleetopt.runs.registry import Registry

    records = Registry().list(model=model, limit=limit)
    if not records:
        console.print("no runs recorded yet" + (f" for model {model!r}" if model else ""), markup=False)
        return
    console.print(runs_table(records))


@runs_app.command("show")
def runs_show(run_id: Annotated[int, typer.Argument(help="Run id (see `fleetopt runs`).")]) -> None:
    """Print one run: when, what command, which model, its key figures and where its folder is."""
    from fleetopt.cli.render import run_detail
    from fleetopt.runs.registry import Registry, RegistryError

    try:
        record = Registry().get(run_id)
    except RegistryError as exc:
        raise fail(str(exc)) from None
    console.print(run_detail(record))
