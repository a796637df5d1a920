"""Core numbers: quarters, the resolved model data, plans and their economics (written once)."""
