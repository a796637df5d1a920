"""Evaluation run folders: a job checked and fixed before it runs, saved chunk by chunk, resumable.

The folder holds job.json (plans file and its SHA-256, seed, scenarios, memory budget) and
model.yaml from the start, finished chunks in chunks/ as they come, and metrics.csv and
summary.json at the end (summary.json last: its presence marks a finished run).
"""

from __future__ import annotations

import io
import shutil
from collections.abc import Callable
from contextlib import suppress
from dataclasses import replace
from numbers import Integral
from pathlib import Path

import numpy as np

from fleetopt import __version__
from fleetopt.core.data import ModelData, load
from fleetopt.core.metric_columns import METRIC_COLUMNS
from fleetopt.core.units import counted, format_bytes, sizes_apart
from fleetopt.errors import Argument, FleetoptError, InputError, user_path, warn
from fleetopt.evaluate.backend import BACKENDS, BackendError
from fleetopt.evaluate.backend_choice import choose_backend
from fleetopt.evaluate.batch import PlanFileError
from fleetopt.evaluate.chunk_store import ChunkStore, stored_ranges
from fleetopt.evaluate.chunking import (
    MemoryBudgetError,
    backend_chunk_sizes,
    least_budget,
    needs_more_than,
    worker_chunk_sizes,
    worker_process_sizes,
)
from fleetopt.evaluate.chunks import plan_chunks
from fleetopt.evaluate.engine import evaluate
from fleetopt.evaluate.local_executor import LocalExecutor
from fleetopt.evaluate.planbatch import PlanBatch
from fleetopt.evaluate.planfile import plan_file_meta
from fleetopt.evaluate.process_executor import ProcessExecutor
from fleetopt.evaluate.ray_executor import RayExecutor, RayUnavailable
from fleetopt.evaluate.resources import (
    budget_within_memory,
    capped_threads,
    capped_workers,
    physical_ram_bytes,
    simulation_memory,
)
from fleetopt.evaluate.row_files import rows_file_bytes
from fleetopt.evaluate.sources import (
    PLANS_RELATIVE,
    PlanSource,
    evaluated_plans_file,
    model_copy_of,
    plan_file_of,
    plans_seen_from,
    read_plans,
    resume_advice,
    sha_change,
    with_run_changes,
)
from fleetopt.runs import limits
from fleetopt.runs.file_text import csv_text, json_text
from fleetopt.runs.files import file_sha256
from fleetopt.runs.folder import RunFolder
from fleetopt.runs.key_figures import COST_OBJECTIVE
from fleetopt.runs.registry import SEE_RUNS, record_advice
from fleetopt.runs.resume import RESUME_OPTIONS, resume_command
from fleetopt.runs.run_files import RunDirError
from fleetopt.schema.loaded_model import LoadedModel
from fleetopt.schema.loading import load_model
from fleetopt.schema.model_changes import recorded_model_changes
from fleetopt.schema.model_file import bundled_model_names

EXECUTORS = ("local", "ray")
# the memory a Ray task's node is taken to have free, whose half its chunks may use (unless
# --max-memory): the nodes are not known before the tasks run
_RAY_NODE_FREE_BYTES = 8 * 1024**3


def ray_task_sizes(
    data: ModelData, plans: PlanBatch, n_scenarios: int, backend_name: str, max_memory: int | None, tasks: int
) -> tuple[int, int]:
    """(plans per chunk, scenarios per block) of ``tasks`` Ray tasks at once, one thread each, each
    within ``max_memory`` on a node of its own (None: half of :data:`_RAY_NODE_FREE_BYTES`), counting
    its share of the plans' delivery-slip variants. A task holds its chunk as a worker process does,
    three times in its node's memory (the object store's copy, the next chunk's queued beside it, the
    plans deserialised: ``chunking.sent_bytes_per_plan``), counted on the CPU; on CuPy the budget is
    the GPU's, which those copies are not in. A budget too small for one plan is refused as one
    task's, with the least that runs: it was said as a share of ``tasks`` times the budget, naming
    --workers ("2 MB of 4 MB ... at least 10.1 MB, or fewer workers" for a run given 2 MB, which
    5.02 MB would do), and then with every variant where a task counts its share (400 plans, one
    slip, 4 tasks: "at least 3.36 MB" where 1.3 MB runs)."""
    return worker_chunk_sizes(data, plans, n_scenarios, backend_name, 1, _RAY_NODE_FREE_BYTES, max_memory,
                              workers=tasks, sent=backend_name != "cupy", budget_each=True)  # fmt: skip


# the backends a Ray task may run for each backend asked for (RayExecutor.choose): CuPy on a cluster
# with GPUs, else NumPy or the C build, which only the cluster, started, tells apart
_RAY_TASK_BACKENDS = {"auto": ("cupy", "numpy", "cpu-kernel"), "numpy": ("numpy",),
                      "cpu-kernel": ("cpu-kernel",), "cupy": ("cupy",)}  # fmt: skip


