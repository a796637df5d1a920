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
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path

import numpy as np

from fleetopt.core.data import ModelData
from fleetopt.core.economics.operating import operating_lines
from fleetopt.core.plan import Plan
from fleetopt.core.purchases import FixedPurchases
from fleetopt.core.quarters import QUARTERS_PER_YEAR
from fleetopt.core.tail import TAIL
from fleetopt.core.units import (
    format_count,
    format_gap,
    format_percent,
    format_rate,
    format_solver_status,
    format_usd,
)
from fleetopt.errors import Argument, InputError, NoPlanError
from fleetopt.evaluate.batch import compile_plans, contract_owed, deferrable_gpus, with_buffers
from fleetopt.evaluate.factors import draw_resale_factor
from fleetopt.evaluate.forecast import forecast_npv
from fleetopt.milp.completion import broken_limit_words
from fleetopt.milp.diagnose import PROBE_SECONDS, CompletionProbe, broken_words
from fleetopt.milp.highs import DEFAULT_MIP_GAP, STOCHASTIC_MIP_GAP
from fleetopt.milp.persistent import PersistentPlanner, Stress
from fleetopt.milp.solve import NoPlanFound, raise_without_plan
from fleetopt.milp.stochastic.fixed_first_stage import complete_purchases_with_rescue
from fleetopt.runs import limits
from fleetopt.schema.base import MAX_USD
from fleetopt.schema.risk import Robustness
from fleetopt.stochastic.forecast_completion import forecast_limits_broken
from fleetopt.stochastic.run import solve_stochastic
from fleetopt.stochastic.settings import check_settings, first_stage_quarters

BLACKWELL, RUBIN = 1, 2


# ---------------------------------------------------------------- stress forecasts

# a sweep's own plans, as the API and the command line call them
_PURCHASES = Argument("purchases", "--purchases")


def default_stresses(data: ModelData) -> list[Stress]:
    """A price shock, late power, a lost anchor customer (the customer of the largest signed
    revenue, its signed contracts lost; none without signed contracts), a demand slump and a
    haircut on the borrowing base's collateral, sized from `risk`."""
    risk = data.risk
    T = data.T
    out = []
    drop = risk.self_competition.price_drop_max if risk.self_competition else 0.3
    price = np.ones((2, T))
    price[:, min(2, T - 1) :] = 1.0 - drop
    out.append(
        Stress(
            "stress: price shock", price_scale=price,
            description=f"market prices -{format_rate(drop)} from quarter 3",  # as the model gives it
        )
    )
    delay = (
        risk.power_delay.max_extra_quarters if risk.power_delay and risk.power_delay.max_extra_quarters else 4
    )
    out.append(
        Stress(
            "stress: late power",
            power_delay_quarters={i: delay for i in range(data.I)},
            description=f"every power expansion and utility step {delay} quarters late",
        )
    )
    revenue: dict[str, float] = {}  # the signed book by customer: an offer not taken is no loss
    for con in (c for c in data.contracts if c.signed):
        quarters = con.end - con.start + 1
        revenue[con.customer] = (
            revenue.get(con.customer, 0.0) + con.gpus * con.price_usd_per_gpu_hour * quarters
        )
    if revenue:
        anchor = max(revenue, key=revenue.get)
        lost = tuple(k for k, con in enumerate(data.contracts) if con.customer == anchor and con.signed)
        out.append(
            Stress("stress: lost anchor customer", contracts_lost=lost, description=f"{anchor} walks away")
        )
    out.append(
        Stress("stress: demand slump", demand_scale=np.full((2, T), 0.7), description="market demand -30%")
    )
    haircut = collateral_haircut(data)
    if haircut > 0:
        out.append(
            Stress(
                "stress: collateral haircut", collateral_scale=1.0 - haircut,
                description=f"the borrowing base values the GPUs {format_percent(haircut)} below forecast "
                            "resale values",
            )
        )  # fmt: skip
    return out


