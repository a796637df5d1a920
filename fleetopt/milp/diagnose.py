"""Explain an infeasible model: re-solve with penalised slacks on the soft-able constraint
groups and report which groups, quarters and items needed relaxing, and by how much."""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

import highspy
import numpy as np
import pyomo.environ as pyo
from pyomo.common.collections import ComponentMap
from pyomo.contrib.solver.common.results import TerminationCondition
from pyomo.contrib.solver.solvers.highs import Highs

from fleetopt.core.covenants import CATALOGUE, CovenantTest
from fleetopt.core.data import GENERATIONS, ModelData
from fleetopt.core.units import format_count, format_figure, format_gap, whole_count
from fleetopt.milp.build import SLACKS, build_model
from fleetopt.milp.covenants import (
    ROBUSTNESS,
    covenant_note,
    covenant_words,
    cures_stress_covenant,
    stressed_kind_name,
)
from fleetopt.milp.ef_highs import compile_model
from fleetopt.milp.groups import Slack
from fleetopt.milp.highs import WatchedHighs, run_highs, run_stoppable, stage
from fleetopt.milp.units import from_model_units, output_unit

_TOLERANCE = 1e-6
# the most seconds the second solve (:attr:`Diagnosis.otherwise`) may take: the first one's
# answer is already there, and a large model's relaxed MILP can take minutes
OTHERWISE_SECONDS = 60.0
# under the cost objective the cash floor is the lab's budget (formulation §6, "Cost")
BUDGET_NOTE = (
    "the budget: cash less the market revenue to date, which values the GPUs' own use and no one pays, "
    "below finance.min_cash_usd; finance.opening_cash_usd or a facility in finance.facilities funds it"
)


class Diagnosis(list):
    """The groups in conflict (a list of entries, :func:`diagnose`), and ``otherwise``: the groups
    the model needs relaxed instead where those are held (the conflict's other side: the cash a
    contract's GPUs would need, the borrowing base a cash floor gives way to); empty where nothing
    else gives way or that solve found nothing in its time. ``caveat``: why the groups may be more
    than those in conflict ('' where the relaxed model was solved to its optimum)."""

    otherwise: list[dict]
    caveat: str

    def __init__(self, entries=(), otherwise: list[dict] | None = None, caveat: str = ""):
        super().__init__(entries)
        self.otherwise = otherwise or []
        self.caveat = caveat


def diagnose(
    data: ModelData, objective: str = "npv", time_limit=None, threads=None, purchases=None
) -> Diagnosis:
    """Groups in conflict, each ``{group, limit, unit, total, items: [(label, amount)], quarters,
    note}`` (``limit``: the group in words, :func:`entry_words`; a covenant's and the borrowing
    base's with ``measures``: each item's label with what its amount is of, 'debt above 6x
    annualised EBITDA'), with the groups relaxed instead where those are held (:class:`Diagnosis`).

    Where the relaxed model is infeasible too, the conflict lies in a hard group (cohort balances,
    facility sizes, build limits): one "hard constraints" entry says so. Where it stopped without a
    plan (at ``time_limit``, or by trouble), nothing is known of the conflict: one "not diagnosed"
    entry says why, not that the hard groups conflict.

    With ``purchases`` fixed, what they lack whatever the money comes first
    (:func:`solve_lacking_first`), each such entry saying so.
    """
    m = build_model(data, objective, relax=True, purchases=purchases)
    relax_allocation(m)
    solver = probe_solver()
    fixed = purchases is not None
    solve = solve_lacking_first if fixed else solve_relaxed
    with stage(DIAGNOSING, priced=False):  # a terminal's progress lines say what runs, and how long
        status, results, gap = solve(m, solver, time_limit, threads)
        if status == "infeasible":
            return Diagnosis([message_entry("hard constraints", HARD_MESSAGE)])
        if status == "no_plan":  # stopped first: by its limit, or by trouble; proves nothing
            return Diagnosis([message_entry("not diagnosed", _unfinished(results, time_limit))])
        first = _relaxed(data, m, objective, lacking=fixed)
        limit = OTHERWISE_SECONDS if time_limit is None else min(float(time_limit), OTHERWISE_SECONDS)
        otherwise = _otherwise(data, m, solver, objective, {d["group"] for d in first}, limit, threads)
    return Diagnosis(first, otherwise, _caveat(status, time_limit, gap))


DIAGNOSING = "the diagnosis (no plan meets every constraint: which ones conflict)"


# the relaxed plan of the rounded LP (solve_relaxed) is taken where its weighted shortfall is within
# this share of the LP's bound and the MILP did not do better within MILP_SECONDS (the caveat gives
# the gap): the default model at 40 quarters with new_gpus_per_quarter {rubin: 1000} rounded to
# 2.7 % (its 72-GPU blocks against 1,000 a quarter), its MILP stopped at 300 s with no bound to tell;
# beyond it the MILP has the whole time limit, the rounded plan taken where it finds none better
ROUNDED_GAP = 0.05
# a relaxed plan within this share of its bound is the least the model needs (HiGHS's default
# mip_rel_gap, at which the MILP of the relaxed model stops); beyond it the caveat gives the gap
PROVEN_GAP = 1e-4
# the most seconds the MILP may take where the rounded LP's plan is there to fall back on: the hand
# instances of tests/test_diagnose.py and the bundled models take under 2 s; on the default model
# with min_dscr 4.0 it found nothing better than the rounding in 30 s, two thirds of the diagnosis
MILP_SECONDS = 10.0
# the LP probes' method: HiGHS's interior point method. Dual simplex, HiGHS's choice, took more than
# 50 s of CPU on the relaxed LP of the default model at 40 quarters with min_dscr 4.0 without
# finishing (the MILP found no plan in 300 s: its root LP); the interior point method 8 s
IPM = {"solver": "ipm"}
MIP = {"solver": "choose"}
SIMPLEX = {"solver": "simplex"}


