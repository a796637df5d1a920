"""What a comparison reads of each plan: its figures on the forecast and over the scenarios, the paired
standard errors of each plan against the first, and its purchases, contracts, power and fleet against the
first plan's."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np
import pandas as pd

from fleetopt.compare.figures import (
    FIGURES,
    OUTCOME_FIGURES,
    PAIRED_ERROR,
    covenant_figure_names,
    cushion_figure,
)
from fleetopt.core.data import GENERATIONS, ModelData
from fleetopt.core.economics.operating import gpus_of_blocks
from fleetopt.core.plan import COHORT_DECISIONS, Plan, rounded_decision
from fleetopt.core.quarters import span_label
from fleetopt.core.results.cost import (
    cost_per_h100_hour,
    h100_hours_in_service,
    present_cost,
)
from fleetopt.core.results.covenant_words import (
    covenant_cushions,
    covenant_headroom,
    lowest_cushion,
    lowest_trailing_cushion,
    trailing_year_headroom,
)
from fleetopt.core.results.customers import FIRST_YEAR, customer_figures
from fleetopt.core.results.fleet import gpus_bought, power_built_mw
from fleetopt.core.results.headline import (
    horizon_totals,
)
from fleetopt.core.results.valuation import cash_timing_credit
from fleetopt.core.tail import tail_count
from fleetopt.core.units import (
    format_usd,
)
from fleetopt.evaluate.metrics import (
    ANY_DEFAULT_EVENTS,
    MEAN_OF_PAIRS,
    either_happened,
    paired_cost_errors,
    paired_error,
    paired_tail_errors,
)
from fleetopt.evaluate.result_fields import PRESENT_COST


def plan_figures(data: ModelData, plan: Plan, st, on_forecast, result, n: int, demand_served: float) -> dict:
    """The comparison's figures of plan ``n`` (a column of :attr:`Comparison.figures`): its forecast
    run ``on_forecast``, its risk metrics in ``result``, and the paired errors of its figures less
    the first plan's on the same scenarios (:func:`paired_errors`)."""
    npv = result.npv_matrix
    m = result.metrics.iloc[n]
    cost = present_cost(data, st)
    per_hour = cost_per_h100_hour(cost, h100_hours_in_service(data, plan)[1])
    headroom = covenant_headroom(data, st)
    cushion = lowest_cushion(data, headroom)[0]
    trailing = lowest_trailing_cushion(data, trailing_year_headroom(data, st))
    each = covenant_cushions(data, headroom)  # a phrase (nothing to test): no share, NaN
    largest = customer_figures(data, st.lines)["largest_customer_revenue_share"]
    return {
        # none for the first plan (NaN: empty in the CSV, null in the JSON): its difference to itself
        **paired_errors(npv, result.outcomes, n),
        "npv_forecast_usd": on_forecast.npv_usd,
        "npv_cash_held_usd": st.npv_usd - cash_timing_credit(data, st.lines["equity_cash_flow_usd"]),
        "forecast_breach": 0.0 if on_forecast.within_limits else 1.0,
        "lowest_covenant_cushion": np.nan if cushion is None else cushion,
        "lowest_covenant_cushion_trailing": np.nan if trailing is None else trailing,
        **{cushion_figure(t.kind): each[t.kind.name] if isinstance(each[t.kind.name], float) else np.nan
           for t in data.covenants},
        **{k: float(m[k]) for k, _, _ in FIGURES if k in m.index},
        # P5's mirror: the k-th best NPV, k = ceil(5 % of the scenarios) as for P5 the k-th worst
        "npv_p95_usd": float(np.sort(npv[n])[npv.shape[1] - tail_count(npv.shape[1])]),
        "peak_debt_forecast_usd": on_forecast.peak_debt_usd,
        **horizon_totals(st.lines),
        **first_year_capex(data, plan, st.lines),
        "largest_customer_revenue_share": np.nan if largest is None else largest,
        "present_cost_usd": cost,
        "present_cost_per_h100_hour_usd": per_hour if per_hour is not None else np.nan,
        "market_demand_served": float(demand_served),
        "gpus_bought": gpus_bought(data, plan),
        "power_built_mw": power_built_mw(data, plan),
        "contracts_taken": float(np.round(plan.accepted).sum()),
        "gpus_retired": float(plan.retire.sum()),
        "debt_drawn_usd": float(plan.draws.sum()),
    }


