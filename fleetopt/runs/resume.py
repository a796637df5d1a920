"""How an interrupted run is resumed: the command that finishes it, with the options its job.json
keeps for a resume."""

from __future__ import annotations

import shlex
from pathlib import Path

from fleetopt.runs.files import read_json
from fleetopt.runs.run_files import RunFiles

# job.json: the options a resume is to be given again, as typed (--report, a ranking): what the
# command printed and reported, which the job's own settings do not hold
RESUME_OPTIONS = "resume_options"


def resume_command(kind: str, folder: str | Path, *options: str, kept: bool = True) -> str:
    """The command that finishes an interrupted run of `fleetopt {kind}` in ``folder``, ready to
    paste into a shell (a path with spaces quoted), with the options its job.json keeps for a
    resume (:data:`RESUME_OPTIONS`; not with ``kept`` False) and any further ``options``."""
    stored = kept_options(Path(folder)) if kept else []
    return shlex.join(["fleetopt", kind, "--resume", str(folder), *stored, *options])


def kept_options(folder: Path) -> list[str]:
    """job.json's :data:`RESUME_OPTIONS` (none where it has none, or cannot be read)."""
    try:
        job = read_json((folder / RunFiles.JOB).read_text(encoding="utf-8"))
    except (OSError, ValueError):  # UnicodeDecodeError is a ValueError
        return []
    kept = job.get(RESUME_OPTIONS) if isinstance(job, dict) else None
    if not isinstance(kept, list) or not all(isinstance(token, str) for token in kept):
        return []
    return kept
