"""Customer concentration over a horizon that is not whole years (docs/formulation.md §5.12: "the
last year shorter where the horizon is not whole years"), worked by hand on tests/milp_builders.py's
``base_model`` (no discounting, no tax, $4,000 GPUs worth 0 after a year, of which a sale or the end
keeps half; $1 an hour billed every hour, 2,190 h a quarter).

Six quarters, so the years are 2026Q1..2026Q4 and 2027Q1..2027Q2. An inference demand of 40 GPUs at
$1/h, 87,600 a quarter, served every quarter, and an offer of customer "big": 60 GPUs at $2/h for
2027Q1-Q2, 2 x 60 x 2 x 2,190 = 525,600 for 60 GPUs bought in 2027Q1 (240,000, worth 60 x 0.5 x
4,000 x 0.5 = 60,000 at the end: it pays). Taken, big holds 525,600 / (525,600 + 2 x 87,600) = 75 %
of the last (two-quarter) year's revenue and 525,600 / (525,600 + 6 x 87,600) = 50 % of the
horizon's: taken under a yearly limit of 80 % or a horizon's limit of 51 %, declined under a yearly
limit of 70 % (the market can add no revenue beyond its demand). Were the last year four quarters
long it would hold 60 % of it, within 70 %; were it not counted, nothing would limit it.
"""

from __future__ import annotations

import pytest
from milp_builders import base_model, data_of

from fleetopt.milp.solve import solve


@pytest.mark.parametrize(
    ("limits", "accepted"),
    [({"max_customer_revenue_share": 0.51}, 1.0), ({"max_customer_revenue_share_per_year": 0.8}, 1.0),
     ({"max_customer_revenue_share_per_year": 0.7}, 0.0)],
)  # fmt: skip
def test_the_last_short_year_holds_the_customer_to_its_share(limits, accepted):
    d = base_model()
    d["horizon"]["quarters"] = 6
    d["market"]["demand_gpus"] = {"training": 0.0, "inference": 40.0}
    d["contracts"] = {"big-deal": {"customer": "big", "use": "inference", "eligible_skus": ["A"], "gpus": 60,
                                   "price_usd_per_gpu_hour": 2.0, "start": "2027Q1", "term_quarters": 2,
                                   "signed": False}}  # fmt: skip
    d["limits"] = limits
    result = solve(data_of(d), mip_gap=0.0)
    assert result.plan.accepted.tolist() == [accepted]
    lines = result.statements.lines
    assert float(lines["revenue_contract_big-deal_usd"][4:].sum()) == pytest.approx(525_600.0 * accepted)
    assert float(lines["revenue_usd"][4:].sum()) == pytest.approx(525_600.0 * accepted + 2 * 87_600.0)
