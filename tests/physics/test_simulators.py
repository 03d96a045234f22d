"""Lennard-Jones and GFN2-xTB through the hub equal the engines run directly."""

from __future__ import annotations

import numpy as np
import pytest
from ase import Atoms
from ase.build import molecule

from domains.physics.structures import atoms_to_json


def test_lennard_jones_analytic_minimum(runtime) -> None:  # noqa: ANN001
    card = runtime.store.resolve("physics.lennard-jones")
    sigma, eps = card.spec["params"]["sigma"], card.spec["params"]["epsilon"]
    r0 = 2 ** (1 / 6) * sigma
    grid = np.linspace(0.95 * r0, 1.05 * r0, 41)
    dimers = [atoms_to_json(Atoms("Ar2", positions=[[0, 0, 0], [0, 0, r]])) for r in grid]
    out = runtime.predict("physics.lennard-jones", dimers).outputs
    energies = [o["value"]["energy"] for o in out]
    k = int(np.argmin(energies))
    assert grid[k] == pytest.approx(r0, rel=3e-3)
    # ASE shifts the potential to zero at the cutoff: the well depth is eps minus that shift
    shift = (
        4
        * eps
        * ((sigma / card.spec["params"]["rc"]) ** 12 - (sigma / card.spec["params"]["rc"]) ** 6)
    )
    assert energies[k] == pytest.approx(-eps - shift, rel=1e-3)
    assert abs(out[k]["value"]["forces"][0][2]) < 1e-3


def test_xtb_matches_tblite_directly(runtime) -> None:  # noqa: ANN001
    from tblite.ase import TBLite

    water = molecule("H2O")
    out = runtime.predict("physics.gfn2-xtb", [atoms_to_json(water)]).outputs[0]
    ref = water.copy()
    ref.calc = TBLite(method="GFN2-xTB", verbosity=0)
    assert abs(out["value"]["energy"] - ref.get_potential_energy()) < 1e-6
    np.testing.assert_allclose(out["value"]["forces"], ref.get_forces(), atol=1e-6)
    assert out["unit"] == {
        "energy": "eV",
        "forces": "eV/Å",
        "dipole": "D",
        "charges": "e",
        "homo_lumo_gap": "eV",
        "total_charge": "e",  # the electronic state it computed (issue 21)
        "uhf": "unpaired electrons",
    }
    assert out["value"]["total_charge"] == 0 and out["value"]["uhf"] == 0
    assert 1.5 < np.linalg.norm(out["value"]["dipole"]) < 3.0  # water: about 2 D
    assert abs(sum(out["value"]["charges"])) < 1e-6
    assert 5 < out["value"]["homo_lumo_gap"] < 20


def test_xtb_from_smiles_says_which_geometry(runtime) -> None:  # noqa: ANN001
    out = runtime.predict("physics.gfn2-xtb", ["CCO", "C1CC"]).outputs
    assert "ETKDG" in out[0]["geometry"] and len(out[0]["atoms"]["numbers"]) == 9
    assert out[1]["error"]["code"] == "invalid_smiles"


def test_xtb_scf_not_converged_is_typed(built_home) -> None:  # noqa: ANN001
    from domains.physics.xtb import gfn2_xtb
    from hub.errors import ItemError

    compute = gfn2_xtb(max_iterations=2)
    with pytest.raises(ItemError) as e:
        compute(molecule("C6H6"))
    assert e.value.code == "scf_not_converged"


def test_xtb_rejects_periodic_and_heavy(runtime) -> None:  # noqa: ANN001
    out = runtime.predict(
        "physics.gfn2-xtb",
        [
            {"symbols": ["U"], "positions": [[0, 0, 0]]},
            {
                "symbols": ["H", "H"],
                "positions": [[0, 0, 0], [0, 0, 0.74]],
                "cell": [5, 5, 5],
                "pbc": True,
            },
        ],
    ).outputs
    assert [o["error"]["code"] for o in out] == ["unsupported_element", "invalid_atoms"]
