"""`fleetopt compare`, `fleetopt report` and `fleetopt runs`: reviewing and sharing runs."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path
from typing import Annotated

import typer

from fleetopt import api
from fleetopt.cli.common import app
from fleetopt.cli.consoles import console, err_console, marked
from fleetopt.cli.error_report import error_lines
from fleetopt.cli.option_values import checked, model_given, path_given, whole_number
from fleetopt.cli.options import BackendName, BackendOption, Format, RunKind, out_file
from fleetopt.cli.render.compare import comparison_tables, verdict_lines
from fleetopt.cli.render.runs import run_detail, runs_table
from fleetopt.cli.render.tables import plain_text
from fleetopt.cli.set_option import parsed_changes
from fleetopt.cli.written import refuse_out_file, write_output
from fleetopt.core.units import format_bytes
from fleetopt.errors import FleetoptError, InputError, user_path
from fleetopt.runs import limits
from fleetopt.runs.folder import RunFolder
from fleetopt.runs.listing import abandoned_partials
from fleetopt.runs.output_files import OUT_FLAG
from fleetopt.runs.resume import resume_command

# the options of `compare` of its own (those it shares with other commands are in cli/options.py)
ComparedRunsArg = Annotated[
    list[str],  # made Paths by the callback: typer reads "" as Path("."), the current folder
    typer.Argument(
        callback=path_given("run folder, run id or plan file"),
        help="Run folders, run ids or plan files (a sweep gives its forecast optimum, its pick and, "
        "where it names one, its plan of highest mean NPV no worse than the forecast optimum; a "
        "stochastic solve its forecast optimum and its stochastic plan)."
    ),
]
ComparisonModelOption = Annotated[
    str | None,
    typer.Option(
        callback=model_given,
        help="Model file or bundled model name every plan is evaluated under, named in the output "
        "(default: the model.yaml of the first run folder, or of the run folder of the first run's plan "
        "file given, so the order of the runs matters; plans made from "
        "another version of it are compared with a warning naming their run and the blocks that differ)."
    ),
]
CommonScenariosOption = Annotated[
    int | None,
    typer.Option(
        "--scenarios",
        parser=whole_number,
        callback=checked(limits.whole, 1),
        help="Common futures (default: those of the first sweep, evaluation or stochastic solve "
        f"given, else {limits.DEFAULT_SCENARIOS:,}).",
    ),
]
CommonSeedOption = Annotated[
    int | None,
    typer.Option(
        "--seed",
        parser=whole_number,
        callback=checked(limits.seed),
        help="Scenario seed (default: that of the first sweep, evaluation or stochastic solve given, "
        "else 0).",
    ),
]
ComparisonFormatOption = Annotated[
    Format | None,
    typer.Option(
        "--format",
        help="table (terminal), csv, json, markdown or html (a self-contained page with charts; default: "
        "from --out's suffix, .csv, .json, .md or .html; .txt or none: table; another is refused).",
    ),
]
ComparisonOutOption = Annotated[
    str | None,  # made a Path by the callback: typer reads "" as Path(".")
    typer.Option(
        callback=out_file,
        help="Write the comparison here (the tables as plain text, or the --format) instead.",
    ),
]
LabelOption = Annotated[
    list[str] | None,
    typer.Option(
        "--label",
        help="A name for each plan compared, in order, the option once per plan (a sweep's folder "
        "gives two, or three where it names its plan of highest mean NPV no worse than the forecast "
        "optimum; default: each run's name and its plan's label; with --what-if, the plan's and the "
        "what-if's).",
    ),
]
WhatIfOption = Annotated[
    list[str] | None,
    typer.Option(
        "--what-if",
        metavar="PATH=VALUE",
        help="Compare one plan with itself run under the model with this change (as --set takes it; "
        "repeat it for several, made in order), on the same scenarios: each difference is what the "
        "change does to the plan, with its paired error. Example: --what-if "
        "'risk.delivery_slip={probability: 1, min_quarters: 2, max_quarters: 2}'.",
    ),
]


@app.command()
def compare(
    runs: ComparedRunsArg,
    model: ComparisonModelOption = None,
    scenarios: CommonScenariosOption = None,
    seed: CommonSeedOption = None,
    format: ComparisonFormatOption = None,
    out: ComparisonOutOption = None,
    backend: BackendOption = BackendName.auto,
    label: LabelOption = None,
    what_if: WhatIfOption = None,
) -> None:
    """Compare plans side by side on common scenarios: NPV, risk, debt, power, fleet and purchases.
    Without --scenarios or --seed, those of the first sweep, evaluation or stochastic solve given are used, so
    its own figures come back.

    A stochastic solve's are its out-of-sample scenarios; a warning names any run whose own figures
    are of other scenarios than those used."""
    format = _comparison_format(format, out)  # --out refused before the work
    named = label or None  # typer gives [] where the option is not given
    changes = parsed_changes(what_if, "--what-if") if what_if else None
    result = api.compare(runs, model, scenarios=scenarios, seed=seed, backend=backend.value, labels=named,
                         what_if=changes)  # fmt: skip
    _show_comparison(result, format, out)


# the format an --out file's suffix asks for, when --format is not given
SUFFIX_FORMATS = {
    ".csv": Format.csv, ".json": Format.json, ".md": Format.markdown, ".markdown": Format.markdown,
    ".html": Format.html, ".htm": Format.html,
}  # fmt: skip
TABLE_SUFFIXES = (".txt", "")  # the plain-text tables: .txt, or a name without a suffix


def _comparison_format(asked: Format | None, out: Path | None) -> Format:
    """The format of a comparison: --format (``asked``), else the one --out's suffix implies, else
    the tables; --out refused where it cannot take it (before the work, as report refuses it)."""
    implied = SUFFIX_FORMATS.get(out.suffix.lower()) if out is not None else None
    if asked is not None and implied is not None and asked != implied:
        raise InputError(f"--format {asked.value} cannot apply with {OUT_FLAG} {out}, a .{implied.value} "
                         f"name: drop --format, or name the file for {asked.value}")  # fmt: skip
    format = asked or implied or Format.table
    if out is not None:
        _refuse_comparison_out(out, format, by_suffix=asked is None and implied is None)
    return format


def _refuse_comparison_out(out: Path, format: Format, by_suffix: bool) -> None:
    """--out refused where a comparison cannot be written in ``format``: a folder, a run's own file
    or a model, or (``by_suffix``: no --format, nor a suffix that implies one) a name whose suffix
    is not the plain-text tables'."""
    suffix = {"table": "txt", "markdown": "md"}.get(format.value, format.value)
    refuse_out_file(out, "comparison", out / f"comparison.{suffix}")
    if by_suffix and out.suffix.lower() not in TABLE_SUFFIXES:
        # a spreadsheet's name (c.xlsx) got the terminal's table, box drawing and all
        known = ", ".join([*SUFFIX_FORMATS, ".txt"])
        raise InputError(f"{OUT_FLAG} {out}: a comparison is written as {known} (the plain-text tables), "
                         "by its name's suffix; name the file so, or give --format")  # fmt: skip


