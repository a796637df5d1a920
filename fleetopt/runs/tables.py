"""A run's tables read back: its CSV tables and NPV matrix checked as they are read, the columns a
metrics table must hold, and a finished run's files as data (:class:`RunData`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from fleetopt.core.metric_columns import METRIC_COLUMNS
from fleetopt.core.notebook import html_text, markdown_table, markdown_text
from fleetopt.core.units import counted
from fleetopt.errors import InputError
from fleetopt.runs.run_files import RunDirError, RunFiles
from fleetopt.runs.summary_schema import SUMMARY_DAMAGED


@dataclass(frozen=True)
class RunData:
    """A finished run's files as data (:func:`fleetopt.api.read_run`): ``summary`` (summary.json),
    ``tables`` (each CSV it holds by name: plan, statements, metrics, candidates, front,
    purchases; money in USD, shares in [0, 1], as written) and ``npv_matrix`` ((plans,
    scenarios) USD, where the evaluation kept it; else None)."""

    path: Path
    kind: str
    summary: dict
    tables: dict[str, pd.DataFrame]
    npv_matrix: np.ndarray | None = field(default=None, repr=False)

    def __getitem__(self, name: str) -> pd.DataFrame:
        if name not in self.tables:
            raise InputError(f"the {self.kind} run {self.path} has no table {name!r} (it has: "
                             f"{', '.join(self.tables) or 'none'})")  # fmt: skip
        return self.tables[name]

    def __repr__(self) -> str:
        matrix = "" if self.npv_matrix is None else ", npv_matrix"
        tables = ", ".join(self.tables)
        return f"RunData({self.kind} run {str(self.path)!r}: .summary, tables {tables}{matrix})"

    def _contents(self) -> pd.DataFrame:
        """What the run's data holds, a row each: its tables (``data["metrics"]``) with their rows and
        columns, its NPV matrix where kept and its summary."""
        rows = [(f'["{name}"]', f"{counted(len(t), 'row')} x {counted(len(t.columns), 'column')}")
                for name, t in self.tables.items()]  # fmt: skip
        if self.npv_matrix is not None:
            plans, scenarios = self.npv_matrix.shape
            rows.append((".npv_matrix", f"{counted(plans, 'plan')} x {counted(scenarios, 'scenario')}, USD"))
        rows.append((".summary", f"summary.json, {counted(len(self.summary), 'field')}"))
        return pd.DataFrame(rows, columns=["data", "holds"])

    def _title(self) -> str:
        return f"Run data of the {self.kind} run {self.path}"

    def _repr_markdown_(self) -> str:
        """What a notebook cell shows: the run and a table of what its data holds (money in USD,
        shares in [0, 1]), not a dataclass's fields."""
        return "\n".join([f"**{markdown_text(self._title())}**", "", markdown_table(self._contents()), "",
                          markdown_text(RUN_DATA_UNITS)])  # fmt: skip

    def _repr_html_(self) -> str:
        """As :meth:`_repr_markdown_`, in HTML (JupyterLab's first choice)."""
        shown = self._contents().map(html_text).rename(columns=html_text)
        return (f"<p><b>{html_text(self._title())}</b></p>" + shown.to_html(index=False, escape=False)
                + f"<p>{html_text(RUN_DATA_UNITS)}</p>")


# what a notebook's display of a run's data says of its figures
RUN_DATA_UNITS = "Money in USD, shares in [0, 1], as the run's files hold them."


# the columns of a run's CSV tables that are flags, read as True or False wherever present: one edited to
# "no" made pandas read the column as text, and every plan in it, "False" too, as within its limits
FLAG_COLUMNS = ("forecast_within_limits", "on_front", "recommended")
# the columns of a run's CSV tables read back as written: names, and a plan's empty use ("", as
# plan_frame() has it, not NaN)
TEXT_COLUMNS = ("plan", "quarter", "sku", "site", "decision", "item", "use", "unit")


