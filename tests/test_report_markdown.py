"""A run's report as Markdown (`fleetopt report RUN --out report.md`): the HTML page's words, figures
and tables, each chart named once, and the rules of --out a report's HTML has."""

from __future__ import annotations

import re
from html import unescape
from pathlib import Path

import pytest
from conftest import run_cli

from fleetopt import api
from fleetopt.core.notebook import markdown_text
from fleetopt.errors import InputError
from fleetopt.report.markdown import CHART_WORDS, markdown_of_page

PAGE = """<!doctype html><html><head><title>fleetopt solve: tiny</title><style>h1{}</style></head>
<body><main><h1>fleetopt solve: tiny</h1><p class="sub">One site.<br>Horizon 2026Q3..2028Q2.</p>
<pre id="script-errors" hidden></pre>
<h2>In short</h2><p class="why">Plan “milp”: NPV -$14.1M on the forecast, a | b.</p>
<h3 class='figures'>Value</h3><div class='kpis'><div class="kpi"><b>-$17.7M ± $1.7M</b><span>mean NPV ±
standard error</span></div><div class="kpi"><b>70.6%</b><span>P(NPV &lt; 0)</span></div></div>
<dl class='facts figures'><dt>lowest cover of the next year&#x27;s debt payments</dt><dd>0.59x at the end of
2026Q3</dd></dl>
<dl class="facts"><dt>horizon</dt><dd>2026Q3 to 2028Q2 (8 quarters)</dd><dt>seed</dt><dd>0</dd></dl>
<div class='chart-box'><svg class="chart wide" aria-label="Fleet by generation: milp"><title>x</title>
<text>2.5k</text></svg><svg class="chart narrow" aria-label="Fleet by generation: milp"><text>2.5k</text>
</svg></div>
<p class='cap hint'>3 columns: scroll the table sideways to see them all; click a header to sort.</p>
<table class="sortable"><thead><tr><th>#</th><th>mean <br>NPV</th><th>P(NPV &lt; 0)</th></tr></thead>
<tbody><tr><td data-v="1.0">1</td><td data-v="-1.7e7">-$17.7M</td><td>70.6%</td></tr></tbody></table>
<ul><li>one</li><li>two <b>bold</b></li></ul>
<footer>Money in USD.</footer></main><script>var a = "<b>";</script></body></html>"""

# worked by hand from PAGE: $, |, <, # and * escaped; tiles as "label: **figure**", and so the key
# figures listed under them (the page sets their figures bold; they read "**label**: figure", a
# definition's emphasis); the chart once
EXPECTED = """# fleetopt solve: tiny

One site.\\
Horizon 2026Q3..2028Q2.

## In short

Plan “milp”: NPV -\\$14.1M on the forecast, a \\| b.

### Value

- mean NPV ± standard error: **-\\$17.7M ± \\$1.7M**
- P(NPV \\< 0): **70.6%**
- lowest cover of the next year's debt payments: **0.59x at the end of 2026Q3**
- **horizon**: 2026Q3 to 2028Q2 (8 quarters)
- **seed**: 0

*Chart: Fleet by generation: milp, """ + CHART_WORDS + """.*

| \\# | mean NPV | P(NPV \\< 0) |
|---|---|---|
| 1 | -\\$17.7M | 70.6% |

- one
- two **bold**

Money in USD.
"""


def test_a_page_reads_as_markdown_as_worked_by_hand():
    assert markdown_of_page(PAGE) == EXPECTED


@pytest.fixture(scope="module")
def evaluation(tmp_path_factory) -> Path:
    """tiny's optimum evaluated on 100 scenarios, with its HTML report beside."""
    root = tmp_path_factory.mktemp("markdown")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("FLEETOPT_RUNS_DIR", str(root / "runs"))
        solved = api.write_solve_run(api.solve("tiny"), out=root / "solve")
        evaluated = root / "evaluate"
        code, _, err = run_cli("evaluate", "tiny", "--plans", str(solved), "--scenarios", "100",
                                 "--out", str(evaluated))  # fmt: skip
        assert code == 0, err
        api.report(evaluated)
    return evaluated


def _html_text(fragment: str) -> str:
    return " ".join(unescape(re.sub(r"<[^>]+>", "", fragment)).split())


def test_the_markdown_says_what_the_html_page_says(evaluation, tmp_path):
    """A treasurer pastes the report into a memo: its "In short" word for word, each key figure beside
    its label, the plans' table with the page's figures, each chart named once, no HTML left."""
    page = (evaluation / "report.html").read_text()
    code, _, err = run_cli("report", str(evaluation), "--out", str(tmp_path / "r.md"))
    assert code == 0, err
    text = (tmp_path / "r.md").read_text()
    assert text.startswith("# fleetopt evaluate: tiny\n")
    in_short = _html_text(re.search(r"<h2>In short</h2><p class=\"why\">(.*?)</p>", page).group(1))
    assert f"## In short\n\n{markdown_text(in_short)}\n" in text
    for figure, label in re.findall(r'<div class="kpi[^"]*"><b>(.*?)</b><span>(.*?)</span></div>', page):
        assert f"- {markdown_text(_html_text(label))}: **{markdown_text(_html_text(figure))}**" in text
    row = re.search(r"<tbody><tr>(.*?)</tr>", page).group(1)
    cells = [markdown_text(_html_text(c)) for c in re.findall(r"<td[^>]*>(.*?)</td>", row)]
    assert "| " + " | ".join(cells) + " |" in text.splitlines()
    charts = re.findall(r'<svg class="chart wide"[^>]*aria-label="([^"]*)"', page)
    assert charts and all(text.count(f"*Chart: {markdown_text(unescape(c))}, ") == 1 for c in charts)
    assert not re.search(r"(?<!\\)<[a-z/]", text), "an HTML tag left in the Markdown"
    assert "click a header to sort" not in text


def test_markdown_out_follows_the_rules_of_a_report(evaluation, tmp_path):
    """Written again over its own Markdown, through the API too; a note of the user's of the same name
    is never replaced; a name of another format is refused with both a report's names."""
    out = tmp_path / "memo.md"
    assert api.report(evaluation, out) == out.resolve()
    first = out.read_text()
    assert api.report(evaluation, out).read_text().splitlines()[5:] == first.splitlines()[5:]
    notes = tmp_path / "notes.md"
    notes.write_text("# my notes\n")
    code, _, err = run_cli("report", str(evaluation), "--out", str(notes))
    assert code != 0 and "is a file that is not a report fleetopt wrote" in " ".join(err.split())
    assert notes.read_text() == "# my notes\n"
    with pytest.raises(InputError, match=r"a report is one HTML file \(\.html\) or Markdown \(\.md\)"):
        api.report(evaluation, tmp_path / "memo.docx")
    assert not (tmp_path / "memo.docx").exists()
