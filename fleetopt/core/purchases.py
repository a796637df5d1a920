"""A procurement plan written by people: the GPU purchases a solve must make, read from a CSV file.

``fleetopt solve --purchases FILE`` fixes every purchase of the MILP to the file's (none where the
file has no row) and lets the solver choose the rest: use, redeployments, retirements, power,
contracts and debt (docs/formulation.md §4, "Fixed purchases"). The file has one row per
purchase with the columns ``quarter,sku,site,gpus``; a solve's own plan.csv is read too (its
``buy_gpus`` rows in GPUs and ``buy`` rows in blocks, which must agree where both are given), so a
planner may edit a plan and solve around it.
"""

from __future__ import annotations

import csv
import io
import math
import re
from dataclasses import dataclass
from difflib import get_close_matches
from pathlib import Path

import numpy as np

from fleetopt.core.data import GENERATIONS, ModelData
from fleetopt.core.economics.operating import gpus_of_blocks, mw_per_gpu
from fleetopt.core.quarters import parse_quarter
from fleetopt.core.results.tables import PLAN_CSV_HEADER, PLAN_DECISIONS
from fleetopt.core.units import counted, counts_apart, format_mw
from fleetopt.errors import InputError, user_path, warn
from fleetopt.schema.base import MAX_GPUS
from fleetopt.schema.shown_values import shown_value

COLUMNS = ("quarter", "sku", "site", "gpus")
PLAN_CSV_COLUMNS = ("quarter", "decision", "sku", "site", "value")  # a solve's plan.csv (results/tables.py)
# the plan.csv rows that are purchases, and the unit of their value
PURCHASE_UNITS = {"buy_gpus": "GPUs", "buy": "blocks"}
OUTCOMES = ("in_service", "serve_contract")  # plan.csv rows that follow from the decisions
_THOUSANDS = re.compile(r"^[+-]?\d{1,3}(,\d{3})+(\.\d*)?$")  # 8,000 or 1,234,567.0; not 1,6


@dataclass(frozen=True)
class FixedPurchases:
    """The purchases a plan must make: blocks by (SKU, site, quarter), every other purchase 0."""

    blocks: np.ndarray  # (S, I, T) whole blocks
    source: str  # the file, as given
    rows: int  # purchase rows read (zero rows included)
    text: str  # the file's text, kept with the run
    axes: tuple  # what the blocks index in the model they were checked against (purchase_axes)
    # a solve's plan.csv: its rows of other decisions, not read, counted by decision (retire: 2 ...)
    unread: tuple[tuple[str, int], ...] = ()
    # the header's other columns (a price, a comment), not read: notes a person keeps beside the rows
    note_columns: tuple[str, ...] = ()
    read_columns: tuple[str, ...] = COLUMNS  # the columns the purchases are read from

    def __repr__(self) -> str:  # not the blocks' array and the file's text
        blocks = f"{self.blocks.sum():,.0f} blocks"
        return f"FixedPurchases({self.source!r}: {counted(self.rows, 'row')}, {blocks})"

    def gpus(self, data: ModelData) -> float:
        """The GPUs the file buys in all (its blocks times each SKU's block size)."""
        return float(gpus_of_blocks(data, self.blocks).sum())

    def for_model(self, data: ModelData) -> FixedPurchases:
        """These purchases, refused unless read for ``data``'s model (their blocks index its SKUs,
        sites and quarters)."""
        if self.axes != purchase_axes(data):
            raise InputError(
                f"purchases must be read for the model solved: {self.source} was read for a model with "
                "other SKUs, sites, quarters, block sizes or sale dates (read it with "
                "fleetopt.api.read_purchases(FILE, MODEL))"
            )
        return self


def purchase_axes(data: ModelData) -> tuple:
    """What a purchase's (SKU, site, quarter) and its blocks mean in a model: read for one model,
    purchases fit another only if these are the same."""
    sites = tuple(site.name for site in data.sites)
    return (
        tuple(data.sku_names),
        sites,
        tuple(data.quarter_labels),
        data.block_size.tobytes(),
        data.on_sale.tobytes(),
    )


# how purchases given as a table (a pandas DataFrame) are named in runs and messages
TABLE_SOURCE = "purchases table"


