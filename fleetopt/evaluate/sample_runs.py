"""Every pair's results and quarterly lines of a few scenarios, unreduced (:func:`sample_runs`): the
charts of a report, simulated by the evaluation's own NumPy code.
"""

from __future__ import annotations

from dataclasses import replace

from fleetopt.core.data import ModelData
from fleetopt.evaluate.planbatch import PlanBatch
from fleetopt.evaluate.scenarios import generate_scenarios
from fleetopt.evaluate.simulate import SimulationConstants, simulate
from fleetopt.evaluate.slip import by_slip


def sample_runs(
    data: ModelData, plans: PlanBatch, n_scenarios: int, seed: int, record: tuple[str, ...] = (),
    start: int = 0,
) -> dict:
    """Every per-pair result of the NumPy simulation (``RESULT_FIELDS``: NPV, breach, default, the
    quarters before each, the reactions; each pair's present cost, ``PRESENT_COST``, of plans solved for
    least cost, ``PlanBatch.solved_for_cost``, as an evaluation computes it) and the quarterly lines
    ``record`` names, on scenarios ``start .. start + n_scenarios - 1`` of ``seed``, as (plans,
    scenarios[, quarters]) arrays: for the charts of a report, in one piece (the same figures
    :func:`evaluate` reduces)."""
    scenarios = generate_scenarios(data, seed, start, start + n_scenarios)
    consts = replace(SimulationConstants.from_data(data), present_cost=plans.solved_for_cost)
    return by_slip(lambda p, scen, _slip: simulate(consts, p, scen, record=record), plans, scenarios)
