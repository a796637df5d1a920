"""The terminal's output: the consoles of stdout and stderr, their width, and streams a closed pipe or
another encoding cannot stop."""

from __future__ import annotations

import errno
import os
import shutil
import sys
from contextlib import contextmanager, suppress

from rich.text import Text

from fleetopt.cli.render.tables import text_console
from fleetopt.errors import EXIT_BAD_INPUT


def forget_unreadable_sizes() -> None:
    """A COLUMNS or LINES of digits int() cannot read ('²': str.isdigit() holds for a superscript)
    made rich raise ValueError at its first print, a traceback from every command, --help too: such
    a value counts as not set, as any other that is not a number does."""
    for variable in ("COLUMNS", "LINES"):
        value = os.environ.get(variable, "")
        if value.isdigit() and not value.isdecimal():
            del os.environ[variable]


def output_width(stream) -> int | None:
    """Width of the tables written to ``stream``: the terminal's, or COLUMNS where set (rich reads
    it); piped output (CI logs, files) without COLUMNS gets 120 instead of rich's 80-column default.
    COLUMNS=0 (set where the width is not known) counts as not set: rich took it as a width of 0 and
    printed nothing at all, errors included."""
    columns = os.environ.get("COLUMNS", "").strip()
    if columns.isdigit() and int(columns) > 0:
        return None
    if columns.isdigit():  # rich would read the 0 itself: the width it stands for is given instead
        return shutil.get_terminal_size((120, 24)).columns if stream.isatty() else 120
    return None if stream.isatty() else 120


forget_unreadable_sizes()
console = text_console(width=output_width(sys.stdout))
err_console = text_console(stderr=True, highlight=False, width=output_width(sys.stderr))


def marked(*parts: str | tuple[str, str]) -> Text:
    """A line of plain text with some parts styled: ``marked("wrote ", (path, "bold"))``."""
    return Text.assemble(*parts)


# the typographic characters the printout uses, as a stream that cannot encode them gets them
ASCII_FORMS = str.maketrans({"\u2212": "-", "\u2013": "-", "\u2014": "-", "\u201c": '"', "\u201d": '"',
                             "\u2018": "'", "\u2019": "'", "\u00b1": "+/-", "\u2026": "...", "\u00d7": "x",
                             "\u00a7": "section "})


class UntilClosed:
    """sys.stdout or sys.stderr, whose writes stop, silently, once its reader has gone (``fleetopt
    solve | head -1``, ``2>&1 | true``): the command still finishes its work and writes its run
    folder, and exits with its own code. Without it the first write after the pipe closed raised
    BrokenPipeError part way through the work (the run was lost), or while an error was reported
    (exit 1, not the error's code). A stream that fails otherwise (stdout on a full disk: ``>
    /dev/full``) stops the same way, said once on stderr, and is kept in ``failed``: the command
    finishes its work (a run folder is written whole), then exits 2, as the output it printed (a
    schema, a comparison) is lost. Everything else is the wrapped stream's."""

    def __init__(self, stream):
        self._stream = stream
        self.reader_gone = False
        self.failed: OSError | None = None

    def write(self, text: str) -> int:
        if not self.reader_gone:
            try:
                try:
                    return self._stream.write(text)
                except UnicodeEncodeError:  # a stream of a narrower encoding: nothing of the text written
                    return self._stream.write(self._encodable(text))
            except OSError as exc:  # of either write: the ASCII one's reader may be gone too
                self._gone(exc)
        return len(text)

    def _encodable(self, text: str) -> str:
        """``text`` as the stream's encoding can write it (PYTHONIOENCODING=ascii, a Windows code page
        where output is redirected): the printout's typographic characters in ASCII, any other a
        '?' (a UnicodeEncodeError was a traceback, exit 1, after the work, and an evaluation's run
        was not written)."""
        encoding = getattr(self._stream, "encoding", None) or "ascii"
        return text.translate(ASCII_FORMS).encode(encoding, "replace").decode(encoding)

    def flush(self) -> None:
        if not self.reader_gone:
            try:
                self._stream.flush()
            except OSError as exc:
                self._gone(exc)

    def _gone(self, exc: OSError) -> None:
        self.reader_gone = True
        if exc.errno != errno.EPIPE and self._stream is sys.__stdout__:
            self.failed = exc
            with suppress(OSError, ValueError):
                sys.__stderr__.write(f"fleetopt: cannot write the output ({exc.strerror or exc}): the "
                                     f"printout stops; the command finishes its work, then exits "
                                     f"{EXIT_BAD_INPUT}\n")  # fmt: skip
                sys.__stderr__.flush()
        # what the stream still buffers is flushed into nothing at exit, not onto a closed pipe
        with suppress(OSError, ValueError, AttributeError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), self._stream.fileno())

    def __getattr__(self, name: str):
        return getattr(self._stream, name)


@contextmanager
def output_until_closed():
    """Terminal output and error messages that a closed pipe cannot stop (see :class:`UntilClosed`)."""
    previous = sys.stdout, sys.stderr
    if not isinstance(sys.stdout, UntilClosed):
        sys.stdout = UntilClosed(sys.stdout)
    if not isinstance(sys.stderr, UntilClosed):
        sys.stderr = UntilClosed(sys.stderr)
    try:
        yield
    finally:
        sys.stdout, sys.stderr = previous
