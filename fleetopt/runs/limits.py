"""The limits of a run's settings (scenarios, seed, MIP gap, candidates ...), defined once and
checked alike by the CLI's options, the Python API (fleetopt.api) and a resumed job's job.json.

Each check returns the value as the run uses it or raises :class:`InputError` naming the setting.
"""

from __future__ import annotations

import errno
import inspect
import math
import os
import re
import sys
import unicodedata
from numbers import Integral, Real
from pathlib import PurePath

from fleetopt.errors import Argument, InputError, user_path
from fleetopt.schema.base import NAME_PATTERN, NAME_RULE
from fleetopt.schema.shown_values import quoting_json, shown_value

MAX_SEED = 2**63 - 1  # the scenario streams take a signed 64-bit seed
MAX_SCENARIO = 2**63 - 1  # and number each scenario by a signed 64-bit int
MAX_MIP_GAP = 0.999  # a relative gap of 1 or more accepts any plan
MIN_TIME_LIMIT = 0.001  # seconds: HiGHS needs some time to find any plan
# scenarios an evaluation, a comparison, a sweep and a stochastic plan's out-of-sample check run
# when none are given: a CVaR5 of 50 scenarios, a standard error of about 3 % of the spread
DEFAULT_SCENARIOS = 1000
# scenarios a stochastic solve screens before the reduction by default (the API's ``screen``; N of
# them where N is more): a sweep's stochastic candidate too (fleetopt.evaluate.sources reads it)
DEFAULT_SCREEN = 200
# the most scenarios N of the extensive form: N >= 200 keeps every screened scenario (no reduction),
# and the reduction's distances (N x N x 10 floats) and the N copies of the model grow past any
# machine long before N reaches, say, a million; 1,000 is five times the default screen
MAX_STOCHASTIC_SCENARIOS = 1000
# the most scenarios screened before the reduction: 100 times the default
MAX_SCREENED = 20_000
# the largest CVaR tail share: a CVaR over more than half the scenarios is nearly their mean, and
# 0.95 is a confidence level (PyPSA's and most texts' alpha) typed where the tail share goes
MAX_TAIL = 0.5
# why a run's file holds a value fleetopt never writes there (its settings or figures are checked as
# written)
DAMAGED = "the file was damaged or edited"
# candidate plans a sweep evaluates at most when no count is given (`--candidates`)
DEFAULT_CANDIDATES = 20

# the settings several modules' refusals name, as the Python API and the command line call them
SEED = Argument("seed", "--seed")
SCENARIOS = Argument("scenarios", "--scenarios")
MODEL = Argument("model", "--model")
SHARE_PURCHASES = Argument("share_purchases", "--share-purchases")
STOCHASTIC = Argument("stochastic", "--stochastic")
WHAT_IF = Argument("what_if", "--what-if")
# a setting a check names: its name (the API's, a file's field), an Argument, or these in a row (an
# Argument and words after it: "plan (--plan), an index")
Name = str | Argument | tuple[str | Argument, ...]


def parts(name: Name) -> tuple[str | Argument, ...]:
    """``name`` as a refusal's parts (:meth:`InputError.naming`)."""
    return name if isinstance(name, tuple) else (name,)


def whole(name: Name, value, low: int | None = None, high: int | None = None) -> int:
    """``value`` as an int in [low, high]; a bool, a float or a string is refused (a float of a whole
    number such as 2.0 told to write it as an int, 2: it is whole, only not an int)."""
    if isinstance(value, float) and value.is_integer():
        raise InputError.naming(*parts(name), f" must be a whole number written as an int: {int(value):d}, "
                                f"not {value!r}")  # fmt: skip
    if isinstance(value, bool) or not isinstance(value, Integral):
        raise InputError.naming(*parts(name), f" must be a whole number (got {shown_value(value)})")
    if (low is not None and value < low) or (high is not None and value > high):
        raise InputError.naming(*parts(name), f" must be {_range(low, high)} (got {shown_whole(value)})")
    return int(value)


def shown_whole(value: int) -> str:
    """A whole number as a message quotes it: with separators, a 5,000-digit one cut short."""
    return f"{int(value):,}" if abs(value) < 10**30 else shown_value(value)


