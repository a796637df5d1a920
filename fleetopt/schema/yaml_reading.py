"""Reading a model file's YAML: its data and the line of every field, and each refusal in one line
(a syntax error with what it most likely means, a value PyYAML cannot make, aliases that expand to
millions of values, a text nested too deeply).
"""

from __future__ import annotations

import yaml

from fleetopt.schema.issues import ModelError, ModelIssue
from fleetopt.schema.shown_values import shown_value
from fleetopt.schema.yaml_loader import LineLoader


def line_index(
    node: yaml.Node | None, path: tuple = (), out: dict | None = None, visited: set | None = None
) -> dict:
    """Map every field path in the YAML node tree to its 1-based line.

    A node reached again through an alias is not walked again (its paths fall back to the
    line of the key that names the alias): this keeps recursive and nested aliases finite.
    """
    out = {} if out is None else out
    visited = set() if visited is None else visited
    if node is None or id(node) in visited:
        return out
    visited.add(id(node))
    out[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = key_node.value
            out[(*path, key)] = key_node.start_mark.line + 1
            line_index(value_node, (*path, key), out, visited)
            out[(*path, key)] = key_node.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            line_index(item, (*path, i), out, visited)
    return out


def line_for(lines: dict, path: tuple) -> int | None:
    for end in range(len(path), -1, -1):
        if path[:end] in lines:
            return lines[path[:end]]
    return None


def read_yaml(text: str, source: str) -> tuple[yaml.Node | None, object]:
    """The YAML of a model file: its node tree (for line numbers) and its data."""
    try:
        node = yaml.compose(text, Loader=LineLoader)
        data = yaml.load(text, Loader=LineLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        message = f"YAML syntax error: {exc.problem or exc}{_syntax_hint(exc, text)}"
        if "tag:yaml.org,2002:merge" in str(exc.problem):  # `<<: *defaults`
            message = "YAML merge keys (<<) are not supported: write the fields out (aliases work)"
        if exc.context and exc.context_mark and mark and exc.context_mark.line != mark.line:
            # e.g. an unclosed bracket is only noticed lines later: name where it opened.
            message += f" ({exc.context} on line {exc.context_mark.line + 1})"
        raise ModelError(source, [ModelIssue((), message, line)]) from None
    except yaml.YAMLError as exc:  # e.g. a reader error: a control character in the text
        position = getattr(exc, "position", None)
        line = text.count("\n", 0, position) + 1 if isinstance(position, int) else None
        message = f"YAML error: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}"
        raise ModelError(source, [ModelIssue((), message, line)]) from None
    except _VALUE_ERRORS as exc:  # a value PyYAML parses but cannot make: 2024-02-30, !!float abc
        raise ModelError(source, [_unreadable_value(node, exc)]) from None
    _refuse_alias_bomb(node, source)
    return node, data


# values a model file's aliases may repeat beyond the file's own: a few blocks reused, never millions
MAX_ALIASED_VALUES = 1_000_000


def _refuse_alias_bomb(root: yaml.Node | None, source: str) -> None:
    """Refuse YAML whose aliases, each naming a list that names another many times, expand to far
    more values than the file holds (a "billion laughs": 9 lists of 9 aliases are 387 million values,
    which the validation walked for minutes, its memory growing, as an edit's copy did)."""
    expanded: dict[int, int] = {}

    def count(node: yaml.Node) -> int:
        if id(node) not in expanded:
            expanded[id(node)] = 1  # a node within itself (&a [*a]) counts once
            inner = [n for pair in node.value for n in pair] if isinstance(node, yaml.MappingNode) else (
                node.value if isinstance(node, yaml.SequenceNode) else [])  # fmt: skip
            expanded[id(node)] = 1 + sum(map(count, inner))
        return expanded[id(node)]

    total = count(root) if root is not None else 0
    if total > len(expanded) + MAX_ALIASED_VALUES:
        words = (f"its aliases (*name) expand its {len(expanded):,} values written to {total:,}, more than "
                 "any model needs: write the values out, or alias fewer")
        raise ModelError(source, [ModelIssue((), words)])


# what PyYAML's words for the commonest slips mean: a tab, and a line indented to no level of the lines
# above it (3 spaces among keys at 4), which PyYAML names by its grammar's tokens
_YAML_HINTS = {
    "found character '\\t' that cannot start any token": (
        ": a tab, which YAML does not allow there: use spaces"
    ),
    "expected <block end>, but found '<block mapping start>'": (
        ": most likely this line is indented to no level of the lines above it (indent it as far as "
        "the keys it belongs with)"
    ),
}


_NO_COLON = "most likely lacks the ':' after its key"


def _shown_line(lines: list[str], index: int) -> str:
    """A line of the file as a message quotes it: without its indentation and comment."""
    return repr(lines[index].split(" #")[0].strip())


def _syntax_hint(exc: yaml.MarkedYAMLError, text: str) -> str:
    """What PyYAML's words mean for the slip most likely behind them: a key without its ':' (YAML
    then reads the next line's key as more of its text), a value holding ': ', a line indented deeper
    than the key above it; else :data:`_YAML_HINTS`."""
    problem, mark, lines = str(exc.problem), exc.problem_mark, text.splitlines()
    if problem == "could not find expected ':'" and exc.context_mark is not None:
        return f": line {exc.context_mark.line + 1} ({_shown_line(lines, exc.context_mark.line)}) {_NO_COLON}"
    if problem != "mapping values are not allowed here" or mark is None or mark.line >= len(lines):
        return _YAML_HINTS.get(problem, "")
    if ": " in lines[mark.line][: mark.column]:
        return ": this line's value holds ': ' (a colon and a space), read as another key: quote the value"
    above = [n for n in range(mark.line) if lines[n].strip() and not lines[n].lstrip().startswith("#")]
    if above and ":" not in lines[above[-1]]:
        return f": line {above[-1] + 1} ({_shown_line(lines, above[-1])}) {_NO_COLON}"
    return (": most likely this line is indented deeper than the key above it, so YAML reads it as more of "
            "that key's value (indent it as far as the keys it belongs with)")


# what PyYAML's constructors raise for a value they cannot make (not YAMLError): an impossible
# date (ValueError), `!!bool maybe` (KeyError), `!!map [a]` (TypeError), an integer of thousands
# of digits (ValueError: Python's limit on converting them)
_VALUE_ERRORS = (ValueError, TypeError, KeyError, OverflowError)
_NODE_WORDS = {yaml.SequenceNode: "a list", yaml.MappingNode: "a mapping"}


def _unreadable_value(root: yaml.Node, exc: Exception) -> ModelIssue:
    """The issue of the first value (children before their parent) that PyYAML cannot make, with
    its line and text."""
    loader = LineLoader("")
    stack, order, seen = [root], [], set()
    while stack:  # every node once (an alias is a node met again), parents before children; reversed below
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        order.append(node)
        if isinstance(node, yaml.MappingNode):
            stack.extend(n for pair in node.value for n in pair)
        elif isinstance(node, yaml.SequenceNode):
            stack.extend(node.value)
    for node in reversed(order):
        try:
            loader.construct_object(node, deep=True)
        except _VALUE_ERRORS as found:
            scalar = isinstance(node, yaml.ScalarNode)
            written = shown_value(node.value) if scalar else _NODE_WORDS[type(node)]
            kind = node.tag.rsplit(":", 1)[-1].replace("timestamp", "date")  # bool, int, float, map ...
            reason = str(found).splitlines()[0] if isinstance(found, ValueError) else f"not a {kind}"
            if "int_max_str_digits" in reason:  # Python's limit, advising a call no author can make
                reason = f"it has {len(node.value):,} digits, more than any model's figure (a typing slip?)"
            article = "an" if kind[0] in "aeiou" else "a"
            message = f"YAML value {written} cannot be read as {article} {kind}: {reason}"
            return ModelIssue((), message, node.start_mark.line + 1)
        except yaml.YAMLError:
            continue
    return ModelIssue((), f"YAML value cannot be read: {exc}")


NESTED_TOO_DEEPLY = "the YAML is nested too deeply to read (a model file needs a few levels)"


def load_yaml(text: str, source: str) -> object:
    """The data of a model file's YAML, read as fleetopt reads it (duplicate keys refused; a text
    nested too deeply to read, as a `--set` value can be, refused by name)."""
    try:
        return read_yaml(text, source)[1]
    except RecursionError:
        raise ModelError(source, [ModelIssue((), NESTED_TOO_DEEPLY)]) from None


def holds_no_value(text: str) -> bool:
    """Whether YAML reads ``text`` as no value at all: nothing but a comment (`#N/A` pasted from a
    spreadsheet), a document marker (`---`). Both read as null, as `null` and `~` do, which are
    written out to remove a field (`--set PATH=null`); these are not."""
    node = yaml.compose(text, Loader=LineLoader)
    return node is None or (node.tag == "tag:yaml.org,2002:null" and node.value == "")
