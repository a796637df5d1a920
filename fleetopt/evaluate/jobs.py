"""Running evaluation chunks in parallel (worker processes, Ray tasks), with finished chunks kept on disk.

A chunk's result is a pure function of (model, the chunk's plans, seed, scenario count and
block size), so the executor and the order chunks finish in cannot change the result, and a run
killed part way can resume by computing only the chunks it has not stored. The in-process
executor is :class:`fleetopt.evaluate.local_executor.LocalExecutor`.
"""

from __future__ import annotations

import hashlib
import io
import itertools
import json
import os
import re
import signal
import socket
import threading
import time
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager, suppress
from dataclasses import asdict, fields
from pathlib import Path

import numpy as np

import fleetopt
from fleetopt.core.data import ModelData
from fleetopt.core.units import counted
from fleetopt.errors import EXIT_INTERRUPTED, FleetoptError, InputError, warn
from fleetopt.evaluate.backend import BackendError, resolve_backend
from fleetopt.evaluate.backend_choice import choose_backend
from fleetopt.evaluate.chunk_eval import evaluate_chunk
from fleetopt.evaluate.kernel.compiler import KernelBuildError, found_c_compiler
from fleetopt.evaluate.metrics import SLIP_COLUMNS
from fleetopt.evaluate.planbatch import PlanBatch
from fleetopt.evaluate.read_back import read_back_stored
from fleetopt.evaluate.spill import KeptRows, kept_record, record_path, rows_path
from fleetopt.runs import folder as run_folder
from fleetopt.runs.files import DAMAGED_NPZ_ERRORS, signals_deferred, sync_folder, write_bytes_atomic

_CHUNK_NAME = re.compile(r"^chunk-(\d+)-(\d+)-([0-9a-f]{64})\.npz$")
# an unfinished chunk's rows of results kept block by block (spill.KeptRows): rows-FIRST-STOP.bin and .json
_ROWS_NAME = re.compile(r"^rows-(\d+)-(\d+)\.(bin|json)$")


def run_fingerprint(data: ModelData, plans: PlanBatch, spec) -> dict:
    """What every chunk of a run is computed from: the model (:attr:`ModelData.fingerprint`), the
    plans (SHA-256 of every per-plan array of the batch; labels do not change a result) and each
    field of the run's :class:`~fleetopt.evaluate.chunks.ChunkSpec` (seed, number of scenarios,
    scenario block, deterministic, keep_matrix, recorded lines, kernel). A stored chunk is the run's
    when they agree but for the scenario block (:data:`_HOW_COMPUTED`), which is kept as a record."""
    digest = hashlib.sha256()
    for f in fields(plans):
        if f.name in ("labels", "slipped"):  # slipped: made from the plans and the model
            continue
        value = np.ascontiguousarray(getattr(plans, f.name))
        digest.update(f"{f.name}:{value.dtype.str}:{value.shape};".encode())
        digest.update(value.data)
    spec_fields = {k: _plain(v) for k, v in asdict(spec).items()}
    return {"model": data.fingerprint, "plans": digest.hexdigest(), **spec_fields}


# How a chunk is computed, never what it holds (block sizes and where the rows of results are kept
# never change a result; the per-pair outcomes an evaluation may keep in memory are never stored): a
# chunk stored with other blocks (a resume sized for a smaller machine) is still the run's.
_HOW_COMPUTED = ("scenario_chunk", "keep_outcomes", "rows_on_disk")


def _what_it_holds(fingerprint) -> dict | None:
    """A chunk's fingerprint without :data:`_HOW_COMPUTED` (None where it has none)."""
    if not isinstance(fingerprint, dict):
        return None
    return {k: v for k, v in fingerprint.items() if k not in _HOW_COMPUTED}


def _plain(value):
    """A setting as JSON gives it back (a NumPy number as a number, a tuple as a list)."""
    if isinstance(value, np.generic):
        return value.item()
    return list(value) if isinstance(value, tuple) else value


class OtherRunsChunks(InputError):
    """A job folder's intact finished chunks were computed for another run than the one resuming it
    (its job.json, model.yaml or plans changed since it started): refused, never removed."""


