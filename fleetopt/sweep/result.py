"""A finished sweep (SweepResult): its candidates, their metrics, the Pareto front and the rule's pick, how a
terminal, a notebook and the run folder show them, and the folder written (write_sweep_run)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd

from fleetopt import __version__
from fleetopt.core.data import ModelData
from fleetopt.core.economics.statements import plan_statements
from fleetopt.core.metric_columns import CVAR5_NPV_LABEL, MEAN_NPV_LABEL
from fleetopt.core.notebook import html_text, markdown_table, markdown_text
from fleetopt.core.plan import Plan, plan_axes
from fleetopt.core.results.headline import headline, headline_frame
from fleetopt.core.results.tables import debt_frame, plan_frame
from fleetopt.core.units import (
    counted,
    format_difference,
    format_percent,
    format_usd,
    format_usd_change,
)
from fleetopt.errors import InputError
from fleetopt.evaluate.lead import (
    Lead,
    tie_margin,
)
from fleetopt.evaluate.metrics import (
    FORECAST_OK,
    key_figures_frame,
)
from fleetopt.evaluate.planfile import plans_npz_bytes
from fleetopt.milp.highs import DEFAULT_MIP_GAP
from fleetopt.runs import limits
from fleetopt.runs.file_text import csv_text, json_text
from fleetopt.runs.folder import RunFolder
from fleetopt.runs.summary_schema import BEST_MEAN_KEY
from fleetopt.schema.loaded_model import LoadedModel
from fleetopt.sweep.cancelled import (
    CancelledOrder,
    CancelledOrders,
    cancelled_orders_words,
    nearly_always_cancelled,
)
from fleetopt.sweep.candidate_record import BUFFER_ORIGINS, WITHOUT_ORDERS, dropped_words
from fleetopt.sweep.candidates import CandidateSet
from fleetopt.sweep.recommendation import (
    RISE_WORTH_SAYING,
    RISK_WORTH_SAYING,
    RISKS_LEFT,
    best_mean_words,
    cancels_often,
    changes_against,
    cost_changes,
    either_default_moved,
    lead_words,
    moved_words,
    optimum_risks_kept,
    points_given,
)
from fleetopt.sweep.rule import (
    COST_FIGURES,
    LIMIT_WORDS,
    OPTIMUM_RISKS,
    Rule,
    conditions_missed,
    forecast_optimum_row,
    limits_missed,
    missed_by_condition,
    optimum_condition,
    optimum_risks,
    pick_keeping,
    rank_column,
    rank_score,
    rank_words,
    risks_listed,
)
from fleetopt.sweep.without_orders import WITHOUT_ORDERS_WORDS

# summary.json's name for the sweep's --time-limit (job.json's time_limit), in seconds; null: none
TIME_LIMIT_KEPT = "time_limit_seconds"
# job.json's and summary.json's name for `sweep --share-purchases` (the stochastic candidate's scenarios
# share every purchase, power block and draw); absent: false (a sweep started before it was offered)
SHARE_PURCHASES_KEPT = "stochastic_share_purchases"


# what candidates.json keeps of each candidate (its plan is in plans.npz), in the file's order
LISTED_FIELDS = (
    "label", "origin", "status", "note", "forecast_npv_usd", "liquidity_buffer_usd", "gap", "same_as",
    "buffer_of", "second_round", "broken", "planned_buffer_usd",
)  # fmt: skip


def candidate_list(cands: CandidateSet) -> str:
    """candidates.json: every candidate made, in order, with what :func:`saved_candidates` reads."""
    return json_text([{name: getattr(c, name) for name in LISTED_FIELDS} for c in cands.candidates])


def plans_file(loaded: LoadedModel, data: ModelData, cands: CandidateSet) -> bytes:
    feasible = cands.feasible
    plans, labels = [c.plan for c in feasible], [c.label for c in feasible]
    # every plan keeps the buffer it was made with, the model's where the candidate sets none
    model_buffer = data.policy.liquidity_buffer_usd
    buffers = [model_buffer if c.liquidity_buffer_usd is None else c.liquidity_buffer_usd for c in feasible]
    return plans_npz_bytes(plans, labels, loaded.model.name, loaded.content_hash, buffers, plan_axes(data))


def solve_settings(settings: dict) -> dict:
    """The MILP settings a sweep's candidates were solved with (its job.json's, or, re-ranked, its
    summary.json's), which its second round solves with too: the default gap and no time limit
    where its files do not say (a sweep written by an earlier fleetopt)."""
    gap = settings.get("mip_gap")
    return {"mip_gap": DEFAULT_MIP_GAP if gap is None else gap, "time_limit": settings.get("time_limit")}


def stochastic_settings(settings: dict) -> dict:
    """What summary.json keeps of a sweep's stochastic candidate (its job.json's settings, or,
    re-ranked, its summary.json's): its scenarios and whether they share every purchase; {} for a
    sweep without one (or re-ranked from a sweep written before they were kept)."""
    scenarios = settings.get("stochastic_scenarios")
    if not scenarios:
        return {}
    return {"stochastic_scenarios": scenarios, SHARE_PURCHASES_KEPT: bool(settings.get(SHARE_PURCHASES_KEPT))}


@dataclass(frozen=True)
class RuleThen:
    """The check "no riskier than the forecast optimum" of a sweep made by an earlier fleetopt, whose
    rule kept fewer risks at the optimum's than a re-ranking now does (:func:`rule_then`)."""

    made_by: str | None  # its summary.json's fleetopt_version (None: it kept none)
    risks: tuple[str, ...]  # the risks its rule kept at the forecast optimum's (of OPTIMUM_RISKS)

    def words(self) -> str:
        """'The rule changed since this sweep was made (fleetopt 0.4.31: P(covenant breach) and
        P(liquidity default) no higher than the forecast optimum's; now P(any default) too)'."""
        added = risks_listed([column for column in OPTIMUM_RISKS if column not in self.risks], "and", True)
        then = optimum_condition(self.risks, labels=True)
        return f"The rule changed since this sweep was made ({self.by}: {then}; now {added} too)"

    @property
    def by(self) -> str:
        """The fleetopt that made the sweep: 'fleetopt 0.4.31'."""
        return "an earlier fleetopt" if self.made_by is None else f"fleetopt {self.made_by}"


