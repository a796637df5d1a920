"""Evaluate many plans against many scenarios in memory-sized chunks.

Plans are split into chunks; within a chunk every scenario block is made once, simulated and its
results written into the chunk's (plans x scenarios) buffer (or, where those rows would take too
much of the memory budget, a file: spill.py), then the chunk's metrics are computed
from whole rows. Because each (plan, scenario) pair is computed independently and each plan's row is
reduced in one fixed order, results do not depend on chunk sizes or on the order of the plans.
"""

from __future__ import annotations

import functools
import itertools
import math
import time
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from fleetopt.core.data import ModelData
from fleetopt.core.notebook import html_text, markdown_table, markdown_text
from fleetopt.core.plan import Plan
from fleetopt.core.results.risk_sentences import risk_in_short
from fleetopt.core.units import counted, format_duration, format_usd
from fleetopt.errors import warn
from fleetopt.evaluate.backend import (
    Backend,
    c_compiler,
    gpu_with_cupy,
    resolve_backend,
    usable_cores,
)
from fleetopt.evaluate.batch import compile_plans, with_buffers
from fleetopt.evaluate.chunking import (
    NUMPY_S_PER_BLOCK,
    backend_chunk_sizes,
    check_scenarios_fit,
    local_budget,
    rows_on_disk,
    splits_here,
)
from fleetopt.evaluate.first_place import first_place_words
from fleetopt.evaluate.kernel.compiler import KernelBuildError
from fleetopt.evaluate.kernel.cpu import build_cpu_kernel, check_c_compiler, cpu_kernel
from fleetopt.evaluate.kernel.cuda import DevicePlans, simulate_cuda, upload_tables
from fleetopt.evaluate.kernel.plan_tables import plan_tables
from fleetopt.evaluate.kernel.scenario_arguments import scenario_arguments
from fleetopt.evaluate.kernel.shape import kernel_fits
from fleetopt.evaluate.layout import PlanColumns, ScenarioRows
from fleetopt.evaluate.metrics import (
    ANY_DEFAULT_EVENTS,
    DEFAULT_RANK,
    EVALUATION_RANK_COLUMNS,
    FORECAST_OK,
    LOWER_RANK_COLUMNS,
    MEAN_OF_PAIRS,
    RANK_WORDS,
    best_plan_label,
    demand_in_short,
    demand_per_pair,
    either_happened,
    first_by_the_forecast,
    key_figures_frame,
    paired_error,
    paired_npv_error,
    plan_metrics,
    ranked_plans,
    shown_plans,
    within_limits,
)
from fleetopt.evaluate.planbatch import PlanBatch
from fleetopt.evaluate.result_fields import RESULT_FIELDS, result_bytes
from fleetopt.evaluate.scenarios import (
    ScenarioSet,
    deterministic_scenarios,
    forecast_scenario,
    generate_scenarios,
)
from fleetopt.evaluate.simulate import SimulationConstants, simulate
from fleetopt.evaluate.slip import by_slip, slipped_pairs
from fleetopt.evaluate.spill import (
    KeptRows,
    SpilledRows,
)
from fleetopt.runs import limits

# the per-pair outcomes an evaluation keeps with keep_outcomes (fleetopt compare's paired errors)
OUTCOMES = ("breach", "uncured_breach", "default")
# and each pair's share of its scenario's demand served and whether it is short (metrics.demand_per_pair)
DEMAND_OUTCOMES = ("demand_share", "demand_short")
# and each pair's value of the results whose means compare pairs (metrics.MEAN_OF_PAIRS), float64:
# 48 bytes a pair more, 67 in all with the above (the NPV matrix another 8)
MEAN_OUTCOMES = tuple(MEAN_OF_PAIRS.values())


# where a notebook display of an evaluation says every figure is
EVALUATION_NEXT = "Next: .metrics (every figure: USD, shares in [0, 1]), .ranked(rank_by)"


