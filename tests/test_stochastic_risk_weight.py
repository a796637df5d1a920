"""A stochastic solve's risk weight said as it is: `--cvar-alpha` without one weighs nothing in the
objective, only the scenario reduction's strata (formulation §7, Scenarios), so the run warns once and
its out-of-sample table claims no CVaR optimised; with one, RP is named the risk-weighted objective and
a plan doing worse is not advised to take a risk weight it had."""

from __future__ import annotations

from conftest import run_cli

from fleetopt.stochastic.paired import out_of_sample_advice
from fleetopt.stochastic.summary_words import measure_rows


def test_a_tail_share_without_a_risk_weight_is_warned_of_once_and_claims_no_cvar(tmp_path):
    code, out, err = run_cli("solve", "tiny", "--stochastic", "3", "--cvar-alpha", "0.2",
                             "--out", str(tmp_path / "a"))  # fmt: skip
    assert code == 0, err
    assert err.count("--cvar-alpha 0.2 with --risk-weight 0 optimises no CVaR") == 1
    assert "the solve optimised" not in out


def test_a_tail_share_with_a_risk_weight_is_what_the_solve_optimised(tmp_path):
    code, out, err = run_cli("solve", "tiny", "--stochastic", "3", "--cvar-alpha", "0.2", "--risk-weight",
                             "0.3", "--out", str(tmp_path / "b"))  # fmt: skip
    assert code == 0, err
    assert "optimises no CVaR" not in err
    assert "(the solve optimised CVaR20)" in out


def test_rp_under_a_risk_weight_is_named_the_risk_weighted_objective():
    """RP is (1 - L) E[V] + L CVaR(V) under --risk-weight L: the measures' table says so, where it called
    it "expected NPV less rescue penalties" whatever L (a CFO read $190.7M as the expected NPV, $241.2M)."""
    plain = dict(measure_rows({"settings": {"risk_weight": 0.0}}))["rp_usd"]
    weighted = dict(measure_rows({"settings": {"risk_weight": 0.5}}))["rp_usd"]
    assert "(expected NPV less rescue penalties; in sample" in plain
    assert "(risk-weighted: (1 - L) x expected value + L x CVaR of value, L = 0.5; in sample" in weighted


def test_a_solve_with_a_risk_weight_is_not_advised_to_give_one():
    """Where the plan does worse out of sample, the advice names the risk weight the solve had (it
    advised 'a risk weight on the worst futures (--risk-weight L)' to a solve run with L = 0.5)."""
    paired = {"npv_mean_usd_diff": -5.7e6, "npv_mean_usd_diff_se": 1e6,
              "npv_cvar_usd_diff": -19.3e6, "npv_cvar_usd_diff_se": 2e6}  # fmt: skip
    plain = out_of_sample_advice(paired, 10)
    weighted = out_of_sample_advice(paired, 10, weight=0.5)
    assert "or a risk weight on the worst futures (--risk-weight L)" in plain
    assert "or another risk weight than its L = 0.5 (--risk-weight L)" in weighted
