"""HiGHS on the extensive form, started where the scenarios already are (docs/formulation.md §7b).

Handed the whole extensive form, HiGHS spends nearly all its time in the root LP: on the default
model the dual simplex needs about 110,000 iterations for 5 scenarios (4 minutes on 2 cores) and
finds no plan for 10 in 10 minutes, while the branch and bound after it is often trivial (rounding
the root LP within 0.1 % of its bound; not always: formulation §7b, step 5). This module solves
that LP the way the problem is built:

1. each scenario's LP on its own (its block of the extensive form: the scenario's rows and
   columns, the non-anticipativity rows left out), the next one started from the basis of the
   last;
2. the extensive form's LP from the union of those bases, with every non-anticipativity (and
   CVaR) row basic. With the scenario objectives weighted by their probabilities this basis is
   dual feasible, so the dual simplex only has to bring the scenarios' first stages together
   (a few thousand iterations);
3. the first-stage integers rounded (the copies of one decision together) and fixed, and the LP
   solved again from its basis: a plan, whose gap to the LP bound is certified;
4. if that gap is above the one asked for, the rounding improved one decision at a time
   (:func:`one_flip_search`: each fractional integer rounded the other way, kept where better);
5. only if the gap is still above it, HiGHS's branch and bound, given the best plan as its start.

Later solves (EEV: the first stage fixed; WS: non-anticipativity dropped) restart from the last
basis. In WS no row links the blocks: where its rounding misses the gap, each block's MILP is
solved on its own instead of step 5, the objective and bound assembled from theirs. The Pyomo
model stays the definition: the fixed state of its variables and the active state of its
non-anticipativity rows are read at every solve, and the solution is loaded back.
"""

from __future__ import annotations

import math
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import highspy
import numpy as np
import pyomo.environ as pyo
from pyomo.repn.linear import LinearRepnVisitor

from fleetopt.milp.highs import cancel_worker_runs, gap_to_bound, ready_for_threads, run_stoppable

try:  # Pyomo 6.8.1 and later take the order of the columns as a recorder
    from pyomo.repn.util import OrderedVarRecorder
except ImportError:  # pragma: no cover - older Pyomo
    OrderedVarRecorder = None

INTEGRAL = 1e-6  # an LP value this close to an integer counts as integral
FIRST_GROUP = 5  # scenarios in a group of the non-anticipativity tree's first level


def group_sizes(n: int) -> list[int]:
    """The sizes of the nested scenario groups of the non-anticipativity tree over ``n``
    scenarios, smallest first: 5, 10, 20, ... below ``n`` (none up to 5 scenarios, where every
    copy is tied to scenario 0's). The groups of size s are the scenarios [k s, (k + 1) s)."""
    sizes, size = [], FIRST_GROUP
    while size < n:
        sizes.append(size)
        size *= 2
    return sizes


def tied_to(n: int, sizes: list[int]) -> int:
    """The scenario whose first-stage copy scenario ``n``'s is tied to: the first scenario of the
    smallest group of ``sizes`` that ``n`` is not the first of (scenario 0 when it is the first of
    all). Every group's scenarios are then tied together by rows inside the group."""
    for size in sizes:
        if n % size:
            return n - n % size
    return 0

_OPTIMAL = highspy.HighsModelStatus.kOptimal
_CONTINUOUS = highspy.HighsVarType.kContinuous
APART = "blocks' MILPs apart"  # LPResult.method of a solve with no row linking the blocks (WS)


def map_stoppable(workers: int, fn: Callable[[Any, threading.Event], Any], items) -> list:
    """``fn(item, stop)`` for each item on ``workers`` threads, in order. A stop (Ctrl-C, SIGTERM)
    reaches only the main thread, which waits here: it sets ``stop`` (``fn`` checks it between its
    LPs), drops the items not started, cancels the LPs running and waits for them to stop, and is
    raised again."""
    stop = threading.Event()
    pool = ThreadPoolExecutor(workers)
    try:
        return list(pool.map(lambda item: fn(item, stop), items))
    except BaseException:
        stop.set()
        cancel_worker_runs()
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=stop.is_set())


@dataclass
class LPResult:
    """One run of the block solver: the plan found (values by column), its objective, the bound."""

    status: str  # optimal (gap reached) | time_limit (a plan, gap not reached) | no_plan | infeasible
    objective: float | None
    bound: float | None
    method: str  # "LP and rounding" or "branch and bound"
    lp_iterations: int
    seconds: dict


