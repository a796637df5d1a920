r"""Two price factors with `mean_one`, worked by hand from docs/evaluation.md alone (the risk table's
`self_competition` and `new_generation_price_step` rows, "From the draws to the factors"), on
tests/test_doc_cases.py's ``hand`` model (4 quarters from 2026Q1, Hopper only unless a Blackwell
SKU is added below), no other risk.

**Self-competition**, `probability_per_quarter` p = 0.2, drops uniform in [0.1, 0.3] (mean drop
0.2): P(arrived by t) = 1 - 0.8^t = 0, 0.2, 0.36, 0.488, so the mean multiplier is
m_t = 1 - 0.2 P = 1, 0.96, 0.928, 0.9024 and every generation's factor is (1 - d [t >= arrival]) /
m_t. Without the shock: 1, 1.041667, 1.077586, 1.108156 (above the forecast); a drop of 0.2 arriving
in quarter 2: 1, 1.041667, 0.862069, 0.886525. From the draws: the arrival is the first t >= 1 with
the shock-arrival stream's u_t < p, the drop 0.1 + 0.2 u of the shock-size stream.

**The new generation's price step**, 0.2 (the stepped price 0.8 of the forecast's), Blackwell
released in the forecast in quarter r; shifts -1, 0, +1, +2 each 1/4.

* r = 1 (2026Q2): shift -1 would release it in quarter 0, which the docs exclude (never before the
  second quarter): it is released in quarter 1, as at shift 0. Quarter 1: the ratio of the stepped
  path to the forecast's is 1 (shifts -1, 0) or 1 / 0.8 = 1.25 (+1, +2): expectation 1.125, factors
  0.888889 and 1.111111. Quarter 2: 1 (-1, 0, +1) or 1.25 (+2): expectation 1.0625, factors 0.941176
  and 1.176471. Quarters 0 and 3: 1.
* r = 3 (2026Q4, the last quarter): quarter 2: 0.8 (shift -1) or 1: expectation 0.95, factors
  0.842105 and 1.052632; quarter 3: 1 (-1, 0) or 1.25 (+1, +2: released past the horizon, no step
  in it): factors 0.888889 and 1.111111. Quarters 0-1: 1.

From the draws: shift = floor(4u) - 1, u the generation-step stream's draw for Hopper.

**Three generations**: Blackwell released in 2026Q2 and Rubin in 2026Q4. Hopper steps once, at
Blackwell's release (its table above for r = 1, not again at Rubin's), Blackwell at Rubin's (the
table for r = 3), each shifted by its own draw (one per older generation: the stream's sub-index is
the older generation, Hopper 0, Blackwell 1); Rubin never steps. With Blackwell on sale since
2025Q4 and Rubin from 2026Q3, Hopper does not step at all (a newer generation ships at the start),
while Blackwell does.

**A step of 1** (the older generation worthless once the newer ships), with `mean_one`: a late
release's ratio is 1 / 0, and the factors are the limit of those of a step s below 1 as s -> 1.
r = 1: quarter 1's ratios 1 (-1, 0) or 1 / (1 - s) (+1, +2), expectation (2 + 2 / (1 - s)) / 4,
factors 4 / (2 + 2 / (1 - s)) -> 0 and 4 / (2 (1 - s) + 2) -> 2; quarter 2's 1 (-1, 0, +1) or
1 / (1 - s) (+2), factors -> 0 and 4. r = 3: quarter 2's 1 - s (-1) or 1, expectation (4 - s) / 4,
factors -> 0 and 4 / 3; quarter 3's as r = 1's quarter 1, 0 and 2. Each quarter's mean is 1.

**Without `mean_one`** both are a downside on top of the forecast: self-competition's factor is
1 - d from its arrival (1 before), and the step's is 0.8 from the shifted release on (1 before):
with r = 1, 1 in quarter 0 and 0.8 from quarter 1 (shifts -1 and 0), 2 (+1) or 3 (+2).
"""

from __future__ import annotations

import numpy as np
import pytest
from milp_builders import data_of, sku
from regenerate_baselines import RELEASE_STEPS, release_step_factors, stored_release_step
from test_doc_cases import hand_model
from test_factor_baselines import REGENERATE, array_move

from fleetopt.evaluate.factors import Stream, uniforms
from fleetopt.evaluate.scenarios import generate_scenarios

SEED, N = 3, 40
IDX = np.arange(N)


