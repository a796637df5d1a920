"""Running a sweep: candidates generated, saved, evaluated chunk by chunk (resumable), then the
front and the rule's pick, written to a run folder. The candidates and the choice itself are in
:mod:`fleetopt.sweep`."""

from __future__ import annotations

import functools
import shlex
from collections.abc import Collection, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import pandas as pd

from fleetopt import __version__
from fleetopt.core.data import ModelData, load
from fleetopt.core.purchases import TABLE_SOURCE, FixedPurchases, parse_purchases, purchases_for
from fleetopt.core.units import (
    format_gap,
    sizes_apart,
)
from fleetopt.errors import Argument, FleetoptError, InputError, warn
from fleetopt.evaluate.backend import BACKENDS, BackendError
from fleetopt.evaluate.backend_choice import check_backend_runs, choose_backend
from fleetopt.evaluate.batch import PlanFileError
from fleetopt.evaluate.chunk_store import ChunkStore
from fleetopt.evaluate.chunking import MemoryBudgetError
from fleetopt.evaluate.engine import evaluate
from fleetopt.evaluate.jobfolder import checked_how, job_model, resumed_threads, started_elsewhere
from fleetopt.evaluate.metrics import (
    DEFAULT_RANK,
    FORECAST_OK,
)
from fleetopt.evaluate.planfile import load_plans
from fleetopt.evaluate.resources import capped_threads
from fleetopt.evaluate.sources import fitted_note, resume_advice
from fleetopt.milp.build import OBJECTIVES
from fleetopt.milp.highs import DEFAULT_MIP_GAP, STOCHASTIC_MIP_GAP
from fleetopt.runs import limits
from fleetopt.runs.files import json_kind, read_json, signals_deferred
from fleetopt.runs.folder import RunFolder
from fleetopt.runs.kinds import KIND_NOUNS
from fleetopt.runs.resume import RESUME_OPTIONS, resume_command
from fleetopt.runs.run_files import RunDirError
from fleetopt.schema.base import MAX_USD
from fleetopt.schema.loaded_model import LoadedModel
from fleetopt.schema.shown_values import quoting_json, shown_json_value
from fleetopt.stochastic.screening import screened_count
from fleetopt.sweep.cancelled import (
    CancelledOrders,
    nearly_always_cancelled,
)
from fleetopt.sweep.candidate_record import AFTER_PICK_ORIGINS, ORIGINS, Candidate
from fleetopt.sweep.candidates import (
    CandidateSet,
    candidates_batch,
    check_proposals,
    generate_candidates,
    second_round,
    without_orders,
)
from fleetopt.sweep.recommendation import (
    best_mean_alternative,
    cancels_often,
    idle_buffers,
    idle_note,
    pick_lead,
    same_rule_words,
    unbuffered_words,
)
from fleetopt.sweep.result import (
    SHARE_PURCHASES_KEPT,
    TIME_LIMIT_KEPT,
    SweepResult,
    candidate_list,
    plans_file,
    rule_then,
    solve_settings,
    stochastic_settings,
)
from fleetopt.sweep.rule import COST_RANK, Rule, RuleNotMet, front_figures, pareto_front, recommend
from fleetopt.sweep.stochastic_candidate import StochasticCandidate, check_stochastic_candidate


@dataclass(frozen=True)
class PreparedSweep:
    """A sweep's inputs read and checked (:func:`prepare_sweep`), before any folder is claimed:
    its model, the proposals read from ``purchases`` and the settings job.json keeps."""

    loaded: LoadedModel
    data: ModelData
    proposals: list[FixedPurchases]
    settings: dict


def prepare_sweep(
    model: str | Path | LoadedModel | None = None,
    *,
    candidates: int = limits.DEFAULT_CANDIDATES,
    scenarios: int = limits.DEFAULT_SCENARIOS,
    seed: int = 0,
    rule=None,
    backend: str = "auto",
    mip_gap: float = DEFAULT_MIP_GAP,
    time_limit: float | None = None,
    threads: int | None = None,
    stochastic: int = 0,
    stochastic_mip_gap: float = STOCHASTIC_MIP_GAP,
    share_purchases: bool = False,
    purchases: Sequence[str | Path | FixedPurchases] = (),
    resume_options: Sequence[str] = (),
    objective: str = "npv",
) -> PreparedSweep:
    """A sweep's settings checked and its model and ``purchases`` read, once, before its folder is
    claimed (a bad --stochastic or --purchases is refused before there is any folder to let go of):
    :func:`run_sweep` runs it.

    ``purchases``: CSV files of procurement plans written by people (as `fleetopt solve
    --purchases` reads them), each a candidate "yours: FILE" with its purchases fixed and the rest
    the forecast's best, origin "proposal"; job.json keeps their text for a resume.

    ``stochastic`` N > 0 adds the two-stage stochastic plan over N scenarios (reduced from seed
    ``seed + 1``, never the scenarios the sweep evaluates on) as a candidate, origin "stochastic",
    solved to ``stochastic_mip_gap`` (1 %, as :func:`fleetopt.api.solve_stochastic`'s; the other
    candidates to ``mip_gap``), with ``share_purchases`` every purchase, power block and draw shared
    by its scenarios (as that function's ``share_purchases``). ``resume_options``: what the command
    that resumes it is to be given again, the CLI's --report
    (:data:`~fleetopt.runs.resume.RESUME_OPTIONS`).

    ``objective`` "cost": every candidate solved for least present cost (a lab's plans), ranked by a
    rule by cost (None: ``Rule(prefer="cost")``, :meth:`Rule.for_objective`)."""
    limits.text("objective", objective, OBJECTIVES)
    rule = (rule or Rule(prefer=COST_RANK if objective == "cost" else DEFAULT_RANK)).for_objective(objective)
    _check_sweep_arguments(candidates, scenarios, seed, mip_gap, time_limit, threads)
    threads = capped_threads(threads)  # beyond the usable cores, with a warning
    limits.mip_gap("stochastic_mip_gap", stochastic_mip_gap)
    loaded, data = load(model)
    if stochastic and objective == "cost":
        raise InputError.naming(Argument("stochastic", "--stochastic"), " cannot apply with --objective "
                                "cost: the two-stage stochastic plan maximises NPV")  # fmt: skip
    check_stochastic_candidate(data, stochastic, candidates, share_purchases)
    proposals = read_proposals(purchases, data)
    check_proposals(proposals, candidates, stochastic)
    settings = {
        "kind": "sweep",
        "model_hash": loaded.content_hash,
        **loaded.origin_record,  # read at the start: a resume reads the folder's copy, and these
        "candidates": candidates,
        "mip_gap": mip_gap,
        "time_limit": time_limit,
        "stochastic_scenarios": stochastic,
        "stochastic_mip_gap": stochastic_mip_gap,
        SHARE_PURCHASES_KEPT: share_purchases,
        "purchases": [{"file": f.source, "text": f.text} for f in proposals],
        "n_scenarios": scenarios,
        "seed": seed,
        "backend": backend,
        "threads": threads,
        "rule": vars(rule),
        RunFolder.CANDIDATES_COMPLETE: False,
        **({RESUME_OPTIONS: list(resume_options)} if resume_options else {}),
    }
    return PreparedSweep(loaded, data, proposals, settings)


