"""The copper neural-network potential: exact derivatives, invariances, typed errors, the hub's
runtime and tasks on it, and the quick build of its recipe."""

from __future__ import annotations

import io
import math

import numpy as np
import pytest
from ase import Atoms
from ase.build import bulk, fcc111
from ase.cluster import Icosahedron
from ase.neighborlist import neighbor_list

from domains.physics.nnp import DescriptorSpec, NNPotential, load_weights, neighbor_pairs
from domains.physics.structures import atoms_to_json

SPEC = DescriptorSpec()


def random_weights(seed: int = 0, hidden: int = 12) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    f = SPEC.n_features
    return {
        "feature_mean": rng.normal(0, 1, f),
        "feature_std": rng.uniform(1, 5, f),
        "energy_shift": np.array(-0.1),
        "energy_scale": np.array(0.3),
        "w0": rng.normal(0, 0.5, (f, hidden)),
        "b0": rng.normal(0, 0.1, hidden),
        "w1": rng.normal(0, 0.5, (hidden, 1)),
        "b1": np.zeros(1),
    }


@pytest.fixture(scope="module")
def potential() -> NNPotential:
    return NNPotential(random_weights(), SPEC)


def cu_cell() -> Atoms:
    atoms = bulk("Cu", "fcc", a=3.6, cubic=True) * (2, 1, 1)
    atoms.rattle(0.1, seed=4)
    return atoms


def cu_cluster() -> Atoms:
    atoms = Icosahedron("Cu", 2)
    atoms.rattle(0.1, seed=5)
    return atoms


def energy(pot: NNPotential, atoms: Atoms) -> float:
    return pot.evaluate([atoms, atoms])[0]["energy"]  # two: no cached pair list


@pytest.mark.parametrize("make", [cu_cell, cu_cluster])
def test_forces_are_minus_energy_gradient(potential: NNPotential, make) -> None:
    atoms = make()
    forces = potential.evaluate([atoms])[0]["forces"]
    h = 1e-5
    for i, k in [(0, 0), (3, 1), (len(atoms) - 1, 2)]:
        plus, minus = atoms.copy(), atoms.copy()
        plus.positions[i, k] += h
        minus.positions[i, k] -= h
        numeric = -(energy(potential, plus) - energy(potential, minus)) / (2 * h)
        assert abs(numeric - forces[i, k]) < 1e-6 * max(1.0, abs(forces[i, k]))
    assert abs(forces[:, 0]).max() > 1e-3  # a real test: the forces are not all zero
    np.testing.assert_allclose(forces.sum(axis=0), 0, atol=1e-9)


def test_stress_is_the_strain_derivative(potential: NNPotential) -> None:
    atoms = cu_cell()
    stress = potential.evaluate([atoms])[0]["stress"]
    eps, volume = 1e-6, atoms.get_volume()
    for voigt, (a, b) in enumerate([(0, 0), (1, 1), (2, 2), (1, 2), (0, 2), (0, 1)]):
        e = []
        for sign in (1, -1):
            strain = np.eye(3)
            strain[a, b] += sign * eps / (1 if a == b else 2)
            strain[b, a] += 0 if a == b else sign * eps / 2
            s = atoms.copy()
            s.set_cell(atoms.cell.array @ strain, scale_atoms=True)
            e.append(energy(potential, s))
        assert (e[0] - e[1]) / (2 * eps) / volume == pytest.approx(stress[voigt], abs=1e-8)


def test_invariant_under_permutation_translation_rotation(potential: NNPotential) -> None:
    atoms = cu_cell()
    ref = potential.evaluate([atoms])[0]
    perm = np.random.default_rng(0).permutation(len(atoms))
    moved = atoms[perm]
    moved.positions += [0.37, -1.3, 5.1]  # also moves atoms across the cell faces
    out = potential.evaluate([moved])[0]
    assert out["energy"] == pytest.approx(ref["energy"], abs=1e-10)
    np.testing.assert_allclose(out["forces"], ref["forces"][perm], atol=1e-10)
    cluster = cu_cluster()
    turned = cluster.copy()
    turned.rotate(37, (1, 2, 3), center="COM")
    assert energy(potential, turned) == pytest.approx(energy(potential, cluster), abs=1e-10)


