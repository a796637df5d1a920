"""The plan's decisions and books: its decisions besides purchases, the GPUs it buys and its orders,
its debt by facility, the forecast run with its policy and its quarterly statements."""

from __future__ import annotations

from collections.abc import Callable
from html import escape

import numpy as np
import pandas as pd

from fleetopt.core.covenants import CATALOGUE, CovenantTest, statement_quantities
from fleetopt.core.data import ModelData
from fleetopt.core.plan import Plan
from fleetopt.core.results.covenant_words import ratio_words, share_words
from fleetopt.core.results.customers import contract_rows
from fleetopt.core.results.fleet import POWER_BUILT_LABEL, power_built_mw_by_site
from fleetopt.core.results.tables import DEBT_TERMS, debt_frame, orders_frame, purchases_and_capex_words
from fleetopt.core.units import counted, format_mw, format_rate, format_times, format_usd, whole_count
from fleetopt.report.debt_maturity import AFTER_HORIZON, ALL_FACILITIES, maturity_frame
from fleetopt.report.definitions import DEBT_SERVICE_MEANS
from fleetopt.report.markup import scroll_hint, sortable_table
from fleetopt.report.reading import ReportRun, buffer_words

STATEMENT_COLUMNS = [
    "quarter",
    "revenue_usd",
    "revenue_contracts_usd",
    "ebitda_usd",
    "tax_usd",
    "capex_gpu_usd",
    "capex_power_usd",
    "disposal_proceeds_usd",
    "contract_payments_usd",
    "interest_usd",
    "principal_usd",
    "prepayment_usd",
    "draws_usd",
    "cash_usd",
    "debt_usd",
    # what the debt stands against: the GPUs' resale value (a lender's loan-to-value, whole company)
    "fleet_resale_value_usd",
]


# a model with no contracts (a lab's own demand) has them at $0 in every quarter: left out
CONTRACT_COLUMNS = ("revenue_contracts_usd", "contract_payments_usd")


def _cash_identity(contracts: bool) -> str:
    """The statements' cash identity in the columns' words (docs/formulation.md §7, statements.csv),
    with the customer payments only of a model with contracts."""
    paid = "disposal proceeds, customer payments and facility draws" if contracts else (
        "disposal proceeds and facility draws")
    return (f"Cash at a quarter's end is the previous quarter's (the opening cash before the first) plus "
            f"EBITDA, {paid}, less tax, GPU and power capex, interest, scheduled principal and debt prepaid."
            + (" Customer payments are contract prepayments: received as cash when a contract starts, then "
               "negative each quarter of its term by the share of revenue they paid for in advance (that "
               "revenue is in EBITDA, its cash came earlier)." if contracts else ""))  # fmt: skip


# the forecast run's lines (the evaluator records no revenue or capex)
RUN_COLUMNS = ["quarter", "ebitda_usd", "interest_usd", "principal_usd", "prepayment_usd", "draws_usd",
               "tax_usd", "cash_usd", "revolver_balance_usd", "debt_usd"]  # fmt: skip


ORDER_HEADERS = {"quarter": "quarter", "sku": "SKU", "site": "site", "blocks": "blocks", "gpus": "GPUs",
                 "capex_usd": "capex (USD)"}  # fmt: skip


