"""Batch jobs: chunks kept on disk, interrupted runs resumed to identical results, the Ray executor."""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import interrupt_at, needs_cc, run_cli
from evaluate_builders import MODELS, solved

from fleetopt.core.data import build_data
from fleetopt.core.metric_columns import METRIC_COLUMNS, PRESENT_COST_COLUMNS
from fleetopt.core.units import format_bytes
from fleetopt.errors import FleetoptWarning, InputError
from fleetopt.evaluate.batch import PlanFileError, compile_plans
from fleetopt.evaluate.chunk_store import ChunkStore
from fleetopt.evaluate.chunks import plan_chunks
from fleetopt.evaluate.engine import evaluate
from fleetopt.evaluate.local_executor import LocalExecutor
from fleetopt.evaluate.planfile import save_plans
from fleetopt.runs.folder import RunFolder
from fleetopt.runs.run_files import RunDirError
from fleetopt.schema.loaded_model import LoadedModel
from fleetopt.schema.loading import load_model


@pytest.fixture(scope="module")
def tiny():
    result = solved("tiny")
    data = result.data
    plans = [result.plan] * 12
    return data, compile_plans(data, plans, [f"p{i}" for i in range(12)])


def run(data, batch, store=None, progress=None, executor=None):
    return evaluate(
        data, batch, 300, seed=5, backend="numpy", plan_chunk=3, scenario_chunk=128,
        keep_matrix=True, store=store, progress=progress, executor=executor,
    )  # fmt: skip


def test_chunk_store_round_trip_and_rejects_corrupt_files(tmp_path):
    store = ChunkStore(tmp_path)
    result = {
        "metrics": {"npv_mean_usd": np.array([1.5, -2.0])},
        "npv": np.arange(6.0).reshape(2, 3),
        "kernel": False,
    }
    store.save(0, 2, result)
    back = store.load(0, 2)
    assert np.array_equal(back["metrics"]["npv_mean_usd"], result["metrics"]["npv_mean_usd"])
    assert np.array_equal(back["npv"], result["npv"])
    (path,) = tmp_path.glob("chunk-0-2-*.npz")
    path.write_bytes(path.read_bytes()[:-10])  # truncated
    assert store.load(0, 2) is None and not path.exists()
    store.save(0, 2, result)
    (path,) = tmp_path.glob("chunk-0-2-*.npz")
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF  # one flipped byte
    path.write_bytes(bytes(data))
    assert store.load(0, 2) is None
    assert store.load(2, 4) is None  # never written


def test_interrupted_run_resumes_to_bit_identical_results(tiny, tmp_path):
    data, batch = tiny
    reference = run(data, batch)
    store = ChunkStore(tmp_path / "chunks")
    calls = {"n": 0}

    def stop_after_two_chunks(done, total):
        calls["n"] += 1
        if calls["n"] == 7:  # 3 scenario blocks per chunk: inside the third chunk
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run(data, batch, store=store, progress=stop_after_two_chunks)
    assert store.count() == 2
    computed = []

    class CountingExecutor(LocalExecutor):
        def run(self, data, plans, spec, chunks, store=None, progress=None):
            computed.extend(c for c in chunks if store.load(*c) is None)
            return super().run(data, plans, spec, chunks, store=store, progress=progress)

    resumed = run(data, batch, store=store, executor=CountingExecutor("numpy"))
    assert computed == [(6, 9), (9, 12)]  # only the chunks not yet stored
    pd.testing.assert_frame_equal(resumed.metrics, reference.metrics, check_exact=True)
    assert np.array_equal(resumed.npv_matrix, reference.npv_matrix)


def test_a_chunk_stopped_with_its_rows_in_a_file_resumes_from_its_last_block(tiny, tmp_path, monkeypatch):
    """12 plans of tiny x 300 scenarios within 300,000 bytes: the plans' rows and tables, 12 x
    (300 x 248 + 20,800) = 1,142,400, are more than half the budget, so the rows go to a file, in
    the store's folder: 150,000 // 20,800 = 7 plans' tables fit half, 2 chunks of 6, on blocks of
    (300,000 - 6 x 20,800) // (2,544 + 6 x 928) = 21 scenarios, 15 of 20. Stopped after the 20th
    block, the fifth of the second chunk: the first chunk is saved, the second's first 5 x 20 =
    100 scenarios kept (rows-6-12.json says 100). The resume goes on from scenario 100: it makes
    blocks 100 .. 299 alone, computes 6 x 200 = 1,200 pairs (it computed the chunk's 1,800 again
    before), reads back 6 x 300 + 6 x 100 = 2,400, and gives the figures and NPV matrix of one
    chunk on one block to the bit; the chunk's kept files go once it is saved."""
    from fleetopt.evaluate import chunk_eval, local_executor

    data, batch = tiny
    reference = run(data, batch)
    made, real_block = [], chunk_eval.scenario_block

    def block(data, spec, start, stop, *args):
        if not spec.deterministic:  # not the check of each plan on the forecast
            made.append(start)
        return real_block(data, spec, start, stop, *args)

    def tight(progress=None):
        return evaluate(data, batch, 300, seed=5, backend="numpy", max_memory=300_000, keep_matrix=True,
                        store=store, progress=progress)  # fmt: skip

    for module in (chunk_eval, local_executor):  # a chunk's blocks, and one block made for every chunk
        monkeypatch.setattr(module, "scenario_block", block)
    store = ChunkStore(tmp_path / "chunks")
    with pytest.raises(KeyboardInterrupt):
        tight(interrupt_at(20))
    assert store.ranges() == [(0, 6)]
    record = tmp_path / "chunks" / "rows-6-12.json"
    kept = json.loads(record.read_text()) if record.exists() else None
    made.clear()
    resumed = tight()
    assert (resumed.plan_chunk, resumed.scenario_chunk) == (6, 20)
    assert made == list(range(100, 300, 20))
    assert resumed.pairs_computed == 6 * 200 and resumed.pairs_stored == 6 * 300 + 6 * 100
    assert kept["done"] == 100 and kept["plans"] == 6
    pd.testing.assert_frame_equal(resumed.metrics, reference.metrics, check_exact=True)
    assert np.array_equal(resumed.npv_matrix, reference.npv_matrix)
    assert sorted(p.name for p in (tmp_path / "chunks").iterdir())[-1].startswith("chunk-6-12-")
    assert not list((tmp_path / "chunks").glob("rows-*"))


def test_a_kept_block_whose_rows_were_changed_is_computed_again_with_a_warning(tiny, tmp_path):
    """The stop of the test above (the second chunk's first 100 scenarios kept, in blocks of 20), then
    one value of its rows file overwritten: the NPV of its plan 1 (plan 7 of the run) in scenario 45,
    the third block's (40 .. 59), set to 1e12. The resume checks each kept block's checksum: it warns,
    naming the file and the block, keeps the first two blocks and computes the chunk's 6 plans from
    scenario 40 again, 6 x 260 = 1,560 pairs; its figures and NPV matrix are an unstopped run's to
    the bit (the file's 1e12 was read back as the plan's NPV before, in silence)."""
    data, batch = tiny
    reference = run(data, batch)
    store = ChunkStore(tmp_path / "chunks")

    def tight(progress=None):
        return evaluate(data, batch, 300, seed=5, backend="numpy", max_memory=300_000, keep_matrix=True,
                        store=store, progress=progress)  # fmt: skip

    with pytest.raises(KeyboardInterrupt):
        tight(interrupt_at(20))
    rows = tmp_path / "chunks" / "rows-6-12.bin"
    with open(rows, "r+b") as file:  # field 0 (npv) of 6 plans x 300 scenarios, 8 bytes a value
        file.seek((1 * 300 + 45) * 8)
        file.write(np.float64(1e12).tobytes())
    said = (f"{rows}: the rows of scenarios 40 .. 59 differ from what was written (their checksum fails: "
            "the file was damaged or changed): they and the 40 scenarios after them are computed again")
    with pytest.warns(FleetoptWarning, match=re.escape(said)):
        resumed = tight()
    assert resumed.pairs_computed == 6 * 260 and resumed.pairs_stored == 6 * 300 + 6 * 40
    pd.testing.assert_frame_equal(resumed.metrics, reference.metrics, check_exact=True)
    assert np.array_equal(resumed.npv_matrix, reference.npv_matrix)


def test_a_cost_plan_s_present_cost_resumes_from_the_rows_an_earlier_attempt_kept(tiny, tmp_path):
    """The run of the test above with each pair's present cost computed too (a plan solved for
    least cost: docs/evaluation.md, "The present cost"): stopped after the 20th block, the second
    chunk's first 100 scenarios kept in its rows file, the present cost among them, so that the
    resume's present-cost figures are a straight run's to the bit (they read NaN where the kept rows
    lacked the cost)."""
    data, batch = tiny

    def tight(store=None, progress=None):
        return evaluate(data, batch, 300, seed=5, backend="numpy", max_memory=300_000, store=store,
                        progress=progress, present_cost=True)  # fmt: skip

    reference = tight()
    store = ChunkStore(tmp_path / "chunks")
    with pytest.raises(KeyboardInterrupt):
        tight(store, interrupt_at(20))
    assert json.loads((tmp_path / "chunks" / "rows-6-12.json").read_text())["done"] == 100
    # a stopped job's saved work, counted by a store bound to no run (fleetopt runs, the resume
    # advice), finds those rows too: it found none where it looked for the rows of an NPV run only
    assert ChunkStore(tmp_path / "chunks", 300).unfinished() == {(6, 12): 100}
    resumed = tight(store)
    assert resumed.pairs_computed == 6 * 200
    costs = list(PRESENT_COST_COLUMNS)
    assert reference.metrics[costs].notna().all().all()
    pd.testing.assert_frame_equal(resumed.metrics, reference.metrics, check_exact=True)


def test_kept_rows_a_resume_cannot_go_on_from_are_computed_again_with_a_warning(tiny, tmp_path):
    """The stop above, then a resume within 200,000 bytes: its chunks hold 100,000 // 20,800 = 4
    plans, fewer than the 6 whose rows were kept, whose tables would not fit its budget: the kept
    rows are removed, with a warning naming the plans, and those 6 plans computed again in chunks
    of 4 and 2, 6 x 300 = 1,800 pairs: the same figures to the bit."""
    data, batch = tiny
    reference = run(data, batch)
    store = ChunkStore(tmp_path / "chunks")
    with pytest.raises(KeyboardInterrupt):
        evaluate(data, batch, 300, seed=5, backend="numpy", max_memory=300_000, store=store,
                 progress=interrupt_at(20))  # fmt: skip
    said = (r"the rows an earlier attempt kept of 1 unfinished chunk \(plans 7-12\) are not continued by "
            r"this attempt \(its chunks hold at most 4 plans\): those plans are computed again")
    with pytest.warns(FleetoptWarning, match=said):
        resumed = evaluate(data, batch, 300, seed=5, backend="numpy", max_memory=200_000, store=store)
    assert resumed.plan_chunk == 4 and resumed.pairs_computed == 6 * 300
    pd.testing.assert_frame_equal(resumed.metrics, reference.metrics, check_exact=True)
    assert not list((tmp_path / "chunks").glob("rows-*"))


def _wait_for(predicate, seconds: float) -> bool:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.05)
    return False


SIGNALLED_EVALUATION = ["--scenarios", "1000", "--max-memory", "8MB"]


@pytest.fixture(scope="module")
def signalled_plans(tmp_path_factory) -> tuple[Path, bytes]:
    """500 copies of tiny's plan in a plan file (chunks of a few plans under 8MB: a run of about 4 s,
    stopped after its first) and the metrics.csv of their evaluation run through, which each signal's
    resumed run must repeat byte for byte: made once for both signals, which only read them."""
    folder = tmp_path_factory.mktemp("signalled")
    loaded = load_model("tiny")
    plans_file = folder / "plans.npz"
    save_plans(plans_file, [solved("tiny").plan] * 500, [f"p{i}" for i in range(500)], loaded.model.name,
               loaded.content_hash)  # fmt: skip
    subprocess.run([sys.executable, "-m", "fleetopt.cli", "evaluate", "tiny", "--plans", str(plans_file),
                    *SIGNALLED_EVALUATION, "--out", str(folder / "full")],
                   check=True, capture_output=True, env={**os.environ, "COLUMNS": "120"})  # fmt: skip
    return plans_file, (folder / "full" / "metrics.csv").read_bytes()


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_cli_stops_cleanly_on_a_signal_and_resumes(tmp_path, sig, signalled_plans):
    """A `fleetopt evaluate` process killed part way, then `--resume`: the same metrics.csv, byte for byte."""
    plans_file, full_metrics = signalled_plans
    exe = [sys.executable, "-m", "fleetopt.cli"]
    common = ["evaluate", "tiny", "--plans", str(plans_file), *SIGNALLED_EVALUATION]
    env = {**os.environ, "COLUMNS": "120"}
    # SIGINT as at a terminal: a suite started as a background job (`cmd &` without job control)
    # passes SIGINT ignored to its children, and an ignored SIGINT never reaches the CLI
    job = subprocess.Popen([*exe, *common, "--out", str(tmp_path / "part")], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True, env=env,
                           preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))  # fmt: skip
    chunks = tmp_path / "part" / "chunks"
    assert _wait_for(lambda: chunks.exists() and any(chunks.glob("chunk-*.npz")), 60)
    job.send_signal(sig)
    _, err = job.communicate(timeout=60)
    assert job.returncode == 130, err
    assert "fleetopt evaluate --resume" in err and "Traceback" not in err
    assert not (tmp_path / "part" / "summary.json").exists()
    subprocess.run(
        [*exe, "evaluate", "--resume", str(tmp_path / "part")], check=True, capture_output=True, env=env
    )
    assert (tmp_path / "part" / "metrics.csv").read_bytes() == full_metrics
    assert not chunks.exists()


def _cli_process(*args: str, stderr_lines: bool = False) -> subprocess.Popen:
    """`fleetopt ARGS` in a process of its own, SIGINT as at a terminal (see above), its output piped."""
    return subprocess.Popen(
        [sys.executable, *(["-X", "importtime"] if stderr_lines else []), "-m", "fleetopt.cli", *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**os.environ, "COLUMNS": "120"},
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )  # fmt: skip


def _read_until(stream, wanted) -> list[str]:
    """Lines of ``stream`` up to the first for which ``wanted(line)`` holds (all of them if none)."""
    lines = []
    for line in stream:
        lines.append(line)
        if wanted(line):
            break
    return lines


def test_sigterm_while_the_cli_loads_its_libraries_is_a_clean_stop():
    """SIGTERM in the second the command takes to import its libraries killed it silently (exit
    143, no word): it is now a stop like a Ctrl-C there, "interrupted" and exit 130."""
    job = _cli_process("solve", "tiny", stderr_lines=True)  # -X importtime: a line per module loaded
    try:
        seen = _read_until(job.stderr, lambda line: line.split("|")[-1].strip() == "numpy")
        job.send_signal(signal.SIGTERM)
        _, err = job.communicate(timeout=60)
    finally:
        job.kill()
    err = "".join(line for line in [*seen, *err.splitlines(True)] if not line.startswith("import time:"))
    assert job.returncode == 130 and err == "interrupted\n", err


def test_a_program_imports_the_cli_from_a_thread_and_keeps_its_own_sigterm_handler():
    """Setting the stop above while the CLI loads raised "signal only works in main thread" where a
    program imported it from a thread, and replaced the handler of one that handles SIGTERM itself
    (from a review): neither is touched now."""
    code = (
        "import signal, threading\n"
        "errors = []\n"
        "def load():\n"
        "    try:\n"
        "        import fleetopt.cli.render\n"
        "    except Exception as exc:\n"
        "        errors.append(repr(exc))\n"
        "thread = threading.Thread(target=load); thread.start(); thread.join()\n"
        "assert not errors, errors\n"
        "own = lambda signum, frame: None\n"
        "signal.signal(signal.SIGTERM, own)\n"
        "import fleetopt.cli\n"
        "assert signal.getsignal(signal.SIGTERM) is own\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr


@pytest.mark.slow
def test_a_second_sigterm_while_the_stopped_cli_exits_is_ignored(tmp_path):
    """A batch system's second SIGTERM, while the stopped evaluation shut its worker processes
    down, raised KeyboardInterrupt in Python's exit: a traceback, after the resume line."""
    result, loaded = solved("tiny"), load_model("tiny")
    plans_file = tmp_path / "plans.npz"
    labels = [f"p{i}" for i in range(2000)]
    save_plans(plans_file, [result.plan] * 2000, labels, loaded.model.name, loaded.content_hash)
    folder = tmp_path / "part"
    job = _cli_process("evaluate", "tiny", "--plans", str(plans_file), "--scenarios", "1000", "--max-memory",
                       "8MB", "--workers", "2", "--out", str(folder))  # fmt: skip
    assert _wait_for(lambda: any((folder / "chunks").glob("chunk-*.npz")), 60)
    try:
        job.send_signal(signal.SIGTERM)
        said = _read_until(job.stderr, lambda line: line.startswith("interrupted"))
        job.send_signal(signal.SIGTERM)  # while it exits (it hung there, in Python's exit)
        _, err = job.communicate(timeout=60)
    finally:
        job.kill()  # a process that hangs is not left behind
    err = "".join(said) + err
    assert job.returncode == 130 and "Traceback" not in err, err
    assert err.startswith("interrupted: ") and "fleetopt evaluate --resume" in err and err.count("\n") == 1


# ---------------------------------------------------------------- Ray


@pytest.fixture(scope="module")
def ray_local():
    ray = pytest.importorskip("ray", reason="Ray is not installed (pip install 'fleetopt[ray]')")
    # a new local instance, even beside a cluster `ray start` left (it connected to that, and failed)
    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False,
             ignore_reinit_error=True)  # fmt: skip
    yield ray
    ray.shutdown()


def test_ray_executor_matches_local_executor(tiny, ray_local):
    from fleetopt.evaluate.ray_executor import RayExecutor

    data, batch = tiny
    local = run(data, batch)
    remote = run(data, batch, executor=RayExecutor())
    pd.testing.assert_frame_equal(remote.metrics, local.metrics, check_exact=True)
    assert np.array_equal(remote.npv_matrix, local.npv_matrix)


def test_ray_task_killed_mid_run_is_retried_without_changing_the_result(tiny, ray_local, tmp_path):
    from fleetopt.evaluate import jobs, ray_executor

    data, batch = tiny
    local = run(data, batch)
    marker = str(tmp_path / "killed-once")

    def dies_once(*args):
        # the first task to run kills its worker process: Ray must retry it elsewhere
        if not os.path.exists(marker):
            Path(marker).touch()
            os._exit(1)
        return jobs._ray_chunk(*args)

    executor = ray_executor.RayExecutor()
    executor.chunk_function = dies_once
    remote = run(data, batch, executor=executor)
    assert os.path.exists(marker)
    pd.testing.assert_frame_equal(remote.metrics, local.metrics, check_exact=True)




def test_a_ray_worker_lost_past_its_retries_stops_the_run_resumably(tiny, ray_local, tmp_path):
    """A Ray worker or node lost for good (here a task whose worker dies at each try; a local
    raylet killed did the same) ended the evaluation with Ray's traceback and exit 1, not a word of
    the chunks saved: WorkerLost (exit 130, the resume command), and the resume gives the result."""
    from fleetopt.errors import EXIT_INTERRUPTED
    from fleetopt.evaluate import jobs, ray_executor

    data, batch = tiny

    def the_last_chunk_dies(data, chunk, *rest):
        if chunk.labels[0] == "p9":
            os._exit(1)
        return jobs._ray_chunk(data, chunk, *rest)

    executor = ray_executor.RayExecutor(max_retries=0)
    executor.chunk_function = the_last_chunk_dies
    lost_words = r"a Ray worker or node was lost .*\(WorkerCrashedError: "
    with pytest.raises(jobs.WorkerLost, match=lost_words) as lost:
        run(data, batch, store=ChunkStore(tmp_path), executor=executor)
    assert lost.value.exit_code == EXIT_INTERRUPTED and "--executor local" in lost.value.remedy
    resumed = run(data, batch, store=ChunkStore(tmp_path))
    pd.testing.assert_frame_equal(resumed.metrics, run(data, batch).metrics, check_exact=True)


