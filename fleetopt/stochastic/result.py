"""A two-stage stochastic solve's result (:class:`StochasticResult`): its plans, measures and
scenarios, summary.json's content and its displays in a notebook."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import pandas as pd

from fleetopt.core.data import ModelData
from fleetopt.core.economics.statements import plan_statements
from fleetopt.core.notebook import markdown_table, markdown_text
from fleetopt.core.plan import Plan
from fleetopt.core.results.headline import headline, headline_frame
from fleetopt.core.results.tables import debt_frame, plan_frame
from fleetopt.core.units import counted, format_usd
from fleetopt.schema.loaded_model import LoadedModel
from fleetopt.stochastic.commitments import (
    COMMITMENT_COLUMNS,
    COMMITMENT_FIGURES,
    SHARED_COMMITMENTS,
    commitment_lines,
    commitment_rows,
    first_stage_commitments,
)
from fleetopt.stochastic.gap import gap_frame, optimality_gap_words
from fleetopt.stochastic.measures import vss_split
from fleetopt.stochastic.paired import (
    OUT_OF_SAMPLE_COLUMNS,
    OUT_OF_SAMPLE_FIGURES,
    out_of_sample_lines,
    out_of_sample_rows,
    out_of_sample_verdict_word,
    out_of_sample_words,
)
from fleetopt.stochastic.replications import (
    STABILITY_NAMES,
    STABILITY_SPREAD,
    stability_frame,
    stability_verdict,
)
from fleetopt.stochastic.rescues import rescue_counts
from fleetopt.stochastic.summary_words import first_stage_text

# the labels of a stochastic run's plans, in its plan file's order: the stochastic plan, the forecast optimum
PLAN_LABELS = (STOCHASTIC_PLAN, FORECAST_PLAN) = ("stochastic", "forecast")
# where a notebook display of a stochastic solve says to read next: its two tables in figures first, then
# the tables of a solve on several samples where it has them (``replicated``: REPLICATED_NEXT, GAP_NEXT)
STOCHASTIC_NEXT = ("Next: .out_of_sample_frame(), .commitments_frame() (these tables in figures), "
                   "{replicated}.summary(), .headline_frame(), .plan_frame(), .statements_frame(), "
                   ".debt_frame()")
REPLICATED_NEXT = ".replications_frame() (each decision in each sample), "
GAP_NEXT = ".gap_frame() (each fresh scenario's value), "


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
    # the solve on other scenario samples beside this one (--replications K > 1; None: none):
    # :func:`fleetopt.stochastic.replications.replications_record`
    replications: dict | None = None
    # each fresh scenario's row under the plan's first stage (--gap-scenarios M; None: none), which
    # gap_scenarios.csv writes: :func:`fleetopt.stochastic.gap.fresh_scenario_rows`
    gap_scenarios: list[dict] | None = None
    # the model file it was solved from, when the Python API loaded one (fleetopt.api.solve_stochastic)
    loaded: LoadedModel | None = field(default=None, repr=False, compare=False)

    def __repr__(self) -> str:  # a notebook shows this, not the plans' arrays and every scenario
        vss = self.measures.get("vss_usd")
        shown = "" if vss is None else f", VSS {format_usd(vss)}"
        verdict = out_of_sample_verdict_word((self.out_of_sample or {}).get("paired") or {})
        shown += "" if verdict is None else f", against the forecast optimum out of sample: {verdict}"
        return (
            f"StochasticResult({self.data.name!r}, {counted(len(self.scenarios), 'scenario')}{shown}; "
            ".commitments_frame(), .out_of_sample_frame(), .summary(), .plan_frame())"
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
        if parts := vss_split(self.measures):  # a VSS read as value where it was penalties avoided
            measures[0] += (f" ({format_usd(parts['vss_npv_usd'])} of expected NPV, "
                            f"{format_usd(parts['vss_penalty_usd'])} of rescue penalties avoided)")
        in_sample = f"In sample, over its reduced scenarios (not forecasts of value): {', '.join(measures)}"
        # None: solved from data alone, whose changes are not known
        changed = self.loaded.changed_line if self.loaded else ""
        changed_lines = [markdown_text(changed), ""] if changed else []  # a paragraph of its own
        commit_lines = ["What to commit to now:", "", markdown_table(commit), "", *self._replication_lines()]
        return "\n".join([title, "", *changed_lines, *self._out_of_sample_lines(), *commit_lines,
                          markdown_text(in_sample), "", self._next_line()])  # fmt: skip

    def _next_line(self) -> str:
        """Where to read next (:data:`STOCHASTIC_NEXT`), naming the frames of the replications and
        the gap's fresh scenarios where the solve made them."""
        replicated = (REPLICATED_NEXT if self.replications else "") + (GAP_NEXT if self.gap_scenarios else "")
        return STOCHASTIC_NEXT.format(replicated=replicated)

    def _replication_lines(self) -> list[str]:
        """Markdown: how stable the first stage is across the replications' samples (the verdict) and
        its optimality gap's estimate, as the terminal says them with a notebook's arguments; none for a
        solve of one sample."""
        record = self.replications
        if not record:
            return []
        verdict = stability_verdict(record["stability"], record["count"], self.settings["scenarios"],
                                    typed=False)  # fmt: skip
        lines = [f"{verdict[0].upper()}{verdict[1:]}."]
        if record.get("gap"):
            words = optimality_gap_words(record["gap"], self.settings, typed=False)
            lines.append(f"{words[0].upper()}{words[1:]}.")
        return [line for said in lines for line in (markdown_text(said), "")]

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
        words = out_of_sample_words(oos, self.settings["scenarios"], typed=False,
                                    weight=self.settings.get("risk_weight") or 0.0)  # a notebook's arguments
        headers = ["plan", *(header for _, _, header in OUT_OF_SAMPLE_COLUMNS)]
        table = pd.DataFrame(out_of_sample_lines(oos), columns=headers)
        return [f"**{markdown_text(head)}.** {markdown_text(words)}", "", markdown_table(table), ""]

    def out_of_sample_frame(self) -> pd.DataFrame:
        """The out-of-sample table the notebook shows, in figures: a row per plan ('stochastic plan',
        'forecast optimum') and the paired differences' ('stochastic less forecast (paired standard
        error)'); columns ``plan``, ``npv_mean_usd``, ``npv_cvar5_usd`` (USD), ``breach_probability``,
        ``default_probability``, ``any_default_probability`` (shares in [0, 1]) and, on the
        differences' row, each one's paired standard error (``npv_mean_usd_paired_se`` ...; NaN on a
        plan's row). No rows where the solve ran no out-of-sample check (out_of_sample=0)."""
        rows = out_of_sample_rows(self.out_of_sample or {})
        frame = pd.DataFrame(rows, columns=list(OUT_OF_SAMPLE_FIGURES))
        return frame.astype(dict.fromkeys(OUT_OF_SAMPLE_FIGURES[1:], float))

    def commitments_frame(self) -> pd.DataFrame:
        """What to commit to now, the table the notebook shows, in figures: a row per decision of the
        first stage either plan makes (:attr:`commitments`), and the GPUs bought in all last
        (decision ``buy_gpus_all``); columns ``quarter``, ``decision`` (plan.csv's: buy_gpus,
        retire, redeploy, build_power, contract_accepted, draw_debt, prepay_debt), ``item``,
        ``unit`` (the row's: GPUs, MW, USD; a contract 0/1), ``stochastic``, ``forecast_optimum``
        and ``difference`` (stochastic less forecast optimum), each in that unit."""
        frame = pd.DataFrame(commitment_rows(self.commitments), columns=list(COMMITMENT_FIGURES))
        return frame.astype(dict.fromkeys(COMMITMENT_FIGURES[4:], float))

    def replications_frame(self) -> pd.DataFrame:
        """How stable the first stage is across the replications' samples, as replications.csv holds it
        (``replications=K``): a row per first-stage decision, columns ``quarter``, ``decision``,
        ``item``, ``unit``, its amount in each sample (``seed_5`` ..., by the sample's scenario seed),
        ``mean``, ``min`` and ``max``, in the row's unit. No rows where the solve was of one sample."""
        if not self.replications:
            return pd.DataFrame(columns=[*STABILITY_NAMES, *STABILITY_SPREAD])
        return stability_frame(self.replications)

    def gap_frame(self) -> pd.DataFrame:
        """Each fresh scenario of the optimality gap's estimate (``gap_scenarios=M``), as
        gap_scenarios.csv holds it: ``scenario`` (its index, of the out-of-sample seed), ``value_usd``
        (its value under the plan's first stage: L is their mean), ``npv_usd`` and ``rescued``. No rows
        where no gap was estimated."""
        frame = gap_frame(self.gap_scenarios or [])  # the module's function, not this method
        return frame.astype({"scenario": int, "value_usd": float, "npv_usd": float, "rescued": bool})

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
            **vss_split(self.measures),
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
            **({} if self.replications is None else {"replications": self.replications}),
        }

    @cached_property
    def commitments(self) -> list[dict]:
        """:func:`first_stage_commitments` of this result (made once: summary() is read twice per run)."""
        quarters, shared = self.settings["first_stage_quarters"], self.settings.get("share_purchases")
        every_quarter = SHARED_COMMITMENTS if shared else ()
        return first_stage_commitments(self.data, self.plan, self.forecast_plan, quarters, every_quarter)
