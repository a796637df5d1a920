r"""`fleetopt compare`'s verdict ("In short") on two plans whose NPVs differ by the same few dollars in
every scenario, worked by hand from docs/evaluation.md (the compare paragraphs under "On the
forecast") and docs/formulation.md (§1 "Timing", §5.9-5.10) alone, on tests/test_doc_cases.py's
``hand`` model (no `risk` block: every scenario is the forecast).

**The difference.** Plan A is hand's optimum, which draws $2M in 2026Q1; plan B the same plan
drawing Y dollars less. A dollar not drawn is -1 in 2026Q1; then it saves its principal, 1/8 a
quarter from 2026Q2, and its interest, 2 % a quarter of the balance before (0.02, 0.0175, 0.015),
less the 20 % tax that interest saved in 2026Q2-Q3 (in 2026Q4 the liquidation tax refunds that
quarter's tax whole: the fleet's loss of 400,000 exceeds its EBT, formulation §5.10), and 5/8 of
it is not owed at the end: per dollar w = DF_0 - 0.141 DF_1 - 0.139 DF_2 - (0.140 + 0.625) DF_3 =
0.01715059 of NPV, lost. Every scenario is the forecast, so B's NPV is A's less Y w in each: the
mean and CVaR5 (21 scenarios, k = 2) differ by -Y w and their paired standard errors are 0 (every
difference is the same; every influence value q + min(x - q, 0) x 21 / 2 - CVaR is 0 for both);
no scenario breaches or defaults, so the probabilities differ by 0 with errors 0.

**The verdict.** A money difference is better or worse only beyond two paired standard errors and
beyond $1 of round-off (`metrics.NOISE_USD`); a difference within the round-off, with an error
within it too (0 here), is the same (`compare/figures.py` `same_to_round_off`):

* Y = 58: -$0.99473, within the dollar: the same in the mean NPV and CVaR5 (round-off);
* Y = 59: -$1.01188, just beyond it: worse in both;
* either way the same in P(covenant breach), P(liquidity default) and P(any default).
"""

from __future__ import annotations

import copy
import dataclasses

import pytest
import yaml
from milp_builders import data_of
from test_doc_cases import DF, hand_model
from test_doc_cases_stochastic import solved as solved_stochastic
from test_doc_cases_stochastic import stoch_model

from fleetopt import api
from fleetopt.evaluate.lead import Lead, scenarios_to_tell
from fleetopt.stochastic.paired import out_of_sample_advice, out_of_sample_verdict
from fleetopt.sweep.recommendation import lead_words

W = DF[0] - 0.141 * DF[1] - 0.139 * DF[2] - 0.765 * DF[3]  # NPV lost per dollar not drawn in 2026Q1
SAME = "the same in P(covenant breach), P(liquidity default), P(any default)"


@pytest.fixture(scope="module")
def solved(tmp_path_factory):
    path = tmp_path_factory.mktemp("hand") / "hand.yaml"
    path.write_text(yaml.safe_dump(hand_model()))
    return str(path), api.solve(str(path), mip_gap=0.0)


def compared(solved, less_drawn: float):
    path, result = solved
    plan = copy.deepcopy(result.plan)
    plan.draws[0, 0] -= less_drawn
    b = dataclasses.replace(result, plan=plan)
    return api.compare([result, b], path, scenarios=21, seed=0, labels=["A", "B"])


@pytest.mark.filterwarnings("ignore::fleetopt.errors.FleetoptWarning")
@pytest.mark.parametrize(("less_drawn", "sides"), [
    (58.0, "the same in all five"),
    (59.0, f"worse in mean NPV, CVaR5 NPV; {SAME}"),
])  # fmt: skip
def test_a_dollar_of_npv_is_round_off_and_a_cent_more_is_worse(solved, less_drawn, sides):
    assert less_drawn * W == pytest.approx({58.0: 0.99473, 59.0: 1.01188}[less_drawn], abs=1e-5)
    c = compared(solved, less_drawn)
    fig = c.figures
    for figure in ("npv_mean_usd", "npv_cvar5_usd"):
        assert fig.loc[figure, "B"] - fig.loc[figure, "A"] == pytest.approx(-less_drawn * W, abs=1e-6)
        assert fig.loc[figure.replace("_usd", "_paired_se_usd"), "B"] == pytest.approx(0.0, abs=1e-9)
    verdict = c.verdict(1)
    assert verdict.endswith(f"; {sides}")
    assert c.judged("npv_mean_usd", 1) == (less_drawn == 59.0)  # coloured only beyond the dollar


def test_the_out_of_sample_verdict_of_the_stochastic_plan_by_hand():
    """formulation §7b, "Completion and out-of-sample check": the stochastic plan of
    tests/test_doc_cases_stochastic.py (100 GPUs sold in 2026Q2) against the forecast optimum on
    1,000 fresh scenarios of seed 29 (the differences worked there): mean NPV +19,298.74 with a
    paired standard error of 18,882.89, within two of them; CVaR5 +1,081,241.82 with an error of 0,
    beyond two and beyond $1: better; no debt, so P(breach), P(default) and P(any default) differ by
    0 with errors 0, neither better nor worse. One figure better and none worse: "better" in CVaR5
    alone, not "a trade", and the advice is to commit to its first stage."""
    s = solved_stochastic(data_of(stoch_model()), mip_gap=1e-6, out_of_sample=1000, backend="numpy")
    paired = s["out_of_sample"]["paired"]
    assert abs(paired["npv_mean_usd_diff"]) < 2 * paired["npv_mean_usd_diff_se"]
    verdict = out_of_sample_verdict(paired, 2)
    assert verdict == "better than the forecast optimum in CVaR5, beyond 2 standard errors"
    assert out_of_sample_advice(paired, 2).endswith(
        "the stochastic plan does better: commit to its first stage"
    )


@pytest.mark.parametrize(
    ("scenarios", "lead", "error", "need"),
    [
        (50, 36.4e3, 2.59e6, 1_000_000),
        (100, 1_990.0, 1_000.0, 101),
        (100, 1_900.0, 1_000.0, 110),
        (20, 1e3, 900.0, 65),
    ],
)
def test_the_scenarios_that_would_tell_the_sweep_s_pick_from_its_runner_up(scenarios, lead, error, need):
    """docs/evaluation.md, "How sure the pick is": S x (2 x error / lead)^2, rounded up, to two
    figures, at least S + 1. 50 x (5.18M / 36.4k)^2 = 1,012,573.96: 1,000,000 (the docs' tiny
    example); 100 x (2,000 / 1,990)^2 = 101.01, rounded up 102, two figures 100, but at least 101;
    100 x (2,000 / 1,900)^2 = 110.80: 110; 20 x 1.8^2 = 64.8: 65. The sweep's sentence names it."""
    got = scenarios_to_tell(scenarios, Lead("B", lead, error))
    assert got == need
    words = lead_words(Lead("B", lead, error), "cvar5", scenarios, -1.0e6, others=True)
    assert (
        f"these scenarios do not tell the two apart (about {need:,} would, were the lead as measured)"
        in words
    )
