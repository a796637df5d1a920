"""A chunk's rows of results kept in a file instead of memory (docs/evaluation.md, "Chunking").

A chunk's metrics need each plan's results over every scenario (its P5, CVaR5, medians), 216 bytes
a (plan, scenario) pair, 224 for a plan solved for least cost, whose present cost is one more field
(:func:`~fleetopt.evaluate.result_fields.result_bytes` of its
:func:`~fleetopt.evaluate.result_fields.fields_kept`). Where a run's scenarios are split
into blocks and those rows would take more than :data:`ROWS_SHARE` of the memory budget, they go
to a file as each block is simulated, and are read back field by field for the metrics: memory then
holds a chunk's tables, one block and the fields the metrics hold at once, so a chunk can take many
plans on large blocks, and each block of scenarios is made once for all of them.
The values written and read back are the same bits.

A run that keeps a job folder (a `fleetopt evaluate` or sweep run, which can be resumed) keeps the
file in its chunks/ folder (:class:`KeptRows`), synced with a record of the scenarios done as each
block ends, so that a stopped run goes on from its last block; the chunk's file is removed once the
chunk is saved. Any other run makes it with :func:`tempfile.TemporaryFile` in ``$TMPDIR``
(:func:`tempfile.gettempdir`, :class:`SpilledRows`): on Linux it has no name from the start, so
nothing is left behind whatever ends the run (an error, Ctrl-C, a kill).
"""

from __future__ import annotations

import errno
import json
import os
import re
import shutil
import tempfile
import time
import zlib
from collections.abc import Iterator, Mapping
from pathlib import Path

import numpy as np

from fleetopt.core.units import counted, format_bytes
from fleetopt.errors import InputError, warn
from fleetopt.evaluate.result_fields import RESULT_FIELDS, RESULT_VALUE_BYTES, fields_kept, result_bytes
from fleetopt.runs.files import read_json, write_bytes_atomic

# The rows go to a file where they would take more than this share of the budget.
ROWS_SHARE = 0.5
# ... and where the file takes at most this share of the free space of its folder,
DISK_SHARE = 0.5
# ... and this many times the budget: a chunk then holds about 16 times the plans their rows in memory would
# (half the budget), each block made 16 times less, but a run never writes tens of GB unasked
SPILL_BUDGET_TIMES = 8


class SpillError(InputError):
    """The file of a chunk's results could not be made, written or read (a full disk, say):
    exit status 2, as for a printout that could not be written, naming the folder and the remedies."""


def spill_folder() -> str:
    """Where the rows of a run without a job folder go: the folder :mod:`tempfile` uses
    (``$TMPDIR``, else /tmp and the like)."""
    return tempfile.gettempdir()


def plans_spill_holds(n_scenarios: int, budget_bytes: int, folder: str | Path | None = None) -> int:
    """How many plans' rows of results over ``n_scenarios`` scenarios a file in ``folder`` (None:
    :func:`spill_folder`) may hold in a run within a memory budget of ``budget_bytes``: at most
    :data:`DISK_SHARE` of its free space and :data:`SPILL_BUDGET_TIMES` the budget (0 where the
    free space cannot be read, or where the folder is in memory: :func:`folder_in_memory`)."""
    folder = str(folder or spill_folder())
    try:
        free = shutil.disk_usage(_made_part(folder)).free
    except OSError:
        return 0
    if folder_in_memory(folder):
        return 0
    room = min(int(DISK_SHARE * free), SPILL_BUDGET_TIMES * budget_bytes)
    return room // result_bytes(1, n_scenarios)


def _made_part(folder: str) -> str:
    """``folder``, or where it is not made yet (a job folder before it starts) the nearest folder
    above it that is: its disk."""
    path = os.path.abspath(folder)
    while not os.path.isdir(path) and os.path.dirname(path) != path:
        path = os.path.dirname(path)
    return path


# Filesystems whose files are memory: rows written there take the RAM they would in the process
_MEMORY_FILESYSTEMS = ("tmpfs", "ramfs")
MOUNTS = "/proc/mounts"