# the standard normal's 95 % quantile: the collateral haircut is the resale factor's 5 % quantile
Z_95 = 1.6448536269514722


# the draws of the resale factor whose 5 % quantile is the haircut where resale values follow prices
# (a standard error of about 0.1 point at a year's log spread of 0.2), and their seed
HAIRCUT_DRAWS, HAIRCUT_SEED = 100_000, 0


def collateral_haircut(data: ModelData) -> float:
    """The fall of GPU resale values a plan's borrowing base should survive: one minus the 5 %
    quantile after one year of the evaluator's resale factor. On the resale walk alone,
    lognormal, exp(-z σ - σ² / 2) with σ = `risk.resale_value_volatility_annual` (0.20: 29.5 %);
    tied to rental prices (`risk.resale_swing_share`), not lognormal (the self-competition fall, and
    the falls after customers' defaults where `customer_default_price_impact` sets them), so
    the quantile of :data:`HAIRCUT_DRAWS` of the factor itself, at the horizon's last quarter where
    the horizon is shorter than a year (the walk's σ alone would miss the prices' part). 0 without a
    GPU-secured facility or resale risk."""
    if not any(f.max_ltv for f in data.facilities):
        return 0.0
    if data.risk.resale_swing_share is not None:
        year = min(QUARTERS_PER_YEAR, data.T - 1)
        drawn = draw_resale_factor(data, HAIRCUT_SEED, np.arange(HAIRCUT_DRAWS))[:, year]
        return float(max(0.0, 1.0 - np.quantile(drawn, 0.05)))
    vol = data.risk.resale_value_volatility_annual
    if vol <= 0:
        return 0.0
    return float(1.0 - np.exp(-Z_95 * vol - vol * vol / 2.0))


# A robustness requirement can be impossible, and proving it can take HiGHS minutes (the default
# model's lost-anchor case took 8): the sweep gives the robust candidate this long, then drops it
# with its status like any other candidate without a plan.
ROBUST_SOLVE_SECONDS = 60.0


def robust_requirement(data: ModelData) -> tuple[str, Robustness, str] | None:
    """(label, requirement, what it asks) for the forecast optimum that must also survive the loss
    of any one customer and strand no GPU if power is as late as `risk` allows; added to the
    model's own `robustness` block, if it has one. None when there is neither to guard against.

    On the default model this plan gave up 7 % of the forecast NPV and raised the mean NPV over
    2,000 scenarios from $1.7B to $7.9B (liquidity defaults 92 % -> 46 %); a further 10 % price
    drop made it worse on both (docs/formulation.md §5.13)."""
    risk, own = data.risk, data.robustness
    fields = own.model_dump() if own is not None else {}
    delay = (
        risk.power_delay.max_extra_quarters if risk.power_delay and risk.power_delay.probability > 0 else 0
    )
    delay = (
        max(delay, fields.get("power_delay_quarters", 0)) if any(s.build_quarters for s in data.sites) else 0
    )
    what, label = [], []
    if data.contracts:
        fields["lose_any_customer"] = True
        what.append("cash and covenants hold if any one customer walks away")
        label.append("survives any customer lost")
    if delay:
        fields["power_delay_quarters"] = delay
        what.append(f"no GPU waits for power if every block is {delay} quarters late")
        label.append(f"power {delay}q late-proof")
    if not what:
        return None
    return "milp: " + ", ".join(label), Robustness(**fields), "; ".join(what)


# ---------------------------------------------------------------- variations of a plan


def _copy(plan: Plan) -> Plan:
    return Plan(**{k: v.copy() for k, v in plan.arrays().items()})


def shifted(data: ModelData, plan: Plan, k: int) -> Plan | None:
    """Every purchase moved ``k`` quarters (later if positive), kept inside the SKU's sale window:
    a purchase that cannot move that far moves as far as it can. None when nothing moves."""
    out = _copy(plan)
    out.buy_blocks[:] = 0
    for s, i, t in zip(*np.nonzero(plan.buy_blocks), strict=True):
        window = np.flatnonzero(data.on_sale[s])
        target = int(np.clip(t + k, window[0], window[-1]))
        out.buy_blocks[s, i, target] += plan.buy_blocks[s, i, t]
    return None if np.array_equal(out.buy_blocks, plan.buy_blocks) else out


