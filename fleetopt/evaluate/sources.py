"""Where plans come from: a run folder written by fleetopt, or a plan file (one plan or many)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from fleetopt.data import ModelData
from fleetopt.evaluate.batch import PlanFileError, load_plans
from fleetopt.plan import Plan

PLAN_FILES_IN_RUN = ("plans.npz", "plan.npz")


@dataclass
class PlanSource:
    plans: list[Plan]
    labels: list[str]
    path: Path
    model_hash: str | None


def plan_file_of(path: Path) -> Path:
    """The plan file of a run folder (sweeps write plans.npz, solves plan.npz), or ``path`` itself."""
    if path.is_dir():
        for name in PLAN_FILES_IN_RUN:
            if (path / name).exists():
                return path / name
        raise PlanFileError(
            f"{path}: no plan file in this folder (expected {' or '.join(PLAN_FILES_IN_RUN)})"
        )
    return path


def model_file_of(path: Path) -> Path | None:
    """The copy of the model a run folder was made from, if ``path`` is such a folder."""
    candidate = path / "model.yaml"
    return candidate if path.is_dir() and candidate.exists() else None


def read_plans(path: str | Path, data: ModelData) -> PlanSource:
    path = Path(path)
    if not path.exists():
        raise PlanFileError(f"{path}: no such run folder or plan file")
    file = plan_file_of(path)
    plans, labels, meta = load_plans(file, data)
    return PlanSource(plans, labels, file, meta.get("model_hash"))
