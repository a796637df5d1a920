"""The Pareto front of a sweep's candidates and the rule that recommends one: its limits on breach and
default probabilities and on CVaR5, the condition of no more risk than the forecast optimum's, the
conditions a plan misses and how far, and the pick, runner-up and best-mean plan within the rule."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields, replace

import numpy as np
import pandas as pd

from fleetopt.core.metric_columns import ANY_DEFAULT_LABEL, BREACH_LABEL, CVAR5_NPV_LABEL, DEFAULT_LABEL
from fleetopt.core.units import (
    SCALE_SUFFIXES,
    format_percent,
    format_rate,
    format_usd,
    listed,
)
from fleetopt.errors import Argument, InputError
from fleetopt.evaluate.lead import tie_margin
from fleetopt.evaluate.metrics import (
    COST_DEFAULT_RANK,
    COST_RANK_COLUMNS,
    DEFAULT_RANK,
    FORECAST_OK,
    RANK_COLUMNS,
    RANK_WORDS,
    SERVICE_COLUMN,
    serves_at_least,
)
from fleetopt.runs import limits


class RuleError(InputError):
    """No candidate satisfies the user's rule."""


class RuleNotMet(RuleError):
    """Every candidate was evaluated and none meets the rule: the evaluation is worth keeping (a
    sweep saved in a folder finishes with a looser rule: ``fleetopt sweep --resume``). ``loosen``:
    the options that let the nearest candidate meet it, and that candidate's name."""

    def __init__(self, message: str, loosen: tuple[list[str], str] = ([], ""), values: dict | None = None):
        super().__init__(message)
        self.loosen = loosen
        self.values = values or {}  # a limit's option -> the value the nearest candidate meets

    def looser(self, command: str, call: str | None = None) -> tuple[str | Argument, ...]:
        """How to finish with a looser rule, for ``command`` (the sweep's resume or a rerank), as a
        message's parts (:meth:`InputError.naming`; none where nothing loosens it): each limit given the
        value that lets the nearest candidate meet it (``values``), an :class:`Argument`, the rule's field
        in Python (``max_breach_prob=0.875``) and its option in the terminal (``--max-breach-prob 0.875``).
        ``call``: the Python that does what ``command`` does, its rule changes at ``{changes}``
        (``fleetopt.api.resume_sweep('F', rule_changes={changes})``): then Python is given that call whole
        and the terminal the command, where the two were mixed ("fleetopt sweep --resume F with
        max_breach_prob=0.95 (--max-breach-prob 0.95)", which runs in neither: a review)."""
        options, nearest = self.loosen
        if not options:
            return ()
        given = [_loosened(option, self.values.get(option)) for option in options]
        if call is not None:
            changes = ", ".join(f"{a.keyword.split('=')[0]!r}: {a.keyword.split('=', 1)[1]}" for a in given)
            typed = f"{command} with {' and '.join(a.option for a in given)}"
            parts: list[str | Argument] = [Argument(call.replace("{changes}", f"{{{changes}}}"), typed)]
        else:
            parts = [f"{command} with ", given[0]]
            for argument in given[1:]:
                parts += [" and ", argument]
        if (set(_LOOSENED_BY.values()) - {"--min-service"}) & set(options):
            parts += [" (a probability limit of 1, or a ", Argument("min_cvar5_usd", "--min-cvar"),
                      " below every candidate's, sets none)"]  # fmt: skip
        return (*parts, f"; the nearest candidate, {nearest}, meets the rest")


# the Pareto front's figures, +1 where higher is better (not a solve's objective: milp/build.OBJECTIVES)
FRONT_FIGURES = {"npv_mean_usd": +1, "npv_cvar5_usd": +1, "breach_probability": -1}

# the rule's figure of a sweep of plans solved for least cost (`sweep --objective cost`): the mean
# present cost over the scenarios, lower better, as `fleetopt evaluate --rank-by cost` ranks them (its
# default for such plans), with its service floor on the share of demand served
COST_RANK = COST_DEFAULT_RANK
COST_COLUMN, COST_WORDS = COST_RANK_COLUMNS[COST_RANK], RANK_WORDS[COST_RANK]

# a cost sweep's pick's figures in its summary.json (and cost_changes's): the cost, its tail and the service
COST_FIGURES = (COST_COLUMN, "present_cost_cvar95_usd", SERVICE_COLUMN, "shortfall_probability")

# a cost sweep's front: mean and CVaR95 present cost (lower) and the share of demand served (higher)
COST_FRONT_FIGURES = {COST_COLUMN: -1, "present_cost_cvar95_usd": -1, SERVICE_COLUMN: +1}


def rank_column(prefer: str) -> str:
    """The metrics column a rule's ``prefer`` ranks by: an NPV figure (RANK_COLUMNS) or the mean cost."""
    return COST_COLUMN if prefer == COST_RANK else RANK_COLUMNS[prefer]


