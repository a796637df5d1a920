"""Models, solved plans and evaluation helpers shared by the evaluator tests (test_evaluate_*.py).

Models are plain dicts (as in `milp_builders`), so a test can switch one risk factor on or off
and evaluate the same plan against both versions. Solves are cached per model name for the
whole test session: each instance here solves in well under a second.
"""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import yaml
from milp_builders import base_model, data_of, sku

from fleetopt.core.data import ModelData
from fleetopt.core.plan import Plan
from fleetopt.evaluate.batch import compile_plans
from fleetopt.evaluate.engine import evaluate
from fleetopt.evaluate.planbatch import PlanBatch
from fleetopt.evaluate.result import EvaluationResult
from fleetopt.milp.solve import SolveResult, solve

REPO = Path(__file__).resolve().parent.parent
TINY_PATH = REPO / "models" / "tiny.yaml"


def tiny_model() -> dict:
    """The bundled tiny model as a dict (it has a full `risk` block and a floating term loan)."""
    return yaml.safe_load(TINY_PATH.read_text(encoding="utf-8"))


def power_debt_model() -> dict:
    """One site whose 0.5 MW cannot carry the 1,400 GPUs (1.2 kW each with PUE) the plan wants.

    The MILP builds two 1 MW blocks in the first quarter (online two quarters later), borrows on a
    floating-rate loan amortised over six quarters, serves a signed contract with a delivery
    deadline and a cancellation penalty, pays tax, and meets a DSCR covenant with equality in
    the first quarter tested (so a covenant test without round-off tolerance would fail it).
    """
    d = base_model()
    d["name"] = "power-debt"
    d["horizon"].update(quarters=8, discount_rate_annual=0.10)
    d["skus"]["A"] = sku(useful_life_years=2.0, resale_fraction_by_age_years=[1.0, 0.5, 0.0])
    d["sites"]["s1"].update(
        power_capacity_mw=0.5,
        pue=1.2,
        electricity_price_usd_per_mwh=60.0,
        fixed_cost_per_mw_quarter_usd=10000.0,
        expansion={"block_mw": 1.0, "capex_per_mw_usd": 1.5e6, "lead_time_quarters": 2,
                   "earliest_start": "2026Q1", "max_blocks": 2, "useful_life_years": 10.0},
    )  # fmt: skip
    d["market"]["demand_gpus"] = {"training": 1200.0, "inference": 0.0}
    d["contracts"] = {
        "anchor": {"customer": "big", "use": "training", "eligible_skus": ["A"], "gpus": 200,
                   "start": "2026Q2", "term_quarters": 6, "price_usd_per_gpu_hour": 1.3, "signed": True,
                   "delivery_deadline": "2026Q3", "cancellation_penalty_usd": 100000.0}
    }  # fmt: skip
    d["finance"].update(
        opening_cash_usd=1.5e6, min_cash_usd=2.0e5, reference_rate_annual=0.04, tax_rate=0.2,
        overhead_usd_per_quarter=50000.0,
    )  # fmt: skip
    d["finance"]["facilities"] = {
        "loan": {"size_usd": 6.0e6, "spread_over_reference_annual": 0.05, "amortization_quarters": 6,
                 "draw_from": "2026Q1", "draw_until": "2026Q4"}
    }  # fmt: skip
    d["finance"]["revolver"] = {"size_usd": 1.0e6, "annual_rate": 0.15}
    d["finance"]["covenants"] = {"test_from": "2026Q2", "min_dscr": 1.1}
    return d


def concentrated_model() -> dict:
    """A book that is one customer: 1,000 GPUs bought on a fixed-rate loan to serve one signed
    contract, with a market of only 50 GPUs. If that customer defaults, EBITDA collapses and the
    DSCR covenant breaks. Its only facility is fixed-rate; no tax; the fleet is kept to the end."""
    d = base_model()
    d["name"] = "concentrated"
    d["horizon"].update(quarters=8, discount_rate_annual=0.10)
    d["skus"]["A"] = sku(useful_life_years=3.0, resale_fraction_by_age_years=[1.0, 0.6, 0.3, 0.1])
    d["market"]["demand_gpus"] = {"training": 50.0, "inference": 0.0}
    d["contracts"] = {
        "anchor": {"customer": "bigco", "use": "training", "eligible_skus": ["A"], "gpus": 1000,
                   "start": "2026Q1", "term_quarters": 8, "price_usd_per_gpu_hour": 1.5, "signed": True}
    }  # fmt: skip
    d["finance"].update(opening_cash_usd=1.0e6, min_cash_usd=1.0e5)
    d["finance"]["facilities"] = {
        "loan": {"size_usd": 5.0e6, "fixed_rate_annual": 0.08, "amortization_quarters": 8,
                 "draw_from": "2026Q1", "draw_until": "2026Q2"}
    }  # fmt: skip
    d["finance"]["revolver"] = {"size_usd": 2.0e6, "annual_rate": 0.15}
    d["finance"]["covenants"] = {"test_from": "2026Q2", "min_dscr": 1.2}
    return d


