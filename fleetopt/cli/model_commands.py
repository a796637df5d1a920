"""`fleetopt validate`, `fleetopt schema` and `fleetopt solve`."""

from __future__ import annotations

import json
import os
import shlex
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from fleetopt import api
from fleetopt.cli.common import app
from fleetopt.cli.consoles import console, err_console, marked
from fleetopt.cli.given_options import (
    capped_threads,
    refuse_unless,
    refuse_without_stochastic,
    stochastic_gap,
)
from fleetopt.cli.option_values import checked, path_given, whole_number
from fleetopt.cli.options import (
    ChangesOption,
    MipGapOption,
    ModelArg,
    Objective,
    OutFolderOption,
    ReportFlag,
    SharePurchasesFlag,
    ThreadsOption,
    TimeLimitOption,
    out_file,
)
from fleetopt.cli.render.model import model_line, model_summary_table
from fleetopt.cli.render.progress import solve_lines
from fleetopt.cli.render.solve import note_columns, purchases_table, solve_summary_tables, unread_rows
from fleetopt.cli.render.stochastic import stochastic_tables
from fleetopt.cli.set_option import load_changed, say_model_changes
from fleetopt.cli.written import (
    command_line,
    finish_report,
    refuse_out_file,
    registry_checked,
    say_written,
    write_output,
)
from fleetopt.core.economics.grade_limit import signed_book_beyond_grade_limit
from fleetopt.core.economics.operating import opening_fleet_value
from fleetopt.core.tail import TAIL
from fleetopt.core.units import counted, format_count
from fleetopt.errors import InputError, warn
from fleetopt.milp.highs import DEFAULT_MIP_GAP, STOCHASTIC_MIP_GAP
from fleetopt.runs import limits
from fleetopt.runs.files import write_bytes_atomic, write_text_atomic
from fleetopt.runs.folder import RunFolder
from fleetopt.runs.kinds import run_name
from fleetopt.runs.limits import MAX_STOCHASTIC_SCENARIOS, MAX_TAIL
from fleetopt.runs.output_files import OUT_FLAG
from fleetopt.runs.run_files import RunDirError
from fleetopt.stochastic.gap import MAX_GAP_SCENARIOS, check_gap_scenarios
from fleetopt.stochastic.replications import MAX_REPLICATIONS
from fleetopt.stochastic.settings import FIRST_STAGE_QUARTERS


@app.command()
def validate(
    model: ModelArg = None,
    field_changes: ChangesOption = None,
    purchases: Annotated[
        str | None,  # made a Path by the callback: typer reads "" as Path("."), the current folder
        typer.Option(
            callback=path_given("purchases file", check=limits.path),
            help="Also check a purchases file (as `solve --purchases` reads it: columns quarter, sku, "
            "site, gpus) against the model, without solving: its SKUs, sites, quarters, whole blocks and "
            "the supplier's allocation.",
        ),
    ] = None,
) -> None:
    """Check a model file and summarise what it describes (or list every problem found)."""
    loaded = load_changed(model, field_changes)
    if purchases is None:
        console.print(model_summary_table(loaded))
        _warn_if_no_plan_keeps_the_grade_limit(loaded, api.load(loaded)[1])
    else:
        _validate_purchases(loaded, purchases)
    console.print(marked(("ok", "green"), f": {loaded.source} is a valid model"), soft_wrap=True)


def _validate_purchases(loaded: api.LoadedModel, purchases: Path) -> None:
    """`validate --purchases`: the file read against the model, its error before anything is printed
    (the model's summary would bury it); then the model in a line (an orders file is checked at each
    edit), and the purchases by generation and year."""
    data = api.load(loaded)[1]
    fixed = api.read_purchases(purchases, data)
    console.print(model_line(loaded), soft_wrap=True, highlight=False)
    _warn_if_no_plan_keeps_the_grade_limit(loaded, data)
    console.print(purchases_table(data, fixed.blocks, f"GPUs {purchases} buys by generation and year"))
    read = f"{counted(fixed.rows, 'row')}, {format_count(fixed.gpus(data), 'GPUs')}{unread_rows(fixed)}"
    read += note_columns(fixed)
    console.print(marked(("ok", "green"), f": {purchases} is a valid purchases file for the model: "
                         f"{read}"), soft_wrap=True)  # fmt: skip


