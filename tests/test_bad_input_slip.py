"""Bad input to `risk.delivery_slip` (the model file, `--set`, fleetopt.api.edit): refused naming the
field, never accepted to mean something else."""

from __future__ import annotations

import re
import warnings

import pytest
from conftest import run_cli

from fleetopt import api
from fleetopt.errors import FleetoptWarning
from fleetopt.schema.issues import ModelError

SLIP = "risk.delivery_slip"


def test_an_sku_named_twice_is_refused():
    """skus: [VR-NVL72, VR-NVL72] was accepted, and validate described the slip of 'SKUs not yet
    shipping (VR-NVL72, VR-NVL72)'; every other list of names in the format refuses a repeat."""
    with pytest.raises(ModelError, match=r"risk\.delivery_slip\.skus: 'B200' is listed twice"):
        api.edit("tiny", {SLIP: {"probability": 0.5, "max_quarters": 1, "skus": ["B200", "B200"]}})
    twice = f"{SLIP}={{probability: 0.5, max_quarters: 2, skus: [VR-NVL72, VR-NVL72]}}"
    code, out, err = run_cli("validate", "neocloud", "--set", twice)
    assert code == 2 and "Traceback" not in out + err
    assert "risk.delivery_slip.skus: 'VR-NVL72' is listed twice" in err


def test_an_sku_is_a_name():
    with pytest.raises(ModelError, match=r"risk\.delivery_slip\.skus\.0: 'a b' is not a name"):
        api.edit("tiny", {SLIP: {"probability": 0.5, "max_quarters": 1, "skus": ["a b"]}})


def test_a_risk_change_with_a_deterministic_evaluation_is_said_to_do_nothing(tmp_path):
    """evaluate --deterministic --set 'risk.delivery_slip={probability: 1, ...}' (a certain slip, as a
    what-if) printed the on-time figures beside 'changed for this run: risk.delivery_slip = ...', without
    a word: the forecast has every risk factor neutral. On scenarios the slip acts, and nothing is said."""
    late = api.edit("tiny", {"skus.B200.available_from": "2026Q4"})  # B200 not yet shipping
    folder = api.write_solve_run(api.solve(late), late, tmp_path / "solved")
    certain = api.edit(folder / "model.yaml", {SLIP: {"probability": 1, "max_quarters": 1}})
    said = ("risk.delivery_slip: changed for this run, but an evaluation with {} is of the forecast, where "
            "no risk factor acts: the change does nothing to its figures; evaluate without it, with {}, to "
            "see its effect")
    in_python = said.format("deterministic=True (--deterministic)", "scenarios=N (--scenarios N)")
    with pytest.warns(FleetoptWarning, match=f"^{re.escape(in_python)}$"):
        slipped, _, _ = api.evaluate(folder, certain, deterministic=True)
    slip = f"{SLIP}={{probability: 1, max_quarters: 1}}"
    code, _, err = run_cli("evaluate", "--plans", str(folder), "--deterministic", "--set", slip,
                           "--out", str(tmp_path / "e"))  # fmt: skip
    in_terminal = said.format("--deterministic", "--scenarios N")
    assert code == 0 and f"warning: {in_terminal}" in " ".join(err.split()), err
    on_time, _, _ = api.evaluate(folder, deterministic=True)
    assert slipped.metrics["npv_mean_usd"].tolist() == on_time.metrics["npv_mean_usd"].tolist()
    with warnings.catch_warnings():
        warnings.simplefilter("error", FleetoptWarning)
        result, _, _ = api.evaluate(folder, certain, scenarios=2)
    assert result.metrics["slipped_share"].tolist() == [1.0]


def test_validate_names_the_skus_that_slip_and_says_where_none_does():
    """On tiny (both SKUs on sale when its horizon starts) risk.delivery_slip slips nothing, and no
    warning says so where it names no SKUs; validate read 'deliveries of SKUs not yet shipping late
    50%, by 1 to 2 quarters', a risk the futures never draw. It now says no SKU slips there, and
    names the SKUs that do where some do (the default: every SKU not yet shipping)."""
    slip = f"{SLIP}={{probability: 0.5, max_quarters: 2}}"
    code, out, err = run_cli("validate", "tiny", "--set", slip)
    flat = " ".join(out.replace("│", " ").split())
    assert code == 0, err
    assert "no delivery slips: risk.delivery_slip moves no SKU of this model" in flat
    assert "deliveries of SKUs not yet shipping" not in flat
    code, out, err = run_cli("validate", "tiny", "--set", "skus.B200.available_from=2026Q4", "--set", slip)
    flat = " ".join(out.replace("│", " ").split())
    assert code == 0, err
    assert "deliveries of SKUs not yet shipping (B200) late (chance 50%, by 1 to 2 quarters)" in flat
    # an SKU first on sale after the horizon's last quarter (tiny's ends 2028Q2) never slips either
    code, out, err = run_cli("validate", "tiny", "--set", "skus.B200.available_from=2029Q1", "--set", slip)
    flat = " ".join(out.replace("│", " ").split())
    assert code == 0, err
    assert ("moves no SKU of this model (each it would slip is on sale when the horizon starts, installed, "
            "or first on sale after its last quarter)") in flat
