"""The chunk store: an evaluation job's finished chunks kept on disk, checksummed, each with the
fingerprint of the run it was computed for (:func:`run_fingerprint`), and the rows of an unfinished
chunk kept block by block; a stored chunk of another run, or a damaged one, removed and computed
again (a job folder's: refused, naming what differs). With the sizes of a job's chunk files
(:func:`kept_rows_bytes`, :func:`folder_bytes`) and the plan ranges stored (:func:`stored_ranges`).
"""

from __future__ import annotations

import hashlib
import io
import json
import re
from dataclasses import asdict, fields
from pathlib import Path

import numpy as np

from fleetopt.core.data import ModelData
from fleetopt.core.metric_columns import PRESENT_COST_COLUMNS
from fleetopt.core.units import counted
from fleetopt.errors import InputError, warn
from fleetopt.evaluate.metrics import BASE_PREPAY_COLUMNS, SLIP_COLUMNS
from fleetopt.evaluate.planbatch import PlanBatch
from fleetopt.evaluate.result_fields import RESULT_FIELDS, fields_kept
from fleetopt.evaluate.spill import KeptRows, kept_record, record_path, rows_path
from fleetopt.runs.files import DAMAGED_NPZ_ERRORS, signals_deferred, sync_folder, write_bytes_atomic

# the metrics beside METRIC_COLUMNS that a run's plans, model or scenarios decide: a chunk holds them or not
_RUN_DECIDES = {*SLIP_COLUMNS, *PRESENT_COST_COLUMNS, *BASE_PREPAY_COLUMNS}

_CHUNK_NAME = re.compile(r"^chunk-(\d+)-(\d+)-([0-9a-f]{64})\.npz$")


# an unfinished chunk's rows of results kept block by block (spill.KeptRows): rows-FIRST-STOP.bin and .json
_ROWS_NAME = re.compile(r"^rows-(\d+)-(\d+)\.(bin|json)$")


def run_fingerprint(data: ModelData, plans: PlanBatch, spec) -> dict:
    """What every chunk of a run is computed from: the model (:attr:`ModelData.fingerprint`), the
    plans (SHA-256 of every per-plan array of the batch; labels do not change a result) and each
    field of the run's :class:`~fleetopt.evaluate.chunks.ChunkSpec` (seed, number of scenarios,
    scenario block, deterministic, keep_matrix, recorded lines, kernel, present cost). A stored chunk
    is the run's when they agree but for the scenario block (:data:`_HOW_COMPUTED`), which is kept
    as a record."""
    digest = hashlib.sha256()
    for f in fields(plans):
        if f.name in ("labels", "slipped", "solved_for_cost"):  # slipped: made from the plans and the model
            continue
        value = np.ascontiguousarray(getattr(plans, f.name))
        digest.update(f"{f.name}:{value.dtype.str}:{value.shape};".encode())
        digest.update(value.data)
    spec_fields = {k: _plain(v) for k, v in asdict(spec).items() if k not in _MODEL_DECIDES}
    return {"model": data.fingerprint, "plans": digest.hexdigest(), **spec_fields}


# A spec's fields that the model decides (its policy), which the model's fingerprint holds already:
# left out, so that the chunks of a run stored before a field was added are still the run's.
_MODEL_DECIDES = ("base_prepay",)


# How a chunk is computed, never what it holds (block sizes and where the rows of results are kept
# never change a result; the per-pair outcomes an evaluation may keep in memory are never stored): a
# chunk stored with other blocks (a resume sized for a smaller machine) is still the run's.
_HOW_COMPUTED = ("scenario_chunk", "keep_outcomes", "rows_on_disk")


def _what_it_holds(fingerprint) -> dict | None:
    """A chunk's fingerprint without :data:`_HOW_COMPUTED` (None where it has none)."""
    if not isinstance(fingerprint, dict):
        return None
    return {k: v for k, v in fingerprint.items() if k not in _HOW_COMPUTED}


def _plain(value):
    """A setting as JSON gives it back (a NumPy number as a number, a tuple as a list)."""
    if isinstance(value, np.generic):
        return value.item()
    return list(value) if isinstance(value, tuple) else value


