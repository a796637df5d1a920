"""`fleetopt compare`: figures of plans side by side, in as many tables as fit."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text

from fleetopt.compare.figures import COLUMN_HEADERS
from fleetopt.compare.plan_figures import PURCHASE_DIFF_COLUMNS
from fleetopt.core.units import (
    format_mw,
    whole_difference,
)


class ColumnGroups:
    """A table of a label column, figure columns and a last column, printed whole where every
    figure column has room for its longest figure and its header's longest word, else as several
    tables, each with the label and last columns and as many figure columns as fit (a comparison
    of six plans cut every figure short on a 120-column terminal: '$18.6…', '-$3.6…'); then the
    caption, at the console's width."""

    LABEL_WIDTH = 18  # the label column's least width (figure names fold within it)
    # the label column's width where the console has room for it beside a figure column: at 100
    # columns a comparison's figure names, folded at 31, ran over 3 to 7 lines
    LABEL_READABLE = 44

    def __init__(self, title: str, caption: str, label: str, columns: list, rows: list, last: str,
                 basis: str = ""):
        self.title, self.caption, self.label, self.last = title, caption, label, last
        self.columns, self.rows = columns, rows  # columns: header texts; rows: (label, cells, last)
        self.basis = basis  # a line under the first table's title: what its figures are counted over

    def _width(self, n: int) -> int:
        words = [len(w) for w in str(self.columns[n]).split()]
        return max([*words, *(len(row[1][n]) for row in self.rows), 1])

    def groups(self, room: int) -> list[list[int]]:
        """The figure columns in groups, each a table at most ``room`` wide with its label column at
        least :meth:`_label_least` wide (at least one a group), as few groups as that allows, their
        columns shared out evenly (4 and 1 left the first table's names folded tightest)."""
        fixed = self._label_least(room) + self._frame()
        groups, used = [[]], fixed
        for n in range(len(self.columns)):
            need = self._width(n) + 3
            if groups[-1] and used + need > room:
                groups.append([])
                used = fixed
            groups[-1].append(n)
            used += need
        per = -(-len(self.columns) // len(groups))
        even = [list(range(k, min(k + per, len(self.columns)))) for k in range(0, len(self.columns), per)]
        fits = all(fixed + sum(self._width(n) + 3 for n in group) <= room for group in even)
        return even if fits and len(even) == len(groups) else groups

    def _label_least(self, room: int) -> int:
        """The label column's least width: :attr:`LABEL_READABLE` (or the longest label, if shorter)
        where ``room`` has it beside the widest figure column, else :attr:`LABEL_WIDTH`."""
        longest = max([len(str(label)) for label, _, _ in self.rows] or [self.LABEL_WIDTH])
        readable = max(self.LABEL_WIDTH, min(self.LABEL_READABLE, longest))
        widest = max([self._width(n) + 3 for n in range(len(self.columns))] or [0])
        return readable if readable + self._frame() + widest <= room else self.LABEL_WIDTH

    def _last_width(self) -> int:
        return max([len(self.last), *(len(row[2]) for row in self.rows)])

    def _frame(self) -> int:
        """Every width of a table but its label and figure columns': their padding, the last column
        and the borders."""
        return 3 + self._last_width() + 3 + 1

    def table(self, group: list[int], part: str, room: int | None = None) -> Table:
        """The label column, the figure columns of ``group`` and the last column, each at the width
        :meth:`groups` counted (rich would widen one and crop the table at the console's edge); the
        label column also takes what is left of ``room`` (None: nothing), up to its longest label
        (folded at 18 on a 200-column terminal, a comparison's figure names ran to 200 lines). A row
        with no cell in ``group`` is left out: a comparison's table of differences alone had a blank
        row for each standard error and yes/no figure (16 on the default model)."""
        table = Table(title=self.title + part)
        others = self._frame() + sum(self._width(n) + 3 for n in group)
        longest = max([len(str(label)) for label, _, _ in self.rows] or [self.LABEL_WIDTH])
        spare = 0 if room is None else room - others
        table.add_column(self.label, width=max(self.LABEL_WIDTH, min(spare, longest)), overflow="fold")
        for n in group:
            table.add_column(Text(str(self.columns[n])), justify="right", width=self._width(n))
        table.add_column(self.last, width=self._last_width())
        for label, cells, last in self.rows:
            if any(cells[n] for n in group):  # a standard error's row in a table of differences alone
                table.add_row(label, *(cells[n] for n in group), last)
        return table

    def __rich_console__(self, console, options):
        groups = self.groups(options.max_width)
        for k, group in enumerate(groups, start=1):
            part = f" ({k} of {len(groups)})" if len(groups) > 1 else ""
            part += f"\n{self.basis}" if self.basis and k == 1 else ""
            yield self.table(group, part, options.max_width)
        if self.caption:  # the notes once, at the console's width (a narrow table's caption folded them)
            yield Text(self.caption, style="italic")


def comparison_tables(result) -> list:
    """Terminal tables of a plan comparison: figures side by side (in as many tables as the
    console's width needs), then purchase differences."""
    labels = result.labels
    rows = []
    for key, name, unit in result.rows():
        values = [float(result.figures.loc[key, label]) for label in labels]
        row = [result.cell(key, values, unit, n) for n in range(len(labels))]
        row += [result.difference_shown(key, values, unit, n) for n in range(1, len(labels))]
        rows.append((name, row, result.better_words(key)))
    figures = ColumnGroups(
        result.title(),
        " ".join(result.notes()),
        "figure", [*labels, *result.difference_headers()], rows, "better", result.basis().strip(),
    )  # fmt: skip
    out = [figures, *(_against_pick(result, pair) for pair in result.against_pick)]
    summed = result.purchases_by_generation_shown()
    if summed is not None:
        out.append(_purchases_by_generation(labels[0], summed))
    diffs = result.purchase_diff
    purchases = Table(title=f"purchases against {labels[0]} by SKU and site (GPUs, + more / - fewer)")
    for key in PURCHASE_DIFF_COLUMNS:
        purchases.add_column(COLUMN_HEADERS[key], justify="right" if key.startswith("gpus") else "left")
    for _, r in diffs.iterrows():
        gpus = whole_difference(r["gpus_vs_first_plan"])
        purchases.add_row(Text(r["plan"]), r["quarter"], r["sku"], r["site"], gpus)
    if diffs.empty:
        purchases.add_row("(no differences)", "", "", "", "")
    if not result.what_if:  # a what-if's two sides are one plan: the same purchases by construction
        out.append(purchases)
    mw = result.peak_mw_by_site()
    peak = Table(title="peak MW needed by site (facility MW: IT load x PUE)")
    peak.add_column("plan")
    for site in mw.columns:
        peak.add_column(site, justify="right")
    for plan in labels:
        peak.add_row(Text(plan), *(format_mw(mw.loc[plan, site]) for site in mw.columns))
    out.append(peak)
    if result.runs:
        runs = Table(title="where each plan comes from")
        runs.add_column(COLUMN_HEADERS["plan"])
        runs.add_column(COLUMN_HEADERS["run"], overflow="fold")
        for plan, run in zip(labels, result.runs, strict=True):
            runs.add_row(Text(plan), Text(run))
        out.append(runs)
    # last, where a terminal leaves the reader: each plan against the first (and a sweep's third plan
    # against its pick) on the figures read first
    return [*out, *verdict_lines(result)]


def verdict_lines(result) -> list[Text]:
    """Each "In short" of a comparison (:meth:`Comparison.verdicts`), a line each: the terminal's
    last lines, after its tables or after the line naming the file it wrote."""
    return [Text(f"In short: {verdict}.", style="bold") for verdict in result.verdicts()]


def _against_pick(result, pair) -> ColumnGroups:
    """A sweep's plan of highest mean NPV no worse than its forecast optimum against its pick
    (:meth:`Comparison.against_pick_rows`): what the pick gives up to it, each with its paired error,
    in as many tables as the console's width needs, as the figures are."""
    rows = result.against_pick_rows(pair)
    columns = [c for c in rows.columns if c not in ("figure", "better")]
    cells = [(row["figure"], [row[c] for c in columns], row["better"]) for _, row in rows.iterrows()]
    return ColumnGroups(result.against_pick_title(pair), "", "figure", columns, cells, "better")


def _purchases_by_generation(first: str, summed) -> Table:
    """What each later plan buys more or less of than ``first``, by generation and quarter, the
    sites summed (:meth:`Comparison.purchases_by_generation`): a block only moved is no row."""
    table = Table(title=f"purchases against {first} by generation, sites summed (GPUs, + more / - fewer)")
    for key in ("plan", "quarter", "generation"):
        table.add_column(COLUMN_HEADERS[key])
    table.add_column("GPUs", justify="right")
    for _, r in summed.iterrows():
        gpus = whole_difference(r["gpus_vs_first_plan"])
        table.add_row(Text(r["plan"]), r["quarter"], r["generation"], gpus)
    if summed.empty:
        table.add_row("(none: the same GPUs of each generation each quarter, at other sites)", "", "", "")
    return table
