"""Run folders: claimed atomically (runs started at once never share a folder or lose a finished
run), released when a run fails before writing anything, written whole, read back by name."""

from __future__ import annotations

import errno
import os
import stat
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from conftest import run_cli

from fleetopt import __version__
from fleetopt.errors import FleetoptError, InputError
from fleetopt.runs import files as files_module
from fleetopt.runs.code_stamp import figures_code
from fleetopt.runs.files import write_text_atomic
from fleetopt.runs.folder import RunFolder
from fleetopt.runs.registry import Registry
from fleetopt.runs.run_files import RunDirError

FLEETOPT = Path(sys.executable).parent / "fleetopt"
CONCURRENT_SOLVES = 4  # issue 15: four solves at once lost 1 to 3 runs before RunFolder.claim


def test_default_folders_claimed_at_once_are_all_different(tmp_path):
    with ThreadPoolExecutor(16) as pool:
        folders = list(pool.map(lambda _: RunFolder.claim(None, "tiny", runs=tmp_path), range(32)))
    paths = {f.path for f in folders}
    assert len(paths) == 32 and all(p.is_dir() and p.parent == tmp_path for p in paths)
    assert all(f.claimed for f in folders)


def test_concurrent_solves_on_one_runs_folder_all_finish_and_are_registered(tmp_path):
    runs = tmp_path / "runs"
    env = {**os.environ, "FLEETOPT_RUNS_DIR": str(runs)}
    # started together, so that their default folders are named in the same second
    pipes = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE, "text": True}
    command = [str(FLEETOPT), "solve", "tiny"]
    procs = [subprocess.Popen(command, env=env, cwd=tmp_path, **pipes) for _ in range(CONCURRENT_SOLVES)]
    results = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0] * CONCURRENT_SOLVES, [err for _, err in results]
    folders = sorted(p for p in runs.iterdir() if p.is_dir())
    assert len(folders) == CONCURRENT_SOLVES
    assert all(RunFolder(f).kind == "solve" and RunFolder(f).plan_file is not None for f in folders)
    recorded = sorted(r.path for r in Registry(runs).list())
    assert recorded == [f.resolve() for f in folders]


def test_a_run_that_fails_before_writing_leaves_no_folder(tmp_path):
    claimed = RunFolder.claim(None, "tiny", runs=tmp_path)
    with pytest.raises(RuntimeError), claimed.released_on_failure():
        raise RuntimeError("solver crashed")
    assert not claimed.path.exists()
    given = RunFolder.claim(tmp_path / "new" / "out", "tiny")
    with pytest.raises(KeyboardInterrupt), given.released_on_failure():
        raise KeyboardInterrupt
    assert not given.path.exists()


def test_an_empty_folder_the_user_made_is_used_and_never_removed(tmp_path):
    mine = tmp_path / "mine"
    mine.mkdir()
    folder = RunFolder.claim(mine, "tiny")
    with pytest.raises(RuntimeError), folder.released_on_failure():
        raise RuntimeError
    assert mine.is_dir()
    folder.write({RunFolder.SUMMARY: '{"kind": "solve"}\n', RunFolder.MODEL: "name: x\n"})
    assert folder.kind == "solve" and folder.model_file == mine / RunFolder.MODEL


def test_write_is_all_or_nothing_and_refuses_a_folder_in_use(tmp_path):
    out = tmp_path / "run"
    (out / "old").mkdir(parents=True)
    with pytest.raises(RunDirError, match="already exists and is not empty"):
        RunFolder(out).write({RunFolder.SUMMARY: "{}"})
    with pytest.raises(RunDirError):
        RunFolder.claim(out, "tiny")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]  # no partial folder beside it
    assert not RunFolder(out).is_finished and RunFolder(out).kind is None


def test_a_link_in_a_run_folder_never_redirects_its_writes(tmp_path):
    """A run folder's files are replaced by name: a link planted in a shared runs folder (metrics.csv
    pointing at another file) is replaced, its target untouched. Only a file the user names as
    `--out` is written through a link (runs.files.write_bytes_atomic's user_file)."""
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me\n")
    job = RunFolder(tmp_path / "job")
    job.path.mkdir()
    (job.path / "metrics.csv").symlink_to(victim)
    job.write_files({"metrics.csv": "plan,npv\n"})
    assert victim.read_text() == "keep me\n" and not (job.path / "metrics.csv").is_symlink()
    mine = tmp_path / "mine.html"
    mine.symlink_to(victim)
    write_text_atomic(mine, "<html>", user_file=True)
    assert mine.is_symlink() and victim.read_text() == "<html>"


