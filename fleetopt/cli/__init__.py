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


def _stop(signum, frame) -> None:
    raise KeyboardInterrupt


# SIGTERM while the libraries load is a Ctrl-C too (it killed the process silently, exit 143); the
# handler is put back afterwards, for a program that imports the CLI (main() sets its own)
_before_imports = signal.signal(signal.SIGTERM, _stop)
try:
    # the command modules register their commands on `app` when imported
    from fleetopt.cli import model_commands, review_commands, risk_commands  # noqa: F401
    from fleetopt.cli.common import app, err_console, ignore_further_stops, stop_on_sigterm
except (KeyboardInterrupt, ImportError) as exc:  # Ctrl-C while the libraries load (about 2 s)
    if not stopped(exc):
        raise
    for _signum in (signal.SIGINT, signal.SIGTERM):  # a second stop would interrupt the exit itself
        signal.signal(_signum, signal.SIG_IGN)
    sys.stderr.write("interrupted\n")  # exit as main() does
    sys.exit(130)
finally:
    if signal.getsignal(signal.SIGTERM) is _stop:
        signal.signal(signal.SIGTERM, _before_imports)

__all__ = ["app", "main"]


def main() -> None:
    """Entry point of the `fleetopt` script."""
    stop_on_sigterm()
    try:
        app()
    except SystemExit as done:
        if done.code == 130:
            ignore_further_stops()
        raise
    except (KeyboardInterrupt, ImportError) as exc:  # ImportError: a library loaded late, stopped
        if not stopped(exc):
            raise
        ignore_further_stops()
        err_console.print("interrupted")
        sys.exit(130)