def rank_words(prefer: str) -> str:
    """The figure a rule's ``prefer`` ranks by, in words: 'CVaR5 NPV', 'mean present cost'."""
    return COST_WORDS if prefer == COST_RANK else RANK_WORDS[prefer]


def rank_score(metrics: pd.DataFrame, prefer: str) -> np.ndarray:
    """Each plan's figure of ``prefer``, signed so that higher is better (a cost negated)."""
    sign = -1.0 if prefer == COST_RANK else 1.0
    return sign * metrics[rank_column(prefer)].to_numpy(dtype=float)


def front_figures(prefer: str) -> dict[str, int]:
    """The Pareto front's figures of a rule by ``prefer``: the cost sweep's, or the NPV sweep's."""
    return COST_FRONT_FIGURES if prefer == COST_RANK else FRONT_FIGURES


def pareto_front(metrics: pd.DataFrame, figures: Mapping[str, int] = FRONT_FIGURES) -> np.ndarray:
    """Boolean mask of plans no other plan dominates on ``figures`` (by default mean NPV, CVaR5 (higher)
    and breach probability (lower)). Plans with identical figures are all kept."""
    values = np.column_stack([metrics[c].to_numpy(dtype=float) * sign for c, sign in figures.items()])
    # differences within round-off (relative 1e-9) are ties, not improvements
    tol = 1e-9 * np.maximum(1.0, np.abs(values).max(axis=0))
    n = len(values)
    keep = np.ones(n, dtype=bool)
    for a in range(n):
        better_or_equal = (values >= values[a] - tol).all(axis=1)
        strictly = (values > values[a] + tol).any(axis=1)
        if (better_or_equal & strictly).any():
            keep[a] = False
    return keep


# Rule.forecast_within_limits in the rule's words (Rule.describe, summary.json's "rule"), by which the
# report knows that a sweep whose job.json predates that setting applied it
FORECAST_CONDITION = "no breach or default on the forecast"


# each limited figure in words: (its label, as a sentence names it); the long label, as these are
# prose (a terminal's narrow columns alone take the short one)
LIMIT_WORDS = {
    "breach_probability": (BREACH_LABEL, "breach probability"),
    "default_probability": (DEFAULT_LABEL, "liquidity default probability"),
    "any_default_probability": (ANY_DEFAULT_LABEL, "probability of any default"),
    "npv_cvar5_usd": (CVAR5_NPV_LABEL, CVAR5_NPV_LABEL),
    SERVICE_COLUMN: ("demand served", "share of demand served"),
}


# the risks the rule keeps at the forecast optimum's (Rule.no_riskier_than_optimum): P(any default)
# too, as a plan with fewer breaches and liquidity defaults can have more uncured breaches, the
# defaults lenders count
OPTIMUM_RISKS = ("breach_probability", "default_probability", "any_default_probability")


# the condition's words in the summary.json of a sweep before P(any default) joined it (fleetopt 0.4.31
# and earlier), whose rule kept the first two risks
OPTIMUM_CONDITION_BEFORE = "breach and liquidity default probabilities no higher than the forecast optimum's"


def optimum_condition(risks: Sequence[str] = OPTIMUM_RISKS, labels: bool = False) -> str:
    """Rule.no_riskier_than_optimum in words, each of ``risks`` (metrics columns) named as a sentence
    names it ('breach probability, ... no higher than the forecast optimum's'), or by its label
    (``labels``: 'P(covenant breach), ...', as the report's rule line gives the limits)."""
    return f"{risks_listed(risks, 'and', labels)} no higher than the forecast optimum's"


def risks_listed(risks: Sequence[str], conjunction: str, labels: bool = False) -> str:
    """'breach probability, liquidity default probability and probability of any default': ``risks``
    (metrics columns) named as a sentence names them, or by their labels (``labels``)."""
    return listed([LIMIT_WORDS[column][0 if labels else 1] for column in risks], conjunction)


# Rule.describe's words where nothing limits the risks, and as fleetopt 0.4.31 and earlier wrote them
NO_RISK_LIMIT = f"no limit on the {risks_listed(OPTIMUM_RISKS, 'or')}"


NO_RISK_LIMIT_BEFORE = "no limit on the breach or liquidity default probability"


def optimum_risks(metrics: pd.DataFrame) -> list[str]:
    """The risks of OPTIMUM_RISKS the rule compares with the forecast optimum's in ``metrics``: each
    they have (a frame made by hand in Python may lack P(any default); every sweep measures it)."""
    return [column for column in OPTIMUM_RISKS if column in metrics]


