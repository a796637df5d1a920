"""Shared pieces of the command line: the app, consoles, the one error handler, option types, helpers."""

from __future__ import annotations

import decimal
import errno
import logging
import math
import os
import re
import shlex
import shutil
import signal
import sys
import warnings
from collections.abc import Callable
from contextlib import contextmanager, suppress
from dataclasses import replace
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.text import Text
from typer.core import TyperGroup

try:  # typer vendors click from 0.2x on; older versions depend on click itself
    from typer._click import ClickException
    from typer._click.core import ParameterSource
except ImportError:  # pragma: no cover
    from click import ClickException
    from click.core import ParameterSource

from fleetopt import __version__, api
from fleetopt.cli.render.tables import text_console
from fleetopt.core.units import SCALE_SUFFIX_CLASS, SCALE_SUFFIXES
from fleetopt.errors import (
    EXIT_BAD_INPUT,
    EXIT_INFEASIBLE,
    EXIT_INTERNAL,
    EXIT_INTERRUPTED,
    EXIT_NO_PLAN,
    FleetoptError,
    FleetoptWarning,
    InputError,
    StoppedAfterWriting,
)
from fleetopt.evaluate import resources
from fleetopt.evaluate.backend import BACKENDS
from fleetopt.evaluate.engine import AUTO_C_BUILD_PAIR_QUARTERS
from fleetopt.evaluate.jobfolder import EXECUTORS
from fleetopt.evaluate.jobs import WorkerLost
from fleetopt.evaluate.metrics import EVALUATION_RANK_COLUMNS, RANK_COLUMNS
from fleetopt.evaluate.sources import with_run_changes
from fleetopt.milp.build import OBJECTIVES
from fleetopt.milp.diagnose import format_diagnosis
from fleetopt.milp.highs import STOCHASTIC_MIP_GAP
from fleetopt.milp.solve import InfeasibleModel, NoPlanFound
from fleetopt.runs import limits
from fleetopt.runs.files import write_text_atomic
from fleetopt.runs.folder import RunFolder
from fleetopt.runs.kinds import RUN_KINDS
from fleetopt.runs.output_files import (
    OUT_FLAG,
    OUT_OPTION,
    refuse_folder_as_file,
    refuse_output_file,
    refuse_unwritable_file,
)
from fleetopt.runs.registry import Registry
from fleetopt.runs.resume import RESUME_OPTIONS, kept_options, resume_command
from fleetopt.runs.run_files import RunDirError
from fleetopt.schema.edit import ChangeError, changes_behind, last_changes
from fleetopt.schema.issues import ModelError
from fleetopt.schema.loaded_model import LoadedModel
from fleetopt.schema.loading import load_model
from fleetopt.schema.model_changes import model_words
from fleetopt.schema.model_file import DEFAULT_MODEL, bundled_model_names
from fleetopt.schema.shown_values import shown_value
from fleetopt.schema.yaml_reading import holds_no_value, load_yaml


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


def _model_error_lines(exc: ModelError) -> list[str]:
    """Each problem of a model file on a line, 'error: file:line: field: problem'; several with no
    line (an edited model's, whose long name 'tiny.yaml, edited (horizon.quarters, ...)' began each)
    name the model once, 'error: <name>:', each problem on a line of its own below it."""
    lineless = [issue for issue in exc.issues if not issue.line]
    if len(lineless) <= 1:
        return [f"error: {issue.format(exc.source)}" for issue in exc.issues]
    placed = [f"error: {issue.format(exc.source)}" for issue in exc.issues if issue.line]
    return [*placed, f"error: {exc.source}:", *(f"  {issue.format()}" for issue in lineless)]


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
    return [f"error: {_option_alone(str(exc))}"]


# the API's names of an argument with its option beside it, and the option alone that a command names
_OPTIONS_ALONE = {OUT_OPTION: OUT_FLAG, api.LABELS: "--label"}


def _option_alone(message: str) -> str:
    """An API's refusal as the command line says it: an argument named with its option beside it
    (`out (--out) x.txt`, `labels (--label)`) by the option alone, as it was typed."""
    for both, option in _OPTIONS_ALONE.items():
        message = message.replace(both, option)
    return message


@contextmanager
def warnings_printed():
    """fleetopt's warnings (:class:`FleetoptWarning`, emitted by the API) printed on stderr as
    ``warning: <message>``, each time; other warnings as Python shows them."""
    with warnings.catch_warnings():
        warnings.simplefilter("always", FleetoptWarning)
        shown = warnings.showwarning

        def show(message, category, filename, lineno, file=None, line=None):
            if issubclass(category, FleetoptWarning):
                err_console.print(f"warning: {message}", soft_wrap=True)
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
        err_console.print(stopped_after_writing(_WRITTEN[-1]) if _WRITTEN else "interrupted", soft_wrap=True)
        raise typer.Exit(EXIT_INTERRUPTED) from None
    except OSError as exc:  # a path the file system refuses (too long, unwritable, a file for a folder)
        name = str(exc.filename) if exc.filename is not None else ""
        shown = name if len(name) <= 200 else f"{name[:60]}...{name[-60:]}"  # its end says most
        # a write that fails as a whole (a disk full) names no file
        err_console.print(f"error: cannot use {shown}: {exc.strerror or exc}" if shown else
                          f"error: {exc.strerror or exc}")  # fmt: skip
        raise typer.Exit(InputError.exit_code) from None


