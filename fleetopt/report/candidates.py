"""A sweep's choice and the plans a run weighed: the Recommendation (its rule in words, the candidates
dropped), the Pareto front and its key, and the table of candidates, or of an evaluation's or a
stochastic run's plans, with their risk."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from html import escape

import numpy as np
import pandas as pd

from fleetopt.compare.sources import SWEEP_ROLES, role_notes
from fleetopt.core.metric_columns import (
    ANY_DEFAULT_LABEL,
    BREACH_LABEL,
    CVAR5_NPV_LABEL,
    DEFAULT_LABEL,
    MEAN_NPV_LABEL,
    P5_NPV_LABEL,
    SHORTFALL_SHARE,
)
from fleetopt.core.results.cost import MARKET_VALUED
from fleetopt.core.results.headline import CVAR95_COST_LABEL, MEAN_COST_LABEL, P95_COST_LABEL
from fleetopt.core.units import counted, error_beside, format_percent, format_rate, format_usd, listed
from fleetopt.evaluate.metrics import (
    BASE_PREPAY_LABELS,
    BASE_PREPAY_USD_LABELS,
    FORECAST_MARK,
    FORECAST_MARK_MEANS,
    FORECAST_OK,
    LIMITED_LIABILITY,
    MEAN_NO_DEFAULT_HEADER,
    RANK_WORDS,
    REACTION_LABELS,
    REACTION_MEANS,
    REACTION_USD_LABELS,
    SERVICE_COLUMN,
    SERVICE_MARK,
    below_floor,
    limited_liability_differs,
    reaction_labels,
    service_floor_of,
    service_mark_means,
)
from fleetopt.report import svg
from fleetopt.report.key_figures import mean_and_error
from fleetopt.report.markup import scroll_hint, sortable_table
from fleetopt.report.reading import ReportRun, cost_sweep, in_cost_terms
from fleetopt.runs.summary_schema import BEST_MEAN_KEY
from fleetopt.sweep.recommendation import best_mean_words, optimum_risks_kept, why_without_lead
from fleetopt.sweep.rule import (
    COST_FRONT_FIGURES,
    COST_RANK,
    FORECAST_CONDITION,
    FRONT_FIGURES,
    Rule,
    optimum_condition,
    rank_words,
)
from fleetopt.sweep.run import rule_chosen_by


def _rule_text(run: ReportRun) -> str:
    """The sweep's rule in words, saying plainly which risk limits were not set."""
    rule = rule_chosen_by(run.summary, run.job, run.folder)
    if rule is None:  # an older sweep resumed with another rule: only the rule's description
        stated = run.summary.get("rule", "?")
        missing = (
            ""
            if "among plans with" in stated
            else (
                f" No limit on {BREACH_LABEL} or {DEFAULT_LABEL} was set: the pick may carry any such risk."
            )
        )
        return f"Rule: {stated}.{missing}"  # fmt: skip
    limits, unset = [], []
    for key, what, flag in (("max_breach_prob", BREACH_LABEL, "--max-breach-prob"),
                            ("max_default_prob", DEFAULT_LABEL, "--max-default-prob"),
                            ("max_any_default_prob", ANY_DEFAULT_LABEL, "--max-any-default-prob")):  # fmt: skip
        if rule.get(key) is None:
            unset.append(f"{what} ({flag})")
        else:
            limits.append(f"{what} at most {rule[key]:.4g} ({format_rate(rule[key])})")
    if rule.get("min_cvar5_usd") is not None:
        limits.append(f"{CVAR5_NPV_LABEL} at least {format_usd(rule['min_cvar5_usd'])}")
    # a sweep resumed after the rule gained this limit applied it even where its job.json lacks it
    applied = FORECAST_CONDITION in run.summary.get("rule", "")
    if rule.get("forecast_within_limits", applied):
        limits.insert(0, "no covenant breach or liquidity default on the forecast itself")
    if rule.get("no_riskier_than_optimum", False):  # sweeps before this limit lack it: they had none
        limits.append(optimum_condition(optimum_risks_kept(str(run.summary.get("rule", ""))), labels=True))
        unset = []  # the optimum's figures bound them
    prefer = rule.get("prefer")
    if prefer == COST_RANK:  # a lab's: the cost lower, and the share of demand served its floor
        limits.append(Rule(prefer=COST_RANK, min_service=rule.get("min_service")).service_words())
        best = f"lowest {rank_words(prefer)}"
    else:
        best = f"highest {RANK_WORDS[prefer]}" if prefer in RANK_WORDS else prefer
    text = f"Rule: the candidate with the {best}"
    text += " among those with " + " and ".join(limits) + "." if limits else ", with no limits."
    if _why_states_rule(run.summary):
        text = ""
    if unset:
        text += (" No limit was set on " + listed(unset, "or") +
                 ": the pick can carry any such risk; set one to exclude risky candidates.")  # fmt: skip
    return text.strip()


