"""Systematic variations of a plan, each completed by the MILP with its strategic decisions fixed:
purchases a quarter earlier or later, volumes scaled, the Blackwell/Rubin mix swapped, one power
block more or fewer (:func:`variations`)."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from fleetopt.core.data import ModelData
from fleetopt.core.economics.operating import gpus_of_blocks
from fleetopt.core.plan import Plan

BLACKWELL, RUBIN = 1, 2


def plan_copy(plan: Plan) -> Plan:
    return Plan(**{k: v.copy() for k, v in plan.arrays().items()})


def shifted(data: ModelData, plan: Plan, k: int) -> Plan | None:
    """Every purchase moved ``k`` quarters (later if positive), kept inside the SKU's sale window:
    a purchase that cannot move that far moves as far as it can. None when nothing moves."""
    out = plan_copy(plan)
    out.buy_blocks[:] = 0
    for s, i, t in zip(*np.nonzero(plan.buy_blocks), strict=True):
        window = np.flatnonzero(data.on_sale[s])
        target = int(np.clip(t + k, window[0], window[-1]))
        out.buy_blocks[s, i, target] += plan.buy_blocks[s, i, t]
    return None if np.array_equal(out.buy_blocks, plan.buy_blocks) else out


def scaled(plan: Plan, factor: float) -> Plan | None:
    """Every purchase's blocks times ``factor``, rounded to whole blocks; None when that changes
    nothing (a purchase of one block stays one block at x0.75 and x1.25)."""
    out = plan_copy(plan)
    out.buy_blocks = np.round(plan.buy_blocks * factor)
    return None if np.array_equal(out.buy_blocks, plan.buy_blocks) else out


def mix_swapped(data: ModelData, plan: Plan) -> Plan | None:
    """Blackwell purchases bought as Rubin and Rubin as Blackwell where the other is on sale, at equal
    inference throughput (whole blocks); None when there is nothing to swap."""
    out = plan_copy(plan)
    out.buy_blocks[:] = 0
    gpus = gpus_of_blocks(data, plan.buy_blocks)
    for s, i, t in zip(*np.nonzero(plan.buy_blocks), strict=True):
        gen = data.sku_generation[s]
        target = {BLACKWELL: RUBIN, RUBIN: BLACKWELL}.get(int(gen))
        options = [o for o in range(data.S) if data.sku_generation[o] == target and data.on_sale[o, t]]
        if not options:
            out.buy_blocks[s, i, t] += plan.buy_blocks[s, i, t]
            continue
        o = options[0]
        throughput = gpus[s, i, t] * data.throughput[1, s]
        per_block = data.block_size[o] * max(data.throughput[1, o], 1e-9)
        out.buy_blocks[o, i, t] += max(1.0, round(throughput / per_block))
    return None if np.array_equal(out.buy_blocks, plan.buy_blocks) else out


def power_changed(data: ModelData, plan: Plan, delta: int) -> Plan | None:
    """One power block more (at the site and quarter of the first planned block, or the earliest
    possible) or fewer (the last planned block); None when nothing changes."""
    out = plan_copy(plan)
    built = list(zip(*np.nonzero(plan.build_blocks), strict=True))
    if delta < 0:
        if not built:
            return None
        i, t = built[-1]
        out.build_blocks[i, t] -= 1
        return out
    if built:
        i, t = built[0]
    else:
        choices = [(site.build_quarters[0], i) for i, site in enumerate(data.sites) if site.build_quarters]
        if not choices:
            return None
        t, i = min(choices)
    if plan.build_blocks[i].sum() + 1 > data.sites[i].max_blocks:
        return None
    out.build_blocks[i, t] += 1
    return out


def variations(data: ModelData, label: str, plan: Plan) -> Iterator[tuple[str, Plan | None, str]]:
    """(label, varied plan, what changed) for the systematic variations of a plan."""
    for k in (-2, -1, 1, 2):
        yield (
            f"{label}, buy {abs(k)}q {'earlier' if k < 0 else 'later'}",
            shifted(data, plan, k),
            "purchases shifted",
        )
    for factor in (0.75, 1.25):
        yield f"{label}, volumes x{factor:g}", scaled(plan, factor), "purchase volumes scaled"
    yield f"{label}, blackwell/rubin swapped", mix_swapped(data, plan), "generation mix swapped"
    yield f"{label}, +1 power block", power_changed(data, plan, +1), "one more power block"
    yield f"{label}, -1 power block", power_changed(data, plan, -1), "one power block fewer"