def purchases_and_statements_sections(run: ReportRun) -> list[str]:
    buys = purchases_and_capex_words(run.data, run.plans[run.focus[0]].buy_blocks)
    columns = [c for c in STATEMENT_COLUMNS if run.data.contracts or c not in CONTRACT_COLUMNS]
    frame = run.statements.frame(run.data.quarter_labels)[columns]
    label = escape(run.main_label)
    orders = orders_frame(run.data, run.plans[run.focus[0]])
    out = [
        _decisions_section(run),
        f"<h2>GPUs bought by generation and year: {label}</h2>"
        + sortable_table(buys, figure_cols=set(buys.columns[1:])),
    ]
    if not orders.empty:  # what a capacity team places: each order, and what it costs
        out.append(f"<h2>Orders of {label}: quarter, SKU and site</h2>"
                   + sortable_table(orders, money_cols={"capex_usd"}, count_cols={"blocks", "gpus"},
                            headers=ORDER_HEADERS))  # fmt: skip
    out.append(_debt_section(run))
    out.append(_covenant_quarters_section(run))
    if run.milp_only:
        out.append(_forecast_run_table(run))
        title = f"MILP statements of {label}, as planned (USD)"
    else:
        title = f"Quarterly statements of {label} on the forecast (USD)"
    opening = (f"Opening cash {format_usd(run.data.opening_cash)}, opening debt "
               f"{format_usd(sum(f.opening_usd for f in run.data.facilities))}. {_cash_identity(bool(run.data.contracts))} "
               f"{_cash_in_the_npv(run.data, run.plans[run.focus[0]], run.solved_for_cost)} "
               f"{_debt_over_fleet_words(run)}")  # fmt: skip
    out.append(
        f"<h2>{title}</h2><p class='cap'>{escape(opening)}</p>{scroll_hint(len(frame.columns))}"
        + sortable_table(frame, money_cols=set(columns[1:]), headers=STATEMENT_HEADERS, fit=True)
    )
    return out


INTEREST_COVER = next(kind for kind in CATALOGUE if kind.name == "interest_coverage")


def _covenant_quarters_section(run: ReportRun) -> str:
    """Each covenant's ratio in every quarter of the MILP's statements, marked where it is not tested or
    is breached, with the interest cover beside them where it is no covenant: a lender follows the
    headroom quarter by quarter, where the key figures gave only each test's tightest quarter ('' for a
    model with no covenant)."""
    data = run.data
    if not data.covenants:
        return ""
    quantities = statement_quantities(run.statements.lines, data.covenant_window)
    columns = {"quarter": data.quarter_labels}
    for test in data.covenants:
        columns[_covenant_header(test)] = _covenant_cells(test, quantities)
    if not any(test.kind.name == INTEREST_COVER.name for test in data.covenants):
        cover = INTEREST_COVER.ratio(quantities)
        columns[f"{INTEREST_COVER.label} (interest cover, no covenant)"] = [format_times(v) for v in cover]
    frame = pd.DataFrame(columns)
    planned = " (MILP statements, as planned)" if run.milp_only else " (MILP statements)"
    title = f"Covenant tests by quarter of {escape(run.main_label)} on the forecast{planned}"
    return (f"<h2>{title}</h2><p class='cap'>{escape(_covenant_quarters_caption(data))}</p>"
            + scroll_hint(len(frame.columns))
            + sortable_table(frame, figure_cols=set(frame.columns[1:]), fit=True))  # fmt: skip


def _covenant_header(test: CovenantTest) -> str:
    """A covenant's column header: its test as a lender writes it, the borrowing base as the share of
    the GPUs' resale value its GPU-secured balances need."""
    if test.kind.facility_test:
        return f"{test.kind.ratio_name} <= 100%"
    return test.describe()


def _covenant_cells(test: CovenantTest, quantities: dict[str, np.ndarray]) -> list[str]:
    """A covenant's figure in each quarter (a ratio, a share or cash in USD), marked 'not tested'
    outside its tested quarters (and 'would breach' where it misses it there) and 'breached' where a
    tested quarter misses it."""
    kind = test.kind
    values = kind.ratio(quantities)
    missed = test.breached(quantities)
    cells = []
    for t, value in enumerate(values):
        if kind.denominator is None:
            shown = format_usd(float(value))
        elif kind.is_share:
            shown = share_words(float(value), test.threshold)
        else:
            shown = ratio_words(kind, float(value), test.threshold)
        if not test.tested[t]:
            shown += " (not tested; would breach)" if missed[t] else " (not tested)"
        elif missed[t]:
            shown += " (breached)"
        cells.append(shown)
    return cells


