"""The root of a planning-model file and the checks that span several blocks."""

from __future__ import annotations

from typing import Any

import numpy as np
from pydantic import Field

from fleetopt.core.quarters import parse_quarter, quarter_label
from fleetopt.core.units import counted, facility_mw, format_mw, format_usd, rounded
from fleetopt.schema.base import (
    DEMAND_LIMIT_MESSAGE,
    ELECTRICITY_PRICE_MESSAGE,
    GPU_HOUR_PRICE_MESSAGE,
    GPU_PRICE_MESSAGE,
    MAX_DEMAND_GPUS,
    MAX_HORIZON_QUARTERS,
    MAX_RATE_ANNUAL,
    MAX_USD,
    MAX_USD_PER_GPU,
    MAX_USD_PER_GPU_HOUR,
    MAX_USD_PER_MWH,
    MONEY_LIMIT_MESSAGE,
    RATE_LIMIT_MESSAGE,
    AnnualRate,
    Name,
    PositiveInt,
    Quarter,
    StrictModel,
)
from fleetopt.schema.commercial import CommercialLimits, Contract, Market
from fleetopt.schema.finance import Finance, Redeployment, Retirement
from fleetopt.schema.hardware import FleetCohort, Generation, Sku
from fleetopt.schema.policy import Policy
from fleetopt.schema.risk import Risk, Robustness
from fleetopt.schema.series import SeriesSpec, resolve_series, series_length_problem, series_quarters
from fleetopt.schema.sites import Site

Path = tuple[str | int, ...]


class Horizon(StrictModel):
    """The planning period."""

    start: Quarter
    """First quarter planned."""
    quarters: PositiveInt = Field(le=MAX_HORIZON_QUARTERS)
    """Number of quarters planned (at most 80 = 20 years)."""
    discount_rate_annual: AnnualRate
    """Annual rate at which equity cash flows are discounted (cost of equity)."""


class PlanningModel(StrictModel):
    """A whole fleet-planning problem: hardware, sites, demand, contracts and finance."""

    @classmethod
    def model_json_schema(cls, *args, **kwargs) -> dict:
        """Pydantic's JSON Schema, in which a map's keys must match their pattern (a name, a
        quarter): pydantic writes the pattern as ``patternProperties``, which leaves other keys
        allowed, so an editor would not flag ``"H 100"`` or ``2026Q5`` as a key."""
        return _keys_only_by_pattern(super().model_json_schema(*args, **kwargs))

    name: Name
    """Short name of the model, used in run folder names."""
    description: str = ""
    """Free text shown in summaries."""
    horizon: Horizon
    """Planning period."""
    skus: dict[Name, Sku] = Field(min_length=1)
    """GPU products by name."""
    sites: dict[Name, Site] = Field(min_length=1)
    """Data-centre sites by name."""
    fleet: list[FleetCohort] = Field(default_factory=list)
    """GPUs already installed at the start."""
    market: Market
    """Uncontracted demand and prices."""
    contracts: dict[Name, Contract] = Field(default_factory=dict)
    """Customer contracts by name, signed or optional."""
    limits: CommercialLimits = Field(default_factory=CommercialLimits)
    """Limits on the revenue book."""
    finance: Finance
    """Cash, debt, covenants and corporate costs."""
    redeployment: Redeployment
    """Cost of moving GPUs from training to inference."""
    retirement: Retirement = Field(default_factory=Retirement)
    """Rules for retiring and selling GPUs."""
    risk: Risk = Field(default_factory=Risk)
    """Uncertainty around the forecast, for scenario evaluation."""
    robustness: Robustness | None = None
    """Shocks the optimised plan must survive (constraints of the MILP); none when omitted."""
    policy: Policy = Field(default_factory=Policy)
    """How plans react inside a scenario (the evaluator's recourse rules); when omitted every rule is on
    but `idle_gpus_to_market` and `prepay_borrowing_base`."""

    @property
    def first_quarter(self) -> int:
        return parse_quarter(self.horizon.start)

    @property
    def last_quarter(self) -> int:
        return self.first_quarter + self.horizon.quarters - 1

    @property
    def quarter_labels(self) -> list[str]:
        return [quarter_label(self.first_quarter + t) for t in range(self.horizon.quarters)]

    def series_fields(self) -> list[tuple[Path, SeriesSpec]]:
        """Every time series in the model with its path."""
        out: list[tuple[Path, SeriesSpec]] = []
        for name, sku in self.skus.items():
            out.append((("skus", name, "capex_per_gpu_usd"), sku.capex_per_gpu_usd))
        for name, site in self.sites.items():
            out.append((("sites", name, "power_capacity_mw"), site.power_capacity_mw))
            out.append((("sites", name, "electricity_price_usd_per_mwh"), site.electricity_price_usd_per_mwh))
        for use in ("training", "inference"):
            out.append((("market", "demand_gpus", use), getattr(self.market.demand_gpus, use)))
            prices = getattr(self.market.price_usd_per_gpu_hour, use)
            for gen in ("all", "hopper", "blackwell", "rubin"):
                if getattr(prices, gen) is not None:
                    out.append((("market", "price_usd_per_gpu_hour", use, gen), getattr(prices, gen)))
            for sku, spec in prices.by_sku.items():
                out.append((("market", "price_usd_per_gpu_hour", use, "by_sku", sku), spec))
        for gen, spec in self.limits.new_gpus_per_quarter.items():
            out.append((("limits", "new_gpus_per_quarter", gen.value), spec))
        out.append((("finance", "reference_rate_annual"), self.finance.reference_rate_annual))
        out.append((("finance", "overhead_usd_per_quarter"), self.finance.overhead_usd_per_quarter))
        return out


