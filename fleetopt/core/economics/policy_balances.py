"""The balances the evaluator's policy changes (docs/evaluation.md, "Policy"): those kept
outstanding by cut prepayments, those never drawn because a deferred order was cancelled,
and the prepayment rule's cut itself; what each costs or saves a quarter, as
:func:`fleetopt.core.economics.quarter_finance.finance_step` and the policy's projections
read it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from fleetopt.core.arrays import plus, reusing
from fleetopt.core.economics.debt import (
    FinanceState,
    Financing,
    TermDebtPaid,
    collateral_required,
    facility_sum,
    repaid_from,
)
from fleetopt.core.quarters import per_quarter

# a projected or actual cash shortfall this small is round-off, not a reason for the policy to act
# (the prepayment rule here, the order and sale rules in evaluate/liquidity.py); so is a planned
# prepayment this small (a MILP's round-off, 1e-7 MUSD): the prepayment rule neither cuts nor counts it
LIQUIDITY_TOLERANCE_USD = 1.0


@dataclass(frozen=True)
class ForgoneRepaid:
    """A quarter's shares of :func:`repaid_shares` for the GPU-backed ``facilities`` a pair's
    balances never drawn are on (``FinanceState.forgone``), each (..., L)."""

    facilities: tuple[int, ...]
    principal_share: Any
    prepaid_share: Any


@dataclass
class DrawsMoved:
    """Planned draws the policy moved by one quarter with a deferred GPU order (docs/evaluation.md,
    "Policy"), each (...,) USD: drawn this quarter beyond the plan (deferred into it, less deferred
    out of it and less those of its cancelled share), the interest not charged this quarter on the
    draws deferred into it (the balance was lower by them in the previous quarter), and the draws
    deferred to the next quarter; ``forgone`` (..., L) (None: none): by GPU-backed facility
    (``ForgoneRepaid.facilities``), the draws deferred
    into this quarter never drawn because their order was cancelled (``FinanceState.forgone``)."""

    draws: Any
    interest_saved: Any
    owed: Any
    forgone: Any = None
    owed_forgone: Any = None  # (..., L) ``owed`` on the facilities of ``forgone``'s entries (None: none)


def less_forgone(fin: Financing, state: FinanceState, t: int, paid: TermDebtPaid, moved: DrawsMoved | None,
                  repaid: ForgoneRepaid | None, xp: Any) -> None:  # fmt: skip
    r"""The pair repays less by the balances it never drew (``state.forgone``, with ``moved.forgone``;
    docs/evaluation.md, policy rule 0, "A cancelled order's draws"): each forgone balance :math:`X_l`
    is repaid by the plan's shares of ``repaid``, :math:`X_l \leftarrow X_l - X_l\,\pi^S_l - X_l\,\pi^E_l`,
    and ``paid``'s principal (at a bullet's maturity, its repayment there too) and prepayment fall by
    those parts; what of :math:`X_l` then exceeds the plan's balance less the draws moved out of the
    quarter is repaid too, in the same shares (:func:`_forgone_over_balance`). Nothing where there
    is none."""
    forgone = state.forgone if moved is None or moved.forgone is None else plus(state.forgone, moved.forgone)
    if forgone is None:
        return
    state.forgone_facilities = repaid.facilities
    forgone_principal = forgone * repaid.principal_share
    paid.forgone_prepaid = forgone * repaid.prepaid_share
    state.forgone = (forgone - forgone_principal) - paid.forgone_prepaid
    over = _forgone_over_balance(state, moved, xp)
    if over is not None:  # repaid by the plan's repayment too, in its shares
        repaid_share = repaid.principal_share + repaid.prepaid_share
        divisor = xp.maximum(repaid_share, repaid_share <= 0)
        forgone_principal = forgone_principal + over * repaid.principal_share / divisor
        paid.forgone_prepaid = paid.forgone_prepaid + over * repaid.prepaid_share / divisor
        state.forgone = state.forgone - over
    paid.principal = paid.principal - facility_sum(forgone_principal, xp)
    for slot in np.flatnonzero(fin.repaid_at_maturity[list(repaid.facilities), t]):
        paid.repaid_at_maturity = paid.repaid_at_maturity - forgone_principal[..., slot]
    paid.prepayment = paid.prepayment - facility_sum(paid.forgone_prepaid, xp)


def _forgone_over_balance(state: FinanceState, moved: DrawsMoved | None, xp: Any) -> Any:
    """(..., L) what of the balances never drawn (``state.forgone``, repaid this quarter) exceeds the
    plan's balance at the quarter's end (``state.balance``) less the draws deferred out of it, floored
    at 0 (None: nowhere): the pair never owes less than nothing. Each draw moves at most as far as
    the plan owes at the end of its quarter (batch.py), which counts the part of the balance an
    earlier cancelled order's draws left undrawn; a plan prepaying the facility then leaves both
    above its balance (docs/evaluation.md, policy rule 0, "A cancelled order's draws")."""
    room = state.balance[..., list(state.forgone_facilities)]
    if moved is not None and moved.owed_forgone is not None:
        room = room - moved.owed_forgone
    over = state.forgone - xp.maximum(room, 0.0)
    if not bool((over > 0).any()):
        return None
    return xp.maximum(over, 0.0)


def repay_kept(kept: Any, scheduled: Any, principal: Any, xp: Any) -> tuple[Any, Any, Any]:
    """The kept balances after this quarter's repayment, that repayment summed over facilities (the
    scheduled instalments the plan's own balance no longer covers), and by facility."""
    kept_principal = xp.minimum(scheduled - principal, kept)
    return kept - kept_principal, facility_sum(kept_principal, xp), kept_principal


