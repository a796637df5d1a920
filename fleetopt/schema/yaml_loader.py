"""The YAML loader and dumpers of model files: duplicate keys refused, a plain number decimal (no octal,
hexadecimal or base 60), 1e12 a number; the dumpers write text back that the loader reads as the same
values.
"""

from __future__ import annotations

import re

import yaml


class LineLoader(yaml.SafeLoader):
    """A safe loader that refuses duplicate keys (a silent overwrite is a wrong answer)."""


def _construct_mapping(loader: LineLoader, node: yaml.MappingNode, deep: bool = False):
    seen: dict = {}  # each key as the schema reads it -> as written
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        try:
            hash(key)
        except TypeError:
            raise yaml.constructor.ConstructorError(
                None, None, "a key must be a plain value, not a list or mapping", key_node.start_mark
            ) from None
        # the schema strips surrounding spaces from text: "lab-a-training " would replace lab-a-training
        stripped = key.strip() if isinstance(key, str) else key
        if stripped in seen:
            spaces = "" if seen[stripped] == key else " (after removing surrounding spaces)"
            message = f"duplicate key {stripped!r}{spaces}"
            raise yaml.constructor.ConstructorError(None, None, message, key_node.start_mark)
        seen[stripped] = key
    return loader.construct_mapping(node, deep=deep)


LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)

# YAML 1.1 reads `gpus: 0400` as 256 (octal), `0xFA0` as hex, `2:30` as 150 (base 60), and leaves
# `0800` text: each a wrong answer or a puzzling error. A plain number in a model file is decimal.
_NOT_DECIMAL = re.compile(
    r"^[-+]?(?:0[0-9_]+|0[xXbBoO][0-9a-fA-F_]+|[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?)$"
)
_LEADING_ZERO_TAG = "tag:fleetopt,2026:leading-zero"


def _decimal_only(construct):
    def constructor(loader: LineLoader, node: yaml.ScalarNode):
        if _NOT_DECIMAL.match(node.value.strip()):
            raise yaml.constructor.ConstructorError(
                None, None, f"{node.value!r} is not a plain decimal number (YAML 1.1 would read a "
                "leading 0 as octal, 0x as hexadecimal and a:b as base 60): write it in decimal digits, "
                f"{_decimal_digits(node.value)}", node.start_mark,
            )  # fmt: skip
        return construct(loader, node)

    return constructor


def _decimal_digits(text: str) -> str:
    """'0400' -> '400', as the writer most likely meant; other forms: 'e.g. 4000'."""
    digits = text.strip().lstrip("+-").lstrip("0").replace("_", "")
    return digits if digits.isdigit() else "e.g. 4000 or 2.5"


LineLoader.add_constructor("tag:yaml.org,2002:int", _decimal_only(yaml.SafeLoader.construct_yaml_int))
LineLoader.add_constructor("tag:yaml.org,2002:float", _decimal_only(yaml.SafeLoader.construct_yaml_float))
# a leading 0 with an 8 or 9 (0800) is text in YAML 1.1, read as a number with quotes wrongly blamed
_LEADING_ZERO = re.compile(r"^[-+]?0[0-9_]+$")
LineLoader.add_implicit_resolver(_LEADING_ZERO_TAG, _LEADING_ZERO, list("-+0"))
LineLoader.add_constructor(_LEADING_ZERO_TAG, _decimal_only(yaml.SafeLoader.construct_yaml_str))
# YAML 1.1 (PyYAML) reads 1e12 and 1.0e12 as strings: it wants a dot and a signed exponent
# (1.0e+12). People write them as numbers, and YAML 1.2 reads them so: so does fleetopt.
_EXPONENT_FLOAT = re.compile(r"^[-+]?(?:[0-9][0-9_]*(?:\.[0-9_]*)?|\.[0-9][0-9_]*)[eE][-+]?[0-9]+$")
LineLoader.add_implicit_resolver("tag:yaml.org,2002:float", _EXPONENT_FLOAT, list("-+0123456789."))


class _ModelDumper(yaml.SafeDumper):
    """Writes text that this loader would read otherwise (1e8 as a number, 0800 as a number with a
    leading zero, which it refuses) in quotes, so text stays text."""


_ModelDumper.add_implicit_resolver("tag:yaml.org,2002:float", _EXPONENT_FLOAT, list("-+0123456789."))
_ModelDumper.add_implicit_resolver(_LEADING_ZERO_TAG, _LEADING_ZERO, list("-+0"))


def dump_yaml(data: object) -> str:
    """``data`` as model-file text that :func:`load_yaml` reads back as the same values."""
    return yaml.dump(data, Dumper=_ModelDumper, sort_keys=False, allow_unicode=True, width=100)


class WordsDumper(_ModelDumper):
    """One value written out whole where it appears twice (`{a: &x [1], b: *x}` as `{a: [1], b: [1]}`),
    not as PyYAML's anchor names (&id001, *id001), which the user never typed."""

    def ignore_aliases(self, data) -> bool:
        return True
