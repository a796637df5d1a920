"""Policy rule 6, `prepay_borrowing_base` (docs/evaluation.md, "Policy"): a borrowing-base deficiency
mended by a mandatory prepayment of the excess, from cash above the floor, then the undrawn revolver.

The instance (`test_policy.model`, no contract): 1,000 GPUs of SKU A bought in 2025Q4 at $100,000,
worth 100 % of it at every age the horizon's 4 quarters see, so the fleet is worth $100M in each; a
GPU-secured loan of $80M at 8 % (2 % a quarter) at `max_ltv` 0.7, repaid $10M a quarter over 8
quarters: $70M owed at the end of quarter 0, which needs 70 / 0.7 = $100M of collateral. At a resale
factor of 0.9 in quarter 0 the fleet is worth $90M: $10M of collateral short, which 10 x 0.7 = $7M of
principal repaid mends. Opening cash $1B, no tax, the minimum cash 0 unless told.
"""

from __future__ import annotations

import io
import re
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import yaml
from conftest import interrupt_at, run_cli
from evaluate_builders import batch, plan_variants
from milp_builders import data_of
from test_borrowing_base import BASE_BIT, resale
from test_policy import BACKENDS, NO_COMPILER, model

from fleetopt import api
from fleetopt.cli.render.evaluate import reactions_table
from fleetopt.core.metric_columns import METRIC_COLUMNS
from fleetopt.core.plan import Plan
from fleetopt.core.results.risk_sentences import survival_in_short
from fleetopt.evaluate.chunk_store import ChunkStore
from fleetopt.evaluate.covenant_tests import base_cure_order
from fleetopt.evaluate.engine import evaluate
from fleetopt.evaluate.kernel.cpu import CpuKernel, cpu_kernel
from fleetopt.evaluate.kernel.shape import kernel_fits
from fleetopt.evaluate.metrics import BASE_PREPAY_COLUMNS, plan_metrics, reactions_taken
from fleetopt.evaluate.path import path_in
from fleetopt.evaluate.planfile import save_plans
from fleetopt.evaluate.result_fields import BASE_PREPAY_FIELDS, RESULT_FIELDS, fields_kept
from fleetopt.evaluate.scenarios import deterministic_scenarios, generate_scenarios
from fleetopt.evaluate.simulate import SimulationConstants, simulate
from fleetopt.report.key_figures import _reaction_kpis
from fleetopt.schema.model_file import bundled_model_path
from fleetopt.schema.policy import Policy

RULE_OFF, RULE_ON = Policy(), Policy(prepay_borrowing_base=True)
LINES = ("cash_usd", "interest_usd", "debt_usd", "revolver_balance_usd", "prepayment_usd")
LOAN = {"fixed_rate_annual": 0.08, "draw_from": "2026Q1", "draw_until": "2026Q1"}


def prepay_model(loans: dict[str, tuple] | None = None, revolver_usd: float = 0.0) -> dict:
    """The instance, with ``loans`` (name: (opening balance, max_ltv, quarters repaid over)) in place
    of the $80M one, and a revolver of ``revolver_usd`` at 0 %."""
    d = model(capacity_mw=2.0)
    d["contracts"] = {}
    d["fleet"][0].update(gpus=1000, capex_per_gpu_usd=100_000.0)
    d["skus"]["A"].update(useful_life_years=2.0, resale_fraction_by_age_years=[1.0, 1.0, 0.0])
    d["finance"]["facilities"] = {
        name: {"size_usd": opening, "opening_balance_usd": opening, "max_ltv": ltv,
               "amortization_quarters": n, **LOAN}
        for name, (opening, ltv, n) in (loans or {"gpu-loan": (80e6, 0.7, 8)}).items()
    }
    if revolver_usd:
        d["finance"]["revolver"] = {"size_usd": revolver_usd, "annual_rate": 0.0}
    return d