def one_line_command_help(command) -> None:
    """A command's line in its group's list is its help's first paragraph, on one line (the list
    kept a docstring's line breaks), for ``command`` and its sub-commands, once."""
    if getattr(command, "_fleetopt_one_line", False):
        return
    command._fleetopt_one_line = True
    if command.help and not command.short_help:
        command.short_help = " ".join(command.help.split("\n\n")[0].split())
    for sub in getattr(command, "commands", {}).values():
        one_line_command_help(sub)


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


_NUMBER_EXAMPLES = "write it in digits: 0.05 or 1e-4"
# examples that fit an option (a money option is read by usd_amount, with its own): by a fragment of
# its name as the message quotes it
_OPTION_EXAMPLES = (
    ("-prob'", "write a probability as a fraction: 0.25 for 25 %"),
    ("'--time-limit'", "write it in seconds, in digits: 300 for 5 minutes"),
)
# typer checks an option's type with pydantic, whose words name its own machinery (a whole number's
# are whole_number's own)
_PYDANTIC_WORDS = (
    ("Value error, ", ""),
    ("Input should be a valid number, unable to parse string as a number",
     f"not a number ({_NUMBER_EXAMPLES})"),
)  # fmt: skip


def option_words(message: str) -> str:
    """A bad option's message without pydantic's wording ("Value error, 'x' is not one of ..."); a
    number's examples fit its option (a probability's are fractions, a time limit's seconds)."""
    for theirs, ours in _PYDANTIC_WORDS:
        message = message.replace(theirs, ours)
    for name, examples in _OPTION_EXAMPLES:
        if name in message:
            return message.replace(_NUMBER_EXAMPLES, examples)
    return message


def argument_not_option(exc) -> str | None:
    """For ``--model`` where the model is the command's argument ('No such option: --model (Possible
    options: --help)'): that it is an argument, with the command's usage; else None."""
    name = getattr(exc, "option_name", None)
    ctx = getattr(exc, "ctx", None)
    if not name or ctx is None or not name.startswith("--"):
        return None
    wanted = name[2:].replace("-", "_")
    arguments = [p.name for p in ctx.command.params if p.param_type_name == "argument"]
    if wanted not in arguments:
        return None
    usage = ctx.command.get_usage(ctx).removeprefix("Usage: ").strip()
    return f"no option {name}: the {wanted} is given without it, as an argument ({usage})"


def repeated_option(group, args: list[str]) -> str | None:
    """The first option of one value given more than once in ``args`` (``--plans A --plans B``:
    the parser keeps the last and drops the rest without a word), as an error; else None (and
    None with ``--help``, which wins). Each level of the command tree is parsed by its own parser,
    as the parse proper does: a group's stops at its sub-command, and an option's value is never
    read as an option or a command."""
    if "--help" in args:
        return None
    command, rest = group, list(args)
    while command is not None:
        ctx = type(command).context_class(command, info_name=command.name, resilient_parsing=True)
        try:
            _, rest, order = command.make_parser(ctx).parse_args(args=rest)
        except ClickException:
            return None  # the parse proper reports it
        found = _repeated_in(order)
        commands = getattr(command, "commands", {})
        if found or not rest or rest[0] not in commands:
            return found
        command, rest = commands[rest[0]], rest[1:]
    return None


def _repeated_in(order) -> str | None:
    """The first parameter of one value that ``order`` (the parser's, one entry per use) holds twice."""
    seen: set[str] = set()
    for param in order:
        flag = getattr(param, "is_flag", False)
        if param.param_type_name != "option" or param.multiple or getattr(param, "count", False):
            continue
        if flag and not param.secondary_opts:  # --report twice says the same thing twice
            continue
        if param.name in seen:
            names = " / ".join([max(param.opts, key=len), *param.secondary_opts])
            if flag:
                return f"{names} is given more than once: give one of them once"
            return f"{names} is given more than once: it takes one value (only the last would be used)"
        seen.add(param.name)
    return None


class _ReportingGroup(TyperGroup):
    """The command group that runs every command (sub-groups included) inside errors_reported, and
    reports a bad option or argument as one ``error:`` line (exit 2) rather than a boxed panel."""

    def invoke(self, ctx):
        _WRITTEN.clear()  # this command's runs only (the tests run many commands in one process)
        with errors_reported():
            return super().invoke(ctx)

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        one_line_command_help(self)
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        with output_until_closed():  # a reader gone stops the output, not the run or its exit code
            repeated = repeated_option(self, sys.argv[1:] if args is None else list(args))
            if repeated:
                err_console.print(f"error: {repeated}", soft_wrap=True)
                sys.exit(2)
            try:
                code = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
            except ClickException as exc:
                if type(exc).__name__ == "NoArgsIsHelpError":  # no command: the help, on stdout
                    console.print(exc.ctx.get_help(), markup=False, highlight=False, soft_wrap=True)
                    sys.exit(exc.exit_code)
                if not exc.format_message().strip():  # no command: typer has printed the help itself
                    sys.exit(exc.exit_code)
                where = f" (see `{exc.ctx.command_path} --help`)" if getattr(exc, "ctx", None) else ""
                said = argument_not_option(exc) or option_words(exc.format_message())
                message = f"error: {limits.shortened(said, 300)}{where}"
                err_console.print(message, soft_wrap=True)
                sys.exit(exc.exit_code)
            except typer.Abort:
                ignore_further_stops()
                err_console.print("interrupted")
                sys.exit(EXIT_INTERRUPTED)
            ignore_further_stops()  # the work is done and said: a stop now would only change the exit code
            code = code if isinstance(code, int) else 0
            sys.exit(EXIT_BAD_INPUT if code == 0 and getattr(sys.stdout, "failed", None) else code)


