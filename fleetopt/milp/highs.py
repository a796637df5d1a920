"""Run HiGHS on a built model (shared by the solve, the diagnosis and the persistent planner)."""

from __future__ import annotations

import contextlib
import math
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import highspy
import pyomo.environ as pyo
from pyomo.contrib.solver.common.results import SolutionStatus, TerminationCondition
from pyomo.contrib.solver.solvers.highs import Highs

from fleetopt.milp.units import VARIABLE_UNITS, from_model_units

# the relative gap a solve stops at unless told otherwise: within 0.5 % of HiGHS's bound (a
# stochastic solve from Python, whose extensive form is far larger, defaults to 1 %: §7b)
DEFAULT_MIP_GAP = 0.005
STOCHASTIC_MIP_GAP = 0.01


def relative_gap(value: float, bound: float | None) -> float | None:
    """|bound - value| / max(|value|, 1e-9), HiGHS's ``mip_rel_gap`` measured on a plan's objective
    ``value`` (None without a finite bound): how far the plan may be from the best. Every solve's
    reported gap and every stopping test on one read it."""
    if bound is None or not math.isfinite(bound):
        return None
    return abs(bound - value) / max(abs(value), 1e-9)


def gap_to_bound(value: float, bound: float | None) -> float | None:
    """:func:`relative_gap` of a maximisation's plan ``value`` to its upper ``bound``: 0 where the
    plan lies above it (by the solver's tolerances), None without a finite bound."""
    return None if bound is None else relative_gap(value, max(bound, value))


_INFEASIBLE = (TerminationCondition.provenInfeasible, TerminationCondition.infeasibleOrUnbounded)
_LIMITS = (TerminationCondition.maxTimeLimit, TerminationCondition.iterationLimit)


def solver_trouble(results) -> bool:
    """A solve that ended without a plan for a reason other than a limit or proven infeasibility
    (numerical trouble, an error, an unbounded objective)."""
    tc = results.termination_condition
    return tc not in _INFEASIBLE and tc not in _LIMITS


@contextmanager
def stops_kept() -> Iterator[None]:
    """Ctrl-C or SIGTERM (which the CLI turns into KeyboardInterrupt) while HiGHS runs raises in a
    Python callback HiGHS makes, and HiGHS catches it: the solve ends as an error and the stop
    would be lost (a sweep went on with the candidate as "no_plan"). The handlers note each stop
    they raise, and it is raised again once HiGHS has returned. Main thread only."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    noted, previous = [], {}

    def noting(signum, frame):
        try:
            previous[signum](signum, frame)
        except KeyboardInterrupt:  # only a stop: a caller's handler that does not raise stays as it is
            noted.append(signum)
            raise

    for sig in (signal.SIGINT, signal.SIGTERM):
        if callable(handler := signal.getsignal(sig)):  # not ignored, not the default (process ends)
            previous[sig] = handler
            signal.signal(sig, noting)
    try:
        yield
    except BaseException:
        if noted:  # the stop, not what followed it
            raise KeyboardInterrupt from None
        raise
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if noted:
        raise KeyboardInterrupt


@dataclass(frozen=True)
class MipProgress:
    """Where a HiGHS run stands: ``seconds`` since it began; ``best``: the objective of the best plan
    it has found so far, USD (None before its first plan); ``bound``: its bound on the objective,
    USD (None before it has a finite one)."""

    seconds: float
    best: float | None = None
    bound: float | None = None
    stage: str = ""  # what the run solves, where a command runs several (:func:`stage`)
    priced: bool = True  # whether ``best`` is the plan's objective in USD (a diagnosis's is not)
    called: str = ""  # the objective's name where the stage knows it ("NPV"; "": the reporter's)

    @property
    def gap(self) -> float | None:
        """The best plan's relative gap to the bound (:func:`relative_gap`); None without both."""
        return None if self.best is None else relative_gap(self.best, self.bound)


# what the HiGHS runs now starting solve (:func:`stage`; innermost last): (name, priced, called)
_stages: list[tuple[str, bool, str]] = []


@contextmanager
def stage(name: str, priced: bool = True, called: str = "") -> Iterator[None]:
    """HiGHS runs started in this block reported as solving ``name``: a stochastic solve runs the
    forecast optimum, RP, EEV and WS one after the other, whose progress lines read alike.
    ``priced`` False: their objective is no plan's value in USD (a diagnosis's weighted shortfall),
    so a line gives the time alone; ``called``: its name, where the stage's is not the command's
    (a stochastic solve's forecast optimum maximises NPV, its RP an objective of its own)."""
    _stages.append((name, priced, called))
    try:
        yield
    finally:
        _stages.pop()


