"""Values quoted in messages: cut short where huge, and in JSON's words (null, true, false) where they
were read from a run's JSON file (:func:`quoting_json`).
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import re

from fleetopt.core.units import counted

# whether shown_value quotes values read from a JSON file (set by :func:`quoting_json`)
_QUOTING_JSON: contextvars.ContextVar[bool] = contextvars.ContextVar("quoting_json", default=False)


@contextlib.contextmanager
def quoting_json():
    """Within it, :func:`shown_value` says None, True and False as JSON writes them (null, true,
    false): the values checked are a run's JSON file's, which its reader wrote in those words, not a
    Python caller's."""
    token = _QUOTING_JSON.set(True)
    try:
        yield
    finally:
        _QUOTING_JSON.reset(token)


def shown_value(value: object, at: int = 60) -> str:
    """A value as written (its repr; JSON's null, true and false within :func:`quoting_json`), cut
    so that a huge one (a 1 MB string, a 5,000-digit number) does not flood the message: every error
    message that quotes a value it was given (an int past Python's 4,300 digits to text is said by
    its digit count: its repr raises). Any other value whose repr runs over lines or past ``at``
    characters (a DataFrame's printout) is said by its type and size (:func:`value_described`), so
    that the message stays one line."""
    if isinstance(value, int) and not isinstance(value, bool) and abs(value).bit_length() > 14_000:
        return f"an int of about {int(abs(value).bit_length() * 0.30103):,} digits"
    text = _json_words(value) if _QUOTING_JSON.get() else repr(value)
    if not isinstance(value, _CUT_AS_WRITTEN) and ("\n" in text or len(text) > at):
        return value_described(value, text, at)
    length = len(value) if isinstance(value, str) else len(text)  # a string's own, not its quotes'
    return text if len(text) <= at else f"{text[:at]}... ({length:,} characters)"


def typed_value(value: object, at: int = 60) -> str:
    """``value`` with its type, for a message saying what was given instead: "a float (1.5)", or
    its type and size alone where its repr is long ("a DataFrame of 41 rows x 8 columns")."""
    shown = shown_value(value, at)
    kind = _with_article(type(value).__name__)
    return shown if shown.startswith(kind) else f"{kind} ({shown})"


# values whose long repr is cut where it passes the limit, with its length: text and numbers,
# whose start is what was typed or pasted
_CUT_AS_WRITTEN = (str, bytes, int, float)


def value_described(value: object, text: str, at: int = 60) -> str:
    """A value whose repr (``text``) is too long for a one-line message, by its type and size: "a
    DataFrame of 41 rows x 8 columns", "a Series of 41 values", "a list of 500 items: [1, 2, ...",
    the start of its repr kept where that is one line."""
    kind = _with_article(type(value).__name__)
    shape = getattr(value, "shape", None)
    if isinstance(shape, tuple) and all(isinstance(n, int) for n in shape):
        return f"{kind} of {_shape_words(shape)}"
    try:
        size = f" of {counted(len(value), 'item')}"  # type: ignore[arg-type]
    except TypeError:  # not sized
        size = ""
    return f"{kind}{size}" if "\n" in text else f"{kind}{size}: {text[:at]}..."


def _shape_words(shape: tuple[int, ...]) -> str:
    """An array's or a table's shape in words: 41 rows x 8 columns, 41 values, 2 x 3 x 4 values."""
    if len(shape) == 2:
        return f"{counted(shape[0], 'row')} x {counted(shape[1], 'column')}"
    if len(shape) == 1:
        return counted(shape[0], "value")
    return f"{' x '.join(f'{n:,}' for n in shape)} values"


def _with_article(noun: str) -> str:
    """``noun`` with "a" or "an" as it is said, not as it is spelt: "a UUID", "an int", "an H100",
    "an ndarray", "a one-off"."""
    return f"{'an' if _said_with_a_vowel(noun) else 'a'} {noun}"


# letters whose names are said beginning with a vowel: "an H100", "an SQL", "an NPV"
_VOWEL_SOUNDING_LETTERS = "aefhilmnorsx"
# words begun with a vowel said "you" or "wun" ("a unit", "a UUID", "a one-off"), or with a silent h
_SAID_WITH_A_CONSONANT = ("one", "once", "uni", "uint", "usa", "use", "usu", "uti", "ure", "uri", "uu", "eu",
                          "ewe")
_SILENT_H = ("hour", "honest", "honor", "heir")
# two consonants that begin English words: a noun begun with two others is said letter by letter
# ("ndarray": en-dee-array)
_ONSETS = {"bl", "br", "ch", "cl", "cr", "dr", "dw", "fl", "fr", "gh", "gl", "gn", "gr", "kl", "kn", "kr",
           "ph", "pl", "pr", "ps", "pt", "sc", "sh", "sk", "sl", "sm", "sn", "sp", "sq", "st", "sw", "th",
           "tr", "ts", "tw", "vl", "wh", "wr"}  # fmt: skip


def _said_with_a_vowel(noun: str) -> bool:
    """Whether ``noun`` is said beginning with a vowel sound: an initialism ("H100", "URL", "NPV", the
    capitals before "Error" in "HTTPError") by its first letter's name, unless it reads as a word
    (with a vowel after its first letter: "UUID", "NASA"); a word by its first letters."""
    capitals = re.match(r"[A-Z]+(?![a-z])|[A-Z](?=\d)", noun)
    word = noun.lower()
    spelt = capitals is not None and not re.search("[AEIOU]", capitals.group()[1:])
    two = word[:2]
    if spelt or (len(two) == 2 and not set(two) & set("aeiouy") and two not in _ONSETS):
        return word[:1] in _VOWEL_SOUNDING_LETTERS
    if word.startswith(_SILENT_H):
        return True
    return word[:1] in "aeiou" and not word.startswith(_SAID_WITH_A_CONSONANT)


def shown_json_value(value: object, at: int = 60) -> str:
    """:func:`shown_value` of a value a run's JSON file holds: null, true and false in JSON's words."""
    with quoting_json():
        return shown_value(value, at)


def _json_words(value: object) -> str:
    """``value``'s repr with JSON's words for None, True and False, in a list or object too."""
    if value is None or isinstance(value, bool):
        return json.dumps(value)
    if isinstance(value, list):
        return f"[{', '.join(map(_json_words, value))}]"
    if isinstance(value, dict):
        return f"{{{', '.join(f'{_json_words(k)}: {_json_words(v)}' for k, v in value.items())}}}"
    return repr(value)