def _show_comparison(result, format: Format, out: Path | None) -> None:
    """A comparison printed as the terminal's tables, or its text in ``format`` written to stdout or
    to ``out``."""
    if format == Format.table and out is None:
        for table in comparison_tables(result):
            console.print(table)
        return
    if format == Format.table:
        text = plain_text(comparison_tables(result))
    else:
        text = {"csv": result.to_csv, "json": result.to_json, "markdown": result.to_markdown,
                "html": lambda: api.comparison_html(result)}[format.value]()  # fmt: skip
    if out is None:
        sys.stdout.write(text)
        return
    write_output(out, text, OUT_FLAG)
    # the answer where the command was typed: `--out c.html` said only "wrote c.html"
    for line in verdict_lines(result):
        console.print(line)


@app.command("report")
def report_command(
    run: Annotated[
        str,  # made a Path by the callback: typer reads "" as Path("."), the current folder
        typer.Argument(callback=path_given("run folder or run id"), help="A run folder or run id."),
    ],
    out: Annotated[
        str | None,
        typer.Option(callback=out_file, help="File to write: HTML, or Markdown where its name ends in .md "
                     "(default: report.html in the run folder)."),
    ] = None,
) -> None:
    """Write a self-contained HTML report of a run (charts inline; works offline), or its words and
    tables as Markdown (--out report.md)."""
    path = api.report(run, out)  # its refusals of --out come before the report is built
    console.print(marked("wrote ", (str(path), "bold")), soft_wrap=True)


runs_app = typer.Typer(help="The run registry: every solve, evaluate and sweep.", no_args_is_help=False)
app.add_typer(runs_app, name="runs")