def refuse_what_no_ray_task_fits(data: ModelData, plans: PlanBatch, n_scenarios: int, backend: str,
                                 max_memory: int | None) -> None:  # fmt: skip
    """Refuse, before Ray starts (about 20 s for a local one), a budget too small for one plan in a
    Ray task on every backend the run could take there (:data:`_RAY_TASK_BACKENDS`), with the
    least budget that would do on one of them (as many tasks as plans, each counting the least share
    of the plans' delivery-slip variants: the cluster's tasks are not known yet); a budget one of
    them holds is left to :func:`ray_task_sizes`, once the cluster says which runs."""
    refusals = []
    for name in _RAY_TASK_BACKENDS.get(backend, ()):
        try:  # in as many tasks as plans: the least share of the delivery-slip variants a task counts
            ray_task_sizes(data, plans, n_scenarios, name, max_memory, plans.P)
            return
        except MemoryBudgetError as exc:
            refusals.append(exc)
    if refusals:
        raise min(refusals, key=lambda exc: exc.need_bytes)


class EvaluationJob:
    """An evaluation ready to run: model, plans and settings checked, nothing written yet.

    ``run(folder)`` keeps every finished chunk in ``folder/chunks`` (checksummed, written then
    renamed), so a run that is killed can be finished by :func:`resume_evaluation`. The folder is
    locked to this process (:meth:`RunFolder.hold_lock`) from :meth:`start` (or the resume) until
    the run is written, or until :meth:`run` fails, so that another process may resume it then.
    """

    def __init__(self, loaded, data, source, batch, settings: dict, executor, sizes=None, folder=None):
        self.loaded, self.data, self.source, self.batch = loaded, data, source, batch
        self.settings, self.executor = settings, executor
        self._sizes = sizes
        # what a stop of a run in a folder adds to its KeyboardInterrupt, of the folder (the Python API
        # says what was saved and the call that finishes it, as the terminal does); None: nothing
        self.stop_note: Callable[[Path], str] | None = None
        # the run folder's chunks/ (once started, its own): where a chunk's rows go, where to a file
        self.rows_folder: Path | None = None if folder is None else RunFolder(folder).chunk_folder
        # chunks sized for $TMPDIR's disk (no folder given): :meth:`start` sizes them for the run folder's
        self._sized_for_tmpdir = self._chunk_sizes() if folder is None else None

    def _chunk_sizes(self) -> tuple[int, int]:
        return self.settings["plan_chunk"], self.settings["scenario_chunk"]

    def chunk_sizes_within(self, budget: int) -> tuple[int, int]:
        """(plans per chunk, scenarios per block) this job would take with a memory budget of
        ``budget`` bytes (its max_memory), on its backend and executor."""
        return self._sizes(budget, self.rows_folder)

    def rows_file_bytes(self) -> int:
        """Bytes of the file each chunk's rows of results take as this job runs now
        (:func:`~fleetopt.evaluate.row_files.rows_file_bytes`, in its run folder once started or
        resumed); 0 where they are held in memory, or where every chunk is saved (a resume of a run
        stopped as it was written: nothing is computed)."""
        s = self.settings
        sizes, budget = (s["plan_chunk"], s["scenario_chunk"]), s.get("max_memory")
        if not self.left_to_compute():
            return 0
        return rows_file_bytes(self.data, self.batch, s["n_scenarios"], self.executor, budget, sizes,
                               self.rows_folder)  # fmt: skip

    def left_to_compute(self, saved: list | None = None) -> bool:
        """Whether some plans are in no chunk saved in the run folder (``saved``: :meth:`saved_chunks`,
        read again where not given)."""
        saved = self.saved_chunks() if saved is None else saved
        return any(c not in saved for c in plan_chunks(self.batch.P, self.settings["plan_chunk"], saved))

    def saved_chunks(self) -> list:
        """The (first, stop) plan ranges of the chunks saved in the run folder (chunk_store.stored_ranges)."""
        folder = self.rows_folder
        return stored_ranges(folder) if folder is not None and folder.is_dir() else []

    def __repr__(self) -> str:  # a notebook shows what will run, not the object's address
        s = self.settings  # the futures as EvaluationResult's repr says them (the forecast: no seed)
        runs = f"x {counted(s['n_scenarios'], 'scenario')}, seed {s['seed']}"
        runs = "on the forecast" if s["deterministic"] else runs
        return (f"EvaluationJob({counted(self.batch.P, 'plan')} {runs}, model {self.loaded.model.name!r}, "
                f"backend {s.get('backend')!r})")  # fmt: skip

    def start(self, folder: str | Path, resume_options: tuple[str, ...] = ()) -> None:
        """Create the run folder with the job description and the model, before any chunk runs;
        ``resume_options``: what its resume command is to be given again (the CLI's --report, a
        ranking: :data:`~fleetopt.runs.resume.RESUME_OPTIONS`). A chunk's rows of results go to a
        file in its chunks/ where they go to one (the chunks sized for the disk
        :func:`prepare_evaluation`'s ``folder`` is on; where none was given, the chunks sized for
        ``$TMPDIR``'s are sized again for this folder's, unless they were set since)."""
        run = RunFolder(limits.out_path("folder", folder, optional=False))
        self.rows_folder = run.chunk_folder
        if self._sized_for_tmpdir is not None and self._sized_for_tmpdir == self._chunk_sizes():
            sizes = self.chunk_sizes_within(self.settings["max_memory"])
            self.settings["plan_chunk"], self.settings["scenario_chunk"] = sizes
        self._sized_for_tmpdir = None
        seen = plans_seen_from(self.settings["plans_source"], run.path)
        kept = {RESUME_OPTIONS: list(resume_options)} if resume_options else {}
        run.start_job({RunFolder.MODEL: self.loaded.text}, {**self.settings, PLANS_RELATIVE: seen, **kept})

    def run(self, folder: str | Path | None = None, progress=None):
        """Evaluate, keeping each finished chunk in ``folder`` (None: in memory only), which
        :meth:`start` made (or a resume found); ``progress(pairs, total)`` after each chunk, with the
        (plan, scenario) pairs it finished, not the running count."""
        limits.callback("progress", progress)
        if folder is None:
            return self._evaluate(None, progress)
        run = RunFolder(limits.path("folder", folder, optional=False))
        if not run.is_job:  # its chunks alone could neither be resumed nor written as a run there
            raise InputError(f"{run.path} was not started: call job.start(folder) first (it writes "
                             "job.json and the model, which a resume and the run's files need)")  # fmt: skip
        with run.locked_for_run():
            self._check_room_for_the_matrix(run)
            try:
                return self._evaluate(folder, progress)
            except KeyboardInterrupt as exc:
                self._note_stop(exc, run.path)
                raise

    def _note_stop(self, stop: KeyboardInterrupt, folder: Path) -> None:
        """``stop`` with :attr:`stop_note`'s note (PEP 678) where there is one; a folder that cannot
        say what it saved leaves the stop as it is, never replaced by that error."""
        if self.stop_note is not None:
            with suppress(FleetoptError, OSError):
                stop.add_note(self.stop_note(folder))

    def _check_room_for_the_matrix(self, run: RunFolder) -> None:
        """With keep_matrix, the NPV matrix is on the run's disk twice as it ends: in its chunks (8 bytes
        a plan-scenario pair, uncompressed) and in npv_matrix.npy, written before they are removed.
        Where the plans not yet saved and the file need more than the disk's free space, warn before
        any work, naming the bytes and the folder; refuse where they exceed the whole disk (certain)."""
        s = self.settings
        saved = self.saved_chunks() if s["keep_matrix"] else []  # the run's chunk folder, read once
        if not s["keep_matrix"] or not self.left_to_compute(saved):
            return
        left = self.batch.P - sum(stop - first for first, stop in saved)
        need = (left + self.batch.P) * s["n_scenarios"] * 8
        try:
            disk = shutil.disk_usage(run.path)
        except OSError:
            return
        said = (f"{run.path}: the NPV matrix kept (--keep-matrix, 8 bytes a plan-scenario pair) needs about "
                f"{format_bytes(need)} there as the run ends, in its chunks and npv_matrix.npy")  # fmt: skip
        if need > disk.total:
            raise InputError(f"{said}, more than the whole disk's {format_bytes(disk.total)}: run it on a "
                             "larger disk, or without --keep-matrix")  # fmt: skip
        if need > disk.free:
            warn(f"{said}, more than the {format_bytes(disk.free)} free: free space there, or the run "
                 "stops when the disk fills (resumable)")  # fmt: skip

    def _evaluate(self, folder: str | Path | None, progress):
        s = self.settings
        result = evaluate(
            self.data,
            self.batch,
            s["n_scenarios"],
            s["seed"],
            max_memory=s.get("max_memory"),
            plan_chunk=s.get("plan_chunk"),
            scenario_chunk=s.get("scenario_chunk"),
            keep_matrix=s["keep_matrix"],
            deterministic=s["deterministic"],
            progress=progress,
            executor=self.executor,
            store=self._store(folder),
        )
        result.changed_model = self.loaded.changed_line
        result.evaluated_with = (self.loaded, self.source)
        return result

    def _store(self, folder: str | Path | None) -> ChunkStore | None:
        if folder is None:
            return None
        return ChunkStore(RunFolder(folder).chunk_folder, self.settings["n_scenarios"], tuple(METRIC_COLUMNS),
                          refuse_other_runs=True)  # fmt: skip