class ChunkStore:
    """Finished chunks in ``folder``: ``chunk-<first>-<stop>-<sha256>.npz``, written then renamed.

    The name carries the checksum of the bytes, and the metadata inside the fingerprint of what the
    chunk was computed from (:func:`run_fingerprint` and its plan range). Once a run has told the
    store its fingerprint (:meth:`expect`), a stored chunk is never trusted unless both match: a
    truncated or corrupt file is removed and recomputed, and the run is warned how many were. One
    of another run (other settings, model or plans; copied from another folder) is removed and
    recomputed the same way, unless ``refuse_other_runs`` (a job folder's store: those chunks are
    the job's finished work, and its job.json was edited or damaged): then :meth:`expect` refuses
    the run (:class:`OtherRunsChunks`), naming what differs, and removes nothing.
    """

    def __init__(self, folder: str | Path, n_scenarios: int | None = None, metrics: tuple[str, ...] = (),
                 refuse_other_runs: bool = False):  # fmt: skip
        self.folder = Path(folder)
        self.refuse_other_runs = refuse_other_runs
        if not self.folder.is_dir():
            self.folder.mkdir(parents=True, exist_ok=True)
            sync_folder(self.folder.parent)  # the new folder's name kept, as its chunks' are
        # what a chunk of this run must hold, where known: a file with the right checksum but other
        # contents (another version, a hand-made file) is recomputed, never trusted
        self.n_scenarios = n_scenarios
        self.metrics = set(metrics)
        self.fingerprint: dict | None = None  # set by expect(): None accepts any fingerprint
        self.device: str | None = None  # where this attempt computes, kept with each chunk it saves

    def expect(self, data: ModelData, plans: PlanBatch, spec) -> None:
        """Bind the store to a run: from now on only chunks of its fingerprint are used. The chunks
        stored already are checked now; those that are not this run's are removed, with a warning
        saying how many and why (so a resume never mixes them with its own); with
        ``refuse_other_runs``, intact chunks of another run are refused before anything is removed."""
        self.fingerprint = run_fingerprint(data, plans, spec)
        self.n_scenarios = spec.n_scenarios
        corrupt, foreign = [], []
        for path in sorted(self.folder.glob("chunk-*.npz")):
            match = _CHUNK_NAME.match(path.name)
            if not match:
                continue
            verdict = self._verdict(path, match)
            if verdict is None:
                corrupt.append(path)
            elif verdict is not True:
                wanted = self._chunk_fingerprint(int(match.group(1)), int(match.group(2)))
                foreign.append((path, verdict, wanted))
        if foreign and self.refuse_other_runs:
            names = [f[0].name for f in foreign]
            raise OtherRunsChunks(_other_runs_refused(self.folder, [f[1:] for f in foreign], names))
        for path in [*corrupt, *(f[0] for f in foreign)]:
            path.unlink(missing_ok=True)
        _warn_discarded(self.folder, len(corrupt), [f[1:] for f in foreign])
        self._tidy_unfinished()

    def _tidy_unfinished(self) -> None:
        """Remove the kept rows of unfinished chunks that this run cannot go on from: those whose
        chunk was saved since (a stop between the two), those of no block yet, and those damaged or
        of another run (with a warning: their plans are computed again)."""
        saved, wanted = self.ranges(), self.unfinished()
        unusable = set()
        for path in sorted(self.folder.glob("rows-*")):
            match = _ROWS_NAME.match(path.name)
            if not match:
                continue
            first, stop = int(match.group(1)), int(match.group(2))
            if (first, stop) not in wanted or any(a < stop and first < b for a, b in saved):
                if match.group(3) == "json" and (first, stop) not in wanted:
                    unusable.add((first, stop))
                self.drop_unfinished(first, stop)
        if unusable:
            warn(f"{self.folder}: the rows of {counted(len(unusable), 'unfinished chunk')} an earlier "
                 "attempt kept are damaged or were computed for another run: removed, and computed again")

    def unfinished(self) -> dict[tuple[int, int], int]:
        """The chunks an earlier attempt left unfinished, their rows kept block by block in this
        folder (:class:`~fleetopt.evaluate.spill.KeptRows`): (first, stop) plan index -> the
        scenarios kept, of this run's (once :meth:`expect` bound it)."""
        found = {}
        for path in self.folder.glob("rows-*.json"):
            match = _ROWS_NAME.match(path.name)
            if not match or self.n_scenarios is None:
                continue
            first, stop = int(match.group(1)), int(match.group(2))
            record = kept_record(self._rows_stem(first, stop), self._rows_identity(first, stop), stop - first,
                                 self.n_scenarios)  # fmt: skip
            if record is not None:
                found[(first, stop)] = record["done"]
        return found

    def kept_rows(self, first: int, stop: int, n_scenarios: int) -> KeptRows:
        """The file that keeps the rows of plans ``first .. stop - 1`` block by block: an unfinished
        chunk's, continued, else a new one."""
        stem, identity = self._rows_stem(first, stop), self._rows_identity(first, stop)
        return KeptRows(stem, identity, stop - first, n_scenarios, self.device or "")

    def drop_unfinished(self, first: int, stop: int) -> None:
        """Remove the kept rows of plans ``first .. stop - 1`` (their chunk saved, or not continued)."""
        stem = self._rows_stem(first, stop)
        for path in (rows_path(stem), record_path(stem)):
            path.unlink(missing_ok=True)

    def _rows_stem(self, first: int, stop: int) -> Path:
        return self.folder / f"rows-{first}-{stop}"

    def _rows_identity(self, first: int, stop: int) -> dict | None:
        """What an unfinished chunk's kept rows must be of: the chunk's fingerprint, but how it is
        computed (:data:`_HOW_COMPUTED`: a resume may take other blocks); None before :meth:`expect`."""
        return _what_it_holds(self._chunk_fingerprint(first, stop))

    def _verdict(self, path: Path, match) -> bool | dict | None:
        """True for a chunk of this run; None for a corrupt one; else the stored fingerprint."""
        first, stop = int(match.group(1)), int(match.group(2))
        data = path.read_bytes()
        if hashlib.sha256(data).hexdigest() != match.group(3):
            return None
        meta = _meta(data)
        if meta is None:
            return None
        if not self._is_this_runs(meta, first, stop):
            return meta.get("fingerprint") if isinstance(meta.get("fingerprint"), dict) else {}
        return True if self._parse(data, stop - first, first) is not None else None

    def _chunk_fingerprint(self, first: int, stop: int) -> dict | None:
        if self.fingerprint is None:
            return None
        return {**self.fingerprint, "plan_range": [int(first), int(stop)]}

    def _is_this_runs(self, meta: dict, first: int, stop: int) -> bool:
        """Whether a chunk's metadata says it holds plans ``first .. stop - 1`` of this run (any
        chunk before :meth:`expect`), however it was computed."""
        wanted = self._chunk_fingerprint(first, stop)
        return wanted is None or _what_it_holds(meta.get("fingerprint")) == _what_it_holds(wanted)

    def ranges(self) -> list[tuple[int, int]]:
        """(first, stop) of every stored chunk, in order (after :meth:`expect`: this run's)."""
        return stored_ranges(self.folder)

    def load(self, first: int, stop: int) -> dict | None:
        for path in self.folder.glob(f"chunk-{first}-{stop}-*.npz"):
            match = _CHUNK_NAME.match(path.name)
            if not match:
                continue
            data = path.read_bytes()
            intact = hashlib.sha256(data).hexdigest() == match.group(3)
            chunk = self._parse(data, stop - first, first) if intact else None
            if chunk is None:
                path.unlink(missing_ok=True)  # corrupt, truncated or not this run's: recompute
                continue
            return chunk
        return None

    def _parse(self, data: bytes, rows: int, first: int = 0) -> dict | None:
        """A stored chunk's result, or None unless it has metadata, this run's fingerprint (once
        :meth:`expect` set one) and arrays of this run's shapes."""
        meta = _meta(data)
        if meta is None:
            return None
        if not self._is_this_runs(meta, first, first + rows):
            return None
        try:
            with np.load(io.BytesIO(data), allow_pickle=False) as npz:
                arrays = {k: npz[k] for k in npz.files if k != "__meta__"}
        except DAMAGED_NPZ_ERRORS:
            return None
        metrics = {k[len("metric:") :]: v for k, v in arrays.items() if k.startswith("metric:")}
        npv = arrays.get("npv")
        shapes_fit = bool(metrics) and all(
            v.shape == (rows,) and v.dtype.kind == "f" for v in metrics.values()
        )
        if self.metrics and set(metrics) - set(SLIP_COLUMNS) != self.metrics:
            shapes_fit = False
        if npv is not None and (npv.ndim != 2 or npv.shape[0] != rows):
            shapes_fit = False
        if npv is not None and self.n_scenarios is not None and npv.shape[1] != self.n_scenarios:
            shapes_fit = False
        if npv is None and self.fingerprint is not None and self.fingerprint["keep_matrix"]:
            shapes_fit = False
        if not shapes_fit:
            return None
        # the fused kernel's forecast check, where it made one (else the run makes it in NumPy)
        forecast_ok = arrays.get("forecast_ok")
        if forecast_ok is not None and (forecast_ok.shape != (rows,) or forecast_ok.dtype != bool):
            forecast_ok = None
        # "stored": read from an earlier attempt (a resumed run's speed counts only what it computes);
        # "device": where that attempt computed it (absent in chunks saved before fleetopt kept it)
        return {"metrics": metrics, "npv": npv, "paths": {}, "kernel": bool(meta["kernel"]), "stored": True,
                "device": meta.get("device") or "not recorded (an earlier fleetopt)",
                "forecast_ok": forecast_ok}  # fmt: skip

    def save(self, first: int, stop: int, result: dict) -> None:
        arrays = {f"metric:{k}": v for k, v in result["metrics"].items()}
        if result.get("npv") is not None:
            arrays["npv"] = result["npv"]
        if result.get("forecast_ok") is not None:
            arrays["forecast_ok"] = np.asarray(result["forecast_ok"], dtype=bool)
        meta = {"kernel": bool(result.get("kernel")), "fingerprint": self._chunk_fingerprint(first, stop),
                "device": self.device}  # fmt: skip
        with signals_deferred():  # a finished chunk is saved whole even when the run is being stopped
            buf = io.BytesIO()
            np.savez(buf, __meta__=np.array(json.dumps(meta)), **arrays)
            data = buf.getvalue()
            digest = hashlib.sha256(data).hexdigest()
            write_bytes_atomic(self.folder / f"chunk-{first}-{stop}-{digest}.npz", data)
            self.drop_unfinished(first, stop)  # its rows, kept as it ran: the chunk holds its figures

    def count(self) -> int:
        return sum(1 for p in self.folder.glob("chunk-*.npz") if _CHUNK_NAME.match(p.name))

