"""One scenario's quarterly path (fleetopt.api.scenario_path, `fleetopt evaluate --explain`): the
scenario the evaluation ran, with its NPV and first breach, and bad input refused by name."""

import json
import re

import numpy as np
import pandas as pd
import pytest
from conftest import run_cli
from evaluate_builders import batch
from milp_builders import base_model, data_of, sku
from test_delivery_slip import CERTAIN as SLIP_CERTAIN
from test_delivery_slip import model as slip_model
from test_delivery_slip import plan as slip_plan
from test_idle_gpus import EXTRA_BILL, GPU_QUARTER, PLANNED_BILL
from test_idle_gpus import model as idle_model
from test_idle_gpus import plan_of as idle_plan
from test_policy import (
    CONTRACT,
    MARKET,
    ORDER,
    late_block,
    late_block_model,
    model,
    order_model,
    order_plan,
    plan_of,
    price_drop,
    under_served,
)

import fleetopt.api as fo
from fleetopt.core.notebook import html_text, markdown_text
from fleetopt.core.plan import Plan
from fleetopt.core.units import format_usd
from fleetopt.evaluate.batch import compile_plans
from fleetopt.evaluate.engine import evaluate
from fleetopt.evaluate.path import path_in, scenario_path
from fleetopt.evaluate.sample_runs import sample_runs
from fleetopt.evaluate.scenarios import deterministic_scenarios
from fleetopt.evaluate.sources import read_plans
from fleetopt.schema.policy import Policy


def test_a_scenario_path_has_the_npv_the_evaluation_gave_that_scenario(solve_run):
    result, _, _ = fo.evaluate(solve_run, scenarios=40, seed=3, keep_matrix=True, backend="numpy")
    for scenario in (0, 17, 39):
        path = fo.scenario_path(solve_run, scenario, seed=3)
        assert path.npv_usd == pytest.approx(result.npv_matrix[0, scenario], abs=1e-9, rel=1e-12)
        assert list(path.frame["quarter"])[:2] == ["2026Q3", "2026Q4"]


def test_the_path_breaches_in_the_quarter_the_evaluation_counted(solve_run):
    _, data = fo.load(solve_run / "model.yaml")
    batch = read_plans(solve_run, data).compile(data)
    runs = sample_runs(data, batch, 40, 3)
    breached = np.flatnonzero(runs["breach"][0])
    assert breached.size  # tiny's plan breaches in some scenarios of seed 3
    s = int(breached[0])
    path = fo.scenario_path(solve_run, s, seed=3)
    assert path.first_breach_quarter == data.quarter_labels[int(runs["quarters_before_breach"][0, s])]
    assert (path.default_quarter is None) == (not runs["default"][0, s])


def test_bad_scenario_and_plan_are_refused_by_name(solve_run):
    with pytest.raises(fo.InputError, match=r"scenario \(--explain\), one of 40 scenarios, must be "
                       r"between 0 and 39 \(got 40\)"):  # fmt: skip
        fo.scenario_path(solve_run, 40, seed=3, scenarios=40)
    with pytest.raises(fo.InputError, match=r"plan \(--plan\): no plan 'nope'"):
        fo.scenario_path(solve_run, 1, plan="nope")


def test_a_hand_built_default_shows_in_its_quarter_with_the_reactions_before_it():
    """tests/test_policy.py's deeper drop: the market pays nothing in quarters 0 and 1; the policy
    defers 372,000 / 1,810,000 of the $4M order in quarter 1, which, earning nothing, ends at
    1,000,000 - (1 - share) x 4,000,000 = -2,177,901: the liquidity default, in 2026Q2. Quarter 2
    cancels the deferred payment, forfeiting its 20 % deposit."""
    data = data_of(order_model(distress_sales=False))
    path = path_in(data, batch(data, [order_plan(data)]), price_drop(data, [0, 1]), seed=0)
    f = path.frame
    share = 372_000.0 / 1_810_000.0
    assert path.default_quarter == "2026Q2" and "liquidity default 2026Q2" in path.headline()
    assert list(f["liquidity_default"]) == [False, True, False, False]
    np.testing.assert_allclose(f["cash_usd"].iloc[1], 1.0e6 - (1.0 - share) * ORDER, rtol=1e-12)
    np.testing.assert_allclose(f["deferred_usd"].iloc[1], share * ORDER, rtol=1e-12)
    np.testing.assert_allclose(f["forfeited_usd"].iloc[2], 0.2 * share * ORDER, rtol=1e-12)
    assert f["forfeited_usd"].iloc[:2].eq(0.0).all() and f["price_factor_hopper"].iloc[0] == 0.0
    assert "orders deferred" in f["reactions"].iloc[1] and "deposits forfeited" in f["reactions"].iloc[2]
    np.testing.assert_allclose(f["cash_usd"].iloc[0], 1.0e6, rtol=1e-12)


def test_a_notebook_shows_the_headline_and_the_quarters_with_their_dollars_escaped():
    data = data_of(order_model(distress_sales=False))
    path = path_in(data, batch(data, [order_plan(data)]), price_drop(data, [0, 1]), seed=0)
    markdown = path._repr_markdown_()
    assert "liquidity default 2026Q2" in markdown and "\\$1.0M" in markdown and "Next: .frame" in markdown
    html = path._repr_html_()
    assert "<span>$</span>1.0M" in html and "2026Q2" in html and "DEFAULT" in html
    assert "$" not in html.replace("<span>$</span>", "")  # JupyterLab typesets text between two $


def test_a_slipped_scenario_is_run_on_the_slipped_plan_as_the_evaluation_ran_it():
    """tests/test_delivery_slip.py's 100 GPUs of A bought in quarter 1: a certain one-quarter slip
    pays for them (and runs them) a quarter later; with prices and demand moving too, and half the
    scenarios slipping 1 to 3 quarters, every path's NPV is the evaluation's for its scenario."""
    data = data_of(slip_model(SLIP_CERTAIN))
    plans, scen = compile_plans(data, [slip_plan(data)], ["p"]), deterministic_scenarios(data)
    on_time = path_in(data, plans, scen, 0).frame["capex_usd"].to_numpy()
    scen.factors["delivery_slip"][0] = 1
    late = path_in(data, plans, scen, 0)
    paid = late.frame["capex_usd"].to_numpy()
    assert on_time[1] > 0.0 and on_time[2] == 0.0 and paid[1] == 0.0 and paid[2] > 0.0
    assert late.delivery_slip_quarters == 1
    assert late.frame["risk_events"].iloc[0] == "deliveries slip 1 quarter"
    d = slip_model({"probability": 0.5, "max_quarters": 3})
    d["risk"].update(price_volatility_annual=0.3, demand_volatility_annual=0.3)
    data = data_of(d)
    plans = compile_plans(data, [slip_plan(data)], ["p"])
    result = evaluate(data, plans, 30, 5, backend="numpy", keep_matrix=True)
    paths = [scenario_path(data, plans, 5, i) for i in range(30)]
    assert [p.npv_usd for p in paths] == list(result.npv_matrix[0])
    slipped = [p for p in paths if p.delivery_slip_quarters]
    assert 0 < len(slipped) < 30 and "deliveries slip" in slipped[0].frame["risk_events"].iloc[0]