app = typer.Typer(
    cls=_ReportingGroup,
    name="fleetopt",
    help="Plan a GPU fleet (buy, redeploy, retire, power, debt) and test plans against uncertain futures.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    # help as plain text, wrapped to the terminal: Rich's option tables cut option names short
    # ("--max-default-pr…") on an 80-column terminal or in a log
    rich_markup_mode=None,
    # what a batch script reads from a run (README "Exit codes")
    epilog=f"Exit codes: 0 success; {EXIT_INTERNAL} an unexpected internal error; {EXIT_BAD_INPUT} bad input "
    f"(the message names it); {EXIT_INFEASIBLE} an infeasible model; {EXIT_NO_PLAN} no feasible plan within "
    f"the time limit; {EXIT_INTERRUPTED} interrupted (Ctrl-C, SIGTERM, or a worker process killed): an "
    "evaluation or sweep says how to --resume it.",
)


def _version(value: bool) -> None:
    if value:
        console.print(f"fleetopt {__version__}")
        raise typer.Exit()


class _NoErrorForAnInterrupt(logging.Filter):
    """Pyomo's value() logs "ERROR: evaluating object as numeric value" for any exception raised
    while it evaluates, a Ctrl-C's (or SIGTERM's) KeyboardInterrupt too: that is no error, and the
    command's own "interrupted" line follows. Only that record, only for an interrupt, is dropped."""

    def filter(self, record: logging.LogRecord) -> bool:
        interrupted = isinstance(sys.exc_info()[1], KeyboardInterrupt)  # logged in value()'s except
        return not (interrupted and record.getMessage().startswith("evaluating object as numeric value"))


PYOMO_VALUE_LOGGER = "pyomo.common.numeric_types"
_NO_ERROR_FOR_AN_INTERRUPT = _NoErrorForAnInterrupt()


@app.callback()
def main_callback(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    """fleetopt: GPU fleet planning."""
    logging.getLogger(PYOMO_VALUE_LOGGER).addFilter(_NO_ERROR_FOR_AN_INTERRUPT)  # once: a filter is a set


# the CLI's choices, each the list the Python API checks against
Objective = StrEnum("Objective", {name: name for name in OBJECTIVES})
BackendName = StrEnum("BackendName", {name.replace("-", "_"): name for name in BACKENDS})
RunKind = StrEnum("RunKind", {kind: kind for kind in RUN_KINDS})  # fleetopt runs --kind
RankBy = StrEnum("RankBy", {name: name for name in RANK_COLUMNS})  # the sweep's --prefer: NPV figures
# fleetopt evaluate --rank-by: those and P(any default)
EvaluationRankBy = StrEnum("EvaluationRankBy",
                           {name.replace("-", "_"): name for name in EVALUATION_RANK_COLUMNS})
ExecutorName = StrEnum("ExecutorName", {name: name for name in EXECUTORS})


class Format(StrEnum):
    table = "table"
    csv = "csv"
    json = "json"
    markdown = "markdown"
    html = "html"


# ---------------------------------------------------------------- options shared by the commands
# Declared once so that every command spells, limits and explains them the same way.

def path_given(what: str, file: bool = False, check: Callable | None = None):
    """A callback making a path option or argument (--out, --plans, --resume, --purchases, --rerank,
    the runs to report, compare or record) a Path, each of a list one, an empty one refused by name:
    as a Path "" would be ".", the current folder (for a run folder, refused as "already exists and
    is not empty"; for a report, schema or comparison, found only when the computed output failed
    to be written; --plans "" or `compare A ""` read the current folder as a run). ``file``: a name
    ending in a slash, a folder's, is refused too (a Path drops the slash: `--out new/` wrote a
    file named new). ``check``: a :mod:`fleetopt.runs.limits` path check (``file``: out_path), its
    refusal worded as the option's, not as the API's parameter's (the API said 'out', 'path')."""
    check = limits.out_path if file else check

    def callback(value: str | list[str] | None) -> Path | list[Path] | None:
        if value is None:
            return None
        if isinstance(value, list):  # an argument of several (compare's runs, runs add's folders)
            return [callback(one) for one in value]
        if not value.strip():
            raise typer.BadParameter(f"give a {what}, not an empty one")
        if file and value.endswith(("/", os.sep)):
            raise typer.BadParameter(f"{value} ends in a slash, as a folder's name does: give a {what}")
        if check is not None:  # a file written: compare's page was written under a name holding a newline
            try:
                check(what, value)
            except InputError as exc:
                raise typer.BadParameter(str(exc)) from None
        return Path(value)

    return callback


def model_given(value: str | None) -> str | None:
    """The model argument as given; an empty one refused (it read the current folder as a file)."""
    path_given("model file or bundled model name")(value)
    return value


# the bundled models by name, as the help texts list them (models/*.yaml)
BUNDLED_NAMES = ", ".join(bundled_model_names())

ModelArg = Annotated[
    str | None,
    typer.Argument(
        callback=model_given,
        help=f"Model file, or a bundled model name ({BUNDLED_NAMES}). Default: {DEFAULT_MODEL}.",
    ),
]


ChangesOption = Annotated[
    list[str] | None,
    typer.Option(
        "--set",
        metavar="PATH=VALUE",
        help="Change one field of the model for this run, as fleetopt.api.edit does: PATH as `fleetopt "
        "validate` names a field, VALUE in YAML (horizon.discount_rate_annual=0.10, "
        "skus.B200.capex_per_gpu_usd.start=45000, policy.distress_sales=false; a name with a dot in it "
        "in double quotes: 'skus.\"B200.v2\".power_kw_per_gpu=1.9'); VALUE null removes the field, "
        "so its default applies (an empty VALUE is refused); a mapping VALUE changes only the fields "
        "it names (remove the field first, PATH=null, to replace it whole). Repeat it for several, made "
        "in order; the run's model.yaml is the model as changed, and its summary.json's model_changes "
        "lists the changes.",
    ),
]


def load_changed(model: str | Path | None, changes: list[str] | None) -> LoadedModel:
    """The model ``model`` with each ``--set PATH=VALUE`` of ``changes`` made in order
    (:func:`fleetopt.api.edit`); the file's own warnings are those of the model as changed (a field
    the changes mend is not warned of, and none twice). A run's model.yaml carries the changes that run
    made (:func:`with_run_changes`), before those of ``changes``."""
    if not changes:
        return with_run_changes(load_model(model))
    fields = parsed_changes(changes)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FleetoptWarning)
        loaded = with_run_changes(load_model(model))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", FleetoptWarning)
        try:
            edited = api.edit(loaded, fields)
        except ChangeError as exc:
            raise InputError(f"--set {changes[exc.position]!r}: {exc}") from None
        except ModelError as exc:  # named by the --set options behind it, not the model they made
            behind = changes_behind(loaded, fields, [issue.path for issue in exc.issues])
            named = " ".join(f"--set {changes[i]!r}" for i in behind)
            named = named or f"{loaded.source} with the --set options together"  # none behind it alone
            raise ModelError(named, exc.issues) from None
    # a warning's field is seldom the one set (a shorter horizon, a contract's term): all are named
    named = " ".join(f"--set {changes[i]!r}" for i in last_changes(fields))
    _warn_naming_once(edited.source, named, caught)
    return edited