def kept_due(fin: Financing, state: FinanceState, t: int, draws: Any, scheduled: Any, rate_shift: Any,
             spread_shift: Any, xp: Any = np) -> Any:
    """(...,) what :func:`finance_step` will pay in quarter ``t`` on the balances kept by cut
    prepayments (``state.kept``, not None): their interest and the scheduled principal the plan's
    own balance no longer covers, both known at the start of the quarter (policy rule 0's
    projection, docs/evaluation.md). ``draws`` and ``scheduled`` (..., F) are the quarter's planned."""
    principal = xp.minimum(scheduled, state.balance + draws)
    _, paid, _ = repay_kept(state.kept, scheduled, principal, xp)
    return kept_interest(fin, state.kept, t, rate_shift, xp, spread_shift) + paid


def forgone_due(fin: Financing, state: FinanceState, t: int, repaid: ForgoneRepaid, rate_shift: Any,
                spread_shift: Any, xp: Any = np) -> Any:
    """(...,) what :func:`finance_step` will not pay in quarter ``t`` on the balances the pair never
    drew (``state.forgone``, not None): their interest and their share of the plan's principal and
    prepayments (``repaid``, as there), known at the start of the quarter (policy rule 0's projection)."""
    saved = kept_interest(fin, state.forgone, t, rate_shift, xp, spread_shift, repaid.facilities)
    return saved + facility_sum(state.forgone * (repaid.principal_share + repaid.prepaid_share), xp)


def _left_after(forgone: Any, repaid: ForgoneRepaid) -> Any:
    """(..., L) what of balances never drawn ``forgone`` the plan's shares ``repaid`` leave, as
    :func:`less_forgone` repays them."""
    return (forgone - forgone * repaid.principal_share) - forgone * repaid.prepaid_share


