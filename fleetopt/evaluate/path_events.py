"""A scenario's quarters in words, for its path (:mod:`fleetopt.evaluate.path`): the policy's reactions
(:func:`reaction_words`: orders deferred or cancelled, GPUs sold in distress, the prepayment cut,
contracts late or cancelled for lateness) and the risk events (:func:`risk_events`: customers
defaulting and the contracts it ends, contracts cut, power late, deliveries slipped), each quarter a line.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from fleetopt.core.data import GENERATIONS, ModelData
from fleetopt.core.economics.policy_balances import LIQUIDITY_TOLERANCE_USD
from fleetopt.core.units import (
    counted,
    format_count,
    format_rate,
    format_usd,
    listed,
    whole_count,
)
from fleetopt.evaluate.planbatch import PlanBatch
from fleetopt.evaluate.simulate import late_capacity_steps


def reaction_words(data: ModelData, plan: PlanBatch, frame: pd.DataFrame, seen: list[dict],
                    alive: np.ndarray) -> list[str]:  # fmt: skip
    """Each quarter's reactions in words: orders deferred or cancelled, GPUs sold in distress, the
    prepayment cut, contracts late or cancelled for lateness (``alive``: (K, T) whether each
    contract's customer has not defaulted; a contract ended by its customer's default is a risk event)."""
    words = []
    for t, q in enumerate(seen):
        said = []
        for column, what in (("deferred_usd", "orders deferred"), ("forfeited_usd", "deposits forfeited "
                             "on cancelled orders"), ("distress_sold_usd", None),
                             ("prepayment_cut_usd", "prepayment cut"),
                             ("base_prepaid_usd", "borrowing base prepaid")):  # fmt: skip
            done = frame[column].iloc[t] if column in frame else 0.0  # rule 6's column: only where on
            if done >= LIQUIDITY_TOLERANCE_USD:  # below: round-off, nothing done
                what = what or f"GPUs sold in distress: {gpus_sold_words(q['distress_sold_gpus'])} for"
                said.append(f"{what} {format_usd(frame[column].iloc[t])}")
        said += _late_contract_words(data, plan, t, q, seen[t - 1] if t else None, alive[:, t])
        words.append("; ".join(said))
    return words


def gpus_sold_words(sold: list[float]) -> str:
    """'1,200 hopper and 310 blackwell': the GPUs of each generation a quarter's distress sale sold
    (whole GPUs: a sale capped at the GPUs left may sell a fraction of one; a generation sold less
    than half a GPU, round-off of GPUs left, is not named)."""
    said = [f"{whole_count(gpus)} {GENERATIONS[g]}" for g, gpus in enumerate(sold) if gpus >= 0.5]
    return listed(said) if said else "less than one GPU"


def _late_contract_words(data: ModelData, plan: PlanBatch, t: int, q: dict, before: dict | None,
                         alive: np.ndarray) -> list[str]:  # fmt: skip
    """Quarter ``t``'s contracts late (policy rule 2: the GPUs delivered of those due, the delay
    penalty) and cancelled for lateness (the GPUs due, the cancellation penalty), as simulate charges
    them; ``before``: the quarter before's (None in the first: the contracts the plan took, live, none
    late), ``alive``: (K,) each contract's customer still live (a contract its customer's default
    ends is neither)."""
    said = []
    live_before = plan.accepted[0] if before is None else before["live"]
    owed, total = plan.contract_owed[0, :, t], plan.contract_gpus[0, :, :, t].sum(axis=1)
    due = np.where(owed > 0, owed, total)  # what simulate's contract must get not to be short
    late = q["late"]  # late quarters so far: a quarter late adds one, if not cancelled in it
    if late is not None:
        more = (late > (0.0 if before is None else before["late"])) & (q["live"] > 0)
        for k in np.flatnonzero(more):
            c = data.contracts[k]
            delivered = whole_count(q["served"][k], "down")  # 99.7 of 100 is short: not "100 of 100"
            said.append(f"contract {c.name} late: {delivered} of {format_count(due[k], 'GPUs')} delivered"
                        + _penalty_words("delay", c.delay_penalty_usd))  # fmt: skip
    for k in np.flatnonzero((live_before > 0) & (q["live"] == 0) & alive):
        c = data.contracts[k]
        said.append(f"contract {c.name} cancelled for lateness: {format_count(due[k], 'GPUs')} due"
                    + _penalty_words("cancellation", c.penalty_usd))  # fmt: skip
    return said


def _penalty_words(what: str, usd: float) -> str:
    """', delay penalty $10.0k'; '' for a contract without one ('delay penalty $0' repeated for each
    late quarter of each such contract said nothing)."""
    return f", {what} penalty {format_usd(usd)}" if usd > 0 else ""


def risk_events(data: ModelData, plan: PlanBatch, scen, seen: list[dict]) -> list[str]:
    """Each quarter's risk events in words: customers defaulting (with the contracts it ends) or
    keeping part of a contract (``risk.contract_scale_back``), power blocks and increases of a site's
    contracted capacity late (in the quarter due), deliveries slipped."""
    T = data.T
    events: list[list[str]] = [[] for _ in range(T)]
    alive = np.asarray(scen.contract_alive[0])  # (K, T)
    for customer in dict.fromkeys(c.customer for c in data.contracts):
        rows = [k for k, c in enumerate(data.contracts) if c.customer == customer]
        down = ~alive[rows].all(axis=0)
        if down.any():
            t = int(np.argmax(down))
            live = plan.accepted[0] if t == 0 else seen[t - 1]["live"]
            events[t].append(f"customer {customer} defaults: " + _ended_words(data, rows, live, t)
                             + _price_fall_words(data, customer))  # fmt: skip
    _scale_back_events(data, plan, scen, seen, events)
    sites = [s.name for s in data.sites]
    for b in range(plan.build_mw.shape[1]):
        site, start, online, mw = (int(plan.build_site[0, b]), int(plan.build_start[0, b]),
                                   int(plan.build_online[0, b]), float(plan.build_mw[0, b]))  # fmt: skip
        delay = int(scen.delay[0, site, start]) if mw > 0 else 0
        if delay > 0 and online < T:
            events[online].append(f"{mw:g} MW at {sites[site]} online {counted(delay, 'quarter')} late")
    steps = late_capacity_steps(data)
    for i, t in zip(*np.nonzero(steps), strict=True):
        delay = int(scen.step_delay[0, i, t])
        if delay > 0:
            events[t].append(f"contracted capacity at {sites[i]} +{steps[i, t]:g} MW online "
                             f"{counted(delay, 'quarter')} late")  # fmt: skip
    slip = int(np.asarray(scen.delivery_slip)[0])
    if slip:
        events[0].append(f"deliveries slip {counted(slip, 'quarter')}")
    return ["; ".join(e) for e in events]


def _scale_back_events(data: ModelData, plan: PlanBatch, scen, seen: list[dict],
                       events: list[list[str]]) -> None:  # fmt: skip
    """Add to ``events`` each contract's cut (``risk.contract_scale_back``) in the quarter it comes, where
    the contract is running and its customer has not defaulted: the share kept, the GPUs cut, the
    termination payment on the part cut (docs/evaluation.md), and where the GPUs cut go."""
    kept = np.asarray(scen.contract_kept_share[0])  # (K, T); no rows without the field
    alive = np.asarray(scen.contract_alive[0])
    for k in range(kept.shape[0]):
        c = data.contracts[k]
        before = np.concatenate(([1.0], kept[k, :-1]))
        for t in np.flatnonzero((kept[k] < before) & alive[k]):
            live = plan.accepted[0] if t == 0 else seen[t - 1]["live"]
            if live[k] <= 0 or t > c.end:  # not taken, ended before (late) or its term over
                continue
            cut = before[t] - kept[k, t]
            paid = cut * data.contract_payments.ended[k, t]
            events[t].append(
                f"customer {c.customer} keeps {format_rate(kept[k, t])} of contract {c.name} "
                f"({format_count(cut * c.gpus, 'GPUs')} cut"
                + (f", termination payment {format_usd(paid)}" if paid > 0 else "")
                + f"), the GPUs cut {_freed_go(data)}"
            )  # fmt: skip


def _price_fall_words(data: ModelData, customer: str) -> str:
    """', and market prices 25% lower for good' where the customer's default lowers every market price
    (``risk.customer_default_price_impact``), 'market prices and GPU resale values' where these follow
    (``risk.resale_swing_share``): the path's factors show the fall, this its cause."""
    fall = data.risk.customer_default_price_impact.get(customer, 0.0)
    if not fall:
        return ""
    values = " and GPU resale values" if data.risk.resale_swing_share is not None else ""
    return f", and market prices{values} {format_rate(fall)} lower for good"


