"""Write the baselines of tests/baselines/: run it after an intended change, then review and commit the
diff of tests/baselines/.

    python tests/regenerate_baselines.py

It writes every baseline; those of unchanged code come out byte for byte as they were:

* ``tiny.lp`` (tests/test_milp_lp_baseline.py): the LP of the bundled tiny model, after a change of
  the formulation.
* ``draws.json`` and ``factors.npz`` (tests/test_factor_baselines.py): the bundled tiny, twosite and
  neocloud models' scenarios :data:`SCENARIOS` of seed :data:`SEED`, after a change of the risk
  factors' draws (fleetopt/evaluate/factors.py) or of those models' `risk` blocks. draws.json keeps
  the SHA-256 of each random stream's uniforms, which are integer arithmetic and so the same bits on
  any CPU; factors.npz each risk factor's arrays, made from them through exp, log and cos, whose last
  bits differ between NumPy's SIMD builds and versions (up to 6 ULP), so the test compares
  them to round-off. A new risk field, absent, must leave both as they are: regenerate only when the
  draws are meant to change.
* ``release_step.npz`` (tests/test_doc_cases_factors.py): the new generation's price step of twosite
  at steps 0.45 and 0.7 (seed 7, 2,000 scenarios), as each distinct quarterly row and each scenario's
  row; written from 0.4.39's factors (SHA-256 95be2548... and 94aaf3d4... of their bytes).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np

from fleetopt import api
from fleetopt.core.data import GENERATIONS, ModelData, load
from fleetopt.errors import FleetoptWarning
from fleetopt.evaluate.factors import (
    FACTORS,
    StreamKey,
    _generation_step,
    customer_default_quarters,
    recorded_streams,
)
from fleetopt.milp.build import build_model

BASELINES = Path(__file__).resolve().parent / "baselines"
# bundled model -> its LP baseline (forecast NPV objective, no diagnosis slacks, no robustness)
MODELS = {"tiny": BASELINES / "tiny.lp"}

DRAWS = BASELINES / "draws.json"
FACTOR_ARRAYS = BASELINES / "factors.npz"
DRAW_MODELS = ("tiny", "twosite", "neocloud")
SEED = 7
# a few scenarios, not consecutive (a scenario's draws depend on its number alone), among which
# every model draws a customer's default (tiny in 10, twosite in 38), late power and (twosite) a slip
SCENARIOS = np.array([0, 1, 2, 3, 5, 8, 10, 13, 21, 38, 1999])
# the variate a uniform feeds, by factors.Variate (a plain uniform, Box-Muller's u1 or u2)
VARIATES = ("uniform", "normal u1", "normal u2")

RELEASE_STEP = BASELINES / "release_step.npz"
RELEASE_STEPS = (0.45, 0.7)
RELEASE_SCENARIOS = 2000


def write_lp(model: str, path: Path) -> None:
    """The LP of a bundled model, with symbolic names so that a diff reads as the formulation."""
    _, data = load(model)
    build_model(data).write(str(path), io_options={"symbolic_solver_labels": True})


# ---------------------------------------------------------------- the draws and the factors


def stream_name(key: StreamKey) -> str:
    """A stream of uniforms in words: 'customer 1 normal u1' for (CUSTOMER, 1, Variate.NORMAL_RADIUS)."""
    return f"{key.source.name.lower()} {key.sub_index} {VARIATES[key.variate]}"


def drawn_arrays(data: ModelData) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """The uniforms of every stream a model's risk factors draw (by :func:`stream_name`), and the
    factors made from them with its customers' default quarters, for :data:`SCENARIOS` of :data:`SEED`:
    the factors are made while their streams are recorded (``factors.recorded_streams``), so the
    baselines hold the recording to changing no value."""
    with recorded_streams() as requested:
        made = {factor.name: factor.draw(data, SEED, SCENARIOS) for factor in FACTORS}
        made["customer_default_quarters"] = customer_default_quarters(data, SEED, SCENARIOS)
    streams = {stream_name(key): key.uniforms(SEED, SCENARIOS, n) for key, n in sorted(requested.items())}
    return streams, made


def uniforms_digest(uniforms: np.ndarray) -> str:
    """SHA-256 of the uniforms' bytes, little-endian float64 whatever the machine's byte order."""
    return hashlib.sha256(np.ascontiguousarray(uniforms, dtype="<f8").tobytes()).hexdigest()


def stream_record(uniforms: np.ndarray) -> dict:
    """What draws.json keeps of a stream: its shape, digest and first uniforms (to show a change)."""
    return {"shape": list(uniforms.shape), "sha256": uniforms_digest(uniforms),
            "first": uniforms[0, :3].tolist()}  # fmt: skip


def write_draws() -> None:
    draws, arrays = {"seed": SEED, "scenarios": SCENARIOS.tolist(), "models": {}}, {}
    for model in DRAW_MODELS:
        loaded, data = load(model)
        streams, made = drawn_arrays(data)
        records = {name: stream_record(uniforms) for name, uniforms in streams.items()}
        draws["models"][model] = {"model_hash": loaded.content_hash, "streams": records}
        arrays.update({f"{model}/{name}": values for name, values in made.items()})
    DRAWS.write_text(_draws_text(draws))
    np.savez_compressed(FACTOR_ARRAYS, **arrays)


def _draws_text(draws: dict) -> str:
    """draws.json's text with a stream a line, so that a diff names the streams that changed."""

    def one_line(value) -> str:
        return json.dumps(value, separators=(", ", ": "))

    models = []
    for model, record in draws["models"].items():
        streams = ",\n".join(f"   {one_line(name)}: {one_line(s)}" for name, s in record["streams"].items())
        models.append(f' {one_line(model)}: {{"model_hash": {one_line(record["model_hash"])}, "streams": {{\n'
                      f"{streams}\n  }}}}")  # fmt: skip
    return (f'{{"seed": {draws["seed"]}, "scenarios": {one_line(draws["scenarios"])}, "models": {{\n'
            + ",\n".join(models) + "\n}}\n")  # fmt: skip


