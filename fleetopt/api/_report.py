"""Writing a run's HTML report."""

from __future__ import annotations

from pathlib import Path

from fleetopt.api._runs import resolve_run
from fleetopt.report import write_report
from fleetopt.runs import limits
from fleetopt.runs.folder import OUT_OPTION, RunFolder


def report(run: str | Path | int, out: str | Path | None = None) -> Path:
    """Write the HTML report of a run folder or run id (default: report.html inside the folder).
    An ``out`` that is a file of a run folder (its summary.json, plans, another run's report ...) is
    refused, as is a run whose model.yaml is not the model its figures were made from
    (:class:`~fleetopt.errors.InputError`), and so is an existing file that is not a report
    fleetopt wrote (a model, notes). A file of a finished run folder (its plan.npz, summary.json)
    names that run, as it does for the other commands. Returns the report's path."""
    limits.out_path(OUT_OPTION, out)
    path = resolve_run(run, "run")
    owner = RunFolder.owning(path) if path.is_file() else None
    folder = owner.path if owner is not None and owner.is_finished else path
    return write_report(folder, out, OUT_OPTION).resolve()
