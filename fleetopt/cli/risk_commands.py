"""`fleetopt evaluate` and `fleetopt sweep`: plans under uncertainty, resumable batch jobs."""

from __future__ import annotations

import itertools
import json
import shlex
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Annotated

import typer
from rich.text import Text

from fleetopt import api
from fleetopt.cli.common import app
from fleetopt.cli.consoles import console, err_console, marked
from fleetopt.cli.given_options import (
    capped_threads,
    capped_workers,
    given,
    refuse_unless,
    refuse_with_resume,
    refuse_without_stochastic,
    stochastic_gap,
)
from fleetopt.cli.memory import (
    MaxMemoryOption,
    budget_within_memory,
    memory_budget,
    say_rows_in_a_file,
    warn_if_tiny_blocks,
)
from fleetopt.cli.option_values import checked, model_given, path_given, usd_amount, whole_number
from fleetopt.cli.options import (
    BUNDLED_NAMES,
    BackendName,
    BackendOption,
    ChangesOption,
    EvaluateThreadsOption,
    EvaluationRankBy,
    ExecutorName,
    MaxBreachProbOption,
    MipGapOption,
    ModelArg,
    Objective,
    OutFolderOption,
    ProbabilityLimit,
    RankBy,
    ResumableReportFlag,
    ResumeOption,
    ScenariosOption,
    SeedOption,
    SharePurchasesFlag,
    ThreadsOption,
    TimeLimitOption,
)
from fleetopt.cli.render.evaluate import (
    debt_at_default_table,
    demand_served_table,
    evaluation_table,
    first_breach_table,
    forecast_table,
    limited_liability_table,
    reactions_table,
    scenario_path_table,
    when_it_breaks_table,
)
from fleetopt.cli.render.progress import progress_bar, solve_lines
from fleetopt.cli.render.sweep import bulleted_lines, sweep_table
from fleetopt.cli.resume_options import apply_kept_options, finished_already, kept_for_resume, options_again
from fleetopt.cli.set_option import load_changed, say_model_changes
from fleetopt.cli.stops import interruptible
from fleetopt.cli.written import command_line, finish_report, registry_checked, say_written
from fleetopt.core.covenants import tested_kinds
from fleetopt.core.data import ModelData
from fleetopt.core.results.cost import cost_plans_note
from fleetopt.core.results.risk_sentences import ANY_DEFAULT_MEANS, risk_in_short
from fleetopt.core.results.valuation import basis_words, npv_words
from fleetopt.core.units import counted, format_duration, format_percent
from fleetopt.errors import InputError, user_path
from fleetopt.evaluate.first_place import first_place_words
from fleetopt.evaluate.jobfolder import HOW_IT_RUNS
from fleetopt.evaluate.kernel.compiler import KernelBuildError
from fleetopt.evaluate.metrics import (
    DEFAULT_RANK,
    FORECAST_MARK,
    REACTION_MEANS,
    TIE_BREAKS,
    best_plan_label,
    demand_in_short,
    marked_last_words,
    rank_words,
    shown_plans,
)
from fleetopt.evaluate.path import ScenarioPath
from fleetopt.evaluate.scenario_choice import (
    FORECAST_QUARTERS,
    chosen_plan,
    explain_choice,
    explained_path,
)
from fleetopt.evaluate.sources import how_it_finishes
from fleetopt.evaluate.spill import SpillError
from fleetopt.milp.highs import DEFAULT_MIP_GAP
from fleetopt.runs import limits
from fleetopt.runs.files import write_text_atomic
from fleetopt.runs.folder import RunFolder
from fleetopt.runs.kinds import run_name
from fleetopt.runs.limits import MAX_STOCHASTIC_SCENARIOS
from fleetopt.runs.location import runs_dir
from fleetopt.runs.resume import kept_options, resume_command
from fleetopt.runs.run_files import RunDirError
from fleetopt.stochastic.settings import FIRST_STAGE_QUARTERS
from fleetopt.sweep.candidate_record import dropped_words
from fleetopt.sweep.rule import Rule, RuleNotMet

# the options of `evaluate` of its own (those it shares with other commands are in cli/options.py)
EvaluateModelArg = Annotated[
    str | None,
    typer.Argument(
        callback=model_given,
        help=f"Model file or bundled model name ({BUNDLED_NAMES}). Default: the run folder's "
        "model.yaml, or the bundled model a plan file names, else neocloud."
    ),
]
PlansOption = Annotated[
    str | None,  # made a Path by the callback: typer reads "" as Path("."), the current folder
    typer.Option(
        callback=path_given("run folder, run id or plan file"),
        help="A run folder (solve or sweep), a run id, or a plan file (.npz, one plan or many). With "
        "--resume: where the job's plans file is now, if it moved (the same file, by its SHA-256).",
    ),
]
DeterministicFlag = Annotated[bool, typer.Option(help="Evaluate on the forecast itself (one scenario).")]
KeepMatrixFlag = Annotated[
    bool, typer.Option(help="Also write the plan x scenario NPV matrix (npv_matrix.npy).")
]
EvaluationRankByOption = Annotated[
    EvaluationRankBy,
    typer.Option(help="Rule for the best plans printed: the highest mean, cvar5 or p5 NPV, or "
                 f"any-default, the lowest P(any default) {ANY_DEFAULT_MEANS}."),
]
PrintedBreachProbOption = Annotated[
    float | None,
    typer.Option(
        "--max-breach-prob",
        callback=ProbabilityLimit,
        help="Print only plans with at most this covenant-breach probability, in [0, 1] (where none "
        "has, every plan, saying so); metrics.csv keeps every plan.",
    ),
]
TopOption = Annotated[
    int,
    typer.Option(parser=whole_number, callback=checked(limits.whole, 1), help="How many plans to print."),
]
ExecutorOption = Annotated[
    ExecutorName,
    typer.Option(help="local: this process. ray: chunks as Ray tasks (pip install fleetopt[ray])."),
]
RayAddressOption = Annotated[
    str | None, typer.Option(help="Address of an existing Ray cluster (default: start a local one).")
]
WorkersOption = Annotated[
    int,
    typer.Option(
        parser=whole_number,
        callback=checked(limits.whole, 1),
        help="Worker processes on this machine, one thread each, on NumPy or the C build as --backend "
        "chooses (default 1: in this process; capped to its usable cores, with a warning); not with "
        "--executor ray, whose tasks take the cluster's CPUs.",
    ),
]
ExplainOption = Annotated[
    str | None,
    typer.Option(
        help="Print one scenario's quarterly path of a plan after the tables and write it to path.csv: "
        "worst (lowest NPV), median, first-default (the earliest liquidity default), first-any-default "
        "(the earliest liquidity default or uncured covenant breach) or a scenario number.",
    ),
]
ExplainedPlanOption = Annotated[
    str | None,
    typer.Option(help="The plan --explain shows, by its label (needed where there are several)."),
]


