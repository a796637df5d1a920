"""The runs in the runs folder: the jobs not finished, the runs finished, and the temporary folders a
run killed while its folder was written left behind."""

from __future__ import annotations

import time
from pathlib import Path

from fleetopt.runs.folder import RunFolder
from fleetopt.runs.location import runs_dir


def unfinished_jobs(root: Path | None = None) -> list[RunFolder]:
    """The evaluations and sweeps in the runs folder (``root``, default :func:`runs_dir`; its
    direct subfolders) that have not finished: interrupted, or still running in another process
    (:meth:`RunFolder.running_pid`), or whose job.json is damaged (:meth:`RunFolder.job_damage`).
    The registry records a run once it finishes, so these are the jobs `--resume` finishes. Oldest
    first (folder names start with their time)."""
    return [run for run in _run_folders(root) if run.interrupted_kind() or run.job_damage()]


def finished_folders(root: Path | None = None) -> list[RunFolder]:
    """The finished runs in the runs folder (``root``, default :func:`runs_dir`; its direct
    subfolders with a summary.json), oldest first: with the registry's records, those a run killed
    between writing its results and recording them left unrecorded."""
    return [run for run in _run_folders(root) if run.is_finished]


# a run folder being written whole (write, start_job) takes seconds; one this old was abandoned
PARTIAL_ABANDONED_SECONDS = 3600.0


def abandoned_partials(root: Path | None = None, now: float | None = None) -> list[Path]:
    """The temporary folders (.NAME.partial-...) in the runs folder (``root``, default
    :func:`runs_dir`) that a run killed while its folder was being written left behind: no process
    holds their lock, and nothing in them changed for :data:`PARTIAL_ABANDONED_SECONDS`. Nothing
    in them was finished (the run had not started, or its results were not yet in place), so they
    can be deleted. Oldest first."""
    root = runs_dir() if root is None else Path(root)
    now = time.time() if now is None else now
    try:
        found = sorted(p for p in root.iterdir() if p.is_dir() and p.name.startswith(".")
                       and ".partial-" in p.name)  # fmt: skip
    except OSError:
        return []
    return [p for p in found if RunFolder(p).running_pid() is None and _unchanged_for(p, now)]


def _unchanged_for(folder: Path, now: float) -> bool:
    """Whether nothing in ``folder`` (nor the folder) changed for :data:`PARTIAL_ABANDONED_SECONDS`."""
    try:
        times = [folder.stat().st_mtime, *(p.stat().st_mtime for p in folder.iterdir())]
    except OSError:
        return False
    return now - max(times) > PARTIAL_ABANDONED_SECONDS


def _run_folders(root: Path | None) -> list[RunFolder]:
    """The direct subfolders of the runs folder (``root``, default :func:`runs_dir`), oldest first
    (folder names start with their time); none where it cannot be read."""
    root = runs_dir() if root is None else Path(root)
    try:  # a folder being written whole (.NAME.partial-...) is not a run yet
        folders = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    except OSError:
        return []
    return [RunFolder(folder) for folder in folders]
