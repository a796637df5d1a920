"""What `fleetopt sweep` says as it runs and after: its progress (each candidate as it is made, the
solves, the evaluation's bar: :func:`sweeping`, :func:`say_candidate`), the candidates made and
dropped (:func:`candidate_counts`), what a re-ranking evaluated and solved (:func:`say_reranked`) and
what a failed sweep keeps (:func:`what_is_kept`).
"""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path

from fleetopt.cli.consoles import console, err_console
from fleetopt.cli.render.progress import progress_bar, solve_lines
from fleetopt.cli.render.sweep import bulleted_lines
from fleetopt.core.units import counted
from fleetopt.evaluate.kernel.compiler import KernelBuildError
from fleetopt.runs.folder import RunFolder
from fleetopt.runs.resume import resume_command
from fleetopt.runs.run_files import RunDirError
from fleetopt.sweep.candidate_record import dropped_words


def say_reranked(folder: Path, result) -> None:
    """What a re-ranking of the sweep ``folder`` evaluated again, and what it solved."""
    scenarios = counted(result.evaluation.n_scenarios, "scenario")
    solved = result.solved_now  # a new stress pick's planned buffers
    solves = f"solving only the new pick's {counted(len(solved), 'planned buffer')}" if solved else "no solve"
    # a new pick's second round replaces the old pick's: those rows leave the table
    whose = (f": its own but the old pick's second round ({'; '.join(result.left_out)}), which the new "
             "pick's replaces" if result.left_out else "")  # fmt: skip
    again = "" if result.left_out else " again"
    console.print(
        f"re-ranked {folder}: {counted(len(result.metrics), 'candidate')} evaluated{again} on its "
        f"{scenarios} (seed {result.evaluation.seed}){whose}, {solves}", soft_wrap=True, highlight=False,
    )  # fmt: skip


def what_is_kept(folder: Path, exc: Exception) -> str:
    """A sweep that failed after making candidates (its evaluation did not fit, its C build failed)
    keeps them."""
    if RunFolder(folder).making_candidates:
        return f"The candidates made so far are kept in {folder}: {resume_command('sweep', folder)}"
    if isinstance(exc, KernelBuildError):
        return (
            f"Its candidates are kept in {folder}: {resume_command('sweep', folder)} once the compiler "
            f"works, or evaluate them with fleetopt evaluate --plans {folder} --backend numpy"
        )
    return (
        f"Its candidates are kept in {folder}: evaluate them with fleetopt evaluate --plans {folder} "
        "(fewer --scenarios, or --max-memory)"
    )


@contextmanager
def sweeping(scenarios: int, stochastic: bool = False):
    """A sweep's progress: each candidate's solve (its best NPV so far, on stderr, on a terminal; its
    objective with a ``stochastic`` candidate, whose is not NPV alone) and the evaluation's bar, or
    its lines elsewhere; yields the bar's ``progress``."""
    lines = solve_lines(err_console, "objective" if stochastic else "NPV")
    with lines, progress_bar(console, scenarios, lines=err_console) as advance:
        yield advance


def resumed_sweeping(folder: Path):
    """:func:`sweeping` for a resumed sweep, as its job.json says (where it cannot be read, the resume
    refuses the folder, saying why, before any solve or evaluation)."""
    try:
        job = RunFolder(folder).job()
    except RunDirError:
        job = {}
    scenarios = job.get("n_scenarios")
    scenarios = scenarios if isinstance(scenarios, int) and scenarios > 0 else 1
    return sweeping(scenarios, bool(job.get("stochastic_scenarios")))


def say_candidate(line: str) -> None:
    """Each candidate as it is made: the solves of a large model take minutes in all."""
    console.print(f"  candidate {line}", soft_wrap=True, highlight=False)


def candidate_counts(result, width: int | None = None) -> str:
    """How many candidates were made, how many were evaluated, and each dropped one on a line of its
    own with why, as the report lists them (a paragraph of them ran to 2,500 characters); wrapped at
    ``width`` columns (None: each on one line), its later lines under its first word."""
    made = result.candidates.candidates
    line = f"{counted(len(made), 'candidate')} made, {len(result.metrics)} evaluated"
    dropped = [c for c in made if c.plan is None]
    if not dropped:
        return line
    listed = [f"{c.label}: {dropped_words(c)}" for c in dropped]
    listed = bulleted_lines(listed, width) if width else [f"  - {point}" for point in listed]
    return "\n".join([f"{line}, {len(dropped)} dropped:", *listed])
