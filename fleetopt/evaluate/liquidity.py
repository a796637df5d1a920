"""The policy's liquidity rules in the NumPy simulation: orders that adapt to cash, distress sales.

At the start of quarter t (:meth:`Liquidity.orders`), the policy projects the quarter's end cash as
cash plus the undrawn revolver less the interest due on the drawn part, plus the plan's own change
in cash that quarter as the evaluator runs it on the forecast (``PlanBatch.forecast_cash_flow``),
less what the GPUs gone for good (sold, or cancelled before) would earn in it on that forecast
(valued as below, of ``PlanBatch.gen_market_earned``), less the deferred payments falling due, plus
the GPU-backed draws deferred into the quarter and the interest they did not bear
(:func:`deferred_draws_interest`),
what the scenario's rate and spread changes add to the interest on the plan's own debt
(``economics.quarter_finance.shifted_interest``), and the interest and instalments due on prepayments cut in
earlier quarters (``economics.policy_balances.kept_due``);
below the minimum cash plus the buffer it defers the share of the quarter's deferrable order that
closes the gap (sized on the forecast's net saving), and when deferring all of it is not enough it
cancels the share of the order deferred into this quarter that closes the rest (paying its deposit
instead of its price; sized likewise on its price less its deposit, less what its GPUs would earn on
the forecast: ``PlanBatch.order_ebitda_next``), but where distress sales are on and the order's GPUs
would sell for at least what cancelling saves, only the part of the gap above the default level: a
distress sale after the financing closes the rest (docs/evaluation.md, policy rule 0, "Cancel or
sell"). The same
share of the GPU-backed draws that fund the deferrable order (batch.py, ``ltv_*``) is deferred with
it, and drawn the next quarter (:class:`Adjustments`), but for the share whose order is then
cancelled: never drawn (``FinanceState.forgone``), and the cancellation is sized net of it; where
such balances never drawn end above what the plan owes less the draws deferred, the excess is
repaid, and both shares count it (``economics.policy_balances.ForgoneExcess``).
After the quarter's financing (:meth:`Liquidity.sell`), cash still below the default level
(`finance.default_cash_usd`) sells market GPUs, oldest generation first, in lots, at the scenario's
resale value; the gain or loss is taxed the next quarter. The prepayment rule
(:meth:`Liquidity.prepayment_floor`, acting in core.economics.quarter_finance.finance_step) cuts a
quarter's planned debt prepayments to what cash above the minimum plus the buffer (and the revolver
drawn) can pay, but never the part the borrowing base needs at the quarter's end (financing._base_room).

GPUs taken out of the plan (deferred for their purchase quarter, cancelled, or sold) are valued at
the plan's average GPU of their generation each quarter: a share ``min(1, missing / market GPUs)``
of the generation's market revenue, supply and electricity, and ``min(1, missing / GPUs held)`` of
its opex, depreciation and terminal value; the plan's own disposals lose only the GPUs the pair no
longer holds once those it keeps are all missing (:meth:`Liquidity.planned_sales_cut`;
docs/evaluation.md, "Policy").

The kernel (kernel.cu) implements the same rules in the same order.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from fleetopt.core.arrays import less_product, plus, reusing
from fleetopt.core.economics.debt import FinanceState
from fleetopt.core.economics.policy_balances import (
    LIQUIDITY_TOLERANCE_USD,
    forgone_due,
    forgone_excess,
    kept_due,
)
from fleetopt.core.economics.quarter_finance import shifted_interest
from fleetopt.core.quarters import per_quarter
from fleetopt.evaluate.pairs import Pairs
from fleetopt.schema.policy import Policy

LIQUIDITY_REACTIONS = ("deferred", "order_cancelled", "sold", "prepayment_cut")
# what the reactions cost or raised, per pair, USD: the GPU capex deferred (at the price of the
# quarter planned), the deposits forfeited on cancelled orders, the proceeds of distress sales
REACTION_USD = ("deferred_usd", "forfeited_usd", "distress_sold_usd")
# policy rule 6's, only where it is on (result_fields.BASE_PREPAY_FIELDS): a mandatory prepayment of a
# borrowing-base deficiency, and the principal it prepaid, USD
BASE_PREPAID, BASE_PREPAID_USD = "base_prepaid", "base_prepaid_usd"
# above this share of a block's pairs short of cash, the sales are computed on the whole block
# (measured on the default model, 20 plans x 10,000 scenarios: gathering the pairs short of cash
# costs about as much as the whole block at a half, less below it)
DENSE_SALES_SHARE = 0.5


def taken_share(missing: Any, inverse: Any, xp: Any) -> Any:
    """``min(1, missing / of)`` given ``inverse`` = 1 / of (0 where ``of`` is not positive)."""
    share = missing * inverse
    if isinstance(share, xp.ndarray):  # a fresh array: capped in place, one temporary fewer
        return xp.minimum(share, 1.0, out=share)
    return xp.minimum(share, 1.0)


def taken_ebitda(gpus: Any, market_inverse: Any, held_inverse: Any, earned: Any, opex: Any, xp: Any) -> Any:
    """The EBITDA ``gpus`` of one generation contribute, valued as GPUs taken out (the module
    docstring): their share of what its market GPUs earn (``earned``) less their share of its opex
    (``market_inverse``, ``held_inverse``: 1 / its market GPUs, 1 / its GPUs held, as :func:`inverse`)."""
    return taken_share(gpus, market_inverse, xp) * earned - taken_share(gpus, held_inverse, xp) * opex


def deferred_draws_interest(cols, t: int, draws_in: Any, rate_shift: Any) -> Any:
    """The interest quarter ``t`` does not charge on the share ``draws_in`` of quarter t - 1's
    GPU-backed draws deferred into it (the balance was lower by them in t - 1): at the facility's
    rate in ``t``, the scenario's (``rate_shift``, annual) where it floats."""
    shift = per_quarter(rate_shift)
    return draws_in * (cols.ltv_draw_rate[t - 1] + shift * cols.ltv_draw_floating[t - 1])


