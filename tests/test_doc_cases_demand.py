"""The market demand served (docs/evaluation.md, quarter step 3 and `metrics.csv`'s
`demand_served_share`, `unserved_demand_mean_gpu_quarters`, `shortfall_probability`,
`mean_utilisation`), worked by hand on tests/test_doc_cases.py's ``hand`` optimum: 300 GPUs on the
training market (throughput 1: 300 H100-equivalents) and 100 on lab-a's contract, every quarter.

Three scenarios, each its market demand by quarter (training; no inference demand):
A, the forecast, 300 every quarter: 1,200 served of 1,200.
B, 600 in 2026Q3: the 300 offered sell whole there, 1,200 served of 1,500 (300 unserved: 20 %).
C, 100 in 2026Q2: the 300 offered sell a third each, 1,000 served of 1,000; that quarter rents
out 100 + 100 of 400 GPUs held, so C's utilisation is (1 + 0.5 + 1 + 1) / 4 = 0.875.
demand_served_share = (1 + 0.8 + 1) / 3 = 0.9333 (the mean of the scenarios' shares, not 3,400 /
3,700); unserved 300 / 3 = 100 GPU-quarters; shortfall_probability 1 / 3 (B only is short by more
than 1 %); mean_utilisation (1 + 1 + 0.875) / 3 = 0.9583.
"""

from __future__ import annotations

import pytest
from milp_builders import data_of
from test_doc_cases import hand_model
from test_doc_cases_hand import simulate_all

from fleetopt.evaluate.chunk_eval import horizon_demand
from fleetopt.evaluate.metrics import plan_metrics
from fleetopt.evaluate.scenarios import deterministic_scenarios
from fleetopt.milp.solve import solve


def test_the_demand_served_over_three_scenarios_by_hand():
    data = data_of(hand_model())
    result = solve(data, mip_gap=0.0)
    scen = deterministic_scenarios(data, 3)
    scen.demand[1, 0, 2] = 600.0
    scen.demand[2, 0, 1] = 100.0
    out = simulate_all(data, result.plan, scen)
    assert out["demand_served"][0] == pytest.approx([1_200.0, 1_200.0, 1_000.0])
    assert horizon_demand(scen) == pytest.approx([1_200.0, 1_500.0, 1_000.0])
    m = plan_metrics(out, quarters=4, scenario_demand=horizon_demand(scen))
    hand_figures = {"demand_served_share": 2.8 / 3, "unserved_demand_mean_gpu_quarters": 100.0,
                    "shortfall_probability": 1 / 3, "mean_utilisation": 2.875 / 3}  # fmt: skip
    assert {k: float(m[k][0]) for k in hand_figures} == pytest.approx(hand_figures, rel=1e-12)