def run_sweep(
    prepared: PreparedSweep, folder: str | Path | None = None, progress=None, candidate_progress=None
):
    """Generate the candidate plans of a :func:`prepare_sweep`, evaluate them on common scenarios,
    find the front and the rule's pick; where that pick is neither the forecast optimum nor a
    cash-buffer candidate, evaluate it run with its own two larger buffers too, and, for a stress
    optimum, those buffers planned (:func:`~fleetopt.sweep.candidates.second_round`, beyond
    ``candidates``, each solve announced to ``candidate_progress``) and pick again over them all,
    once.

    With ``folder`` (new or empty), each candidate as it is made and every finished evaluation chunk
    are saved there, so :func:`resume_sweep` can finish an interrupted sweep without solving or
    evaluating again what was saved; a sweep with no plan for the forecast leaves nothing there.
    ``candidate_progress`` is called with one line per candidate as it is made ("<label>: <status> (<k> of
    <n>)", k counting those with a plan; "<label>: <status>" for one without); ``progress`` as
    the evaluation goes. Returns a :class:`SweepResult`.
    """
    loaded, data, settings = prepared.loaded, prepared.data, prepared.settings
    # an unusable backend, or more scenarios than memory holds, fails before the solves, not after
    check_backend_runs(data, settings["n_scenarios"], settings["backend"], settings["threads"],
                       n_plans=settings["candidates"])  # fmt: skip
    if folder is not None:
        RunFolder(folder).start_job({RunFolder.MODEL: loaded.text}, settings)
    try:
        cands = _make_candidates(loaded, data, settings, folder, [], candidate_progress, prepared.proposals)
    except FleetoptError:  # no plan for the forecast (infeasible, out of time): nothing to resume
        if folder is not None and not saved_candidates(RunFolder(folder)):
            RunFolder(folder).discard()  # else `fleetopt runs` listed it as an interrupted sweep
        raise
    try:
        return _finish_sweep(loaded, data, cands, settings, progress, folder, candidate_progress)
    except RuleNotMet as exc:
        if folder is not None:  # said how to finish it from its folder
            raise
        raise _nothing_kept(exc) from None


def _nothing_kept(exc: RuleNotMet) -> RuleNotMet:
    """A sweep in memory (the Python API) that no candidate met: its solves and evaluation are lost."""
    looser = exc.looser("sweep again") or ("sweep again with a looser rule",)
    return RuleNotMet.naming(
        *exc.message_parts(), ". Nothing was kept (no folder): ", *looser, "; give "
        "folder= (fleetopt.api.sweep(..., folder='runs/my-sweep')) and a rule no candidate meets "
        "keeps the candidates and their evaluation, which fleetopt.api.resume_sweep finishes "
        "with a looser rule without solving again",
        loosen=exc.loosen, values=exc.values,
    )


def _check_sweep_arguments(candidates, scenarios, seed, mip_gap, time_limit, threads) -> None:
    """The limits the CLI's options have, for a sweep asked for from Python."""
    limits.candidates("candidates", candidates)
    limits.scenarios("scenarios", scenarios)
    limits.seed("seed", seed)
    limits.solver_settings(mip_gap, time_limit, threads)


def _make_candidates(loaded, data, settings: dict, folder, saved, progress, proposals) -> CandidateSet:
    """The sweep's candidates, those in ``saved`` taken as they are, ``proposals`` (checked) among
    them; with ``folder``, each new one saved there as it is made, and the job marked as having
    them all at the end."""
    n_sto = settings["stochastic_scenarios"]
    seed = limits.stochastic_seed(settings["seed"])  # not the scenarios the sweep evaluates on
    gap = settings.get("stochastic_mip_gap")  # None in sweeps started before it had its own
    gap = settings["mip_gap"] if gap is None else gap
    shared = bool(settings.get(SHARE_PURCHASES_KEPT))  # None: a sweep started before it was offered
    spec = StochasticCandidate(n_sto, seed, settings["backend"], gap, shared) if n_sto else None
    on_made = None if folder is None else lambda made: _save_candidates(RunFolder(folder), loaded, data, made)
    cands = generate_candidates(
        data, settings["candidates"], mip_gap=settings["mip_gap"], time_limit=settings["time_limit"],
        threads=settings["threads"], stochastic=spec, progress=progress, saved=saved, on_made=on_made,
        proposals=proposals, objective=Rule(**settings["rule"]).objective,
    )  # fmt: skip
    if folder is not None:  # each new candidate is already saved (on_made)
        # the file's settings, not this resume's (a --backend or capped --threads given for it)
        RunFolder(folder).write_job({**RunFolder(folder).job(), RunFolder.CANDIDATES_COMPLETE: True})
    return cands