@dataclass(frozen=True)
class Rule:
    """Choose the best plan by ``prefer`` among plans meeting the limits."""

    prefer: str = DEFAULT_RANK  # cvar5 | mean | p5 (RANK_COLUMNS) | cost (COST_RANK: a cost sweep's)
    max_breach_prob: float | None = None
    max_default_prob: float | None = None
    min_cvar5_usd: float | None = None
    # only plans that keep every covenant and their cash on the forecast itself (metrics column
    # FORECAST_OK): a plan that breaches on its own forecast is not one a lender would sign
    forecast_within_limits: bool = True
    # only plans whose breach, liquidity default and any-default probabilities (OPTIMUM_RISKS) are no
    # higher than the forecast optimum's on the same scenarios: the evaluator does not price a breach,
    # so a rule that ignored it could trade a covenant breached in nearly every future for a better tail
    no_riskier_than_optimum: bool = True
    # the highest probability of any default, as lenders count them (a liquidity default or an uncured
    # covenant breach: metrics any_default_probability); last, so that a rule made by position keeps
    # its meaning
    max_any_default_prob: float | None = None
    # a rule by cost only: the lowest share of demand served (metrics demand_served_share), in [0, 1];
    # None: the forecast optimum's on the same scenarios (the cheapest plan would serve the least)
    min_service: float | None = None

    def __new__(cls, *args, **kwargs):  # an unknown field: InputError naming it, not a TypeError
        unknown = sorted(set(kwargs) - {f.name for f in fields(cls)})
        if unknown:
            options = {f"--{name.replace('_', '-')}" for name in unknown} & set(_RULE_FIELD)
            hint = "".join(f"; {option} is {_RULE_FIELD[option]}" for option in sorted(options))
            raise InputError(f"Rule has no field {', '.join(map(repr, unknown))} (its fields: "
                             f"{', '.join(f.name for f in fields(cls))}){hint}")  # fmt: skip
        return super().__new__(cls)

    def __post_init__(self) -> None:  # refused where it is made, not after the sweep's solves
        self.check()

    @classmethod
    def checked_fields(cls, name: str, value) -> dict:
        """``value``, some of the rule's fields as a mapping (an argument's, a file's), each field
        checked; else InputError naming ``name``."""
        fields = set(vars(cls()))
        if not isinstance(value, Mapping):
            got = f"a {type(value).__name__}"
        elif not set(value) <= fields:
            got = f"the fields {', '.join(map(repr, sorted(set(value) - fields, key=str)))}"
        else:
            # some fields (a resume's changes): a service floor without prefer is checked as a cost rule's
            floor_alone = value.get("min_service") is not None and "prefer" not in value
            by_cost = {"prefer": COST_RANK} if floor_alone else {}
            try:
                cls(**{**by_cost, **value})
            except InputError as exc:
                raise InputError(f"{name}: {exc}") from None
            return dict(value)
        names = ", ".join(sorted(fields))
        raise InputError(f"{name} must hold fields of the ranking rule (fleetopt.api.Rule: {names}), "
                         f"not {got}")

    def describe(self) -> str:
        """The rule in words: 'best CVaR5 NPV among plans with ...'."""
        conditions = [FORECAST_CONDITION] if self.forecast_within_limits else []
        if self.no_riskier_than_optimum:
            conditions.append(optimum_condition())
        if self.max_breach_prob is not None:
            conditions.append(f"breach probability <= {format_rate(self.max_breach_prob)}")
        if self.max_default_prob is not None:
            conditions.append(f"liquidity default probability <= {format_rate(self.max_default_prob)}")
        if self.max_any_default_prob is not None:
            conditions.append(f"probability of any default <= {format_rate(self.max_any_default_prob)}")
        if self.min_cvar5_usd is not None:
            conditions.append(f"{CVAR5_NPV_LABEL} >= {format_usd(self.min_cvar5_usd)}")
        if self.by_cost:
            conditions.append(self.service_words())
        head = f"lowest {COST_WORDS}" if self.by_cost else f"best {RANK_WORDS[self.prefer]}"
        no_limit = f", with {NO_RISK_LIMIT}"
        if not conditions:
            return head + no_limit
        text = head + " among plans with " + " and ".join(conditions)
        unlimited = all(getattr(self, name) is None for name in PROBABILITY_LIMITS)
        if self.forecast_within_limits and unlimited and not self.no_riskier_than_optimum:
            text += no_limit + " in the scenarios"
        return text

    @property
    def by_cost(self) -> bool:
        """Whether the rule ranks plans solved for least cost by their mean present cost."""
        return self.prefer == COST_RANK

    @property
    def objective(self) -> str:
        """What the candidates of a sweep by this rule are solved for (milp/build.OBJECTIVES): its
        figure says it, so a sweep's rule, kept in its files, says it for its resume and re-ranking."""
        return "cost" if self.by_cost else "npv"

    def for_objective(self, objective: str) -> Rule:
        """The rule, checked against a sweep solved for ``objective``: a rule by cost for a cost
        sweep's plans, by an NPV figure for an NPV sweep's; InputError naming the setting else."""
        if self.objective == objective:
            return self
        if objective == "cost":
            raise InputError(f"--prefer {self.prefer} (the rule's prefer) ranks by an NPV figure; a sweep by "
                             "cost ranks by mean present cost: drop it (in Python, Rule(prefer='cost'))")
        raise InputError("prefer='cost' ranks plans solved for least cost: give it with --objective cost "
                         "(in Python, objective='cost')")

    def service_words(self) -> str:
        """The cost rule's service floor in words: 'share of demand served >= 95%', or the optimum's."""
        name = LIMIT_WORDS[SERVICE_COLUMN][1]
        if self.min_service is None:
            return f"{name} no lower than the forecast optimum's"
        return f"{name} >= {format_rate(self.min_service)}"

    def check(self) -> Rule:
        """The rule, or InputError naming the setting that no plan's figures can be compared with
        (a NaN limit would be met by no plan, found only after every candidate was evaluated)."""
        limits.text("prefer", self.prefer, (*RANK_COLUMNS, COST_RANK))  # a list there: TypeError, unhashable
        for name in PROBABILITY_LIMITS:
            if getattr(self, name) is not None:
                limits.number(name, getattr(self, name), 0.0, 1.0)
        if self.min_cvar5_usd is not None:
            usd_given = "min_cvar5_usd (--min-cvar; from Python a number of USD, -5e7 for -$50M)"
            limits.number(usd_given, self.min_cvar5_usd)
        limits.flag("forecast_within_limits", self.forecast_within_limits)
        limits.flag("no_riskier_than_optimum", self.no_riskier_than_optimum)
        self._check_cost_fields()
        return self

    def _check_cost_fields(self) -> None:
        """A service floor only for a rule by cost, and no NPV limit in one."""
        if self.min_service is not None:
            limits.number("min_service (--min-service)", self.min_service, 0.0, 1.0)
            if not self.by_cost:
                raise InputError(NPV_SWEEP_FLOOR)
        if self.by_cost and self.min_cvar5_usd is not None:
            raise InputError("--min-cvar (min_cvar5_usd) limits CVaR5 NPV, which a sweep by cost does not "
                             "rank by: drop it (the cost rule's floor is --min-service)")  # fmt: skip


