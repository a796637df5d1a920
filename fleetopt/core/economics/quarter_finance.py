"""One quarter of financing (:func:`finance_step`): interest, repayment, tax, cash and the
revolver, array-generic (NumPy or CuPy, any batch shape), in the order the kernel computes
them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np

from fleetopt.core.arrays import reusing
from fleetopt.core.economics.debt import (
    FinanceState,
    Financing,
    TermDebtPaid,
    facility_sum,
    repaid_from,
    term_debt,
)
from fleetopt.core.economics.policy_balances import (
    DrawsMoved,
    ForgoneRepaid,
    base_cut_limit,
    cut_prepayment,
    kept_interest,
    less_forgone,
    repay_kept,
)
from fleetopt.core.economics.taxes import tax_on, taxable_income
from fleetopt.core.quarters import per_quarter


@dataclass
class QuarterFinance:
    """One quarter's financing lines (see :func:`finance_step`); derived lines are computed on request."""

    interest: Any
    principal: Any
    prepayment: Any
    draws: Any
    ebt: Any
    tax: Any
    taxable: Any  # (...,) taxable income before the floor at 0 (economics.taxes.taxable_income)
    revolver_draw: Any
    revolver: Any
    cash: Any
    term_debt: Any  # (...,) term-loan balances after the quarter
    prepayment_cut: Any = 0.0  # (...,) planned prepayment not paid for want of cash (the policy)
    repaid_at_maturity: Any = 0.0  # (...,) the part of ``principal`` that repays bullets at maturity

    @property
    def debt(self) -> Any:
        return self.term_debt + self.revolver

    @property
    def debt_service(self) -> Any:
        """Interest plus scheduled principal less bullets repaid at maturity: the DSCR's debt
        service, as credit agreements define it (a balloon is refinanced or paid from cash, not
        from a quarter's EBITDA). The cash paid is interest plus ``principal``."""
        return self.interest + self.principal - self.repaid_at_maturity

    def lines(self) -> dict[str, Any]:
        """Every line, by its statement name (USD)."""
        return {
            "interest_usd": self.interest,
            "principal_usd": self.principal,
            "prepayment_usd": self.prepayment,
            "draws_usd": self.draws,
            "tax_usd": self.tax,
            "net_income_usd": self.ebt - self.tax,
            "revolver_draw_usd": self.revolver_draw,
            "revolver_balance_usd": self.revolver,
            "cash_usd": self.cash,
            "debt_usd": self.debt,
            "debt_service_usd": self.debt_service,
        }


def finance_step(
    fin: Financing,
    state: FinanceState,
    t: int,
    ebitda: Any,
    depreciation: Any,
    gain: Any,
    investing: Any,
    draws: Any,
    prepay: Any,
    scheduled: Any,
    rate_shift: Any = 0.0,
    xp: Any = np,
    prepay_floor: Any = None,
    moved: DrawsMoved | None = None,
    spread_shift: Any = 0.0,
    repaid: ForgoneRepaid | None = None,
    base_room: Callable[[FinanceState], Any] | None = None,
) -> QuarterFinance:
    r"""One quarter of financing: interest, principal, tax, cash and the revolver. Updates ``state``.

    ``ebitda``, ``depreciation``, ``gain``, ``investing`` (capex less disposal proceeds) and
    ``rate_shift`` (change of the floating reference rate, annual) and ``spread_shift`` (change of
    the credit spread of new borrowing, annual) are (...,) for quarter ``t``; ``draws``, ``prepay``
    and ``scheduled`` are (..., F). Interest is charged on the balances at the end of the previous
    quarter; floating quarters follow ``rate_shift``, fixed ones do not, and a refinanced bullet's
    quarters after its maturity (floating too) also follow ``spread_shift``.
    Terms that do not depend on the scenario are combined first (the evaluator passes them with a
    smaller batch shape), so a quarter costs few passes over a (plans x scenarios) batch.

    ``prepay_floor`` ((...,), None: prepayments as planned) is the policy's prepayment rule: the
    quarter's planned prepayments are cut so that cash stays at the floor plus the revolver drawn
    (:func:`cut_prepayment`), but never below what the borrowing base needs: ``base_room`` (None: no
    borrowing base tested in ``t``) gives, from ``state`` before the cut, the GPUs' collateral value
    less the collateral required (USD), the least of this quarter's and the later quarters' projected
    ones; what is cut stays outstanding in ``state.kept``. ``moved``: draws the
    policy moved with a deferred order (:class:`DrawsMoved`). ``repaid``: the quarter's shares of
    :func:`repaid_shares` (:class:`ForgoneRepaid`), by which the balances the pair never drew
    (``state.forgone``, with ``moved.forgone``) are repaid: the pair pays that much less.

    The steps (docs/evaluation.md, quarter step 5; formulation §5.9-§5.10), each a function:
    interest (:func:`quarter_interest`), repayment of the plan's balances (:func:`repaid_from`),
    tax (:func:`_tax_step`), the term debt's cash flows (:func:`_term_debt_paid`), cash
    :math:`C_t = C_{t-1} + \mathrm{EBITDA}_t - X_t - \mathrm{Int}_t - O_t` with :math:`O_t` the
    investing and debt outflow (:meth:`TermDebtPaid.outflow`), the policy's prepayment cut
    (:func:`cut_prepayment`) and the revolver (:func:`_draw_or_repay_revolver`).
    """
    interest = quarter_interest(fin, state, t, rate_shift, spread_shift, moved, xp)
    principal, pay_early, state.balance = repaid_from(state.balance + draws, scheduled, prepay, xp)
    ebt, taxable, tax = _tax_step(fin, state, ebitda, interest, depreciation, gain, xp)
    paid = _term_debt_paid(fin, state, t, principal, pay_early, draws, scheduled, moved, repaid, xp)
    cash = state.cash + ebitda - tax - interest - paid.outflow(investing)
    cut = 0.0
    if prepay_floor is not None:
        state.kept = paid.kept  # the borrowing base before the cut: the kept balances after this quarter's
        # the base's limit, computed only where some pair's prepayments are cut (it reads later quarters)
        cut_limit = None if base_room is None else partial(
            base_cut_limit, fin, state, pay_early, paid, base_room, xp
        )
        cash, cut, paid.kept = cut_prepayment(state, cash, pay_early, paid.prepayment, prepay_floor,
                                               paid.kept, xp, paid.forgone_prepaid, cut_limit)  # fmt: skip
        paid.prepayment = paid.prepayment - cut
    state.kept = paid.kept
    rev_draw = _draw_or_repay_revolver(fin, state, cash, xp)
    return QuarterFinance(
        interest=interest,
        principal=paid.principal_total,
        prepayment=paid.prepayment,
        draws=paid.draws_total,
        ebt=ebt,
        tax=tax,
        taxable=taxable,
        revolver_draw=rev_draw,
        revolver=state.revolver,
        cash=state.cash,
        term_debt=term_debt(state, xp),
        prepayment_cut=cut,
        repaid_at_maturity=paid.repaid_at_maturity,
    )