def _save_candidates(run: RunFolder, loaded: LoadedModel, data: ModelData, cands: CandidateSet) -> None:
    """The candidates made so far: their plans, then their list (each file replaced atomically, so
    every listed plan is in the plans file)."""
    with signals_deferred():  # a stop between the two would leave a plan the list does not name
        if cands.feasible:
            run.write_files({RunFolder.PLANS: plans_file(loaded, data, cands)})
        run.write_files({RunFolder.CANDIDATES: candidate_list(cands)})


def read_proposals(purchases, data: ModelData) -> list[FixedPurchases]:
    """Each of ``purchases`` read for ``data``'s model (:func:`purchases_for`), named by its file, by
    its key where ``purchases`` is a dict ({"orders A": table, ...}), or, for tables given in a
    list, "purchases table 1", "purchases table 2" ... (one table: "purchases table")."""
    named = purchases.items() if isinstance(purchases, dict) else [(None, given) for given in purchases]
    out = []
    for name, given in named:
        fixed = purchases_for(given, data)
        if name is not None:
            limits.one_line("purchases (a name)", limits.text("purchases (a name)", name))  # it names a plan
            if not name.strip() or "/" in name or name in (".", ".."):  # it names a candidate, not a file
                raise InputError(f"purchases: {name!r} cannot name a candidate (a name without '/', "
                                 "not empty): give another")  # fmt: skip
            fixed = replace(fixed, source=name)
        out.append(fixed)
    tables = [k for k, fixed in enumerate(out) if fixed.source == TABLE_SOURCE]
    for n, k in enumerate(tables if len(tables) > 1 else [], start=1):
        out[k] = replace(out[k], source=f"{TABLE_SOURCE} {n}")
    return out


def resume_sweep(
    folder: str | Path, progress=None, rule_changes: dict | None = None, candidate_progress=None,
    how: dict | None = None,
):
    """Finish an interrupted sweep: the candidates it saved are taken as they are, only those it had
    not made are solved, and only missing evaluation chunks are evaluated. ``rule_changes`` (fields
    of :class:`Rule`) replace those of the rule it was started with: a sweep whose rule no candidate
    met finishes with a looser one. ``how``: the evaluation's ``backend`` and ``threads`` for this
    resume in place of job.json's (its chunks are kept; the figures agree to 1e-12 across backends).
    The folder is locked to this process (:meth:`RunFolder.hold_lock`) until the sweep is written, or
    until the resume fails."""
    how = checked_how(how or {}, ("backend", "threads"))
    # locked before anything is read: another process may be running it, or finishing it
    with RunFolder(folder).locked_for_run() as run:
        return _resumed_sweep(run, progress, rule_changes, candidate_progress, how)


def _resumed_sweep(
    run: RunFolder, progress, rule_changes: dict | None, candidate_progress, how: dict
) -> SweepResult:
    if run.is_job and run.job().get("kind") == "evaluate":
        if run.is_finished:
            raise RunDirError(
                f"{run.path} is an evaluation's folder, not a sweep's, and finished: nothing to resume"
            )
        raise PlanFileError.naming(f"{run.path} is an evaluation's folder: finish it with ",
                                   resume_advice("evaluate", run.path))
    if run.is_finished and (run.is_job or run.kind == "sweep"):  # its job folder, or a re-ranked sweep's
        raise RunDirError.naming(
            f"{run.path}: this sweep already finished. Its candidates ranked by another rule, into a new "
            "run folder: ", _rerank_advice(run.path)
        )
    if not run.is_job:
        kind = f" ({run.kind}'s folder)" if run.is_finished and run.kind else ""
        raise RunDirError(f"{run.path}: not a resumable sweep{kind} (no {RunFolder.JOB})")
    started = _checked_sweep_job(run)
    run.check_job_version()
    settings = {**started, **how}  # job.json keeps its own (its chunk sizes are added to the file)
    settings["threads"] = resumed_threads(settings["threads"])
    # the rule given now picks among the evaluated candidates; job.json keeps the one it started with
    rule = Rule.checked_fields("rule", {**settings["rule"], **(rule_changes or {})})
    Rule(**rule).for_objective(Rule(**settings["rule"]).objective)  # the candidates' own, as solved
    loaded, data = load(job_model(run, settings))
    # a machine with less memory than before, or without the compiler the sweep was started with
    try:
        check_backend_runs(data, settings["n_scenarios"], settings["backend"], settings["threads"],
                           n_plans=settings["candidates"])  # fmt: skip
    except BackendError as exc:
        resume = resume_command("sweep", run.path)
        raise started_elsewhere(exc, how, settings["backend"], resume) from None
    saved = saved_candidates(run, data)
    if settings[RunFolder.CANDIDATES_COMPLETE]:
        if not saved:
            raise PlanFileError(f"{run.path}: not a resumable sweep (no {RunFolder.CANDIDATES})")
        cands = CandidateSet(saved)
    else:
        proposals = _kept_proposals(settings, data)
        cands = _make_candidates(loaded, data, settings, run.path, saved, candidate_progress, proposals)
    settings = {**settings, "rule": rule}
    return _finish_sweep(loaded, data, cands, settings, progress, run.path, candidate_progress)