def csc_of(lp: highspy.HighsLp) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The constraint matrix of ``lp`` column-wise: (start, row index, value)."""
    matrix = lp.a_matrix_
    start, index, value = np.array(matrix.start_), np.array(matrix.index_), np.array(matrix.value_)
    if matrix.format_ != highspy.MatrixFormat.kRowwise:
        return start, index, value
    rows = np.repeat(np.arange(lp.num_row_), np.diff(start))
    order = np.lexsort((rows, index))
    counts = np.bincount(index, minlength=lp.num_col_)
    return np.concatenate([[0], np.cumsum(counts)]), rows[order], value[order]


def sub_lp(lp: highspy.HighsLp, csc, cols: np.ndarray, rows: np.ndarray) -> highspy.HighsLp:
    """The LP of ``lp`` restricted to ``cols`` and ``rows`` (entries in other rows dropped)."""
    start, index, value = csc
    row_of = np.full(lp.num_row_, -1)
    row_of[rows] = np.arange(len(rows))
    lengths = start[cols + 1] - start[cols]
    positions = (
        np.concatenate([np.arange(start[c], start[c + 1]) for c in cols]) if len(cols) else np.zeros(0, int)
    )
    local = row_of[index[positions]]
    keep = local >= 0
    counts = np.bincount(np.repeat(np.arange(len(cols)), lengths)[keep], minlength=len(cols))
    sub = highspy.HighsLp()
    sub.num_col_, sub.num_row_, sub.sense_, sub.offset_ = len(cols), len(rows), lp.sense_, 0.0
    sub.col_cost_ = np.asarray(lp.col_cost_)[cols]
    sub.col_lower_ = np.asarray(lp.col_lower_)[cols]
    sub.col_upper_ = np.asarray(lp.col_upper_)[cols]
    sub.row_lower_ = np.asarray(lp.row_lower_)[rows]
    sub.row_upper_ = np.asarray(lp.row_upper_)[rows]
    sub.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    sub.a_matrix_.num_col_, sub.a_matrix_.num_row_ = len(cols), len(rows)
    sub.a_matrix_.start_ = np.concatenate([[0], np.cumsum(counts)]).astype(np.int32)
    sub.a_matrix_.index_ = local[keep].astype(np.int32)
    sub.a_matrix_.value_ = value[positions][keep]
    return sub


def compile_model(m: pyo.ConcreteModel) -> tuple[highspy.HighsLp, list, dict]:
    """The linear model ``m`` as a HiGHS model, with Pyomo's LP-writer visitor (named expressions
    such as a quarter's EBITDA expanded once, not once per row that uses them): (the model, the
    variable of each column, the row of each constraint). Fixed variables are columns too (fixed
    by their bounds at each solve), so that fixing and unfixing needs no recompilation."""
    with _all_free(m):
        var_map: dict = {}
        visitor = _visitor(var_map)
        row_of, lower, upper, starts, entries = {}, [], [], [0], []
        for con in m.component_data_objects(pyo.Constraint, active=True, descend_into=True):
            lb, body, ub = con.to_bounded_expression(True)
            repn = visitor.walk_expression(body)
            if repn.nonlinear is not None:
                raise ValueError(f"{con.name} is not linear")
            row_of[con] = len(lower)
            lower.append(-np.inf if lb is None else lb - repn.constant)
            upper.append(np.inf if ub is None else ub - repn.constant)
            entries.append(repn.linear)
            starts.append(starts[-1] + len(repn.linear))
        objective = next(m.component_data_objects(pyo.Objective, active=True, descend_into=True))
        cost = visitor.walk_expression(objective.expr)
    column = {vid: n for n, vid in enumerate(var_map)}
    variables = list(var_map.values())
    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = len(variables), len(lower)
    lp.sense_ = highspy.ObjSense.kMaximize if objective.sense == pyo.maximize else highspy.ObjSense.kMinimize
    lp.offset_ = float(cost.constant)
    costs = np.zeros(len(variables))
    for vid, coef in cost.linear.items():
        costs[column[vid]] = coef
    lp.col_cost_ = costs
    lp.col_lower_ = np.array([-np.inf if v.lb is None else v.lb for v in variables], dtype=np.float64)
    lp.col_upper_ = np.array([np.inf if v.ub is None else v.ub for v in variables], dtype=np.float64)
    lp.row_lower_, lp.row_upper_ = np.array(lower, dtype=np.float64), np.array(upper, dtype=np.float64)
    lp.integrality_ = [
        highspy.HighsVarType.kInteger if v.is_integer() or v.is_binary() else _CONTINUOUS for v in variables
    ]
    lp.a_matrix_.format_ = highspy.MatrixFormat.kRowwise
    lp.a_matrix_.num_col_, lp.a_matrix_.num_row_ = lp.num_col_, lp.num_row_
    lp.a_matrix_.start_ = np.array(starts, dtype=np.int32)
    lp.a_matrix_.index_ = np.array([column[vid] for row in entries for vid in row], dtype=np.int32)
    lp.a_matrix_.value_ = np.array([c for row in entries for c in row.values()], dtype=np.float64)
    return lp, variables, row_of


class BlockSolver:
    """The extensive form ``m`` compiled for HiGHS once and solved from its scenario blocks' bases.
    ``blocks``: the scenario blocks of ``m``; ``linked``: the non-anticipativity ConstraintList
    (each row: copy == the copy it is tied to, along the tree of :func:`tied_to`; any other tree
    gives the same solution, started less well); ``values``: each block's own value (its objective when solved
    apart); ``weights``: each block's probability."""

    def __init__(
        self,
        m: pyo.ConcreteModel,
        blocks: list[pyo.Block],
        linked,
        values: list | None = None,
        weights: list[float] | None = None,
    ):
        lp, self.vars, row_of = compile_model(m)
        self.h = highspy.Highs()
        self.h.setOptionValue("output_flag", False)
        self.h.passModel(lp)
        col_of = {id(var): n for n, var in enumerate(self.vars)}
        self.n_col, self.n_row = lp.num_col_, lp.num_row_
        self.lower, self.upper = np.array(lp.col_lower_), np.array(lp.col_upper_)
        self.integer = np.flatnonzero(np.array([int(t) for t in lp.integrality_]) != int(_CONTINUOUS))
        self.blocks = [
            (
                np.array([col_of[id(v)] for v in blk.component_data_objects(pyo.Var) if id(v) in col_of]),
                np.array([row_of[c] for c in blk.component_data_objects(pyo.Constraint, active=True)]),
            )
            for blk in blocks
        ]
        # each block's own objective (``values``: one linear expression per block; default: its
        # share of the extensive form's), for the blocks solved apart once the first stage is fixed
        col_cost = np.asarray(lp.col_cost_)
        self.block_cost = (
            block_costs(m, values, self.blocks, {id(v): n for n, v in enumerate(self.vars)})
            if values is not None
            else [col_cost[cols] for cols, _ in self.blocks]
        )
        self._block_lps: list = []
        # the block whose solution sets the continuous first stage once the integers are rounded
        self.anchor = int(np.argmax(weights)) if weights else 0
        self.last_apart: dict = {}  # how the last scenario-by-scenario plan went (benchmarks)
        self.block_bases: dict = {}  # each block's basis from its own LP (step 1)
        self.linked = [(row_of[c], c) for c in linked.values()]
        # each non-anticipative copy and the copy it is tied to, while its row is active
        self.pairs = [tuple(col_of[id(v)] for v in _linked_pair(con)) for _, con in self.linked]
        in_blocks = np.concatenate([cols for cols, _ in self.blocks])
        self._block_of = np.full(self.n_col, -1)  # each column's block (-1: outside every block)
        for n, (cols, _) in enumerate(self.blocks):
            self._block_of[cols] = n
        self._outside = np.setdiff1d(np.arange(self.n_col), in_blocks)
        self._lp_csc: tuple | None = None
        self.original = np.arange(self.n_col)
        self.basis: highspy.HighsBasis | None = None
        self._last_iterations = 0
        self.group_seconds = 0.0
        self.decompose = True  # False: the rounded plan by the extensive form's LP alone (benchmarks)
        self._unlinked: tuple | bool | None = False  # :meth:`_unlinked_weights`, once computed
        self.rounding_first = True  # False: WS by the blocks' MILPs alone, without the LP (tests)

    # ------------------------------------------------------------------ the model's state

    def _sync(self) -> None:
        """Bounds from the Pyomo variables' fixed state, non-anticipativity rows from their active
        state, and every column continuous (the LP)."""
        lower, upper = self.lower.copy(), self.upper.copy()
        for col, var in enumerate(self.vars):
            if var.fixed:
                lower[col] = upper[col] = var.value
        cols = np.arange(self.n_col, dtype=np.int32)
        self.h.changeColsBounds(self.n_col, cols, lower, upper)
        self.bounds = (lower, upper)
        self.original = np.arange(self.n_col)
        for (row, con), (copy, first) in zip(self.linked, self.pairs, strict=True):
            bound = 0.0 if con.active else np.inf
            self.h.changeRowBounds(row, -bound, bound)
            if con.active:
                self.original[copy] = first
        while True:  # along the tree, to scenario 0's column
            original = self.original[self.original]
            if np.array_equal(original, self.original):
                break
            self.original = original
        self.h.changeColsIntegrality(self.n_col, cols, np.full(self.n_col, _CONTINUOUS))

    def load(self, values: np.ndarray) -> None:
        """Set the Pyomo variables to ``values`` (integers rounded; each non-anticipative copy to
        its scenario-0 original's value, which it equals within the LP's tolerance)."""
        values = values[self.original]
        integer = set(self.integer.tolist())
        for col, var in enumerate(self.vars):
            if not var.fixed:
                value = float(values[col])
                var.set_value(float(round(value)) if col in integer else value, skip_validation=True)

    # ------------------------------------------------------------------ solving

    def _run_lp(self, deadline: float | None) -> tuple[bool, np.ndarray, float, int]:
        h = self.h
        if self.basis is not None:
            h.setBasis(self.basis)
        h.setOptionValue("time_limit", max(1.0, deadline - time.perf_counter()) if deadline else np.inf)
        run_stoppable(h)
        ok = h.getModelStatus() == _OPTIMAL
        if ok:
            self.basis = h.getBasis()
        info = h.getInfo()
        return (
            ok,
            np.array(h.getSolution().col_value),
            info.objective_function_value,
            info.simplex_iteration_count,
        )

    def _scenario_bases(self, deadline: float | None, threads: int | None) -> int:
        """Each block's LP solved on its own (on ``threads`` threads, each a chain of blocks started
        from the last block's basis); the extensive form's basis assembled from theirs, every
        other row basic. Returns the simplex iterations."""
        lp, csc = self._matrix()
        chains = max(1, min(threads or os.cpu_count() or 1, len(self.blocks)))
        order = [list(range(start, len(self.blocks), chains)) for start in range(chains)]
        solved = map_stoppable(
            chains, lambda chain, stop: self._solve_chain(lp, csc, chain, deadline, stop), order
        )
        status = [highspy.HighsBasisStatus.kLower] * self.n_col
        for col in np.flatnonzero(np.isneginf(np.asarray(lp.col_lower_))):
            status[col] = highspy.HighsBasisStatus.kZero  # a free column outside the blocks (eta)
        rows = [highspy.HighsBasisStatus.kBasic] * self.n_row
        iterations = sum(it for _, it in solved)
        bases = dict(item for chain, _ in solved for item in chain)
        self.block_bases = bases
        if len(bases) < len(self.blocks):
            return iterations  # a block without a basis: the extensive form starts cold
        parts, group_iterations = self._group_bases(lp, csc, deadline, threads)
        for cols, part_rows, part in parts:
            for col, st in zip(cols, part.col_status, strict=True):
                status[col] = st
            for row, st in zip(part_rows, part.row_status, strict=True):
                rows[row] = st
        iterations += group_iterations
        basis = self.h.getBasis()
        basis.col_status, basis.row_status, basis.valid = status, rows, True
        self.basis = basis
        return iterations

    def _group_bases(self, lp, csc, deadline: float | None, threads: int | None) -> tuple[list, int]:
        """The scenario groups' LPs (:func:`group_sizes`), smallest first, each a group's blocks and
        the non-anticipativity rows inside it, started from its member groups' bases with the rows
        tying them together basic (dual feasible, as step 2's start), ``threads`` groups at a time:
        ([(columns, rows, basis)] of the largest groups, simplex iterations). A group without an
        optimum keeps that start. With each step the extensive form's LP has fewer first stages
        left to bring together."""
        tying = {n: [] for n in range(len(self.blocks))}  # each block's rows tying it to another
        for (row, _), (copy, _) in zip(self.linked, self.pairs, strict=True):
            tying[int(self._block_of[copy])].append(row)
        parts = {n: (cols, rows, self.block_bases[n]) for n, (cols, rows) in enumerate(self.blocks)}
        iterations, started = 0, time.perf_counter()
        for size in group_sizes(len(self.blocks)):
            groups = [range(lo, min(lo + size, len(self.blocks))) for lo in range(0, len(self.blocks), size)]
            workers = max(1, min(threads or os.cpu_count() or 1, len(groups)))
            solved = map_stoppable(
                workers,
                lambda g, stop, members=parts: self._solve_group(lp, csc, g, members, tying, deadline, stop),
                groups,
            )
            parts = {g.start: part for g, (part, _) in zip(groups, solved, strict=True)}
            iterations += sum(it for _, it in solved)
        self.group_seconds = time.perf_counter() - started
        return list(parts.values()), iterations

    def _solve_group(self, lp, csc, group: range, parts: dict, tying: dict, deadline, stop) -> tuple:
        """One group's LP from its members' ``parts`` (keyed by their first scenario):
        ((columns, rows, basis), simplex iterations)."""
        members = [parts[n] for n in group if n in parts]
        tie_rows = [row for n in group if n in parts and n != group.start for row in tying[n]]
        cols = np.concatenate([cols for cols, _, _ in members])
        rows = np.concatenate([rows for _, rows, _ in members] + [np.array(tie_rows, dtype=int)])
        start = highspy.HighsBasis()
        start.col_status = [st for _, _, basis in members for st in basis.col_status]
        start.row_status = [st for _, _, basis in members for st in basis.row_status]
        start.row_status += [highspy.HighsBasisStatus.kBasic] * len(tie_rows)
        start.valid = True
        if len(members) == 1 or stop.is_set() or _past(deadline):  # past it: the start as it is
            return (cols, rows, start), 0
        h = highspy.Highs()
        h.setOptionValue("output_flag", False)
        h.passModel(sub_lp(lp, csc, cols, rows))
        h.setBasis(start)
        if deadline:
            h.setOptionValue("time_limit", max(1.0, deadline - time.perf_counter()))
        run_stoppable(h)
        solved = h.getModelStatus() == _OPTIMAL
        return (cols, rows, h.getBasis() if solved else start), h.getInfo().simplex_iteration_count

    def _solve_chain(
        self, lp, csc, chain: list[int], deadline: float | None, stop: threading.Event
    ) -> tuple[list, int]:
        """The LPs of the blocks ``chain``, each started from the basis of the one before:
        ([(block, basis)], simplex iterations); stops at the first block without an optimum, or
        when ``stop`` is set (the run is being stopped)."""
        previous, bases, iterations = None, [], 0
        for n in chain:
            if stop.is_set():
                break
            cols, block_rows = self.blocks[n]
            h = highspy.Highs()
            h.setOptionValue("output_flag", False)
            # no "threads" option: HiGHS refuses to run (kError) when it differs from the thread count its
            # global scheduler was first started with; the simplex of an LP runs on one thread anyway
            h.passModel(sub_lp(lp, csc, cols, block_rows))
            if previous is not None:
                h.setBasis(previous)
            if deadline:
                h.setOptionValue("time_limit", max(1.0, deadline - time.perf_counter()))
            run_stoppable(h)
            iterations += h.getInfo().simplex_iteration_count
            if h.getModelStatus() != _OPTIMAL:
                break
            previous = h.getBasis()
            bases.append((n, previous))
        return bases, iterations

    # ------------------------------------------------------------------ the first stage fixed

    def _matrix(self) -> tuple[highspy.HighsLp, tuple]:
        """The extensive form as passed (its matrix, costs and block rows never change) and its
        matrix column-wise, computed once."""
        if self._lp_csc is None:
            lp = self.h.getLp()
            self._lp_csc = (lp, csc_of(lp))
        return self._lp_csc

    def _block_lp(self, n: int) -> highspy.HighsLp:
        """Block ``n``'s LP with its own objective (:attr:`block_cost`), built once."""
        if not self._block_lps:
            lp, csc = self._matrix()
            for (cols, rows), cost in zip(self.blocks, self.block_cost, strict=True):
                sub = sub_lp(lp, csc, cols, rows)
                sub.col_cost_ = cost
                self._block_lps.append(sub)
        return self._block_lps[n]

    def _first_stage_bounds(self, x, rounded, deadline) -> tuple[np.ndarray, np.ndarray, dict]:
        """Column bounds with every integer column fixed at ``rounded`` and the anchor block (the
        most probable scenario) solved with them: every other linked column (a non-anticipative
        copy and its original: purchases' training split, draws, prepayments) fixed at the anchor's
        value, which suits the rounded integers (the LP's own value need not: a purchase rounded
        down can leave its training split above the block). Returns (lower, upper, the anchor's
        step: its solution or None, its seconds)."""
        lower, upper = self.bounds[0].copy(), self.bounds[1].copy()
        lower[self.integer] = upper[self.integer] = np.clip(
            rounded, self.bounds[0][self.integer], self.bounds[1][self.integer]
        )
        started = time.perf_counter()
        values, self._last_iterations = self._solve_block(self.anchor, lower, upper, deadline)
        step = {"anchor": values, "anchor_seconds": time.perf_counter() - started}
        if values is None:
            return lower, upper, step
        at = x.copy()
        at[self.blocks[self.anchor][0]] = values
        # each first-stage original's value in the anchor block (its own copy there)
        in_anchor = np.arange(self.n_col)
        copies = np.flatnonzero(self.original != np.arange(self.n_col))
        anchor_copies = np.intersect1d(copies, self.blocks[self.anchor][0])
        in_anchor[self.original[anchor_copies]] = anchor_copies
        linked = np.setdiff1d(np.union1d(copies, self.original[copies]), self.integer)
        value = at[in_anchor[self.original[linked]]]
        lower[linked] = upper[linked] = np.clip(value, lower[linked], upper[linked])
        return lower, upper, step

    def _fixed_by_scenario(self, x, rounded, deadline, threads) -> tuple | None:
        """The plan with the integer columns at ``rounded`` and the rest of the first stage at the
        anchor block's value (:meth:`_first_stage_bounds`): with the whole first stage fixed the
        blocks no longer share a row, so each block's LP is solved on its own (``threads`` at a
        time, each from its own LP's basis of step 1, else the extensive form's restricted to it),
        then the columns outside the blocks (CVaR's) given theirs. (solution, objective of the
        extensive form), or None when a block has no optimum."""
        self._block_lp(0)  # built here, not by the threads at once
        lower, upper, step = self._first_stage_bounds(x, rounded, deadline)
        self.last_apart = {"anchor_seconds": step["anchor_seconds"], "outcome": "anchor block has no optimum"}
        if step["anchor"] is None:
            return None
        anchor_iterations = self._last_iterations
        started = time.perf_counter()
        workers = max(1, min(threads or os.cpu_count() or 1, len(self.blocks)))
        solved = map_stoppable(
            workers, lambda n, stop: self._solve_block(n, lower, upper, deadline), range(len(self.blocks))
        )
        self._last_iterations = anchor_iterations + sum(it for _, it in solved)
        self.last_apart["blocks_seconds"] = time.perf_counter() - started
        missing = [n for n, (values, _) in enumerate(solved) if values is None]
        self.last_apart["outcome"] = f"blocks without an optimum: {missing}" if missing else "plan"
        if missing:
            return None
        y = np.where(lower == upper, lower, x)
        for (cols, _), (values, _) in zip(self.blocks, solved, strict=True):
            y[cols] = values
        if len(self._outside):
            outside = self._outside_values(y, lower, upper)
            if outside is None:
                return None
            y[self._outside] = outside
        lp, _ = self._matrix()
        return y, float(lp.offset_ + np.dot(np.asarray(lp.col_cost_), y))

    def _solve_block(self, n: int, lower, upper, deadline) -> tuple[np.ndarray | None, int]:
        """Block ``n``'s LP within the bounds ``lower``, ``upper``: (its column values or None, the
        simplex iterations)."""
        cols, rows = self.blocks[n]
        h = highspy.Highs()
        h.setOptionValue("output_flag", False)
        # no "threads" option: HiGHS refuses to run (kError) when it differs from the thread count its
        # global scheduler was first started with; the simplex of an LP runs on one thread anyway
        h.passModel(self._block_lp(n))
        h.changeColsBounds(len(cols), np.arange(len(cols), dtype=np.int32), lower[cols], upper[cols])
        if n in self.block_bases:  # the block's own optimal basis (step 1): a valid start
            h.setBasis(self.block_bases[n])
        elif self.basis is not None:
            h.setBasis(_restricted(self.basis, cols, rows))
        if deadline:
            h.setOptionValue("time_limit", max(1.0, deadline - time.perf_counter()))
        run_stoppable(h)
        iterations = h.getInfo().simplex_iteration_count
        if h.getModelStatus() != _OPTIMAL:
            return None, iterations
        return np.array(h.getSolution().col_value), iterations

    def _outside_values(self, y: np.ndarray, lower, upper) -> np.ndarray | None:
        """The best values of the columns outside every block (CVaR's eta and shortfalls) with the
        block columns at ``y``: the small LP of those columns and the rows outside the blocks."""
        start, index, value = self._matrix()[1]
        inside = y.copy()
        inside[self._outside] = 0.0
        activity = np.bincount(index, weights=value * np.repeat(inside, np.diff(start)), minlength=self.n_row)
        # the rows that hold an outside column (the CVaR rows; the linking rows hold none and are
        # met, every copy being fixed at its original's value)
        rows = np.unique(np.concatenate([index[start[c] : start[c + 1]] for c in self._outside]))
        solved = self._solve_outside(rows, activity[rows], lower, upper)
        return None if solved is None else solved[1]

    def _solve_outside(self, rows: np.ndarray, activity: np.ndarray, lower, upper) -> tuple | None:
        """The LP of the columns outside every block (CVaR's eta and shortfalls) within ``lower``,
        ``upper``, over the extensive form's ``rows``, each row's bounds less the blocks' part
        ``activity`` of it: (its objective, their values), or None when it has no optimum."""
        lp, csc = self._matrix()
        rest = sub_lp(lp, csc, self._outside, rows)
        rest.col_lower_, rest.col_upper_ = lower[self._outside], upper[self._outside]
        rest.row_lower_ = np.asarray(lp.row_lower_)[rows] - activity
        rest.row_upper_ = np.asarray(lp.row_upper_)[rows] - activity
        h = highspy.Highs()
        h.setOptionValue("output_flag", False)
        h.passModel(rest)
        run_stoppable(h)
        if h.getModelStatus() != _OPTIMAL:
            return None
        return h.getInfo().objective_function_value, np.array(h.getSolution().col_value)

    def _rounded(self, values: np.ndarray, how) -> np.ndarray:
        """The integer columns' values rounded by ``how``, each copy as its scenario-0 original."""
        return how(values[self.original[self.integer]])

    def solve(self, mip_gap: float, time_limit: float | None, threads: int | None) -> LPResult:
        started = time.perf_counter()
        deadline = started + time_limit if time_limit else None
        seconds = {}
        self._sync()
        if not self.rounding_first and self._unlinked_now():
            return self._solve_blocks_apart(None, None, mip_gap, deadline, threads, 0, seconds)
        if threads:
            ready_for_threads(threads)
            self.h.setOptionValue("threads", threads)
        iterations = 0
        self.group_seconds = 0.0  # the groups' LPs (step 1b), part of the first solve only
        if self.basis is None:
            iterations += self._scenario_bases(deadline, threads)
            seconds["scenario_lps"] = time.perf_counter() - started - self.group_seconds
            if self.group_seconds:
                seconds["group_lps"] = self.group_seconds
        ok, x, bound, it = self._run_lp(deadline)
        iterations += it
        seconds["lp"] = time.perf_counter() - started - seconds.get("scenario_lps", 0.0) - self.group_seconds
        if not ok:
            return self._last_resort(None, None, mip_gap, deadline, threads, started, iterations, seconds)
        free = self.integer[self.bounds[0][self.integer] < self.bounds[1][self.integer]]
        if np.all(np.abs(x[free] - np.round(x[free])) <= INTEGRAL):
            self.load(x)
            return LPResult("optimal", bound, bound, "LP", iterations, seconds)
        incumbent, rounded = None, None
        for name, how in (("nearest", np.round), ("down", _down)):  # down: when nearest breaks a hard row
            step = time.perf_counter()
            rounded = self._rounded(x, how)
            incumbent = self._plan_at(x, rounded, bound, mip_gap, deadline, threads)
            seconds[f"rounding_{name}"] = time.perf_counter() - step
            iterations += self._last_iterations
            if incumbent is not None:
                break
        if incumbent is None or _gap(incumbent[1], bound) > mip_gap:
            step = time.perf_counter()
            start = (rounded, incumbent) if incumbent is not None else None
            incumbent, flip_iterations = self._flipped(x, start, bound, mip_gap, deadline, threads)
            seconds["rounding_flips"] = time.perf_counter() - step
            iterations += flip_iterations
        if incumbent is not None and _gap(incumbent[1], bound) <= mip_gap:
            self.load(incumbent[0])
            return LPResult("optimal", incumbent[1], bound, "LP and rounding", iterations, seconds)
        return self._last_resort(incumbent, bound, mip_gap, deadline, threads, started, iterations, seconds)

    def _flipped(self, x, start, bound, mip_gap, deadline, threads) -> tuple[tuple | None, int]:
        """The rounding of ``x`` improved one decision at a time (:func:`one_flip_search`, from
        ``start``, a (rounding, plan) or None) until within ``mip_gap`` or the deadline: the best
        plan (or None) and the simplex iterations it took."""
        counted = []

        def plan_at(rounding):
            plan = self._plan_at(x, rounding, bound, mip_gap, deadline, threads)
            counted.append(self._last_iterations)
            return plan

        best = one_flip_search(
            plan_at, self._rounded(x, _down), self._rounded(x, _up), self.original[self.integer], start,
            done=lambda plan: _gap(plan[1], bound) <= mip_gap or _past(deadline),
        )  # fmt: skip
        return best, sum(counted)

    def _plan_at(self, x, rounded, bound, mip_gap, deadline, threads) -> tuple | None:
        """A plan with the integers at ``rounded``: the blocks solved apart with the whole first
        stage fixed (:meth:`_fixed_by_scenario`); when that has no plan or misses ``mip_gap``, the
        extensive form's LP with only the integers fixed (the continuous first stage free to
        follow them: slower, one LP), and the better of the two."""
        iterations = 0
        apart = self._fixed_by_scenario(x, rounded, deadline, threads) if self.decompose else None
        iterations += self._last_iterations
        if apart is not None and _gap(apart[1], bound) <= mip_gap:
            return apart
        whole = self._fixed_at(rounded, deadline)
        self._last_iterations += iterations
        candidates = [plan for plan in (apart, whole) if plan is not None]
        return max(candidates, key=lambda plan: plan[1]) if candidates else None

    def _fixed_at(self, values: np.ndarray, deadline: float | None) -> tuple | None:
        """The LP with the integer columns fixed at ``values`` (clipped to their bounds), from the
        current basis: (solution, objective), or None."""
        lower, upper = self.bounds
        cols = self.integer.astype(np.int32)
        rounded = np.clip(values, lower[self.integer], upper[self.integer])
        self.h.changeColsBounds(len(cols), cols, rounded, rounded)
        try:
            ok, y, value, self._last_iterations = self._run_lp(deadline)
        finally:
            self.h.changeColsBounds(len(cols), cols, lower[self.integer], upper[self.integer])
        return (y, value) if ok else None

    def _branch_and_bound(self, incumbent, bound, mip_gap, deadline, started, iterations, seconds):
        """HiGHS's own branch and bound from the rounded plan (the gap of rounding not reached)."""
        h = self.h
        integrality = np.full(len(self.integer), highspy.HighsVarType.kInteger)
        h.changeColsIntegrality(len(self.integer), self.integer.astype(np.int32), integrality)
        if incumbent is not None:
            solution = highspy.HighsSolution()
            solution.col_value = list(incumbent[0])
            solution.value_valid = True
            h.setSolution(solution)
        h.setOptionValue("mip_rel_gap", mip_gap)
        h.setOptionValue("time_limit", max(1.0, deadline - time.perf_counter()) if deadline else np.inf)
        run_stoppable(h)
        info, status = h.getInfo(), h.getModelStatus()
        seconds["branch_and_bound"] = time.perf_counter() - started - sum(seconds.values())
        iterations += info.simplex_iteration_count
        if info.primal_solution_status != highspy.SolutionStatus.kSolutionStatusFeasible:
            if incumbent is None:
                infeasible = status == highspy.HighsModelStatus.kInfeasible
                return LPResult(
                    "infeasible" if infeasible else "no_plan",
                    None,
                    bound,
                    "branch and bound",
                    iterations,
                    seconds,
                )
            self.load(incumbent[0])
            return LPResult("time_limit", incumbent[1], bound, "LP and rounding", iterations, seconds)
        self.load(np.array(h.getSolution().col_value))
        value, mip_bound = info.objective_function_value, info.mip_dual_bound
        best_bound = mip_bound if bound is None else min(bound, mip_bound)
        done = status == _OPTIMAL or _gap(value, best_bound) <= mip_gap
        return LPResult(
            "optimal" if done else "time_limit", value, best_bound, "branch and bound", iterations, seconds
        )

    # ------------------------------------------------------------------ no row linking the blocks (WS)

    def _last_resort(self, incumbent, bound, mip_gap, deadline, threads, started, iterations, seconds):
        """Where the LP and rounding miss the gap (or the LP has no optimum): each block's MILP apart
        when no row links the blocks (WS, :meth:`_solve_blocks_apart`), else HiGHS's branch and
        bound over the whole extensive form."""
        if self._unlinked_now():
            return self._solve_blocks_apart(incumbent, bound, mip_gap, deadline, threads, iterations, seconds)
        return self._branch_and_bound(incumbent, bound, mip_gap, deadline, started, iterations, seconds)

    def _unlinked_now(self) -> bool:
        """Whether no row links the blocks as the model stands: non-anticipativity rows there are,
        all inactive (WS; N = 1 has none to drop, and its solve is RP's), and the rest of the
        extensive form is as :meth:`_unlinked_weights` requires."""
        inactive = self.linked and not any(con.active for _, con in self.linked)
        return bool(inactive) and self._unlinked_weights() is not None

    def _unlinked_weights(self) -> tuple | None:
        """How each block's own value u_n (:attr:`block_cost` over its columns) enters the extensive
        form once no non-anticipativity row is active: (w, rows, K), the objective holding w[n] u_n
        of block n and each row outside the blocks, ``rows`` (CVaR's), K[r, n] u_n. None unless
        every block's columns lie only in its own rows, the non-anticipativity rows and the rows
        outside, every outside row holds a column outside the blocks (CVaR's eta, shortfalls) and no
        such column lies in a block's row, each part is proportional to u_n, w >= 0 and a larger u_n
        only loosens an outside row: then maximising each u_n apart maximises the objective.
        Computed once (the matrix and costs never change)."""
        if self._unlinked is False:
            self._unlinked = self._find_unlinked_weights()
        return self._unlinked

    def _find_unlinked_weights(self) -> tuple | None:
        lp, (start, index, value) = self._matrix()
        if lp.sense_ != highspy.ObjSense.kMaximize:
            return None
        owner = np.full(self.n_row, -1)  # each row's block; -1 outside every block, -2 linking
        for n, (_, rows) in enumerate(self.blocks):
            owner[rows] = n
        owner[np.array([row for row, _ in self.linked], dtype=int)] = -2
        outside_rows = np.flatnonzero(owner == -1)
        positions, _ = _entries(start, self._outside)
        if np.any(owner[index[positions]] != -1) or len(np.setdiff1d(outside_rows, index[positions])):
            return None
        place = np.full(self.n_row, -1)
        place[outside_rows] = np.arange(len(outside_rows))
        cost, w = np.asarray(lp.col_cost_), np.zeros(len(self.blocks))
        K = np.zeros((len(outside_rows), len(self.blocks)))
        for n, ((cols, _), own) in enumerate(zip(self.blocks, self.block_cost, strict=True)):
            positions, local = _entries(start, cols)
            rows = index[positions]
            if np.any((owner[rows] >= 0) & (owner[rows] != n)):
                return None  # a block's column in another block's row
            w[n] = _proportion(cost[cols], own)
            for row in np.unique(rows[owner[rows] == -1]):
                dense = np.zeros(len(cols))
                np.add.at(dense, local[rows == row], value[positions[rows == row]])
                K[place[row], n] = _proportion(dense, own)
        lower = np.asarray(lp.row_lower_)[outside_rows][:, None]
        upper = np.asarray(lp.row_upper_)[outside_rows][:, None]
        monotone = not np.any(((K > 0) & np.isfinite(upper)) | ((K < 0) & np.isfinite(lower)))
        if np.isnan(w).any() or np.isnan(K).any() or np.any(w < 0) or not monotone:
            return None
        return w, outside_rows, K

    def _solve_blocks_apart(self, incumbent, lp_bound, mip_gap, deadline, threads, iterations, seconds):
        """No row links the blocks (WS): each block's MILP solved on its own with its own value u_n
        as objective (``threads`` at a time, from the ``incumbent``'s plan where there is one),
        which maximises the extensive form's objective, a non-decreasing function F of the u_n
        (:meth:`_unlinked_weights`); the plan's objective is F(u), its bound F(B) (B_n the bound of
        block n's MILP) or the LP's ``lp_bound`` if lower. Each block is solved to ``mip_gap``;
        when F misses it (blocks' values of both signs), the blocks with a gap are solved again
        from their plans, to half F's gap shared in proportion to their own, then to optimality."""
        started = time.perf_counter()
        self._block_lp(0)  # built here, not by the threads at once
        count = len(self.blocks)
        plans, values, bounds = [None] * count, np.full(count, -np.inf), np.full(count, np.inf)
        if incumbent is not None:
            for n, ((cols, _), own) in enumerate(zip(self.blocks, self.block_cost, strict=True)):
                plans[n], values[n] = incumbent[0][cols], float(np.dot(own, incumbent[0][cols]))
        todo, targets = list(range(count)), None  # targets: absolute gaps, None: mip_gap
        workers = max(1, min(threads or os.cpu_count() or 1, count))

        def result(status, objective=None, bound=None) -> LPResult:
            seconds["blocks_apart"] = time.perf_counter() - started
            return LPResult(status, objective, bound, APART, iterations, seconds)

        for tightening in range(3):
            solved = map_stoppable(
                workers,
                lambda n, stop, targets=targets: self._block_milp(
                    n, mip_gap, targets, plans[n], deadline, stop
                ),
                todo,
            )
            for n, (plan, value, bound, status, it) in zip(todo, solved, strict=True):
                iterations += it
                if plan is None and plans[n] is None:
                    return result(status)
                if plan is not None and value > values[n]:
                    plans[n], values[n] = plan, value
                bounds[n] = min(bounds[n], bound)
            objective, outside = self._assembled(values)
            if objective is None:
                return result("no_plan")
            bound = self._assembled(bounds)[0] if np.all(np.isfinite(bounds)) else None
            bound = min(b for b in (bound, lp_bound, np.inf) if b is not None)  # inf: no bound yet
            if _gap(objective, bound) <= mip_gap or _past(deadline):
                break
            todo = [n for n in range(count) if bounds[n] > values[n]]
            share = 0.5 * mip_gap * max(abs(objective), 1e-9) / (bound - objective)
            targets = {n: share * (bounds[n] - values[n]) if tightening == 0 else 0.0 for n in todo}
        y = np.zeros(self.n_col)
        for (cols, _), plan in zip(self.blocks, plans, strict=True):
            y[cols] = plan
        y[self._outside] = outside
        self.load(y)
        status = "optimal" if _gap(objective, bound) <= mip_gap else "time_limit"
        return result(status, objective, bound if np.isfinite(bound) else None)

    def _block_milp(self, n: int, mip_gap: float, targets: dict | None, start, deadline, stop) -> tuple:
        """Block ``n``'s MILP, its own value as objective, within the columns' bounds, to ``mip_gap``
        (``targets``: to the absolute gap ``targets[n]``), from the plan ``start`` where given:
        (plan or None, its value u_n, its bound, status, simplex iterations)."""
        if stop.is_set():
            return None, -np.inf, np.inf, "no_plan", 0
        cols, _ = self.blocks[n]
        h = highspy.Highs()
        h.setOptionValue("output_flag", False)
        h.passModel(self._block_lp(n))  # no "threads" option: see _solve_block
        h.changeColsBounds(
            len(cols), np.arange(len(cols), dtype=np.int32), self.bounds[0][cols], self.bounds[1][cols]
        )
        integer = np.flatnonzero(np.isin(cols, self.integer)).astype(np.int32)
        h.changeColsIntegrality(len(integer), integer, np.full(len(integer), highspy.HighsVarType.kInteger))
        if targets is None:
            h.setOptionValue("mip_rel_gap", mip_gap)
        else:
            h.setOptionValue("mip_rel_gap", 0.0)
            h.setOptionValue("mip_abs_gap", targets[n])
        if start is not None:
            solution = highspy.HighsSolution()
            solution.col_value, solution.value_valid = list(start), True
            h.setSolution(solution)
        if deadline:
            h.setOptionValue("time_limit", max(1.0, deadline - time.perf_counter()))
        run_stoppable(h)
        info, status = h.getInfo(), h.getModelStatus()
        iterations = max(info.simplex_iteration_count, 0)
        if info.primal_solution_status != highspy.SolutionStatus.kSolutionStatusFeasible:
            infeasible = status == highspy.HighsModelStatus.kInfeasible
            return None, -np.inf, np.inf, "infeasible" if infeasible else "no_plan", iterations
        value = info.objective_function_value
        if len(integer):
            bound = max(value, info.mip_dual_bound)  # never below the plan (nor NaN)
        elif status == _OPTIMAL:  # a block without integer columns: an LP
            bound = value
        else:
            return None, -np.inf, np.inf, "no_plan", iterations
        return np.array(h.getSolution().col_value), value, bound, status.name, iterations

    def _assembled(self, values: np.ndarray) -> tuple[float | None, np.ndarray | None]:
        """The extensive form's objective F with the blocks' values ``values`` (their u_n), and the
        best columns outside the blocks (CVaR's eta and shortfalls) for them: their LP over the rows
        outside the blocks, each row's bounds less its blocks' part K u. (None, None) when that LP
        has no optimum."""
        lp, _ = self._matrix()
        w, rows, K = self._unlinked_weights()
        objective = float(lp.offset_ + np.dot(w, values))
        if not len(self._outside):
            return objective, np.zeros(0)
        solved = self._solve_outside(rows, K @ values, *self.bounds)
        if solved is None:
            return None, None
        return objective + solved[0], solved[1]


