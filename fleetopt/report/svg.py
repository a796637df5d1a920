"""Small, dependency-free SVG charts for the HTML report (inline, so the page works offline)."""

from __future__ import annotations

import itertools
import math
import textwrap
from dataclasses import dataclass
from html import escape

import numpy as np

from fleetopt.core.quarters import quarter_runs
from fleetopt.core.units import (
    format_count,
    format_mw,
    format_percent,
    format_times,
    format_usd,
    format_usd_compact,
    rounded,
)
from fleetopt.runs.summary_schema import BEST_MEAN_KEY

# Okabe & Ito's colours, told apart with a red-green colour blindness (the old palette's blue and
# purple, 1st and 5th plan of a comparison, were one colour to a deuteranope; its orange and green,
# an uncured breach and a liquidity default, both olive to a protanope). Yellow is left out: a line
# of it on white is barely seen. Each series' colour is one of these.
OKABE_ITO = {"blue": "#0072B2", "orange": "#E69F00", "bluish green": "#009E73", "vermillion": "#D55E00",
             "reddish purple": "#CC79A7", "sky blue": "#56B4E9", "black": "#000000"}  # fmt: skip
PALETTE = list(OKABE_ITO.values())
# what is not a series of its own: the older generation, candidates off the front; light, as #999999 and
# the third plan's reddish purple, both points of the Pareto chart, were 6.2 apart to a deuteranope
GREY = "#BBBBBB"
# GREY is 1.9:1 on white, under the 3:1 a graphic needs (WCAG 1.4.11): a grey point is outlined in a
# grey of 5.1:1 (CIEDE2000 at least 12 from each role's colour with a red-green colour blindness), its
# light fill kept so that it stays behind the roles' and the front's points
GREY_EDGE, POINT_EDGE_PX = "#6E6E6E", 1.25
# a paired difference of two plans' NPV (compare's page): neither plan's, so no role's and not blue, the
# first plan without a role's (a stochastic plan's, drawn beside it): black, its bars grey at BAR_OPACITY,
# its mean a black line that shows over them (the fourth plan without a role is black too: a rare page)
DIFFERENCE = OKABE_ITO["black"]


@dataclass(frozen=True)
class RoleLook:
    """How a plan of a role is shown on a page: its colour, by its name in :data:`OKABE_ITO`, and
    the class of its row in a table of plans, a bar in that colour at the row's start
    (``report/markup.py``), the table's caption naming the colour in a word (:attr:`colour_word`)."""

    colour_name: str
    row_class: str

    @property
    def colour(self) -> str:
        return OKABE_ITO[self.colour_name]

    @property
    def colour_word(self) -> str:
        """The colour in one word, for a caption: "green", "orange", "purple"."""
        return self.colour_name.split()[-1]


# What a plan is to its run (a sweep's summary.json field naming it, compare.SWEEP_ROLES' keys; a
# stochastic solve's forecast optimum too) and its colour in every chart that draws it, the run's
# report and compare's pages alike: the pick was green in the Pareto chart and blue in the NPV
# histogram, and compare's page drew the third plan in the pick's green. The pick green, not red,
# which a finance reader takes for "bad". A plan of two roles (a sweep that recommends its forecast
# optimum) has the first's here; the colour's row in a table of plans said by its class.
ROLE_LOOKS = {"recommended": RoleLook("bluish green", "rec"), "forecast_optimum": RoleLook("orange", "opt"),
              BEST_MEAN_KEY: RoleLook("reddish purple", "best")}  # fmt: skip
ROLE_COLOURS = {role: look.colour for role, look in ROLE_LOOKS.items()}
RECOMMENDED = ROLE_COLOURS["recommended"]
FRONT = OKABE_ITO["blue"]  # the Pareto chart's candidates on the front, but a role's
# a plan with no role, and a series that is no plan (cash and debt, MW online, an uncured breach, a
# generation): the palette's colours no role has first, in order (then a role's, where none is left).
# The report drew debt, MW online and uncured breaches orange, the forecast optimum's colour
NO_ROLE_FIRST = sorted(PALETTE, key=lambda colour: colour in ROLE_COLOURS.values())
GENERATION_COLOURS = {"hopper": GREY, "blackwell": OKABE_ITO["blue"], "rubin": OKABE_ITO["vermillion"]}


@dataclass(frozen=True)
class Layout:
    """A chart's geometry and type sizes, in its SVG's own units. A chart scales with its box, so
    its 11-unit text read 5 px on a phone and 8.6 px two charts abreast on a desktop: the page
    draws each chart twice, wide and narrow, and shows the one whose text is at least
    :data:`MIN_TEXT_PX` in the box it has (:func:`both`, :func:`layout_style`)."""

    name: str  # the SVG's class
    w: int
    h: int  # without the rows a title, an axis title or a legend wraps to
    left: int  # the plot's left edge (the y tick labels end before it)
    right: int
    top: int
    bottom: int
    tick: float  # the type size of tick labels, axis titles and legends
    title: float
    inset: int  # where the legend starts
    x_labels: int  # quarter labels at most along the x axis

    @property
    def char(self) -> float:
        """A character's width, about, in tick type."""
        return 0.6 * self.tick

    @property
    def row(self) -> float:
        """A line of tick type's height, a legend row."""
        return round(1.45 * self.tick, 1)


WIDE = Layout("wide", 720, 320, 84, 28, 46, 66, tick=13, title=16, inset=84, x_labels=8)
NARROW = Layout("narrow", 360, 300, 56, 22, 44, 62, tick=11, title=13, inset=8, x_labels=4)
TITLE_X, TITLE_CHAR = 8, 0.62  # where a chart's title starts; a bold character's width, in em
MIN_TEXT_PX = 10  # a chart's smallest text on the screen, CSS px: the wide chart below this box width
# a legend entry's width, about, in its type's em: wider than :attr:`Layout.char`, so that a name of
# wide letters ('recommended') does not run into the next entry's swatch; and the space after it
LEGEND_CHAR, LEGEND_GAP = 0.68, 16
PAD = 0.06  # share of a data range left free at each end of a scatter's or histogram's axes
ZERO_COLOUR = "#0f172a"


def nice_ticks(lo: float, hi: float, n: int = 5, fmt=None) -> list[float]:
    """Round tick values from at or below ``lo`` to at or above ``hi``; with ``fmt``, the tick labels,
    only a step each of whose ticks ``fmt`` writes exactly (a 2.5 % step in whole per cents wrote
    2.5 % as "2%" and 7.5 % as "8%")."""
    if not math.isfinite(lo) or not math.isfinite(hi):
        return [0.0, 1.0]
    if hi <= lo:
        hi = lo + (abs(lo) or 1.0)
    decade = 10 ** math.floor(math.log10((hi - lo) / n))
    ticks: list[float] = []
    for step in (decade * m * 10**k for k in range(4) for m in (1, 2, 2.5, 5)):
        if (hi - lo) / step > n:
            continue
        first, last = math.floor(lo / step), math.ceil(hi / step)
        ticks = [round(k * step, 12) for k in range(first, last + 1)]
        if fmt is None or all(_written_exactly(v, fmt(v), step) for v in ticks):
            break
    return ticks


_WRITTEN_SCALES = {"B": 1e9, "M": 1e6, "k": 1e3, "%": 0.01}