def fleet_plan(data) -> Plan:
    plan = Plan.empty(data)
    plan.held_training[0, :] = 1000.0
    plan.active[0, 0, 0, :] = 1000.0
    return plan


def run(data, policy: Policy, factors: dict[int, float], kernel: bool = False) -> dict:
    """The NumPy simulation of the plan with quarterly ``LINES``, at resale ``factors``; with ``kernel``,
    also the CPU build of the fused kernel, which must agree with it on every result (to 1e-12)."""
    consts = SimulationConstants.from_data(data).with_policy(policy)
    plans, scen = batch(data, [fleet_plan(data)]), resale(data, factors)
    out = simulate(consts, plans, scen, record=LINES)
    if kernel:
        agree(cpu_kernel(threads=1).simulate(consts, plans, scen), out)
    return out


def agree(got: dict, want: dict) -> None:
    """The kernel's results ``got`` are NumPy's ``want``, rule 6's where it is on, to 1e-12."""
    assert set(got) == set(want) - set(LINES)
    for name in got:
        np.testing.assert_allclose(got[name], want[name], rtol=1e-12, atol=1e-6, err_msg=name)


def line(out: dict, name: str) -> np.ndarray:
    return out[name][0, 0]


@pytest.mark.parametrize("kernel", BACKENDS)
def test_a_deficiency_of_10m_of_collateral_is_mended_by_7m_of_principal_that_bears_no_interest_after(kernel):
    data = data_of(prepay_model())
    off, on = run(data, RULE_OFF, {0: 0.9}, kernel), run(data, RULE_ON, {0: 0.9}, kernel)
    assert off["first_breach"][0, 0] == BASE_BIT and "base_prepaid" not in off  # counted, not paid
    assert on["breach"][0, 0] == 0.0  # the base is tested after the prepayment: met exactly
    np.testing.assert_allclose(line(on, "prepayment_usd")[0], 7e6, rtol=1e-12)
    np.testing.assert_allclose(line(off, "cash_usd")[0] - line(on, "cash_usd")[0], 7e6, rtol=1e-12)
    np.testing.assert_allclose(line(on, "debt_usd")[0], 63e6, rtol=1e-12)
    # quarter 1's interest is 2 % of 63M, not of 70M: 140,000 less; its $10M instalment is paid as
    # planned (the prepayment shortens the last instalments, after the horizon here)
    saved = line(off, "interest_usd")[1] - line(on, "interest_usd")[1]
    np.testing.assert_allclose(saved, 140_000.0, rtol=1e-9)
    np.testing.assert_allclose(line(on, "debt_usd")[1:], [53e6, 43e6, 33e6], rtol=1e-12)
    assert on["base_prepaid"][0, 0] == 1.0
    np.testing.assert_allclose(on["base_prepaid_usd"][0, 0], 7e6, rtol=1e-12)


@pytest.mark.parametrize("kernel", BACKENDS)
def test_a_factor_that_leaves_the_base_met_prepays_nothing_and_changes_no_figure(kernel):
    data = data_of(prepay_model())
    off, on = run(data, RULE_OFF, {0: 1.0}, kernel), run(data, RULE_ON, {0: 1.0}, kernel)
    assert on["base_prepaid"][0, 0] == 0.0 and on["base_prepaid_usd"][0, 0] == 0.0
    for name in off:
        np.testing.assert_array_equal(on[name], off[name], err_msg=name)