# the reporters of :func:`mip_progress` now listening: (report, every)
_reporters: list[tuple[Callable[[MipProgress], None], float]] = []


@contextmanager
def mip_progress(report: Callable[[MipProgress], None], every: float = 15.0) -> Iterator[None]:
    """While in this block, each HiGHS run of a fleetopt MILP (a solve, a sweep's candidates, a
    stochastic solve's extensive form) calls ``report(MipProgress)`` as it starts, at each better
    plan HiGHS finds and every ``every`` seconds (from a timer thread: HiGHS's root node can run
    minutes without a callback; 0: no timer). ``report`` may be called from HiGHS's threads: it
    must be quick and thread-safe."""
    _reporters.append((report, every))
    try:
        yield
    finally:
        _reporters.remove((report, every))


@contextmanager
def unwatched() -> Iterator[None]:
    """No HiGHS run of this block reported (a solve's settling LP, whose bound is not the branch and
    bound's: its gap read 42,772 %)."""
    listening = _reporters[:]
    _reporters.clear()
    try:
        yield
    finally:
        _reporters[:] = listening


class _Watch:
    """One HiGHS run's progress, kept from its MIP callbacks and told to ``reporters``."""

    def __init__(self, reporters: list):
        self.reporters, self.start, self.best, self.bound = reporters, time.monotonic(), None, None
        self.stopped = threading.Event()
        self.stage, self.priced, self.called = _stages[-1] if _stages else ("", True, "")

    def now(self) -> MipProgress:
        seconds = time.monotonic() - self.start
        return MipProgress(seconds, self.best, self.bound, self.stage, self.priced, self.called)

    def seen(self, event) -> None:
        """A MIP callback: HiGHS's best plan and bound, in the model's sense, kept in USD."""
        out = event.data_out
        if math.isfinite(out.mip_primal_bound):
            self.best = from_model_units(out.mip_primal_bound, VARIABLE_UNITS["objective"])
        if math.isfinite(out.mip_dual_bound):
            self.bound = from_model_units(out.mip_dual_bound, VARIABLE_UNITS["objective"])

    def improved(self, event) -> None:
        self.seen(event)
        progress = self.now()
        for report, _ in self.reporters:
            report(progress)

    def ticks(self, report: Callable[[MipProgress], None], every: float) -> None:
        while not self.stopped.wait(every):
            report(self.now())


@contextmanager
def watched(h: highspy.Highs) -> Iterator[None]:
    """``h``'s run reported to :func:`mip_progress`'s reporters (nothing without one)."""
    if not _reporters:
        yield
        return
    watch = _Watch(list(_reporters))
    callbacks = ((h.cbMipImprovingSolution, watch.improved), (h.cbMipLogging, watch.seen),
                 (h.cbMipInterrupt, watch.seen))  # fmt: skip
    for event, callback in callbacks:
        event.subscribe(callback)
    for report, every in watch.reporters:
        report(watch.now())  # its start: which solve it is (a line waits until it has run a while)
        if every > 0:
            threading.Thread(target=watch.ticks, args=(report, every), daemon=True).start()
    try:
        yield
    finally:
        watch.stopped.set()
        for event, callback in callbacks:
            event.unsubscribe(callback)


class WatchedHighs(Highs):
    """Pyomo's HiGHS interface whose runs are reported to :func:`mip_progress` (its highspy instance
    is made by each new model's solve, so it is watched here, once it is there)."""

    def _solve(self):
        with watched(self._solver_model):
            return super()._solve()


def run_stoppable(h: highspy.Highs) -> None:
    """``h.run()`` in HiGHS's own thread (highspy's ``HandleKeyboardInterrupt``), so that Ctrl-C or
    SIGTERM cancels the run at once instead of waiting for HiGHS to return (a bare run holds the
    interpreter: no Python handler runs until it ends); the stop is raised once HiGHS has stopped.
    HiGHS looks for the cancellation at its own checks: in a MIP, not before its root node is done
    (on the default model's forecast MILP, about 9 s in here, whenever the stop came). Runs made
    from another thread (the block solver's parallel LPs), which no signal reaches, are cancelled by
    :func:`cancel_worker_runs` instead."""
    if threading.current_thread() is not threading.main_thread():
        _run_in_worker(h)  # highspy's solve thread is for one caller at a time
        return
    h.HandleKeyboardInterrupt = True
    # highspy says "Ctrl-C pressed ...: Waiting for HiGHS to finish" on stdout: a note, not output
    with stops_kept(), contextlib.redirect_stdout(sys.stderr), watched(h):
        h.solve()


