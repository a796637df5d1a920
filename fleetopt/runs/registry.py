"""The run registry: every solve, evaluate and sweep recorded in a SQLite database in the runs folder.

Several processes may record runs at the same moment: each insert is one short transaction in
WAL mode with a generous busy timeout, so writers wait for each other instead of failing.

Run folders are kept by their absolute paths, as every version of fleetopt reads them, spelt from
where the runs folder was when the registry was first opened by this version (`registry_facts`):
a runs folder moved or copied whole (off a cloud instance, say) keeps its records, each folder
inside it found where the runs folder now is.
"""

from __future__ import annotations

import json
import os
import sqlite3
import sys
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from numbers import Integral
from pathlib import Path

import pandas as pd

from fleetopt.core.metric_columns import ANY_DEFAULT_LABEL
from fleetopt.core.notebook import html_text, markdown_table, markdown_text
from fleetopt.core.units import format_duration, format_percent, format_usd
from fleetopt.errors import Argument, InputError, user_path
from fleetopt.runs.file_text import finite_json
from fleetopt.runs.files import read_json, unwritable_ancestor, utf8_text
from fleetopt.runs.folder import RunFolder
from fleetopt.runs.key_figures import OUT_OF_SAMPLE
from fleetopt.runs.limits import utf8
from fleetopt.runs.location import RUNS_DIR_VARIABLE, runs_dir
from fleetopt.schema.model_changes import (
    MODEL_CHANGES,
    ModelChange,
    edited_name,
    recorded_changes,
    recorded_model_changes,
)
from fleetopt.schema.shown_values import typed_value

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
CREATE INDEX IF NOT EXISTS runs_path ON runs (path, id);
CREATE TABLE IF NOT EXISTS registry_facts (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""
FORMER_PLACE = "runs_folder"  # registry_facts' key: the runs folder as the records spell their folders


# the results fleetopt.api.compare takes as they are, in memory (not a SweepResult: its plans are a run's)
_COMPARED_AS_IS = ("SolveResult", "StochasticResult")
# the call writing each result's run folder, which is what a run argument takes of it
_RUN_WRITERS = {"SolveResult": "write_solve_run(result)", "StochasticResult": "write_stochastic_run(result)",
                "SweepResult": "write_sweep_run(result)", "Evaluated": "write_evaluate_run(evaluated)",
                # an evaluation's result alone holds neither its model nor its plans
                "EvaluationResult": "write_evaluate_run(result, model, plans)"}  # fmt: skip


def _result_in_memory(result, name: str) -> RegistryError:
    """The refusal of a result in memory (a SolveResult, a SweepResult ...) given as a run: it is
    evaluated once written as one (an evaluation's run names the plan file it read, which its report
    and a resume read again); a solve's is compared in memory too (a sweep's is not)."""
    kinds = [c.__name__ for c in type(result).__mro__]
    kind = next((k for k in kinds if k in _RUN_WRITERS), kinds[0])
    writer = _RUN_WRITERS.get(kind)
    writer = f"folder = fleetopt.api.{writer}" if writer else "fleetopt.api.write_*_run"
    in_memory = ""
    if kind == "StochasticResult":  # two plans of its own: compared alone
        in_memory = ("; or, without writing it, compare its two plans (the stochastic plan and the forecast "
                     "optimum) on common scenarios: fleetopt.api.compare(result)")  # fmt: skip
    elif kind in _COMPARED_AS_IS:
        in_memory = (f"; or, without writing it, compare the {kind} with other plans on common scenarios: "
                     "fleetopt.api.compare([result, ...])")  # fmt: skip
    if kind in _COMPARED_AS_IS and name == "plans":  # prepare_evaluation's: a job resumes from a file
        in_memory += "; fleetopt.api.evaluate(result) evaluates it without writing it, in one go"
    article = "an" if kind[0] in "AEIOU" else "a"
    return RegistryError(f"{name} must be a run folder, plan file or run id (int), not {article} {kind}: "
                         f"write it as a run first ({writer}) and give its folder{in_memory}")  # fmt: skip


class RegistryError(InputError):
    """An unknown run id, or a run whose folder is gone."""


# where the recorded runs are listed, as a notebook calls it and as the command line types it
SEE_RUNS = Argument("fleetopt.api.runs()", "`fleetopt runs`")


def record_advice(folder: str | Path) -> Argument:
    """How a finished run folder the registry lacks is recorded, as a notebook calls it and as the
    command line types it."""
    return Argument(f"fleetopt.api.record_run({str(folder)!r})", f"fleetopt runs add {folder}")


@dataclass(frozen=True)
class RunRecord:
    """One recorded run, as `fleetopt runs show` prints it."""

    id: int  # the run id (`fleetopt runs`), 1, 2, ... in the order runs were recorded
    created_utc: str  # when it was recorded, ISO 8601 in UTC, to the second
    kind: str  # solve | stochastic | evaluate | sweep
    command: str  # the command line (or Python program) that wrote it
    model_name: str  # the model's `name`
    model_hash: str  # the first 16 hex digits of the SHA-256 of the model file's text
    path: Path  # the run folder, absolute (where the runs folder now is, for one inside it)
    figures: dict  # its key figures: money in USD, probabilities in [0, 1], counts
    # a later run recorded in the same folder (emptied and written again): this run's files are gone
    replaced_by: int | None = None

    @property
    def exists(self) -> bool:
        """Whether its folder is there and still holds this run."""
        return self.replaced_by is None and self.path.is_dir()

    @property
    def held_by(self) -> int | None:
        """The later run its folder holds now, written there since; None where the folder still holds
        this run or is gone (deleted or moved: gone, whatever run was written there last)."""
        return self.replaced_by if self.replaced_by is not None and self.path.is_dir() else None

    @property
    def model_changes(self) -> tuple[ModelChange, ...] | None:
        """The fields changed for the run (``--set``, fleetopt.api.edit), as its record keeps them;
        None where not known (a run written before they were kept). A damaged record is refused."""
        return recorded_changes(self.figures.get(MODEL_CHANGES), f"run {self.id}'s record")

    @property
    def model_source_changes(self) -> tuple[ModelChange, ...]:
        """The fields changed by the run whose model.yaml this run read (LoadedModel.source_changes),
        as its record keeps them; none where it keeps none. A damaged record is refused."""
        return recorded_model_changes(self.figures, f"run {self.id}'s record")[1]

    def model_shown(self, name: str | None = None) -> str:
        """Its model in one short line (:func:`edited_name`): 'tiny (edited: horizon.quarters)';
        ``name`` for the model's name as the caller writes it."""
        name = self.model_name if name is None else name
        try:
            return edited_name(name, self.model_changes, self.model_source_changes)
        except InputError:  # a record damaged by hand: edited, how not known (`runs show` says why)
            return f"{name} (edited)"

    def __repr__(self) -> str:  # a notebook's list of runs, one short line each (figures: .figures)
        gone = "" if self.exists else ", folder gone"
        if self.held_by is not None:
            gone = f", replaced by run {self.held_by}"
        where = f"model {self.model_shown(repr(self.model_name))}, {str(self.path)!r}, {self.created_utc}"
        return f"RunRecord({self.id}, {self.kind}, {where}{gone})"

    def as_dict(self) -> dict:
        """The record as one flat row (``figures`` spread into columns), for a pandas DataFrame."""
        row = {name: getattr(self, name) for name in RECORD_FIELDS}
        return {**row, "path": str(self.path), "exists": self.exists, **self.figures}

    def listed(self) -> dict:
        """The record as `fleetopt runs` lists it, a row of :data:`LISTED_COLUMNS`: its id, when
        (a UTC timestamp), kind, model (:meth:`model_shown`), the plan its figures are of (an
        evaluation's first, a sweep's pick), its key figures by :data:`LISTED_FIGURES` (float64:
        USD, shares in [0, 1]; NaN where its kind has none), the scenarios and seed they are over
        (None: none), its folder and whether it still holds this run."""
        fig = self.figures
        over = ((f"{OUT_OF_SAMPLE}scenarios", f"{OUT_OF_SAMPLE}seed") if self.kind == "stochastic" else
                ("n_scenarios", "seed") if self.kind != "solve" and not fig.get("deterministic") else ())
        scenarios, seed = (_whole(fig.get(name)) for name in over) if over else (None, None)
        plan = fig.get("recommended" if self.kind == "sweep" else "plan")
        return {"id": self.id, "created_utc": pd.to_datetime(self.created_utc, utc=True, errors="coerce"),
                "kind": self.kind, "model": self.model_shown(), "plan": plan if isinstance(plan, str) else "",
                **self._listed_figures(), "n_scenarios": scenarios, "seed": seed, "path": str(self.path),
                "exists": self.exists}  # fmt: skip

    def _listed_figures(self) -> dict[str, float]:
        """:meth:`listed`'s key figures: those of :data:`LISTED_FIGURES` its kind has, NaN the others."""
        fig = self.figures
        kept = {name: _number(fig.get(name)) for name in LISTED_FIGURES}
        figures = dict.fromkeys(LISTED_FIGURES, float("nan"))
        if self.kind == "solve":
            figures["npv_usd"] = kept["npv_usd"]
            if fig.get("objective") == "cost":  # a plan solved for NPV ranks nothing by its cost
                figures["present_cost_usd"] = kept["present_cost_usd"]
        elif self.kind == "stochastic":
            figures.update({k: v for k, v in kept.items() if k.startswith(OUT_OF_SAMPLE)})
        elif fig.get("deterministic"):  # its one scenario is the forecast
            figures["npv_usd"] = kept["npv_mean_usd"]
        else:
            figures.update({k: kept[k] for k in ("npv_mean_usd", "npv_cvar5_usd", ANY_DEFAULT)})
        return figures

    def _shown_frame(self) -> pd.DataFrame:
        """Its notebook display's table, a row each (what, value): its :meth:`listed` cells that have
        a value, as :func:`shown_cells` writes them, then the command that made it."""
        cells = shown_cells(self.listed(), self)
        rows = [(LISTED_COLUMNS[name], cells[name]) for name in LISTED_COLUMNS if cells[name]]
        return pd.DataFrame([*rows, ("command", self.command)], columns=["run", "value"])

    def _title(self) -> str:
        return f"Run {self.id}: {self.kind} of {self.model_shown()}"

    def _next(self) -> str:
        return (f"Next: .figures (every key figure: USD, shares in [0, 1]), fleetopt.api.read_run({self.id}) "
                "(its files as data)")

    def _repr_markdown_(self) -> str:
        """What a notebook cell shows of one run: a table of what it is and its key figures, as
        `fleetopt runs` lists them, not a dataclass's fields."""
        table = markdown_table(self._shown_frame())
        return "\n".join([f"**{markdown_text(self._title())}**", "", table, "", markdown_text(self._next())])

    def _repr_html_(self) -> str:
        """As :meth:`_repr_markdown_`, in HTML (JupyterLab's first choice)."""
        shown = self._shown_frame().map(html_text).to_html(index=False, escape=False)
        return f"<p><b>{html_text(self._title())}</b></p>{shown}<p>{html_text(self._next())}</p>"


RECORD_FIELDS = ("id", "created_utc", "kind", "command", "model_name", "model_hash", "path")

ANY_DEFAULT = "any_default_probability"
# the key figures fleetopt.api.runs lists (RunRecord.listed), by the name a record keeps each (its unit
# the name's end), with its header: a solve's NPV on the forecast (a deterministic evaluation's too)
# or a cost solve's present cost; an evaluation's first plan's or a sweep's pick's figures over the
# scenarios; a stochastic solve's plan less its forecast optimum on fresh scenarios
LISTED_FIGURES = {
    "npv_usd": "NPV on the forecast",
    "present_cost_usd": "present cost",
    "npv_mean_usd": "mean NPV",
    "npv_cvar5_usd": "CVaR5 NPV",
    ANY_DEFAULT: ANY_DEFAULT_LABEL,
    f"{OUT_OF_SAMPLE}npv_mean_usd_diff": "stochastic less forecast optimum: mean NPV",
    f"{OUT_OF_SAMPLE}npv_cvar_usd_diff": "stochastic less forecast optimum: CVaR5 NPV",
}
# the columns of RunRecord.listed, with their headers in a notebook's table
LISTED_COLUMNS = {"id": "id", "created_utc": "when (UTC)", "kind": "kind", "model": "model", "plan": "plan",
                  **LISTED_FIGURES, "n_scenarios": "scenarios", "seed": "seed", "path": "folder"}  # fmt: skip


def _number(value) -> float:
    """A key figure as a float (NaN where the record has none, or one edited into text)."""
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else float("nan")


def _whole(value) -> int | None:
    """A count or seed of a record (None where it has none)."""
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def shown_cells(row: dict, record: RunRecord) -> dict[str, str]:
    """A row of :meth:`RunRecord.listed` (of ``record``) as a notebook shows it: money as $14.1M,
    shares as 70.0%, the time to the minute, '' where there is no value, a folder gone said so."""
    cells = {name: "" if value is None else str(value) for name, value in row.items()}
    for name in LISTED_FIGURES:
        value, shown = row[name], format_percent if name == ANY_DEFAULT else format_usd
        cells[name] = "" if value != value else shown(value)  # NaN: none
    when = row["created_utc"]
    cells["created_utc"] = record.created_utc if pd.isna(when) else when.strftime("%Y-%m-%d %H:%M")
    cells["n_scenarios"] = "" if row["n_scenarios"] is None else f"{row['n_scenarios']:,}"
    if not record.exists:
        later = record.held_by
        cells["path"] += " (missing)" if later is None else f" (now run {later})"
    return cells


class Registry:
    BUSY_SECONDS = 60.0  # how long a command waits for another process's lock before giving up
    CHECK_SECONDS = 2.0  # the up-front check waits this long: a lock held longer refuses the run

    def __init__(self, folder: Path | None = None):
        self.folder = Path(folder) if folder is not None else runs_dir()
        self.path = self.folder / DB_NAME

    @contextmanager
    def _connection(self, wait: float | None = None) -> Iterator[sqlite3.Connection]:
        """A connection to the registry, waiting up to ``wait`` seconds (BUSY_SECONDS) for another
        process's lock; a runs folder or database that cannot be used is bad input (a folder that is
        a file or cannot be written, a read-only, corrupt or foreign file), named with what to do."""
        wait = self.BUSY_SECONDS if wait is None else wait
        self._check_folder()  # a file there: named so, not as mkdir's "File exists"
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise RegistryError(
                f"the runs folder {self.folder} (${RUNS_DIR_VARIABLE} or ./runs) cannot be used: "
                f"{exc.strerror or exc}"
            ) from None
        con = None
        try:
            con = sqlite3.connect(self.path, timeout=wait, isolation_level=None)
            # switching to WAL and creating the table take locks that SQLite may refuse at once
            # (without waiting) while other processes are doing the same: retry those briefly
            _retry_locked(lambda: con.execute("PRAGMA journal_mode=WAL"), wait)
            _retry_locked(lambda: con.executescript(_SCHEMA), wait)
            yield con
        except sqlite3.Error as exc:
            raise self._unusable(exc, wait) from None
        finally:
            if con is not None:
                con.close()

    def _former_place(self, con: sqlite3.Connection, keep: bool) -> Path:
        """Where the runs folder was when this version first opened the registry: its records spell
        their folders from there. Kept in ``registry_facts`` (``keep``: where the registry can be
        written); for a registry that has none yet, where its records show it was (a registry
        written by an older version and then moved), else where it is."""
        try:
            row = con.execute("SELECT value FROM registry_facts WHERE key = ?", (FORMER_PLACE,)).fetchone()
        except sqlite3.OperationalError:  # a read-only registry of an older version: no such table
            row = None
        if row is not None:
            return Path(row[0])
        here = self.folder.resolve()
        place = _place_of_records(here, [Path(p) for (p,) in con.execute("SELECT path FROM runs")])
        if keep:
            sql = "INSERT OR IGNORE INTO registry_facts (key, value) VALUES (?, ?)"
            con.execute(sql, (FORMER_PLACE, str(place)))
        return place

    def _stored(self, path: str | Path, place: Path) -> str:
        """How the run folder ``path`` is kept: spelt from the runs folder's former ``place`` when
        inside the runs folder, else as it is (absolute)."""
        folder = user_path(path).resolve()
        inside = _relative(folder, self.folder.resolve())
        return str(folder if inside is None else place / inside)

    def _record(self, row, place: Path) -> RunRecord:
        """A row as a record, its folder where the runs folder now is (for one inside it)."""
        record = _record(row)
        inside = _relative(record.path, place)
        here = self.folder.resolve()
        if inside is None or place == here:
            return record
        return replace(record, path=here / inside)

    def _unusable(self, exc: sqlite3.Error, wait: float) -> RegistryError:
        """What is wrong with the registry, and what to do: a lock passes (waiting is the cure), a
        folder or file that cannot be written needs its permissions, only a damaged file a new one."""
        elsewhere = f"or set ${RUNS_DIR_VARIABLE} to another runs folder"
        if _is_locked(exc):  # another process holds it: waiting longer is the cure, not a new registry
            return RegistryError(
                f"the run registry {self.path} stayed locked by another process for {format_duration(wait)} "
                f"({exc}): retry once the other fleetopt command (or the program holding it) has finished"
            )
        if "readonly" in str(exc):
            return RegistryError(
                f"the run registry {self.path} is read-only ({exc}): make it writable, {elsewhere}"
            )
        if "unable to open" in str(exc) and self.path.is_dir():  # the folder was told to make it writable
            return RegistryError(
                f"the run registry {self.path} is a folder, not the registry's file: move it away, "
                f"{elsewhere}"
            )
        if "unable to open" in str(exc):  # the folder cannot be written, or the file cannot be opened
            return RegistryError(
                f"the run registry {self.path} cannot be opened or created ({exc}): make the runs folder "
                f"{self.folder} writable, {elsewhere}"
            )
        if getattr(exc, "sqlite_errorcode", None) in _LOCKING_IO_ERRORS:  # a network file system's
            return RegistryError(
                f"the run registry {self.path} cannot be locked ({exc}): its file system does not give "
                "SQLite the locks it needs (NFS and other network drives often do not): keep the runs "
                f"folder on a local disk, {elsewhere}"
            )
        if "disk is full" in str(exc) or "disk I/O error" in str(exc):
            # SQLITE_FULL, or in WAL mode SQLITE_IOERR when its -wal file cannot grow (a full disk, a
            # file-size limit): the registry is most likely sound, so moving it away is not the cure
            return RegistryError(
                f"the run registry {self.path} cannot be written ({exc}): a full disk or a file-size limit "
                f"is the usual cause: free space on its disk, {elsewhere}"
            )
        return RegistryError(
            f"the run registry {self.path} cannot be read or written ({exc}): move it away to start a new one"
        )

    def check(self) -> None:
        """Refuse an unusable runs folder or registry before a run starts, not after it is written:
        an existing registry must take a write (tried, then rolled back, waiting at most
        CHECK_SECONDS for another process's lock); a missing one, a folder to be created in (the
        check creates nothing: a refused run leaves nothing behind)."""
        self._check_folder()
        if not self.path.exists():
            blocked = unwritable_ancestor(self.folder)
            if blocked is not None:
                raise RegistryError(
                    f"the run registry {self.path} cannot be created: {blocked} is not a folder this "
                    f"user can write to; make it writable, or set ${RUNS_DIR_VARIABLE} to another runs folder"
                )
            return
        with self._connection(self.CHECK_SECONDS) as con:
            con.execute("SELECT COUNT(*) FROM runs").fetchone()
            con.execute("BEGIN IMMEDIATE")  # the lock a record takes: refused when it cannot be had
            try:  # a read-only file is refused only by a write itself
                con.execute(f"DELETE FROM runs WHERE id > {MAX_RUN_ID}")
            finally:
                con.execute("ROLLBACK")

    def record(
        self,
        kind: str,
        model_name: str,
        model_hash: str,
        path: Path,
        figures: dict,
        command: str | None = None,
        created: datetime | None = None,
    ) -> int:
        """Add a run; returns its id. ``created``: when the run was written (None: now)."""
        command = command if command is not None else " ".join(["fleetopt", *sys.argv[1:]])
        # an argument whose bytes were not UTF-8 (a path named in Latin-1) kept as its escapes: SQLite
        # keeps text as UTF-8 only, and the run is written by now
        command = utf8_text(command)
        row = (
            (created or datetime.now(UTC)).astimezone(UTC).isoformat(timespec="seconds"),
            kind,
            command,
            model_name,
            model_hash,
            # as summary.json keeps them: a figure that is not finite (no error: NaN) is null
            json.dumps(finite_json(figures), allow_nan=False),
        )
        with self._connection() as con:
            con.execute("BEGIN IMMEDIATE")
            stored = self._stored(path, self._former_place(con, keep=True))
            cur = con.execute(
                "INSERT INTO runs (created_utc, kind, command, model_name, model_hash, figures, path) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (*row, stored),
            )
            con.execute("COMMIT")
            return int(cur.lastrowid)

    def _check_folder(self) -> None:
        """Refuse a runs folder that is a file, or lies under one (it holds no registry, but is no
        empty one either: none can be made there)."""
        if self.folder.exists() and not self.folder.is_dir():
            raise RegistryError(
                f"the runs folder {self.folder} (${RUNS_DIR_VARIABLE} or ./runs) is not a folder"
            )
        nearest = next((p for p in self.folder.parents if p.exists()), None)
        if nearest is not None and not self.folder.exists() and not nearest.is_dir():
            raise RegistryError(
                f"the runs folder {self.folder} (${RUNS_DIR_VARIABLE} or ./runs) cannot be made: "
                f"{nearest} is a file, not a folder"
            )

    @contextmanager
    def _reading(self) -> Iterator[tuple[sqlite3.Connection, Path]]:
        """A connection to read the registry, with the runs folder's former place
        (:meth:`_former_place`): the usual one, or where the runs folder or registry cannot be
        written (a team's runs folder mounted read-only), or where SQLite cannot write for a full
        disk, a read-only one, which takes no lock and reads the file as it is (no process can be
        writing to it there), so runs are still listed and found."""
        if os.access(self.folder, os.W_OK) and os.access(self.path, os.W_OK):
            entered = False
            try:
                with self._connection() as con:
                    place = self._former_place(con, keep=True)
                    entered = True
                    yield con, place
                return
            except RegistryError as exc:
                if entered or not _disk_full(exc):
                    raise
                # a full disk: the registry is read as it is, so runs can still be listed and found
        try:
            con = sqlite3.connect(f"{self.path.resolve().as_uri()}?mode=ro&immutable=1", uri=True)
            if not _holds_runs_table(con):  # made on the full disk before its table was: no run in it
                con.close()  # (it was called damaged, "move it away", though the disk is the cure)
                con = sqlite3.connect(":memory:")
                con.executescript(_SCHEMA)
        except sqlite3.Error as exc:
            raise self._unusable(exc, 0.0) from None
        try:
            yield con, self._former_place(con, keep=False)
        except sqlite3.Error as exc:
            raise self._unusable(exc, 0.0) from None
        finally:
            con.close()

    def list(
        self, model: str | None = None, limit: int | None = None, kind: str | None = None
    ) -> list[RunRecord]:
        """Runs, newest first (by when each was written; a folder recorded later by `fleetopt runs add`
        is listed by its own date), optionally of one model and of one kind."""
        self._check_folder()
        if not self.path.exists():
            return []
        where = [(column, value) for column, value in (("model_name", model), ("kind", kind)) if value]
        sql = _SELECT + "".join(
            f" {'WHERE' if i == 0 else 'AND'} {column} = ?" for i, (column, _) in enumerate(where)
        )
        args: list = [value for _, value in where]
        sql += " ORDER BY created_utc DESC, id DESC"  # a folder added later keeps when it was written
        if limit:
            sql += " LIMIT ?"
            args.append(min(limit, MAX_RUN_ID))
        with self._reading() as (con, place):
            return [self._record(r, place) for r in con.execute(sql, args)]

    def get(self, run_id: int) -> RunRecord:
        self._check_folder()  # a runs folder that is a file holds no run: said so, not "no run with id"
        if self.path.exists() and 0 < run_id <= MAX_RUN_ID:
            with self._reading() as (con, place):
                row = con.execute(_SELECT + " WHERE id = ?", (run_id,)).fetchone()
            if row is not None:
                return self._record(row, place)
        raise RegistryError.naming(f"no run with id {run_id} in {self.path}: see ", SEE_RUNS)

    def forget(
        self, run_ids: Iterable[int] = (), missing: bool = False, dry_run: bool = False
    ) -> list[RunRecord]:
        """Remove runs from the registry, never their folders; returns the records removed (with
        ``dry_run``: that would be), oldest first. ``run_ids``: these runs, with the earlier records
        of their folders (runs whose files a later run in the same folder replaced: kept alone, they
        would name that later run's files); an unknown id removes nothing. ``missing``: also every
        run whose folder is gone or holds a later run. One transaction, in which the ids are checked:
        another process sees all of it or none. A dry run only reads: it never waits for a write lock."""
        run_ids = sorted(set(run_ids))
        self._check_folder()  # a runs folder that is a file holds no run: said so, not "nothing to forget"
        if not self.path.exists():
            if run_ids:
                self.get(run_ids[0])  # no registry: no such run
            return []
        if dry_run:
            with self._reading() as (con, place):
                return self._to_forget(con, place, run_ids, missing)
        with self._connection() as con:
            con.execute("BEGIN IMMEDIATE")
            try:
                gone = self._to_forget(con, self._former_place(con, keep=True), run_ids, missing)
                con.executemany("DELETE FROM runs WHERE id = ?", [(r.id,) for r in gone])
            except BaseException:
                con.execute("ROLLBACK")
                raise
            con.execute("COMMIT")
        return gone

    def _to_forget(
        self, con: sqlite3.Connection, place: Path, run_ids: list[int], missing: bool
    ) -> list[RunRecord]:
        """The records :meth:`forget` removes, oldest first; an unknown id refused."""
        records = [self._record(r, place) for r in con.execute(_SELECT + " ORDER BY id")]
        unknown = sorted(set(run_ids) - {r.id for r in records})
        if unknown:
            raise RegistryError.naming(f"no run with id {unknown[0]} in {self.path}: see ", SEE_RUNS)
        newest = {r.path: r.id for r in records if r.id in run_ids}  # per folder, the newest asked
        return [r for r in records if r.id <= newest.get(r.path, 0) or (missing and not r.exists)]

    def id_of(self, path: str | Path) -> int:
        """The id of the latest record of the run folder ``path``; a run's own file (its plan.npz,
        summary.json ...) names its folder, as `fleetopt compare` and `evaluate` take it."""
        number, folder = self._latest_id(path)
        if number is None:
            what = str(path) if Path(path) == folder else f"{path}: its folder {folder}"
            raise RegistryError.naming(f"{what} is not recorded in {self.path}: see ", SEE_RUNS)
        return number

    def recorded_id(self, path: str | Path) -> int | None:
        """:meth:`id_of`, None where the folder is not recorded (a registry that cannot be read is
        still refused)."""
        return self._latest_id(path)[0]

    def _latest_id(self, path: str | Path) -> tuple[int | None, Path]:
        """The id of the latest record of the folder ``path`` names (or None), and that folder."""
        owner = RunFolder.owning(user_path(path)) if user_path(path).is_file() else None
        folder = Path(path) if owner is None else owner.path
        row = None
        # a folder named in bytes that are not UTF-8 is never recorded (limits refuses it before a run)
        if self.path.exists() and utf8(str(folder)):
            with self._reading() as (con, place):
                sql = "SELECT MAX(id) FROM runs WHERE path = ?"
                row = con.execute(sql, (self._stored(folder, place),)).fetchone()
        return (None if row is None or row[0] is None else int(row[0])), folder

    def resolve(self, ref: str | Path | int, name: str = "a run") -> Path:
        """A run folder or plan file from a path, or a run folder from a run id (an int, or digits
        that are not an existing path's name). A path that does not exist, an unknown id and a
        registered run whose folder is gone are errors (``name``: the argument, in them)."""
        number = self.id_given(ref, name)
        if number is None:
            return user_path(ref)
        record = self.get(number)
        if record.held_by is not None:
            raise RegistryError(
                f"run {record.id}'s folder {record.path} now holds run {record.held_by}, written there "
                f"since: run {record.id}'s files are gone (run {record.held_by} is `fleetopt runs show "
                f"{record.held_by}`)"
            )
        if not record.exists:
            raise RegistryError(f"run {record.id}'s folder {record.path} is missing (deleted or moved)")
        return record.path

    def find(self, ref: str | Path | int, name: str = "a run") -> RunRecord:
        """The record of a run id, or the latest record of a run folder."""
        number = self.id_given(ref, name)
        return self.get(number if number is not None else self.id_of(ref))

    @staticmethod
    def id_given(ref: str | Path | int, name: str = "a run") -> int | None:
        """The run id ``ref`` names (an int, or digits that are not an existing path's name), or
        None when it is an existing path. Anything else is refused, saying what ``name`` (the
        argument) accepts. A :class:`RunRecord` (``fleetopt.api.runs()``'s) names its run."""
        if isinstance(ref, RunRecord):
            return ref.id
        if isinstance(ref, Integral) and not isinstance(ref, bool):
            return int(ref)
        if not isinstance(ref, (str, Path)):
            # a table's columns are its attributes: the runs' table has a column "plan", not a result's plan
            if not is_table(ref) and (hasattr(ref, "plan") or type(ref).__name__ in _RUN_WRITERS):
                raise _result_in_memory(ref, name)
            raise RegistryError(f"{name} must be a run folder, plan file or run id (int), not "
                                f"{typed_value(ref)}{_instead(ref)}")  # fmt: skip
        if isinstance(ref, str) and not ref.strip():  # "" would be the current folder
            raise RegistryError(f"{name} is empty: give a run folder, a plan file or a run id")
        try:
            exists = user_path(ref).exists()
        except OSError as exc:  # e.g. a name longer than the file system allows
            raise RegistryError(f"{_shown(ref)} is not a usable path: {exc.strerror}") from None
        if exists:
            return None
        if str(ref).isascii() and str(ref).isdigit():
            return int(str(ref))
        raise RegistryError.naming(f"{_shown(ref)}: no such run folder or plan file, and not a run id: see ",
                                   SEE_RUNS)  # fmt: skip


def _relative(path: Path, folder: Path) -> Path | None:
    """``path`` relative to ``folder`` where it lies inside it, else None."""
    try:
        return path.relative_to(folder)
    except ValueError:
        return None


def _place_of_records(here: Path, folders: list[Path]) -> Path:
    """Where the runs folder now at ``here`` was when the run ``folders`` were recorded, for a
    registry that did not keep it: ``here``, unless no folder lies inside it and a folder of the
    most common parent of theirs is found under ``here`` by its name (the runs folder was moved or
    copied whole): then that parent."""
    if not folders or any(_relative(f, here) is not None for f in folders):
        return here
    parent = Counter(f.parent for f in folders).most_common(1)[0][0]
    moved = any(f.parent == parent and (here / f.name).is_dir() for f in folders)
    return parent if moved else here


def _instead(ref) -> str:
    """What to give in place of ``ref``, a value that is no run, where it looks like a known slip:
    several runs in a list, or a table (a plan's or its purchases', plan_frame()'s) for its plan."""
    if isinstance(ref, (list, tuple)):
        return "; the plans of several runs are evaluated on the same scenarios by fleetopt.api.compare(runs)"
    if is_table(ref) and set(RUNS_TABLE_KEYS) <= set(ref.columns):  # fleetopt.api.runs().runs_frame()'s
        return ("; a table of runs (fleetopt.api.runs().runs_frame()) is given by its run ids: its column "
                "id, fleetopt.api.compare(frame.id) for several, frame.id.iloc[0] for one")  # fmt: skip
    if is_table(ref):
        return (f"; {table_solved('not a plan')}, then give fleetopt.api.write_solve_run(result), the run "
                "folder it writes")
    return ""


# the columns by which a table is the runs' own (RunList.runs_frame's), each run's id and folder
RUNS_TABLE_KEYS = ("id", "kind", "path")


def is_table(value) -> bool:
    """Whether ``value`` is a table (a pandas DataFrame, or one like it)."""
    return hasattr(value, "columns") and hasattr(value, "shape")


def table_solved(is_not: str) -> str:
    """What to do with a table of a plan's decisions or purchases (plan_frame()'s, edited) given where
    it ``is_not`` what goes: solve with its purchases, which fleetopt.api.solve takes as a table."""
    return (f"a table of a plan's decisions or purchases is {is_not}: solve with its purchases, "
            "result = fleetopt.api.solve(model, purchases=table)")  # fmt: skip


def _shown(ref) -> str:
    """``ref`` in a message: whole, as typed (a user spots a typo in it), unless it is longer than
    any path a user types (a value pasted by mistake): then by its end, which names the run."""
    text = str(ref)
    return text if len(text) <= 240 else "..." + text[-237:]


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


# each record with the id of the latest run recorded in its folder, when that is another run
# its columns by name: a table that lost one (edited by hand) is refused by SQLite, named, where
# `SELECT *` gave rows too short to read (an IndexError)
_SELECT = (
    "SELECT id, created_utc, kind, command, model_name, model_hash, path, figures, "
    "NULLIF((SELECT MAX(later.id) FROM runs AS later WHERE later.path = runs.path), runs.id) FROM runs"
)


# the figure a record whose figures cannot be read carries instead (a row edited or damaged by hand):
# listed and shown as such, so one bad row does not stop `runs`, `runs forget` or the others
DAMAGED = "record_damaged"


def _record(row) -> RunRecord:
    try:
        figures = read_json(row[7])
    except (TypeError, ValueError):
        figures = None
    if not isinstance(figures, dict):
        figures = {DAMAGED: "its key figures in the registry are not readable (edited or damaged)"}
    # a field edited into another type (SQLite keeps any: a blob in path or kind) is shown as its
    # value's text, the record damaged: `runs` met a bytes path or kind as a traceback
    fields = dict(zip(RECORD_FIELDS[1:7], row[1:7], strict=True))
    wrong = [name for name, field in fields.items() if not isinstance(field, str)]
    if wrong:
        figures = {DAMAGED: f"its {', '.join(wrong)} in the registry: not text (edited or damaged)"}
    texts = [str(field) for field in fields.values()]
    created, kind, command, model_name, model_hash, path = texts
    return RunRecord(row[0], created, kind, command, model_name, model_hash, Path(path), figures, row[8])


def _holds_runs_table(con: sqlite3.Connection) -> bool:
    sql = "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'runs'"
    return con.execute(sql).fetchone() is not None


def _disk_full(exc: RegistryError) -> bool:
    """Whether SQLite refused for want of disk space or by an I/O error (its write-ahead files
    cannot be made on a full disk), not for a lock or a damaged file."""
    cause = exc.__context__
    code = getattr(cause, "sqlite_errorcode", None)
    if not isinstance(cause, sqlite3.Error) or code is None or code in _LOCKING_IO_ERRORS:
        return False  # a file system whose locks fail (NFS) is refused, not read without a lock
    return code & 0xFF in (sqlite3.SQLITE_IOERR, sqlite3.SQLITE_FULL)  # extended codes hold their primary


_LOCKING_IO_ERRORS = {getattr(sqlite3, name, None) for name in (
    "SQLITE_IOERR_LOCK", "SQLITE_IOERR_RDLOCK", "SQLITE_IOERR_UNLOCK", "SQLITE_IOERR_SHMLOCK",
    "SQLITE_IOERR_CHECKRESERVEDLOCK")} - {None}  # fmt: skip
