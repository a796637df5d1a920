"""Plan labels a comparison prints: unique, and two plans' differences written in place (`both_sides`)."""

from __future__ import annotations

import re

from fleetopt.evaluate.planfile import numbered

# a what-if's text (a definition, a row's name) differing in a few words says them in place ("a
# discount rate of 15% (“A”) or 10% (“B”) a year"), else it is given whole for each side
WORDS_IN_PLACE = 4


# a text's words, the spaces between them and the punctuation that ends one ("1.4x;": "1.4x", ";")
_PIECES = re.compile(r"(\s+|[;,:.](?=\s|$))")


def both_sides(text: str, other: str, a: str, b: str) -> str:
    """One text of a what-if's two sides (a definition, a row's name), ``a``'s ``text`` and ``b``'s
    ``other``: the words that differ in place where they are a few, else each side's whole."""
    if text == other:
        return text
    x, y = ([piece for piece in _PIECES.split(words) if piece] for words in (text, other))
    start = _common(x, y)
    end = _common(x[start:][::-1], y[start:][::-1])  # the pieces after, counted from the end
    ours, theirs = "".join(x[start:len(x) - end]), "".join(y[start:len(y) - end])
    if start and 0 < len(ours.split()) <= WORDS_IN_PLACE and 0 < len(theirs.split()) <= WORDS_IN_PLACE:
        return f"{''.join(x[:start])}{ours} ({a}) or {theirs} ({b}){''.join(x[len(x) - end:])}"
    return f"{a}: {text} {b}: {other}"


def _common(x: list[str], y: list[str]) -> int:
    """How many words ``x`` and ``y`` share from their start."""
    return next((n for n, (u, v) in enumerate(zip(x, y, strict=False)) if u != v), min(len(x), len(y)))


# the columns of the figures table besides the plans' own (Comparison.tables), and what joins two
# labels in a difference's header: a plan named so would overwrite a column, or read as a difference
RESERVED_LABELS = ("figure", "unit", "better")


DIFFERENCE_SEPARATOR = " − "


def difference_header(plan: str, base: str) -> str:
    """'B − A': the head of a column of plan B's figures less plan A's (a label or its letter)."""
    return f"{plan}{DIFFERENCE_SEPARATOR}{base}"


def unique_labels(labels: list[str]) -> list[str]:
    """``labels`` with a repeated one numbered by its position ("milp", "milp (2)"), unique also
    against the labels already renamed and the table's own columns (a run folder named ``unit``:
    "unit (1)"); a difference's separator in a label becomes a plain hyphen."""
    return numbered([label.replace(DIFFERENCE_SEPARATOR, " - ") for label in labels], RESERVED_LABELS)
