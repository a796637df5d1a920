"""The risk factors are declared once (fleetopt/evaluate/factors.py) and everything else follows.

ScenarioSet, the deterministic copy of the forecast, generated scenarios, the time-major rows
and the kernel's parameter list all hold exactly the declared factors, in the declared shape,
dtype and order; random streams of different sources never coincide.
"""

from __future__ import annotations

import pickle
import re

import numpy as np
import pytest
from evaluate_builders import ALL_RISK, MODELS, with_risk
from milp_builders import data_of

from fleetopt.evaluate.factors import FACTOR_NAMES, FACTORS, Stream, normals, uniforms
from fleetopt.evaluate.kernel.arguments import KERNEL_ARGUMENTS, kernel_arguments
from fleetopt.evaluate.kernel.source import c_prelude, kernel_source
from fleetopt.evaluate.layout import ScenarioRows
from fleetopt.evaluate.scenarios import ScenarioSet, deterministic_scenarios, generate_scenarios


@pytest.fixture(scope="module")
def data():
    return data_of(with_risk(MODELS["two_sites"](), **ALL_RISK))


def test_generated_and_deterministic_scenarios_hold_every_factor_in_its_declared_shape(data):
    for scen in (generate_scenarios(data, 7, 3, 13), deterministic_scenarios(data, 10)):
        assert list(scen.factors) == list(FACTOR_NAMES)
        assert scen.S == 10
        for f in FACTORS:
            values = getattr(scen, f.name)
            assert values is scen.factors[f.name]
            assert values.shape == (10, *f.shape(data)), f.name
            assert values.dtype == f.dtype, f.name


def test_deterministic_scenarios_are_the_neutral_values(data):
    scen = deterministic_scenarios(data, 3)
    assert np.all(scen.price_factor == 1.0) and np.all(scen.contract_alive)
    np.testing.assert_array_equal(scen.demand[2], data.demand)
    assert not scen.delay.any() and not scen.rate_shift.any()
    assert np.all(scen.electricity_factor == 1.0) and np.all(scen.resale_factor == 1.0)


def test_a_factor_left_at_zero_risk_is_neutral():
    data = data_of(MODELS["two_sites"]())  # no risk block
    drawn, neutral = generate_scenarios(data, 3, 0, 5), deterministic_scenarios(data, 5)
    for name in FACTOR_NAMES:
        np.testing.assert_array_equal(drawn.factors[name], neutral.factors[name], err_msg=name)


def test_a_scenario_set_takes_exactly_the_declared_factors(data):
    arrays = deterministic_scenarios(data, 2).arrays()
    with pytest.raises(TypeError, match="rate_shift"):
        ScenarioSet(**{k: v for k, v in arrays.items() if k != "rate_shift"})
    with pytest.raises(TypeError):
        ScenarioSet(**arrays, volcano=np.zeros(2))
    with pytest.raises(AttributeError):
        _ = ScenarioSet(**arrays).volcano


def test_rows_concatenate_and_pickle_keep_every_factor(data):
    scen = generate_scenarios(data, 2, 0, 12)
    again = ScenarioSet.concatenate([scen.rows(slice(0, 5)), scen.rows(slice(5, 12))])
    copy = pickle.loads(pickle.dumps(scen))
    for name, values in scen.arrays().items():
        np.testing.assert_array_equal(again.arrays()[name], values, err_msg=name)
        np.testing.assert_array_equal(copy.arrays()[name], values, err_msg=name)


def test_scenario_rows_are_each_factor_time_major(data):
    scen = generate_scenarios(data, 2, 0, 6)
    rows = ScenarioRows(scen, np)
    for f in FACTORS:
        laid_out = getattr(rows, f.name)
        assert laid_out.flags.c_contiguous and laid_out.dtype == f.dtype
        np.testing.assert_array_equal(laid_out, np.moveaxis(scen.factors[f.name], 0, -1), err_msg=f.name)


def test_streams_of_different_sources_or_sub_indices_never_coincide():
    # with streams numbered source * 1000 + j, customer 1000 drew the first site's power delays
    idx = np.arange(50)
    draws = [
        uniforms(0, idx, (Stream.CUSTOMER, 1000), 8),
        uniforms(0, idx, (Stream.DELAY_LATE, 0), 8),
        uniforms(0, idx, (Stream.CUSTOMER, 0), 8),
        uniforms(0, idx, (Stream.DEMAND, 1), 8),
        uniforms(0, idx, (Stream.PRICE, 0), 8),
        uniforms(1, idx, (Stream.PRICE, 0), 8),
    ]
    for a in range(len(draws)):
        for b in range(a):
            assert not np.any(draws[a] == draws[b]), (a, b)
    z = normals(0, idx, (Stream.PRICE, 0), 2000)
    assert abs(z.mean()) < 0.02 and abs(z.std() - 1.0) < 0.02


