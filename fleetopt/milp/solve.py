"""Solve the fleet MILP with HiGHS (in memory, through highspy) and extract the plan."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import NoReturn

import highspy
import numpy as np
import pyomo.environ as pyo
from pyomo.common.collections import ComponentMap
from pyomo.contrib.solver.solvers.highs import Highs

from fleetopt.core.data import ModelData
from fleetopt.core.economics.debt import principal_schedule
from fleetopt.core.economics.operating import opening_fleet_value
from fleetopt.core.economics.statements import Statements, plan_statements
from fleetopt.core.notebook import markdown_table, markdown_text
from fleetopt.core.plan import Plan
from fleetopt.core.purchases import FixedPurchases
from fleetopt.core.results.cost import COST_LABEL, MARKET_VALUED, present_cost_arithmetic
from fleetopt.core.results.covenant_words import (
    covenant_headroom_text,
    dscr_kind,
    dscr_name,
    tested_breaches,
    trailing_year_headroom,
)
from fleetopt.core.results.fleet import NOTHING_BOUGHT, bought_nothing
from fleetopt.core.results.headline import dscr_words, headline, headline_frame
from fleetopt.core.results.plan_limits import PLAN_LIMITS_LABEL, plan_limits, plan_limits_text
from fleetopt.core.results.shocks import lowest_quarter
from fleetopt.core.results.tables import debt_frame, plan_frame, purchases_and_capex_words
from fleetopt.core.results.valuation import basis_words
from fleetopt.core.units import (
    format_count,
    format_duration,
    format_gap,
    format_solver_status,
    format_usd,
    status_shows_gap,
)
from fleetopt.errors import InfeasibleError, NoPlanError, warn
from fleetopt.milp.build import build_model
from fleetopt.milp.completion import completion_facts
from fleetopt.milp.diagnose import diagnose, format_diagnosis, message_entry
from fleetopt.milp.finance import net_same_quarter_draws
from fleetopt.milp.highs import (
    DEFAULT_MIP_GAP,
    WatchedHighs,
    model_size,
    relative_gap,
    run_highs,
    solver_trouble,
    unwatched,
)
from fleetopt.milp.units import VARIABLE_UNITS, from_model_units
from fleetopt.schema.loaded_model import LoadedModel


class InfeasibleModel(InfeasibleError):
    """No plan satisfies every constraint; ``diagnosis`` names the groups and quarters in conflict."""

    SHOWN = 3  # conflicting groups named in the message (all of them are in ``diagnosis``)

    def __init__(self, diagnosis: list[dict], given: str | None = None):
        self.diagnosis = diagnosis
        self.given = given  # what the solve fixed besides the model ("the purchases of FILE fixed")
        self.hint: str | None = None  # what to do about it, where there is something (a caller's words)
        self.rescuable = False  # fixed purchases whose conflict a rescue cures (solve(rescue=True))
        self.rescue_certain = False  # ... by the diagnosis (finance limits alone); else it may
        lines = format_diagnosis(diagnosis)
        more = f"; and {len(lines) - self.SHOWN} more" if len(lines) > self.SHOWN else ""
        conflict = "; ".join(lines[: self.SHOWN]) + more if lines else "none found (a numerical conflict)"
        model = f"the model with {given}" if given else "the model"
        super().__init__(f"{model} is infeasible (no plan meets every constraint); in conflict: {conflict}")


class NoPlanFound(NoPlanError):
    """The solver stopped (e.g. at the time limit) before finding any feasible plan."""


class SolverTrouble(NoPlanError):
    """HiGHS gave up without a plan for numerical or other internal reasons: not infeasibility."""


@dataclass
class SolveResult:
    """Outcome of one solve: status, figures and the plan with its statements."""

    status: str  # optimal | time_limit (feasible plan, gap reported)
    objective_kind: str
    objective_usd: float
    bound_usd: float | None
    gap: float | None
    build_seconds: float
    solve_seconds: float
    model_size: dict
    plan: Plan
    statements: Statements
    data: ModelData = field(repr=False)
    milp_cash_usd: np.ndarray = field(default=None, repr=False)
    purchases: FixedPurchases | None = field(default=None, repr=False)  # fixed by people, if any
    # the model file it was solved from, when the Python API loaded one (fleetopt.api.solve):
    # write_solve_run writes it beside the plan unless given another
    loaded: LoadedModel | None = field(default=None, repr=False, compare=False)
    # the plan run on the forecast with the model's policy, as fleetopt.api.solve found it (its
    # summary.json fields): kept so that writing the run does not run it again
    on_forecast: dict | None = field(default=None, repr=False, compare=False)
    # status "rescued" (purchases that break a hard limit, completed with the rescue model: §7b's
    # scenario model on the forecast): the forecast's rescue row (emergency equity, cures, slacks)
    rescue: dict | None = field(default=None, repr=False, compare=False)
    # and how it was completed, with the limits its plan breaks
    # (stochastic.forecast_completion.rescued_completion), as fleetopt.api.solve found it once for the
    # terminal, summary.json and the report
    completion: dict | None = field(default=None, repr=False, compare=False)

    def __repr__(self) -> str:  # a notebook shows this, not the plan's arrays
        gap = "" if self.gap is None else f", gap {format_gap(self.gap)}"
        return (
            f"SolveResult({self.status}, {self.data.name!r}, {self.objective_kind} objective "
            f"{format_usd(self.objective_usd)}{gap}; .headline(), .plan_frame(), .statements_frame(), "
            ".debt_frame())"
        )

    @property
    def status_shows_gap(self) -> bool:
        """Whether the status's words (:func:`format_solver_status`) carry the gap, 'optimal within 0.50%
        (relative gap)', so that nothing beside them repeats it."""
        return status_shows_gap(self.status, self.gap)

    def _repr_markdown_(self) -> str:
        """What a notebook cell shows: the fields changed in the model for the run (a line of
        :func:`changed_model_line`), the NPV on the forecast (a cost solve's present cost first), the
        status and gap, the GPUs bought by generation and year and their capex, the debt, covenant
        headroom and what held the plan back as the terminal writes them; every figure: :meth:`headline`
        and the frames."""
        fig = self.headline()
        status = format_solver_status(self.status, self.gap)
        status += "" if self.status_shows_gap else f", gap {format_gap(self.gap)}"
        title = f"**Solve of {markdown_text(self.data.name)}** ({self.objective_kind} objective): {status}"
        loaded = self.loaded
        changed = loaded.changed_line if loaded else ""
        after = ("Next: .headline_frame() (every figure, with its unit), .plan_frame(), .statements_frame(), "
                 ".debt_frame()")
        changed_lines = [markdown_text(changed), ""] if changed else []  # a paragraph of its own
        return "\n".join([title, "", *changed_lines, *self._answer_lines(fig), *self._given_lines(), "",
                          *self._bought_lines(), "", *self._covenant_lines(fig), "", *self._limit_lines(), "",
                          after])  # fmt: skip

    def _bought_lines(self) -> list[str]:
        """Markdown: the GPUs bought by generation and year, a table; or, bought none for NPV, why
        (:data:`NOTHING_BOUGHT`), as the terminal says it."""
        if bought_nothing(self.data, self.plan, self.objective_kind):
            return [f"GPUs bought: {markdown_text(NOTHING_BOUGHT)}"]
        bought = purchases_and_capex_words(self.data, self.plan.buy_blocks)
        return ["GPUs bought by generation and year:", "", markdown_table(bought)]

    def _answer_lines(self, fig: dict) -> list[str]:
        """Markdown list items, the answer in bold: the NPV on the forecast with its horizon and
        discount rate (a cost solve's present cost, then its market-valued NPV), then the peak debt,
        the lowest cash and the lowest DSCR."""
        data = self.data
        lowest_at = data.quarter_labels[lowest_quarter(self.statements.lines["cash_usd"])]
        npv = f"NPV on the forecast: {format_usd(fig['npv_usd'])}"
        basis = f" {basis_words(data.T, data.discount_rate_annual)}"
        said = [(npv, basis)]
        if self.objective_kind == "cost":  # the present cost's basis too: it had none, the NPV's after it
            cost_basis = basis_words(data.T, data.discount_rate_annual, figures=("cost",))
            said = [(f"{COST_LABEL}: {format_usd(fig['present_cost_usd'])}",
                     f" = {present_cost_arithmetic(fig)}, {cost_basis}"),
                    (npv + MARKET_VALUED + basis, "")]  # fmt: skip
        cash = f"lowest cash {format_usd(fig['min_liquidity_usd'])} ({lowest_at})"
        said += [(f"peak debt {format_usd(fig['peak_debt_usd'])}; {cash}; "
                  f"lowest {dscr_name(self.data)} {dscr_words(fig)}", "")]  # fmt: skip
        return [f"- **{markdown_text(said[0][0])}**{markdown_text(said[0][1])}",
                *(f"- {markdown_text(lead + rest)}" for lead, rest in said[1:])]  # fmt: skip

    def _given_lines(self) -> list[str]:
        """Markdown list items: the purchases the solve was given, and where the rescue completed them,
        how, and each hard limit the plan breaks, in bold, as the terminal lists them
        (:func:`~fleetopt.milp.completion.completion_facts`)."""
        fixed, facts = self.purchases, completion_facts(self.completion or {})
        given = [] if fixed is None else [(f"purchases fixed from {fixed.source}: "
                                           f"{format_count(fixed.gpus(self.data), 'GPUs')}; the solver chose "
                                           "the rest", False)]
        completed = [(f"{label}: {words}", bad) for label, words, bad in facts]
        return [f"- **{markdown_text(line)}**" if bad else f"- {markdown_text(line)}"
                for line, bad in given + completed]  # fmt: skip

    def _covenant_lines(self, fig: dict) -> list[str]:
        """Markdown: each covenant's headroom in its tightest quarter, a list item each."""
        yearly = trailing_year_headroom(self.data, self.statements)
        text = covenant_headroom_text(self.data, fig, yearly) or "no covenants"
        return ["Covenant headroom, each in its tightest quarter:", "",
                *(f"- {markdown_text(line)}" for line in text.splitlines())]  # fmt: skip

    def _limit_lines(self) -> list[str]:
        """Markdown: what held the plan back, the limits it reaches on the forecast, a list item each, as
        the terminal writes them (:func:`~fleetopt.core.results.plan_limits.plan_limits`)."""
        limits = plan_limits(self.data, self.plan, self.statements, self.objective_kind,
                             purchases_fixed=self.purchases is not None)  # fmt: skip
        return [f"{PLAN_LIMITS_LABEL[0].upper()}{PLAN_LIMITS_LABEL[1:]}:", "",
                *(f"- {markdown_text(line)}" for line in plan_limits_text(limits).splitlines())]

    def plan_frame(self):
        """Every decision as a pandas DataFrame (one row per quarter and item)."""
        return plan_frame(self.data, self.plan)

    def statements_frame(self):
        """Quarterly statements as a pandas DataFrame: columns ending ``_usd`` in USD, ``mw_`` in MW,
        ``gpus_`` in GPUs; ``debt_to_ebitda``, ``dscr``, ``interest_coverage`` and
        ``borrowing_base_used`` are ratios (x; the covenants' quantities, docs/formulation.md)."""
        return self.statements.frame(self.data.quarter_labels)

    def headline(self) -> dict:
        """Key figures: NPV, peak debt, lowest cash, DSCR, covenant headroom, totals (keys and
        units: :func:`fleetopt.core.results.headline.headline`)."""
        return headline(self.data, self.plan, self.statements, self.objective_kind)

    def headline_frame(self):
        """:meth:`headline` for people, a pandas DataFrame: a row per figure of one value, its
        ``value`` and as ``shown`` with its unit ($164.0M, 1.95x, 2,000 GPUs), as `fleetopt runs
        show` writes it (:func:`fleetopt.core.results.headline.headline_frame`)."""
        return headline_frame(self.headline())

    def debt_frame(self):
        """Each facility's terms, maturity and balance at each year's end, USD
        (:func:`fleetopt.core.results.tables.debt_frame`)."""
        return debt_frame(self.data, self.statements)


