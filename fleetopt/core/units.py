"""Money and counts written for people: one definition, used by the terminal tables, the sweep's
explanation and the HTML reports; and the MW that GPUs draw (:func:`facility_mw`), below the schema,
whose checks read it too."""

from __future__ import annotations

import math
import statistics
import sys
from collections.abc import Callable, Iterable
from datetime import timedelta
from decimal import ROUND_HALF_UP, Context, Decimal


def listed(words, joined: str = "and") -> str:
    """Words as a list in a sentence: 'a', 'a and b', 'a, b and c' (``joined``: 'or' for 'a, b or c')."""
    words = list(words)
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + f" {joined} " + words[-1]


def quoted(label: str) -> str:
    """A plan's label in a sentence, in quotes (“milp, purchases fixed (Rubin early)”): one that holds
    commas and spaces, listed beside others, reads as several plans without them."""
    return f"\u201c{label}\u201d"


def counted(n: int, noun: str) -> str:
    """'1 plan', '3 plans', '1,000 scenarios'."""
    return f"{n:,} {noun}{'' if n == 1 else 's'}"


def format_usd(usd: float | None) -> str:
    """USD with a scale suffix, for tables and sentences: -$14.1M, $2.35B, $876.0k, $850; n/a when
    not finite. Thousands take one decimal as millions do: whole dollars ('$155,712' beside
    '-$8.0M') showed a precision no figure beside them had."""
    if usd is None or not math.isfinite(usd):
        return "n/a"
    return _signed(usd, _usd_magnitude(abs(usd)))


def format_error(se: float | None, unit: str = "USD") -> str:
    """A standard error as every sentence states one, to two significant figures, rounded half up as
    every figure is: money ($840k, $2.6M, $60M, $1.2B: format_usd's '$844.0k' gave the sampling a
    precision it does not have), or a share's in percentage points (``unit`` "pp": 0.0045 -> '0.45
    pp', 0.02 -> '2.0 pp', 0.112 -> '11 pp', none '0 pp'); money under $1 in whole dollars, as
    format_usd writes it ($0: round-off); n/a when not finite. Tables keep their columns' formats."""
    if unit not in ("USD", "pp"):
        raise ValueError(f"unit must be 'USD' or 'pp' (got {unit!r})")
    if se is None or not math.isfinite(se):
        return "n/a"
    size = abs(float(se)) * (100 if unit == "pp" else 1)
    two = Context(prec=2, rounding=ROUND_HALF_UP).plus(Decimal(f"{size:.12g}"))
    if unit == "pp":  # none (the same in every scenario) without decimals, as money's $0
        return f"{two:,.{max(0, 1 - two.adjusted()) if two else 0}f} pp"
    if two < 1 or two >= Decimal("1e15"):  # round-off; or beyond any fleet, as format_usd writes it
        return format_usd(float(two))
    exponent, suffix = next((e, x) for e, x in ((9, "B"), (6, "M"), (3, "k"), (0, "")) if two.adjusted() >= e)
    scaled = two.scaleb(-exponent)
    return f"${scaled:,.{1 if scaled < 10 else 0}f}{suffix}"  # 1.0-9.9 need the decimal for two figures


def format_mean_and_error(mean: float, se: float) -> str:
    """A mean with its standard error, as a report's key figure and sentences write it: the mean in its
    own scale (:func:`format_usd`'s), the error beside it as :func:`error_beside` writes it: '-$17.9M ±
    $0.8M', '$18.69B ± $0.21B', '$1.01B ± $10M' (where '$0.01B' hid whether it was $5M or $15M)."""
    same_scale = [float(f"{mean:.4g}")]  # the scale the mean is written in: $999.96M is $1.00B
    return f"{usd_column_formatter(same_scale)(mean)} ± {error_beside(se, same_scale)}"


def error_beside(se: float | None, figures: Iterable[float]) -> str:
    """A standard error beside the USD ``figures`` it is the error of (a mean, a column of means): in
    their scale (:func:`usd_column_formatter`), so that its digits are theirs ('$0.8M' beside '-$17.9M',
    not '$844.0k'), where it is at least five of that scale's last digit, so that the scale's rounding
    moves it by a tenth of itself at most; a smaller one to two significant figures in its own scale
    (:func:`format_error`: '$10M' beside '$1.01B', not '$0.01B'); n/a when not finite."""
    if se is None or not math.isfinite(se):
        return "n/a"
    figures = list(figures)
    exponent, _, decimals = usd_column_scale(figures)
    if abs(se) >= 5 * 10.0 ** (exponent - decimals):
        return usd_column_formatter(figures)(se)
    return format_error(se)