def _warn_if_no_plan_keeps_the_grade_limit(loaded: api.LoadedModel, data) -> None:
    """The signed contracts that break the limit on non-investment-grade revenue by themselves: a
    warning (a solve would find the model infeasible), naming the limit's file and line."""
    broken = signed_book_beyond_grade_limit(data, loaded)
    if broken:
        warn(broken)


@app.command()
def schema(
    out: Annotated[
        str | None, typer.Option(callback=out_file, help="Write to this file instead of printing.")
    ] = None,
) -> None:
    """Print the JSON Schema of the model-file format (for editors and validators)."""
    text = json.dumps(api.schema(), indent=2) + "\n"
    if out is None:
        sys.stdout.write(text)
        return
    refuse_out_file(out, "schema", "fleetopt-schema.json")
    write_output(out, text, OUT_FLAG)


# the options of `solve` of its own (those it shares with other commands are in cli/options.py)
SolveObjectiveOption = Annotated[
    Objective,
    typer.Option(help="npv: maximise equity NPV. cost: minimise the present cost of serving demand."),
]
StochasticOption = Annotated[
    int | None,
    typer.Option(
        parser=whole_number,
        help=f"Two-stage stochastic solve over N scenarios (1 to {MAX_STOCHASTIC_SCENARIOS:,}) reduced "
        f"from the evaluator's (§7b), to a gap of {STOCHASTIC_MIP_GAP:g} unless --mip-gap is given (at "
        f"{DEFAULT_MIP_GAP:g} the default model's search found "
        "no plan in 15 minutes)."
    ),
]
FirstStageQuartersOption = Annotated[
    int | None,
    typer.Option(
        parser=whole_number,
        help="With --stochastic: decisions before this quarter are shared by all scenarios "
        f"(default {FIRST_STAGE_QUARTERS}, or the whole horizon when it is shorter); the horizon's "
        "length shares every purchase, power block, draw and prepayment, as the evaluator runs a "
        "plan, so the scenarios see its covenant breaches (a larger solve; formulation §7b).",
        show_default=False,
    ),
]
RiskWeightOption = Annotated[
    float,
    typer.Option(
        help="With --stochastic: L in (1 - L) E[V] + L CVaR(V), V a scenario's NPV less its recourse "
        "penalties (docs/formulation.md §7b), in [0, 1]."
    ),
]
CvarAlphaOption = Annotated[
    float,
    typer.Option(
        help="With --stochastic: the CVaR tail share, the worst scenarios' share it averages (0.05: "
        f"the worst 5 %; not a confidence level), in (0, {MAX_TAIL:g}]."
    ),
]
ScenarioSeedOption = Annotated[
    int,
    typer.Option(
        parser=whole_number,
        callback=checked(limits.seed),
        help="With --stochastic: seed of the scenarios reduced.",
    ),
]
ReplicationsOption = Annotated[
    int,
    typer.Option(
        parser=whole_number,
        callback=checked(limits.whole, 1, MAX_REPLICATIONS),
        help=f"With --stochastic: solve K times on K scenario samples (seeds --scenario-seed, +1, ..., "
        f"+K-1; 1 to {MAX_REPLICATIONS}) and show how far each first-stage decision moves between them; "
        "the plan is the first sample's, its out-of-sample check of seed --scenario-seed + K "
        "(formulation §7b).",
    ),
]
GapScenariosOption = Annotated[
    int,
    typer.Option(
        parser=whole_number,
        help="With --stochastic N --replications K (K >= 2, --risk-weight 0): estimate the first stage's "
        f"optimality gap: fix it in M fresh scenarios (2 to {MAX_GAP_SCENARIOS:,}; seed --scenario-seed "
        "+ K), "
        "each re-planned as the programme's scenarios are, against the K samples' optima (Mak, Morton and "
        "Wood; formulation §7b); each scenario's value in gap_scenarios.csv. 0: none.",
    ),
]
StochasticSolverOption = Annotated[
    str,
    typer.Option(
        help="With --stochastic: blocks (fleetopt's extensive form) or mpisppy-ef (mpi-sppy's, "
        "pip install 'fleetopt[stochastic]'; risk weight 0; no EEV/WS)."
    ),
]
IntegerLaterFlag = Annotated[
    bool,
    typer.Option(
        "--integer-later",
        help="With --stochastic: the scenarios' purchases and power blocks after the first stage in "
        "whole blocks too (default: continuous, which solves faster and values their recourse a little "
        "above its worth; formulation §7b)."
    ),
]
FixedPurchasesOption = Annotated[
    str | None,  # made a Path by the callback: typer reads "" as Path("."), the current folder
    typer.Option(
        callback=path_given("purchases file", check=limits.path),
        help="A CSV file of the GPU purchases the plan must make (columns quarter, sku, site, gpus; "
        "or a solve's plan.csv, edited): every purchase is fixed to the file's, none elsewhere, and "
        "the solver chooses the rest. Compare the run with the free solve's: `fleetopt compare A B`.",
    ),
]
RescueFlag = Annotated[
    bool,
    typer.Option(
        help="With --purchases: where they break a hard limit on the forecast (a covenant, the cash "
        "floor), complete them anyway with the rescue model (revolver, covenant cures and emergency "
        "equity at their penalties, formulation §4) and write the plan, marked rescued with the "
        "limits it breaks, so that `fleetopt evaluate` and `compare` can give its risk.",
    ),
]


