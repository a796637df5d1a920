"""HTML building blocks of the report pages: the style sheet and script every page carries, the
printed page's margin words, key-figure tiles, sortable tables and figures written for a cell."""

from __future__ import annotations

import itertools
import re
from html import escape

import numpy as np
import pandas as pd

from fleetopt.core.units import (
    format_number_compact,
    format_percent,
    format_usd,
    usd_column_formatter,
    whole_count,
)
from fleetopt.report import svg

# the pick's row in a table of plans, tinted and bold (its role's class, svg.ROLE_LOOKS)
PICK_ROW = svg.ROLE_LOOKS["recommended"].row_class

# a grid's column (a chart's card) is at least this wide (CSS px): two abreast from a laptop's 1024 px
# window (at 520 a laptop showed one chart a row, its type 17 to 22 px, larger than the page's own)
GRID_COLUMN_MIN_PX = 440


# .grid{align-items:start}: a chart's box as tall as its own chart, not its neighbour's (the Pareto
# chart beside its long key, a site's power beside the cash chart, left half their box blank);
# .kpi b{text-wrap:balance}: a tile's figure too long for one line wrapped "-$22.4M ±" over "$1.4M",
# balanced its lines are "-$22.4M" and "± $1.4M"
STYLE = """
body{font:15px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;color:#0f172a;background:#f8fafc;overflow-wrap:break-word}
main{max-width:1180px;margin:0 auto;padding:24px 28px 60px}
h1{font-size:26px;margin:0 0 4px}h2{font-size:19px;margin:34px 0 10px;border-bottom:1px solid #e2e8f0;padding-bottom:4px}
.sub{color:#475569}.grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(min(""" + f"{GRID_COLUMN_MIN_PX}px" + """,100%),1fr));gap:14px;align-items:start}
.card{background:#fff;border:1px solid #e2e8f0;border-radius:8px;padding:10px}
.kpis{display:grid;grid-template-columns:repeat(auto-fill,minmax(170px,1fr));gap:10px}
.kpi{background:#fff;border:1px solid #e2e8f0;border-radius:8px;padding:10px 12px;overflow-wrap:anywhere}
.kpi.wide{grid-column:span 2}.kpi b{display:block;font-size:20px;text-wrap:balance}.kpi span{color:#475569;font-size:13px}
dl.figures{font-size:14px;gap:0 14px}div.kpis+dl.figures{margin-top:10px}dl.figures dd{font-weight:600}h3.figures{margin-top:18px}
dl.figures dt,dl.figures dd{padding:5px 0;border-top:1px solid #f1f5f9}dl.figures dt:first-child,dl.figures dt:first-child+dd{border-top:0}
.why{background:#eff6ff;border-left:4px solid #1f6feb;padding:10px 14px;border-radius:4px}ul.why{padding-left:34px}
svg.chart{width:100%;height:auto}.grid>.card:only-child{max-width:760px}svg .title{font-weight:600;fill:#0f172a}
svg .tick{fill:#475569}svg .grid{stroke:#e2e8f0}
table{border-collapse:collapse;width:100%;background:#fff;font-size:13px}
th,td{border:1px solid #e2e8f0;padding:4px 8px;text-align:right}th{background:#f1f5f9;cursor:pointer}th:focus-visible{outline:2px solid #1f6feb;outline-offset:-2px}
td:first-child,th:first-child,td.text,th.text{text-align:left}""" + (
    f"tr.{PICK_ROW} td{{background:#dcfce7;font-weight:600;print-color-adjust:exact;-webkit-print-color-adjust:exact}}"
) + """
footer{margin-top:40px;color:#64748b;font-size:12px}
h3{font-size:15px;margin:16px 0 6px;color:#334155}.cap{color:#475569;font-size:13px;margin:6px 2px 0}
.scroll{overflow-x:auto;max-width:100%;border:1px solid #e2e8f0;border-radius:6px}.scroll table{border:0}
th{white-space:normal;vertical-align:bottom;min-width:48px}table.sortable th:not(.wrap){white-space:nowrap}td{white-space:nowrap}td.wrap{white-space:normal;min-width:16em}table.key td.wrap{min-width:8em}
dl.facts{display:grid;grid-template-columns:fit-content(40%) minmax(0,1fr);gap:2px 14px;margin:0;font-size:13px;background:#fff;border:1px solid #e2e8f0;border-radius:8px;padding:10px 14px}
dl.facts dt{color:#475569}dl.facts dd{margin:0;overflow-wrap:anywhere}dl.facts dd.bad{color:#b91c1c}
dl.terms{font-size:13px;margin:0;background:#fff;border:1px solid #e2e8f0;border-radius:8px;padding:4px 14px 10px;columns:2 460px;column-gap:28px}dl.terms dt{break-after:avoid}dl.terms dd{break-inside:avoid}dl.terms dt{font-weight:600;margin-top:8px}dl.terms dd{margin:2px 0 0 0;color:#334155}
@page{size:landscape;margin:10mm}
@media print{body{background:#fff;font-size:11px}main{max-width:none;padding:0}h2{break-after:avoid}h3{break-after:avoid}
.card,.kpi,tr,svg.chart{break-inside:avoid}.grid{grid-template-columns:1fr 1fr}
.scroll{overflow:visible;border:0}table{font-size:8px;table-layout:auto}th,td{padding:1px 2px}th{font-size:7px}
th{min-width:0;cursor:auto}td,table.sortable th:not(.wrap){white-space:normal}.cap.hint{display:none}
tbody tr:first-child:not(:last-child){break-after:avoid}tbody tr:last-child:not(:first-child){break-before:avoid}thead{display:table-header-group}
h2+.cap,h3+.cap{break-after:avoid}.grid+p{break-before:avoid}footer{break-before:avoid;margin-top:12px}
.scroll:not(:has(tbody>tr:nth-child(16))):not(:nth-last-child(2)){break-inside:avoid}
.cap,.kpi span,dl.facts,dl.terms,footer{font-size:10px}.kpi b{font-size:16px}
dl.facts{display:block}dl.facts dt{font-weight:600}dl.facts dd{margin:0 0 3px 14px}dl.figures dt{font-weight:400;break-after:avoid}dl.figures dd{border-top:0;padding-top:0}}
"""