def format_usd_cents(usd: float | None) -> str:
    """USD to the cent, for a figure a reader reconciles with others: -$112,948,663.79; n/a when not
    finite. Not through :func:`rounded`, whose 12 significant digits drop the cents from $10B up."""
    if usd is None or not math.isfinite(usd):
        return "n/a"
    return _signed(usd, f"${abs(float(usd)):,.2f}")


def _usd_magnitude(usd: float) -> str:
    return f"${_magnitude(usd)}"


def _magnitude(a: float) -> str:
    """A non-negative figure with the scale suffix money takes (:func:`format_usd`): 2.35B, 14.1M,
    876.0k, 850."""
    if a >= 1e15:  # beyond any fleet: a limit typed as 1e300 reads $1e+300, not 300 digits
        return f"{a:.3g}"
    if a >= 999.95e6:  # what would print as $1,000.0M prints as $1.00B
        return f"{rounded(a, 2, 9)}B"
    if a >= 0.9995e6:
        return f"{rounded(a, 1, 6)}M"
    if a >= 999.95:  # what would print as $1,000.0k prints as $1.0M above; $999.96 as $1.0k
        return f"{rounded(a, 1, 3)}k"
    return rounded(a, 0)


def format_h100_hours(hours: float) -> str:
    """H100-equivalent GPU-hours (a cost solve's demand, the compute in service), scaled as money is
    (:func:`format_usd`): '1.57B H100-equivalent GPU-hours'; n/a when not finite."""
    if not math.isfinite(hours):
        return "n/a"
    return f"{_signed(hours, _magnitude(abs(hours)))} H100-equivalent GPU-hours"


def rounded(value: float, decimals: int, exponent: int = 0) -> str:
    """|value| / 10**exponent with thousands separators and ``decimals`` decimals, rounded half away
    from zero on the decimal figure the value is written as: 4,050,000 in millions is 4.1, where
    float formatting gives 4.0 (the float 4.05 is 4.04999...). Every figure written for people is
    rounded here, so that a column, a sentence and a chart agree."""
    # 12 significant digits first: the float noise of arithmetic (4,049,999.9999999995 for 4,050,000)
    # is not a figure's digit; float(): a NumPy repr is np.float64(...)
    exact = Decimal(f"{abs(float(value)):.12g}").scaleb(-exponent)
    context = Context(prec=max(28, exact.adjusted() + decimals + 2), rounding=ROUND_HALF_UP)
    return f"{exact.quantize(Decimal(1).scaleb(-decimals), context=context):,.{decimals}f}"


def _scaled(usd: float, exponent: int, decimals: int, suffix: str) -> str:
    """'$4.1M': |usd| in units of 10**exponent with its suffix, unsigned."""
    return f"${rounded(usd, decimals, exponent)}{suffix}"


def _signed(value: float, magnitude: str) -> str:
    """A minus sign only on a figure that does not round to zero (-$0 would read as a loss)."""
    return "-" + magnitude if value < 0 and _shows_digits(magnitude) else magnitude


def _shows_digits(text: str) -> bool:
    """Whether a formatted figure shows anything but zeros."""
    return any(c in "123456789" for c in text)


# the unit of a price per H100-equivalent GPU-hour (a cost solve's levelized cost, formulation §6)
USD_PER_H100_HOUR = "USD per H100-equivalent GPU-hour"


def format_usd_per_hour(usd: float | None) -> str:
    """A price per hour, in cents: $0.61, $2.35, -$0.04; under a cent (a difference of two plans'
    costs per GPU-hour) to a hundredth of a cent: $0.0024, not $0.00; n/a when missing or not finite."""
    if usd is None or not math.isfinite(usd):
        return "n/a"
    return _per_hour(usd, _per_hour_decimals(usd))


def _per_hour_decimals(usd: float) -> int:
    """The decimals :func:`format_usd_per_hour` writes ``usd`` to: cents, under half a cent four."""
    return 4 if 0 < abs(usd) < 0.005 else 2


