"""One self-contained HTML page per run folder: styles, scripts and charts inline, no network."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from html import escape
from pathlib import Path

import numpy as np
import pandas as pd

from fleetopt import __version__
from fleetopt.core.data import GENERATIONS, ModelData, build_data
from fleetopt.core.economics import plan_statements
from fleetopt.core.plan import Plan
from fleetopt.core.results import gpus_by_generation, headline, purchases_by_generation_year, worst_shock
from fleetopt.evaluate import compile_plans, generate_scenarios, load_plans
from fleetopt.evaluate.simulate import SimulationConstants, simulate
from fleetopt.report import svg
from fleetopt.schema.loading import ModelError, load_model

FAN_SCENARIOS = 500  # scenarios re-simulated for fan charts and NPV histograms


class ReportError(Exception):
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
                    svg.money(v) if col in money_cols else (f"{v:.1%}" if col in pct_cols else svg.number(v))
                )
                cells.append(f'<td data-v="{float(v)!r}">{escape(text)}</td>')
            else:
                cells.append(f"<td>{escape(str(v))}</td>")
        cls = f' class="{classes[n]}"' if classes and classes[n] else ""
        rows.append(f"<tr{cls}>{''.join(cells)}</tr>")
    return f'<table class="sortable"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>'


def _run(folder: Path) -> tuple[dict, ModelData]:
    summary_file, model_file = folder / "summary.json", folder / "model.yaml"
    if not folder.is_dir():
        raise ReportError(f"{folder}: no such run folder")
    if not summary_file.exists() or not model_file.exists():
        raise ReportError(f"{folder}: not a fleetopt run folder (summary.json and model.yaml expected)")
    try:
        summary = json.loads(summary_file.read_text())
        data = build_data(load_model(model_file))
    except (ValueError, ModelError) as exc:
        raise ReportError(f"{folder}: unreadable run folder ({exc})") from None
    return summary, data


def _plans(folder: Path, summary: dict, data: ModelData) -> tuple[list[Plan], list[str]]:
    kind = summary.get("kind")
    if kind == "solve":
        file = folder / "plan.npz"
    elif kind == "sweep":
        file = folder / "plans.npz"
    else:
        file = Path(summary.get("plans_source", ""))
    if not file.exists():
        return [], []
    plans, labels, _ = load_plans(file, data)
    return plans, labels


def _paths(data: ModelData, plans: list[Plan], labels: list[str], seed: int, n: int) -> dict:
    consts = SimulationConstants.from_data(data)
    scen = generate_scenarios(data, seed, 0, n)
    return simulate(consts, compile_plans(data, plans, labels), scen, record=("cash_usd", "debt_usd"))


def build_report(folder: str | Path) -> str:
    """The HTML of a run folder's report (solve, evaluate or sweep)."""
    folder = Path(folder)
    summary, data = _run(folder)
    kind = summary.get("kind", "run")
    plans, labels = _plans(folder, summary, data)
    q = data.quarter_labels
    sections: list[str] = []
    kpis: list[str] = []
    focus: list[int] = []
    metrics = None
    if kind == "sweep":
        metrics = pd.read_csv(folder / "candidates.csv")
        rec, opt = summary["recommended"], summary["forecast_optimum"]
        focus = [labels.index(rec)] + ([labels.index(opt)] if opt != rec else [])
    elif kind == "evaluate":
        metrics = pd.read_csv(folder / "metrics.csv")
        if plans:
            best = metrics.sort_values("npv_cvar5_usd", ascending=False).iloc[0]["plan"]
            focus = [labels.index(best)] if best in labels else [0]
    elif plans:
        focus = [0]

    if focus:
        main_plan = plans[focus[0]]
        st = plan_statements(data, main_plan)
        fig = headline(data, main_plan, st)
        kpis += [
            _kpi("NPV of equity cash flows (forecast)", svg.money(fig["npv_usd"])),
            _kpi("peak debt", svg.money(fig["peak_debt_usd"])),
            _kpi("lowest cash", svg.money(fig["min_liquidity_usd"])),
            _kpi("lowest DSCR", "n/a" if fig["min_dscr"] is None else f"{fig['min_dscr']:.2f}x"),
            _kpi("GPUs bought", svg.number(fig["gpus_bought"])),
            _kpi("power built", f"{fig['power_built_mw']:,.0f} MW"),
        ]
        worst = worst_shock(fig)
        if worst is not None:
            kpis.append(
                _kpi(
                    f"lowest cash under robustness shocks ({worst['case']}, {worst['quarter']})",
                    svg.money(worst["lowest_cash_usd"]),
                )
            )
    if metrics is not None and focus:
        row = metrics[metrics["plan"] == labels[focus[0]]].iloc[0]
        kpis += [
            _kpi("NPV mean over scenarios", svg.money(row["npv_mean_usd"])),
            _kpi("NPV CVaR5", svg.money(row["npv_cvar5_usd"])),
            _kpi("P(covenant breach)", f"{row['breach_probability']:.1%}"),
            _kpi("P(liquidity default)", f"{row['default_probability']:.1%}"),
        ]
    if kind == "sweep":
        sections.append(
            f'<h2>Recommendation</h2><p class="why"><b>{escape(summary["recommended"])}</b>. '
            f"{escape(summary['why'])}</p>"
        )

    if focus:
        title_plan = labels[focus[0]]
        charts = []
        gens = gpus_by_generation(data, plans[focus[0]])
        charts.append(
            svg.stacked_area(
                f"Fleet by generation: {title_plan}", q, {g: gens[g].to_numpy() for g in GENERATIONS},
                svg.GENERATION_COLOURS, "GPUs",
            )
        )  # fmt: skip
        for site in data.sites:
            charts.append(
                svg.lines(
                    f"Power at {site.name}", q,
                    {"MW used": st.lines[f"mw_used_{site.name}"], "MW available": st.lines[f"mw_available_{site.name}"]},
                    "MW", dashed={"MW available"},
                )
            )  # fmt: skip
        bands = {}
        if kind in ("evaluate", "sweep"):
            n = min(FAN_SCENARIOS, int(summary.get("n_scenarios") or FAN_SCENARIOS))
            seed = int(summary.get("seed") or 0)
            sim = _paths(data, [plans[i] for i in focus], [labels[i] for i in focus], seed, n)
            for name, key in (("cash", "cash_usd"), ("debt", "debt_usd")):
                paths = sim[key][0]
                bands[name] = [
                    (np.percentile(paths, 5, axis=0), np.percentile(paths, 95, axis=0), 0.15),
                    (np.percentile(paths, 25, axis=0), np.percentile(paths, 75, axis=0), 0.25),
                ]
            charts.append(
                svg.histogram(
                    f"NPV distribution over {n} scenarios (seed {seed})",
                    {labels[i]: sim["npv"][j] for j, i in enumerate(focus)},
                )
            )
        fan = " (bands: 5-95 % and 25-75 % of scenarios)" if bands else ""
        charts.append(
            svg.lines(f"Cash and debt on the forecast{fan}", q, {"cash": st.lines["cash_usd"], "debt": st.lines["debt_usd"]},
                      "USD", y_fmt=svg.money, bands=bands)
        )  # fmt: skip
        sections.append(
            "<h2>Plan</h2><div class='grid'>"
            + "".join(f"<div class='card'>{c}</div>" for c in charts)
            + "</div>"
        )

    if kind == "sweep" and metrics is not None:
        points = [
            {"label": r["plan"], "x": r["npv_mean_usd"], "y": r["npv_cvar5_usd"], "front": bool(r["on_front"]),
             "recommended": bool(r["recommended"])}
            for _, r in metrics.iterrows()
        ]  # fmt: skip
        front = svg.scatter("Candidates: mean NPV against CVaR5", points, "x", "y", "mean NPV", "CVaR5 NPV")
        sections.append(f"<h2>Pareto front</h2><div class='grid'><div class='card'>{front}</div></div>")
    if metrics is not None:
        cols = [c for c in ("plan", "origin", "forecast_npv_usd", "npv_mean_usd", "npv_p5_usd", "npv_cvar5_usd",
                            "breach_probability", "default_probability", "mean_utilisation") if c in metrics.columns]  # fmt: skip
        classes = None
        if kind == "sweep":
            classes = [
                "rec" if r["recommended"] else ("front" if r["on_front"] else "")
                for _, r in metrics.iterrows()
            ]
        sections.append(
            "<h2>Candidates and their risk</h2>"
            + _table(
                metrics[cols],
                money_cols={"forecast_npv_usd", "npv_mean_usd", "npv_p5_usd", "npv_cvar5_usd"},
                pct_cols={"breach_probability", "default_probability", "mean_utilisation"},
                classes=classes,
            )
        )
    if focus:
        buys = purchases_by_generation_year(data, plans[focus[0]]).reset_index(names="generation")
        sections.append(
            f"<h2>GPUs bought by generation and year: {escape(labels[focus[0]])}</h2>" + _table(buys)
        )
        st_cols = [
            "quarter",
            "revenue_usd",
            "ebitda_usd",
            "capex_gpu_usd",
            "capex_power_usd",
            "interest_usd",
            "cash_usd",
            "debt_usd",
        ]
        frame = st.frame(q)[st_cols]
        sections.append(
            "<h2>Quarterly statements (forecast, USD)</h2>" + _table(frame, money_cols=set(st_cols[1:]))
        )

    created = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    title = f"fleetopt {kind}: {data.model.name}"
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(title)}</title><style>{STYLE}</style></head>
<body><main>
<h1>{escape(title)}</h1>
<p class="sub">{escape(data.model.description)}<br>Run folder {escape(str(folder))}; horizon {q[0]}..{q[-1]}; written {created} by fleetopt {__version__}.</p>
<pre id="script-errors" hidden></pre>
<div class="kpis">{"".join(kpis)}</div>
{"".join(sections)}
<footer>Money in USD. NPV: discounted equity cash flows plus the fleet's resale value and power plant book value at the end, less debt (docs/formulation.md). Scenario semantics: docs/evaluation.md.</footer>
</main><script>{SCRIPT}</script></body></html>
"""


def write_report(folder: str | Path, out: str | Path | None = None) -> Path:
    """Write the report of a run folder (default: report.html inside it)."""
    from fleetopt.runs.files import write_text_atomic

    html = build_report(folder)
    out = Path(out) if out is not None else Path(folder) / "report.html"
    write_text_atomic(out, html)
    return out
