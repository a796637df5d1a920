"""`risk.delivery_slip`: an SKU not yet shipping ships late, and a signed plan's GPUs of it with it.

Hand-worked on a 6-quarter model (2026Q1-2027Q2) with no discounting, no tax and no risk besides
the slip: one SKU ``A`` on sale from 2026Q2 (quarter 1) at $4,000 a GPU ($3,600 from 2026Q3),
1 kW, no opex, a flat resale curve (a GPU keeps its price; selling or the terminal value loses
half of it); electricity $100/MWh, so a GPU in service draws 0.001 MW x 2,190 h x $100 = $219 a
quarter and earns $2,190 on the market ($1 an hour). The plan buys 100 GPUs in quarter 1 and rents
them out to the end. Each test runs on NumPy and on the C build of the kernel.
"""

from __future__ import annotations

import numpy as np
import pytest
from milp_builders import base_model, data_of, load, sku

from fleetopt.core.plan import Plan
from fleetopt.errors import FleetoptWarning
from fleetopt.evaluate.backend import c_compiler
from fleetopt.evaluate.batch import compile_plans
from fleetopt.evaluate.engine import evaluate

BACKENDS = [
    "numpy",
    pytest.param("cpu-kernel", marks=pytest.mark.skipif(c_compiler() is None, reason="no C compiler")),
]
CERTAIN = {"probability": 1.0, "min_quarters": 1, "max_quarters": 1}  # one quarter late, for sure
GPUS = 100
MARKET = GPUS * 2190.0 - GPUS * 219.0  # a quarter on the market, less electricity: 197,100


def model(slip: dict | None = None, contract: dict | None = None, other_sku: bool = False) -> dict:
    d = base_model()
    d["horizon"].update(quarters=6)
    d["skus"]["A"] = sku(
        available_from="2026Q2", capex_per_gpu_usd={"start": 4000.0, "steps": {"2026Q3": 3600.0}},
        useful_life_years=2.0, resale_fraction_by_age_years=[1.0, 1.0, 1.0],
    )  # fmt: skip
    if other_sku:
        d["skus"]["B"] = sku(available_from="2026Q2", generation="blackwell")
    d["sites"]["s1"]["electricity_price_usd_per_mwh"] = 100.0
    if contract is not None:
        d["contracts"] = {"anchor": contract}
    if slip is not None:
        d["risk"] = {"delivery_slip": slip}
    return d


def contract(allowance: int) -> dict:
    """100 GPUs of A from 2026Q2 for 4 quarters at $2 an hour (438,000 a quarter), due 2026Q2, late
    by at most ``allowance`` quarters ($10,000 each), else cancelled ($50,000)."""
    return {"customer": "c", "use": "training", "eligible_skus": ["A"], "gpus": GPUS, "start": "2026Q2",
            "term_quarters": 4, "price_usd_per_gpu_hour": 2.0, "signed": True,
            "delivery_deadline": "2026Q2", "cancellation_penalty_usd": 50000.0,
            "delay_allowance_quarters": allowance, "delay_penalty_usd_per_quarter": 10000.0}  # fmt: skip


def plan(data, served: bool = False) -> Plan:
    """100 GPUs of A bought in quarter 1 and in service to the end (serving the contract in quarters
    1-4 where ``served``)."""
    p = Plan.empty(data)
    cohort = next(c.index for c in data.cohorts if c.is_purchase and c.sku == 0 and c.bought == 1)
    p.buy_blocks[0, 0, 1] = GPUS
    p.held_training[cohort, 1:] = GPUS
    p.active[0, 0, 0, 1:] = GPUS
    if served:
        p.accepted[0] = 1.0
        p.contract_gpus[0, 0, 0, 1:5] = GPUS
    return p


def run(d: dict, backend: str, served: bool = False, n: int = 3):
    data = data_of(d)
    batch = compile_plans(data, [plan(data, served)], ["p"])
    return evaluate(data, batch, n, 0, backend=backend, keep_matrix=True)


