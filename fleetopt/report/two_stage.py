"""A stochastic solve's own sections: what to commit to now, how to judge the plan out of sample,
the solve's diagnostics (its measures over the reduced scenarios, in sample), the plan written and
the reduced scenarios."""

from __future__ import annotations

from html import escape

import pandas as pd

from fleetopt.core.tail import cvar_name
from fleetopt.core.units import counted, format_solver_status
from fleetopt.evaluate.slip import slips
from fleetopt.report.markup import scroll_hint, sortable_table
from fleetopt.report.reading import ReportRun
from fleetopt.runs.run_files import RunFiles
from fleetopt.stochastic.commitments import COMMITMENT_COLUMNS, commitment_lines
from fleetopt.stochastic.gap import gap_reading, optimality_gap_words
from fleetopt.stochastic.paired import (
    OUT_OF_SAMPLE_COLUMNS,
    OUT_OF_SAMPLE_MEANS,
    out_of_sample_lines,
    out_of_sample_words,
)
from fleetopt.stochastic.replications import (
    STABILITY_NAMES,
    STABILITY_SPREAD,
    STABILITY_TITLE,
    samples_words,
    stability_line,
)
from fleetopt.stochastic.rescues import rescue_words
from fleetopt.stochastic.settings import NO_SLIP_WORDS
from fleetopt.stochastic.summary_words import (
    first_stage_text,
    forecast_gap_note,
    gap_words,
    in_sample_labels,
    measure_rows,
    measure_unavailable,
    plan_facts,
)

SCENARIO_HEADERS = {
    "value_usd": "value (USD)",
    "npv_usd": "NPV (USD)",
    "emergency_equity_usd": "emergency equity (USD)",
    "revolver_peak_usd": "revolver peak (USD)",
    "rescue": "rescue (what the scenario's solve relaxed; its penalty is NPV - value)",
}


def stochastic_section(run: ReportRun) -> str:
    """A two-stage run, the answer first: what to commit to now, how the plan does out of sample
    (how to judge it), then the solve's diagnostics (its settings, its measures over the reduced
    scenarios, in sample), how the plan was written and the reduced scenarios."""
    summary, s = run.summary, run.summary["settings"]
    gap = gap_words(summary)
    why = (
        f"{counted(s['scenarios'], 'scenario')} reduced from {s['screened']:,} (seed {s['scenario_seed']}); "
        f"{first_stage_text(s)} shared by all of them; objective (1 - L) E[value] + L "
        f"{cvar_name(s['cvar_alpha'])}(value) with L = {s['risk_weight']:g}; later purchases "
        f"{s['later_purchases']}; solved by {s.get('solve_method', 'HiGHS')}: "
        f"{format_solver_status(summary['status'], None)}, gap {gap}. "  # its gap once, beside it
        "A scenario's value is its NPV less the rescue's penalties (docs/formulation.md §7b)."
    )
    facts = "".join(
        f"<dt>{escape(label)}</dt><dd class='{'bad' if warning else ''}'>{escape(text)}</dd>"
        for label, text, warning in plan_facts(summary)
    )
    out_of_sample = _out_of_sample_paragraph(summary)
    solved = counted(s.get("distinct_scenarios", s["scenarios"]), "reduced scenario")
    judge = "; judge the plan by the out-of-sample comparison above" if out_of_sample else ""
    diagnostics = (f"The solver's figures over its {solved} (in sample): what the solve optimised, not "
                   f"forecasts of the plan's value{judge}.")
    money = {"value_usd", "npv_usd", "emergency_equity_usd", "revolver_peak_usd"}
    unhedged = f"<p class='why'>{escape(NO_SLIP_WORDS)}.</p>" if slips(run.data) else ""
    return (
        _commitments(summary)
        + _stability(summary)
        + unhedged
        + out_of_sample
        + f'<h2>Two-stage stochastic solution: diagnostics</h2><p class="why">{escape(diagnostics)} '
        f"{escape(why)}</p>"
        + sortable_table(_measures(summary), usd_cols={"USD"}, wrap_cols={"measure"})  # on a phone its figures in view
        + (f"<h2>The plan written</h2><dl class='facts'>{facts}</dl>" if facts else "")
        + "<h2>Reduced scenarios under the stochastic solution</h2>"
        + sortable_table(_reduced_scenarios(summary), money_cols=money, pct_cols={"probability"}, headers=SCENARIO_HEADERS,
                 wrap_cols={"rescue"})
    )


def _measures(summary: dict) -> pd.DataFrame:
    """The solve's measures (RP, EV, EEV, WS, VSS, EVPI) and in-sample figures, USD, each as the
    terminal's table writes it (VSS $31.0M beside RP $2.35B, not $0.03B); one not solved to the gap
    reads n/a, with why."""
    shown = []
    for key, label in (*measure_rows(summary), *in_sample_labels(summary["settings"]).items()):
        why_not = measure_unavailable(summary, key)
        if summary.get(key) is not None or why_not is not None:
            shown.append({"measure": label, "USD": summary[key] if why_not is None else f"n/a ({why_not})"})
    return pd.DataFrame(shown)


def _reduced_scenarios(summary: dict) -> pd.DataFrame:
    """Each reduced scenario under the stochastic solution: its probability, value, NPV and rescue."""
    return pd.DataFrame(
        [
            {
                "scenario": row["scenario"],
                "probability": row["probability"],
                "value_usd": row["value_usd"],
                "npv_usd": row["npv_usd"],
                "emergency_equity_usd": row["emergency_equity_usd"],
                "revolver_peak_usd": row["revolver_peak_usd"],
                "rescue": rescue_words(row),
            }
            for row in summary["scenarios"]
        ]
    )


