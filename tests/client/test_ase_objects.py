"""ASE in and out of the client (issue 21): predict, explain and the calculator take
ase.Atoms; ``hub.calculate`` scores many structures in one request and returns atoms with a
SinglePointCalculator; jobs return ASE objects."""

from __future__ import annotations

import numpy as np
import pytest
from ase.build import bulk, molecule
from ase.calculators.emt import EMT
from ase.calculators.singlepoint import SinglePointCalculator

import hub
from hub.client import HubClient
from hub.client.calculator import HubCalculatorError


def structures() -> list:
    out = []
    for a in (3.5, 3.6, 3.7):
        cu = bulk("Cu", "fcc", a=a) * (2, 1, 1)
        cu.rattle(0.02, seed=int(a * 10))
        out.append(cu)
    return out


def test_predict_takes_atoms(client: HubClient) -> None:
    cu = structures()[0]
    one = client.predict("physics.emt", cu)  # one Atoms is one input, not a list of atoms
    many = client.predict("physics.emt", structures())
    assert len(one.outputs) == 1 and len(many.outputs) == 3
    ref = cu.copy()
    ref.calc = EMT()
    assert one.values()[0]["energy"] == pytest.approx(ref.get_potential_energy(), abs=1e-8)


def test_calculate_many_structures_in_one_request(client: HubClient, server_url: str) -> None:
    done = hub.calculate(structures(), model="physics.emt", url=server_url)
    assert len(done) == 3
    for given, got in zip(structures(), done, strict=True):
        assert isinstance(got.calc, SinglePointCalculator)
        ref = given.copy()
        ref.calc = EMT()
        assert got.get_potential_energy() == pytest.approx(ref.get_potential_energy(), abs=1e-8)
        assert np.abs(got.get_forces() - ref.get_forces()).max() < 1e-8
        assert np.abs(got.get_stress() - ref.get_stress()).max() < 1e-8
        assert np.array_equal(got.positions, given.positions)
    single = client.calculate(structures()[0], model="physics.emt")
    assert single.get_potential_energy() == pytest.approx(done[0].get_potential_energy())
    gold = molecule("H2O")  # EMT covers H and O; give it an element it does not cover
    gold[0].symbol = "Fe"
    with pytest.raises(HubCalculatorError) as e:
        client.calculate([structures()[0], gold], model="physics.emt")
    assert e.value.code == "unsupported_element" and "structure 1" in str(e.value)
    mixed = client.calculate([structures()[0], gold], model="physics.emt", errors="ignore")
    assert mixed[1] is None and mixed[0] is not None


def test_xtb_values_in_info_and_calculator(client: HubClient) -> None:
    water = client.calculate(molecule("H2O"), model="physics.gfn2-xtb")
    assert water.info["homo_lumo_gap"] > 5 and water.info["uhf"] == 0
    a = molecule("H2O")
    a.calc = client.calculator("physics.gfn2-xtb")
    assert a.get_potential_energy() == pytest.approx(water.get_potential_energy(), abs=1e-8)


def test_md_frames_carry_energies(client: HubClient) -> None:
    cu = bulk("Cu", "fcc", a=3.6, cubic=True)
    frames, energies = client.md(cu, model="physics.emt", steps=20, interval=10, progress=False)
    assert len(frames) == 3
    assert [f.get_potential_energy() for f in frames] == pytest.approx(energies["potential"])
