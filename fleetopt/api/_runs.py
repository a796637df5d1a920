"""The run registry: recording runs, naming them (path, plan file or id), listing and forgetting them."""

from __future__ import annotations

import shlex
import sys
from collections.abc import Callable, Iterable
from datetime import datetime
from difflib import get_close_matches
from numbers import Integral
from pathlib import Path, PurePath

import pandas as pd

from fleetopt.api._keywords import arguments_checked
from fleetopt.api._models import load
from fleetopt.core.data import ModelData
from fleetopt.core.economics.statements import plan_statements
from fleetopt.core.notebook import html_text, markdown_table, markdown_text
from fleetopt.core.results.valuation import basis_words
from fleetopt.core.units import counted, format_percent, format_usd
from fleetopt.errors import Argument, InputError, StoppedAfterWriting, user_path, warn
from fleetopt.evaluate.chunk_store import ChunkStore, folder_bytes, kept_rows_bytes
from fleetopt.evaluate.metrics import shown_first
from fleetopt.evaluate.planfile import load_plans
from fleetopt.evaluate.sources import finishing_parts, refuse_unfinished
from fleetopt.report.reading import checked_metrics_table
from fleetopt.runs import limits
from fleetopt.runs.files import signals_deferred
from fleetopt.runs.folder import RunFolder, written_at
from fleetopt.runs.key_figures import check_key_figures, check_results_of_kind, key_figures, recorded_basis
from fleetopt.runs.kinds import RUN_KINDS
from fleetopt.runs.listing import finished_folders, unfinished_jobs
from fleetopt.runs.registry import (
    LISTED_COLUMNS,
    LISTED_FIGURES,
    Registry,
    RegistryError,
    RunRecord,
    record_advice,
    shown_cells,
)
from fleetopt.runs.run_files import RunDirError
from fleetopt.runs.summary_schema import SUMMARY_DAMAGED
from fleetopt.runs.tables import METRICS_TABLES, RunData
from fleetopt.schema.loaded_model import LoadedModel
from fleetopt.schema.model_changes import MODEL_CHANGES, MODEL_SOURCE_CHANGES, recorded_model_changes
from fleetopt.schema.shown_values import shown_value
from fleetopt.schema.yaml_reading import load_yaml
from fleetopt.sweep.run import saved_candidates

CHANGE_RECORDS = (MODEL_CHANGES, MODEL_SOURCE_CHANGES)


def _register_run(kind: str, loaded: LoadedModel, path: str | Path, figures: dict, command: str | None = None,
                  created: datetime | None = None) -> int:  # fmt: skip
    """Record a written run folder in the registry of the runs folder; returns the run id.
    ``command``: what `fleetopt runs show` gives as the command that made the run (default: the
    Python program that called the API); ``created``: when it was written (None: now)."""
    # the lists kept: the model's changes, which `runs show` gives beside the model
    keep = {k: v for k, v in figures.items()
            if isinstance(v, (int, float, str, bool)) or v is None or k in CHANGE_RECORDS}  # fmt: skip
    command = command if command is not None else _python_command(kind)
    return Registry().record(kind, loaded.model.name, loaded.content_hash, Path(path), keep, command, created)


def _python_command(kind: str) -> str:
    """What `fleetopt runs show` gives as the command of a run written from Python: the program,
    or a notebook (a Jupyter kernel's argv names only its connection file)."""
    if sys.argv and "ipykernel" in sys.argv[0]:
        program = "a Jupyter notebook"
    else:
        program = shlex.join(sys.argv) if sys.argv and sys.argv[0] else "python"
    return f"fleetopt.api.write_{kind}_run, called by {program}"


def _key_figures(summary: dict) -> dict:
    """A run's figures for its record; an evaluation's are of the plan its report shows."""
    return key_figures(summary, shown_first(summary) if summary.get("kind") == "evaluate" else None)


