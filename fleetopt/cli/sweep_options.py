"""The options of `fleetopt sweep` of its own (those it shares with other commands are in
cli/options.py): the candidates, the rule's options and the rule's fields they set
(:data:`RULE_OPTIONS`, :func:`rule_fields`, :func:`rule_changes`), the stochastic candidate, your
purchases' candidates, --objective and --rerank.
"""

from __future__ import annotations

from typing import Annotated

import typer

from fleetopt.cli.given_options import given
from fleetopt.cli.option_values import checked, path_given, usd_amount, whole_number
from fleetopt.cli.options import Objective, ProbabilityLimit, RankBy
from fleetopt.runs import limits
from fleetopt.runs.limits import MAX_STOCHASTIC_SCENARIOS
from fleetopt.stochastic.settings import FIRST_STAGE_QUARTERS
from fleetopt.sweep.rule import COST_RANK

CandidatesOption = Annotated[
    int,
    typer.Option(
        parser=whole_number,
        callback=checked(limits.whole, 1),
        help="Most candidate plans to evaluate (the pick's two cash-buffer runs come on top).",
    ),
]


PreferOption = Annotated[
    RankBy, typer.Option(help="Pick the best plan by this NPV figure among those meeting the limits (a "
                         "sweep by cost, --objective cost, picks the lowest mean present cost).")
]


MinServiceOption = Annotated[
    float | None,
    typer.Option(
        callback=ProbabilityLimit,
        help="With --objective cost: only plans serving at least this share of market demand on average "
        "over the scenarios (demand_served_share), in [0, 1] (default: the forecast optimum's share).",
    ),
]


MaxDefaultProbOption = Annotated[
    float | None,
    typer.Option(
        callback=ProbabilityLimit,
        help="Only plans with at most this liquidity-default probability, in [0, 1].",
    ),
]


MaxAnyDefaultProbOption = Annotated[
    float | None,
    typer.Option(
        callback=ProbabilityLimit,
        help="Only plans with at most this probability of any default, in [0, 1]: a liquidity default "
        "or an uncured covenant breach, either event of default as lenders count them.",
    ),
]


MinCvarOption = Annotated[
    str | None,  # made a float by the callback, said of the option, not of the rule's field
    typer.Option(
        callback=usd_amount,
        help="Only plans whose CVaR5 NPV is at least this, USD (-50000000, -5e7 or -50M).",
    ),
]


AllowForecastBreachFlag = Annotated[
    bool,
    typer.Option(
        "--allow-forecast-breach/--no-allow-forecast-breach",
        help="Also recommend plans that breach a covenant or default on the forecast itself (by "
        "default they are not considered: a policy buffer that cuts the prepayments keeping the "
        "borrowing base breaches it even on the forecast). --no-allow-forecast-breach puts the "
        "check back in a rule --rerank or --resume keeps.",
    ),
]


AllowRiskierFlag = Annotated[
    bool,
    typer.Option(
        "--allow-riskier/--no-allow-riskier",
        help="Also recommend plans with a higher breach, liquidity default or any-default probability "
        "(a liquidity default or an uncured breach) than the forecast optimum's on the same scenarios (by "
        "default they are not considered: the evaluator does not price a covenant breach, so a better "
        "tail could otherwise buy a breach in nearly every future). "
        "--no-allow-riskier puts the check back in a rule --rerank or --resume keeps.",
    ),
]


StochasticCandidateOption = Annotated[
    int | None,
    typer.Option(
        parser=whole_number,
        callback=checked(limits.whole, 1),
        help="Add the two-stage stochastic plan over N scenarios (`solve --stochastic N`, N at most "
        f"{MAX_STOCHASTIC_SCENARIOS:,}; first stage quarters 0-{FIRST_STAGE_QUARTERS - 1}, or the whole "
        "of a shorter horizon) as the second candidate (--candidates at least 2); its scenarios are "
        "reduced from seed SEED + 1. Off by default (minutes on a large model).",
    ),
]


PurchasesCandidatesOption = Annotated[
    list[str] | None,  # made Paths by the callback: typer reads "" as Path("."), the current folder
    typer.Option(
        callback=path_given("purchases file", check=limits.path),
        help="A CSV file of a procurement plan of yours (as `solve --purchases` reads it): a candidate "
        "'yours: FILE' with those purchases fixed and the rest the forecast's best, made right after the "
        "forecast optimum (and the stochastic plan). Repeat for several.",
    ),
]


SweepObjectiveOption = Annotated[
    Objective,
    typer.Option(
        help="npv: every candidate maximises NPV; cost: every candidate solved for least present cost "
        "(a lab serving its own demand), ranked by mean present cost over the scenarios among plans "
        "serving at least --min-service of the demand."
    ),
]


RerankOption = Annotated[
    str | None,  # made a Path by the callback: typer reads "" as Path("."), the current folder
    typer.Option(
        "--rerank",
        callback=path_given("run folder or run id"),
        help="Rank the candidates of this finished sweep (run folder or run id) by its rule with the "
        "rule's options given now replacing their parts, into a new run folder (--out): its plans "
        "evaluated again on its own scenarios (seconds), no solve but a new stress pick's planned cash "
        "buffers, with the sweep's --mip-gap and --time-limit. The sweep's folder is only read.",
    ),
]


# the options that set the rule's fields, by the field each sets (the allow flags its negation): a
# resume (a sweep whose rule no candidate met finishes with a looser one) and a re-ranking change
# the rule by those given
RULE_OPTIONS = {"prefer": "prefer", "max_breach_prob": "max_breach_prob",
                "max_default_prob": "max_default_prob", "max_any_default_prob": "max_any_default_prob",
                "min_cvar": "min_cvar5_usd", "allow_forecast_breach": "forecast_within_limits",
                "allow_riskier": "no_riskier_than_optimum", "min_service": "min_service"}  # fmt: skip


def rule_fields(ctx: typer.Context) -> dict:
    """The rule's fields as the options (``ctx.params``) set them; a sweep by cost's ``prefer`` is
    "cost" where --prefer is not given (:meth:`~fleetopt.sweep.rule.Rule.for_objective` refuses one given)."""
    p = ctx.params
    by_cost = p["objective"] == Objective.cost and not given(ctx, "prefer")
    values = {**p, "prefer": COST_RANK if by_cost else p["prefer"].value,
              "allow_forecast_breach": not p["allow_forecast_breach"],
              "allow_riskier": not p["allow_riskier"]}  # fmt: skip
    return {field: values[name] for name, field in RULE_OPTIONS.items()}


def rule_changes(ctx: typer.Context) -> dict:
    """The rule's fields set by the options given (a resume's or a re-ranking's changes to the rule)."""
    fields = rule_fields(ctx)
    return {field: fields[field] for name, field in RULE_OPTIONS.items() if given(ctx, name)}