_worker_runs: set = set()  # the HiGHS runs of worker threads now going
_worker_lock = threading.Lock()


def _run_in_worker(h: highspy.Highs) -> None:
    """``h.run()`` from a worker thread, cancellable by :func:`cancel_worker_runs` (HiGHS's user
    interrupt, looked for at its simplex, IPM and MIP checks)."""
    h.HandleUserInterrupt = True
    with _worker_lock:
        _worker_runs.add(h)
    try:
        h.run()
    finally:
        with _worker_lock:
            _worker_runs.discard(h)


def cancel_worker_runs() -> None:
    """Cancel every HiGHS run of a worker thread now going: a stop (Ctrl-C, SIGTERM) reaches only
    the main thread, which calls this so that it need not wait for their LPs to finish."""
    with _worker_lock:
        running = list(_worker_runs)
    for h in running:
        h.cancelSolve()


# HiGHS starts one thread scheduler per process, sized at its first run; a later run whose
# `threads` option asks another count refuses to start (status unknown, which read as numerical
# trouble: a notebook's second solve with `threads=1` failed). The count this process asked last.
_scheduler_threads: list[int | None] = [None]


def ready_for_threads(threads: int | None) -> None:
    """Let the next HiGHS run in this process use ``threads`` (None: the scheduler as it is):
    HiGHS's scheduler is started again when the count differs from the one last asked for."""
    if threads and threads != _scheduler_threads[0]:
        highspy.Highs.resetGlobalScheduler(True)
        _scheduler_threads[0] = threads


def run_highs(m: pyo.ConcreteModel, solver: Highs | None = None, **options) -> tuple[str, object]:
    """Solve ``m`` with HiGHS (``solver``: a persistent instance to reuse) and load the plan found.

    Returns (status, results); status is ``optimal``, ``time_limit`` (a plan, gap not reached),
    ``no_plan`` (stopped before any plan: by a limit, or by numerical trouble or another solver
    failure, which :func:`solver_trouble` tells apart) or ``infeasible`` (proven so: trouble is
    never reported as infeasibility). ``options``: ``time_limit``, ``rel_gap``, ``threads``.
    """
    ready_for_threads(options.get("threads"))
    solver = solver or Highs()
    # no limit is said as one: a reused instance kept the last limit given (a diagnosis's 10 s probe)
    options["time_limit"] = math.inf if options.get("time_limit") is None else options["time_limit"]
    with stops_kept():
        results = solver.solve(
            m, load_solutions=False, raise_exception_on_nonoptimal_result=False, tee=False, **options
        )
    console_off(solver)
    tc = results.termination_condition
    if tc == TerminationCondition.interrupted:  # a cancelled solve: the user's stop, not trouble
        raise KeyboardInterrupt
    if results.solution_status not in (SolutionStatus.feasible, SolutionStatus.optimal):
        return ("infeasible" if tc in _INFEASIBLE else "no_plan"), results
    results.solution_loader.load_vars()
    if tc == TerminationCondition.convergenceCriteriaSatisfied:
        return "optimal", results
    return ("time_limit" if tc == TerminationCondition.maxTimeLimit else tc.name), results


def console_off(solver: Highs) -> None:
    """HiGHS off the console once a solve is over. Pyomo turns HiGHS's console log on for a solve (and
    captures it), but a reused instance's update of what changed since comes before that: a
    coefficient of 0 (a stress's late power block or lost contract, the rows of a decision held by
    the settling LP) made HiGHS print 'WARNING: |Value| of 0 supplied to Highs::changeCoeff ...' on
    stdout, 16 lines in a sweep of tiny."""
    highs = getattr(solver, "_solver_model", None)  # the highspy instance, once one is loaded
    if highs is not None:
        highs.setOptionValue("log_to_console", False)


def model_size(m: pyo.ConcreteModel) -> dict:
    """Variables (of them integer) and constraint rows of a built model."""
    variables = list(m.component_data_objects(pyo.Var, active=True))
    n_int = sum(1 for v in variables if v.is_integer() or v.is_binary())
    return {
        "variables": len(variables),
        "integer_variables": n_int,
        "constraints": sum(1 for _ in m.component_data_objects(pyo.Constraint, active=True)),
    }