def scaled(plan: Plan, factor: float) -> Plan | None:
    """Every purchase's blocks times ``factor``, rounded to whole blocks; None when that changes
    nothing (a purchase of one block stays one block at x0.75 and x1.25)."""
    out = _copy(plan)
    out.buy_blocks = np.round(plan.buy_blocks * factor)
    return None if np.array_equal(out.buy_blocks, plan.buy_blocks) else out


def mix_swapped(data: ModelData, plan: Plan) -> Plan | None:
    """Blackwell purchases bought as Rubin and Rubin as Blackwell where the other is on sale, at equal
    inference throughput (whole blocks); None when there is nothing to swap."""
    out = _copy(plan)
    out.buy_blocks[:] = 0
    for s, i, t in zip(*np.nonzero(plan.buy_blocks), strict=True):
        gen = data.sku_generation[s]
        target = {BLACKWELL: RUBIN, RUBIN: BLACKWELL}.get(int(gen))
        options = [o for o in range(data.S) if data.sku_generation[o] == target and data.on_sale[o, t]]
        if not options:
            out.buy_blocks[s, i, t] += plan.buy_blocks[s, i, t]
            continue
        o = options[0]
        throughput = plan.buy_blocks[s, i, t] * data.block_size[s] * data.throughput[1, s]
        per_block = data.block_size[o] * max(data.throughput[1, o], 1e-9)
        out.buy_blocks[o, i, t] += max(1.0, round(throughput / per_block))
    return None if np.array_equal(out.buy_blocks, plan.buy_blocks) else out


def power_changed(data: ModelData, plan: Plan, delta: int) -> Plan | None:
    """One power block more (at the site and quarter of the first planned block, or the earliest
    possible) or fewer (the last planned block); None when nothing changes."""
    out = _copy(plan)
    built = list(zip(*np.nonzero(plan.build_blocks), strict=True))
    if delta < 0:
        if not built:
            return None
        i, t = built[-1]
        out.build_blocks[i, t] -= 1
        return out
    if built:
        i, t = built[0]
    else:
        choices = [(site.build_quarters[0], i) for i, site in enumerate(data.sites) if site.build_quarters]
        if not choices:
            return None
        t, i = min(choices)
    if plan.build_blocks[i].sum() + 1 > data.sites[i].max_blocks:
        return None
    out.build_blocks[i, t] += 1
    return out


# the statuses of candidates without a plan to evaluate (a solve's "infeasible" and "no_plan", and
# a plan met before); every other status ("optimal", "time_limit" ...) comes with a plan
WITHOUT_PLAN = ("infeasible", "no_plan", "duplicate")
# the forecast optimum's label: a sweep's first candidate
FORECAST_OPTIMUM = "milp: forecast"
# how a sweep makes its candidates (Candidate.origin); the first is always the forecast optimum
ORIGINS = ("forecast", "stress", "robust", "proposal", "stochastic", "policy", "planned", "variation",
           "without_orders")
# the origins of the cash-buffer candidates, which a sweep's second round makes
BUFFER_ORIGINS = ("policy", "planned")
# the pick without the GPU orders its policy almost never takes (:func:`without_orders`), made after it
WITHOUT_ORDERS = "without_orders"
# the candidates made after the rule's first pick, from it: made again from a resume's or rerank's own pick
AFTER_PICK_ORIGINS = (*BUFFER_ORIGINS, WITHOUT_ORDERS)


