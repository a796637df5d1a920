"""The parameters the user gave, and those refused where they cannot apply (with --resume, without
--stochastic); threads and workers capped to the usable cores."""

from __future__ import annotations

import typer

from fleetopt.cli.click_names import ParameterSource
from fleetopt.errors import InputError
from fleetopt.evaluate import resources
from fleetopt.milp.highs import STOCHASTIC_MIP_GAP
from fleetopt.runs.folder import RunFolder


def given(ctx: typer.Context, name: str) -> bool:
    """Whether the user gave parameter ``name`` (on the command line or in the environment), even
    at its default value."""
    return ctx.get_parameter_source(name) in (ParameterSource.COMMANDLINE, ParameterSource.ENVIRONMENT)


def stochastic_gap(ctx: typer.Context, mip_gap: float) -> float:
    """A stochastic solve's gap: ``--mip-gap`` where given, else the Python API's 1 % (at a
    deterministic solve's 0.5 % the default model's stochastic search found no plan in 15 minutes)."""
    return mip_gap if given(ctx, "mip_gap") else STOCHASTIC_MIP_GAP


def option_names(ctx: typer.Context, names) -> list[str]:
    """Parameters as the user types them: --mip-gap, MODEL."""
    by_name = {param.name: param for param in ctx.command.params}
    return [
        by_name[n].opts[0] if isinstance(by_name[n], typer.core.TyperOption) else n.upper() for n in names
    ]


def refuse_unless(ctx: typer.Context, names, condition: bool, why: str) -> None:
    """Refuse the parameters of ``names`` the user gave when ``condition`` does not hold: an option
    that cannot apply is refused by name, never silently ignored."""
    named = [n for n in names if given(ctx, n)]
    if named and not condition:
        raise InputError(f"{', '.join(option_names(ctx, named))} {why}")


def refuse_without_stochastic(ctx: typer.Context, names) -> None:
    """The options of ``names`` that only a two-stage solve reads (`solve`'s, `sweep`'s
    --share-purchases), refused by name where --stochastic N is not given."""
    refuse_unless(ctx, names, ctx.params["stochastic"] is not None, "cannot apply without --stochastic N")


def refuse_with_resume(ctx: typer.Context, still_apply: tuple[str, ...] = ()) -> None:
    """--resume finishes a run with the settings it was started with (its job.json): an option or
    argument given beside it that cannot apply is refused by name, never silently ignored.
    ``still_apply``: the parameters that do apply to a resumed run (what is printed, --report)."""
    others = [p.name for p in ctx.command.params if p.name not in (*still_apply, "resume")]
    them = "them" if sum(given(ctx, n) for n in others) > 1 else "it"
    refuse_unless(
        ctx, others, False, f"cannot apply with --resume, which finishes a run with the settings it "
        f"started with (its {RunFolder.JOB}): drop {them}",
    )  # fmt: skip


def capped_threads(threads: int | None) -> int | None:
    """--threads, at most the cores this process may use, with a warning
    (:func:`fleetopt.evaluate.resources.capped_threads`, which the Python API applies too)."""
    return resources.capped_threads(threads, "--threads")


def capped_workers(workers: int, executor: str) -> int:
    """--workers, at most the cores this process may use, with a warning
    (:func:`fleetopt.evaluate.resources.capped_workers`, which the Python API applies too)."""
    return resources.capped_workers(workers, executor, "--workers")
