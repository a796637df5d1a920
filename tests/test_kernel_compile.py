"""The fused CUDA kernel compiles for Hopper (and Blackwell, where the compiler knows it) with no
spills and a small stack frame: a compile check with nvcc and with NVRTC, no GPU needed.

On a GPU, CuPy compiles the kernel with NVRTC (kernel.cuda_kernel): the NVRTC tests call libnvrtc
through ctypes with the options CuPy adds (CUPY_NVRTC_OPTIONS) and check that the cubin exports the
kernel under the name CuPy looks up; NVRTC's front end differs from nvcc's (no host headers,
``__CUDACC_RTC__``), and so, slightly, does its machine code (the default model's sm_100 kernel
spilled 8 bytes with nvcc, none with NVRTC 13.0.88, until the quarter was split into its steps).
The nvcc tests keep the ptxas report of the kernel built as a standalone CUDA file.

nvcc comes from $FLEETOPT_NVCC, the PATH, or the pip wheels CI installs into its environment
(nvidia-cuda-nvcc, nvidia-nvvm, nvidia-cuda-crt, nvidia-cuda-runtime, all of one version: their
binaries land in site-packages/nvidia/cu13/bin); libnvrtc from $FLEETOPT_NVRTC or the wheel
nvidia-cuda-nvrtc of that version (site-packages/nvidia/cu13/lib). Each test is skipped, with the
reason, only where its compiler is not found. Each bundled model's shape is compiled, and those with
contracts' with one scaled back (risk.contract_scale_back: the kernel's FO_SCALE_BACK variant).
Run with ``-s -n 0`` to see the register counts (pytest-xdist's workers keep a test's printout).
"""

from __future__ import annotations

import ctypes
import dataclasses
import functools
import os
import re
import shutil
import struct
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from fleetopt import api
from fleetopt.evaluate.kernel.cuda import CUDA_OPTIONS
from fleetopt.evaluate.kernel.shape import KernelShape
from fleetopt.evaluate.kernel.source import KERNEL_NAME, kernel_source

# The pair's state lives in registers: any stack frame beyond this would mean per-pair arrays
# moved to local memory (the kernel before this bound had a 1,152-byte frame).
MAX_STACK_BYTES = 64
# a few spilled temporaries (L1-cached local memory) are tolerated; a pair's state spilling is not:
# the default model's kernel spills 64 bytes on sm_90 at the 168-register limit of 3 blocks of 128
# threads (nvcc 13.0.88, 2026-12-02; 0 on sm_100), and 0 bytes with 2 blocks (204 registers) at two
# thirds of the warps (benchmarks/README.md). (The kernel is compiled with a slot per facility the plans
# prepay before the last quarter: the shapes here have one; more spill more,
# test_kernel_for_plans_prepaying_three_facilities_compiles.) Capping what the GPUs taken out of
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
# (fo_closing_share) keep sm_90 at 48 / 48 and put sm_100 back at 8 / 8; fo_quarter split into its steps
# (2026-12-06) keeps sm_90 at 48 / 48 and takes sm_100 to 0 / 0; measured 56 / 56 (a 40-byte frame) on
# sm_90 by 2026-12-07, with a contract scaled back (FO_SCALE_BACK compiled in) the same
MAX_SPILL_BYTES = 64
MODELS = ["neocloud", "lab", "tiny"]
# the bundled models with contracts, which a scale-back (risk.contract_scale_back) can cut: lab has none
CONTRACT_MODELS = ["neocloud", "tiny"]
NVRTC_MAJOR = 13  # CuPy's cupy-cuda13x, as on the lent GPU machines, loads libnvrtc.so.13


def find_nvcc() -> str | None:
    candidates = [os.environ.get("FLEETOPT_NVCC"), shutil.which("nvcc")]
    for site in map(Path, sys.path):
        candidates.append(str(site / "nvidia" / "cu13" / "bin" / "nvcc"))
    for candidate in candidates:
        if candidate and Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return candidate
    return None


def find_nvrtc() -> Path | None:
    candidates = [os.environ.get("FLEETOPT_NVRTC")]
    for site in map(Path, sys.path):
        candidates.append(str(site / "nvidia" / "cu13" / "lib" / f"libnvrtc.so.{NVRTC_MAJOR}"))
    return next((Path(c) for c in candidates if c and Path(c).is_file()), None)