def _recorded(loaded: LoadedModel, write: Callable[[], Path], summary: dict | Callable[[Path], dict],
              command: str | None) -> Path:  # fmt: skip
    """The run folder ``write()`` writes, once recorded in the registry with the key figures of its
    ``summary`` (its summary.json, or a function of the folder giving it): the one place where a
    written run is recorded. Ctrl-C and SIGTERM wait until both are done, so a stop never leaves a
    finished run unrecorded. A registry that fails keeps the run, and the message says where it
    is and how to record it later."""
    path = None
    try:
        with signals_deferred(say=True):
            path = write()
            run = RunFolder(path)
            figures = summary(path) if callable(summary) else summary
            try:
                _register_run(figures["kind"], loaded, path, _key_figures(figures), command)
            except RegistryError as exc:
                run.release_lock()  # untidy, unlocked: `fleetopt runs` lists it to be recorded
                raise RegistryError.naming(
                    f"the run is saved in {path}, but it could not be recorded: ", *exc.message_parts(),
                    ". The folder is complete: give its path where a run id is asked for; once the "
                    "registry can be written, record it with ", record_advice(path)
                ) from None
            except BaseException:  # any other failure: the lock let go too (a notebook lives on)
                run.release_lock()
                raise
            if run.is_job:  # its chunks and lock, kept until now so a kill before the record is seen
                run.tidy_finished_job()
    except KeyboardInterrupt:  # the stop held until the run was written and recorded
        if path is None:
            raise
        raise StoppedAfterWriting(path) from None
    return path.resolve()  # a notebook's later os.chdir leaves it pointing at this run


@arguments_checked()
def record_run(folder: str | Path, command: str | None = None) -> int:
    """Record a finished run folder that the registry lacks (its recording failed, e.g. on a lock
    held too long, or it was copied from another runs folder); returns its new run id. Its
    summary.json gives the kind, model and key figures; its model.yaml must be the model they were
    made from, and a solve's plan.npz the file the run wrote. A folder already recorded is
    refused, naming its run id. A job's folder (an evaluation or sweep killed while it was being
    recorded) is locked while it is recorded (refused while another process finishes it), then
    loses its chunks and lock as a finished job does, once the record is written. ``command``: what
    `fleetopt runs show` gives as the command (default: that the run was recorded afterwards)."""
    limits.text("command", command, optional=True)
    run = _finished_run(folder)
    if not (run.is_job and run.left_untidy):  # nothing to tidy: no lock (a read-only folder records too)
        return _record_finished_run(run, command)
    with run.held_while_tidied():  # its chunks and lock removed only once the record is written
        return _record_finished_run(run, command)


def _record_finished_run(run: RunFolder, command: str | None) -> int:
    """:func:`record_run` of the finished run folder ``run``."""
    # the kind first: a folder of another kind is named so (RunFolder.summary refuses another value)
    kind = run.summary(complete=False).get("kind")
    if kind is None:  # as a field its kind needs is named (RunFolder.summary)
        raise RunDirError(f"{run.path / RunFolder.SUMMARY}: kind is missing, which fleetopt writes for "
                          f"every run ({', '.join(RUN_KINDS)}): {SUMMARY_DAMAGED}")  # fmt: skip
    check_results_of_kind(run, kind)
    summary = run.summary()
    if (run / RunFolder.JOB).exists():  # report and compare read it: a damaged one is refused here too
        _check_job_of_summary(run, summary)
    if kind == "sweep":  # its picks among its candidates, as the report reads them
        candidates = run.table(RunFolder.CANDIDATES_CSV, ("plan",), text=("plan",))
        run.sweep_picks(list(candidates["plan"]), RunFolder.CANDIDATES_CSV)
    check_key_figures(run.path / RunFolder.SUMMARY, kind, _key_figures(summary))
    # refused now, not when `runs show` reads them from the record
    recorded_model_changes(summary, str(run / RunFolder.SUMMARY))
    if run.model_file is None:
        raise RunDirError(
            f"{run.path} has no {RunFolder.MODEL}: the model its figures were made from is unknown"
        )
    loaded, data = load(run.model_file)
    run.check_model_copy(loaded)
    _check_basis_of_summary(run, summary, loaded)
    if run.plan_changed():
        raise RunDirError(f"{run.plan_changed_words()}: the registry would record this run's figures for "
                          "another plan; restore it, or solve again")  # fmt: skip
    if kind == "solve":
        _check_solve_npv(run, data, summary)
    if kind in METRICS_TABLES:  # a row per plan, each cell a number: as the report reads it
        labels = [] if kind == "evaluate" else load_plans(run / RunFolder.PLANS, data)[1]
        checked_metrics_table(run, kind, summary, labels)
    recorded = recorded_run_id(run.path)
    if recorded is not None:
        raise RegistryError(
            f"{run.path} is already recorded as run {recorded} (fleetopt runs show {recorded}): nothing added"
        )
    command = command if command is not None else "unknown (recorded afterwards by fleetopt runs add)"
    # a run of an older fleetopt, whose summary.json lacks its horizon and rate: its model.yaml's (checked)
    figures = _key_figures({**loaded.basis_record, **summary})
    return _register_run(kind, loaded, run.path, figures, command, written_at(run))