def solve_relaxed(m: pyo.ConcreteModel, solver: Highs, time_limit, threads) -> tuple[str, object, float]:
    """Solve the relaxed model ``m`` within ``time_limit`` (None: none): its LP (integers continuous)
    by the interior point method, then the LP with every integer rounded to the nearest. Within
    :data:`PROVEN_GAP` of the first LP's bound, that plan is the answer (``optimal``). Else the MILP
    (as :func:`run_highs`), for at most :data:`MILP_SECONDS` where the rounded plan is within
    :data:`ROUNDED_GAP`, else until ``time_limit``: solved, its plan is the answer; else the better
    of its plan and the rounded one (``near``, with its gap to the bound), never "no plan" where the
    rounding gave one. An infeasible LP proves the MILP infeasible. Returns (status, results, gap)."""
    deadline = None if time_limit is None else time.monotonic() + float(time_limit)
    shortfall = m.objective.expr
    with _fewest_blocks(m), _continuous(m):
        status, results = _run(m, solver, deadline, threads, IPM)
    if status != "optimal":  # infeasible: so is the MILP; else the MILP may still find a plan
        return (status, results, 0.0) if status == "infeasible" else _milp(m, solver, deadline, threads)
    bound, rounded = pyo.value(shortfall), _rounding(m)
    with _bounded(rounded, fixed=True):
        status, results = _run(m, solver, deadline, threads, IPM)
    gap = _gap(pyo.value(shortfall), bound) if status == "optimal" else np.inf
    if gap <= PROVEN_GAP:
        return "optimal", results, gap
    if not np.isfinite(gap):  # no rounded plan to fall back on
        return _milp(m, solver, deadline, threads)
    plan = _values(m)  # the rounded plan
    status, milp = _run(m, solver, deadline, threads, MIP, MILP_SECONDS if gap <= ROUNDED_GAP else None)
    if status == "optimal":
        return status, milp, 0.0
    if status == "time_limit" and _gap(milp.incumbent_objective, bound) <= gap:
        return "near", milp, _gap(milp.incumbent_objective, bound)
    # back to the rounded plan: the MILP's run replaced its values (solving the rounded LP again
    # found nothing once the deadline had passed)
    _restore(plan)
    return "near", results, gap


def _values(m: pyo.ConcreteModel) -> ComponentMap:
    """Every variable of ``m`` with its value now: a plan :func:`_restore` puts back."""
    return ComponentMap((v, v.value) for v in m.component_data_objects(pyo.Var))


def _restore(values: ComponentMap) -> None:
    """Each variable of ``values`` (:func:`_values`) at its value again."""
    for v, value in values.items():
        v.set_value(value, skip_validation=True)


def is_money(group: str) -> bool:
    """Whether a diagnosed group's slack is money (cash, covenants, the borrowing base, revenue
    shares, the robustness shocks), not GPUs or MW (power, contracts, demand, the allocation)."""
    return DIAGNOSED[group].unit == "MUSD"


def solve_lacking_first(
    m: pyo.ConcreteModel, solver: Highs, time_limit, threads
) -> tuple[str, object, float]:
    """:func:`solve_relaxed` for fixed purchases, in two stages within one ``time_limit``: the least
    weighted shortfall of GPUs and MW (power, contracts, demand), every money slack free; then, those
    held at most as short, the least weighted shortfall of all. A MW or a contract's GPU lets the GPUs
    bought earn or sell for far more than its weight's worth of cash (the default model's lean plan:
    31.6 MW at a site for a quarter, weight 31.6, against 1,725 for the cash, DSCR and contract
    shortfalls that holding it at 0 adds), so the weighted model alone named power the purchases did
    not lack as its cheapest way round their cash. Returns the status and gap of the first stage not
    solved to its optimum, else the second's; where the second finds no plan in the time the first left
    it, the first's plan (its GPUs and MW the least, its money not) as stopped at the time limit."""
    deadline = None if time_limit is None else time.monotonic() + float(time_limit)
    gpus_and_mw = [idx for idx in m.SLACK if not is_money(idx[0])]
    with _objective(m, sum(slack_weight(m, idx) * m.slack[idx] for idx in gpus_and_mw)):
        lacking = solve_relaxed(m, solver, _left(deadline), threads)
    if lacking[0] in ("infeasible", "no_plan"):
        return lacking
    held = [(m.slack[idx], max(m.slack[idx].value or 0.0, 0.0) + HELD_ROUND_OFF) for idx in gpus_and_mw]
    first = _values(m)
    with _bounded(held, fixed=False):
        status, results, gap = solve_relaxed(m, solver, _left(deadline), threads)
    if status == "no_plan":  # the time left found nothing: the first stage's plan, said to be stopped short
        _restore(first)
        return "time_limit", lacking[1], lacking[2]
    if lacking[0] != "optimal":
        return lacking[0], results, lacking[2]
    return status, results, gap


# how far the second stage of solve_lacking_first (and of CompletionProbe) may take a GPU or MW slack
# beyond the first stage's value: a plan short of cash takes all it is given, and at 1e-6 a contract
# short by 200 GPUs read "short by 201 GPUs" (counts drop round-off below a millionth, whole_count);
# far below HiGHS's feasibility tolerance (1e-7), so the first stage's plan keeps the second feasible
HELD_ROUND_OFF = 1e-9


def _left(deadline: float | None) -> float | None:
    """Seconds from now to ``deadline`` (``time.monotonic``; None: none), at least a millisecond."""
    return None if deadline is None else max(deadline - time.monotonic(), 0.001)