NVCC = find_nvcc()
NVRTC = find_nvrtc()
needs_nvcc = pytest.mark.skipif(
    NVCC is None,
    reason="no nvcc: set FLEETOPT_NVCC, put nvcc on PATH, or pip install nvidia-cuda-nvcc==13.0.88 "
    "nvidia-nvvm==13.0.88 nvidia-cuda-crt==13.0.88 nvidia-cuda-runtime==13.0.88 (.ci/run does)",
)
needs_nvrtc = pytest.mark.skipif(
    NVRTC is None,
    reason="no libnvrtc: set FLEETOPT_NVRTC to a libnvrtc.so.13, or pip install nvidia-cuda-nvrtc==13.0.88 "
    "(.ci/run does)",
)


def ptxas_report(text: str) -> dict:
    """ptxas's verbose report of the kernel: registers, stack frame, spills."""
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


def check_bounds(model: str, arch: str, report: dict, idle: bool) -> None:
    """The pair's state in registers. With the idle GPUs' rule compiled in, the default model spills
    on sm_90 (test_kernel_with_idle_gpus_to_market_compiles says why); it must still compile."""
    if idle and model == "neocloud" and arch == "sm_90":
        return
    assert report["spill_stores"] <= MAX_SPILL_BYTES, (model, arch, report)
    assert report["spill_loads"] <= MAX_SPILL_BYTES, (model, arch, report)
    assert report["stack"] <= MAX_STACK_BYTES, (model, arch, report)


def model_source(model: str, idle: bool = False, prepaid_count: int = 1, scale_back: bool = False,
                 present_cost: bool = False, base_prepay: bool = False) -> str:
    """The kernel's source for a bundled model's shape; with ``scale_back``, the model's first contract
    cut (risk.contract_scale_back), which compiles the reads of contract_kept_share in (FO_SCALE_BACK);
    with ``present_cost``, each pair's present cost compiled in (FO_PRESENT_COST); with ``base_prepay``,
    policy rule 6's prepayments (policy.prepay_borrowing_base: FO_BASE_PREPAY)."""
    _, data = api.load(model)
    if scale_back:
        cut = {data.contracts[0].name: {"share_kept": 0.6, "from_quarter": data.quarter_labels[2]}}
        _, data = api.load(api.edit(model, {"risk.contract_scale_back": cut}))
    if base_prepay:
        _, data = api.load(api.edit(model, {"policy.prepay_borrowing_base": True}))
    shape = KernelShape.of_model(data, prepaid_count=prepaid_count)
    assert shape.contracts_cut == (len(data.contracts) if scale_back else 0)
    assert bool(shape.base_slots) == (base_prepay and any(f.max_ltv is not None for f in data.facilities))
    return kernel_source(dataclasses.replace(shape, idle=idle, present_cost=present_cost))


# ---------------------------------------------------------------- nvcc


def architectures() -> list[str]:
    listed = subprocess.run([NVCC, "--list-gpu-arch"], capture_output=True, text=True).stdout
    return ["sm_90"] + (["sm_100"] if "compute_100" in listed else [])


def compile_report(source: str, arch: str, folder: Path) -> dict:
    """ptxas's report of the kernel compiled by nvcc for ``arch``, with the options CuPy is given."""
    path = folder / f"kernel-{arch}.cu"
    path.write_text(source)
    command = [NVCC, *CUDA_OPTIONS, f"-arch={arch}", "-cubin", "-o", str(path.with_suffix(".cubin"))]
    result = subprocess.run(
        [*command, str(path), "-Xptxas", "-v"], capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-4000:]
    return ptxas_report(result.stderr)


@needs_nvcc
@pytest.mark.parametrize("model", MODELS)
def test_kernel_keeps_its_state_in_registers(model, tmp_path):
    for arch in architectures():
        report = compile_report(model_source(model), arch, tmp_path)
        print(f"\n{model} {arch}: {report['registers']} registers, {report['stack']} bytes stack frame, "
              f"{report['spill_stores']} / {report['spill_loads']} bytes spill stores / loads")  # fmt: skip
        check_bounds(model, arch, report, idle=False)


@needs_nvcc
@pytest.mark.parametrize("model", CONTRACT_MODELS)
def test_kernel_with_a_contract_scaled_back_keeps_its_state_in_registers(model, tmp_path):
    """A model with risk.contract_scale_back compiles the scale-back's reads in (FO_SCALE_BACK: the share
    kept of each contract's GPUs, revenue, payments and deferred prepayments) with the bounds of the
    kernel without them: the same registers, frame and spills for both bundled models with contracts
    (neocloud sm_90 168 registers, 40-byte frame, 56 / 56 bytes, sm_100 168, 0, 0 / 0; tiny none; nvcc
    13.0.88, 2026-12-07), though the code differs."""
    for arch in architectures():
        report = compile_report(model_source(model, scale_back=True), arch, tmp_path)
        print(f"\n{model} {arch}, a contract scaled back: {report}")
        check_bounds(model, arch, report, idle=False)