def test_an_evaluations_folder_gives_its_seed_and_scenarios_to_scenario_path(solve_run, tmp_path):
    code, out, err = run_cli("evaluate", "--plans", str(solve_run), "--scenarios", "30", "--seed", "11",
                             "--keep-matrix", "--out", str(tmp_path / "E"))  # fmt: skip
    assert code == 0, out + err
    npv = np.load(tmp_path / "E" / "npv_matrix.npy")
    assert [fo.scenario_path(tmp_path / "E", i).npv_usd for i in (0, 29)] == [npv[0, 0], npv[0, 29]]
    with pytest.raises(fo.InputError, match=r"\(--explain\), one of 30 scenarios, must be between 0 and 29"):
        fo.scenario_path(tmp_path / "E", 30)


def test_an_evaluation_written_from_python_gives_its_seed_and_scenarios_to_scenario_path(solve_run, tmp_path):
    """An evaluation written by fo.write_evaluate_run has no job.json: scenario_path of its folder
    followed seed 0's scenario 5, not the evaluation's seed 11 (another NPV than its npv_matrix's),
    and took scenario 30 of its 30; a deterministic one gave seeded scenario 0, not refused."""
    result, loaded, plans = fo.evaluate(solve_run, scenarios=30, seed=11, keep_matrix=True, backend="numpy")
    folder = fo.write_evaluate_run(result, loaded, plans, tmp_path / "E")
    assert not (folder / "job.json").exists()
    npv = np.load(folder / "npv_matrix.npy")
    assert [fo.scenario_path(folder, i).npv_usd for i in (5, 29)] == [npv[0, 5], npv[0, 29]]
    with pytest.raises(fo.InputError, match=r"\(--explain\), one of 30 scenarios, must be between 0 and 29"):
        fo.scenario_path(folder, 30)
    deterministic = fo.write_evaluate_run(*fo.evaluate(solve_run, deterministic=True), tmp_path / "D")
    with pytest.raises(fo.InputError, match=r"cannot apply to .*, a deterministic evaluation"):
        fo.scenario_path(deterministic, 0)


def test_a_path_s_csv_is_written_whole_and_never_over_a_run_s_file(solve_run, tmp_path):
    """ScenarioPath.to_csv replaced a run's plan.csv with the path's quarters (the run then read back
    as a broken solve), and a path in a folder not yet made was pandas' OSError: a run's file is
    refused by name and left as it was; a new folder is made, as Comparison.to_csv makes one."""
    path = fo.scenario_path(solve_run, 2, seed=3)
    plan_csv = solve_run / "plan.csv"
    before = plan_csv.read_bytes()
    with pytest.raises(fo.InputError, match=r"path .*plan\.csv is a file of the run folder"):
        path.to_csv(plan_csv)
    assert plan_csv.read_bytes() == before
    written = path.to_csv(tmp_path / "new" / "p.csv")
    back = pd.read_csv(written)
    assert list(back["quarter"]) == list(path.frame["quarter"])
    assert back["cash_usd"].to_numpy() == pytest.approx(path.frame["cash_usd"].to_numpy(), rel=1e-12)
    with pytest.raises(fo.InputError, match="path is empty"):
        path.to_csv("")


def test_a_path_s_csv_replaces_its_own_earlier_csv_but_never_another_file(solve_run, tmp_path):
    """ScenarioPath.to_csv replaced any file, a model file included, with the path's quarters:
    it replaces a scenario path it wrote before (or an empty file) and refuses another, as
    Comparison.to_csv does, leaving it as it was."""
    path = fo.scenario_path(solve_run, 2, seed=3)
    model = tmp_path / "tiny.yaml"
    model.write_text("name: tiny\n")
    with pytest.raises(fo.InputError, match=r"^path .*tiny\.yaml is a file that is not a scenario's path "
                                            r"CSV fleetopt wrote: it would be replaced"):  # fmt: skip
        path.to_csv(model)
    assert model.read_text() == "name: tiny\n"
    comparison = tmp_path / "c.csv"
    comparison.write_text("# about\nitem,value\n")
    with pytest.raises(fo.InputError, match=r"is a comparison fleetopt wrote, not a scenario's path CSV"):
        path.to_csv(comparison)
    earlier = path.to_csv(tmp_path / "p.csv")
    later = fo.scenario_path(solve_run, 5, seed=3)
    assert later.to_csv(earlier) == earlier  # its own: replaced
    cash = pd.read_csv(earlier)["cash_usd"].to_numpy()
    assert cash == pytest.approx(later.frame["cash_usd"].to_numpy(), rel=1e-12)
    assert cash != pytest.approx(path.frame["cash_usd"].to_numpy(), rel=1e-6)


def test_a_path_prints_as_one_line_of_its_headline(solve_run):
    """repr of a ScenarioPath was the dataclass's, its whole frame over dozens of lines, where every
    other result prints as one line of its key figures and what to read next."""
    path = fo.scenario_path(solve_run, 2, seed=3)
    shown = repr(path)
    assert "\n" not in shown
    assert shown == f"ScenarioPath({path.headline()[:-1]}; .frame, .events(), .to_csv(path))"
    assert f"scenario 2 of seed 3: NPV {format_usd(path.npv_usd)}" in shown