def _check_job_of_summary(run: RunFolder, summary: dict) -> None:
    """A finished run's job.json (which a sweep's in-sample check reads) says the scenarios and seed
    its summary.json, written with it, says: one edited to 10**18 scenarios was recorded."""
    job = run.job()
    both = [name for name in ("n_scenarios", "seed") if None not in (job.get(name), summary.get(name))]
    differs = [name for name in both if job[name] != summary[name]]
    if differs:
        words = ", ".join(f"{name} {shown_value(job[name])}" for name in differs)
        theirs = ", ".join(f"{name} {shown_value(summary[name])}" for name in differs)
        raise RunDirError(f"{run.path / RunFolder.JOB}: {words}, where summary.json, written with it, has "
                          f"{theirs}: {SUMMARY_DAMAGED}")  # fmt: skip


def _check_basis_of_summary(run: RunFolder, summary: dict, loaded: LoadedModel) -> None:
    """A finished run's summary.json gives the horizon and discount rate of its model.yaml, where it
    gives them (a run of an older fleetopt does not): `fleetopt runs` lists its figures over them."""
    own = loaded.basis_record
    differs = [name for name, value in own.items() if name in summary and summary[name] != value]
    if differs:
        words = ", ".join(f"{name} {shown_value(summary[name])}" for name in differs)
        theirs = ", ".join(f"{name} {shown_value(own[name])}" for name in differs)
        raise RunDirError(f"{run.path / RunFolder.SUMMARY}: {words}, where its {RunFolder.MODEL} has "
                          f"{theirs}: {SUMMARY_DAMAGED}")  # fmt: skip


def _npv_differs(own: float, figure: float) -> bool:
    """Whether a plan's NPV (``own``, from its statements) is not ``figure``, a solve's or a run's:
    more than $1 or 1e-9 of it apart (float round-off is not a difference)."""
    return abs(own - figure) > max(1.0, 1e-9 * abs(own))


def _check_solve_npv(run: RunFolder, data: ModelData, summary: dict) -> None:
    """A solve's summary.json must give its plan's NPV on its model (a hand-edited figure was
    recorded, and the report then showed an objective above the solver's bound)."""
    npv = summary.get("npv_usd")
    path = run.path / RunFolder.PLAN
    if not isinstance(npv, (int, float)) or not path.is_file():
        return  # a summary without the figure: nothing to record it by, nothing to check
    plans, _, _ = load_plans(path, data)
    own = plan_statements(data, plans[0]).npv_usd
    if _npv_differs(own, npv):
        raise RunDirError(
            f"{run.path / RunFolder.SUMMARY}: npv_usd {format_usd(npv)} is not the NPV of its "
            f"{RunFolder.PLAN} on its {RunFolder.MODEL} ({format_usd(own)}): the summary was edited or "
            "belongs to another run; nothing recorded"
        )


def _existing_run(folder: str | Path) -> RunFolder:
    """The run folder ``folder`` (``~`` expanded), or a refusal where it is no folder."""
    run = RunFolder(user_path(limits.path("folder", folder, optional=False)).resolve())
    if not run.path.is_dir():
        what = "a file, not a run folder" if run.path.exists() else "no such run folder"
        raise RunDirError(f"{folder}: {what}")
    return run


def _finished_run(folder: str | Path) -> RunFolder:
    """The finished run folder ``folder``, or a refusal saying what it is instead."""
    run = _existing_run(folder)
    if not run.is_finished:
        raise RunDirError.naming(f"{run.path} has no {RunFolder.SUMMARY}: ", *_not_finished(run))
    return run


def _not_finished(run: RunFolder) -> tuple[str | Argument, ...]:
    """What a folder without summary.json is, as a message's parts: an unfinished job, and how it
    finishes (its resume, or the process running it; said "finish it with --resume", no command), or
    what damaged it."""
    if not run.is_job:
        return ("not a fleetopt run folder",)
    kind = run.interrupted_kind()
    if kind is None:
        return (f"an unfinished job that cannot be resumed: {run.job_damage()}",)
    return (f"an unfinished {kind} run ", *finishing_parts(run, kind), ", which records it")


@arguments_checked()
def recorded_run_id(folder: str | Path) -> int | None:
    """The registry id of the run folder ``folder`` (its latest record), None where it is not
    recorded (a registry that cannot be read is refused).

    Returns an int, or None.
    """
    limits.path("folder", folder, optional=False)
    return Registry().recorded_id(folder)


