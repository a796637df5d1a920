"""The report's series colours read apart with a red-green colour blindness (simulated)."""

from __future__ import annotations

import itertools
import math
import re
from html import escape, unescape

import numpy as np
import pytest
from conftest import run_cli

from fleetopt import api
from fleetopt.report import page, svg
from fleetopt.report.comparison import comparison_html
from fleetopt.report.page import build_report
from fleetopt.runs.summary_schema import BEST_MEAN_KEY

# Machado, Oliveira & Fernandes (2009), severity 1, on linear RGB
SIMULATED = {
    "normal vision": np.eye(3),
    "protanopia": np.array(
        [[0.152286, 1.052583, -0.204868], [0.114503, 0.786281, 0.099216], [-0.003882, -0.048116, 1.051998]]
    ),
    "deuteranopia": np.array(
        [[0.367322, 0.860646, -0.227968], [0.280085, 0.672501, 0.047413], [-0.011820, 0.042940, 0.968881]]
    ),
}
# CIEDE2000 between two colours of one chart: the old palette's blue and purple were 3.3 apart to a
# deuteranope, its orange and green 7.5 to a protanope; 10 is two colours named apart at a glance
MIN_DISTANCE = 10.0


def _lab(colour: str, vision: str) -> tuple[float, float, float]:
    rgb = np.array([int(colour[i : i + 2], 16) for i in (1, 3, 5)]) / 255
    linear = np.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)
    linear = np.clip(SIMULATED[vision] @ linear, 0, 1)
    to_xyz = np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]])
    xyz = to_xyz @ linear / np.array([0.95047, 1.0, 1.08883])
    f = np.where(xyz > 0.008856, np.cbrt(xyz), 7.787 * xyz + 16 / 116)
    return 116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])


def _ciede2000(lab1, lab2) -> float:
    (l1, a1, b1), (l2, a2, b2) = lab1, lab2
    c_bar = (math.hypot(a1, b1) + math.hypot(a2, b2)) / 2
    g = 0.5 * (1 - math.sqrt(c_bar**7 / (c_bar**7 + 25**7)))
    a1, a2 = (1 + g) * a1, (1 + g) * a2
    c1, c2 = math.hypot(a1, b1), math.hypot(a2, b2)
    h1, h2 = (math.degrees(math.atan2(b, a)) % 360 for a, b in ((a1, b1), (a2, b2)))
    dh = 0.0 if c1 * c2 == 0 else (h2 - h1 + 180) % 360 - 180
    big_dh = 2 * math.sqrt(c1 * c2) * math.sin(math.radians(dh / 2))
    l_bar, c_bar = (l1 + l2) / 2, (c1 + c2) / 2
    h_bar = h1 + h2 if c1 * c2 == 0 else (h1 + h2) / 2 + (180 if abs(h1 - h2) > 180 else 0)
    cos = [math.cos(math.radians(k * h_bar - shift)) for k, shift in ((1, 30), (2, 0), (3, -6), (4, 63))]
    t = 1 - 0.17 * cos[0] + 0.24 * cos[1] + 0.32 * cos[2] - 0.20 * cos[3]
    s_l = 1 + 0.015 * (l_bar - 50) ** 2 / math.sqrt(20 + (l_bar - 50) ** 2)
    s_c, s_h = 1 + 0.045 * c_bar, 1 + 0.015 * c_bar * t
    r_t = (-2 * math.sqrt(c_bar**7 / (c_bar**7 + 25**7))
           * math.sin(math.radians(60 * math.exp(-(((h_bar - 275) / 25) ** 2)))))  # fmt: skip
    dl, dc, dhh = (l2 - l1) / s_l, (c2 - c1) / s_c, big_dh / s_h
    return math.sqrt(dl**2 + dc**2 + dhh**2 + r_t * dc * dhh)


def too_alike(colours) -> list[tuple]:
    """Pairs of ``colours`` nearer than MIN_DISTANCE with normal vision, protanopia or deuteranopia."""
    pairs = list(itertools.combinations(sorted(colours), 2))
    return [(vision, a, b, round(d, 1)) for vision in SIMULATED for a, b in pairs
            if (d := _ciede2000(_lab(a, vision), _lab(b, vision))) < MIN_DISTANCE]  # fmt: skip


