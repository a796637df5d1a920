"""Delivery slips (``risk.delivery_slip``): the plans as a scenario's late deliveries leave them.

In a scenario whose factor ``delivery_slip`` is d > 0, every SKU of
:func:`~fleetopt.evaluate.factors.slipping_skus` ships d quarters after its ``available_from``
(quarter a): the GPUs a plan buys of it in a quarter before a + d are delivered in a + d, as the
model's cohort bought then (their age, depreciation, resale and book values run from delivery),
paid then at the price of the quarter they were ordered in (the signed price; the model pays a
GPU's whole price on delivery), not in service, drawing no power and costing no opex before; the
GPU-backed draws that fund them (their share of the quarter's GPU purchases, as policy rule 0's
deferred draws) are drawn in a + d where the facility may draw then, else not at all. A contract
those GPUs were to serve is then delivered short, and the policy's rules 1-2 (rescheduling within
its allowance, then cancellation) apply as for late power. A slip moving the deliveries of an SKU
a plan buys past the horizon's end, or past the SKU's ``available_until``, is refused by name.

A slip changes the plan a scenario runs, not the quarter step: each plan is compiled once per
possible slip (:func:`slipped_variants`, kept in ``PlanBatch.slipped``) and each scenario is run
on the variant of its slip (:func:`by_slip`), by NumPy's simulation and the kernel alike. Without
the block, or with probability 0, there are no variants and nothing changes, bit for bit.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from fleetopt.core.data import ModelData
from fleetopt.core.economics.operating import block_price_usd, gpu_purchases_usd
from fleetopt.core.plan import COHORT_DECISIONS, Plan
from fleetopt.errors import InputError
from fleetopt.evaluate.factors import slipping_skus
from fleetopt.evaluate.planbatch import PlanBatch
from fleetopt.evaluate.scenarios import ScenarioSet

# of the per-cohort decisions that move with a late cohort's GPUs (COHORT_DECISIONS), the flows:
# those the plan makes before the GPUs arrive are made on delivery (a GPU it sold before then is
# sold on delivery; dropped, it was paid for and never held nor sold)
_COHORT_FLOWS = ("redeploy", "retire_training", "retire_inference")


def slips(data: ModelData) -> list[int]:
    """The slips, in quarters, a scenario of ``data`` may draw besides 0 (none: the factor is off)."""
    slip = data.risk.delivery_slip
    if slip is None or slip.probability <= 0 or not slipping_skus(data):
        return []
    return list(range(slip.min_quarters, slip.max_quarters + 1))


def slipped_variants(data: ModelData, stack: Plan, compile_one: Callable[..., PlanBatch]
                     ) -> dict[int, PlanBatch]:  # fmt: skip
    """Each slip d of :func:`slips` -> the plans of ``stack`` with their deliveries d quarters late,
    compiled by ``compile_one(slipped stack, capex added (P, T), price paid a GPU (P, S, I, T))``."""
    return {d: compile_one(*slipped_stack(data, stack, d)) for d in slips(data)}


def slipped_stack(data: ModelData, stack: Plan, d: int) -> tuple[Plan, np.ndarray, np.ndarray]:
    """The plans of ``stack`` (leading plan axis) with every slipping SKU's deliveries ``d`` quarters
    late (the module docstring); (P, T) the capex to add: the signed price of the GPUs moved less
    the delivery quarter's price, which the compiled cohort pays; and (P, S, I, T) the average price
    paid a GPU bought in each quarter (the model's, but where late GPUs arrive: their signed price
    with the delivery quarter's own GPUs), which the policy's order rule defers and cancels."""
    out = {name: np.array(arr, dtype=float, copy=True) for name, arr in stack.arrays().items()}
    P, T = stack.buy_blocks.shape[0], data.T
    extra = np.zeros((P, T))
    paid = np.array(gpu_prices(data, stack))
    bought = gpu_purchases_usd(data, stack.buy_blocks)  # (P, T) at their prices, before any move
    block_price = block_price_usd(data)
    for s in slipping_skus(data):
        due = int(data.sku_release[s]) + d  # the first quarter s now ships
        early = slice(0, min(due, T))
        # none of s serves before it is delivered and installed: every GPU of s that would have is late
        idle = slice(0, min(due + int(data.install_quarters[s]), T))
        out["active"][:, :, s, :, idle] = 0.0
        out["contract_gpus"][:, :, s, :, idle] = 0.0
        moved = np.zeros((P, T))  # the price of the GPUs of s moved, by quarter ordered
        for i in range(data.I):
            blocks = out["buy_blocks"][:, s, i, early].copy()
            late = _cohorts_before(data, s, i, due)
            if not blocks.any() and not any(out[name][:, late].any() for name in COHORT_DECISIONS):
                continue
            target = _delivery_cohort(data, s, i, due)
            price = block_price[s, early]
            moved[:, early] += blocks * price
            out["buy_blocks"][:, s, i, early] = 0.0
            count = blocks.sum(axis=1)
            out["buy_blocks"][:, s, i, due] += count
            late_extra = (blocks * price).sum(axis=1) - count * block_price[s, due]
            extra[:, due] += late_extra
            gpus = out["buy_blocks"][:, s, i, due] * data.block_size[s]
            paid[:, s, i, due] += np.divide(late_extra, gpus, out=np.zeros(P), where=gpus > 0)
            for c in late:
                for name in COHORT_DECISIONS:
                    out[name][:, target, due:] += out[name][:, c, due:]
                    if name in _COHORT_FLOWS:  # made before delivery: made on it (held as planned)
                        out[name][:, target, due] += out[name][:, c, :due].sum(axis=-1)
                    out[name][:, c] = 0.0
        share = np.divide(moved, bought, out=np.zeros_like(moved), where=bought > 0)
        _move_draws(data, stack.draws, out["draws"], share, due)
    return Plan(**out), extra, paid


def gpu_prices(data: ModelData, stack: Plan) -> np.ndarray:
    """(P, S, I, T) the price of a GPU bought in each quarter, USD: the model's ``capex_path`` (a
    read-only view)."""
    return np.broadcast_to(data.capex_path[None, :, None, :], stack.buy_blocks.shape)


def _delivery_cohort(data: ModelData, s: int, i: int, due: int) -> int:
    """The cohort of SKU ``s`` at site ``i`` bought in quarter ``due``, which the late GPUs join.
    Refused where ``due`` is past the horizon (GPUs ordered and never delivered in it would be
    neither paid nor valued: a longer slip would look better) or past the SKU's sale dates."""
    name, slip = data.sku_names[s], data.risk.delivery_slip
    lower = "lower max_quarters" + (" and min_quarters" if slip.min_quarters == slip.max_quarters else "")
    if due >= data.T:
        most = data.T - 1 - int(data.sku_release[s])
        raise InputError(
            f"risk.delivery_slip: a slip of {due - int(data.sku_release[s])} quarters moves SKU {name}'s "
            f"first deliveries past the horizon's last quarter, {data.quarter_labels[-1]}, where the plan's "
            f"orders of it would be neither delivered nor paid: {lower} (at most {most} for {name})"
        )
    cohorts = (data.cohorts[c] for c in data.cohorts_by_sku_site[(s, i)])
    bought = {c.bought: c.index for c in cohorts if c.is_purchase}
    if due in bought:
        return bought[due]
    raise InputError(
        f"risk.delivery_slip: a slip moves SKU {name}'s first deliveries to {data.quarter_labels[due]}, "
        f"when the model no longer sells it (skus.{name}.available_until): {lower} (at most "
        f"{max(bought) - int(data.sku_release[s])} for {name}), or sell the SKU that quarter"
    )


