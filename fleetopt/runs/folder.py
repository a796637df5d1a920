"""Run folders: the one place that knows a run's file names, claims new folders and writes them whole.

A run writes into a folder of its own: claimed before the run starts (``mkdir`` of a unique
name, so runs started at the same moment never share or overwrite one), filled atomically (a
temporary folder renamed onto it) or, for resumable jobs, file by file with ``summary.json``
last: its presence marks a finished run.
"""

from __future__ import annotations

import fcntl
import functools
import hashlib
import json
import math
import os
import re
import shlex
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

import numpy as np
import pandas as pd

from fleetopt import __version__
from fleetopt.core.metric_columns import METRIC_COLUMNS
from fleetopt.core.units import counted
from fleetopt.errors import InputError, user_path, warn
from fleetopt.runs import limits
from fleetopt.runs.files import (
    current_umask,
    file_sha256,
    json_kind,
    read_json,
    sync_folder,
    write_bytes_atomic,
    written_through,
)
from fleetopt.schema.loading import DISCOUNT_RATE, HORIZON_QUARTERS, quoting_json, shown_json_value

if TYPE_CHECKING:
    from fleetopt.schema.loading import LoadedModel

RUNS_DIR_VARIABLE = "FLEETOPT_RUNS_DIR"
RUN_KINDS = ("solve", "stochastic", "evaluate", "sweep")  # what a run folder holds (summary.json's kind)
# a run of each kind, in words
KIND_NOUNS = {"solve": "a solve", "stochastic": "a stochastic solve", "evaluate": "an evaluation",
              "sweep": "a sweep"}  # fmt: skip
JOB_KINDS = ("evaluate", "sweep")  # the runs that keep a job folder, resumable with --resume

# the job folders whose lock this process holds: folder (resolved) -> the lock file's descriptor
_HELD_LOCKS: dict[Path, int] = {}


class RunDirError(InputError):
    """A run folder that cannot be written or read."""


def runs_dir() -> Path:
    """The runs folder: $FLEETOPT_RUNS_DIR, else ./runs (run folders and the registry live there).
    Set but empty (a careless ``export FLEETOPT_RUNS_DIR=``) counts as unset: the current folder
    itself would fill with run folders and the registry. A leading ``~`` is the home folder, as the
    shell would give it (set from Python, or quoted, it reached the registry as a folder named "~"
    while the runs were written under the home folder)."""
    return user_path(os.environ.get(RUNS_DIR_VARIABLE, "").strip() or "runs", f"${RUNS_DIR_VARIABLE}")


def _lock_holder(fd: int) -> str:
    """The pid in a job folder's lock file, as text: its first line is the process that locked it last."""
    return (os.pread(fd, 32, 0).decode("ascii", "replace").split() or ["unknown"])[0]


def unfinished_jobs(root: Path | None = None) -> list[RunFolder]:
    """The evaluations and sweeps in the runs folder (``root``, default :func:`runs_dir`; its
    direct subfolders) that have not finished: interrupted, or still running in another process
    (:meth:`RunFolder.running_pid`), or whose job.json is damaged (:meth:`RunFolder.job_damage`).
    The registry records a run once it finishes, so these are the jobs `--resume` finishes. Oldest
    first (folder names start with their time)."""
    return [run for run in _run_folders(root) if run.interrupted_kind() or run.job_damage()]


def finished_folders(root: Path | None = None) -> list[RunFolder]:
    """The finished runs in the runs folder (``root``, default :func:`runs_dir`; its direct
    subfolders with a summary.json), oldest first: with the registry's records, those a run killed
    between writing its results and recording them left unrecorded."""
    return [run for run in _run_folders(root) if run.is_finished]


# a run folder being written whole (write, start_job) takes seconds; one this old was abandoned
PARTIAL_ABANDONED_SECONDS = 3600.0


def abandoned_partials(root: Path | None = None, now: float | None = None) -> list[Path]:
    """The temporary folders (.NAME.partial-...) in the runs folder (``root``, default
    :func:`runs_dir`) that a run killed while its folder was being written left behind: no process
    holds their lock, and nothing in them changed for :data:`PARTIAL_ABANDONED_SECONDS`. Nothing
    in them was finished (the run had not started, or its results were not yet in place), so they
    can be deleted. Oldest first."""
    root = runs_dir() if root is None else Path(root)
    now = time.time() if now is None else now
    try:
        found = sorted(p for p in root.iterdir() if p.is_dir() and p.name.startswith(".")
                       and ".partial-" in p.name)  # fmt: skip
    except OSError:
        return []
    return [p for p in found if RunFolder(p).running_pid() is None and _unchanged_for(p, now)]


def _unchanged_for(folder: Path, now: float) -> bool:
    """Whether nothing in ``folder`` (nor the folder) changed for :data:`PARTIAL_ABANDONED_SECONDS`."""
    try:
        times = [folder.stat().st_mtime, *(p.stat().st_mtime for p in folder.iterdir())]
    except OSError:
        return False
    return now - max(times) > PARTIAL_ABANDONED_SECONDS


def _run_folders(root: Path | None) -> list[RunFolder]:
    """The direct subfolders of the runs folder (``root``, default :func:`runs_dir`), oldest first
    (folder names start with their time); none where it cannot be read."""
    root = runs_dir() if root is None else Path(root)
    try:  # a folder being written whole (.NAME.partial-...) is not a run yet
        folders = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    except OSError:
        return []
    return [RunFolder(folder) for folder in folders]


# the end of a run folder's default name by the kind of run (<UTC time>-<model><suffix>): a solve's
# is the model's name alone
FOLDER_SUFFIX = {"solve": "", "stochastic": "-stochastic", "evaluate": "-evaluate", "sweep": "-sweep"}


def run_name(kind: str, model_name: str) -> str:
    """The default name a run of ``kind`` gets after its time stamp (:meth:`RunFolder.claim`)."""
    return model_name + FOLDER_SUFFIX[kind]


# job.json: the options a resume is to be given again, as typed (--report, a ranking): what the
# command printed and reported, which the job's own settings do not hold
RESUME_OPTIONS = "resume_options"


def resume_command(kind: str, folder: str | Path, *options: str, kept: bool = True) -> str:
    """The command that finishes an interrupted run of `fleetopt {kind}` in ``folder``, ready to
    paste into a shell (a path with spaces quoted), with the options its job.json keeps for a
    resume (:data:`RESUME_OPTIONS`; not with ``kept`` False) and any further ``options``."""
    stored = kept_options(Path(folder)) if kept else []
    return shlex.join(["fleetopt", kind, "--resume", str(folder), *stored, *options])


def kept_options(folder: Path) -> list[str]:
    """job.json's :data:`RESUME_OPTIONS` (none where it has none, or cannot be read)."""
    try:
        job = read_json((folder / RunFolder.JOB).read_text(encoding="utf-8"))
    except (OSError, ValueError):  # UnicodeDecodeError is a ValueError
        return []
    kept = job.get(RESUME_OPTIONS) if isinstance(job, dict) else None
    if not isinstance(kept, list) or not all(isinstance(token, str) for token in kept):
        return []
    return kept