@arguments_checked()
def run_id(path: str | Path | int) -> int:
    """The registry id of the run folder ``path`` (its latest record); a run id (an int, or digits
    that are not an existing path, as everywhere a run is taken) is checked and given back.

    Returns an int.
    """
    registry = Registry()
    number = registry.id_given(path, "path")  # refuses, by name, what names no run at all (True, a float)
    return registry.get(number).id if number is not None else registry.id_of(path)


@arguments_checked()
def resolve_run(ref: str | Path | int, name: str = "ref") -> Path:
    """A run folder or plan file from its path, or a run folder from its run id (an int, or digits
    that are not an existing path). A path that does not exist, an unknown run id and a recorded run
    whose folder is gone raise :class:`~fleetopt.runs.registry.RegistryError` (an InputError),
    naming the argument ``name``.

    Returns the folder's or file's Path.
    """
    return Registry().resolve(ref, name)


class RunList(list):
    """What :func:`runs` returns: a list of :class:`RunRecord` (index it, iterate it, as before),
    which a notebook shows as the table `fleetopt runs` prints, and :meth:`runs_frame` gives in
    figures (it showed a list of reprs, and ``pd.DataFrame(r.as_dict() for r in runs)`` had a
    column for every figure any run keeps)."""

    model: str | None = None  # what :func:`runs` listed by, said where it found none
    kind: str | None = None

    def runs_frame(self) -> pd.DataFrame:
        """A row per run, newest first, as the notebook's table lists it: ``id``, ``created_utc`` (a UTC
        timestamp), ``kind``, ``model`` (as shown: "tiny (edited: horizon.discount_rate_annual)"),
        ``model_name`` (the model's name, "tiny", by which :func:`runs` lists), ``plan`` (the plan an
        evaluation's figures are of, a sweep's pick), the key figures
        (:data:`~fleetopt.runs.registry.LISTED_FIGURES`: ``npv_usd`` on the forecast,
        ``present_cost_usd`` of a cost solve, ``npv_mean_usd``, ``npv_cvar5_usd``,
        ``any_default_probability``, and a stochastic solve's plan less its forecast optimum out of
        sample, ``out_of_sample_npv_mean_usd_diff`` and ``out_of_sample_npv_cvar_usd_diff``: float64,
        USD and shares in [0, 1], NaN where a run's kind has none), ``n_scenarios`` and ``seed`` they
        are over, ``path`` (its folder) and ``exists``. Every figure a run keeps: ``record.figures``."""
        frame = pd.DataFrame([r.listed() for r in self], columns=[*LISTED_COLUMNS, "exists"])
        # the name runs(model=...) lists by, beside the model as shown ("tiny (edited: ...)")
        frame.insert(frame.columns.get_loc("model") + 1, "model_name", [r.model_name for r in self])
        frame["created_utc"] = pd.to_datetime(frame["created_utc"], utc=True)
        return frame.astype({**dict.fromkeys(LISTED_FIGURES, "float64"), "n_scenarios": "Int64",
                             "seed": "Int64", "id": "int64", "exists": bool})  # fmt: skip

    def _shown(self) -> pd.DataFrame:
        """The table a notebook shows: :meth:`runs_frame`'s cells formatted ($14.1M, 70.0%), under their
        headers, without the columns no listed run has a value in."""
        rows = [shown_cells(r.listed(), r) for r in self]
        shown = pd.DataFrame(rows, columns=list(LISTED_COLUMNS))
        kept = [name for name in LISTED_COLUMNS if (shown[name] != "").any()]
        return shown[kept].rename(columns=LISTED_COLUMNS)

    def _caption(self) -> str:
        """What the listed key figures are counted over, where every run shares horizon and rate."""
        bases = {recorded_basis(r.figures) for r in self}
        if len(bases) != 1 or None in bases:
            return ""
        costs = any(r.kind == "solve" and r.figures.get("objective") == "cost" for r in self)
        return f"Key figures {basis_words(*bases.pop(), figures=('npv', 'cost') if costs else ('npv',))}."

    def _title(self) -> str:
        """'Runs, newest first (3)'; of none, what was listed: 'No sweep runs of model 'twosit' recorded'
        (it read 'No runs recorded' where the registry held runs of other models)."""
        if self:
            return f"Runs, newest first ({len(self)})"
        of = f" of model {self.model!r}" if self.model is not None else ""
        return f"No {f'{self.kind} ' if self.kind else ''}runs{of} recorded"

    def _repr_markdown_(self) -> str:
        """What a notebook cell shows: the runs as `fleetopt runs` lists them, their key figures with
        their units, and where every figure is."""
        caption = [markdown_text(self._caption()), ""] if self._caption() else []
        return "\n".join([f"**{self._title()}**", "", *([markdown_table(self._shown()), ""] if self else []),
                          *caption, markdown_text(RUNS_NEXT)])  # fmt: skip

    def _repr_html_(self) -> str:
        """As :meth:`_repr_markdown_`, in HTML (JupyterLab's first choice)."""
        shown = self._shown().map(html_text).rename(columns=html_text)  # a $ in a cell too
        table = shown.to_html(index=False, escape=False) if self else ""
        caption = f"<p>{html_text(self._caption())}</p>" if self._caption() else ""
        return f"<p><b>{html_text(self._title())}</b></p>{table}{caption}<p>{html_text(RUNS_NEXT)}</p>"