@contextmanager
def _objective(m: pyo.ConcreteModel, expr) -> Iterator[None]:
    """The objective of ``m`` replaced by ``expr`` while the block runs."""
    weighted = m.objective.expr
    m.objective.expr = expr
    try:
        yield
    finally:
        m.objective.expr = weighted


def probe_solver() -> Highs:
    """One HiGHS model for every probe of a diagnosis: each after the first is an update, not a
    reload, of what the probes change (bounds, domains, the objective); the rows and the parameters
    never change, so the update does not look at them (it took 10 s of a 55 s diagnosis)."""
    solver = WatchedHighs()  # a long diagnosis says how long it has run (its objective is no value)
    auto = solver.config.auto_updates
    auto.check_for_new_or_removed_constraints = auto.update_constraints = False
    auto.check_for_new_or_removed_params = auto.update_parameters = auto.update_named_expressions = False
    return solver


def _milp(m: pyo.ConcreteModel, solver: Highs, deadline, threads) -> tuple[str, object, float]:
    status, results = _run(m, solver, deadline, threads, MIP)
    return status, results, 0.0


def _run(m, solver: Highs, deadline, threads, options: dict, most: float | None = None):
    """:func:`run_highs` with HiGHS ``options``, until ``deadline`` (``time.monotonic``) and for at
    most ``most`` seconds (None: either without a limit)."""
    limits = [x for x in (most, None if deadline is None else deadline - time.monotonic()) if x is not None]
    limit = max(min(limits), 0.001) if limits else None
    return run_highs(m, solver, time_limit=limit, threads=threads, solver_options=options)


# weight of a block bought or built, or a contract accepted, in the objective of the LP probe: the
# relaxed model's weights are indifferent to purchases that no shortfall needs, and its LP bought
# every GPU its cash could (250,055 where a contract needed 1,000), which rounding turned into
# shortfalls of its own; far below any slack's weight per unit (1e-4 at least)
BLOCK_WEIGHT = 1e-7


@contextmanager
def _fewest_blocks(m: pyo.ConcreteModel) -> Iterator[None]:
    """The objective of ``m`` with :data:`BLOCK_WEIGHT` per unit of every integer variable (blocks
    bought or built, contracts accepted) while the block runs."""
    shortfall = m.objective.expr
    integer = [v for v in m.component_data_objects(pyo.Var) if not v.fixed and v.is_integer()]
    m.objective.expr = shortfall + BLOCK_WEIGHT * sum(integer)
    try:
        yield
    finally:
        m.objective.expr = shortfall


def _gap(value: float, bound: float) -> float:
    return max(value - bound, 0.0) / max(abs(value), 1e-9)


_CONTINUOUS = {id(pyo.Binary): pyo.UnitInterval, id(pyo.NonNegativeIntegers): pyo.NonNegativeReals}


@contextmanager
def _continuous(m: pyo.ConcreteModel) -> Iterator[None]:
    """The integer variables of ``m`` continuous (binaries in [0, 1]) while the block runs."""
    integer = [v for v in m.component_data_objects(pyo.Var) if id(v.domain) in _CONTINUOUS]
    domains = [v.domain for v in integer]
    for v in integer:
        v.domain = _CONTINUOUS[id(v.domain)]
    try:
        yield
    finally:
        for v, domain in zip(integer, domains, strict=True):
            v.domain = domain


def _rounding(m: pyo.ConcreteModel) -> list[tuple[pyo.Var, float]]:
    """Every free integer variable of ``m`` with its value rounded to the nearest."""
    free = [v for v in m.component_data_objects(pyo.Var) if v.is_integer() and not v.fixed]
    return [(v, float(np.floor(v.value + 0.5)) if v.value is not None else 0.0) for v in free]


@contextmanager
def _bounded(values: list[tuple[pyo.Var, float]], fixed: bool) -> Iterator[None]:
    """Each variable of ``values`` at most its value by its upper bound and, ``fixed``, at least it by
    its lower bound too, while the block runs (not ``Var.fix``, which a persistent solver takes as
    constants in the rows: fixing the integers of the default model made it hand HiGHS every row they
    are in again, 26 s of a 80 s diagnosis)."""
    bounds = [v.bounds for v, _ in values]
    for v, value in values:
        if fixed:
            v.setlb(value)
        v.setub(value)
    try:
        yield
    finally:
        for (v, _), (lb, ub) in zip(values, bounds, strict=True):
            if fixed:
                v.setlb(lb)
            v.setub(ub)


HARD_MESSAGE = (
    "no relaxation of power, supplier allocation, contracts, cash, covenants or demand helps: "
    "check the debt facilities' sizes (finance.facilities.<name>.size_usd), the sites' build limits "
    "(sites.<name>.expansion) and the installed fleet (fleet)"
)


def _generation_in_quarter(data: ModelData, key: tuple) -> tuple[str, int]:
    g, t = key
    allocable = f"{whole_count(data.new_gpu_allocation[g, t])} allocable"
    return f"{GENERATIONS[g]} GPUs ({_skus_on_sale(data, g, t)}) in {data.quarter_labels[t]} ({allocable})", t


def _skus_on_sale(data: ModelData, g: int, t: int) -> str:
    """The SKUs of generation ``g`` on sale in quarter ``t``, by name ('' none)."""
    on_sale = data.on_sale[:, t] & (data.sku_generation == g)
    return ", ".join(name for name, sold in zip(data.sku_names, on_sale, strict=True) if sold)


# the supplier's allocation (formulation §5.14): a hard row of the plan, which only the diagnosis
# relaxes (a stochastic scenario, also in diagnosis form, may never buy beyond it)
ALLOCATION = Slack("allocation", "GPUs", _generation_in_quarter, words="supplier allocation")
# every slack a diagnosis may name, by name
DIAGNOSED: dict[str, Slack] = {**SLACKS, ALLOCATION.name: ALLOCATION}


