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


def _read(v2: str | None, v1_controller: str, v1: str) -> str | None:
    """The first of this process's group's file ``v2`` (unified hierarchy; None: v1 only) or ``v1``
    (under the ``v1_controller`` hierarchy), looked for in the group's folder, then at the hierarchy's root
    (inside a container the root is the container's own group)."""
    groups = _groups()
    places = []
    if v2 is not None and "" in groups:
        places += [ROOT / groups[""].lstrip("/") / v2, ROOT / v2]
    if v1_controller in groups:
        base = ROOT / v1_controller
        places += [base / groups[v1_controller].lstrip("/") / v1, base / v1]
    for place in places:
        try:
            return place.read_text().strip()
        except OSError:
            continue
    return None


def _bytes(text: str | None) -> int | None:
    if text is None or text == "max":
        return None
    try:
        value = int(text)
    except ValueError:
        return None
    return value if 0 < value < _NO_LIMIT_V1 else None


def memory_limit_bytes() -> int | None:
    """This process's control group's memory limit in bytes (`docker run --memory`), or None."""
    return _bytes(_read("memory.max", "memory", "memory.limit_in_bytes"))


def memory_used_bytes() -> int | None:
    """Memory this process's control group holds now and cannot give back at once, in bytes (its
    usage less the inactive page cache, as `docker stats` counts it), or None."""
    try:
        used = int(_read("memory.current", "memory", "memory.usage_in_bytes") or "")
    except ValueError:
        return None
    stat = _read("memory.stat", "memory", "memory.stat") or ""
    fields = dict(line.split(maxsplit=1) for line in stat.splitlines() if " " in line)
    cache = fields.get("inactive_file", fields.get("total_inactive_file", "0"))
    return max(0, used - int(cache)) if cache.isdigit() else used


def cpu_limit_cores() -> int | None:
    """Whole cores this process's control group may use (`docker run --cpus 2.5`: 3), or None."""
    text = _read("cpu.max", "cpu", "cpu.cfs_quota_us")
    if text is None:
        return None
    if " " in text:  # v2: "<quota> <period>" or "max <period>"
        quota, period = text.split()[:2]
    else:  # v1: the quota alone, -1 for none; the period in its own file
        quota, period = text, _read(None, "cpu", "cpu.cfs_period_us") or "100000"
    try:
        q, p = float(quota), float(period)
    except ValueError:  # "max"
        return None
    return max(1, math.ceil(q / p)) if q > 0 and p > 0 else None