def folder_in_memory(folder: str | Path, mounts: str | None = None) -> bool:
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
    """(plans x scenarios) results of ``fields`` (:data:`RESULT_FIELDS` unless said) in a temporary
    file: field after field, in each plan's row after row, so that a block's results are one write
    per plan and field, and a plan's row of one field one read."""

    # what the run's error says to do where the file cannot be made or written
    REMEDY = ("free space there, set TMPDIR to a folder with room, or give a larger max_memory (fleetopt "
              "evaluate --max-memory), which keeps the rows in memory")  # fmt: skip

    def __init__(self, n_plans: int, n_scenarios: int, folder: str | None = None,
                 fields: tuple[str, ...] = RESULT_FIELDS):  # fmt: skip
        self.P, self.S, self.fields = n_plans, n_scenarios, fields
        self.folder = folder or spill_folder()
        self.dtypes: dict[str, np.dtype] = {}  # each field's, from the first block written
        try:
            self.file = self._open()
        except OSError as exc:
            raise self._failed("made", exc) from None
        self._allocate()

    def _open(self):
        return tempfile.TemporaryFile(dir=self.folder)  # closed by close()

    def nbytes(self) -> int:
        """The file's size, bytes: :func:`result_bytes` of its plans, scenarios and fields."""
        return result_bytes(self.P, self.S, self.fields)

    def _allocate(self) -> None:
        """Take the file's whole size on the disk now, so that a disk without room stops the run
        before its first block, not at its last (a file is otherwise allocated as it is written);
        where the platform or the filesystem cannot (macOS, some network filesystems), as written."""
        allocate = getattr(os, "posix_fallocate", None)
        try:
            if allocate is not None:
                allocate(self.file.fileno(), 0, self.nbytes())
        except OSError as exc:
            if exc.errno in (errno.EOPNOTSUPP, errno.EINVAL):
                return
            self.file.close()
            raise self._failed("made", exc) from None

    def write(self, out: dict, s0: int, s1: int) -> None:
        """Keep ``out``'s (plans, scenarios) arrays of every field, for scenarios ``s0 .. s1 - 1``."""
        for name in self.fields:
            self._write_field(name, np.ascontiguousarray(out[name]), s0, s1)

    def _write_field(self, name: str, values: np.ndarray, s0: int, s1: int) -> None:
        """Keep field ``name``'s C-contiguous (plans, scenarios) ``values`` of scenarios ``s0 .. s1 - 1``."""
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
        field = self.fields.index(name)
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
        size = format_bytes(self.nbytes())
        return SpillError(
            f"the file of a chunk's rows of results ({size} for {counted(self.P, 'plan')} x "
            f"{counted(self.S, 'scenario')}) could not be {done} in {self.folder}: "
            f"{exc.strerror or exc}; {self.REMEDY}"
        )


# How often, at most, a chunk's file of kept rows is synced and its record replaced while the chunk
# runs, seconds: a block of tiny's is ~25 ms of CPU, and a sync as long (30 ms on the 2-core VM), so
# every block would double its time. A stop (Ctrl-C, SIGTERM) or an error records every block
# finished as the chunk ends (KeptRows.close); a kill or a power cut loses at most this much more.
RECORD_EVERY_S = 10.0