def test_a_scenario_number_past_64_bits_is_refused_by_name(solve_run):
    """Scenarios are numbered by a signed 64-bit int, as seeds are: scenario 2**63 of a solve's plan
    (no count to be below) was numpy's OverflowError from the scenario streams."""
    last = 2**63 - 1
    assert np.isfinite(fo.scenario_path(solve_run, last, seed=1).npv_usd)
    with pytest.raises(fo.InputError, match=r"scenario \(--explain\) must be between 0 and "
                       r"9,223,372,036,854,775,807 \(got 9,223,372,036,854,775,808\)"):  # fmt: skip
        fo.scenario_path(solve_run, last + 1, seed=1)
    with pytest.raises(fo.InputError, match=r"one of 100,000,000,000,000,000,000 scenarios, must be "
                       r"between 0 and 9,223,372,036,854,775,807"):  # fmt: skip
        fo.scenario_path(solve_run, 10**19, seed=1, scenarios=10**20)


def test_an_evaluation_s_folder_refuses_another_count_and_a_deterministic_one_refuses_a_scenario(
        solve_run, tmp_path):  # fmt: skip
    """scenario_path of an evaluation of 30 scenarios took scenarios=100 and scenario 50, a scenario
    the evaluation never ran; of a deterministic evaluation it gave seeded scenario 0, not the forecast
    the evaluation ran (`evaluate --explain --deterministic` is refused). Both are refused by name; a
    seed given follows the deterministic evaluation's plan in that seed's scenario, as the solve's."""
    for how in (("--scenarios", "30", "--seed", "11"), ("--deterministic",)):
        code, out, err = run_cli("evaluate", "--plans", str(solve_run), *how, "--out", str(tmp_path / how[0]))
        assert code == 0, out + err
    with pytest.raises(fo.InputError, match=r"scenarios \(--scenarios\) must be 30, the number the "
                       r"run .* evaluated \(scenarios 0 to 29\), or left out \(got 100\)"):  # fmt: skip
        fo.scenario_path(tmp_path / "--scenarios", 50, scenarios=100)
    assert fo.scenario_path(tmp_path / "--scenarios", 29, scenarios=30).seed == 11
    deterministic = tmp_path / "--deterministic"
    refused = (r"cannot apply to .*, a deterministic evaluation .* its quarters are the plan's statements "
               r".*--explain 0` shows them under a model changed by --set")
    with pytest.raises(fo.InputError, match=refused + "; give seed="):
        fo.scenario_path(deterministic, 0)
    seeded = fo.scenario_path(deterministic, 4, seed=3)
    assert seeded.npv_usd == fo.scenario_path(solve_run, 4, seed=3).npv_usd


def test_a_sweep_s_folder_gives_its_seed_and_scenarios_to_scenario_path(tmp_path):
    """scenario_path of a sweep's folder followed seed 0's scenarios, not the sweep's seed 5, and took
    any scenario number. Its 4 scenarios' NPVs average to the sweep's mean NPV of that candidate
    (candidates.csv); a fifth scenario is refused with the sweep's range."""
    folder = tmp_path / "S"
    code, out, err = run_cli("sweep", "tiny", "--candidates", "2", "--scenarios", "4", "--seed", "5",
                             "--out", str(folder))  # fmt: skip
    assert code == 0, out + err
    paths = [fo.scenario_path(folder, i, plan="milp: forecast") for i in range(4)]
    assert {path.seed for path in paths} == {5}
    listed = pd.read_csv(folder / "candidates.csv").set_index("plan")
    mean = listed.loc["milp: forecast", "npv_mean_usd"]
    assert np.mean([path.npv_usd for path in paths]) == pytest.approx(mean, rel=1e-9)
    with pytest.raises(fo.InputError, match=r"one of 4 scenarios, must be between 0 and 3 \(got 4\)"):
        fo.scenario_path(folder, 4, plan="milp: forecast")


def late_block_path(delay_penalty: float = 10000.0, cancellation_penalty: float | None = None, **changes):
    """tests/test_policy.py's 1 MW block two quarters late for the 100-GPU contract (allowance 1),
    with electricity at $100/MWh and $1,000 of overhead a quarter (``changes``: to its site)."""
    d = late_block_model(delay_allowance=1, delay_penalty=delay_penalty)
    if cancellation_penalty is not None:
        d["contracts"]["anchor"]["cancellation_penalty_usd"] = cancellation_penalty
    d["sites"]["s1"].update(electricity_price_usd_per_mwh=100.0, **changes)
    d["finance"]["overhead_usd_per_quarter"] = 1000.0
    data = data_of(d)
    plan, scen = late_block(data, delay=2)
    return path_in(data, batch(data, [plan]), scen, seed=0)


def test_the_path_has_revenue_contracted_and_market_and_the_costs_that_make_its_ebitda():
    """Quarter 1: 50 of the contract's 100 GPUs powered (0.05 MW online) earn 50 x $2 x 2,190 h and
    draw 0.05 MW x 2,190 h x $100/MWh = $10,950; the $10,000 delay penalty. Quarter 2: cancelled
    ($50,000), its 50 powered GPUs on the market at $1. Quarter 3: the block on, 100 GPUs on the
    market, 0.1 MW. Revenue - electricity - opex - penalties is the EBITDA the evaluation ran."""
    f = late_block_path().frame
    np.testing.assert_allclose(f["revenue_contracted_usd"], [0.0, 50 * CONTRACT, 0.0, 0.0], rtol=1e-12)
    np.testing.assert_allclose(f["revenue_market_usd"], [0.0, 0.0, 50 * MARKET, 100 * MARKET], rtol=1e-12)
    np.testing.assert_allclose(f["revenue_usd"], f["revenue_contracted_usd"] + f["revenue_market_usd"],
                               rtol=1e-15)  # fmt: skip
    np.testing.assert_allclose(f["electricity_usd"], [0.0, 10950.0, 10950.0, 21900.0], rtol=1e-12)
    np.testing.assert_allclose(f["opex_usd"], [1000.0] * 4, rtol=1e-12)
    np.testing.assert_allclose(f["contract_penalties_usd"], [0.0, 10000.0, 50000.0, 0.0], rtol=1e-12)
    np.testing.assert_allclose(f["ebitda_usd"], [-1000.0, 197050.0, 47550.0, 196100.0], rtol=1e-12)
    reconciled = f["revenue_usd"] - f["electricity_usd"] - f["opex_usd"] - f["contract_penalties_usd"]
    np.testing.assert_allclose(reconciled, f["ebitda_usd"], rtol=0.0, atol=1e-6)