def cross_checks(model: PlanningModel) -> list[tuple[Path, str]]:
    """Problems that involve more than one block: unknown names, quarters outside the horizon."""
    first, last = model.first_quarter, model.last_quarter
    span = f"{quarter_label(first)}..{quarter_label(last)}"

    def outside(path: Path, label: str) -> list[tuple[Path, str]]:
        inside = first <= parse_quarter(label) <= last
        return [] if inside else [(path, f"quarter {label} is outside the horizon {span}")]

    problems = [*_series_problems(model, outside), *_fleet_problems(model)]
    for name, site in model.sites.items():
        if site.expansion is not None:
            problems += outside(("sites", name, "expansion", "earliest_start"), site.expansion.earliest_start)
    problems += [*_price_problems(model), *_contract_problems(model, outside)]
    customers = {c.customer for c in model.contracts.values()}
    if model.risk.resale_shock is not None and model.risk.resale_shock.from_quarter is not None:
        problems += outside(("risk", "resale_shock", "from_quarter"), model.risk.resale_shock.from_quarter)
    for name, quarter in model.risk.customer_default_quarter.items():
        problems += outside(("risk", "customer_default_quarter", name), quarter)
    problems += _scale_back_problems(model, outside)
    for block in ("customer_ratings", "customer_hazard_overrides", "customer_default_price_impact",
                  "customer_default_quarter"):
        for name in getattr(model.risk, block):
            if name not in customers:
                said = unknown_name("customer", name, sorted(customers))
                if name in model.contracts:  # a contract's name where its customer's belongs
                    said += f": {name} is a contract, whose customer is {model.contracts[name].customer}"
                problems.append((("risk", block, name), said))
    slip = model.risk.delivery_slip
    for n, name in enumerate(slip.skus or () if slip is not None else ()):
        if name not in model.skus:
            path = ("risk", "delivery_slip", "skus", n)
            problems.append((path, unknown_name("SKU", name, list(model.skus))))
    covenants = model.finance.covenants
    if covenants is not None:
        problems += outside(("finance", "covenants", "test_from"), covenants.test_from)
        for test, facility in covenants.tested_while_owed.items():
            if facility not in model.finance.facilities:
                path = ("finance", "covenants", "tested_while_owed", test)
                problems.append((path, unknown_name("facility", facility, model.finance.facilities)))
    return problems + _maturity_problems(model) + _draw_window_problems(model)


_PLURALS = {"SKU": "SKUs", "site": "sites", "customer": "customers", "facility": "facilities",
            "contract": "contracts"}


def _scale_back_problems(model: PlanningModel, outside) -> list[tuple[Path, str]]:
    """Each `risk.contract_scale_back` naming no contract (a customer's name where a contract's
    belongs, said so), or cutting from a quarter outside the horizon."""
    problems: list[tuple[Path, str]] = []
    customers: dict[str, list[str]] = {}
    for contract, spec in model.contracts.items():
        customers.setdefault(spec.customer, []).append(contract)
    for name, cut in model.risk.contract_scale_back.items():
        path = ("risk", "contract_scale_back", name)
        if name not in model.contracts:
            said = unknown_name("contract", name, list(model.contracts))
            if name in customers:
                said += f": {name} is a customer, whose contracts are {', '.join(customers[name])}"
            problems.append((path, said))
        problems += outside((*path, "from_quarter"), cut.from_quarter)
    return problems


def unknown_name(kind: str, name: str, known) -> str:
    """"unknown SKU 'H100' (SKUs: H200, GB200)": a name no block defines, with the names ``known``
    (in the file's order) that it could be, so a typo of one is seen at a glance."""
    return f"unknown {kind} {name!r} ({_PLURALS[kind]}: {', '.join(known) or 'none'})"


def _maturity_problems(model: PlanningModel) -> list[tuple[Path, str]]:
    """A bullet due before the horizon starts: its balance was paid or refinanced then (it was kept
    as debt for the whole horizon, and its maturity read as a quarter counted from the end)."""
    first = model.first_quarter
    return [(("finance", "facilities", name, "maturity"),
             f"quarter {facility.maturity} is before the horizon starts ({quarter_label(first)}): the note "
             "was repaid or refinanced then; drop it, or give the maturity of what replaced it")
            for name, facility in model.finance.facilities.items()
            if facility.maturity is not None and parse_quarter(facility.maturity) < first]  # fmt: skip


def _draw_window_problems(model: PlanningModel) -> list[tuple[Path, str]]:
    """A facility with money left to draw whose draw window misses the horizon: no plan could ever
    draw it, and it was read silently as a loan of its opening balance alone. A loan with nothing
    left to draw (`size_usd` = `opening_balance_usd`) has no use for its window."""
    first, last = model.first_quarter, model.last_quarter
    problems: list[tuple[Path, str]] = []
    for name, facility in model.finance.facilities.items():
        undrawn = facility.size_usd - facility.opening_balance_usd
        window = f"the draw window {facility.draw_from}..{facility.draw_until}"
        if undrawn <= 0:
            continue
        if parse_quarter(facility.draw_until) < first:
            field, where = "draw_until", f"ends before the horizon starts ({quarter_label(first)})"
        elif parse_quarter(facility.draw_from) > last:
            field, where = "draw_from", f"starts after the horizon ends ({quarter_label(last)})"
        else:
            continue
        problems.append((("finance", "facilities", name, field), (
            f"{window} {where}: the {format_usd(undrawn)} not yet drawn (size_usd less "
            "opening_balance_usd) could never be drawn; move the window into the horizon, or set size_usd "
            "to opening_balance_usd for a loan with nothing left to draw"
        )))  # fmt: skip
    return problems