class KeptRows(SpilledRows):
    """A chunk's rows of results in a file of its run's job folder, ``STEM.bin``, kept block by
    block, so that a run stopped part-way through the chunk goes on from its last block when
    resumed. After the fields' rows come each scenario's market demand over the horizon, 8 bytes a
    scenario. The record ``STEM.json`` says what the file holds: the chunk's ``identity``, its plans
    and scenarios, each field's dtype, the scenarios done (``done``), each plan's count of them a
    delivery slip moved, and how many of them each ``device`` computed; and each block's ``blocks``
    entry (:func:`block_entry`): its scenarios, the CRC-32 of its bytes, its device and its slipped
    counts. :meth:`keep` counts a block done once its rows (:meth:`write`) and demand are written;
    the record is replaced, after the file is synced, at most every :data:`RECORD_EVERY_S` and when
    the chunk ends (:meth:`close`: finished, stopped or failed), so it never counts a block the file
    may not hold. A file whose record is missing, damaged or of another identity, plan count or
    scenario count is started anew; one whose bytes a block's CRC-32 no longer matches (a disk's
    error, an edit) goes on from that block, with a warning naming the file and the block. The same
    bits as a chunk computed straight: a pair's results and a scenario's demand are their own, the
    counts whole numbers."""

    REMEDY = ("free space there, or give a larger max_memory (fleetopt evaluate --max-memory), which "
              "keeps the rows in memory")  # fmt: skip

    def __init__(self, stem: Path, identity: dict | None, n_plans: int, n_scenarios: int, device: str = "",
                 fields: tuple[str, ...] = RESULT_FIELDS):  # fmt: skip
        self.stem, self.identity, self.device = stem, identity, device
        record = kept_record(stem, identity, n_plans, n_scenarios, fields) or {
            "done": 0, "slipped": [0.0] * n_plans, "devices": {}}  # fmt: skip
        self.done = self.recorded = record["done"]
        self.slipped = np.array(record["slipped"], dtype=float)  # over the scenarios done
        # the scenarios kept by earlier attempts, by where they computed them; and with this one's
        self.earlier: dict[str, int] = dict(record["devices"])
        self.devices = dict(self.earlier)
        self.recorded_at = time.monotonic()
        self.blocks: list[dict] = list(record.get("blocks", []))  # block_entry of each block kept
        self.block_crc = 0  # the CRC-32 of the rows of the block being written (write), then its demand
        super().__init__(n_plans, n_scenarios, str(stem.parent), fields)
        self.dtypes = {name: np.dtype(kind) for name, kind in record.get("dtypes", {}).items()}
        if self.done:
            self._keep_intact_blocks()

    def _open(self):
        # an unfinished chunk's file is continued; any other is made anew (emptied)
        return open(rows_path(self.stem), "r+b" if self.done else "w+b")  # closed by close()

    def nbytes(self) -> int:
        return kept_file_bytes(self.P, self.S, self.fields)

    @staticmethod
    def extra_bytes(n_scenarios: int) -> int:
        """Bytes after the rows: each scenario's demand."""
        return RESULT_VALUE_BYTES * n_scenarios

    def write(self, out: dict, s0: int, s1: int) -> None:
        """:meth:`SpilledRows.write`, and the CRC-32 of the block's rows, field after field, over the
        bytes it wrote (no copy where they are contiguous): about 1.4 GB/s, a block's write."""
        self.block_crc = 0
        super().write(out, s0, s1)

    def _write_field(self, name: str, values: np.ndarray, s0: int, s1: int) -> None:
        super()._write_field(name, values, s0, s1)
        self.block_crc = zlib.crc32(values, self.block_crc)

    def keep(self, s0: int, s1: int, demand: np.ndarray, slipped: np.ndarray) -> None:
        """Count scenarios ``s0 .. s1 - 1``, whose rows :meth:`write` wrote, done: their ``demand``
        written, with ``slipped``, each plan's count over the scenarios up to ``s1``. Blocks are
        kept in order (``s0`` is :attr:`done`)."""
        if s0 != self.done:
            raise ValueError(f"scenarios {s0} .. {s1 - 1} kept after {self.done}: blocks are kept in order")
        offset = self._demand_offset(s0)
        demand = np.ascontiguousarray(demand, dtype=float)
        self._transfer(os.pwrite, memoryview(demand).cast("B"), offset, "written")
        slipped = np.array(slipped, dtype=float)
        crc = zlib.crc32(demand, self.block_crc)
        self.blocks.append(block_entry(s0, s1, crc, self.device, slipped - self.slipped))
        self.done, self.slipped = s1, slipped
        self.devices[self.device] = self.devices.get(self.device, 0) + s1 - s0
        if time.monotonic() - self.recorded_at >= RECORD_EVERY_S:
            self._record()

    def _record(self) -> None:
        """Sync the file, then replace the record with the scenarios done."""
        record = {"identity": self.identity, "plans": self.P, "scenarios": self.S, "done": self.done,
                  "slipped": self.slipped.tolist(), "devices": self.devices,
                  "dtypes": {name: dtype.str for name, dtype in self.dtypes.items()},
                  "blocks": self.blocks}  # fmt: skip
        try:
            os.fsync(self.file.fileno())
            write_bytes_atomic(record_path(self.stem), json.dumps(record).encode())
        except OSError as exc:
            raise self._failed("written", exc) from None
        self.recorded, self.recorded_at = self.done, time.monotonic()

    def _keep_intact_blocks(self) -> None:
        """Check each block kept against its CRC-32, in order, before the chunk goes on from them:
        from the first whose bytes differ, the blocks are dropped (the record replaced, or removed
        where none is left) with a warning naming the file and the block, and computed again."""
        for index, block in enumerate(self.blocks):
            s0, s1 = block["scenarios"]
            if self._block_crc(s0, s1) == block["crc32"]:
                continue
            warn(f"{rows_path(self.stem)}: the rows of scenarios {s0:,} .. {s1 - 1:,} differ from what "
                 "was written (their checksum fails: the file was damaged or changed): they and the "
                 f"{counted(self.done - s1, 'scenario')} after them are computed again")  # fmt: skip
            self._drop_blocks_from(index)
            return

    def _block_crc(self, s0: int, s1: int) -> int:
        """The CRC-32 of scenarios ``s0 .. s1 - 1``'s rows and demand as the file holds them, in the
        order :meth:`write` and :meth:`keep` took it."""
        crc = 0
        for name in self.fields:
            values = np.empty((self.P, s1 - s0), dtype=self.dtypes[name])
            for p in range(self.P):
                self._transfer(_pread, memoryview(values[p]).cast("B"), self._offset(name, p, s0), "read")
            crc = zlib.crc32(values, crc)
        demand = np.empty(s1 - s0)
        self._transfer(_pread, memoryview(demand).cast("B"), self._demand_offset(s0), "read")
        return zlib.crc32(demand, crc)

    def _drop_blocks_from(self, index: int) -> None:
        """Keep the blocks before ``index`` alone: the scenarios done, slipped counts and devices of
        those, recorded (no record where none is left)."""
        self.blocks = self.blocks[:index]
        self.done = self.blocks[-1]["scenarios"][1] if self.blocks else 0
        self.slipped, self.earlier = np.zeros(self.P), {}
        for block in self.blocks:
            for plan, count in block["slipped"]:
                self.slipped[plan] += count
            s0, s1 = block["scenarios"]
            self.earlier[block["device"]] = self.earlier.get(block["device"], 0) + s1 - s0
        self.devices = dict(self.earlier)
        if self.done:
            self._record()
        else:
            record_path(self.stem).unlink(missing_ok=True)
            self.recorded = 0

    def close(self) -> None:
        """Record the blocks done since the last record, then close the file: kept for the run's
        resume (its chunk saved, the store removes it), or removed where it holds no block
        recorded. Where the record cannot be written (a disk full: the error that ended the chunk,
        say), the last one stands."""
        try:
            if self.done > self.recorded and not self.file.closed:
                self._record()
        except SpillError:
            pass
        finally:
            super().close()
            if not self.recorded:
                rows_path(self.stem).unlink(missing_ok=True)

    def _demand_offset(self, scenario: int) -> int:
        """Where ``scenario``'s demand is in the file, bytes: after every field's rows."""
        return result_bytes(self.P, self.S, self.fields) + RESULT_VALUE_BYTES * scenario

    def demand(self) -> np.ndarray:
        """(done,) the market demand of the scenarios done, as :meth:`keep` wrote it."""
        values = np.empty(self.done)
        offset = self._demand_offset(0)
        self._transfer(_pread, memoryview(values).cast("B"), offset, "read")
        return values


