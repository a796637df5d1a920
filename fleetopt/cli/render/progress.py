"""Progress of a long run: an evaluation's progress bar, a HiGHS solve's lines."""

from __future__ import annotations

import math
import os
import threading
import time
from contextlib import suppress

from fleetopt.core.units import (
    format_duration,
    format_gap,
    format_percent,
    format_usd,
)
from fleetopt.milp.highs import MipProgress, mip_progress

PROGRESS_EVERY = 60.0


class progress_bar:
    """An evaluation's progress over (plan, scenario) pairs: a rich bar with plans per second on a
    terminal; elsewhere (a log file, `docker logs`, a batch system) a line on ``lines`` (stderr's
    console) about every ``every`` seconds, so a slow job is told from a stuck one. The pairs a
    resumed run reads back from its saved chunks come by :meth:`read_back`, which the rate and the
    time left leave out (a resume with 227 of 300 chunks saved read "232.1 plans/s" for about 27),
    as the executor reads them: a saved chunk found corrupt is computed again, and counted so (a
    count of the chunk files, before, took 90 corrupt chunks of 104 as read back: "no block of
    scenarios done yet" while it computed them, then 16.5 plans/s for about 125). Off a terminal,
    the chunks read back before the first pairs computed (or the end) are said once, then: a resume
    under a batch log said nothing of them until its first minute's line.

    Used as ``with progress_bar(console, n_scenarios) as advance: ... advance(done, total)``. Timed
    from the first pairs done, so that a sweep's candidates, solved before, print as they come;
    ``total_pairs`` given, from the start, and off a terminal a line comes each ``every`` seconds
    by the clock, not only when a block of pairs ends (one plan of 1,000,000 scenarios is one block
    of the C build: its evaluation said nothing for its 91 s).
    """

    def __init__(self, console, n_scenarios: int, lines=None, every: float = PROGRESS_EVERY,
                 clock=time.monotonic, total_pairs: int | None = None):  # fmt: skip
        from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

        self.n_scenarios, self.kept, self.every, self.clock = n_scenarios, 0, every, clock
        self.kept_chunks, self.kept_parts, self.resume_said = 0, 0, False
        self.lines = None if console.is_terminal else lines
        self.progress = Progress(
            TextColumn("evaluating"),
            BarColumn(),
            TextColumn("{task.fields[plans]:,.0f} plans"),
            TextColumn("{task.fields[rate]}"),
            TimeElapsedColumn(),
            console=console,
            transient=True,
            disable=not console.is_terminal,  # a file or pipe would get only the blank line it leaves
        )
        self.task, self.started, self.last, self.done = None, None, None, 0
        self.total, self.lock, self.stop, self.timer = total_pairs, threading.Lock(), threading.Event(), None

    def __enter__(self):
        if self.total is not None:
            self.started = self.last = self.clock()
            if self.lines is not None:
                self.timer = threading.Thread(target=self._every, daemon=True)
                self.timer.start()
        return self

    def _every(self) -> None:
        while not self.stop.wait(self.every):
            self.tick()

    def tick(self) -> None:
        """A line, where none came in the last ``every`` seconds (within 10 %: the timer's ticks)."""
        with self.lock:
            now = self.clock()
            if self.total is not None and now - self.last >= 0.9 * self.every:
                self._say(now, self.total)

    def __call__(self, pairs: int, total_pairs: int) -> None:
        self.advance(pairs, total_pairs)

    def read_back(self, pairs: int, total_pairs: int) -> None:
        """``pairs`` read back from saved chunks: done, not computed now."""
        self.advance(pairs, total_pairs, read_back=True)

    def read_back_part(self, pairs: int, total_pairs: int) -> None:
        """``pairs`` of an unfinished chunk whose rows an earlier attempt kept: done, not computed now."""
        self.advance(pairs, total_pairs, read_back=True, part=True)

    def advance(self, pairs: int, total_pairs: int, read_back: bool = False, part: bool = False) -> None:
        with self.lock:
            self.kept += pairs if read_back else 0
            self.kept_chunks += 1 if read_back and not part else 0
            self.kept_parts += 1 if part else 0
            if not read_back:
                self._say_resuming(total_pairs)
            now = self.clock()
            if self.task is None:
                self.progress.start()
                self.task = self.progress.add_task("evaluate", total=total_pairs, plans=0.0, rate="")
                if self.started is None:
                    self.started = self.last = now
            self.total = total_pairs
            self.done += pairs
            self.progress.advance(self.task, pairs)
            rate = f"{self._rate(now):,.1f} plans/s"
            self.progress.update(self.task, plans=self.done / self.n_scenarios, rate=rate)
            if self.lines is not None and now - self.last >= self.every:
                self._say(now, total_pairs)

    def _say_resuming(self, total_pairs: int) -> None:
        """Off a terminal, once: 'resuming: 1 chunk saved earlier, 80,000 of 240,000 plan-scenario
        pairs (33%)', where chunks were read back, or 'resuming: 1 chunk and part of 1 saved
        earlier, ...' where an unfinished one's first blocks were kept (under ``self.lock``)."""
        if self.lines is None or self.resume_said or not (self.kept_chunks or self.kept_parts):
            return
        self.resume_said = True
        chunks = f"{self.kept_chunks:,} chunk{'s' if self.kept_chunks != 1 else ''}"
        if self.kept_parts:  # "1 chunk and part of 1", "part of 1 chunk"
            part = f"part of {self.kept_parts:,}"
            whole = f"{chunks} and {part}"
            chunks = whole if self.kept_chunks else f"{part} chunk{'s' if self.kept_parts != 1 else ''}"
        pairs = f"{self.kept:,} of {total_pairs:,} plan-scenario pairs"
        share = format_percent(self.kept / total_pairs, 0)
        said = f"  resuming: {chunks} saved earlier, {pairs} ({share})"
        self.lines.print(said, soft_wrap=True, highlight=False)

    def _say(self, now: float, total_pairs: int) -> None:
        """Print the progress :meth:`line` off a terminal, and note when (under ``self.lock``)."""
        self.last = now
        self._say_resuming(total_pairs)
        self.lines.print(f"  {self.line(now, total_pairs)}", soft_wrap=True, highlight=False)

    def _rate(self, now: float) -> float:
        """Plans per second computed by this run: the pairs read back from saved chunks left out."""
        return max(self.done - self.kept, 0) / self.n_scenarios / max(now - self.started, 1e-9)

    def line(self, now: float, total_pairs: int) -> str:
        """'evaluating: 120 of 300 plans (40%), 0:05:00, 0.4 plans/s, about 0:07:30 left'; before a
        block of pairs is done, 'evaluating: 0 of 1 plans (0%), 0:01:00, no block of scenarios done
        yet'; with every plan done, no time left (it read 'about 0:00:00 left')."""
        rate = self._rate(now)
        plans, total = self.done / self.n_scenarios, total_pairs / self.n_scenarios
        share, taken = format_percent(self.done / total_pairs, 0), format_duration(now - self.started)
        text = f"evaluating: {plans:,.{1 if total < 10 else 0}f} of {total:,.0f} plans ({share}), {taken}"
        if self.done <= self.kept:
            return text + ", no block of scenarios done yet"
        text += f", {rate:.3g} plans/s" if rate < 1 else f", {rate:,.1f} plans/s"  # one plan: 0.0137
        left = (total - plans) / rate if rate > 0 else 0.0
        return text + (f", about {format_duration(left)} left" if left > 0 else "")

    def __exit__(self, *exc):
        self.stop.set()
        if self.timer is not None:
            self.timer.join()
        with self.lock:
            if self.total:
                self._say_resuming(self.total)
        if self.task is not None:
            self.progress.stop()
        return False