@needs_nvcc
@pytest.mark.parametrize("model", MODELS)
def test_kernel_with_the_present_cost_keeps_its_state_in_registers(model, tmp_path):
    """Each pair's present cost (FO_PRESENT_COST, compiled in for plans solved for least cost) is added
    in its output slot, not carried in the state: the bounds of the kernel without it (lab sm_90 168
    registers, no frame, no spill, sm_100 168; neocloud sm_90 168, 32-byte frame, 48 / 48 bytes, as
    without it; nvcc of the CUDA 13 toolkit, 2027-01)."""
    for arch in architectures():
        report = compile_report(model_source(model, present_cost=True), arch, tmp_path)
        print(f"\n{model} {arch} with the present cost: {report}")
        check_bounds(model, arch, report, idle=False)


@needs_nvcc
@pytest.mark.parametrize("model", MODELS)
def test_kernel_with_the_borrowing_base_prepaid_compiles(model, tmp_path):
    """Policy rule 6 (`prepay_borrowing_base`, off by default: FO_BASE_PREPAY, compiled in only where it
    is on and a borrowing base is tested) compiles for every bundled model with a GPU-secured facility,
    its pair's state still in registers (the frame within MAX_STACK_BYTES): one double of state a
    GPU-secured facility (the principal it prepaid), its output in the pair's slots. Like plans prepaying
    three facilities it spills more temporaries: neocloud sm_90 168 registers, a 64-byte frame, 104 / 120
    bytes of spill stores / loads (48 / 48 without it), sm_100 168, 8 bytes, 12 / 20 (0 / 0); lab and
    tiny none (nvcc and NVRTC 13.0.88, 2026-12-07). The rule-off kernel is the one above."""
    for arch in architectures():
        report = compile_report(model_source(model, base_prepay=True), arch, tmp_path)
        print(f"\n{model} {arch} with the borrowing base prepaid: {report}")
        assert report["stack"] <= MAX_STACK_BYTES, (arch, report)


@needs_nvcc
@pytest.mark.parametrize("model", MODELS)
def test_kernel_with_idle_gpus_to_market_compiles(model, tmp_path):
    """Policy rule 5 (`idle_gpus_to_market`, off by default) is compiled in only where it is on and a
    plan holds idle GPUs (KernelShape.idle), so the kernel above is the rule-off one. With it compiled
    in the kernel builds for every bundled model; it spills on sm_90 for the default model only (144 /
    168 bytes of stores / loads, an 88-byte frame, nvcc 13.0.88, 2026-12-06 with no cure in a liquidity
    default, 140 / 148 before; none on sm_100, none for lab and tiny): the demand each use's sales
    leave and the idle step add to the pair's live values."""
    for arch in architectures():
        report = compile_report(model_source(model, idle=True), arch, tmp_path)
        print(f"\n{model} {arch} with idle GPUs to market: {report}")
        check_bounds(model, arch, report, idle=True)


@needs_nvcc
def test_kernel_for_plans_prepaying_three_facilities_compiles(tmp_path):
    """The default sweep's price-shock optimum and its cash-buffer runs prepay 3 of the default model's
    facilities before the last quarter: the kernel for them tracks a balance kept by a cut prepayment
    on each, 2 doubles of state more than the shapes above. It compiles with the pair's state still
    in registers (the frame within MAX_STACK_BYTES), and spills more temporaries: on sm_90 168
    registers, a 64-byte frame, 104 / 128 bytes of spill stores / loads (48 / 48 with one facility),
    on sm_100 168 registers, 16 bytes, 20 / 28 (0 / 0), nvcc 13.0.88, 2026-12-06."""
    for arch in architectures():
        report = compile_report(model_source("neocloud", prepaid_count=3), arch, tmp_path)
        print(f"\nneocloud {arch}, 3 facilities prepaid: {report}")
        assert report["stack"] <= MAX_STACK_BYTES, (arch, report)


# ---------------------------------------------------------------- NVRTC, as CuPy calls it on a GPU