def _rerank_advice(folder: Path) -> Argument:
    """How to rank a finished sweep's candidates by another rule into a new run folder, as a notebook
    calls it and as the command line types it."""
    return Argument(
        f"fleetopt.api.write_sweep_run(fleetopt.api.rerank_sweep({str(folder)!r}, rule_changes)), "
        "rule_changes the rule's fields to change, e.g. {'prefer': 'mean'}",
        f"fleetopt sweep --rerank {folder} with the rule's options (--prefer, --max-breach-prob, "
        "--max-default-prob, --max-any-default-prob, --min-cvar, --allow-forecast-breach, --allow-riskier)",
    )


def rerank_sweep(
    folder: str | Path, rule_changes: dict | None = None, backend: str = "auto", threads: int | None = None,
    progress=None,
) -> SweepResult:
    """A finished sweep's candidates ranked by another rule, with no solve but a new stress pick's
    planned buffers (its second round, solved as the sweep solved its candidates): the rule it finished
    with, ``rule_changes`` (fields of :class:`Rule`) replacing its fields. Its plans are evaluated
    again on its scenarios (the same seeded futures, so the same figures on a version of fleetopt
    that simulates as its did) to give the front and the pick. The folder is only read: write the
    result to a new one (:func:`write_sweep_run`); the result's ``reranked_from`` names it."""
    run = RunFolder(folder)
    summary = _finished_sweep_summary(run)
    finished = finished_rule(run, summary)
    rule = Rule.checked_fields("the rule", {**finished, **(rule_changes or {})})
    Rule(**rule).for_objective(Rule(**finished).objective)  # the candidates' own, as solved
    loaded, data = load(job_model(run, summary, RunFolder.SUMMARY))
    cands = CandidateSet(saved_candidates(run, data))
    if not cands.feasible:
        raise PlanFileError(f"{run / RunFolder.CANDIDATES} lists no candidate with a plan: nothing to rank")
    try:
        check_backend_runs(data, summary["n_scenarios"], backend, threads, n_plans=len(cands.feasible))
    except MemoryBudgetError as exc:  # its remedy, fewer --scenarios, is no option of a re-ranking
        raise _too_many_to_rerank(run, summary["n_scenarios"], exc) from None
    made_by = summary.get("fleetopt_version")
    if made_by != __version__:  # the plans are kept; their figures are this version's
        by = f"fleetopt {made_by}" if made_by is not None else "a fleetopt that kept no fleetopt_version"
        warn(f"{run.path} was written by {by}, this is {__version__}: its candidates are evaluated again "
             "by this version, whose figures may differ from the sweep's")  # fmt: skip
    # its planned buffers solved as the sweep's candidates were, on this machine's threads
    solve = {"mip_gap": summary.get("mip_gap"), "time_limit": summary.get(TIME_LIMIT_KEPT)}
    settings = {**summary, **solve, "backend": backend, "threads": threads, "rule": rule}
    then = rule_then(summary, Rule(**rule))
    try:
        result = _finish_sweep(loaded, data, cands, settings, progress, None)
    except RuleNotMet as exc:  # said how to loosen it, as a sweep's resume says
        looser = exc.looser(shlex.join(["fleetopt", "sweep", "--rerank", str(run.path)]),
                            f"fleetopt.api.rerank_sweep({str(run.path)!r}, rule_changes={{changes}})")
        changed = "" if then is None else f". {then.words()}"
        how = (". Rank it by a looser rule: ", *looser) if looser else ()
        raise RuleNotMet.naming(*exc.message_parts(), changed, *how, loosen=exc.loosen,
                                values=exc.values) from None  # fmt: skip
    result.reranked_from = run.path.resolve()
    result.rule_then = then
    return result


def _too_many_to_rerank(run: RunFolder, n_scenarios: int, exc: MemoryBudgetError) -> MemoryBudgetError:
    """A finished sweep whose scenarios are too many for this machine's memory: re-ranked on them
    alone, so on a machine with more (or its summary.json's n_scenarios was damaged)."""
    need, budget = sizes_apart(exc.need_bytes, exc.budget_bytes)
    return MemoryBudgetError(
        f"{run / RunFolder.SUMMARY}: its n_scenarios, {limits.shown_whole(n_scenarios)}, need {need} of "
        f"working memory for each plan's results, more than this machine's budget of {budget}: a sweep "
        "is re-ranked on its own scenarios, so re-rank it on a machine with more memory",
        exc.need_bytes, exc.budget_bytes,
    )  # fmt: skip


def _finished_sweep_summary(run: RunFolder) -> dict:
    """A finished sweep's summary.json, with what a re-ranking reads checked (each field named)."""
    if not run.is_finished or run.kind != "sweep":
        if run.is_finished and run.kind is None:  # fleetopt writes it in every summary.json
            what = (f"its {RunFolder.SUMMARY} has no field 'kind' (a sweep's is 'sweep'): the file was "
                    "damaged or edited")  # fmt: skip
        elif run.is_finished:  # a kind not of KIND_NOUNS is refused as summary.json is read
            what = f"{KIND_NOUNS[run.kind]}'s folder, not a sweep's"
        elif run.is_job and run.job().get("kind") == "sweep":
            raise PlanFileError.naming(f"{run.path}: an unfinished sweep: finish it with ",
                                       resume_advice("sweep", run.path))
        else:
            what = "not a finished sweep's folder"
        raise PlanFileError(f"{run.path}: {what}")
    summary, path = run.summary(), run / RunFolder.SUMMARY
    if not (run / RunFolder.CANDIDATES).exists():
        raise PlanFileError(
            f"{run.path} has no {RunFolder.CANDIDATES} (written from Python by an earlier fleetopt): sweep "
            f"again, or rank its plans on other scenarios with fleetopt evaluate --plans {run.path}"
        )
    for name, check in (("n_scenarios", limits.scenarios), ("seed", limits.seed)):
        summary[name] = limits.job_setting(summary, path, name, check)
    for name in ("model_hash", "model_source", "rule"):
        summary[name] = limits.job_setting(summary, path, name, limits.text)
    # its stochastic candidate's settings, which the re-ranking's summary.json keeps (none: an older sweep)
    for name, check in (("stochastic_scenarios", _stochastic_scenarios), (SHARE_PURCHASES_KEPT, limits.flag)):
        summary[name] = limits.job_setting(summary, path, name, check, optional=True)
    return summary


