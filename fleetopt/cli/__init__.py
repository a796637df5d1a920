"""The `fleetopt` command line: a thin layer over the Python API (fleetopt.api).

Exit codes: 0 success, 1 unexpected internal error, 2 bad input, 3 infeasible model,
4 no feasible plan found within the time limit, 130 interrupted (resumable runs say how to resume).
"""

from __future__ import annotations

import signal
import sys


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


try:
    # the command modules register their commands on `app` when imported
    from fleetopt.cli import model_commands, review_commands, risk_commands  # noqa: F401
    from fleetopt.cli.common import app, err_console, stop_on_sigterm
except (KeyboardInterrupt, ImportError) as exc:  # Ctrl-C while the libraries load (about 2 s)
    if not stopped(exc):
        raise
    sys.stderr.write("interrupted\n")  # exit as main() does
    sys.exit(130)

__all__ = ["app", "main"]


def main() -> None:
    """Entry point of the `fleetopt` script."""
    stop_on_sigterm()
    try:
        app()
    except SystemExit as done:
        if done.code == 130:
            _ignore_second_stop()
        raise
    except (KeyboardInterrupt, ImportError) as exc:  # ImportError: a library loaded late, stopped
        if not stopped(exc):
            raise
        err_console.print("interrupted")
        _ignore_second_stop()
        sys.exit(130)


def _ignore_second_stop() -> None:
    """A second Ctrl-C (or a second SIGINT from `timeout`) while worker processes and threads shut
    down would interrupt the exit itself, with Python's "Exception ignored" traceback."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
