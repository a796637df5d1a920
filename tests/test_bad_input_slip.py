"""Bad input to `risk.delivery_slip` (the model file, `--set`, fleetopt.api.edit): refused naming the
field, never accepted to mean something else."""

from __future__ import annotations

import pytest
from conftest import run_cli

from fleetopt import api
from fleetopt.schema.loading import ModelError

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
