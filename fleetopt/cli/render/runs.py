"""`fleetopt runs` and `runs show`: the registry's listing and a run's detail."""

from __future__ import annotations

import math
import warnings
from datetime import datetime
from pathlib import Path

from rich.table import Table
from rich.text import Text

from fleetopt.core.metric_columns import (
    ANY_DEFAULT_LABEL,
    METRIC_COLUMNS,
    PRESENT_COST_COLUMNS,
    SHORTFALL_SHARE,
)
from fleetopt.core.results.headline import figure_text
from fleetopt.core.results.valuation import basis_words, solve_figures
from fleetopt.core.units import (
    counted,
    format_percent,
    format_usd,
    format_usd_per_hour,
)
from fleetopt.errors import FleetoptWarning
from fleetopt.evaluate.metrics import RANK_WORDS, ranking_of, ranking_words, service_floor_of
from fleetopt.runs.folder import RunFolder
from fleetopt.runs.key_figures import (
    OUT_OF_SAMPLE,
    PURCHASES_FILE,
    RANKING_FIGURES,
    recorded_basis,
    recorded_out_of_sample,
    solved_for_cost,
)
from fleetopt.runs.registry import DAMAGED
from fleetopt.schema.issues import ModelError
from fleetopt.schema.loaded_model import DISCOUNT_RATE, HORIZON_QUARTERS
from fleetopt.schema.loading import load_model
from fleetopt.schema.model_changes import MODEL_CHANGES, MODEL_SOURCE_CHANGES, model_words
from fleetopt.stochastic.paired import (
    out_of_sample_action,
    out_of_sample_verdict_word,
    paired_cells,
    paired_words,
)
from fleetopt.stochastic.summary_words import keeps_rp, rp_objective


def key_figure(kind: str, fig: dict) -> str:
    """A run's headline in the registry's list: the forecast NPV of a solved plan, the scenario
    figures of an evaluation (the plan it shows first, named) or of a sweep's pick, the stochastic
    plan against the forecast optimum out of sample (its in-sample RP where the record keeps no
    such comparison), each with its number of scenarios where the record keeps it (a CVaR5 over 20 is
    one scenario's NPV); a deterministic evaluation's one scenario is the forecast: its NPV there."""
    over = _over_scenarios(kind, fig)
    if kind in ("evaluate", "sweep") and "npv_mean_usd" in fig:
        return _scenario_headline(kind, fig, over)
    if kind == "stochastic" and (oos := recorded_out_of_sample(fig)) is not None:
        return _out_of_sample_headline(oos, keeps_rp(fig))
    if kind == "stochastic" and "rp_usd" in fig:
        return _in_sample_headline(fig, over)
    return _forecast_headline(fig)


def _over_scenarios(kind: str, fig: dict) -> str:
    """' over 1,000 scenarios (seed 7)' of a run's record that keeps its scenarios ('' otherwise, and
    of a solve): two runs on other scenarios are told apart."""
    count = fig.get("n_scenarios", fig.get("scenarios")) if kind != "solve" else None
    whole = isinstance(count, int) and not isinstance(count, bool)
    seed = fig.get("seed", fig.get("scenario_seed"))
    of_seed = f" (seed {seed})" if isinstance(seed, int) and not isinstance(seed, bool) else ""
    return f" over {counted(count, 'scenario')}{of_seed}" if whole else ""


def _scenario_headline(kind: str, fig: dict, over: str) -> str:
    """An evaluation's first plan, or a sweep's pick, by its figures over the scenarios (``over``)."""
    pick = f"pick ({fig['recommended']}): " if fig.get("recommended") else "pick: "  # named, where kept
    whose = pick if kind == "sweep" else _plan_shown(fig)
    if _serves_demand(fig):  # a lab's: what its plan costs, then its service level
        return f"{whose}{_cost_words(fig)}{_service_words(fig, fig['demand_served_share'], over)}"
    if fig.get("deterministic"):  # worded as a solve's
        return f"{whose}NPV {format_usd(fig['npv_mean_usd'])} on the forecast"
    cvar5 = format_usd(fig["npv_cvar5_usd"])
    # the default risk a treasurer lists runs for: as lenders count defaults, where the record keeps it
    anyhow = fig.get("any_default_probability")
    lenders = f", {ANY_DEFAULT_LABEL} {format_percent(anyhow)}" if isinstance(anyhow, float) else ""
    return f"{whose}mean NPV {format_usd(fig['npv_mean_usd'])}, CVaR5 {cvar5}{lenders}{over}"


