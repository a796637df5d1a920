"""Values quoted in messages: cut short where huge, and in JSON's words (null, true, false) where they
were read from a run's JSON file (:func:`quoting_json`).
"""

from __future__ import annotations

import contextlib
import contextvars
import json

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
    its digit count: its repr raises)."""
    if isinstance(value, int) and not isinstance(value, bool) and abs(value).bit_length() > 14_000:
        return f"an int of about {int(abs(value).bit_length() * 0.30103):,} digits"
    text = _json_words(value) if _QUOTING_JSON.get() else repr(value)
    length = len(value) if isinstance(value, str) else len(text)  # a string's own, not its quotes'
    return text if len(text) <= at else f"{text[:at]}... ({length:,} characters)"


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
