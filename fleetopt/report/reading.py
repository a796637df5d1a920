"""A run folder read for its report: its summary, model, plans and metrics, checked, and the plans
the report is about (`read_report_run`, `ReportRun`); `checked_metrics_table` for `fleetopt runs add` too."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd

from fleetopt.compare.sources import sweep_plans
from fleetopt.core.data import ModelData, build_data
from fleetopt.core.economics.statements import Statements, plan_statements
from fleetopt.core.metric_columns import BREACH_LABEL
from fleetopt.core.plan import Plan
from fleetopt.core.results.covenant_words import TrailingYear, trailing_year_headroom
from fleetopt.core.results.headline import headline
from fleetopt.core.units import counted, format_rate, format_usd
from fleetopt.errors import InputError, warn
from fleetopt.evaluate.batch import PlanFileError, refuse_limit_breaks, serves_contracts_short
from fleetopt.evaluate.forecast import ForecastRun, forecast_run
from fleetopt.evaluate.metrics import (
    marked_last_words,
    ranking_of,
    ranking_words,
    service_floor_of,
    shown_plans,
)
from fleetopt.evaluate.planfile import BUFFERS, load_plans
from fleetopt.evaluate.sources import PLANS_IN_MEMORY, evaluated_plans_file, other_version_note
from fleetopt.runs.folder import RunFolder
from fleetopt.runs.key_figures import solved_for_cost
from fleetopt.runs.tables import METRICS_TABLES
from fleetopt.schema.loading import load_model

FAN_SCENARIOS = 500  # scenarios re-simulated for fan charts and NPV histograms


class ReportError(InputError):
    """A folder that is not a complete fleetopt run."""


MILP_ONLY = "the plan's statements, as planned"  # marks a figure the plan's run on the forecast changes


@dataclass
class ReportRun:
    """A run folder read for its report: summary, model, plans and, where the run has them, metrics."""

    folder: Path
    summary: dict
    data: ModelData
    plans: list[Plan]
    labels: list[str]
    metrics: pd.DataFrame | None
    focus: list[int]  # the plans the report is about, the first one above all
    statements: Statements | None  # the MILP's statements of the first focus plan (its decisions, no policy)
    buffers: list | None = None  # each plan's policy liquidity buffer from its plan file (None: the model's)
    job: dict = field(default_factory=dict)  # a resumable job's settings (evaluate, sweep; {} otherwise)
    sample: dict = field(default_factory=dict)  # the scenario charts' sample: seed, n, total
    forecast: ForecastRun | None = None  # the first focus plan on the forecast run with its policy
    plans_left_out: str = ""  # why an evaluation's report has no plan sections ('': it has them), LEFT_OUT apart
    plan_shown: str = ""  # an evaluation's plan shown by its metrics alone, where its plans are left out
    shown_why: str = ""  # which rule chose an evaluation's plan shown, in words
    version_note: str = ""  # an evaluation's plans made from another version of its model, in words

    @property
    def milp_only(self) -> str:
        """'' when the statements are the forecast run; else the words that mark a figure of the
        MILP's statements, which the plan's run on the forecast changes (:attr:`forecast_changes`)."""
        if self.forecast is None or not self.forecast.reacts:
            return ""
        return MILP_ONLY

    @property
    def milp_only_note(self) -> str:
        """What a figure marked :data:`MILP_ONLY` is, in a sentence ('' where none is)."""
        if not self.milp_only:
            return ""
        return (f"'{MILP_ONLY}': a figure of the plan's statements under this model, its decisions as "
                "planned with no reaction of its policy (the MILP's own statements under the model it was "
                f"solved with). On the forecast {self.forecast_changes} (docs/evaluation.md, Policy): NPV, "
                "peak debt, lowest cash and the cash chart are of that run.")  # fmt: skip

    @property
    def forecast_changes(self) -> str:
        """Why the plan's run on the forecast is not its MILP statements, in words."""
        why = []
        buffer = self.forecast.buffer
        if (self.data.policy.liquidity_buffer_usd if buffer is None else buffer) > 0:
            why.append(f"with its {buffer_words(buffer, self.data)} the policy defers orders or cuts "
                       "prepayments")  # fmt: skip
        if serves_contracts_short(self.data, self.plans[self.focus[0]]):
            why.append("a contract it serves with fewer GPUs than the contract has is delivered short "
                       "(late, then cancelled)")  # fmt: skip
        return "; ".join(why) or "the policy reacts"

    @cached_property
    def figures(self) -> dict:
        """The first focus plan's key figures on its MILP statements (core.results.headline.headline), read by
        the summary, the key figures and the decisions: computed once."""
        return headline(self.data, self.plans[self.focus[0]], self.statements,
                        "cost" if self.solved_for_cost else "npv")

    @cached_property
    def trailing_year(self) -> dict[str, TrailingYear]:
        """Each covenant's headroom on the trailing year's averages (core.results.covenant_words.trailing_year_headroom;
        {} without statements), read by the summary and the key figures: computed once."""
        st = self.statements
        return {} if st is None else trailing_year_headroom(self.data, st)

    @property
    def kind(self) -> str:
        return self.summary.get("kind", "run")

    @property
    def scenario_source(self) -> tuple[int, int]:
        """(seed, number) of the scenarios the run evaluated: a stochastic run's out-of-sample ones
        (never the seed its scenarios were reduced from)."""
        if self.kind == "stochastic":
            oos = self.summary["out_of_sample"]
            return int(oos["seed"]), int(oos["scenarios"])
        return int(self.summary.get("seed") or 0), int(self.summary.get("n_scenarios") or FAN_SCENARIOS)

    @property
    def solved_for_cost(self) -> bool:
        """Whether the run's plans were solved for least cost, by its summary.json
        (:func:`~fleetopt.runs.key_figures.solved_for_cost`)."""
        return solved_for_cost(self.summary)


    @cached_property
    def plan_roles(self) -> dict[str, list[str]]:
        """What each plan is to the run, by label (its keys of :data:`~fleetopt.compare.sources.SWEEP_ROLES`),
        which the charts draw it in the colour of (report.svg.ROLE_COLOURS), as compare's page does: a
        sweep's forecast optimum, pick and third plan (compare.sweep_plans), a stochastic solve's
        forecast optimum; {} for another run."""
        if self.kind == "sweep":
            return sweep_plans(RunFolder(self.folder), self.labels, RunFolder.PLANS)
        if self.kind == "stochastic" and len(self.focus) > 1:  # the stochastic plan, then the optimum
            return {self.labels[self.focus[1]]: ["forecast_optimum"]}
        return {}

    @property
    def main_label(self) -> str:
        """The plan the report is about: the first focus plan, or an evaluation's :attr:`plan_shown`."""
        return self.labels[self.focus[0]] if self.focus else self.plan_shown

    @property
    def main_metrics(self) -> pd.Series | None:
        if self.metrics is None or not self.main_label:
            return None
        rows = self.metrics[self.metrics["plan"] == self.main_label]
        return rows.iloc[0] if len(rows) else None


