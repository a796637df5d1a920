"""The DSCR on cash flow available for debt service (`finance.covenants.dscr_cash_flow:
ebitda_less_tax`): EBITDA less the quarter's tax over debt service, worked by hand through the
statements, the evaluator (NumPy and the kernel's C build), the MILP and its diagnosis.

The instance is tests/test_covenants.py's, with flat prices and a 25 % tax: 100 installed GPUs earn
EBITDA of 219,000 USD a quarter; a $4M loan at 2 % a quarter repaid over 40 quarters charges
interest of 80,000, 78,000, 76,000 and 74,000 USD, so debt service is 180,000, 178,000, 176,000 and
174,000 USD. The GPUs depreciate 100,000 USD a quarter in quarters 0-2 and nothing in quarter 3, so
pre-tax income is 39,000, 41,000, 43,000 and 145,000 USD and the tax 9,750, 10,250, 10,750 and
36,250 USD. EBITDA / debt service is 1.217, 1.230, 1.244 and 1.259; (EBITDA - tax) / debt service
is 209,250 / 180,000 = 1.163, 1.173, 1.183 and 182,750 / 174,000 = 1.050. Against a 1.1x minimum
from quarter 0, EBITDA meets it in every quarter; EBITDA less tax misses it in quarter 3 alone.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from conftest import run_cli, squashed
from evaluate_builders import ALL_RISK, batch, plan_variants, tiny_model, with_risk
from milp_builders import data_of
from test_covenants import INTEREST, coverage_model, keep_everything, prepay_model, solved_tiny
from test_kernel_cpu import assert_agree

from fleetopt.core.covenants import CATALOGUE, kind_bit
from fleetopt.core.economics.statements import plan_statements
from fleetopt.core.results.covenant_words import covenant_headroom
from fleetopt.core.results.shocks import shocked_cash
from fleetopt.errors import FleetoptWarning
from fleetopt.evaluate.kernel.cpu import CpuKernel
from fleetopt.evaluate.scenarios import deterministic_scenarios, generate_scenarios
from fleetopt.evaluate.simulate import SimulationConstants, simulate
from fleetopt.milp.solve import InfeasibleModel, solve
from fleetopt.schema.issues import ModelError
from fleetopt.schema.risk import Robustness

FLAT = np.full(4, 219_000.0)
SERVICE = INTEREST + 100_000.0
TAX = np.array([9_750.0, 10_250.0, 10_750.0, 36_250.0])
DSCR = next(kind for kind in CATALOGUE if kind.name == "dscr")


def cfads_model(flow: str | None, threshold: float = 1.1, period: str = "quarter", milp: bool = False):
    """The instance above (``milp``: as tests/test_covenants.py's prepay_model, no GPU on sale and a
    50 % discount rate); ``flow`` None leaves `dscr_cash_flow` out."""
    d = prepay_model("quarter") if milp else coverage_model()
    d["market"]["price_usd_per_gpu_hour"]["inference"] = {"all": [1.0] * 4}
    d["finance"]["tax_rate"] = 0.25
    d["finance"]["covenants"] = {"test_from": "2026Q1", "ebitda_period": period, "min_dscr": threshold}
    if flow is not None:
        d["finance"]["covenants"]["dscr_cash_flow"] = flow
    return d


def test_the_statements_dscr_line_divides_ebitda_less_tax():
    data = data_of(cfads_model("ebitda_less_tax"))
    lines = plan_statements(data, keep_everything(data)).lines
    np.testing.assert_allclose(lines["ebitda_usd"], FLAT)
    np.testing.assert_allclose(lines["tax_usd"], TAX)
    np.testing.assert_allclose(lines["debt_service_usd"], SERVICE)
    np.testing.assert_allclose(lines["dscr"], (FLAT - TAX) / SERVICE, rtol=1e-12)
    assert lines["dscr"][3] == pytest.approx(1.0503, abs=1e-4)
    # on EBITDA (the default) the same plan's line is EBITDA / debt service
    default = data_of(cfads_model(None))
    lines = plan_statements(default, keep_everything(default)).lines
    np.testing.assert_allclose(lines["dscr"], FLAT / SERVICE)


def test_the_headroom_and_the_words_name_ebitda_less_tax():
    data = data_of(cfads_model("ebitda_less_tax"))
    [test] = data.covenants
    assert test.describe() == "(EBITDA - tax) / debt service >= 1.1x"
    room = covenant_headroom(data, plan_statements(data, keep_everything(data)))["dscr"]
    assert room == pytest.approx(182_750.0 / 174_000.0 / 1.1 - 1.0)
    assert test.cushion_words(room).startswith("breached (EBITDA less tax ")
    assert covenant_headroom(data_of(cfads_model(None)), plan_statements(data, keep_everything(data)))[
        "dscr"
    ] == pytest.approx(219_000.0 / 180_000.0 / 1.1 - 1.0)


def forecast(data, kernel):
    sim = kernel.simulate if kernel is not None else simulate
    plans_b, scen = batch(data, [keep_everything(data)]), deterministic_scenarios(data)
    return sim(SimulationConstants.from_data(data), plans_b, scen)


@pytest.mark.parametrize("on", ["numpy", "cpu-kernel"])
def test_the_evaluator_breaches_in_the_quarter_ebitda_less_tax_misses(on, request):
    """Quarter 3 breaches on EBITDA less tax (1.050 < 1.1), as the first breach, of the DSCR; on
    EBITDA nothing breaches; on the trailing four quarters' averages, (209,250 + 208,750 + 208,250
    + 182,750) / 4 = 202,250 over 177,000 = 1.143, nothing either."""
    kernel = request.getfixturevalue("cpu_kernel") if on == "cpu-kernel" else None
    got = forecast(data_of(cfads_model("ebitda_less_tax")), kernel)
    assert bool(got["breach"][0, 0])
    assert got["first_breach"][0, 0] == kind_bit(DSCR)
    assert got["quarters_before_breach"][0, 0] == 3
    assert not forecast(data_of(cfads_model("ebitda")), kernel)["breach"][0, 0]
    assert not forecast(data_of(cfads_model("ebitda_less_tax", period="trailing_four_quarters")), kernel)[
        "breach"
    ][0, 0]
    # the trailing average breaches a minimum above it: 1.15x
    trailing = data_of(cfads_model("ebitda_less_tax", threshold=1.15, period="trailing_four_quarters"))
    assert forecast(trailing, kernel)["quarters_before_breach"][0, 0] == 3


@pytest.mark.parametrize("gpu_code", [False, True], ids=["c-build", "gpu-code"])
@pytest.mark.parametrize("period", ["quarter", "trailing_four_quarters"])
def test_the_kernel_tests_ebitda_less_tax_as_the_numpy_simulation_does(cpu_kernel, period, gpu_code):
    """The tiny model's DSCR on EBITDA less tax, on its risky futures with every risk factor on: the
    kernel's C build and its GPU code paths agree with NumPy pair by pair, every result."""
    d = with_risk(tiny_model(), **ALL_RISK)
    d["finance"]["covenants"].update(ebitda_period=period, dscr_cash_flow="ebitda_less_tax")
    data = data_of(d)
    plans, labels = plan_variants(data, solved_tiny(data).plan)
    kernel = CpuKernel(threads=1, gpu_code=True) if gpu_code else cpu_kernel
    want = assert_agree(SimulationConstants.from_data(data), batch(data, plans, labels),
                        generate_scenarios(data, 11, 0, 300), kernel)  # fmt: skip
    assert 0 < want["breach"][0].mean() < 1
    assert (want["first_breach"][0] == kind_bit(DSCR)).any()