def test_angular_terms_equal_the_triple_sum() -> None:
    import tensorflow as tf

    from domains.physics.nnp import descriptors, pack

    atoms = cu_cluster()
    p = pack([(atoms.positions, neighbor_pairs(atoms, SPEC.rc_radial))], SPEC.rc_angular)
    r = tf.constant(atoms.positions[p.pj] + p.offsets - atoms.positions[p.pi])
    x = descriptors(r, p.pi, p.pj, p.ang, len(atoms), SPEC, tf.float64).numpy()
    pos, centre = atoms.positions, 4
    others = [k for k in range(len(atoms)) if k != centre]
    vec = pos[others] - pos[centre]
    dist = np.linalg.norm(vec, axis=1)
    fc = np.where(dist < SPEC.rc_angular, 0.5 * (np.cos(np.pi * dist / SPEC.rc_angular) + 1), 0)
    cos = (vec @ vec.T) / np.outer(dist, dist)
    expected = []
    for eta in SPEC.angular_eta:
        w = np.exp(-eta * dist**2) * fc
        for zeta in SPEC.zetas:
            for lam in (1, -1):
                terms = (1 + lam * cos) ** zeta * np.outer(w, w)
                expected.append(2 ** (1 - zeta) * (terms.sum() - np.trace(terms)))
    np.testing.assert_allclose(x[centre, len(SPEC.radial) :], expected, rtol=1e-10)


@pytest.mark.parametrize(
    "atoms",
    [
        bulk("Cu", "fcc", a=3.6),  # one atom: many of its own images
        bulk("Cu", "fcc", a=3.6, cubic=True) * (2, 2, 2),
        fcc111("Cu", (2, 2, 3), vacuum=5.0),  # periodic in two directions
        Icosahedron("Cu", 2),  # no cell
    ],
)
def test_neighbour_pairs_match_ase(atoms: Atoms) -> None:
    atoms = atoms.copy()
    atoms.rattle(0.2, seed=3)
    atoms.positions += 7.3
    i, j, shift = neighbor_pairs(atoms, 5.5)
    d = np.linalg.norm(atoms.positions[j] + shift - atoms.positions[i], axis=1)
    reference = np.sort(neighbor_list("d", atoms, 5.5))
    np.testing.assert_allclose(np.sort(np.concatenate([d, d])), reference, atol=1e-10)


def test_weights_load_without_pickle() -> None:
    buf = io.BytesIO()
    np.savez(buf, w0=np.array([{"not": "a float"}], dtype=object))
    with pytest.raises(ValueError, match="pickle"):
        load_weights(buf.getvalue())


# -- through the hub: a quick build of the recipe, the runtime, the tasks ----------------------


@pytest.fixture(scope="module")
def nnp_runtime(runtime):  # noqa: ANN001, ANN201
    """The session's quick-built hub (tests/conftest.py): built once per run, not again here."""
    return runtime


def test_quick_build_registers_metrics_and_plots(nnp_runtime) -> None:
    version = nnp_runtime.resolve("physics.nnp-cu")
    assert version.kind == "physics.nnp"
    metrics = {m.name: m for m in version.metrics}
    for name in (
        "energy_mae_mev_per_atom",
        "force_mae_ev_per_angstrom",
        "bulk_modulus_emt_gpa",
        "nve_drift_mev_per_atom",
        "speed_us_per_atom_step",
        "emt_ase_speed_us_per_atom_step",
    ):
        assert math.isfinite(metrics[name].value), name
    assert metrics["energy_mae_mev_per_atom"].split == "test"
    assert 100 < metrics["bulk_modulus_emt_gpa"].value < 200  # EMT's Cu: about 134 GPa
    # a quick model may have no E(V) minimum: then the spec says so instead of a metric
    assert ("bulk_modulus_relative_error" in metrics) == (
        version.spec["eos"]["fit_nnp"] != "failed"
    )
    assert set(version.spec["plots"]) == {"plot_parity", "plot_eos", "plot_nve"}
    for role in version.spec["plots"]:
        assert nnp_runtime.artifacts.read(version.artifacts[role]).lstrip().startswith(b"<?xml")
    assert (
        version.dataset is not None
        and version.dataset.size == version.spec["data"]["n_configurations"]
    )
    assert version.spec["data"]["generation"]["temperatures_K"] == [300, 600, 900, 1200]