# where a notebook's list of runs says every figure is
RUNS_NEXT = ("Next: .runs_frame() (this table in figures: USD, shares in [0, 1]), [i].figures (every key "
             "figure of a run), fleetopt.api.read_run(id) (its files)")


@arguments_checked()
def runs(model: str | None = None, limit: int | None = 30, kind: str | None = None) -> RunList:
    """The runs recorded in the registry of the runs folder (``$FLEETOPT_RUNS_DIR`` or ./runs),
    newest first: at most ``limit`` (None: all), only those of the model named ``model`` and of
    the ``kind`` (solve, stochastic, evaluate, sweep) when given.

    Each :class:`RunRecord` has ``id``, ``created_utc`` (ISO 8601, UTC), ``kind`` (solve,
    stochastic, evaluate, sweep), ``command``, ``model_name``, ``model_hash``, ``path`` (the run
    folder), ``exists`` and ``figures`` (its summary.json's key figures by name: ``_usd`` in USD,
    ``_probability`` in [0, 1], ``_seconds`` in seconds, with the run's counts, status and texts
    as written there). As a table: ``fo.runs(limit=None).runs_frame()`` (every run, the columns
    listed), or ``pandas.DataFrame([r.as_dict() for r in fo.runs()])`` (every figure). A ``model`` with
    no runs (of ``kind``), where the registry has runs of other models, as a typo's would be, is
    warned of, naming those models (:class:`~fleetopt.errors.FleetoptWarning`); ``model`` is a
    model's name ("tiny", as its file's ``name:`` gives it), not a file or a loaded model.

    Returns a :class:`RunList`, a list of :class:`RunRecord` (empty where none is recorded) that a
    notebook shows as the table `fleetopt runs` prints, and ``.runs_frame()`` as a DataFrame of
    those columns (money float64 in USD).
    """
    _check_model_name(model)
    limits.text("kind", kind, RUN_KINDS, optional=True)
    if limit is not None:
        limit = limits.whole("limit", limit, 1)  # an int: SQLite refuses a numpy integer
    records = RunList(Registry().list(model=model, limit=limit, kind=kind))
    records.model, records.kind = model, kind
    if model is not None and not records:
        _warn_of_other_models(model, kind)
    return records


def _check_model_name(model) -> None:
    """The ``model`` the registry's runs are listed by: a model's name; a loaded model (what
    :func:`load` or :func:`edit` gives, which the other functions take as ``model``) is refused
    naming its name, which lists the runs of every version of it; a model file's path, a string or a
    Path, as a file."""
    loaded = model[0] if isinstance(model, tuple) and model and isinstance(model[0], LoadedModel) else model
    if isinstance(loaded, LoadedModel):
        raise InputError.naming(limits.MODEL, " is a model's name, not a loaded model: give model="
                                f"{loaded.model.name!r}, which lists the runs of every version of it")
    # a Path is checked as its text is: a file's refused as one, where it "must be a string"
    limits.model_name(limits.MODEL, str(model) if isinstance(model, PurePath) else model)