def _plan_shown(fig: dict) -> str:
    """'forecast (of 2 plans, the highest CVaR5 NPV): ', the plan an evaluation's record keeps by its
    label (a purchases file's name, so two evaluations are told apart), with how many it was chosen
    from and by which ranking (the record's rank_by, max_breach_prob and min_service; none kept: the
    default)."""
    label, n_plans = fig.get("plan"), fig.get("n_plans", 1)
    if not (isinstance(n_plans, int) and n_plans > 1):
        return f"{label}: " if label else ""
    ranking = {k: fig[k] for k in RANKING_FIGURES if k in fig}
    rank_by, limit = ranking_of(ranking)
    ranked = f", {ranking_words(rank_by, limit, service_floor_of(ranking))}" if rank_by in RANK_WORDS else ""
    return f"{label or 'the plan shown'} (of {n_plans:,} plans{ranked}): "


def _in_sample_headline(fig: dict, over: str) -> str:
    """A stochastic run whose record keeps no out-of-sample comparison: its in-sample value (RP) over
    its scenarios (``over``), or the plan it kept where that is the forecast's first stage."""
    # RP named by what it is: a new user read "RP $12.96B" as nothing (stochastic/summary_words.py's words)
    rp = format_usd(fig["rp_usd"])
    if fig.get("plan_value_usd") is not None and not keeps_rp(fig):  # RP's plan is not the plan
        kept = format_usd(fig["plan_value_usd"])
        return f"plan kept (the forecast's first stage) {kept}, the stochastic plan's (RP) {rp}{over}"
    return f"stochastic plan's in-sample value (RP: {rp_objective(fig.get('risk_weight'))}) {rp}{over}"


def _forecast_headline(fig: dict) -> str:
    """A solve's plan on the forecast: its present cost (solved for least cost), else its NPV, with
    its policy where the policy reacts, marked where a rescue completed it ('' without either)."""
    if _costs(fig):
        # its levelized cost (absent in a record written before it, None where no GPU is in service)
        per_hour = fig.get("present_cost_per_h100_hour_usd")
        hourly = "" if per_hour is None else f", {format_usd_per_hour(per_hour)} per H100-equivalent GPU-hour"
        return f"present cost {format_usd(fig['present_cost_usd'])} on the forecast{hourly}{_fixed(fig)}"
    # purchases completed with the rescue (solve --rescue): its plan breaks hard limits there
    rescued = "rescued, breaks hard limits: " if str(fig.get("status", "")).startswith("rescued") else ""
    if fig.get("policy_reacts"):  # as the report shows it: the plan as the company runs it
        return (f"{rescued}NPV {format_usd(fig['policy_npv_usd'])} on the forecast with its policy (the "
                f"MILP's {format_usd(fig.get('npv_usd'))}){_fixed(fig)}")  # fmt: skip
    if "npv_usd" in fig:
        return f"{rescued}NPV {format_usd(fig['npv_usd'])} on the forecast{_fixed(fig)}"
    return ""


def _costs(fig: dict) -> bool:
    """Whether a solve's key figure is its present cost (solved for least cost), not an NPV."""
    return solved_for_cost(fig) and "present_cost_usd" in fig


def _serves_demand(fig: dict) -> bool:
    """Whether an evaluation's or a sweep's key figure is the share of demand its cost plan serves,
    not an NPV: of plans solved for least cost (:func:`~fleetopt.runs.key_figures.solved_for_cost`)."""
    served = fig.get("demand_served_share")
    return solved_for_cost(fig) and isinstance(served, float) and math.isfinite(served)


