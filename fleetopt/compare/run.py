"""`fleetopt compare`'s two ways in: plans side by side on common scenarios (`compare_plans`) and one plan
under a model changed (`compare_what_if`)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from fleetopt.compare.comparison import Comparison, ModelUsed
from fleetopt.compare.figures import (
    COST_FIRST,
    COSTS,
    FIGURES,
    LAB_ROWS,
    PAIRED_ERROR,
    SCENARIO_COST_ROWS,
    cushion_figure,
    is_cushion,
    none_measured,
)
from fleetopt.compare.plan_figures import (
    contracts_against_first,
    gpus_held,
    market_demand_served,
    measured_against_pick,
    other_decisions,
    plan_digest,
    plan_figures,
    power_used,
    purchases_against_first,
    same_plan,
)
from fleetopt.compare.sources import CompareError
from fleetopt.core.covenants import CATALOGUE, tested_kinds
from fleetopt.core.data import ModelData
from fleetopt.core.economics.statements import plan_statements
from fleetopt.core.metric_columns import first_breach_column
from fleetopt.core.plan import Plan
from fleetopt.core.units import quoted
from fleetopt.errors import InputError, warn
from fleetopt.evaluate.batch import PlanLimitError, compile_plans, with_buffers
from fleetopt.evaluate.engine import evaluate
from fleetopt.evaluate.forecast import forecast_run_batch
from fleetopt.evaluate.metrics import (
    ACCELERATED,
    BASE_PREPAY_COLUMNS,
    CONTRACT_REACTION_COLUMNS,
    LENDERS_SHARE,
    LIMITED_LIABILITY,
    limited_liability_differs,
)
from fleetopt.evaluate.result_fields import PRESENT_COST
from fleetopt.evaluate.sources import (
    solve_objective,
)
from fleetopt.runs import limits


def compare_plans(
    data: ModelData,
    plans: list[Plan],
    labels: list[str],
    scenarios: int,
    seed: int,
    backend: str = "auto",
    buffers: list | None = None,
    model: ModelUsed | None = None,
    versions: list[str] | None = None,
    runs: list[str] | None = None,
    scenario_notes: list[str] | None = None,
    objectives: list[str | None] | None = None,
    policies: list[str] | None = None,
    roles: list[str] | None = None,
    picks: list[tuple[str, str]] | None = None,
    role_keys: dict[str, list[str]] | None = None,
) -> Comparison:
    """Evaluate every plan on the same scenarios (common random numbers) and tabulate the differences.
    ``buffers``: each plan's policy liquidity buffer, USD (None: the model's); ``model``: what
    ``data`` was built from, and ``versions``: which plans were made from another version of it
    (sentences), for the comparison's notes; ``runs``: the run folder or plan file of each plan;
    ``scenario_notes``: :func:`figures_not_back`'s sentences, and ``policies``: :func:`policy_note`'s,
    and ``roles``: :func:`sweep_roles`', for the notes too, and ``role_keys`` :func:`plan_role_keys`'
    (the page's colours); ``picks``: :func:`sweep_pick_pairs`' (pick, plan) labels, each plan shown
    against its sweep's pick too (:attr:`Comparison.against_pick`);
    ``objectives``: the objective each plan was solved for, "npv" or "cost" (None: read from its run
    folder in ``runs``, a solve's summary or an evaluation's ``plans_objective``; solves compared in
    memory give theirs)."""
    if len(set(labels)) != len(labels):  # figures are keyed by label: a repeated one would hide a plan
        raise CompareError(f"plan labels must be unique: {labels}")
    cost_plans = _cost_plans(labels, objectives or [solve_objective(source) for source in runs or []])
    evaluated = _Evaluated.of(data, plans, labels, scenarios, seed, backend, buffers, bool(cost_plans))
    same, committed = _alike_pairs(plans, labels, evaluated.batch.liquidity_buffer)
    _warn_of_same_plans(same, plans, labels, evaluated.batch.liquidity_buffer)
    return Comparison(
        labels=labels,
        figures=_figures_table(data, plans, labels, evaluated, bool(cost_plans)),
        mw_used=power_used(data, labels, evaluated.statements),
        gpus=gpus_held(data, plans, labels),
        purchase_diff=purchases_against_first(data, plans, labels),
        contract_differences=contracts_against_first(data, plans, labels),
        npv_matrix=evaluated.result.npv_matrix,
        cost_matrix=evaluated.result.outcomes.get(PRESENT_COST),
        data=data,
        n_scenarios=scenarios,
        seed=seed,
        same=same,
        same_commitments=committed,
        model=model,
        versions=list(versions or []),
        policies=list(policies or []),
        roles=list(roles or []),
        role_keys=dict(role_keys or {}),
        against_pick=measured_against_pick(labels, picks or [], evaluated.result),
        runs=list(runs or []),
        scenario_notes=list(scenario_notes or []),
        cost_plans=cost_plans,
        forecast_limits=_forecast_limits(labels, evaluated.on_forecast),
    )


def _figures_table(data: ModelData, plans: list[Plan], labels: list[str], evaluated: _Evaluated,
                   cost: bool) -> pd.DataFrame:  # fmt: skip
    """Every figure (rows, in :func:`_figure_order`; ``cost``: a cost plan's first) of each plan
    (columns, by label) evaluated on the common scenarios and on the forecast."""
    served, result = market_demand_served(data, evaluated.batch), evaluated.result
    statements, on_forecast = evaluated.statements, evaluated.on_forecast
    figures = {
        label: plan_figures(data, plan, statements[n], on_forecast[n], result, n, served[n])
        for n, (plan, label) in enumerate(zip(plans, labels, strict=True))
    }
    return pd.DataFrame(figures).loc[_figure_order([data], result.metrics, figures, cost)]


def _cost_plans(labels: list[str], objectives: list[str | None]) -> list[str]:
    """The labels of the plans solved for least cost (``objectives``: each plan's, in order)."""
    return [label for label, objective in zip(labels, objectives, strict=False) if objective == "cost"]


def _forecast_limits(labels: list[str], on_forecast: list) -> list[tuple[str, str]]:
    """(label, what it breaks, in words) of each plan whose run on the forecast breaches a covenant
    or defaults (:attr:`Comparison.forecast_limits`)."""
    return [(label, forecast.limits_words()) for label, forecast in zip(labels, on_forecast, strict=True)
            if not forecast.within_limits]  # fmt: skip


@dataclass
class _Evaluated:
    """Plans evaluated under one model on the common scenarios: their batch, the evaluation (with
    each pair's NPV, breach and default, for the paired errors), statements and forecast runs."""

    batch: object
    result: object
    statements: list
    on_forecast: list

    @classmethod
    def of(cls, data: ModelData, plans: list[Plan], labels: list[str], scenarios: int, seed: int,
           backend: str, buffers: list | None, present_cost: bool = False) -> _Evaluated:  # fmt: skip
        """``present_cost``: each plan's present cost over the scenarios too (a plan solved for least cost
        is compared: every plan's, so that theirs compare)."""
        batch = with_buffers(compile_plans(data, plans, labels, check_limits=True), buffers)
        result = evaluate(data, batch, scenarios, seed, backend=backend, keep_matrix=True, keep_outcomes=True,
                          present_cost=present_cost)  # fmt: skip
        statements = [plan_statements(data, plan) for plan in plans]
        return cls(batch, result, statements, forecast_run_batch(data, plans, buffers, statements))


@dataclass
class _Stacked:
    """Two evaluations of one plan each read as one of two plans (what :func:`plan_figures` reads):
    the metrics' rows, NPVs and outcomes one above the other."""

    metrics: pd.DataFrame
    npv_matrix: np.ndarray
    outcomes: dict

    @classmethod
    def of(cls, results: list) -> _Stacked:
        metrics = pd.concat([r.metrics for r in results], ignore_index=True)
        # a model without the slip slips nothing, and one without policy rule 6 prepays nothing by it
        for column in ("slipped_share", *BASE_PREPAY_COLUMNS):
            if column in metrics:
                metrics[column] = metrics[column].fillna(0.0)
        outcomes = {k: np.vstack([r.outcomes[k] for r in results]) for k in results[0].outcomes}
        return cls(metrics, np.vstack([r.npv_matrix for r in results]), outcomes)


def compare_what_if(
    data: ModelData,
    changed: ModelData,
    plan: Plan,
    labels: list[str],
    change: str,
    scenarios: int,
    seed: int,
    backend: str = "auto",
    buffers: tuple = (None, None),
    model: ModelUsed | None = None,
    run: str = "",
    versions: list[str] | None = None,
    objective: str | None = None,
    changed_model: ModelUsed | None = None,
) -> Comparison:
    """``plan`` under the model (``data``: ``labels[0]``) and under the model changed (``changed``,
    ``change`` in words, ``changed_model`` what it was built from: ``labels[1]``), each evaluated under
    its own model on the same scenarios (seed and count). A scenario's factors are drawn each from a
    stream of its own, so the factors the change leaves alone are the same numbers in both: the
    differences are paired, as between two plans (docs/evaluation.md, "What if"). ``buffers``: the plan's
    cash buffer (USD; None: the model's) on each side; ``versions``: as :func:`compare_plans`'s;
    ``objective``: what the plan was solved for, "npv" or "cost" (None: read from ``run``, as
    :func:`compare_plans` reads it), a cost plan's figures (present cost, demand served) shown and judged
    first, as in a comparison."""
    if len(set(labels)) != 2:
        raise CompareError(f"a what-if compares two labels, the plan's and its what-if's: {labels}")
    objective = objective if objective is not None else solve_objective(run) if run else None
    settings = (scenarios, seed, backend)
    first = _Evaluated.of(data, [plan], labels[:1], *settings, buffers[:1], objective == "cost")
    second = _evaluated_under_change(changed, plan, labels[1], change, (*settings, objective == "cost"),
                                     buffers[1])  # fmt: skip
    both = [first, second]
    result = _Stacked.of([b.result for b in both])
    models = list(zip((data, changed), labels, both, strict=True))
    figures = {
        label: plan_figures(d, plan, b.statements[0], b.on_forecast[0], result, n,
                            market_demand_served(d, b.batch)[0])
        for n, (d, label, b) in enumerate(models)
    }  # fmt: skip
    mw_used = [power_used(d, [label], b.statements) for d, label, b in models]
    cost_plans = list(labels) if objective == "cost" else []
    order = _figure_order([data, changed], result.metrics, figures, bool(cost_plans))
    return Comparison(
        labels=labels,
        figures=pd.DataFrame(figures).loc[order],
        mw_used=pd.concat(mw_used, ignore_index=True),
        gpus=gpus_held(data, [plan, plan], labels),
        purchase_diff=purchases_against_first(data, [plan, plan], labels),
        npv_matrix=result.npv_matrix,
        data=data,
        n_scenarios=scenarios,
        seed=seed,
        model=model,
        runs=[run, run],
        versions=list(versions or []),
        what_if=change,
        what_if_model=changed_model,
        what_if_data=changed,
        cost_plans=cost_plans,
        forecast_limits=_forecast_limits(labels, [b.on_forecast[0] for b in both]),
    )


def _evaluated_under_change(changed: ModelData, plan: Plan, label: str, change: str, settings: tuple,
                            buffer) -> _Evaluated:  # fmt: skip
    """:func:`compare_what_if`'s second side, ``plan`` under the model changed (``settings``: scenarios,
    seed, backend, whether to price its present cost); refused naming the change (``change``, in words)
    where that model forbids the plan or cannot run it (the first side ran: the change is why)."""
    try:
        *evaluation, present_cost = settings
        return _Evaluated.of(changed, [plan], [label], *evaluation, [buffer], present_cost)
    except PlanLimitError as exc:
        raise CompareError.naming(
            limits.WHAT_IF, f" {change}: the model so changed forbids the plan ({exc.problem}), so its "
            "figures under it would be meaningless: a what-if may change what the plan runs under, not the "
            "limits its decisions keep (power online, supply, debt); solve the changed model (fleetopt "
            "solve --set PATH=VALUE) for a plan it allows and compare the two runs"
        ) from None
    except InputError as exc:  # a delivery slip past the horizon's end, ...
        raise CompareError.naming(limits.WHAT_IF, f" {change}: under the model so changed, ",
                                  *exc.message_parts()) from None


def _alike_pairs(plans: list[Plan], labels: list[str], buffer) -> tuple[list, list]:
    """The pairs of labels of the same plan, and (a, b, what else they decide differently) of plans
    with the same commitments (:func:`other_decisions`), without a plan the same as an earlier one:
    its notes would repeat that one's."""
    n = len(plans)
    same = [(labels[a], labels[b]) for a in range(n) for b in range(a + 1, n)
            if same_plan(plans[a], plans[b], buffer[a], buffer[b])]  # fmt: skip
    copies = {b for _, b in same}
    pairs = [(a, b) for a in range(n) for b in range(a + 1, n)
             if labels[a] not in copies and labels[b] not in copies]  # fmt: skip
    committed = [(labels[a], labels[b], other) for a, b in pairs
                 if (other := other_decisions(plans[a], plans[b], buffer[a], buffer[b]))]  # fmt: skip
    return same, committed


def _warn_of_same_plans(same: list, plans: list[Plan], labels: list[str], buffer) -> None:
    """A warning for each pair of the same plan (:func:`_alike_pairs`), naming its digest: `compare RUN
    RUN` gave every difference 0 with no word but a note among the table's."""
    for a, b in same:
        digest = plan_digest(plans[labels.index(a)], buffer[labels.index(a)])
        warn(f"plans {quoted(a)} and {quoted(b)} are the same plan (sha256 {digest} of their decisions and "
             "cash buffer): every difference is 0")


def _figure_order(models: list[ModelData], metrics: pd.DataFrame, figures: dict, cost: bool) -> list:
    """The rows of the figures table, in order: :data:`FIGURES` less those that say nothing of these
    plans (a covenant's: one that none of ``models``, the plans' models, tests); ``cost``: a plan was
    solved for least cost, whose figures come first."""
    tested = {kind for data in models for kind in tested_kinds(data.covenants)}
    untested = {column(kind) for kind in CATALOGUE if kind not in tested
                for column in (first_breach_column, cushion_figure)}  # fmt: skip
    # what a plan costs and the demand it serves are a lab's figures, shown where a plan was solved for
    # least cost: a neocloud's share of the whole market is short of nothing, and the present cost of
    # plans that maximise NPV ranks nothing (a finance review read "$0.38 per H100-hour" as their cost)
    lab = {*LAB_ROWS, *COSTS, *SCENARIO_COST_ROWS, "market_demand_served"}
    left_out = untested if cost else untested | lab
    if not limited_liability_differs(metrics):  # the NPV's figures again
        left_out |= set(LIMITED_LIABILITY)
    if not limited_liability_differs(metrics, ACCELERATED):  # the NPV with limited liability's again
        left_out |= set(ACCELERATED)
    for lenders, share in LENDERS_SHARE.items():
        if not (metrics[share] > 0).any():  # no event: no debt at one
            left_out |= set(lenders)
    if not any(data.contracts for data in models):  # a lab's: no contract to start late or cancel
        left_out |= set(CONTRACT_REACTION_COLUMNS)
    # the model's deliveries never slip; its policy's rule 6 is off (a comparison without it as before)
    left_out |= {column for column in ("slipped_share", *BASE_PREPAY_COLUMNS) if column not in metrics}
    # a covenant no plan's forecast tests (a lab's GPU loan never drawn): rows of n/a say nothing
    left_out |= {k for k, _, _ in FIGURES if is_cushion(k) and none_measured(figures, k)}
    left_out |= {PAIRED_ERROR[k] for k in left_out if k in PAIRED_ERROR}  # a figure's error goes with it
    order = [k for k, _, _ in FIGURES if k not in left_out]
    if cost:  # a lab reads what its plans cost and serve before their NPVs
        order = [*COST_FIRST, *(k for k in order if k not in COST_FIRST)]
    return order