def _cohorts_before(data: ModelData, s: int, i: int, due: int) -> list[int]:
    """The cohorts of SKU ``s`` at site ``i`` bought in the horizon before quarter ``due``."""
    return [c for c in data.cohorts_by_sku_site[(s, i)]
            if data.cohorts[c].is_purchase and data.cohorts[c].bought < due]  # fmt: skip


def _move_draws(data: ModelData, planned: np.ndarray, draws: np.ndarray, share: np.ndarray, due: int) -> None:
    """Move ``share`` (P, T) of each GPU-backed facility's ``planned`` draws (P, F, T) of the quarters
    before ``due`` to ``due``, in ``draws`` (in place); dropped where the facility cannot draw then."""
    T = data.T
    for f, facility in enumerate(data.facilities):
        if facility.max_ltv is None:
            continue
        late = planned[:, f, : min(due, T)] * share[:, : min(due, T)]
        draws[:, f, : min(due, T)] -= late
        if due < T and due in facility.draw_quarters:
            draws[:, f, due] += late.sum(axis=1)


def by_slip(simulate_block: Callable[[PlanBatch, ScenarioSet, int | None], dict], plans: PlanBatch,
            block: ScenarioSet, xp: Any = np) -> dict:  # fmt: skip
    """``simulate_block(plans, scenarios, slip)``'s (P, S, ...) results, each scenario of ``block``
    run on ``plans`` as its delivery slip leaves them (``plans.slipped``): the whole block at once
    (``slip`` None) where no scenario slips, else one call per slip
    drawn (0: on time), on those scenarios alone, put back in the block's order (a pair's result
    does not depend on the scenarios simulated with it)."""
    drawn = np.asarray(block.delivery_slip)
    if not drawn.any():
        return simulate_block(plans, block, None)
    missing = sorted({int(d) for d in np.unique(drawn)} - {0} - set(plans.slipped))
    if missing:
        raise InputError(
            f"the scenarios slip deliveries by {missing} quarters (risk.delivery_slip), but the plans were "
            "compiled without those slips: compile them with the model they are evaluated under"
        )
    out: dict = {}
    for d in np.unique(drawn):
        rows = np.flatnonzero(drawn == d)
        part = simulate_block(plans.slipped[int(d)] if d else plans, block.rows(rows), int(d))
        at = xp.asarray(rows)
        for name, value in part.items():
            if name not in out:
                out[name] = xp.empty((plans.P, block.S, *value.shape[2:]), dtype=value.dtype)
            out[name][:, at] = value
    return out


def slipped_pairs(plans: PlanBatch, block: ScenarioSet) -> np.ndarray:
    """(P, S) True where the scenario's slip makes GPUs the plan bought arrive late (it buys a
    slipping SKU before the quarter that SKU now ships in)."""
    drawn = np.asarray(block.delivery_slip)
    out = np.zeros((plans.P, block.S), dtype=bool)
    for d, variant in plans.slipped.items():
        moved = (variant.capex != plans.capex).any(axis=1) | (variant.held != plans.held).any(axis=1)
        out[:, drawn == d] = moved[:, None]
    return out