def finished_rule(run: RunFolder, summary: dict) -> dict:
    """The fields of the rule a finished sweep chose by (:func:`rule_chosen_by`), checked; refused
    where its files do not say."""
    rule = rule_chosen_by(summary, run.job() if run.is_job else {}, run.path)
    if rule is None:
        raise PlanFileError(
            f"{run / RunFolder.SUMMARY} does not keep the fields of its rule ({summary['rule']}), which was "
            "not the one it started with (job.json's): sweep again to re-rank it"
        )
    with quoting_json():
        return Rule.checked_fields(f"{run / RunFolder.SUMMARY}: rule_settings", rule)


def rule_chosen_by(summary: dict, job: dict, folder: Path) -> dict | None:
    """The fields of the rule a finished sweep chose by: its summary.json's ``rule_settings``, or,
    for a sweep written before it kept them, its job.json's rule where the summary's ``rule``
    describes it (a sweep resumed with a looser rule finished with another); None where neither
    says (the report then quotes the summary's words). ``rule_settings`` without a field that every
    sweep keeping them wrote is refused, naming ``folder``'s summary.json and the fields."""
    if isinstance(summary.get("rule_settings"), dict):
        _check_rule_kept(summary["rule_settings"], folder)
        return summary["rule_settings"]
    started = job.get("rule")
    if not isinstance(started, dict):
        return None
    try:
        return started if same_rule_words(Rule(**started).describe(), summary.get("rule")) else None
    except (InputError, TypeError):  # a damaged or hand-edited job.json
        return None


# the rule's fields a summary.json's rule_settings lacks where a fleetopt written before the rule had
# them kept it: that sweep had no such limit, which is the field's default
RULE_FIELDS_ADDED = ("max_any_default_prob", "min_service")


def _check_rule_kept(kept: dict, folder: Path) -> None:
    """Refuse rule_settings lacking a field fleetopt always wrote there ({} too): taken as its
    default, the rule re-ranked by or reported would not be the one the sweep chose by."""
    missing = [name for name in vars(Rule()) if name not in kept and name not in RULE_FIELDS_ADDED]
    if missing:
        raise PlanFileError(
            f"{folder / RunFolder.SUMMARY}: rule_settings has no {', '.join(missing)}, which fleetopt "
            f"writes with the rule's other fields: {limits.DAMAGED}"
        )


def saved_candidates(run: RunFolder, data=None) -> list[Candidate]:
    """The candidates a sweep's folder holds, in the order they were made (with their plans when
    ``data`` is given); none before the first is saved. A damaged list is refused by name."""
    path = run / RunFolder.CANDIDATES
    if not path.exists():
        return []
    try:
        entries = enumerate(_listed_entries(path), 1)
        made = [_listed_candidate(c, f"{path}: {_entry_name(n, c)}") for n, c in entries]
    except (OSError, ValueError) as exc:
        raise PlanFileError(
            f"{path} cannot be read as a sweep's candidates ({exc}): the file was damaged or edited"
        ) from None
    except InputError as exc:  # PlanFileError: what its readers catch
        raise PlanFileError(str(exc)) from None
    _check_origins(path, made)
    _check_references(path, made)
    tried = run.summary().get("candidates_tried") if run.is_finished else None
    if isinstance(tried, int) and tried != len(made):  # a finished sweep lists every candidate it made
        raise PlanFileError(
            f"{path} lists {len(made)} candidates where {RunFolder.SUMMARY} counts "
            f"{limits.shown_whole(tried)}: the files were damaged or edited"
        )
    planned = [c for c in made if c.has_plan]
    if data is not None and planned:
        plans, labels, _ = load_plans(run / RunFolder.PLANS, data)
        by_label = dict(zip(labels, plans, strict=True))
        listed = {c.label for c in planned}
        unlisted = [label for label in labels if label not in listed]
        # the plans file is written first: one killed between the two writes holds the newest
        # candidate unlisted, last; an unlisted plan before a listed one was dropped from the list,
        # and a finished sweep (summary.json written last) lists every plan
        if unlisted and (run.is_finished or labels[-len(unlisted) :] != unlisted):
            raise PlanFileError(
                f"{path} does not list {', '.join(map(repr, unlisted))}, whose plans {RunFolder.PLANS} "
                "holds: the files were damaged or edited"
            )
        for c in planned:
            if c.label not in by_label or c.forecast_npv_usd is None:
                raise PlanFileError(
                    f"{path}: candidate {c.label!r} ({c.status}) has no plan in {RunFolder.PLANS} or no "
                    "forecast_npv_usd: the files were damaged or edited"
                )
            c.plan = by_label[c.label]
    return made


def stochastic_candidates_note(
    run: RunFolder, seed: int, scenarios: int, labels: Collection[str] | None = None
) -> tuple[str | Argument, ...] | None:
    """:func:`~fleetopt.api.in_sample_note` of a sweep's stochastic candidate (and its cash-buffer
    variants): solved as ``fleetopt solve --stochastic N`` on the first
    :func:`~fleetopt.stochastic.screening.screened_count` of seed + 1
    (:func:`~fleetopt.runs.limits.stochastic_seed`); None where it has none, or none among ``labels``
    (the candidates that are run; None: every one)."""
    if not run.is_job:  # a sweep written from memory, or a rerank: no job.json keeps its settings
        return None
    settings = run.job()
    n = settings.get("stochastic_scenarios")
    if not isinstance(n, int) or n < 1 or not isinstance(settings.get("seed"), int):
        return None
    try:
        made = saved_candidates(run)
    except PlanFileError:  # a damaged sweep is refused where its candidates are read, not here
        return None
    solved = {c.label for c in made if c.origin == "stochastic"}
    fitted = [c.label for c in made if c.has_plan and (labels is None or c.label in labels)
              and (c.label in solved or c.buffer_of in solved)]  # fmt: skip
    if not fitted:
        return None
    fit = {"scenario_seed": limits.stochastic_seed(settings["seed"]),
           "screened": screened_count(n)}  # fmt: skip
    which = ", ".join(repr(label) for label in fitted)
    other = "one its candidates met in no run"
    return fitted_note(f"the sweep {run.path} ({which})", fit, seed, scenarios, other)