def block_entry(s0: int, s1: int, crc: int, device: str, slipped: np.ndarray) -> dict:
    """A :class:`KeptRows` block as its record lists it: its scenarios ``s0 .. s1 - 1``, the CRC-32
    of its rows and demand, the ``device`` that computed it, and the scenarios of it a delivery slip
    moved each plan's GPUs in (``slipped``, by plan), as [plan, count] where not 0."""
    moved = [[int(p), float(slipped[p])] for p in np.flatnonzero(slipped)]
    return {"scenarios": [int(s0), int(s1)], "crc32": int(crc), "device": device, "slipped": moved}


def kept_file_bytes(n_plans: int, n_scenarios: int, fields: tuple[str, ...] = RESULT_FIELDS) -> int:
    """The size of a :class:`KeptRows` file, bytes: the rows of results, then each scenario's demand."""
    return result_bytes(n_plans, n_scenarios, fields) + KeptRows.extra_bytes(n_scenarios)


def rows_path(stem: Path) -> Path:
    """Where :class:`KeptRows` of ``stem`` keeps the rows: ``STEM.bin``."""
    return stem.parent / f"{stem.name}.bin"


def record_path(stem: Path) -> Path:
    """Where :class:`KeptRows` of ``stem`` keeps its record: ``STEM.json``."""
    return stem.parent / f"{stem.name}.json"