def is_purchase_table(given) -> bool:
    """Whether ``given`` is a table (a pandas DataFrame, duck-typed: core does not import pandas)."""
    return hasattr(given, "to_csv") and hasattr(given, "columns")


def purchases_for(given, data: ModelData) -> FixedPurchases:
    """A purchases file (a path, read against ``data``), a table with a purchases file's columns
    (a pandas DataFrame: quarter, sku, site, gpus, or a plan's ``plan_frame()`` rows, read as the
    CSV it writes), or what :func:`read_purchases` read (for ``data``'s model); anything else is
    refused by name. A table's index named like a column (after ``set_index("quarter")``, or a
    groupby's keys) is read as its columns, as ``reset_index()`` would make them."""
    if isinstance(given, FixedPurchases):
        return given.for_model(data)
    if is_purchase_table(given):
        try:
            return parse_purchases(given.to_csv(index=_index_is_columns(given)), TABLE_SOURCE, data)
        except InputError as exc:  # its lines are those of the CSV the table writes
            raise InputError(f"{exc} (the table as CSV: line 1 its header, line 2 its first row)") from None
    if not isinstance(given, (str, Path)):
        raise InputError(f"purchases must be a CSV file's path, a pandas DataFrame of its columns or "
                         f"read_purchases' result (got {type(given).__name__})")  # fmt: skip
    if not str(given).strip():  # a Path of "" would be ".", the current folder, read as a CSV file
        raise InputError("purchases is empty: give a CSV file's path")
    return read_purchases(given, data)


def _index_is_columns(table) -> bool:
    """Whether ``table``'s index holds columns (each level named, none a column's name): a
    RangeIndex, or ``set_index("quarter", drop=False)``'s copy of a column, does not."""
    names = list(table.index.names)
    return all(isinstance(name, str) for name in names) and not set(names) & set(table.columns)


def read_purchases(path: str | Path, data: ModelData) -> FixedPurchases:
    """The purchases of a CSV file, checked against the model: each error names the file, the
    line and the field (an unknown name lists the known ones)."""
    return parse_purchases(_text_of(user_path(path)), str(path), data)


def parse_purchases(text: str, path: str, data: ModelData) -> FixedPurchases:
    """The purchases of a CSV file's ``text`` (``path``: its name in messages), as
    :func:`read_purchases` reads them (a resumed sweep reads them from its job.json)."""
    reader = csv.DictReader(io.StringIO(text))
    header, plan_csv = _header(reader, path, not text.strip())
    given: dict[str, dict[tuple[int, int, int], tuple[int, float]]] = {"GPUs": {}, "blocks": {}}
    unread: dict[str, int] = {}
    for row in reader:
        where = f"{path}, line {reader.line_num}"
        _check_fields(row, len(header), where)
        if not any((value or "").strip() for value in row.values()):
            continue  # a spreadsheet's empty row (,,,)
        unit = _unit(row, where) if plan_csv else "GPUs"
        if unit is None:
            decision = row["decision"].strip()
            if decision not in OUTCOMES:
                unread[decision] = unread.get(decision, 0) + 1
            continue
        key = _key(row, data, where)  # an unknown SKU or site first: an item not matching it follows
        if plan_csv:
            _check_item(row, where)
        if key in given[unit]:
            first = given[unit][key][0]
            raise InputError(f"{where}: a second row for {_describe(key, data)} (the first is line {first}): "
                             "one row per quarter, SKU and site; to move an order into a quarter that has "
                             "one, add its GPUs to that row")  # fmt: skip
        column = "value" if plan_csv else "gpus"  # the file's own column, and in a plan.csv its row's unit
        field = f"value (a {row['decision'].strip()} row's, in {unit})" if plan_csv else column
        given[unit][key] = (reader.line_num, _blocks(row[column], key, data, where, unit, field))
        if unit == "blocks":
            _warn_if_never_powered(given[unit][key][1], key, data, where)
    if not given["GPUs"] and not given["blocks"] and not plan_csv:  # a solve's plan.csv may buy nothing
        raise InputError(
            f"{path}: no purchase rows; to solve with no purchases at all, give one with gpus 0 "
            "(e.g. the first quarter, any SKU on sale, any site)"
        )
    _check_agreement(path, given, data)
    blocks = np.zeros((data.S, data.I, data.T))
    for key, (_, value) in {**given["blocks"], **given["GPUs"]}.items():
        blocks[key] = value
    _check_allocation(path, given, blocks, data)
    rows = len(given["GPUs"].keys() | given["blocks"].keys())
    own = PLAN_CSV_HEADER if plan_csv else COLUMNS
    notes = tuple(name for name in header if name and name not in own)
    return FixedPurchases(blocks, path, rows, text, purchase_axes(data), tuple(unread.items()), notes,
                          PLAN_CSV_COLUMNS if plan_csv else COLUMNS)  # fmt: skip


