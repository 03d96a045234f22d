"""Constraints, initial moments and charges in the atoms JSON, and relax jobs that honour them
(issue 21): fixed slab layers stay exactly put, constrained relaxations equal ASE's own, the
cell relaxes with FrechetCellFilter, bad constraints are typed errors."""

from __future__ import annotations

import numpy as np
import pytest
from ase.build import add_adsorbate, bulk, fcc111
from ase.calculators.emt import EMT
from ase.constraints import FixAtoms, FixBondLength, FixCartesian, FixedLine, FixedPlane
from ase.filters import FrechetCellFilter
from ase.optimize import BFGS
from ase.units import GPa

from domains.physics.structures import atoms_to_json, parse_atoms
from hub.client import HubClient
from hub.client.atoms import decode_atoms, encode_atoms
from hub.errors import HubError, ItemError


def slab_with_o(site: str = "fcc"):  # noqa: ANN201
    """Cu(111) 2x2x3 with O in a hollow site, the bottom layer fixed."""
    slab = fcc111("Cu", size=(2, 2, 3), vacuum=6.0)
    add_adsorbate(slab, "O", 1.6, site)
    slab.set_constraint(FixAtoms(indices=[a.index for a in slab if a.tag == 3]))
    return slab


def test_constraints_moments_and_charges_round_trip() -> None:
    a = slab_with_o()
    a.set_constraint(
        [
            FixAtoms(indices=[0, 1, 2, 3]),
            FixCartesian(12, mask=(True, False, True)),
            FixedLine([8], [0, 0, 1]),
            FixedPlane([9, 10], [0, 0, 1]),
            FixBondLength(4, 5),
        ]
    )
    a.set_initial_magnetic_moments(np.linspace(0, 1, len(a)))
    a.set_initial_charges(np.linspace(-1, 1, len(a)))
    a.info.update(charge=-1, uhf=2)
    for wire in (encode_atoms(a), atoms_to_json(a)):  # the client's form and the domain's
        back = parse_atoms(wire)
        assert [c.todict() for c in back.constraints] == [c.todict() for c in a.constraints]
        assert np.array_equal(back.get_initial_magnetic_moments(), a.get_initial_magnetic_moments())
        assert np.array_equal(back.get_initial_charges(), a.get_initial_charges())
        assert back.info["charge"] == -1 and back.info["uhf"] == 2
        again = decode_atoms(atoms_to_json(back))
        assert [c.todict() for c in again.constraints] == [c.todict() for c in a.constraints]


@pytest.mark.parametrize(
    ("constraint", "code"),
    [
        ({"name": "FixAtoms", "kwargs": {"indices": [0, 13]}}, "constraint_index_out_of_range"),
        ({"name": "FixAtoms", "kwargs": {"indices": [-1]}}, "constraint_index_out_of_range"),
        ({"name": "FixedLine", "kwargs": {"indices": [99], "direction": [0, 0, 1]}},
         "constraint_index_out_of_range"),
        ({"name": "FixBondLengths", "kwargs": {"pairs": [[0, 40]]}},
         "constraint_index_out_of_range"),
        ({"name": "FixCom", "kwargs": {}}, "unknown_constraint"),
        ({"name": "os.system", "kwargs": {"command": "true"}}, "unknown_constraint"),
        ({"name": "FixAtoms", "kwargs": {"indices": [True]}}, "invalid_constraint"),
        ({"name": "FixAtoms", "kwargs": {"indexes": [0]}}, "invalid_constraint"),
        ({"name": "FixedPlane", "kwargs": {"indices": [0], "direction": [0, 0, 0]}},
         "invalid_constraint"),
        ({"name": "FixBondLength", "kwargs": {"a1": 2, "a2": 2}}, "invalid_constraint"),
    ],
)  # fmt: skip
def test_bad_constraints_are_typed_errors(constraint: dict, code: str) -> None:
    wire = atoms_to_json(slab_with_o()) | {"constraints": [constraint]}  # 13 atoms
    with pytest.raises(ItemError) as e:
        parse_atoms(wire)
    assert e.value.code == code