def floor_below_cash(extra: float, revolver_usd: float, buffer: float = 0.0,
                     default_at_floor: bool = False, kernel: bool = False) -> tuple:  # fmt: skip
    """The instance with the minimum cash (plus ``buffer``, the policy's) ``extra`` below quarter 0's
    cash without the rule, and a revolver of ``revolver_usd``: the data and the two runs. The
    default level is 0 (no distress sale: the $10M instalments take cash below the minimum from
    quarter 1), or the minimum with ``default_at_floor``."""
    d = prepay_model(revolver_usd=revolver_usd)
    cash_0 = float(line(run(data_of(d), RULE_OFF, {0: 0.9}), "cash_usd")[0])
    d["finance"]["min_cash_usd"] = cash_0 - extra - buffer
    d["finance"]["default_cash_usd"] = d["finance"]["min_cash_usd"] if default_at_floor else 0.0
    d["policy"] = {"liquidity_buffer_usd": buffer}
    data = data_of(d)
    on = Policy(prepay_borrowing_base=True, liquidity_buffer_usd=buffer)
    off = Policy(liquidity_buffer_usd=buffer)
    return data, run(data, off, {0: 0.9}, kernel), run(data, on, {0: 0.9}, kernel)


@pytest.mark.parametrize("kernel", BACKENDS)
@pytest.mark.parametrize("buffer", [0.0, 3e6])
def test_cash_above_the_floor_pays_first_and_the_revolver_the_rest(buffer, kernel):
    """$5M of cash above the minimum (plus the buffer): the revolver draws the other $2M; cash ends on
    the floor and the base is met."""
    data, off, on = floor_below_cash(5e6, revolver_usd=10e6, buffer=buffer, kernel=kernel)
    np.testing.assert_allclose(line(on, "cash_usd")[0], data.min_cash + buffer, rtol=1e-12)
    np.testing.assert_allclose(line(on, "revolver_balance_usd")[0], 2e6, rtol=1e-12)
    np.testing.assert_allclose(line(on, "prepayment_usd"), [7e6, 0.0, 0.0, 0.0], atol=1e-6)
    np.testing.assert_allclose(on["base_prepaid_usd"][0, 0], 7e6, rtol=1e-12)
    assert on["breach"][0, 0] == 0.0 and off["breach"][0, 0] == 1.0


@pytest.mark.parametrize("kernel", BACKENDS)
def test_a_deficiency_cash_and_revolver_cannot_pay_in_full_is_partly_prepaid_and_still_a_breach(kernel):
    """$5M of cash above the minimum and a $1M revolver prepay $6M of the $7M: $64M needs $91.4M of
    collateral against $90M, a breach counted as before."""
    data, off, on = floor_below_cash(5e6, revolver_usd=1e6, kernel=kernel)
    np.testing.assert_allclose(on["base_prepaid_usd"][0, 0], 6e6, rtol=1e-12)
    np.testing.assert_allclose(line(on, "debt_usd")[0], 64e6 + 1e6, rtol=1e-12)  # the revolver's 1M too
    np.testing.assert_allclose(line(on, "cash_usd")[0], data.min_cash, rtol=1e-12)
    assert on["first_breach"][0, 0] == off["first_breach"][0, 0] == BASE_BIT


@pytest.mark.parametrize("kernel", BACKENDS)
def test_no_gpu_is_sold_to_mend_the_base(kernel):
    """With no cash above the minimum, the default level at it, and no revolver, quarter 0 prepays
    nothing and sells nothing (the distress sale, on as by default, acts only below the default
    level): it is the run without the rule, a breach."""
    _, off, on = floor_below_cash(0.0, revolver_usd=0.0, default_at_floor=True, kernel=kernel)
    for name in LINES:
        assert line(on, name)[0] == line(off, name)[0], name
    assert on["first_breach"][0, 0] == BASE_BIT and on["quarters_before_breach"][0, 0] == 0.0


def two_loans(factor: float, kernel: bool) -> tuple[dict, dict]:
    """$64M at `max_ltv` 0.7 over 8 quarters and $4.5M at 0.5 over 9: $56M and $4M owed after
    quarter 0, needing 80 + 8 = $88M of collateral; both runs at ``factor`` in quarter 0."""
    data = data_of(prepay_model({"loan-70": (64e6, 0.7, 8), "loan-50": (4.5e6, 0.5, 9)}))
    return run(data, RULE_OFF, {0: factor}, kernel), run(data, RULE_ON, {0: factor}, kernel)


