"""Quarter step 6 of the array simulation (docs/evaluation.md, "Covenants"): the borrowing base's
quantities and the covenants a quarter misses, as a mask of their kinds' bits."""

from __future__ import annotations

from typing import Any

import numpy as np

from fleetopt.core.arrays import less_product, plus_over
from fleetopt.core.covenants import FLOWS, kind_bit, net_debt, window_mean
from fleetopt.core.economics.debt import FinanceState, collateral_required
from fleetopt.core.economics.quarter_finance import QuarterFinance
from fleetopt.evaluate.liquidity import Adjustments


def borrowing_base(consts, pl, sc, state: FinanceState, taken: Adjustments | None, t: int,
                   xp: Any) -> dict | None:  # fmt: skip
    """The borrowing base's quantities at the end of quarter ``t`` (None: not tested then): the
    collateral the GPU-secured balances need (:func:`collateral_needed`) and the GPUs' gross resale
    value at the scenario's resale values, less the GPUs taken out (docs/evaluation.md, "Covenants")."""
    if not any(test.kind.facility_test and test.tested[t] for test in consts.covenants):
        return None
    value = pl.collateral[t]
    if taken is not None:
        for g, share in enumerate(taken.held):
            if share is not None:
                value = less_product(value, share, pl.gen_collateral[g, t], xp)
    return {"collateral_required": collateral_needed(consts.financing, pl, state, taken, t, xp),
            "collateral": value * sc.resale_factor[t]}  # fmt: skip


def collateral_needed(fin, pl, state: FinanceState, taken: Adjustments | None, t: int, xp: Any) -> Any:
    """(P, S) USD of collateral the GPU-secured balances need at the end of quarter ``t``, the
    borrowing base's left side: the plan's balances and those kept by cut prepayments, less those the
    pair never drew and the GPU-backed draws deferred to the next quarter."""
    required = collateral_required(fin, state.balance, xp)
    if state.kept is not None:
        for f in np.flatnonzero(fin.collateral_weight):
            required = required + fin.collateral_weight[f] * state.kept[..., f]
    if state.forgone is not None:  # the draws of cancelled orders, never drawn
        for slot, f in enumerate(state.forgone_facilities):
            required = less_product(required, fin.collateral_weight[f], state.forgone[..., slot], xp)
    if taken is not None and taken.draws_out is not None:
        required = less_product(required, taken.draws_out, pl.ltv_collateral[t], xp)
    return required


def base_cure_order(collateral_weight: np.ndarray) -> list[int]:
    """The GPU-secured facilities in the order a borrowing-base deficiency is repaid: where a USD
    repaid frees the most collateral first (the largest 1 / ``max_ltv``, the smallest ``max_ltv``),
    ties in the model's order; the stochastic solve's cure (milp/stochastic/scenario_model.py
    ``_collateral_cure``) repays at the smallest ``max_ltv`` too."""
    secured = np.flatnonzero(collateral_weight > 0)
    return sorted((int(f) for f in secured), key=lambda f: -collateral_weight[f])


def covenants_missed(consts, t: int, flows: dict, ebitda: Any, step: QuarterFinance, base: dict | None,
                     xp: Any) -> Any:  # fmt: skip
    """(P, S) the covenants quarter ``t`` misses (fleetopt/core/covenants.py): a sum of their kinds'
    bits, 0 where none is; None where none is tested in ``t``. ``base``: the borrowing base's
    quantities (:func:`borrowing_base`)."""
    window = consts.covenant_window
    quarter = {"ebitda": ebitda, "debt_service": step.debt_service, "interest": step.interest,
               "ebitda_less_tax": ebitda - step.tax}  # fmt: skip
    if window > 1:  # the flows of the last quarters, tested or not, for the trailing averages
        for name in FLOWS:
            flows[name] = [*flows[name][1 - window :], quarter[name]]
    tests = [test for test in consts.covenants if test.tested[t]]
    if not tests:
        return None
    values = {"debt": step.debt, "cash": step.cash, **(base or {})}
    if any(test.kind.numerator == "net_debt" for test in tests):
        values["net_debt"] = net_debt(step.debt, step.cash, xp)
    for name in FLOWS:
        values[name] = window_mean(flows[name], window) if window > 1 else quarter[name]
    missed = None  # one kind per test, so the sum of their bits is the mask
    for test in tests:
        bits = test.breached(values, xp) * float(kind_bit(test.kind))
        missed = plus_over(missed, bits, xp)
    return missed