def _written_exactly(v: float, label: str, step: float) -> bool:
    """Whether ``label`` reads as ``v`` (to a millionth of the step): $1.25M, -2.5B, 12%, 1,250."""
    text = label.replace("$", "").replace(",", "")
    scale = _WRITTEN_SCALES.get(text[-1:], 1.0)
    try:
        read = float(text[:-1] if text[-1:] in _WRITTEN_SCALES else text) * scale
    except ValueError:  # a label that is not a number: nothing to check
        return True
    return abs(read - v) <= 1e-6 * step


_TICK_SCALES = ((1e9, "B"), (1e6, "M"), (1e3, "k"))


def _scaled_tick(v: float) -> str:
    """|v| in B, M or k with the decimals it has, to three (ticks are round: 1.25M, not 1.2M, on an
    axis stepping by 250k, where one decimal wrote 1.2M between 1M and 1.5M)."""
    a = abs(v)
    scale, suffix = _scale_of(a)
    return f"{a / scale:,.3f}".rstrip("0").rstrip(".") + suffix


def _scale_of(a: float) -> tuple[float, str]:
    """The B, M or k scale (and suffix) a magnitude is written in; 1 and none below a thousand."""
    return next(((s, x) for s, x in _TICK_SCALES if a >= s), (1.0, ""))


def usd_tick(v: float) -> str:
    """An axis label in USD: $20M, -$2.5B, $1.25M (a tick is written exactly, not rounded)."""
    return ("-" if v < 0 else "") + "$" + _scaled_tick(v)


def number_tick(v: float) -> str:
    """An axis label of a count: 5, 7.5, 12.5k, 1.25M."""
    if abs(v) < 1000:
        return f"{v:,.0f}" if v == round(v) else f"{v:g}"
    return ("-" if v < 0 else "") + _scaled_tick(v)


def share_tick(v: float) -> str:
    """An axis label of a share in per cent, with the decimals it has (two at most): 0%, 2.5%, 0.25%
    (whole per cents only widened an axis of shares under 1 % to 0-1 %)."""
    pct = v * 100
    decimals = next((d for d in (0, 1) if abs(round(pct, d) - pct) < 1e-9), 2)
    return f"{pct:.{decimals}f}%"


def times_tick(v: float) -> str:
    """An axis label of a ratio, as a multiple with the decimals it has: 0x, 1.5x, 2.25x."""
    return f"{v:g}x"


def mw_tick(v: float) -> str:
    """An axis label in MW, whole numbers with thousands separators: 1,250, 2.5 (not 1.25k)."""
    return f"{v:,.0f}" if v == round(v) else f"{v:,.3f}".rstrip("0").rstrip(".")


def _padded(lo: float, hi: float) -> tuple[float, float]:
    span = (hi - lo) or abs(hi) or 1.0
    return lo - PAD * span, hi + PAD * span


class Frame:
    """Axes mapping data to pixels, with gridlines, tick labels, axis titles, a title and a legend,
    drawn in a :class:`Layout` (a title or an axis title too long for its width wraps).

    A legend entry is (name, colour), (name, colour, style) or (name, colour, style, width): style
    "box" (default), "edge:<colour>" (a box outlined in that colour), "outline", "line", "dash" or
    "dot"; a line's colour may be a tuple, one line each (markers drawn in each plan's colour); width:
    an outline's stroke, as drawn (:data:`LINE_PX` unless given)."""

    def __init__(
        self, title: str, x_labels: list[str], y_lo: float, y_hi: float, y_fmt=number_tick,
        y_unit: str = "", x_title: str = "", layout: Layout = WIDE,
    ):  # fmt: skip
        self.title, self.x_labels, self.y_fmt, self.y_unit, self.x_title = title, x_labels, y_fmt, y_unit, x_title
        self.layout = lay = layout
        self.title_lines = _wrapped(title, (lay.w - 2 * TITLE_X) / (TITLE_CHAR * lay.title))
        self.x_title_lines = _wrapped(x_title, (lay.w - 16) / lay.char) if x_title else []
        self.top = lay.top + (len(self.title_lines) - 1) * round(1.25 * lay.title)  # the plot's top edge
        self.bottom = self.top + lay.h - lay.top - lay.bottom  # the plot's bottom edge
        self.left, self.right = lay.left, lay.w - lay.right  # the plot's side edges
        ticks = nice_ticks(min(y_lo, 0.0) if y_lo >= 0 else y_lo, y_hi, fmt=y_fmt)
        self.y_ticks = ticks
        self.y0, self.y1 = ticks[0], ticks[-1] if ticks[-1] > ticks[0] else ticks[0] + 1
        self.x_ticks: list[tuple[float, str]] | None = None  # (pixel, label) of a continuous x axis
        self.parts: list[str] = []

    def x(self, i: float) -> float:
        if len(self.x_labels) == 1:  # a one-quarter horizon: its label in the middle (see _across)
            return (self.left + self.right) / 2
        return self.left + (self.right - self.left) * i / (len(self.x_labels) - 1)

    def y(self, v: float) -> float:
        return self.top + (self.bottom - self.top) * (1 - (v - self.y0) / (self.y1 - self.y0))

    def px(self, v: float, lo: float, hi: float) -> float:
        """The x pixel of ``v`` on a continuous axis from ``lo`` to ``hi``."""
        return self.left + (self.right - self.left) * (v - lo) / (hi - lo)

    def x_tick_count(self) -> int:
        """How many ticks a continuous x axis may have, its labels (about 8 characters) apart."""
        return max(3, min(6, int((self.right - self.left) / (9 * self.layout.char))))

    def add(self, svg: str) -> None:
        self.parts.append(svg)

    def _x_tick_labels(self) -> list[str]:
        lay = self.layout
        if self.x_ticks is None:
            step = max(1, math.ceil(len(self.x_labels) / lay.x_labels))
            step = 4 * math.ceil(step / 4) if step > 2 else step  # whole years: each label the same quarter
            ticks = [(self.x(i), self.x_labels[i]) for i in range(0, len(self.x_labels), step)]
        else:
            ticks = self.x_ticks
        out, free_from = [], -math.inf  # where the last label drawn ends, and a gap after it
        for x, label in ticks:
            # a label centred near the right edge would be cut off: end it at its tick instead
            width = lay.char * len(label)
            anchor = "end" if x + width / 2 > lay.w - 2 else "middle"
            start = x - (width if anchor == "end" else width / 2)
            if start < free_from:  # it would run into the label before it: its gridline says enough
                continue
            free_from = start + width + lay.char
            out.append(f'<text x="{x:.1f}" y="{self.bottom + lay.row + 2:.1f}" class="tick" '
                       f'text-anchor="{anchor}">{escape(label)}</text>')  # fmt: skip
        return out

    def _legend(self, legend, y0: float) -> tuple[list[str], int]:
        """The legend's SVG from ``y0`` down, in rows that wrap at the right edge, and its rows."""
        lay = self.layout
        out, x, row = [], lay.inset, 0
        for entry in legend:
            name, colour, *drawn = entry
            style, stroke = (*drawn, "box", LINE_PX)[0], (*drawn[1:], LINE_PX)[0]
            em = LEGEND_CHAR * lay.tick
            lines = _wrapped(name, (lay.w - 4 - lay.inset - 18) / em)  # a long entry on rows of its own
            width = 18 + em * max(len(line) for line in lines)
            if x > lay.inset and (x + width > lay.w - 4 or len(lines) > 1):
                x, row = lay.inset, row + 1
            y = y0 + lay.row * row
            out.append(_swatch(x, y, colour, style, stroke))
            out.append(_lines_text(x + 18, y + 9, lines, lay.row, "tick"))
            x += width + LEGEND_GAP
            if len(lines) > 1:  # the next entry below it
                x, row = lay.w, row + len(lines) - 1
        return out, row + 1 if legend else 0

    def render(self, legend: list[tuple] | None = None) -> str:
        lay = self.layout
        below = self.bottom + lay.bottom - lay.row + (len(self.x_title_lines) - 1) * lay.row
        legend_parts, rows = self._legend(legend or [], below - 12 + lay.row)
        height = below + lay.row * max(1, rows)
        out = [
            f'<svg class="chart {lay.name}" viewBox="0 0 {lay.w} {height:.0f}" role="img" '
            f'aria-label="{escape(self.title)}" xmlns="http://www.w3.org/2000/svg">',
            _lines_text(TITLE_X, 18, self.title_lines, round(1.25 * lay.title), "title"),
        ]
        for v in self.y_ticks:
            y = self.y(v)
            out.append(f'<line x1="{self.left}" x2="{self.right}" y1="{y:.1f}" y2="{y:.1f}" class="grid"/>')
            out.append(f'<text x="{self.left - 6}" y="{y + 0.35 * lay.tick:.1f}" class="tick" '
                       f'text-anchor="end">{escape(self.y_fmt(v))}</text>')  # fmt: skip
        out.extend(self._x_tick_labels())
        if self.y_unit:  # above the axis, below the title
            out.append(f'<text x="8" y="{self.top - 12}" class="tick">{escape(self.y_unit)}</text>')
        if self.x_title:
            out.append(_lines_text((self.left + self.right) / 2, self.bottom + 2 * lay.row + 4,
                                   self.x_title_lines, lay.row, "tick axis", ' text-anchor="middle"'))  # fmt: skip
        out.extend(self.parts)
        out.extend(legend_parts)
        out.append("</svg>")
        return "\n".join(out)


