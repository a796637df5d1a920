"""Evaluate many plans against many scenarios in memory-sized chunks.

Plans are split into chunks; within a chunk every scenario block is made once, simulated and its
results written into the chunk's (plans x scenarios) buffer (or, where those rows would take too
much of the memory budget, a file: spill.py), then the chunk's metrics are computed
from whole rows. Because each (plan, scenario) pair is computed independently and each plan's row is
reduced in one fixed order, results do not depend on chunk sizes or on the order of the plans.

This module holds :func:`evaluate` and its steps (the backend and chunk sizes, the chunks an
earlier attempt stored, each plan's check on its own forecast: :func:`forecast_runs`), with the two
plans evaluated again for the first place's lead of what it returns
(:class:`~fleetopt.evaluate.result.EvaluationResult`). The rest is a module a topic: the backend
chosen (:mod:`~fleetopt.evaluate.backend_choice`), the chunks and blocks
(:mod:`~fleetopt.evaluate.chunks`; their sizes: :mod:`~fleetopt.evaluate.chunking`), one chunk
evaluated (:mod:`~fleetopt.evaluate.chunk_eval`) in tiles (:mod:`~fleetopt.evaluate.tiling`) by the
in-process executor (:mod:`~fleetopt.evaluate.local_executor`), stored chunks read back
(:mod:`~fleetopt.evaluate.read_back`), a chunk's rows in a file (:mod:`~fleetopt.evaluate.row_files`).
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from fleetopt.core.data import ModelData
from fleetopt.evaluate.backend import Backend, resolve_backend
from fleetopt.evaluate.backend_choice import choose_backend
from fleetopt.evaluate.chunking import backend_chunk_sizes
from fleetopt.evaluate.chunks import ChunkSpec, plan_chunks
from fleetopt.evaluate.local_executor import LocalExecutor
from fleetopt.evaluate.metrics import (
    ANY_DEFAULT_EVENTS,
    COST_RANK_COLUMNS,
    EVALUATION_RANK_COLUMNS,
    FORECAST_OK,
    LOWER_RANK_COLUMNS,
    either_happened,
    paired_cost_error,
    paired_error,
    paired_npv_error,
    within_limits,
)
from fleetopt.evaluate.planbatch import PlanBatch
from fleetopt.evaluate.result import EvaluationResult
from fleetopt.evaluate.result_fields import PRESENT_COST
from fleetopt.evaluate.row_files import continued_chunks, rows_on_disk_here


def evaluate(
    data: ModelData,
    plans: PlanBatch,
    n_scenarios: int,
    seed: int,
    backend: str | Backend = "auto",
    max_memory: int | None = None,
    plan_chunk: int | None = None,
    scenario_chunk: int | None = None,
    keep_matrix: bool = False,
    record: tuple[str, ...] = (),
    deterministic: bool = False,
    kernel: bool = True,
    progress: Callable[[int, int], None] | None = None,
    executor=None,
    store=None,
    keep_outcomes: bool = False,
    present_cost: bool | None = None,
) -> EvaluationResult:
    """Evaluate ``plans`` on scenarios ``0 .. n_scenarios - 1`` of ``seed``.

    ``deterministic=True`` evaluates on copies of the forecast instead of random scenarios.
    ``record`` names quarterly lines (``cash_usd``, ``debt_usd``, ``ebitda_usd``) to keep as
    (plans, scenarios, quarters) arrays, for fan charts of small runs. ``kernel=False`` makes the
    CuPy backend run the array-level code instead of the fused kernel (for testing one against
    the other). ``executor`` runs the chunks (default: in this process; see
    :mod:`fleetopt.evaluate.process_executor` and :mod:`fleetopt.evaluate.ray_executor`); ``store`` (a
    :class:`~fleetopt.evaluate.chunk_store.ChunkStore`) keeps finished chunks on disk so an interrupted
    run can resume, and where a chunk's rows of results go to a file, makes it in the store's
    folder and keeps its finished blocks (:func:`kept_rows_of`). ``keep_outcomes``: also keep each
    pair's covenant breach and liquidity default, demand served, :data:`MEAN_OUTCOMES` and, where
    ``present_cost``, its present cost (:attr:`EvaluationResult.outcomes`, 67 bytes a pair, 75 with the
    cost; not kept by a store).
    ``progress(pairs, total)``: after each block, the pairs it finished; those read back from
    ``store`` as :func:`report_read_back` says.
    ``plan_chunk`` and ``scenario_chunk`` both given are taken as they are (a job's, sized for its
    workers); ``max_memory`` then bounds only the check of each plan on the forecast.
    ``present_cost``: also each plan's present cost over the scenarios (``PRESENT_COST_COLUMNS``);
    None: where some plan was solved for least cost (``PlanBatch.solved_for_cost``).
    """
    if n_scenarios <= 0:
        raise ValueError(f"the number of scenarios must be positive (got {n_scenarios})")
    if plans.P == 0:
        raise ValueError("there are no plans to evaluate (the plan batch is empty)")
    folder = None if store is None else store.folder  # where a chunk's rows go, where to a file
    be, plan_chunk, scenario_chunk = _backend_and_chunk_sizes(
        data, plans, n_scenarios, backend, executor, max_memory, plan_chunk, scenario_chunk, record, folder
    )
    executor = executor or LocalExecutor(be)
    on_disk = rows_on_disk_here(data, plans, n_scenarios, executor, max_memory, (plan_chunk, scenario_chunk),
                                 record, folder)  # fmt: skip
    if present_cost is None:
        present_cost = plans.solved_for_cost
    spec = ChunkSpec(n_scenarios, seed, scenario_chunk, deterministic, keep_matrix, tuple(record), kernel,
                     keep_outcomes, on_disk, present_cost, data.policy.prepay_borrowing_base)  # fmt: skip
    kept = []
    if store is not None:  # only chunks computed from these plans, model and spec are used
        store.expect(data, plans, spec)
        store.device = f"{executor.backend_name}: {executor.device}"
        kept = [*store.ranges(), *continued_chunks(store, executor, spec, plan_chunk)]
    # the plans an earlier attempt did not store, in chunks sized for this attempt's machine
    chunks = plan_chunks(plans.P, plan_chunk, kept)
    started = time.perf_counter()
    results = executor.run(data, plans, spec, chunks, store=store, progress=progress)
    seconds = time.perf_counter() - started
    earlier = _pairs_stored(chunks, results, n_scenarios)
    result = EvaluationResult(
        metrics=_metrics_frame(data, plans, results, deterministic, max_memory),
        backend=executor.backend_name,
        device=executor.device,
        n_plans=plans.P,
        n_scenarios=n_scenarios,
        seed=None if deterministic else seed,
        seconds=seconds,
        plan_chunk=min(plans.P, plan_chunk),
        scenario_chunk=spec.scenario_chunk,
        npv_matrix=np.concatenate([r["npv"] for r in results]) if keep_matrix else None,
        outcomes=_joined_outcomes(results) if keep_outcomes else None,
        quarters=data.T,
        kernel=any(r.get("kernel", False) for r in results),
        model_fingerprint=data.fingerprint,
        paths={name: np.concatenate([r["paths"][name] for r in results]) for name in record},
        pairs_stored=sum(earlier.values()),
        earlier_devices=earlier,
    )
    result._measure_lead = functools.partial(measured_lead_error, data, plans, max_memory)
    return result


def paired_lead_error(data, both, column: str, scenarios: tuple[int, int, str], max_memory=None) -> float:
    """The standard error of the first plan's figure ``column`` less the second's (``both``, a batch
    of the two) on the same scenarios (their count, seed and the backend): the two evaluated again,
    alone, keeping each scenario's NPV (:func:`~fleetopt.evaluate.metrics.paired_npv_error`, compare's)."""
    n, seed, backend = scenarios
    npv = evaluate(data, both, n, seed, backend=backend, max_memory=max_memory, keep_matrix=True).npv_matrix
    return paired_npv_error(column, npv[1], npv[0])


def measured_lead_error(data: ModelData, plans: PlanBatch, max_memory: int | None, result: EvaluationResult,
                        ranked: pd.DataFrame, rank_by: str) -> float:  # fmt: skip
    """:meth:`EvaluationResult.first_place_error` of ``result``, the evaluation of ``plans`` on ``data``
    within ``max_memory``: ``ranked``, its plans ranked (rows by their place in the plans, the first
    two ahead by ``rank_by``'s figure), from the NPV matrix where the result kept one, else from the
    two plans evaluated again alone on the same scenarios."""
    rows, column = [int(row) for row in ranked.index[:2]], EVALUATION_RANK_COLUMNS[rank_by]
    scenarios = (result.n_scenarios, result.seed, result.backend)
    if rank_by in LOWER_RANK_COLUMNS:  # P(any default): of the two plans' defaults, scenario by scenario
        return paired_default_error(data, plans.take(rows), scenarios, max_memory)
    if rank_by in COST_RANK_COLUMNS:  # a present cost: of the two plans' costs, scenario by scenario
        return paired_cost_lead_error(data, plans.take(rows), column, scenarios, max_memory)
    if result.npv_matrix is not None:
        npv = result.npv_matrix[rows]
        return paired_npv_error(column, npv[1], npv[0])
    return paired_lead_error(data, plans.take(rows), column, scenarios, max_memory)


def paired_cost_lead_error(data, both, column: str, scenarios: tuple[int, int, str],
                           max_memory=None) -> float:  # fmt: skip
    """The standard error of the first plan's present cost figure ``column`` less the second's (``both``,
    a batch of the two, solved for least cost) on the same scenarios (their count, seed and the backend):
    the two evaluated again, alone, keeping each scenario's present cost, as `fleetopt compare`'s paired
    error of it (:func:`~fleetopt.evaluate.metrics.paired_cost_error`)."""
    n, seed, backend = scenarios
    result = evaluate(data, both, n, seed, backend=backend, max_memory=max_memory, keep_outcomes=True,
                      present_cost=True)  # fmt: skip
    cost = result.outcomes[PRESENT_COST]
    return paired_cost_error(column, cost[1], cost[0])


def paired_default_error(data, both, scenarios: tuple[int, int, str], max_memory=None) -> float:
    """The standard error of the second plan's P(any default) less the first's (``both``, a batch of
    the two) on the same scenarios (their count, seed and the backend): the two evaluated again,
    alone, keeping each scenario's defaults, as `fleetopt compare`'s paired error of it."""
    n, seed, backend = scenarios
    result = evaluate(data, both, n, seed, backend=backend, max_memory=max_memory, keep_outcomes=True)
    defaulted = either_happened(result.outcomes, ANY_DEFAULT_EVENTS).astype(float)
    return paired_error(defaulted[1] - defaulted[0])


def _backend_and_chunk_sizes(data: ModelData, plans: PlanBatch, n_scenarios: int, backend: str | Backend,
                             executor, max_memory: int | None, plan_chunk: int | None,
                             scenario_chunk: int | None, record: tuple[str, ...], folder: Path | None = None,
                             ) -> tuple[Backend | None, int, int]:  # fmt: skip
    """:func:`evaluate`'s backend and its plans per chunk and scenarios per block. Sizes given both
    are taken as they are: a --workers or Ray job's, each sized for a worker's share of the budget
    on the worker's backend, not this process's (a GPU's memory, with --workers); the backend is
    then None where ``executor`` brings its own. Else the backend is chosen (``executor``'s where
    it has one) and the sizes not given fit it within ``max_memory``, the rows of a chunk in a file
    in ``folder`` where they go to one (:func:`backend_chunk_sizes`)."""
    sized = bool(plan_chunk) and bool(scenario_chunk)
    be = None
    if isinstance(backend, Backend):
        be = backend
    elif executor is None:
        be = choose_backend(backend, None, data, plans, n_scenarios)
    elif not sized:  # the executor's backend was chosen with it: here only the chunks are sized
        be = getattr(executor, "backend", None) or resolve_backend(backend)
    if not sized:
        auto_plans, auto_scen = backend_chunk_sizes(data, plans, n_scenarios, be, max_memory, record, folder)
        plan_chunk, scenario_chunk = plan_chunk or auto_plans, scenario_chunk or auto_scen
    return be, plan_chunk, scenario_chunk


def _pairs_stored(chunks: list[tuple[int, int]], results: list[dict], n_scenarios: int) -> dict[str, int]:
    """The (plan, scenario) pairs an earlier attempt computed and stored, by the device that
    computed them (a chunk read back says which, and a chunk it left unfinished its rows kept)."""
    earlier: dict[str, int] = {}
    for (first, stop), r in zip(chunks, results, strict=True):
        if r.get("stored"):
            earlier[r["device"]] = earlier.get(r["device"], 0) + (stop - first) * n_scenarios
        for device, pairs in r.get("earlier", {}).items():
            earlier[device] = earlier.get(device, 0) + pairs
    return earlier


def _metrics_frame(data: ModelData, plans: PlanBatch, results: list[dict], deterministic: bool,
                   max_memory: int | None) -> pd.DataFrame:  # fmt: skip
    """The chunks' metrics, one row a plan, with whether each plan keeps its limits on its own
    forecast (``FORECAST_OK``): a deterministic evaluation is that run; the fused kernel runs it
    with each chunk, on the chunk's plan tables; else (NumPy, or chunks an earlier attempt stored)
    a NumPy run of every plan, within the run's budget too."""
    table = {name: np.concatenate([r["metrics"][name] for r in results]) for name in results[0]["metrics"]}
    metrics = pd.DataFrame({"plan": plans.labels, **table})
    if deterministic:
        ok = within_limits(metrics)
    elif all(r.get("forecast_ok") is not None for r in results):
        ok = np.concatenate([r["forecast_ok"] for r in results])
    else:
        ok = forecast_within_limits(data, plans, max_memory)
    metrics.insert(1, FORECAST_OK, ok)
    return metrics


def _joined_outcomes(results: list[dict]) -> dict[str, np.ndarray] | None:
    """The chunks' (plans, scenarios) outcomes joined; None where a chunk was read from a store."""
    if any(r.get("outcomes") is None for r in results):
        return None
    kept = results[0]["outcomes"]  # every chunk keeps the same names (a cost plan's present cost too)
    return {name: np.concatenate([r["outcomes"][name] for r in results]) for name in kept}


def forecast_runs(
    data: ModelData, plans: PlanBatch, record: tuple[str, ...] = (), max_memory: int | None = None
) -> EvaluationResult:
    """Each plan on the forecast as the company would run it: its deterministic evaluation with its
    policy (the batch's liquidity buffers), with the quarterly lines ``record`` names, within
    ``max_memory`` bytes (None: :func:`default_budget`). Its figures
    equal the plan's statements (to 1e-6) unless it offers more GPUs than the forecast demand or
    reacts on the forecast: with a positive buffer, or serving a contract with fewer GPUs than it
    has (docs/evaluation.md, "Nothing reacts on the forecast")."""
    return evaluate(
        data, plans, 1, 0, backend="numpy", deterministic=True, record=record, max_memory=max_memory
    )


def forecast_within_limits(data: ModelData, plans: PlanBatch, max_memory: int | None = None) -> np.ndarray:
    """(P,) whether each plan, run on the forecast with its policy (within ``max_memory`` bytes, as
    :func:`forecast_runs`), breaches no covenant (the
    borrowing base included) and keeps its cash above the default level: a plan a lender would sign.
    The MILP's plans do by construction; a policy buffer that cuts the prepayments keeping the
    borrowing base may not (docs/evaluation.md, policy rule 3)."""
    return forecast_runs(data, plans, max_memory=max_memory).metrics[FORECAST_OK].to_numpy(dtype=bool)