def _per_hour(usd: float, decimals: int) -> str:
    """A price per hour, signed, to ``decimals``: '$0.612'."""
    return _signed(usd, f"${rounded(usd, decimals)}")


def format_usd_compact(usd: float | None) -> str:
    """USD in at most one decimal: $2.4B, -$14.1M, $850.0k (an NPV histogram bin's edges in its
    tooltip, report/svg._bin_words; chart axes are written exactly, svg.usd_tick); n/a when not
    finite."""
    if usd is None or not math.isfinite(usd):
        return "n/a"
    a = abs(usd)
    for exponent, suffix, start in COMPACT_SCALES:
        if a >= start:
            return _signed(usd, _scaled(a, exponent, 1, suffix))
    return _signed(usd, _scaled(a, 0, 0, ""))


# the compact forms' scales (power of ten, suffix, from where), each from where a figure would round
# up to 1,000 of the scale below: 999,960 is written 1.0M, not 1,000.0k
COMPACT_SCALES = ((9, "B", 999.95e6), (6, "M", 999.95e3), (3, "k", 999.5))


# the scale suffixes written after a number (250k, -$1.5B), by power of ten, in either case: read by
# the CLI's USD options, and named by the model loader, which refuses them in a model file
SCALE_SUFFIXES = {"K": 3, "M": 6, "B": 9, "T": 12}
# a regular expression's character class of those suffixes, in either case: "[KkMmBbTt]"
SCALE_SUFFIX_CLASS = "[" + "".join(s + s.lower() for s in SCALE_SUFFIXES) + "]"


# (power of ten, suffix, decimals) of a column's scale: billions with two decimals, as format_usd
COLUMN_SCALES = ((9, "B", 2), (6, "M", 1), (3, "k", 1))


def usd_column_scale(values: Iterable[float]) -> tuple[int, str, int]:
    """The scale of a column of USD (power of ten, suffix, decimals): that of its typical (median
    non-zero) figure, billions from $1B, else millions from $1M, thousands from $1k, else dollars."""
    sizes = [abs(float(v)) for v in values if math.isfinite(float(v)) and float(v) != 0.0]
    typical = statistics.median(sizes) if sizes else 0.0
    return next(((e, s, n) for e, s, n in COLUMN_SCALES if typical >= 10**e * 0.9995), (0, "", 0))


def usd_column_formatter(values: Iterable[float]) -> Callable[[float], str]:
    """One scale for a whole column of USD, :func:`usd_column_scale`, except a figure of 1,000 or
    more of it, written as :func:`format_usd` writes it: $84.8k beside $2.1M, not $2,099.1k
    ($1,000.0M and $1.00B never stand in one column)."""
    exponent, suffix, decimals = usd_column_scale(values)

    def fmt(usd: float) -> str:
        if not math.isfinite(usd):
            return "n/a"
        magnitude = _scaled(usd, exponent, decimals, suffix)
        if exponent < 9 and abs(float(rounded(usd, decimals, exponent).replace(",", ""))) >= 1000:
            return format_usd(usd)
        return _signed(usd, magnitude) if _shows_digits(magnitude) else "$0"  # no "-$0.0M", no "$0.00B"

    return fmt


def format_number_compact(v: float) -> str:
    """A count in at most one decimal with a scale suffix, as :func:`format_usd_compact` writes
    money: 12.5k, 3.0M (below 10: two decimals); n/a when not finite."""
    if not math.isfinite(v):
        return "n/a"
    a = abs(v)
    for exponent, suffix, start in COMPACT_SCALES:
        if a >= start:
            return _signed(v, f"{rounded(a, 1, exponent)}{suffix}")
    return _signed(v, rounded(a, 0 if a >= 10 or v == 0 else 2))


def facility_mw(gpus, kw_per_gpu, pue):
    """Facility MW drawn by ``gpus`` in service: GPUs x kW a GPU x the site's PUE / 1000 (numbers or
    arrays that broadcast)."""
    return gpus * kw_per_gpu * pue / 1000.0


