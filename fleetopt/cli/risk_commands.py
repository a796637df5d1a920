"""`fleetopt evaluate` and `fleetopt sweep`: plans under uncertainty, resumable batch jobs."""

from __future__ import annotations

from contextlib import nullcontext
from pathlib import Path

import typer

from fleetopt import api
from fleetopt.cli.common import app
from fleetopt.cli.consoles import console, err_console, marked
from fleetopt.cli.evaluate_options import (
    DeterministicFlag,
    EvaluateModelArg,
    EvaluationRankByOption,
    ExecutorOption,
    ExplainedPlanOption,
    ExplainOption,
    KeepMatrixFlag,
    PlansOption,
    PrintedBreachProbOption,
    RankedServiceOption,
    RayAddressOption,
    TopOption,
    WorkersOption,
)
from fleetopt.cli.evaluation_output import print_best, run_speed
from fleetopt.cli.explain_option import explain_request, explained_path_written, print_explained
from fleetopt.cli.finished_ranking import refuse_new_ranking_of_finished
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
from fleetopt.cli.options import (
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
    RankBy,
    ResumableReportFlag,
    ResumeOption,
    ScenariosOption,
    SeedOption,
    SharePurchasesFlag,
    ThreadsOption,
    TimeLimitOption,
)
from fleetopt.cli.render.evaluate import demand_served_table
from fleetopt.cli.render.progress import progress_bar
from fleetopt.cli.render.sweep import bulleted_lines, sweep_table
from fleetopt.cli.resume_options import (
    apply_kept_options,
    drop_kept_floor,
    finished_already,
    kept_for_resume,
    options_again,
)
from fleetopt.cli.set_option import load_changed, say_model_changes
from fleetopt.cli.stops import interruptible
from fleetopt.cli.sweep_options import (
    RULE_OPTIONS,
    AllowForecastBreachFlag,
    AllowRiskierFlag,
    CandidatesOption,
    MaxAnyDefaultProbOption,
    MaxDefaultProbOption,
    MinCvarOption,
    MinServiceOption,
    PreferOption,
    PurchasesCandidatesOption,
    RerankOption,
    StochasticCandidateOption,
    SweepObjectiveOption,
    rule_changes,
    rule_fields,
)
from fleetopt.cli.sweep_output import (
    candidate_counts,
    resumed_sweeping,
    say_candidate,
    say_reranked,
    sweeping,
    what_is_kept,
)
from fleetopt.cli.written import command_line, finish_report, registry_checked, say_written
from fleetopt.core.results.cost import cost_plans_note
from fleetopt.core.results.valuation import basis_words
from fleetopt.errors import InputError, user_path
from fleetopt.evaluate.jobfolder import HOW_IT_RUNS
from fleetopt.evaluate.kernel.compiler import KernelBuildError
from fleetopt.evaluate.metrics import DEFAULT_RANK, default_rank, shown_plans
from fleetopt.evaluate.result import refuse_ranking
from fleetopt.evaluate.scenario_choice import FORECAST_QUARTERS
from fleetopt.evaluate.sources import how_it_finishes
from fleetopt.evaluate.spill import SpillError
from fleetopt.milp.highs import DEFAULT_MIP_GAP
from fleetopt.runs import limits
from fleetopt.runs.folder import RunFolder
from fleetopt.runs.kinds import run_name
from fleetopt.runs.location import runs_dir
from fleetopt.runs.resume import resume_command
from fleetopt.sweep.rule import Rule, RuleNotMet


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
    rank_by: EvaluationRankByOption = None,
    max_breach_prob: PrintedBreachProbOption = None,
    min_service: RankedServiceOption = None,
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
    drop_kept_floor(ctx)  # a floor kept with the ranking a --rank-by given now replaces
    if finished_already(folder, "evaluate", p["report"]):
        return None
    given_how = {"backend": p["backend"].value, "threads": p["threads"], "workers": p["workers"],
                 "executor": p["executor"].value, "ray_address": p["ray_address"],
                 "max_memory": memory_budget(p["max_memory"])}  # fmt: skip
    _refuse_workers_with_ray(ctx, p["executor"].value if given(ctx, "executor") else _kept_executor(folder))
    moved = None if p["plans"] is None else api.resolve_run(p["plans"])
    job = api.resume_evaluation(folder.path, plans=moved,
                                **{k: v for k, v in given_how.items() if given(ctx, k)})  # fmt: skip
    _rank_for(ctx, job)
    return job, folder


