"""What a notebook's cell shows of a result (``_repr_markdown_``, ``_repr_html_``): text escaped so that it
shows as written, and tables of formatted cells."""

from __future__ import annotations

import html

import pandas as pd

# what Markdown reads as markup: a label's * or _ became emphasis, a | split a table's row, and a
# notebook (JupyterLab, GitHub's Markdown too) typeset the text between two $ as mathematics
MARKDOWN_SPECIAL = str.maketrans({c: "\\" + c for c in "\\|*_`[]<>#$"})


def markdown_text(text) -> str:
    """``text`` with Markdown's own characters escaped, to show as written."""
    return str(text).translate(MARKDOWN_SPECIAL)


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