STYLE += svg.line_dash_style() + svg.layout_style()


# a table of many figure columns made to fit the page (the candidates'): each header on two lines
# where longer than its figures, its rows' names wrapped, its text a pixel smaller, its cells padded less
# (on a screen: print sets every table smaller still)
STYLE += ("@media screen{table.fit{font-size:12px}table.fit th{min-width:0}table.fit th,table.fit td{padding:4px 3px}"
          "table.fit td.wrap{min-width:9em}}")


# a phone's narrow screen: less of it left blank beside a card, so a chart's text reads larger; a key
# figure listed under the tiles below its words, not in a column a third of the screen wide
STYLE += ("@media screen and (max-width:600px){main{padding:16px 12px 48px}"
          "dl.figures{display:block}dl.figures dd{border-top:0;padding-top:0}}")


# a screen of one tile a row (below two 170 px tiles and their gap, with main's padding): a wide tile
# spanning two would add a column past the screen's edge
STYLE += "@media screen and (max-width:373px){.kpi.wide{grid-column:auto}}"


# a plan's row by its role: a bar in its role's colour at the row's start, as the charts draw it (the
# table marked the pick alone, the forecast optimum and the third plan nowhere); the pick's row
# tinted and bold too (PICK_ROW)
def _role_bars(edge: str = "") -> str:
    """Each role's row bar (:data:`~fleetopt.report.svg.ROLE_LOOKS`), with ``edge`` after it (a
    sticky column's rule)."""
    return "".join(f"tr.{look.row_class} td:first-child{{box-shadow:inset 4px 0 {look.colour}{edge}}}"
                   for look in svg.ROLE_LOOKS.values())  # fmt: skip


# a candidate's row in the colours of its point in the Pareto chart
STYLE += _role_bars() + f"tr.front td:first-child{{font-weight:700;color:{svg.FRONT}}}"


# a wide table scrolled sideways lost its rows' names: from this width its first column stays in
# view, opaque, with a rule at its edge; on a phone it would take too much of the screen
STICKY_FROM_PX = 700


# (and a table's further columns of class stick, each at the left the script gives it: a candidate's
# number and plan)
STYLE += (f"@media screen and (min-width:{STICKY_FROM_PX}px){{.scroll td:first-child,.scroll th:first-child,"
          ".scroll .stick{position:sticky;left:0;z-index:1;box-shadow:inset -1px 0 #cbd5e1}.scroll td:first-child,"
          f".scroll td.stick{{background:#fff}}.scroll tr.{PICK_ROW} td:first-child,.scroll tr.{PICK_ROW} td.stick{{background:#dcfce7}}"
          + _role_bars(",inset -1px 0 #cbd5e1").replace("tr.", ".scroll tr.") + "}")  # fmt: skip


