"""What a report's figures mean and assume: the assumptions a lender would question, and the
Definitions (`glossary`, with the model's levels, covenants and discount rate), of the run reports
and the comparison page."""

from __future__ import annotations

from html import escape

from fleetopt.core.data import ModelData
from fleetopt.core.metric_columns import (
    ANY_DEFAULT_LABEL,
    BREACH_LABEL,
    DEFAULT_LABEL,
    METRIC_COLUMNS,
    PRESENT_COST_COLUMNS,
    SHORTFALL_SHARE,
    UNCURED_LABEL,
    cure_limits,
)
from fleetopt.core.results.covenant_words import dscr_kind, first_tested_quarter
from fleetopt.core.tail import tail_count
from fleetopt.core.units import format_rate, format_usd
from fleetopt.evaluate.factors import self_competition_mean
from fleetopt.evaluate.metrics import REACTION_MEANS
from fleetopt.report.reading import ReportRun
from fleetopt.stochastic.gap import OBJECTIVE_WORDS
from fleetopt.sweep.cash_buffers import PLANNED_WITH_BUFFER, RUN_WITH_BUFFER
from fleetopt.sweep.without_orders import WITHOUT_ORDERS_MEANS

# what the report's figures assume that a lender would question (docs/calibration.md, "What these figures
# assume that a lender would question", measures the largest on the default model): of every plan, then
# of scenarios; _assumptions adds those of a model's own terms (refinanced bullets, the covenants' grace,
# the borrowing base, one quarter's EBITDA, the revolver) where it has them
CUSTOMER_DEFAULTS_ASSUMED = (
    "The forecast has no customer defaults and no late power. In the scenarios these mostly hurt, but a "
    "default can raise a scenario's NPV: the customer's prepayment is kept (untaxed) while the GPUs it "
    "freed earn on the market."
)


# the same of a model without contracts (a lab's): no customer to default
LATE_POWER_ASSUMED = "The forecast has no late power; in the scenarios a late power block hurts."


PLAN_ASSUMPTIONS = (
    "The NPV counts each quarter's change in cash as paid to equity in that quarter, while the same cash "
    "stays on the balance sheet for the covenants: cash kept is valued as if paid out when earned (a "
    "solve gives the NPV with cash held to the end beside it, npv_cash_held_usd).",
    CUSTOMER_DEFAULTS_ASSUMED,
    "Interest is paid on each facility's balance at the end of the quarter before (a draw costs nothing "
    "in its own quarter), and income is taxed at finance.tax_rate alone (no state tax, no cap on the "
    "interest deducted).",
)


# what the DSCR divides by, as credit agreements define it (docs/formulation.md §5.11)
DEBT_SERVICE_MEANS = ("Debt service: the quarter's interest and scheduled principal, not prepayments nor a "
                      "bullet repaid at maturity (refinanced or paid from cash).")


# of a model with contracts: its book runs off and nothing replaces it (docs/calibration.md, "The horizon's end")
NO_NEW_CONTRACTS_ASSUMED = (
    "Only the model's contracts are signed (contracts:): the GPUs they free as they end are rented on the "
    "market at the forecast's or the scenario's price (or retired), never contracted again, though a company "
    "would sign new contracts, at prices the model does not give."
)


def counted_not_simulated(cash_covers: bool) -> str:
    """What the scenarios count of defaults and breaches but do not simulate, with the cure rule the
    model's ``finance.covenants.cash_covering_debt_cures`` (``cash_covers``) gives: the default
    model's report left that clause out while its P(uncured covenant breach) followed it."""
    return (f"{DEFAULT_LABEL} counts cash below the default level after the revolver and distress sales; a "
            f"covenant breach is counted in {BREACH_LABEL}, and one the owners could not cure "
            f"({cure_limits(cash_covers)}) in {UNCURED_LABEL}, but neither is simulated: a cure brings in "
            "no cash and no debt is accelerated.")


