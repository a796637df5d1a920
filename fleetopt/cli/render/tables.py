"""Table helpers the commands share: a console that prints text as given, tables as plain text,
tables whose figures are never cut short."""

from __future__ import annotations

import io

from rich import box
from rich.cells import cell_len
from rich.console import Console
from rich.table import Table
from rich.text import Text


def text_console(**options) -> Console:
    """A console that prints text as given: model names, plan labels and paths are the user's
    ("[draft]" is not a style, ":100:" not an emoji); styles are given as rich Text."""
    return Console(markup=False, emoji=False, **options)


def plain_text(renderables, width: int = 120) -> str:
    """Tables as the terminal shows them, without colour, for a text file."""
    console = text_console(file=io.StringIO(), width=width, record=True, color_system=None)
    for renderable in renderables:
        console.print(renderable)
    return console.export_text()


class FittedTable(Table):
    """A Table whose figure columns keep their figures and their headers' longest word whole
    (``wanted``: column -> width) where the console is wide enough: laid out by rich, else with
    each figure column at its longest figure or header word and only the labels giving way, else
    without its outer frame, else (where a label would fold over more than two lines) with its
    columns apart by spaces, not rules. On a narrower console (an 80-column terminal) it is printed
    turned, a row per figure and a column per plan, else in parts, each with the labels and some of
    the figure columns (as `fleetopt compare` splits its columns), or where neither fits, plan by
    plan: never with a figure cut short ('-$1…' read as any sum) or cropped off the console's edge."""

    wanted: dict[int, int]
    text_columns: int
    framed: box.Box | None  # its box as made: a narrower console's layout may drop its rules
    splits: bool  # whether it may be printed in parts (a part itself may not)

    def __rich_console__(self, console, options):
        fits = self._settle(console, options)
        if fits and not self._labels_cramped(console, options):
            yield from super().__rich_console__(console, options)
            return
        turned = self.turned()
        turned_fits = _fits(turned, console, options)
        parts = self._parts(console, options) if self.splits and not turned_fits else None
        if fits and not (turned_fits or parts):  # its labels cramped, yet a row a plan
            yield from super().__rich_console__(console, options)
            return
        yield from parts or [turned if turned_fits else self.plan_by_plan()]
        if self.caption:  # at the console's width: the turned table's narrow one folded it to a column
            yield Text(str(self.caption), style="italic")

    def _settle(self, console, options) -> bool:
        """Lay it out for the console (:class:`FittedTable`'s steps); whether it then fits."""
        for n, width in self.wanted.items():
            self.columns[n].min_width, self.columns[n].width = width, None
        self.show_edge = self.pad_edge = True
        self.box, self.collapse_padding = self.framed, False
        self.caption_justify = "left"  # a paragraph of notes, centred, read as ragged on both sides
        # rich's layout can stop short of what fits (a column at its whole header, the plan
        # column at a word), or fold the plans' names over four lines to keep headers whole: then
        # each figure column at its longest figure or header word, the headers wrapped, the plan
        # column first to take the room left, then the headers; then without the outer frame
        if not _fits(self, console, options) or self._labels_folded(console, options):
            self._tight()
            self._unwrap_headers(console, options)
        if not _fits(self, console, options):
            self._frameless()
        if _fits(self, console, options) and self._labels_cramped(console, options):
            self._ruleless()  # a plan's name over 3 or 4 lines (at 100 columns): the rules' room to it
        return _fits(self, console, options)

    def _parts(self, console, options) -> list[Table] | None:
        """The table in the fewest parts (2, 3, ...), each with its text columns and an even share of
        its figure columns, that each fit with no label over more than two lines; None where none do."""
        figures = list(self.wanted)
        for k in range(2, len(figures) + 1):
            size = -(-len(figures) // k)
            groups = [figures[at:at + size] for at in range(0, len(figures), size)]
            parts = [self._part(group, f" ({n} of {len(groups)})") for n, group in enumerate(groups, start=1)]
            if all(part._settle(console, options) and not part._labels_cramped(console, options)
                   for part in parts):  # fmt: skip
                return parts
        return None

    def _part(self, figures: list[int], suffix: str) -> FittedTable:
        """Its text columns and the figure columns ``figures``, titled with ``suffix``."""
        table = Table(title=f"{self.title}{suffix}" if self.title else None, box=self.framed)
        kept = [*range(self.text_columns), *figures]
        for n in kept:
            column = self.columns[n]
            table.add_column(column.header, justify=column.justify, min_width=column.min_width)
        for row in zip(*(self.columns[n].cells for n in kept), strict=True):
            table.add_row(*row)
        part = unbroken(table, self.text_columns)
        part.splits = False
        return part

    def _tight(self) -> None:
        for n, width in self.wanted.items():
            self.columns[n].width = width

    def _labels_folded(self, console, options) -> bool:
        """Whether rich's layout gives a text column less than its longest label."""
        room = options.max_width - self._extra_width
        widths = self._calculate_column_widths(console, options.update_width(room))
        return any(widths[n] < self._measure_column(console, options, self.columns[n]).maximum
                   for n in range(self.text_columns))  # fmt: skip

    def _labels_cramped(self, console, options) -> bool:
        """Whether rich's layout folds a text column's longest label over more than two lines."""
        room = options.max_width - self._extra_width
        widths = self._calculate_column_widths(console, options.update_width(room))
        for n in range(self.text_columns):
            pad = self._get_padding_width(n)
            if 2 * (widths[n] - pad) < self._measure_column(console, options, self.columns[n]).maximum - pad:
                return True
        return False

    def _ruleless(self) -> None:
        """Columns apart by two spaces, not a rule between two (the header's rule kept): a
        character a column more for the labels, and the frame's."""
        self.box, self.collapse_padding = box.SIMPLE_HEAD, True
        self._frameless()

    def _unwrap_headers(self, console, options) -> None:
        """Each figure column, left to right, widened to its whole header where the room the text
        columns leave allows it."""
        room = options.max_width - self._extra_width
        for n in self.wanted:
            column = self.columns[n]
            whole = cell_len(str(column.header))
            used = sum(self._calculate_column_widths(console, options.update_width(room)))
            if whole > column.width and used + whole - column.width <= room:
                column.width = whole

    def _frameless(self) -> None:
        self.show_edge = self.pad_edge = False

    def _plans(self) -> list[tuple[Text, tuple]]:
        """Each row as (its text columns joined, its cells)."""
        k = self.text_columns
        rows = list(zip(*(column.cells for column in self.columns), strict=True))
        return [(Text(" ").join(_text(c) for c in row[:k] if str(c).strip()), row) for row in rows]

    def turned(self) -> Table:
        """The same cells, a row per figure column and a column per plan headed by its label."""
        table = Table(title=self.title)
        table.add_column("", justify="left", overflow="fold")
        plans = self._plans()
        for head, row in plans:
            figures = [len(c) for c in row[self.text_columns:] if isinstance(c, str)]
            table.add_column(head, justify="right", min_width=max(figures, default=1))
        for n, column in enumerate(self.columns[self.text_columns:], start=self.text_columns):
            table.add_row(_text(column.header), *(row[n] for _, row in plans))
        return table

    def plan_by_plan(self) -> Table:
        """The same cells, each plan's label then its figures one to a line."""
        table = Table(title=self.title, show_header=False)
        table.add_column(overflow="fold")
        table.add_column(justify="right", no_wrap=True)
        for head, row in self._plans():
            table.add_section()
            table.add_row(Text.assemble(head, style="bold"), "")
            for n, column in enumerate(self.columns[self.text_columns:], start=self.text_columns):
                table.add_row(Text.assemble("  ", _text(column.header)), row[n])
        return table


def _text(cell) -> Text:
    return cell if isinstance(cell, Text) else Text(str(cell))


def _fits(table: Table, console, options) -> bool:
    """Whether rich lays ``table`` out within the console with every column at least as wide as it
    needs (:func:`_least`): its own rule can stop short of the columns' minimums, and then it crops
    the table at the edge or cuts figures short."""
    room = options.max_width - table._extra_width  # the borders (as rich's own layout counts them)
    widths = table._calculate_column_widths(console, options.update_width(room))
    need = [_least(table, n) + table._get_padding_width(n) for n in range(len(widths))]
    return sum(widths) <= room and all(w >= least for w, least in zip(widths, need, strict=True))


def _least(table: Table, n: int) -> int:
    """The narrowest column ``n`` may be: its set width or minimum (a figure column's), else its
    longest word, up to 12 characters (a label column folds longer words)."""
    column = table.columns[n]
    if column.width or column.min_width:
        return column.width or column.min_width
    words = [len(word) for cell in (column.header, *column.cells) for word in str(cell).split()]
    return min(max(words, default=1), 12)


def unbroken(table: Table, text_columns: int = 1) -> FittedTable:
    """``table`` with no header or figure cut short ('P(breac…') where the console has room: each
    column after the first ``text_columns`` keeps its longest figure and the longest word of its
    header (headers wrap at spaces), and the text columns (plan labels) give way, breaking a word
    that does not fit. A console too narrow for that gets the table turned (:meth:`FittedTable.turned`)."""
    table.__class__ = FittedTable  # the same table, laid out at print time for the console's width
    table.wanted, table.text_columns, table.framed, table.splits = {}, text_columns, table.box, True
    for n, column in enumerate(table.columns):
        if n < text_columns:
            column.overflow = "fold"
            continue
        words = [len(w) for w in str(column.header).split()]
        words += [len(cell) for cell in column.cells if isinstance(cell, str)]
        table.wanted[n] = max(words, default=1)
    return table
