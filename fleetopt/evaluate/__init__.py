"""Batch evaluation of candidate plans under uncertainty (NumPy reference, CuPy kernel on GPUs).

See docs/evaluation.md for the semantics and the plan-file format.
"""

from fleetopt.core.metric_columns import METRIC_COLUMNS
from fleetopt.evaluate.backend import BackendError, resolve_backend
from fleetopt.evaluate.batch import PlanBatch, PlanFileError, compile_plans
from fleetopt.evaluate.engine import EvaluationResult, evaluate, sample_runs
from fleetopt.evaluate.planfile import PlanFileReader, PlanFileWriter, load_plans, save_plans
from fleetopt.evaluate.scenarios import ScenarioSet, deterministic_scenarios, generate_scenarios

__all__ = [
    "METRIC_COLUMNS",
    "BackendError",
    "EvaluationResult",
    "PlanBatch",
    "PlanFileError",
    "PlanFileReader",
    "PlanFileWriter",
    "ScenarioSet",
    "compile_plans",
    "deterministic_scenarios",
    "evaluate",
    "generate_scenarios",
    "load_plans",
    "resolve_backend",
    "sample_runs",
    "save_plans",
]
