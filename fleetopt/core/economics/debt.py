"""The debt a plan carries: its terms as arrays (:class:`Financing`), the cash and balances carried
from quarter to quarter (:class:`FinanceState`), the principal schedules, the repayment of the
plan's balances and the collateral they need.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np

from fleetopt.core.data import FacilityData, ModelData
from fleetopt.core.quarters import per_quarter


def principal_schedule(facility: FacilityData, T: int) -> tuple[np.ndarray, np.ndarray]:
    """Scheduled principal: (T,) on the opening balance, and (T, T) share of a draw in tau repaid in t.

    Amortizing: equal instalments over ``amortization_quarters`` from the quarter after the draw
    (the opening balance from quarter 0). Bullet: everything in the maturity quarter (nothing when
    it lies after the horizon, or when the bullet is refinanced at maturity)."""
    if facility.maturity is not None:
        opening, draws = np.zeros(T), np.zeros((T, T))
        if facility.maturity < T and not facility.refinanced:
            opening[facility.maturity] = facility.opening_usd
            draws[: facility.maturity, facility.maturity] = 1.0
        return opening, draws
    n = facility.amortization_quarters
    opening = np.where(np.arange(T) < n, facility.opening_usd / n, 0.0)
    draws = np.zeros((T, T))
    for tau in range(T):
        draws[tau, tau + 1 : min(T, tau + 1 + n)] = 1.0 / n
    return opening, draws


@dataclass(frozen=True)
class Financing:
    """Debt terms the roll-forward needs, as arrays (F facilities)."""

    opening_balance: np.ndarray  # (F,)
    rate_quarterly: np.ndarray  # (F, T) forecast rate per quarter
    floating: np.ndarray  # (F, T) 1.0 where the rate of quarter t follows the reference rate
    # (F, T) 1.0 where the rate of quarter t is a refinanced bullet's: it also follows the spread shift
    refinanced: np.ndarray
    opening_principal: np.ndarray  # (F, T) scheduled principal on opening balances
    draw_principal: np.ndarray  # (F, T, T) share of a draw in tau repaid in t
    # (F, T) True in the maturity quarter of a bullet repaid in the horizon: that repayment is not in
    # the DSCR's debt service (QuarterFinance.debt_service), as lenders define it
    repaid_at_maturity: np.ndarray
    collateral_weight: np.ndarray  # (F,) collateral per USD of balance (FacilityData.collateral_weight)
    opening_cash: float
    min_cash: float
    default_cash: float  # the evaluator's liquidity default and distress-sale floor (<= min_cash)
    tax_rate: float
    revolver_limit: float
    revolver_rate_quarterly: float
    loss_carry_forward: bool = False  # tax on profit less the losses not yet used
    opening_loss_pool: float = 0.0  # USD of tax losses carried into the horizon

    @classmethod
    def from_data(cls, data: ModelData, with_revolver: bool = True) -> Financing:
        T, F = data.T, len(data.facilities)
        opening = np.zeros((F, T))
        draws = np.zeros((F, T, T))
        for f, fac in enumerate(data.facilities):
            opening[f], draws[f] = principal_schedule(fac, T)
        return cls(
            opening_balance=np.array([f.opening_usd for f in data.facilities]),
            rate_quarterly=np.array([f.rate_quarterly for f in data.facilities]).reshape(F, T),
            floating=np.array([f.floating_quarterly for f in data.facilities]).reshape(F, T),
            refinanced=np.array([f.refinanced_quarterly for f in data.facilities]).reshape(F, T),
            opening_principal=opening,
            draw_principal=draws,
            repaid_at_maturity=bullet_maturities(data.facilities, T),
            collateral_weight=np.array([f.collateral_weight for f in data.facilities]),
            opening_cash=data.opening_cash,
            min_cash=data.min_cash,
            default_cash=data.default_cash,
            tax_rate=data.tax_rate,
            revolver_limit=data.revolver_usd if with_revolver else 0.0,
            revolver_rate_quarterly=per_quarter(data.revolver_rate_annual),
            loss_carry_forward=data.tax_loss_carry_forward,
            opening_loss_pool=data.opening_tax_losses,
        )


def bullet_maturities(facilities, T: int) -> np.ndarray:
    """(F, T) True in the maturity quarter of each bullet repaid in the horizon (not refinanced)."""
    mask = np.zeros((len(facilities), T), dtype=bool)
    for f, fac in enumerate(facilities):
        if fac.maturity is not None and fac.maturity < T and not fac.refinanced:
            mask[f, fac.maturity] = True
    return mask


@dataclass
class FinanceState:
    """Cash and debt carried from one quarter to the next, for any batch shape."""

    cash: Any  # (...,) USD
    balance: Any  # (..., F) USD outstanding per facility
    revolver: Any  # (...,) USD drawn on the revolver
    loss_pool: Any = None  # (...,) USD of tax losses not yet used (with loss carry-forward)
    # (..., F) USD per facility kept outstanding because the policy cut a planned prepayment (None:
    # none yet): it is on top of ``balance`` and is repaid only by the plan's scheduled principal
    kept: Any = None
    owed: Any = None  # (...,) USD of planned draws deferred to the next quarter (None: none)
    # (..., L) USD per GPU-backed facility (``ForgoneRepaid.facilities``) never drawn because the
    # policy cancelled a deferred order those draws funded (None: none yet): ``balance`` less it is
    # the pair's; repaid pro rata with it
    forgone: Any = None
    forgone_facilities: tuple[int, ...] = ()  # the facility of each entry of ``forgone``

    @classmethod
    def opening(
        cls, fin: Financing, batch: tuple, xp: Any = np, balance_batch: tuple | None = None
    ) -> FinanceState:
        """Opening state. ``balance_batch`` may be smaller than ``batch`` (e.g. (P, 1) for (P, S)):
        term-loan balances follow the plan's draws and schedule only, never the scenario."""
        F = fin.opening_balance.shape[0]
        return cls(
            cash=xp.full(batch, fin.opening_cash, dtype=xp.float64),
            balance=xp.broadcast_to(xp.asarray(fin.opening_balance), (*(balance_batch or batch), F)).copy(),
            revolver=xp.zeros(batch, dtype=xp.float64),
            loss_pool=(xp.full(batch, fin.opening_loss_pool, dtype=xp.float64) if fin.loss_carry_forward
                       else None),
        )