def cash_changes(d: dict, served: bool = False) -> np.ndarray:
    """The plan's change in cash in each quarter of scenario 0 (NumPy: quarterly lines)."""
    data = data_of(d)
    batch = compile_plans(data, [plan(data, served)], ["p"])
    cash = evaluate(data, batch, 1, 0, backend="numpy", record=("cash_usd",)).paths["cash_usd"][0, 0]
    return np.diff(np.concatenate([[1.0e9], cash]))


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_plan_slipped_a_quarter_earns_draws_and_pays_a_quarter_later(backend):
    """On time: -400,000 + 197,100 in quarter 1, then 197,100 a quarter, and the GPUs' terminal value
    100 x $4,000 x 0.5 = 200,000: NPV 785,500. One quarter late: nothing in quarter 1 (no revenue,
    no power), the signed $4,000 a GPU paid on delivery in quarter 2 (not that quarter's $3,600),
    then 197,100 a quarter; the GPUs are the cohort delivered in quarter 2, worth its $3,600 price:
    terminal value 180,000. NPV -202,900 + 3 x 197,100 + 180,000 = 568,400."""
    on_time, late = run(model(), backend), run(model(CERTAIN), backend)
    np.testing.assert_allclose(on_time.npv_matrix, 785_500.0, rtol=1e-12)
    np.testing.assert_allclose(late.npv_matrix, 568_400.0, rtol=1e-12)
    assert late.metrics["slipped_share"].iloc[0] == 1.0
    assert "slipped_share" not in on_time.metrics.columns  # metrics.csv as before the factor existed


def test_the_slipped_plan_s_cash_moves_quarter_by_quarter():
    np.testing.assert_allclose(cash_changes(model()), [0.0, -400_000 + MARKET, *[MARKET] * 4])
    np.testing.assert_allclose(cash_changes(model(CERTAIN)), [0.0, 0.0, -400_000 + MARKET, *[MARKET] * 3])


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_slip_within_the_contract_s_allowance_makes_it_late(backend):
    """Allowance 1, one quarter late: quarter 1 pays the $10,000 delay penalty and earns nothing;
    quarter 2 pays for the GPUs and serves the contract: -400,000 + 438,000 - 21,900 = 16,100;
    quarters 3-4 416,100; quarter 5 on the market 197,100; terminal value 200,000 (the cohort of
    quarter 2 at the flat $4,000). NPV -10,000 + 16,100 + 832,200 + 197,100 + 200,000 = 1,235,400."""
    price = {"capex_per_gpu_usd": 4000.0}
    on_time = model(contract=contract(1))
    late = model(CERTAIN, contract=contract(1))
    for d in (on_time, late):
        d["skus"]["A"].update(price)
    base, got = run(on_time, backend, served=True), run(late, backend, served=True)
    np.testing.assert_allclose(base.npv_matrix, 16_100 + 3 * 416_100 + 197_100 + 200_000, rtol=1e-12)
    np.testing.assert_allclose(got.npv_matrix, 1_235_400.0, rtol=1e-12)
    assert got.metrics["rescheduled_share"].iloc[0] == 1.0
    assert got.metrics["cancelled_share"].iloc[0] == 0.0


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_slip_past_the_contract_s_allowance_cancels_it(backend):
    """Allowance 1, two quarters late: quarter 1 late (-10,000), quarter 2 past the allowance:
    cancelled with its $50,000 penalty; the GPUs, delivered in quarter 3 and paid then, go to the
    market (freed): -400,000 + 197,100, then 197,100 in quarters 4-5; terminal value 200,000.
    NPV -10,000 - 50,000 - 202,900 + 394,200 + 200,000 = 331,300."""
    d = model({"probability": 1.0, "min_quarters": 2, "max_quarters": 2}, contract=contract(1))
    d["skus"]["A"]["capex_per_gpu_usd"] = 4000.0
    got = run(d, backend, served=True)
    np.testing.assert_allclose(got.npv_matrix, 331_300.0, rtol=1e-12)
    assert got.metrics["cancelled_share"].iloc[0] == 1.0
    assert got.metrics["freed_share"].iloc[0] == 1.0


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_slip_of_an_sku_the_plan_does_not_buy_changes_nothing(backend):
    base = run(model(other_sku=True), backend)
    got = run(model({**CERTAIN, "skus": ["B"]}, other_sku=True), backend)
    np.testing.assert_array_equal(got.npv_matrix, base.npv_matrix)
    assert got.metrics["slipped_share"].iloc[0] == 0.0


