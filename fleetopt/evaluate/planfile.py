"""Plan files: many plans in one `.npz` archive, read and written a chunk of plans at a time.

The format (docs/evaluation.md "Plan files") is a NumPy ``.npz``: a ``__meta__`` JSON string and
one array per decision of :class:`fleetopt.core.plan.Plan` with a leading plan axis. A plan carries
every cohort's holdings, about 240 KB on the default model, so 10^5 plans are ~24 GB of arrays:
:class:`PlanFileReader` streams them from the archive ``rows`` plans at a time, and
:class:`PlanFileWriter` writes them the same way, so neither ever holds the whole file.
"""

from __future__ import annotations

import io
import json
import shutil
import tempfile
import zipfile
import zlib
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from fleetopt.core.data import ModelData
from fleetopt.core.plan import Plan, axes_mismatch
from fleetopt.evaluate.backend import usable_cores
from fleetopt.evaluate.batch import PlanFileError
from fleetopt.runs.files import DAMAGED_NPZ_ERRORS, read_json, write_bytes_atomic
from fleetopt.schema.base import MAX_USD

PLAN_FILE_FORMAT = 1
_META = "__meta__"
BUFFERS = "liquidity_buffers_usd"  # optional metadata: each plan's policy buffer (null: the model's)
AXES = "axes"  # optional metadata: the names along each axis of the plans' arrays (core.plan.plan_axes)


def numbered(labels: list[str], taken: tuple[str, ...] = ()) -> list[str]:
    """``labels`` with a repeated one numbered by its position ("milp", "milp (2)"), unique also
    against the labels already renamed and ``taken``."""
    used: set[str] = set(taken)
    out = []
    for n, label in enumerate(labels):
        unique, k = label, n + 1
        while unique in used:
            unique, k = f"{label} ({k})", k + 1
        used.add(unique)
        out.append(unique)
    return out


def plans_npz_bytes(
    plans: list[Plan],
    labels: list[str],
    model_name: str,
    model_hash: str,
    buffers: list | None = None,
    axes: dict | None = None,
) -> bytes:
    """A plan file's bytes (for a few plans; :class:`PlanFileWriter` for many). ``buffers``: each
    plan's policy liquidity buffer (USD; None: the model's), kept with the plans; ``axes``: the
    model's :func:`~fleetopt.core.plan.plan_axes`, kept so readers match items by name."""
    meta = {"format": PLAN_FILE_FORMAT, "model_name": model_name, "model_hash": model_hash, "labels": labels}
    if axes is not None:
        meta[AXES] = axes
    if buffers is not None and any(b is not None for b in buffers):
        meta[BUFFERS] = list(buffers)
    stacked = {name: np.stack([p.arrays()[name] for p in plans]) for name in plans[0].arrays()}
    buf = io.BytesIO()
    np.savez_compressed(buf, __meta__=np.array(json.dumps(meta)), **stacked)
    return buf.getvalue()


def save_plans(
    path: str | Path,
    plans: list[Plan],
    labels: list[str],
    model_name: str,
    model_hash: str,
    axes: dict | None = None,
) -> None:
    """Write plans to one ``.npz`` file: each decision array stacked along a leading plan axis
    (``axes``: the model's :func:`~fleetopt.core.plan.plan_axes`; give them)."""
    write_bytes_atomic(path, plans_npz_bytes(plans, labels, model_name, model_hash, axes=axes))


def plan_file_meta(path: str | Path) -> dict:
    """A plan file's metadata, or {} when it has none or is not a plan file (reading the file whole
    reports why)."""
    try:
        with np.load(path, allow_pickle=False) as npz:
            meta = json.loads(str(npz[_META]))
    except DAMAGED_NPZ_ERRORS:
        return {}
    return meta if isinstance(meta, dict) else {}


def plan_file_model_name(path: str | Path) -> str | None:
    """The model name a plan file's metadata gives, or None (:func:`plan_file_meta`)."""
    name = plan_file_meta(path).get("model_name")
    return name if isinstance(name, str) else None


def load_plans(path: str | Path, data: ModelData) -> tuple[list[Plan], list[str], dict]:
    """Read a whole plan file written by fleetopt (one plan or many) and check it fits ``data``."""
    reader = PlanFileReader(path, data)
    return reader.plans(), reader.labels, reader.meta


