"""How `gpu` tests behave where they cannot run (tests/conftest.py): skipped, naming CuPy's reason,
on a machine without CuPy or without a CUDA device; failed, with CuPy's error, on one where CuPy is
installed but broken, so that a GPU machine whose CuPy cannot run never reports the GPU tests green.

Each case runs tests/test_evaluate_gpu.py in a pytest of its own with a stand-in `cupy` first on
its path."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from conftest import REPO

FAKE = REPO / "tests" / "fake_cupy"


def run_gpu_tests(cupy_path: Path, **env: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-n", "0", "-p", "no:cacheprovider",
         "tests/test_evaluate_gpu.py"],
        cwd=REPO, capture_output=True, text=True, timeout=600,
        env={**os.environ, "PYTHONPATH": str(cupy_path), **env},
    )  # fmt: skip
    return done.stdout + done.stderr


def gpu_test_count() -> int:
    """How many tests tests/test_evaluate_gpu.py holds (collected without running them)."""
    command = [sys.executable, "-m", "pytest", "-q", "-n", "0", "--collect-only", "-p", "no:cacheprovider",
               "tests/test_evaluate_gpu.py"]  # fmt: skip
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=600)
    count = sum("::" in line for line in done.stdout.splitlines())
    assert count >= 7, done.stdout + done.stderr
    return count


def test_a_cupy_that_does_not_import_fails_the_gpu_tests(tmp_path):
    (tmp_path / "cupy").mkdir()
    (tmp_path / "cupy" / "__init__.py").write_text(
        'raise RuntimeError("CUDA driver version is insufficient for CUDA runtime version")\n'
    )
    out = run_gpu_tests(tmp_path)
    assert f"{gpu_test_count()} errors" in out and "skipped" not in out, out  # failed in setup: exit non-zero
    assert "CuPy is installed but does not import: RuntimeError: CUDA driver version is insufficient" in out


def test_a_machine_without_a_cuda_device_skips_them_saying_why():
    out = run_gpu_tests(FAKE, FAKE_CUPY_BROKEN="1")
    assert f"{gpu_test_count()} skipped" in out and "failed" not in out, out
    assert "cudaErrorNoDevice: no CUDA-capable device is detected" in out
