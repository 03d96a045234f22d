"""HubClient against a live local server: methods per resource, typed errors."""

from __future__ import annotations

import pytest

from hub.client import HubClient
from hub.errors import InvalidRequest, NotFound, PayloadTooLarge, Unavailable


def test_catalog_methods(client: HubClient) -> None:
    assert {m["name"] for m in client.models()} >= {"chemistry.solubility", "physics.emt"}
    assert "physics.emt" in [m["name"] for m in client.models(domain="physics")]
    assert {m["domain"] for m in client.models(domain="physics")} == {"physics"}
    card = client.model("chemistry.solubility")
    assert card["outputs"][0]["unit"] == "log10(mol/L)"
    assert client.health()["catalog"] == "ok"


def test_predict(client: HubClient) -> None:
    p = client.predict("chemistry.solubility", ["CCO", "c1ccccc1O", "C1CC"])
    assert p.model == "chemistry.solubility"
    values = p.values()
    assert isinstance(values[0], float) and values[2] is None
    assert p.errors()[2]["code"] == "invalid_smiles"
    assert client.predict("chemistry.solubility", "CCO").outputs[0]["smiles"] == "CCO"


def test_typed_errors(client: HubClient, runtime) -> None:  # noqa: ANN001
    with pytest.raises(NotFound) as e:
        client.predict("chemistry.nothing", ["CCO"])
    assert e.value.code == "model_not_found" and "chemistry.nothing" in e.value.message
    with pytest.raises(NotFound):
        client.model("chemistry.nothing")
    with pytest.raises(InvalidRequest):
        client.predict("Bad Ref", ["CCO"])
    with pytest.raises(PayloadTooLarge):
        client.predict("chemistry.solubility", ["C"] * (runtime.settings.max_batch + 1))
    with pytest.raises(Unavailable):
        HubClient("http://127.0.0.1:9", timeout_s=2).models()