def signed_short(data: ModelData, plan: Plan) -> list[str]:
    """The signed contracts ``plan`` serves with fewer GPUs than they have in a quarter from their
    deadline (:func:`~fleetopt.evaluate.batch.contract_owed`), by name: walked away from, which the
    model does not allow (`signed`: already signed and must be served)."""
    owed = contract_owed(data, Plan.stack([plan]))[0]
    return [con.name for k, con in enumerate(data.contracts) if con.signed and owed[k].any()]


def why_dropped(status: str, origin: str, same_as: str | None = None, completed: bool = False,
                stress_of: str | None = None) -> str:
    """Why a candidate of ``origin`` with ``status`` has no plan to evaluate, in words (a duplicate
    names the candidate it repeats, ``same_as``, where known; ``completed``: a stress optimum whose
    completion on the forecast failed, :meth:`_Making.honouring`; ``stress_of``: a planned buffer's
    stress optimum, whose stress it was solved under, None for the forecast optimum's);
    :func:`dropped_words` adds the limit a completion breaks."""
    if status == "duplicate":
        return f"the same plan as {same_as}" if same_as else "the same plan as an earlier candidate"
    if status == "infeasible":  # a variation or proposal is completed; a stress or robust optimum solved
        if origin == "proposal":  # the solve names the constraint in conflict
            return "breaks a hard limit once completed by the MILP (fleetopt solve --purchases FILE names it)"
        if origin in ("variation", WITHOUT_ORDERS) or completed:
            return "breaks a hard limit once completed by the MILP"
        if origin == "planned":
            where = f"under {stress_of}'s stress" if stress_of else "on the forecast"
            return f"no plan holds that much cash above finance.min_cash_usd every quarter {where}"
        return "no plan keeps the hard limits under its stress or requirement"
    return status.replace("_", " ")


def dropped_words(candidate: Candidate) -> str:
    """Why a candidate has no plan (:func:`why_dropped`), with the limit its completion breaks where
    named (:attr:`Candidate.broken`): 'breaks a hard limit once completed by the MILP: power: site s1
    in 2026Q1 short by 2.5 MW'."""
    c = candidate
    return f"{c.dropped_reason}: {c.broken}" if c.broken and c.status == "infeasible" else c.dropped_reason


@dataclass
class Candidate:
    label: str
    origin: str  # forecast | proposal | stochastic | stress | robust | policy | planned | variation
    status: str
    plan: Plan | None = None
    forecast_npv_usd: float | None = None
    note: str = ""
    liquidity_buffer_usd: float | None = None  # the policy's buffer this plan runs with (None: the model's)
    gap: float | None = None  # its solve's relative gap (None: not solved, or not known)
    same_as: str | None = None  # a duplicate's earlier candidate (its label)
    # a policy candidate's plan run without its buffer, or the optimum a planned one re-solves (its label)
    buffer_of: str | None = None
    # a planned candidate's cash held above finance.min_cash_usd every quarter by its MILP (None: none)
    planned_buffer_usd: float | None = None
    # made after the rule's first pick: that pick's own buffers (:func:`second_round`), which a
    # resume or a re-ranking makes again from its own pick
    second_round: bool = False
    # a completion dropped for a hard limit: the largest shortfalls in words, as the LP of the relaxed
    # model finds them (fleetopt.milp.diagnose.CompletionProbe; '' where it names none)
    broken: str = ""

    @property
    def has_plan(self) -> bool:
        """Whether it made a plan to evaluate (a candidate saved with its status: not dropped)."""
        return self.status not in WITHOUT_PLAN

    @property
    def dropped_reason(self) -> str:
        """Why it has no plan, in words (:func:`why_dropped`), without the limit it breaks; a limit
        is named only where its completion on the forecast was infeasible."""
        # a planned buffer is of the forecast optimum (the first round) or of a stress optimum picked
        # (:func:`second_round`)
        stress_of = self.buffer_of if self.buffer_of != FORECAST_OPTIMUM else None
        return why_dropped(self.status, self.origin, self.same_as, bool(self.broken), stress_of)