def solve(
    data: ModelData,
    objective: str = "npv",
    time_limit: float | None = None,
    mip_gap: float = DEFAULT_MIP_GAP,
    threads: int | None = None,
    diagnose_infeasible: bool = True,
    purchases: FixedPurchases | None = None,
) -> SolveResult:
    """Build and solve the MILP; return the best plan found and its statements. ``purchases``:
    every purchase fixed to these (the solver chooses the rest); None: the solver chooses them."""
    t0 = time.perf_counter()
    fixed = None if purchases is None else purchases.blocks
    m = build_model(data, objective, purchases=fixed)
    build_seconds = time.perf_counter() - t0
    t1 = time.perf_counter()
    status, results, incumbent = solve_settled(m, time_limit=time_limit, rel_gap=mip_gap, threads=threads)
    solve_seconds = time.perf_counter() - t1  # the settling LP included (§6a)
    if status in ("infeasible", "no_plan"):
        settings = {"objective": objective, "time_limit": time_limit, "threads": threads, "purchases": fixed}
        given = None if purchases is None else f"the purchases of {purchases.source} fixed"
        raise_without_plan(
            data, status, results, solve_seconds, settings if diagnose_infeasible else None, given
        )
    plan = extract_plan(m, data)
    statements = plan_statements(data, plan)
    _warn_of_breaches(data, statements)
    incumbent_usd = from_model_units(float(incumbent), VARIABLE_UNITS["objective"])
    bound = results.objective_bound
    finite = bound is not None and np.isfinite(bound)
    bound_usd = from_model_units(float(bound), VARIABLE_UNITS["objective"]) if finite else None
    objective_usd, gap = objective_and_gap(objective, incumbent_usd, bound_usd, statements)
    if objective == "cost":  # the fleet held at the start, a constant HiGHS is not given (§6, "Cost")
        opening = opening_fleet_value(data)
        objective_usd += opening
        bound_usd = None if bound_usd is None else bound_usd + opening
    return SolveResult(
        status=status,
        objective_kind=objective,
        objective_usd=objective_usd,
        bound_usd=bound_usd,
        gap=gap,
        build_seconds=build_seconds,
        solve_seconds=solve_seconds,
        model_size=model_size(m),
        plan=plan,
        statements=statements,
        data=data,
        purchases=purchases,
        milp_cash_usd=from_model_units(
            np.array([pyo.value(m.cash[t]) for t in range(data.T)]), VARIABLE_UNITS["cash"]
        ),
    )


