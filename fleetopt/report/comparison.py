"""A plan comparison as one self-contained HTML page (`fleetopt compare A B --out comparison.html`):
the figures side by side with each difference and its error, the notes, the NPV distributions and
the per-scenario differences, purchases against the first plan (by generation, then by SKU and
site) and the peak power by site.

Every figure and sentence is the :class:`~fleetopt.compare.comparison.Comparison`'s own (its Markdown's cells
and notes): the page only lays them out and draws the charts from its NPV matrix.
"""

from __future__ import annotations

import itertools
import string
from datetime import UTC, datetime
from html import escape

import numpy as np

from fleetopt import __version__
from fleetopt.compare.comparison import Comparison
from fleetopt.compare.figures import COLUMN_HEADERS, NO_PAIRED_ERROR
from fleetopt.compare.labels import both_sides, difference_header
from fleetopt.compare.plan_figures import PURCHASE_DIFF_COLUMNS
from fleetopt.compare.sources import role_notes
from fleetopt.core.units import format_mw, quoted, whole_difference
from fleetopt.report import svg
from fleetopt.report.definitions import definitions_section, glossary
from fleetopt.report.markup import SCRIPT, STYLE, page_context_style, scroll_hint
from fleetopt.runs.output_files import COMPARISON_PAGE_TITLE

# a difference cell is coloured by whether it is better or worse for the company (its 'better' word),
# and marked so (BETTER_MARK, WORSE_MARK): printed in grey, or to a red-green colour-blind reader, the
# green and the red read alike
BETTER_MARK, WORSE_MARK = "\u2713", "\u2717"
_EXTRA_STYLE = ("td.good{color:#15803d}td.bad{color:#b91c1c}td.na{color:#94a3b8}"
                f"td.good::after{{content:' {BETTER_MARK}'}}td.bad::after{{content:' {WORSE_MARK}'}}") + (
    # the figures' names wrap: on one line the longest made the column ~1000 px wide, and at 1280 px
    # only the first plan's figures showed; so do the cells, at their spaces ("breached (1.1% short)",
    # "+0.5 pp (within 2 s.e.)", "lower, for lenders"), and the names from a narrower least width: with
    # three plans of the default model's size, C − A and 'better' were behind the scroll at 1024 px
    "table.figures td{white-space:normal}table.figures td:first-child{min-width:11em;max-width:30em}"
)
# the Figures table of more plans than this can be wider than a 1280 px page
PLANS_SHOWN_WHOLE = 3


