"""Ctrl-C and SIGTERM: a stop said as what it kept and how to finish the run, a second stop ignored."""

from __future__ import annotations

import signal
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path

import typer

from fleetopt import api
from fleetopt.cli.consoles import err_console
from fleetopt.cli.resume_options import kept_for_resume
from fleetopt.errors import EXIT_INTERRUPTED, InputError, StoppedAfterWriting
from fleetopt.evaluate.jobs import WorkerLost
from fleetopt.runs.folder import RunFolder
from fleetopt.runs.resume import resume_command


def _raise_interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


_THE_COMMAND: list[bool] = []  # set by stop_on_sigterm: this process is the `fleetopt` command (main())


def stop_on_sigterm() -> None:
    """SIGTERM (a batch system's or `docker stop`'s stop) is a Ctrl-C for every command: a folder a
    run has claimed but not written is released, and the exit code is 130, not 143."""
    signal.signal(signal.SIGTERM, _raise_interrupt)
    _THE_COMMAND.append(True)


def ignore_further_stops() -> None:
    """Once a stop is being reported, the `fleetopt` command only exits: a second Ctrl-C or SIGTERM
    (a batch system's or `timeout`'s second signal) would print a second line, or a traceback from
    the exit itself (worker processes and threads shutting down). Ignored from then on; not in a
    program that runs the CLI in its own process (the tests), whose signals stay its own."""
    if _THE_COMMAND:
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, signal.SIG_IGN)


def stopped_after_writing(path: Path) -> str:
    """What a stop once the run is written and recorded says: the run is kept, and where."""
    return f"interrupted after the run was written to {path} and recorded (fleetopt runs)"


def _finish_command(run: RunFolder, command: str, again: tuple[str, ...]) -> str:
    """The resume command of a stopped job, with ``again`` kept in its job.json or, where they
    cannot be kept there, given in place of its own (never both: an option twice is refused)."""
    instead = kept_for_resume(run, again)
    return resume_command(command, run.path, *(instead or ()), kept=instead is None)


def stopped_message(run: RunFolder, command: str, again: tuple[str, ...] = ()) -> str:
    """What a stop of a run in ``run`` says: where its results are, or what it saved and how to
    finish it (:func:`_finish_command`, with ``again``), or that it saved nothing."""
    if run.is_finished:
        return stopped_after_writing(run.path)
    if run.is_job:
        finish = _finish_command(run, command, again)
        return f"interrupted: {api.saved_work(run.path)} saved in {run.path}; finish with: {finish}"
    return "interrupted before anything was saved: run it again"


@contextmanager
def interruptible(folder: Path | Callable[[], Path | None], command: str, again: tuple[str, ...] = ()):
    """SIGTERM behaves like Ctrl-C; either stops the run with a message saying what is saved and
    how to finish it (:func:`stopped_message`). ``folder``: the run's folder, or a function giving
    it once the API has claimed it (None until then: a stop before is reported as any other)."""
    previous = signal.signal(signal.SIGTERM, _raise_interrupt)
    try:
        yield
    except StoppedAfterWriting:  # the run is kept: errors_reported says so
        raise
    except KeyboardInterrupt:
        if (run := _run_in(folder)) is None:
            raise
        ignore_further_stops()
        err_console.print(stopped_message(run, command, again), soft_wrap=True)
        raise typer.Exit(EXIT_INTERRUPTED) from None
    except WorkerLost as exc:  # a worker killed (out of memory): what was saved can still be finished
        if (run := _run_in(folder)) is None or not run.is_job or run.is_finished:
            raise
        finish, saved = _finish_command(run, command, again), api.saved_work(run.path)
        err_console.print(
            f"error: {exc}: {saved} saved in {run.path}; finish with: {finish} ({exc.remedy})",
            soft_wrap=True,
        )
        raise typer.Exit(exc.exit_code) from None
    except OSError as exc:  # a disk full, a folder gone: what was saved can still be finished
        run = _run_in(folder)
        if run is None or not run.is_job or run.is_finished:  # a finished run's report: errors_reported
            raise  # names the file
        where = f" ({exc.filename})" if exc.filename else ""
        finish, saved = _finish_command(run, command, again), api.saved_work(run.path)
        err_console.print(
            f"error: {exc.strerror or exc}{where} while the run wrote to {run.path}: {saved} saved "
            f"there; once that is fixed, finish with: {finish}",
            soft_wrap=True,
        )
        raise typer.Exit(InputError.exit_code) from None
    finally:
        if signal.getsignal(signal.SIGTERM) is _raise_interrupt:  # not once further stops are ignored
            signal.signal(signal.SIGTERM, previous)


def _run_in(folder: Path | Callable[[], Path | None]) -> RunFolder | None:
    """:func:`interruptible`'s run folder, if there is one yet."""
    path = folder() if callable(folder) else folder
    return None if path is None else RunFolder(path)