def _cost_words(fig: dict) -> str:
    """'present cost $783.4M on average (CVaR95 $988.1M), ': what an evaluation's cost plan costs over its
    scenarios ('present cost $779.7M on the forecast, ' of a deterministic one), where its record keeps it
    (not one written before fleetopt showed it: '')."""
    mean = fig.get("present_cost_mean_usd")
    if not isinstance(mean, float):
        return ""
    if fig.get("deterministic"):
        return f"present cost {format_usd(mean)} on the forecast, "
    cvar95 = fig.get("present_cost_cvar95_usd")
    tail = f" (CVaR95 {format_usd(cvar95)})" if isinstance(cvar95, float) else ""
    return f"present cost {format_usd(mean)} on average{tail}, "


def key_figure_objectives(kind: str, fig: dict) -> tuple[str, ...]:
    """What a run's :func:`key_figure` counts, as :func:`basis_words`'s ``figures``: ("cost",) for a
    cost solve's present cost and an evaluation's cost plan's present cost, () for a cost plan's demand
    served alone (a share, not discounted: a record kept before the present cost was), else ("npv",)."""
    if kind in ("evaluate", "sweep") and "npv_mean_usd" in fig and _serves_demand(fig):
        return ("cost",) if _cost_words(fig) else ()
    return ("cost",) if kind == "solve" and _costs(fig) else ("npv",)


def _out_of_sample_headline(oos: dict, rp_kept: bool = True) -> str:
    """A stochastic run in the registry's list by what to judge its plan by: the stochastic plan (the
    plan kept, where it keeps the forecast's first stage: not ``rp_kept``) less the forecast optimum
    on fresh scenarios (:func:`recorded_out_of_sample`), mean NPV and CVaR5 with their paired
    standard errors, and its verdict (:func:`out_of_sample_verdict_word`: 'worse', 'a trade'; its
    advice, too long for a list's column, is in `runs show`)."""
    cells = dict(paired_cells(oos["paired"]))
    verdict = out_of_sample_verdict_word(oos["paired"])  # `runs show` gives the advice too
    figures = f"mean NPV {cells['mean']}, CVaR5 {cells['CVaR5']}"
    return f"{_out_of_sample_what(oos, rp_kept)}: {figures}" + (f"; {verdict}" if verdict else "")


def _out_of_sample_what(oos: dict, rp_kept: bool = True) -> str:
    """'out of sample on 1,000 fresh scenarios (seed 8), stochastic plan less forecast optimum (paired
    standard error)' (the count and seed where recorded; 'plan kept (the forecast's first stage)'
    where it keeps that, not RP's)."""
    count = oos["scenarios"]
    whole = isinstance(count, int) and not isinstance(count, bool)
    over = f" on {counted(count, 'fresh scenario')} (seed {oos['seed']})" if whole else ""
    plan = "stochastic plan" if rp_kept else "plan kept (the forecast's first stage)"
    return f"out of sample{over}, {plan} less forecast optimum (paired standard error)"


def _fixed(fig: dict) -> str:
    """', purchases of p.csv fixed' for a solve given a purchases file (its name: solves of several
    people's plans are told apart in the list), else ''."""
    file = fig.get(PURCHASES_FILE)
    return f", purchases of {Path(file).name} fixed" if isinstance(file, str) else ""


def _service_words(fig: dict, served: float, over: str) -> str:
    """An evaluation of a cost plan in the registry's list: the demand it serves (docs/evaluation.md),
    'demand served 89.2% on average over 1,000 scenarios, more than 1% short in 81.8% of them'."""
    if fig.get("deterministic"):
        return f"demand served {format_percent(served)} on the forecast"
    short = fig.get("shortfall_probability")
    words = f"demand served {format_percent(served)} on average{over}"
    if not isinstance(short, float):
        return words
    return f"{words}, more than {SHORTFALL_SHARE:.0%} short in {format_percent(short)} of them"


NOT_RECORDED = "horizon and discount rate not recorded"  # by a record written before records kept them
# where: `runs show` reads them from the run's model.yaml
OLDER_RUNS = "runs of an older fleetopt; `fleetopt runs show ID` gives them"