@pytest.mark.slow
def test_the_default_models_path_reconciles_revenue_to_ebitda(neocloud_solved):
    """The bundled default model's MILP plan, in scenarios of seed 7 with the policy at work (late
    contracts paying penalties among them), to 1e-6 USD: revenue - electricity - opex - penalties is
    the quarter's EBITDA, and the contracted and market revenue add up to the revenue."""
    r = neocloud_solved
    plans = compile_plans(r.data, [r.plan], ["milp"])
    frames = [scenario_path(r.data, plans, 7, i).frame for i in range(12)]
    assert any((f["contract_penalties_usd"] > 0).any() for f in frames)
    for f in frames:
        assert (f["revenue_contracted_usd"] > 0).any() and (f["revenue_market_usd"] > 0).any()
        reconciled = f["revenue_usd"] - f["electricity_usd"] - f["opex_usd"] - f["contract_penalties_usd"]
        np.testing.assert_allclose(reconciled, f["ebitda_usd"], rtol=0.0, atol=1e-6)
        split = f["revenue_contracted_usd"] + f["revenue_market_usd"]
        np.testing.assert_allclose(split, f["revenue_usd"], rtol=0.0, atol=1e-6)


def test_the_default_models_path_ties_out_its_cash_quarter_by_quarter(neocloud_solved):
    """The default model's MILP plan, 12 scenarios of seed 7: each quarter's change of cash_usd is
    EBITDA - capex - interest - principal - prepayment + draws - tax + revolver draw + distress sales
    + the customers' payments besides revenue + the plan's disposal proceeds (docs/evaluation.md,
    "One scenario's path"), to a hundredth of a cent. Before the last two were columns, the cash did
    not tie out (the plan's $2.38B Rubin prepayment in 2026Q4, its retirements' proceeds)."""
    r = neocloud_solved
    plans = compile_plans(r.data, [r.plan], ["milp"])
    frames = [scenario_path(r.data, plans, 7, i).frame for i in range(12)]
    assert any((f["contract_payments_usd"] > 1e9).any() for f in frames)
    assert any((f["disposal_proceeds_usd"] > 0).any() for f in frames)
    opening = r.data.opening_cash
    for f in frames:
        change = np.diff(np.r_[opening, f["cash_usd"].to_numpy()])
        flows = (f["ebitda_usd"] - f["capex_usd"] - f["interest_usd"] - f["principal_usd"]
                 - f["prepayment_usd"] + f["draws_usd"] - f["tax_usd"] + f["revolver_draw_usd"]
                 + f["distress_sold_usd"]
                 + f["contract_payments_usd"] + f["disposal_proceeds_usd"])  # fmt: skip
        np.testing.assert_allclose(change, flows.to_numpy(), rtol=0.0, atol=1e-4)  # round-off of $B sums


def test_contracts_late_and_cancelled_for_lateness_are_events_with_their_gpus_and_penalties():
    """The late block: quarter 1 late (50 of 100 GPUs powered, the $10,000 delay penalty), quarter 2
    still short past the 1-quarter allowance: cancelled with its $50,000 penalty; the events say so
    and their penalties are the quarter's contract_penalties_usd."""
    path = late_block_path()
    assert path.events() == [
        "2026Q2: 1 MW at s1 online 2 quarters late; contract anchor late: 50 of 100 GPUs delivered, "
        "delay penalty $10.0k",
        "2026Q3: contract anchor cancelled for lateness: 100 GPUs due, cancellation penalty $50.0k",
    ]
    assert list(path.frame["contract_penalties_usd"]) == [0.0, 10000.0, 50000.0, 0.0]


def test_a_contract_delivered_short_by_part_of_a_gpu_never_reads_delivered_in_full():
    """The late block with 0.0997 MW online: 99.7 of the contract's 100 GPUs powered, late, read
    "late: 100 of 100 GPUs delivered". What is delivered of more due is rounded down: 99 of 100."""
    path = late_block_path(power_capacity_mw=0.0997)
    said = "2026Q2: 1 MW at s1 online 2 quarters late; contract anchor late: 99 of 100 GPUs delivered"
    assert path.events()[0] == said + ", delay penalty $10.0k"


def test_a_contract_without_penalties_is_late_and_cancelled_with_no_penalty_said():
    """The late block with no delay or cancellation penalty: 'delay penalty $0' was said for each
    late quarter of each such contract (four times in a quarter of the default model)."""
    path = late_block_path(delay_penalty=0.0, cancellation_penalty=0.0)
    assert path.events() == [
        "2026Q2: 1 MW at s1 online 2 quarters late; contract anchor late: 50 of 100 GPUs delivered",
        "2026Q3: contract anchor cancelled for lateness: 100 GPUs due",
    ]
    assert list(path.frame["contract_penalties_usd"]) == [0.0, 0.0, 0.0, 0.0]


def test_a_contract_cancelled_in_the_first_quarter_is_an_event():
    """Open loop, the plan serving the 100-GPU contract with 60: short at its deadline, quarter 0, so
    cancelled there with its $50,000 penalty (the first quarter has no quarter before it to compare)."""
    d = model(delay_allowance_quarters=1, delay_penalty_usd_per_quarter=10000.0)
    d["policy"] = Policy.off().model_dump()
    data = data_of(d)
    path = path_in(data, batch(data, [under_served(data, 60.0)]), deterministic_scenarios(data, 1), seed=0)
    assert path.events() == ["2026Q1: contract anchor cancelled for lateness: 100 GPUs due, cancellation "
                             "penalty $50.0k"]  # fmt: skip
    assert list(path.frame["contract_penalties_usd"]) == [50000.0, 0.0, 0.0, 0.0]


def test_a_late_step_of_contracted_capacity_is_a_risk_event_and_the_contract_it_delays_a_reaction():
    """tests/test_policy.py's site whose contracted capacity rises from 0.05 to 1 MW in 2026Q2, one
    quarter late: 50 of the contract's 100 GPUs powered there, the $10,000 delay penalty."""
    d = model(capacity_mw={"start": 0.05, "steps": {"2026Q2": 1.0}}, start="2026Q2", term_quarters=3,
              delay_penalty_usd_per_quarter=10000.0)  # fmt: skip
    d["risk"] = {"power_delay": {"probability": 0.0, "max_extra_quarters": 0, "contracted_probability": 0.1,
                                 "contracted_max_extra_quarters": 2}}  # fmt: skip
    data = data_of(d)
    scen = deterministic_scenarios(data, 1)
    scen.factors["step_delay"][0, 0, 1] = 1
    path = path_in(data, batch(data, [plan_of(data, contract_from=1, market=0.0)]), scen, seed=0)
    assert path.events() == ["2026Q2: contracted capacity at s1 +0.95 MW online 1 quarter late; contract "
                             "anchor late: 50 of 100 GPUs delivered, delay penalty $10.0k"]  # fmt: skip