PER_UNIT_LIMITS = {
    "capex_per_gpu_usd": (MAX_USD_PER_GPU, GPU_PRICE_MESSAGE),
    "electricity_price_usd_per_mwh": (MAX_USD_PER_MWH, ELECTRICITY_PRICE_MESSAGE),
}
"""The series with a limit of their own below ``MAX_USD``, by field name: each written value is
checked by the schema, the values they grow to over the horizon here."""


def _is_money(path: Path) -> bool:
    return any(isinstance(part, str) and "usd" in part for part in path)


def _is_gpu_hour_price(path: Path) -> bool:
    return any(isinstance(part, str) and part.endswith("per_gpu_hour") for part in path)


def _is_rate(path: Path) -> bool:
    return path == ("finance", "reference_rate_annual")


def _series_problems(model: PlanningModel, outside) -> list[tuple[Path, str]]:
    problems: list[tuple[Path, str]] = []
    T = model.horizon.quarters
    for path, spec in model.series_fields():
        problem = series_length_problem(spec, T)
        if problem:
            problems.append((path, problem))
        else:
            values = resolve_series(spec, model.first_quarter, T)
            if not np.all(np.isfinite(values)):
                problems.append((path, "grows beyond the range of a floating-point number over the horizon"))
            elif _is_gpu_hour_price(path) and values.max(initial=0.0) > MAX_USD_PER_GPU_HOUR:
                grown = f"reaches {values.max():,.2f} over the horizon"
                problems.append((path, f"{grown}: {GPU_HOUR_PRICE_MESSAGE}"))
            elif path[-1] in PER_UNIT_LIMITS and values.max(initial=0.0) > PER_UNIT_LIMITS[path[-1]][0]:
                grown = f"reaches {values.max():,.0f} over the horizon"
                problems.append((path, f"{grown}: {PER_UNIT_LIMITS[path[-1]][1]}"))
            elif _is_money(path) and values.max(initial=0.0) > MAX_USD:
                grown = f"grows to {values.max():.3g} over the horizon"
                problems.append((path, f"{grown}: {MONEY_LIMIT_MESSAGE}"))
            elif path[:2] == ("market", "demand_gpus") and values.max(initial=0.0) > MAX_DEMAND_GPUS:
                grown = f"reaches {values.max():.3g} over the horizon"
                problems.append((path, f"{grown}: {DEMAND_LIMIT_MESSAGE}"))
            elif _is_rate(path) and values.max(initial=0.0) > MAX_RATE_ANNUAL:
                grown = f"grows to {values.max():.3g} over the horizon"
                problems.append((path, f"{grown}: {RATE_LIMIT_MESSAGE}"))
        for label in series_quarters(spec):
            if parse_quarter(label) <= model.last_quarter:  # a later step is unused: a note (horizon_notes)
                problems += outside((*path, "steps", label), label)
    return problems


def _fleet_problems(model: PlanningModel) -> list[tuple[Path, str]]:
    problems: list[tuple[Path, str]] = []
    for i, cohort in enumerate(model.fleet):
        path: Path = ("fleet", i)
        bought = parse_quarter(cohort.purchased)
        if cohort.sku not in model.skus:
            problems.append(((*path, "sku"), unknown_name("SKU", cohort.sku, model.skus)))
        elif bought < parse_quarter(model.skus[cohort.sku].available_from):
            released = model.skus[cohort.sku].available_from
            problems.append(
                (
                    (*path, "purchased"),
                    f"{cohort.purchased} is before SKU {cohort.sku!r} was available ({released})",
                )
            )
        if cohort.site not in model.sites:
            problems.append(((*path, "site"), unknown_name("site", cohort.site, model.sites)))
        if bought > model.first_quarter:
            problems.append(
                ((*path, "purchased"), f"{cohort.purchased} is after the horizon start {model.horizon.start}")
            )
    return problems


def _price_problems(model: PlanningModel) -> list[tuple[Path, str]]:
    problems: list[tuple[Path, str]] = []
    for use in ("training", "inference"):
        prices = getattr(model.market.price_usd_per_gpu_hour, use)
        path: Path = ("market", "price_usd_per_gpu_hour", use)
        problems += [
            ((*path, "by_sku", sku), unknown_name("SKU", sku, model.skus))
            for sku in prices.by_sku
            if sku not in model.skus
        ]
        missing: dict[str, list[str]] = {}
        for name, sku in model.skus.items():
            if prices.for_sku(name, sku.generation) is None:
                missing.setdefault(sku.generation.value, []).append(name)
        problems += [
            (path, f"no price for generation {gen!r} (SKU {', '.join(skus)}): give `{gen}`, `all` or "
                   f"`by_sku`{_never_on_sale(model, skus)}")
            for gen, skus in sorted(missing.items())
        ]  # fmt: skip
    return problems


def _never_on_sale(model: PlanningModel, skus: list[str]) -> str:
    """Where every SKU named is first on sale after the horizon, no fleet cohort holds it, no
    contract names it and every contract keeps another SKU without it: that it could also be left
    out of the model."""
    last = model.last_quarter
    held = {cohort.sku for cohort in model.fleet}
    named = {sku for c in model.contracts.values() for sku in c.eligible_skus or []}
    kept = all(set(contract_skus(model, c)) - set(skus) for c in model.contracts.values())
    later = kept and all(
        parse_quarter(model.skus[s].available_from) > last and s not in held and s not in named for s in skus
    )
    after = f", or leave it out: it is first on sale after the horizon ({quarter_label(last)})"
    return after if later else ""


