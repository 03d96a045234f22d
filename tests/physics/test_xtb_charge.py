"""Charge and spin for GFN2-xTB (issue 21): acetate (charge -1) and triplet O2 (uhf 2) equal
tblite's own ASE calculator with the same settings; impossible combinations are typed errors."""

from __future__ import annotations

import numpy as np
import pytest
from ase.build import molecule
from tblite.ase import TBLite

from domains.physics.structures import atoms_to_json, parse_atoms, parse_molecule3d
from domains.physics.xtb import electronic_state, gfn2_xtb
from hub.errors import ItemError


@pytest.fixture(scope="module")
def xtb():  # noqa: ANN201
    return gfn2_xtb()


def tblite(atoms, **kw):  # noqa: ANN001, ANN201, ANN003
    a = atoms.copy()
    a.calc = TBLite(method="GFN2-xTB", verbosity=0, **kw)
    return a.get_potential_energy(), a.get_forces()


def test_acetate_from_smiles_json_and_params_equals_tblite(xtb) -> None:  # noqa: ANN001
    acetate = parse_molecule3d("CC(=O)[O-]")  # the formal charge comes with the SMILES
    assert electronic_state(acetate) == (-1, 0)
    ref_e, ref_f = tblite(acetate, charge=-1)
    plain = atoms_to_json(acetate)
    plain.pop("initial_charges")
    for structure in (acetate, parse_atoms(plain | {"charge": -1, "uhf": 0})):
        out = xtb(structure)
        assert out["energy"] == pytest.approx(ref_e, abs=1e-8)
        assert np.abs(out["forces"] - ref_f).max() < 1e-8
        assert out["total_charge"] == -1 and out["uhf"] == 0
    neutral = xtb(parse_atoms(plain))  # the same atoms without the charge: another answer
    assert abs(neutral["energy"] - ref_e) > 0.1


def test_triplet_o2_equals_tblite(xtb) -> None:  # noqa: ANN001
    o2 = molecule("O2")
    ref_e, ref_f = tblite(o2, multiplicity=3)
    out = xtb(parse_atoms(atoms_to_json(o2) | {"uhf": 2}))
    assert out["energy"] == pytest.approx(ref_e, abs=1e-8) and out["uhf"] == 2
    assert np.abs(out["forces"] - ref_f).max() < 1e-8
    o2.set_initial_magnetic_moments([1, 1])  # ASE's way, as tblite's calculator reads it
    assert xtb(o2)["energy"] == pytest.approx(ref_e, abs=1e-8)
    radical = parse_molecule3d("[O][O]")  # radicals in a SMILES
    assert electronic_state(radical) == (0, 2)
    singlet = xtb(parse_atoms(atoms_to_json(o2) | {"uhf": 0}))
    # GFN2-xTB has no spin polarisation here: the closed shell is another state, not lower
    assert abs(singlet["energy"] - out["energy"]) > 0.01


@pytest.mark.parametrize(
    ("name", "extra", "code"),
    [
        ("CH3", {"uhf": 0}, "impossible_spin"),  # odd electrons, no unpaired one
        ("H2O", {"uhf": 1}, "impossible_spin"),
        ("H2O", {"charge": 1, "uhf": 0}, "impossible_spin"),
        ("H2O", {"uhf": 6}, "impossible_spin"),  # more unpaired electrons than orbitals hold
        ("H2O", {"charge": 8}, "invalid_charge"),  # no valence electrons left (tblite crashes)
        ("H2O", {"charge": -5}, "invalid_charge"),  # more electrons than orbitals hold
        ("H2O", {"initial_charges": [0.5, 0, 0]}, "invalid_charge"),
    ],
)
def test_impossible_charge_and_spin_are_typed_errors(xtb, name, extra, code) -> None:  # noqa: ANN001
    with pytest.raises(ItemError) as e:
        xtb(parse_atoms(atoms_to_json(molecule(name)) | extra))
    assert e.value.code == code


def test_radical_gets_one_unpaired_electron_by_default(xtb) -> None:  # noqa: ANN001
    out = xtb(molecule("CH3"))
    assert out["uhf"] == 1
    assert out["energy"] == pytest.approx(tblite(molecule("CH3"), multiplicity=2)[0], abs=1e-8)


def test_charge_through_the_hub(client) -> None:  # noqa: ANN001
    """The atoms JSON's charge reaches the served model; a bad one is the item's error."""
    acetate = parse_molecule3d("CC(=O)[O-]")
    pred = client.predict("physics.gfn2-xtb", [acetate, "CC(=O)[O-]", molecule("CH3")])
    values = pred.values()
    assert values[0]["total_charge"] == -1 and values[1]["total_charge"] == -1
    assert values[0]["energy"] == pytest.approx(tblite(acetate, charge=-1)[0], abs=1e-6)
    bad = molecule("CH3")
    bad.info["uhf"] = 0
    assert client.predict("physics.gfn2-xtb", bad).errors()[0]["code"] == "impossible_spin"