@pytest.mark.parametrize("mean_one", [True, False])
def test_self_competition_is_divided_by_its_mean_multiplier(mean_one):
    d = hand_model()
    d["risk"] = {"mean_one": mean_one, "self_competition": {"probability_per_quarter": 0.2,
                 "price_drop_min": 0.1, "price_drop_max": 0.3}}  # fmt: skip
    scen = generate_scenarios(data_of(d), SEED, 0, N)
    m = np.array([1.0, 0.96, 0.928, 0.9024])
    assert 1 / m == pytest.approx([1.0, 1.041667, 1.077586, 1.108156], abs=1e-6)
    assert (1 - 0.2 * (np.arange(4) >= 2)) / m == pytest.approx([1.0, 1.041667, 0.862069, 0.886525], abs=1e-6)
    hit = uniforms(SEED, IDX, (Stream.SHOCK_ARRIVAL, 0), 4) < 0.2
    hit[:, 0] = False
    arrival = np.where(hit.any(axis=1), hit.argmax(axis=1), 4)
    drop = 0.1 + 0.2 * uniforms(SEED, IDX, (Stream.SHOCK_SIZE, 0), 4)[:, 0]
    hand = (1 - drop[:, None] * (np.arange(4)[None, :] >= arrival[:, None])) / (m if mean_one else 1.0)
    assert set(arrival) >= {1, 2, 3, 4}
    for g in range(3):  # every generation alike
        assert scen.price_factor[:, g, :] == pytest.approx(hand)


RELEASE_1 = {-1: [1, 0.888889, 0.941176, 1], 0: [1, 0.888889, 0.941176, 1],
             1: [1, 1.111111, 0.941176, 1], 2: [1, 1.111111, 1.176471, 1]}  # fmt: skip
RELEASE_3 = {-1: [1, 1, 0.842105, 0.888889], 0: [1, 1, 1.052632, 0.888889],
             1: [1, 1, 1.052632, 1.111111], 2: [1, 1, 1.052632, 1.111111]}  # fmt: skip


ON_TOP_1 = {-1: [1, 0.8, 0.8, 0.8], 0: [1, 0.8, 0.8, 0.8], 1: [1, 1, 0.8, 0.8], 2: [1, 1, 1, 0.8]}
# a step of 1, the limit of the tables above (a finite price, where it was NaN: 0 / 0)
WORTHLESS_1 = {-1: [1, 0, 0, 1], 0: [1, 0, 0, 1], 1: [1, 2, 0, 1], 2: [1, 2, 4, 1]}
WORTHLESS_3 = {-1: [1, 1, 0, 0], 0: [1, 1, 4 / 3, 0], 1: [1, 1, 4 / 3, 2], 2: [1, 1, 4 / 3, 2]}


@pytest.mark.parametrize(
    ("release", "table", "mean_one", "step"),
    [("2026Q2", RELEASE_1, True, 0.2), ("2026Q4", RELEASE_3, True, 0.2), ("2026Q2", ON_TOP_1, False, 0.2),
     ("2026Q2", WORTHLESS_1, True, 1.0), ("2026Q4", WORTHLESS_3, True, 1.0)],
)
def test_the_release_step_moves_only_its_timing(release, table, mean_one, step):
    d = hand_model()
    d["risk"] = {"new_generation_price_step": step, "mean_one": mean_one}
    d["skus"]["B200"] = sku(generation="blackwell", available_from=release, capex_per_gpu_usd=50_000,
                            block_size_gpus=8)  # fmt: skip
    for use, price in (("training", 4.0), ("inference", 2.4)):
        d["market"]["price_usd_per_gpu_hour"][use]["blackwell"] = price
    scen = generate_scenarios(data_of(d), SEED, 0, N)
    if mean_one:
        assert np.mean(list(table.values()), axis=0) == pytest.approx([1.0] * 4, abs=1e-6)
    shift = np.floor(4 * uniforms(SEED, IDX, (Stream.GENERATION_STEP, 0), 4)[:, 0]).astype(int) - 1
    assert set(shift) == {-1, 0, 1, 2}
    hand = np.array([table[s] for s in shift])
    assert scen.price_factor[:, 0, :] == pytest.approx(hand, abs=1e-6)


def three_generations(blackwell: str, rubin: str):
    d = hand_model()
    d["risk"] = {"new_generation_price_step": 0.2}
    d["skus"]["B200"] = sku(generation="blackwell", available_from=blackwell, capex_per_gpu_usd=50_000,
                            block_size_gpus=8)  # fmt: skip
    d["skus"]["VR"] = sku(
        generation="rubin", available_from=rubin, capex_per_gpu_usd=60_000, block_size_gpus=8
    )
    for use, price in (("training", 4.0), ("inference", 2.4)):
        d["market"]["price_usd_per_gpu_hour"][use]["blackwell"] = price
        d["market"]["price_usd_per_gpu_hour"][use]["rubin"] = 1.5 * price
    return generate_scenarios(data_of(d), SEED, 0, N)


def test_each_older_generation_steps_once_at_its_own_draw():
    scen = three_generations("2026Q2", "2026Q4")
    for g, table in ((0, RELEASE_1), (1, RELEASE_3)):
        shift = np.floor(4 * uniforms(SEED, IDX, (Stream.GENERATION_STEP, g), 4)[:, 0]).astype(int) - 1
        assert scen.price_factor[:, g, :] == pytest.approx(np.array([table[s] for s in shift]), abs=1e-6)
    assert scen.price_factor[:, 2, :] == pytest.approx(np.ones((N, 4)))
    scen = three_generations("2025Q4", "2026Q3")
    assert scen.price_factor[:, 0, :] == pytest.approx(np.ones((N, 4)))
    assert scen.price_factor[:, 1, :].min() < 0.9