def _warn_of_other_models(model: str, kind: str | None) -> None:
    """'no runs of model 'tinyy' are recorded (the registry's sweep runs are of models neocloud,
    tiny): did you mean 'tiny'?', where other models have runs (of ``kind``): a typo is not read as
    no run made yet. A warning, not a refusal: a model not run yet has no runs, and its name is no
    typo (--kind's choices are a closed set, refused with exit 2; models' names are not)."""
    names = sorted({record.model_name for record in Registry().list(kind=kind)})
    if names:
        what = f"{kind} runs" if kind else "runs"
        near = get_close_matches(model, names, 1, 0.6)  # as a misspelt field's name is matched
        meant = f": did you mean {near[0]!r}?" if near else ""
        warn(f"no {what} of model {model!r} are recorded (the registry's {what} are of "
             f"{'model' if len(names) == 1 else 'models'} {', '.join(names)}){meant}")  # fmt: skip


class UnfinishedList(list):
    """What :func:`unfinished_runs` returns: a list of ``(folder, kind, pid)`` (index it, unpack it, as
    before), which a notebook shows as a table of the jobs and how each finishes, as `fleetopt runs`
    lists them after the finished runs (it showed a list of tuples' reprs)."""

    def runs_frame(self) -> pd.DataFrame:
        """A row per unfinished job, oldest first: ``path`` (its folder), ``kind`` (evaluate, sweep;
        None: its job.json is damaged), ``pid`` (the process running it; None: interrupted) and
        ``how_it_finishes`` in words, as the notebook shows them."""
        rows = [(str(path), kind, pid, _how_job_finishes(path, kind)) for path, kind, pid in self]
        return pd.DataFrame(rows, columns=["path", "kind", "pid", "how_it_finishes"])

    def _repr_markdown_(self) -> str:
        """What a notebook cell shows: each unfinished job's folder, kind and how it finishes."""
        if not self:
            return "**No unfinished evaluation or sweep** in the runs folder"
        title = f"**Unfinished runs, oldest first ({len(self)})**"
        return "\n".join([title, "", markdown_table(self._shown())])

    def _repr_html_(self) -> str:
        """As :meth:`_repr_markdown_`, in HTML (JupyterLab's first choice)."""
        if not self:
            return f"<p><b>{html_text('No unfinished evaluation or sweep')}</b> in the runs folder</p>"
        shown = self._shown().map(html_text).rename(columns=html_text)
        title = html_text(f"Unfinished runs, oldest first ({len(self)})")
        return f"<p><b>{title}</b></p>" + shown.to_html(index=False, escape=False)

    def _shown(self) -> pd.DataFrame:
        shown = self.runs_frame().drop(columns=["pid"]).fillna("")
        return shown.rename(columns={"path": "folder", "how_it_finishes": "how it finishes"})


def _how_job_finishes(path: Path, kind: str | None) -> str:
    """How the unfinished job in ``path`` finishes (:func:`how_it_finishes`), or why it cannot yet."""
    if kind is None:
        return f"its {RunFolder.JOB} is damaged: it cannot be resumed until the file is restored"
    said = "".join(map(str, finishing_parts(RunFolder(path), kind)))  # as Python says it: a notebook's
    return said.removeprefix("(").replace(")", "", 1)


@arguments_checked()
def unfinished_runs(model: str | None = None) -> UnfinishedList:
    """The evaluations and sweeps in the runs folder (``$FLEETOPT_RUNS_DIR`` or ./runs) that have not
    finished, which the registry lists only once they do: ``(folder, kind, pid)``, kind
    ``evaluate`` or ``sweep`` (None for a job folder whose job.json is damaged: unreadable, or naming
    no kind of job; it cannot be resumed until it is restored), pid the process still running it (a
    string: "4242", or "1 on host 0d226e7b8ea5" for one of another host, a container's), or None for
    one that was interrupted (its table says the Python that finishes it, the command beside it).
    Oldest first. Jobs written with
    ``--out`` outside the runs folder are not looked for. ``model``: only jobs of the model of this
    name (the name in their model.yaml).

    Returns an :class:`UnfinishedList`, a list of ``(Path, str, str | None)`` (empty where none is
    unfinished) that a notebook shows as a table, and ``.runs_frame()`` as a DataFrame.
    """
    _check_model_name(model)
    jobs = unfinished_jobs()
    if model is not None:
        jobs = [run for run in jobs if _model_name_in(run) == model]
    return UnfinishedList((run.path, run.interrupted_kind(), run.running_pid()) for run in jobs)