def cost_sweep(run) -> bool:
    """Whether the run (a :class:`ReportRun`, or what has its kind and summary) is a sweep by cost (`sweep
    --objective cost`): its candidates solved for least cost and ranked by mean present cost, a lab's,
    whose NPV only imputes market prices to its own use."""
    return run.kind == "sweep" and solved_for_cost(run.summary)


def in_cost_terms(run) -> bool:
    """Whether the run's plans are reported in a lab's terms over the scenarios: a sweep by cost
    (:func:`cost_sweep`) or an evaluation of plans solved for least cost, its present cost first and its
    NPV an imputed value (market prices on its own use)."""
    return run.kind in ("sweep", "evaluate") and solved_for_cost(run.summary)


def read_report_run(folder: Path) -> ReportRun:
    """The run folder ``folder`` read and checked for its report: a :class:`ReportError` names what is
    missing, unreadable or edited since the run."""
    folder = folder.resolve()
    run = RunFolder(folder)
    if folder.is_file():
        raise ReportError(f"{folder} is a file, not a run folder: give the folder a run wrote, or its run id")
    if not folder.is_dir():
        raise ReportError(f"{folder}: no such run folder")
    if not run.is_finished or run.model_file is None:
        raise ReportError(
            f"{folder}: not a fleetopt run folder ({RunFolder.SUMMARY} and {RunFolder.MODEL} expected)"
        )
    try:
        summary = run.summary()
        model = load_model(run.model_file)
        data = build_data(model)
        job = run.job() if run.is_job else {}
    except ValueError as exc:  # a ModelError goes on as it is: an issue a line, each naming model.yaml
        raise ReportError(f"{folder}: unreadable run folder ({exc})") from None
    run.check_model_copy(model)
    kind = summary.get("kind")
    left_out = ""
    if kind == "evaluate":  # its plans are checked against its metrics: those are what it evaluated
        metrics = checked_metrics_table(run, kind, summary, [])
        evaluated = list(metrics["plan"])
        plans_file, plans, labels, buffers, left_out = _evaluated_plans(run, summary, data, job, evaluated)
    else:
        plans, labels, buffers = _plans(run, summary, data)
        metrics = checked_metrics_table(run, kind, summary, labels) if kind in METRICS_TABLES else None
    if kind == "stochastic":
        metrics = _out_of_sample_metrics(summary)
    focus, shown_why, plan_shown = _focus(run, kind, metrics, plans, labels), "", ""
    if kind == "evaluate" and len(metrics):  # its plans' labels are its metrics' (_evaluated_plans)
        plan_shown, shown_why = _evaluation_shown(summary, metrics)
        focus = [labels.index(plan_shown)] if plans else []
    if left_out:
        warn(f"{folder}: {left_out}, {LEFT_OUT}")
    version_note = ""
    if kind == "evaluate" and not summary.get(PLANS_IN_MEMORY):  # in memory: the model given was theirs
        whose = f"the plans of {plans_file}"  # where they now are, moved or not
        version_note = other_version_note(summary.get("plans_model_hash"), plans_file, model, whose) or ""
    statements = plan_statements(data, plans[focus[0]]) if focus else None
    forecast = None
    if focus:
        buffer = None if buffers is None else buffers[focus[0]]
        forecast = forecast_run(data, plans[focus[0]], buffer, statements)
    return ReportRun(folder, summary, data, plans, labels, metrics, focus, statements, buffers, job, forecast=forecast,
                plans_left_out=left_out, plan_shown="" if plans else plan_shown, shown_why=shown_why,
                version_note=version_note)  # fmt: skip