def format_mw(mw: float) -> str:
    """Power for people: to one decimal, a whole figure without it (30 MW, 3.6 MW, 12.5 MW); below
    1 MW to two significant digits (0.25 MW, 0.043 MW); solver round-off (1e-9 MW) is 0 MW; beyond
    any grid (1e9 MW on) in three significant digits, as a typed 1e300 reads (1e+300 MW, not 300
    digits); n/a where it is not finite."""
    size = abs(float(mw))
    if not math.isfinite(size):
        return "n/a"
    if size < 1e-6:
        return "0 MW"
    if size >= 1e9:
        return _signed(mw, f"{size:.3g} MW")
    digits = f"{size:.2g}" if size < 0.95 else rounded(size, 1).removesuffix(".0")
    return _signed(mw, f"{digits} MW")


def format_percent(share: float, decimals: int = 1) -> str:
    """A share (a probability, a fraction) in per cent, rounded half up as every figure is
    (:func:`rounded`): 0.2995 -> '30.0%', where float formatting gives 29.9% (the float is
    0.29949999...); no sign on one that rounds to zero; n/a where it is not finite."""
    if not math.isfinite(share):
        return "n/a"
    return _signed(share, f"{rounded(share, decimals, -2)}%")


def format_times(ratio: float, decimals: int = 2) -> str:
    """A ratio as a multiple, rounded half up as every figure is (:func:`rounded`): 1.125 -> '1.13x',
    where float formatting gives 1.12x; -0.5 -> '-0.50x'; 'unbounded' where the ratio is infinite (a
    debt over no EBITDA), 'n/a' where it is not a number."""
    if not math.isfinite(ratio):
        return "n/a" if math.isnan(ratio) else "unbounded"
    return _signed(ratio, f"{rounded(ratio, decimals)}x")


def _points(share: float, decimals: int) -> str:
    """A difference of shares in percentage points, rounded half up: 0.0145 -> '1.5 pp' (one
    decimal); no sign on one that rounds to zero; n/a where it is not finite."""
    if not math.isfinite(share):
        return "n/a"
    return _signed(share, f"{rounded(share, decimals, -2)} pp")


def format_figure(value: float, unit: str) -> str:
    """A figure in its unit: USD with a scale suffix, a share in per cent, MW as :func:`format_mw`,
    else a rounded count with its unit (``12,000 GPUs``)."""
    if unit == "USD":
        return format_usd(value)
    if unit == USD_PER_H100_HOUR:
        return format_usd_per_hour(value)
    if unit == "share":  # NaN: nothing to share (a model without market demand)
        if value == -math.inf:  # a covenant's cushion where what it protects is at or below zero
            return "breached (at or below zero)"
        return format_percent(value)
    if unit == "MW":
        return format_mw(value)
    if unit == "pp":  # a difference of shares (or its error), in percentage points
        return _points(value, 2)
    return format_count(value, unit)


def format_count(count: float, unit: str, rounding: str = "nearest") -> str:
    """A count in whole units with its unit, singular for one: '12,000 GPUs', '1 GPU', '-1,200 GPUs'
    (:func:`whole_count`, ``rounding`` as it takes it); n/a where it is not finite."""
    if not math.isfinite(count):
        return "n/a"
    return with_unit(whole_count(count, rounding), unit)


def with_unit(count: str, unit: str) -> str:
    """A count written already (:func:`whole_count`, :func:`counts_apart`) with its unit, singular
    for one: '1 power block', '2 power blocks', '1.000002 power blocks', '1 training GPU'."""
    if count not in ("1", "-1"):
        return f"{count} {unit}"
    return f"{count} {_ONE.get(unit, unit.removesuffix('s') if unit.endswith(' GPUs') else unit)}"


def whole_count(count: float, rounding: str = "nearest") -> str:
    """A count (of GPUs: the MILP's holdings are continuous, so it may have a fraction) in whole
    units: to the nearest, half away from zero (:func:`rounded`): 12,000.4 -> '12,000', no sign on
    one that rounds to zero; n/a where it is not finite. "up" for a shortfall (the GPUs still to
    find), so that none reads less than it is: 16,890.1 -> '16,891', 0.04 -> '1', never '0'; "down"
    for what was delivered of more due, so that a short delivery never reads whole: 99.7 of 100 ->
    '99'. Either drops round-off below a millionth first (200.0000001 -> '200')."""
    if rounding not in ("nearest", "up", "down"):
        raise ValueError(f"rounding must be 'nearest', 'up' or 'down' (got {rounding!r})")
    if not math.isfinite(count):
        return "n/a"
    if rounding == "up" and round(count, 6) > 0:
        count = max(math.ceil(round(count, 6)), 1)
    elif rounding == "down":
        count = math.floor(round(count, 6))
    return _signed(count, rounded(count, 0))