REAL_FSYNC = os.fsync


@pytest.fixture
def synced(monkeypatch) -> set[tuple[int, int]]:
    """The files and folders (device, inode) os.fsync is given while the test runs."""
    seen = set()

    def recording(fd):
        info = os.fstat(fd)
        seen.add((info.st_dev, info.st_ino))
        REAL_FSYNC(fd)

    monkeypatch.setattr(os, "fsync", recording)
    return seen


def test_a_renamed_file_survives_a_power_loss_its_folder_synced(tmp_path, monkeypatch, synced):
    """The file was fsynced but not its folder after the rename: after a power loss a chunk or
    summary.json just renamed into place could vanish. A folder the platform cannot sync is skipped."""
    write_text_atomic(tmp_path / "run" / "summary.json", "{}")
    folder = os.stat(tmp_path / "run")
    assert (folder.st_dev, folder.st_ino) in synced

    def refused_for_folders(fd):
        if stat.S_ISDIR(os.fstat(fd).st_mode):  # as some file systems do
            raise OSError(errno.EINVAL, "Invalid argument")
        REAL_FSYNC(fd)

    monkeypatch.setattr(os, "fsync", refused_for_folders)
    write_text_atomic(tmp_path / "run" / "summary.json", '{"kind": "solve"}')
    assert (tmp_path / "run" / "summary.json").read_text() == '{"kind": "solve"}'


def test_a_finished_run_folder_is_synced_file_by_file_then_renamed_and_synced(tmp_path, synced):
    """A solve's folder was written with unsynced files, then renamed: after a power loss it could
    hold an empty summary.json or plan.npz, or be gone. Every file, and the folder holding the run's
    new name, is synced now."""
    files = {RunFolder.SUMMARY: "{}\n", RunFolder.MODEL: "name: x\n"}
    out = RunFolder(tmp_path / "runs" / "run").write(files)
    for path in (out / RunFolder.SUMMARY, out / RunFolder.MODEL, tmp_path / "runs"):
        info = os.stat(path)
        assert (info.st_dev, info.st_ino) in synced, path


def test_a_job_folder_is_finished_file_by_file_and_loses_its_chunks_once_tidied(tmp_path):
    """Its chunks and lock stay until the run is recorded (api/_runs.py _recorded tidies it then): a job
    killed between the two is still seen as finished but not recorded."""
    folder = RunFolder(tmp_path / "job")
    folder.start_job({RunFolder.MODEL: "name: x\n"}, {"kind": "evaluate"})
    folder.chunk_folder.mkdir()
    assert folder.is_job and not folder.is_finished
    # who started it: the version and its code's fingerprint
    started_by = {"fleetopt_version": __version__, "figures_code": figures_code()}
    assert folder.job() == {"kind": "evaluate", **started_by}
    folder.finish({RunFolder.SUMMARY: '{"kind": "evaluate"}\n', RunFolder.METRICS: "plan\n"})
    assert folder.kind == "evaluate" and folder.chunk_folder.exists() and folder.left_untidy
    folder.tidy_finished_job()
    assert not folder.chunk_folder.exists() and not folder.left_untidy


def test_an_update_of_a_job_keeps_the_stamps_of_the_code_that_started_it(tmp_path, monkeypatch):
    """job.json updated (a stopped resume's options kept, plans found moved, a sweep's candidates
    complete) was stamped with the updating code's version and fingerprint: a resume from other code
    stopped before its check re-stamped the job as its own, and the next resume passed the check and
    mixed the two codes' chunks. An update keeps the starting code's stamps; the check still refuses."""
    from fleetopt.cli.resume_options import kept_for_resume
    from fleetopt.runs import folder as folder_module

    folder = RunFolder(tmp_path / "job")
    folder.start_job({RunFolder.MODEL: "name: x\n"}, {"kind": "evaluate"})
    folder.release_lock()
    started = {"fleetopt_version": __version__, "figures_code": figures_code()}
    monkeypatch.setattr(folder_module, "figures_code", lambda: "0123456789abcdef")
    assert kept_for_resume(folder, ("--backend", "numpy")) is None
    assert folder.job() == {"kind": "evaluate", "resume_options": ["--backend", "numpy"], **started}
    with pytest.raises(InputError, match="from other code than this installation's"):
        folder.check_job_version()
    unstamped = RunFolder(tmp_path / "old")  # a job.json before 0.2.0's stamps stays unstamped
    unstamped.path.mkdir()
    (unstamped.path / RunFolder.JOB).write_text('{"kind": "evaluate"}')
    unstamped.write_job({**unstamped.job(), "resume_options": ["--backend", "numpy"]})
    assert unstamped.job() == {"kind": "evaluate", "resume_options": ["--backend", "numpy"]}


