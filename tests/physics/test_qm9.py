"""QM9 property models: data and units, the invariant SOAP featurizer, typed errors, and a
quick build of physics.qm9-gap served through the hub's keras model kind."""

from __future__ import annotations

import math

import numpy as np
import pytest
from ase import Atoms
from ase.build import molecule

from domains.physics import qm9
from domains.physics.descriptors import featurize_many, soap_pooled
from hub.errors import ItemError

# -- data and units ---------------------------------------------------------------------------


def test_qm9_rows_read_in_served_units() -> None:
    data = qm9.load_qm9(np.array([0, 1, 2]))  # CH4, NH3, H2O: the first three QM9 molecules
    assert data.smiles == ["C", "N", "O"]
    assert [len(z) for z in data.numbers] == [5, 4, 3]
    assert data.numbers[2].tolist() == [8, 1, 1]
    # the package stores hartree: methane's gap is 0.5048 Ha = 13.74 eV
    assert data.targets["gap"][0] == pytest.approx(0.5048 * 27.211386, rel=1e-6)
    assert data.targets["u0"][0] == pytest.approx(-40.47893 * 27.211386, rel=1e-6)
    assert data.targets["dipole"][1] == pytest.approx(1.6256)  # Debye, unchanged
    oh = np.linalg.norm(data.positions[2][1] - data.positions[2][0])
    assert 0.9 < oh < 1.0  # Å: the O-H bond of B3LYP water


def test_provenance_names_the_files() -> None:
    prov = qm9.provenance()
    assert set(prov.files) == set(qm9.PARTS)
    assert len(prov.sha256) == 64 and prov.bytes > 200_000_000
    assert qm9.count_rows() == 130_831


# -- the featurizer ---------------------------------------------------------------------------


def _random_rotation(rng: np.random.Generator) -> np.ndarray:
    q, r = np.linalg.qr(rng.normal(size=(3, 3)))
    q = q * np.sign(np.diag(r))
    return q if np.linalg.det(q) > 0 else -q


@pytest.fixture(scope="module")
def featurize():  # noqa: ANN201
    return soap_pooled()


def test_soap_is_invariant(featurize) -> None:  # noqa: ANN001
    rng = np.random.default_rng(1)
    mol = molecule("CH3CH2OH")
    base = featurize(mol)
    assert base.shape == (5 * 840 + 5,) and base.dtype == np.float32
    rotated = Atoms(mol.numbers, mol.positions @ _random_rotation(rng).T + [3.0, -7.0, 11.0])
    permuted = mol[rng.permutation(len(mol))]
    for other in (rotated, permuted):
        np.testing.assert_allclose(featurize(other), base, rtol=1e-5, atol=1e-6)
    # and it does see geometry: a stretched C-O bond changes the vector
    stretched = mol.copy()
    stretched.positions[mol.numbers == 8] += [0.3, 0.0, 0.0]
    assert np.abs(featurize(stretched) - base).max() > 1e-3


def test_soap_counts_elements(featurize) -> None:  # noqa: ANN001
    counts = featurize(molecule("CH3CH2OH"))[-5:]
    assert counts.tolist() == [6, 2, 0, 1, 0]  # H, C, N, O, F


@pytest.mark.parametrize("symbols", ["SiH4", "CH3Cl"])
def test_elements_outside_qm9_are_typed_errors(featurize, symbols: str) -> None:  # noqa: ANN001
    with pytest.raises(ItemError) as err:
        featurize(molecule(symbols))
    assert err.value.code == "unsupported_element"
    assert err.value.detail["elements"] == [s for s in ("Cl", "Si") if s in symbols]


def test_periodic_input_is_refused(featurize) -> None:  # noqa: ANN001
    water = molecule("H2O")
    water.cell, water.pbc = [10, 10, 10], True
    with pytest.raises(ItemError) as err:
        featurize(water)
    assert err.value.code == "invalid_atoms"


def test_worker_pool_matches_the_loop() -> None:
    data = qm9.load_qm9(np.arange(30))
    params = {"n_max": 3, "l_max": 2}
    serial = featurize_many(data.numbers, data.positions, params, workers=1, chunk=7)
    pooled = featurize_many(data.numbers, data.positions, params, workers=2, chunk=7)
    f = soap_pooled(**params)
    np.testing.assert_array_equal(serial, pooled)
    np.testing.assert_array_equal(serial[4], f(data.atoms(4)))


# -- a quick build, served through the hub ----------------------------------------------------