class OtherRunsChunks(InputError):
    """A job folder's intact finished chunks were computed for another run than the one resuming it
    (its job.json, model.yaml or plans changed since it started): refused, never removed."""


class ChunkStore:
    """Finished chunks in ``folder``: ``chunk-<first>-<stop>-<sha256>.npz``, written then renamed.

    The name carries the checksum of the bytes, and the metadata inside the fingerprint of what the
    chunk was computed from (:func:`run_fingerprint` and its plan range). Once a run has told the
    store its fingerprint (:meth:`expect`), a stored chunk is never trusted unless both match: a
    truncated or corrupt file is removed and recomputed, and the run is warned how many were. One
    of another run (other settings, model or plans; copied from another folder) is removed and
    recomputed the same way, unless ``refuse_other_runs`` (a job folder's store: those chunks are
    the job's finished work, and its job.json was edited or damaged): then :meth:`expect` refuses
    the run (:class:`OtherRunsChunks`), naming what differs, and removes nothing.
    """

    def __init__(self, folder: str | Path, n_scenarios: int | None = None, metrics: tuple[str, ...] = (),
                 refuse_other_runs: bool = False):  # fmt: skip
        self.folder = Path(folder)
        self.refuse_other_runs = refuse_other_runs
        if not self.folder.is_dir():
            self.folder.mkdir(parents=True, exist_ok=True)
            sync_folder(self.folder.parent)  # the new folder's name kept, as its chunks' are
        # what a chunk of this run must hold, where known: a file with the right checksum but other
        # contents (another version, a hand-made file) is recomputed, never trusted
        self.n_scenarios = n_scenarios
        self.metrics = set(metrics)
        self.fingerprint: dict | None = None  # set by expect(): None accepts any fingerprint
        # the results an unfinished chunk's kept rows hold: the run's (expect), else either set a run keeps
        self.fields: tuple[str, ...] | None = None
        self.device: str | None = None  # where this attempt computes, kept with each chunk it saves

    def expect(self, data: ModelData, plans: PlanBatch, spec) -> None:
        """Bind the store to a run: from now on only chunks of its fingerprint are used. The chunks
        stored already are checked now; those that are not this run's are removed, with a warning
        saying how many and why (so a resume never mixes them with its own); with
        ``refuse_other_runs``, intact chunks of another run are refused before anything is removed."""
        self.fingerprint = run_fingerprint(data, plans, spec)
        self.n_scenarios = spec.n_scenarios
        self.fields = fields_kept(spec.present_cost, spec.base_prepay)
        corrupt, foreign = [], []
        for path in sorted(self.folder.glob("chunk-*.npz")):
            match = _CHUNK_NAME.match(path.name)
            if not match:
                continue
            verdict = self._verdict(path, match)
            if verdict is None:
                corrupt.append(path)
            elif verdict is not True:
                wanted = self._chunk_fingerprint(int(match.group(1)), int(match.group(2)))
                foreign.append((path, verdict, wanted))
        if foreign and self.refuse_other_runs:
            names = [f[0].name for f in foreign]
            raise OtherRunsChunks(_other_runs_refused(self.folder, [f[1:] for f in foreign], names))
        for path in [*corrupt, *(f[0] for f in foreign)]:
            path.unlink(missing_ok=True)
        _warn_discarded(self.folder, len(corrupt), [f[1:] for f in foreign])
        self._tidy_unfinished()

    def _tidy_unfinished(self) -> None:
        """Remove the kept rows of unfinished chunks that this run cannot go on from: those whose
        chunk was saved since (a stop between the two), those of no block yet, and those damaged or
        of another run (with a warning: their plans are computed again)."""
        saved, wanted = self.ranges(), self.unfinished()
        unusable = set()
        for path in sorted(self.folder.glob("rows-*")):
            match = _ROWS_NAME.match(path.name)
            if not match:
                continue
            first, stop = int(match.group(1)), int(match.group(2))
            if (first, stop) not in wanted or any(a < stop and first < b for a, b in saved):
                if match.group(3) == "json" and (first, stop) not in wanted:
                    unusable.add((first, stop))
                self.drop_unfinished(first, stop)
        if unusable:
            warn(f"{self.folder}: the rows of {counted(len(unusable), 'unfinished chunk')} an earlier "
                 "attempt kept are damaged or were computed for another run: removed, and computed again")

    def unfinished(self) -> dict[tuple[int, int], int]:
        """The chunks an earlier attempt left unfinished, their rows kept block by block in this
        folder (:class:`~fleetopt.evaluate.spill.KeptRows`): (first, stop) plan index -> the
        scenarios kept, of this run's (once :meth:`expect` bound it)."""
        found = {}
        for path in self.folder.glob("rows-*.json"):
            match = _ROWS_NAME.match(path.name)
            if not match or self.n_scenarios is None:
                continue
            first, stop = int(match.group(1)), int(match.group(2))
            record = kept_record(self._rows_stem(first, stop), self._rows_identity(first, stop), stop - first,
                                 self.n_scenarios, self.fields)  # fmt: skip
            if record is not None:
                found[(first, stop)] = record["done"]
        return found

    def kept_rows(self, first: int, stop: int, n_scenarios: int) -> KeptRows:
        """The file that keeps the rows of plans ``first .. stop - 1`` block by block: an unfinished
        chunk's, continued, else a new one."""
        stem, identity = self._rows_stem(first, stop), self._rows_identity(first, stop)
        fields = self.fields or RESULT_FIELDS
        return KeptRows(stem, identity, stop - first, n_scenarios, self.device or "", fields)

    def drop_unfinished(self, first: int, stop: int) -> None:
        """Remove the kept rows of plans ``first .. stop - 1`` (their chunk saved, or not continued)."""
        stem = self._rows_stem(first, stop)
        for path in (rows_path(stem), record_path(stem)):
            path.unlink(missing_ok=True)

    def _rows_stem(self, first: int, stop: int) -> Path:
        return self.folder / f"rows-{first}-{stop}"

    def _rows_identity(self, first: int, stop: int) -> dict | None:
        """What an unfinished chunk's kept rows must be of: the chunk's fingerprint, but how it is
        computed (:data:`_HOW_COMPUTED`: a resume may take other blocks); None before :meth:`expect`."""
        return _what_it_holds(self._chunk_fingerprint(first, stop))

    def _verdict(self, path: Path, match) -> bool | dict | None:
        """True for a chunk of this run; None for a corrupt one; else the stored fingerprint."""
        first, stop = int(match.group(1)), int(match.group(2))
        data = path.read_bytes()
        if hashlib.sha256(data).hexdigest() != match.group(3):
            return None
        meta = _meta(data)
        if meta is None:
            return None
        if not self._is_this_runs(meta, first, stop):
            return meta.get("fingerprint") if isinstance(meta.get("fingerprint"), dict) else {}
        return True if self._parse(data, stop - first, first) is not None else None

    def _chunk_fingerprint(self, first: int, stop: int) -> dict | None:
        if self.fingerprint is None:
            return None
        return {**self.fingerprint, "plan_range": [int(first), int(stop)]}

    def _is_this_runs(self, meta: dict, first: int, stop: int) -> bool:
        """Whether a chunk's metadata says it holds plans ``first .. stop - 1`` of this run (any
        chunk before :meth:`expect`), however it was computed."""
        wanted = self._chunk_fingerprint(first, stop)
        return wanted is None or _what_it_holds(meta.get("fingerprint")) == _what_it_holds(wanted)

    def ranges(self) -> list[tuple[int, int]]:
        """(first, stop) of every stored chunk, in order (after :meth:`expect`: this run's)."""
        return stored_ranges(self.folder)

    def load(self, first: int, stop: int) -> dict | None:
        for path in self.folder.glob(f"chunk-{first}-{stop}-*.npz"):
            match = _CHUNK_NAME.match(path.name)
            if not match:
                continue
            data = path.read_bytes()
            intact = hashlib.sha256(data).hexdigest() == match.group(3)
            chunk = self._parse(data, stop - first, first) if intact else None
            if chunk is None:
                path.unlink(missing_ok=True)  # corrupt, truncated or not this run's: recompute
                continue
            return chunk
        return None

    def _parse(self, data: bytes, rows: int, first: int = 0) -> dict | None:
        """A stored chunk's result, or None unless it has metadata, this run's fingerprint (once
        :meth:`expect` set one) and arrays of this run's shapes."""
        meta = _meta(data)
        if meta is None:
            return None
        if not self._is_this_runs(meta, first, first + rows):
            return None
        try:
            with np.load(io.BytesIO(data), allow_pickle=False) as npz:
                arrays = {k: npz[k] for k in npz.files if k != "__meta__"}
        except DAMAGED_NPZ_ERRORS:
            return None
        metrics = {k[len("metric:") :]: v for k, v in arrays.items() if k.startswith("metric:")}
        npv = arrays.get("npv")
        shapes_fit = bool(metrics) and all(
            v.shape == (rows,) and v.dtype.kind == "f" for v in metrics.values()
        )
        if self.metrics and set(metrics) - _RUN_DECIDES != self.metrics:
            shapes_fit = False
        if npv is not None and (npv.ndim != 2 or npv.shape[0] != rows):
            shapes_fit = False
        if npv is not None and self.n_scenarios is not None and npv.shape[1] != self.n_scenarios:
            shapes_fit = False
        if npv is None and self.fingerprint is not None and self.fingerprint["keep_matrix"]:
            shapes_fit = False
        if not shapes_fit:
            return None
        # the fused kernel's forecast check, where it made one (else the run makes it in NumPy)
        forecast_ok = arrays.get("forecast_ok")
        if forecast_ok is not None and (forecast_ok.shape != (rows,) or forecast_ok.dtype != bool):
            forecast_ok = None
        # "stored": read from an earlier attempt (a resumed run's speed counts only what it computes);
        # "device": where that attempt computed it (absent in chunks saved before fleetopt kept it)
        return {"metrics": metrics, "npv": npv, "paths": {}, "kernel": bool(meta["kernel"]), "stored": True,
                "device": meta.get("device") or "not recorded (an earlier fleetopt)",
                "forecast_ok": forecast_ok}  # fmt: skip

    def save(self, first: int, stop: int, result: dict) -> None:
        arrays = {f"metric:{k}": v for k, v in result["metrics"].items()}
        if result.get("npv") is not None:
            arrays["npv"] = result["npv"]
        if result.get("forecast_ok") is not None:
            arrays["forecast_ok"] = np.asarray(result["forecast_ok"], dtype=bool)
        meta = {"kernel": bool(result.get("kernel")), "fingerprint": self._chunk_fingerprint(first, stop),
                "device": self.device}  # fmt: skip
        with signals_deferred():  # a finished chunk is saved whole even when the run is being stopped
            buf = io.BytesIO()
            np.savez(buf, __meta__=np.array(json.dumps(meta)), **arrays)
            data = buf.getvalue()
            digest = hashlib.sha256(data).hexdigest()
            write_bytes_atomic(self.folder / f"chunk-{first}-{stop}-{digest}.npz", data)
            self.drop_unfinished(first, stop)  # its rows, kept as it ran: the chunk holds its figures

    def count(self) -> int:
        return sum(1 for p in self.folder.glob("chunk-*.npz") if _CHUNK_NAME.match(p.name))


