"""How a plan's purchases were completed on the forecast, in words: the rescue model's emergency
equity and each relaxed group, and the hard limits the plan's statements break. A stochastic plan
completed with the rescue (:func:`~fleetopt.stochastic.forecast_completion.complete_plan`) and a rescued solve
(`fleetopt solve --purchases FILE --rescue`) say them alike, in the terminal, a notebook and the
report."""

from __future__ import annotations

from fleetopt.core.units import format_usd
from fleetopt.milp.diagnose import entry_words


def slack_words(slacks: dict) -> list[str]:
    """Each relaxed group in words, the model's own covenant as its ``limit`` names it
    (:func:`entry_words`; a run written before it kept one: the group's words), with its amount in
    its unit: '(EBITDA - tax) / debt service covenant $876,000 short', 'power 2 MW short'."""
    return [f"{entry_words({**entry, 'group': group})} {_amount(entry['amount'], entry['unit'])} short"
            for group, entry in slacks.items()]  # fmt: skip


def _amount(value: float, unit: str) -> str:
    """USD as money; other units whole above 100, else to three digits (0.21 MW, not 0 MW)."""
    if unit == "USD":
        return format_usd(value)
    return f"{value:,.0f} {unit}" if abs(value) >= 100 else f"{value:.3g} {unit}"


def completion_facts(completion: dict) -> list[tuple[str, str, bool]]:
    """(label, words, a warning?) of how a plan was completed on the forecast (``completion``:
    ``method``, its ``rescue`` row where the rescue model did it, the ``limits_broken`` of
    :func:`~fleetopt.stochastic.forecast_completion.forecast_limits_broken`): a stochastic plan's,
    or a rescued solve's purchases."""
    if not completion:
        return []
    method, rescue = completion["method"], completion.get("rescue")
    if rescue:
        used = [
            f"revolver peak {format_usd(rescue['revolver_peak_usd'])}",
            f"emergency equity {format_usd(rescue['emergency_equity_usd'])}",
            *slack_words(rescue["slacks"]),
        ]
        method += f" ({', '.join(used)})"
    rows = [("plan completed by", method, False)]
    broken = completion.get("limits_broken")
    if broken is not None and not broken:
        rows.append(("forecast's hard limits", "kept (min cash, covenants, borrowing base)", False))
    for entry in broken or []:
        rows.append(("warning", f"the plan's statements break {broken_limit_words(entry)}", True))
    return rows


def broken_limit_words(entry: dict) -> str:
    """One entry of :func:`~fleetopt.stochastic.forecast_completion.forecast_limits_broken` in words:
    "<limit> on the forecast in <quarters> (lowest <cash>), without the revolver"."""
    lowest = f" (lowest {format_usd(entry['lowest_usd'])})" if "lowest_usd" in entry else ""
    return f"{entry['limit']} on the forecast in {', '.join(entry['quarters'])}{lowest}, without the revolver"