def _listed_basis(records) -> tuple[str, list[str]]:
    """What the listed runs' key figures are counted over and at what rate they discount, from
    their records (:func:`recorded_basis`; a reader had NPVs and P(any default) of no stated rate or
    horizon), each figure by what it is (:func:`key_figure_objectives`: a cost solve's present cost
    was said to be an equity NPV): once, under the list's title, where every run shares horizon and
    rate; else each run's, to its key figure ('' for a damaged record, which has none), the line under
    the title saying where those not recorded are."""
    readable = [r for r in records if DAMAGED not in r.figures]
    bases = {recorded_basis(r.figures) for r in readable}
    if len(bases) == 1:
        (basis,) = bases
        unknown = f"key figures' {NOT_RECORDED} ({OLDER_RUNS})"
        listed = {o for r in readable for o in key_figure_objectives(r.kind, r.figures)}
        said = tuple(o for o in ("npv", "cost") if o in listed)  # in a fixed order
        return (f"key figures {basis_words(*basis, figures=said)}" if basis else unknown), [""] * len(records)
    shown = ["" if DAMAGED in r.figures else f"; {_basis_of(r)}" for r in records]
    return (f"{NOT_RECORDED}: {OLDER_RUNS}" if None in bases else ""), shown


def _basis_of(record) -> str:
    """:func:`basis_words` of a run's record, for its key figure, or :data:`NOT_RECORDED`."""
    basis = recorded_basis(record.figures)
    said = key_figure_objectives(record.kind, record.figures)
    return basis_words(*basis, figures=said) if basis else NOT_RECORDED


class RunsListing:
    """`fleetopt runs`: a table of the runs, newest first, each folder whole (copied and pasted into
    the next command: it was folded mid-name, "/tmp/h-walk-us│er/runs/..."), the key figure wrapped
    in what width is left; where even so the table does not fit the terminal, a block per run. Their
    horizon and discount rate on a line under its title, where all share them, else after each key
    figure."""

    TITLE = "runs (newest first)"

    HEADERS = ("id", "when (UTC)", "kind", "model", "key figure", "folder")
    KEY_WIDTH = 16  # the key figure's narrowest column, wrapped

    def __init__(self, records):
        records = list(records)
        self.basis_line, bases = _listed_basis(records)
        self.rows = [_run_row(r, basis) for r, basis in zip(records, bases, strict=True)]

    def _narrowest(self) -> int:
        """The width of the table with every cell but the key figure whole: each column's widest
        cell, a space either side, and a border between and around them."""
        rows = [self.HEADERS, *self.rows]
        widths = [max(len(str(row[i])) for row in rows) for i in range(len(self.HEADERS))]
        widths[self.HEADERS.index("key figure")] = self.KEY_WIDTH
        return sum(widths) + 3 * len(widths) + 1

    def __rich_console__(self, console, options):
        # what the key figures are over, under the title, as the solve's plan table says it in its title
        title = f"{self.TITLE}\n{self.basis_line}" if self.basis_line else self.TITLE
        table = Table(title=title)
        for name in self.HEADERS:
            wraps = name == "key figure"  # the others are kept whole
            table.add_column(name, no_wrap=not wraps, min_width=self.KEY_WIDTH if wraps else None)
        for row in self.rows:
            table.add_row(*row)
        if self._narrowest() <= options.max_width:
            yield table
            return
        yield Text(f"{self.TITLE}: id, when (UTC), kind, model; key figure; folder")
        if self.basis_line:
            yield Text(self.basis_line)
        for number, when, kind, model, key, folder in self.rows:
            yield Text.assemble((number, "bold"), f"  {when}  {kind}  ", model)
            for line in Text(key).wrap(console, max(options.max_width - 3, 20)):
                yield Text.assemble("   ", line)
            # whole, the terminal wrapping it where it must: copied as one line
            yield Text.assemble("   ", folder, no_wrap=True, overflow="ignore")


def runs_table(records) -> RunsListing:
    """The runs as `fleetopt runs` lists them (:class:`RunsListing`)."""
    return RunsListing(records)