def test_a_customer_default_names_the_contracts_it_ends_with_their_gpus_and_termination_payment():
    """The 100-GPU contract (4 quarters at $2, a termination payment of half the value left) of a
    customer that defaults in 2026Q3: the contract ends there, paying 0.5 x 100 x $4,380 x 2 quarters
    = $438,000, and its 100 GPUs go to the market at $1 (revenue contracted $438,000 -> 0, market
    $219,000 -> $438,000). A plan without the contract reads that none of it was running."""
    data = data_of(model(termination_payment_share=0.5))
    scen = deterministic_scenarios(data, 1)
    scen.factors["contract_alive"][0, 0, 2:] = False
    path = path_in(data, batch(data, [plan_of(data)]), scen, seed=0)
    assert path.events() == ["2026Q3: customer big defaults: contract anchor ends (100 GPUs, termination "
                             "payment $438.0k), its GPUs offered on the market"]  # fmt: skip
    f = path.frame
    np.testing.assert_allclose(f["revenue_contracted_usd"], [100 * CONTRACT] * 2 + [0.0] * 2, rtol=1e-12)
    np.testing.assert_allclose(f["revenue_market_usd"], [100 * MARKET] * 2 + [200 * MARKET] * 2, rtol=1e-12)
    # the termination payment is cash, not revenue: path.csv's contract_payments_usd in its quarter
    np.testing.assert_allclose(f["contract_payments_usd"], [0.0, 0.0, 438_000.0, 0.0], rtol=1e-12)
    without = plan_of(data, market=200.0)
    without.accepted[0], without.contract_gpus[...] = 0.0, 0.0
    path = path_in(data, batch(data, [without]), scen, seed=0)
    assert path.events() == ["2026Q3: customer big defaults: no contract of it in the plan is running"]


def test_a_contract_the_default_stops_before_its_start_will_not_start():
    """The contract from 2026Q2 (tests/test_policy.py's late block's) of a customer that defaults in
    2026Q1: it never starts."""
    data = data_of(late_block_model())
    plan, scen = late_block(data, delay=0)
    scen.factors["contract_alive"][0, 0, :] = False
    path = path_in(data, batch(data, [plan]), scen, seed=0)
    assert path.events() == ["2026Q1: customer big defaults: contract anchor will not start (100 GPUs from "
                             "2026Q2), its GPUs offered on the market"]  # fmt: skip


@pytest.mark.parametrize("sales", [False, True], ids=["no-sales", "distress-sales"])
def test_the_liquidity_default_is_an_event_after_the_sales_that_did_not_avert_it(sales):
    """The hand-built default above: without sales cash ends 2026Q2 at 1,000,000 - (1 - share) x
    4,000,000 = -$2.18M; with distress sales, their proceeds come in and still leave cash short, so
    the default stays in 2026Q2 and the events say what was sold for how much, then the default."""
    data = data_of(order_model(distress_sales=sales))
    path = path_in(data, batch(data, [order_plan(data)]), price_drop(data, [0, 1]), seed=0)
    f = path.frame
    share = 372_000.0 / 1_810_000.0
    sold = f["distress_sold_usd"].iloc[1]
    assert (sold > 0) == sales and path.default_quarter == "2026Q2"
    np.testing.assert_allclose(f["cash_usd"].iloc[1], 1.0e6 - (1.0 - share) * ORDER + sold, rtol=1e-12)
    # the market GPUs not deferred, 1,200 - 1,000 x share = 994.48, all sold: not enough
    value = (200 * 1_000 + 1_000 * 2_000) / 1_200  # a GPU of either cohort, on average
    np.testing.assert_allclose(sold, (1_200 - 1_000 * share) * value if sales else 0.0, rtol=1e-12)
    sale = f"GPUs sold in distress: 994 hopper for {format_usd(sold)}; " if sales else ""
    assert path.events()[0] == (f"2026Q2: orders deferred $822.1k; {sale}liquidity default: cash ends the "
                                f"quarter at {format_usd(f['cash_usd'].iloc[1])} (revolver balance $0)")


def _distress_sale_path(discount_rate: float = 0.0, **finance):
    """200 hopper GPUs (bought at $4,000 in 2025Q4) and 1,000 blackwell ($8,000), both of a one-year life,
    no cash, $400,000 of overhead a quarter and a market that pays nothing in 2026Q1, sold in lots of
    10 (``finance``: more of the model's finance block), over 2026Q1-2026Q4."""
    d = base_model()
    d["skus"] = {"H": sku(available_from="2025Q1"), "B": sku(generation="blackwell", available_from="2025Q1")}
    fleet = (("H", 200, 4000.0), ("B", 1000, 8000.0))
    d["fleet"] = [{"sku": name, "site": "s1", "purchased": "2025Q4", "gpus": gpus, "use": "training",
                   "capex_per_gpu_usd": price} for name, gpus, price in fleet]
    d["finance"].update(opening_cash_usd=0.0, overhead_usd_per_quarter=400_000.0, **finance)
    d["horizon"]["discount_rate_annual"] = discount_rate
    d["policy"] = {"sale_block_gpus": 10}
    data = data_of(d)
    plan = Plan.empty(data)
    for c in data.cohorts:
        plan.held_training[c.index, :] = c.initial_training
        plan.active[0, c.sku, 0, :] += c.initial_training
    scen = deterministic_scenarios(data, 1)
    scen.factors["price_factor"][0, :, 0] = 0.0  # every generation
    return path_in(data, batch(data, [plan]), scen, seed=0)


def test_a_distress_sale_says_how_many_gpus_of_each_generation_it_sold():
    """:func:`_distress_sale_path`: 2026Q1's cash -400,000, sold in lots of 10, oldest generation
    first, at half the value left after a quarter of a one-year life: the 200 hopper for 1,500 each
    (300,000), then ceil(100,000 / 30,000) = 4 lots of blackwell at 3,000 (120,000). 2026Q1 ends at
    20,000, and 2026Q2's 960 GPUs earn 2,102,400 less the overhead: 1,722,400."""
    path = _distress_sale_path()
    np.testing.assert_allclose(path.frame["distress_sold_usd"].iloc[0], 420_000.0, rtol=1e-12)
    np.testing.assert_allclose(path.frame["cash_usd"].iloc[:2], [20_000.0, 1_722_400.0], rtol=1e-12)
    assert path.events() == ["2026Q1: GPUs sold in distress: 200 hopper and 40 blackwell for $420.0k"]