def model_of_plans(plans: str | Path) -> Path | str | None:
    """The model to evaluate ``plans`` with when none is given: a run folder's copy of its model, a
    plan file's (or a run folder's plan file's) bundled model (by the name in its metadata), else
    None (the default model)."""
    copy = model_copy_of(plans)
    if copy is not None:
        return copy
    # a run folder without its model.yaml: its plan file's bundled model, as for the file itself,
    # where that is the model its plans were made from (else the changes it was run with are lost)
    found = RunFolder(plans).plan_file if Path(plans).is_dir() else Path(plans)
    meta = plan_file_meta(found) if found is not None and found.is_file() else {}
    name = meta.get("model_name")
    if not isinstance(name, str) or name not in bundled_model_names():
        return None
    if Path(plans).is_dir():
        made_from = meta.get("model_hash")
        bundled = load_model(name).content_hash
        if made_from and made_from != bundled:
            raise InputError(
                f"{plans} has no {RunFolder.MODEL}, and its plans were made from another model than the "
                f"bundled {name!r} (hash {made_from}, the bundled one {bundled}; its summary.json lists "
                f"any changes it was run with): restore {RunFolder.MODEL}, or give the model to evaluate "
                f"them under (fleetopt evaluate MODEL --plans {plans})"
            )
    return name