def limit_words(group: str) -> str:
    """A diagnosed group as a reader knows the limit (:attr:`Slack.shown`): 'minimum cash' for
    min_cash, the catalogue's label for a covenant's ('EBITDA / debt service covenant')."""
    return DIAGNOSED[group].shown if group in DIAGNOSED else group.replace("_", " ")


def entry_words(entry: dict) -> str:
    """A diagnosis entry's limit as a reader knows it: its ``limit`` (the model's own covenant, as
    :func:`_group_entry` names it), else its group's :func:`limit_words`."""
    return entry.get("limit") or limit_words(entry["group"])


def model_limit_words(data: ModelData, group: str, keys: list[tuple]) -> str:
    """A covenant group's tests as the model sets them, of the parts its rows ``keys`` are of
    ('(EBITDA - tax) / debt service covenant', 'cash / debt covenant'); else :func:`limit_words`."""
    parts = _parts(keys)
    labels = [k.label for k in data.covenant_kinds
              if k.group == group and not k.facility_test and (not parts or k.part in parts)]
    return covenant_words(labels) if labels else limit_words(group)


def _parts(keys: list[tuple]) -> set:
    """The parts of a shared group's rows ``keys`` (liquidity's floor, fraction); empty: no parts."""
    return {key[1] for key in keys if len(key) > 1}


# an allocation slack weighs up to this share less than a GPU-quarter of any other slack, and the
# less the later its quarter: of a conflict between a supplier's allocation and a contract short
# for one quarter (as many GPUs, the same weight), the diagnosis names the allocation, the contract
# being the other side (Diagnosis.otherwise); of a shortfall that GPUs bought in any of several
# quarters would cure, the last of them (a contract's deadline)
CHEAPER = 1e-3


def relax_allocation(m: pyo.ConcreteModel) -> None:
    """Give each allocation row of a relaxed model (``build_model(relax=True)``) a slack of its own,
    weighed in the objective as every other GPU slack: GPUs bought beyond what a supplier allocates."""
    if not hasattr(m, ALLOCATION.name):
        return
    added = []
    for (g, t), row in getattr(m, ALLOCATION.name).items():
        idx = (ALLOCATION.name, g, t)
        m.SLACK.add(idx)
        row.set_value(row.body <= row.upper + m.slack[idx])
        added.append(slack_weight(m, idx) * m.slack[idx])
    m.objective.expr = m.objective.expr + sum(added)


def slack_weight(m: pyo.ConcreteModel, idx: tuple) -> float:
    """The weight of the slack ``m.slack[idx]`` in the relaxed model's objective: its group's
    (:attr:`Slack.weight`), an allocation's the less the later its quarter (:data:`CHEAPER`)."""
    weight = DIAGNOSED[idx[0]].weight
    return weight * (1.0 - CHEAPER * (idx[2] + 1) / m.data.T) if idx[0] == ALLOCATION.name else weight


def message_entry(group: str, message: str) -> dict:
    """A diagnosis entry that names no shortfall, only a message."""
    return {"group": group, "unit": "", "total": float("nan"), "items": [], "quarters": [],
            "message": message}  # fmt: skip


def _unfinished(results, time_limit) -> str:
    """Why the relaxed model that names the groups in conflict found no plan: its time limit (it
    shares --time-limit with the solve), or trouble; either way nothing is known of the conflict."""
    if results.termination_condition == TerminationCondition.maxTimeLimit and time_limit is not None:
        return (
            f"the relaxed model that names the constraint groups in conflict found no plan within "
            f"the time limit ({float(time_limit):g} s, --time-limit); a longer --time-limit names them"
        )
    return (
        f"the relaxed model that names the constraint groups in conflict stopped without a plan "
        f"({results.termination_condition.name}), which says nothing of where the conflict lies"
    )


def _caveat(status: str, time_limit, gap: float = 0.0) -> str:
    """Where the relaxed model stopped at its time limit with a plan: its shortfalls are that plan's,
    not the least the model needs, so they may name groups that are not in conflict. Where a plan
    near the LP's bound was taken (``near``, :func:`solve_relaxed`): how far it may be from the least."""
    if status == "optimal":
        return ""
    if status == "near":
        return (
            f"the shortfalls above are within {format_gap(gap)} of the least the model needs (weighted as "
            "docs/formulation.md §8 weighs them, against the bound of its LP): some may be more than "
            "it needs, or of groups that are not in conflict"
        )
    timed = status == "time_limit" and time_limit is not None
    stopped = f"at the time limit ({float(time_limit):g} s, --time-limit)" if timed else f"early ({status})"
    return (
        f"the relaxed model stopped {stopped} with the shortfalls above, not the least it needs: some "
        "may be of groups that are not in conflict; a longer --time-limit narrows them"
    )


def _relaxed(data: ModelData, m: pyo.ConcreteModel, objective: str, lacking: bool = False) -> list[dict]:
    """The groups whose slacks a solved relaxed model uses, each as an entry, by name; where
    ``lacking`` (fixed purchases, :func:`solve_lacking_first`), GPUs and MW first, each saying that
    the purchases lack them whatever the money (:data:`LACKING_NOTE`)."""
    by_group = _by_group((idx, pyo.value(m.slack[idx])) for idx in m.SLACK)
    groups = sorted(by_group, key=lambda group: (lacking and is_money(group), group))
    entries = [_group_entry(data, group, by_group[group], objective) for group in groups]
    for entry in entries:
        if lacking and not is_money(entry["group"]):
            entry["note"] = f"{LACKING_NOTE}; {entry['note']}"
    return entries


# what a GPU or MW shortfall of fixed purchases means (solve_lacking_first): no cure of money helps
LACKING_NOTE = (
    "short with these purchases even were cash, covenants and every other money limit to give way: "
    "the purchases file's GPUs, or the model, must change"
)


