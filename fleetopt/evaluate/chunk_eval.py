"""One chunk of plans evaluated on every scenario (:func:`evaluate_chunk`), a pure function of
(model, plans, spec): its scenario blocks run on the backend (:class:`BlockSimulator`: the fused
kernel or the array simulation), their results kept as they come, in memory or a file
(:class:`ChunkResults`), then the chunk's metrics from whole rows and, where asked, each pair's
outcomes."""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

import numpy as np

from fleetopt.core.data import ModelData
from fleetopt.evaluate.backend import Backend, resolve_backend
from fleetopt.evaluate.chunks import ChunkSpec, scenario_block, scenario_blocks
from fleetopt.evaluate.kernel.cpu import cpu_kernel
from fleetopt.evaluate.kernel.cuda import DevicePlans, simulate_cuda, upload_tables
from fleetopt.evaluate.kernel.plan_tables import plan_tables
from fleetopt.evaluate.kernel.shape import kernel_fits
from fleetopt.evaluate.layout import ScenarioRows
from fleetopt.evaluate.metrics import demand_per_pair, plan_metrics, present_cost_metrics
from fleetopt.evaluate.planbatch import PlanBatch
from fleetopt.evaluate.result import COST_OUTCOMES, DEMAND_OUTCOMES, MEAN_OUTCOMES, OUTCOMES
from fleetopt.evaluate.result_fields import PRESENT_COST, fields_kept
from fleetopt.evaluate.scenarios import ScenarioSet, forecast_scenario
from fleetopt.evaluate.simulate import SimulationConstants
from fleetopt.evaluate.slip import by_slip, slipped_pairs
from fleetopt.evaluate.spill import KeptRows, SpilledRows
from fleetopt.evaluate.tiling import PlanLayouts, simulate_tiles


def evaluate_chunk(
    data: ModelData,
    chunk: PlanBatch,
    spec: ChunkSpec,
    backend: str | Backend = "numpy",
    progress: Callable[[int], None] | None = None,
    scenarios: ScenarioSet | None = None,
    keep_scenarios: bool = False,
    scenario_rows: ScenarioRows | dict | None = None,
    device_tables=None,
    while_running: Callable[[], None] | None = None,
    kept_rows: KeptRows | None = None,
) -> dict:
    """Metrics of one chunk of plans over all scenarios: a pure function of (model, plans, spec).

    Returns ``{"metrics": {name: (P,)}, "npv": (P, S) or None, "paths": {name: (P, S, T)}, "kernel": bool}``.
    ``scenarios`` may pass the whole scenario set when the caller already holds it;
    ``keep_scenarios`` keeps the last block made for the next call (worker processes);
    ``scenario_rows``: ``scenarios`` laid out for the backend, when the caller made them once for all
    chunks (:func:`scenario_layout`).
    ``device_tables``: the chunk's plan tables already on the GPU
    (:func:`~fleetopt.evaluate.kernel.cuda.stage_plans`);
    ``while_running``: called once the chunk's last kernel is launched, before its results are
    waited for (the caller prepares the next chunk meanwhile);
    ``kept_rows``: the file in the run's job folder that keeps the chunk's rows block by block,
    where it keeps them in a file (:func:`kept_rows_of`); the scenarios it holds already (an
    earlier attempt's) are not computed again.
    """
    be = backend if isinstance(backend, Backend) else resolve_backend(backend)
    consts = replace(SimulationConstants.from_data(data), present_cost=spec.present_cost)
    simulator = BlockSimulator(consts, chunk, spec, be, device_tables)
    kept = ChunkResults(chunk, spec, data.T, be, kept_rows)
    try:
        S = spec.n_scenarios
        for s0, s1 in scenario_blocks(S, spec.scenario_chunk, kept.done):
            whole = scenarios is not None and s1 - s0 == S
            block = scenarios if whole else scenario_block(data, spec, s0, s1, be.threads, keep_scenarios)
            run = functools.partial(simulator.run, rows=scenario_rows if whole else None)
            kept.add(by_slip(run, chunk, block, be.xp), block, s0, s1)
            if progress is not None:
                progress(chunk.P * (s1 - s0))
        return _chunk_result(data, chunk, spec, be, simulator, kept, while_running)
    finally:
        kept.close()  # the file of its rows, where they were written to one (a job folder's: recorded)


