"""Where a chunk's rows of results go in a run by the in-process executor: to a file, where they
would take too much of its memory budget now (:func:`rows_on_disk_here`), and the bytes that file
takes (:func:`rows_file_bytes`); and which chunks an earlier attempt left unfinished, their rows
kept, this attempt goes on from (:func:`continued_chunks`)."""

from __future__ import annotations

from pathlib import Path

from fleetopt.core.data import ModelData
from fleetopt.core.units import counted
from fleetopt.errors import warn
from fleetopt.evaluate.chunking import kept_fields, local_budget, rows_on_disk, splits_here
from fleetopt.evaluate.chunks import ChunkSpec
from fleetopt.evaluate.local_executor import LocalExecutor
from fleetopt.evaluate.planbatch import PlanBatch
from fleetopt.evaluate.result_fields import result_bytes
from fleetopt.evaluate.spill import KeptRows


def rows_on_disk_here(data: ModelData, plans: PlanBatch, n_scenarios: int, executor, max_memory: int | None,
                       sizes: tuple[int, int], record: tuple[str, ...], folder: Path | None = None
                       ) -> bool:  # fmt: skip
    """:func:`rows_on_disk` of a run by the in-process executor (never another's, whose chunks are
    sized to fit in memory) in ``folder``, within the budget it has now: the sizes may have been
    made before (a job's), for rows in a file or in memory; where the budget has since shrunk, the
    rows go to the file, and where it has grown they stay in memory, within the budget either way."""
    be = executor.backend if isinstance(executor, LocalExecutor) else None
    if be is None or not splits_here(be.name, record):
        return False
    free = be.free_memory_bytes() if max_memory is None else 0
    budget = local_budget(plans, be.name, free, max_memory)
    return rows_on_disk(data, plans, n_scenarios, be.name, budget, *sizes, folder)


def rows_file_bytes(data: ModelData, plans: PlanBatch, n_scenarios: int, executor, max_memory: int | None,
                    sizes: tuple[int, int], folder: Path | None = None) -> int:  # fmt: skip
    """Bytes of the file a chunk's rows of results take in a run by ``executor`` in chunks of
    ``sizes`` (plans, scenarios), where it keeps them in one in ``folder`` (the run's job folder:
    :class:`KeptRows`; None: a temporary file, :class:`SpilledRows`) (:func:`rows_on_disk_here`),
    else 0: what `fleetopt evaluate` says before it starts."""
    if not rows_on_disk_here(data, plans, n_scenarios, executor, max_memory, sizes, (), folder):
        return 0
    rows = result_bytes(min(sizes[0], plans.P), n_scenarios, kept_fields(data, plans))
    return rows if folder is None else rows + KeptRows.extra_bytes(n_scenarios)


def continued_chunks(store, executor, spec: ChunkSpec, plan_chunk: int) -> list[tuple[int, int]]:
    """The chunks an earlier attempt left unfinished (``store.unfinished()``) that this one goes on
    from, their rows kept: where it runs in this process on the CPU (:func:`splits_here`), its
    scenarios in several blocks, and its chunks hold as many plans (its budget holds their tables
    and blocks). The others' rows are removed, with a warning: their plans are computed again."""
    be = executor.backend if isinstance(executor, LocalExecutor) else None
    why = None
    if be is None or not splits_here(be.name, spec.record):
        why = "it runs in worker processes, on Ray or on a GPU"
    elif spec.scenario_chunk >= spec.n_scenarios:
        why = "it holds every scenario in one block"
    kept, dropped = [], []
    for first, stop in sorted(store.unfinished()):
        fits = why is None and stop - first <= plan_chunk
        (kept if fits else dropped).append((first, stop))
    for first, stop in dropped:
        store.drop_unfinished(first, stop)
    if dropped:
        why = why or f"its chunks hold at most {counted(plan_chunk, 'plan')}"
        named = ", ".join(f"plans {first + 1}-{stop}" for first, stop in dropped)
        warn(f"{store.folder}: the rows an earlier attempt kept of "
             f"{counted(len(dropped), 'unfinished chunk')} ({named}) are not continued by this attempt "
             f"({why}): those plans are computed again")
    return kept