def test_a_ray_worker_of_other_fleetopt_code_is_refused(tiny, ray_local, tmp_path, monkeypatch):
    """A Ray cluster whose workers ran another fleetopt (a node of an older image) computed the
    chunks with that code's figures, in silence (a worker whose mean NPV was changed gave 1.5 times
    the driver's): each task checks its worker's version and code fingerprint against the
    driver's, and the run stops naming both (here the driver's stands in as another code)."""
    from fleetopt import __version__
    from fleetopt.errors import InputError
    from fleetopt.evaluate import ray_executor

    data, batch = tiny
    monkeypatch.setattr(ray_executor, "fleetopt_code", lambda: (__version__, "0123456789abcdef"))
    other = (rf"a Ray worker on .+ runs fleetopt .+, not the driver's fleetopt {re.escape(__version__)} "
             r"\(code 0123456789abcdef\)")
    with pytest.raises(InputError, match=other):
        run(data, batch, store=ChunkStore(tmp_path), executor=ray_executor.RayExecutor())
    assert not list(tmp_path.glob("chunk-*.npz"))  # no chunk of the other code kept
    monkeypatch.undo()  # the same code: the run goes on
    remote = run(data, batch, store=ChunkStore(tmp_path), executor=ray_executor.RayExecutor())
    pd.testing.assert_frame_equal(remote.metrics, run(data, batch).metrics, check_exact=True)


def test_a_ray_run_stopped_by_a_tasks_error_leaves_no_unhandled_errors(tiny, ray_local, monkeypatch):
    """A Ray run stopped by one task's error (a worker of other code; a node that cannot build the
    kernel under --backend cpu-kernel) printed its one-line error, then Ray's "Unhandled error"
    and a traceback for each other task that failed too, unread (74 of them, 290 lines, for 300
    plans): the run's other tasks are cancelled and their results read."""
    import gc

    from fleetopt import __version__
    from fleetopt.errors import InputError
    from fleetopt.evaluate import ray_executor

    data, batch = tiny
    unhandled = []  # what Ray would log (its handler, "visible for testing")
    monkeypatch.setattr(ray_local._private.worker, "_unhandled_error_handler", unhandled.append)
    monkeypatch.setattr(ray_executor, "fleetopt_code", lambda: (__version__, "0123456789abcdef"))
    try:
        run(data, batch, executor=ray_executor.RayExecutor())
    except InputError as exc:
        refused = str(exc)  # not the exception: its traceback would hold the run's tasks
    assert "not the driver's fleetopt" in refused
    gc.collect()  # the tasks' references gone, as when the command exits
    time.sleep(2)  # Ray reports an error never read as its reference goes, from a thread of its own
    assert unhandled == []


def test_parallel_executors_keep_at_most_in_flight_chunks_submitted():
    """The Ray executor keeps a window of chunks submitted (2 per worker), not every chunk at once:
    a run stopped by a task's error then has few tasks left to read. Chunks stored before are not
    submitted; the results come back in the chunks' order whatever order they finish in."""
    from fleetopt.evaluate.jobs import gather_chunks

    class Stored:
        def load(self, first, stop):
            return {"chunk": first} if first == 2 else None

        def save(self, first, stop, result):
            saved.append(first)

    class Plans:
        P = 6

        def take(self, rows):
            return rows.start

    spec, saved, pending, most = dataclasses.make_dataclass("S", ["n_scenarios"])(10), [], [], [0]

    def submit(first):
        pending.append(first)
        most[0] = max(most[0], len(pending))
        return first

    def next_done(handles):
        first = pending.pop()  # the last submitted ends first
        return first, {"chunk": first}

    chunks = [(n, n + 1) for n in range(6)]
    results = gather_chunks(Plans(), spec, chunks, Stored(), None, submit, next_done, in_flight=2)
    assert [r["chunk"] for r in results] == [0, 1, 2, 3, 4, 5]
    assert most[0] == 2 and sorted(saved) == [0, 1, 3, 4, 5]


def test_a_gather_stopped_by_an_error_hands_over_the_chunks_not_read():
    """The Ray executor read its tasks left after a task's error from a set of its own, a copy of
    the loop's pending chunks: the loop hands them over. Two in flight of four chunks: chunk 0
    comes back, chunk 2 is submitted, and reading chunk 1 fails; chunks 1 and 2 are handed over
    (1's error already read: reading it again is harmless), chunk 3 was never submitted."""
    from fleetopt.evaluate.jobs import gather_chunks

    class Plans:
        P = 4

        def take(self, rows):
            return rows.start

    spec, handed = dataclasses.make_dataclass("S", ["n_scenarios"])(10), []

    def next_done(handles):
        if handles[0] == 0:
            return 0, {"chunk": 0}
        raise InputError("refused: chunk 1")

    chunks = [(n, n + 1) for n in range(4)]
    with pytest.raises(InputError, match="chunk 1"):
        gather_chunks(Plans(), spec, chunks, None, None, lambda first: first, next_done, in_flight=2,
                stopped=lambda exc, handles: handed.append((str(exc), handles)))  # fmt: skip
    assert handed == [("refused: chunk 1", [1, 2])]


def test_a_ray_run_stopped_by_a_tasks_error_cancels_no_task(tiny, ray_local, monkeypatch):
    """Ray's ``ray.cancel`` on a task whose reply was on its way aborted the driver inside Ray (Ray
    2.60: "Check failed: ... Tried to complete task that was not pending", SIGABRT, no message):
    a run stopped by a task's error reads its tasks left instead, and stops with the task's error."""
    from fleetopt.evaluate import jobs, ray_executor

    data, batch = tiny
    cancelled = []
    monkeypatch.setattr(ray_local, "cancel", lambda *args, **kwargs: cancelled.append(args))

    def the_second_chunk_is_refused(data, chunk, *rest):
        if chunk.labels[0] == "p1":
            raise InputError("refused: p1")
        return jobs._ray_chunk(data, chunk, *rest)

    executor = ray_executor.RayExecutor()
    executor.chunk_function = the_second_chunk_is_refused
    with pytest.raises(InputError, match="refused: p1"):
        evaluate(data, batch, 300, seed=5, backend="numpy", plan_chunk=1, scenario_chunk=128,
                 executor=executor)  # fmt: skip
    assert cancelled == []


@needs_cc
def test_ray_runs_the_backend_asked_for(tiny, ray_local):
    """`--executor ray --backend cpu-kernel` ran NumPy, silently: each task now runs the C build,
    with the in-process C build's figures."""
    from fleetopt.evaluate.ray_executor import RayExecutor

    data, batch = tiny
    executor = RayExecutor()
    executor.choose("cpu-kernel", data, batch, 300)
    remote = run(data, batch, executor=executor)
    local = evaluate(data, batch, 300, seed=5, backend="cpu-kernel", plan_chunk=3, scenario_chunk=128,
                     keep_matrix=True)  # fmt: skip
    assert (remote.backend, remote.kernel) == ("cpu-kernel", True)
    assert remote.device == "Ray cluster (2 CPUs, 0 GPUs; fused kernel built as C)"
    assert np.array_equal(remote.npv_matrix, local.npv_matrix)
    executor.choose("numpy", data, batch, 300)
    assert executor.backend_name == "numpy"


def test_ray_without_gpus_refuses_cupy(tiny, ray_local):
    from fleetopt.evaluate.backend import BackendError
    from fleetopt.evaluate.ray_executor import RayExecutor

    data, batch = tiny
    with pytest.raises(BackendError, match=r"the Ray cluster has no GPUs \(2 CPUs\): drop --backend cupy"):
        RayExecutor().choose("cupy", data, batch, 300)


def _on_nodes_without_a_compiler(first_only: str | None = None):
    """A Ray task (a closure: sent by value) on a node with no C compiler (CC names none; Ray
    keeps its worker processes, so it is put back): every task, or with ``first_only`` (a marker
    file's path) only the first to run."""

    def task(*args):
        from fleetopt.evaluate import jobs

        if first_only is not None:
            try:  # claimed atomically: two tasks starting together both saw no file, and both ran NumPy
                os.close(os.open(first_only, os.O_CREAT | os.O_EXCL))
            except FileExistsError:
                return jobs._ray_chunk(*args)
        before = os.environ.get("CC")
        os.environ["CC"] = "no-such-compiler-anywhere"
        try:
            return jobs._ray_chunk(*args)
        finally:
            os.environ.pop("CC") if before is None else os.environ.update(CC=before)

    return task


@needs_cc
def test_ray_nodes_that_cannot_build_the_kernel(tiny, ray_local, monkeypatch, tmp_path):
    """`auto` chose the C build here (a large run), a node has no compiler: its chunks run NumPy,
    the same figures to 1e-12, and the device line says so; where no node could, the run is
    NumPy's. `--backend cpu-kernel` stops instead, with the build's own error (not Ray's wrapper).
    The first version stopped with "needs a C compiler" where it was built to fall back."""
    import fleetopt.evaluate.backend_choice as backend_choice
    from fleetopt.evaluate.backend import BackendError
    from fleetopt.evaluate.ray_executor import RayExecutor

    data, batch = tiny
    monkeypatch.setattr(backend_choice, "AUTO_C_BUILD_PAIR_QUARTERS", 1)
    numpy = run(data, batch).metrics
    executor = RayExecutor()
    executor.chunk_function = _on_nodes_without_a_compiler(first_only=str(tmp_path / "first"))
    executor.choose("auto", data, batch, 300)
    assert executor.backend_name == "cpu-kernel"
    some = run(data, batch, executor=executor)
    assert some.backend == "cpu-kernel"
    assert re.search(r"; 1 of 4 chunks ran NumPy, on workers where the C build of the kernel needs a C "
                     r"compiler \(cc, gcc or clang on PATH, or \$CC\): none was found on \S+$", some.device)
    pd.testing.assert_frame_equal(some.metrics, numpy, check_exact=False, rtol=1e-12)
    executor.chunk_function = _on_nodes_without_a_compiler()
    executor.choose("auto", data, batch, 300)
    none = run(data, batch, executor=executor)
    assert none.backend == "numpy" and not none.kernel
    assert none.device.startswith("Ray cluster (2 CPUs, 0 GPUs; NumPy); auto chose the C build of the "
                                  "kernel, and no worker could make it: the build needs a C compiler")
    pd.testing.assert_frame_equal(none.metrics, numpy, check_exact=True)
    executor.choose("cpu-kernel", data, batch, 300)
    with pytest.raises(BackendError, match=r"^the C build of the kernel \(\S+\) needs a C compiler .* none"):
        run(data, batch, executor=executor)


def test_ray_on_a_cluster_with_gpus_runs_a_cpu_backend_on_its_cpus(monkeypatch):
    """`--backend numpy` on a cluster with 8 CPUs and a GPU ran every chunk as one task, on one CPU
    (a task per GPU, kept from CuPy's sizing)."""
    from fleetopt.evaluate.ray_executor import RayExecutor

    executor = RayExecutor.__new__(RayExecutor)  # the cluster's resources as Ray would report them
    executor.gpus, executor.cpus = 1, 8
    executor._use("cupy")
    assert executor.parallelism == 1
    executor._use("numpy")
    assert executor.parallelism == 8 and executor.device == "Ray cluster (8 CPUs, 1 GPUs; NumPy)"


def test_ray_executor_without_ray_gives_a_clear_message(monkeypatch):
    import builtins

    from fleetopt.evaluate.ray_executor import RayExecutor, RayUnavailable

    real_import = builtins.__import__

    def no_ray(name, *args, **kwargs):
        if name == "ray":
            raise ImportError("No module named 'ray'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_ray)
    with pytest.raises(RayUnavailable, match=r"pip install \"fleetopt\[ray\]\""):
        RayExecutor()


def _ray_that_takes_sigterm(monkeypatch, stopped: bool):
    """A stand-in for Ray whose ``init`` sets SIGTERM as Ray's driver does (sys.exit(15)); with
    ``stopped``, a SIGTERM arrives while it starts."""
    import types

    def init(**kwargs):
        signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(signum))
        if stopped:
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(5)  # the handler runs first

    fake = types.SimpleNamespace(is_initialized=lambda: False, init=init, shut_down=[],
                                 cluster_resources=lambda: {"CPU": 2.0})  # fmt: skip
    fake.shutdown = lambda: fake.shut_down.append(True)
    monkeypatch.setitem(sys.modules, "ray", fake)
    return fake


@pytest.mark.parametrize("stopped", [False, True], ids=["after", "while starting"])
def test_ray_leaves_sigterm_to_fleetopt(monkeypatch, stopped):
    """Ray's driver sets its own SIGTERM handler in ray.init (sys.exit(15); its local node's: exit 1):
    a SIGTERM (`docker stop`, a batch system) while a Ray run started, or before its chunks began,
    ended fleetopt with exit 15 (or 1), without a word, not 130 saying what was saved. The handler
    fleetopt had is put back, and a SIGTERM while Ray starts is a stop (KeyboardInterrupt), after
    shutting down what Ray started (its local instance's processes were left running)."""
    from fleetopt.evaluate.ray_executor import RayExecutor

    def ours(signum, frame):
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, ours)
    try:
        ray = _ray_that_takes_sigterm(monkeypatch, stopped)
        if stopped:
            with pytest.raises(KeyboardInterrupt):
                RayExecutor()
        else:
            assert RayExecutor().cpus == 2
        assert signal.getsignal(signal.SIGTERM) is ours
        assert ray.shut_down == ([True] if stopped else [])
    finally:
        signal.signal(signal.SIGTERM, previous)


def test_ray_keeps_its_sigterm_handler_where_sigterm_has_its_default_action(monkeypatch):
    """A program of the Python API that leaves SIGTERM to its default action keeps Ray's handler,
    which shuts Ray's processes down before the program exits."""
    from fleetopt.evaluate.ray_executor import RayExecutor

    previous = signal.signal(signal.SIGTERM, signal.SIG_DFL)
    try:
        _ray_that_takes_sigterm(monkeypatch, stopped=False)
        RayExecutor()
        assert signal.getsignal(signal.SIGTERM) not in (signal.SIG_DFL, previous)
    finally:
        signal.signal(signal.SIGTERM, previous)


def test_a_ray_head_that_does_not_answer_is_refused_at_once():
    """`--executor ray --ray-address 127.0.0.1:1` waited over 90 s printing only Ray's retry
    warnings. A HOST:PORT where nothing accepts a connection is refused before Ray is asked."""
    from fleetopt.evaluate.ray_executor import RayUnavailable, check_ray_head

    with _answering(_SETTINGS_FRAME) as port:  # a port that answers as a Ray head, then none
        check_ray_head(f"127.0.0.1:{port}")
        check_ray_head(f"ray://127.0.0.1:{port}")
    with pytest.raises(RayUnavailable, match=rf"--ray-address 127.0.0.1:{port}: no Ray head answers there"):
        check_ray_head(f"127.0.0.1:{port}")
    with pytest.raises(RayUnavailable, match="give the Ray head as HOST:PORT"):
        check_ray_head("my-cluster")
    # a port of superscript digits was tried as one, then said 'no Ray head answers there (invalid
    # literal for int() ...)'
    with pytest.raises(RayUnavailable, match="give the Ray head as HOST:PORT"):
        check_ray_head("127.0.0.1:\u00b2")
    check_ray_head("auto")  # left to Ray


# the 9-byte header of an empty HTTP/2 SETTINGS frame (type 4), a gRPC server's first answer, as a Ray
# head's GCS gives it (Ray 2.60: 00 00 18 04 ..., 24 bytes of settings after it)
_SETTINGS_FRAME = bytes([0, 0, 0, 4, 0, 0, 0, 0, 0])
_WEB_ANSWER = b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n"


@contextmanager
def _answering(answer: bytes | None):
    """A local TCP service (its port) that reads what a client sends, then answers ``answer`` to
    each connection (None: nothing, the connection held open until the service ends)."""
    import socket
    import threading

    server = socket.create_server(("127.0.0.1", 0))
    held = []

    def serve():
        while True:
            try:
                connection, _ = server.accept()
            except OSError:  # closed: the service ends
                return
            held.append(connection)
            connection.recv(64)
            if answer is not None:
                connection.sendall(answer)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield server.getsockname()[1]
    finally:
        server.shutdown(socket.SHUT_RDWR)  # wakes the accept(), which a close alone does not
        server.close()
        thread.join()
        for connection in held:
            connection.close()


@pytest.mark.parametrize("answer", [_WEB_ANSWER, None], ids=["web server", "silent"])
def test_a_ray_address_where_another_service_answers_is_refused_within_seconds(answer):
    """A --ray-address whose port a web server (or a service that says nothing) answers was joined
    by Ray, which retried for about 14 minutes printing its own warnings. A Ray head is a gRPC
    server: one that does not answer HTTP/2's preface with a SETTINGS frame within the check's
    seconds is refused in fleetopt's words, before Ray is asked; RAY_USE_TLS (Ray's TLS, where the
    preface would be refused) leaves it to Ray."""
    from fleetopt.evaluate.ray_executor import RayUnavailable, check_ray_head

    with _answering(answer) as port:
        said = rf"--ray-address 127.0.0.1:{port}: what answers there is not a Ray head .*within 0.5 s"
        with pytest.raises(RayUnavailable, match=said):
            check_ray_head(f"127.0.0.1:{port}", seconds=0.5)
        with pytest.MonkeyPatch.context() as tls:
            tls.setenv("RAY_USE_TLS", "1")
            check_ray_head(f"127.0.0.1:{port}", seconds=0.5)


def test_the_cli_refuses_a_ray_address_where_a_web_server_answers(here, solve_run, monkeypatch):
    """The command of the case above: exit 2, one line in fleetopt's words, no run folder."""
    ray = pytest.importorskip("ray")
    monkeypatch.setattr(ray, "is_initialized", lambda: False)  # as a new process: not another test's Ray
    with _answering(_WEB_ANSWER) as port:
        code, out, err = run_cli("evaluate", "--plans", str(solve_run), "--scenarios", "20", "--executor",
                                 "ray", "--ray-address", f"127.0.0.1:{port}", "--out", "R")  # fmt: skip
    said = " ".join(err.split())
    assert code == 2 and "Traceback" not in err, out + err
    assert said.startswith(f"error: --ray-address 127.0.0.1:{port}: what answers there is not a Ray "
                           "head"), said
    assert not (here / "R").exists()


class _TokenAsked(Exception):
    """Stands for Ray's ray.exceptions.AuthenticationError (token authentication on, no token)."""


def _ray_that_cannot_join(monkeypatch, error: BaseException) -> None:
    """A stand-in for Ray whose ``init`` of an existing cluster raises ``error``, as Ray's does."""
    import types

    def init(**kwargs):
        raise error

    exceptions = types.SimpleNamespace(AuthenticationError=_TokenAsked)
    fake = types.SimpleNamespace(is_initialized=lambda: False, init=init, exceptions=exceptions)
    monkeypatch.setitem(sys.modules, "ray", fake)


def test_ray_address_auto_without_a_cluster_is_said_in_fleetopts_options(monkeypatch, solve_run, here):
    """`--executor ray --ray-address auto` on a machine with no cluster printed Ray's own error,
    "... setting `--address` flag or `RAY_ADDRESS` environment variable" (fleetopt has no --address),
    and from Python raised that ConnectionError, not the InputError every bad input raises."""
    from fleetopt.evaluate.ray_executor import RayExecutor

    ray_said = ("Could not find any running Ray instance. Please specify the one to connect to by setting "
                "`--address` flag or `RAY_ADDRESS` environment variable.")  # fmt: skip
    _ray_that_cannot_join(monkeypatch, ConnectionError(ray_said))
    code, _, err = run_cli("evaluate", "--plans", str(solve_run), "--scenarios", "5", "--executor", "ray",
                           "--ray-address", "auto", "--out", "E")  # fmt: skip
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == 2 and len(lines) == 1, err
    assert lines[0].startswith("error: --ray-address auto: Ray found no cluster on this machine to join")
    assert "`--address`" not in err and not (here / "E").exists()
    with pytest.raises(InputError, match="--ray-address auto: Ray found no cluster"):
        RayExecutor(address="auto")