def counts_apart(value: float, other: float, *more: float) -> tuple[str, ...]:
    """Counts (of GPUs, of blocks) a sentence compares, ``value`` with ``other`` (and ``more`` beside
    them), written alike: whole where all are whole (to a millionth), as :func:`format_count` writes
    them, else to the hundredth at least (a refusal about a fraction of a GPU shows it); either way to
    the decimals at which ``value`` and ``other`` read differently (:func:`decimals_apart`); n/a where
    one is not finite, as :func:`whole_count` writes it."""
    counts = (value, other, *more)
    whole = all(abs(c - round(c)) <= 1e-6 * max(1.0, abs(c)) for c in counts if math.isfinite(c))
    decimals = decimals_apart(value, other, 0 if whole else 2)
    return tuple(_signed(c, rounded(c, decimals)) if math.isfinite(c) else "n/a" for c in counts)


def mw_apart(value: float, other: float) -> tuple[str, str]:
    """Two MW figures a sentence compares, as :func:`format_mw` writes them where they read
    differently, else to the decimals at which they do (:func:`decimals_apart`): 20.003 MW against
    20.000 MW, not 20 MW against 20 MW."""
    texts = format_mw(value), format_mw(other)
    if texts[0] != texts[1] or not _finite(value, other):  # n/a, as format_mw writes it
        return texts
    decimals = decimals_apart(value, other, 2)
    return _signed(value, f"{rounded(value, decimals)} MW"), _signed(other, f"{rounded(other, decimals)} MW")


def usd_apart(value: float, other: float) -> tuple[str, str]:
    """Two USD figures a sentence compares, as :func:`format_usd` writes them where they read
    differently, else in the scale of the larger to the decimals at which they do
    (:func:`decimals_apart`): $50.0002M against $50.0000M, not $50.0M against $50.0M."""
    texts = format_usd(value), format_usd(other)
    if texts[0] != texts[1] or not _finite(value, other):  # n/a, as format_usd writes it
        return texts
    exponent, suffix, least = usd_column_scale([max(abs(value), abs(other))])
    decimals = decimals_apart(value, other, least, exponent)
    return tuple(_signed(x, f"${rounded(x, decimals, exponent)}{suffix}") for x in (value, other))


def figures_apart(value: float, other: float, unit: str) -> tuple[str, str, str]:
    """``value`` and ``other`` in ``unit`` (:func:`format_figure`'s) as a sentence sets them side by side,
    and ``value`` less ``other`` (:func:`format_difference`'s): where the two print the same but the
    difference does not print as none, both to the decimals at which they read differently
    (:func:`decimals_apart`; money as :func:`usd_apart` writes it) and the difference to those at least,
    so that the levels show what it does: '$0.612 against $0.605 (+$0.007)' per GPU-hour, not '$0.61
    against $0.61 (+$0.01)'; '30.04% against 29.96% (+0.08 pp)'; '$340.21M against $340.20M (+$12.0k)'
    (the difference in its own scale, finer than the levels'). Other units as :func:`format_figure`
    writes them."""
    texts = format_figure(value, unit), format_figure(other, unit)
    difference = value - other
    shown = format_difference(difference, unit)
    if texts[0] != texts[1] or not _shows_digits(shown) or not _finite(value, other):
        return (*texts, shown)
    if unit == "USD":
        return (*usd_apart(value, other), shown)
    if unit == "share":  # the difference in points to the levels' decimals (its own: one)
        decimals = decimals_apart(value, other, 1, -2)
        return (format_percent(value, decimals), format_percent(other, decimals),
                _plus(difference, _points(difference, decimals)))  # fmt: skip
    if unit == USD_PER_H100_HOUR:  # the difference to its own decimals where they are more
        decimals = decimals_apart(value, other, 2)
        change = _per_hour(difference, max(decimals, _per_hour_decimals(difference)))
        return _per_hour(value, decimals), _per_hour(other, decimals), _plus(difference, change)
    return (*texts, shown)


