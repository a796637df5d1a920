"""Hand-checkable planning models for the MILP tests.

`base_model()` returns a minimal valid model as a plain dict, built so that the economics
can be worked out on paper:

* one site ``s1`` with ample power, PUE 1, free electricity, no fixed cost, no expansion;
* one SKU ``A`` (hopper): 1-GPU blocks, $4,000 per GPU, 1 kW, no idle draw, no opex,
  throughput 1 for both uses, on sale over the whole horizon;
* resale curve [1.0, 0.0]: linear from 100 % when new to 0 % at one year, so a GPU's market
  value falls by $1,000 per quarter, whichever quarter it was bought in; selling (and the
  end-of-horizon valuation) loses half of it, so that selling a GPU to buy a new one never
  pays (with no discounting and no selling cost, churn would tie with keeping);
* market price $1/GPU-hour for every generation and use, billed every hour (utilisation 1),
  so one GPU on the market earns 2,190 USD a quarter (8,760 h / 4);
* demand far above anything bought, zero discount rate, no tax, no overhead, no debt,
  no covenants, $1bn opening cash, no contracts, no installed fleet.

Tests change what their mechanism needs with ordinary dict edits, then `load(d)`.
"""

from __future__ import annotations

import copy

import yaml

from fleetopt.core.data import ModelData, build_data
from fleetopt.schema.loaded_model import LoadedModel
from fleetopt.schema.parsing import parse_model_text

HOURS = 8760.0 / 4.0  # hours in a quarter, as fleetopt.core.quarters.HOURS_PER_QUARTER


def sku(**overrides) -> dict:
    """A SKU entry with the base figures, overridden by keyword."""
    out = {
        "generation": "hopper",
        "available_from": "2026Q1",
        "block_size_gpus": 1,
        "capex_per_gpu_usd": 4000.0,
        "power_kw_per_gpu": 1.0,
        "idle_power_fraction": 0.0,
        "training_throughput": 1.0,
        "inference_throughput": 1.0,
        "opex_per_gpu_quarter_usd": 0.0,
        "useful_life_years": 1.0,
        "resale_fraction_by_age_years": [1.0, 0.0],
        "training_eligibility": {"quarters_after_release": 80},
    }
    out.update(overrides)
    return out


BASE: dict = {
    "name": "handmade",
    "description": "hand-checkable MILP test instance",
    "horizon": {"start": "2026Q1", "quarters": 4, "discount_rate_annual": 0.0},
    "skus": {"A": sku()},
    "sites": {
        "s1": {
            "power_capacity_mw": 1000.0,
            "pue": 1.0,
            "electricity_price_usd_per_mwh": 0.0,
        }
    },
    "fleet": [],
    "market": {
        "billed_utilization": 1.0,
        "demand_gpus": {"training": 1.0e6, "inference": 1.0e6},
        "price_usd_per_gpu_hour": {"training": {"all": 1.0}, "inference": {"all": 1.0}},
    },
    "contracts": {},
    "finance": {
        "opening_cash_usd": 1.0e9,
        "min_cash_usd": 0.0,
        "reference_rate_annual": 0.0,
        "overhead_usd_per_quarter": 0.0,
        "tax_rate": 0.0,
        "facilities": {},
    },
    "redeployment": {"cost_per_gpu_usd": 0.0},
    "retirement": {"resale": True, "selling_cost_fraction": 0.5},
}


def base_model() -> dict:
    """A fresh deep copy of the minimal valid model (safe to mutate)."""
    return copy.deepcopy(BASE)


def late_demand_model() -> dict:
    """8 quarters at 10 %/year, no power online, 720 GPUs of training demand from quarter 5 only
    (0.9 MW at PUE 1.25), and one kind of power block to build: 1 MW for $1M, lead time 2,
    10-year life, fixed cost $10k per MW-quarter online."""
    d = base_model()
    d["horizon"].update(quarters=8, discount_rate_annual=0.10)
    d["sites"]["s1"].update(
        power_capacity_mw=0.0,
        pue=1.25,
        fixed_cost_per_mw_quarter_usd=10000.0,
        expansion={
            "block_mw": 1.0,
            "capex_per_mw_usd": 1.0e6,
            "lead_time_quarters": 2,
            "earliest_start": "2026Q1",
            "max_blocks": 3,
            "useful_life_years": 10.0,
        },
    )
    d["market"]["demand_gpus"] = {"training": [0, 0, 0, 0, 0, 720, 720, 720], "inference": 0.0}
    return d


def load(d: dict) -> LoadedModel:
    """Validate a model dict exactly as a model file would be (raises ModelError if invalid)."""
    text = yaml.safe_dump(d, sort_keys=False)
    return LoadedModel(parse_model_text(text, "test"), "test", text)


def data_of(d: dict) -> ModelData:
    """The resolved numbers of a model dict."""
    return build_data(load(d))


def cohort_index(data: ModelData, sku_name: str, site: str, bought: int) -> int:
    """Index of the new cohort of ``sku_name`` at ``site`` bought in quarter ``bought``."""
    s = data.sku_names.index(sku_name)
    i = [x.name for x in data.sites].index(site)
    for c in data.cohorts:
        if not c.existing and (c.sku, c.site, c.bought) == (s, i, bought):
            return c.index
    raise KeyError((sku_name, site, bought))
