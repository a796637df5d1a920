"""The one place where errors become lines on stderr and exit codes, and fleetopt's warnings lines of
their own."""

from __future__ import annotations

import warnings
from contextlib import contextmanager

import typer

from fleetopt import api
from fleetopt.cli.consoles import err_console
from fleetopt.cli.stops import ignore_further_stops, stopped_after_writing
from fleetopt.cli.written import WRITTEN, command_line
from fleetopt.errors import EXIT_INTERRUPTED, FleetoptError, FleetoptWarning, InputError, StoppedAfterWriting
from fleetopt.milp.diagnose import format_diagnosis
from fleetopt.milp.solve import InfeasibleModel, NoPlanFound
from fleetopt.schema.issues import ModelError


def _model_error_lines(exc: ModelError) -> list[str]:
    """Each problem of a model file on a line, 'error: file:line: field: problem'; several with no
    line (an edited model's, whose long name 'tiny.yaml, edited (horizon.quarters, ...)' began each)
    name the model once, 'error: <name>:', each problem on a line of its own below it."""
    lineless = [issue for issue in exc.issues if not issue.line]
    source = exc.typed() if exc.parts else exc.source  # a what-if's change, named by --what-if alone
    if len(lineless) <= 1:
        return [f"error: {issue.format(source)}" for issue in exc.issues]
    placed = [f"error: {issue.format(source)}" for issue in exc.issues if issue.line]
    return [*placed, f"error: {source}:", *(f"  {issue.format()}" for issue in lineless)]


def error_lines(exc: FleetoptError) -> list[str]:
    """What the user reads for an error: ``error: <message>``, one line per problem of a model file,
    the conflicting constraint groups of an infeasible model."""
    if isinstance(exc, ModelError):
        return _model_error_lines(exc)
    if isinstance(exc, InfeasibleModel):
        lines = format_diagnosis(exc.diagnosis) or [
            "none found: relaxing every group needs no slack above the tolerance, so the conflict is "
            "numerical; check for figures many orders of magnitude apart or extreme (money, GPU counts "
            "and block sizes, MW, covenant ratios)"
        ]
        given = f" with {exc.given}" if exc.given else ""
        hint = [f"{exc.hint[0].upper()}{exc.hint[1:]}."] if exc.hint else []
        if exc.rescuable and exc.hint is None:  # not tried (a rescue tried says why it failed): offered
            does = api.RESCUE_WORDS[exc.rescue_certain]
            hint = [f"--rescue {does}, to evaluate their risk: {command_line()} --rescue"]
        return [f"infeasible{given}: no plan meets every constraint. Constraint groups in conflict:"] + [
            f"  {line}" for line in lines
        ] + hint
    if isinstance(exc, NoPlanFound):
        return [f"error: no plan found: {exc}; raise --time-limit"]
    # an argument the API names with its option beside it, `labels (--label)`, by the option alone
    return [f"error: {exc.typed() if isinstance(exc, InputError) else exc}"]


@contextmanager
def warnings_printed():
    """fleetopt's warnings (:class:`FleetoptWarning`, emitted by the API) printed on stderr as
    ``warning: <message>``, each time, an argument the API names with its option beside it by the
    option alone (as :func:`error_lines` says a refusal's); other warnings as Python shows them."""
    with warnings.catch_warnings():
        warnings.simplefilter("always", FleetoptWarning)
        shown = warnings.showwarning

        def show(message, category, filename, lineno, file=None, line=None):
            if issubclass(category, FleetoptWarning):
                typed = message.typed() if isinstance(message, FleetoptWarning) else message
                err_console.print(f"warning: {typed}", soft_wrap=True)
            else:
                shown(message, category, filename, lineno, file, line)

        warnings.showwarning = show
        yield


@contextmanager
def errors_reported():
    """The one place where errors become messages on stderr and exit codes (README "Exit codes"),
    and fleetopt's warnings lines of their own (:func:`warnings_printed`)."""
    try:
        with warnings_printed():
            yield
    except FleetoptError as exc:
        for line in error_lines(exc):
            err_console.print(line, soft_wrap=True)
        raise typer.Exit(exc.exit_code) from None
    except StoppedAfterWriting as exc:  # the stop was held until the run was written and recorded
        ignore_further_stops()
        err_console.print(stopped_after_writing(exc.path), soft_wrap=True)
        raise typer.Exit(EXIT_INTERRUPTED) from None
    except KeyboardInterrupt:
        ignore_further_stops()
        # after the run was written and recorded (its printout, a report after it): said, not lost
        err_console.print(stopped_after_writing(WRITTEN[-1]) if WRITTEN else "interrupted", soft_wrap=True)
        raise typer.Exit(EXIT_INTERRUPTED) from None
    except OSError as exc:  # a path the file system refuses (too long, unwritable, a file for a folder)
        name = str(exc.filename) if exc.filename is not None else ""
        shown = name if len(name) <= 200 else f"{name[:60]}...{name[-60:]}"  # its end says most
        # a write that fails as a whole (a disk full) names no file
        err_console.print(f"error: cannot use {shown}: {exc.strerror or exc}" if shown else
                          f"error: {exc.strerror or exc}")  # fmt: skip
        raise typer.Exit(InputError.exit_code) from None
