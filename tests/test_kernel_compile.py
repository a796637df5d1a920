"""The fused CUDA kernel compiles for Hopper (and Blackwell, where the compiler knows it) with no
spills and a small stack frame: a compile check with nvcc, no GPU needed.

nvcc comes from $FLEETOPT_NVCC, the PATH, or the pip wheels CI installs into its environment
(nvidia-cuda-nvcc, nvidia-nvvm, nvidia-cuda-crt, nvidia-cuda-runtime, all of one version: their
binaries land in site-packages/nvidia/cu13/bin). Skipped, with the reason, only where none is found.
Each bundled model's shape is compiled, with the options CuPy uses (no multiply-add contraction).
Run with ``-s -n 0`` to see the register counts (pytest-xdist's workers keep a test's printout).
"""

from __future__ import annotations

import dataclasses
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from fleetopt import api
from fleetopt.evaluate.kernel import KernelShape, kernel_source

# The pair's state lives in registers: any stack frame beyond this would mean per-pair arrays
# moved to local memory (the kernel before this bound had a 1,152-byte frame).
MAX_STACK_BYTES = 64
# a few spilled temporaries (L1-cached local memory) are tolerated; a pair's state spilling is not:
# the default model's kernel spills 64 bytes on sm_90 at the 168-register limit of 3 blocks of 128
# threads (nvcc 13.0.88, 2026-12-02; 0 on sm_100), and 0 bytes with 2 blocks (204 registers) at two
# thirds of the warps (benchmarks/README.md). Tracking the cut prepayments of 2 facilities instead of
# 1 (kernel.MAX_PREPAID_FACILITIES) spills 72 bytes, 3 facilities 84. Capping what the GPUs taken out of
# a short quarter remove by their powered quantity (2026-12-05) took it to 24 bytes (16-byte frame),
# with the short path reading the shares of the short sites only (72-144 bytes otherwise); giving
# their MW to the GPUs left (2026-12-05) to 56 / 48 bytes of stores / loads (32-byte frame), with the
# MW taken out read where each share is made and the GPUs taken out removed before the revenue
# (136 / 144 bytes and a 160-byte frame with them kept in an array). The balance a cancelled order's
# draws leave undrawn (one double of state, 2026-12-06) took it to 112 / 128 bytes; with the deferred
# capex summed in its output slot instead of a register, 48 / 48 bytes (32-byte frame). The order rule
# leaving out the missing GPUs' earnings (0.4.23) kept sm_90 there and took sm_100 from 0 to 8 / 8 bytes;
# 0.4.24's order rule (cancel or sell, the deferred draws' interest) kept both (48 / 48 and 8 / 8);
# the deferral and cancellation counting the balance never drawn left above the plan's (2026-12-06)
# kept sm_90 at 48 / 48 and took sm_100 to 0 / 0; its two closing-share loops written as one
# (fo_closing_share) keep sm_90 at 48 / 48 and put sm_100 back at 8 / 8
MAX_SPILL_BYTES = 64
MODELS = ["neocloud", "lab", "tiny"]


def find_nvcc() -> str | None:
    candidates = [os.environ.get("FLEETOPT_NVCC"), shutil.which("nvcc")]
    for site in map(Path, sys.path):
        candidates.append(str(site / "nvidia" / "cu13" / "bin" / "nvcc"))
    for candidate in candidates:
        if candidate and Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return candidate
    return None


NVCC = find_nvcc()
pytestmark = pytest.mark.skipif(
    NVCC is None,
    reason="no nvcc: set FLEETOPT_NVCC, put nvcc on PATH, or pip install nvidia-cuda-nvcc==13.0.88 "
    "nvidia-nvvm==13.0.88 nvidia-cuda-crt==13.0.88 nvidia-cuda-runtime==13.0.88 (.ci/run does)",
)


def architectures() -> list[str]:
    listed = subprocess.run([NVCC, "--list-gpu-arch"], capture_output=True, text=True).stdout
    return ["sm_90"] + (["sm_100"] if "compute_100" in listed else [])


def compile_report(source: str, arch: str, folder: Path) -> dict:
    """ptxas's report of the kernel compiled for ``arch``: registers, stack frame, spills."""
    path = folder / f"kernel-{arch}.cu"
    path.write_text(source)
    command = [
        NVCC,
        "-std=c++14",
        "-fmad=false",
        f"-arch={arch}",
        "-cubin",
        "-o",
        str(path.with_suffix(".cubin")),
    ]
    result = subprocess.run(
        [*command, str(path), "-Xptxas", "-v"], capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-4000:]
    text = result.stderr
    frame = re.search(r"(\d+) bytes stack frame, (\d+) bytes spill stores, (\d+) bytes spill loads", text)
    registers = re.search(r"Used (\d+) registers", text)
    assert frame and registers, text
    stack, stores, loads = map(int, frame.groups())
    return {
        "registers": int(registers.group(1)),
        "stack": stack,
        "spill_stores": stores,
        "spill_loads": loads,
    }


@pytest.mark.parametrize("model", MODELS)
def test_kernel_keeps_its_state_in_registers(model, tmp_path):
    _, data = api.load(model)
    source = kernel_source(KernelShape.of_model(data))
    for arch in architectures():
        report = compile_report(source, arch, tmp_path)
        print(f"\n{model} {arch}: {report['registers']} registers, {report['stack']} bytes stack frame, "
              f"{report['spill_stores']} / {report['spill_loads']} bytes spill stores / loads")  # fmt: skip
        assert report["spill_stores"] <= MAX_SPILL_BYTES, (model, arch, report)
        assert report["spill_loads"] <= MAX_SPILL_BYTES, (model, arch, report)
        assert report["stack"] <= MAX_STACK_BYTES, (model, arch, report)


@pytest.mark.parametrize("model", MODELS)
def test_kernel_with_idle_gpus_to_market_compiles(model, tmp_path):
    """Policy rule 5 (`idle_gpus_to_market`, off by default) is compiled in only where it is on and a
    plan holds idle GPUs (KernelShape.idle), so the kernel above is the rule-off one. With it compiled
    in the kernel builds for every bundled model; it spills on sm_90 for the default model only (144 /
    168 bytes of stores / loads, an 88-byte frame, nvcc 13.0.88, 2026-12-06 with no cure in a liquidity
    default, 140 / 148 before; none on sm_100, none for lab and tiny): the demand each use's sales
    leave and the idle step add to the pair's live values."""
    _, data = api.load(model)
    shape = dataclasses.replace(KernelShape.of_model(data), idle=True)
    for arch in architectures():
        report = compile_report(kernel_source(shape), arch, tmp_path)
        print(f"\n{model} {arch} with idle GPUs to market: {report}")
        if model != "neocloud" or arch != "sm_90":
            assert report["spill_stores"] <= MAX_SPILL_BYTES, (model, arch, report)
            assert report["stack"] <= MAX_STACK_BYTES, (model, arch, report)
