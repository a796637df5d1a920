"""Batch evaluation of candidate plans under uncertainty (NumPy reference, CuPy kernel on GPUs).

See docs/evaluation.md for the semantics and the plan-file format.

Nothing is re-exported here: import each name from the module that defines it.
"""