def decimals_apart(
    value: float, other: float, least: int = 0, exponent: int = 0, most: int | None = None
) -> int:
    """The fewest decimals, ``least`` or more, at which ``value`` and ``other`` (in units of
    10**exponent, as :func:`rounded` takes them) read differently: a sentence saying one is more
    than the other must not show them equal (2,000 GPUs 'more than' 2,000 for 2,000.08 and 2,000).
    Figures that differ beyond ``most`` decimals (where a caller's difference is round-off: a ratio
    a solver left 1e-9 under its limit), beyond :func:`rounded`'s 12 significant digits, or not at
    all, take ``least``: no decimals tell them apart; so do figures not both finite (no decimals
    tell an infinity or NaN from anything)."""
    if not _finite(value, other):
        return least

    def written(x: float, decimals: int) -> str:
        return _signed(x, rounded(x, decimals, exponent))

    last = least + 11 if most is None else most
    return next((d for d in range(least, last + 1) if written(value, d) != written(other, d)), least)


def shares_apart(share: float, limit: float) -> tuple[str, str]:
    """A share and the limit a sentence sets it against (a floor it is below), in per cent at one
    precision: the limit's as given (:func:`format_rate`'s digits), a decimal at least, more where the two
    would read the same (:func:`decimals_apart`): '70.90%' against '70.93%', '70.9%' against '85.0%', not
    '70.9%' against '70.93%'."""
    given = format_rate(limit).removesuffix("%")
    least = 1 if "e" in given else max(1, len(given.partition(".")[2]))
    decimals = decimals_apart(share, limit, least, -2)
    return format_percent(share, decimals), format_percent(limit, decimals)


def _finite(*values: float) -> bool:
    """Whether every one of ``values`` is a finite number."""
    return all(math.isfinite(x) for x in values)


# GPUs counted as H100s by their throughput (market demand, a cost plan's shortfall): one spelling everywhere
H100_EQ_GPUS = "H100-eq. GPUs"
# a count's unit for one of it: 1 GPU, 1 contract, 1 H100-eq. GPU (short in an average quarter)
_ONE = {unit: unit.removesuffix("s") for unit in ("GPUs", "contracts", "power blocks", H100_EQ_GPUS)}


def format_difference(value: float, unit: str) -> str:
    """A difference of two figures, signed (a share in percentage points: +2.5 pp); a change that
    rounds to nothing has no sign ($0, 0.0 pp, 0 GPUs)."""
    return _plus(value, _points(value, 1) if unit == "share" else format_figure(value, unit))


def whole_difference(count: float) -> str:
    """A difference of counts in whole units without its unit (a column's header names it), signed as
    :func:`format_difference` signs one: +8, -1,200, and 0, not "+0" or "-0", for one that rounds
    to no unit."""
    return _plus(count, whole_count(count))


def _plus(value: float, text: str) -> str:
    """``text``, the figure ``value`` as written, with a + before it where it is above zero and
    shows it (a minus is :func:`_signed`'s)."""
    return ("+" if value > 0 and _shows_digits(text) else "") + text


def format_usd_change(usd: float | None) -> str:
    """A change in USD, always signed: +$3.2M, -$14.1M, $0 (n/a when not finite)."""
    if usd is None or not math.isfinite(usd):
        return "n/a"
    return format_difference(usd, "USD")


def format_rate(rate: float) -> str:
    """A rate a year, or a share a model file gives (a limit, a volatility, a probability), as a
    percentage to four significant digits, as it was given: 0.15 -> '15%', 0.125 -> '12.5%' (a
    figure computed from them is rounded as its own kind is: format_figure, format_usd)."""
    return f"{100 * rate:.4g}%"


# a MILP's relative gap is written to the hundredth of a percent, so that the terminal, the report and
# `runs show` agree
GAP_DECIMALS = 2


def format_gap(gap: float | None) -> str:
    """A MILP's relative gap, as every output writes it: 0.20% (:data:`GAP_DECIMALS`), n/a when there
    is none."""
    return "n/a" if gap is None else format_percent(gap, GAP_DECIMALS)


def gap_shows(gap: float | None) -> bool:
    """Whether a MILP's relative gap shows as :func:`format_gap` writes it, rounded half up to
    :data:`GAP_DECIMALS` decimals of a percent: 0.00005 as 0.01%, 0.00004 as 0.00%, which a status
    does not call a gap; none where there is none or it is not finite."""
    return gap is not None and math.isfinite(gap) and _shows_digits(rounded(gap, GAP_DECIMALS, -2))