def number(name: Name, value, low: float | None = None, high: float | None = None,
           optional: bool = False) -> float | None:
    """``value`` as a finite float in [low, high]; an int past a float's range (10**400, which
    raised OverflowError) is refused as out of range. None too when ``optional``."""
    if value is None and optional:
        return None
    if isinstance(value, Integral) and not isinstance(value, bool) and abs(value) > sys.float_info.max:
        largest = f"at most {sys.float_info.max:g} in size"
        within = _range(low, high) if (low, high) != (None, None) else largest
        raise InputError.naming(*parts(name), f" must be {within} (got {shown_value(value)})")
    if isinstance(value, bool) or not isinstance(value, Real) or not math.isfinite(value):
        raise InputError.naming(*parts(name), f" must be a finite number (got {shown_value(value)})")
    if (low is not None and value < low) or (high is not None and value > high):
        raise InputError.naming(*parts(name), f" must be {_range(low, high)} (got {shown_value(value)})")
    return float(value)


def finite_number(value) -> bool:
    """Whether ``value`` (read from a run's JSON) is a finite number, not a flag (true is an int to
    Python)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def flag(name: Name, value) -> bool:
    if not isinstance(value, bool):
        raise InputError.naming(*parts(name), f" must be true or false (got {shown_value(value)})")
    return value


def text(name: Name, value, choices: tuple[str, ...] = (), optional: bool = False) -> str | None:
    """A string (one of ``choices`` when given); None too when ``optional``."""
    if value is None and optional:
        return None
    if not isinstance(value, str) or (choices and value not in choices):
        wanted = f"one of {', '.join(choices)}" if choices else "a string"
        raise InputError.naming(*parts(name), f" must be {wanted} (got {shown_value(value)})")
    return value


def control_character(text: str) -> str | None:
    """The first control character of ``text`` (a newline, an escape ...; None: none)."""
    return next((ch for ch in text if unicodedata.category(ch) == "Cc"), None)


def one_line(name: str | Argument, label: str) -> str:
    """``label``, a plan's name, refused (by ``name``) where it holds a newline or another control
    character: a newline split a Markdown table's row in two, an escape reached the terminal as one."""
    if control_character(label) is not None:
        raise InputError.naming(name, " must be one line of text, without control characters "
                                f"(got {label!r})")  # fmt: skip
    return label


def texts(name: str, value) -> list[str]:
    """A list of strings (a run's labels, sentences)."""
    if not (isinstance(value, list) and all(isinstance(item, str) for item in value)):
        raise InputError(f"{name} must be a list of strings (got {shown_value(value)})")
    return value


def model_name(name: Name, value, optional: bool = True) -> str | None:
    """A model's name as its file's ``name:`` gives it and the registry records it ("tiny"); a file
    path ("models/tiny.yaml"), which no name can be, is refused rather than matching no run."""
    text(name, value, optional=optional)
    if value is None or re.match(NAME_PATTERN, value):
        return value
    named = "a model's name, as the name: field of its file gives it (e.g. 'tiny')"
    if "/" in value or value.endswith((".yaml", ".yml", ".json")):
        raise InputError.naming(*parts(name), f" is {named}, not a file (got {shown_value(value)})")
    raise InputError.naming(*parts(name), f" must be {named}: {NAME_RULE} (got {shown_value(value)})")


def path(name: str | Argument, value, optional: bool = True):
    """A file or folder path (a string or a :class:`pathlib.Path`); None too when ``optional``."""
    if value is None and optional:
        return None
    if isinstance(value, (str, PurePath)) and str(value).strip():
        return _usable(name, value)
    if isinstance(value, str):  # it is a string: say what is wrong with it
        raise InputError.naming(name, " is empty: give a path")
    raise InputError.naming(name, f" must be a path, a string or a pathlib.Path (got {shown_value(value)})")


def out_path(name: str | Argument, value, optional: bool = True):
    """A path a run writes (:func:`path`), without a control character: a folder named with a newline
    was written and recorded under that name, splitting each line that shows it."""
    value = path(name, value, optional)
    control = control_character(str(value or ""))
    if control is not None:
        raise InputError.naming(name, f" holds a control character ({control!r}), which a run's folder or "
                                f"file name cannot (got {shown_value(str(value))}): give a name of printable "
                                "characters")  # fmt: skip
    return value