# the policy candidates: the forecast optimum run with a cash buffer of these shares of its largest
# quarterly GPU order (the evaluator's order rule then defers earlier; docs/evaluation.md)
BUFFER_SHARES = (0.25, 0.5)


# what a buffer does, by the policy rule that reads it: the order rule (0) and the prepayment rule (3)
BUFFER_ACTS = {"defer_orders": "orders deferred", "cut_prepayments": "prepayments cut"}

# the two kinds of cash-buffer candidate ("policy" and "planned"), as the terminal's caption and the
# report's definitions tell them apart: "cash buffer $30.0M" and "planned with cash buffer $30.0M"
# read as one thing run twice
RUN_WITH_BUFFER = ("the plan's own decisions run with a larger cash buffer: in each scenario its orders "
                   "are deferred (or cancelled) and its prepayments cut, as the model's policy rules do, "
                   "where cash would fall below finance.min_cash_usd plus the buffer")
PLANNED_WITH_BUFFER = ("that buffer planned from the start instead: the plan's MILP solved again on its own "
                       "forecast (a stress optimum's stressed one) with its cash held at least "
                       "finance.min_cash_usd plus the buffer every quarter there, which gives other "
                       "decisions; in the scenarios it runs with the model's policy, not with that buffer")


@dataclass(frozen=True)
class CashBuffer:
    """A larger cash buffer for a plan: the model's plus ``share`` of its largest quarterly GPU order."""

    share: float
    usd: float
    shown: str  # as a candidate's label gives it
    largest_order_usd: float


def cash_buffers(data: ModelData, plan: Plan) -> list[CashBuffer]:
    """The larger buffers of :data:`BUFFER_SHARES` for ``plan``, where a rule that reads the buffer is
    on (the order rule or the prepayment rule) and the plan orders GPUs; none beyond the largest
    amount a model or a plan file takes."""
    largest_order = float(operating_lines(data, plan)["capex_gpu_usd"].max())
    if not buffer_acts(data) or largest_order <= 0:
        return []
    each = {share: data.policy.liquidity_buffer_usd + share * largest_order for share in BUFFER_SHARES}
    buffers = {share: usd for share, usd in each.items() if usd <= MAX_USD}
    shown = [format_usd(usd) for usd in buffers.values()]
    if len(set(shown)) < len(shown):  # a large base buffer and small orders: to the dollar
        shown = [f"${usd:,.0f}" for usd in buffers.values()]
    return [CashBuffer(share, usd, text, largest_order)
            for (share, usd), text in zip(buffers.items(), shown, strict=True)]  # fmt: skip


def buffer_acts(data: ModelData) -> list[str]:
    """What the policy's buffer does, by each rule on that reads it (:data:`BUFFER_ACTS`)."""
    return [words for rule, words in BUFFER_ACTS.items() if getattr(data.policy, rule)]


def buffer_words(data: ModelData, buffer: CashBuffer) -> str:
    """How ``buffer`` is sized: 'the model's $1.0B plus 25% of the largest quarterly GPU order ($X)'."""
    base = data.policy.liquidity_buffer_usd
    model_buffer = f"the model's {format_usd(base)} plus " if base else ""
    return (f"{model_buffer}{format_rate(buffer.share)} of the largest quarterly GPU order "
            f"({format_usd(buffer.largest_order_usd)})")  # fmt: skip


def policy_variations(data: ModelData, label: str, plan: Plan) -> Iterator[Candidate]:
    """The plan run with larger liquidity buffers (same decisions, another policy), where a rule that
    reads the buffer is on: the order rule or the prepayment rule (either alone acts on it)."""
    acts = " and ".join(buffer_acts(data))
    for buffer in cash_buffers(data, plan):
        yield Candidate(
            f"{label}, cash buffer {buffer.shown}", "policy", "optimal", plan,
            note=(f"the same decisions, run with a cash buffer of {buffer_words(data, buffer)}: in each "
                  f"scenario, {acts} where cash would fall below finance.min_cash_usd plus it "
                  f"({format_usd(data.min_cash + buffer.usd)})"),
            liquidity_buffer_usd=buffer.usd, buffer_of=label,
        )  # fmt: skip