def rule_then(summary: dict, rule: Rule) -> RuleThen | None:
    """How a finished sweep's rule (its summary.json's words) kept fewer risks at the forecast
    optimum's than ``rule``, which re-ranks it now: a pick could change with nothing saying why; None
    where both keep the same (or ``rule`` keeps none, --allow-riskier)."""
    kept = optimum_risks_kept(summary["rule"])
    if not rule.no_riskier_than_optimum or kept == OPTIMUM_RISKS:
        return None
    made_by = summary.get("fleetopt_version")
    return RuleThen(made_by if isinstance(made_by, str) else None, kept)


# where a notebook display of a sweep says to read next
SWEEP_NEXT = ("Next: .metrics, .why(), .candidates_frame() (every candidate made, those dropped too); "
              "a candidate's .plan_frame(label), .statements_frame(label), .headline(label), "
              ".debt_frame(label)")


class SweepResult:
    """Candidates, their metrics (one row per feasible candidate), the front and the recommendation.
    ``metrics`` is yours to change (a column put in $M, rows sorted): the recommendation, ``why()``
    and the run written read the metrics as computed (:attr:`computed_metrics`)."""

    def __init__(self, loaded, data, candidates, metrics, evaluation, rule, pick, lead: Lead | None = None,
                 idle: np.ndarray | None = None):  # fmt: skip
        self.loaded, self.data, self.candidates = loaded, data, candidates
        self.evaluation, self.rule, self.pick = evaluation, rule, pick
        self.lead = lead  # the pick's lead over the runner-up (None: not measured)
        self._metrics, self.metrics = metrics, metrics.copy()
        # (rows of metrics,) whether each is a cash buffer that never acted (idle_buffers); None: none
        self._idle = np.zeros(len(metrics), dtype=bool) if idle is None else np.asarray(idle, dtype=bool)
        self.reranked_from: Path | None = None  # the finished sweep re-ranked (:func:`rerank_sweep`)
        # the folder the sweep saved its candidates and chunks in (None: none), which writing the
        # result finishes where no other folder is given
        self.job_folder: Path | None = None
        # the candidates' MILP settings (:func:`solve_settings`), which summary.json keeps
        self.solve_settings = solve_settings({})
        # its stochastic candidate's settings (:func:`stochastic_settings`), which summary.json keeps
        self.stochastic_settings: dict = {}
        # the labels of the second round's planned buffers this run solved (a rerank's only solves)
        self.solved_now: list[str] = []
        # the labels of a second round saved for another pick (a rerank's or a resume's old pick), not
        # carried over
        self.left_out: list[str] = []
        # a pick's orders cancelled in nearly every scenario, found as the sweep ran: (its label, them)
        self.found_cancelled: tuple[str, CancelledOrders] | None = None
        # a re-ranked sweep whose rule kept fewer risks at the forecast optimum's (:func:`rerank_sweep`)
        self.rule_then: RuleThen | None = None
        # the plan of highest mean NPV no worse than the forecast optimum (:func:`best_mean_alternative`;
        # None: none, or not measured)
        self.best_mean: dict | None = None

    def __repr__(self) -> str:
        rec, prefer = self.recommended, self.rule.prefer
        figure = f"{rank_words(prefer)} {format_usd(rec[rank_column(prefer)])}"  # the rule's
        return (
            f"SweepResult({counted(len(self._metrics), 'candidate')} evaluated on "
            f"{counted(self.evaluation.n_scenarios, 'scenario')}, recommended "
            f"{rec['plan']!r} ({figure}); .metrics, .why(), .plan_frame(label))"
        )

    def _repr_html_(self) -> str:
        """What a notebook cell shows (JupyterLab's first choice), as :meth:`_repr_markdown_`, in its
        order: the title, the fields changed, the pick and why, the candidates' key figures and what to
        read next (the caption was the one-line repr, the pick after the table, the last line missing)."""
        bold, rest = self._title()
        changed = self.loaded.changed_line
        best = self.best_mean_words()
        paragraphs = [f"<b>{html_text(bold)}</b>{html_text(rest)}",
                      *([html_text(changed)] if changed else []),
                      f"<b>Recommended: {html_text(self.recommended['plan'])}.</b> {html_text(self.why())}",
                      *([html_text(best)] if best else [])]  # fmt: skip
        table = key_figures_frame(self.metrics).to_html(index=False)
        return "".join(f"<p>{p}</p>" for p in paragraphs) + table + f"<p>{html_text(SWEEP_NEXT)}</p>"

    def _title(self) -> tuple[str, str]:
        """A notebook display's title, in two parts: the bold one and the rest."""
        n = f"{counted(self.evaluation.n_scenarios, 'scenario')}, seed {self.evaluation.seed}"
        return f"Sweep of {self.data.name}", f": {counted(len(self._metrics), 'candidate')} evaluated on {n}"

    def _repr_markdown_(self) -> str:
        """What a notebook cell shows where it shows Markdown: the fields changed in the model for the run
        (:func:`changed_model_line`), the pick and :meth:`why`, then each candidate's
        :func:`key_figures_frame` (its ``metrics`` as they now are) and what to read next."""
        bold, rest = self._title()
        changed = self.loaded.changed_line
        pick = f"**Recommended: {markdown_text(self.recommended['plan'])}.** {markdown_text(self.why())}"
        table = markdown_table(key_figures_frame(self.metrics))
        changed_lines = [markdown_text(changed), ""] if changed else []
        best = self.best_mean_words()
        best_lines = [markdown_text(best), ""] if best else []
        title = f"**{markdown_text(bold)}**{markdown_text(rest)}"
        return "\n".join([title, "", *changed_lines, pick, "", *best_lines, table, "", SWEEP_NEXT])

    @property
    def computed_metrics(self) -> pd.DataFrame:
        """The candidates' metrics as the sweep computed them (a copy)."""
        return self._metrics.copy()

    def plan(self, label: str | None = None) -> Plan:
        """The plan of the candidate evaluated as ``label`` (a ``plan`` of :attr:`metrics`; None:
        the recommended one). ``candidates`` also holds those dropped (duplicates, no plan), so its
        positions are not the metrics' rows."""
        label = self.recommended["plan"] if label is None else limits.text("label", label)
        evaluated = list(self._metrics["plan"])
        if label not in evaluated:
            raise InputError(f"label {label!r} is not a candidate this sweep evaluated: one of "
                             f"{', '.join(map(repr, evaluated))}")  # fmt: skip
        return next(c.plan for c in self.candidates.candidates if c.label == label and c.plan is not None)

    def candidates_frame(self) -> pd.DataFrame:
        """Every candidate the sweep made, in the order made, one row each: ``label``, ``origin``
        (forecast, proposal, stochastic, stress, robust, policy, planned, variation), ``status``,
        ``evaluated`` (whether it made a plan: a row of :attr:`metrics`), ``why_dropped`` (in words,
        as the terminal's "dropped" list; '' for one evaluated), ``forecast_npv_usd`` (its NPV on the
        forecast, USD), ``liquidity_buffer_usd`` (the cash buffer it runs with, USD; NaN: the
        model's), ``gap`` (its solve's relative gap) and ``note``: what `fleetopt sweep` prints as
        "N candidates made, M evaluated, K dropped"."""
        return pd.DataFrame([{
            "label": c.label, "origin": c.origin, "status": c.status, "evaluated": c.has_plan,
            "why_dropped": "" if c.has_plan else c.dropped_reason, "forecast_npv_usd": c.forecast_npv_usd,
            "liquidity_buffer_usd": c.liquidity_buffer_usd, "gap": c.gap, "note": c.note,
        } for c in self.candidates.candidates]).astype(dict.fromkeys(
            ("forecast_npv_usd", "liquidity_buffer_usd", "gap"), float))  # fmt: skip

    def plan_frame(self, label: str | None = None) -> pd.DataFrame:
        """That plan's decisions, one row per quarter and item (as ``SolveResult.plan_frame()``)."""
        return plan_frame(self.data, self.plan(label))

    def statements_frame(self, label: str | None = None) -> pd.DataFrame:
        """That plan's quarterly statements on the forecast, as ``SolveResult.statements_frame()``
        (the plan as made: a candidate's cash buffer, a policy, acts only in its evaluation)."""
        return plan_statements(self.data, self.plan(label)).frame(self.data.quarter_labels)

    def headline(self, label: str | None = None) -> dict:
        """That plan's key figures on the forecast, as ``SolveResult.headline()`` (keys and units:
        :func:`fleetopt.core.results.headline.headline`)."""
        plan = self.plan(label)
        return headline(self.data, plan, plan_statements(self.data, plan))

    def headline_frame(self, label: str | None = None) -> pd.DataFrame:
        """That plan's :meth:`headline` for people, as ``SolveResult.headline_frame()``."""
        return headline_frame(self.headline(label))

    def debt_frame(self, label: str | None = None) -> pd.DataFrame:
        """That plan's facilities, their terms and year-end balances on the forecast, as
        ``SolveResult.debt_frame()``."""
        return debt_frame(self.data, plan_statements(self.data, self.plan(label)))

    @property
    def recommended(self) -> pd.Series:
        """The rule's pick: its row of the metrics as computed (``["plan"]`` its label, for
        :meth:`plan` and :meth:`plan_frame`; money in USD, probabilities in [0, 1])."""
        return self._metrics.iloc[self.pick]

    @property
    def forecast_optimum(self) -> pd.Series | None:
        """The forecast optimum's row of the metrics as computed (origin "forecast"; None where the
        sweep has none)."""
        return forecast_optimum_row(self._metrics)

    def why(self, folder: str | Path | None = None) -> str:
        """Why the recommended plan was chosen over the forecast optimum, the points of
        :meth:`why_points` in one paragraph (summary.json's ``why``, the report's)."""
        return " ".join(self.why_points(folder))

    def why_points(self, folder: str | Path | None = None) -> list[str]:
        """Why the recommended plan was chosen over the forecast optimum, a point to a topic: the
        rule's choice, the candidates it passed over, the risk the pick leaves, how sure it is (the
        terminal prints one a line: as one paragraph they ran to 1,500 characters); ``folder``:
        where it is written, which a close lead's settle command names (None: its job folder; a
        re-ranking has none)."""
        return [*self.why_before_lead(), *points_given([self._lead_words(folder)])]

    def why_before_lead(self) -> list[str]:
        """The points of :meth:`why_points` before the last, how sure the pick is (summary.json's
        ``why_before_lead``: the report gives that last point in its "In short")."""
        rec, opt = self.recommended, self.forecast_optimum
        same = rec["plan"] == opt["plan"]
        chosen = (f"The forecast optimum is also the rule's pick ({self.rule.describe()})." if same
                  else self._changes_from_optimum())  # fmt: skip
        # the pick without its first pick's orders says what it is first; passed over, after those orders
        without, picked = self._without_orders_words(), self.recommended.get("origin") == WITHOUT_ORDERS
        points = [chosen, self._rule_changed(), without if picked else ""]
        points += [self._outside_forecast_limits(), self._better_but_excluded()]
        if not same:
            points += self._optimum_missed_and_rises()
        points += [self._buffer_kept_by_cancelling(), "" if picked else without, self._risk_left()]
        return points_given(points)

    def _rule_changed(self) -> str:
        """'The rule changed since this sweep was made (...): the pick is the same by that rule.', or
        the plan that rule would pick among these candidates and the condition it misses now; ''
        where it did not change (:attr:`rule_then`)."""
        then = self.rule_then
        if then is None:
            return ""
        at = self._pick_then
        if at is None or at == self.pick:  # None cannot be: that rule is the looser, met by the pick
            return f"{then.words()}: the pick is the same by that rule."
        missed = ", ".join(conditions_missed(self._metrics, self.rule, at))
        return f"{then.words()}: by that rule the pick would be {self._metrics['plan'].iloc[at]} ({missed})."

    @property
    def _pick_then(self) -> int | None:
        """The row the rule of :attr:`rule_then` picks among these candidates (None: no such rule)."""
        then = self.rule_then
        return None if then is None else pick_keeping(self._metrics, self.rule, then.risks)

    def _changes_from_optimum(self) -> str:
        """'Chosen by the rule (...): against the forecast optimum it changes mean NPV by ...'."""
        rec, opt = self.recommended, self.forecast_optimum
        if self.rule.by_cost:
            changes = cost_changes(opt, rec)
            return f"Chosen by the rule ({self.rule.describe()}): against the forecast optimum {changes}."
        p5 = (f"P5 NPV (the rule's figure) by {format_usd_change(rec['npv_p5_usd'] - opt['npv_p5_usd'])}, "
              if self.rule.prefer == "p5" else "")  # fmt: skip
        liquidity = LIMIT_WORDS["default_probability"][1]
        return (
            f"Chosen by the rule ({self.rule.describe()}): against the forecast optimum it changes "
            f"{MEAN_NPV_LABEL} by {format_usd_change(rec['npv_mean_usd'] - opt['npv_mean_usd'])}, "
            f"{CVAR5_NPV_LABEL} by "
            f"{format_usd_change(rec['npv_cvar5_usd'] - opt['npv_cvar5_usd'])}, {p5}"
            f"{moved_words('breach probability', opt['breach_probability'], rec['breach_probability'])}, "
            f"{moved_words(liquidity, opt['default_probability'], rec['default_probability'])}"
            f"{either_default_moved(opt, rec)} (each change of the unrounded figures, so it may differ "
            "from the table's rounded ones by a unit)."
        )

    def _optimum_missed_and_rises(self) -> list[str]:
        """Why a pick worse on the rule's own figure than the optimum was chosen (the optimum misses
        the rule), and each risk the rule did not limit that the pick raises a lot."""
        rec, opt = self.recommended, self.forecast_optimum
        out = []
        missed = limits_missed(opt, self.rule)
        if missed:
            out.append(f"The forecast optimum itself misses the rule: {', '.join(missed)}.")
        for column in optimum_risks(self._metrics):
            name = column.removesuffix("_probability")
            rise = rec[column] - opt[column]
            if rise > RISE_WORTH_SAYING and getattr(self.rule, f"max_{name}_prob") is None:
                out.append(
                    f"No limit was set on the {LIMIT_WORDS[column][1]} (--allow-riskier), which it raises "
                    f"by {format_difference(rise, 'share').removeprefix('+')}: "
                    f"--max-{name.replace('_', '-')}-prob would cap it."
                )
        return out

    def _lead_words(self, folder: str | Path | None = None) -> str:
        """How sure the pick is (:func:`lead_words`, its command naming ``folder``, else the job
        folder); '' where it was not measured."""
        if self.lead is None:
            return ""
        pick = float(self.recommended[rank_column(self.rule.prefer)])
        n = self.evaluation.n_scenarios
        folder = self.job_folder if folder is None else folder
        return lead_words(self.lead, self.rule.prefer, n, pick, len(self._metrics) > 1, self.evaluation.seed,
                          folder, self.breach_limit(), vars(self.rule))  # fmt: skip

    def best_mean_words(self) -> str:
        """:func:`best_mean_words` of this sweep's :attr:`best_mean` ('' where there is none)."""
        return best_mean_words(self.best_mean, self.rule.prefer, self.evaluation.n_scenarios)

    def breach_limit(self) -> float | None:
        """The rule's limit on P(breach) in force: the lower of the user's --max-breach-prob and, where
        the rule keeps risks at the forecast optimum's, that plan's P(breach) on these scenarios;
        None where neither holds."""
        limits = [self.rule.max_breach_prob]
        optimum = self.forecast_optimum
        if self.rule.no_riskier_than_optimum and optimum is not None:
            limits.append(float(optimum["breach_probability"]))
        known = [limit for limit in limits if limit is not None]
        return min(known) if known else None

    def _better_but_excluded(self) -> str:
        """' Better on CVaR5 NPV but outside the rule, with P(covenant breach) above the forecast
        optimum's 67.0%: yours: orders.csv (96.0%); with P(liquidity default) above 30.0%: B (31.0%).'
        where the rule's conditions, not its figure, made the pick: "best CVaR5 among plans with ..."
        read as the best CVaR5 of all (from a capacity planner's review)."""
        metrics, score = self._metrics, rank_score(self._metrics, self.rule.prefer)
        pick = float(score[self.pick])
        better = score > pick + tie_margin(pick)
        # not those the sentences around it name: breaching on the forecast, the optimum missing the rule
        if self.rule.forecast_within_limits and FORECAST_OK in metrics:
            better &= metrics[FORECAST_OK].to_numpy(dtype=bool)
        if limits_missed(self.forecast_optimum, self.rule):
            better &= (metrics["plan"] != self.forecast_optimum["plan"]).to_numpy()
        # nor a buffer that never acted: the plan it was added to, its figures the same, stands for it
        # (it listed the forecast optimum's copies where the next sentence names the optimum)
        better &= ~self._idle
        groups = missed_by_condition(metrics, self.rule, np.flatnonzero(better))
        if not groups:
            return ""
        said = "; ".join(f"with {conditions}: {'; '.join(plans)}" for conditions, plans in groups.items())
        return f" Better on {rank_words(self.rule.prefer)} but outside the rule, {said}."

    def _buffer_kept_by_cancelling(self) -> str:
        """' Run with its $3.49B cash buffer it defers an order in 100.0% of the scenarios ...' where
        the pick's policy cancels orders in more than CANCELLING_WORTH_SAYING of them: a reader takes
        "cash buffer" for cash kept, where a buffer the plan's own forecast never keeps is kept by
        deferring and cancelling the plan's GPU orders (docs/evaluation.md, "Policy"); then the orders
        it cancels in nearly every scenario (:attr:`orders_cancelled`). With no buffer ("Its policy
        defers ...") it says what the policy did without a buffer to keep: "its $0 cash buffer" read
        as a buffer kept."""
        rec = self.recommended
        if not self._cancels_often():
            return ""
        again = rec["origin"] == WITHOUT_ORDERS  # by its origin, as _without_orders_words finds it
        said = "" if self._cancelled is None else cancelled_orders_words(self._cancelled, again)
        buffer = self._buffer(rec["plan"])
        if buffer > 0:
            who, why = f"Run with its {format_usd(buffer)} cash buffer it", "the buffer is kept by buying"
        else:  # no buffer to keep: policy rule 0 defers where cash would fall below the minimum
            who, why = "Its policy", "it keeps cash above the treasury minimum by buying"
        return (
            f" {who} defers an order in {format_percent(float(rec['deferred_share']))} of the scenarios "
            f"({format_usd(float(rec['deferred_capex_mean_usd']))} of GPU capex on average, at the prices "
            f"planned) and cancels one in {format_percent(float(rec['order_cancelled_share']))}, forfeiting "
            f"{format_usd(float(rec['forfeited_deposits_mean_usd']))} of deposits on average: {why} "
            "fewer GPUs than the plan orders." + said
        )

    def _without_orders_words(self) -> str:
        """What the plan without the orders the first pick almost never takes gives against that pick
        (:func:`~fleetopt.sweep.candidates.without_orders`): why the rule picked it, or passed it over;
        '' where the sweep evaluated none."""
        made = self._metrics[self._metrics["origin"] == WITHOUT_ORDERS]["plan"]
        if made.empty:  # none made, or dropped: the list of candidates dropped says why
            return ""
        label = str(made.iloc[0])
        of = label.removesuffix(WITHOUT_ORDERS_WORDS)
        rows = self._metrics.set_index("plan")
        it, pick = rows.loc[label], rows.loc[of]
        changes = changes_against(pick, it)
        if self.recommended["plan"] == label:
            return (f" It is {of}, the rule's first pick, without the GPU orders that plan's policy cancels "
                    f"whole in nearly every scenario, run with the same buffer: against it, {changes}.")
        at = int(np.flatnonzero(self._metrics["plan"] == label)[0])
        missed = conditions_missed(self._metrics, self.rule, at)
        column, worse = rank_column(self.rule.prefer), "higher" if self.rule.by_cost else "lower"
        why = ", ".join(missed) if missed else (
            f"its {rank_words(self.rule.prefer)} is {worse} ({format_usd(it[column])})")
        return (f" The same plan without those orders ({label}), run with the same buffer, changes "
                f"{changes}; the rule passed it over: {why}.")

    def _cancels_often(self) -> bool:
        """Whether the pick's policy cancels an order in more than CANCELLING_WORTH_SAYING of the
        scenarios."""
        return cancels_often(self.recommended)

    @property
    def orders_cancelled(self) -> tuple[CancelledOrder, ...]:
        """The pick's GPU orders its policy cancels in at least 95 % of the scenarios (the first 10,000
        at most; :func:`~fleetopt.sweep.cancelled.nearly_always_cancelled`): summary.json's
        ``recommended_orders_cancelled``. Empty where it cancels an order in at most half of them (not
        looked for) or the sweep ran on the forecast alone."""
        return () if self._cancelled is None else self._cancelled.orders

    @cached_property
    def _cancelled(self) -> CancelledOrders | None:
        """The pick's orders cancelled in nearly every scenario (None: not looked for), found once: the
        terminal, summary.json and the report each read :meth:`why_points`."""
        if not self._cancels_often() or self.evaluation.seed is None:
            return None
        label = self.recommended["plan"]
        if self.found_cancelled is not None and self.found_cancelled[0] == label:  # found as it was made
            return self.found_cancelled[1]
        return nearly_always_cancelled(self.data, self.plan(label), self._buffer(label),
                                       self.evaluation.seed, self.evaluation.n_scenarios)  # fmt: skip

    def _risk_left(self) -> str:
        """' It still breaches a covenant in 83.7% of the scenarios; the lowest of any candidate is
        61.2% (milp: half leverage).' where the pick breaches or defaults (either kind) in half the
        futures or more:
        a pick must not read as safe; and that its mean NPV is negative where it is (a pick must not
        read as worth doing: none of the candidates is "do nothing")."""
        out = self._loss_left()
        for name, what in RISKS_LEFT:
            if f"{name}_probability" not in self._metrics:
                continue  # a sweep's older metrics without P(any default)
            column = self._metrics[f"{name}_probability"]
            p = float(self.recommended[f"{name}_probability"])
            if p < RISK_WORTH_SAYING:
                continue
            out += f" It still {what} in {format_percent(p)} of the scenarios"
            lowest = float(column.min())
            if lowest >= p:
                out += ", the lowest of any candidate."
            else:
                least = self._metrics.loc[column.idxmin(), "plan"]
                out += f"; the lowest of any candidate is {format_percent(lowest)} ({least})."
        return out

    def _loss_left(self) -> str:
        """' Its mean NPV is negative (-$23.5M; a loss in 79.3% of the scenarios), as is every
        candidate's.' where the pick's mean NPV is below 0 (not of a cost sweep's plans: their market
        revenue is the value of a lab's own use, which no one pays)."""
        mean = float(self.recommended["npv_mean_usd"])
        if mean >= 0 or self.rule.by_cost:
            return ""
        every = ", as is every candidate's" if (self._metrics["npv_mean_usd"] < 0).all() else ""
        loss = format_percent(float(self.recommended["loss_probability"]))
        return f" Its mean NPV is negative ({format_usd(mean)}; a loss in {loss} of the scenarios){every}."

    def _outside_forecast_limits(self) -> str:
        """' Not considered, as they breach a covenant or default on the forecast itself: ...', or,
        where the rule allowed them, whether the pick is one."""
        if FORECAST_OK not in self._metrics:
            return ""
        if not self.rule.forecast_within_limits:
            if self.recommended[FORECAST_OK]:
                return ""
            return (
                " It breaches a covenant or defaults on the forecast itself (allowed by "
                "--allow-forecast-breach): a lender would not sign it as it stands."
            )
        out = [self._also_missed(at) for at in np.flatnonzero(~self._metrics[FORECAST_OK].astype(bool))]
        if not out:
            return ""
        return (
            f" Not considered, as they breach a covenant or default on the forecast itself: {', '.join(out)} "
            "(--allow-forecast-breach considers them)."
        )

    def _also_missed(self, at: int) -> str:
        """The label of the candidate in row ``at`` (one breaching on its own forecast), with the rule's
        other conditions it misses: 'milp: forecast, cash buffer $60.0M (also P(covenant breach) 100.0% above
        the forecast optimum's 87.5%)'. Unsaid, --allow-forecast-breach read as enough to admit it."""
        label = str(self._metrics["plan"].iloc[at])
        others = conditions_missed(self._metrics, self.rule, at)[1:]  # the forecast's breach comes first
        return f"{label} (also {', '.join(others)})" if others else label

    def _lead_fields(self) -> dict:
        """summary.json's runner-up and the pick's lead over it (USD, with its paired standard
        error; null where there is none)."""
        lead = self.lead or Lead(None)
        known = lead.runner_up is not None
        return {"runner_up": lead.runner_up, "runner_up_lead_usd": lead.amount if known else None,
                "runner_up_lead_se_usd": lead.se if known else None,
                "rule_breach_limit": self.breach_limit()}  # fmt: skip

    def _rule_before(self) -> dict:
        """summary.json's ``rule_before``, where the sweep re-ranked kept fewer risks at the forecast
        optimum's (:attr:`rule_then`): the fleetopt that made it, those risks and the plan its rule
        picks among these candidates; {} where its rule did not change."""
        then, at = self.rule_then, self._pick_then
        if then is None:
            return {}
        pick = None if at is None else str(self._metrics["plan"].iloc[at])
        return {"rule_before": {"fleetopt_version": then.made_by, "optimum_risks": list(then.risks),
                                "recommended": pick}}  # fmt: skip

    def _buffer(self, label: str) -> float:
        """The policy buffer a candidate runs with, USD (the model's unless the sweep set one)."""
        own = next(c.liquidity_buffer_usd for c in self.candidates.feasible if c.label == label)
        return float(self.data.policy.liquidity_buffer_usd if own is None else own)

    def summary(self, folder: str | Path | None = None) -> dict:
        """summary.json's content (docs/evaluation.md, "What a sweep writes"); ``folder``: where it is
        written, which :meth:`why` names in full (`runs show` and the report read it anywhere)."""
        rec = self.recommended
        return {
            "fleetopt_version": __version__,
            "kind": "sweep",
            "model_name": self.loaded.model.name,
            **self.loaded.origin_record,
            "model_hash": self.loaded.content_hash,
            **self.loaded.basis_record,
            "n_scenarios": self.evaluation.n_scenarios,
            "seed": self.evaluation.seed,
            "backend": self.evaluation.backend,
            "device": self.evaluation.device,
            "candidates_tried": len(self.candidates.candidates),
            "candidates_feasible": len(self._metrics),
            "rule": self.rule.describe(),
            "rule_settings": vars(self.rule),  # what a re-ranking starts from (rerank_sweep)
            "objective": self.rule.objective,  # what the candidates were solved for
            # and the solve its second round's planned buffers are solved with
            "mip_gap": self.solve_settings["mip_gap"],
            TIME_LIMIT_KEPT: self.solve_settings["time_limit"],
            **self.stochastic_settings,
            # a re-ranking: the sweep it re-ranked, and the new pick's planned buffers it solved
            **({} if self.reranked_from is None else {"reranked_from": str(self.reranked_from),
                                                      "rerank_solved": self.solved_now,
                                                      "rerank_left_out": self.left_out}),
            **self._rule_before(),
            "recommended": rec["plan"],
            "recommended_liquidity_buffer_usd": self._buffer(rec["plan"]),
            "recommended_orders_cancelled": [asdict(order) for order in self.orders_cancelled],
            "forecast_optimum": self.forecast_optimum["plan"],
            "why": self.why(None if folder is None else Path(folder).absolute()),
            "why_before_lead": self.why_before_lead(),  # the report's Recommendation: "In short" has the lead
            **self._lead_fields(),
            BEST_MEAN_KEY: self.best_mean,
            "npv_usd": float(rec["forecast_npv_usd"]),
            "npv_mean_usd": float(rec["npv_mean_usd"]),
            "npv_cvar5_usd": float(rec["npv_cvar5_usd"]),
            "breach_probability": float(rec["breach_probability"]),
            "default_probability": float(rec["default_probability"]),
            # beside the liquidity default, the defaults lenders count (`runs show` gave the first
            # alone); a re-ranked sweep before fleetopt 0.4.14 has none
            **({"any_default_probability": float(rec["any_default_probability"])}
               if "any_default_probability" in rec else {}),
            **({column: float(rec[column]) for column in COST_FIGURES} if self.rule.by_cost else {}),
            "front": self._metrics[self._metrics["on_front"]]["plan"].tolist(),
            # the rule's first pick run with larger cash buffers, made after it was picked
            "second_round": [c.label for c in self.candidates.feasible
                             if c.second_round and c.origin in BUFFER_ORIGINS],
            # the first pick without the orders it almost never takes (None: not made)
            "without_orders": next(
                (c.label for c in self.candidates.candidates if c.origin == WITHOUT_ORDERS), None
            ),
            "dropped": [
                {"plan": c.label, "status": c.status, "why": dropped_words(c)}
                for c in self.candidates.candidates
                if c.plan is None
            ],
            # --purchases: each procurement plan of yours, what it holds and whether it was evaluated
            "proposals": [
                {"plan": c.label, "note": c.note, "status": c.status}
                for c in self.candidates.candidates
                if c.origin == "proposal"
            ],
        }


def write_sweep_run(result: SweepResult, out: str | Path | None = None) -> Path:
    """Write plans.npz, candidates.csv, front.csv, summary.json and model.yaml into the run folder
    (the folder the sweep saved its candidates and chunks in, a new one, or None: a new default one)."""
    loaded = result.loaded
    folder = RunFolder.to_write(out, "sweep", loaded.model.name)
    metrics = result._metrics  # as computed, read only here
    front = metrics[metrics["on_front"]]
    files = {
        # a sweep's job folder holds its first round's: the second round's are added, plans first
        RunFolder.PLANS: plans_file(loaded, result.data, result.candidates),
        RunFolder.CANDIDATES: candidate_list(result.candidates),
        RunFolder.CANDIDATES_CSV: csv_text(metrics),
        RunFolder.FRONT: csv_text(front),
        RunFolder.SUMMARY: json_text(result.summary(folder.path)),
    }
    return folder.finish(files, known_at_start=lambda: {RunFolder.MODEL: loaded.text})
