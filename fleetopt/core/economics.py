"""The economics of a fleet plan, written once.

Two layers, shared by the MILP (:mod:`fleetopt.milp`) and the scenario evaluator:

* **unit coefficients**: revenue per GPU-quarter, MW per GPU, electricity cost per
  MW-quarter, power-capex and principal schedules. The MILP uses them as constraint
  coefficients; :func:`operating_lines` uses them to price a solved plan.
* **the roll-forward** (:func:`roll_forward`): interest, principal, taxes, revolver,
  cash and debt quarter by quarter, array-generic (NumPy or CuPy, any batch shape),
  and the NPV of equity cash flows (:func:`npv_parts`).

Conventions (see docs/formulation.md): cash flows happen during quarter ``t`` and
are discounted from its end; interest in ``t`` is charged on the balance at the
end of ``t - 1``; a draw in ``t`` is repaid in equal instalments from ``t + 1``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any, NamedTuple

import numpy as np

from fleetopt.core.arrays import plus, reusing
from fleetopt.core.covenants import statement_quantities
from fleetopt.core.data import FacilityData, ModelData
from fleetopt.core.plan import Plan
from fleetopt.core.quarters import horizon_years, per_quarter, span_label
from fleetopt.core.units import counted, format_percent, format_rate, format_usd

# a projected or actual cash shortfall this small is round-off, not a reason for the policy to act
# (the prepayment rule here, the order and sale rules in evaluate/liquidity.py); so is a planned
# prepayment this small (a MILP's round-off, 1e-7 MUSD): the prepayment rule neither cuts nor counts it
LIQUIDITY_TOLERANCE_USD = 1.0

# ---------------------------------------------------------------- unit coefficients


def mw_per_gpu(data: ModelData) -> np.ndarray:
    """(S, I) facility MW drawn by one GPU in service: kW x PUE / 1000."""
    pue = np.array([s.pue for s in data.sites])
    return data.kw_per_gpu[:, None] * pue[None, :] / 1000.0


def market_revenue_per_gpu(data: ModelData) -> np.ndarray:
    """(2, S, T) USD earned by one GPU rented on the market for a quarter."""
    return data.market_price * data.hours * data.billed_utilization


def contract_revenue_per_gpu(data: ModelData) -> np.ndarray:
    """(K,) USD earned by one contracted GPU in a quarter (contracts bill every hour)."""
    return np.array([k.price_usd_per_gpu_hour * data.hours for k in data.contracts])


def electricity_cost_per_mw(data: ModelData) -> np.ndarray:
    """(I, T) USD for drawing one MW for a whole quarter."""
    return np.array([s.electricity_usd_per_mwh for s in data.sites]) * data.hours


def site_fixed_cost_per_mw(data: ModelData) -> np.ndarray:
    """(I,) USD each site costs a quarter per MW online, drawn or not (``fixed_cost_per_mw_quarter_usd``):
    the statements' ``site_fixed_usd``, the MILP's objective and the evaluator's saving on late power."""
    return np.array([s.fixed_cost_per_mw_quarter_usd for s in data.sites], dtype=np.float64)


def drawn_mw(data: ModelData, held: np.ndarray, in_service: np.ndarray) -> np.ndarray:
    """(..., I, T) facility MW drawn: GPUs in service at full power, the rest of those held at idle
    power. ``held`` and ``in_service`` are (..., S, I, T) GPU counts."""
    idle = data.idle_fraction[:, None, None]
    per_gpu = mw_per_gpu(data)[:, :, None]
    return (per_gpu * (idle * held + (1.0 - idle) * in_service)).sum(axis=-3)


def _over_starts(blocks: np.ndarray, schedule: np.ndarray) -> np.ndarray:
    """(..., T) schedule of the blocks started: ``blocks`` (..., T) by start quarter times the (T, T)
    schedule of one block, summed over start quarters. Elementwise products summed in order, not a
    matrix product, so that a plan's figures do not depend on how many plans are computed with it."""
    return (blocks[..., :, None] * schedule).sum(axis=-2)


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


# ---------------------------------------------------------------- operating lines of a plan