def _wrapped(text: str, width: float) -> list[str]:
    """``text`` in lines of at most ``width`` characters, broken between words."""
    return textwrap.wrap(text, max(8, int(width)), break_long_words=False) or [""]


def _lines_text(x: float, y: float, lines: list[str], row: float, cls: str, attrs: str = "") -> str:
    """One text element of ``lines`` from baseline ``y`` down, ``row`` apart (a wrapped title)."""
    if len(lines) == 1:
        return f'<text x="{x:.0f}" y="{y:.0f}" class="{cls}"{attrs}>{escape(lines[0])}</text>'
    spans = "".join(f'<tspan x="{x:.0f}" dy="{0 if k == 0 else row}">{escape(line)}</tspan>'
                    for k, line in enumerate(lines))  # fmt: skip
    return f'<text x="{x:.0f}" y="{y:.0f}" class="{cls}"{attrs}>{spans}</text>'


def both(chart, *args, **kwargs) -> str:
    """``chart`` drawn in each :class:`Layout`, the wide first: the page shows the one whose text
    reads at least :data:`MIN_TEXT_PX` in its box (:func:`layout_style`)."""
    return ("<div class='chart-box'>" + chart(*args, **kwargs, layout=WIDE)
            + chart(*args, **kwargs, layout=NARROW) + "</div>")  # fmt: skip


def narrow_below_px() -> int:
    """The box width (CSS px) below which the wide chart's tick text is under :data:`MIN_TEXT_PX`."""
    return math.ceil(MIN_TEXT_PX * WIDE.w / WIDE.tick)


def layout_style() -> str:
    """Each layout's type sizes, and which of a chart's two drawings shows: the narrow below
    :func:`narrow_below_px` (a container query on its box; a browser without them, and print,
    shows the wide)."""
    sizes = "".join(f"svg.{lay.name} .tick{{font-size:{lay.tick}px}}svg.{lay.name} .title{{font-size:{lay.title}px}}"
                    for lay in (WIDE, NARROW))  # fmt: skip
    return (sizes + ".chart-box{container-type:inline-size}svg.chart.narrow{display:none}"
            f"@container (max-width:{narrow_below_px() - 0.02}px){{svg.chart.narrow{{display:block}}"
            "svg.chart.wide{display:none}}@media print{svg.chart.narrow{display:none!important}"
            "svg.chart.wide{display:block!important}}")


# lines told apart by colour alone look alike printed in grey (a print review) and to a colour-blind
# reader: the dash pattern of a chart's n-th solid line or outline (class s1, s2, s3; the first
# stays solid), on screen and in print
LINE_DASHES = ("", "8 3", "2 2.5", "8 2.5 2 2.5")


def line_dash_style() -> str:
    """The rules that dash each chart's solid lines after the first (:data:`LINE_DASHES`)."""
    return "".join(f"svg .s{n}{{stroke-dasharray:{dashes}}}" for n, dashes in enumerate(LINE_DASHES) if n)


def dash_class(n: int) -> str:
    """The class of a chart's ``n``-th solid line, whose dash tells it apart ("" for the first)."""
    return f"s{n % len(LINE_DASHES)}" if n % len(LINE_DASHES) else ""


# an outline's legend swatch (a bar's corner, 14 x 10 px) is at most this wide (px), to stay a corner
WIDEST_SWATCH_PX = 3.5


def _swatch(x: float, y: float, colour: str, style: str, width: float) -> str:
    if style.startswith("band:"):  # a shaded range, at the opacity it is drawn with
        return f'<rect x="{x}" y="{y}" width="12" height="10" fill="{colour}" opacity="{style[5:]}"/>'
    if style.startswith("edge:"):  # a point with an outline of its own (GREY's, GREY_EDGE)
        return (f'<rect x="{x + 0.75}" y="{y + 0.75}" width="10.5" height="8.5" fill="{colour}" '
                f'stroke="{style[5:]}" stroke-width="{POINT_EDGE_PX:g}"/>')  # fmt: skip
    if style == "box":
        return f'<rect x="{x}" y="{y}" width="12" height="10" fill="{colour}"/>'
    style, _, kind = style.partition(".")  # "line.s2": a line drawn with a dash of its own
    cls = f' class="{kind}"' if kind else ""
    if style == "outline":  # the outline's top, as wide as drawn (wider under others) and dashed as drawn
        w = min(width, WIDEST_SWATCH_PX)
        return (f'<polyline points="{x},{y + 10 - w / 2:g} {x},{y + w / 2:g} {x + 14},{y + w / 2:g}" fill="none" '
                f'stroke="{colour}" stroke-width="{w:g}"{cls}/>')  # fmt: skip
    dash = {"line": "", "dash": ' stroke-dasharray="4 3"', "dot": ' stroke-dasharray="1.5 2.5"'}[style]
    colours = colour if isinstance(colour, tuple) else (colour,)
    gap = min(3.0, 8.0 / len(colours))  # stacked within the swatch's 10 px
    return "".join(
        f'<line x1="{x}" x2="{x + 14}" y1="{y + 5 + (k - (len(colours) - 1) / 2) * gap:.1f}" '
        f'y2="{y + 5 + (k - (len(colours) - 1) / 2) * gap:.1f}" stroke="{c}" stroke-width="2"{dash}{cls}/>'
        for k, c in enumerate(colours)
    )