def _first_line_words(fields, header: list[str], separator: str | None, empty: bool) -> str:
    """What was read as the header, for a header that names no columns fleetopt reads."""
    if empty:
        return "the file is empty"
    if not header:  # blank lines above the header
        return "its first line is blank: the header must be the first line"
    read = f"its first line reads {','.join(fields)!r}"
    return read if separator else f"{read} (the first line is the header: no comment line above it)"


def purchase_header(names: list[str]) -> bool:
    """Whether a CSV header's ``names`` are a purchases file's (quarter, sku, site, gpus) or a
    solve's plan.csv's, in any case and spacing."""
    header = {name.strip().lower() for name in names}
    return set(COLUMNS) <= header or set(PLAN_CSV_COLUMNS) <= header


def _header(reader: csv.DictReader, path: str, text_empty: bool = False) -> tuple[list[str], bool]:
    """The header's names (stripped) and whether it is a solve's plan.csv (a decision column and no
    gpus column: beside gpus, a decision column is a note); refused if a name repeats (the last
    copy would win) or a needed one is missing."""
    # names as a spreadsheet may write them (Quarter, SKU, GPUs): the columns are lower case
    raw = list(reader.fieldnames or [])  # quoted as written where the header is wrong
    header = [name.strip().lower() for name in raw]
    reader.fieldnames = header
    repeated = sorted({name for name in header if name and header.count(name) > 1})  # "" : trailing commas
    if repeated:
        raise InputError(f"{path}: the header names {', '.join(repeated)} twice")
    plan_csv = "gpus" not in header and "decision" in header
    missing = [c for c in (PLAN_CSV_COLUMNS if plan_csv else COLUMNS) if c not in header]
    if missing:
        _refuse_other_format(path, raw)
        # a spreadsheet set to another locale writes ';' (or tabs) between columns: one column here
        other = next((sep for sep in (";", "\t") if len(header) == 1 and sep in header[0]), None)
        separated = f" (its columns are separated by {other!r}: save it with commas)" if other else ""
        read = _first_line_words(raw, header, other, text_empty)
        raise InputError(
            f"{path}: the header must name the columns {', '.join(COLUMNS)} (or be a solve's plan.csv); "
            f"missing: {', '.join(missing)}{separated}; {read}"
        )
    return header, plan_csv


# what a purchases file is, said to a file of another format (the columns as its header writes them)
PURCHASES_FORMAT = f"a purchases file is CSV with the columns {','.join(COLUMNS)} (or a solve's plan.csv)"
OTHER_FORMATS = {".yaml": "YAML", ".yml": "YAML", ".json": "JSON"}  # suffixes of files that are not CSV
# a first line that is YAML or JSON, not a CSV header: a mapping's key ("purchases:", "- quarter: 2026Q3"),
# a list or an object, or a document's start
_NOT_CSV_LINE = re.compile(r"^\s*([{\[]|---|(- )?[\w .-]+:(\s|$))")


def _refuse_other_format(path: str, fields: list[str]) -> None:
    """A file without the columns read, refused as another format where its name's suffix or its first
    line (``fields``, as the CSV reader split it) says it is YAML or JSON: "missing: quarter, sku, site,
    gpus" left a planner who wrote orders.yaml to guess what the file should be."""
    kind = OTHER_FORMATS.get(Path(path).suffix.lower())
    opens = fields[0].lstrip()[:1] if fields else ""
    if kind is None and opens and opens in "{[":  # no CSV header opens a list or an object
        kind = "JSON"
    if kind is None and len(fields) <= 1 and _NOT_CSV_LINE.match(",".join(fields)):
        kind = "YAML"
    if kind is not None:
        raise InputError(f"{path}: {PURCHASES_FORMAT}, a row per purchase; this file reads as {kind}")