# "The hash, exactly" (docs/evaluation.md, "Scenarios are reproducible"), written from the document
# in plain Python integers: it must give fleetopt's draws, and with the walks' formulas, tiny's factors.
_M64 = 2**64


def _mix(x: int) -> int:
    x = (x + 0x9E3779B97F4A7C15) % _M64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) % _M64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) % _M64
    return x ^ (x >> 31)


def _documented_uniform(seed: int, i: int, source: int, sub: int, variate: int, t: int) -> float:
    x = _mix(seed ^ 0x5851F42D4C957F2D)
    x = _mix(x ^ _mix(i * 0x100000001B3 % _M64))
    for part in (source, sub, variate):
        x = _mix(x ^ _mix(part))
    x = _mix(x ^ (t * 0xD6E8FEB86659FD93 % _M64))
    return (x >> 11) / 2.0**53


def _documented_walk(seed: int, i: int, source: int, sub: int, sigma: float, quarters: int) -> list[float]:
    total, walk = 0.0, [1.0]
    for t in range(1, quarters):
        u1, u2 = (_documented_uniform(seed, i, source, sub, v, t) for v in (1, 2))
        z = np.sqrt(-2 * np.log(1 - u1)) * np.cos(2 * np.pi * u2)
        total += sigma * z / 2 - sigma**2 / 8
        walk.append(np.exp(total))
    return walk


def test_the_documented_hash_gives_the_draws():
    for source, sub in ((Stream.PRICE, 0), (Stream.CUSTOMER, 1), (Stream.SLIP_SIZE, 0)):
        got = uniforms(SEED, np.array([0, 7]), (source, sub), 3)
        assert got.tolist() == [[_documented_uniform(SEED, i, int(source), sub, 0, t) for t in range(3)]
                                for i in (0, 7)]  # fmt: skip


def test_tiny_scenario_made_from_the_documented_hash():
    from conftest import TINY_PATH

    from fleetopt.core.data import load

    _, data = load(TINY_PATH)
    scen = generate_scenarios(data, SEED, 2, 3)
    T = data.T
    for use in (0, 1):
        walk = _documented_walk(SEED, 2, 2, use, 0.2, T)
        assert scen.demand[0, use] / data.demand[use] == pytest.approx(walk, rel=1e-14)
    assert scen.resale_factor[0] == pytest.approx(_documented_walk(SEED, 2, 11, 0, 0.2, T), rel=1e-14)
    assert scen.electricity_factor[0] == pytest.approx(_documented_walk(SEED, 2, 10, 0, 0.15, T), rel=1e-14)
    # no self-competition arrives in this scenario: the price walk divided by the shock's mean multiplier
    mean_multiplier = 1 - (1 - 0.95 ** np.arange(T)) * 0.2
    price = np.array(_documented_walk(SEED, 2, 1, 0, 0.25, T)) / mean_multiplier
    assert scen.price_factor[0, 0] == pytest.approx(price, rel=1e-14)
    # customers sorted by name: enterprise-b (j = 0) defaults in quarter 3, lab-a (j = 1) in quarter 5
    first = [next(t for t in range(T) if _documented_uniform(SEED, 2, 6, j, 0, t) < 0.01) for j in (0, 1)]
    assert first == [3, 5]
    alive = {c.name: scen.contract_alive[0, k] for k, c in enumerate(data.contracts)}
    assert alive["enterprise-inference"].tolist() == [True] * 3 + [False] * 5


@pytest.mark.parametrize("step", RELEASE_STEPS)
def test_the_release_step_s_factors_are_those_of_before_bit_for_bit(step):
    """twosite's release-step factors (seed 7, 2,000 scenarios) at steps below 1 are the bits 0.4.39
    drew: the step-1 limit written as powers (kept ** -1 for 1 / kept) moved 1,404 of 72,000 values
    of step 0.45 by up to 2 ULP, a power's last bit depending on NumPy's build (the first reviewer's
    finding); below 1 they are divided again, as they were. tests/baselines/release_step.npz keeps
    0.4.39's factors (the SHA-256 of their bytes was 95be2548... at 0.45, 94aaf3d4... at 0.7). Compared
    bit for bit on any CPU: no exp, log or power, only sums, differences and quotients, each rounded
    once by IEEE 754 whatever NumPy's SIMD build (the same bits with AVX-512, AVX2 and NumPy 1.26)."""
    before, now = stored_release_step(step), release_step_factors(step)
    assert now.keys() == before.keys(), "the generations that step"
    moves = [array_move(f"generation {g}", before[g], now[g], round_off=0.0) for g in sorted(now)]
    if any(moves):
        pytest.fail(f"the release step {step}'s factors differ from tests/baselines/release_step.npz:\n  "
                    + "\n  ".join(filter(None, moves)) + f"\n{REGENERATE}", pytrace=False)  # fmt: skip