# of every evaluation, after counted_not_simulated
SCENARIO_ASSUMPTIONS = (
    "A distress sale's proceeds stay with the company (no release price to the GPU-backed loans), at "
    f"resale value less policy.distress_sale_discount: {DEFAULT_LABEL} is a lower bound; with "
    "policy.distress_sales false it is an upper one.",
    "A future that defaults runs on to the horizon's end with its cash below zero where it falls there "
    "(no interest on the shortfall; in the NPV it is equity's money, at the discount rate): the NPV itself "
    "assumes no limited liability and no loss to lenders. Its NPV is in the mean, P5 and CVaR5; the mean "
    "NPV of the futures with no liquidity default is given beside them, and where it differs the NPV with limited "
    "liability (a default ending the shareholders' claim). The lenders' side of a default is the debt owed "
    "then against what selling the GPUs still held and the cash would repay; what contracts and sites would "
    "recover beyond it is not modelled.",
)


def _assumptions(run: ReportRun) -> list[str]:
    """What the report's figures assume that a lender would question, for this model and run."""
    data = run.data
    items = [LATE_POWER_ASSUMED if text == CUSTOMER_DEFAULTS_ASSUMED and not data.contracts else text
             for text in PLAN_ASSUMPTIONS]  # fmt: skip
    if data.contracts:
        items.append(NO_NEW_CONTRACTS_ASSUMED)
    refinanced = [f.name for f in data.facilities if f.refinanced and f.maturity < data.T]
    if refinanced:
        items.append(f"{', '.join(refinanced)} {'is' if len(refinanced) == 1 else 'are'} assumed refinanced "
                     "at maturity at the spread the model gives: no lender has promised it.")
    first = first_tested_quarter(data) if any(not t.kind.facility_test for t in data.covenants) else None
    if first not in (None, data.quarter_labels[0]):
        items.append(f"The covenants are not tested before {first} (finance.covenants.test_from): a grace "
                     "the model assumes, not one a lender gave.")
    if any(t.kind.facility_test for t in data.covenants):
        items.append("The borrowing base counts every GPU held, the opening fleet's too, although loans the "
                     "model does not secure on GPUs may have been lent against them: counted against only "
                     "the GPUs bought in the horizon it would bind sooner.")
    on_flows = any(t.kind.on_flows and not t.kind.facility_test for t in data.covenants)
    if on_flows and data.covenant_window == 1:
        items.append("The covenants test each quarter's own EBITDA, annualised (finance.covenants."
                     "ebitda_period: quarter); most facilities test the trailing four quarters, which "
                     "during a ramp-up is lower (the key figures give each covenant's cushion on them; "
                     "`--set finance.covenants.ebitda_period=trailing_four_quarters` tests them so).")
    if data.revolver_usd > 0:
        items.append(f"The revolver the scenarios draw ({format_usd(data.revolver_usd)} at "
                     f"{format_rate(data.revolver_rate_annual)} a year on the balance drawn) is assumed available "
                     "in every quarter of the horizon (renewed at any maturity).")
    if run.metrics is not None and not run.summary.get("deterministic"):  # one scenario: the forecast
        items += [counted_not_simulated(data.cash_covering_debt_cures), *SCENARIO_ASSUMPTIONS,
                  *_shock_in_forecast(data)]
    return items


def _shock_in_forecast(data: ModelData) -> list[str]:
    """With ``risk.mean_one`` the scenarios' prices are divided by the self-competition shock's mean,
    so the shock the provenance lists as a risk costs nothing on average: said, with how far above
    the forecast a future it never reaches prices by the horizon's end (docs/calibration.md, item 7)."""
    shock = data.risk.self_competition
    if not (data.risk.mean_one and shock and shock.probability_per_quarter):
        return []
    above = 1.0 / self_competition_mean(data)[-1] - 1.0
    return [f"The forecast's prices are taken to contain hyperscalers' spare capacity sold already "
            f"(risk.mean_one): each scenario's prices are divided by that shock's mean, which raises them in "
            f"the futures it never reaches (by {format_rate(above)} in {data.quarter_labels[-1]}), so the shock "
            "costs nothing on average. `--set risk.mean_one=false` puts it, and every other factor, on top of "
            "the forecast instead."]


def assumptions_section(run: ReportRun) -> str:
    rows = "".join(f"<li>{escape(text)}</li>" for text in _assumptions(run))
    return ("<h2>What these figures assume</h2><ul class='assume'>" + rows + "</ul>"
            "<p class='cap'>docs/calibration.md (\"What these figures assume that a lender would question\") "
            "measures the largest of these on the default model.</p>")


