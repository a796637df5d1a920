"""Array backends (NumPy, CuPy) and memory budgets for chunking."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import numpy as np

from fleetopt.errors import InputError

BACKENDS = ("auto", "numpy", "cupy")


class BackendError(InputError):
    """A backend that was asked for and cannot be used here."""


@dataclass(frozen=True)
class Backend:
    name: str
    xp: Any
    device: str
    threads: int = 1  # NumPy: tiles of a block simulated at once (NumPy releases the GIL in its loops)

    def to_host(self, array):
        return array.get() if self.name == "cupy" else array

    def free_memory_bytes(self) -> int:
        if self.name == "cupy":
            free, _total = self.xp.cuda.runtime.memGetInfo()
            return int(free)
        return available_ram_bytes()

    def synchronize(self) -> None:
        if self.name == "cupy":
            self.xp.cuda.Stream.null.synchronize()


def cupy_device() -> tuple[Any, str] | None:
    """CuPy and the name of its current device, or None when CuPy or a CUDA device is missing."""
    try:
        import cupy

        if cupy.cuda.runtime.getDeviceCount() < 1:
            return None
        props = cupy.cuda.runtime.getDeviceProperties(cupy.cuda.Device().id)
        name = props["name"].decode() if isinstance(props["name"], bytes) else str(props["name"])
        return cupy, name
    except Exception:  # ImportError, CUDA driver errors: no usable GPU either way
        return None


def usable_cores() -> int:
    """CPU cores this process may run on (its affinity mask where the platform has one)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def resolve_backend(name: str = "auto", threads: int | None = None) -> Backend:
    """``auto``: CuPy when it imports and sees a CUDA device, NumPy otherwise.

    ``threads``: NumPy threads (default: every usable core); CuPy ignores it.
    """
    if name not in BACKENDS:
        raise BackendError(f"unknown backend {name!r}: choose one of {', '.join(BACKENDS)}")
    if name in ("auto", "cupy"):
        found = cupy_device()
        if found is not None:
            cupy, device = found
            return Backend("cupy", cupy, device)
        if name == "cupy":
            raise BackendError(
                "backend 'cupy' needs CuPy and a CUDA device, and none was found "
                '(install with pip install "fleetopt[gpu]" on a machine with an NVIDIA GPU)'
            )
    if threads is not None and threads < 1:
        raise BackendError(f"--threads must be at least 1 (got {threads})")
    n = threads or usable_cores()
    return Backend("numpy", np, f"CPU ({n} thread{'s' if n > 1 else ''})", threads=n)


def available_ram_bytes() -> int:
    """MemAvailable from /proc/meminfo, or a conservative 4 GiB where it cannot be read."""
    try:
        with open("/proc/meminfo") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 4 * 1024**3


def parse_memory(text: str) -> int:
    """'512MB', '2GB', '1.5GiB' or a number of bytes -> bytes."""
    units = {"": 1, "B": 1, "KB": 1e3, "MB": 1e6, "GB": 1e9, "KIB": 1024, "MIB": 1024**2, "GIB": 1024**3}
    s = text.strip().upper().replace(" ", "")
    number = s.rstrip("KMGIB")
    unit = s[len(number) :]
    if unit not in units:
        raise ValueError(f"{text!r}: unknown unit {unit!r} (use B, KB, MB, GB, KiB, MiB or GiB)")
    try:
        value = float(number) * units[unit]
    except ValueError:
        raise ValueError(f"{text!r} is not a memory size like 2GB") from None
    if value <= 0:
        raise ValueError(f"{text!r}: the memory budget must be positive")
    return int(value)