def first_year_capex(data: ModelData, plan: Plan, lines: dict) -> dict[str, float]:
    """What a plan commits to in the horizon's first year (:data:`FIRST_YEAR`), USD: its GPU capex
    there (``lines``: its statement lines; a GPU is paid in the quarter bought) and the whole capex
    of the power blocks it starts there, which it pays over their lead time, partly later."""
    started = plan.build_blocks[:, FIRST_YEAR].sum(axis=1)  # (I,) blocks
    return {
        "capex_gpu_first_year_usd": float(lines["capex_gpu_usd"][FIRST_YEAR].sum()),
        "power_committed_first_year_usd": float(sum(n * site.block_capex_usd
                                                    for n, site in zip(started, data.sites, strict=True))),
    }  # fmt: skip


def first_year_names(data: ModelData) -> dict[str, str]:
    """The first-year rows' names with the quarters of that year ("of which in the first year,
    2026Q3..2027Q2 (MILP statements)")."""
    year = span_label(data.quarter_labels, range(min(FIRST_YEAR.stop, data.T)))
    return {
        "capex_gpu_first_year_usd": f"of which in the first year, {year} (MILP statements)",
        "power_committed_first_year_usd": f"capex of the power blocks started in the first year, {year} "
                                          "(whole blocks, paid over their lead time)",
    }  # fmt: skip


def model_row_names(data: ModelData) -> dict[str, str]:
    """The rows whose names depend on the model: its covenants' and its first year's."""
    return covenant_figure_names(data.covenant_kinds) | first_year_names(data)


@dataclass(frozen=True)
class AgainstPick:
    """A sweep's plan of highest mean NPV no worse than the forecast optimum (``plan``) against the
    sweep's pick (``pick``), both by the labels compared, where the pick is not the first plan (the
    columns give every plan against the first only): ``errors``, the paired standard error of each
    figure of ``plan`` less ``pick``'s on the same scenarios, by :data:`PAIRED_ERROR`'s rows
    (:func:`paired_errors`, as each plan's against the first)."""

    pick: str
    plan: str
    errors: dict[str, float]


def measured_against_pick(labels: list[str], picks: list[tuple[str, str]], result) -> list[AgainstPick]:
    """Each (pick, plan) of ``picks`` (labels of ``labels``, the plans evaluated as ``result``, with
    their NPVs and outcomes) with the paired errors of the plan's figures less the pick's: those of
    :func:`paired_errors` of the two plans' rows, the pick's first."""
    out = []
    for pick, plan in picks:
        rows = [labels.index(pick), labels.index(plan)]
        outcomes = {name: values[rows] for name, values in result.outcomes.items()}
        out.append(AgainstPick(pick, plan, paired_errors(result.npv_matrix[rows], outcomes, 1)))
    return out


def paired_errors(npv: np.ndarray, outcomes: dict, n: int) -> dict[str, float]:
    """Every paired standard error of plan ``n``'s figures less the first plan's on the same
    scenarios (the rows :data:`PAIRED_ERROR` names), from each pair's NPV (``npv``: (plans,
    scenarios), USD) and outcomes (:attr:`EvaluationResult.outcomes`; each pair's present cost among them
    where the plans were evaluated for it, whose mean, P95 and CVaR95 then have theirs too:
    :func:`paired_cost_errors`); NaN for the first plan itself."""
    cost = outcomes.get(PRESENT_COST)
    return {
        "npv_mean_paired_se_usd": paired_error(npv[n] - npv[0]) if n else np.nan,
        **paired_tail_errors(npv[0], npv[n], n),
        "loss_probability_paired_se": paired_loss_error(npv, n),
        **paired_mean_errors(outcomes, n),
        **paired_share_errors(outcomes, n),
        **({} if cost is None else paired_cost_errors(cost[0], cost[n], n)),
    }


def paired_loss_error(npv: np.ndarray, n: int) -> float:
    """The paired error of plan ``n``'s P(NPV < 0) less the first plan's (``npv``: (plans,
    scenarios), USD): :func:`paired_error` of the per-scenario 0/1 differences, as the other
    probabilities' (:func:`paired_share_errors`); NaN for the first plan itself."""
    if n == 0:
        return np.nan
    return paired_error((npv[n] < 0).astype(np.float64) - (npv[0] < 0).astype(np.float64))