def test_a_ray_head_that_answers_but_cannot_be_joined_says_what_to_set(monkeypatch):
    """A head started with token authentication (Ray 2.60's `ray start --head` once ~/.ray/auth_token
    exists, as after a local Ray run) refuses a driver without RAY_AUTH_MODE=token: after 20 s of
    Ray's warnings, "error: Failed to connect to Ray cluster at 10.0.0.5:6379", nothing on why.
    With RAY_AUTH_MODE=token and no token, Ray's AuthenticationError ended in a traceback (exit 1)."""
    from fleetopt.evaluate.ray_executor import RayExecutor, RayUnavailable

    with _answering(_SETTINGS_FRAME) as port:  # a port that answers, as a head's does
        address = f"127.0.0.1:{port}"
        _ray_that_cannot_join(monkeypatch, ConnectionError(f"Failed to connect to Ray cluster at {address}"))
        with pytest.raises(RayUnavailable) as refused:
            RayExecutor(address=address)
        said = str(refused.value)
        assert said.startswith(f"--ray-address {address}: Ray could not join the cluster there (Failed "
                               f"to connect to Ray cluster at {address}). Where its head requires a token")
        assert "set RAY_AUTH_MODE=token here, with the head's token in ~/.ray/auth_token or" in said
        no_token = "Token authentication is enabled but no authentication token was found."
        _ray_that_cannot_join(monkeypatch, _TokenAsked(no_token))
        with pytest.raises(RayUnavailable, match=f"^--ray-address {address}: Ray could not join the cluster "
                                                 f"there: {no_token}$"):  # fmt: skip
            RayExecutor(address=address)


def test_models_are_importable_by_workers():
    # Ray ships ModelData to workers by pickling: it must survive a round trip
    import pickle

    data = build_data(LoadedModel(load_model("tiny").model, "x", ""))
    again = pickle.loads(pickle.dumps(data))
    assert again.T == data.T and np.array_equal(again.proceeds, data.proceeds)
    assert "tiny" in MODELS


def test_interrupted_sweep_resumes_to_the_same_choice(tmp_path):
    from fleetopt import api
    from fleetopt.sweep.rule import Rule

    rule = Rule(max_breach_prob=0.9)
    reference = api.sweep("tiny", candidates=5, scenarios=200, seed=3, rule=rule, backend="numpy")
    folder = tmp_path / "sweep"

    def interrupt(done, total):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        api.sweep("tiny", candidates=5, scenarios=200, seed=3, rule=rule, backend="numpy", folder=folder,
                  progress=interrupt)  # fmt: skip
    assert (folder / "candidates.json").exists() and not (folder / "summary.json").exists()
    resumed = api.resume_sweep(folder)
    pd.testing.assert_frame_equal(resumed.metrics, reference.metrics, check_exact=True)
    api.write_sweep_run(resumed, folder)
    assert (folder / "summary.json").exists() and not (folder / "chunks").exists()
    with pytest.raises(InputError, match="already finished") as finished:
        api.resume_sweep(folder)
    assert f"fleetopt.api.rerank_sweep({str(folder)!r}, rule_changes)" in str(finished.value)


def _one_candidate_a_chunk(monkeypatch) -> None:
    """Evaluations in this test sized to one plan a chunk, every scenario in one block, as on a
    machine with little memory."""
    from fleetopt.evaluate import engine

    monkeypatch.setattr(engine, "backend_chunk_sizes", lambda data, plans, n, *args, **kw: (1, n))


def test_a_sweep_resumed_on_a_machine_that_sizes_chunks_otherwise_keeps_its_stored_chunks(
    tmp_path, monkeypatch
):
    """A sweep stopped with 2 chunks of one candidate stored, resumed where one chunk holds every
    candidate: the 2 are used as they are (2 x 200 pairs from the earlier attempt) and only the
    other candidates are evaluated, to the figures of an uninterrupted sweep. Before, the sweep kept
    the first attempt's chunk sizes in job.json for its resumes, whatever memory they had."""
    from fleetopt import api
    from fleetopt.sweep.rule import Rule

    rule, folder = Rule(max_breach_prob=0.9), tmp_path / "sweep"
    reference = api.sweep("tiny", candidates=5, scenarios=200, seed=3, rule=rule, backend="numpy")
    with monkeypatch.context() as small:
        _one_candidate_a_chunk(small)
        with pytest.raises(KeyboardInterrupt):
            api.sweep("tiny", candidates=5, scenarios=200, seed=3, rule=rule, backend="numpy", folder=folder,
                      progress=interrupt_at(3))  # fmt: skip
    assert ChunkStore(folder / "chunks").ranges() == [(0, 1), (1, 2)]
    resumed = api.resume_sweep(folder)
    assert resumed.evaluation.pairs_stored == 2 * 200
    pd.testing.assert_frame_equal(resumed.metrics, reference.metrics, check_exact=True)


def test_a_sweep_resumed_after_its_seed_was_edited_keeps_its_stored_chunks(tmp_path, monkeypatch):
    """A sweep's chunks carry the same fingerprint: stopped with 2 chunks of seed 3 stored (one
    candidate a chunk), then job.json's seed edited to 4. The resume removed both and evaluated
    every candidate on seed 4; now it is refused, the chunks kept, and with the seed put back it
    finishes on them, as the uninterrupted sweep of seed 3."""
    from fleetopt import api
    from fleetopt.evaluate.chunk_store import OtherRunsChunks
    from fleetopt.sweep.rule import Rule

    rule, folder = Rule(max_breach_prob=0.9), tmp_path / "sweep"
    reference = api.sweep("tiny", candidates=5, scenarios=200, seed=3, rule=rule, backend="numpy")
    _one_candidate_a_chunk(monkeypatch)
    with pytest.raises(KeyboardInterrupt):
        api.sweep("tiny", candidates=5, scenarios=200, seed=3, rule=rule, backend="numpy", folder=folder,
                  progress=interrupt_at(3))  # fmt: skip
    assert ChunkStore(folder / "chunks").count() == 2
    _edit_job(folder, seed=4)
    with pytest.raises(OtherRunsChunks, match=r"2 finished chunks .* \(seed 3 where this run has 4\)"):
        api.resume_sweep(folder)
    assert ChunkStore(folder / "chunks").count() == 2
    _edit_job(folder, seed=3)
    resumed = api.resume_sweep(folder)
    assert resumed.evaluation.pairs_stored == 2 * 200
    pd.testing.assert_frame_equal(resumed.metrics, reference.metrics, check_exact=True)


_HOLD_LOCK = """
import fcntl, os, sys, time
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT)
fcntl.flock(fd, fcntl.LOCK_EX)
os.ftruncate(fd, 0)  # as a run does: a longer pid written there before would trail this one
os.write(fd, (sys.argv[2] if len(sys.argv) > 2 else "%d\\n" % os.getpid()).encode())
print("locked", flush=True)
time.sleep(600)
"""


@contextmanager
def held_by_another_process(folder: Path, stamp: str | None = None):
    """A process that holds ``folder``'s job lock (as a run there would) while the block runs; its pid.
    ``stamp``: what it writes in the lock file instead of its pid (a process of another host)."""
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLD_LOCK, str(folder / RunFolder.LOCK), *([stamp] if stamp else [])],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout.readline().strip() == "locked"
        yield holder.pid
    finally:
        holder.kill()
        holder.wait()


def test_a_new_run_into_a_folder_whose_job_still_runs_says_it_runs(tmp_path):
    """A second job sent to a folder whose job was still running read "holds an interrupted run ...
    finish it with --resume", a resume that would then be refused: it now says the run goes on,
    naming its process; once that process is gone the folder reads as interrupted again."""
    folder = _interrupted_job(tmp_path)
    again = ("evaluate", "tiny", "--plans", str(_tiny_plans_file(tmp_path)), "--out", str(folder))
    with held_by_another_process(folder) as pid:
        code, _, err = run_cli(*again)
        assert code == 2
        assert (f"{folder} holds a run of fleetopt evaluate still running in another process (pid {pid}): "
                "choose another folder") in " ".join(err.split())  # fmt: skip
    code, _, err = run_cli(*again)
    assert code == 2 and "holds an interrupted run of fleetopt evaluate" in " ".join(err.split())


def test_a_job_run_in_a_container_is_named_by_its_host_as_well_as_its_pid(tmp_path):
    """A job run in a container (`docker run -v "$PWD/runs:/runs"`) locks its folder as pid 1, the
    container's own first process: a second container, or the host, was told "being run by another
    fleetopt process (pid 1)", which there is itself or the host's init. The lock names the host too
    (a container's is its id, as `docker ps` shows it), and a holder on another host is named by both."""
    folder = _interrupted_job(tmp_path)
    with held_by_another_process(folder, stamp="1 0d226e7b8ea5\n"):
        code, _, err = run_cli("evaluate", "--resume", str(folder))
        assert code == 2
        assert (f"{folder} is being run by another fleetopt process (pid 1 on host 0d226e7b8ea5): wait for "
                "it, or stop it on host 0d226e7b8ea5 (a container: docker stop 0d226e7b8ea5)") in " ".join(
            err.split())  # pid 1 here is this machine's init: not to be stopped here
    RunFolder(folder).hold_lock()  # a run of this host names its pid alone
    assert (folder / RunFolder.LOCK).read_text() == f"{os.getpid()} {socket.gethostname()}\n"
    RunFolder(folder).release_lock()


def test_a_resume_in_a_read_only_folder_says_the_job_needs_it_writable(tmp_path, monkeypatch):
    """A preempted job's folder on a read-only mount (`docker run -v "$PWD/runs:/runs:ro"`, an archive
    mounted back) was refused with "cannot lock FOLDER: Read-only file system" alone. It now says why
    the folder must be writable and what to do; nothing in the folder changes. Made read-only by
    os.open's answer for the lock file (root writes anywhere)."""
    import errno

    from fleetopt.runs import folder as folder_module

    folder = _interrupted_job(tmp_path)
    before = sorted(p.name for p in folder.rglob("*"))
    real_open = os.open

    def read_only(path, flags, *mode):
        if Path(path).name == RunFolder.LOCK:
            raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(path))
        return real_open(path, flags, *mode)

    monkeypatch.setattr(folder_module.os, "open", read_only)
    code, _, err = run_cli("evaluate", "--resume", str(folder))
    assert code == 2 and "Traceback" not in err, err
    assert " ".join(err.split()) == (
        f"error: cannot lock {folder}: Read-only file system: a job is run and resumed in its folder, "
        "which must be writable (its lock file, its chunks): make it writable, or resume a copy of it "
        "on a writable disk")  # fmt: skip
    assert sorted(p.name for p in folder.rglob("*")) == before


@pytest.mark.parametrize("stamp, value, why", [
    ("figures_code", "0123456789abcdef", "from other code than this installation's"),
    ("fleetopt_version", "0.1.0", "the run was started by fleetopt 0.1.0, this is fleetopt"),
])  # fmt: skip
def test_fleetopt_runs_offers_no_resume_this_code_would_refuse(tmp_path, monkeypatch, stamp, value, why):
    """A job started from other code (a checkout changed since) or by another version was listed as
    "interrupted: fleetopt evaluate --resume F", a command then refused; and so was it by `evaluate
    --out F`. Each says why it cannot be resumed and to start the run anew, with no resume command."""
    monkeypatch.setenv("FLEETOPT_RUNS_DIR", str(tmp_path))
    folder = _interrupted_job(tmp_path)
    _edit_job(folder, **{stamp: value})
    code, out, _ = run_cli("runs")
    listed = " ".join(out.split())
    state = f"{folder} (evaluate): interrupted, cannot be resumed: the run was started by"
    assert code == 0 and state in listed and why in listed, out
    assert "start the run anew" in listed and "--resume" not in listed, out
    code, out, err = run_cli("evaluate", "--plans", str(folder.parent / "plans.npz"), "--out", str(folder))
    said = " ".join(err.split())
    refused = "holds an interrupted run of fleetopt evaluate that cannot be resumed: the run was started by"
    assert code == 2 and refused in said and why in said, err
    assert "--resume" not in said and said.endswith("choose another folder"), err
    # nor do `runs add` of it (it said "finish it with fleetopt evaluate --resume F") or `evaluate F`
    for args in (("runs", "add", str(folder)), ("evaluate", str(folder))):
        code, out, err = run_cli(*args)
        said = " ".join(err.split())
        assert code == 2 and "cannot be resumed: the run was started by" in said and why in said, err
        assert "--resume " + str(folder) not in said, err


def test_an_unfinished_job_given_as_the_model_to_evaluate_says_it_is_still_running(tmp_path):
    """`fleetopt evaluate FOLDER` (the folder where the model goes) of a job whose run went on offered
    "finish it with fleetopt evaluate --resume FOLDER", a resume refused then: it names the process
    running it, as every other command does (evaluate/sources.py how_it_finishes)."""
    folder = _interrupted_job(tmp_path)
    with held_by_another_process(folder) as pid:
        code, out, err = run_cli("evaluate", str(folder))
    said = " ".join(err.split())
    assert (code, out) == (2, ""), err
    assert said == (f"error: {folder} is an unfinished evaluate run, not a model (still running, pid {pid}): "
                    "wait for it to finish; give --plans (a run folder, run id or plan file), or --resume a "
                    "run folder")  # fmt: skip


def test_fleetopt_runs_lists_the_jobs_not_finished_and_how_to_finish_them(tmp_path, monkeypatch):
    """An interrupted job was in no list (the registry records a run when it finishes): a batch
    operator had to remember its folder. `fleetopt runs` now names each unfinished job of the runs
    folder, interrupted (with its resume command) or still running (with its process)."""
    monkeypatch.setenv("FLEETOPT_RUNS_DIR", str(tmp_path))
    folder = _interrupted_job(tmp_path)
    code, out, _ = run_cli("runs")
    assert code == 0 and "no runs recorded yet" in out
    assert f"{folder} (evaluate): interrupted: fleetopt evaluate --resume {folder}" in out
    with held_by_another_process(folder) as pid:
        assert f"{folder} (evaluate): running (pid {pid})" in run_cli("runs")[1]
    assert "not finished" not in run_cli("runs", "--kind", "sweep")[1]
    assert "not finished" not in run_cli("runs", "--model", "neocloud")[1]  # another model's job: not listed
    assert f"{folder} (evaluate): interrupted" in run_cli("runs", "--model", "tiny")[1]
    # `runs add` of it said "finish it with --resume", naming no command
    code, _, err = run_cli("runs", "add", str(folder))
    said = (f"error: {folder} has no summary.json: an unfinished evaluate run (interrupted): finish it "
            f"with fleetopt evaluate --resume {folder}, which records it")
    assert code == 2 and said in " ".join(err.split()), err
    assert run_cli("evaluate", "--resume", str(folder))[0] == 0
    from fleetopt import api

    assert "not finished" not in run_cli("runs")[1]
    assert [Path(r.path) for r in api.runs()] == [folder]  # recorded now


