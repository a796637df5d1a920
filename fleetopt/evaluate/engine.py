"""Evaluate many plans against many scenarios in memory-sized chunks.

Plans are split into chunks; within a chunk every scenario block is made once, simulated and its
results written into the chunk's (plans x scenarios) buffer (or, where those rows would take too
much of the memory budget, a file: spill.py), then the chunk's metrics are computed
from whole rows. Because each (plan, scenario) pair is computed independently and each plan's row is
reduced in one fixed order, results do not depend on chunk sizes or on the order of the plans.

This module holds :func:`evaluate`, its steps (the backend and chunk sizes, the chunks an earlier
attempt stored, each plan's check on its own forecast: :func:`forecast_runs`) and what it returns,
:class:`EvaluationResult`, with the two plans evaluated again for its first place's lead. The rest
is a module a topic: the backend chosen (:mod:`~fleetopt.evaluate.backend_choice`), the chunks and
blocks (:mod:`~fleetopt.evaluate.chunks`; their sizes: :mod:`~fleetopt.evaluate.chunking`), one
chunk evaluated (:mod:`~fleetopt.evaluate.chunk_eval`) in tiles (:mod:`~fleetopt.evaluate.tiling`)
by the in-process executor (:mod:`~fleetopt.evaluate.local_executor`), stored chunks read back
(:mod:`~fleetopt.evaluate.read_back`), a chunk's rows in a file (:mod:`~fleetopt.evaluate.row_files`).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from fleetopt.core.data import ModelData
from fleetopt.core.notebook import html_text, markdown_table, markdown_text
from fleetopt.core.results.risk_sentences import risk_in_short
from fleetopt.core.units import counted, format_usd
from fleetopt.evaluate.backend import Backend, resolve_backend
from fleetopt.evaluate.backend_choice import choose_backend
from fleetopt.evaluate.chunking import backend_chunk_sizes
from fleetopt.evaluate.chunks import ChunkSpec, plan_chunks
from fleetopt.evaluate.first_place import first_place_words
from fleetopt.evaluate.local_executor import LocalExecutor
from fleetopt.evaluate.metrics import (
    ANY_DEFAULT_EVENTS,
    DEFAULT_RANK,
    EVALUATION_RANK_COLUMNS,
    FORECAST_OK,
    LOWER_RANK_COLUMNS,
    RANK_WORDS,
    best_plan_label,
    demand_in_short,
    either_happened,
    first_by_the_forecast,
    key_figures_frame,
    paired_error,
    paired_npv_error,
    ranked_plans,
    shown_plans,
    within_limits,
)
from fleetopt.evaluate.planbatch import PlanBatch
from fleetopt.evaluate.result import DEMAND_OUTCOMES, EVALUATION_NEXT, MEAN_OUTCOMES, OUTCOMES
from fleetopt.evaluate.row_files import continued_chunks, rows_on_disk_here
from fleetopt.runs import limits


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
    on_disk = rows_on_disk_here(data, plans, n_scenarios, executor, max_memory, (plan_chunk, scenario_chunk),
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
    kept = (*OUTCOMES, *DEMAND_OUTCOMES, *MEAN_OUTCOMES)
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
