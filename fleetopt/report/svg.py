"""Small, dependency-free SVG charts for the HTML report (inline, so the page works offline)."""

from __future__ import annotations

import math
from html import escape

import numpy as np

from fleetopt.core.units import format_number_compact, format_usd_compact

PALETTE = ["#1f6feb", "#d97706", "#16a34a", "#dc2626", "#7c3aed", "#0891b2", "#be185d", "#65a30d"]
GENERATION_COLOURS = {"hopper": "#64748b", "blackwell": "#1f6feb", "rubin": "#16a34a"}
W, H = 720, 300
LEFT, RIGHT, TOP, BOTTOM = 78, 16, 34, 46


def nice_ticks(lo: float, hi: float, n: int = 5) -> list[float]:
    """Round tick values from at or below ``lo`` to at or above ``hi``."""
    if not math.isfinite(lo) or not math.isfinite(hi):
        return [0.0, 1.0]
    if hi <= lo:
        hi = lo + (abs(lo) or 1.0)
    step = 10 ** math.floor(math.log10((hi - lo) / n))
    for m in (1, 2, 2.5, 5, 10):
        if (hi - lo) / (step * m) <= n:
            step *= m
            break
    first, last = math.floor(lo / step), math.ceil(hi / step)
    return [round(k * step, 12) for k in range(first, last + 1)]


