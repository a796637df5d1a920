"""An evaluation's "One scenario's path": the scenario `fleetopt evaluate --explain` picked, why,
its quarters and its events, as the terminal showed them (path.json, ScenarioPath.explained)."""

from __future__ import annotations

import math
from html import escape

import pandas as pd

from fleetopt.evaluate.path import SHOWN_USD
from fleetopt.report.markup import scroll_hint, sortable_table
from fleetopt.report.reading import ReportError, ReportRun
from fleetopt.runs.files import read_json
from fleetopt.runs.folder import RunFolder

# the keys of path.json the section reads
_KEYS = ("plan", "scenario", "seed", "why", "headline", "columns", "rows", "events")


def explained_section(run: ReportRun) -> str:
    """The section, or '' for a run without --explain (no path.json)."""
    file = run.folder / RunFolder.PATH_JSON
    if run.kind != "evaluate" or not file.is_file():
        return ""
    record = _read(file)
    frame = pd.DataFrame(record["rows"], columns=record["columns"])
    usd = [c for c in frame.columns if c.endswith(SHOWN_USD)]
    figures = _figures(file, record, usd)  # each cell's exact USD, which a click on its header sorts by
    for column, values in figures.items():
        frame[column] = [math.nan if v is None else float(v) for v in values]
    events = "".join(f"<li>{escape(line)}</li>" for line in record["events"])
    return (
        '<h2 id="scenario-path">One scenario\'s path</h2>'
        f"<p class='why'>Scenario {record['scenario']:,} of seed {record['seed']}, plan "
        f"{escape(repr(record['plan']))}: {escape(record['why'])} (<code>--explain</code>). Its quarters "
        f"as the evaluation ran them; every column in {RunFolder.PATH_CSV}.</p>"
        f"<p><b>{escape(record['headline'])}</b></p>"
        + _npv_line(record)
        + scroll_hint(len(frame.columns))
        + sortable_table(frame, usd_cols=set(figures), figure_cols=usd, wrap_cols=("covenants breached",),
                         fit=True)
        + (f"<h3>Events</h3><ul>{events}</ul>" if events else "<p>No risk event, reaction or default.</p>")
    )


def _npv_line(record: dict) -> str:
    """The NPV to the cent and its two parts, as the terminal printed them after the table; '' for a
    path.json written before it kept them."""
    words = record.get("npv_words")
    return f"<p>{escape(words)}; its parts in {RunFolder.PATH_JSON}.</p>" if isinstance(words, str) else ""


def _read(file) -> dict:
    """path.json, checked: a ReportError names it where it is unreadable or not --explain's."""
    try:
        record = read_json(file.read_bytes())
    except (OSError, ValueError) as exc:
        raise ReportError(f"{file}: unreadable ({exc})") from None
    missing = [key for key in _KEYS if key not in record] if isinstance(record, dict) else ["object"]
    if missing:
        raise ReportError(f"{file}: not what --explain writes (no {', '.join(missing)})")
    return record


def _figures(file, record: dict, usd: list[str]) -> dict:
    """path.json's ``usd``: each money column's figures, USD (null: not finite), a row each; {} for
    one written before they were kept (its cells' words are sorted as figures). One that is not
    that is named."""
    figures = record.get("usd", {})
    whole = isinstance(figures, dict) and set(figures) <= set(usd) and all(
        isinstance(values, list) and len(values) == len(record["rows"])
        and all(v is None or (isinstance(v, (int, float)) and not isinstance(v, bool)) for v in values)
        for values in figures.values())  # fmt: skip
    if not whole:
        raise ReportError(f"{file}: not what --explain writes (usd is not a list of figures, USD, for each "
                          f"row of its money columns: {', '.join(usd)})")  # fmt: skip
    return figures