def _by_group(slacks: Iterable[tuple[tuple, float | None]]) -> dict[str, list[tuple[tuple, float]]]:
    """Each group's slacks used (beyond round-off) as (row key, amount), from ((group, *key), amount)."""
    by_group: dict[str, list] = defaultdict(list)
    for (group, *key), amount in slacks:
        if amount is not None and amount > _TOLERANCE:
            by_group[group].append((tuple(key), amount))
    return by_group


def _otherwise(
    data: ModelData, m: pyo.ConcreteModel, solver: Highs, objective: str, held: set[str], time_limit, threads
) -> list[dict]:
    """The groups relaxed when those ``held`` may not be (their slacks fixed at 0): the other side of
    the conflict. Empty where that is infeasible, or found nothing within ``time_limit``."""
    if not held:
        return []
    for idx in m.SLACK:
        if idx[0] in held:
            m.slack[idx].setub(0.0)  # by its bound: see _bounded
    status, _, _ = solve_relaxed(m, solver, time_limit, threads)
    return _relaxed(data, m, objective) if status in ("optimal", "near", "time_limit") else []


def _group_entry(data: ModelData, group: str, entries: list, objective: str) -> dict:
    """One group's entry of the diagnosis: its slacks labelled, in output units, and what a reader
    must know of its rows (under the cost objective the cash floor is the budget), ending with the
    model fields that give it room."""
    slack = DIAGNOSED[group]
    items, quarters, measures = [], set(), {}
    for key, amount in entries:
        label, quarter = slack.describe(data, key)
        if quarter is not None:
            quarters.add(quarter)
        if test := _covenant_test(data, group, key):  # what its amount is of: debt above the limit, ...
            measures[label] = test.shortfall_words
        items.append((label, amount))
    entry = {
        "group": group,
        "limit": model_limit_words(data, group, [key for key, _ in entries]),
        "unit": output_unit(slack.unit),
        "total": from_model_units(sum(a for _, a in items), slack.unit),
        "items": [(lbl, from_model_units(a, slack.unit)) for lbl, a in items],
        "quarters": [data.quarter_labels[t] for t in sorted(quarters)],
        **({"measures": measures} if measures else {}),
    }
    notes = [BUDGET_NOTE if group == "min_cash" and objective == "cost" else _note(data, group, slack)]
    if group == "demand_floor" and any(label.startswith("training") for label, _ in items):
        notes.append(_training_ended(data, max(quarters, default=data.T - 1)))
    if group == ALLOCATION.name:
        notes.append(_needed_and_allocable(data, entries))
    fields = fields_to_edit(data, group, [key for key, _ in entries])
    if group == "contract_delivery" and (aged := _aged_out(data, [key for key, _ in entries])):
        notes.append(aged)
        fields += " or retirement.max_age_years"
    notes.append(f"edit {fields}")
    return {**entry, "note": "; ".join(note for note in notes if note)}


def _covenant_test(data: ModelData, group: str, key: tuple) -> CovenantTest | None:
    """The model's covenant test (the borrowing base's too) whose row in ``group`` the slack key
    ``key`` is of: (t,), or (t, part) in a shared group, or a stress row's (t, case, test) in
    ``robustness`` (its covenant under the shock); None for another group's, and for a stress row of
    cash or the budget."""
    if group == ROBUSTNESS.name:
        name = stressed_kind_name(key[2])
        return next((test for test in data.covenants if test.kind.name == name), None)
    part = key[1] if len(key) > 1 else None
    tests = (test for test in data.covenants if test.kind.group == group and test.kind.part == part)
    return next(tests, None)


def _note(data: ModelData, group: str, slack: Slack) -> str:
    """What a reader must know of a group's rows: of a covenant's, as the model tests it (the DSCR
    on EBITDA less tax: "the (EBITDA - tax) / debt service row ... reads EBITDA - tax >= 0")."""
    kind = next((k for k in data.covenant_kinds if k.group == group), None)
    return slack.note if kind is None else covenant_note(kind)


def _needed_and_allocable(data: ModelData, entries: list) -> str:
    """Per generation short of its allocation: the GPUs the relaxed plan needs bought by the last
    quarter it is short in (those allocable there and the shortfall), against those allocable."""
    short: dict[int, list] = defaultdict(list)
    for (g, t), amount in entries:
        short[g].append((t, amount))
    said = []
    for g, rows in short.items():
        last = max(t for t, _ in rows)
        sold = [t for t in range(last + 1) if _skus_on_sale(data, g, t)]
        allocable = float(sum(data.new_gpu_allocation[g, t] for t in sold))
        needed = allocable + sum(amount for _, amount in rows)
        labels = data.quarter_labels
        said.append(
            f"{GENERATIONS[g]} GPUs needed by {labels[last]}: {whole_count(needed, rounding='up')}, "
            f"allocable {labels[sold[0]]}..{labels[last]}: {whole_count(allocable)}"
        )
    return "; ".join(said)


def fields_to_edit(data: ModelData, group: str, keys: list[tuple]) -> str:
    """The model fields (as `fleetopt validate` and --set name them) a user edits to give a group's
    rows ``keys`` room, with the names of the sites, contracts or generations they are of."""
    if group in _COVENANT_FIELDS:
        parts = _parts(keys)
        fields = [field for part, field in _COVENANT_FIELDS[group] if not parts or part in parts]
        # a test on another numerator than the catalogue's (the DSCR on EBITDA less tax) has room on it too
        fields += [k.numerator_field for k, c in zip(data.covenant_kinds, CATALOGUE, strict=True)
                   if k.group == group and k.numerator != c.numerator]
        return " or ".join(f"finance.covenants.{field}" for field in fields)
    named, template = _FIELDS[group]
    if named is None:
        return template
    names = dict.fromkeys(name for key in keys for name in named(data, key)) or ["<name>"]
    return " or ".join(template.format(name) for name in names)


