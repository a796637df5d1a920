"""Cash buffers as sweep candidates: a plan's own decisions run with a larger buffer (the policy keeps
it by deferring orders and cutting prepayments: :func:`policy_variations`), and that buffer planned
from the start (the MILP solved again with its minimum cash raised by it: :func:`planned_buffers`)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace

from fleetopt.core.data import ModelData
from fleetopt.core.economics.operating import operating_lines
from fleetopt.core.plan import Plan
from fleetopt.core.units import (
    format_rate,
    format_usd,
)
from fleetopt.milp.persistent import Stress
from fleetopt.schema.base import MAX_USD
from fleetopt.sweep.candidate_record import (
    Candidate,
)
from fleetopt.sweep.stresses import stress_named

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


def solved_under(data: ModelData, candidate: Candidate, made: Sequence[Candidate]) -> Stress | None:
    """The forecast ``candidate``'s decisions were made on: its stress optimum's stress (a run
    buffer's plan's, found among ``made``; a planned buffer's with its cash floor raised); None: the
    forecast itself (the forecast optimum, a variation, your purchases, and the stochastic and robust
    plans, whose scenarios and requirement a completion does not keep)."""
    if candidate.origin == "policy":
        parent = next((c for c in made if c.label == candidate.buffer_of), None)
        return None if parent is None else solved_under(data, parent, made)
    of = candidate.buffer_of if candidate.origin == "planned" else candidate.label
    stress = stress_named(data, of)
    if candidate.origin == "planned":
        stress = replace(stress or Stress("forecast"), min_cash_raise_usd=candidate.planned_buffer_usd or 0.0)
    elif candidate.origin != "stress":
        return None
    return stress