@app.command()
def evaluate(
    ctx: typer.Context,
    model: EvaluateModelArg = None,
    field_changes: ChangesOption = None,
    plans: PlansOption = None,
    scenarios: ScenariosOption = limits.DEFAULT_SCENARIOS,
    seed: SeedOption = 0,
    out: OutFolderOption = None,
    backend: BackendOption = BackendName.auto,
    max_memory: MaxMemoryOption = None,
    deterministic: DeterministicFlag = False,
    keep_matrix: KeepMatrixFlag = False,
    rank_by: EvaluationRankByOption = EvaluationRankBy(DEFAULT_RANK),
    max_breach_prob: PrintedBreachProbOption = None,
    top: TopOption = 5,
    executor: ExecutorOption = ExecutorName.local,
    ray_address: RayAddressOption = None,
    resume: ResumeOption = None,
    workers: WorkersOption = 1,
    threads: EvaluateThreadsOption = None,
    report: ResumableReportFlag = False,
    explain: ExplainOption = None,
    plan: ExplainedPlanOption = None,
) -> None:
    """Evaluate plans against seeded scenarios: NPV distribution, breach and default risk, utilisation."""
    # each step reads the options it needs from ctx.params, where a resume puts back those it started with
    if resume is not None:
        resumed = _resumed_evaluation(ctx)
        if resumed is None:  # it had finished
            return
        (job, folder), explained = resumed, None  # --explain is refused with --resume
    else:
        job, folder, explained = _new_evaluation(ctx)
    say_model_changes(job.loaded)  # a resumed job's too: its job.json keeps them
    again = tuple(options_again(ctx, EVALUATE_AGAIN))
    if resume is not None:  # the ranking it finishes with, as its retry gives it: no change then
        kept_for_resume(folder, again)
    # a stop (or a disk full) from the start to the report says what is saved and how to finish
    with folder.released_on_failure(), interruptible(folder.path, "evaluate", again):
        if resume is None:
            job.start(folder.path, again)  # kept for its resume command, even after a kill
        # once started: its chunks are sized for its folder, where a chunk's rows go to a file
        warn_if_tiny_blocks(job)
        say_rows_in_a_file(job)
        result = _run_evaluation(job, folder.path, again)
        lost = _show_and_write(ctx, job, result, folder, explained)
    if lost:  # a batch system sees that something removed the job's folder under it
        raise typer.Exit(InputError.exit_code)


def _resumed_evaluation(ctx: typer.Context):
    """`evaluate --resume` (its options ``ctx.params``): (the job, its run folder), its ranking and
    --report put back in ``ctx.params`` as it started but for those given now; None where it had
    finished (said so)."""
    p = ctx.params
    refuse_with_resume(ctx, (*EVALUATE_AGAIN, *HOW_IT_RUNS, "plans"))  # --plans: where they moved
    registry_checked()  # before the work: a registry that cannot record the run refuses it now
    folder = RunFolder(api.resolve_run(p["resume"]))
    refuse_new_ranking_of_finished(ctx, folder)
    apply_kept_options(ctx, folder, EVALUATE_AGAIN)  # --report, the ranking it started with
    if finished_already(folder, "evaluate", p["report"]):
        return None
    given_how = {"backend": p["backend"].value, "threads": p["threads"], "workers": p["workers"],
                 "executor": p["executor"].value, "ray_address": p["ray_address"],
                 "max_memory": memory_budget(p["max_memory"])}  # fmt: skip
    _refuse_workers_with_ray(ctx, p["executor"].value if given(ctx, "executor") else _kept_executor(folder))
    moved = None if p["plans"] is None else api.resolve_run(p["plans"])
    job = api.resume_evaluation(folder.path, plans=moved,
                                **{k: v for k, v in given_how.items() if given(ctx, k)})  # fmt: skip
    return job, folder


def _new_evaluation(ctx: typer.Context):
    """A new evaluation (its options ``ctx.params``): (the job, its run folder, what --explain shows:
    :func:`_explained`), every option checked before any work, the folder claimed last."""
    p = ctx.params
    model, plans, out = p["model"], p["plans"], p["out"]
    if plans is None:
        raise _no_plans(model)
    _refuse_what_cannot_apply(ctx)
    deterministic, executor, workers = p["deterministic"], p["executor"], p["workers"]
    RunFolder.check_new(out)  # before any work
    workers = capped_workers(workers, executor.value)
    budget = budget_within_memory(memory_budget(p["max_memory"]), p["backend"].value, executor.value, workers)
    threads = capped_threads(p["threads"])
    registry_checked()
    plans = api.resolve_run(plans)
    model = model if model is not None else api.model_of_plans(plans)
    loaded = load_changed(model, p["field_changes"])
    job = api.prepare_evaluation(
        plans, loaded, scenarios=None if deterministic else p["scenarios"], seed=p["seed"],
        backend=p["backend"].value, max_memory=budget, deterministic=deterministic,
        keep_matrix=p["keep_matrix"], executor=executor.value,
        ray_address=p["ray_address"], workers=workers, threads=threads,
        folder=user_path(out) if out is not None else runs_dir(),  # the disk a chunk's rows may go to
    )  # fmt: skip
    explained = _explained(p["explain"], p["plan"], job, p["scenarios"])  # refused before the folder is made
    return job, RunFolder.claim(out, run_name("evaluate", loaded.model.name)), explained