def _across(frame: Frame, ys) -> list[str]:
    """A series' points, quarter by quarter, as "x,y" pixels; of a one-quarter horizon its value held
    across the plot (a path or an area of one point drew nothing: a one-quarter report's fleet, power,
    cash and borrowing base charts were empty)."""
    if len(ys) == 1:
        y = frame.y(ys[0])
        return [f"{frame.left:.1f},{y:.1f}", f"{frame.right:.1f},{y:.1f}"]
    return [f"{frame.x(i):.1f},{frame.y(v):.1f}" for i, v in enumerate(ys)]


def _area(frame: Frame, high, low) -> str:
    """The points of a polygon between two series (an area's top and base, a band's ends)."""
    return " ".join(_across(frame, high) + _across(frame, low)[::-1])


def _path(frame: Frame, ys) -> str:
    return "M" + " L".join(_across(frame, ys))


def stacked_area(
    title: str, x_labels: list[str], series: dict[str, np.ndarray], colours: dict, unit: str,
    layout: Layout = WIDE,
) -> str:  # fmt: skip
    total = np.sum(list(series.values()), axis=0) if series else np.zeros(len(x_labels))
    frame = Frame(title, x_labels, 0.0, float(total.max()) if len(total) else 1.0, y_unit=unit, layout=layout)
    base = np.zeros(len(x_labels))
    legend = []
    for name, values in series.items():
        top = base + values
        if values.any():
            frame.add(
                f'<polygon points="{_area(frame, top, base)}" fill="{colours[name]}" opacity="0.85"><title>{escape(name)}</title></polygon>'
            )
            legend.append((name, colours[name]))
        base = top
    return frame.render(legend)


def series_colours(names, colours: dict[str, str] | None) -> dict[str, str]:
    """Each series' colour by its name, in order: its own in ``colours``, else the n-th of
    :data:`NO_ROLE_FIRST` (a series given no colour is no plan: not a role's while any other is left)."""
    return {name: (colours or {}).get(name, NO_ROLE_FIRST[n % len(NO_ROLE_FIRST)]) for n, name in enumerate(names)}


def drawn_role(roles) -> str | None:
    """The role a plan of ``roles`` (keys of :data:`ROLE_COLOURS`) is drawn as: the first of them
    there; None for none."""
    return next((role for role in ROLE_COLOURS if role in roles), None)


def plan_colours(labels: list[str], roles: dict[str, list[str]]) -> dict[str, str]:
    """Each plan's colour by its label: its role's (``roles``: a plan's keys of :data:`ROLE_COLOURS`,
    the first there taken), else, in order, the first of :data:`NO_ROLE_FIRST` that no plan's role
    has (blue, vermillion, sky blue, black, then a role's where no plan here has it), again from the
    first beyond them."""
    role_of = {label: role for label, keys in roles.items() if (role := drawn_role(keys))}
    taken = {ROLE_COLOURS[role_of[label]] for label in labels if label in role_of}
    spare = itertools.cycle([colour for colour in NO_ROLE_FIRST if colour not in taken])
    return {label: ROLE_COLOURS[role_of[label]] if label in role_of else next(spare) for label in labels}


def lines(
    title: str,
    x_labels: list[str],
    series: dict[str, np.ndarray],
    unit: str,
    y_fmt=number_tick,
    bands: dict[str, list[tuple[np.ndarray, np.ndarray, float, str]]] | None = None,
    dashed: set[str] | None = None,
    colours: dict[str, str] | None = None,
    layout: Layout = WIDE,
) -> str:
    """Line chart; ``bands`` gives a series shaded ranges (low, high, opacity, what the range is)
    for fan charts, each in the legend in its series' colour, as drawn; ``colours``: a series' own
    colour (else the palette's, in order). ``dashed``: the series drawn dashed, the others solid,
    as the caller's words say (a use's demand dashed, its compute solid); without it each line after
    the first has a dash of its own by its order (:data:`LINE_DASHES`)."""
    values = [v for v in series.values()] + [
        b for bs in (bands or {}).values() for lo, hi, *_ in bs for b in (lo, hi)
    ]
    lo = min(float(np.min(v)) for v in values) if values else 0.0
    hi = max(float(np.max(v)) for v in values) if values else 1.0
    frame = Frame(title, x_labels, lo, hi, y_fmt=y_fmt, y_unit=unit, layout=layout)
    legend, ranges = [], []
    colour_of = series_colours(series, colours)
    for n, (name, ys) in enumerate(series.items()):
        colour = colour_of[name]
        hidden = []  # the bands under the line: not in the legend, whose swatch promised what no eye finds
        for low, high, opacity, what in (bands or {}).get(name, []):
            thin = _thin_band(frame, low, high)
            label = f"{name} {what}" + (f" (thinner than the line: {name} barely varies)" if thin else "")
            frame.add(f'<polygon points="{_area(frame, high, low)}" fill="{colour}" opacity="{opacity}">'
                      f"<title>{escape(label)}</title></polygon>")  # fmt: skip
            if thin:
                hidden.append(what)
            else:
                ranges.append((label, colour, f"band:{opacity}"))
        dash = ' stroke-dasharray="6 4"' if dashed and name in dashed else ""
        # a dash by order only where the caller gives the styles no meaning: a lab's compute chart drew
        # its third line, inference compute, dotted, where its words said compute solid, demand dashed
        kind = "" if dashed else dash_class(n)
        cls = f' class="{kind}"' if kind else ""
        frame.add(
            f'<path d="{_path(frame, ys)}" fill="none" stroke="{colour}" stroke-width="2"{dash}{cls}><title>{escape(name)}</title></path>'
        )
        entry = f"{name} ({_hidden_bands_words(hidden, len((bands or {})[name]))})" if hidden else name
        legend.append((entry, colour, "dash" if dash else f"line.{kind}" if kind else "line"))
        frame.add(_point_tooltips(frame, name, ys, _value_writer(y_fmt, unit)))
    return frame.render(legend + ranges)


@dataclass(frozen=True)
class Fan:
    """A quantity's spread over scenarios by quarter, for :func:`fan`: ``bands`` (low, high, opacity,
    what the range is) and ``median``, (T,) each, drawn in the ``tested`` quarters alone (the others
    shaded), against ``limit`` (its value and its words in the legend), within ``axis`` (lo, hi: the
    values beyond it are drawn at its edge)."""

    bands: list[tuple[np.ndarray, np.ndarray, float, str]]
    median: np.ndarray
    tested: np.ndarray
    limit: tuple[float, str]
    axis: tuple[float, float]


FAN_COLOUR, LIMIT_COLOUR = NO_ROLE_FIRST[0], OKABE_ITO["vermillion"]
UNTESTED_OPACITY = 0.35  # GREY's shade over the quarters a covenant is not tested in