# a service floor given to a sweep whose candidates maximise NPV (a new one, or one resumed or re-ranked)
NPV_SWEEP_FLOOR = ("min_service (--min-service) limits a sweep by cost: give it with --objective cost (in "
                   "Python, objective='cost' and rule=fleetopt.api.Rule(prefer='cost', min_service=...)); a "
                   "sweep whose candidates maximise NPV, resumed or re-ranked, has no service floor")


# the rule's limits on a probability, each in [0, 1]
PROBABILITY_LIMITS = ("max_breach_prob", "max_default_prob", "max_any_default_prob")


def forecast_optimum_row(metrics: pd.DataFrame) -> pd.Series | None:
    """The forecast optimum's metrics (origin "forecast"), None where the metrics name none."""
    at = forecast_optimum_index(metrics)
    return None if at is None else metrics.iloc[at]


def forecast_optimum_index(metrics: pd.DataFrame) -> int | None:
    """The row index of the forecast optimum (the first of origin "forecast"), None where the metrics
    name none."""
    if "origin" not in metrics:
        return None
    rows = np.flatnonzero(metrics["origin"].to_numpy() == "forecast")
    return int(rows[0]) if len(rows) else None


def closest(metrics: pd.DataFrame, rule: Rule) -> str:
    """What the candidates come closest to on each limit of ``rule``: 'the lowest breach probability
    is 53.0% (milp: collateral haircut)', among those that meet the rule's other conditions (a plan
    another condition excludes would not qualify under a looser limit either: the hint named a plan
    within the default limit asked for, left out as riskier than the forecast optimum)."""
    parts = []
    if rule.forecast_within_limits and FORECAST_OK in metrics and not metrics[FORECAST_OK].any():
        parts.append("every candidate breaches a covenant or defaults on the forecast itself")
    optimum = forecast_optimum_row(metrics) if rule.no_riskier_than_optimum else None
    if optimum is not None:
        first, *rest = [(LIMIT_WORDS[c][1], format_percent(optimum[c])) for c in optimum_risks(metrics)]
        said = [f"{first[0]} is {first[1]}", *(f"its {name} {value}" for name, value in rest)]
        parts.append(f"the forecast optimum's {listed(said, 'and')}")
    conditions = rule_conditions(metrics, rule)
    for column, bound, _ in rule_limits(rule):
        others = np.ones(len(metrics), dtype=bool)
        for option, meets in conditions:
            if option != _LOOSENED_BY[column]:
                others &= meets
        if not others.any():
            continue  # no plan meets the rest: loosening this limit alone admits none
        eligible = metrics[others]
        at = eligible[column].idxmin() if bound == "max" else eligible[column].idxmax()
        row = eligible.loc[at]
        what = f"the {'lowest' if bound == 'max' else 'highest'} {LIMIT_WORDS[column][1]}"
        parts.append(f"{what} is {_limit_value(column, row[column])} ({row.get('plan', f'row {at}')})")
    return "; ".join(parts)