def _file_bytes(path: Path) -> int:
    """A file's size, bytes; 0 for one removed meanwhile (a resume tidying up)."""
    try:
        return path.stat().st_size
    except OSError:
        return 0


def kept_rows_bytes(folder: Path) -> int:
    """Bytes of the rows kept of unfinished chunks in a job's chunks/ ``folder`` (rows-FIRST-STOP.bin,
    each :func:`~fleetopt.evaluate.spill.kept_file_bytes` of its plans and scenarios): by far a
    stopped job's largest files where a chunk's rows went to a file. Read only (a ChunkStore makes
    its folder)."""
    paths = folder.glob("rows-*.bin") if folder.is_dir() else ()
    return sum(_file_bytes(p) for p in paths if _ROWS_NAME.match(p.name))


def folder_bytes(folder: Path) -> int:
    """Bytes of the files in ``folder`` and below it: what deleting it frees."""
    return sum(_file_bytes(p) for p in folder.rglob("*") if not p.is_dir())


def stored_ranges(folder: Path) -> list[tuple[int, int]]:
    """(first, stop) of every chunk file in ``folder``, by its name, in order."""
    found = {(int(m.group(1)), int(m.group(2))) for p in folder.glob("chunk-*.npz")
             if (m := _CHUNK_NAME.match(p.name))}  # fmt: skip
    return sorted(found)


