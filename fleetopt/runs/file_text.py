"""A run's files as text: strict JSON (NumPy numbers as numbers, a figure that is not finite as
null) and CSV tables to six decimals."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd


def json_text(obj) -> str:
    """``obj`` as strict JSON (what jq and other languages read): NumPy numbers as numbers, and a
    figure that is not finite (NaN: no scenario to average; an infinite ratio) as null."""
    return json.dumps(finite_json(obj), indent=2, allow_nan=False) + "\n"


def csv_text(frame: pd.DataFrame) -> str:
    """A table as a run writes it (metrics, candidates, statements): six decimals, and a value that
    rounds to zero written 0.000000, never -0.000000 (a round-off a reader would take for a loss)."""
    numbers = frame.select_dtypes("float").columns
    cleaned = frame.copy()
    cleaned[numbers] = frame[numbers].mask(frame[numbers].abs() <= 5e-7, 0.0)
    return cleaned.to_csv(index=False, float_format="%.6f")


def finite_json(o):
    """``o`` with NumPy numbers as Python's and every figure that is not finite as None: what strict
    JSON can hold (a summary.json, a registry record)."""
    if isinstance(o, dict):
        return {k: finite_json(v) for k, v in o.items()}
    if isinstance(o, (list, tuple)):
        return [finite_json(v) for v in o]
    if isinstance(o, np.ndarray):
        return finite_json(o.tolist())
    if isinstance(o, (np.floating, np.integer, np.bool_)):
        o = o.item()
    if isinstance(o, float) and not math.isfinite(o):
        return None
    if o is None or isinstance(o, (str, int, float, bool)):
        return o
    raise TypeError(f"not JSON serialisable: {type(o)}")


def as_bytes(content: bytes | str) -> bytes:
    """A file's ``content`` as written: text in UTF-8, as fleetopt writes every run file."""
    return content.encode("utf-8") if isinstance(content, str) else content