def _warn_of_breaches(data: ModelData, statements: Statements) -> None:
    """Warn where the plan's own statements breach a covenant its MILP rows met: a row that is a
    relaxation of the statements' test (formulation §5.11) must not pass as "keeps every covenant"."""
    missed = tested_breaches(data, statements)
    if missed is None:
        return
    relaxed = data.tax_loss_carry_forward and dscr_kind(data).numerator == "ebitda_less_tax"
    why = ("the DSCR on EBITDA less tax with tax losses carried forward is a relaxation in the MILP: "
           "docs/formulation.md §5.11" if relaxed else "the MILP's rows and the statements differ there")
    warn(f"the plan's own statements breach a covenant the MILP held it to: {missed} ({why}); "
         "`fleetopt evaluate` shows what the policy then does")


def solve_settled(
    m: pyo.ConcreteModel, solver: Highs | None = None, **options
) -> tuple[str, object, float | None]:
    """:func:`run_highs` (``options``: its), then :func:`settle_operations` where the branch and bound
    found a plan. Returns (status, the branch and bound's results (its bound, or why it found no
    plan), the objective of the plan loaded into ``m`` in model units: the settled LP's, or the
    incumbent's where the LP found no optimum; None without a plan)."""
    solver = solver or WatchedHighs()
    status, results = run_highs(m, solver, **options)
    if status in ("infeasible", "no_plan"):
        return status, results, None
    settled = settle_operations(m, solver, threads=options.get("threads"))
    return status, results, (settled or results).incumbent_objective