def _file_bytes(path: Path) -> int:
    """A file's size, bytes; 0 for one removed meanwhile (a resume tidying up)."""
    try:
        return path.stat().st_size
    except OSError:
        return 0


def kept_rows_bytes(folder: Path) -> int:
    """Bytes of the rows kept of unfinished chunks in a job's chunks/ ``folder`` (rows-FIRST-STOP.bin,
    each :func:`~fleetopt.evaluate.spill.kept_file_bytes` of its plans and scenarios): by far a
    stopped job's largest files where a chunk's rows went to a file. Read only (a ChunkStore makes
    its folder)."""
    paths = folder.glob("rows-*.bin") if folder.is_dir() else ()
    return sum(_file_bytes(p) for p in paths if _ROWS_NAME.match(p.name))


def folder_bytes(folder: Path) -> int:
    """Bytes of the files in ``folder`` and below it: what deleting it frees."""
    return sum(_file_bytes(p) for p in folder.rglob("*") if not p.is_dir())


def stored_ranges(folder: Path) -> list[tuple[int, int]]:
    """(first, stop) of every chunk file in ``folder`` whose metadata reads (:func:`_meta`), by its
    name, in order: an empty or truncated one, which a resume removes, is not counted saved. Its
    SHA-256, which would read it whole (its NPV matrix too), is checked where a resume uses it
    (:meth:`ChunkStore.expect`)."""
    found = {(int(m.group(1)), int(m.group(2))) for p in folder.glob("chunk-*.npz")
             if (m := _CHUNK_NAME.match(p.name)) and _meta(p) is not None}  # fmt: skip
    return sorted(found)


