"""GFN2-xTB's charge and spin as a prediction's ``params`` (a simulator declares what its
predictions take; the runtime checks them and the card lists them), and the structure tasks
offered on every energy model and refused on the others."""

from __future__ import annotations

from pathlib import Path

import pytest
from ase.build import molecule
from tblite.ase import TBLite

from domains.physics.structures import atoms_to_json
from hub.errors import InvalidRequest


@pytest.fixture(scope="module")
def xtb_runtime(tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN201
    """A hub with GFN2-xTB and EMT registered (seconds to build)."""
    from hub.artifacts import ArtifactStore
    from hub.build import build_all
    from hub.catalog import CatalogStore
    from hub.config import Settings, sqlite_url
    from hub.plugins import load_plugins
    from hub.runtime import Runtime

    home: Path = tmp_path_factory.mktemp("xtb-params-home")
    settings = Settings(sqlite_url(home / "registry.db"), home / "artifacts")
    store = CatalogStore(settings.database_url)
    build_all(load_plugins().recipes(), store, ArtifactStore(settings.artifacts_dir), quick=True,
              only=["physics.emt", "physics.gfn2-xtb"])  # fmt: skip
    return Runtime(settings, store=store)


def _tblite_energy(atoms, **kw) -> float:  # noqa: ANN001, ANN003
    a = atoms.copy()
    a.calc = TBLite(method="GFN2-xTB", verbosity=0, **kw)
    return float(a.get_potential_energy())


def test_charge_and_uhf_as_prediction_params_equal_tblite(xtb_runtime) -> None:  # noqa: ANN001
    o2 = molecule("O2")
    out = xtb_runtime.predict("physics.gfn2-xtb", [atoms_to_json(o2)], {"uhf": 2}).outputs[0]
    assert out["value"]["energy"] == pytest.approx(_tblite_energy(o2, multiplicity=3), abs=1e-8)
    assert out["value"]["uhf"] == 2 and out["params"]["uhf"] == 2
    water = molecule("H2O")
    params = {"charge": 1, "uhf": 1}
    got = xtb_runtime.predict("physics.gfn2-xtb", [atoms_to_json(water)], params).outputs[0]
    got = got["value"]
    assert got["total_charge"] == 1 and got["uhf"] == 1
    assert got["energy"] == pytest.approx(_tblite_energy(water, charge=1, multiplicity=2), abs=1e-8)
    # an impossible state is that item's typed error; a parameter of the wrong type a 422
    bad = xtb_runtime.predict("physics.gfn2-xtb", [atoms_to_json(o2)], {"uhf": 1}).outputs[0]
    assert bad["error"]["code"] == "impossible_spin"
    with pytest.raises(InvalidRequest) as e:
        xtb_runtime.predict("physics.gfn2-xtb", [atoms_to_json(o2)], {"charge": "minus one"})
    assert e.value.detail["errors"][0]["param"] == "charge"
    with pytest.raises(InvalidRequest):  # EMT declares none
        xtb_runtime.predict("physics.emt", [atoms_to_json(o2)], {"charge": 1})


def test_card_lists_the_simulators_own_params(xtb_runtime) -> None:  # noqa: ANN001
    from hub.service.card_params import prediction_parameters

    plugins = xtb_runtime.plugins
    xtb = prediction_parameters(plugins, xtb_runtime.resolve("physics.gfn2-xtb"))
    assert {p.name for p in xtb} == {"charge", "uhf"}
    assert prediction_parameters(plugins, xtb_runtime.resolve("physics.emt")) == []
