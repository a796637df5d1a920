"""A validated model turned into numbers: index sets and float64 arrays over the horizon.

Everything the optimiser and the evaluator need is resolved here once (series,
cohort ages, resale and book values, eligibility), so both read the same figures.
Quarter index ``t`` runs from 0 (the horizon's first quarter) to ``T - 1``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, fields, is_dataclass

import numpy as np

from fleetopt.core.covenants import (
    CovenantKind,
    CovenantTest,
    covenant_tests,
    ebitda_window,
    equity_cures,
    model_kinds,
)
from fleetopt.core.credit import INVESTMENT_GRADE
from fleetopt.core.quarters import (
    HOURS_PER_QUARTER,
    discount_factors,
    parse_quarter,
    per_quarter,
    quarters_to_years,
    years_to_quarters,
)
from fleetopt.core.units import counted
from fleetopt.schema.hardware import Generation, Use
from fleetopt.schema.loaded_model import LoadedModel
from fleetopt.schema.loading import load_model
from fleetopt.schema.model import PlanningModel, contract_skus, slipping_sku_names
from fleetopt.schema.policy import Policy
from fleetopt.schema.risk import Risk, Robustness
from fleetopt.schema.series import resolve_series

USES = tuple(u.value for u in Use)  # index u: 0 training, 1 inference
GENERATIONS = tuple(g.value for g in Generation)  # index g: oldest first (Generation.rank)


def read_only(value) -> None:
    """Make every NumPy array in ``value`` (a dataclass, list, tuple or dict, nested) read-only."""
    if isinstance(value, np.ndarray):
        value.setflags(write=False)
    elif is_dataclass(value) and not isinstance(value, type):
        for f in fields(value):
            read_only(getattr(value, f.name))
    elif isinstance(value, (list, tuple)):
        for item in value:
            read_only(item)
    elif isinstance(value, dict):
        for item in value.values():
            read_only(item)


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

    @property
    def is_purchase(self) -> bool:
        """A cohort the plan buys: bought in the horizon, not a `fleet` entry (one installed in the
        horizon's first quarter has ``bought`` 0 too)."""
        return self.bought >= 0 and not self.existing


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
    delay_allowance: int  # late quarters before cancellation (evaluator policy)
    delay_penalty_usd: float  # per late quarter (evaluator policy)
    term_quarters: int = 1  # the whole term (its last quarter start + term - 1 may be after the horizon)
    value_per_quarter_usd: float = 0.0  # GPUs x price x hours: the value of one full quarter of the term
    prepayment_share: float = 0.0  # share of the whole term's value paid at the start
    termination_share: float = 0.0  # share of the remaining value paid when the customer ends it early

    @property
    def term_last(self) -> int:
        """The term's last quarter (horizon index), which may be after the horizon's last (``end``
        is the last inside it)."""
        return self.start + self.term_quarters - 1


@dataclass(frozen=True)
class ContractPayments:
    """Cash the contracts' customers pay besides the revenue as it is earned, USD (docs/formulation.md
    §5.10, docs/evaluation.md "Contract payments"); a contract pays it only where it is taken.

    ``live[k, t]``: received in quarter t while the customer is live in t: in the first quarter of
    the term the prepayment P_k = φ_k V_k N_k, and in every quarter of the term (the first included)
    less its even share P_k / N_k = φ_k V_k (V_k the value of one quarter, N_k the term in quarters).
    ``ended[k, t]``: received in quarter t when the customer ends the contract in t (live in t - 1,
    not in t), for t after the first quarter and within the term: ς_k V_k (t^1_k + 1 - t), t^1_k the
    term's last quarter. ``deferred_end[k]``: the prepayment not yet unwound after the horizon's last
    quarter, φ_k V_k max(0, t^1_k - T + 1) (owed in service: the terminal value deducts it)."""

    live: np.ndarray  # (K, T)
    ended: np.ndarray  # (K, T)
    deferred_end: np.ndarray  # (K,)


def contract_payments(contracts: list[ContractData], T: int) -> ContractPayments:
    """The contracts' :class:`ContractPayments` over a horizon of ``T`` quarters."""
    K = len(contracts)
    live, ended, deferred_end = np.zeros((K, T)), np.zeros((K, T)), np.zeros(K)
    for k, con in enumerate(contracts):
        last = con.term_last
        unwound = con.prepayment_share * con.value_per_quarter_usd
        if unwound:
            live[k, con.start : con.end + 1] = -unwound
            live[k, con.start] = unwound * con.term_quarters - unwound
            deferred_end[k] = unwound * max(0, last - T + 1)
        for t in range(con.start + 1, con.end + 1):
            ended[k, t] = con.termination_share * con.value_per_quarter_usd * (last + 1 - t)
    return ContractPayments(live, ended, deferred_end)


@dataclass(frozen=True)
class FacilityData:
    name: str
    size_usd: float
    opening_usd: float
    # (T,) forecast interest rate per quarter (after a refinanced maturity: the refinancing rate)
    rate_quarterly: np.ndarray
    floating: bool  # the facility's own rate follows the reference rate
    max_ltv: float | None
    amortization_quarters: int | None  # amortizing facilities
    maturity: int | None  # bullet facilities: quarter (horizon index) the balance is repaid
    draw_quarters: tuple[int, ...]
    refinanced: bool = False  # a bullet refinanced at maturity: its balance is not repaid in the horizon
    floating_quarterly: np.ndarray | None = None  # (T,) 1.0 where quarter t's rate follows the reference rate
    # (T,) 1.0 where quarter t's rate is a refinanced bullet's (after its maturity): it follows the
    # scenario's spread shift as well as the reference rate
    refinanced_quarterly: np.ndarray | None = None
    refinance_spread_annual: float | None = None  # a refinanced bullet's spread over the reference rate

    @property
    def undrawn_usd(self) -> float:
        """USD the facility can still lend over the horizon: its size less its opening balance (the
        MILP's ``facility_headroom``, a plan file's draws checked, a solve's facility drawn to its size)."""
        return self.size_usd - self.opening_usd

    @property
    def collateral_weight(self) -> float:
        """USD of GPU collateral value each USD of balance needs: 1 / ``max_ltv`` for a GPU-secured
        facility, 0 otherwise (the borrowing base, docs/formulation.md §5.9)."""
        return 0.0 if self.max_ltv is None else 1.0 / self.max_ltv


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


@dataclass(frozen=True)
class SiteSchedules:
    """A site's (T, T) power schedules (row: quarter a block starts; column: quarter t)."""

    capex: np.ndarray  # USD paid
    online: np.ndarray  # 1 when online
    depreciation: np.ndarray  # USD
    book_end: np.ndarray  # (T,) USD book value at the end of the horizon of a block started in tau


@dataclass(frozen=True)
class ModelData:
    """Numbers of one planning model over its horizon, resolved once by :func:`build_data`.

    Immutable (its arrays are shared by the MILP, the statements and every evaluated plan): the
    consumers read these figures, not the schema objects of ``model``. Its arrays are read-only,
    so that an edit in place cannot record a run under a model its figures did not come from (a
    copy made by ``dataclasses.replace`` or ``copy.deepcopy`` is not checked): a changed
    assumption is a changed model (``fleetopt.api.edit``), loaded again."""

    def __post_init__(self) -> None:
        read_only(self)

    def __repr__(self) -> str:  # a notebook shows this, not hundreds of thousands of array digits
        return (
            f"ModelData({self.name!r}: {counted(self.T, 'quarter')} from {self.quarter_labels[0]}, "
            f"{counted(len(self.sku_names), 'SKU')}, {counted(len(self.sites), 'site')}, "
            f"{counted(len(self.contracts), 'contract')}, {len(self.facilities)} debt "
            f"{'facility' if len(self.facilities) == 1 else 'facilities'})"
        )

    model: PlanningModel  # the validated model file: for loading, writing and fingerprints only
    name: str
    description: str
    fingerprint: str  # SHA-256 of the validated model: equal models, equal scenarios and results
    risk: Risk  # the scenario generator's settings (fleetopt/evaluate/factors.py)
    robustness: Robustness | None  # the shocks the MILP plan must survive (docs/formulation.md §5.13)
    policy: Policy  # how plans react inside a scenario (the evaluator; docs/evaluation.md)
    T: int
    quarter_labels: list[str]
    hours: float
    discount: np.ndarray  # (T,) factor for cash flows at the end of quarter t
    discount_rate_annual: float  # the rate of those factors (horizon.discount_rate_annual)
    sku_names: list[str]
    sku_generation: np.ndarray  # (S,) 0 hopper, 1 blackwell, 2 rubin
    sku_release: np.ndarray  # (S,) quarter each SKU first went on sale (negative: before the horizon)
    # the SKUs risk.delivery_slip may delay, by index (schema/model.py slipping_sku_names)
    slipping_skus: tuple[int, ...]
    block_size: np.ndarray  # (S,)
    install_quarters: np.ndarray  # (S,) quarters from purchase to service
    utilisation_ramp: tuple[tuple[float, ...], ...]  # per SKU: share serving in its first quarters of service
    order_deposit_share: np.ndarray  # (S,) share of the price forfeited when an order is cancelled (policy)
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
    contract_payments: ContractPayments  # prepayments and termination payments (contract_payments)
    facilities: list[FacilityData]
    reference_rate_annual: np.ndarray  # (T,)
    overhead: np.ndarray  # (T,)
    tax_rate: float
    tax_loss_carry_forward: bool
    opening_tax_losses: float  # USD of tax losses carried into the horizon (the pool's opening value)
    opening_cash: float
    min_cash: float
    default_cash: float  # the evaluator's liquidity default: cash below this after the revolver and sales
    redeploy_cost: float
    max_customer_share: float
    max_customer_share_per_year: float
    max_non_investment_grade_share_per_year: float
    non_investment_grade: tuple[str, ...]  # the customers below investment grade, or unrated (sorted)
    new_gpu_allocation: np.ndarray  # (G, T) most new GPUs of a generation bought in a quarter (inf: none)
    revolver_usd: float  # size of the emergency revolver (0 without one)
    revolver_rate_annual: float
    covenants: tuple[CovenantTest, ...]  # the model's covenant tests (fleetopt/core/covenants.py)
    covenant_kinds: tuple[CovenantKind, ...]  # every kind of the catalogue, as the model tests it
    covenant_tested: np.ndarray  # (T,) bool: quarters the covenants are tested (none without covenants)
    covenant_window: int  # quarters of EBITDA (and debt service, interest) the tests average
    equity_cures: int  # breached quarters the owners may cure (core.covenants.CureRights)
    cash_covering_debt_cures: bool  # a breached quarter whose cash covers its debt is no default (CureRights)
    customers: tuple[str, ...]  # the contracts' customers, sorted
    customer_hazard: np.ndarray  # (len(customers),) default hazard per quarter (override, rating or default)
    site_schedules: tuple[SiteSchedules, ...]  # per site
    cohorts_by_sku_site: dict[tuple[int, int], np.ndarray]  # (SKU, site) -> cohort indices, in order
    # per cohort x quarter, NaN-free; zero where the cohort does not exist
    alive: np.ndarray  # (C, T) bool: cohort may hold GPUs in quarter t
    resale_gross: np.ndarray  # (C, T) market value per GPU in quarter t
    proceeds: np.ndarray  # (C, T) cash per GPU retired in quarter t
    book_value: np.ndarray  # (C, T) book value per GPU at the start of t
    depreciation: np.ndarray  # (C, T) depreciation per GPU held in t
    terminal_gross: np.ndarray  # (C,) market value per GPU at the end (before the selling cost)
    terminal_value: np.ndarray  # (C,) net realisable value per GPU at the end
    terminal_book: np.ndarray  # (C,) book value per GPU at the end (the liquidation's tax basis)

    @property
    def S(self) -> int:
        return len(self.sku_names)

    def service_share(self, c: int, t: int) -> float:
        """Share of cohort ``c``'s GPUs that can serve in quarter ``t``: 0 before they are
        installed, then their SKU's utilisation ramp, then 1 (installed cohorts: always 1)."""
        cohort = self.cohorts[c]
        if cohort.existing:
            return 1.0
        age = t - cohort.bought - int(self.install_quarters[cohort.sku])
        if age < 0:
            return 0.0
        ramp = self.utilisation_ramp[cohort.sku]
        return ramp[age] if age < len(ramp) else 1.0

    @property
    def I(self) -> int:  # noqa: E743
        return len(self.sites)

    @property
    def C(self) -> int:
        return len(self.cohorts)

    @property
    def G(self) -> int:
        return len(GENERATIONS)

    @property
    def model_generations(self) -> list[int]:
        """The generations (indices into GENERATIONS) the model has an SKU of, oldest first."""
        return sorted({int(g) for g in self.sku_generation})


def load(model=None) -> tuple[LoadedModel, ModelData]:
    """Load a model (a path, a bundled name, None for the default, or a LoadedModel) and resolve it."""
    loaded = model if isinstance(model, LoadedModel) else load_model(model)
    return loaded, build_data(loaded)


def resale_fraction(curve: list[float], age_years: np.ndarray) -> np.ndarray:
    """Resale value / capex at an age in years: linear between whole years, last value held."""
    years = np.arange(len(curve), dtype=np.float64)
    return np.interp(np.maximum(age_years, 0.0), years, np.asarray(curve, dtype=np.float64))


class _Horizon:
    """Quarter arithmetic of one model: labels to indices, series to (T,) arrays."""

    def __init__(self, m: PlanningModel):
        self.T, self.q0 = m.horizon.quarters, m.first_quarter
        self.ts = np.arange(self.T)

    def series(self, spec) -> np.ndarray:
        return resolve_series(spec, self.q0, self.T)

    def t_of(self, label: str) -> int:
        return parse_quarter(label) - self.q0


def model_fingerprint(m: PlanningModel) -> str:
    """SHA-256 of the validated model: equal models, equal fingerprints (the comments and layout
    of the file do not count, unlike its content hash)."""
    return hashlib.sha256(m.model_dump_json().encode()).hexdigest()


def build_data(loaded: LoadedModel | PlanningModel) -> ModelData:
    """Resolve a validated model into arrays."""
    m = loaded.model if isinstance(loaded, LoadedModel) else loaded
    h = _Horizon(m)
    sku_names = list(m.skus)
    skus = [m.skus[n] for n in sku_names]
    on_sale, eligible = _sale_and_eligibility(h, skus)
    sites = _sites(h, m)
    cohorts, capex_path = _cohorts(h, m, sku_names, sites, on_sale)
    contracts = _contracts(h, m, sku_names)
    facilities = _facilities(h, m)
    customers = tuple(sorted({c.customer for c in contracts}))
    return ModelData(
        **_model_fields(h, m),
        **_sku_fields(h, m, sku_names, skus),
        on_sale=on_sale,
        training_eligible=eligible,
        capex_path=capex_path,
        **_market_fields(h, m, sku_names),
        sites=sites,
        cohorts=cohorts,
        contracts=contracts,
        contract_payments=contract_payments(contracts, h.T),
        facilities=facilities,
        **_finance_fields(h, m),
        redeploy_cost=m.redeployment.cost_per_gpu_usd,
        **_limit_fields(h, m, customers),
        **_covenant_fields(h, m, facilities),
        customers=customers,
        customer_hazard=_customer_hazards(m, customers),
        site_schedules=tuple(_site_schedules(site, h.T) for site in sites),
        cohorts_by_sku_site=_cohorts_by_sku_site(cohorts),
        **_cohort_values(m, h.T, cohorts, skus),
    )


def _model_fields(h: _Horizon, m: PlanningModel) -> dict:
    """:class:`ModelData`'s fields of the model as a whole: its name, settings and horizon."""
    return {
        "model": m,
        "name": m.name,
        "description": m.description,
        "fingerprint": model_fingerprint(m),
        "risk": m.risk,
        "robustness": m.robustness,
        "policy": m.policy,
        "T": h.T,
        "quarter_labels": m.quarter_labels,
        "hours": HOURS_PER_QUARTER,
        "discount": discount_factors(m.horizon.discount_rate_annual, h.T),
        "discount_rate_annual": float(m.horizon.discount_rate_annual),
    }


def _sku_fields(h: _Horizon, m: PlanningModel, sku_names: list[str], skus: list) -> dict:
    """:class:`ModelData`'s fields by SKU, (S,) or (2, S) arrays."""
    return {
        "sku_names": sku_names,
        "sku_generation": np.array([s.generation.rank for s in skus]),
        "sku_release": np.array([h.t_of(s.available_from) for s in skus], dtype=np.int64),
        "slipping_skus": tuple(sku_names.index(name) for name in slipping_sku_names(m)),
        "block_size": np.array([s.block_size_gpus for s in skus], dtype=np.float64),
        "install_quarters": np.array([s.install_quarters for s in skus], dtype=np.int64),
        "utilisation_ramp": tuple(tuple(s.utilisation_ramp) for s in skus),
        "order_deposit_share": np.array([s.order_deposit_share for s in skus]),
        "kw_per_gpu": np.array([s.power_kw_per_gpu for s in skus]),
        "idle_fraction": np.array([s.idle_power_fraction for s in skus]),
        "throughput": np.array(
            [[s.training_throughput for s in skus], [s.inference_throughput for s in skus]]
        ),
        "opex_per_gpu_quarter": np.array([s.opex_per_gpu_quarter_usd for s in skus]),
    }


def _market_fields(h: _Horizon, m: PlanningModel, sku_names: list[str]) -> dict:
    """:class:`ModelData`'s fields of the market: prices, demand and the share of hours billed."""
    demand = m.market.demand_gpus
    return {
        "market_price": _market_prices(h, m, sku_names),
        "demand": np.array([h.series(demand.training), h.series(demand.inference)]),
        "billed_utilization": m.market.billed_utilization,
    }


def _finance_fields(h: _Horizon, m: PlanningModel) -> dict:
    """:class:`ModelData`'s fields of ``finance`` besides the facilities and covenants."""
    finance = m.finance
    return {
        "reference_rate_annual": h.series(finance.reference_rate_annual),
        "overhead": h.series(finance.overhead_usd_per_quarter),
        "tax_rate": finance.tax_rate,
        "tax_loss_carry_forward": finance.tax_loss_carry_forward,
        "opening_tax_losses": finance.opening_tax_losses_usd,
        "opening_cash": finance.opening_cash_usd,
        "min_cash": finance.min_cash_usd,
        "default_cash": _default_cash(m),
        "revolver_usd": finance.revolver.size_usd if finance.revolver else 0.0,
        "revolver_rate_annual": finance.revolver.annual_rate if finance.revolver else 0.0,
    }


def _limit_fields(h: _Horizon, m: PlanningModel, customers: tuple[str, ...]) -> dict:
    """:class:`ModelData`'s fields of ``limits``: customer concentration and the GPU allocation."""
    return {
        "max_customer_share": m.limits.max_customer_revenue_share,
        "max_customer_share_per_year": m.limits.max_customer_revenue_share_per_year,
        "max_non_investment_grade_share_per_year": m.limits.max_non_investment_grade_share_per_year,
        "non_investment_grade": _non_investment_grade(m, customers),
        "new_gpu_allocation": _allocation(h, m),
    }


def _covenant_fields(h: _Horizon, m: PlanningModel, facilities: list[FacilityData]) -> dict:
    """:class:`ModelData`'s fields of ``finance.covenants`` (none tested without the block)."""
    cov = m.finance.covenants
    test_from = h.t_of(cov.test_from) if cov else h.T
    return {
        "covenants": covenant_tests(
            cov, h.T, test_from, debt_quantity_quarters(facilities, h.T), any(f.max_ltv for f in facilities),
            {f.name: facility_owed(f, h.T) for f in facilities},
        ),
        "covenant_kinds": model_kinds(cov),
        "covenant_tested": h.ts >= test_from,
        "covenant_window": ebitda_window(cov),
        "equity_cures": equity_cures(cov),
        "cash_covering_debt_cures": cov is not None and cov.cash_covering_debt_cures,
    }


def _default_cash(m: PlanningModel) -> float:
    """The evaluator's liquidity default level, USD: `default_cash_usd`, else the treasury floor."""
    given = m.finance.default_cash_usd
    return m.finance.min_cash_usd if given is None else given


def _allocation(h: _Horizon, m: PlanningModel) -> np.ndarray:
    """(G, T) the supplier's allocation of new GPUs by generation and quarter (inf where unlimited)."""
    out = np.full((len(GENERATIONS), h.T), np.inf)
    for generation, spec in m.limits.new_gpus_per_quarter.items():
        out[generation.rank] = h.series(spec)
    return out


def _non_investment_grade(m: PlanningModel, customers: tuple[str, ...]) -> tuple[str, ...]:
    """The customers rated below investment grade in ``risk.customer_ratings``, or not rated there
    (as lenders count unrated names)."""
    return tuple(name for name in customers if m.risk.customer_ratings.get(name) not in INVESTMENT_GRADE)


def _customer_hazards(m: PlanningModel, customers: tuple[str, ...]) -> np.ndarray:
    """Each customer's default hazard per quarter (``Risk.customer_hazard``)."""
    return np.array([m.risk.customer_hazard(name) for name in customers], dtype=np.float64)


def _sale_and_eligibility(h: _Horizon, skus: list) -> tuple[np.ndarray, np.ndarray]:
    """(S, T) bool: on sale; eligible for training (its rule, counting newer generations released)."""
    S, T, ts = len(skus), h.T, h.ts
    gen = np.array([s.generation.rank for s in skus])
    on_sale = np.zeros((S, T), dtype=bool)
    for j, s in enumerate(skus):
        lo = h.t_of(s.available_from)
        hi = h.t_of(s.available_until) if s.available_until else T - 1
        on_sale[j] = (ts >= lo) & (ts <= hi)
    # generations with some SKU released (on sale or formerly on sale) by quarter t
    released = np.zeros((len(GENERATIONS), T), dtype=bool)
    for j, s in enumerate(skus):
        released[gen[j]] |= ts >= h.t_of(s.available_from)
    eligible = np.ones((S, T), dtype=bool)
    for j, s in enumerate(skus):
        rule = s.training_eligibility
        if rule.quarters_after_release is not None:
            eligible[j] &= ts < h.t_of(s.available_from) + rule.quarters_after_release
        if rule.max_newer_generations_on_sale is not None:
            newer = released[gen[j] + 1 :].sum(axis=0) if gen[j] < len(GENERATIONS) - 1 else np.zeros(T)
            eligible[j] &= newer <= rule.max_newer_generations_on_sale
    return on_sale, eligible


def _market_prices(h: _Horizon, m: PlanningModel, sku_names: list[str]) -> np.ndarray:
    """(2, S, T) USD per GPU-hour by use and SKU."""
    prices = np.zeros((2, len(sku_names), h.T))
    for u, use in enumerate(USES):
        by_gen = getattr(m.market.price_usd_per_gpu_hour, use)
        for j, name in enumerate(sku_names):
            prices[u, j] = h.series(by_gen.for_sku(name, m.skus[name].generation))
    return prices


def _sites(h: _Horizon, m: PlanningModel) -> list[SiteData]:
    sites = []
    for name, site in m.sites.items():
        kw = dict(
            name=name,
            pue=site.pue,
            capacity_mw=h.series(site.power_capacity_mw),
            electricity_usd_per_mwh=h.series(site.electricity_price_usd_per_mwh),
            fixed_cost_per_mw_quarter_usd=site.fixed_cost_per_mw_quarter_usd,
        )
        if site.expansion is not None and site.expansion.max_blocks > 0:
            e = site.expansion
            first = h.t_of(e.earliest_start)
            # a block started later than T-1-lead would never come online inside the horizon
            kw.update(
                block_mw=e.block_mw,
                block_capex_usd=e.block_mw * e.capex_per_mw_usd,
                lead_time=e.lead_time_quarters,
                build_quarters=tuple(range(max(first, 0), h.T - e.lead_time_quarters)),
                max_blocks=e.max_blocks,
                life_quarters=years_to_quarters(e.useful_life_years),
            )
        sites.append(SiteData(**kw))
    return sites


def _cohorts(h: _Horizon, m: PlanningModel, sku_names, sites, on_sale) -> tuple[list[Cohort], np.ndarray]:
    """The installed cohorts, then one per (SKU, site, quarter on sale); and (S, T) capex per GPU."""
    site_index = {s.name: i for i, s in enumerate(sites)}
    sku_index = {n: j for j, n in enumerate(sku_names)}
    cohorts: list[Cohort] = []
    for c in m.fleet:
        training, inference = (float(c.gpus), 0.0) if c.use == "training" else (0.0, float(c.gpus))
        cohorts.append(
            Cohort(len(cohorts), sku_index[c.sku], site_index[c.site], h.t_of(c.purchased),
                   float(c.capex_per_gpu_usd), training, inference)
        )  # fmt: skip
    capex_path = np.array([h.series(m.skus[n].capex_per_gpu_usd) for n in sku_names]).reshape(-1, h.T)
    for j in range(len(sku_names)):
        for i in range(len(sites)):
            for t in np.flatnonzero(on_sale[j]):
                cohorts.append(Cohort(len(cohorts), j, i, int(t), float(capex_path[j, t])))
    return cohorts, capex_path


def _contracts(h: _Horizon, m: PlanningModel, sku_names: list[str]) -> list[ContractData]:
    sku_index = {n: j for j, n in enumerate(sku_names)}
    contracts = []
    for name, k in m.contracts.items():
        start = h.t_of(k.start)
        contracts.append(
            ContractData(
                name=name,
                customer=k.customer,
                use=USES.index(k.use),
                skus=tuple(sku_index[s] for s in contract_skus(m, k)),
                gpus=float(k.gpus),
                start=start,
                end=min(h.T - 1, k.last_quarter - h.q0),
                deadline=h.t_of(k.delivery_deadline) if k.delivery_deadline else start,
                price_usd_per_gpu_hour=k.price_usd_per_gpu_hour,
                signed=k.signed,
                penalty_usd=k.cancellation_penalty_usd,
                delay_allowance=k.delay_allowance_quarters,
                delay_penalty_usd=k.delay_penalty_usd_per_quarter,
                term_quarters=k.term_quarters,
                value_per_quarter_usd=k.gpus * k.price_usd_per_gpu_hour * HOURS_PER_QUARTER,
                prepayment_share=k.prepayment_share,
                termination_share=k.termination_payment_share,
            )
        )
    return contracts


def _facilities(h: _Horizon, m: PlanningModel) -> list[FacilityData]:
    T = h.T
    ref = h.series(m.finance.reference_rate_annual)
    facilities = []
    for name, f in m.finance.facilities.items():
        floating = f.fixed_rate_annual is None
        annual = ref + f.spread_over_reference_annual if floating else np.full(T, f.fixed_rate_annual)
        follows = np.full(T, 1.0 if floating else 0.0)
        new_borrowing = np.zeros(T)
        refinanced = f.repayment == "bullet" and f.at_maturity == "refinance"
        if refinanced:  # from the quarter after maturity: the new bullet's reference rate + spread
            after = np.arange(T) > h.t_of(f.maturity)
            annual = np.where(after, ref + f.refinance_spread_over_reference_annual, annual)
            follows = np.where(after, 1.0, follows)
            new_borrowing = np.where(after, 1.0, 0.0)
        lo, hi = h.t_of(f.draw_from), h.t_of(f.draw_until)
        draw = tuple(t for t in range(T) if lo <= t <= hi) if f.size_usd > f.opening_balance_usd else ()
        facilities.append(
            FacilityData(
                name=name,
                size_usd=f.size_usd,
                opening_usd=f.opening_balance_usd,
                rate_quarterly=per_quarter(annual),
                floating=floating,
                max_ltv=f.max_ltv,
                amortization_quarters=f.amortization_quarters,
                maturity=h.t_of(f.maturity) if f.repayment == "bullet" else None,
                draw_quarters=draw,
                refinanced=refinanced,
                floating_quarterly=follows,
                refinanced_quarterly=new_borrowing,
                refinance_spread_annual=f.refinance_spread_over_reference_annual if refinanced else None,
            )
        )
    return facilities


def debt_quantity_quarters(facilities: list[FacilityData], T: int) -> dict[str, np.ndarray]:
    """(T,) bool per covenant quantity of the debt (``debt``, ``net_debt``, ``interest``,
    ``debt_service``): the quarters in which it can be positive on the forecast, whatever the plan
    draws (net debt: where debt can; docs/formulation.md §5.11). The schedules are those of
    ``economics.debt.principal_schedule``:

    * a balance (end of quarter) is outstanding from its draw (the opening balance: from quarter 0)
      until the quarter before its last scheduled instalment: amortizing over N quarters, a draw in
      tau through tau + N - 1 and the opening balance through N - 2; a bullet maturing in M through
      M - 1 (every draw comes before M: a model's maturity is after its draw_until and not before the
      horizon), and to the horizon's end when M lies after the horizon or the bullet is refinanced;
    * interest and scheduled principal are paid in quarter t only on a balance outstanding at the
      end of t - 1 (the opening balance for t = 0): one quarter after the balance.
    """
    debt = np.zeros(T, dtype=bool)
    for fac in facilities:
        debt |= facility_owed(fac, T)
    owed = np.zeros(T, dtype=bool)  # a balance outstanding at the start of the quarter
    owed[0] = any(fac.opening_usd > 0 for fac in facilities)
    owed[1:] = debt[:-1]
    return {"debt": debt, "net_debt": debt.copy(), "interest": owed, "debt_service": owed.copy()}


def facility_owed(fac: FacilityData, T: int) -> np.ndarray:
    """(T,) bool: the quarters at whose end the facility can owe a balance, whatever the plan draws
    (:func:`debt_quantity_quarters`): where a covenant its agreement sets is tested
    (``finance.covenants.tested_while_owed``)."""
    owed = np.zeros(T, dtype=bool)
    borrowed = [(0, True)] if fac.opening_usd > 0 else []
    for start, opening in borrowed + [(tau, False) for tau in fac.draw_quarters]:
        owed[start : _last_outstanding(fac, start, opening, T) + 1] = True
    return owed


def _last_outstanding(fac: FacilityData, start: int, opening: bool, T: int) -> int:
    """The last quarter whose closing balance can hold principal borrowed in ``start`` (``opening``:
    the opening balance), per ``economics.debt.principal_schedule``."""
    if fac.maturity is None:
        n = fac.amortization_quarters
        return n - 2 if opening else start + n - 1
    repaid = 0 <= fac.maturity < T and not fac.refinanced and (opening or start < fac.maturity)
    return fac.maturity - 1 if repaid else T - 1


def power_capex_schedule(site: SiteData, T: int) -> np.ndarray:
    """(T, T) share of a block's capex paid in quarter t (column) when started in tau (row)."""
    out = np.zeros((T, T))
    lead = max(site.lead_time, 1)
    for tau in range(T):
        out[tau, tau : min(T, tau + lead)] = 1.0 / lead
    return out


def capacity_steps(data: ModelData) -> np.ndarray:
    """(I, T) MW by which each site's contracted capacity rises in quarter t (0 in quarter 0 and
    where it stays or falls): what a late powered shell or utility connection holds back."""
    capacity = np.stack([site.capacity_mw for site in data.sites]) if data.sites else np.zeros((0, data.T))
    steps = np.zeros_like(capacity)
    steps[:, 1:] = np.maximum(np.diff(capacity, axis=1), 0.0)
    return steps


def power_online_schedule(site: SiteData, T: int) -> np.ndarray:
    """(T, T) 1 where a block started in tau (row) is online in quarter t (column)."""
    ts = np.arange(T)
    return (ts[None, :] >= ts[:, None] + site.lead_time).astype(np.float64)


def power_depreciation_schedule(site: SiteData, T: int) -> np.ndarray:
    """(T, T) depreciation in quarter t of one block started in tau: straight line from online."""
    age = (np.arange(T)[None, :] - (np.arange(T)[:, None] + site.lead_time)).astype(np.float64)
    life = site.life_quarters
    share = np.clip(age + 1, 0, life) - np.clip(age, 0, life)  # of the life falling in quarter t
    return site.block_capex_usd * share / life


def _site_schedules(site: SiteData, T: int) -> SiteSchedules:
    """A site's power schedules (they depend on the site alone)."""
    depreciation = power_depreciation_schedule(site, T)
    return SiteSchedules(
        site.block_capex_usd * power_capex_schedule(site, T),
        power_online_schedule(site, T),
        depreciation,
        site.block_capex_usd - depreciation.sum(axis=1),
    )


def _cohorts_by_sku_site(cohorts: list[Cohort]) -> dict[tuple[int, int], np.ndarray]:
    """Cohort indices of each (SKU, site), in cohort order."""
    groups: dict[tuple[int, int], list[int]] = {}
    for c in cohorts:
        groups.setdefault((c.sku, c.site), []).append(c.index)
    return {key: np.array(idx, dtype=np.intp) for key, idx in groups.items()}


def _cohort_values(m: PlanningModel, T: int, cohorts: list[Cohort], skus: list) -> dict[str, np.ndarray]:
    """Per cohort and quarter: existence, resale, proceeds, book value, depreciation."""
    C = len(cohorts)
    ts = np.arange(T)
    alive = np.zeros((C, T), dtype=bool)
    resale = np.zeros((C, T))
    proceeds = np.zeros((C, T))
    book = np.zeros((C, T))
    dep = np.zeros((C, T))
    terminal_gross, terminal = np.zeros(C), np.zeros(C)
    terminal_book = np.zeros(C)
    keep = (1.0 - m.retirement.selling_cost_fraction) if m.retirement.resale else 0.0
    max_age = m.retirement.max_age_years
    max_age_q = years_to_quarters(max_age) if max_age is not None else np.inf
    for c in cohorts:
        sku = skus[c.sku]
        life_q = years_to_quarters(sku.useful_life_years)
        age_q = (ts - c.bought).astype(np.float64)
        alive[c.index] = (ts >= max(c.bought, 0)) & (age_q < max_age_q)
        frac = resale_fraction(sku.resale_fraction_by_age_years, quarters_to_years(age_q))
        resale[c.index] = c.capex_per_gpu_usd * frac
        proceeds[c.index] = resale[c.index] * keep
        book[c.index] = c.capex_per_gpu_usd * np.clip(1.0 - age_q / life_q, 0.0, 1.0)
        # the share of the life that falls in quarter t (a life of 5.1 quarters ends with a 0.1 share)
        dep[c.index] = (
            c.capex_per_gpu_usd * (np.clip(age_q + 1, 0, life_q) - np.clip(age_q, 0, life_q)) / life_q
        )
        # at the end of the horizon a GPU is worth what it would fetch if sold then
        end_age = quarters_to_years(T - c.bought)
        terminal_gross[c.index] = (
            c.capex_per_gpu_usd * resale_fraction(sku.resale_fraction_by_age_years, np.array([end_age]))[0]
        )
        terminal[c.index] = terminal_gross[c.index] * keep
        terminal_book[c.index] = c.capex_per_gpu_usd * np.clip(1.0 - (T - c.bought) / life_q, 0.0, 1.0)
        resale[c.index] *= alive[c.index]
    return dict(alive=alive, resale_gross=resale, proceeds=proceeds, book_value=book, depreciation=dep,
                terminal_gross=terminal_gross, terminal_value=terminal,
                terminal_book=terminal_book)  # fmt: skip
