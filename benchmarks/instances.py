"""Larger planning models generated from the bundled default, for the MILP benchmark."""

from __future__ import annotations

import copy

import yaml

from fleetopt.schema.loaded_model import LoadedModel
from fleetopt.schema.model_file import bundled_model_path
from fleetopt.schema.parsing import parse_model_text


def default_model_dict() -> dict:
    return yaml.safe_load(bundled_model_path("neocloud").read_text())


def scaled(sites: int = 1, quarters: int | None = None, sku_copies: int = 1) -> dict:
    """The default model with each site copied ``sites`` times, another horizon length, and each
    purchasable SKU copied ``sku_copies`` times (same figures: a stress on model size, not realism)."""
    d = default_model_dict()
    if quarters is not None:
        d["horizon"]["quarters"] = quarters
    if sites > 1:
        new_sites = {}
        for name, site in d["sites"].items():
            for n in range(sites):
                new_sites[name if n == 0 else f"{name}-{n + 1}"] = copy.deepcopy(site)
        d["sites"] = new_sites
    if sku_copies > 1:
        installed = {c["sku"] for c in d.get("fleet", [])}
        for name, sku in list(d["skus"].items()):
            if name in installed:
                continue
            for n in range(1, sku_copies):
                d["skus"][f"{name}-v{n + 1}"] = copy.deepcopy(sku)
    d["name"] = f"{d['name']}-s{sites}-q{d['horizon']['quarters']}-k{sku_copies}"
    return d


def load_dict(d: dict) -> LoadedModel:
    text = yaml.safe_dump(d, sort_keys=False)
    return LoadedModel(parse_model_text(text, d["name"]), d["name"], text)


INSTANCES = {
    "default": {},
    "sites x2": {"sites": 2},
    "quarters 40": {"quarters": 40},
    "skus x2": {"sku_copies": 2},
    "sites x2, quarters 40": {"sites": 2, "quarters": 40},
}
