"""The scenario generator's settings in words: what `fleetopt validate` says of a model's risk block
and what a report says its scenarios drew (its Provenance)."""

from __future__ import annotations

from fleetopt.core.data import ModelData
from fleetopt.core.units import counted, format_rate
from fleetopt.evaluate.factors import slipping_skus


def _slip_text(slip, slipping: list[str]) -> str:
    """'deliveries of SKUs not yet shipping (VR-NVL72, RU-NVL576) late 100%, by 2 quarters': the SKUs
    that slip (``slipping``, docs/evaluation.md, "Delivery slips"), named or by default; where none
    does (every one on sale when the horizon starts, installed, or first on sale after its last
    quarter: schema/model.py ``never_slipping``), that the slip moves nothing."""
    if not slipping:
        return ("no delivery slips: risk.delivery_slip moves no SKU of this model (each it would slip is on "
                "sale when the horizon starts, installed, or first on sale after its last "
                "quarter)")  # fmt: skip
    which = f" ({', '.join(slipping)})"
    low, high = slip.min_quarters, slip.max_quarters
    by = counted(high, "quarter") if low == high else f"{low} to {high} quarters"
    chance = format_rate(slip.probability)
    return f"deliveries of SKUs not yet shipping{which} late (chance {chance}, by {by})"


def risk_words(data: ModelData) -> str:
    """The scenario generator's factors that move (docs/evaluation.md), each in a few words, from the
    model's ``risk`` block (its contracts' customers, rated or not, and the SKUs that slip)."""
    risk, customers = data.risk, set(data.customers)
    parts = []
    if risk.price_volatility_annual:
        across = f"correlation across generations {risk.price_correlation_across_generations:g}"
        if (half_life := risk.price_mean_reversion_half_life_quarters) is not None:
            quarters = f"{half_life:g} quarter{'' if half_life == 1 else 's'}"
            across += f"; reverting to the forecast, half-life {quarters}"
        else:  # said, not left to the missing clause: a walk's report read as the default model's
            across += "; a random walk, never reverting"
        parts.append(f"prices {format_rate(risk.price_volatility_annual)}/sqrt(year) ({across})")
    if risk.price_trend_volatility_annual:
        slope = format_rate(risk.price_trend_volatility_annual)
        loading = risk.cycle_loading("trend_loading")
        tied = (f"; correlation {loading:g} with the AI cycle's level as it stands each quarter" if loading
                else "")
        parts.append(f"prices' slope uncertain ({slope}/year faster or slower per standard deviation{tied})")
    if risk.demand_volatility_annual:
        parts.append(f"demand {format_rate(risk.demand_volatility_annual)}/sqrt(year)")
    if risk.new_generation_price_step:
        step = format_rate(risk.new_generation_price_step)
        parts.append(f"prices step down {step} at a newer generation's release")
    if risk.self_competition and risk.self_competition.probability_per_quarter:
        shock = risk.self_competition
        drops = f"prices -{format_rate(shock.price_drop_min)} to -{format_rate(shock.price_drop_max)}"
        sold = format_rate(shock.probability_per_quarter)
        # a chance, not a share of capacity: "sold 8%/quarter" read as 8 % of it sold each quarter
        parts.append(f"hyperscalers' spare capacity sold (chance {sold} a quarter, once at most; {drops})")
    hazard = f"{format_rate(risk.customer_default_hazard_per_quarter)}/quarter"
    if risk.customer_ratings:
        rated = counted(len(risk.customer_ratings), "customer")
        others = f", {hazard} for the others" if customers - set(risk.customer_ratings) else ""
        parts.append(f"customer defaults by credit rating for {rated}{others}")
    elif risk.customer_default_hazard_per_quarter:
        parts.append(f"customer defaults {hazard}")
    if placed := [f"{name} by {quarter}" for name, quarter in risk.customer_default_quarter.items()]:
        parts.append(f"customer defaults placed in every future ({', '.join(placed)})")
    if cuts := _scale_back_words(risk):
        parts.append(f"contracts scaled back ({cuts})")
    if falls := [f"{name} -{format_rate(f)}" for name, f in risk.customer_default_price_impact.items() if f]:
        fallen = "market prices and resale values" if risk.resale_swing_share is not None else "market prices"
        parts.append(f"{fallen} fall for good at a customer's default ({', '.join(falls)})")
    if risk.power_delay and (risk.power_delay.probability or risk.power_delay.contracted_probability):
        delay = risk.power_delay
        late = counted(delay.max_extra_quarters, "quarter")
        parts.append(f"late power (chance {format_rate(delay.probability)} per block started, up to {late} "
                     f"late; contracted capacity: chance {format_rate(delay.contracted_probability)} "
                     "per increase)")  # fmt: skip
    loading = risk.resale_price_loading
    with_prices = f" (loading {loading:g} on the prices' common shock)" if loading else ""
    resale = risk.resale_value_volatility_annual
    if (share := risk.resale_swing_share) is not None:  # docs/evaluation.md, "From the draws to the factors"
        with_prices = " of their own on top"
        parts.append("resale values follow rental prices as a used GPU's rents do (the prices' lasting "
                     f"falls in full, their common swing to the power {share:g})")  # fmt: skip
    for name, value, bp, note in (("reference rate", risk.reference_rate_volatility_annual, True, ""),
                                  ("electricity", risk.electricity_price_volatility_annual, False, ""),
                                  ("resale values", resale, False, with_prices)):  # fmt: skip
        if value:
            parts.append(f"{name} {f'{value * 1e4:.0f}bp' if bp else format_rate(value)}/sqrt(year){note}")
    if (shock := risk.resale_shock) is not None and shock.value_drop and shock.probability:
        chance = "in every future" if shock.probability == 1 else f"chance {format_rate(shock.probability)}"
        start, drop = shock.from_quarter or data.quarter_labels[0], format_rate(shock.value_drop)
        parts.append(f"resale values {drop} below their curves from {start} ({chance})")
    if risk.ai_cycle:
        parts.append("a common AI-cycle factor")
    if risk.delivery_slip and risk.delivery_slip.probability:
        parts.append(_slip_text(risk.delivery_slip, [data.sku_names[s] for s in slipping_skus(data)]))
    if not parts:
        return "none: every scenario is the forecast"
    return "; ".join(parts) + ("" if risk.mean_one else "; shocks on top of the forecast (mean_one: false)")


def _scale_back_words(risk) -> str:
    """Each cut of ``risk.contract_scale_back`` that changes something: "lab-a-training to 60% from
    2027Q3 (chance 30%)", "in every future" where certain; '' where none."""
    said = []
    for name, cut in risk.contract_scale_back.items():
        if cut.share_kept < 1 and cut.probability:
            chance = "in every future" if cut.probability == 1 else f"chance {format_rate(cut.probability)}"
            said.append(f"{name} to {format_rate(cut.share_kept)} from {cut.from_quarter} ({chance})")
    return ", ".join(said)