@pytest.mark.parametrize("on", ["numpy", "cpu-kernel"])
def test_the_default_cash_flow_is_ebitda_to_the_bit(on, request):
    """`dscr_cash_flow: ebitda` given or left out: the same ratio line and the same simulation."""
    d = tiny_model()
    given = data_of({**d, "finance": {**d["finance"], "covenants": {**d["finance"]["covenants"],
                                                                    "dscr_cash_flow": "ebitda"}}})
    left_out = data_of(d)
    plan = solved_tiny(left_out).plan
    lines = [plan_statements(one, plan).lines["dscr"] for one in (given, left_out)]
    np.testing.assert_array_equal(*lines)
    sim = request.getfixturevalue("cpu_kernel").simulate if on == "cpu-kernel" else simulate
    scen = generate_scenarios(left_out, 11, 0, 100)
    a = sim(SimulationConstants.from_data(given), batch(given, [plan]), scen)
    b = sim(SimulationConstants.from_data(left_out), batch(left_out, [plan]), scen)
    for name in ("npv", "breach", "first_breach", "quarters_before_breach"):
        np.testing.assert_array_equal(a[name], b[name], err_msg=name)


def test_the_milp_repays_early_exactly_enough_for_ebitda_less_tax():
    """With a 50 % discount rate the MILP repays only what a covenant makes it. On EBITDA the 1.1x
    minimum holds as planned: nothing repaid early. On EBITDA less tax quarter 3 needs
    219,000 - 0.25 (219,000 - I) >= 1.1 (I + 100,000), I the interest of quarter 3: 0.85 I <=
    54,250, I <= 63,823.53, a balance at the end of quarter 2 of at most 3,191,176.47 USD against
    3,700,000 scheduled: 508,823.53 USD repaid early in quarter 2 (lower interest raises the tax,
    which the 0.85 counts). The statements then meet it with equality."""
    assert solve(data_of(cfads_model("ebitda", milp=True)), mip_gap=1e-9).plan.prepay[0, :3] == pytest.approx(
        0.0, abs=1e-3
    )
    r = solve(data_of(cfads_model("ebitda_less_tax", milp=True)), mip_gap=1e-9)
    assert r.plan.prepay[0, 2] == pytest.approx(3_700_000.0 - 54_250.0 / 0.85 / 0.02, rel=1e-6)
    assert r.plan.prepay[0, :2] == pytest.approx(0.0, abs=1e-3)
    assert r.statements.lines["dscr"][3] == pytest.approx(1.1, rel=1e-6)


