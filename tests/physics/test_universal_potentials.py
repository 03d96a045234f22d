"""Universal potentials (SevenNet-0, SevenNet-l3i5, CHGNet) through the hub equal the packages'
own ASE calculators; relax (cell too), eos and md jobs run on them; typed errors.

Needs the ``universal`` extra: skipped without it, but FAILS when ``HUB_REQUIRE_UNIVERSAL=1``
(set by .ci/run, which installs the extra). Structures stay small (64 atoms at most) so that the
file runs in a few minutes on 2 cores.
"""

from __future__ import annotations

import os
import socket
import warnings
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from ase import Atoms
from ase.build import bulk, molecule

from domains.physics.structures import atoms_to_json
from domains.physics.universal import WEIGHTS, available
from tests.conftest import serve, settings_for

MODELS = ("physics.sevennet-0", "physics.sevennet-l3i5", "physics.chgnet")
REQUIRED = os.environ.get("HUB_REQUIRE_UNIVERSAL") == "1"


@pytest.fixture(scope="module", autouse=True)
def _extra_installed() -> None:
    if not available("sevenn", "chgnet"):
        msg = "the universal extra is not installed (pip install -e '.[universal]')"
        if REQUIRED:
            pytest.fail(f"HUB_REQUIRE_UNIVERSAL=1 but {msg}")
        pytest.skip(msg)
    import torch

    torch.set_num_threads(1)  # as the engines run: the same sums in the same order


@pytest.fixture(scope="module")
def uhome(tmp_path_factory: pytest.TempPathFactory, _extra_installed: None) -> Path:
    """A hub home with the three universal models registered (quick build)."""
    from hub.artifacts import ArtifactStore
    from hub.build import build_all
    from hub.catalog import CatalogStore
    from hub.plugins import load_plugins

    home = tmp_path_factory.mktemp("universal-home")
    settings = settings_for(home)
    store = CatalogStore(settings.database_url)
    build_all(load_plugins().recipes(), store, ArtifactStore(settings.artifacts_dir), only=MODELS)
    store.close()
    return home


@pytest.fixture(scope="module")
def uclient(uhome: Path, dask_engine: None) -> Iterator:
    """A client of a served hub over ``uhome``, its jobs on the embedded Dask cluster."""
    from hub.auth import keys, users
    from hub.auth.quotas import set_user_quota
    from hub.client import HubClient
    from hub.jobs import JobDispatcher
    from hub.runtime import Runtime
    from hub.service.app import create_app

    runtime = Runtime(settings_for(uhome))
    users.ensure_user(runtime.store, "physicist")
    set_user_quota(runtime.store, "physicist", requests_per_minute=0, items_per_day=0)
    key = keys.create_key(runtime.store, "physicist", "read,predict,jobs")[1]
    sup = JobDispatcher(settings_for(uhome), check_s=0.2).start()
    try:
        with serve(create_app(runtime, warm=False)) as url, HubClient(url, api_key=key) as c:
            yield c
    finally:
        sup.stop()


def rattled_nacl(a: float = 5.64, reps: int = 1, seed: int = 1) -> Atoms:
    atoms = bulk("NaCl", "rocksalt", a=a, cubic=True) * (reps, reps, reps)
    atoms.rattle(0.05, seed=seed)
    return atoms


def package_calculator(model: str):  # noqa: ANN201 - the package's own ASE calculator
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if model == "physics.chgnet":
            from chgnet.model.dynamics import CHGNetCalculator

            return CHGNetCalculator(use_device="cpu")
        from sevenn.calculator import SevenNetCalculator

        name = "7net-l3i5" if model.endswith("l3i5") else "7net-0"
        return SevenNetCalculator(name, device="cpu")


@pytest.fixture(scope="module")
def own() -> dict:
    """The packages' own calculators, one per model, made once."""
    return {}


def own_calc(own: dict, model: str):  # noqa: ANN201
    if model not in own:
        own[model] = package_calculator(model)
    return own[model]


def fe_bcc() -> Atoms:
    atoms = bulk("Fe", "bcc", a=2.85, cubic=True) * (2, 1, 1)
    atoms.rattle(0.03, seed=2)
    return atoms


