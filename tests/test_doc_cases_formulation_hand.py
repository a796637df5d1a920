r"""`tiny`'s forecast optimum, and a plan changed from it by hand, priced quarter by quarter from
docs/formulation.md (§1, §3, §5.1-§5.12, §6, §7) and docs/model-format.md alone: the model's figures
are read from models/tiny.yaml as a person would read them, and every equation below is the
documents', written here again; nothing is read back from fleetopt's own functions.

The optimum (`fleetopt solve tiny`; its decisions from plan.npz, docs/evaluation.md "Plan files")
buys 250 blocks of B200 (2,000 GPUs) for training in 2026Q3, retires 61.54 of the 9,600 installed
H100 (bought 2024Q1: $b_c=-10$) then and 141.79 more in 2027Q3, moves the B200 to inference for
enterprise-inference in 2027Q1 and prepays the term loan. From those decisions alone:

- revenue by use: $\sum_s p_{u,s,t}\,2{,}190\,\beta\,g_{u,s,t}$, each price the series' value in
  quarter $t$ (2.35 x 0.75^(t/4) for Hopper training); contracts $\pi_k\,2{,}190$ per GPU served
- electricity 55 x 2,190 per MW drawn, drawn MW
  $\sum_s\mu_s(\iota_s\,h_{s,t}+(1-\iota_s)\sum_ua_{u,s,t})$, $\mu$ = kW x PUE / 1000; opex per GPU
  held; 1,500 per GPU redeployed; overhead 5M; no power block is built, so the plant's capex,
  depreciation and book value are 0, as is texas's fixed cost (none given)
- depreciation $\kappa_c/24$ a quarter on the GPUs held during $t$; a retirement at the start of
  $t$ sells at $0.95\,\kappa_c\rho(\alpha_{c,t}/4)$ against the book value $\kappa_c(1-\alpha_{c,t}/24)$
- interest $(3.6\,\% + 4.5\,\%)/4$ on the balance at the end of $t-1$, instalments 200M / 20,
  tax $0.21\max(0,\mathrm{EBT}_t)$, cash by §5.10's row
- NPV $\sum_tDF_t\Delta C_t+DF_7(\sum_cTV_ch_{c,7}-X^E+X_7-D_7)$, $DF_t=1.15^{-(t+1)/4}$:
  -14,109,908.48

The documents' rows hold with the slack they imply: texas's 20 MW are drawn in full in
2026Q3..2027Q2 (9,538.46 H100 = (20 - 2,000 x 2.25e-3) / 1.625e-3), the borrowing base binds in
2026Q3..2028Q1 (it sets the prepayments there), 2027Q3's taxable income is 0 (§6, "Tax at the end"),
the covenants hold from 2026Q4.

The hand plan: one block fewer, 249 blocks (1,992 B200) in 2026Q3. 1,992 B200 cannot deliver
enterprise-inference's 2,000 (§5.4: an optional contract is all or nothing), so it is declined and the
B200 train for the market all along (no redeployment); the prepayments are what the borrowing base
then asks, $D_t=\min(D_{t-1}-S_t,\ 0.7\sum_cR_{c,t}h_{c,t})$; everything else is the optimum's.
By hand: NPV -31,869,185.90, its lowest cash 30,463,812.38 (2026Q3), its DSCR in 2028Q2
16,303,555.88 / 11,643,947.33 = 1.40017 (just within 1.4x). `fleetopt evaluate --deterministic`
must give the same NPV and lowest cash, and the forecast's path (`--scenarios 1 --set risk=null
--explain 0`, docs/cli.md) the same quarters; being feasible, it is worth less than the optimum."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import yaml
from conftest import TINY_PATH, run_cli

MODEL = yaml.safe_load(TINY_PATH.read_text(encoding="utf-8"))
T = MODEL["horizon"]["quarters"]
HOURS = 8760 / 4  # §1
USES = ("training", "inference")
SITE = "texas"  # tiny's one site
FINANCE = MODEL["finance"]
DF = np.array([(1 + MODEL["horizon"]["discount_rate_annual"]) ** (-(t + 1) / 4) for t in range(T)])
ONE_BLOCK_FEWER_NPV = -31_869_185.90


def quarter_index(label: str) -> int:
    """Quarters from the horizon's start (§1): tiny's H100, bought 2024Q1, have $b_c=-10$."""
    start = MODEL["horizon"]["start"]
    return 4 * (int(label[:4]) - int(start[:4])) + int(label[-1]) - int(start[-1])


def series(field, t: int) -> float:
    """docs/model-format.md, "Time series": a number, or `start` grown by (1+g)^(1/4) a quarter."""
    if not isinstance(field, dict):
        return float(field)
    assert not field.get("steps"), "tiny's series have no steps"
    return field["start"] * (1 + field.get("annual_growth", 0.0)) ** (t / 4)


def resale_fraction(sku: str, years: float) -> float:
    r"""§3 $\rho_s(y)$: the list at whole years, linear between them, the last value held after."""
    curve = MODEL["skus"][sku]["resale_fraction_by_age_years"]
    return float(np.interp(years, np.arange(len(curve)), curve))


def market_price(use: str, sku: str, t: int) -> float:
    r"""§3 $p_{u,s,t}$: the SKU's `by_sku` price, else its generation's, else `all`."""
    prices = MODEL["market"]["price_usd_per_gpu_hour"][use]
    by_generation = prices.get(MODEL["skus"][sku]["generation"], prices.get("all"))
    return series(prices.get("by_sku", {}).get(sku, by_generation), t)


def mw_per_gpu(sku: str) -> float:
    return MODEL["skus"][sku]["power_kw_per_gpu"] * MODEL["sites"][SITE]["pue"] / 1000


def kept_share() -> float:
    r"""§3 $\gamma$: 1 - selling cost, 0 without resale."""
    retirement = MODEL.get("retirement", {})
    return (1 - retirement.get("selling_cost_fraction", 0.0)) if retirement.get("resale", True) else 0.0


def read_plan(path) -> dict:
    r"""The first plan of a plan file (docs/evaluation.md, "Plan files": a solve's has the plan axis),
    with its cohorts as (SKU, $b_c$, $\kappa_c$) from their names `SKU@site:quarter bought:GPUs...`."""
    with np.load(path) as archive:
        plan = {name: archive[name] for name in archive.files}
    meta = json.loads(str(plan.pop("__meta__")))
    plan = {name: array[0] for name, array in plan.items()}
    plan["axes"] = meta["axes"]
    plan["cohorts"] = [cohort(name) for name in meta["axes"]["cohorts"]]
    return plan


def cohort(name: str) -> tuple[str, int, float]:
    """An installed cohort's capex is its `fleet` entry's; a purchase's, the SKU's price when bought."""
    sku, bought, *installed = name.split("@")[0], *map(int, name.split(":")[1:])
    if any(installed):
        entry = next(f for f in MODEL["fleet"] if f["sku"] == sku and quarter_index(f["purchased"]) == bought)
        return sku, bought, float(entry["capex_per_gpu_usd"])
    return sku, bought, series(MODEL["skus"][sku]["capex_per_gpu_usd"], bought)


def market_gpus(plan: dict, u: int, s: int, t: int) -> float:
    r"""§4 $g_{u,s,i,t}$: in service less the contracts of that use."""
    contracts = plan["axes"]["contracts"]
    served = sum(
        plan["contract_gpus"][k, s, 0, t]
        for k, name in enumerate(contracts)
        if MODEL["contracts"][name]["use"] == USES[u]
    )
    return plan["active"][u, s, 0, t] - served


def operating_lines(plan: dict, t: int) -> dict:
    """§5.6-§5.7: revenue by use, the costs and EBITDA of quarter t."""
    skus, billed = plan["axes"]["skus"], MODEL["market"]["billed_utilization"]
    line = {
        f"revenue_{use}_market_usd": sum(
            market_price(use, sku, t) * HOURS * billed * market_gpus(plan, u, s, t)
            for s, sku in enumerate(skus)
        )
        for u, use in enumerate(USES)
    }
    for k, name in enumerate(plan["axes"]["contracts"]):
        price = MODEL["contracts"][name]["price_usd_per_gpu_hour"]
        line[f"revenue_contract_{name}_usd"] = price * HOURS * plan["contract_gpus"][k, :, 0, t].sum()
    line["revenue_contracts_usd"] = sum(v for k, v in line.items() if k.startswith("revenue_contract_"))
    line["revenue_usd"] = line["revenue_contracts_usd"] + sum(
        line[f"revenue_{use}_market_usd"] for use in USES
    )
    held = {sku: held_gpus(plan, sku, t) for sku in skus}
    line["mw_used_texas"] = sum(
        mw_per_gpu(sku) * (idle(sku) * held[sku] + (1 - idle(sku)) * plan["active"][:, s, 0, t].sum())
        for s, sku in enumerate(skus)
    )
    line["electricity_usd"] = (
        series(MODEL["sites"][SITE]["electricity_price_usd_per_mwh"], t) * HOURS * line["mw_used_texas"]
    )
    line["gpu_opex_usd"] = sum(MODEL["skus"][sku]["opex_per_gpu_quarter_usd"] * held[sku] for sku in skus)
    line["redeployment_usd"] = MODEL["redeployment"]["cost_per_gpu_usd"] * plan["redeploy"][:, t].sum()
    line["overhead_usd"] = series(FINANCE["overhead_usd_per_quarter"], t)
    line |= power_lines(plan, t)
    costs = ("electricity_usd", "site_fixed_usd", "gpu_opex_usd", "redeployment_usd", "overhead_usd")
    line["ebitda_usd"] = line["revenue_usd"] - sum(line[c] for c in costs)
    line["gpus_held"], line["gpus_in_service"] = sum(held.values()), plan["active"][:, :, 0, t].sum()
    return line


def block_capex() -> float:
    expansion = MODEL["sites"][SITE].get("expansion") or {}
    return expansion.get("block_mw", 0.0) * expansion.get("capex_per_mw_usd", 0.0)


def power_lines(plan: dict, t: int) -> dict:
    """§3's power schedules: a block started in tau is paid evenly over its lead time, online after
    it and depreciated over the plant's life from then; the site's fixed cost is on all MW online."""
    site = MODEL["sites"][SITE]
    line = dict(
        capex_power_usd=0.0,
        depreciation_power_usd=0.0,
        mw_available_texas=series(site["power_capacity_mw"], t),
    )
    expansion = site.get("expansion")
    for tau, blocks in enumerate(plan["build_blocks"][0] if expansion else []):
        lead, life = expansion["lead_time_quarters"], expansion["useful_life_years"] * 4
        age = t - tau - lead
        line["mw_available_texas"] += expansion["block_mw"] * blocks * (age >= 0)
        line["capex_power_usd"] += block_capex() * blocks / max(lead, 1) * (tau <= t < tau + max(lead, 1))
        line["depreciation_power_usd"] += (
            block_capex() * blocks * (np.clip(age + 1, 0, life) - np.clip(age, 0, life)) / life
        )
    line["site_fixed_usd"] = site.get("fixed_cost_per_mw_quarter_usd", 0.0) * line["mw_available_texas"]
    return line


def idle(sku: str) -> float:
    return MODEL["skus"][sku]["idle_power_fraction"]


def held_gpus(plan: dict, sku: str, t: int) -> float:
    return sum(
        plan["held_training"][c, t] + plan["held_inference"][c, t]
        for c, (s, _, _) in enumerate(plan["cohorts"])
        if s == sku
    )


def cohort_lines(plan: dict, t: int) -> dict:
    """§3 cohort values, §5.8 and §5.9's collateral: depreciation on the GPUs held during t, the
    sales at the start of t at their age then, the capex of the quarter's purchases."""
    line = dict.fromkeys(
        (
            "depreciation_gpu_usd",
            "gain_on_disposal_usd",
            "disposal_proceeds_usd",
            "book_value_disposed_usd",
            "collateral_value_usd",
        ),
        0.0,
    )
    for c, (sku, bought, capex) in enumerate(plan["cohorts"]):
        age, life = t - bought, MODEL["skus"][sku]["useful_life_years"] * 4
        held = plan["held_training"][c, t] + plan["held_inference"][c, t]
        retired = plan["retire_training"][c, t] + plan["retire_inference"][c, t]
        book, proceeds = (
            capex * np.clip(1 - age / life, 0, 1),
            kept_share() * capex * resale_fraction(sku, age / 4),
        )
        line["depreciation_gpu_usd"] += (
            capex * (np.clip(age + 1, 0, life) - np.clip(age, 0, life)) / life * held
        )
        line["disposal_proceeds_usd"] += proceeds * retired
        line["book_value_disposed_usd"] += book * retired
        line["gain_on_disposal_usd"] += (proceeds - book) * retired
        line["collateral_value_usd"] += capex * resale_fraction(sku, age / 4) * held
    line["capex_gpu_usd"] = sum(
        MODEL["skus"][sku]["block_size_gpus"]
        * series(MODEL["skus"][sku]["capex_per_gpu_usd"], t)
        * plan["buy_blocks"][s, 0, t]
        for s, sku in enumerate(plan["axes"]["skus"])
    )
    return line


def facility_terms() -> list[dict]:
    """§3 and §5.9 for amortizing facilities: quarterly rate, opening balance, instalment count."""
    terms = []
    for name, f in FINANCE["facilities"].items():
        assert f.get("repayment", "amortizing") == "amortizing", "tiny's loan amortizes"
        terms.append(
            dict(
                name=name,
                spread=f["spread_over_reference_annual"],
                opening=f.get("opening_balance_usd", 0.0),
                n=f["amortization_quarters"],
                ltv=f.get("max_ltv"),
                size=f["size_usd"],
            )
        )
    return terms


def statements(plan: dict) -> pd.DataFrame:
    """Every quarter's lines, rolled forward by §5.9's debt and §5.10's tax and cash rows."""
    rows, cash, balances = [], FINANCE["opening_cash_usd"], [f["opening"] for f in facility_terms()]
    for t in range(T):
        row = operating_lines(plan, t) | cohort_lines(plan, t)
        row |= debt_lines(plan, t, balances)
        ebt = (
            row["ebitda_usd"]
            - row["depreciation_gpu_usd"]
            - row["depreciation_power_usd"]
            + row["gain_on_disposal_usd"]
            - row["interest_usd"]
        )
        row["tax_usd"] = FINANCE.get("tax_rate", 0.0) * max(0.0, ebt)
        row["net_income_usd"], row["ebt"] = ebt - row["tax_usd"], ebt
        flows = (
            row["ebitda_usd"]
            - row["tax_usd"]
            - row["interest_usd"]
            - row["capex_gpu_usd"]
            - row["capex_power_usd"]
            + row["disposal_proceeds_usd"]
        )
        row["equity_cash_flow_usd"] = flows + row["draws_usd"] - row["principal_usd"] - row["prepayment_usd"]
        cash += row["equity_cash_flow_usd"]
        row["cash_usd"] = cash
        rows.append(row)
    return pd.DataFrame(rows)


def debt_lines(plan: dict, t: int, balances: list[float]) -> dict:
    """§5.9: interest on the balance at the end of t-1 at quarter t's rate; the opening balance's
    instalments from t=0, a draw's from the quarter after it. Updates ``balances`` to the end of t."""
    line = dict.fromkeys(
        ("interest_usd", "principal_usd", "prepayment_usd", "draws_usd", "collateral_required_usd"), 0.0
    )
    for f, terms in enumerate(facility_terms()):
        draws = plan["draws"][f]
        due = (terms["opening"] / terms["n"] if t < terms["n"] else 0.0) + sum(
            draws[tau] / terms["n"] for tau in range(t) if t <= tau + terms["n"]
        )
        line["interest_usd"] += (
            (series(FINANCE["reference_rate_annual"], t) + terms["spread"]) / 4 * balances[f]
        )
        line["instalment_cover"] = due - balances[f]
        balances[f] += draws[t] - due - plan["prepay"][f, t]
        line[f"debt_facility_{terms['name']}_usd"] = balances[f]
        line["principal_usd"] += due
        line["prepayment_usd"] += plan["prepay"][f, t]
        line["draws_usd"] += draws[t]
        line["collateral_required_usd"] += balances[f] / terms["ltv"]
    line["debt_usd"] = sum(balances)
    line["debt_service_usd"] = line["interest_usd"] + line["principal_usd"]
    return line


def npv_parts(plan: dict, st: pd.DataFrame) -> dict:
    """§6: the quarters' changes in cash discounted, then the GPUs at resale less the tax their sale
    adds to the last quarter's (§5.10) and the debt, at $DF_{T-1}$."""
    assets = gain = 0.0
    for c, (sku, bought, capex) in enumerate(plan["cohorts"]):
        held = plan["held_training"][c, T - 1] + plan["held_inference"][c, T - 1]
        value = kept_share() * capex * resale_fraction(sku, (T - bought) / 4)
        book = capex * np.clip(1 - (T - bought) / (MODEL["skus"][sku]["useful_life_years"] * 4), 0, 1)
        assets, gain = assets + value * held, gain + (value - book) * held
    last_ebt, rate = st["ebt"].iloc[-1], FINANCE.get("tax_rate", 0.0)
    liquidation_tax = rate * max(0.0, last_ebt + gain) - rate * max(0.0, last_ebt)
    quarters = float(DF @ st["equity_cash_flow_usd"])
    assets += block_capex() * plan["build_blocks"].sum() - st["depreciation_power_usd"].sum()  # plant at book
    terminal = DF[-1] * (assets - liquidation_tax - st["debt_usd"].iloc[-1])
    return dict(
        npv_usd=quarters + terminal,
        npv_quarters_usd=quarters,
        npv_terminal_usd=terminal,
        terminal_assets_usd=assets,
        liquidation_tax_usd=liquidation_tax,
        debt_end_usd=st["debt_usd"].iloc[-1],
    )


def row_slacks(plan: dict, st: pd.DataFrame) -> dict[str, np.ndarray]:
    """Each documented row as right side less left side, one value a quarter (§5.4-§5.12)."""
    covenants, tested = FINANCE["covenants"], np.arange(T) >= quarter_index(FINANCE["covenants"]["test_from"])
    demand = {
        use: np.array([series(MODEL["market"]["demand_gpus"][use], t) for t in range(T)]) for use in USES
    }
    served = {
        use: np.array(
            [
                sum(
                    MODEL["skus"][sku][f"{use}_throughput"] * market_gpus(plan, u, s, t)
                    for s, sku in enumerate(plan["axes"]["skus"])
                )
                for t in range(T)
            ]
        )
        for u, use in enumerate(USES)
    }
    untested = np.where(tested, 0.0, np.inf)
    return {
        "power": (st["mw_available_texas"] - st["mw_used_texas"]).to_numpy(),
        "demand training": demand["training"] - served["training"],
        "demand inference": demand["inference"] - served["inference"],
        "borrowing base": (st["collateral_value_usd"] - st["collateral_required_usd"]).to_numpy(),
        "min cash": st["cash_usd"].to_numpy() - FINANCE["min_cash_usd"],
        "instalment cover": -st["instalment_cover"].to_numpy(),
        "leverage": (4 * covenants["max_debt_to_ebitda"] * st["ebitda_usd"] - st["debt_usd"]).to_numpy()
        + untested,
        "dscr": (st["ebitda_usd"] - covenants["min_dscr"] * st["debt_service_usd"]).to_numpy() + untested,
        "liquidity": st["cash_usd"].to_numpy() - covenants["min_liquidity_usd"] + untested,
    }


def contract_rows_hold(plan: dict, st: pd.DataFrame) -> None:
    """§5.4 (an accepted contract delivered whole in its term, none outside it) and §5.12."""
    for k, name in enumerate(plan["axes"]["contracts"]):
        c = MODEL["contracts"][name]
        first = quarter_index(c["start"])
        term = np.arange(T) >= first
        term &= np.arange(T) <= min(T - 1, first + c["term_quarters"] - 1)
        delivered = plan["contract_gpus"][k, :, 0, :].sum(axis=0)
        assert delivered == pytest.approx(np.where(term, c["gpus"] * plan["accepted"][k], 0.0), abs=1e-6), (
            name
        )
    share = MODEL["limits"]["max_customer_revenue_share"]
    for customer in {c["customer"] for c in MODEL["contracts"].values()}:
        earned = sum(
            st[f"revenue_contract_{n}_usd"].sum()
            for n, c in MODEL["contracts"].items()
            if c["customer"] == customer
        )
        assert earned <= share * st["revenue_usd"].sum(), customer


STATEMENT_COLUMNS = [
    "revenue_training_market_usd",
    "revenue_inference_market_usd",
    "revenue_contract_lab-a-training_usd",
    "revenue_contract_enterprise-inference_usd",
    "revenue_contracts_usd",
    "revenue_usd",
    "electricity_usd",
    "site_fixed_usd",
    "gpu_opex_usd",
    "redeployment_usd",
    "overhead_usd",
    "ebitda_usd",
    "depreciation_gpu_usd",
    "depreciation_power_usd",
    "gain_on_disposal_usd",
    "capex_gpu_usd",
    "capex_power_usd",
    "disposal_proceeds_usd",
    "book_value_disposed_usd",
    "mw_used_texas",
    "mw_available_texas",
    "gpus_held",
    "gpus_in_service",
    "collateral_value_usd",
    "collateral_required_usd",
    "interest_usd",
    "principal_usd",
    "prepayment_usd",
    "draws_usd",
    "tax_usd",
    "net_income_usd",
    "cash_usd",
    "debt_usd",
    "debt_facility_gpu-term-loan_usd",
    "debt_service_usd",
    "equity_cash_flow_usd",
]


def test_every_quarter_of_the_optimum_is_the_documents_arithmetic(solve_run):
    hand = statements(read_plan(solve_run / "plan.npz"))
    written = pd.read_csv(solve_run / "statements.csv")
    assert list(written["quarter"]) == [
        "2026Q3",
        "2026Q4",
        "2027Q1",
        "2027Q2",
        "2027Q3",
        "2027Q4",
        "2028Q1",
        "2028Q2",
    ]
    for column in STATEMENT_COLUMNS:
        assert written[column].to_numpy() == pytest.approx(hand[column].to_numpy(), rel=1e-9, abs=1e-3), (
            column
        )


def test_the_optimum_npv_and_its_parts_are_the_documents(solve_run):
    plan = read_plan(solve_run / "plan.npz")
    st = statements(plan)
    summary = json.loads((solve_run / "summary.json").read_text())
    hand = npv_parts(plan, st)
    for field, value in hand.items():
        assert summary[field] == pytest.approx(value, rel=1e-6, abs=1e-6), field
    assert summary["objective_usd"] == pytest.approx(hand["npv_usd"], rel=1e-6)
    assert hand["npv_usd"] == pytest.approx(-14_109_908.48, abs=0.01)
    credit = float(st["equity_cash_flow_usd"] @ (DF - DF[-1]))  # §7's cash_timing_credit_usd
    assert summary["cash_timing_credit_usd"] == pytest.approx(credit, rel=1e-6)


def test_the_optimum_meets_each_row_with_the_slack_the_documents_imply(solve_run):
    plan = read_plan(solve_run / "plan.npz")
    st = statements(plan)
    slack = row_slacks(plan, st)
    for row, values in slack.items():
        assert values.min() >= -1e-6, row
    assert slack["power"][:4] == pytest.approx(0.0, abs=1e-9)  # 2026Q3..2027Q2 drawn in full
    h100_in_service = (20 - 2000 * mw_per_gpu("B200")) / mw_per_gpu("H100")
    assert plan["active"][0, 0, 0, :4] == pytest.approx(np.full(4, h100_in_service))
    assert slack["borrowing base"][:7] == pytest.approx(0.0, abs=1e-3)  # sets 2026Q3..2028Q1's prepayments
    assert slack["borrowing base"][7] > 7e6
    assert st["ebt"][4] == pytest.approx(0.0, abs=1e-3)  # §6: the 141.8 H100 sold in 2027Q3
    contract_rows_hold(plan, st)
    summary = json.loads((solve_run / "summary.json").read_text())
    dscr = (st["ebitda_usd"] / st["debt_service_usd"])[1:]
    assert summary["min_dscr"] == pytest.approx(dscr.min(), rel=1e-9)
    assert summary["covenant_headroom"]["dscr"] == pytest.approx(dscr.min() / 1.4 - 1, rel=1e-9)
    assert summary["min_liquidity_usd"] == pytest.approx(st["cash_usd"].min(), rel=1e-9)


def one_block_fewer(plan_file, out) -> None:
    """The optimum with 249 B200 blocks in 2026Q3, enterprise-inference declined, the B200 on
    training throughout, and the prepayments the borrowing base then asks."""
    with np.load(plan_file) as archive:
        arrays = {name: archive[name].copy() for name in archive.files}
    plan = read_plan(plan_file)
    b200 = plan["axes"]["cohorts"].index("B200@texas:0:0:0")
    arrays["buy_blocks"][0, 1, 0, 0] = 249
    arrays["held_training"][0, b200], arrays["held_inference"][0, b200], arrays["redeploy"][0, b200] = (
        1992,
        0,
        0,
    )
    arrays["active"][0, 0, 1, 0], arrays["active"][0, 1, 1, 0] = 1992, 0
    arrays["contract_gpus"][0, 1], arrays["accepted"][0, 1] = 0, 0
    np.savez(out, **arrays)
    arrays["prepay"][0, 0] = base_prepayments(read_plan(out))
    meta = json.loads(str(arrays["__meta__"])) | {"labels": ["one block fewer"]}
    arrays["__meta__"] = np.array(json.dumps(meta))
    np.savez(out, **arrays)


def base_prepayments(plan: dict) -> np.ndarray:
    r"""$p_t=\max(0,\ D_{t-1}-S_t-0.7\sum_cR_{c,t}h_{c,t})$: what §5.9's borrowing base asks, no draw."""
    (terms,) = facility_terms()
    balance, prepay = terms["opening"], np.zeros(T)
    for t in range(T):
        kept = balance - terms["opening"] / terms["n"]
        prepay[t] = max(0.0, kept - terms["ltv"] * cohort_lines(plan, t)["collateral_value_usd"])
        balance = kept - prepay[t]
    return prepay


def test_one_block_fewer_evaluated_on_the_forecast_is_the_documents_arithmetic(solve_run, tmp_path):
    one_block_fewer(solve_run / "plan.npz", tmp_path / "fewer.npz")
    plan = read_plan(tmp_path / "fewer.npz")
    st = statements(plan)
    hand = npv_parts(plan, st)
    assert hand["npv_usd"] == pytest.approx(ONE_BLOCK_FEWER_NPV, abs=0.01)
    assert hand["npv_usd"] < json.loads((solve_run / "summary.json").read_text())["npv_usd"]
    slack = row_slacks(plan, st)
    assert all(values.min() >= -1e-6 for values in slack.values())
    assert slack["dscr"][-1] == pytest.approx(2_029.61, abs=0.01)  # 1.40017x in 2028Q2
    contract_rows_hold(plan, st)

    code, out, err = run_cli(
        "evaluate", "--plans", str(tmp_path / "fewer.npz"), "--deterministic", "--out", str(tmp_path / "det")
    )
    assert code == 0, out + err
    metrics = pd.read_csv(tmp_path / "det" / "metrics.csv").iloc[0]
    assert metrics["npv_mean_usd"] == pytest.approx(hand["npv_usd"], rel=1e-6)
    assert metrics["expected_min_cash_usd"] == pytest.approx(st["cash_usd"].min(), rel=1e-9)
    assert metrics["breach_probability"] == 0.0

    code, out, err = run_cli(
        "evaluate",
        "--plans",
        str(tmp_path / "fewer.npz"),
        "--scenarios",
        "1",
        "--set",
        "risk=null",
        "--explain",
        "0",
        "--out",
        str(tmp_path / "path"),
    )
    assert code == 0, out + err
    path = pd.read_csv(tmp_path / "path" / "path.csv")
    same = {
        "revenue_usd": "revenue_usd",
        "revenue_contracted_usd": "revenue_contracts_usd",
        "ebitda_usd": "ebitda_usd",
        "electricity_usd": "electricity_usd",
        "capex_usd": "capex_gpu_usd",
        "interest_usd": "interest_usd",
        "principal_usd": "principal_usd",
        "prepayment_usd": "prepayment_usd",
        "tax_usd": "tax_usd",
        "net_income_usd": "net_income_usd",
        "cash_usd": "cash_usd",
        "debt_usd": "debt_usd",
        "disposal_proceeds_usd": "disposal_proceeds_usd",
        "depreciation_usd": "depreciation_gpu_usd",
        "gain_on_disposal_usd": "gain_on_disposal_usd",
        "collateral_value_usd": "collateral_value_usd",
    }
    for column, line in same.items():
        assert path[column].to_numpy() == pytest.approx(st[line].to_numpy(), rel=1e-9, abs=1e-3), column
