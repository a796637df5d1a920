"""The infeasibility diagnosis (docs/formulation.md §8) names the cause of each broken model, the
numbers worked out by hand.

Every model is `milp_builders.base_model()` (one site of ample power, SKU A: hopper, 1-GPU blocks,
$4,000 and 1 kW a GPU, $1/GPU-hour markets, $1bn of cash, four quarters from 2026Q1) with one
thing broken."""

from __future__ import annotations

import pytest
from milp_builders import base_model, data_of

from fleetopt.milp.diagnose import diagnose, format_diagnosis


def contract(gpus: int, start: str, quarters: int, price: float = 1.0) -> dict:
    return {"customer": "c1", "use": "training", "eligible_skus": ["A"], "gpus": gpus, "start": start,
            "term_quarters": quarters, "price_usd_per_gpu_hour": price, "signed": True}  # fmt: skip


def test_a_contract_beyond_the_supplier_allocation_names_the_allocation():
    """100 hopper GPUs a quarter allocable; a signed contract for 500 from 2026Q3, two quarters.
    By 2026Q3 300 can be bought (2026Q1..2026Q3): the allocation is short by 200 GPUs there, and
    held, the contract is short by 200 GPUs in 2026Q3 and 100 in 2026Q4 (400 bought by then). Before,
    the allocation was never relaxed: the diagnosis named the contract alone, never why."""
    d = base_model()
    d["limits"] = {"new_gpus_per_quarter": {"hopper": 100}}
    d["contracts"] = {"big": contract(500, "2026Q3", 2)}
    found = diagnose(data_of(d))
    (entry,) = found
    assert entry["group"] == "allocation" and entry["quarters"] == ["2026Q3"]
    assert entry["items"] == [("hopper GPUs (A) in 2026Q3 (100 allocable)", pytest.approx(200.0))]
    assert "hopper GPUs needed by 2026Q3: 500, allocable 2026Q1..2026Q3: 300" in entry["note"]
    assert entry["note"].endswith("300 (limits.new_gpus_per_quarter.hopper)")
    (instead,) = found.otherwise
    assert instead["group"] == "contract_delivery"
    assert [amount for _, amount in instead["items"]] == pytest.approx([200.0, 100.0])
    said = "allocation in 2026Q3: hopper GPUs (A) in 2026Q3 (100 allocable) short by 200.0 GPUs"
    assert format_diagnosis(found)[0].startswith(said)