def status_shows_gap(status: str, gap: float | None) -> bool:
    """Whether a MILP's status in words (:func:`format_solver_status`) carries its gap, 'optimal
    within 0.50% (relative gap)', so that nothing beside them repeats it."""
    return status == "optimal" and gap_shows(gap)


def format_solver_status(status: str, gap: float | None) -> str:
    """A MILP's status for people: 'optimal within 0.50% (relative gap)' where HiGHS stopped at a
    relative gap that shows (its 'optimal' means optimal to its mip_rel_gap), 'time limit reached
    (...)' for a plan stopped by the time limit (each caller shows its gap), else the status."""
    if status_shows_gap(status, gap):
        return f"optimal within {format_gap(gap)} (relative gap)"
    if status == "time_limit":  # a plan, stopped by --time-limit before the gap asked for
        return "time limit reached (the best plan found; its gap beside it)"
    if status.startswith("rescued"):  # fixed purchases completed with the rescue model (solve --rescue)
        stopped = " (stopped by the time limit)" if status != "rescued" else ""
        return f"rescued{stopped}: the purchases break hard limits on the forecast, completed with the rescue"
    return status


def format_duration(seconds: float | None) -> str:
    """A time taken or estimated, as every output writes one: under a minute in seconds to three
    significant digits, trailing zeros dropped (0.0431 s, 1.2 s, 14.3 s, 59 s; 'under 0.001 s' below
    that, '0 s' for none); from a minute as a clock to the nearest second, as the progress bar's
    (0:01:30, 1:02:05, '1 day, 2:00:00'); rounded half up (:func:`rounded`): an estimate of 0.3 s read
    '0:00:00' when cut to whole seconds. n/a where missing or not finite."""
    if seconds is None or not math.isfinite(seconds):
        return "n/a"
    size = max(float(seconds), 0.0)
    if size == 0.0:
        return "0 s"
    if size < 0.0009995:  # what would be written 0.001 s is
        return "under 0.001 s"
    text = rounded(size, max(0, 2 - math.floor(math.log10(size))))
    if float(text.replace(",", "")) < 60:  # 59.96 s rounds to 60.0: a minute, written as the clock
        return f"{text.rstrip('0').rstrip('.') if '.' in text else text} s"
    if size >= timedelta.max.total_seconds():  # an estimate for an absurd run: no clock holds it
        return f"more than {timedelta.max.days:,} days"
    return str(timedelta(seconds=int(rounded(size, 0).replace(",", ""))))


_BYTE_UNITS = ("B", "KB", "MB", "GB", "TB", "PB")


def format_bytes(n: float) -> str:
    """A size in bytes for people: 512 MB, 7.28 TB, whole bytes below 1 KB; past a float's range
    (the results of 1e400 scenarios, an int), 'more than' the largest float, where dividing it
    raised OverflowError."""
    if n > sys.float_info.max:
        return f"more than {format_bytes(sys.float_info.max)}"
    k = _bytes_unit(n)
    return f"{n:,.0f} B" if k == 0 else f"{n / 1000**k:,.3g} {_BYTE_UNITS[k]}"


def sizes_apart(size: float, other: float) -> tuple[str, str]:
    """Two sizes a sentence compares, as :func:`format_bytes` writes them where they read differently,
    else in the unit of the larger to the decimals at which they do (``decimals_apart``): 24.77 KB
    beside 24.76 KB, not 24.8 KB beside 24.8 KB."""
    texts = format_bytes(size), format_bytes(other)
    if texts[0] != texts[1]:
        return texts
    k = _bytes_unit(max(size, other))
    decimals = decimals_apart(size, other, 0, 3 * k)
    return tuple(f"{rounded(n, decimals, 3 * k)} {_BYTE_UNITS[k]}" for n in (size, other))


def _bytes_unit(n: float) -> int:
    """The power of 1,000 of the unit :func:`format_bytes` writes ``n`` in: the largest unit up to PB
    in which it has a digit before the point, once rounded as written (999,999 B is 1 MB, not
    "1e+03 KB")."""
    size = abs(float(n))
    for k in range(len(_BYTE_UNITS) - 1):
        if (round(size) if k == 0 else float(f"{size / 1000**k:.3g}")) < 1000:
            return k
    return len(_BYTE_UNITS) - 1