def _why_states_rule(summary: dict) -> bool:
    """Whether the sweep's why already gives its rule in words ('Chosen by the rule (best CVaR5 NPV
    among ...)'): the report stated it twice, once in each wording."""
    stated = summary.get("rule")
    return bool(stated) and stated in summary.get("why", "")


def recommendation_section(run: ReportRun) -> str:
    """The pick, its risk and why the rule chose it (how sure it is: "In short", above)."""
    summary, row = run.summary, run.main_metrics
    pick = ""
    if row is not None and cost_sweep(run):
        pick = _cost_pick_words(row)
    elif row is not None:
        either = (f", {ANY_DEFAULT_LABEL} {format_percent(row['any_default_probability'])}"
                  if "any_default_probability" in row else "")  # a sweep before fleetopt 0.4.14: none
        pick = (f" Its {DEFAULT_LABEL} is {format_percent(row['default_probability'])}{either}, "
                f"{BREACH_LABEL} {format_percent(row['breach_probability'])}, {MEAN_NPV_LABEL} "
                f"{format_usd(row['npv_mean_usd'])} and {CVAR5_NPV_LABEL} "
                f"{format_usd(row['npv_cvar5_usd'])}.")  # fmt: skip
    rule = _rule_text(run)
    rule_line = f"<br>{escape(rule)}" if rule else ""
    source = summary.get("reranked_from")
    again = (f"<br>Re-ranked from the sweep in {escape(str(source))}: its candidates"
             f"{escape(_rerank_left_out(summary))}, evaluated again on its scenarios by this rule"
             f"{escape(_rerank_solves(summary))}.") if source else ""  # fmt: skip
    prefer = (summary.get("rule_settings") or {}).get("prefer")
    best = best_mean_words(summary.get(BEST_MEAN_KEY), prefer, summary.get("n_scenarios") or 0)
    best_line = f"<br>{escape(best)}" if best else ""  # a plan no worse than the optimum, above its and the pick's mean NPV
    return (
        f'<h2>Recommendation</h2><p class="why"><b>{escape(summary["recommended"])}</b>.{escape(pick)} '
        f"{escape(why_without_lead(summary))}{rule_line}{again}{best_line}</p>" + _dropped_list(summary)
    )


def _cost_pick_words(row: pd.Series) -> str:
    """A cost sweep's pick by what a lab weighs (lower costs better): its present cost over the scenarios,
    the demand it serves, then the probabilities of a default and a breach."""
    short = f"more than {SHORTFALL_SHARE:.0%} of it unserved in {format_percent(row['shortfall_probability'])}"
    return (f" Its {MEAN_COST_LABEL} is {mean_and_error(row, 'present_cost_mean_usd', 'present_cost_mean_se_usd')}, "
            f"its {CVAR95_COST_LABEL} {format_usd(row['present_cost_cvar95_usd'])} and {P95_COST_LABEL} "
            f"{format_usd(row['present_cost_p95_usd'])} (lower is better); it serves "
            f"{format_percent(row[SERVICE_COLUMN])} of the demand on average, {short} of the scenarios; its "
            f"{DEFAULT_LABEL} is {format_percent(row['default_probability'])}, {ANY_DEFAULT_LABEL} "
            f"{format_percent(row['any_default_probability'])}, {BREACH_LABEL} "
            f"{format_percent(row['breach_probability'])}.")  # fmt: skip


def _rerank_left_out(summary: dict) -> str:
    """The old pick's second round a re-ranking left out for its new pick's, by label ('' where none
    was, or its summary.json, written before it kept them, does not say)."""
    left = summary.get("rerank_left_out") or []
    return f" but the old pick's second round ({'; '.join(left)}), which the new pick's replaces" if left else ""