@pytest.mark.parametrize("backend", BACKENDS)
def test_an_sku_first_on_sale_after_the_horizon_slips_nothing(backend):
    """B, first on sale in 2028Q1 (the 6-quarter horizon ends 2027Q2), has no cohort the plan could
    buy: a slip of every SKU delays A alone (NPV 568,400, as A slipped alone), where the evaluator
    crashed looking for B's cohorts; naming B says it never slips."""
    def after_horizon(slip: dict | None) -> dict:
        d = model(slip, other_sku=True)
        d["skus"]["B"]["available_from"] = "2028Q1"
        return d

    np.testing.assert_allclose(run(after_horizon(CERTAIN), backend).npv_matrix, 568_400.0, rtol=1e-12)
    with pytest.warns(FleetoptWarning, match=r"B never slips: it is first on sale in 2028Q1, after the "
                      r"horizon's last quarter \(2027Q2\), so the plan buys none"):  # fmt: skip
        data_of(after_horizon({**CERTAIN, "skus": ["A", "B"]}))


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("off", [{"probability": 0.0, "max_quarters": 3}, None])
def test_the_factor_off_changes_no_bit(backend, off):
    """Probability 0, or no block: the same metrics to the bit as a model that never had one (and no
    slip column); a probability of one half slips about half the scenarios, by 1 to 3 quarters."""
    d = model()
    d["risk"] = {"price_volatility_annual": 0.3, "demand_volatility_annual": 0.3}
    base = run(d, backend, n=200)
    if off is not None:
        d["risk"]["delivery_slip"] = off
    got = run(d, backend, n=200)
    np.testing.assert_array_equal(got.npv_matrix, base.npv_matrix)
    assert got.metrics.to_csv() == base.metrics.to_csv() and "slipped_share" not in got.metrics.columns
    d["risk"]["delivery_slip"] = {"probability": 0.5, "max_quarters": 3}
    half = run(d, backend, n=200)
    slipped = half.npv_matrix != base.npv_matrix
    assert half.metrics["slipped_share"].iloc[0] == slipped.mean()
    assert 0.4 < slipped.mean() < 0.6


def test_an_unknown_sku_is_named():
    from fleetopt.schema.issues import ModelError

    with pytest.raises(ModelError, match=r"risk\.delivery_slip\.skus\.0.*unknown SKU 'Z'"):
        data_of(model({**CERTAIN, "skus": ["Z"]}))


def test_min_quarters_above_max_quarters_is_refused():
    from fleetopt.schema.issues import ModelError

    with pytest.raises(ModelError, match="max_quarters is below min_quarters"):
        data_of(model({"probability": 1.0, "min_quarters": 3, "max_quarters": 2}))


def test_the_forecast_has_no_slip():
    """`--deterministic` runs the forecast, which draws no slip: the plan's figures as without the block."""
    data, base = data_of(model(CERTAIN)), data_of(model())
    got = evaluate(data, compile_plans(data, [plan(data)], ["p"]), 1, 0, backend="numpy", deterministic=True)
    want = evaluate(base, compile_plans(base, [plan(base)], ["p"]), 1, 0, backend="numpy", deterministic=True)
    assert got.metrics["npv_mean_usd"].iloc[0] == want.metrics["npv_mean_usd"].iloc[0] == 785_500.0
    assert got.metrics["slipped_share"].iloc[0] == 0.0


def test_a_slip_past_the_sku_s_last_quarter_on_sale_is_refused_by_name():
    """A on sale 2026Q2-2026Q3 only: a slip of two quarters would deliver the GPUs bought in 2026Q2
    in 2026Q4, when the model has no cohort of A: refused, naming the SKU, the setting and the
    longest slip it allows (one quarter: 2026Q2 to 2026Q3)."""
    from fleetopt.errors import InputError

    d = model({"probability": 1.0, "min_quarters": 2, "max_quarters": 2})
    d["skus"]["A"]["available_until"] = "2026Q3"
    data = data_of(d)
    with pytest.raises(InputError, match=r"risk\.delivery_slip: a slip moves SKU A's first deliveries to "
                       r"2026Q4, .*: lower max_quarters and min_quarters \(at most 1 for A\), or sell"):
        compile_plans(data, [plan(data)], ["p"])