def test_the_distance_tells_the_old_palettes_lookalikes_apart():
    """The measure finds what readers found: blue and purple (1st and 5th plan) alike to a
    deuteranope, orange and green (uncured breach, liquidity default) to a protanope."""
    assert ("deuteranopia", "#1f6feb", "#7c3aed") in [t[:3] for t in too_alike(["#1f6feb", "#7c3aed"])]
    assert ("protanopia", "#16a34a", "#d97706") in [t[:3] for t in too_alike(["#d97706", "#16a34a"])]
    assert too_alike(["#000000", "#ffffff"]) == []


def _series_colours(chart: str) -> set[str]:
    """The colours a chart draws its series in: what is stroked or filled, but its zero line and
    the Pareto labels' leaders."""
    found = set(re.findall(r'(?:stroke|fill)="(#[0-9A-Fa-f]{6})"', chart))
    return {c.upper() for c in found} - {svg.ZERO_COLOUR.upper(), "#64748B"}


def _charts() -> dict[str, str]:
    """A chart of each kind, with as many series as the report draws: seven plans compared, the
    three lines of 'When ... breaks', cash and debt, fleet by generation, the Pareto chart (each role's
    point, the front's and another's)."""
    rng = np.random.default_rng(1)
    q = ["2026Q3", "2026Q4", "2027Q1"]
    plans = {f"plan {n}": rng.normal(n * 1e6, 1e6, 300) for n in range(len(svg.NO_ROLE_FIRST))}
    marks = {k: {"mean": float(v.mean())} for k, v in plans.items()}
    breaks = {"covenant breached": np.array([0, 0.1, 0.2]), "uncured breach": np.array([0, 0.05, 0.1]),
              "liquidity default": np.array([0, 0.01, 0.02])}  # fmt: skip
    fleet = {g: np.ones(3) for g in svg.GENERATION_COLOURS}
    roles = {1: ["forecast_optimum"], 3: [BEST_MEAN_KEY]}  # each kind of point the report draws
    points = [{"label": str(n), "x": n, "y": n * n, "front": n % 2 == 0, "recommended": n == 2,
               "roles": roles.get(n, [])} for n in range(6)]  # fmt: skip
    return {
        "comparison": svg.histogram("NPV", plans, marks),
        "when it breaks": svg.lines("When", q, breaks, "share", y_fmt=svg.share_tick,
                                    colours=page.BREAK_COLOURS),  # as the report draws it
        "cash and debt": svg.lines("Cash", q, {"cash": np.ones(3), "debt": np.ones(3) * 2}, "USD"),
        "fleet by generation": svg.stacked_area("Fleet", q, fleet, svg.GENERATION_COLOURS, "GPUs"),
        "pareto": svg.scatter("Pareto", points, "x", "y", "mean", "CVaR5"),
    }


CHARTS = ["comparison", "when it breaks", "cash and debt", "fleet by generation", "pareto"]


@pytest.mark.parametrize("kind", CHARTS)
def test_every_chart_s_series_read_apart_with_a_red_green_colour_blindness(kind):
    """A comparison of five plans drew the 1st in blue and the 5th in purple, one colour to a
    deuteranope; 'When ... breaks' drew an uncured breach orange and a liquidity default green,
    both olive to a protanope. Every chart's series colours are now Okabe & Ito's, each pair of a
    chart's colours apart (CIEDE2000 of at least 10) with either blindness simulated."""
    colours = _series_colours(_charts()[kind])
    assert len(colours) >= 2, colours
    assert colours <= {c.upper() for c in (*svg.OKABE_ITO.values(), svg.GREY, svg.GREY_EDGE)}, colours
    assert too_alike(colours) == []


