"""benchmarks/gpu_check.sh, run on a lent GPU machine with no package registry in one device call
(killed at 600 s): it stops at once where it cannot stage fleetopt's packages (wheels not carried),
naming what is missing, rather than going on to report that CuPy cannot use the device, and no step
runs past its budget; on a machine where nvidia-smi sees no NVIDIA driver or GPU it stops at its first
step, saying so."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


# a stand-in nvidia-smi that sees one GPU, as on a lent machine
NVIDIA_SMI_GPU = 'echo "NVIDIA H100 80GB HBM3, 81559 MiB, 580.95.05"'
# what nvidia-smi says, exit 9, on a machine with the tool and no driver loaded
NVIDIA_SMI_NO_DRIVER = (
    "echo \"NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver. Make sure that the "
    'latest NVIDIA driver is installed and running."; exit 9'
)


def path_with_nvidia_smi(tmp_path: Path, body: str | None) -> str:
    """PATH with a stand-in nvidia-smi running ``body`` first, or (None) without any nvidia-smi."""
    if body is None:
        folders = [f for f in os.environ["PATH"].split(os.pathsep) if not (Path(f) / "nvidia-smi").exists()]
        path = os.pathsep.join(folders)
        if not all(shutil.which(tool, path=path) for tool in ("bash", "timeout", "mktemp", "sed")):
            pytest.skip("nvidia-smi is in the folder of bash or coreutils: it cannot be left off PATH")
        return path
    folder = tmp_path / "bin"
    folder.mkdir()
    (folder / "nvidia-smi").write_text(f"#!/bin/sh\n{body}\n")
    (folder / "nvidia-smi").chmod(0o755)
    return f"{folder}{os.pathsep}{os.environ['PATH']}"


def run_gpu_check(
    tmp_path: Path, nvidia_smi: str | None = NVIDIA_SMI_GPU, **env: str
) -> subprocess.CompletedProcess:
    """The check with a Python that lacks every package (this one, its site-packages off), no wheels and
    nvidia-smi running ``nvidia_smi`` (None: none on PATH)."""
    python = tmp_path / "python3"
    python.write_text(f'#!/bin/sh\nexec "{sys.executable}" -S "$@"\n')
    python.chmod(0o755)
    env = {
        **os.environ,
        "PATH": path_with_nvidia_smi(tmp_path, nvidia_smi),
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


def test_gpu_check_stops_where_no_nvidia_smi_is_found(tmp_path):
    result = run_gpu_check(tmp_path, nvidia_smi=None)
    assert result.returncode == 1, result.stdout + result.stderr
    fatal = "FATAL: no NVIDIA driver / GPU is visible (nvidia-smi is not on PATH;"
    assert fatal in result.stdout, result.stdout
    assert "== environment" not in result.stdout, result.stdout  # no step ran after it
    assert "device                   FAILED (exit 127)" in result.stdout  # the summary table


def test_gpu_check_stops_where_nvidia_smi_sees_no_driver(tmp_path):
    result = run_gpu_check(tmp_path, nvidia_smi=NVIDIA_SMI_NO_DRIVER)
    assert result.returncode == 1, result.stdout + result.stderr
    assert (
        "FATAL: no NVIDIA driver / GPU is visible (nvidia-smi: NVIDIA-SMI has failed because it couldn't "
        "communicate with the NVIDIA driver." in result.stdout
    ), result.stdout
    assert "== environment" not in result.stdout, result.stdout
