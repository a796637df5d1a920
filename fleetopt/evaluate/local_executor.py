"""The in-process executor (:class:`LocalExecutor`): a run's chunks one after another in this
process, on its backend, those an earlier attempt stored read back, a chunk's rows kept in the
run's job folder where they go to a file (:func:`kept_rows_of`), and on a GPU the next chunks'
plan tables made ahead in threads and copied while the kernels run (:class:`GpuPrefetch`). The
executors of worker processes and Ray are :mod:`fleetopt.evaluate.process_executor`'s and
:mod:`fleetopt.evaluate.ray_executor`'s."""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor

from fleetopt.core.data import ModelData
from fleetopt.evaluate.backend import Backend, resolve_backend, usable_cores
from fleetopt.evaluate.chunk_eval import evaluate_chunk
from fleetopt.evaluate.chunks import ChunkSpec, scenario_block
from fleetopt.evaluate.kernel.cuda import DevicePlans, upload_tables
from fleetopt.evaluate.kernel.plan_tables import plan_tables
from fleetopt.evaluate.kernel.shape import kernel_fits
from fleetopt.evaluate.planbatch import PlanBatch
from fleetopt.evaluate.read_back import read_back_stored, report_read_back
from fleetopt.evaluate.simulate import SimulationConstants
from fleetopt.evaluate.spill import KeptRows
from fleetopt.evaluate.tiling import scenario_layout


class LocalExecutor:
    """Chunks one after another in this process, on the given backend."""

    def __init__(self, backend: str | Backend = "auto"):
        self.backend = backend if isinstance(backend, Backend) else resolve_backend(backend)
        self.backend_name = self.backend.name
        self.device = self.backend.device

    def run(self, data: ModelData, plans: PlanBatch, spec, chunks, store=None, progress=None) -> list[dict]:
        total = plans.P * spec.n_scenarios
        shared = (
            scenario_block(data, spec, 0, spec.n_scenarios, self.backend.threads)
            if spec.scenario_chunk >= spec.n_scenarios
            else None
        )
        rows = scenario_layout(shared, self.backend, spec, data, plans) if shared is not None else None
        results = read_back_stored(chunks, store, progress, spec.n_scenarios, total)
        todo = [index for index in range(len(chunks)) if index not in results]
        if store is not None and progress:  # the blocks of unfinished chunks an earlier attempt kept
            kept = store.unfinished()
            for first, stop in (chunks[index] for index in todo if chunks[index] in kept):
                report_read_back(progress, (stop - first) * kept[(first, stop)], total, part=True)
        ahead = self._prefetcher(data, plans, spec, chunks, todo)
        try:
            for index in todo:
                first, stop = chunks[index]
                tick = (lambda n: progress(n, total)) if progress else None
                chunk, tables = ahead.take(index) if ahead else (None, None)
                results[index] = evaluate_chunk(
                    data, chunk or plans.take(slice(first, stop)), spec, self.backend, tick, shared,
                    scenario_rows=rows, device_tables=tables,
                    while_running=(lambda i=index: ahead.prepare_after(i)) if ahead else None,
                    kept_rows=kept_rows_of(store, spec, first, stop),
                )  # fmt: skip
                if store is not None:
                    store.save(first, stop, results[index])
        finally:
            if ahead:
                ahead.close()
        return [results[index] for index in range(len(chunks))]

    def _prefetcher(self, data, plans, spec, chunks, todo) -> GpuPrefetch | None:
        """On a GPU running the fused kernel on several chunks: their plan tables made ahead
        (:class:`GpuPrefetch`); None elsewhere."""
        be = self.backend
        if be.name != "cupy" or not spec.kernel or spec.record or len(todo) < 2:
            return None
        return GpuPrefetch(be, SimulationConstants.from_data(data), plans, chunks, todo)


def kept_rows_of(store, spec: ChunkSpec, first: int, stop: int) -> KeptRows | None:
    """The file of the run's job folder (``store``'s) that keeps the rows of plans ``first ..
    stop - 1`` block by block: where the run puts its rows in a file (``spec.rows_on_disk``, the
    scenarios in several blocks), or an earlier attempt kept some of the chunk's (a chunk
    :func:`continued_chunks` goes on with); None where the run keeps no job folder, or the rows in
    memory."""
    if store is None:
        return None
    in_a_file = spec.rows_on_disk and spec.scenario_chunk < spec.n_scenarios
    if not in_a_file and (first, stop) not in store.unfinished():
        return None
    return store.kept_rows(first, stop, spec.n_scenarios)


# Chunks whose plan tables a GPU run makes ahead, each in a thread of its own: making them (NumPy,
# about 70 us a plan of the default model on an H200 machine's cores) costs about what the kernel
# does, so one thread, between launches, left the GPU waiting (benchmarks/README.md, "GPU").
TABLES_AHEAD = 3


class GpuPrefetch:
    """The plan tables of the chunks after the one running, made in threads (NumPy releases the
    interpreter lock in its array loops), and the next chunk's copied to the device from pinned
    memory on an upload stream of its own, so that the copy overlaps the kernels."""

    def __init__(self, be: Backend, consts: SimulationConstants, plans: PlanBatch, chunks, todo: list[int]):
        self.be, self.consts, self.plans, self.chunks = be, consts, plans, chunks
        self.following = {index: todo[n + 1 : n + 1 + TABLES_AHEAD] for n, index in enumerate(todo)}
        self.upload = be.xp.cuda.Stream(non_blocking=True)
        self.pool = ThreadPoolExecutor(min(TABLES_AHEAD, usable_cores()))
        self.making: dict[int, Future] = {}
        self.staged: dict[int, tuple] = {}  # chunk index -> (its plans, their tables on the device)

    def _make(self, index: int) -> tuple[PlanBatch, dict | None]:
        first, stop = self.chunks[index]
        chunk = self.plans.take(slice(first, stop))
        fits = kernel_fits(chunk, self.consts) is None
        return chunk, plan_tables(self.consts, chunk) if fits else None

    def prepare_after(self, index: int) -> None:
        """While chunk ``index`` runs: the tables of the chunks after it in the making, and the
        next one's copied to the device."""
        after = self.following.get(index, [])
        for later in after:
            if later not in self.making and later not in self.staged:
                self.making[later] = self.pool.submit(self._make, later)
        if after and after[0] in self.making:
            chunk, tables = self.making.pop(after[0]).result()
            on_device = None if tables is None else upload_tables(tables, self.be.xp, self.upload)
            self.staged[after[0]] = (chunk, on_device)

    def take(self, index: int) -> tuple[PlanBatch | None, DevicePlans | None]:
        """Chunk ``index``'s plans and device tables where they were made ahead, else (None, None)."""
        return self.staged.pop(index, (None, None))

    def close(self) -> None:
        """Stop the threads and let go of the tables made ahead: a traceback kept after an error (a
        notebook keeps the last one) would otherwise hold them on the device."""
        self.pool.shutdown(wait=True, cancel_futures=True)
        self.staged.clear()
        self.making.clear()