def test_a_chart_s_lines_are_told_apart_by_their_dashes_not_colour_alone():
    """Each solid line after the first, and each outlined plan of a histogram, has a dash of its
    own on screen (not only in print), its legend swatch the same."""
    style = svg.line_dash_style()
    assert "@media" not in style and "svg .s1{stroke-dasharray:8 3}" in style
    charts = _charts()
    for kind, classes in (("when it breaks", {"s1", "s2"}), ("comparison", {"s1", "s2", "s3"})):
        drawn = re.findall(r'<(path|line|polyline)\b[^>]*class="(s\d)"', charts[kind])
        assert {c for tag, c in drawn if tag == "path"} == classes, (kind, drawn)  # the series
        assert {c for tag, c in drawn if tag != "path"} == classes, (kind, drawn)  # their swatches


def test_a_lab_s_compute_chart_draws_compute_solid_and_demand_dashed(tmp_path):
    """A lab's compute chart dashed each solid line after the first by its order, the dashed demand
    lines counted too: its third line, inference compute, was dotted, where the chart's words say
    compute solid, demand dashed. Each use's compute is solid, in the chart and its legend, in
    either drawing; its demand dashed; the caption says which line is which."""
    folder = tmp_path / "lab-cost"
    code, _, err = run_cli("solve", "lab", "--objective", "cost", "--out", str(folder))
    assert code == 0, err
    report = build_report(folder)
    start = report.index('aria-label="Compute against demand on the forecast')
    drawings = report[start : report.index("</div>", start)]
    paths = re.findall(r'<path d="[^"]*"([^>]*)><title>([^<]*)</title></path>', drawings)
    swatches = re.findall(r'<line [^>]*stroke-width="2"([^>]*)/>\s*<text [^>]*>([^<]*)</text>', drawings)
    for drawn in (paths, swatches):
        styles = {name: "dash" in attrs or "class" in attrs for attrs, name in drawn}
        assert len(drawn) == 2 * len(styles) == 8, drawn  # the wide drawing and the narrow
        assert styles == {"training compute": False, "training demand": True,
                          "inference compute": False, "inference demand": True}, drawn  # fmt: skip
    caption = unescape(report[report.index("<p class='cap'>", start) :])
    assert caption.startswith("<p class='cap'>GPUs serving the market times their throughput (H100 = 1), "
                              "summed over sites: each use's compute a solid line, its demand a dashed line "
                              "in the same colour (training blue and inference vermillion)")  # fmt: skip


# tiny's sweep of 5 candidates on 30 scenarios of seed 0 (tests/test_compare_sweep_best_mean.py): its
# forecast optimum, its pick, and its plan of highest mean NPV no worse than the optimum (the third)
OPTIMUM, PICK = "milp: forecast", "milp: price shock, cash buffer $60.0M"
BEST = "milp: forecast, cash buffer $30.0M"
GREEN, ORANGE, PURPLE = (svg.OKABE_ITO[c] for c in ("bluish green", "orange", "reddish purple"))


@pytest.fixture(scope="module")
def sweep(tmp_path_factory):
    """The sweep's folder, its report's HTML and compare's page of the folder."""
    folder = tmp_path_factory.mktemp("colours") / "S"
    code, _, err = run_cli("sweep", "tiny", "--candidates", "5", "--scenarios", "30", "--seed", "0",
                           "--out", str(folder))  # fmt: skip
    assert code == 0, err
    return folder, build_report(folder), comparison_html(api.compare(folder))


def _chart(html: str, title: str) -> str:
    """A page's chart of ``title`` (its wide drawing)."""
    start = html.index(f'aria-label="{escape(title)}"')
    return html[start : html.index("</svg>", start)]


def _drawn_colours(chart: str) -> dict[str, set[str]]:
    """Each plan's colours in a chart, by its name in the tooltips: its bars' fill (a bar's tooltip is
    'name: bin: share'), its outline's stroke, its mean's and P5's stroke, its point's fill."""
    out: dict[str, set[str]] = {}
    drawn = (r'<rect [^>]*fill="(#\w+)" opacity="[^"]+"><title>(.*?): [^<]*: [^<]*</title>',
             r'<path [^>]*stroke="(#\w+)"[^>]*><title>([^<]*)</title>',
             r'<line [^>]*stroke="(#\w+)"[^>]*><title>([^<]*) (?:mean|P5)(?: \([^)]*\))?: ',
             r'<circle [^>]*fill="(#\w+)"[^>]*><title>\d+: ([^<]*)</title>')  # fmt: skip
    for pattern in drawn:
        for colour, name in re.findall(pattern, chart):
            out.setdefault(unescape(name), set()).add(colour)
    return out


