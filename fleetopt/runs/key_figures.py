"""What the run registry keeps of each run beside its folder: its key figures, read from its
summary.json and checked as they are recorded (:func:`key_figures`, :func:`check_key_figures`): the
headline of its kind (:data:`HEADLINE_OF_KIND`), an evaluation's first plan's figures and how it was
ranked, a stochastic solve's settings and out-of-sample comparison.
"""

from __future__ import annotations

from pathlib import Path

from fleetopt.core.results.headline import KEPT_PRESENT_COST, LAB_FIGURES
from fleetopt.errors import InputError
from fleetopt.runs.folder import RunFolder
from fleetopt.runs.kinds import KIND_NOUNS
from fleetopt.runs.limits import finite_number
from fleetopt.runs.run_files import RunDirError
from fleetopt.runs.summary_schema import BEST_MEAN_KEY, NUMBER_NAMES, SUMMARY_FIELDS, WRITTEN_KEY
from fleetopt.schema.loaded_model import DISCOUNT_RATE, HORIZON_QUARTERS
from fleetopt.schema.model_changes import (
    MODEL_CHANGES,
    MODEL_SOURCE_CHANGES,
)

# an evaluation's record keeps these figures of the plan it shows first (and how many plans it has)
FIRST_PLAN_FIGURES = ("plan", *KEPT_PRESENT_COST, "npv_mean_usd", "npv_cvar5_usd", "breach_probability",
                      "default_probability", "any_default_probability",
                      "demand_served_share", "shortfall_probability")  # fmt: skip


# and these of the evaluation: over how many scenarios (a CVaR5 over 20 is one scenario), which ones
EVALUATION_FIGURES = ("n_plans", "n_scenarios", "seed", "deterministic", "backend", "fleetopt_version",
                      "plans_objective")  # fmt: skip


# and the ranking that chose that plan of several (summary.json's ranking; none: the default, CVaR5),
# with its service floor where it had one (--min-service)
RANKING_FIGURES = ("rank_by", "max_breach_prob", "min_service")


# a stochastic solve's record: its USD measures, these of its settings (summary.json's "settings": the
# CVaR's tail share beside the CVaR, the gap it was solved to) and which first stage it kept, at what gap
STOCHASTIC_SETTINGS = ("scenarios", "scenario_seed", "first_stage_quarters", "share_purchases", "risk_weight",
                       "cvar_alpha", "mip_gap")  # fmt: skip


STOCHASTIC_FIGURES = ("first_stage", "status", "gap")


# and its out-of-sample comparison (summary.json's out_of_sample: the stochastic plan less the forecast
# optimum on fresh scenarios, each difference with its paired standard error), by this prefix: the
# figures to judge the plan by (`fleetopt runs` headlines them)
OUT_OF_SAMPLE = "out_of_sample_"


# a solve's purchases file (summary.json's purchases.file), kept among its key figures
PURCHASES_FILE = "purchases_file"


# the objective of plans solved for least cost: a solve's or a sweep's ``objective``, an evaluation's
# ``plans_objective`` (summary.json's, and a record's key figures)
COST_OBJECTIVE = "cost"


def solved_for_cost(summary: dict) -> bool:
    """Whether a run's plans were solved for least cost, so that its figures are present costs and its report
    leads with cost: by its summary.json (or its record's key figures), a solve's or a sweep's
    ``objective``, an evaluation's ``plans_objective``, which it writes "cost" wherever it computed every
    plan's present cost (``EvaluationResult.solved_for_cost``: plans solved for least cost, or an
    evaluation asked for it, whatever their plan file says)."""
    return COST_OBJECTIVE in (summary.get("objective"), summary.get("plans_objective"))


# the headline each kind's record must have as a number (fleetopt runs lists it)
HEADLINE_OF_KIND = {"solve": "npv_usd", "stochastic": "rp_usd", "evaluate": "npv_mean_usd",
                    "sweep": "npv_mean_usd"}  # fmt: skip


def check_results_of_kind(run: RunFolder, kind: str) -> None:
    """A finished run folder to be recorded as ``kind`` has the files that kind writes
    (:attr:`RunFolder.RESULTS_OF_KIND`): a summary.json edited to another kind is refused."""
    missing = run.results_missing(kind)
    if missing:
        raise RunDirError(
            f"{run.path / RunFolder.SUMMARY} says the run is {KIND_NOUNS[kind]}, but the folder has no "
            f"{' or '.join(missing)}: not {KIND_NOUNS[kind]}'s folder"
        )


def check_key_figures(summary_path: Path, kind: str, figures: dict) -> None:
    """Every figure the record of a run of ``kind`` keeps (``figures``, from its summary.json at
    ``summary_path``) that fleetopt writes as a number is a finite number (or null, where a figure
    may be missing), and the kind's headline is there: a figure edited into text was recorded, and
    the listing of every run then failed on it."""
    bad = [name for name, value in figures.items()
           if name.endswith(NUMBER_NAMES) and value is not None and not finite_number(value)]  # fmt: skip
    headline = HEADLINE_OF_KIND[kind]
    if figures.get(headline) is None and headline not in bad:
        bad.append(headline)
    if bad:
        shown = ", ".join(f"{name} {figures.get(name)!r}" for name in bad)
        raise RunDirError(
            f"{summary_path}: {shown}: not a finite number, as fleetopt writes it (edited or damaged); "
            "nothing recorded"
        )


