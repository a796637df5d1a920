"""The risk factors' draws are those of tests/baselines/, on any CPU and across versions: a risk field
added later, absent, changes no model's scenarios.

Two layers (tests/regenerate_baselines.py writes both): every random stream's uniforms, integer
arithmetic and so the same bits on every CPU, by SHA-256 (draws.json); and every factor made from
them (factors.npz) to round-off, as exp, log and cos differ in their last bits between NumPy's SIMD
builds and versions. Measured on 2,000 scenarios of each model, AVX-512 against AVX2 on one machine
(NPY_DISABLE_CPU_FEATURES="X86_V4 AVX512_ICL") and NumPy 2.4.6 against 1.26.4: up to 6 ULP in the
multipliers, 4e-16 of the largest shift in the rate and spread shifts (whose values near 0 are sums
of larger terms), no integer changed. The integer factors compare exactly: they are comparisons of
uniforms, or of neocloud's default normals, which stay 0.03 from their threshold in these scenarios.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from regenerate_baselines import (
    DRAW_MODELS,
    DRAWS,
    FACTOR_ARRAYS,
    SCENARIOS,
    SEED,
    drawn_arrays,
    stream_record,
)

from fleetopt import api
from fleetopt.core.data import ModelData, load
from fleetopt.evaluate.factors import (
    FACTORS,
    Stream,
    StreamKey,
    Variate,
    recorded_streams,
    requested_streams,
    uniforms,
)

# a value moves when it differs by more than this share of itself, or of its array's largest value
# (about 45 ULP near 1: sevenfold the 6 ULP measured between SIMD builds and NumPy versions)
ROUND_OFF = 1e-14
REGENERATE = ("If the change is intended, run `python tests/regenerate_baselines.py`, review the diff of "
              "tests/baselines/ and commit it.")  # fmt: skip


def stored_draws(model: str) -> dict:
    return json.loads(DRAWS.read_text())["models"][model]


def stream_moves(stored: dict, now: dict) -> list[str]:
    """Each stream whose uniforms differ from its record, one drawn that was not or no longer drawn."""
    lines = [f"stream {name}: no longer drawn" for name in sorted(stored.keys() - now.keys())]
    lines += [
        f"stream {name}: drawn, absent from the baseline" for name in sorted(now.keys() - stored.keys())
    ]
    for name in sorted(stored.keys() & now.keys()):
        before, after = stored[name], now[name]
        if before == after:
            continue
        if before["shape"] != after["shape"]:
            lines.append(f"stream {name}: {before['shape']} uniforms drawn, now {after['shape']}")
        elif before["first"] != after["first"]:
            lines.append(
                f"stream {name}: its uniforms moved, the first {before['first']} -> {after['first']}"
            )
        else:
            lines.append(f"stream {name}: its uniforms moved (SHA-256), the first {len(before['first'])} not")
    return lines


def array_move(name: str, before: np.ndarray, after: np.ndarray, round_off: float = ROUND_OFF) -> str | None:
    """What moved of a factor's array, in words; None where it holds (floats to ``round_off``, 0: bit
    for bit)."""
    if before.shape != after.shape or before.dtype != after.dtype:
        return f"{name}: {before.dtype}{list(before.shape)} -> {after.dtype}{list(after.shape)}"
    if before.dtype.kind == "f":
        scale = np.maximum(np.abs(before), np.abs(before).max(initial=0.0))
        moved = ~(np.abs(after - before) <= round_off * scale)  # NaN moves too
    else:
        moved = after != before
    if not moved.any():
        return None
    at = np.unravel_index(np.argmax(np.where(moved, np.abs(after.astype(float) - before), -1.0)), moved.shape)
    words = f"{name}: {moved.sum()} of {moved.size} values moved, the most at {tuple(map(int, at))}: " \
            f"{before[at].item()!r} -> {after[at].item()!r}"  # fmt: skip
    if before.dtype.kind == "f" and before[at] != 0:
        relative = abs(after[at] / before[at] - 1)
        ulps = abs(after[at] - before[at]) / np.spacing(abs(before[at]))
        words += (
            f" ({relative:.1e} relative, {ulps:.0f} ULP)" if ulps < 1e6 else f" ({relative:.1e} relative)"
        )
    return words


def fail(model: str, moves: list[str]) -> None:
    edited = load(model)[0].content_hash != stored_draws(model)["model_hash"]
    cause = f"models/{model}.yaml changed since the baseline was written. " if edited else ""
    pytest.fail(f"{model}'s scenarios (seed 7) differ from tests/baselines/:\n  " + "\n  ".join(moves)
                + f"\n{cause}{REGENERATE}", pytrace=False)  # fmt: skip


@pytest.mark.parametrize("model", DRAW_MODELS)
def test_every_stream_draws_its_baseline_s_uniforms(model):
    streams, _ = drawn_arrays(load(model)[1])
    moves = stream_moves(stored_draws(model)["streams"], {n: stream_record(u) for n, u in streams.items()})
    if moves:
        fail(model, moves)


@pytest.mark.parametrize("model", DRAW_MODELS)
def test_every_factor_is_its_baseline_s_to_round_off(model):
    _, made = drawn_arrays(load(model)[1])
    stored = np.load(FACTOR_ARRAYS)
    before = {key.split("/", 1)[1]: stored[key] for key in stored.files if key.startswith(f"{model}/")}
    moves = [f"{name}: absent from the baseline" for name in made.keys() - before.keys()]
    moves += [f"{name}: no longer made" for name in before.keys() - made.keys()]
    compared = (array_move(name, before[name], made[name]) for name in sorted(made.keys() & before.keys()))
    moves += [move for move in compared if move]
    if moves:
        fail(model, moves)


def test_a_moved_value_is_named_with_how_far_it_moved():
    before = np.array([[1.0, 0.5], [2.0, 1e-3]])
    assert array_move("demand", before, before * (1 + 4e-16)) is None  # 2 ULP: round-off
    assert array_move("rate_shift", before, before + 1e-14) is None  # 1e-14 of the largest: round-off
    assert array_move("demand", before, before * (1 + 4e-16), round_off=0.0) == (
        "demand: 4 of 4 values moved, the most at (1, 0): 2.0 -> 2.000000000000001 (4.4e-16 relative, 2 ULP)"
    )
    after = before.copy()
    after[1, 0] = 2.0 * (1 + 1e-13)
    assert array_move("demand", before, after) == (
        "demand: 1 of 4 values moved, the most at (1, 0): 2.0 -> 2.0000000000002 (1.0e-13 relative, 450 ULP)"
    )
    alive = np.ones((2, 3), bool)
    assert array_move("contract_alive", alive, alive & (np.arange(3) < 2)) == (
        "contract_alive: 2 of 6 values moved, the most at (0, 2): True -> False"
    )
    assert array_move("delay", np.zeros(3, np.int32), np.array([0, 2, 0], np.int32)) == (
        "delay: 1 of 3 values moved, the most at (1,): 0 -> 2"
    )


def test_a_moved_stream_is_named_with_its_first_uniforms():
    stored = {"rate 0 normal u1": {"shape": [2, 3], "sha256": "a", "first": [0.1, 0.2, 0.3]},
              "cycle 0 normal u1": {"shape": [2, 3], "sha256": "b", "first": [0.4, 0.5, 0.6]}}  # fmt: skip
    now = {"rate 0 normal u1": {"shape": [2, 3], "sha256": "c", "first": [0.1, 0.25, 0.3]},
           "resale 0 normal u1": {"shape": [2, 3], "sha256": "d", "first": [0.7, 0.8, 0.9]}}  # fmt: skip
    assert stream_moves(stored, now) == [
        "stream cycle 0 normal u1: no longer drawn",
        "stream resale 0 normal u1: drawn, absent from the baseline",
        "stream rate 0 normal u1: its uniforms moved, the first [0.1, 0.2, 0.3] -> [0.1, 0.25, 0.3]",
    ]
    now = {**stored, "rate 0 normal u1": {**stored["rate 0 normal u1"], "sha256": "c"}}
    assert stream_moves(stored, now) == [
        "stream rate 0 normal u1: its uniforms moved (SHA-256), the first 3 not"
    ]


def tiny_cut() -> ModelData:
    """tiny with its second contract, enterprise-inference, kept at 60 % from 2027Q1 in half the futures."""
    cut = {"enterprise-inference": {"share_kept": 0.6, "from_quarter": "2027Q1", "probability": 0.5}}
    return api.load(api.edit("tiny", {"risk.contract_scale_back": cut}))[1]


def test_a_model_s_draw_lists_the_streams_it_requests():
    """tiny's 8 quarters: a walk's normals per quarter (prices' common shock, each use's demand, rate,
    electricity, resale), a uniform per quarter (the self-competition's arrival, each customer's default,
    its one site's late power and size), one uniform per scenario (the shock's size); its cut contract
    (its place 1 in contracts) one uniform per scenario on the scale-back's stream."""
    walks = [(Stream.PRICE, 0), (Stream.DEMAND, 0), (Stream.DEMAND, 1), (Stream.RATE, 0),
             (Stream.ELECTRICITY, 0), (Stream.RESALE, 0)]  # fmt: skip
    quarterly = [(Stream.SHOCK_ARRIVAL, 0), (Stream.CUSTOMER, 0), (Stream.CUSTOMER, 1),
                 (Stream.DELAY_LATE, 0), (Stream.DELAY_SIZE, 0)]  # fmt: skip
    expected = {StreamKey(*walk, variate): 8 for walk in walks
                for variate in (Variate.NORMAL_RADIUS, Variate.NORMAL_ANGLE)}  # fmt: skip
    expected |= {StreamKey(*stream, Variate.UNIFORM): 8 for stream in quarterly}
    expected |= {StreamKey(Stream.SHOCK_SIZE, 0, Variate.UNIFORM): 1}
    assert requested_streams(load("tiny")[1], SEED, SCENARIOS) == expected
    cut = StreamKey(Stream.SCALE_BACK, 1, Variate.UNIFORM)
    assert requested_streams(tiny_cut(), SEED, SCENARIOS) == {**expected, cut: 1}
    drawn = uniforms(SEED, SCENARIOS, (Stream.SCALE_BACK, 1), 1)
    np.testing.assert_array_equal(cut.uniforms(SEED, SCENARIOS, 1), drawn)


def test_recording_the_streams_changes_no_value_drawn():
    data = tiny_cut()
    plain = [factor.draw(data, SEED, SCENARIOS) for factor in FACTORS]
    with recorded_streams() as requested:
        recorded = [factor.draw(data, SEED, SCENARIOS) for factor in FACTORS]
    assert requested == requested_streams(data, SEED, SCENARIOS)
    for factor, before, after in zip(FACTORS, plain, recorded, strict=True):
        assert before.dtype == after.dtype and before.tobytes() == after.tobytes(), factor.name
    with recorded_streams() as outside:
        pass
    assert outside == {}