def test_a_plan_whose_statements_breach_what_the_milp_held_is_warned_of():
    """With tax losses carried forward the MILP's row on EBITDA less tax is a relaxation
    (formulation §5.11): the same instance repays nothing early and its statements miss quarter 3
    (182,750 / 174,000 = 1.050x against 1.1x). The solve says so, where its table alone wrote the
    headroom as "breached" among the other figures; without carry-forward it is exact: no warning."""
    d = cfads_model("ebitda_less_tax", milp=True)
    d["finance"]["tax_loss_carry_forward"] = True
    with pytest.warns(FleetoptWarning, match=r"statements breach a covenant the MILP held it to: "
                      r"\(EBITDA - tax\) / debt service 1\.05x in 2026Q4 \(minimum 1\.1x\) \(the DSCR on "
                      r"EBITDA less tax with tax losses carried forward is a relaxation"):  # fmt: skip
        r = solve(data_of(d), mip_gap=1e-9)
    assert r.statements.lines["dscr"][3] == pytest.approx(182_750.0 / 174_000.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", FleetoptWarning)
        solve(data_of(cfads_model("ebitda_less_tax", milp=True)), mip_gap=1e-9)


def test_a_quarter_no_plan_can_cover_is_diagnosed_as_the_dscr_on_ebitda_less_tax():
    """At 1.2x quarter 0's debt service is fixed (the opening balance's interest and instalment,
    180,000 USD) and so is its tax: EBITDA 219,000 >= 216,000 meets it, EBITDA less tax 209,250
    misses it by 6,750 USD, whatever the plan. The diagnosis names the DSCR on EBITDA less tax."""
    assert solve(data_of(cfads_model("ebitda", 1.2, milp=True)), mip_gap=1e-9).plan is not None
    with pytest.raises(InfeasibleModel) as err:
        solve(data_of(cfads_model("ebitda_less_tax", 1.2, milp=True)), mip_gap=1e-9)
    [group] = err.value.diagnosis
    assert group["group"] == "dscr_covenant"
    assert group["items"] == [("2026Q1", pytest.approx(6_750.0))]
    assert "the (EBITDA - tax) / debt service row" in group["note"]
    assert "there it reads EBITDA - tax >= 0" in group["note"]
    assert group["note"].endswith("edit finance.covenants.min_dscr or finance.covenants.dscr_cash_flow")


def test_the_shocked_dscr_takes_the_tax_of_the_shocked_income():
    """Market prices 50 % lower: EBITDA 109,500 a quarter; pre-tax income -70,500, -68,500, -66,500
    (no tax) and 35,500 (tax 8,875). The lowest shocked DSCR on EBITDA less tax is quarter 3's
    100,625 / 174,000 (on EBITDA: 109,500 / 180,000, quarter 0's)."""
    for flow, want in (("ebitda_less_tax", 100_625.0 / 174_000.0), ("ebitda", 109_500.0 / 180_000.0)):
        data = data_of(cfads_model(flow))
        plan = keep_everything(data)
        [case] = shocked_cash(data, plan, plan_statements(data, plan), Robustness(market_price_drop=0.5))
        assert case["lowest_dscr"] == pytest.approx(want, rel=1e-12), flow


def test_an_unknown_cash_flow_is_refused_naming_the_field():
    with pytest.raises(ModelError) as err:
        data_of(cfads_model("cfads"))
    assert "finance.covenants.dscr_cash_flow" in str(err.value)
    assert "'ebitda' or 'ebitda_less_tax'" in str(err.value)


def test_the_cli_refuses_an_unknown_cash_flow_by_its_field():
    code, _, err = run_cli("validate", "tiny", "--set", "finance.covenants.dscr_cash_flow=cfads")
    assert code != 0
    field = "finance.covenants.dscr_cash_flow"
    assert f"{field}: Input should be 'ebitda' or 'ebitda_less_tax' (got 'cfads')" in err


def test_the_robustness_copy_reads_the_shocked_income_less_its_own_tax():
    """`robustness` with prices 50 % lower and `covenants: true`, a 0.6x minimum: shocked EBITDA is
    109,500 a quarter, with no tax in quarters 0-2 (their shocked pre-tax income is negative) and
    0.25 (109,500 - I) in quarter 3, I its interest. On EBITDA, 109,500 >= 0.6 x 174,000 holds as
    planned; on EBITDA less tax quarter 3 needs 82,125 + 0.25 I >= 0.6 (I + 100,000), I <= 63,214.29:
    539,285.71 USD repaid early in quarter 2, after which the lowest shocked DSCR is 0.6x."""
    plans = {}
    for flow in ("ebitda", "ebitda_less_tax"):
        d = cfads_model(flow, 0.6, milp=True)
        d["robustness"] = {"market_price_drop": 0.5, "covenants": True}
        plans[flow] = solve(data_of(d), mip_gap=1e-9)
    assert plans["ebitda"].plan.prepay[0, :3] == pytest.approx(0.0, abs=1e-3)
    r = plans["ebitda_less_tax"]
    assert r.plan.prepay[0, 2] == pytest.approx(3_700_000.0 - 22_125.0 / 0.35 / 0.02, rel=1e-6)
    assert r.plan.prepay[0, :2] == pytest.approx(0.0, abs=1e-3)
    [case] = shocked_cash(r.data, r.plan, r.statements)
    assert case["lowest_dscr"] == pytest.approx(0.6, rel=1e-6)


def test_a_deterministic_evaluation_names_the_dscr_on_ebitda_less_tax(tmp_path):
    """The plan solved on EBITDA (nothing repaid early) run on the forecast and tested on EBITDA less
    tax: its first breach, in quarter 3 (2026Q4), breaks the DSCR, named by its cash flow."""
    import yaml

    model = tmp_path / "m.yaml"
    model.write_text(yaml.safe_dump(cfads_model("ebitda", milp=True), sort_keys=False))
    code, _, err = run_cli("solve", str(model), "--out", str(tmp_path / "run"), "--mip-gap", "1e-9")
    assert code == 0, err
    code, out, err = run_cli("evaluate", "--plans", str(tmp_path / "run"), "--deterministic",
                             "--set", "finance.covenants.dscr_cash_flow=ebitda_less_tax",
                             "--out", str(tmp_path / "eval"))  # fmt: skip
    assert code == 0, err
    # the cell folds over two lines at the tests' 120 columns: "yes: (EBITDA - tax) /", "debt service, .."
    assert squashed("yes: (EBITDA - tax) /") in squashed(out) and "debt service, in 2026Q4" in out


def test_the_report_names_the_lowest_dscr_by_its_cash_flow(tmp_path):
    """The solve's terminal table reads "lowest DSCR ((EBITDA - tax) / debt service)" for a model that
    tests the DSCR on EBITDA less tax; its report's key figure read "lowest DSCR on the forecast", the
    catalogue's EBITDA / debt service to a reader of the page alone. The MILP meets 1.1x exactly in
    quarter 3 (test_the_milp_repays_early_exactly_enough_for_ebitda_less_tax): 1.10x."""
    from html import unescape

    import yaml

    from fleetopt import api

    model = tmp_path / "m.yaml"
    model.write_text(yaml.safe_dump(cfads_model("ebitda_less_tax", milp=True), sort_keys=False))
    code, _, err = run_cli("solve", str(model), "--out", str(tmp_path / "run"), "--mip-gap", "1e-9")
    assert code == 0, err
    page = unescape(api.report(tmp_path / "run").read_text())
    assert "lowest DSCR ((EBITDA - tax) / debt service) on the forecast, quarters tested from 2026Q1" in page


def test_a_comparison_names_the_dscr_s_figures_by_its_cash_flow(tmp_path):
    """`fleetopt compare` of two plans of a model testing the DSCR on EBITDA less tax named its rows
    by the catalogue: "EBITDA / debt service covenant: the fall of EBITDA that breaches it" and
    "first breach breaks EBITDA / debt service", where evaluate and the report say "(EBITDA - tax) /
    debt service"; the cushion is a fall of EBITDA less tax. Its rows now name the DSCR as tested."""
    import yaml

    from fleetopt import api

    model = tmp_path / "m.yaml"
    model.write_text(yaml.safe_dump(cfads_model("ebitda_less_tax", milp=True), sort_keys=False))
    for name in ("a", "b"):
        code, _, err = run_cli("solve", str(model), "--out", str(tmp_path / name), "--mip-gap", "1e-9")
        assert code == 0, err
    names = [name for _, name, _ in api.compare([tmp_path / "a", tmp_path / "b"], scenarios=20).rows()]
    assert ("(EBITDA - tax) / debt service covenant: the fall of EBITDA less tax that breaches it, on the "
            "forecast (MILP statements)") in names  # fmt: skip
    assert "first breach breaks (EBITDA - tax) / debt service" in names
    assert not any("EBITDA / debt service" in name for name in names)
