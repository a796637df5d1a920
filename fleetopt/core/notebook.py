"""What a notebook's cell shows of a result (``_repr_markdown_``, ``_repr_html_``): text escaped so that it
shows as written, and tables of formatted cells."""

from __future__ import annotations

import html
import unicodedata

import pandas as pd

# what Markdown reads as markup: a label's * or _ became emphasis, a | split a table's row, ~~ struck
# it through, an & began an entity ("R&amp;D" showed "R&D"), and a notebook (JupyterLab, GitHub's
# Markdown too) typeset the text between two $ as mathematics
MARKDOWN_SPECIAL = {c: "\\" + c for c in "\\|*_`[]<>#$~&"}


def _markdown_char(ch: str) -> str:
    """One character as Markdown shows it as written: its markup escaped; a newline or another
    control character as its Python escape (``\\n``), which kept in a table's cell split its row."""
    if ch in MARKDOWN_SPECIAL:
        return MARKDOWN_SPECIAL[ch]
    if unicodedata.category(ch) == "Cc":
        return ch.encode("unicode_escape").decode("ascii").replace("\\", "\\\\")
    return ch


def markdown_text(text) -> str:
    """``text`` with Markdown's own characters escaped, to show as written, on one line."""
    return "".join(_markdown_char(ch) for ch in str(text))


def markdown_table(frame: pd.DataFrame) -> str:
    """``frame``'s cells as given (formatted first: $1.23B, 12.3%), each escaped, under its column
    names; "(none)" for a frame without rows."""
    if frame.empty:
        return "(none)"
    head = "| " + " | ".join(markdown_text(c) for c in frame.columns) + " |"
    rule = "|" + "---|" * len(frame.columns)
    rows = ["| " + " | ".join(markdown_text(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join([head, rule, *rows])


def html_text(text) -> str:
    """``text`` escaped for HTML, each $ in an element of its own: JupyterLab typesets the text
    between two $ of an HTML output as mathematics (an escaped &#36; too), not across elements."""
    return html.escape(str(text)).replace("$", "<span>$</span>")