def _refuse_what_cannot_apply(ctx: typer.Context) -> None:
    """A new evaluation's options (``ctx.params``) given where they cannot apply, refused by name."""
    deterministic, executor, workers = (ctx.params[name] for name in ("deterministic", "executor", "workers"))
    refuse_unless(
        ctx, ("scenarios", "seed"), not deterministic, "cannot apply with --deterministic (one scenario: "
        "the forecast itself)"
    )
    refuse_unless(
        ctx, ("threads",), workers == 1 and executor == ExecutorName.local,
        "cannot apply with --workers above 1 or --executor ray: each worker process (or Ray task) runs "
        "one thread",
    )  # fmt: skip
    refuse_unless(
        ctx, ("ray_address",), executor == ExecutorName.ray, "cannot apply without --executor ray"
    )
    _refuse_workers_with_ray(ctx, executor.value)
    refuse_unless(ctx, ("explain",), not deterministic,
                  f"cannot apply with --deterministic: {FORECAST_QUARTERS}")
    refuse_unless(ctx, ("plan",), ctx.params["explain"] is not None,
                  "applies only with --explain, whose plan it names")


def _refuse_workers_with_ray(ctx: typer.Context, executor: str | None) -> None:
    """--workers above 1 where the run goes to Ray (``executor``: given, or the resumed job's),
    refused in the CLI's words (the API's names its arguments: executor='ray')."""
    whose = "" if given(ctx, "executor") else f" (the job's, in its {RunFolder.JOB})"
    refuse_unless(ctx, ("workers",), ctx.params["workers"] == 1 or executor != "ray",
                  f"cannot apply with --executor ray{whose}, which runs a task on each CPU (or GPU) of the "
                  "Ray cluster: leave --workers out")  # fmt: skip


def _kept_executor(folder: RunFolder) -> str | None:
    """The executor a job was started with (None where its job.json cannot be read: the resume says why)."""
    try:
        return folder.job().get("executor")
    except (OSError, InputError):
        return None


def _show_and_write(ctx: typer.Context, job: api.EvaluationJob, result, folder: RunFolder,
                    explained: tuple | None) -> bool:  # fmt: skip
    """A finished evaluation's best plans printed by its ranking (``ctx.params``: --rank-by,
    --max-breach-prob, --top), written to ``folder`` with the path --explain picks (``explained``)
    and the report (--report); whether the folder was lost while it ran (written again whole)."""
    rank_by, max_breach_prob, top, report = (ctx.params[name] for name in EVALUATE_AGAIN)
    ranking = {"rank_by": rank_by.value, "max_breach_prob": max_breach_prob}  # the report's plan too
    cost = result.plans_objective == "cost"  # as its display says: the demand served first
    shown = shown_plans(result.metrics, ranking)[0].head(top)
    # a lab's plans: the demand they serve first, what it buys, then the company's finances
    if cost and not shown.empty:
        title = "the demand served (the company's own, as bought: no purchase reacts to the scenario)"
        console.print(demand_served_table(shown, title, job.data.T, one=result.seed is None))
        console.print(f"Note: {cost_plans_note(result.n_plans)}.", highlight=False)
    se = result.first_place_error(**ranking)  # how sure its first place is: said, and kept by the writer
    _print_best(result, ranking, top, job.data, cost, se)
    lost = folder.lost_while_running  # written again whole, with a warning
    path = api.write_evaluate_run(result, job.loaded, job.source, folder.path, command=command_line(),
                                  ranking=ranking)  # fmt: skip
    picked = None if explained is None else _explained_path(job, explained, path)
    say_written(path)  # path.csv and path.json among its files
    if picked is not None:
        _print_explained(job, *picked, path)
    finish_report(path, report)
    return lost


def _explained(explain: str | None, plan: str | None, job: api.EvaluationJob, scenarios: int):
    """(rule or scenario number, the plan as a batch of one) of --explain and --plan, checked; None
    without --explain."""
    if explain is None:
        return None
    return explain_choice("--explain", explain, scenarios), chosen_plan(job.batch, plan, job.source.path)


def _explained_path(job: api.EvaluationJob, explained: tuple, folder: Path):
    """(the path, why it was chosen) of the scenario --explain picks, written to path.csv and
    path.json in ``folder`` (the report's "One scenario's path"); None where its rule finds none."""
    rule, one = explained
    path, why = explained_path(job.data, one, job.settings["seed"], job.settings["n_scenarios"], rule)
    if path is None:
        console.print(f"--explain {rule}: {why}; nothing to explain.", highlight=False)
        return None
    write_text_atomic(folder / RunFolder.PATH_CSV, path.csv_text())  # the run's own file: to_csv refuses it
    write_text_atomic(folder / RunFolder.PATH_JSON, json.dumps(path.explained(), indent=1))
    return path, why