def _contract_problems(model: PlanningModel, outside) -> list[tuple[Path, str]]:
    problems: list[tuple[Path, str]] = []
    for name, contract in model.contracts.items():
        path: Path = ("contracts", name)
        started = parse_quarter(contract.start)
        if started < model.first_quarter <= contract.last_quarter:  # already running
            left = started + contract.term_quarters - model.first_quarter
            opening = quarter_label(model.first_quarter)
            problems.append(((*path, "start"), (
                f"quarter {contract.start} is before the horizon starts ({opening}): a contract already "
                f"running is written from the horizon's first quarter with the quarters left as its term "
                f"(start: {opening}, term_quarters: {left}; docs/model-format.md, Contracts)"
            )))  # fmt: skip
        else:
            problems += outside((*path, "start"), contract.start)
        if contract.delivery_deadline is not None:
            problems += outside((*path, "delivery_deadline"), contract.delivery_deadline)
        for j, sku in enumerate(contract.eligible_skus or []):
            if sku not in model.skus:
                problems.append(((*path, "eligible_skus", j), unknown_name("SKU", sku, model.skus)))
        end = _last_in_horizon(model, contract)
        if not contract_skus(model, contract):
            problems.append((path, _none_eligible(model, contract)))
        elif contract.signed and not _obtainable(model, contract, end):
            skus = ", ".join(contract_skus(model, contract))
            problems.append((path, (
                f"no SKU that may serve this signed contract ({skus}) is "
                f"in the fleet or on sale in the horizon before its term ends ({quarter_label(end)}): no "
                "plan can deliver it; extend a SKU's available_until, add one, or hold some in fleet"
            )))  # fmt: skip
        elif contract.signed and not _obtainable(model, contract, _deadline(contract), installed=True):
            problems.append((path, _late_for_deadline(model, contract)))
    return problems


def _none_eligible(model: PlanningModel, contract: Contract) -> str:
    """Why no SKU may serve a contract: its eligible_skus all below its min_generation, or no SKU of
    the model of that generation or newer (names unknown to the model are reported on their own)."""
    floor = contract.min_generation
    known = [n for n in contract.eligible_skus or model.skus if n in model.skus]
    if floor is None or not known:
        return "no SKU in the model is eligible for this contract"
    generations = ", ".join(f"{n} {model.skus[n].generation.value}" for n in known)
    if contract.eligible_skus is None:
        return (f"no SKU in the model is of min_generation {floor.value} or newer ({generations}): add one, "
                "or lower min_generation")
    return (f"none of its eligible_skus is of min_generation {floor.value} or newer ({generations}): a SKU "
            "must meet both; name one that does, or drop one of the two")


def _deadline(contract: Contract) -> int:
    """The quarter from which a signed contract must be delivered in full (formulation §5)."""
    return parse_quarter(contract.delivery_deadline or contract.start)


def _late_for_deadline(model: PlanningModel, contract: Contract) -> str:
    """Why no plan can deliver a signed contract by its deadline: each SKU that may serve it and the
    first quarter it could (its sale and its install_quarters)."""
    skus = {name: model.skus[name] for name in contract_skus(model, contract)}
    first = ", ".join(f"{name} from {quarter_label(parse_quarter(sku.available_from) + sku.install_quarters)}"
                      for name, sku in skus.items())  # fmt: skip
    return (f"no SKU that may serve this signed contract is in the fleet or can be bought and installed by "
            f"its delivery deadline ({quarter_label(_deadline(contract))}, its start where none is given), "
            f"from which it must be delivered in full ({first}): no plan can deliver it; move the deadline, "
            "hold an eligible SKU in the fleet, or widen eligible_skus / min_generation")


def _last_in_horizon(model: PlanningModel, contract: Contract) -> int:
    """The contract's last quarter inside the horizon."""
    return min(contract.last_quarter, model.last_quarter)


def _obtainable(model: PlanningModel, contract: Contract, end: int, installed: bool = False) -> bool:
    """Whether some SKU that may serve ``contract`` is in the opening fleet, or on sale in a quarter
    of the horizon no later than ``end`` (``installed``: and in service by ``end``, after its
    install_quarters), such as the contract's last quarter in the horizon or its deadline (a
    necessary condition only)."""
    held = {cohort.sku for cohort in model.fleet}
    for name in contract_skus(model, contract):
        sku = model.skus[name]
        until = parse_quarter(sku.available_until) if sku.available_until else end
        ready = end - (sku.install_quarters if installed else 0)  # the last quarter to buy it in
        first = max(parse_quarter(sku.available_from), model.first_quarter)
        if name in held or (first <= ready and until >= model.first_quarter):
            return True
    return False


