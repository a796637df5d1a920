"""Plans compared on the same scenarios, with standard errors of their paired differences
(docs/formulation.md §7b, "Out of sample"; `python -m benchmarks.bench_stochastic --out-of-sample S`).

Each plan is simulated on the same fresh scenarios, scenario by scenario (NPV, covenant breach,
liquidity default), so that a difference between two plans is estimated from the per-scenario
differences, whose spread is far smaller than either plan's own when the plans share most
decisions. For scenario outcomes $a_i$, $b_i$ ($i = 1..S$):

* mean NPV, P(breach), P(default), P(any default): $\\bar d = \\frac1S\\sum_i (a_i - b_i)$, standard error
  $s_d/\\sqrt S$ with $s_d$ the sample standard deviation (divisor $S-1$) of $a_i - b_i$;
* CVaR at tail share $A$ (the evaluator's CVaR5: the mean of the $k=\\lceil AS\\rceil$ worst NPVs):
  the difference of the two CVaRs, standard error $s_\\psi/\\sqrt S$ of the paired influence values
  $\\psi_i = \\psi^a_i - \\psi^b_i$, $\\psi^a_i = q_a + \\min(a_i - q_a, 0)/(k/S) - \\mathrm{CVaR}_a$,
  $q_a$ the $k$-th worst NPV of $a$ (its mean over $i$ is zero).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from fleetopt.core.data import ModelData
from fleetopt.core.metric_columns import (
    ANY_DEFAULT_LABEL,
    BREACH_LABEL,
    BREACH_SHORT,
    CVAR5_NPV_LABEL,
    DEFAULT_LABEL,
    DEFAULT_SHORT,
    MEAN_NPV_LABEL,
)
from fleetopt.core.tail import TAIL
from fleetopt.core.units import (
    counted,
    format_difference,
    format_error,
    format_figure,
    format_percent,
    format_usd,
    format_usd_change,
    listed,
)
from fleetopt.errors import Argument
from fleetopt.evaluate.engine import evaluate
from fleetopt.evaluate.metrics import (
    ANY_DEFAULT_EVENTS,
    BETTER,
    NO_ERROR,
    NOISE_USD,
    NOT_MEASURED,
    WORSE,
    cvar_influence,
    either_happened,
    judged_side,
    paired_error,
)
from fleetopt.evaluate.planbatch import PlanBatch
from fleetopt.evaluate.result import EvaluationResult

OUTCOMES = ("npv", "breach", "uncured_breach", "default")
# the figures that are means of an outcome over the scenarios ("any_default": a liquidity default or
# an uncured breach, the default as lenders count it, as compare judges it)
MEAN_OF = {"npv": "npv_mean_usd", "breach": "breach_probability", "default": "default_probability",
           "any_default": "any_default_probability"}  # fmt: skip


def evaluate_paired(
    data: ModelData, plans: PlanBatch, n_scenarios: int, seed: int, backend: str = "auto"
) -> EvaluationResult:
    """The plans evaluated on scenarios ``0 .. n_scenarios - 1`` of ``seed``, keeping each pair's
    NPV, breach and default for :func:`scenario_outcomes` (its metrics are the evaluator's)."""
    return evaluate(data, plans, n_scenarios, seed, backend=backend, keep_matrix=True, keep_outcomes=True)


def scenario_outcomes(evaluation: EvaluationResult) -> dict[str, dict[str, np.ndarray]]:
    """Each plan's NPV (USD), covenant breach, uncured breach, liquidity default and either default
    (0/1) per scenario, from an evaluation that kept them (:func:`evaluate_paired`):
    {label: {outcome: (S,)}}."""
    per_pair = {"npv": evaluation.npv_matrix, **(evaluation.outcomes or {})}
    if any(per_pair.get(name) is None for name in OUTCOMES):
        raise ValueError("scenario_outcomes needs an evaluation with keep_matrix and keep_outcomes")
    labels = evaluation.metrics["plan"]
    out = {}
    for p, label in enumerate(labels):
        out[label] = {name: np.asarray(per_pair[name][p], dtype=np.float64) for name in OUTCOMES}
        out[label]["any_default"] = either_happened(out[label], ANY_DEFAULT_EVENTS).astype(np.float64)
    return out


def _mean_and_error(d: np.ndarray) -> tuple[float, float]:
    return float(d.mean()), paired_error(d)


def paired_comparison(outcomes: dict, reference: str, alpha: float = TAIL) -> list[dict]:
    """Per plan: mean NPV, CVaR_alpha of NPV, P(breach), P(default), P(any default), and each one's
    difference from ``reference`` with the standard error of the paired difference (USD;
    probabilities as shares)."""
    ref = outcomes[reference]
    ref_cvar, ref_psi = cvar_influence(ref["npv"], alpha)
    rows = []
    for label, out in outcomes.items():
        cvar, psi = cvar_influence(out["npv"], alpha)
        row = {
            "plan": label,
            "npv_mean_usd": float(out["npv"].mean()),
            "npv_cvar_usd": cvar,
            "breach_probability": float(out["breach"].mean()),
            "default_probability": float(out["default"].mean()),
            "any_default_probability": float(out["any_default"].mean()),
        }
        for name, key in MEAN_OF.items():
            row[f"{key}_diff"], row[f"{key}_diff_se"] = _mean_and_error(out[name] - ref[name])
        _, row["npv_cvar_usd_diff_se"] = _mean_and_error(psi - ref_psi)
        row["npv_cvar_usd_diff"] = cvar - ref_cvar
        rows.append(row)
    return rows


# the out-of-sample figures the verdict reads: (words, key, higher is better)
VERDICT_FIGURES = (("mean NPV", "npv_mean_usd", True), ("CVaR5", "npv_cvar_usd", True),
                   (BREACH_SHORT, "breach_probability", False),
                   (DEFAULT_SHORT, "default_probability", False),
                   (ANY_DEFAULT_LABEL, "any_default_probability", False))  # fmt: skip


@dataclass(frozen=True)
class Judged:
    """The out-of-sample figures of ``paired`` sorted by :func:`judged_side`: better and worse beyond
    :data:`SIGNIFICANT` standard errors (and :data:`NOISE_USD` for money), those judged, and those
    without a standard error (or a difference); ``outcome``, the one verdict the sentences below
    word: "trade", "better", "worse", "same" (judged, within the noise) or "none" (nothing judged)."""

    better: list[str]
    worse: list[str]
    judged: list[str]
    unmeasured: list[str]

    @property
    def outcome(self) -> str:
        if self.better and self.worse:
            return "trade"
        if self.better or self.worse:
            return "better" if self.better else "worse"
        return "same" if self.judged else "none"


def _judged(paired: dict) -> Judged:
    """:class:`Judged` of ``paired`` (the ``_diff`` and ``_diff_se`` figures of
    :func:`paired_comparison`; a figure it lacks is left out)."""
    out = Judged([], [], [], [])
    for what, key, higher in VERDICT_FIGURES:
        if f"{key}_diff" not in paired:
            continue
        se = paired[f"{key}_diff_se"]  # null in summary.json: not known
        side = judged_side(paired[f"{key}_diff"], math.nan if se is None else se, higher,
                           NOISE_USD if key.endswith("_usd") else 0.0, needs_error=True)  # fmt: skip
        if side in (NO_ERROR, NOT_MEASURED):
            out.unmeasured.append(what)
            continue
        out.judged.append(what)
        {BETTER: out.better, WORSE: out.worse}.get(side, []).append(what)
    return out


def out_of_sample_verdict(paired: dict, scenarios: int) -> str:
    """What the out-of-sample differences of the stochastic plan from the forecast optimum
    (``paired``: the ``_diff`` and ``_diff_se`` figures of :func:`paired_comparison`) say, in words:
    better or worse in mean NPV, CVaR5, P(breach), P(default) and P(any default) (lower is better)
    beyond :data:`SIGNIFICANT` standard errors, or within the noise (what it means and what to do:
    :func:`out_of_sample_advice`, which names ``scenarios``, the stochastic solve's). A figure
    ``paired`` lacks (a summary written before the probabilities were read) is left out; one without
    a standard error (a CVaR5 whose tail is one scenario: 20 fresh scenarios or fewer) is named as
    such, neither better nor worse."""
    j = _judged(paired)
    unmeasured = f"; {listed(j.unmeasured)}: no standard error, not judged" if j.unmeasured else ""
    return _verdict_words(j) + unmeasured


def _verdict_words(j: Judged) -> str:
    """:func:`out_of_sample_verdict`'s sentence of the figures it judged."""
    beyond = "beyond 2 standard errors"
    if j.outcome == "trade":
        return (f"a trade against the forecast optimum: better {listed(j.better)}, worse {listed(j.worse)}, "
                f"each {beyond} (in the plan completed on the forecast, not re-planned in each future: "
                "formulation §7b)")
    if j.outcome in ("better", "worse"):
        return f"{j.outcome} than the forecast optimum in {listed(j.better or j.worse)}, {beyond}"
    if j.outcome == "none":  # one fresh scenario: no figure has an error
        return "not judged against the forecast optimum"
    return (f"no better and no worse than the forecast optimum in {listed(j.judged, 'or')} "
            "(within 2 standard errors)")


# what a plan worse out of sample may owe its loss to (§7b, "Why the stochastic plan of tiny came out
# worse out of sample")
_WHY_WORSE = ("{few} may be too few to stand for the futures (the plan was fitted to them: the in-sample "
              "figures cannot show this), or its worth is in re-planning later, which this check does not "
              "do (it runs each plan completed on the forecast: formulation §7b)")
# the settings the advice names, as fleetopt.api.solve_stochastic's argument and the terminal's option
MORE_SCENARIOS = Argument("scenarios=N", "--stochastic N")
RISK_WEIGHT = Argument("risk_weight=L", "--risk-weight L")


def _setting(argument: Argument, typed: bool) -> str:
    """A setting the advice names, as its reader changes it: the option where ``typed`` (the terminal,
    the report), else the API's argument (a notebook)."""
    return argument.option if typed else argument.keyword


def _solve_again(typed: bool, weight: float = 0.0) -> str:
    """What to do where the plan does no better, naming the settings to change (:func:`_setting`): a
    risk weight on the worst futures, or another one where the solve had one (``weight``, its L), which
    a CFO was advised to give though it was given."""
    weigh = f"another risk weight than its L = {weight:g}" if weight else "a risk weight on the worst futures"
    return (f"solve again with more scenarios ({_setting(MORE_SCENARIOS, typed)}) or {weigh} "
            f"({_setting(RISK_WEIGHT, typed)}) and judge the new plan by this comparison again")


def out_of_sample_advice(paired: dict, scenarios: int, typed: bool = True, weight: float = 0.0) -> str | None:
    """What the verdict of :func:`out_of_sample_verdict` means for the commitments and what to do,
    in a CFO's words (``scenarios``: the stochastic solve's, named where the plan does worse; the
    settings to change named by their options where ``typed``, else by the API's arguments:
    :func:`_setting`; ``weight``: the solve's risk weight L), or None where nothing was judged. A
    stochastic plan worse out
    of sample is not the feature failing: the forecast optimum's commitments are then the ones to
    keep."""
    j = _judged(paired)
    if j.outcome == "trade":
        return ("neither plan is better on every figure: committing to the stochastic plan's first stage "
                "buys its better figures at the price of its worse ones; choose by which matter more to "
                f"you, or {_solve_again(typed, weight)}")  # the figures are named in the verdict just before
    if j.outcome == "better":
        return "on futures it was not fitted to, the stochastic plan does better: commit to its first stage"
    if j.outcome == "worse":
        why = _WHY_WORSE.format(few=counted(scenarios, "scenario"))
        return ("on futures it was not fitted to, committing to the stochastic plan's first stage does worse "
                f"than committing to the forecast optimum's: {why}. What to do: keep the forecast optimum's "
                f"commitments (its column in 'what to commit to now'), or {_solve_again(typed, weight)}")
    if j.outcome == "same":
        return ("the two plans do as well as each other on these futures, within the noise: either first "
                f"stage may be committed to; more scenarios ({_setting(MORE_SCENARIOS, typed)}) may tell "
                "them apart")
    return None


# each verdict (:attr:`Judged.outcome`) in a word or two, and what to commit to, in a few words
VERDICTS = {"trade": "a trade", "better": "better", "worse": "worse", "same": "as good"}
ACTIONS = {
    "trade": "commit to the plan whose better figures matter more to you",
    "better": "commit to the stochastic plan's first stage",
    "worse": "keep the forecast optimum's first stage, or solve again with more scenarios",
    "same": "either first stage",
}


def out_of_sample_action(paired: dict) -> str | None:
    """The verdict of :func:`out_of_sample_verdict` and what to commit to, in a few words ('worse:
    keep the forecast optimum's first stage, ...': the terminal's last line, where it leaves the
    reader), or None where nothing was judged."""
    outcome = _judged(paired).outcome
    return f"{VERDICTS[outcome]}: {ACTIONS[outcome]}" if outcome in ACTIONS else None


def out_of_sample_verdict_word(paired: dict) -> str | None:
    """The verdict of :func:`out_of_sample_verdict` in a word or two ('worse', 'a trade'), or None
    where nothing was judged: a list's column, which has no room for the advice."""
    return VERDICTS.get(_judged(paired).outcome)


def paired_cell(key: str, difference: float, error: float | None, in_words: bool = False) -> str:
    """A paired difference of ``key`` (a figure of :func:`paired_comparison`) with its standard error
    in brackets: money as every terminal table writes it (format_usd), '+$43.7M ($29.8M)'; a share
    in percentage points as compare writes them (format_difference, format_figure in "pp": half up),
    to two decimals (a difference of 0.1 pp has an error of that size), '+1.35 pp (0.19 pp)'.
    ``in_words``: the error as every sentence states one, to two significant figures (format_error:
    '+$43.7M ($30M)'), where the table's cell keeps its column's format."""
    if key.endswith("_usd"):
        return f"{format_usd_change(difference)} ({format_error(error) if in_words else format_usd(error)})"
    written = format_error(error, "pp") if in_words else format_figure(error, "pp")
    return f"{format_difference(difference, 'pp')} ({written})"


def paired_cells(d: dict) -> list[tuple[str, str]]:
    """Each paired difference of :func:`paired_comparison` with its standard error
    (:func:`paired_cell` in words), as (figure, words): ('mean', '+$43.7M ($30M)'), ('P(breach)',
    '+1.35 pp (0.19 pp)'); each probability the summary has (one written before 0.4.15 has no P(any
    default))."""
    usd = [("mean", "npv_mean_usd"), ("CVaR5", "npv_cvar_usd")]
    probabilities = [(what, key) for what, key, _ in VERDICT_FIGURES
                     if f"{key}_diff" in d and key.endswith("_probability")]  # fmt: skip
    return [(what, paired_cell(key, d[f"{key}_diff"], d[f"{key}_diff_se"], in_words=True))
            for what, key in usd + probabilities]  # fmt: skip


def paired_words(d: dict) -> str:
    """The paired differences of :func:`paired_cells` in words: 'mean +$43.7M ($30M), CVaR5
    +$3.40B ($92M), P(breach) +1.35 pp (0.19 pp), P(liq. default) ...'."""
    return ", ".join(f"{what} {text}" for what, text in paired_cells(d))


# the out-of-sample figures, each as its column reads it: (metrics key, paired_comparison's key, header)
OUT_OF_SAMPLE_COLUMNS = (
    ("npv_mean_usd", "npv_mean_usd", MEAN_NPV_LABEL), ("npv_cvar5_usd", "npv_cvar_usd", CVAR5_NPV_LABEL),
    ("breach_probability", "breach_probability", BREACH_LABEL),
    ("default_probability", "default_probability", DEFAULT_LABEL),
    ("any_default_probability", "any_default_probability", ANY_DEFAULT_LABEL),
)  # fmt: skip
# what those headers mean, beside the table (the evaluator's CVaR is of 5 %, whatever tail the solve took)
OUT_OF_SAMPLE_MEANS = (f"{CVAR5_NPV_LABEL}: the mean NPV of the worst 5 % of the scenarios; "
                       f"{ANY_DEFAULT_LABEL}: a liquidity default or an uncured covenant breach.")
OUT_OF_SAMPLE_PLANS = {"stochastic": "stochastic plan", "forecast": "forecast optimum"}
DIFFERENCE_ROW = "stochastic less forecast (paired standard error)"
# the column of a figure's paired standard error (:func:`out_of_sample_rows`)
PAIRED_ERROR = "{}_paired_se"
# the table's rows in figures (a notebook's ``out_of_sample_frame()``): USD, probabilities as shares
OUT_OF_SAMPLE_FIGURES = ("plan", *(key for key, _, _ in OUT_OF_SAMPLE_COLUMNS),
                         *(PAIRED_ERROR.format(key) for key, _, _ in OUT_OF_SAMPLE_COLUMNS))  # fmt: skip


def out_of_sample_rows(oos: dict) -> list[dict]:
    """A stochastic run's ``out_of_sample`` as its table's rows (:data:`OUT_OF_SAMPLE_FIGURES`): one
    per plan (named: 'stochastic plan', 'forecast optimum') with its figures, and
    :data:`DIFFERENCE_ROW`, the paired differences with their standard errors (a plan's row has
    none); None where a figure was not measured (a summary written before it was)."""
    keys = [key for key, _, _ in OUT_OF_SAMPLE_COLUMNS]
    none = {PAIRED_ERROR.format(key): None for key in keys}
    rows = [{"plan": OUT_OF_SAMPLE_PLANS.get(label, label), **{key: m.get(key) for key in keys}, **none}
            for label, m in (oos.get("metrics") or {}).items()]  # fmt: skip
    paired = oos.get("paired")
    if paired:
        rows.append({"plan": DIFFERENCE_ROW,
                     **{key: paired.get(f"{of}_diff") for key, of, _ in OUT_OF_SAMPLE_COLUMNS},
                     **{PAIRED_ERROR.format(key): paired.get(f"{of}_diff_se")
                        for key, of, _ in OUT_OF_SAMPLE_COLUMNS}})  # fmt: skip
    return rows


def out_of_sample_lines(oos: dict) -> list[tuple[str, ...]]:
    """A stochastic run's ``out_of_sample`` as the terminal's, the report's and a notebook's table
    write it: the rows of :func:`out_of_sample_rows` under ('plan', *the headers of
    :data:`OUT_OF_SAMPLE_COLUMNS`), the differences with their standard errors in brackets
    (:func:`paired_cell`), '-' for a figure not measured."""
    def cell(row: dict, key: str) -> str:
        value = row[key]
        if value is None:
            return "-"
        if row["plan"] == DIFFERENCE_ROW:
            return paired_cell(key, value, row[PAIRED_ERROR.format(key)])
        return format_usd(value) if key.endswith("_usd") else format_percent(value)

    return [(row["plan"], *(cell(row, key) for key, _, _ in OUT_OF_SAMPLE_COLUMNS))
            for row in out_of_sample_rows(oos)]  # fmt: skip


def out_of_sample_words(oos: dict, scenarios: int, typed: bool = True, weight: float = 0.0) -> str:
    """The verdict on the stochastic plan out of sample and what it means, in two sentences ('' without
    paired differences): the terminal's caption, the report's paragraph and its In short, a notebook's
    display (``typed``: as :func:`out_of_sample_advice` takes it)."""
    if not oos.get("paired"):
        return ""
    advice = out_of_sample_advice(oos["paired"], scenarios, typed, weight)
    return (f"The stochastic plan is {out_of_sample_verdict(oos['paired'], scenarios)}."
            + (f" What it means: {advice}." if advice else ""))