def _refuse_colon_without_space(change: str, value: object, option: str = "--set") -> None:
    """A mapping written without a space after a colon (``{probability:0.5}``) is read by YAML as one
    empty key, 'probability:0.5', which the edit took for a field to remove ('no such field to
    remove'): said as what it is."""
    fused = _fused_key(value)
    if fused is not None:
        name, _, given = fused.partition(":")
        raise InputError(f"{option} {change!r}: {fused!r} reads as one name with no value: in YAML a colon "
                         f"takes a space after it ({name}: {given})")  # fmt: skip


def _fused_key(value: object, above: tuple[int, ...] = ()) -> str | None:
    """The first key of the YAML ``value`` (mappings within lists too) that holds a colon and no value;
    a list or mapping within itself (``&a [*a]``) is not walked again (``above``: those it is in)."""
    if id(value) in above or not isinstance(value, (dict, list)):
        return None
    inner = [*value.values()] if isinstance(value, dict) else value
    if isinstance(value, dict):
        fused = (key for key, item in value.items() if isinstance(key, str) and ":" in key and item is None)
        if (key := next(fused, None)) is not None:
            return key
    return next(filter(None, (_fused_key(item, (*above, id(value))) for item in inner)), None)


def parsed_changes(changes: list[str], option: str = "--set") -> list[tuple[str, object]]:
    """Each ``PATH=VALUE`` of ``changes`` (the command line's ``option``) as a (path, value) pair,
    VALUE read as YAML, as :func:`fleetopt.api.edit` takes them."""
    fields: list[tuple[str, object]] = []
    for change in changes:
        path, equals, text = change.partition("=")
        if not equals or not path.strip():
            raise InputError(f"{option} {change!r}: give PATH=VALUE, a field as `fleetopt validate` names it "
                             "and its value in YAML (horizon.discount_rate_annual=0.10)")  # fmt: skip
        if not text.strip():  # an unset shell variable, most likely: not a silent return to the default
            raise InputError(f"{option} {change!r}: no value after '=': give one, or null to remove the "
                             "field (its default then applies)")  # fmt: skip
        value = _value_read(text, f"{option} {shown_value(change)}")
        if value is None and holds_no_value(text):  # `PATH=#N/A`: a comment, not null written out
            raise InputError(f"{option} {change!r}: no value after '=' (in YAML, # begins a comment and --- "
                             "a document): give one, quoted if it holds a # ('PATH=\"#1\"'), or null to "
                             "remove the field (its default then applies)")  # fmt: skip
        _refuse_colon_without_space(change, value, option)
        fields.append((path.strip(), value))
    return fields


def _value_read(text: str, source: str) -> object:
    """A ``PATH=VALUE``'s VALUE read as YAML (:func:`load_yaml`), whose errors name ``source``, the
    option as given: of a value on one line without a line number (it said "--set 'risk={':1: ")."""
    try:
        return load_yaml(text, source)
    except ModelError as exc:
        if "\n" in text:
            raise
        raise ModelError(source, [replace(issue, line=None) for issue in exc.issues]) from None


def _warn_naming_once(source: str, named: str, caught: list[warnings.WarningMessage]) -> None:
    """The warnings ``caught`` emitted again, those of the model ``source`` (an edited model's
    long name, "tiny.yaml, edited (horizon.quarters, ...)", which began each of them) named by
    ``named`` (the --set options as given, as its errors are), once, each note on a line of its own
    below it where there are several."""
    prefix = f"{source}: "
    own = [str(w.message)[len(prefix) :] for w in caught if str(w.message).startswith(prefix)]
    if len(own) > 1:
        warnings.warn(FleetoptWarning(f"{named}:" + "".join(f"\n  {note}" for note in own)), stacklevel=2)
    elif own:
        warnings.warn(FleetoptWarning(f"{named}: {own[0]}"), stacklevel=2)
    for w in caught:
        if not str(w.message).startswith(prefix):
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)