def _chunk_result(data: ModelData, chunk: PlanBatch, spec: ChunkSpec, be: Backend, simulator: BlockSimulator,
                  kept: ChunkResults, while_running: Callable[[], None] | None) -> dict:  # fmt: skip
    """:func:`evaluate_chunk`'s result, once every block of ``chunk`` is in ``kept``."""
    checked = simulator.kernel and not spec.deterministic  # a deterministic run is the forecast itself
    forecast_ok = simulator.forecast_ok(data, chunk) if checked else None
    # before the metrics, whose median quarters wait for the kernels (CuPy's bincount reads a size)
    if while_running is not None:
        while_running()
    metrics = kept.metrics()
    be.synchronize()
    return {
        "metrics": metrics,
        # each plan on the forecast within its limits (fused kernel only; else evaluate checks them)
        "forecast_ok": None if forecast_ok is None else be.to_host(forecast_ok),
        "npv": be.to_host(kept.buffers["npv"]) if spec.keep_matrix else None,
        # each pair's 0/1 covenant breach and liquidity default (a chunk store does not keep them)
        "outcomes": _outcomes(kept.buffers, kept.demand, be, be.xp) if spec.keep_outcomes else None,
        "paths": kept.paths,
        "kernel": simulator.kernel,
        # the pairs an earlier attempt computed and kept, by where (KeptRows.earlier)
        "earlier": {} if kept.kept is None else {d: chunk.P * n for d, n in kept.kept.earlier.items()},
    }  # fmt: skip


class BlockSimulator:
    """Runs a chunk's scenario blocks on its backend (docs/evaluation.md, "Backends and chunking"):
    the fused kernel, built in C (cpu-kernel) or on the GPU (cupy), where the chunk fits it and no
    quarterly line is recorded; else the array simulation, in tiles (:func:`simulate_tiles`)."""

    def __init__(self, consts: SimulationConstants, chunk: PlanBatch, spec: ChunkSpec, be: Backend,
                 device_tables: DevicePlans | None = None):  # fmt: skip
        self.consts, self.record, self.be = consts, spec.record, be
        fused = be.name in ("cupy", "cpu-kernel")
        self.kernel = fused and spec.kernel and not spec.record and kernel_fits(chunk, consts) is None
        self.on_cpu = be.name == "cpu-kernel"
        # the plans' tables, made once for all scenario blocks (on a GPU: the caller's, uploaded ahead,
        # else uploaded by simulate_cuda)
        self.tables = plan_tables(consts, chunk) if self.kernel and self.on_cpu else device_tables
        self.slip_tables: dict[int, Any] = {}  # each delivery slip's plans' (_tables_for)
        self.layouts = PlanLayouts(be.xp)  # the array simulation's, kept for the next block

    def run(self, plans: PlanBatch, scen: ScenarioSet, slip: int | None,
            rows: ScenarioRows | dict | None = None) -> dict:  # fmt: skip
        """(P, S) results of ``plans`` (made for delivery ``slip``; None where no scenario of the
        block slips) on ``scen``, as :func:`by_slip` asks for them. ``rows``: the whole block laid
        out (:func:`scenario_layout`), used where ``scen`` is that block (``slip`` None)."""
        rows = rows if slip is None else None
        if not self.kernel:
            numpy_rows = rows if isinstance(rows, ScenarioRows) else None
            return simulate_tiles(self.consts, plans, scen, self.be, self.record, numpy_rows, self.layouts,
                                  slip)  # fmt: skip
        tables = self._tables_for(plans, slip)
        if self.on_cpu:
            kernel_rows = rows if isinstance(rows, dict) else None
            return cpu_kernel(self.be.threads).simulate(self.consts, plans, scen, tables, kernel_rows)
        return simulate_cuda(self.consts, plans, scen, tables=tables)

    def _tables_for(self, plans: PlanBatch, slip: int | None) -> Any:
        """The kernel's tables of ``plans``: the chunk's own (``slip`` None or 0), else the slip's
        plans', made at its first block and kept for the others (on a GPU: uploaded here, as the
        device holds one chunk of plans, which alternating slips would copy again)."""
        if not slip:
            return self.tables
        if slip not in self.slip_tables:
            made = plan_tables(self.consts, plans)
            self.slip_tables[slip] = made if self.on_cpu else upload_tables(made, self.be.xp)
        return self.slip_tables[slip]

    def forecast_ok(self, data: ModelData, chunk: PlanBatch) -> Any:
        """(P,) whether each plan of ``chunk`` keeps its limits on the forecast (no breach, no
        default), by the fused kernel on the plan tables the chunk's run already made, on the
        backend's device: what :func:`forecast_within_limits` finds in NumPy, without making them
        again."""
        forecast = forecast_scenario(data)
        if self.on_cpu:
            out = cpu_kernel(self.be.threads).simulate(self.consts, chunk, forecast, self.tables)
        else:
            out = simulate_cuda(self.consts, chunk, forecast, tables=self.tables, forecast=True)
        return ~(out["breach"] | out["default"])[:, 0]