def _meta(data: bytes | Path) -> dict | None:
    """A stored chunk's metadata (``kernel``, ``fingerprint``), or None where it has none; of a file,
    read from its zip directory and the metadata alone (a few KB)."""
    try:
        with np.load(data if isinstance(data, Path) else io.BytesIO(data), allow_pickle=False) as npz:
            meta = json.loads(str(npz["__meta__"]))
        bool(meta["kernel"])
    except DAMAGED_NPZ_ERRORS:
        return None
    return meta


def _differences(stored: dict, expected: dict) -> list[str]:
    """How a stored chunk's fingerprint differs from the run's, in words."""
    if not stored:
        return ["no fingerprint: saved by an older fleetopt, or not by fleetopt"]
    said = []
    for key, value in expected.items():
        if stored.get(key) == value or key in _HOW_COMPUTED:
            continue
        if key == "model":
            said.append("another model")
        elif key == "plans":
            said.append("other plans")
        elif key == "plan_range":
            said.append("another plan range than its file name says")
        else:
            said.append(f"{key} {json.dumps(stored.get(key))} where this run has {json.dumps(value)}")
    return said


def _why_other_run(foreign: list[tuple[dict, dict]]) -> str:
    """How stored chunks' fingerprints differ from the run's, each difference once."""
    return "; ".join(dict.fromkeys(d for stored, expected in foreign for d in _differences(stored, expected)))