def test_a_slip_past_the_horizon_is_refused_not_valued_as_orders_never_paid():
    """Six quarters, A released in 2026Q2 (quarter 1): a slip of 5 quarters delivers in quarter 6,
    after the last (2027Q2, quarter 5). The GPUs would be neither delivered nor paid in the horizon, so
    the plan would lose less than with a slip of 4 (they arrive in the last quarter, paid in full):
    refused, naming the longest slip A allows, 4 quarters."""
    from fleetopt.errors import InputError

    data = data_of(model({"probability": 1.0, "min_quarters": 1, "max_quarters": 5}))
    with pytest.raises(InputError, match=r"a slip of 5 quarters moves SKU A's first deliveries past the "
                       r"horizon's last quarter, 2027Q2, .*: lower max_quarters \(at most 4 for A\)"):
        compile_plans(data, [plan(data)], ["p"])
    slipped = data_of(model({"probability": 1.0, "min_quarters": 4, "max_quarters": 4}))
    assert compile_plans(slipped, [plan(slipped)], ["p"]) is not None


@pytest.mark.parametrize("draw_until, moved", [("2027Q2", 150_000.0), ("2026Q2", 0.0)])
def test_the_gpu_backed_draws_that_fund_late_gpus_move_with_them(draw_until, moved):
    """Quarter 1 buys 100 GPUs of A ($400,000) and 100 of B ($400,000, on sale from the start, so not
    slipping) and draws $300,000 on a loan with max_ltv: half of the purchases' price slips a quarter,
    so half the draw, 150,000, is drawn in quarter 2 instead, where the loan may still draw then
    (`draw_until` 2027Q2); else it is not drawn at all (2026Q2: only quarter 1's other half is left)."""
    d = model({**CERTAIN, "skus": ["A"]}, other_sku=True)
    d["skus"]["A"]["capex_per_gpu_usd"] = 4000.0
    d["skus"]["B"].update(available_from="2026Q1")
    d["finance"]["facilities"] = {
        "gpu-loan": {"size_usd": 1.0e6, "fixed_rate_annual": 0.05, "max_ltv": 0.7, "amortization_quarters": 4,
                     "draw_from": "2026Q1", "draw_until": draw_until},
    }  # fmt: skip
    data = data_of(d)
    p = plan(data)
    b_cohort = next(c.index for c in data.cohorts if c.is_purchase and c.sku == 1 and c.bought == 1)
    p.buy_blocks[1, 0, 1] = GPUS
    p.held_inference[b_cohort, 1:] = GPUS
    p.active[1, 1, 0, 1:] = GPUS
    p.draws[0, 1] = 300_000.0
    late = compile_plans(data, [p], ["p"]).slipped[1]
    np.testing.assert_allclose(late.draws[0, 0, :3], [0.0, 150_000.0, moved])
    np.testing.assert_allclose(late.capex[0, :3], [0.0, 400_000.0, 400_000.0])


def test_a_resumed_run_keeps_the_slipped_share(tmp_path):
    """A run's chunks store the share of slipped scenarios with the other metrics: read back, the
    metrics are the fresh run's, the column included."""
    from fleetopt.evaluate.chunk_store import ChunkStore

    data = data_of(model({"probability": 0.5, "max_quarters": 2}))
    plans = compile_plans(data, [plan(data), Plan.empty(data)], ["buys", "empty"])
    fresh = evaluate(data, plans, 40, 1, backend="numpy", plan_chunk=1, store=ChunkStore(tmp_path))
    resumed = evaluate(data, plans, 40, 1, backend="numpy", plan_chunk=1, store=ChunkStore(tmp_path))
    assert resumed.pairs_stored == 2 * 40
    assert resumed.metrics.to_csv() == fresh.metrics.to_csv()
    assert 0 < fresh.metrics["slipped_share"].iloc[0] < 1 and fresh.metrics["slipped_share"].iloc[1] == 0


