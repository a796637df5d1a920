"""Evaluate many plans against many scenarios in memory-sized chunks.

Plans are split into chunks; within a chunk every scenario block is simulated and its results
written into the chunk's (plans x scenarios) buffer, then the chunk's metrics are computed from
whole rows. Because each (plan, scenario) pair is computed independently and each plan's row is
reduced in one fixed order, results do not depend on chunk sizes or on the order of the plans.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from fleetopt.data import ModelData
from fleetopt.evaluate.backend import Backend, resolve_backend
from fleetopt.evaluate.batch import PlanBatch
from fleetopt.evaluate.kernel import kernel_fits, simulate_cuda
from fleetopt.evaluate.metrics import plan_metrics
from fleetopt.evaluate.scenarios import ScenarioSet, deterministic_scenarios, generate_scenarios
from fleetopt.evaluate.simulate import RESULT_FIELDS, SimulationConstants, simulate

# Working memory per (plan, scenario) pair, in float64 words, beyond the per-quarter paths:
# state, accumulators and the temporaries of one quarter.
_BASE_WORDS_PER_PAIR = 48
_SAFETY = 2.0


@dataclass
class EvaluationResult:
    """Metrics per plan (one row each, in the order given) and how the run went."""

    metrics: pd.DataFrame
    backend: str
    device: str
    n_plans: int
    n_scenarios: int
    seed: int | None
    seconds: float
    plan_chunk: int
    scenario_chunk: int
    quarters: int
    kernel: bool
    npv_matrix: np.ndarray | None = None
    paths: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def pair_quarters_per_second(self) -> float:
        """Plan-scenario-quarters simulated per second."""
        return self.n_plans * self.n_scenarios * self.quarters / max(self.seconds, 1e-12)


def words_per_pair(data: ModelData, plans: PlanBatch, record: tuple[str, ...] = ()) -> float:
    K, F, I = len(data.contracts), len(data.facilities), data.I
    B = plans.build_mw.shape[1]
    return (_BASE_WORDS_PER_PAIR + 3 * I + 2 * K + 3 * F + 3 * B + len(record) * data.T) * _SAFETY


# Largest (plan, scenario) block per simulate call. NumPy runs fastest on blocks whose arrays stay
# near the CPU caches (measured: ~1e5 pairs beat ~1e6 by 1.5x); a GPU wants blocks large enough
# to fill every multiprocessor.
MAX_PAIRS = {"numpy": 1 << 17, "cupy": 1 << 24}


def chunk_sizes(
    data: ModelData,
    plans: PlanBatch,
    n_scenarios: int,
    budget_bytes: int,
    record: tuple[str, ...] = (),
    max_pairs: int = MAX_PAIRS["numpy"],
) -> tuple[int, int]:
    """(plans per chunk, scenarios per block) whose working set fits ``budget_bytes``."""
    pairs = max(1, min(max_pairs, int(budget_bytes // (8 * words_per_pair(data, plans, record)))))
    # the (plans x all scenarios) result buffer of a chunk lives on the host: keep it within budget too
    scenario_chunk = max(1, min(n_scenarios, pairs))
    plan_chunk = max(1, min(plans.P, pairs // scenario_chunk, budget_bytes // (8 * 6 * n_scenarios) or 1))
    return plan_chunk, scenario_chunk


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
) -> EvaluationResult:
    """Evaluate ``plans`` on scenarios ``0 .. n_scenarios - 1`` of ``seed``.

    ``deterministic=True`` evaluates on copies of the forecast instead of random scenarios.
    ``record`` names quarterly lines (``cash_usd``, ``debt_usd``, ``ebitda_usd``) to keep as
    (plans, scenarios, quarters) arrays, for fan charts of small runs. ``kernel=False`` makes the
    CuPy backend run the array-level code instead of the fused kernel (for testing one against
    the other).
    """
    if n_scenarios <= 0:
        raise ValueError(f"the number of scenarios must be positive (got {n_scenarios})")
    be = backend if isinstance(backend, Backend) else resolve_backend(backend)
    budget = max_memory if max_memory is not None else int(0.5 * be.free_memory_bytes())
    auto_plans, auto_scen = chunk_sizes(data, plans, n_scenarios, budget, record, MAX_PAIRS[be.name])
    pc = plan_chunk or auto_plans
    sc = scenario_chunk or auto_scen
    consts = SimulationConstants.from_data(data)
    # on a GPU the fused kernel carries the work; the array code serves paths (record) and models
    # whose sizes exceed the kernel's fixed state
    use_kernel = be.name == "cupy" and kernel and not record and kernel_fits(plans) is None
    P, S = plans.P, n_scenarios
    rows: list[dict[str, np.ndarray]] = []
    matrix = np.empty((P, S)) if keep_matrix else None
    paths = {name: np.empty((P, S, data.T)) for name in record}
    cached: dict[tuple[int, int], ScenarioSet] = {}

    def scenarios(start: int, stop: int) -> ScenarioSet:
        """Scenarios ``start .. stop - 1``; kept for the next plan chunk when one block holds them all."""
        if (start, stop) in cached:
            return cached[(start, stop)]
        if deterministic:
            block = deterministic_scenarios(data, stop - start)
            block.index = np.arange(start, stop)
        else:
            block = generate_scenarios(data, seed, start, stop)
        if stop - start == S:
            cached[(start, stop)] = block
        return block

    started = time.perf_counter()
    for p0 in range(0, P, pc):
        chunk = plans.take(slice(p0, min(P, p0 + pc)))
        buffers = {name: np.empty((chunk.P, S), dtype=bool if name in ("breach", "default") else np.float64)
                   for name in RESULT_FIELDS}  # fmt: skip
        for s0 in range(0, S, sc):
            s1 = min(S, s0 + sc)
            block = scenarios(s0, s1)
            if use_kernel:
                out = simulate_cuda(consts, chunk, block)
            else:
                out = simulate(consts, chunk, block, xp=be.xp, record=record)
            for name in RESULT_FIELDS:
                buffers[name][:, s0:s1] = be.to_host(out[name])
            for name in record:
                paths[name][p0 : p0 + chunk.P, s0:s1] = be.to_host(out[name])
            if progress is not None:
                progress(chunk.P * (s1 - s0), P * S)
        rows.append(plan_metrics(buffers))
        if matrix is not None:
            matrix[p0 : p0 + chunk.P] = buffers["npv"]
    be.synchronize()
    seconds = time.perf_counter() - started
    table = {name: np.concatenate([r[name] for r in rows]) for name in rows[0]}
    metrics = pd.DataFrame({"plan": plans.labels, **table})
    return EvaluationResult(
        metrics=metrics,
        backend=be.name,
        device=be.device,
        n_plans=P,
        n_scenarios=S,
        seed=None if deterministic else seed,
        seconds=seconds,
        plan_chunk=pc,
        scenario_chunk=sc,
        npv_matrix=matrix,
        quarters=data.T,
        kernel=use_kernel,
        paths=paths,
    )