def test_each_plan_of_a_sweep_has_its_role_s_colour_in_every_chart_of_its_report_and_compare_s_page(sweep):
    """A new user's walk: the pick was green in the sweep report's Pareto chart but blue in its NPV
    histogram (the palette's first colour, the first plan drawn), the forecast optimum and the third
    plan grey points in the Pareto chart but orange and purple in the histogram; compare's page of the
    folder drew them blue, orange and green (the optimum first), the third plan in the pick's green.
    Each role has one colour, in every chart of both pages: the pick green, the forecast optimum
    orange, the third plan reddish purple (its bars or outline, its mean and P5 markers, its point)."""
    _, report, page = sweep
    role = {PICK: GREEN, OPTIMUM: ORANGE, BEST: PURPLE}
    for html, title in ((report, "NPV distribution over scenarios"),
                        (report, "Candidates: CVaR5 NPV against mean NPV"),
                        (page, "NPV over the common scenarios")):  # fmt: skip
        drawn = _drawn_colours(_chart(html, title))
        assert {plan: drawn[plan] for plan in role} == {plan: {c} for plan, c in role.items()}, title
    pareto = _chart(report, "Candidates: CVaR5 NPV against mean NPV")
    others = {p: c for p, c in _drawn_colours(pareto).items() if p not in role}
    assert others and set().union(*others.values()) <= {svg.FRONT, svg.GREY}, others  # front or not


def test_legends_name_each_role_in_its_colour(sweep):
    """The Pareto chart's legend had no entry for the forecast optimum or the third plan (grey points
    like any other); compare's histogram legend named the plans alone. Each names what the plan is to
    the sweep beside its colour's swatch, as the report's histogram does."""
    _, report, page = sweep

    def entries(chart: str) -> dict[str, str]:
        """Each plan's or kind of point's legend entry, by its swatch's colour (a box's fill, an
        outline's stroke; not the markers', a line of each plan's colour)."""
        swatch = (r'<(?:rect|polyline) [^>]*(?:fill|stroke)="(#\w+)"[^>]*/>\s*'
                  r'<text [^>]*class="tick">(.*?)</text>')
        pairs = re.findall(swatch, chart, re.S)
        return {colour: unescape(" ".join(re.findall(r">([^<]+)<", f">{text}<"))) for colour, text in pairs}

    pareto = entries(_chart(report, "Candidates: CVaR5 NPV against mean NPV"))
    assert pareto[GREEN] == "recommended" and pareto[ORANGE] == "forecast optimum"
    assert pareto[PURPLE] == "plan of highest mean NPV no worse than the forecast optimum"
    drawn = entries(_chart(page, "NPV over the common scenarios"))
    assert drawn[ORANGE] == f"{OPTIMUM} (forecast optimum)" and drawn[GREEN] == f"{PICK} (recommendation)"
    assert drawn[PURPLE] == f"{BEST} (plan of highest mean NPV no worse than the forecast optimum)"


def test_a_plan_without_a_role_takes_a_colour_no_role_has():
    """Plans compared with no role (two solves) were drawn blue, orange, green: the forecast optimum's
    and the pick's colours on a page where no plan is either. A plan with a role has its role's
    colour (of two roles, the recommendation's: a sweep that recommends its forecast optimum); the
    others, in order, the palette's colours no role has (blue, vermillion, sky blue, black), then
    those of the roles no plan there has (here orange: "opt" is green, "g" purple), then again from
    the first (f: blue, as a)."""
    roles = {"opt": ["forecast_optimum", "recommended"], "g": [BEST_MEAN_KEY]}
    colours = svg.plan_colours(["a", "opt", "b", "c", "d", "e", "f", "g"], roles)
    ok = svg.OKABE_ITO
    assert colours == {"a": ok["blue"], "opt": GREEN, "b": ok["vermillion"], "c": ok["sky blue"],
                       "d": ok["black"], "e": ORANGE, "f": ok["blue"], "g": PURPLE}  # fmt: skip