class Repayments(NamedTuple):
    """What plans repay and owe each facility, each (P, F, T) (:func:`repaid_shares`)."""

    principal_share: np.ndarray
    prepaid_share: np.ndarray
    owed: np.ndarray  # what the plans owe at the end of each quarter, finance_step's balances


def repaid_shares(fin: Financing, draws: np.ndarray, prepay: np.ndarray, scheduled: np.ndarray) -> Repayments:
    """The share of each facility's balance at the start of quarter t plus t's draws that the plans
    (``draws``, ``prepay``, ``scheduled`` (P, F, T)) repay in t by scheduled principal (at a bullet's
    maturity, all of it), and by prepayment, as :func:`finance_step` repays them (0 where nothing is
    owed): the shares a pair's forgone balance is repaid by (``FinanceState.forgone``); and the
    balances left, what the plans owe at the end of t (``Repayments.owed``)."""
    balance = np.broadcast_to(fin.opening_balance, draws.shape[:-1]).copy()
    principal_share, prepaid_share, owed = np.zeros(draws.shape), np.zeros(draws.shape), np.zeros(draws.shape)
    for t in range(draws.shape[-1]):
        available = balance + draws[..., t]
        principal, pay_early, balance = repaid_from(available, scheduled[..., t], prepay[..., t])
        is_owed = available > 0
        divisor = np.where(is_owed, available, 1.0)
        principal_share[..., t] = np.where(is_owed, principal / divisor, 0.0)
        prepaid_share[..., t] = np.where(is_owed, pay_early / divisor, 0.0)
        owed[..., t] = balance
    return Repayments(principal_share, prepaid_share, owed)


