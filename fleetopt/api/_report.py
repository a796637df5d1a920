"""Writing a run's HTML report."""

from __future__ import annotations

from pathlib import Path

from fleetopt.api._keywords import arguments_checked
from fleetopt.api._runs import resolve_run
from fleetopt.compare.comparison import Comparison
from fleetopt.errors import InputError
from fleetopt.report.page import write_report
from fleetopt.runs import limits
from fleetopt.runs.folder import RunFolder
from fleetopt.runs.output_files import OUT_OPTION
from fleetopt.runs.registry import RunRecord


@arguments_checked()
def report(run: str | Path | int | RunRecord, out: str | Path | None = None) -> Path:
    """Write the HTML report of a run folder, run id or :class:`RunRecord` (default: report.html
    inside the folder), or its words and tables as Markdown where ``out`` ends in .md or .markdown
    (each chart named where it stands, drawn only in the HTML). An ``out`` that is a file of a run
    folder (its summary.json, plans, another
    run's report ...) is refused, as is a run whose model.yaml is not the model its figures were made from
    (:class:`~fleetopt.errors.InputError`), and so is an existing file that is not a report
    fleetopt wrote (a model, notes). A file of a finished run folder (its plan.npz, summary.json)
    names that run, as it does for the other commands. Returns the report's Path. A comparison
    (what :func:`compare` returns) is no run: its page is :func:`comparison_html`'s."""
    if isinstance(run, Comparison):  # refused as "not a Comparison", without saying where its page is
        raise InputError("run must be a run folder, plan file or run id, not a Comparison: a comparison's "
                         "HTML page, as `fleetopt compare --out c.html` writes it, is "
                         "Path('c.html').write_text(fleetopt.api.comparison_html(comparison))")  # fmt: skip
    limits.out_path(OUT_OPTION, out)
    path = resolve_run(run, "run")
    owner = RunFolder.owning(path) if path.is_file() else None
    folder = owner.path if owner is not None and owner.is_finished else path
    return write_report(folder, out, OUT_OPTION).resolve()