def test_a_stochastic_solve_s_forecast_optimum_is_orange_in_its_report_and_in_compare_s_page(tmp_path):
    """tiny's stochastic solve on 2 scenarios: its report drew the stochastic plan blue and the forecast
    optimum orange (the palette's first two), compare's page of its folder the forecast optimum, given
    first, blue and the stochastic plan orange. The optimum has the forecast optimum's colour on both,
    orange; the stochastic plan, no role's, the first colour no role has, blue."""
    folder = tmp_path / "sto"
    code, _, err = run_cli("solve", "tiny", "--stochastic", "2", "--out", str(folder))
    assert code == 0, err
    want = {"forecast": {ORANGE}, "stochastic": {svg.OKABE_ITO["blue"]}}
    for html, title in ((build_report(folder), "NPV distribution over scenarios"),
                        (comparison_html(api.compare(folder)), "NPV over the common scenarios")):  # fmt: skip
        drawn = _drawn_colours(_chart(html, title))
        assert {plan: drawn[plan] for plan in want} == want, title
    # compare's histogram of the stochastic plan's NPV less the optimum's was blue, the stochastic plan's
    # colour beside it: a difference is neither plan's, black (its bars, grey at 60 % opacity; its mean)
    page = comparison_html(api.compare(folder))
    difference = _chart(page, "stochastic − forecast, scenario by scenario")
    assert _series_colours(difference) == {svg.DIFFERENCE}, _series_colours(difference)
    # its out-of-sample table marks the optimum as its charts do: an orange bar, named in words
    rows = _table_rows(build_report(folder), "Out of sample: both plans on")
    assert rows == {"forecast (forecast optimum)": "opt", "stochastic": ""}, rows


def test_plans_drawn_one_over_another_stay_visible():
    """tiny's sweep: the third plan's NPV is the forecast optimum's but in a few scenarios, and its
    outline and mean lay on the optimum's, hiding them. Each outline is drawn narrower than the one
    before it (2 px, the last; 1.5 px wider for each drawn after it, the widest at most 6 px), so the
    one under shows either side; a mean or P5 line within 2 px of a later one is widened alike.
    Three plans of one NPV: the outlines of b and c are 3.5 and 2 px wide; the means of a, b and c,
    at one x, 5, 3.5 and 2 px (2 + 1.5 x the lines over each)."""
    same = np.linspace(-1e6, 1e6, 200)
    samples = {"a": same, "b": same, "c": same}
    chart = svg.histogram("t", samples, {k: {"mean": 0.0} for k in samples})
    outlines = re.findall(r'<path [^>]*stroke-width="([\d.]+)"[^>]*><title>(\w)</title>', chart)
    assert [(name, float(w)) for w, name in outlines] == [("b", 3.5), ("c", 2.0)], outlines
    means = re.findall(r'<line [^>]*stroke-width="([\d.]+)"[^>]*><title>(\w) mean: ', chart)
    assert [(name, float(w)) for w, name in means] == [("a", 5.0), ("b", 3.5), ("c", 2.0)], means
    seven = {f"p{k}": same for k in range(7)}
    widths = [float(w) for w in re.findall(r'<path [^>]*stroke-width="([\d.]+)"', svg.histogram("t", seven))]
    assert widths == pytest.approx([6.0, 5.2, 4.4, 3.6, 2.8, 2.0]), widths  # 4 px shared by 5 steps


# the charts of a sweep's report that draw its plans, each in its role's colour
PLAN_CHARTS = ("NPV distribution over scenarios", "Candidates: CVaR5 NPV against mean NPV")


