"""What produced a report's figures: the run, its model, its solver or scenarios and backend, so that
a reader can reproduce them (the page's Provenance)."""

from __future__ import annotations

import math
from html import escape
from pathlib import Path

from fleetopt.core.results.cost import cost_plans_note
from fleetopt.core.units import (
    counted,
    format_count,
    format_duration,
    format_gap,
    format_rate,
    format_solver_status,
    format_usd,
)
from fleetopt.evaluate.risk_words import risk_words
from fleetopt.evaluate.sources import PLANS_IN_MEMORY
from fleetopt.milp.completion import completion_facts
from fleetopt.report.reading import LEFT_OUT, ReportRun
from fleetopt.runs.folder import RunFolder
from fleetopt.runs.registry import Registry, RegistryError
from fleetopt.schema.model_changes import model_words, recorded_model_changes


def provenance_section(run: ReportRun) -> str:
    """Model, run folder, scenarios and solver or backend: enough to reproduce the figures."""
    s = run.summary
    facts = [
        ("run folder", str(run.folder)),
        ("run", f"{run.kind}, written by fleetopt {s.get('fleetopt_version', '?')}{_recorded(run.folder)}"),
        ("model", _model_fact(run)),
        ("discount rate", f"{format_rate(run.data.discount_rate_annual)} a year (NPV factor (1 + r)^(-(t+1)/4) at the end of quarter t)"),
        ("horizon", f"{run.data.quarter_labels[0]} to {run.data.quarter_labels[-1]} ({counted(run.data.T, 'quarter')})"),
    ]  # fmt: skip
    facts += _solver_facts(s)
    facts += _scenario_facts(run)
    if run.kind == "evaluate" and s.get("plans_source"):
        where = f"{s['plans_source']} ({counted(int(s.get('n_plans', len(run.plans))), 'plan')})"
        # plans evaluated in memory: their source says so already ("in memory: ..., not written to a file")
        why = "" if s.get(PLANS_IN_MEMORY) else f"; {run.plans_left_out}"
        facts.append(("plans", where + (f"{why}, {LEFT_OUT}" if run.plans_left_out else "")))
    if run.kind == "sweep":
        dropped = len(s.get("dropped", []))
        facts.append(("candidates", f"{s.get('candidates_tried', '?')} made, {s.get('candidates_feasible', '?')} "
                                    f"evaluated, {dropped} dropped"))  # fmt: skip
    rows = "".join(f"<dt>{escape(k)}</dt><dd>{escape(v)}</dd>" for k, v in facts)
    out = f'<h2>Provenance</h2><dl class="facts">{rows}</dl>'
    if run.version_note:  # as the evaluation warned on stderr
        note = f"Note: {run.version_note}; every figure here is of the model above."
        out += f'<p class="why">{escape(note)}</p>'
    if run.kind in ("solve", "evaluate") and run.solved_for_cost:  # as the terminal says
        plans = 1 if run.kind == "solve" else int(s.get("n_plans", 2))  # a solve's statements count own use too
        note = f"Note: {cost_plans_note(plans)}."
        out += f'<p class="why">{escape(note)}</p>'
    return out


def _recorded(folder: Path) -> str:
    """'; run 12, recorded 2026-12-01T11:25:10+00:00 by `fleetopt solve`' from the run registry, or
    nothing for a folder it does not hold (copied from elsewhere, or written without recording)."""
    try:
        record = Registry().find(folder)
    except RegistryError:
        return ""
    return f"; run {record.id}, recorded {record.created_utc} by `{record.command}`"


def _model_fact(run: ReportRun) -> str:
    """The model and where a reader finds it later: the run folder's copy (the file the report read,
    checked against the run's hash), the file the run read it from (in full; an older run kept it as
    typed, which may be relative to the folder it was started in) and the fields the run changed in it
    (the copy is the model as changed: without them it read as a copy of the file as is)."""
    s, copy = run.summary, run.folder / RunFolder.MODEL
    text = f"{s.get('model_name', run.data.name)} (hash {s.get('model_hash', '?')}): {copy}"
    given = s.get("model_source")
    text += f", the run's copy of {given}" if given and Path(given) != copy else ""
    return model_words(text, *recorded_model_changes(s, str(run.folder / RunFolder.SUMMARY)))


def _solver_facts(s: dict) -> list[tuple[str, str]]:
    """A MILP's status, gap and bound (a solve or a stochastic solve)."""
    if "status" not in s:
        return []
    gap = format_gap(s.get("gap"))
    bound = s.get("bound_usd", s.get("rp_bound_usd"))  # a stochastic solve: its RP's
    objective = s.get("objective_usd", s.get("rp_usd"))
    # the status in words, its gap once ('optimal within 0.20%' beside it would repeat it)
    text = f"{format_solver_status(s['status'], None)}, relative gap {gap}"
    if objective is not None:
        text += f", objective {format_usd(objective)}"
    if bound is not None and math.isfinite(bound):
        text += f", bound {format_usd(bound)}"
    if s.get("objective"):
        text += f" ({s['objective']})"
    if s.get("objective") == "cost" and s.get("present_cost_opening_fleet_usd"):  # formulation §6, "Cost"
        text += (f"; the gap is of the objective less the installed fleet at the start "
                 f"({format_usd(s['present_cost_opening_fleet_usd'])}), which HiGHS is not given")
    if s.get("solve_seconds") is not None:
        text += f"; solved in {format_duration(s['solve_seconds'])}"
    facts = [("stochastic MILP (RP)" if s.get("kind") == "stochastic" else "MILP", text)]
    if fixed := s.get("purchases"):  # solve --purchases: a procurement plan written by people
        facts.append(("purchases", f"fixed from {fixed['file']}: {format_count(fixed['gpus'], 'GPUs')} in "
                                   f"{counted(fixed['rows'], 'row')}, none elsewhere; the solver chose "
                                   "the rest (docs/formulation.md §4, 'Fixed purchases')"))  # fmt: skip
    if s.get("kind") == "solve" and s.get("completion"):  # solve --rescue: how, and what the plan breaks
        facts += [(label, words) for label, words, _ in completion_facts(s["completion"])]
    return facts


def _scenario_facts(run: ReportRun) -> list[tuple[str, str]]:
    s = run.summary
    if run.metrics is None:
        return []
    seed, n = run.scenario_source
    facts = []
    if s.get("deterministic"):
        facts.append(("scenarios", "1: the forecast itself (deterministic evaluation)"))
    elif run.kind == "stochastic":  # the plan was fitted to its reduced scenarios, checked on these
        settings = s.get("settings") or {}
        fitted = (f"; fitted to {counted(settings['scenarios'], 'reduced scenario')} of "
                  f"{settings.get('screened', '?')} (seed {settings.get('scenario_seed', '?')})"
                  if "scenarios" in settings else "")  # fmt: skip
        facts.append(("scenarios", f"{n:,} out of sample (seed {seed}){fitted}"))
    else:
        facts.append(("scenarios", f"{n:,} (seed {seed})"))
    if not s.get("deterministic"):  # reports of the old random walk and of reverting prices read alike
        facts.append(("the scenarios draw", risk_words(run.data)))
    backend = s.get("backend") or (s.get("out_of_sample") or {}).get("backend")
    device = s.get("device") or (s.get("out_of_sample") or {}).get("device")
    if backend:
        facts.append(("evaluated on", f"{backend}" + (f" ({device})" if device else "")))
    return facts