def say_model_changes(loaded: LoadedModel) -> None:
    """Where the run's model was changed for it (``--set``, kept by a resumed job), say what was
    changed, once, before its results: model.yaml holds the model as changed, not what differs."""
    if loaded.changes or loaded.source_changes:
        words = model_words(loaded.model.name, loaded.changes, loaded.source_changes)
        console.print(Text(f"model: {words}"), soft_wrap=True)


_out_folder = path_given("folder name", check=limits.out_path)
out_file = path_given("file name", file=True)  # report, compare, schema


OutFolderOption = Annotated[
    str | None,  # checked and made a Path by the callback: typer reads "" as Path(".")
    typer.Option(
        "--out",
        callback=_out_folder,
        # the default's name in pieces a help column of 80-column terminal can wrap (it cut it)
        help="Run folder to write (new or empty). Default: a new folder in $FLEETOPT_RUNS_DIR or "
        "./runs, named by the time, the model and the command.",
    ),
]


def checked(check, *bounds, share: bool = False, unit: str = ""):
    """A callback applying one of :mod:`fleetopt.runs.limits`' checks to a number option, so that
    the CLI refuses what the Python API refuses, with the same words (typer's own range check
    refuses NaN as if it were too large and lets inf past a minimum). ``share``: the option is a
    fraction, which a refusal of a value above 1 says (5 read as 5 %); ``unit``: the unit of its number,
    which a refusal names ('must be at least 0.001 (got 0.0)' gave a time limit none)."""

    def callback(value):
        if value is not None:
            try:
                check("", value, *bounds)
            except InputError as exc:
                percent = share and math.isfinite(value) and value >= 1  # 5 for 5 %
                fraction = f": a share is a fraction, {value / 100:g} for {value:g} %" if percent else ""
                counts = f": {unit}" if unit else ""
                raise typer.BadParameter(str(exc).strip() + fraction + counts) from None
        return value

    return callback


def usd_amount(value: str | None) -> float | None:
    """A USD option's value as written: a number (-50000000, -5e7, -50,000,000 with commas between
    groups of three digits), a $ after the sign, and a suffix k, M, B or T (thousand to trillion:
    -$50M, -1.5B)."""
    if value is None:
        return None
    found = _USD_AMOUNT.fullmatch(value.strip())
    amount = None
    if found:
        sign, number, suffix = found.group("sign"), found.group("number"), found.group("suffix")
        amount = float(sign + number.replace(",", "")) * _USD_SUFFIXES[suffix.upper()]
    if amount is None or not math.isfinite(amount):
        example = "e.g. -50000000, -5e7, -50,000,000 or -$50M"
        raise typer.BadParameter(f"not an amount in USD (got {value!r}; {example})")
    return amount


def whole_number(value: str | int) -> int:
    """A whole-number option's value as written: digits (2000), with commas or underscores between
    groups of three (2,000 or 2_000, as every printout writes thousands), or any number that is an
    exact whole one (2.0, 1e3); its range is its callback's to check. A default comes as an int."""
    if isinstance(value, int):
        return value
    text = value.strip()
    found = _WHOLE_NUMBER.fullmatch(text)
    number = decimal.Decimal(re.sub("[,_]", "", text)) if found else None
    if number is not None and number == number.to_integral_value():
        if number.adjusted() > _MOST_DIGITS:
            raise typer.BadParameter(f"too large a number (got {value!r})")
        return int(number)
    grouped = re.search("[,_]", text)
    groups = ": commas or underscores go between groups of three digits" if grouped else ""
    raise typer.BadParameter(f"not a whole number (got {value!r}{groups}, e.g. 2000, 2,000 or 2_000)")


# digits, grouped in threes by commas or by underscores, or a number to check for a whole one
_WHOLE_NUMBER = re.compile(
    r"[+-]?(?:\d{1,3}(?:,\d{3})+|\d{1,3}(?:_\d{3})+|(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)", re.ASCII
)
_MOST_DIGITS = 100  # 1e1000000 is refused, not turned into a million-digit int


_USD_SUFFIXES = {"": 1.0} | {suffix: 10.0**power for suffix, power in SCALE_SUFFIXES.items()}
_USD_AMOUNT = re.compile(
    r"(?P<sign>[+-]?)\$?(?P<number>\d{1,3}(?:,\d{3})+(?:\.\d+)?|(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)"
    rf"(?P<suffix>{SCALE_SUFFIX_CLASS}?)"
)