def _print_explained(job: api.EvaluationJob, path: ScenarioPath, why: str, folder: Path) -> None:
    """The path --explain picked, its quarters and events printed, and how to see it again."""
    scenario, seed, n = path.scenario, path.seed, job.settings["n_scenarios"]
    console.print(f"Scenario {scenario} of seed {seed} ({why}), plan {path.plan!r}:", highlight=False)
    console.print(scenario_path_table(path.shown(), path.headline()))
    console.print(path.npv_words(), highlight=False, soft_wrap=True)  # the NPV path.json reconciles
    for line in path.events():
        console.print(line, highlight=False, soft_wrap=True)
    written = folder / RunFolder.PATH_CSV
    again = shlex.join(["fleetopt", "evaluate", str(folder / "model.yaml"), "--plans", str(job.source.path),
                        "--scenarios", str(n), "--seed", str(seed), "--explain", str(scenario),
                        "--plan", path.plan])  # fmt: skip
    python = f"fleetopt.api.scenario_path({str(folder)!r}, {scenario}, plan={path.plan!r})"
    console.print(f"wrote {written} (every column: USD, multipliers, annual shifts, discount factors; the "
                  f"exact NPV and its end term in {RunFolder.PATH_JSON}). The same scenario "
                  f"again: {again}; from Python: {python}", highlight=False, soft_wrap=True)


def _no_plans(model: str | None) -> InputError:
    """`evaluate` without --plans; a run folder given where the model goes is named as such (a new
    user's `fleetopt evaluate runs/mylab` read the folder as a model), an unfinished job's with how it
    finishes (:func:`how_it_finishes`: the process still running it, its resume, or why it cannot be)."""
    hint = ""
    if model is not None and Path(model).is_dir():
        run = RunFolder(Path(model))
        kind = run.interrupted_kind()
        if kind:  # an unfinished job: how it finishes, not its plans
            hint = f"{model} is an unfinished {kind} run, not a model {how_it_finishes(run, kind)}; "
        elif run.is_finished:
            hint = f"{model} is a run folder, not a model: evaluate its plans with --plans {model}; "
    return InputError(f"{hint}give --plans (a run folder, run id or plan file), or --resume a run folder")


RANKING_OPTIONS = ("rank_by", "max_breach_prob", "top")


def refuse_new_ranking_of_finished(ctx: typer.Context, folder: RunFolder) -> None:
    """`evaluate --resume` of a finished evaluation given a ranking other than the one it finished
    with (--rank-by, --max-breach-prob, --top): refused, naming how to rank its plans otherwise (it
    said "nothing to resume" and exited 0, the options unused). The one it finished with (its resume
    command typed again after it finished, by a batch job's retry) is no change."""
    if not (folder.is_finished and folder.is_job and folder.job().get("kind") == "evaluate"):
        return
    kept = kept_options(folder.path)
    pairs = set(itertools.pairwise(kept))  # each option and its value, as typed
    changed = []
    for param in (p for p in ctx.command.params if p.name in RANKING_OPTIONS and given(ctx, p.name)):
        typed, default = (str(getattr(v, "value", v)) for v in (ctx.params[param.name], param.default))
        if (param.opts[0], typed) not in pairs and (param.opts[0] in kept or typed != default):
            changed.append(f"{param.opts[0]} {typed}")
    if changed:
        raise InputError(f"{' and '.join(changed)} cannot apply with --resume of {folder.path}, an "
                         f"evaluation that finished: {_ranked_otherwise(folder, changed)}")  # fmt: skip


def _ranked_otherwise(folder: RunFolder, changed: list[str]) -> str:
    """Where a finished evaluation's figures are, and the command that ranks its plans by
    ``changed`` (options and values): the evaluation again, on the same scenarios."""
    job = folder.job()
    future = ["--deterministic"] if job.get("deterministic") else [
        "--scenarios", str(job.get("n_scenarios")), "--seed", str(job.get("seed"))]  # fmt: skip
    again = shlex.join(["fleetopt", "evaluate", str(folder.path / "model.yaml"), "--plans",
                        str(job.get("plans_source")), *future, *" ".join(changed).split()])  # fmt: skip
    number = api.recorded_run_id(folder.path)
    if number is not None and folder.summary().get("n_plans") == 1:  # runs show: one plan's figures
        shown = f"fleetopt runs show {number} prints them"
    else:
        shown = f"{shlex.join(['fleetopt', 'report', str(folder.path)])} shows them"
    return (f"its metrics.csv keeps every plan's figures ({shown}). To print its plans ranked another way, "
            f"evaluate them again into a new folder, on the same scenarios (the same figures): {again}")


# what a resumed evaluation is given again to end as the run would have: job.json keeps the run's
# own settings, not what is printed, ranked or reported
EVALUATE_AGAIN = ("rank_by", "max_breach_prob", "top", "report")


def _run_evaluation(job: api.EvaluationJob, folder: Path, again: tuple[str, ...] = ()):
    """Run a started job with a progress bar, saying how to resume it (with ``again``) if it is
    stopped."""
    try:
        scenarios = job.settings["n_scenarios"]
        bar = progress_bar(console, scenarios, lines=err_console,
                           total_pairs=job.batch.P * scenarios)  # timed from now: its first block may be all
        with interruptible(folder, "evaluate", again), bar as advance:
            result = job.run(folder, progress=advance)
    except KernelBuildError as exc:  # on a Ray node (this machine built it before the run)
        raise InputError(
            f"{exc}. The run is kept in {folder} ({api.saved_work(folder)} saved): once every "
            f"node builds it, finish with: {resume_command('evaluate', folder)}, or now with "
            f"{resume_command('evaluate', folder, '--backend', 'numpy')}"
        ) from None
    except SpillError as exc:  # the chunks finished before are kept
        raise InputError(
            f"{exc}. The run is kept in {folder} ({api.saved_work(folder)} saved): finish it, once "
            f"there is room, with: {resume_command('evaluate', folder)}"
        ) from None
    console.print(run_speed(result), soft_wrap=True)
    return result