def test_a_chart_of_what_is_not_a_plan_draws_no_role_s_colour(sweep):
    """The sweep's report drew its pick's debt, its MW online, its GPU resale value and its uncured
    breaches orange, a reader took them for the forecast optimum's (orange in the NPV histogram and
    the Pareto chart beside them). A chart of the pick's own figures draws no role's colour: blue,
    then vermillion (cash blue, debt vermillion; MW drawn blue, MW online vermillion), and "When ...
    breaks" blue, black and vermillion (a breach, an uncured breach, a liquidity default)."""
    _, report, _ = sweep
    drawn = r'<svg class="chart wide" viewBox="[^"]*" role="img" aria-label="([^"]*)"(.*?)</svg>'
    charts = {unescape(title): chart for title, chart in re.findall(drawn, report, re.S)
              if title not in PLAN_CHARTS}  # fmt: skip
    assert {title.split(":")[0].split(" on ")[0] for title in charts} >= {
        "Fleet by generation", "Power at texas", "Cash and debt", "Borrowing base"}, list(charts)  # fmt: skip
    roles = {colour.upper() for colour in svg.ROLE_COLOURS.values()}
    shared = {title: _series_colours(chart) & roles for title, chart in charts.items()}
    assert not any(shared.values()), shared
    breaks = next(chart for title, chart in charts.items() if title.startswith("When "))
    uncured = re.findall(r'stroke="(#\w+)"[^>]*><title>uncured breach</title>', breaks)
    assert uncured == [svg.OKABE_ITO["black"]], uncured


def _table_rows(html: str, heading: str) -> dict[str, str]:
    """Each row's class by its plan cell's text (the plan and what it is to its run), in the first
    table after ``heading``."""
    start = html.index(heading)
    body = html[start : html.index("</table>", start)]
    rows = re.findall(r"<tr(?: class=[\"']([^\"']*)[\"'])?>(.*?)</tr>", body, re.S)
    plans = {}
    for cls, cells in rows:
        texts = [unescape(t) for t in re.findall(r"<td[^>]*>([^<]*)</td>", cells)]
        if len(texts) > 1:
            plans[texts[1]] = cls
    return plans


def test_the_candidates_tables_mark_each_role_as_the_charts_draw_it(sweep):
    """The candidates table and the Pareto chart's key marked the pick (a green bar, bold) and the
    front (a bold blue number) alone: the forecast optimum and the third plan, orange and purple in
    every chart, were rows like any other. Each role's row has a bar in its colour (class opt: orange,
    best: purple, rec: green) and its role in words after the plan, as the charts' legends write it,
    for a reader who cannot tell the colours apart; the caption says which colour is which."""
    _, report, _ = sweep
    words = {OPTIMUM: "forecast optimum", PICK: "recommendation",
             BEST: "plan of highest mean NPV no worse than the forecast optimum"}  # fmt: skip
    classes = {OPTIMUM: "opt", PICK: "rec", BEST: "best"}
    for heading in ("Candidates and their risk over", "Key to the Pareto chart", "What the policy had to do"):
        rows = _table_rows(report, heading)
        for plan, role in words.items():
            assert rows[f"{plan} ({role})"].split()[0] == classes[plan], (heading, plan, rows)
        assert not any(cls.split()[:1] in (["opt"], ["best"], ["rec"]) for name, cls in rows.items()
                       if not name.endswith(")")), (heading, rows)  # fmt: skip
    for role, colour in (("opt", ORANGE), ("best", PURPLE), ("rec", GREEN)):
        assert f"tr.{role} td:first-child{{box-shadow:inset 4px 0 {colour}}}" in report, role
    # the pick's row tinted and bold, its first cell too where a wide table keeps it in view
    assert "tr.rec td{background:#dcfce7;font-weight:600;" in report
    assert ".scroll tr.rec td:first-child,.scroll tr.rec td.stick{background:#dcfce7}" in report
    caption = ("a bar at a row's start marks its plan's role, in the charts' colour: green for the "
               "recommendation, orange for the forecast optimum and purple for the plan of highest mean NPV "
               "no worse than the forecast optimum (the role said after the plan too)")  # fmt: skip
    assert caption.lower() in unescape(report).lower()