def _meta(data: bytes) -> dict | None:
    """A stored chunk's metadata (``kernel``, ``fingerprint``), or None where it has none."""
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as npz:
            meta = json.loads(str(npz["__meta__"]))
        bool(meta["kernel"])
    except DAMAGED_NPZ_ERRORS:
        return None
    return meta


def _differences(stored: dict, expected: dict) -> list[str]:
    """How a stored chunk's fingerprint differs from the run's, in words."""
    if not stored:
        return ["no fingerprint: saved by an older fleetopt, or not by fleetopt"]
    said = []
    for key, value in expected.items():
        if stored.get(key) == value or key in _HOW_COMPUTED:
            continue
        if key == "model":
            said.append("another model")
        elif key == "plans":
            said.append("other plans")
        elif key == "plan_range":
            said.append("another plan range than its file name says")
        else:
            said.append(f"{key} {json.dumps(stored.get(key))} where this run has {json.dumps(value)}")
    return said


def _why_other_run(foreign: list[tuple[dict, dict]]) -> str:
    """How stored chunks' fingerprints differ from the run's, each difference once."""
    return "; ".join(dict.fromkeys(d for stored, expected in foreign for d in _differences(stored, expected)))


def _other_runs_refused(folder: Path, foreign: list[tuple[dict, dict]], names: list[str]) -> str:
    """Why a job folder's finished chunks of another run (files ``names``) refuse its resume, and
    what to do: the files named where they are few, so that one stray chunk (copied in, renamed) is
    deleted alone rather than the job's every finished chunk."""
    were = "was" if len(foreign) == 1 else "were"
    which = f" ({', '.join(names)})" if len(names) <= SHOWN_CHUNKS else ""
    them = "it" if len(names) == 1 else "them"
    return (
        f"{folder}: {counted(len(foreign), 'finished chunk')}{which} of this job {were} computed for "
        f"another run than the one now resuming it ({_why_other_run(foreign)}): the job's job.json, "
        f"model.yaml or plans file was changed since it started, or the file{'' if len(names) == 1 else 's'} "
        f"copied in. Nothing was removed: restore what was changed to finish the job with its finished "
        f"work; or, where only {them} {'is' if len(names) == 1 else 'are'} astray, delete {them} and resume "
        f"(the rest is kept); or delete {folder} to compute every chunk again as the job now reads, then "
        "resume; or start the run anew in another folder"
    )