@pytest.mark.parametrize("model", MODELS)
def test_remote_calculator_equals_the_package(uclient, own, model: str) -> None:  # noqa: ANN001
    """Energy, forces and stress through the hub's remote ASE calculator equal the package's
    calculator to 1e-6 (eV, eV/Å, eV/Å^3); CHGNet's magnetic moments too (μB)."""
    structures = [rattled_nacl(), fe_bcc()]
    if model != "physics.chgnet":  # CHGNet takes periodic cells only
        structures.append(molecule("H2O"))
    for atoms in structures:
        far = atoms.copy()
        far.calc = uclient.calculator(model)
        ref = atoms.copy()
        ref.calc = own_calc(own, model)
        assert abs(far.get_potential_energy() - ref.get_potential_energy()) < 1e-6
        np.testing.assert_allclose(far.get_forces(), ref.get_forces(), rtol=0, atol=1e-6)
        if atoms.pbc.all():
            np.testing.assert_allclose(far.get_stress(), ref.get_stress(), rtol=0, atol=1e-6)
        assert model.split(".")[1].split("-")[0] in far.calc.engine.lower()
    if model == "physics.chgnet":
        out = uclient.predict(model, [atoms_to_json(fe_bcc())]).outputs[0]
        assert out["unit"]["magmoms"] == "μB"
        ref = fe_bcc()
        ref.calc = own_calc(own, model)
        ref.get_potential_energy()
        np.testing.assert_allclose(out["value"]["magmoms"], ref.calc.results["magmoms"], atol=1e-6)
        assert 1.5 < np.mean(out["value"]["magmoms"]) < 3.0  # iron: about 2.2 μB per atom
        far = fe_bcc()  # and through the remote calculator, as ASE asks for them
        far.calc = uclient.calculator(model)
        moments = far.get_magnetic_moments()
        np.testing.assert_allclose(moments, ref.calc.results["magmoms"], atol=1e-6)


@pytest.mark.parametrize("model", ["physics.sevennet-0", "physics.chgnet"])
def test_cell_relaxation_job_matches_the_package(uclient, own, model: str) -> None:  # noqa: ANN001
    """A rattled, strained NaCl cell relaxed by a job (BFGS on ASE's FrechetCellFilter) ends
    within 1 % of the same relaxation with the package's own calculator."""
    from ase.filters import FrechetCellFilter
    from ase.optimize import BFGS

    from domains.physics.tasks import RelaxParams

    start = rattled_nacl(a=5.85)
    cell = "cell" in RelaxParams.model_fields  # cell relaxation of relax jobs (issue 21)
    params = {"fmax": 0.02, "steps": 300} | ({"cell": True} if cell else {})
    res = uclient.submit(model, "relax", start, **params).wait(progress=False, timeout_s=900)
    assert res["converged"] and res["fmax"] < 0.02
    local = start.copy()
    local.calc = own_calc(own, model)
    target = FrechetCellFilter(local) if cell else local
    assert BFGS(target, logfile=None).run(fmax=0.02, steps=300)
    got = np.asarray(res["atoms"]["cell"])
    assert res["energy"] == pytest.approx(local.get_potential_energy(), rel=0.01)
    np.testing.assert_allclose(np.linalg.norm(got, axis=1), local.cell.lengths(), rtol=0.01)
    if cell:  # the cell did relax: from 5.85 Å to about 5.7 Å (PBE-like)
        assert 5.6 < local.cell.lengths()[0] < 5.8
        assert abs(float(np.linalg.det(got)) - local.get_volume()) / local.get_volume() < 0.01


def test_md_job_of_64_atoms_runs(uclient) -> None:  # noqa: ANN001
    """NVE MD of 64 atoms (NaCl 2x2x2) on SevenNet-0 and CHGNet: frames, finite energies, the
    total energy conserved to a few meV per atom over 10 steps of 1 fs."""
    atoms = rattled_nacl(reps=2)
    assert len(atoms) == 64
    for model in ("physics.sevennet-0", "physics.chgnet"):
        frames, energies = uclient.md(
            atoms, model=model, steps=10, interval=5, timestep_fs=1.0, temperature_K=300,
            progress=False,
        )  # fmt: skip
        assert len(frames) == 3 and len(frames[-1]) == 64
        total = np.asarray(energies["total"])
        assert np.isfinite(total).all()
        assert (total.max() - total.min()) / 64 < 5e-3, (model, total)


