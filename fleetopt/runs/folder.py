"""Run folders (:class:`RunFolder`): claiming a new folder, its job's lock, writing it whole or file by
file, and reading it back.

A run writes into a folder of its own: claimed before the run starts (``mkdir`` of a unique
name, so runs started at the same moment never share or overwrite one), filled atomically (a
temporary folder renamed onto it) or, for resumable jobs, file by file with ``summary.json``
last: its presence marks a finished run. Its files' names are :class:`~fleetopt.runs.run_files.RunFiles`'.
"""

from __future__ import annotations

import errno
import fcntl
import os
import shutil
import socket
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from fleetopt import __version__
from fleetopt.errors import InputError, user_path, warn
from fleetopt.runs import limits
from fleetopt.runs.code_stamp import FIGURES_CODE, JOB_STAMPS, figures_code
from fleetopt.runs.file_text import as_bytes, json_text
from fleetopt.runs.files import (
    current_umask,
    file_sha256,
    json_kind,
    read_json,
    sync_folder,
    unwritable_ancestor,
    write_bytes_atomic,
)
from fleetopt.runs.kinds import JOB_KINDS, run_name
from fleetopt.runs.location import RUNS_DIR_VARIABLE, runs_dir
from fleetopt.runs.resume import resume_command
from fleetopt.runs.run_files import RunDirError, RunFiles
from fleetopt.runs.summary_schema import BEST_MEAN_KEY, WRITTEN_KEY, check_summary, stamped
from fleetopt.runs.tables import TEXT_COLUMNS, RunData, read_npv_matrix, read_table
from fleetopt.schema.shown_values import shown_json_value

if TYPE_CHECKING:
    from fleetopt.schema.loaded_model import LoadedModel

# the job folders whose lock this process holds: folder (resolved) -> the lock file's descriptor
_HELD_LOCKS: dict[Path, int] = {}


def _lock_holder(fd: int) -> tuple[str, str]:
    """The process in a job folder's lock file: its pid, and the host it runs on where that is not
    this one's ('' where it is). A container has a pid space and a host name (its id, as `docker ps`
    shows it) of its own, so that a pid alone, 1 for a container's fleetopt, named another process
    here or none."""
    pid, host, *_ = [*(os.pread(fd, 300, 0).decode("ascii", "replace").split() or ["unknown"]), ""]
    return pid, "" if host == _this_host() else host


def _holder_words(pid: str, host: str) -> str:
    """The holder as :meth:`RunFolder.running_pid` and the refusals name it: '4242', '1 on host H'."""
    return f"{pid} on host {host}" if host else pid


# a job folder that cannot be written (a read-only mount, another user's runs): why it must be, and what to do
_UNWRITABLE_ERRORS = (errno.EROFS, errno.EACCES, errno.EPERM)
_UNWRITABLE_JOB_FOLDER = (": a job is run and resumed in its folder, which must be writable (its lock file, "
                          "its chunks): make it writable, or resume a copy of it on a writable disk")


def _stop_words(host: str) -> str:
    """What to do about the process holding a job folder on ``host`` (:func:`_lock_holder`): on
    another host (a container), stopping it by its pid here would stop another process, so the host
    is named where it is stopped."""
    return f"wait for it, or stop it on host {host} (a container: docker stop {host})" if host else (
        "wait for it or stop it")


def _lock_stamp() -> bytes:
    """What a job folder's lock file holds while this process runs the job: its pid and host name."""
    return f"{os.getpid()} {_this_host()}\n".encode()


def _this_host() -> str:
    """This machine's (or container's) host name, without spaces (the lock file's separator)."""
    return "".join(socket.gethostname().split())