def check_matrix_fits(n_plans: int, n_scenarios: int, ram: int | None = None) -> None:
    """Refuse, before any work, an NPV matrix (``keep_matrix``) that this machine's memory (``ram``;
    None: :func:`physical_ram_bytes`) cannot hold twice: its chunks' rows and the whole they are
    joined into. The working-memory budget does not count it (its chunks are sized without it)."""
    ram = physical_ram_bytes() if ram is None else ram
    need = 2 * 8 * n_plans * n_scenarios
    if ram is not None and need > ram:
        held, ram_text = sizes_apart(need, ram)
        raise MemoryBudgetError.naming(
            Argument("keep_matrix", "--keep-matrix"), f": the NPV matrix of {counted(n_plans, 'plan')} x "
            f"{counted(n_scenarios, 'scenario')} "
            f"is {format_bytes(need / 2)} (8 bytes a pair), held twice as its chunks are joined "
            f"({held}), more than this machine's memory ({ram_text}): leave it "
            "out (every metric is computed without it), or give fewer ", limits.SCENARIOS, " or plans",
            need_bytes=need, budget_bytes=ram,
        )


def _runner_and_sizes(data: ModelData, batch: PlanBatch, n: int, backend: str, executor: str,
                      ray_address: str | None, workers: int, threads: int | None,
                      max_memory: int | None = None):  # fmt: skip
    """The executor of an evaluation of ``batch`` on ``n`` scenarios and how it sizes its chunks:
    ``sizes(budget, rows_folder)``, (plans per chunk, scenarios per block) within ``budget`` bytes,
    a chunk's rows in a file in ``rows_folder`` (a job's chunks/; None: $TMPDIR) where they go to
    one (only in this process: a worker's or a Ray task's stay in memory). On Ray, a ``max_memory``
    too small for one plan on every backend a task could take is refused before Ray starts."""
    if executor == "ray":
        refuse_what_no_ray_task_fits(data, batch, n, backend, max_memory)
        runner = RayExecutor(ray_address)
        runner.choose(backend, data, batch, n)

        def sizes(budget, _rows_folder=None):  # a task's rows stay in memory
            return ray_task_sizes(data, batch, n, runner.backend_name, budget, runner.parallelism)
    elif workers > 1:
        if backend == "cupy":
            cupy = Argument("backend 'cupy'", "--backend cupy")
            raise BackendError.naming(_WORKERS, " runs CPU processes: use it without ", cupy)
        # each worker one thread: NumPy, or the C build where auto (on the CPU) or cpu-kernel takes it
        be = choose_backend(backend, 1, data, batch, n, gpu=False)
        runner = ProcessExecutor(workers, be.name, be.note)

        def sizes(budget, _rows_folder=None):  # a worker's rows stay in memory
            return worker_process_sizes(data, batch, n, be.name, budget, workers)
    else:
        be = choose_backend(backend, threads, data, batch, n)
        runner = LocalExecutor(be)
        # (``threads`` stays the user's setting, which job.json keeps for a resume on another machine)

        def sizes(budget, rows_folder=None):
            return backend_chunk_sizes(data, batch, n, be, budget, folder=rows_folder)
    return runner, sizes


def prepare_evaluation(
    plans: str | Path,
    model: str | Path | LoadedModel | None = None,
    *,
    scenarios: int = limits.DEFAULT_SCENARIOS,
    seed: int = 0,
    backend: str = "auto",
    max_memory: int | None = None,
    deterministic: bool = False,
    keep_matrix: bool = False,
    executor: str = "local",
    ray_address: str | None = None,
    workers: int = 1,
    threads: int | None = None,
    plans_sha256: str | None = None,
    folder: str | Path | None = None,
    kept: Callable[[PlanSource], PlanSource] | None = None,
) -> EvaluationJob:
    """Check the model, plans, backend and executor of an evaluation and fix its chunk sizes.

    ``plans_sha256``: the plan file's SHA-256 where the caller has just computed it (a resume, which
    checked it against job.json): taken as it is, not computed again. ``folder``: the job's run
    folder (a resume's), or the folder a new one is made in (the runs folder): a chunk's rows of
    results go to a file on its disk where they go to one, so the chunks are sized for its free
    space and memory filesystems (None: ``$TMPDIR``'s). ``kept``: the plans read kept as the caller
    keeps them (a result in memory: :func:`~fleetopt.evaluate.sources.kept_in_memory`, its objective
    with it), before they are compiled and the chunks sized."""
    limits.scenarios("scenarios", scenarios)
    limits.seed("seed", seed)
    limits.flag("deterministic", deterministic)
    limits.flag("keep_matrix", keep_matrix)
    limits.text("executor", executor, EXECUTORS)
    limits.whole("workers", workers, 1)
    workers = capped_workers(workers, executor)  # also a resumed run's, on a machine with fewer cores
    limits.threads("threads", threads)
    if max_memory is not None:
        limits.whole("max_memory", max_memory, 1)
    loaded, data = load(model if model is not None else model_of_plans(plans))
    loaded = with_run_changes(loaded)  # a solve's model.yaml: the model as that solve changed it
    source = read_plans(plans, data)
    if kept is not None:
        source = kept(source)
    if plans_sha256 is not None:
        source.sha256 = plans_sha256  # the file's hash, computed once (PlanSource.sha256 caches it)
    batch = source.compile(data)
    n = 1 if deterministic else scenarios
    if keep_matrix:
        check_matrix_fits(batch.P, n)
    runner, sizes = _runner_and_sizes(data, batch, n, backend, executor, ray_address, workers, threads,
                                      max_memory)
    rows_folder = None if folder is None else RunFolder(folder).chunk_folder
    plan_chunk, scenario_chunk = sizes(max_memory, rows_folder)
    where = source.provenance()  # a file's path and SHA-256; of plans kept in memory, what they are
    settings = {
        "kind": "evaluate",
        "plans_source": where["plans_source"],
        "plans_sha256": where["plans_sha256"],
        "n_plans": batch.P,  # a record: the share of the work a stopped run saved (api.saved_work)
        "model_hash": loaded.content_hash,
        **loaded.origin_record,  # read at the start: a resume reads the folder's copy, and these
        "n_scenarios": n,
        "seed": seed,
        "deterministic": deterministic,
        "keep_matrix": keep_matrix,
        "backend": backend,
        "executor": executor,
        "ray_address": ray_address,
        "workers": workers,
        "threads": threads,
        "max_memory": max_memory,  # the budget given (None: half of what is free), for a resume
        "plan_chunk": plan_chunk,  # this attempt's sizes, for this machine's memory: a record
        "scenario_chunk": scenario_chunk,
    }
    return EvaluationJob(loaded, data, source, batch, settings, runner, sizes, folder)


