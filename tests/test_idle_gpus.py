"""Policy rule 5, `idle_gpus_to_market` (docs/evaluation.md): GPUs a plan holds installed but not
in service serve the demand its market GPUs leave in a scenario, within the MW its sites have
online beyond the planned draw, at full draw and the scenario's price.

The instance: one site (PUE 1, electricity $100/MWh), SKU A (1 kW, idle draw 20 %, no opex, $1 a
GPU-hour on either market, 2,190 hours a quarter), 200 GPUs installed before the horizon and
configured for training; the plan keeps 100 of them on the training market, whose forecast demand
is 100 GPUs, and holds the other 100 idle. Its planned draw is 100 x 1 kW + 100 x 0.2 kW = 0.12 MW;
a GPU put to work adds 0.8 kW, $175.20 of electricity a quarter (0.0008 MW x 2,190 h x $100), and
earns $2,190. The scenario's training demand is 180 GPUs every quarter: 80 above what the plan
serves. NumPy and the C build of the kernel (its plain and GPU code paths) give the same figures.
"""

from __future__ import annotations

import numpy as np
import pytest
from evaluate_builders import batch
from milp_builders import HOURS, base_model, data_of
from test_policy import BACKENDS

from fleetopt.core.plan import Plan
from fleetopt.evaluate.kernel.cpu import CpuKernel, cpu_kernel
from fleetopt.evaluate.result_fields import RESULT_FIELDS
from fleetopt.evaluate.scenarios import deterministic_scenarios
from fleetopt.evaluate.simulate import SimulationConstants, simulate
from fleetopt.schema.policy import Policy

pytestmark = pytest.mark.filterwarnings("ignore:.*cannot run it all")

ON = Policy(idle_gpus_to_market=True)
OFF = Policy()
GPU_QUARTER = 1.0 * HOURS  # USD a GPU earns on the market in a quarter
EXTRA_KW = 0.8  # a GPU put to work draws 1 kW instead of 0.2 kW
EXTRA_BILL = EXTRA_KW / 1000.0 * HOURS * 100.0  # $175.20 a quarter
PLANNED_BILL = 0.12 * HOURS * 100.0  # the plan's own draw, $26,280 a quarter


def model(capacity_mw: float = 1.0, sku_overrides: dict | None = None) -> dict:
    d = base_model()
    d["skus"]["A"].update(available_from="2025Q1", idle_power_fraction=0.2, **(sku_overrides or {}))
    d["sites"]["s1"].update(power_capacity_mw=capacity_mw, electricity_price_usd_per_mwh=100.0)
    d["fleet"] = [{"sku": "A", "site": "s1", "purchased": "2025Q4", "gpus": 200, "use": "training",
                   "capex_per_gpu_usd": 4000.0}]  # fmt: skip
    d["market"]["demand_gpus"] = {"training": 100.0, "inference": 0.0}
    return d


def plan_of(data) -> Plan:
    """All 200 held for training, 100 of them in service on the training market."""
    p = Plan.empty(data)
    p.held_training[0, :] = 200.0
    p.active[0, 0, 0, :] = 100.0
    return p


def run(data, plan: Plan, policy: Policy, demand: float = 180.0, kernel: bool = False,
        gpu_code: bool = False) -> dict:
    """Quarterly EBITDA and the results of the NumPy simulation, on the forecast with ``demand``
    training GPUs every quarter; with ``kernel``, the C build must agree on every result."""
    consts = SimulationConstants.from_data(data).with_policy(policy)
    scen = deterministic_scenarios(data, 1)
    scen.factors["demand"][0, 0, :] = demand
    plans = batch(data, [plan])
    out = simulate(consts, plans, scen, record=("ebitda_usd",))
    if kernel:
        got = (_gpu_code() if gpu_code else cpu_kernel(threads=1)).simulate(consts, plans, scen)
        for field in RESULT_FIELDS:
            np.testing.assert_allclose(got[field], out[field], rtol=1e-12, atol=1e-6, err_msg=field)
    return out


_GPU_CODE: list = []


def _gpu_code() -> CpuKernel:
    """The C build with the GPU's code paths (FO_GPU_CODE), built once."""
    if not _GPU_CODE:
        _GPU_CODE.append(CpuKernel(threads=1, gpu_code=True))
    return _GPU_CODE[0]


KERNELS = [*BACKENDS, pytest.param("gpu-code", id="cpu-kernel-gpu-code", marks=BACKENDS[1].marks)]


def _run(data, plan, policy, kernel, **kw):
    return run(data, plan, policy, kernel=bool(kernel), gpu_code=kernel == "gpu-code", **kw)


