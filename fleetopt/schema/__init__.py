"""The planning-model file format (pydantic v2). See docs/model-format.md.

Nothing is re-exported here: import each name from the module that defines it.
"""