class ChunkResults:
    """A chunk's results as its scenario blocks come: the (plans x scenarios) ``buffers`` of
    ``RESULT_FIELDS``, which stay on the backend's device (only the metrics come back), or with
    ``spec.rows_on_disk`` and several blocks, in a file (closed by :meth:`close`): ``kept``, the
    run's job folder's (:class:`KeptRows`, which also keeps the demand and the slipped counts as
    each block comes, and may hold an earlier attempt's first blocks: :attr:`done`), else a
    temporary one (:class:`SpilledRows`); each scenario's market demand over the horizon, the
    recorded ``paths`` (on the host) and the scenarios in which a delivery slip moved each plan's
    GPUs."""

    def __init__(self, chunk: PlanBatch, spec: ChunkSpec, quarters: int, be: Backend,
                 kept: KeptRows | None = None):  # fmt: skip
        self.chunk, self.spec, self.quarters, self.be = chunk, spec, quarters, be
        S = spec.n_scenarios
        spilled = spec.rows_on_disk and spec.scenario_chunk < S
        self.kept = kept
        # the (P, S) results kept: RESULT_FIELDS, the cost and rule 6's prepayments where computed
        self.fields = fields_kept(spec.present_cost, spec.base_prepay)
        self.spilled = kept or (SpilledRows(chunk.P, S, fields=self.fields) if spilled else None)
        self.buffers: Mapping | None = None if self.spilled is None else self.spilled.rows(0, chunk.P)
        self.demand = np.empty(S)  # H100-equivalent GPU-quarters (horizon_demand)
        self.paths = {name: np.empty((chunk.P, S, quarters)) for name in spec.record}
        self.slipped = np.zeros(chunk.P)  # scenarios in which a delivery slip moved the plan's GPUs
        self.done = 0 if kept is None else kept.done  # scenarios an earlier attempt kept
        if self.done:
            self.demand[: self.done], self.slipped = kept.demand(), kept.slipped.copy()

    def add(self, out: dict, block: ScenarioSet, s0: int, s1: int) -> None:
        """Keep ``out``, the results of scenarios ``s0 .. s1 - 1`` (``block``)."""
        S, xp = self.spec.n_scenarios, self.be.xp
        if self.spilled is not None:
            self.spilled.write(out, s0, s1)
        elif s1 - s0 == S:  # one block holds every scenario: its results are the buffers
            self.buffers = {name: out[name] for name in self.fields}
        else:
            if self.buffers is None:
                shape = (self.chunk.P, S)
                self.buffers = {name: xp.empty(shape, dtype=out[name].dtype) for name in self.fields}
            for name in self.fields:
                self.buffers[name][:, s0:s1] = out[name]
        self.demand[s0:s1] = horizon_demand(block)
        if self.chunk.slipped:
            self.slipped += slipped_pairs(self.chunk, block).sum(axis=1)
        for name in self.spec.record:
            self.paths[name][:, s0:s1] = self.be.to_host(out[name])
        if self.kept is not None:
            self.kept.keep(s0, s1, self.demand[s0:s1], self.slipped)

    def metrics(self) -> dict[str, np.ndarray]:
        """(P,) each metric of the chunk's plans, on the host (computed on the backend's device);
        from a file, a few plans at a time, as many pairs as a block held (each metric
        is its plan's alone, so the same bits)."""
        xp = self.be.xp
        if self.spilled is None:
            on_device = self._metrics_of(self.buffers, xp, xp.asarray(self.demand))
            metrics = {name: self.be.to_host(value) for name, value in on_device.items()}
        else:
            step = max(1, self.chunk.P * self.spec.scenario_chunk // self.spec.n_scenarios)
            parts = [self._metrics_of(self.spilled.rows(p, min(p + step, self.chunk.P)), np, self.demand)
                     for p in range(0, self.chunk.P, step)]  # fmt: skip
            metrics = {name: np.concatenate([part[name] for part in parts]) for name in parts[0]}
        if self.chunk.slipped:
            metrics["slipped_share"] = self.slipped / self.spec.n_scenarios
        return metrics

    def _metrics_of(self, rows: Mapping, xp: Any, demand: Any) -> dict:
        """The metrics of some plans' ``rows`` of results, and their present cost's where the run
        computes it, on ``xp``'s device."""
        metrics = plan_metrics(rows, xp, self.quarters, demand)
        if self.spec.present_cost:
            metrics |= present_cost_metrics(rows[PRESENT_COST], xp)
        return metrics

    def close(self) -> None:
        """Let go of the file of the rows, where they were written to one (a job folder's stays)."""
        if self.spilled is not None:
            self.spilled.close()


def horizon_demand(scenarios: ScenarioSet) -> np.ndarray:
    """(S,) each scenario's market demand over the horizon, H100-equivalent GPU-quarters, added up
    quarter by quarter and use by use: the same bits however the scenarios are split into blocks
    (a sum over both axes at once is ordered by the array's shape)."""
    demand = scenarios.demand  # (S, uses, T)
    total = np.zeros(demand.shape[0])
    for t in range(demand.shape[2]):
        for u in range(demand.shape[1]):
            total += demand[:, u, t]
    return total


def _outcomes(buffers: Mapping, demand: np.ndarray, be: Backend, xp: Any) -> dict[str, np.ndarray]:
    """Each pair's :data:`OUTCOMES` (bool), :data:`DEMAND_OUTCOMES` (its share of the scenario's
    market demand served, and 1 where short by more than metrics.SHORTFALL_SHARE; NaN throughout
    where the model has no demand), :data:`MEAN_OUTCOMES` and, where the chunk kept it (a run that
    computes the present cost, ``fields_kept``), :data:`COST_OUTCOMES` (float64), (plans, scenarios)
    on the host."""
    kept = {name: be.to_host(buffers[name]).astype(bool) for name in OUTCOMES}
    means = (*MEAN_OUTCOMES, *(name for name in COST_OUTCOMES if name in buffers))
    kept |= {name: be.to_host(buffers[name]).astype(np.float64, copy=False) for name in means}
    share, short, _, some = demand_per_pair(buffers["demand_served"], xp.asarray(demand), xp)
    none = not bool(some.any())
    for name, values in zip(DEMAND_OUTCOMES, (share, short), strict=True):
        kept[name] = np.full(kept["breach"].shape, np.nan) if none else be.to_host(values)
    return kept