ReportFlag = Annotated[
    bool, typer.Option("--report/--no-report", help="Also write report.html in the run folder.")
]
# evaluate and sweep: their jobs keep --report for a resume
ResumableReportFlag = Annotated[
    bool,
    typer.Option(
        "--report/--no-report",
        help="Also write report.html in the run folder (--no-report overrides a --report a resumed run "
        "started with).",
    ),
]
ScenariosOption = Annotated[
    int,
    typer.Option(
        "--scenarios",
        parser=whole_number,
        callback=checked(limits.whole, 1),
        help="Number of simulated futures, the same for every plan.",
    ),
]
SeedOption = Annotated[
    int,
    typer.Option(
        "--seed",
        parser=whole_number,
        callback=checked(limits.seed),
        help="Scenario seed: the same seed gives the same scenarios.",
    ),
]
BackendOption = Annotated[
    BackendName,
    typer.Option(
        "--backend",
        help="Evaluation backend. auto: CuPy when it can use a CUDA GPU (except for a run NumPy finishes "
        "before CuPy has started); else the fused kernel compiled as "
        f"C for runs of at least {AUTO_C_BUILD_PAIR_QUARTERS / 1e6:g} million plan-scenario-quarters where a "
        "C compiler builds it; else NumPy "
        "(the run's device line says why, when CuPy is installed but unusable or the C build fails); "
        "cpu-kernel: the fused kernel compiled as C.",
    ),
]
ThreadsOption = Annotated[
    int | None,
    typer.Option(
        "--threads",
        parser=whole_number,
        callback=checked(limits.whole, 1),
        help="Threads for MILP solves (default: HiGHS decides) and for NumPy evaluation "
        "(default: one per usable core).",
    ),
]
EvaluateThreadsOption = Annotated[
    int | None,
    typer.Option(
        "--threads",
        parser=whole_number,
        callback=checked(limits.whole, 1),
        help="NumPy threads of the evaluation (default: one per usable core); not with --workers above 1 "
        "or --executor ray, whose workers run one thread each.",
    ),
]


TimeLimitOption = Annotated[
    float | None,
    typer.Option(
        "--time-limit",
        callback=checked(limits.number, limits.MIN_TIME_LIMIT, unit="a time limit is in seconds"),
        help=f"Stop each MILP's search (HiGHS) after this many seconds (at least {limits.MIN_TIME_LIMIT}) "
        "and keep the best plan found; building the model, handing it to HiGHS and the LP that settles the "
        "plan's operations (docs/formulation.md §6a) come on top.",
    ),
]
MipGapOption = Annotated[
    float,
    typer.Option(
        "--mip-gap",
        callback=checked(limits.number, 0.0, limits.MAX_MIP_GAP, share=True),
        help=f"Relative MILP optimality gap to stop at, in [0, {limits.MAX_MIP_GAP}]; a stochastic "
        f"solve's (--stochastic) is {STOCHASTIC_MIP_GAP} unless this is given.",
    ),
]
# `solve --stochastic N` and `sweep --stochastic N` alike (the sweep's stochastic candidate)
SharePurchasesFlag = Annotated[
    bool,
    typer.Option(
        "--share-purchases",
        help="With --stochastic: every GPU purchase, power block and debt draw of the horizon is shared "
        "by the scenarios, as the evaluator runs a plan's, while each re-plans its prepayments, "
        "retirements, moves to inference, its purchases' split between training and inference and its "
        "operations after the first stage (a larger solve than the default, a smaller one than a first "
        "stage of the whole horizon; formulation §7b).",
    ),
]
ProbabilityLimit = checked(limits.number, 0.0, 1.0, share=True)
MaxBreachProbOption = Annotated[
    float | None,
    typer.Option(
        "--max-breach-prob",
        callback=ProbabilityLimit,
        help="Only plans with at most this covenant-breach probability, in [0, 1].",
    ),
]
ResumeOption = Annotated[
    str | None,  # made a Path by the callback: typer reads "" as Path("."), the current folder
    typer.Option(
        "--resume",
        callback=path_given("run folder or run id"),
        help="Finish an interrupted run in this run folder (or run id): only what it had not saved (a "
        "sweep's candidates, evaluation chunks) is computed. The --report and ranking options it was "
        "started with apply again; one given now replaces its own.",
    ),
]


def given(ctx: typer.Context, name: str) -> bool:
    """Whether the user gave parameter ``name`` (on the command line or in the environment), even
    at its default value."""
    return ctx.get_parameter_source(name) in (ParameterSource.COMMANDLINE, ParameterSource.ENVIRONMENT)


def stochastic_gap(ctx: typer.Context, mip_gap: float) -> float:
    """A stochastic solve's gap: ``--mip-gap`` where given, else the Python API's 1 % (at a
    deterministic solve's 0.5 % the default model's stochastic search found no plan in 15 minutes)."""
    return mip_gap if given(ctx, "mip_gap") else STOCHASTIC_MIP_GAP


def option_names(ctx: typer.Context, names) -> list[str]:
    """Parameters as the user types them: --mip-gap, MODEL."""
    by_name = {param.name: param for param in ctx.command.params}
    return [
        by_name[n].opts[0] if isinstance(by_name[n], typer.core.TyperOption) else n.upper() for n in names
    ]


def refuse_unless(ctx: typer.Context, names, condition: bool, why: str) -> None:
    """Refuse the parameters of ``names`` the user gave when ``condition`` does not hold: an option
    that cannot apply is refused by name, never silently ignored."""
    named = [n for n in names if given(ctx, n)]
    if named and not condition:
        raise InputError(f"{', '.join(option_names(ctx, named))} {why}")


def refuse_without_stochastic(ctx: typer.Context, names) -> None:
    """The options of ``names`` that only a two-stage solve reads (`solve`'s, `sweep`'s
    --share-purchases), refused by name where --stochastic N is not given."""
    refuse_unless(ctx, names, ctx.params["stochastic"] is not None, "cannot apply without --stochastic N")


def refuse_with_resume(ctx: typer.Context, still_apply: tuple[str, ...] = ()) -> None:
    """--resume finishes a run with the settings it was started with (its job.json): an option or
    argument given beside it that cannot apply is refused by name, never silently ignored.
    ``still_apply``: the parameters that do apply to a resumed run (what is printed, --report)."""
    others = [p.name for p in ctx.command.params if p.name not in (*still_apply, "resume")]
    refuse_unless(
        ctx, others, False, f"cannot apply with --resume, which finishes a run with the settings it "
        f"started with (its {RunFolder.JOB}): drop them",
    )  # fmt: skip