def key_figures(summary: dict, shown: dict | None = None) -> dict:
    """The figures a run's record keeps, from its summary.json: the scalar figures of a solve and a sweep;
    the USD figures, number of scenarios, seed, first-stage quarters (and whether every purchase is
    shared), risk weight, CVaR tail share, MIP gap, the first stage kept (RP's or the forecast's) and its
    status and gap of a stochastic solve, and its out-of-sample comparison
    (:func:`recorded_out_of_sample`); an evaluation's number of plans and of scenarios, seed, whether it
    is deterministic (its one scenario the forecast), backend, version and plans' objective, and the
    label, mean NPV, CVaR5, breach and default probabilities of ``shown`` (and, for a cost solve's plans,
    its mean and CVaR95 present cost, demand served and shortfall), the metrics of the plan its report shows
    (``fleetopt.evaluate.metrics.shown_first``; None: its first plan). And of every kind, the file its
    model was read from (``model_source``), the changes made to it for the run (``model_changes``) and
    those the run whose model.yaml it read had made (``model_source_changes``), which its model name and
    hash do not say: `runs show` names them; and its horizon and discount rate (:func:`recorded_basis`),
    which `fleetopt runs` lists."""
    kept = ("model_source", MODEL_CHANGES, MODEL_SOURCE_CHANGES, HORIZON_QUARTERS, DISCOUNT_RATE)
    model = {k: summary[k] for k in kept if k in summary}
    return {**_figures_of_kind(summary, shown), **model}


def _figures_of_kind(summary: dict, shown: dict | None) -> dict:
    """:func:`key_figures` but the model's changes."""
    kind = summary.get("kind")
    if kind == "evaluate":
        metrics = summary.get("metrics")
        listed = metrics[0] if isinstance(metrics, list) and metrics and isinstance(metrics[0], dict) else {}
        first = shown if shown is not None else listed
        # the demand a plan serves is a lab's figure: of an NPV plan it is a share of the whole market
        lab = solved_for_cost(summary)
        kept = [k for k in FIRST_PLAN_FIGURES if lab or k not in (*LAB_FIGURES, *KEPT_PRESENT_COST)]
        ranking = summary.get("ranking") if isinstance(summary.get("ranking"), dict) else {}
        summary = {**{k: summary.get(k) for k in EVALUATION_FIGURES if k in summary},
                   **{k: ranking[k] for k in RANKING_FIGURES if k in ranking},
                   **{k: first[k] for k in kept if k in first}}  # fmt: skip (an older run lacks some)
    # when it was written is the record's created_utc, not a figure; the headline kept as written,
    # for check_key_figures to refuse by its value (a list read as missing: "npv_usd None")
    if kind == "sweep" and isinstance(summary.get(BEST_MEAN_KEY), dict):  # its label: the figures stay there
        summary = {**summary, BEST_MEAN_KEY: summary[BEST_MEAN_KEY].get("plan")}
    headline = HEADLINE_OF_KIND.get(kind)
    scalars = {k: v for k, v in summary.items() if (_scalar(v) or k == headline) and k != WRITTEN_KEY}
    if kind == "solve" and isinstance(summary.get("purchases"), dict):  # the plan of a purchases file
        scalars[PURCHASES_FILE] = summary["purchases"].get("file")
    if kind == "stochastic":
        settings = summary.get("settings") if isinstance(summary.get("settings"), dict) else {}
        kept = {k: settings[k] for k in STOCHASTIC_SETTINGS if k in settings and _scalar(settings[k])}
        kept |= {k: scalars[k] for k in STOCHASTIC_FIGURES if k in scalars}
        return {**kept, **{k: v for k, v in scalars.items() if k.endswith("_usd")}, **_out_of_sample(summary)}
    return scalars


def _out_of_sample(summary: dict) -> dict:
    """A stochastic solve's out-of-sample scenarios, seed and paired differences (with their errors)
    as its record keeps them (:data:`OUT_OF_SAMPLE` and the summary's name); {} where it has none."""
    oos = summary.get("out_of_sample")
    if not isinstance(oos, dict) or not isinstance(oos.get("paired"), dict) or not oos["paired"]:
        return {}
    figures = {"scenarios": oos.get("scenarios"), "seed": oos.get("seed"), **oos["paired"]}
    return {f"{OUT_OF_SAMPLE}{k}": v for k, v in figures.items() if _scalar(v)}


def recorded_out_of_sample(figures: dict) -> dict | None:
    """The out-of-sample comparison a stochastic run's record keeps (:func:`key_figures`), as its
    summary.json's ``out_of_sample`` has it: ``{"scenarios", "seed", "paired": {...}}``; None for a
    record without one (skipped, or written before records kept it)."""
    kept = {k.removeprefix(OUT_OF_SAMPLE): v for k, v in figures.items() if k.startswith(OUT_OF_SAMPLE)}
    paired = {k: v for k, v in kept.items() if k.endswith(("_diff", "_diff_se"))}
    if not paired:
        return None
    return {"scenarios": kept.get("scenarios"), "seed": kept.get("seed"), "paired": paired}


def recorded_basis(figures: dict) -> tuple[int, float] | None:
    """The horizon (quarters) and annual discount rate a run's record keeps (its summary.json's,
    :meth:`LoadedModel.basis_record`); None for a record without them (written before fleetopt kept
    them) or with one that is not a number (edited by hand)."""

    def checked(name: str):  # by the check its summary.json field passed when recorded
        check, *args = SUMMARY_FIELDS[name]
        return check(name, figures.get(name), *args)

    try:
        return checked(HORIZON_QUARTERS), float(checked(DISCOUNT_RATE))
    except InputError:
        return None


def _scalar(value) -> bool:
    return isinstance(value, (int, float, str, bool)) or value is None
