"""models/twosite.yaml, the bundled mid-size example: it validates without a word and solves, and
its plan keeps the rules the example is there to show (a Rubin rack installed a quarter after it is
bought, serving 60 % in its first quarter of service; the signed B200 contract served in full)."""

from __future__ import annotations

import csv
from collections import defaultdict

from conftest import run_cli


def test_twosite_validates_without_a_warning():
    code, out, err = run_cli("validate", "twosite")
    assert code == 0 and err == "", err
    assert "ok: " in out and "twosite.yaml is a valid model" in out


def test_twosite_solves_and_its_plan_keeps_install_ramp_and_contract(tmp_path):
    """VR200: on sale from 2027Q1, blocks of 72 GPUs, install_quarters 1, utilisation_ramp [0.6].
    GPUs bought in quarter t serve none in t and at most 0.6 of them in t + 1 (2,880 bought: at most
    1,728 in service). frontier-training (signed, B200 only, 2026Q3 for 6 quarters) is served with
    5,000 B200 in each of 2026Q3..2027Q4."""
    code, _, err = run_cli("solve", "twosite", "--out", str(tmp_path / "run"))
    assert code == 0, err
    rows = list(csv.DictReader((tmp_path / "run" / "plan.csv").open()))
    quarters = sorted({r["quarter"] for r in rows})
    bought, blocks, serving, served = defaultdict(float), defaultdict(float), defaultdict(float), {}
    for r in rows:
        if r["sku"] == "VR200" and r["decision"] == "buy_gpus":
            bought[r["quarter"]] += float(r["value"])
        if r["sku"] == "VR200" and r["decision"] == "buy":
            blocks[r["quarter"]] += float(r["value"])
        if r["sku"] == "VR200" and r["decision"] == "in_service":
            serving[r["quarter"]] += float(r["value"])
        if r["decision"] == "serve_contract" and r["item"] == "frontier-training":
            served[r["quarter"]] = served.get(r["quarter"], 0.0) + float(r["value"])
    assert sum(bought.values()) > 0, "the example's plan buys Rubin"
    assert min(bought) >= "2027Q1"
    for quarter, gpus in bought.items():
        assert gpus == 72 * blocks[quarter]
        if quarter == quarters[-1]:
            continue
        after = quarters[quarters.index(quarter) + 1]
        earlier = sum(g for q, g in bought.items() if q < quarter)  # in full service by then
        assert serving[quarter] <= earlier + 1e-6
        assert serving[after] <= earlier + 0.6 * gpus + 1e-6
    assert served == {q: 5000.0 for q in ("2026Q3", "2026Q4", "2027Q1", "2027Q2", "2027Q3", "2027Q4")}
