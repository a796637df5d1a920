"""A validated model turned into numbers: index sets and float64 arrays over the horizon.

Everything the optimiser and the evaluator need is resolved here once (series,
cohort ages, resale and book values, eligibility), so both read the same figures.
Quarter index ``t`` runs from 0 (the horizon's first quarter) to ``T - 1``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from fleetopt.core.quarters import HOURS_PER_QUARTER, parse_quarter
from fleetopt.schema import PlanningModel, contract_skus
from fleetopt.schema.loading import LoadedModel, load_model
from fleetopt.schema.series import resolve_series

USES = ("training", "inference")
GENERATIONS = ("hopper", "blackwell", "rubin")


@dataclass(frozen=True)
class Cohort:
    """GPUs of one SKU at one site bought in one quarter (``bought`` < 0: before the horizon)."""

    index: int
    sku: int
    site: int
    bought: int
    capex_per_gpu_usd: float
    initial_training: float = 0.0
    initial_inference: float = 0.0

    @property
    def existing(self) -> bool:
        return self.initial_training + self.initial_inference > 0


@dataclass(frozen=True)
class ContractData:
    name: str
    customer: str
    use: int
    skus: tuple[int, ...]
    gpus: float
    start: int
    end: int  # last quarter of the term inside the horizon (inclusive)
    deadline: int
    price_usd_per_gpu_hour: float
    signed: bool
    penalty_usd: float


@dataclass(frozen=True)
class FacilityData:
    name: str
    size_usd: float
    opening_usd: float
    rate_quarterly: np.ndarray  # (T,) forecast interest rate per quarter
    floating: bool
    max_ltv: float | None
    amortization_quarters: int
    draw_quarters: tuple[int, ...]


@dataclass(frozen=True)
class SiteData:
    name: str
    pue: float
    capacity_mw: np.ndarray  # (T,)
    electricity_usd_per_mwh: np.ndarray  # (T,)
    fixed_cost_per_mw_quarter_usd: float
    block_mw: float = 0.0
    block_capex_usd: float = 0.0
    lead_time: int = 0
    build_quarters: tuple[int, ...] = ()
    max_blocks: int = 0
    life_quarters: float = 1.0


@dataclass
class ModelData:
    """Numbers of one planning model over its horizon."""

    model: PlanningModel
    T: int
    quarter_labels: list[str]
    hours: float
    discount: np.ndarray  # (T,) factor for cash flows at the end of quarter t
    sku_names: list[str]
    sku_generation: np.ndarray  # (S,) 0 hopper, 1 blackwell, 2 rubin
    block_size: np.ndarray  # (S,)
    kw_per_gpu: np.ndarray  # (S,)
    idle_fraction: np.ndarray  # (S,)
    throughput: np.ndarray  # (2, S) by use
    opex_per_gpu_quarter: np.ndarray  # (S,)
    on_sale: np.ndarray  # (S, T) bool
    training_eligible: np.ndarray  # (S, T) bool
    capex_path: np.ndarray  # (S, T) USD per GPU by purchase quarter
    market_price: np.ndarray  # (2, S, T) USD per GPU-hour
    demand: np.ndarray  # (2, T) H100-equivalent GPUs
    billed_utilization: float
    sites: list[SiteData]
    cohorts: list[Cohort]
    contracts: list[ContractData]
    facilities: list[FacilityData]
    reference_rate_annual: np.ndarray  # (T,)
    overhead: np.ndarray  # (T,)
    tax_rate: float
    opening_cash: float
    min_cash: float
    redeploy_cost: float
    max_customer_share: float
    # per cohort x quarter, NaN-free; zero where the cohort does not exist
    alive: np.ndarray = field(default=None)  # (C, T) bool: cohort may hold GPUs in quarter t
    resale_gross: np.ndarray = field(default=None)  # (C, T) market value per GPU in quarter t
    proceeds: np.ndarray = field(default=None)  # (C, T) cash per GPU retired in quarter t
    book_value: np.ndarray = field(default=None)  # (C, T) book value per GPU at the start of t
    depreciation: np.ndarray = field(default=None)  # (C, T) depreciation per GPU held in t
    terminal_value: np.ndarray = field(default=None)  # (C,) net realisable value per GPU at the end

    @property
    def S(self) -> int:
        return len(self.sku_names)

    @property
    def I(self) -> int:  # noqa: E743
        return len(self.sites)

    @property
    def C(self) -> int:
        return len(self.cohorts)


def load(model=None) -> tuple[LoadedModel, ModelData]:
    """Load a model (a path, a bundled name, None for the default, or a LoadedModel) and resolve it."""
    loaded = model if isinstance(model, LoadedModel) else load_model(model)
    return loaded, build_data(loaded)


def resale_fraction(curve: list[float], age_years: np.ndarray) -> np.ndarray:
    """Resale value / capex at an age in years: linear between whole years, last value held."""
    years = np.arange(len(curve), dtype=np.float64)
    return np.interp(np.maximum(age_years, 0.0), years, np.asarray(curve, dtype=np.float64))


def build_data(loaded: LoadedModel | PlanningModel) -> ModelData:
    """Resolve a validated model into arrays."""
    m = loaded.model if isinstance(loaded, LoadedModel) else loaded
    T = m.horizon.quarters
    q0 = m.first_quarter

    def series(spec) -> np.ndarray:
        return resolve_series(spec, q0, T)

    def t_of(label: str) -> int:
        return parse_quarter(label) - q0

    sku_names = list(m.skus)
    skus = [m.skus[n] for n in sku_names]
    S = len(skus)
    gen = np.array([s.generation.rank for s in skus])
    ts = np.arange(T)
    on_sale = np.zeros((S, T), dtype=bool)
    for j, s in enumerate(skus):
        lo = t_of(s.available_from)
        hi = t_of(s.available_until) if s.available_until else T - 1
        on_sale[j] = (ts >= lo) & (ts <= hi)
    # generations with some SKU released (on sale or formerly on sale) by quarter t
    released = np.zeros((3, T), dtype=bool)
    for j, s in enumerate(skus):
        released[gen[j]] |= ts >= t_of(s.available_from)
    eligible = np.ones((S, T), dtype=bool)
    for j, s in enumerate(skus):
        rule = s.training_eligibility
        if rule.quarters_after_release is not None:
            eligible[j] &= ts < t_of(s.available_from) + rule.quarters_after_release
        if rule.max_newer_generations_on_sale is not None:
            newer = released[gen[j] + 1 :].sum(axis=0) if gen[j] < 2 else np.zeros(T)
            eligible[j] &= newer <= rule.max_newer_generations_on_sale

    prices = np.zeros((2, S, T))
    for u, use in enumerate(USES):
        by_gen = getattr(m.market.price_usd_per_gpu_hour, use)
        for j, s in enumerate(skus):
            prices[u, j] = series(by_gen.for_sku(sku_names[j], s.generation))

    sites = []
    for name, site in m.sites.items():
        kw = dict(
            name=name,
            pue=site.pue,
            capacity_mw=series(site.power_capacity_mw),
            electricity_usd_per_mwh=series(site.electricity_price_usd_per_mwh),
            fixed_cost_per_mw_quarter_usd=site.fixed_cost_per_mw_quarter_usd,
        )
        if site.expansion is not None and site.expansion.max_blocks > 0:
            e = site.expansion
            first = t_of(e.earliest_start)
            # a block started later than T-1-lead would never come online inside the horizon
            kw.update(
                block_mw=e.block_mw,
                block_capex_usd=e.block_mw * e.capex_per_mw_usd,
                lead_time=e.lead_time_quarters,
                build_quarters=tuple(range(max(first, 0), T - e.lead_time_quarters)),
                max_blocks=e.max_blocks,
                life_quarters=e.useful_life_years * 4.0,
            )
        sites.append(SiteData(**kw))
    site_index = {s.name: i for i, s in enumerate(sites)}
    sku_index = {n: j for j, n in enumerate(sku_names)}

    cohorts: list[Cohort] = []
    for c in m.fleet:
        bought = t_of(c.purchased)
        cohorts.append(
            Cohort(
                len(cohorts),
                sku_index[c.sku],
                site_index[c.site],
                bought,
                float(c.capex_per_gpu_usd),
                float(c.gpus) if c.use == "training" else 0.0,
                float(c.gpus) if c.use == "inference" else 0.0,
            )
        )
    capex_path = np.zeros((S, T))
    for j, s in enumerate(skus):
        capex_path[j] = series(s.capex_per_gpu_usd)
    for j in range(S):
        for i in range(len(sites)):
            for t in np.flatnonzero(on_sale[j]):
                cohorts.append(Cohort(len(cohorts), j, i, int(t), float(capex_path[j, t])))

    contracts = []
    for name, k in m.contracts.items():
        start = t_of(k.start)
        contracts.append(
            ContractData(
                name=name,
                customer=k.customer,
                use=USES.index(k.use),
                skus=tuple(sku_index[s] for s in contract_skus(m, k)),
                gpus=float(k.gpus),
                start=start,
                end=min(T - 1, start + k.term_quarters - 1),
                deadline=t_of(k.delivery_deadline) if k.delivery_deadline else start,
                price_usd_per_gpu_hour=k.price_usd_per_gpu_hour,
                signed=k.signed,
                penalty_usd=k.cancellation_penalty_usd,
            )
        )

    ref = series(m.finance.reference_rate_annual)
    facilities = []
    for name, f in m.finance.facilities.items():
        floating = f.fixed_rate_annual is None
        annual = ref + f.spread_over_reference_annual if floating else np.full(T, f.fixed_rate_annual)
        lo, hi = t_of(f.draw_from), t_of(f.draw_until)
        draw = tuple(t for t in range(T) if lo <= t <= hi) if f.size_usd > f.opening_balance_usd else ()
        facilities.append(
            FacilityData(
                name=name,
                size_usd=f.size_usd,
                opening_usd=f.opening_balance_usd,
                rate_quarterly=annual / 4.0,
                floating=floating,
                max_ltv=f.max_ltv,
                amortization_quarters=f.amortization_quarters,
                draw_quarters=draw,
            )
        )

    discount = (1.0 + m.horizon.discount_rate_annual) ** (-(ts + 1) / 4.0)
    data = ModelData(
        model=m,
        T=T,
        quarter_labels=m.quarter_labels,
        hours=HOURS_PER_QUARTER,
        discount=discount,
        sku_names=sku_names,
        sku_generation=gen,
        block_size=np.array([s.block_size_gpus for s in skus], dtype=np.float64),
        kw_per_gpu=np.array([s.power_kw_per_gpu for s in skus]),
        idle_fraction=np.array([s.idle_power_fraction for s in skus]),
        throughput=np.array([[s.training_throughput for s in skus], [s.inference_throughput for s in skus]]),
        opex_per_gpu_quarter=np.array([s.opex_per_gpu_quarter_usd for s in skus]),
        on_sale=on_sale,
        training_eligible=eligible,
        capex_path=capex_path,
        market_price=prices,
        demand=np.array([series(m.market.demand_gpus.training), series(m.market.demand_gpus.inference)]),
        billed_utilization=m.market.billed_utilization,
        sites=sites,
        cohorts=cohorts,
        contracts=contracts,
        facilities=facilities,
        reference_rate_annual=ref,
        overhead=series(m.finance.overhead_usd_per_quarter),
        tax_rate=m.finance.tax_rate,
        opening_cash=m.finance.opening_cash_usd,
        min_cash=m.finance.min_cash_usd,
        redeploy_cost=m.redeployment.cost_per_gpu_usd,
        max_customer_share=m.limits.max_customer_revenue_share,
    )
    _cohort_values(data, skus)
    return data


def _cohort_values(data: ModelData, skus) -> None:
    """Per cohort and quarter: existence, resale, proceeds, book value, depreciation."""
    m = data.model
    T, C = data.T, len(data.cohorts)
    ts = np.arange(T)
    alive = np.zeros((C, T), dtype=bool)
    resale = np.zeros((C, T))
    proceeds = np.zeros((C, T))
    book = np.zeros((C, T))
    dep = np.zeros((C, T))
    terminal = np.zeros(C)
    keep = (1.0 - m.retirement.selling_cost_fraction) if m.retirement.resale else 0.0
    max_age_q = m.retirement.max_age_years * 4.0 if m.retirement.max_age_years is not None else np.inf
    for c in data.cohorts:
        sku = skus[c.sku]
        life_q = sku.useful_life_years * 4.0
        age_q = (ts - c.bought).astype(np.float64)
        alive[c.index] = (ts >= max(c.bought, 0)) & (age_q < max_age_q)
        frac = resale_fraction(sku.resale_fraction_by_age_years, age_q / 4.0)
        resale[c.index] = c.capex_per_gpu_usd * frac
        proceeds[c.index] = resale[c.index] * keep
        book[c.index] = c.capex_per_gpu_usd * np.clip(1.0 - age_q / life_q, 0.0, 1.0)
        # the share of the life that falls in quarter t (a life of 5.1 quarters ends with a 0.1 share)
        dep[c.index] = (
            c.capex_per_gpu_usd * (np.clip(age_q + 1, 0, life_q) - np.clip(age_q, 0, life_q)) / life_q
        )
        # at the end of the horizon a GPU is worth what it would fetch if sold then
        end_age = (T - c.bought) / 4.0
        terminal[c.index] = (
            c.capex_per_gpu_usd
            * resale_fraction(sku.resale_fraction_by_age_years, np.array([end_age]))[0]
            * keep
        )
        resale[c.index] *= alive[c.index]
    data.alive = alive
    data.resale_gross = resale
    data.proceeds = proceeds
    data.book_value = book
    data.depreciation = dep
    data.terminal_value = terminal