def glossary_section(run: ReportRun) -> str:
    """Definitions of the report's figures, with this model's levels, covenants and discount rate."""
    one = bool(run.summary.get("deterministic"))  # one scenario: no error, no tail
    n = run.scenario_source[1] if run.metrics is not None else None
    terms = glossary(run.data, run.labels, n, run.kind, one, run.solved_for_cost)
    return definitions_section(terms + replication_terms(run.summary.get("replications")))


def replication_terms(record: dict | None) -> list[tuple[str, str]]:
    """(term, definition) of a stochastic run's replications (summary.json's ``replications``; None:
    one sample, no terms) and of its optimality gap's estimate where it made one."""
    if not record:
        return []
    terms = [("replication", "the stochastic solve again on another sample of scenarios (--replications K: "
                             "K samples, of seeds --scenario-seed, +1, ...), each reduced and solved as the "
                             "run's own; the plan is the first sample's. A first-stage decision that differs "
                             "between samples depends on the scenarios drawn: more scenarios (--stochastic N) "
                             "narrow it (docs/formulation.md §7b, 'Replications').")]
    if record.get("gap"):
        terms.append(("optimality gap (estimate)",
                      f"how much more the best first stage could be worth than the plan's, in the programme's "
                      f"objective ({OBJECTIVE_WORDS}): the samples' mean optimum less the mean value of the "
                      "plan's first stage in fresh scenarios, each re-planning its own future "
                      "(--gap-scenarios M), ± its standard error. Each sample's optimum overstates the best, "
                      "so the estimate leans high; 'at most' adds both sides' sampling errors at 97.5 % each "
                      "and the solves' slack, a bound at 95 % confidence, indicative where each sample was "
                      "reduced from more scenarios drawn (docs/formulation.md §7b, 'Optimality gap')."))
    return terms


def definitions_section(terms: list[tuple[str, str]]) -> str:
    rows = "".join(f"<dt>{escape(k)}</dt><dd>{escape(v)}</dd>" for k, v in terms)
    return f'<h2>Definitions</h2><dl class="terms">{rows}</dl>'


def glossary(data: ModelData, labels: list[str], n: int | None, kind: str, one: bool = False,
             cost: bool = False) -> list:
    """(term, definition) of a page's figures with this model's levels, covenants and discount rate:
    those on the forecast, and with ``n`` scenarios (None: none) those over them (``one``: the one
    scenario of a deterministic run, without error or tail; ``cost``: a plan solved for least cost
    among them). Read by the run reports and the comparison page."""
    first = first_tested_quarter(data) if data.covenants else None
    terms = [
        ("NPV", f"net present value at the model's discount rate of {format_rate(data.discount_rate_annual)} a year: the "
                "discounted change in cash of each quarter (opening cash is not counted), plus at the end "
                "the discounted terminal assets (resale value of the GPUs still held less selling costs, "
                "book value of power plant) less the tax their sale would bring with the last quarter "
                "(negative where it is a loss, which saves tax), debt outstanding and customer prepayments "
                "not yet earned (docs/formulation.md §6)."),
        ("on the forecast", "the plan run on the model's forecast (one path with the expected demand, "
                            "prices and power dates) with its own policy, as a scenario is run: the "
                            "evaluator's deterministic run (docs/evaluation.md). Nothing reacts there "
                            "unless the plan's policy cash buffer is positive (the policy may then defer "
                            "orders and cut debt prepayments) or the plan serves a contract with fewer GPUs "
                            "than it has (delivered short); then the figures only the MILP's statements "
                            "give (DSCR, covenant headroom, shocks, revenue, capex) are marked 'MILP "
                            "statements, as planned'. Peak debt, lowest cash, lowest DSCR and covenant "
                            "headroom are forecast figures, not scenario ones."),
        ("lowest DSCR", f"lowest {dscr_kind(data).label} " + (
            f"over the quarters the covenants test, from {first} on (finance.covenants.test_from), "
            f"while its facility is owed where covenants.tested_while_owed ties the DSCR to one; "
            f"statements before {first} are not tested and can be lower." if first else
            "over all quarters (finance.covenants sets no test of it).") + f" {DEBT_SERVICE_MEANS}"),
        ("covenants", _covenant_text(data, first)),
        ("PUE", "power usage effectiveness: a site's facility MW per MW of its GPUs' own draw (cooling and "
                "power conversion on top; sites.<name>.pue), so a site's MW drawn is the GPUs' kW x PUE."),
    ]  # fmt: skip
    if any(f.max_ltv is not None for f in data.facilities):  # a borrowing base: its limit's name spelt out
        terms.append(("LTV", "loan-to-value: a facility's GPU-secured balance over the resale value of the "
                              "GPUs it lends against; max LTV is its lenders' limit (finance.facilities.<name>."
                              "max_ltv), which the borrowing base tests."))
    if any(label.startswith("milp") for label in labels):  # the optimiser's name for its plans
        terms.insert(0, ("milp", "a plan named milp is the optimiser's: the mixed-integer linear program "
                                 "(MILP) that chooses purchases, power, redeployments, retirements and debt "
                                 f"{MILP_GOAL[cost]} within the model's limits "
                                 "(docs/formulation.md); 'milp: demand slump' and the like, a sweep's plans "
                                 "the MILP made on a varied forecast (a sweep's 'origin' says how)."))
    if n is not None:
        scenario_terms = [*(_cost_terms(data, n, kind) if cost else []), *_scenario_terms(data, n, kind, first, cost)]
        terms += [(k, v) for k, v in scenario_terms if not (one and k in ONE_SCENARIO_TERMS)]
    return terms