def _unit(row: dict, where: str) -> str | None:
    """A plan.csv row's purchase unit (GPUs or blocks), None for its other decisions; a decision
    fleetopt does not write, or a unit that is not the decision's, is refused."""
    decision = (row["decision"] or "").strip()
    if decision not in PLAN_DECISIONS:
        raise InputError(
            f"{where}: decision {decision!r} is none of plan.csv's ({', '.join(PLAN_DECISIONS)})"
        )
    unit = PURCHASE_UNITS.get(decision)
    stated = (row.get("unit") or "").strip()
    if unit is not None and stated and stated != unit:
        raise InputError(f"{where}: a {decision} row's value is in {unit}, not {stated}")
    return unit


def _check_item(row: dict, where: str) -> None:
    """A plan.csv purchase row names its SKU and site twice, in ``item`` (SKU@site) and in ``sku``
    and ``site``: a row whose item was edited and not the others bought what the others said."""
    item = (row.get("item") or "").strip()
    named = f"{(row.get('sku') or '').strip()}@{(row.get('site') or '').strip()}"
    if item and item != named:
        raise InputError(
            f"{where}: item {item!r} is not the row's sku and site ({named}): edit both, or empty the "
            "item column"
        )


def _check_fields(row: dict, width: int, where: str) -> None:
    """A row with more fields than the header (an unquoted thousands separator: 8,000 read as 8
    and 000) or fewer is refused: its figures would be read from the wrong columns."""
    if None in row:
        extra = [value for value in row[None] if value is not None]
        if not any(value.strip() for value in extra):  # "2026Q4,B200,texas,8," : a trailing comma
            raise InputError(f"{where}: more fields than the header's {width}: a comma at the end of the row")
        raise InputError(
            f"{where}: more fields than the header's {width}: write a thousands separator in quotes "
            '("8,000") or leave it out (8000)'
        )
    if any(value is None for value in row.values()):
        raise InputError(f"{where}: fewer fields than the header's {width}")


def _check_agreement(path: str, given: dict, data: ModelData) -> None:
    """In a plan.csv each purchase has a row in blocks (``buy``) and one in GPUs (``buy_gpus``):
    where both are given they must agree, or an edit of one would be silently ignored."""
    for key in given["GPUs"].keys() & given["blocks"].keys():
        (line_gpus, gpus), (line_blocks, blocks) = given["GPUs"][key], given["blocks"][key]
        if gpus != blocks:
            size = float(data.block_size[key[0]])
            in_blocks = f"{blocks:,.0f} blocks ({blocks * size:,.0f} GPUs) on line {line_blocks}"
            in_gpus = f"{gpus * size:,.0f} GPUs on line {line_gpus}"
            said = sorted([(line_blocks, in_blocks), (line_gpus, in_gpus)])  # in the file's order
            raise InputError(
                f"{path}: lines {said[0][0]} and {said[1][0]} disagree for {_describe(key, data)}: "
                f"{said[0][1]} against {said[1][1]}; edit both rows, or delete one of them"
            )


