"""Chunks an earlier attempt of a run stored, read back before any is computed
(:func:`read_back_stored`), and reported to the progress callback as read back, not computed
(:func:`report_read_back`)."""

from __future__ import annotations

from collections.abc import Callable


def read_back_stored(chunks, store, progress, n_scenarios: int, total: int) -> dict[int, dict]:
    """The chunks ``store`` holds intact, by their index in ``chunks``, each reported to ``progress``
    as read back (:func:`report_read_back`): all of them before any chunk is computed, so that a
    resume says every chunk saved earlier, a saved chunk after an unsaved one too (worker
    processes finish theirs out of order)."""
    found = {}
    for index, (first, stop) in enumerate(chunks):
        done = store.load(first, stop) if store is not None else None
        if done is not None:
            found[index] = done
            if progress:
                report_read_back(progress, (stop - first) * n_scenarios, total)
    return found


def report_read_back(progress: Callable[[int, int], None], pairs: int, total: int, part: bool = False
                     ) -> None:  # fmt: skip
    """Report ``pairs`` (plan, scenario) pairs of ``total`` read back from a run's saved chunks
    (``part``: the first blocks of an unfinished chunk, its rows kept), not computed: to
    ``progress.read_back(pairs, total)`` (``progress.read_back_part`` for a part) where the callback
    has one (the CLI's progress bar, whose rate and time left count only the pairs computed now),
    else as pairs done."""
    said = getattr(progress, "read_back_part", None) if part else None
    (said or getattr(progress, "read_back", progress))(pairs, total)
