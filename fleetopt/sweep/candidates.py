"""Candidate plans of `fleetopt sweep` (the choice among them: sweep/rule.py).

Candidates are the MILP optimum of the forecast, procurement plans written by people (their
purchases fixed, the rest the forecast's best), the optima of a handful of stress forecasts
(re-solved on one built model, changing only its parameters), the forecast optimum that must
also survive a lost customer and late power (`robustness`, a second built model), and
systematic variations of the forecast and stress optima: purchases earlier or later, volumes scaled, the
Blackwell/Rubin mix swapped, one power block more or fewer, lower leverage. Every variation is
completed by the same model with its strategic decisions fixed, so a candidate that breaks a
hard limit (GPUs it can never power, cash, covenants, contracts) is dropped, not evaluated. All
candidates are then evaluated on the same seeded scenarios, and the Pareto front of mean NPV,
CVaR5 and breach probability is reported with the plan a rule recommends. A cash buffer is tried
two ways: the same decisions run with it (the policy keeps it by deferring orders and cutting
prepayments), and planned from the start (the MILP solved again with its minimum cash raised by
it). A pick that is neither the forecast optimum nor a cash-buffer candidate is then given its own
cash buffers as well (:func:`second_round`), and the rule picks again over them all, once.

This module makes them in that order (:func:`generate_candidates`, :class:`_Making`); each kind
comes from its module beside it: :mod:`.stresses`, :mod:`.variations`, :mod:`.cash_buffers`,
:mod:`.without_orders` and :mod:`.stochastic_candidate`; a candidate as made, and why one is
dropped, is :mod:`.candidate_record`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path

import numpy as np

from fleetopt.core.data import ModelData
from fleetopt.core.plan import Plan
from fleetopt.core.purchases import FixedPurchases
from fleetopt.core.units import (
    format_count,
    format_gap,
    format_solver_status,
    format_usd,
    gap_shows,
)
from fleetopt.errors import Argument, InputError
from fleetopt.evaluate.batch import compile_plans, with_buffers
from fleetopt.evaluate.forecast import forecast_npv
from fleetopt.milp.completion import broken_limit_words
from fleetopt.milp.diagnose import PROBE_SECONDS, CompletionProbe, broken_words
from fleetopt.milp.highs import DEFAULT_MIP_GAP
from fleetopt.milp.persistent import PersistentPlanner, Stress
from fleetopt.milp.solve import NoPlanFound, raise_without_plan
from fleetopt.milp.stochastic.fixed_first_stage import complete_purchases_with_rescue
from fleetopt.schema.risk import Robustness
from fleetopt.stochastic.forecast_completion import forecast_limits_broken
from fleetopt.sweep.candidate_record import (
    BUFFER_ORIGINS,
    FORECAST_OPTIMUM,
    WITHOUT_ORDERS,
    Candidate,
    dropped_words,
    signed_short,
)
from fleetopt.sweep.cash_buffers import (
    PlannedBuffer,
    planned_buffers,
    policy_variations,
    solved_under,
)
from fleetopt.sweep.stochastic_candidate import (
    StochasticCandidate,
    stochastic_candidate,
)
from fleetopt.sweep.stresses import (
    HALF_LEVERAGE,
    ROBUST_SOLVE_SECONDS,
    all_stresses,
    robust_requirement,
    stress_label,
    stress_named,
)
from fleetopt.sweep.variations import (
    variations,
)
from fleetopt.sweep.without_orders import (
    draws_not_moved,
    orders_not_bought,
    without_orders_label,
)

# a sweep's own plans, as the API and the command line call them
_PURCHASES = Argument("purchases", "--purchases")


def second_round(
    data: ModelData, first: Candidate, made: Sequence[Candidate], settings: dict,
    saved: Sequence[Candidate] = (), progress: Callable[[str], None] | None = None,
    on_planned: Callable[[list[Candidate]], None] | None = None,
) -> list[Candidate]:
    """The cash buffers of :func:`policy_variations` for the rule's first pick ``first``, each run on
    its forecast, where the pick is neither the forecast optimum (whose buffers the first round
    has) nor a buffer candidate itself: "this plan, run with a buffer" tried for the plan the rule
    actually picked; and, where the pick is a stress optimum, that optimum re-solved with each
    buffer planned (:func:`planned_buffers`), solved with ``settings`` (mip_gap, time_limit,
    threads), a plan met among ``made`` marked a duplicate, one ``saved`` by an earlier finish
    taken as it was, and ``on_planned`` given the round made so far after each planned buffer (for a
    stopped sweep to save it: a solve lost to a stop took minutes on a large model). None where no
    policy rule reads the buffer."""
    if first.origin in ("forecast", *BUFFER_ORIGINS):
        return []
    after = f"made after the rule first picked {first.label} (the sweep's second round)"
    out = []
    for c in policy_variations(data, first.label, first.plan):
        npv = forecast_npv(data, c.plan, c.liquidity_buffer_usd)
        out.append(replace(c, note=f"{c.note}; {after}", forecast_npv_usd=npv, second_round=True))
    stress = stress_named(data, first.label)
    if first.origin != "stress" or stress is None:
        return out
    making = _Making(data, None, settings, saved, progress, None)
    making.met(made)
    for planned in planned_buffers(data, first.label, first.plan, stress):
        planned = replace(planned, made_when=f"; {after}")
        made_now = making.make(planned.label, lambda p=planned: making.planned(p))
        out.append(replace(made_now, second_round=True))
        if on_planned is not None and planned.label not in making.saved:
            on_planned(out)
    return out


# the most completions :meth:`_Making.without_orders` makes (each 2-4 s on the default model)
MOST_ROUNDS = 8


def without_orders(
    data: ModelData, pick: Candidate, made: Sequence[Candidate], quarters: Sequence[str], settings: dict,
    saved: Sequence[Candidate] = (), progress: Callable[[str], None] | None = None,
) -> Candidate | None:
    """The rule's pick without the GPU orders of ``quarters`` (labels), those its policy cancels whole
    in nearly every scenario: :func:`orders_not_bought`, its other purchases and power blocks and its
    contracts held and the rest (draws, prepayments, moves, retirements) made again by the MILP on
    the forecast the pick was made on (:func:`solved_under`), so that its financing funds the GPUs it
    buys, and run with the pick's cash buffer. Solved with ``settings`` (mip_gap, time_limit,
    threads); one ``saved`` by an earlier finish taken as it was; a plan met among ``made`` a
    duplicate. None for a pick that is itself one (it is made once) or where no quarter is given."""
    if pick.origin == WITHOUT_ORDERS or not quarters:
        return None
    at = [data.quarter_labels.index(quarter) for quarter in quarters]
    stress = solved_under(data, pick, made)
    where = f"under its stress ({stress.description})" if stress is not None and stress.description else (
        "on the forecast")
    floor = (f" with its cash held {format_usd(stress.min_cash_raise_usd)} above finance.min_cash_usd"
             if stress is not None and stress.min_cash_raise_usd else "")
    note = (f"{pick.label} without the part of its GPU orders of {', '.join(quarters)} that no contract "
            "needs, which its policy cancels in nearly every scenario: its other purchases, power blocks "
            f"and contracts held and the rest completed by the MILP {where}{floor}, run with the same "
            "cash buffer; made after the rule picked it")
    making = _Making(data, None, settings, saved, progress, None)
    making.met(made)
    label = without_orders_label(pick.label)
    made_now = making.make(label, lambda: making.without_orders(label, pick, at, stress, note))
    return replace(made_now, second_round=True)


@dataclass
class CandidateSet:
    candidates: list[Candidate] = field(default_factory=list)

    @property
    def feasible(self) -> list[Candidate]:
        return [c for c in self.candidates if c.plan is not None]


def generate_candidates(
    data: ModelData,
    n: int,
    mip_gap: float = DEFAULT_MIP_GAP,
    time_limit: float | None = None,
    threads: int | None = None,
    progress: Callable[[str], None] | None = None,
    stochastic: StochasticCandidate | None = None,
    saved: list[Candidate] | None = None,
    on_made: Callable[[CandidateSet], None] | None = None,
    proposals: Sequence[FixedPurchases] = (),
    objective: str = "npv",
) -> CandidateSet:
    """Up to ``n`` feasible candidates: the forecast optimum, the stochastic plan (with
    ``stochastic``), the ``proposals`` (procurement plans written by people, completed by the
    MILP), stress optima, then variations, each solved for ``objective`` (milp/build.OBJECTIVES: a
    cost sweep's stresses are :func:`all_stresses`'s for cost).

    ``saved``: the candidates an interrupted sweep had made; each is taken as it was instead of
    being solved again. ``on_made`` is called with the candidates so far after each new one, so a
    sweep can save them as they come."""
    settings = dict(mip_gap=mip_gap, time_limit=time_limit, threads=threads, objective=objective)
    making = _Making(data, n, settings, saved, progress, on_made)
    base = making.make(FORECAST_OPTIMUM, making.forecast_optimum)
    parents = [(base.label, base.plan)]
    if stochastic is not None and not making.full:
        making.make(stochastic.label, lambda: stochastic_candidate(data, stochastic, time_limit, threads))
    for fixed in proposals:
        if not making.full:
            making.make(proposal_label(fixed), lambda f=fixed: making.proposal(f))
    for candidate in policy_variations(data, base.label, base.plan):
        if not making.full:
            making.make(candidate.label, lambda c=candidate: c)
    for planned in planned_buffers(data, base.label, base.plan, None):
        if not making.full:
            making.make(planned.label, lambda p=planned: making.planned(p))
    for stress in all_stresses(data, objective):
        if making.full:
            break
        made = making.make(stress_label(stress), lambda s=stress: making.stress_optimum(s))
        # not the haircut's or half leverage's plan: they differ from the forecast's mostly in their
        # financing, which a variation completed on the forecast would undo
        if made.plan is not None and stress.collateral_scale == 1.0 and stress is not HALF_LEVERAGE:
            parents.append((made.label, made.plan))
    robust = robust_requirement(data)
    if robust is not None and not making.full:
        making.make(robust[0], lambda: making.robust_optimum(robust))
    for label, plan in parents:
        for name, varied, what in variations(data, label, plan):
            if making.full:
                return making.out
            if varied is not None:
                making.make(name, lambda v=varied, lab=name, w=what: making.completed(v, lab, w))
    return making.out


def proposal_label(fixed: FixedPurchases) -> str:
    """'yours: orders.csv': a proposal is named by its file."""
    return f"yours: {Path(fixed.source).name}"


def check_proposals(proposals: Sequence[FixedPurchases], candidates: int, stochastic: int = 0) -> None:
    """Room for each proposal after the forecast optimum (and the stochastic plan), and one name
    each (a candidate is named by its file's name: two solves' plan.csv need copies named apart)."""
    names = [Path(f.source).name for f in proposals]
    if len(set(names)) < len(names):
        given = ", ".join(f.source for f in proposals)
        raise InputError.naming(
            _PURCHASES, " files must have different file names, which name their candidates "
            f"(got {given}): "
            "copy them under names of their own (from Python: a dict {name: file or table} names each)"
        )
    needed = 1 + (stochastic > 0) + len(proposals)
    if proposals and candidates < needed:
        stochastic_plan = ", the stochastic plan" if stochastic else ""
        raise InputError.naming(
            Argument("candidates", "--candidates"), f" must be at least {needed}: the forecast optimum"
            f"{stochastic_plan} and each of ", _PURCHASES, f" (got {candidates})"
        )


class _Making:
    """Candidates as they are made: each label made once (or taken as an interrupted sweep saved
    it), a plan met before marked "duplicate", each announced ("<label>: <status> (<k> of <n>)", k
    counting those with a plan, which the sweep makes n of at most; "<label>: <status>" for one
    without) and handed to ``on_made``."""

    def __init__(self, data: ModelData, n: int | None, settings: dict, saved, progress, on_made):
        self.data, self.n, self.settings = data, n, settings
        self.saved: dict[str, Candidate] = {c.label: c for c in saved or ()}
        self.progress: Callable[[str], None] | None = progress
        self.on_made: Callable[[CandidateSet], None] | None = on_made
        self.out = CandidateSet()
        self.seen: dict[bytes, str] = {}  # each plan met (its decisions and buffer) -> its label

    @property
    def full(self) -> bool:
        return self.n is not None and len(self.out.feasible) >= self.n

    def met(self, made: Sequence[Candidate]) -> None:
        """Candidates made before (the first round's), so that a plan among them is a duplicate."""
        for c in made:
            if c.plan is not None:
                self.seen.setdefault(self._key(c), c.label)

    @staticmethod
    def _key(candidate: Candidate) -> bytes:
        """A plan as the sweep tells plans apart: every decision, and the buffer it is run with."""
        # every decision: a stress optimum with the forecast's purchases but its own retirements,
        # moves or prepayments is another plan (it ran $5M apart in CVaR5 on tiny)
        return candidate.plan.decisions_key() + str(candidate.liquidity_buffer_usd).encode()

    @cached_property
    def probe(self) -> CompletionProbe:
        """The relaxed model that names the limit a completion breaks, built when one first does."""
        return CompletionProbe(self.data, self.settings.get("objective", "npv"))

    def broken(self, buy_blocks: np.ndarray, build_blocks: np.ndarray | None = None) -> str:
        """The hard limits a completion of these purchases (and power blocks) breaks, in words."""
        return broken_words(self.probe.broken(buy_blocks, build_blocks))

    @cached_property
    def planner(self) -> PersistentPlanner:
        """One built model for the forecast, the stresses and the completions, built when a solve
        first needs it (a resumed sweep may need none)."""
        return PersistentPlanner(self.data, **self.settings)

    def make(self, label: str, solve: Callable[[], Candidate]) -> Candidate:
        """The candidate ``label``: the saved one, or ``solve()``'s; added, announced and returned."""
        saved = self.saved.get(label)
        candidate = self.honouring(solve()) if saved is None else saved
        if candidate.plan is not None:
            key = self._key(candidate)
            if key in self.seen:
                earlier = self.seen[key]
                candidate = Candidate(
                    candidate.label, candidate.origin, "duplicate", note=candidate.note, same_as=earlier,
                    buffer_of=candidate.buffer_of, planned_buffer_usd=candidate.planned_buffer_usd,
                )
            else:
                self.seen[key] = candidate.label
                if saved is None:  # a saved one keeps its own
                    buffer = candidate.liquidity_buffer_usd
                    candidate.forecast_npv_usd = forecast_npv(self.data, candidate.plan, buffer)
        self.out.candidates.append(candidate)
        if saved is None and self.on_made:
            self.on_made(self.out)
        if self.progress:
            # a candidate without a plan says why in the summary's words ("infeasible" read as an error)
            if candidate.status == "infeasible":
                status = f"dropped: {dropped_words(candidate)}"
            else:
                status = format_solver_status(candidate.status, candidate.gap)
                if candidate.status == "time_limit":  # its words leave the gap to the line beside them
                    status += f", gap {format_gap(candidate.gap)}"
                status += f" of {candidate.same_as}" if candidate.same_as else ""
            # counted among the n asked for: those with a plan to evaluate (none in the second round)
            counts = candidate.plan is not None and self.n is not None
            counted = f" ({len(self.out.feasible)} of {self.n})" if counts else ""
            self.progress(f"{candidate.label}: {status}{counted}" + (" (saved earlier)" if saved else ""))
        return candidate

    def honouring(self, candidate: Candidate) -> Candidate:
        """``candidate``, or, where its plan serves a signed contract short (the lost-customer stress's
        optimum: its customer gone), that plan's purchases and power blocks completed on the forecast
        as a variation is, every signed contract served: a signed contract must be served, and with no
        penalty for walking away the evaluator had let such a plan earn more than the forecast
        optimum and be picked. Dropped, naming the limit, where its purchases cannot serve them."""
        short = signed_short(self.data, candidate.plan) if candidate.plan is not None else []
        if not short:
            return candidate
        raised = Stress("forecast", min_cash_raise_usd=candidate.planned_buffer_usd or 0.0)
        plan, r = candidate.plan, self.planner.complete(candidate.plan, stress=raised)
        note = (f"{candidate.note}; its plan served signed {', '.join(short)} short, so its purchases and "
                "power blocks were completed on the forecast, every signed contract served")
        broken = ""
        if r.plan is None and r.status == "infeasible":  # named, or it would read as its stress's drop
            named = self.broken(plan.buy_blocks, plan.build_blocks)
            unnamed = f"which one, the diagnosis did not find in its {PROBE_SECONDS:g} s"
            broken = named or f"{unnamed}; its plan had served signed {', '.join(short)} short"
        return replace(candidate, status=r.status, plan=r.plan, note=note, gap=r.gap, broken=broken)

    def forecast_optimum(self) -> Candidate:
        r = self.planner.solve_stress(None)
        if r.plan is None:  # as `fleetopt solve` would say it: infeasible (diagnosed) or no plan in time
            options = self.planner.options
            diagnosis = {"time_limit": options["time_limit"], "threads": options["threads"],
                         "objective": self.settings.get("objective", "npv")}  # a cost sweep's is cost's
            raise_without_plan(self.data, r.status, r.results, r.seconds, diagnosis)
        note = "MILP optimum of the forecast" + within_gap(r.gap)
        return Candidate(FORECAST_OPTIMUM, "forecast", r.status, r.plan, note=note, gap=r.gap)

    def stress_optimum(self, stress: Stress) -> Candidate:
        r = self.planner.solve_stress(stress)
        note = stress.description + within_gap(r.gap)
        return Candidate(stress_label(stress), "stress", r.status, r.plan, note=note, gap=r.gap)

    def planned(self, planned: PlannedBuffer) -> Candidate:
        """A cash buffer planned from the start (:func:`planned_buffers`): its optimum re-solved."""
        r = self.planner.solve_stress(planned.stress)
        note = planned.note + within_gap(r.gap) + planned.made_when
        return Candidate(planned.label, "planned", r.status, r.plan, note=note,
                         gap=r.gap, buffer_of=planned.of,
                         planned_buffer_usd=planned.stress.min_cash_raise_usd)  # fmt: skip

    def without_orders(self, label: str, pick: Candidate, quarters: Sequence[int], stress: Stress | None,
                       note: str) -> Candidate:  # fmt: skip
        """:func:`without_orders`'s plan: ``pick``'s without its orders of ``quarters``
        (:func:`orders_not_bought`), completed under ``stress`` (None: the forecast), its purchases,
        power blocks and contracts fixed, and again until no whole block of them is left that the
        order rule may cancel (a completion holds, retires and moves GPUs anew, which leaves spare
        some the rule may then cancel: on the default model 4 rounds); run with ``pick``'s buffer."""
        plan, r = pick.plan, None
        for _ in range(MOST_ROUNDS):
            fewer = orders_not_bought(self.data, plan, quarters)
            if r is not None and np.array_equal(fewer.buy_blocks, plan.buy_blocks):
                break
            r = self.planner.complete(fewer, contracts=True, stress=stress,
                                      draws_at_most=draws_not_moved(self.data, plan, quarters))
            if r.plan is None:
                break
            plan = r.plan
        # the probe relaxes the forecast's model: it names what breaks there, not under a stress
        named = r.status == "infeasible" and stress is None
        broken = self.broken(fewer.buy_blocks, fewer.build_blocks) if named else ""
        return Candidate(label, WITHOUT_ORDERS, r.status, r.plan, note=note + within_gap(r.gap), gap=r.gap,
                         liquidity_buffer_usd=pick.liquidity_buffer_usd, broken=broken)

    def robust_optimum(self, robust: tuple[str, Robustness, str]) -> Candidate:
        label, requirement, what = robust
        limit = min(self.settings["time_limit"] or ROBUST_SOLVE_SECONDS, ROBUST_SOLVE_SECONDS)
        settings = {**self.settings, "time_limit": limit}
        r = PersistentPlanner(self.data, robustness=requirement, **settings).solve_stress(None)
        # not a parent of variations: those are completed without its constraints
        return Candidate(label, "robust", r.status, r.plan, note=what + within_gap(r.gap), gap=r.gap)

    def proposal(self, fixed: FixedPurchases) -> Candidate:
        """A procurement plan written by people: its purchases fixed, the rest the forecast's best;
        where they break a hard limit on the forecast, completed with the rescue (`solve --rescue`),
        so that its risk is evaluated beside the others (it breaches on its forecast: not
        recommended unless the rule allows that)."""
        r = self.planner.complete_purchases(fixed.blocks)
        bought = format_count(fixed.gpus(self.data), "GPUs")
        note = f"your purchases ({bought} from {fixed.source}), the rest the MILP's"
        if r.status != "infeasible":
            return Candidate(proposal_label(fixed), "proposal", r.status, r.plan, note=note)
        solve = {name: value for name, value in self.settings.items() if name != "objective"}
        try:  # the rescue completes for NPV: a cost sweep's proposal that breaks a limit is dropped
            rescued = (None if self.settings.get("objective", "npv") != "npv"
                       else complete_purchases_with_rescue(self.data, fixed, **solve))  # fmt: skip
        except NoPlanFound:  # the rescue's time limit: dropped, as the plain completion would be
            rescued = None
        if rescued is None:  # short of power or another physical limit, which no rescue cures
            broken = self.broken(fixed.blocks)
            return Candidate(proposal_label(fixed), "proposal", r.status, None, note=note, broken=broken)
        broken = "; ".join(broken_limit_words(b) for b in forecast_limits_broken(self.data, rescued.plan))
        note += (f"; they break {broken}: completed with the rescue (fleetopt solve --purchases FILE "
                 "--rescue), so it breaches on its own forecast")  # fmt: skip
        return Candidate(proposal_label(fixed), "proposal", "rescued", rescued.plan, note=note)

    def completed(self, varied: Plan, label: str, what: str) -> Candidate:
        """A variation completed by the forecast's model with its strategic decisions fixed."""
        r = self.planner.complete(varied)
        broken = self.broken(varied.buy_blocks, varied.build_blocks) if r.status == "infeasible" else ""
        return Candidate(label, "variation", r.status, r.plan, note=what, broken=broken)


def within_gap(gap: float | None) -> str:
    """A solve's gap in a candidate's note, where it shows: HiGHS stops at the --mip-gap, so another
    candidate (a stress optimum) can do better on the forecast than the forecast's own optimum."""
    return f" (within {format_gap(gap)}: the solve's relative gap)" if gap_shows(gap) else ""


def candidates_batch(data, feasible: list[Candidate]):
    """The candidates' plans, each with the liquidity buffer it runs with, to evaluate."""
    batch = compile_plans(data, [c.plan for c in feasible], [c.label for c in feasible])
    return with_buffers(batch, [c.liquidity_buffer_usd for c in feasible])