def _cost_terms(data: ModelData, n: int, kind: str) -> list[tuple[str, str]]:
    """(term, definition) of a plan solved for least cost over ``n`` scenarios, first, as a lab reads them:
    its present cost, the mean's error, the costliest 5 % and the demand served; of a sweep by cost, the
    service floor its rule keeps."""
    k = tail_count(n)
    parts = PRESENT_COST_COLUMNS["present_cost_mean_usd"].split(": ", 1)[1].removesuffix(", USD")
    served = METRIC_COLUMNS["demand_served_share"].removeprefix("mean over scenarios of ").split(", over the")[0]
    terms = [
        ("present cost", f"what the plan costs, in present value at the model's discount rate of "
                         f"{format_rate(data.discount_rate_annual)} a year, in each scenario on its own path: {parts} "
                         "(docs/formulation.md §6, 'Cost'; docs/evaluation.md, 'The present cost'). Lower is better. "
                         "The NPV of such a plan values the GPUs' own use at market prices, as revenue no one pays: "
                         "an imputed value."),
        ("mean present cost ± SE", "mean of the scenarios' present costs ± its standard error (sample standard "
                                   "deviation, divisor scenarios - 1, / sqrt(scenarios)): how far the mean could "
                                   "move with other scenarios."),
        ("P95 and CVaR95 present cost", f"of the costliest 5 % of the scenarios, k = ceil(5 % of scenarios) = "
                                        f"{k:,} of {n:,}: P95 is the k-th highest present cost (the least of them) "
                                        "and CVaR95 their mean; lower is better, and CVaR95 is never below P95."),
        ("demand served", f"mean over the scenarios of {served}. P(shortfall): share of scenarios in which "
                          f"more than {SHORTFALL_SHARE:.0%} of the horizon's market demand is not served."),
    ]  # fmt: skip
    if kind == "sweep":
        terms.append(("service floor", "the least share of demand served (mean over the scenarios) a candidate "
                                       "must have for the rule to pick it by its mean present cost: --min-service, "
                                       "or where none is given the forecast optimum's share on the same scenarios "
                                       "(without a floor the cheapest plan is the one that serves least)."))
    return terms


# what the MILP's plans were solved for: the NPV, or (`solve --objective cost`) the present cost
MILP_GOAL = {
    False: "to maximise the NPV on the forecast",
    True: "to maximise the NPV on the forecast or, solved with --objective cost as a plan here was, to "
          "minimise the present cost of serving the model's demand on it (formulation §6, \"Cost\")",
}  # fmt: skip


ONE_SCENARIO_TERMS = ("mean NPV ± SE", "P5 and CVaR5", "NPV with limited liability", "NPV if lenders accelerate",
                      "debt at a default")


def _covenant_text(data: ModelData, first: str | None) -> str:
    if not data.covenants:
        return "the model sets no covenants (finance.covenants), so no scenario can breach one."
    block = [test.describe() for test in data.covenants if not test.kind.facility_test]
    base = [test.describe() for test in data.covenants if test.kind.facility_test]
    parts = [f"{'; '.join(block)}; tested every quarter from {first} on (finance.covenants)"] if block else []
    parts += [f"{text}, tested in every quarter (facilities' max_ltv)" for text in base]
    return ". ".join(parts) + "."


