"""summary.json's schema: the fields its readers take as written, by type and bounds, those each kind
must have, and the check of a summary read back; the stamp of when it was written."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from fleetopt.errors import InputError
from fleetopt.runs import limits
from fleetopt.runs.file_text import as_bytes, json_text
from fleetopt.runs.kinds import KIND_NOUNS, RUN_KINDS
from fleetopt.runs.run_files import RunDirError, RunFiles
from fleetopt.schema.loaded_model import DISCOUNT_RATE, HORIZON_QUARTERS
from fleetopt.schema.shown_values import quoting_json

# a sweep's summary.json field naming the plan of highest mean NPV no worse than the forecast optimum on
# every figure its rule reads, with its differences (recommendation.best_mean_alternative; null: none)
BEST_MEAN_KEY = "best_mean_within_rule"
# the fields of a summary.json its readers (the report, compare, evaluate's plan sources, the registry)
# take as written, by type: checked whenever a summary is read, so a field damaged or edited by hand
# is refused by name (exit 2), never met later as a traceback; a field absent (an older run) is not
SUMMARY_FIELDS = {
    **dict.fromkeys(
        ("status", "model_name", "model_hash", "model_source", "plans_source", "plans_sha256",
         "plans_model_hash", "plan_sha256", "fleetopt_version"),
        (limits.text,),
    ),
    "kind": (limits.text, RUN_KINDS),  # the report read a kind "banana" as a solve's
    HORIZON_QUARTERS: (limits.whole, 1),  # what `fleetopt runs` lists the run's figures over
    DISCOUNT_RATE: (limits.number, 0),
    **dict.fromkeys(("objective", "plans_objective"), (limits.text, ("npv", "cost"))),
    "n_plans": (limits.whole, 1),
    "n_scenarios": (limits.scenarios,),
    "seed": (limits.seed,),
    "deterministic": (limits.flag,),
    **dict.fromkeys(
        ("objective_usd", "bound_usd", "gap", "build_seconds", "solve_seconds", "rp_usd", "rp_bound_usd",
         "present_cost_opening_fleet_usd"),
        (limits.number,),
    ),
    **dict.fromkeys(("settings", "out_of_sample", "ranking", "completion", "timings", "model_size", "plan"),
                    (limits.instance, dict, "a JSON object")),
    **dict.fromkeys(("scenarios", "commitments"), (limits.instance, list, "a JSON list")),
    "first_stage": (limits.text,),
    **dict.fromkeys(("candidates_feasible", "candidates_tried"), (limits.whole, 0)),  # a sweep's
    "why": (limits.text,),
    "rule_settings": (limits.instance, dict, "a JSON object"),
    "mip_gap": (limits.mip_gap,),  # a sweep's, which its re-ranking solves with
    "rule_breach_limit": (limits.number, 0, 1),  # a sweep's P(breach) limit, the report's "In short"
    "time_limit_seconds": (limits.time_limit,),  # its --time-limit, null: none
    "dropped": (limits.instance, list, "a JSON list"),
    BEST_MEAN_KEY: (limits.instance, dict, "a JSON object"),  # a sweep's; null: none
    # a re-ranked sweep's: the report joins them as they are
    **dict.fromkeys(("why_before_lead", "rerank_solved"), (limits.texts,)),
}  # fmt: skip
# names of figures that are numbers in every summary.json fleetopt writes (a top-level one that is
# not a list or an object of them, as revenue_by_customer_usd is, is a number or null)
NUMBER_NAMES = ("_usd", "_probability", "_seconds", "_share", "_mw")
# the bounds (low, high) of those figures no run can hold outside them, by the end of their names: a
# probability or a share in [0, 1], a time or a power not negative
NUMBER_BOUNDS = {"_probability": (0, 1), "_share": (0, 1), "_seconds": (0, None), "_mw": (0, None)}
# the USD figures of a summary.json that are never negative: a cash buffer, a standard error, capex, debt
NON_NEGATIVE_USD = ("recommended_liquidity_buffer_usd", "runner_up_lead_se_usd", "capex_gpu_total_usd",
                    "capex_power_total_usd", "peak_debt_usd")  # fmt: skip
# the round-off a bound allows: a stochastic solve's probability is a sum of its scenarios' weights
BOUND_SLACK = 1e-9
# the fields inside a stochastic solve's summary.json objects its readers take as written (its
# settings and out-of-sample figures, read by the report and compare), checked as SUMMARY_FIELDS
# are: (object, field) -> (check, *args, required)
NESTED_SUMMARY_FIELDS = {
    ("settings", "scenarios"): (limits.whole, 1, True),
    ("settings", "first_stage_quarters"): (limits.whole, 0, False),
    ("out_of_sample", "seed"): (limits.seed, True),
    ("out_of_sample", "scenarios"): (limits.whole, 0, True),
    ("out_of_sample", "paired"): (limits.instance, dict, "a JSON object", True),
    ("out_of_sample", "metrics"): (limits.instance, dict, "a JSON object", True),
}
# the fields each kind's summary.json must have: its readers (the report, compare, a sweep's
# --rerank, `runs add`) take them as there, so one missing is refused by name (a report met it as a
# KeyError traceback, and `runs add` recorded the run); a field only some runs have is not here
REQUIRED_SUMMARY_FIELDS = {
    "solve": (),
    "stochastic": ("settings", "status", "scenarios"),
    "evaluate": ("n_scenarios", "seed"),
    "sweep": ("n_scenarios", "seed", "candidates_feasible", "why"),
}
# a stochastic solve's count of scenarios of a kind comes with its probability (field -> its partner)
PAIRED_SUMMARY_FIELDS = {f"{name}_scenarios": f"{name}_probability"
                         for name in ("cash_rescued", "covenant_cured", "relaxed")}  # fmt: skip
SUMMARY_DAMAGED = "the file was damaged or edited; restore it, or run anew"


def _summary_field(label: str, value, check, args) -> None:
    """``check(label, value, *args)`` of a summary.json field, its refusal a damaged run folder's
    (quoting the value in JSON's words)."""
    try:
        with quoting_json():
            check(label, value, *args)
    except InputError as exc:
        raise RunDirError(f"{exc}: {SUMMARY_DAMAGED}") from None


def _figure(label: str, value, name: str) -> None:
    """A summary.json figure named as a number (:data:`NUMBER_NAMES`): a finite number, within its
    bounds (:data:`NUMBER_BOUNDS`, :data:`NON_NEGATIVE_USD`) give or take round-off."""
    limits.number(label, value)
    low, high = (0, None) if name in NON_NEGATIVE_USD else next(
        (bounds for end, bounds in NUMBER_BOUNDS.items() if name.endswith(end)), (None, None))
    if (low is not None and value < low - BOUND_SLACK) or (high is not None and value > high + BOUND_SLACK):
        limits.number(label, value, low, high)  # refused in its words


def _check_complete(summary: dict, path: Path) -> None:
    """Refuse a summary.json (at ``path``) without a field its kind needs (:data:`REQUIRED_SUMMARY_FIELDS`,
    :data:`PAIRED_SUMMARY_FIELDS`), naming it; a kind that is none of them is refused by its check."""
    needed = [*REQUIRED_SUMMARY_FIELDS.get(summary.get("kind"), ())]
    if summary.get("kind") == "stochastic":
        needed += [pair for name, pair in PAIRED_SUMMARY_FIELDS.items() if name in summary]
    missing = [name for name in needed if name not in summary]
    if missing:
        verb = "is" if len(missing) == 1 else "are"
        raise RunDirError(f"{path}: {', '.join(missing)} {verb} missing, which fleetopt writes for "
                          f"{KIND_NOUNS[summary['kind']]}: {SUMMARY_DAMAGED}")  # fmt: skip


# those that may be null: a figure with no value (NaN, written as null), a deterministic evaluation's
# seed, a path or hash a run had none of
SUMMARY_NULLABLE = {
    "model_source", "plans_sha256", "plans_model_hash", "plan_sha256", "plans_objective", "seed",
    "n_scenarios", "objective_usd", "bound_usd", "gap", "build_seconds", "solve_seconds", "rp_usd",
    "rp_bound_usd", "present_cost_opening_fleet_usd", "out_of_sample", "ranking", "completion",
    "rule_breach_limit", BEST_MEAN_KEY,
}  # fmt: skip


def check_summary(summary: dict, path: Path, complete: bool = True) -> None:
    """Refuse a summary.json (``summary``, read from ``path``) whose field of :data:`SUMMARY_FIELDS` is
    not of its type, or whose figure named as a number (:data:`NUMBER_NAMES`) is not one, by name, and
    one that lacks a field its kind needs (:data:`REQUIRED_SUMMARY_FIELDS`), unless not ``complete``."""
    for name, (check, *args) in SUMMARY_FIELDS.items():
        if name in summary and not (summary[name] is None and name in SUMMARY_NULLABLE):
            _summary_field(f"{path}: {name}", summary[name], check, args)
    # text there met the report as a traceback; a probability of -1 was shown as -100.0%
    for name, value in summary.items():
        if name.endswith(NUMBER_NAMES) and not isinstance(value, (dict, list, type(None))):
            _summary_field(f"{path}: {name}", value, _figure, (name,))
    for (block, name), (check, *args, required) in NESTED_SUMMARY_FIELDS.items():
        inside = summary.get(block)
        # none, or {} (written where the out-of-sample check was skipped): nothing to check
        if summary.get("kind") != "stochastic" or not isinstance(inside, dict) or not inside:
            continue
        if name not in inside:
            if required:
                raise RunDirError(f"{path}: {block}.{name} is missing: {SUMMARY_DAMAGED}")
            continue
        _summary_field(f"{path}: {block}.{name}", inside[name], check, args)
    if complete:
        _check_complete(summary, path)


WRITTEN_KEY = "written_utc"  # summary.json's: when the run was finished, ISO 8601 in UTC, to the second


def stamped(files: dict[str, bytes | str]) -> dict[str, bytes | str]:
    """``files`` with summary.json (if there) stamped with when it is written (``written_utc``),
    which a copy of the folder keeps (`fleetopt runs add` dates a run by it, not by the file's
    modification time, which ``cp -r`` resets)."""
    if RunFiles.SUMMARY not in files:
        return files
    summary = json.loads(as_bytes(files[RunFiles.SUMMARY]))
    summary[WRITTEN_KEY] = datetime.now(UTC).isoformat(timespec="seconds")
    return {**files, RunFiles.SUMMARY: json_text(summary)}