# the covenants' fields by group, each with its part of a shared group (liquidity's floor, fraction)
_COVENANT_FIELDS: dict[str, list[tuple[str | None, str]]] = defaultdict(list)
for _kind in CATALOGUE:
    if _kind.field:
        _COVENANT_FIELDS[_kind.group].append((_kind.part, _kind.field))
_COVENANT_FIELDS = dict(_COVENANT_FIELDS)
# group -> (the names a row key is of, or None; the fields to edit, with {0} for each name)
_FIELDS = {
    "power": (lambda d, key: [_power_fields(d.sites[key[0]])], "{0}"),
    "late_power": (
        lambda d, key: [d.sites[key[0]].name],
        "robustness.power_delay_quarters or sites.{0}.power_capacity_mw or "
        "sites.{0}.expansion.lead_time_quarters",
    ),
    "contract_delivery": (
        lambda d, key: [d.contracts[key[0]].name],
        "contracts.{0}.gpus or contracts.{0}.delivery_deadline",
    ),
    "demand_floor": (None, "market.demand_gpus"),
    "min_cash": (None, "finance.min_cash_usd or finance.opening_cash_usd"),
    "borrowing_base": (lambda d, key: [_borrowing_fields(f) for f in d.facilities if f.max_ltv], "{0}"),
    "customer_share": (None, "limits.max_customer_revenue_share"),
    "customer_year_share": (None, "limits.max_customer_revenue_share_per_year"),
    "non_investment_grade_share": (None, "limits.max_non_investment_grade_share_per_year"),
    "robustness": (
        lambda d, key: ["market_price_drop" if key[1] == "market prices" else "lose_any_customer"]
        + (["covenants"] if cures_stress_covenant((ROBUSTNESS.name, *key)) else []),  # a shocked covenant's
        "robustness.{0}",
    ),
    ALLOCATION.name: (lambda d, key: [GENERATIONS[key[0]]], "limits.new_gpus_per_quarter.{0}"),
}


def _power_fields(site) -> str:
    """A site's fields that give it power: its capacity, and its expansion block, which a site without
    one must be given ("edit sites.s1.expansion" sent a planner to a block the file did not have)."""
    expansion = f"sites.{site.name}.expansion" if site.block_mw > 0 else f"add sites.{site.name}.expansion"
    return f"sites.{site.name}.power_capacity_mw or {expansion}"


def _borrowing_fields(facility) -> str:
    """A GPU-secured facility's fields that give the borrowing base room: its max LTV, and the balance
    it opens with, which an installed fleet's resale value must cover from the first quarter (a loan
    opened above it was sent to max_ltv alone, which no value up to 1 could mend)."""
    fields = f"finance.facilities.{facility.name}.max_ltv"
    if facility.opening_usd > 0:
        fields += f" or finance.facilities.{facility.name}.opening_balance_usd"
    return fields


def _training_ended(data: ModelData, last: int) -> str:
    """The SKUs that may train at the start but not by quarter ``last`` (their `training_eligibility`),
    in words: a training shortfall there is often theirs ('' where none)."""
    ended = []
    for s, name in enumerate(data.sku_names):
        eligible = data.training_eligible[s, : last + 1]
        if eligible[0] and not eligible.all():
            first = data.quarter_labels[int(np.argmin(eligible))]
            ended.append(f"{name} may no longer train from {first} (skus.{name}.training_eligibility)")
    if not ended:
        return ""
    return f"{'; '.join(ended)}: GPUs held then still serve inference"


def _aged_out(data: ModelData, keys: list[tuple]) -> str:
    """The GPUs of a short contract's SKUs bought by its quarter that `retirement.max_age_years`
    has sold by then, in words ('' where none): a contract short of them is often theirs."""
    aged = set()
    for k, t in keys:
        for c in data.cohorts:
            if c.sku in data.contracts[k].skus and c.bought <= t and not data.alive[c.index, t]:
                start = max(c.bought, 0)
                aged.add((c.sku, start + int(np.argmin(data.alive[c.index, start:]))))  # first quarter sold
    if not aged:
        return ""
    sold = ", ".join(f"{data.sku_names[s]} from {data.quarter_labels[t]}" for s, t in sorted(aged))
    return f"GPUs it could be served with are sold at retirement.max_age_years ({sold})"


def format_diagnosis(diagnosis: list[dict]) -> list[str]:
    """One line per conflicting group, for the terminal; then, for a :class:`Diagnosis`, one per
    group relaxed instead where those are held ("otherwise ...")."""
    lines = _lines(diagnosis)
    otherwise = _lines(getattr(diagnosis, "otherwise", []))
    if otherwise:
        lines.append(f"otherwise (holding {'those' if len(lines) > 1 else 'that'}): {otherwise[0]}")
        lines += [f"otherwise: {line}" for line in otherwise[1:]]
    caveat = getattr(diagnosis, "caveat", "")
    return [*lines, f"not proven: {caveat}"] if caveat else lines


def _lines(diagnosis: list[dict]) -> list[str]:
    lines = []
    for d in diagnosis:
        if "message" in d:
            lines.append(f"{d['group']}: {d['message']}")
            continue
        detail = _shortfalls(d, sorted(d["items"], key=lambda x: -x[1])[:3])
        first, last = (d["quarters"][0], d["quarters"][-1]) if d["quarters"] else (None, None)
        span = "" if first is None else f" in {first}" if first == last else f" in {first}..{last}"
        more = " ..." if len(d["items"]) > 3 else ""
        note = f" ({d['note']})" if d.get("note") else ""
        lines.append(f"{entry_words(d)}{span}: {detail}{more}{note}")
    return lines