def _scenario_terms(data: ModelData, n: int, kind: str, first: str | None,
                    cost: bool = False) -> list[tuple[str, str]]:
    """(term, definition) of the figures over ``n`` scenarios, in the order a page lists them: the NPV's
    spread, utilisation, defaults, covenant breaches, cash and the policy's reactions, a sweep's columns
    (a sweep by ``cost`` shows no forecast NPV)."""
    sweep = [(k, v) for k, v in _sweep_terms() if not (cost and k == "forecast NPV")] if kind == "sweep" else []
    return [*_npv_spread_terms(n), _utilisation_term(data), *_default_terms(data), *_breach_terms(data, first),
            *_cash_and_reaction_terms(data), *sweep]


def _npv_spread_terms(n: int) -> list[tuple[str, str]]:
    """The mean NPV's standard error, the tail (P5, CVaR5: its k of ``n`` scenarios) and P(NPV < 0)."""
    k = tail_count(n)
    return [
        ("mean NPV ± SE", "mean of the scenarios' NPVs ± its standard error (sample standard "
                          "deviation, divisor scenarios - 1, / sqrt(scenarios)): how far the mean could move with other scenarios. Plans "
                          "evaluated on the same scenarios differ by far less noise: fleetopt compare "
                          "gives the standard error of their difference."),
        ("P5 and CVaR5", f"P5 is the k-th worst NPV and CVaR5 the mean NPV of the k worst scenarios, "
                         f"k = ceil(5 % of scenarios) = {k:,} of {n:,}; CVaR5 is never above P5."),
        ("P(NPV < 0)", "share of scenarios with a negative NPV."),
    ]  # fmt: skip


def _utilisation_term(data: ModelData) -> tuple[str, str]:
    """What utilisation counts as used: GPUs rented out where the model has contracts, else in use."""
    return ("utilisation", "mean over scenarios and quarters of the GPUs "
                           + ("rented out (serving a contract, or on the market within the scenario's demand, "
                              "whatever the price)" if data.contracts else
                              "in use (serving the scenario's demand, the model's market: no contracts)")
                           + " over the GPUs the plan holds (GPUs deferred, cancelled or sold still count as "
                           "held).")  # fmt: skip


def _default_terms(data: ModelData) -> list[tuple[str, str]]:
    """A liquidity default (at this model's level), what the NPV means after one, and the NPVs and debt
    figures that read a default as shareholders and lenders would."""
    level = (f"{format_usd(data.default_cash)} (finance.default_cash_usd)" if data.default_cash != data.min_cash
             else f"{format_usd(data.default_cash)} (finance.default_cash_usd is not set: the treasury floor)")  # fmt: skip
    return [
        (DEFAULT_LABEL, f"share of scenarios in which, in some quarter, cash after the revolver "
                                 f"and any distress sale is below the default level of {level}. "
                                 + _floor_text(data)),
        ("after a default", "a defaulted scenario is not stopped: it runs on to the horizon with negative "
                            "cash (an unpriced loan at 0 % that later income pays back), so its NPV is the "
                            "depth of the hole, not what shareholders would lose (docs/evaluation.md). "
                            f"Read NPV figures with {DEFAULT_LABEL} beside them; the mean NPV with no "
                            "liquidity default averages only the scenarios that never have one (n/a when "
                            "all do)."),
        ("NPV with limited liability", "the shareholders' NPV when their claim cannot be worth less than "
                                       "nothing: in a scenario that defaults, the NPV's flows of the quarters "
                                       "before the default less the cash held at the end of the last of them "
                                       "(discounted at the default's quarter), nothing after; in one that does "
                                       "not, the NPV with the end's equity floored at zero (docs/evaluation.md, "
                                       "'After a liquidity default'). Never below about minus the opening cash "
                                       "(discounted a quarter); shown where it differs from the NPV."),
        ("NPV if lenders accelerate", "the NPV with limited liability, with the shareholders' claim ended "
                                      "at the first event of default of either kind: at a liquidity default "
                                      "as above; at an uncured covenant breach the lenders take the GPUs "
                                      "(sold in distress) and the cash to repay the debt and the "
                                      "shareholders keep the rest, discounted at the breach's quarter; "
                                      "nothing after (docs/evaluation.md, 'The NPV if lenders accelerate'). "
                                      "Shown where it differs from the NPV with limited liability."),
        ("debt at a default", "in a scenario that defaults, the debt owed at the end of the default's "
                              "quarter (term loans and the revolver), USD of that quarter, undiscounted; "
                              "covered: the share of it that the GPUs still held, sold at the scenario's "
                              "resale value less selling costs and the distress discount, and the cash "
                              "left would repay (summed over the scenarios that default); uncovered: the "
                              "rest, averaged over all scenarios (0 where none defaults): what lenders "
                              "would have to recover from contracts and sites, or lose. Shown where some "
                              "scenario defaults."),
    ]  # fmt: skip


