"""The stress forecasts whose optima are sweep candidates (:func:`all_stresses`): the default stresses,
the collateral haircut drawn from the resale factor, half leverage, and the robustness requirement
(a lost customer and late power) a second built model must survive."""

from __future__ import annotations

import numpy as np

from fleetopt.core.data import ModelData
from fleetopt.core.quarters import QUARTERS_PER_YEAR
from fleetopt.core.units import (
    format_percent,
    format_rate,
)
from fleetopt.evaluate.factors import draw_resale_factor
from fleetopt.milp.persistent import Stress
from fleetopt.schema.risk import Robustness


def default_stresses(data: ModelData) -> list[Stress]:
    """A price shock, late power, a lost anchor customer (the customer of the largest signed
    revenue, its signed contracts lost; none without signed contracts), a demand slump and a
    haircut on the borrowing base's collateral, sized from `risk`."""
    risk = data.risk
    T = data.T
    out = []
    drop = risk.self_competition.price_drop_max if risk.self_competition else 0.3
    price = np.ones((2, T))
    price[:, min(2, T - 1) :] = 1.0 - drop
    out.append(
        Stress(
            "stress: price shock", price_scale=price,
            description=f"market prices -{format_rate(drop)} from quarter 3",  # as the model gives it
        )
    )
    delay = (
        risk.power_delay.max_extra_quarters if risk.power_delay and risk.power_delay.max_extra_quarters else 4
    )
    out.append(
        Stress(
            "stress: late power",
            power_delay_quarters={i: delay for i in range(data.I)},
            description=f"every power expansion and utility step {delay} quarters late",
        )
    )
    revenue: dict[str, float] = {}  # the signed book by customer: an offer not taken is no loss
    for con in (c for c in data.contracts if c.signed):
        quarters = con.end - con.start + 1
        revenue[con.customer] = (
            revenue.get(con.customer, 0.0) + con.gpus * con.price_usd_per_gpu_hour * quarters
        )
    if revenue:
        anchor = max(revenue, key=revenue.get)
        lost = tuple(k for k, con in enumerate(data.contracts) if con.customer == anchor and con.signed)
        out.append(
            Stress("stress: lost anchor customer", contracts_lost=lost, description=f"{anchor} walks away")
        )
    out.append(
        Stress("stress: demand slump", demand_scale=np.full((2, T), 0.7), description="market demand -30%")
    )
    haircut = collateral_haircut(data)
    if haircut > 0:
        out.append(
            Stress(
                "stress: collateral haircut", collateral_scale=1.0 - haircut,
                description=f"the borrowing base values the GPUs {format_percent(haircut)} below forecast "
                            "resale values",
            )
        )  # fmt: skip
    return out


# the standard normal's 95 % quantile: the collateral haircut is the resale factor's 5 % quantile
Z_95 = 1.6448536269514722

# the draws of the resale factor whose 5 % quantile is the haircut where resale values follow prices
# (a standard error of about 0.1 point at a year's log spread of 0.2), and their seed
HAIRCUT_DRAWS, HAIRCUT_SEED = 100_000, 0


def collateral_haircut(data: ModelData) -> float:
    """The fall of GPU resale values a plan's borrowing base should survive: one minus the 5 %
    quantile after one year of the evaluator's resale factor. On the resale walk alone,
    lognormal, exp(-z σ - σ² / 2) with σ = `risk.resale_value_volatility_annual` (0.20: 29.5 %);
    tied to rental prices (`risk.resale_swing_share`), not lognormal (the self-competition fall, and
    the falls after customers' defaults where `customer_default_price_impact` sets them), so
    the quantile of :data:`HAIRCUT_DRAWS` of the factor itself, at the horizon's last quarter where
    the horizon is shorter than a year (the walk's σ alone would miss the prices' part); so too with a
    `risk.resale_shock` (the factor's fall, where it comes within the year). 0 without a GPU-secured
    facility or resale risk."""
    if not any(f.max_ltv for f in data.facilities):
        return 0.0
    if data.risk.resale_swing_share is not None or data.risk.resale_shock is not None:
        year = min(QUARTERS_PER_YEAR, data.T - 1)
        drawn = draw_resale_factor(data, HAIRCUT_SEED, np.arange(HAIRCUT_DRAWS))[:, year]
        return float(max(0.0, 1.0 - np.quantile(drawn, 0.05)))
    vol = data.risk.resale_value_volatility_annual
    if vol <= 0:
        return 0.0
    return float(1.0 - np.exp(-Z_95 * vol - vol * vol / 2.0))