@pytest.mark.parametrize("kernel", BACKENDS)
def test_the_loan_at_the_smaller_max_ltv_is_repaid_first(kernel):
    """At 0.85 the fleet is worth $85M, $3M short: $1.5M repaid on the 0.5 loan (2 USD of collateral
    a USD) mends it, where the 0.7 loan would need $2.1M."""
    off, on = two_loans(0.85, kernel)
    np.testing.assert_allclose(on["base_prepaid_usd"][0, 0], 1.5e6, rtol=1e-12)
    np.testing.assert_allclose(line(off, "debt_usd")[0] - line(on, "debt_usd")[0], 1.5e6, rtol=1e-12)
    assert on["breach"][0, 0] == 0.0
    # quarter 1: 2 % interest on 1.5M less
    saved = line(off, "interest_usd")[1] - line(on, "interest_usd")[1]
    np.testing.assert_allclose(saved, 30_000.0, rtol=1e-9)


@pytest.mark.parametrize("kernel", BACKENDS)
def test_a_deficiency_beyond_the_first_loan_goes_on_to_the_next(kernel):
    """At 0.75 the fleet is worth $75M, $13M short: the 0.5 loan's whole $4M frees $8M, and the 0.7
    loan repays 5 x 0.7 = $3.5M for the other $5M: $7.5M in all."""
    off, on = two_loans(0.75, kernel)
    np.testing.assert_allclose(on["base_prepaid_usd"][0, 0], 7.5e6, rtol=1e-12)
    np.testing.assert_allclose(line(on, "debt_usd")[0], 52.5e6, rtol=1e-12)
    assert on["breach"][0, 0] == 0.0 and off["breach"][0, 0] == 1.0


def test_the_cure_order_is_the_smallest_max_ltv_first_ties_in_the_model_s_order():
    weights = np.array([1 / 0.7, 0.0, 1 / 0.5, 1 / 0.7])
    assert base_cure_order(weights) == [2, 0, 3]


def rule(data, on: bool) -> Policy:
    """The model's policy with the rule ``on`` or off."""
    return data.policy.model_copy(update={"prepay_borrowing_base": on})


def test_on_tiny_the_rule_changes_only_the_futures_whose_base_it_mends():
    """tiny's forecast optimum (tests/test_borrowing_base.py: its base used in full in most quarters)
    on 60 scenarios: with the rule off, every result as before; on, the scenarios it prepays in
    breach the base no more often, and those with no prepayment are bit for bit the rule-off ones."""
    loaded, data = api.load(bundled_model_path("tiny"))
    plans = batch(data, [api.solve(loaded).plan])
    scen = generate_scenarios(data, 7, 0, 60)
    consts = SimulationConstants.from_data(data)
    off = simulate(consts, plans, scen)
    again = simulate(consts.with_policy(rule(data, False)), plans, scen)
    for name in off:
        np.testing.assert_array_equal(again[name], off[name], err_msg=name)
    on = simulate(consts.with_policy(rule(data, True)), plans, scen)
    prepaid = on["base_prepaid"][0] > 0
    assert prepaid.any()
    for name in off:
        np.testing.assert_array_equal(on[name][0, ~prepaid], off[name][0, ~prepaid], err_msg=name)
    assert on["breach"][0].sum() <= off["breach"][0].sum()


