"""The files a command writes outside its run folder (a report, a comparison, a schema, a scenario's
path: --out), refused before any work where they would replace a run's file or a file that is not
that kind of fleetopt's output, or could not be written at the end."""

from __future__ import annotations

import os
import re
from pathlib import Path

from fleetopt.core.notebook import markdown_text
from fleetopt.errors import Argument, user_path
from fleetopt.runs.files import unwritable_ancestor, written_through
from fleetopt.runs.folder import RunFolder
from fleetopt.runs.run_files import RunDirError

# an output file (a report, a comparison) as the API's argument and the CLI's option name it in a refusal
OUT_OPTION = Argument("out", "--out")
# the option alone, as the command line names it in its own refusals and in the API's (OUT_OPTION):
# `fleetopt report --out x.txt` said "out (--out) x.txt", a name no command takes, before the option
OUT_FLAG = OUT_OPTION.option


def refuse_run_file(out: str | Path, option: str | Argument = OUT_FLAG, allowed: Path | None = None) -> None:
    """Refuse to write a command's output ``out`` onto a file of a run folder (it would destroy the
    run), except ``allowed`` (a report's own report.html); other files may be overwritten."""
    if allowed is not None and Path(out).resolve() == Path(allowed).resolve():
        return
    run = RunFolder.owning(out)
    if run is not None:
        raise RunDirError.naming(
            option, f" {out} is a file of the run folder {run.path}: writing it would destroy the run; "
            "choose a file outside the run's files"
        )


def refuse_folder_as_file(out: Path, option: str | Argument, example: Path | str) -> None:
    """Refuse, before any work, an output file ``out`` that is a folder, naming ``example``, a file
    name to give instead (its report.html, a comparison's file ...)."""
    if out.is_dir():
        raise RunDirError.naming(option, f" {out} is a folder: give a file name such as {example}")


def refuse_output_file(out: str | Path, kind: str, option: str | Argument = "--out") -> None:
    """Refuse, before any work, an output file ``out`` of ``kind`` (:data:`OWN_OUTPUT`) that would
    replace a run's own file (:func:`refuse_run_file`) or a file fleetopt did not write as one
    (:func:`refuse_foreign_file`), or could not be written at the end (:func:`refuse_unwritable_file`)."""
    refuse_run_file(out, option)
    refuse_foreign_file(out, kind, option)
    refuse_unwritable_file(out, option)


def refuse_unwritable_file(out: str | Path, option: str | Argument = "--out") -> None:
    """Refuse, before any work, an output file ``out`` that could not be written at the end: the
    file is written to a temporary name beside it, then renamed, so its folder (or the nearest one
    that exists, where the folders are made) must take new files (a comparison to a read-only folder
    failed after its whole evaluation). A device or pipe is written through, so it must take writes;
    a link, its target's folder new files."""
    out = user_path(out)
    if written_through(out):
        if not os.access(out, os.W_OK):
            raise RunDirError.naming("cannot write ", option, f" {out}: this user cannot write to it")
        return
    blocked = unwritable_ancestor(Path(os.path.realpath(out)).parent if out.is_symlink() else out.parent)
    if blocked is not None:
        raise RunDirError.naming("cannot write ", option, f" {out}: {blocked} is not a folder this user can "
                                 "write to")  # fmt: skip


# the words compare's outputs are known by (OWN_OUTPUT), as compare/ and report/comparison.py write them
COMPARISON_PAGE_TITLE = "fleetopt comparison"  # the HTML page's <title> opens with it
WHAT_IF_SUBJECT = "one plan under two models"  # Comparison.subject of a what-if
COMMON_SCENARIO = "common scenario"
# compare's terminal table title (Comparison.title): "2 plans on ...", a what-if's "one plan under two
# models on ...", and before 0.4.21 "plans on ..."; "1 common scenario" where --scenarios 1
COMPARISON_TITLE = re.compile(
    rf"\s*(?:[\d,]+ plans |plans |{re.escape(WHAT_IF_SUBJECT)} )on [\d,]+ {re.escape(COMMON_SCENARIO)}s?\b"
)
# how a scenario's path CSV opens (evaluate/path.py ScenarioPath.to_csv: the quarter, then each
# generation's price factor)
SCENARIO_PATH_HEADER = "quarter,price_factor_"
# the last line of a report (report/page.py), in its HTML and its Markdown
REPORT_FOOTER = "Model semantics: docs/formulation.md; scenario semantics: docs/evaluation.md."
# how each kind of output file fleetopt writes looks (its first and last 4 KiB): `--out` may replace
# such a file (a report, schema or comparison written before), never another file (a model, say)
OWN_OUTPUT = {
    "report": lambda ends: (
        ends.lower().startswith("<!doctype html>") and "<title>fleetopt " in ends
        and f"<title>{COMPARISON_PAGE_TITLE}" not in ends  # a comparison's page: compare's own output
    ) or (ends.startswith("# fleetopt ") and markdown_text(REPORT_FOOTER) in ends),  # one as Markdown
    "schema": lambda ends: ends.startswith('{\n  "$defs": {') and '"title": "PlanningModel"' in ends,
    "comparison": lambda ends: (
        ends.startswith(("# about\n", "# figures\n", '{\n  "plan_runs": [', '{\n  "figures": [',
                         "# Plan comparison"))
        or COMPARISON_TITLE.match(ends) is not None
        or (ends.lower().startswith("<!doctype html>") and f"<title>{COMPARISON_PAGE_TITLE}" in ends)
    ),
    "scenario path": lambda ends: ends.startswith(SCENARIO_PATH_HEADER),
}
OWN_OUTPUT_NAMES = {"report": "a report", "schema": "a model schema", "comparison": "a comparison",
                    "scenario path": "a scenario's path CSV"}  # fmt: skip


def refuse_foreign_file(out: str | Path, kind: str, option: str | Argument = "--out") -> None:
    """Refuse an ``option`` (--out) that is an existing file other than ``kind`` of fleetopt's output
    (:data:`OWN_OUTPUT`): `report s1 --out models/tiny.yaml` replaced a model with HTML. An empty
    file, and what is not a plain file (/dev/null), may be written; a file of a run folder is left
    to :func:`refuse_run_file`, which names the run."""
    out = Path(out)
    if not out.is_file() or out.stat().st_size == 0 or RunFolder.owning(out) is not None:
        return
    with open(out, "rb") as f:
        head = f.read(4096)
        f.seek(max(len(head), f.seek(0, os.SEEK_END) - 4096))
        ends = (head + f.read()).decode("utf-8", errors="replace")
    if not OWN_OUTPUT[kind](ends):
        other = next((name for name, own in OWN_OUTPUT.items() if name != kind and own(ends)), None)
        what = f"{OWN_OUTPUT_NAMES[other]} fleetopt wrote, not {OWN_OUTPUT_NAMES[kind]}" if other else (
            f"a file that is not {OWN_OUTPUT_NAMES[kind]} fleetopt wrote")
        raise RunDirError.naming(
            option, f" {out} is {what}: it would be replaced; remove it first or choose another file"
        )
