"""The Keras kind's batch door for text inputs (the featurizer's ``parse_and_featurize``, on
every core for a large batch) answers exactly what the item-by-item path answers."""

from __future__ import annotations

import pytest

from hub.runtime import Runtime
from tests.service.serving_support import PUBLIC, ServingHome, shared_home

SMILES = (
    [f"C{'C' * k}O" for k in range(30)]
    + [f"c1ccccc1{'C' * k}N" for k in range(30)]
    + [f"OC(=O){'C' * k}Cl" for k in range(30)]
    + ["not-a-smiles", "", "C" * 30_000, "CC(=O)Oc1ccccc1C(=O)O", "[Na+].[Cl-]", "c1ccccc1O"]
)


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> ServingHome:
    return shared_home(tmp_path_factory)


def test_strings_path_same_as_item_path(home: ServingHome) -> None:
    runtime = Runtime(home.settings(prediction_cache="off"))
    predictor = runtime.predictor(runtime.resolve(PUBLIC))
    if getattr(getattr(predictor, "featurize", None), "parse_and_featurize", None) is None:
        pytest.skip("this model (or its featurizer) has no batch door for text")
    fast = predictor.predict(SMILES, {})
    slow = predictor.predict([{"x": 1}, *SMILES], {})[1:]  # not all text: item by item
    assert fast == slow
    assert fast[90]["error"]["code"] == "invalid_smiles"
    assert fast[92]["error"]["code"] == "too_large"
    assert sum("error" in o for o in fast) == 3