@dataclass(frozen=True)
class PlannedBuffer:
    """A plan's cash buffer planned from the start: the optimum ``of`` re-solved under ``stress``
    (its own stress, or the forecast) with the minimum cash raised by the buffer."""

    label: str
    of: str  # the optimum whose buffer it plans (its label)
    stress: Stress  # its stress, or the forecast, with min_cash_raise_usd set
    note: str
    made_when: str = ""  # '; made after the rule first picked ...' in the second round


def planned_buffers(data: ModelData, label: str, plan: Plan, stress: Stress | None) -> list[PlannedBuffer]:
    """For each of ``plan``'s :func:`cash_buffers`, the MILP of the forecast (``stress``: of that
    stress) whose cash must stay above finance.min_cash_usd plus that buffer every quarter: "what if
    we plan for the buffer from the start", beside the same decisions run with it."""
    solved_under = stress or Stress("forecast")
    where = f" ({stress.description})" if stress is not None and stress.description else ""
    out = []
    for buffer in cash_buffers(data, plan):
        floor = format_usd(data.min_cash + buffer.usd)
        note = (f"{label} re-solved{where} so that its cash stays at least {floor} every quarter of "
                f"{'that' if stress is not None else 'the'} forecast: finance.min_cash_usd "
                f"({format_usd(data.min_cash)}) plus a cash buffer of {buffer_words(data, buffer)}, "
                "planned from the start (other decisions than its own; in the scenarios it runs with the "
                "model's policy, not with this buffer)")
        out.append(PlannedBuffer(f"{label}, planned with cash buffer {buffer.shown}", label,
                                 replace(solved_under, min_cash_raise_usd=buffer.usd), note))  # fmt: skip
    return out


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
    stress = next((s for s in all_stresses(data) if stress_label(s) == first.label), None)
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


def orders_not_bought(data: ModelData, plan: Plan, quarters: Sequence[int]) -> Plan:
    """``plan`` without the part of its GPU orders of ``quarters`` that the order rule may defer and
    cancel (:func:`~fleetopt.evaluate.batch.deferrable_gpus`): each SKU's purchase at each site in those
    quarters cut to the GPUs left, rounded up to whole blocks (what contracts need, and any part of
    a block). Its other decisions are the plan's, to be completed again (:func:`without_orders`)."""
    out = _copy(plan)
    size = data.block_size[:, None, None]
    left = plan.buy_blocks * size - deferrable_gpus(data, Plan.stack([plan]))[0]
    kept = np.ceil(np.maximum(left, 0.0) / size - 1e-9)  # 1e-9 blocks: round-off, not a block
    out.buy_blocks[..., list(quarters)] = kept[..., list(quarters)]
    return out


def draws_not_moved(data: ModelData, plan: Plan, quarters: Sequence[int]) -> np.ndarray:
    """(F, T) ``plan``'s draws, USD, less in ``quarters`` the GPU-backed draws that fund the part of
    the orders the order rule may defer, which a cancellation leaves undrawn (policy rule 0, "GPU-backed
    draws go with the order"; ``PlanBatch.ltv_facility_draws``)."""
    moved = compile_plans(data, [plan], ["plan"], slips=False).ltv_facility_draws[0]
    out = plan.draws.copy()
    out[:, list(quarters)] -= moved[:, list(quarters)]
    return out


def solved_under(data: ModelData, candidate: Candidate, made: Sequence[Candidate]) -> Stress | None:
    """The forecast ``candidate``'s decisions were made on: its stress optimum's stress (a run
    buffer's plan's, found among ``made``; a planned buffer's with its cash floor raised); None: the
    forecast itself (the forecast optimum, a variation, your purchases, and the stochastic and robust
    plans, whose scenarios and requirement a completion does not keep)."""
    if candidate.origin == "policy":
        parent = next((c for c in made if c.label == candidate.buffer_of), None)
        return None if parent is None else solved_under(data, parent, made)
    of = candidate.buffer_of if candidate.origin == "planned" else candidate.label
    stress = next((s for s in all_stresses(data) if stress_label(s) == of), None)
    if candidate.origin == "planned":
        stress = replace(stress or Stress("forecast"), min_cash_raise_usd=candidate.planned_buffer_usd or 0.0)
    elif candidate.origin != "stress":
        return None
    return stress