def horizon_notes(model: PlanningModel) -> list[tuple[Path, str]]:
    """What a valid model says the user should know: each contract whose term runs past the
    horizon's end, whose later quarters no plan values (docs/formulation.md: no contract value
    beyond the horizon; the GPUs it holds then are valued at their resale value); each step of a
    series after the horizon's end (a horizon shortened to solve faster), which is not used; and
    each site whose installed fleet it cannot power at the start (:func:`fleet_power_notes`)."""
    last = model.last_quarter
    notes: list[tuple[Path, str]] = []
    for name, contract in model.contracts.items():
        beyond = contract.last_quarter - last
        if beyond > 0:
            kept = contract.term_quarters - beyond
            judged = "the plan values" if contract.signed else "accepting it is judged on"
            notes.append((("contracts", name, "term_quarters"), (
                f"{beyond} of its {contract.term_quarters} quarters fall after the horizon ends "
                f"({quarter_label(last)}): {judged} its first {counted(kept, 'quarter')} only, and the GPUs "
                "serving it are valued at their resale value at the end, as if free to sell"
            )))  # fmt: skip
    for path, spec in model.series_fields():
        growth = getattr(spec, "annual_growth", 0.0)
        if growth > HIGHEST_ANNUAL_GROWTH:
            notes.append(((*path, "annual_growth"), (
                f"{growth:g} is +{growth:.0%} a year (x{1 + growth:g} each year): growth is a fraction, "
                f"0.03 means 3 %"
            )))  # fmt: skip
        for label in series_quarters(spec):
            if parse_quarter(label) > last:
                notes.append(((*path, "steps", label), (
                    f"quarter {label} is after the horizon ends ({quarter_label(last)}): the step is not used"
                )))  # fmt: skip
    return (notes + fleet_power_notes(model) + powerless_site_notes(model) + magnitude_notes(model)
            + allocation_notes(model) + customer_case_notes(model) + slip_notes(model)
            + model.risk.price_impact_notes() + model.risk.trend_loading_notes()
            + model.finance.covenant_notes() + model.finance.cash_floor_notes())


def never_slipping(model: PlanningModel) -> list[str]:
    """The SKUs a delivery slip never delays: those on sale from the horizon's first quarter, which
    ship already when it starts, and those first on sale after its last, of which the plan buys
    nothing (docs/evaluation.md, "Delivery slips"). An installed SKU is one of them:
    `fleet.purchased` is no earlier than its `available_from` and no later than the start."""
    return [name for name, sku in model.skus.items() if not _ships_within(model, sku.available_from)]


def _ships_within(model: PlanningModel, available_from: str) -> bool:
    """Whether an SKU first on sale then starts shipping inside the horizon, after its first quarter."""
    return model.first_quarter < parse_quarter(available_from) <= model.last_quarter


def slipping_sku_names(model: PlanningModel) -> list[str]:
    """The SKUs `risk.delivery_slip` may delay, in the model's order: those it names (default every
    SKU) but those :func:`never_slipping`; none without the block."""
    slip = model.risk.delivery_slip
    if slip is None:
        return []
    never = never_slipping(model)
    return [name for name in model.skus if (slip.skus is None or name in slip.skus) and name not in never]


def slip_notes(model: PlanningModel) -> list[tuple[Path, str]]:
    """Each SKU `risk.delivery_slip.skus` names that never slips (:func:`never_slipping`): it has
    shipped already; named alone, the block slipped nothing, without a word."""
    slip = model.risk.delivery_slip
    never = never_slipping(model)
    notes = []
    for n, name in enumerate(slip.skus or () if slip is not None else ()):
        if name in never:  # an unknown name is refused, not said
            since = model.skus[name].available_from
            why = (f"it ships already when the horizon starts ({model.horizon.start}; on sale from {since})"
                   if parse_quarter(since) <= model.first_quarter else
                   f"it is first on sale in {since}, after the horizon's last quarter "
                   f"({quarter_label(model.last_quarter)}), so the plan buys none")  # fmt: skip
            notes.append((("risk", "delivery_slip", "skus", n),
                          f"{name} never slips: {why}; only SKUs first shipping inside the horizon slip"))
    return notes


def customer_case_notes(model: PlanningModel) -> list[tuple[Path, str]]:
    """Each contract whose customer is spelt as an earlier contract's but for case (Lab-A, lab-a):
    two customers to the concentration limits and the non-investment-grade cap, most often meant
    as one."""
    notes, first = [], {}
    for name, contract in model.contracts.items():
        seen = first.setdefault(contract.customer.casefold(), (name, contract.customer))
        if seen[1] != contract.customer:
            notes.append((("contracts", name, "customer"), (
                f"{contract.customer!r} differs from {seen[1]!r} (contracts.{seen[0]}.customer) only in "
                "case: they are two customers, each counted apart by limits.max_customer_revenue_share "
                "(_per_year) and limits.max_non_investment_grade_share_per_year (and rated apart in "
                "risk.customer_ratings); write one spelling where one customer is meant")))  # fmt: skip
    return notes


# where a money or power figure is most often written in another unit: below (or above) these it is
# far outside every figure of docs/sources.md, so it is said, not refused (a test model may want it)
LOWEST_CAPEX_PER_GPU_USD = 1_000.0  # an accelerator with its share of server and network: $20k-$70k
LOWEST_ELECTRICITY_USD_PER_MWH = 5.0  # industrial power: $30-$150 per MWh; 0 (free) is taken as meant
HIGHEST_SITE_MW = 10_000.0  # the largest campuses planned: 1-5 GW
HIGHEST_USD_PER_GPU_HOUR = 50.0  # rentals: $1-$10 per GPU-hour
HIGHEST_CAPEX_PER_GPU_USD = 300_000.0  # an 8-GPU server's price: $300k-$500k, an NVL72 rack's $3M-$4M
LOWEST_OPEX_PER_GPU_QUARTER_USD = 50.0  # $600-$2,000 a quarter: an hour's share is about $0.55
# a company's cash, debt, overhead and power plant run to millions of USD: below this one was written in
# millions (90 for $90M). Floors and penalties are not among them: a nominal floor ($1,000 of minimum
# cash) or a small contract's cancellation penalty is meant as written
LOWEST_COMPANY_USD = 10_000.0
# a series growing faster than this (+200 % a year) was most often meant in per cent (3 for 3 %); AI
# demand has doubled in a year, not tripled for years on end
HIGHEST_ANNUAL_GROWTH = 2.0
# useful lives past these were most often written in months (72 for 6 years): GPUs are depreciated over
# 4-6 years, data-centre power and cooling plant over 8-12 (docs/sources.md §5)
HIGHEST_GPU_LIFE_YEARS = 12.0
HIGHEST_PLANT_LIFE_YEARS = 40.0


