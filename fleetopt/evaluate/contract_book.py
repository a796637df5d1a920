"""The contracts in the array simulation (quarter step 2, docs/evaluation.md): each contract's
status in every pair (:class:`ContractBook`: live, ended by its customer's default or cancelled,
its late quarters), the revenue and GPUs it delivers with the power it has, late delivery and its
penalties, the GPUs of a contract that ended offered on the market (:class:`FreedCapacity`), and
the customers' payments besides revenue."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from fleetopt.core.arrays import plus, plus_over
from fleetopt.core.data import ContractPayments
from fleetopt.evaluate.layout import REL, Shortfall, fully_powered, over_sites_at
from fleetopt.evaluate.pairs import Pairs
from fleetopt.evaluate.result_fields import CONTRACT_REACTIONS
from fleetopt.evaluate.scenarios import ScenarioSet
from fleetopt.schema.policy import Policy


def contract_payments(payments: ContractPayments, pl, sc, status: Any, t: int) -> Any:
    """(P, S) USD the customers pay in quarter ``t`` besides revenue (None: nothing in any pair):
    for each contract taken, its ``live`` payment where the customer is live in ``t`` and its
    ``ended`` (termination) payment where the customer ended the contract in ``t`` and it had not
    been cancelled for late delivery (``status``: the contracts' status before quarter ``t``, (K, P,
    S)). Contracts in order, each term added only where it is not 0 (the kernel's order)."""
    total = None
    for k in np.flatnonzero(payments.live[:, t] != 0.0):
        total = plus_over(total, pl.accepted[k] * (sc.taken_row(k, t) * payments.live[k, t]), sc.xp)
    for k in np.flatnonzero(payments.ended[:, t] != 0.0):  # never in quarter 0 (after a term's first)
        # the share the customer gave up this quarter: all of it at a default, the part cut at a scale-back
        ended = sc.taken_row(k, t - 1) - sc.taken_row(k, t)
        total = plus_over(total, status[k] * (ended * payments.ended[k, t]), sc.xp)
    return total


def deferred_revenue_end(payments: ContractPayments, pl, sc, T: int) -> Any:
    """(P, S) USD of prepayments not yet earned after the last quarter, for the contracts taken whose
    customer is live in it (None: none); the terminal value deducts it with the debt."""
    total = None
    for k in np.flatnonzero(payments.deferred_end != 0.0):
        total = plus(total, pl.accepted[k] * (sc.taken_row(k, T - 1) * payments.deferred_end[k]))
    return total


class ContractBook:
    """Each contract's state in every pair: live (1.0) or ended (0.0: customer default or
    cancellation), with the policy's late quarters, and which reactions each pair has had.

    The status is updated lazily, in the quarters a plan serves the contract: customer defaults are
    permanent, so catching up on the quarters a contract was not looked at gives the same status."""

    def __init__(self, status: Any, late: Any, policy: Policy, first_default: np.ndarray, xp: Any):
        self.status, self.late, self.policy, self.xp = status, late, policy, xp
        # (K,) the first quarter in which some pair may have ended the contract (T: none yet)
        self.first_end = first_default.copy()
        shape = status.shape[1:]
        self.flags = {name: xp.zeros(shape, dtype=bool) for name in CONTRACT_REACTIONS if name != "freed"}
        self.freed_gpus = None  # GPU-quarters offered on the market after their contract ended

    @classmethod
    def opening(cls, pl, scen: ScenarioSet, shape: tuple[int, int], policy: Policy, xp: Any) -> ContractBook:
        status = xp.empty((pl.K, *shape))
        status[...] = pl.accepted
        late = xp.zeros((pl.K, *shape)) if policy.reschedule_late_contracts else None
        alive = np.asarray(scen.factors["contract_alive"])  # (S, K, T)
        kept = np.asarray(scen.factors["contract_kept_share"])  # (S, K, T), or (S, 0, T): no scale-back
        if kept.shape[1]:  # a contract cut frees GPUs too
            alive = alive & (kept == 1.0)
        every = alive.all(axis=0) if alive.shape[0] else np.ones(alive.shape[1:], dtype=bool)  # (K, T)
        T = every.shape[1]
        first_default = np.array([T if a.all() else int(np.argmin(a)) for a in every], dtype=np.int64)
        return cls(status, late, policy, first_default, xp)

    def may_have_ended(self, k: int, t: int) -> bool:
        """Whether contract ``k`` may have ended by quarter ``t`` in some pair (a customer default in
        some scenario, or a cancellation): before that, freeing its GPUs adds exactly nothing."""
        return t >= self.first_end[k]

    def cancelled_at(self, k: int, t: int) -> None:
        self.first_end[k] = min(self.first_end[k], t)

    def flag(self, name: str, happened: Any, pairs: Pairs | None = None) -> None:
        """Record that ``name`` happened (at ``pairs``; None: ``happened`` is (P, S))."""
        if pairs is None:
            self.flags[name] |= happened
        else:
            pairs.flag(self.flags[name], happened)

    def count_freed(self, freed: FreedCapacity) -> None:
        for gpus in freed.gpus:  # the quarter's own arrays, read by the market before: added to in place
            if gpus is not None:
                self.freed_gpus = plus_over(self.freed_gpus, gpus, self.xp)

    def reactions(self) -> dict[str, Any]:
        xp = self.xp
        out = {name: flags.astype(xp.float64) for name, flags in self.flags.items()}
        freed = xp.zeros(self.status.shape[1:]) if self.freed_gpus is None else self.freed_gpus > 0
        out["freed"] = freed.astype(xp.float64)
        return out


@dataclass
class FreedCapacity:
    """GPUs of contracts that ended early, offered on their use's market this quarter: H100-
    equivalent supply and GPUs by use, forecast-price revenue by (use, generation), each (P, S)
    (None: nothing). Each contract adds its GPUs at the pairs where it has ended (:meth:`add`)."""

    supply: list = field(default_factory=lambda: [None, None])
    gpus: list = field(default_factory=lambda: [None, None])
    revenue: dict = field(default_factory=dict)

    def add(self, kind: str, key: Any, pairs: Pairs, x: Any) -> None:
        """Add ``x`` at ``pairs`` to the ``kind`` ("supply", "gpus" or "revenue") of ``key`` (a
        use, or (use, generation)): the other pairs add exactly 0.0, which changes nothing."""
        if kind == "revenue":
            self.revenue[key] = pairs.added(self.revenue.get(key), x)
        else:
            table = getattr(self, kind)
            table[key] = pairs.added(table[key], x)


def contracts_quarter(consts, pl, sc, book: ContractBook, short: Shortfall | None, t: int, xp: Any,
                      parts: dict | None = None) -> tuple:  # fmt: skip
    """Revenue, GPUs delivered, penalties (None: none) and freed capacity of the contracts in
    quarter ``t``; updates the ``book`` (and ``parts["served"]``, each contract's GPUs delivered).

    A contract no plan serves or owes GPUs this quarter adds nothing and is skipped (adding 0.0
    changes no bits, so the skipping cannot make a pair's result depend on the other plans in its
    chunk). Status is 1.0 or 0.0: multiplying by it is exact and much cheaper than selecting.
    Every pair is first computed as delivered in full; the pairs where some site lacks power, and
    those of plans that serve the contract with fewer GPUs than it has (:func:`_short_pairs`), are
    then computed again on their own with their shares.
    """
    revenue = gpus = penalty = None
    shape = book.status.shape[1:]
    freed = FreedCapacity()
    status = book.status
    for k in pl.served_contracts[t]:
        used = pl.used["contract_gpus"][k, :, t]
        alive = sc.alive_row(k, t)
        owing = pl.owing.get((k, t))  # plans that serve it with fewer GPUs than it has
        power_short = short is not None and not fully_powered(short.contract, used)
        partly = power_short or owing is not None
        if partly:
            pairs, phi = _short_pairs(short if power_short else None, owing, len(used), shape, xp)
            before = pairs.take(status[k])
        status[k] *= alive
        served = pl.contract_total[k, t] * status[k]
        if partly:
            delivered = over_sites_at(pairs, pl.contract_gpus[k, :, t], phi, used)
            if t >= consts.contract_deadline[k]:
                paid = _late_contract(consts, pl, sc, book, k, t, pairs, before, delivered)
                penalty = pairs.added(penalty, paid)
            pairs.put(served, delivered * pairs.take(status[k]))
        if (kept := sc.kept_row(k, t)) is not None:  # a scale-back: the customer takes only this share
            served = served * kept
        revenue = plus_over(revenue, consts.contract_revenue_per_gpu[k] * served, xp)
        if parts is not None:
            parts["served"][int(k)] = served.copy()
        gpus = plus_over(gpus, served, xp)  # the first contract's served, added to in place
        if book.policy.freed_gpus_to_market and book.may_have_ended(k, t):
            _free(consts, pl, sc, book, k, short, t, freed, xp)
    return zero_if_none(revenue), zero_if_none(gpus), penalty, freed


def _short_pairs(short: Shortfall | None, owing: Any, sites: int, shape: tuple[int, int], xp: Any) -> tuple:
    """The pairs a contract is computed at on its own this quarter, and each site's contract share
    there (None: 1): the pairs short of power (``short``; None: none), and every pair of the plans
    ``owing`` it GPUs they do not serve ((P, 1) bool; None: none)."""
    if owing is None:
        return short.contract_pairs(shape, xp)
    mask = xp.broadcast_to(owing, shape)
    if short is not None:
        mask = mask | short.contract_mask(shape, xp)
    pairs = Pairs.where(mask, shape, xp)
    return pairs, [None] * sites if short is None else short.contract_shares_at(pairs)


def _late_contract(consts, pl, sc, book: ContractBook, k: int, t: int, pairs: Pairs, before: Any,
                   delivered: Any) -> Any:  # fmt: skip
    """At ``pairs`` short of power, or of plans serving the contract with fewer GPUs than it has
    (:func:`_short_pairs`), at or after contract ``k``'s deadline, with its status
    ``before`` this quarter and GPUs ``delivered``: late, or cancelled with its penalty
    (:func:`_late_delivery`), where its customer is still live; updates its status there. Returns
    the penalty paid there."""
    undelivered = delivered < pairs.take(pl.contract_required[k, t]) * (1.0 - REL) - REL
    # a customer that defaults this quarter ends the contract without penalty: not late, not cancelled
    live = before * pairs.take(sc.alive_row(k, t))
    paid, ended = _late_delivery(consts, book, k, t, pairs, live, undelivered)
    pairs.put(book.status[k], live * (1.0 - ended))
    return paid


def _late_delivery(consts, book: ContractBook, k: int, t: int, pairs: Pairs, live: Any,
                   undelivered: Any) -> tuple:  # fmt: skip
    """A contract delivered short at or after its deadline, ``live`` (1.0: neither ended before this
    quarter nor its customer defaulted in it) at ``pairs``: (penalty paid, 1.0 where it ends now).
    Open loop: it is cancelled with its cancellation penalty. Rescheduled: the quarter is late (it
    earns on the GPUs delivered and pays the delay penalty) until the late quarters exceed the
    allowance, which cancels it."""
    short_now = live * undelivered
    if book.late is None:
        book.flag("cancelled", short_now > 0, pairs)
        book.cancelled_at(k, t)
        return consts.contract_penalty[k] * short_now, short_now
    late_quarters = pairs.take(book.late[k]) + short_now
    pairs.put(book.late[k], late_quarters)
    cancelled = short_now * (late_quarters > consts.delay_allowance[k])
    late = short_now - cancelled
    book.flag("rescheduled", late > 0, pairs)
    ended = cancelled > 0
    book.flag("cancelled", ended, pairs)
    if ended.any():
        book.cancelled_at(k, t)
    paid = consts.contract_penalty[k] * cancelled + consts.delay_penalty[k] * late
    return paid, cancelled


def _free(consts, pl, sc, book: ContractBook, k: int, short: Shortfall | None, t: int, freed: FreedCapacity,
          xp: Any) -> None:  # fmt: skip
    """Offer the planned GPUs of contract ``k`` on its use's market at the pairs where it has
    ended, and the part its customer cut where it scaled the contract back (``sc.kept_row``), where
    the plan has some to offer (they keep the power the plan gave the contract: its powered share).
    The other pairs would add exactly 0.0 (status 1.0, or nothing planned)."""
    status = book.status[k]
    kept = sc.kept_row(k, t)
    # the share of its GPUs freed: all of an ended contract's, the part cut of one its customer scaled back
    freed_share = None if kept is None else 1.0 - status * kept
    ended = status == 0.0 if kept is None else freed_share > 0.0
    if not pl.every_plan_offers[k, t]:
        ended &= pl.freed_plans[k, t]
    pairs = Pairs.where(ended, status.shape, xp)
    if pairs.size == 0:
        return
    share = None if kept is None else pairs.take(freed_share)
    u = int(consts.contract_use[k])
    used = pl.used["contract_gpus"][k, :, t]
    powered = short is None or fully_powered(short.contract, used)
    phi = None if powered else [None if p is None else pairs.take(p) for p in short.contract]
    if powered:
        supply, gpus = pairs.take(pl.freed_supply_total[k, t]), pairs.take(pl.contract_total[k, t])
    else:
        supply = over_sites_at(pairs, pl.freed_supply[k, :, t], phi, pl.used["freed_supply"][k, :, t])
        gpus = over_sites_at(pairs, pl.contract_gpus[k, :, t], phi, used)
    freed.add("supply", u, pairs, _times(supply, share))
    freed.add("gpus", u, pairs, _times(gpus, share))
    for g in pl.freed_generations[k][t]:
        base = (
            pairs.take(pl.freed_revenue_total[k, g, t])
            if powered
            else over_sites_at(pairs, pl.freed_revenue[k, g, :, t], phi, pl.used["freed_revenue"][k, g, :, t])
        )
        freed.add("revenue", (u, g), pairs, _times(base, share))


def _times(x: Any, share: Any) -> Any:
    """``x`` times the share of a contract's GPUs freed (None: all of them, nothing multiplied)."""
    return x if share is None else x * share


def zero_if_none(total: Any) -> Any:
    """A sum over contracts, uses or groups, 0.0 where nothing was added (None)."""
    return 0.0 if total is None else total