def _new_evaluation(ctx: typer.Context):
    """A new evaluation (its options ``ctx.params``): (the job, its run folder, what --explain shows:
    :func:`explain_request`), every option checked before any work, the folder claimed last."""
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
    # refused before the folder is made
    _rank_for(ctx, job)
    explained = explain_request(p["explain"], p["plan"], job, p["scenarios"])
    return job, RunFolder.claim(out, run_name("evaluate", loaded.model.name)), explained


def _rank_for(ctx: typer.Context, job: api.EvaluationJob) -> None:
    """--rank-by (``ctx.params``) for ``job``'s plans: a present cost refused of plans not solved for least
    cost, and a service floor by another figure (:func:`refuse_ranking`); where neither given nor kept by a
    resume, their default (:func:`default_rank`: a lab's plans by mean present cost, others by CVaR5 NPV)."""
    for_cost = job.batch.solved_for_cost  # what decides that its present cost is computed
    if ctx.params["rank_by"] is None:
        ctx.params["rank_by"] = EvaluationRankBy(default_rank(for_cost))
    refuse_ranking(ctx.params["rank_by"].value, for_cost, ctx.params["min_service"])


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
    # a full stop: its last words, "changed by --set", read as cut short without one
    refuse_unless(ctx, ("explain",), not deterministic,
                  f"cannot apply with --deterministic: {FORECAST_QUARTERS}.")
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
    rank_by, max_breach_prob, min_service, top, report = (ctx.params[name] for name in EVALUATE_AGAIN)
    # the report's plan too
    ranking = {"rank_by": rank_by.value, "max_breach_prob": max_breach_prob, "min_service": min_service}
    cost = result.solved_for_cost  # as its display says: the demand served first
    shown = shown_plans(result.metrics, ranking)[0].head(top)
    # a lab's plans: the demand they serve first, what it buys, then the company's finances
    if cost and not shown.empty:
        title = "the demand served (the company's own, as bought: no purchase reacts to the scenario)"
        console.print(demand_served_table(shown, title, job.data.T, one=result.seed is None))
        console.print(f"Note: {cost_plans_note(result.n_plans)}.", highlight=False)
    se = result.first_place_error(**ranking)  # how sure its first place is: said, and kept by the writer
    print_best(result, ranking, top, job.data, cost, se, by_default=not options_again(ctx, ("rank_by",)))
    lost = folder.lost_while_running  # written again whole, with a warning
    path = api.write_evaluate_run(result, job.loaded, job.source, folder.path, command=command_line(),
                                  ranking=ranking)  # fmt: skip
    picked = None if explained is None else explained_path_written(job, explained, path)
    say_written(path)  # path.csv and path.json among its files
    if picked is not None:
        print_explained(job, *picked, path)
    finish_report(path, report)
    return lost


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


# what a resumed evaluation is given again to end as the run would have: job.json keeps the run's
# own settings, not what is printed, ranked or reported
EVALUATE_AGAIN = ("rank_by", "max_breach_prob", "min_service", "top", "report")


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
    min_service: MinServiceOption = None,
    rerank: RerankOption = None,
) -> None:
    """Generate candidate plans (forecast and stress optima, variations; with --stochastic, the
    two-stage stochastic plan; with --purchases, yours), evaluate them on common scenarios, and
    recommend one by a rule; prints the Pareto front. Every candidate maximises NPV, or, with
    --objective cost, is solved for least present cost and ranked by its mean over the scenarios."""
    # each step reads the options it needs from ctx.params, where a resume puts back --report
    if rerank is not None:
        return _rerank(ctx)
    if resume is not None:
        return _resume_sweep(ctx)
    _new_sweep(ctx)