# ---------------------------------------------------------------- the release step


def release_step_factors(step: float) -> dict[int, np.ndarray]:
    """twosite's (scenarios, quarters) release-step factor of each generation that steps, at ``step``
    under ``mean_one`` (seed 7, :data:`RELEASE_SCENARIOS` scenarios)."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FleetoptWarning)  # the step under mean_one: its timing only
        _, data = api.load(api.edit("twosite", {"risk.new_generation_price_step": step}))
    made = {g: _generation_step(data, 7, np.arange(RELEASE_SCENARIOS), g) for g in range(len(GENERATIONS))}
    return {g: factor for g, factor in made.items() if factor is not None}


def write_release_step() -> None:
    """Each factor as its distinct rows and each scenario's row: a few rows, since a scenario's step
    is one of four release shifts."""
    arrays = {}
    for step in RELEASE_STEPS:
        for generation, factor in release_step_factors(step).items():
            rows, row_of_scenario = np.unique(factor, axis=0, return_inverse=True)
            arrays[f"{step}/{generation}/rows"] = rows
            arrays[f"{step}/{generation}/row_of_scenario"] = row_of_scenario.reshape(-1).astype(np.int8)
    np.savez_compressed(RELEASE_STEP, **arrays)


def stored_release_step(step: float) -> dict[int, np.ndarray]:
    """release_step.npz's factors at ``step``, by generation, as :func:`release_step_factors` makes them."""
    stored = np.load(RELEASE_STEP)
    generations = sorted({int(key.split("/")[1]) for key in stored.files if key.startswith(f"{step}/")})
    return {g: stored[f"{step}/{g}/rows"][stored[f"{step}/{g}/row_of_scenario"]] for g in generations}


def main() -> None:
    BASELINES.mkdir(exist_ok=True)
    for model, path in MODELS.items():
        write_lp(model, path)
        print(f"wrote {path}")
    write_draws()
    print(f"wrote {DRAWS} and {FACTOR_ARRAYS}")
    write_release_step()
    print(f"wrote {RELEASE_STEP}")


if __name__ == "__main__":
    main()
