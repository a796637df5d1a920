r"""The NPV if lenders accelerate (docs/evaluation.md, "The NPV if lenders accelerate", "The debt at
an uncured breach", `metrics.csv`'s `npv_accelerated_*`) on the five crash scenarios of
tests/test_doc_cases_metrics.py (its docstring has them: A the forecast, B the crash, C the crash
with resale values at 0.05 in 2026Q4, D a borrowing-base breach cured, E lab-a defaulting in
2026Q3), worked by hand from the docs alone.

B and C breach leverage and DSCR from 2026Q2, cured, so 2026Q3 (U = 2, the next quarter) is
uncured, owing B_U = 2.75M; they are the same until 2026Q4, so for both the cash is C_{-1} =
1,000,000, then 4,041,080, 2,811,330 and 1,591,580 at the end of U. C's liquidity default comes
later (2026Q4): the first event of default is U for both. At the end of U the 400 GPUs (age 6
quarters at the start of U) would fetch Pr = 0.95 x 40,000 x (1 - 6/16) = 23,750 each at the
forecast resale level (the factor of 2026Q3 is 1 in both): V_U = 9,500,000; the residual is
9,500,000 + 1,591,580 - 2,750,000 = 8,341,580, so NPV_accelerated = d_0 x 3,041,080 - d_1 x
1,229,750 - d_2 x 2,811,330 + d_2 x 8,341,580 = **6,945,685.96** for B and C. A, D and E have no
event of default: their NPV with limited liability, which is their NPV (each ends worth more than
nothing). Over ABCDE: the mean (2 A + 2 x 6,945,685.96 + E) / 5 and, with k = ceil(5 % of 5) = 1,
CVaR5 the lowest, 6,945,685.96 (below E's 7,844,961.23); above `npv_limited_cvar5_usd` (C's
-785,538.95: its claim there ends at the default, after the breach that ends it here).
"""

from __future__ import annotations

import json

import pytest
import yaml
from milp_builders import data_of
from test_doc_cases import DF, hand_model
from test_doc_cases_metrics import C_LIMITED, A, E, run

from fleetopt import api
from fleetopt.evaluate.metrics import plan_metrics
from fleetopt.milp.solve import solve
from fleetopt.sweep.rule import Rule

ACCELERATED = DF[0] * 3_041_080 - DF[1] * 1_229_750 - DF[2] * 2_811_330 + DF[2] * 8_341_580


@pytest.fixture(scope="module")
def crashed():
    """tests/test_doc_cases_metrics.py's crash case: hand with $1M of opening cash, a $200,000
    revolver at 12 % and distress-sale lots of 10, and its forecast optimum."""
    d = hand_model(opening_cash_usd=1_000_000, revolver={"size_usd": 200_000, "annual_rate": 0.12})
    d["policy"] = {"sale_block_gpus": 10}
    data = data_of(d)
    return data, solve(data, mip_gap=0.0).plan


def test_the_npv_if_lenders_accelerate_at_the_uncured_breach(crashed):
    assert round(ACCELERATED, 2) == 6_945_685.96
    out = run(crashed, "ABCDE")
    assert out["npv_accelerated"][0] == pytest.approx([A, ACCELERATED, ACCELERATED, A, E], abs=0.01)
    m = plan_metrics(out, quarters=4)
    assert float(m["npv_accelerated_mean_usd"][0]) == pytest.approx(
        (2 * A + 2 * ACCELERATED + E) / 5, abs=0.01
    )
    assert float(m["npv_accelerated_cvar5_usd"][0]) == pytest.approx(ACCELERATED, abs=0.01)
    assert float(m["npv_limited_cvar5_usd"][0]) == pytest.approx(C_LIMITED, abs=0.01)


@pytest.mark.filterwarnings("ignore::fleetopt.errors.FleetoptWarning")
def test_a_sweep_by_p5_on_twenty_scenarios_gives_its_lead_no_standard_error(tmp_path):
    """docs/evaluation.md, "What a sweep writes" and "How sure the pick is": the sweep of hand of
    tests/test_doc_cases_metrics.py (lab-a's hazard 0.15, a 1.7x DSCR, 20 scenarios of seed 0) by
    `--prefer p5`. With k = ceil(5 % of 20) = 1, P5 is each plan's worst scenario, as CVaR5 is: a
    tail of one scenario, whose lead has no standard error, so summary.json's
    `runner_up_lead_se_usd` is null and the sentence says so (the docs named CVaR5 alone)."""
    d = hand_model()
    d["risk"] = {"customer_default_hazard_per_quarter": 0.15}
    d["finance"]["covenants"]["min_dscr"] = 1.7
    path = tmp_path / "hand.yaml"
    path.write_text(yaml.safe_dump(d))
    result = api.sweep(str(path), scenarios=20, seed=0, rule=Rule(prefer="p5"))
    api.write_sweep_run(result, tmp_path / "S")
    summary = json.loads((tmp_path / "S" / "summary.json").read_text())
    assert summary["runner_up"] is not None and summary["runner_up_lead_usd"] != 0
    assert summary["runner_up_lead_se_usd"] is None
    assert (
        "of P5 NPV; a tail of one scenario (the worst of 20) gives that lead no standard error"
        in summary["why"]
    )