SHOWN_CHUNKS = 3  # a refusal names this many chunk files at most


def _warn_discarded(folder: Path, corrupt: int, foreign: list[tuple[dict, dict]]) -> None:
    """One warning for the stored chunks :meth:`ChunkStore.expect` removed, saying why."""
    parts = []
    if foreign:
        why = _why_other_run(foreign)
        parts.append(f"{counted(len(foreign), 'stored chunk')} computed for another run ({why})")
    if corrupt:
        parts.append(f"{counted(corrupt, 'stored chunk')} corrupt or truncated")
    if parts:
        message = f"{folder}: {' and '.join(parts)}: removed, and computed again"
        warn(message)


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


def _worker_chunk(data: ModelData, chunk: PlanBatch, spec, backend_name: str, fallback: bool = False) -> dict:
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


def _process_chunk(chunk: PlanBatch, spec, backend_name: str) -> dict:
    return _worker_chunk(_WORKER_DATA["data"], chunk, spec, backend_name)


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
            results = _gather(
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


def _gather(plans: PlanBatch, spec, chunks, store, progress, submit, next_done,
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
    return _worker_chunk(data, chunk, spec, backend_name, fallback)


def fleetopt_code() -> tuple[str, str]:
    """This process's fleetopt: its version and the fingerprint of the code computing the figures
    (:func:`~fleetopt.runs.code_stamp.figures_code`, which a job.json keeps)."""
    return fleetopt.__version__, run_folder.figures_code()


def _on_the_drivers_code(chunk_function):
    """``chunk_function`` as a task that first refuses a worker whose fleetopt is not this process's
    (:func:`fleetopt_code`): its figures may differ (a node of an older image), and the run mixed
    them with this code's in silence, as a job resumed by other code would (which job.json's
    fingerprint refuses). A closure, which Ray sends by value, naming only what every fleetopt has:
    a worker of a fleetopt before this check runs it too."""
    driver = fleetopt_code()

    def task(*args):
        # the modules, sent by name, are the worker's own (a fleetopt before the fingerprint has none);
        # read through runs.folder (which imports it from runs/code_stamp.py), a module every fleetopt
        # has: a worker's fleetopt older than runs/code_stamp.py would fail to load this task
        code = getattr(run_folder, "figures_code", None)
        here = (fleetopt.__version__, code() if code else "none")
        if here != driver:
            raise InputError(
                f"a Ray worker on {socket.gethostname()} runs fleetopt {here[0]} (code {here[1]}), not "
                f"the driver's fleetopt {driver[0]} (code {driver[1]}): its figures may differ, and the "
                "run would mix them; install the driver's fleetopt on every node of the cluster (the "
                "same image), or run on this machine with --executor local (the chunks saved are kept: "
                "--resume)"
            )
        return chunk_function(*args)

    return task


def _ray_init(ray, **settings) -> None:
    """``ray.init(**settings)``, SIGTERM left to the handler it had (the command's: a stop, exit 130,
    saying what is saved). Ray's driver sets its own as it starts (sys.exit(15); its local node's:
    exit 1), which ended a run stopped then, or before its chunks began, without a word and left
    processes of the local instance running; a stop while Ray starts (the SystemExit of Ray's
    handler, or a Ctrl-C) shuts down what it started and is a stop (KeyboardInterrupt). A program
    that leaves SIGTERM to its default action (or another thread than the main one, which cannot set
    handlers) keeps Ray's, which shuts Ray down before it exits."""
    previous = signal.getsignal(signal.SIGTERM)
    if previous in (signal.SIG_DFL, None) or threading.current_thread() is not threading.main_thread():
        ray.init(**settings)
        return
    try:
        ray.init(**settings)
        stopped = False
    except (SystemExit, KeyboardInterrupt):  # only Ray's SIGTERM handler exits inside ray.init
        stopped = True
    finally:
        signal.signal(signal.SIGTERM, previous)
    if stopped:
        # best effort: a second stop, or an instance too broken to shut down, leaves the stop as it is
        with suppress(Exception, KeyboardInterrupt):
            ray.shutdown()
        raise KeyboardInterrupt


def _ray_join_errors(ray) -> tuple[type[BaseException], ...]:
    """What ``ray.init(address=...)`` raises where it cannot join a cluster: ConnectionError, and
    (Ray releases with token authentication) AuthenticationError, where a token is asked for and none
    is set."""
    refused = getattr(getattr(ray, "exceptions", None), "AuthenticationError", None)
    return (ConnectionError, refused) if isinstance(refused, type) else (ConnectionError,)


def _not_joined(address: str, exc: BaseException) -> str:
    """Why Ray could not join the cluster at ``--ray-address`` ``address``, in fleetopt's options and
    with what to do: Ray's own message names its `--address` flag, and where a head requires a token
    (Ray 2.60's `ray start --head` does once ~/.ray/auth_token exists, which a local Ray run writes)
    it said only "Failed to connect", after 20 s of retries."""
    if address == "auto":
        return ("--ray-address auto: Ray found no cluster on this machine to join: start one (ray start "
                "--head), give its head as HOST:PORT, or leave --ray-address out to start a local one "
                "for the run")  # fmt: skip
    said = " ".join(str(exc).split())
    if not isinstance(exc, ConnectionError):  # Ray's word on the token asked for: what to set
        return f"--ray-address {address}: Ray could not join the cluster there: {said}"
    return (f"--ray-address {address}: Ray could not join the cluster there ({said}). Where its head "
            "requires a token (Ray's token authentication), set RAY_AUTH_MODE=token here, with the head's "
            "token in ~/.ray/auth_token or RAY_AUTH_TOKEN; otherwise check that the port is the head's (6379 "
            "unless `ray start --port` chose another)")  # fmt: skip


class RayExecutor:
    """Chunks as Ray tasks (one GPU each where the cluster has GPUs), retried when a worker dies.

    Each task runs the backend :meth:`choose` picked (CuPy on a cluster with GPUs unless told
    otherwise; else NumPy, or the C build of the kernel as in worker processes here), one thread."""

    def __init__(self, address: str | None = None, num_cpus: int | None = None, max_retries: int = 3):
        try:
            import ray
        except ImportError:
            raise RayUnavailable(
                'the Ray executor needs Ray: pip install "fleetopt[ray]" (or drop --executor ray)'
            ) from None
        self.ray = ray
        self.max_retries = max_retries
        if not ray.is_initialized():
            if address is not None:  # an empty one refused, not read as none: a local cluster
                check_ray_head(address)
                try:
                    _ray_init(ray, address=address, ignore_reinit_error=True, log_to_driver=False)
                except _ray_join_errors(ray) as exc:  # Ray's words name its own `--address` flag
                    raise RayUnavailable(_not_joined(address, exc)) from None
            else:  # a new local instance for the run, even beside a cluster `ray start` left running
                _ray_init(ray, address="local", num_cpus=num_cpus, ignore_reinit_error=True,
                          log_to_driver=False, include_dashboard=False)  # fmt: skip
        self.chunk_function = _ray_chunk
        resources = ray.cluster_resources()
        self.gpus, self.cpus = int(resources.get("GPU", 0)), int(resources.get("CPU", 0))
        self._use("cupy" if self.gpus else "numpy")

    def _use(self, backend_name: str, note: str = "", fallback: bool = False) -> None:
        self.backend_name, self.fallback = backend_name, fallback
        # a task per GPU on CuPy, else per CPU (a cluster's GPUs left idle by a CPU backend)
        self.parallelism = self.gpus if backend_name == "cupy" else max(self.cpus, 1)
        kind = {"cupy": "CuPy", "numpy": "NumPy", "cpu-kernel": "fused kernel built as C"}[backend_name]
        self.device = f"Ray cluster ({self.cpus} CPUs, {self.gpus} GPUs; {kind})"
        self.device += f"; {note}" if note else ""

    def choose(self, name: str, data: ModelData, plans: PlanBatch, n_scenarios: int) -> None:
        """The backend of every task for the backend ``name`` asked for: ``auto`` and ``cupy`` run
        CuPy on a cluster with GPUs (``cupy`` without one is refused); otherwise the choice of
        worker processes on this machine (``backend_choice.choose_backend``, one thread), made and
        built here. Where ``auto`` chose the C build, a task whose node cannot build it runs NumPy."""
        if name in ("auto", "cupy") and self.gpus:
            return self._use("cupy")
        if name == "cupy":
            raise BackendError(
                f"backend 'cupy' (--backend cupy): the Ray cluster has no GPUs ({self.cpus} CPUs): "
                "drop --backend cupy to run its CPUs, or join a cluster with GPU workers (--ray-address)"
            )
        be = choose_backend(name, 1, data, plans, n_scenarios, gpu=False)
        self._use(be.name, be.note, fallback=name == "auto")

    def run(self, data: ModelData, plans: PlanBatch, spec, chunks, store=None, progress=None) -> list[dict]:
        ray = self.ray
        gpus = 1 if self.backend_name == "cupy" else 0
        task = ray.remote(num_gpus=gpus, max_retries=self.max_retries)(
            _on_the_drivers_code(self.chunk_function)
        )
        data_ref = ray.put(data)
        fell_back: list[str] = []

        def next_done(handles):
            ref = ray.wait(handles, num_returns=1)[0][0]
            try:
                result = ray.get(ref)
            except ray.exceptions.RayTaskError as exc:  # our own errors read as raised here
                if isinstance(exc.cause, InputError):
                    raise exc.cause from None
                raise
            except _ray_losses(ray) as exc:  # a traceback and exit 1 before, not a word of the chunks saved
                raise _ray_lost(exc) from None
            if "fell_back" in result:
                fell_back.append(result.pop("fell_back"))
            return ref, result

        def submit(chunk):
            return task.remote(data_ref, chunk, spec, self.backend_name, self.fallback)

        def stopped(exc: BaseException, refs: list) -> None:
            # a lost node or raylet is left to Ray (which may end this process), and a stop exits at
            # once (Ray ends the tasks left with this driver): the tasks left are read after an error
            if not isinstance(exc, (WorkerLost, KeyboardInterrupt)):
                _read_tasks_left(ray, refs)

        results = _gather(plans, spec, chunks, store, progress, submit, next_done,
                          in_flight=_RAY_TASKS_PER_WORKER * self.parallelism, stopped=stopped)  # fmt: skip
        computed = sum(1 for r in results if not r.get("stored"))
        if fell_back and len(fell_back) == computed:  # no worker could build it: a NumPy run
            self._use("numpy", f"auto chose the C build of the kernel, and no worker could make it: the "
                               f"build {fell_back[0]}")
        elif fell_back:
            self.device += (
                f"; {len(fell_back)} of {len(chunks)} chunks ran NumPy, on workers where the C build "
                f"of the kernel {fell_back[0]}"
            )
        return results


# the tasks a Ray run keeps submitted per task it runs at once: its workers never wait for the next
# chunk, and a run stopped by a task's error has few tasks left, which it reads rather than cancels
_RAY_TASKS_PER_WORKER = 2

# how long a Ray run stopped by a task's error waits for its other tasks to end
_RAY_WAIT_SECONDS = 5.0


def _read_tasks_left(ray, refs: list) -> None:
    """The results of a Ray run's tasks left running when a task's error stopped it, read, errors
    too, within :data:`_RAY_WAIT_SECONDS`: Ray logged "Unhandled error" and a traceback for each
    task that failed unread, which after one task's error is most of the others (hundreds of lines
    below the run's one-line error). They are not cancelled: ``ray.cancel`` on a task whose reply
    is on its way aborts this process inside Ray (Ray 2.60: "Check failed: it !=
    submissible_tasks_.end() Tried to complete task that was not pending", a C++ stack trace and
    SIGABRT instead of the run's error: the race of a cancel with a task's reply that
    ray-project/ray#54798 mended for retries). The run keeps at most
    :data:`_RAY_TASKS_PER_WORKER` tasks per worker submitted, so few are left to end."""
    with suppress(Exception):
        for ref in ray.wait(refs, num_returns=len(refs), timeout=_RAY_WAIT_SECONDS)[0] if refs else []:
            with suppress(Exception):
                ray.get(ref)


# a worker process gone: most often the system's out-of-memory killer, else a signal or a crash
WORKER_LOST = ("a worker process ended before its chunk was done (killed by the system: out of memory, "
               "a signal, or a crash)")  # fmt: skip


# a Ray worker or node gone past the task's retries (the raylet or node died, the task killed for memory)
RAY_LOST = "a Ray worker or node was lost before its chunk was done, past the task's retries"
RAY_REMEDY = "once the cluster is back, or on this machine with --executor local"


def _ray_losses(ray) -> tuple[type[BaseException], ...]:
    """Ray's errors for a task whose worker, node or result was lost (not the task's own error)."""
    e = ray.exceptions
    return (e.WorkerCrashedError, e.LocalRayletDiedError, e.NodeDiedError, e.ObjectLostError,
            e.OutOfMemoryError)  # fmt: skip


def _ray_lost(exc: BaseException) -> WorkerLost:
    """The run stopped resumably by a lost Ray worker or node, naming Ray's error (its first line)."""
    said = (str(exc).strip().splitlines() or [""])[0]
    return WorkerLost(f"{RAY_LOST} ({type(exc).__name__}: {said})", RAY_REMEDY)


class WorkerLost(FleetoptError):
    """A worker process ended without its chunk (out of memory, a signal), or a Ray worker or node
    was lost: the chunks stored are kept, so the run is resumable, as a stopped one is (exit 130).
    ``remedy``: how to finish it, after the resume command."""

    exit_code = EXIT_INTERRUPTED

    def __init__(self, message: str, remedy: str = "with a smaller --max-memory or fewer --workers where "
                 "memory ran out"):  # fmt: skip
        super().__init__(message)
        self.remedy = remedy


class RayUnavailable(InputError):
    """Ray was asked for and is not installed, or the Ray head named does not answer."""


RAY_CONNECT_SECONDS = 5.0  # a Ray head on a reachable machine accepts a connection in well under this

# HTTP/2's client preface and an empty SETTINGS frame: a Ray head (its GCS, or the Ray Client server of
# ray://) is a gRPC server, whose first frame in answer is a SETTINGS frame of its own
_HTTP2_PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + bytes([0, 0, 0, 4, 0, 0, 0, 0, 0])
_SETTINGS_FRAME = 4  # the type of an HTTP/2 frame, the 4th byte of its 9-byte header


def check_ray_head(address: str, seconds: float = RAY_CONNECT_SECONDS) -> None:
    """Refuse a ``HOST:PORT`` (or ``ray://HOST:PORT``) where nothing accepts a connection within
    ``seconds``, or where what does is not a gRPC server (:func:`_answers_as_grpc`; not checked where
    Ray is told to use TLS, ``RAY_USE_TLS``): Ray itself retries for minutes (about 14 against a web
    server), printing only its own warnings. ``auto`` (the cluster this machine belongs to) is left to
    Ray."""
    if address == "auto":
        return
    host, _, port = address.removeprefix("ray://").rpartition(":")
    if not host or not (port.isascii() and port.isdigit()):  # '²' is a digit to isdigit(), not to int()
        raise RayUnavailable(
            f"--ray-address {address!r}: give the Ray head as HOST:PORT (e.g. 10.0.0.5:6379), "
            "ray://HOST:PORT or auto"
        )
    try:
        connection = socket.create_connection((host.strip("[]"), int(port)), timeout=seconds)
    except (OSError, ValueError) as exc:
        raise RayUnavailable(
            f"--ray-address {address}: no Ray head answers there within {seconds:g} s "
            f"({getattr(exc, 'strerror', None) or exc}): start one (ray start --head) or give its address"
        ) from None
    with connection:
        tls = os.environ.get("RAY_USE_TLS", "0").strip().lower() in ("1", "true")
        if not tls and not _answers_as_grpc(connection, seconds):
            raise RayUnavailable(
                f"--ray-address {address}: what answers there is not a Ray head (it did not answer as "
                f"one, a gRPC server, within {seconds:g} s): give the head's HOST:PORT (6379 unless `ray "
                "start --port` chose another; ray://HOST:10001 for Ray Client)"
            )


def _answers_as_grpc(connection: socket.socket, seconds: float) -> bool:
    """Whether the service on ``connection`` answers HTTP/2's preface as a gRPC server does, with a
    SETTINGS frame, each read within ``seconds`` (a web server answers in HTTP/1.1; others not at all)."""
    connection.settimeout(seconds)
    header = b""
    try:
        connection.sendall(_HTTP2_PREFACE)
        while len(header) < 9 and (part := connection.recv(9 - len(header))):
            header += part
    except OSError:  # a timeout, or the connection closed on us
        return False
    return len(header) == 9 and header[3] == _SETTINGS_FRAME