class PlanFileReader:
    """A plan file opened and checked against ``data``; :meth:`chunks` yields its plans as stacks.

    Opening checks the metadata, the model name and every array's shape and type; the values (no
    NaN or infinity) are checked as each chunk is read.
    """

    def __init__(self, path: str | Path, data: ModelData):
        self.path = Path(path)
        self.data = data
        self.expected = Plan.empty(data).arrays()
        try:
            with zipfile.ZipFile(self.path) as archive:
                members = {Path(n).stem: n for n in archive.namelist() if n.endswith(".npy")}
                meta_member = members.pop(_META, None)
                self.meta = self._read_meta(archive, meta_member)
                self.headers = {name: self._header(archive, name, members[name]) for name in members}
        except FileNotFoundError:
            raise PlanFileError(f"{self.path}: no such plan file") from None
        except PlanFileError:
            raise
        except zipfile.BadZipFile:  # the words a plan file given directly gets (sources.refuse_other_files)
            raise PlanFileError(f"{self.path}: not a whole .npz archive (damaged or cut short, say in a "
                                "copy), so not a fleetopt plan file") from None
        except Exception as exc:  # format errors all mean the same to a user
            raise PlanFileError(f"{self.path}: not a fleetopt plan file ({exc.__class__.__name__})") from None
        self.members = members
        self._check_arrays()
        labels = self.meta.get("labels") or [self.meta.get("label", self.path.stem)] * self.count
        if isinstance(labels, str):
            labels = [labels]
        if isinstance(labels, list) and self.meta.get("labels") and len(labels) != self.count:
            # renamed silently, a plan could be read under another's name
            said = f"its metadata lists {len(labels)} labels for {self.count} plans"
            raise PlanFileError(f"{self.path}: {said}")
        if not isinstance(labels, list) or len(labels) != self.count:
            labels = [f"{self.path.stem}[{i}]" for i in range(self.count)]
        # a label given to two plans is numbered: two rows of one name could not be told apart
        self.labels = numbered([str(x) for x in labels])
        self.buffers = self._buffers()

    def _buffers(self) -> list | None:
        """Each plan's policy liquidity buffer from the metadata (None: the model's), checked."""
        buffers = self.meta.get(BUFFERS)
        if buffers is None:
            return None
        ok = isinstance(buffers, list) and len(buffers) == self.count
        ok = ok and all(
            b is None or (isinstance(b, (int, float)) and not isinstance(b, bool) and 0 <= b <= MAX_USD)
            for b in buffers
        )  # true was read as $1
        if not ok:
            raise PlanFileError(
                f"{self.path}: {BUFFERS} must list one buffer (USD, 0 to {MAX_USD:g}, or null) per plan"
            )
        return buffers

    def _read_meta(self, archive: zipfile.ZipFile, member: str | None) -> dict:
        if member is None:
            raise PlanFileError(f"{self.path}: not a fleetopt plan file (no metadata)")
        try:
            with archive.open(member) as fp:
                meta = read_json(str(np.lib.format.read_array(fp, allow_pickle=False)))
        except (KeyError, TypeError, ValueError):
            raise PlanFileError(f"{self.path}: not a fleetopt plan file (no metadata)") from None
        if not isinstance(meta, dict):
            raise PlanFileError(f"{self.path}: not a fleetopt plan file (no metadata)")
        if meta.get("format", PLAN_FILE_FORMAT) != PLAN_FILE_FORMAT:
            raise PlanFileError(
                f"{self.path}: plan file format {meta.get('format')!r}, which this fleetopt (format "
                f"{PLAN_FILE_FORMAT}) does not read: written by another version of fleetopt"
            )
        return meta

    def _header(self, archive: zipfile.ZipFile, name: str, member: str) -> tuple[tuple, bool, np.dtype]:
        try:  # a small array is decompressed whole here: a damaged one fails on its header
            with archive.open(member) as fp:
                return _read_header(fp)
        except (zipfile.BadZipFile, zlib.error, EOFError, ValueError) as exc:
            raise PlanFileError(f"{self.path}: {name} is corrupt ({exc})") from None

    def _check_arrays(self) -> None:
        missing = sorted(set(self.expected) - set(self.headers))
        if missing:
            raise PlanFileError(f"{self.path}: missing decision arrays {', '.join(missing)}")
        model = self.data.name
        if self.meta.get("model_name") != model:
            raise PlanFileError(
                f"{self.path}: plans are for model {self.meta.get('model_name')!r}, not {model!r} "
                "(name the model they were made for)"
            )
        mismatch = axes_mismatch(self.meta.get(AXES, {}), self.data)
        if mismatch:
            raise PlanFileError(
                f"{self.path}: {mismatch}: plans for another version of the model, whose decisions "
                "would be read as other items' (solve the model again, or use the model file the plans "
                "were made from)"
            )
        first = self.headers["buy_blocks"][0]
        self.single = len(first) == self.expected["buy_blocks"].ndim
        self.count = 1 if self.single else (first[0] if first else 1)
        for name, template in self.expected.items():
            shape, _, dtype = self.headers[name]
            shape = tuple(shape)
            if dtype.kind not in "biuf":  # before its shape, which a text array's would be refused by
                held = "text" if dtype.kind in "US" else f"{dtype} values"
                raise PlanFileError(f"{self.path}: {name} must hold numbers, not {held}")
            if not self.single and shape[:1] != (self.count,):
                why = (
                    f"{shape[0]} plan(s) where buy_blocks has {self.count}"
                    if shape
                    else f"the model needs {template.shape} per plan"
                )
                raise PlanFileError(f"{self.path}: {name} has shape {shape}: {why}")
            shape = shape if self.single else shape[1:]
            if tuple(shape) != template.shape:
                raise PlanFileError(
                    f"{self.path}: {name} has shape {tuple(shape)}, model {model!r} needs "
                    f"{template.shape} (plans for another version of the model?)"
                )
        if self.count == 0:
            raise PlanFileError(f"{self.path}: the file holds no plans")

    def plans(self) -> list[Plan]:
        """Every plan of the file, in memory (for a few plans: ~240 KB each on the default model)."""
        return [stack.row(p) for stack, _ in self.chunks() for p in range(stack.buy_blocks.shape[0])]

    def chunks(self, rows: int = 1024) -> Iterator[tuple[Plan, list[str]]]:
        """(stack of up to ``rows`` plans as float64, their labels), in file order."""
        with zipfile.ZipFile(self.path) as archive:
            streams = {}
            try:
                for name in self.expected:
                    fp = archive.open(self.members[name])
                    streams[name] = fp
                    _read_header(fp)
                    if self.headers[name][1] and not self.single:
                        # a Fortran-ordered stack cannot be read a plan at a time: read it whole
                        streams[name] = _Whole(self._read_rows(fp, name, self.count))
                # zlib releases the GIL: the arrays are inflated on every core at once
                with ThreadPoolExecutor(max_workers=min(len(streams), usable_cores())) as pool:
                    for start in range(0, self.count, rows):
                        n = min(rows, self.count - start)
                        reading = {
                            name: pool.submit(self._read_rows, fp, name, n) for name, fp in streams.items()
                        }
                        yield (
                            Plan(**{name: f.result() for name, f in reading.items()}),
                            self.labels[start : start + n],
                        )
            finally:
                for fp in streams.values():
                    fp.close()

    def _read_rows(self, fp, name: str, n: int) -> np.ndarray:
        if isinstance(fp, _Whole):
            return fp.take(n)
        shape, fortran, dtype = self.headers[name]
        row_shape = self.expected[name].shape
        size = int(np.prod(row_shape, dtype=np.int64)) * n
        try:
            buf = fp.read(size * dtype.itemsize)
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as exc:
            raise PlanFileError(f"{self.path}: {name} is corrupt ({exc})") from None
        if len(buf) != size * dtype.itemsize:
            raise PlanFileError(f"{self.path}: {name} is truncated")
        flat = np.frombuffer(buf, dtype=dtype)
        if fortran:  # the whole array (see chunks): its axes are stored last to first
            values = flat.reshape(tuple(reversed(shape))).T.reshape((n, *row_shape))
        else:
            values = flat.reshape((n, *row_shape))
        if not np.all(np.isfinite(values)):
            raise PlanFileError(f"{self.path}: {name} holds NaN or infinite values")
        return values.astype(np.float64)


