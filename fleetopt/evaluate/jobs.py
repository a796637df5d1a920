"""Running a job's chunks in parallel: the loop the worker-process and Ray executors share, one
chunk in a worker (process or Ray task), a lost worker's stop.

A chunk's result is a pure function of (model, the chunk's plans, seed, scenario count and
block size), so the executor and the order chunks finish in cannot change the result, and a run
killed part way can resume by computing only the chunks it has not stored (:func:`gather_chunks`
reads those back). The executors are :class:`fleetopt.evaluate.local_executor.LocalExecutor` (in
this process), :class:`fleetopt.evaluate.process_executor.ProcessExecutor` (worker processes) and
:class:`fleetopt.evaluate.ray_executor.RayExecutor` (Ray tasks); the chunks are kept by
:class:`fleetopt.evaluate.chunk_store.ChunkStore`.
"""

from __future__ import annotations

import itertools

from fleetopt.core.data import ModelData
from fleetopt.errors import EXIT_INTERRUPTED, FleetoptError
from fleetopt.evaluate.backend import resolve_backend
from fleetopt.evaluate.chunk_eval import evaluate_chunk
from fleetopt.evaluate.kernel.compiler import KernelBuildError, found_c_compiler
from fleetopt.evaluate.planbatch import PlanBatch
from fleetopt.evaluate.read_back import read_back_stored


def worker_chunk(data: ModelData, chunk: PlanBatch, spec, backend_name: str, fallback: bool = False) -> dict:
    """One chunk in a worker (process or Ray task): one thread, since the workers already use the
    cores, and the scenario block kept for the worker's next chunk. ``fallback``: a C build that
    this worker cannot make (a Ray node without a compiler) runs NumPy instead, as ``auto`` does,
    the result saying why under "fell_back"; without it the build's error stops the run."""
    try:
        out = evaluate_chunk(data, chunk, spec, _worker_backend(backend_name), keep_scenarios=True)
    except KernelBuildError as exc:
        if not fallback:
            raise
        out = evaluate_chunk(data, chunk, spec, resolve_backend("numpy", threads=1), keep_scenarios=True)
        out["fell_back"] = exc.reason
    out["paths"] = {}
    return out


def _worker_backend(backend_name: str):
    """The backend of one worker, one thread; the C build on a machine without a compiler (a Ray
    node) is a :class:`KernelBuildError` naming the machine, as one whose compiler fails."""
    if backend_name == "cpu-kernel":
        found_c_compiler()
    return resolve_backend(backend_name, threads=1)


def gather_chunks(plans: PlanBatch, spec, chunks, store, progress, submit, next_done,
            in_flight: int | None = None, stopped=None) -> list[dict]:
    """The loop of the parallel executors: stored chunks are reused, the others submitted (at most
    ``in_flight`` at a time, where given; else at once) and stored one by one as they finish, in
    whatever order. ``stopped(exc, handles)``, where given, is called when an exception ``exc``
    stops the loop, before it propagates, with the handles submitted that ``next_done`` has not
    returned (the one whose error it raised among them)."""
    total = plans.P * spec.n_scenarios
    results = read_back_stored(chunks, store, progress, spec.n_scenarios, total)
    to_run = [n for n in range(len(chunks)) if n not in results]
    queue, pending = iter(to_run), {}

    def top_up():
        for n in itertools.islice(queue, max((in_flight or len(to_run)) - len(pending), 0)):
            first, stop = chunks[n]
            pending[submit(plans.take(slice(first, stop)))] = n

    try:
        top_up()
        while pending:
            handle, result = next_done(list(pending))
            n = pending.pop(handle)
            first, stop = chunks[n]
            results[n] = result
            if store is not None:
                store.save(first, stop, result)
            if progress:
                progress((stop - first) * spec.n_scenarios, total)
            top_up()
    except BaseException as exc:
        if stopped is not None:
            stopped(exc, list(pending))
        raise
    return [results[n] for n in range(len(chunks))]


def _ray_chunk(data, chunk, spec, backend_name, fallback=False):
    """The Ray task: one chunk, on the worker's GPU when Ray gave it one."""
    return worker_chunk(data, chunk, spec, backend_name, fallback)


class WorkerLost(FleetoptError):
    """A worker process ended without its chunk (out of memory, a signal), or a Ray worker or node
    was lost: the chunks stored are kept, so the run is resumable, as a stopped one is (exit 130).
    ``remedy``: how to finish it, after the resume command."""

    exit_code = EXIT_INTERRUPTED

    def __init__(self, message: str, remedy: str = "with a smaller --max-memory or fewer --workers where "
                 "memory ran out"):  # fmt: skip
        super().__init__(message)
        self.remedy = remedy