@app.command()
def solve(
    ctx: typer.Context,
    model: ModelArg = None,
    field_changes: ChangesOption = None,
    out: OutFolderOption = None,
    time_limit: TimeLimitOption = None,
    mip_gap: MipGapOption = DEFAULT_MIP_GAP,
    threads: ThreadsOption = None,
    objective: SolveObjectiveOption = Objective.npv,
    report: ReportFlag = False,
    stochastic: StochasticOption = None,
    first_stage_quarters: FirstStageQuartersOption = None,
    risk_weight: RiskWeightOption = 0.0,
    cvar_alpha: CvarAlphaOption = TAIL,
    scenario_seed: ScenarioSeedOption = 0,
    replications: ReplicationsOption = 1,
    gap_scenarios: GapScenariosOption = 0,
    stochastic_solver: StochasticSolverOption = "blocks",
    integer_later: IntegerLaterFlag = False,
    share_purchases: SharePurchasesFlag = False,
    purchases: FixedPurchasesOption = None,
    rescue: RescueFlag = False,
) -> None:
    """Solve the fleet MILP and write the plan, statements and summary to a run folder."""
    # each step reads the options it needs from ctx.params
    _refuse_what_cannot_apply(ctx)
    loaded = load_changed(model, field_changes)
    threads = capped_threads(threads)
    registry_checked()
    if stochastic is not None:
        return _solve_stochastic(ctx, loaded, threads)
    _solve_deterministic(ctx, loaded, threads)


# the options that apply only to a two-stage solve
STOCHASTIC_ONLY = (
    "first_stage_quarters", "risk_weight", "cvar_alpha", "scenario_seed", "replications", "gap_scenarios",
    "stochastic_solver",
    "integer_later", "share_purchases",
)


def _refuse_what_cannot_apply(ctx: typer.Context) -> None:
    """A solve's options (``ctx.params``) given where they cannot apply, refused by name."""
    stochastic, purchases, objective = (ctx.params[name] for name in ("stochastic", "purchases", "objective"))
    refuse_without_stochastic(ctx, STOCHASTIC_ONLY)
    refuse_unless(ctx, ("purchases",), stochastic is None, "cannot apply with --stochastic N")
    refuse_unless(ctx, ("rescue",), purchases is not None, "cannot apply without --purchases")
    refuse_unless(ctx, ("rescue",), objective == Objective.npv, "cannot apply with --objective cost")


def _solve_deterministic(ctx: typer.Context, loaded: api.LoadedModel, threads: int | None) -> None:
    """`fleetopt solve` on the forecast (its options ``ctx.params``; ``threads`` capped): the MILP,
    its purchases fixed where --purchases gives them, and its run folder."""
    p = ctx.params
    objective = p["objective"].value
    pair = api.load(loaded)
    fixed = None if p["purchases"] is None else api.read_purchases(p["purchases"], pair)  # before any folder
    # claimed before the solve: a concurrent run can never take the folder a finished solve needs
    with RunFolder.claim(p["out"], run_name("solve", loaded.model.name)).released_on_failure() as folder:
        say_model_changes(loaded)
        console.print(marked("solving ", (loaded.model.name, "bold"), f" ({objective}) ..."))
        with _solving(objective, pair[1]):
            result = api.solve(
                pair, objective=objective, time_limit=p["time_limit"], mip_gap=p["mip_gap"], threads=threads,
                purchases=fixed, rescue=p["rescue"],
            )  # fmt: skip
        # written before it is printed: a stop while the tables print keeps the finished solve
        path = _written_or_kept(api.write_solve_run, result, loaded, folder.path, _print_solve)
    _print_solve(result)
    say_written(path)
    finish_report(path, p["report"])