def _rerank_solves(summary: dict) -> str:
    """What a re-ranking solved: the new pick's planned buffers, by label, or nothing ('' where its
    summary.json, written before it kept them, does not say)."""
    if "rerank_solved" not in summary:
        return ""
    solved = summary["rerank_solved"] or []
    if not solved:
        return " (no solve)"
    return f", solving only the new pick's {counted(len(solved), 'planned buffer')}: {'; '.join(solved)}"


DROPPED_WHY = {
    "infeasible": "the MILP found no plan meeting the model's hard limits for this candidate",
    "duplicate": "the same plan as an earlier candidate",
}


def _why(dropped: dict) -> str:
    """Why a candidate was dropped: the sweep's words, or (sweeps before they were saved) its status's."""
    return dropped.get("why") or DROPPED_WHY.get(dropped["status"], "")


def _dropped_list(summary: dict) -> str:
    dropped = summary.get("dropped") or []
    if not dropped:
        return ""
    items = "".join(
        f"<li>{escape(d['plan'])}: <b>{escape(d['status'])}</b>"
        f"{escape(' (' + _why(d) + ')') if _why(d) else ''}</li>"
        for d in dropped
    )
    return f"<h3>Candidates dropped before the evaluation</h3><ul>{items}</ul>"


PARETO_WORDS = (
    f"The Pareto front is of three figures: {MEAN_NPV_LABEL} and {CVAR5_NPV_LABEL} (higher is better) and "
    f"{BREACH_LABEL} (lower is better); a candidate is on it when no other is at least "
    "as good in all three and better in one."
)


# a cost sweep's share of demand served, as its front's key and its table head it
SERVICE_LABEL = "demand served"


# a cost sweep's front (sweep/rule.py COST_FRONT_FIGURES), in the words of PARETO_WORDS
COST_PARETO_WORDS = (
    f"The Pareto front is of three figures: {MEAN_COST_LABEL} and {CVAR95_COST_LABEL} (lower is better) and "
    f"the share of {SERVICE_LABEL} (higher is better); a candidate is on it when no other is at least "
    "as good in all three and better in one."
)


@dataclass(frozen=True)
class FrontFigures:
    """What a sweep's Pareto chart draws: the metrics columns of its axes and the third figure (its
    key's column), the front's own (sweep/rule.py FRONT_FIGURES, in their order), their names, and the
    words of the front."""

    figures: Mapping[str, int]  # column -> +1 where higher is better
    x_label: str
    y_label: str
    third_label: str
    words: str

    @property
    def columns(self) -> tuple[str, str, str]:
        """The columns of the x axis, the y axis and the key."""
        x, y, third = self.figures
        return x, y, third

    @property
    def third_better(self) -> str:
        return "higher" if self.figures[self.columns[2]] > 0 else "lower"


NPV_FRONT = FrontFigures(FRONT_FIGURES, MEAN_NPV_LABEL, CVAR5_NPV_LABEL, BREACH_LABEL, PARETO_WORDS)
COST_FRONT = FrontFigures(COST_FRONT_FIGURES, MEAN_COST_LABEL, CVAR95_COST_LABEL, SERVICE_LABEL, COST_PARETO_WORDS)