# a planner read 327 GPUs retired against 62 as +266 GPUs, a unit off: the solve's figures are not
# whole (327.4 and 61.5 GPUs retired), and each difference is of those
DIFFERENCE_NOTE = ("Each figure is rounded on its own and each difference is taken of the unrounded figures, "
                   "so a difference may be one off the difference of the rounded ones.")


def _commitments(summary: dict) -> str:
    """What the stochastic plan commits to now beside the forecast optimum, as the terminal's table
    ('' for a summary without them, or where neither commits to anything)."""
    if not summary.get("commitments"):
        return ""
    frame = pd.DataFrame(commitment_lines(summary["commitments"]), columns=list(COMMITMENT_COLUMNS))
    stage = first_stage_text(summary["settings"])
    gap = forecast_gap_note(summary["settings"])
    return (f"<h2>What to commit to now</h2><p class='why'>Each decision of the {escape(stage)}, the "
            "stochastic plan's beside the forecast optimum's: purchases, GPUs retired (sold) and moved "
            "to inference, power, draws and prepayments, and the contracts the two plans decide "
            "differently." + (f" {escape(gap)}" if gap else "") + "</p>"
            + sortable_table(frame, figure_cols=COMMITMENT_COLUMNS[3:]) + f"<p class='cap'>{DIFFERENCE_NOTE}</p>")


# the stability table's mark of a decision that moves between the samples (the terminal's yellow row),
# in words: a colour alone is lost in print, in Markdown and to a colour-blind reader
VARIES_COLUMN = "samples"
VARIES_WORDS = {True: "differ", False: "agree"}
# from this many columns (K = 4 samples) the stability table may scroll sideways on a laptop's 1024 px
# page, and says so (at K = 3 it fits)
SCROLLED_FROM = 13


def _stability(summary: dict) -> str:
    """How stable the first stage is (summary.json's ``replications``): the samples and the verdict, as
    the terminal says them, each decision's amount in each sample with its mean, min and max, those that
    move marked, and the optimality gap's estimate with what it means where the run made one; '' for a
    run of one sample."""
    record = summary.get("replications")
    if not record:
        return ""
    level = "h3" if summary.get("commitments") else "h2"  # under "What to commit to now" where it stands
    samples = samples_words(record, summary["settings"]["scenarios"])
    verdict = record["verdict"]
    said = (f"{samples[0].upper()}{samples[1:]}; the plan above is the first's. {verdict[0].upper()}"
            f"{verdict[1:]}. Each decision's amount in each sample: {RunFiles.REPLICATIONS}.")
    amounts = [*(f"seed {seed}" for seed in record["seeds"]), *STABILITY_SPREAD]
    columns = [*STABILITY_NAMES, VARIES_COLUMN, *amounts]
    frame = pd.DataFrame([_marked(row) for row in record["stability"]], columns=columns)
    hint = scroll_hint(len(columns)) if len(columns) >= SCROLLED_FROM else ""
    return (f"<{level}>{escape(STABILITY_TITLE[0].upper() + STABILITY_TITLE[1:])}</{level}>"
            f"<p class='why'>{escape(said)}</p>{hint}" + sortable_table(frame, figure_cols=amounts, fit=True)
            + _gap_paragraph(summary))  # fmt: skip


def _marked(row: dict) -> list[str]:
    """A stability row as the terminal writes it, with whether it moves between the samples after its
    unit (in view where many samples' amounts scroll)."""
    line, named = stability_line(row), len(STABILITY_NAMES)
    return [*line[:named], VARIES_WORDS[row["varies"]], *line[named:]]


def _gap_paragraph(summary: dict) -> str:
    """The first stage's optimality gap (summary.json's ``replications.gap``) in the terminal's words,
    with its reading for a finance reader; '' without one."""
    record = summary["replications"].get("gap")
    if not record:
        return ""
    words = optimality_gap_words(record, summary["settings"])
    return (f"<p class='why'>{escape(words[0].upper() + words[1:])}. {escape(gap_reading(record))}</p>"
            f"<p class='cap'>Each fresh scenario's value: {RunFiles.GAP_CSV}.</p>")


def _out_of_sample_paragraph(summary: dict) -> str:
    """How to judge the plan: the stochastic plan and the forecast optimum on the fresh scenarios and
    their paired differences with standard errors, in the terminal's table (its difference row; the
    words no longer repeat those figures), then the verdict and what to do ('' without an
    out-of-sample run)."""
    oos = summary.get("out_of_sample") or {}
    if not oos.get("paired"):
        return ""
    frame = pd.DataFrame(out_of_sample_lines(oos), columns=["plan", *(h for _, _, h in OUT_OF_SAMPLE_COLUMNS)])
    settings = summary["settings"]
    verdict = out_of_sample_words(oos, settings["scenarios"], weight=settings.get("risk_weight") or 0.0)
    return (f"<h2>How to judge it: out of sample</h2><p class='why'>On {oos['scenarios']:,} fresh scenarios "
            f"(seed {oos['seed']}), not those the plan was fitted to: the stochastic plan, the forecast "
            f"optimum and the first less the second, with its paired standard errors in brackets, in the "
            f"table below. {escape(verdict)} "
            f"{escape(OUT_OF_SAMPLE_MEANS)}</p>"
            + sortable_table(frame, figure_cols=frame.columns[1:], wrap_cols={"plan"}))  # fmt: skip