def _limit_value(column: str, value: float) -> str:
    """A limited figure as written: USD for CVaR5 NPV, a percentage for a probability."""
    return format_usd(value) if column == "npv_cvar5_usd" else format_percent(value)


def rule_limits(rule: Rule) -> list[tuple[str, str, float]]:
    """The limits a user set on the rule, as (metrics column, "max" or "min", value)."""
    limits_set = [("breach_probability", "max", rule.max_breach_prob),
                  ("default_probability", "max", rule.max_default_prob),
                  ("any_default_probability", "max", rule.max_any_default_prob),
                  ("npv_cvar5_usd", "min", rule.min_cvar5_usd),
                  (SERVICE_COLUMN, "min", rule.min_service)]  # fmt: skip
    return [(column, bound, value) for column, bound, value in limits_set if value is not None]


def within_limit(values, column: str, bound: str, limit: float):
    """Whether ``values`` of the metrics ``column`` keep a "max" or "min" ``limit`` (a probability's
    round-off is no miss); a share of demand served as every floor reads it: :func:`serves_at_least`."""
    if column == SERVICE_COLUMN:
        return serves_at_least(values, limit)
    return values <= limit + 1e-12 if bound == "max" else values >= limit


def limits_missed(row: pd.Series, rule: Rule) -> list[str]:
    """The rule's own limits a plan's metrics row misses, in words: 'P(covenant breach) 87.5% above 60.0%'."""
    return [_limit_missed(column, bound, limit, row[column]).words
            for column, bound, limit in rule_limits(rule)
            if not within_limit(row[column], column, bound, limit)]  # fmt: skip


def _limit_missed(column: str, bound: str, limit: float, value: float) -> Missed:
    """A limit of the rule's own that ``value`` misses ('P(covenant breach) 87.5% above 60.0%' in
    words)."""
    side = "above" if bound == "max" else "below"
    return Missed(LIMIT_WORDS[column][0], _limit_value(column, value), side, _limit_value(column, limit))


# the figure a risk is kept at by Rule.no_riskier_than_optimum, as a sentence names it
OPTIMUM_FIGURE = "the forecast optimum's"


@dataclass(frozen=True)
class Missed:
    """A condition of the rule a candidate misses: the figure ('P(covenant breach)'; for a breach on the
    forecast, the condition itself), the candidate's value of it ('96.0%'; '' for that breach), the
    side of the limit it is on ('above') and the limit ('67.0%'), the forecast optimum's where
    ``optimum``."""

    figure: str
    value: str = ""
    side: str = ""
    limit: str = ""
    optimum: bool = False

    @property
    def bound(self) -> str:
        """What the value is beyond: "above the forecast optimum's 67.0%", 'above 60.0%'."""
        whose = OPTIMUM_FIGURE if self.optimum else ""
        return " ".join(part for part in (self.side, whose, self.limit) if part)

    @property
    def words(self) -> str:
        """'P(covenant breach) 96.0% above the forecast optimum's 67.0%'."""
        return " ".join(part for part in (self.figure, self.value, self.bound) if part)

    @property
    def condition(self) -> str:
        """The condition missed without the candidate's value: 'P(covenant breach) above 60.0%'."""
        return " ".join(part for part in (self.figure, self.bound) if part)


def rule_misses(metrics: pd.DataFrame, rule: Rule, at: int) -> list[Missed]:
    """Every condition of ``rule`` (:func:`rule_conditions`) the candidate in row ``at`` misses."""
    row, missed = metrics.iloc[at], []
    limit_of = {_LOOSENED_BY[column]: (column, bound, limit) for column, bound, limit in rule_limits(rule)}
    for option, meets in rule_conditions(metrics, rule):
        if meets[at]:
            continue
        if option == "--allow-forecast-breach":
            missed.append(Missed("breaches a covenant or defaults on the forecast"))
        elif option == "--allow-riskier":
            optimum = forecast_optimum_row(metrics)
            missed += [Missed(LIMIT_WORDS[c][0], format_percent(row[c]), "above", format_percent(optimum[c]),
                              optimum=True)
                       for c in optimum_risks(metrics) if row[c] > optimum[c]]  # fmt: skip
        elif option not in limit_of:  # a cost rule's service floor: the forecast optimum's
            floor = forecast_optimum_row(metrics)[SERVICE_COLUMN]
            missed.append(Missed(LIMIT_WORDS[SERVICE_COLUMN][0], format_percent(row[SERVICE_COLUMN]), "below",
                                 f"{OPTIMUM_FIGURE} {format_percent(floor)}"))  # fmt: skip
        else:
            column, bound, limit = limit_of[option]
            missed.append(_limit_missed(column, bound, limit, row[column]))
    return missed


def conditions_missed(metrics: pd.DataFrame, rule: Rule, at: int) -> list[str]:
    """Every condition of ``rule`` (:func:`rule_conditions`) the candidate in row ``at`` misses, in
    words: 'P(covenant breach) 96.0% above the forecast optimum's 67.0%', 'P(liquidity default) 31.0%
    above 30.0%'."""
    return [missed.words for missed in rule_misses(metrics, rule, at)]