def _covenant_quarters_caption(data: ModelData) -> str:
    """What the covenant table's figures are: their basis, the debt service, and what its marks mean."""
    basis = ("each quarter's own EBITDA (annualised, x4, for leverage)" if data.covenant_window == 1 else
             f"the averages of the last {data.covenant_window} quarters' EBITDA, debt service and interest "
             "(annualised, x4, for leverage)")  # fmt: skip
    return ("Each covenant as the model tests it, in every quarter of the plan's statements on the forecast: "
            f"on {basis}; debt and cash at the quarter's end; the borrowing base, "
            "the GPU-secured balances each divided by its facility's max LTV, as a share of the whole "
            "fleet's gross resale value. 'not tested': a quarter the covenant is not tested in (before "
            "finance.covenants.test_from, a grace the model assumes, not one a lender gave, or where its "
            "facility owes nothing), 'would breach' where the figure misses the limit there; 'breached': "
            "a tested quarter that misses it by more than $1. "
            "'unbounded': no debt service (or interest) to divide by. The key figures give each "
            "covenant's tightest quarter and how far EBITDA, collateral or cash may fall there. "
            + DEBT_SERVICE_MEANS)


def _debt_over_fleet_words(run: ReportRun) -> str:
    """How the debt stands to the GPUs' resale value on the forecast, quarter by quarter: the
    quarters where it exceeds it and its highest multiple ('' without debt)."""
    debt, fleet = run.statements.lines["debt_usd"], run.statements.lines["fleet_resale_value_usd"]
    if not (debt > 0).any():
        return ""
    # no GPUs: infinitely many times their value where there is debt, none where there is none
    ratio = np.where(fleet > 0, debt / np.where(fleet > 0, fleet, 1.0), np.where(debt > 0, np.inf, 0.0))
    top = int(np.argmax(ratio))
    over = int((debt > fleet).sum())
    highest = "with no GPUs held" if not np.isfinite(ratio[top]) else f"{format_times(ratio[top])} their value"
    return (f"The debt exceeds the GPUs' gross resale value (before selling costs) in {over} of the "
            f"{counted(len(debt), 'quarter')} (highest {highest}, {run.data.quarter_labels[top]}): what the GPUs would "
            "not repay if sold is owed against the contracts, the sites and the cash.")


def _debt_section(run: ReportRun) -> str:
    """Each facility's terms and maturity, then its balance at each year's end (core/results/tables.debt_frame):
    in one table, 16 columns with the default model's 7 years, the balances were out of view at 1280 px."""
    frame = debt_frame(run.data, run.statements)
    title = f"<h2>Debt by facility of {escape(run.main_label)} (MILP statements)</h2>"
    if frame.empty:
        return title + "<p class='cap'>The model has no debt facilities.</p>"
    terms = frame[[*DEBT_TERMS, "size_usd"]]
    balances = frame.drop(columns=[*DEBT_TERMS[1:], "size_usd"])
    cap = ("Rate: annual, in the horizon's first quarter; a floating rate follows the reference rate. The "
           "revolver, which the scenarios draw when cash runs short, is not a facility here.")
    if any(f.refinanced for f in run.data.facilities):
        cap += (" A bullet the model refinances at maturity is assumed refinanced at the spread shown: no "
                "lender has promised it, and the plan's figures hold only if it is.")
    balance_cap = ("Each facility's balance in the MILP's statements: at the horizon's start (opening), its "
                   "quarter-end peak (the highest at a quarter's end, as peak debt is throughout; below the "
                   "opening where the first quarter repays more than it draws), then at the end of each "
                   "quarter named (each year's last, and the horizon's).")
    # each balance in its own scale: a $3.9M tail beside billions read "$0" in one scale per column
    return (title + f"<p class='cap'>{escape(cap)}</p>{scroll_hint(len(terms.columns))}"
            + sortable_table(terms, usd_cols={"size_usd"}, headers=DEBT_TERM_HEADERS, wrap_cols={"at_maturity"})
            + f"<h3>{BALANCES_TITLE}</h3><p class='cap'>{escape(balance_cap)}</p>"
            + scroll_hint(len(balances.columns))
            + sortable_table(balances, usd_cols=set(balances.columns[1:]), headers=_balance_headers(balances))
            + _maturity_table(run))  # fmt: skip


MATURITY_TITLE = "Scheduled principal by year (USD)"


