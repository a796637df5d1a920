"""A stochastic run's summary in words for a finance reader, as the terminal's tables and the
report write them: the measures' labels, why a measure is missing, the first stage, the plan's
facts (its rescues, where its VSS comes from, its completion) and the gaps."""

from __future__ import annotations

from fleetopt.core.tail import cvar_name
from fleetopt.core.units import (
    counted,
    format_error,
    format_gap,
    format_percent,
    format_rate,
    format_usd,
    format_usd_change,
)
from fleetopt.milp.completion import completion_facts
from fleetopt.milp.highs import DEFAULT_MIP_GAP
from fleetopt.schema.loaded_model import HORIZON_QUARTERS
from fleetopt.stochastic.measures import vss_split
from fleetopt.stochastic.recourse import FORECAST_ABOVE_RP

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
    if stopped := stopped_short(summary):
        rows.append(("solve stopped short", stopped, True))
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
    """Where a VSS comes from, as rows for the terminal and the report: its NPV part and its penalty
    part (:func:`~fleetopt.stochastic.measures.vss_split`), the share of the reduced scenarios'
    probability in which the forecast optimum's first stage needs a rescue or cure (each counted in
    EEV at its penalty), and the VSS beside the out-of-sample mean NPV, a warning where they disagree
    in sign. twosite, N = 10: VSS $239.1M, of which -$2.9M of NPV, the forecast optimum's first stage
    rescued in 72 % of the probability, while out of sample the plan's mean NPV was $5.7M below (a
    CFO read the VSS as what the plan earns, §7b "Measures")."""
    parts = vss_split(summary)
    if not parts:
        return []
    weight = (summary.get("settings") or {}).get("risk_weight") or 0
    tail = f" and the CVaR's weight (L = {weight:g}) on the worst scenarios" if weight else ""
    mine, eev = summary["expected_npv_usd"], summary["eev_expected_npv_usd"]
    npv, penalties = format_usd(parts["vss_npv_usd"]), format_usd(parts["vss_penalty_usd"])
    words = (f"{npv} of expected NPV (the plan's {format_usd(mine)} less the forecast optimum's first "
             f"stage's {format_usd(eev)}) and {penalties} of rescue and covenant-cure penalties the plan "
             f"avoids{tail}, over the reduced scenarios")
    rows = [("where the VSS comes from", words, False)]
    if (rescued := summary.get("eev_rescued_probability")) is not None:
        rows.append(("the forecast optimum's first stage in the reduced scenarios",
                     f"needs a rescue or a covenant cure in {format_percent(rescued)} of their probability, "
                     "each counted in EEV at its penalty", False))  # fmt: skip
    return rows + _vss_beside_out_of_sample(summary)


def _vss_beside_out_of_sample(summary: dict) -> list[tuple[str, str, bool]]:
    """One row reconciling the VSS (in sample, penalties counted) with the out-of-sample mean NPV
    (what a plan earns on fresh futures), a warning where they disagree in sign; none without the
    check."""
    paired = (summary.get("out_of_sample") or {}).get("paired") or {}
    difference, vss = paired.get("npv_mean_usd_diff"), summary.get("vss_usd")
    if difference is None or vss is None:
        return []
    fresh = summary["out_of_sample"]["scenarios"]
    error = paired.get("npv_mean_usd_diff_se")
    se = "" if error is None else f" (standard error {format_error(error)})"
    words = (f"the VSS is in sample, over the scenarios the plan was fitted to, and counts penalties; out of "
             f"sample, what a plan earns on {fresh:,} fresh futures, the stochastic plan's mean NPV is "
             f"{format_usd_change(difference)}{se} against the forecast optimum's: judge the plan by that")
    return [("VSS against the out-of-sample check", words, vss > 0 > difference)]


def rp_objective(weight: float | None) -> str:
    """What RP weighs, by the run's --risk-weight L (settings' ``risk_weight``): 'expected NPV less rescue
    penalties', or with L > 0 the risk-weighted objective (§7b: (1 - L) E[V] + L CVaR(V), V a
    scenario's value, its NPV less its penalties), which a CFO read as the expected NPV."""
    if not weight:
        return "expected NPV less rescue penalties"
    return f"risk-weighted: (1 - L) x expected value + L x CVaR of value, L = {weight:g}"


# the measures of a two-stage solve (§7b, "Measures"), each named in words for a finance reader, as
# the terminal's table and the report write them (RP's by rp_objective); then the in-sample figures
MEASURES = (
    ("rp_usd", "RP, recourse problem: the solver's objective for the stochastic plan over the reduced "
     "scenarios ({rp}; in sample, not a forecast of value)"),
    ("ev_usd", "EV: the forecast optimum's NPV on the forecast alone (no CVaR of scenarios)"),
    ("eev_usd", "EEV: the forecast optimum's first stage in the scenarios (value)"),
    ("ws_usd", "WS, wait-and-see: each scenario planned knowing its future (value)"),
    ("vss_usd", "VSS = RP - EEV: value of the stochastic solution over the reduced scenarios (in sample, "
     "rescue penalties counted: where it comes from, below)"),
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
    weight = (summary.get("settings") or {}).get("risk_weight")
    labels["rp_usd"] = labels["rp_usd"].format(rp=rp_objective(weight))
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


def stopped_short(summary: dict) -> str | None:
    """Where the stochastic plan keeps the first stage of an RP solve stopped short of its gap (a
    ``--time-limit``), that it is the best first stage found, not shown the best, and what to do, in
    words; None where RP reached its gap or the plan keeps the forecast optimum's first stage (which
    ``first_stage`` explains). A planner given '64.70%' in the status row alone read the run's "In
    short, ... commit to" as of a finished solve (§7b, "Time limit")."""
    status = summary.get("status")
    if status in (None, "optimal") or not keeps_rp(summary):
        return None
    gap = summary.get("plan_gap", summary.get("gap"))
    asked = (summary.get("settings") or {}).get("mip_gap")
    short = f", short of the {gap_asked(asked)} asked" if asked is not None else ""
    return (f"the solve stopped ({_stopped(status, gap)}{short}): its first stage is the best it found, "
            "not shown to be the best for these scenarios; give each solve more time (--time-limit) or "
            "fewer scenarios (--stochastic N) before committing to it")


def gap_words(summary: dict) -> str:
    """RP's gap, and where the plan keeps the forecast optimum's first stage, that plan's own gap to
    RP's bound beside it: "41.33% (RP's plan; the plan kept: 1.16%)"."""
    gap = format_gap(summary.get("gap"))
    if keeps_rp(summary) or "plan_gap" not in summary:
        return gap
    return f"{gap} (RP's plan; the plan kept: {format_gap(summary['plan_gap'])})"


def gap_asked(gap: float) -> str:
    """A ``--mip-gap`` setting in words: as a solve's gap is written (1.00%), or where that would read
    0.00% (--mip-gap 1e-6, which a planner read as no gap asked at all), as given (0.0001%)."""
    return format_gap(gap) if gap >= 1e-4 else format_rate(gap)


def forecast_gap_note(settings: dict) -> str | None:
    """Why the forecast optimum beside the stochastic plan may not be `fleetopt solve`'s, in one line,
    where the run's gap is not `fleetopt solve`'s default (a CFO met two "forecast optima"); None where
    it is, or a summary without its gap."""
    gap = settings.get("mip_gap")
    if gap is None or gap == DEFAULT_MIP_GAP:
        return None
    return (f"The forecast optimum here is solved at this run's {gap_asked(gap)} gap, not fleetopt "
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