def run_speed(result) -> str:
    """'3 plans x 1,000 scenarios on numpy, CPU (2 threads), in 1.20 s: 2.1e+04 plan-scenario-quarters/s'
    (its device's words carry their own brackets: 'numpy (CPU (2 threads))' read badly); a
    resumed run counts only what it computed now."""
    plans, scenarios = counted(result.n_plans, "plan"), counted(result.n_scenarios, "scenario")
    line = f"{plans} x {scenarios} on {result.backend}, {result.device}, in {format_duration(result.seconds)}"
    if result.pairs_stored and not result.pairs_computed:  # no rate: nothing computed
        return f"{line}: every plan-scenario pair was saved earlier, none computed now"
    if result.pairs_stored:
        pairs = result.n_plans * result.n_scenarios
        line += f" ({result.pairs_computed:,} of {pairs:,} plan-scenario pairs now; the rest saved earlier)"
    return f"{line}: {result.pair_quarters_per_second:,.3g} plan-scenario-quarters/s"


def _print_best(result, ranking: dict, top: int, data: ModelData, cost: bool = False,
                lead_se: float | None = None) -> None:
    """The best ``top`` plans by ``ranking`` (``shown_plans``'): figures, reactions, breaches; ``cost``:
    plans solved for least cost, whose "In short" says the demand they serve, as their report does;
    ``lead_se``: the paired standard error of the first plan's lead over the second, whose "In
    short" says how sure the first place is (:func:`first_place_words`; None: nothing said)."""
    ranked, met = shown_plans(result.metrics, ranking)  # none met the limit: every plan, as the report
    if not met:
        _say_none_met(result, ranking["max_breach_prob"])
    last = marked_last_words(ranked)  # of the whole ranking: a plan it put last may be below the top
    shown = f", the first {top:,} of {len(ranked):,} (--top)" if len(ranked) > top else ""
    several = len(ranked) > 1  # a ranking, even where --top shows one
    everyone, ranked = ranked, ranked.head(top)
    if result.seed is None:  # deterministic: one scenario, the forecast
        _print_on_the_forecast(ranked, ranking["rank_by"], data, last, several)
        return
    last = f" ({FORECAST_MARK} last)" if last else ""
    title = f"best plans by {rank_words(ranking['rank_by'])}{shown}{last}"
    title = title if several else "the plan over the scenarios"
    console.print(evaluation_table(ranked, f"{title} ({npv_words(data.discount_rate_annual)})"))
    _print_risk_tables(ranked, data)
    # last, where a terminal leaves the reader: the first plan's value and risk, as its report opens
    console.print(_in_short(result, everyone, ranking["rank_by"], cost, lead_se))


def _say_none_met(result, limit: float) -> None:
    """No plan within --max-breach-prob ``limit``: said, with the lowest, as every plan is ranked."""
    lowest = result.metrics["breach_probability"].min()
    err_console.print(  # the limit as a percent, as the lowest is: not "at or below 0.5 ... 52.0%"
        f"no plan has a breach probability at or below {format_percent(limit)} "
        f"(--max-breach-prob {limit:g}): the lowest is {format_percent(lowest)}; every plan is ranked",
        soft_wrap=True,
    )


def _print_on_the_forecast(ranked, rank_by: str, data: ModelData, last: bool, several: bool) -> None:
    """A deterministic evaluation's plans (``ranked``, those shown) on the forecast, its one scenario;
    ``last``: the ranking puts breaches and defaults last; ``several``: more than one plan ranked."""
    first = "; breaches and defaults last" if last else ""
    by = f" by {rank_words(rank_by)}" if rank_by in TIE_BREAKS and several else ""
    npv = npv_words(data.discount_rate_annual)
    title = f"plans on the forecast{by} (deterministic evaluation{first}; {npv})"
    console.print(forecast_table(ranked, title, data.quarter_labels, data.covenant_kinds))


def _print_risk_tables(ranked, data: ModelData) -> None:
    """The plans shown (``ranked``) over the scenarios beyond their NPV: limited liability, the
    lenders at a default, the policy's reactions and the covenant breaches (each table that has rows)."""
    limited = limited_liability_table(ranked, "with limited liability: the shareholders' NPV")
    lenders = debt_at_default_table(ranked, "the lenders at a liquidity default (USD of its quarter)")
    title = "the lenders at an uncured covenant breach, had they accelerated (USD of its quarter)"
    accelerated = debt_at_default_table(ranked, title, uncured=True)
    for table in (limited, lenders, accelerated):
        if table is not None:
            console.print(table)
    title = f"what the policy had to do (shares of scenarios; the USD columns: {REACTION_MEANS})"
    console.print(reactions_table(ranked, title, bool(data.contracts)))
    tested = tested_kinds(data.covenants)
    breaches = first_breach_table(ranked, "which covenant breaks first (share of scenarios)", tested,
                                  data.cash_covering_debt_cures)
    when_title = "when it breaks: the median quarter among the scenarios that break (their share of all)"
    when = when_it_breaks_table(ranked, when_title, data.quarter_labels)
    for table in (breaches, when):
        if table is not None:
            console.print(table)


def _in_short(result, ranked, rank_by: str, cost: bool, lead_se: float | None) -> Text:
    """The "In short" of the first plan of ``ranked`` (every plan ranked): its value and risk,
    the demand it serves (``cost``: plans solved for least cost) and how sure its first place is."""
    first = ranked.iloc[0]
    label = best_plan_label(first["plan"], rank_by, len(ranked) > 1)
    served = demand_in_short(result.n_scenarios, first) if cost else None
    said = " ".join(risk_in_short(label, result.n_scenarios, first, served=served, quarters=result.quarters))
    said += first_place_words(ranked, rank_by, result.n_scenarios, lead_se)
    return Text(f"In short: {said}", style="bold")


# a sweep's candidates maximise NPV: what a lab planning for its own demand does instead
SWEEP_FOR_COST = (
    "--objective cost: the sweep's candidates all maximise NPV. To compare a lab's procurement plans "
    "by cost, solve each with `fleetopt solve MODEL --objective cost --purchases FILE` and compare them "
    "(`fleetopt compare A B`: present cost, demand served, shortfall); to hold spare capacity, solve a "
    "version of the model with more demand (docs/formulation.md §6, \"Spare capacity\")"
)


