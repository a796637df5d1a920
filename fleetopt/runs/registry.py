"""The run registry: every solve, evaluate and sweep recorded in a SQLite database in the runs folder.

Several processes may record runs at the same moment: each insert is one short transaction in
WAL mode with a generous busy timeout, so writers wait for each other instead of failing.
"""

from __future__ import annotations

import json
import sqlite3
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from fleetopt.errors import InputError
from fleetopt.runs.folder import RUNS_DIR_VARIABLE, runs_dir

DB_NAME = "registry.sqlite"
MAX_RUN_ID = 2**63 - 1  # SQLite's largest integer: no run can have a larger id
_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    created_utc TEXT NOT NULL,
    kind TEXT NOT NULL,
    command TEXT NOT NULL,
    model_name TEXT NOT NULL,
    model_hash TEXT NOT NULL,
    path TEXT NOT NULL,
    figures TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS runs_model ON runs (model_name, id);
"""


class RegistryError(InputError):
    """An unknown run id, or a run whose folder is gone."""


@dataclass(frozen=True)
class RunRecord:
    id: int
    created_utc: str
    kind: str
    command: str
    model_name: str
    model_hash: str
    path: Path
    figures: dict

    @property
    def exists(self) -> bool:
        return self.path.is_dir()


class Registry:
    BUSY_SECONDS = 60.0  # how long a command waits for another process's lock before giving up

    def __init__(self, folder: Path | None = None):
        self.folder = Path(folder) if folder is not None else runs_dir()
        self.path = self.folder / DB_NAME

    @contextmanager
    def _connection(self) -> Iterator[sqlite3.Connection]:
        """A connection to the registry; a runs folder or database that cannot be used is bad input
        (a folder that is a file, a corrupt or foreign file), named with what to do about it."""
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise RegistryError(
                f"the runs folder {self.folder} (${RUNS_DIR_VARIABLE} or ./runs) cannot be used: "
                f"{exc.strerror or exc}"
            ) from None
        con = None
        try:
            con = sqlite3.connect(self.path, timeout=self.BUSY_SECONDS, isolation_level=None)
            # switching to WAL and creating the table take locks that SQLite may refuse at once
            # (without waiting) while other processes are doing the same: retry those briefly
            _retry_locked(lambda: con.execute("PRAGMA journal_mode=WAL"), self.BUSY_SECONDS)
            _retry_locked(lambda: con.executescript(_SCHEMA), self.BUSY_SECONDS)
            yield con
        except sqlite3.Error as exc:
            if _is_locked(exc):  # another process holds it: waiting longer is the cure, not a new registry
                raise RegistryError(
                    f"the run registry {self.path} stayed locked by another process for {self.BUSY_SECONDS:.0f} s "
                    f"({exc}): "
                    "retry once the other fleetopt command (or the program holding it) has finished"
                ) from None
            raise RegistryError(
                f"the run registry {self.path} cannot be read or written ({exc}): move it away to "
                "start a new one"
            ) from None
        finally:
            if con is not None:
                con.close()

    def check(self) -> None:
        """Refuse an unusable runs folder or registry before a run starts, not after it is written."""
        if self.folder.exists() and not self.folder.is_dir():
            raise RegistryError(f"the runs folder {self.folder} (${RUNS_DIR_VARIABLE} or ./runs) is not a folder")
        if self.path.exists():
            with self._connection() as con:
                con.execute("SELECT COUNT(*) FROM runs").fetchone()

    def record(
        self,
        kind: str,
        model_name: str,
        model_hash: str,
        path: Path,
        figures: dict,
        command: str | None = None,
    ) -> int:
        """Add a run; returns its id."""
        command = command if command is not None else " ".join(["fleetopt", *sys.argv[1:]])
        row = (
            datetime.now(UTC).isoformat(timespec="seconds"),
            kind,
            command,
            model_name,
            model_hash,
            str(Path(path).resolve()),
            json.dumps(figures, default=float),
        )
        with self._connection() as con:
            con.execute("BEGIN IMMEDIATE")
            cur = con.execute(
                "INSERT INTO runs (created_utc, kind, command, model_name, model_hash, path, figures) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                row,
            )
            con.execute("COMMIT")
            return int(cur.lastrowid)

    def list(self, model: str | None = None, limit: int | None = None) -> list[RunRecord]:
        """Runs, newest first, optionally of one model."""
        if not self.path.exists():
            return []
        sql = "SELECT * FROM runs"
        args: list = []
        if model:
            sql += " WHERE model_name = ?"
            args.append(model)
        sql += " ORDER BY id DESC"
        if limit:
            sql += " LIMIT ?"
            args.append(min(limit, MAX_RUN_ID))
        with self._connection() as con:
            return [_record(r) for r in con.execute(sql, args)]

    def get(self, run_id: int) -> RunRecord:
        if self.path.exists() and 0 < run_id <= MAX_RUN_ID:
            with self._connection() as con:
                row = con.execute("SELECT * FROM runs WHERE id = ?", (run_id,)).fetchone()
            if row is not None:
                return _record(row)
        raise RegistryError(f"no run with id {run_id} in {self.path} (see `fleetopt runs`)")

    def id_of(self, path: str | Path) -> int:
        """The id of the latest record of the run folder ``path``."""
        folder = str(Path(path).resolve())
        row = None
        if self.path.exists():
            with self._connection() as con:
                row = con.execute("SELECT MAX(id) FROM runs WHERE path = ?", (folder,)).fetchone()
        if row is None or row[0] is None:
            raise RegistryError(f"{path} is not recorded in {self.path} (see `fleetopt runs`)")
        return int(row[0])

    def resolve(self, ref: str | Path) -> Path:
        """A run folder from a path or a run id; a registered run whose folder is gone is an error."""
        path = Path(ref)
        try:
            exists = path.exists()
        except OSError as exc:  # e.g. a name longer than the file system allows
            shown = str(ref) if len(str(ref)) <= 60 else str(ref)[:60] + "..."
            raise RegistryError(f"{shown} is not a usable path: {exc.strerror}") from None
        if exists or not str(ref).isdigit():
            return path
        record = self.get(int(str(ref)))
        if not record.exists:
            raise RegistryError(f"run {record.id}'s folder {record.path} is missing (deleted or moved)")
        return record.path


def _retry_locked(action, seconds: float):
    deadline = time.monotonic() + seconds
    delay = 0.005
    while True:
        try:
            return action()
        except sqlite3.OperationalError as exc:
            if not _is_locked(exc) or time.monotonic() > deadline:
                raise
            time.sleep(delay)
            delay = min(delay * 2, 0.25)


def _is_locked(exc: sqlite3.Error) -> bool:
    return "locked" in str(exc) or "busy" in str(exc)


def _record(row) -> RunRecord:
    return RunRecord(row[0], row[1], row[2], row[3], row[4], row[5], Path(row[6]), json.loads(row[7]))