def test_a_relative_out_in_a_read_only_current_folder_names_that_folder(tmp_path, monkeypatch):
    """`docker run -v "$PWD:/runs:ro" fleetopt:cpu evaluate ... --out ro1` (the image works in /runs)
    said "cannot write ro1: . is not a folder this user can write to": the folder refused is named
    as a path, the current folder's. Made read-only by os.access's answer (root writes anywhere)."""
    real_access = os.access
    writable = lambda p, m: Path(p).absolute() != tmp_path and real_access(p, m)  # noqa: E731
    monkeypatch.setattr(files_module.os, "access", writable)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(RunDirError) as refused:
        RunFolder.check_new("ro1")
    assert str(refused.value) == f"cannot write ro1: {tmp_path} is not a folder this user can write to"


def test_run_folder_errors_are_bad_input():
    assert issubclass(RunDirError, InputError) and issubclass(InputError, FleetoptError)
    assert RunDirError("x").exit_code == 2


def test_summaries_are_strict_json_with_null_for_a_missing_figure():
    """A plan that defaults in every scenario has no mean NPV without a default (NaN), and a ratio
    with no denominator is infinite: summary.json says null, which every JSON reader accepts."""
    import json
    import math

    import numpy as np

    from fleetopt.runs.file_text import json_text

    text = json_text({"npv_mean_no_default_usd": np.float64("nan"), "dscr": math.inf, "n": np.int64(3),
                      "rows": [{"x": np.float32(1.5)}], "path": np.array([1.0, np.nan])})  # fmt: skip

    def refuse(constant):
        raise AssertionError(f"not strict JSON: {constant}")

    assert json.loads(text, parse_constant=refuse) == {
        "npv_mean_no_default_usd": None, "dscr": None, "n": 3, "rows": [{"x": 1.5}], "path": [1.0, None],
    }  # fmt: skip


def test_a_written_run_folder_has_the_permissions_mkdir_gives(tmp_path):
    """A solve's folder was 0700 (made by mkdtemp, then renamed) while evaluate's and sweep's were
    0755: every run folder is made as mkdir makes one under the process's umask, its files as open()."""
    old = os.umask(0o022)
    try:
        out = RunFolder(tmp_path / "run").write({"summary.json": "{}\n"})
    finally:
        os.umask(old)
    assert (out.stat().st_mode & 0o777) == 0o755
    assert ((out / "summary.json").stat().st_mode & 0o777) == 0o644


def test_an_empty_runs_folder_variable_is_the_default_not_the_current_folder(monkeypatch):
    """`export FLEETOPT_RUNS_DIR=` made the current folder the runs folder, filling it with runs."""
    from fleetopt.runs.location import runs_dir

    for value in ("", "  "):
        monkeypatch.setenv("FLEETOPT_RUNS_DIR", value)
        assert runs_dir() == Path("runs")


def test_a_runs_folder_variable_with_a_tilde_is_under_the_home_folder(monkeypatch, tmp_path):
    """FLEETOPT_RUNS_DIR='~/x' (set from Python, or quoted) wrote the runs under the home folder and the
    registry in a folder named "~" here: `fleetopt runs` from anywhere else listed none of them."""
    from fleetopt import api
    from fleetopt.runs.location import runs_dir

    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("FLEETOPT_RUNS_DIR", "~/x")
    assert runs_dir() == tmp_path / "home" / "x"
    written = api.write_solve_run(api.solve("tiny"))
    assert written.parent == tmp_path / "home" / "x" and not (tmp_path / "~").exists()
    assert [r.path for r in api.runs()] == [written]


NO_HOME = "~fleetopt-no-such-user"  # a shell passes ~name on as typed where no user has that name