def _check_origins(path, made: list[Candidate]) -> None:
    """Every candidate of a known origin, the first (and only it) the forecast optimum, which the
    recommendation is read against: an edited origin gave a traceback on rerank and resume."""
    strange = next((c for c in made if c.origin not in ORIGINS), None)
    if strange is not None:
        raise PlanFileError(f"{path}: candidate {strange.label!r} has origin {strange.origin!r}, not one of "
                            f"{', '.join(ORIGINS)}: the file was damaged or edited")  # fmt: skip
    later = next((c for c in made if c.second_round and c.origin not in AFTER_PICK_ORIGINS), None)
    if later is not None:  # set on the forecast optimum, it left nothing to evaluate: a traceback
        raise PlanFileError(f"{path}: candidate {later.label!r} has second_round true, which only a "
                            "candidate made from the rule's pick may have (origin "
                            f"{' or '.join(map(repr, AFTER_PICK_ORIGINS))}; its "
                            f"origin: {later.origin!r}): the file was damaged or edited")  # fmt: skip
    forecast = [c.label for c in made if c.origin == "forecast"]
    if made and (made[0].origin != "forecast" or len(forecast) != 1):
        which = ", ".join(map(repr, forecast)) or "none"
        raise PlanFileError(f"{path}: its first candidate, and only that one, is the forecast optimum "
                            f"(origin 'forecast'; here: {which}): the file was damaged or edited")


def _check_references(path, made: list[Candidate]) -> None:
    """Every ``same_as`` and ``buffer_of`` the label of a candidate listed: one naming none was taken,
    and the candidate said to duplicate or buffer a plan the sweep never made."""
    labels = {c.label for c in made}
    for c in made:
        for name in ("same_as", "buffer_of"):
            other = getattr(c, name)
            if other is not None and other not in labels:
                raise PlanFileError(f"{path}: candidate {c.label!r} has {name} {other!r}, which is not the "
                                    "label of a candidate it lists: the file was damaged or edited")


def _listed_entries(path: Path) -> list[dict]:
    """candidates.json's list of objects, one a candidate; anything else refused as not that: an entry
    "x" was refused as a candidate with no field forecast_npv_usd, a number as Python's words."""
    listed = read_json(path.read_text(encoding="utf-8"))
    if not isinstance(listed, list):
        raise PlanFileError(f"{path} holds a JSON {json_kind(listed)}, not a sweep's list of candidates: "
                            "the file was damaged or edited")  # fmt: skip
    for n, entry in enumerate(listed, 1):
        if not isinstance(entry, dict):
            raise PlanFileError(f"{path}: entry {n} of its list is {shown_json_value(entry)}, not an object "
                                "of a candidate's fields: the file was damaged or edited")  # fmt: skip
    return listed


def _entry_name(n: int, c: dict) -> str:
    """An entry of candidates.json as its refusals name it: by its label, else by its place."""
    label = c.get("label")
    return f"candidate {label!r}" if isinstance(label, str) else f"entry {n}"


def _listed_candidate(c: dict, where: str) -> Candidate:
    """A candidate of candidates.json (``where``: the file and the entry, as refusals name them),
    each field checked as job.json's settings are: a field of the wrong type (a label of 3, a buffer
    "abc") was taken in silence or refused in Python's words, without the field."""
    def field(name: str, check, *args, optional: bool = False):
        return limits.job_setting(c, where, name, check, *args, optional=optional)

    def number_or_null(name: str, low: float | None = None, high: float | None = None, optional=True):
        check = functools.partial(limits.number, low=low, high=high, optional=True)
        return field(name, check, optional=optional)

    def text_or_null(name: str):  # absent or null: None, a sweep written before it was kept
        return field(name, functools.partial(limits.text, optional=True), optional=True)

    return Candidate(
        label=field("label", limits.text), origin=field("origin", limits.text),
        status=field("status", limits.text), note=field("note", limits.text),
        forecast_npv_usd=number_or_null("forecast_npv_usd", optional=False),
        liquidity_buffer_usd=number_or_null("liquidity_buffer_usd", 0, int(MAX_USD)),  # said without ".0"
        gap=number_or_null("gap", 0),
        same_as=text_or_null("same_as"), buffer_of=text_or_null("buffer_of"),
        second_round=bool(field("second_round", _flag_or_null, optional=True)),  # absent or null: false
        broken=text_or_null("broken") or "",
        planned_buffer_usd=number_or_null("planned_buffer_usd", 0, int(MAX_USD)),
    )


def _flag_or_null(name: str, value) -> bool | None:
    """:func:`~fleetopt.runs.limits.flag`, or None for null (a sweep written before the field was
    kept)."""
    return None if value is None else limits.flag(name, value)


