"""SHAP explanations of tree models (``params: {"explain": "shap"}``, POST /explain with a
method): attributions sum to the prediction minus the base value, features are named (bits
with their atoms), the card lists the global importance; a Keras model refuses SHAP."""

from __future__ import annotations

import time
from collections.abc import Iterator

import numpy as np
import pytest

from hub.artifacts import ArtifactStore
from hub.build import build_all
from hub.catalog import CatalogStore
from hub.config import Settings, sqlite_url
from hub.errors import InvalidRequest
from hub.plugins import load_plugins
from hub.runtime import Runtime

TREES, BLEND, KERAS = (
    "chemistry.solubility",
    "chemistry.lipophilicity",
    "chemistry.hydration-free-energy",
)
MOLECULES = ["c1ccccc1O", "CCOC(=O)c1ccccc1N", "ClC(Cl)(Cl)Cl", "CC(C)Cc1ccc(cc1)C(C)C(=O)O"]


@pytest.fixture(scope="module")
def runtime(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runtime]:
    """Quick builds: solubility as trees, lipophilicity as a trees + MLP blend (its Morgan
    bits too), hydration as a Keras MLP ensemble."""
    home = tmp_path_factory.mktemp("shap-home")
    settings = Settings(database_url=sqlite_url(home / "registry.db"), artifacts_dir=home / "a")
    store = CatalogStore(settings.database_url)
    quick_size = {"tree_rounds": 60, "tree_stop": 10, "members": 2, "epochs": 3}
    build_all(
        load_plugins().recipes(),
        store,
        ArtifactStore(settings.artifacts_dir),
        only=[TREES, BLEND, KERAS],
        quick=True,
        overrides={
            TREES: {"family": "trees", **quick_size},
            BLEND: {"family": "blend", "n_bits": 256, "descriptors": None, **quick_size},
            KERAS: {"family": "mlp", **quick_size},
        },
    )
    store.close()
    rt = Runtime(settings)
    yield rt
    rt.store.close()


@pytest.mark.parametrize("name", [TREES, BLEND])
def test_shap_values_sum_to_the_prediction_minus_the_base(runtime: Runtime, name: str) -> None:
    predictor = runtime.predictor(runtime.resolve(name))
    plain = runtime.predict(name, MOLECULES).outputs
    out = runtime.predict(name, MOLECULES, {"explain": "shap"}).outputs
    for mol, p, o in zip(MOLECULES, plain, out, strict=True):
        assert o["value"] == pytest.approx(p["value"], abs=1e-9), mol  # same answer
        assert "in_domain" in o and o["uncertainty"] > 0
        e = o["explanation"]
        row = predictor.featurize(predictor.input_type.parse(mol))
        values, base = predictor.shap_values(row)
        trees_value = float(predictor.trees.predict(row[None, :])[0][0])
        # every feature's SHAP value together: the trees' prediction minus the base value
        assert base + values.sum() == pytest.approx(trees_value, abs=1e-6)
        assert e["total"] == pytest.approx(trees_value - e["base_value"], abs=1e-5)
        assert e["trees_prediction"] == pytest.approx(trees_value, abs=1e-5)
        if name == TREES:
            assert e["trees_prediction"] == pytest.approx(o["value"], abs=1e-5)
        else:
            assert "Keras" in e["note"]
        shaps = [f["shap"] for f in e["features"]]
        assert len(shaps) == 10 and np.all(np.diff(np.abs(shaps)) <= 1e-12)  # top by |value|
        assert e["svg"].startswith("<?xml") and len(e["atoms"]) > 0


def test_features_are_named_and_bits_have_their_atoms(runtime: Runtime) -> None:
    from rdkit.Chem import Descriptors

    known = {n for n, _ in Descriptors._descList}
    out = runtime.predict(BLEND, ["CCOC(=O)c1ccccc1N"], {"explain": "shap"}).outputs[0]
    n_atoms = len(out["explanation"]["atoms"])
    seen_bit = False
    for f in out["explanation"]["features"]:
        if f["feature"].startswith("Morgan bit"):
            assert f["index"] < 256
            if f["value"]:  # a bit set in the molecule: its environments and atoms
                seen_bit = True
                assert f["environments"]
                for env in f["environments"]:
                    assert all(0 <= a < n_atoms for a in env["atoms"])
        else:
            assert f["feature"] in known
    # the descriptors alone model (solubility) names every feature by its descriptor
    sol = runtime.predict(TREES, ["c1ccccc1O"], {"explain": "shap"}).outputs[0]
    assert all(f["feature"] in known for f in sol["explanation"]["features"])
    assert seen_bit or len(out["explanation"]["features"]) == 10


def test_atom_occlusion_still_works_and_keras_refuses_shap(runtime: Runtime) -> None:
    out = runtime.predict(TREES, ["c1ccccc1O"], {"explain": "atoms"}).outputs[0]
    assert "occlusion" in out["explanation"]["method"]
    assert runtime.predict(TREES, ["c1ccccc1O"], {"explain": True}).outputs[0]["explanation"]
    with pytest.raises(InvalidRequest, match="tree models"):
        runtime.predict(KERAS, ["CCO"], {"explain": "shap"})
    with pytest.raises(InvalidRequest):
        runtime.predict(TREES, ["CCO"], {"explain": "lime"})


def test_explain_route_takes_a_method_and_card_shows_importance(runtime: Runtime) -> None:
    from fastapi.testclient import TestClient

    from hub.service.app import create_app

    with TestClient(create_app(runtime, warm=False)) as http:
        r = http.post(
            f"/v1/models/{TREES}/explain", json={"inputs": ["CCO"], "params": {"explain": "shap"}}
        )
        assert r.status_code == 200, r.text
        assert "SHAP" in r.json()["outputs"][0]["explanation"]["method"]
        r = http.post(f"/v1/models/{TREES}/explain", json={"inputs": ["CCO"]})
        assert "occlusion" in r.json()["outputs"][0]["explanation"]["method"]
        r = http.post(
            f"/v1/models/{TREES}/explain", json={"inputs": ["CCO"], "params": {"explain": False}}
        )
        assert r.status_code == 422
        card = http.get(f"/v1/models/{TREES}").json()
    spec = card["versions"][0]["spec"]
    top = spec["feature_importance"]["features"]
    assert top and all(t["mean_abs_shap"] > 0 for t in top)
    assert card["versions"][0]["kind"] == "lightgbm"


def test_time_per_explained_molecule(runtime: Runtime) -> None:
    """SHAP of one molecule once the explainers are warm: well under a second."""
    runtime.predict(TREES, ["CCO"], {"explain": "shap"})  # builds the explainers
    start = time.perf_counter()
    runtime.predict(TREES, MOLECULES, {"explain": "shap"})
    per_molecule = (time.perf_counter() - start) / len(MOLECULES)
    assert per_molecule < 1.0, per_molecule