@dataclass
class EvaluationResult:
    """Metrics per plan (one row each, in the order given) and how the run went. ``metrics`` is
    yours to change; a run is written from :attr:`computed_metrics`, and the arrays are read-only."""

    metrics: pd.DataFrame  # one row per plan: core.metric_columns.METRIC_COLUMNS (USD, probabilities, shares)
    backend: str  # numpy | cupy | cpu-kernel
    device: str  # what it ran on, for people
    n_plans: int
    n_scenarios: int  # 1 when deterministic
    seed: int | None  # None when deterministic (the forecast itself)
    seconds: float  # wall time of this attempt
    plan_chunk: int  # plans per chunk this attempt computed (a resume keeps the chunks stored before)
    scenario_chunk: int  # scenarios per block
    quarters: int  # quarters of the horizon
    kernel: bool  # whether the fused kernel ran (cupy, cpu-kernel) rather than the NumPy reference
    npv_matrix: np.ndarray | None = None  # (plans, scenarios) NPV, USD, when keep_matrix
    # with keep_outcomes: each (plan, scenario)'s covenant breach and liquidity default, (P, S) bool
    # arrays by OUTCOMES' names, its demand served and the values MEAN_OUTCOMES names (None where
    # chunks came from a store, which does not keep them)
    outcomes: dict[str, np.ndarray] | None = None
    # the quarterly lines asked for by evaluate(record=...) (cash_usd, debt_usd, ebitda_usd: USD at
    # each quarter's end), each a (plans, scenarios, quarters) array; empty unless asked for (the
    # Python API and the CLI do not ask)
    paths: dict[str, np.ndarray] = field(default_factory=dict)
    pairs_stored: int = 0  # (plan, scenario) pairs a resumed run read from chunks an earlier attempt saved
    model_fingerprint: str = ""  # the model evaluated under (ModelData.fingerprint): a run is written with it
    # of pairs_stored, how many each earlier attempt's backend and device computed ("numpy: CPU (2 threads)")
    earlier_devices: dict[str, int] = field(default_factory=dict)
    # the plans' objective (evaluate.sources.solve_objective), set by the job that ran them: "cost",
    # plans solved for least cost, whose "In short" says the demand they serve; None: not known
    plans_objective: str | None = None
    # the model as changed for the run (schema.model_changes.changed_model_line), set by the job that
    # ran it, which the result, holding no model, cannot say itself; '' for a file as it is, or not known
    changed_model: str = ""
    # (model, plans, memory budget) it was evaluated with (evaluate's), to measure the first place's
    # lead again on the same scenarios; None: a result built by hand, whose lead is not known
    _evaluated: tuple | None = field(default=None, init=False, repr=False, compare=False)
    # first_place_error's, by ranking: the two plans are evaluated again only once
    _lead_errors: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # what was computed, apart from ``metrics``, which a notebook may change (a column put in
        # $M, rows sorted): a run folder is written from this, row by row beside the NPV matrix
        self._computed = self.metrics.copy()
        for array in [self.npv_matrix, *(self.outcomes or {}).values(), *self.paths.values()]:
            if array is not None:
                array.setflags(write=False)

    @property
    def computed_metrics(self) -> pd.DataFrame:
        """The metrics as the evaluation computed them (a copy), whatever was done to ``metrics``
        since: what :func:`fleetopt.api.write_evaluate_run` writes."""
        return self._computed.copy()

    @property
    def computed_metrics_frame(self) -> pd.DataFrame:
        """:attr:`computed_metrics` itself, not a copy: for the writers, which only read it."""
        return self._computed

    def __repr__(self) -> str:  # a notebook shows this, not the NPV matrix
        runs = "on the forecast" if self.seed is None else f"x {counted(self.n_scenarios, 'scenario')}"
        seed = "" if self.seed is None else f" (seed {self.seed})"
        what = f"{counted(self.n_plans, 'plan')} {runs}{seed}, {self.backend}"
        return f"EvaluationResult({what}{self._best_words()}; .metrics, .ranked())"

    def _best_words(self) -> str:
        """': 'milp' mean NPV -$22.2M, CVaR5 -$72.6M', the best plan by CVaR5 (named so of several; its NPV
        alone on the forecast); '' without plans or those figures (a table made by hand)."""
        if self._computed.empty or not {"npv_mean_usd", "npv_cvar5_usd"} <= set(self._computed):
            return ""
        best = self.ranked().iloc[0]
        if self.seed is None:
            return f": {best['plan']!r} NPV on the forecast {format_usd(best['npv_mean_usd'])}"
        whose = f"best by {RANK_WORDS[DEFAULT_RANK]} " if self.n_plans > 1 else ""
        return (f": {whose}{best['plan']!r} mean NPV {format_usd(best['npv_mean_usd'])}, "
                f"CVaR5 {format_usd(best['npv_cvar5_usd'])}")

    def _title(self) -> tuple[str, str]:
        """A notebook display's title, in two parts: the bold one and the rest."""
        if self.seed is None:
            return "Evaluation on the forecast", f" of {counted(self.n_plans, 'plan')} ({self.backend})"
        scenarios = f"{counted(self.n_scenarios, 'scenario')}, seed {self.seed}"
        return "Evaluation", f" of {counted(self.n_plans, 'plan')} on {scenarios} ({self.backend})"

    def _repr_html_(self) -> str:
        """What a notebook cell shows (JupyterLab's first choice), as :meth:`_repr_markdown_`: the
        title, each plan's key figures, :meth:`_in_short` and where every figure is (the caption was
        the one-line repr, and the last line missing)."""
        bold, rest = self._title()
        title = f"<p><b>{html_text(bold)}</b>{html_text(rest)}</p>"
        changed = f"<p>{html_text(self.changed_model)}</p>" if self.changed_model else ""
        table = key_figures_frame(self.metrics, forecast=self.seed is None).to_html(index=False)
        said = "".join(f"<p>{html_text(line)}</p>" for line in self._in_short())
        return title + changed + table + said + f"<p>{html_text(EVALUATION_NEXT)}</p>"

    def _repr_markdown_(self) -> str:
        """What a notebook cell shows where it shows Markdown, as :meth:`_repr_html_`: each plan's
        :func:`key_figures_frame` (its ``metrics`` as they now are), :meth:`_in_short`, and where
        every figure is."""
        bold, rest = self._title()
        table = markdown_table(key_figures_frame(self.metrics, forecast=self.seed is None))
        said = [markdown_text(line) for line in self._in_short()]
        changed = [markdown_text(self.changed_model), ""] if self.changed_model else []
        return "\n".join([f"**{bold}**{rest}", "", *changed, table, "", *said, *([""] if said else []),
                          EVALUATION_NEXT])  # fmt: skip

    def _in_short(self) -> list[str]:
        """The best plan's value and risk by CVaR5 NPV (the plan's, where it is the only one), in
        the sentences of the terminal's "In short"
        (:func:`fleetopt.core.results.risk_sentences.risk_in_short`), as computed, with the demand it
        serves where the plans were solved for least cost; none on the forecast alone (no risk over one
        future) or without plans."""
        ranked = self.ranked()
        if self.seed is None or ranked.empty:
            return []
        first = ranked.iloc[0]
        label = best_plan_label(first["plan"], DEFAULT_RANK, len(ranked) > 1)
        served = demand_in_short(self.n_scenarios, first) if self.plans_objective == "cost" else None
        said = " ".join(risk_in_short(label, self.n_scenarios, first, served=served, quarters=self.quarters))
        said += first_place_words(ranked, DEFAULT_RANK, self.n_scenarios, self.first_place_error())
        return ["In short: " + said]

    def ranked(self, rank_by: str = DEFAULT_RANK, max_breach_prob: float | None = None) -> pd.DataFrame:
        """The plans' computed metrics best first by ``rank_by`` ("cvar5", "mean", "p5": the highest NPV
        figure; "any-default": the lowest P(any default)), only those
        with P(covenant breach) at most ``max_breach_prob`` where it is given: the table `fleetopt
        evaluate --rank-by --max-breach-prob` prints (a plan that breaks a limit on its own forecast
        comes after every one that keeps them; ties in the plans' order). A bad argument raises
        InputError naming it."""
        return ranked_plans(self._computed, *_checked_ranking(rank_by, max_breach_prob).values())

    def first_place_error(self, rank_by: str = DEFAULT_RANK,
                          max_breach_prob: float | None = None) -> float | None:  # fmt: skip
        """How sure the first place of :meth:`ranked` is (every plan where none meets
        ``max_breach_prob``, as `fleetopt evaluate` and the report rank them): the paired standard
        error of the first plan's lead over the second on ``rank_by``'s figure (USD; a share by
        "any-default"), from the NPV matrix where the result kept one, else from the two plans
        evaluated again alone on the same scenarios (once: it is kept). None where there is nothing
        to measure (on the forecast, one plan, a result built by hand); NaN where the ranking puts
        the first ahead by its forecast, not by the figure. `fleetopt evaluate`'s "In short" says
        it, and :func:`fleetopt.api.write_evaluate_run` keeps it for the report (summary.json's
        ``ranking.lead_se_usd``; ``lead_se_share`` by "any-default")."""
        ranking = _checked_ranking(rank_by, max_breach_prob)
        key = tuple(ranking.values())
        if key not in self._lead_errors:
            ranked = shown_plans(self._computed, ranking)[0]
            self._lead_errors[key] = self._measured_lead_error(ranked, ranking["rank_by"])
        return self._lead_errors[key]

    def _measured_lead_error(self, ranked: pd.DataFrame, rank_by: str) -> float | None:
        """:meth:`first_place_error` of ``ranked`` (rows by their place in the plans), measured."""
        if self.seed is None or len(ranked) < 2 or self._evaluated is None:
            return None
        if first_by_the_forecast(ranked):
            return math.nan
        rows, column = [int(row) for row in ranked.index[:2]], EVALUATION_RANK_COLUMNS[rank_by]
        data, plans, max_memory = self._evaluated
        scenarios = (self.n_scenarios, self.seed, self.backend)
        if rank_by in LOWER_RANK_COLUMNS:  # P(any default): of the two plans' defaults, scenario by scenario
            return paired_default_error(data, plans.take(rows), scenarios, max_memory)
        if self.npv_matrix is not None:
            npv = self.npv_matrix[rows]
            return paired_npv_error(column, npv[1], npv[0])
        return paired_lead_error(data, plans.take(rows), column, scenarios, max_memory)

    @property
    def pairs_computed(self) -> int:
        """(plan, scenario) pairs simulated in this attempt (all of them unless resumed)."""
        return self.n_plans * self.n_scenarios - self.pairs_stored

    @property
    def pair_quarters_per_second(self) -> float:
        """Plan-scenario-quarters simulated per second, in this attempt (a resumed run's stored
        chunks took no time now and are not counted)."""
        return self.pairs_computed * self.quarters / max(self.seconds, 1e-12)