def allocation_notes(model: PlanningModel) -> list[tuple[Path, str]]:
    """Each supplier allocation (``limits.new_gpus_per_quarter``) that limits nothing, as the model
    has no SKU of its generation, or that forbids every purchase of its generation, as it stays
    below the smallest block of its SKUs in every quarter (purchases are whole blocks): valid, and
    most often a slip (7 for 7,000)."""
    notes = []
    for generation, spec in model.limits.new_gpus_per_quarter.items():
        where = ("limits", "new_gpus_per_quarter", generation.value)
        blocks = {name: sku.block_size_gpus for name, sku in model.skus.items()
                  if sku.generation == generation}  # fmt: skip
        if not blocks:
            notes.append((where, f"the model has no {generation.value} SKU: the limit limits nothing"))
            continue
        most = float(resolve_series(spec, model.first_quarter, model.horizon.quarters).max())
        smallest = min(blocks, key=blocks.get)
        if most < blocks[smallest]:
            notes.append((where, (
                f"is at most {most:,.0f} GPUs a quarter, below one block of {smallest} ({blocks[smallest]:,} "
                f"GPUs), the smallest {generation.value} SKU's: no {generation.value} GPU can be bought")))
    return notes


def magnitude_notes(model: PlanningModel) -> list[tuple[Path, str]]:
    """Money and power figures far outside what they measure, each said with its unit: $55 of
    capex per GPU ($55k meant), electricity at $0.07 per MWh (per kWh meant), a site of 20,000 MW
    (kW meant), a contract at $1,700 per GPU-hour (a month's price): the model is valid, and its
    plan would be of another world (29,832 GPUs bought for $69.1M); a useful life in months (72 for 6
    years: depreciation a twelfth of what it is); a customer hazard past any rating's (1 for 1 %:
    every customer gone in the first quarter); a rack's price as capex per GPU, an hour's opex as a
    quarter's, and the company's cash, debt or overhead in millions of USD (90 for $90M)."""
    return (_capex_notes(model) + _opex_notes(model) + _site_notes(model) + _price_notes(model)
            + _life_notes(model) + _millions_notes(model) + model.risk.hazard_notes())


def _paid(model: PlanningModel, spec) -> np.ndarray:
    """A series' values above 0 over the horizon (a 0 is taken as meant: free power, no price)."""
    values = resolve_series(spec, model.first_quarter, model.horizon.quarters)
    return values[values > 0]


# A unit slip moves a whole series, so each test reads the end of it that the slip moves past the
# limit last: a series growing from 2 GW past 10 GW, or capex falling under $1,000, is not one.
def _capex_notes(model: PlanningModel) -> list[tuple[Path, str]]:
    capex = [(("skus", name), sku.capex_per_gpu_usd) for name, sku in model.skus.items()]
    capex += [(("fleet", i), cohort.capex_per_gpu_usd) for i, cohort in enumerate(model.fleet)]
    notes = []
    for where, spec in capex:
        paid = _paid(model, spec)
        if paid.size and paid.max() < LOWEST_CAPEX_PER_GPU_USD:
            notes.append(((*where, "capex_per_gpu_usd"), (
                f"is at most ${paid.max():,.2f} per GPU: capex is in USD per GPU, all in (55000 for $55k; "
                "a datacenter GPU with its share of server and network costs $20k-$70k)")))  # fmt: skip
        elif paid.size and paid.min() > HIGHEST_CAPEX_PER_GPU_USD:
            notes.append(((*where, "capex_per_gpu_usd"), (
                f"is at least ${paid.min():,.0f} per GPU: capex is in USD per GPU, not per server or rack "
                "(an 8-GPU server's price / 8, an NVL72 rack's / 72; a datacenter GPU with its share of "
                "server and network costs $20k-$70k)")))  # fmt: skip
    return notes


def _opex_notes(model: PlanningModel) -> list[tuple[Path, str]]:
    return [(("skus", name, "opex_per_gpu_quarter_usd"), (
        f"is ${opex:,.2f} per GPU a quarter: opex is in USD per GPU per quarter (1200 for $1,200; a quarter "
        "has about 2,190 hours, so $0.55 an hour is $1,200)"))
        for name, sku in model.skus.items()
        if 0 < (opex := sku.opex_per_gpu_quarter_usd) < LOWEST_OPEX_PER_GPU_QUARTER_USD]  # fmt: skip


def _millions_notes(model: PlanningModel) -> list[tuple[Path, str]]:
    """The company's amounts that no real company has small (opening cash, debt, overhead, power
    plant's capex) above 0 and below :data:`LOWEST_COMPANY_USD`: written in millions of USD, as a
    spreadsheet shows them."""
    return [(path, (f"is ${amount:,.2f}: money is in USD, not millions of USD ({amount * 1e6:.0f} for "
                    f"${amount:g}M)"))
            for path, amount in _company_amounts(model) if 0 < amount < LOWEST_COMPANY_USD]  # fmt: skip