def _shortfalls(entry: dict, items: list[tuple[str, float]]) -> str:
    """Items of an entry in words: 'site texas in 2027Q3 short by 12.5 MW, ...'; a covenant's with what
    their amounts are of (its ``measures``), said again only where it changes: 'debt above 6x
    annualised EBITDA by $46.9M in 2027Q1, $40.1M in 2027Q2'."""
    measures, said, words = entry.get("measures", {}), None, []
    for label, amount in items:
        amount_words = _amount(amount, entry["unit"])
        if label not in measures:
            words.append(f"{label} short by {amount_words}")
            said = None  # the next covenant's amount names what it is of again
            continue
        measure = "" if measures[label] == said else f"{measures[label]} by "
        words.append(f"{measure}{amount_words} in {label}")
        said = measures[label]
    return ", ".join(words)


def _amount(amount: float, unit: str) -> str:
    """A shortfall for people: money and power as every other figure is written ($180.8M, 2.5 MW),
    GPUs in whole GPUs rounded up, the GPUs still to find (a relaxation can be short by part of a
    GPU: 584.4 reads 585 GPUs, 0.04 reads 1 GPU)."""
    if unit in ("USD", "MW"):
        return format_figure(amount, unit)
    return format_count(amount, unit, rounding="up")


# ---------------------------------------------------------------- a completion's broken limit, cheaply

# the groups a completion's probe names at most, the largest first (by their weighted shortfall)
NAMED_GROUPS = 2
# the most seconds one of a probe's solves may take (a MILP's, of the contracts' choices, the longest)
PROBE_SECONDS = 5.0
# the most dual simplex iterations of a probe's other side (CompletionProbe._otherwise): where nothing
# else gives way HiGHS proved it in 0 to 34 iterations on the default model's dropped completions;
# where something did, it took 1,807 (1.2 s of CPU) and more; tiny's lost anchor (a cash shortfall
# its contract's weight hid) a few. A count, not seconds: the same words on any machine
OTHERWISE_ITERATIONS = 200


class CompletionProbe:
    """Which hard limit a plan's completion breaks, named in about a second a plan: the relaxed model
    (``build_model(relax=True)`` with the allocation's slacks, §8) built and handed to HiGHS once;
    each plan's purchases (and power blocks) held by their columns' bounds. Its LP is solved first,
    by the interior point method from scratch (:data:`IPM`: the dual simplex from the last plan's
    basis took 2 to 58 s a plan on the default model, degenerate as the diagnosis's LP is; from
    scratch 2 to 3 s; the interior point method 0.6 to 1.1 s of CPU). Where it needs no slack (a
    contract taken in part keeps every limit), the contracts' choices are made whole and it is
    solved as a MILP (purchases and blocks held: only the contracts are integer), each in the two
    stages of fixed purchases where a GPU or MW slack is used (:meth:`_lacking_first`). Then the
    other side (:meth:`_otherwise`). A full diagnosis (:func:`diagnose`: the rounded LP, the MILP,
    the other side without a cap) took about 10 s a plan."""

    def __init__(self, data: ModelData, objective: str = "npv"):
        self.data, self.objective = data, objective
        m = build_model(data, objective, relax=True)
        relax_allocation(m)
        lp, variables, _ = compile_model(m)
        self.h = highspy.Highs()
        self.h.setOptionValue("output_flag", False)
        self.h.passModel(lp)
        column = {id(v): n for n, v in enumerate(variables)}
        self.buy = {key: column[id(v)] for key, v in m.buy.items()}
        self.build = {key: column[id(v)] for key, v in m.build.items()}
        self.accept = np.array([column[id(v)] for v in m.accept.values()], dtype=np.int32)
        self.slacks = [(idx, column[id(m.slack[idx])]) for idx in m.SLACK if id(m.slack[idx]) in column]
        self.gpus_and_mw = np.array([col for idx, col in self.slacks if not is_money(idx[0])], dtype=np.int32)
        self.money = np.array([col for idx, col in self.slacks if is_money(idx[0])], dtype=np.int32)
        self.lower, self.upper = np.array(lp.col_lower_), np.array(lp.col_upper_)
        self.cost = np.array(lp.col_cost_)
        self._integer(np.arange(lp.num_col_, dtype=np.int32), False)

    def _integer(self, cols: np.ndarray, integer: bool) -> None:
        kind = highspy.HighsVarType.kInteger if integer else highspy.HighsVarType.kContinuous
        if len(cols):
            self.h.changeColsIntegrality(len(cols), cols, np.full(len(cols), kind))

    def broken(self, buy_blocks: np.ndarray, build_blocks: np.ndarray | None = None) -> list[dict]:
        """The diagnosis entries (:func:`diagnose`'s; the GPUs and MW the purchases lack first, then
        the largest weighted shortfall) of the relaxed model with every purchase held at
        ``buy_blocks`` ((S, I, T) blocks) and, given, every power block at ``build_blocks`` ((I, T));
        empty where it needs no slack or found no plan in :data:`PROBE_SECONDS`."""
        lower, upper = self.lower.copy(), self.upper.copy()
        for held, values in ((self.buy, buy_blocks), (self.build, build_blocks)):
            if values is not None and held:
                cols = np.fromiter(held.values(), dtype=np.int64, count=len(held))
                lower[cols] = upper[cols] = [float(values[key]) for key in held]
        self.h.changeColsBounds(len(lower), np.arange(len(lower), dtype=np.int32), lower, upper)
        entries = self._lacking_first(IPM, lower, upper)
        if not entries and len(self.accept):
            self._integer(self.accept, True)  # the LP took a contract in part: whole ones may not fit
            try:
                entries = self._lacking_first(MIP, lower, upper)
            finally:
                self._integer(self.accept, False)
        if entries:
            entries = Diagnosis(entries, self._otherwise(lower, upper, {d["group"] for d in entries}))
        return entries

    def _lacking_first(self, options: dict, lower: np.ndarray, upper: np.ndarray) -> list[dict]:
        """The entries of the purchases held, in :func:`solve_lacking_first`'s two stages: the least
        weighted GPU and MW shortfall, every money slack free, then, those held at most so, the least
        weighted shortfall of all (one weighted run named power for what was cash: 2,000 GPUs bought
        for $8M with $5M of cash at a 1 MW site, tests/test_diagnose.py). Where the weighted run
        needs no GPU or MW, neither stage does, and it is their answer: one run, not two."""
        entries = self._entries(options)
        if all(is_money(d["group"]) for d in entries):
            return entries
        money = self.money
        self.h.changeColsCost(len(money), money, np.zeros(len(money)))
        try:
            if not self._solved(options):  # no plan within its limit: the weighted run's answer
                return entries
        finally:
            self.h.changeColsCost(len(money), money, self.cost[money])
        cols = self.gpus_and_mw
        lacking = np.asarray(self.h.getSolution().col_value)[cols]
        self.h.changeColsBounds(len(cols), cols, lower[cols], np.maximum(lacking, 0.0) + HELD_ROUND_OFF)
        try:
            return self._entries(options) or entries
        finally:
            self.h.changeColsBounds(len(cols), cols, lower[cols], upper[cols])

    def _otherwise(self, lower: np.ndarray, upper: np.ndarray, held: set[str]) -> list[dict]:
        """The groups relaxed where those ``held`` may not be (:attr:`Diagnosis.otherwise`): their
        slacks held at 0, the LP solved again from the last basis by the dual simplex, for at most
        :data:`OTHERWISE_ITERATIONS` (none where it needs more, or nothing else gives way)."""
        cols = np.array([col for (group, *_), col in self.slacks if group in held], dtype=np.int32)
        zero = np.zeros(len(cols))
        self.h.changeColsBounds(len(cols), cols, zero, zero)
        try:
            return self._entries({**SIMPLEX, "simplex_iteration_limit": OTHERWISE_ITERATIONS}, cold=False)
        finally:
            self.h.setOptionValue("simplex_iteration_limit", highspy.kHighsIInf)
            self.h.changeColsBounds(len(cols), cols, lower[cols], upper[cols])

    def _solved(self, options: dict, cold: bool = True) -> bool:
        """Whether one run, from scratch where ``cold`` (its clock is the instance's: the limit is from
        now), found the optimum."""
        if cold:
            self.h.clearSolver()
        for name, value in {**options, "time_limit": self.h.getRunTime() + PROBE_SECONDS}.items():
            self.h.setOptionValue(name, value)
        run_stoppable(self.h)
        return self.h.getModelStatus() == highspy.HighsModelStatus.kOptimal

    def _entries(self, options: dict, cold: bool = True) -> list[dict]:
        """The entries of one run (:meth:`_solved`): none where it found no optimum."""
        if not self._solved(options, cold):
            return []
        values = np.asarray(self.h.getSolution().col_value)
        by_group = _by_group((idx, float(values[col])) for idx, col in self.slacks)
        weight = {g: DIAGNOSED[g].weight * sum(a for _, a in items) for g, items in by_group.items()}
        ranked = sorted(weight, key=lambda g: (is_money(g), -weight[g]))  # what the purchases lack first
        return [_group_entry(self.data, g, by_group[g], self.objective) for g in ranked]