def capped_threads(threads: int | None) -> int | None:
    """--threads, at most the cores this process may use, with a warning
    (:func:`fleetopt.evaluate.resources.capped_threads`, which the Python API applies too)."""
    return resources.capped_threads(threads, "--threads")


def capped_workers(workers: int, executor: str) -> int:
    """--workers, at most the cores this process may use, with a warning
    (:func:`fleetopt.evaluate.resources.capped_workers`, which the Python API applies too)."""
    return resources.capped_workers(workers, executor, "--workers")


def _raise_interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


_THE_COMMAND: list[bool] = []  # set by stop_on_sigterm: this process is the `fleetopt` command (main())


def stop_on_sigterm() -> None:
    """SIGTERM (a batch system's or `docker stop`'s stop) is a Ctrl-C for every command: a folder a
    run has claimed but not written is released, and the exit code is 130, not 143."""
    signal.signal(signal.SIGTERM, _raise_interrupt)
    _THE_COMMAND.append(True)


def ignore_further_stops() -> None:
    """Once a stop is being reported, the `fleetopt` command only exits: a second Ctrl-C or SIGTERM
    (a batch system's or `timeout`'s second signal) would print a second line, or a traceback from
    the exit itself (worker processes and threads shutting down). Ignored from then on; not in a
    program that runs the CLI in its own process (the tests), whose signals stay its own."""
    if _THE_COMMAND:
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, signal.SIG_IGN)


def command_line() -> str:
    """The command as typed: what the run registry records for a run written by the CLI."""
    return " ".join(["fleetopt", shlex.join(sys.argv[1:])]) if sys.argv[1:] else "fleetopt"


# the run folders this command has written and recorded (a stop after it says they are kept)
_WRITTEN: list[Path] = []


def say_written(path: Path, notes: dict[str, str] | None = None) -> None:
    """'wrote FOLDER (FILES): run ID', for a run written and recorded through the API: every file the
    folder holds, each with its ``notes`` ("plan.npz with the forecast optimum")."""
    _WRITTEN.append(path)
    notes = notes or {}
    files = sorted(p.name for p in path.iterdir() if p.is_file() and not p.name.startswith("."))
    listed = ", ".join(f"{name} {notes[name]}" if name in notes else name for name in files)
    # never wrapped: a script reads "run N" on the line that says "wrote" (output piped or redirected)
    console.print(marked("wrote ", (str(path), "bold"), f" ({listed}): run {api.run_id(path)}"),
                  soft_wrap=True)  # fmt: skip


def finished_already(run: RunFolder, kind: str, report: bool) -> bool:
    """Whether ``run`` is a finished job of ``kind`` (evaluate, sweep), said so: a batch job retried
    after its run ended (a lost node, a wrapper's second try) then exits 0 as the run did, not 2 as
    bad input does. What a kill cut short is done now: the record of one killed while it was being
    recorded, the clean-up of one killed after, and its report.html where ``report`` (--report,
    given or kept) asks for one. False for any other folder (its resume says what it is)."""
    if not (run.is_finished and run.is_job and run.job().get("kind") == kind):
        return False
    what = "evaluation" if kind == "evaluate" else kind
    gone = run.results_missing(kind)
    if gone:  # it was "finished, nothing to resume" and exit 0, the results lost unsaid
        raise RunDirError(f"{run.path}: this {what} finished, but its {' and '.join(gone)} "
                          f"{'is' if len(gone) == 1 else 'are'} gone (removed or moved since): nothing to "
                          f"resume; run the {what} again into a new folder")  # fmt: skip
    try:  # a damaged one was "already finished", exit 0, pointing to `runs add`, which refuses it
        run.summary()
    except RunDirError as exc:
        raise RunDirError(f"{run.path}: this {what} finished, but {exc}") from None
    number = api.recorded_run_id(run.path)
    if number is None and run.left_untidy:  # killed while it was being recorded: as `runs add` does
        number = api.record_run(run.path, f"unknown (recorded afterwards by {command_line()})")
        done = f"recorded now as run {number}: fleetopt runs show {number}"
    elif number is None:  # forgotten on purpose (`fleetopt runs forget`)
        done = f"not in the registry: fleetopt runs add {run.path} records it"
    else:
        if run.left_untidy and not run.running_pid():  # killed once recorded, before its clean-up
            with run.held_while_tidied():
                pass
        done = f"run {number}: fleetopt runs show {number}"
    console.print(f"{run.path}: this {what} already finished ({done}); nothing to resume", soft_wrap=True,
                  highlight=False)  # fmt: skip
    finish_report(run.path, report and not (run.path / RunFolder.REPORT).exists())
    return True


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


def stopped_after_writing(path: Path) -> str:
    """What a stop once the run is written and recorded says: the run is kept, and where."""
    return f"interrupted after the run was written to {path} and recorded (fleetopt runs)"


# ctx.meta: the options a resume took from its job.json (apply_kept_options)
_KEPT = "fleetopt.kept_options"