def _company_amounts(model: PlanningModel) -> list[tuple[Path, float]]:
    finance = model.finance
    amounts = [(("finance", "opening_cash_usd"), finance.opening_cash_usd)]
    overhead = _paid(model, finance.overhead_usd_per_quarter)
    if overhead.size:
        amounts.append((("finance", "overhead_usd_per_quarter"), float(overhead.max())))
    for name, facility in finance.facilities.items():
        amounts += [(("finance", "facilities", name, field), getattr(facility, field))
                    for field in ("size_usd", "opening_balance_usd")]
    if finance.revolver:
        amounts.append((("finance", "revolver", "size_usd"), finance.revolver.size_usd))
    amounts += [(("sites", name, "expansion", "capex_per_mw_usd"), site.expansion.capex_per_mw_usd)
                for name, site in model.sites.items() if site.expansion]
    return amounts


def _site_notes(model: PlanningModel) -> list[tuple[Path, str]]:
    notes = []
    for name, site in model.sites.items():
        paid = _paid(model, site.electricity_price_usd_per_mwh)
        if paid.size and paid.max() < LOWEST_ELECTRICITY_USD_PER_MWH:
            notes.append((("sites", name, "electricity_price_usd_per_mwh"), (
                f"is at most ${paid.max():,.3f} per MWh: prices are in USD per MWh (70 for 7 cents a "
                "kWh)")))  # fmt: skip
        mw = _paid(model, site.power_capacity_mw)
        if mw.size and mw.min() > HIGHEST_SITE_MW:
            notes.append((("sites", name, "power_capacity_mw"), (
                f"is at least {format_mw(float(mw.min()))} at one site: capacity is in MW (20 for 20,000 "
                "kW; the largest campuses planned are 1-5 GW)")))  # fmt: skip
    return notes


def _life_notes(model: PlanningModel) -> list[tuple[Path, str]]:
    lives = [(("skus", name), sku.useful_life_years, HIGHEST_GPU_LIFE_YEARS, "GPUs: 4-6 years")
             for name, sku in model.skus.items()]
    lives += [(("sites", name, "expansion"), site.expansion.useful_life_years, HIGHEST_PLANT_LIFE_YEARS,
               "power and cooling plant: 8-12 years") for name, site in model.sites.items() if site.expansion]
    return [((*where, "useful_life_years"), (
        f"is {years:g} years: a useful life is in years ({years / 12:.3g} for {years:g} months; {sourced})"))
        for where, years, highest, sourced in lives if years > highest]  # fmt: skip


def _price_notes(model: PlanningModel) -> list[tuple[Path, str]]:
    prices = [(("contracts", name, "price_usd_per_gpu_hour"), "is", contract.price_usd_per_gpu_hour)
              for name, contract in model.contracts.items()]  # fmt: skip
    prices += [(path, "is at least", float(paid.min())) for path, spec in model.series_fields()
               if path[:2] == ("market", "price_usd_per_gpu_hour") and (paid := _paid(model, spec)).size]
    return [(path, f"{is_} ${price:,.2f} per GPU-hour: prices are in USD per GPU-hour (2.30 for $2.30; a "
             "month's price is about 730 times an hour's)")
            for path, is_, price in prices if price > HIGHEST_USD_PER_GPU_HOUR]  # fmt: skip


def fleet_power_notes(model: PlanningModel) -> list[tuple[Path, str]]:
    """Each site whose installed fleet needs more power in service in the first quarter (GPUs x kW x
    PUE) than the site has then, at its largest cohort's ``gpus``: the plan idles or retires what it
    cannot power at once (§5.6), so a typo in a fleet's ``gpus`` (96,000 for 9,600) read as a
    plausible plan worth far more."""
    notes: list[tuple[Path, str]] = []
    T = model.horizon.quarters
    for name, site in model.sites.items():
        mw = {i: facility_mw(c.gpus, model.skus[c.sku].power_kw_per_gpu, site.pue)
              for i, c in enumerate(model.fleet) if c.site == name and c.sku in model.skus}  # fmt: skip
        have_mw = float(resolve_series(site.power_capacity_mw, model.first_quarter, T)[0])
        need_mw = sum(mw.values())
        if mw and need_mw > have_mw * (1.0 + 1e-9) + 1e-9:
            largest = max(mw, key=mw.get)
            need, have = _distinct_mw(need_mw, have_mw)
            notes.append((("fleet", largest, "gpus"), (
                f"the fleet installed at site {name!r} needs {need} MW in service (GPUs x "
                f"power_kw_per_gpu x PUE) against the site's {have} MW in "
                f"{quarter_label(model.first_quarter)}: the plan cannot run it all, and idles or retires "
                "what it cannot power; check the fleet's gpus and the site's power_capacity_mw"
            )))  # fmt: skip
    return notes


def powerless_site_notes(model: PlanningModel) -> list[tuple[Path, str]]:
    """Each site with no power in any quarter, no expansion block online within the horizon and no
    fleet installed: no GPU can ever run there (a capacity left at 0, an expansion forgotten)."""
    notes: list[tuple[Path, str]] = []
    fleet_sites = {cohort.site for cohort in model.fleet}
    for name, site in model.sites.items():
        if name in fleet_sites or _paid(model, site.power_capacity_mw).size:
            continue
        why = _no_block_online(model, site)
        if why:
            notes.append((("sites", name, "power_capacity_mw"), (
                f"is 0 MW in every quarter, {why} and no fleet is installed there: no GPU can run at "
                f"site {name!r}; give it power_capacity_mw or an expansion block, or drop it")))  # fmt: skip
    return notes