# A robustness requirement can be impossible, and proving it can take HiGHS minutes (the default
# model's lost-anchor case took 8): the sweep gives the robust candidate this long, then drops it
# with its status like any other candidate without a plan.
ROBUST_SOLVE_SECONDS = 60.0


def robust_requirement(data: ModelData) -> tuple[str, Robustness, str] | None:
    """(label, requirement, what it asks) for the forecast optimum that must also survive the loss
    of any one customer and strand no GPU if power is as late as `risk` allows; added to the
    model's own `robustness` block, if it has one. None when there is neither to guard against.

    On the default model this plan gave up 7 % of the forecast NPV and raised the mean NPV over
    2,000 scenarios from $1.7B to $7.9B (liquidity defaults 92 % -> 46 %); a further 10 % price
    drop made it worse on both (docs/formulation.md §5.13)."""
    risk, own = data.risk, data.robustness
    fields = own.model_dump() if own is not None else {}
    delay = (
        risk.power_delay.max_extra_quarters if risk.power_delay and risk.power_delay.probability > 0 else 0
    )
    delay = (
        max(delay, fields.get("power_delay_quarters", 0)) if any(s.build_quarters for s in data.sites) else 0
    )
    what, label = [], []
    if data.contracts:
        fields["lose_any_customer"] = True
        what.append("cash and covenants hold if any one customer walks away")
        label.append("survives any customer lost")
    if delay:
        fields["power_delay_quarters"] = delay
        what.append(f"no GPU waits for power if every block is {delay} quarters late")
        label.append(f"power {delay}q late-proof")
    if not what:
        return None
    return "milp: " + ", ".join(label), Robustness(**fields), "; ".join(what)


# lower leverage: the forecast optimum with half the undrawn debt available
HALF_LEVERAGE = Stress(
    "stress: half leverage", leverage_scale=0.5, description="half of each facility's undrawn size"
)


def all_stresses(data: ModelData, objective: str = "npv") -> list[Stress]:
    """The stresses whose optima are candidates, in the order they are made; for plans solved for least
    cost (``objective`` "cost"), the demand raised first (:func:`demand_up_stresses`) and no price
    shock: market prices are no cost of a lab's (formulation §6, "Cost"), so its optimum is the
    forecast's."""
    if objective == "cost":
        kept = [stress for stress in default_stresses(data) if stress.price_scale is None]
        return [*demand_up_stresses(data), *kept, HALF_LEVERAGE]
    return [*default_stresses(data), HALF_LEVERAGE]


# a cost sweep's spare capacity: the demand a plan solved for least cost is made to meet, raised
DEMAND_UP_SCALES = (1.25, 1.5)


def demand_up_stresses(data: ModelData) -> list[Stress]:
    """The forecast's market demand raised by each of :data:`DEMAND_UP_SCALES`: a plan solved for least
    cost meets the forecast's demand exactly, and these hold spare capacity for more (formulation §6,
    "Spare capacity")."""
    return [Stress(f"stress: demand +{format_rate(scale - 1)}", demand_scale=np.full((2, data.T), scale),
                   description=f"market demand +{format_rate(scale - 1)}: spare capacity")
            for scale in DEMAND_UP_SCALES]  # fmt: skip


def stress_named(data: ModelData, label: str) -> Stress | None:
    """The stress whose optimum is the candidate ``label`` (of an NPV sweep or a cost sweep), None where
    it is none's."""
    known = [*all_stresses(data), *demand_up_stresses(data)]
    return next((stress for stress in known if stress_label(stress) == label), None)


def stress_label(stress: Stress) -> str:
    return f"milp: {stress.name[len('stress: ') :]}"

