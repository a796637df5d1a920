"""The errors fleetopt reports to its user, one hierarchy rooted in :class:`FleetoptError`.

Each class carries the exit status the command line ends with (see README "Exit codes"), so the
CLI maps every error to its code and message in one place (``fleetopt.cli.error_report.errors_reported``).
The concrete errors live beside the code that raises them and derive from one of these:

- :class:`InputError` (exit 2): ``ModelError`` (schema.issues), ``RunDirError`` (runs.run_files),
  ``RegistryError`` (runs.registry), ``BackendError`` (evaluate.backend), ``PlanFileError``
  (evaluate.batch), ``MemoryBudgetError`` (evaluate.chunking), ``SpillError`` (evaluate.spill),
  ``RayUnavailable`` (evaluate.ray_executor), ``RuleError`` (sweep.rule), ``CompareError`` (compare.sources),
  ``ReportError`` (report.reading);
- :class:`InfeasibleError` (exit 3): ``InfeasibleModel`` (milp.solve);
- :class:`NoPlanError` (exit 4): ``NoPlanFound`` and ``SolverTrouble`` (milp.solve: HiGHS gave up
  for numerical reasons, which is never reported as infeasibility);
- ``WorkerLost`` (evaluate.jobs, exit 130 as an interrupted run): a worker process killed before
  its chunk was done; the run is resumable.

:class:`FleetoptWarning` (a Python warning, not an error) is something the user should know that
does not stop the work: a setting capped to what the machine has, plans made from another version
of their model. The Python API emits it with :func:`warn`, attributed to the caller's own line;
the CLI prints it as ``warning: <message>``, each :class:`Argument` it names by its option alone, as
a refusal's (:class:`NamesArguments`).

This module imports nothing from fleetopt: every layer may import it.
"""

from __future__ import annotations

import os
import sys
import warnings
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Self

EXIT_INTERNAL = 1
EXIT_BAD_INPUT = 2
EXIT_INFEASIBLE = 3
EXIT_NO_PLAN = 4
EXIT_INTERRUPTED = 130


class FleetoptError(Exception):
    """An error fleetopt explains to its user (its message is meant to be read, not a traceback)."""

    exit_code = EXIT_INTERNAL


@dataclass(frozen=True)
class Argument:
    """An argument a refusal names as the Python API and the command line both call it, the API's
    keyword and the command's option: ``labels (--label)``, ``workers=1 (--workers 1)``. The command
    line says the option alone (:meth:`InputError.typed`)."""

    keyword: str
    option: str

    def __str__(self) -> str:
        return f"{self.keyword} ({self.option})"


class NamesArguments:
    """A message of text and the :class:`Argument` s it names (a refusal, a warning): said as the Python
    API says them, ``labels (--label)``, and by the command line with each option alone."""

    # the message in order, text and the arguments it names (:meth:`naming`); none: the message alone
    parts: tuple[str | Argument, ...] = ()

    @classmethod
    def naming(cls, *parts: str | Argument, **fields) -> Self:
        """The message ``parts`` in order, text and the :class:`Argument` s it names, each said as the
        Python API says it: ``InputError.naming(LABELS, " must not be empty")``; ``fields``: the other
        arguments of its class (a MemoryBudgetError's sizes)."""
        named = cls("".join(map(str, parts)), **fields)
        named.parts = parts
        return named

    def message_parts(self) -> tuple[str | Argument, ...]:
        """The message as parts, to name the arguments of a message built around it: its own
        (:meth:`naming`), else its text alone."""
        return self.parts or (str(self),)

    def typed(self) -> str:
        """The message as the command line says it: each argument named by its option alone."""
        return typed_parts(self.parts) if self.parts else str(self)


def typed_parts(parts: tuple[str | Argument, ...]) -> str:
    """A message's ``parts`` as the command line says them: each :class:`Argument` by its option alone."""
    return "".join(part.option if isinstance(part, Argument) else part for part in parts)


class InputError(NamesArguments, FleetoptError):
    """Bad input: a model file, option, run folder or plan file that cannot be used as given."""

    exit_code = EXIT_BAD_INPUT


class InfeasibleError(FleetoptError):
    """A model no plan can satisfy."""

    exit_code = EXIT_INFEASIBLE


class NoPlanError(FleetoptError):
    """The solver stopped before it found any feasible plan."""

    exit_code = EXIT_NO_PLAN


class StoppedAfterWriting(KeyboardInterrupt):
    """A Ctrl-C or SIGTERM held while a finished run was written and recorded, raised once both
    were done (``path``: the run folder): the run is kept, which a bare "interrupted" would hide."""

    def __init__(self, path):
        super().__init__(str(path))
        self.path = path


class FleetoptWarning(NamesArguments, UserWarning):
    """A setting fleetopt changed to what the machine has, or a doubt about a run's inputs; the
    arguments it names said as the Python API says them, and by the command line with each option
    alone (:class:`NamesArguments`), as a refusal's are."""


def warn(*parts: str | Argument) -> None:
    """Emit the message ``parts`` (text and the :class:`Argument` s it names) as a
    :class:`FleetoptWarning` attributed to the first caller outside fleetopt (a notebook cell, a
    script), not to the line of fleetopt that noticed it."""
    frame, level = sys._getframe(0), 1
    while frame is not None and frame.f_code.co_filename.startswith(_PACKAGE):
        frame, level = frame.f_back, level + 1
    warnings.warn(FleetoptWarning.naming(*parts), stacklevel=level)


@contextmanager
def warnings_held():
    """Hold back the warnings of the block until it ends, emitting them then, none where it raises:
    work that may yet be refused (a what-if the plan cannot run under) warns of nothing first."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", FleetoptWarning)
        yield
    for w in caught:
        warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)


def user_path(path: str | os.PathLike, given_by: str | Argument = "") -> Path:
    """``path`` with a leading ``~`` or ``~user`` made that home folder, as a shell makes it. One that
    names none (``~nouser/x``, which a shell passes on as typed; ``~`` without $HOME) is bad input
    naming it (and ``given_by``, the variable that gave it), where pathlib raised RuntimeError: a
    traceback from each command given one."""
    try:
        return Path(path).expanduser()
    except RuntimeError:
        head, named = Path(path).parts[0], (given_by, " ") if given_by else ()
        raise InputError.naming(*named, f"{str(path)!r}: {head} names no home folder on this machine (no "
                                "user of that name, or $HOME unset): write the path in full") from None


_PACKAGE = os.path.dirname(os.path.abspath(__file__)) + os.sep