def json_text(obj) -> str:
    """``obj`` as strict JSON (what jq and other languages read): NumPy numbers as numbers, and a
    figure that is not finite (NaN: no scenario to average; an infinite ratio) as null."""
    return json.dumps(finite_json(obj), indent=2, allow_nan=False) + "\n"


def csv_text(frame: pd.DataFrame) -> str:
    """A table as a run writes it (metrics, candidates, statements): six decimals, and a value that
    rounds to zero written 0.000000, never -0.000000 (a round-off a reader would take for a loss)."""
    numbers = frame.select_dtypes("float").columns
    cleaned = frame.copy()
    cleaned[numbers] = frame[numbers].mask(frame[numbers].abs() <= 5e-7, 0.0)
    return cleaned.to_csv(index=False, float_format="%.6f")


def finite_json(o):
    """``o`` with NumPy numbers as Python's and every figure that is not finite as None: what strict
    JSON can hold (a summary.json, a registry record)."""
    if isinstance(o, dict):
        return {k: finite_json(v) for k, v in o.items()}
    if isinstance(o, (list, tuple)):
        return [finite_json(v) for v in o]
    if isinstance(o, np.ndarray):
        return finite_json(o.tolist())
    if isinstance(o, (np.floating, np.integer, np.bool_)):
        o = o.item()
    if isinstance(o, float) and not math.isfinite(o):
        return None
    if o is None or isinstance(o, (str, int, float, bool)):
        return o
    raise TypeError(f"not JSON serialisable: {type(o)}")


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


# the columns of a run's CSV tables that are flags, read as True or False wherever present: one edited to
# "no" made pandas read the column as text, and every plan in it, "False" too, as within its limits
FLAG_COLUMNS = ("forecast_within_limits", "on_front", "recommended")
# the columns of a run's CSV tables read back as written: names, and a plan's empty use ("", as
# plan_frame() has it, not NaN)
TEXT_COLUMNS = ("plan", "quarter", "sku", "site", "decision", "item", "use", "unit")


# a sweep's summary.json field naming the plan of highest mean NPV no worse than the forecast optimum on
# every figure its rule reads, with its differences (recommendation.best_mean_alternative; null: none)
BEST_MEAN_KEY = "best_mean_within_rule"
# the fields of a summary.json its readers (the report, compare, evaluate's plan sources, the registry)
# take as written, by type: checked whenever a summary is read, so a field damaged or edited by hand
# is refused by name (exit 2), never met later as a traceback; a field absent (an older run) is not
SUMMARY_FIELDS = {
    **dict.fromkeys(
        ("status", "model_name", "model_hash", "model_source", "plans_source", "plans_sha256",
         "plans_model_hash", "plan_sha256", "fleetopt_version"),
        (limits.text,),
    ),
    "kind": (limits.text, RUN_KINDS),  # the report read a kind "banana" as a solve's
    HORIZON_QUARTERS: (limits.whole, 1),  # what `fleetopt runs` lists the run's figures over
    DISCOUNT_RATE: (limits.number, 0),
    **dict.fromkeys(("objective", "plans_objective"), (limits.text, ("npv", "cost"))),
    "n_plans": (limits.whole, 1),
    "n_scenarios": (limits.scenarios,),
    "seed": (limits.seed,),
    "deterministic": (limits.flag,),
    **dict.fromkeys(
        ("objective_usd", "bound_usd", "gap", "build_seconds", "solve_seconds", "rp_usd", "rp_bound_usd",
         "present_cost_opening_fleet_usd"),
        (limits.number,),
    ),
    **dict.fromkeys(("settings", "out_of_sample", "ranking", "completion", "timings", "model_size", "plan"),
                    (limits.instance, dict, "a JSON object")),
    **dict.fromkeys(("scenarios", "commitments"), (limits.instance, list, "a JSON list")),
    "first_stage": (limits.text,),
    **dict.fromkeys(("candidates_feasible", "candidates_tried"), (limits.whole, 0)),  # a sweep's
    "why": (limits.text,),
    "rule_settings": (limits.instance, dict, "a JSON object"),
    "mip_gap": (limits.mip_gap,),  # a sweep's, which its re-ranking solves with
    "rule_breach_limit": (limits.number, 0, 1),  # a sweep's P(breach) limit, the report's "In short"
    "time_limit_seconds": (limits.time_limit,),  # its --time-limit, null: none
    "dropped": (limits.instance, list, "a JSON list"),
    BEST_MEAN_KEY: (limits.instance, dict, "a JSON object"),  # a sweep's; null: none
    # a re-ranked sweep's: the report joins them as they are
    **dict.fromkeys(("why_before_lead", "rerank_solved"), (limits.texts,)),
}  # fmt: skip
# names of figures that are numbers in every summary.json fleetopt writes (a top-level one that is
# not a list or an object of them, as revenue_by_customer_usd is, is a number or null)
NUMBER_NAMES = ("_usd", "_probability", "_seconds", "_share", "_mw")
# the bounds (low, high) of those figures no run can hold outside them, by the end of their names: a
# probability or a share in [0, 1], a time or a power not negative
NUMBER_BOUNDS = {"_probability": (0, 1), "_share": (0, 1), "_seconds": (0, None), "_mw": (0, None)}
# the USD figures of a summary.json that are never negative: a cash buffer, a standard error, capex, debt
NON_NEGATIVE_USD = ("recommended_liquidity_buffer_usd", "runner_up_lead_se_usd", "capex_gpu_total_usd",
                    "capex_power_total_usd", "peak_debt_usd")  # fmt: skip
# the round-off a bound allows: a stochastic solve's probability is a sum of its scenarios' weights
BOUND_SLACK = 1e-9
# the fields inside a stochastic solve's summary.json objects its readers take as written (its
# settings and out-of-sample figures, read by the report and compare), checked as SUMMARY_FIELDS
# are: (object, field) -> (check, *args, required)
NESTED_SUMMARY_FIELDS = {
    ("settings", "scenarios"): (limits.whole, 1, True),
    ("settings", "first_stage_quarters"): (limits.whole, 0, False),
    ("out_of_sample", "seed"): (limits.seed, True),
    ("out_of_sample", "scenarios"): (limits.whole, 0, True),
    ("out_of_sample", "paired"): (limits.instance, dict, "a JSON object", True),
    ("out_of_sample", "metrics"): (limits.instance, dict, "a JSON object", True),
}
# the fields each kind's summary.json must have: its readers (the report, compare, a sweep's
# --rerank, `runs add`) take them as there, so one missing is refused by name (a report met it as a
# KeyError traceback, and `runs add` recorded the run); a field only some runs have is not here
REQUIRED_SUMMARY_FIELDS = {
    "solve": (),
    "stochastic": ("settings", "status", "scenarios"),
    "evaluate": ("n_scenarios", "seed"),
    "sweep": ("n_scenarios", "seed", "candidates_feasible", "why"),
}
# a stochastic solve's count of scenarios of a kind comes with its probability (field -> its partner)
PAIRED_SUMMARY_FIELDS = {f"{name}_scenarios": f"{name}_probability"
                         for name in ("cash_rescued", "covenant_cured", "relaxed")}  # fmt: skip
