"""The limits a container puts on this process (Linux control groups, v2 or v1): memory and CPU.

`docker run --memory 8g --cpus 4` on a 64-core, 512 GB host leaves /proc/meminfo and the
affinity mask telling of the host; a run that sized its chunks and threads by them would be
killed for memory or share 4 cores among 64 threads. The backend's core count and free memory
(fleetopt.evaluate.backend) and the physical memory a chunk runs in (fleetopt.evaluate.resources)
are read through these. Everything here is None where no limit is set or none can be read
(macOS, Windows, a host process).
"""

from __future__ import annotations

import math
from pathlib import Path

# where the control-group file system and this process's groups are (tests point them elsewhere)
ROOT = Path("/sys/fs/cgroup")
SELF = Path("/proc/self/cgroup")
# cgroup v1 writes "no limit" as the largest page-aligned 64-bit number, about 9.2e18
_NO_LIMIT_V1 = 2**60


def _groups() -> dict[str, str]:
    """Controller -> this process's group path ('' for the v2 unified hierarchy)."""
    try:
        lines = SELF.read_text().splitlines()
    except OSError:
        return {}
    groups = {}
    for line in lines:
        parts = line.split(":", 2)
        if len(parts) == 3:
            for controller in parts[1].split(",") if parts[1] else [""]:
                groups[controller] = parts[2]
    return groups


def _folders(v2: str | None, v1_controller: str, v1: str) -> list[tuple[Path, str]]:
    """Where this process's group keeps file ``v2`` (unified hierarchy; None: v1 only) or ``v1``
    (under the ``v1_controller`` hierarchy): (folder, file name) for the group's own folder, then
    each folder above it up to the hierarchy's root (inside a container the root is the container's
    own group; a systemd slice or a Slurm job sets its limit on a group above the process's)."""
    groups = _groups()
    places = []
    if v2 is not None and "" in groups:
        places += [(folder, v2) for folder in _up_to(ROOT, groups[""])]
    if v1_controller in groups:
        places += [(folder, v1) for folder in _up_to(ROOT / v1_controller, groups[v1_controller])]
    return places


def _up_to(base: Path, group: str) -> list[Path]:
    """The folder of ``group`` under ``base`` and each one above it, ``base`` last."""
    own = base / group.lstrip("/")
    return [own, *(folder for folder in own.parents if folder == base or base in folder.parents)]


def _read(v2: str | None, v1_controller: str, v1: str) -> str | None:
    """The first of the files of :func:`_folders` that can be read, or None."""
    return next((text for folder, name in _folders(v2, v1_controller, v1)
                 if (text := _text(folder / name)) is not None), None)  # fmt: skip


def _text(path: Path) -> str | None:
    try:
        return path.read_text().strip()
    except OSError:
        return None


def _binding_memory() -> tuple[int, Path, str] | None:
    """The smallest memory limit of this process's group and the groups above it: (bytes, the
    folder that sets it, "v2" or "v1"), or None where none is set."""
    limits = []
    for folder, name in _folders("memory.max", "memory", "memory.limit_in_bytes"):
        value = _bytes(_text(folder / name))
        if value is not None:
            limits.append((value, folder, "v2" if name == "memory.max" else "v1"))
    return min(limits, key=lambda limit: limit[0], default=None)


def _bytes(text: str | None) -> int | None:
    if text is None or text == "max":
        return None
    try:
        value = int(text)
    except ValueError:
        return None
    return value if 0 < value < _NO_LIMIT_V1 else None


def memory_limit_bytes() -> int | None:
    """The memory limit in bytes that binds this process (`docker run --memory`, a systemd slice's
    `MemoryMax`, a Slurm job's): the smallest of its control group's and of those above it, or None."""
    binding = _binding_memory()
    return None if binding is None else binding[0]


def memory_used_bytes() -> int | None:
    """Memory the group whose limit binds holds now (else this process's own group) and cannot
    give back at once, in bytes (its usage less the inactive page cache, as `docker stats` counts
    it), or None."""
    binding = _binding_memory()
    if binding is None:
        current, stat = _read("memory.current", "memory", "memory.usage_in_bytes"), _read(
            "memory.stat", "memory", "memory.stat")  # fmt: skip
    else:
        _, folder, version = binding
        current = _text(folder / ("memory.current" if version == "v2" else "memory.usage_in_bytes"))
        stat = _text(folder / "memory.stat")
    try:
        used = int(current or "")
    except ValueError:
        return None
    stat = stat or ""
    fields = dict(line.split(maxsplit=1) for line in stat.splitlines() if " " in line)
    # v1's usage counts the groups below too, as only its total_inactive_file does (v2 has no total_)
    cache = fields.get("total_inactive_file", fields.get("inactive_file", "0"))
    return max(0, used - int(cache)) if cache.isdigit() else used


def cpu_limit_cores() -> int | None:
    """Whole cores this process may use (`docker run --cpus 2.5`: 3): the smallest quota of its
    control group and of those above it, or None."""
    cores = [_cores(folder, name) for folder, name in _folders("cpu.max", "cpu", "cpu.cfs_quota_us")]
    return min((c for c in cores if c is not None), default=None)


def _cores(folder: Path, name: str) -> int | None:
    """The whole cores of the CPU quota in ``folder`` (file ``name``), or None (none set, unreadable)."""
    text = _text(folder / name)
    if text is None:
        return None
    if " " in text:  # v2: "<quota> <period>" or "max <period>"
        quota, period = text.split()[:2]
    else:  # v1: the quota alone, -1 for none; the period in its own file
        quota, period = text, _text(folder / "cpu.cfs_period_us") or "100000"
    try:
        q, p = float(quota), float(period)
    except ValueError:  # "max"
        return None
    return max(1, math.ceil(q / p)) if q > 0 and p > 0 else None