# how a job runs, which a resume may change (the results stay the job's: its chunks are the same pure
# functions on every backend, the C build's and CuPy's NumPy's to 1e-12, and of any chunk size)
HOW_IT_RUNS = ("backend", "threads", "workers", "executor", "ray_address", "max_memory")


def resume_evaluation(
    folder: str | Path, how: dict | None = None, plans: str | Path | None = None
) -> EvaluationJob:
    """The job of an interrupted evaluation run folder, with the same plans, model and chunks;
    ``how``: settings of :data:`HOW_IT_RUNS` for this resume in place of job.json's (a job started on
    a GPU finished on a CPU, or with NumPy where the C build cannot be made); ``plans``: where its
    plans file is now, if it moved (the same file, by its SHA-256; None: where it was).

    The folder is locked to this process (:meth:`RunFolder.hold_lock`) from here until the job's
    run is written; a resume refused here (a finished folder, an edited model.yaml or job.json,
    changed plans, an unusable backend) lets go of it, so that a corrected resume, in this process
    or another, may take it."""
    run = RunFolder(folder)
    if not run.is_job and run.kind == "evaluate":  # written from Python (write_evaluate_run): no job
        raise _already_finished(run)
    if not run.is_job:
        kind = f" ({run.kind}'s folder)" if run.is_finished and run.kind else ""
        raise RunDirError(f"{run.path}: not a resumable evaluation{kind} (no {RunFolder.JOB})")
    how = checked_how(how or {}, HOW_IT_RUNS)
    # locked before anything is read: another process may be running it, or finishing it
    with run.locked_for_run():
        return _resumed_job(run, how, plans)


def checked_how(how: dict, allowed: tuple[str, ...]) -> dict:
    """The settings of how a job runs given for its resume (None: not given), of ``allowed`` (an
    evaluation's :data:`HOW_IT_RUNS`, a sweep's backend and threads), each checked as a new run's
    are."""
    how = {name: value for name, value in how.items() if value is not None}
    if set(how) - set(allowed):
        other = sorted(set(how) - set(allowed))
        raise InputError(f"a resume may change only how the job runs ({', '.join(allowed)}), not {other}")
    checks = {"backend": lambda v: limits.text("backend", v, BACKENDS),
              "executor": lambda v: limits.text("executor", v, EXECUTORS),
              "workers": lambda v: limits.whole("workers", v, 1),
              "threads": lambda v: limits.threads("threads", v),
              "ray_address": lambda v: limits.text("ray_address", v),
              "max_memory": lambda v: limits.whole("max_memory", v, 1)}  # fmt: skip
    for name, value in how.items():
        checks[name](value)
    return how


def _plans_gone(plans_file: Path, now: str | None, then: str, folder: Path) -> str:
    """Why a job cannot be finished without the plans file it started from, and what to do."""
    what = ("is gone since the run started" if now is None else
            f"changed since the run started ({sha_change(now, then)})")  # fmt: skip
    return (
        f"{plans_file}: the plans file the evaluation started from {what}: its saved chunks are "
        f"figures of those plans, so it can be finished only with that file; put it back where it "
        f"was, or give where it is now ({resume_command('evaluate', folder, '--plans', 'FILE')}), or "
        f"start the evaluation anew in another folder ({folder} may then be deleted)"
    )


def _moved_plans(plans: str | Path, then: str) -> tuple[Path, str]:
    """The plans file given for a resume (or its run folder's) and its SHA-256, which must be the
    job's: other plans would be finished under the job's chunks of these."""
    path = user_path(limits.path("plans", plans, optional=False))  # a string from Python too
    if not path.exists():
        raise PlanFileError(f"{path}: no such run folder or plan file")
    found = plan_file_of(path)
    now = file_sha256(found)
    if now != then:
        raise PlanFileError(
            f"{found} is not the plans file this evaluation started from ({sha_change(now, then)}): its "
            "saved chunks are figures of that file"
        )
    return found, now