def over_allocation(data: ModelData, blocks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The new GPUs bought of each generation in each quarter, (..., G, T), from purchase ``blocks``
    (..., S, I, T), and where they are more than the supplier allocates (limits.new_gpus_per_quarter,
    formulation `allocation`): the one test of a purchases file here and of a plan file's plans
    (evaluate/batch.limit_problem)."""
    gpus = gpus_of_blocks(data, blocks).sum(axis=-2)  # (..., S, T)
    of = (data.sku_generation[:, None] == np.arange(len(GENERATIONS))).astype(float)  # (S, G)
    bought = np.einsum("...st,sg->...gt", gpus, of)
    return bought, bought > data.new_gpu_allocation + 1e-6 * np.maximum(1.0, bought)


def allocated_words(data: ModelData, g: int, t: int, bought: float) -> tuple[str, str]:
    """``bought`` new GPUs of generation ``g`` in quarter ``t``, more than the supplier allocates,
    and the allocation: ('2,000', 'the 1,000 the supplier allocates that quarter
    (limits.new_gpus_per_quarter.blackwell)'). The allocation in whole GPUs, as a series' growth gives
    it fractions; both to the decimals at which they read differently (a plan file's 1,000.08 is not
    '1,000, more than the 1,000')."""
    whole = math.floor(data.new_gpu_allocation[g, t] + 1e-6)
    bought_text, whole_text = counts_apart(bought, whole)
    return bought_text, (f"the {whole_text} the supplier allocates that quarter "
                         f"(limits.new_gpus_per_quarter.{GENERATIONS[g]})")  # fmt: skip


def _check_allocation(path: str, given: dict, blocks: np.ndarray, data: ModelData) -> None:
    """Purchases of a generation beyond the supplier's allocation in a quarter are refused naming
    their lines: no plan can make them, and the solve's diagnosis named none of its limits ("check
    facility sizes, build limits ...")."""
    bought, over = over_allocation(data, blocks)
    if not over.any():
        return
    g, t = (int(x) for x in np.argwhere(over)[0])
    lines = sorted({line for rows in given.values() for (s, _, q), (line, _) in rows.items()
                    if q == t and data.sku_generation[s] == g})  # fmt: skip
    more = f" (and in {counted(int(over[g].sum()) - 1, 'other quarter')})" if over[g].sum() > 1 else ""
    gpus, allocated = allocated_words(data, g, t, bought[g, t])
    raise InputError(
        f"{path}, line{'s' if len(lines) > 1 else ''} {', '.join(map(str, lines))}: {gpus} new "
        f"{GENERATIONS[g]} GPUs bought in {data.quarter_labels[t]}, more than {allocated} "
        f"of model {data.name!r}{more}: no plan can make these purchases"
    )


# the largest purchases file read: the default model's whole plan.csv is about 80 KB; /dev/zero or
# a log given by mistake is refused instead of read until memory runs out (as a model file is)
MAX_PURCHASES_BYTES = 64 * 2**20


def _text_of(path: Path) -> str:
    try:
        with path.open("rb") as handle:  # at most one byte past the limit
            raw = handle.read(MAX_PURCHASES_BYTES + 1)
        if len(raw) > MAX_PURCHASES_BYTES:
            raise InputError(
                f"purchases file {path} is larger than {MAX_PURCHASES_BYTES // 2**20} MiB: not a purchases "
                "CSV (a whole plan.csv of the default model is about 80 KB)"
            )
        return raw.decode("utf-8-sig").replace("\r\n", "\n").replace("\r", "\n")  # a BOM, as text mode
    except FileNotFoundError:
        raise InputError(f"purchases file {path} does not exist") from None
    except IsADirectoryError:
        plan_csv = path / "plan.csv"
        hint = f": give the run's {plan_csv}" if plan_csv.is_file() else ""
        raise InputError(f"purchases file {path} is a folder, not a CSV file{hint}") from None
    except UnicodeDecodeError:
        if raw.startswith(b"PK"):  # a zip archive: a plan file (.npz)
            beside = path.with_name("plan.csv")
            hint = f": give {beside}, beside it" if beside.is_file() else ": give a solve's plan.csv"
            raise InputError(f"purchases file {path} is a plan file (.npz), not a CSV file{hint}") from None
        # Excel's "Unicode Text" is UTF-16, its plain "CSV" the system's code page (cp1252)
        wide = " (it is UTF-16)" if raw[:2] in (b"\xff\xfe", b"\xfe\xff") else ""
        raise InputError(f"purchases file {path} is not UTF-8 text{wide}: a CSV file is expected, saved as "
                         "UTF-8 (in Excel: Save As, 'CSV UTF-8 (Comma delimited)')") from None  # fmt: skip
    except OSError as exc:
        raise InputError(f"purchases file {path} cannot be read: {exc.strerror}") from None
    except ValueError:  # open's "embedded null byte" (a UnicodeDecodeError is caught above)
        raise InputError(f"purchases file {shown_value(str(path))} holds a NUL character, which no path "
                         "can") from None  # fmt: skip


def _key(row: dict, data: ModelData, where: str) -> tuple[int, int, int]:
    quarter = _quarter(row, data, where)
    _refuse_generation(row, data, where)
    sku = _named(row, "sku", data.sku_names, where, "SKUs", data.name)
    site = _named(row, "site", [s.name for s in data.sites], where, "sites", data.name)
    if not data.on_sale[sku, quarter]:
        raise InputError(
            f"{where}: {data.sku_names[sku]} is not on sale in {data.quarter_labels[quarter]}: "
            f"{_sale_window(data, sku)} (the quarters of the horizon its available_from and "
            "available_until in the model leave)"
        )
    return sku, site, quarter


def _refuse_generation(row: dict, data: ModelData, where: str) -> None:
    """A row naming a generation ("blackwell", as the tables of purchases by generation head it) where
    the file takes an SKU is refused naming that generation's SKUs of the model: a planner's "20 %
    fewer Blackwells" read as a typo (none of H100, B200, VR200) left them to guess which."""
    value = (row.get("sku") or "").strip()
    if value in data.sku_names or value.casefold() not in GENERATIONS:
        return
    g = GENERATIONS.index(value.casefold())
    skus = [name for name, gen in zip(data.sku_names, data.sku_generation, strict=True) if gen == g]
    model = f"model {data.name!r}"
    of_it = f"its SKUs in {model}: {', '.join(skus)}" if skus else f"{model} has no SKU of it"
    raise InputError(f"{where}: sku {value!r} is a generation, not an SKU: give an SKU by its name ({of_it})")


def _quarter(row: dict, data: ModelData, where: str) -> int:
    """The row's quarter in the horizon; a quarter before or after it is said so, with the horizon's
    ends (a spelling's nearest label, 2029Q2 for 2026Q2, would mislead), anything else as a name."""
    value = (row.get("quarter") or "").strip()
    labels = data.quarter_labels
    if value not in labels:
        try:
            ordinal = parse_quarter(value)
        except ValueError:
            ordinal = None
        if ordinal is not None:
            side = "before" if ordinal < parse_quarter(labels[0]) else "after"
            raise InputError(f"{where}: quarter {value} is {side} the horizon of model {data.name!r}, "
                             f"{labels[0]} to {labels[-1]}")  # fmt: skip
    return _named(row, "quarter", labels, where, "quarters of the horizon", data.name)


def _sale_window(data: ModelData, sku: int) -> str:
    """When the horizon's quarters have ``sku`` on sale, in words."""
    quarters = [data.quarter_labels[t] for t in np.flatnonzero(data.on_sale[sku])]
    if not quarters:
        return "it is on sale in no quarter of the horizon"
    return f"it is on sale from {quarters[0]} to {quarters[-1]}"


def _bare(name: str) -> str:
    """A name without case, spaces or punctuation: how two spellings of one name compare."""
    return "".join(ch for ch in name.casefold() if ch.isalnum())


def _named(row: dict, field: str, names: list[str], where: str, kind: str, model: str) -> int:
    value = (row.get(field) or "").strip()
    if value in names:
        return names.index(value)
    alike = [name for name in names if name.casefold() == value.casefold()]
    # spelt apart only by case or punctuation ("GB-300", "vr nvl72"), else a typo ("GB30")
    folded = {name.casefold(): name for name in names}
    typo = [folded[name] for name in get_close_matches(value.casefold(), list(folded), 1, 0.75)]
    bare = [name for name in names if _bare(name) == _bare(value)] or typo
    if alike:
        hint = f": did you mean {alike[0]!r}? (names are case-sensitive)"
    else:
        hint = f": did you mean {bare[0]!r}?" if bare else ""
    shown = names if len(names) <= 12 else [*names[:3], "...", *names[-3:]]
    raise InputError(
        f"{where}: {field} {value!r} is none of the {kind} of model {model!r} ({', '.join(shown)}){hint}"
    )


def _blocks(
    text: str | None, key: tuple[int, int, int], data: ModelData, where: str, unit: str, field: str
) -> float:
    """Whole blocks of the SKU (a purchase is whole racks or pods), from GPUs or from blocks;
    ``field``: the column read, as the file names it (a plan.csv's value, a purchases file's gpus)."""
    figure = (text or "").strip()
    if not figure:  # an empty cell: "must be a number (got '')" read as if something had been typed
        raise InputError(f"{where}: {field} is empty: give the number of {unit} (0 to buy none)")
    if "_" in figure:  # float() reads 1_600 as 1600: not a spreadsheet's figure
        raise InputError(f"{where}: {field} must be a number of {unit} (got {shown_value(text)})")
    try:
        value = float(figure.replace(",", "") if _THOUSANDS.match(figure) else figure)
    except ValueError:
        raise InputError(f"{where}: {field} must be a number of {unit} (got {shown_value(text)})") from None
    size = float(data.block_size[key[0]])
    blocks = value / size if unit == "GPUs" else value
    if not math.isfinite(blocks) or blocks < 0 or abs(blocks - round(blocks)) > 1e-9:
        nearest = ""
        if math.isfinite(blocks) and blocks > 0 and unit == "GPUs":  # the two whole counts around it
            below, above = math.floor(blocks) * size, math.ceil(blocks) * size
            nearest = f"{below:,.0f} or {above:,.0f}" if below > 0 else f"{above:,.0f}"
            nearest = f"; nearest whole blocks: {nearest} GPUs"
        raise InputError(
            f"{where}: {field} must be a whole number of {data.sku_names[key[0]]} blocks of "
            f"{size:,.0f} GPUs, 0 or more (got {shown_value(text)}{nearest})"
        )
    if blocks * size > MAX_GPUS:
        raise InputError(
            f"{where}: {field} must be at most {MAX_GPUS:,} GPUs (got {shown_value(text)}: a typing slip?)"
        )
    return float(round(blocks))


def _most_site_mw(data: ModelData, i: int) -> tuple[float, str]:
    """The most MW site ``i`` can ever have online (its largest capacity and every expansion block)
    and how it is made, in words: (50.0, '20 MW and 3 expansion blocks of 10 MW')."""
    site = data.sites[i]
    capacity = float(site.capacity_mw.max())
    if not site.max_blocks:
        return capacity, f"its power_capacity_mw, {format_mw(capacity)} at most"
    blocks = f"{counted(site.max_blocks, 'expansion block')} of {format_mw(site.block_mw)}"
    return capacity + site.max_blocks * site.block_mw, f"{format_mw(capacity)} and {blocks}"


def _warn_if_never_powered(blocks: float, key: tuple[int, int, int], data: ModelData, where: str) -> None:
    """Warn of a plan.csv ``buy`` row whose blocks, in service, would draw more than their site can
    ever have online: most often GPUs typed in the blocks row (2,880 GB300 read as 2,880 racks of 72).
    A warning, not a refusal: GPUs held idle draw only their SKU's idle fraction, so such a plan is
    not certainly impossible (one the site cannot hold even idle is refused by the solve's power row)."""
    s, i, _ = key
    size = float(data.block_size[s])
    drawn = blocks * size * float(mw_per_gpu(data)[s, i])
    most, made_of = _most_site_mw(data, i)
    if drawn <= most * (1 + 1e-9):
        return
    count, gpus, meant = f"{blocks:,.0f}", blocks * size, blocks / size  # meant: blocks, were it GPUs
    as_gpus = (f"write {meant:,.0f} blocks, or give {count} in a buy_gpus row" if meant.is_integer()
               else f"give them in a buy_gpus row (whole blocks of {size:,.0f})")  # fmt: skip
    warn(f"{where}: value {count} (a buy row's, in blocks of {size:,.0f} {data.sku_names[s]} GPUs: {count} "
         f"blocks is {gpus:,.0f} GPUs) would draw {format_mw(drawn)} in service, more than "
         f"{data.sites[i].name} can ever have online ({format_mw(most)}: {made_of}); if {count} is GPUs, "
         f"{as_gpus}")


def _describe(key: tuple[int, int, int], data: ModelData) -> str:
    s, i, t = key
    return f"{data.sku_names[s]} at {data.sites[i].name} in {data.quarter_labels[t]}"