def _checked_ranking(rank_by: str, max_breach_prob: float | None) -> dict:
    """{"rank_by", "max_breach_prob"} of :meth:`EvaluationResult.ranked`, each checked by name."""
    rank_by = limits.text("rank_by", rank_by, tuple(EVALUATION_RANK_COLUMNS))
    if max_breach_prob is not None:
        max_breach_prob = limits.number("max_breach_prob", max_breach_prob, 0.0, 1.0)
    return {"rank_by": rank_by, "max_breach_prob": max_breach_prob}


# `auto` on a machine without a usable GPU runs the C build of the kernel (the same results as
# NumPy, about 2.5x its speed on the 2-core development machine) from this many plan-scenario-
# quarters on: about 4 s of NumPy there, where the build, 1.3 s the first time on a machine and
# then kept, has paid for itself. Below it, NumPy (no compiler needed, nothing built).
AUTO_C_BUILD_PAIR_QUARTERS = 25_000_000

# `auto` on a machine with a GPU and CuPy runs an evaluation on the CPU when NumPy would finish it
# in less time than CuPy takes to start. Measured on an NVIDIA H200 machine (benchmarks/README.md,
# "GPU"): `fleetopt evaluate` of one plan on 10,000 scenarios took 3.6 s in all on NumPy and 5.3 s
# on CuPy with its kernels already compiled (20.1 s on a fresh machine, which compiles them), of
# which the evaluation 0.30 s on NumPy, mostly per scenario (its factors, the metrics), and NumPy
# ran 7.75e6 plan-scenario-quarters a second at scale: an estimate from those figures.
CUPY_START_S = 1.7
NUMPY_S_PER_SCENARIO = 30e-6
NUMPY_PAIR_QUARTERS_PER_S = 7.75e6


def _runs_on_the_cpu(plans: int, scenarios: int, quarters: int) -> bool:
    """Whether ``auto`` runs an evaluation of this size on the CPU of a machine with a GPU: where
    CuPy is installed and NumPy would finish before CuPy has started."""
    return gpu_with_cupy() and numpy_seconds(plans, scenarios, quarters) < CUPY_START_S


def numpy_seconds(plans: int, scenarios: int, quarters: int) -> float:
    """NumPy's estimated time for an evaluation, s: per scenario and per plan-scenario-quarter."""
    return scenarios * NUMPY_S_PER_SCENARIO + plans * scenarios * quarters / NUMPY_PAIR_QUARTERS_PER_S