def solving_line(progress: MipProgress, objective: str, offset: float = 0.0) -> str:
    """'solving: 0:01:30, best plan so far: NPV $18.69B, gap 0.17%': where a HiGHS run stands
    (``objective``: what its objective is; ``offset``: a constant of it HiGHS is not given, USD);
    'solving RP (the stochastic plan): ...' where the command runs several."""
    what = f" {progress.stage}" if progress.stage else ""
    line = f"solving{what}: {format_duration(progress.seconds)}"
    if not progress.priced:  # its objective is no plan's value
        return line
    if progress.best is None:
        return f"{line}, no plan found yet"
    line += f", best plan so far: {progress.called or objective} {format_usd(progress.best + offset)}"
    return line if progress.gap is None else f"{line}, gap {format_gap(progress.gap)}"


# how often a long HiGHS run says where it stands (solve_lines), seconds
SOLVING_EVERY = 15.0


class solve_lines:
    """While HiGHS solves (:func:`fleetopt.milp.highs.mip_progress`), a :func:`solving_line` on the
    terminal about every ``every`` seconds of a run that lasts longer, only where ``console``
    (stderr's) is a terminal: a file or pipe gets none, stdout never. Written to a copy of its file
    descriptor made on entry, as Pyomo captures descriptors 1 and 2 while HiGHS runs.

    Used as ``with solve_lines(err_console, "NPV"): api.solve(...)``; ``stream`` (a test's): the
    lines written there instead, terminal or not; ``clock``: the time the lines are spaced by."""

    def __init__(self, console, objective: str, offset: float = 0.0, every: float = SOLVING_EVERY,
                 clock=time.monotonic, stream=None):  # fmt: skip
        self.console, self.objective, self.offset, self.every = console, objective, offset, every
        self.clock, self.stream, self.own_stream = clock, stream, False
        self.listening, self.last, self.lock = None, -math.inf, threading.Lock()

    def __enter__(self):
        if self.stream is None and self.console.is_terminal:
            try:
                self.stream = open(os.dup(self.console.file.fileno()), "w", buffering=1)
                self.own_stream = True
            except (OSError, ValueError, AttributeError):  # no descriptor to copy: no lines
                pass
        if self.stream is not None:
            self.listening = mip_progress(self.report, self.every)
            self.listening.__enter__()
        return self

    def report(self, progress: MipProgress) -> None:
        """A line, unless the run is younger than ``every`` or the last line is (within 10 %: the
        timer's ticks come ``every`` seconds apart)."""
        with self.lock:
            now = self.clock()
            if progress.seconds < self.every or now - self.last < 0.9 * self.every:
                return
            self.last = now
            with suppress(OSError, ValueError):  # the terminal has gone: the work goes on
                self.stream.write(f"  {solving_line(progress, self.objective, self.offset)}\n")

    def __exit__(self, *exc):
        if self.listening is not None:
            self.listening.__exit__(*exc)
        if self.own_stream:
            with self.lock:
                self.stream.close()
        return False