def kept_record(stem: Path, identity: dict | None, n_plans: int, n_scenarios: int,
                fields: tuple[str, ...] | None = RESULT_FIELDS) -> dict | None:  # fmt: skip
    """The record of a :class:`KeptRows` of ``stem`` that holds some scenarios of a chunk of
    ``identity`` (None: any), ``n_plans`` plans and ``n_scenarios`` scenarios (a count of each
    plan's slipped ones, each attempt's share of them), every one of ``fields`` (None: any set a
    run keeps, :func:`fields_kept`) with a dtype of at most 8 bytes, beside a file of its size;
    else None."""
    try:
        record = read_json(record_path(stem).read_bytes())
        size = rows_path(stem).stat().st_size
        dtypes = [np.dtype(kind) for kind in record["dtypes"].values()]
        done, slipped = record["done"], np.array(record["slipped"], dtype=float)
        counted_right = sum(record["devices"].values()) == done and slipped.shape == (n_plans,)
        counted_right = counted_right and _blocks_fit(record["blocks"], done, n_plans)
    except (OSError, ValueError, TypeError, KeyError, AttributeError):
        return None
    fits = (identity is None or record.get("identity") == identity) and record.get("plans") == n_plans
    fits = fits and record.get("scenarios") == n_scenarios and type(done) is int and 0 < done <= n_scenarios
    if fields is None:  # a run not named (a stopped job's saved work): the fields its record lists
        kinds = (fields_kept(cost, prepay) for cost in (False, True) for prepay in (False, True))
        fields = next((f for f in kinds if set(f) == set(record["dtypes"])), ())
    fits = fits and counted_right and bool(fields) and set(record["dtypes"]) == set(fields)
    if not (fits and all(d.itemsize <= RESULT_VALUE_BYTES for d in dtypes)):
        return None
    return record if size >= kept_file_bytes(n_plans, n_scenarios, fields) else None


def _blocks_fit(blocks: list, done: int, n_plans: int) -> bool:
    """Whether a record's ``blocks`` (:func:`block_entry`) follow one another from scenario 0 to
    ``done``, each with a CRC-32, a device and its slipped counts of plans below ``n_plans``."""
    stop = 0
    for block in blocks:
        (s0, s1), crc, device = block["scenarios"], block["crc32"], block["device"]
        plans = [plan for plan, _ in block["slipped"]]
        if not (s0 == stop < s1 and type(crc) is int and isinstance(device, str)):
            return False
        if not all(type(plan) is int and 0 <= plan < n_plans for plan in plans):
            return False
        stop = s1
    return stop == done


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