def comparison_html(comp: Comparison) -> str:
    """The page of ``comp`` (its NPV matrix, where it has one, for the charts)."""
    model = comp.model.name if comp.model is not None else "model not recorded"
    title = f"{COMPARISON_PAGE_TITLE}: {model}"
    created = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    scenarios = comp.title()
    context = f"{title}, {scenarios}, written {created}"
    sections = [_summary_section(comp), _plans_section(comp), _figures_section(comp), _against_pick_section(comp),
                _charts_section(comp), _purchases_section(comp), _power_section(comp), _definitions(comp)]  # fmt: skip
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(title)}</title><style>{STYLE}{_EXTRA_STYLE}{page_context_style(context)}</style></head>
<body><main>
<h1>{escape(title)}</h1>
<p class="sub">{scenarios}{escape(comp.basis())}; written
{created} by fleetopt {__version__}.</p>
<pre id="script-errors" hidden></pre>
{"".join(sections)}
<footer>Money in USD; shares of scenarios in per cent, their differences in percentage points (pp).
Figures defined in docs/evaluation.md ("Outputs", and "fleetopt compare").</footer>
</main><script>{SCRIPT}</script></body></html>
"""


def _summary_section(comp: Comparison) -> str:
    """Each later plan against the first (and a sweep's third plan against its pick) on the figures
    read first (:meth:`Comparison.verdicts`), before the table of every figure."""
    if len(comp.labels) < 2:
        return ""
    said = "".join(f"<li>{escape(verdict)}.</li>" for verdict in comp.verdicts())
    return f"<h2>In short</h2><ul class='why'>{said}</ul>"


def _definitions(comp: Comparison) -> str:
    """The figures' definitions with the model's levels and covenants, as a run's report gives them,
    and the comparison's own words (a page mailed to a reader has no docs beside it)."""
    if comp.data is None:
        return ""
    own = [
        ("pp", "percentage points: the difference of two shares (30.0 % less 27.0 % is 3.0 pp)."),
        ("within 2 s.e.", "a difference smaller than two standard errors of the paired difference (the "
                          "plans on the same scenarios): one the scenarios could give by chance, called "
                          "neither better nor worse and not coloured."),
        # a mailed page read red "+0.1 pp" of a first-breach share, which has no paired error, as a
        # difference beyond chance (the line above says only what is not coloured)
        ("green, red", f"better, worse for the company (for its lenders where the 'better' column says "
                       f"'for lenders'), by the 'better' column, marked {BETTER_MARK} and {WORSE_MARK} too. A "
                       "figure over the scenarios is coloured only where it has a 'minus the first plan's: standard error' row and its difference is "
                       "beyond two of those errors (not where it is n/a; against a sweep's pick, two of the "
                       "paired standard errors its table gives); one with no paired error is "
                       "not coloured; a figure on the forecast is one path, with no chance in it, and is "
                       "coloured by its direction."),
        *_without_paired_error(comp),
    ]  # fmt: skip
    terms = [glossary(data, comp.labels, comp.n_scenarios, "compare", cost=bool(comp.cost_plans))
             for data in (comp.data, comp.what_if_data) if data is not None]  # fmt: skip
    return definitions_section((terms[0] if len(terms) == 1 else _each_side(comp.labels, *terms)) + own)


def _without_paired_error(comp: Comparison) -> list[tuple[str, str]]:
    """The definition naming the figures over the scenarios on the page that have no paired error,
    and so are never coloured (:data:`~fleetopt.compare.figures.NO_PAIRED_ERROR`); none where it has none."""
    names = [name for key, name, _ in comp.rows() if key in NO_PAIRED_ERROR]
    if not names:
        return []
    return [("no paired error", f"{'; '.join(names)}: no standard error of their difference here "
                                "(quantiles, tail means, a mean over each plan's own scenarios without a "
                                "default, shares of the first breaches), so their differences are not "
                                "coloured: the scenarios could give them by chance.")]  # fmt: skip


def _each_side(labels: list[str], first: list, second: list) -> list[tuple[str, str]]:
    """A what-if's definitions (``first``, ``second``: each side's glossary): one where both models
    give it alike, else each side's, named by its label (the discount rate, a covenant's threshold)."""
    theirs = dict(second)
    a, b = (quoted(label) for label in labels)
    out = []
    for term, text in first:
        other = theirs.pop(term, None)
        out.append((term, f"{a}: {text}" if other is None else both_sides(text, other, a, b)))
    return out + [(term, f"{b}: {text}") for term, text in theirs.items()]


def _plans_section(comp: Comparison) -> str:
    runs = comp.runs or [""] * len(comp.labels)
    rows = "".join(f"<dt>{escape(label)}</dt><dd>{escape(run or 'not recorded')}</dd>"
                   for label, run in zip(comp.labels, runs, strict=True))  # fmt: skip
    return f"<h2>The plans</h2><dl class='facts'>{rows}</dl>"  # the model: the first of the notes


def _figures_section(comp: Comparison) -> str:
    """Every figure of every plan, each later plan's difference to the first (green where it is
    better by the 'better' column, red where worse, neither where it is within two paired standard
    errors) and which way is better (:meth:`Comparison.better_words`); then the notes."""
    letters = _plan_letters(comp.labels)
    shorts = [*letters.values(), *_difference_letters(letters)]
    headers = [*comp.labels, *comp.difference_headers()]
    head = "<th class='text'>figure</th>" + "".join(_short_head(short, header)
                                                    for short, header in zip(shorts, headers, strict=True))  # fmt: skip
    head += "<th class='text'>better</th>"
    body = []
    for key, name, unit in comp.rows():
        values = [float(comp.figures.loc[key, label]) for label in comp.labels]
        better = comp.better(key)
        cells = [f"<td class='text'>{escape(name)}</td>"]
        for n in range(len(comp.labels)):
            shown = comp.cell(key, values, unit, n)
            cells.append(f"<td{' class=na' if shown == '—' else ''}>{escape(shown)}</td>")
        for n in range(1, len(comp.labels)):
            judged = comp.judged(key, n)  # not coloured: the scenarios could give it by chance
            text = comp.difference_shown(key, values, unit, n)
            cells.append(_difference_cell(text, values[n] - values[0], better if judged else ""))
        cells.append(f"<td class='text'>{escape(comp.better_words(key))}</td>")
        body.append(f"<tr>{''.join(cells)}</tr>")
    notes = "".join(f"<li>{escape(note)}</li>" for note in comp.notes())
    hint = scroll_hint(len(headers) + 2, sortable=False) if len(comp.labels) > PLANS_SHOWN_WHOLE else ""
    return (f"<h2>Figures</h2>{_plan_key(comp, letters)}{hint}<div class='scroll'><table class='figures'><thead>"
            f"<tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table></div><ul class='cap'>{notes}</ul>")  # fmt: skip


def _plan_letters(labels: list[str]) -> dict[str, str]:
    """Each plan's letter in the heads of the page's tables, by label, in order: A, B, ..., Z, then
    AA, AB, ..., in place of the labels ("sweep: milp: price shock, cash buffer $60.0M"), which with
    their differences wrapped a head over 5 to 8 lines."""
    letters = itertools.chain(string.ascii_uppercase,
                              ("".join(pair) for pair in itertools.product(string.ascii_uppercase, repeat=2)))  # fmt: skip
    return dict(zip(labels, letters, strict=False))


def _short_head(short: str, full: str) -> str:
    """A table's column head of a plan, or a difference of two, by its letters, the labels on hovering."""
    return f"<th><abbr title='{escape(full)}'>{escape(short)}</abbr></th>"


def _plan_key(comp: Comparison, letters: dict[str, str]) -> str:
    """The key to the letters heading the table's columns: each plan's label in full, with what it is
    to its run ("forecast optimum"), and what a difference's column is."""
    roles = role_notes(comp.role_keys)
    plans = "".join(f"<dt>{letter}</dt><dd>{escape(label)}{escape(f' ({roles[label]})' if label in roles else '')}</dd>"
                    for label, letter in letters.items())  # fmt: skip
    first, *later = letters.values()
    each = f"{later[0]}'s figure" if len(later) == 1 else "each plan's figure"
    heads = _difference_letters(letters)
    named = ", ".join(heads) if len(heads) <= 2 else f"{heads[0]} to {heads[-1]}"  # a key's narrow first column
    differences = f"<dt>{named}</dt><dd>{each} less {first}'s</dd>" if later else ""
    return f"<dl class='facts key' aria-label='Key to the columns'>{plans}{differences}</dl>"


def _difference_letters(letters: dict[str, str]) -> list[str]:
    """'B − A', 'C − A', ...: the heads of each later plan's difference to the first."""
    first, *later = letters.values()
    return [difference_header(letter, first) for letter in later]


def _against_pick_section(comp: Comparison) -> str:
    """Each sweep's plan of highest mean NPV no worse than its forecast optimum against its pick
    (:meth:`Comparison.against_pick_rows`), each difference coloured as the figures' are."""
    out, letters = [], _plan_letters(comp.labels)
    for pair in comp.against_pick:
        n, base = comp.pick_at(pair)
        rows = comp.against_pick_rows(pair)
        texts = ("figure", "better")
        pick, plan = letters[pair.pick], letters[pair.plan]
        shorts = {pair.pick: pick, pair.plan: plan, comp.against_pick_header(pair): difference_header(plan, pick)}
        head = "".join(_short_head(shorts[c], c) if c in shorts else
                       f"<th{' class=text' if c in texts else ''}>{escape(c)}</th>" for c in rows.columns)  # fmt: skip
        body = []
        for (key, _, _), (_, row) in zip(comp.verdict_rows(), rows.iterrows(), strict=True):
            change = float(comp.figures.loc[key, pair.plan]) - float(comp.figures.loc[key, pair.pick])
            better = comp.better(key) if comp.judged(key, n, base) else ""  # not coloured: may be chance
            cells = [_difference_cell(row[c], change, better) if c == comp.against_pick_header(pair)
                     else f"<td{' class=text' if c in texts else ''}>{escape(row[c])}</td>" for c in rows.columns]  # fmt: skip
            body.append(f"<tr>{''.join(cells)}</tr>")
        key = f"{pick}: the pick, {quoted(pair.pick)}; {plan}: {quoted(pair.plan)} (as in the Figures' key)."
        out.append(f"<h2>{escape(comp.against_pick_title(pair))}</h2><p class='cap'>{escape(key)}</p><div class='scroll'>"
                   f"<table class='figures'><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table></div>")  # fmt: skip
    return "".join(out)


def _difference_cell(text: str, change: float, better: str) -> str:
    good = (better == "higher" and change > 0) or (better == "lower" and change < 0)
    bad = (better == "higher" and change < 0) or (better == "lower" and change > 0)
    shows_change = text not in ("", "$0", "0.0 pp") and not text.startswith("0 ")
    cls = " class='good'" if good and shows_change else " class='bad'" if bad and shows_change else ""
    return f"<td{cls}>{escape(text)}</td>"


def _charts_section(comp: Comparison) -> str:
    """The plans' NPV distributions over the common scenarios, and each later plan's NPV less the
    first's scenario by scenario (what the paired standard error measures); over one scenario, a line
    that says why there are none (the page left the section out without a word)."""
    npv = comp.npv_matrix
    if npv is None:
        return ""
    if npv.shape[1] < 2:
        return ("<h2>Distributions</h2><p class='cap'>None drawn: over one scenario each plan's NPV is the "
                "one figure in the table above (compare over more, --scenarios N, to see it spread).</p>")
    first = comp.labels[0]
    samples = {label: npv[n] for n, label in enumerate(comp.labels)}
    markers = {label: {"mean": float(np.mean(v))} for label, v in samples.items()}
    charts = [svg.both(svg.histogram, "NPV over the common scenarios", samples, markers, notes=_legend_notes(comp),
                       colours=svg.plan_colours(comp.labels, comp.role_keys))]  # fmt: skip
    same = []  # plans whose NPV is the first's in every scenario: a histogram of zeros says nothing
    for n, label in enumerate(comp.labels[1:], start=1):
        diff = npv[n] - npv[0]
        if not diff.any():
            same.append(label)
            continue
        title = f"{label} − {first}, scenario by scenario"
        mean = {"difference": {"mean": float(diff.mean())}}
        charts.append(svg.both(svg.histogram, title, {"difference": diff}, mean, x_title="NPV difference, USD",
                               marked="difference", colours={"difference": svg.DIFFERENCE}))  # fmt: skip
    for pair in comp.against_pick:  # a sweep's third plan less its pick: what the pick gives up to it
        n, base = comp.pick_at(pair)
        diff = npv[n] - npv[base]
        charts.append(svg.both(svg.histogram, f"{comp.against_pick_header(pair)}, scenario by scenario",
                               {"difference": diff}, {"difference": {"mean": float(diff.mean())}},
                               x_title="NPV difference, USD", marked="difference",
                               colours={"difference": svg.DIFFERENCE}))  # fmt: skip
    cards = "".join(f"<div class='card'>{c}</div>" for c in charts)
    alike = f"<p>{escape(', '.join(same))}: the same NPV as {escape(first)} in every scenario.</p>" if same else ""
    caption = (f"The same {comp.n_scenarios:,} scenarios for every plan: the differences are paired, "
               "so they vary far less than each plan's NPV does (the figures' paired standard errors).")  # fmt: skip
    return f"<h2>Distributions</h2><div class='grid'>{cards}</div>{alike}<p class='cap'>{escape(caption)}</p>"


def _legend_notes(comp: Comparison) -> dict[str, str]:
    """Each plan's words in the NPV histogram's legend, by label: what it is to its run (a sweep's
    "recommendation", :func:`~fleetopt.compare.sources.role_notes`: the colour it has in the run's report too),
    then why it seems missing (:func:`_hidden_plans`)."""
    roles, hidden = role_notes(comp.role_keys), _hidden_plans(comp)
    said = {label: [words for words in (roles.get(label), hidden.get(label)) if words] for label in comp.labels}
    return {label: "; ".join(words) for label, words in said.items() if words}


def _hidden_plans(comp: Comparison) -> dict[str, str]:
    """Each plan whose NPV is an earlier plan's in every scenario, drawn under it in the NPV
    histogram, and why, for its legend: 'identical to A' (the same plan, :attr:`Comparison.same`),
    else 'the same NPV as A in every scenario'."""
    out, npv, same = {}, comp.npv_matrix, {frozenset(pair) for pair in comp.same}
    for n, label in enumerate(comp.labels):
        first = next((m for m in range(n) if np.array_equal(npv[m], npv[n])), None)
        if first is not None:
            earlier = comp.labels[first]
            alike = frozenset((earlier, label)) in same
            out[label] = f"identical to {earlier}" if alike else f"the same NPV as {earlier} in every scenario"
    return out


def _purchases_section(comp: Comparison) -> str:
    """Each later plan's purchases less the first's: by generation and quarter, the sites summed
    (what it buys more or less of), then by SKU and site (where)."""
    if comp.what_if:  # one plan on both sides: the same purchases by construction
        return ""
    return _by_generation(comp) + _by_sku_and_site(comp)


def _by_generation(comp: Comparison) -> str:
    summed = comp.purchases_by_generation_shown()
    if summed is None:
        return ""
    keys = ("plan", "quarter", "generation")
    head = "".join(f"<th class=text>{escape(COLUMN_HEADERS[k])}</th>" for k in keys) + "<th>GPUs</th>"
    rows = [
        "<tr>" + "".join(f"<td class='text'>{escape(str(r[k]))}</td>" for k in keys)
        + f"<td>{whole_difference(r['gpus_vs_first_plan'])}</td></tr>"
        for _, r in summed.iterrows()
    ]
    if not rows:
        rows = [f"<tr><td class='text' colspan='{len(keys) + 1}'>no differences: the plans buy as many "
                "GPUs of each generation each quarter, at other sites (below)</td></tr>"]
    title = f"Purchases against {comp.labels[0]} by generation, sites summed (GPUs: + more, - fewer)"
    return (f"<h2>{escape(title)}</h2><div class='scroll'><table><thead><tr>{head}</tr></thead>"
            f"<tbody>{''.join(rows)}</tbody></table></div>")  # fmt: skip


def _by_sku_and_site(comp: Comparison) -> str:
    diffs = comp.purchase_diff
    keys = PURCHASE_DIFF_COLUMNS
    head = "".join(f"<th{' class=text' if k != 'gpus_vs_first_plan' else ''}>{escape(COLUMN_HEADERS[k])}</th>"
                   for k in keys)  # fmt: skip
    rows = [
        "<tr>" + "".join(f"<td class='text'>{escape(str(r[k]))}</td>" for k in keys[:-1])
        + f"<td>{whole_difference(r['gpus_vs_first_plan'])}</td></tr>"
        for _, r in diffs.iterrows()
    ]
    if not rows:
        rows = [f"<tr><td class='text' colspan='{len(keys)}'>no differences</td></tr>"]
    title = f"Purchases against {comp.labels[0]} by SKU and site (GPUs: + more, - fewer)"
    return (f"<h2>{escape(title)}</h2><div class='scroll'><table><thead><tr>{head}</tr></thead>"
            f"<tbody>{''.join(rows)}</tbody></table></div>")  # fmt: skip


def _power_section(comp: Comparison) -> str:
    peak = comp.peak_mw_by_site()
    head = "<th class='text'>plan</th>" + "".join(f"<th>{escape(site)}</th>" for site in peak.columns)
    rows = "".join(
        f"<tr><td class='text'>{escape(label)}</td>"
        + "".join(f"<td>{escape(format_mw(peak.loc[label, site]))}</td>" for site in peak.columns)
        + "</tr>"
        for label in comp.labels
    )
    return (f"<h2>Peak MW needed by site</h2><div class='scroll'><table><thead><tr>{head}</tr></thead>"
            f"<tbody>{rows}</tbody></table></div>")  # fmt: skip