def conditions_words(missed: Sequence[Missed]) -> str:
    """The conditions ``missed`` without a candidate's values, in their order, those against the
    forecast optimum (listed together by :func:`rule_misses`) in one phrase: "P(covenant breach) and
    P(any default) above the forecast optimum's 66.4% and 48.8%"."""
    optimum = [m for m in missed if m.optimum]
    phrases = [m.condition for m in missed if not m.optimum]
    if optimum:  # where they stand among the others, as a candidate's values are given
        together = (f"{listed([m.figure for m in optimum])} above {OPTIMUM_FIGURE} "
                    f"{listed([m.limit for m in optimum])}")  # fmt: skip
        phrases.insert(list(missed).index(optimum[0]), together)
    return ", ".join(phrases)


def missed_by_condition(metrics: pd.DataFrame, rule: Rule, rows: Sequence[int]) -> dict[str, list[str]]:
    """The candidates in ``rows`` grouped by the conditions of ``rule`` they miss, each condition in
    words once (:func:`conditions_words`) and each candidate with its values in their order:
    {"P(covenant breach) and P(any default) above the forecast optimum's 66.4% and 48.8%":
    ["milp: price shock (94.7%, 84.1%)", ...]} (the default sweep's six plans said "above the
    forecast optimum's" twelve times)."""
    groups: dict[str, list[str]] = {}
    for at in rows:
        missed = rule_misses(metrics, rule, at)
        values = ", ".join(m.value for m in missed if m.value)
        groups.setdefault(conditions_words(missed), []).append(f"{metrics['plan'].iloc[at]} ({values})")
    return groups


# each option of _LOOSENED_BY as the Rule field that does the same from Python (rule_changes)
_RULE_FIELD = {"--max-breach-prob": "max_breach_prob", "--max-default-prob": "max_default_prob",
               "--max-any-default-prob": "max_any_default_prob",
               "--min-cvar": "min_cvar5_usd", "--min-service": "min_service",
               "--allow-riskier": "no_riskier_than_optimum=False",
               "--allow-forecast-breach": "forecast_within_limits=False"}  # fmt: skip


# the command-line option that loosens each condition of a rule (docs: fleetopt sweep --help)
_LOOSENED_BY = {"breach_probability": "--max-breach-prob", "default_probability": "--max-default-prob",
                "any_default_probability": "--max-any-default-prob",
                "npv_cvar5_usd": "--min-cvar", SERVICE_COLUMN: "--min-service"}  # fmt: skip


def _loosened(option: str, value: str | None) -> Argument:
    """A limit loosened to ``value`` (as its ``option`` takes it; None: the option alone, a condition lifted)
    as an :class:`Argument`: the rule's field in Python (``min_cvar5_usd=-88200000.0``), the option typed."""
    field = _RULE_FIELD[option]
    if value is None:
        return Argument(field, option)
    scale = SCALE_SUFFIXES.get(value[-1].upper(), 0) if value[-1].isalpha() else 0
    number = float(value[:-1]) * 10**scale if scale else float(value)
    return Argument(f"{field}={number!r}", f"{option} {value}")


def rule_conditions(metrics: pd.DataFrame, rule: Rule, risks: Sequence[str] | None = None
                    ) -> list[tuple[str, np.ndarray]]:  # fmt: skip
    """Each condition of ``rule`` as (the option that loosens it, which candidates meet it); ``risks``:
    those kept at the forecast optimum's where not all of :func:`optimum_risks` (an earlier
    fleetopt's rule)."""
    conditions = []
    if rule.forecast_within_limits and FORECAST_OK in metrics:
        conditions.append(("--allow-forecast-breach", metrics[FORECAST_OK].to_numpy(dtype=bool)))
    for column, bound, limit in rule_limits(rule):
        if column not in metrics:  # a sweep from before the figure was measured, re-ranked
            raise InputError(f"{_LOOSENED_BY[column]} cannot apply: these candidates' figures have no "
                             f"{column} (a sweep by an earlier fleetopt); sweep again to limit it")
        meets = within_limit(metrics[column].to_numpy(), column, bound, limit)
        conditions.append((_LOOSENED_BY[column], meets))
    optimum = forecast_optimum_row(metrics) if rule.no_riskier_than_optimum else None
    if optimum is not None:  # on the same scenarios: the comparison is paired, not sampled twice
        kept = optimum_risks(metrics) if risks is None else risks
        riskier = [metrics[column].to_numpy() <= optimum[column] + 1e-12 for column in kept]
        conditions.append(("--allow-riskier", np.logical_and.reduce(riskier)))
    floor = optimum_service(metrics, rule)
    if floor is not None:
        conditions.append(("--min-service", serves_at_least(metrics[SERVICE_COLUMN].to_numpy(), floor)))
    return conditions


