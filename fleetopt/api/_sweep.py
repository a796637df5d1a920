"""Sweeping candidate plans: run, resume, rerank and write a sweep run."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, fields
from pathlib import Path
from typing import TYPE_CHECKING

from fleetopt.api._keywords import arguments_checked
from fleetopt.api._models import ModelArg, _loadable
from fleetopt.api._runs import _recorded, resolve_run
from fleetopt.api._solve import _check_plans_unchanged, _with_plans_key
from fleetopt.core.purchases import FixedPurchases, is_purchase_table
from fleetopt.errors import InputError
from fleetopt.evaluate import resources
from fleetopt.evaluate.backend import BACKENDS
from fleetopt.milp.highs import DEFAULT_MIP_GAP, STOCHASTIC_MIP_GAP
from fleetopt.runs import limits
from fleetopt.runs.folder import RunFolder
from fleetopt.runs.kinds import run_name
from fleetopt.sweep.result import SweepResult
from fleetopt.sweep.result import write_sweep_run as _write_sweep_folder
from fleetopt.sweep.rule import _RULE_FIELD, Rule
from fleetopt.sweep.run import prepare_sweep as _prepare_sweep
from fleetopt.sweep.run import rerank_sweep as _rerank_sweep
from fleetopt.sweep.run import resume_sweep as _resume_sweep
from fleetopt.sweep.run import run_sweep as _run_sweep

if TYPE_CHECKING:  # a type only: pandas is imported where a frame is made
    import pandas as pd


def _tokens(name: str, tokens) -> list[str]:
    """A command line's tokens, each a string: a string given whole ("--x") was split into its
    characters."""
    if isinstance(tokens, str) or not isinstance(tokens, Iterable):
        raise InputError(f"{name} must be a list of command-line tokens, e.g. ['--report'] (got {tokens!r})")
    return [limits.text(name, token) for token in tokens]


# a sweep's keywords a notebook may reach for that are another thing's: the options of `fleetopt sweep`
# that are another function's or argument's here, and the rule's fields
SWEEP_ELSEWHERE = {
    **{option.removeprefix("--").replace("-", "_"): f"`fleetopt sweep {option}` is the rule's {field}: "
       f"rule=fleetopt.api.Rule({field if '=' in field else field + '=...'})"
       for option, field in _RULE_FIELD.items()},
    **{f.name: f"it is a field of the rule: rule=fleetopt.api.Rule({f.name}=...)" for f in fields(Rule)},
    "out": "the folder it saves in as it goes (`fleetopt sweep --out`) is folder=; "
           "fleetopt.api.write_sweep_run(result, out) writes the finished run",
    "report": "its report (`fleetopt sweep --report`) is "
              "fleetopt.api.report(fleetopt.api.write_sweep_run(result))",
    "rerank": "a finished sweep ranked by another rule (`fleetopt sweep --rerank`) is "
              "fleetopt.api.rerank_sweep(folder, rule)",
    "resume": "an interrupted sweep (`fleetopt sweep --resume`) is finished by "
              "fleetopt.api.resume_sweep(folder)",
}

# the rule of a resume or rerank, given by a keyword of its own: it is their rule_changes
RULE_CHANGES_ELSEWHERE = {
    name: "the rule is rule_changes: a fleetopt.api.Rule (the whole rule), or {field: value} for some of "
          "its fields, e.g. {'prefer': 'mean'}"
    for name in ("rule", *(f.name for f in fields(Rule)))
}


def _rule_changes(rule_changes) -> dict | None:
    """A resume's or rerank's ``rule_changes``, the rule's fields to replace: a :class:`Rule` is every
    field of it, the rule itself as :func:`sweep` takes it (it was refused as "not a Rule"); a mapping,
    the fields it names, each checked."""
    if isinstance(rule_changes, Rule):
        return asdict(rule_changes)
    return None if rule_changes is None else Rule.checked_fields("rule_changes", rule_changes)


@arguments_checked(SWEEP_ELSEWHERE)
def sweep(
    model: ModelArg = None,
    *,
    candidates: int = limits.DEFAULT_CANDIDATES,
    scenarios: int = limits.DEFAULT_SCENARIOS,
    seed: int = 0,
    rule: Rule | None = None,
    backend: str = "auto",
    mip_gap: float = DEFAULT_MIP_GAP,
    time_limit: float | None = None,
    threads: int | None = None,
    progress: Callable[[int, int], None] | None = None,
    folder: str | Path | None = None,
    stochastic: int = 0,
    stochastic_mip_gap: float = STOCHASTIC_MIP_GAP,
    share_purchases: bool = False,
    candidate_progress: Callable[[str], None] | None = None,
    purchases: Iterable[str | Path | FixedPurchases | pd.DataFrame] | Mapping = (),
    resume_options: Iterable[str] = (),
    on_folder: Callable[[Path], None] | None = None,
    objective: str = "npv",
) -> SweepResult:
    """Evaluate up to ``candidates`` plans, made until that many have a plan or the list runs out (a
    duplicate, or a plan that breaks a hard limit, is dropped and does not count, so more may be made):
    the forecast optimum, stress optima, variations; with ``stochastic`` N > 0 the two-stage stochastic
    plan over N scenarios (``share_purchases``: as :func:`solve_stochastic`'s); for each of the CSV files
    or tables ``purchases`` (as :func:`solve` reads them) a procurement plan written by people, "yours:
    FILE", its purchases fixed and the rest the forecast's best; a dict {name: file or table} names each
    "yours: name"; tables in a list are "purchases table 1", "2" ...), on ``scenarios`` common futures of
    ``seed``, each planned for ``model`` (a model as :func:`load` takes it); find the Pareto front and
    recommend one by ``rule``. Every candidate maximises NPV; with ``objective="cost"`` every candidate
    is solved for least present cost (a lab's plans: the stresses raise the demand for spare capacity, no
    price shock; no ``stochastic`` plan), evaluated with its present cost over the scenarios and ranked
    by ``Rule(prefer="cost", min_service=...)`` (the default there). The forecast optimum's
    two larger cash buffers are candidates, each run with it and planned from the start (its MILP solved
    again with the minimum cash raised by it). Where the rule's pick is neither the forecast optimum nor a
    cash-buffer candidate, its two cash-buffer runs (and, for a stress optimum, its buffers planned) are
    evaluated on the same scenarios and the rule picks again (a second round, on top of ``candidates``).

    ``rule``: a :class:`Rule` (None: ``Rule()``), the best plan by ``prefer`` among those meeting
    every limit:

    - ``prefer``: "cvar5" (default), "mean" or "p5": the NPV figure to maximise (USD); "cost" (a sweep
      by cost's, and only its): the mean present cost to minimise;
    - ``min_service`` (a rule by cost only): the lowest share of market demand served on average, in
      [0, 1] (None: the forecast optimum's on the same scenarios);
    - ``max_breach_prob``, ``max_default_prob``, ``max_any_default_prob``: the highest covenant-breach,
      liquidity-default and any-default (a liquidity default or an uncured covenant breach, as lenders
      count defaults) probability allowed, in [0, 1] (None: no limit);
    - ``min_cvar5_usd``: the lowest CVaR5 NPV allowed, USD (None: no limit);
    - ``forecast_within_limits`` (default True): only plans that breach no covenant and do not
      default on the forecast itself (False: as ``--allow-forecast-breach``);
    - ``no_riskier_than_optimum`` (default True): only plans whose breach, liquidity default and
      any-default probabilities are no higher than the forecast optimum's on the same scenarios
      (False: as ``--allow-riskier``).

    e.g. ``fo.sweep("tiny", rule=fo.Rule(prefer="mean", max_breach_prob=0.05))``. When no candidate
    meets it, :class:`~fleetopt.sweep.rule.RuleNotMet` (an InputError) says how close they came.

    ``mip_gap``, ``time_limit`` (seconds) and ``threads``: each candidate's MILP solve (threads
    beyond the usable cores are capped, with a :class:`FleetoptWarning`); the stochastic plan's
    gap is ``stochastic_mip_gap`` (1 %, as :func:`solve_stochastic`'s). ``backend``: see
    :func:`evaluate`. With ``folder`` (new or empty, as `fleetopt sweep --out`: one holding another
    run is refused before any work; True: a new folder in the runs folder, named as `fleetopt
    sweep` names it), each candidate and evaluation chunk is saved there as it is
    made, so :func:`resume_sweep` finishes an interrupted sweep (a sweep stopped or failed lets go
    of the folder, so another process may resume it too; one with no plan for the forecast leaves
    nothing, a folder it made removed); :func:`write_sweep_run` writes the
    result (``resume_options``: what the command that resumes it is given again, for
    `fleetopt runs`). The folder is claimed once the settings, the model and ``purchases`` are
    checked, before any solve; ``on_folder`` is then called with its path (the CLI says there
    what it sweeps, and names the folder if stopped). ``candidate_progress`` is called with one
    line per candidate ("<label>: <status> (<k> of <n>)", k counting those with a plan; "<label>:
    <status>" for one without), ``progress`` as the evaluation goes (see :func:`evaluate`).

    Returns a :class:`SweepResult`: ``metrics`` (one row per evaluated candidate; ``on_front``
    marks the Pareto front), ``recommended`` (the rule's pick: its row of ``metrics``),
    ``forecast_optimum`` (the forecast optimum's row) and ``why()`` (one sentence).
    """
    _check_sweep_call(rule, folder, progress, candidate_progress, on_folder)
    prepared = _prepare_sweep(
        _loadable(model), candidates=candidates, scenarios=scenarios, seed=seed, rule=rule, backend=backend,
        mip_gap=mip_gap, time_limit=time_limit, threads=threads, stochastic=stochastic,
        stochastic_mip_gap=stochastic_mip_gap, share_purchases=share_purchases,
        purchases=_purchases_list(purchases),
        resume_options=_tokens("resume_options", resume_options), objective=objective,
    )  # fmt: skip
    return _swept(prepared, folder, progress, candidate_progress, on_folder)


def _check_sweep_call(rule, folder, progress, candidate_progress, on_folder) -> None:
    """:func:`sweep`'s ``rule``, callbacks and ``folder`` checked first (its other settings are
    :func:`~fleetopt.sweep.run.prepare_sweep`'s to check)."""
    if rule is not None and not isinstance(rule, Rule):
        raise InputError(
            f"rule must be a fleetopt.api.Rule, e.g. Rule(prefer='cvar5', max_breach_prob=0.05), or None "
            f"for Rule() (got {rule!r})"
        )
    limits.callback("progress", progress)
    limits.callback("candidate_progress", candidate_progress)
    limits.callback("on_folder", on_folder)
    if folder is not True:
        limits.out_path("folder", folder)
        RunFolder.check_new(folder)  # before the model is even read


def _swept(prepared, folder, progress, candidate_progress, on_folder) -> SweepResult:
    """Run a prepared sweep (:func:`sweep`), saving it in ``folder`` where given."""
    if folder is None:
        return _with_plans_key(_run_sweep(prepared, None, progress, candidate_progress))
    # claimed as the CLI's --out is (refused now if not new or empty); a sweep that fails or is stopped
    # lets go of it: its lock (a notebook lives on: another process may resume it), and the folder
    # itself where made here and left empty
    run = RunFolder.claim(None if folder is True else folder, run_name("sweep", prepared.loaded.model.name))
    with run.released_on_failure():
        if on_folder is not None:
            on_folder(run.path)
        return _with_plans_key(_run_sweep(prepared, run.path, progress, candidate_progress))


def _purchases_list(purchases) -> list:
    """``purchases`` as a list (a lone file is one, None none), or a dict of them by name; each is
    checked when it is read
    (:func:`~fleetopt.core.purchases.purchases_for`)."""
    if purchases is None:
        return []
    if isinstance(purchases, Mapping):  # {name: file or table}: each candidate named by its key
        return dict(purchases)
    if isinstance(purchases, (str, Path, FixedPurchases)) or is_purchase_table(purchases):
        return [purchases]  # a table is one (iterating over it gives its column names)
    try:
        return list(purchases)
    except TypeError:
        raise InputError(f"purchases must be a list of CSV files (got {type(purchases).__name__})") from None


@arguments_checked(RULE_CHANGES_ELSEWHERE)
def resume_sweep(
    folder: str | Path | int,
    progress: Callable[[int, int], None] | None = None,
    rule_changes: Rule | dict | None = None,
    candidate_progress: Callable[[str], None] | None = None,
    *,
    backend: str | None = None,
    threads: int | None = None,
) -> SweepResult:
    """Finish an interrupted sweep (its folder or run id): the candidates it saved are taken as they
    are, only those it had not made are solved, and only missing evaluation chunks are evaluated.
    ``rule_changes``: fields of :class:`Rule` to replace (a sweep whose rule no candidate met
    finishes with a looser one), e.g. ``{"max_breach_prob": 0.1}``, or a :class:`Rule`, the whole
    rule (each field it leaves out at its default). ``backend`` and ``threads``
    (None: the sweep's own) change how its evaluation runs, not its figures (to 1e-12).

    Returns the finished :class:`SweepResult`, as :func:`sweep` does (:func:`write_sweep_run` writes
    it into its folder).
    """
    folder = resolve_run(folder, "folder")
    rule_changes = _rule_changes(rule_changes)
    limits.callback("progress", progress)  # before the work, not at its first call
    limits.callback("candidate_progress", candidate_progress)
    how = {"backend": backend, "threads": threads}  # checked by the resume
    return _with_plans_key(_resume_sweep(folder, progress, rule_changes=rule_changes,
                                         candidate_progress=candidate_progress, how=how))  # fmt: skip


@arguments_checked(RULE_CHANGES_ELSEWHERE)
def rerank_sweep(
    folder: str | Path | int,
    rule_changes: Rule | dict | None = None,
    *,
    backend: str = "auto",
    threads: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> SweepResult:
    """A finished sweep (its folder or run id) ranked by another rule, with no solve but a new stress
    pick's planned cash buffers (``.solved_now``, solved with the sweep's mip_gap and time limit): the rule it
    finished with, with ``rule_changes`` (fields of :class:`Rule`, e.g.
    ``{"no_riskier_than_optimum": False}`` for ``--allow-riskier``), or the :class:`Rule` given
    (``fo.rerank_sweep(folder, fo.Rule(prefer="mean"))``: the whole rule, each field it leaves out at
    its default). Its candidates are evaluated
    again on its scenarios (seconds: the solves were the sweep's minutes), so the figures are the
    sweep's own. The folder is only read: :func:`write_sweep_run` writes the result to a new one,
    whose summary.json names the sweep (``reranked_from``). ``backend``, ``threads`` and
    ``progress``: as :func:`evaluate`'s.

    Returns a :class:`SweepResult` (:func:`write_sweep_run` writes it as a new run).
    """
    folder = resolve_run(folder, "folder")
    rule_changes = _rule_changes(rule_changes)
    limits.text("backend", backend, BACKENDS)
    limits.callback("progress", progress)
    threads = resources.capped_threads(limits.threads("threads", threads))
    return _with_plans_key(_rerank_sweep(folder, rule_changes, backend, threads, progress))


@arguments_checked()
def write_sweep_run(
    result: SweepResult, out: str | Path | None = None, *, command: str | None = None
) -> Path:
    """Write plans.npz, candidates.csv, candidates.json, front.csv, summary.json and model.yaml into
    a run folder, ``out``: the folder the sweep saved its candidates and chunks in (``result.job_folder``,
    which None means where the sweep had one: otherwise that folder would stay an unfinished sweep
    beside the new one), a new one, or None without a job folder: a new default one; and record it in
    the run registry.

    Returns the run folder (a Path).
    """
    limits.instance("result", result, SweepResult, "what fleetopt.api.sweep returns")
    limits.text("command", command, optional=True)
    _check_plans_unchanged(result)
    limits.out_path("out", out)
    out = result.job_folder if out is None else out
    return _recorded(result.loaded, lambda: _write_sweep_folder(result, out), result.summary, command)