def paired_mean_errors(outcomes: dict, n: int) -> dict[str, float]:
    """The paired errors of plan ``n``'s means over the scenarios of :data:`MEAN_OF_PAIRS` (the NPV
    with limited liability and if lenders accelerate, the debt left uncovered, the lowest cash,
    utilisation) less the first plan's on the same scenarios: :func:`paired_error` of the
    per-scenario differences of ``outcomes`` (:attr:`EvaluationResult.outcomes`). NaN for the
    first plan itself (``n`` 0)."""
    return {PAIRED_ERROR[figure]: paired_error(outcomes[name][n] - outcomes[name][0]) if n else np.nan
            for figure, name in MEAN_OF_PAIRS.items()}  # fmt: skip


def paired_share_errors(outcomes: dict, n: int) -> dict[str, float]:
    """The paired errors of plan ``n``'s P(covenant breach), P(uncured covenant breach), P(liquidity
    default), P(any default), share of the demand served and P(short) less the first plan's on the
    same scenarios (``outcomes``: each pair's 0/1 ``breach``, ``uncured_breach`` and ``default``,
    its ``demand_share`` and 0/1 ``demand_short``, (plans, scenarios), as the evaluation computed
    them, :attr:`EvaluationResult.outcomes`): :func:`paired_error` of the per-scenario difference,
    as shares (shown in percentage points). NaN for the first plan itself (``n`` 0), and the
    demand's where the model has none."""
    keys = {name: PAIRED_ERROR[figure] for name, figure in OUTCOME_FIGURES.items()}
    if n == 0:
        return dict.fromkeys(keys.values(), np.nan)
    # the first plan's row and this one's only (the demand's NaN where the model has none: no error)
    rows = {name: np.asarray(outcomes[name][[0, n]], dtype=np.float64)
            for name in OUTCOME_FIGURES if name != "any_default"}  # fmt: skip
    rows["any_default"] = either_happened(rows, ANY_DEFAULT_EVENTS).astype(np.float64)
    return {key: paired_error(rows[name][1] - rows[name][0]) for name, key in keys.items()}


def power_used(data: ModelData, labels: list[str], statements: list) -> pd.DataFrame:
    """MW used and available per plan, site and quarter, from each plan's statements."""
    rows = [
        (label, site.name, q, st.lines[f"mw_used_{site.name}"][t], st.lines[f"mw_available_{site.name}"][t])
        for label, st in zip(labels, statements, strict=True)
        for site in data.sites
        for t, q in enumerate(data.quarter_labels)
    ]
    return pd.DataFrame(rows, columns=["plan", "site", "quarter", "mw_used", "mw_available"])


def gpus_held(data: ModelData, plans: list[Plan], labels: list[str]) -> pd.DataFrame:
    """GPUs held per plan, quarter and generation."""
    rows = []
    generations = data.model_generations
    cohorts = {g: [c.index for c in data.cohorts if data.sku_generation[c.sku] == g] for g in generations}
    for plan, label in zip(plans, labels, strict=True):
        held = plan.held
        for g in data.model_generations:
            by_quarter = held[cohorts[g]].sum(axis=0)
            quarters = zip(data.quarter_labels, by_quarter, strict=True)
            rows += [(label, q, GENERATIONS[g], float(gpus)) for q, gpus in quarters]
    return pd.DataFrame(rows, columns=["plan", "quarter", "generation", "gpus"])


# the columns of Comparison.purchase_diff, in the order its tables show them
PURCHASE_DIFF_COLUMNS = ("plan", "quarter", "sku", "site", "gpus_vs_first_plan")


# and of those differences by generation (purchases_by_generation)
BY_GENERATION_COLUMNS = ("plan", "quarter", "generation", "gpus_vs_first_plan")


def purchases_against_first(data: ModelData, plans: list[Plan], labels: list[str]) -> pd.DataFrame:
    """Each later plan's GPUs bought per quarter, SKU and site less the first plan's, where they
    differ (GPUs moved to another site show as fewer at one and more at the other)."""
    rows = []
    sites = [site.name for site in data.sites]
    for plan, label in zip(plans[1:], labels[1:], strict=True):
        delta = gpus_of_blocks(data, plan.buy_blocks - plans[0].buy_blocks)  # (S, I, T)
        for s, i, t in sorted(zip(*np.nonzero(delta), strict=True), key=lambda sit: (sit[2], sit[0], sit[1])):
            rows.append((label, data.quarter_labels[t], data.sku_names[s], sites[i], float(delta[s, i, t])))
    return pd.DataFrame(rows, columns=list(PURCHASE_DIFF_COLUMNS))