def optimum_service(metrics: pd.DataFrame, rule: Rule) -> float | None:
    """The service floor of a rule by cost with none given: the forecast optimum's share of demand
    served on these scenarios (None: another rule, a floor given, or no forecast optimum)."""
    optimum = forecast_optimum_row(metrics) if rule.by_cost and rule.min_service is None else None
    return None if optimum is None else float(optimum[SERVICE_COLUMN]) - 1e-12


def loosening_options(metrics: pd.DataFrame, rule: Rule) -> tuple[list[str], str]:
    """The options that, loosened together, let some candidate meet ``rule`` (those of the
    conditions missed by the candidate that misses the fewest; of several, one that misses only the
    rule's limits, nearest to them by :func:`limit_shortfall`), and that candidate's name."""
    conditions = rule_conditions(metrics, rule)
    missed = np.sum([~meets for _, meets in conditions], axis=0)
    # of those missing the fewest, those missing only limits (which a number loosens), then the one
    # closest to them (the first listed had been named, though it missed the limit by the most)
    shortfall = limit_shortfall(metrics, rule)
    limits_missed_count = sum(~within_limit(metrics[c].to_numpy(), c, b, v) for c, b, v in rule_limits(rule))
    nearest = int(np.lexsort((shortfall, missed - limits_missed_count, missed))[0])
    name = str(metrics["plan"].iloc[nearest]) if "plan" in metrics else f"row {nearest}"
    return [option for option, meets in conditions if not meets[nearest]], name


def loosened_values(metrics: pd.DataFrame, rule: Rule, nearest: str) -> dict[str, str]:
    """Each limit of ``rule`` the ``nearest`` candidate misses, as its option and the value, written
    as the option takes it, that the candidate meets: a probability rounded up to a thousandth
    (0.875), CVaR5 rounded down to three figures (-88.2M)."""
    rows = metrics[metrics["plan"].astype(str) == nearest] if "plan" in metrics else metrics.iloc[:0]
    if rows.empty:
        return {}
    row, out = rows.iloc[0], {}
    for column, bound, limit in rule_limits(rule):
        value = float(row[column])
        if within_limit(value, column, bound, limit) or not math.isfinite(value):
            continue
        out[_LOOSENED_BY[column]] = _option_value(column, bound, value)
    floor = optimum_service(metrics, rule)
    if floor is not None and not serves_at_least(float(row[SERVICE_COLUMN]), floor):
        out["--min-service"] = _option_value(SERVICE_COLUMN, "min", float(row[SERVICE_COLUMN]))
    return out


def _option_value(column: str, bound: str, value: float) -> str:
    """``value`` written as its option takes it, on the side that meets it: a probability rounded up
    to a thousandth (0.875), a share served down (0.888), CVaR5 down to three figures (-88.2M)."""
    if bound == "max":
        return f"{math.ceil(value * 1000 - 1e-9) / 1000:g}"
    return _usd_option(value) if column == "npv_cvar5_usd" else f"{math.floor(value * 1000 + 1e-9) / 1000:g}"


def _usd_option(value: float) -> str:
    """``value`` rounded down to three significant figures, as a money option is written: -88.2M."""
    scale, suffix = next(((s, x) for s, x in ((1e9, "B"), (1e6, "M"), (1e3, "K"))
                          if abs(value) >= s), (1.0, ""))  # fmt: skip
    step = 10 ** (math.floor(math.log10(abs(value) / scale)) - 2) if value else 1.0
    return f"{math.floor(value / scale / step) * step:.{max(0, -int(math.log10(step)))}f}{suffix}"


def limit_shortfall(metrics: pd.DataFrame, rule: Rule) -> np.ndarray:
    """How far each candidate is from the rule's own limits: the sum of its misses, a probability's
    in points of 1 and CVaR5's relative to the limit (0 where it keeps them all)."""
    total = np.zeros(len(metrics))
    for column, bound, limit in rule_limits(rule):
        values = metrics[column].to_numpy(dtype=float)
        miss = values - limit if bound == "max" else limit - values
        scale = max(abs(limit), 1.0) if column == "npv_cvar5_usd" else 1.0
        total += np.maximum(miss, 0.0) / scale
    return total


def keeps_your_limits(metrics: pd.DataFrame, rule: Rule, suggested: list[str]) -> str:
    """Where the loosening suggested (``suggested``, :func:`loosening_options`) moves a limit the user
    set, the best candidate (by the rule's figure) that keeps every such limit and misses only the
    rule's other conditions, with the options that admit it: '; milp: price shock keeps the limits
    you set, and --allow-riskier admits it (P(covenant breach) 97.0%)'; '' where there is none."""
    limits = rule_limits(rule)
    if not limits or not {_LOOSENED_BY[column] for column, _, _ in limits} & set(suggested):
        return ""
    keeps = np.logical_and.reduce([within_limit(metrics[c].to_numpy(), c, b, v) for c, b, v in limits])
    if not keeps.any():
        return ""
    score = np.where(keeps, rank_score(metrics, rule.prefer), -np.inf)
    best = int(np.argmax(score))
    missed = [option for option, meets in rule_conditions(metrics, rule) if not meets[best]]
    row = metrics.iloc[best]
    risk = ", ".join(f"{LIMIT_WORDS[c][0]} {format_percent(row[c])}" for c in optimum_risks(metrics))
    return (f"; {row['plan']} keeps the limits you set, and {' and '.join(missed)} admits it as well "
            f"({risk})")


