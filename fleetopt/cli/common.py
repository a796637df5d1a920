"""The `fleetopt` app: the command group that runs every command inside the one error handler and reports
a bad command line as one line, --version, and the log filter the commands share."""

from __future__ import annotations

import logging
import sys
from typing import Annotated

import typer
from typer.core import TyperGroup

from fleetopt import __version__
from fleetopt.cli.click_names import ClickException
from fleetopt.cli.consoles import console, err_console, output_until_closed
from fleetopt.cli.error_report import errors_reported
from fleetopt.cli.parse_errors import argument_not_option, option_words, repeated_option
from fleetopt.cli.stops import ignore_further_stops
from fleetopt.cli.written import WRITTEN
from fleetopt.errors import EXIT_BAD_INPUT, EXIT_INFEASIBLE, EXIT_INTERNAL, EXIT_INTERRUPTED, EXIT_NO_PLAN
from fleetopt.runs import limits


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


class _ReportingGroup(TyperGroup):
    """The command group that runs every command (sub-groups included) inside errors_reported, and
    reports a bad option or argument as one ``error:`` line (exit 2) rather than a boxed panel."""

    def invoke(self, ctx):
        WRITTEN.clear()  # this command's runs only (the tests run many commands in one process)
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