@pytest.mark.skipif(NO_COMPILER, reason="no C compiler")
def test_the_fused_kernel_makes_the_prepayments_on_tiny_as_numpy_does():
    """tiny's optimum and its variants on 200 scenarios of its own risk, the rule on: the C build
    (kernel_fits takes it) agrees with NumPy on every result and rule 6's, some pairs prepaying;
    the rule off, the kernel gives no rule 6 result."""
    loaded, data = api.load(bundled_model_path("tiny"))
    variants, labels = plan_variants(data, api.solve(loaded).plan)
    plans, scen = batch(data, variants, labels), generate_scenarios(data, 7, 0, 200)
    consts = SimulationConstants.from_data(data)
    on = consts.with_policy(rule(data, True))
    assert kernel_fits(plans, on) is None
    want = simulate(on, plans, scen)
    agree(cpu_kernel(threads=1).simulate(on, plans, scen), want)
    assert (want["base_prepaid"] > 0).any()
    assert not set(BASE_PREPAY_FIELDS) & set(cpu_kernel(threads=1).simulate(consts, plans, scen))


@pytest.fixture
def gpu_code():
    """The C build with the GPU's code paths (tests/test_kernel_cpu.py)."""
    if NO_COMPILER:
        pytest.skip("no C compiler")
    return CpuKernel(threads=1, gpu_code=True)


def test_prepayments_with_cancelled_orders_and_cut_prepayments_agree_in_both_builds(gpu_code):
    """tests/test_kernel_cpu.py's cancelled order's draws with cut prepayments and a borrowing base at
    a 30 % loan-to-value, under random prices, resale values and rates, with rule 6 on: pairs that
    prepay their base, cancel part of an order (its draws never drawn, repaid in the plan's shares
    above the pair's lower balance) and cut a prepayment (kept on the facility, then prepaid first)
    in the same run; the C build, with the CPU's and the GPU's code paths, agrees with NumPy."""
    from test_kernel_cpu import cancelled_order_with_cuts

    data, plan, scen = cancelled_order_with_cuts()
    consts = SimulationConstants.from_data(data).with_policy(
        Policy(liquidity_buffer_usd=1.0e6, prepay_borrowing_base=True))
    plans = batch(data, [plan])
    want = simulate(consts, plans, scen)
    for kernel in (cpu_kernel(threads=1), gpu_code):
        agree(kernel.simulate(consts, plans, scen), want)
    prepaid = want["base_prepaid"] > 0
    assert (prepaid & (want["order_cancelled"] > 0)).any() and (prepaid & (want["prepayment_cut"] > 0)).any()


def test_the_plan_s_metrics_count_the_prepayments_as_the_other_reactions_only_where_the_rule_is_on():
    """Two scenarios, one at a factor of 0.9 in quarter 0 ($7M prepaid) and one at 1 (none): a share of
    0.5 and a mean of $3.5M; without the rule neither column."""
    data = data_of(prepay_model())
    scen = deterministic_scenarios(data, 2)
    scen.factors["resale_factor"][0, 0] = 0.9
    plans = batch(data, [fleet_plan(data)])
    on = {"base_prepaid_share": 0.5, "base_prepaid_mean_usd": 3.5e6}
    for policy, want in ((RULE_ON, on), (RULE_OFF, {})):
        out = simulate(SimulationConstants.from_data(data).with_policy(policy), plans, scen)
        got = {k: v[0] for k, v in plan_metrics(out, quarters=data.T).items() if k in BASE_PREPAY_COLUMNS}
        assert got == pytest.approx(want, rel=1e-12)
    assert set(fields_kept(False, base_prepay=True)) - set(RESULT_FIELDS) == set(BASE_PREPAY_FIELDS)


def test_one_scenario_s_path_shows_the_prepayment_in_its_quarter_and_in_words_only_where_the_rule_is_on():
    d = prepay_model()
    plans = batch(data_of(d), [fleet_plan(data_of(d))])
    off = path_in(data_of(d), plans, resale(data_of(d), {0: 0.9}), 7).frame
    d["policy"] = {"prepay_borrowing_base": True}
    data = data_of(d)
    on = path_in(data, plans, resale(data, {0: 0.9}), 7).frame
    assert "base_prepaid_usd" not in off.columns
    np.testing.assert_allclose(on["base_prepaid_usd"], [7e6, 0.0, 0.0, 0.0], atol=1e-6)
    assert on["reactions"].iloc[0] == "borrowing base prepaid $7.0M" and off["reactions"].iloc[0] == ""