@pytest.mark.parametrize("command", [
    ("validate", f"{NO_HOME}/m.yaml"), ("validate", "tiny", "--purchases", f"{NO_HOME}/p.csv"),
    ("solve", "tiny", "--out", f"{NO_HOME}/x"), ("compare", "a", "b", "--out", f"{NO_HOME}/c.csv"),
    ("evaluate", "--plans", f"{NO_HOME}/x"), ("runs", "show", f"{NO_HOME}/x"),
    ("runs", "add", f"{NO_HOME}/x"),
])  # fmt: skip
def test_a_path_under_no_user_s_home_folder_is_bad_input(here, command):
    """`~nouser/x` (a user misspelt) ended each command in pathlib's RuntimeError traceback, exit 1:
    it is bad input naming the path, and nothing is written."""
    code, _, err = run_cli(*command)
    assert code == 2 and "Traceback" not in err, err
    assert f"'{NO_HOME}/" in err and f"{NO_HOME} names no home folder on this machine" in err, err
    assert not (here / NO_HOME).exists()


@pytest.mark.parametrize("variable, command", [
    ("FLEETOPT_RUNS_DIR", ("runs",)),
    ("FLEETOPT_CACHE_DIR", ("evaluate", "--plans", "base", "--scenarios", "2", "--backend", "cpu-kernel")),
])  # fmt: skip
def test_a_folder_variable_under_no_user_s_home_folder_is_named(here, monkeypatch, variable, command):
    """FLEETOPT_RUNS_DIR='~nouser/runs' gave a RuntimeError traceback from every command, as did
    FLEETOPT_CACHE_DIR so from the C build: the message names the variable and its value."""
    from fleetopt.evaluate.kernel import cpu as kernel_cpu

    assert run_cli("solve", "tiny", "--out", "base")[0] == 0
    # a C build this process made before read the variable
    monkeypatch.setattr(kernel_cpu, "_CPU_KERNELS", {})
    monkeypatch.setenv(variable, f"{NO_HOME}/runs")
    code, _, err = run_cli(*command)
    assert code == 2 and f"error: ${variable} '{NO_HOME}/runs': {NO_HOME} names no home folder" in err, err


def test_a_stop_another_thread_receives_is_held_until_the_work_is_saved():
    """A process-directed signal reaches any thread that does not block it: masking it in the main
    thread, as signals_deferred did, held nothing once HiGHS or BLAS had started threads (the
    main thread here blocks it, as that code did, so the kernel hands it to the other thread)."""
    import signal
    import threading
    import time

    from fleetopt.runs.files import signals_deferred

    other = threading.Event()
    thread = threading.Thread(target=other.wait)
    thread.start()
    saved = False
    try:
        with pytest.raises(KeyboardInterrupt), signals_deferred():
            signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
            try:
                os.kill(os.getpid(), signal.SIGINT)
                time.sleep(0.2)  # the other thread's handler has run by now
            finally:
                signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
            saved = True
    finally:
        other.set()
        thread.join()
    assert saved
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # put back


def test_a_second_stop_while_the_handlers_are_put_back_leaves_none_held(monkeypatch):
    """A Ctrl-C raising between the two handlers being put back left SIGTERM held for good."""
    import signal

    from fleetopt.runs import files

    terminate = signal.getsignal(signal.SIGTERM)
    real = signal.signal

    def second_stop_after_sigint(signum, handler):
        previous = real(signum, handler)
        if signum == signal.SIGINT and handler is signal.default_int_handler:
            raise KeyboardInterrupt  # as a second Ctrl-C arriving right then
        return previous

    monkeypatch.setattr(files.signal, "signal", second_stop_after_sigint)
    with pytest.raises(KeyboardInterrupt), files.signals_deferred():
        pass
    assert signal.getsignal(signal.SIGTERM) == terminate
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_a_job_whose_folder_another_run_takes_while_it_starts_is_refused(tmp_path, monkeypatch):
    """Another process fills the folder after this job checked it was free and before its files were
    renamed onto it: the stop named the other run's job as one to resume (`--resume` of a job not
    its own). Refused now, naming the folder; the other run's files and no temporary folder stay."""
    from fleetopt.runs import folder as run_folder

    target = tmp_path / "job"
    rename = run_folder._rename_onto

    def another_run_first(tmp: Path, out: Path) -> None:
        out.mkdir()
        (out / RunFolder.JOB).write_text('{"kind": "evaluate"}')
        rename(tmp, out)

    monkeypatch.setattr(run_folder, "_rename_onto", another_run_first)
    with pytest.raises(RunDirError, match="was taken by another run while this one started"):
        RunFolder(target).start_job({RunFolder.MODEL: "name: x\n"}, {"kind": "evaluate"})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["job"]
    assert sorted(p.name for p in target.iterdir()) == [RunFolder.JOB]