def test_the_slip_drawn_depends_only_on_the_seed_and_the_scenario():
    """One draw per scenario: late with the probability, by min..max quarters each equally likely;
    scenario i's slip is the same in any block, and another seed draws other slips."""
    from fleetopt.evaluate.scenarios import generate_scenarios

    data = data_of(model({"probability": 0.3, "min_quarters": 2, "max_quarters": 4}))
    slips = generate_scenarios(data, 5, 0, 6000).delivery_slip
    np.testing.assert_array_equal(generate_scenarios(data, 5, 4000, 6000).delivery_slip, slips[4000:])
    assert not np.array_equal(generate_scenarios(data, 6, 0, 6000).delivery_slip, slips)
    assert set(np.unique(slips)) == {0, 2, 3, 4}
    assert abs((slips > 0).mean() - 0.3) < 0.02
    for d in (2, 3, 4):
        assert abs((slips == d).mean() - 0.1) < 0.015


def test_plans_compiled_without_the_slips_are_refused_not_run_on_time():
    """Plans compiled under a model without the block, evaluated under one with it, have no slipped
    variants: an error that says so, not every scenario silently on time."""
    from fleetopt.errors import InputError

    data, base = data_of(model(CERTAIN)), data_of(model())
    with pytest.raises(InputError, match=r"slip deliveries by \[1\] quarters .* compiled without"):
        evaluate(data, compile_plans(base, [plan(base)], ["p"]), 3, 0, backend="numpy")


def test_a_plan_s_slipped_variants_do_not_depend_on_the_plans_compiled_with_it():
    """Each plan's variant under each slip is the same compiled alone, with others, or in chunks."""
    from test_plan_files import assert_batches_equal

    data = data_of(model({"probability": 0.5, "max_quarters": 2}))
    plans = [plan(data), Plan.empty(data), plan(data)]
    plans[2].buy_blocks[0, 0, 1] = 60.0  # another plan: 60 bought, 100 held
    together = compile_plans(data, plans, ["a", "b", "c"])
    assert sorted(together.slipped) == [1, 2]
    assert_batches_equal(together, compile_plans(data, plans, ["a", "b", "c"], chunk=2))
    for p in range(3):
        assert_batches_equal(together.take([p]), compile_plans(data, [plans[p]], [["a", "b", "c"][p]]))


def test_in_short_says_in_how_many_futures_deliveries_came_late():
    """The terminal's and the report's "In short" name the slip's share of the futures, apart from the
    policy's reactions (a risk the plan met, not something its policy did); a run without the factor
    (no `slipped_share` column) says nothing of it."""
    from fleetopt.core.results.risk_sentences import risk_in_short

    row = {"npv_mean_usd": 1e6, "npv_cvar5_usd": -1e6, "default_probability": 0.0, "breach_probability": 0.0,
           "slipped_share": 0.475, "deferred_share": 0.25}  # fmt: skip
    said = risk_in_short("p", 200, row)
    late = "GPUs it bought arrived late (risk.delivery_slip) in 47.5% of the futures."
    assert said[-2:] == [late, "Its policy had to defer an order in 25.0% of the futures."]
    del row["slipped_share"]
    assert not any("delivery_slip" in line for line in risk_in_short("p", 200, row))


def test_a_plan_of_other_sku_dates_is_refused_with_the_way_to_ask_about_late_deliveries():
    """Moving an SKU's sale dates in the model changes its cohorts, so a plan made with the old dates
    is refused (its decisions would be read as other cohorts'); the refusal now says how to ask what
    a planner moving the dates wants to know: keep the dates and set risk.delivery_slip."""
    from fleetopt import api
    from fleetopt.core.data import build_data
    from fleetopt.core.plan import axes_mismatch, plan_axes

    loaded, _ = api.load("tiny")
    kept = plan_axes(build_data(loaded))
    moved = build_data(api.edit(loaded, {"skus.H100.available_until": "2026Q3"}))
    words = axes_mismatch(kept, moved)
    assert words.startswith("its cohorts are not the model's")
    assert "keep the dates the plan was made with and set risk.delivery_slip" in words


