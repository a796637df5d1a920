"""Run folders (what a run writes, atomically) and the SQLite run registry."""