def operating_lines(data: ModelData, plan: Plan) -> dict[str, np.ndarray]:
    """Quarterly revenue, costs, EBITDA, depreciation, investing flows of a plan, USD, each (T,).

    ``plan`` may hold a stack of plans (every decision array with a leading plan axis, see
    :meth:`Plan.stack`): each line is then (P, T), and every plan's figures are the ones it has
    alone, bit for bit (no reduction mixes plans)."""
    lead = plan.buy_blocks.shape[:-3]  # () for one plan, (P,) for a stack
    held = np.zeros((*lead, data.S, data.I, data.T))  # GPUs held by SKU and site
    for (s, i), cohorts in data.cohorts_by_sku_site.items():
        held[..., s, i, :] = plan.held[..., cohorts, :].sum(axis=-2)
    mw = drawn_mw(data, held, plan.active.sum(axis=-4))
    online = power_online_mw(data, plan.build_blocks)
    lines, per_contract = _revenue_lines(data, plan, lead)
    lines.update(_cost_lines(data, plan, lead, mw, online))
    lines["ebitda_usd"] = lines["revenue_usd"] - (
        lines["electricity_usd"]
        + lines["gpu_opex_usd"]
        + lines["site_fixed_usd"]
        + lines["redeployment_usd"]
        + lines["overhead_usd"]
    )
    lines.update(_asset_lines(data, plan, lead))
    for i, site in enumerate(data.sites):
        lines[f"mw_used_{site.name}"] = mw[..., i, :]
        lines[f"mw_available_{site.name}"] = online[..., i, :]
    for k, contract in enumerate(data.contracts):
        lines[f"revenue_contract_{contract.name}_usd"] = per_contract[..., k, :]
    lines["gpus_held"] = plan.held.sum(axis=-2)
    lines["gpus_in_service"] = plan.active.sum(axis=(-4, -3, -2))
    lines["fleet_resale_value_usd"] = (data.resale_gross * plan.held).sum(axis=-2)
    lines["contract_payments_usd"] = plan.accepted @ data.contract_payments.live  # cash, not revenue
    return lines


def deferred_revenue_end(data: ModelData, plan: Plan) -> Any:
    """USD of prepayments received and not yet earned after the horizon's last quarter (a float,
    or (P,) for a stack): the terminal value deducts it (docs/formulation.md §6)."""
    return plan.accepted @ data.contract_payments.deferred_end