def recommend(metrics: pd.DataFrame, rule: Rule) -> int:
    """Row index (position) of the plan the rule picks; RuleError when none qualifies."""
    ok = meets_rule(metrics, rule)
    if not ok.any():
        options, nearest = loosening_options(metrics, rule)
        raise RuleNotMet(
            f"no candidate meets the rule ({rule.describe()}); {closest(metrics, rule)}"
            f"{keeps_your_limits(metrics, rule, options)}",
            (options, nearest), loosened_values(metrics, rule, nearest),
        )
    return _best(metrics, rule, ok)


def runner_up(metrics: pd.DataFrame, rule: Rule, pick: int, left_out: np.ndarray) -> int | None:
    """Row index of the plan the rule would pick were ``pick`` not there, among the rows not
    ``left_out`` (a buffer that never acted: the same plan run the same way); None where no other
    plan meets the rule."""
    ok = meets_rule(metrics, rule) & ~left_out
    ok[pick] = False
    return _best(metrics, rule, ok) if ok.any() else None


def best_mean_within_rule(metrics: pd.DataFrame, rule: Rule, pick: int, left_out: np.ndarray) -> int | None:
    """Row index of the plan of highest mean NPV among those no worse than the forecast optimum on
    every figure the rule reads and better in mean NPV than both it and the pick (``pick``): the
    rule's conditions met, with the forecast check and the forecast optimum's risks kept where the
    rule lifts them, and the rule's figure no lower than the optimum's; not ``left_out`` (a buffer
    that never acted). None where none is, or the metrics name no forecast optimum. A pick made by
    its tail can give up mean NPV that a plan no riskier than the optimum keeps (finance review,
    2026-12-06): the sweep names that plan."""
    optimum = forecast_optimum_row(metrics)
    if optimum is None or rule.by_cost:  # a rule by mean cost picks by the mean already
        return None
    column = RANK_COLUMNS[rule.prefer]
    figure, mean = (metrics[name].to_numpy(dtype=float) for name in (column, "npv_mean_usd"))
    floor = max(float(optimum["npv_mean_usd"]), mean[pick])
    ok = meets_rule(metrics, replace(rule, forecast_within_limits=True, no_riskier_than_optimum=True))
    ok &= ~left_out & (figure >= optimum[column] - tie_margin(optimum[column]))
    ok &= mean > floor + tie_margin(floor)
    ok[pick] = False
    return int(np.argmax(np.where(ok, mean, -np.inf))) if ok.any() else None


def meets_rule(metrics: pd.DataFrame, rule: Rule, risks: Sequence[str] | None = None) -> np.ndarray:
    """(rows,) whether each plan meets every condition of the rule (``risks``: :func:`rule_conditions`)."""
    ok = np.ones(len(metrics), dtype=bool)
    for _, meets in rule_conditions(metrics, rule, risks):
        ok &= meets
    return ok


def pick_keeping(metrics: pd.DataFrame, rule: Rule, risks: Sequence[str]) -> int | None:
    """Row index of the plan ``rule`` would pick were ``risks`` alone kept at the forecast optimum's
    (the rule of a sweep by an earlier fleetopt, re-ranked now); None where no plan meets it."""
    ok = meets_rule(metrics, rule, risks)
    return _best(metrics, rule, ok) if ok.any() else None


def _best(metrics: pd.DataFrame, rule: Rule, ok: np.ndarray) -> int:
    """The row the rule prefers among ``ok``: the best figure, ties (within :func:`tie_margin`) to the
    lower breach probability, then the higher mean NPV (by cost: the higher share of demand served, then
    the lower CVaR95 cost), each within :func:`tie_margin` too, then the first: two plans apart by
    round-off alone (a stress optimum the solver found a hair away from the forecast optimum) go to
    the earlier candidate, not to the round-off."""
    score = rank_score(metrics, rule.prefer)
    best = score[ok].max()
    tied = ok & (score >= best - tie_margin(best))
    ties = ((SERVICE_COLUMN, -1), ("present_cost_cvar95_usd", 1)) if rule.by_cost else (
        ("breach_probability", 1), ("npv_mean_usd", -1))
    for name, sign in ties:  # each lower is better once signed; a figure missing (NaN) comes last
        values = sign * metrics[name].to_numpy(dtype=float)
        known = tied & np.isfinite(values)
        if known.any():
            least = values[known].min()
            tied = known & (values <= least + tie_margin(least))
    return int(np.flatnonzero(tied)[0])