def _solving(objective: str, data) -> solve_lines:
    """A long solve's lines on the terminal: the best plan's NPV, or its present cost, which holds
    the fleet held at the start (a constant HiGHS is not given, formulation §6)."""
    if objective == "cost":
        return solve_lines(err_console, "present cost", opening_fleet_value(data))
    return solve_lines(err_console, "NPV")


def _print_stochastic(result) -> None:
    summary = api.stochastic_summary(result, result.loaded)
    for table in stochastic_tables(summary):  # the answer first, then the solve's diagnostics
        console.print(table)


def _print_solve(result) -> None:
    for renderable in solve_summary_tables(result):
        console.print(renderable)


def _written_or_kept(write, result, loaded, folder: Path, show) -> Path:
    """A finished solve's run folder written by ``write`` (:func:`api.write_solve_run` or
    :func:`api.write_stochastic_run`); where it cannot be written (a full disk, say), its plan file
    and the model it was solved from (as changed by ``--set``) are kept in the system's temporary
    folder, under names no other process takes, so that the solve is not lost, and the error says
    where, after ``show(result)`` prints its results (printed after the folder is written otherwise)."""
    try:
        return write(result, loaded, folder, command=command_line())
    except RunDirError as exc:
        show(result)
        stamp = f"{datetime.now(UTC).strftime('%Y%m%d-%H%M%S')}-{os.getpid()}"
        kept = Path(tempfile.gettempdir()) / f"fleetopt-{loaded.model.name}-{stamp}-plan.npz"
        model = kept.with_name(f"fleetopt-{loaded.model.name}-{stamp}-model.yaml")
        try:
            write_bytes_atomic(kept, api.plan_file_bytes(result, loaded))
            write_text_atomic(model, loaded.text)
        except OSError as again:
            raise RunDirError(f"{exc}; its plan could not be kept in {kept.parent} either "
                              f"({again.strerror or again})") from None  # fmt: skip
        command = shlex.join(["fleetopt", "evaluate", str(model), "--plans", str(kept)])
        raise RunDirError(f"{exc}. Its plan is kept in {kept}, its model in {model}: {command} (or "
                          "compare) reads them") from None  # fmt: skip


def _samples(replications: int) -> str:
    """', on 4 scenario samples': the replications a stochastic solve makes ('' for one)."""
    return f", on {replications} scenario samples" if replications > 1 else ""


def _solve_stochastic(ctx: typer.Context, loaded: api.LoadedModel, threads: int | None) -> None:
    """`fleetopt solve --stochastic N` (its options ``ctx.params``; ``threads`` capped): the two-stage
    solve, its measures and its run folder."""
    p = ctx.params
    if p["objective"] != Objective.npv:
        raise InputError("--stochastic maximises NPV: leave --objective at npv")
    n, quarters, solver = p["stochastic"], p["first_stage_quarters"], p["stochastic_solver"]
    _, data = api.load(loaded)
    api.check_settings(data, n, quarters, p["risk_weight"], p["cvar_alpha"], solver,  # before the folder
                       share_purchases=p["share_purchases"])
    check_gap_scenarios(p["gap_scenarios"], p["replications"], p["risk_weight"])
    with RunFolder.claim(p["out"], run_name("stochastic", loaded.model.name)).released_on_failure() as folder:
        say_model_changes(loaded)
        # counted: "1 scenarios" read as a slip
        over = f" over {counted(n, 'scenario')} (two-stage){_samples(p['replications'])} ..."
        console.print(marked("solving ", (loaded.model.name, "bold"), over))
        with solve_lines(err_console, "objective"):  # (1 - L) E[V] + L CVaR(V), less penalties
            result = api.solve_stochastic(
                loaded, n, first_stage_quarters=quarters, risk_weight=p["risk_weight"],
                cvar_alpha=p["cvar_alpha"], scenario_seed=p["scenario_seed"], time_limit=p["time_limit"],
                mip_gap=stochastic_gap(ctx, p["mip_gap"]), threads=threads, solver=solver,
                integer_later=p["integer_later"], share_purchases=p["share_purchases"],
                replications=p["replications"], gap_scenarios=p["gap_scenarios"],
            )  # fmt: skip
        path = _written_or_kept(api.write_stochastic_run, result, loaded, folder.path, _print_stochastic)
    _print_stochastic(result)
    say_written(path, {RunFolder.PLAN: "with the forecast optimum"})
    finish_report(path, p["report"])
