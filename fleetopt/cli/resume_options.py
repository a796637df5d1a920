"""A resumed job's options: those its job.json keeps applied again, those to keep for its resume, and a
finished job resumed again."""

from __future__ import annotations

import typer

from fleetopt import api
from fleetopt.cli.click_names import ClickException
from fleetopt.cli.consoles import console
from fleetopt.cli.given_options import given
from fleetopt.cli.written import command_line, finish_report
from fleetopt.errors import InputError
from fleetopt.evaluate.metrics import COST_RANK_COLUMNS, RANK_WORDS
from fleetopt.runs.folder import RunFolder
from fleetopt.runs.resume import RESUME_OPTIONS, kept_options
from fleetopt.runs.run_files import RunDirError

# ctx.meta: the options a resume took from its job.json (apply_kept_options)
_KEPT = "fleetopt.kept_options"


def apply_kept_options(ctx: typer.Context, run: RunFolder, names: tuple[str, ...]) -> None:
    """A resume ends as the run would have: each option of ``names`` not given now takes the value
    the stopped run's job.json keeps for it (:data:`RESUME_OPTIONS`: --report, a ranking), as if
    typed again; one given now replaces the kept one. The caller reads them from ``ctx.params``."""
    every = {opt: param for param in ctx.command.params for opt in (*param.opts, *param.secondary_opts)}
    tokens = iter(kept_options(run.path))
    for token in tokens:
        param = every.get(token)
        if param is None or param.name not in names or given(ctx, param.name):  # given now: its own
            if param is not None and not param.is_flag:
                next(tokens, None)  # and its value
            continue
        typed = None if param.is_flag else next(tokens, None)
        try:
            value = token in param.opts if param.is_flag else param.process_value(ctx, typed)
        except ClickException as exc:
            where = f"{run.path / RunFolder.JOB}: its {RESUME_OPTIONS} give {token} {typed!r}"
            raise InputError(f"{where}, which a resume cannot apply ({exc.format_message()})") from None
        ctx.params[param.name] = value
        ctx.meta.setdefault(_KEPT, set()).add(param.name)


def drop_kept_floor(ctx: typer.Context) -> None:
    """A service floor (--min-service) a resumed evaluation took from its job.json
    (:func:`apply_kept_options`) where the ranking given now (--rank-by) takes none, being by an NPV
    figure or P(any default): dropped with the ranking it went with, said in one line (it was refused,
    naming an option not typed, which --min-service 0 could not drop). One given now is the user's own:
    checked as given."""
    kept, rank_by = ctx.meta.get(_KEPT, set()), ctx.params["rank_by"]
    if "min_service" not in kept or not given(ctx, "rank_by") or rank_by.value in COST_RANK_COLUMNS:
        return
    floor, ctx.params["min_service"] = ctx.params["min_service"], None
    kept.discard("min_service")
    console.print(f"Note: --min-service {floor:g}, kept from the run's start, is dropped: --rank-by "
                  f"{rank_by.value} ranks by {RANK_WORDS[rank_by.value]}, and only a ranking by present cost "
                  "takes a service floor.", soft_wrap=True, highlight=False)  # fmt: skip


def options_again(ctx: typer.Context, names: tuple[str, ...]) -> list[str]:
    """The options among ``names`` the user gave (or a resume took from job.json:
    :func:`apply_kept_options`), as they would be typed again: what a resume must be given for the
    run to end as it would have (--report, a ranking), job.json keeping only the run's own settings."""
    by_name = {param.name: param for param in ctx.command.params}
    kept = ctx.meta.get(_KEPT, set())
    typed: list[str] = []
    for name in (n for n in names if given(ctx, n) or n in kept):
        param, value = by_name[name], ctx.params[name]
        if param.is_flag:
            typed += [param.opts[0]] if value else list(param.secondary_opts[:1])
        else:
            typed += [param.opts[0], str(getattr(value, "value", value))]
    return typed


def kept_for_resume(run: RunFolder, again: tuple[str, ...]) -> tuple[str, ...] | None:
    """Keep ``again`` in a stopped job's job.json for its resume command (:func:`resume_command`
    gives them, `fleetopt runs` too): None once they are there (or there is nothing to keep);
    where job.json cannot take them (a full disk), the options to give instead of its own."""
    if not again or not run.is_job or run.is_finished:
        return None
    try:
        job = run.job()
        if job.get(RESUME_OPTIONS) != list(again):
            run.write_job({**job, RESUME_OPTIONS: list(again)})
    except (OSError, InputError):
        return again
    return None


def finished_already(run: RunFolder, kind: str, report: bool) -> bool:
    """Whether ``run`` is a finished job of ``kind`` (evaluate, sweep), said so: a batch job retried
    after its run ended (a lost node, a wrapper's second try) then exits 0 as the run did, not 2 as
    bad input does. What a kill cut short is done now: the record of one killed while it was being
    recorded, the clean-up of one killed after, and its report.html where ``report`` (--report,
    given or kept) asks for one. False for any other folder (its resume says what it is)."""
    if not (run.is_finished and run.is_job and run.job().get("kind") == kind):
        return False
    what = "evaluation" if kind == "evaluate" else kind
    gone = run.results_missing(kind)
    if gone:  # it was "finished, nothing to resume" and exit 0, the results lost unsaid
        raise RunDirError(f"{run.path}: this {what} finished, but its {' and '.join(gone)} "
                          f"{'is' if len(gone) == 1 else 'are'} gone (removed or moved since): nothing to "
                          f"resume; run the {what} again into a new folder")  # fmt: skip
    try:  # a damaged one was "already finished", exit 0, pointing to `runs add`, which refuses it
        run.summary()
    except RunDirError as exc:
        raise RunDirError(f"{run.path}: this {what} finished, but {exc}") from None
    number = api.recorded_run_id(run.path)
    if number is None and run.left_untidy:  # killed while it was being recorded: as `runs add` does
        number = api.record_run(run.path, f"unknown (recorded afterwards by {command_line()})")
        done = f"recorded now as run {number}: fleetopt runs show {number}"
    elif number is None:  # forgotten on purpose (`fleetopt runs forget`)
        done = f"not in the registry: fleetopt runs add {run.path} records it"
    else:
        if run.left_untidy and not run.running_pid():  # killed once recorded, before its clean-up
            with run.held_while_tidied():
                pass
        done = f"run {number}: fleetopt runs show {number}"
    console.print(f"{run.path}: this {what} already finished ({done}); nothing to resume", soft_wrap=True,
                  highlight=False)  # fmt: skip
    finish_report(run.path, report and not (run.path / RunFolder.REPORT).exists())
    return True
