"""An unknown key in a model file: the field it most likely misspells, the place in the format of a
field so named, or why the format leaves it out.
"""

from __future__ import annotations

from difflib import get_close_matches

from pydantic import BaseModel

from fleetopt.schema.field_locations import block_at, clean_loc, field_paths

UNKNOWN_KEY = "unknown key (not part of the model format; check the spelling)"


# keys a user writes that the format leaves out on purpose (block's class name, key): why, in place of a
# near spelling that would mislead (a contract's `site` suggested `signed`)
_CONTRACT_NO_SITE = ("a contract names no site: its GPUs may serve it from any site, as power allows "
                     "(docs/model-format.md, Contracts)")
NOT_IN_THE_FORMAT = {("Contract", "site"): _CONTRACT_NO_SITE, ("Contract", "sites"): _CONTRACT_NO_SITE}


def unknown_key(path: tuple) -> str:
    """An unknown key, with the block's own key nearest its spelling, or else the place in the
    format of a field so named (`finance.discount_rate`: `horizon.discount_rate_annual`)."""
    if not path or not isinstance(path[-1], str):
        return UNKNOWN_KEY
    key, block = path[-1], block_at(path[:-1])
    if block is None:  # a block not found: a suggestion from elsewhere would mislead
        return UNKNOWN_KEY
    why = NOT_IN_THE_FORMAT.get((block.__name__, key))
    if why is not None:
        return f"{UNKNOWN_KEY}: {why}"
    near = _suggested_field(path)
    if near is not None:
        return f"{UNKNOWN_KEY}: did you mean {near!r}?"
    fields = field_paths()
    elsewhere = get_close_matches(key, list(fields), 1, 0.75)
    if elsewhere:
        return f"{UNKNOWN_KEY}; the format has {fields[elsewhere[0]]}"
    return UNKNOWN_KEY


def _suggested_field(path: tuple) -> str | None:
    """The field an unknown key at ``path`` is offered as its spelling (None: none, or the format
    leaves the key out on purpose and says why instead)."""
    if not path or not isinstance(path[-1], str):
        return None
    key, block = path[-1], block_at(path[:-1])
    if block is None or (block.__name__, key) in NOT_IN_THE_FORMAT:
        return None
    return nearest_field(block, key)


def fields_misspelt(errors: list, data: object) -> set[tuple]:
    """The paths of the fields an unknown key is offered as (`power_capcity_mw`: its block's
    `power_capacity_mw`): a required one among them is missing because it was misspelt, which the
    unknown key's line says, so it is not said again as a missing field."""
    misspelt = set()
    for err in errors:
        if err["type"] == "extra_forbidden":
            path, _ = clean_loc(err["loc"], data)
            near = _suggested_field(path)
            if near is not None:
                misspelt.add((*path[:-1], near))
    return misspelt


def nearest_field(block: type[BaseModel], key: str) -> str | None:
    """The field of ``block`` a misspelt ``key`` most likely meant: a close spelling, or the start of
    a longer name (`price`: `price_usd_per_gpu_hour`); None if none is near."""
    names = list(block.model_fields)
    near = get_close_matches(key, names, 1, 0.6) or [n for n in names if len(key) >= 4 and n.startswith(key)]
    return near[0] if near else None
