"""Speed of MD with the copper neural-network potential against EMT, in µs per atom-step.

Velocity Verlet (2 fs) on fcc Cu cells of 108, 256 and 864 atoms, in process: the NNP
(``physics.nnp-cu`` from the hub home's registry when it is built there, else random weights
of the same architecture: the speed does not depend on the weights), ASE's EMT, and asap3's
EMT when installed.

    HUB_HOME=. .venv/bin/python bench/nnp_speed.py [--steps 20]
"""

from __future__ import annotations

import argparse
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np

from domains.physics.nnp import DescriptorSpec, NNPotential, load_weights
from domains.physics.nnp_eval import NNPCalculator, speed


def load_potential() -> tuple[NNPotential, str]:
    """The registered potential, or one with random weights when none is built."""
    try:
        from hub.artifacts import ArtifactStore
        from hub.catalog import CatalogStore
        from hub.config import load_settings

        settings = load_settings()
        version = CatalogStore(settings.database_url).resolve("physics.nnp-cu")
        weights = load_weights(
            ArtifactStore(settings.artifacts_dir).read(version.artifacts["weights"])
        )
        spec = DescriptorSpec.from_dict(version.spec["descriptor"])
        return NNPotential(weights, spec), f"physics.nnp-cu:{version.version}"
    except Exception as exc:  # noqa: BLE001 - fall back to random weights, and say so
        spec, rng = DescriptorSpec(), np.random.default_rng(0)
        f, h = spec.n_features, 48
        weights = {
            "feature_mean": np.zeros(f), "feature_std": np.ones(f),
            "energy_shift": np.array(0.0), "energy_scale": np.array(0.01),
            "w0": rng.normal(0, 0.1, (f, h)), "b0": np.zeros(h),
            "w1": rng.normal(0, 0.1, (h, h)), "b1": np.zeros(h),
            "w2": rng.normal(0, 0.1, (h, 1)), "b2": np.zeros(1),
        }  # fmt: skip
        return NNPotential(weights, spec), f"random weights ({type(exc).__name__}: no built model)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=20)
    args = parser.parse_args()
    from ase.calculators.emt import EMT

    potential, name = load_potential()
    engines = {"NNP": lambda: NNPCalculator(potential), "ASE EMT": EMT}
    try:
        from asap3 import EMT as AsapEMT  # noqa: N811 - asap3's class name

        engines["asap3 EMT"] = AsapEMT
    except ImportError:
        print("asap3 is not installed: not measured")
    print(f"NNP: {name}; velocity Verlet, 2 fs, {args.steps} steps; µs per atom-step")
    print(f"{'atoms':>6} " + " ".join(f"{e:>10}" for e in engines))
    for cells in (3, 4, 6):
        row = [speed(make(), cells=cells, steps=args.steps) for make in engines.values()]
        print(f"{4 * cells**3:>6} " + " ".join(f"{v:>10.1f}" for v in row), flush=True)


if __name__ == "__main__":
    main()
