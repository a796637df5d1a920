"""The planning-model file format (pydantic v2). See docs/model-format.md."""

from fleetopt.schema.commercial import Contract, Market
from fleetopt.schema.finance import Covenants, DebtFacility, Finance
from fleetopt.schema.hardware import FleetCohort, Generation, Sku, Use
from fleetopt.schema.model import Horizon, PlanningModel, contract_skus, cross_checks
from fleetopt.schema.risk import Risk, Robustness
from fleetopt.schema.sites import PowerExpansion, Site

__all__ = [
    "Contract",
    "Covenants",
    "DebtFacility",
    "Finance",
    "FleetCohort",
    "Generation",
    "Horizon",
    "Market",
    "PlanningModel",
    "PowerExpansion",
    "Risk",
    "Robustness",
    "Site",
    "Sku",
    "Use",
    "contract_skus",
    "cross_checks",
]
