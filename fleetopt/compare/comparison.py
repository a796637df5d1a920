"""A comparison of plans on common scenarios (`Comparison`): its tables, its verdict in a few words, its
notes, and how it is written (terminal, Markdown, CSV, JSON)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path

import numpy as np
import pandas as pd

from fleetopt.compare.figures import (
    AGAINST_PICK_COLUMNS,
    BETTER,
    BETTER_MEANS,
    COLUMN_HEADERS,
    COST_VERDICT,
    COSTS,
    DISCOUNTED,
    FIGURE_TABLES,
    FIGURE_UNITS,
    FIGURES,
    LENDERS_VIEW,
    MARKDOWN_TITLES,
    NO_PAIRED_ERROR,
    NOISE_MARK,
    NOT_APPLICABLE,
    NPV_FIGURES,
    NPV_NOT_COST,
    PAIRED_ERROR,
    PAIRED_SE_HEADER,
    RANKED,
    ROUND_OFF,
    SHARES_SERVED,
    SIDE_WORDS,
    TRADE_OFF,
    VERDICT,
    VERDICT_GLOSS,
    VERDICT_SIDES,
    YES_NO,
    is_cushion,
    is_difference_error,
    same_to_round_off,
)
from fleetopt.compare.labels import both_sides, difference_header
from fleetopt.compare.plan_figures import (
    BY_GENERATION_COLUMNS,
    AgainstPick,
    model_row_names,
    purchases_by_generation,
)
from fleetopt.core.data import ModelData
from fleetopt.core.metric_columns import (
    MEAN_NPV_LABEL,
)
from fleetopt.core.notebook import markdown_table, markdown_text
from fleetopt.core.results.cost import cost_plans_note
from fleetopt.core.results.headline import CVAR95_COST_LABEL, MEAN_COST_LABEL, P95_COST_LABEL
from fleetopt.core.results.valuation import basis_words, solve_figures
from fleetopt.core.units import (
    counted,
    figures_apart,
    format_count,
    format_difference,
    format_figure,
    format_mw,
    format_rate,
    format_usd,
    format_usd_change,
    quoted,
)
from fleetopt.errors import InputError, user_path
from fleetopt.evaluate.lead import Lead, lead_sentence, no_lead
from fleetopt.evaluate.metrics import (
    BOOTSTRAP_DRAWS,
    COST_RANK_COLUMNS,
    EVALUATION_RANK_COLUMNS,
    NO_ERROR,
    SAME,
    WITHIN,
    WORSE,
    judged_side,
    lower_first,
    paired_cost_error,
    paired_npv_error,
    rank_lead,
)
from fleetopt.runs import limits
from fleetopt.runs.file_text import json_text
from fleetopt.runs.files import write_text_atomic
from fleetopt.runs.output_files import COMMON_SCENARIO, WHAT_IF_SUBJECT, refuse_output_file
from fleetopt.schema.loaded_model import DISCOUNT_RATE, HORIZON_QUARTERS
from fleetopt.schema.model_changes import ModelChange, change_words, model_words
from fleetopt.sweep.recommendation import gives_up_words


@dataclass(frozen=True)
class ModelUsed:
    """The model a comparison evaluates every plan under, and why that one: the plans' figures
    (NPV on the forecast too) are those of this model, whichever model each plan was made from."""

    name: str
    hash: str
    source: str  # the file it was read from, in full, as a run's model_source
    chosen: str  # why this model: "the model given", "the first run folder's copy, ..."
    # the fields changed in it (fleetopt.api.edit), which the file does not say: a run's model_changes
    changes: tuple[ModelChange, ...] = ()
    # those the run whose model.yaml it is had made (LoadedModel.source_changes): the file is its model
    # as changed, which the file does not say either
    source_changes: tuple[ModelChange, ...] = ()

    def sentence(self, whom: str = "Every plan") -> str:
        """The model in a sentence; ``whom``: the plans evaluated under it (a what-if's first side
        alone: its second runs under the model changed)."""
        where = model_words(f"from {self.source}", self.changes, self.source_changes)
        return f"{whom} is evaluated under model '{self.name}' (hash {self.hash}, {where}): {self.chosen}."

    def as_dict(self) -> dict:
        changed = {"changes": change_words(self.changes)} if self.changes else {}
        if self.source_changes:
            changed["source_changes"] = change_words(self.source_changes)
        return {"name": self.name, "hash": self.hash, "source": self.source, **changed, "chosen": self.chosen}


def _written(text: str, path: str | Path | None) -> str | None:
    """``text``, or None once written whole to ``path`` (a file: replaced, never left half-written;
    as `fleetopt compare --out`, never a run's own file, a model or another file fleetopt did not
    write as a comparison)."""
    if path is None:
        return text
    path = user_path(limits.out_path("path", path))
    refuse_output_file(path, "comparison", "path")
    try:
        write_text_atomic(path, text, user_file=True)
    except OSError as exc:
        raise InputError(f"cannot write {path}: {exc.strerror or exc}") from None
    return None


def _against_pick_words(pair: AgainstPick) -> str:
    """'“C” against the sweep's pick “B”', as the table's title and its note name ``pair``."""
    return f"{quoted(pair.plan)} against the sweep's pick {quoted(pair.pick)}"


@dataclass
class Comparison:
    """Plans compared on common scenarios (:func:`fleetopt.api.compare`): ``labels`` (one per plan,
    the first the base of every difference), ``figures`` (figure key x plan: USD, shares in [0, 1],
    counts), the power used, GPUs held and purchases against the first plan (long tables), the
    scenarios and seed, and notes; written by :meth:`to_csv`, :meth:`to_json`, :meth:`to_markdown`."""

    labels: list[str]
    figures: pd.DataFrame  # index: figure key; columns: plans
    mw_used: pd.DataFrame  # long: plan, site, quarter, mw_used, mw_available
    gpus: pd.DataFrame  # long: plan, quarter, generation, gpus
    purchase_diff: pd.DataFrame  # long: plan, quarter, sku, site, gpus_vs_first_plan (vs the first plan)
    n_scenarios: int
    seed: int
    same: list[tuple[str, str]] = field(default_factory=list)  # pairs of identical plans (decisions, buffer)
    # pairs of plans with the same commitments (purchases, power, contracts) but not the same plan,
    # with the other decisions that differ, in words
    same_commitments: list[tuple[str, str, list[str]]] = field(default_factory=list)
    model: ModelUsed | None = None  # None: not known (compare_plans given a ModelData only)
    versions: list[str] = field(default_factory=list)  # plans made from another version of the model
    # plans made under another policy than the model's, which they run with here (policy_note)
    policies: list[str] = field(default_factory=list)
    # what each plan of a sweep's folder is to the sweep (its forecast optimum, its pick ...), a
    # sentence per sweep (sweep_roles): the labels do not say it
    roles: list[str] = field(default_factory=list)
    # what each plan of a sweep's or stochastic solve's folder is to it (label: its keys of SWEEP_ROLES,
    # plan_role_keys): the page draws each in its role's colour, as the run's report does
    role_keys: dict[str, list[str]] = field(default_factory=dict)
    runs: list[str] = field(default_factory=list)  # the run folder or plan file of each plan ([]: not known)
    # (plan, what it breaks on the forecast) of each plan that breaches a covenant or defaults there
    forecast_limits: list[tuple[str, str]] = field(default_factory=list)
    # a run whose own figures are of other scenarios than these (its plans' figures here are not those)
    scenario_notes: list[str] = field(default_factory=list)
    # the plans of solves for least cost: their NPV and cash value their own use at market prices
    cost_plans: list[str] = field(default_factory=list)
    # (plan, contracts it takes that the first plan does not, contracts the first takes that it does not)
    contract_differences: list[tuple[str, list[str], list[str]]] = field(default_factory=list)
    # (plans, scenarios) NPV of each plan on the common scenarios, USD (the HTML page's charts)
    npv_matrix: np.ndarray | None = field(default=None, repr=False)
    # (plans, scenarios) each pair's present cost, USD, where the plans are priced by it (cost plans)
    cost_matrix: np.ndarray | None = field(default=None, repr=False)
    # the model every plan is evaluated under (the HTML page's definitions give its levels)
    data: ModelData | None = field(default=None, repr=False)
    # a what-if (:func:`compare_what_if`): the change the second plan, the first one's plan, runs under
    what_if: str = ""
    # a what-if's changed model, which the second plan is evaluated under (None: not a what-if, or not
    # known), and its data (the HTML page's definitions give the levels of both)
    what_if_model: ModelUsed | None = None
    what_if_data: ModelData | None = field(default=None, repr=False)
    # why a what-if's changed model gives the plan the same figures (""; none, or not a what-if)
    what_if_inert: str = ""
    # each sweep's plan of highest mean NPV no worse than its forecast optimum against its pick, where
    # the pick is not the first plan (sweep_pick_pairs): what the pick gives up to it
    against_pick: list[AgainstPick] = field(default_factory=list)

    def __repr__(self) -> str:  # a notebook shows this, not every frame
        return (
            f"Comparison({counted(len(self.labels), 'plan')} on {counted(self.n_scenarios, 'scenario')} "
            f"of seed {self.seed}: {', '.join(map(repr, self.labels))}; .figures, .mw_used, .gpus, "
            ".purchase_diff)"
        )

    @staticmethod
    def has_difference(key: str, unit: str) -> bool:
        """Whether a figure has a difference to the first plan: not a standard error (the difference
        of two errors means nothing: the paired row is the difference's own), nor a yes/no."""
        return not (key.endswith(("_se_usd", "_paired_se")) or unit == YES_NO)

    @staticmethod
    def difference(key: str, values: list[float], unit: str, n: int = 1, base: int = 0) -> str:
        """Plan ``n``'s figure less the first's (less plan ``base``'s), signed; none where
        :meth:`has_difference` says so."""
        if not Comparison.has_difference(key, unit):
            return ""
        return format_difference(values[n] - values[base], unit)

    @staticmethod
    def error_cell(value: float, unit: str) -> str:
        """A paired standard error of a figure in ``unit`` as shown: of a difference of shares, in points;
        one too small for the cell's last digit is below it ("< 0.01 pp"), as "0.00 pp" reads as an error
        of nothing, the same difference in every scenario; one of round-off (:data:`ROUND_OFF`) is that."""
        value = 0.0 if 0 < value <= ROUND_OFF.get(unit, 0.0) else value
        return _below_last_digit(format_figure(value, "pp" if unit == "share" else unit), value, "< ")

    @staticmethod
    def cell(key: str, values: list[float], unit: str, n: int) -> str:
        """Plan ``n``'s figure as shown; the first plan's paired error (against itself) is —."""
        if is_difference_error(key):
            return NOT_APPLICABLE if n == 0 else Comparison.error_cell(values[n], unit)
        if unit == YES_NO:
            return "yes" if values[n] else "no"
        if is_cushion(key) and math.isfinite(values[n]) and values[n] < 0:  # the fall is behind it
            return f"breached ({format_figure(-values[n], unit)} short)"
        return format_figure(values[n], unit)

    def difference_shown(self, key: str, values: list[float], unit: str, n: int, base: int = 0) -> str:
        """:meth:`difference`, marked "(within 2 s.e.)" where :meth:`within_noise` says so; none (0) where
        it is round-off (:func:`same_to_round_off`: $0.50 of money read "+$1" beside "the same")."""
        text = self.difference(key, values, unit, n, base)
        if text and self._judged_side(key, n, base=base) == SAME:
            return format_difference(0.0, unit)
        return text + (NOISE_MARK if text and self.within_noise(key, n, base) else "")

    def within_noise(self, key: str, n: int, base: int = 0) -> bool:
        """Whether plan ``n``'s difference to the first in figure ``key`` is within two of its paired
        standard errors (the figures with one, :data:`PAIRED_ERROR`: mean, P5, CVaR5, the breach,
        uncured breach, default and any default probabilities, the other means over the scenarios):
        a difference the scenarios could give by chance, which a page must not call better or worse.
        An error of 0 is the same difference in every scenario, none of it chance (two plans that never
        default were "0.0 pp (within 2 s.e.)"). ``base``: against that plan, not the first (a sweep's
        pick, :attr:`against_pick`)."""
        return n != base and self._judged_side(key, n, base=base) == WITHIN

    def judged(self, key: str, n: int, base: int = 0) -> bool:
        """Whether plan ``n``'s difference to the first in figure ``key`` may be called better or worse
        (coloured): not within two paired standard errors (:meth:`within_noise`), nor without one where
        the figure has one (NaN: one scenario, or a CVaR5's tail of one scenario), nor the same (a money
        figure without an error within $1 of round-off), nor without a paired error where the figure is
        over the scenarios (:data:`NO_PAIRED_ERROR`: its difference may be chance). ``base``: against
        that plan, not the first."""
        return self.judgement(key, n, base) is not None

    def judgement(self, key: str, n: int, base: int = 0) -> str | None:
        """The side plan ``n``'s difference to plan ``base`` in figure ``key`` falls on where it may be
        called better or worse (:meth:`judged`); None where it may not."""
        if key in NO_PAIRED_ERROR:
            return None
        side = self._judged_side(key, n, needs_error=True, base=base)
        return None if side in (WITHIN, NO_ERROR, SAME) else side

    def _judged_side(self, key: str, n: int, needs_error: bool = False, base: int = 0) -> str:
        """:func:`judged_side` of plan ``n``'s difference to the first (to plan ``base``) in figure
        ``key``, with its paired standard error (none for a plan against itself) and its better direction."""
        diff = float(self.figures.loc[key, self.labels[n]]) - float(self.figures.loc[key, self.labels[base]])
        higher = {"higher": True, "lower": False}.get(self.better(key))
        se = self._difference_se(key, n, base) if n != base else None
        unit = FIGURE_UNITS.get(key, "")
        if same_to_round_off(diff, se, unit):  # the difference and its error both round-off: no chance in it
            return SAME
        return judged_side(diff, se, higher, ROUND_OFF.get(unit, 0.0), needs_error=needs_error)

    def _difference_se(self, key: str, n: int, base: int = 0) -> float | None:
        """Plan ``n``'s paired standard error of figure ``key`` against the first plan, or against plan
        ``base``, a sweep's pick (:attr:`against_pick`) (NaN: none measured, one scenario); None where
        the figure has no such error."""
        error = PAIRED_ERROR.get(key)
        if error not in self.figures.index:
            return None
        if base == 0:
            return float(self.figures.loc[error, self.labels[n]])
        pick, plan = self.labels[base], self.labels[n]
        return next(p.errors[error] for p in self.against_pick if (p.pick, p.plan) == (pick, plan))

    def verdict_rows(self) -> list[tuple[str, str, str]]:
        """The (key, short name, unit) of the figures a finance reader asks for first (:data:`VERDICT`;
        a lab's, :data:`COST_VERDICT`), in the table's order (a lab's: what the plans cost and serve
        first)."""
        short = COST_VERDICT if self.cost_plans else VERDICT
        return [(key, short[key], FIGURE_UNITS[key]) for key in self.figures.index if key in short]

    def verdict(self, n: int, base: int = 0, glossed: bool = False) -> str:
        """Plan ``n`` against the first on the figures a finance reader asks for first (:data:`VERDICT`):
        each difference with two paired standard errors where it has them (how sure it is), and
        which are better, worse or within them ('"B" against "A" (± two paired standard errors): mean
        NPV +$559.6M ± $210.0M, CVaR5 NPV +$2.25B ± $0.61B, P(covenant breach) -3.8 pp ± 1.2 pp,
        P(liquidity default) -3.1 pp ± 1.0 pp; better in all four'). ``base``: against that plan, a
        sweep's pick (:attr:`against_pick`: '"C" against the sweep's pick "B" ...')."""
        shown = self.verdict_rows()
        parts, sides = [], {side: [] for side in VERDICT_SIDES}
        for key, name, unit in shown:
            values = [float(self.figures.loc[key, label]) for label in self.labels]
            error = self._two_errors(key, unit, n, base)
            gloss = f" ({VERDICT_GLOSS[key]})" if glossed and key in VERDICT_GLOSS else ""
            parts.append(f"{name}{gloss} {self._levels(key, values, unit, (n, base), error)}")
            sides[self._side(key, n, base)].append(name)
        said = [f"{side} {_which(names, len(shown))}" for side, names in sides.items() if names]
        trade_off = self._trade_off([key for key, _, _ in shown], n, base)
        sure = " (± two paired standard errors)" if any(" ± " in part for part in parts) else ""
        changed = f" (the model with {self.what_if})" if self.what_if else ""  # a what-if: its change
        against = quoted(self.labels[base])
        against = f"the sweep's pick {against}" if base else against
        plans = f"{quoted(self.labels[n])}{changed} against {against}{sure}"
        return f"{plans}: {', '.join(parts)}; " + "; ".join([*said, *trade_off])

    def _levels(self, key: str, values: list[float], unit: str, plans: tuple[int, int],
                error: str) -> str:  # fmt: skip
        """'$8.46B against $12.63B (-$4.17B ± $1.39B)': plan ``plans[0]``'s figure against plan
        ``plans[1]``'s, then their difference with ``error`` (two paired standard errors, as written);
        two that print the same but differ to the digits that tell them apart ('$0.612 against $0.605
        (+$0.007)': :func:`figures_apart`); the difference alone where either figure is not measured
        (NaN) or the figure has no level (a yes/no)."""
        n, base = plans
        if unit == YES_NO or not all(math.isfinite(values[m]) for m in plans):
            return self.difference(key, values, unit, n, base) + error
        apart = figures_apart if self._judged_side(key, n, base=base) != SAME else _as_shown
        here, there, difference = apart(values[n], values[base], unit)
        return f"{here} against {there} ({difference}{error})"

    def _trade_off(self, read: list[str], n: int, base: int = 0) -> list[str]:
        """'a trade-off: it gives up $17.0M of mean NPV for +$33.8M of CVaR5 NPV', where plan ``n`` is
        better than plan ``base`` in one of mean NPV and CVaR5 NPV and worse in the other, each beyond
        its paired errors (:meth:`judgement`), in the sweep's words (:func:`gives_up_words`); else none.
        ``read``: the figures the verdict reads (a lab's reads its costs instead)."""
        pair = [key for key in TRADE_OFF if key in read]
        sides = {key: self.judgement(key, n, base) for key in pair}
        if len(pair) != 2 or None in sides.values() or len(set(sides.values())) != 2:
            return []  # a figure not judged; or better in both, or worse in both: no trade
        lost, gained = sorted(pair, key=lambda key: sides[key] != WORSE)
        figures = self.figures.loc[pair, [self.labels[n], self.labels[base]]].to_numpy(dtype=float)
        amounts = dict(zip(pair, abs(figures[:, 0] - figures[:, 1]), strict=True))
        trade = gives_up_words(format_usd(amounts[lost]), VERDICT[lost], format_usd_change(amounts[gained]),
                               VERDICT[gained])  # fmt: skip
        return [f"a trade-off: it {trade}"]

    def verdicts(self) -> list[str]:
        """:meth:`verdict` of each later plan against the first (the first of them saying what CVaR5
        is), then of each plan against its sweep's pick (:attr:`against_pick`), then the plans ranked
        (:meth:`rankings`): the "In short" of the terminal, the Markdown and the page."""
        return [*(self.verdict(n, glossed=n == 1) for n in range(1, len(self.labels))),
                *(self.verdict(*self.pick_at(pair)) for pair in self.against_pick),
                *self.rankings()]  # fmt: skip

    def rankings(self) -> list[str]:
        """Of three plans or more, for mean NPV and then CVaR5 NPV (plans solved for least cost: for
        mean and then CVaR95 present cost, lower first): the plans from the best down with their
        figures, and how sure the first place is, its lead over the runner-up against the paired
        standard error of that lead on the same scenarios, in the words of a sweep's pick and an
        evaluation's first plan (:func:`lead_sentence`): 'by mean NPV, “A” leads ($12.63B), then “C”
        ($9.10B), then “B” ($8.46B). It leads the runner-up, “C”, by $3.53B of mean NPV, against a
        standard error of the paired difference of $450M on the same 2,000 scenarios: beyond two
        standard errors, so these scenarios tell the two apart'. Each later plan's verdict is against
        the first alone, which left a reader of three plans to work out which of the later two is
        better. None for two plans, or where each scenario's figures are not known."""
        matrix, keys = ((self.cost_matrix, COST_RANK_COLUMNS.values()) if self.cost_plans
                        else (self.npv_matrix, RANKED))  # fmt: skip
        if len(self.labels) < 3 or matrix is None:
            return []
        return [self._ranking(key, matrix) for key in keys if key in self.figures.index]

    def _ranking(self, key: str, matrix: np.ndarray) -> str:
        """:meth:`rankings`' sentence of figure ``key`` (USD: an NPV's, higher better; a present cost's,
        lower better), ``matrix`` each plan's per-scenario NPV or present cost."""
        prefer = {column: name for name, column in EVALUATION_RANK_COLUMNS.items()}[key]
        cost = key in COST_RANK_COLUMNS.values()
        values = self.figures.loc[key, self.labels].to_numpy(dtype=float)
        sign = 1.0 if lower_first(prefer) else -1.0  # the best first: the lowest cost, the highest NPV
        order = sorted(range(len(values)), key=lambda m: (not math.isfinite(values[m]), sign * values[m]))
        error = paired_cost_error if cost else paired_npv_error
        first, second = order[:2]
        se = error(key, matrix[second], matrix[first])
        lead = Lead(self.labels[second], rank_lead(prefer, float(values[first]), float(values[second])), se)
        whom = f"the runner-up, {quoted(self.labels[second])}"
        sure = lead_sentence(lead, prefer, self.n_scenarios, float(values[first]), (whom, "neither leads"))
        tied = no_lead(lead, prefer, float(values[first]))  # a tie or round-off: the sentence after says so
        shown = [f"{quoted(self.labels[first])}{'' if tied else ' leads'} ({format_usd(values[first])})",
                 f"{quoted(self.labels[second])} ({format_usd(values[second])})"]
        for above, m in pairwise(order[1:]):  # below the runner-up: each against the plan above it
            se = error(key, matrix[above], matrix[m])
            gap = f"{format_usd(abs(values[above] - values[m]))}{_two_errors_of(se, 'USD')}"
            label, over = quoted(self.labels[m]), quoted(self.labels[above])
            behind = "dearer than" if cost else "below"
            shown.append(f"{label} ({format_usd(values[m])}, {gap} {behind} {over})")
        words = COST_VERDICT if cost else VERDICT
        return f"by {words[key]}, {', then '.join(shown)}.{sure.removesuffix('.')}"

    def pick_at(self, pair: AgainstPick) -> tuple[int, int]:
        """The positions of ``pair``'s plan and of its pick among the plans compared."""
        return self.labels.index(pair.plan), self.labels.index(pair.pick)

    def _two_errors(self, key: str, unit: str, n: int, base: int = 0) -> str:
        """' ± $210.0M': two of plan ``n``'s paired standard errors of figure ``key`` (in points for a
        share), against the first plan (plan ``base``), where it has a finite positive one; else ''."""
        return _two_errors_of(self._difference_se(key, n, base), unit)

    def _side(self, key: str, n: int, base: int = 0) -> str:
        """Which of the verdict's sides (:data:`VERDICT_SIDES`) plan ``n``'s difference in figure ``key``
        (to plan ``base``) falls on: none is called better or worse without a direction, a figure, or an
        error where the figure has one; a difference of 0 without an error to be within is the same."""
        return SIDE_WORDS[self._judged_side(key, n, base=base)]

    def better(self, key: str) -> str:
        """Which way figure ``key`` is better for the company (:data:`BETTER`); none for the costs
        (:data:`COSTS`) of plans that serve different shares of the demand, where less cost buys less,
        nor for the figures :data:`DISCOUNTED` where a what-if's sides discount at different rates, nor
        for the NPV's (:data:`NPV_FIGURES`) beside a plan solved for least cost: imputed, they decide
        nothing (:data:`NPV_NOT_COST`)."""
        if key in COSTS and self.serve_different_demand():
            return ""
        if key in NPV_FIGURES and self.cost_plans:
            return ""
        if key in DISCOUNTED and self.discount_rates() is not None:
            return ""
        return BETTER.get(key, "")

    def better_words(self, key: str) -> str:
        """:meth:`better` as a table for people says it (:data:`BETTER_MEANS`): a yes/no figure's
        better answer ("no"), none where every plan gives the same; a lenders' figure
        (:data:`LENDERS_VIEW`) "lower, for lenders"."""
        better = self.better(key)
        if better and FIGURE_UNITS[key] == YES_NO:
            answers = {bool(self.figures.loc[key, label]) for label in self.labels}
            return "" if len(answers) == 1 else {"lower": "no", "higher": "yes"}[better]
        return f"{better}, for lenders" if better and key in LENDERS_VIEW else better

    def discount_rates(self) -> tuple[float, float] | None:
        """A what-if's two discount rates (a year), where they differ; else None."""
        if self.data is None or self.what_if_data is None:
            return None
        rates = (self.data.discount_rate_annual, self.what_if_data.discount_rate_annual)
        return rates if rates[0] != rates[1] else None

    def _discount_words(self) -> str:
        first, second = (format_rate(rate) for rate in self.discount_rates())
        return (f"The two sides discount at different rates ({first} and {second} a year): their NPVs and "
                "present costs differ by the rate as well as by what the change does to the plan, so "
                "they are called neither better nor worse.")  # fmt: skip

    def serve_different_demand(self) -> bool:
        """Whether the plans serve different shares of the market demand, on the forecast or over the
        scenarios (a plan solved for a larger demand serves all of the forecast's, as the cost optimum
        does, and more of the scenarios' where demand runs above it)."""
        return any(self._different_shares(key) for key, _ in SHARES_SERVED)

    def _different_shares(self, key: str) -> bool:
        if key not in self.figures.index:
            return False
        served = self.figures.loc[key].to_numpy(dtype=float)
        served = served[np.isfinite(served)]
        return bool(served.size and served.max() - served.min() > ROUND_OFF["share"])

    def _shares_words(self, key: str, where: str) -> str:
        shares = self.figures.loc[key]
        served = ", ".join(f"{quoted(label)} {share}" for label, share in zip(self.labels, _distinct_shares(
            [float(shares[label]) for label in self.labels]), strict=True))  # fmt: skip
        return (f"The plans serve different shares of the market demand {where} ({served}): their present "
                "costs buy different amounts of compute and do not rank them.")

    def differs(self, n: int = 1) -> bool:
        """Whether plan ``n`` differs from the first in any figure with a difference
        (:meth:`has_difference`: not the errors, which the first plan has none of against itself)."""
        keys = [key for key in self.figures.index if self.has_difference(key, FIGURE_UNITS[key])]
        first, other = (self.figures.loc[keys, self.labels[m]].to_numpy(dtype=float) for m in (0, n))
        return not np.array_equal(first, other, equal_nan=True)

    def subject(self) -> str:
        """What is compared, as a title says it: "3 plans", a what-if's "one plan under two models"."""
        return WHAT_IF_SUBJECT if self.what_if else counted(len(self.labels), "plan")

    def title(self) -> str:
        """The figures' title, as the terminal and the page write it: "3 plans on 1,000 common scenarios
        (seed 0)" (a file compare wrote is known by it: runs/output_files.py COMPARISON_TITLE)."""
        return f"{self.subject()} on {counted(self.n_scenarios, COMMON_SCENARIO)} (seed {self.seed})"

    def basis(self) -> str:
        """' over the horizon's 28 quarters (NPV: equity cash flows and terminal equity at 15% a year,
        USD)': what every figure is counted over and the NPVs' discount rate (a what-if's two, where
        they differ), said once beside the title (the terminal gave neither), a present cost's first
        where plans solved for least cost are compared (their rows lead: it was said to be an NPV);
        '' where the model is not known."""
        if self.data is None:
            return ""
        rates = self.discount_rates() or (self.data.discount_rate_annual,)
        figures = solve_figures("cost" if self.cost_plans else "npv")
        return f" {basis_words(self.data.T, *rates, figures=figures)}"

    def basis_record(self) -> dict:
        """The horizon (quarters) and annual discount rate of the figures, as a run's summary.json
        names them (and a what-if's own rate, ``what_if_discount_rate_annual``, null where not one):
        the CSV's and JSON's "about" (which gave a rate only for a what-if's two, the horizon never);
        nulls where the model is not known."""
        known = self.data is not None
        what_if = None if self.what_if_data is None else float(self.what_if_data.discount_rate_annual)
        return {HORIZON_QUARTERS: self.data.T if known else None,
                DISCOUNT_RATE: float(self.data.discount_rate_annual) if known else None,
                f"what_if_{DISCOUNT_RATE}": what_if}  # fmt: skip

    def difference_headers(self) -> list[str]:
        """'B − A' for every plan after the first A."""
        return [difference_header(label, self.labels[0]) for label in self.labels[1:]]

    @staticmethod
    def against_pick_title(pair: AgainstPick) -> str:
        """The title of ``pair``'s table (:meth:`against_pick_rows`)."""
        return f"{_against_pick_words(pair)}, on the same scenarios"

    @staticmethod
    def against_pick_header(pair: AgainstPick) -> str:
        """'C − B': the header of the difference of ``pair``'s plan C to its pick B."""
        return difference_header(pair.plan, pair.pick)

    def against_pick_rows(self, pair: AgainstPick) -> pd.DataFrame:
        """``pair``'s plan against its sweep's pick on the figures of :meth:`verdict`, as the tables for
        people show them: both plans' figures, the difference ('C − B', marked within 2 s.e. as the
        figures' columns are), its paired standard error (:attr:`AgainstPick.errors`) and which way
        is better."""
        n, base = self.pick_at(pair)
        rows = []
        for key, name, unit in self.verdict_rows():
            values = [float(self.figures.loc[key, label]) for label in self.labels]
            se = self._difference_se(key, n, base)
            rows.append({"figure": name, pair.pick: self.cell(key, values, unit, base),
                         pair.plan: self.cell(key, values, unit, n),
                         self.against_pick_header(pair): self.difference_shown(key, values, unit, n, base),
                         PAIRED_SE_HEADER: "" if se is None else self.error_cell(se, unit),
                         "better": self.better_words(key)})  # fmt: skip
        return pd.DataFrame(rows)

    def _against_pick_table(self) -> pd.DataFrame:
        """:meth:`against_pick_rows` as numbers (:data:`AGAINST_PICK_COLUMNS`, a row per pair and
        figure by its key; USD, shares in [0, 1]; no paired error: NaN), for the CSV and the JSON."""
        rows = []
        for pair in self.against_pick:
            n, base = self.pick_at(pair)
            for key, _, unit in self.verdict_rows():
                values = self.figures.loc[key, [self.labels[base], self.labels[n]]].to_numpy(dtype=float)
                se = self._difference_se(key, n, base)
                rows.append((pair.plan, pair.pick, key, unit, self.better(key), values[1] - values[0],
                             np.nan if se is None else se))  # fmt: skip
        return pd.DataFrame(rows, columns=list(AGAINST_PICK_COLUMNS))

    def notes(self) -> list[str]:
        """What a reader must know besides the figures: the model, identical plans, the paired error."""
        whom = quoted(self.labels[0]) if self.what_if else "Every plan"
        out = [] if self.model is None else [self.model.sentence(whom)]
        out += self.roles
        if self.what_if:
            out.append(self.what_if_words())
        if self.what_if_inert:
            out.append(f"Note: {self.what_if_inert}.")
        out += [f"Note: {note}; they are evaluated under the model above." for note in self.versions]
        out += [f"Note: {note}." for note in self.policies]
        out += [f"Note: {note}." for note in self.scenario_notes]
        if self.cost_plans:
            out.append(f"Note: {cost_plans_note(self.cost_plans)}.")
            if len(self.labels) > 1 and any(key in NPV_FIGURES for key in self.figures.index):
                out.append(f"{NPV_NOT_COST}.")
        out += [f"{_forecast_limit_words(*limit)}." for limit in self.forecast_limits]
        for key, where in SHARES_SERVED:
            if self._different_shares(key):
                out.append(self._shares_words(key, where))
        if self.discount_rates() is not None:
            out.append(self._discount_words())
        out += [self._same_plan_words(a, b) for a, b in self.same]
        out += [self._same_commitments_words(*pair) for pair in self.same_commitments]
        out += [self._contract_words(*row) for row in self.contract_differences]
        out += [f"{_against_pick_words(pair)} (its table, below): each figure of {quoted(pair.plan)} less "
                f"{quoted(pair.pick)}'s, with the standard error of that paired difference on the same "
                "scenarios, as each plan's against the first." for pair in self.against_pick]  # fmt: skip
        out.append(f"'{MEAN_NPV_LABEL} minus the first plan's': standard error of each plan's mean NPV less "
                   f"{quoted(self.labels[0])}'s on the same scenarios (the difference itself is in the "
                   f"'{difference_header('B', 'A')}' columns, a later plan B's figure less the first plan "
                   "A's, headed by the plans' labels in the terminal and the Markdown and by their letters "
                   "on the HTML page; each a difference of the unrounded figures, so "
                   "it may differ by one in the last digit from the difference of the rounded ones); "
                   f"P5's: the standard deviation of that difference over {BOOTSTRAP_DRAWS} resamples "
                   "of the scenarios; CVaR5's: that of the two plans' tail influence values; the "
                   "probabilities': that of the per-scenario 0/1 differences, in points; the other "
                   "means' (lowest cash, debt left uncovered, ...): that of the per-scenario "
                   "differences; the median and P95 NPV and the other figures over the scenarios without "
                   f"such a row have no paired error (docs/evaluation.md); {BETTER_MEANS}.")  # fmt: skip
        if PAIRED_ERROR["present_cost_mean_usd"] in self.figures.index:
            out.append(PAIRED_COST_NOTE)
        return out

    def what_if_words(self) -> str:
        """What a what-if comparison compares (:func:`compare_what_if`), in a sentence."""
        first, second = map(quoted, self.labels[:2])
        changed = self.what_if + ("" if self.what_if_model is None else f" (hash {self.what_if_model.hash})")
        return (f"What if: {second} is {first} run under the model with {changed}, on the same "
                "scenarios; every risk factor the change leaves alone draws the same numbers in both, so "
                "each difference is what the change does to the plan, and its error is paired.")  # fmt: skip

    def _contract_words(self, label: str, only_here: list[str], only_first: list[str]) -> str:
        parts = []
        if only_here:
            parts.append(f"takes {', '.join(only_here)}, which {quoted(self.labels[0])} does not")
        if only_first:
            parts.append(f"declines {', '.join(only_first)}, which {quoted(self.labels[0])} takes")
        return f"{quoted(label)} {' and '.join(parts)}."

    @staticmethod
    def _same_plan_words(a: str, b: str) -> str:
        return (f"{quoted(a)} and {quoted(b)} are the same plan (the same decisions and policy cash buffer): "
                "their figures are equal by construction.")  # fmt: skip

    @staticmethod
    def _same_commitments_words(a: str, b: str, what: list[str]) -> str:
        return (f"{quoted(a)} and {quoted(b)} buy the same GPUs, build the same power and take the same "
                f"contracts; they differ only in {'; '.join(what)}: their differences come from those, not "
                "from what they buy.")  # fmt: skip

    def purchases_by_generation(self) -> pd.DataFrame | None:
        """:func:`purchases_by_generation` of :attr:`purchase_diff`: what each later plan buys more or
        less of, the sites summed; None where the model is not known (its SKUs' generations)."""
        return None if self.data is None else purchases_by_generation(self.data, self.purchase_diff)

    def purchases_by_generation_shown(self) -> pd.DataFrame | None:
        """:meth:`purchases_by_generation` where the terminal and the HTML report show it; None where
        they do not: a what-if (one plan on both sides), no purchase differences (the table by SKU
        and site says so) or the SKUs' generations not known."""
        if self.what_if or self.purchase_diff.empty:
            return None
        return self.purchases_by_generation()

    def peak_mw_by_site(self) -> pd.DataFrame:
        """The most MW each plan draws at each site in any quarter (plan x site), for the terminal's
        table and the HTML page."""
        return self.mw_used.groupby(["plan", "site"])["mw_used"].max().unstack("site")

    def rows(self) -> list[tuple[str, str, str]]:
        """The (key, name, unit) of :data:`FIGURES` this comparison has, in its figures' order (a
        comparison with a plan solved for least cost has :data:`COST_FIRST` first), each covenant's
        named as the model tests it (:func:`covenant_figure_names`; a what-if's, as each side's does)
        and the first-year capex's with its quarters (:func:`first_year_names`)."""
        by_key = {figure[0]: figure for figure in FIGURES}
        names = {} if self.data is None else model_row_names(self.data)
        if names and self.what_if_data is not None:  # a what-if's covenant tested on another numerator
            theirs = model_row_names(self.what_if_data)
            sides = [quoted(label) for label in self.labels]
            names = {key: both_sides(name, theirs[key], *sides) for key, name in names.items()}
        rows = [by_key[key] for key in self.figures.index]
        return [(key, names.get(key, name), unit) for key, name, unit in rows]

    def tables(self) -> dict[str, pd.DataFrame]:
        """The comparison's tables by name: ``plan_runs`` (each plan's run), ``figures`` (a row per
        figure with its unit, which way is better, each plan's value and each difference from the
        first plan), ``against_pick`` (only where there is a pair, :attr:`against_pick`: each plan less
        its sweep's pick on the verdict's figures, with the paired error), ``mw_by_site``,
        ``gpus_by_generation``, ``purchases_by_generation`` (empty where the model is not known) and
        ``purchase_differences``."""
        figures = self.figures.copy()
        # each plan's figure less the first's, as numbers (the CSV's and the JSON's), where the tables
        # show a difference
        shown = [self.has_difference(k, FIGURE_UNITS[k]) for k in figures.index]
        first = figures[self.labels[0]].to_numpy(dtype=float)
        for header, label in zip(self.difference_headers(), self.labels[1:], strict=True):
            figures[header] = np.where(shown, figures[label].to_numpy(dtype=float) - first, np.nan)
        figures.insert(0, "unit", [FIGURE_UNITS[k] for k in figures.index])
        figures.insert(1, "better", [self.better(k) for k in figures.index])
        by_generation = self.purchases_by_generation()
        if by_generation is None:  # the SKUs' generations not known: the table, empty
            by_generation = pd.DataFrame(columns=list(BY_GENERATION_COLUMNS))
        picks = {"against_pick": self._against_pick_table()} if self.against_pick else {}
        return {
            "plan_runs": pd.DataFrame({"plan": self.labels, "run": self.runs or [""] * len(self.labels)}),
            "figures": figures.reset_index(names="figure"),
            **picks,
            "mw_by_site": self.mw_used,
            "gpus_by_generation": self.gpus,
            "purchases_by_generation": by_generation,
            "purchase_differences": self.purchase_diff,
        }

    def _repr_markdown_(self) -> str:
        """What a notebook cell shows: the figures and the notes (the long tables: :meth:`tables`)."""
        common = counted(self.n_scenarios, COMMON_SCENARIO)
        lines = [f"**Plan comparison** ({common}, seed {self.seed}){self.basis()}", ""]
        return "\n".join([*lines, *self._verdict_lines(), markdown_table(self._figure_rows()), "",
                          *_markdown_notes(self.notes()),
                          *self._against_pick_markdown(bold=True)])  # fmt: skip

    def _verdict_lines(self) -> list[str]:
        """Markdown: :meth:`verdicts`, then a blank line (none for one plan)."""
        said = [markdown_text(f"In short: {verdict}.") for verdict in self.verdicts()]
        return [*said, ""] if said else []

    def _against_pick_markdown(self, bold: bool = False) -> list[str]:
        """Markdown: each of :attr:`against_pick`'s tables under its title, a heading (``bold``: in bold,
        as a notebook's cell titles the comparison)."""
        lines = []
        for pair in self.against_pick:
            title = markdown_text(self.against_pick_title(pair))
            table = markdown_table(self.against_pick_rows(pair))
            lines += ["", f"**{title}**" if bold else f"## {title}", "", table]
        return lines

    def to_csv(self, path: str | Path | None = None) -> str | None:
        """One long CSV (written whole to ``path`` where given, else returned): '# about' (the
        model every plan is evaluated under, a note for each run whose plans were made from another
        version of it, the scenarios and seed, as item,value rows), then '# table' and the columns
        of each table. MW and GPU counts are rounded to 6 decimals (a sum's round-off,
        20.000000000000004 MW, is 20.0; the JSON keeps it)."""
        model = {} if self.model is None else {f"model_{k}": v for k, v in self.model.as_dict().items()}
        if self.what_if_model is not None:  # the model the what-if side is evaluated under
            model |= {f"what_if_model_{k}": v for k, v in self.what_if_model.as_dict().items()}
        versions = {f"model_version_note_{n + 1}": note for n, note in enumerate(self.versions)}
        versions |= {f"policy_note_{n + 1}": note for n, note in enumerate(self.policies)}
        versions |= {f"plan_roles_note_{n + 1}": note for n, note in enumerate(self.roles)}
        same = {f"same_plan_note_{n + 1}": self._same_plan_words(a, b) for n, (a, b) in enumerate(self.same)}
        committed = {f"same_commitments_note_{n + 1}": self._same_commitments_words(*pair)
                     for n, pair in enumerate(self.same_commitments)}  # fmt: skip
        breaches = {f"forecast_breach_note_{n + 1}": _forecast_limit_words(*limit)
                    for n, limit in enumerate(self.forecast_limits)}  # fmt: skip
        other = {f"scenarios_note_{n + 1}": note for n, note in enumerate(self.scenario_notes)}
        other |= {f"contracts_note_{n + 1}": self._contract_words(*row)
                  for n, row in enumerate(self.contract_differences)}  # fmt: skip
        if self.cost_plans:
            other["cost_plans_note"] = cost_plans_note(self.cost_plans)
        if self.what_if:
            other["what_if_note"] = self.what_if_words()
        if self.discount_rates() is not None:
            other["discount_rates_note"] = self._discount_words()
        # in words too, as the terminal's title says them (`runs show`'s row name)
        basis = {k: v for k, v in self.basis_record().items() if v is not None}
        basis |= {"horizon_and_discount_rate": self.basis().strip()} if basis else {}
        facts = {**model, **basis, **versions, **breaches, **same, **committed, **other,
                 "scenarios": self.n_scenarios, "seed": self.seed}  # fmt: skip
        about = pd.DataFrame({"item": list(facts), "value": list(facts.values())})
        parts = ["# about\n" + _inert(about).to_csv(index=False)]
        for name, frame in self.tables().items():
            if name not in FIGURE_TABLES:
                frame = _rounded(frame)
            parts.append(f"# {name}\n" + _inert(frame).to_csv(index=False))
        return _written("\n".join(parts), path)

    def to_json(self, path: str | Path | None = None) -> str | None:
        """The tables of :meth:`tables` as JSON records, with the plans, the model, the scenarios,
        the seed and what the notes say (money in USD, shares in [0, 1]; a figure not given is null);
        written whole to ``path`` where given, else returned."""
        out = {name: frame.to_dict(orient="records") for name, frame in self.tables().items()}
        out["plans"] = self.labels
        out["model"] = None if self.model is None else self.model.as_dict()
        out["model_versions"] = self.versions  # plans made from another version of the model, in words
        out["policy_notes"] = self.policies  # plans made under another policy, which run with the model's
        out["plan_roles"] = self.roles  # what each plan of a sweep's folder is to the sweep, in words
        out["forecast_breaches"] = dict(self.forecast_limits)  # plan: what it breaks on the forecast
        out["same_plans"] = [[a, b] for a, b in self.same]  # pairs with every decision and buffer the same
        # plans that commit to the same purchases, power and contracts: [a, b, what else differs]
        out["same_commitments"] = [[a, b, what] for a, b, what in self.same_commitments]
        out["scenario_notes"] = self.scenario_notes  # runs whose own figures are of other scenarios
        out["cost_plans"] = self.cost_plans  # plans of solves for least cost (cost_plans_note)
        # plan: {"takes": contracts the first plan does not take, "declines": those it takes}
        out["contract_differences"] = {label: {"takes": here, "declines": first}
                                       for label, here, first in self.contract_differences}  # fmt: skip
        out["what_if"] = self.what_if or None  # the change the second plan runs under, as given
        # the model so changed, which the second plan is evaluated under (None: not a what-if)
        out["what_if_model"] = None if self.what_if_model is None else self.what_if_model.as_dict()
        out["discount_rates"] = self.discount_rates()  # a what-if's two rates a year, where they differ
        out |= self.basis_record()  # the horizon and the rate a year (a what-if's own), whether or not
        out["scenarios"] = self.n_scenarios
        out["seed"] = self.seed
        return _written(json_text(out), path)

    def to_markdown(self, path: str | Path | None = None) -> str | None:
        """The tables as Markdown, figures formatted as the terminal shows them (money with a scale,
        shares in per cent, counts rounded, with units) and labels escaped; written whole to
        ``path`` where given, else returned."""
        common = counted(self.n_scenarios, COMMON_SCENARIO)
        lines = [f"# Plan comparison ({common}, seed {self.seed}){self.basis()}", ""]
        lines += self._verdict_lines()
        runs = self.tables()["plan_runs"].rename(columns=COLUMN_HEADERS)
        lines += ["## Where each plan comes from", "", markdown_table(runs), ""]
        lines += ["## Figures", "", markdown_table(self._figure_rows()), ""]
        lines += [*_markdown_notes(self.notes()), *self._against_pick_markdown(), ""]
        columns = {
            "mw_by_site": {"mw_used": format_mw, "mw_available": format_mw},
            "gpus_by_generation": {"gpus": lambda gpus: format_count(gpus, "GPUs")},
            "purchases_by_generation": {"gpus_vs_first_plan": lambda gpus: format_difference(gpus, "GPUs")},
            "purchase_differences": {"gpus_vs_first_plan": lambda gpus: format_difference(gpus, "GPUs")},
        }
        if self.what_if:  # one plan on both sides: the same purchases by construction
            del columns["purchases_by_generation"], columns["purchase_differences"]
        elif self.purchases_by_generation_shown() is None:  # as the terminal and the page: no rows
            del columns["purchases_by_generation"]
        for name, frame in self.tables().items():
            if name in columns:
                formatted = frame.copy()
                for column, shown in columns[name].items():
                    formatted[column] = [shown(_whole(v)) for v in frame[column]]
                formatted = formatted.rename(columns=COLUMN_HEADERS)
                lines += [f"## {MARKDOWN_TITLES[name]}", "", markdown_table(formatted), ""]
        return _written("\n".join(lines), path)

    def _figure_rows(self) -> pd.DataFrame:
        rows = []
        for key, name, unit in self.rows():
            values = [float(self.figures.loc[key, label]) for label in self.labels]
            row = {"figure": name} | {
                label: self.cell(key, values, unit, n) for n, label in enumerate(self.labels)
            }
            for n, header in enumerate(self.difference_headers(), start=1):
                row[header] = self.difference_shown(key, values, unit, n)
            row["better"] = self.better_words(key)
            rows.append(row)
        return pd.DataFrame(rows)


# what the present cost's paired errors over the scenarios are (docs/evaluation.md, "The present cost")
PAIRED_COST_NOTE = (f"'{MEAN_COST_LABEL} minus the first plan's': the standard error of the per-scenario "
                    "differences of the present cost on the same scenarios, as the mean NPV's; the "
                    f"{P95_COST_LABEL}'s and the {CVAR95_COST_LABEL}'s, of the costliest 5 %: as P5's and "
                    "CVaR5's NPV, of the costs (none on 20 scenarios or fewer).")


def _distinct_shares(values: list[float]) -> list[str]:
    """Shares in per cent with as many decimals (1 to 4) as it takes for unequal ones to read
    unequal: 23.6% and 23.6% that differ by 0.004 points read 23.604% and 23.600%."""
    for decimals in range(1, 5):
        shown = [f"{v:.{decimals}%}" for v in values]
        if len(set(shown)) == len(set(values)):
            break
    return shown


def _whole(value: float) -> float:
    """A count as printed: solver round-off (1.3e-11 GPUs) is 0."""
    return 0.0 if abs(value) < 1e-6 else float(value)


# what a spreadsheet takes for the start of a formula in a cell of text (OWASP, "CSV Injection")
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _inert_text(value):
    """``value``, a text that begins as a formula (:data:`FORMULA_STARTS`) with a ' before it, so a
    spreadsheet shows it as text: a plan labelled "=cmd|' /C calc'!A0" ran as a formula in Excel."""
    return "'" + value if isinstance(value, str) and value.startswith(FORMULA_STARTS) else value


def _inert(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with its column names and text cells (labels, folders, notes) :func:`_inert_text`;
    its numbers as they are (-0.5 stays a number)."""
    text = [c for c in frame.columns if not pd.api.types.is_numeric_dtype(frame[c])]
    return frame.assign(**{c: frame[c].map(_inert_text) for c in text}).rename(columns=_inert_text)


def _rounded(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with its numbers to 6 decimals, -0.0 written 0.0."""
    numbers = frame.select_dtypes("number").columns
    return frame.assign(**{c: frame[c].round(6) + 0.0 for c in numbers})


def _markdown_notes(notes: list[str]) -> list[str]:
    """Each note a list item, escaped as the tables' cells are (lines in a row ran together as one
    paragraph, and a label's * or _ became emphasis)."""
    return [f"- {markdown_text(note)}" for note in notes]


def _forecast_limit_words(label: str, words: str) -> str:
    """A plan breaching a covenant or defaulting on its own forecast (:attr:`Comparison.forecast_limits`)."""
    return f"{quoted(label)} on the forecast, with its policy: {words}"


def _below_last_digit(text: str, value: float, below: str) -> str:
    """``text``, a positive ``value`` as shown, or where it shows no digit but 0 (rounded away: an
    error of 0.004 pp as "0.00 pp") its last digit's size with ``below`` before it ("< 0.01 pp")."""
    digits = [i for i, c in enumerate(text) if c.isdigit()]
    if not (value > 0 and math.isfinite(value)) or not digits or any(text[i] != "0" for i in digits):
        return text
    last = digits[-1]
    return f"{below}{text[:last]}1{text[last + 1:]}"


def _two_errors_of(se: float | None, unit: str) -> str:
    """' ± $210.0M': two paired standard errors ``se`` of a difference in ``unit`` (in points for a
    share), where it is finite and beyond round-off (:data:`ROUND_OFF`); else ''."""
    if se is None or not math.isfinite(se) or se <= ROUND_OFF.get(unit, 0.0):
        return ""
    return f" ± {_below_last_digit(format_difference(2 * se, unit).lstrip('+'), se, 'under ')}"


def _as_shown(value: float, other: float, unit: str) -> tuple[str, str, str]:
    """``value`` and ``other`` in ``unit`` as the tables show them, and no difference: two figures the same
    to round-off, which :func:`figures_apart` would write to the digits where round-off parts them."""
    return format_figure(value, unit), format_figure(other, unit), format_difference(0.0, unit)


def _which(names: list[str], of: int) -> str:
    """'all five' where ``names`` are all ``of`` figures (two to six), else the names joined."""
    return ALL_OF[of] if len(names) == of in ALL_OF else ", ".join(names)


ALL_OF = {2: "both", 3: "all three", 4: "all four", 5: "all five", 6: "all six"}