def two_site_model() -> dict:
    """`power_debt_model` with a second site that also builds, a second (optional, inference)
    contract with a deadline and a penalty, and a fixed-rate bond with an opening balance next to
    the floating loan: every per-site, per-contract and per-facility loop runs more than once."""
    d = power_debt_model()
    d["name"] = "two-sites"
    s2 = copy.deepcopy(d["sites"]["s1"])
    s2.update(power_capacity_mw=0.3, electricity_price_usd_per_mwh=40.0)
    s2["expansion"].update(lead_time_quarters=1, max_blocks=1, capex_per_mw_usd=1.2e6)
    d["sites"]["s2"] = s2
    d["market"]["demand_gpus"] = {"training": 1500.0, "inference": 600.0}
    d["contracts"]["option"] = {
        "customer": "mid", "use": "inference", "eligible_skus": ["A"], "gpus": 300, "start": "2026Q3",
        "term_quarters": 5, "price_usd_per_gpu_hour": 1.4, "signed": False,
        "delivery_deadline": "2026Q4", "cancellation_penalty_usd": 50000.0,
    }  # fmt: skip
    d["finance"]["facilities"]["bond"] = {
        "size_usd": 2.0e6, "opening_balance_usd": 1.0e6, "fixed_rate_annual": 0.07,
        "amortization_quarters": 8, "draw_from": "2026Q1", "draw_until": "2026Q2",
    }  # fmt: skip
    return d


def refinanced_model() -> dict:
    """`two_site_model` whose bond is a $1M note (its whole size outstanding today, so never drawn)
    at a fixed 7 %, a bullet maturing in 2026Q4 (quarter 3) and refinanced then at the reference
    rate (4 %) + 5 %: from quarter 4 on it pays the reference rate + 5 %, like the floating loan
    (also reference + 5 %), but it is new borrowing, so the scenario's spread shift moves it too.
    The note comes first, so `plan_variants`' early repayment (facility 0) repays it."""
    d = two_site_model()
    d["name"] = "refinanced"
    note = {
        "size_usd": 1.0e6, "opening_balance_usd": 1.0e6, "fixed_rate_annual": 0.07, "repayment": "bullet",
        "maturity": "2026Q4", "at_maturity": "refinance", "refinance_spread_over_reference_annual": 0.05,
        "draw_from": "2026Q1", "draw_until": "2026Q2",
    }  # fmt: skip
    d["finance"]["facilities"] = {"note": note, "loan": d["finance"]["facilities"]["loan"]}
    return d


def repaid_bullet_model() -> dict:
    """`refinanced_model` whose note is repaid at its maturity (2026Q4, quarter 3), from cash: that
    $1M is principal paid but not the DSCR's debt service (lenders leave a bullet's repayment at
    maturity out of it), so the 1.1x covenant holds there."""
    d = refinanced_model()
    d["name"] = "repaid-bullet"
    note = d["finance"]["facilities"]["note"]
    note["at_maturity"] = "repay"
    del note["refinance_spread_over_reference_annual"]
    return d


MODELS = {
    "tiny": tiny_model,
    "power_debt": power_debt_model,
    "two_sites": two_site_model,
    "concentrated": concentrated_model,
    "refinanced": refinanced_model,
    "repaid_bullet": repaid_bullet_model,
}


def with_risk(d: dict, **risk) -> dict:
    """A copy of model ``d`` whose `risk` block is exactly ``risk`` (empty: no uncertainty)."""
    out = copy.deepcopy(d)
    out["risk"] = risk
    return out


def without(d: dict, *factors: str) -> dict:
    """A copy of model ``d`` with the named `risk` settings removed (those factors switched off)."""
    out = copy.deepcopy(d)
    for name in factors:
        out["risk"].pop(name, None)
    return out


_SOLVED: dict[str, SolveResult] = {}


def solved(name: str) -> SolveResult:
    """The MILP solution of model ``name`` in MODELS (solved once per session, to a 1e-6 gap)."""
    if name not in _SOLVED:
        _SOLVED[name] = solve(data_of(MODELS[name]()), mip_gap=1e-6)
    return _SOLVED[name]