def _closing_share(share: Any, gap: Any, saving: Any, base: Any, per_share: Any, xp: Any) -> Any:
    """(...,) the least f with f x ``saving`` + sum over l of max(``base`` + f x ``per_share``, 0) =
    ``gap`` (each (..., L)), where ``share`` (gap / saving, at most 1) is positive: from ``share``
    down one linear piece at a time (the sum grows with f, so at most one piece per facility, and
    never above ``share``)."""
    for _ in range(base.shape[-1] + 1):
        gone = base + share[..., None] * per_share > 0  # the pieces above 0
        offset = facility_sum(xp.where(gone, base, 0.0), xp)
        slope = saving + facility_sum(xp.where(gone, per_share, 0.0), xp)
        closing = (gap - offset) / xp.where(slope > 0, slope, 1.0)
        closing = reusing(closing, xp.maximum, closing, 0.0)
        share = xp.where(share > 0, reusing(closing, xp.minimum, share, closing), share)
    return share


@dataclass
class ForgoneExcess:
    """What of the balances the pair never drew a quarter leaves above the plan's balance less the
    draws the order rule defers out of it: :func:`_forgone_over_balance` repays that excess, so the
    pair pays that much less (docs/evaluation.md, policy rule 0, "A cancelled order's draws"). Each
    (..., L): ``left``, the balances never drawn left after the quarter's shares ``repaid``;
    ``owed``, the plan's balance at the quarter's end; ``movable``, its draws a deferral moves."""

    left: Any
    owed: Any
    movable: Any
    repaid: ForgoneRepaid

    def _over(self, deferred: Any, xp: Any) -> Any:
        """(..., L) the balances left less the plan's, ``deferred`` (...,) of the order deferred."""
        return self.left - xp.maximum(self.owed - deferred[..., None] * self.movable, 0.0)

    def at(self, deferred: Any, xp: Any = np) -> Any:
        """(...,) USD the pair repays less with ``deferred`` (...,) of the quarter's order deferred."""
        return facility_sum(xp.maximum(self._over(deferred, xp), 0.0), xp)

    def deferred_share(self, share: Any, gap: Any, saving: Any, xp: Any = np) -> Any:
        """(...,) the share of the order deferred that closes ``gap`` (USD) with the excess, from
        ``share``, gap / ``saving`` (at most 1)."""
        return _closing_share(share, gap, saving, self.left - self.owed, self.movable, xp)

    def cancelled_share(self, cancel: Any, cover: Any, saved: Any, deferred: Any, draws: Any,
                        xp: Any = np) -> Any:  # fmt: skip
        """(...,) the share of the order due cancelled that closes ``cover`` (USD) with what its
        ``draws`` (..., L) never drawn add to the excess, from ``cancel``, cover / ``saved`` (at
        most 1); ``deferred`` (...,) of the quarter's order deferred."""
        over = self._over(deferred, xp)
        before = facility_sum(xp.maximum(over, 0.0), xp)
        return _closing_share(cancel, cover + before, saved, over, _left_after(draws, self.repaid), xp)


def forgone_excess(state: FinanceState, repaid: ForgoneRepaid, draws: Any, scheduled: Any, prepay: Any,
                   movable: Any, xp: Any = np) -> ForgoneExcess:  # fmt: skip
    """:class:`ForgoneExcess` of a quarter at its start, as :func:`less_forgone` will compute it:
    ``repaid`` its shares, ``draws``, ``scheduled`` and ``prepay`` (..., F) its planned, ``movable``
    (..., L) the draws the order rule may defer (``state.forgone`` None: none never drawn yet)."""
    left = xp.zeros(movable.shape) if state.forgone is None else _left_after(state.forgone, repaid)
    owed = repaid_from(state.balance + draws, scheduled, prepay, xp)[2][..., list(repaid.facilities)]
    return ForgoneExcess(left, owed, movable, repaid)