def _breach_terms(data: ModelData, first: str | None) -> list[tuple[str, str]]:
    """Covenant breaches (this model's covenants, tested from ``first``), uncured ones and first breaches."""
    return [
        (BREACH_LABEL, "share of scenarios in which any covenant is missed (by more than $1) in a "
                               "quarter it is tested in" + (": " + _covenant_text(data, first)
                                                            if data.covenants else "; the model sets none.")),
        (UNCURED_LABEL, "share of scenarios with a breach the owners could not cure "
                                       f"({cure_limits(data.cash_covering_debt_cures)}): an event of "
                                       "default, on which lenders may "
                                       f"accelerate the debt. {ANY_DEFAULT_LABEL}: share with a liquidity default "
                                       "or an uncured breach, or both."),
        ("first breach", "share of scenarios whose first breach breaks that covenant. Two covenants can "
                         "fail in the same quarter, so these shares can add up to more than "
                         f"{BREACH_LABEL}."),
    ]  # fmt: skip


def _cash_and_reaction_terms(data: ModelData) -> list[tuple[str, str]]:
    """The mean lowest cash and the policy's reactions (contracts' among them where the model has some)."""
    return [
        ("mean lowest cash", "mean over the scenarios of each scenario's lowest quarter-end cash, after the "
                             "revolver and any distress sale (below the liquidity default level in a "
                             "scenario that defaults)."),
        ("policy reactions", "shares of scenarios in which the policy of docs/evaluation.md "
                             + ("ran a contract late (power short at or after its deadline, within its "
                                "allowance), had one cancelled for late delivery, offered the GPUs of an "
                                "ended contract (or the part of one its customer cut) on the market, "
                                if data.contracts else "")
                             + "deferred a GPU order, cancelled a deferred order (deposit lost), "
                             "sold GPUs in distress or cut a debt prepayment; mean capex deferred, mean "
                             f"deposits forfeited and mean distress-sale proceeds are {REACTION_MEANS}, "
                             "USD (the capex deferred at the prices planned)."),
    ]  # fmt: skip


def _sweep_terms() -> list[tuple[str, str]]:
    """The columns only a sweep's table has: each candidate's forecast NPV and how the sweep made it."""
    return [
        ("forecast NPV", "the candidate's NPV on the forecast (see 'on the forecast'): with its policy "
                         "cash buffer where it has one."),
        ("origin", "how the sweep made the candidate: forecast (the MILP on the forecast), proposal "
                   "(your purchases from a --purchases file, the rest the MILP's on the forecast), stochastic "
                   "(the two-stage solve), stress (the MILP on a stressed forecast), robust (the MILP "
                   f"with robustness limits), policy (the forecast optimum, or the rule's first pick, \"..., "
                   f"cash buffer $X\": {RUN_WITH_BUFFER}), planned (\"..., planned with cash buffer $X\": "
                   f"{PLANNED_WITH_BUFFER}), "
                   "variation (the forecast or a stress optimum varied: purchases earlier or later, "
                   "volumes scaled, the GPU mix swapped, a power block more or fewer, lower leverage, "
                   "completed by the MILP), without_orders (\"..., without the orders it almost never "
                   f"takes\": {WITHOUT_ORDERS_MEANS})."),
    ]  # fmt: skip


def _floor_text(data: ModelData) -> str:
    """How the default level stands to the treasury floor (finance.min_cash_usd)."""
    floor = f"the treasury floor of {format_usd(data.min_cash)} (finance.min_cash_usd)"
    if data.default_cash == data.min_cash:
        return (f"The default level is {floor}: the plan keeps it on the forecast, and a scenario "
                "that runs below it after the revolver and any sale defaults.")  # fmt: skip
    return f"That is not {floor}, which the plan keeps on the forecast and a scenario may run below."
