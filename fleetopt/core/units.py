"""Money and counts written for people: one definition, used by the terminal tables, the sweep's
explanation and the HTML reports."""

from __future__ import annotations

import math


def counted(n: int, noun: str) -> str:
    """'1 plan', '3 plans', '1,000 scenarios'."""
    return f"{n:,} {noun}{'' if n == 1 else 's'}"


def format_usd(usd: float | None) -> str:
    """USD with a scale suffix, for tables and sentences: -$14.1M, $2.35B; n/a when not finite."""
    if usd is None or not math.isfinite(usd):
        return "n/a"
    return _signed(usd, _usd_magnitude(abs(usd)))


def _usd_magnitude(usd: float) -> str:
    if usd >= 1e15:  # beyond any fleet: a limit typed as 1e300 reads $1e+300, not 300 digits
        return f"${usd:.3g}"
    if usd >= 999.95e6:  # what would print as $1,000.0M prints as $1.00B
        return f"${usd / 1e9:,.2f}B"
    if usd >= 0.9995e6:
        return f"${usd / 1e6:,.1f}M"
    return f"${usd:,.0f}"


def _signed(value: float, magnitude: str) -> str:
    """A minus sign only on a figure that does not round to zero (-$0 would read as a loss)."""
    return "-" + magnitude if value < 0 and _shows_digits(magnitude) else magnitude


def _shows_digits(text: str) -> bool:
    """Whether a formatted figure shows anything but zeros."""
    return any(c in "123456789" for c in text)


def _unsigned_zero(text: str) -> str:
    """'-0.0 pp', '-0 GPUs' (a tiny negative rounded away) without the sign."""
    return text[1:] if text.startswith("-") and not _shows_digits(text) else text


def format_usd_compact(usd: float | None) -> str:
    """USD in at most one decimal, for chart axes and report cells: $2.4B, -$14.1M, $850.0k; n/a
    when not finite."""
    if usd is None or not math.isfinite(usd):
        return "n/a"
    a = abs(usd)
    # from where a figure would round up to 1,000 of the scale below: $999,960 prints $1.0M, not $1,000.0k
    for div, suffix, start in ((1e9, "B", 999.95e6), (1e6, "M", 999.95e3), (1e3, "k", 999.5)):
        if a >= start:
            return f"{'-' if usd < 0 else ''}${a / div:,.1f}{suffix}"
    return _signed(usd, f"${a:,.0f}")


def format_number_compact(v: float) -> str:
    """A count in at most one decimal with a scale suffix: 12.5k, 3.0M (below 10: two decimals)."""
    a = abs(v)
    for div, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if a >= div:
            return f"{v / div:,.1f}{suffix}"
    return f"{v:,.0f}" if a >= 10 or v == 0 else f"{v:,.2f}"


def format_figure(value: float, unit: str) -> str:
    """A figure in its unit: USD with a scale suffix, a share in per cent, else a rounded count
    with its unit (``12,000 GPUs``, ``350 MW``)."""
    if unit == "USD":
        return format_usd(value)
    if unit == "share":
        return _unsigned_zero(f"{value:.1%}")
    return _unsigned_zero(f"{value:,.0f} {unit}")


def format_difference(value: float, unit: str) -> str:
    """A difference of two figures, signed (a share in percentage points: +2.5 pp); a change that
    rounds to nothing has no sign ($0, 0.0 pp)."""
    text = _unsigned_zero(f"{value * 100:.1f} pp") if unit == "share" else format_figure(value, unit)
    return ("+" if value > 0 and _shows_digits(text) else "") + text


def format_usd_change(usd: float | None) -> str:
    """A change in USD, always signed: +$3.2M, -$14.1M, $0 (n/a when not finite)."""
    if usd is None or not math.isfinite(usd):
        return "n/a"
    return format_difference(usd, "USD")


def format_solver_status(status: str, gap: float | None) -> str:
    """A MILP's status for people: 'optimal within 0.5% (relative gap)' where HiGHS stopped at a
    relative gap that shows (its 'optimal' means optimal to its mip_rel_gap), else the status."""
    if status == "optimal" and gap is not None and math.isfinite(gap) and f"{gap:.1%}" != "0.0%":
        return f"optimal within {gap:.1%} (relative gap)"
    return status