def kept_interest(
    fin: Financing, kept: Any, t: int, rate_shift: Any, xp: Any = np, spread_shift: Any = 0.0,
    facilities: tuple[int, ...] | None = None,
) -> Any:
    """Quarter ``t``'s interest on the balances ``kept`` (..., F) by cut prepayments (or never drawn,
    ``FinanceState.forgone``): each facility's
    forecast rate, plus ``rate_shift`` / 4 where it floats and ``spread_shift`` / 4 where it is a
    refinanced bullet's, summed over facilities in order (``facilities``: the facility of each
    entry of the last axis; None: every facility)."""
    total = 0.0
    for j in range(kept.shape[-1]):
        f = j if facilities is None else facilities[j]
        rate = fin.rate_quarterly[f, t] + per_quarter(rate_shift) * fin.floating[f, t]
        if fin.refinanced[f, t]:
            rate = rate + per_quarter(spread_shift)
        total = total + rate * kept[..., j]
    return total


def cut_prepayment(
    state: FinanceState, cash: Any, pay_early: Any, planned: Any, floor: Any, kept: Any, xp: Any,
    forgone_prepaid: Any = None, limit: Callable[[], Any] | None = None,
) -> tuple[Any, Any, Any]:  # fmt: skip
    """The policy's prepayment rule (docs/evaluation.md, "Policy"): where ``cash`` after the planned
    prepayments ``planned`` (..., their split by facility ``pay_early`` (..., F), less
    ``forgone_prepaid`` (..., L) on ``state.forgone_facilities``: the pair's) would end more than
    LIQUIDITY_TOLERANCE_USD below ``floor`` plus the revolver drawn, and they are more than that (less
    is a MILP's round-off), the prepayments are cut, every facility's
    by the same share, by that shortfall (at most all of them, and at most ``limit()`` (...,) USD where
    given: :func:`base_cut_limit`). Returns the cash, the USD cut and the balances kept ((..., F), or
    None while nothing has been cut)."""
    shortfall = (floor + state.revolver) - cash
    short = (shortfall > LIQUIDITY_TOLERANCE_USD) & (planned > LIQUIDITY_TOLERANCE_USD)
    if not bool(xp.any(short)):
        return cash, xp.zeros(cash.shape), kept
    cut = xp.minimum(xp.maximum(shortfall, 0.0), planned) * short
    if limit is not None:
        cut = xp.minimum(cut, limit())
    share = cut / xp.where(planned > 0, planned, 1.0)
    added = share[..., None] * pay_early
    if forgone_prepaid is not None:  # the pair does not prepay the balances it never drew
        added = xp.broadcast_to(added, (*share.shape, pay_early.shape[-1])).copy()
        for slot, f in enumerate(state.forgone_facilities):
            added[..., f] = added[..., f] - share * forgone_prepaid[..., slot]
    kept = added if kept is None else kept + added
    return cash + cut, cut, kept


def base_cut_limit(fin: Financing, state: FinanceState, pay_early: Any, paid: TermDebtPaid,
                    base_room: Callable[[FinanceState], Any], xp: Any) -> Any:  # fmt: skip
    """(...,) USD of the pair's planned prepayments (``paid.prepayment``) the prepayment rule may cut
    with the borrowing base still met at the quarter's end (docs/evaluation.md, policy rule 3): the
    share of them whose collateral, every facility cut by the same share, the base's room before the
    cut (``base_room(state)``, USD, none where negative: the least of this quarter's and the later
    quarters' as the rule projects them, financing._base_room) can take, none where that is
    LIQUIDITY_TOLERANCE_USD or less; all of them where they free no collateral. The kernel's
    fo_cut_prepayment computes it in the same order."""
    released = collateral_required(fin, pay_early, xp)  # the collateral the pair's prepayments free
    if paid.forgone_prepaid is not None:  # less the balances it never drew
        for slot, f in enumerate(state.forgone_facilities):
            released = released - fin.collateral_weight[f] * paid.forgone_prepaid[..., slot]
    frees = released > 0
    room = xp.maximum(base_room(state), 0.0)
    limit = paid.prepayment * (room / xp.where(frees, released, 1.0))
    # room for a dollar or less is rounding in a base used in full: no cut
    return xp.where(frees, xp.where(limit > LIQUIDITY_TOLERANCE_USD, limit, 0.0), paid.prepayment)