def deficient_model() -> dict:
    """The instance with no uncertainty (every scenario the forecast), its GPUs worth 90 % of their
    price at every age the horizon sees, and the rule on: $90M of fleet against the $100M of
    collateral quarter 0's $70M needs, so that every scenario prepays $7M in quarter 0 (the first
    test's case) and none after ($53M then needs $75.7M)."""
    d = prepay_model()
    d["risk"] = {}
    d["skus"]["A"]["resale_fraction_by_age_years"] = [0.9, 0.9, 0.0]
    d["policy"] = {"prepay_borrowing_base": True}
    return d


PREPAID_EVERYWHERE = {"base_prepaid_share": 1.0, "base_prepaid_mean_usd": 7e6}


@pytest.fixture(scope="module")
def deficient_files(tmp_path_factory):
    """The deficient instance's model file and a plan file of its fleet plan."""
    folder = tmp_path_factory.mktemp("deficient")
    (folder / "model.yaml").write_text(yaml.safe_dump(deficient_model(), sort_keys=False), encoding="utf-8")
    loaded, data = api.load(str(folder / "model.yaml"))
    save_plans(folder / "plans.npz", [fleet_plan(data)], ["fleet"], loaded.model.name, loaded.content_hash)
    return folder


@pytest.mark.parametrize("budget", [None, "300KB"], ids=["rows-in-memory", "rows-in-a-file"])
def test_fleetopt_evaluate_writes_the_prepayments_to_metrics_csv(deficient_files, here, budget):
    """`fleetopt evaluate` of the deficient instance on 2,000 scenarios writes rule 6's columns:
    every scenario prepays $7M; so it does where a budget of 300 KB sends the rows of results to a
    file (2,000 x 232 bytes, more than half the budget) block by block. Without the rule neither
    column is written."""
    files = str(deficient_files / "model.yaml"), "--plans", str(deficient_files / "plans.npz")
    options = ("--scenarios", "2000") + (() if budget is None else ("--max-memory", budget))
    code, out, err = run_cli("evaluate", *files, *options, "--out", "on")
    assert code == 0, out + err
    assert ("rows of results go to a file" in err) == (budget is not None)
    metrics = pd.read_csv(here / "on" / "metrics.csv", comment="#").iloc[0]
    assert metrics[list(BASE_PREPAY_COLUMNS)].to_dict() == pytest.approx(PREPAID_EVERYWHERE, rel=1e-12)
    assert metrics["breach_probability"] == 0.0
    code, out, err = run_cli("evaluate", *files, *options, "--out", "off", "--set",
                             "policy.prepay_borrowing_base=false")  # fmt: skip
    assert code == 0, out + err
    off = pd.read_csv(here / "off" / "metrics.csv", comment="#")
    assert not set(BASE_PREPAY_COLUMNS) & set(off.columns) and off["breach_probability"][0] == 1.0


def test_a_stopped_run_resumes_with_the_prepayments_of_its_kept_rows_and_stored_chunks(tmp_path):
    """12 copies of the fleet plan on 300 scenarios within 200,000 bytes (tests/test_jobs.py's
    resume): chunks of 6 plans, blocks of 22 scenarios, the rows in a file. Stopped at the 20th
    block, the first chunk stored and 132 scenarios of the second kept in its rows (rule 6's fields
    among them, so that a store bound to no run finds them); the resume reads back the stored
    chunk, with its columns, under a job's check of its metrics, and goes on from the kept rows: a
    straight run's metrics to the bit, every plan prepaying $7M in every scenario."""
    data = data_of(deficient_model())
    plans = batch(data, [fleet_plan(data)] * 12)

    def tight(store=None, progress=None):
        return evaluate(data, plans, 300, seed=5, backend="numpy", max_memory=200_000, store=store,
                        progress=progress)  # fmt: skip

    reference = tight()
    store = ChunkStore(tmp_path / "chunks", 300, tuple(METRIC_COLUMNS))
    with pytest.raises(KeyboardInterrupt):
        tight(store, interrupt_at(20))
    assert store.ranges() == [(0, 6)] and ChunkStore(tmp_path / "chunks", 300).unfinished() == {(6, 12): 132}
    resumed = tight(store)
    assert resumed.pairs_computed == 6 * (300 - 132)
    pd.testing.assert_frame_equal(resumed.metrics, reference.metrics, check_exact=True)
    for column, value in PREPAID_EVERYWHERE.items():
        assert resumed.metrics[column].tolist() == pytest.approx([value] * 12, rel=1e-12)

