"""The array simulation of a scenario block in tiles, one per thread (:func:`simulate_tiles`):
the (plans, scenarios) tiles (:func:`tiles`), the block laid out once for every chunk of plans
(:func:`scenario_layout`) and a chunk's plans laid out once for its blocks (:class:`PlanLayouts`).
Every pair is computed alone, so the tiling cannot change a bit."""

from __future__ import annotations

import itertools
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

from fleetopt.core.data import ModelData
from fleetopt.evaluate.backend import Backend
from fleetopt.evaluate.chunks import ChunkSpec
from fleetopt.evaluate.kernel.scenario_arguments import scenario_arguments
from fleetopt.evaluate.kernel.shape import kernel_fits
from fleetopt.evaluate.layout import PlanColumns, ScenarioRows
from fleetopt.evaluate.planbatch import PlanBatch
from fleetopt.evaluate.scenarios import ScenarioSet
from fleetopt.evaluate.simulate import SimulationConstants, simulate

# A tile smaller than this costs more in per-call overhead than a second thread gains.
MIN_TILE_PAIRS = 1 << 14


def tiles(P: int, S: int, threads: int) -> list[tuple[slice, slice]]:
    """(plans, scenarios) tiles of a block, one per thread: plans split where there are enough."""
    n = max(1, min(threads, (P * S) // MIN_TILE_PAIRS))
    if n == 1:
        return [(slice(0, P), slice(0, S))]
    if n <= P:
        cuts = np.linspace(0, P, n + 1).round().astype(int)
        return [(slice(a, b), slice(0, S)) for a, b in itertools.pairwise(cuts)]
    cuts = np.linspace(0, S, n + 1).round().astype(int)
    return [(slice(0, P), slice(a, b)) for a, b in itertools.pairwise(cuts)]


def scenario_layout(
    block: ScenarioSet, be: Backend, spec: ChunkSpec, data: ModelData, plans: PlanBatch
) -> ScenarioRows | dict | None:
    """``block`` laid out once for every chunk of ``plans`` evaluated on it: NumPy's rows, or the C
    build's scenario arguments where it runs the kernel; None where the backend lays it out itself."""
    if be.name == "numpy":
        return ScenarioRows(block, np)
    if be.name != "cpu-kernel" or not spec.kernel or spec.record:
        return None
    if kernel_fits(plans, SimulationConstants.from_data(data)) is not None:  # the array code runs them
        return None
    return scenario_arguments(block, np, scenario_major=True)


class PlanLayouts:
    """A chunk's plans laid out for the array simulation (:class:`~fleetopt.evaluate.layout.PlanColumns`),
    one per tile of plans: kept from one scenario block to the next while the same plans and tiles
    come (they depend on the plans only), made again for another delivery slip's plans, so that one
    set is held at a time, as the memory budget counts (:func:`table_sets`)."""

    def __init__(self, xp: Any):
        self.xp, self.chunk, self.key, self.made = xp, None, None, {}

    def of(self, chunk: PlanBatch, slip: int | None, plan_tiles: list[slice]) -> dict:
        """{(first, stop): (plans, their columns)} for each tile of ``chunk``'s plans (``slip``: the
        delivery slip that made ``chunk``; None or 0: the chunk's own plans)."""
        key = (slip or 0, tuple((p.start, p.stop) for p in plan_tiles))
        # the chunk itself is held, not its id: a chunk freed while the layouts live could leave its id
        # to another, which would get the freed one's layout
        if chunk is not self.chunk or key != self.key:
            self.chunk, self.key, self.made = chunk, key, {}  # the last set let go before the next is made
            for p in plan_tiles:
                plans = chunk if (p.start, p.stop) == (0, chunk.P) else chunk.take(p)
                self.made[p.start, p.stop] = (plans, PlanColumns(plans, self.xp))
        return self.made


def simulate_tiles(
    consts: SimulationConstants,
    chunk: PlanBatch,
    block: ScenarioSet,
    be: Backend,
    record: tuple[str, ...],
    rows: ScenarioRows | None = None,
    layouts: PlanLayouts | None = None,
    slip: int | None = None,
) -> dict:
    """:func:`simulate` on a block, split into tiles run on ``be.threads`` threads (NumPy releases
    the GIL in its array loops). Every pair is computed alone, so the tiling cannot change a bit.
    ``rows``: the block already laid out (NumPy); ``layouts``: the chunk's plans laid out by an
    earlier block (:class:`PlanLayouts`; ``slip``: the delivery slip ``chunk`` is made for)."""
    parts = tiles(chunk.P, block.S, be.threads if be.name in ("numpy", "cpu-kernel") else 1)
    layouts = layouts if layouts is not None else PlanLayouts(be.xp)
    if len(parts) == 1:
        columns = layouts.of(chunk, slip, [slice(0, chunk.P)])[0, chunk.P][1]
        return simulate(consts, chunk, block, xp=be.xp, record=record,
                        rows=rows if be.name == "numpy" else None, columns=columns)  # fmt: skip
    if parts[0][1] == slice(0, block.S):  # split by plans: every tile has the whole block
        shared = rows if rows is not None else ScenarioRows(block, np)
    else:
        shared = None
    made = layouts.of(chunk, slip, list({(p.start, p.stop): p for p, _ in parts}.values()))

    def run(tile):
        plans, scenarios = tile
        tile_plans, columns = made[plans.start, plans.stop]
        return simulate(consts, tile_plans, block.rows(scenarios), np, record, shared, columns=columns)

    with ThreadPoolExecutor(len(parts)) as pool:
        results = list(pool.map(run, parts))
    out = {}
    for name, first in results[0].items():
        whole = np.empty((chunk.P, block.S, *first.shape[2:]), dtype=first.dtype)
        for (plans, scenarios), part in zip(parts, results, strict=True):
            whole[plans, scenarios] = part[name]
        out[name] = whole
    return out