@runs_app.callback(invoke_without_command=True)
def runs_list(
    ctx: typer.Context,
    model: Annotated[
        str | None,
        typer.Option(callback=checked(limits.model_name), help="Only runs of this model (by name)."),
    ] = None,
    kind: Annotated[RunKind | None, typer.Option(help="Only runs of this kind.")] = None,
    limit: Annotated[
        int,
        typer.Option(parser=whole_number, callback=checked(limits.whole, 1), help="How many runs to show."),
    ] = 30,
) -> None:
    """List runs, newest first; then the evaluations and sweeps in the runs folder that have not
    finished (the registry records a run when it finishes), with how to finish each."""
    if ctx.invoked_subcommand is not None:
        return
    kind_name = kind.value if kind else None
    _print_recorded(model, kind, limit)
    # a damaged job's kind is unknown: listed whatever --kind asks for
    unfinished = [job for job in api.unfinished_runs(model) if kind is None or job[1] in (kind_name, None)]
    _print_unfinished(unfinished)
    _print_unrecorded(api.unrecorded_runs(model, kind_name))
    _print_abandoned(abandoned_partials())


def _print_recorded(model: str | None, kind: RunKind | None, limit: int) -> None:
    """The registry's runs of ``model`` and ``kind`` (None: any), the newest ``limit``, and how many
    older ones are not shown."""
    recorded = api.runs(model=model, limit=None, kind=kind.value if kind else None)
    records = recorded[:limit]
    if not records:
        what = f"{kind.value} runs" if kind else "runs"
        # of a model where others have runs: the API's warning names them
        console.print(f"no {what} recorded yet" + (f" for model {model!r}" if model else ""), highlight=False)
    else:
        console.print(runs_table(records), crop=False)  # a folder longer than the width: whole
    if len(recorded) > limit:  # not shown: said, so a list is never read as every run
        older = len(recorded) - limit
        console.print(f"{older:,} older {'run' if older == 1 else 'runs'} not shown: --limit {len(recorded)} "
                      "shows every one", highlight=False)  # fmt: skip


def _print_unfinished(unfinished: list[tuple[Path, str | None, str | None]]) -> None:
    """The jobs in the runs folder that have not finished, each with its state (:func:`job_state`)."""
    if unfinished:
        console.print("not finished, so not recorded yet:")
    for folder, job_kind, pid in unfinished:
        console.print(f"  {folder} ({job_kind or 'kind unknown'}): {job_state(folder, job_kind, pid)}",
                      soft_wrap=True, highlight=False)  # fmt: skip
        if job_kind and not pid:
            console.print(f"    {saved_on_disk(folder)}", soft_wrap=True, highlight=False)


def saved_on_disk(folder: Path) -> str:
    """What an interrupted job saved and the disk its folder takes, to resume it or delete it:
    "saved: 3 evaluation chunks, ... (37.5%); 13.2 MB on disk, 13.1 MB of it the rows of chunks
    stopped part-way; or delete it: rm -r FOLDER"."""
    try:
        saved = api.saved_work(folder)
    except FleetoptError as exc:  # a damaged candidates list: its resume names it
        saved = f"cannot be read ({exc})"
    total, rows = api.saved_bytes(folder)
    kept = f", {format_bytes(rows)} of it the rows of chunks stopped part-way" if rows else ""
    return (f"saved: {saved}; {format_bytes(total)} on disk{kept}; or delete it: "
            f"{shlex.join(['rm', '-r', str(folder)])}")  # fmt: skip


def _print_unrecorded(unrecorded: list[Path]) -> None:
    """The finished runs the registry lacks, each with the command that records it."""
    if unrecorded:  # its record failed (a held or full registry) or was killed: finished, in no list before
        console.print("finished but not recorded (its record failed, or it was stopped while being "
                      "recorded):")
    for folder in unrecorded:
        console.print(f"  {folder}: {shlex.join(['fleetopt', 'runs', 'add', str(folder)])}",
                      soft_wrap=True, highlight=False)  # fmt: skip


def _print_abandoned(abandoned: list[Path]) -> None:
    """The hidden folders of runs killed while their folders were written (never removed by
    fleetopt), each with the command that removes it."""
    if abandoned:
        console.print("left by runs killed while their folders were being written (nothing in them "
                      "finished; an hour untouched):")
    for folder in abandoned:
        console.print(f"  {folder}: {shlex.join(['rm', '-r', str(folder)])}", soft_wrap=True, highlight=False)


