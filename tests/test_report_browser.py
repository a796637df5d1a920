"""HTML reports: self-contained, rendered by headless Chromium without script errors and not blank;
`fleetopt report` by run id and with bad input."""

from __future__ import annotations

import json
import re
import shutil
import struct
import subprocess
import zlib
from html import escape, unescape
from pathlib import Path

import numpy as np
import pytest
from conftest import run_cli

from fleetopt import api
from fleetopt.report.comparison import BETTER_MARK, WORSE_MARK
from fleetopt.report.markup import GRID_COLUMN_MIN_PX, SCRIPT

CHROMIUM = shutil.which("chromium")
needs_chromium = pytest.mark.skipif(
    CHROMIUM is None, reason="headless Chromium (`chromium` on PATH) is needed to render the reports"
)
WIDTH, HEIGHT = 1280, 2000


@pytest.fixture(scope="module")
def reports(tmp_path_factory) -> dict[str, Path]:
    """report.html of a solve, a sweep and a stochastic solve of tiny, written by the CLI with --report."""
    root = tmp_path_factory.mktemp("reports")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("FLEETOPT_RUNS_DIR", str(root / "runs"))
        code, _, err = run_cli("solve", "tiny", "--out", str(root / "A"), "--report")
        assert code == 0, err
        code, _, err = run_cli("sweep", "tiny", "--candidates", "6", "--scenarios", "200",
                               "--out", str(root / "B"), "--report")  # fmt: skip
        assert code == 0, err
        code, _, err = run_cli("solve", "tiny", "--stochastic", "2", "--first-stage-quarters", "2",
                               "--out", str(root / "C"), "--report")  # fmt: skip
        assert code == 0, err
        # three plans, as a sweep's user compares them: its forecast optimum, its pick and a solve
        code, _, err = run_cli("compare", str(root / "B"), str(root / "A"),
                               "--out", str(root / "compare.html"))  # fmt: skip
        assert code == 0, err
    folders = {"solve": "A", "sweep": "B", "stochastic": "C"}
    return {kind: root / folder / "report.html" for kind, folder in folders.items()} | {
        "comparison": root / "compare.html"
    }


# ---------------------------------------------------------------- the HTML itself