# summary.json's count of the rows of each kind's metrics table
METRICS_COUNTS = {"sweep": "candidates_feasible", "evaluate": "n_plans"}


def checked_metrics_table(run: RunFolder, kind: str, summary: dict, labels: list[str]) -> pd.DataFrame:
    """The run's metrics table (:data:`METRICS_TABLES`), refused where it was cut short or edited
    (it would read as fewer plans, a cut row as "n/a"): it must have a row per plan summary.json
    counts and, for a sweep, per plan of its plans.npz (``labels``), each as long as the header, and
    a number in every metric cell. Read by the report and by `fleetopt runs add`."""
    metrics = run.table(*METRICS_TABLES[kind])
    name = METRICS_TABLES[kind][0]
    rows = list(metrics["plan"])
    count_key = METRICS_COUNTS[kind]
    count = summary.get(count_key)
    facts = []
    if kind == "sweep" and sorted(rows) != sorted(labels):
        missing = next((label for label in labels if label not in rows), None)
        named = f" ({missing!r} has no row)" if len(rows) == len(labels) and missing is not None else ""
        facts.append(f"{RunFolder.PLANS} holds {counted(len(labels), 'plan')}{named}")
    if isinstance(count, int) and count != len(rows):
        facts.append(f"{RunFolder.SUMMARY} counts {count:,} ({count_key})")
    if facts:
        _refuse_table(run, kind, f" has {counted(len(rows), 'plan row')}, but {' and '.join(facts)}")
    widths = [len(row) for row in csv.reader(io.StringIO(run.read_text(name))) if row]
    short = next((n for n, width in enumerate(widths) if width != widths[0]), None)
    if short is not None:
        _refuse_table(run, kind, f": row {short} has {widths[short]} fields, the header {widths[0]}")
    edited = _edited_figure(metrics, summary.get("metrics"))
    if edited:
        _refuse_table(run, kind, edited)
    return metrics