@pytest.mark.parametrize("damage, said", [
    (lambda text: text[: len(text) // 2], "job.json cannot be read as a job's settings"),
    (lambda text: text.replace('"kind": "evaluate"', '"kind": "evaluation"'), "'kind' is 'evaluation'"),
    (lambda text: text.replace('"kind": "evaluate"', '"kind": null'), "'kind' is null, not one of"),
    (lambda text: text.replace('"kind": "evaluate",', ''), "'kind' is missing (one of evaluate, sweep)"),
], ids=["cut short", "kind edited", "kind null", "kind missing"])  # fmt: skip
def test_fleetopt_runs_lists_a_job_whose_job_json_is_damaged(tmp_path, monkeypatch, damage, said):
    """A job folder whose job.json was cut short (a full disk, a bad copy) or edited was left out of
    `fleetopt runs` without a word: its finished chunks were forgotten. It is listed as damaged,
    whatever --kind asks for, saying why and what to do."""
    monkeypatch.setenv("FLEETOPT_RUNS_DIR", str(tmp_path))
    folder = _interrupted_job(tmp_path)
    (folder / "job.json").write_text(damage((folder / "job.json").read_text()))
    for args in (("runs",), ("runs", "--kind", "sweep"), ("runs", "--model", "tiny")):
        code, out, err = run_cli(*args)
        text = " ".join(out.split())
        assert code == 0 and not err, err
        assert f"{folder} (kind unknown): damaged, cannot be resumed: {folder / 'job.json'}" in text, out
        assert said in text and "restore its job.json (from a copy of the folder), or delete" in text


def test_a_sweep_resume_checks_its_model_keeps_its_source_and_holds_the_folder(tmp_path, monkeypatch):
    """As an evaluation's: a model.yaml edited after the start is refused naming both files, the
    summary keeps the model source the sweep started from, and while another process holds the
    folder a resume is refused naming it (api.resume_sweep took no lock)."""
    from fleetopt import api

    folder = tmp_path / "sweep"

    def interrupt(done, total):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        api.sweep("tiny", candidates=2, scenarios=20, seed=3, folder=folder, progress=interrupt)
    RunFolder(folder).release_lock()  # as the interrupted process's end would
    job = json.loads((folder / "job.json").read_text())
    tiny = load_model("tiny")
    assert (job["model_hash"], job["model_source"]) == (tiny.content_hash, tiny.source)
    model = folder / "model.yaml"
    text = model.read_text()
    model.write_text(text + "# edited\n")
    with pytest.raises(api.InputError, match=r"is not the model .*job\.json was started with"):
        api.resume_sweep(folder)
    model.write_text(text)
    stopped = "another fleetopt process \\(pid {}\\)"
    with held_by_another_process(folder) as pid, pytest.raises(api.InputError, match=stopped.format(pid)):
        api.resume_sweep(folder)
    monkeypatch.chdir(tmp_path)
    api.write_sweep_run(api.resume_sweep("sweep"), "sweep")
    assert json.loads((folder / "summary.json").read_text())["model_source"] == job["model_source"]
    assert not (folder / RunFolder.LOCK).exists()


SWEEP = dict(candidates=6, scenarios=200, seed=3, backend="numpy")


class Interrupted:
    """A candidate progress callback that stops the sweep (as Ctrl-C would) after ``after`` lines."""

    def __init__(self, after: int):
        self.after, self.lines = after, []

    def __call__(self, line: str) -> None:
        self.lines.append(line)
        if len(self.lines) == self.after:
            raise KeyboardInterrupt


def counting_solves(monkeypatch) -> list:
    """Every MILP solve the sweep's planners make (the forecast's, stresses', completions')."""
    from fleetopt.milp.persistent import PersistentPlanner

    solves, real = [], PersistentPlanner.solve
    monkeypatch.setattr(PersistentPlanner, "solve", lambda self: solves.append(1) or real(self))
    return solves


def test_a_sweep_stopped_while_making_candidates_keeps_those_made(tmp_path, monkeypatch):
    """Stopped after the fourth candidate (the forecast optimum, its two cash-buffer runs, the price
    shock's optimum, on tiny a duplicate): the folder keeps those four, plans and list; the resume
    solves only the others and ends as an uninterrupted sweep does, candidate for candidate."""
    from fleetopt import api
    from fleetopt.runs.folder import RunFolder
    from fleetopt.sweep.run import saved_candidates

    solves = counting_solves(monkeypatch)
    reference = api.sweep("tiny", **SWEEP)
    made_by_reference = len(solves)
    solves.clear()
    folder, stop = tmp_path / "sweep", Interrupted(after=4)
    with pytest.raises(KeyboardInterrupt):
        api.sweep("tiny", **SWEEP, folder=folder, candidate_progress=stop)
    assert len(solves) == 2, "the forecast and the price shock were solved before the stop"
    _, data = api.load("tiny")
    saved = saved_candidates(RunFolder(folder), data)
    expected = reference.candidates.candidates
    assert [c.label for c in saved] == [c.label for c in expected[:4]]
    for c, ref in zip(saved, expected, strict=False):  # the price shock's optimum is the forecast's
        assert c.status == ref.status and (c.plan is None) == (ref.plan is None)
        assert c.plan is None or np.array_equal(c.plan.buy_blocks, ref.plan.buy_blocks)
    assert not (folder / "summary.json").exists()
    with pytest.raises(InputError, match="still making its candidates"):  # 4 of them: not its plans
        api.evaluate(folder, scenarios=10)
    # a list cut by hand (a candidate dropped while plans.npz still holds it) is refused, not skipped
    edited = tmp_path / "edited"
    shutil.copytree(folder, edited)
    listing = json.loads((edited / "candidates.json").read_text())
    kept = [c for c in listing if c["label"] != expected[1].label]
    (edited / "candidates.json").write_text(json.dumps(kept))
    with pytest.raises(PlanFileError, match=f"does not list '{re.escape(expected[1].label)}'"):
        saved_candidates(RunFolder(edited), data)
    # but a stop killed between the two writes leaves the newest plan unlisted, last: it is made again
    planned = [c["label"] for c in listing if c["status"] not in ("duplicate", "infeasible", "no_plan")]
    newest = [c for c in listing if c["label"] != planned[-1]]
    (edited / "candidates.json").write_text(json.dumps(newest))
    assert [c.label for c in saved_candidates(RunFolder(edited), data)] == [c["label"] for c in newest]

    solves.clear()
    lines = []
    resumed = api.resume_sweep(folder, candidate_progress=lines.append)
    assert len(solves) == made_by_reference - 2, "nothing saved is solved again"
    assert lines[:4] == [f"{line} (saved earlier)" for line in stop.lines]
    made = resumed.candidates.candidates
    assert [(c.label, c.status) for c in made] == [(c.label, c.status) for c in expected]
    pd.testing.assert_frame_equal(resumed.metrics, reference.metrics, check_exact=True)
    api.write_sweep_run(resumed, folder)
    assert (folder / "summary.json").exists()


def _plans_that_differ(resumed, reference) -> list[str]:
    """The candidates whose label, status, forecast NPV or any decision array is not the same, to the bit."""
    differ = []
    for a, b in zip(resumed.candidates.candidates, reference.candidates.candidates, strict=True):
        same = (a.label, a.status, a.forecast_npv_usd) == (b.label, b.status, b.forecast_npv_usd)
        if same and a.plan is not None:
            same = all(np.array_equal(v, b.plan.arrays()[k]) for k, v in a.plan.arrays().items())
        if not same or (a.plan is None) != (b.plan is None):
            differ.append(a.label)
    return differ


@pytest.mark.parametrize(
    "stop_after, candidates, proposal",
    [(10, 9, False), (2, 6, True)],
    ids=["stopped before a variation", "stopped after your proposal"],
)
def test_an_interrupted_sweep_resumes_to_the_same_plans_to_the_bit(
    tmp_path, monkeypatch, stop_after, candidates, proposal
):
    """Every candidate saved before the stop is taken as saved, and each made after it is solved by
    the resume as the uninterrupted sweep solved it. Stopped after 10 lines on tiny, the resume's
    first solves complete the variations "milp: forecast, buy 1q later" and "buy 2q later" (when
    decisions were fixed with Var.fix, one came out with prepayments $71.7M apart: the MILP has
    ties); stopped after the forecast and a proposal of yours (later.csv), the lost anchor
    customer's and the collateral haircut's optima differed."""
    from fleetopt import api

    orders = tmp_path / "later.csv"
    orders.write_text("quarter,sku,site,gpus\n2026Q4,B200,texas,2000\n")  # the optimum's, a quarter late
    settings = {**SWEEP, "candidates": candidates, "scenarios": 20, "purchases": [orders] if proposal else []}
    solves = counting_solves(monkeypatch)
    reference = api.sweep("tiny", **settings)
    solved_by_reference = len(solves)
    folder, stop = tmp_path / "sweep", Interrupted(after=stop_after)
    with pytest.raises(KeyboardInterrupt):
        api.sweep("tiny", **settings, folder=folder, candidate_progress=stop)
    solved_before_the_stop = len(solves) - solved_by_reference
    resumed = api.resume_sweep(folder)
    assert len(solves) == 2 * solved_by_reference, "a candidate saved before the stop was solved again"
    assert 0 < solved_before_the_stop < solved_by_reference
    assert _plans_that_differ(resumed, reference) == []
    pd.testing.assert_frame_equal(resumed.metrics, reference.metrics, check_exact=True)


def test_cli_sweep_stopped_while_making_candidates_says_what_is_saved_and_resumes(tmp_path, monkeypatch):
    from conftest import run_cli

    import fleetopt.cli.risk_commands as commands

    monkeypatch.setenv("FLEETOPT_RUNS_DIR", str(tmp_path / "runs"))
    out = tmp_path / "S"
    monkeypatch.setattr(commands, "say_candidate", Interrupted(after=2))
    code, _, err = run_cli("sweep", "tiny", "--candidates", "4", "--scenarios", "100", "--out", str(out))
    assert code == 130
    assert (
        err.split()
        == (
            f"interrupted: 2 candidates made (2 plans to evaluate) saved in {out}; "
            f"finish with: fleetopt sweep --resume {out}"
        ).split()
    )
    monkeypatch.undo()
    monkeypatch.setenv("FLEETOPT_RUNS_DIR", str(tmp_path / "runs"))
    # a rule given with --resume picks among the candidates; the job keeps the rule it started with
    code, stdout, err = run_cli("sweep", "--resume", str(out), "--max-breach-prob", "0.0001")
    assert code == 2 and "no candidate meets the rule" in err
    assert stdout.count("(saved earlier)") == 2
    assert json.loads((out / "job.json").read_text())["rule"]["max_breach_prob"] is None
    code, stdout, err = run_cli("sweep", "--resume", str(out))
    assert code == 0, err
    assert "saved earlier" not in stdout, "the candidates were complete: none is made again"
    assert (out / "summary.json").exists() and not (out / "chunks").exists()
    # resumed again (a batch job's retry): done, exit 0; with a rule, a re-ranking was meant: refused
    code, stdout, err = run_cli("sweep", "--resume", str(out))
    assert code == 0 and f"{out}: this sweep already finished (run 1: fleetopt runs show 1)" in stdout, err
    code, _, err = run_cli("sweep", "--resume", str(out), "--prefer", "mean")
    assert code == 2 and f"fleetopt sweep --rerank {out}" in " ".join(err.split())


def test_worker_processes_match_the_in_process_executor(tiny):
    from fleetopt.evaluate.process_executor import ProcessExecutor

    data, batch = tiny
    local = run(data, batch)
    pooled = run(data, batch, executor=ProcessExecutor(2))
    pd.testing.assert_frame_equal(pooled.metrics, local.metrics, check_exact=True)
    assert np.array_equal(pooled.npv_matrix, local.npv_matrix)


def test_a_worker_killed_before_its_chunk_is_done_stops_the_run_resumably(tiny, tmp_path):
    """A worker process killed by the system (out of memory) gave a BrokenProcessPool traceback and
    exit 1, with no word of the chunks saved (from an operator's review): WorkerLost, exit 130 as an
    interrupted run, the chunks saved before it kept."""
    import multiprocessing

    from fleetopt.errors import EXIT_INTERRUPTED
    from fleetopt.evaluate.jobs import WorkerLost
    from fleetopt.evaluate.process_executor import ProcessExecutor

    data, batch = tiny
    store = ChunkStore(tmp_path)

    def kill_the_workers(done, total):
        for worker in multiprocessing.active_children():
            worker.kill()

    with pytest.raises(WorkerLost, match="a worker process ended before its chunk was done") as caught:
        run(data, batch, store=store, progress=kill_the_workers, executor=ProcessExecutor(2))
    assert caught.value.exit_code == EXIT_INTERRUPTED
    assert store.count() >= 1  # the chunk that finished first is kept for --resume


class _StopsAtTheSecondChunk(ChunkStore):
    """A chunk store whose reading of the second chunk is stopped by Ctrl-C."""

    def __init__(self, folder):
        super().__init__(folder)
        self.read = 0

    def load(self, first, stop):
        self.read += 1
        if self.read == 2:
            raise KeyboardInterrupt
        return super().load(first, stop)


def test_a_run_stopped_while_a_worker_sends_its_result_lets_the_process_exit(tiny, tmp_path, monkeypatch):
    """Ctrl-C on `evaluate --workers 2` printed "interrupted", then never exited, deaf to further
    Ctrl-C and SIGTERM: a worker killed while it sent its chunk's result left part of a message in
    the pipe of results, whose rest the pool's thread waited for forever, and the interpreter's exit
    on that thread. Here the part of a message is written by hand (its header, saying 1 MiB follow):
    the stop must leave the pool's thread free to end."""
    import struct

    from fleetopt.evaluate import process_executor

    pools = []

    def pool_with_half_a_message(workers, data):
        pool = real_pool(workers, data)
        pool._result_queue._writer._send(struct.pack("!i", 1 << 20))  # a header whose bytes never come
        pools.append((pool._executor_manager_thread, pool._result_queue))
        return pool

    real_pool = process_executor._worker_pool
    monkeypatch.setattr(process_executor, "_worker_pool", pool_with_half_a_message)
    with pytest.raises(KeyboardInterrupt):
        run(*tiny, store=_StopsAtTheSecondChunk(tmp_path), executor=process_executor.ProcessExecutor(2))
    ((thread, results),) = pools
    thread.join(60)
    hung = thread.is_alive()
    results._writer.close()  # what the stop does: so that a failure here leaves pytest free to exit
    assert not hung


def _write_chunk(folder, first, stop, **arrays) -> None:
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    data = buf.getvalue()
    (folder / f"chunk-{first}-{stop}-{hashlib.sha256(data).hexdigest()}.npz").write_bytes(data)


def test_a_chunk_with_a_valid_name_but_not_this_runs_contents_is_recomputed(tiny, tmp_path):
    """A checksum-valid chunk without metadata, or of the wrong shapes, crashed --resume with a
    traceback once every other chunk was computed (issue 15)."""
    data, batch = tiny
    reference = run(data, batch)
    folder = tmp_path / "chunks"
    folder.mkdir()
    metrics = {f"metric:{name}": np.zeros(3) for name in METRIC_COLUMNS}
    _write_chunk(folder, 0, 3, **metrics)  # no metadata
    meta = np.array('{"kernel": false}')
    _write_chunk(folder, 3, 6, __meta__=meta, **metrics, npv=np.zeros((3, 7)))  # 7 scenarios, not 300
    _write_chunk(folder, 6, 9, __meta__=meta, **{k: np.zeros(5) for k in metrics})  # 5 plans, not 3
    _write_chunk(folder, 9, 12, __meta__=np.array("[1]"), **metrics)  # metadata of another kind
    store = ChunkStore(folder, 300, tuple(METRIC_COLUMNS))
    assert all(store.load(a, a + 3) is None for a in (0, 3, 6, 9)) and store.count() == 0
    _write_chunk(folder, 3, 6, __meta__=meta, **metrics, npv=np.zeros((3, 7)))
    with pytest.warns(FleetoptWarning, match=r"1 stored chunk computed for another run \(no fingerprint"):
        resumed = run(data, batch, store=store)
    pd.testing.assert_frame_equal(resumed.metrics, reference.metrics, check_exact=True)


def test_worker_processes_ignore_ctrl_c(tiny):
    """The terminal sends Ctrl-C to the whole process group: workers that took it printed a
    KeyboardInterrupt traceback each (~60 lines with --workers 2) before the parent's one-line
    "interrupted". They are born ignoring it; the parent stops them when it stops the run."""
    from fleetopt.evaluate.process_executor import _worker_pool

    pool = _worker_pool(2, tiny[0])
    try:
        handlers = {pool.submit(signal.getsignal, signal.SIGINT).result() for _ in range(8)}
        assert len({f.pid for f in pool._processes.values()}) == 2
    finally:
        pool.shutdown()
    assert handlers == {signal.SIG_IGN}
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # the parent's is restored


def test_a_resumed_run_counts_only_the_pairs_it_computed_in_its_speed(tmp_path):
    """6 plans x 20 scenarios in chunks of 2 plans: the first attempt stops inside its second
    chunk with one chunk (2 x 20 = 40 pairs) saved; the resumed attempt computes the other 80 pairs
    and its speed is 80 pairs x 8 quarters / its seconds (before: all 120 pairs over the seconds of
    the resumed part, 1.5x too fast here, arbitrarily fast for a run resumed near its end)."""
    from fleetopt import api

    folder = _interrupted_job(tmp_path)
    job = api.resume_evaluation(folder)
    resumed = job.run(folder)
    assert (resumed.pairs_stored, resumed.pairs_computed) == (40, 80)
    assert resumed.pair_quarters_per_second == pytest.approx(80 * 8 / resumed.seconds)
    api.write_evaluate_run(resumed, api.load(folder / "model.yaml")[0], job.source, folder)
    summary = json.loads((folder / "summary.json").read_text())
    assert summary["plan_scenario_pairs_from_an_earlier_attempt"] == 40
    assert summary["plan_scenario_quarters_per_second"] == pytest.approx(resumed.pair_quarters_per_second)
    [(device, pairs)] = summary["earlier_attempts_devices"].items()  # where those 40 were computed
    assert device.startswith("numpy: CPU") and pairs == 40


@needs_cc
def test_a_run_resumed_on_another_backend_says_where_each_part_was_computed(tmp_path):
    """A job started on NumPy and finished by the C build recorded only the C build: the summary's
    backend is the last attempt's, and earlier_attempts_devices counts the pairs the first computed."""
    folder = _interrupted_job(tmp_path)
    code, _, err = run_cli("evaluate", "--resume", str(folder), "--backend", "cpu-kernel")
    assert code == 0, err
    summary = json.loads((folder / "summary.json").read_text())
    assert summary["backend"] == "cpu-kernel"
    assert [(d.split(":")[0], n) for d, n in summary["earlier_attempts_devices"].items()] == [("numpy", 40)]


# ---------------------------------------------------------------- stored chunks belong to their job


def _interrupted_job(tmp_path, seed: int = 7, keep_matrix: bool = False, model="tiny") -> Path:
    """An evaluation folder of 6 plans x 20 scenarios in chunks of 2 plans, stopped inside its
    second chunk: one chunk (plans 0-1) stored. The stopped run has let go of the folder's lock."""
    from fleetopt import api

    folder = tmp_path / "run"
    job = api.prepare_evaluation(
        _tiny_plans_file(tmp_path), model, scenarios=20, seed=seed, backend="numpy", keep_matrix=keep_matrix
    )
    job.settings.update(plan_chunk=2, scenario_chunk=20)
    job.start(folder)
    with pytest.raises(KeyboardInterrupt):
        job.run(folder, progress=interrupt_at(2))  # inside the second chunk
    assert ChunkStore(folder / "chunks").count() == 1
    return folder


def test_a_job_stopped_in_python_says_what_it_saved_and_the_python_that_finishes_it(tmp_path, monkeypatch):
    """A notebook's job.run(folder) stopped by Ctrl-C came back a bare KeyboardInterrupt, unfinished_runs()
    said "interrupted?: finish it with fleetopt evaluate --resume F", and the resumed job's result written
    alone, write_evaluate_run(result, out=F), was refused ("result alone does not say its model and
    plans"). The stop's note says what was saved (plans 0-1 of 6 on 20 scenarios: 40 of 120 pairs) and
    the Python that finishes it, the command beside it; run, that Python writes the run."""
    from fleetopt import api

    monkeypatch.setenv("FLEETOPT_RUNS_DIR", str(tmp_path))
    folder = tmp_path / "run"
    job = api.prepare_evaluation(_tiny_plans_file(tmp_path), scenarios=20, seed=7, backend="numpy")
    job.settings.update(plan_chunk=2, scenario_chunk=20)
    job.start(folder)
    with pytest.raises(KeyboardInterrupt) as stopped:
        job.run(folder, progress=interrupt_at(2))  # inside the second chunk
    finish = (f"fleetopt.api.write_evaluate_run(fleetopt.api.resume_evaluation({str(folder)!r}).run("
              f"{str(folder)!r}), out={str(folder)!r})")  # fmt: skip
    assert stopped.value.__notes__ == [
        f"interrupted: 1 evaluation chunk, 40 of 120 plan-scenario pairs (33.3%) saved in {folder}; "
        f"finish it with {finish} (fleetopt evaluate --resume {folder})"
    ]
    how = f"interrupted: finish it with {finish} (fleetopt evaluate --resume {folder})"
    assert list(api.unfinished_runs().runs_frame()["how_it_finishes"]) == [how]
    exec(finish, {"fleetopt": __import__("fleetopt")})
    assert api.run(folder).kind == "evaluate" and not (folder / "chunks").exists()


def test_empty_or_truncated_chunk_files_are_not_counted_saved(tmp_path):
    """The stopped job above (plans 0-1 saved, 40 of 120 pairs) with two more chunk files of well-formed
    names: plans 2-3's, the saved chunk's first half, and plans 4-5's, empty. Counted by name, the
    job said "3 evaluation chunks, 120 of 120 plan-scenario pairs (100.0%)" (fleetopt runs, the stop's
    message); a resume removes both and computes their plans. Now they are not counted."""
    from fleetopt import api

    folder = _interrupted_job(tmp_path)
    (saved,) = (folder / "chunks").glob("chunk-0-2-*.npz")
    data = saved.read_bytes()
    (folder / "chunks" / f"chunk-2-4-{'a' * 64}.npz").write_bytes(data[: len(data) // 2])
    (folder / "chunks" / f"chunk-4-6-{'b' * 64}.npz").write_bytes(b"")
    assert api.saved_work(folder) == "1 evaluation chunk, 40 of 120 plan-scenario pairs (33.3%)"


def test_a_kept_matrix_the_disk_cannot_hold_is_warned_of_or_refused_before_any_work(tmp_path, monkeypatch):
    """6 plans x 20 scenarios of tiny with keep_matrix: the NPV matrix, 6 x 20 x 8 = 960 bytes, is on the
    disk twice as the run ends (its chunks, then npv_matrix.npy before they go): 1,920 bytes. On a
    disk (faked) with 1,000 bytes free the run warns before its first chunk, naming the folder and
    both sizes, and runs; on one of 1,000 bytes in all it is refused, nothing computed. It computed
    for minutes before and stopped on the full disk."""
    import collections

    from fleetopt import api
    from fleetopt.evaluate import jobfolder

    usage = collections.namedtuple("usage", "total used free")
    job = api.prepare_evaluation(_tiny_plans_file(tmp_path), "tiny", scenarios=20, backend="numpy",
                                 keep_matrix=True)  # fmt: skip
    folder = tmp_path / "run"
    job.start(folder)
    monkeypatch.setattr(jobfolder.shutil, "disk_usage", lambda path: usage(10**6, 0, 1000))
    said = (f"{folder}: the NPV matrix kept (--keep-matrix, 8 bytes a plan-scenario pair) needs about "
            "1.92 KB there as the run ends, in its chunks and npv_matrix.npy, more than the 1 KB free")
    with pytest.warns(FleetoptWarning, match=re.escape(said)):
        assert job.run(folder).npv_matrix.shape == (6, 20)
    other = tmp_path / "other"
    job.start(other)
    monkeypatch.setattr(jobfolder.shutil, "disk_usage", lambda path: usage(1000, 0, 1000))
    with pytest.raises(InputError, match="more than the whole disk's 1 KB: run it on a larger disk"):
        job.run(other)
    assert not list(other.glob("chunks/chunk-*"))


def test_a_job_prepared_without_a_folder_is_sized_for_the_folder_it_starts(tmp_path, monkeypatch):
    """api.prepare_evaluation without ``folder`` sizes the chunks for $TMPDIR's disk; started in a run
    folder, its rows went to that folder's disk in chunks sized for another. Here $TMPDIR is a tmpfs
    (rows there would take RAM: none go to a file, 1 plan a chunk within 400 KB) and the run folder
    a disk (a file of 216 bytes a pair holds 8 plans' rows of 1,000 scenarios, each block made once
    for them). Started, the job takes the sizes of a job prepared for that folder, and job.json
    records them; sizes a caller set since are kept."""
    import tempfile

    from fleetopt import api
    from fleetopt.evaluate import spill

    memory, disk = tmp_path / "tmpfs", tmp_path / "disk"
    memory.mkdir()
    (tmp_path / "mounts").write_text(f"/dev/sda1 / ext4 rw 0 0\ntmpfs {memory} tmpfs rw 0 0\n")
    monkeypatch.setattr(spill, "MOUNTS", str(tmp_path / "mounts"))
    monkeypatch.setattr(tempfile, "tempdir", str(memory))
    plans = tmp_path / "plans.npz"
    loaded = load_model("tiny")
    save_plans(plans, [solved("tiny").plan] * 40, [f"p{i}" for i in range(40)], "tiny", loaded.content_hash)

    def prepared(folder=None):
        return api.prepare_evaluation(plans, "tiny", scenarios=1000, backend="numpy", max_memory=400_000,
                                      folder=folder)  # fmt: skip

    job = prepared()
    assert (job.settings["plan_chunk"], job.rows_file_bytes()) == (1, 0)  # in memory, a plan a chunk
    on_disk = prepared(disk / "R")
    assert on_disk.settings["plan_chunk"] == 8
    job.start(disk / "R")
    sizes = (on_disk.settings["plan_chunk"], on_disk.settings["scenario_chunk"])
    assert (job.settings["plan_chunk"], job.settings["scenario_chunk"]) == sizes
    assert job.rows_file_bytes() == 8 * 1000 * 216 + 1000 * 8  # 8 plans' rows, each scenario's demand
    assert json.loads((disk / "R" / "job.json").read_text())["plan_chunk"] == 8
    set_by_caller = prepared()
    set_by_caller.settings.update(plan_chunk=2, scenario_chunk=20)
    set_by_caller.start(disk / "S")
    assert (set_by_caller.settings["plan_chunk"], set_by_caller.settings["scenario_chunk"]) == (2, 20)


def test_the_api_says_what_an_interrupted_evaluation_saved(tmp_path):
    """fleetopt.api.saved_work: the words a stopped run's message gives its saved work, from Python."""
    from fleetopt import api

    folder = _interrupted_job(tmp_path)
    # plans 0-1 on 20 scenarios: 2 x 20 = 40 of the run's 6 x 20 = 120 pairs, 33.3%
    said = "1 evaluation chunk, 40 of 120 plan-scenario pairs (33.3%)"
    assert api.saved_work(folder) == api.saved_work(str(folder)) == said
    # a job started before job.json kept its plans' count: its chunks alone
    job = json.loads((folder / "job.json").read_text())
    del job["n_plans"]
    (folder / "job.json").write_text(json.dumps(job))
    assert api.saved_work(folder) == "1 evaluation chunk"
    (folder / "job.json").write_text(json.dumps({**job, "n_plans": 6}))
    with pytest.raises(InputError, match="folder is empty: give a path"):
        api.saved_work("")
    # a mistyped folder was said to have saved "0 evaluation chunks": it is refused by name
    with pytest.raises(RunDirError, match="nosuch: no such run folder"):
        api.saved_work(tmp_path / "nosuch")
    with pytest.raises(RunDirError, match="a file, not a run folder"):
        api.saved_work(folder / "job.json")
    # a folder with no job in it (a solve's, an empty one) was said to have saved "0 evaluation chunks"
    (tmp_path / "empty").mkdir()
    with pytest.raises(RunDirError, match=r"has no job\.json: not an evaluation or sweep, so nothing to"):
        api.saved_work(tmp_path / "empty")
    # a finished run (its chunks removed when it was recorded) was said to have saved "0 evaluation chunks"
    job = api.resume_evaluation(folder)
    api.write_evaluate_run(job.run(folder), job.loaded, job.source, folder)
    assert api.saved_work(folder) == "nothing left to resume: the run finished (its summary.json is written)"


def test_a_sweep_stopped_in_its_evaluation_says_its_candidates_are_saved(tmp_path):
    """A sweep stopped once its candidates were made (their MILPs solved: hours on a large model), in
    its evaluation, said "no evaluation chunk yet; the run's model and settings saved", as though
    its candidates were lost, or "2 evaluation chunks saved", not naming them: both are named now."""
    from fleetopt import api

    folder = tmp_path / "S"
    with pytest.raises(KeyboardInterrupt):  # stopped as its evaluation starts, before any chunk
        api.sweep("tiny", candidates=3, scenarios=50, folder=folder, progress=interrupt_at(1))
    assert api.saved_work(folder) == "3 candidates made (3 plans to evaluate; none evaluated yet)"
    folder = tmp_path / "S2"
    with pytest.raises(KeyboardInterrupt):  # after its first chunk (a plan: one thread's 131,072 pairs)
        api.sweep("tiny", candidates=3, scenarios=100_000, folder=folder, backend="numpy", threads=1,
                  progress=interrupt_at(2))  # fmt: skip
    assert ChunkStore(folder / "chunks").count() == 1
    # its first chunk, one plan on 100,000 scenarios, of 3 plans': 100,000 of 300,000 pairs, 33.3%
    assert api.saved_work(folder) == ("3 candidates made (3 plans to evaluate) and 1 evaluation chunk, "
                                      "100,000 of 300,000 plan-scenario pairs (33.3%)")  # fmt: skip


def _tiny_plans_file(tmp_path) -> Path:
    plans_file = tmp_path / "plans.npz"
    if not plans_file.exists():
        loaded = load_model("tiny")
        labels = [f"p{i}" for i in range(6)]
        save_plans(plans_file, [solved("tiny").plan] * 6, labels, loaded.model.name, loaded.content_hash)
    return plans_file


def _fresh(tmp_path, seed: int, keep_matrix: bool = False):
    from fleetopt import api

    job = api.prepare_evaluation(
        _tiny_plans_file(tmp_path), "tiny", scenarios=20, seed=seed, backend="numpy", keep_matrix=keep_matrix
    )
    job.settings.update(plan_chunk=2, scenario_chunk=20)
    return job.run()


def _edit_job(folder: Path, **fields) -> None:
    job = json.loads((folder / "job.json").read_text())
    (folder / "job.json").write_text(json.dumps({**job, **fields}))


def _edit_model_and_its_hash(folder: Path) -> None:
    """model.yaml given another discount rate, and job.json's model_hash made to agree: a model
    genuinely changed (not a comment), which the hash check alone lets pass."""
    path = folder / "model.yaml"
    path.write_text(path.read_text().replace("discount_rate_annual: 0.15", "discount_rate_annual: 0.16"))
    _edit_job(folder, model_hash=load_model(path).content_hash)


@pytest.mark.parametrize("edit, said", [
    (lambda folder: _edit_job(folder, seed=8), "seed 7 where this run has 8"),
    (lambda folder: _edit_job(folder, n_scenarios=30), "n_scenarios 20 where this run has 30"),
    (_edit_model_and_its_hash, "another model"),
], ids=["seed", "scenarios", "model"])  # fmt: skip
def test_a_resume_of_a_job_whose_settings_or_model_changed_keeps_its_finished_chunks(tmp_path, edit, said):
    """job.json's seed edited from 7 to 8 on a folder holding a chunk of seed 7: the resume removed
    that finished chunk (with a warning) and computed every plan on seed 8. An edited or damaged
    field is no reason to throw away finished work: the resume is refused, naming what differs and
    what to do, and removes nothing; put back, the job resumes with its chunk, to the figures of an
    uninterrupted run."""
    folder = _interrupted_job(tmp_path, seed=7)
    job_json, model_yaml = (folder / "job.json").read_text(), (folder / "model.yaml").read_text()
    edit(folder)
    code, _, err = run_cli("evaluate", "--resume", str(folder))
    text = " ".join(err.split())
    assert code == 2 and "Traceback" not in err, err
    [chunk] = [path.name for path in (folder / "chunks").glob("chunk-*.npz")]
    # the file named, and that deleting it alone would do where it alone is astray (a batch review)
    assert f"{folder / 'chunks'}: 1 finished chunk ({chunk}) of this job was computed for another run" in text
    assert "where only it is astray, delete it and resume (the rest is kept)" in text
    assert said in text and "Nothing was removed" in text
    assert f"or delete {folder / 'chunks'} to compute every chunk again" in text
    assert ChunkStore(folder / "chunks").count() == 1 and not (folder / "summary.json").exists()
    (folder / "job.json").write_text(job_json)
    (folder / "model.yaml").write_text(model_yaml)
    code, _, err = run_cli("evaluate", "--resume", str(folder))
    assert code == 0, err
    summary = json.loads((folder / "summary.json").read_text())
    assert summary["plan_scenario_pairs_from_an_earlier_attempt"] == 2 * 20
    fresh = _fresh(tmp_path, seed=7).metrics
    pd.testing.assert_frame_equal(pd.read_csv(folder / "metrics.csv"), fresh, check_exact=False, rtol=1e-6)


def test_a_job_whose_keep_matrix_was_edited_on_is_finished_once_its_chunks_are_deleted(tmp_path):
    """keep_matrix edited from false to true: the stored chunk has no NPV matrix. The resume is
    refused, the chunk kept; deleting chunks/ as the message says computes every chunk anew, with
    the matrix (before, the resume failed with 'zero-dimensional arrays cannot be concatenated',
    then removed the chunk by itself)."""
    from fleetopt import api
    from fleetopt.evaluate.chunk_store import OtherRunsChunks

    folder = _interrupted_job(tmp_path, keep_matrix=False)
    _edit_job(folder, keep_matrix=True)
    with pytest.raises(OtherRunsChunks, match="keep_matrix false where this run has true"):
        api.resume_evaluation(folder).run(folder)
    assert ChunkStore(folder / "chunks").count() == 1
    shutil.rmtree(folder / "chunks")
    resumed = api.resume_evaluation(folder).run(folder)
    assert resumed.npv_matrix.shape == (6, 20)
    assert np.array_equal(resumed.npv_matrix, _fresh(tmp_path, seed=7, keep_matrix=True).npv_matrix)
    assert resumed.pairs_stored == 0


def test_plan_chunks_keep_the_stored_ranges_and_cut_the_plans_between_them():
    """10 plans in chunks of 3, with (0, 4) and (8, 10) stored by an attempt sized otherwise: those
    two as they are and plans 4-7 cut in 3 and 1; a stored range overlapping one taken is left out."""
    assert plan_chunks(10, 3) == [(0, 3), (3, 6), (6, 9), (9, 10)]
    assert plan_chunks(10, 3, [(8, 10), (0, 4)]) == [(0, 4), (4, 7), (7, 8), (8, 10)]
    assert plan_chunks(10, 3, [(0, 4), (2, 5)]) == [(0, 4), (4, 7), (7, 10)]


# tiny, 6 plans x 20 scenarios: one plan's results over the scenarios and their metrics' temporaries
# take 4,960 bytes (27 fields and 4 words of 8 bytes per scenario) and its tables 19,520 (twice its
# 9,760 bytes compiled), a pair 928 and a scenario's factor paths 2,544 (106 words, the delivery
# slip's among them, x3), so 100 KB holds one plan a chunk with every scenario in one block
# (4,960 + 19,520 + 20 x (928 + 2,544) = 93,920 bytes; two plans 136,960), and 60 KB splits the
# scenarios into blocks: the 6 plans' rows and tables, 6 x 24,480 = 146,880, are more than half the
# budget, so the rows go to a temporary file and a plan holds its tables alone, 30,000 // 19,520 = 1
# plan a chunk, on blocks of (60,000 - 19,520) // (2,544 + 928) = 11 scenarios: 2 blocks of 10
# (with the rows in memory, 2 plans on blocks of one scenario: 2 x (4,960 + 19,520 + 928) + 2,544 =
# 53,360 bytes)
_ONE_PLAN_A_CHUNK, _SPLIT_SCENARIOS = 100_000, 60_000


@pytest.mark.parametrize("budget, plan_chunk, scenario_chunk", [
    (_ONE_PLAN_A_CHUNK, 1, 20), (_SPLIT_SCENARIOS, 1, 10)])  # fmt: skip
def test_a_job_resumed_with_a_smaller_memory_budget_keeps_its_chunk_and_sizes_the_rest_to_it(
    tmp_path, budget, plan_chunk, scenario_chunk
):
    """A job stopped (as one killed for memory is) with plans 0-1 stored, computed in chunks of 2
    plans on blocks of 20 scenarios, resumed with max_memory: the resume had to use job.json's
    chunk sizes, the ones that ran out of memory. Now the stored chunk is kept, whatever block it
    was computed on, and plans 2-5 are cut to the new budget, with the figures of an uninterrupted run."""
    import warnings

    from fleetopt import api

    folder = _interrupted_job(tmp_path, seed=7)
    job = api.resume_evaluation(folder, max_memory=budget)
    assert (job.settings["plan_chunk"], job.settings["scenario_chunk"]) == (plan_chunk, scenario_chunk)
    with warnings.catch_warnings():
        warnings.simplefilter("error", FleetoptWarning)  # the stored chunk is not "another run's"
        resumed = job.run(folder)
    assert resumed.pairs_stored == 2 * 20
    assert ChunkStore(folder / "chunks").ranges() == plan_chunks(6, plan_chunk, [(0, 2)])
    pd.testing.assert_frame_equal(resumed.metrics, _fresh(tmp_path, seed=7).metrics, check_exact=True)
    assert json.loads((folder / "job.json").read_text())["max_memory"] is None  # job.json keeps its own


def test_a_resume_too_small_for_one_plan_says_how_much_it_needs(tmp_path):
    """One plan over tiny's 20 scenarios needs 4,960 + 2B + 928 + 2,544 bytes, B its compiled plan's
    bytes (above; 10,400 in 0.4.23: 29,232): a resume with --max-memory 1KB was told to give fewer
    scenarios, which a resume refuses. Now it is told the budget to give (rounded up to three digits,
    29.3 KB), and the folder is left to resume."""
    from fleetopt.core.units import format_bytes
    from fleetopt.evaluate.chunking import rounded_up

    folder = _interrupted_job(tmp_path, seed=7)
    code, _, err = run_cli("evaluate", "--resume", str(folder), "--max-memory", "1KB")
    text = " ".join(err.split())
    assert code == 2 and "more than the budget of 1 KB (--max-memory)" in text, err
    b = compile_plans(build_data(load_model("tiny")), [solved("tiny").plan], ["p"]).nbytes
    enough = format_bytes(rounded_up(4_960 + 2 * b + 928 + 2_544))
    assert f"resume with a --max-memory of at least {enough}" in text and "--scenarios" not in text
    assert ChunkStore(folder / "chunks").count() == 1 and not (folder / "summary.json").exists()


def test_a_resume_with_workers_too_small_for_one_plan_names_the_runs_budget(tmp_path, monkeypatch):
    """--workers 2 --max-memory 40KB: each worker keeps to 20 KB, and one plan over tiny's 20
    scenarios in a worker process needs 4,960 + 2B + 3B (the copies of its chunk it holds) + 928 +
    2,544 bytes. The resume said "more than the budget of 20 KB (--max-memory)", the 40KB given, and
    to give at least one plan's need, which 2 workers halve again: it names the share and twice the
    need. Nothing is computed."""
    from fleetopt.core.units import format_bytes
    from fleetopt.evaluate import resources
    from fleetopt.evaluate.chunking import rounded_up

    monkeypatch.setattr(resources, "usable_cores", lambda: 2)
    folder = _interrupted_job(tmp_path, seed=7)
    code, _, err = run_cli("evaluate", "--resume", str(folder), "--max-memory", "40KB", "--workers", "2")
    text = " ".join(err.split())
    assert code == 2 and ("in each of the 2 worker processes (--workers), more than each one's share of the "
                          "budget, 20 KB of 40 KB (--max-memory)") in text, text
    b = compile_plans(build_data(load_model("tiny")), [solved("tiny").plan], ["p"]).nbytes
    enough = format_bytes(rounded_up(2 * (4_960 + 5 * b + 928 + 2_544)))
    assert text.endswith(f"resume with a --max-memory of at least {enough}"), text
    assert ChunkStore(folder / "chunks").count() == 1 and not (folder / "summary.json").exists()


def test_a_job_whose_scenarios_no_machine_holds_is_not_told_to_raise_its_budget(tmp_path):
    """job.json's n_scenarios edited to 10**18 needs 2.48e+05 PB for one plan: the resume was told
    to give --max-memory that much, which is capped to this machine's memory. It is told that the
    machine has not that much, and that job.json may have been edited; the folder is left as it was."""
    folder = _interrupted_job(tmp_path, seed=7)
    job = json.loads((folder / "job.json").read_text())
    (folder / "job.json").write_text(json.dumps({**job, "n_scenarios": 10**18}))
    code, _, err = run_cli("evaluate", "--resume", str(folder))
    text = " ".join(err.split())
    assert code == 2 and "its 1,000,000,000,000,000,000 scenarios needs 2.48e+05 PB" in text, err
    assert ": resume it where there is 2.48e+05 PB, or, if job.json's n_scenarios was edited, restore the " \
           "file" in text and "--max-memory" not in text
    assert ChunkStore(folder / "chunks").count() == 1 and not (folder / "summary.json").exists()


def test_a_resume_a_little_beyond_the_machine_s_memory_writes_two_sizes_that_differ(tmp_path, monkeypatch):
    """job.json's n_scenarios edited to 10**9: one plan needs 248 B a scenario, 248.0 GB and a few KB
    of tables; on a machine of 247.6 GB the resume said "and than the 248 GB of physical memory
    (RAM) of this machine: resume it where there is 248 GB": the two are written to the digit that
    differs."""
    from fleetopt.evaluate import resources

    folder = _interrupted_job(tmp_path, seed=7)
    job = json.loads((folder / "job.json").read_text())
    (folder / "job.json").write_text(json.dumps({**job, "n_scenarios": 10**9}))
    monkeypatch.setattr(resources, "physical_ram_bytes", lambda: 247_600_000_000)
    code, _, err = run_cli("evaluate", "--resume", str(folder), "--max-memory", "100GB")
    text = " ".join(err.split())
    assert code == 2 and ("more than the budget of 100 GB (--max-memory) and than the 247.6 GB of physical "
                          "memory (RAM) of this machine: resume it where there is 248.0 GB,") in text, text
    assert ChunkStore(folder / "chunks").count() == 1 and not (folder / "summary.json").exists()


def test_a_resume_keeps_the_memory_budget_the_job_started_with(tmp_path):
    """A job started with max_memory 100 KB (one plan a chunk), stopped in its second chunk, then
    resumed without one: the rest in chunks of one plan too, not sized to half the free RAM."""
    from fleetopt import api

    folder = tmp_path / "run"
    plans, budget = _tiny_plans_file(tmp_path), _ONE_PLAN_A_CHUNK
    job = api.prepare_evaluation(plans, "tiny", scenarios=20, seed=7, backend="numpy", max_memory=budget)
    job.start(folder)
    with pytest.raises(KeyboardInterrupt):
        job.run(folder, progress=interrupt_at(2))
    assert json.loads((folder / "job.json").read_text())["max_memory"] == _ONE_PLAN_A_CHUNK
    resumed = api.resume_evaluation(folder)
    assert resumed.settings["plan_chunk"] == 1
    resumed.run(folder)
    assert ChunkStore(folder / "chunks").ranges() == [(i, i + 1) for i in range(6)]


def test_cli_resume_takes_max_memory(tmp_path):
    """`fleetopt evaluate --resume FOLDER --max-memory 60KB` (refused before: a resume could not
    change its memory) finishes the job on blocks of 10 scenarios (above); too short a run to be
    warned of as slow (test_a_run_estimated_under_a_second_is_not_warned_of_however_small_its_calls)."""
    folder = _interrupted_job(tmp_path, seed=7)
    code, _, err = run_cli("evaluate", "--resume", str(folder), "--max-memory", "60KB")
    assert code == 0, err
    summary = json.loads((folder / "summary.json").read_text())
    assert (summary["plan_chunk"], summary["scenario_chunk"]) == (1, 10)
    assert summary["plan_scenario_pairs_from_an_earlier_attempt"] == 2 * 20
    metrics = pd.read_csv(folder / "metrics.csv")  # written to six decimals (runs.file_text.csv_text)
    fresh = _fresh(tmp_path, seed=7).metrics
    pd.testing.assert_frame_equal(metrics, fresh, check_exact=False, rtol=1e-12, atol=5e-7)


def test_a_stored_chunk_of_other_plans_or_another_range_or_corrupt_is_recomputed(tiny, tmp_path):
    """Chunks stored by a run of other plans (the same plans with a 1 USD higher buffer), one
    renamed to another plan range, one with a flipped byte: none is used, each is counted."""
    data, batch = tiny
    folder = tmp_path / "chunks"
    run(data, batch, store=ChunkStore(folder))  # 4 chunks of 3 plans
    other = dataclasses.replace(batch, liquidity_buffer=batch.liquidity_buffer + 1.0)
    with pytest.warns(FleetoptWarning, match=r"4 stored chunks computed for another run \(other plans\)"):
        resumed = run(data, other, store=ChunkStore(folder))
    pd.testing.assert_frame_equal(resumed.metrics, run(data, other).metrics, check_exact=True)
    assert resumed.pairs_stored == 0 and ChunkStore(folder).count() == 4  # now the other plans'
    (first,) = folder.glob("chunk-0-3-*.npz")
    (second,) = folder.glob("chunk-3-6-*.npz")
    second.unlink()
    first.rename(folder / first.name.replace("chunk-0-3-", "chunk-3-6-"))  # plans 0-2 named 3-5
    (third,) = folder.glob("chunk-6-9-*.npz")
    damaged = bytearray(third.read_bytes())
    damaged[len(damaged) // 2] ^= 0xFF
    third.write_bytes(bytes(damaged))
    said = (
        "1 stored chunk computed for another run (another plan range than its file name says) and "
        "1 stored chunk corrupt or truncated"
    )
    with pytest.warns(FleetoptWarning, match=re.escape(said)):
        again = run(data, other, store=ChunkStore(folder))
    assert again.pairs_stored == 1 * 3 * 300  # only chunk 9-11 was used
    pd.testing.assert_frame_equal(again.metrics, resumed.metrics, check_exact=True)


def _stored_as(folder: Path, first: int, stop: int, data: bytes) -> None:
    """``data`` stored as chunk ``first .. stop - 1`` under its own hash, as a finished save names
    it: the file passes the name's checksum and is read."""
    for old in folder.glob(f"chunk-{first}-{stop}-*.npz"):
        old.unlink()
    (folder / f"chunk-{first}-{stop}-{hashlib.sha256(data).hexdigest()}.npz").write_bytes(data)


def test_a_stored_chunk_that_is_not_a_whole_npz_is_recomputed_and_a_memory_error_is_not(
    tiny, tmp_path, monkeypatch
):
    """A chunk cut short and one of garbage, each named by its own hash (so read, not refused by
    the checksum): both computed again with the warning. A MemoryError while reading a chunk read
    as "no chunk" and was silently recomputed: it now stops the run."""
    data, batch = tiny
    folder = tmp_path / "chunks"
    reference = run(data, batch, store=ChunkStore(folder))  # 4 chunks of 3 plans
    (first,) = folder.glob("chunk-0-3-*.npz")
    _stored_as(folder, 0, 3, first.read_bytes()[:-40])
    _stored_as(folder, 3, 6, b"not an npz archive" * 10)
    said = "2 stored chunks corrupt or truncated: removed, and computed again"
    with pytest.warns(FleetoptWarning, match=said):
        again = run(data, batch, store=ChunkStore(folder))
    assert again.pairs_stored == 2 * 3 * 300  # chunks 6-8 and 9-11
    pd.testing.assert_frame_equal(again.metrics, reference.metrics, check_exact=True)

    def out_of_memory(*args, **kwargs):
        raise MemoryError

    monkeypatch.setattr(np, "load", out_of_memory)
    with pytest.raises(MemoryError):
        run(data, batch, store=ChunkStore(folder))
    assert ChunkStore(folder).count() == 4  # nothing removed as damaged


def test_a_resume_refuses_a_model_yaml_that_is_not_the_jobs_model(tmp_path):
    """model.yaml edited after the start (its hash no longer job.json's model_hash): the resume
    evaluated the edited model and mixed it with chunks of the old one. Refused, naming both files."""
    folder = _interrupted_job(tmp_path)
    with (folder / "model.yaml").open("a") as handle:
        handle.write("# edited\n")
    code, _, err = run_cli("evaluate", "--resume", str(folder))
    assert code == 2
    said = " ".join(err.split())
    assert f"{folder / 'model.yaml'} is not the model {folder / 'job.json'} was started with" in said
    assert "one of the two files was edited" in said and "Traceback" not in err
    assert ChunkStore(folder / "chunks").count() == 1


def test_a_resume_keeps_the_model_source_the_run_started_with(tmp_path, monkeypatch):
    """summary.json's model_source was the folder's model.yaml, relative to where the resume ran."""
    folder = _interrupted_job(tmp_path)
    started_with = json.loads((folder / "job.json").read_text())["model_source"]
    assert started_with == str(load_model("tiny").source)
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")
    code, _, err = run_cli("evaluate", "--resume", "../run")
    assert code == 0, err
    assert json.loads((folder / "summary.json").read_text())["model_source"] == started_with


def test_a_resumed_evaluation_records_the_model_changes_it_started_with(tmp_path):
    """model.yaml is the model as changed, not what was changed: job.json keeps the changes, so the
    resumed run says them above its results and its summary.json records them, in order."""
    from fleetopt import api

    changes = {"horizon.discount_rate_annual": 0.1, "finance.opening_cash_usd": 200_000_000}
    with pytest.warns(FleetoptWarning, match="another version of model 'tiny'"):  # tiny's plans
        folder = _interrupted_job(tmp_path, model=api.edit("tiny", changes))
    code, out, err = run_cli("evaluate", "--resume", str(folder))
    assert code == 0, err
    said = "changed for this run: horizon.discount_rate_annual = 0.1; finance.opening_cash_usd = 200000000"
    assert out.startswith(f"model: tiny, {said}"), out
    recorded = json.loads((folder / "summary.json").read_text())["model_changes"]
    assert recorded == [{"path": path, "value": value} for path, value in changes.items()]


# ---------------------------------------------------------------- one process per job folder


def test_a_job_still_running_is_said_to_be_running_not_to_be_resumed(tmp_path):
    """`fleetopt report`, `compare` and `evaluate --plans` of a job folder while its run went on said
    "(interrupted): finish it with fleetopt evaluate --resume FOLDER", a resume refused then, and
    `fleetopt runs show FOLDER` said "FOLDER is not recorded". Each now names the process running it;
    once none is, the resume command (runs show too, where it said "not recorded")."""
    from fleetopt import api

    folder = _interrupted_job(tmp_path)
    api.resume_evaluation(folder)  # holds the folder's lock, as a run going on in this process would
    env = {**os.environ, "COLUMNS": "200"}
    running = f"{folder} is an unfinished evaluate run (still running, pid {os.getpid()}): wait for it"
    asked = {"report": "report it", "runs show": "the registry records it"}
    for command, then in asked.items():
        other = subprocess.run([sys.executable, "-m", "fleetopt.cli", *command.split(), str(folder)],
                               capture_output=True, text=True, env=env)  # fmt: skip
        said = " ".join(other.stderr.split())
        assert other.returncode == 2 and said == f"error: {running} to finish, then {then}", said
    RunFolder(folder).release_lock()  # its run ends, killed
    code, _, err = run_cli("runs", "show", str(folder))
    said = " ".join(err.split())
    assert code == 2 and said.startswith(
        f"error: {folder} is an unfinished evaluate run (interrupted): finish it with fleetopt evaluate "
        f"--resume {folder}, then the registry records it; saved: 1 evaluation chunk, 40 of 120 "
        "plan-scenario pairs (33.3%); "  # and its size, to resume it or delete it
    ), said


def test_a_job_folder_is_run_by_one_process_at_a_time_and_a_dead_ones_lock_does_not_block(tmp_path):
    """Two resumes of one folder at once both computed it and recorded it twice. The process
    running a job holds a lock on its folder: another is refused, naming its pid; the lock of a
    process that was killed is gone with it (its file stays, and is no obstacle); a finished
    folder has no lock file."""
    from fleetopt import api

    folder = _interrupted_job(tmp_path)
    api.resume_evaluation(folder)  # holds the folder's lock, as a resume running in this process would
    env = {**os.environ, "COLUMNS": "200"}
    other = subprocess.run(
        [sys.executable, "-m", "fleetopt.cli", "evaluate", "--resume", str(folder)],
        capture_output=True, text=True, env=env,
    )  # fmt: skip
    assert other.returncode == 2
    assert (
        f"{folder} is being run by another fleetopt process (pid {os.getpid()}): wait for it or stop it"
        in (" ".join(other.stderr.split()))
    )
    RunFolder(folder).release_lock()  # this process's run ends
    stopped = "another fleetopt process \\(pid {}\\)"
    with held_by_another_process(folder) as pid, pytest.raises(api.InputError, match=stopped.format(pid)):
        api.resume_evaluation(folder)
    assert (folder / RunFolder.LOCK).exists()  # stale: its holder was killed
    code, _, err = run_cli("evaluate", "--resume", str(folder))
    assert code == 0, err
    assert sorted(p.name for p in folder.iterdir()) == [
        "job.json",
        "metrics.csv",
        "model.yaml",
        "summary.json",
    ]
    code, out, err = run_cli("evaluate", "--resume", str(folder))  # a batch job's retry: done, exit 0
    said = " ".join(out.split())
    assert code == 0 and f"{folder}: this evaluation already finished (run " in said, err
    assert "nothing to resume" in said
    assert not (folder / RunFolder.LOCK).exists()


def test_out_on_an_interrupted_job_folder_points_to_resume(tmp_path):
    folder = _interrupted_job(tmp_path)
    code, _, err = run_cli("evaluate", "tiny", "--plans", str(tmp_path / "plans.npz"), "--out", str(folder))
    assert code == 2
    said = f"{folder} holds an interrupted run of fleetopt evaluate: finish it with fleetopt evaluate"
    python = "(in Python, from fleetopt.api.resume_evaluation)"  # a notebook's re-run cell: its call
    assert f"{said} --resume {folder} {python}, or choose another folder" in " ".join(err.split())


_TRY_LOCK = """
import fcntl, os, sys
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT)
try:
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
except OSError:
    print("held")
else:
    print("free")
"""


def _lock_held_by_this_process(folder: Path) -> bool:
    """Whether another process is refused ``folder``'s job lock (as a resume there would be)."""
    probe = [sys.executable, "-c", _TRY_LOCK, str(folder / RunFolder.LOCK)]
    said = subprocess.run(probe, capture_output=True, text=True, check=True).stdout.strip()
    assert said in ("held", "free"), said
    return said == "held"


def _edit_model(folder: Path) -> None:
    with (folder / "model.yaml").open("a") as handle:
        handle.write("# edited\n")


def _edit_plans(folder: Path) -> None:
    with (folder.parent / "plans.npz").open("ab") as handle:
        handle.write(b"\0")


def test_a_job_whose_plans_file_is_gone_says_it_cannot_be_finished_and_what_to_do(tmp_path):
    """It said "the plans changed or disappeared", neither which nor what to do."""
    from fleetopt import api

    folder = _interrupted_job(tmp_path)
    kept = (tmp_path / "plans.npz").read_bytes()
    (tmp_path / "plans.npz").unlink()
    with pytest.raises(PlanFileError, match=r"plans\.npz: the plans file the evaluation started from is gone "
                       r"since the run started: .* put it back where it was, or give where it is now "
                       r"\(fleetopt evaluate --resume .* --plans FILE\), or start the evaluation anew"):
        api.resume_evaluation(folder)
    # moved: given where it is now, the same file by its SHA-256 (it could only be put back before,
    # from an operator's review); another file is refused
    (tmp_path / "moved.npz").write_bytes(kept)
    (tmp_path / "other.npz").write_bytes(kept + b"\0")
    with pytest.raises(PlanFileError, match=r"other\.npz is not the plans file this evaluation started from"):
        api.resume_evaluation(folder, plans=tmp_path / "other.npz")
    code, _, err = run_cli("evaluate", "--resume", str(folder), "--plans", str(tmp_path / "other.npz"))
    assert code == 2 and "is not the plans file this evaluation started from" in " ".join(err.split()), err
    # given as a string, as a notebook types it: it raised AttributeError ('str' has no 'exists')
    api.resume_evaluation(folder, plans=str(tmp_path / "moved.npz"))  # kept in job.json: found again
    assert json.loads((folder / "job.json").read_text())["plans_source"] == str(tmp_path / "moved.npz")
    code, _, err = run_cli("evaluate", "--resume", str(folder))
    assert code == 0, err
    assert pd.read_csv(folder / "metrics.csv").shape[0] == 6


@pytest.mark.parametrize("edit", [_edit_model, _edit_plans], ids=["model.yaml edited", "plans changed"])
def test_a_refused_resume_lets_go_of_the_folder_for_a_corrected_one(tmp_path, edit):
    """A resume refused after it took the folder's lock (an edited model.yaml, changed plans) kept
    holding it in the process that asked, a notebook say, so that a resume from a terminal was
    refused as "being run by another fleetopt process" until the notebook was restarted. Refused,
    it lets go; the corrected resume, in the same process, takes the folder and finishes it."""
    from fleetopt import api

    folder = _interrupted_job(tmp_path)
    originals = {p: p.read_bytes() for p in (folder / "model.yaml", tmp_path / "plans.npz")}
    edit(folder)
    with pytest.raises(PlanFileError, match=r"model\.yaml is not the model|started from changed since"):
        api.resume_evaluation(folder)
    assert not _lock_held_by_this_process(folder)
    for path, content in originals.items():
        path.write_bytes(content)
    job = api.resume_evaluation(folder)
    assert _lock_held_by_this_process(folder)
    result = job.run(folder)
    api.write_evaluate_run(result, job.loaded, job.source, folder)
    assert (folder / "summary.json").exists() and not (folder / RunFolder.LOCK).exists()
    pd.testing.assert_frame_equal(result.metrics, _fresh(tmp_path, seed=7).metrics, check_exact=True)


def test_a_resume_whose_warning_is_raised_as_an_error_lets_go_of_the_folder(tmp_path, monkeypatch):
    """With warnings turned into errors (``warnings.simplefilter("error")`` in a notebook), the
    resume's warning about plans of another model version left the folder locked by this process."""
    from fleetopt import api

    folder = _interrupted_job(tmp_path)

    def other_version(*args, **kwargs):
        raise FleetoptWarning("the plans were made from another version of model 'tiny'")

    monkeypatch.setattr("fleetopt.api._evaluate._warn_if_other_model_version", other_version)
    with pytest.raises(FleetoptWarning, match="another version"):
        api.resume_evaluation(folder)
    assert not _lock_held_by_this_process(folder)


def test_a_resume_reads_the_plan_file_once_for_its_hash(tmp_path, monkeypatch):
    """A resume computed the plan file's SHA-256 to check it against job.json, then again for the
    job it made (a plan file may be gigabytes). Once now, from the resume to the written summary,
    which records the hash job.json has."""
    from fleetopt import api
    from fleetopt.runs import files

    folder = _interrupted_job(tmp_path)
    plans_file = (tmp_path / "plans.npz").resolve()
    hashed, real = [], files.hashlib.file_digest
    monkeypatch.setattr(files.hashlib, "file_digest", lambda fp, *a: hashed.append(fp.name) or real(fp, *a))
    job = api.resume_evaluation(folder)
    api.write_evaluate_run(job.run(folder), job.loaded, job.source, folder)
    assert [Path(name).resolve() for name in hashed] == [plans_file]
    started_with = json.loads((folder / "job.json").read_text())["plans_sha256"]
    assert json.loads((folder / "summary.json").read_text())["plans_sha256"] == started_with


@pytest.mark.parametrize("started_by", ["0.1.0", None])
def test_a_resume_refuses_a_run_another_version_started(tmp_path, started_by):
    """fleetopt 0.2.0 taxes the terminal value (formulation §5.10): a run stopped under 0.1.0 and
    resumed under 0.2.0 would have mixed two NPV definitions, chunk by chunk, without a word. The
    resume is refused (exit 2) naming both versions; nothing is written, the stored chunk stays,
    and the folder is not left locked (the version that started it can still finish it)."""
    from fleetopt import __version__
    from fleetopt.runs.folder import RunFolder

    folder = _interrupted_job(tmp_path)
    job = json.loads((folder / "job.json").read_text())
    assert job["fleetopt_version"] == __version__
    if started_by is None:  # a run started before job.json kept the version
        job.pop("fleetopt_version")
        (folder / "job.json").write_text(json.dumps(job))
    else:
        _edit_job(folder, fleetopt_version=started_by)
    before = sorted(p.name for p in folder.rglob("*"))
    code, out, err = run_cli("evaluate", "--resume", str(folder))
    said = " ".join(err.split())
    assert code == 2, out + err
    by = f"fleetopt {started_by}" if started_by else "a fleetopt before 0.2.0"
    assert f"the run was started by {by}, this is fleetopt {__version__}" in said and "Traceback" not in said
    assert sorted(p.name for p in folder.rglob("*")) == before and not (folder / "metrics.csv").exists()
    with RunFolder(folder).locked_for_run():  # not left locked by the refused resume
        pass


def test_a_resume_refuses_a_run_the_same_version_started_from_other_code(tmp_path):
    """A checkout changed between a job's start and its resume, at the same version (a developer's
    edit, a pull between releases), completed the run with chunks of both codes. job.json keeps the
    fingerprint of the code computing the figures; another is refused as another version is, naming
    both, and nothing is written."""
    from fleetopt.runs.code_stamp import figures_code

    folder = _interrupted_job(tmp_path)
    assert json.loads((folder / "job.json").read_text())["figures_code"] == figures_code()
    _edit_job(folder, figures_code="0123456789abcdef")
    before = sorted(p.name for p in folder.rglob("*"))
    code, out, err = run_cli("evaluate", "--resume", str(folder))
    said = " ".join(err.split())
    assert code == 2, out + err
    assert "from other code than this installation's" in said and "Traceback" not in said
    assert f"0123456789abcdef, now {figures_code()}" in said
    assert sorted(p.name for p in folder.rglob("*")) == before and not (folder / "metrics.csv").exists()
    _edit_job(folder, figures_code=figures_code())  # its own code finishes it
    code, out, err = run_cli("evaluate", "--resume", str(folder))
    assert code == 0 and (folder / "metrics.csv").exists(), out + err


def test_a_full_disk_during_an_evaluation_says_what_is_saved_and_how_to_finish(tmp_path, monkeypatch):
    """It said only "cannot use a file: No space left on device", naming neither the run nor --resume."""
    import errno

    monkeypatch.setenv("FLEETOPT_RUNS_DIR", str(tmp_path / "runs"))
    code, _, err = run_cli("solve", "tiny", "--out", str(tmp_path / "plan"))
    assert code == 0, err
    real_save = ChunkStore.save

    def disk_full(self, first, stop, result):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(ChunkStore, "save", disk_full)
    out = tmp_path / "E x"  # a path with a space: quoted in the command to paste (it was not)
    args = ("evaluate", "--plans", str(tmp_path / "plan"), "--scenarios", "20", "--backend", "numpy")
    code, _, err = run_cli(*args, "--out", str(out))
    text = " ".join(err.split())
    assert code == 2 and "No space left on device while the run wrote to" in text, err
    resume = f"finish with: fleetopt evaluate --resume '{out}'"
    said = f"no evaluation chunk yet; the run's model and settings saved there; once that is fixed, {resume}"
    assert said in text  # not "0 evaluation chunks saved": what a resume starts from is
    monkeypatch.setattr(ChunkStore, "save", real_save)
    code, _, err = run_cli("evaluate", "--resume", str(out))
    assert code == 0 and (out / "metrics.csv").exists(), err


def test_a_full_disk_while_a_chunk_is_written_names_the_chunk_file(tmp_path, monkeypatch):
    """A disk that filled while a chunk was written said "No space left on device while the run wrote
    to FOLDER", naming no file: the write and fsync of an open file raise an OSError without one. The
    chunk meant is named now, its temporary file removed; a resume finishes the run."""
    import errno

    import fleetopt.evaluate.chunk_store as chunk_store
    import fleetopt.runs.files as files

    monkeypatch.setenv("FLEETOPT_RUNS_DIR", str(tmp_path / "runs"))
    assert run_cli("solve", "tiny", "--out", str(tmp_path / "plan"))[0] == 0
    real_fsync, real_write = os.fsync, chunk_store.write_bytes_atomic
    writing_a_chunk = []

    def fsync(fd):  # the disk full as the chunk's bytes reach it, as a file system reports it
        if writing_a_chunk:
            raise OSError(errno.ENOSPC, "No space left on device")
        real_fsync(fd)

    def write_chunk(path, data):
        writing_a_chunk.append(path)
        real_write(path, data)

    monkeypatch.setattr(files.os, "fsync", fsync)
    monkeypatch.setattr(chunk_store, "write_bytes_atomic", write_chunk)
    out = tmp_path / "E"
    args = ("evaluate", "--plans", str(tmp_path / "plan"), "--scenarios", "20", "--backend", "numpy")
    code, _, err = run_cli(*args, "--out", str(out))
    chunk = writing_a_chunk[0]
    assert chunk.parent == out / "chunks" and chunk.name.startswith("chunk-0-1-")
    said = f"No space left on device ({chunk}) while the run wrote to {out}"
    assert code == 2 and said in " ".join(err.split()), err
    assert list((out / "chunks").iterdir()) == []  # nothing half-written: no temporary file left
    monkeypatch.undo()
    monkeypatch.setenv("FLEETOPT_RUNS_DIR", str(tmp_path / "runs"))
    code, _, err = run_cli("evaluate", "--resume", str(out))
    assert code == 0 and (out / "metrics.csv").exists(), err


def test_a_run_whose_record_failed_is_not_listed_as_stopped(tmp_path, monkeypatch):
    """An evaluation that finished but could not be recorded (the registry held past its minute, or on
    a full disk: exit 2, "record it with fleetopt runs add") was listed by `fleetopt runs` as "stopped
    while it was being recorded", though nothing stopped it: the list now says either may be why."""
    from fleetopt.runs.registry import Registry, RegistryError

    monkeypatch.setenv("FLEETOPT_RUNS_DIR", str(tmp_path / "runs"))
    assert run_cli("solve", "tiny", "--out", str(tmp_path / "plan"))[0] == 0

    def held(*args, **kwargs):
        raise RegistryError("the run registry stayed locked by another process for 60 s")

    monkeypatch.setattr(Registry, "record", held)
    out = tmp_path / "runs" / "E"
    args = ("evaluate", "--plans", str(tmp_path / "plan"), "--scenarios", "20", "--out", str(out))
    code, _, err = run_cli(*args)
    assert code == 2 and f"record it with fleetopt runs add {out}" in " ".join(err.split()), err
    monkeypatch.undo()
    monkeypatch.setenv("FLEETOPT_RUNS_DIR", str(tmp_path / "runs"))
    code, listed, err = run_cli("runs")
    said = " ".join(listed.split())
    header = "finished but not recorded (its record failed, or it was stopped while being recorded):"
    assert code == 0 and header in said, listed
    assert f"{out}: fleetopt runs add {out}" in said


@pytest.mark.parametrize("killed", ["while it works", "while it starts"])
def test_a_worker_ends_when_its_parent_is_killed(tmp_path, killed):
    """A parent killed outright (SIGKILL: out of memory, a pre-empted instance's last signal) left
    its worker processes running, holding their memory (from an operator's review): a worker now
    watches its parent and exits once it is gone. A parent killed while its workers started left
    them running for ever (they read their parent's pid once adopted): the pid is the parent's own."""
    import os
    import signal
    import subprocess
    import sys
    import textwrap
    import time

    pid_file = tmp_path / "worker.pid"
    starting = killed == "while it starts"
    parent = textwrap.dedent(f"""
        import os, signal, time
        from fleetopt.evaluate.process_executor import _exit_with_parent
        parent = os.getpid()
        child = os.fork()
        if child == 0:
            while {starting} and os.getppid() == parent:  # the parent is gone before the watch starts
                time.sleep(0.01)
            open({str(pid_file)!r}, "w").write(str(os.getpid()))
            _exit_with_parent(parent, every_s=0.05)
            time.sleep(60)
            os._exit(0)
        while not {starting} and not os.path.exists({str(pid_file)!r}):
            time.sleep(0.01)
        os.kill(os.getpid(), signal.SIGKILL)
    """)
    proc = subprocess.run([sys.executable, "-c", parent], timeout=60)
    assert proc.returncode == -signal.SIGKILL
    for _ in range(400):
        if pid_file.exists() and pid_file.read_text():
            break
        time.sleep(0.05)
    worker = int(pid_file.read_text())
    stat = Path(f"/proc/{worker}/stat")
    for _ in range(200):  # gone within 10 s (it checks every 0.05 s); a zombie no one reaped is gone
        try:
            os.kill(worker, 0)
            if stat.exists() and stat.read_text().split(") ")[-1].startswith("Z"):
                return
        except (ProcessLookupError, FileNotFoundError):
            return
        time.sleep(0.05)
    os.kill(worker, signal.SIGKILL)
    raise AssertionError("the worker outlived its parent")


def test_a_job_folder_deleted_while_the_run_goes_on_is_written_again_whole(tmp_path, monkeypatch):
    """The job's folder deleted while it ran (a clean-up script): the next chunk saved made its
    chunks/ again, and the final write refused the folder as "already exists and is not empty",
    losing the whole run. Now the run, complete in memory, is written there again whole and
    recorded, a warning says what happened and the command exits 2."""
    from fleetopt import api

    folder, deleted = tmp_path / "run", []
    real_save = ChunkStore.save

    def deleted_before_the_first_save(self, first, stop, result):
        if not deleted:
            deleted.append(shutil.rmtree(folder))
        real_save(self, first, stop, result)

    monkeypatch.setattr(ChunkStore, "save", deleted_before_the_first_save)
    args = ("evaluate", "tiny", "--plans", str(_tiny_plans_file(tmp_path)), "--scenarios", "20",
            "--backend", "numpy", "--max-memory", "100KB", "--out", str(folder))  # fmt: skip
    code, out, err = run_cli(*args)
    text = " ".join(err.split())
    assert code == 2 and deleted and "Traceback" not in err, out + err
    assert f"warning: {folder} was deleted while its run went on" in text, err
    assert f"wrote {folder}" in " ".join(out.split())
    assert sorted(p.name for p in folder.iterdir()) == ["metrics.csv", "model.yaml", "summary.json"]
    fresh = _fresh(tmp_path, seed=0).metrics
    pd.testing.assert_frame_equal(pd.read_csv(folder / "metrics.csv"), fresh, check_exact=False, rtol=1e-6)
    assert api.run_id(folder) == 1


def test_a_job_stopped_while_it_starts_leaves_its_folder_free_for_a_new_run(tmp_path, monkeypatch):
    """A Ctrl-C or SIGTERM in the first moments of a job, after its lock and model.yaml were written
    and before job.json, left a folder that `--resume` refused (no job.json) and `--out` refused
    (not empty). A job now starts whole or not at all: the folder is left as it was (a new one
    removed, an empty one the user made kept empty), no partial folder beside it, and the same
    command then runs there."""
    args = ("evaluate", "tiny", "--plans", str(_tiny_plans_file(tmp_path)), "--scenarios", "20",
            "--backend", "numpy")  # fmt: skip
    for folder, made_by_user in ((tmp_path / "new", False), (tmp_path / "made", True)):
        if made_by_user:
            folder.mkdir()
        with monkeypatch.context() as stop:
            stop.setattr(RunFolder, "write_job", _stopped_before_job_json)
            code, _, err = run_cli(*args, "--out", str(folder))
        assert code == 130 and "Traceback" not in err, err
        assert "interrupted before anything was saved: run it again" in err
        assert folder.is_dir() == made_by_user and not (made_by_user and any(folder.iterdir()))
        assert not [p.name for p in tmp_path.iterdir() if ".partial-" in p.name]
        code, _, err = run_cli(*args, "--out", str(folder))
        assert code == 0 and (folder / "summary.json").exists(), err


def _stopped_before_job_json(self, settings):
    """RunFolder.write_job stopped by a Ctrl-C: the model is written, job.json not."""
    assert (self / RunFolder.MODEL).is_file()
    raise KeyboardInterrupt


ONE_PLAN_IN_A_FILE = ("--scenarios", "1000", "--max-memory", "200KB", "--backend", "numpy", "--keep-matrix")


def test_cli_one_plan_stopped_part_way_resumes_from_its_last_block_to_the_same_files(here, solve_run,
                                                                                    monkeypatch):  # fmt: skip
    """One plan of tiny on 1,000 scenarios within 200 KB: its row in a file, 20 blocks of 50
    (tests/test_memory_budget.py). Its only chunk was saved at its end, so a Ctrl-C while the
    eighth block was made lost the 7 done. Now the file is in the run folder's chunks/, and its
    first 7 x 50 = 350 scenarios are kept (the stop says so); the resume computes the 650 left
    (summary.json: 350 pairs from an earlier attempt, 0 before), and its metrics.csv and
    npv_matrix.npy are those of a run straight, byte for byte."""
    from fleetopt.evaluate import chunk_eval, local_executor

    args = ("evaluate", "--plans", str(solve_run), *ONE_PLAN_IN_A_FILE)
    code, out, err = run_cli(*args, "--out", "straight")
    assert code == 0, out + err
    real_block = chunk_eval.scenario_block

    def block(data, spec, start, stop, *rest):
        if start == 350 and not spec.deterministic:  # a Ctrl-C while the eighth block is made
            raise KeyboardInterrupt
        return real_block(data, spec, start, stop, *rest)

    with monkeypatch.context() as stopped:
        for module in (chunk_eval, local_executor):  # a chunk's blocks, and one block made for every chunk
            stopped.setattr(module, "scenario_block", block)
        code, _, err = run_cli(*args, "--out", "part")
    assert code == 130 and "Traceback" not in err, err
    # 7 blocks of 50 scenarios of the one plan's 1,000: 350 of 1,000 pairs, 35.0%
    assert ("interrupted: the rows of 1 unfinished evaluation chunk, 350 of 1,000 plan-scenario pairs "
            "(35.0%) saved in part; finish with: fleetopt evaluate --resume part") in " ".join(err.split())
    code, _, err = run_cli("evaluate", "--resume", "part")
    assert code == 0, err
    summary = json.loads((here / "part" / "summary.json").read_text())
    assert summary["plan_scenario_pairs_from_an_earlier_attempt"] == 350
    for name in ("metrics.csv", "npv_matrix.npy"):
        assert (here / "part" / name).read_bytes() == (here / "straight" / name).read_bytes(), name


def test_runs_and_runs_show_say_the_disk_a_stopped_job_keeps_and_how_to_delete_it(here, solve_run,
                                                                                 monkeypatch):  # fmt: skip
    """A tight-memory evaluation stopped part-way keeps its chunk's rows in chunks/rows-0-1.bin (432 MB
    in one run seen) until resumed or deleted, and `fleetopt runs` and `runs show FOLDER` named
    only its resume command. They say what it saved and the disk it takes, the kept rows apart, and
    the command that deletes it. One plan on 1,000 scenarios within 200 KB, stopped after 7 blocks of
    50: its file holds 216 bytes a pair and 8 a scenario, (216 + 8) x 1,000 = 224,000 bytes, 224 KB."""
    from fleetopt.evaluate import chunk_eval, local_executor

    real_block = chunk_eval.scenario_block

    def block(data, spec, start, stop, *rest):
        if start == 350 and not spec.deterministic:  # a Ctrl-C while the eighth block is made
            raise KeyboardInterrupt
        return real_block(data, spec, start, stop, *rest)

    folder = here / "runs" / "part"  # in the runs folder, whose unfinished jobs `fleetopt runs` lists
    with monkeypatch.context() as stopped:
        for module in (chunk_eval, local_executor):  # a chunk's blocks, and one block made for every chunk
            stopped.setattr(module, "scenario_block", block)
        code, _, err = run_cli("evaluate", "--plans", str(solve_run), *ONE_PLAN_IN_A_FILE, "--out",
                               str(folder))  # fmt: skip
    assert code == 130, err
    assert (folder / "chunks" / "rows-0-1.bin").stat().st_size == 224_000
    on_disk = sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())
    said = (f"saved: the rows of 1 unfinished evaluation chunk, 350 of 1,000 plan-scenario pairs (35.0%); "
            f"{format_bytes(on_disk)} on disk, 224 KB of it the rows of chunks stopped part-way; or delete "
            f"it: rm -r {folder}")  # fmt: skip
    code, listed, err = run_cli("runs")
    assert code == 0 and said in " ".join(listed.split()), listed
    code, _, err = run_cli("runs", "show", str(folder))
    shown = " ".join(err.split())
    assert code == 2 and shown.startswith(f"error: {folder} is an unfinished evaluate run"), err
    assert shown.endswith(said), shown
    # a job stopped before its first chunk: its few files, and no chunks/ made by looking
    from fleetopt import api

    new = here / "runs" / "new"
    api.prepare_evaluation(solve_run, scenarios=20).start(new)
    assert run_cli("runs")[0] == 0 and not (new / "chunks").exists()
    assert api.saved_bytes(new) == (sum(f.stat().st_size for f in new.rglob("*")), 0)


def test_a_resume_that_computes_nothing_says_nothing_of_a_file_for_the_rows(here, solve_run, monkeypatch):
    """The run above stopped while its table printed, its only chunk saved: its resume computes
    nothing, yet said "note: the rows of results go to a temporary file ..., 216 KB for each chunk of
    1 plan". It says it for the run itself, not for the resume, which writes the same files."""
    from fleetopt.cli import risk_commands

    args = ("evaluate", "--plans", str(solve_run), *ONE_PLAN_IN_A_FILE, "--out", "run")
    with monkeypatch.context() as stopped:
        stopped.setattr(risk_commands, "print_best", _ctrl_c)
        code, _, err = run_cli(*args)
    said = " ".join(err.split())
    assert code == 130 and "note: the rows of results go to a" in said, err  # a file, in run/chunks now
    assert "interrupted: 1 evaluation chunk, 1,000 of 1,000 plan-scenario pairs (100.0%) saved in run" in said
    code, _, err = run_cli("evaluate", "--resume", "run")
    assert code == 0 and (here / "run" / "summary.json").exists(), err
    assert "note: the rows of results" not in err, err


@pytest.mark.parametrize("stopped_in", ["print_best", "finish_report"])
def test_a_stop_after_the_evaluation_says_where_its_results_are(tmp_path, monkeypatch, stopped_in):
    """A Ctrl-C while the result tables printed (every chunk saved), or while the report was written
    (the run written and recorded), said only "interrupted". Now it says what is saved, where, and
    how to finish: the resume then computes nothing."""
    from fleetopt.cli import risk_commands

    folder = tmp_path / "run"
    monkeypatch.setattr(risk_commands, stopped_in, _ctrl_c)
    args = ("evaluate", "tiny", "--plans", str(_tiny_plans_file(tmp_path)), "--scenarios", "20",
            "--backend", "numpy", "--max-memory", "100KB", "--out", str(folder))  # fmt: skip
    code, _, err = run_cli(*args)
    text = " ".join(err.split())
    assert code == 130 and "Traceback" not in err, err
    if stopped_in == "finish_report":
        assert f"interrupted after the run was written to {folder} and recorded (fleetopt runs)" in text
        assert (folder / "summary.json").exists()
        return
    assert (f"interrupted: 6 evaluation chunks, 120 of 120 plan-scenario pairs (100.0%) saved in {folder}; "
            "finish with: fleetopt evaluate") in text
    monkeypatch.undo()
    code, _, err = run_cli("evaluate", "--resume", str(folder))
    assert code == 0, err
    summary = json.loads((folder / "summary.json").read_text())
    assert summary["plan_scenario_pairs_from_an_earlier_attempt"] == 6 * 20


def _ctrl_c(*args, **kwargs):
    raise KeyboardInterrupt


def _killed_while_recorded(tmp_path) -> Path:
    """An evaluation killed after its summary.json was written and before it was recorded (and so
    before its chunks were removed), with a temporary file of its last write left behind."""
    from fleetopt import api
    from fleetopt.evaluate.jobfolder import write_evaluate_run

    folder = _interrupted_job(tmp_path)
    job = api.resume_evaluation(folder)
    result = job.run(folder)
    with pytest.MonkeyPatch.context() as killed:
        killed.setattr(RunFolder, "tidy_finished_job", lambda self: None)
        write_evaluate_run(result, job.loaded, job.source, folder)
    RunFolder(folder).release_lock()  # the process is gone: its lock with it, the lock file stays
    (folder / ".model.yaml.k2j4h1x9.tmp").write_text("half a model")
    assert ChunkStore(folder / "chunks").count() == 2 and (folder / RunFolder.LOCK).exists()
    return folder


def test_runs_add_of_a_job_killed_while_it_was_recorded_finishes_its_clean_up(tmp_path):
    """`fleetopt runs add` recorded such a folder and left its chunks (and lock file, and the
    temporary file) there for good. It now tidies the folder as a finish does, once the record is
    written; while another process holds the folder (still finishing it), it records nothing."""
    folder = _killed_while_recorded(tmp_path)
    with held_by_another_process(folder) as pid:
        code, _, err = run_cli("runs", "add", str(folder))
    assert code == 2 and f"being run by another fleetopt process (pid {pid})" in " ".join(err.split()), err
    assert (folder / "chunks").exists()
    code, out, err = run_cli("runs", "add", str(folder))
    assert code == 0 and f"recorded {folder} as run 1" in " ".join(out.split()), err
    finished = ["job.json", "metrics.csv", "model.yaml", "summary.json"]
    assert sorted(p.name for p in folder.iterdir()) == finished  # no chunks, lock or temporary file


def test_fleetopt_runs_lists_a_job_killed_while_it_was_recorded(tmp_path, monkeypatch):
    """Such a folder was in neither list of `fleetopt runs` (finished, so not a job to resume; not
    recorded), and an operator could not find it (from an operator's review): it is listed with the
    command that records it, until it is recorded."""
    monkeypatch.setenv("FLEETOPT_RUNS_DIR", str(tmp_path))  # the folder is in the runs folder
    folder = _killed_while_recorded(tmp_path)
    code, out, err = run_cli("runs")
    said = " ".join(out.split())
    header = "finished but not recorded (its record failed, or it was stopped while being recorded):"
    assert code == 0 and header in said, err
    assert f"{folder}: fleetopt runs add {folder}" in said
    assert run_cli("runs", "--kind", "sweep")[1].count("runs add") == 0  # an evaluation's
    assert run_cli("runs", "add", str(folder))[0] == 0
    assert "not recorded" not in run_cli("runs")[1]


def test_a_resume_of_a_job_killed_while_it_was_recorded_records_it_and_exits_0(tmp_path):
    """A batch job retried after its evaluation was killed while being recorded exited 2 ("already
    finished"), as bad input does, and left the run unrecorded: the resume now records and tidies it,
    and exits 0 as the run would have; resumed again, it names the run it is."""
    folder = _killed_while_recorded(tmp_path)
    code, out, err = run_cli("evaluate", "--resume", str(folder))
    said = " ".join(out.split())
    assert code == 0 and "already finished (recorded now as run 1: fleetopt runs show 1)" in said, err
    from fleetopt import api

    recorded_by = api.runs()[0].command  # the retry that recorded it, not `runs add`
    assert recorded_by.startswith("unknown (recorded afterwards by ") and "runs add" not in recorded_by
    finished = ["job.json", "metrics.csv", "model.yaml", "summary.json"]
    assert sorted(p.name for p in folder.iterdir()) == finished  # tidied as a finish does
    code, out, err = run_cli("evaluate", "--resume", str(folder))
    assert code == 0 and "already finished (run 1: fleetopt runs show 1)" in " ".join(out.split()), err
    code, out, err = run_cli("sweep", "--resume", str(folder))  # another command's folder: refused
    assert code == 2 and "an evaluation's folder, not a sweep's, and finished" in " ".join(err.split())


def test_a_resume_of_a_job_killed_after_its_record_tidies_it_and_writes_its_kept_report(tmp_path):
    """Killed after it was recorded and before its clean-up (and its --report): a retry left its
    chunks and lock for good and exited 0 without the report job.json kept --report for (a review)."""
    from fleetopt import api

    folder = _killed_while_recorded(tmp_path)
    with pytest.MonkeyPatch.context() as killed:
        killed.setattr(RunFolder, "tidy_finished_job", lambda self: None)
        number = api.record_run(folder)
    RunFolder(folder).release_lock()
    job = json.loads((folder / "job.json").read_text())
    (folder / "job.json").write_text(json.dumps({**job, "resume_options": ["--report"]}))
    code, out, err = run_cli("evaluate", "--resume", str(folder))
    said = " ".join(out.split())
    assert code == 0 and f"already finished (run {number}: fleetopt runs show {number})" in said, err
    assert f"wrote {folder / 'report.html'}" in said
    finished = ["job.json", "metrics.csv", "model.yaml", "report.html", "summary.json"]
    assert sorted(p.name for p in folder.iterdir()) == finished  # chunks, lock, temporary file gone


def test_runs_add_of_a_tidy_finished_job_takes_no_lock(tmp_path, monkeypatch):
    """A finished evaluation's folder with nothing to tidy is recorded without its lock, as before
    the clean-up above: taking it wrote a lock file, which refused a folder this user cannot write
    (a read-only mount, a colleague's runs: "cannot lock ...") and stayed behind in a folder whose
    record was refused (from a review)."""
    monkeypatch.setenv("FLEETOPT_RUNS_DIR", str(tmp_path / "runs"))
    folder = _killed_while_recorded(tmp_path)
    assert run_cli("runs", "add", str(folder))[0] == 0  # now tidy: recorded, chunks and lock gone
    before = sorted(p.name for p in folder.iterdir())
    code, _, err = run_cli("runs", "add", str(folder))
    assert code == 2 and "already recorded as run 1" in " ".join(err.split()), err
    assert sorted(p.name for p in folder.iterdir()) == before  # no lock file left by the refusal
    monkeypatch.setattr(RunFolder, "hold_lock", lambda self, keep=False: pytest.fail("locked a tidy folder"))
    (tmp_path / "runs" / "registry.sqlite").unlink()  # a registry that has not recorded it
    code, out, err = run_cli("runs", "add", str(folder))
    assert code == 0 and "as run 1" in " ".join(out.split()), err


def test_a_resume_removes_the_temporary_files_a_killed_process_left_unless_another_holds_the_folder(tmp_path):
    """A process killed while it wrote a file of its job (model.yaml, job.json, a chunk ...) left its
    temporary file (.model.yaml.XXXXXXXX.tmp) in the folder for good. The next process to take the
    folder's lock (a resume, `runs add`) removes them; never while another process holds it."""
    folder = _interrupted_job(tmp_path)
    stale = [folder / ".model.yaml.a1b2c3d4.tmp", folder / ".job.json.x9y8z7w6.tmp",
             folder / "chunks" / ".chunk-2-4-{}.npz.q1w2e3r4.tmp".format("0" * 64)]  # fmt: skip
    kept = [folder / ".report.html.m1n2b3v4.tmp", folder / "notes.tmp"]  # a report's (written unlocked)
    for path in stale + kept:
        path.write_text("cut short")
    with held_by_another_process(folder):
        assert run_cli("evaluate", "--resume", str(folder))[0] == 2
    assert all(path.exists() for path in stale)
    code, _, err = run_cli("evaluate", "--resume", str(folder))
    assert code == 0, err
    assert not any(path.exists() for path in stale) and all(path.exists() for path in kept)


def test_a_resume_of_a_job_whose_model_yaml_is_missing_says_so_and_what_to_do(tmp_path):
    """model.yaml deleted from a job folder: the resume answered as if a model name had been given
    ("no model file or bundled model ..., bundled models: neocloud, tiny, lab"). It now names the job
    folder's missing copy and how to put it back; the finished chunk is kept."""
    folder = _interrupted_job(tmp_path)
    (folder / "model.yaml").unlink()
    code, _, err = run_cli("evaluate", "--resume", str(folder))
    text = " ".join(err.split())
    assert code == 2 and "Traceback" not in err, err
    assert f"{folder / 'model.yaml'} is missing: the job folder's copy of the model" in text, err
    assert f"its model_source ({load_model('tiny').source}) if that file is unchanged" in text
    assert "bundled" not in text and ChunkStore(folder / "chunks").count() == 1
    shutil.copy(load_model("tiny").source, folder / "model.yaml")  # as the message says
    assert run_cli("evaluate", "--resume", str(folder))[0] == 0


def test_the_resume_command_of_a_stopped_run_keeps_what_job_json_does_not(tmp_path, monkeypatch):
    """`evaluate ... --report --rank-by mean` stopped said "finish with: fleetopt evaluate --resume
    F": followed, the run ended with no report.html and ranked by CVaR5 (from a new user's review;
    a sweep's --report too). The command to paste now gives them again, and does what it says."""
    import errno

    import fleetopt.cli.risk_commands as commands

    monkeypatch.setenv("FLEETOPT_RUNS_DIR", str(tmp_path / "runs"))
    assert run_cli("solve", "tiny", "--out", str(tmp_path / "plan"))[0] == 0
    real_save = ChunkStore.save

    def disk_full(self, first, stop, result):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(ChunkStore, "save", disk_full)
    out = tmp_path / "runs" / "E"  # in the runs folder, whose unfinished jobs `fleetopt runs` lists
    code, _, err = run_cli("evaluate", "--plans", str(tmp_path / "plan"), "--scenarios", "20", "--report",
                           "--rank-by", "mean", "--top", "3", "--out", str(out))  # fmt: skip
    resume = f"fleetopt evaluate --resume {out} --rank-by mean --top 3 --report"
    assert code == 2 and f"finish with: {resume}" in " ".join(err.split()), err
    code, listed, err = run_cli("runs")  # kept in job.json: the list of unfinished runs gives it too
    assert code == 0 and f"interrupted: {resume}" in " ".join(listed.split()), listed
    monkeypatch.setattr(ChunkStore, "save", real_save)
    code, _, err = run_cli(*resume.split()[1:])
    assert code == 0, err
    assert (out / "report.html").exists()
    assert json.loads((out / "summary.json").read_text())["ranking"]["rank_by"] == "mean"

    monkeypatch.setattr(commands, "say_candidate", Interrupted(after=2))
    swept = tmp_path / "runs" / "S"
    code, _, err = run_cli("sweep", "tiny", "--candidates", "3", "--scenarios", "50", "--report",
                           "--out", str(swept))  # fmt: skip
    assert code == 130 and f"finish with: fleetopt sweep --resume {swept} --report" in " ".join(err.split())
    monkeypatch.undo()
    monkeypatch.setenv("FLEETOPT_RUNS_DIR", str(tmp_path / "runs"))
    code, listed, err = run_cli("runs")
    assert code == 0 and f"interrupted: fleetopt sweep --resume {swept} --report" in " ".join(listed.split())
    code, _, err = run_cli("sweep", "--resume", str(swept))  # kept: a plain resume applies it too
    assert code == 0 and (swept / "report.html").exists(), err


def test_a_lost_worker_says_what_is_saved_and_how_to_finish(tmp_path, monkeypatch):
    """The CLI's words for WorkerLost: the chunks saved, the resume command, exit 130."""
    from fleetopt.evaluate.jobs import WorkerLost

    monkeypatch.setenv("FLEETOPT_RUNS_DIR", str(tmp_path / "runs"))
    assert run_cli("solve", "tiny", "--out", str(tmp_path / "plan"))[0] == 0
    real_save, saved = ChunkStore.save, []

    def lost_after_one(self, first, stop, result):
        if saved:
            raise WorkerLost("a worker process ended before its chunk was done (killed)")
        saved.append(real_save(self, first, stop, result))

    monkeypatch.setattr(ChunkStore, "save", lost_after_one)
    plans = tmp_path / "many.npz"
    from fleetopt import api
    from fleetopt.evaluate.planfile import load_plans, save_plans

    loaded, data = api.load(tmp_path / "plan" / "model.yaml")
    plan = load_plans(tmp_path / "plan" / "plan.npz", data)[0][0]
    save_plans(plans, [plan] * 40, [f"p{i}" for i in range(40)], loaded.model.name, loaded.content_hash)
    out = tmp_path / "E"
    # 2 chunks of 20 plans (the rows in a temporary file, half of 1,200 KB holding 30 plans' tables)
    code, _, err = run_cli("evaluate", "--plans", str(plans), "--scenarios", "4000", "--max-memory", "1200KB",
                           "--out", str(out))  # fmt: skip
    said = " ".join(err.split())
    assert code == 130, err
    assert "error: a worker process ended before its chunk was done (killed): 1 evaluation chunk" in said
    assert f"finish with: fleetopt evaluate --resume {out} (with a smaller --max-memory" in said


def test_a_full_disk_at_the_stop_gives_the_options_once(tmp_path, monkeypatch):
    """Where job.json cannot take the options again (a full disk), the command gives them in place
    of job.json's own, never both: an option given twice is refused."""
    import errno

    from fleetopt.cli.stops import stopped_message
    from fleetopt.runs.resume import RESUME_OPTIONS

    run = RunFolder(tmp_path / "E")
    run.start_job({RunFolder.MODEL: "x"}, {"kind": "evaluate", RESUME_OPTIONS: ["--rank-by", "mean"]})

    def full(self, settings):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(RunFolder, "write_job", full)
    said = stopped_message(run, "evaluate", ("--rank-by", "p5", "--report"))
    assert said.endswith(f"finish with: fleetopt evaluate --resume {run.path} --rank-by p5 --report"), said
    said = stopped_message(run, "evaluate", ("--rank-by", "mean"))  # already kept: given once
    assert said.endswith(f"finish with: fleetopt evaluate --resume {run.path} --rank-by mean"), said


def test_the_memory_budget_is_shared_by_the_workers(tmp_path, monkeypatch):
    """`--workers 2 --max-memory 50MB` sized each worker's chunks to 50 MB (100 MB in all), against
    the help's "shared by --workers" and the advice to resume a job killed for memory with a smaller
    budget (from an operator's review): each worker now takes half, as one process with 50 MB does
    that holds the chunk sent to it (chunking.sent_bytes_per_plan: test_memory_budget.py)."""
    from fleetopt import api
    from fleetopt.evaluate.chunking import worker_chunk_sizes

    monkeypatch.setenv("FLEETOPT_RUNS_DIR", str(tmp_path / "runs"))
    assert run_cli("solve", "tiny", "--out", str(tmp_path / "plan"))[0] == 0

    def job(workers, budget):
        return api.prepare_evaluation(tmp_path / "plan", scenarios=200_000, backend="numpy",
                                      max_memory=budget, workers=workers)  # fmt: skip

    def blocks(run):
        return run.settings["plan_chunk"], run.settings["scenario_chunk"]

    two = job(2, 100_000_000)
    shared = ("numpy", 1, 10**12, 50_000_000)
    half = worker_chunk_sizes(two.data, two.batch, 200_000, *shared, workers=2, sent=True)
    assert blocks(two) == half != blocks(job(1, 100_000_000))
    # capped, where it is, to the whole machine's memory (not to a worker's share, then halved again)
    from fleetopt.evaluate import resources

    monkeypatch.setattr(resources, "physical_ram_bytes", lambda: 100_000_000)
    assert resources.budget_within_memory(80_000_000, "numpy", "local", 2) == 80_000_000
    with pytest.warns(FleetoptWarning, match="shared by the 2 workers: the budget is capped to 100 MB"):
        assert resources.budget_within_memory(150_000_000, "numpy", "local", 2) == 100_000_000


def test_a_full_disk_as_the_job_starts_names_its_folder_and_file(tmp_path, monkeypatch):
    """`error: No space left on device` named nothing where the job's first files could not be
    written (from an operator's review); then "cannot use runs/f1: File too large" named neither the
    file nor what was left: the file is named, and that nothing was written (none is left)."""
    import errno

    import fleetopt.runs.folder as folder_module

    monkeypatch.setenv("FLEETOPT_RUNS_DIR", str(tmp_path / "runs"))
    assert run_cli("solve", "tiny", "--out", str(tmp_path / "plan"))[0] == 0

    def full(self, settings):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(RunFolder, "write_job", full)
    out = tmp_path / "E"
    plans = str(tmp_path / "plan")
    code, _, err = run_cli("evaluate", "--plans", plans, "--scenarios", "20", "--out", str(out))
    said = (f"error: cannot start the run in {out}: {out / 'job.json'} could not be written (No space left "
            "on device); nothing was written")
    assert code == 2 and said in " ".join(err.split()), err
    assert not out.exists() and not [p for p in tmp_path.iterdir() if p.name.startswith(".E")]
    monkeypatch.undo()
    monkeypatch.setenv("FLEETOPT_RUNS_DIR", str(tmp_path / "runs"))
    atomic = folder_module.write_bytes_atomic

    def too_large(path, data, *args, **kwargs):  # as under `ulimit -f 40` with the default model
        if path.name == "model.yaml":
            raise OSError(errno.EFBIG, "File too large")
        return atomic(path, data, *args, **kwargs)

    monkeypatch.setattr(folder_module, "write_bytes_atomic", too_large)
    code, _, err = run_cli("evaluate", "--plans", plans, "--scenarios", "20", "--out", str(out))
    said = f"{out / 'model.yaml'} could not be written (File too large); nothing was written"
    assert code == 2 and said in " ".join(err.split()), err
    assert not out.exists() and not [p for p in tmp_path.iterdir() if p.name.startswith(".E")]


def test_a_new_chunk_folder_is_synced_into_its_run_folder(tmp_path, monkeypatch):
    """Each chunk and its folder are synced after a rename, but the chunks/ folder's own name was not:
    after a power loss the run folder could lose chunks/ and every chunk in it. Making the folder now
    syncs the run folder holding its name; an existing one is left as it is."""
    synced = set()
    real_fsync = os.fsync

    def recording(fd):
        info = os.fstat(fd)
        synced.add((info.st_dev, info.st_ino))
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", recording)
    run = tmp_path / "run"
    run.mkdir()
    ChunkStore(run / "chunks")
    info = os.stat(run)
    assert (info.st_dev, info.st_ino) in synced
    synced.clear()
    ChunkStore(run / "chunks")  # already there: nothing to sync
    assert (info.st_dev, info.st_ino) not in synced


def test_a_resumed_evaluation_of_an_edited_solve_keeps_the_changes_its_model_was_made_with(tmp_path):
    """An evaluation of a --set solve's folder reads its model.yaml, the model as that solve changed
    it: job.json keeps those changes, so a resume says them though the solve's folder has moved."""
    from fleetopt import api

    edited = api.edit("tiny", {"horizon.discount_rate_annual": 0.12})
    solve = api.write_solve_run(api.solve(edited), out=tmp_path / "S")
    api.prepare_evaluation(solve, scenarios=4).start(tmp_path / "E")
    (tmp_path / "S").rename(tmp_path / "moved")
    job = api.resume_evaluation(tmp_path / "E", plans=tmp_path / "moved")
    assert job.loaded.changes == () and job.loaded.source_changes == (("horizon.discount_rate_annual", 0.12),)
    summary = api.evaluation_summary(job.run(tmp_path / "E"), job.loaded, job.source)
    assert summary["model_changes"] == [], summary
    assert summary["model_source_changes"] == [{"path": "horizon.discount_rate_annual", "value": 0.12}]
    assert summary["model_source"] == str((tmp_path / "S" / "model.yaml").resolve())  # where it was read


def test_tiny_blocks_warning_names_the_budget_that_gives_calls_of_a_sensible_size(tmp_path):
    """6 plans x 80 scenarios of tiny (8 quarters) under 60 KB run 1 plan on blocks of 10 scenarios,
    48 calls: by NumPy's estimate (backend_choice.chunked_numpy_seconds) 80 x 30 us + 3,840 / 7.75e6 + the
    blocks made again for 5 more chunks, 5 x 80 x 30 us, + 48 x 27.6 ms = 1.34 s. The warning names
    the least budget at which calls hold every one of the 480 pairs (fewer than SENSIBLE_BLOCK_PAIRS),
    one call: 0.0024 + 0.000495 + 0.0276 = 0.0305 s; that budget runs them so, without the warning;
    1% less does not (a run too short to be warned of, test below)."""
    from fleetopt.cli.memory import memory_budget

    plans = _tiny_plans_file(tmp_path)
    code, _, err = run_cli("evaluate", "tiny", "--plans", str(plans), "--scenarios", "80",
                           "--backend", "numpy", "--max-memory", "60KB", "--out", str(tmp_path / "a"))
    err = " ".join(err.split())
    assert code == 0, err
    said = re.search(r"room for 10 scenario\(s\) at a time \(of 80\), 1 plan a chunk: the run will be slow, "
                     r"about 1\.34 s by NumPy's estimate on one core; --max-memory (\S+) gives 6 plans a "
                     r"chunk on blocks of 80 scenario\(s\), about 0\.0305 s", err)
    assert said, err
    enough = memory_budget(said.group(1))
    code, _, err = run_cli("evaluate", "tiny", "--plans", str(plans), "--scenarios", "80",
                           "--backend", "numpy", "--max-memory", said.group(1), "--out", str(tmp_path / "b"))
    assert code == 0 and "room for" not in err, err
    job = json.loads((tmp_path / "b" / "job.json").read_text())
    assert (job["plan_chunk"], job["scenario_chunk"]) == (6, 80)
    code, _, err = run_cli("evaluate", "tiny", "--plans", str(plans), "--scenarios", "80",
                           "--backend", "numpy", "--max-memory", f"{enough * 0.99 / 1000:.0f}KB",
                           "--out", str(tmp_path / "c"))
    job = json.loads((tmp_path / "c" / "job.json").read_text())
    assert code == 0 and job["plan_chunk"] * job["scenario_chunk"] < 480, err


def test_a_resume_that_computes_nothing_is_not_warned_of_as_slow(tmp_path, monkeypatch):
    """The run of the test above (6 plans x 80 scenarios of tiny under 60 KB: "the run will be slow,
    about 1.34 s") stopped while its result tables printed, every chunk saved: its resume computes
    nothing, and said the run would be slow all the same; now it says nothing of it."""
    from fleetopt.cli import risk_commands

    folder = tmp_path / "run"
    monkeypatch.setattr(risk_commands, "print_best", _ctrl_c)
    plans = _tiny_plans_file(tmp_path)
    code, _, err = run_cli("evaluate", "tiny", "--plans", str(plans), "--scenarios", "80", "--backend",
                           "numpy", "--max-memory", "60KB", "--out", str(folder))  # fmt: skip
    assert code == 130 and "the run will be slow" in " ".join(err.split()), err
    monkeypatch.undo()
    code, _, err = run_cli("evaluate", "--resume", str(folder))
    assert code == 0 and "will be slow" not in " ".join(err.split()), err
    summary = json.loads((folder / "summary.json").read_text())
    assert summary["plan_scenario_pairs_from_an_earlier_attempt"] == 6 * 80


def test_a_run_estimated_under_a_second_is_not_warned_of_however_small_its_calls(tmp_path):
    """6 plans x 20 scenarios of tiny under 60 KB run 1 plan on blocks of 10 scenarios, 12 calls of 10
    pairs: 20 x 30 us + 960 / 7.75e6 + 5 x 20 x 30 us + 12 x 27.6 ms = 0.335 s by NumPy's estimate.
    The warning said "the run will be slow, about 0:00:00" (whole seconds, cut); under
    cli.memory.SLOW_RUN_SECONDS, a second, nothing is said of it."""
    from fleetopt.evaluate.backend_choice import chunked_numpy_seconds

    assert chunked_numpy_seconds(6, 20, 8, 1, 10) == pytest.approx(0.0006 + 960 / 7.75e6 + 0.003 + 0.3312)
    plans = _tiny_plans_file(tmp_path)
    code, _, err = run_cli("evaluate", "tiny", "--plans", str(plans), "--scenarios", "20",
                           "--backend", "numpy", "--max-memory", "60KB", "--out", str(tmp_path / "a"))
    assert code == 0 and "room for" not in err and "0:00:00" not in err, err
    job = json.loads((tmp_path / "a" / "job.json").read_text())
    assert (job["plan_chunk"], job["scenario_chunk"]) == (1, 10)


def test_a_run_of_split_blocks_is_estimated_with_each_call_and_the_blocks_made_per_chunk():
    """4 plans x 100 scenarios x 10 quarters in chunks of 2 plans on blocks of 50: the 100 scenarios
    made twice (once a chunk) at 30 us each, 4,000 plan-scenario-quarters at 7.75e6 a second, and
    4 calls at 27.6 ms: 0.006 + 0.000516 + 0.1104 = 0.116916 s."""
    from fleetopt.evaluate.backend_choice import chunked_numpy_seconds

    assert chunked_numpy_seconds(4, 100, 10, 2, 50) == pytest.approx(0.006 + 4000 / 7.75e6 + 0.1104)
    assert chunked_numpy_seconds(4, 100, 10, 2, 100) == pytest.approx(0.003 + 4000 / 7.75e6 + 2 * 0.0276)


def test_tiny_blocks_warning_says_when_the_budget_that_would_do_is_beyond_the_memory(tmp_path, monkeypatch):
    """6 plans x 80 scenarios under 60 KB (1.34 s by the estimate, above) on a machine of 200 KB
    (faked): the 894 KB that would give calls of all 480 pairs, 0.0305 s, cannot be had, which the
    warning says, with the remedy that remains."""
    from fleetopt.evaluate import chunking, resources

    ram = resources.DeviceMemory(200_000, "physical memory (RAM) of this machine")
    monkeypatch.setattr(resources, "simulation_memory", lambda *_: ram)
    searched = []  # the advice's budget is searched above the run's own (a smaller one is slower)
    search = chunking.budget_for_sensible_blocks
    monkeypatch.setattr(chunking, "budget_for_sensible_blocks",
                        lambda *a: searched.append(a[3:]) or search(*a))  # fmt: skip
    plans = _tiny_plans_file(tmp_path)
    code, _, err = run_cli("evaluate", "tiny", "--plans", str(plans), "--scenarios", "80",
                           "--backend", "numpy", "--max-memory", "60KB", "--out", str(tmp_path / "a"))
    assert code == 0, err
    assert searched == [(60_000,)]
    assert ("--max-memory 894KB gives 6 plans a chunk on blocks of 80 scenario(s), about 0.0305 s, more than "
            "the 200 KB of physical memory (RAM) of this machine: give fewer scenarios (--scenarios)"
            ) in " ".join(err.split())  # fmt: skip