def _already_finished(run: RunFolder) -> RunDirError:
    """The refusal to resume a finished evaluation, as `evaluate --resume` says it: a run folder's
    state, not its plans; where it is not listed, how to record it, as a notebook calls it and as the
    command line types it."""
    return RunDirError.naming(
        f"{run.path}: this evaluation already finished (its {RunFolder.SUMMARY} is written); nothing to "
        "resume; if ", SEE_RUNS, " does not list it (a run killed while it was being recorded), ",
        record_advice(run.path), " records it"
    )


def _resumed_job(run: RunFolder, how: dict, plans: str | Path | None = None) -> EvaluationJob:
    if run.is_finished:
        if run.job().get("kind") == "sweep":
            raise RunDirError(
                f"{run.path} is a sweep's folder, not an evaluation's, and finished: nothing to resume"
            )
        raise _already_finished(run)
    settings = checked_job(run)
    run.check_job_version()
    # found again where the runs were moved or copied; read once: a plan file may be gigabytes, and
    # the job keeps the hash it was checked against
    if plans is not None:  # moved since: the same file, by its hash, kept where it now is
        plans_file, plans_sha256 = _moved_plans(plans, settings["plans_sha256"])
        seen = plans_seen_from(plans_file, run.path)
        run.write_job({**run.job(), "plans_source": str(plans_file.resolve()), PLANS_RELATIVE: seen})
    else:
        plans_file, plans_sha256 = evaluated_plans_file(settings, run.path, settings["plans_sha256"])
    if plans_sha256 != settings["plans_sha256"]:
        raise PlanFileError(_plans_gone(plans_file, plans_sha256, settings["plans_sha256"], run.path))
    runs = _resumed_settings(settings, how)
    try:
        job = prepare_evaluation(
            plans_file,
            job_model(run, settings),
            scenarios=settings["n_scenarios"],
            seed=settings["seed"],
            deterministic=settings["deterministic"],
            keep_matrix=settings["keep_matrix"],
            plans_sha256=plans_sha256,
            folder=run.path,
            **runs,
        )
    except RayUnavailable as exc:  # the job's cluster is gone
        if "executor" in how or "ray_address" in how:
            raise
        raise RayUnavailable(f"{exc}. The job ran on Ray: finish it on this machine with "
                             f"{resume_command('evaluate', run.path, '--executor', 'local')}") from None
    except BackendError as exc:
        raise started_elsewhere(exc, how, runs["backend"], resume_command("evaluate", run.path)) from None
    except MemoryBudgetError as exc:  # its scenarios are the job's: only the budget can change
        raise _resume_over_budget(run, settings, how, runs, exc) from None
    # the chunks stored before are kept as they are (ChunkStore.ranges); the rest are sized for
    # this machine and budget, so that a job stopped for memory resumes with a smaller --max-memory
    job.settings.update(plans_source=str(plans_file))
    return job


def _resumed_settings(settings: dict, how: dict) -> dict:
    """How a resumed evaluation runs: job.json's backend, executor, Ray cluster, workers, threads
    and memory budget, with those the resume gives (``how``) in their place, checked together."""
    runs = {"backend": settings["backend"], "executor": settings["executor"],
            "ray_address": settings.get("ray_address"), "workers": settings.get("workers", 1),
            "threads": settings.get("threads"), "max_memory": settings.get("max_memory"), **how}  # fmt: skip
    if "executor" in how and "ray_address" not in how and how["executor"] != "ray":
        runs["ray_address"] = None  # the cluster of a Ray job left for this machine
    if how.get("backend") == "cupy" and "workers" not in how:
        runs["workers"] = 1  # the job's CPU worker processes: a GPU runs in this process
    if runs["ray_address"] is not None and runs["executor"] != "ray":
        raise InputError.naming(RAY_ADDRESS, " cannot apply without ",
                                Argument("the ray executor", "--executor ray"))
    if "threads" in how:
        _refuse_threads_with_the_jobs_workers(runs, how)
    if "workers" in how:
        refuse_workers_with_ray(runs["workers"], runs["executor"])
    runs["threads"] = resumed_threads(runs["threads"])
    budget_name = "max_memory (job.json's or --max-memory)"
    runs["max_memory"] = budget_within_memory(
        runs["max_memory"], runs["backend"], runs["executor"], runs["workers"], budget_name
    )
    return runs