# What CuPy 14.2.0 (cupy-cuda13x on the lent GPU machines) adds to RawKernel's options before
# nvrtcCompileProgram, read from its source (tag v14.2.0): cupy/_core/core.pyx
# assemble_cupy_compiler_options adds --std=c++17 only where no -std is given (CUDA_OPTIONS gives
# one) and -I paths of its CCCL, its headers and CUDA's (left out here: the kernel includes nothing
# under NVRTC, so any #include fails this test); cupy/cuda/compiler.py _compile_with_cache_cuda adds
# -ftz=true (single precision only: the kernel's arithmetic is float64), _get_arch_for_options_for_nvrtc
# -arch=sm_<the device's compute capability> (a cubin), and _compile_using_nvrtc_no_warning
# --device-as-default-execution-space (RawKernel's jitify is off). --ptxas-options=-v only reports.
CUPY_NVRTC_OPTIONS = (*CUDA_OPTIONS, "-ftz=true", "--device-as-default-execution-space")


class Nvrtc:
    """libnvrtc through ctypes: its version, its architectures, and a program compiled to a cubin."""

    def __init__(self, path: Path) -> None:
        # libnvrtc dlopens its builtins by name: loaded first, from the same folder, the name resolves
        for builtins in sorted(path.parent.glob(f"libnvrtc-builtins.so.{NVRTC_MAJOR}.*")):
            ctypes.CDLL(str(builtins), mode=ctypes.RTLD_GLOBAL)
        self.lib = ctypes.CDLL(str(path))
        self.lib.nvrtcGetErrorString.restype = ctypes.c_char_p

    def version(self) -> str:
        major, minor = ctypes.c_int(), ctypes.c_int()
        self.lib.nvrtcVersion(ctypes.byref(major), ctypes.byref(minor))
        return f"{major.value}.{minor.value}"

    def architectures(self) -> list[str]:
        count = ctypes.c_int()
        self.lib.nvrtcGetNumSupportedArchs(ctypes.byref(count))
        archs = (ctypes.c_int * count.value)()
        self.lib.nvrtcGetSupportedArchs(archs)
        return ["sm_90"] + (["sm_100"] if 100 in list(archs) else [])

    def compile(self, source: str, options: tuple[str, ...]) -> tuple[bytes | None, str]:
        """(the cubin or None where compiling failed, NVRTC's log). The program is named kernel.cu, as
        kernel_source's #line names kernel.cu's lines: NVRTC reports no warning on lines it puts in
        another file than the program's (CuPy names it after a temporary file, so its log has none)."""
        program = ctypes.c_void_p()
        status = self.lib.nvrtcCreateProgram(
            ctypes.byref(program), source.encode(), b"kernel.cu", 0, None, None
        )
        assert status == 0, self.lib.nvrtcGetErrorString(status)
        try:
            encoded = (ctypes.c_char_p * len(options))(*(o.encode() for o in options))
            status = self.lib.nvrtcCompileProgram(program, len(options), encoded)
            log = self._read(program, self.lib.nvrtcGetProgramLogSize, self.lib.nvrtcGetProgramLog)
            log = log.rstrip(b"\0").decode()
            if status != 0:
                return None, f"{self.lib.nvrtcGetErrorString(status).decode()}\n{log}"
            return self._read(program, self.lib.nvrtcGetCUBINSize, self.lib.nvrtcGetCUBIN), log
        finally:
            self.lib.nvrtcDestroyProgram(ctypes.byref(program))

    @staticmethod
    def _read(program: ctypes.c_void_p, size_of: Any, read: Any) -> bytes:
        size = ctypes.c_size_t()
        assert size_of(program, ctypes.byref(size)) == 0
        buffer = ctypes.create_string_buffer(size.value)
        assert read(program, buffer) == 0
        return buffer.raw


@functools.cache
def nvrtc() -> Nvrtc:
    return Nvrtc(NVRTC)


def global_functions(cubin: bytes) -> set[str]:
    """The names of the global functions an ELF64 cubin exports: what cuModuleGetFunction looks up."""
    (section_offset,) = struct.unpack_from("<Q", cubin, 0x28)
    entry_size, count = struct.unpack_from("<HH", cubin, 0x3A)
    sections = [
        struct.unpack_from("<IIQQQQIIQQ", cubin, section_offset + i * entry_size) for i in range(count)
    ]
    names = set()
    for _, kind, _, _, offset, size, link, _, _, symbol_size in sections:
        if kind != 2:  # SHT_SYMTAB
            continue
        strings = sections[link][4]
        for at in range(offset, offset + size, symbol_size):
            name_at, info = struct.unpack_from("<IB", cubin, at)
            if info == 0x12:  # STB_GLOBAL, STT_FUNC
                names.add(cubin[strings + name_at : cubin.index(b"\0", strings + name_at)].decode())
    return names