def test_eos_job_on_sevennet(uclient, own) -> None:  # noqa: ANN001
    """An eos job equals ASE's EquationOfState over the package's calculator (1 %)."""
    from ase.eos import EquationOfState
    from ase.units import GPa

    nacl = bulk("NaCl", "rocksalt", a=5.69)
    res = uclient.eos(nacl, model="physics.sevennet-0", points=7, strain=0.06, progress=False)
    volumes, energies = [], []
    for f in np.linspace(0.94, 1.06, 7):
        a = nacl.copy()
        a.set_cell(nacl.cell * f ** (1 / 3), scale_atoms=True)
        a.calc = own_calc(own, "physics.sevennet-0")
        volumes.append(a.get_volume())
        energies.append(a.get_potential_energy())
    v0, _, b = EquationOfState(volumes, energies, eos="birchmurnaghan").fit()
    assert res["v0"] == pytest.approx(v0, rel=1e-6)
    assert res["bulk_modulus_gpa"] == pytest.approx(b / GPa, rel=0.01)
    assert 15 < res["bulk_modulus_gpa"] < 35  # experiment: 24 GPa


@pytest.mark.parametrize("model", MODELS)
def test_element_outside_the_training_set_is_typed(uclient, model: str) -> None:  # noqa: ANN001
    """Polonium is not in MPtrj: the item is refused as unsupported_element, naming Po."""
    pona = {"symbols": ["Po", "Na"], "positions": [[0, 0, 0], [2.6, 0, 0]], "cell": [6, 6, 6],
            "pbc": True}  # fmt: skip
    out = uclient.predict(model, [pona, atoms_to_json(bulk("Cu"))]).outputs
    assert out[0]["error"]["code"] == "unsupported_element"
    assert out[0]["error"]["detail"]["elements"] == ["Po"] and "Po" in out[0]["error"]["message"]
    assert "energy" in out[1]["value"]  # the batch's other item is computed


def test_chgnet_takes_periodic_cells_only(uclient) -> None:  # noqa: ANN001
    out = uclient.predict("physics.chgnet", [atoms_to_json(molecule("H2O"))]).outputs[0]
    assert out["error"]["code"] == "not_periodic"


def test_cards_carry_weights_sha256_licence_and_citation(uhome: Path) -> None:
    from hub.catalog import CatalogStore
    from hub.sdk import sha256_file

    store = CatalogStore(settings_for(uhome).database_url)
    for model, key in zip(MODELS, ("7net-0", "7net-l3i5", "chgnet-0.3.0"), strict=True):
        v = store.resolve(model)
        w = v.spec["params"]["weights"]
        assert w["sha256"] == sha256_file(WEIGHTS[key].file()) == WEIGHTS[key].sha256
        assert w["license"] and w["citation"] and "doi" in w["citation"]
        assert w["sha256"] in v.description and w["license"] in v.description
        assert {m.name for m in v.metrics} >= {"nacl_lattice_constant_angstrom"}
    store.close()


def test_other_weights_are_refused() -> None:
    from domains.physics.universal import chgnet, sevennet
    from hub.sdk import IntegrityError

    with pytest.raises(IntegrityError):
        sevennet(weights={"sha256": "0" * 64})
    with pytest.raises(IntegrityError):
        chgnet(weights={"sha256": "0" * 64})


def test_engines_load_and_run_with_the_network_cut(monkeypatch: pytest.MonkeyPatch) -> None:
    """Nothing is fetched: with every socket connection refused, both engines load their
    weights from the installed wheels and compute."""
    from domains.physics.universal import chgnet, sevennet

    def refuse(*args: object, **kwargs: object) -> None:
        raise OSError("network cut by the test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setenv("HOME", "/nonexistent")  # no ~/.cache to fall back on
    for build in (sevennet, chgnet):
        out = build()(rattled_nacl())
        assert np.isfinite(out["energy"]) and len(out["forces"]) == 8