def _resume_over_budget(run, settings: dict, how: dict, runs: dict, exc) -> MemoryBudgetError:
    """The refusal of a resume whose job's scenarios need more memory than its budget: a larger
    --max-memory, where this machine has the memory; where it has not (a budget is capped to it), a
    machine that has, or job.json restored (an n_scenarios edited to 10**18 was told to resume
    with --max-memory 2.16e+05 PB)."""
    kept = "job.json's max_memory" if settings.get("max_memory") else "half of this machine's free memory"
    given = "--max-memory" if "max_memory" in how else kept
    memory = simulation_memory(runs["backend"], runs["executor"], runs["workers"])
    enough = exc.need_bytes
    advice = (": resume with ", *least_budget(enough))
    if memory is not None and enough > memory.size:
        need, held = sizes_apart(enough, memory.size)
        advice = (f" and than the {held} of {memory.what}: resume it where there is {need}, or, if "
                  f"{RunFolder.JOB}'s n_scenarios was edited, restore the file",)  # fmt: skip
    # worker processes share the budget (chunking.worker_process_sizes); Ray tasks each have it whole
    return MemoryBudgetError.naming(
        f"{run.path}: one plan on its {settings['n_scenarios']:,} scenarios {needs_more_than(exc)} "
        f"({given})", *advice,
        need_bytes=exc.need_bytes, budget_bytes=exc.budget_bytes, workers=exc.workers,
    )


_WORKERS = Argument("workers", "--workers")
# worker processes run on this machine; Ray runs a task on each CPU (or GPU) of its cluster
WORKERS_WITH_RAY = (_WORKERS, " cannot apply with ",
                    Argument("executor='ray'", "--executor ray"), ", which runs a task on each CPU (or GPU) "
                    "of the Ray cluster: leave it out")  # fmt: skip
# a Ray cluster's address, as the API and the command line name it
RAY_ADDRESS = Argument("ray_address", "--ray-address")


def refuse_workers_with_ray(workers, executor) -> None:
    """``workers`` (above 1) with the Ray executor, of a new run or given to a resume, refused by
    name: they are processes on this machine, and were ignored in silence."""
    if executor == "ray" and isinstance(workers, Integral) and workers > 1:
        raise InputError.naming(*WORKERS_WITH_RAY)


def refuse_threads_with_workers(threads, workers, executor, kept: str = "") -> None:
    """``threads`` apply to this process's evaluation, not to worker processes (``workers`` above 1)
    or Ray tasks, which run one thread each: refused with either, of a new run or a resume (they
    were ignored in silence). ``kept``: where that setting came from when not given ("job.json's")."""
    if threads is None:
        return
    if executor == "ray":
        setting, remedy = "executor 'ray'", Argument("executor='local'", "--executor local")
    elif isinstance(workers, Integral) and workers > 1:
        setting, remedy = f"workers {workers}", Argument("workers=1", "--workers 1")
    else:
        return
    whose, threads_given = f"{kept} " if kept else "", Argument("threads", "--threads")
    raise InputError.naming(threads_given, f" cannot apply with {whose}{setting}: each worker process or Ray "
                            "task runs one thread; give ", remedy, " with it, or leave out ", threads_given)


def _refuse_threads_with_the_jobs_workers(runs: dict, how: dict) -> None:
    """A resume's threads against the job's workers or executor (job.json's unless given)."""
    setting = "executor" if runs["executor"] == "ray" else "workers"
    kept = "" if setting in how else "job.json's"
    refuse_threads_with_workers(runs["threads"], runs["workers"], runs["executor"], kept)


def resumed_threads(threads: int | None) -> int | None:
    """A resumed job's threads (job.json's, or given for the resume), at most this machine's cores."""
    return capped_threads(threads, "threads (job.json's or --threads)")


def started_elsewhere(exc: BackendError, how: dict, backend: str, resume: str) -> BackendError:
    """``exc``, a resumed job's backend that cannot run here (the machine that started it had what
    this one lacks), saying how to finish it here (``resume``: the command) where the resume did not
    name a backend itself."""
    if "backend" in how:
        return exc
    return BackendError(f"{exc}. The job started with backend {backend!r}: finish it here with {resume} "
                        "--backend auto")


_MADE_WITH = {RunFolder.JOB: "started with", RunFolder.SUMMARY: "made with"}


def job_model(run: RunFolder, settings: dict, kept_in: str = RunFolder.JOB) -> LoadedModel:
    """The job folder's model.yaml, refused unless it is the model the job started with (the
    ``model_hash`` of ``settings``, the file ``kept_in`` of the folder; a sweep saved before job.json
    kept it is not checked), with the source the job started from (not the copy's path) and the
    changes made to it for the run (``--set``), which the finished run records again."""
    if not (run / RunFolder.MODEL).is_file():
        raise PlanFileError(_model_copy_missing(run, settings, kept_in))
    loaded = load_model(run / RunFolder.MODEL)
    started_with = settings.get("model_hash")
    if started_with is not None and loaded.content_hash != started_with:
        raise PlanFileError(
            f"{run / RunFolder.MODEL} is not the model {run / kept_in} was {_MADE_WITH[kept_in]} (its "
            f"hash is {loaded.content_hash}, {kept_in}'s model_hash {started_with}): one of the two files "
            "was edited; restore it, or start the run anew"
        )
    source = settings.get("model_source") or str((run / RunFolder.MODEL).resolve())
    changes, before = recorded_model_changes(settings, str(run / kept_in))
    return replace(loaded, source=source, changes=changes, read_from=source, source_changes=before)


def _model_copy_missing(run: RunFolder, settings: dict, kept_in: str) -> str:
    """Why a job (or finished sweep) folder without its model.yaml cannot go on, and what to do."""
    source = settings.get("model_source")
    where = f"its model_source ({source}) if that file is unchanged, or " if source else ""
    return (
        f"{run / RunFolder.MODEL} is missing: the job folder's copy of the model {run / kept_in} was "
        f"{_MADE_WITH[kept_in]}, which its results are figures of; put it back: from {where}a copy of the "
        f"folder (its hash must be {kept_in}'s model_hash, {settings.get('model_hash')}); or start the run "
        "anew in another folder"
    )