# the options of `sweep` of its own (those it shares with other commands are in cli/options.py)
CandidatesOption = Annotated[
    int,
    typer.Option(
        parser=whole_number,
        callback=checked(limits.whole, 1),
        help="Most candidate plans to evaluate (the pick's two cash-buffer runs come on top).",
    ),
]
PreferOption = Annotated[
    RankBy, typer.Option(help="Pick the best plan by this NPV figure among those meeting the limits.")
]
MaxDefaultProbOption = Annotated[
    float | None,
    typer.Option(
        callback=ProbabilityLimit,
        help="Only plans with at most this liquidity-default probability, in [0, 1].",
    ),
]
MaxAnyDefaultProbOption = Annotated[
    float | None,
    typer.Option(
        callback=ProbabilityLimit,
        help="Only plans with at most this probability of any default, in [0, 1]: a liquidity default "
        "or an uncured covenant breach, either event of default as lenders count them.",
    ),
]
MinCvarOption = Annotated[
    str | None,  # made a float by the callback, said of the option, not of the rule's field
    typer.Option(
        callback=usd_amount,
        help="Only plans whose CVaR5 NPV is at least this, USD (-50000000, -5e7 or -50M).",
    ),
]
AllowForecastBreachFlag = Annotated[
    bool,
    typer.Option(
        "--allow-forecast-breach/--no-allow-forecast-breach",
        help="Also recommend plans that breach a covenant or default on the forecast itself (by "
        "default they are not considered: a policy buffer that cuts the prepayments keeping the "
        "borrowing base breaches it even on the forecast). --no-allow-forecast-breach puts the "
        "check back in a rule --rerank or --resume keeps.",
    ),
]
AllowRiskierFlag = Annotated[
    bool,
    typer.Option(
        "--allow-riskier/--no-allow-riskier",
        help="Also recommend plans with a higher breach, liquidity default or any-default probability "
        "(a liquidity default or an uncured breach) than the forecast optimum's on the same scenarios (by "
        "default they are not considered: the evaluator does not price a covenant breach, so a better "
        "tail could otherwise buy a breach in nearly every future). "
        "--no-allow-riskier puts the check back in a rule --rerank or --resume keeps.",
    ),
]
StochasticCandidateOption = Annotated[
    int | None,
    typer.Option(
        parser=whole_number,
        callback=checked(limits.whole, 1),
        help="Add the two-stage stochastic plan over N scenarios (`solve --stochastic N`, N at most "
        f"{MAX_STOCHASTIC_SCENARIOS:,}; first stage quarters 0-{FIRST_STAGE_QUARTERS - 1}, or the whole "
        "of a shorter horizon) as the second candidate (--candidates at least 2); its scenarios are "
        "reduced from seed SEED + 1. Off by default (minutes on a large model).",
    ),
]
PurchasesCandidatesOption = Annotated[
    list[str] | None,  # made Paths by the callback: typer reads "" as Path("."), the current folder
    typer.Option(
        callback=path_given("purchases file", check=limits.path),
        help="A CSV file of a procurement plan of yours (as `solve --purchases` reads it): a candidate "
        "'yours: FILE' with those purchases fixed and the rest the forecast's best, made right after the "
        "forecast optimum (and the stochastic plan). Repeat for several.",
    ),
]
SweepObjectiveOption = Annotated[
    Objective,
    typer.Option(
        help="npv: every candidate maximises NPV (the only choice: cost is refused with what a lab "
        "does instead)."
    ),
]
RerankOption = Annotated[
    str | None,  # made a Path by the callback: typer reads "" as Path("."), the current folder
    typer.Option(
        "--rerank",
        callback=path_given("run folder or run id"),
        help="Rank the candidates of this finished sweep (run folder or run id) by its rule with the "
        "rule's options given now replacing their parts, into a new run folder (--out): its plans "
        "evaluated again on its own scenarios (seconds), no solve but a new stress pick's planned cash "
        "buffers, with the sweep's --mip-gap and --time-limit. The sweep's folder is only read.",
    ),
]


@app.command()
def sweep(
    ctx: typer.Context,
    model: ModelArg = None,
    field_changes: ChangesOption = None,
    candidates: CandidatesOption = limits.DEFAULT_CANDIDATES,
    scenarios: ScenariosOption = limits.DEFAULT_SCENARIOS,
    seed: SeedOption = 0,
    out: OutFolderOption = None,
    prefer: PreferOption = RankBy(DEFAULT_RANK),
    max_breach_prob: MaxBreachProbOption = None,
    max_default_prob: MaxDefaultProbOption = None,
    max_any_default_prob: MaxAnyDefaultProbOption = None,
    min_cvar: MinCvarOption = None,
    allow_forecast_breach: AllowForecastBreachFlag = False,
    allow_riskier: AllowRiskierFlag = False,
    backend: BackendOption = BackendName.auto,
    mip_gap: MipGapOption = DEFAULT_MIP_GAP,
    time_limit: TimeLimitOption = None,
    threads: ThreadsOption = None,
    resume: ResumeOption = None,
    report: ResumableReportFlag = False,
    stochastic: StochasticCandidateOption = None,
    share_purchases: SharePurchasesFlag = False,
    purchases: PurchasesCandidatesOption = None,
    objective: SweepObjectiveOption = Objective.npv,
    rerank: RerankOption = None,
) -> None:
    """Generate candidate plans (forecast and stress optima, variations; with --stochastic, the
    two-stage stochastic plan; with --purchases, yours), evaluate them on common scenarios, and
    recommend one by a rule; prints the Pareto front. Every candidate maximises NPV (a lab planning
    for its own demand compares `fleetopt solve --objective cost --purchases FILE` runs instead)."""
    # each step reads the options it needs from ctx.params, where a resume puts back --report
    if objective != Objective.npv:
        raise InputError(SWEEP_FOR_COST)
    if rerank is not None:
        return _rerank(ctx)
    if resume is not None:
        return _resume_sweep(ctx)
    _new_sweep(ctx)


