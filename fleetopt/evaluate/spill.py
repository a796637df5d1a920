"""A chunk's rows of results kept in a temporary file instead of memory (docs/evaluation.md, "Chunking").

A chunk's metrics need each plan's results over every scenario (its P5, CVaR5, medians), 216 bytes
a scenario (:func:`~fleetopt.evaluate.simulate.result_bytes`). Where a run's scenarios are split
into blocks and those rows would take more than :data:`ROWS_SHARE` of the memory budget, they go
to a file as each block is simulated, and are read back field by field for the metrics: memory then
holds a chunk's tables, one block and the fields the metrics hold at once, so a chunk can take many
plans on large blocks, and each block of scenarios is made once for all of them.
The values written and read back are the same bits.

The file is made with :func:`tempfile.TemporaryFile` in ``$TMPDIR`` (:func:`tempfile.gettempdir`):
on Linux it has no name from the start, so nothing is left behind whatever ends the run (an error,
Ctrl-C, a kill).
"""

from __future__ import annotations

import errno
import os
import re
import shutil
import tempfile
from collections.abc import Iterator, Mapping

import numpy as np

from fleetopt.core.units import counted, format_bytes
from fleetopt.errors import InputError
from fleetopt.evaluate.simulate import RESULT_FIELDS, RESULT_VALUE_BYTES, result_bytes

# The rows go to a file where they would take more than this share of the budget.
ROWS_SHARE = 0.5
# ... and where the file takes at most this share of the free space of its folder,
DISK_SHARE = 0.5
# ... and this many times the budget: a chunk then holds about 16 times the plans their rows in memory would
# (half the budget), each block made 16 times less, but a run never writes tens of GB unasked
SPILL_BUDGET_TIMES = 8


class SpillError(InputError):
    """The temporary file of a chunk's results could not be made, written or read (a full disk, say):
    exit status 2, as for a printout that could not be written, naming the folder and the remedies."""


def spill_folder() -> str:
    """Where the rows go: the folder :mod:`tempfile` uses (``$TMPDIR``, else /tmp and the like)."""
    return tempfile.gettempdir()


def tmpdir_passed_over() -> str | None:
    """``$TMPDIR`` where it is set but :mod:`tempfile` passed it over for another folder (it is
    missing, not a folder, or cannot be written), else None: a run that was told where its file
    goes says so, rather than filling another disk silently."""
    asked = os.environ.get("TMPDIR")
    return asked if asked and os.path.abspath(asked) != spill_folder() else None


def plans_spill_holds(n_scenarios: int, budget_bytes: int, folder: str | None = None) -> int:
    """How many plans' rows of results over ``n_scenarios`` scenarios a file in ``folder`` (None:
    :func:`spill_folder`) may hold in a run within a memory budget of ``budget_bytes``: at most
    :data:`DISK_SHARE` of its free space and :data:`SPILL_BUDGET_TIMES` the budget (0 where the
    free space cannot be read, or where the folder is in memory: :func:`folder_in_memory`)."""
    folder = folder or spill_folder()
    try:
        free = shutil.disk_usage(folder).free
    except OSError:
        return 0
    if folder_in_memory(folder):
        return 0
    room = min(int(DISK_SHARE * free), SPILL_BUDGET_TIMES * budget_bytes)
    return room // result_bytes(1, n_scenarios)


# Filesystems whose files are memory: rows written there take the RAM they would in the process
_MEMORY_FILESYSTEMS = ("tmpfs", "ramfs")
MOUNTS = "/proc/mounts"


def folder_in_memory(folder: str, mounts: str | None = None) -> bool:
    """Whether ``folder`` is on a tmpfs or ramfs (a /tmp on Fedora, Arch or Debian 13, /dev/shm, a
    Kubernetes emptyDir of medium Memory): the filesystem of the longest mount point in ``mounts``
    (a path, None: :data:`MOUNTS`) holding its real path, the last mounted there. False where the
    mounts cannot be read (a disk is assumed, as on macOS)."""
    try:
        with open(mounts or MOUNTS, encoding="utf-8", errors="replace") as table:
            lines = table.read().splitlines()
    except OSError:
        return False
    path, found, kind = os.path.realpath(folder), "", None
    for line in lines:
        fields = line.split()
        if len(fields) < 3:
            continue
        point = _unescaped(fields[1])
        if _holds(point, path) and len(point) >= len(found):
            found, kind = point, fields[2]
    return kind in _MEMORY_FILESYSTEMS


def _unescaped(point: str) -> str:
    """A mount point as /proc/mounts writes it, its spaces, tabs, newlines and backslashes octal."""
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), point)


def _holds(point: str, path: str) -> bool:
    """Whether mount point ``point`` holds ``path`` (a whole path component: /tmp not /tmpx)."""
    return point == "/" or path == point or path.startswith(point.rstrip("/") + "/")