def _run_row(r, basis: str = "") -> tuple[str, str, str, Text, str, Text]:
    """A run's row in the list: its id, when it was written (to the minute; UTC, as the header says),
    its kind, its model ("neocloud (edited: horizon.quarters)" where --set changed it), key figure
    (followed by ``basis``, its horizon and rate where the runs listed do not share them) and folder
    (:func:`shown_folder`)."""
    try:
        key = "damaged record" if DAMAGED in r.figures else key_figure(r.kind, r.figures) + basis
    except (TypeError, ValueError, KeyError):  # a figure edited by hand into text: the rest is listed
        key = "unreadable figures"
    missing = "" if r.exists else _gone(r, " (missing)", " (now run {})")
    folder = Text(shown_folder(r.path) + missing, style=None if r.exists else "red")
    return str(r.id), _minute(r.created_utc), r.kind, Text(r.model_shown()), key, folder


def _minute(stamp: str) -> str:
    """An ISO 8601 time as "2026-12-05 13:38" (as written where it is not one)."""
    try:
        return datetime.fromisoformat(stamp).strftime("%Y-%m-%d %H:%M")
    except (TypeError, ValueError):
        return str(stamp)


def shown_folder(path: Path) -> str:
    """A folder as a command takes it from here: relative to the current folder where it is inside it
    (runs/20261205-133800-neocloud), else whole."""
    here = Path.cwd()
    inside = here != Path(here.anchor) and Path(path).is_relative_to(here)  # not from "/": tmp/...
    return str(Path(path).relative_to(here)) if inside else str(path)


def run_detail(record) -> Table:
    table = Table(show_header=False, title=f"run {record.id}")
    table.add_column("", style="bold")
    table.add_column("")
    table.add_row("when (UTC)", record.created_utc)
    table.add_row("kind", record.kind)
    table.add_row("command", Text(record.command, overflow="fold"))
    table.add_row("model", Text(_model_of(record), overflow="fold"))
    missing = "" if record.exists else _gone(
        record, "  MISSING: deleted or moved", "  REPLACED: the folder now holds run {}, written there since"
    )
    table.add_row("folder", Text(str(record.path) + missing, overflow="fold"))
    table.add_row(BASIS_ROW, Text(_basis(record)))
    # the cost objective's figures of a plan solved for NPV rank nothing (compare leaves them out too:
    # "$0.38 per H100-hour" was read as a neocloud plan's cost); its record keeps them
    costs = record.kind == "solve" and record.figures.get("objective", "npv") != "cost"
    # the out-of-sample figures in one row, as the solve's table writes them
    skipped = (OUT_OF_SAMPLE, _COST_FIGURES) if costs else (OUT_OF_SAMPLE,)
    for key, value in record.figures.items():
        if key not in _SHOWN_ABOVE and not key.startswith(skipped):
            table.add_row(key, Text(figure_text(key, value)))
    oos = recorded_out_of_sample(record.figures)
    if oos is not None:
        what = _out_of_sample_what(oos, keeps_rp(record.figures))
        action = out_of_sample_action(oos["paired"])
        advice = f"; {action}" if action else ""
        table.add_row("out_of_sample", Text(f"{what}: {paired_words(oos['paired'])}{advice}"))
    table.caption = _FIGURES_MEAN.get(record.kind, "") + (_COSTS_LEFT_OUT if costs else "")
    if record.kind == "evaluate" and _cost_words(record.figures):  # a cost plan's tail, as metrics.csv's
        table.caption += f"; present_cost_cvar95_usd: {PRESENT_COST_COLUMNS['present_cost_cvar95_usd']}"
    return table


BASIS_ROW = "horizon and discount rate"