def scheduled_principal(fin: Financing, draws: Any, xp: Any = np) -> Any:
    """(..., F, T) scheduled principal: the opening balances' schedule plus each draw's instalments."""
    return xp.asarray(fin.opening_principal) + xp.einsum(
        "...fs,fst->...ft", draws, xp.asarray(fin.draw_principal)
    )


def repaid_from(available: Any, scheduled: Any, prepay: Any, xp: Any = np) -> tuple[Any, Any, Any]:
    r"""Repayment of the plan's balances (:func:`finance_step`; formulation §5.9), each (..., F): the
    scheduled principal and the prepayment paid out of ``available`` (the balance at the start of the
    quarter plus its draws), and the balance left,

    .. math::
        P_f = \min(S_f, A_f), \qquad E_f = \min(p_f, A_f - P_f), \qquad D_f = A_f - P_f - E_f,

    with :math:`S_f` ``scheduled`` and :math:`p_f` ``prepay`` as planned: neither repays more than is owed."""
    principal = xp.minimum(scheduled, available)
    pay_early = xp.minimum(prepay, available - principal)
    return principal, pay_early, available - principal - pay_early


@dataclass
class TermDebtPaid:
    """A quarter's term-debt cash flows summed over facilities, (...,) USD each (:func:`_term_debt_paid`),
    in the pieces the cash adds up in order, so that NumPy's cash is the kernel's bit for bit."""

    principal: Any  # the plan's scheduled principal, less the forgone balances' share
    prepayment: Any  # the plan's prepayments, less the forgone balances' share (then less the cut)
    draws: Any  # the plan's draws
    repaid_at_maturity: Any  # the part of the principal (kept balances' included) repaying bullets
    kept: Any = None  # (..., F) balances kept by cut prepayments, after this quarter's repayment
    kept_paid: Any = None  # scheduled principal paid on the kept balances (None: none kept)
    moved_draws: Any = None  # draws moved by a deferred order (None: none moved)
    forgone_prepaid: Any = None  # (..., L) the forgone balances' share of the prepayments (None: none)

    @property
    def principal_total(self) -> Any:
        return self.principal if self.kept_paid is None else self.principal + self.kept_paid

    @property
    def draws_total(self) -> Any:
        return self.draws if self.moved_draws is None else self.draws + self.moved_draws

    def outflow(self, investing: Any) -> Any:
        r"""Cash paid out besides operations, interest and tax: ``investing`` net of the debt flows,
        :math:`O_t = I_t + \sum_f (S_{f,t} + p_{f,t} - d_{f,t})` (formulation §5.10's cash row)."""
        out = investing + (self.principal + self.prepayment - self.draws)
        if self.kept_paid is not None:
            out = out + self.kept_paid
        if self.moved_draws is not None:
            out = out - self.moved_draws
        return out


def collateral_required(fin: Financing, balance: Any, xp: Any = np) -> Any:
    """(...,) USD of GPU collateral the GPU-secured ``balance`` (..., F) needs at its facilities'
    ``max_ltv``: the left side of the borrowing base (docs/formulation.md §5.9)."""
    return (xp.asarray(fin.collateral_weight) * balance).sum(axis=-1)


def term_debt(state: FinanceState, xp: Any = np) -> Any:
    """(...,) term debt outstanding: the plan's balances plus those kept by cut prepayments, less
    those the pair never drew (cancelled orders' draws) and the draws deferred to the next quarter."""
    debt = state.balance.sum(axis=-1)
    if state.kept is not None:
        debt = debt + facility_sum(state.kept, xp)
    if state.forgone is not None:
        debt = debt - facility_sum(state.forgone, xp)
    return debt if state.owed is None else debt - state.owed


def facility_sum(x: Any, xp: Any) -> Any:
    """Sum over the last (facility) axis in facility order (the kernel's order)."""
    total = 0.0
    for f in range(x.shape[-1]):
        total = total + x[..., f]
    return total