def fan(title: str, x_labels: list[str], spread: Fan, unit: str, y_fmt=number_tick,
        layout: Layout = WIDE) -> str:  # fmt: skip
    """A fan chart: :class:`Fan`'s bands and median over each run of tested quarters, its limit a
    dashed line across the plot, each quarter not tested shaded grey, with nothing of the fan in it."""
    lo, hi = spread.axis
    limit, limit_words = spread.limit
    frame = Frame(title, x_labels, min(lo, limit), max(hi, limit), y_fmt=y_fmt, y_unit=unit, layout=layout)
    legend = []
    untested = quarter_runs(~spread.tested)
    for first, last in untested:
        left, right = _run_edges(frame, first, last)
        frame.add(f'<rect x="{left:.1f}" y="{frame.top:.1f}" width="{right - left:.1f}" '
                  f'height="{frame.bottom - frame.top:.1f}" fill="{GREY}" opacity="{UNTESTED_OPACITY}">'
                  "<title>not tested</title></rect>")  # fmt: skip
    clip = [(np.clip(low, lo, hi), np.clip(high, lo, hi), opacity, what)
            for low, high, opacity, what in spread.bands]  # fmt: skip
    median = np.clip(spread.median, lo, hi)
    for first, last in quarter_runs(spread.tested):
        for low, high, opacity, what in clip:
            frame.add(f'<polygon points="{_run_area(frame, first, last, high, low)}" fill="{FAN_COLOUR}" '
                      f'opacity="{opacity}"><title>{escape(what)}</title></polygon>')  # fmt: skip
        frame.add(f'<path d="M{" L".join(_run_points(frame, first, last, median))}" fill="none" '
                  f'stroke="{FAN_COLOUR}" stroke-width="2"><title>median</title></path>')  # fmt: skip
    legend.append(("median", FAN_COLOUR, "line"))
    legend += [(what, FAN_COLOUR, f"band:{opacity}") for _, _, opacity, what in spread.bands]
    y = frame.y(limit)
    frame.add(f'<line x1="{frame.left}" x2="{frame.right}" y1="{y:.1f}" y2="{y:.1f}" stroke="{LIMIT_COLOUR}" '
              f'stroke-width="2" stroke-dasharray="6 4"><title>{escape(limit_words)}</title></line>')
    legend.append((limit_words, LIMIT_COLOUR, "dash"))
    if untested:
        legend.append(("not tested", GREY, f"band:{UNTESTED_OPACITY}"))
    frame.add(_fan_tooltips(frame, spread, y_fmt, unit))
    return frame.render(legend)


# a run of one tested quarter is drawn this wide (px) about its quarter: a band of one point is no area
ONE_QUARTER_PX = 3.0


def _run_points(frame: Frame, first: int, last: int, ys) -> list[str]:
    """A series' "x,y" pixels over quarters ``first`` .. ``last``: of one quarter, a short level step."""
    if first == last:
        x, y = frame.x(first), frame.y(ys[first])
        return [f"{x - ONE_QUARTER_PX:.1f},{y:.1f}", f"{x + ONE_QUARTER_PX:.1f},{y:.1f}"]
    return [f"{frame.x(i):.1f},{frame.y(ys[i]):.1f}" for i in range(first, last + 1)]


def _run_area(frame: Frame, first: int, last: int, high, low) -> str:
    """The polygon between two series over quarters ``first`` .. ``last``."""
    return " ".join(_run_points(frame, first, last, high) + _run_points(frame, first, last, low)[::-1])


def _run_edges(frame: Frame, first: int, last: int) -> tuple[float, float]:
    """The left and right pixels of quarters ``first`` .. ``last``, half a quarter out, within the plot."""
    if len(frame.x_labels) == 1:
        return frame.left, frame.right
    return max(frame.left, frame.x(first - 0.5)), min(frame.right, frame.x(last + 0.5))


def _fan_tooltips(frame: Frame, spread: Fan, y_fmt, unit: str) -> str:
    """An invisible spot on each tested quarter's median whose tooltip gives the quarter's median
    and bands, unclipped ("2028Q2: median 1.83x; 5-95 % of scenarios 1.20x to 3.41x")."""
    out, said = [], _value_writer(y_fmt, unit)

    def write(v: float) -> str:  # a ratio without a denominator: unbounded, as the path's frame says
        return "unbounded" if v == math.inf else said(v)

    for i in np.flatnonzero(spread.tested):
        ranges = "; ".join(f"{what} {write(float(low[i]))} to {write(float(high[i]))}"
                           for low, high, _, what in spread.bands)  # fmt: skip
        y = frame.y(float(np.clip(spread.median[i], *spread.axis)))
        words = f"{frame.x_labels[i]}: median {write(float(spread.median[i]))}; {ranges}"
        out.append(f'<circle cx="{frame.x(i):.1f}" cy="{y:.1f}" r="{HIT_RADIUS}" fill="transparent" '
                   f'class="hit"><title>{escape(words)}</title></circle>')  # fmt: skip
    return "".join(out)


# a value's words in a tooltip, by its axis's unit: as the key figures write it ($1.23B, 820 MW, 12.3%)
VALUE_WORDS = {usd_tick: format_usd, mw_tick: format_mw, share_tick: format_percent, times_tick: format_times}
HIT_RADIUS = 6  # px about each point of a line that shows its value when hovered


def _value_writer(y_fmt, unit: str):
    """How a line chart's tooltips write a value: by its axis (:data:`VALUE_WORDS`), else a count
    in the axis's unit (1,250 GPUs)."""
    return VALUE_WORDS.get(y_fmt, lambda v: format_count(v, unit).strip())


def _point_tooltips(frame: Frame, name: str, ys, write) -> str:
    """An invisible spot on each of a line's points whose tooltip is its quarter, the line's name
    and its value ("2027Q3: cash $1.23B"): the line's own tooltip gave its name alone."""
    return "".join(
        f'<circle cx="{frame.x(i):.1f}" cy="{frame.y(v):.1f}" r="{HIT_RADIUS}" fill="transparent" '
        f'class="hit"><title>{escape(f"{frame.x_labels[i]}: {name} {write(float(v))}")}</title></circle>'
        for i, v in enumerate(ys)
    )


# a band no taller than this (px) anywhere is hidden under its series' line, drawn 2 px wide
THIN_BAND_PX = 2.0


def _thin_band(frame: Frame, low, high) -> bool:
    """Whether a band is hidden by its line: no taller than :data:`THIN_BAND_PX` in any quarter."""
    return max((frame.y(lo) - frame.y(hi) for lo, hi in zip(low, high, strict=True)), default=0.0) <= THIN_BAND_PX


def _hidden_bands_words(whats: list[str], bands: int) -> str:
    """What a line's legend entry says of its bands hidden under it, left out of the legend: the
    default model's debt listed two bands (5-95 %, 25-75 %) that no reader could find."""
    if len(whats) == bands:
        return "barely varies over the scenarios: its bands are thinner than the line"
    return f"its band of {' and '.join(whats)} is thinner than the line"


# share of the pooled samples beyond each end of a histogram's axis, counted in its end bars, so that
# a few extreme scenarios do not squeeze every other bar into one corner
HISTOGRAM_TAIL = 0.005
MARKER_STYLES = {"mean": "line", "P5": "dash", "P95": "dash"}  # a marker's line style; zero is dotted
BAR_OPACITY = 0.6  # the first series' bars, and their legend swatch
# a line drawn over another of the same place hid it (tiny's sweep: the third plan's NPV is the forecast
# optimum's but in a few scenarios): the one under is drawn wider by a step a line over it, so that its
# colour shows either side; the widest at most WIDEST_LINE_PX (the step shared where more lie over it)
LINE_PX, LINE_STEP_PX, WIDEST_LINE_PX = 2.0, 1.5, 6.0
SAME_LINE_PX = 2.0  # marker lines nearer than this lie on one another