def _revenue_lines(data: ModelData, plan: Plan, lead: tuple) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Revenue by source, and (..., K, T) revenue per contract."""
    contract_by_use = np.zeros(plan.active.shape)
    for k, contract in enumerate(data.contracts):
        contract_by_use[..., contract.use, :, :, :] += plan.contract_gpus[..., k, :, :, :]
    market = plan.active - contract_by_use
    revenue_market = (market_revenue_per_gpu(data)[:, :, None, :] * market).sum(axis=(-3, -2))
    per_contract = contract_revenue_per_gpu(data)[:, None] * plan.contract_gpus.sum(axis=(-3, -2))
    lines: dict[str, np.ndarray] = {
        "revenue_training_market_usd": revenue_market[..., 0, :],
        "revenue_inference_market_usd": revenue_market[..., 1, :],
        "revenue_contracts_usd": (
            per_contract.sum(axis=-2) if len(data.contracts) else np.zeros((*lead, data.T))
        ),
    }
    lines["revenue_usd"] = (
        lines["revenue_training_market_usd"]
        + lines["revenue_inference_market_usd"]
        + lines["revenue_contracts_usd"]
    )
    return lines, per_contract


def _cost_lines(data: ModelData, plan: Plan, lead: tuple, mw: np.ndarray, online: np.ndarray) -> dict:
    """Operating costs: electricity for the MW drawn, GPU opex, site fixed costs on the MW online,
    redeployment and overhead."""
    sku_of = np.array([c.sku for c in data.cohorts], dtype=int)
    return {
        "electricity_usd": (electricity_cost_per_mw(data) * mw).sum(axis=-2),
        "gpu_opex_usd": (data.opex_per_gpu_quarter[sku_of][:, None] * plan.held).sum(axis=-2),
        "site_fixed_usd": (site_fixed_cost_per_mw(data)[:, None] * online).sum(axis=-2),
        "redeployment_usd": data.redeploy_cost * plan.redeploy.sum(axis=-2),
        "overhead_usd": np.zeros((*lead, data.T)) + data.overhead,
    }


def _asset_lines(data: ModelData, plan: Plan, lead: tuple) -> dict[str, np.ndarray]:
    """Depreciation, disposals and capex of GPUs and power plant."""
    schedules = data.site_schedules
    retire = plan.retire

    def over_sites(schedule: str) -> np.ndarray:
        blocks = plan.build_blocks
        parts = (_over_starts(blocks[..., i, :], getattr(schedules[i], schedule)) for i in range(data.I))
        return sum(parts, np.zeros((*lead, data.T)))

    return {
        "depreciation_gpu_usd": (data.depreciation * plan.held).sum(axis=-2),
        "depreciation_power_usd": over_sites("depreciation"),
        "gain_on_disposal_usd": ((data.proceeds - data.book_value) * retire).sum(axis=-2),
        "capex_gpu_usd": gpu_purchases_usd(data, plan.buy_blocks),
        "capex_power_usd": over_sites("capex"),
        "disposal_proceeds_usd": (data.proceeds * retire).sum(axis=-2),
        "book_value_disposed_usd": (data.book_value * retire).sum(axis=-2),
    }


def gpu_purchases_usd(data: ModelData, buy_blocks: np.ndarray, price: np.ndarray | None = None) -> np.ndarray:
    """(..., T) what the GPUs bought each quarter cost, USD: blocks x GPUs a block x the price of a
    GPU, the SKU's ``capex_path`` of the quarter bought, or ``price`` (..., S, I, T) where a plan pays
    another (a slip's late GPUs, paid at their signed price)."""
    price = data.capex_path[:, None, :] if price is None else price
    return (buy_blocks * data.block_size[:, None, None] * price).sum(axis=(-3, -2))


def power_online_mw(data: ModelData, build_blocks: np.ndarray) -> np.ndarray:
    """(..., I, T) facility MW online: existing capacity plus blocks whose lead time has passed."""
    return np.stack(
        [
            site.capacity_mw + site.block_mw * _over_starts(build_blocks[..., i, :], schedules.online)
            for i, (site, schedules) in enumerate(zip(data.sites, data.site_schedules, strict=True))
        ],
        axis=-2,
    )


def opening_fleet_value(data: ModelData) -> float:
    """What the installed GPUs would fetch if sold in the horizon's first quarter, present value,
    USD: each installed cohort's GPUs at its first quarter's proceeds (resale less the selling cost;
    a cohort past the maximum age too: the plan sells it then, for the same), discounted as a sale
    then is (DF_0). The cost objective charges it as it
    credits the value at the end (formulation §6, "Cost"), so that a fleet the plan merely holds costs
    what it loses in value, not less than nothing, and one sold at once costs nothing."""
    held = [c for c in data.cohorts if c.existing]
    proceeds = sum((c.initial_training + c.initial_inference) * data.proceeds[c.index, 0] for c in held)
    return float(data.discount[0] * proceeds)


def terminal_assets(data: ModelData, plan: Plan) -> tuple[Any, Any]:
    """At the end of the horizon: (net realisable value of the fleet, book value of power plant), USD
    (floats for one plan, (P,) arrays for a stack)."""
    fleet = (data.terminal_value * plan.held[..., :, -1]).sum(axis=-1)
    power = sum(
        (plan.build_blocks[..., i, :] * schedules.book_end).sum(axis=-1)
        for i, schedules in enumerate(data.site_schedules)
    )
    if np.ndim(fleet) == 0:
        return float(fleet), float(power)
    return fleet, power + np.zeros_like(fleet)


def terminal_fleet_book(data: ModelData, plan: Plan) -> Any:
    """Book value of the GPUs held at the end, USD (a float, or (P,) for a stack): the tax basis of
    their liquidation (:func:`liquidation_tax`)."""
    book = (data.terminal_book * plan.held[..., :, -1]).sum(axis=-1)
    return float(book) if np.ndim(book) == 0 else book


# ---------------------------------------------------------------- cash and debt roll-forward


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


@dataclass(frozen=True)
class ForgoneRepaid:
    """A quarter's shares of :func:`repaid_shares` for the GPU-backed ``facilities`` a pair's
    balances never drawn are on (``FinanceState.forgone``), each (..., L)."""

    facilities: tuple[int, ...]
    principal_share: Any
    prepaid_share: Any


def scheduled_principal(fin: Financing, draws: Any, xp: Any = np) -> Any:
    """(..., F, T) scheduled principal: the opening balances' schedule plus each draw's instalments."""
    return xp.asarray(fin.opening_principal) + xp.einsum(
        "...fs,fst->...ft", draws, xp.asarray(fin.draw_principal)
    )


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


@dataclass
class QuarterFinance:
    """One quarter's financing lines (see :func:`finance_step`); derived lines are computed on request."""

    interest: Any
    principal: Any
    prepayment: Any
    draws: Any
    ebt: Any
    tax: Any
    taxable: Any  # (...,) taxable income before the floor at 0 (economics.taxable_income)
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
    (:func:`_cut_prepayment`), but never below what the borrowing base needs: ``base_room`` (None: no
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
    investing and debt outflow (:meth:`_TermDebtPaid.outflow`), the policy's prepayment cut
    (:func:`_cut_prepayment`) and the revolver (:func:`_draw_or_repay_revolver`).
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
            _base_cut_limit, fin, state, pay_early, paid, base_room, xp
        )
        cash, cut, paid.kept = _cut_prepayment(state, cash, pay_early, paid.prepayment, prepay_floor,
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


@dataclass
class _TermDebtPaid:
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


def _term_debt_paid(fin: Financing, state: FinanceState, t: int, principal: Any, pay_early: Any, draws: Any,
                    scheduled: Any, moved: DrawsMoved | None, repaid: ForgoneRepaid | None,
                    xp: Any) -> _TermDebtPaid:  # fmt: skip
    """The term debt's cash flows of quarter ``t`` (:func:`finance_step`): the plan's ``principal``,
    ``pay_early`` (..., F) and ``draws`` (..., F), less what the balances the pair never drew would
    have repaid (:func:`_less_forgone`), plus the scheduled principal on the balances kept by cut
    prepayments (:func:`_repay_kept`; a bullet's kept balance is repaid at its maturity too) and the
    draws the policy moved (``moved``). Updates ``state.forgone`` and ``state.owed``."""
    matures = bool(fin.repaid_at_maturity[:, t].any())
    at_maturity = xp.asarray(fin.repaid_at_maturity[:, t]) if matures else None
    paid = _TermDebtPaid(
        principal=principal.sum(axis=-1),
        prepayment=pay_early.sum(axis=-1),
        draws=draws.sum(axis=-1),
        repaid_at_maturity=(principal * at_maturity).sum(axis=-1) if matures else 0.0,
    )
    _less_forgone(fin, state, t, paid, moved, repaid, xp)
    if state.kept is not None:
        paid.kept, paid.kept_paid, kept_principal = _repay_kept(state.kept, scheduled, principal, xp)
        if matures:  # a bullet's balance kept by a cut prepayment is repaid at its maturity too
            kept_matured = _facility_sum(kept_principal * at_maturity, xp)
            paid.repaid_at_maturity = paid.repaid_at_maturity + kept_matured
    if moved is not None:
        paid.moved_draws = moved.draws
    state.owed = None if moved is None else moved.owed
    return paid


def _less_forgone(fin: Financing, state: FinanceState, t: int, paid: _TermDebtPaid, moved: DrawsMoved | None,
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
    paid.principal = paid.principal - _facility_sum(forgone_principal, xp)
    for slot in np.flatnonzero(fin.repaid_at_maturity[list(repaid.facilities), t]):
        paid.repaid_at_maturity = paid.repaid_at_maturity - forgone_principal[..., slot]
    paid.prepayment = paid.prepayment - _facility_sum(paid.forgone_prepaid, xp)


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


def _repay_kept(kept: Any, scheduled: Any, principal: Any, xp: Any) -> tuple[Any, Any, Any]:
    """The kept balances after this quarter's repayment, that repayment summed over facilities (the
    scheduled instalments the plan's own balance no longer covers), and by facility."""
    kept_principal = xp.minimum(scheduled - principal, kept)
    return kept - kept_principal, _facility_sum(kept_principal, xp), kept_principal


def kept_due(fin: Financing, state: FinanceState, t: int, draws: Any, scheduled: Any, rate_shift: Any,
             spread_shift: Any, xp: Any = np) -> Any:
    """(...,) what :func:`finance_step` will pay in quarter ``t`` on the balances kept by cut
    prepayments (``state.kept``, not None): their interest and the scheduled principal the plan's
    own balance no longer covers, both known at the start of the quarter (policy rule 0's
    projection, docs/evaluation.md). ``draws`` and ``scheduled`` (..., F) are the quarter's planned."""
    principal = xp.minimum(scheduled, state.balance + draws)
    _, paid, _ = _repay_kept(state.kept, scheduled, principal, xp)
    return kept_interest(fin, state.kept, t, rate_shift, xp, spread_shift) + paid


def forgone_due(fin: Financing, state: FinanceState, t: int, repaid: ForgoneRepaid, rate_shift: Any,
                spread_shift: Any, xp: Any = np) -> Any:
    """(...,) what :func:`finance_step` will not pay in quarter ``t`` on the balances the pair never
    drew (``state.forgone``, not None): their interest and their share of the plan's principal and
    prepayments (``repaid``, as there), known at the start of the quarter (policy rule 0's projection)."""
    saved = kept_interest(fin, state.forgone, t, rate_shift, xp, spread_shift, repaid.facilities)
    return saved + _facility_sum(state.forgone * (repaid.principal_share + repaid.prepaid_share), xp)


def _left_after(forgone: Any, repaid: ForgoneRepaid) -> Any:
    """(..., L) what of balances never drawn ``forgone`` the plan's shares ``repaid`` leave, as
    :func:`_less_forgone` repays them."""
    return (forgone - forgone * repaid.principal_share) - forgone * repaid.prepaid_share


def _closing_share(share: Any, gap: Any, saving: Any, base: Any, per_share: Any, xp: Any) -> Any:
    """(...,) the least f with f x ``saving`` + sum over l of max(``base`` + f x ``per_share``, 0) =
    ``gap`` (each (..., L)), where ``share`` (gap / saving, at most 1) is positive: from ``share``
    down one linear piece at a time (the sum grows with f, so at most one piece per facility, and
    never above ``share``)."""
    for _ in range(base.shape[-1] + 1):
        gone = base + share[..., None] * per_share > 0  # the pieces above 0
        offset = _facility_sum(xp.where(gone, base, 0.0), xp)
        slope = saving + _facility_sum(xp.where(gone, per_share, 0.0), xp)
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
        return _facility_sum(xp.maximum(self._over(deferred, xp), 0.0), xp)

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
        before = _facility_sum(xp.maximum(over, 0.0), xp)
        return _closing_share(cancel, cover + before, saved, over, _left_after(draws, self.repaid), xp)


def forgone_excess(state: FinanceState, repaid: ForgoneRepaid, draws: Any, scheduled: Any, prepay: Any,
                   movable: Any, xp: Any = np) -> ForgoneExcess:  # fmt: skip
    """:class:`ForgoneExcess` of a quarter at its start, as :func:`_less_forgone` will compute it:
    ``repaid`` its shares, ``draws``, ``scheduled`` and ``prepay`` (..., F) its planned, ``movable``
    (..., L) the draws the order rule may defer (``state.forgone`` None: none never drawn yet)."""
    left = xp.zeros(movable.shape) if state.forgone is None else _left_after(state.forgone, repaid)
    owed = repaid_from(state.balance + draws, scheduled, prepay, xp)[2][..., list(repaid.facilities)]
    return ForgoneExcess(left, owed, movable, repaid)


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


def _facility_sum(x: Any, xp: Any) -> Any:
    """Sum over the last (facility) axis in facility order (the kernel's order)."""
    total = 0.0
    for f in range(x.shape[-1]):
        total = total + x[..., f]
    return total


def _cut_prepayment(
    state: FinanceState, cash: Any, pay_early: Any, planned: Any, floor: Any, kept: Any, xp: Any,
    forgone_prepaid: Any = None, limit: Callable[[], Any] | None = None,
) -> tuple[Any, Any, Any]:  # fmt: skip
    """The policy's prepayment rule (docs/evaluation.md, "Policy"): where ``cash`` after the planned
    prepayments ``planned`` (..., their split by facility ``pay_early`` (..., F), less
    ``forgone_prepaid`` (..., L) on ``state.forgone_facilities``: the pair's) would end more than
    LIQUIDITY_TOLERANCE_USD below ``floor`` plus the revolver drawn, and they are more than that (less
    is a MILP's round-off), the prepayments are cut, every facility's
    by the same share, by that shortfall (at most all of them, and at most ``limit()`` (...,) USD where
    given: :func:`_base_cut_limit`). Returns the cash, the USD cut and the balances kept ((..., F), or
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


def _base_cut_limit(fin: Financing, state: FinanceState, pay_early: Any, paid: _TermDebtPaid,
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


def collateral_required(fin: Financing, balance: Any, xp: Any = np) -> Any:
    """(...,) USD of GPU collateral the GPU-secured ``balance`` (..., F) needs at its facilities'
    ``max_ltv``: the left side of the borrowing base (docs/formulation.md §5.9)."""
    return (xp.asarray(fin.collateral_weight) * balance).sum(axis=-1)


def term_debt(state: FinanceState, xp: Any = np) -> Any:
    """(...,) term debt outstanding: the plan's balances plus those kept by cut prepayments, less
    those the pair never drew (cancelled orders' draws) and the draws deferred to the next quarter."""
    debt = state.balance.sum(axis=-1)
    if state.kept is not None:
        debt = debt + _facility_sum(state.kept, xp)
    if state.forgone is not None:
        debt = debt - _facility_sum(state.forgone, xp)
    return debt if state.owed is None else debt - state.owed


def taxable_income(ebt: Any, loss_pool: Any, xp: Any = np) -> tuple[Any, Any]:
    """A quarter's taxable income before the floor at 0, and the tax losses left: without a pool
    (None), pre-tax income ``ebt`` itself; with one, income less the pool, whose unused losses (and
    any new loss) are carried to the next quarter."""
    if loss_pool is None:
        return ebt, None
    taxable = ebt - loss_pool
    losses = -taxable
    return taxable, reusing(losses, xp.maximum, losses, 0.0)


def tax_on(taxable: Any, rate: float, xp: Any = np) -> Any:
    """The tax on a quarter's taxable income (:func:`taxable_income`): the rate on its positive part."""
    positive = xp.maximum(taxable, 0.0)
    return reusing(positive, xp.multiply, rate, positive)


def taxable_incomes(ebt: np.ndarray, carry_forward: bool, opening_pool: float = 0.0) -> np.ndarray:
    """(..., T) taxable income of each quarter (before the floor at 0) on pre-tax income ``ebt``
    (..., T), quarter after quarter, from ``opening_pool`` USD of losses carried into the horizon."""
    pool = np.full(ebt.shape[:-1], opening_pool) if carry_forward else None
    out = np.empty_like(ebt)
    for t in range(ebt.shape[-1]):
        out[..., t], pool = taxable_income(ebt[..., t], pool)
    return out


def taxes(ebt: np.ndarray, rate: float, carry_forward: bool, opening_pool: float = 0.0) -> np.ndarray:
    """(..., T) tax of each quarter on pre-tax income ``ebt`` (..., T), quarter after quarter."""
    return tax_on(taxable_incomes(ebt, carry_forward, opening_pool), rate)


def liquidation_tax(taxable_last: Any, gain: Any, rate: float, xp: Any = np) -> Any:
    """USD of tax on selling the fleet at the end with a ``gain`` (net realisable value less book
    value; negative for a loss), as a sale in the last quarter would be taxed: the last quarter's
    tax on its taxable income ``taxable_last`` (:func:`taxable_income`) plus the gain, less the tax
    it paid. A loss is deducted from that quarter's taxable income, down to 0, and no further (no
    refund of other quarters' tax; losses left at the end are worth nothing). Negative: the tax the
    loss saves. Power plant is valued at book: no gain, no tax (docs/formulation.md §6)."""
    return tax_on(taxable_last + gain, rate, xp) - tax_on(taxable_last, rate, xp)


def roll_forward(
    fin: Financing,
    ebitda: Any,
    depreciation: Any,
    gain: Any,
    investing: Any,
    draws: Any,
    prepay: Any,
    rate_shift: Any = 0.0,
    xp: Any = np,
) -> dict[str, Any]:
    """Carry cash and debt through the horizon, keeping every quarter's lines.

    ``ebitda``, ``depreciation``, ``gain``, ``investing`` and ``rate_shift`` are (..., T);
    ``draws`` and ``prepay`` are (..., F, T). Returns (..., T) arrays of every financing line, of
    the collateral the GPU-secured balances need (``collateral_required_usd``), of the taxable
    income before the floor at 0 (``taxable_income_usd``: the tax's basis, with the losses carried
    in), and the balances by facility (..., F, T).
    """
    T = ebitda.shape[-1]
    batch = ebitda.shape[:-1]
    sched = scheduled_principal(fin, draws, xp)
    shift = xp.broadcast_to(xp.asarray(rate_shift, dtype=xp.float64), (*batch, T))
    state = FinanceState.opening(fin, batch, xp)
    out: dict[str, Any] = {}
    balances, collateral, taxable = [], [], []
    for t in range(T):
        step = finance_step(
            fin, state, t, ebitda[..., t], depreciation[..., t], gain[..., t], investing[..., t],
            draws[..., t], prepay[..., t], sched[..., t], shift[..., t], xp,
        )  # fmt: skip
        for name, value in step.lines().items():
            out.setdefault(name, []).append(value)
        balances.append(state.balance)
        collateral.append(collateral_required(fin, state.balance, xp))
        taxable.append(step.taxable)
    rolled = {name: xp.stack(values, axis=-1) for name, values in out.items()}
    rolled["balance_by_facility_usd"] = xp.stack(balances, axis=-1)
    rolled["collateral_required_usd"] = xp.stack(collateral, axis=-1)
    rolled["taxable_income_usd"] = xp.stack(taxable, axis=-1)
    return rolled


def npv_parts(
    data: ModelData, cash: Any, debt_end: Any, terminal_assets: Any, opening_cash: float, xp: Any = np
) -> tuple[Any, Any]:
    """The two parts of the NPV, USD: the equity cash flows (the change in cash each quarter,
    discounted), and the terminal equity (``terminal_assets``, after the tax of their sale, less
    ``debt_end``, everything owed at the end) discounted by the last quarter's factor."""
    prev = xp.concatenate([xp.full((*cash.shape[:-1], 1), opening_cash), cash[..., :-1]], axis=-1)
    discount = xp.asarray(data.discount)
    return ((cash - prev) * discount).sum(axis=-1), discount[-1] * (terminal_assets - debt_end)


# ---------------------------------------------------------------- statements of one plan


@dataclass
class Statements:
    """Quarterly statements of one plan under the forecast, with headline figures."""

    lines: dict[str, np.ndarray]
    npv_usd: float
    terminal_assets_usd: float  # fleet at net realisable value plus power plant at book, before tax
    liquidation_tax_usd: float  # tax on the fleet's sale at the end (negative: a credit)
    owed_end_usd: float  # debt and customer prepayments not yet earned, at the end
    npv_terminal_usd: float  # the NPV's terminal equity part (npv_parts), present value

    def __repr__(self) -> str:  # a notebook shows this, not every line's array
        T = len(self.lines["cash_usd"])
        return (f"Statements({T} quarters, NPV {self.npv_usd:,.0f} USD, {len(self.lines)} lines: "
                ".lines['cash_usd'] ..., .frame(quarter_labels) or SolveResult.statements_frame() "
                "for a table)")  # fmt: skip

    @property
    def npv_quarters_usd(self) -> float:
        """The NPV's other part: the equity cash flows of the quarters, present value."""
        return self.npv_usd - self.npv_terminal_usd

    def frame(self, quarter_labels: list[str]):
        import pandas as pd

        df = pd.DataFrame({k: v for k, v in self.lines.items() if np.ndim(v) == 1})
        df.insert(0, "quarter", quarter_labels)
        return df


def forecast_roll_forward(data: ModelData, plan: Plan, lines: dict, with_revolver: bool = False) -> dict:
    """:func:`roll_forward` of a plan's operating ``lines`` (:func:`operating_lines`) on the forecast:
    one plan, or a stack (every line then has a leading plan axis)."""
    return roll_forward(
        Financing.from_data(data, with_revolver=with_revolver),
        lines["ebitda_usd"],
        lines["depreciation_gpu_usd"] + lines["depreciation_power_usd"],
        lines["gain_on_disposal_usd"],
        # cash out besides operations, interest, tax and debt: the contracts' payments come in here
        lines["capex_gpu_usd"]
        + lines["capex_power_usd"]
        - lines["disposal_proceeds_usd"]
        - lines["contract_payments_usd"],
        plan.draws,
        plan.prepay,
    )


def _add_lines(lines: dict[str, np.ndarray], new: dict[str, np.ndarray]) -> None:
    """Add statement lines, refusing a name already there: a line named after a facility, site or
    contract must never replace another line (a facility `service` replaced `debt_service_usd`)."""
    repeated = sorted(set(lines) & set(new))
    assert not repeated, f"statement lines written twice: {repeated}"
    lines.update(new)


def plan_statements(data: ModelData, plan: Plan, with_revolver: bool = False) -> Statements:
    """Price a plan under the model's own forecast: operating lines, then the roll-forward."""
    lines = operating_lines(data, plan)
    rolled = forecast_roll_forward(data, plan, lines, with_revolver)
    placed_below = ("balance_by_facility_usd", "collateral_required_usd", "taxable_income_usd")
    _add_lines(lines, {k: v for k, v in rolled.items() if k not in placed_below})
    balances = rolled["balance_by_facility_usd"]
    _add_lines(
        lines, {f"debt_facility_{fac.name}_usd": balances[..., f, :] for f, fac in enumerate(data.facilities)}
    )
    _add_lines(lines, {
        "equity_cash_flow_usd": np.diff(np.concatenate([[data.opening_cash], lines["cash_usd"]])),
        "collateral_value_usd": lines["fleet_resale_value_usd"],
        "collateral_required_usd": rolled["collateral_required_usd"],
    })  # fmt: skip
    quantities = statement_quantities(lines, data.covenant_window)
    # every covenant ratio, tested or not, on the covenants' EBITDA period
    # (the DSCR on the model's cash flow, dscr_cash_flow)
    ratios = {kind.ratio_line: kind.ratio(quantities) for kind in data.covenant_kinds if kind.ratio_line}
    _add_lines(lines, ratios)
    fleet, power = terminal_assets(data, plan)
    gain = fleet - terminal_fleet_book(data, plan)
    tax_end = float(liquidation_tax(rolled["taxable_income_usd"][..., -1], gain, data.tax_rate))
    owed_end = float(lines["debt_usd"][-1] + deferred_revenue_end(data, plan))
    flows, terminal = npv_parts(data, lines["cash_usd"], owed_end, fleet + power - tax_end, data.opening_cash)
    return Statements(lines, float(flows + terminal), fleet + power, tax_end, owed_end, float(terminal))


def signed_book_beyond_grade_limit(data: ModelData) -> str | None:
    """Where the signed contracts alone break limits.max_non_investment_grade_share_per_year in a year
    of the horizon (formulation §5.12), which only a solve found (infeasible, exit 3): its first such
    year in words, else None. In a year the plan earns at least what the signed contracts of customers
    below investment grade (or unrated) must deliver (their quarters from the delivery deadline) and at
    most that plus every contract of an investment-grade customer, signed or not, whole."""
    limit = data.max_non_investment_grade_share_per_year
    years = [bounds for bounds in _book_bounds(data) if bounds[1] > limit * bounds[2] + 1e-9]
    if limit >= 1.0 or not years:
        return None
    year, least, most, names = years[0]  # the model's words: a warning of validate and solve
    more = f" (and in {counted(len(years) - 1, 'other year')})" if len(years) > 1 else ""
    return (f"limits.max_non_investment_grade_share_per_year is {format_rate(limit)}, but in "
            f"{span_label(data.quarter_labels, year)} the signed contracts of {', '.join(names)}, below "
            f"investment grade or unrated, earn at least {format_percent(least / most)} of the contract "
            f"revenue ({format_usd(least)} of at most {format_usd(most)}, every investment-grade customer's "
            f"contract taken){more}: no plan keeps it (fleetopt solve finds it infeasible); rate the "
            "customers in risk.customer_ratings or raise the limit")  # fmt: skip


def _book_bounds(data: ModelData):
    """Each year of the horizon (its quarters) in which customers below investment grade have signed
    contracts to deliver, with the least contract revenue they earn (from each deadline), the most
    revenue of a book holding no more of theirs (every other customer's contract, whole), USD, and
    those customers."""
    per_gpu, below = contract_revenue_per_gpu(data), set(data.non_investment_grade)
    for year in horizon_years(data.T):
        least = most = 0.0
        names = set()
        for k, con in enumerate(data.contracts):
            first = max(con.start, con.deadline) if con.customer in below else con.start
            quarters = sum(1 for t in year if first <= t <= con.end)
            if con.customer not in below:
                most += per_gpu[k] * con.gpus * quarters
            elif con.signed and quarters:
                least += per_gpu[k] * con.gpus * quarters
                names.add(con.customer)
        if least > 0:
            yield year, least, least + most, sorted(names)
