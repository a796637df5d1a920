"""benchmarks/gpu_check.sh, run on a lent GPU machine with no package registry in one device call
(killed at 600 s): it stops at once where it cannot stage fleetopt's packages (wheels not carried),
naming what is missing, rather than going on to report that CuPy cannot use the device, and no step
runs past its budget."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def run_gpu_check(tmp_path: Path, **env: str) -> subprocess.CompletedProcess:
    """The check with a Python that lacks every package (this one, its site-packages off) and no wheels."""
    python = tmp_path / "python3"
    python.write_text(f'#!/bin/sh\nexec "{sys.executable}" -S "$@"\n')
    python.chmod(0o755)
    env = {
        **os.environ,
        "PYTHON": str(python),
        "OUT": str(tmp_path / "out"),
        "FLEETOPT_WHEELS": str(tmp_path / "not-carried"),
        "PIP_NO_INDEX": "1",
        **env,
    }
    script = REPO / "benchmarks" / "gpu_check.sh"
    return subprocess.run(["bash", str(script)], env=env, capture_output=True, text=True, timeout=120)


def test_gpu_check_stops_naming_the_packages_it_lacks(tmp_path):
    result = run_gpu_check(tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "FATAL: the environment could not be staged (missing: pyomo highspy pydantic" in result.stdout
    assert "(a device call's carry names .wheels)" in result.stdout
    assert "== cupy" not in result.stdout, result.stdout  # no step ran after it


def test_gpu_check_cuts_each_step_at_its_budget(tmp_path):
    """Past 600 s the device call is killed, summary.txt unwritten: no step's limit runs past BUDGET_S."""
    result = run_gpu_check(tmp_path, BUDGET_S="40")
    started = re.findall(r"== (\S+) \(at (\d+)s, limit (\d+)s\)", result.stdout)
    assert [name for name, _, _ in started] == ["device", "environment"], result.stdout
    for name, at, limit in started:
        assert int(at) + int(limit) <= 40, (name, at, limit)
