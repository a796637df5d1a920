"""A public function's arguments checked before it runs: a misspelt keyword (``n_scenarios=``), one
too many by position or a required one missing is an InputError naming it and the keyword most likely
meant, as a :class:`~fleetopt.sweep.rule.Rule`'s unknown field is, not Python's TypeError."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Mapping
from difflib import get_close_matches
from typing import TypeVar

from fleetopt.errors import InputError

F = TypeVar("F", bound=Callable)


def arguments_checked(elsewhere: Mapping[str, str] | None = None) -> Callable[[F], F]:
    """``function`` refusing arguments its signature lacks; ``elsewhere``: where a keyword it does
    not take belongs instead ("prefer": "a field of the rule"), said in place of a guess."""

    def decorate(function: F) -> F:
        signature = inspect.signature(function)

        @functools.wraps(function)
        def checked(*args, **kwargs):
            try:
                signature.bind(*args, **kwargs)
            except TypeError as exc:  # raised here, before the call: not from inside the function
                refusal = _refusal(function.__name__, signature, kwargs, exc, elsewhere or {})
                raise InputError(refusal) from None
            return function(*args, **kwargs)

        return checked  # type: ignore[return-value]

    return decorate


def _refusal(name: str, signature: inspect.Signature, kwargs: dict, exc: TypeError, elsewhere) -> str:
    """The one line that says which argument of ``fleetopt.api.NAME`` is wrong, and what it takes."""
    takes = ", ".join(signature.parameters)
    unknown = [key for key in kwargs if key not in signature.parameters]
    if not unknown:
        by_position = [p.name for p in signature.parameters.values() if p.kind == p.POSITIONAL_OR_KEYWORD]
        if str(exc) == "too many positional arguments":  # say how many it takes so, and what to do
            return (f"fleetopt.api.{name} takes at most {len(by_position)} arguments by position "
                    f"({', '.join(by_position)}): name the others (its arguments: {takes})")
        return f"fleetopt.api.{name}: {exc} (its arguments: {takes})"
    key = unknown[0]
    if key in elsewhere:
        return f"fleetopt.api.{name} has no argument {key!r}: {elsewhere[key]}"
    # a name misspelt by a letter or two first (scenario: scenarios), then one the key is a word of (seed:
    # scenario_seed, where the nearest spelling is screen), then the nearest, as a field's is matched
    names = list(signature.parameters)
    worded = [p for p in names if key in p.split("_") and p != key]
    near = get_close_matches(key, names, 1, 0.8) or worded[:1] or get_close_matches(key, names, 1, 0.6)
    meant = f": did you mean {near[0]!r}?" if near else ""
    return f"fleetopt.api.{name} has no argument {key!r}{meant} (its arguments: {takes})"
