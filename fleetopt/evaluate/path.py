"""One scenario's quarterly path: why a plan defaulted in 2031.

Scenario ``i`` of seed ``S`` depends only on ``(S, i)`` (:mod:`fleetopt.evaluate.scenarios`), so it is
made again alone and simulated by the evaluation's own NumPy code (:func:`~fleetopt.evaluate.simulate.
simulate`, on the plan as its delivery slip leaves it, with the plan's liquidity buffer): its NPV is
the one that scenario had in the evaluation. :func:`scenario_path` reads each quarter as it was run
(``simulate(watch=...)``): the risk factors, the plan's lines, the covenants tested, the default and
the policy's reactions and the risk events (in words: :mod:`fleetopt.evaluate.path_events`). Which
scenario `--explain` shows: :mod:`fleetopt.evaluate.scenario_choice`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from fleetopt.core.covenants import statement_quantities
from fleetopt.core.data import GENERATIONS, USES, ModelData
from fleetopt.core.notebook import html_text, markdown_table, markdown_text
from fleetopt.core.units import (
    counted,
    format_usd,
    format_usd_cents,
)
from fleetopt.errors import InputError, user_path
from fleetopt.evaluate.liquidity import BASE_PREPAID_USD, REACTION_USD
from fleetopt.evaluate.path_events import reaction_words, risk_events
from fleetopt.evaluate.planbatch import PlanBatch
from fleetopt.evaluate.result_fields import END_TERM_PARTS
from fleetopt.evaluate.scenarios import ScenarioSet, generate_scenarios
from fleetopt.evaluate.simulate import SimulationConstants, simulate
from fleetopt.evaluate.slip import by_slip
from fleetopt.runs import limits
from fleetopt.runs.file_text import finite_json
from fleetopt.runs.files import write_text_atomic
from fleetopt.runs.output_files import refuse_output_file

# the policy's USD reactions a path shows each quarter: REACTION_USD, and rule 6's principal prepaid where on
PATH_USD = (*REACTION_USD, BASE_PREPAID_USD)

AS_ASKED = "as asked"  # why a scenario given by its number is shown
# the plan's lines read each quarter, USD (core.economics.quarter_finance.QuarterFinance.lines, the
# EBITDA and the capex paid: the plan's, with the payments the policy deferred out of or into the quarter)
LINES = ("ebitda_usd", "capex_usd", "interest_usd", "principal_usd", "prepayment_usd", "draws_usd", "tax_usd",
         "net_income_usd", "revolver_draw_usd", "revolver_balance_usd", "cash_usd", "debt_usd",
         "debt_service_usd")  # fmt: skip
# the quarter's cash that is neither income nor a statement line above, USD: the customers' payments
# besides revenue (prepayments received less the part revenue unwinds, termination payments:
# contract_book.contract_payments) and the proceeds of the plan's own disposals at the scenario's resale
# value. The change in cash_usd is ebitda - capex - interest - principal - prepayment + draws - tax +
# revolver_draw + distress_sold + these two (docs/evaluation.md, "One scenario's path")
CASH_FLOWS = ("contract_payments_usd", "disposal_proceeds_usd")
# what the quarter's tax is computed on, USD: tax_usd = tax rate x max(0, taxable_income_usd), with
# taxable_income_usd = ebitda - interest - depreciation + gain_on_disposal less the tax losses carried into
# the quarter (tax_loss_carry_forward); the gain is the plan's disposals' at the scenario's resale value
# less their book value, plus the quarter before's distress sales' (policy rule 4)
TAX_BASIS = ("depreciation_usd", "gain_on_disposal_usd", "taxable_income_usd")
# the quarter's operations, USD (simulate's ``parts``): revenue, contracted and market (the market's with
# the GPUs freed by ended contracts and, under policy rule 5, the idle ones); electricity; the other
# operating costs (GPU opex, site fixed costs on the MW online, redeployment, overhead); the contracts'
# delay and cancellation penalties. EBITDA = revenue - electricity - opex - penalties
OPERATIONS = ("revenue_usd", "revenue_contracted_usd", "revenue_market_usd", "electricity_usd", "opex_usd",
              "contract_penalties_usd")  # fmt: skip
UNCURED = "uncured"  # how the breach column begins in the quarter of an uncured breach
SHOWN_USD = " (USD)"  # how the money columns of ScenarioPath.shown (path.json's, the report's) end
# what a notebook's display of a ScenarioPath names to read next
_NEXT = ("Next: .frame (every column: USD, multipliers, annual shifts, discount factors), .npv_parts(), "
         ".to_csv(path)")


@dataclass
class ScenarioPath:
    """One plan in one scenario, quarter by quarter (``frame``, one row a quarter: risk factors,
    lines in USD, covenant ratios, breach and default, the policy's reactions)."""

    frame: pd.DataFrame
    plan: str
    scenario: int
    seed: int
    npv_usd: float
    delivery_slip_quarters: int
    # the scenario's NPV to shareholders with limited liability (their claim ended by a liquidity
    # default) and if lenders accelerate at the first event of default, USD (docs/evaluation.md)
    npv_limited_usd: float = math.nan
    npv_accelerated_usd: float = math.nan
    # why this scenario: "as asked" (a number), else the words of the rule that picked it (pick_scenario)
    why: str = AS_ASKED
    # C_{-1}, the cash before the first quarter, and the NPV's end term E and its parts, USD, undiscounted,
    # with the tax rate (a share), keyed as path.json's "end_term" ({}: not kept; docs/evaluation.md,
    # "The NPV")
    opening_cash_usd: float = math.nan
    end_term: dict[str, float] = field(default_factory=dict)

    @property
    def default_quarter(self) -> str | None:
        """The quarter of the liquidity default (None: none in the horizon)."""
        return _first(self.frame, "liquidity_default")

    @property
    def first_breach_quarter(self) -> str | None:
        """The first quarter a covenant was breached (None: none)."""
        return _first(self.frame, "covenants_breached", lambda v: v != "")

    @property
    def uncured_breach_quarter(self) -> str | None:
        """The quarter of the breach the owners could not cure, an event of default (None: none)."""
        return _first(self.frame, "breach", lambda v: str(v).startswith(UNCURED))

    def csv_text(self) -> str:
        """``frame`` as CSV (money in USD, factors as multipliers, shifts as annual rates, discount
        factors without a unit)."""
        return self.frame.to_csv(index=False)

    def to_csv(self, path: str | Path) -> Path:
        """Write :meth:`csv_text` to ``path``, whole or not at all; a file of a run folder (its
        plan.csv, metrics.csv, path.csv ...) or one fleetopt did not write as a scenario's path (a
        model, notes) is refused, as a folder that cannot take it is, as `Comparison.to_csv` refuses
        them (:class:`~fleetopt.errors.InputError` naming ``path``). Returns the path written."""
        path = user_path(limits.out_path("path", path, optional=False))
        refuse_output_file(path, "scenario path", "path")
        try:
            write_text_atomic(path, self.csv_text(), user_file=True)
        except OSError as exc:
            raise InputError(f"cannot write path {path}: {exc.strerror or exc}") from None
        return path

    def headline(self) -> str:
        """The scenario in a sentence: "Plan 'milp', scenario 41 of seed 7: NPV -$1.2B; first covenant
        breach 2030Q2; uncured (an event of default) 2030Q4; liquidity default 2031Q1." (the uncured
        breach only where there is one)"""
        said = [f"NPV {format_usd(self.npv_usd)}{self._limited_words()}"]
        said.append(f"first covenant breach {self.first_breach_quarter or 'none'}")
        if self.uncured_breach_quarter is not None:  # the event of default P(any default) counts
            said.append(f"uncured (an event of default) {self.uncured_breach_quarter}")
        said.append(f"liquidity default {self.default_quarter or 'none'}")
        if self.delivery_slip_quarters:
            said.append(f"deliveries slipped {counted(self.delivery_slip_quarters, 'quarter')}")
        return f"Plan {self.plan!r}, scenario {self.scenario} of seed {self.seed}: {'; '.join(said)}."

    def explained(self) -> dict:
        """What ``fleetopt evaluate --explain`` shows of the path, as the run's report shows it
        (path.json): the scenario, why it was chosen, the headline, :meth:`shown`'s quarters as
        text, :meth:`events`, and the NPV's figures exact (:meth:`npv_parts`, ``end_term``) with
        :meth:`npv_words`."""
        shown, figures = self.shown(), self._shown_figures()
        usd = {column: list(figures[column]) for column in figures.columns if column.endswith(SHOWN_USD)}
        # JSON has no NaN: a figure that is not finite is null (runs.file_text.finite_json, as summary.json)
        return finite_json({"plan": self.plan, "scenario": self.scenario, "seed": self.seed, "why": self.why,
                            "headline": self.headline(), "columns": list(shown.columns),
                            "rows": shown.astype(str).to_numpy().tolist(), "usd": usd,
                            "events": self.events(), **self.npv_parts(), "end_term": self.end_term,
                            "npv_words": self.npv_words()})  # fmt: skip

    def npv_parts(self) -> dict[str, float]:
        """The NPV and its two parts, as path.json keeps them: ``npv_quarters_usd`` = sum_t DF_t (C_t -
        C_{t-1}) over path.csv's ``discount_factor`` and ``cash_usd`` (C_{-1}: ``opening_cash_usd``),
        added up in the evaluation's order, and ``npv_terminal_usd`` = DF_{T-1} x E
        (``terminal_discount_factor``, ``end_term_usd``); they add up to ``npv_usd`` (USD; DFs no unit)."""
        quarters, before = 0.0, self.opening_cash_usd
        for cash, factor in zip(self.frame["cash_usd"], self.frame["discount_factor"], strict=True):
            quarters += (cash - before) * factor
            before = cash
        last = float(self.frame["discount_factor"].iloc[-1])
        end = self.end_term.get("end_term_usd", math.nan)
        return {"npv_usd": self.npv_usd, "npv_limited_usd": self.npv_limited_usd,
                "npv_accelerated_usd": self.npv_accelerated_usd, "opening_cash_usd": self.opening_cash_usd,
                "npv_quarters_usd": quarters, "terminal_discount_factor": last, "end_term_usd": end,
                "npv_terminal_usd": last * end}  # fmt: skip

    def npv_words(self) -> str:
        """The NPV to the cent and its two parts in a line: 'NPV -$29,604,837.74 = quarters' cash changes,
        discounted, -$28,596,093.08 + end term -$1,334,064.82 x DF 0.756144 (the last quarter's discount
        factor)' (path.json has each figure exact)."""
        p = self.npv_parts()
        return (f"NPV {format_usd_cents(p['npv_usd'])} = quarters' cash changes, discounted, "
                f"{format_usd_cents(p['npv_quarters_usd'])} + end term {format_usd_cents(p['end_term_usd'])} "
                f"x DF {p['terminal_discount_factor']:.6f} (the last quarter's discount factor)")  # fmt: skip

    def _limited_words(self) -> str:
        """' (-$2.40B to shareholders with limited liability, -$2.40B if lenders accelerate ...)' where a
        default ends their claim: the NPV runs on after it with the shortfall as negative cash (a
        scenario that ran out of cash in its second quarter read 'NPV $11.95B' alone); '' where none."""
        said = [f"{format_usd(npv)} {what}" for npv, what in (
            (self.npv_limited_usd, "to shareholders with limited liability"),
            (self.npv_accelerated_usd, "if lenders accelerate at the first event of default"))
            if math.isfinite(npv) and npv != self.npv_usd]  # fmt: skip
        return f" ({', '.join(said)})" if said else ""

    def shown(self) -> pd.DataFrame:
        """The quarters' figures a reader looks at first, formatted: revenue (and of it contracted),
        EBITDA, cash, debt and revolver (USD), the covenants breached and the liquidity default
        (:meth:`events` says what happened)."""
        out = self._shown_figures()
        for column in out.columns[out.columns.str.endswith(SHOWN_USD)]:
            out[column] = out[column].map(format_usd)
        return out

    def _shown_figures(self) -> pd.DataFrame:
        """:meth:`shown`'s table with its money unformatted: USD, each figure exact (the report sorts
        by them: '$883.0M' may be three quarters' different figures)."""
        f = self.frame
        out = pd.DataFrame({"quarter": f["quarter"]})
        for name, title in (("revenue_usd", "revenue"), ("revenue_contracted_usd", "of it contracted"),
                            ("ebitda_usd", "EBITDA"), ("cash_usd", "cash"), ("debt_usd", "debt"),
                            ("revolver_balance_usd", "revolver balance")):  # fmt: skip
            out[f"{title}{SHOWN_USD}"] = f[name].astype(float)
        # "; ", not parentheses: an uncured breach's words hold their own ("uncured (WHY): ...")
        breach = np.where(f["breach"] != "", "; " + f["breach"], "")
        out["covenants breached"] = f["covenants_breached"] + breach
        out["liquidity default"] = np.where(f["liquidity_default"], "DEFAULT", "")
        return out

    def events(self) -> list[str]:
        """'2026Q4: customer lab-a defaults: ...; GPUs sold in distress: 1,200 hopper for $920.8M; liquidity
        default: ...', a line for each quarter with a risk event, a reaction of the policy, the
        liquidity default or the uncured covenant breach."""
        lines = []
        for _, row in self.frame.iterrows():
            said = [words for words in (row["risk_events"], row["reactions"], *_default_words(row)) if words]
            if said:
                lines.append(f"{row['quarter']}: {'; '.join(said)}")
        return lines

    def __repr__(self) -> str:  # one line, as every result's: the dataclass's printed the whole frame
        return f"ScenarioPath({self.headline().removesuffix('.')}; .frame, .events(), .to_csv(path))"

    # a notebook's displays show what `evaluate --explain` prints, in its order: the headline, the
    # quarters, the NPV line (npv_words), the events; then what to read next
    def _repr_markdown_(self) -> str:
        events = [f"- {markdown_text(line)}" for line in self.events()]
        return "\n".join([f"**{markdown_text(self.headline())}**", "", markdown_table(self.shown()), "",
                          markdown_text(self.npv_words()), "", *events, *([""] if events else []),
                          _NEXT])  # fmt: skip

    def _repr_html_(self) -> str:
        shown = self.shown().map(html_text).rename(columns=html_text)  # a $ in a cell too
        events = "".join(f"<li>{html_text(line)}</li>" for line in self.events())
        return (f"<p><b>{html_text(self.headline())}</b></p>" + shown.to_html(index=False, escape=False)
                + f"<p>{html_text(self.npv_words())}</p>" + (f"<ul>{events}</ul>" if events else "")
                + f"<p>{html_text(_NEXT)}</p>")


def _default_words(row: pd.Series) -> list[str]:
    """A quarter's liquidity default (its cash and revolver, USD) and uncured covenant breach, in words."""
    said = []
    if row["liquidity_default"]:
        said.append(f"liquidity default: cash ends the quarter at {format_usd(row['cash_usd'])} (revolver "
                    f"balance {format_usd(row['revolver_balance_usd'])})")  # fmt: skip
    if str(row["breach"]).startswith(UNCURED):
        said.append(f"uncured covenant breach ({row['covenants_breached']}): an event of default")
    return said


def _first(frame: pd.DataFrame, column: str, test=bool) -> str | None:
    hit = frame[column].map(test).to_numpy(dtype=bool)
    return str(frame["quarter"].iloc[int(np.argmax(hit))]) if hit.any() else None


def scenario_path(data: ModelData, plan: PlanBatch, seed: int, scenario: int) -> ScenarioPath:
    """Plan ``plan`` (a batch of one, as the evaluation compiled it) in scenario ``scenario`` of
    ``seed``, quarter by quarter."""
    return path_in(data, plan, generate_scenarios(data, seed, scenario, scenario + 1), seed)


def path_in(data: ModelData, plan: PlanBatch, scen: ScenarioSet, seed: int) -> ScenarioPath:
    """Plan ``plan`` (a batch of one) in ``scen`` (one scenario, of ``seed``), quarter by quarter."""
    consts = SimulationConstants.from_data(data)
    seen: list[dict] = []
    out = by_slip(lambda p, s, _slip: simulate(consts, p, s, watch=lambda t, v: seen.append(_quarter(v))),
                  plan, scen)  # fmt: skip
    slip = int(np.asarray(scen.delivery_slip)[0])
    frame = _frame(data, plan.slipped[slip] if slip else plan, scen, seen)
    end_term = {f"{name}_usd": float(out[name][0, 0]) for name in END_TERM_PARTS}
    return ScenarioPath(frame, plan.labels[0], int(scen.index[0]), seed, float(out["npv"][0, 0]), slip,
                        float(out["npv_limited"][0, 0]), float(out["npv_accelerated"][0, 0]),
                        opening_cash_usd=consts.financing.opening_cash,
                        end_term={**end_term, "tax_rate": consts.financing.tax_rate})  # fmt: skip


def _at(x) -> float:
    """The one pair's value of a (1, 1) array, a (1,) array or a number."""
    return float(np.asarray(x).reshape(-1)[0])


def _quarter(v: dict) -> dict:
    """What one quarter of :func:`simulate` (``v``, what it shows its ``watch``) did to the one pair."""
    step, book, liquidity = v["step"], v["book"], v["liquidity"]
    base = v.get("base") or {}
    missed = v.get("missed")
    accelerated = v.get("accelerated")
    parts = v["parts"]
    contracted, market = _at(parts["contract_revenue"]), _at(parts["market_revenue"])
    return {
        "revenue_usd": contracted + market,
        "revenue_contracted_usd": contracted,
        "revenue_market_usd": market,
        "electricity_usd": _at(parts["electricity"]),
        "opex_usd": _at(parts["fixed"]),
        "contract_penalties_usd": _at(parts["penalty"]),
        "contract_payments_usd": _at(parts["contract_payments"]),
        "disposal_proceeds_usd": _at(parts["disposal_proceeds"]),
        "depreciation_usd": _at(parts["depreciation"]),
        "gain_on_disposal_usd": _at(parts["gain"]),
        "taxable_income_usd": _at(step.taxable),
        **{name: _at(value) for name, value in step.lines().items()},
        "ebitda_usd": _at(v["ebitda"]),
        "capex_usd": _at(parts["capex"]),  # as the quarter's financing (financing.quarter_financing) paid it
        "collateral_required_usd": _at(base.get("collateral_required", 0.0)),
        "collateral_value_usd": _at(base.get("collateral", 0.0)),
        "missed": 0 if missed is None else int(_at(missed)),
        "uncured_now": accelerated is not None and bool(_at(accelerated)),
        "cured": bool(_at(v["cures"].cured_last)),
        "repaid": bool(_at(v["cures"].repaid)),  # cash covered the debt (cash_covering_debt_cures)
        "cures_used": int(_at(v["cures"].used)),
        "cures_allowed": int(v["cures"].allowed),
        "solvent": bool(_at(v["solvent"])),
        "prepayment_cut_usd": _at(step.prepayment_cut),
        "reaction_usd": {name: _at(usd) for name, usd in liquidity.reactions().items() if name in PATH_USD},
        "distress_sold_gpus": [0.0 if sold is None else _at(sold) for sold in liquidity.sold_now],
        "served": _served(parts["served"], len(book.status)),
        "live": np.asarray(book.status)[:, 0, 0].copy(),
        "late": None if book.late is None else np.asarray(book.late)[:, 0, 0].copy(),
    }


def _served(served: dict, K: int) -> np.ndarray:
    """(K,) each contract's GPUs delivered in the quarter (0: not served)."""
    out = np.zeros(K)
    for k, gpus in served.items():
        out[k] = _at(gpus)
    return out


def _frame(data: ModelData, plan: PlanBatch, scen, seen: list[dict]) -> pd.DataFrame:
    T = data.T
    names = (*OPERATIONS, *LINES, *CASH_FLOWS, *TAX_BASIS, "collateral_required_usd", "collateral_value_usd")
    lines = {name: np.array([q[name] for q in seen]) for name in names}
    frame = pd.DataFrame({"quarter": data.quarter_labels[:T]})  # first: output_files.SCENARIO_PATH_HEADER
    for g, gen in enumerate(GENERATIONS):
        frame[f"price_factor_{gen}"] = scen.price_factor[0, g]
    for u, use in enumerate(USES):
        forecast = data.demand[u]
        with np.errstate(divide="ignore", invalid="ignore"):
            frame[f"demand_factor_{use}"] = np.where(forecast > 0, scen.demand[0, u] / forecast, 1.0)
    for name in ("electricity_factor", "resale_factor"):
        frame[name] = scen.factors[name][0]
    frame["rate_shift_annual"] = scen.rate_shift[0]
    frame["spread_shift_annual"] = scen.spread_shift[0]
    # DF_t, no unit: the NPV is sum_t discount_factor_t x the change of cash_usd, plus the end term
    # (path.json)
    frame["discount_factor"] = data.discount[:T]
    for name, values in lines.items():
        frame[name] = values
    _covenant_columns(data, frame, lines, seen)
    frame["liquidity_default"] = _first_of(np.array([not q["solvent"] for q in seen]))
    frame["prepayment_cut_usd"] = [q["prepayment_cut_usd"] for q in seen]
    for name in PATH_USD:  # the policy's totals so far, each quarter's part (rule 6's only where it is on)
        if name in REACTION_USD or any(name in q["reaction_usd"] for q in seen):
            frame[name] = np.diff([0.0, *(q["reaction_usd"].get(name, 0.0) for q in seen)])
    frame["reactions"] = reaction_words(data, plan, frame, seen, np.asarray(scen.contract_alive[0]))
    frame["risk_events"] = risk_events(data, plan, scen, seen)
    return frame


def _first_of(flags: np.ndarray) -> np.ndarray:
    """True at the first quarter ``flags`` is, only."""
    out = np.zeros_like(flags)
    if flags.any():
        out[int(np.argmax(flags))] = True
    return out


def _covenant_columns(data: ModelData, frame: pd.DataFrame, lines: dict, seen: list[dict]) -> None:
    """Each covenant's ratio where tested (NaN elsewhere) and its limit; the covenants breached (by
    their labels, "EBITDA / debt service", as the evaluate tables name them) and whether the breach
    was cured (an equity cure) or not (an event of default)."""
    values = statement_quantities(lines, data.covenant_window)
    breached = [[] for _ in seen]
    for test in data.covenants:
        ratio = np.where(test.tested, test.kind.ratio(values), np.nan)
        frame[f"{test.kind.name}_ratio"] = ratio
        frame[f"{test.kind.name}_limit"] = test.describe()
        for t in np.flatnonzero(test.tested & test.breached(values)):
            breached[t].append(test.kind.label)  # as the evaluate tables name it
    frame["covenants_breached"] = [", ".join(names) for names in breached]
    frame["breach"] = [_breach_words(q, seen[t - 1] if t else None, bool(names))
                       for t, (q, names) in enumerate(zip(seen, breached, strict=True))]  # fmt: skip


def _breach_words(q: dict, before: dict | None, breached: bool) -> str:
    """A quarter's breach: cured (an equity cure), covered by its cash (finance.covenants.
    cash_covering_debt_cures), uncured (the event of default, with why no cure
    covers it: :func:`_uncured_because`), or after one. ``before``: the quarter before's (None in
    the first)."""
    if q["uncured_now"]:
        return f"{UNCURED} ({_uncured_because(q, before)}): event of default"
    if q["cured"]:
        return "cured"
    if q["repaid"]:
        return "cash covers the debt: not a default"
    return "after the event of default" if breached else ""


def _uncured_because(q: dict, before: dict | None) -> str:
    """Why an uncured breach's quarter had no cure (core.covenants.CureRights), each reason that
    applies: 'in the liquidity default's quarter' (or 'after the liquidity default'), 'its 2 cures
    spent' ('finance.covenants.equity_cures is 0' where none are allowed), 'the quarter before was cured'."""
    reasons = []
    if not q["solvent"]:
        earlier = before is not None and not before["solvent"]
        reasons.append("after the liquidity default" if earlier else "in the liquidity default's quarter")
    if q["cures_allowed"] == 0:
        reasons.append("finance.covenants.equity_cures is 0")
    elif q["cures_used"] >= q["cures_allowed"]:
        reasons.append(f"its {counted(q['cures_allowed'], 'cure')} spent")
    if before is not None and before["cured"]:
        reasons.append("the quarter before was cured")
    return "; ".join(reasons)