def read_table(
    folder: Path,
    name: str,
    columns: tuple[str, ...] = (),
    numeric: tuple[str, ...] = (),
    text: tuple[str, ...] = (),
) -> pd.DataFrame:
    """The CSV file ``name`` of the run folder ``folder``, checked (:meth:`RunFolder.table
    <fleetopt.runs.folder.RunFolder.table>`)."""
    path = folder / name
    if not path.is_file():
        raise RunDirError(f"{path} is missing: the run folder {folder} has no {name}")
    try:
        frame = pd.read_csv(path)
        for column in (c for c in text if c in frame.columns):
            frame[column] = pd.read_csv(path, usecols=[column], dtype=str, keep_default_na=False)[column]
    except pd.errors.EmptyDataError:
        raise RunDirError(f"{path} is empty: a run's {name} has a header and a row per plan") from None
    except (OSError, UnicodeDecodeError, pd.errors.ParserError) as exc:
        detail = " ".join(str(exc).split())
        raise RunDirError(f"{path} cannot be read as CSV ({detail})") from None
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise RunDirError(f"{path} has no column {', '.join(map(repr, missing))}")
    if frame.empty:
        raise RunDirError(f"{path} has a header but no rows: a run's {name} has a row per plan")
    for column in (c for c in numeric if c in frame.columns):  # those of ``columns`` are there
        if not pd.api.types.is_numeric_dtype(frame[column]):
            raise RunDirError(f"{path}: column {column!r} holds a value that is not a number")
    for column in (c for c in FLAG_COLUMNS if c in frame.columns):
        # an empty cell (a row cut short) is left to the checks of the table's rows, which say more
        if not frame[column].dropna().map(lambda v: isinstance(v, (bool, np.bool_))).all():
            raise RunDirError(f"{path}: column {column!r} holds a value that is not True or False")
    return frame


def read_npv_matrix(path: Path, summary: dict) -> np.ndarray:
    """A run's npv_matrix.npy (``path``), mapped, not read (a large evaluation's is read only where it
    is used), refused where it is not a whole array of numbers of the run's plans x scenarios (a
    deterministic evaluation's: one scenario) as ``summary`` (its summary.json) counts them."""
    try:
        npv = np.load(path, mmap_mode="r", allow_pickle=False)
    except (OSError, ValueError) as exc:  # cut short, or not a .npy file (numpy's words: "pickled")
        detail = exc.strerror if isinstance(exc, OSError) and exc.strerror else "not a whole .npy array"
        raise RunDirError(f"{path} cannot be read as an NPV matrix ({detail}): {SUMMARY_DAMAGED}"
                          ) from None  # fmt: skip
    plans, scenarios = summary.get("n_plans"), summary.get("n_scenarios") or 1
    if npv.dtype.kind != "f" or (plans is not None and npv.shape != (plans, scenarios)):
        raise RunDirError(f"{path} holds a {npv.shape} array of {npv.dtype}, not the NPVs of the run's "
                          f"{counted(plans, 'plan')} x {counted(scenarios, 'scenario')}: "
                          f"{SUMMARY_DAMAGED}")  # fmt: skip
    return npv


# the columns of a run's metrics table every reader needs (others are read where present); every metric
# present must be a number (NaN allowed): a damaged cell is refused by name, not a traceback
_METRIC_FIGURES = ("npv_mean_usd", "npv_cvar5_usd", "breach_probability", "default_probability")
METRICS_TABLES = {  # kind: RunFolder.table's file, columns, of which numbers, of which labels
    "evaluate": (RunFiles.METRICS, ("plan", *_METRIC_FIGURES), tuple(METRIC_COLUMNS), ("plan",)),
    "sweep": (
        RunFiles.CANDIDATES_CSV,
        ("plan", *_METRIC_FIGURES, "on_front", "recommended"),
        (*METRIC_COLUMNS, "forecast_npv_usd"),
        ("plan",),
    ),
}
