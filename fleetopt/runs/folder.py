"""Run folders: everything a run writes, written atomically (a temporary folder renamed into place)."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import numpy as np


class RunDirError(Exception):
    """A run folder that cannot be written or read."""


def default_run_dir(model_name: str, runs_dir: Path | None = None) -> Path:
    """runs/<UTC timestamp>-<name>/ (the runs folder is $FLEETOPT_RUNS_DIR or ./runs)."""
    from fleetopt.runs.registry import runs_dir as default_runs

    runs_dir = default_runs() if runs_dir is None else runs_dir
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    path = runs_dir / f"{stamp}-{model_name}"
    n = 1
    while path.exists():
        n += 1
        path = runs_dir / f"{stamp}-{model_name}-{n}"
    return path


def write_run_dir(out: Path, files: dict[str, bytes | str]) -> Path:
    """Write ``files`` (name -> content) into a new folder ``out``, all or nothing."""
    out = Path(out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise RunDirError(f"{out} already exists and is not empty: choose another --out")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.partial-", dir=out.parent))
    try:
        for name, content in files.items():
            data = content.encode("utf-8") if isinstance(content, str) else content
            (tmp / name).write_bytes(data)
        if out.exists():
            out.rmdir()
        os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out


def json_text(obj) -> str:
    def default(o):
        if isinstance(o, (np.floating, np.integer)):
            return o.item()
        if isinstance(o, np.ndarray):
            return o.tolist()
        raise TypeError(f"not JSON serialisable: {type(o)}")

    return json.dumps(obj, indent=2, default=default, allow_nan=True) + "\n"