# the strategic decisions: integers, and the commitments a plan is compared by (docs/formulation.md §6a)
STRATEGIC = ("buy", "build", "accept")


def settle_operations(m: pyo.ConcreteModel, solver: Highs, threads: int | None = None):
    """Hold the strategic integers at the values the branch and bound found and solve the LP that
    is left with ``solver`` (the one that solved ``m``), loading its optimum into ``m``; their
    bounds are then set back. Returns its results, or None when it found no optimum (``m`` keeps
    the branch and bound's plan). docs/formulation.md §6a.

    Why: the operations of an optimum (draws, site and use allocations, moves) are often tied, and
    the branch and bound returns whichever its search met. The LP of one set of commitments is one
    input whatever search came before (HiGHS starts a MIP afresh, and the held integers make it this
    LP), so two solves that reach the same commitments (a solve and a ``--purchases`` solve of its
    own purchases, a sweep's forecast candidate) return the same plan; its objective is at least the
    incumbent's. Held by their bounds, as the persistent planner and ``fix_purchases`` hold them; a
    variable fixed with ``Var.fix`` (the stochastic first stage) stays so, since changing its fixed
    state would make Pyomo's persistent interface delete and append its rows again."""
    held = [var for name in STRATEGIC for var in getattr(m, name).values() if not var.fixed]
    bounds = [(var.lower, var.upper) for var in held]  # as declared, set back as they were
    found = ComponentMap((var, var.value) for var in m.component_data_objects(pyo.Var))
    for var in held:
        value = float(round(var.value or 0.0))
        var.setlb(value)
        var.setub(value)
    try:
        # no time limit: the branch and bound's --time-limit stays set in the solver otherwise
        unlimited = {"time_limit": highspy.kHighsInf}
        with unwatched():  # the branch and bound's progress was told; this LP's bound is its own
            status, results = run_highs(m, solver, threads=threads, solver_options=unlimited)
    finally:
        for var, (lower, upper) in zip(held, bounds, strict=True):
            var.lower, var.upper = lower, upper
    if status == "optimal":
        return results
    for var, value in found.items():  # a feasible LP point is not the optimum: keep the plan found
        var.set_value(value, skip_validation=True)
    return None