SUMMARY_DAMAGED = "the file was damaged or edited; restore it, or run anew"


def _summary_field(label: str, value, check, args) -> None:
    """``check(label, value, *args)`` of a summary.json field, its refusal a damaged run folder's
    (quoting the value in JSON's words)."""
    try:
        with quoting_json():
            check(label, value, *args)
    except InputError as exc:
        raise RunDirError(f"{exc}: {SUMMARY_DAMAGED}") from None


def _figure(label: str, value, name: str) -> None:
    """A summary.json figure named as a number (:data:`NUMBER_NAMES`): a finite number, within its
    bounds (:data:`NUMBER_BOUNDS`, :data:`NON_NEGATIVE_USD`) give or take round-off."""
    limits.number(label, value)
    low, high = (0, None) if name in NON_NEGATIVE_USD else next(
        (bounds for end, bounds in NUMBER_BOUNDS.items() if name.endswith(end)), (None, None))
    if (low is not None and value < low - BOUND_SLACK) or (high is not None and value > high + BOUND_SLACK):
        limits.number(label, value, low, high)  # refused in its words


def _check_complete(summary: dict, path: Path) -> None:
    """Refuse a summary.json (at ``path``) without a field its kind needs (:data:`REQUIRED_SUMMARY_FIELDS`,
    :data:`PAIRED_SUMMARY_FIELDS`), naming it; a kind that is none of them is refused by its check."""
    needed = [*REQUIRED_SUMMARY_FIELDS.get(summary.get("kind"), ())]
    if summary.get("kind") == "stochastic":
        needed += [pair for name, pair in PAIRED_SUMMARY_FIELDS.items() if name in summary]
    missing = [name for name in needed if name not in summary]
    if missing:
        verb = "is" if len(missing) == 1 else "are"
        raise RunDirError(f"{path}: {', '.join(missing)} {verb} missing, which fleetopt writes for "
                          f"{KIND_NOUNS[summary['kind']]}: {SUMMARY_DAMAGED}")  # fmt: skip


# those that may be null: a figure with no value (NaN, written as null), a deterministic evaluation's
# seed, a path or hash a run had none of
SUMMARY_NULLABLE = {
    "model_source", "plans_sha256", "plans_model_hash", "plan_sha256", "plans_objective", "seed",
    "n_scenarios", "objective_usd", "bound_usd", "gap", "build_seconds", "solve_seconds", "rp_usd",
    "rp_bound_usd", "present_cost_opening_fleet_usd", "out_of_sample", "ranking", "completion",
    "rule_breach_limit", BEST_MEAN_KEY,
}  # fmt: skip


# job.json's fingerprint of the code a job's figures come from (:func:`figures_code`)
FIGURES_CODE = "figures_code"
# the subpackages whose code computes a job's stored chunks and candidates: the model, the data, the
# MILP and the evaluator (not the CLI, the reports or the runs' files, which only show them)
FIGURE_PACKAGES = ("core", "evaluate", "milp", "schema", "stochastic", "sweep")
_STAMPS = ("fleetopt_version", FIGURES_CODE)  # who started a job: its own, never an update's


@functools.cache
def figures_code() -> str:
    """A fingerprint (16 hex digits of SHA-256) of the source of ``FIGURE_PACKAGES`` (.py and the
    kernel's .cu, by path and content): the same version of fleetopt from a checkout changed
    between a job's start and its resume would complete it with other figures."""
    root = Path(__file__).resolve().parent.parent
    digest = hashlib.sha256()
    for package in FIGURE_PACKAGES:
        for path in sorted((root / package).rglob("*")):
            if path.suffix in (".py", ".cu") and path.is_file():
                digest.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


