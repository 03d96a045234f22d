"""The ``neb`` job (issue 21): the O fcc -> hcp hop on Cu(111) with EMT equals ASE's own NEB
run locally (barrier within 1 meV), fixed layers stay put, mismatched endpoints are typed
errors."""

from __future__ import annotations

import numpy as np
import pytest
from ase.build import add_adsorbate, fcc111
from ase.calculators.emt import EMT
from ase.constraints import FixAtoms
from ase.mep import NEB
from ase.optimize import BFGS, FIRE

from hub.client import HubClient
from hub.errors import HubError


def relaxed(site: str):  # noqa: ANN201
    slab = fcc111("Cu", size=(2, 2, 3), vacuum=6.0)
    add_adsorbate(slab, "O", 1.6, site)
    slab.set_constraint(FixAtoms(indices=[a.index for a in slab if a.tag == 3]))
    slab.calc = EMT()
    BFGS(slab, logfile=None).run(fmax=0.01)
    slab.calc = None
    return slab


@pytest.fixture(scope="module")
def endpoints():  # noqa: ANN201
    return relaxed("fcc"), relaxed("hcp")


def local_neb(initial, final, n: int, climb: bool, fmax: float) -> list[float]:  # noqa: ANN001
    images = [initial.copy() for _ in range(n + 1)] + [final.copy()]
    for image in images:
        image.calc = EMT()
    band = NEB(images, k=0.1, climb=climb, method="improvedtangent")
    band.interpolate(mic=True, apply_constraint=True)
    FIRE(band, logfile=None).run(fmax=fmax, steps=500)
    return [float(i.get_potential_energy()) for i in images]


def test_neb_job_equals_local_ase_neb(client: HubClient, endpoints) -> None:  # noqa: ANN001
    initial, final = endpoints
    res = client.neb(
        initial, final, model="physics.emt", n_images=3, climb=True, fmax=0.05, progress=False
    )
    local = local_neb(initial, final, 3, True, 0.05)
    barrier = max(local) - local[0]
    assert res["converged"] and res["fmax"] < 0.05
    assert res["barrier_forward"] == pytest.approx(barrier, abs=1e-3)  # within 1 meV
    assert res["barrier_backward"] == pytest.approx(max(local) - local[-1], abs=1e-3)
    assert np.allclose(res["energies"], local, atol=1e-3)
    assert res["highest_image"] == int(np.argmax(local))
    assert 0 < res["barrier_forward"] < 1.0
    images = res["images"]
    assert len(images) == 5
    top = images[res["highest_image"]]
    assert top.get_potential_energy() == pytest.approx(max(res["energies"]))
    fixed = initial.constraints[0].index
    for image in images:  # the fixed layer never moves
        assert np.array_equal(image.positions[fixed], initial.positions[fixed])


def test_neb_endpoints_must_match(client: HubClient, endpoints) -> None:  # noqa: ANN001
    initial, final = endpoints
    other = final.copy()
    other.numbers[-1] = 7  # N in place of O
    with pytest.raises(HubError) as e:
        client.neb(initial, other, model="physics.emt", progress=False)
    assert e.value.code == "mismatched_endpoints" and e.value.status == 422
    with pytest.raises(HubError) as e:
        client.neb(initial, final[:-1], model="physics.emt", progress=False)
    assert e.value.code == "mismatched_endpoints"
    with pytest.raises(HubError) as e:
        client.neb(initial, final, model="physics.emt", n_images=0, progress=False)
    assert e.value.status == 422
