"""A run's chunks of plans and blocks of scenarios: what a chunk's result depends on besides the
model and its plans (:class:`ChunkSpec`), the plans of each chunk (:func:`plan_chunks`), the
scenarios of each block (:func:`scenario_blocks`) and a block made, in threads, the last one kept
for a worker's next chunk (:func:`scenario_block`). How large they are to fit the memory budget is
:mod:`fleetopt.evaluate.chunking`."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from fleetopt.core.data import ModelData
from fleetopt.evaluate.scenarios import ScenarioSet, deterministic_scenarios, generate_scenarios


@dataclass(frozen=True)
class ChunkSpec:
    """Everything a chunk's result depends on besides the model and its plans."""

    n_scenarios: int
    seed: int
    scenario_chunk: int
    deterministic: bool = False
    keep_matrix: bool = False
    record: tuple[str, ...] = ()
    kernel: bool = True
    keep_outcomes: bool = False
    # the chunk's rows of results in a file, not in memory (:func:`rows_on_disk`): how it
    # is computed, never what (the same bits)
    rows_on_disk: bool = False
    # each pair's present cost and its metrics (PRESENT_COST_COLUMNS) computed too: plans solved for cost
    present_cost: bool = False
    # each pair's mandatory prepayments of a borrowing-base deficiency and their metrics
    # (BASE_PREPAY_COLUMNS) kept too: the model's policy rule 6 on (data.policy.prepay_borrowing_base)
    base_prepay: bool = False


# The last scenario block a worker process made, kept for its next chunk of plans: a worker
# (process pool or Ray) computes chunk after chunk on the same scenarios, and making them can cost
# as much as simulating a chunk. Keyed by the model's content (Ray hands each task its own copy).
_LAST_BLOCK: list = []
_KEEP_AT_MOST_BYTES = 512 * 1024**2
# Fewer scenarios than this per thread are made on one thread.
MIN_SCENARIOS_PER_THREAD = 2048


def scenario_block(
    data: ModelData, spec: ChunkSpec, start: int, stop: int, threads: int = 1, keep: bool = False
) -> ScenarioSet:
    """Scenarios ``start .. stop - 1`` of the run (copies of the forecast when deterministic),
    made in ``threads`` parts at once (scenario i depends only on the seed and i). ``keep``: reuse
    the last block kept by this process if it is the same, and keep this one."""
    key = (data.fingerprint, spec.seed, spec.deterministic, start, stop) if keep else None
    if keep and _LAST_BLOCK and _LAST_BLOCK[0][0] == key:
        return _LAST_BLOCK[0][1]
    if spec.deterministic:
        block = deterministic_scenarios(data, stop - start)
        block.index = np.arange(start, stop)
    else:
        parts = min(threads, max(1, (stop - start) // MIN_SCENARIOS_PER_THREAD))
        if parts == 1:
            block = generate_scenarios(data, spec.seed, start, stop)
        else:
            cuts = np.linspace(start, stop, parts + 1).round().astype(int)
            with ThreadPoolExecutor(parts) as pool:
                pieces = list(
                    pool.map(lambda a, b: generate_scenarios(data, spec.seed, a, b), cuts[:-1], cuts[1:])
                )
            block = ScenarioSet.concatenate(pieces)
    if keep:
        small = sum(v.nbytes for v in block.arrays().values()) <= _KEEP_AT_MOST_BYTES
        _LAST_BLOCK[:] = [(key, block)] if small else []
    return block


def scenario_blocks(n_scenarios: int, scenario_chunk: int, first: int = 0) -> list[tuple[int, int]]:
    """(first, stop) scenario index of every block of at most ``scenario_chunk`` from scenario
    ``first`` on, in order."""
    return [(s0, min(n_scenarios, s0 + scenario_chunk)) for s0 in range(first, n_scenarios, scenario_chunk)]


def plan_chunks(n_plans: int, plan_chunk: int, kept=()) -> list[tuple[int, int]]:
    """(first, stop) plan index of every chunk, in order: the ``kept`` ranges (chunks an earlier
    attempt of the run stored, sized for the machine it ran on) as they are, and the plans between
    them in chunks of at most ``plan_chunk``. A kept range overlapping one taken before it is left
    out (its plans are in that one)."""
    chunks, p0 = [], 0
    for first, stop in [*sorted(kept), (n_plans, n_plans)]:
        if first < p0 or stop > n_plans:
            continue
        chunks += [(a, min(first, a + plan_chunk)) for a in range(p0, first, plan_chunk)]
        if stop > first:
            chunks.append((first, stop))
        p0 = stop
    return chunks