def test_the_report_says_its_forecast_has_deliveries_on_time(tmp_path):
    """A run whose futures slip deliveries (here every one) says, where it reports the plan on the
    forecast, that the forecast's deliveries are on time: a new user read "On the forecast it keeps
    every covenant" beside the futures' breaches and took both for the same world."""
    import yaml

    from fleetopt import api

    path = tmp_path / "slips.yaml"
    path.write_text(yaml.safe_dump(model(CERTAIN)))
    loaded, _ = api.load(path)
    solved = api.solve(loaded)
    run = api.write_solve_run(solved, loaded, tmp_path / "base")
    evaluation, evaluated, plans = api.evaluate(run, scenarios=3, seed=0)
    folder = api.write_evaluate_run(evaluation, evaluated, plans, tmp_path / "slipped")
    page = api.report(folder).read_text()
    assert "On the forecast (deliveries on time) it" in page
    plain = api.write_evaluate_run(*api.evaluate(run, model=api.edit(loaded, {"risk.delivery_slip": None}),
                                                 scenarios=3, seed=0), tmp_path / "plain")  # fmt: skip
    assert "On the forecast it" in api.report(plain).read_text()


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("signed", [3600.0, 4000.0])
def test_a_late_order_deferred_and_cancelled_costs_what_an_on_time_one_does(backend, signed):
    """Signed at $4,000 a GPU (or $3,600), $3,600 when one quarter late; no deposit, no cash, and GPUs
    that earn no more than their electricity ($0.1 an hour). Quarter 2, the delivery: the projection
    is short by the whole signed price (400,000 or 360,000), which deferring the whole order saves,
    so it is deferred; quarter 3 is short of its 360,000 and cancels it. Nothing is paid: cash 0 and
    NPV 0, as on time. (The signed price less quarter 2's, $40,000, used to stay paid, a default.)"""
    d = model(CERTAIN)
    d["skus"]["A"].update(order_deposit_share=0.0)
    d["skus"]["A"]["capex_per_gpu_usd"] = {"start": signed, "steps": {"2026Q3": 3600.0}}
    d["market"]["price_usd_per_gpu_hour"] = {"training": {"all": 0.1}, "inference": {"all": 0.1}}
    d["finance"]["opening_cash_usd"] = 0.0
    got = run(d, backend, n=1)
    np.testing.assert_array_equal(got.npv_matrix, 0.0)
    row = got.metrics.iloc[0]
    reactions = row["deferred_share"], row["order_cancelled_share"], row["default_probability"]
    assert reactions == (1.0, 1.0, 0.0)


def test_validate_names_the_slip_among_the_risk_factors(tmp_path):
    """A model whose only risk is a slip was 'risk: none: every scenario is the forecast' in
    `fleetopt validate`, while evaluate slipped every future."""
    import yaml
    from conftest import run_cli

    path = tmp_path / "slips.yaml"
    path.write_text(yaml.safe_dump(model({"probability": 0.5, "min_quarters": 1, "max_quarters": 2,
                                          "skus": ["A"]})))  # fmt: skip
    code, out, err = run_cli("validate", str(path))
    flat = " ".join(out.replace("│", " ").split())
    assert code == 0, err
    assert "deliveries of SKUs not yet shipping (A) late (chance 50%, by 1 to 2 quarters)" in flat
    assert "every scenario is the forecast" not in flat


def test_a_stochastic_solve_of_a_model_with_a_slip_warns_that_its_scenarios_have_none(tmp_path, monkeypatch):
    """The stochastic solve's scenario copies carry no slip (formulation section 7b) while its
    out-of-sample check slips deliveries: a helper's plan bought 74,880 more GPUs unhedged and was
    judged on slipped futures, the explanation blaming too few scenarios. It now warns, and its
    report, which said nothing of it, says so beside what to commit to."""
    import html

    import yaml
    from conftest import run_cli

    monkeypatch.setenv("FLEETOPT_RUNS_DIR", str(tmp_path / "runs"))
    path = tmp_path / "slips.yaml"
    path.write_text(yaml.safe_dump(model({"probability": 0.5, "min_quarters": 1, "max_quarters": 1})))
    code, _, err = run_cli("solve", str(path), "--stochastic", "2", "--report", "--out", str(tmp_path / "s"))
    assert code == 0, err
    flat = " ".join(err.split())
    said = "risk.delivery_slip: the stochastic solve's scenarios carry no delivery slip"
    assert said in flat
    report = html.unescape((tmp_path / "s" / "report.html").read_text())
    assert f"<p class='why'>{said} (docs/formulation.md, section 7b), so its plan is not hedged" in report