def _ended_words(data: ModelData, rows: list[int], live: np.ndarray, t: int) -> str:
    """What a customer's default in quarter ``t`` ends of its contracts ``rows`` still ``live`` (K,)
    at the end of the quarter before: each one's GPUs and termination payment (docs/evaluation.md,
    "Contract payments"), and whether its GPUs go to the market (policy rule freed_gpus_to_market)."""
    said = []
    for k in rows:
        c = data.contracts[k]
        if live[k] <= 0 or t > c.end:  # not taken, ended before (late) or its term over
            continue
        gpus = format_count(c.gpus, "GPUs")
        what = (f"contract {c.name} ends ({gpus}" if t >= c.start else
                f"contract {c.name} will not start ({gpus} from {data.quarter_labels[c.start]}")
        paid = data.contract_payments.ended[k, t]
        said.append(what + (f", termination payment {format_usd(paid)})" if paid > 0 else ")"))
    if not said:
        return "no contract of it in the plan is running"
    their = "its" if len(said) == 1 else "their"
    return listed(said) + f", {their} GPUs {_freed_go(data)}"


def _freed_go(data: ModelData) -> str:
    """Where a contract's freed GPUs go (policy rule freed_gpus_to_market): 'offered on the market' or
    'idle'."""
    return "offered on the market" if data.policy.freed_gpus_to_market else "idle"