class _Whole:
    """An array already read whole, handed out ``n`` plans at a time like a stream."""

    def __init__(self, values: np.ndarray):
        self.values, self.at = values, 0

    def take(self, n: int) -> np.ndarray:
        self.at += n
        return self.values[self.at - n : self.at]

    def close(self) -> None:
        self.values = None


def _read_header(fp) -> tuple[tuple, bool, np.dtype]:
    """(shape, Fortran order, dtype) of the ``.npy`` stream ``fp``, left at the start of its data."""
    version = np.lib.format.read_magic(fp)
    if version == (1, 0):
        return np.lib.format.read_array_header_1_0(fp)
    return np.lib.format.read_array_header_2_0(fp)


class PlanFileWriter:
    """Writes a plan file a chunk of plans at a time (:meth:`add`), then :meth:`close` assembles
    the archive atomically. Each decision array is spooled to a temporary ``.npy`` file beside
    the target (disk, not memory: about 240 KB per plan on the default model). As a context
    manager it closes on success and removes the spool on an error (:meth:`abort`)."""

    def __init__(self, path: str | Path, model_name: str, model_hash: str, axes: dict | None = None):
        self.path = Path(path)
        self.meta = {"format": PLAN_FILE_FORMAT, "model_name": model_name, "model_hash": model_hash}
        if axes is not None:
            self.meta[AXES] = axes
        self.labels: list[str] = []
        self._dir: Path | None = Path(tempfile.mkdtemp(prefix=".plans-", dir=self.path.parent or "."))
        self._files: dict[str, io.BufferedWriter] = {}
        self._shapes: dict[str, tuple] = {}

    def __enter__(self) -> PlanFileWriter:
        return self

    def __exit__(self, kind, value, traceback) -> None:
        if kind is None:
            self.close()
        else:
            self.abort()

    def add(self, stack: Plan, labels: list[str]) -> None:
        """Append a stack of plans (leading plan axis on every array) and their labels."""
        if self._dir is None:
            raise ValueError(f"{self.path}: the plan file is already closed")
        arrays = {name: np.ascontiguousarray(arr, dtype=np.float64) for name, arr in stack.arrays().items()}
        for name, arr in arrays.items():  # every array checked before any is written
            if arr.ndim == 0 or arr.shape[0] != len(labels):
                raise ValueError(
                    f"{name}: {arr.shape[0] if arr.ndim else 'no'} plans for {len(labels)} labels"
                )
            if name in self._shapes and arr.shape[1:] != self._shapes[name]:
                raise ValueError(f"{name}: plans of shape {arr.shape[1:]} after {self._shapes[name]}")
        for name, arr in arrays.items():
            if name not in self._files:
                self._files[name] = open(self._dir / f"{name}.raw", "wb")  # noqa: SIM115
                self._shapes[name] = arr.shape[1:]
            self._files[name].write(arr.tobytes())
        self.labels += list(labels)

    def close(self) -> None:
        """Write the archive (to a temporary name, then renamed) and remove the spool."""
        if self._dir is None:
            return
        try:
            tmp = self._dir / "plans.npz"
            with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED, allowZip64=True) as archive:
                with archive.open(f"{_META}.npy", "w") as fp:
                    np.lib.format.write_array(fp, np.array(json.dumps({**self.meta, "labels": self.labels})))
                for name, raw in self._files.items():
                    raw.close()
                    shape = (len(self.labels), *self._shapes[name])
                    header = {"descr": "<f8", "fortran_order": False, "shape": shape}
                    with archive.open(f"{name}.npy", "w", force_zip64=True) as fp:
                        np.lib.format.write_array_header_2_0(fp, header)
                        with open(self._dir / f"{name}.raw", "rb") as src:
                            shutil.copyfileobj(src, fp, 16 * 1024 * 1024)
            tmp.replace(self.path)
        finally:
            self.abort()

    def abort(self) -> None:
        """Drop what was added: the spool is removed and no plan file is written."""
        for raw in self._files.values():
            raw.close()
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
        self._dir = None