# a printed page's bottom margin: which report it is of, and 'page N of M' (set by page_context_style)
_MARGIN_FONT = "font:8px system-ui,-apple-system,Segoe UI,Roboto,sans-serif;color:#64748b"


def css_string(text: str) -> str:
    """``text`` as a CSS string inside an HTML <style>: a quote, backslash, '<' (which could end the
    <style>) or control character written as a CSS escape."""
    return '"' + "".join(c if c.isprintable() and c not in '"\\<>' else f"\\{ord(c):X} " for c in text) + '"'


def page_context_style(context: str) -> str:
    """The print rule that writes ``context`` (the report's kind and model, its run, when it was
    written) and 'page N of M' in the bottom margin of every printed page: a page read apart from
    the first, as one mailed or printed is, names the report it is of."""
    pages = '"page " counter(page) " of " counter(pages)'
    return (f"@page{{@bottom-left{{content:{css_string(context)};{_MARGIN_FONT}}}"
            f"@bottom-right{{content:{pages};{_MARGIN_FONT};white-space:nowrap}}}}")  # never 'page 2 of' / '7'


SCRIPT = """
window.__errors = [];
window.addEventListener('error', function (e) { window.__errors.push(String(e.message)); report(); });
function report() {
  var box = document.getElementById('script-errors');
  box.textContent = window.__errors.join('\\n');
  box.hidden = window.__errors.length === 0;
}
// a cell's figure: its data-v, else its words read as a figure ('2,000 GPUs', '-$4.6M', '+$988.2k',
// '12.5%', '2.5 MW'; parseFloat read '2,000 GPUs' as 2, below '62 GPUs'), else NaN: words, sorted as words
function figure(cell) {
  if (cell.dataset.v) return parseFloat(cell.dataset.v);
  var m = /^([+-]?)\\$?(\\d[\\d,]*(?:\\.\\d+)?)([kMB]?)(?:%| [A-Za-z][A-Za-z -]*)?$/.exec(cell.textContent.trim());
  if (!m) return NaN;
  var v = parseFloat(m[2].replace(/,/g, '')) * {'': 1, k: 1e3, M: 1e6, B: 1e9}[m[3]];
  return m[1] === '-' ? -v : v;
}
// click a column header, or focus it and press Enter or Space, to sort its table; the column is the
// header's own index in its table (a count over all the page's headers misses every later table)
document.querySelectorAll('table.sortable th').forEach(function (th) {
  th.tabIndex = 0;
  function sort() {
    var col = th.cellIndex, body = th.closest('table').tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    var asc = th.getAttribute('aria-sort') !== 'ascending';
    rows.sort(function (a, b) {
      var x = a.cells[col].dataset.v || a.cells[col].textContent, y = b.cells[col].dataset.v || b.cells[col].textContent;
      var nx = figure(a.cells[col]), ny = figure(b.cells[col]);
      // a cell with no figure ('n/a', data-v 'nan') after the figures, either way: compared as words
      // with them it scattered a column's figures ('n/a' between '$5.0M' and '-$3.0M')
      if (isNaN(nx) !== isNaN(ny)) return isNaN(nx) ? 1 : -1;
      var c = isNaN(nx) ? x.localeCompare(y) : nx - ny;
      return asc ? c : -c;
    });
    rows.forEach(function (r) { body.appendChild(r); });
    th.parentNode.querySelectorAll('th[aria-sort]').forEach(function (o) { o.removeAttribute('aria-sort'); });
    th.setAttribute('aria-sort', asc ? 'ascending' : 'descending');
  }
  th.addEventListener('click', sort);
  th.addEventListener('keydown', function (e) {
    if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); sort(); }
  });
});
// for screen readers: each header cell heads its column, each table is named by its section's heading
document.querySelectorAll('th').forEach(function (th) { th.setAttribute('scope', 'col'); });
document.querySelectorAll('table').forEach(function (t) {
  for (var p = (t.closest('.scroll') || t).previousElementSibling; p; p = p.previousElementSibling) {
    if (p.tagName === 'H2' || p.tagName === 'H3') { t.setAttribute('aria-label', p.textContent); break; }
  }
});
// a table's columns of class stick stay in view beside its first (the CSS makes them sticky from
// STICKY_FROM_PX): each at the right of the columns before it
function stick() {
  document.querySelectorAll('.scroll table').forEach(function (t) {
    if (!t.tHead) return;
    var head = t.tHead.rows[0].cells, left = 0;
    for (var k = 1; k < head.length && head[k].classList.contains('stick'); k++) {
      left += head[k - 1].getBoundingClientRect().width;
      t.querySelectorAll('tr > :nth-child(' + (k + 1) + ')').forEach(function (c) { c.style.left = left + 'px'; });
    }
  });
}
stick();
window.addEventListener('resize', stick);
// a table's hint to scroll it sideways, said only while it is wider than its box (the candidates'
// tables fit a desktop's page); that a click on a header sorts it, always
function hints() {
  document.querySelectorAll('.cap.hint').forEach(function (p) {
    var box = p.nextElementSibling;
    if (!box || !box.classList.contains('scroll')) return;
    p.dataset.all = p.dataset.all || p.textContent;
    var fits = box.scrollWidth <= box.clientWidth + 1, sorts = p.dataset.all.indexOf('click a header') >= 0;
    p.textContent = fits ? (sorts ? 'Click a header to sort.' : '') : p.dataset.all;
    p.hidden = fits && !sorts;
  });
}
hints();
window.addEventListener('resize', hints);
document.body.dataset.ready = '1';
"""


