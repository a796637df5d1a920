"""Quarter step 5 of the array simulation (docs/evaluation.md): the quarter's financing
(:func:`~fleetopt.core.economics.quarter_finance.finance_step`) with the policy's changes: the GPUs
taken out, the orders and GPU-backed draws deferred (policy rule 0) and the prepayment rule within the
borrowing base's room (policy rule 3)."""

from __future__ import annotations

from typing import Any

import numpy as np

from fleetopt.core.arrays import less_product, reusing
from fleetopt.core.covenants import TOLERANCE_USD
from fleetopt.core.economics.debt import FinanceState, term_debt
from fleetopt.core.economics.policy_balances import DrawsMoved
from fleetopt.core.economics.quarter_finance import QuarterFinance, finance_step
from fleetopt.evaluate.covenant_tests import base_cure_order, borrowing_base, collateral_needed
from fleetopt.evaluate.liquidity import Adjustments, Liquidity, deferred_draws_interest


def quarter_financing(consts, state: FinanceState, pl, sc, t: int, ebitda: Any,
                      taken: Adjustments | None, liquidity: Liquidity, paid: Any,
                      xp: Any, parts: dict | None = None) -> QuarterFinance:  # fmt: skip
    """Quarter ``t``'s financing (:func:`finance_step`), disposals at the scenario's resale value,
    with the policy's changes (``taken``: GPUs taken out, deferred payments; the prepayment rule
    within the borrowing base's room, :func:`_base_room`). ``paid``: the customers' payments besides
    revenue (:func:`~fleetopt.evaluate.contract_book.contract_payments`; None: none), cash that is
    not income: it enters with the investing flows, as their negative. ``parts`` (a watched path's):
    given the capex paid and those two cash flows, ``disposal_proceeds`` and ``contract_payments``,
    which no statement line shows, and the ``depreciation`` and ``gain`` (disposals', and the quarter
    before's distress sales') the tax reads."""
    fin = consts.financing
    proceeds, book, capex, depreciation = pl.proceeds[t], pl.book[t], pl.capex[t], pl.depreciation[t]
    any_proceeds = pl.any_proceeds[t]
    if taken is not None:
        for g, share in enumerate(taken.held):
            if share is not None and pl.gen_any["gen_depreciation"][g, t]:
                depreciation = less_product(depreciation, share, pl.gen_depreciation[g, t], xp)
        for g in np.flatnonzero(pl.gen_retires[:, t]):  # the plan disposes of GPUs of g: some may be gone
            cut = liquidity.planned_sales_cut(g, t)
            if cut is not None:
                proceeds = less_product(proceeds, cut, pl.gen_retired_proceeds[g, t], xp)
                book = less_product(book, cut, pl.gen_retired_book[g, t], xp)
        if taken.capex is not None:
            capex = capex + taken.capex
    if any_proceeds:
        cash_proceeds = proceeds * sc.resale_factor[t]
        gain, investing = cash_proceeds - book, capex - cash_proceeds
    else:  # nothing sold this quarter in any plan: no scenario resale value to apply
        gain, investing = -book, capex
    if taken is not None:
        sale_gain = liquidity.gain()
        if sale_gain is not None:  # last quarter's distress sales, taxed now
            gain = reusing(gain, xp.add, gain, sale_gain)  # a difference made above
    if paid is not None:
        investing = investing - paid
    if parts is not None:
        parts["capex"] = capex
        parts["disposal_proceeds"] = cash_proceeds if any_proceeds else 0.0
        parts["contract_payments"] = 0.0 if paid is None else paid
        parts["depreciation"], parts["gain"] = depreciation, gain  # the tax's deductions and gains
    floor = liquidity.prepayment_floor(t)
    moved = None if taken is None else _moved_draws(pl, sc, t, taken)
    step = finance_step(
        fin, state, t, ebitda, depreciation, gain, investing, pl.draws[t], pl.prepay[t],
        pl.scheduled[t], sc.rate_shift[t], xp, floor, moved, sc.spread_shift[t], pl.repaid[t],
        None if floor is None else _base_room(consts, pl, sc, taken, t, xp),
    )  # fmt: skip
    if floor is not None:
        liquidity.count_cut(step.prepayment_cut)
    return step


def prepay_borrowing_base(consts, state: FinanceState, pl, sc, t: int, taken: Adjustments | None,
                          liquidity: Liquidity, step: QuarterFinance, xp: Any) -> dict | None:  # fmt: skip
    """Policy rule 6 at the end of quarter ``t``'s financing (:func:`_prepay_base_deficiency`,
    counted in ``liquidity``), and the borrowing base after it, which the quarter's covenants test
    (None: not tested in ``t``): built once, its collateral needed again only where a pair prepaid."""
    base = borrowing_base(consts, pl, sc, state, taken, t, xp)
    if base is None:
        return None
    paid = _prepay_base_deficiency(consts.financing, state, pl, t, taken, base, step, xp)
    liquidity.count_base_prepaid(paid)
    if bool((paid > 0).any()):  # the balances it repaid need less collateral; nothing else moved
        base["collateral_required"] = collateral_needed(consts.financing, pl, state, taken, t, xp)
    return base


def _moved_draws(pl, sc, t: int, taken: Adjustments) -> DrawsMoved | None:
    """The GPU-backed draws the order rule moved into and out of quarter ``t`` (None: none)."""
    if taken.draws_in is None and taken.draws_out is None:
        return None
    draws = saved = owed = 0.0
    forgone = None
    if taken.draws_in is not None:
        drawn = taken.draws_in
        if taken.draws_cancelled is not None:  # a cancelled order's draws are never drawn
            drawn = drawn - taken.draws_cancelled
            forgone = taken.draws_cancelled[..., None] * pl.ltv_facility_draws[t - 1]
        draws = drawn * pl.ltv_draws[t - 1]
        saved = deferred_draws_interest(pl, t, taken.draws_in, sc.rate_shift[t])
    owed_forgone = None
    if taken.draws_out is not None:
        owed = taken.draws_out * pl.ltv_draws[t]
        draws = draws - owed
        owed_forgone = taken.draws_out[..., None] * pl.ltv_facility_draws[t]
    return DrawsMoved(draws, saved, owed, forgone, owed_forgone)


