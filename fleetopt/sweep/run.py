"""Running a sweep: candidates generated, saved, evaluated chunk by chunk (resumable), then the
front and the rule's pick, written to a run folder. The candidates and the choice itself are in
:mod:`fleetopt.sweep`."""

from __future__ import annotations

import functools
import math
import shlex
from collections.abc import Collection, Sequence
from dataclasses import asdict, dataclass, replace
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd

from fleetopt import __version__
from fleetopt.core.data import ModelData, load
from fleetopt.core.economics import plan_statements
from fleetopt.core.metric_columns import CVAR5_NPV_LABEL, MEAN_NPV_LABEL
from fleetopt.core.notebook import html_text, markdown_table, markdown_text
from fleetopt.core.plan import Plan, plan_axes
from fleetopt.core.purchases import TABLE_SOURCE, FixedPurchases, parse_purchases, purchases_for
from fleetopt.core.results.headline import headline, headline_frame
from fleetopt.core.results.risk_sentences import ANY_DEFAULT_MEANS, ANY_DEFAULT_WORDS
from fleetopt.core.results.tables import debt_frame, plan_frame
from fleetopt.core.units import (
    counted,
    format_difference,
    format_gap,
    format_percent,
    format_rate,
    format_usd,
    format_usd_change,
    sizes_apart,
)
from fleetopt.errors import FleetoptError, InputError, warn
from fleetopt.evaluate.backend import BACKENDS, BackendError
from fleetopt.evaluate.batch import PlanFileError, compile_plans, with_buffers
from fleetopt.evaluate.chunking import MemoryBudgetError
from fleetopt.evaluate.engine import check_backend_runs, choose_backend, evaluate, paired_lead_error
from fleetopt.evaluate.jobfolder import checked_how, job_model, resumed_threads, started_elsewhere
from fleetopt.evaluate.jobs import ChunkStore
from fleetopt.evaluate.lead import (
    SETTLE_MOST,
    Lead,
    lead_sentence,
    tie_margin,
)
from fleetopt.evaluate.metrics import (
    DEFAULT_RANK,
    FORECAST_OK,
    NPV_PAIRED_ERROR,
    RANK_COLUMNS,
    RANK_WORDS,
    key_figures_frame,
    key_figures_html,
    paired_npv_error,
)
from fleetopt.evaluate.planfile import load_plans, plans_npz_bytes
from fleetopt.evaluate.resources import capped_threads
from fleetopt.evaluate.sources import fitted_note
from fleetopt.milp.highs import DEFAULT_MIP_GAP, STOCHASTIC_MIP_GAP
from fleetopt.runs import limits
from fleetopt.runs.files import json_kind, read_json, signals_deferred
from fleetopt.runs.folder import (
    BEST_MEAN_KEY,
    KIND_NOUNS,
    RESUME_OPTIONS,
    RunFolder,
    csv_text,
    json_text,
    resume_command,
)
from fleetopt.schema.base import MAX_USD
from fleetopt.schema.loading import (
    LoadedModel,
    quoting_json,
    shown_json_value,
)
from fleetopt.stochastic.run import screened_count
from fleetopt.sweep.cancelled import (
    CancelledOrder,
    CancelledOrders,
    cancelled_orders_words,
    nearly_always_cancelled,
)
from fleetopt.sweep.candidates import (
    AFTER_PICK_ORIGINS,
    BUFFER_ORIGINS,
    LIMIT_WORDS,
    NO_RISK_LIMIT,
    NO_RISK_LIMIT_BEFORE,
    OPTIMUM_CONDITION_BEFORE,
    OPTIMUM_RISKS,
    ORIGINS,
    WITHOUT_ORDERS,
    WITHOUT_ORDERS_WORDS,
    WITHOUT_PLAN,
    Candidate,
    CandidateSet,
    Rule,
    RuleNotMet,
    StochasticCandidate,
    best_mean_within_rule,
    check_proposals,
    check_stochastic_candidate,
    conditions_missed,
    dropped_words,
    forecast_optimum_index,
    forecast_optimum_row,
    generate_candidates,
    limits_missed,
    missed_by_condition,
    optimum_condition,
    optimum_risks,
    pareto_front,
    pick_keeping,
    recommend,
    risks_listed,
    runner_up,
    second_round,
    without_orders,
)

