"""What a bad command line says: an option's value refused in our words, an argument given as an
option, an option of one value given twice."""

from __future__ import annotations

from fleetopt.cli.click_names import ClickException

_NUMBER_EXAMPLES = "write it in digits: 0.05 or 1e-4"
# examples that fit an option (a money option is read by usd_amount, with its own): by a fragment of
# its name as the message quotes it
_OPTION_EXAMPLES = (
    ("-prob'", "write a probability as a fraction: 0.25 for 25 %"),
    ("'--time-limit'", "write it in seconds, in digits: 300 for 5 minutes"),
)
# typer checks an option's type with pydantic, whose words name its own machinery (a whole number's
# are whole_number's own)
_PYDANTIC_WORDS = (
    ("Value error, ", ""),
    ("Input should be a valid number, unable to parse string as a number",
     f"not a number ({_NUMBER_EXAMPLES})"),
)  # fmt: skip


def option_words(message: str) -> str:
    """A bad option's message without pydantic's wording ("Value error, 'x' is not one of ..."); a
    number's examples fit its option (a probability's are fractions, a time limit's seconds)."""
    for theirs, ours in _PYDANTIC_WORDS:
        message = message.replace(theirs, ours)
    for name, examples in _OPTION_EXAMPLES:
        if name in message:
            return message.replace(_NUMBER_EXAMPLES, examples)
    return message


def argument_not_option(exc) -> str | None:
    """For ``--model`` where the model is the command's argument ('No such option: --model (Possible
    options: --help)'): that it is an argument, with the command's usage; else None."""
    name = getattr(exc, "option_name", None)
    ctx = getattr(exc, "ctx", None)
    if not name or ctx is None or not name.startswith("--"):
        return None
    wanted = name[2:].replace("-", "_")
    arguments = [p.name for p in ctx.command.params if p.param_type_name == "argument"]
    if wanted not in arguments:
        return None
    usage = ctx.command.get_usage(ctx).removeprefix("Usage: ").strip()
    return f"no option {name}: the {wanted} is given without it, as an argument ({usage})"


def repeated_option(group, args: list[str]) -> str | None:
    """The first option of one value given more than once in ``args`` (``--plans A --plans B``:
    the parser keeps the last and drops the rest without a word), as an error; else None (and
    None with ``--help``, which wins). Each level of the command tree is parsed by its own parser,
    as the parse proper does: a group's stops at its sub-command, and an option's value is never
    read as an option or a command."""
    if "--help" in args:
        return None
    command, rest = group, list(args)
    while command is not None:
        ctx = type(command).context_class(command, info_name=command.name, resilient_parsing=True)
        try:
            _, rest, order = command.make_parser(ctx).parse_args(args=rest)
        except ClickException:
            return None  # the parse proper reports it
        found = _repeated_in(order)
        commands = getattr(command, "commands", {})
        if found or not rest or rest[0] not in commands:
            return found
        command, rest = commands[rest[0]], rest[1:]
    return None


# what to do instead where an option of one value is given twice, by the option's name
_INSTEAD = {"plans": ": to evaluate the plans of several runs on the same scenarios, give them to `fleetopt "
                     "compare RUN RUN ...`, or your purchases files to `fleetopt sweep --purchases FILE "
                     "--purchases FILE`"}


def _repeated_in(order) -> str | None:
    """The first parameter of one value that ``order`` (the parser's, one entry per use) holds twice."""
    seen: set[str] = set()
    for param in order:
        flag = getattr(param, "is_flag", False)
        if param.param_type_name != "option" or param.multiple or getattr(param, "count", False):
            continue
        if flag and not param.secondary_opts:  # --report twice says the same thing twice
            continue
        if param.name in seen:
            names = " / ".join([max(param.opts, key=len), *param.secondary_opts])
            if flag:
                return f"{names} is given more than once: give one of them once"
            return (f"{names} is given more than once: it takes one value (only the last would be used)"
                    + _INSTEAD.get(param.name, ""))
        seen.add(param.name)
    return None