# the options that set the rule's fields, by the field each sets (the allow flags its negation): a
# resume (a sweep whose rule no candidate met finishes with a looser one) and a re-ranking change
# the rule by those given
RULE_OPTIONS = {"prefer": "prefer", "max_breach_prob": "max_breach_prob",
                "max_default_prob": "max_default_prob", "max_any_default_prob": "max_any_default_prob",
                "min_cvar": "min_cvar5_usd", "allow_forecast_breach": "forecast_within_limits",
                "allow_riskier": "no_riskier_than_optimum"}  # fmt: skip


def _rule_fields(ctx: typer.Context) -> dict:
    """The rule's fields as the options (``ctx.params``) set them."""
    p = ctx.params
    values = {**p, "prefer": p["prefer"].value, "allow_forecast_breach": not p["allow_forecast_breach"],
              "allow_riskier": not p["allow_riskier"]}  # fmt: skip
    return {field: values[name] for name, field in RULE_OPTIONS.items()}


def _rule_changes(ctx: typer.Context) -> dict:
    """The rule's fields set by the options given (a resume's or a re-ranking's changes to the rule)."""
    fields = _rule_fields(ctx)
    return {field: fields[field] for name, field in RULE_OPTIONS.items() if given(ctx, name)}


def _new_sweep(ctx: typer.Context) -> None:
    """A new sweep (its options ``ctx.params``): every option checked before the model is read."""
    p = ctx.params
    refuse_without_stochastic(ctx, ("share_purchases",))
    RunFolder.check_new(p["out"])  # before the model is even read
    rule = Rule(**_rule_fields(ctx))
    threads = capped_threads(p["threads"])
    registry_checked()
    settings = {"candidates": p["candidates"], "scenarios": p["scenarios"], "seed": p["seed"], "rule": rule,
                "backend": p["backend"].value, "mip_gap": p["mip_gap"], "time_limit": p["time_limit"],
                "threads": threads, "stochastic": p["stochastic"] or 0, "purchases": p["purchases"] or [],
                "stochastic_mip_gap": stochastic_gap(ctx, p["mip_gap"]),
                "share_purchases": p["share_purchases"]}  # fmt: skip
    # what a resume is to be given again: --report (job.json keeps the rule; a resume's rule changes
    # are not kept, so that a looser rule's command is not given two limits)
    again = tuple(options_again(ctx, ("report",)))
    _run_new_sweep(load_changed(p["model"], p["field_changes"]), settings, p["out"], p["report"], again)


def _run_new_sweep(loaded: api.LoadedModel, settings: dict, out: str | None, report: bool,
                   again: tuple[str, ...]) -> None:  # fmt: skip
    """`sweep` of ``loaded`` with ``settings`` (:func:`fleetopt.api.sweep`'s) into ``out`` (None: a new
    folder in the runs folder), which the API claims once it has checked them: it says what it
    sweeps then, and a stop names the folder."""
    claimed: list[Path] = []

    def started(folder: Path) -> None:
        claimed.append(folder)
        size = (f": up to {settings['candidates']} candidate plans (and the pick's cash buffers) evaluated "
                f"x {settings['scenarios']:,} scenarios ...")  # fmt: skip
        say_model_changes(loaded)
        console.print(marked("sweeping ", (loaded.model.name, "bold"), size))

    def folder() -> Path | None:
        return claimed[0] if claimed else None

    try:
        progress = _sweeping(settings["scenarios"], settings["stochastic"] > 0)
        with interruptible(folder, "sweep", again), progress as bar:
            result = api.sweep(
                loaded, **settings, folder=True if out is None else out, on_folder=started,
                candidate_progress=_say_candidate, resume_options=again, progress=bar,
            )  # fmt: skip
    except RuleNotMet:  # every candidate evaluated: the folder is kept, a looser rule finishes it
        raise
    except InputError as exc:  # bad input, or an evaluation that did not fit after the candidates
        if folder() is None or not RunFolder(folder()).is_job:  # nothing kept: api.sweep left nothing
            raise
        raise InputError(f"{exc}. {_what_is_kept(folder(), exc)}") from None
    _sweep_done(result, folder(), report, again)


def _resume_sweep(ctx: typer.Context) -> None:
    """`sweep --resume` (its options ``ctx.params``): an interrupted sweep finished, by its rule with
    the rule's options given now, its evaluation run on the --backend and --threads given now (else
    as it started)."""
    p = ctx.params
    refuse_with_resume(ctx, ("report", "backend", "threads", *RULE_OPTIONS))
    how = {"backend": p["backend"].value if given(ctx, "backend") else None,
           "threads": p["threads"] if given(ctx, "threads") else None}  # fmt: skip (capped by the resume)
    changes = _rule_changes(ctx)
    registry_checked()  # before the work: a registry that cannot record the run refuses it now
    folder = api.resolve_run(p["resume"])
    apply_kept_options(ctx, RunFolder(folder), ("report",))  # --report, if it started with it
    if not changes and finished_already(RunFolder(folder), "sweep", p["report"]):
        return  # with a rule's option, a re-ranking was meant: refused below, naming --rerank
    again = tuple(options_again(ctx, ("report",)))
    with interruptible(folder, "sweep", again), _resumed_sweeping(folder) as bar:
        result = api.resume_sweep(folder, rule_changes=changes, candidate_progress=_say_candidate,
                                  progress=bar, **how)  # fmt: skip
    say_model_changes(result.loaded)  # its model is read only by the resume: before its results
    _sweep_done(result, folder, p["report"], again)


# what applies to a re-ranking besides the rule's options
RERANK_OPTIONS = ("rerank", "out", "report", "backend", "threads")