def test_the_path_has_the_tax_s_basis_and_the_discount_factors_that_give_its_npv():
    """:func:`_distress_sale_path` at 20 % tax and 10 % a year. Depreciation: 2026Q1 200 x 1,000 + 1,000
    x 2,000 = 2,200,000 (the GPUs sold bear the quarter's, policy rule 4); 2026Q2-Q3 960 x 2,000 =
    1,920,000; 2026Q4 none (the year's life spent). The sale's loss, taxed in 2026Q2: 200 x (1,500 -
    3,000) + 40 x (3,000 - 6,000) = -420,000. Taxable income: -400,000 - 2,200,000 = -2,600,000;
    1,702,400 - 1,920,000 - 420,000 = -637,600; -217,600; 1,702,400, taxed 340,480. DF_t = 1.1^-(t+1)/4
    (DF_3 = 1 / 1.1 = 0.909091).
    The fleet is worth nothing at the end (E = 0), so the NPV is sum_t DF_t (C_t - C_{t-1}) from
    C_{-1} = 0: 20,000 DF_0 + 1,702,400 (DF_1 + DF_2) + 1,361,920 DF_3."""
    path = _distress_sale_path(0.1, tax_rate=0.2)
    f = path.frame
    depreciation = [2_200_000.0, 1_920_000.0, 1_920_000.0, 0.0]
    np.testing.assert_allclose(f["depreciation_usd"], depreciation, rtol=1e-12)
    np.testing.assert_allclose(f["gain_on_disposal_usd"], [0.0, -420_000.0, 0.0, 0.0], atol=1e-6)
    taxable = [-2_600_000.0, -637_600.0, -217_600.0, 1_702_400.0]
    np.testing.assert_allclose(f["taxable_income_usd"], taxable, rtol=1e-12)
    np.testing.assert_allclose(f["tax_usd"], [0.0, 0.0, 0.0, 340_480.0], rtol=1e-12)
    factors = 1.1 ** -(np.arange(1, 5) / 4)
    np.testing.assert_allclose(f["discount_factor"], factors, rtol=1e-15)
    npv = 20_000.0 * factors[0] + 1_702_400.0 * (factors[1] + factors[2]) + 1_361_920.0 * factors[3]
    parts = path.npv_parts()
    assert path.end_term["end_term_usd"] == 0.0 and parts["opening_cash_usd"] == 0.0
    assert parts["npv_quarters_usd"] == pytest.approx(npv, abs=1e-6) == path.npv_usd
    assert path.npv_words() == (f"NPV ${npv:,.2f} = quarters' cash changes, discounted, ${npv:,.2f} + end "
                                "term $0.00 x DF 0.909091 (the last quarter's discount factor)")  # fmt: skip

def test_a_notebook_shows_the_npv_line_the_terminal_prints():
    """The NPV to the cent and its two parts, the line `evaluate --explain` prints after its table
    (npv_words), in a notebook's displays too, which named .npv_parts() without it (the HTML one,
    which JupyterLab shows, not even that). The path above: NPV = 20,000 DF_0 + 1,702,400 (DF_1 +
    DF_2) + 1,361,920 DF_3, DF_t = 1.1^-(t+1)/4 = 0.976454, 0.953463, 0.931012, 0.909091: 4,465,768.47,
    all of it the quarters' (E = 0)."""
    path = _distress_sale_path(0.1, tax_rate=0.2)
    line = ("NPV $4,465,768.47 = quarters' cash changes, discounted, $4,465,768.47 + end term $0.00 x DF "
            "0.909091 (the last quarter's discount factor)")  # fmt: skip
    assert path.npv_words() == line
    markdown, html = path._repr_markdown_(), path._repr_html_()
    assert markdown_text(line) in markdown and html_text(line) in html
    # after the quarters, before what to read next, as the terminal prints it after its table
    assert markdown.index("| 2026Q4") < markdown.index(markdown_text(line)) < markdown.index("Next: .frame")
    assert html.index("</table>") < html.index(html_text(line)) < html.index("Next: .frame")


def test_round_off_in_a_distress_sale_is_not_said_as_gpus_sold():
    """The default model's worst scenario of seed 7 said "GPUs sold in distress: 0 blackwell and
    69,120 rubin for $1.57B" (blackwell: round-off of the GPUs left) and, in 2031Q3, "0 rubin for
    $0" on $3.8e-6 of proceeds (that quarter, below LIQUIDITY_TOLERANCE_USD, now says no sale).
    Only generations sold a GPU or more (rounded) are named."""
    from fleetopt.evaluate.path_events import gpus_sold_words

    assert gpus_sold_words([0.0, 1e-9, 69_120.0]) == "69,120 rubin"
    assert gpus_sold_words([107_287.0, 0.0, 15_991.0]) == "107,287 hopper and 15,991 rubin"
    assert gpus_sold_words([0.0, 0.0, 0.3]) == "less than one GPU"


def test_the_headline_gives_the_npv_a_default_leaves_the_shareholders(solve_run):
    """The default model's earliest liquidity default (2026Q4, scenario 608 of seed 7) read "NPV
    $11.95B" alone: the NPV runs on past the default with the shortfall as negative cash. Where a
    default ends the shareholders' claim the headline adds the evaluation's own figures for that
    scenario, with limited liability and if lenders accelerate (tiny: an uncured breach, no
    liquidity default, so only the latter differs); a scenario with no default adds nothing."""
    _, data = fo.load(solve_run / "model.yaml")
    runs = sample_runs(data, read_plans(solve_run, data).compile(data), 40, 3)
    uncured = runs["quarters_before_uncured"][0] < data.T
    s, calm = int(np.flatnonzero(uncured)[0]), int(np.flatnonzero(~uncured)[0])
    path = fo.scenario_path(solve_run, s, seed=3)
    assert (path.npv_limited_usd, path.npv_accelerated_usd) == (runs["npv_limited"][0, s],
                                                                runs["npv_accelerated"][0, s])  # fmt: skip
    assert path.npv_limited_usd == path.npv_usd != path.npv_accelerated_usd  # no liquidity default
    assert (f"NPV {format_usd(path.npv_usd)} ({format_usd(path.npv_accelerated_usd)} if lenders accelerate "
            "at the first event of default); ") in path.headline()
    assert f"NPV {format_usd(runs['npv'][0, calm])}; " in fo.scenario_path(solve_run, calm, seed=3).headline()