def broken_words(entries: list[dict]) -> str:
    """The largest shortfalls of a probe (:meth:`CompletionProbe.broken`) in a phrase, with the other
    side where it found one, each limit as a reader knows it (:func:`entry_words`): 'contract delivery:
    contract lab-a in 2026Q3 short by 585 GPUs; otherwise minimum cash: 2026Q3 short by $1.3M'; ''
    for none."""
    words = "; ".join(_largest(d) for d in entries[:NAMED_GROUPS])
    otherwise = getattr(entries, "otherwise", [])
    return f"{words}; otherwise {_largest(otherwise[0])}" if words and otherwise else words


def _largest(entry: dict) -> str:
    """A group's largest shortfall: 'power: site texas in 2027Q3 short by 12.5 MW (in 2027Q3..2028Q2)'."""
    span = f" (in {_span(entry)})" if _span(entry) else ""
    return f"{entry_words(entry)}: {_largest_shortfall(entry)}{span}"


def _largest_shortfall(entry: dict) -> str:
    """A group's largest row and its shortfall: 'site texas in 2027Q3 short by 12.5 MW'."""
    return _shortfalls(entry, [max(entry["items"], key=lambda item: item[1])])


def _span(entry: dict) -> str:
    """The quarters a group is short in, '2027Q3..2028Q2'; '' where one or none."""
    quarters = entry["quarters"]
    return f"{quarters[0]}..{quarters[-1]}" if len(quarters) > 1 else ""


def lacking_words(diagnosis: list[dict]) -> str:
    """What fixed purchases lack whatever the money (their entries with :data:`LACKING_NOTE`), each
    by its largest shortfall: 'power (site texas in 2026Q3 short by 13.5 MW) and contract delivery
    (contract big in 2026Q2 short by 200 GPUs, in 2026Q2..2026Q3)'; '' where none, or where the
    diagnosis is not proven (its caveat): then a rescue, which holds GPUs and MW, may yet complete
    them."""
    if getattr(diagnosis, "caveat", ""):
        return ""
    lacking = [entry for entry in diagnosis if entry.get("note", "").startswith(LACKING_NOTE)]
    return " and ".join(
        f"{entry_words(entry)} ({_largest_shortfall(entry)}{f', in {_span(entry)}' if _span(entry) else ''})"
        for entry in lacking
    )