def _rerank(ctx: typer.Context) -> None:
    """`sweep --rerank` (its options ``ctx.params``): a finished sweep's candidates ranked by its rule
    with the rule's options given now, written to a new run folder."""
    p = ctx.params
    others = [o.name for o in ctx.command.params if o.name not in (*RERANK_OPTIONS, *RULE_OPTIONS)]
    refuse_unless(ctx, others, False, "cannot apply with --rerank, which ranks a finished sweep's "
                  "candidates on its own scenarios: drop them")  # fmt: skip
    out = p["out"]
    RunFolder.check_new(out)
    registry_checked()
    folder = api.resolve_run(p["rerank"], "--rerank")
    changes = _rule_changes(ctx)
    threads = capped_threads(p["threads"])
    result = api.rerank_sweep(folder, changes, backend=p["backend"].value, threads=threads)
    say_model_changes(result.loaded)
    _say_reranked(folder, result)
    _sweep_done(result, out, p["report"])


def _say_reranked(folder: Path, result) -> None:
    """What a re-ranking of the sweep ``folder`` evaluated again, and what it solved."""
    scenarios = counted(result.evaluation.n_scenarios, "scenario")
    solved = result.solved_now  # a new stress pick's planned buffers
    solves = f"solving only the new pick's {counted(len(solved), 'planned buffer')}" if solved else "no solve"
    # a new pick's second round replaces the old pick's: those rows leave the table
    whose = (f": its own but the old pick's second round ({'; '.join(result.left_out)}), which the new "
             "pick's replaces" if result.left_out else "")  # fmt: skip
    again = "" if result.left_out else " again"
    console.print(
        f"re-ranked {folder}: {counted(len(result.metrics), 'candidate')} evaluated{again} on its "
        f"{scenarios} (seed {result.evaluation.seed}){whose}, {solves}", soft_wrap=True, highlight=False,
    )  # fmt: skip


def _what_is_kept(folder: Path, exc: Exception) -> str:
    """A sweep that failed after making candidates (its evaluation did not fit, its C build failed)
    keeps them."""
    if RunFolder(folder).making_candidates:
        return f"The candidates made so far are kept in {folder}: {resume_command('sweep', folder)}"
    if isinstance(exc, KernelBuildError):
        return (
            f"Its candidates are kept in {folder}: {resume_command('sweep', folder)} once the compiler "
            f"works, or evaluate them with fleetopt evaluate --plans {folder} --backend numpy"
        )
    return (
        f"Its candidates are kept in {folder}: evaluate them with fleetopt evaluate --plans {folder} "
        "(fewer --scenarios, or --max-memory)"
    )


@contextmanager
def _sweeping(scenarios: int, stochastic: bool = False):
    """A sweep's progress: each candidate's solve (its best NPV so far, on stderr, on a terminal; its
    objective with a ``stochastic`` candidate, whose is not NPV alone) and the evaluation's bar, or
    its lines elsewhere; yields the bar's ``progress``."""
    lines = solve_lines(err_console, "objective" if stochastic else "NPV")
    with lines, progress_bar(console, scenarios, lines=err_console) as advance:
        yield advance


def _resumed_sweeping(folder: Path):
    """:func:`_sweeping` for a resumed sweep, as its job.json says (where it cannot be read, the resume
    refuses the folder, saying why, before any solve or evaluation)."""
    try:
        job = RunFolder(folder).job()
    except RunDirError:
        job = {}
    scenarios = job.get("n_scenarios")
    scenarios = scenarios if isinstance(scenarios, int) and scenarios > 0 else 1
    return _sweeping(scenarios, bool(job.get("stochastic_scenarios")))


def _say_candidate(line: str) -> None:
    """Each candidate as it is made: the solves of a large model take minutes in all."""
    console.print(f"  candidate {line}", soft_wrap=True, highlight=False)


def candidate_counts(result, width: int | None = None) -> str:
    """How many candidates were made, how many were evaluated, and each dropped one on a line of its
    own with why, as the report lists them (a paragraph of them ran to 2,500 characters); wrapped at
    ``width`` columns (None: each on one line), its later lines under its first word."""
    made = result.candidates.candidates
    line = f"{counted(len(made), 'candidate')} made, {len(result.metrics)} evaluated"
    dropped = [c for c in made if c.plan is None]
    if not dropped:
        return line
    listed = [f"{c.label}: {dropped_words(c)}" for c in dropped]
    listed = bulleted_lines(listed, width) if width else [f"  - {point}" for point in listed]
    return "\n".join([f"{line}, {len(dropped)} dropped:", *listed])


def _sweep_done(result, folder: Path, report: bool, again: tuple[str, ...] = ()) -> None:
    """Print a sweep's candidates and pick, then write it (a stop meanwhile says what is saved)."""
    with interruptible(folder, "sweep", again) if folder is not None else nullcontext():
        console.print(candidate_counts(result, console.width), soft_wrap=True, highlight=False)
        basis = basis_words(result.data.T, result.data.discount_rate_annual)  # as evaluate's tables say it
        console.print(sweep_table(result.metrics, f"candidates, {basis}"))
        lost = folder is not None and RunFolder(folder).lost_while_running  # written again whole, warned
        path = api.write_sweep_run(result, folder, command=command_line())
        why = result.why_points(path if folder is None else folder)  # a re-ranking's folder: made just now
        console.print(marked("recommended: ", (result.recommended["plan"], "bold")), soft_wrap=True)
        for line in bulleted_lines(why, console.width):  # a settle command in one unbroken: pasted whole
            console.print(line, soft_wrap=True, highlight=False)
        if best := result.best_mean_words():  # a plan no worse than the optimum, with more mean NPV
            console.print(best, highlight=False)
        say_written(path)
        finish_report(path, report)
    if lost:  # a batch system sees that something removed the job's folder under it
        raise typer.Exit(InputError.exit_code)
