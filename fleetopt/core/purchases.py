"""A procurement plan written by people: the GPU purchases a solve must make, read from a CSV file.

``fleetopt solve --purchases FILE`` fixes every purchase of the MILP to the file's (none where the
file has no row) and lets the solver choose the rest: use, redeployments, retirements, power,
contracts and debt (docs/formulation.md §4, "Fixed purchases"). The file has one row per
purchase with the columns ``quarter,sku,site,gpus``; a solve's own plan.csv is read too (its
``buy_gpus`` rows), so a planner may edit a plan and solve around it.
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from fleetopt.core.data import ModelData
from fleetopt.errors import InputError

COLUMNS = ("quarter", "sku", "site", "gpus")
PLAN_CSV_DECISION = "buy_gpus"  # the rows of a solve's plan.csv that are purchases (core/results.py)


@dataclass(frozen=True)
class FixedPurchases:
    """The purchases a plan must make: blocks by (SKU, site, quarter), every other purchase 0."""

    blocks: np.ndarray  # (S, I, T) whole blocks
    source: str  # the file, as given
    rows: int  # purchase rows read (zero rows included)

    def gpus(self, data: ModelData) -> float:
        return float((self.blocks * data.block_size[:, None, None]).sum())


def read_purchases(path: str | Path, data: ModelData) -> FixedPurchases:
    """The purchases of a CSV file, checked against the model: each error names the file, the
    line and the field (an unknown name lists the known ones)."""
    path = Path(path)
    text = _text_of(path)
    reader = csv.DictReader(io.StringIO(text))
    header = [name.strip() for name in (reader.fieldnames or [])]
    reader.fieldnames = header
    plan_csv = "decision" in header
    wanted = ("quarter", "sku", "site", "value") if plan_csv else COLUMNS
    missing = [c for c in wanted if c not in header]
    if missing:
        raise InputError(
            f"{path}: the header must name the columns {', '.join(COLUMNS)} (or be a solve's plan.csv); "
            f"missing: {', '.join(missing)}"
        )
    blocks = np.zeros((data.S, data.I, data.T))
    seen: dict[tuple[int, int, int], int] = {}
    rows = 0
    for row in reader:
        line = reader.line_num
        if plan_csv and (row.get("decision") or "").strip() != PLAN_CSV_DECISION:
            continue
        where = f"{path}, line {line}"
        key = _key(row, data, where)
        if key in seen:
            first = seen[key]
            raise InputError(f"{where}: a second row for {_describe(key, data)} (the first is line {first})")
        seen[key] = line
        blocks[key] = _blocks(row["value" if plan_csv else "gpus"], key, data, where)
        rows += 1
    return FixedPurchases(blocks=blocks, source=str(path), rows=rows)


def _text_of(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8-sig")  # a spreadsheet's CSV may start with a BOM
    except FileNotFoundError:
        raise InputError(f"purchases file {path} does not exist") from None
    except IsADirectoryError:
        raise InputError(f"purchases file {path} is a folder, not a CSV file") from None
    except UnicodeDecodeError:
        raise InputError(f"purchases file {path} is not UTF-8 text (a CSV file is expected)") from None
    except OSError as exc:
        raise InputError(f"purchases file {path} cannot be read: {exc.strerror}") from None


def _key(row: dict, data: ModelData, where: str) -> tuple[int, int, int]:
    quarter = _named(row, "quarter", data.quarter_labels, where, "quarters of the horizon")
    sku = _named(row, "sku", data.sku_names, where, "SKUs")
    site = _named(row, "site", [s.name for s in data.sites], where, "sites")
    if not data.on_sale[sku, quarter]:
        raise InputError(
            f"{where}: {data.sku_names[sku]} is not on sale in {data.quarter_labels[quarter]} "
            f"(its available_from and available_until in the model)"
        )
    return sku, site, quarter


def _named(row: dict, field: str, names: list[str], where: str, kind: str) -> int:
    value = (row.get(field) or "").strip()
    if value in names:
        return names.index(value)
    shown = names if len(names) <= 12 else [*names[:3], "...", *names[-3:]]
    raise InputError(f"{where}: {field} {value!r} is none of the model's {kind} ({', '.join(shown)})")


def _blocks(text: str | None, key: tuple[int, int, int], data: ModelData, where: str) -> float:
    """GPUs as whole blocks of the SKU (a purchase is whole racks or pods)."""
    try:
        gpus = float((text or "").replace(",", "").strip())
    except ValueError:
        raise InputError(f"{where}: gpus must be a number of GPUs (got {text!r})") from None
    size = float(data.block_size[key[0]])
    blocks = gpus / size if math.isfinite(gpus) else math.nan
    if not (blocks >= 0) or abs(blocks - round(blocks)) > 1e-9:
        raise InputError(
            f"{where}: gpus must be a whole number of {data.sku_names[key[0]]} blocks of {size:,.0f} GPUs, "
            f"0 or more (got {text!r})"
        )
    return float(round(blocks))


def _describe(key: tuple[int, int, int], data: ModelData) -> str:
    s, i, t = key
    return f"{data.sku_names[s]} at {data.sites[i].name} in {data.quarter_labels[t]}"
