"""A run's report as Markdown, for a memo, a wiki or a pull request: the HTML page's own sections
(report/page.py) read back as Markdown, so the two say the same words, figures and tables; each chart
is named where it stands and drawn only in the HTML page."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser

from fleetopt.core.notebook import markdown_text

CHART_WORDS = "drawn in the HTML report (`fleetopt report RUN`)"
# what the page holds for a browser alone: its scripts and styles, the box its scripts' errors show in,
# and the hints to scroll a table sideways or click a header to sort it
_SKIPPED_TAGS = {"script", "style", "template", "head"}
_SKIPPED_CLASSES = {"hint"}
_HEADINGS = {"h1": "#", "h2": "##", "h3": "###", "h4": "####"}
_BLOCKS = {"p", "footer", "pre", "figcaption", "caption"}
LINE_BREAK = "\\\n"  # CommonMark's hard line break (two spaces before the newline: an editor strips them)
_EMPHASIS = {"b": "**", "strong": "**", "i": "*", "em": "*"}


@dataclass
class _Table:
    head: list[list[str]] = field(default_factory=list)
    body: list[list[str]] = field(default_factory=list)
    in_head: bool = False

    def markdown(self) -> str:
        rows = self.head + self.body
        if not rows:
            return ""
        width = max(len(row) for row in rows)
        rows = [row + [""] * (width - len(row)) for row in rows]
        head, *body = rows
        lines = ["| " + " | ".join(head) + " |", "|" + "---|" * width]
        return "\n".join(lines + ["| " + " | ".join(row) + " |" for row in body])


class _PageReader(HTMLParser):
    """Markdown blocks of a report page's ``<main>``: headings, paragraphs, lists, definition lists
    (as lists of "**term**: text"), the key-figure tiles (as lists of "label: **figure**"), tables (as
    pipe tables, one line a row) and each chart as a line naming it."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.blocks: list[str] = []
        self._text: list[str] | None = None  # the inline text being gathered, None between blocks
        self._prefix = ""
        self._skip: list[str] = []  # the open tags whose content is left out (nested: a chart's own tags)
        self._table: _Table | None = None
        self._row: list[str] | None = None
        self._kpi: dict[str, list[str]] | None = None
        self._kpi_part = ""
        self._in_main = False
        self._figures = False  # in a list of key figures (dl.figures): its figures bold, as its tiles'

    # ---------------------------------------------------------------- tags
    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if self._skip:
            if tag == self._skip[0] and tag not in {"br", "hr"}:
                self._skip.append(tag)
            return
        if tag == "main":
            self._in_main = True
            return
        if not self._in_main:
            return
        classes = set((attributes.get("class") or "").split())
        if tag in _SKIPPED_TAGS or classes & _SKIPPED_CLASSES or "hidden" in attributes:
            self._skip.append(tag)
        elif tag == "svg":  # a chart drawn twice, for wide and narrow screens: named once
            if "narrow" not in classes:
                self._chart(attributes.get("aria-label") or "a chart")
            self._skip.append(tag)
        elif tag in _HEADINGS:
            self._open(_HEADINGS[tag] + " ")
        elif tag in _BLOCKS:
            self._open("")
        elif tag == "li":
            self._open("- ")
        elif tag == "dl":
            self._figures = "figures" in classes
        elif tag == "dt":
            self._open("- " if self._figures else "- **")
        elif tag == "dd":
            self._dd()
        elif tag == "div" and "kpi" in classes:
            self._kpi, self._kpi_part = {"b": [], "span": []}, ""
        elif tag == "table":
            self._table = _Table()
        elif tag == "thead" and self._table is not None:
            self._table.in_head = True
        elif tag == "tr" and self._table is not None:
            self._row = []
        elif tag in {"td", "th"} and self._row is not None:
            self._text = []
        elif tag == "br":
            self._inline(" " if self._row is not None else LINE_BREAK)  # a header's lines: one in a table
        elif self._kpi is not None and tag in {"b", "span"}:
            self._kpi_part = tag
        elif tag in _EMPHASIS:
            self._inline(_EMPHASIS[tag])

    def handle_endtag(self, tag: str) -> None:
        if self._skip:
            if tag == self._skip[-1]:
                self._skip.pop()
            return
        if not self._in_main:
            return
        if tag == "main":
            self._close()
            self._in_main = False
        elif tag in _HEADINGS or tag in _BLOCKS or tag in {"li", "dd"}:
            if tag == "dd" and self._figures:
                self._inline("**")
            self._close()
        elif tag == "dl":
            self._figures = False
        elif tag == "dt":
            self._inline("" if self._figures else "**")
        elif tag == "div" and self._kpi is not None and not self._kpi_part:
            self._kpi_line()
        elif self._kpi is not None and tag == self._kpi_part:
            self._kpi_part = ""
        elif tag in {"td", "th"} and self._row is not None:
            self._row.append(_clean(self._text or []))
            self._text = None
        elif tag == "tr" and self._table is not None and self._row is not None:
            (self._table.head if self._table.in_head else self._table.body).append(self._row)
            self._row = None
        elif tag == "thead" and self._table is not None:
            self._table.in_head = False
        elif tag == "table" and self._table is not None:
            self.blocks.append(self._table.markdown())
            self._table = None
        elif tag in _EMPHASIS and self._kpi is None:
            self._inline(_EMPHASIS[tag])

    def handle_data(self, data: str) -> None:
        if self._skip or not self._in_main:
            return
        if self._kpi is not None and self._kpi_part:
            self._kpi[self._kpi_part].append(data)
        elif self._text is not None:
            self._text.append(_escaped(data))
        elif data.strip():  # text outside any block the page has (a bare line in a div): its own paragraph
            self.blocks.append(_clean([_escaped(data)]))

    # ---------------------------------------------------------------- blocks
    def _open(self, prefix: str) -> None:
        if self._row is not None:  # a block inside a table's cell stays in the cell
            return
        self._close()
        self._text, self._prefix = [], prefix

    def _close(self) -> None:
        if self._text is not None and self._row is None:
            text = _clean(self._text)
            if text:
                self.blocks.append(self._prefix + text)
            self._text = None

    def _inline(self, markup: str) -> None:
        if self._text is not None:
            self._text.append(markup)

    def _dd(self) -> None:
        """A definition joins its term's line: '- **term**: text'; a key figure listed under the tiles
        as a tile is written, its figure bold: '- label: **figure**'."""
        if self._text is not None and self._prefix == ("- " if self._figures else "- **"):
            self._text.append(": **" if self._figures else ": ")
        else:
            self._open("- **" if self._figures else "- ")

    def _kpi_line(self) -> None:
        kpi, self._kpi = self._kpi, None
        label, figure = (_clean([_escaped(t) for t in kpi[part]]) for part in ("span", "b"))
        self.blocks.append(f"- {label}: **{figure}**" if label else f"- **{figure}**")

    def _chart(self, name: str) -> None:
        self._close()
        self.blocks.append(f"*Chart: {markdown_text(name)}, {CHART_WORDS}.*")


def _escaped(data: str) -> str:
    """Text of the page as Markdown shows it as written: white space as HTML shows it (one space for
    a run of spaces and newlines), then Markdown's own characters escaped."""
    return markdown_text(re.sub(r"\s+", " ", data))


def _clean(parts: list[str]) -> str:
    """Inline text with HTML's white space: each run of spaces one space, none at a line's ends (a
    line break the page asked for, :data:`LINE_BREAK`, kept)."""
    text = "".join(parts)
    text = LINE_BREAK.join(re.sub(r"\s+", " ", part).strip() for part in text.split(LINE_BREAK))
    return text.replace("****", "").strip()  # an emphasis with nothing in it


def _lists_together(blocks: list[str]) -> str:
    """The blocks, a blank line between two, none between the items of one list."""
    out: list[str] = []
    for block in blocks:
        if out and not (block.startswith("- ") and out[-1].startswith("- ")):
            out.append("")
        out.append(block)
    return "\n".join(out) + "\n"


def markdown_of_page(html: str) -> str:
    """The Markdown of a report page (:func:`~fleetopt.report.page.build_report`'s HTML)."""
    reader = _PageReader()
    reader.feed(html)
    reader.close()
    return _lists_together(reader.blocks)