def chunked_numpy_seconds(plans: int, scenarios: int, quarters: int, plan_chunk: int, scenario_chunk: int
                          ) -> float:  # fmt: skip
    """:func:`numpy_seconds` of a run in chunks of ``plan_chunk`` plans on blocks of ``scenario_chunk``
    scenarios: each block a call (:data:`NUMPY_S_PER_BLOCK`), and scenarios split into blocks made
    again for every chunk of plans (one block is made once for the run)."""
    chunks, blocks = -(-plans // plan_chunk), -(-scenarios // scenario_chunk)
    made = chunks if blocks > 1 else 1
    return (numpy_seconds(plans, scenarios, quarters) + (made - 1) * scenarios * NUMPY_S_PER_SCENARIO
            + chunks * blocks * NUMPY_S_PER_BLOCK)  # fmt: skip


def choose_backend(
    name: str, threads: int | None, data: ModelData, plans: PlanBatch, n_scenarios: int, gpu: bool = True
) -> Backend:
    """The backend ``name`` for evaluating ``plans`` on ``n_scenarios`` scenarios of ``data``.

    ``auto``: CuPy on a usable CUDA device, unless NumPy would finish the run before CuPy has
    started (:func:`numpy_seconds` under :data:`CUPY_START_S`): then on the CPU, as ``gpu=False``,
    saying so, without starting CuPy; else the C build of the kernel where the run has at
    least :data:`AUTO_C_BUILD_PAIR_QUARTERS` plan-scenario-quarters, a C compiler is found, the
    model fits the kernel and the build can be made and loaded here (built now, before the run);
    else NumPy, whose ``note`` says why when a build was tried and failed. ``cpu-kernel`` is
    built now too, so that a compiler or build cache that fails stops the run before it starts.
    ``gpu=False``: for CPU worker processes, ``auto`` as on a machine without a GPU."""
    work = plans.P * n_scenarios * data.T
    if name == "auto" and gpu and _runs_on_the_cpu(plans.P, n_scenarios, data.T):
        be = choose_backend(name, threads, data, plans, n_scenarios, gpu=False)
        return be.noted(
            f"auto: NumPy finishes this run ({work:,} plan-scenario-quarters, about "
            f"{format_duration(numpy_seconds(plans.P, n_scenarios, data.T))}) before CuPy would start (about "
            f"{CUPY_START_S:g} s); --backend cupy asks for the GPU"
        )
    be = resolve_backend("numpy" if name == "auto" and not gpu else name, threads)
    consts = SimulationConstants.from_data(data)
    why = kernel_fits(plans, consts)
    if be.name == "cpu-kernel" and why is None:
        build_cpu_kernel(be.threads, consts, plans)
    if why is not None and be.name != "numpy":  # the run line must not claim a kernel that cannot run
        path = "NumPy simulation" if be.name == "cpu-kernel" else "unfused simulation on the GPU"
        return be.noted(f"{why}: a chunk of plans beyond it runs the {path}, with the same results")
    if name != "auto" or be.name != "numpy" or work < AUTO_C_BUILD_PAIR_QUARTERS:
        return be
    if why is not None:
        return be.noted(f"auto chose NumPy: {why}")
    if c_compiler() is None:
        return be
    try:
        build_cpu_kernel(be.threads, consts, plans)
    except KernelBuildError as exc:
        return be.noted(f"auto chose NumPy: the C build of the kernel {exc.reason}")
    kernel = resolve_backend("cpu-kernel", be.threads)
    return kernel.noted(f"auto: {work:,} plan-scenario-quarters, the same results as NumPy and faster")


def check_backend_runs(
    data: ModelData, n_scenarios: int, backend: str, threads: int | None, n_plans: int | None = None
) -> None:
    """Refuse, before any solve, a backend that cannot run here: one missing, too little memory for
    ``n_scenarios``, or (``cpu-kernel``) a C compiler that cannot build (:func:`check_c_compiler`).
    ``n_plans``: at most the plans the run will evaluate; ``auto`` for so few that they run on the
    CPU (:func:`choose_backend`) is checked there, without starting CuPy."""
    if backend == "auto" and n_plans is not None and _runs_on_the_cpu(n_plans, n_scenarios, data.T):
        backend = "numpy"
    be = resolve_backend(backend, threads)
    check_scenarios_fit(data, n_scenarios, be)
    if be.name == "cpu-kernel":
        check_c_compiler(be.threads)


@dataclass(frozen=True)
class ChunkSpec:
    """Everything a chunk's result depends on besides the model and its plans."""

    n_scenarios: int
    seed: int
    scenario_chunk: int
    deterministic: bool = False
    keep_matrix: bool = False
    record: tuple[str, ...] = ()
    kernel: bool = True
    keep_outcomes: bool = False
    # the chunk's rows of results in a file, not in memory (:func:`rows_on_disk`): how it
    # is computed, never what (the same bits)
    rows_on_disk: bool = False


# The last scenario block a worker process made, kept for its next chunk of plans: a worker
# (process pool or Ray) computes chunk after chunk on the same scenarios, and making them can cost
# as much as simulating a chunk. Keyed by the model's content (Ray hands each task its own copy).
_LAST_BLOCK: list = []
_KEEP_AT_MOST_BYTES = 512 * 1024**2
# Fewer scenarios than this per thread are made on one thread.
MIN_SCENARIOS_PER_THREAD = 2048


def scenario_block(
    data: ModelData, spec: ChunkSpec, start: int, stop: int, threads: int = 1, keep: bool = False
) -> ScenarioSet:
    """Scenarios ``start .. stop - 1`` of the run (copies of the forecast when deterministic),
    made in ``threads`` parts at once (scenario i depends only on the seed and i). ``keep``: reuse
    the last block kept by this process if it is the same, and keep this one."""
    key = (data.fingerprint, spec.seed, spec.deterministic, start, stop) if keep else None
    if keep and _LAST_BLOCK and _LAST_BLOCK[0][0] == key:
        return _LAST_BLOCK[0][1]
    if spec.deterministic:
        block = deterministic_scenarios(data, stop - start)
        block.index = np.arange(start, stop)
    else:
        parts = min(threads, max(1, (stop - start) // MIN_SCENARIOS_PER_THREAD))
        if parts == 1:
            block = generate_scenarios(data, spec.seed, start, stop)
        else:
            cuts = np.linspace(start, stop, parts + 1).round().astype(int)
            with ThreadPoolExecutor(parts) as pool:
                pieces = list(
                    pool.map(lambda a, b: generate_scenarios(data, spec.seed, a, b), cuts[:-1], cuts[1:])
                )
            block = ScenarioSet.concatenate(pieces)
    if keep:
        small = sum(v.nbytes for v in block.arrays().values()) <= _KEEP_AT_MOST_BYTES
        _LAST_BLOCK[:] = [(key, block)] if small else []
    return block


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
    simulator = BlockSimulator(SimulationConstants.from_data(data), chunk, spec, be, device_tables)
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


def scenario_blocks(n_scenarios: int, scenario_chunk: int, first: int = 0) -> list[tuple[int, int]]:
    """(first, stop) scenario index of every block of at most ``scenario_chunk`` from scenario
    ``first`` on, in order."""
    return [(s0, min(n_scenarios, s0 + scenario_chunk)) for s0 in range(first, n_scenarios, scenario_chunk)]


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
        self.spilled = kept or (SpilledRows(chunk.P, S) if spilled else None)
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
            self.buffers = {name: out[name] for name in RESULT_FIELDS}
        else:
            if self.buffers is None:
                shape = (self.chunk.P, S)
                self.buffers = {name: xp.empty(shape, dtype=out[name].dtype) for name in RESULT_FIELDS}
            for name in RESULT_FIELDS:
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
            on_device = plan_metrics(self.buffers, xp, self.quarters, xp.asarray(self.demand))
            metrics = {name: self.be.to_host(value) for name, value in on_device.items()}
        else:
            step = max(1, self.chunk.P * self.spec.scenario_chunk // self.spec.n_scenarios)
            parts = [plan_metrics(self.spilled.rows(p, min(p + step, self.chunk.P)), np, self.quarters,
                                  self.demand) for p in range(0, self.chunk.P, step)]  # fmt: skip
            metrics = {name: np.concatenate([part[name] for part in parts]) for name in parts[0]}
        if self.chunk.slipped:
            metrics["slipped_share"] = self.slipped / self.spec.n_scenarios
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


# A tile smaller than this costs more in per-call overhead than a second thread gains.
MIN_TILE_PAIRS = 1 << 14


def tiles(P: int, S: int, threads: int) -> list[tuple[slice, slice]]:
    """(plans, scenarios) tiles of a block, one per thread: plans split where there are enough."""
    n = max(1, min(threads, (P * S) // MIN_TILE_PAIRS))
    if n == 1:
        return [(slice(0, P), slice(0, S))]
    if n <= P:
        cuts = np.linspace(0, P, n + 1).round().astype(int)
        return [(slice(a, b), slice(0, S)) for a, b in itertools.pairwise(cuts)]
    cuts = np.linspace(0, S, n + 1).round().astype(int)
    return [(slice(0, P), slice(a, b)) for a, b in itertools.pairwise(cuts)]


def scenario_layout(
    block: ScenarioSet, be: Backend, spec: ChunkSpec, data: ModelData, plans: PlanBatch
) -> ScenarioRows | dict | None:
    """``block`` laid out once for every chunk of ``plans`` evaluated on it: NumPy's rows, or the C
    build's scenario arguments where it runs the kernel; None where the backend lays it out itself."""
    if be.name == "numpy":
        return ScenarioRows(block, np)
    if be.name != "cpu-kernel" or not spec.kernel or spec.record:
        return None
    if kernel_fits(plans, SimulationConstants.from_data(data)) is not None:  # the array code runs them
        return None
    return scenario_arguments(block, np, scenario_major=True)


class PlanLayouts:
    """A chunk's plans laid out for the array simulation (:class:`~fleetopt.evaluate.layout.PlanColumns`),
    one per tile of plans: kept from one scenario block to the next while the same plans and tiles
    come (they depend on the plans only), made again for another delivery slip's plans, so that one
    set is held at a time, as the memory budget counts (:func:`table_sets`)."""

    def __init__(self, xp: Any):
        self.xp, self.chunk, self.key, self.made = xp, None, None, {}

    def of(self, chunk: PlanBatch, slip: int | None, plan_tiles: list[slice]) -> dict:
        """{(first, stop): (plans, their columns)} for each tile of ``chunk``'s plans (``slip``: the
        delivery slip that made ``chunk``; None or 0: the chunk's own plans)."""
        key = (slip or 0, tuple((p.start, p.stop) for p in plan_tiles))
        # the chunk itself is held, not its id: a chunk freed while the layouts live could leave its id
        # to another, which would get the freed one's layout
        if chunk is not self.chunk or key != self.key:
            self.chunk, self.key, self.made = chunk, key, {}  # the last set let go before the next is made
            for p in plan_tiles:
                plans = chunk if (p.start, p.stop) == (0, chunk.P) else chunk.take(p)
                self.made[p.start, p.stop] = (plans, PlanColumns(plans, self.xp))
        return self.made


def simulate_tiles(
    consts: SimulationConstants,
    chunk: PlanBatch,
    block: ScenarioSet,
    be: Backend,
    record: tuple[str, ...],
    rows: ScenarioRows | None = None,
    layouts: PlanLayouts | None = None,
    slip: int | None = None,
) -> dict:
    """:func:`simulate` on a block, split into tiles run on ``be.threads`` threads (NumPy releases
    the GIL in its array loops). Every pair is computed alone, so the tiling cannot change a bit.
    ``rows``: the block already laid out (NumPy); ``layouts``: the chunk's plans laid out by an
    earlier block (:class:`PlanLayouts`; ``slip``: the delivery slip ``chunk`` is made for)."""
    parts = tiles(chunk.P, block.S, be.threads if be.name in ("numpy", "cpu-kernel") else 1)
    layouts = layouts if layouts is not None else PlanLayouts(be.xp)
    if len(parts) == 1:
        columns = layouts.of(chunk, slip, [slice(0, chunk.P)])[0, chunk.P][1]
        return simulate(consts, chunk, block, xp=be.xp, record=record,
                        rows=rows if be.name == "numpy" else None, columns=columns)  # fmt: skip
    if parts[0][1] == slice(0, block.S):  # split by plans: every tile has the whole block
        shared = rows if rows is not None else ScenarioRows(block, np)
    else:
        shared = None
    made = layouts.of(chunk, slip, list({(p.start, p.stop): p for p, _ in parts}.values()))

    def run(tile):
        plans, scenarios = tile
        tile_plans, columns = made[plans.start, plans.stop]
        return simulate(consts, tile_plans, block.rows(scenarios), np, record, shared, columns=columns)

    with ThreadPoolExecutor(len(parts)) as pool:
        results = list(pool.map(run, parts))
    out = {}
    for name, first in results[0].items():
        whole = np.empty((chunk.P, block.S, *first.shape[2:]), dtype=first.dtype)
        for (plans, scenarios), part in zip(parts, results, strict=True):
            whole[plans, scenarios] = part[name]
        out[name] = whole
    return out


def read_back_stored(chunks, store, progress, n_scenarios: int, total: int) -> dict[int, dict]:
    """The chunks ``store`` holds intact, by their index in ``chunks``, each reported to ``progress``
    as read back (:func:`report_read_back`): all of them before any chunk is computed, so that a
    resume says every chunk saved earlier, a saved chunk after an unsaved one too (worker
    processes finish theirs out of order)."""
    found = {}
    for index, (first, stop) in enumerate(chunks):
        done = store.load(first, stop) if store is not None else None
        if done is not None:
            found[index] = done
            if progress:
                report_read_back(progress, (stop - first) * n_scenarios, total)
    return found


def report_read_back(progress: Callable[[int, int], None], pairs: int, total: int, part: bool = False
                     ) -> None:  # fmt: skip
    """Report ``pairs`` (plan, scenario) pairs of ``total`` read back from a run's saved chunks
    (``part``: the first blocks of an unfinished chunk, its rows kept), not computed: to
    ``progress.read_back(pairs, total)`` (``progress.read_back_part`` for a part) where the callback
    has one (the CLI's progress bar, whose rate and time left count only the pairs computed now),
    else as pairs done."""
    said = getattr(progress, "read_back_part", None) if part else None
    (said or getattr(progress, "read_back", progress))(pairs, total)


class LocalExecutor:
    """Chunks one after another in this process, on the given backend."""

    def __init__(self, backend: str | Backend = "auto"):
        self.backend = backend if isinstance(backend, Backend) else resolve_backend(backend)
        self.backend_name = self.backend.name
        self.device = self.backend.device

    def run(self, data: ModelData, plans: PlanBatch, spec, chunks, store=None, progress=None) -> list[dict]:
        total = plans.P * spec.n_scenarios
        shared = (
            scenario_block(data, spec, 0, spec.n_scenarios, self.backend.threads)
            if spec.scenario_chunk >= spec.n_scenarios
            else None
        )
        rows = scenario_layout(shared, self.backend, spec, data, plans) if shared is not None else None
        results = read_back_stored(chunks, store, progress, spec.n_scenarios, total)
        todo = [index for index in range(len(chunks)) if index not in results]
        if store is not None and progress:  # the blocks of unfinished chunks an earlier attempt kept
            kept = store.unfinished()
            for first, stop in (chunks[index] for index in todo if chunks[index] in kept):
                report_read_back(progress, (stop - first) * kept[(first, stop)], total, part=True)
        ahead = self._prefetcher(data, plans, spec, chunks, todo)
        try:
            for index in todo:
                first, stop = chunks[index]
                tick = (lambda n: progress(n, total)) if progress else None
                chunk, tables = ahead.take(index) if ahead else (None, None)
                results[index] = evaluate_chunk(
                    data, chunk or plans.take(slice(first, stop)), spec, self.backend, tick, shared,
                    scenario_rows=rows, device_tables=tables,
                    while_running=(lambda i=index: ahead.prepare_after(i)) if ahead else None,
                    kept_rows=kept_rows_of(store, spec, first, stop),
                )  # fmt: skip
                if store is not None:
                    store.save(first, stop, results[index])
        finally:
            if ahead:
                ahead.close()
        return [results[index] for index in range(len(chunks))]

    def _prefetcher(self, data, plans, spec, chunks, todo) -> GpuPrefetch | None:
        """On a GPU running the fused kernel on several chunks: their plan tables made ahead
        (:class:`GpuPrefetch`); None elsewhere."""
        be = self.backend
        if be.name != "cupy" or not spec.kernel or spec.record or len(todo) < 2:
            return None
        return GpuPrefetch(be, SimulationConstants.from_data(data), plans, chunks, todo)


def kept_rows_of(store, spec: ChunkSpec, first: int, stop: int) -> KeptRows | None:
    """The file of the run's job folder (``store``'s) that keeps the rows of plans ``first ..
    stop - 1`` block by block: where the run puts its rows in a file (``spec.rows_on_disk``, the
    scenarios in several blocks), or an earlier attempt kept some of the chunk's (a chunk
    :func:`continued_chunks` goes on with); None where the run keeps no job folder, or the rows in
    memory."""
    if store is None:
        return None
    in_a_file = spec.rows_on_disk and spec.scenario_chunk < spec.n_scenarios
    if not in_a_file and (first, stop) not in store.unfinished():
        return None
    return store.kept_rows(first, stop, spec.n_scenarios)


# Chunks whose plan tables a GPU run makes ahead, each in a thread of its own: making them (NumPy,
# about 70 us a plan of the default model on an H200 machine's cores) costs about what the kernel
# does, so one thread, between launches, left the GPU waiting (benchmarks/README.md, "GPU").
TABLES_AHEAD = 3


class GpuPrefetch:
    """The plan tables of the chunks after the one running, made in threads (NumPy releases the
    interpreter lock in its array loops), and the next chunk's copied to the device from pinned
    memory on an upload stream of its own, so that the copy overlaps the kernels."""

    def __init__(self, be: Backend, consts: SimulationConstants, plans: PlanBatch, chunks, todo: list[int]):
        self.be, self.consts, self.plans, self.chunks = be, consts, plans, chunks
        self.following = {index: todo[n + 1 : n + 1 + TABLES_AHEAD] for n, index in enumerate(todo)}
        self.upload = be.xp.cuda.Stream(non_blocking=True)
        self.pool = ThreadPoolExecutor(min(TABLES_AHEAD, usable_cores()))
        self.making: dict[int, Future] = {}
        self.staged: dict[int, tuple] = {}  # chunk index -> (its plans, their tables on the device)

    def _make(self, index: int) -> tuple[PlanBatch, dict | None]:
        first, stop = self.chunks[index]
        chunk = self.plans.take(slice(first, stop))
        fits = kernel_fits(chunk, self.consts) is None
        return chunk, plan_tables(self.consts, chunk) if fits else None

    def prepare_after(self, index: int) -> None:
        """While chunk ``index`` runs: the tables of the chunks after it in the making, and the
        next one's copied to the device."""
        after = self.following.get(index, [])
        for later in after:
            if later not in self.making and later not in self.staged:
                self.making[later] = self.pool.submit(self._make, later)
        if after and after[0] in self.making:
            chunk, tables = self.making.pop(after[0]).result()
            on_device = None if tables is None else upload_tables(tables, self.be.xp, self.upload)
            self.staged[after[0]] = (chunk, on_device)

    def take(self, index: int) -> tuple[PlanBatch | None, DevicePlans | None]:
        """Chunk ``index``'s plans and device tables where they were made ahead, else (None, None)."""
        return self.staged.pop(index, (None, None))

    def close(self) -> None:
        """Stop the threads and let go of the tables made ahead: a traceback kept after an error (a
        notebook keeps the last one) would otherwise hold them on the device."""
        self.pool.shutdown(wait=True, cancel_futures=True)
        self.staged.clear()
        self.making.clear()


def plan_chunks(n_plans: int, plan_chunk: int, kept=()) -> list[tuple[int, int]]:
    """(first, stop) plan index of every chunk, in order: the ``kept`` ranges (chunks an earlier
    attempt of the run stored, sized for the machine it ran on) as they are, and the plans between
    them in chunks of at most ``plan_chunk``. A kept range overlapping one taken before it is left
    out (its plans are in that one)."""
    chunks, p0 = [], 0
    for first, stop in [*sorted(kept), (n_plans, n_plans)]:
        if first < p0 or stop > n_plans:
            continue
        chunks += [(a, min(first, a + plan_chunk)) for a in range(p0, first, plan_chunk)]
        if stop > first:
            chunks.append((first, stop))
        p0 = stop
    return chunks


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
) -> EvaluationResult:
    """Evaluate ``plans`` on scenarios ``0 .. n_scenarios - 1`` of ``seed``.

    ``deterministic=True`` evaluates on copies of the forecast instead of random scenarios.
    ``record`` names quarterly lines (``cash_usd``, ``debt_usd``, ``ebitda_usd``) to keep as
    (plans, scenarios, quarters) arrays, for fan charts of small runs. ``kernel=False`` makes the
    CuPy backend run the array-level code instead of the fused kernel (for testing one against
    the other). ``executor`` runs the chunks (default: in this process; see
    :mod:`fleetopt.evaluate.jobs` for worker processes and Ray); ``store`` (a
    :class:`~fleetopt.evaluate.jobs.ChunkStore`) keeps finished chunks on disk so an interrupted
    run can resume, and where a chunk's rows of results go to a file, makes it in the store's
    folder and keeps its finished blocks (:func:`kept_rows_of`). ``keep_outcomes``: also keep each
    pair's covenant breach and liquidity default, demand served and :data:`MEAN_OUTCOMES`
    (:attr:`EvaluationResult.outcomes`, 67 bytes a pair; not kept by a store).
    ``progress(pairs, total)``: after each block, the pairs it finished; those read back from
    ``store`` as :func:`report_read_back` says.
    ``plan_chunk`` and ``scenario_chunk`` both given are taken as they are (a job's, sized for its
    workers); ``max_memory`` then bounds only the check of each plan on the forecast.
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
    on_disk = _rows_on_disk_here(data, plans, n_scenarios, executor, max_memory, (plan_chunk, scenario_chunk),
                                 record, folder)  # fmt: skip
    spec = ChunkSpec(n_scenarios, seed, scenario_chunk, deterministic, keep_matrix, tuple(record), kernel,
                     keep_outcomes, on_disk)  # fmt: skip
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
    result._evaluated = (data, plans, max_memory)
    return result


def paired_lead_error(data, both, column: str, scenarios: tuple[int, int, str], max_memory=None) -> float:
    """The standard error of the first plan's figure ``column`` less the second's (``both``, a batch
    of the two) on the same scenarios (their count, seed and the backend): the two evaluated again,
    alone, keeping each scenario's NPV (:func:`~fleetopt.evaluate.metrics.paired_npv_error`, compare's)."""
    n, seed, backend = scenarios
    npv = evaluate(data, both, n, seed, backend=backend, max_memory=max_memory, keep_matrix=True).npv_matrix
    return paired_npv_error(column, npv[1], npv[0])


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


def _rows_on_disk_here(data: ModelData, plans: PlanBatch, n_scenarios: int, executor, max_memory: int | None,
                       sizes: tuple[int, int], record: tuple[str, ...], folder: Path | None = None
                       ) -> bool:  # fmt: skip
    """:func:`rows_on_disk` of a run by the in-process executor (never another's, whose chunks are
    sized to fit in memory) in ``folder``, within the budget it has now: the sizes may have been
    made before (a job's), for rows in a file or in memory; where the budget has since shrunk, the
    rows go to the file, and where it has grown they stay in memory, within the budget either way."""
    be = executor.backend if isinstance(executor, LocalExecutor) else None
    if be is None or not splits_here(be.name, record):
        return False
    free = be.free_memory_bytes() if max_memory is None else 0
    budget = local_budget(plans, be.name, free, max_memory)
    return rows_on_disk(data, plans, n_scenarios, be.name, budget, *sizes, folder)


def rows_file_bytes(data: ModelData, plans: PlanBatch, n_scenarios: int, executor, max_memory: int | None,
                    sizes: tuple[int, int], folder: Path | None = None) -> int:  # fmt: skip
    """Bytes of the file a chunk's rows of results take in a run by ``executor`` in chunks of
    ``sizes`` (plans, scenarios), where it keeps them in one in ``folder`` (the run's job folder:
    :class:`KeptRows`; None: a temporary file, :class:`SpilledRows`) (:func:`_rows_on_disk_here`),
    else 0: what `fleetopt evaluate` says before it starts."""
    if not _rows_on_disk_here(data, plans, n_scenarios, executor, max_memory, sizes, (), folder):
        return 0
    rows = result_bytes(min(sizes[0], plans.P), n_scenarios)
    return rows if folder is None else rows + KeptRows.extra_bytes(n_scenarios)


def continued_chunks(store, executor, spec: ChunkSpec, plan_chunk: int) -> list[tuple[int, int]]:
    """The chunks an earlier attempt left unfinished (``store.unfinished()``) that this one goes on
    from, their rows kept: where it runs in this process on the CPU (:func:`splits_here`), its
    scenarios in several blocks, and its chunks hold as many plans (its budget holds their tables
    and blocks). The others' rows are removed, with a warning: their plans are computed again."""
    be = executor.backend if isinstance(executor, LocalExecutor) else None
    why = None
    if be is None or not splits_here(be.name, spec.record):
        why = "it runs in worker processes, on Ray or on a GPU"
    elif spec.scenario_chunk >= spec.n_scenarios:
        why = "it holds every scenario in one block"
    kept, dropped = [], []
    for first, stop in sorted(store.unfinished()):
        fits = why is None and stop - first <= plan_chunk
        (kept if fits else dropped).append((first, stop))
    for first, stop in dropped:
        store.drop_unfinished(first, stop)
    if dropped:
        why = why or f"its chunks hold at most {counted(plan_chunk, 'plan')}"
        named = ", ".join(f"plans {first + 1}-{stop}" for first, stop in dropped)
        warn(f"{store.folder}: the rows an earlier attempt kept of "
             f"{counted(len(dropped), 'unfinished chunk')} ({named}) are not continued by this attempt "
             f"({why}): those plans are computed again")
    return kept


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


def _outcomes(buffers: dict, demand: np.ndarray, be: Backend, xp: Any) -> dict[str, np.ndarray]:
    """Each pair's :data:`OUTCOMES` (bool), :data:`DEMAND_OUTCOMES` (its share of the scenario's
    market demand served, and 1 where short by more than metrics.SHORTFALL_SHARE; NaN throughout
    where the model has no demand) and :data:`MEAN_OUTCOMES` (float64), (plans, scenarios) on the host."""
    kept = {name: be.to_host(buffers[name]).astype(bool) for name in OUTCOMES}
    kept |= {name: be.to_host(buffers[name]).astype(np.float64, copy=False) for name in MEAN_OUTCOMES}
    share, short, _, some = demand_per_pair(buffers["demand_served"], xp.asarray(demand), xp)
    none = not bool(some.any())
    for name, values in zip(DEMAND_OUTCOMES, (share, short), strict=True):
        kept[name] = np.full(kept["breach"].shape, np.nan) if none else be.to_host(values)
    return kept


def _joined_outcomes(results: list[dict]) -> dict[str, np.ndarray] | None:
    """The chunks' (plans, scenarios) outcomes joined; None where a chunk was read from a store."""
    if any(r.get("outcomes") is None for r in results):
        return None
    kept = (*OUTCOMES, *DEMAND_OUTCOMES, *MEAN_OUTCOMES)
    return {name: np.concatenate([r["outcomes"][name] for r in results]) for name in kept}


def sample_runs(
    data: ModelData, plans: PlanBatch, n_scenarios: int, seed: int, record: tuple[str, ...] = (),
    start: int = 0,
) -> dict:
    """Every per-pair result of the NumPy simulation (``RESULT_FIELDS``: NPV, breach, default, the
    quarters before each, the reactions) and the quarterly lines ``record`` names, on scenarios
    ``start .. start + n_scenarios - 1`` of ``seed``, as (plans, scenarios[, quarters]) arrays: for
    the charts of a report, in one piece (the same figures :func:`evaluate` reduces)."""
    scenarios = generate_scenarios(data, seed, start, start + n_scenarios)
    consts = SimulationConstants.from_data(data)
    return by_slip(lambda p, scen, _slip: simulate(consts, p, scen, record=record), plans, scenarios)


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


def forecast_npvs(data: ModelData, plans: PlanBatch) -> np.ndarray:
    """(P,) NPV of each plan on the forecast (:func:`forecast_runs`)."""
    return forecast_runs(data, plans).metrics["npv_mean_usd"].to_numpy(dtype=float)


def forecast_within_limits(data: ModelData, plans: PlanBatch, max_memory: int | None = None) -> np.ndarray:
    """(P,) whether each plan, run on the forecast with its policy (within ``max_memory`` bytes, as
    :func:`forecast_runs`), breaches no covenant (the
    borrowing base included) and keeps its cash above the default level: a plan a lender would sign.
    The MILP's plans do by construction; a policy buffer that cuts the prepayments keeping the
    borrowing base may not (docs/evaluation.md, policy rule 3)."""
    return forecast_runs(data, plans, max_memory=max_memory).metrics[FORECAST_OK].to_numpy(dtype=bool)


def forecast_npv(data: ModelData, plan: Plan, buffer: float | None = None) -> float:
    """:func:`forecast_npvs` of one plan run with ``buffer`` (USD; None: the model's)."""
    batch = compile_plans(data, [plan], ["plan"], slips=False)  # the forecast never slips
    return float(forecast_npvs(data, with_buffers(batch, [buffer]))[0])