def plan_variants(data: ModelData, plan: Plan) -> tuple[list[Plan], list[str]]:
    """Five distinct plans around ``plan``: itself, 2M more borrowed in the first quarter, 1M repaid
    early mid-horizon, half of every GPU quantity (its contracts served short), and the empty plan
    (nothing held: zero utilisation, no division by zero; it takes the signed contracts, as a plan
    must, and serves them nothing). The evaluator takes any plan of the right shapes."""
    borrowed, prepaid, half = (copy.deepcopy(plan) for _ in range(3))
    borrowed.draws[0, 0] += 2.0e6
    prepaid.prepay[0, data.T // 2] += 1.0e6
    for name in ("buy_blocks", "held_training", "held_inference", "redeploy", "retire_training",
                 "retire_inference", "active", "contract_gpus"):  # fmt: skip
        setattr(half, name, getattr(plan, name) * 0.5)
    empty = Plan.empty(data)
    empty.accepted[:] = [1.0 if c.signed else 0.0 for c in data.contracts]
    plans = [plan, borrowed, prepaid, half, empty]
    return plans, ["milp", "borrowed", "prepaid", "half_fleet", "empty"]


def with_idle_gpus(data: ModelData, plan: Plan) -> Plan:
    """``plan`` with 30 % of its market GPUs (those in service on no contract) taken out of service
    and held idle: for policy rule 5 (`idle_gpus_to_market`)."""
    idle = copy.deepcopy(plan)
    contracted = np.zeros(plan.active.shape)
    for k, con in enumerate(data.contracts):
        contracted[con.use] += plan.contract_gpus[k]
    idle.active = plan.active - 0.3 * (plan.active - contracted)
    return idle


def batch(data: ModelData, plans: list[Plan], labels: list[str] | None = None) -> PlanBatch:
    return compile_plans(data, plans, labels or [f"p{i}" for i in range(len(plans))])


def run(d: dict | ModelData, plans: list[Plan] | PlanBatch, n: int, seed: int = 0, **kw) -> EvaluationResult:
    """Evaluate ``plans`` on ``n`` scenarios of model ``d`` with NumPy, keeping the NPV matrix."""
    data = d if isinstance(d, ModelData) else data_of(d)
    plan_batch = plans if isinstance(plans, PlanBatch) else batch(data, plans)
    kw.setdefault("backend", "numpy")
    kw.setdefault("keep_matrix", True)
    return evaluate(data, plan_batch, n, seed, **kw)


def rel_err(a, b) -> float:
    """Largest relative difference between two arrays, relative to the largest magnitude in ``b``;
    NaN in the same places agree (a median quarter where nothing broke), NaN in one only does not."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    missing = np.isnan(b)
    if not np.array_equal(np.isnan(a), missing):
        return float("inf")
    a, b = a[~missing], b[~missing]
    if not b.size:
        return 0.0
    return float(np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1e-300))


# Every risk factor on, strongly enough that power blocks run late, customers default, contracts
# miss their deadlines, the revolver is drawn and some scenarios default.
ALL_RISK: dict = {
    "price_volatility_annual": 0.3,
    "demand_volatility_annual": 0.3,
    "new_generation_price_step": 0.2,
    "self_competition": {"probability_per_quarter": 0.1, "price_drop_min": 0.1, "price_drop_max": 0.3},
    "customer_default_hazard_per_quarter": 0.05,
    "power_delay": {"probability": 0.5, "max_extra_quarters": 3},
    "reference_rate_volatility_annual": 0.02,
    "electricity_price_volatility_annual": 0.3,
    "resale_value_volatility_annual": 0.3,
    "ai_cycle": {"spread_loading": -0.05},  # moves only refinanced bullets (refinanced_model)
}


def deferred_order_model(**risk) -> dict:
    """tests/test_doc_cases_metrics.py's sweep case: the plan sells 300 H100 in the quarter the order
    rule defers part of its 400 H200 (the same generation), and cancels part of it the next quarter;
    customers default at 15 % a quarter, with the other ``risk`` settings given."""
    from test_doc_cases import hand_model

    d = hand_model()
    d["risk"] = {"customer_default_hazard_per_quarter": 0.15, **risk}
    d["skus"]["H200"] = {**d["skus"]["H100"], "available_from": "2026Q2", "available_until": "2026Q3",
                         "capex_per_gpu_usd": 30_000}  # fmt: skip
    d["market"]["demand_gpus"]["training"] = 400
    d["policy"] = {"liquidity_buffer_usd": 6e6}
    return d