def _tax_step(fin: Financing, state: FinanceState, ebitda: Any, interest: Any, depreciation: Any, gain: Any,
              xp: Any) -> tuple[Any, Any, Any]:  # fmt: skip
    r"""Pre-tax income, taxable income before the floor at 0, and tax (:func:`finance_step`;
    formulation §5.10); updates ``state.loss_pool``:

    .. math::
        \mathrm{EBT}_t = \mathrm{EBITDA}_t - \mathrm{Int}_t - (\mathrm{Dep}_t - \mathrm{Gain}_t), \qquad
        X_t = \tau_x \max(0, \mathrm{EBT}_t - U_{t-1}),

    :math:`U` the pool of unused losses (:func:`taxable_income`; none without loss carry-forward)."""
    ebt = ebitda - interest - (depreciation - gain)
    taxable, state.loss_pool = taxable_income(ebt, state.loss_pool, xp)
    return ebt, taxable, tax_on(taxable, fin.tax_rate, xp)


def _term_debt_paid(fin: Financing, state: FinanceState, t: int, principal: Any, pay_early: Any, draws: Any,
                    scheduled: Any, moved: DrawsMoved | None, repaid: ForgoneRepaid | None,
                    xp: Any) -> TermDebtPaid:  # fmt: skip
    """The term debt's cash flows of quarter ``t`` (:func:`finance_step`): the plan's ``principal``,
    ``pay_early`` (..., F) and ``draws`` (..., F), less what the balances the pair never drew would
    have repaid (:func:`less_forgone`), plus the scheduled principal on the balances kept by cut
    prepayments (:func:`repay_kept`; a bullet's kept balance is repaid at its maturity too) and the
    draws the policy moved (``moved``). Updates ``state.forgone`` and ``state.owed``."""
    matures = bool(fin.repaid_at_maturity[:, t].any())
    at_maturity = xp.asarray(fin.repaid_at_maturity[:, t]) if matures else None
    paid = TermDebtPaid(
        principal=principal.sum(axis=-1),
        prepayment=pay_early.sum(axis=-1),
        draws=draws.sum(axis=-1),
        repaid_at_maturity=(principal * at_maturity).sum(axis=-1) if matures else 0.0,
    )
    less_forgone(fin, state, t, paid, moved, repaid, xp)
    if state.kept is not None:
        paid.kept, paid.kept_paid, kept_principal = repay_kept(state.kept, scheduled, principal, xp)
        if matures:  # a bullet's balance kept by a cut prepayment is repaid at its maturity too
            kept_matured = facility_sum(kept_principal * at_maturity, xp)
            paid.repaid_at_maturity = paid.repaid_at_maturity + kept_matured
    if moved is not None:
        paid.moved_draws = moved.draws
    state.owed = None if moved is None else moved.owed
    return paid


