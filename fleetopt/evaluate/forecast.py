"""A plan on the forecast as the company runs it, for the report's and compare's "on the forecast"
figures: its deterministic evaluation with its own policy (liquidity buffer), the one definition of
a plan's NPV on the forecast (:func:`fleetopt.evaluate.engine.forecast_runs`; of many plans,
:func:`forecast_npvs`, of one with a given buffer, :func:`forecast_npv`, the sweep's)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from fleetopt.core.data import ModelData
from fleetopt.core.economics.statements import Statements
from fleetopt.core.metric_columns import first_breach_column
from fleetopt.core.plan import Plan
from fleetopt.evaluate.batch import compile_plans, with_buffers
from fleetopt.evaluate.engine import forecast_runs
from fleetopt.evaluate.planbatch import PlanBatch

# the quarterly lines the evaluator records (USD); revenue and capex are not among them
RECORDED = (
    "ebitda_usd", "interest_usd", "principal_usd", "prepayment_usd", "draws_usd", "tax_usd",
    "revolver_balance_usd", "cash_usd", "debt_usd",
)  # fmt: skip
SAME_USD = 1.0  # a run whose cash, debt and NPV are within $1 of the statements' is the statements


@dataclass
class ForecastRun:
    """One plan's forecast run: its NPV, its recorded quarterly lines ((T,) USD each), its buffer
    (USD; None: the model's) and whether its policy changed anything against the MILP's statements
    (``reacts``: then revenue, capex, DSCR and covenant figures of the statements are not the run's)."""

    npv_usd: float
    lines: dict[str, np.ndarray]
    buffer: float | None
    reacts: bool
    breaches: bool = False  # a covenant missed in some quarter tested
    first_breach: tuple[str, ...] = field(default=())  # the covenants (labels) its first breach breaks
    defaults: bool = False  # cash below the default level in some quarter

    @property
    def within_limits(self) -> bool:
        """No covenant breach and no default on the forecast: a plan a lender would sign (as
        :func:`fleetopt.evaluate.engine.forecast_within_limits`)."""
        return not self.breaches and not self.defaults

    def limits_words(self) -> str:
        """'none', or what it breaks: 'breaches a covenant (first misses DSCR); defaults'."""
        out = []
        if self.breaches:
            out.append(f"breaches a covenant (first misses {' and '.join(self.first_breach) or '?'})")
        if self.defaults:
            out.append("defaults (cash below the default level)")
        return "; ".join(out) or "none"

    @property
    def peak_debt_usd(self) -> float:
        return float(self.lines["debt_usd"].max())

    @property
    def lowest_cash_usd(self) -> float:
        return float(self.lines["cash_usd"].min())


def forecast_run(data: ModelData, plan: Plan, buffer: float | None, st: Statements) -> ForecastRun:
    """``plan`` run on the forecast with its ``buffer``, compared with its statements ``st``."""
    return forecast_run_batch(data, [plan], [buffer], [st])[0]


def forecast_run_batch(
    data: ModelData, plans: list[Plan], buffers: list | None, statements: list[Statements]
) -> list[ForecastRun]:
    """:func:`forecast_run` of several plans in one evaluation (``buffers`` None: the model's)."""
    buffers = buffers if buffers is not None else [None] * len(plans)
    labels = [f"plan {n}" for n in range(len(plans))]
    batch = with_buffers(compile_plans(data, plans, labels, slips=False), buffers)  # the forecast never slips
    result = forecast_runs(data, batch, RECORDED)
    npvs = result.metrics["npv_mean_usd"].to_numpy(dtype=float)
    out = []
    for n, st in enumerate(statements):
        lines = {name: np.asarray(result.paths[name][n, 0], dtype=float) for name in RECORDED}
        reacts = abs(npvs[n] - st.npv_usd) > SAME_USD or any(
            np.abs(lines[k] - st.lines[k]).max() > SAME_USD for k in ("cash_usd", "debt_usd")
        )
        row = result.metrics.iloc[n]
        first = tuple(k.label for k in data.covenant_kinds if row.get(first_breach_column(k), 0.0) > 0)
        breaches, defaults = bool(row["breach_probability"] > 0), bool(row["default_probability"] > 0)
        out.append(ForecastRun(float(npvs[n]), lines, buffers[n], bool(reacts), breaches, first, defaults))
    return out


def forecast_npvs(data: ModelData, plans: PlanBatch) -> np.ndarray:
    """(P,) NPV of each plan on the forecast (:func:`forecast_runs`)."""
    return forecast_runs(data, plans).metrics["npv_mean_usd"].to_numpy(dtype=float)


def forecast_npv(data: ModelData, plan: Plan, buffer: float | None = None) -> float:
    """:func:`forecast_npvs` of one plan run with ``buffer`` (USD; None: the model's)."""
    batch = compile_plans(data, [plan], ["plan"], slips=False)  # the forecast never slips
    return float(forecast_npvs(data, with_buffers(batch, [buffer]))[0])
