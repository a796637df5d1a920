"""fleetopt: plan a GPU fleet (buy, redeploy, retire, power, debt) and test it against uncertain futures."""

__version__ = "0.1.0"

from fleetopt.schema.loading import LoadedModel, ModelError, load_model

__all__ = ["LoadedModel", "ModelError", "__version__", "load_model"]