def front_section(metrics: pd.DataFrame, roles: dict[str, list[str]], cost: bool = False) -> str:
    """The Pareto chart of a sweep's candidates (``roles``: what each is to the sweep, by label, its
    keys of compare.SWEEP_ROLES: drawn in its role's colour, as the NPV histogram draws it) and its key;
    of a sweep by ``cost``, its present cost's (lower is better) and the demand each serves."""
    if len(metrics) < 2:  # a front of one point, drawn, showed nothing but its axes
        return (f"<h2>Pareto front</h2><p>One candidate was evaluated ({escape(str(metrics['plan'].iloc[0]))}): "
                "no other to weigh it against, so no front to draw.</p>")  # fmt: skip
    fig = COST_FRONT if cost else NPV_FRONT
    x, y, _ = fig.columns
    points = [
        {"label": f"{n + 1}: {r['plan']}", "key": str(n + 1), "x": r[x], "y": r[y],
         "front": bool(r["on_front"]), "recommended": bool(r["recommended"]), "roles": roles.get(r["plan"], [])}
        for n, (_, r) in enumerate(metrics.iterrows())
    ]  # fmt: skip
    names = {key: words.removeprefix("its ") for key, words in SWEEP_ROLES.items() if key != "recommended"}
    lower = ", lower is better" if cost else ""
    front = svg.both(
        svg.scatter, f"Candidates: {fig.y_label} against {fig.x_label}{lower}", points, "x", "y",
        f"{fig.x_label}, USD", f"{fig.y_label}, USD", role_names=names,
    )  # fmt: skip
    caption = (f"{fig.words} The chart shows two of the three: a point that looks dominated here "
               f"can be on the front for its {fig.third_better} {fig.third_label}, given in the key. Numbers are "
               "the # column of the candidates table; a grey point is numbered only where its number fits beside "
               "it (hover over a point for its name).")  # fmt: skip
    return (f"<h2>Pareto front</h2><div class='grid'><div class='card'>{front}<p class='cap'>{escape(caption)}"
            f"</p></div><div class='card'>{_front_key(metrics, roles, fig)}</div></div>")  # fmt: skip


def _front_key(metrics: pd.DataFrame, roles: dict[str, list[str]], fig: FrontFigures = NPV_FRONT) -> str:
    """The Pareto chart's key, beside it: each point's number, plan (with what it is to the sweep) and
    the front's third figure (P(covenant breach); a cost sweep's demand served), its row marked as in the
    candidates table (a sentence of 22 candidates read as one run-on paragraph)."""
    rows, notes = [], role_notes(roles)
    # a plan that breaks a limit on its own forecast, marked as the candidates table marks it: a reader
    # picking from the chart and its key saw no sign of it
    broken = ~metrics[FORECAST_OK].astype(bool) if FORECAST_OK in metrics else pd.Series(False, metrics.index)
    for n, (at, r) in enumerate(metrics.iterrows()):
        cls = f" class='{_row_class(r, roles)}'" if _row_class(r, roles) else ""
        mark = f"{FORECAST_MARK} " if broken[at] else ""
        rows.append(f"<tr{cls}><td>{n + 1}</td><td class='text wrap'>{escape(mark + _named(r['plan'], notes))}</td>"
                    f"<td>{escape(format_percent(r[fig.columns[2]]))}</td></tr>")  # fmt: skip
    head = f"<th>#</th><th class='text'>plan</th><th>{fig.third_label}</th>"
    marks = [_roles_words(roles, "on the Pareto front"), FORECAST_MARK_WORDS if broken.any() else ""]
    # named for a screen reader: a table in a card with no heading of its own had no name
    return (f"<table class='key' aria-label='Key to the Pareto chart'><thead><tr>{head}</tr></thead>"
            f"<tbody>{''.join(rows)}</tbody></table>{_caption(marks)}")  # fmt: skip


def _row_class(row, roles: dict[str, list[str]]) -> str:
    """A plan's row classes: its role's (svg.ROLE_LOOKS: rec, opt, best; of two, the one the charts
    draw it as), and front where it is on the Pareto front, as its point in the Pareto chart."""
    keys = [*roles.get(row["plan"], []), *(["recommended"] if row.get("recommended") else [])]
    role = svg.drawn_role(keys)
    look = svg.ROLE_LOOKS[role].row_class if role else ""
    return " ".join(c for c in (look, "front" if row.get("on_front") else "") if c)


def _named(plan: str, notes: dict[str, str]) -> str:
    """A plan's name in a table, with what it is to its run in brackets, as the charts' legends
    write it ("milp: forecast (forecast optimum)"): its row's colour said in words."""
    return f"{plan} ({notes[plan]})" if plan in notes else str(plan)


def _roles_words(roles: dict[str, list[str]], front: str = "") -> str:
    """How a table marks its plans' roles ('' where none has one): the colours of the bars at the
    rows' start, each role named after its plan too; and, with ``front`` (its words), the Pareto front."""
    drawn = [key for key in svg.ROLE_COLOURS if any(key in keys for keys in roles.values())]
    bars = [f"{svg.ROLE_LOOKS[key].colour_word} for {SWEEP_ROLES[key].replace('its ', 'the ', 1)}" for key in drawn]
    said = (f"a bar at a row's start marks its plan's role, in the charts' colour: {listed(bars)} (the "
            "role said after the plan too)") if bars else ""
    return "; ".join(w for w in (said, f"a bold blue number: {front}" if front else "") if w)