# the candidate without_orders makes, as the report's definitions say it
WITHOUT_ORDERS_MEANS = ("the rule's first pick without the part of its GPU orders no contract needs that its "
                        "policy cancels in at least 95% of the scenarios, nor the GPU-backed draws that fund "
                        "it, the rest completed by the MILP on the pick's own forecast, run with the same "
                        "cash buffer")
# what a pick's label is given for the plan without the orders it almost never takes
WITHOUT_ORDERS_WORDS = ", without the orders it almost never takes"


def without_orders_label(label: str) -> str:
    """'milp: demand slump, cash buffer $3.49B, without the orders it almost never takes'."""
    return f"{label}{WITHOUT_ORDERS_WORDS}"


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


def variations(data: ModelData, label: str, plan: Plan) -> Iterator[tuple[str, Plan | None, str]]:
    """(label, varied plan, what changed) for the systematic variations of a plan."""
    for k in (-2, -1, 1, 2):
        yield (
            f"{label}, buy {abs(k)}q {'earlier' if k < 0 else 'later'}",
            shifted(data, plan, k),
            "purchases shifted",
        )
    for factor in (0.75, 1.25):
        yield f"{label}, volumes x{factor:g}", scaled(plan, factor), "purchase volumes scaled"
    yield f"{label}, blackwell/rubin swapped", mix_swapped(data, plan), "generation mix swapped"
    yield f"{label}, +1 power block", power_changed(data, plan, +1), "one more power block"
    yield f"{label}, -1 power block", power_changed(data, plan, -1), "one power block fewer"


# ---------------------------------------------------------------- the two-stage stochastic plan


def check_stochastic_candidate(
    data: ModelData, scenarios: int, candidates: int, share_purchases: bool = False
) -> None:
    """`sweep --stochastic N [--share-purchases]` checked before any solve: N >= 0 (0: off, where
    sharing has nothing to apply to), room for the candidate after the forecast optimum
    (``candidates`` >= 2), and the settings `solve --stochastic` checks."""
    scenarios = limits.whole(limits.STOCHASTIC, scenarios)
    limits.flag(limits.SHARE_PURCHASES, share_purchases)
    if scenarios < 0:
        raise InputError.naming(limits.STOCHASTIC, " must be 0 (no stochastic candidate) or at least 1 "
                                f"scenario (got {scenarios})")  # fmt: skip
    if not scenarios:
        if share_purchases:
            raise InputError.naming(limits.SHARE_PURCHASES, " cannot apply without a stochastic candidate: "
                                    "give ", Argument("stochastic", "--stochastic N"), " too")  # fmt: skip
        return
    if candidates < 2:
        raise InputError(
            f"--stochastic needs --candidates of at least 2: the forecast optimum is the first candidate "
            f"and the stochastic plan the second (got {candidates})"
        )
    check_settings(data, scenarios, first_stage_quarters(data), 0.0, TAIL, n_name="stochastic",
                   share_purchases=share_purchases)


@dataclass(frozen=True)
class StochasticCandidate:
    """`fleetopt sweep --stochastic N`: the plan of `fleetopt solve --stochastic N` (first stage
    Q = :func:`~fleetopt.stochastic.settings.first_stage_quarters`, L = 0, docs/formulation.md §7b) as a
    candidate. Its scenarios are reduced from ``seed``, which the sweep sets to one it does not
    evaluate on (its own seed + 1); with ``share_purchases`` (`--share-purchases`) they share every
    purchase, power block and draw, and its label says so: a sweep saved with the other setting
    holds no candidate of this label to be taken for it."""

    scenarios: int
    seed: int
    backend: str = "auto"
    mip_gap: float = STOCHASTIC_MIP_GAP  # its own: at the sweep's 0.5 % a large model's search runs long
    share_purchases: bool = False

    @property
    def label(self) -> str:
        shared = ", every purchase shared" if self.share_purchases else ""
        return f"stochastic: {self.scenarios} scenarios{shared}"