# a key figure whose value is longer (a sentence: customers' shares, breaches named by quarter) is not
# a tile's headline: it is listed under the tiles, its words beside it
KPI_LONG_VALUE = 20


# a key figure whose words are longer (its arithmetic: a cost solve's present cost, the NPV's end part)
# takes a tile two columns wide: in one, its words ran 13 lines, its neighbours' tiles stretched as tall
KPI_WIDE_LABEL = 120


class Kpi(str):
    """A key figure: its tile's HTML, its words (``label``) and its figure (``value``) kept to list
    it under the tiles where the value is a sentence (:func:`kpi_block`)."""

    label: str
    value: str

    def __new__(cls, label: str, value: str):
        kind = "kpi wide" if len(label) > KPI_WIDE_LABEL else "kpi"
        tile = super().__new__(cls, f'<div class="{kind}"><b>{escape(value)}</b><span>{escape(label)}</span></div>')
        tile.label, tile.value = label, value
        return tile


def kpi_block(kpis: list[Kpi]) -> str:
    """Key figures as tiles, a short figure each, then those whose value is a sentence as a list of
    words and figure: in a tile such a value left it ragged and its row half blank."""
    tiles = "".join(k for k in kpis if len(k.value) <= KPI_LONG_VALUE)
    long = "".join(f"<dt>{escape(k.label)}</dt><dd>{escape(k.value)}</dd>"
                   for k in kpis if len(k.value) > KPI_LONG_VALUE)  # fmt: skip
    return (f"<div class='kpis'>{tiles}</div>" if tiles else "") + (
        f"<dl class='facts figures'>{long}</dl>" if long else "")


def _cell_formatters(frame: pd.DataFrame, money_cols, pct_cols, count_cols, usd_cols=()) -> dict:
    out = {}
    for col in frame.columns:
        if col in usd_cols:
            out[col] = format_usd  # each figure in its own scale, as the terminal writes it
        elif col in money_cols:
            out[col] = usd_column_formatter(pd.to_numeric(frame[col], errors="coerce").fillna(np.nan))
        elif col in pct_cols:
            out[col] = format_percent
        elif col in count_cols:
            out[col] = whole_count  # whole GPUs: a solver's 1e-9 is not a fraction of one
        else:
            out[col] = format_number_compact
    return out


def scroll_hint(columns: int, sortable: bool = True) -> str:
    """The line above a table that can be wider than the page (hidden in print, where it is not)."""
    sort = "; click a header to sort" if sortable else ""
    return f"<p class='cap hint'>{columns} columns: scroll the table sideways to see them all{sort}.</p>"


