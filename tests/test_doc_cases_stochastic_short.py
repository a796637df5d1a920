r"""The two-stage stochastic solve on a 3-quarter model (docs/formulation.md §7b, "Stages",
"Non-anticipativity"), worked by hand from the docs alone: tests/test_doc_cases_stochastic.py's
``stoch`` (no tax, no debt, lab-a's 10 % hazard a quarter) cut to 2026Q1-2026Q3, lab-a's contract
with it. $DF_t$ = 0.976454, 0.953463, 0.931012.

**The first stage** is $Q=\min(4,T)=3$ quarters, the whole horizon (not an error): every sale is
first stage, the same in both scenarios (non-anticipativity). The screened scenarios are those of
seed 28 (the draws are per quarter, so the first three quarters of the 4-quarter case): lab-a alive
(scenario 0) and defaulting from 2026Q2 (scenario 1); reduced to 2, tail first: (1, 0), p = (1/3,
2/3).

**Values.** A GPU held to the end (age 7 quarters) is worth 0.95 x 40,000 x 9/16 = 21,375 at $DF_2$;
sold at the start of 2026Q2 (age 5) it fetches 26,125, of 2026Q3 23,750. V_A(0) = 1,403,850 (DF_0 +
DF_1 + DF_2) + 8,550,000 DF_2 = 11,976,471.75 (the forecast, EV); V_B(0) = 1,403,850 DF_0 +
931,631.25 (DF_1 + DF_2) + 8,550,000 DF_2 = 11,086,587.31. Per GPU sold in 2026Q2, r_A = 26,125 DF_1
- 21,375 DF_2 - 4,119.125 (DF_1 + DF_2) = -2,753.57 and r_B (an idle GPU: its opex and idle power
saved) = 26,125 DF_1 - 21,375 DF_2 + 1,041.0625 (DF_1 + DF_2) = 6,970.68: 2/3 r_A + 1/3 r_B = 487.85 >
0, for the 100 GPUs B leaves idle; in 2026Q3, 0.931012 x (2/3 x -1,744.125 + 1/3 x 3,416.0625) =
-22.40 < 0; in 2026Q1 both lose. So RP sells 100 in 2026Q2: V_A = 11,701,114.84, V_B =
11,783,654.85, RP = 11,728,628.18; EEV = 2/3 V_A(0) + 1/3 V_B(0) = 11,679,843.60; WS (B alone sells
its 100 in 2026Q2, r_B above its 2026Q3 3,180.37) = 2/3 V_A(0) + 1/3 (V_B(0) + 697,067.54) =
11,912,199.45; VSS = 48,784.58, EVPI = 183,571.27. At the default 1 % gap the plan keeps the
forecast's first stage: VSS is 0.42 % of EEV.
"""

from __future__ import annotations

import pytest
from milp_builders import data_of
from test_doc_cases_stochastic import rows, solved, stoch_model


@pytest.fixture(scope="module")
def short():
    d = stoch_model()
    d["horizon"]["quarters"] = 3
    d["contracts"]["lab-a-training"]["term_quarters"] = 3
    return data_of(d)


def test_three_quarters_are_all_first_stage_and_rp_sells_what_one_scenario_leaves_idle(short):
    s = solved(short, mip_gap=1e-6)
    assert s["settings"]["first_stage_quarters"] == 3
    assert s["first_stage"] == "RP's"
    assert [(c["quarter"], c["decision"], c["stochastic"]) for c in s["commitments"]] == [
        ("2026Q2", "retire", pytest.approx(100.0))
    ]
    assert [r[:2] for r in rows(s)] == [
        ("scenario 1", pytest.approx(1 / 3)),
        ("scenario 0", pytest.approx(2 / 3)),
    ]
    assert [r[2:] for r in rows(s)] == [pytest.approx((11_783_654.85,) * 2, abs=0.01),
                                        pytest.approx((11_701_114.84,) * 2, abs=0.01)]  # fmt: skip
    want = {"ev_usd": 11_976_471.75, "rp_usd": 11_728_628.18, "eev_usd": 11_679_843.60,
            "ws_usd": 11_912_199.45, "vss_usd": 48_784.58, "evpi_usd": 183_571.27}  # fmt: skip
    assert {k: s[k] for k in want} == {k: pytest.approx(v, abs=0.01) for k, v in want.items()}


def test_at_the_default_gap_the_short_model_keeps_the_forecast_first_stage(short):
    s = solved(short)
    assert s["first_stage"].startswith("the forecast optimum's")
    assert s["commitments"] == []
    assert s["plan_value_usd"] == pytest.approx(11_679_843.60, abs=0.01)