class Frame:
    """Axes mapping data to pixels, with gridlines, tick labels and a title."""

    def __init__(
        self, title: str, x_labels: list[str], y_lo: float, y_hi: float, y_fmt=format_number_compact, y_unit: str = ""
    ):
        self.title, self.x_labels, self.y_fmt, self.y_unit = title, x_labels, y_fmt, y_unit
        ticks = nice_ticks(min(y_lo, 0.0) if y_lo >= 0 else y_lo, y_hi)
        self.y_ticks = ticks
        self.y0, self.y1 = ticks[0], ticks[-1] if ticks[-1] > ticks[0] else ticks[0] + 1
        self.parts: list[str] = []

    def x(self, i: float) -> float:
        n = max(1, len(self.x_labels) - 1)
        return LEFT + (W - LEFT - RIGHT) * i / n

    def y(self, v: float) -> float:
        return TOP + (H - TOP - BOTTOM) * (1 - (v - self.y0) / (self.y1 - self.y0))

    def add(self, svg: str) -> None:
        self.parts.append(svg)

    def render(self, legend: list[tuple[str, str]] | None = None) -> str:
        out = [
            f'<svg class="chart" viewBox="0 0 {W} {H}" role="img" aria-label="{escape(self.title)}" '
            f'xmlns="http://www.w3.org/2000/svg">',
            f'<text x="{LEFT}" y="18" class="title">{escape(self.title)}</text>',
        ]
        for v in self.y_ticks:
            y = self.y(v)
            out.append(f'<line x1="{LEFT}" x2="{W - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" class="grid"/>')
            out.append(
                f'<text x="{LEFT - 6}" y="{y + 4:.1f}" class="tick" text-anchor="end">{escape(self.y_fmt(v))}</text>'
            )
        step = max(1, len(self.x_labels) // 8)
        for i in range(0, len(self.x_labels), step):
            x = self.x(i)
            # a label centred on the right edge would be cut off: end it at its tick instead
            anchor = "end" if x > W - RIGHT - 30 else "middle"
            out.append(
                f'<text x="{x:.1f}" y="{H - BOTTOM + 16}" class="tick" text-anchor="{anchor}">'
                f"{escape(self.x_labels[i])}</text>"
            )
        if self.y_unit:
            out.append(f'<text x="12" y="{TOP - 8}" class="tick">{escape(self.y_unit)}</text>')
        out.extend(self.parts)
        if legend:
            x = LEFT
            for name, colour in legend:
                out.append(f'<rect x="{x}" y="{H - 18}" width="10" height="10" fill="{colour}"/>')
                out.append(f'<text x="{x + 14}" y="{H - 9}" class="tick">{escape(name)}</text>')
                x += 22 + 7 * len(name)
        out.append("</svg>")
        return "\n".join(out)


def _path(frame: Frame, ys, offset: int = 0) -> str:
    return " ".join(
        f"{'M' if i == 0 else 'L'}{frame.x(i + offset):.1f},{frame.y(v):.1f}" for i, v in enumerate(ys)
    )


def stacked_area(
    title: str, x_labels: list[str], series: dict[str, np.ndarray], colours: dict, unit: str
) -> str:
    total = np.sum(list(series.values()), axis=0) if series else np.zeros(len(x_labels))
    frame = Frame(title, x_labels, 0.0, float(total.max()) if len(total) else 1.0, y_unit=unit)
    base = np.zeros(len(x_labels))
    legend = []
    for name, values in series.items():
        top = base + values
        if values.any():
            pts = [f"{frame.x(i):.1f},{frame.y(v):.1f}" for i, v in enumerate(top)]
            pts += [f"{frame.x(i):.1f},{frame.y(v):.1f}" for i, v in reversed(list(enumerate(base)))]
            frame.add(
                f'<polygon points="{" ".join(pts)}" fill="{colours[name]}" opacity="0.85"><title>{escape(name)}</title></polygon>'
            )
            legend.append((name, colours[name]))
        base = top
    return frame.render(legend)


def lines(
    title: str,
    x_labels: list[str],
    series: dict[str, np.ndarray],
    unit: str,
    y_fmt=format_number_compact,
    bands: dict[str, list[tuple[np.ndarray, np.ndarray, float]]] | None = None,
    dashed: set[str] | None = None,
) -> str:
    """Line chart; ``bands`` gives a series shaded ranges (low, high, opacity) for fan charts."""
    values = [v for v in series.values()] + [
        b for bs in (bands or {}).values() for lo, hi, _ in bs for b in (lo, hi)
    ]
    lo = min(float(np.min(v)) for v in values) if values else 0.0
    hi = max(float(np.max(v)) for v in values) if values else 1.0
    frame = Frame(title, x_labels, lo, hi, y_fmt=y_fmt, y_unit=unit)
    legend = []
    for n, (name, ys) in enumerate(series.items()):
        colour = PALETTE[n % len(PALETTE)]
        for low, high, opacity in (bands or {}).get(name, []):
            pts = [f"{frame.x(i):.1f},{frame.y(v):.1f}" for i, v in enumerate(high)]
            pts += [f"{frame.x(i):.1f},{frame.y(v):.1f}" for i, v in reversed(list(enumerate(low)))]
            frame.add(f'<polygon points="{" ".join(pts)}" fill="{colour}" opacity="{opacity}"/>')
        dash = ' stroke-dasharray="6 4"' if dashed and name in dashed else ""
        frame.add(
            f'<path d="{_path(frame, ys)}" fill="none" stroke="{colour}" stroke-width="2"{dash}><title>{escape(name)}</title></path>'
        )
        legend.append((name, colour))
    return frame.render(legend)


# share of the pooled samples beyond each end of a histogram's axis, counted in its end bars, so that
# a few extreme scenarios do not squeeze every other bar into one corner
HISTOGRAM_TAIL = 0.005


def histogram(title: str, samples: dict[str, np.ndarray], bins: int = 30, unit: str = "USD") -> str:
    """Share of scenarios per bin; the axis spans the pooled samples' 0.5-99.5 percentiles, and the
    end bars also count the samples beyond them."""
    allv = np.concatenate([np.asarray(v, dtype=float) for v in samples.values()])
    lo, hi = (float(q) for q in np.quantile(allv, [HISTOGRAM_TAIL, 1.0 - HISTOGRAM_TAIL]))
    if hi <= lo:
        lo, hi = float(allv.min()), float(allv.max())
    if hi <= lo:
        hi = lo + 1.0
    edges = np.linspace(lo, hi, bins + 1)
    counts = {k: np.histogram(np.clip(v, lo, hi), bins=edges)[0] / len(v) for k, v in samples.items()}
    top = max(float(c.max()) for c in counts.values())
    labels = [format_usd_compact(e) for e in edges[:-1]]
    frame = Frame(title, labels, 0.0, top, y_fmt=lambda v: f"{v:.0%}", y_unit="share of scenarios")
    width = (W - LEFT - RIGHT) / bins
    legend = []
    for n, (name, c) in enumerate(counts.items()):
        colour = PALETTE[n % len(PALETTE)]
        for b, share in enumerate(c):
            if share > 0:
                x = LEFT + b * width
                frame.add(
                    f'<rect x="{x:.1f}" y="{frame.y(share):.1f}" width="{width - 1:.1f}" '
                    f'height="{frame.y(0) - frame.y(share):.1f}" fill="{colour}" opacity="{0.75 if n == 0 else 0.5}">'
                    f"<title>{escape(name)}: {escape(format_usd_compact(edges[b]))} to {escape(format_usd_compact(edges[b + 1]))}: {share:.1%}</title></rect>"
                )
        legend.append((name, colour))
    frame.x = lambda i: LEFT + (W - LEFT - RIGHT) * i / bins  # labels at bin edges
    frame.add(
        f'<text x="{W - RIGHT}" y="{H - 9}" class="tick" text-anchor="end">'
        f"end bars include the outer {HISTOGRAM_TAIL:.1%} of scenarios</text>"
    )
    return frame.render(legend)


def scatter(title: str, points: list[dict], x_key: str, y_key: str, x_label: str, y_label: str) -> str:
    """Points with keys x_key, y_key, label, front (bool), recommended (bool), colour_value (0..1)."""
    xs = np.array([p[x_key] for p in points], dtype=float)
    ys = np.array([p[y_key] for p in points], dtype=float)
    frame = Frame(title, [], float(ys.min()), float(ys.max()), y_fmt=format_usd_compact, y_unit=y_label)
    xt = nice_ticks(float(xs.min()), float(xs.max()))
    x0, x1 = xt[0], xt[-1] if xt[-1] > xt[0] else xt[0] + 1

    def px(v):
        return LEFT + (W - LEFT - RIGHT) * (v - x0) / (x1 - x0)

    for v in xt:
        frame.add(
            f'<text x="{px(v):.1f}" y="{H - BOTTOM + 16}" class="tick" text-anchor="middle">{escape(format_usd_compact(v))}</text>'
        )
    frame.add(f'<text x="{W - RIGHT}" y="{H - 20}" class="tick" text-anchor="end">{escape(x_label)}</text>')
    for p, x, y in zip(points, xs, ys, strict=True):
        colour = "#dc2626" if p.get("recommended") else ("#1f6feb" if p.get("front") else "#94a3b8")
        r = 7 if p.get("recommended") else 5
        frame.add(
            f'<circle cx="{px(x):.1f}" cy="{frame.y(y):.1f}" r="{r}" fill="{colour}" opacity="0.85">'
            f"<title>{escape(p['label'])}</title></circle>"
        )
    return frame.render(
        [("recommended", "#dc2626"), ("Pareto front", "#1f6feb"), ("other candidates", "#94a3b8")]
    )
