"""What a command writes and says it wrote: run folders (recorded with the command line), reports and
output files."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

from fleetopt import api
from fleetopt.cli.consoles import console, marked
from fleetopt.errors import InputError
from fleetopt.runs.files import write_text_atomic
from fleetopt.runs.output_files import (
    OUT_FLAG,
    refuse_folder_as_file,
    refuse_output_file,
    refuse_unwritable_file,
)
from fleetopt.runs.registry import Registry


def command_line() -> str:
    """The command as typed: what the run registry records for a run written by the CLI."""
    return " ".join(["fleetopt", shlex.join(sys.argv[1:])]) if sys.argv[1:] else "fleetopt"


# the run folders this command has written and recorded (a stop after it says they are kept)
WRITTEN: list[Path] = []


def say_written(path: Path, notes: dict[str, str] | None = None) -> None:
    """'wrote FOLDER (FILES): run ID', for a run written and recorded through the API: every file the
    folder holds, each with its ``notes`` ("plan.npz with the forecast optimum")."""
    WRITTEN.append(path)
    notes = notes or {}
    files = sorted(p.name for p in path.iterdir() if p.is_file() and not p.name.startswith("."))
    listed = ", ".join(f"{name} {notes[name]}" if name in notes else name for name in files)
    # never wrapped: a script reads "run N" on the line that says "wrote" (output piped or redirected)
    console.print(marked("wrote ", (str(path), "bold"), f" ({listed}): run {api.run_id(path)}"),
                  soft_wrap=True)  # fmt: skip


def registry_checked() -> None:
    """Refuse an unusable runs folder or registry before a run does any work."""
    Registry().check()


def finish_report(path: Path, wanted: bool) -> None:
    if wanted:
        console.print(marked("wrote ", (str(api.report(path)), "bold")), soft_wrap=True)


def refuse_out_file(out: Path, kind: str, example: Path | str) -> None:
    """--out of a ``kind`` file (runs/output_files.py :data:`OWN_OUTPUT`) refused before any work where it
    cannot take one: a folder, with ``example``, a file name to give instead; a run's own file, a file
    fleetopt did not write as one, or one that cannot be written (:func:`refuse_output_file`)."""
    refuse_folder_as_file(out, OUT_FLAG, example)
    refuse_output_file(out, kind, OUT_FLAG)


def write_output(out: Path, text: str, option: str = "--out") -> None:
    """Write a command's output file (schema, comparison) whole, or say why it cannot be written
    (naming it as ``option``)."""
    refuse_unwritable_file(out, option)  # a file on the path said "File exists": named, as --out's check says
    try:
        write_text_atomic(out, text, user_file=True)
    except BrokenPipeError:  # `--out /dev/stdout | head`: its reader has what it wanted, as a printout's
        return
    except OSError as exc:
        raise InputError(f"cannot write {out}: {exc.strerror or exc}") from None
    console.print(f"wrote {out}", soft_wrap=True, highlight=False)