class SpilledRows:
    """(plans x scenarios) results of :data:`RESULT_FIELDS` in a temporary file: field after field,
    in each plan's row after row, so that a block's results are one write per plan and field, and a
    plan's row of one field one read."""

    def __init__(self, n_plans: int, n_scenarios: int, folder: str | None = None):
        self.P, self.S = n_plans, n_scenarios
        self.folder = folder or spill_folder()
        self.dtypes: dict[str, np.dtype] = {}  # each field's, from the first block written
        try:
            self.file = tempfile.TemporaryFile(dir=self.folder)  # noqa: SIM115 (closed by close())
        except OSError as exc:
            raise self._failed("made", exc) from None
        self._allocate()

    def _allocate(self) -> None:
        """Take the file's whole size on the disk now, so that a disk without room stops the run
        before its first block, not at its last (a file is otherwise allocated as it is written);
        where the platform or the filesystem cannot (macOS, some network filesystems), as written."""
        allocate = getattr(os, "posix_fallocate", None)
        try:
            if allocate is not None:
                allocate(self.file.fileno(), 0, result_bytes(self.P, self.S))
        except OSError as exc:
            if exc.errno in (errno.EOPNOTSUPP, errno.EINVAL):
                return
            self.file.close()
            raise self._failed("made", exc) from None

    def write(self, out: dict, s0: int, s1: int) -> None:
        """Keep ``out``'s (plans, scenarios) arrays of every field, for scenarios ``s0 .. s1 - 1``."""
        for name in RESULT_FIELDS:
            values = np.ascontiguousarray(out[name])
            self._check(name, values, s0, s1)
            for p in range(values.shape[0]):
                row = memoryview(values[p]).cast("B")
                self._transfer(os.pwrite, row, self._offset(name, p, s0), "written")

    def _check(self, name: str, values: np.ndarray, s0: int, s1: int) -> None:
        """Refuse a block that would corrupt the file: each field's dtype is its first block's (its
        offsets count its itemsize, at most a slot's), its shape (plans, scenarios of the block)."""
        dtype = self.dtypes.setdefault(name, values.dtype)
        if values.dtype != dtype or dtype.itemsize > RESULT_VALUE_BYTES:
            raise ValueError(f"result {name!r}: a block of dtype {values.dtype}, the file's is {dtype} "
                             f"(at most {RESULT_VALUE_BYTES} bytes a value)")
        if values.shape != (self.P, s1 - s0) or not 0 <= s0 < s1 <= self.S:
            raise ValueError(f"result {name!r}: a block of shape {values.shape} for scenarios {s0} .. "
                             f"{s1 - 1}, expected ({self.P}, {s1 - s0}) within {self.S} scenarios")

    def read(self, name: str, first: int, stop: int) -> np.ndarray:
        """(stop - first, S) rows of field ``name`` of plans ``first .. stop - 1``."""
        values = np.empty((stop - first, self.S), dtype=self.dtypes[name])
        self._transfer(_pread, memoryview(values).cast("B"), self._offset(name, first, 0), "read")
        return values

    def rows(self, first: int, stop: int) -> Mapping[str, np.ndarray]:
        """Plans ``first .. stop - 1``'s results by field, each read when asked for (the metrics
        hold a few at a time)."""
        return _Rows(self, first, stop)

    def close(self) -> None:
        self.file.close()

    def _offset(self, name: str, plan: int, scenario: int) -> int:
        field = RESULT_FIELDS.index(name)
        # each field a slot of RESULT_VALUE_BYTES a value (its dtype's bytes used: a bool takes 1)
        slot = field * RESULT_VALUE_BYTES * self.P * self.S
        return slot + (plan * self.S + scenario) * self.dtypes[name].itemsize

    def _transfer(self, move, view: memoryview, offset: int, done: str) -> None:
        """All of ``view`` written (os.pwrite) or read (:func:`_pread`) at ``offset``, by as many
        calls of ``move(fd, part, offset)`` as it takes (each may move only part)."""
        fd, moved = self.file.fileno(), 0
        try:
            while moved < len(view):
                n = move(fd, view[moved:], offset + moved)
                if n == 0:
                    raise OSError(errno.EIO, "the file ended before its rows")
                moved += n
        except OSError as exc:
            raise self._failed(done, exc) from None

    def _failed(self, done: str, exc: OSError) -> SpillError:
        size = format_bytes(result_bytes(self.P, self.S))
        return SpillError(
            f"the temporary file of a chunk's rows of results ({size} for {counted(self.P, 'plan')} x "
            f"{counted(self.S, 'scenario')}) could not be {done} in {self.folder}: "
            f"{exc.strerror or exc}; free space there, set TMPDIR to a folder with room, or give a "
            "larger max_memory (fleetopt evaluate --max-memory), which keeps the rows in memory"
        )


def _pread(fd: int, view: memoryview, offset: int) -> int:
    """os.pread into ``view`` (no copy): the bytes read."""
    return os.preadv(fd, [view], offset)


class _Rows(Mapping):
    """:meth:`SpilledRows.rows`: a read-only mapping of field name to rows, read on each access."""

    def __init__(self, spilled: SpilledRows, first: int, stop: int):
        self.spilled, self.first, self.stop = spilled, first, stop

    def __getitem__(self, name: str) -> np.ndarray:
        if name not in self.spilled.dtypes:
            raise KeyError(name)
        return self.spilled.read(name, self.first, self.stop)

    def __contains__(self, name: object) -> bool:  # without reading the field, as Mapping's would
        return name in self.spilled.dtypes

    def __iter__(self) -> Iterator[str]:
        return iter(self.spilled.dtypes)

    def __len__(self) -> int:
        return len(self.spilled.dtypes)
