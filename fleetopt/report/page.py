"""One self-contained HTML page per run folder: styles, scripts and charts inline, no network."""

from __future__ import annotations

from datetime import UTC, datetime
from html import escape
from pathlib import Path

from fleetopt import __version__
from fleetopt.errors import Argument, user_path
from fleetopt.evaluate.sources import refuse_unfinished
from fleetopt.report.candidates import (
    FORECAST_MARK_WORDS,
    candidates_section,
    front_section,
    recommendation_section,
)
from fleetopt.report.charts import BREAK_COLOURS, plan_section
from fleetopt.report.definitions import (
    PLAN_ASSUMPTIONS,
    SCENARIO_ASSUMPTIONS,
    assumptions_section,
    definitions_section,
    glossary,
    glossary_section,
)
from fleetopt.report.explained import explained_section
from fleetopt.report.in_short import summary_section
from fleetopt.report.key_figures import key_figures_section
from fleetopt.report.markdown import markdown_of_page
from fleetopt.report.markup import SCRIPT, STYLE, css_string, page_context_style, scroll_hint
from fleetopt.report.provenance import provenance_section
from fleetopt.report.reading import (
    MILP_ONLY,
    ReportError,
    ReportRun,
    checked_metrics_table,
    cost_sweep,
    read_report_run,
)
from fleetopt.report.statements import purchases_and_statements_sections
from fleetopt.report.two_stage import stochastic_section
from fleetopt.runs.files import write_text_atomic
from fleetopt.runs.folder import RunFolder
from fleetopt.runs.output_files import (
    REPORT_FOOTER,
    refuse_folder_as_file,
    refuse_foreign_file,
    refuse_run_file,
    refuse_unwritable_file,
)
from fleetopt.schema.model_changes import changed_model_line, recorded_model_changes

# the names other modules and tests import from here, those defined in the report's other modules too
__all__ = [
    "BREAK_COLOURS",
    "FORECAST_MARK_WORDS",
    "MILP_ONLY",
    "PLAN_ASSUMPTIONS",
    "SCENARIO_ASSUMPTIONS",
    "SCRIPT",
    "STYLE",
    "ReportError",
    "build_report",
    "checked_metrics_table",
    "css_string",
    "definitions_section",
    "glossary",
    "page_context_style",
    "refuse_other_suffix",
    "scroll_hint",
    "write_report",
]


def _sections(run: ReportRun) -> list[str]:
    sections = [summary_section(run), provenance_section(run)]
    if run.kind == "sweep":
        sections.append(recommendation_section(run))
    if run.kind == "stochastic":
        sections.append(stochastic_section(run))
    sections += [key_figures_section(run), glossary_section(run), assumptions_section(run)]
    if run.focus:
        sections.append(plan_section(run))
    if run.kind == "sweep" and run.metrics is not None:
        sections.append(front_section(run.metrics, run.plan_roles, cost_sweep(run)))
    if run.metrics is not None:
        sections.append(candidates_section(run))
    sections.append(explained_section(run))  # evaluate --explain's scenario ('' without one)
    if run.focus:
        sections += purchases_and_statements_sections(run)
    return sections


def build_report(folder: str | Path) -> str:
    """The HTML of a run folder's report (solve, stochastic solve, evaluate or sweep)."""
    run = read_report_run(Path(folder))
    data, q = run.data, run.data.quarter_labels
    sections = _sections(run)
    created = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    title = f"fleetopt {run.kind}: {data.name}"
    context = f"{title}, run folder {run.folder.name}, report written {created}"
    changes, before = recorded_model_changes(run.summary, str(run.folder / RunFolder.SUMMARY))
    # under the title that names the model: a reader of the report sees first that it is not the file's
    line = changed_model_line(data.name, changes, before)
    changed = f'<p class="sub">{escape(line)}</p>' if line else ""
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(title)}</title><style>{STYLE}{page_context_style(context)}</style></head>
<body><main>
<h1>{escape(title)}</h1>
<p class="sub">{escape(data.description)}<br>Horizon {q[0]}..{q[-1]}; report written {created} by fleetopt {__version__}.</p>{changed}
<pre id="script-errors" hidden></pre>
{"".join(sections)}
<footer>Money in USD; figures defined under Definitions. {escape(REPORT_FOOTER)}</footer>
</main><script>{SCRIPT}</script></body></html>
"""


HTML_SUFFIXES, MARKDOWN_SUFFIXES = (".html", ".htm"), (".md", ".markdown")


def refuse_other_suffix(out: Path, option: str | Argument = "out") -> None:
    """Refuse a report file named for another format (HTML written into rep.pdf opens as nothing);
    a name without a suffix is taken as given (HTML)."""
    if out.suffix and out.suffix.lower() not in HTML_SUFFIXES + MARKDOWN_SUFFIXES:
        raise ReportError.naming(option, f" {out}: a report is one HTML file (.html) or Markdown (.md); "
                                 f"give a name such as {out.with_suffix('.html')} or "
                                 f"{out.with_suffix('.md')}")  # fmt: skip


def is_markdown(out: Path) -> bool:
    """Whether the report file ``out`` is written as Markdown (its name ends in .md or .markdown)."""
    return out.suffix.lower() in MARKDOWN_SUFFIXES


def report_file_in(out: Path, folder: Path) -> Path:
    """A file name for a report the user asked to write in the folder ``out``: its report.html,
    unless that is another run's own file (a run folder's report), then one beside that folder."""
    inside = out / RunFolder.REPORT
    owner = RunFolder.owning(inside)
    if owner is None or owner.path.resolve() == Path(folder).resolve():
        return inside
    return out.parent / f"{out.name}-{Path(folder).name}-report.html"


def write_report(folder: str | Path, out: str | Path | None = None,
                 option: str | Argument = "out") -> Path:
    """Write the report of a run folder (default: report.html inside it, the one file of a run
    folder another run's report or a comparison may not replace), as Markdown where ``out``'s name
    ends in .md or .markdown (:func:`~fleetopt.report.markdown.markdown_of_page`). Every refusal of ``out`` comes
    before the report is built, and names it as ``option`` (the API's "out (--out)")."""
    refuse_unfinished(Path(folder), "report it")  # how to finish it, first
    own = RunFolder(folder) / RunFolder.REPORT
    given = out is not None  # the run's own report.html: a folder not a run's is refused by the reading
    out = user_path(out) if given else own
    if out.is_dir():  # the file name it gives is worked out only for a folder
        refuse_folder_as_file(out, option, report_file_in(out, folder))
    refuse_run_file(out, option, allowed=own)
    refuse_foreign_file(out, "report", option)  # a model, notes: never replaced by a report
    if given:  # a file as a folder on the way read "File exists" at the end
        refuse_unwritable_file(out, option)
    refuse_other_suffix(out, option)
    text = build_report(folder)
    if is_markdown(out):  # the page's own words and tables, so the two never differ
        text = markdown_of_page(text)
    try:
        write_text_atomic(out, text, user_file=out != own)  # the run's own report.html: by name
    except OSError as exc:
        raise ReportError(f"cannot write the report {out}: {exc.strerror or exc}") from None
    return out