def check_nvrtc_build(model: str, source: str, idle: bool, words: str, frame_only: bool = False) -> None:
    """NVRTC, as CuPy calls it, compiles ``source`` for each architecture it knows: no error and no
    warning in its log, the kernel exported unmangled under KERNEL_NAME, the pair's state in registers
    as with nvcc (:func:`check_bounds`; with ``frame_only``, its frame within MAX_STACK_BYTES alone)."""
    for arch in nvrtc().architectures():
        cubin, log = nvrtc().compile(source, (*CUPY_NVRTC_OPTIONS, f"-arch={arch}", "--ptxas-options=-v"))
        assert cubin is not None, f"NVRTC {nvrtc().version()} {arch}: {log[-4000:]}"
        assert "warning" not in log, log
        assert KERNEL_NAME in global_functions(cubin), (arch, sorted(global_functions(cubin)))
        report = ptxas_report(log)
        print(f"\n{model} {arch}{words}, NVRTC {nvrtc().version()}: {report}")
        if frame_only:
            assert report["stack"] <= MAX_STACK_BYTES, (arch, report)
        else:
            check_bounds(model, arch, report, idle)


@needs_nvrtc
@pytest.mark.parametrize("idle", [False, True], ids=["rule-off", "idle-gpus-to-market"])
@pytest.mark.parametrize("model", MODELS)
def test_nvrtc_compiles_the_kernel_cupy_launches(model, idle):
    """NVRTC compiles each bundled model's kernel, with the idle GPUs' rule compiled in and without,
    as CuPy does on a GPU (:func:`check_nvrtc_build`)."""
    check_nvrtc_build(model, model_source(model, idle), idle, " with idle GPUs to market" * idle)


@needs_nvrtc
@pytest.mark.parametrize("model", CONTRACT_MODELS)
def test_nvrtc_compiles_the_kernel_with_a_contract_scaled_back(model):
    """NVRTC compiles the scale-back's kernel (the nvcc test of it above) as CuPy does on a GPU
    (:func:`check_nvrtc_build`): the same figures as nvcc's, NVRTC 13.0.88, 2026-12-07."""
    check_nvrtc_build(model, model_source(model, scale_back=True), False, ", a contract scaled back")


@needs_nvrtc
@pytest.mark.parametrize("model", MODELS)
def test_nvrtc_compiles_the_kernel_with_the_present_cost(model):
    """NVRTC compiles the kernel with each pair's present cost (FO_PRESENT_COST; the nvcc test of it
    above) as CuPy does on a GPU (:func:`check_nvrtc_build`)."""
    check_nvrtc_build(model, model_source(model, present_cost=True), False, ", with the present cost")


@needs_nvrtc
@pytest.mark.parametrize("model", MODELS)
def test_nvrtc_compiles_the_kernel_with_the_borrowing_base_prepaid(model):
    """NVRTC, as CuPy calls it, compiles the kernel with policy rule 6 compiled in (the nvcc test of it
    above: the same figures) with no warning, exported under KERNEL_NAME, its frame within MAX_STACK_BYTES."""
    source = model_source(model, base_prepay=True)
    check_nvrtc_build(model, source, False, " with the borrowing base prepaid", frame_only=True)


@needs_nvrtc
def test_nvrtc_compiles_the_kernel_for_plans_prepaying_three_facilities():
    """NVRTC, as CuPy calls it, compiles the default model's kernel for plans prepaying 3 facilities
    (test_kernel_for_plans_prepaying_three_facilities_compiles) with no warning, exported under
    KERNEL_NAME, its frame within MAX_STACK_BYTES."""
    source = model_source("neocloud", prepaid_count=3)
    for arch in nvrtc().architectures():
        cubin, log = nvrtc().compile(source, (*CUPY_NVRTC_OPTIONS, f"-arch={arch}", "--ptxas-options=-v"))
        assert cubin is not None and "warning" not in log, f"NVRTC {nvrtc().version()} {arch}: {log[-4000:]}"
        assert KERNEL_NAME in global_functions(cubin)
        report = ptxas_report(log)
        print(f"\nneocloud {arch}, 3 facilities prepaid, NVRTC {nvrtc().version()}: {report}")
        assert report["stack"] <= MAX_STACK_BYTES, (arch, report)