def test_bad_moments_and_charges_are_typed_errors() -> None:
    wire = atoms_to_json(slab_with_o())
    for extra in ({"initial_magmoms": [1.0]}, {"initial_charges": ["x"] * 13},
                  {"charge": 0.5}, {"uhf": -1}, {"charge": True}):  # fmt: skip
        with pytest.raises(ItemError) as e:
            parse_atoms(wire | extra)
        assert e.value.code == "invalid_atoms", extra


def test_slab_relax_job_keeps_fixed_atoms_exactly_and_equals_local_ase(client: HubClient) -> None:
    slab = slab_with_o()
    final = client.relax(slab, model="physics.emt", fmax=0.02, progress=False)
    fixed = slab.constraints[0].index
    assert np.array_equal(final.positions[fixed], slab.positions[fixed])  # exactly
    assert isinstance(final.constraints[0], FixAtoms)
    assert list(final.constraints[0].index) == list(fixed)
    local = slab_with_o()
    local.calc = EMT()
    BFGS(local, logfile=None).run(fmax=0.02)
    assert np.abs(final.positions - local.positions).max() < 1e-4
    assert final.get_potential_energy() == pytest.approx(local.get_potential_energy(), abs=1e-6)
    assert np.abs(final.get_forces() - local.get_forces()).max() < 1e-4  # constrained forces
    assert final.info["converged"]


def test_relax_job_with_line_plane_and_bond_constraints_equals_local(client: HubClient) -> None:
    def build():  # noqa: ANN202
        a = slab_with_o()
        a.set_constraint(
            [FixAtoms(indices=[0, 1, 2, 3, 4, 5, 6, 7]), FixedLine([12], [0, 0, 1]),
             FixedPlane([8, 9], [0, 0, 1]), FixCartesian([10], (True, True, False))]
        )  # fmt: skip
        a.positions[12, 2] += 0.3
        return a

    start = build()
    final = client.relax(start, model="physics.emt", fmax=0.02, progress=False)
    local = build()
    local.calc = EMT()
    BFGS(local, logfile=None).run(fmax=0.02)
    assert np.abs(final.positions - local.positions).max() < 1e-4
    assert np.allclose(final.positions[12, :2], start.positions[12, :2], atol=1e-12)  # on a line
    assert np.allclose(final.positions[[8, 9], 2], start.positions[[8, 9], 2], atol=1e-12)


def test_cell_relax_job_equals_frechet_cell_filter(client: HubClient) -> None:
    cu = bulk("Cu", "fcc", a=3.8)
    for pressure in (0.0, 5.0):
        final = client.relax(
            cu, model="physics.emt", cell=True, pressure_gpa=pressure, fmax=0.005, progress=False
        )
        local = cu.copy()
        local.calc = EMT()
        BFGS(FrechetCellFilter(local, scalar_pressure=pressure * GPa), logfile=None).run(fmax=0.005)
        assert final.get_volume() == pytest.approx(local.get_volume(), rel=1e-5)
        assert final.get_potential_energy() == pytest.approx(local.get_potential_energy(), abs=1e-5)
        assert final.get_stress().shape == (6,)
    assert final.get_volume() < cu.get_volume()  # 3.8 Å is stretched for EMT copper


def test_bad_constraint_refused_at_submission(client: HubClient) -> None:
    wire = encode_atoms(slab_with_o()) | {
        "constraints": [{"name": "FixAtoms", "kwargs": {"indices": [0, 50]}}]
    }
    with pytest.raises(HubError) as e:
        client.submit("physics.emt", "relax", wire)
    assert e.value.code == "constraint_index_out_of_range"
    with pytest.raises(HubError) as e:
        client.submit("physics.emt", "relax", bulk("Cu").copy() * 1, cell=True, pressure_gpa="1")
    assert e.value.status == 422
    molecule = slab_with_o()
    molecule.pbc = False
    with pytest.raises(HubError) as e:
        client.relax(molecule, model="physics.emt", cell=True, progress=False)
    assert e.value.code == "not_periodic"
