"""Tax on a quarter's income, with losses carried forward where the model says so, and the tax of
selling the fleet at the end.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from fleetopt.core.arrays import reusing


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