def test_kernel_parameters_come_from_the_declaration_only(data):
    from evaluate_builders import batch, solved

    from fleetopt.evaluate.kernel.scenario_arguments import SCENARIO_FORMS
    from fleetopt.evaluate.kernel.shape import KernelShape
    from fleetopt.evaluate.simulate import SimulationConstants

    names = [a.name for a in KERNEL_ARGUMENTS]
    assert len(set(names)) == len(names)
    # every factor the kernel reads is a scenario parameter, under its own name or the form the kernel
    # reads it in; a delivery slip is not: it changes the plans a scenario runs (evaluate/slip.py)
    scenario_block = [a.name for a in KERNEL_ARGUMENTS if a.kind == "scenario"]
    read = [f.name for f in FACTORS if f.kernel]
    assert read == [f for f in FACTOR_NAMES if f != "delivery_slip"]
    assert scenario_block == [SCENARIO_FORMS[f][0] if f in SCENARIO_FORMS else f for f in read]
    shape = KernelShape.of(SimulationConstants.from_data(data), batch(data, [solved("two_sites").plan]))
    prelude = c_prelude(shape)
    params = re.search(r"#define FO_PARAMS \\\n(.*?)\n#define", prelude, re.S).group(1)
    declared = [p.strip().rstrip(" ,\\") for p in params.splitlines()]
    assert declared == [
        f"{a.c_type} FO_RESTRICT {a.name}" if a.c_type.endswith("*") else f"{a.c_type} {a.name}"
        for a in KERNEL_ARGUMENTS
    ]
    assert f"#define FO_T {data.T}\n" in prelude and f"#define FO_I {data.I}\n" in prelude
    source = kernel_source(shape)
    assert source.startswith(prelude)
    body = source[len(prelude) :]
    # kernel.cu declares no parameter list of its own: every function takes the generated one
    assert "fleetopt_evaluate(FO_PARAMS)" in body
    assert "FO_DEVICE void fo_quarter(FO_PARAMS, long long p" in body
    assert "const double* price" not in body


def test_kernel_arguments_follow_the_declared_c_types(data):
    from evaluate_builders import batch, solved

    from fleetopt.evaluate.kernel.arguments import check_arguments, output_arrays
    from fleetopt.evaluate.simulate import SimulationConstants

    plans = batch(data, [solved("two_sites").plan])
    scen = generate_scenarios(data, 1, 0, 4)
    outputs = output_arrays(plans.P, scen.S, np)  # the results', then the present cost's (one value: off)
    args = kernel_arguments(SimulationConstants.from_data(data), plans, scen, np, outputs)
    check_arguments(args)
    expected = {"long long": np.int64, "int": np.int32, "double": np.float64}
    pointers = {"const int*": np.int32, "const unsigned long long*": np.uint64}
    for declared, value in zip(KERNEL_ARGUMENTS, args, strict=True):
        if declared.c_type in expected:
            assert type(value) is expected[declared.c_type], declared.name
        else:
            want = pointers.get(declared.c_type, np.float64)
            assert value.dtype == want and value.flags.c_contiguous, declared.name
    assert args[-len(outputs) :] == list(outputs.values())
    args[3] = args[3].astype(np.float32)
    with pytest.raises(TypeError, match=KERNEL_ARGUMENTS[3].name):
        check_arguments(args)


def test_the_skus_a_slip_delays_are_those_validate_does_not_say_never_slip():
    """One rule for both: of three SKUs named, C (on sale from the first quarter, installed in fleet)
    never slips, and loading the model says so; A and B (on sale from 2026Q2) are the ones evaluated late."""
    from milp_builders import base_model, sku

    from fleetopt.errors import FleetoptWarning
    from fleetopt.evaluate.factors import slipping_skus

    d = base_model()
    d["skus"] = {"A": sku(available_from="2026Q2"), "B": sku(available_from="2026Q2"), "C": sku()}
    d["fleet"] = [{"sku": "C", "site": "s1", "purchased": "2026Q1", "gpus": 1, "use": "inference",
                   "capex_per_gpu_usd": 4000.0}]  # fmt: skip
    d["risk"] = {"delivery_slip": {"probability": 1.0, "max_quarters": 1, "skus": ["C", "B", "A"]}}
    with pytest.warns(FleetoptWarning, match=r"risk.delivery_slip.skus.0: C never slips") as said:
        data = data_of(d)
    assert [data.sku_names[s] for s in slipping_skus(data)] == ["A", "B"]
    assert ["never slips" in str(w.message) for w in said] == [True]
