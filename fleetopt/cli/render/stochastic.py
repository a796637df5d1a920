"""`fleetopt solve --stochastic`: commitments, out-of-sample figures, the solve's diagnostics."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text

from fleetopt.core.results.valuation import basis_words
from fleetopt.core.tail import TAIL, cvar_name
from fleetopt.core.units import (
    counted,
    format_duration,
    format_rate,
    format_solver_status,
    format_usd,
)
from fleetopt.runs.key_figures import recorded_basis
from fleetopt.runs.run_files import RunFiles
from fleetopt.stochastic.commitments import COMMITMENT_COLUMNS, commitment_lines
from fleetopt.stochastic.gap import optimality_gap_words
from fleetopt.stochastic.paired import (
    OUT_OF_SAMPLE_COLUMNS,
    OUT_OF_SAMPLE_MEANS,
    out_of_sample_action,
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
from fleetopt.stochastic.summary_words import (
    first_stage_text,
    forecast_gap_note,
    gap_words,
    in_sample_labels,
    measure_rows,
    measure_unavailable,
    plan_facts,
    stopped_short,
)


def risk_weight_words(weight: float, alpha: float) -> str:
    """'risk weight L = 0.5 on the CVaR5 of value (the worst 5 % of scenarios; 0: the expected value
    alone)': the stochastic objective's settings in words (it read 'risk weight 0.0, CVaR alpha 0.05')."""
    return (f"risk weight L = {weight:g} on the {cvar_name(alpha)} of value (the worst {format_rate(alpha)} "
            "of scenarios; 0: the expected value alone)")


def _stochastic_times(t: dict) -> str:
    """'14.3 s (forecast 1.2 s, screening 0.5 s, ...)': the run's wall time and its steps."""
    steps = [
        ("forecast", "forecast_seconds"), ("screening", "screening_seconds"), ("build", "build_seconds"),
        ("load", "load_seconds"), ("RP", "solve_seconds"), ("EEV and WS", "measures_seconds"),
        ("RP again", "resolve_seconds"),
        ("completion", "completion_seconds"), ("out of sample", "out_of_sample_seconds"),
        ("the other samples", "replications_seconds"), ("gap", "gap_seconds"),
    ]  # fmt: skip
    parts = ", ".join(f"{name} {format_duration(t[key])}" for name, key in steps if t.get(key) is not None)
    total = t.get("total_seconds")
    return f"{format_duration(total)} ({parts})" if total is not None else parts


def _basis(summary: dict) -> str:
    """', over the horizon's 8 quarters (NPV: equity cash flows and terminal equity at 15% a year,
    USD)': what the run's NPVs, RP, VSS and EVPI are counted over and discount at, from its summary
    (:func:`recorded_basis`), as `fleetopt solve`'s plan table says them ('' where it keeps none)."""
    basis = recorded_basis(summary)
    return f", {basis_words(*basis)}" if basis else ""


def stochastic_tables(summary: dict) -> list:
    """A stochastic solve's terminal output, the answer first: what to commit to now
    (:func:`commitments_table`), how that compares with the forecast optimum out of sample, the
    figures to judge it by (:func:`out_of_sample_table`), then the solve's diagnostics
    (:func:`stochastic_summary_table`), and last a line of what to commit to: a new user met three
    "values" and could not tell the plan's."""
    shown = (commitments_table(summary), replications_table(summary), gap_line(summary),
             out_of_sample_table(summary), stochastic_summary_table(summary))  # fmt: skip
    paired = (summary.get("out_of_sample") or {}).get("paired")
    action = out_of_sample_action(paired) if paired else None
    # last, where a terminal leaves the reader, the answer again in a line (as compare's "In short")
    caveat = f"; but {stopped}" if (stopped := stopped_short(summary)) else ""  # a solve not finished
    said = f"In short, out of sample the stochastic plan is {action}{caveat}."
    last = [Text(said, style="bold")] if action else []
    return [table for table in shown if table is not None] + last


def commitments_table(summary: dict) -> Table | None:
    """What a stochastic solve commits to now beside the forecast optimum (summary.json's
    ``commitments``: purchases, retirements, moves to inference, power, contracts, draws and
    prepayments of the first stage), with the total of GPUs bought, and where the run's gap is not
    `fleetopt solve`'s, why its forecast optimum may differ from that one; None where neither commits
    to anything (or a summary without them)."""
    if not summary.get("commitments"):
        return None
    stage = first_stage_text(summary["settings"])
    title = f"what to commit to now, {stage}, and which contracts to accept (whatever their start)"
    table = Table(title=f"{title}: the stochastic plan's first stage beside the forecast optimum's",
                  caption=forecast_gap_note(summary["settings"]), caption_justify="left")  # fmt: skip
    for n, column in enumerate(COMMITMENT_COLUMNS):
        table.add_column(column, justify="right" if n >= 3 else "left")
    for line in commitment_lines(summary["commitments"]):
        table.add_row(*line)
    return table


# the most samples whose amounts the terminal shows one by one (replications.csv has every one)
SAMPLES_SHOWN = 6