def _usable(name: str | Argument, value):
    """``value`` (a path) when the file system can look it up: one holding a NUL character, or with a
    name longer than it allows (text pasted where a path goes), is refused by ``name``, where Python
    raised ValueError or OSError at its first use (a traceback from the API)."""
    if "\0" in str(value):
        shown = shown_value(str(value))
        raise InputError.naming(name, f" holds a NUL character, which no path can (got {shown})")
    if not utf8(str(value)):  # bytes a UTF-8 terminal or file system did not decode (surrogates)
        raise InputError.naming(
            name, f" is not UTF-8 text (got {shown_value(str(value))}): a run records its folder and the "
            "files it reads by name (the run registry, summary.json) as UTF-8 text, which this name "
            "cannot be; give a name in UTF-8 (or run in a UTF-8 locale, such as LC_ALL=C.UTF-8)"
        )
    try:
        os.stat(user_path(value, name))
    except OSError as exc:  # a path not there yet (an output's) is usable: only a name too long is not
        if exc.errno == errno.ENAMETOOLONG:
            shown = shown_value(str(value))
            raise InputError.naming(name, f" is not a usable path: {exc.strerror} (got {shown})") from None
    return value


def utf8(text: str) -> bool:
    """Whether ``text`` can be written as UTF-8 (not: a name whose bytes Python kept undecoded)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def instance(name: str, value, kind: type, what: str):
    """``value`` when it is a ``kind`` (``what``: where such a value comes from, in words)."""
    if not isinstance(value, kind):
        raise InputError(f"{name} must be {what} (got a value of type {type(value).__name__})")
    return value


# what each callback of the API is called with, as its users write it
CALLBACK_ARGUMENTS = {
    "progress": ("done", "total"), "candidate_progress": ("line",), "on_folder": ("folder",)
}  # fmt: skip


def callback(name: str, value):
    """A function to call (None: none), checked before any work rather than at its first call: one
    that cannot take the arguments it will be given (:data:`CALLBACK_ARGUMENTS`) is refused."""
    if value is not None and not callable(value):
        raise InputError(f"{name} must be a function or None (got {shown_value(value)})")
    arguments = CALLBACK_ARGUMENTS.get(name)
    if value is not None and arguments is not None:
        try:
            signature = inspect.signature(value)
        except (TypeError, ValueError):  # a builtin without one: called as it is
            return value
        try:
            signature.bind(*arguments)
        except TypeError:
            many = f"{len(arguments)} argument" + ("s" if len(arguments) > 1 else "")
            raise InputError(f"{name} must take {many}, as {name}({', '.join(arguments)}) "
                             f"(got a function of {signature})") from None  # fmt: skip
    return value


def _range(low, high) -> str:
    if low is not None and high is not None:
        return f"between {low:,} and {high:,}"
    return f"at least {low:,}" if low is not None else f"at most {high:,}"


def scenarios(name: Name, value) -> int:
    return whole(name, value, 1)


def candidates(name: Name, value) -> int:
    return whole(name, value, 1)


def seed(name: Name, value) -> int:
    return whole(name, value, 0, MAX_SEED)


def next_seed(value: int, steps: int = 1) -> int:
    """The seed ``steps`` after ``value``: of a stochastic solve's out-of-sample scenarios, of a
    sweep's stochastic candidate, of a replication's sample; past MAX_SEED it wraps to 0, so every
    seed a run records is one that its commands take back."""
    return (int(value) + steps) % (MAX_SEED + 1)  # a numpy integer would overflow at MAX_SEED


def stochastic_seed(seed: int) -> int:
    """The seed of the scenarios a sweep of ``seed`` reduces for its stochastic candidate
    (``--stochastic N``): not those it evaluates its candidates on."""
    return next_seed(seed)


def mip_gap(name: str, value) -> float:
    return number(name, value, 0.0, MAX_MIP_GAP)


def threads(name: str, value) -> int | None:
    return None if value is None else whole(name, value, 1)


def time_limit(name: str, value) -> float | None:
    return None if value is None else number(name, value, MIN_TIME_LIMIT)


def solver_settings(gap, limit, n_threads) -> None:
    """The settings every MILP solve takes (solve, the stochastic solve, the sweep's candidates):
    ``mip_gap``, ``time_limit`` and ``threads``, named as the Python API names them."""
    mip_gap("mip_gap", gap)
    time_limit("time_limit", limit)
    threads("threads", n_threads)


def job_setting(settings: dict, path, name: str, check, *args, optional: bool = False, default=None):
    """Setting ``name`` of a run's JSON file (job.json, summary.json; ``path``: the file, or where in
    it ``settings`` is, an entry of candidates.json), checked by ``check`` (a check of this module,
    with ``args``) and named on failure, the value quoted in JSON's words (null, true, false); a
    missing one is refused (the file was damaged or edited) unless ``optional``, when it is
    ``default``; one its check refuses (a null too) is refused as damaged as well: fleetopt wrote it
    checked."""
    if name not in settings:
        if optional:
            return default
        raise InputError(f"{path}: the field {name!r} is missing: {DAMAGED}")
    try:
        with quoting_json():
            return check(f"{path}: {name}", settings[name], *args)
    except InputError as exc:
        raise InputError(f"{exc}: {DAMAGED}") from None


def shortened(text: str, at: int = 60) -> str:
    """A value as the user gave it, cut so that a huge one does not flood the message."""
    return text if len(text) <= at else f"{text[:at]}... ({len(text):,} characters)"


# --max-memory (max_memory from Python): a size with its unit
_MEMORY_UNITS = {
    "B": 1, "KB": 10**3, "MB": 10**6, "GB": 10**9, "TB": 10**12, "PB": 10**15,
    "KIB": 2**10, "MIB": 2**20, "GIB": 2**30, "TIB": 2**40,
    # one letter, as Docker's --memory and Slurm's --mem write them: binary there, so here too
    "K": 2**10, "M": 2**20, "G": 2**30, "T": 2**40,
}  # fmt: skip
# ASCII digits only: '\d' would also take other scripts' digits, which the message does not offer
_MEMORY_TEXT = re.compile(r"^\s*([0-9]+(?:\.[0-9]*)?|\.[0-9]+)\s*([A-Za-z]*)\s*$")
_MEMORY_ACCEPTED = (
    "a size from 1KB to 1PB written like 512MB, 2GB or 1.5GiB "
    "(units B, KB, MB, GB, TB, PB, KiB, MiB, GiB, TiB; K, M, G, T as Docker and Slurm write them: "
    "KiB ... TiB)"
)
_MIN_BUDGET, _MAX_BUDGET = 10**3, 10**15


def memory_size(name: Name, value) -> int | None:
    """A memory budget in bytes (None: the default), ``name`` the setting as the user gave it
    (--max-memory; max_memory from Python, where a whole number of bytes passes too). Only plain
    decimal numbers with a unit pass: 'nanGB', '1e400GB' or '-1GB' are refused with what is accepted,
    and '20' (bytes, megabytes?) is asked for its unit."""
    if value is None:
        return None
    if isinstance(value, Integral) and not isinstance(value, bool):
        return whole((*parts(name), " (a whole number of bytes)"), value, 1)
    if not isinstance(value, str):
        raise InputError.naming(*parts(name), " must be a size such as '2GB' or a whole number of bytes "
                                f"(got {shown_value(value)})")  # fmt: skip
    shown = shortened(value.strip()) or "''"
    match = _MEMORY_TEXT.match(value)
    unit = match.group(2).upper() if match else None
    if match is None or (unit and unit not in _MEMORY_UNITS):
        raise InputError.naming(*parts(name), f" {shown}: expected {_MEMORY_ACCEPTED}")
    if not unit and float(match.group(1)) == 0:  # no unit makes 0 a size: 0MB is as far out of range
        raise InputError.naming(*parts(name), f" {shown} is out of range: expected {_MEMORY_ACCEPTED}")
    if not unit:
        number = shortened(match.group(1))
        raise InputError.naming(*parts(name), f" {shown} has no unit: write one, e.g. {number}MB or "
                                f"{number}GB; expected {_MEMORY_ACCEPTED}")  # fmt: skip
    size = float(match.group(1)) * _MEMORY_UNITS[unit]
    if not _MIN_BUDGET <= size <= _MAX_BUDGET:
        raise InputError.naming(*parts(name), f" {shown} is out of range: expected {_MEMORY_ACCEPTED}")
    return int(size)