FORECAST_MARK_WORDS = f"{FORECAST_MARK}: {FORECAST_MARK_MEANS}"


# short, to fit a 1280 px page on two lines each (money in USD, and the abbreviations, in the caption:
# CANDIDATE_LEGEND)
CANDIDATE_HEADERS = {
    "#": "#",
    "forecast_mark": FORECAST_MARK,
    "plan": "plan",
    "origin": "origin",
    # what the rule weighs first, so that a screen shows it before the table scrolls
    "npv_mean_usd": MEAN_NPV_LABEL,
    "npv_cvar5_usd": CVAR5_NPV_LABEL,
    "breach_probability": BREACH_LABEL,
    "default_probability": DEFAULT_LABEL,
    # either event of default, as lenders count them: the terminal's tables give it, and a candidate
    # with the fewer liquidity defaults can have far more uncured breaches (the default model's price
    # shock stress: 16.1 % against 48.8 % of any default)
    "any_default_probability": ANY_DEFAULT_LABEL,
    "forecast_npv_usd": "forecast NPV",
    "npv_mean_se_usd": "SE of mean NPV",
    "npv_mean_no_default_usd": MEAN_NO_DEFAULT_HEADER,
    "npv_p5_usd": P5_NPV_LABEL,
    # the shareholders' tail (docs/evaluation.md), where it differs from the NPV's (candidates_section)
    "npv_limited_cvar5_usd": f"{CVAR5_NPV_LABEL}, limited",
    "loss_probability": "P(NPV < 0)",
    "expected_min_cash_usd": "mean lowest cash",
    "mean_utilisation": "utilisation",
    **REACTION_LABELS,
    # the capex deferred only: a printed page has no room for every USD mean (the key figures list them)
    "deferred_capex_mean_usd": REACTION_USD_LABELS["deferred_capex_mean_usd"],
    # policy rule 6's, where the metrics have them (the rule on): a table shows only the columns it has
    **BASE_PREPAY_LABELS,
    **BASE_PREPAY_USD_LABELS,
}


# what the policy had to do: a table of their own below the candidates' figures, each row named by
# its # and plan (in one table of 24 columns a 1280 px screen showed 10, the rest scrolled out of view);
# rule 6's only where the metrics have its columns
POLICY_COLUMNS = (*REACTION_LABELS, "deferred_capex_mean_usd", *BASE_PREPAY_LABELS, *BASE_PREPAY_USD_LABELS)


# a lab's table (`sweep --objective cost`, an evaluation of plans solved for least cost): what a lab weighs,
# the present cost (lower is better) and the demand served, first, its risks next, the NPV that imputes
# market prices to its own use last
COST_CANDIDATE_HEADERS = {
    "#": "#",
    "forecast_mark": FORECAST_MARK,
    "service_mark": SERVICE_MARK,  # below an evaluation's service floor (--min-service)
    "plan": "plan",
    "origin": "origin",
    "present_cost_mean_usd": MEAN_COST_LABEL,
    "present_cost_mean_se_usd": "SE of mean cost",
    "present_cost_cvar95_usd": "CVaR95 cost",
    "present_cost_p95_usd": "P95 cost",
    SERVICE_COLUMN: SERVICE_LABEL,
    "shortfall_probability": "P(shortfall)",
    **{c: CANDIDATE_HEADERS[c] for c in ("breach_probability", "default_probability", "any_default_probability")},
    "npv_mean_usd": "mean NPV, imputed",
    **{c: CANDIDATE_HEADERS[c] for c in ("expected_min_cash_usd", "mean_utilisation", *POLICY_COLUMNS)},
}


# what a short header of CANDIDATE_HEADERS means, said where its column is shown
CANDIDATE_LEGEND = {
    "npv_mean_no_default_usd": "no liq. default: of the scenarios with no liquidity default",
    "npv_limited_cvar5_usd": "limited: with limited liability",
}