# how far a figure of metrics.csv (six decimals) may lie from summary.json's (full precision)
WRITTEN_ABS, WRITTEN_REL = 1e-6, 1e-12


def _edited_figure(metrics: pd.DataFrame, records) -> str:
    """Where metrics.csv differs from the figures summary.json was written with (an evaluation's
    ``metrics``; a sweep's summary has none): the first cell that does, in words;
    "" where none does or there is nothing to check against."""
    if not isinstance(records, list) or len(records) != len(metrics):
        return ""
    for n, (record, (_, row)) in enumerate(zip(records, metrics.iterrows(), strict=True)):
        if not isinstance(record, dict):
            return ""
        for column, value in record.items():
            if column not in row.index or isinstance(value, (str, bool)) or column == "plan":
                continue
            shown, written = row[column], np.nan if value is None else value
            if not isinstance(written, (int, float)) or not isinstance(shown, (int, float, np.number)):
                continue
            same = (np.isnan(shown) and np.isnan(written)) or abs(shown - written) <= (
                WRITTEN_ABS + WRITTEN_REL * abs(written))
            if not same:
                return (f": row {n} ({row['plan']}) has {column} {shown!r}, where {RunFolder.SUMMARY}, "
                        f"written with it, has {written!r}")
    return ""


def _refuse_table(run: RunFolder, kind: str, what: str) -> None:
    """Refuse the run's metrics table, ``what`` (" has ...", ": row ...") saying why."""
    raise ReportError(
        f"{run / METRICS_TABLES[kind][0]}{what}: the file was cut short or edited; restore it, or run "
        f"the {kind} anew"
    )


def buffer_words(buffer: float | None, data: ModelData) -> str:
    """The policy's cash buffer a plan runs with, in words."""
    if buffer is None:
        return f"policy cash buffer (the model's, {format_usd(data.policy.liquidity_buffer_usd)})"
    return f"policy cash buffer of {format_usd(buffer)}"


def _plans(run: RunFolder, summary: dict, data: ModelData) -> tuple[list[Plan], list[str], list | None]:
    """A solve's, stochastic solve's or sweep's plans (in its folder), their labels and their policy
    buffers (None: the model's)."""
    file = run / (RunFolder.PLANS if summary.get("kind") == "sweep" else RunFolder.PLAN)
    if not file.is_file():
        raise ReportError(f"{file} is missing: the run folder {run.path} has no {file.name}")
    if run.plan_changed():
        raise ReportError(f"{run.plan_changed_words()}: the report would show another plan beside this "
                          "run's figures; restore it, or solve again")  # fmt: skip
    plans, labels, meta = load_plans(file, data)
    # a plan file edited since (more GPUs on a contract than it has, say) would be shown as figures
    # the model forbids: refused as evaluate refuses it
    refuse_limit_breaks(data, Plan.stack(plans), labels)
    return plans, labels, meta.get(BUFFERS)


LEFT_OUT = ("so the report leaves out the plans' own sections (key figures on the forecast, decisions, charts, "
            "covenant tests by quarter, statements) and the sentences of In short that need them (what the plan "
            "buys, whether it keeps its limits on the forecast)")