def _maturity_table(run: ReportRun) -> str:
    """Each facility's scheduled principal by year, in the horizon and after it until the balance left
    at its end is repaid (debt_maturity.maturity_frame): a treasurer found the term loan 'outstanding at
    the horizon's end' with no repayments by year after it ('' where nothing is repaid)."""
    frame = maturity_frame(run.data, run.plans[run.focus[0]])
    if frame.empty:
        return ""
    after = frame.loc[frame["when"].str.startswith(AFTER_HORIZON), ALL_FACILITIES].sum()
    end = run.data.quarter_labels[-1]
    cap = (f"Each facility's scheduled principal by calendar year: in the horizon as the statements pay it; "
           "after it by the facility's own terms (each draw amortizing over its quarters from the quarter "
           "after it, a bullet at its maturity), until the balance left at the horizon's end is repaid. A "
           "prepayment retires the last instalments: the schedule ends sooner, its instalments unchanged. "
           f"The rows after the horizon add up to the debt at its end, {format_usd(after)} at the end of "
           f"{end}, which the NPV deducts at face in {end} (docs/formulation.md §6): their later timing "
           "and interest are not in it.")  # fmt: skip
    return (f"<h3>{MATURITY_TITLE}</h3><p class='cap'>{escape(cap)}</p>{scroll_hint(len(frame.columns))}"
            + sortable_table(frame, usd_cols=set(frame.columns[2:]), sticky=2))


DEBT_TERM_HEADERS = {"at_maturity": "at maturity", "size_usd": "size (USD)"}
BALANCES_TITLE = "Balance of each facility (USD)"  # its columns' unit: the year ends' headers are quarters alone


def _balance_headers(balances: pd.DataFrame) -> dict[str, str]:
    """Short headers over the balances' narrow columns ("peak at a quarter's end (USD)" wrapped a word
    a line and made the header row six lines tall; the caption says what they are): the unit is the
    table's title's. The peak's says it is a quarter's end's: "peak" alone read as an error beside an
    amortising loan's higher opening balance."""
    ends = {c: c[4:-4] for c in balances.columns if c.startswith("end_")}  # 'end_2027Q4_usd': '2027Q4'
    return {"opening_usd": "opening", "quarter_end_peak_usd": "quarter-end peak", **ends}


def _cash_in_the_npv(data, plan: Plan, cost: bool = False) -> str:
    """Why cash piles up while debt stands (a reader asked why notes are rolled with $40B at hand);
    for a plan solved for least cost, why it prepays instead (formulation §6, "Caveat"), where it
    does (nothing where it does not)."""
    if cost and not plan.prepay.any():
        return ""
    if cost:
        return ("The plan was solved for least cost, which counts interest but not principal: with cash to "
                "spare it prepays what it may as early as it may, to save interest (docs/formulation.md §6, "
                "\"Cost\", Caveat). Its debt figures show that choice, not a financing plan.")
    return (
        "Cash kept is not idle in the NPV: each quarter's rise in cash counts as paid out to "
        f"shareholders in that quarter, discounted at {format_rate(data.discount_rate_annual)} a year (docs/formulation.md §6). Repaying "
        "debt that costs less than that early would lower the NPV, so the plan repays only what covenants "
        "or the borrowing base need, and notes due are refinanced or repaid as the model's `at_maturity` says."
    )


def _decisions_section(run: ReportRun) -> str:
    """The plan's decisions besides its purchases: contracts taken and declined, GPUs retired and
    redeployed, power built, and each facility's draws and prepayments (the plan's, before any policy)."""
    data, plan = run.data, run.plans[run.focus[0]]
    fig = run.figures
    facts = [
        *contract_rows(data, fig),
        ("GPUs retired", _by_quarter(data, plan.retire.sum(axis=0), whole_count)),
        ("GPUs redeployed from training to inference", _by_quarter(data, plan.redeploy.sum(axis=0), whole_count)),
        (POWER_BUILT_LABEL, _power_built(data, plan)),
    ]  # fmt: skip
    idle = []
    for f, fac in enumerate(data.facilities):
        if not (np.abs(plan.draws[f]) >= 0.5).any() and not (np.abs(plan.prepay[f]) >= 0.5).any():
            idle.append(fac.name)
            continue
        flows = (("drawn", plan.draws[f]), ("prepaid", plan.prepay[f]))
        facts.append((f"facility {fac.name}", "; ".join(f"{what} {_by_quarter(data, usd)}"
                                                         for what, usd in flows if (np.abs(usd) >= 0.5).any())))  # fmt: skip
    if idle:
        facts.append(("facilities with no draw or prepayment", ", ".join(idle)))
    rows = "".join(f"<dt>{escape(k)}</dt><dd>{escape(v)}</dd>" for k, v in facts)
    note = f"<p class='cap'>{escape(ROUNDING_NOTE)}</p>"
    if run.milp_only:
        note += (f"<p class='cap'>The plan's decisions; on the forecast {escape(run.forecast_changes)}: its "
                 "quarterly figures below show what it did.</p>")  # fmt: skip
    return f"<h2>Decisions of {escape(run.main_label)}</h2><dl class='facts'>{rows}</dl>{note}"