def _no_block_online(model: PlanningModel, site: Site) -> str:
    """Why no expansion block of ``site`` comes online within the horizon, in words ('' where one may)."""
    expansion = site.expansion
    if expansion is None:
        return "the site has no expansion block"
    if expansion.max_blocks == 0:
        return "its expansion allows no block (max_blocks: 0)"
    start = max(parse_quarter(expansion.earliest_start), model.first_quarter)
    if start + expansion.lead_time_quarters > model.last_quarter:
        return (f"no expansion block started from {quarter_label(start)} is online by the horizon's end "
                f"({quarter_label(model.last_quarter)}, lead_time_quarters: {expansion.lead_time_quarters})")
    return ""


def _distinct_mw(need_mw: float, have_mw: float) -> tuple[str, str]:
    """Both figures to two decimals (trailing zeros dropped, one kept: 156.0, 3.25), or three where
    two do not tell them apart: a need of 3.25 MW once read as '3.2 MW' against a 3.2 MW site."""
    for decimals in (2, 3):
        need, have = (_short_decimals(rounded(mw, decimals)) for mw in (need_mw, have_mw))
        if need != have:
            break
    return need, have


def _short_decimals(figure: str) -> str:
    """'3.250' -> '3.25', '156.00' -> '156.0'."""
    whole, _, decimals = figure.partition(".")
    return f"{whole}.{decimals.rstrip('0') or '0'}"


def contract_skus(model: PlanningModel, contract: Contract) -> list[str]:
    """SKUs that may serve a contract: the named ones, filtered by its minimum generation."""
    names = contract.eligible_skus if contract.eligible_skus is not None else list(model.skus)
    floor = contract.min_generation.rank if contract.min_generation else Generation.hopper.rank
    return [n for n in names if n in model.skus and model.skus[n].generation.rank >= floor]


def plan_free_blocks(made_by: str | None) -> tuple[str, ...]:
    """The blocks plans made by a run of kind ``made_by`` do not depend on: how plans react to a
    future (``policy``: their buffers are kept with them) and free text; for a (deterministic)
    solve's plan, also how futures are drawn (``risk``), which its MILP does not read. A stochastic
    solve's plan and a sweep's candidates are made from ``risk`` (its scenarios, its stress sizes).
    Evaluating a plan under other values of these blocks (a stress test) is what they are for."""
    return ("description", "risk", "policy") if made_by == "solve" else ("description", "policy")


def blocks_changed(made_from: PlanningModel, now: PlanningModel) -> list[str]:
    """The top-level blocks (model-file keys) whose content differs between two models, in file order."""
    a, b = made_from.model_dump(mode="json"), now.model_dump(mode="json")
    return [name for name in type(now).model_fields if a.get(name) != b.get(name)]


def fields_changed(made_from: PlanningModel, now: PlanningModel) -> list[tuple[str, Any, Any]]:
    """(dotted path, value in ``made_from``, value in ``now``) of each field whose value differs
    between two models, in file order: ``("horizon.discount_rate_annual", 0.2, 0.15)``; into lists
    of the same length by index (``skus.H100.resale_fraction_by_age_years[7]``), a list whose length
    differs as one field; a field one model lacks is None there. A block one model lacks (no
    ``robustness``, a SKU added) is stepped into too: each field its model file sets, None in the
    other (``("robustness.power_delay_quarters", 2, None)``), so that a note names the change."""
    out: list[tuple[str, Any, Any]] = []

    def walk(path: str, a: Any, b: Any, set_a: Any, set_b: Any) -> None:
        if a == b:
            return
        if isinstance(a, dict) and isinstance(b, dict):
            for key in [*a, *(k for k in b if k not in a)]:
                walk(_joined(path, key), a.get(key), b.get(key), _child(set_a, key), _child(set_b, key))
        elif isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
            for index, (x, y) in enumerate(zip(a, b, strict=True)):
                walk(f"{path}[{index}]", x, y, _child(set_a, index), _child(set_b, index))
        elif isinstance(a, dict) and b is None:
            out.extend((name, value, None) for name, value in _set_fields(path, a, set_a))
        elif isinstance(b, dict) and a is None:
            out.extend((name, None, value) for name, value in _set_fields(path, b, set_b))
        else:
            out.append((path, a, b))

    dumps = [model.model_dump(mode="json", exclude_unset=unset) for unset in (False, True)
             for model in (made_from, now)]  # fmt: skip
    walk("", *dumps)
    return out


def _joined(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _child(node: Any, key: str | int) -> Any:
    """``node[key]`` in a dump of the fields set, None where it is not set there."""
    if isinstance(node, dict):
        return node.get(key)
    return node[key] if isinstance(node, list) and key < len(node) else None


def _set_fields(path: str, block: dict, set_block: Any) -> list[tuple[str, Any]]:
    """(dotted path, value) of each field of ``block`` (a model's dump) that its file sets
    (``set_block``: the dump of the fields set), a block within it stepped into; every field where
    none is set (a block made whole by default), so that the block is never left unnamed."""
    shown = set_block if isinstance(set_block, dict) and set_block else block
    fields: list[tuple[str, Any]] = []
    for key, value in shown.items():
        if isinstance(value, dict) and value:
            fields += _set_fields(_joined(path, key), block.get(key, value), value)
        else:
            fields.append((_joined(path, key), block.get(key, value)))
    return fields


def _keys_only_by_pattern(node):
    """``node`` with ``additionalProperties: false`` beside every ``patternProperties``."""
    if isinstance(node, dict):
        if "patternProperties" in node:
            node.setdefault("additionalProperties", False)
        for value in node.values():
            _keys_only_by_pattern(value)
    elif isinstance(node, list):
        for value in node:
            _keys_only_by_pattern(value)
    return node