@pytest.mark.parametrize("code", [errno.EBUSY, errno.EXDEV])
def test_a_folder_no_rename_can_replace_is_said_to_be_a_mount_point(tmp_path, monkeypatch, code):
    """--out given as a mounted volume (a Docker -v, a Kubernetes volume): renaming the run's folder onto
    it fails with EBUSY (or EXDEV across file systems), which a job's start called "taken by another
    run" and a solve "cannot write ...: Device or resource busy". Both now say what it is and give a
    folder inside it; nothing is left beside it."""
    from fleetopt.runs import folder as run_folder

    def mounted(tmp: Path, out: Path) -> None:
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr(run_folder, "_rename_onto", mounted)
    target = tmp_path / "volume"
    target.mkdir()
    said = rf"^{target} cannot be replaced by the run's folder \({os.strerror(code)}\): it is a mount point"
    for start in (lambda: RunFolder(target).start_job({RunFolder.MODEL: "name: x\n"}, {"kind": "evaluate"}),
                  lambda: RunFolder(target).write({RunFolder.MODEL: "name: x\n"})):
        with pytest.raises(RunDirError, match=said + r".*give a new folder inside it, such as .*volume/run$"):
            start()
        assert [p.name for p in tmp_path.iterdir()] == ["volume"] and not any(target.iterdir())


def test_a_file_s_sha256_is_read_once_while_it_is_unchanged(tmp_path, monkeypatch):
    """`compare EVALUATION_FOLDER` read a gigabyte plans file three times to check it: a file hashed
    before and unchanged since (its inode, size and times) is not read again; one changed in place
    (same size), replaced, or written in the last two seconds (its times may not show the change) is."""
    import hashlib
    import time
    from types import SimpleNamespace

    from fleetopt.runs import files

    reads = []
    digest = hashlib.file_digest
    counted = lambda fp, name: reads.append(fp.name) or digest(fp, name)  # noqa: E731
    monkeypatch.setattr(files.hashlib, "file_digest", counted)
    plans = tmp_path / "plans.npz"
    plans.write_bytes(b"a" * 1000)
    settled = 1_700_000_000  # written long ago
    os.utime(plans, ns=(settled * 10**9, settled * 10**9))
    monkeypatch.setattr(files, "time", SimpleNamespace(time=lambda: 1e10))  # its change time, too, long ago
    first = files.file_sha256(plans)
    assert files.file_sha256(plans) == first == hashlib.sha256(b"a" * 1000).hexdigest()
    assert len(reads) == 1
    # in place, the same size, with the old modification time: its change time tells. Written 20 ms
    # on, as a real change comes at least 2 s after the write it was hashed at (the guard, turned off
    # here): a kernel's coarse clock may stamp two writes a millisecond apart alike
    time.sleep(0.02)
    plans.write_bytes(b"b" * 1000)
    os.utime(plans, ns=(settled * 10**9, settled * 10**9))
    assert files.file_sha256(plans) == hashlib.sha256(b"b" * 1000).hexdigest() and len(reads) == 2
    monkeypatch.setattr(files, "time", SimpleNamespace(time=time.time))  # now: just written
    fresh = tmp_path / "fresh.npz"
    fresh.write_bytes(b"c")
    files.file_sha256(fresh)
    files.file_sha256(fresh)
    assert len(reads) == 4


@pytest.mark.parametrize("title", ["plans on 5 common scenarios", "  2 plans on 1,000 common scenarios",
                                   "one plan under two models on 2,000 common scenarios",
                                   "2 plans on 1 common scenario (seed 0)"])
def test_compare_may_replace_its_own_terminal_output_of_any_version(title):
    """`compare --out x` (no extension: the terminal's text) may replace what compare wrote there
    before: its table title read 'plans on N ...' before 0.4.21, '2 plans on N ...' and a what-if's
    'one plan under two models on N ...' since; another text is not compare's. Of --scenarios 1
    ('on 1 common scenario') it was refused as 'not a comparison fleetopt wrote'."""
    from fleetopt.runs.output_files import OWN_OUTPUT

    assert OWN_OUTPUT["comparison"](title + "\n┏━━━")
    assert not OWN_OUTPUT["comparison"]("some plans on 5 common scenarios\n")
    assert not OWN_OUTPUT["comparison"]("2 plans on 5 common scenarioss\n")