def quarter_interest(
    fin: Financing,
    state: FinanceState,
    t: int,
    rate_shift: Any,
    spread_shift: Any,
    moved: DrawsMoved | None,
    xp: Any = np,
) -> Any:
    r"""Quarter ``t``'s interest on the balances at the end of the previous quarter (see
    :func:`finance_step`), the revolver's and the kept balances' included, less the interest the
    draws moved by a deferred order save (docs/evaluation.md, quarter step 5; formulation §5.9):

    .. math::
        \mathrm{Int}_t = \sum_f \big(r_{f,t} + \phi_{f,t}\,\Delta\rho_t/4 + \psi_{f,t}\,\Delta s_t/4\big)
        (D_{f,t-1} + K_{f,t-1} - X_{f,t-1}) + r^R R_{t-1} - \mathrm{saved}_t,

    :math:`\phi` 1 on floating quarters, :math:`\psi` 1 on a refinanced bullet's, :math:`\Delta\rho`
    ``rate_shift``, :math:`\Delta s` ``spread_shift``, :math:`K` the balances kept by cut prepayments,
    :math:`X` those never drawn, :math:`R` the revolver."""
    # forecast interest plus the floating facilities' share of the rate shift; balances may have a
    # smaller batch shape than cash (they do not depend on the scenario), so reduce them first
    forecast = (xp.asarray(fin.rate_quarterly[:, t]) * state.balance).sum(axis=-1)
    floating, refinanced = _shifted_balances(fin, state, t, xp)
    interest = forecast + per_quarter(rate_shift) * floating
    if refinanced is not None:  # refinanced bullets: the spread of new borrowing moves too
        interest = interest + per_quarter(spread_shift) * refinanced
    interest = interest + fin.revolver_rate_quarterly * state.revolver
    if state.kept is not None:  # the balances kept by cut prepayments bear their facility's rate
        interest = interest + kept_interest(fin, state.kept, t, rate_shift, xp, spread_shift)
    if moved is not None:
        interest = interest - moved.interest_saved
    if state.forgone is not None:  # the balances never drawn bear no interest
        interest = interest - kept_interest(fin, state.forgone, t, rate_shift, xp, spread_shift,
                                            state.forgone_facilities)  # fmt: skip
    return interest


def _shifted_balances(fin: Financing, state: FinanceState, t: int, xp: Any) -> tuple[Any, Any]:
    """The plan's own balances at the start of quarter ``t`` whose rate follows the scenario: on
    floating quarters, and on refinanced bullets' (None where no facility is refinanced then)."""
    floating = (xp.asarray(fin.floating[:, t]) * state.balance).sum(axis=-1)
    if not fin.refinanced[:, t].any():
        return floating, None
    return floating, (xp.asarray(fin.refinanced[:, t]) * state.balance).sum(axis=-1)


def shifted_interest(fin: Financing, state: FinanceState, t: int, rate_shift: Any, spread_shift: Any,
                     xp: Any = np) -> Any:
    """(...,) what the scenario's rate and spread changes add to quarter ``t``'s forecast interest
    on the plan's own balances (negative where they fall), as :func:`quarter_interest` charges it;
    known at the start of the quarter (policy rule 0's projection, docs/evaluation.md)."""
    floating, refinanced = _shifted_balances(fin, state, t, xp)
    added = per_quarter(rate_shift) * floating
    if refinanced is not None:
        added = added + per_quarter(spread_shift) * refinanced
    return added


def _draw_or_repay_revolver(fin: Financing, state: FinanceState, cash: Any, xp: Any) -> Any:
    r"""The revolver covers a shortfall below the minimum cash and is repaid from any excess; sets
    ``state.revolver`` and ``state.cash`` and returns the draw (negative: a repayment),

    .. math::
        \Delta R_t = \min\big(\max(C^{\min} - C_t, -R_{t-1}),\; Z^R - R_{t-1}\big),

    :math:`C_t` the cash before it, :math:`Z^R` the revolver's size (docs/evaluation.md, quarter step 5)."""
    # max then min rather than clip: the same numbers, and much faster on NumPy arrays; each result
    # written over a temporary made here (limit + -R is limit - R, bit for bit)
    repay_at_most = -state.revolver
    short = fin.min_cash - cash
    rev_draw = reusing(short, xp.maximum, short, repay_at_most)
    room = reusing(repay_at_most, xp.add, fin.revolver_limit, repay_at_most)
    rev_draw = reusing(rev_draw, xp.minimum, rev_draw, room)
    state.revolver = state.revolver + rev_draw
    state.cash = reusing(cash, xp.add, cash, rev_draw)  # cash: finance_step's own
    return rev_draw