def purchases_by_generation(data: ModelData, purchase_diff: pd.DataFrame) -> pd.DataFrame:
    """:func:`purchases_against_first`'s differences summed over the sites and the SKUs of a
    generation (plan, quarter, generation, gpus_vs_first_plan), where the sum is not 0: what a plan
    buys more or less of, without the blocks it only moves to another site."""
    generation = [GENERATIONS[data.sku_generation[data.sku_names.index(sku)]] for sku in purchase_diff["sku"]]
    summed = (purchase_diff.assign(generation=generation)
              .groupby(["plan", "quarter", "generation"], sort=False)["gpus_vs_first_plan"].sum()
              .reset_index())  # fmt: skip
    return summed[summed["gpus_vs_first_plan"] != 0].reset_index(drop=True)


def contracts_against_first(data: ModelData, plans: list[Plan], labels: list[str]) -> list:
    """(plan, contracts it takes that the first plan does not, contracts the first takes that it
    does not) for each later plan whose contracts differ from the first's."""
    names = [contract.name for contract in data.contracts]
    first = np.round(plans[0].accepted) > 0
    out = []
    for plan, label in zip(plans[1:], labels[1:], strict=True):
        taken = np.round(plan.accepted) > 0
        here = [names[k] for k in np.flatnonzero(taken & ~first)]
        there = [names[k] for k in np.flatnonzero(first & ~taken)]
        if here or there:
            out.append((label, here, there))
    return out


def market_demand_served(data: ModelData, batch) -> np.ndarray:
    """(P,) the share of the forecast's market demand (H100-equivalent GPU-quarters, both uses)
    each plan serves on the forecast: its market supply, capped by the demand in each use and
    quarter, over the whole demand (1 where there is none)."""
    demand = np.array([data.demand[u] for u in range(len(data.demand))])  # (U, T)
    supply = batch.market_supply.sum(axis=2)  # (P, U, T), over the sites
    total = demand.sum()
    return np.minimum(supply, demand).sum(axis=(1, 2)) / total if total > 0 else np.ones(batch.P)


# the decisions a plan commits to (what people edit: purchases, power, contracts), and the others in
# words, for plans that share the first but not the second (rounded_decision, as plans are compared)
COMMITMENTS = ("buy_blocks", "build_blocks", "accepted")


OTHER_DECISIONS = (
    (("draws",), "debt draws"),
    (("prepay",), "debt prepayments"),
    (COHORT_DECISIONS, "redeployments and retirements"),
    (("active", "contract_gpus"), "which GPUs serve the contracts and the market"),
)  # fmt: skip


def other_decisions(a: Plan, b: Plan, buffer_a: float = 0.0, buffer_b: float = 0.0) -> list[str]:
    """What else two plans with the same commitments (:data:`COMMITMENTS`) decide differently, in
    words, their policy cash buffers (``buffer_a``, ``buffer_b``, USD) included; [] where their
    commitments differ, or nothing else does."""

    def same(name: str) -> bool:
        return np.array_equal(rounded_decision(getattr(a, name)), rounded_decision(getattr(b, name)))

    if not all(same(name) for name in COMMITMENTS):
        return []
    other = [words for names, words in OTHER_DECISIONS if not all(same(name) for name in names)]
    if buffer_a != buffer_b:
        other.append(f"the policy's cash buffer ({format_usd(buffer_a)} and {format_usd(buffer_b)})")
    return other


def plan_digest(plan: Plan, buffer: float) -> str:
    """The first 12 hex digits of the SHA-256 of ``plan``'s decisions (Plan.decisions_key) and its cash
    buffer, USD: equal exactly for the same plan (:func:`same_plan`), which a warning names by it."""
    return hashlib.sha256(plan.decisions_key() + repr(float(buffer)).encode()).hexdigest()[:12]


def same_plan(a: Plan, b: Plan, buffer_a: float, buffer_b: float) -> bool:
    """Whether two plans make the same decisions (Plan.decisions_key, as the sweep tells its
    candidates apart) and run with the same buffer."""
    return buffer_a == buffer_b and a.decisions_key() == b.decisions_key()