def _other_runs_refused(folder: Path, foreign: list[tuple[dict, dict]], names: list[str]) -> str:
    """Why a job folder's finished chunks of another run (files ``names``) refuse its resume, and
    what to do: the files named where they are few, so that one stray chunk (copied in, renamed) is
    deleted alone rather than the job's every finished chunk."""
    were = "was" if len(foreign) == 1 else "were"
    which = f" ({', '.join(names)})" if len(names) <= SHOWN_CHUNKS else ""
    them = "it" if len(names) == 1 else "them"
    return (
        f"{folder}: {counted(len(foreign), 'finished chunk')}{which} of this job {were} computed for "
        f"another run than the one now resuming it ({_why_other_run(foreign)}): the job's job.json, "
        f"model.yaml or plans file was changed since it started, or the file{'' if len(names) == 1 else 's'} "
        f"copied in. Nothing was removed: restore what was changed to finish the job with its finished "
        f"work; or, where only {them} {'is' if len(names) == 1 else 'are'} astray, delete {them} and resume "
        f"(the rest is kept); or delete {folder} to compute every chunk again as the job now reads, then "
        "resume; or start the run anew in another folder"
    )


SHOWN_CHUNKS = 3  # a refusal names this many chunk files at most


def _warn_discarded(folder: Path, corrupt: int, foreign: list[tuple[dict, dict]]) -> None:
    """One warning for the stored chunks :meth:`ChunkStore.expect` removed, saying why."""
    parts = []
    if foreign:
        why = _why_other_run(foreign)
        parts.append(f"{counted(len(foreign), 'stored chunk')} computed for another run ({why})")
    if corrupt:
        parts.append(f"{counted(corrupt, 'stored chunk')} corrupt or truncated")
    if parts:
        message = f"{folder}: {' and '.join(parts)}: removed, and computed again"
        warn(message)
