"""One self-contained HTML page per run folder: styles, scripts and charts inline, no network."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from html import escape
from pathlib import Path

import numpy as np
import pandas as pd

from fleetopt import __version__
from fleetopt.core.covenants import CATALOGUE
from fleetopt.core.data import GENERATIONS, ModelData, build_data
from fleetopt.core.economics import Statements, plan_statements
from fleetopt.core.plan import Plan
from fleetopt.core.results import gpus_by_generation, headline, purchases_by_generation_year, worst_shock
from fleetopt.core.units import format_number_compact, format_usd_compact
from fleetopt.errors import InputError
from fleetopt.evaluate import compile_plans, generate_scenarios, load_plans
from fleetopt.evaluate.batch import with_buffers
from fleetopt.evaluate.metrics import first_breach_column
from fleetopt.evaluate.planfile import BUFFERS
from fleetopt.evaluate.simulate import SimulationConstants, simulate
from fleetopt.report import svg
from fleetopt.runs.files import write_text_atomic
from fleetopt.runs.folder import RunFolder
from fleetopt.schema.loading import ModelError, load_model

FAN_SCENARIOS = 500  # scenarios re-simulated for fan charts and NPV histograms


class ReportError(InputError):
    """A folder that is not a complete fleetopt run."""


STYLE = """
body{font:15px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;color:#0f172a;background:#f8fafc}
main{max-width:1180px;margin:0 auto;padding:24px 28px 60px}
h1{font-size:26px;margin:0 0 4px}h2{font-size:19px;margin:34px 0 10px;border-bottom:1px solid #e2e8f0;padding-bottom:4px}
.sub{color:#475569}.grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(520px,1fr));gap:14px}
.card{background:#fff;border:1px solid #e2e8f0;border-radius:8px;padding:10px}
.kpis{display:grid;grid-template-columns:repeat(auto-fit,minmax(170px,1fr));gap:10px}
.kpi{background:#fff;border:1px solid #e2e8f0;border-radius:8px;padding:10px 12px}
.kpi b{display:block;font-size:20px}.kpi span{color:#475569;font-size:13px}
.why{background:#eff6ff;border-left:4px solid #1f6feb;padding:10px 14px;border-radius:4px}
svg.chart{width:100%;height:auto}.grid>.card:only-child{max-width:760px}svg .title{font-weight:600;font-size:14px;fill:#0f172a}
svg .tick{font-size:11px;fill:#475569}svg .grid{stroke:#e2e8f0}
table{border-collapse:collapse;width:100%;background:#fff;font-size:13px}
th,td{border:1px solid #e2e8f0;padding:4px 8px;text-align:right}th{background:#f1f5f9;cursor:pointer}
td:first-child,th:first-child{text-align:left}tr.rec{background:#fef2f2}tr.front td:first-child{font-weight:600}
footer{margin-top:40px;color:#64748b;font-size:12px}
"""

SCRIPT = """
window.__errors = [];
window.addEventListener('error', function (e) { window.__errors.push(String(e.message)); report(); });
function report() {
  var box = document.getElementById('script-errors');
  box.textContent = window.__errors.join('\\n');
  box.hidden = window.__errors.length === 0;
}
// click a column header to sort its table
document.querySelectorAll('table.sortable th').forEach(function (th, col) {
  th.addEventListener('click', function () {
    var body = th.closest('table').tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    var asc = th.dataset.sorted !== 'asc';
    rows.sort(function (a, b) {
      var x = a.cells[col].dataset.v || a.cells[col].textContent, y = b.cells[col].dataset.v || b.cells[col].textContent;
      var nx = parseFloat(x), ny = parseFloat(y);
      var c = (!isNaN(nx) && !isNaN(ny)) ? nx - ny : x.localeCompare(y);
      return asc ? c : -c;
    });
    rows.forEach(function (r) { body.appendChild(r); });
    th.dataset.sorted = asc ? 'asc' : 'desc';
  });
});
document.body.dataset.ready = '1';
"""


def _kpi(label: str, value: str) -> str:
    return f'<div class="kpi"><b>{escape(value)}</b><span>{escape(label)}</span></div>'


def _table(frame: pd.DataFrame, money_cols=(), pct_cols=(), classes=None) -> str:
    head = "".join(f"<th>{escape(str(c))}</th>" for c in frame.columns)
    rows = []
    for n, row in enumerate(frame.itertuples(index=False)):
        cells = []
        for col, v in zip(frame.columns, row, strict=True):
            if isinstance(v, (float, np.floating, int, np.integer)) and not isinstance(v, bool):
                text = (
                    format_usd_compact(v) if col in money_cols else (f"{v:.1%}" if col in pct_cols else format_number_compact(v))
                )
                cells.append(f'<td data-v="{float(v)!r}">{escape(text)}</td>')
            else:
                cells.append(f"<td>{escape(str(v))}</td>")
        cls = f' class="{classes[n]}"' if classes and classes[n] else ""
        rows.append(f"<tr{cls}>{''.join(cells)}</tr>")
    return f'<table class="sortable"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>'


@dataclass
class _Run:
    """A run folder read for its report: summary, model, plans and, where the run has them, metrics."""

    folder: Path
    summary: dict
    data: ModelData
    plans: list[Plan]
    labels: list[str]
    metrics: pd.DataFrame | None
    focus: list[int]  # the plans the report is about, the first one above all
    statements: Statements | None  # of the first focus plan, on the forecast
    buffers: list | None = None  # each plan's policy liquidity buffer from its plan file (None: the model's)

    @property
    def kind(self) -> str:
        return self.summary.get("kind", "run")

    @property
    def main_label(self) -> str:
        return self.labels[self.focus[0]]


def _read_run(folder: Path) -> _Run:
    run = RunFolder(folder)
    if not folder.is_dir():
        raise ReportError(f"{folder}: no such run folder")
    if not run.is_finished or run.model_file is None:
        raise ReportError(
            f"{folder}: not a fleetopt run folder ({RunFolder.SUMMARY} and {RunFolder.MODEL} expected)"
        )
    try:
        summary = run.summary()
        data = build_data(load_model(run.model_file))
    except (ValueError, ModelError) as exc:
        raise ReportError(f"{folder}: unreadable run folder ({exc})") from None
    plans, labels, buffers = _plans(run, summary, data)
    kind = summary.get("kind")
    metrics_file = {"sweep": RunFolder.CANDIDATES_CSV, "evaluate": RunFolder.METRICS}.get(kind)
    metrics = pd.read_csv(run / metrics_file) if metrics_file else None
    if kind == "stochastic":
        metrics = _out_of_sample_metrics(summary)
    focus = _focus(kind, summary, metrics, plans, labels)
    statements = plan_statements(data, plans[focus[0]]) if focus else None
    return _Run(folder, summary, data, plans, labels, metrics, focus, statements, buffers)


def _plans(run: RunFolder, summary: dict, data: ModelData) -> tuple[list[Plan], list[str], list | None]:
    """The run's plans, their labels and their policy buffers (None: the model's)."""
    kind = summary.get("kind")
    if kind in ("solve", "stochastic"):
        file = run / RunFolder.PLAN
    elif kind == "sweep":
        file = run / RunFolder.PLANS
    else:
        file = Path(summary.get("plans_source", ""))
    if not file.exists():
        return [], [], None
    plans, labels, meta = load_plans(file, data)
    return plans, labels, meta.get(BUFFERS)


def _out_of_sample_metrics(summary: dict) -> pd.DataFrame | None:
    """A stochastic run's out-of-sample metrics, one row per plan (None when it skipped them)."""
    metrics = (summary.get("out_of_sample") or {}).get("metrics")
    if not metrics:
        return None
    return pd.DataFrame([{"plan": label, **row} for label, row in metrics.items()])


def _scenario_source(run: _Run) -> tuple[int, int]:
    """(seed, number) of the scenarios a run evaluated: a stochastic run's out-of-sample ones (never
    the seed its scenarios were reduced from)."""
    if run.kind == "stochastic":
        oos = run.summary["out_of_sample"]
        return int(oos["seed"]), int(oos["scenarios"])
    return int(run.summary.get("seed") or 0), int(run.summary.get("n_scenarios") or FAN_SCENARIOS)


def _focus(kind, summary: dict, metrics, plans: list[Plan], labels: list[str]) -> list[int]:
    """A sweep's recommended plan and the forecast optimum, an evaluation's best plan by CVaR5,
    a stochastic run's plan and the forecast optimum, a solve's plan."""
    if kind == "stochastic" and len(plans) > 1:
        return [0, 1]
    if kind == "sweep":
        rec, opt = summary["recommended"], summary["forecast_optimum"]
        return [labels.index(rec)] + ([labels.index(opt)] if opt != rec else [])
    if kind == "evaluate":
        if not plans:
            return []
        best = metrics.sort_values("npv_cvar5_usd", ascending=False).iloc[0]["plan"]
        return [labels.index(best)] if best in labels else [0]
    return [0] if plans else []


def _paths(data: ModelData, plans: list[Plan], labels: list[str], buffers, seed: int, n: int) -> dict:
    consts = SimulationConstants.from_data(data)
    scen = generate_scenarios(data, seed, 0, n)
    batch = with_buffers(compile_plans(data, plans, labels), buffers)
    return simulate(consts, batch, scen, record=("cash_usd", "debt_usd"))


def _kpis(run: _Run) -> list[str]:
    """Key figures of the main plan on the forecast, then over the scenarios where the run has them."""
    if not run.focus:
        return []
    fig = headline(run.data, run.plans[run.focus[0]], run.statements)
    kpis = [
        _kpi("NPV of equity cash flows (forecast)", format_usd_compact(fig["npv_usd"])),
        _kpi("peak debt", format_usd_compact(fig["peak_debt_usd"])),
        _kpi("lowest cash", format_usd_compact(fig["min_liquidity_usd"])),
        _kpi("lowest DSCR", "n/a" if fig["min_dscr"] is None else f"{fig['min_dscr']:.2f}x"),
        _kpi("GPUs bought", format_number_compact(fig["gpus_bought"])),
        _kpi("power built", f"{fig['power_built_mw']:,.0f} MW"),
    ]
    worst = worst_shock(fig)
    if worst is not None:
        kpis.append(
            _kpi(
                f"lowest cash under robustness shocks ({worst['case']}, {worst['quarter']})",
                format_usd_compact(worst["lowest_cash_usd"]),
            )
        )
    if run.metrics is not None:
        row = run.metrics[run.metrics["plan"] == run.main_label].iloc[0]
        kpis += [
            _kpi("NPV mean over scenarios", format_usd_compact(row["npv_mean_usd"])),
            _kpi("NPV CVaR5", format_usd_compact(row["npv_cvar5_usd"])),
            _kpi("P(covenant breach)", f"{row['breach_probability']:.1%}"),
            _kpi("P(liquidity default)", f"{row['default_probability']:.1%}"),
        ]
        kpis += [  # what the policy had to do (older runs have no such columns)
            _kpi(f"scenarios with {what}", f"{row[column]:.1%}")
            for what, column in (("a GPU order deferred", "deferred_share"), ("a distress sale", "sold_share"),
                                 ("a contract late", "rescheduled_share"),
                                 ("a debt prepayment cut", "prepayment_cut_share"))
            if column in row
        ]  # fmt: skip
        kpis += [  # which covenant breaks first (older runs have no such columns)
            _kpi(f"scenarios whose first breach misses {kind.label}", f"{row[column]:.1%}")
            for kind in CATALOGUE
            if (column := first_breach_column(kind)) in row and row[column] > 0
        ]
    return kpis


def _recommendation_section(run: _Run) -> str:
    summary = run.summary
    return (
        f'<h2>Recommendation</h2><p class="why"><b>{escape(summary["recommended"])}</b>. '
        f"{escape(summary['why'])}</p>"
    )


def _scenario_charts(run: _Run) -> tuple[list[str], dict]:
    """The NPV histogram of the focus plans over re-simulated scenarios, and the 5-95 % and 25-75 %
    bands of the main plan's cash and debt."""
    seed, total = _scenario_source(run)
    n = min(FAN_SCENARIOS, total)
    focus = run.focus
    buffers = None if run.buffers is None else [run.buffers[i] for i in focus]
    sim = _paths(run.data, [run.plans[i] for i in focus], [run.labels[i] for i in focus], buffers, seed, n)
    bands = {}
    for name, key in (("cash", "cash_usd"), ("debt", "debt_usd")):
        paths = sim[key][0]
        bands[name] = [
            (np.percentile(paths, 5, axis=0), np.percentile(paths, 95, axis=0), 0.15),
            (np.percentile(paths, 25, axis=0), np.percentile(paths, 75, axis=0), 0.25),
        ]
    sample = f"{n:,} scenarios" if n == total else f"{n:,} of the run's {total:,} scenarios, re-simulated"
    histogram = svg.histogram(
        f"NPV distribution over {sample} (seed {seed})",
        {run.labels[i]: sim["npv"][j] for j, i in enumerate(focus)},
    )
    return [histogram], bands


def _plan_section(run: _Run) -> str:
    """Fleet by generation, power by site, and cash and debt (with scenario bands where there are any)."""
    data, st, q = run.data, run.statements, run.data.quarter_labels
    gens = gpus_by_generation(data, run.plans[run.focus[0]])
    charts = [
        svg.stacked_area(
            f"Fleet by generation: {run.main_label}", q, {g: gens[g].to_numpy() for g in GENERATIONS},
            svg.GENERATION_COLOURS, "GPUs",
        )
    ]  # fmt: skip
    for site in data.sites:
        charts.append(
            svg.lines(
                f"Power at {site.name}", q,
                {"MW used": st.lines[f"mw_used_{site.name}"], "MW available": st.lines[f"mw_available_{site.name}"]},
                "MW", dashed={"MW available"},
            )
        )  # fmt: skip
    bands = {}
    if run.kind in ("evaluate", "sweep") or run.metrics is not None:
        extra, bands = _scenario_charts(run)
        charts += extra
    fan = " (bands: 5-95 % and 25-75 % of scenarios)" if bands else ""
    charts.append(
        svg.lines(f"Cash and debt on the forecast{fan}", q, {"cash": st.lines["cash_usd"], "debt": st.lines["debt_usd"]},
                  "USD", y_fmt=format_usd_compact, bands=bands)
    )  # fmt: skip
    return "<h2>Plan</h2><div class='grid'>" + "".join(f"<div class='card'>{c}</div>" for c in charts) + "</div>"


def _front_section(metrics: pd.DataFrame) -> str:
    points = [
        {"label": r["plan"], "x": r["npv_mean_usd"], "y": r["npv_cvar5_usd"], "front": bool(r["on_front"]),
         "recommended": bool(r["recommended"])}
        for _, r in metrics.iterrows()
    ]  # fmt: skip
    front = svg.scatter("Candidates: mean NPV against CVaR5", points, "x", "y", "mean NPV", "CVaR5 NPV")
    return f"<h2>Pareto front</h2><div class='grid'><div class='card'>{front}</div></div>"


def _candidates_section(run: _Run) -> str:
    metrics = run.metrics
    cols = [c for c in ("plan", "origin", "forecast_npv_usd", "npv_mean_usd", "npv_p5_usd", "npv_cvar5_usd",
                        "breach_probability", "default_probability", "mean_utilisation", "deferred_share",
                        "sold_share", "rescheduled_share") if c in metrics.columns]  # fmt: skip
    classes = None
    if run.kind == "sweep":
        classes = [
            "rec" if r["recommended"] else ("front" if r["on_front"] else "") for _, r in metrics.iterrows()
        ]
    title = "Candidates and their risk"
    if run.kind == "stochastic":
        seed, n = _scenario_source(run)
        title = f"Out of sample: both plans on {n:,} fresh scenarios (seed {seed})"
    return f"<h2>{escape(title)}</h2>" + _table(
        metrics[cols],
        money_cols={"forecast_npv_usd", "npv_mean_usd", "npv_p5_usd", "npv_cvar5_usd"},
        pct_cols={"breach_probability", "default_probability", "mean_utilisation", "deferred_share", "sold_share",
                  "rescheduled_share"},
        classes=classes,
    )


MEASURES = (
    ("rp_usd", "RP: the stochastic solution"),
    ("ev_usd", "EV: the forecast optimum on the forecast"),
    ("eev_usd", "EEV: the forecast optimum's first stage in the scenarios"),
    ("ws_usd", "WS: wait-and-see (each scenario known in advance)"),
    ("vss_usd", "VSS = RP - EEV: value of the stochastic solution"),
    ("evpi_usd", "EVPI = WS - RP: expected value of perfect information"),
    ("expected_npv_usd", "expected NPV of the stochastic solution"),
    ("cvar_npv_usd", "CVaR of its NPV"),
)


def _stochastic_section(run: _Run) -> str:
    """A two-stage run's settings, measures (objective values, USD) and its reduced scenarios."""
    summary, s = run.summary, run.summary["settings"]
    gap = "n/a" if summary.get("gap") is None else f"{summary['gap']:.2%}"
    why = (
        f"{s['scenarios']} scenarios reduced from {s['screened']} (seed {s['scenario_seed']}); decisions "
        f"before quarter {s['first_stage_quarters']} shared by all of them; objective (1 - L) E[value] + L "
        f"CVaR{s['cvar_alpha']:g}(value) with L = {s['risk_weight']:g}; later purchases "
        f"{s['later_purchases']}; solved to {summary['status']} (gap {gap}) by {s.get('solve_method', 'HiGHS')}. "
        "A scenario's value is its NPV less the rescue's penalties (docs/formulation.md §7b)."
    )
    measures = pd.DataFrame(
        [{"measure": label, "USD": summary[key]} for key, label in MEASURES if summary.get(key) is not None]
    )
    rows = pd.DataFrame(
        [
            {
                "scenario": row["scenario"],
                "probability": row["probability"],
                "value_usd": row["value_usd"],
                "npv_usd": row["npv_usd"],
                "emergency_equity_usd": row["emergency_equity_usd"],
                "revolver_peak_usd": row["revolver_peak_usd"],
                "rescued": "yes" if row["rescued"] else "no",
            }
            for row in summary["scenarios"]
        ]
    )
    money = {"value_usd", "npv_usd", "emergency_equity_usd", "revolver_peak_usd"}
    return (
        f'<h2>Two-stage stochastic solution</h2><p class="why">{escape(why)}</p>'
        + _table(measures, money_cols={"USD"})
        + "<h2>Reduced scenarios under the stochastic solution</h2>"
        + _table(rows, money_cols=money, pct_cols={"probability"})
    )


STATEMENT_COLUMNS = [
    "quarter",
    "revenue_usd",
    "ebitda_usd",
    "capex_gpu_usd",
    "capex_power_usd",
    "interest_usd",
    "cash_usd",
    "debt_usd",
]


def _purchases_and_statements_sections(run: _Run) -> list[str]:
    buys = purchases_by_generation_year(run.data, run.plans[run.focus[0]]).reset_index(names="generation")
    frame = run.statements.frame(run.data.quarter_labels)[STATEMENT_COLUMNS]
    return [
        f"<h2>GPUs bought by generation and year: {escape(run.main_label)}</h2>" + _table(buys),
        "<h2>Quarterly statements (forecast, USD)</h2>"
        + _table(frame, money_cols=set(STATEMENT_COLUMNS[1:])),
    ]


def _sections(run: _Run) -> list[str]:
    sections = []
    if run.kind == "sweep":
        sections.append(_recommendation_section(run))
    if run.kind == "stochastic":
        sections.append(_stochastic_section(run))
    if run.focus:
        sections.append(_plan_section(run))
    if run.kind == "sweep" and run.metrics is not None:
        sections.append(_front_section(run.metrics))
    if run.metrics is not None:
        sections.append(_candidates_section(run))
    if run.focus:
        sections += _purchases_and_statements_sections(run)
    return sections


def build_report(folder: str | Path) -> str:
    """The HTML of a run folder's report (solve, stochastic solve, evaluate or sweep)."""
    run = _read_run(Path(folder))
    data, q = run.data, run.data.quarter_labels
    kpis, sections = _kpis(run), _sections(run)
    created = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    title = f"fleetopt {run.kind}: {data.name}"
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(title)}</title><style>{STYLE}</style></head>
<body><main>
<h1>{escape(title)}</h1>
<p class="sub">{escape(data.description)}<br>Run folder {escape(str(run.folder))}; horizon {q[0]}..{q[-1]}; written {created} by fleetopt {__version__}.</p>
<pre id="script-errors" hidden></pre>
<div class="kpis">{"".join(kpis)}</div>
{"".join(sections)}
<footer>Money in USD. NPV: discounted equity cash flows plus the fleet's resale value and power plant book value at the end, less debt (docs/formulation.md). Scenario semantics: docs/evaluation.md.</footer>
</main><script>{SCRIPT}</script></body></html>
"""


def write_report(folder: str | Path, out: str | Path | None = None) -> Path:
    """Write the report of a run folder (default: report.html inside it)."""
    html = build_report(folder)
    out = Path(out) if out is not None else RunFolder(folder) / RunFolder.REPORT
    write_text_atomic(out, html)
    return out