# the same of COST_CANDIDATE_HEADERS
COST_CANDIDATE_LEGEND = {
    "present_cost_mean_usd": ("present cost: the fleet at the start and the quarters' costs less the value at the "
                              "end, in each scenario, lower is better; CVaR95 cost: the mean of the costliest "
                              "5 %, P95 cost the least of them"),
    SERVICE_COLUMN: (f"{SERVICE_LABEL}: the mean share of market demand served; P(shortfall): a scenario short "
                     f"of more than {SHORTFALL_SHARE:.0%} of its demand"),
    "npv_mean_usd": f"imputed: the NPV{MARKET_VALUED}",
}


CANDIDATE_MONEY = {c for c in (*CANDIDATE_HEADERS, *COST_CANDIDATE_HEADERS) if c.endswith("_usd")}


ONE_SCENARIO_HIDDEN = {"npv_mean_se_usd", "npv_mean_no_default_usd", "npv_p5_usd", "npv_cvar5_usd",
                       "npv_median_usd", "npv_limited_cvar5_usd"}  # fmt: skip


ONE_SCENARIO_HEADERS = {"npv_mean_usd": "NPV on the forecast", "expected_min_cash_usd": "lowest cash",
                        "deferred_capex_mean_usd": "GPU capex deferred"}  # fmt: skip


CANDIDATE_SHARES = {c for c in (*CANDIDATE_HEADERS, *COST_CANDIDATE_HEADERS)
                    if c.endswith(("_probability", "_share", "_utilisation"))}




def candidates_section(run: ReportRun) -> str:
    metrics = run.metrics.copy()
    metrics.insert(0, "#", np.arange(1, len(metrics) + 1))
    # runs before the column have none; a deterministic evaluation's own columns say it already; a
    # column of no mark is left out (its legend is said only beside a mark)
    marked = (FORECAST_OK in metrics and run.kind != "stochastic" and not run.summary.get("deterministic")
              and not metrics[FORECAST_OK].astype(bool).all())  # fmt: skip
    if marked:
        metrics.insert(
            1, "forecast_mark", [("" if ok else FORECAST_MARK) for ok in metrics[FORECAST_OK].astype(bool)]
        )
    below = _below_the_floor(run)
    if below.any():  # as the terminal marks them, beside its legend
        metrics.insert(1 + marked, "service_mark", [SERVICE_MARK if b else "" for b in below])
    never = set(REACTION_LABELS) - set(reaction_labels(bool(run.data.contracts)))  # a lab's contracts'
    headers, roles = COST_CANDIDATE_HEADERS if in_cost_terms(run) else CANDIDATE_HEADERS, run.plan_roles
    cols = [c for c in headers if c in metrics.columns and c not in never]
    if not limited_liability_differs(run.metrics, ("npv_limited_cvar5_usd",)):  # the NPV's CVaR5 again
        cols = [c for c in cols if c not in LIMITED_LIABILITY]
    seed, n = run.scenario_source
    classes = [_row_class(r, roles) for _, r in metrics.iterrows()]
    metrics["plan"] = [_named(plan, role_notes(roles)) for plan in metrics["plan"]]
    notes = [FORECAST_MARK_WORDS] if marked else []  # how to read the table: below its heading, not in it
    if below.any():
        notes.append(f"{SERVICE_MARK}: {service_mark_means(service_floor_of(run.summary.get('ranking')))}")
    if roles or run.kind == "sweep":
        front = (f"Pareto front of {MEAN_COST_LABEL}, {CVAR95_COST_LABEL} and {SERVICE_LABEL}" if cost_sweep(run)
                 else f"Pareto front of {MEAN_NPV_LABEL}, {CVAR5_NPV_LABEL} and {BREACH_LABEL}")
        notes.insert(0, _roles_words(roles, front if run.kind == "sweep" else ""))
    if run.kind == "sweep":
        title = f"Candidates and their risk over {n:,} scenarios (seed {seed})"
    elif run.kind == "stochastic":
        title = f"Out of sample: both plans on {n:,} fresh scenarios (seed {seed})"
    elif run.summary.get("deterministic"):  # one scenario: no error, no tail, shares are 0 or 100 %
        cols = [c for c in cols if c not in ONE_SCENARIO_HIDDEN]
        headers = {**CANDIDATE_HEADERS, **ONE_SCENARIO_HEADERS}
        title = f"{'Plans' if len(metrics) > 1 else 'The plan'} on the forecast (deterministic evaluation)"
        notes.append("shares are 100 % where it happens, 0 % where not")
    else:
        title = f"{'Plans and their' if len(metrics) > 1 else 'The plan and its'} risk over {counted(n, 'scenario')} (seed {seed})"
    figures = [c for c in cols if c not in POLICY_COLUMNS]
    legends = COST_CANDIDATE_LEGEND if in_cost_terms(run) else CANDIDATE_LEGEND
    legend = [legends[c] for c in figures if c in legends]
    table = _candidates_table(metrics, figures, headers, classes)
    out = f"<h2>{escape(title)}</h2>{_caption([*notes, 'money in USD', *legend])}{table}"
    policy = [c for c in cols if c in POLICY_COLUMNS]
    if policy:
        out += _policy_section(run, metrics, cols, headers, classes, notes[:1] if roles or run.kind == "sweep" else [])
    return out