@pytest.mark.parametrize("kind", ["solve", "sweep", "stochastic"])
def test_report_is_self_contained(reports, kind):
    html = reports[kind].read_text(encoding="utf-8")
    assert html.lstrip().lower().startswith("<!doctype html>")
    assert not re.findall(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", html, re.I)
    assert not re.search(r"<link\b[^>]*stylesheet", html, re.I)
    assert not re.search(r"<script\b[^>]*\bsrc\s*=", html, re.I)
    assert not re.search(r"@import|url\(\s*['\"]?(?:https?:)?//", html, re.I)
    assert "<svg" in html and '<pre id="script-errors" hidden>' in html
    if kind == "sweep":
        assert "Pareto front" in html and "Recommendation" in html
    if kind == "stochastic":  # the measures, the reduced scenarios, both plans out of sample
        for words in ("Two-stage stochastic solution", "VSS = RP - EEV", "Reduced scenarios"):
            assert words in html
        assert "Out of sample" in html
        assert "NPV distribution" in html and "forecast" in html


# ---------------------------------------------------------------- rendered by Chromium


def chromium(tmp_path: Path, html: Path, *mode: str) -> subprocess.CompletedProcess:
    args = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            f"--user-data-dir={tmp_path / 'chromium-profile'}", *mode, html.resolve().as_uri()]  # fmt: skip
    done = subprocess.run(args, capture_output=True, text=True, timeout=90, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    return done


def read_png(path: Path) -> np.ndarray:
    """Pixels (height, width, channels) of an 8-bit, non-interlaced greyscale/RGB/RGBA PNG."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, header = 8, b"", None
    while pos < len(data):
        (n,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + n]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        pos += 12 + n
    width, height, depth, colour, _, _, interlace = header
    assert depth == 8 and interlace == 0 and colour in (0, 2, 4, 6), header
    bpp = {0: 1, 2: 3, 4: 2, 6: 4}[colour]
    stride = width * bpp
    raw = np.frombuffer(zlib.decompress(idat), dtype=np.uint8).reshape(height, stride + 1)
    out = np.zeros((height, stride), dtype=np.uint8)
    prev = np.zeros(stride, dtype=np.uint8)
    for y in range(height):
        kind, line = raw[y, 0], raw[y, 1:]
        if kind == 0:
            row = line.copy()
        elif kind == 1:  # Sub: running sum per channel
            row = (np.cumsum(line.reshape(width, bpp), axis=0, dtype=np.int64) % 256).astype(np.uint8).ravel()
        elif kind == 2:  # Up
            row = line + prev
        else:  # Average or Paeth: sequential along the row
            cur, up = bytearray(line.tobytes()), prev.tobytes()
            for i in range(stride):
                a = cur[i - bpp] if i >= bpp else 0
                b = up[i]
                if kind == 3:
                    cur[i] = (cur[i] + (a + b) // 2) & 0xFF
                    continue
                c = up[i - bpp] if i >= bpp else 0
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pred = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
                cur[i] = (cur[i] + pred) & 0xFF
            row = np.frombuffer(bytes(cur), dtype=np.uint8)
        out[y] = row
        prev = row
    return out.reshape(height, width, bpp)


@needs_chromium
@pytest.mark.parametrize("kind", ["solve", "sweep", "stochastic"])
def test_report_renders_without_script_errors(reports, kind, tmp_path):
    dom = chromium(tmp_path, reports[kind], "--dump-dom").stdout
    assert re.search(r"<body[^>]*\bdata-ready=\"1\"", dom), "the page's script did not finish"
    box = re.search(r"<pre id=\"script-errors\"([^>]*)>(.*?)</pre>", dom, re.S)
    assert box is not None, "the #script-errors element is gone"
    assert "hidden" in box.group(1) and box.group(2).strip() == "", f"script errors: {box.group(2)}"
    assert dom.count("<svg") >= 3


@needs_chromium
@pytest.mark.parametrize("kind", ["solve", "sweep", "stochastic"])
def test_report_screenshot_is_not_blank(reports, kind, tmp_path):
    png = tmp_path / "shot.png"
    chromium(tmp_path, reports[kind], f"--screenshot={png}", f"--window-size={WIDTH},{HEIGHT}")
    pixels = read_png(png)[..., :3]
    assert pixels.shape[:2] == (HEIGHT, WIDTH)
    rgb = pixels.astype(np.int32)
    colours, counts = np.unique((rgb[..., 0] << 16) | (rgb[..., 1] << 8) | rgb[..., 2], return_counts=True)
    background = counts.max() / counts.sum()
    assert len(colours) > 100, f"only {len(colours)} distinct colours: a blank page?"
    assert background < 0.95, f"{background:.1%} of the page is one colour"
    dark = (pixels.astype(int).sum(axis=2) < 200).mean()  # text and chart lines
    assert dark > 0.002, f"only {dark:.3%} dark pixels: no text drawn?"


# the narrower of the papers a report prints on, landscape: US Letter's 279.4 mm (A4's is 297 mm)
# less 2 x 10 mm margins (the report's @page), at 96 CSS px an inch
LETTER_LANDSCAPE_PX = 980


@needs_chromium
def test_printed_candidates_table_keeps_every_column_on_the_page(reports, tmp_path):
    """Printed at Letter width, the candidates table's right-hand columns (CVaR5, P(breach), P(default))
    were cut off: the table scrolled in a box the page cannot scroll. With the print rules applied
    as screen rules (headless Chromium cannot emulate print from the command line) in a window as
    wide as the printed page, every header cell of the table ends inside the page."""
    html = reports["sweep"].read_text(encoding="utf-8")
    assert "@media print{" in html
    probe = ("var t = document.querySelector('table.sortable'), w = document.documentElement.clientWidth;"
             "var out = Array.prototype.filter.call(t.tHead.rows[0].cells, function (c) {"
             " return c.getBoundingClientRect().right > w + 0.5; })"
             ".map(function (c) { return c.textContent; });"
             "document.body.dataset.outside = JSON.stringify(out);")  # fmt: skip
    printed = tmp_path / "printed.html"
    html = html.replace("@media print{", "@media all{").replace("</body>", f"<script>{probe}</script></body>")
    printed.write_text(html, encoding="utf-8")
    dom = chromium(tmp_path, printed, "--dump-dom", f"--window-size={LETTER_LANDSCAPE_PX},900").stdout
    outside = re.search(r'data-outside="([^"]*)"', dom)
    assert outside is not None, "the probe did not run"
    assert outside.group(1) == "[]", f"header cells beyond the printed page: {outside.group(1)}"


@needs_chromium
def test_printed_report_takes_the_papers_size_in_landscape(reports, tmp_path):
    """The report fixed its printed page at A4 landscape, so a US finance team's Letter printer got
    A4 pages shrunk or cut. The page names landscape alone: printed by headless Chromium, whose paper
    is Letter (8.5 x 11 in), every page is 792 x 612 pt (11 x 8.5 in)."""
    pdf = tmp_path / "solve.pdf"
    chromium(tmp_path, reports["solve"], f"--print-to-pdf={pdf}", "--no-pdf-header-footer")
    pages = re.findall(rb"/MediaBox \[([^\]]*)\]", pdf.read_bytes())
    assert len(pages) > 1 and {p.decode() for p in pages} == {"0 0 792 612"}, pages


# the printed page's margin boxes as Chromium parsed them: {box name: its content, serialised}
MARGIN_PROBE = """
var found = {};
Array.prototype.forEach.call(document.styleSheets, function (s) {
  Array.prototype.forEach.call(s.cssRules, function (r) {
    if (!(r instanceof CSSPageRule)) return;
    Array.prototype.forEach.call(r.cssRules || [], function (m) {
      found[m.name] = m.style.getPropertyValue('content'); });
  });
});
document.body.dataset.margins = JSON.stringify(found);
"""
PRINTED_CONTEXT = {
    "solve": r"fleetopt solve: tiny, run folder A, report written ",
    "sweep": r"fleetopt sweep: tiny, run folder B, report written ",
    "stochastic": r"fleetopt stochastic: tiny, run folder C, report written ",
    "comparison": r"fleetopt comparison: tiny, 3 plans on 200 common scenarios \(seed 0\), written ",
}


@needs_chromium
@pytest.mark.parametrize("kind", ["solve", "sweep", "stochastic", "comparison"])
def test_every_printed_page_names_its_report_and_its_number(reports, kind, tmp_path):
    """Printed to PDF, a report named its run on the first page alone: a later page, mailed or read
    apart, said neither which report, model or run it was of nor its number. Chromium reads the
    page's @page margin boxes: at the bottom left the report's kind and model, its run folder (a
    comparison: its plans and scenarios) and when it was written; at the bottom right 'page N of M'."""
    probed = tmp_path / "probed.html"
    html = reports[kind].read_text(encoding="utf-8")
    probed.write_text(html.replace("</body>", f"<script>{MARGIN_PROBE}</script></body>"), encoding="utf-8")
    dom = chromium(tmp_path, probed, "--dump-dom").stdout
    margins = re.search(r'data-margins="([^"]*)"', dom)
    assert margins is not None, "the probe did not run"
    boxes = json.loads(unescape(margins.group(1)))
    written = r"\d{4}-\d\d-\d\d \d\d:\d\d UTC"
    assert re.fullmatch(f'"{PRINTED_CONTEXT[kind]}{written}"', boxes.get("bottom-left", "")), boxes
    assert boxes.get("bottom-right") == '"page " counter(page) " of " counter(pages)', boxes


# the print rules that break pages as Chromium parsed them: {selector: [break-before, break-after,
# break-inside]}
ROW_BREAK_PROBE = """
var found = {};
Array.prototype.forEach.call(document.styleSheets, function (s) {
  Array.prototype.forEach.call(s.cssRules, function (r) {
    if (!(r instanceof CSSMediaRule) || r.media.mediaText !== 'print') return;
    Array.prototype.forEach.call(r.cssRules, function (x) {
      if (x.selectorText && (x.style.breakBefore || x.style.breakAfter || x.style.breakInside))
        found[x.selectorText] = [x.style.breakBefore, x.style.breakAfter, x.style.breakInside];
    });
  });
});
document.body.dataset.rows = JSON.stringify(found);
"""


@needs_chromium
@pytest.mark.parametrize("kind", ["stochastic", "comparison"])
def test_a_printed_table_leaves_no_row_alone_on_a_page(reports, kind, tmp_path):
    """Printed, a short table split with one row alone on a page: the stochastic report of tiny put
    the first of its 8 quarterly statements at the foot of a page and the other 7 on the next, the
    default model's sweep its first candidate of 5, its debt by facility its last of 14. In print a
    table's first body row keeps with the one after it and its last with the one before (a table
    of two rows is never split), as Chromium reads the page's print rules. A table of one row is not
    tied to what follows it (its row's 'keep with the next' became the table's: the evaluation's
    table of its plan kept with the next section and left the charts' page a third blank); a table
    under 16 rows but the page's last is not split; a section's opening caption keeps with its
    table or chart, as its heading keeps with the caption."""
    probed = tmp_path / "probed.html"
    html = reports[kind].read_text(encoding="utf-8")
    probed.write_text(html.replace("</body>", f"<script>{ROW_BREAK_PROBE}</script></body>"), encoding="utf-8")
    rows = re.search(r'data-rows="([^"]*)"', chromium(tmp_path, probed, "--dump-dom").stdout)
    assert rows is not None, "the probe did not run"
    rules = json.loads(unescape(rows.group(1)))
    assert rules.get("tbody tr:first-child:not(:last-child)", [None, None])[1] == "avoid", rules
    assert rules.get("tbody tr:last-child:not(:first-child)", [None, None])[0] == "avoid", rules
    assert "tbody tr:first-child" not in rules and "tbody tr:last-child" not in rules, rules
    assert rules.get("h2 + .cap, h3 + .cap", [None, None])[1] == "avoid", rules
    short = ".scroll:not(:has(tbody > tr:nth-child(16))):not(:nth-last-child(2))"
    assert rules.get(short, [None] * 3)[2] == "avoid", rules


# printed type sizes (px) as Chromium computes them: the answer ("In short") and the secondary texts
TYPE_PROBE = """
var size = function (q) {
  var e = document.querySelector(q); return e ? parseFloat(getComputedStyle(e).fontSize) : null; };
document.body.dataset.sizes = JSON.stringify({answer: size('p.why'), caption: size('.cap'),
  facts: size('dl.facts'), label: size('.kpi span'), definitions: size('dl.terms')});
"""


@needs_chromium
def test_a_printed_report_sets_its_answer_no_smaller_than_its_captions(reports, tmp_path):
    """Printed, "In short", the report's answer, came out at 11px while the captions, the facts and
    the key figures' labels kept their screen 13px (a print review): the print rules shrank only the
    text sized by the page; the definitions still printed at 13px, their screen rule coming after the
    print rules. With them applied as screen rules, the answer is the largest of these."""
    html = reports["stochastic"].read_text(encoding="utf-8").replace("@media print{", "@media all{")
    printed = tmp_path / "printed.html"
    printed.write_text(html.replace("</body>", f"<script>{TYPE_PROBE}</script></body>"), encoding="utf-8")
    sizes = re.search(r'data-sizes="([^"]*)"', chromium(tmp_path, printed, "--dump-dom").stdout)
    assert sizes is not None, "the probe did not run"
    sizes = json.loads(unescape(sizes.group(1)))
    assert None not in sizes.values(), sizes
    assert all(sizes["answer"] >= size for size in sizes.values()), sizes


# each line chart's lines and legend swatches as Chromium computes their dash: [[chart, line, dash]]
DASH_PROBE = """
var out = [];
document.querySelectorAll('svg.chart').forEach(function (svg, c) {
  svg.querySelectorAll('path[fill="none"], line[stroke-width="2"]').forEach(function (e) {
    out.push([c, e.tagName, e.getAttribute('class') || '', getComputedStyle(e).strokeDasharray]); });
});
document.body.dataset.dashes = JSON.stringify(out);
"""


@needs_chromium
def test_printed_in_grey_a_chart_s_lines_are_told_apart_by_their_dashes(reports, tmp_path):
    """Printed in grey, a line chart's lines told apart by colour alone looked alike (cash and debt;
    the three lines of "When ... breaks"; a print review), as they do to a colour-blind reader on
    screen. Each solid line after the first has a dash pattern of its own, in print and on screen,
    and its legend swatch the same."""
    html = reports["solve"].read_text(encoding="utf-8")
    for media in ("print", "screen"):
        shown = html.replace("@media print{", "@media all{") if media == "print" else html
        probed = tmp_path / f"{media}.html"
        probed.write_text(shown.replace("</body>", f"<script>{DASH_PROBE}</script></body>"), encoding="utf-8")
        found = re.search(r'data-dashes="([^"]*)"', chromium(tmp_path, probed, "--dump-dom").stdout)
        assert found is not None, "the probe did not run"
        drawn = json.loads(unescape(found.group(1)))
        classed = {(kind, dash) for _, _, kind, dash in drawn if kind in ("s1", "s2", "s3")}
        assert classed, "no chart has a second solid line"
        dashes = {("s1", "8px, 3px"), ("s2", "2px, 2.5px"), ("s3", "8px, 2.5px, 2px, 2.5px")}
        assert classed <= dashes, (media, classed)
        # a line and its legend swatch share their class, so the legend shows the dash drawn
        for chart in {c for c, _, kind, _ in drawn if kind}:
            tags = {(tag, kind) for c, tag, kind, _ in drawn if c == chart and kind}
            lines, swatches = ({kind for tag, kind in tags if tag == t} for t in ("path", "line"))
            assert lines == swatches, (chart, tags)


# every header of every sortable table after the first: clicked once it sorts its own column up,
# pressed with Enter (the keyboard's way) down; aria-sort says which; a wrong order is noted
SORT_PROBE = """
var out = [], tables = document.querySelectorAll('table.sortable');
function values(table, col) {
  return Array.prototype.map.call(table.tBodies[0].rows, function (r) { return r.cells[col]; });
}
function ordered(v, sign) {
  for (var i = 1; i < v.length; i++) {
    var x = figure(v[i - 1]), y = figure(v[i]);  // as the page reads a cell ('$4.6M')
    if (isNaN(x) && !isNaN(y)) return false;  // a cell with no figure ('n/a') after every figure
    if (isNaN(x) !== isNaN(y)) continue;
    var c = isNaN(x) ? v[i - 1].textContent.localeCompare(v[i].textContent) : x - y;
    if (sign * c > 0) return false;
  }
  return true;
}
for (var t = 1; t < tables.length; t++) {
  Array.prototype.forEach.call(tables[t].tHead.rows[0].cells, function (th, col) {
    var where = 'table ' + t + ' column ' + col + ' (' + th.textContent + ')';
    if (th.tabIndex !== 0) out.push(where + ': not reachable by Tab');
    th.click();
    if (!ordered(values(tables[t], col), 1) || th.getAttribute('aria-sort') !== 'ascending')
      out.push(where + ': not sorted up by a click');
    th.dispatchEvent(new KeyboardEvent('keydown', {key: 'Enter', bubbles: true}));
    if (!ordered(values(tables[t], col), -1) || th.getAttribute('aria-sort') !== 'descending')
      out.push(where + ': not sorted down by Enter');
    if (th.parentNode.querySelectorAll('th[aria-sort]').length !== 1)
      out.push(where + ': aria-sort on another header too');
  });
}
document.body.dataset.tables = tables.length;
document.body.dataset.unsorted = JSON.stringify(out.concat(window.__errors));
"""


@needs_chromium
@pytest.mark.parametrize("kind", ["solve", "sweep"])
def test_every_sortable_table_sorts_by_its_own_columns(reports, kind, tmp_path):
    """The sort script numbered headers across the page's tables, so a header of any table after the
    first sorted by a column its rows do not have and threw ("Cannot read properties of undefined
    (reading 'dataset')"), shown at the page's top. Every header of the later tables sorts its own
    column, by a click and by the keyboard, with no script error."""
    html = reports[kind].read_text(encoding="utf-8")
    probed = tmp_path / "sorted.html"
    probed.write_text(html.replace("</body>", f"<script>{SORT_PROBE}</script></body>"), encoding="utf-8")
    dom = chromium(tmp_path, probed, "--dump-dom").stdout
    tables = re.search(r'data-tables="(\d+)"', dom)
    assert tables is not None and int(tables.group(1)) >= 2, "a page with two sortable tables expected"
    unsorted = re.search(r'data-unsorted="([^"]*)"', dom)
    assert unsorted is not None, "the probe did not finish"
    assert unsorted.group(1) == "[]", unescape(unsorted.group(1))[:2000]


# a column of figures and cells with none, sorted up by a click and down by Enter, each order noted
MIXED_SORT_PROBE = """
var th = document.querySelector('table.sortable th'), orders = [];
function order() {
  var rows = th.closest('table').tBodies[0].rows;
  return Array.prototype.map.call(rows, function (r) { return r.cells[0].textContent; }).join(' ');
}
th.click();
orders.push(order());
th.dispatchEvent(new KeyboardEvent('keydown', {key: 'Enter', bubbles: true}));
orders.push(order());
document.body.dataset.orders = JSON.stringify(orders.concat(window.__errors));
"""


@needs_chromium
def test_a_column_with_cells_of_no_figure_sorts_them_last_either_way(tmp_path):
    """A cell with no figure ('n/a', or data-v 'nan') was compared with the figures as words, so a
    column holding both sorted in a mixed order ('-$3.0M n/a $10.0M ...'). The figures now sort up
    (-$3.0M, $5.0M, $10.0M) or down, and the cells without one come after them both ways."""
    cells = ["$5.0M", "<td data-v='nan'>n/a</td>", "-$3.0M", "n/a", "$10.0M"]
    rows = "".join(f"<tr>{c if c.startswith('<td') else f'<td>{c}</td>'}</tr>" for c in cells)
    page = tmp_path / "mixed.html"
    page.write_text(f"<!doctype html><html><body><pre id='script-errors' hidden></pre>"
                    "<table class='sortable'><thead><tr><th>NPV</th></tr></thead>"
                    f"<tbody>{rows}</tbody></table>"
                    f"<script>{SCRIPT}</script><script>{MIXED_SORT_PROBE}</script></body></html>",
                    encoding="utf-8")  # fmt: skip
    orders = re.search(r'data-orders="([^"]*)"', chromium(tmp_path, page, "--dump-dom").stdout)
    assert orders is not None, "the probe did not finish"
    up, down = "-$3.0M $5.0M $10.0M n/a n/a", "$10.0M $5.0M -$3.0M n/a n/a"
    assert json.loads(unescape(orders.group(1))) == [up, down]


@needs_chromium
def test_a_comparison_of_three_plans_shows_every_column_at_1280_px(reports, tmp_path):
    """The figures' names did not wrap, so the Figures table's first column was as wide as its longest
    name (~1000 px) and at 1280 px only the first plan's figures showed. Now every column, the
    differences and 'better' included, ends inside the page."""
    html = reports["comparison"].read_text(encoding="utf-8")
    assert html.count("<th>") >= 5, "three plans and two differences expected"
    probe = ("var t = document.querySelector('table'), w = document.documentElement.clientWidth;"
             "var out = Array.prototype.filter.call(t.tHead.rows[0].cells, function (c) {"
             " return c.getBoundingClientRect().right > w + 0.5; })"
             ".map(function (c) { return c.textContent; });"
             "document.body.dataset.outside = JSON.stringify(out);")  # fmt: skip
    probed = tmp_path / "compare.html"
    probed.write_text(html.replace("</body>", f"<script>{probe}</script></body>"), encoding="utf-8")
    dom = chromium(tmp_path, probed, "--dump-dom", f"--window-size={WIDTH},900").stdout
    outside = re.search(r'data-outside="([^"]*)"', dom)
    assert outside is not None, "the probe did not run"
    assert outside.group(1) == "[]", f"columns beyond the page: {unescape(outside.group(1))}"


# each header of a report's tables: the number of lines Chromium sets it on (its text's line boxes)
HEADER_LINES_PROBE = """
var lines = {};
document.querySelectorAll('table.sortable th').forEach(function (th) {
  var range = document.createRange(), tops = {};
  range.selectNodeContents(th);
  Array.prototype.forEach.call(range.getClientRects(), function (b) {
    if (b.width > 0) tops[Math.round(b.top)] = 1;
  });
  var tall = th.closest('table').classList.contains('tall') ? 'tall: ' : '';
  lines[tall + th.textContent] = Object.keys(tops).length;
});
document.body.dataset.headerLines = JSON.stringify(lines);
"""


@needs_chromium
@pytest.mark.parametrize("kind", ["solve", "sweep", "stochastic"])
def test_no_table_header_is_more_than_two_lines_tall_at_1280_px(reports, kind, tmp_path):
    """At 1280 px the candidates' and statements' header rows were 4 to 6 lines tall: over figures as
    narrow as '$2.8M' Chromium wrapped 'mean NPV, no liquidity default (USD)' and 'of which under
    contract (USD)' a word a line. Every header of every table is set on one or two lines, the
    candidates' on up to three (16 columns of the default model's sweep fit 1280 px so)."""
    html = reports[kind].read_text(encoding="utf-8")
    probed = tmp_path / "probed.html"
    probed.write_text(html.replace("</body>", f"<script>{HEADER_LINES_PROBE}</script></body>"), "utf-8")
    dom = chromium(tmp_path, probed, "--dump-dom", f"--window-size={WIDTH},900").stdout
    found = re.search(r'data-header-lines="([^"]*)"', dom)
    assert found is not None, "the probe did not run"
    lines = json.loads(unescape(found.group(1)))
    assert "tall: mean NPV, no liq. default" in lines or kind != "sweep", lines
    most = {h: 3 if h.startswith("tall: ") else 2 for h in lines}
    taller = {h: n for h, n in lines.items() if n > most[h]}
    assert lines and not taller, taller


# the gap, in CSS px, between each group's tiles and the list of figures under them
TILES_GAP_PROBE = """
var gaps = Array.prototype.map.call(document.querySelectorAll('div.kpis + dl.figures'), function (dl) {
  return dl.getBoundingClientRect().top - dl.previousElementSibling.getBoundingClientRect().bottom;
});
document.body.dataset.gaps = JSON.stringify(gaps);
"""


@needs_chromium
def test_a_list_of_key_figures_stands_apart_from_the_tiles_above_it(reports, tmp_path):
    """The box listing the key figures whose value is a sentence touched the tiles above it, its top
    border on their bottom edge (the list's margin lost to a later rule): 10 px apart now."""
    probed = tmp_path / "probed.html"
    html = reports["solve"].read_text(encoding="utf-8")
    probed.write_text(html.replace("</body>", f"<script>{TILES_GAP_PROBE}</script></body>"), "utf-8")
    dom = chromium(tmp_path, probed, "--dump-dom", f"--window-size={WIDTH},900").stdout
    found = re.search(r'data-gaps="([^"]*)"', dom)
    assert found is not None, "the probe did not run"
    gaps = json.loads(unescape(found.group(1)))
    assert gaps and all(abs(gap - 10) < 0.5 for gap in gaps), gaps


@needs_chromium
def test_script_errors_would_be_caught(reports, tmp_path):
    """The checks above can fail: a page whose script throws shows the error and is never ready."""
    html = reports["solve"].read_text(encoding="utf-8")
    marker = "document.body.dataset.ready = '1';"
    assert marker in html
    broken = tmp_path / "broken.html"
    broken.write_text(html.replace(marker, "throw new Error('boom');\n" + marker), encoding="utf-8")
    dom = chromium(tmp_path, broken, "--dump-dom").stdout
    assert not re.search(r"<body[^>]*\bdata-ready=\"1\"", dom)
    box = re.search(r"<pre id=\"script-errors\"([^>]*)>(.*?)</pre>", dom, re.S)
    assert "hidden" not in box.group(1) and "boom" in box.group(2)


# ---------------------------------------------------------------- `fleetopt report`


def test_report_by_run_id(reports, tmp_path):
    folder = reports["solve"].parent
    run_id = api.record_run(folder)
    out = tmp_path / "by-id.html"
    code, _, err = run_cli("report", str(run_id), "--out", str(out))
    assert code == 0, err
    assert out.is_file() and "fleetopt solve: tiny" in out.read_text(encoding="utf-8")


def test_report_of_a_missing_folder_exits_2(tmp_path):
    code, out, err = run_cli("report", "/nonexistent")
    assert code == 2 and err.startswith("error: ") and "/nonexistent" in err
    assert "Traceback" not in err + out
    empty = tmp_path / "empty"
    empty.mkdir()
    code, out, err = run_cli("report", str(empty), "--out", str(tmp_path / "r.html"))
    assert code == 2 and "not a fleetopt run folder" in err
    assert not (tmp_path / "r.html").exists()


@needs_chromium
@pytest.mark.parametrize("kind", ["solve", "sweep", "stochastic", "comparison"])
def test_every_table_is_named_and_its_headers_head_columns(reports, kind, tmp_path):
    """A screen reader met tables without a name and header cells without a scope (the report
    review): each table takes its section's heading as its name, each header cell heads its column.
    The sweep's key to its Pareto chart, in a card with no heading, had none: it is named."""
    dom = chromium(tmp_path, reports[kind], "--dump-dom").stdout
    tables = re.findall(r"<table\b[^>]*>", dom)
    assert tables and all('aria-label="' in t for t in tables), tables
    headers = re.findall(r"<th\b[^>]*>", dom)
    assert headers and all('scope="col"' in h for h in headers), headers[:5]


# a phone's width: the page's own width and how far its widest element reaches, outside scrolled tables
PHONE_WIDTH = 390
WIDTH_PROBE = """
var w = d.documentElement.clientWidth, out = [];
d.querySelectorAll('main *').forEach(function (e) {
  if (e.closest('.scroll')) return;
  var right = e.getBoundingClientRect().right;
  if (right > w + 0.5) out.push(e.tagName + ' ' + Math.round(right));
});
var page = d.documentElement.scrollWidth;
if (page > w) out.push('the page scrolls sideways to ' + page + ' px');
document.body.dataset.wide = JSON.stringify({width: w, beyond: out.slice(0, 5)});
"""


@needs_chromium
@pytest.mark.parametrize("kind", ["solve", "sweep", "stochastic", "comparison"])
def test_on_a_phone_nothing_but_a_scrolled_table_is_wider_than_the_screen(reports, kind, tmp_path):
    """On a phone (390 px) the chart cards kept the grid's 520 px columns, so each chart ran off
    the screen's right edge (its latest quarters and legend cut off) and the page scrolled
    sideways. Every element outside a sideways-scrolling table now ends inside the screen."""
    html = reports[kind].read_text(encoding="utf-8")
    wide = re.search(r'data-wide="([^"]*)"', in_a_viewport(tmp_path, html, PHONE_WIDTH, WIDTH_PROBE))
    assert wide is not None, "the probe did not run"
    found = json.loads(unescape(wide.group(1)))
    assert found["width"] < GRID_COLUMN_MIN_PX, found  # narrower than a chart's column: the case this checks
    assert found["beyond"] == [], found


# each facts list's narrowest figure (dd) against the list's width, px
FACTS_PROBE = """
var out = [];
document.querySelectorAll('dl.facts').forEach(function (dl) {
  var dd = Array.prototype.map.call(dl.querySelectorAll('dd'), function (d) { return d.clientWidth; });
  out.push([Math.min.apply(null, dd), dl.clientWidth]);
});
document.body.dataset.facts = JSON.stringify(out);
"""


@needs_chromium
@pytest.mark.parametrize("width", [PHONE_WIDTH, WIDTH])
def test_a_facts_list_leaves_its_figures_half_its_width(reports, width, tmp_path):
    """A facts list sized its names' column to its longest name: the stochastic report's 'scenarios
    with covenant cures (equity paid in to cure a breach, $11 of value per $1 short)' took 600 px,
    and on a phone an evaluation's 'GPUs redeployed from training to inference' left its figures a
    column one letter wide (contract names read 'h y p e r s c a l e r' down the page). The names
    wrap within 40 % of the list's width, so each figure has at least half of it."""
    probed = tmp_path / "facts.html"
    html = reports["stochastic"].read_text(encoding="utf-8")
    probed.write_text(html.replace("</body>", f"<script>{FACTS_PROBE}</script></body>"), encoding="utf-8")
    dom = chromium(tmp_path, probed, "--dump-dom", f"--window-size={width},900").stdout
    facts = re.search(r'data-facts="([^"]*)"', dom)
    assert facts is not None, "the probe did not run"
    lists = json.loads(unescape(facts.group(1)))
    assert lists and all(dd >= 0.5 * dl for dd, dl in lists), lists


# each table wider than its box, scrolled to its right end: [box's name, scrolled px, how far the cells
# of its columns that name its rows (the first, and those of class stick) are from where they stay in
# view at most (px: at the box's left edge, each after the one before), the first cell's background,
# how many columns name its rows]
STICKY_PROBE = """
var out = [];
document.querySelectorAll('.scroll').forEach(function (box) {
  if (box.scrollWidth <= box.clientWidth + 1) return;
  box.scrollLeft = box.scrollWidth;
  var left = box.getBoundingClientRect().left + box.clientLeft, far = 0;
  var rows = box.querySelector('table').rows, head = rows[0].cells;
  var n = 1 + rows[0].querySelectorAll('.stick').length;
  for (var i = 0; i < rows.length; i++)
    for (var k = 0, at = left; k < n; at += head[k].getBoundingClientRect().width, k++)
      far = Math.max(far, Math.abs(rows[i].cells[k].getBoundingClientRect().left - at));
  var name = box.previousElementSibling ? box.previousElementSibling.textContent.slice(0, 40) : '';
  out.push([name, box.scrollLeft, Math.round(far), getComputedStyle(rows[1].cells[0]).backgroundColor, n]);
});
document.body.dataset.sticky = JSON.stringify(out);
"""


# a desktop's window narrower than the report's page (above STICKY_FROM_PX)
NARROW_DESKTOP_WIDTH = 900


# each table's [first header's words, how far its box scrolls sideways (px)]
SCROLLED_PROBE = """
document.body.dataset.scrolled = JSON.stringify(Array.prototype.map.call(
  document.querySelectorAll('.scroll'), function (box) {
    var head = box.querySelector('th').closest('tr').textContent.slice(0, 60);
    var hint = box.previousElementSibling.classList.contains('hint') ? box.previousElementSibling : null;
    return [head, box.scrollWidth - box.clientWidth, hint && !hint.hidden ? hint.textContent : ''];
  }));
"""


def scrolled_boxes(report: Path, tmp_path: Path, width: int) -> list:
    """Each table box of ``report`` at ``width`` px: its head's text, how far it is wider than its box
    (px) and its hint, as SCROLLED_PROBE reads them in Chromium."""
    probed = tmp_path / "fit.html"
    html = report.read_text(encoding="utf-8")
    probed.write_text(html.replace("</body>", f"<script>{SCROLLED_PROBE}</script></body>"), encoding="utf-8")
    dom = chromium(tmp_path, probed, "--dump-dom", f"--window-size={width},900").stdout
    found = re.search(r'data-scrolled="([^"]*)"', dom)
    assert found is not None, "the probe did not run"
    return json.loads(unescape(found.group(1)))


@needs_chromium
def test_the_candidates_tables_fit_a_1280_px_page(reports, tmp_path):
    """At 1280 px the candidates table (24 columns) scrolled sideways, 10 of its columns in view. Its
    figures and the policy's reactions, in two tables, each fit the page: neither scrolls, and the
    hint above each says only that a header sorts it. In a narrower window they scroll, and their
    hints say so."""
    for width in (WIDTH, NARROW_DESKTOP_WIDTH):
        boxes = scrolled_boxes(reports["sweep"], tmp_path, width)
        candidates = [(over, hint) for head, over, hint in boxes if head.startswith(("#!plan", "#plan"))]
        assert len(candidates) == 2, boxes
        assert all(over <= 0 for over, _ in candidates) == (width == WIDTH), boxes
        # each hint says to scroll its table where it is wider than its box (in the narrower window the
        # quarterly statements at least), else only that a header sorts it
        assert any(over > 0 for _, over, _ in boxes) == (width != WIDTH), boxes
        for _, over, hint in boxes:
            says_scroll = "scroll the table sideways" in hint
            assert says_scroll == (over > 0), boxes
        assert all(hint == "Click a header to sort." for over, hint in candidates if over <= 0), boxes


@needs_chromium
def test_a_solve_report_s_statements_and_debt_fit_a_1280_px_page(reports, tmp_path):
    """At 1280 px the quarterly statements (16 columns) and the debt by facility (its terms and a
    balance per year's end, 11 columns) scrolled sideways, cash, debt and the later years' balances
    out of view. The statements are set smaller, a header on two lines where longer than its
    figures, and the debt's terms and balances are two tables: at 1280 px no table scrolls and no
    hint says to. In a narrower window the statements scroll, and their hint says so."""
    for width in (WIDTH, NARROW_DESKTOP_WIDTH):
        boxes = scrolled_boxes(reports["solve"], tmp_path, width)
        debt = [(over, hint) for head, over, hint in boxes if head.startswith("facility")]  # terms, balances
        statements = [(over, hint) for head, over, hint in boxes if head.startswith("quarterrevenue")]
        assert len(debt) == 2 and len(statements) == 1, boxes
        if width == WIDTH:
            assert all(hint == "Click a header to sort." for _, hint in debt + statements), boxes
            assert not any(over > 0 or "scroll" in hint for _, over, hint in boxes), boxes
        else:
            over, hint = statements[0]
            assert over > 0 and hint.startswith("16 columns: scroll the table sideways"), boxes


@needs_chromium
@pytest.mark.parametrize("kind", ["solve", "sweep"])
def test_a_wide_table_keeps_its_row_names_in_view_when_scrolled_sideways(reports, kind, tmp_path):
    """A table wider than the page (quarterly statements, debt by facility, candidates) lost its
    rows' names when scrolled sideways. At a desktop's width its first column (the candidates' #
    and plan) stays at the box's left edge, opaque (what scrolls under it is hidden); on a phone it
    scrolls away with the rest, where fixed it would take much of the screen."""
    probed = tmp_path / "sticky.html"
    html = reports[kind].read_text(encoding="utf-8")
    probed.write_text(html.replace("</body>", f"<script>{STICKY_PROBE}</script></body>"), encoding="utf-8")
    # every table fits 1280 px: a narrower desktop's window scrolls them
    for width, sticky in ((NARROW_DESKTOP_WIDTH, True), (PHONE_WIDTH, False)):
        dom = chromium(tmp_path, probed, "--dump-dom", f"--window-size={width},900").stdout
        found = re.search(r'data-sticky="([^"]*)"', dom)
        assert found is not None, "the probe did not run"
        boxes = json.loads(unescape(found.group(1)))
        assert boxes and max(scrolled for _, scrolled, *_ in boxes) > 50, boxes  # wider than their box
        if kind == "sweep":  # a candidate is named by its number and its plan
            assert max(n for *_, n in boxes) >= 2, boxes  # and its forecast mark, where it has one
        for _, scrolled, far, background, _ in boxes:
            if sticky:  # at the edge, hiding what scrolls under it
                assert far <= 1 and background not in ("rgba(0, 0, 0, 0)", "transparent"), boxes
            else:  # gone with the rest
                assert far >= scrolled - 1, boxes


# the Pareto chart's key against its card, on a page as narrow as a phone's (headless Chromium's
# window is at least 500 px wide): [the key's right edge, the card's inner right edge] (px)
KEY_PROBE = """
var key = document.querySelector('table.key'), card = key.closest('.card');
var right = card.getBoundingClientRect().right - parseFloat(getComputedStyle(card).paddingRight);
document.body.dataset.key = JSON.stringify([key.getBoundingClientRect().right, right]);
"""


@needs_chromium
def test_on_a_phone_the_pareto_chart_s_key_fits_the_screen(reports, tmp_path):
    """The Pareto chart's key (number, plan, P(covenant breach)) kept a plan's column 16em wide, so
    on a phone the default model's sweep (plans such as 'milp: demand slump, cash buffer $6.98B')
    pushed P(covenant breach) off the screen. A plan wraps in a narrower column; the key fits."""
    html = reports["sweep"].read_text(encoding="utf-8")
    longer = "<td class='text wrap'>milp: demand slump, cash buffer $6.98B</td>"
    html = re.sub(r"<td class='text wrap'>[^<]*</td>", lambda _: longer, html)
    assert longer in html, "the key has no plan cells"
    phone = f"<style>main{{max-width:{PHONE_WIDTH}px;box-sizing:border-box}}</style>"
    probed = tmp_path / "phone.html"
    html = html.replace("</body>", f"{phone}<script>{KEY_PROBE}</script></body>")
    probed.write_text(html, encoding="utf-8")
    dom = chromium(tmp_path, probed, "--dump-dom", f"--window-size={PHONE_WIDTH},844").stdout
    found = re.search(r'data-key="([^"]*)"', dom)
    assert found is not None, "the probe did not run"
    key, card = json.loads(unescape(found.group(1)))
    assert key <= card + 0.5, (key, card)


def in_a_viewport(tmp_path: Path, html: str, width: int, probe: str) -> str:
    """The DOM after ``probe`` ran on ``html`` shown in a frame ``width`` px wide: a true viewport of
    a phone's width (headless Chromium's own window is at least 500 px), so the page's media and
    container queries apply as on the phone. The probe reads the frame's document as ``d`` and
    writes into the outer body's dataset."""
    page = (f"<!doctype html><body style='margin:0'><iframe id='f' style='border:0;width:{width}px;"
            f"height:844px' srcdoc=\"{escape(html, quote=True)}\"></iframe><script>"
            f"document.getElementById('f').onload = function () {{ var d = this.contentDocument; {probe} }};"
            "</script></body>")  # fmt: skip
    framed = tmp_path / f"framed-{width}.html"
    framed.write_text(page, encoding="utf-8")
    window = ("--dump-dom", "--virtual-time-budget=5000", "--window-size=1300,900")
    return chromium(tmp_path, framed, *window).stdout


# each chart's drawings shown (not display:none; a chart is the drawings in one box), and the smallest
# type of those shown on the screen, CSS px
CHART_TEXT_PROBE = """
var out = [], boxes = [];
d.querySelectorAll('svg.chart').forEach(function (s) {
  if (boxes.indexOf(s.parentElement) < 0) boxes.push(s.parentElement); });
boxes.forEach(function (box) {
  var shown = Array.prototype.filter.call(box.querySelectorAll('svg.chart'), function (s) {
    return s.getBoundingClientRect().width > 0; });
  var smallest = Math.min.apply(null, shown.map(function (s) {
    var scale = s.getScreenCTM().a;
    return Math.min.apply(null, Array.prototype.map.call(s.querySelectorAll('text'), function (t) {
      return parseFloat(getComputedStyle(t).fontSize) * scale; }));
  }));
  var name = box.querySelector('svg').getAttribute('aria-label');
  out.push([name, shown.length, Math.round(smallest * 10) / 10]);
});
document.body.dataset.charts = JSON.stringify(out);
"""


@needs_chromium
@pytest.mark.parametrize("kind", ["solve", "sweep", "stochastic", "comparison"])
@pytest.mark.parametrize("width", [PHONE_WIDTH, WIDTH])
def test_a_chart_s_text_reads_at_least_10_px_on_a_phone_and_a_desktop(reports, kind, width, tmp_path):
    """A chart's SVG scales with its box, so its 11-unit tick labels, axis titles and legend read
    4.5 px on a phone (390 px) and 8.6 px two charts abreast at 1280 px. Each chart is drawn wide
    and narrow, and shows the drawing whose smallest text is at least 10 px in the box it has."""
    html = reports[kind].read_text(encoding="utf-8")
    dom = in_a_viewport(tmp_path, html, width, CHART_TEXT_PROBE)
    found = re.search(r'data-charts="([^"]*)"', dom)
    assert found is not None, "the probe did not run"
    charts = json.loads(unescape(found.group(1)))
    assert charts, "no charts"
    assert all(shown == 1 and smallest >= 9.95 for _, shown, smallest in charts), (width, charts)


# each coloured difference of the comparison's tables: its class and the mark drawn after its figure
MARK_PROBE = """
document.body.dataset.marks = JSON.stringify(Array.prototype.map.call(
  document.querySelectorAll('td.good, td.bad'), function (td) {
    return [td.className, getComputedStyle(td, '::after').content]; }));
"""


@needs_chromium
def test_printed_in_grey_a_better_and_a_worse_difference_are_told_apart_by_a_mark(reports, tmp_path):
    """A comparison's difference better for the company was green and a worse one red, and nothing
    else: printed in grey, and to a red-green colour-blind reader, the two read alike. Each is
    marked too, the better ✓, the worse ✗, as the page's definitions say."""
    html = reports["comparison"].read_text(encoding="utf-8")
    probed = tmp_path / "marks.html"
    probed.write_text(html.replace("</body>", f"<script>{MARK_PROBE}</script></body>"), encoding="utf-8")
    found = re.search(r'data-marks="([^"]*)"', chromium(tmp_path, probed, "--dump-dom").stdout)
    assert found is not None, "the probe did not run"
    marks = {tuple(cell) for cell in json.loads(unescape(found.group(1)))}
    assert marks == {("good", f'" {BETTER_MARK}"'), ("bad", f'" {WORSE_MARK}"')}, marks
    assert f"marked {BETTER_MARK} and {WORSE_MARK} too" in html


# a laptop's window, CSS px
LAPTOP_WIDTH = 1024


# the plan's charts: how many share the first chart card's row, and the largest chart text shown, px
CHART_ROW_PROBE = """
var cards = Array.prototype.filter.call(d.querySelectorAll('.grid > .card'), function (c) {
  return c.querySelector('svg.chart'); });
var top = cards[0].getBoundingClientRect().top, abreast = cards.filter(function (c) {
  return Math.abs(c.getBoundingClientRect().top - top) < 1; }).length;
var largest = 0;
d.querySelectorAll('svg.chart').forEach(function (s) {
  if (!s.getBoundingClientRect().width) return;
  s.querySelectorAll('text.tick').forEach(function (t) {
    largest = Math.max(largest, parseFloat(getComputedStyle(t).fontSize) * s.getScreenCTM().a); });
});
document.body.dataset.row = JSON.stringify([abreast, Math.round(largest * 10) / 10]);
"""


@needs_chromium
@pytest.mark.parametrize("kind", ["solve", "sweep"])
def test_on_a_laptop_the_charts_stand_two_abreast(reports, kind, tmp_path):
    """At a laptop's 1024 px the grid's columns (at least 520 px) fitted one chart a row, each drawn
    the page's full width, its tick labels 17 px (the page's words are 15): a page of charts a screen
    each. They stand two abreast, as at 1280 px, their tick labels between 10 and 15 px."""
    html = reports[kind].read_text(encoding="utf-8")
    found = re.search(r'data-row="([^"]*)"', in_a_viewport(tmp_path, html, LAPTOP_WIDTH, CHART_ROW_PROBE))
    assert found is not None, "the probe did not run"
    abreast, largest = json.loads(unescape(found.group(1)))
    assert abreast == 2, abreast
    assert 10 <= largest <= 15, largest


# the mean NPV ± its standard error in its tile: whether the mean's figure and the '± SE' each sit on
# one line (the tops of their first and last characters)
PLUS_MINUS_PROBE = """
var tile = Array.prototype.find.call(d.querySelectorAll('.kpi'), function (k) {
  return k.querySelector('span').textContent.indexOf('mean NPV \\u00b1') === 0; });
var text = tile.querySelector('b').firstChild, words = text.data, sign = words.indexOf('\\u00b1');
function top(at) {
  var r = d.createRange(); r.setStart(text, at); r.setEnd(text, at + 1);
  return Math.round(r.getBoundingClientRect().top);
}
document.body.dataset.tile = JSON.stringify([words, top(0) === top(sign - 2),
                                             top(sign) === top(words.length - 1)]);
"""


@needs_chromium
@pytest.mark.parametrize("width", [LAPTOP_WIDTH, WIDTH])
def test_a_tile_s_mean_npv_and_its_standard_error_wrap_before_the_plus_minus(reports, width, tmp_path):
    """The key figure "-$22.4M ± $1.4M", too long for its tile's line, wrapped after the '±': the
    mean and a dangling '±' on one line, the standard error alone under them. It wraps before it, the
    mean on one line and '± $1.4M' on the next, where it does not fit on one."""
    html = reports["sweep"].read_text(encoding="utf-8")
    found = re.search(r'data-tile="([^"]*)"', in_a_viewport(tmp_path, html, width, PLUS_MINUS_PROBE))
    assert found is not None, "the probe did not run"
    words, mean_whole, error_whole = json.loads(unescape(found.group(1)))
    assert mean_whole and error_whole, words


PDF_NUMBER = re.compile(rb"[-+]?(?:\d+\.?\d*|\.\d+)")
PDF_TOKEN = re.compile(rb"<<|>>|\[|\]|<[0-9A-Fa-f\s]*>|\((?:\\.|[^\\)])*\)|/[^\s/\[\]<>()]+|"
                       rb"[-+]?(?:\d+\.?\d*|\.\d+)|[A-Za-z'\"*]+")  # fmt: skip


def pdf_pages(pdf: bytes) -> list[bytes]:
    """Each page's content stream, in page order (the page tree's leaves), inflated."""
    objects = {int(n): body for n, body in re.findall(rb"(\d+) 0 obj(.*?)endobj", pdf, re.S)}

    def leaves(n: int) -> list[bytes]:
        body = objects[n]
        if not re.search(rb"/Type\s*/Pages\b", body):
            return [body]
        kids = re.search(rb"/Kids\s*\[([^\]]*)\]", body).group(1)
        return [page for k in re.findall(rb"(\d+) 0 R", kids) for page in leaves(int(k))]

    root = next(n for n, b in objects.items() if re.search(rb"/Type\s*/Pages\b", b) and b"/Parent" not in b)
    out = []
    for page in leaves(root):
        body = objects[int(re.search(rb"/Contents (\d+) 0 R", page).group(1))]
        raw = re.search(rb"stream\r?\n(.*)endstream", body, re.S).group(1)
        out.append(zlib.decompress(raw) if b"FlateDecode" in body else raw)
    return out


def text_depths(stream: bytes, height: float) -> list[float]:
    """How far below the page's top (pt) each piece of a page's text is drawn: the text matrix
    (Tm, Td) in the graphics state's transform (cm, q, Q) at each Tj or TJ."""
    ctm, saved, tm, numbers, out = np.eye(3), [], np.eye(3), [], []
    for token in PDF_TOKEN.findall(stream):
        if PDF_NUMBER.fullmatch(token):
            numbers.append(float(token))
            continue
        if token == b"q":
            saved.append(ctm.copy())
        elif token == b"Q":
            ctm = saved.pop()
        elif token in (b"cm", b"Tm"):
            a, b, c, d, e, f = numbers[-6:]
            m = np.array([[a, b, 0], [c, d, 0], [e, f, 1]])
            ctm, tm = (m @ ctm, tm) if token == b"cm" else (ctm, m)
        elif token == b"Td":
            tm = np.array([[1, 0, 0], [0, 1, 0], [numbers[-2], numbers[-1], 1]]) @ tm
        elif token == b"BT":
            tm = np.eye(3)
        elif token in (b"Tj", b"TJ"):
            out.append(height - (tm @ ctm)[2, 1])
        if not token.startswith((b"<", b"(", b"/", b"[", b"]")):
            numbers = []
    return out


PAGE_MARGIN_PT = 10 / 25.4 * 72  # the report's @page margin, 10 mm


def page_fills(pdf: bytes) -> list[float]:
    """How far down each page its text reaches, as a share of the page inside its margins (the
    margin boxes' page number and context left out)."""
    height = float(re.search(rb"/MediaBox \[0 0 [\d.]+ ([\d.]+)\]", pdf).group(1))
    fills = []
    for page in pdf_pages(pdf):
        inside = [d for d in text_depths(page, height) if d <= height - PAGE_MARGIN_PT]
        fills.append((max(inside, default=PAGE_MARGIN_PT) - PAGE_MARGIN_PT) / (height - 2 * PAGE_MARGIN_PT))
    return fills


@needs_chromium
@pytest.mark.parametrize("paper", ["letter", "A4"])
@pytest.mark.parametrize("kind", ["solve", "sweep", "stochastic", "comparison"])
def test_a_printed_report_leaves_no_page_near_empty(reports, kind, paper, tmp_path):
    """Printed, a report left pages near empty: a table of one row kept with the heading after it
    (its row's 'keep with the next row' passed to the table), so the evaluation's table of the plan
    and its risk left the charts' page a third blank; a section's heading and opening caption stood
    at a page's foot, their table on the next; the sweep's footer stood alone on its last page. Each
    page but the last is now at least 40 % full, and the last holds more than a line."""
    html = reports[kind].read_text(encoding="utf-8")
    if paper == "A4":
        assert "@page{size:landscape;" in html
        html = html.replace("@page{size:landscape;", "@page{size:A4 landscape;")
    page = tmp_path / f"{kind}.html"
    page.write_text(html, encoding="utf-8")
    pdf = tmp_path / f"{kind}.pdf"
    chromium(tmp_path, page, f"--print-to-pdf={pdf}", "--no-pdf-header-footer")
    fills = [round(float(f), 2) for f in page_fills(pdf.read_bytes())]
    assert len(fills) > 1 and min(fills[:-1]) >= 0.4 and fills[-1] >= 0.05, fills


# the stochastic solve's measures table on the screen: [its USD cells' rightmost edge, the screen's width]
MEASURES_PROBE = """
var t = Array.prototype.find.call(d.querySelectorAll('table'), function (t) {
  return t.tHead && t.tHead.rows[0].cells[0].textContent === 'measure'; });
var right = Math.max.apply(null, Array.prototype.map.call(t.tBodies[0].rows, function (r) {
  return r.cells[1].getBoundingClientRect().right; }));
document.body.dataset.measures = JSON.stringify([right, d.documentElement.clientWidth]);
"""


@needs_chromium
def test_on_a_phone_the_stochastic_measures_show_their_figures(reports, tmp_path):
    """On a phone the stochastic solve's table of measures (RP, EV, EEV, WS, VSS, EVPI) kept each
    measure's description on one line, 'RP, recourse problem: the stochastic plan's value (expected
    NPV less rescue penalties)', so its USD column lay beyond the screen: a reader saw the names and
    none of the figures. The descriptions wrap; every figure is on the screen."""
    html = reports["stochastic"].read_text(encoding="utf-8")
    dom = in_a_viewport(tmp_path, html, PHONE_WIDTH, MEASURES_PROBE)
    found = re.search(r'data-measures="([^"]*)"', dom)
    assert found is not None, "the probe did not run"
    right, width = json.loads(unescape(found.group(1)))
    assert right <= width, (right, width)


# a table of figures written as words, as the stochastic report's commitments are, sorted by its header
FIGURE_WORDS = ["62 GPUs", "2,000 GPUs", "-48 GPUs", "$26.0M", "+$988.2k", "-$4.6M", "2.5 MW", "12.5%", "yes"]
WORDS_TABLE = ("<div class='scroll'><table class='sortable' id='words'><thead><tr><th>figure</th></tr>"
               "</thead><tbody>" + "".join(f"<tr><td>{w}</td></tr>" for w in FIGURE_WORDS)
               + "</tbody></table></div>")  # fmt: skip
WORDS_PROBE = """
var t = document.getElementById('words');
t.tHead.rows[0].cells[0].click();
document.body.dataset.sorted = JSON.stringify(Array.prototype.map.call(t.tBodies[0].rows, function (r) {
  return r.cells[0].textContent; }));
"""


@needs_chromium
def test_a_column_of_figures_written_as_words_sorts_by_their_values(reports, tmp_path):
    """Sorting read a cell without a data value by parseFloat: '2,000 GPUs' as 2 (below '62 GPUs'),
    '$26.0M' as words. A cell's words that are a figure (a sign, $, thousands separators, k/M/B,
    per cent or a unit: the stochastic report's commitments, the comparison's MW) sort by its value;
    words that are no figure ('yes') after them, as words."""
    html = reports["solve"].read_text(encoding="utf-8")
    assert "</main><script>" in html
    html = html.replace("</main><script>", f"{WORDS_TABLE}</main><script>", 1)
    probed = tmp_path / "words.html"
    probed.write_text(html.replace("</body>", f"<script>{WORDS_PROBE}</script></body>"), encoding="utf-8")
    found = re.search(r'data-sorted="([^"]*)"', chromium(tmp_path, probed, "--dump-dom").stdout)
    assert found is not None, "the probe did not run"
    figures = [w for w in json.loads(unescape(found.group(1))) if w != "yes"]
    assert figures == ["-$4.6M", "-48 GPUs", "2.5 MW", "12.5%", "62 GPUs", "2,000 GPUs", "+$988.2k", "$26.0M"]