def sortable_table(
    frame: pd.DataFrame, money_cols=(), pct_cols=(), classes=None, headers=None, count_cols=(), usd_cols=(),
    wrap_cols=(), sticky: int = 1, figure_cols=(), fit: bool = False, tall_headers: bool = False,
) -> str:
    """A sortable table in its own horizontally scrolling box; ``headers`` renames columns for people,
    each on at most two lines (three with ``tall_headers``: :func:`header_lines`). USD of ``money_cols`` is in one scale per
    column, of ``usd_cols`` in each figure's own scale (a column of unlike figures, such as RP and
    VSS); the text of ``wrap_cols`` wraps (sentences, which on one line pushed the table past the
    page); its first ``sticky`` columns, which name its rows, stay in view when it is scrolled
    sideways (at a desktop's width, :data:`STICKY_FROM_PX`); the words of ``figure_cols`` are figures
    ('2,000 GPUs', '$4.6M'), right-aligned as numbers are; ``fit``: each header on two lines where
    longer than its figures, set smaller, so that it fits a desktop's page rather than scroll."""
    headers = headers or {}
    text = {c for c in frame.columns  # left, as their cells
            if not pd.api.types.is_numeric_dtype(frame[c]) and c not in figure_cols}
    stick = {c: " stick" for c in frame.columns[1:sticky]}  # the first column is by :first-child
    formats = _cell_formatters(frame, money_cols, pct_cols, count_cols, usd_cols)
    rows, widest = [], dict.fromkeys(frame.columns, 0)
    for n, row in enumerate(frame.itertuples(index=False)):
        cells = []
        for col, v in zip(frame.columns, row, strict=True):
            if isinstance(v, (float, np.floating, int, np.integer)) and not isinstance(v, bool):
                shown, data = formats[col](float(v)), f' data-v="{float(v)!r}"'
                cls = stick.get(col, "")
            else:
                shown, data = str(v), ""
                cls = ("text" if col in text else "") + (" wrap" if col in wrap_cols else "") + stick.get(col, "")
            widest[col] = max(widest[col], len(shown))
            cells.append(f'<td{data} class="{cls.strip()}">{escape(shown)}</td>'.replace(' class=""', ""))
        cls = f' class="{classes[n]}"' if classes and classes[n] else ""
        rows.append(f"<tr{cls}>{''.join(cells)}</tr>")
    head = "".join(
        f'<th class="{" ".join(k for k, on in (("text", c in text), ("wrap", c in wrap_cols), ("stick", c in stick)) if on)}">'
        f"{_header_html(str(headers.get(c, c)), widest[c], c in wrap_cols, fit, tall_headers)}</th>"
        for c in frame.columns
    ).replace(' class=""', "")
    return (
        f'<div class="scroll"><table class="sortable{" fit" if fit else ""}{" tall" if tall_headers else ""}">'
        f"<thead><tr>{head}</tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table></div>"
    )


# a header up to this many characters stays on one line, however narrow its column's figures
HEADER_LINE_CHARS = 14


def header_lines(header: str, widest: int, one_line: int = HEADER_LINE_CHARS, most: int = 2) -> list[str]:
    """``header`` on one line, or on up to ``most`` where it is longer than both its column's widest
    figure (``widest`` characters) and :data:`HEADER_LINE_CHARS`: cut at the spaces that make the
    longest line shortest (a third line only where it makes it shorter still), never beside a symbol
    alone ('P(NPV < 0)' stays whole). Over figures as narrow as '$2.8M' a browser wrapped a header at
    every space, 'mean NPV, no liquidity default (USD)' five lines tall."""
    words = header.split(" ")
    cut_at = [i for i in range(1, len(words))
              if re.search("[A-Za-z0-9]", words[i - 1]) and re.search("[A-Za-z0-9]", words[i])]  # fmt: skip
    best = [header]
    if len(header) <= max(widest, one_line):
        return best
    for count in range(1, most):
        for cuts in itertools.combinations(cut_at, count):
            lines = [" ".join(words[a:b]) for a, b in zip((0, *cuts), (*cuts, len(words)), strict=True)]
            if max(map(len, lines)) < max(map(len, best)):
                best = lines
        if max(map(len, best)) <= widest:  # as narrow as its figures: no more lines
            break
    return best


def _header_html(header: str, widest: int, wraps: bool, fit: bool, tall: bool) -> str:
    """A column's header, its lines apart (the space kept, for a screen reader and a copy); a
    column of sentences' header wraps as its cells do; in a table made to fit the page, on two lines
    wherever longer than its figures, on three in a ``tall`` one."""
    lines = header_lines(header, widest, 0 if fit else HEADER_LINE_CHARS, 3 if tall else 2)
    return escape(header) if wraps else " <br>".join(escape(line) for line in lines)