def replications_table(summary: dict) -> Table | None:
    """How far each first-stage decision moves between the scenario samples of --replications K
    (summary.json's ``replications``): its amount in each sample (up to :data:`SAMPLES_SHOWN`), mean,
    min and max, with the verdict; None for a run of one sample."""
    record = summary.get("replications")
    if not record:
        return None
    seeds = record["seeds"]
    title = (f"{STABILITY_TITLE}: {samples_words(record, summary['settings']['scenarios'])}; the plan above "
             "is the first's")  # fmt: skip
    shown = seeds if len(seeds) <= SAMPLES_SHOWN else []
    every = "" if shown else f"; each sample's amount: {RunFiles.REPLICATIONS}"
    table = Table(title=title, caption=f"{record['verdict'][0].upper()}{record['verdict'][1:]}{every}.",
                  caption_justify="left")  # fmt: skip
    columns = [*STABILITY_NAMES, *(f"seed {s}" for s in shown), *STABILITY_SPREAD]
    for n_column, column in enumerate(columns):
        table.add_column(column, justify="right" if n_column >= len(STABILITY_NAMES) else "left")
    for row in record["stability"]:
        table.add_row(*stability_line(row, bool(shown)), style="yellow" if row["varies"] else "")
    return table


def gap_line(summary: dict) -> Text | None:
    """The first stage's optimality gap estimated with --gap-scenarios M (summary.json's
    ``replications.gap``), in a line under the stability table; None without one."""
    record = (summary.get("replications") or {}).get("gap")
    if not record:
        return None
    words = optimality_gap_words(record, summary["settings"])
    return Text(f"{words[0].upper()}{words[1:]}; each fresh scenario's value: {RunFiles.GAP_CSV}.")


def out_of_sample_table(summary: dict) -> Table | None:
    """The stochastic plan and the forecast optimum on the same fresh scenarios, their paired
    differences with standard errors, what those say and what to do: the figures to judge the plan
    by (None where the run skipped them)."""
    oos = summary.get("out_of_sample") or {}
    if not oos.get("metrics"):
        return None
    s = summary["settings"]
    alpha = s["cvar_alpha"]  # the evaluator's CVaR is of the worst 5 %, whatever tail the solve optimised
    weighed = (s.get("risk_weight") or 0) > 0  # at L = 0 the tail set only the scenario reduction's strata
    optimised = "" if alpha == TAIL or not weighed else f" (the solve optimised {cvar_name(alpha)})"
    title = f"how to judge it: both plans on {oos['scenarios']:,} fresh scenarios (seed {oos['seed']})"
    verdict = out_of_sample_words(oos, s["scenarios"], weight=s.get("risk_weight") or 0.0)
    words = f"{verdict} {OUT_OF_SAMPLE_MEANS}"
    table = Table(title=f"{title}, out of sample{optimised}{_basis(summary)}", caption=words,
                  caption_justify="left")  # fmt: skip
    table.add_column("plan", style="bold")
    for _, _, header in OUT_OF_SAMPLE_COLUMNS:
        table.add_column(header, justify="right")
    for line in out_of_sample_lines(oos):
        table.add_row(*line)
    return table


def stochastic_summary_table(summary: dict) -> Table:
    """The diagnostics of a two-stage stochastic solve (summary.json of the run): its settings,
    status, measures (RP, EV, EEV, WS, VSS, EVPI), in-sample figures, how its plan was made and its
    times; the plan is judged by :func:`out_of_sample_table`."""
    def usd(value) -> str:
        return "-" if value is None else format_usd(value)

    s = summary["settings"]
    solved = counted(s.get("distinct_scenarios", s["scenarios"]), "reduced scenario")
    title = f"diagnostics of the solve: the solver's figures over its {solved}"
    checked = (summary.get("out_of_sample") or {}).get("metrics")
    judge = ": judge the plan by the table above" if checked else ""
    said = f"in sample, not forecasts of the plan's value{judge}"
    table = Table(show_header=False, title=f"{title}{_basis(summary)}; {said}")
    table.add_column("", style="bold")
    table.add_column("")
    distinct = s.get("distinct_scenarios", s["scenarios"])
    dropped = (
        f" ({s['scenarios'] - distinct:,} left out: of probability 0, the same as another's; "
        f"{distinct:,} solved)"
        if distinct < s["scenarios"]
        else ""
    )
    table.add_row(
        "settings",
        f"{counted(s['scenarios'], 'scenario')} of {s['screened']:,} (seed {s['scenario_seed']}){dropped}, "
        f"{first_stage_text(s)}, {risk_weight_words(s['risk_weight'], s['cvar_alpha'])}",
    )
    table.add_row("status / gap", f"{format_solver_status(summary['status'], None)} / "
                  f"{gap_words(summary)}")  # fmt: skip
    in_sample = in_sample_labels(s)
    for key, label in (*measure_rows(summary), *in_sample.items()):
        why = measure_unavailable(summary, key)
        if why is None and summary.get(key) is None and key in in_sample:
            continue  # an in-sample figure this run has not (no EEV solved)
        table.add_row(label, usd(summary.get(key)) if why is None else f"n/a ({why})")
    for label, text, warning in plan_facts(summary):
        style = "red" if warning else ""
        table.add_row(Text(label, style=style), Text(text, style=style))
    table.add_row("time", _stochastic_times(summary["timings"]))
    return table