def test_the_printed_table_heads_each_figure_with_its_unit_as_the_other_tables_write_it(solve_run):
    """--explain's table headed its EBITDA "ebitda (USD)", where every other table says EBITDA."""
    shown = fo.scenario_path(solve_run, 0, seed=3).shown()
    assert list(shown.columns) == ["quarter", "revenue (USD)", "of it contracted (USD)", "EBITDA (USD)",
                                   "cash (USD)", "debt (USD)", "revolver balance (USD)", "covenants breached",
                                   "liquidity default"]  # fmt: skip

def test_the_uncured_breach_is_an_event_in_the_quarter_the_evaluation_counted(solve_run):
    _, data = fo.load(solve_run / "model.yaml")
    runs = sample_runs(data, read_plans(solve_run, data).compile(data), 40, 3)
    uncured = np.flatnonzero(runs["quarters_before_uncured"][0] < data.T)
    assert uncured.size  # tiny's plan has uncured breaches in some scenarios of seed 3
    s = int(uncured[0])
    path = fo.scenario_path(solve_run, s, seed=3)
    quarter = data.quarter_labels[int(runs["quarters_before_uncured"][0, s])]
    said = [line for line in path.events() if "uncured covenant breach" in line]
    breached = path.frame.set_index("quarter").loc[quarter, "covenants_breached"]
    assert len(said) == 1 and said[0].startswith(f"{quarter}: ")
    assert f"uncured covenant breach ({breached}): an event of default" in said[0]


def test_a_breach_in_the_quarter_of_the_liquidity_default_is_not_said_to_be_cured():
    """tests/test_covenants.py's interest cover breached in quarters 1 and 3 (from 0), with cash
    from 40,000 ending at -11,000 in quarter 3: the first breach cured, the second, in the
    liquidity default's quarter, the uncured breach though four cures are left."""
    from test_covenants import coverage_model, keep_everything

    d = coverage_model()
    d["market"]["price_usd_per_gpu_hour"]["inference"] = {"all": [1.0, 0.5, 1.0, 0.5]}
    d["finance"]["opening_cash_usd"] = 40_000.0
    data = data_of(d)
    path = path_in(data, batch(data, [keep_everything(data)]), deterministic_scenarios(data), seed=0)
    assert list(path.frame["breach"]) == [
        "", "cured", "", "uncured (in the liquidity default's quarter): event of default"
    ]
    assert path.default_quarter == path.uncured_breach_quarter == "2026Q4"


UNCURED_BECAUSE = (  # prices, equity cures, opening cash (None: the model's), each quarter's breach words
    ([1.0, 0.5, 1.0, 0.5], 1, None, ["", "cured", "", "uncured (its 1 cure spent): event of default"]),
    ([1.0, 0.5, 0.5, 1.0], 5, None,
     ["", "cured", "uncured (the quarter before was cured): event of default", ""]),
    ([1.0, 0.5, 1.0, 1.0], 0, None,
     ["", "uncured (finance.covenants.equity_cures is 0): event of default", "", ""]),
    ([1.0, 0.5, 1.0, 0.5], 1, 40_000.0,
     ["", "cured", "", "uncured (in the liquidity default's quarter; its 1 cure spent): event of default"]),
)


@pytest.mark.parametrize(("prices", "cures", "cash", "words"), UNCURED_BECAUSE)
def test_an_uncured_breach_says_why_no_cure_covered_it(prices, cures, cash, words):
    """tests/test_covenants.py's interest cover, breached where the price is 0.5 (quarters from 0):
    with one cure, quarter 1's breach is cured and quarter 3's is past the cures; with five, a
    breach in quarters 1 and 2 in a row, the second uncured as the quarter before was cured; with
    none, quarter 1's. From 40,000 of cash, quarter 3 is also the liquidity default's (cash -11,000):
    both reasons. Each said, where every one read "(liquidity default)" or nothing."""
    from test_covenants import coverage_model, keep_everything

    d = coverage_model()
    d["market"]["price_usd_per_gpu_hour"]["inference"] = {"all": prices}
    d["finance"]["covenants"]["equity_cures"] = cures
    if cash is not None:
        d["finance"]["opening_cash_usd"] = cash
    data = data_of(d)
    path = path_in(data, batch(data, [keep_everything(data)]), deterministic_scenarios(data), seed=0)
    assert list(path.frame["breach"]) == words
    assert (path.default_quarter is not None) == (cash is not None)


def test_a_breach_whose_cash_covers_the_debt_is_said_to_be_no_default():
    """tests/test_covenants.py's case with finance.covenants.cash_covering_debt_cures: prices
    [1, 0.5, 0.1, 1] from $3,850,000 breach in quarters 1 and 2 (from 0); quarter 1's cash, 3,820,500,
    covers its 3,800,000 of debt, quarter 2's 3,666,400 not its 3,700,000: quarter 1 is no default
    and uses no cure, quarter 2 is cured. Without the option quarter 2 is uncured, in a row."""
    from test_covenants import coverage_model, keep_everything

    in_a_row = "uncured (the quarter before was cured): event of default"
    for option, words in ((True, ["", "cash covers the debt: not a default", "cured", ""]),
                          (False, ["", "cured", in_a_row, ""])):  # fmt: skip
        d = coverage_model()
        d["market"]["price_usd_per_gpu_hour"]["inference"] = {"all": [1.0, 0.5, 0.1, 1.0]}
        d["finance"]["opening_cash_usd"] = 3.85e6
        d["finance"]["covenants"]["cash_covering_debt_cures"] = option
        data = data_of(d)
        path = path_in(data, batch(data, [keep_everything(data)]), deterministic_scenarios(data), seed=0)
        assert list(path.frame["breach"]) == words, option
        assert (path.uncured_breach_quarter is None) is option


def test_the_covenants_breached_are_named_as_the_evaluate_tables_name_them():
    """The first case above (interest cover breached in quarters 1 and 3, one cure): the table and the
    event read "interest_coverage", a code, where the evaluate tables say "EBITDA / interest". The
    table's cell read "EBITDA / interest (uncured (its 1 cure spent): event of default)", parentheses
    within parentheses: the breach's words now follow the covenants after "; "."""
    from test_covenants import coverage_model, keep_everything

    d = coverage_model()
    d["market"]["price_usd_per_gpu_hour"]["inference"] = {"all": [1.0, 0.5, 1.0, 0.5]}
    d["finance"]["covenants"]["equity_cures"] = 1
    data = data_of(d)
    path = path_in(data, batch(data, [keep_everything(data)]), deterministic_scenarios(data), seed=0)
    assert list(path.shown()["covenants breached"]) == [
        "", "EBITDA / interest; cured", "",
        "EBITDA / interest; uncured (its 1 cure spent): event of default",
    ]
    assert path.events() == ["2026Q4: uncured covenant breach (EBITDA / interest): an event of default"]