class RunFolder:
    """A run folder: its path, the names of its files, claiming it, writing it and reading it back."""

    SUMMARY = "summary.json"  # written last: a finished run has one
    MODEL = "model.yaml"  # the model the run was made from, as it was read
    JOB = "job.json"  # a resumable job's settings (evaluate, sweep), written when it starts
    CHUNKS = "chunks"  # a resumable job's finished evaluation chunks, removed when it finishes
    PLAN = "plan.npz"  # a solve's plan
    PLANS = "plans.npz"  # a sweep's candidate plans
    PLAN_CSV = "plan.csv"
    PURCHASES = "purchases.csv"  # solve --purchases: the file as it was read
    STATEMENTS = "statements.csv"
    METRICS = "metrics.csv"
    NPV_MATRIX = "npv_matrix.npy"
    CANDIDATES = "candidates.json"  # a sweep's candidates (feasible or not), saved as each is made
    CANDIDATES_COMPLETE = "candidates_complete"  # job.json: a sweep has made all its candidates
    # job.json: a sweep whose evaluated candidates none met its rule, and how to finish it (in words)
    RULE_NOT_MET = "rule_not_met"
    CANDIDATES_CSV = "candidates.csv"
    FRONT = "front.csv"
    PATH_CSV = "path.csv"  # evaluate --explain: the scenario's quarters, every column
    PATH_JSON = "path.json"  # evaluate --explain: what it showed (ScenarioPath.explained), for the report
    REPORT = "report.html"
    # a job's lock, held by the process running it (flock: the system releases it when that process
    # ends, however it ends); removed when the run finishes. Not a run file: nothing reads it but the lock
    LOCK = ".fleetopt-lock"
    PLAN_FILES = (PLANS, PLAN)
    # the files a run writes: no other command's output may replace one (see refuse_run_file)
    TABLES = (PLAN_CSV, STATEMENTS, METRICS, CANDIDATES_CSV, FRONT, PURCHASES)  # RunData's, in order
    FILES = (SUMMARY, MODEL, JOB, PLAN, PLANS, PLAN_CSV, PURCHASES, STATEMENTS, METRICS, NPV_MATRIX,
             CANDIDATES, CANDIDATES_CSV, FRONT, PATH_CSV, PATH_JSON, REPORT)  # fmt: skip
    # the files each kind of finished run writes besides summary.json and model.yaml (a summary.json
    # edited to another kind was recorded, and `fleetopt runs` then failed on its figures)
    RESULTS_OF_KIND: ClassVar[dict[str, tuple[str, ...]]] = {
        "solve": (PLAN, STATEMENTS), "stochastic": (PLAN, STATEMENTS), "evaluate": (METRICS,),
        "sweep": (PLANS, CANDIDATES),
    }  # fmt: skip
    # a sweep's summary.json: the keys of the plans it is about
    SWEEP_PICKS: ClassVar[dict[str, str]] = {
        "recommended": "the sweep's recommended candidate",
        "forecast_optimum": "the forecast optimum",
    }

    def __init__(self, path: str | Path, claimed: bool = False):
        self.path = user_path(path)  # "~/runs/x" from Python, as a shell gives it
        self.claimed = claimed  # created by this process: released again if the run leaves it empty

    def __repr__(self) -> str:
        return f"RunFolder({str(self.path)!r})"

    def __truediv__(self, name: str) -> Path:
        return self.path / name

    # ------------------------------------------------------------ claiming

    @staticmethod
    def check_new(path: str | Path | None) -> None:
        """Refuse a folder that exists and is not empty (or is not a folder): a run never mixes
        its files with another's. None (a default folder, claimed later) passes."""
        if path is None:
            return
        limits.out_path("out", path)  # a name the registry could not record is refused before the run
        path = user_path(path)
        if path.exists() and not path.is_dir():
            raise RunDirError(f"{path} is a file, not a folder: choose a new or empty folder")
        if path.exists() and any(path.iterdir()):
            interrupted = RunFolder(path).interrupted_kind()
            running = RunFolder(path).running_pid() if interrupted else None
            if running:  # not interrupted: its run goes on (--resume would be refused as held)
                raise RunDirError(
                    f"{path} holds a run of fleetopt {interrupted} still running in another process "
                    f"(pid {running}): choose another folder"
                )
            cannot = RunFolder(path).job_version_problem() if interrupted else None
            if cannot is not None:  # its resume would be refused: not offered
                raise RunDirError(f"{path} holds an interrupted run of fleetopt {interrupted} that cannot be "
                                  f"resumed: {cannot}; choose another folder")  # fmt: skip
            if interrupted:
                python = "resume_sweep" if interrupted == "sweep" else "resume_evaluation"
                raise RunDirError(
                    f"{path} holds an interrupted run of fleetopt {interrupted}: finish it with "
                    f"{resume_command(interrupted, path)} (in Python, from fleetopt.api.{python}), or "
                    "choose another folder"
                )
            raise RunDirError(f"{path} already exists and is not empty: choose another folder")
        if path.resolve() in (Path.cwd(), *Path.cwd().parents):  # renamed onto, it would fail after the work
            raise RunDirError(f"{path} is the current folder (or holds it): choose a new folder")
        # the nearest folder that exists must take new files: refused now, not after the work
        blocked = unwritable_ancestor(path)
        if blocked is not None:
            raise RunDirError(f"cannot write {path}: {blocked} is not a folder this user can write to")

    @classmethod
    def to_write(cls, out: str | Path | None, kind: str, model_name: str) -> RunFolder:
        """Where a finished run of ``kind`` is written: ``out`` as given (a started job's folder, or
        a new or empty one, checked when written), else a new folder claimed with its default name."""
        return cls(out) if out is not None else cls.claim(None, run_name(kind, model_name))

    @classmethod
    def claim(cls, out: str | Path | None, default_name: str, runs: Path | None = None) -> RunFolder:
        """The folder a new run writes: ``out`` (new or empty), else a new unique
        ``<runs>/<UTC timestamp>-<default_name>[-<n>]`` created at once with ``mkdir``."""
        if out is not None:
            cls.check_new(out)
            out = user_path(out)
            try:
                out.mkdir(parents=True)
                return cls(out, claimed=True)
            except FileExistsError:
                return cls(out)  # an empty folder the user made: theirs, never removed
            except OSError as exc:
                raise RunDirError(f"cannot create {out}: {exc.strerror or exc}") from None
        runs = runs_dir() if runs is None else Path(runs)
        try:
            runs.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise RunDirError(
                f"the runs folder {runs} (${RUNS_DIR_VARIABLE} or ./runs) cannot be used: "
                f"{exc.strerror or exc}"
            ) from None
        stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
        n = 1
        while True:
            path = runs / (f"{stamp}-{default_name}" if n == 1 else f"{stamp}-{default_name}-{n}")
            try:
                path.mkdir()  # atomic: of two runs asking for one name, exactly one gets it
                return cls(path, claimed=True)
            except FileExistsError:
                n += 1

    def release(self) -> None:
        """Remove the folder if this process claimed it and nothing was written into it."""
        if self.claimed and self.path.is_dir() and not any(self.path.iterdir()):
            self.path.rmdir()

    def discard(self) -> None:
        """Remove what an unfinished run wrote (its files of :attr:`FILES`, its chunks), then the
        folder itself where this process claimed it: an empty folder the user made stays theirs."""
        for name in self.FILES:
            (self.path / name).unlink(missing_ok=True)
        shutil.rmtree(self.chunk_folder, ignore_errors=True)
        self.release_lock(remove=True)
        self.release()

    @contextmanager
    def released_on_failure(self) -> Iterator[RunFolder]:
        """A run that fails (or is stopped) lets go of its folder: the lock of a job it started there
        (another process may resume it: a notebook, which lives on, held it until it ended), and the
        folder itself where this process claimed it and left it empty."""
        try:
            yield self
        except BaseException:
            self.release_lock()
            self.release()
            raise

    # ------------------------------------------------------------ locking

    def hold_lock(self, keep: bool = False) -> None:
        """Hold the job folder's lock until the run finishes (:meth:`finish`) or this process ends,
        so that no two processes run or resume one job at once; refuse if another process holds it.
        Held already by this process: nothing to do. Unless ``keep`` (a job being started, a
        finished one being tidied), a folder that is not an unfinished job keeps no lock file (its
        command refuses it after this). Once held, the temporary files a process killed while it
        wrote there left behind are removed (:meth:`_remove_stale_temporary_files`)."""
        key = self.path.resolve()
        if key in _HELD_LOCKS or not self.path.is_dir():
            return
        lock = self.path / self.LOCK
        try:
            fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o666)
        except OSError as exc:
            raise RunDirError(f"cannot lock {self.path}: {exc.strerror or exc}") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            holder = _lock_holder(fd)
            os.close(fd)
            raise RunDirError(
                f"{self.path} is being run by another fleetopt process (pid {holder}): wait for it or stop it"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        _HELD_LOCKS[key] = fd
        self._remove_stale_temporary_files()
        if not keep and (self.is_finished or not self.is_job):  # checked under the lock: its run ended
            self.release_lock(remove=True)

    def _stale_temporary_files(self) -> list[Path]:
        """The temporary files of atomic writes (``.NAME.XXXXXXXX.tmp``, runs.files.write_bytes_atomic)
        of the files a job writes while it holds the lock, and of its chunks: left by a process killed
        while it wrote them where no process holds the lock (a report is written without the lock:
        its file is left alone)."""
        names = [name for name in self.FILES if name != self.REPORT]
        stale = [p for name in names for p in self.path.glob(f".{name}.*.tmp")]
        kept = [*self.chunk_folder.glob(".chunk-*.npz.*.tmp"), *self.chunk_folder.glob(".rows-*.json.*.tmp")]
        return [*stale, *kept]

    def _remove_stale_temporary_files(self) -> None:
        """:meth:`_stale_temporary_files` removed; called with the lock held (no other process writes
        them)."""
        for path in self._stale_temporary_files():
            path.unlink(missing_ok=True)

    @property
    def left_untidy(self) -> bool:
        """Whether a finished job folder keeps what its finish removes (chunks, its lock file, the
        temporary files of a process killed while it wrote): it was killed before it was tidied."""
        return (self.chunk_folder.exists() or (self.path / self.LOCK).exists()
                or bool(self._stale_temporary_files()))  # fmt: skip

    @contextmanager
    def held_while_tidied(self) -> Iterator[RunFolder]:
        """A finished job folder whose clean-up was cut short (a process killed after its summary.json,
        before its record): its lock held for the block (refused while another process holds it: its
        run is still being finished), then the folder tidied as a finish does (:meth:`tidy_finished_job`)
        when the block ends well, or the lock let go when it fails."""
        self.hold_lock(keep=True)
        try:
            yield self
        except BaseException:
            self.release_lock()
            raise
        self.tidy_finished_job()

    def running_pid(self) -> str | None:
        """The pid of another process that holds this job folder's lock (its run goes on), else None."""
        lock = self.path / self.LOCK
        if self.path.resolve() in _HELD_LOCKS or not lock.is_file():
            return None
        try:
            fd = os.open(lock, os.O_RDONLY)
        except OSError:
            return None
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except OSError:
            return _lock_holder(fd)
        finally:
            os.close(fd)  # closing lets go of a lock taken here
        return None

    @contextmanager
    def locked_for_run(self) -> Iterator[RunFolder]:
        """The folder's lock (:meth:`hold_lock`) for a run or resume in the block: kept when the block
        ends well (the run's :meth:`finish` lets it go), let go when it fails, so that another
        process may resume the folder then."""
        self.hold_lock()
        try:
            yield self
        except BaseException:
            self.release_lock()
            raise

    def release_lock(self, remove: bool = False) -> None:
        """Let go of the lock this process holds on the folder (if any), removing its file when the
        folder needs no lock any more (finished or discarded: a later command refuses it anyway)."""
        fd = _HELD_LOCKS.pop(self.path.resolve(), None)
        if fd is None:
            return
        if remove:  # while still held: a process that opened the file before sees the run ended
            (self.path / self.LOCK).unlink(missing_ok=True)
        os.close(fd)

    # ------------------------------------------------------------ reading

    @property
    def is_finished(self) -> bool:
        """Whether the run wrote its summary.json (a job's folder has none until it finishes)."""
        return (self.path / self.SUMMARY).exists()

    def results_missing(self, kind: str) -> list[str]:
        """The files of :attr:`RESULTS_OF_KIND` a finished run of ``kind`` writes that the folder lacks."""
        return [name for name in self.RESULTS_OF_KIND[kind] if not (self.path / name).is_file()]

    @property
    def is_job(self) -> bool:
        """A resumable job's folder (evaluate, sweep), finished or not."""
        return (self.path / self.JOB).exists()

    def interrupted_kind(self) -> str | None:
        """evaluate or sweep for an unfinished job folder; None for any other folder."""
        if not self.is_job or self.is_finished:
            return None
        try:
            kind = self.job().get("kind")
        except RunDirError:
            return None
        return kind if kind in JOB_KINDS else None

    def job_damage(self) -> str | None:
        """Why an unfinished job folder's job.json does not say what the job is (it cannot be read,
        or names no kind of job), so that it cannot be resumed; None for any other folder."""
        if not self.is_job or self.is_finished:
            return None
        try:
            job = self.job()
        except RunDirError:
            return f"{self.path / self.JOB} cannot be read as a job's settings (cut short, edited or damaged)"
        kinds = ", ".join(JOB_KINDS)
        if "kind" not in job:  # not "'kind' is null": a value the file does not hold
            return f"{self.path / self.JOB}: 'kind' is missing (one of {kinds})"
        if job["kind"] not in JOB_KINDS:
            return f"{self.path / self.JOB}: 'kind' is {shown_json_value(job['kind'])}, not one of {kinds}"
        return None

    @property
    def making_candidates(self) -> bool:
        """An unfinished sweep that has not made all its candidates yet (job.json's
        ``candidates_complete`` is false): its plans file holds only those made so far."""
        return self.is_job and not self.is_finished and self.job().get(self.CANDIDATES_COMPLETE) is False

    @property
    def chunk_folder(self) -> Path:
        """Where a job keeps its finished chunks until it is recorded (``chunks/``)."""
        return self.path / self.CHUNKS

    @property
    def model_file(self) -> Path | None:
        """The copy of the model the run was made from, if there is one."""
        path = self.path / self.MODEL
        return path if path.exists() else None

    @property
    def plan_file(self) -> Path | None:
        """The plans of the run: plans.npz (a sweep) or plan.npz (a solve), if there is one."""
        return next((self.path / n for n in self.PLAN_FILES if (self.path / n).exists()), None)

    def plan_changed(self) -> bool:
        """Whether a solve's or stochastic solve's plan.npz is not the file the run wrote: its SHA-256
        differs from summary.json's ``plan_sha256`` (a run written before it was kept: False)."""
        stored, file = self.summary().get("plan_sha256"), self.path / self.PLAN
        return bool(stored) and file.is_file() and file_sha256(file) != stored

    def plan_changed_words(self) -> str:
        """What :meth:`plan_changed` found, in words: each reader adds what it would get wrong."""
        return (f"{self.path / self.PLAN} changed since the run wrote it (its SHA-256 is not the one "
                f"{self.SUMMARY} stored)")  # fmt: skip

    def summary(self, complete: bool = True) -> dict:
        """The run's summary.json; one that is not a JSON object, or whose field of
        :data:`SUMMARY_FIELDS` is not of its type, or a figure named as a number
        (:data:`NUMBER_NAMES`) that is not one, is refused by name, and so is one that lacks a field
        its kind needs (:data:`REQUIRED_SUMMARY_FIELDS`), unless not ``complete`` (the kind is read
        first: a folder with another kind's files is refused as such, not for that kind's fields)."""
        summary = self._json_object(self.SUMMARY)
        path = self.path / self.SUMMARY
        for name, (check, *args) in SUMMARY_FIELDS.items():
            if name in summary and not (summary[name] is None and name in SUMMARY_NULLABLE):
                _summary_field(f"{path}: {name}", summary[name], check, args)
        # text there met the report as a traceback; a probability of -1 was shown as -100.0%
        for name, value in summary.items():
            if name.endswith(NUMBER_NAMES) and not isinstance(value, (dict, list, type(None))):
                _summary_field(f"{path}: {name}", value, _figure, (name,))
        for (block, name), (check, *args, required) in NESTED_SUMMARY_FIELDS.items():
            inside = summary.get(block)
            # none, or {} (written where the out-of-sample check was skipped): nothing to check
            if summary.get("kind") != "stochastic" or not isinstance(inside, dict) or not inside:
                continue
            if name not in inside:
                if required:
                    raise RunDirError(f"{path}: {block}.{name} is missing: {SUMMARY_DAMAGED}")
                continue
            _summary_field(f"{path}: {block}.{name}", inside[name], check, args)
        if complete:
            _check_complete(summary, path)
        return summary

    def _json_object(self, name: str) -> dict:
        path = self.path / name
        try:
            value = read_json(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise RunDirError(f"{path} cannot be read as JSON ({exc}): damaged (a write cut short), edited, "
                              "or not a fleetopt run's") from None
        if not isinstance(value, dict):
            raise RunDirError(f"{path} holds a JSON {json_kind(value)}, not a run's {name}")
        return value

    @property
    def kind(self) -> str | None:
        """solve, evaluate or sweep for a finished run; None before it finishes."""
        return self.summary(complete=False).get("kind") if self.is_finished else None

    def job(self) -> dict:
        """A job's job.json (its settings); one that cannot be read, or is not a JSON object, is refused
        naming the file (:class:`RunDirError`)."""
        return self._json_object(self.JOB)

    def read_text(self, name: str) -> str:
        """The text of the run's file ``name``."""
        return (self.path / name).read_text(encoding="utf-8")  # as fleetopt writes every run file

    def table(
        self,
        name: str,
        columns: tuple[str, ...] = (),
        numeric: tuple[str, ...] = (),
        text: tuple[str, ...] = (),
    ) -> pd.DataFrame:
        """The run's CSV file ``name``, with at least one row and each of ``columns``, those of
        ``numeric`` present all numbers (NaN allowed), those of ``text`` as written (a plan labelled 2025
        or NA stays that string): a file that is missing, empty or unreadable, or lacks a column,
        is refused naming the file and the column."""
        path = self.path / name
        if not path.is_file():
            raise RunDirError(f"{path} is missing: the run folder {self.path} has no {name}")
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

    def data(self) -> RunData:
        """The finished run's summary, CSV tables and NPV matrix (:class:`RunData`); a folder whose
        run has not finished is refused, naming what it is."""
        if not self.is_finished:
            raise RunDirError(f"{self.path} holds no finished run (no {self.SUMMARY}): `fleetopt runs` lists "
                              "the unfinished ones and how to finish each")  # fmt: skip
        tables = {Path(name).stem: self.table(name, text=TEXT_COLUMNS)
                  for name in self.TABLES if (self.path / name).is_file()}  # fmt: skip
        summary = self.summary()
        npv = self._npv_matrix(summary) if (self.path / self.NPV_MATRIX).is_file() else None
        return RunData(self.path, self.kind, summary, tables, npv)

    def _npv_matrix(self, summary: dict) -> np.ndarray:
        """npv_matrix.npy, mapped, not read (a large evaluation's is read only where it is used),
        refused where it is not a whole array of numbers of the run's plans x scenarios (a
        deterministic evaluation's: one scenario) as summary.json counts them."""
        path = self.path / self.NPV_MATRIX
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

    def sweep_picks(self, labels: list[str], listed_in: str) -> list[str]:
        """A finished sweep's recommended candidate and its forecast optimum (once when they are the
        same), as its summary.json names them; each must be one of ``labels``, the candidates of the
        run's file ``listed_in``."""
        summary, path = self.summary(), self.path / self.SUMMARY
        for key in self.SWEEP_PICKS:
            if key not in summary:
                raise RunDirError(f"{path}: {key!r} is missing ({self.SWEEP_PICKS[key]})")
            if not isinstance(summary[key], str) or summary[key] not in labels:
                raise RunDirError(f"{path}: {key!r} names no candidate of {listed_in} "
                                  f"({shown_json_value(summary[key])})")
        return list(dict.fromkeys(summary[key] for key in self.SWEEP_PICKS))

    def sweep_best_mean(self, labels: list[str], listed_in: str) -> str | None:
        """A finished sweep's plan of highest mean NPV within its rule, as its summary.json's
        ``best_mean_within_rule`` names it (None: none, or a sweep made before fleetopt named one); it
        must be one of ``labels``, the candidates of the run's file ``listed_in``."""
        best = self.summary().get(BEST_MEAN_KEY)
        plan = None if best is None else best.get("plan")
        if best is not None and (not isinstance(plan, str) or plan not in labels):
            raise RunDirError(f"{self.path / self.SUMMARY}: {BEST_MEAN_KEY!r}'s 'plan' names no candidate of "
                              f"{listed_in} ({shown_json_value(plan)})")  # fmt: skip
        return plan

    def check_model_copy(self, loaded: LoadedModel) -> None:
        """Refuse a finished run whose model.yaml (``loaded``) is not the model its figures were made
        from: summary.json's ``model_hash`` is :attr:`LoadedModel.content_hash` of that model, the
        hash by which an evaluation tells plans made from another version of its model (every run
        fleetopt writes records it)."""
        summary, path = self.summary(), self.path / self.SUMMARY
        if "model_hash" not in summary:
            raise RunDirError(
                f"{path}: 'model_hash' is missing, so {self.MODEL} cannot be checked against the model "
                "the run's figures were made from"
            )
        made_from = summary["model_hash"]
        if made_from != loaded.content_hash:
            raise RunDirError(
                f"{self.path / self.MODEL} was changed after the run: the run's figures were made from "
                f"another version of it (hash {made_from} in {self.SUMMARY}, now {loaded.content_hash}); "
                "restore it, or run the edited model anew"
            )

    @classmethod
    def owning(cls, path: str | Path) -> RunFolder | None:
        """The run folder (finished or a job) that ``path`` is one of the files of: a file named in
        :attr:`FILES`, or one in its chunks folder; None for any other path."""
        path = Path(path).resolve()
        run = cls(path.parent)
        if path.name in cls.FILES and (run.is_finished or run.is_job):
            return run
        job = cls(path.parent.parent)
        if path.parent.name == cls.CHUNKS and job.is_job:
            return job
        return None

    # ------------------------------------------------------------ writing

    def write(self, files: dict[str, bytes | str]) -> Path:
        """Write ``files`` (name -> content) into the folder, all or nothing: they are written into
        a temporary folder beside it, which is then renamed onto the (new or empty) folder."""
        out = self.path
        self.check_new(out)
        files = _stamped(files)
        tmp = _partial_folder(out)
        try:
            for name, content in files.items():  # synced: the folder renamed below never holds a cut file
                write_bytes_atomic(tmp / name, _bytes(content))
            _rename_onto(tmp, out)
        except OSError as exc:
            shutil.rmtree(tmp, ignore_errors=True)
            self.release()
            raise RunDirError(f"cannot write {out}: {exc.strerror or exc}") from None
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            self.release()
            raise
        return out

    def start_job(self, files: dict[str, bytes | str], settings: dict) -> None:
        """Start a resumable job: ``files`` (the model, the plans ...) and job.json, all or nothing
        (written into a temporary folder beside it, locked, then renamed onto the new or empty
        folder), holding the folder's lock (:meth:`hold_lock`) until the run finishes. A stop, or a
        kill, while the job starts leaves the folder as it was: never a job without its job.json,
        which could be neither resumed nor used for a new run. The folder must be new or empty
        (:meth:`check_new`): a job started in another run's folder would mix its files with that
        run's and, once finished, replace its summary."""
        self.check_new(self.path)
        partial = RunFolder(_partial_folder(self.path))
        writing = None  # the file being written, named where it fails
        try:
            partial.hold_lock(keep=True)
            for writing, content in files.items():
                partial.write_files({writing: content})
            writing = self.JOB
            partial.write_job(settings)
            writing = None
            try:
                _rename_onto(partial.path, self.path)
            except OSError:  # another run took the folder after check_new: not this job's to resume
                raise RunDirError(f"{self.path} was taken by another run while this one started: choose a "
                                  "new or empty folder") from None  # fmt: skip
            # the lock moved with it
            _HELD_LOCKS[self.path.resolve()] = _HELD_LOCKS.pop(partial.path.resolve())
        except OSError as exc:  # a disk full, a file-size limit: the folder the job was to start in
            partial.release_lock()
            shutil.rmtree(partial.path, ignore_errors=True)
            # named by the folder the job was to start in, not a file of the temporary one removed
            what = f"{self.path / writing} could not be written" if writing else "it could not be made"
            raise RunDirError(f"cannot start the run in {self.path}: {what} ({exc.strerror or exc}); nothing "
                              "was written: free space on its disk (or raise the file-size limit, ulimit -f) "
                              "and run it again") from None  # fmt: skip
        except BaseException:
            partial.release_lock()
            shutil.rmtree(partial.path, ignore_errors=True)  # gone already where renamed
            raise

    def check_job_version(self) -> None:
        """Refuse to resume a job another version of fleetopt started, or the same version from other
        code (:meth:`job_version_problem`)."""
        problem = self.job_version_problem()
        if problem is not None:
            raise InputError(f"{self.path / self.JOB}: {problem}")

    def job_version_problem(self) -> str | None:
        """Why this code may not complete the job, and what to do; None where it may. Its finished
        chunks or candidates are the figures of the version that started it, which this one may
        compute otherwise (0.2.0 taxes the terminal value), so the finished run would mix two
        definitions; so are the same version's from other code (a checkout changed between the start
        and the resume). `fleetopt runs` says it in place of a resume command that would be refused."""
        job = self.job()
        started = job.get("fleetopt_version")
        if started != __version__:
            by = f"fleetopt {started}" if started else "a fleetopt before 0.2.0"
            return (f"the run was started by {by}, this is fleetopt {__version__}, whose figures may differ: "
                    "its finished work cannot be completed by this version; start the run anew (or finish "
                    "it with the version that started it)")  # fmt: skip
        code = job.get(FIGURES_CODE)
        if code != figures_code():
            return (f"the run was started by fleetopt {__version__} from other code than this installation's "
                    f"(the fingerprint of the code computing its figures: {code or 'none'}, now "
                    f"{figures_code()}; a checkout changed or edited since), whose figures may differ: its "
                    "finished work cannot be completed by this code; start the run anew (or finish it with "
                    "the code that started it)")  # fmt: skip
        return None

    def write_files(self, files: dict[str, bytes | str]) -> None:
        """Write (or replace) a job's ``files`` one by one, each atomically."""
        for name, content in files.items():
            write_bytes_atomic(self.path / name, _bytes(content))

    def write_job(self, settings: dict) -> None:
        """Write (or replace) job.json, atomically. A new job is stamped with the version of fleetopt
        writing it and the fingerprint of its code (:meth:`check_job_version`); a job updated (its
        resume options kept, its plans found moved, a sweep's candidates complete) keeps the stamps of
        the code that started it: a resume stopped before its check, from other code, re-stamped the
        job as this code's, and the next resume mixed the two codes' figures."""
        stamps = {"fleetopt_version": __version__, FIGURES_CODE: figures_code()}
        if (self.path / self.JOB).exists():
            started = self.job()
            stamps = {name: started[name] for name in _STAMPS if name in started}
        job = json_text({**{k: v for k, v in settings.items() if k not in _STAMPS}, **stamps})
        write_bytes_atomic(self.path / self.JOB, _bytes(job))

    def finish(
        self,
        files: dict[str, bytes | str],
        known_at_start: Callable[[], dict[str, bytes | str]] | None = None,
    ) -> Path:
        """Write a run's final files. A job folder (it has job.json) already holds what
        ``known_at_start()`` would give: it gets ``files`` one by one, summary.json last (it loses
        its chunks once recorded: :meth:`tidy_finished_job`). Any other folder gets everything at
        once (``known_at_start()`` as well); a finished run's folder is never written again."""
        if self.is_job and self.is_finished:
            raise RunDirError(f"{self.path} holds a finished run: choose a new or empty folder")
        if self.lost_while_running:
            self.discard()  # what the chunks saved since made there again: the run is complete in memory
            warn(f"{self.path} was deleted while its run went on (its {self.JOB} was gone at the end): "
                 "the run, complete, is written there again whole")  # fmt: skip
        if not self.is_job:
            return self.write({**(known_at_start() if known_at_start else {}), **files})
        files = _stamped(files)
        for name in sorted(files, key=lambda n: n == self.SUMMARY):
            write_bytes_atomic(self.path / name, _bytes(files[name]))
        # not tidied here: its chunks and lock go once the run is recorded (api/_runs.py _recorded), so one
        # killed in between is listed by `fleetopt runs` as finished but not recorded
        return self.path

    @property
    def lost_while_running(self) -> bool:
        """Whether this is a job folder this process runs (it holds its lock) whose job.json is gone:
        deleted while the run went on (a chunk saved since makes its chunks/ again)."""
        return self.path.resolve() in _HELD_LOCKS and not self.is_job

    def tidy_finished_job(self) -> None:
        """What a finished job folder no longer needs: its chunks (its results are written) and its lock."""
        shutil.rmtree(self.chunk_folder, ignore_errors=True)
        self.release_lock(remove=True)


# the columns of a run's metrics table every reader needs (others are read where present); every metric
# present must be a number (NaN allowed): a damaged cell is refused by name, not a traceback
_METRIC_FIGURES = ("npv_mean_usd", "npv_cvar5_usd", "breach_probability", "default_probability")
METRICS_TABLES = {  # kind: RunFolder.table's file, columns, of which numbers, of which labels
    "evaluate": (RunFolder.METRICS, ("plan", *_METRIC_FIGURES), tuple(METRIC_COLUMNS), ("plan",)),
    "sweep": (
        RunFolder.CANDIDATES_CSV,
        ("plan", *_METRIC_FIGURES, "on_front", "recommended"),
        (*METRIC_COLUMNS, "forecast_npv_usd"),
        ("plan",),
    ),
}


WRITTEN_KEY = "written_utc"  # summary.json's: when the run was finished, ISO 8601 in UTC, to the second


def _stamped(files: dict[str, bytes | str]) -> dict[str, bytes | str]:
    """``files`` with summary.json (if there) stamped with when it is written (``written_utc``),
    which a copy of the folder keeps (`fleetopt runs add` dates a run by it, not by the file's
    modification time, which ``cp -r`` resets)."""
    if RunFolder.SUMMARY not in files:
        return files
    summary = json.loads(_bytes(files[RunFolder.SUMMARY]))
    summary[WRITTEN_KEY] = datetime.now(UTC).isoformat(timespec="seconds")
    return {**files, RunFolder.SUMMARY: json_text(summary)}


def written_at(run: RunFolder) -> datetime:
    """When the finished ``run`` was written: its summary's ``written_utc``, or for a run an
    older version wrote (or a stamp that is not a time), its summary.json's modification time."""
    stamp = run.summary().get(WRITTEN_KEY)
    try:
        return datetime.fromisoformat(stamp).astimezone(UTC)
    except (TypeError, ValueError):
        return datetime.fromtimestamp((run.path / RunFolder.SUMMARY).stat().st_mtime, UTC)


# an output file (a report, a comparison) as the API's argument and the CLI's option name it in a refusal
OUT_OPTION = "out (--out)"
# the option alone, as the command line names it in its own refusals and in the API's (OUT_OPTION):
# `fleetopt report --out x.txt` said "out (--out) x.txt", a name no command takes, before the option
OUT_FLAG = "--out"


def refuse_run_file(out: str | Path, option: str = "--out", allowed: Path | None = None) -> None:
    """Refuse to write a command's output ``out`` onto a file of a run folder (it would destroy the
    run), except ``allowed`` (a report's own report.html); other files may be overwritten."""
    if allowed is not None and Path(out).resolve() == Path(allowed).resolve():
        return
    run = RunFolder.owning(out)
    if run is not None:
        raise RunDirError(
            f"{option} {out} is a file of the run folder {run.path}: writing it would destroy the run; "
            "choose a file outside the run's files"
        )


def refuse_folder_as_file(out: Path, option: str, example: Path | str) -> None:
    """Refuse, before any work, an output file ``out`` that is a folder, naming ``example``, a file
    name to give instead (its report.html, a comparison's file ...)."""
    if out.is_dir():
        raise RunDirError(f"{option} {out} is a folder: give a file name such as {example}")


def refuse_output_file(out: str | Path, kind: str, option: str = "--out") -> None:
    """Refuse, before any work, an output file ``out`` of ``kind`` (:data:`OWN_OUTPUT`) that would
    replace a run's own file (:func:`refuse_run_file`) or a file fleetopt did not write as one
    (:func:`refuse_foreign_file`), or could not be written at the end (:func:`refuse_unwritable_file`)."""
    refuse_run_file(out, option)
    refuse_foreign_file(out, kind, option)
    refuse_unwritable_file(out, option)


def refuse_unwritable_file(out: str | Path, option: str = "--out") -> None:
    """Refuse, before any work, an output file ``out`` that could not be written at the end: the
    file is written to a temporary name beside it, then renamed, so its folder (or the nearest one
    that exists, where the folders are made) must take new files (a comparison to a read-only folder
    failed after its whole evaluation). A device or pipe is written through, so it must take writes;
    a link, its target's folder new files."""
    out = user_path(out)
    if written_through(out):
        if not os.access(out, os.W_OK):
            raise RunDirError(f"cannot write {option} {out}: this user cannot write to it")
        return
    blocked = unwritable_ancestor(Path(os.path.realpath(out)).parent if out.is_symlink() else out.parent)
    if blocked is not None:
        raise RunDirError(f"cannot write {option} {out}: {blocked} is not a folder this user can write to")


def unwritable_ancestor(path: Path) -> Path | None:
    """The nearest of ``path`` and its parents that exists, where it is not a folder this user can
    make files in (a run folder, an output file or the registry made below it would fail); None
    where it is one."""
    existing = next(p for p in (path, *path.parents) if p.exists())
    return None if existing.is_dir() and os.access(existing, os.W_OK | os.X_OK) else existing


def _partial_folder(out: Path) -> Path:
    """A new temporary folder beside ``out``, made as every run folder is, to be renamed onto it."""
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.partial-", dir=out.parent))
        os.chmod(tmp, 0o777 & ~current_umask())  # mkdtemp makes 0700: as every other run folder is made
    except OSError as exc:
        raise RunDirError(f"cannot write {out}: {exc.strerror or exc}") from None
    return tmp


def _rename_onto(tmp: Path, out: Path) -> None:
    """``tmp`` renamed to ``out``, onto an empty folder too (POSIX): a claimed name is never free.
    The parent synced after it, so the new name survives a power loss."""
    try:
        os.replace(tmp, out)
    except OSError:
        if not out.is_dir():
            raise
        out.rmdir()
        os.replace(tmp, out)
    sync_folder(out.parent)


def _bytes(content: bytes | str) -> bytes:
    return content.encode("utf-8") if isinstance(content, str) else content


# the words compare's outputs are known by (OWN_OUTPUT), as compare/ and report/comparison.py write them
COMPARISON_PAGE_TITLE = "fleetopt comparison"  # the HTML page's <title> opens with it
WHAT_IF_SUBJECT = "one plan under two models"  # Comparison.subject of a what-if
COMMON_SCENARIO = "common scenario"
# compare's terminal table title (Comparison.title): "2 plans on ...", a what-if's "one plan under two
# models on ...", and before 0.4.21 "plans on ..."; "1 common scenario" where --scenarios 1
COMPARISON_TITLE = re.compile(
    rf"\s*(?:[\d,]+ plans |plans |{re.escape(WHAT_IF_SUBJECT)} )on [\d,]+ {re.escape(COMMON_SCENARIO)}s?\b"
)
# how a scenario's path CSV opens (evaluate/path.py ScenarioPath.to_csv: the quarter, then each
# generation's price factor)
SCENARIO_PATH_HEADER = "quarter,price_factor_"
# how each kind of output file fleetopt writes looks (its first and last 4 KiB): `--out` may replace
# such a file (a report, schema or comparison written before), never another file (a model, say)
OWN_OUTPUT = {
    "report": lambda ends: (
        ends.lower().startswith("<!doctype html>") and "<title>fleetopt " in ends
        and f"<title>{COMPARISON_PAGE_TITLE}" not in ends  # a comparison's page: compare's own output
    ),
    "schema": lambda ends: ends.startswith('{\n  "$defs": {') and '"title": "PlanningModel"' in ends,
    "comparison": lambda ends: (
        ends.startswith(("# about\n", "# figures\n", '{\n  "plan_runs": [', '{\n  "figures": [',
                         "# Plan comparison"))
        or COMPARISON_TITLE.match(ends) is not None
        or (ends.lower().startswith("<!doctype html>") and f"<title>{COMPARISON_PAGE_TITLE}" in ends)
    ),
    "scenario path": lambda ends: ends.startswith(SCENARIO_PATH_HEADER),
}
OWN_OUTPUT_NAMES = {"report": "an HTML report", "schema": "a model schema", "comparison": "a comparison",
                    "scenario path": "a scenario's path CSV"}  # fmt: skip


def refuse_foreign_file(out: str | Path, kind: str, option: str = "--out") -> None:
    """Refuse an ``option`` (--out) that is an existing file other than ``kind`` of fleetopt's output
    (:data:`OWN_OUTPUT`): `report s1 --out models/tiny.yaml` replaced a model with HTML. An empty
    file, and what is not a plain file (/dev/null), may be written; a file of a run folder is left
    to :func:`~fleetopt.runs.folder.refuse_run_file`, which names the run."""
    out = Path(out)
    if not out.is_file() or out.stat().st_size == 0 or RunFolder.owning(out) is not None:
        return
    with open(out, "rb") as f:
        head = f.read(4096)
        f.seek(max(len(head), f.seek(0, os.SEEK_END) - 4096))
        ends = (head + f.read()).decode("utf-8", errors="replace")
    if not OWN_OUTPUT[kind](ends):
        other = next((name for name, own in OWN_OUTPUT.items() if name != kind and own(ends)), None)
        what = f"{OWN_OUTPUT_NAMES[other]} fleetopt wrote, not {OWN_OUTPUT_NAMES[kind]}" if other else (
            f"a file that is not {OWN_OUTPUT_NAMES[kind]} fleetopt wrote")
        raise RunDirError(
            f"{option} {out} is {what}: it would be replaced; remove it first or choose another file"
        )