def _basis(record) -> str:
    """What the run's figures are counted over and at what rate its NPVs discount ("over the horizon's
    28 quarters (NPV: equity cash flows and terminal equity at 15% a year, USD)", as compare says
    them), from its record (:func:`recorded_basis`), else from its folder's model.yaml (a record of
    an older fleetopt keeps neither): a reader had NPVs and default probabilities of no stated rate
    or horizon. Not known where that file is gone, unreadable or not the run's model. A cost solve's
    present cost is said first, then its market-valued NPV: its record keeps both; so is an evaluation's
    cost plan's, where its record keeps its present cost."""
    cost = _costs(record.figures) if record.kind == "solve" else bool(_cost_words(record.figures))
    said = solve_figures("cost" if cost else "npv")
    if (recorded := recorded_basis(record.figures)) is not None:
        return basis_words(*recorded, figures=said)
    model_file = RunFolder(record.path).model_file if record.exists else None
    if model_file is None:
        return f"not known: the run's folder, whose {RunFolder.MODEL} says them, is gone"
    try:
        with warnings.catch_warnings():  # its warnings were the run's to give, when it was made
            warnings.simplefilter("ignore", FleetoptWarning)
            loaded = load_model(model_file)
    except ModelError:
        return f"not known: the run's {RunFolder.MODEL} cannot be read"
    if loaded.content_hash != record.model_hash:
        return f"not known: the run's {RunFolder.MODEL} was changed after the run"
    # as the record of a run made today keeps them
    return basis_words(*recorded_basis(loaded.basis_record), figures=said)


def _model_of(record) -> str:
    """'tiny (hash 61052955670881cf) read from /runs/tiny.yaml, changed for this run: horizon.quarters = 8':
    the file read (as an older run kept it: perhaps relative, or with its edits named) and what the
    run changed in it, in one row: the file alone would read as the model used."""
    source = record.figures.get("model_source")
    read = f" read from {source}" if isinstance(source, str) and source else ""
    return model_words(f"{record.model_name} (hash {record.model_hash}){read}", record.model_changes,
                       record.model_source_changes)


_COST_FIGURES = "present_cost_"  # summary.json's figures of the cost objective (formulation §6, "Cost")
_COSTS_LEFT_OUT = ("; present_cost_*, the cost objective's figures, left out of a plan solved for NPV "
                   "(summary.json keeps them)")  # fmt: skip


# what the figures of each kind of run are, by summary.json's names (a credit reader took
# min_liquidity_usd for the liquidity covenant's figure)
_FIGURES_MEAN = {
    "solve": "figures as the run's summary.json names them (docs/formulation.md, 'What a solve writes'): the "
             "MILP's statements of the plan, min_liquidity_usd the lowest cash in any quarter, tested or "
             "not; policy_*: the plan run on the forecast with its policy",
    "evaluate": "figures of the plan the run's report shows first, as metrics.csv names them "
                "(docs/evaluation.md); a deterministic evaluation's one scenario is the forecast, so its "
                "mean NPV and CVaR5 are its NPV on the forecast; "
                # a treasurer read default_probability (cash run out) as the lenders' count of defaults
                f"default_probability: {METRIC_COLUMNS['default_probability']}; any_default_probability: "
                f"{METRIC_COLUMNS['any_default_probability']}",
    # npv_usd stood unexplained beside npv_mean_usd: which plan's, and over what
    "sweep": "figures as the run's summary.json names them (docs/evaluation.md, 'What a sweep writes'): "
             "npv_usd and those after it the recommended plan's, npv_usd on the forecast, the others over "
             "the scenarios; runner_up_lead_usd its lead over the runner-up on the rule's figure; "
             "rule_breach_limit the highest P(breach) the rule admits; best_mean_within_rule the plan of "
             "highest mean NPV no worse than the forecast optimum on every figure the rule reads (its risks "
             "and its tail figure) and above it and the pick on mean NPV (its differences in summary.json)",
}  # fmt: skip


def _gone(record, missing: str, replaced: str) -> str:
    """Why a run's folder no longer holds it: deleted or moved (whatever run was written there last),
    or a later run written there (RunRecord.held_by)."""
    return missing if record.held_by is None else replaced.format(record.held_by)


# figures of a run's record that `runs show` already gives in its own rows
_SHOWN_ABOVE = {"kind", "model_name", "model_hash", "model_source", MODEL_CHANGES, MODEL_SOURCE_CHANGES,
                HORIZON_QUARTERS, DISCOUNT_RATE}  # fmt: skip