def test_compare_s_table_of_the_third_plan_against_the_pick_is_headed_by_their_letters(sweep):
    """compare's page of tiny's sweep heads the table of its third plan against its pick by the
    plans' letters, as its Figures table (A the forecast optimum, B the pick, C the third plan); the
    caption under its title says which is which (the labels wrapped each head over 3 to 6 lines)."""
    _, _, compared = sweep
    start = compared.index(f"<h2>\u201c{escape(BEST)}\u201d against the sweep&#x27;s pick")
    table = compared[start : compared.index("</thead>", start)]
    heads = [unescape(re.sub(r"<[^>]+>", "", head)) for head in re.findall(r"<th[^>]*>(.*?)</th>", table)]
    assert heads == ["figure", "B", "C", "C − B", "paired standard error", "better"], heads
    assert f"<th><abbr title='{escape(BEST)} − {escape(PICK)}'>C − B</abbr></th>" in table
    caption = f"B: the pick, \u201c{PICK}\u201d; C: \u201c{BEST}\u201d (as in the Figures' key)."
    assert f"<p class='cap'>{escape(caption)}</p>" in table


def _contrast_on_white(colour: str) -> float:
    """WCAG 2's contrast ratio of ``colour`` on white: (1 + 0.05) / (its relative luminance + 0.05)."""
    rgb = np.array([int(colour[i : i + 2], 16) for i in (1, 3, 5)]) / 255
    linear = np.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)
    return 1.05 / (float(np.dot([0.2126, 0.7152, 0.0722], linear)) + 0.05)


def test_a_grey_point_is_outlined_at_the_contrast_a_graphic_needs():
    """The Pareto chart's other candidates were light grey dots, #BBBBBB: 1.9:1 on white (its
    luminance 0.497: 1.05 / 0.547), under WCAG's 3:1 for a graphic. Each is outlined in #6E6E6E
    (luminance 0.156: 1.05 / 0.206 = 5.1:1), still apart from each role's colour and the front's with
    a red-green colour blindness, and so is its legend swatch; the light fill keeps it behind them."""
    assert _contrast_on_white(svg.GREY) == pytest.approx(1.92, abs=0.01)
    assert _contrast_on_white(svg.GREY_EDGE) == pytest.approx(5.10, abs=0.01)
    assert too_alike([svg.GREY_EDGE, svg.FRONT, *svg.ROLE_COLOURS.values()]) == []
    points = [{"label": f"{n}: p{n}", "key": str(n), "x": n, "y": n, "front": n == 1, "recommended": n == 2,
               "roles": []} for n in range(3)]  # fmt: skip
    chart = svg.scatter("Pareto", points, "x", "y", "mean", "CVaR5")
    circles = {name: attrs for attrs, name in re.findall(r'<circle ([^>]*)><title>\d: (p\d)</title>', chart)}
    edge = f'stroke="{svg.GREY_EDGE}"'
    assert edge in circles["p0"] and edge not in circles["p1"] and edge not in circles["p2"], circles
    swatch = re.search(r'<rect [^>]*/>\s*<text [^>]*>other candidates</text>', chart)
    assert swatch and f'fill="{svg.GREY}"' in swatch.group(0) and edge in swatch.group(0)


def test_an_outline_s_legend_swatch_is_as_wide_as_its_outline():
    """An outline drawn under later ones is widened (three plans of one NPV: b 3.5 px, c 2 px), but
    every legend swatch was 2 px: b's thick dashed outline in the chart had a thin one in the legend.
    Each outline's swatch is as wide as its outline, 3.5 px at most (wider all but fills its 12 x 10 px
    box: a 5 x 3 px hole at 3.5 px)."""
    same = np.linspace(-1e6, 1e6, 200)
    chart = svg.histogram("t", {"a": same, "b": same, "c": same})
    swatch = r'<polyline [^>]*fill="none" [^>]*stroke-width="([\d.]+)"[^>]*/>\s*<text [^>]*>({})</text>'
    swatches = re.findall(swatch.format(r"\w"), chart)
    assert [(name, float(w)) for w, name in swatches] == [("b", 3.5), ("c", 2.0)], swatches
    seven = svg.histogram("t", {f"p{k}": same for k in range(7)})
    widest = re.findall(swatch.format("p1"), seven)
    assert widest == [("3.5", "p1")], widest  # drawn 6 px