@arguments_checked()
def saved_work(folder: str | Path) -> str:
    """What the unfinished (interrupted) evaluation or sweep in ``folder`` has saved, in words, as
    the CLI says it when a run stops: a sweep's candidates while it makes them ("3 candidates made
    (2 plans to evaluate)"), then with its finished evaluation chunks ("... and 2 evaluation chunks";
    before the first, "(2 plans to evaluate; none evaluated yet)"); an evaluation's finished chunks
    ("4 evaluation chunks"; with the rows kept of one stopped part-way, "... and the rows of 1
    unfinished one"), then the plan-scenario pairs they hold of all the run's, and their share
    (", 1,350 of 8,000 plan-scenario pairs (16.9%)"; of a job started before job.json kept its
    plans' count, the pairs of the rows kept alone, ", 350 plan-scenario pairs,"); before any, what a
    resume starts from: "no evaluation chunk yet; the run's model and settings"; of a finished run,
    that nothing is left to resume (its finished chunks are gone, not unsaved). A folder that does
    not exist, or holds no evaluation or sweep, is refused (:class:`RunDirError`),
    not said to have saved nothing.

    Returns one line of text (str).
    """
    run = _existing_run(folder)
    if run.is_finished:
        return f"nothing left to resume: the run finished (its {RunFolder.SUMMARY} is written)"
    if not run.is_job:
        why = "not an evaluation or sweep, so nothing to resume"
        raise RunDirError(f"{run.path} has no {RunFolder.JOB}: {why}")
    if run.making_candidates:
        made = saved_candidates(run)
        return _candidates_made(made) if made else "no candidate yet; the sweep's model and settings"
    job = run.job()
    if job.get("kind") == "sweep":  # its candidates, all made (solved), are saved work too
        made = saved_candidates(run)
        chunks = _saved_chunks(run, _plans_of(made))
        if not chunks:
            return _candidates_made(made, "; none evaluated yet")
        return f"{_candidates_made(made)} and {chunks}"
    chunks = _saved_chunks(run, job.get("n_plans"))
    if not chunks:  # what a resume starts from, not "0 evaluation chunks"
        return "no evaluation chunk yet; the run's model and settings"
    return chunks


@arguments_checked()
def saved_bytes(folder: str | Path) -> tuple[int, int]:
    """The bytes the files of the unfinished evaluation or sweep in ``folder`` take (what deleting
    the folder frees), and of them the rows kept of chunks stopped part-way
    (``chunks/rows-FIRST-STOP.bin``, which a resume goes on from).

    Returns the two counts of bytes, (all, of chunks stopped part-way).
    """
    run = _existing_run(folder)
    return folder_bytes(run.path), kept_rows_bytes(run.chunk_folder)


def _saved_chunks(run: RunFolder, n_plans) -> str:
    """A job's finished evaluation chunks ("2 evaluation chunks"), and the rows kept of those it
    left unfinished ("... and the rows of 1 unfinished one"), then the plan-scenario pairs they hold
    of the ``n_plans`` plans' (an int; else the count alone, and only with rows kept); '' for none."""
    if not run.chunk_folder.exists():
        return ""
    scenarios = run.job().get("n_scenarios")
    store = ChunkStore(run.chunk_folder, scenarios if type(scenarios) is int else None)
    ranges, kept = store.ranges(), store.unfinished()
    if not ranges and not kept:
        return ""
    rows = counted(len(kept), "unfinished evaluation chunk")
    words = [counted(len(ranges), "evaluation chunk")] if ranges else []
    words += [f"the rows of {rows.replace(' evaluation chunk', ' one') if ranges else rows}"] if kept else []
    pairs = sum((stop - first) * done for (first, stop), done in kept.items())
    if type(n_plans) is int and type(scenarios) is int and n_plans > 0:
        pairs += sum(stop - first for first, stop in ranges) * scenarios
        total = n_plans * scenarios
        share = format_percent(pairs / total)
        return f"{' and '.join(words)}, {pairs:,} of {total:,} plan-scenario pairs ({share})"
    return " and ".join(words) + (f", {pairs:,} plan-scenario pairs," if kept else "")


def _plans_of(made: list) -> int:
    """The plans a sweep evaluates of the candidates ``made``: those that have one."""
    return sum(c.has_plan for c in made)


def _candidates_made(made: list, evaluated: str = "") -> str:
    """A stopped sweep's saved candidates in words: "3 candidates made (2 plans to evaluate)";
    ``evaluated``: added inside the brackets."""
    plans = counted(_plans_of(made), "plan")
    return f"{counted(len(made), 'candidate')} made ({plans} to evaluate{evaluated})"


