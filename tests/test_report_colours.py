"""The report's series colours read apart with a red-green colour blindness (simulated)."""

from __future__ import annotations

import itertools
import math
import re

import numpy as np
import pytest

from fleetopt.report import page, svg

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
    three lines of 'When ... breaks', cash and debt, fleet by generation, the Pareto chart."""
    rng = np.random.default_rng(1)
    q = ["2026Q3", "2026Q4", "2027Q1"]
    plans = {f"plan {n}": rng.normal(n * 1e6, 1e6, 300) for n in range(len(svg.PALETTE))}
    marks = {k: {"mean": float(v.mean())} for k, v in plans.items()}
    breaks = {"covenant breached": np.array([0, 0.1, 0.2]), "uncured breach": np.array([0, 0.05, 0.1]),
              "liquidity default": np.array([0, 0.01, 0.02])}  # fmt: skip
    fleet = {g: np.ones(3) for g in svg.GENERATION_COLOURS}
    points = [{"label": str(n), "x": n, "y": n * n, "front": n % 2 == 0, "recommended": n == 2}
              for n in range(6)]  # fmt: skip
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
    assert colours <= {c.upper() for c in (*svg.OKABE_ITO.values(), svg.GREY)}, colours
    assert too_alike(colours) == []


def test_a_chart_s_lines_are_told_apart_by_their_dashes_not_colour_alone():
    """Each solid line after the first, and each outlined plan of a histogram, has a dash of its
    own on screen (not only in print), its legend swatch the same."""
    style = svg.line_dash_style()
    assert "@media" not in style and "svg .s1{stroke-dasharray:8 3}" in style
    charts = _charts()
    for kind, classes in (("when it breaks", {"s1", "s2"}), ("comparison", {"s1", "s2", "s3"})):
        drawn = re.findall(r'<(path|line|rect)\b[^>]*class="(s\d)"', charts[kind])
        assert {c for tag, c in drawn if tag == "path"} == classes, (kind, drawn)  # the series
        assert {c for tag, c in drawn if tag != "path"} == classes, (kind, drawn)  # their swatches