def _base_room(consts, pl, sc, taken: Adjustments | None, t: int, xp: Any):
    """The borrowing base's room for the prepayment rule in quarter ``t``, a function of the finance
    state: the GPUs' collateral value less the collateral required, USD (P, S), as the base's test
    computes it (:func:`~fleetopt.evaluate.covenant_tests.borrowing_base`), lowered to the least of
    the later quarters' as projected (:func:`_later_base_change`): a balance kept stays owed; None
    where the base is not tested in ``t`` (the prepayment rule may then cut it all)."""

    def room(state: FinanceState) -> Any:
        base = borrowing_base(consts, pl, sc, state, taken, t, xp)
        return (base["collateral"] - base["collateral_required"]) + _later_base_change(pl, sc, t, xp)

    tested = any(test.kind.facility_test and test.tested[t] for test in consts.covenants)
    return room if tested else None


def _later_base_change(pl, sc, t: int, xp: Any) -> Any:
    """(P, S) USD, at most 0: the least change from quarter ``t`` to a later quarter u of the plan's
    own room in the borrowing base, its GPUs' value at the scenario's resale factor of ``t`` less the
    collateral its balances need: f_t (C_u - C_t) - (N_u - N_t) (docs/evaluation.md, policy rule 3).
    The kernel's fo_later_base_change computes it in the same order."""
    least = 0.0
    for u in range(t + 1, len(pl.collateral)):
        change = sc.resale_factor[t] * (pl.collateral[u] - pl.collateral[t])
        least = xp.minimum(least, change - (pl.collateral_required[u] - pl.collateral_required[t]))
    return least



def _prepay_base_deficiency(fin, state: FinanceState, pl, t: int, taken: Adjustments | None, base: dict,
                            step: QuarterFinance, xp: Any) -> Any:  # fmt: skip
    """Policy rule 6 (docs/evaluation.md): where the GPU-secured balances at the end of quarter ``t``
    need more collateral than the GPUs' value (``base``, :func:`borrowing_base`'s) by more than the
    base's tolerance, the least principal that brings the need back to the value is prepaid, facility
    by facility in :func:`base_cure_order`, each at most what the pair owes it, paid from cash above
    the minimum plus the plan's buffer, then from the undrawn revolver; what they cannot pay is left
    (a breach). The prepaid principal leaves the pair's balances (``state.balance``, those kept by cut
    prepayments first): it bears no interest, and the schedule's last instalments find nothing owed.
    Updates ``state`` and ``step``; returns the (P, S) USD prepaid."""
    short = base["collateral_required"] - base["collateral"]
    short = xp.where(short > TOLERANCE_USD, short, 0.0)
    from_cash = xp.maximum(state.cash - (fin.min_cash + pl.liquidity_buffer), 0.0)
    funds = from_cash + xp.maximum(fin.revolver_limit - state.revolver, 0.0)
    paid = xp.zeros(short.shape)
    balance = state.balance
    for f in base_cure_order(fin.collateral_weight):
        needed = short * (1.0 / fin.collateral_weight[f])  # the principal that frees it: x max_ltv
        repaid = xp.minimum(xp.minimum(_owed(state, pl, t, taken, f, xp), needed), funds)
        if not bool((repaid > 0).any()):
            continue
        short, funds, paid = short - fin.collateral_weight[f] * repaid, funds - repaid, paid + repaid
        if balance is state.balance:  # the plan's balances, shared by its scenarios: the pair's own now
            balance = xp.broadcast_to(state.balance, (*short.shape, state.balance.shape[-1])).copy()
        left = repaid
        if state.kept is not None:  # the balance kept by a cut prepayment, the last instalments', first
            from_kept = xp.minimum(xp.maximum(state.kept[..., f], 0.0), repaid)
            state.kept[..., f] = state.kept[..., f] - from_kept
            left = repaid - from_kept
        balance[..., f] = balance[..., f] - left
    state.balance = balance
    cash_paid = xp.minimum(paid, from_cash)
    drawn = paid - cash_paid
    state.cash = state.cash - cash_paid
    state.revolver = state.revolver + drawn
    step.prepayment, step.revolver_draw = step.prepayment + paid, step.revolver_draw + drawn
    step.cash, step.revolver, step.term_debt = state.cash, state.revolver, term_debt(state, xp)
    return paid


def _owed(state: FinanceState, pl, t: int, taken: Adjustments | None, f: int, xp: Any) -> Any:
    """(P, S) USD the pair owes facility ``f`` at the end of quarter ``t``, as the borrowing base
    counts it: the plan's balance, plus what a cut prepayment kept, less what it never drew and the
    draws deferred to the next quarter, not below 0."""
    owed = state.balance[..., f] + (0.0 if state.kept is None else state.kept[..., f])
    if state.forgone is not None and f in state.forgone_facilities:
        owed = owed - state.forgone[..., state.forgone_facilities.index(f)]
    deferrable = pl.repaid[t].facilities  # the slots of the draws the order rule defers
    if taken is not None and taken.draws_out is not None and f in deferrable:
        owed = owed - taken.draws_out * pl.ltv_facility_draws[t][..., deferrable.index(f)]
    return xp.maximum(owed, 0.0)
