"""Where runs live: the runs folder ($FLEETOPT_RUNS_DIR, else ./runs), which holds the run folders
and the registry."""

from __future__ import annotations

import os
from pathlib import Path

from fleetopt.errors import user_path

RUNS_DIR_VARIABLE = "FLEETOPT_RUNS_DIR"


def runs_dir() -> Path:
    """The runs folder: $FLEETOPT_RUNS_DIR, else ./runs (run folders and the registry live there).
    Set but empty (a careless ``export FLEETOPT_RUNS_DIR=``) counts as unset: the current folder
    itself would fill with run folders and the registry. A leading ``~`` is the home folder, as the
    shell would give it (set from Python, or quoted, it reached the registry as a folder named "~"
    while the runs were written under the home folder)."""
    return user_path(os.environ.get(RUNS_DIR_VARIABLE, "").strip() or "runs", f"${RUNS_DIR_VARIABLE}")
