"""Backends (NumPy, CuPy, the C build of the fused kernel) and memory budgets for chunking."""

from __future__ import annotations

import importlib.util
import os
import shlex
import shutil
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from fleetopt.errors import InputError
from fleetopt.evaluate import cgroups

BACKENDS = ("auto", "numpy", "cupy", "cpu-kernel")


class BackendError(InputError):
    """A backend that was asked for and cannot be used here."""


@dataclass(frozen=True)
class Backend:
    name: str
    xp: Any
    device: str
    threads: int = 1  # NumPy: tiles of a block simulated at once; cpu-kernel: OpenMP threads
    note: str = ""  # why `auto` chose this backend, when it is worth saying

    def noted(self, note: str) -> Backend:
        """This backend with ``note`` (why `auto` chose it), which its device line ends with."""
        return replace(self, device=f"{self.device}; {note}", note=note)

    def to_host(self, array):
        return array.get() if self.name == "cupy" else array

    def free_memory_bytes(self) -> int:
        """Memory a run may still use: on a GPU the device's free memory plus what CuPy's pool
        holds unused (the pool keeps freed blocks, which the driver counts as taken)."""
        if self.name == "cupy":
            free, _total = self.xp.cuda.runtime.memGetInfo()
            return int(free) + int(self.xp.get_default_memory_pool().free_bytes())
        return available_ram_bytes()

    def synchronize(self) -> None:
        if self.name == "cupy":
            self.xp.cuda.Stream.null.synchronize()


def cupy_status() -> tuple[Any, str]:
    """(CuPy, the name of its current device) when CuPy can run on a CUDA device here, else
    (None, why not): not installed, does not import, sees no device, or fails to run a kernel."""
    try:
        import cupy
    except ImportError as exc:
        return None, f"CuPy is not installed ({exc})"
    except Exception as exc:  # a broken installation: say so rather than fall back silently
        return None, f"CuPy is installed but does not import: {type(exc).__name__}: {exc}"
    try:
        if cupy.cuda.runtime.getDeviceCount() < 1:
            return None, "CuPy is installed but sees no CUDA device"
        props = cupy.cuda.runtime.getDeviceProperties(cupy.cuda.Device().id)
        name = props["name"].decode() if isinstance(props["name"], bytes) else str(props["name"])
        # allocate, compute and copy back: a driver, toolkit or NVRTC that cannot run fails here
        probe = cupy.arange(4, dtype=cupy.float64)
        if float((probe * 2.0).sum()) != 12.0:
            return None, "CuPy is installed but computes wrong results on the device"
        return cupy, name
    except Exception as exc:  # CUDA driver and runtime errors
        return None, f"CuPy is installed but cannot use a CUDA device: {type(exc).__name__}: {exc}"


def cupy_device() -> tuple[Any, str] | None:
    """CuPy and the name of its current device, or None when CuPy or a CUDA device is missing."""
    cupy, found = cupy_status()
    return None if cupy is None else (cupy, found)


def c_compiler() -> str | None:
    """The C compiler the kernel's CPU build uses: $CC when set (a command with its arguments, as
    make takes it: ``ccache gcc``), only it, when its command is on PATH; else cc, gcc or clang on
    PATH; None without one."""
    chosen = os.environ.get("CC", "").strip()
    if chosen:  # the compiler asked for, never another one silently
        try:
            command = shlex.split(chosen)
        except ValueError:  # an unbalanced quote: no command at all
            return None
        return chosen if command and shutil.which(command[0]) else None
    return next((name for name in ("cc", "gcc", "clang") if shutil.which(name)), None)


def nvidia_gpu_present() -> bool:
    """Whether this machine shows an NVIDIA GPU to its processes (the driver's device files, or
    nvidia-smi on PATH), CuPy or not."""
    return Path("/dev/nvidia0").exists() or Path("/proc/driver/nvidia/version").exists() or bool(
        shutil.which("nvidia-smi")
    )