def _below_the_floor(run: ReportRun) -> pd.Series:
    """(plans,) whether each plan of an evaluation ranked with a service floor (summary.json's
    ``ranking.min_service``, --min-service) serves less of the demand than it; none of another run."""
    ranking = run.summary.get("ranking") if run.kind == "evaluate" else None
    floor = service_floor_of(ranking if isinstance(ranking, dict) else None)
    if floor is None or SERVICE_COLUMN not in run.metrics:
        return pd.Series(False, index=run.metrics.index)
    return below_floor(run.metrics, floor)


def _policy_section(run: ReportRun, metrics: pd.DataFrame, cols: list[str], headers: dict, classes,
                    notes: list[str]) -> str:
    """What the policy had to do in each plan's scenarios, a row per plan named by # and plan."""
    deterministic = run.summary.get("deterministic")
    shares = "shares of the scenarios with each reaction" if not deterministic else ""
    named = [c for c in cols if c in ("#", "plan")]
    policy = [c for c in cols if c in POLICY_COLUMNS]
    means = " and ".join(headers[c] for c in policy if c.endswith("_usd"))  # the capex deferred; rule 6's
    usd = f"{means}, in USD: {REACTION_MEANS}" if not deterministic else "USD"
    whose = "each candidate" if run.kind == "sweep" else ("each plan" if len(metrics) > 1 else "the plan")
    return (f"<h3>What the policy had to do in {whose}'s scenarios</h3>"
            + _caption([*notes, shares, usd])
            + _candidates_table(metrics, [*named, *policy], headers, classes))  # fmt: skip


def _caption(notes: list[str]) -> str:
    """How to read a table, below its heading: its ``notes`` as one sentence."""
    note = "; ".join(n for n in notes if n)
    return f"<p class='cap'>{escape(note[:1].upper() + note[1:])}.</p>" if note else ""


def _candidates_table(metrics: pd.DataFrame, cols: list[str], headers: dict, classes) -> str:
    """The ``cols`` of the candidates' (plans') metrics, its rows named by # and plan as it scrolls."""
    return scroll_hint(len(cols)) + sortable_table(
        _errors_in_the_mean_scale(metrics[cols]), money_cols=CANDIDATE_MONEY, pct_cols=CANDIDATE_SHARES,
        classes=classes, headers=headers, count_cols={"#"}, figure_cols=set(MEAN_ERRORS),
        sticky=cols.index("plan") + 1 if "plan" in cols else 1,
        wrap_cols={"plan"}, fit=True, tall_headers=True,  # the default model's sweep: 16 columns at 1280 px
    )  # fmt: skip


# each mean's standard error column, by the mean's
MEAN_ERRORS = {"npv_mean_se_usd": "npv_mean_usd", "present_cost_mean_se_usd": "present_cost_mean_usd"}


def _errors_in_the_mean_scale(table: pd.DataFrame) -> pd.DataFrame:
    """The means' standard errors (NPV's, present cost's) written in their mean column's scale, as the key
    figure's '-$19.9M ± $0.8M': in a scale of their own they read '$844.0k' and '$549.4M', digits the
    sampling error does not have; one too small for that scale to two figures of its own (error_beside)."""
    for se, mean in MEAN_ERRORS.items():
        if se in table and mean in table:
            table = table.assign(**{se: [error_beside(float(v), table[mean]) for v in table[se]]})
    return table
