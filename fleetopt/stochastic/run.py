"""`fleetopt solve --stochastic N`: scenarios of the evaluator screened and reduced, the extensive form
solved, the measures RP, EV, EEV, WS, VSS, EVPI, and an out-of-sample check (docs/formulation.md §7b)."""

from __future__ import annotations

import os
import resource
import sys
import time
from dataclasses import dataclass, field, replace
from functools import cached_property

import numpy as np
import pandas as pd

from fleetopt.core.covenants import statement_quantities
from fleetopt.core.data import ModelData
from fleetopt.core.economics.policy_balances import LIQUIDITY_TOLERANCE_USD
from fleetopt.core.economics.statements import plan_statements
from fleetopt.core.notebook import markdown_table, markdown_text
from fleetopt.core.plan import Plan
from fleetopt.core.quarters import QUARTERS_PER_YEAR
from fleetopt.core.results.headline import headline, headline_frame
from fleetopt.core.results.tables import debt_frame, plan_frame
from fleetopt.core.tail import TAIL, cvar_name
from fleetopt.core.units import (
    counted,
    format_bytes,
    format_difference,
    format_duration,
    format_figure,
    format_gap,
    format_percent,
    format_rate,
    format_usd,
    listed,
    sizes_apart,
)
from fleetopt.errors import InputError, NoPlanError, warn
from fleetopt.evaluate.batch import compile_plans
from fleetopt.evaluate.engine import check_backend_runs, evaluate
from fleetopt.evaluate.resources import physical_ram_bytes
from fleetopt.evaluate.scenarios import ScenarioSet, generate_scenarios
from fleetopt.evaluate.slip import slips
from fleetopt.milp import stochastic as sto
from fleetopt.milp.completion import completion_facts, slack_words
from fleetopt.milp.highs import DEFAULT_MIP_GAP, STOCHASTIC_MIP_GAP, gap_to_bound, model_size, stage
from fleetopt.runs import limits
from fleetopt.schema.loading import HORIZON_QUARTERS, LoadedModel
from fleetopt.stochastic.mpisppy_route import ROUTES as MPISPPY_ROUTES
from fleetopt.stochastic.mpisppy_route import check_route, solve_by_mpisppy
from fleetopt.stochastic.paired import (
    OUT_OF_SAMPLE_COLUMNS,
    evaluate_paired,
    out_of_sample_lines,
    out_of_sample_verdict_word,
    out_of_sample_words,
    paired_comparison,
    scenario_outcomes,
)
from fleetopt.stochastic.reduction import reduce_scenarios

# the labels of a stochastic run's plans, in its plan file's order: the stochastic plan, the forecast optimum
PLAN_LABELS = (STOCHASTIC_PLAN, FORECAST_PLAN) = ("stochastic", "forecast")
# how RP is solved: fleetopt's own extensive form and block solver, or mpi-sppy's extensive form
ROUTES = ("blocks", *MPISPPY_ROUTES)



# the first stage commits the first year by default (the whole horizon when it is shorter)
FIRST_STAGE_QUARTERS = QUARTERS_PER_YEAR


# what a model with risk.delivery_slip on is told of its stochastic solve: the solve's warning and its report
NO_SLIP_WORDS = (
    "risk.delivery_slip: the stochastic solve's scenarios carry no delivery slip (docs/formulation.md, "
    "section 7b), so its plan is not hedged against one; its out-of-sample check slips deliveries as "
    "fleetopt evaluate does"
)


def first_stage_quarters(data: ModelData, quarters: int | None = None) -> int:
    """Q: ``quarters`` as given, or by default :data:`FIRST_STAGE_QUARTERS` or the whole horizon
    when it is shorter (§7b, "Stages"; the sweep's stochastic candidate too)."""
    return min(FIRST_STAGE_QUARTERS, data.T) if quarters is None else quarters




def check_settings(
    data: ModelData, n, quarters, risk_weight, alpha, route="blocks", n_name: str = "scenarios"
) -> None:
    """Bad settings are input errors (exit code 2) naming the argument and its option, each with
    what is allowed: 1 <= n <= ``limits.MAX_STOCHASTIC_SCENARIOS`` (``n_name``: the argument's
    name, the sweep's is ``stochastic``), ...; for the mpi-sppy route, mpi-sppy installed and L = 0.
    ``quarters`` None: the default of :func:`first_stage_quarters`."""
    n = limits.whole(f"{n_name} (--stochastic)", n, 1)
    most = limits.MAX_STOCHASTIC_SCENARIOS
    if n > most:
        raise InputError(
            f"{n_name} (--stochastic) must be at most {most:,} scenarios, the most the extensive "
            f"form is built for (got {limits.shown_whole(n)})"
        )
    alpha = limits.number("cvar_alpha (--cvar-alpha)", alpha)
    if not 0.0 < alpha <= limits.MAX_TAIL:
        raise InputError(
            f"cvar_alpha (--cvar-alpha) is the share of worst scenarios the CVaR averages (0.05: the worst "
            f"5 %), not a confidence level: it must lie above 0 and at most {limits.MAX_TAIL} (got {alpha})"
        )
    limits.number("risk_weight (--risk-weight)", risk_weight, 0.0, 1.0)
    if quarters is not None:  # one of the horizon's quarters
        limits.whole("first_stage_quarters (--first-stage-quarters)", quarters, 1, data.T)
    limits.text("solver (--stochastic-solver)", route, ROUTES)
    if route != "blocks":
        check_route(route, risk_weight)
    check_memory(data, n, first_stage_quarters(data, quarters), n_name)


# the peak memory of a two-stage solve (the process's peak RSS): BASE_BYTES (Python, Pyomo, the
# model's data, the forecast's solve, the screening, the out-of-sample check) and, for each scenario's
# copy, SCENARIO_BYTES and BYTES_PER_ELEMENT for each of its variables and rows (its Pyomo objects,
# HiGHS's copy, the LPs' factors); fitted to /usr/bin/time -v on tiny and neocloud, each at the
# higher of its measured slopes (docs/formulation.md §7b, "Memory")
BASE_BYTES = 300 * 10**6
SCENARIO_BYTES = 1_500_000
BYTES_PER_ELEMENT = 4_700
# set to 0 to solve whatever the estimate (one that overstates what a machine with swap can hold)
MEMORY_CHECK_VARIABLE = "FLEETOPT_STOCHASTIC_MEMORY_CHECK"
_elements: dict = {}  # the last model's variables and rows per scenario: check_settings runs thrice


def scenario_elements(data: ModelData, quarters: int) -> int:
    """Variables and constraint rows of one scenario's copy of the extensive form (§7b), built once
    per model (its fingerprint: the CLI, the API and the solve check a model each loads anew)."""
    key = (data.fingerprint, quarters)
    if key not in _elements:
        size = model_size(sto.scenario_model(data, sto.FirstStage(quarters)))
        _elements.clear()
        _elements[key] = size["variables"] + size["constraints"]
    return _elements[key]


# what $FLEETOPT_STOCHASTIC_MEMORY_CHECK may say, in any case: the check off, or on (as unset or empty)
MEMORY_CHECK_OFF, MEMORY_CHECK_ON = ("0", "false", "no", "off"), ("1", "true", "yes", "on")


def memory_check_on() -> bool:
    """Whether :func:`check_memory` checks: ``$FLEETOPT_STOCHASTIC_MEMORY_CHECK`` one of
    :data:`MEMORY_CHECK_OFF` turns it off; unset, empty or one of :data:`MEMORY_CHECK_ON`, on. Any
    other value is refused naming the variable (only "0" turned it off, "false" silently did not)."""
    value = os.environ.get(MEMORY_CHECK_VARIABLE, "").strip()
    if value.lower() in MEMORY_CHECK_OFF:
        return False
    if value.lower() in ("", *MEMORY_CHECK_ON):
        return True
    raise InputError(f"${MEMORY_CHECK_VARIABLE} is {value!r}: {listed(MEMORY_CHECK_OFF, 'or')} turns the "
                     f"memory check off; {listed(MEMORY_CHECK_ON, 'or')} (or unset) keeps it on")  # fmt: skip