def test_an_sku_named_that_never_slips_is_said_by_validate(tmp_path):
    """Naming only an SKU already shipping slipped nothing without a word (metrics.csv the same as
    without the block): validate and every command reading the model now say so."""
    import yaml
    from conftest import run_cli

    d = model({"probability": 1.0, "min_quarters": 1, "max_quarters": 1, "skus": ["A", "B"]}, other_sku=True)
    d["skus"]["B"]["available_from"] = "2026Q1"
    path = tmp_path / "slips.yaml"
    path.write_text(yaml.safe_dump(d))
    code, _, err = run_cli("validate", str(path))
    said = " ".join(err.split())
    assert code == 0, err
    assert ("risk.delivery_slip.skus.1: B never slips: it ships already when the horizon starts (2026Q1; "
            "on sale from 2026Q1); only SKUs first shipping inside the horizon slip") in said
    assert "A never slips" not in said


def test_a_gpu_the_plan_sells_before_it_arrives_is_sold_on_arrival():
    """The plan sells 50 of its 100 GPUs at the start of quarter 2 (half their $4,000: 100,000).
    Two quarters late, they arrive in quarter 3: the 50 are sold then, at half the delivery cohort's
    $3,600 (90,000), and 50 are held. The sale used to be dropped with the 50 GPUs: paid for, never
    held nor sold."""
    data = data_of(model({"probability": 1.0, "min_quarters": 2, "max_quarters": 2}))
    p = plan(data)
    cohort = next(c.index for c in data.cohorts if c.is_purchase and c.sku == 0 and c.bought == 1)
    p.retire_training[cohort, 2] = 50
    p.held_training[cohort, 2:] = p.active[0, 0, 0, 2:] = 50
    batch = compile_plans(data, [p], ["p"])
    np.testing.assert_allclose(batch.proceeds[0], [0, 0, 100_000, 0, 0, 0])
    late = batch.slipped[2]
    np.testing.assert_allclose(late.held[0], [0, 0, 0, 50, 50, 50])
    np.testing.assert_allclose(late.proceeds[0], [0, 0, 0, 90_000, 0, 0])


def test_an_empty_list_of_skus_is_refused():
    """`skus: []` slipped nothing in evaluate while validate described every SKU not yet shipping as
    slipping: refused, saying both ways to write what was meant."""
    from fleetopt import api
    from fleetopt.errors import InputError

    with pytest.raises(InputError, match="skus is an empty list: name the SKUs that may slip, or leave"):
        api.edit("tiny", {"risk.delivery_slip": {"probability": 1, "max_quarters": 1, "skus": []}})


def test_compare_shows_in_how_many_futures_deliveries_came_late(tmp_path):
    """compare gave no slip row: under a model whose deliveries slip in every future, two plans buying
    A early read as if nothing arrived late. Without the block, no row."""
    import yaml

    from fleetopt import api

    path = tmp_path / "slips.yaml"
    path.write_text(yaml.safe_dump(model(CERTAIN)))
    loaded, _ = api.load(path)
    solved = api.solve(loaded)
    comparison = api.compare([solved, solved], model=loaded, scenarios=4, seed=0, labels=["a", "b"])
    row = "P(GPUs it bought delivered late: risk.delivery\\_slip) | 100.0% | 100.0%"
    assert row in comparison.to_markdown()
    plain = api.edit(loaded, {"risk.delivery_slip": None})
    unslipped = api.compare([solved, solved], model=plain, scenarios=4, seed=0, labels=["a", "b"])
    assert "delivered late" not in unslipped.to_markdown()


def test_a_solve_keeps_its_plan_where_a_slip_would_push_its_deliveries_past_the_horizon():
    """The forecast never slips, so its run must not compile the plans' slipped variants: a slip of
    5 quarters of A (on sale from 2026Q2, the 6-quarter horizon's second quarter) would deliver it
    in 2027Q3, past the last quarter, and the solve was refused after the MILP had solved, its plan
    lost. The forecast run takes it; an evaluation over scenarios still refuses the slip, by name."""
    from fleetopt import api
    from fleetopt.errors import InputError

    d = model({"probability": 1.0, "min_quarters": 5, "max_quarters": 5})
    data = data_of(d)
    result = api.solve(load(d))  # its forecast run (statements, the policy on the forecast) made
    assert result.plan is not None
    with pytest.raises(InputError, match=r"a slip of 5 quarters moves SKU A's first deliveries past"):
        compile_plans(data, [plan(data)], ["p"])