def test_the_cure_field_the_breach_words_name_is_the_one_set_takes():
    """The path's "covenants.equity_cures is 0" and the evaluation's note "at most
    covenants.equity_cures" named a field --set refused ("covenants: no such field"): the block is
    finance's. Each names the field as `--set` and fo.edit take it."""
    from fleetopt.core.metric_columns import CURE_LIMITS

    named = [re.search(r"\((\S+) is 0\)", UNCURED_BECAUSE[2][3][1]).group(1),
             re.search(r"at most (\S+),", CURE_LIMITS).group(1)]  # fmt: skip
    for field in named:
        edited = fo.edit("tiny", {field: 0})
        assert edited.model.finance.covenants.equity_cures == 0, field

def test_a_breach_after_the_liquidity_default_says_so():
    """tests/test_covenants.py's six quarters: the liquidity default in quarter 1 (cash below the
    1,037,000 floor), the only breach in quarter 5, uncured with five cures left, cash back by then."""
    from test_covenants import default_then_breach_model, keep_everything

    data = data_of(default_then_breach_model())
    path = path_in(data, batch(data, [keep_everything(data)]), deterministic_scenarios(data), seed=0)
    after = "uncured (after the liquidity default): event of default"
    assert list(path.frame["breach"]) == ["", "", "", "", "", after]
    assert path.default_quarter == "2026Q2"


def test_idle_gpus_put_to_work_count_in_the_market_revenue_and_the_electricity():
    """tests/test_idle_gpus.py's instance under policy rule 5: 100 GPUs on the training market and 80
    of the 100 idle ones put to work for the 180 GPUs of demand, each earning $2,190 and drawing 0.8
    kW more ($175.20 a quarter) on top of the plan's $26,280: market revenue 180 x $2,190 = $394,200,
    electricity $26,280 + 80 x $175.20 = $40,296, EBITDA $353,904."""
    d = idle_model()
    d["policy"] = {"idle_gpus_to_market": True}
    data = data_of(d)
    scen = deterministic_scenarios(data, 1)
    scen.factors["demand"][0, 0, :] = 180.0
    f = path_in(data, batch(data, [idle_plan(data)]), scen, seed=0).frame
    np.testing.assert_allclose(f["revenue_market_usd"], [180 * GPU_QUARTER] * 4, rtol=1e-12)
    np.testing.assert_allclose(f["electricity_usd"], [PLANNED_BILL + 80 * EXTRA_BILL] * 4, rtol=1e-12)
    np.testing.assert_allclose(f["ebitda_usd"], [353_904.0] * 4, rtol=1e-12)
    reconciled = f["revenue_usd"] - f["electricity_usd"] - f["opex_usd"] - f["contract_penalties_usd"]
    np.testing.assert_allclose(reconciled, f["ebitda_usd"], rtol=0.0, atol=1e-6)


def test_a_rule_that_finds_no_default_says_what_to_give_instead_from_python_and_the_cli(solve_run, tmp_path):
    """`fo.scenario_path(run, "first-default")` where no scenario of tiny's 30 of seed 11 has a
    liquidity default (its defaults are uncured breaches) ended "--explain N shows any scenario", the
    command's option, in Python: it names both ways to give a scenario's number."""
    code, out, err = run_cli("evaluate", "--plans", str(solve_run), "--scenarios", "30", "--seed", "11",
                             "--explain", "first-default", "--out", str(tmp_path / "E"))
    instead = ("a scenario's number in the rule's place shows any scenario (--explain 0; "
               "scenario_path(run, 0) from Python)")
    said = " ".join(out.split())
    assert code == 0, err
    assert (f"--explain first-default: no scenario of 30 has a liquidity default (an uncured "
                          f"covenant breach is not one: first-any-default finds either); {instead}; nothing "
                          "to explain.") in said, said
    with pytest.raises(fo.InputError) as refused:
        fo.scenario_path(tmp_path / "E", "first-default")
    assert str(refused.value).endswith(f"; {instead}; nothing to explain"), refused.value


def test_scenario_path_picks_by_the_rules_of_explain_and_says_why_as_the_cli_does(solve_run, tmp_path):
    """`fo.scenario_path(run, "worst")` was refused (scenario must be a whole number): only `evaluate
    --explain` picked by a rule. Of an evaluation's 30 scenarios of seed 11, "worst" is the lowest NPV
    of its matrix, "median" the 15th lowest (30 is even: the lower of the two middle ones), each with
    the CLI's scenario and why (its path.json); a rule that finds no default is refused, saying so."""
    code, out, err = run_cli("evaluate", "--plans", str(solve_run), "--scenarios", "30", "--seed", "11",
                             "--keep-matrix", "--explain", "median", "--out", str(tmp_path / "E"))
    assert code == 0, out + err
    npv = np.load(tmp_path / "E" / "npv_matrix.npy")[0]
    worst = fo.scenario_path(tmp_path / "E", "worst")
    assert (worst.scenario, worst.npv_usd, worst.why) == (int(np.argmin(npv)), npv.min(),
                                                           "the lowest NPV of 30 scenarios")  # fmt: skip
    median = fo.scenario_path(tmp_path / "E", "median")
    assert median.scenario == int(np.argsort(npv, kind="stable")[14])
    assert median.why.startswith("the lower of the two middle NPVs of 30 scenarios")
    cli = json.loads((tmp_path / "E" / "path.json").read_text())
    assert (cli["scenario"], cli["why"]) == (median.scenario, median.why)
    assert fo.scenario_path(tmp_path / "E", "7").scenario == 7
    assert fo.scenario_path(tmp_path / "E", 7).why == "as asked"
    with pytest.raises(fo.InputError, match=r"scenario \(--explain\) must be worst, median, first-default"):
        fo.scenario_path(tmp_path / "E", "best")
    said = "'first-default': no scenario of 30 has a liquidity default"  # tiny's defaults: uncured breaches
    with pytest.raises(fo.InputError, match=re.escape(said)):
        fo.scenario_path(tmp_path / "E", "first-default")
    assert fo.scenario_path(tmp_path / "E", "first-any-default").why.endswith("23 of 30 scenarios have one")