def _under_width(over: int, step: float = LINE_STEP_PX) -> float:
    """The stroke width (px) of a line that ``over`` lines are drawn over, ``step`` wider for each."""
    return min(WIDEST_LINE_PX, LINE_PX + step * over)


def histogram(
    title: str, samples: dict[str, np.ndarray], markers: dict[str, dict[str, float]] | None = None,
    bins: int = 30, x_title: str = "NPV, USD", marked: str = "NPV", sample: str = "",
    notes: dict[str, str] | None = None, colours: dict[str, str] | None = None, layout: Layout = WIDE,
) -> str:  # fmt: skip
    """Share of scenarios per bin; the axis spans the pooled samples' 0.5-99.5 percentiles, and the
    end bars also count the samples beyond them. The first series is drawn as filled bars, the
    others as outlines (so an overlap needs no colour of its own). ``markers``: per series, values
    drawn as vertical lines in its colour (``mean`` solid, ``P5`` or ``P95`` dashed); zero is a dotted line
    when in range. ``marked``: what the samples are, in the markers' legend ("mean NPV");
    ``sample``: where the samples are a sample of the run's scenarios, its words for the markers'
    legend and tooltips ("500-scenario sample"), so their mean is not read as the run's. ``notes``:
    per series, words in brackets after its name in its legend entry: what it is (a sweep's
    "recommendation"), or why it seems missing, drawn exactly under another ("identical to A"), its
    outline and mean under the other's. ``colours``: a series' own colour, its markers' too (else the
    palette's, in order)."""
    lo, hi, edges = _histogram_range(samples, bins)
    counts = {k: np.histogram(np.clip(v, lo, hi), bins=edges)[0] / len(v) for k, v in samples.items()}
    top = max(float(c.max()) for c in counts.values())
    top = min(top * (1 + PAD), 1.0)  # a share: the axis never above 100 %
    frame = Frame(title, [], 0.0, top, y_fmt=share_tick, y_unit="share of scenarios",
                  x_title=f"{x_title} (the end bars include the outer {HISTOGRAM_TAIL:.1%} of scenarios)",
                  layout=layout)  # fmt: skip

    axis_lo, ticks = _histogram_x_ticks(lo, hi, frame)

    def px(v: float) -> float:
        return frame.px(v, axis_lo, hi)

    frame.x_ticks = [(px(v), label) for v, label in ticks]
    colour_of = series_colours(counts, colours)
    outlines = len(counts) - 1  # each drawn over those before it: the step shared to keep the widest
    step = min(LINE_STEP_PX, (WIDEST_LINE_PX - LINE_PX) / max(outlines - 1, 1))
    legend = [_histogram_series(frame, px, edges, n, _under_width(outlines - n, step), name, shares,
                                colour_of[name], (notes or {}).get(name))
              for n, (name, shares) in enumerate(counts.items())]  # fmt: skip
    legend += _histogram_markers(frame, px, lo, hi, markers or {}, colour_of, marked, sample)
    return frame.render(legend)


def _histogram_range(samples: dict[str, np.ndarray], bins: int) -> tuple[float, float, np.ndarray]:
    """A histogram's axis (lo, hi: the pooled samples' :data:`HISTOGRAM_TAIL` quantiles, else their
    range, else one unit from a value they all share) and its ``bins`` bins' edges across it."""
    allv = np.concatenate([np.asarray(v, dtype=float) for v in samples.values()])
    lo, hi = (float(q) for q in np.quantile(allv, [HISTOGRAM_TAIL, 1.0 - HISTOGRAM_TAIL]))
    if hi <= lo:
        lo, hi = float(allv.min()), float(allv.max())
    if hi <= lo:
        hi = lo + 1.0
    return lo, hi, np.linspace(lo, hi, bins + 1)


def _histogram_series(frame: Frame, px, edges: np.ndarray, n: int, width: float, name: str, shares: np.ndarray,
                      colour: str, note: str | None) -> tuple:  # fmt: skip
    """Draw a histogram's ``n``-th series, its share of scenarios per bin: the first as bars, each
    other as an outline ``width`` px wide, dashed as a line would be (told apart by more than colour);
    its legend entry."""
    if n == 0:
        _histogram_bars(frame, px, edges, name, shares, colour)
        style = f"band:{BAR_OPACITY}"
    else:
        kind = dash_class(n)
        _histogram_outline(frame, px, edges, name, shares, colour, kind, width)
        style = f"outline.{kind}" if kind else "outline"
    return (f"{name} ({note})" if note else name, colour, style, width)


def _histogram_outline(frame: Frame, px, edges: np.ndarray, name: str, shares: np.ndarray, colour: str,
                       kind: str, width: float) -> None:  # fmt: skip
    """Draw a series as the outline of its bars, from the axis up and along each bin's top, of class
    ``kind`` (its dash), ``width`` px wide."""
    steps = [f"M{px(edges[0]):.1f},{frame.y(0):.1f}"]
    for b, share in enumerate(shares):
        steps.append(f"L{px(edges[b]):.1f},{frame.y(share):.1f} L{px(edges[b + 1]):.1f},{frame.y(share):.1f}")
    steps.append(f"L{px(edges[-1]):.1f},{frame.y(0):.1f}")
    cls = f' class="{kind}"' if kind else ""
    frame.add(f'<path d="{" ".join(steps)}" fill="none" stroke="{colour}" stroke-width="{width:g}"{cls}>'
              f"<title>{escape(name)}</title></path>")  # fmt: skip


def _histogram_bars(frame: Frame, px, edges: np.ndarray, name: str, shares: np.ndarray, colour: str) -> None:
    """Draw a series' bars, one a bin with a share, each with its bin's range and share as its tooltip."""
    for b, share in enumerate(shares):
        if share > 0:
            frame.add(
                f'<rect x="{px(edges[b]) + 0.5:.1f}" y="{frame.y(share):.1f}" '
                f'width="{px(edges[b + 1]) - px(edges[b]) - 1:.1f}" height="{frame.y(0) - frame.y(share):.1f}" '
                f'fill="{colour}" opacity="{BAR_OPACITY}"><title>{escape(name)}: {escape(_bin_words(edges, b))}: '
                f"{format_percent(share)}</title></rect>"
            )