def job_state(folder: Path, kind: str | None, pid: str | None) -> str:
    """An unfinished job's state in `fleetopt runs`: running, interrupted (how to finish it, or why this
    code cannot and what to do instead), or damaged."""
    if pid:
        return f"running (pid {pid})"
    if kind is None:
        return (f"damaged, cannot be resumed: {RunFolder(folder).job_damage()}; restore its "
                f"{RunFolder.JOB} (from a copy of the folder), or delete the folder")  # fmt: skip
    cannot = RunFolder(folder).job_version_problem()
    if cannot is not None:  # its resume would be refused: why, and what to do instead
        return f"interrupted, cannot be resumed: {cannot}"
    looser = RunFolder(folder).job().get(RunFolder.RULE_NOT_MET) if kind == "sweep" else None
    if isinstance(looser, str):
        return f"stopped: no candidate met its rule (its candidates are evaluated); finish it with {looser}"
    return f"interrupted: {resume_command(kind, folder)}"


@runs_app.command("show")
def runs_show(
    run: Annotated[
        str,  # made a Path by the callback, "" refused by name: the API's message named its own argument
        typer.Argument(
            callback=path_given("run id or run folder"),
            help="Run id (see `fleetopt runs`) or run folder (its latest run).",
        ),
    ],
) -> None:
    """Print one run: when, what command, which model, its key figures and where its folder is."""
    try:
        record = api.run(run)
    except FleetoptError as exc:  # an interrupted job's folder: what it saved, to resume or delete it
        job = RunFolder(user_path(run))
        if not job.interrupted_kind() or job.running_pid():
            raise
        said = exc.message_parts() if isinstance(exc, InputError) else (str(exc),)  # its options typed
        raise InputError.naming(*said, f"; {saved_on_disk(job.path)}") from None
    console.print(run_detail(record))


@runs_app.command("forget")
def runs_forget(
    runs: Annotated[
        list[str] | None,  # made Paths by the callback, "" refused by name (the API's words named `runs`)
        typer.Argument(
            callback=path_given("run id or run folder"),
            help="Run ids or run folders; each also forgets the earlier runs of its folder.",
        ),
    ] = None,
    missing: Annotated[
        bool, typer.Option("--missing", help="Also every run whose folder is gone or holds a later run.")
    ] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Say what would be forgotten; forget nothing.")
    ] = False,
) -> None:
    """Remove runs from the registry; their folders are left as they are (`fleetopt runs add FOLDER`
    records one again, under a new id)."""
    if not runs and not missing:
        raise InputError("give the runs to forget (ids or folders), or --missing for those whose folders are "
                         "gone")  # fmt: skip
    gone = api.forget_runs(runs or [], missing=missing, dry_run=dry_run)
    if not gone:
        console.print("no run to forget: every recorded run's folder is there")
        return
    verb = "would forget" if dry_run else "forgot"
    for record in gone:
        state = "folder kept" if record.exists else "folder missing" if record.held_by is None else (
            f"its folder holds run {record.held_by}"
        )
        console.print(f"{verb} run {record.id} ({record.kind}, {record.model_name}; {state}: {record.path})",
                      soft_wrap=True, highlight=False)  # fmt: skip


@runs_app.command("add")
def runs_add(
    folders: Annotated[
        list[str],  # made Paths by the callback: typer reads "" as Path("."), the current folder
        typer.Argument(
            callback=path_given("run folder"),
            help="Finished run folders the registry lacks (e.g. not recorded for a lock, or copied from "
            "another runs folder): one or more.",
        ),
    ],
) -> None:
    """Record finished run folders that are not in the registry: each one's kind, model and key
    figures come from its summary.json, checked against the folder (the files its kind writes,
    figures that are numbers, a solve's NPV against its plan, a job.json's scenarios and seed) and
    its model.yaml. A folder refused is named with why; the others are recorded all the same (exit
    code 2 if any was refused)."""
    refused = None
    for folder in folders:
        try:
            run_id = api.record_run(folder)
        except FleetoptError as exc:
            lines = error_lines(exc)
            if len(folders) > 1 and str(folder) not in lines[0]:  # which folder, among several
                lines[0] = lines[0].replace("error: ", f"error: {folder}: ", 1)
            for line in lines:
                err_console.print(line, soft_wrap=True)
            refused = exc
            continue
        shown = marked(f"recorded {folder} as run ", (str(run_id), "bold"), f" (fleetopt runs show {run_id})")
        console.print(shown, soft_wrap=True)
    if refused is not None:
        raise typer.Exit(refused.exit_code)
