"""The ``vibrations`` and ``thermo`` jobs (issue 21) equal ASE run locally with the same engine
(frequencies within 1 cm^-1, Gibbs energy within 1 meV); a structure that is not a minimum has
its imaginary modes reported."""

from __future__ import annotations

import numpy as np
import pytest
from ase import Atoms
from ase.build import add_adsorbate, fcc111
from ase.calculators.emt import EMT
from ase.constraints import FixAtoms
from ase.optimize import BFGS
from ase.thermochemistry import HarmonicThermo, IdealGasThermo
from ase.vibrations import Vibrations
from tblite.ase import TBLite

from hub.client import HubClient
from hub.errors import HubError


def water(angle: float = 104.5) -> Atoms:
    t = np.radians(angle / 2)
    return Atoms("OH2", [[0, 0, 0], [0.96 * np.sin(t), 0, 0.96 * np.cos(t)],
                         [-0.96 * np.sin(t), 0, 0.96 * np.cos(t)]])  # fmt: skip


def local_vibrations(atoms: Atoms, calc, tmp_path, indices=None):  # noqa: ANN001, ANN201
    atoms = atoms.copy()
    atoms.calc = calc
    vib = Vibrations(atoms, indices=indices, name=str(tmp_path / "vib"), delta=0.01, nfree=2)
    vib.run()
    return atoms, vib.get_vibrations()


def test_water_vibrations_and_gibbs_energy_equal_local_ase(client: HubClient, tmp_path) -> None:  # noqa: ANN001
    start = water()
    res = client.thermo(
        start, model="physics.gfn2-xtb", relax_fmax=0.001, relax_steps=200,
        temperature_K=298.15, pressure_pa=101325.0, symmetry_number=2, progress=False,
    )  # fmt: skip
    local = start.copy()
    local.calc = TBLite(method="GFN2-xTB", verbosity=0)
    BFGS(local, logfile=None).run(fmax=0.001, steps=200)
    atoms, data = local_vibrations(local, TBLite(method="GFN2-xTB", verbosity=0), tmp_path)
    freqs = data.get_frequencies()
    top = np.sort(np.abs(freqs))[-3:]
    assert np.allclose(np.sort(np.abs(res["frequencies_cm1"]))[-3:], top, atol=1.0)
    assert res["n_imaginary"] == 0 and not res["warnings"]
    gas = IdealGasThermo(
        vib_energies=data.get_energies(), geometry="nonlinear",
        potentialenergy=atoms.get_potential_energy(), atoms=atoms, symmetrynumber=2, spin=0,
        vib_selection="abs_highest",
    )  # fmt: skip
    g = gas.get_gibbs_energy(298.15, 101325.0, verbose=False)
    assert res["gibbs_energy"] == pytest.approx(g, abs=1e-3)  # within 1 meV
    assert res["enthalpy"] == pytest.approx(gas.get_enthalpy(298.15, verbose=False), abs=1e-3)
    assert res["zpe"] == pytest.approx(data.get_zero_point_energy(), abs=1e-4)
    assert 1500 < top[0] < 1700 and res["geometry"] == "nonlinear"


def test_non_minimum_reports_imaginary_modes(client: HubClient) -> None:
    linear = water(180.0)  # a saddle of the bend: one imaginary bending mode (two, degenerate)
    res = client.vibrations(linear, model="physics.gfn2-xtb", progress=False)
    assert res["n_imaginary"] >= 1 and res["warnings"]
    vib = np.asarray(res["frequencies_cm1"])[~np.asarray(res["rigid_body"])]
    assert vib.min() < -100  # a large imaginary mode, given as a negative number
    with pytest.raises(HubError) as e:
        client.thermo(linear, model="physics.gfn2-xtb", progress=False)
    assert e.value.code == "imaginary_modes"


def test_adsorbate_harmonic_thermo_equals_local_ase(client: HubClient, tmp_path) -> None:  # noqa: ANN001
    slab = fcc111("Cu", size=(2, 2, 2), vacuum=5.0)
    add_adsorbate(slab, "O", 1.6, "fcc")
    slab.set_constraint(FixAtoms(indices=list(range(8))))  # only O vibrates
    slab.calc = EMT()
    BFGS(slab, logfile=None).run(fmax=0.01)
    slab.calc = None
    res = client.thermo(slab, model="physics.emt", approximation="harmonic", temperature_K=500.0,
                        progress=False)  # fmt: skip
    assert res["indices"] == [8]
    atoms, data = local_vibrations(slab, EMT(), tmp_path, indices=[8])
    assert np.allclose(res["frequencies_cm1"], np.abs(data.get_frequencies()), atol=1.0)
    ht = HarmonicThermo(data.get_energies(), potentialenergy=atoms.get_potential_energy())
    assert res["helmholtz_energy"] == pytest.approx(
        ht.get_helmholtz_energy(500.0, verbose=False), abs=1e-3
    )