def check_memory(data: ModelData, n: int, quarters: int, n_name: str = "scenarios") -> None:
    """Refuse, before any solve, an extensive form of ``n`` scenarios whose estimated peak memory
    (:data:`BASE_BYTES` + n x (:data:`SCENARIO_BYTES` + :data:`BYTES_PER_ELEMENT` x
    :func:`scenario_elements`)) exceeds this machine's physical memory or its container's limit:
    the OS would kill the solve with no message (neocloud at N = 1,000: about 128 GB).
    ``FLEETOPT_STOCHASTIC_MEMORY_CHECK=0`` skips the check (:func:`memory_check_on`)."""
    if not memory_check_on():
        return
    ram = physical_ram_bytes()
    if ram is None:
        return
    per_scenario = SCENARIO_BYTES + BYTES_PER_ELEMENT * scenario_elements(data, quarters)
    need = BASE_BYTES + n * per_scenario
    if need > ram:
        fits = max(int((ram - BASE_BYTES) // per_scenario), 0)
        need_text, ram_text = sizes_apart(need, ram)
        raise InputError(
            f"{n_name} (--stochastic) {n:,}: the extensive form of {data.name} would need about "
            f"{need_text} ({format_bytes(per_scenario)} a scenario), more than the "
            f"{ram_text} of memory here (RAM, or this container's limit); at most about "
            f"{counted(fits, 'scenario')} fit. The estimate is measured, not exact (docs/formulation.md "
            f'§7b, "Memory"): {MEMORY_CHECK_VARIABLE}=0 solves anyway'
        )


def scenario_inputs(data: ModelData, scenarios: ScenarioSet, rows, probabilities) -> list[sto.ScenarioInputs]:
    """The evaluator's scenarios ``rows`` as MILP parameters (demand as a multiple of the forecast)."""
    forecast = np.asarray(data.demand, dtype=np.float64)
    out = []
    for n, p in zip(rows, probabilities, strict=True):
        demand = np.divide(scenarios.demand[n], forecast, out=np.ones_like(forecast), where=forecast > 0)
        out.append(
            sto.ScenarioInputs(
                name=f"scenario {int(scenarios.index[n])}",
                probability=float(p),
                price_by_generation=scenarios.price_factor[n],
                demand_scale=demand,
                contract_alive=scenarios.contract_alive[n].astype(np.float64),
                block_delay=scenarios.delay[n],
                rate_shift=scenarios.rate_shift[n],
                spread_shift=scenarios.spread_shift[n],
                electricity=scenarios.electricity_factor[n],
                resale=scenarios.resale_factor[n],
            )
        )
    return out


def scenario_features(scenarios: ScenarioSet) -> np.ndarray:
    """(M, 9) what a scenario is, for the reduction's distances: price level (mean and last
    quarter), demand level, customers lost, quarters of power delay, electricity, resale at the
    end, rate shift, spread shift (a constant column, such as a spread shift of zero, is dropped)."""
    S = scenarios.S
    return np.column_stack(
        [
            scenarios.price_factor.reshape(S, -1).mean(axis=1),
            scenarios.price_factor[:, :, -1].mean(axis=1),
            scenarios.demand.reshape(S, -1).mean(axis=1),
            1.0 - scenarios.contract_alive.reshape(S, -1).mean(axis=1)
            if scenarios.contract_alive.size
            else np.zeros(S),
            scenarios.delay.reshape(S, -1).sum(axis=1),
            scenarios.electricity_factor.mean(axis=1),
            scenarios.resale_factor[:, -1],
            scenarios.rate_shift.mean(axis=1),
            scenarios.spread_shift.mean(axis=1),
        ]
    )


@dataclass
class StochasticResult:
    """The stochastic solution, its completed plan, the forecast optimum and the measures (USD)."""

    data: ModelData
    settings: dict
    plan: Plan  # the first stage completed on the forecast
    forecast_plan: Plan
    first_stage: dict
    measures: dict
    scenarios: list[dict]  # the reduced scenarios under the stochastic solution
    timings: dict
    model_size: dict
    out_of_sample: dict = field(default_factory=dict)
    completion: dict = field(default_factory=dict)
    # the model file it was solved from, when the Python API loaded one (fleetopt.api.solve_stochastic)
    loaded: LoadedModel | None = field(default=None, repr=False, compare=False)

    def __repr__(self) -> str:  # a notebook shows this, not the plans' arrays and every scenario
        vss = self.measures.get("vss_usd")
        shown = "" if vss is None else f", VSS {format_usd(vss)}"
        verdict = out_of_sample_verdict_word((self.out_of_sample or {}).get("paired") or {})
        shown += "" if verdict is None else f", against the forecast optimum out of sample: {verdict}"
        return (
            f"StochasticResult({self.data.name!r}, {counted(len(self.scenarios), 'scenario')}{shown}; "
            ".summary(), .headline(), .plan_frame(), .statements_frame())"
        )

    def _repr_markdown_(self) -> str:
        """What a notebook cell shows: the out-of-sample verdict and its table (the figures to judge the
        plan by), what to commit to now beside the forecast optimum, the in-sample VSS and EVPI, and
        what to read next; each written as the terminal writes it."""
        s = self.settings
        title = (f"**Stochastic solve of {markdown_text(self.data.name)}**: "
                 f"{counted(s['scenarios'], 'reduced scenario')}, {first_stage_text(s)}")  # fmt: skip
        commit = pd.DataFrame(commitment_lines(self.commitments), columns=list(COMMITMENT_COLUMNS))
        measures = [f"{name} {format_usd(self.measures.get(key))}" for name, key in (("VSS", "vss_usd"),
                    ("EVPI", "evpi_usd"))]  # fmt: skip
        in_sample = f"In sample, over its reduced scenarios (not forecasts of value): {', '.join(measures)}"
        after = "Next: .summary(), .headline_frame(), .plan_frame(), .statements_frame(), .debt_frame()"
        # None: solved from data alone, whose changes are not known
        changed = self.loaded.changed_line if self.loaded else ""
        changed_lines = [markdown_text(changed), ""] if changed else []  # a paragraph of its own
        return "\n".join([title, "", *changed_lines, *self._out_of_sample_lines(), "What to commit to now:",
                          "", markdown_table(commit), "", markdown_text(in_sample), "", after])  # fmt: skip

    def _out_of_sample_lines(self) -> list[str]:
        """Markdown: the out-of-sample verdict in bold and its table, or that there was no such check."""
        oos = self.out_of_sample or {}
        if not oos.get("metrics"):
            none = ("No out-of-sample check (out_of_sample=0): the in-sample figures below do not judge the "
                    "plan; fo.compare(result, scenarios=1000) puts it beside the forecast optimum on fresh "
                    "scenarios.")  # fmt: skip
            return [markdown_text(none), ""]
        fresh = counted(oos["scenarios"], "fresh scenario")
        head = f"Out of sample, both plans on {fresh}, seed {oos['seed']}"
        words = out_of_sample_words(oos, self.settings["scenarios"])
        headers = ["plan", *(header for _, _, header in OUT_OF_SAMPLE_COLUMNS)]
        table = pd.DataFrame(out_of_sample_lines(oos), columns=headers)
        return [f"**{markdown_text(head)}.** {markdown_text(words)}", "", markdown_table(table), ""]

    def plan_frame(self):
        """The completed stochastic plan's decisions as a pandas DataFrame (as a solve's)."""
        return plan_frame(self.data, self.plan)

    def statements_frame(self):
        """The completed plan's quarterly statements on the forecast, a pandas DataFrame (USD unless
        the column says otherwise)."""
        return plan_statements(self.data, self.plan).frame(self.data.quarter_labels)

    def headline(self) -> dict:
        """The completed plan's key figures on the forecast (keys and units:
        :func:`fleetopt.core.results.headline.headline`)."""
        return headline(self.data, self.plan, plan_statements(self.data, self.plan))

    def headline_frame(self):
        """The completed plan's :meth:`headline` for people, as ``SolveResult.headline_frame()``."""
        return headline_frame(self.headline())

    def debt_frame(self):
        """The completed plan's facilities on the forecast, as a solve's
        (:func:`fleetopt.core.results.tables.debt_frame`)."""
        return debt_frame(self.data, plan_statements(self.data, self.plan))

    def summary(self) -> dict:
        """summary.json's content: the settings, the measures (RP, EV, EEV, WS, VSS, EVPI, USD),
        each reduced scenario's row, the timings, the completion and the out-of-sample check."""
        return {
            "settings": self.settings,
            # + 0.0: a measure of nothing is 0, not -0 (RP, EVPI at 0 were written -0.0)
            **{k: v + 0.0 if isinstance(v, float) else v for k, v in self.measures.items()},
            **rescue_counts(self.scenarios),
            "scenarios": self.scenarios,
            "timings": self.timings,
            "model_size": self.model_size,
            "completion": self.completion,
            "out_of_sample": self.out_of_sample,
            "first_stage_purchases_gpus": float(
                sum(
                    v * self.data.block_size[k[0]]
                    for (name, k), v in self.first_stage.items()
                    if name == "buy"
                )
            ),
            "commitments": self.commitments,
        }

    @cached_property
    def commitments(self) -> list[dict]:
        """:func:`first_stage_commitments` of this result (made once: summary() is read twice per run)."""
        quarters, shared = self.settings["first_stage_quarters"], self.settings.get("share_purchases")
        every_quarter = SHARED_COMMITMENTS if shared else ()
        return first_stage_commitments(self.data, self.plan, self.forecast_plan, quarters, every_quarter)


# what a first stage commits to, in the order a reader takes it in (plan.csv's decisions)
COMMITMENTS = (
    "buy_gpus", "retire", "redeploy", "build_power", "contract_accepted", "draw_debt", "prepay_debt",
)  # fmt: skip
# those of --share-purchases (milp.stochastic.SHARED_PURCHASES), first stage in every quarter
SHARED_COMMITMENTS = ("buy_gpus", "build_power", "draw_debt")


COMMITMENT_WORDS = {"buy_gpus": "buy", "retire": "retire (sell)", "redeploy": "move to inference",
                    "build_power": "build power", "contract_accepted": "accept contract", "draw_debt": "draw",
                    "prepay_debt": "prepay"}  # fmt: skip


def commitment_amount(value: float, unit: str, signed: bool = False) -> str:
    """A commitment in its unit as every figure is written (:func:`format_figure`; a difference as
    :func:`format_difference` writes it), a contract as yes / no (its difference "accepted" /
    "declined")."""
    if unit == "0/1":
        if signed:
            return "" if abs(value) < 0.5 else ("accepted" if value > 0 else "declined")
        return "yes" if value > 0.5 else "no"
    return format_difference(value, unit) if signed else format_figure(value, unit)


COMMITMENT_COLUMNS = ("quarter", "decision", "item", "stochastic plan", "forecast optimum", "difference")


def commitment_lines(rows: list[dict]) -> list[tuple[str, ...]]:
    """summary.json's ``commitments`` in words for the terminal and the report (COMMITMENT_COLUMNS),
    with the GPUs bought in all last where either plan buys any."""
    lines = []
    for row in rows:
        mine, theirs, unit = row["stochastic"], row["forecast_optimum"], row["unit"]
        lines.append((row["quarter"], COMMITMENT_WORDS.get(row["decision"], row["decision"]), row["item"],
                      commitment_amount(mine, unit), commitment_amount(theirs, unit),
                      commitment_amount(mine - theirs, unit, signed=True)))  # fmt: skip
    if not any(r["decision"] == "buy_gpus" for r in rows):
        return lines
    bought = [sum(r[p] for r in rows if r["decision"] == "buy_gpus")
              for p in ("stochastic", "forecast_optimum")]  # fmt: skip
    totals = [*(commitment_amount(v, "GPUs") for v in bought),
              commitment_amount(bought[0] - bought[1], "GPUs", signed=True)]  # fmt: skip
    return [*lines, ("", "buy, all", "", *totals)]


def first_stage_commitments(
    data: ModelData, plan: Plan, forecast_plan: Plan, quarters: int, every_quarter: tuple[str, ...] = ()
) -> list[dict]:
    """What the stochastic ``plan`` commits to now beside the forecast optimum, as rows of
    ``quarter``, ``decision``, ``item``, ``unit``, ``stochastic``, ``forecast_optimum``: each
    purchase, retirement (a sale at resale value) and move to inference (GPUs, a retirement and a
    move by cohort), power block (MW), draw and prepayment (USD) dated in the first ``quarters``
    that either plan makes (those of ``every_quarter``, :data:`SHARED_COMMITMENTS` with
    --share-purchases, in every quarter), and each contract (dated by its start) that one accepts
    and the other does not (acceptance is first stage whatever the start, §7b "Stages")."""
    keys = ["quarter", "decision", "item", "unit"]
    first = set(data.quarter_labels[:quarters])

    def committed(p: Plan):
        frame = plan_frame(data, p)
        dated = frame["quarter"].isin(first) | frame["decision"].isin(("contract_accepted", *every_quarter))
        return frame[dated & frame["decision"].isin(COMMITMENTS)].groupby(keys, sort=False)["value"].sum()

    plans = {"stochastic": committed(plan), "forecast_optimum": committed(forecast_plan)}
    both = pd.concat(list(plans.values()), axis=1, keys=list(plans)).fillna(0.0).reset_index()
    contract = both["decision"] == "contract_accepted"
    differs = both["stochastic"].round(6) != both["forecast_optimum"].round(6)
    made = (both["stochastic"].abs() > 1e-6) | (both["forecast_optimum"].abs() > 1e-6)
    both = both[(contract & differs) | (~contract & made)]
    order = {label: n for n, label in enumerate(data.quarter_labels)}
    rank = {decision: n for n, decision in enumerate(COMMITMENTS)}
    both = both.assign(_q=both["quarter"].map(order), _d=both["decision"].map(rank))
    both = both.sort_values(["_q", "_d", "item"], kind="stable").drop(columns=["_q", "_d"])
    return [{**row, **{name: float(row[name]) for name in plans}} for row in both.to_dict("records")]


RESCUE_KINDS = {"rescued": "rescued", "cash_rescue": "cash_rescued", "covenant_cure": "covenant_cured",
                "relaxed": "relaxed"}  # fmt: skip


def rescue_counts(rows: list[dict]) -> dict:
    """How many reduced scenarios needed each kind of rescue (:func:`~fleetopt.milp.stochastic.
    scenario_row`), and their probability: ``<kind>_scenarios``, ``<kind>_probability``."""
    out = {}
    for key, name in RESCUE_KINDS.items():
        hit = [row for row in rows if row.get(key)]
        out[f"{name}_scenarios"] = len(hit)
        out[f"{name}_probability"] = float(sum(row["probability"] for row in hit))
    return out


@dataclass(frozen=True)
class SolverSettings:
    """How every MILP of the run is solved."""

    mip_gap: float = STOCHASTIC_MIP_GAP
    time_limit: float | None = None
    threads: int | None = None


def solve_stochastic(
    data: ModelData,
    n: int,
    *,
    quarters: int | None = None,
    risk_weight: float = 0.0,
    alpha: float = TAIL,
    seed: int = 0,
    screen: int = limits.DEFAULT_SCREEN,
    oos_scenarios: int = limits.DEFAULT_SCENARIOS,
    oos_seed: int | None = None,
    mip_gap: float = STOCHASTIC_MIP_GAP,
    time_limit: float | None = None,
    threads: int | None = None,
    backend: str = "auto",
    integer_later: bool = False,
    measures: bool = True,
    route: str = "blocks",
    share_purchases: bool = False,
) -> StochasticResult:
    """The two-stage stochastic plan of ``data`` over ``n`` scenarios reduced from ``screen`` drawn
    with ``seed``, with the measures (``measures``: EEV and WS too) and an out-of-sample evaluation
    of the completed plan next to the forecast optimum on ``oos_scenarios`` of ``oos_seed``
    (default ``seed + 1``; 0 skips it). ``route``: "blocks" (fleetopt's extensive form, §7b) or
    "mpisppy-ef" (mpi-sppy's, risk-neutral, without EEV and WS). ``quarters`` None: the default
    of :func:`first_stage_quarters`. ``share_purchases``: every purchase, power block and draw in the
    first stage, whatever its quarter (:data:`~fleetopt.milp.stochastic.SHARED_PURCHASES`)."""
    started = time.perf_counter()
    quarters = first_stage_quarters(data, quarters)
    shared = sto.FirstStage(quarters, sto.SHARED_PURCHASES if share_purchases else ())
    check_before_solving(data, n, quarters, risk_weight, alpha, route, seed, oos_seed,
                         max(screen, oos_scenarios), backend, threads)  # fmt: skip
    solver = SolverSettings(mip_gap, time_limit, threads)
    timings: dict = {}
    forecast = _timed(timings, "forecast_seconds", forecast_optimum, data, shared, solver)
    drawn, inputs = _timed(
        timings, "screening_seconds", reduced_scenarios, data, forecast.plan, n, alpha, seed, screen, backend
    )
    recourse = recourse_by_route(
        route, data, inputs, forecast, shared, risk_weight, alpha, integer_later, measures, solver
    )
    timings.update(recourse.timings)
    plan, completion = _timed(
        timings, "completion_seconds", complete_plan, data, shared, recourse.first_stage, solver
    )
    timings["peak_rss_bytes"] = peak_rss_bytes()
    settings = run_settings(
        data, n, shared, risk_weight, alpha, seed, mip_gap, integer_later, route,
        distinct=len(inputs), screened=drawn.S, method=recourse.method,
    )  # fmt: skip
    result = StochasticResult(
        data, settings, plan, forecast.plan, recourse.first_stage, recourse.figures, recourse.scenarios,
        timings, recourse.model_size, completion=completion,
    )  # fmt: skip
    if oos_scenarios:
        oos_seed = limits.next_seed(seed) if oos_seed is None else oos_seed
        result.out_of_sample = _timed(
            timings, "out_of_sample_seconds", out_of_sample,
            data, plan, forecast.plan, oos_scenarios, oos_seed, backend,
        )  # fmt: skip
    timings["total_seconds"] = time.perf_counter() - started
    return result


def check_before_solving(
    data: ModelData, n, quarters: int, risk_weight, alpha, route: str, seed, oos_seed, most_scenarios: int,
    backend: str, threads: int | None
) -> None:
    """Every setting of :func:`solve_stochastic` checked, and the delivery slip it leaves out said, before
    the forecast's solve (minutes on a large model): a backend that cannot run fails now, not after it.
    ``most_scenarios``: the most scenarios either plan is evaluated on (screening or out of sample)."""
    check_settings(data, n, quarters, risk_weight, alpha, route)
    if slips(data):
        warn(NO_SLIP_WORDS)
    limits.seed("seed", seed)
    if oos_seed is not None:
        limits.seed("oos_seed", oos_seed)
    # at most two plans (the stochastic and the forecast optimum) on so many scenarios
    check_backend_runs(data, most_scenarios, backend, threads, n_plans=2)


def recourse_by_route(
    route, data, inputs, forecast, shared, risk_weight, alpha, integer_later, measures, solver
) -> Recourse:
    """RP solved on ``route``: fleetopt's extensive form and block solver (with EEV and WS where
    ``measures``), or mpi-sppy's (risk-neutral, without them)."""
    if route == "blocks":
        return by_blocks(
            data, inputs, forecast, shared, risk_weight, alpha, integer_later, measures, solver
        )
    return by_mpisppy(data, inputs, forecast, shared, route, risk_weight, alpha, integer_later, solver)


def run_settings(
    data: ModelData, n: int, shared: sto.FirstStage, risk_weight: float, alpha: float, seed: int,
    mip_gap: float, integer_later: bool, route: str, *, distinct: int, screened: int, method: str,
) -> dict:
    """A run's settings as its summary.json records them: those asked, and what the solve made of them
    (``distinct`` reduced scenarios kept of ``screened`` drawn; ``method``, how RP was solved)."""
    quarters = shared.quarters
    return {
        "scenarios": n,
        "distinct_scenarios": distinct,
        "first_stage_quarters": quarters,
        "first_stage_before": data.quarter_labels[quarters] if quarters < data.T else None,
        "share_purchases": shared.whole_horizon == sto.SHARED_PURCHASES,
        "risk_weight": risk_weight,
        "cvar_alpha": alpha,
        "scenario_seed": seed,
        "screened": screened,
        "mip_gap": mip_gap,
        "later_purchases": "integer" if integer_later else "continuous",
        "emergency_equity_cost": sto.EMERGENCY_EQUITY_COST,
        "solver": route,
        "solve_method": method,
    }


@dataclass
class Recourse:
    """RP solved: the first stage the plan keeps, the figures (RP, EV, and EEV, WS, VSS, EVPI where
    measured), the reduced scenarios' rows under it, and how long each step took."""

    first_stage: dict
    figures: dict
    scenarios: list[dict]
    method: str
    model_size: dict
    timings: dict


def by_blocks(
    data, inputs, forecast, shared, risk_weight, alpha, integer_later, measures, solver
) -> Recourse:
    """RP by fleetopt's extensive form and block solver (§7b), with EEV and WS when ``measures``;
    the forecast optimum's first stage kept when it is within the gap of RP, or better than the plan
    an RP stopped short of the gap holds (:func:`forecast_kept`)."""
    ef = sto.build_extensive_form(data, inputs, shared, risk_weight, alpha, integer_later)
    rp = solve_recourse_problem(ef, solver)
    timings = {
        "build_seconds": ef.build_seconds, "solve_seconds": rp.seconds, "load_seconds": ef.load_seconds,
        "solve_steps": rp.steps,
    }  # fmt: skip
    first_stage, chosen, why = sto.first_stage_values(ef.block(0), shared), rp, None
    figures = recourse_figures(ef, rp, forecast)
    method = None  # RP's, and where WS was solved again, how
    if measures:
        extra, eev = _timed(timings, "measures_seconds", eev_and_ws, ef, forecast, rp, solver)
        own, eev_is_rp = rp, False
        if ends_below(rp, eev, solver.mip_gap):
            rp = _timed(timings, "resolve_seconds", solve_again_under_eev_rules, ef, rp, eev, solver)
            first_stage, chosen = sto.first_stage_values(ef.block(0), shared), rp
            eev_is_rp = rp.status != "optimal" or ends_below(rp, eev, solver.mip_gap)
            if eev_is_rp:  # EEV's solution is one of RP's: the best found
                rp = replace(eev, method=f"{rp.method}; below EEV: RP is the forecast's first stage's")
            figures = recourse_figures(ef, rp, forecast) | extra | {"rp_own_usd": own.objective_usd}
            extra = measure_differences(figures, solver.mip_gap)
        figures.update(extra)
        if (figures["evpi_usd"] or 0.0) < 0:  # WS below RP by more than the gap (measure_difference)
            started = time.perf_counter()
            again, note = ws_again_under_rp_rules(ef, figures["ws_usd"], rp, solver)
            figures.update(again)
            figures.update(measure_differences(figures, solver.mip_gap))
            timings["measures_seconds"] += time.perf_counter() - started
            method = f"{rp.method}; {note}"
        why = FORECAST_ABOVE_RP if eev_is_rp else forecast_kept(figures, rp, solver.mip_gap)
        if why:
            first_stage, chosen = forecast.first_stage, eev
            figures.update(plan_figures(ef, eev))
    figures["first_stage"] = "RP's" if chosen is rp else f"the forecast optimum's ({why})"
    figures.update(kept_plan_figures(chosen, rp))
    rows = chosen.scenarios
    if risk_weight == 1.0:  # E[V] has no weight: a scenario outside the CVaR tail has any recourse
        apart = _timed(timings, "recourse_seconds", recourse_apart, ef, first_stage, integer_later, solver)
        if apart.scenarios:
            rows = apart.scenarios
            figures.update(plan_figures(ef, apart))
        if figures.get("eev_expected_npv_usd") is not None:  # EEV's recourse is as arbitrary there
            started = time.perf_counter()
            eev_apart = apart if chosen is not rp else recourse_apart(
                ef, forecast.first_stage, integer_later, solver
            )
            figures.update(eev_in_sample(ef, eev_apart))
            timings["measures_seconds"] += time.perf_counter() - started
    return Recourse(first_stage, figures, rows, method or rp.method, model_size(ef.m), timings)


# why the plan keeps the forecast optimum's first stage where RP's solve, and its solve again under
# EEV's covenant cures, both ended below EEV (by_blocks)
FORECAST_ABOVE_RP = "above RP's plans, its own and solved again under EEV's covenant cures"


def ends_below(solution: sto.EFSolution, floor: sto.EFSolution, mip_gap: float) -> bool:
    """Whether both reached the gap and ``floor`` is above ``solution`` by more than the gap (RP below
    EEV: VSS below 0; WS below RP: EVPI below 0; :func:`measure_difference`), which an exact solve
    cannot give: ``floor``'s solution is one of ``solution``'s problem, but each solve decides which
    covenant cures to cut to the debt from its own last plan (§7b, "A covenant cure costs at most the
    debt"), so one can end below."""
    value, floor_value = solved_to_gap(solution), solved_to_gap(floor)
    if value is None or floor_value is None:
        return False
    return measure_difference(value, floor_value, mip_gap) < 0


def solve_again_under_eev_rules(
    ef: sto.ExtensiveForm, rp: sto.EFSolution, eev: sto.EFSolution, solver: SolverSettings
) -> sto.EFSolution:
    """RP solved again, its first stage free, from the rows EEV's solve lifted and the cures it held
    to the debt (EEV's solution is a plan of it), and on as :meth:`~fleetopt.milp.stochastic.
    ExtensiveForm.solve` goes (§7b, "RP at least EEV")."""
    with stage("RP again, under EEV's covenant cures"):
        again = ef.solve(solver.mip_gap, solver.time_limit, solver.threads, rules=eev.rules)
    again.method = (f"{rp.method}; its plan ({format_usd(rp.objective_usd)}) below EEV, so again under "
                    f"EEV's covenant cures: {again.method}")  # fmt: skip
    return again


def ws_again_under_rp_rules(
    ef: sto.ExtensiveForm, ws_usd: float, rp: sto.EFSolution, solver: SolverSettings
) -> tuple[dict, str]:
    """WS solved again from the rows RP's solve lifted and the cures it held to the debt, where its own
    solve ended below RP (``ws_usd``): RP's solution, its non-anticipativity dropped, is a plan of it,
    so WS is at least RP; where that solve too ends below RP (a time limit), RP's solution is the best
    plan of WS found, and WS is RP (§7b, "WS at least RP"). Returns ``ws_usd`` and ``ws_own_usd`` (the
    own solve's value), and the words for ``solve_method``."""
    again = wait_and_see(ef, solver, rules=rp.rules, stage_name="WS again, under RP's covenant cures")
    below = f"WS ({format_usd(ws_usd)}) below RP, so again under RP's covenant cures"
    if again.status != "optimal" or ends_below(again, rp, solver.mip_gap):
        return {"ws_usd": rp.objective_usd, "ws_own_usd": ws_usd}, f"{below}: below RP too: WS is RP's value"
    return {"ws_usd": again.objective_usd, "ws_own_usd": ws_usd}, f"{below}: {again.method}"


def wait_and_see(
    ef: sto.ExtensiveForm, solver: SolverSettings, rules: tuple | None = None,
    stage_name: str = "WS (each scenario on its own)",
) -> sto.EFSolution:
    """WS: the extensive form without non-anticipativity, each scenario on its own, its covenant rows
    on debt as another solve's ``rules`` left them where given (:meth:`~fleetopt.milp.stochastic.
    ExtensiveForm.solve`)."""
    ef.m.nonanticipativity.deactivate()
    try:
        with stage(stage_name):
            return ef.solve(solver.mip_gap, solver.time_limit, solver.threads, rules=rules)
    finally:
        ef.m.nonanticipativity.activate()


def measure_differences(figures: dict, mip_gap: float) -> dict:
    """VSS = RP - EEV and EVPI = WS - RP of ``figures`` (:func:`_difference`)."""
    rp = figures["rp_usd"] if figures.get("status") == "optimal" else None
    return {
        "vss_usd": _difference(rp, figures.get("eev_usd"), mip_gap),
        "evpi_usd": _difference(figures.get("ws_usd"), rp, mip_gap),
    }


def kept_plan_figures(chosen: sto.EFSolution, rp: sto.EFSolution) -> dict:
    """The value of the plan kept (``plan_value_usd``: RP's, or EEV where the forecast optimum's first
    stage is kept) and its gap to RP's bound (``plan_gap``, relative to that value, as HiGHS's)."""
    if chosen is rp:
        return {"plan_value_usd": rp.objective_usd, "plan_gap": rp.gap}
    value = chosen.objective_usd
    return {"plan_value_usd": value, "plan_gap": gap_to_bound(value, rp.bound_usd)}


def recourse_apart(
    ef: sto.ExtensiveForm, first_stage: dict, integer_later: bool, solver: SolverSettings
) -> sto.EFSolution:
    """Each reduced scenario's recourse under ``first_stage`` with its own V_n maximised: the
    extensive form of ``ef``'s scenarios at L = 0 with the first stage fixed, where no row links the
    scenarios and sum p_n V_n (every p_n > 0) is maximised by maximising each V_n. At L = 1 the
    extensive form's objective gives a scenario outside the CVaR tail no weight, so RP's solution
    may hold any recourse there (tiny, N = 2: the body scenario's V equal to the tail's, its NPV
    -$72.06M where its own best is -$25.8M; §7b, "The scenario rows at L=1")."""
    own = sto.build_extensive_form(ef.data, ef.scenarios, ef.stage, 0.0, ef.alpha, integer_later)
    own.fix_first_stage(first_stage)
    with stage("each scenario's own best recourse"):
        return own.solve(solver.mip_gap, solver.time_limit, solver.threads)


def by_mpisppy(
    data, inputs, forecast, shared, route, risk_weight, alpha, integer_later, solver
) -> Recourse:
    """RP by mpi-sppy (:mod:`fleetopt.stochastic.mpisppy_route`): RP, EV, the expected NPV and CVaR
    over the reduced scenarios; EEV and WS are not measured on this route (None)."""
    rp = solve_by_mpisppy(data, inputs, shared, route, solver.mip_gap, risk_weight, integer_later)
    probabilities = np.array([sc.probability for sc in inputs])
    npv = np.array([row["npv_usd"] for row in rp.scenarios])
    figures = {
        "status": "optimal", "gap": rp.gap, "rp_usd": rp.objective_usd, "rp_bound_usd": rp.bound_usd,
        "ev_usd": forecast.npv_usd, "expected_npv_usd": float(np.dot(probabilities, npv)),
        "cvar_npv_usd": sto.cvar(npv, probabilities, alpha),
        "eev_usd": None, "ws_usd": None, "vss_usd": None, "evpi_usd": None, "first_stage": "RP's",
        "plan_value_usd": rp.objective_usd, "plan_gap": rp.gap,
    }  # fmt: skip
    return Recourse(
        rp.first_stage,
        figures,
        rp.scenarios,
        route,
        {},
        {"build_seconds": rp.build_seconds, "solve_seconds": rp.seconds},
    )


def _timed(timings: dict, key: str, step, *args):
    """``step(*args)``, its wall time recorded as ``timings[key]``."""
    started = time.perf_counter()
    try:
        return step(*args)
    finally:
        timings[key] = time.perf_counter() - started


def peak_rss_bytes() -> int:
    """The process's peak resident memory so far (HiGHS's included, unlike tracemalloc's)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(peak if sys.platform == "darwin" else peak * 1024)


def forecast_optimum(data: ModelData, shared: sto.FirstStage, solver: SolverSettings) -> sto.ForecastSolution:
    """The forecast MILP's optimum (EV and the first stage of EEV); no plan is the error `fleetopt
    solve` would give (the stochastic programme needs the forecast's optimum)."""
    with stage("the forecast optimum (EV)", called="NPV"):
        return sto.solve_with_first_stage(
            data, shared, mip_gap=solver.mip_gap, time_limit=solver.time_limit, threads=solver.threads,
            required=True,
        )  # fmt: skip


def screened_count(n: int, screen: int = limits.DEFAULT_SCREEN) -> int:
    """How many scenarios a stochastic solve over ``n`` draws (the first of its seed) and screens:
    ``screen``, or ``n`` where it asks for more (every one kept, none reduced)."""
    return max(screen, n)


def reduced_scenarios(
    data: ModelData, forecast_plan: Plan, n: int, alpha: float, seed: int, screen: int, backend: str
) -> tuple[ScenarioSet, list[sto.ScenarioInputs]]:
    """:func:`screened_count` scenarios drawn with ``seed``, screened by the forecast optimum's NPV on
    them (the evaluator), and reduced to ``n`` with probabilities: (the drawn set, the MILP inputs).
    Representatives of probability 0 (their features identical to an earlier representative's, so
    no scenario is nearest to them) are left out: fewer than ``n`` then, as the run reports."""
    drawn = generate_scenarios(data, seed, 0, screened_count(n, screen))
    plans = compile_plans(data, [forecast_plan], ["forecast"])
    npv = evaluate(data, plans, drawn.S, seed, backend=backend, keep_matrix=True).npv_matrix[0]
    rows, probabilities = reduce_scenarios(npv, scenario_features(drawn), n, alpha)
    kept = probabilities > 0  # a representative of probability 0 duplicates an earlier one's features
    return drawn, scenario_inputs(data, drawn, rows[kept], probabilities[kept])


def solve_recourse_problem(ef: sto.ExtensiveForm, solver: SolverSettings) -> sto.EFSolution:
    """RP: the extensive form with non-anticipativity; no plan is an error."""
    with stage("RP (the stochastic plan)"):
        rp = ef.solve(solver.mip_gap, solver.time_limit, solver.threads)
    if rp.objective_usd is None:
        raise NoPlanError(_no_stochastic_plan(rp, solver))
    return rp


def _no_stochastic_plan(rp: sto.EFSolution, solver: SolverSettings) -> str:
    """Why RP ended without a plan, and what to do: an infeasible extensive form (a scenario copy no
    plan completes), or a solve stopped first (at --time-limit, or HiGHS gave up)."""
    if rp.status == "infeasible":
        why = ("is infeasible: no first stage is completed within the hard limits in every scenario; "
               "`fleetopt solve` without --stochastic gives the forecast optimum, a plan")  # fmt: skip
    elif solver.time_limit is not None:
        why = (f"found no plan within its --time-limit of {solver.time_limit:g} s; give it longer, fewer "
               "scenarios (--stochastic N) or a larger --mip-gap, or commit to the forecast optimum's first "
               "stage (`fleetopt solve` without --stochastic)")  # fmt: skip
    else:
        why = (f"stopped without a plan ({rp.status}); fewer scenarios (--stochastic N) or a larger "
               "--mip-gap may solve it, or commit to the forecast optimum's first stage (`fleetopt solve` "
               "without --stochastic)")  # fmt: skip
    return f"the extensive form (RP, the stochastic plan) {why}, after {format_duration(rp.seconds)}"


def recourse_figures(ef: sto.ExtensiveForm, rp: sto.EFSolution, forecast: sto.ForecastSolution) -> dict:
    """RP, EV, and the stochastic plan's expected NPV and CVaR over the reduced scenarios."""
    return {
        "status": rp.status,
        "gap": rp.gap,
        "rp_usd": rp.objective_usd,
        "rp_bound_usd": rp.bound_usd,
        "ev_usd": forecast.npv_usd,
        **plan_figures(ef, rp),
    }


def plan_figures(ef: sto.ExtensiveForm, solution: sto.EFSolution) -> dict:
    """Expected NPV and its CVaR over the reduced scenarios of a solution of the extensive form."""
    npv = np.array([row["npv_usd"] for row in solution.scenarios])
    return {
        "expected_npv_usd": expected_npv(ef, solution),
        "cvar_npv_usd": sto.cvar(npv, ef.probabilities, ef.alpha),
    }


def expected_npv(ef: sto.ExtensiveForm, solution: sto.EFSolution) -> float:
    """The probability-weighted NPV of a solution's scenarios (USD; no penalties, no tie-breaks)."""
    return float(np.dot(ef.probabilities, [row["npv_usd"] for row in solution.scenarios]))


def eev_and_ws(
    ef: sto.ExtensiveForm, forecast: sto.ForecastSolution, rp: sto.EFSolution, solver: SolverSettings
) -> tuple[dict, sto.EFSolution]:
    """EEV (the forecast optimum's first stage in every scenario), WS (each scenario on its own:
    non-anticipativity dropped), VSS = RP - EEV and EVPI = WS - RP; and the EEV solution. A measure
    whose solve stopped short of the gap (a time limit) is None, its status and gap kept
    (``eev_status``, ``eev_gap``, ...), and so is every difference that needs it (§7b, "Measures")."""
    ef.fix_first_stage(forecast.first_stage)
    with stage("EEV (the forecast's first stage in the scenarios)"):
        eev = ef.solve(solver.mip_gap, solver.time_limit, solver.threads)
    ef.fix_first_stage(None)
    ws = wait_and_see(ef, solver)
    eev_usd, ws_usd = solved_to_gap(eev), solved_to_gap(ws)
    solved = {"status": rp.status, "rp_usd": rp.objective_usd, "eev_usd": eev_usd, "ws_usd": ws_usd}
    return {
        "eev_usd": eev_usd,
        "ws_usd": ws_usd,
        **measure_differences(solved, solver.mip_gap),
        "eev_status": eev.status, "eev_gap": eev.gap, "ws_status": ws.status, "ws_gap": ws.gap,
        **eev_in_sample(ef, eev, solved=eev_usd is not None),
    }, eev  # fmt: skip


def eev_in_sample(ef: sto.ExtensiveForm, eev: sto.EFSolution, solved: bool = True) -> dict:
    """From ``eev``'s scenario rows: the probability of the reduced scenarios that need a rescue under
    the forecast optimum's first stage, and its expected NPV there (EEV as an NPV, without its
    penalties: the stochastic plan's expected NPV is read against it; None unless ``solved`` to the
    gap, or without rows; the probability None without rows: a solve that found no plan). At L = 1
    both are read from each scenario's own best recourse (:func:`recourse_apart`): the extensive
    form's rows may hold any recourse outside the CVaR tail, emergency equity included
    (buy_now_or_later at A = 1/4: 75 % "rescued" there, none apart)."""
    npv = expected_npv(ef, eev) if solved and eev.scenarios else None
    rescued = rescue_counts(eev.scenarios)["rescued_probability"] if eev.scenarios else None
    return {"eev_rescued_probability": rescued, "eev_expected_npv_usd": npv}


def _difference(better: float | None, worse: float | None, mip_gap: float) -> float | None:
    """:func:`measure_difference`, or None where a side was not solved to the gap: RP stopped by a
    time limit holds a plan that can be anywhere below RP, so RP - EEV says nothing of VSS."""
    return None if better is None or worse is None else measure_difference(better, worse, mip_gap)


def measure_difference(better: float, worse: float, mip_gap: float) -> float:
    """VSS = RP - EEV or EVPI = WS - RP (USD): at least 0 in exact arithmetic, but each side is an
    incumbent within ``mip_gap`` of its own optimum, so their difference can come out below 0 by up
    to the gap: such a difference is 0 (tiny, L = 1: WS -$94,948,773 at a 0.135 % gap against RP
    -$94,876,983 gave EVPI -$71,790; both are -$94,844,349 at a 1e-6 gap). One further below is kept
    as it is: no gap explains it."""
    difference = better - worse
    within_gap = -difference <= mip_gap * max(abs(better), abs(worse))
    return 0.0 if difference < 0 and within_gap else difference


def solved_to_gap(solution: sto.EFSolution) -> float | None:
    """A measure's objective (USD), or None unless its solve reached the gap: a plan stopped by the
    time limit has an objective far from the measure (WS of tiny at N = 50 and 20 s, before WS was
    solved block by block: -$26,773B)."""
    return solution.objective_usd if solution.status == "optimal" else None


# the solve each measure needs (its status and gap are ``<solve>_status``, ``<solve>_gap``)
MEASURE_SOLVES = {"eev_usd": "eev", "ws_usd": "ws", "vss_usd": "eev", "evpi_usd": "ws"}


def measure_unavailable(summary: dict, key: str) -> str | None:
    """Why the measure ``key`` of a summary is None ("time limit, gap 99.99 %", "EEV: no plan", "not
    measured": the mpi-sppy route, or a run without measures), or None when it has a value."""
    if summary.get(key) is not None or key not in MEASURE_SOLVES:
        return None
    solve = MEASURE_SOLVES[key]
    status, gap = summary.get(f"{solve}_status"), summary.get(f"{solve}_gap")
    if status is None:
        return "not measured"
    if key in ("eev_usd", "ws_usd"):
        return _stopped(status, gap)
    if status == "optimal" and summary.get("status") not in (None, "optimal"):  # RP's own solve stopped
        return f"RP not solved to the gap: {_stopped(summary['status'], summary.get('gap'))}"
    return f"{solve.upper()} not solved to the gap: {_stopped(status, gap)}"


def _stopped(status: str, gap: float | None) -> str:
    """A solve's status in words, with its gap: "time limit, gap 73.78%"."""
    return status.replace("_", " ") if gap is None else f"{status.replace('_', ' ')}, gap {format_gap(gap)}"


def first_stage_text(settings: dict) -> str:
    """The first stage of a run's ``settings`` for people: "first stage before 2027Q3 (4 quarters)",
    "first stage the whole horizon (3 quarters)" (a summary older than ``first_stage_before``: "first
    stage before quarter 4")."""
    q = settings["first_stage_quarters"]
    if "first_stage_before" not in settings:
        return f"first stage before quarter {q}"
    before = settings["first_stage_before"]
    when = "the whole horizon" if before is None else f"before {before}"
    sharing = before and settings.get("share_purchases")
    later = ", with every later purchase, power block and draw" if sharing else ""
    return f"first stage {when} ({counted(q, 'quarter')}){later}"


def plan_facts(summary: dict) -> list[tuple[str, str, bool]]:
    """What a reader needs of a stochastic run's plan besides its measures, as (label, text, warning)
    rows for the terminal and the report: whose first stage it keeps, the scenarios the solve had to
    rescue, how the plan was completed on the forecast and each hard limit of the forecast it breaks
    there (warning rows; formulation §7b)."""
    rows = [("first stage of the plan", summary["first_stage"], False)] if summary.get("first_stage") else []
    settings = summary["settings"]
    solved = settings.get("distinct_scenarios", settings["scenarios"])
    for label, name in (
        ("cash rescues (emergency equity: defaults)", "cash_rescued"),
        ("covenant cures (equity paid in to cure a breach, $11 of value per $1 short)", "covenant_cured"),
        ("other slacks (power, contracts, ...)", "relaxed"),
    ):
        if f"{name}_scenarios" in summary:
            count, p = summary[f"{name}_scenarios"], summary[f"{name}_probability"]
            # the reduced scenarios' probabilities differ: the share of their probability, not of their count
            words = f"{count} of the {solved} reduced scenarios ({format_percent(p)} of their probability)"
            rows.append((f"scenarios with {label}", words + breaches_beside(summary, name), False))
    return rows + vss_source(summary) + completion_facts(summary.get("completion") or {})


def breaches_beside(summary: dict, name: str) -> str:
    """After the copies' covenant cures (``name`` "covenant_cured": a covenant or the borrowing base
    cured in a reduced scenario), the evaluator's P(covenant breach) of the same plan out of sample,
    so that a reader sees how far the copies' breaches fall short of the evaluator's (tiny: 13.5 % of
    the reduced scenarios' probability against 81.9 % of the fresh futures) and why: what the copies
    re-plan (:func:`copies_replan`); '' for any other kind or a run without the out-of-sample check."""
    oos = summary.get("out_of_sample") or {}
    plan = (oos.get("metrics") or {}).get("stochastic") or {}
    if name != "covenant_cured" or plan.get("breach_probability") is None:
        return ""
    breach = format_percent(plan["breach_probability"])
    return (f", in sample: {copies_replan(summary)}; the evaluator's P(covenant breach) of the plan: "
            f"{breach} of the {oos['scenarios']:,} fresh scenarios, out of sample: the plan as completed on "
            "the forecast, not re-planned")


def copies_replan(summary: dict) -> str:
    """What the scenario copies re-plan, in words: from the second stage's first quarter on, their
    purchases, power, debt and prepayments, knowing their future, which the evaluator's plan cannot
    (so they avoid most of its breaches, §7b), and how to share them all; or, with the whole horizon
    the first stage, only their operations, as the evaluator runs the plan."""
    settings = summary.get("settings") or {}
    before = settings.get("first_stage_before")
    if before is None:
        return ("every copy runs the plan's purchases, power, debt and prepayments, re-planning only its "
                "operations, as the evaluator does")
    if settings.get("share_purchases"):
        return (f"every copy runs the plan's purchases, power and draws, as the evaluator does, and re-plans "
                f"its prepayments, retirements and moves to inference from {before} on knowing its future "
                "(the evaluator runs the plan's, its policy cutting a prepayment only where cash runs short)")
    quarters = summary.get(HORIZON_QUARTERS)
    whole = "--first-stage-quarters " + (f"{quarters}" if quarters else "at the horizon's length")
    return (f"each copy re-plans its purchases, power, debt and prepayments from {before} on knowing its "
            f"future ({whole} shares them all, as the evaluator runs them)")


def vss_source(summary: dict) -> list[tuple[str, str, bool]]:
    """Where a VSS comes from when the plan's expected NPV over the scenarios is below that of the
    forecast optimum's first stage: the rescues and cures it avoids, valued at their penalties, not
    more NPV (a CFO read "what planning for the scenarios gains: $14.17B" as value, beside an
    expected NPV $0.51B below the forecast optimum's, §7b)."""
    vss, mine, eev = (summary.get(k) for k in ("vss_usd", "expected_npv_usd", "eev_expected_npv_usd"))
    if None in (vss, mine, eev) or vss <= 0 or mine >= eev:
        return []
    weight = (summary.get("settings") or {}).get("risk_weight") or 0
    tail = f" and its worst scenarios' (the objective weighs their CVaR by L = {weight:g})" if weight else ""
    words = (f"the rescues and covenant cures the plan avoids in the scenarios, valued at their "
             f"penalties{tail}: its expected NPV is {format_usd(eev - mine)} below that of the forecast "
             "optimum's first stage")
    return [("where the VSS comes from", words, False)]


def rescue_words(row: dict) -> str:
    """What a reduced scenario's solve needed to stay solvent and within its limits, in words:
    'none', or its emergency equity and each relaxed group (:func:`~fleetopt.milp.stochastic.
    scenario_row`), so that a rescue with no equity (a covenant cure) says what it was."""
    if not row.get("rescued"):
        return "none"
    equity = [f"emergency equity {format_usd(row['emergency_equity_usd'])}"] if row.get("cash_rescue") else []
    return "; ".join(equity + slack_words(row.get("slacks") or {}))


# the measures of a two-stage solve (§7b, "Measures"), each named in words for a finance reader, as
# the terminal's table and the report write them; then the in-sample figures (in_sample_labels)
MEASURES = (
    ("rp_usd", "RP, recourse problem: the solver's objective for the stochastic plan over the reduced "
     "scenarios (expected NPV less rescue penalties; in sample, not a forecast of value)"),
    ("ev_usd", "EV: the forecast optimum's NPV on the forecast alone (no CVaR of scenarios)"),
    ("eev_usd", "EEV: the forecast optimum's first stage in the scenarios (value)"),
    ("ws_usd", "WS, wait-and-see: each scenario planned knowing its future (value)"),
    ("vss_usd", "VSS = RP - EEV: value of the stochastic solution (what planning for the scenarios gains)"),
    ("evpi_usd",
     "EVPI = WS - RP: expected value of perfect information (what knowing the future would gain)"),
)


def measure_rows(summary: dict) -> list[tuple[str, str]]:
    """The (key, label) rows of :data:`MEASURES` for a run's table. Where the plan keeps the forecast
    optimum's first stage (``first_stage``), RP's plan is not the plan: RP is labelled as the best
    value the stochastic solve found (a time limit stopped it below EEV) or its plan's value (EEV within
    the gap of its bound), the plan kept's value follows it (``plan_value_usd``), and VSS and EVPI say
    that they are RP's, not the plan kept's (§7b, "Which first stage the plan keeps"); where RP's own
    plan ended below EEV, and so did its solve again (:data:`FORECAST_ABOVE_RP`), RP is EEV's and the
    plan kept, and says so. Where WS's own solve ended below RP (``ws_own_usd``), WS says it was solved
    again (§7b, "WS at least RP")."""
    labels = dict(MEASURES)
    if summary.get("ws_own_usd") is not None:
        labels["ws_usd"] += (f" (its own solve, {format_usd(summary['ws_own_usd'])}, was below RP: solved "
                             "again under RP's covenant cures, at least RP)")  # fmt: skip
    if keeps_rp(summary):
        return list(labels.items())
    if FORECAST_ABOVE_RP in summary.get("first_stage", ""):  # RP is the forecast's first stage's
        labels["rp_usd"] = (
            "RP, recourse problem: the best plan the stochastic solve found, the forecast optimum's first "
            f"stage's (EEV; its own plan, {format_usd(summary['rp_own_usd'])}, and its plan solved again "
            "under EEV's covenant cures are below it)"
        )
        return list(labels.items())
    status = summary.get("status")
    labels["rp_usd"] = (
        "RP, recourse problem: the value of the stochastic solve's plan (not kept: EEV is within the "
        "gap of RP's bound)"
        if status == "optimal"
        else f"RP, recourse problem: the best value the stochastic solve found before it stopped "
        f"({_stopped(status or 'unknown', None)}; its plan not kept: below EEV)"
    )
    labels["vss_usd"] += " (RP's plan is not kept: the plan keeps the forecast optimum's first stage, EEV)"
    labels["evpi_usd"] += " (against RP's plan, not the plan kept)"
    rows = list(labels.items())
    kept = [("plan_value_usd", "value of the plan kept: the forecast optimum's first stage in the "
             "scenarios (EEV)")] if "plan_value_usd" in summary else []  # fmt: skip
    return rows[:1] + kept + rows[1:]


def keeps_rp(summary: dict) -> bool:
    """Whether a run's plan keeps RP's first stage (a summary without ``first_stage``: written before)."""
    return (summary.get("first_stage") or "RP's") == "RP's"


def gap_words(summary: dict) -> str:
    """RP's gap, and where the plan keeps the forecast optimum's first stage, that plan's own gap to
    RP's bound beside it: "41.33% (RP's plan; the plan kept: 1.16%)"."""
    gap = format_gap(summary.get("gap"))
    if keeps_rp(summary) or "plan_gap" not in summary:
        return gap
    return f"{gap} (RP's plan; the plan kept: {format_gap(summary['plan_gap'])})"


def forecast_gap_note(settings: dict) -> str | None:
    """Why the forecast optimum beside the stochastic plan may not be `fleetopt solve`'s, in one line,
    where the run's gap is not `fleetopt solve`'s default (a CFO met two "forecast optima"); None where
    it is, or a summary without its gap."""
    gap = settings.get("mip_gap")
    if gap is None or gap == DEFAULT_MIP_GAP:
        return None
    return (f"The forecast optimum here is solved at this run's {format_gap(gap)} gap, not fleetopt "
            f"solve's {format_gap(DEFAULT_MIP_GAP)}: it may buy differently from fleetopt solve's plan, "
            "its NPV up to the gap apart.")


def in_sample_labels(settings: dict) -> dict:
    """The labels of the figures over the reduced scenarios (``expected_npv_usd``, the forecast
    optimum's first stage's ``eev_expected_npv_usd``: EEV's NPV without its penalties, ``cvar_npv_usd``):
    in sample, the scenarios the plan was fitted to, not the out-of-sample check's. A summary without
    one (no EEV solved, or written before) shows none."""
    alpha, solved = settings["cvar_alpha"], settings.get("distinct_scenarios", settings["scenarios"])
    fitted = "(in sample: fitted to them, not a forecast of value)"
    over = f"over the {counted(solved, 'reduced scenario')} {fitted}"
    return {
        "expected_npv_usd": f"expected NPV {over}",
        "eev_expected_npv_usd": f"expected NPV of the forecast optimum's first stage {over}",
        "cvar_npv_usd": f"{cvar_name(alpha)} NPV: the mean of its worst {format_rate(alpha)} {over}",
    }


def forecast_kept(figures: dict, rp: sto.EFSolution, mip_gap: float) -> str | None:
    """Why the stochastic plan keeps the forecast optimum's first stage rather than RP's, in words,
    or None where it keeps RP's: EEV within the gap of RP's bound (:func:`forecast_within_gap`), or
    EEV above the value of the plan an RP stopped short of the gap holds (a time limit): the
    forecast's first stage is then the better solution of RP found (§7b, "Which first stage the
    plan keeps"; tiny at N = 20 and a 1 s limit, one run at load 5: RP's plan -$34.6M, EEV -$25.7M)."""
    if forecast_within_gap(figures, rp, mip_gap):
        return "within the gap of RP"
    eev = figures.get("eev_usd")
    if rp.status != "optimal" and eev is not None and eev > rp.objective_usd:
        return f"above the value of RP's plan, which stopped at the {rp.status.replace('_', ' ')}"
    return None


def forecast_within_gap(figures: dict, rp: sto.EFSolution, mip_gap: float) -> bool:
    """Whether the forecast optimum's first stage is itself a solution of RP within ``mip_gap`` of
    RP's bound (EEV that close): then the scenarios give no reason, beyond the solver's tolerance,
    to commit to anything else, and the stochastic plan keeps the forecast's first stage (§7b)."""
    eev, bound = figures.get("eev_usd"), rp.bound_usd
    if eev is None or bound is None:
        return False
    return bound - eev <= mip_gap * max(abs(eev), 1e-9)


def complete_plan(
    data: ModelData, shared: sto.FirstStage, first_stage: dict, solver: SolverSettings
) -> tuple[Plan, dict]:
    """The first stage completed into a full plan on the forecast: by the forecast MILP with the
    first stage fixed, or, where that is infeasible, by the rescue model (and how it was done)."""
    gap, limit, threads = solver.mip_gap, solver.time_limit, solver.threads
    with stage("the plan's first stage completed on the forecast", called="NPV"):
        completed = sto.solve_with_first_stage(
            data, shared, first_stage, mip_gap=gap, time_limit=limit, threads=threads
        )
    if completed is not None:
        plan = completed.plan
        completion = {"method": "forecast MILP", "npv_forecast_usd": completed.npv_usd}
    else:
        rescued = sto.complete_with_rescue(data, shared, first_stage, gap, limit, threads)
        if rescued is None:
            quarters = shared.quarters
            before = f" before {data.quarter_labels[quarters]}" if quarters < data.T else ""
            shared_later = bool(shared.whole_horizon) and quarters < data.T
            later = ", with every later purchase, power block and draw" if shared_later else ""
            or_unshared = ", without --share-purchases" if shared_later else ""
            raise NoPlanError(
                f"the first stage chosen over the scenarios (its commitments{before}{later}) cannot be "
                "completed on the forecast without drawing more power than its sites have online, even "
                "with its finance limits rescued: the scenarios' solves relaxed power or contracts (their "
                "rows' slacks) to fit it. Try more scenarios (--stochastic N), fewer first-stage quarters "
                f"(--first-stage-quarters){or_unshared}, or the forecast's own plan (fleetopt solve)"
            )
        plan, row = rescued
        completion = {"method": "forecast with rescue", "npv_forecast_usd": row["npv_usd"], "rescue": row}
    completion["limits_broken"] = forecast_limits_broken(data, plan)
    return plan, completion


def rescued_completion(data: ModelData, plan: Plan, row: dict) -> dict:
    """The completion of purchases people fixed by the rescue model (`fleetopt solve --purchases
    FILE --rescue`): ``row``, the forecast's rescue, and the limits the plan breaks, as
    :func:`complete_plan` reports a stochastic plan completed so."""
    return {"method": "the rescue model, the purchases fixed", "rescue": row,
            "limits_broken": forecast_limits_broken(data, plan)}  # fmt: skip


def forecast_limits_broken(data: ModelData, plan: Plan) -> list[dict]:
    """The forecast's hard limits the plan breaks on its own forecast statements (no revolver, as
    the forecast MILP holds them): cash below ``finance.min_cash_usd`` and each covenant test
    (the borrowing base included) missed by more than 1 USD, each with its quarters. Empty for a
    plan the forecast MILP completed; a plan completed with the rescue breaks some (§7b)."""
    statements = plan_statements(data, plan)
    labels = data.quarter_labels
    cash = statements.lines["cash_usd"]
    low = cash < data.min_cash - LIQUIDITY_TOLERANCE_USD
    out = []
    if low.any():
        out.append({
            "limit": f"cash >= min cash {format_usd(data.min_cash)}",
            "quarters": [labels[t] for t in np.flatnonzero(low)],
            "lowest_usd": float(cash[low].min()),
        })  # fmt: skip
    quantities = statement_quantities(statements.lines, data.covenant_window)
    for test in data.covenants:
        missed = np.asarray(test.breached(quantities)) & test.tested
        if missed.any():
            out.append({"limit": test.describe(), "quarters": [labels[t] for t in np.flatnonzero(missed)]})
    return out


def out_of_sample(data: ModelData, plan: Plan, forecast_plan: Plan, n: int, seed: int, backend: str) -> dict:
    """Both plans evaluated on the same fresh scenarios (a seed the reduction did not use), and the
    stochastic plan's differences from the forecast optimum with the standard errors of the paired
    differences (``paired``: stochastic/paired.py, as benchmarks/bench_stochastic reports them)."""
    batch = compile_plans(data, [plan, forecast_plan], list(PLAN_LABELS))
    ev = evaluate_paired(data, batch, n, seed, backend=backend)
    rows = ev.metrics.set_index("plan")
    paired = paired_comparison(scenario_outcomes(ev), FORECAST_PLAN)
    return {
        "seed": seed,
        "scenarios": n,
        "metrics": {label: {k: float(v) for k, v in rows.loc[label].items()} for label in rows.index},
        "paired": {k: v for k, v in paired[0].items() if k.endswith(("_diff", "_diff_se"))},
    }