@pytest.fixture(scope="module")
def qm9_runtime(runtime):  # noqa: ANN001, ANN201
    """The session's quick-built hub (tests/conftest.py): built once per run, not again here."""
    return runtime


def test_quick_build_registers_metrics(qm9_runtime) -> None:  # noqa: ANN001
    version = qm9_runtime.resolve("physics.qm9-gap")
    assert version.kind == "keras"
    metrics = {(m.name, m.split): m for m in version.metrics}
    for name in ("mae", "rmse", "r2", "within_1sigma"):
        assert math.isfinite(metrics[name, "test"].value), name
    assert metrics["mae", "test"].n_samples == 400 and metrics["mae", "test"].n == 1  # one split
    assert metrics["mae", "test"].value < 1.3  # the gap's spread in QM9 is 1.3 eV
    curve = {m.name: m for m in version.metrics if m.split == "learning_curve"}
    assert sorted(curve) == ["mae_n1400", "mae_n500"]  # the full training part: 2000 - 400 - 200
    assert curve["mae_n1400"].value == metrics["mae", "test"].value  # the served model's own
    assert metrics["sigma_scale", "validation"].n_samples == 200
    for what in ("rotation", "translation", "permutation", "all_three"):
        assert metrics[f"max_change_{what}", "invariance"].value < 1e-5
    assert "mae_smiles_geometry" in {m.name for m in version.metrics}
    assert version.spec["featurizer"]["name"] == "physics.soap"
    assert version.spec["featurizer"]["params"]["species"] == ["H", "C", "N", "O", "F"]
    assert set(version.spec["plots"]) == {"plot_parity", "plot_uncertainty", "plot_learning_curve"}
    for role in version.spec["plots"]:
        assert qm9_runtime.artifacts.read(version.artifacts[role]).lstrip().startswith(b"<?xml")
    assert version.dataset.sha256 == qm9.provenance().sha256
    assert "Sci. Data 1, 140022" in version.dataset.citation


def test_gap_in_ev_from_smiles_says_which_geometry(qm9_runtime) -> None:  # noqa: ANN001
    out = qm9_runtime.predict("physics.qm9-gap", ["c1ccccc1", "O"]).outputs
    for o in out:
        assert o["unit"] == "eV"
        assert 3.0 < o["value"] < 15.0  # hartree would be ~0.25; B3LYP gaps here: 6.8, 9.3 eV
        assert o["uncertainty"] > 0
        assert "ETKDG" in o["geometry"] and "MMFF" in o["geometry"]
        assert "B3LYP/6-31G(2df,p)" in o["warning"]
        assert o["in_domain"] is True
        assert len(o["atoms"]["numbers"]) in (12, 3)


def test_given_structure_is_used_as_sent_and_invariant(qm9_runtime) -> None:  # noqa: ANN001
    data = qm9.load_qm9(np.array([20]))
    atoms = data.atoms(0)
    rng = np.random.default_rng(3)
    perm = rng.permutation(len(atoms))
    moved = atoms.positions[perm] @ _random_rotation(rng).T + [5.0, -2.0, 8.0]
    inputs = [
        {"numbers": atoms.numbers.tolist(), "positions": atoms.positions.tolist()},
        {"numbers": atoms.numbers[perm].tolist(), "positions": moved.tolist()},
    ]
    a, b = qm9_runtime.predict("physics.qm9-gap", inputs).outputs
    assert a["geometry"] == "given (used as sent)" and "atoms" not in a
    assert abs(a["value"] - b["value"]) < 1e-5
    assert abs(a["uncertainty"] - b["uncertainty"]) < 1e-5


def test_unsupported_element_in_a_batch(qm9_runtime) -> None:  # noqa: ANN001
    out = qm9_runtime.predict("physics.qm9-gap", ["CCl", "CCO", "[SiH4]", "C1CC"]).outputs
    assert out[0]["error"]["code"] == "unsupported_element"
    assert "Cl" in out[0]["error"]["message"]
    assert out[1]["unit"] == "eV"
    assert out[2]["error"]["code"] == "unsupported_element"
    assert out[3]["error"]["code"] == "invalid_smiles"


def test_large_molecules_are_out_of_domain(qm9_runtime) -> None:  # noqa: ANN001
    (out,) = qm9_runtime.predict("physics.qm9-gap", ["CCCCCCCCCCCC"]).outputs
    assert out["in_domain"] is False
    assert out["domain"]["heavy_atoms"] == 12