def test_output_has_the_simulator_shape_and_units(nnp_runtime) -> None:
    cell, slab = cu_cell(), fcc111("Cu", (2, 2, 3), vacuum=6.0)
    nnp = nnp_runtime.predict("physics.nnp-cu", [atoms_to_json(cell), atoms_to_json(slab)])
    emt = nnp_runtime.predict("physics.emt", [atoms_to_json(cell), atoms_to_json(slab)])
    for ours, theirs in zip(nnp.outputs, emt.outputs, strict=True):
        assert set(ours) == set(theirs)
        assert set(ours["value"]) == set(theirs["value"])
        assert ours["unit"] == theirs["unit"]
    assert nnp.outputs[0]["unit"] == {"energy": "eV", "forces": "eV/Å", "stress": "eV/Å^3"}
    assert np.shape(nnp.outputs[0]["value"]["forces"]) == (len(cell), 3)
    assert len(nnp.outputs[0]["value"]["stress"]) == 6
    assert "stress" not in nnp.outputs[1]["value"]


def test_gold_is_a_typed_error_not_an_extrapolation(nnp_runtime) -> None:
    au = {"symbols": ["Au"], "positions": [[0, 0, 0]]}
    cu = {"symbols": ["Cu", "Cu"], "positions": [[0, 0, 0], [2.5, 0, 0]]}
    mixed = {"symbols": ["Cu", "Au"], "positions": [[0, 0, 0], [2.6, 0, 0]]}
    out = nnp_runtime.predict("physics.nnp-cu", [au, cu, mixed]).outputs
    assert out[0]["error"]["code"] == "unsupported_element"
    assert "Au" in out[0]["error"]["message"]
    assert "value" in out[1] and math.isfinite(out[1]["value"]["energy"])
    assert out[2]["error"]["code"] == "unsupported_element"
    nan = {"symbols": ["Cu"], "positions": [[float("nan"), 0, 0]]}
    assert nnp_runtime.predict("physics.nnp-cu", [nan]).outputs[0]["error"]["code"] == "non_finite"


def test_parameters_in_a_prediction_are_refused(nnp_runtime) -> None:
    from hub.errors import InvalidRequest

    with pytest.raises(InvalidRequest):
        nnp_runtime.predict("physics.nnp-cu", [atoms_to_json(cu_cell())], {"cutoff": 3})


def test_relax_and_md_tasks_run_on_the_potential(nnp_runtime) -> None:
    from domains.physics import tasks

    predictor = nnp_runtime.predictor(nnp_runtime.resolve("physics.nnp-cu"))
    steps: list[int] = []
    cluster = cu_cluster()
    relaxed = tasks.relax(
        predictor, cluster, {"optimizer": "FIRE", "fmax": 0.05, "steps": 30},
        lambda step, total, msg: steps.append(step),
    )  # fmt: skip
    assert relaxed["energies"][-1] < relaxed["energies"][0] and steps
    params = tasks.TASKS[2].check_params({"steps": 20, "interval": 5, "temperature_K": 300})
    cell = bulk("Cu", "fcc", a=3.6, cubic=True) * (2, 2, 2)
    result = tasks.md(predictor, cell, params, lambda *a: None)
    assert result["frames"] == 5 and len(result["energies"]["total"]) == 5


def test_weights_that_do_not_fit_the_descriptor_are_refused() -> None:
    weights = random_weights()
    weights["w0"] = weights["w0"][:-1]
    with pytest.raises(ValueError, match="descriptor"):
        NNPotential(weights, SPEC)
    del weights["feature_std"]
    with pytest.raises(ValueError, match="feature_std"):
        NNPotential(weights, SPEC)
