"""What this machine lends a run: cores and the physical memory a simulation chunk runs in, and
the caps that hold a run's settings (threads, memory budget) to them, with a warning.

Defined once, for the Python API (fleetopt.api) and the CLI (which names its options instead).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from fleetopt.core.units import sizes_apart
from fleetopt.errors import warn
from fleetopt.evaluate import cgroups
from fleetopt.evaluate.backend import cupy_device, usable_cores


@dataclass(frozen=True)
class DeviceMemory:
    size: int  # bytes
    what: str  # whose memory, for the warning: 'the 8 GB of <what>'


def physical_ram_bytes() -> int | None:
    """This machine's physical memory, at most its container's limit (`docker run --memory`), or
    None where the platform says neither."""
    try:
        ram = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        ram = None
    limit = cgroups.memory_limit_bytes()
    return ram if limit is None else min(ram or limit, limit)


def simulation_memory(backend: str, executor: str, workers: int) -> DeviceMemory | None:
    """The physical memory the simulation runs in: the GPU's for CuPy, else this machine's RAM (the
    whole of it for ``workers`` processes too: a budget is the run's, each worker sizing its chunks
    to its share). None where it cannot be known here: Ray tasks run on the cluster's machines, and
    a CuPy that cannot run is refused later."""
    if executor == "ray":
        return None
    if backend in ("auto", "cupy") and workers == 1:
        found = cupy_device()
        if found is not None:
            cupy, name = found
            return DeviceMemory(int(cupy.cuda.runtime.memGetInfo()[1]), f"memory of the GPU ({name})")
        if backend == "cupy":
            return None
    ram = physical_ram_bytes()
    if ram is None:
        return None
    limit = cgroups.memory_limit_bytes()
    whose = "memory limit of this container" if limit == ram else "physical memory (RAM) of this machine"
    if workers > 1:
        whose += f", shared by the {workers} workers"
    return DeviceMemory(ram, whose)


def budget_within_memory(
    budget: int | None, backend: str, executor: str, workers: int, name: str = "max_memory"
) -> int | None:
    """The memory budget ``budget`` (bytes; None: the default), at most the memory the simulation
    runs in (:func:`simulation_memory`): chunks sized beyond it could never be held (the run would
    swap or be killed), so a larger budget is capped to it with a :class:`FleetoptWarning` naming
    both sizes and the setting as ``name``. The results do not depend on the chunk sizes."""
    memory = simulation_memory(backend, executor, workers) if budget is not None else None
    if memory is None or budget <= memory.size:
        return budget
    given, size = sizes_apart(budget, memory.size)
    warn(f"{name} {given} is more than the {size} of {memory.what}: the budget is capped to {size}")
    return memory.size


def capped_threads(threads: int | None, name: str = "threads") -> int | None:
    """``threads``, at most the cores this process may use (more only queue for the same cores),
    with a :class:`FleetoptWarning` naming the setting as ``name`` when it is capped."""
    return _capped_to_cores(threads, name)


def capped_workers(workers: int, executor: str = "local", name: str = "workers") -> int:
    """``workers`` processes of a local evaluation, at most the cores this process may use (each
    worker computes on one core: more only take turns on the same cores, and each holds its own
    copy of the model), with a :class:`FleetoptWarning` naming the setting as ``name`` when it is
    capped. Ray's tasks run on the cluster's cores: its ``workers`` is left as it is."""
    return workers if executor == "ray" else _capped_to_cores(workers, name)


def _capped_to_cores(value: int | None, name: str) -> int | None:
    cores = usable_cores()
    if value is not None and value > cores:
        message = f"{name} {value:,} capped to {cores}, the cores this machine lets fleetopt use"
        warn(message)
        return cores
    return value