def apply_kept_options(ctx: typer.Context, run: RunFolder, names: tuple[str, ...]) -> None:
    """A resume ends as the run would have: each option of ``names`` not given now takes the value
    the stopped run's job.json keeps for it (:data:`RESUME_OPTIONS`: --report, a ranking), as if
    typed again; one given now replaces the kept one. The caller reads them from ``ctx.params``."""
    every = {opt: param for param in ctx.command.params for opt in (*param.opts, *param.secondary_opts)}
    tokens = iter(kept_options(run.path))
    for token in tokens:
        param = every.get(token)
        if param is None or param.name not in names or given(ctx, param.name):  # given now: its own
            if param is not None and not param.is_flag:
                next(tokens, None)  # and its value
            continue
        typed = None if param.is_flag else next(tokens, None)
        try:
            value = token in param.opts if param.is_flag else param.process_value(ctx, typed)
        except ClickException as exc:
            where = f"{run.path / RunFolder.JOB}: its {RESUME_OPTIONS} give {token} {typed!r}"
            raise InputError(f"{where}, which a resume cannot apply ({exc.format_message()})") from None
        ctx.params[param.name] = value
        ctx.meta.setdefault(_KEPT, set()).add(param.name)


def options_again(ctx: typer.Context, names: tuple[str, ...]) -> list[str]:
    """The options among ``names`` the user gave (or a resume took from job.json:
    :func:`apply_kept_options`), as they would be typed again: what a resume must be given for the
    run to end as it would have (--report, a ranking), job.json keeping only the run's own settings."""
    by_name = {param.name: param for param in ctx.command.params}
    kept = ctx.meta.get(_KEPT, set())
    typed: list[str] = []
    for name in (n for n in names if given(ctx, n) or n in kept):
        param, value = by_name[name], ctx.params[name]
        if param.is_flag:
            typed += [param.opts[0]] if value else list(param.secondary_opts[:1])
        else:
            typed += [param.opts[0], str(getattr(value, "value", value))]
    return typed


def kept_for_resume(run: RunFolder, again: tuple[str, ...]) -> tuple[str, ...] | None:
    """Keep ``again`` in a stopped job's job.json for its resume command (:func:`resume_command`
    gives them, `fleetopt runs` too): None once they are there (or there is nothing to keep);
    where job.json cannot take them (a full disk), the options to give instead of its own."""
    if not again or not run.is_job or run.is_finished:
        return None
    try:
        job = run.job()
        if job.get(RESUME_OPTIONS) != list(again):
            run.write_job({**job, RESUME_OPTIONS: list(again)})
    except (OSError, InputError):
        return again
    return None


def _finish_command(run: RunFolder, command: str, again: tuple[str, ...]) -> str:
    """The resume command of a stopped job, with ``again`` kept in its job.json or, where they
    cannot be kept there, given in place of its own (never both: an option twice is refused)."""
    instead = kept_for_resume(run, again)
    return resume_command(command, run.path, *(instead or ()), kept=instead is None)


def stopped_message(run: RunFolder, command: str, again: tuple[str, ...] = ()) -> str:
    """What a stop of a run in ``run`` says: where its results are, or what it saved and how to
    finish it (:func:`_finish_command`, with ``again``), or that it saved nothing."""
    if run.is_finished:
        return stopped_after_writing(run.path)
    if run.is_job:
        finish = _finish_command(run, command, again)
        return f"interrupted: {api.saved_work(run.path)} saved in {run.path}; finish with: {finish}"
    return "interrupted before anything was saved: run it again"


@contextmanager
def interruptible(folder: Path | Callable[[], Path | None], command: str, again: tuple[str, ...] = ()):
    """SIGTERM behaves like Ctrl-C; either stops the run with a message saying what is saved and
    how to finish it (:func:`stopped_message`). ``folder``: the run's folder, or a function giving
    it once the API has claimed it (None until then: a stop before is reported as any other)."""
    previous = signal.signal(signal.SIGTERM, _raise_interrupt)
    try:
        yield
    except StoppedAfterWriting:  # the run is kept: errors_reported says so
        raise
    except KeyboardInterrupt:
        if (run := _run_in(folder)) is None:
            raise
        ignore_further_stops()
        err_console.print(stopped_message(run, command, again), soft_wrap=True)
        raise typer.Exit(EXIT_INTERRUPTED) from None
    except WorkerLost as exc:  # a worker killed (out of memory): what was saved can still be finished
        if (run := _run_in(folder)) is None or not run.is_job or run.is_finished:
            raise
        finish, saved = _finish_command(run, command, again), api.saved_work(run.path)
        err_console.print(
            f"error: {exc}: {saved} saved in {run.path}; finish with: {finish} ({exc.remedy})",
            soft_wrap=True,
        )
        raise typer.Exit(exc.exit_code) from None
    except OSError as exc:  # a disk full, a folder gone: what was saved can still be finished
        run = _run_in(folder)
        if run is None or not run.is_job or run.is_finished:  # a finished run's report: errors_reported
            raise  # names the file
        where = f" ({exc.filename})" if exc.filename else ""
        finish, saved = _finish_command(run, command, again), api.saved_work(run.path)
        err_console.print(
            f"error: {exc.strerror or exc}{where} while the run wrote to {run.path}: {saved} saved "
            f"there; once that is fixed, finish with: {finish}",
            soft_wrap=True,
        )
        raise typer.Exit(InputError.exit_code) from None
    finally:
        if signal.getsignal(signal.SIGTERM) is _raise_interrupt:  # not once further stops are ignored
            signal.signal(signal.SIGTERM, previous)


def _run_in(folder: Path | Callable[[], Path | None]) -> RunFolder | None:
    """:func:`interruptible`'s run folder, if there is one yet."""
    path = folder() if callable(folder) else folder
    return None if path is None else RunFolder(path)