def stochastic_candidate(
    data: ModelData, spec: StochasticCandidate, time_limit: float | None, threads: int | None
) -> Candidate:
    """The completed stochastic plan, labelled with its scenario count, solved to ``spec.mip_gap``;
    without a plan, a candidate with that status (and no plan), as for any other."""
    label = spec.label
    try:
        result = solve_stochastic(
            data, spec.scenarios, quarters=first_stage_quarters(data), seed=spec.seed, oos_scenarios=0,
            mip_gap=spec.mip_gap, time_limit=time_limit, threads=threads, backend=spec.backend,
            share_purchases=spec.share_purchases,
        )  # fmt: skip
    except NoPlanError as exc:
        return Candidate(label, "stochastic", "no_plan", note=str(exc))
    m = result.measures
    quarters = result.settings["first_stage_quarters"]
    # as `solve --share-purchases`'s settings row says it: nothing is later on a horizon of Q quarters
    shared_later = spec.share_purchases and quarters < data.T
    later = " and every later purchase, power block and draw" if shared_later else ""
    note = (
        f"two-stage stochastic plan, {spec.scenarios} scenarios of seed {spec.seed}, first stage "
        f"quarters 0-{quarters - 1}{later} ({m['first_stage']}), "
        f"VSS {format_usd(m['vss_usd'])} at a {format_gap(m['gap'])} gap; "
        f"completed by {result.completion['method']}"
    )
    for broken in result.completion.get("limits_broken", []):
        note += f"; its statements break {broken_limit_words(broken)}"
    return Candidate(label, "stochastic", m["status"], result.plan, note=note)


# ---------------------------------------------------------------- generation


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
) -> CandidateSet:
    """Up to ``n`` feasible candidates: the forecast optimum, the stochastic plan (with
    ``stochastic``), the ``proposals`` (procurement plans written by people, completed by the
    MILP), stress optima, then variations.

    ``saved``: the candidates an interrupted sweep had made; each is taken as it was instead of
    being solved again. ``on_made`` is called with the candidates so far after each new one, so a
    sweep can save them as they come."""
    settings = dict(mip_gap=mip_gap, time_limit=time_limit, threads=threads)
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
    for stress in all_stresses(data):
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


# lower leverage: the forecast optimum with half the undrawn debt available
HALF_LEVERAGE = Stress(
    "stress: half leverage", leverage_scale=0.5, description="half of each facility's undrawn size"
)


def all_stresses(data: ModelData) -> list[Stress]:
    """The stresses whose optima are candidates, in the order they are made."""
    return [*default_stresses(data), HALF_LEVERAGE]


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


def stress_label(stress: Stress) -> str:
    return f"milp: {stress.name[len('stress: ') :]}"


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
        return CompletionProbe(self.data)

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
            diagnosis = {"time_limit": options["time_limit"], "threads": options["threads"]}
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
        try:
            rescued = complete_purchases_with_rescue(self.data, fixed, **self.settings)
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
    shows = format_solver_status("optimal", gap) != "optimal"
    return f" (within {format_gap(gap)}: the solve's relative gap)" if shows else ""


# ---------------------------------------------------------------- front and choice


def candidates_batch(data, feasible: list[Candidate]):
    """The candidates' plans, each with the liquidity buffer it runs with, to evaluate."""
    batch = compile_plans(data, [c.plan for c in feasible], [c.label for c in feasible])
    return with_buffers(batch, [c.liquidity_buffer_usd for c in feasible])