# summary.json's name for the sweep's --time-limit (job.json's time_limit), in seconds; null: none
TIME_LIMIT_KEPT = "time_limit_seconds"


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
    purchases: Sequence[str | Path | FixedPurchases] = (),
    resume_options: Sequence[str] = (),
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
    candidates to ``mip_gap``). ``resume_options``: what the command that resumes it is to be given
    again, the CLI's --report (:data:`~fleetopt.runs.folder.RESUME_OPTIONS`)."""
    rule = rule or Rule()  # a Rule checks itself when made
    _check_sweep_arguments(candidates, scenarios, seed, mip_gap, time_limit, threads)
    threads = capped_threads(threads)  # beyond the usable cores, with a warning
    limits.mip_gap("stochastic_mip_gap", stochastic_mip_gap)
    loaded, data = load(model)
    check_stochastic_candidate(data, stochastic, candidates)
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
    looser = exc.looser("sweep again")
    return RuleNotMet(
        f"{exc}. Nothing was kept (no folder): {looser or 'sweep again with a looser rule'}; give "
        "folder= (fleetopt.api.sweep(..., folder='runs/my-sweep')) and a rule no candidate meets "
        "keeps the candidates and their evaluation, which fleetopt.api.resume_sweep finishes "
        "with a looser rule without solving again",
        exc.loosen, exc.values,
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
    spec = StochasticCandidate(n_sto, seed, settings["backend"], gap) if n_sto else None
    on_made = None if folder is None else lambda made: _save_candidates(RunFolder(folder), loaded, data, made)
    cands = generate_candidates(
        data, settings["candidates"], mip_gap=settings["mip_gap"], time_limit=settings["time_limit"],
        threads=settings["threads"], stochastic=spec, progress=progress, saved=saved, on_made=on_made,
        proposals=proposals,
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
            run.write_files({RunFolder.PLANS: _plans_file(loaded, data, cands)})
        run.write_files({RunFolder.CANDIDATES: _candidate_list(cands)})


def _candidate_list(cands: CandidateSet) -> str:
    """candidates.json: every candidate made, in order, with what :func:`saved_candidates` reads."""
    return json_text([{name: getattr(c, name) for name in LISTED_FIELDS} for c in cands.candidates])


# what candidates.json keeps of each candidate (its plan is in plans.npz), in the file's order
LISTED_FIELDS = (
    "label", "origin", "status", "note", "forecast_npv_usd", "liquidity_buffer_usd", "gap", "same_as",
    "buffer_of", "second_round", "broken", "planned_buffer_usd",
)  # fmt: skip


def _plans_file(loaded: LoadedModel, data: ModelData, cands: CandidateSet) -> bytes:
    feasible = cands.feasible
    plans, labels = [c.plan for c in feasible], [c.label for c in feasible]
    # every plan keeps the buffer it was made with, the model's where the candidate sets none
    model_buffer = data.policy.liquidity_buffer_usd
    buffers = [model_buffer if c.liquidity_buffer_usd is None else c.liquidity_buffer_usd for c in feasible]
    return plans_npz_bytes(plans, labels, loaded.model.name, loaded.content_hash, buffers, plan_axes(data))


def read_proposals(purchases, data: ModelData) -> list[FixedPurchases]:
    """Each of ``purchases`` read for ``data``'s model (:func:`purchases_for`), named by its file, by
    its key where ``purchases`` is a dict ({"orders A": table, ...}), or, for tables given in a
    list, "purchases table 1", "purchases table 2" ... (one table: "purchases table")."""
    named = purchases.items() if isinstance(purchases, dict) else [(None, given) for given in purchases]
    out = []
    for name, given in named:
        fixed = purchases_for(given, data)
        if name is not None:
            limits.text("purchases (a name)", name)
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
            raise PlanFileError(
                f"{run.path} is an evaluation's folder, not a sweep's, and finished: nothing to resume"
            )
        raise PlanFileError(
            f"{run.path} is an evaluation's folder: finish it with {resume_command('evaluate', run.path)}"
        )
    if run.is_finished and (run.is_job or run.kind == "sweep"):  # its job folder, or a re-ranked sweep's
        raise PlanFileError(
            f"{run.path}: this sweep already finished. Its candidates ranked by another rule, into a new "
            f"run folder: fleetopt sweep --rerank {run.path} with the rule's options (--prefer, "
            "--max-breach-prob, --max-default-prob, --max-any-default-prob, --min-cvar, "
            "--allow-forecast-breach, --allow-riskier)"
        )
    if not run.is_job:
        kind = f" ({run.kind}'s folder)" if run.is_finished and run.kind else ""
        raise PlanFileError(f"{run.path}: not a resumable sweep{kind} (no {RunFolder.JOB})")
    started = _checked_sweep_job(run)
    run.check_job_version()
    settings = {**started, **how}  # job.json keeps its own (its chunk sizes are added to the file)
    settings["threads"] = resumed_threads(settings["threads"])
    # the rule given now picks among the evaluated candidates; job.json keeps the one it started with
    rule = Rule.checked_fields("rule", {**settings["rule"], **(rule_changes or {})})
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
    rule = Rule.checked_fields("the rule", {**finished_rule(run, summary), **(rule_changes or {})})
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
        looser = exc.looser(shlex.join(["fleetopt", "sweep", "--rerank", str(run.path)]))
        changed = "" if then is None else f". {then.words()}"
        said = f"{exc}{changed}. Rank it by a looser rule: {looser}" if looser else f"{exc}{changed}"
        raise RuleNotMet(said, exc.loosen, exc.values) from None
    result.reranked_from = run.path.resolve()
    result.rule_then = then
    return result


@dataclass(frozen=True)
class RuleThen:
    """The check "no riskier than the forecast optimum" of a sweep made by an earlier fleetopt, whose
    rule kept fewer risks at the optimum's than a re-ranking now does (:func:`rule_then`)."""

    made_by: str | None  # its summary.json's fleetopt_version (None: it kept none)
    risks: tuple[str, ...]  # the risks its rule kept at the forecast optimum's (of OPTIMUM_RISKS)

    def words(self) -> str:
        """'The rule changed since this sweep was made (fleetopt 0.4.31: P(covenant breach) and
        P(liquidity default) no higher than the forecast optimum's; now P(any default) too)'."""
        added = risks_listed([column for column in OPTIMUM_RISKS if column not in self.risks], "and", True)
        then = optimum_condition(self.risks, labels=True)
        return f"The rule changed since this sweep was made ({self.by}: {then}; now {added} too)"

    @property
    def by(self) -> str:
        """The fleetopt that made the sweep: 'fleetopt 0.4.31'."""
        return "an earlier fleetopt" if self.made_by is None else f"fleetopt {self.made_by}"


def rule_then(summary: dict, rule: Rule) -> RuleThen | None:
    """How a finished sweep's rule (its summary.json's words) kept fewer risks at the forecast
    optimum's than ``rule``, which re-ranks it now: a pick could change with nothing saying why; None
    where both keep the same (or ``rule`` keeps none, --allow-riskier)."""
    kept = optimum_risks_kept(summary["rule"])
    if not rule.no_riskier_than_optimum or kept == OPTIMUM_RISKS:
        return None
    made_by = summary.get("fleetopt_version")
    return RuleThen(made_by if isinstance(made_by, str) else None, kept)


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
            what = f"an unfinished sweep: finish it with {resume_command('sweep', run.path)}"
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
        return started if _same_words(Rule(**started).describe(), summary.get("rule")) else None
    except (InputError, TypeError):  # a damaged or hand-edited job.json
        return None


# the rule's fields a summary.json's rule_settings lacks where a fleetopt written before the rule had
# them kept it: that sweep had no such limit, which is the field's default
RULE_FIELDS_ADDED = ("max_any_default_prob",)


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
    planned = [c for c in made if c.status not in WITHOUT_PLAN]
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
) -> str | None:
    """:func:`~fleetopt.api.in_sample_note` of a sweep's stochastic candidate (and its cash-buffer
    variants): solved as ``fleetopt solve --stochastic N`` on the first
    :func:`~fleetopt.stochastic.run.screened_count` of seed + 1
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
    fitted = [c.label for c in made if c.status not in WITHOUT_PLAN and (labels is None or c.label in labels)
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
    if not complete:
        wanted |= {
            "candidates": limits.candidates,
            "stochastic_scenarios": lambda name, v: limits.whole(name, v, 0, limits.MAX_STOCHASTIC_SCENARIOS),
            "stochastic_mip_gap": limits.mip_gap,
            "purchases": _checked_purchases,
        }
    wanted |= {"model_hash": limits.text, "model_source": limits.text}
    for name, check in wanted.items():
        # older sweeps: no purchases, no model hash or source kept
        optional = name in (
            "threads", "time_limit", "purchases", "model_hash", "model_source", "stochastic_mip_gap"
        ) or (complete and name == "mip_gap")  # a sweep's second round: the default, with a warning
        settings[name] = limits.job_setting(settings, path, name, check, optional=optional)
    settings[RunFolder.CANDIDATES_COMPLETE] = complete
    return settings


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
    batch = _batch(data, feasible)
    store = ChunkStore(RunFolder(folder).chunk_folder, refuse_other_runs=True) if folder is not None else None
    n = settings["n_scenarios"]
    backend = choose_backend(settings["backend"], settings.get("threads"), data, batch, n)
    # sized for this machine: a resume keeps the chunks stored before as they are (ChunkStore.ranges)
    evaluation = evaluate(data, batch, n, settings["seed"], backend=backend, progress=progress, store=store)
    figures = evaluation.metrics.select_dtypes("number").columns
    table = _candidate_table(evaluation.metrics, feasible)
    metrics, idle, pick = _ranked(table, feasible, figures, rule, folder)
    solve = {**solve_settings(settings), "threads": settings.get("threads")}
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
        added = evaluate(data, _batch(data, more), n, settings["seed"], backend=backend)
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
        added = evaluate(data, _batch(data, [without]), n, settings["seed"], backend=backend)
        feasible = cands.feasible
        table = pd.concat([table, _candidate_table(added.metrics, [without])], ignore_index=True)
        metrics, idle, pick = _ranked(table, feasible, figures, rule, folder)
    scenarios = (n, settings["seed"], backend)
    lead = pick_lead(data, feasible, metrics, rule, pick, idle, scenarios)
    result = SweepResult(loaded, data, cands, metrics, evaluation, rule, pick, lead)
    result.best_mean = best_mean_alternative(data, feasible, metrics, rule, pick, idle, scenarios)
    result.found_cancelled = None if found is None else (found_of, found)
    result.job_folder = None if folder is None else Path(folder)
    result.solve_settings = solve_settings(settings)
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


def solve_settings(settings: dict) -> dict:
    """The MILP settings a sweep's candidates were solved with (its job.json's, or, re-ranked, its
    summary.json's), which its second round solves with too: the default gap and no time limit
    where its files do not say (a sweep written by an earlier fleetopt)."""
    gap = settings.get("mip_gap")
    return {"mip_gap": DEFAULT_MIP_GAP if gap is None else gap, "time_limit": settings.get("time_limit")}


def _solved_now(second: list[Candidate], saved: list[Candidate]) -> list[str]:
    """The labels of the second round's planned buffers solved now, not taken as ``saved``."""
    kept = {c.label for c in saved}
    return [c.label for c in second if c.origin == "planned" and c.label not in kept]


def _warn_default_solve(settings: dict, solved: list[str]) -> None:
    """Say so where a planned buffer was solved to the default gap because the sweep's files do not
    keep the gap it was solved to: its figures are not quite those the sweep would have given."""
    if solved and settings.get("mip_gap") is None:
        warn(f"the sweep's files do not keep the --mip-gap and --time-limit its candidates were solved "
             f"with (it was written by an earlier fleetopt): the pick's planned buffers were solved to the "
             f"default gap of {format_gap(DEFAULT_MIP_GAP)}, with no time limit ({'; '.join(solved)})")


def _batch(data, feasible: list[Candidate]):
    """The candidates' plans, each with the liquidity buffer it runs with, to evaluate."""
    batch = compile_plans(data, [c.plan for c in feasible], [c.label for c in feasible])
    return with_buffers(batch, [c.liquidity_buffer_usd for c in feasible])


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
    metrics["note"] = [c.note + (idle_note(_unbuffered_words(metrics, c.buffer_of)) if same else "")
                       for c, same in zip(feasible, idle, strict=True)]  # fmt: skip
    metrics["on_front"] = pareto_front(metrics) & ~idle
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
        looser = exc.looser(resume_command("sweep", folder))
        job = RunFolder(folder)  # `fleetopt runs` says why it stopped, not "interrupted"
        job.write_job({**job.job(), RunFolder.RULE_NOT_MET: looser or "a looser rule"})
        raise RuleNotMet(
            f"{exc}. The candidates and their evaluation are kept in {folder}: finish the sweep with a "
            f"looser rule, {looser}",
            exc.loosen, exc.values,
        ) from None


def pick_lead(data, feasible: list, metrics: pd.DataFrame, rule: Rule, pick: int, idle: np.ndarray,
              scenarios: tuple[int, int, str]) -> Lead:
    """The pick's :class:`Lead`: the pick and the runner-up evaluated again, alone, on the sweep's
    scenarios (``scenarios``: their count, seed and the backend), keeping each scenario's NPV (a
    plan's figures do not depend on the plans beside it)."""
    other = runner_up(metrics, rule, pick, idle)
    if other is None:
        return Lead(None)
    column = RANK_COLUMNS[rule.prefer]
    amount = float(metrics[column].iloc[pick] - metrics[column].iloc[other])
    both = _batch(data, [feasible[pick], feasible[other]])
    return Lead(str(metrics["plan"].iloc[other]), amount, paired_lead_error(data, both, column, scenarios))


def best_mean_alternative(data, feasible: list, metrics: pd.DataFrame, rule: Rule, pick: int,
                          idle: np.ndarray, scenarios: tuple[int, int, str]) -> dict | None:  # fmt: skip
    """summary.json's ``best_mean_within_rule``: the plan of highest mean NPV no worse than the forecast
    optimum on every figure the rule reads (:func:`best_mean_within_rule`), with its mean NPV and the
    rule's figure less the forecast optimum's and less the pick's, USD, each with the standard error
    of that paired difference (null where there is none: one scenario, a tail of one), the three
    evaluated again, alone, on the sweep's scenarios (``scenarios``: their count, seed and the
    backend), as :func:`pick_lead` measures the runner-up. None where there is no such plan."""
    at = best_mean_within_rule(metrics, rule, pick, idle)
    if at is None:
        return None
    optimum = forecast_optimum_index(metrics)
    n, seed, backend = scenarios
    rows = [at, optimum, pick]
    npv = evaluate(data, _batch(data, [feasible[i] for i in rows]), n, seed, backend=backend,
                   keep_matrix=True).npv_matrix  # fmt: skip
    columns = ("npv_mean_usd", RANK_COLUMNS[rule.prefer])

    def against(k: int) -> dict:
        out = {}
        for column in columns:
            out[column] = float(metrics[column].iloc[at] - metrics[column].iloc[rows[k]])
            se = paired_npv_error(column, npv[k], npv[0])
            out[NPV_PAIRED_ERROR[column]] = se if math.isfinite(se) else None
        return out

    return {"plan": str(metrics["plan"].iloc[at]), "against_forecast_optimum": against(1),
            "against_pick": against(2)}  # fmt: skip


# the head of the line naming the plan of highest mean NPV no worse than the forecast optimum: not
# "within the rule", since a plan within it whose tail is below the optimum's may have more
BEST_MEAN_HEAD = "Highest mean NPV no worse than the forecast optimum on every figure the rule reads"


def best_mean_words(best: dict | None, prefer: str, n: int) -> str:
    """'Highest mean NPV no worse than the forecast optimum on every figure the rule reads: milp:
    demand slump: against the forecast optimum mean NPV +$0.86B (paired standard error $60.0M) and
    CVaR5 NPV +$2.87B ($0.30B); the pick gives up $2.17B of mean NPV to it ($0.10B) for +$0.57B of
    CVaR5 NPV ($90.0M), on the same 1,000 scenarios.', from summary.json's ``best_mean_within_rule``
    (:func:`best_mean_alternative`; ``prefer``: the rule's figure; ``n``: the scenarios): the
    terminal prints it after the pick's reasons, the report's Recommendation ends with it. '' where
    there is none, or its fields are not numbers."""
    column = RANK_COLUMNS.get(prefer)
    if not isinstance(best, dict) or column is None:
        return ""
    optimum, pick = best.get("against_forecast_optimum"), best.get("against_pick")
    figures = [(part, name) for part in (optimum, pick) for name in ("npv_mean_usd", column)]
    if not all(isinstance(part, dict) and limits.finite_number(part.get(name)) for part, name in figures):
        return ""

    def se(part: dict, name: str, first: bool = False) -> str:
        error = part.get(NPV_PAIRED_ERROR[name])
        if not limits.finite_number(error):
            return ""
        return f" (paired standard error {format_usd(error)})" if first else f" ({format_usd(error)})"

    what, mean = RANK_WORDS[prefer], "npv_mean_usd"
    return (
        f"{BEST_MEAN_HEAD}: {best.get('plan')}: against the forecast optimum "
        f"{MEAN_NPV_LABEL} {format_usd_change(optimum[mean])}{se(optimum, mean, True)} and {what} "
        f"{format_usd_change(optimum[column])}{se(optimum, column)}; the pick gives up "
        f"{format_usd(pick[mean])} of {MEAN_NPV_LABEL} to it{se(pick, mean)} for "
        f"{format_usd_change(-pick[column])} of {what}{se(pick, column)}, on the same "
        f"{counted(n, 'scenario')}."
    )


def _same_words(rule_words: str, stated) -> bool:
    """Whether a rule's words are those ``stated`` in a summary.json, which an earlier fleetopt
    wrote with 'default probability' where it meant the liquidity default's, and, before P(any
    default) joined the forecast optimum's risks, with two of them."""
    return isinstance(stated, str) and _plain_words(rule_words) == _plain_words(stated)


# each phrase of a rule's words as fleetopt 0.4.31 and earlier wrote it, and as it is written now
_RULE_WORDS_BEFORE = ((OPTIMUM_CONDITION_BEFORE, optimum_condition()), (NO_RISK_LIMIT_BEFORE, NO_RISK_LIMIT))


def _plain_words(words: str) -> str:
    """A rule's words as any fleetopt's words for the same rule compare: 'default' for 'liquidity
    default', each phrase of _RULE_WORDS_BEFORE as it is written now."""
    words = _default_for_liquidity(words)
    for before, now in _RULE_WORDS_BEFORE:
        words = words.replace(_default_for_liquidity(before), _default_for_liquidity(now))
    return words


def _default_for_liquidity(words: str) -> str:
    """``words`` with 'default' for 'liquidity default', as an earlier fleetopt wrote them."""
    return words.replace("liquidity default", "default")


def optimum_risks_kept(rule_words: str) -> tuple[str, ...]:
    """The risks a finished sweep's rule kept at the forecast optimum's, by its summary.json's
    ``rule_words``: OPTIMUM_RISKS, or the first two where those are a sweep's before P(any default)
    joined them."""
    before = _default_for_liquidity(OPTIMUM_CONDITION_BEFORE) in _default_for_liquidity(rule_words)
    return OPTIMUM_RISKS[:2] if before else OPTIMUM_RISKS


def _changes_against(before: pd.Series, after: pd.Series) -> str:
    """'mean NPV +$1.0M, CVaR5 NPV +$2.0M, breach probability from 70.0% to 65.0%, ...': the figures a
    plan (``after``'s metrics) changes against another (``before``'s), the deposits forfeited last."""
    mean = format_usd_change(after["npv_mean_usd"] - before["npv_mean_usd"])
    cvar = format_usd_change(after["npv_cvar5_usd"] - before["npv_cvar5_usd"])
    liquidity = LIMIT_WORDS["default_probability"][1]
    deposits = [format_usd(row["forfeited_deposits_mean_usd"]) for row in (before, after)]
    return (
        f"{MEAN_NPV_LABEL} {mean}, {CVAR5_NPV_LABEL} {cvar}, "
        f"{_moved('breach probability', before['breach_probability'], after['breach_probability'])}, "
        f"{_moved(liquidity, before['default_probability'], after['default_probability'])}"
        f"{_either_default_moved(before, after)}, and the deposits forfeited on average from "
        f"{deposits[0]} to {deposits[1]}"
    )


def _either_default_moved(optimum: pd.Series, pick: pd.Series) -> str:
    """' and the probability of a default of either kind, as lenders count them (a liquidity default
    or an uncured covenant breach), from 62.1% to 89.3%' where the metrics have it (a pick with
    --allow-riskier cut its liquidity defaults while lenders' defaults rose by 27 points, and the
    sentence said only the first); '' where they do not (a sweep before fleetopt 0.4.14)."""
    column = "any_default_probability"
    if column not in optimum or column not in pick:
        return ""
    return f" and the {_moved(f'probability of {ANY_DEFAULT_WORDS}', optimum[column], pick[column])}"


def _moved(name: str, before: float, after: float) -> str:
    """'breach probability from 60.0% to 55.0%', or 'unchanged at 0.0%' where the two are equal."""
    if before == after:
        return f"{name} unchanged at {format_percent(before)}"
    return f"{name} from {format_percent(before)} to {format_percent(after)}"


def idle_buffers(metrics: pd.DataFrame, figures, buffer_of: Sequence[str | None] | None = None) -> np.ndarray:
    """(rows,) whether each candidate is a cash-buffer variation whose every figure (``figures``,
    metrics columns) is that of its plan run without the buffer (``buffer_of``: that plan's label
    for each row; None, or not given: the forecast optimum's): its buffer never acted in these
    scenarios, so it is the same plan run the same way, not another point of the front (on lab
    all three were starred)."""
    values = metrics[list(figures)].to_numpy(dtype=float)
    at = {label: row for row, label in enumerate(metrics["plan"])}
    optimum = forecast_optimum_row(metrics)
    default = None if optimum is None else optimum["plan"]
    parents = buffer_of if buffer_of is not None else [None] * len(metrics)
    idle = np.zeros(len(metrics), dtype=bool)
    for row, (origin, parent) in enumerate(zip(metrics["origin"], parents, strict=True)):
        base = at.get(default if parent is None else parent)
        same = base is not None and np.array_equal(values[row], values[base], equal_nan=True)
        idle[row] = origin == "policy" and same
    return idle


# the words of an idle buffer's note (:func:`idle_note`) that the terminal's table marks "="
IDLE_BUFFER = "the buffer never acted"


def idle_note(whose: str) -> str:
    """What an idle buffer's note adds: ' (in these scenarios the buffer never acted: every figure
    is the forecast optimum's)', ``whose`` the plan run without it."""
    return f" (in these scenarios {IDLE_BUFFER}: every figure is {whose}'s)"


def _unbuffered_words(metrics: pd.DataFrame, parent: str | None) -> str:
    """The plan a cash buffer was added to, as an idle buffer's note names it."""
    optimum = forecast_optimum_row(metrics)
    if parent is None or (optimum is not None and parent == optimum["plan"]):
        return "the forecast optimum"
    return parent


# the share of the scenarios above which the pick's explanation says its policy cancels GPU orders
# to keep its cash buffer (its "cash buffer" is then GPUs not bought, not cash kept)
CANCELLING_WORTH_SAYING = 0.5
def cancels_often(row: pd.Series) -> bool:
    """Whether a plan (its metrics ``row``) cancels an order in more than CANCELLING_WORTH_SAYING of
    the scenarios."""
    return float(row.get("order_cancelled_share", 0.0)) > CANCELLING_WORTH_SAYING


# a breach or default probability of the pick from which its explanation says it is still likely
RISK_WORTH_SAYING = 0.5
# the pick's risks said where one reaches RISK_WORTH_SAYING: P(any default) is the figure lenders count
_RISKS_LEFT = (
    ("breach", "breaches a covenant"),
    ("default", "has a liquidity default"),
    ("any_default", f"has a default of either kind {ANY_DEFAULT_MEANS}"),
)
# a rise in breach or default probability (against the forecast optimum) that the explanation of a
# recommendation points out when the rule set no limit on it
RISE_WORTH_SAYING = 0.05


# what the lead's sentence says where no other plan meets the rule
NO_OTHER_PLAN = "No other plan meets the rule."


def lead_words(lead: Lead, prefer: str, n: int, pick: float, others: bool, seed: int | None = None,
               folder: str | Path | None = None, breach_limit: float | None = None,
               rule_settings: dict | None = None) -> str:
    """How sure a pick is, from its :class:`Lead` on the rule's figure (``prefer``; the pick's is
    ``pick``, USD) over ``n`` scenarios (:func:`lead_sentence`), with the command that measures the
    candidates on more fresh scenarios where the lead is within noise and ``seed``, the sweep's, is
    given (:func:`settle_command`, printing those within the rule's ``breach_limit``), or that no
    other plan (of ``others``) meets the rule (``rule_settings``: the rule's fields, whose limits the
    command cannot apply it names). Read by the recommendation's sentence and the sweep
    report's "In short" (:func:`lead_in_short`)."""
    if lead.runner_up is None:  # a buffer that never acted is the same plan: no other plan
        return f" {NO_OTHER_PLAN}" if others else ""
    return lead_sentence(lead, prefer, n, pick, (f"the runner-up, {lead.runner_up}", SWEEP_TIE),
                         lambda need: settle_command(need, seed, prefer, folder, breach_limit,
                                                     left_to_reader(rule_settings or {})))  # fmt: skip


# how the sweep's rule breaks a tie on its figure (candidates._best); an evaluation's ranking
# (metrics.ranked_plans) sorts by the figure itself (first_place.evaluation_tie)
SWEEP_TIE = "the tie goes to the lower breach probability, then the higher mean NPV"


def left_to_reader(rule_settings: dict) -> list[tuple[str, float]]:
    """The (metrics column, limit) of each probability limit of a sweep's rule (its ``rule_settings``)
    that `fleetopt evaluate` has no option for: P(liquidity default) and P(any default)."""
    names = ("default", "any_default")
    given = [(f"{name}_probability", rule_settings.get(f"max_{name}_prob")) for name in names]
    return [(column, limit) for column, limit in given if limit is not None and limit < 1.0]


def settle_command(need: int, seed: int | None, prefer: str, folder: str | Path | None,
                   breach_limit: float | None = None, left: Sequence[tuple[str, float]] = ()) -> str:
    """'; `fleetopt evaluate --plans RUN --scenarios 4100 --seed 2 --rank-by cvar5 --max-breach-prob
    0.725` measures every candidate on that many fresh scenarios (:func:`settle_seed`), without
    solving again, and ranks those whose P(breach) is within the rule's limit (72.5%)': the next step
    where the sweep's scenarios do not tell its pick from the runner-up ('' without the sweep's
    ``seed``, or where more than :data:`SETTLE_MOST` would be needed). ``breach_limit``: the rule's
    limit on P(breach) in force (:meth:`SweepResult.breach_limit`; None: none, every candidate
    ranked): without it the ranking printed led with plans the rule had passed over (96 % breaching
    on the default model). ``left``: the rule's limits it cannot apply (:func:`left_to_reader`), named
    for the reader to apply, where a sweep's --max-default-prob went unsaid."""
    if seed is None or need > SETTLE_MOST:
        return ""
    run = "RUN" if folder is None else str(folder)
    command = ["fleetopt", "evaluate", "--plans", run, "--scenarios", str(need),
               "--seed", str(settle_seed(seed)), "--rank-by", prefer]  # fmt: skip
    within = ""
    if breach_limit is not None and breach_limit < 1.0:
        command += ["--max-breach-prob", f"{breach_limit:.4g}"]
        within = (f", and ranks those breaching in at most {format_rate(breach_limit)} of them, the "
                  "rule's limit")
    if left:
        named = " and ".join(f"{LIMIT_WORDS[column][0]} (at most {format_rate(limit)})"
                             for column, limit in left)  # fmt: skip
        within += f"; it does not apply the rule's limits on {named}: read those beside each plan it ranks"
    # a path with spaces quoted
    return (f"; `{shlex.join(command)}` measures every candidate on that many fresh scenarios, without "
            f"solving again{within}")


def settle_seed(seed: int) -> int:
    """The seed of fresh scenarios for a sweep of ``seed``: neither those it evaluates its candidates
    on nor those its stochastic candidate is solved on (:func:`~fleetopt.runs.limits.stochastic_seed`),
    which would be in sample for that candidate."""
    return limits.next_seed(limits.stochastic_seed(seed))


def lead_in_short(summary: dict, folder: str | Path | None = None) -> str:
    """:func:`lead_words` of a finished sweep's summary.json ('' for one written before it held
    ``runner_up``): the sweep report's "In short" says how sure its pick is, as its terminal does."""
    if "runner_up" not in summary:
        return ""
    se = summary.get("runner_up_lead_se_usd")
    usd = summary.get("runner_up_lead_usd") or 0.0
    lead = Lead(summary["runner_up"], usd, math.nan if se is None else se)
    prefer = (summary.get("rule_settings") or {}).get("prefer", DEFAULT_RANK)
    pick = summary.get(RANK_COLUMNS[prefer]) or 0.0  # no P5 in the summary: a tie's margin of 1e-9
    return lead_words(lead, prefer, summary["n_scenarios"], pick, summary["candidates_feasible"] > 1,
                      summary.get("seed"), folder, summary.get("rule_breach_limit"),
                      summary.get("rule_settings")).strip()  # fmt: skip


def why_without_lead(summary: dict) -> str:
    """A finished sweep's ``why`` without its last point, how sure the pick is, where
    :func:`lead_in_short` gives that point (the report's "In short"; its Recommendation said it again):
    its ``why_before_lead``, the points before it. A summary written before it kept them (or with
    them damaged) gives its whole ``why``."""
    points = summary.get("why_before_lead")
    kept = isinstance(points, list) and all(isinstance(point, str) for point in points)
    return " ".join(points) if kept and lead_in_short(summary) else summary.get("why", "")


def _points(parts: list[str]) -> list[str]:
    """The sentences of :meth:`SweepResult.why_points` given, without their leading space; '' (a
    point that does not apply) left out."""
    return [part.strip() for part in parts if part.strip()]


class SweepResult:
    """Candidates, their metrics (one row per feasible candidate), the front and the recommendation.
    ``metrics`` is yours to change (a column put in $M, rows sorted): the recommendation, ``why()``
    and the run written read the metrics as computed (:attr:`computed_metrics`)."""

    def __init__(self, loaded, data, candidates, metrics, evaluation, rule, pick, lead: Lead | None = None):
        self.loaded, self.data, self.candidates = loaded, data, candidates
        self.evaluation, self.rule, self.pick = evaluation, rule, pick
        self.lead = lead  # the pick's lead over the runner-up (None: not measured)
        self._metrics, self.metrics = metrics, metrics.copy()
        self.reranked_from: Path | None = None  # the finished sweep re-ranked (:func:`rerank_sweep`)
        # the folder the sweep saved its candidates and chunks in (None: none), which writing the
        # result finishes where no other folder is given
        self.job_folder: Path | None = None
        # the candidates' MILP settings (:func:`solve_settings`), which summary.json keeps
        self.solve_settings = solve_settings({})
        # the labels of the second round's planned buffers this run solved (a rerank's only solves)
        self.solved_now: list[str] = []
        # the labels of a second round saved for another pick (a rerank's or a resume's old pick), not
        # carried over
        self.left_out: list[str] = []
        # a pick's orders cancelled in nearly every scenario, found as the sweep ran: (its label, them)
        self.found_cancelled: tuple[str, CancelledOrders] | None = None
        # a re-ranked sweep whose rule kept fewer risks at the forecast optimum's (:func:`rerank_sweep`)
        self.rule_then: RuleThen | None = None
        # the plan of highest mean NPV no worse than the forecast optimum (:func:`best_mean_alternative`;
        # None: none, or not measured)
        self.best_mean: dict | None = None

    def __repr__(self) -> str:
        rec, prefer = self.recommended, self.rule.prefer
        figure = f"{RANK_WORDS[prefer]} {format_usd(rec[RANK_COLUMNS[prefer]])}"  # the rule's
        return (
            f"SweepResult({counted(len(self._metrics), 'candidate')} evaluated on "
            f"{counted(self.evaluation.n_scenarios, 'scenario')}, recommended "
            f"{rec['plan']!r} ({figure}); .metrics, .why(), .plan_frame(label))"
        )

    def _repr_html_(self) -> str:  # a notebook's cell: the fields changed, the candidates, why the pick
        changed = self.loaded.changed_line
        said = f"<p>{html_text(changed)}</p>" if changed else ""
        best = self.best_mean_words()
        after = f"<p>{html_text(best)}</p>" if best else ""
        return said + key_figures_html(self.metrics, repr(self)) + f"<p>{html_text(self.why())}</p>" + after

    def _repr_markdown_(self) -> str:
        """What a notebook cell shows where it shows Markdown: the fields changed in the model for the run
        (:func:`changed_model_line`), the pick and :meth:`why`, then each candidate's
        :func:`key_figures_frame` (its ``metrics`` as they now are) and what to read next."""
        n = f"{counted(self.evaluation.n_scenarios, 'scenario')}, seed {self.evaluation.seed}"
        title = (f"**Sweep of {markdown_text(self.data.name)}**: {counted(len(self._metrics), 'candidate')} "
                 f"evaluated on {n}")  # fmt: skip
        changed = self.loaded.changed_line
        pick = f"**Recommended: {markdown_text(self.recommended['plan'])}.** {markdown_text(self.why())}"
        table = markdown_table(key_figures_frame(self.metrics))
        after = ("Next: .metrics, .why(); a candidate's .plan_frame(label), .statements_frame(label), "
                 ".headline(label), .debt_frame(label)")
        changed_lines = [markdown_text(changed), ""] if changed else []
        best = self.best_mean_words()
        best_lines = [markdown_text(best), ""] if best else []
        return "\n".join([title, "", *changed_lines, pick, "", *best_lines, table, "", after])

    @property
    def computed_metrics(self) -> pd.DataFrame:
        """The candidates' metrics as the sweep computed them (a copy)."""
        return self._metrics.copy()

    def plan(self, label: str | None = None) -> Plan:
        """The plan of the candidate evaluated as ``label`` (a ``plan`` of :attr:`metrics`; None:
        the recommended one). ``candidates`` also holds those dropped (duplicates, no plan), so its
        positions are not the metrics' rows."""
        label = self.recommended["plan"] if label is None else limits.text("label", label)
        evaluated = list(self._metrics["plan"])
        if label not in evaluated:
            raise InputError(f"label {label!r} is not a candidate this sweep evaluated: one of "
                             f"{', '.join(map(repr, evaluated))}")  # fmt: skip
        return next(c.plan for c in self.candidates.candidates if c.label == label and c.plan is not None)

    def plan_frame(self, label: str | None = None) -> pd.DataFrame:
        """That plan's decisions, one row per quarter and item (as ``SolveResult.plan_frame()``)."""
        return plan_frame(self.data, self.plan(label))

    def statements_frame(self, label: str | None = None) -> pd.DataFrame:
        """That plan's quarterly statements on the forecast, as ``SolveResult.statements_frame()``
        (the plan as made: a candidate's cash buffer, a policy, acts only in its evaluation)."""
        return plan_statements(self.data, self.plan(label)).frame(self.data.quarter_labels)

    def headline(self, label: str | None = None) -> dict:
        """That plan's key figures on the forecast, as ``SolveResult.headline()`` (keys and units:
        :func:`fleetopt.core.results.headline.headline`)."""
        plan = self.plan(label)
        return headline(self.data, plan, plan_statements(self.data, plan))

    def headline_frame(self, label: str | None = None) -> pd.DataFrame:
        """That plan's :meth:`headline` for people, as ``SolveResult.headline_frame()``."""
        return headline_frame(self.headline(label))

    def debt_frame(self, label: str | None = None) -> pd.DataFrame:
        """That plan's facilities, their terms and year-end balances on the forecast, as
        ``SolveResult.debt_frame()``."""
        return debt_frame(self.data, plan_statements(self.data, self.plan(label)))

    @property
    def recommended(self) -> pd.Series:
        """The rule's pick: its row of the metrics as computed (``["plan"]`` its label, for
        :meth:`plan` and :meth:`plan_frame`; money in USD, probabilities in [0, 1])."""
        return self._metrics.iloc[self.pick]

    @property
    def forecast_optimum(self) -> pd.Series | None:
        """The forecast optimum's row of the metrics as computed (origin "forecast"; None where the
        sweep has none)."""
        return forecast_optimum_row(self._metrics)

    def why(self, folder: str | Path | None = None) -> str:
        """Why the recommended plan was chosen over the forecast optimum, the points of
        :meth:`why_points` in one paragraph (summary.json's ``why``, the report's)."""
        return " ".join(self.why_points(folder))

    def why_points(self, folder: str | Path | None = None) -> list[str]:
        """Why the recommended plan was chosen over the forecast optimum, a point to a topic: the
        rule's choice, the candidates it passed over, the risk the pick leaves, how sure it is (the
        terminal prints one a line: as one paragraph they ran to 1,500 characters); ``folder``:
        where it is written, which a close lead's settle command names (None: its job folder; a
        re-ranking has none)."""
        return [*self.why_before_lead(), *_points([self._lead_words(folder)])]

    def why_before_lead(self) -> list[str]:
        """The points of :meth:`why_points` before the last, how sure the pick is (summary.json's
        ``why_before_lead``: the report gives that last point in its "In short")."""
        rec, opt = self.recommended, self.forecast_optimum
        same = rec["plan"] == opt["plan"]
        chosen = (f"The forecast optimum is also the rule's pick ({self.rule.describe()})." if same
                  else self._changes_from_optimum())  # fmt: skip
        # the pick without its first pick's orders says what it is first; passed over, after those orders
        without, picked = self._without_orders_words(), self.recommended.get("origin") == WITHOUT_ORDERS
        points = [chosen, self._rule_changed(), without if picked else ""]
        points += [self._outside_forecast_limits(), self._better_but_excluded()]
        if not same:
            points += self._optimum_missed_and_rises()
        points += [self._buffer_kept_by_cancelling(), "" if picked else without, self._risk_left()]
        return _points(points)

    def _rule_changed(self) -> str:
        """'The rule changed since this sweep was made (...): the pick is the same by that rule.', or
        the plan that rule would pick among these candidates and the condition it misses now; ''
        where it did not change (:attr:`rule_then`)."""
        then = self.rule_then
        if then is None:
            return ""
        at = self._pick_then
        if at is None or at == self.pick:  # None cannot be: that rule is the looser, met by the pick
            return f"{then.words()}: the pick is the same by that rule."
        missed = ", ".join(conditions_missed(self._metrics, self.rule, at))
        return f"{then.words()}: by that rule the pick would be {self._metrics['plan'].iloc[at]} ({missed})."

    @property
    def _pick_then(self) -> int | None:
        """The row the rule of :attr:`rule_then` picks among these candidates (None: no such rule)."""
        then = self.rule_then
        return None if then is None else pick_keeping(self._metrics, self.rule, then.risks)

    def _changes_from_optimum(self) -> str:
        """'Chosen by the rule (...): against the forecast optimum it changes mean NPV by ...'."""
        rec, opt = self.recommended, self.forecast_optimum
        p5 = (f"P5 NPV (the rule's figure) by {format_usd_change(rec['npv_p5_usd'] - opt['npv_p5_usd'])}, "
              if self.rule.prefer == "p5" else "")  # fmt: skip
        liquidity = LIMIT_WORDS["default_probability"][1]
        return (
            f"Chosen by the rule ({self.rule.describe()}): against the forecast optimum it changes "
            f"{MEAN_NPV_LABEL} by {format_usd_change(rec['npv_mean_usd'] - opt['npv_mean_usd'])}, "
            f"{CVAR5_NPV_LABEL} by "
            f"{format_usd_change(rec['npv_cvar5_usd'] - opt['npv_cvar5_usd'])}, {p5}"
            f"{_moved('breach probability', opt['breach_probability'], rec['breach_probability'])}, "
            f"{_moved(liquidity, opt['default_probability'], rec['default_probability'])}"
            f"{_either_default_moved(opt, rec)} (each change of the unrounded figures, so it may differ "
            "from the table's rounded ones by a unit)."
        )

    def _optimum_missed_and_rises(self) -> list[str]:
        """Why a pick worse on the rule's own figure than the optimum was chosen (the optimum misses
        the rule), and each risk the rule did not limit that the pick raises a lot."""
        rec, opt = self.recommended, self.forecast_optimum
        out = []
        missed = limits_missed(opt, self.rule)
        if missed:
            out.append(f"The forecast optimum itself misses the rule: {', '.join(missed)}.")
        for column in optimum_risks(self._metrics):
            name = column.removesuffix("_probability")
            rise = rec[column] - opt[column]
            if rise > RISE_WORTH_SAYING and getattr(self.rule, f"max_{name}_prob") is None:
                out.append(
                    f"No limit was set on the {LIMIT_WORDS[column][1]} (--allow-riskier), which it raises "
                    f"by {format_difference(rise, 'share').removeprefix('+')}: "
                    f"--max-{name.replace('_', '-')}-prob would cap it."
                )
        return out

    def _lead_words(self, folder: str | Path | None = None) -> str:
        """How sure the pick is (:func:`lead_words`, its command naming ``folder``, else the job
        folder); '' where it was not measured."""
        if self.lead is None:
            return ""
        pick = float(self.recommended[RANK_COLUMNS[self.rule.prefer]])
        n = self.evaluation.n_scenarios
        folder = self.job_folder if folder is None else folder
        return lead_words(self.lead, self.rule.prefer, n, pick, len(self._metrics) > 1, self.evaluation.seed,
                          folder, self.breach_limit(), vars(self.rule))  # fmt: skip

    def best_mean_words(self) -> str:
        """:func:`best_mean_words` of this sweep's :attr:`best_mean` ('' where there is none)."""
        return best_mean_words(self.best_mean, self.rule.prefer, self.evaluation.n_scenarios)

    def breach_limit(self) -> float | None:
        """The rule's limit on P(breach) in force: the lower of the user's --max-breach-prob and, where
        the rule keeps risks at the forecast optimum's, that plan's P(breach) on these scenarios;
        None where neither holds."""
        limits = [self.rule.max_breach_prob]
        optimum = self.forecast_optimum
        if self.rule.no_riskier_than_optimum and optimum is not None:
            limits.append(float(optimum["breach_probability"]))
        known = [limit for limit in limits if limit is not None]
        return min(known) if known else None

    def _better_but_excluded(self) -> str:
        """' Better on CVaR5 NPV but outside the rule, with P(covenant breach) above the forecast
        optimum's 67.0%: yours: orders.csv (96.0%); with P(liquidity default) above 30.0%: B (31.0%).'
        where the rule's conditions, not its figure, made the pick: "best CVaR5 among plans with ..."
        read as the best CVaR5 of all (from a capacity planner's review)."""
        metrics, column = self._metrics, RANK_COLUMNS[self.rule.prefer]
        pick = float(self.recommended[column])
        better = metrics[column].to_numpy(dtype=float) > pick + tie_margin(pick)
        # not those the sentences around it name: breaching on the forecast, the optimum missing the rule
        if self.rule.forecast_within_limits and FORECAST_OK in metrics:
            better &= metrics[FORECAST_OK].to_numpy(dtype=bool)
        if limits_missed(self.forecast_optimum, self.rule):
            better &= (metrics["plan"] != self.forecast_optimum["plan"]).to_numpy()
        groups = missed_by_condition(metrics, self.rule, np.flatnonzero(better))
        if not groups:
            return ""
        said = "; ".join(f"with {conditions}: {'; '.join(plans)}" for conditions, plans in groups.items())
        return f" Better on {RANK_WORDS[self.rule.prefer]} but outside the rule, {said}."

    def _buffer_kept_by_cancelling(self) -> str:
        """' Run with its $3.49B cash buffer it defers an order in 100.0% of the scenarios ...' where
        the pick's policy cancels orders in more than CANCELLING_WORTH_SAYING of them: a reader takes
        "cash buffer" for cash kept, where a buffer the plan's own forecast never keeps is kept by
        deferring and cancelling the plan's GPU orders (docs/evaluation.md, "Policy"); then the orders
        it cancels in nearly every scenario (:attr:`orders_cancelled`). With no buffer ("Its policy
        defers ...") it says what the policy did without a buffer to keep: "its $0 cash buffer" read
        as a buffer kept."""
        rec = self.recommended
        if not self._cancels_often():
            return ""
        again = rec["origin"] == WITHOUT_ORDERS  # by its origin, as _without_orders_words finds it
        said = "" if self._cancelled is None else cancelled_orders_words(self._cancelled, again)
        buffer = self._buffer(rec["plan"])
        if buffer > 0:
            who, why = f"Run with its {format_usd(buffer)} cash buffer it", "the buffer is kept by buying"
        else:  # no buffer to keep: policy rule 0 defers where cash would fall below the minimum
            who, why = "Its policy", "it keeps cash above the treasury minimum by buying"
        return (
            f" {who} defers an order in {format_percent(float(rec['deferred_share']))} of the scenarios "
            f"({format_usd(float(rec['deferred_capex_mean_usd']))} of GPU capex on average, at the prices "
            f"planned) and cancels one in {format_percent(float(rec['order_cancelled_share']))}, forfeiting "
            f"{format_usd(float(rec['forfeited_deposits_mean_usd']))} of deposits on average: {why} "
            "fewer GPUs than the plan orders." + said
        )

    def _without_orders_words(self) -> str:
        """What the plan without the orders the first pick almost never takes gives against that pick
        (:func:`~fleetopt.sweep.candidates.without_orders`): why the rule picked it, or passed it over;
        '' where the sweep evaluated none."""
        made = self._metrics[self._metrics["origin"] == WITHOUT_ORDERS]["plan"]
        if made.empty:  # none made, or dropped: the list of candidates dropped says why
            return ""
        label = str(made.iloc[0])
        of = label.removesuffix(WITHOUT_ORDERS_WORDS)
        rows = self._metrics.set_index("plan")
        it, pick = rows.loc[label], rows.loc[of]
        changes = _changes_against(pick, it)
        if self.recommended["plan"] == label:
            return (f" It is {of}, the rule's first pick, without the GPU orders that plan's policy cancels "
                    f"whole in nearly every scenario, run with the same buffer: against it, {changes}.")
        at = int(np.flatnonzero(self._metrics["plan"] == label)[0])
        missed = conditions_missed(self._metrics, self.rule, at)
        column = RANK_COLUMNS[self.rule.prefer]
        why = ", ".join(missed) if missed else (
            f"its {RANK_WORDS[self.rule.prefer]} is lower ({format_usd(it[column])})")
        return (f" The same plan without those orders ({label}), run with the same buffer, changes "
                f"{changes}; the rule passed it over: {why}.")

    def _cancels_often(self) -> bool:
        """Whether the pick's policy cancels an order in more than CANCELLING_WORTH_SAYING of the
        scenarios."""
        return cancels_often(self.recommended)

    @property
    def orders_cancelled(self) -> tuple[CancelledOrder, ...]:
        """The pick's GPU orders its policy cancels in at least 95 % of the scenarios (the first 10,000
        at most; :func:`~fleetopt.sweep.cancelled.nearly_always_cancelled`): summary.json's
        ``recommended_orders_cancelled``. Empty where it cancels an order in at most half of them (not
        looked for) or the sweep ran on the forecast alone."""
        return () if self._cancelled is None else self._cancelled.orders

    @cached_property
    def _cancelled(self) -> CancelledOrders | None:
        """The pick's orders cancelled in nearly every scenario (None: not looked for), found once: the
        terminal, summary.json and the report each read :meth:`why_points`."""
        if not self._cancels_often() or self.evaluation.seed is None:
            return None
        label = self.recommended["plan"]
        if self.found_cancelled is not None and self.found_cancelled[0] == label:  # found as it was made
            return self.found_cancelled[1]
        return nearly_always_cancelled(self.data, self.plan(label), self._buffer(label),
                                       self.evaluation.seed, self.evaluation.n_scenarios)  # fmt: skip

    def _risk_left(self) -> str:
        """' It still breaches a covenant in 83.7% of the scenarios; the lowest of any candidate is
        61.2% (milp: half leverage).' where the pick breaches or defaults (either kind) in half the
        futures or more:
        a pick must not read as safe; and that its mean NPV is negative where it is (a pick must not
        read as worth doing: none of the candidates is "do nothing")."""
        out = self._loss_left()
        for name, what in _RISKS_LEFT:
            if f"{name}_probability" not in self._metrics:
                continue  # a sweep's older metrics without P(any default)
            column = self._metrics[f"{name}_probability"]
            p = float(self.recommended[f"{name}_probability"])
            if p < RISK_WORTH_SAYING:
                continue
            out += f" It still {what} in {format_percent(p)} of the scenarios"
            lowest = float(column.min())
            if lowest >= p:
                out += ", the lowest of any candidate."
            else:
                least = self._metrics.loc[column.idxmin(), "plan"]
                out += f"; the lowest of any candidate is {format_percent(lowest)} ({least})."
        return out

    def _loss_left(self) -> str:
        """' Its mean NPV is negative (-$23.5M; a loss in 79.3% of the scenarios), as is every
        candidate's.' where the pick's mean NPV is below 0."""
        mean = float(self.recommended["npv_mean_usd"])
        if mean >= 0:
            return ""
        every = ", as is every candidate's" if (self._metrics["npv_mean_usd"] < 0).all() else ""
        loss = format_percent(float(self.recommended["loss_probability"]))
        return f" Its mean NPV is negative ({format_usd(mean)}; a loss in {loss} of the scenarios){every}."

    def _outside_forecast_limits(self) -> str:
        """' Not considered, as they breach a covenant or default on the forecast itself: ...', or,
        where the rule allowed them, whether the pick is one."""
        if FORECAST_OK not in self._metrics:
            return ""
        if not self.rule.forecast_within_limits:
            if self.recommended[FORECAST_OK]:
                return ""
            return (
                " It breaches a covenant or defaults on the forecast itself (allowed by "
                "--allow-forecast-breach): a lender would not sign it as it stands."
            )
        out = [self._also_missed(at) for at in np.flatnonzero(~self._metrics[FORECAST_OK].astype(bool))]
        if not out:
            return ""
        return (
            f" Not considered, as they breach a covenant or default on the forecast itself: {', '.join(out)} "
            "(--allow-forecast-breach considers them)."
        )

    def _also_missed(self, at: int) -> str:
        """The label of the candidate in row ``at`` (one breaching on its own forecast), with the rule's
        other conditions it misses: 'milp: forecast, cash buffer $60.0M (also P(covenant breach) 100.0% above
        the forecast optimum's 87.5%)'. Unsaid, --allow-forecast-breach read as enough to admit it."""
        label = str(self._metrics["plan"].iloc[at])
        others = conditions_missed(self._metrics, self.rule, at)[1:]  # the forecast's breach comes first
        return f"{label} (also {', '.join(others)})" if others else label

    def _lead_fields(self) -> dict:
        """summary.json's runner-up and the pick's lead over it (USD, with its paired standard
        error; null where there is none)."""
        lead = self.lead or Lead(None)
        known = lead.runner_up is not None
        return {"runner_up": lead.runner_up, "runner_up_lead_usd": lead.amount if known else None,
                "runner_up_lead_se_usd": lead.se if known else None,
                "rule_breach_limit": self.breach_limit()}  # fmt: skip

    def _rule_before(self) -> dict:
        """summary.json's ``rule_before``, where the sweep re-ranked kept fewer risks at the forecast
        optimum's (:attr:`rule_then`): the fleetopt that made it, those risks and the plan its rule
        picks among these candidates; {} where its rule did not change."""
        then, at = self.rule_then, self._pick_then
        if then is None:
            return {}
        pick = None if at is None else str(self._metrics["plan"].iloc[at])
        return {"rule_before": {"fleetopt_version": then.made_by, "optimum_risks": list(then.risks),
                                "recommended": pick}}  # fmt: skip

    def _buffer(self, label: str) -> float:
        """The policy buffer a candidate runs with, USD (the model's unless the sweep set one)."""
        own = next(c.liquidity_buffer_usd for c in self.candidates.feasible if c.label == label)
        return float(self.data.policy.liquidity_buffer_usd if own is None else own)

    def summary(self, folder: str | Path | None = None) -> dict:
        """summary.json's content (docs/evaluation.md, "What a sweep writes"); ``folder``: where it is
        written, which :meth:`why` names in full (`runs show` and the report read it anywhere)."""
        rec = self.recommended
        return {
            "fleetopt_version": __version__,
            "kind": "sweep",
            "model_name": self.loaded.model.name,
            **self.loaded.origin_record,
            "model_hash": self.loaded.content_hash,
            **self.loaded.basis_record,
            "n_scenarios": self.evaluation.n_scenarios,
            "seed": self.evaluation.seed,
            "backend": self.evaluation.backend,
            "device": self.evaluation.device,
            "candidates_tried": len(self.candidates.candidates),
            "candidates_feasible": len(self._metrics),
            "rule": self.rule.describe(),
            "rule_settings": vars(self.rule),  # what a re-ranking starts from (rerank_sweep)
            # and the solve its second round's planned buffers are solved with
            "mip_gap": self.solve_settings["mip_gap"],
            TIME_LIMIT_KEPT: self.solve_settings["time_limit"],
            # a re-ranking: the sweep it re-ranked, and the new pick's planned buffers it solved
            **({} if self.reranked_from is None else {"reranked_from": str(self.reranked_from),
                                                      "rerank_solved": self.solved_now,
                                                      "rerank_left_out": self.left_out}),
            **self._rule_before(),
            "recommended": rec["plan"],
            "recommended_liquidity_buffer_usd": self._buffer(rec["plan"]),
            "recommended_orders_cancelled": [asdict(order) for order in self.orders_cancelled],
            "forecast_optimum": self.forecast_optimum["plan"],
            "why": self.why(None if folder is None else Path(folder).absolute()),
            "why_before_lead": self.why_before_lead(),  # the report's Recommendation: "In short" has the lead
            **self._lead_fields(),
            BEST_MEAN_KEY: self.best_mean,
            "npv_usd": float(rec["forecast_npv_usd"]),
            "npv_mean_usd": float(rec["npv_mean_usd"]),
            "npv_cvar5_usd": float(rec["npv_cvar5_usd"]),
            "breach_probability": float(rec["breach_probability"]),
            "default_probability": float(rec["default_probability"]),
            # beside the liquidity default, the defaults lenders count (`runs show` gave the first
            # alone); a re-ranked sweep before fleetopt 0.4.14 has none
            **({"any_default_probability": float(rec["any_default_probability"])}
               if "any_default_probability" in rec else {}),
            "front": self._metrics[self._metrics["on_front"]]["plan"].tolist(),
            # the rule's first pick run with larger cash buffers, made after it was picked
            "second_round": [c.label for c in self.candidates.feasible
                             if c.second_round and c.origin in BUFFER_ORIGINS],
            # the first pick without the orders it almost never takes (None: not made)
            "without_orders": next(
                (c.label for c in self.candidates.candidates if c.origin == WITHOUT_ORDERS), None
            ),
            "dropped": [
                {"plan": c.label, "status": c.status, "why": dropped_words(c)}
                for c in self.candidates.candidates
                if c.plan is None
            ],
            # --purchases: each procurement plan of yours, what it holds and whether it was evaluated
            "proposals": [
                {"plan": c.label, "note": c.note, "status": c.status}
                for c in self.candidates.candidates
                if c.origin == "proposal"
            ],
        }


def write_sweep_run(result: SweepResult, out: str | Path | None = None) -> Path:
    """Write plans.npz, candidates.csv, front.csv, summary.json and model.yaml into the run folder
    (the folder the sweep saved its candidates and chunks in, a new one, or None: a new default one)."""
    loaded = result.loaded
    folder = RunFolder.to_write(out, "sweep", loaded.model.name)
    metrics = result._metrics  # as computed, read only here
    front = metrics[metrics["on_front"]]
    files = {
        # a sweep's job folder holds its first round's: the second round's are added, plans first
        RunFolder.PLANS: _plans_file(loaded, result.data, result.candidates),
        RunFolder.CANDIDATES: _candidate_list(result.candidates),
        RunFolder.CANDIDATES_CSV: csv_text(metrics),
        RunFolder.FRONT: csv_text(front),
        RunFolder.SUMMARY: json_text(result.summary(folder.path)),
    }
    return folder.finish(files, known_at_start=lambda: {RunFolder.MODEL: loaded.text})
