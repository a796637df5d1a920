"""The `fleetopt` command line: a thin layer over the Python API (fleetopt.api).

Exit codes: 0 success, 1 unexpected internal error, 2 bad input, 3 infeasible model,
4 no feasible plan found within the time limit, 130 interrupted (resumable runs say how to resume).
"""

from __future__ import annotations

import sys

try:
    # the command modules register their commands on `app` when imported
    from fleetopt.cli import model_commands, review_commands, risk_commands  # noqa: F401
    from fleetopt.cli.common import app, err_console, stop_on_sigterm
except KeyboardInterrupt:  # Ctrl-C while the libraries load (about 2 s): exit as main() does
    sys.stderr.write("interrupted\n")
    sys.exit(130)

__all__ = ["app", "main"]


def main() -> None:
    """Entry point of the `fleetopt` script."""
    stop_on_sigterm()
    try:
        app()
    except KeyboardInterrupt:
        err_console.print("interrupted")
        sys.exit(130)
