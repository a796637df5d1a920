"""The worker-process executor: an evaluation's chunks on a pool of spawned processes on this
machine (:class:`ProcessExecutor`), each process one thread, ending with its parent; the pool
stopped at once by a stop (Ctrl-C, SIGTERM), its queued chunks dropped, its workers killed.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager

from fleetopt.core.data import ModelData
from fleetopt.evaluate.jobs import WorkerLost, gather_chunks, worker_chunk
from fleetopt.evaluate.planbatch import PlanBatch

_WORKER_DATA: dict = {}


def _init_worker(data: ModelData, parent: int) -> None:
    _WORKER_DATA["data"] = data
    _exit_with_parent(parent)


def _exit_with_parent(parent: int, every_s: float = 1.0) -> None:
    """A worker process ends once its ``parent`` (its pid, as the parent gave it) is gone: a parent
    killed outright (SIGKILL, out of memory) cannot stop its pool, whose workers would otherwise run
    on, holding their memory. The pid is the parent's own, not ``os.getppid()`` read here: a parent
    killed while its workers start left them adopted already, watching the wrong process forever."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(every_s)
        os._exit(1)

    threading.Thread(target=watch, name="fleetopt-parent-watch", daemon=True).start()


@contextmanager
def _sigint_ignored_by_new_processes():
    """Ctrl-C ignored while worker processes start, which they inherit (an ignored signal stays
    ignored across exec, and Python then installs no KeyboardInterrupt handler): the terminal sends
    Ctrl-C to the whole process group, and the parent alone stops the run, rather than every
    worker printing its traceback. A Ctrl-C in the milliseconds the workers take to start is lost.
    A no-op outside the main thread."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _process_chunk(chunk: PlanBatch, spec, backend_name: str) -> dict:
    return worker_chunk(_WORKER_DATA["data"], chunk, spec, backend_name)


class ProcessExecutor:
    """Chunks on a pool of worker processes on this machine, as they finish: NumPy, or the C build
    of the kernel (``backend_name`` "cpu-kernel", built before by the parent, so each worker loads
    it from the build cache), one thread each.

    For CPU runs on several cores: each process uses one. Results are identical to the in-process
    executor on the same backend: every chunk is the same pure function.
    """

    def __init__(self, workers: int, backend_name: str = "numpy", note: str = ""):
        if backend_name not in ("numpy", "cpu-kernel"):
            raise ValueError(f"worker processes run numpy or cpu-kernel, not {backend_name!r}")
        self.workers = self.parallelism = workers
        self.backend_name = backend_name
        kind = ", fused kernel built as C" if backend_name == "cpu-kernel" else ""
        # why auto chose this backend (backend_choice.choose_backend), when it says
        self.device = f"CPU ({workers} worker processes{kind})" + (f"; {note}" if note else "")

    def run(self, data: ModelData, plans: PlanBatch, spec, chunks, store=None, progress=None) -> list[dict]:
        from concurrent.futures import FIRST_COMPLETED, wait

        if spec.record:
            raise ValueError("recorded paths need the in-process executor")
        pool = _worker_pool(self.workers, data)

        def next_done(handles):
            future = next(iter(wait(handles, return_when=FIRST_COMPLETED)[0]))
            try:
                return future, future.result()
            except BrokenProcessPool:  # a traceback and exit 1 before
                raise WorkerLost(WORKER_LOST) from None

        submitted: list = []

        def submit(chunk):
            try:
                submitted.append(pool.submit(_process_chunk, chunk, spec, self.backend_name))
            except BrokenProcessPool:  # it broke while the stored chunks were read
                raise WorkerLost(WORKER_LOST) from None
            return submitted[-1]

        try:
            results = gather_chunks(
                plans,
                spec,
                chunks,
                store,
                progress,
                submit,
                next_done,
            )
        except BaseException:  # stopped: the queued chunks are dropped, the running ones ended
            _release_held_locks(submitted)
            _stop_pool(pool)
            raise
        pool.shutdown()
        return results


# how long a worker killed at a stop may take to end (it ends at once unless the system holds it)
_WORKER_END_SECONDS = 5.0


def _stop_pool(pool) -> None:
    """The pool stopped: its queued chunks dropped, its workers killed, and its thread left free to
    end. Shutdown first: the pool's thread drops the queued chunks before it sees its workers die;
    SIGKILL, since a SIGTERM that reaches a worker still starting (between fork and exec) is lost
    (the workers hold nothing to clean up: the parent stores the chunks). A worker killed while it
    sent its chunk's result leaves part of a message in the pipe of results, whose rest the pool's
    thread then waited for forever, and the process's exit with it, deaf to Ctrl-C and SIGTERM
    (`evaluate --workers 2` stopped by Ctrl-C printed "interrupted" and never exited): once the
    workers are gone, this process's own end for writing that pipe is closed, so that the thread
    reads the pipe's end and ends."""
    processes = list((pool._processes or {}).values())
    # CPython's pool internals (3.11-3.13): where a version lacks them, the stop is as it was before
    writer = getattr(getattr(pool, "_result_queue", None), "_writer", None)
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        process.kill()
    for process in processes:
        process.join(_WORKER_END_SECONDS)
    if writer is not None:
        writer.close()
    # the pool's thread closes its wake-up pipe as it ends; Python's exit wakes every pool's thread
    # through that pipe, checking first that it is open (CPython 3.11), so a thread closing it just
    # then made the exit print 'OSError: Bad file descriptor' after "interrupted" (a flaky run of
    # tests/test_jobs.py): the thread is let end first
    thread = getattr(pool, "_executor_manager_thread", None)
    if thread is not None:
        thread.join(_WORKER_END_SECONDS)


def _release_held_locks(futures: list) -> None:
    """Release the futures' locks this thread still holds: a stop (SIGTERM, Ctrl-C) raised inside
    ``wait()`` while it held them left them held for good, and the pool's thread, setting a
    result, then blocked on one, and the process's exit with it (it hung until killed)."""
    for future in futures:
        lock = future._condition._lock
        while getattr(lock, "_is_owned", lambda: False)():
            lock.release()


def _worker_pool(workers: int, data: ModelData):
    """``workers`` spawned processes holding ``data``, started at once, ignoring Ctrl-C."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    context = multiprocessing.get_context("spawn")  # no fork of a process that may hold solver threads
    with _sigint_ignored_by_new_processes():
        pool = ProcessPoolExecutor(workers, mp_context=context, initializer=_init_worker,
                                   initargs=(data, os.getpid()))  # fmt: skip
        for _ in range(workers):  # a worker process starts at each of the first submits
            pool.submit(int)
    return pool


# a worker process gone: most often the system's out-of-memory killer, else a signal or a crash
WORKER_LOST = ("a worker process ended before its chunk was done (killed by the system: out of memory, "
               "a signal, or a crash)")  # fmt: skip
