"""The chemistry trainer's declared parameters: the recipes' defaults, checked before a job is
queued (one 422 shape: ``detail.errors`` naming each bad parameter) from Python and over
HTTP, and listed in /openapi.json."""

from __future__ import annotations

import json
import typing
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from domains.chemistry.recipes import DEFAULT_PARAMS
from domains.chemistry.trainer import PROPERTY_TRAINER
from domains.chemistry.trainer_params import PropertyTrainingParams
from hub.auth import keys, users
from hub.errors import InvalidRequest, PluginError
from hub.learning.families import FAMILIES
from hub.plugins import Trainer
from hub.runtime import Runtime
from hub.training.jobs import check_params
from tests.conftest import serve, settings_for

BAD = [
    ({"members": 0}, "members"),
    ({"family": "forest"}, "family"),
    ({"n_splits": "3"}, "n_splits"),
    ({"dropout": 1.5}, "dropout"),
    ({"hidden": [0]}, "hidden"),
    ({"scaffold_split": 1}, "scaffold_split"),
    ({"descriptors": ["NotADescriptor"]}, "descriptors"),
    ({"no_such_param": 1}, "no_such_param"),
]


def test_defaults_are_the_recipes() -> None:
    assert PROPERTY_TRAINER.params_model is PropertyTrainingParams
    assert PropertyTrainingParams().model_dump() == DEFAULT_PARAMS
    assert set(PropertyTrainingParams.model_fields) == set(DEFAULT_PARAMS)
    family = PropertyTrainingParams.model_fields["family"].annotation
    assert typing.get_args(family) == FAMILIES
    for name, f in PropertyTrainingParams.model_fields.items():
        assert f.description, name  # each says what it is, with its unit


def test_given_values_override_only_their_keys() -> None:
    out = check_params(PROPERTY_TRAINER, {"members": 3, "hidden": (32,), "learning_rate": 1})
    assert out == {**DEFAULT_PARAMS, "members": 3, "hidden": [32], "learning_rate": 1.0}
    assert check_params(PROPERTY_TRAINER, {}) == DEFAULT_PARAMS
    assert out["descriptors"] is None and out["hidden"] == [32]


@pytest.mark.parametrize(("given", "bad"), BAD)
def test_bad_parameter_named_in_errors(given: dict, bad: str) -> None:
    with pytest.raises(InvalidRequest) as e:
        check_params(PROPERTY_TRAINER, given)
    assert e.value.status == 422 and e.value.code == "invalid_params"
    assert [p["param"] for p in e.value.detail["errors"]] == [bad]
    assert bad in e.value.message


def test_every_bad_parameter_is_named_at_once() -> None:
    with pytest.raises(InvalidRequest) as e:
        check_params(PROPERTY_TRAINER, {"members": 0, "family": "forest", "epochs": 10})
    assert {p["param"] for p in e.value.detail["errors"]} == {"members", "family"}


def test_trainer_without_a_model_keeps_the_type_check() -> None:
    plain = Trainer("t", "smiles", "", train=lambda ctx, table: None, params={"k": 1})
    assert check_params(plain, {"k": 2}) == {"k": 2}
    for given, bad in (({"k": "x"}, "k"), ({"z": 1}, "z")):
        with pytest.raises(InvalidRequest) as e:
            check_params(plain, given)
        assert e.value.detail["errors"][0]["param"] == bad


def test_a_model_must_declare_the_defaults_names() -> None:
    with pytest.raises(PluginError, match="extra"):
        Trainer(
            "t", "smiles", "", train=lambda ctx, table: None, params={"extra": 1},
            params_model=PropertyTrainingParams,
        )  # fmt: skip


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """An empty hub served over HTTP, and a key of a user who may train."""
    from hub.service.app import create_app

    home: Path = tmp_path_factory.mktemp("trainer-params-home")
    runtime = Runtime(settings_for(home))
    users.create_user(runtime.store, "carol")
    key = keys.create_key(runtime.store, "carol", "read,predict,jobs,publish")[1]
    with serve(create_app(runtime, warm=False)) as url:
        yield url, key
    runtime.store.close()


def test_bad_parameter_over_http(served: tuple[str, str]) -> None:
    url, key = served
    csv = b"smiles,y\n" + b"".join(b"C%s,%d\n" % (b"C" * i, i) for i in range(60))
    for given, bad in BAD[:3]:
        r = httpx.post(
            f"{url}/v1/models/carol.model/train", headers={"Authorization": f"Bearer {key}"},
            data={"target": "y", "params": json.dumps(given)},
            files={"file": ("t.csv", csv, "text/csv")}, timeout=60,
        )  # fmt: skip
        assert r.status_code == 422, r.text
        err = r.json()["error"]
        assert err["code"] == "invalid_params"
        assert [p["param"] for p in err["detail"]["errors"]] == [bad]
    assert httpx.get(f"{url}/v1/models/carol.model").status_code == 404  # nothing created


def test_openapi_lists_trainer_parameters(served: tuple[str, str]) -> None:
    url, _ = served
    spec = httpx.get(f"{url}/openapi.json", timeout=60).json()
    trainers = spec["x-hub-parameters"]["trainers"]
    assert trainers == {"chemistry.property": "PropertyTrainingParams"}
    schema = spec["components"]["schemas"]["PropertyTrainingParams"]
    assert set(schema["properties"]) == set(DEFAULT_PARAMS)
    assert schema["additionalProperties"] is False
    members = schema["properties"]["members"]
    assert (members["minimum"], members["maximum"], members["default"]) == (2, 32, 5)
    assert schema["properties"]["family"]["enum"] == list(FAMILIES)
    train = spec["paths"]["/v1/models/{name}/train"]["post"]["requestBody"]
    ref = train["content"]["multipart/form-data"]["schema"]["$ref"].rsplit("/", 1)[-1]
    form = spec["components"]["schemas"][ref]["properties"]["params"]
    assert "chemistry.property: PropertyTrainingParams" in form["description"]