@contextmanager
def _all_free(m: pyo.ConcreteModel):
    """Every fixed variable of ``m`` unfixed for the duration (so that the visitor keeps it as a
    column rather than folding it into a constant), fixed again at its value after."""
    fixed = [(var, var.value) for var in m.component_data_objects(pyo.Var, descend_into=True) if var.fixed]
    for var, _ in fixed:
        var.unfix()
    try:
        yield
    finally:
        for var, value in fixed:
            var.fix(value)


def block_costs(m: pyo.ConcreteModel, values: list, blocks: list[tuple], col_of: dict) -> list[np.ndarray]:
    """The cost vector, over its block's columns, of each block's value ``values[n]`` (a linear
    Pyomo expression of the block's variables)."""
    costs = []
    with _all_free(m):
        for expr, (cols, _) in zip(values, blocks, strict=True):
            position = {col: n for n, col in enumerate(cols)}
            cost = np.zeros(len(cols))
            for vid, coef in _visitor({}).walk_expression(expr).linear.items():
                cost[position[col_of[vid]]] += coef
            costs.append(cost)
    return costs


def _visitor(var_map: dict) -> LinearRepnVisitor:
    """Pyomo's linear visitor, recording each variable met into ``var_map`` (id -> variable)."""
    if OrderedVarRecorder is None:  # pragma: no cover - older Pyomo
        return LinearRepnVisitor({}, var_map, {}, None)
    return LinearRepnVisitor({}, var_recorder=OrderedVarRecorder(var_map, {}, None))