@pytest.mark.parametrize("kernel", KERNELS)
def test_idle_gpus_serve_a_demand_spike_at_full_draw(kernel):
    """Demand 180 against 100 served: 80 of the 100 idle GPUs go to work (0.064 MW of the 0.88 MW
    left), each earning $2,190 less $175.20 of electricity: EBITDA 180 x 2,190 - 26,280 - 80 x 175.20."""
    data = data_of(model())
    out = _run(data, plan_of(data), ON, kernel)
    ebitda = 180 * GPU_QUARTER - PLANNED_BILL - 80 * EXTRA_BILL
    np.testing.assert_allclose(out["ebitda_usd"][0, 0], [ebitda] * 4, rtol=1e-12)
    np.testing.assert_allclose(out["demand_served"][0, 0], 4 * 180.0, rtol=1e-12)
    np.testing.assert_allclose(out["utilisation"][0, 0], 180 / 200, rtol=1e-12)
    # off: the idle GPUs stand idle, the plan serves its 100
    off = _run(data, plan_of(data), OFF, kernel)
    np.testing.assert_allclose(off["ebitda_usd"][0, 0], [100 * GPU_QUARTER - PLANNED_BILL] * 4, rtol=1e-12)
    np.testing.assert_allclose(off["demand_served"][0, 0], 4 * 100.0, rtol=1e-12)


@pytest.mark.parametrize("kernel", KERNELS)
def test_the_sites_mw_left_bound_the_idle_gpus_put_to_work(kernel):
    """0.15 MW online: 0.03 MW beyond the planned 0.12 MW, room for 0.03 / 0.0008 = 37.5 GPUs."""
    data = data_of(model(capacity_mw=0.15))
    out = _run(data, plan_of(data), ON, kernel)
    ebitda = 137.5 * GPU_QUARTER - PLANNED_BILL - 37.5 * EXTRA_BILL
    np.testing.assert_allclose(out["ebitda_usd"][0, 0], [ebitda] * 4, rtol=1e-12)
    np.testing.assert_allclose(out["demand_served"][0, 0], 4 * 137.5, rtol=1e-12)


@pytest.mark.parametrize("kernel", KERNELS)
def test_without_demand_beyond_the_plans_nothing_changes(kernel):
    """Demand 100, all of it served by the plan's market GPUs: the rule changes no figure."""
    data = data_of(model())
    on = _run(data, plan_of(data), ON, kernel, demand=100.0)
    off = _run(data, plan_of(data), OFF, kernel, demand=100.0)
    for field in (*RESULT_FIELDS, "ebitda_usd"):
        np.testing.assert_array_equal(on[field], off[field], err_msg=field)


@pytest.mark.parametrize("kernel", KERNELS)
def test_a_generation_not_eligible_for_its_use_is_not_offered(kernel):
    """SKU A eligible for training only in its first quarter on sale (2025Q1, before the horizon):
    its 100 idle training GPUs may not serve the training demand of 180, so nothing changes. The
    plan's other 100 are held for inference and in service there (no inference demand)."""
    d = model(sku_overrides={"training_eligibility": {"quarters_after_release": 1}})
    data = data_of(d)
    plan = Plan.empty(data)
    plan.held_training[0, :], plan.held_inference[0, :] = 100.0, 100.0
    plan.active[1, 0, 0, :] = 100.0
    on, off = _run(data, plan, ON, kernel), _run(data, plan, OFF, kernel)
    np.testing.assert_array_equal(on["ebitda_usd"], off["ebitda_usd"])
    np.testing.assert_array_equal(on["demand_served"], off["demand_served"])


@pytest.mark.parametrize("kernel", KERNELS)
def test_gpus_of_a_generation_the_policy_takes_out_are_not_offered(kernel):
    """No cash and $1B of overhead a quarter: after quarter 0 the distress sale sells the plan's 100
    market GPUs (lots of 10), which is not enough (a default). From quarter 1 the generation has GPUs
    taken out, so its idle GPUs are not offered: the rule serves 180 in quarter 0 and nothing after
    (had they been offered, the 100 idle GPUs would have served 100 a quarter against demand 180)."""
    d = model()
    d["finance"].update(opening_cash_usd=0.0, overhead_usd_per_quarter=1.0e9, default_cash_usd=0.0)
    d["policy"] = {"sale_block_gpus": 10}
    data = data_of(d)
    policy = data.policy.model_copy(update={"idle_gpus_to_market": True})
    on = _run(data, plan_of(data), policy, kernel)
    assert on["sold"][0, 0] and on["default"][0, 0]
    np.testing.assert_allclose(on["demand_served"][0, 0], 180.0, rtol=1e-12)
    off = _run(data, plan_of(data), data.policy, kernel)
    np.testing.assert_allclose(off["demand_served"][0, 0], 100.0, rtol=1e-12)