def _checked_sweep_job(run: RunFolder) -> dict:
    """A sweep folder's job.json with the settings a resume reads checked, each named on failure.
    A sweep that had not made all its candidates also needs the settings that make them."""
    settings, path = run.job(), run / RunFolder.JOB
    complete = limits.job_setting(
        settings, path, RunFolder.CANDIDATES_COMPLETE, limits.flag, optional=True, default=True
    )  # a sweep saved before candidates were saved one by one had them all
    wanted = {
        "n_scenarios": limits.scenarios,
        "seed": limits.seed,
        "backend": lambda name, v: limits.text(name, v, BACKENDS),
        "threads": limits.threads,
        "rule": Rule.checked_fields,
        # the second round's planned buffers are solved with them, all candidates made or not
        "mip_gap": limits.mip_gap,
        "time_limit": limits.time_limit,
    }
    # the stochastic candidate's scenarios and sharing: summary.json keeps them, all candidates made or not
    wanted |= {"stochastic_scenarios": _stochastic_scenarios, SHARE_PURCHASES_KEPT: limits.flag}
    if not complete:
        wanted |= {
            "candidates": limits.candidates,
            "stochastic_mip_gap": limits.mip_gap,
            "purchases": _checked_purchases,
        }
    wanted |= {"model_hash": limits.text, "model_source": limits.text}
    for name, check in wanted.items():
        # older sweeps: no purchases, no model hash or source, no sharing kept; with its candidates
        # made, one without mip_gap solves a second round at the default, with a warning
        optional = name in (
            "threads", "time_limit", "purchases", "model_hash", "model_source", "stochastic_mip_gap",
            SHARE_PURCHASES_KEPT,
        ) or (complete and name in ("mip_gap", "stochastic_scenarios"))
        settings[name] = limits.job_setting(settings, path, name, check, optional=optional)
    settings[RunFolder.CANDIDATES_COMPLETE] = complete
    return settings


def _stochastic_scenarios(name: str, value) -> int:
    """A sweep's stochastic candidate's scenario count (0: none), as `sweep --stochastic N` allows it."""
    return limits.whole(name, value, 0, limits.MAX_STOCHASTIC_SCENARIOS)


def _kept_proposals(settings: dict, data: ModelData) -> list[FixedPurchases]:
    """The proposals of a resumed sweep's job.json, read again and checked as a new sweep's are."""
    proposals = [_kept_proposal(kept, data) for kept in settings.get("purchases") or []]
    check_proposals(proposals, settings["candidates"], settings["stochastic_scenarios"])
    return proposals


def _kept_proposal(kept: dict, data: ModelData):
    """A proposal as job.json keeps it (its file's text), read again; a damaged copy is named as
    job.json's, not as the user's file (which may have changed since, or be gone)."""
    try:
        return parse_purchases(kept["text"], kept["file"], data)
    except InputError as exc:
        raise InputError(f"{RunFolder.JOB}'s copy of a --purchases file: {exc}") from None


def _checked_purchases(name: str, files) -> list:
    """job.json's proposals: a list of {file, text} (their rows are checked when they are read)."""
    if files is None:
        return []
    good = isinstance(files, list) and all(
        isinstance(f, dict) and set(f) == {"file", "text"} and all(isinstance(v, str) for v in f.values())
        for f in files
    )
    if not good:
        raise InputError(f"{name} must be a list of objects with the text fields file and text")
    return files


def _finish_sweep(loaded, data, cands, settings: dict, progress, folder, candidate_progress=None):
    rule = Rule(**settings["rule"])
    # a second round saved by a stopped finish or the sweep re-ranked followed its pick: made again,
    # a planned buffer's solve taken as saved where the pick is the same
    saved = [c for c in cands.candidates if c.second_round]
    cands = CandidateSet([c for c in cands.candidates if not c.second_round])
    feasible = cands.feasible
    batch = candidates_batch(data, feasible)
    store = ChunkStore(RunFolder(folder).chunk_folder, refuse_other_runs=True) if folder is not None else None
    n = settings["n_scenarios"]
    backend = choose_backend(settings["backend"], settings.get("threads"), data, batch, n)
    # sized for this machine: a resume keeps the chunks stored before as they are (ChunkStore.ranges)
    cost = rule.by_cost  # the sweep's own plans: their present cost asked for, not read from their source
    evaluation = evaluate(data, batch, n, settings["seed"], backend=backend, progress=progress, store=store,
                          present_cost=cost)  # fmt: skip
    figures = evaluation.metrics.select_dtypes("number").columns
    table = _candidate_table(evaluation.metrics, feasible)
    metrics, idle, pick = _ranked(table, feasible, figures, rule, folder)
    solve = {**solve_settings(settings), "threads": settings.get("threads"), "objective": rule.objective}
    first = list(cands.candidates)
    on_planned = None if folder is None else (  # each solved saved, for a stopped sweep to resume with
        lambda made: _save_candidates(RunFolder(folder), loaded, data, CandidateSet([*first, *made])))
    more = second_round(data, feasible[pick], feasible, solve, saved, candidate_progress, on_planned)
    solved = _solved_now(more, saved)
    made = {c.label for c in more}
    _warn_default_solve(settings, solved)
    cands.candidates.extend(more)
    more = [c for c in more if c.plan is not None]
    if more:  # evaluated alone on the same scenarios: a plan's figures do not depend on those beside it
        added = evaluate(data, candidates_batch(data, more), n, settings["seed"], backend=backend,
                         present_cost=cost)  # fmt: skip
        feasible = cands.feasible
        table = pd.concat([table, _candidate_table(added.metrics, more)], ignore_index=True)
        metrics, idle, pick = _ranked(table, feasible, figures, rule, folder)
    found = _cancelled_by(data, feasible[pick], metrics.iloc[pick], settings)
    found_of = feasible[pick].label
    without = _without_orders(data, feasible, pick, found, solve, saved, candidate_progress)
    if without is not None:
        made.add(without.label)  # of this pick too: not left out where a re-ranking makes it again
        cands.candidates.append(without)
        if folder is not None:
            _save_candidates(RunFolder(folder), loaded, data, cands)
    if without is not None and without.plan is not None:  # evaluated alone, as the second round is
        added = evaluate(data, candidates_batch(data, [without]), n, settings["seed"], backend=backend,
                         present_cost=cost)  # fmt: skip
        feasible = cands.feasible
        table = pd.concat([table, _candidate_table(added.metrics, [without])], ignore_index=True)
        metrics, idle, pick = _ranked(table, feasible, figures, rule, folder)
    scenarios = (n, settings["seed"], backend)
    lead = pick_lead(data, feasible, metrics, rule, pick, idle, scenarios)
    result = SweepResult(loaded, data, cands, metrics, evaluation, rule, pick, lead, idle)
    result.best_mean = best_mean_alternative(data, feasible, metrics, rule, pick, idle, scenarios)
    result.found_cancelled = None if found is None else (found_of, found)
    result.job_folder = None if folder is None else Path(folder)
    result.solve_settings = solve_settings(settings)
    result.stochastic_settings = stochastic_settings(settings)
    result.solved_now = solved
    result.left_out = [c.label for c in saved if c.label not in made]
    return result