def checked_job(run: RunFolder) -> dict:
    """An evaluation folder's job.json with every setting a resume reads checked: a hand-edited or
    damaged file is named with its field, and a sweep's folder is sent to `fleetopt sweep --resume`."""
    settings = run.job()
    path = run / RunFolder.JOB
    if settings.get("kind") == "sweep":
        raise PlanFileError.naming(f"{run.path} is a sweep's folder: finish it with ",
                                   resume_advice("sweep", run.path))

    def field(name: str, check, *args, optional=False, default=None):
        return limits.job_setting(settings, path, name, check, *args, optional=optional, default=default)

    checked = {
        "plans_source": field("plans_source", limits.text),
        "plans_sha256": field("plans_sha256", limits.text),
        "model_hash": field("model_hash", limits.text),
        "model_source": field("model_source", limits.text, (), True, optional=True),  # older runs lack it
        "n_scenarios": field("n_scenarios", limits.scenarios),
        "seed": field("seed", limits.seed),
        "deterministic": field("deterministic", limits.flag),
        "keep_matrix": field("keep_matrix", limits.flag),
        "backend": field("backend", limits.text, BACKENDS),
        "executor": field("executor", limits.text, EXECUTORS),
        "ray_address": field("ray_address", limits.text, (), True, optional=True),
        "workers": field("workers", limits.whole, 1, optional=True, default=1),
        "threads": field("threads", limits.threads, optional=True),
        "max_memory": field("max_memory", _budget, optional=True),  # older runs lack it
    }
    return {**settings, **checked}


def _budget(name: str, value) -> int | None:
    """job.json's memory budget: bytes, or None (half of what is free)."""
    return None if value is None else limits.whole(name, value, 1)


def evaluation_summary(result, loaded: LoadedModel, source, ranking: dict | None = None) -> dict:
    """summary.json of an evaluation; ``ranking``: how its best plan is chosen (rank_by,
    max_breach_prob), where the run was given one."""
    return {
        "fleetopt_version": __version__,
        "kind": "evaluate",
        "model_name": loaded.model.name,
        **loaded.origin_record,
        "model_hash": loaded.content_hash,
        **loaded.basis_record,
        **source.provenance(),  # the report checks the plans it shows against it
        "plans_objective": evaluated_objective(result, source),  # "cost": a lab's plans, its report by cost
        "n_plans": result.n_plans,
        "n_scenarios": result.n_scenarios,
        "seed": result.seed,
        "deterministic": result.seed is None,
        "backend": result.backend,
        "device": result.device,
        "fused_kernel": result.kernel,
        "seconds": result.seconds,
        "plan_scenario_quarters_per_second": result.pair_quarters_per_second,
        "plan_scenario_pairs_from_an_earlier_attempt": result.pairs_stored,
        "earlier_attempts_devices": result.earlier_devices,  # those pairs by where they were computed
        "plan_chunk": result.plan_chunk,
        "scenario_chunk": result.scenario_chunk,
        **({} if ranking is None else {"ranking": ranking}),
        "metrics": result.computed_metrics_frame.to_dict(orient="records"),
    }


def evaluated_objective(result, source) -> str | None:
    """summary.json's ``plans_objective`` of an evaluation of ``source``'s plans: their file's objective
    where it says one, but None for plans solved for least cost evaluated without their present cost,
    whose figures are not a cost plan's; "cost" where it says none and every plan's present cost was
    computed (``result.solved_for_cost``: ``present_cost=True`` asked), so that its report and record lead
    with cost (:func:`~fleetopt.runs.key_figures.solved_for_cost`), as its result's display does. Plans
    solved for NPV stay "npv" with a present cost computed beside (a review: an NPV plan's report called
    its NPV an imputed value and its plan one solved for least cost)."""
    if source.objective == "npv":
        return "npv"
    if result.solved_for_cost:
        return COST_OBJECTIVE
    return None


def write_evaluate_run(
    result, loaded: LoadedModel, source, out: str | Path | None = None, ranking: dict | None = None
) -> Path:
    """Write metrics.csv and summary.json (and npv_matrix.npy when kept) into the run folder.

    ``out`` may be the folder of a started job (see :meth:`RunFolder.finish`); None claims a new one.
    """
    folder = RunFolder.to_write(out, "evaluate", loaded.model.name)
    files = {
        RunFolder.METRICS: csv_text(result.computed_metrics_frame),
        RunFolder.MODEL: loaded.text,
    }
    if result.npv_matrix is not None:
        buf = io.BytesIO()
        np.save(buf, result.npv_matrix)
        files[RunFolder.NPV_MATRIX] = buf.getvalue()
    summary = evaluation_summary(result, loaded, source, ranking)
    if source.path is not None:  # plans in memory lie nowhere
        summary[PLANS_RELATIVE] = plans_seen_from(summary["plans_source"], folder.path)
    files[RunFolder.SUMMARY] = json_text(summary)
    return folder.finish(files)