class RunFolder(RunFiles):
    """A run folder: its path, the names of its files (:class:`RunFiles`), claiming it, writing it and
    reading it back."""

    def __init__(self, path: str | Path, claimed: bool = False):
        self.path = user_path(path)  # "~/runs/x" from Python, as a shell gives it
        self.claimed = claimed  # created by this process: released again if the run leaves it empty

    def __repr__(self) -> str:
        return f"RunFolder({str(self.path)!r})"

    def __truediv__(self, name: str) -> Path:
        return self.path / name

    # ------------------------------------------------------------ claiming

    @staticmethod
    def check_new(path: str | Path | None) -> None:
        """Refuse a folder that exists and is not empty (or is not a folder): a run never mixes
        its files with another's. None (a default folder, claimed later) passes."""
        if path is None:
            return
        limits.out_path("out", path)  # a name the registry could not record is refused before the run
        path = user_path(path)
        if path.exists() and not path.is_dir():
            raise RunDirError(f"{path} is a file, not a folder: choose a new or empty folder")
        if path.exists() and any(path.iterdir()):
            interrupted = RunFolder(path).interrupted_kind()
            running = RunFolder(path).running_pid() if interrupted else None
            if running:  # not interrupted: its run goes on (--resume would be refused as held)
                raise RunDirError(
                    f"{path} holds a run of fleetopt {interrupted} still running in another process "
                    f"(pid {running}): choose another folder"
                )
            cannot = RunFolder(path).job_version_problem() if interrupted else None
            if cannot is not None:  # its resume would be refused: not offered
                raise RunDirError(f"{path} holds an interrupted run of fleetopt {interrupted} that cannot be "
                                  f"resumed: {cannot}; choose another folder")  # fmt: skip
            if interrupted:
                python = "resume_sweep" if interrupted == "sweep" else "resume_evaluation"
                raise RunDirError(
                    f"{path} holds an interrupted run of fleetopt {interrupted}: finish it with "
                    f"{resume_command(interrupted, path)} (in Python, from fleetopt.api.{python}), or "
                    "choose another folder"
                )
            raise RunDirError(f"{path} already exists and is not empty: choose another folder")
        if path.resolve() in (Path.cwd(), *Path.cwd().parents):  # renamed onto, it would fail after the work
            raise RunDirError(f"{path} is the current folder (or holds it): choose a new folder")
        # the nearest folder that exists must take new files: refused now, not after the work
        blocked = unwritable_ancestor(path)
        if blocked is not None:
            raise RunDirError(f"cannot write {path}: {blocked} is not a folder this user can write to")

    @classmethod
    def to_write(cls, out: str | Path | None, kind: str, model_name: str) -> RunFolder:
        """Where a finished run of ``kind`` is written: ``out`` as given (a started job's folder, or
        a new or empty one, checked when written), else a new folder claimed with its default name."""
        return cls(out) if out is not None else cls.claim(None, run_name(kind, model_name))

    @classmethod
    def claim(cls, out: str | Path | None, default_name: str, runs: Path | None = None) -> RunFolder:
        """The folder a new run writes: ``out`` (new or empty), else a new unique
        ``<runs>/<UTC timestamp>-<default_name>[-<n>]`` created at once with ``mkdir``."""
        if out is not None:
            cls.check_new(out)
            out = user_path(out)
            try:
                out.mkdir(parents=True)
                return cls(out, claimed=True)
            except FileExistsError:
                return cls(out)  # an empty folder the user made: theirs, never removed
            except OSError as exc:
                raise RunDirError(f"cannot create {out}: {exc.strerror or exc}") from None
        runs = runs_dir() if runs is None else Path(runs)
        try:
            runs.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise RunDirError(
                f"the runs folder {runs} (${RUNS_DIR_VARIABLE} or ./runs) cannot be used: "
                f"{exc.strerror or exc}"
            ) from None
        stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
        n = 1
        while True:
            path = runs / (f"{stamp}-{default_name}" if n == 1 else f"{stamp}-{default_name}-{n}")
            try:
                path.mkdir()  # atomic: of two runs asking for one name, exactly one gets it
                return cls(path, claimed=True)
            except FileExistsError:
                n += 1

    def release(self) -> None:
        """Remove the folder if this process claimed it and nothing was written into it."""
        if self.claimed and self.path.is_dir() and not any(self.path.iterdir()):
            self.path.rmdir()

    def discard(self) -> None:
        """Remove what an unfinished run wrote (its files of :attr:`FILES`, its chunks), then the
        folder itself where this process claimed it: an empty folder the user made stays theirs."""
        for name in self.FILES:
            (self.path / name).unlink(missing_ok=True)
        shutil.rmtree(self.chunk_folder, ignore_errors=True)
        self.release_lock(remove=True)
        self.release()

    @contextmanager
    def released_on_failure(self) -> Iterator[RunFolder]:
        """A run that fails (or is stopped) lets go of its folder: the lock of a job it started there
        (another process may resume it: a notebook, which lives on, held it until it ended), and the
        folder itself where this process claimed it and left it empty."""
        try:
            yield self
        except BaseException:
            self.release_lock()
            self.release()
            raise

    # ------------------------------------------------------------ locking

    def hold_lock(self, keep: bool = False) -> None:
        """Hold the job folder's lock until the run finishes (:meth:`finish`) or this process ends,
        so that no two processes run or resume one job at once; refuse if another process holds it.
        Held already by this process: nothing to do. Unless ``keep`` (a job being started, a
        finished one being tidied), a folder that is not an unfinished job keeps no lock file (its
        command refuses it after this). Once held, the temporary files a process killed while it
        wrote there left behind are removed (:meth:`_remove_stale_temporary_files`)."""
        key = self.path.resolve()
        if key in _HELD_LOCKS or not self.path.is_dir():
            return
        lock = self.path / self.LOCK
        try:
            fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o666)
        except OSError as exc:
            why = _UNWRITABLE_JOB_FOLDER if exc.errno in _UNWRITABLE_ERRORS else ""
            raise RunDirError(f"cannot lock {self.path}: {exc.strerror or exc}{why}") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            pid, host = _lock_holder(fd)
            os.close(fd)
            raise RunDirError(
                f"{self.path} is being run by another fleetopt process (pid {_holder_words(pid, host)}): "
                f"{_stop_words(host)}"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, _lock_stamp(), 0)
        _HELD_LOCKS[key] = fd
        self._remove_stale_temporary_files()
        if not keep and (self.is_finished or not self.is_job):  # checked under the lock: its run ended
            self.release_lock(remove=True)

    def _stale_temporary_files(self) -> list[Path]:
        """The temporary files of atomic writes (``.NAME.XXXXXXXX.tmp``, runs.files.write_bytes_atomic)
        of the files a job writes while it holds the lock, and of its chunks: left by a process killed
        while it wrote them where no process holds the lock (a report is written without the lock:
        its file is left alone)."""
        names = [name for name in self.FILES if name != self.REPORT]
        stale = [p for name in names for p in self.path.glob(f".{name}.*.tmp")]
        kept = [*self.chunk_folder.glob(".chunk-*.npz.*.tmp"), *self.chunk_folder.glob(".rows-*.json.*.tmp")]
        return [*stale, *kept]

    def _remove_stale_temporary_files(self) -> None:
        """:meth:`_stale_temporary_files` removed; called with the lock held (no other process writes
        them)."""
        for path in self._stale_temporary_files():
            path.unlink(missing_ok=True)

    @property
    def left_untidy(self) -> bool:
        """Whether a finished job folder keeps what its finish removes (chunks, its lock file, the
        temporary files of a process killed while it wrote): it was killed before it was tidied."""
        return (self.chunk_folder.exists() or (self.path / self.LOCK).exists()
                or bool(self._stale_temporary_files()))  # fmt: skip

    @contextmanager
    def held_while_tidied(self) -> Iterator[RunFolder]:
        """A finished job folder whose clean-up was cut short (a process killed after its summary.json,
        before its record): its lock held for the block (refused while another process holds it: its
        run is still being finished), then the folder tidied as a finish does (:meth:`tidy_finished_job`)
        when the block ends well, or the lock let go when it fails."""
        self.hold_lock(keep=True)
        try:
            yield self
        except BaseException:
            self.release_lock()
            raise
        self.tidy_finished_job()

    def running_pid(self) -> str | None:
        """The pid of another process that holds this job folder's lock (its run goes on), with its host
        where that is not this one ("1 on host 0d226e7b8ea5": :func:`_lock_holder`), else None."""
        lock = self.path / self.LOCK
        if self.path.resolve() in _HELD_LOCKS or not lock.is_file():
            return None
        try:
            fd = os.open(lock, os.O_RDONLY)
        except OSError:
            return None
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except OSError:
            return _holder_words(*_lock_holder(fd))
        finally:
            os.close(fd)  # closing lets go of a lock taken here
        return None

    @contextmanager
    def locked_for_run(self) -> Iterator[RunFolder]:
        """The folder's lock (:meth:`hold_lock`) for a run or resume in the block: kept when the block
        ends well (the run's :meth:`finish` lets it go), let go when it fails, so that another
        process may resume the folder then."""
        self.hold_lock()
        try:
            yield self
        except BaseException:
            self.release_lock()
            raise

    def release_lock(self, remove: bool = False) -> None:
        """Let go of the lock this process holds on the folder (if any), removing its file when the
        folder needs no lock any more (finished or discarded: a later command refuses it anyway)."""
        fd = _HELD_LOCKS.pop(self.path.resolve(), None)
        if fd is None:
            return
        if remove:  # while still held: a process that opened the file before sees the run ended
            (self.path / self.LOCK).unlink(missing_ok=True)
        os.close(fd)

    # ------------------------------------------------------------ reading

    @property
    def is_finished(self) -> bool:
        """Whether the run wrote its summary.json (a job's folder has none until it finishes)."""
        return (self.path / self.SUMMARY).exists()

    def results_missing(self, kind: str) -> list[str]:
        """The files of :attr:`RESULTS_OF_KIND` a finished run of ``kind`` writes that the folder lacks."""
        return [name for name in self.RESULTS_OF_KIND[kind] if not (self.path / name).is_file()]

    @property
    def is_job(self) -> bool:
        """A resumable job's folder (evaluate, sweep), finished or not."""
        return (self.path / self.JOB).exists()

    def interrupted_kind(self) -> str | None:
        """evaluate or sweep for an unfinished job folder; None for any other folder."""
        if not self.is_job or self.is_finished:
            return None
        try:
            kind = self.job().get("kind")
        except RunDirError:
            return None
        return kind if kind in JOB_KINDS else None

    def job_damage(self) -> str | None:
        """Why an unfinished job folder's job.json does not say what the job is (it cannot be read,
        or names no kind of job), so that it cannot be resumed; None for any other folder."""
        if not self.is_job or self.is_finished:
            return None
        try:
            job = self.job()
        except RunDirError:
            return f"{self.path / self.JOB} cannot be read as a job's settings (cut short, edited or damaged)"
        kinds = ", ".join(JOB_KINDS)
        if "kind" not in job:  # not "'kind' is null": a value the file does not hold
            return f"{self.path / self.JOB}: 'kind' is missing (one of {kinds})"
        if job["kind"] not in JOB_KINDS:
            return f"{self.path / self.JOB}: 'kind' is {shown_json_value(job['kind'])}, not one of {kinds}"
        return None

    @property
    def making_candidates(self) -> bool:
        """An unfinished sweep that has not made all its candidates yet (job.json's
        ``candidates_complete`` is false): its plans file holds only those made so far."""
        return self.is_job and not self.is_finished and self.job().get(self.CANDIDATES_COMPLETE) is False

    @property
    def chunk_folder(self) -> Path:
        """Where a job keeps its finished chunks until it is recorded (``chunks/``)."""
        return self.path / self.CHUNKS

    @property
    def model_file(self) -> Path | None:
        """The copy of the model the run was made from, if there is one."""
        path = self.path / self.MODEL
        return path if path.exists() else None

    @property
    def plan_file(self) -> Path | None:
        """The plans of the run: plans.npz (a sweep) or plan.npz (a solve), if there is one."""
        return next((self.path / n for n in self.PLAN_FILES if (self.path / n).exists()), None)

    def plan_changed(self) -> bool:
        """Whether a solve's or stochastic solve's plan.npz is not the file the run wrote: its SHA-256
        differs from summary.json's ``plan_sha256`` (a run written before it was kept: False)."""
        stored, file = self.summary().get("plan_sha256"), self.path / self.PLAN
        return bool(stored) and file.is_file() and file_sha256(file) != stored

    def plan_changed_words(self) -> str:
        """What :meth:`plan_changed` found, in words: each reader adds what it would get wrong."""
        return (f"{self.path / self.PLAN} changed since the run wrote it (its SHA-256 is not the one "
                f"{self.SUMMARY} stored)")  # fmt: skip

    def summary(self, complete: bool = True) -> dict:
        """The run's summary.json; one that is not a JSON object, or whose field of its schema is not of
        its type, or a figure named as a number that is not one, is refused by name, and so is one
        that lacks a field its kind needs, unless not ``complete`` (the kind is read first: a folder
        with another kind's files is refused as such, not for that kind's fields): runs/summary_schema.py
        :func:`~fleetopt.runs.summary_schema.check_summary`."""
        summary = self._json_object(self.SUMMARY)
        check_summary(summary, self.path / self.SUMMARY, complete)
        return summary

    def _json_object(self, name: str) -> dict:
        path = self.path / name
        try:
            value = read_json(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise RunDirError(f"{path} cannot be read as JSON ({exc}): damaged (a write cut short), edited, "
                              "or not a fleetopt run's") from None
        if not isinstance(value, dict):
            raise RunDirError(f"{path} holds a JSON {json_kind(value)}, not a run's {name}")
        return value

    @property
    def kind(self) -> str | None:
        """solve, evaluate or sweep for a finished run; None before it finishes."""
        return self.summary(complete=False).get("kind") if self.is_finished else None

    def job(self) -> dict:
        """A job's job.json (its settings); one that cannot be read, or is not a JSON object, is refused
        naming the file (:class:`RunDirError`)."""
        return self._json_object(self.JOB)

    def read_text(self, name: str) -> str:
        """The text of the run's file ``name``."""
        return (self.path / name).read_text(encoding="utf-8")  # as fleetopt writes every run file

    def table(
        self,
        name: str,
        columns: tuple[str, ...] = (),
        numeric: tuple[str, ...] = (),
        text: tuple[str, ...] = (),
    ) -> pd.DataFrame:
        """The run's CSV file ``name``, with at least one row and each of ``columns``, those of
        ``numeric`` present all numbers (NaN allowed), those of ``text`` as written (a plan labelled 2025
        or NA stays that string): a file that is missing, empty or unreadable, or lacks a column,
        is refused naming the file and the column."""
        return read_table(self.path, name, columns, numeric, text)

    def data(self) -> RunData:
        """The finished run's summary, CSV tables and NPV matrix (:class:`RunData`); a folder whose
        run has not finished is refused, naming what it is."""
        if not self.is_finished:
            raise RunDirError(f"{self.path} holds no finished run (no {self.SUMMARY}): `fleetopt runs` lists "
                              "the unfinished ones and how to finish each")  # fmt: skip
        tables = {Path(name).stem: self.table(name, text=TEXT_COLUMNS)
                  for name in self.TABLES if (self.path / name).is_file()}  # fmt: skip
        summary = self.summary()
        matrix = self.path / self.NPV_MATRIX
        npv = read_npv_matrix(matrix, summary) if matrix.is_file() else None
        return RunData(self.path, self.kind, summary, tables, npv)

    def sweep_picks(self, labels: list[str], listed_in: str) -> list[str]:
        """A finished sweep's recommended candidate and its forecast optimum (once when they are the
        same), as its summary.json names them; each must be one of ``labels``, the candidates of the
        run's file ``listed_in``."""
        summary, path = self.summary(), self.path / self.SUMMARY
        for key in self.SWEEP_PICKS:
            if key not in summary:
                raise RunDirError(f"{path}: {key!r} is missing ({self.SWEEP_PICKS[key]})")
            if not isinstance(summary[key], str) or summary[key] not in labels:
                raise RunDirError(f"{path}: {key!r} names no candidate of {listed_in} "
                                  f"({shown_json_value(summary[key])})")
        return list(dict.fromkeys(summary[key] for key in self.SWEEP_PICKS))

    def sweep_best_mean(self, labels: list[str], listed_in: str) -> str | None:
        """A finished sweep's plan of highest mean NPV within its rule, as its summary.json's
        ``best_mean_within_rule`` names it (None: none, or a sweep made before fleetopt named one); it
        must be one of ``labels``, the candidates of the run's file ``listed_in``."""
        best = self.summary().get(BEST_MEAN_KEY)
        plan = None if best is None else best.get("plan")
        if best is not None and (not isinstance(plan, str) or plan not in labels):
            raise RunDirError(f"{self.path / self.SUMMARY}: {BEST_MEAN_KEY!r}'s 'plan' names no candidate of "
                              f"{listed_in} ({shown_json_value(plan)})")  # fmt: skip
        return plan

    def check_model_copy(self, loaded: LoadedModel) -> None:
        """Refuse a finished run whose model.yaml (``loaded``) is not the model its figures were made
        from: summary.json's ``model_hash`` is :attr:`LoadedModel.content_hash` of that model, the
        hash by which an evaluation tells plans made from another version of its model (every run
        fleetopt writes records it)."""
        summary, path = self.summary(), self.path / self.SUMMARY
        if "model_hash" not in summary:
            raise RunDirError(
                f"{path}: 'model_hash' is missing, so {self.MODEL} cannot be checked against the model "
                "the run's figures were made from"
            )
        made_from = summary["model_hash"]
        if made_from != loaded.content_hash:
            raise RunDirError(
                f"{self.path / self.MODEL} was changed after the run: the run's figures were made from "
                f"another version of it (hash {made_from} in {self.SUMMARY}, now {loaded.content_hash}); "
                "restore it, or run the edited model anew"
            )

    @classmethod
    def owning(cls, path: str | Path) -> RunFolder | None:
        """The run folder (finished or a job) that ``path`` is one of the files of: a file named in
        :attr:`FILES`, or one in its chunks folder; None for any other path."""
        path = Path(path).resolve()
        run = cls(path.parent)
        if path.name in cls.FILES and (run.is_finished or run.is_job):
            return run
        job = cls(path.parent.parent)
        if path.parent.name == cls.CHUNKS and job.is_job:
            return job
        return None

    # ------------------------------------------------------------ writing

    def write(self, files: dict[str, bytes | str]) -> Path:
        """Write ``files`` (name -> content) into the folder, all or nothing: they are written into
        a temporary folder beside it, which is then renamed onto the (new or empty) folder."""
        out = self.path
        self.check_new(out)
        files = stamped(files)
        tmp = _partial_folder(out)
        try:
            for name, content in files.items():  # synced: the folder renamed below never holds a cut file
                write_bytes_atomic(tmp / name, as_bytes(content))
            _rename_onto(tmp, out)
        except OSError as exc:
            shutil.rmtree(tmp, ignore_errors=True)
            self.release()
            why = _unreplaceable(out, exc) or f"cannot write {out}: {exc.strerror or exc}"
            raise RunDirError(why) from None
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            self.release()
            raise
        return out

    def start_job(self, files: dict[str, bytes | str], settings: dict) -> None:
        """Start a resumable job: ``files`` (the model, the plans ...) and job.json, all or nothing
        (written into a temporary folder beside it, locked, then renamed onto the new or empty
        folder), holding the folder's lock (:meth:`hold_lock`) until the run finishes. A stop, or a
        kill, while the job starts leaves the folder as it was: never a job without its job.json,
        which could be neither resumed nor used for a new run. The folder must be new or empty
        (:meth:`check_new`): a job started in another run's folder would mix its files with that
        run's and, once finished, replace its summary."""
        self.check_new(self.path)
        partial = RunFolder(_partial_folder(self.path))
        writing = None  # the file being written, named where it fails
        try:
            partial.hold_lock(keep=True)
            for writing, content in files.items():
                partial.write_files({writing: content})
            writing = self.JOB
            partial.write_job(settings)
            writing = None
            try:
                _rename_onto(partial.path, self.path)
            except OSError as exc:  # another run took the folder after check_new: not this job's to resume
                taken = (f"{self.path} was taken by another run while this one started: choose a new or "
                         "empty folder")
                raise RunDirError(_unreplaceable(self.path, exc) or taken) from None
            # the lock moved with it
            _HELD_LOCKS[self.path.resolve()] = _HELD_LOCKS.pop(partial.path.resolve())
        except OSError as exc:  # a disk full, a file-size limit: the folder the job was to start in
            partial.release_lock()
            shutil.rmtree(partial.path, ignore_errors=True)
            # named by the folder the job was to start in, not a file of the temporary one removed
            what = f"{self.path / writing} could not be written" if writing else "it could not be made"
            raise RunDirError(f"cannot start the run in {self.path}: {what} ({exc.strerror or exc}); nothing "
                              "was written: free space on its disk (or raise the file-size limit, ulimit -f) "
                              "and run it again") from None  # fmt: skip
        except BaseException:
            partial.release_lock()
            shutil.rmtree(partial.path, ignore_errors=True)  # gone already where renamed
            raise

    def check_job_version(self) -> None:
        """Refuse to resume a job another version of fleetopt started, or the same version from other
        code (:meth:`job_version_problem`)."""
        problem = self.job_version_problem()
        if problem is not None:
            raise InputError(f"{self.path / self.JOB}: {problem}")

    def job_version_problem(self) -> str | None:
        """Why this code may not complete the job, and what to do; None where it may. Its finished
        chunks or candidates are the figures of the version that started it, which this one may
        compute otherwise (0.2.0 taxes the terminal value), so the finished run would mix two
        definitions; so are the same version's from other code (a checkout changed between the start
        and the resume). `fleetopt runs` says it in place of a resume command that would be refused."""
        job = self.job()
        started = job.get("fleetopt_version")
        if started != __version__:
            by = f"fleetopt {started}" if started else "a fleetopt before 0.2.0"
            return (f"the run was started by {by}, this is fleetopt {__version__}, whose figures may differ: "
                    "its finished work cannot be completed by this version; start the run anew (or finish "
                    "it with the version that started it)")  # fmt: skip
        code = job.get(FIGURES_CODE)
        if code != figures_code():
            return (f"the run was started by fleetopt {__version__} from other code than this installation's "
                    f"(the fingerprint of the code computing its figures: {code or 'none'}, now "
                    f"{figures_code()}; a checkout changed or edited since), whose figures may differ: its "
                    "finished work cannot be completed by this code; start the run anew (or finish it with "
                    "the code that started it)")  # fmt: skip
        return None

    def write_files(self, files: dict[str, bytes | str]) -> None:
        """Write (or replace) a job's ``files`` one by one, each atomically."""
        for name, content in files.items():
            write_bytes_atomic(self.path / name, as_bytes(content))

    def write_job(self, settings: dict) -> None:
        """Write (or replace) job.json, atomically. A new job is stamped with the version of fleetopt
        writing it and the fingerprint of its code (:meth:`check_job_version`); a job updated (its
        resume options kept, its plans found moved, a sweep's candidates complete) keeps the stamps of
        the code that started it: a resume stopped before its check, from other code, re-stamped the
        job as this code's, and the next resume mixed the two codes' figures."""
        stamps = {"fleetopt_version": __version__, FIGURES_CODE: figures_code()}
        if (self.path / self.JOB).exists():
            started = self.job()
            stamps = {name: started[name] for name in JOB_STAMPS if name in started}
        job = json_text({**{k: v for k, v in settings.items() if k not in JOB_STAMPS}, **stamps})
        write_bytes_atomic(self.path / self.JOB, as_bytes(job))

    def finish(
        self,
        files: dict[str, bytes | str],
        known_at_start: Callable[[], dict[str, bytes | str]] | None = None,
    ) -> Path:
        """Write a run's final files. A job folder (it has job.json) already holds what
        ``known_at_start()`` would give: it gets ``files`` one by one, summary.json last (it loses
        its chunks once recorded: :meth:`tidy_finished_job`). Any other folder gets everything at
        once (``known_at_start()`` as well); a finished run's folder is never written again."""
        if self.is_job and self.is_finished:
            raise RunDirError(f"{self.path} holds a finished run: choose a new or empty folder")
        if self.lost_while_running:
            self.discard()  # what the chunks saved since made there again: the run is complete in memory
            warn(f"{self.path} was deleted while its run went on (its {self.JOB} was gone at the end): "
                 "the run, complete, is written there again whole")  # fmt: skip
        if not self.is_job:
            return self.write({**(known_at_start() if known_at_start else {}), **files})
        files = stamped(files)
        for name in sorted(files, key=lambda n: n == self.SUMMARY):
            write_bytes_atomic(self.path / name, as_bytes(files[name]))
        # not tidied here: its chunks and lock go once the run is recorded (api/_runs.py _recorded), so one
        # killed in between is listed by `fleetopt runs` as finished but not recorded
        return self.path

    @property
    def lost_while_running(self) -> bool:
        """Whether this is a job folder this process runs (it holds its lock) whose job.json is gone:
        deleted while the run went on (a chunk saved since makes its chunks/ again)."""
        return self.path.resolve() in _HELD_LOCKS and not self.is_job

    def tidy_finished_job(self) -> None:
        """What a finished job folder no longer needs: its chunks (its results are written) and its lock."""
        shutil.rmtree(self.chunk_folder, ignore_errors=True)
        self.release_lock(remove=True)


def written_at(run: RunFolder) -> datetime:
    """When the finished ``run`` was written: its summary's ``written_utc``, or for a run an
    older version wrote (or a stamp that is not a time), its summary.json's modification time."""
    stamp = run.summary().get(WRITTEN_KEY)
    try:
        return datetime.fromisoformat(stamp).astimezone(UTC)
    except (TypeError, ValueError):
        return datetime.fromtimestamp((run.path / RunFolder.SUMMARY).stat().st_mtime, UTC)


def _partial_folder(out: Path) -> Path:
    """A new temporary folder beside ``out``, made as every run folder is, to be renamed onto it."""
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.partial-", dir=out.parent))
        os.chmod(tmp, 0o777 & ~current_umask())  # mkdtemp makes 0700: as every other run folder is made
    except OSError as exc:
        raise RunDirError(f"cannot write {out}: {exc.strerror or exc}") from None
    return tmp


def _unreplaceable(out: Path, exc: OSError) -> str | None:
    """Why ``out``, new or empty, cannot become the run's folder where that is no race and no full disk:
    a mount point (a Docker or Kubernetes volume given as the folder itself), or a folder on another file
    system than the run's folder written beside it, which no rename replaces; None otherwise."""
    if exc.errno not in (errno.EBUSY, errno.EXDEV):
        return None
    return (f"{out} cannot be replaced by the run's folder ({exc.strerror}): it is a mount point, or on "
            f"another file system than its parent; give a new folder inside it, such as {out / 'run'}")


def _rename_onto(tmp: Path, out: Path) -> None:
    """``tmp`` renamed to ``out``, onto an empty folder too (POSIX): a claimed name is never free.
    The parent synced after it, so the new name survives a power loss."""
    try:
        os.replace(tmp, out)
    except OSError:
        if not out.is_dir():
            raise
        out.rmdir()
        os.replace(tmp, out)
    sync_folder(out.parent)
