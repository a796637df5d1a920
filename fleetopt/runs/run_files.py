"""The names of a run folder's files (:class:`RunFiles`, which every :class:`~fleetopt.runs.folder.RunFolder`
is), and the error of a run folder that cannot be written or read."""

from __future__ import annotations

from typing import ClassVar

from fleetopt.errors import InputError


class RunDirError(InputError):
    """A run folder that cannot be written or read."""


class RunFiles:
    """The files of a run folder by name: which each kind of run writes, which no other command's
    output may replace."""

    SUMMARY = "summary.json"  # written last: a finished run has one
    MODEL = "model.yaml"  # the model the run was made from, as it was read
    JOB = "job.json"  # a resumable job's settings (evaluate, sweep), written when it starts
    CHUNKS = "chunks"  # a resumable job's finished evaluation chunks, removed when it finishes
    PLAN = "plan.npz"  # a solve's plan
    PLANS = "plans.npz"  # a sweep's candidate plans
    PLAN_CSV = "plan.csv"
    PURCHASES = "purchases.csv"  # solve --purchases: the file as it was read
    STATEMENTS = "statements.csv"
    REPLICATIONS = "replications.csv"  # solve --stochastic N --replications K: each sample's first stage
    GAP_CSV = "gap_scenarios.csv"  # ... --gap-scenarios M: each fresh scenario's value under the first stage
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
    # the files a run writes: no other command's output may replace one (output_files.refuse_run_file)
    # RunData's tables, in order
    TABLES = (PLAN_CSV, STATEMENTS, REPLICATIONS, GAP_CSV, METRICS, CANDIDATES_CSV, FRONT, PURCHASES)
    FILES = (SUMMARY, MODEL, JOB, PLAN, PLANS, PLAN_CSV, PURCHASES, STATEMENTS, REPLICATIONS, GAP_CSV,
             METRICS, NPV_MATRIX, CANDIDATES, CANDIDATES_CSV, FRONT, PATH_CSV, PATH_JSON, REPORT)  # fmt: skip
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