# the diagnosis of an infeasible model solved without one (solve(..., diagnose_infeasible=False))
NOT_DIAGNOSED = [
    message_entry(
        "not diagnosed", "solve(..., diagnose_infeasible=True) names the constraint groups in conflict"
    )
]


def raise_without_plan(
    data: ModelData, status: str, results, seconds: float, diagnosis: dict | None, given: str | None = None
) -> NoReturn:
    """The error of a forecast solve that ended without a plan (``status`` infeasible or no_plan,
    as :func:`run_highs` gives it): an infeasible model with its diagnosis (``diagnosis``: the
    settings of :func:`diagnose`; None: none; ``given``: what the solve fixed besides the model),
    numerical trouble, or a limit reached first."""
    if status == "infeasible":
        raise InfeasibleModel(NOT_DIAGNOSED if diagnosis is None else diagnose(data, **diagnosis), given)
    if solver_trouble(results):
        raise SolverTrouble(
            f"HiGHS stopped without a plan after {format_duration(seconds)} "
            f"({results.termination_condition.name}): numerical trouble, not proof that the model is "
            "infeasible; check for figures many orders of magnitude apart (money, GPU counts, MW)"
        )
    reason = _STOPPED.get(results.termination_condition.name, f"({results.termination_condition.name})")
    raise NoPlanFound(
        f"the solver stopped {reason} without a feasible plan, after {format_duration(seconds)} (loading "
        "the model into HiGHS included)"
    )


# why HiGHS stopped, in words, by Pyomo's termination condition
_STOPPED = {"maxTimeLimit": "at its time limit (--time-limit)", "iterationLimit": "at its iteration limit"}


def objective_and_gap(
    objective: str, incumbent_usd: float, bound_usd: float | None, statements: Statements
) -> tuple[float, float | None]:
    """The plan's objective and its relative gap to the solver's bound. With the NPV objective it is
    the plan's NPV as its statements price it: the two agree to 1e-6 once the operations are
    settled, but a branch and bound incumbent (a settle that found no optimum) can pay more tax than
    it owes (the tax variables are only bounded below, §5.10) and understate the plan written."""
    value = statements.npv_usd if objective == "npv" else incumbent_usd
    return value, relative_gap(value, bound_usd)


def _val(var) -> float:
    v = var.value
    return 0.0 if v is None else float(v)


def extract_plan(m: pyo.ConcreteModel, data: ModelData) -> Plan:
    """Read the solved decisions into a :class:`Plan` (integers rounded, round-off below zero clipped,
    a facility's draw and prepayment of one quarter netted: ``finance.net_same_quarter_draws``)."""
    plan = Plan.empty(data)
    for s, i, t in m.BUY:
        plan.buy_blocks[s, i, t] = round(_val(m.buy[s, i, t]))
    for c, t in m.CT:
        plan.held_training[c, t] = max(_val(m.held_tr[c, t]), 0.0)
        plan.held_inference[c, t] = max(_val(m.held_in[c, t]), 0.0)
    for c, t in m.MOVE:
        plan.redeploy[c, t] = max(_val(m.redeploy[c, t]), 0.0)
        plan.retire_training[c, t] = max(_val(m.retire_tr[c, t]), 0.0)
        plan.retire_inference[c, t] = max(_val(m.retire_in[c, t]), 0.0)
    for c, t in m.FORCED:
        plan.retire_training[c, t] = max(_val(m.forced_tr[c, t]), 0.0)
        plan.retire_inference[c, t] = max(_val(m.forced_in[c, t]), 0.0)
    for u, s, i, t in m.ACT:
        plan.active[u, s, i, t] = max(_val(m.in_service[u, s, i, t]), 0.0)
    for k, s, i, t in m.SERVE:
        plan.contract_gpus[k, s, i, t] = max(_val(m.serve[k, s, i, t]), 0.0)
    for k, con in enumerate(data.contracts):
        plan.accepted[k] = 1.0 if con.signed else float(round(_val(m.accept[k])))
    for i, t in m.BUILD:
        plan.build_blocks[i, t] = round(_val(m.build[i, t]))
    for f, t in m.DRAW:
        plan.draws[f, t] = from_model_units(max(_val(m.draw[f, t]), 0.0), VARIABLE_UNITS["draw"])
    for f, fac in enumerate(data.facilities):
        for t in range(data.T):
            plan.prepay[f, t] = from_model_units(max(_val(m.prepay[f, t]), 0.0), VARIABLE_UNITS["prepay"])
        net_same_quarter_draws(principal_schedule(fac, data.T)[1], plan.draws[f], plan.prepay[f])
    return plan
