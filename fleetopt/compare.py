"""Side-by-side comparison of plans on common scenarios (`fleetopt compare`)."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from fleetopt.core.covenants import CATALOGUE, tested_kinds
from fleetopt.core.data import GENERATIONS, ModelData
from fleetopt.core.economics import plan_statements
from fleetopt.core.metric_columns import (
    ANY_DEFAULT_LABEL,
    BREACH_LABEL,
    CVAR5_NPV_LABEL,
    DEFAULT_LABEL,
    MEAN_NPV_LABEL,
    P5_NPV_LABEL,
    UNCURED_LABEL,
)
from fleetopt.core.notebook import markdown_table, markdown_text
from fleetopt.core.plan import COHORT_DECISIONS, Plan, rounded_decision
from fleetopt.core.quarters import span_label
from fleetopt.core.results.cost import (
    cost_per_h100_hour,
    cost_plans_note,
    h100_hours_in_service,
    present_cost,
)
from fleetopt.core.results.covenant_words import (
    CUSHION_MEANS,
    TRAILING_WHAT_IF,
    covenant_cushions,
    covenant_headroom,
    lowest_cushion,
    lowest_trailing_cushion,
    trailing_year_headroom,
)
from fleetopt.core.results.customers import FIRST_YEAR, customer_figures
from fleetopt.core.results.fleet import POWER_BUILT_LABEL, gpus_bought, power_built_mw
from fleetopt.core.results.headline import (
    LAB_FIGURES,
    NPV_LIMITED_CVAR5_LABEL,
    PEAK_DEBT_FORECAST_LABEL,
    horizon_totals,
)
from fleetopt.core.results.valuation import basis_words, cash_timing_credit, solve_figures
from fleetopt.core.tail import tail_count
from fleetopt.core.units import (
    USD_PER_H100_HOUR,
    counted,
    format_count,
    format_difference,
    format_figure,
    format_mw,
    format_rate,
    format_usd,
    listed,
)
from fleetopt.errors import InputError, user_path, warn
from fleetopt.evaluate import PlanFileError, compile_plans, evaluate
from fleetopt.evaluate.batch import PlanLimitError, with_buffers
from fleetopt.evaluate.forecast import forecast_run_batch
from fleetopt.evaluate.metrics import (
    ACCELERATED,
    ANY_DEFAULT_EVENTS,
    BOOTSTRAP_DRAWS,
    LENDERS_SHARE,
    LIMITED_LIABILITY,
    MEAN_OF_PAIRS,
    NO_DIRECTION,
    NO_ERROR,
    NOISE_USD,
    NOT_MEASURED,
    NPV_PAIRED_ERROR,
    SAME,
    SHORTFALL_SHARE,
    WITHIN,
    WORSE,
    either_happened,
    first_breach_column,
    judged_side,
    limited_liability_differs,
    paired_error,
    paired_tail_errors,
)
from fleetopt.evaluate.metrics import BETTER as BETTER_SIDE
from fleetopt.evaluate.planfile import numbered, plan_file_model_name
from fleetopt.evaluate.sources import (
    PlanSource,
    fields_changed_words,
    model_made_from,
    plan_file_of,
    read_plans,
    refuse_other_files,
    run_folder_of,
    solve_objective,
)
from fleetopt.runs import limits
from fleetopt.runs.files import write_text_atomic
from fleetopt.runs.folder import (
    BEST_MEAN_KEY,
    COMMON_SCENARIO,
    WHAT_IF_SUBJECT,
    RunFolder,
    json_text,
    refuse_output_file,
    resume_command,
)
from fleetopt.schema.loading import (
    DISCOUNT_RATE,
    HORIZON_QUARTERS,
    LoadedModel,
    ModelChange,
    change_words,
    model_words,
)
from fleetopt.schema.model import fields_changed
from fleetopt.stochastic.run import PLAN_LABELS

YES_NO = "1 yes, 0 no"  # a figure that is 1 (yes) or 0 (no), as the CSV and JSON write it
NOISE_MARK = " (within 2 s.e.)"  # a difference the scenarios could give by chance
# each figure with the row of its difference's paired standard error
PAIRED_ERROR = {
    **NPV_PAIRED_ERROR,
    "loss_probability": "loss_probability_paired_se",
    "breach_probability": "breach_probability_paired_se",
    "uncured_breach_probability": "uncured_breach_probability_paired_se",
    "default_probability": "default_probability_paired_se",
    "any_default_probability": "any_default_probability_paired_se",
    "demand_served_share": "demand_served_share_paired_se",
    "shortfall_probability": "shortfall_probability_paired_se",
    # the other means over the scenarios: npv_limited_mean_paired_se_usd, mean_utilisation_paired_se
    **{figure: f"{figure.removesuffix('_usd')}_paired_se{'_usd' if figure.endswith('_usd') else ''}"
       for figure in MEAN_OF_PAIRS},
}
# the figures over the scenarios with a better direction and no paired error (quantiles, a mean over
# the scenarios without a default, which are not the same for two plans, shares of the first
# breaches): never coloured better or worse, whose difference may be chance (Comparison.judged)
NO_PAIRED_ERROR = ("npv_mean_no_default_usd", "npv_limited_cvar5_usd", "npv_accelerated_cvar5_usd",
                   "npv_median_usd", "npv_p95_usd", *(first_breach_column(k) for k in CATALOGUE))
# each pair's outcome (EvaluationResult.outcomes; "any_default" made from ANY_DEFAULT_EVENTS) and the
# figure whose difference's paired error it gives
OUTCOME_FIGURES = {
    "breach": "breach_probability", "uncured_breach": "uncured_breach_probability",
    "default": "default_probability", "any_default": "any_default_probability",
    "demand_share": "demand_served_share", "demand_short": "shortfall_probability",
}  # fmt: skip
# the lab's figures over the scenarios with their paired errors (shown only beside a cost plan)
LAB_ROWS = tuple(row for figure in LAB_FIGURES for row in (figure, PAIRED_ERROR[figure]))


def _is_cushion(key: str) -> bool:
    """Whether the figure ``key`` is a covenant's cushion: a share a quantity may fall before a
    breach, negative where it is already breached (by that share short)."""
    return key.startswith(("lowest_covenant_cushion", "cushion_"))


def _none_measured(figures: dict, key: str) -> bool:
    """Whether no plan has a number for figure ``key`` (``figures``: label -> figure -> value)."""
    values = [plan.get(key, np.nan) for plan in figures.values()]
    return all(not (isinstance(v, (int, float)) and math.isfinite(v)) for v in values)


def cushion_figure(kind) -> str:
    """The comparison's figure of covenant ``kind``'s cushion (covenant_words.covenant_cushions)."""
    return f"cushion_{kind.name}"


def covenant_figure_names(kinds) -> dict[str, str]:
    """The names of each covenant's figures (its cushion, its share of first breaches), of ``kinds``
    as a model tests them (``ModelData.covenant_kinds``: its DSCR on EBITDA less tax named so)."""
    return {
        **{cushion_figure(k): f"{k.label} covenant: the fall of {k.protects} that breaches it, on the "
           "forecast (MILP statements)" for k in kinds},
        **{first_breach_column(k): f"first breach breaks {k.label}" for k in kinds},
    }  # fmt: skip


_CATALOGUE_NAMES = covenant_figure_names(CATALOGUE)


FIGURES = [
    ("npv_forecast_usd", "NPV on the forecast", "USD"),
    # the NPV without the credit for cash counted as paid out when earned (formulation §6): two plans
    # whose cash differs compare otherwise on it (a finance review)
    ("npv_cash_held_usd", "NPV with cash held to the end, on the forecast (MILP statements)", "USD"),
    # 1: the plan, run on the forecast with its policy, breaches a covenant or defaults (0: neither)
    ("forecast_breach", "breaches a covenant in the quarters tested, or defaults, on the forecast", YES_NO),
    # how near the plan's statements come to a covenant: "no" above may sit on a limit (0 %)
    ("lowest_covenant_cushion", f"{CUSHION_MEANS}, on the forecast (MILP statements; 0: on a limit; "
     "negative: breached, so much short)", "share"),
    # the same on the trailing year's averages, which most facilities test: a model testing each
    # quarter's own flows can call a plan within its limits that breaches there (NaN: tested so already)
    ("lowest_covenant_cushion_trailing", f"{CUSHION_MEANS}, {TRAILING_WHAT_IF}, on the forecast (MILP "
     "statements)", "share"),
    # each covenant's: a smallest fall of EBITDA and one of the GPUs' resale value are not equally likely
    *((cushion_figure(k), _CATALOGUE_NAMES[cushion_figure(k)], "share") for k in CATALOGUE),
    ("npv_mean_usd", MEAN_NPV_LABEL, "USD"),
    ("npv_mean_se_usd", f"{MEAN_NPV_LABEL}: standard error", "USD"),
    # the difference to the first plan on the same scenarios: far more precise than the two errors
    ("npv_mean_paired_se_usd", f"{MEAN_NPV_LABEL} minus the first plan's: standard error", "USD"),
    ("npv_mean_no_default_usd", f"{MEAN_NPV_LABEL} without a liquidity default", "USD"),
    # the shareholders' NPV: a default ends their claim (docs/evaluation.md, metrics.csv)
    ("npv_limited_mean_usd", f"{MEAN_NPV_LABEL} with limited liability", "USD"),
    ("npv_limited_mean_paired_se_usd", f"{MEAN_NPV_LABEL} with limited liability minus the first plan's: "
     "standard error", "USD"),
    # and had lenders accelerated at the first event of default of either kind ("The NPV if lenders
    # accelerate"): the shareholders' NPV at an uncured breach too
    ("npv_accelerated_mean_usd", f"{MEAN_NPV_LABEL} if lenders accelerate at the first event of default",
     "USD"),
    ("npv_accelerated_mean_paired_se_usd", f"{MEAN_NPV_LABEL} if lenders accelerate minus the first plan's: "
     "standard error", "USD"),
    ("npv_std_usd", "standard deviation of NPV", "USD"),
    ("npv_p5_usd", P5_NPV_LABEL, "USD"),
    # the tail figures' differences are noisy: their errors (P5's by resampling the scenarios)
    ("npv_p5_paired_se_usd", f"{P5_NPV_LABEL} minus the first plan's: standard error (bootstrap)", "USD"),
    ("npv_cvar5_usd", CVAR5_NPV_LABEL, "USD"),
    ("npv_cvar5_paired_se_usd", f"{CVAR5_NPV_LABEL} minus the first plan's: standard error", "USD"),
    ("npv_limited_cvar5_usd", NPV_LIMITED_CVAR5_LABEL, "USD"),
    ("npv_accelerated_cvar5_usd", f"{CVAR5_NPV_LABEL} if lenders accelerate at the first event of default",
     "USD"),
    ("npv_median_usd", "median NPV", "USD"),
    ("npv_p95_usd", "P95 NPV", "USD"),
    ("loss_probability", "P(NPV < 0)", "share"),
    ("loss_probability_paired_se", "P(NPV < 0) minus the first plan's: standard error", "share"),
    ("breach_probability", BREACH_LABEL, "share"),
    ("breach_probability_paired_se", f"{BREACH_LABEL} minus the first plan's: standard error", "share"),
    ("uncured_breach_probability", f"{UNCURED_LABEL}: an event of default", "share"),
    ("uncured_breach_probability_paired_se", f"{UNCURED_LABEL} minus the first plan's: standard "
                                             "error", "share"),
    ("default_probability", DEFAULT_LABEL, "share"),
    ("default_probability_paired_se", f"{DEFAULT_LABEL} minus the first plan's: standard error", "share"),
    ("any_default_probability", f"{ANY_DEFAULT_LABEL}: a liquidity default or an uncured covenant breach",
     "share"),
    ("any_default_probability_paired_se", f"{ANY_DEFAULT_LABEL} minus the first plan's: standard error",
     "share"),
    # the lenders' side of a default (docs/evaluation.md, "The debt at a default"), undiscounted USD of
    # the default's quarter; the share covered has no better direction (fewer defaults can leave the
    # ones left less covered), the debt left uncovered, over all scenarios, has
    ("debt_at_default_mean_usd", "debt owed at a liquidity default (mean over the scenarios with one; "
     "undiscounted)", "USD"),
    ("debt_covered_at_default", "share of the debt at defaults the GPUs' sale and the cash would repay",
     "share"),
    ("uncovered_debt_mean_usd", "debt a default leaves uncovered by the GPUs and cash (mean over all "
     "scenarios; undiscounted)", "USD"),
    ("uncovered_debt_mean_paired_se_usd", "debt a default leaves uncovered minus the first plan's: standard "
     "error", "USD"),
    # the same at an uncured covenant breach, had lenders accelerated then ("The debt at an uncured breach")
    ("debt_at_uncured_breach_mean_usd", "debt owed at an uncured covenant breach (mean over the scenarios "
     "with one; undiscounted)", "USD"),
    ("debt_covered_at_uncured_breach", "share of the debt at uncured breaches the GPUs' sale and the cash "
     "would repay", "share"),
    ("uncovered_debt_at_uncured_breach_mean_usd", "debt an uncured breach leaves uncovered by the GPUs and "
     "cash, had lenders accelerated (mean over all scenarios; undiscounted)", "USD"),
    ("uncovered_debt_at_uncured_breach_mean_paired_se_usd", "debt an uncured breach leaves uncovered minus "
     "the first plan's: standard error", "USD"),
    # which covenant breaks first; a comparison keeps the rows of its model's covenants only
    *((first_breach_column(k), _CATALOGUE_NAMES[first_breach_column(k)], "share") for k in CATALOGUE),
    ("expected_min_cash_usd", "mean lowest cash", "USD"),
    ("expected_min_cash_paired_se_usd", "mean lowest cash minus the first plan's: standard error", "USD"),
    ("mean_utilisation", "mean utilisation", "share"),
    ("mean_utilisation_paired_se", "mean utilisation minus the first plan's: standard error", "share"),
    # a risk the plans met, not a reaction (only where the model's risk.delivery_slip is on): a plan
    # that buys no slipping SKU early is not slipped
    ("slipped_share", "P(GPUs it bought delivered late: risk.delivery_slip)", "share"),
    ("peak_debt_forecast_usd", PEAK_DEBT_FORECAST_LABEL, "USD"),
    # what the plan spends and earns, which GPU counts alone do not show
    ("capex_gpu_total_usd", "GPU capex over the horizon (MILP statements)", "USD"),
    # what a plan commits to before the next annual review, and so what it spends later: a plan that
    # defers its orders looks like one that buys less in the horizon's totals (first_year_names)
    ("capex_gpu_first_year_usd", "of which in the horizon's first year (MILP statements)", "USD"),
    ("capex_power_total_usd", "power capex over the horizon (MILP statements)", "USD"),
    # a block is paid over its lead time: what one started in the first year commits is its whole cost
    ("power_committed_first_year_usd", "capex of the power blocks started in the horizon's first year "
     "(whole blocks, paid over their lead time)", "USD"),
    ("revenue_total_usd", "revenue over the horizon (MILP statements)", "USD"),
    # of it, the contracts': the rest is the market's, whose volume and price nothing holds
    ("revenue_contracts_total_usd", "of which under contract (MILP statements)", "USD"),
    # how much of it one customer holds: the concentration a lost customer would take with it
    ("largest_customer_revenue_share", "largest customer's share of revenue (MILP statements)", "share"),
    # the cost objective's figure (`solve --objective cost`), from the plan's statements (without its
    # policy, which the cost objective's plans have no use for): a lab's plans are compared by it
    ("present_cost_usd", "present cost on the forecast (MILP statements)", "USD"),
    # the same per unit of compute: levelized over the H100-equivalent GPU-hours in service (formulation §6)
    ("present_cost_per_h100_hour_usd", "present cost per H100-equivalent GPU-hour in service, levelized "
     "(MILP statements)", USD_PER_H100_HOUR),
    # what that cost buys: plans serving different demand do not compare by their present cost
    ("market_demand_served", "share of market demand served on the forecast (MILP statements)", "share"),
    # and over the scenarios, whose demand moves (docs/evaluation.md, metrics.csv): LAB_FIGURES
    ("demand_served_share", "share of market demand served (mean over scenarios)", "share"),
    ("demand_served_share_paired_se", "share of market demand served minus the first plan's: standard "
                                      "error", "share"),
    ("shortfall_probability", f"P(more than {SHORTFALL_SHARE * 100:g} % of market demand not served)",
     "share"),
    ("shortfall_probability_paired_se", f"P(more than {SHORTFALL_SHARE * 100:g} % not served) minus the "
                                        "first plan's: standard error", "share"),
    ("gpus_bought", "GPUs bought", "GPUs"),
    ("power_built_mw", POWER_BUILT_LABEL, "MW"),
    # what the MILP chose around a plan's purchases, which often moves its NPV as much as they do
    ("contracts_taken", "contracts taken (of the model's offers)", "contracts"),
    ("gpus_retired", "GPUs retired over the horizon", "GPUs"),
    ("debt_drawn_usd", "debt drawn over the horizon (facility draws)", "USD"),
]
# each figure's unit
FIGURE_UNITS = {key: unit for key, _, unit in FIGURES}
# a lab's figures, which a comparison with a cost plan shows first: what the plan costs and serves
COST_FIRST = ("present_cost_usd", "present_cost_per_h100_hour_usd", "market_demand_served", *LAB_ROWS)
# what plans cost: not ranked where they serve different shares of the demand (less cost buys less)
COSTS = ("present_cost_usd", "present_cost_per_h100_hour_usd")
# the figures discounted at the model's rate: a what-if that changes the rate moves them without the
# plan doing better or worse (Comparison.better)
DISCOUNTED = (*(key for key, _, _ in FIGURES if key.startswith("npv_")), "loss_probability", *COSTS)
# which way a figure is better for the company (a figure not here has no better direction)
BETTER = {
    **dict.fromkeys(("npv_forecast_usd", "npv_cash_held_usd", "npv_mean_usd", "npv_mean_no_default_usd",
                     *LIMITED_LIABILITY, *ACCELERATED, "npv_p5_usd", "npv_cvar5_usd", "npv_median_usd",
                     "npv_p95_usd",
                     "expected_min_cash_usd", "mean_utilisation", "demand_served_share",
                     "market_demand_served", "lowest_covenant_cushion", "lowest_covenant_cushion_trailing"),
                    "higher"),
    **dict.fromkeys(("forecast_breach", "loss_probability", "breach_probability",
                     "uncured_breach_probability", "default_probability", "any_default_probability",
                     "peak_debt_forecast_usd", *COSTS,
                     "shortfall_probability",
                     "largest_customer_revenue_share", "uncovered_debt_mean_usd",
                     "uncovered_debt_at_uncured_breach_mean_usd",
                     *(first_breach_column(k) for k in CATALOGUE)), "lower"),
    **dict.fromkeys((cushion_figure(k) for k in CATALOGUE), "higher"),
}  # fmt: skip
# the figures whose better direction is the lenders', not the company's: the debt a default leaves
# uncovered is theirs to lose (the shareholders' NPV ends at the default either way)
LENDERS_VIEW = ("uncovered_debt_mean_usd", "uncovered_debt_at_uncured_breach_mean_usd")
BETTER_MEANS = ("'better': which way a figure is better for the company, or for its lenders where it "
                "says 'for lenders'")
NOT_APPLICABLE = "—"  # a cell with no figure: the first plan's difference to itself
# the figures a comparison's verdict reads (Comparison.verdict), each by a short name (FIGURES gives
# the whole); with a plan solved for least cost, what the plans cost and serve (a lab's NPV values its
# GPUs' own use at market prices)
VERDICT = {
    "npv_mean_usd": MEAN_NPV_LABEL, "npv_cvar5_usd": CVAR5_NPV_LABEL, "breach_probability": BREACH_LABEL,
    "default_probability": DEFAULT_LABEL,
    # either default, as lenders count them (a run before 0.4.14 has none: left out)
    "any_default_probability": ANY_DEFAULT_LABEL,
}  # fmt: skip
COST_VERDICT = {
    "present_cost_usd": "present cost", "present_cost_per_h100_hour_usd": "cost per H100-hour",
    "market_demand_served": "demand served on the forecast", "default_probability": DEFAULT_LABEL,
    # every cost plan serves all of the forecast's demand: the scenarios' demand is what tells them apart
    "demand_served_share": "demand served over the scenarios",
    "shortfall_probability": f"P(more than {SHORTFALL_SHARE * 100:g} % short)",
}  # fmt: skip
# the sides a verdict puts each figure's difference on (Comparison._side, by judged_side), in words,
# in the order it says them
SIDE_WORDS = {BETTER_SIDE: "better in", WORSE: "worse in", WITHIN: "within two standard errors:",
              NO_ERROR: "without a standard error:", SAME: "the same in",
              NO_DIRECTION: "no better direction:", NOT_MEASURED: "not measured:"}  # fmt: skip
VERDICT_SIDES = tuple(SIDE_WORDS.values())
DEMAND_SERVED_SAME = 1e-6  # shares of the demand served this close are the same (solver round-off)
# the shares of the market demand a plan serves, and where: plans that differ in one are not ranked
# by their present cost (Comparison.serve_different_demand)
SHARES_SERVED = (("market_demand_served", "on the forecast"), ("demand_served_share", "over the scenarios"))


# a comparison of one plan is refused, whatever it is given as (runs, plan files, solve results)
TWO_PLANS_NEEDED = "compare needs at least two plans"


class CompareError(InputError):
    """Plans that cannot be compared (fewer than two, or of different models)."""


# the Markdown headings of the comparison's other tables
MARKDOWN_TITLES = {
    "mw_by_site": "MW used and available (facility MW: IT load x PUE), by site and quarter",
    "gpus_by_generation": "GPUs held, by generation and quarter",
    "purchases_by_generation": "Purchases against the first plan by generation, sites summed (GPUs: + more, "
    "- fewer)",
    "purchase_differences": "Purchases against the first plan (GPUs: + more, - fewer)",
}

# the columns of the comparison's other tables, in words with their units, as tables for people
# (terminal, Markdown) head them; the CSV and the JSON keep the keys
COLUMN_HEADERS = {
    "plan": "plan",
    "run": "run folder or plan file",
    "site": "site",
    "quarter": "quarter",
    "mw_used": "MW used",
    "mw_available": "MW available",
    "generation": "generation",
    "gpus": "GPUs held",
    "sku": "SKU",
    "gpus_vs_first_plan": "GPUs",  # the tables' titles say + more, - fewer
}


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


@dataclass(frozen=True)
class AgainstPick:
    """A sweep's plan of highest mean NPV no worse than the forecast optimum (``plan``) against the
    sweep's pick (``pick``), both by the labels compared, where the pick is not the first plan (the
    columns give every plan against the first only): ``errors``, the paired standard error of each
    figure of ``plan`` less ``pick``'s on the same scenarios, by :data:`PAIRED_ERROR`'s rows
    (:func:`paired_errors`, as each plan's against the first)."""

    pick: str
    plan: str
    errors: dict[str, float]


def _against_pick_words(pair: AgainstPick) -> str:
    """'“C” against the sweep's pick “B”', as the table's title and its note name ``pair``."""
    return f"\u201c{pair.plan}\u201d against the sweep's pick \u201c{pair.pick}\u201d"


# the columns of the comparison's against_pick table (Comparison.tables): the difference of each
# figure of the verdict, the plan's less the pick's, with its paired standard error, as numbers
AGAINST_PICK_COLUMNS = ("plan", "pick", "figure", "unit", "better", "difference", "paired_se")
PAIRED_SE_HEADER = "paired standard error"  # the tables for people's header of that error
# the tables of figures, which the CSV writes unrounded (the others' MW and GPUs to 6 decimals)
FIGURE_TABLES = ("figures", "against_pick")


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
        """A paired standard error of a figure in ``unit`` as shown: of a difference of shares, in points."""
        return format_figure(value, "pp" if unit == "share" else unit)

    @staticmethod
    def cell(key: str, values: list[float], unit: str, n: int) -> str:
        """Plan ``n``'s figure as shown; the first plan's paired error (against itself) is —."""
        if "_paired_se" in key:
            return NOT_APPLICABLE if n == 0 else Comparison.error_cell(values[n], unit)
        if unit == YES_NO:
            return "yes" if values[n] else "no"
        if _is_cushion(key) and math.isfinite(values[n]) and values[n] < 0:  # the fall is behind it
            return f"breached ({format_figure(-values[n], unit)} short)"
        return format_figure(values[n], unit)

    def difference_shown(self, key: str, values: list[float], unit: str, n: int, base: int = 0) -> str:
        """:meth:`difference`, marked "(within 2 s.e.)" where :meth:`within_noise` says so."""
        text = self.difference(key, values, unit, n, base)
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
        if key in NO_PAIRED_ERROR:
            return False
        return self._judged_side(key, n, needs_error=True, base=base) not in (WITHIN, NO_ERROR, SAME)

    def _judged_side(self, key: str, n: int, needs_error: bool = False, base: int = 0) -> str:
        """:func:`judged_side` of plan ``n``'s difference to the first (to plan ``base``) in figure
        ``key``, with its paired standard error (none for a plan against itself) and its better direction."""
        diff = float(self.figures.loc[key, self.labels[n]]) - float(self.figures.loc[key, self.labels[base]])
        higher = {"higher": True, "lower": False}.get(self.better(key))
        se = self._paired_se(key, n, base) if n != base else None
        # round-off: no plan is better by a dollar (of money: a cost per GPU-hour's $0.10 is no round-off)
        noise = NOISE_USD if FIGURE_UNITS.get(key) == "USD" else 0.0
        return judged_side(diff, se, higher, noise, needs_error=needs_error)

    def _paired_se(self, key: str, n: int, base: int = 0) -> float | None:
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

    def verdict(self, n: int, base: int = 0) -> str:
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
            difference = self.difference(key, values, unit, n, base)
            parts.append(f"{name} {difference}{self._two_errors(key, unit, n, base)}")
            sides[self._side(key, n, base)].append(name)
        said = [f"{side} {_which(names, len(shown))}" for side, names in sides.items() if names]
        sure = " (± two paired standard errors)" if any(" ± " in part for part in parts) else ""
        changed = f" (the model with {self.what_if})" if self.what_if else ""  # a what-if: its change
        against = f"\u201c{self.labels[base]}\u201d"
        against = f"the sweep's pick {against}" if base else against
        plans = f"\u201c{self.labels[n]}\u201d{changed} against {against}{sure}"
        return f"{plans}: {', '.join(parts)}; " + "; ".join(said)

    def verdicts(self) -> list[str]:
        """:meth:`verdict` of each later plan against the first, then of each plan against its sweep's
        pick (:attr:`against_pick`): the "In short" of the terminal, the Markdown and the page."""
        return [*(self.verdict(n) for n in range(1, len(self.labels))),
                *(self.verdict(*self.pick_at(pair)) for pair in self.against_pick)]  # fmt: skip

    def pick_at(self, pair: AgainstPick) -> tuple[int, int]:
        """The positions of ``pair``'s plan and of its pick among the plans compared."""
        return self.labels.index(pair.plan), self.labels.index(pair.pick)

    def _two_errors(self, key: str, unit: str, n: int, base: int = 0) -> str:
        """' ± $210.0M': two of plan ``n``'s paired standard errors of figure ``key`` (in points for a
        share), against the first plan (plan ``base``), where it has a finite positive one; else ''."""
        se = self._paired_se(key, n, base)
        if se is None or not math.isfinite(se) or se <= 0:
            return ""
        return f" ± {format_difference(2 * se, unit).lstrip('+')}"

    def _side(self, key: str, n: int, base: int = 0) -> str:
        """Which of the verdict's sides (:data:`VERDICT_SIDES`) plan ``n``'s difference in figure ``key``
        (to plan ``base``) falls on: none is called better or worse without a direction, a figure, or an
        error where the figure has one; a difference of 0 without an error to be within is the same."""
        return SIDE_WORDS[self._judged_side(key, n, base=base)]

    def better(self, key: str) -> str:
        """Which way figure ``key`` is better for the company (:data:`BETTER`); none for the costs
        (:data:`COSTS`) of plans that serve different shares of the demand, where less cost buys less,
        nor for the figures :data:`DISCOUNTED` where a what-if's sides discount at different rates."""
        if key in COSTS and self.serve_different_demand():
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
        return bool(served.size and served.max() - served.min() > DEMAND_SERVED_SAME)

    def _shares_words(self, key: str, where: str) -> str:
        shares = self.figures.loc[key]
        served = ", ".join(f"{label} {share}" for label, share in zip(self.labels, _distinct_shares(
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
        (seed 0)" (a file compare wrote is known by it: :data:`~fleetopt.runs.folder.COMPARISON_TITLE`)."""
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
        return [f"{label}{DIFFERENCE_SEPARATOR}{self.labels[0]}" for label in self.labels[1:]]

    @staticmethod
    def against_pick_title(pair: AgainstPick) -> str:
        """The title of ``pair``'s table (:meth:`against_pick_rows`)."""
        return f"{_against_pick_words(pair)}, on the same scenarios"

    @staticmethod
    def against_pick_header(pair: AgainstPick) -> str:
        """'C − B': the header of the difference of ``pair``'s plan C to its pick B."""
        return f"{pair.plan}{DIFFERENCE_SEPARATOR}{pair.pick}"

    def against_pick_rows(self, pair: AgainstPick) -> pd.DataFrame:
        """``pair``'s plan against its sweep's pick on the figures of :meth:`verdict`, as the tables for
        people show them: both plans' figures, the difference ('C − B', marked within 2 s.e. as the
        figures' columns are), its paired standard error (:attr:`AgainstPick.errors`) and which way
        is better."""
        n, base = self.pick_at(pair)
        rows = []
        for key, name, unit in self.verdict_rows():
            values = [float(self.figures.loc[key, label]) for label in self.labels]
            se = self._paired_se(key, n, base)
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
                se = self._paired_se(key, n, base)
                rows.append((pair.plan, pair.pick, key, unit, self.better(key), values[1] - values[0],
                             np.nan if se is None else se))  # fmt: skip
        return pd.DataFrame(rows, columns=list(AGAINST_PICK_COLUMNS))

    def notes(self) -> list[str]:
        """What a reader must know besides the figures: the model, identical plans, the paired error."""
        whom = f"\u201c{self.labels[0]}\u201d" if self.what_if else "Every plan"
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
        out += [
            f"{label} on the forecast, with its policy: {words}." for label, words in self.forecast_limits
        ]
        for key, where in SHARES_SERVED:
            if self._different_shares(key):
                out.append(self._shares_words(key, where))
        if self.discount_rates() is not None:
            out.append(self._discount_words())
        out += [self._same_plan_words(a, b) for a, b in self.same]
        out += [self._same_commitments_words(*pair) for pair in self.same_commitments]
        out += [self._contract_words(*row) for row in self.contract_differences]
        out += [f"{_against_pick_words(pair)} (its table, below): each figure of {pair.plan} less "
                f"{pair.pick}'s, with the standard error of that paired difference on the same scenarios, as "
                "each plan's against the first." for pair in self.against_pick]  # fmt: skip
        out.append(f"'{MEAN_NPV_LABEL} minus the first plan's': standard error of each plan's mean NPV less "
                   f"{self.labels[0]}'s on the same scenarios (the difference itself is in the "
                   f"'… − {self.labels[0]}' columns, each a difference of the unrounded figures, so "
                   "it may differ by one in the last digit from the difference of the rounded ones); "
                   f"P5's: the standard deviation of that difference over {BOOTSTRAP_DRAWS} resamples "
                   "of the scenarios; CVaR5's: that of the two plans' tail influence values; the "
                   "probabilities': that of the per-scenario 0/1 differences, in points; the other "
                   "means' (lowest cash, debt left uncovered, ...): that of the per-scenario "
                   "differences; the median, P95 and the other figures over the scenarios without "
                   f"such a row have no paired error (docs/evaluation.md); {BETTER_MEANS}.")  # fmt: skip
        return out

    def what_if_words(self) -> str:
        """What a what-if comparison compares (:func:`compare_what_if`), in a sentence."""
        first, second = (f"\u201c{label}\u201d" for label in self.labels[:2])
        changed = self.what_if + ("" if self.what_if_model is None else f" (hash {self.what_if_model.hash})")
        return (f"What if: {second} is {first} run under the model with {changed}, on the same "
                "scenarios; every risk factor the change leaves alone draws the same numbers in both, so "
                "each difference is what the change does to the plan, and its error is paired.")  # fmt: skip

    def _contract_words(self, label: str, only_here: list[str], only_first: list[str]) -> str:
        parts = []
        if only_here:
            parts.append(f"takes {', '.join(only_here)}, which {self.labels[0]} does not")
        if only_first:
            parts.append(f"declines {', '.join(only_first)}, which {self.labels[0]} takes")
        return f"{label} {' and '.join(parts)}."

    @staticmethod
    def _same_plan_words(a: str, b: str) -> str:
        return (f"{a} and {b} are the same plan (the same decisions and policy cash buffer): their figures "
                "are equal by construction.")  # fmt: skip

    @staticmethod
    def _same_commitments_words(a: str, b: str, what: list[str]) -> str:
        return (f"{a} and {b} buy the same GPUs, build the same power and take the same contracts; they "
                f"differ only in {'; '.join(what)}: their differences come from those, not from what they "
                "buy.")  # fmt: skip

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
        names = {} if self.data is None else _model_row_names(self.data)
        if names and self.what_if_data is not None:  # a what-if's covenant tested on another numerator
            theirs = _model_row_names(self.what_if_data)
            sides = [f"\u201c{label}\u201d" for label in self.labels]
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
        breaches = {f"forecast_breach_note_{n + 1}": f"{label} on the forecast, with its policy: {words}"
                    for n, (label, words) in enumerate(self.forecast_limits)}  # fmt: skip
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


def own_scenarios(ref: Path) -> tuple[int, int] | None:
    """(scenarios, seed) a run's own figures were evaluated on: a sweep's (an unfinished one's, those
    it evaluates on), a finished evaluation's (not on the forecast alone), a stochastic solve's
    out-of-sample ones; None for a run with none (a solve, a plan file, a stochastic solve that
    skipped them)."""
    ref = run_folder_of(ref)  # a run's plan file: its run's
    run = RunFolder(ref)
    if not ref.is_dir() or not (run.is_finished or run.is_job):
        return None
    finished = run.is_finished
    summary = run.summary() if finished else run.job()
    path = run / (RunFolder.SUMMARY if finished else RunFolder.JOB)
    evaluated = finished and summary.get("kind") == "evaluate" and not summary.get("deterministic")
    if summary.get("kind") == "sweep" or evaluated:
        return (
            limits.job_setting(summary, path, "n_scenarios", limits.scenarios),
            limits.job_setting(summary, path, "seed", limits.seed),
        )
    oos = summary.get("out_of_sample")
    if run.kind == "stochastic" and isinstance(oos, dict) and oos:  # {}: skipped
        return (
            limits.job_setting(oos, path, "scenarios", limits.scenarios),
            limits.job_setting(oos, path, "seed", limits.seed),
        )
    return None


def scenarios_of_runs(refs: list[Path]) -> tuple[int, int] | None:
    """(scenarios, seed) of the first run among ``refs`` with figures of its own (an evaluation, a
    sweep, a stochastic solve's out-of-sample ones): a comparison of its plans defaults to them, so its
    own figures come back. None when no such run is given."""
    return next((own for ref in refs if (own := own_scenarios(ref)) is not None), None)


def figures_not_back(refs: list[Path], scenarios: int, seed: int) -> list[str]:
    """A sentence for each run among ``refs`` whose own figures were evaluated on other scenarios
    than (``scenarios``, ``seed``): the comparison's figures of its plans are not those."""
    out = []
    for ref in dict.fromkeys(refs):
        own = own_scenarios(ref)
        if own is not None and own != (scenarios, seed):
            out.append(f"{ref}'s own figures are of {own[0]:,} scenarios (seed {own[1]}); this "
                       f"comparison uses {scenarios:,} (seed {seed}): its plans' figures here are not "
                       "those")  # fmt: skip
    return out


def plan_sources(refs: list[Path], data: ModelData, chosen: str = "") -> list[PlanSource]:
    """The plan file of each run folder or plan file, read against ``data`` (``chosen``: why that
    model, for the message refusing a plan file of another model)."""
    for ref in refs:
        _check_plan_file(ref, data, chosen)
    try:
        return [read_plans(ref, data) for ref in refs]
    except PlanFileError as exc:
        raise CompareError(str(exc)) from None


def _check_plan_file(ref: Path, data: ModelData, chosen: str) -> None:
    """Refuse, saying what it is, a file given that is not a plan file (a run's plan.csv) or is the
    plan file of a model of another name, which no --model can read beside this one."""
    try:
        refuse_other_files(ref)
    except PlanFileError as exc:
        raise CompareError(str(exc)) from None
    try:
        file = plan_file_of(ref)
    except PlanFileError:
        return  # read_plans says why
    name = plan_file_model_name(file) if file.is_file() else None
    if name is not None and name != data.name:
        why = f" ({chosen})" if chosen else ""
        raise CompareError(
            f"{file}: its plans are for model {name!r}, but every plan of a comparison is evaluated under "
            f"one model, here {data.name!r}{why}, and a plan file is read only under a model of the name "
            f"it was made for: plans of models of two names cannot be compared. --model takes a version "
            f"of {name!r} (its plans are then read under it, with a note of the blocks that differ), "
            "not another model"
        )


# the policy field a plan keeps with it where its file records it (the version note says so)
POLICY_BUFFER = "policy.liquidity_buffer_usd"


def policy_note(
    made_from: LoadedModel | None, loaded: LoadedModel, whose: str, own_buffer: bool
) -> str | None:
    """The sentence saying that ``whose`` plans (in words) were made under a model (``made_from``;
    None: not known) whose ``policy`` block differs from ``loaded``'s, naming the fields that do, and
    that they run with ``loaded``'s policy here, as every plan compared does (docs/evaluation.md,
    "Plan files": a model's policy rules apply to every plan it evaluates); the cash buffer left out
    where the plans keep their own (``own_buffer``: the version note says so). None where the
    policies are the same."""
    if made_from is None:
        return None
    kept = {POLICY_BUFFER} if own_buffer else set()
    changes = [change for change in fields_changed(made_from.model, loaded.model)
               if change[0].startswith("policy.") and change[0] not in kept]  # fmt: skip
    if not changes:
        return None
    return (f"{whose} were made under another policy ({fields_changed_words(changes)}): every plan "
            f"compared runs with the policy of model {loaded.model.name!r} (hash {loaded.content_hash}), "
            "the model it is evaluated under")  # fmt: skip


def policy_notes(loaded: LoadedModel, refs: list[Path], sources: list[PlanSource]) -> list[str]:
    """:func:`policy_note` of each run folder or plan file compared (``refs``, read as ``sources``;
    one given twice, once) whose plans were made from another version of ``loaded`` that their run
    folder keeps."""
    notes = []
    for ref, source in dict(zip(refs, sources, strict=True)).items():
        if source.model_hash and source.model_hash != loaded.content_hash:
            own = any(buffer is not None for buffer in source.reader.buffers or [])
            made_from = model_made_from(source.model_hash, source.path)
            notes.append(policy_note(made_from, loaded, f"the plans of {ref}", own))
    return [note for note in notes if note is not None]


def plans_from_refs(
    refs: list[Path],
    data: ModelData,
    sources: list[PlanSource] | None = None,
    least: int = 2,
    best_mean: bool = True,
) -> tuple[list[Plan], list[str], list, list[str]]:
    """Plans named by run folders or plan files: a sweep folder gives its forecast optimum and its
    recommended plan, in that order (the differences read as the sweep's 'why': the pick less the
    optimum), then its plan of highest mean NPV no worse than the forecast optimum where it names one and
    ``best_mean`` (a what-if takes the pick alone), a stochastic solve's folder its forecast optimum
    and its stochastic plan (the differences as the solve prints them), a solve folder its plan, a
    plan file all its plans; with each plan's policy liquidity buffer from its file (None: the
    model's) and the run folder or plan file it came from (as given, a run id as its folder).
    ``sources``: :func:`plan_sources` of ``refs``, when already read."""
    plans: list[Plan] = []
    labels: list[str] = []
    buffers: list = []
    runs: list[str] = []
    for ref, source in zip(refs, sources or plan_sources(refs, data), strict=True):
        chosen = range(len(source.plans))
        run = RunFolder(ref)
        name = run_folder_of(ref).name  # a run's plan file by its run folder: "plan.npz" names no run
        if ref.is_dir() and run.kind == "sweep":
            picks = sweep_plans(run, source.labels, source.path.name, best_mean)  # the optimum first
            chosen = [source.labels.index(pick) for pick in picks]
        elif ref.is_dir() and run.kind == "stochastic" and source.labels == list(PLAN_LABELS):
            chosen = [1, 0]  # the forecast optimum first: stochastic less forecast, as the solve says
        elif ref.is_dir() and run.interrupted_kind() == "sweep":  # no pick yet: said, not silent
            warn(f"{ref} is an unfinished sweep (no recommendation yet): every candidate it made is "
                 f"compared; {resume_command('sweep', ref)} finishes it")  # fmt: skip
        for i in chosen:
            plans.append(source.plans[i])
            buffers.append(None if source.reader.buffers is None else source.reader.buffers[i])
            runs.append(str(ref))
            labels.append(
                f"{name}: {source.labels[i]}" if len(refs) > 1 or len(chosen) == 1 else source.labels[i]
            )
    if len(plans) < least:  # one is enough for a what-if (compare_what_if)
        alone = len(refs) == 1 and refs[0].is_dir() and RunFolder(refs[0]).kind == "sweep"
        raise CompareError(
            f"{refs[0]}: the sweep recommended its forecast optimum, its only plan to compare: give "
            f"another run folder or plan file beside it, or compare every candidate it evaluated: "
            f"fleetopt compare {source.path}"
            if alone
            else f"{TWO_PLANS_NEEDED} (give two run folders or plan files; a sweep's or a stochastic solve's "
            "folder alone gives two: its pick, or its stochastic plan, and its forecast optimum)"
        )
    return plans, unique_labels(labels), buffers, runs


# the plans a sweep's folder gives a comparison, in order, by its summary.json's field naming each,
# and what each is to the sweep
SWEEP_ROLES = {
    "forecast_optimum": "its forecast optimum",
    "recommended": "its recommendation",
    BEST_MEAN_KEY: "its plan of highest mean NPV no worse than the forecast optimum",
}


def role_notes(roles: dict[str, list[str]]) -> dict[str, str]:
    """What each plan with a role is to its run, by label, for a chart's legend ("recommendation",
    "forecast optimum", "plan of highest mean NPV no worse than the forecast optimum"); ``roles``: a
    plan's keys of :data:`SWEEP_ROLES`, by label."""
    return {label: " and ".join(SWEEP_ROLES[key].removeprefix("its ") for key in keys)
            for label, keys in roles.items()}  # fmt: skip


def sweep_plans(run: RunFolder, labels: list[str], listed_in: str, best_mean: bool = True) -> dict:
    """The plans a finished sweep's folder gives a comparison, in the order of :data:`SWEEP_ROLES`,
    each with what it is to the sweep (label: its keys of :data:`SWEEP_ROLES`): its forecast optimum,
    its recommendation (the same plan where it recommended the optimum) and, where it names one and
    ``best_mean``, its plan of highest mean NPV no worse than the forecast optimum; each refused by its
    field unless one of ``labels``, the candidates of the run's file ``listed_in``."""
    run.sweep_picks(labels, listed_in)
    best = run.sweep_best_mean(labels, listed_in) if best_mean else None
    named, roles = {**run.summary(), BEST_MEAN_KEY: best}, {}
    for key in SWEEP_ROLES:
        if named[key] is not None:
            roles.setdefault(named[key], []).append(key)
    return roles


def _sweeps_given(refs: list[Path], sources: list[PlanSource], labels: list[str], runs: list[str]):
    """For each sweep folder of ``refs`` (its plans read as ``sources``): the folder and what each plan
    it gave is to the sweep (:func:`sweep_plans`), by the label it is compared under (label: keys);
    ``labels`` and ``runs``: each plan's and its run folder, as :func:`plans_from_refs` gives them."""
    for ref, source in dict(zip(refs, sources, strict=True)).items():
        if not (ref.is_dir() and RunFolder(ref).kind == "sweep"):
            continue
        roles = sweep_plans(RunFolder(ref), source.labels, source.path.name)
        given = [label for label, run in zip(labels, runs, strict=True) if run == str(ref)][:len(roles)]
        yield ref, dict(zip(given, roles.values(), strict=True))


def sweep_roles(refs: list[Path], sources: list[PlanSource], labels: list[str], runs: list[str]) -> list[str]:
    """For each sweep folder of ``refs``, what each plan it gave is to the sweep (:func:`_sweeps_given`)
    in a sentence ('From the sweep runs/sweep: “milp: forecast” is its forecast optimum, “B” its
    recommendation and “C” its plan of highest mean NPV no worse than the forecast optimum.')."""
    out = []
    for ref, roles in _sweeps_given(refs, sources, labels, runs):
        said = [f"\u201c{label}\u201d {'' if n else 'is '}{' and '.join(SWEEP_ROLES[key] for key in keys)}"
                for n, (label, keys) in enumerate(roles.items())]  # fmt: skip
        out.append(f"From the sweep {ref}: {listed(said)}.")
    return out


def sweep_pick_pairs(refs: list[Path], sources: list[PlanSource], labels: list[str],
                     runs: list[str]) -> list[tuple[str, str]]:  # fmt: skip
    """(its pick, its plan of highest mean NPV no worse than the forecast optimum) of each sweep folder
    of ``refs`` that names that plan (:func:`_sweeps_given`), by the labels compared, where the pick is
    not the first plan: against the first, the figures' columns give it already."""
    out = []
    for _, roles in _sweeps_given(refs, sources, labels, runs):
        by_role = {key: label for label, keys in roles.items() for key in keys}
        pick, best = by_role["recommended"], by_role.get(BEST_MEAN_KEY)
        if best is not None and pick != labels[0]:
            out.append((pick, best))
    return out


def plan_role_keys(refs: list[Path], sources: list[PlanSource], labels: list[str],
                   runs: list[str]) -> dict[str, list[str]]:  # fmt: skip
    """What each plan a sweep's or stochastic solve's folder of ``refs`` gave is to its run, by the
    label compared (label: its keys of :data:`SWEEP_ROLES`): a sweep's by :func:`_sweeps_given`, a
    stochastic solve's forecast optimum (given first, :func:`plans_from_refs`) its "forecast_optimum".
    The page draws each in its role's colour, as the run's report does."""
    given = _sweeps_given(refs, sources, labels, runs)
    out = {label: keys for _, roles in given for label, keys in roles.items()}
    for ref, source in dict(zip(refs, sources, strict=True)).items():
        if ref.is_dir() and RunFolder(ref).kind == "stochastic" and source.labels == list(PLAN_LABELS):
            optimum = next(label for label, run in zip(labels, runs, strict=True) if run == str(ref))
            out[optimum] = ["forecast_optimum"]
    return out


# a what-if's text (a definition, a row's name) differing in a few words says them in place ("a
# discount rate of 15% (“A”) or 10% (“B”) a year"), else it is given whole for each side
WORDS_IN_PLACE = 4
# a text's words, the spaces between them and the punctuation that ends one ("1.4x;": "1.4x", ";")
_PIECES = re.compile(r"(\s+|[;,:.](?=\s|$))")


def both_sides(text: str, other: str, a: str, b: str) -> str:
    """One text of a what-if's two sides (a definition, a row's name), ``a``'s ``text`` and ``b``'s
    ``other``: the words that differ in place where they are a few, else each side's whole."""
    if text == other:
        return text
    x, y = ([piece for piece in _PIECES.split(words) if piece] for words in (text, other))
    start = _common(x, y)
    end = _common(x[start:][::-1], y[start:][::-1])  # the pieces after, counted from the end
    ours, theirs = "".join(x[start:len(x) - end]), "".join(y[start:len(y) - end])
    if start and 0 < len(ours.split()) <= WORDS_IN_PLACE and 0 < len(theirs.split()) <= WORDS_IN_PLACE:
        return f"{''.join(x[:start])}{ours} ({a}) or {theirs} ({b}){''.join(x[len(x) - end:])}"
    return f"{a}: {text} {b}: {other}"


def _common(x: list[str], y: list[str]) -> int:
    """How many words ``x`` and ``y`` share from their start."""
    return next((n for n, (u, v) in enumerate(zip(x, y, strict=False)) if u != v), min(len(x), len(y)))


# the columns of the figures table besides the plans' own (Comparison.tables), and what joins two
# labels in a difference's header: a plan named so would overwrite a column, or read as a difference
RESERVED_LABELS = ("figure", "unit", "better")
DIFFERENCE_SEPARATOR = " − "


ALL_OF = {2: "both", 3: "all three", 4: "all four", 5: "all five", 6: "all six"}


def _which(names: list[str], of: int) -> str:
    """'all five' where ``names`` are all ``of`` figures (two to six), else the names joined."""
    return ALL_OF[of] if len(names) == of in ALL_OF else ", ".join(names)


def unique_labels(labels: list[str]) -> list[str]:
    """``labels`` with a repeated one numbered by its position ("milp", "milp (2)"), unique also
    against the labels already renamed and the table's own columns (a run folder named ``unit``:
    "unit (1)"); a difference's separator in a label becomes a plain hyphen."""
    return numbered([label.replace(DIFFERENCE_SEPARATOR, " - ") for label in labels], RESERVED_LABELS)


def compare_plans(
    data: ModelData,
    plans: list[Plan],
    labels: list[str],
    scenarios: int,
    seed: int,
    backend: str = "auto",
    buffers: list | None = None,
    model: ModelUsed | None = None,
    versions: list[str] | None = None,
    runs: list[str] | None = None,
    scenario_notes: list[str] | None = None,
    objectives: list[str | None] | None = None,
    policies: list[str] | None = None,
    roles: list[str] | None = None,
    picks: list[tuple[str, str]] | None = None,
    role_keys: dict[str, list[str]] | None = None,
) -> Comparison:
    """Evaluate every plan on the same scenarios (common random numbers) and tabulate the differences.
    ``buffers``: each plan's policy liquidity buffer, USD (None: the model's); ``model``: what
    ``data`` was built from, and ``versions``: which plans were made from another version of it
    (sentences), for the comparison's notes; ``runs``: the run folder or plan file of each plan;
    ``scenario_notes``: :func:`figures_not_back`'s sentences, and ``policies``: :func:`policy_note`'s,
    and ``roles``: :func:`sweep_roles`', for the notes too, and ``role_keys`` :func:`plan_role_keys`'
    (the page's colours); ``picks``: :func:`sweep_pick_pairs`' (pick, plan) labels, each plan shown
    against its sweep's pick too (:attr:`Comparison.against_pick`);
    ``objectives``: the objective each plan was solved for, "npv" or "cost" (None: read from its run
    folder in ``runs``, a solve's summary or an evaluation's ``plans_objective``; solves compared in
    memory give theirs)."""
    if len(set(labels)) != len(labels):  # figures are keyed by label: a repeated one would hide a plan
        raise CompareError(f"plan labels must be unique: {labels}")
    evaluated = _Evaluated.of(data, plans, labels, scenarios, seed, backend, buffers)
    same, committed = _alike_pairs(plans, labels, evaluated.batch.liquidity_buffer)
    cost_plans = _cost_plans(labels, objectives or [solve_objective(source) for source in runs or []])
    return Comparison(
        labels=labels,
        figures=_figures_table(data, plans, labels, evaluated, bool(cost_plans)),
        mw_used=power_used(data, labels, evaluated.statements),
        gpus=gpus_held(data, plans, labels),
        purchase_diff=purchases_against_first(data, plans, labels),
        contract_differences=contracts_against_first(data, plans, labels),
        npv_matrix=evaluated.result.npv_matrix,
        data=data,
        n_scenarios=scenarios,
        seed=seed,
        same=same,
        same_commitments=committed,
        model=model,
        versions=list(versions or []),
        policies=list(policies or []),
        roles=list(roles or []),
        role_keys=dict(role_keys or {}),
        against_pick=measured_against_pick(labels, picks or [], evaluated.result),
        runs=list(runs or []),
        scenario_notes=list(scenario_notes or []),
        cost_plans=cost_plans,
        forecast_limits=_forecast_limits(labels, evaluated.on_forecast),
    )


def _figures_table(data: ModelData, plans: list[Plan], labels: list[str], evaluated: _Evaluated,
                   cost: bool) -> pd.DataFrame:  # fmt: skip
    """Every figure (rows, in :func:`_figure_order`; ``cost``: a cost plan's first) of each plan
    (columns, by label) evaluated on the common scenarios and on the forecast."""
    served, result = market_demand_served(data, evaluated.batch), evaluated.result
    statements, on_forecast = evaluated.statements, evaluated.on_forecast
    figures = {
        label: plan_figures(data, plan, statements[n], on_forecast[n], result, n, served[n])
        for n, (plan, label) in enumerate(zip(plans, labels, strict=True))
    }
    return pd.DataFrame(figures).loc[_figure_order([data], result.metrics, figures, cost)]


def _cost_plans(labels: list[str], objectives: list[str | None]) -> list[str]:
    """The labels of the plans solved for least cost (``objectives``: each plan's, in order)."""
    return [label for label, objective in zip(labels, objectives, strict=False) if objective == "cost"]


def _forecast_limits(labels: list[str], on_forecast: list) -> list[tuple[str, str]]:
    """(label, what it breaks, in words) of each plan whose run on the forecast breaches a covenant
    or defaults (:attr:`Comparison.forecast_limits`)."""
    return [(label, forecast.limits_words()) for label, forecast in zip(labels, on_forecast, strict=True)
            if not forecast.within_limits]  # fmt: skip


@dataclass
class _Evaluated:
    """Plans evaluated under one model on the common scenarios: their batch, the evaluation (with
    each pair's NPV, breach and default, for the paired errors), statements and forecast runs."""

    batch: object
    result: object
    statements: list
    on_forecast: list

    @classmethod
    def of(cls, data: ModelData, plans: list[Plan], labels: list[str], scenarios: int, seed: int,
           backend: str, buffers: list | None) -> _Evaluated:  # fmt: skip
        batch = with_buffers(compile_plans(data, plans, labels, check_limits=True), buffers)
        result = evaluate(data, batch, scenarios, seed, backend=backend, keep_matrix=True, keep_outcomes=True)
        statements = [plan_statements(data, plan) for plan in plans]
        return cls(batch, result, statements, forecast_run_batch(data, plans, buffers, statements))


@dataclass
class _Stacked:
    """Two evaluations of one plan each read as one of two plans (what :func:`plan_figures` reads):
    the metrics' rows, NPVs and outcomes one above the other."""

    metrics: pd.DataFrame
    npv_matrix: np.ndarray
    outcomes: dict

    @classmethod
    def of(cls, results: list) -> _Stacked:
        metrics = pd.concat([r.metrics for r in results], ignore_index=True)
        if "slipped_share" in metrics:  # a model without the slip slips nothing
            metrics["slipped_share"] = metrics["slipped_share"].fillna(0.0)
        outcomes = {k: np.vstack([r.outcomes[k] for r in results]) for k in results[0].outcomes}
        return cls(metrics, np.vstack([r.npv_matrix for r in results]), outcomes)


def compare_what_if(
    data: ModelData,
    changed: ModelData,
    plan: Plan,
    labels: list[str],
    change: str,
    scenarios: int,
    seed: int,
    backend: str = "auto",
    buffers: tuple = (None, None),
    model: ModelUsed | None = None,
    run: str = "",
    versions: list[str] | None = None,
    objective: str | None = None,
    changed_model: ModelUsed | None = None,
) -> Comparison:
    """``plan`` under the model (``data``: ``labels[0]``) and under the model changed (``changed``,
    ``change`` in words, ``changed_model`` what it was built from: ``labels[1]``), each evaluated under
    its own model on the same scenarios (seed and count). A scenario's factors are drawn each from a
    stream of its own, so the factors the change leaves alone are the same numbers in both: the
    differences are paired, as between two plans (docs/evaluation.md, "What if"). ``buffers``: the plan's
    cash buffer (USD; None: the model's) on each side; ``versions``: as :func:`compare_plans`'s;
    ``objective``: what the plan was solved for, "npv" or "cost" (None: read from ``run``, as
    :func:`compare_plans` reads it), a cost plan's figures (present cost, demand served) shown and judged
    first, as in a comparison."""
    if len(set(labels)) != 2:
        raise CompareError(f"a what-if compares two labels, the plan's and its what-if's: {labels}")
    first = _Evaluated.of(data, [plan], labels[:1], scenarios, seed, backend, buffers[:1])
    second = _evaluated_under_change(changed, plan, labels[1], change, (scenarios, seed, backend), buffers[1])
    both = [first, second]
    result = _Stacked.of([b.result for b in both])
    models = list(zip((data, changed), labels, both, strict=True))
    figures = {
        label: plan_figures(d, plan, b.statements[0], b.on_forecast[0], result, n,
                            market_demand_served(d, b.batch)[0])
        for n, (d, label, b) in enumerate(models)
    }  # fmt: skip
    mw_used = [power_used(d, [label], b.statements) for d, label, b in models]
    objective = objective if objective is not None else solve_objective(run) if run else None
    cost_plans = list(labels) if objective == "cost" else []
    order = _figure_order([data, changed], result.metrics, figures, bool(cost_plans))
    return Comparison(
        labels=labels,
        figures=pd.DataFrame(figures).loc[order],
        mw_used=pd.concat(mw_used, ignore_index=True),
        gpus=gpus_held(data, [plan, plan], labels),
        purchase_diff=purchases_against_first(data, [plan, plan], labels),
        npv_matrix=result.npv_matrix,
        data=data,
        n_scenarios=scenarios,
        seed=seed,
        model=model,
        runs=[run, run],
        versions=list(versions or []),
        what_if=change,
        what_if_model=changed_model,
        what_if_data=changed,
        cost_plans=cost_plans,
        forecast_limits=_forecast_limits(labels, [b.on_forecast[0] for b in both]),
    )


def _evaluated_under_change(changed: ModelData, plan: Plan, label: str, change: str, settings: tuple,
                            buffer) -> _Evaluated:  # fmt: skip
    """:func:`compare_what_if`'s second side, ``plan`` under the model changed (``settings``: scenarios,
    seed, backend); refused naming the change (``change``, in words) where that model forbids the plan
    or cannot run it (the first side ran: the change is why)."""
    try:
        return _Evaluated.of(changed, [plan], [label], *settings, [buffer])
    except PlanLimitError as exc:
        raise CompareError(f"what_if (--what-if) {change}: the model so changed forbids the plan "
                           f"({exc.problem}), so its figures under it would be meaningless: a what-if may "
                           "change what the plan runs under, not the limits its decisions keep (power "
                           "online, supply, debt); solve the changed model (fleetopt solve --set "
                           "PATH=VALUE) for a plan it allows and compare the two runs") from None
    except InputError as exc:  # a delivery slip past the horizon's end, ...
        raise CompareError(f"what_if (--what-if) {change}: under the model so changed, {exc}") from None


def _alike_pairs(plans: list[Plan], labels: list[str], buffer) -> tuple[list, list]:
    """The pairs of labels of the same plan, and (a, b, what else they decide differently) of plans
    with the same commitments (:func:`other_decisions`), without a plan the same as an earlier one:
    its notes would repeat that one's."""
    n = len(plans)
    same = [(labels[a], labels[b]) for a in range(n) for b in range(a + 1, n)
            if _same_plan(plans[a], plans[b], buffer[a], buffer[b])]  # fmt: skip
    copies = {b for _, b in same}
    pairs = [(a, b) for a in range(n) for b in range(a + 1, n)
             if labels[a] not in copies and labels[b] not in copies]  # fmt: skip
    committed = [(labels[a], labels[b], other) for a, b in pairs
                 if (other := other_decisions(plans[a], plans[b], buffer[a], buffer[b]))]  # fmt: skip
    return same, committed


def _figure_order(models: list[ModelData], metrics: pd.DataFrame, figures: dict, cost: bool) -> list:
    """The rows of the figures table, in order: :data:`FIGURES` less those that say nothing of these
    plans (a covenant's: one that none of ``models``, the plans' models, tests); ``cost``: a plan was
    solved for least cost, whose figures come first."""
    tested = {kind for data in models for kind in tested_kinds(data.covenants)}
    untested = {column(kind) for kind in CATALOGUE if kind not in tested
                for column in (first_breach_column, cushion_figure)}  # fmt: skip
    # what a plan costs and the demand it serves are a lab's figures, shown where a plan was solved for
    # least cost: a neocloud's share of the whole market is short of nothing, and the present cost of
    # plans that maximise NPV ranks nothing (a finance review read "$0.38 per H100-hour" as their cost)
    left_out = untested if cost else untested | {*LAB_ROWS, *COSTS, "market_demand_served"}
    if not limited_liability_differs(metrics):  # the NPV's figures again
        left_out |= set(LIMITED_LIABILITY)
    if not limited_liability_differs(metrics, ACCELERATED):  # the NPV with limited liability's again
        left_out |= set(ACCELERATED)
    for lenders, share in LENDERS_SHARE.items():
        if not (metrics[share] > 0).any():  # no event: no debt at one
            left_out |= set(lenders)
    if "slipped_share" not in metrics:  # the model's deliveries never slip
        left_out.add("slipped_share")
    # a covenant no plan's forecast tests (a lab's GPU loan never drawn): rows of n/a say nothing
    left_out |= {k for k, _, _ in FIGURES if _is_cushion(k) and _none_measured(figures, k)}
    left_out |= {PAIRED_ERROR[k] for k in left_out if k in PAIRED_ERROR}  # a figure's error goes with it
    order = [k for k, _, _ in FIGURES if k not in left_out]
    if cost:  # a lab reads what its plans cost and serve before their NPVs
        order = [*COST_FIRST, *(k for k in order if k not in COST_FIRST)]
    return order


def plan_figures(data: ModelData, plan: Plan, st, on_forecast, result, n: int, demand_served: float) -> dict:
    """The comparison's figures of plan ``n`` (a column of :attr:`Comparison.figures`): its forecast
    run ``on_forecast``, its risk metrics in ``result``, and the paired errors of its figures less
    the first plan's on the same scenarios (:func:`paired_errors`)."""
    npv = result.npv_matrix
    m = result.metrics.iloc[n]
    cost = present_cost(data, st)
    per_hour = cost_per_h100_hour(cost, h100_hours_in_service(data, plan)[1])
    headroom = covenant_headroom(data, st)
    cushion = lowest_cushion(data, headroom)[0]
    trailing = lowest_trailing_cushion(data, trailing_year_headroom(data, st))
    each = covenant_cushions(data, headroom)  # a phrase (nothing to test): no share, NaN
    largest = customer_figures(data, st.lines)["largest_customer_revenue_share"]
    return {
        # none for the first plan (NaN: empty in the CSV, null in the JSON): its difference to itself
        **paired_errors(npv, result.outcomes, n),
        "npv_forecast_usd": on_forecast.npv_usd,
        "npv_cash_held_usd": st.npv_usd - cash_timing_credit(data, st.lines["equity_cash_flow_usd"]),
        "forecast_breach": 0.0 if on_forecast.within_limits else 1.0,
        "lowest_covenant_cushion": np.nan if cushion is None else cushion,
        "lowest_covenant_cushion_trailing": np.nan if trailing is None else trailing,
        **{cushion_figure(t.kind): each[t.kind.name] if isinstance(each[t.kind.name], float) else np.nan
           for t in data.covenants},
        **{k: float(m[k]) for k, _, _ in FIGURES if k in m.index},
        # P5's mirror: the k-th best NPV, k = ceil(5 % of the scenarios) as for P5 the k-th worst
        "npv_p95_usd": float(np.sort(npv[n])[npv.shape[1] - tail_count(npv.shape[1])]),
        "peak_debt_forecast_usd": on_forecast.peak_debt_usd,
        **horizon_totals(st.lines),
        **first_year_capex(data, plan, st.lines),
        "largest_customer_revenue_share": np.nan if largest is None else largest,
        "present_cost_usd": cost,
        "present_cost_per_h100_hour_usd": per_hour if per_hour is not None else np.nan,
        "market_demand_served": float(demand_served),
        "gpus_bought": gpus_bought(data, plan),
        "power_built_mw": power_built_mw(data, plan),
        "contracts_taken": float(np.round(plan.accepted).sum()),
        "gpus_retired": float(plan.retire.sum()),
        "debt_drawn_usd": float(plan.draws.sum()),
    }


def first_year_capex(data: ModelData, plan: Plan, lines: dict) -> dict[str, float]:
    """What a plan commits to in the horizon's first year (:data:`FIRST_YEAR`), USD: its GPU capex
    there (``lines``: its statement lines; a GPU is paid in the quarter bought) and the whole capex
    of the power blocks it starts there, which it pays over their lead time, partly later."""
    started = plan.build_blocks[:, FIRST_YEAR].sum(axis=1)  # (I,) blocks
    return {
        "capex_gpu_first_year_usd": float(lines["capex_gpu_usd"][FIRST_YEAR].sum()),
        "power_committed_first_year_usd": float(sum(n * site.block_capex_usd
                                                    for n, site in zip(started, data.sites, strict=True))),
    }  # fmt: skip


def first_year_names(data: ModelData) -> dict[str, str]:
    """The first-year rows' names with the quarters of that year ("of which in the first year,
    2026Q3..2027Q2 (MILP statements)")."""
    year = span_label(data.quarter_labels, range(min(FIRST_YEAR.stop, data.T)))
    return {
        "capex_gpu_first_year_usd": f"of which in the first year, {year} (MILP statements)",
        "power_committed_first_year_usd": f"capex of the power blocks started in the first year, {year} "
                                          "(whole blocks, paid over their lead time)",
    }  # fmt: skip


def _model_row_names(data: ModelData) -> dict[str, str]:
    """The rows whose names depend on the model: its covenants' and its first year's."""
    return covenant_figure_names(data.covenant_kinds) | first_year_names(data)


def measured_against_pick(labels: list[str], picks: list[tuple[str, str]], result) -> list[AgainstPick]:
    """Each (pick, plan) of ``picks`` (labels of ``labels``, the plans evaluated as ``result``, with
    their NPVs and outcomes) with the paired errors of the plan's figures less the pick's: those of
    :func:`paired_errors` of the two plans' rows, the pick's first."""
    out = []
    for pick, plan in picks:
        rows = [labels.index(pick), labels.index(plan)]
        outcomes = {name: values[rows] for name, values in result.outcomes.items()}
        out.append(AgainstPick(pick, plan, paired_errors(result.npv_matrix[rows], outcomes, 1)))
    return out


def paired_errors(npv: np.ndarray, outcomes: dict, n: int) -> dict[str, float]:
    """Every paired standard error of plan ``n``'s figures less the first plan's on the same
    scenarios (the rows :data:`PAIRED_ERROR` names), from each pair's NPV (``npv``: (plans,
    scenarios), USD) and outcomes (:attr:`EvaluationResult.outcomes`); NaN for the first plan itself."""
    return {
        "npv_mean_paired_se_usd": paired_error(npv[n] - npv[0]) if n else np.nan,
        **paired_tail_errors(npv[0], npv[n], n),
        "loss_probability_paired_se": paired_loss_error(npv, n),
        **paired_mean_errors(outcomes, n),
        **paired_share_errors(outcomes, n),
    }


def paired_loss_error(npv: np.ndarray, n: int) -> float:
    """The paired error of plan ``n``'s P(NPV < 0) less the first plan's (``npv``: (plans,
    scenarios), USD): :func:`paired_error` of the per-scenario 0/1 differences, as the other
    probabilities' (:func:`paired_share_errors`); NaN for the first plan itself."""
    if n == 0:
        return np.nan
    return paired_error((npv[n] < 0).astype(np.float64) - (npv[0] < 0).astype(np.float64))


def paired_mean_errors(outcomes: dict, n: int) -> dict[str, float]:
    """The paired errors of plan ``n``'s means over the scenarios of :data:`MEAN_OF_PAIRS` (the NPV
    with limited liability and if lenders accelerate, the debt left uncovered, the lowest cash,
    utilisation) less the first plan's on the same scenarios: :func:`paired_error` of the
    per-scenario differences of ``outcomes`` (:attr:`EvaluationResult.outcomes`). NaN for the
    first plan itself (``n`` 0)."""
    return {PAIRED_ERROR[figure]: paired_error(outcomes[name][n] - outcomes[name][0]) if n else np.nan
            for figure, name in MEAN_OF_PAIRS.items()}  # fmt: skip


def paired_share_errors(outcomes: dict, n: int) -> dict[str, float]:
    """The paired errors of plan ``n``'s P(covenant breach), P(uncured covenant breach), P(liquidity
    default), P(any default), share of the demand served and P(short) less the first plan's on the
    same scenarios (``outcomes``: each pair's 0/1 ``breach``, ``uncured_breach`` and ``default``,
    its ``demand_share`` and 0/1 ``demand_short``, (plans, scenarios), as the evaluation computed
    them, :attr:`EvaluationResult.outcomes`): :func:`paired_error` of the per-scenario difference,
    as shares (shown in percentage points). NaN for the first plan itself (``n`` 0), and the
    demand's where the model has none."""
    keys = {name: PAIRED_ERROR[figure] for name, figure in OUTCOME_FIGURES.items()}
    if n == 0:
        return dict.fromkeys(keys.values(), np.nan)
    # the first plan's row and this one's only (the demand's NaN where the model has none: no error)
    rows = {name: np.asarray(outcomes[name][[0, n]], dtype=np.float64)
            for name in OUTCOME_FIGURES if name != "any_default"}  # fmt: skip
    rows["any_default"] = either_happened(rows, ANY_DEFAULT_EVENTS).astype(np.float64)
    return {key: paired_error(rows[name][1] - rows[name][0]) for name, key in keys.items()}


def power_used(data: ModelData, labels: list[str], statements: list) -> pd.DataFrame:
    """MW used and available per plan, site and quarter, from each plan's statements."""
    rows = [
        (label, site.name, q, st.lines[f"mw_used_{site.name}"][t], st.lines[f"mw_available_{site.name}"][t])
        for label, st in zip(labels, statements, strict=True)
        for site in data.sites
        for t, q in enumerate(data.quarter_labels)
    ]
    return pd.DataFrame(rows, columns=["plan", "site", "quarter", "mw_used", "mw_available"])


def gpus_held(data: ModelData, plans: list[Plan], labels: list[str]) -> pd.DataFrame:
    """GPUs held per plan, quarter and generation."""
    rows = []
    generations = data.model_generations
    cohorts = {g: [c.index for c in data.cohorts if data.sku_generation[c.sku] == g] for g in generations}
    for plan, label in zip(plans, labels, strict=True):
        held = plan.held
        for g in data.model_generations:
            by_quarter = held[cohorts[g]].sum(axis=0)
            quarters = zip(data.quarter_labels, by_quarter, strict=True)
            rows += [(label, q, GENERATIONS[g], float(gpus)) for q, gpus in quarters]
    return pd.DataFrame(rows, columns=["plan", "quarter", "generation", "gpus"])


# the columns of Comparison.purchase_diff, in the order its tables show them
PURCHASE_DIFF_COLUMNS = ("plan", "quarter", "sku", "site", "gpus_vs_first_plan")
# and of those differences by generation (purchases_by_generation)
BY_GENERATION_COLUMNS = ("plan", "quarter", "generation", "gpus_vs_first_plan")


def purchases_against_first(data: ModelData, plans: list[Plan], labels: list[str]) -> pd.DataFrame:
    """Each later plan's GPUs bought per quarter, SKU and site less the first plan's, where they
    differ (GPUs moved to another site show as fewer at one and more at the other)."""
    rows = []
    sites = [site.name for site in data.sites]
    for plan, label in zip(plans[1:], labels[1:], strict=True):
        delta = (plan.buy_blocks - plans[0].buy_blocks) * data.block_size[:, None, None]  # (S, I, T)
        for s, i, t in sorted(zip(*np.nonzero(delta), strict=True), key=lambda sit: (sit[2], sit[0], sit[1])):
            rows.append((label, data.quarter_labels[t], data.sku_names[s], sites[i], float(delta[s, i, t])))
    return pd.DataFrame(rows, columns=list(PURCHASE_DIFF_COLUMNS))


def purchases_by_generation(data: ModelData, purchase_diff: pd.DataFrame) -> pd.DataFrame:
    """:func:`purchases_against_first`'s differences summed over the sites and the SKUs of a
    generation (plan, quarter, generation, gpus_vs_first_plan), where the sum is not 0: what a plan
    buys more or less of, without the blocks it only moves to another site."""
    generation = [GENERATIONS[data.sku_generation[data.sku_names.index(sku)]] for sku in purchase_diff["sku"]]
    summed = (purchase_diff.assign(generation=generation)
              .groupby(["plan", "quarter", "generation"], sort=False)["gpus_vs_first_plan"].sum()
              .reset_index())  # fmt: skip
    return summed[summed["gpus_vs_first_plan"] != 0].reset_index(drop=True)


def contracts_against_first(data: ModelData, plans: list[Plan], labels: list[str]) -> list:
    """(plan, contracts it takes that the first plan does not, contracts the first takes that it
    does not) for each later plan whose contracts differ from the first's."""
    names = [contract.name for contract in data.contracts]
    first = np.round(plans[0].accepted) > 0
    out = []
    for plan, label in zip(plans[1:], labels[1:], strict=True):
        taken = np.round(plan.accepted) > 0
        here = [names[k] for k in np.flatnonzero(taken & ~first)]
        there = [names[k] for k in np.flatnonzero(first & ~taken)]
        if here or there:
            out.append((label, here, there))
    return out


def market_demand_served(data: ModelData, batch) -> np.ndarray:
    """(P,) the share of the forecast's market demand (H100-equivalent GPU-quarters, both uses)
    each plan serves on the forecast: its market supply, capped by the demand in each use and
    quarter, over the whole demand (1 where there is none)."""
    demand = np.array([data.demand[u] for u in range(len(data.demand))])  # (U, T)
    supply = batch.market_supply.sum(axis=2)  # (P, U, T), over the sites
    total = demand.sum()
    return np.minimum(supply, demand).sum(axis=(1, 2)) / total if total > 0 else np.ones(batch.P)


# the decisions a plan commits to (what people edit: purchases, power, contracts), and the others in
# words, for plans that share the first but not the second (rounded_decision, as plans are compared)
COMMITMENTS = ("buy_blocks", "build_blocks", "accepted")
OTHER_DECISIONS = (
    (("draws",), "debt draws"),
    (("prepay",), "debt prepayments"),
    (COHORT_DECISIONS, "redeployments and retirements"),
    (("active", "contract_gpus"), "which GPUs serve the contracts and the market"),
)  # fmt: skip


def other_decisions(a: Plan, b: Plan, buffer_a: float = 0.0, buffer_b: float = 0.0) -> list[str]:
    """What else two plans with the same commitments (:data:`COMMITMENTS`) decide differently, in
    words, their policy cash buffers (``buffer_a``, ``buffer_b``, USD) included; [] where their
    commitments differ, or nothing else does."""

    def same(name: str) -> bool:
        return np.array_equal(rounded_decision(getattr(a, name)), rounded_decision(getattr(b, name)))

    if not all(same(name) for name in COMMITMENTS):
        return []
    other = [words for names, words in OTHER_DECISIONS if not all(same(name) for name in names)]
    if buffer_a != buffer_b:
        other.append(f"the policy's cash buffer ({format_usd(buffer_a)} and {format_usd(buffer_b)})")
    return other


def _same_plan(a: Plan, b: Plan, buffer_a: float, buffer_b: float) -> bool:
    """Whether two plans make the same decisions (Plan.decisions_key, as the sweep tells its
    candidates apart) and run with the same buffer."""
    return buffer_a == buffer_b and a.decisions_key() == b.decisions_key()