def _cancelled_by(data, candidate: Candidate, row: pd.Series, settings: dict) -> CancelledOrders | None:
    """The orders ``candidate`` (its metrics ``row``) cancels in nearly every scenario of the sweep's
    (:func:`~fleetopt.sweep.cancelled.nearly_always_cancelled`); None where it cancels one in at most
    :data:`CANCELLING_WORTH_SAYING` of them (then none is cancelled in nearly all)."""
    if not cancels_often(row):
        return None
    return nearly_always_cancelled(data, candidate.plan, candidate.liquidity_buffer_usd, settings["seed"],
                                   settings["n_scenarios"])  # fmt: skip


def _without_orders(data, feasible: list[Candidate], pick: int, found: CancelledOrders | None,
                    solve: dict, saved: list[Candidate], progress) -> Candidate | None:  # fmt: skip
    """The pick without the orders it almost never takes (:func:`without_orders`), where it has any
    (``found``); the one ``saved`` by an earlier finish taken where the pick is the same."""
    if found is None or not found.orders:
        return None
    quarters = [order.quarter for order in found.orders]
    return without_orders(data, feasible[pick], feasible, quarters, solve, saved, progress)


def _solved_now(second: list[Candidate], saved: list[Candidate]) -> list[str]:
    """The labels of the second round's planned buffers solved now, not taken as ``saved``."""
    kept = {c.label for c in saved}
    return [c.label for c in second if c.origin == "planned" and c.label not in kept]


# a candidate's solve settings, as the API and the command line name them
_MIP_GAP, _TIME_LIMIT = Argument("mip_gap", "--mip-gap"), Argument("time_limit", "--time-limit")


def _warn_default_solve(settings: dict, solved: list[str]) -> None:
    """Say so where a planned buffer was solved to the default gap because the sweep's files do not
    keep the gap it was solved to: its figures are not quite those the sweep would have given."""
    if solved and settings.get("mip_gap") is None:
        warn("the sweep's files do not keep the ", _MIP_GAP, " and ", _TIME_LIMIT, " its candidates were "
             "solved with (it was written by an earlier fleetopt): the pick's planned buffers were solved to "
             f"the default gap of {format_gap(DEFAULT_MIP_GAP)}, with no time limit ({'; '.join(solved)})")


def _candidate_table(figures: pd.DataFrame, feasible: list[Candidate]) -> pd.DataFrame:
    """An evaluation's metrics with each candidate's origin and forecast NPV, after its label."""
    table = figures.copy()
    table.insert(1, "origin", [c.origin for c in feasible])
    table.insert(2, "forecast_npv_usd", [c.forecast_npv_usd for c in feasible])
    table.insert(3, FORECAST_OK, table.pop(FORECAST_OK))  # the evaluation's, after the plan's origin
    return table


def _ranked(table: pd.DataFrame, feasible: list[Candidate], figures, rule: Rule, folder):
    """The candidates' metrics with their notes, the front and the rule's pick; the idle buffers
    (:func:`idle_buffers`) and the pick's row. RuleNotMet where no candidate meets the rule."""
    metrics = table.copy()
    idle = idle_buffers(metrics, figures, [c.buffer_of for c in feasible])
    metrics["note"] = [c.note + (idle_note(unbuffered_words(metrics, c.buffer_of)) if same else "")
                       for c, same in zip(feasible, idle, strict=True)]  # fmt: skip
    metrics["on_front"] = pareto_front(metrics, front_figures(rule.prefer)) & ~idle
    pick = _recommended(metrics, rule, folder)
    metrics["recommended"] = False
    metrics.loc[metrics.index[pick], "recommended"] = True
    return metrics, idle, pick


def _recommended(metrics: pd.DataFrame, rule: Rule, folder) -> int:
    """:func:`recommend`; with ``folder``, a rule no candidate meets is noted in its job.json, which
    keeps the evaluation for a looser rule."""
    try:
        return recommend(metrics, rule)
    except RuleNotMet as exc:  # the evaluation is saved: a looser rule finishes the sweep
        if folder is None:  # its caller says what is kept: nothing (a sweep in memory), or a rerank's sweep
            raise
        at = repr(str(folder))
        resumed = f"fleetopt.api.resume_sweep({at}, rule_changes={{changes}})"
        call = f"fleetopt.api.write_sweep_run({resumed}, {at})"
        looser = exc.looser(resume_command("sweep", folder), call)
        job = RunFolder(folder)  # `fleetopt runs` says why it stopped, not "interrupted", in its options
        typed = InputError.naming(*looser).typed() if looser else "a looser rule"
        job.write_job({**job.job(), RunFolder.RULE_NOT_MET: typed})
        raise RuleNotMet.naming(
            *exc.message_parts(), f". The candidates and their evaluation are kept in {folder}: finish the "
            "sweep with a looser rule, ", *looser,
            loosen=exc.loosen, values=exc.values,
        ) from None
