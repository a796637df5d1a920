"""fleetopt: plan a GPU fleet (buy, redeploy, retire, power, debt) and test it against uncertain futures."""

import importlib

__version__ = "0.4.43"

__all__ = ["LoadedModel", "ModelError", "__version__", "load_model"]

# Loaded on first use: importing the package stays instant, so the `fleetopt` command can say
# "interrupted" to a Ctrl-C while its libraries load (fleetopt.cli) instead of a traceback.
_DEFINED_IN = {
    "LoadedModel": "fleetopt.schema.loaded_model",
    "ModelError": "fleetopt.schema.issues",
    "load_model": "fleetopt.schema.loading",
}


def __getattr__(name: str):
    if name in _DEFINED_IN:
        return getattr(importlib.import_module(_DEFINED_IN[name]), name)
    # `import fleetopt as fo; fo.solve(...)`, a notebook's first guess: the API's modules would
    # shadow it (fleetopt.evaluate is a package), so the message points to fleetopt.api instead
    hint = "" if name.startswith("_") else "; the Python API is fleetopt.api (import fleetopt.api as fo)"
    raise AttributeError(f"module 'fleetopt' has no attribute {name!r}{hint}")
