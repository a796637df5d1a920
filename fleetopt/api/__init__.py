"""The Python API for notebooks and scripts; the CLI is a thin layer over it.

>>> import fleetopt.api as fo
>>> result = fo.solve("tiny")
>>> result.plan_frame().head()          # every decision
>>> result.statements_frame()           # quarterly statements, USD

Every ``write_*_run`` function writes a run folder and records it in the run registry, once: the
CLI writes its runs through them, so a run written from Python is listed by `fleetopt runs` too.

A run is named, wherever one is taken (``evaluate``, ``compare``, ``report``, ``run`` ...), by its
run folder (a path), a plan file, or its run id (an int, or a string of digits that is not an
existing path), as the CLI takes them, or by its :class:`RunRecord` (what :func:`runs` lists); a
model (``model``) as :func:`load` takes it: a file's path, a bundled model's name, None (the default
model), or a loaded or edited one (:func:`edit`). Bad
input raises :class:`~fleetopt.errors.InputError` (its message names the argument, and the CLI
option beside it where they differ); something to know that does not stop the work (a setting
capped to what the machine has, plans made from another version of their model) is a
:class:`~fleetopt.errors.FleetoptWarning`, shown by :mod:`warnings`.
"""

# Every public name this module had as one file (fleetopt/api.py), where it is made now: the API by
# topic below, then the names it took from the rest of fleetopt, so code that reads them here runs on.
from fleetopt import __version__
from fleetopt.api._compare import LABELS, compare, comparison_html
from fleetopt.api._evaluate import (
    Evaluated,
    evaluate,
    evaluation_summary,
    in_sample_note,
    model_of_plans,
    prepare_evaluation,
    resume_evaluation,
    write_evaluate_run,
)
from fleetopt.api._models import ModelArg, edit, load, schema
from fleetopt.api._path import scenario_path
from fleetopt.api._report import report
from fleetopt.api._runs import (
    forget_runs,
    read_run,
    record_run,
    recorded_run_id,
    resolve_run,
    run,
    run_id,
    runs,
    saved_bytes,
    saved_work,
    unfinished_runs,
    unrecorded_runs,
)
from fleetopt.api._solve import (
    RESCUE_WORDS,
    plan_file_bytes,
    read_purchases,
    solve,
    solve_stochastic,
    solve_summary,
    stochastic_summary,
    write_solve_run,
    write_stochastic_run,
)
from fleetopt.api._sweep import rerank_sweep, resume_sweep, sweep, write_sweep_run
from fleetopt.compare.comparison import Comparison, ModelUsed
from fleetopt.compare.labels import DIFFERENCE_SEPARATOR, RESERVED_LABELS, unique_labels
from fleetopt.compare.run import compare_plans, compare_what_if
from fleetopt.compare.sources import (
    TWO_PLANS_NEEDED,
    CompareError,
    figures_not_back,
    plan_sources,
    plans_from_refs,
    policy_note,
    policy_notes,
    scenarios_of_runs,
)
from fleetopt.core.data import ModelData, model_fingerprint
from fleetopt.core.economics.grade_limit import signed_book_beyond_grade_limit
from fleetopt.core.economics.statements import plan_statements
from fleetopt.core.plan import Plan, plan_axes
from fleetopt.core.purchases import FixedPurchases, is_purchase_table, purchases_for
from fleetopt.core.results.headline import COST_SOLVE_FIGURES
from fleetopt.core.results.tables import plan_frame
from fleetopt.core.tail import TAIL
from fleetopt.core.units import counted, format_usd
from fleetopt.errors import FleetoptError, FleetoptWarning, InputError, StoppedAfterWriting, user_path, warn
from fleetopt.evaluate import resources
from fleetopt.evaluate.backend import BACKENDS
from fleetopt.evaluate.batch import PlanFileError
from fleetopt.evaluate.forecast import forecast_run
from fleetopt.evaluate.jobfolder import EvaluationJob, refuse_threads_with_workers, refuse_workers_with_ray
from fleetopt.evaluate.metrics import DEFAULT_RANK, RANK_COLUMNS, shown_first
from fleetopt.evaluate.path import ScenarioPath
from fleetopt.evaluate.planfile import load_plans, plans_npz_bytes, save_plans
from fleetopt.evaluate.result import EvaluationResult
from fleetopt.evaluate.sources import (
    PlanSource,
    model_copy_of,
    other_version_note,
    version_note,
)
from fleetopt.milp.highs import DEFAULT_MIP_GAP, STOCHASTIC_MIP_GAP
from fleetopt.milp.solve import InfeasibleModel, NoPlanFound, SolveResult
from fleetopt.milp.stochastic.fixed_first_stage import complete_purchases_with_rescue
from fleetopt.milp.stochastic.rescue import names_finance_limit, rescuable
from fleetopt.report.page import write_report
from fleetopt.report.reading import checked_metrics_table
from fleetopt.runs import limits
from fleetopt.runs.file_text import csv_text, json_text
from fleetopt.runs.files import signals_deferred
from fleetopt.runs.folder import RunFolder, written_at
from fleetopt.runs.key_figures import check_key_figures, check_results_of_kind, key_figures
from fleetopt.runs.kinds import RUN_KINDS, run_name
from fleetopt.runs.limits import DEFAULT_SCREEN, MAX_SCREENED
from fleetopt.runs.listing import finished_folders, unfinished_jobs
from fleetopt.runs.output_files import refuse_unwritable_file
from fleetopt.runs.registry import Registry, RegistryError, RunRecord
from fleetopt.runs.run_files import RunDirError
from fleetopt.runs.tables import METRICS_TABLES, RunData
from fleetopt.schema.edit import edited_model, sets_field
from fleetopt.schema.issues import ModelError
from fleetopt.schema.loaded_model import LoadedModel
from fleetopt.schema.model import PlanningModel
from fleetopt.schema.model_changes import MODEL_CHANGES, change_words, recorded_changes, typed_path
from fleetopt.schema.yaml_reading import load_yaml
from fleetopt.stochastic.forecast_completion import rescued_completion
from fleetopt.stochastic.result import StochasticResult
from fleetopt.stochastic.settings import check_settings
from fleetopt.sweep.result import SweepResult
from fleetopt.sweep.rule import Rule, RuleNotMet
from fleetopt.sweep.run import read_proposals

__all__ = [
    "Comparison",
    "Evaluated",
    "EvaluationJob",
    "EvaluationResult",
    "FixedPurchases",
    "FleetoptError",
    "FleetoptWarning",
    "InfeasibleModel",
    "InputError",
    "LoadedModel",
    "ModelError",
    "NoPlanFound",
    "PlanSource",
    "Rule",
    "RuleNotMet",
    "RunData",
    "RunFolder",
    "RunRecord",
    "ScenarioPath",
    "SolveResult",
    "StochasticResult",
    "SweepResult",
    "compare",
    "comparison_html",
    "edit",
    "evaluate",
    "evaluation_summary",
    "forget_runs",
    "load",
    "model_of_plans",
    "plan_file_bytes",
    "prepare_evaluation",
    "read_purchases",
    "read_run",
    "record_run",
    "recorded_run_id",
    "report",
    "rerank_sweep",
    "resolve_run",
    "resume_evaluation",
    "resume_sweep",
    "run",
    "run_id",
    "runs",
    "saved_bytes",
    "saved_work",
    "scenario_path",
    "schema",
    "solve",
    "solve_stochastic",
    "sweep",
    "unfinished_runs",
    "unrecorded_runs",
    "write_evaluate_run",
    "write_solve_run",
    "write_stochastic_run",
    "write_sweep_run",
]