def _power_built(data: ModelData, plan: Plan) -> str:
    """'30 MW'; with more than one site each site's too: '30 MW; texas: 10 MW; ohio: 20 MW'."""
    mw = power_built_mw_by_site(data, plan)
    sites = "".join(f"; {site.name}: {format_mw(built)}" for site, built in zip(data.sites, mw, strict=True)
                    if len(data.sites) > 1 and built > 0)  # fmt: skip
    return f"{format_mw(sum(mw))}{sites}"


def _by_quarter(data: ModelData, values: np.ndarray, shown: Callable[[float], str] = format_usd) -> str:
    """'none', or the total and each quarter's amount written by ``shown`` (USD each in its own scale
    by default: a facility's $855.1k beside its $3.20B, which one scale for both wrote "$0"), each
    rounded on its own: '203 (2026Q3: 62, 2027Q3: 142)' for 61.5 and 141.8 (ROUNDING_NOTE)."""
    quarters = [(data.quarter_labels[t], float(v)) for t, v in enumerate(values) if abs(v) >= 0.5]
    if not quarters:
        return "none"
    return f"{shown(sum(v for _, v in quarters))} ({', '.join(f'{q}: {shown(v)}' for q, v in quarters)})"


ROUNDING_NOTE = (
    "Each figure is rounded on its own (money in its own scale, e.g. $855.1k beside $3.20B), so a "
    "total may differ from the sum of its rounded parts, and a figure from the table below, which "
    "rounds each column in one scale."
)


def _forecast_run_table(run: ReportRun) -> str:
    """The quarters of the forecast run with the plan's policy, where that policy changes them."""
    lines = run.forecast.lines
    frame = pd.DataFrame({"quarter": run.data.quarter_labels, **{k: lines[k] for k in RUN_COLUMNS[1:]}})
    label, buffer = escape(run.main_label), buffer_words(run.forecast.buffer, run.data)
    cap = (f"The plan run on the forecast with its {buffer}, as the scenarios run it (docs/evaluation.md, "
           "Policy): the policy defers orders or cuts debt prepayments to keep cash above the treasury "
           "floor plus the buffer, so these quarters differ from the MILP's statements below. Debt "
           "includes the revolver drawn (the facilities' balances move by draws, less principal and "
           "prepayments). The evaluator records no revenue or capex: for those, see the MILP's "
           "statements.")  # fmt: skip
    return (f"<h2>Quarterly figures of {label} on the forecast, run with its policy (USD)</h2>"
            f"<p class='cap'>{escape(cap)}</p>"
            + sortable_table(frame, money_cols=set(RUN_COLUMNS[1:]), headers=STATEMENT_HEADERS, fit=True))  # fmt: skip


STATEMENT_HEADERS = {  # in USD, as the tables' titles say: the unit not again over each column
    "revenue_usd": "revenue",
    "revenue_contracts_usd": "of which under contract",
    "ebitda_usd": "EBITDA",
    "capex_gpu_usd": "GPU capex",
    "capex_power_usd": "power capex",
    "interest_usd": "interest",
    "principal_usd": "scheduled principal",
    "prepayment_usd": "debt prepaid",
    "draws_usd": "facility draws",
    "disposal_proceeds_usd": "disposal proceeds",
    "contract_payments_usd": "customer payments",
    "tax_usd": "tax",
    "cash_usd": "cash at quarter end",
    "revolver_balance_usd": "revolver drawn at quarter end",
    "debt_usd": "debt at quarter end",
    "fleet_resale_value_usd": "GPUs' gross resale value",
}