def test_a_memory_budget_counts_the_slipped_plans_and_their_results():
    """The plans compiled again for each slip and the results a slipped block holds twice more were
    outside --max-memory: a budget was exceeded by them. 10 plans of this model on 100 scenarios,
    one slip (CERTAIN): each plan's variant B bytes, as each plan compiled (6,944 in 0.4.23; B grows
    with every column a plan gains, so the test reads it), 10B in all, so its tables on NumPy 2B; a
    pair 816 bytes of working memory and 2 x 216 more with a slip (27 results of 8 bytes), a
    scenario 1,632, a plan's row of results and their metrics' temporaries 100 x (216 + 32) =
    24,800, so a plan 24,800 + 2B with its tables (38,688), and its pairs on the block of all 100
    scenarios, whose factor paths (163,200) its chunk's plans share. Budget 1,500,000: without the
    slip (1,500,000 - 163,200) // (38,688 + 100 x 816) = 11 plans, all 10 a chunk; with it,
    1,500,000 - 10B = 1,430,560 left, (1,430,560 - 163,200) // (38,688 + 100 x 1,248) = 7 plans,
    so 2 chunks of 5. Budget 80,000: without the slip one plan needs 38,688 + 816 + 1,632 = 41,136
    and it runs, one plan a chunk ((80,000 - 1,632) // (38,688 + 816) = 1) on blocks of what that
    plan leaves ((80,000 - 38,688) // 2,448 = 16 scenarios: 7 blocks of 15); with it 10,560 are
    left, short of 38,688 + 1,248 + 1,632 = 41,568: refused, asking for 69,440 + 41,568 = 111,008
    bytes, 112 KB (rounded up to three digits)."""
    from fleetopt.core.units import format_bytes
    from fleetopt.evaluate.chunking import (
        MemoryBudgetError,
        rounded_up,
        slip_variant_bytes,
        worker_chunk_sizes,
    )

    slipped = data_of(model(CERTAIN))
    on_time = data_of(model())
    labels = [f"p{i}" for i in range(10)]
    plans = [compile_plans(data, [plan(data)] * 10, labels) for data in (slipped, on_time)]
    b = plans[0].nbytes // 10
    assert slip_variant_bytes(plans[0]) == 10 * b and slip_variant_bytes(plans[1]) == 0

    def sizes(data, budget):
        return worker_chunk_sizes(data, plans[data is on_time], 100, "numpy", 1, 10**12, budget)

    one = 24_800 + 2 * b  # a plan's results and its tables
    block = 100 * 1_632  # the factor paths of the 100 scenarios
    assert (1_500_000 - block) // (one + 100 * 816) == 11 and sizes(on_time, 1_500_000) == (10, 100)
    assert (1_500_000 - 10 * b - block) // (one + 100 * 1_248) == 7  # plans that fit: 2 chunks, of 5
    assert sizes(slipped, 1_500_000) == (5, 100)
    # one plan a chunk, on blocks as large as the budget leaves it: 16 scenarios, so 7 even blocks of 15
    assert (80_000 - one) // (1_632 + 816) == 16 and sizes(on_time, 80_000) == (1, 15)
    with pytest.raises(MemoryBudgetError) as refused:
        sizes(slipped, 80_000)
    need = one + 1_248 + 1_632
    assert str(refused.value) == (
        f"risk.delivery_slip: the 10 plans compiled again for the 1 slip a scenario may draw take "
        f"{format_bytes(10 * b)}, which the memory budget of 80 KB counts, leaving too little for the "
        f"simulation of one plan ({format_bytes(need)}): give a max_memory (--max-memory) "
        f"of at least {format_bytes(rounded_up(10 * b + need))} (the variants and one "
        "plan), or evaluate fewer plans at a time"
    )
    # the default budget, half the memory free once the variants were made, has left them out already:
    # 1,500,000 of 3,000,000 free, (1,500,000 - 163,200) // 163,488 = 8 plans: 2 chunks, of 5
    assert worker_chunk_sizes(slipped, plans[0], 100, "numpy", 1, 3_000_000) == (5, 100)
