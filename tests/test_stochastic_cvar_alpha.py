"""`--cvar-alpha` with no risk weight: the tail share then weighs nothing in the objective, only the
scenario reduction's strata (formulation §7, Scenarios), so the run warns once and its out-of-sample
table does not claim the solve optimised a CVaR."""

from __future__ import annotations

from conftest import run_cli


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