def inverse(of: Any, xp: Any = None) -> Any:
    """1 / ``of`` where it is positive, else 0 (the divisor of :func:`taken_share`)."""
    xp = np if xp is None else xp
    return xp.where(of > 0, 1.0 / xp.where(of > 0, of, 1.0), 0.0)


@dataclass
class Adjustments:
    """A quarter's changes to the plan's figures from GPUs taken out (None: none)."""

    market: list  # by generation: share of its market GPUs missing ((P, S) or None)
    held: list  # by generation: share of its GPUs held missing
    capex: Any = None  # USD added to the quarter's capex (deferred payments due, less what is deferred)
    draws_in: Any = None  # share of the previous quarter's GPU-backed draws deferred into this one
    draws_out: Any = None  # share of this quarter's GPU-backed draws deferred to the next
    draws_cancelled: Any = None  # the part of draws_in whose order is cancelled: never drawn


class Liquidity:
    """The pairs' order and sale state; see the module docstring."""

    def __init__(self, policy: Policy, cols, fin, shape: tuple[int, int], T: int, xp: Any):
        self.on = policy.defer_orders or policy.distress_sales  # rules that take GPUs out of the plan
        self.cuts = policy.cut_prepayments
        self.policy, self.cols, self.fin, self.xp, self.T, self.shape = policy, cols, fin, xp, T, shape
        self.G = cols.gen_market_gpus.shape[0] if self.on else 0
        self.missing = [None] * self.G  # GPUs gone for good, by generation
        self.due = self.due_deposit = None  # deferred payment falling due this quarter, USD
        self.due_ebitda = None  # what the GPUs of that payment would earn this quarter (forecast), USD
        self.due_gpus = [None] * self.G
        self.draws_due = None  # share of last quarter's GPU-backed draws deferred into this quarter
        self.carried_gain = None  # distress-sale gain or loss taxed next quarter
        # the GPUs each generation's distress sale sold this quarter ((P, S) or None), kept only for
        # the path of one scenario (evaluate/path.py; ``missing`` mixes them with cancelled ones)
        self.keep_sold = False
        self.sold_now = [None] * self.G
        self.usd = {name: xp.zeros(shape) for name in REACTION_USD} if self.on else {}
        flags = self.on or self.cuts
        self.flags = {name: xp.zeros(shape, dtype=bool) for name in LIQUIDITY_REACTIONS} if flags else {}
        # policy rule 6's count and principal prepaid (financing._prepay_base_deficiency)
        self.base_prepaid = {}
        if policy.prepay_borrowing_base:
            self.base_prepaid = {BASE_PREPAID: xp.zeros(shape, dtype=bool), BASE_PREPAID_USD: xp.zeros(shape)}

    def orders(self, t: int, state: FinanceState, sc: Any) -> Adjustments | None:
        """The start of quarter ``t`` (``state``: the finances at the end of the previous quarter,
        ``sc``: the scenario's rows): defer or cancel orders; the quarter's adjustments."""
        if not self.on:
            return None
        cols, cash, revolver = self.cols, state.cash, state.revolver
        now = list(self.missing)
        capex, due_next, draws_in = self.due, (None, None, None, [None] * self.G), self.draws_due
        cancelled = excess = None
        self.draws_due = None
        if self.policy.defer_orders and (cols.any_order[t] or self.due is not None):
            need = cols.forecast_cash_flow[t] if self.due is None else cols.forecast_cash_flow[t] - self.due
            need = self._less_missing_earnings(t, need)
            if draws_in is not None:  # the GPU-backed draws deferred with last quarter's order arrive,
                # and the interest the forecast charges on them last quarter's balance did not bear
                drawn = draws_in * cols.ltv_draws[t - 1]
                need = reusing(drawn, self.xp.add, need, drawn)
                saved = deferred_draws_interest(cols, t, draws_in, sc.rate_shift[t])
                need = reusing(saved, self.xp.add, need, saved)
            # the revolver lends what is undrawn, and its interest on what is drawn falls due now
            room = self.fin.revolver_limit - revolver - self.fin.revolver_rate_quarterly * revolver
            # the scenario's change of the rates on the plan's own floating and refinanced debt
            need = need - shifted_interest(self.fin, state, t, sc.rate_shift[t], sc.spread_shift[t], self.xp)
            if state.kept is not None:  # the interest and instalments of prepayments cut before, due now
                need = need - kept_due(self.fin, state, t, cols.draws[t], cols.scheduled[t],
                                       sc.rate_shift[t], sc.spread_shift[t], self.xp)  # fmt: skip
            if state.forgone is not None:  # what the draws of cancelled orders would have cost now
                need = need + forgone_due(self.fin, state, t, cols.repaid[t], sc.rate_shift[t],
                                          sc.spread_shift[t], self.xp)  # fmt: skip
            if cols.repaid[t].facilities and (state.forgone is not None or draws_in is not None):
                excess = forgone_excess(state, cols.repaid[t], cols.draws[t], cols.scheduled[t],
                                        cols.prepay[t], cols.ltv_facility_draws[t], self.xp)  # fmt: skip
            ahead = cash + room  # the cash the quarter may end with, summed in one array
            ahead = reusing(ahead, self.xp.add, ahead, need)
            gap = reusing(ahead, self.xp.subtract, self.fin.min_cash + cols.liquidity_buffer, ahead)
            resale = sc.resale_factor[t] * self.policy.sale_share if self.policy.distress_sales else None
            capex, now, due_next, cancelled = self._defer(t, gap, capex, now, draws_in, resale, excess)
        self.due, self.due_deposit, self.due_ebitda, self.due_gpus = due_next
        taken = self._taken(t, now, capex)
        taken.draws_in, taken.draws_out = draws_in, self.draws_due
        taken.draws_cancelled = cancelled
        return taken

    def _less_missing_earnings(self, t: int, need: Any) -> Any:
        """``need`` less what the GPUs gone for good before quarter ``t`` (sold, or cancelled in an
        earlier quarter) would earn in ``t`` on the forecast, valued as GPUs taken out: the forecast
        cash flow counts them, the pair has them no more (docs/evaluation.md, policy rule 0)."""
        xp, cols = self.xp, self.cols
        for g, m in enumerate(self.missing):
            if m is not None:
                gone = taken_ebitda(m, cols.gen_market_inverse[g, t], cols.gen_held_inverse[g, t],
                                    cols.gen_market_earned[g, t], cols.gen_opex[g, t], xp)  # fmt: skip
                need = reusing(gone, xp.subtract, need, gone)
        return need

    def _defer(self, t: int, gap: Any, capex: Any, now: list, draws_in: Any, resale: Any,
               excess: Any = None) -> tuple[Any, list, tuple, Any]:  # fmt: skip
        """Defer the quarter's order, or cancel the one due (the module docstring): the quarter's
        capex change, the GPUs missing this quarter, (payment, deposit, what its GPUs would earn
        then, GPUs) due next quarter, and the share of last quarter's GPU-backed draws cancelled with
        the order they fund (None: none; ``draws_in``: the share deferred into this quarter).
        ``resale``: the scenario's resale factor times the distress sale's share (None: no sales).
        ``excess``: what a deferral leaves of the balances never drawn above the plan's
        (``economics.policy_balances.ForgoneExcess``; None: none), repaid, so the pair pays that much less."""
        xp, cols, cancelled = self.xp, self.cols, None
        saving = cols.order_saving[t]
        if cols.any_order[t] and bool((gap > LIQUIDITY_TOLERANCE_USD).any()):
            # a gap within the tolerance is round-off (a plan whose forecast cash sits on the minimum)
            short = (gap > LIQUIDITY_TOLERANCE_USD) * (saving > 0)
            share = xp.minimum(xp.maximum(gap, 0.0) / positive_divisor(saving, xp), 1.0) * short
            if excess is not None:
                share = excess.deferred_share(share, gap, saving, xp)
            deferred = share * cols.order_capex[t]
            less = -deferred
            capex = less if capex is None else reusing(less, xp.add, capex, less)
            self.usd["deferred_usd"] += deferred
            self.flags["deferred"] |= share > 0
            next_due = share * cols.order_capex_next[t]
            next_deposit = share * cols.order_deposit[t]
            next_ebitda = share * cols.order_ebitda_next[t]
            # GPUs of the generations ordered (the others: exactly none deferred)
            ordered = cols.gen_ordered[:, t]
            next_gpus = [share * cols.order_gpus[g, t] if ordered[g] else None for g in range(self.G)]
            if cols.any_ltv_draws[t]:
                self.draws_due = share
            now = [now[g] if next_gpus[g] is None else plus(now[g], next_gpus[g]) for g in range(self.G)]
            gap = less_product(gap, share, saving, xp)
            if excess is not None:
                gap = gap - xp.where(share > 0, excess.at(share, xp), 0.0)
        else:
            next_due = next_deposit = next_ebitda = None
            next_gpus = [None] * self.G
        if self.due is not None and bool((gap > LIQUIDITY_TOLERANCE_USD).any()):
            # deferring all of it was not enough: cancel the order deferred into this quarter, where
            # that saves cash: its price less its deposit, less what its GPUs would earn this quarter
            # (a price at or below that: cancelling would only lose GPUs)
            price_less_deposit = self.due - self.due_deposit
            saved = price_less_deposit - self.due_ebitda
            if draws_in is not None:  # the draws that fund it are not drawn either, nor repaid now
                saved = saved - draws_in * cols.ltv_outstanding[t - 1]
            cover = self._not_left_to_sales(t, gap, saved, resale)
            cancel = xp.minimum(xp.maximum(cover, 0.0) / positive_divisor(saved, xp), 1.0)
            if excess is not None and draws_in is not None:  # its draws never drawn add to the excess
                deferred = 0.0 if self.draws_due is None else self.draws_due
                with_draws = excess.cancelled_share(cancel, cover, saved, deferred + xp.zeros(gap.shape),
                                                    draws_in[..., None] * cols.ltv_facility_draws[t - 1], xp)
                cancel = xp.where(draws_in > 0, with_draws, cancel)
            cancel = cancel * ((gap > LIQUIDITY_TOLERANCE_USD) & (saved > 0))
            if draws_in is not None:
                cancelled = draws_in * cancel
            capex = less_product(capex, cancel, price_less_deposit, xp)
            self.usd["forfeited_usd"] += cancel * self.due_deposit
            self.flags["order_cancelled"] |= cancel > 0
            for g in range(self.G):
                if self.due_gpus[g] is not None:
                    gone = cancel * self.due_gpus[g]
                    self.missing[g] = plus(self.missing[g], gone)
                    now[g] = plus(now[g], gone)
        return capex, now, (next_due, next_deposit, next_ebitda, next_gpus), cancelled

    def _not_left_to_sales(self, t: int, gap: Any, saved: Any, resale: Any) -> Any:
        """The part of ``gap`` a cancellation of the order due closes (``saved``: what cancelling
        all of it saves): all of it, but where a distress sale (rule 4; ``resale`` None: off) of its
        GPUs would raise at least that, only the part above the default level, which no sale
        covers; the rest is left to the sale, which keeps the GPUs' price for the company
        (docs/evaluation.md, policy rule 0)."""
        if resale is None:
            return gap
        xp, cols, value = self.xp, self.cols, 0.0
        for g, gpus in enumerate(self.due_gpus):
            if gpus is not None:
                value = value + gpus * sale_value_per_gpu(cols.gen_sale_value[g, t], cols.gen_held[g, t],
                                                          resale, xp)  # fmt: skip
        above_default = (self.fin.min_cash + cols.liquidity_buffer) - self.fin.default_cash
        return xp.where(value >= saved, xp.minimum(gap, above_default), gap)

    def _taken(self, t: int, now: list, capex: Any) -> Adjustments:
        """The shares of each generation's market GPUs and GPUs held that are missing (None where
        nothing is missing, or no plan has any such GPUs in ``t``: a share of exactly 0)."""
        xp, cols = self.xp, self.cols
        market = [None if m is None or not cols.gen_on_market[g, t] else
                  taken_share(m, cols.gen_market_inverse[g, t], xp) for g, m in enumerate(now)]
        held = [None if m is None or not cols.gen_is_held[g, t] else
                taken_share(m, cols.gen_held_inverse[g, t], xp) for g, m in enumerate(now)]
        return Adjustments(market, held, capex)

    def sell(self, t: int, state, resale_factor: Any) -> None:
        """After quarter ``t``'s financing: distress sales while cash is below the default level
        (`finance.default_cash_usd`). Computed on the pairs short of cash alone where they are
        few, else on the whole block with the others' sales set to 0 (the same numbers either way)."""
        if not (self.on and self.policy.distress_sales):
            return
        if self.keep_sold:
            self.sold_now = [None] * self.G
        xp, cols = self.xp, self.cols
        gap = self.fin.default_cash - state.cash
        short = gap > LIQUIDITY_TOLERANCE_USD
        n = int(xp.count_nonzero(short))
        if n == 0:
            return
        if n > DENSE_SALES_SHARE * short.size:
            pairs, only = Pairs.every(self.shape, xp), short
        else:
            pairs, only = Pairs.where(short, self.shape, xp), None
            gap = pairs.take(gap)
        # a discount of 0 multiplies by 1.0: the same bits as without it
        resale = pairs.take(resale_factor) * self.policy.sale_share
        lot = float(self.policy.sale_block_gpus)
        # the cash and the proceeds at the pairs, added to generation by generation and written back
        # once (on the whole block: the arrays themselves): the same sums in the same order
        cash, sold_usd = pairs.take(state.cash), pairs.take(self.usd["distress_sold_usd"])
        gains = None if self.carried_gain is None else pairs.take(self.carried_gain)  # to tax next quarter
        for g in np.flatnonzero(cols.gen_on_market[:, t]):  # the others have no GPUs to sell
            held = pairs.take(cols.gen_held[g, t])
            value = sale_value_per_gpu(pairs.take(cols.gen_sale_value[g, t]), held, resale, xp)
            book = pairs.take(cols.gen_book[g, t]) / positive_divisor(held, xp)
            gone = self.not_held(g, pairs)
            gone = 0.0 if gone is None else gone
            available = xp.maximum(pairs.take(cols.gen_sellable[g, t]) - gone, 0.0)  # none needed later
            lots = xp.ceil(xp.maximum(gap, 0.0) / positive_divisor(lot * value, xp))
            sold = xp.minimum(lots * lot, available) * (value > 0)
            if only is not None:  # the whole block: nothing sold where cash is not short
                sold = sold * only
            proceeds = sold * value
            cash += proceeds
            sold_usd += proceeds
            gap = gap - proceeds
            sales = sold > 0
            if bool(sales.any()):  # else every term below adds exactly nothing
                self.missing[g] = pairs.added(self.missing[g], sold)
                if self.keep_sold:
                    self.sold_now[g] = pairs.added(None, sold)
                gain = sold * (value - book)
                gains = gain if gains is None else gains + gain
                pairs.flag(self.flags["sold"], sales)
        if pairs.at is not None:
            pairs.put(state.cash, cash)
            pairs.put(self.usd["distress_sold_usd"], sold_usd)
        if self.carried_gain is not None:
            pairs.put(self.carried_gain, gains)
        elif gains is not None:
            self.carried_gain = pairs.added(None, gains)

    def not_held(self, g: int, pairs: Pairs | None = None) -> Any:
        """(P, S) GPUs of generation ``g`` the plan holds in this quarter that the pair does not (None:
        none): sold or cancelled for good, or deferred to the next quarter by this quarter's order
        rule. A distress sale cannot sell them, nor a default's lenders recover them. ``pairs``:
        only at those pairs (None: every pair)."""
        if not self.on:
            return None
        missing, due = self.missing[g], self.due_gpus[g]
        if pairs is not None:  # taken before they are added: the same sums on fewer pairs
            missing, due = (None if x is None else pairs.take(x) for x in (missing, due))
        return missing if due is None else plus(missing, due)

    def planned_sales_cut(self, g: int, t: int) -> Any:
        """(P, S) share of the plan's own sale of generation ``g`` in quarter ``t`` that the pair
        cannot make (None: all of it is made): of the D GPUs the plan sells out of the H + D it held
        (H after the sale), with m not held, the missing ones are those the plan keeps, first, so
        min(m, H + D) - min(m, H) of its sale are missing; the pair then lacks at most H - the GPUs
        deferred to the next quarter (docs/evaluation.md, "GPUs taken out")."""
        gone = self.not_held(g)
        if gone is None:
            return None
        xp, held, sold = self.xp, self.cols.gen_held[g, t], self.cols.gen_retired_gpus[g, t]
        cut = xp.minimum(gone, held + sold) - xp.minimum(gone, held)
        selling = sold > 0  # (P, 1): the plans that dispose of some (a `where` only where some do not)
        if self.missing[g] is not None and bool(selling.any()):
            kept = held if self.due_gpus[g] is None else xp.maximum(held - self.due_gpus[g], 0.0)
            capped = xp.minimum(self.missing[g], kept)
            self.missing[g] = capped if bool(selling.all()) else xp.where(selling, capped, self.missing[g])
        return cut / positive_divisor(sold, xp)

    def prepayment_floor(self, t: int) -> Any:
        """The cash quarter ``t``'s planned prepayments may not take cash below (plus the revolver
        drawn): the minimum cash plus the plan's buffer; None without the prepayment rule, or when no
        plan prepays in ``t``. The part the borrowing base needs is paid whatever the floor
        (core.economics.policy_balances.base_cut_limit)."""
        if not (self.cuts and self.cols.any_prepay[t]):
            return None
        return self.fin.min_cash + self.cols.liquidity_buffer

    def count_cut(self, cut: Any) -> None:
        self.flags["prepayment_cut"] |= cut > 0

    def count_base_prepaid(self, prepaid: Any) -> None:
        """Count a quarter's mandatory prepayment of a borrowing-base deficiency (policy rule 6)."""
        self.base_prepaid[BASE_PREPAID] |= prepaid > 0
        self.base_prepaid[BASE_PREPAID_USD] += prepaid

    def gain(self) -> Any:
        """The distress-sale gain or loss to tax this quarter (and forget)."""
        gain, self.carried_gain = self.carried_gain, None
        return gain

    def terminal(self) -> tuple[Any, Any] | None:
        """The net realisable value and the book value of the GPUs gone at the end (to subtract), or
        None."""
        xp, cols, value, book, last = self.xp, self.cols, None, None, self.T - 1
        for g, m in enumerate(self.missing):
            if m is not None:
                share = taken_share(m, cols.gen_held_inverse[g, last], xp)
                value = plus(value, share * cols.gen_terminal[g])
                book = plus(book, share * cols.gen_terminal_book[g])
        return None if value is None else (value, book)

    def reactions(self) -> dict[str, Any]:
        xp = self.xp
        zero = xp.zeros(self.shape)
        usd = {name: self.usd.get(name, zero) for name in REACTION_USD}
        base = {n: v.astype(xp.float64, copy=False) for n, v in self.base_prepaid.items()}  # rule 6's
        if not self.flags:
            return {**{name: zero for name in LIQUIDITY_REACTIONS}, **usd, **base}
        return {**{n: f.astype(xp.float64) for n, f in self.flags.items()}, **usd, **base}


def sale_value_per_gpu(sale_value: Any, held: Any, resale: Any, xp: Any) -> Any:
    """What a distress sale (rule 4) raises per GPU of a generation: the plan's net resale value of
    its ``held`` GPUs (``sale_value``) per GPU, times ``resale`` (the scenario's factor times the
    sale's share, 1 - the discount)."""
    return sale_value / positive_divisor(held, xp) * resale


def positive_divisor(x: Any, xp: Any) -> Any:
    """``x`` where it is positive, else 1 (a divisor whose quotient is then masked or 0): the
    larger of ``x`` and ``x <= 0`` (1 where it is not positive), as ``where`` would give for any
    number (the divisors here are never NaN), in two cheap passes (a ``where`` costs about ten)."""
    return xp.maximum(x, x <= 0)
