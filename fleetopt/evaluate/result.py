"""What an evaluation returns (:class:`EvaluationResult`): each plan's metrics and how the run went,
the per-pair outcomes it keeps with ``keep_outcomes`` (:data:`OUTCOMES`, :data:`DEMAND_OUTCOMES`,
:data:`MEAN_OUTCOMES`, a cost plan's :data:`COST_OUTCOMES`), its plans ranked (a ranking's arguments
checked by name) with how sure the first place is, and what a notebook shows of it (where every figure
is: :data:`EVALUATION_NEXT`).
The first place's lead is measured again by :func:`fleetopt.evaluate.engine.measured_lead_error`,
which :func:`~fleetopt.evaluate.engine.evaluate` gives the result: it evaluates plans again."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from fleetopt.core.notebook import html_text, markdown_table, markdown_text
from fleetopt.core.results.risk_sentences import risk_in_short
from fleetopt.core.units import counted, format_usd, listed
from fleetopt.errors import Argument, InputError
from fleetopt.evaluate.first_place import first_by_the_floor, first_place_words
from fleetopt.evaluate.metrics import (
    COST_DEFAULT_RANK,
    COST_RANK_COLUMNS,
    EVALUATION_RANK_COLUMNS,
    MEAN_OF_PAIRS,
    RANK_WORDS,
    best_plan_label,
    default_rank,
    demand_in_short,
    first_by_the_forecast,
    key_figures_frame,
    ranked_plans,
    shown_plans,
)
from fleetopt.evaluate.result_fields import PRESENT_COST
from fleetopt.runs import limits

# the per-pair outcomes an evaluation keeps with keep_outcomes (fleetopt compare's paired errors)
OUTCOMES = ("breach", "uncured_breach", "default")
# and each pair's share of its scenario's demand served and whether it is short (metrics.demand_per_pair)
DEMAND_OUTCOMES = ("demand_share", "demand_short")
# and each pair's value of the results whose means compare pairs (metrics.MEAN_OF_PAIRS), float64:
# 48 bytes a pair more, 67 in all with the above (the NPV matrix another 8)
MEAN_OUTCOMES = tuple(MEAN_OF_PAIRS.values())
# and, only where the run computes it (plans solved for least cost), each pair's present cost, float64:
# 8 bytes a pair more, 75 in all, for compare's paired errors of the present cost (metrics.COST_PAIRED_ERROR)
COST_OUTCOMES = (PRESENT_COST,)


# where a notebook display of an evaluation says every figure is
EVALUATION_NEXT = "Next: .metrics (every figure: USD, shares in [0, 1]), .ranked(rank_by)"

# the figures a notebook's one-line repr gives of the best plan, (words, column): its mean and tail NPV,
# or where the plans were solved for least cost (EvaluationResult.solved_for_cost) its present cost's
BEST_FIGURES = {False: (("mean NPV", "npv_mean_usd"), ("CVaR5", "npv_cvar5_usd")),
                True: (("mean present cost", "present_cost_mean_usd"), ("CVaR95", "present_cost_cvar95_usd"))}

def present_cost_computed(metrics: pd.DataFrame) -> bool:
    """Whether the plans of an evaluation's ``metrics`` (a result's, or a finished run's summary.json's)
    count as solved for least cost: every plan has a present cost over the scenarios, which an evaluation
    computes only of such plans (``PlanBatch.solved_for_cost``) or where asked to
    (``engine.evaluate(present_cost=True)``). It ranks them by cost by default, allows a ranking by a
    present cost and has their "In short" give the demand served."""
    cost = metrics.get(COST_RANK_COLUMNS[COST_DEFAULT_RANK])
    return cost is not None and not metrics.empty and bool(np.isfinite(cost.to_numpy(float)).all())


RANK_BY = Argument("rank_by", "--rank-by")  # the ranking a refusal names
# the objective a ranking by a present cost needs of the plans it ranks
COST_OBJECTIVE = Argument("objective='cost'", "--objective cost")
MIN_SERVICE = Argument("min_service", "--min-service")  # the service floor a refusal names


def refuse_ranking(rank_by: str, solved_for_cost: bool, min_service: float | None) -> None:
    """A ranking its plans cannot take, refused by name: a present cost (:data:`COST_RANK_COLUMNS`) of
    plans not solved for least cost (``solved_for_cost`` False: ``PlanBatch.solved_for_cost``; an NPV plan
    has none), then a service floor (``min_service``) with a ranking by an NPV figure or P(any default):
    a floor on the demand served ranks a lab's plans by cost, where the cheapest would serve the least; a
    plan solved for NPV serves what pays, its served share its sales, not an obligation to keep."""
    if rank_by in COST_RANK_COLUMNS and not solved_for_cost:
        others = listed([name for name in EVALUATION_RANK_COLUMNS if name not in COST_RANK_COLUMNS], "or")
        raise InputError.naming(
            RANK_BY, f" {rank_by} ranks plans by their {RANK_WORDS[rank_by]}, which only plans solved with ",
            COST_OBJECTIVE, " have: these were not, or their plan file does not say so (an NPV plan has no "
            f"present cost); rank them by {others}")  # fmt: skip
    if min_service is not None and rank_by not in COST_RANK_COLUMNS:
        raise InputError.naming(
            MIN_SERVICE, " applies only to a ranking by present cost, ", RANK_BY, f" cost or cost-cvar95, "
            f"not {rank_by}: an NPV plan serves the demand that pays, its share served is its sales, not an "
            "obligation")  # fmt: skip


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
    # arrays by OUTCOMES' names, its demand served, the values MEAN_OUTCOMES names and, where the run
    # computed it, its present cost (COST_OUTCOMES) (None where chunks came from a store, which does
    # not keep them)
    outcomes: dict[str, np.ndarray] | None = None
    # the quarterly lines asked for by evaluate(record=...) (cash_usd, debt_usd, ebitda_usd: USD at
    # each quarter's end), each a (plans, scenarios, quarters) array; empty unless asked for (the
    # Python API and the CLI do not ask)
    paths: dict[str, np.ndarray] = field(default_factory=dict)
    pairs_stored: int = 0  # (plan, scenario) pairs a resumed run read from chunks an earlier attempt saved
    model_fingerprint: str = ""  # the model evaluated under (ModelData.fingerprint): a run is written with it
    # of pairs_stored, how many each earlier attempt's backend and device computed ("numpy: CPU (2 threads)")
    earlier_devices: dict[str, int] = field(default_factory=dict)
    # the model as changed for the run (schema.model_changes.changed_model_line), set by the job that
    # ran it, which the result, holding no model, cannot say itself; '' for a file as it is, or not known
    changed_model: str = ""
    # (LoadedModel, PlanSource): the model and plans the job that ran it evaluated, set by it, so that
    # fleetopt.api.write_evaluate_run writes a job's result alone (a resumed one's); None: not known
    evaluated_with: tuple | None = field(default=None, repr=False, compare=False)
    # measures the first place's lead again on the same scenarios: engine.measured_lead_error with the
    # model, plans and memory budget it was evaluated with (set by evaluate, which this module cannot
    # import); None: a result built by hand, whose lead is not known
    _measure_lead: Callable | None = field(default=None, init=False, repr=False, compare=False)
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
        """': 'milp' mean NPV -$22.2M, CVaR5 -$72.6M', the best plan by :attr:`default_rank` (named so of
        several; its NPV alone on the forecast), plans solved for least cost by their present cost
        (:data:`BEST_FIGURES`); '' without plans or those figures (a table made by hand)."""
        (mean_words, mean), (tail_words, tail) = BEST_FIGURES[self.solved_for_cost]
        if self._computed.empty or not {mean, tail} <= set(self._computed):
            return ""
        best = self.ranked().iloc[0]
        if self.seed is None:
            on_forecast = mean_words.removeprefix("mean ")
            return f": {best['plan']!r} {on_forecast} on the forecast {format_usd(best[mean])}"
        whose = f"best by {RANK_WORDS[self.default_rank]} " if self.n_plans > 1 else ""
        figures = f"{mean_words} {format_usd(best[mean])}, {tail_words} {format_usd(best[tail])}"
        return f": {whose}{best['plan']!r} {figures}"

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
        """The best plan's value and risk by :attr:`default_rank` (the plan's, where it is the only one), in
        the sentences of the terminal's "In short"
        (:func:`fleetopt.core.results.risk_sentences.risk_in_short`), as computed, with the demand it
        serves where the plans were solved for least cost; none on the forecast alone (no risk over one
        future) or without plans."""
        ranked = self.ranked()
        if self.seed is None or ranked.empty:
            return []
        first = ranked.iloc[0]
        label = best_plan_label(first["plan"], self.default_rank, len(ranked) > 1)
        served = demand_in_short(self.n_scenarios, first) if self.solved_for_cost else None
        said = " ".join(risk_in_short(label, self.n_scenarios, first, served=served, quarters=self.quarters))
        said += first_place_words(ranked, self.default_rank, self.n_scenarios, self.first_place_error())
        return ["In short: " + said]

    @property
    def solved_for_cost(self) -> bool:
        """Whether the plans were solved for least cost (:func:`present_cost_computed`)."""
        return present_cost_computed(self._computed)

    @property
    def default_rank(self) -> str:
        """The ranking :meth:`ranked` takes where given none: by mean present cost where the plans were solved
        for least cost (:attr:`solved_for_cost`), else by CVaR5 NPV (metrics.default_rank)."""
        return default_rank(self.solved_for_cost)

    def ranked(self, rank_by: str | None = None, max_breach_prob: float | None = None,
               min_service: float | None = None) -> pd.DataFrame:  # fmt: skip
        """The plans' computed metrics best first by ``rank_by`` ("cvar5", "mean", "p5": the highest NPV
        figure; "any-default": the lowest P(any default); "cost", "cost-cvar95": the lowest mean or CVaR95
        present cost, of plans solved for least cost; None: :attr:`default_rank`), only those
        with P(covenant breach) at most ``max_breach_prob`` where it is given: the table `fleetopt
        evaluate --rank-by --max-breach-prob` prints (a plan that breaks a limit on its own forecast
        comes after every one that keeps them; ties in the plans' order). By a present cost, a plan
        serving less than ``min_service`` of the demand (a share, --min-service) comes after every one
        that serves that much. A bad argument raises InputError naming it, a present cost of plans solved
        for NPV too (they have none), and a service floor by another figure."""
        ranking = self.checked_ranking(rank_by, max_breach_prob, min_service)
        return ranked_plans(self._computed, *ranking.values())

    def first_place_error(self, rank_by: str | None = None, max_breach_prob: float | None = None,
                          min_service: float | None = None) -> float | None:  # fmt: skip
        """How sure the first place of :meth:`ranked` is (every plan where none meets
        ``max_breach_prob``, as `fleetopt evaluate` and the report rank them): the paired standard
        error of the first plan's lead over the second on ``rank_by``'s figure (USD; a share by
        "any-default"), from the NPV matrix where the result kept one and the figure is an NPV's, else
        from the two plans evaluated again alone on the same scenarios (once: it is kept). None where
        there is nothing to measure (on the forecast, one plan, a result built by hand); NaN where the
        ranking puts the first ahead by its forecast or by the service floor ``min_service``, not by the
        figure. `fleetopt evaluate`'s "In short" says
        it, and :func:`fleetopt.api.write_evaluate_run` keeps it for the report (summary.json's
        ``ranking.lead_se_usd``; ``lead_se_share`` by "any-default")."""
        ranking = self.checked_ranking(rank_by, max_breach_prob, min_service)
        key = tuple(ranking.values())
        if key not in self._lead_errors:
            ranked = shown_plans(self._computed, ranking)[0]
            self._lead_errors[key] = self._measured_lead_error(ranked, ranking["rank_by"], min_service)
        return self._lead_errors[key]

    def _measured_lead_error(self, ranked: pd.DataFrame, rank_by: str,
                             min_service: float | None) -> float | None:  # fmt: skip
        """:meth:`first_place_error` of ``ranked`` (rows by their place in the plans), measured."""
        if self.seed is None or len(ranked) < 2 or self._measure_lead is None:
            return None
        if first_by_the_forecast(ranked) or first_by_the_floor(ranked, min_service):
            return math.nan
        return self._measure_lead(self, ranked, rank_by)

    def checked_ranking(self, rank_by: str | None, max_breach_prob: float | None = None,
                        min_service: float | None = None, whose: str = "") -> dict:  # fmt: skip
        """{"rank_by", "max_breach_prob", "min_service"} of :meth:`ranked`, each checked by name, ``whose``
        before it ("ranking's ": :func:`fleetopt.api.write_evaluate_run`'s); ``rank_by`` None:
        :attr:`default_rank`; a present cost only of plans solved for least cost, a service floor only by a
        present cost (:func:`refuse_ranking`)."""
        ranks = tuple(EVALUATION_RANK_COLUMNS)
        rank_by = self.default_rank if rank_by is None else limits.text(f"{whose}rank_by", rank_by, ranks)
        if max_breach_prob is not None:
            max_breach_prob = limits.number(f"{whose}max_breach_prob", max_breach_prob, 0.0, 1.0)
        if min_service is not None:
            min_service = limits.number(f"{whose}{MIN_SERVICE.keyword}", min_service, 0.0, 1.0)
        refuse_ranking(rank_by, self.solved_for_cost, min_service)
        return {"rank_by": rank_by, "max_breach_prob": max_breach_prob, "min_service": min_service}

    @property
    def pairs_computed(self) -> int:
        """(plan, scenario) pairs simulated in this attempt (all of them unless resumed)."""
        return self.n_plans * self.n_scenarios - self.pairs_stored

    @property
    def pair_quarters_per_second(self) -> float:
        """Plan-scenario-quarters simulated per second, in this attempt (a resumed run's stored
        chunks took no time now and are not counted)."""
        return self.pairs_computed * self.quarters / max(self.seconds, 1e-12)

