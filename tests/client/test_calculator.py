"""The remote ASE calculator: a real Calculator that ASE's optimisers and MD can drive."""

from __future__ import annotations

import numpy as np
import pytest
from ase.build import add_adsorbate, bulk, fcc111
from ase.calculators.calculator import Calculator
from ase.calculators.emt import EMT
from ase.optimize import BFGS

from hub.client import HubClient
from hub.client.calculator import HubCalculatorError


def test_is_an_ase_calculator_matching_local_engine(client: HubClient) -> None:
    calc = client.calculator("physics.emt")
    assert isinstance(calc, Calculator) and "forces" in calc.implemented_properties
    cu = bulk("Cu", "fcc", a=3.6, cubic=True) * (2, 2, 2)
    cu.rattle(0.05, seed=3)
    cu.calc = calc
    ref = cu.copy()
    ref.calc = EMT()
    assert abs(cu.get_potential_energy() - ref.get_potential_energy()) < 1e-8
    np.testing.assert_allclose(cu.get_forces(), ref.get_forces(), atol=1e-8)
    np.testing.assert_allclose(cu.get_stress(), ref.get_stress(), atol=1e-10)
    assert calc.engine and calc.version >= 1


def test_results_are_cached_until_atoms_change(client: HubClient, monkeypatch) -> None:  # noqa: ANN001
    calls = []
    real = client.predict

    def counting(*a, **k):  # noqa: ANN002, ANN003, ANN202
        calls.append(1)
        return real(*a, **k)

    monkeypatch.setattr(client, "predict", counting)
    cu = bulk("Cu", "fcc", a=3.6) * (2, 1, 1)
    cu.calc = client.calculator("physics.emt")
    cu.get_potential_energy()
    cu.get_forces()
    assert len(calls) == 1  # energy and forces from one request
    cu.positions[0, 0] += 0.01
    assert cu.calc.check_state(cu) == ["positions"]
    cu.get_potential_energy()
    assert len(calls) == 2


def test_drives_ase_bfgs(client: HubClient) -> None:
    slab = fcc111("Cu", size=(2, 2, 3), vacuum=6.0)
    add_adsorbate(slab, "O", 1.6, "fcc")
    remote, local = slab.copy(), slab.copy()
    remote.calc = client.calculator("physics.emt")
    local.calc = EMT()
    BFGS(remote, logfile=None).run(fmax=0.05)
    BFGS(local, logfile=None).run(fmax=0.05)
    assert remote.get_potential_energy() == pytest.approx(local.get_potential_energy(), abs=1e-6)


def test_errors_are_raised_with_their_code(client: HubClient) -> None:
    from ase.build import molecule

    mol = molecule("CH3Cl")
    mol.calc = client.calculator("physics.emt")
    with pytest.raises(HubCalculatorError) as e:
        mol.get_potential_energy()
    assert e.value.code == "unsupported_element"