def _new_sweep(ctx: typer.Context) -> None:
    """A new sweep (its options ``ctx.params``): every option checked before the model is read."""
    p = ctx.params
    refuse_without_stochastic(ctx, ("share_purchases",))
    RunFolder.check_new(p["out"])  # before the model is even read
    rule = Rule(**rule_fields(ctx)).for_objective(p["objective"].value)
    threads = capped_threads(p["threads"])
    registry_checked()
    settings = {"candidates": p["candidates"], "scenarios": p["scenarios"], "seed": p["seed"], "rule": rule,
                "backend": p["backend"].value, "mip_gap": p["mip_gap"], "time_limit": p["time_limit"],
                "threads": threads, "stochastic": p["stochastic"] or 0, "purchases": p["purchases"] or [],
                "stochastic_mip_gap": stochastic_gap(ctx, p["mip_gap"]),
                "share_purchases": p["share_purchases"], "objective": p["objective"].value}  # fmt: skip
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
        progress = sweeping(settings["scenarios"], settings["stochastic"] > 0)
        with interruptible(folder, "sweep", again), progress as bar:
            result = api.sweep(
                loaded, **settings, folder=True if out is None else out, on_folder=started,
                candidate_progress=say_candidate, resume_options=again, progress=bar,
            )  # fmt: skip
    except RuleNotMet:  # every candidate evaluated: the folder is kept, a looser rule finishes it
        raise
    except InputError as exc:  # bad input, or an evaluation that did not fit after the candidates
        if folder() is None or not RunFolder(folder()).is_job:  # nothing kept: api.sweep left nothing
            raise
        raise InputError(f"{exc}. {what_is_kept(folder(), exc)}") from None
    _sweep_done(result, folder(), report, again)


def _resume_sweep(ctx: typer.Context) -> None:
    """`sweep --resume` (its options ``ctx.params``): an interrupted sweep finished, by its rule with
    the rule's options given now, its evaluation run on the --backend and --threads given now (else
    as it started)."""
    p = ctx.params
    refuse_with_resume(ctx, ("report", "backend", "threads", *RULE_OPTIONS))
    how = {"backend": p["backend"].value if given(ctx, "backend") else None,
           "threads": p["threads"] if given(ctx, "threads") else None}  # fmt: skip (capped by the resume)
    changes = rule_changes(ctx)
    registry_checked()  # before the work: a registry that cannot record the run refuses it now
    folder = api.resolve_run(p["resume"])
    apply_kept_options(ctx, RunFolder(folder), ("report",))  # --report, if it started with it
    if not changes and finished_already(RunFolder(folder), "sweep", p["report"]):
        return  # with a rule's option, a re-ranking was meant: refused below, naming --rerank
    again = tuple(options_again(ctx, ("report",)))
    with interruptible(folder, "sweep", again), resumed_sweeping(folder) as bar:
        result = api.resume_sweep(folder, rule_changes=changes, candidate_progress=say_candidate,
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
    changes = rule_changes(ctx)
    threads = capped_threads(p["threads"])
    result = api.rerank_sweep(folder, changes, backend=p["backend"].value, threads=threads)
    say_model_changes(result.loaded)
    say_reranked(folder, result)
    _sweep_done(result, out, p["report"])


def _sweep_done(result, folder: Path, report: bool, again: tuple[str, ...] = ()) -> None:
    """Print a sweep's candidates and pick, then write it (a stop meanwhile says what is saved)."""
    with interruptible(folder, "sweep", again) if folder is not None else nullcontext():
        console.print(candidate_counts(result, console.width), soft_wrap=True, highlight=False)
        # as evaluate's tables say it: a sweep by cost's table gives present costs, no NPV
        basis = basis_words(result.data.T, result.data.discount_rate_annual, figures=(result.rule.objective,))
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