def _histogram_x_ticks(lo: float, hi: float, frame: Frame) -> tuple[float, list[tuple[float, str]]]:
    """Where a histogram's x axis starts, and its ticks (value, label): round ticks from ``lo`` to ``hi``
    at most :meth:`Frame.x_tick_count`. Where the axis spans negative values and no round tick lies in
    ``[lo, 0)`` (lo -$18B, hi $45B, step $20B: -$20B lies below lo and was dropped, leaving the negative
    NPVs unlabelled), at least one negative value is labelled, in this order:

    1. the round tick just below ``lo``, where it is within half a step of it: the axis (not the bins)
       starts there, a strip left of the first bar (-$20B, the axis from -$20B, the bars from -$18B);
    2. else a finer round step (2, 2.5, 5 or 10 to a decade, coarsest first) that has a tick in
       ``[lo, 0)`` or within half its step below ``lo`` (the axis then starts there), where its
       labels, a character apart, still fit between its ticks (lo -$12B, hi $45B: -$10B, on a $10B step);
    3. else ``lo`` itself, to one decimal (-$4.9B at -$4.87B); a later label it would run into
       is left out (its gridline stays; zero keeps its dotted line)."""
    n = frame.x_tick_count()
    ticks = nice_ticks(lo, hi, n, usd_tick)
    inside = [v for v in ticks if lo <= v <= hi]
    if lo >= 0 or any(v < 0 for v in inside) or len(ticks) < 2:
        return lo, [(v, usd_tick(v)) for v in inside]
    step = ticks[1] - ticks[0]
    width = frame.right - frame.left
    decade = 10 ** math.floor(math.log10(step))
    finer = sorted(
        (s for k in (-1, 0) for m in (1, 2, 2.5, 5) if (s := decade * m * 10**k) < step), reverse=True
    )
    for s in [step, *finer]:
        below = math.floor(lo / s) * s  # the round tick at or below lo
        start = below if lo - below <= s / 2 else lo
        first = below if start == below else below + s
        if first >= 0:
            continue
        values = [round(first + k * s, 12) for k in range(math.floor((hi - first) / s + 1e-9) + 1)]
        labels = [usd_tick(v) for v in values]
        longest = max(len(label) for label in labels) + 1
        if (s < step and len(values) > n + 1) or s / (hi - start) * width < frame.layout.char * longest:
            continue
        if all(_written_exactly(v, label, s) for v, label in zip(values, labels, strict=True)):
            return start, list(zip(values, labels, strict=True))
    scale, suffix = _scale_of(abs(lo))
    written = "-$" + rounded(abs(lo), 1, round(math.log10(scale))).removesuffix(".0") + suffix
    return lo, [(lo, written)] + [(v, usd_tick(v)) for v in inside]


def _bin_words(edges: np.ndarray, b: int) -> str:
    """Bin ``b``'s range for its tooltip; the end bins also count the samples beyond the axis. Bins
    narrower than a figure's one decimal get the decimals that tell their edges apart (-$3.80M to
    -$3.77M, not -$3.8M to -$3.8M)."""
    low, high = format_usd_compact(edges[b]), format_usd_compact(edges[b + 1])
    decimals = 2
    while low == high and decimals <= 4:
        low, high = (_usd_decimals(edges[k], decimals) for k in (b, b + 1))
        decimals += 1
    if b == 0:
        return f"up to {high}"
    if b == len(edges) - 2:
        return f"{low} and above"
    return f"{low} to {high}"


def _usd_decimals(v: float, decimals: int) -> str:
    """USD in B, M or k with ``decimals`` decimals, rounded half up as every figure is
    (core/units.rounded): -$3.804M."""
    a = abs(v)
    scale, suffix = _scale_of(a)
    return ("-" if v < 0 else "") + f"${rounded(a, decimals, round(math.log10(scale)))}{suffix}"


def _histogram_markers(
    frame: Frame, px, lo: float, hi: float, markers: dict, colour_of: dict[str, str], marked: str, sample: str
) -> list[tuple]:
    """Vertical lines at each series' marked values and at zero; their legend entries, each a line
    in the colours of the series it is drawn for (``colour_of``: each series' colour). A line with
    later ones within :data:`SAME_LINE_PX` of it is widened (:func:`_under_width`): one mean on
    another hid it."""
    dashes = {"line": "", "dash": ' stroke-dasharray="6 4"', "dot": ' stroke-dasharray="2 3"'}
    lines_ = [(name, colour_of[name], what, value)
              for name, marks in markers.items() for what, value in marks.items()]  # fmt: skip
    if lo <= 0.0 <= hi:
        lines_.append(("", ZERO_COLOUR, "zero", 0.0))
    lines_ = [line for line in lines_ if lo <= line[3] <= hi and math.isfinite(line[3])]
    xs, whats = [px(value) for *_, value in lines_], [what for _, _, what, _ in lines_]
    for k, (name, colour, what, value) in enumerate(lines_):
        width = 1.5 if what == "zero" else _under_width(_lines_over(xs, whats, k))
        of = f" ({sample})" if sample and what != "zero" else ""
        frame.add(
            f'<line x1="{xs[k]:.1f}" x2="{xs[k]:.1f}" y1="{frame.y(frame.y0):.1f}" y2="{frame.top:.1f}" '
            f'stroke="{colour}" stroke-width="{width:g}"{dashes[MARKER_STYLES.get(what, "dot")]}>'
            f"<title>{escape(f'{name} {what}{of}'.strip())}: {escape(format_usd(value))}</title></line>"  # as the key figures
        )
    legend = []
    for what, style in (*MARKER_STYLES.items(), ("zero", "dot")):
        colours = tuple(dict.fromkeys(colour for _, colour, w, _ in lines_ if w == what))  # in order, once
        if colours:
            of = f" ({sample})" if sample else ""
            legend.append((f"{what} {marked}{of}" if what != "zero" else f"{marked} = 0", colours, style))
    return legend


def _lines_over(xs: list[float], whats: list[str], k: int) -> int:
    """How many marker lines drawn after the ``k``-th (at pixels ``xs``, marking ``whats``) lie on it:
    within :data:`SAME_LINE_PX`, zero's dotted line aside (what is under it shows through its gaps)."""
    return sum(abs(xs[j] - xs[k]) < SAME_LINE_PX and whats[j] != "zero" for j in range(k + 1, len(xs)))


def scatter(
    title: str, points: list[dict], x_key: str, y_key: str, x_label: str, y_label: str,
    role_names: dict[str, str] | None = None, layout: Layout = WIDE,
) -> str:  # fmt: skip
    """Points with keys x_key, y_key, label, key (short text drawn beside the point, e.g. its row
    number in a table), front (bool), recommended (bool), roles (what the candidate is to its sweep:
    keys of :data:`ROLE_COLOURS`, drawn in the first's colour); ``role_names``: a role's words in the
    legend (the recommended's "recommended")."""
    xs = np.array([p[x_key] for p in points], dtype=float)
    ys = np.array([p[y_key] for p in points], dtype=float)
    frame = Frame(title, [], *_padded(float(ys.min()), float(ys.max())), y_fmt=usd_tick, y_unit=y_label,
                  x_title=x_label, layout=layout)  # fmt: skip
    xt = nice_ticks(*_padded(float(xs.min()), float(xs.max())), min(5, frame.x_tick_count()), fmt=usd_tick)
    x0, x1 = xt[0], xt[-1] if xt[-1] > xt[0] else xt[0] + 1

    def px(v):
        return frame.px(v, x0, x1)

    frame.x_ticks = [(px(v), usd_tick(v)) for v in xt]
    centres = [(px(x), frame.y(y)) for x, y in zip(xs, ys, strict=True)]
    labels = _point_labels(points, centres)
    for k in sorted(range(len(points)), key=lambda k: _drawn_after(points[k])):  # a role's point on top
        p, (cx, cy) = points[k], centres[k]
        colour = _point_colour(p)
        edge = f' stroke="{GREY_EDGE}" stroke-width="{POINT_EDGE_PX:g}"' if colour == GREY else ""
        frame.add(f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="{_radius(p)}" fill="{colour}" fill-opacity="0.85"{edge}>'
                  f"<title>{escape(p['label'])}</title></circle>{labels.get(k, '')}")  # fmt: skip
    names = {"recommended": "recommended", **(role_names or {})}
    kinds = [*((names.get(role, role), colour, "box") for role, colour in ROLE_COLOURS.items()),
             ("Pareto front", FRONT, "box"), ("other candidates", GREY, f"edge:{GREY_EDGE}")]  # fmt: skip
    drawn = {_point_colour(p) for p in points}  # a legend entry for a kind of point not drawn misled
    return frame.render([kind for kind in kinds if kind[1] in drawn])


