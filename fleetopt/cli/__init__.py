"""The `fleetopt` command line: a thin layer over the Python API (fleetopt.api).

Exit codes: 0 success, 1 unexpected internal error, 2 bad input, 3 infeasible model,
4 no feasible plan found within the time limit, 130 interrupted, or a worker process killed
(resumable runs say how to resume).
"""

from __future__ import annotations

import os
import signal
import sys
import threading


def stopped(exc: BaseException) -> bool:
    """A Ctrl-C, or an error it caused: a compiled library (highspy) whose initialisation a Ctrl-C
    broke raises ImportError "initialization failed" from the KeyboardInterrupt."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        if isinstance(exc, KeyboardInterrupt):
            return True
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__
    return False


# what a Ctrl-C can come out as while modules load: itself; ImportError "initialization failed" (a
# compiled library's initialisation broken by it); RuntimeError "Error calling __set_name__" (Python
# 3.11 wraps what a class attribute's __set_name__ raises, a pydantic model's validators' when the
# stop lands there, exit 1 with a traceback); each caught only where ``stopped`` finds the stop
STOP_SHAPES = (KeyboardInterrupt, ImportError, RuntimeError)


def _stop(signum, frame) -> None:
    raise KeyboardInterrupt


def _stop_on_sigterm_while_loading() -> bool:
    """SIGTERM while the libraries load is a Ctrl-C too (it killed the process silently, exit 143):
    set where SIGTERM has its default action in the main thread (the `fleetopt` command), never in
    a program that handles it itself or imports the CLI from another thread (signals are the main
    thread's). Put back once they are loaded (main() sets its own)."""
    if threading.current_thread() is not threading.main_thread():
        return False
    if signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL:
        return False
    signal.signal(signal.SIGTERM, _stop)
    return True


_stop_set = _stop_on_sigterm_while_loading()
try:
    # the command modules register their commands on `app` when imported, and `fleetopt --help` lists
    # them in that order: as a plan is made (model, solve; evaluate, sweep; compare, report, runs)
    from fleetopt.cli import model_commands, risk_commands  # noqa: F401, I001
    from fleetopt.cli import review_commands  # noqa: F401
    from fleetopt.cli.common import app
    from fleetopt.cli.consoles import err_console
    from fleetopt.cli.stops import ignore_further_stops, stop_on_sigterm
except STOP_SHAPES as exc:  # Ctrl-C while the libraries load (about 2 s)
    if not stopped(exc):
        raise
    for _signum in (signal.SIGINT, signal.SIGTERM):  # a second stop would interrupt the exit itself
        signal.signal(_signum, signal.SIG_IGN)
    sys.stderr.write("interrupted\n")  # exit as main() does
    sys.stderr.flush()
    # at once: a stop that landed inside a compiled library's import made the interpreter's own
    # shutdown end the process by SIGINT (-2 to a parent's subprocess), though it was to exit 130;
    # nothing was done yet that an exit handler would finish
    os._exit(130)
finally:
    if _stop_set and signal.getsignal(signal.SIGTERM) is _stop:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)

__all__ = ["app", "main"]


def main() -> None:
    """Entry point of the `fleetopt` script."""
    stop_on_sigterm()
    try:
        app()
    except SystemExit:  # the command's outcome is decided: a stop while the process exits changes it not
        ignore_further_stops()  # (a SIGTERM in that last 0.3 s ended a recorded run with 143)
        raise
    except STOP_SHAPES as exc:  # a library loaded late, stopped
        if not stopped(exc):
            raise
        ignore_further_stops()
        err_console.print("interrupted")
        sys.exit(130)
