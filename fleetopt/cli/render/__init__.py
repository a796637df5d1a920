"""Terminal output, a module per command or topic (`tables.py`: helpers the others share)."""
