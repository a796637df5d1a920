"""Bundled planning models. This folder is shipped inside the wheel as the package `fleetopt.models`."""