def _evaluated_plans(
    run: RunFolder, summary: dict, data: ModelData, job: dict, evaluated: list[str]
) -> tuple[Path, list[Plan], list[str], list | None, str]:
    """An evaluation's plans file (found again where the runs folder was moved or copied whole) and
    its plans, with their labels and buffers, when they are the plans it evaluated: the file's
    SHA-256 is the one stored at the evaluation (job.json, or summary.json for a run written by the
    API), or, where none was stored, its labels are ``evaluated`` (its metrics' plans) in the same
    order. Otherwise no plans, and why not (the last item, :data:`LEFT_OUT` apart; '' when there are
    plans)."""
    if summary.get(PLANS_IN_MEMORY) is True:  # fleetopt.api.evaluate(result): no file was ever written
        return Path(), [], [], None, f"the plans were {summary.get('plans_source')}"
    stored = job.get("plans_sha256") or summary.get("plans_sha256")  # job.json's: when it started
    file, sha256 = evaluated_plans_file(summary, run.path, stored)
    if sha256 is None:
        gone = f"the plans file {file} (as given to the evaluation) is no longer there"
        return file, [], [], None, gone
    if stored and sha256 != stored:
        changed = (f"the plans file {file} changed since the evaluation (its SHA-256 is not the one the "
                   f"evaluation stored): it no longer holds the plans evaluated")  # fmt: skip
        return file, [], [], None, changed
    try:
        plans, labels, meta = load_plans(file, data)
    except PlanFileError as exc:
        unfit = f"the plans file no longer fits the evaluation's model ({exc})"
        return file, [], [], None, unfit
    if labels != evaluated:
        return file, [], [], None, (f"the plans file {file} holds {counted(len(labels), 'plan')} "
                                    f"({', '.join(labels)}), not the {counted(len(evaluated), 'plan')} "
                                    f"evaluated ({', '.join(evaluated)})")  # fmt: skip
    return file, plans, labels, meta.get(BUFFERS), ""


def _out_of_sample_metrics(summary: dict) -> pd.DataFrame | None:
    """A stochastic run's out-of-sample metrics, one row per plan (None when it skipped them)."""
    metrics = (summary.get("out_of_sample") or {}).get("metrics")
    if not metrics:
        return None
    # summary.json writes a figure that is not finite as null: NaN here, so it reads n/a
    rows = [
        {"plan": label, **{k: np.nan if v is None else v for k, v in row.items()}}
        for label, row in metrics.items()
    ]
    return pd.DataFrame(rows)


def _focus(run: RunFolder, kind, metrics, plans: list[Plan], labels: list[str]) -> list[int]:
    """A sweep's recommended plan, the forecast optimum and, where the sweep names one, its plan of
    highest mean NPV no worse than the optimum; a stochastic run's plan and the forecast optimum; a
    solve's plan (an evaluation's: :func:`_evaluation_shown`)."""
    if kind == "stochastic" and len(plans) > 1:
        return [0, 1]
    if kind == "sweep":
        run.sweep_picks(list(metrics["plan"]), RunFolder.CANDIDATES_CSV)  # its rows are the report's figures
        shown = [*run.sweep_picks(labels, RunFolder.PLANS), run.sweep_best_mean(labels, RunFolder.PLANS)]
        return [labels.index(label) for label in shown if label is not None]
    return [0] if plans and kind != "evaluate" else []


def _evaluation_shown(summary: dict, metrics: pd.DataFrame) -> tuple[str, str]:
    """An evaluation's plan shown, by its label, and the rule that chose it in words: the best plan
    by the run's ranking (summary.json's ``ranking``: `--rank-by`, `--max-breach-prob`, `--min-service`),
    the plan the terminal printed first; by CVaR5 for a run that kept none. Its metrics alone choose it,
    so an evaluation whose plans are left out names it too."""
    if len(metrics) == 1:
        return str(metrics["plan"].iloc[0]), "the only plan evaluated"
    ranking = summary.get("ranking")
    rank_by, limit = ranking_of(ranking)
    floor = service_floor_of(ranking)
    ranked, met = shown_plans(metrics, ranking)
    one = bool(summary.get("deterministic"))  # its one scenario the forecast: no mean
    marked = not one  # as the candidates' table marks them
    words = ranking_words(rank_by, limit, floor, one)
    if ranking is None:
        words += ", CVaR5 as the run kept no --rank-by"
    else:
        given = {"--max-breach-prob": limit, "--min-service": floor}
        words += f", by the evaluation's --rank-by {rank_by}" + "".join(
            f" {option} {value:g}" for option, value in given.items() if value is not None
        )
    words += marked_last_words(ranked, marked)
    if not met:  # the terminal printed no best plan: the report shows the best of all
        words = (f"{ranking_words(rank_by, None, floor, one)} of all plans{marked_last_words(ranked, marked)}: none "
                 f"has {BREACH_LABEL} at most {format_rate(limit)} (the evaluation's --max-breach-prob "
                 f"{limit:g})")  # fmt: skip
    return str(ranked.iloc[0]["plan"]), words