@arguments_checked()
def unrecorded_runs(model: str | None = None, kind: str | None = None) -> list[Path]:
    """The evaluations and sweeps in the runs folder killed after they wrote their results and
    before they were recorded: finished (summary.json), left untidy (chunks or lock still there),
    no process finishing them, and not in the registry (`fleetopt runs add FOLDER` records and tidies
    each). A run forgotten on purpose (`fleetopt runs forget`) is not one. Oldest first; ``model``:
    only runs of the model of this name; ``kind``: only runs of this kind.

    Returns a list of their folders (Path), empty where there is none.
    """
    _check_model_name(model)
    limits.text("kind", kind, RUN_KINDS, optional=True)
    untidy = [run for run in finished_folders() if run.is_job and run.left_untidy and not run.running_pid()]
    if not untidy:
        return []
    recorded = {record.path.resolve() for record in Registry().list()}
    runs = [run for run in untidy if run.path.resolve() not in recorded]
    runs = [run for run in runs if model is None or _model_name_in(run) == model]
    return [run.path for run in runs if kind is None or _kind_in(run) == kind]


def _kind_in(run: RunFolder) -> str | None:
    """The kind in a finished run folder's summary.json (None: one that cannot be read)."""
    try:
        return run.kind
    except (OSError, InputError):
        return None


def _model_name_in(run: RunFolder) -> str | None:
    """The name in a run folder's model.yaml (None: no copy, or one that cannot be read)."""
    try:
        data = load_yaml(run.model_file.read_text(encoding="utf-8"), str(run.model_file))
    except (AttributeError, OSError, UnicodeDecodeError, InputError):
        return None
    return data.get("name") if isinstance(data, dict) else None


@arguments_checked()
def forget_runs(
    runs: Iterable[str | Path | int] = (), *, missing: bool = False, dry_run: bool = False
) -> list[RunRecord]:
    """Remove runs from the registry (``fleetopt runs`` no longer lists them); their folders are
    left as they are (:func:`record_run` records one again, under a new id). ``runs``: run ids (an
    int, or digits) or run folders (their latest record); each takes with it the earlier runs
    recorded in its folder, whose files a later run there replaced. ``missing``: also every run
    whose folder is gone or holds a later run (a folder on a share that is not mounted counts as
    gone: look first with ``dry_run``). ``dry_run``: remove nothing, return what would go. An
    unknown run removes nothing. Returns the records removed (:class:`RunRecord`), oldest first."""
    if isinstance(runs, (str, bytes, Path, Integral)):
        raise InputError(f"runs must be a list of run ids or folders, not one {type(runs).__name__}")
    if not isinstance(runs, Iterable):
        raise InputError(f"runs must be a list of run ids or folders, not {runs!r}")
    runs = list(runs)  # read once: a generator was used up by the check below, its runs kept
    limits.flag("missing", missing)
    limits.flag("dry_run", dry_run)
    registry = Registry()
    if any(isinstance(ref, str) and not ref.strip() for ref in runs):  # "" would be the current folder
        raise InputError("runs: an empty name is not a run id or folder")
    ids = [registry.find(ref, "each of runs").id for ref in runs]
    if not ids and not missing:
        raise InputError("name the runs to forget (run ids or folders), or forget those whose folders are "
                         "gone (missing=True)")  # fmt: skip
    return registry.forget(ids, missing=missing, dry_run=dry_run)


@arguments_checked()
def read_run(ref: str | Path | int) -> RunData:
    """A finished run's files as data, by run id or folder (as :func:`run` takes it): ``summary``
    (its summary.json), ``tables`` by name (``plan``, ``statements``, ``metrics``, ``candidates``,
    ``front``, ``purchases``: those its kind writes, as pandas DataFrames; money in USD, shares in
    [0, 1]) and ``npv_matrix`` where an evaluation kept it, e.g.
    ``fo.read_run(3)["metrics"]``; a run's own file (its plan.npz, summary.json) names its folder.

    Returns a :class:`RunData`.
    """
    path = resolve_run(ref)
    owner = RunFolder.owning(path) if path.is_file() else None
    return (owner or RunFolder(path)).data()


@arguments_checked()
def run(ref: str | Path | int) -> RunRecord:
    """One run's record (see :func:`runs`): by run id (an int, or digits that are not an existing
    path) or by its run folder (its latest record). The folder of a job not finished, which the
    registry records only then, is refused saying how it finishes (it said "not recorded").

    Returns a :class:`RunRecord`.
    """
    try:
        return Registry().find(ref, "ref")
    except RegistryError:
        if isinstance(ref, (str, Path)):
            refuse_unfinished(user_path(ref), "the registry records it")
        raise
