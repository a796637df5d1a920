"""benchmarks/gpu_check.sh, run on a lent GPU machine with no package registry, stops at once where
it cannot stage fleetopt's packages (wheels not carried), naming what is missing, rather than going
on to report that CuPy cannot use the device."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_gpu_check_stops_naming_the_packages_it_lacks(tmp_path):
    python = tmp_path / "python3"  # this Python with its site-packages off: it lacks every package
    python.write_text(f'#!/bin/sh\nexec "{sys.executable}" -S "$@"\n')
    python.chmod(0o755)
    env = {
        **os.environ,
        "PYTHON": str(python),
        "OUT": str(tmp_path / "out"),
        "FLEETOPT_WHEELS": str(tmp_path / "not-carried"),
        "PIP_NO_INDEX": "1",
    }
    result = subprocess.run(
        ["bash", str(REPO / "benchmarks" / "gpu_check.sh")],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert "FATAL: the environment could not be staged (missing: pyomo highspy pydantic" in result.stdout
    assert "(a device call's carry names .wheels)" in result.stdout
    assert "== cupy" not in result.stdout, result.stdout  # no step ran after it