def _radius(p: dict) -> int:
    return 7 if p.get("recommended") else 5


def _point_labels(points: list[dict], centres: list[tuple[float, float]]) -> dict[int, str]:
    """Each point's key beside it (its SVG, by the point's index): the recommended, the other roles'
    and the front's placed first, with a leader where they crowd; another candidate's only where it
    fits beside its own point (about 14 numbers crowded one corner of the default model's sweep,
    leaders crossing): its name is in its tooltip and the key."""
    taken: list[tuple[float, float]] = []
    out = {}
    ranked = sorted(range(len(points)), key=lambda k: (not points[k].get("recommended"), not _numbered(points[k])))
    for k in ranked:
        p, (cx, cy) = points[k], centres[k]
        crowd = _numbered(p)  # may be drawn away from its point
        spot = _label_spot(cx, cy, _radius(p), centres, taken, crowd) if p.get("key") else None
        if spot is None:
            continue
        lx, ly, far = spot
        taken.append((lx, ly))
        leader = _leader(cx, cy, _radius(p), lx, ly - 4) if far else ""  # from the point's edge, in a crowd
        out[k] = (f'{leader}<text x="{lx:.1f}" y="{ly:.1f}" class="tick point" text-anchor="middle">'
                  f"{escape(str(p['key']))}</text>")  # fmt: skip
    return out


def _numbered(p: dict) -> bool:
    """Whether a scatter point is numbered wherever it lies (with a leader in a crowd): a role's or the
    front's; another's only where its number fits beside it."""
    return _point_role(p) is not None or bool(p.get("front"))


def _point_role(p: dict) -> str | None:
    """What a scatter point's candidate is to its sweep, the role it is drawn as (the first of its
    ``roles`` in :data:`ROLE_COLOURS`; "recommended" where it is), None where it is none."""
    return drawn_role([*p.get("roles", ()), *(["recommended"] if p.get("recommended") else [])])


def _point_colour(p: dict) -> str:
    """A scatter point's colour: its role's, else on the front, else another candidate."""
    role = _point_role(p)
    return ROLE_COLOURS[role] if role else (FRONT if p.get("front") else GREY)


def _drawn_after(p: dict) -> tuple[bool, bool, bool]:
    """A scatter point's place in the drawing order: a role's over the front's over another's, the
    recommended's last (two points may lie on one another)."""
    role = _point_role(p)
    return role is not None, role == "recommended", bool(p.get("front"))


# beside its point without a leader, a label's own point is the nearest by this factor: every other
# point at least this many times as far from the label (a label between two points read as either's)
OWN_POINT_MARGIN = 1.5
SAME_SPOT_PX = 10  # points nearer than this overlap (r = 5): one spot, whose labels none can tell apart


def _label_spot(cx: float, cy: float, r: float, centres, taken, crowd: bool = True):
    """Where a point's short label goes, and whether it is away from the point (drawn with a
    leader): the first of eight spots around it clear of the other points and of the labels
    already placed, and nearer its own point than any other (:data:`OWN_POINT_MARGIN`; points it
    overlaps aside); in a crowd, the first clear spot of rings 2 to 5 times as far whose
    leader passes over no other point, else whose leader does; else the first spot. Without
    ``crowd``: only a spot beside the point, else None (no label)."""
    d = r + 7
    others = [(px, py) for px, py in centres if math.hypot(px - cx, py - cy) >= SAME_SPOT_PX]

    def ring(k: int) -> list[tuple[float, float]]:
        if k == 1:
            return [(cx + d, cy - 4), (cx - d, cy - 4), (cx, cy - d), (cx, cy + d + 8),
                    (cx + d, cy + 10), (cx - d, cy + 10), (cx + d, cy - 14), (cx - d, cy - 14)]  # fmt: skip
        step = np.pi / (4 * k)  # more spots on the larger rings, about as far apart
        return [(cx + k * d * np.cos(a), cy + 4 + k * d * np.sin(a)) for a in np.arange(-np.pi / 2, 1.5 * np.pi, step)]

    def clear(sx, sy):
        # 14 px from another point's centre: clear of its dot, with a digit's half-width to spare
        near_point = any(math.hypot(sx - px, sy - 4 - py) < 14 for px, py in centres if (px, py) != (cx, cy))
        near_label = any(abs(sx - lx) < 16 and abs(sy - ly) < 12 for lx, ly in taken)  # two digits wide
        return not near_point and not near_label

    def own_nearest(sx, sy):
        own = math.hypot(sx - cx, sy - 4 - cy)
        return all(math.hypot(sx - px, sy - 4 - py) >= OWN_POINT_MARGIN * own for px, py in others)

    def leader_clear(sx, sy):  # a leader passing over another point would seem to lead from it
        return all(_segment_distance((px, py), (cx, cy), (sx, sy - 4)) > r + 1 for px, py in others)

    for k in range(1, 6 if crowd else 2):
        for sx, sy in ring(k):
            if clear(sx, sy) and (own_nearest(sx, sy) if k == 1 else leader_clear(sx, sy)):
                return sx, sy, k > 1
    if not crowd:
        return None
    for k in range(2, 6):  # a crowd too dense for that: a leader, if over another point
        for sx, sy in ring(k):
            if clear(sx, sy):
                return sx, sy, True
    return (*ring(1)[0], False)


def _segment_distance(p: tuple[float, float], a: tuple[float, float], b: tuple[float, float]) -> float:
    """The distance from point p to the segment from a to b."""
    (px, py), (ax, ay), (bx, by) = p, a, b
    dx, dy = bx - ax, by - ay
    t = 0.0 if dx == dy == 0 else min(1.0, max(0.0, ((px - ax) * dx + (py - ay) * dy) / (dx * dx + dy * dy)))
    return math.hypot(px - ax - t * dx, py - ay - t * dy)


def _leader(cx: float, cy: float, r: float, lx: float, ly: float) -> str:
    """A thin line from the edge of the point at (cx, cy) towards its label's centre (lx, ly),
    stopping short of the label."""
    dx, dy = lx - cx, ly - cy
    length = max(float(np.hypot(dx, dy)), 1e-9)
    ux, uy = dx / length, dy / length
    a, b = (cx + ux * (r + 1), cy + uy * (r + 1)), (lx - ux * 7, ly - uy * 7)
    return (f'<line x1="{a[0]:.1f}" y1="{a[1]:.1f}" x2="{b[0]:.1f}" y2="{b[1]:.1f}" '
            'stroke="#64748b" stroke-width="0.75"/>')  # fmt: skip