def _shown(metrics: pd.DataFrame) -> tuple[str, list[str], str, list[str]]:
    """What the policy's reactions show of a plan's metrics: the terminal's table (its text), the report's
    key figures over the scenarios (words: figure), the reactions taken (the forecast's table's, a
    deterministic evaluation's) and "In short"'s sentence."""
    from rich.console import Console

    out = io.StringIO()
    Console(file=out, width=300).print(reactions_table(metrics, "what the policy had to do", contracts=False))
    run, row = SimpleNamespace(data=SimpleNamespace(contracts=[])), metrics.iloc[0]
    kpis = [f"{k.label}: {k.value}" for k in _reaction_kpis(run, row)]
    return out.getvalue(), kpis, reactions_taken(row), survival_in_short(row)


# the reactions of a model without contracts, as the report's key figures say them where none acted
NO_REACTION = ["scenarios with: order deferred: 0.0%", "scenarios with: order cancelled: 0.0%",
               "scenarios with: distress sale: 0.0%", "scenarios with: prepayment cut: 0.0%"]
NO_USD = ["mean capex deferred: $0", "mean deposits forfeited: $0", "mean distress-sale proceeds: $0"]


def test_the_prepayments_are_shown_beside_the_other_reactions_only_where_the_metrics_have_them():
    """The two scenarios above (one prepaid $7M, one nothing): with the rule on, the terminal's reactions
    table has 'borrowing base prepaid' 50.0% and its mean, $3.5M, after the other reactions, the report's
    key figures 'scenarios with: borrowing base prepaid' and 'mean borrowing base prepaid', the reactions
    taken name it and "In short" says the policy had to prepay in 50.0 % of the futures. With the rule
    off none of it: every table, figure and sentence as a run without the rule shows them."""
    data = data_of(prepay_model())
    scen = deterministic_scenarios(data, 2)
    scen.factors["resale_factor"][0, 0] = 0.9
    plans = batch(data, [fleet_plan(data)])
    frames = {}
    for policy in (RULE_ON, RULE_OFF):
        out = simulate(SimulationConstants.from_data(data).with_policy(policy), plans, scen)
        frames[policy] = pd.DataFrame({"plan": ["fleet"], **plan_metrics(out, quarters=data.T)})
    table, kpis, taken, said = _shown(frames[RULE_ON])
    assert re.search(r"│ fleet │( +0\.0% │){4} +50\.0% │( +\$0 │){3} +\$3\.5M │", table), table
    assert "mean borrowing base prepaid (USD)" in " ".join(table.split())
    assert kpis == [*NO_REACTION, "scenarios with: borrowing base prepaid: 50.0%", *NO_USD,
                    "mean borrowing base prepaid: $3.5M"]
    assert taken == "borrowing base prepaid"
    assert said == ["Its policy had to prepay debt to mend the borrowing base in 50.0% of the futures."]
    table, kpis, taken, said = _shown(frames[RULE_OFF])
    assert "borrowing base" not in table and re.search(r"│ fleet │( +0\.0% │){4}( +\$0 │){3}\n", table), table
    assert (kpis, taken, said) == ([*NO_REACTION, *NO_USD], "none", [])