def _restricted(basis: highspy.HighsBasis, cols: np.ndarray, rows: np.ndarray) -> highspy.HighsBasis:
    """``basis`` restricted to the columns ``cols`` and rows ``rows``, marked alien: it may hold
    more or fewer basic entries than the rows (the linking rows' share went elsewhere), which
    HiGHS repairs when it is set."""
    out = highspy.HighsBasis()
    col_status, row_status = basis.col_status, basis.row_status
    out.col_status = [col_status[c] for c in cols]
    out.row_status = [row_status[r] for r in rows]
    out.valid, out.alien = True, True
    return out


def _entries(start: np.ndarray, cols: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The positions of the columns ``cols``' entries in a column-wise matrix of column starts
    ``start``, and the place in ``cols`` of each entry's column."""
    lengths = start[cols + 1] - start[cols]
    local = np.repeat(np.arange(len(cols)), lengths)
    offsets = np.repeat(start[cols] - np.concatenate([[0], np.cumsum(lengths)[:-1]]), lengths)
    return (np.arange(lengths.sum()) + offsets).astype(int), local


def _proportion(part: np.ndarray, own: np.ndarray) -> float:
    """k with ``part`` = k ``own`` (within round-off), or NaN when there is none."""
    scale = np.dot(own, own)
    k = float(np.dot(part, own) / scale) if scale > 0 else 0.0
    return (
        k
        if np.max(np.abs(part - k * own), initial=0.0) <= 1e-9 * np.max(np.abs(part), initial=0.0)
        else np.nan
    )


def _down(values: np.ndarray) -> np.ndarray:
    """Rounded down (a value within INTEGRAL below an integer counts as that integer)."""
    return np.floor(values + INTEGRAL)


def _up(values: np.ndarray) -> np.ndarray:
    """Rounded up (a value within INTEGRAL above an integer counts as that integer)."""
    return np.ceil(values - INTEGRAL)


def _past(deadline: float | None) -> bool:
    """Whether the deadline (None: none) has passed."""
    return deadline is not None and time.perf_counter() >= deadline


# at most this many first-stage integers are tried the other way (each try is a plan: an LP per block)
MAX_FLIPS = 64


def one_flip_search(plan_at, down: np.ndarray, up: np.ndarray, decision: np.ndarray, start, done):
    """A rounding improved one decision at a time (docs/formulation.md §7b, step 4): from the better
    of ``start`` ((rounding, plan) or None) and every fractional integer rounded up, each fractional
    decision in turn (in column order, at most :data:`MAX_FLIPS`) is rounded the other way, and the
    change kept where the plan is better; it stops once ``done(plan)``. ``plan_at(rounding)`` is a
    (solution, value) or None; ``down``/``up``: the integer columns rounded each way (equal where
    integral); ``decision``: each column's decision (its scenario-0 original: copies flip together).
    Returns the best plan, or None. On the default model at N = 10 rounding to the nearest integer
    left an 11 % gap (most of it one integer of 1.30 rounded down), all up 2.2 %, and the
    flips 0.45 % (docs/formulation.md §7b)."""
    best, current = plan_at(up), up
    if start is not None and (best is None or start[1][1] > best[1]):
        current, best = start
    if best is None:
        return None
    fractional = decision[down != up]
    for d in list(dict.fromkeys(fractional.tolist()))[:MAX_FLIPS]:
        if done(best):
            break
        columns = decision == d
        other = current.copy()
        other[columns] = np.where(current[columns] == up[columns], down[columns], up[columns])
        plan = plan_at(other)
        if plan is not None and plan[1] > best[1]:
            current, best = other, plan
    return best


def _gap(value: float, bound: float) -> float:
    """The plan's :func:`~fleetopt.milp.highs.gap_to_bound` (a maximisation's), infinite without a
    finite bound (the stopping tests compare it with the gap asked for)."""
    gap = gap_to_bound(value, bound)
    return math.inf if gap is None else gap


def _linked_pair(con) -> tuple:
    """(copy, the copy it is tied to) of a non-anticipativity row ``copy == tied``."""
    lhs, rhs = con.expr.args
    return lhs, rhs
