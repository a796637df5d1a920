"""Write the LP baselines of tests/test_milp_lp_baseline.py: run it after an intended change of the
formulation, then review and commit the diff of tests/baselines/.

    python tests/regenerate_baselines.py
"""

from __future__ import annotations

from pathlib import Path

from fleetopt.core.data import load
from fleetopt.milp.build import build_model

BASELINES = Path(__file__).resolve().parent / "baselines"
# bundled model -> its LP baseline (forecast NPV objective, no diagnosis slacks, no robustness)
MODELS = {"tiny": BASELINES / "tiny.lp"}


def write_lp(model: str, path: Path) -> None:
    """The LP of a bundled model, with symbolic names so that a diff reads as the formulation."""
    _, data = load(model)
    build_model(data).write(str(path), io_options={"symbolic_solver_labels": True})


def main() -> None:
    BASELINES.mkdir(exist_ok=True)
    for model, path in MODELS.items():
        write_lp(model, path)
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