def gpu_with_cupy() -> bool:
    """Whether this machine shows an NVIDIA GPU and has CuPy installed: found, not imported, so
    that asking starts neither CuPy nor CUDA (whether CuPy can run is :func:`cupy_status`'s)."""
    return nvidia_gpu_present() and importlib.util.find_spec("cupy") is not None


def usable_cores() -> int:
    """CPU cores this process may run on: its affinity mask where the platform has one, at most
    its container's CPU limit (`docker run --cpus`, rounded up)."""
    try:
        cores = max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        cores = max(1, os.cpu_count() or 1)
    limit = cgroups.cpu_limit_cores()
    return min(cores, limit) if limit else cores


def resolve_backend(name: str = "auto", threads: int | None = None) -> Backend:
    """``auto``: CuPy when it can use a CUDA device, NumPy otherwise (for an evaluation of known
    size, :func:`fleetopt.evaluate.backend_choice.choose_backend` may take the C build instead; the
    returned backend's ``note`` says why, when CuPy is installed but unusable). ``cpu-kernel``: the
    fused kernel compiled as C, on ``threads`` OpenMP threads.

    ``threads``: CPU threads (default: every usable core); CuPy ignores it.
    """
    if name not in BACKENDS:
        raise BackendError(f"unknown backend {name!r}: choose one of {', '.join(BACKENDS)}")
    note = ""
    if name in ("auto", "cupy"):
        cupy, found = cupy_status()
        if cupy is not None:
            return Backend(
                "cupy", cupy, found, note="auto: CuPy found a CUDA device" if name == "auto" else ""
            )
        if name == "cupy":
            raise BackendError(
                f"backend 'cupy' needs CuPy and a CUDA device and cannot run here: {found} (install with "
                'pip install "fleetopt[gpu]" (CUDA 12) or "fleetopt[gpu-cuda13]" (CUDA 13) on a machine '
                "with an NVIDIA GPU)"
            )
        if not found.startswith("CuPy is not installed"):
            note = f"auto chose NumPy: {found}"
        elif nvidia_gpu_present():  # a GPU machine on which the GPU extra was forgotten
            note = ("auto chose NumPy: this machine has an NVIDIA GPU but CuPy is not installed (pip "
                    'install "fleetopt[gpu]" for CUDA 12, "fleetopt[gpu-cuda13]" for CUDA 13)')  # fmt: skip
    if threads is not None and threads < 1:
        raise BackendError(f"--threads must be at least 1 (got {threads})")
    n = threads or usable_cores()
    plural = "s" if n > 1 else ""
    if name == "cpu-kernel":
        compiler = c_compiler()
        if compiler is None and os.environ.get("CC", "").strip():
            raise BackendError(
                f"$CC is {os.environ['CC']!r}, whose command is not on PATH (or is not a command line at "
                "all): unset CC or point it at a C compiler"
            )
        if compiler is None:
            raise BackendError(
                "backend 'cpu-kernel' needs a C compiler (cc, gcc or clang, or $CC): none found"
            )
        return Backend(
            "cpu-kernel", np, f"CPU, fused kernel built by {compiler} ({n} thread{plural})", threads=n
        )
    device = f"CPU ({n} thread{plural})" + (f"; {note}" if note else "")
    return Backend("numpy", np, device, threads=n, note=note)


def available_ram_bytes() -> int:
    """MemAvailable from /proc/meminfo (a conservative 4 GiB where it cannot be read), at most what
    this process's container may still take (`docker run --memory`, less what it holds)."""
    free = 4 * 1024**3
    try:
        with open("/proc/meminfo") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    free = int(line.split()[1]) * 1024
                    break
    except OSError:
        pass
    limit = cgroups.memory_limit_bytes()
    if limit is None:
        return free
    return max(0, min(free, limit - (cgroups.memory_used_bytes() or 0)))
