"""Malicious and broken uploads are each refused with a typed error naming the reason; nothing
is registered and no file is left in the artifact store. SQLite and PostgreSQL."""

from __future__ import annotations

import json

import pytest

from hub.config import Settings
from tests.auth.support import Hub
from tests.publishing.publish_support import Trained, artifact_files, create, upload

NAME = "acme.refused"
# upload -> (status, code); the sandbox ones load the model in a process first
REFUSED = {
    "lambda": "lambda_layer",
    "pickle": "pickle_in_archive",
    "traversal": "unsafe_archive_path",
    "truncated": "truncated_archive",
    "h5": "h5_not_accepted",
    "safe_mode_off": "unsafe_config",
    "foreign_layer": "unknown_layer",
    "wrong_width": "input_width_mismatch",
    "nan": "non_finite_outputs",
    "constant": "constant_outputs",
}


@pytest.fixture(scope="module")
def refusing_hub(pub_hub: Hub) -> Hub:
    r = create(pub_hub, "user", NAME, visibility="private")
    assert r.status_code == 201, r.text
    return pub_hub


def assert_nothing_registered(hub: Hub, before: set[str]) -> None:
    versions = hub.client.get(f"/v1/models/{NAME}/versions", headers=hub.headers("user"))
    assert versions.status_code == 200 and versions.json() == []
    assert artifact_files(hub.home) == before


@pytest.mark.parametrize("case", list(REFUSED))
def test_a_bad_model_is_refused(
    refusing_hub: Hub, trained: Trained, bad: dict[str, bytes], case: str
) -> None:
    hub = refusing_hub
    before = artifact_files(hub.home)
    r = upload(hub, "user", NAME, bad[case], trained.manifest(), evaluation=trained.evaluation)
    assert r.status_code == 422, r.text
    error = r.json()["error"]
    assert error["code"] == REFUSED[case], error
    assert error["message"]
    assert_nothing_registered(hub, before)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("description", "<script>alert('owned')</script>"),
        ("title", "Solubility <img src=x onerror=alert(1)>"),
        ("outputs", [{"name": "logS", "unit": "log10(mol/L)", "description": "<b>x</b>"}]),
    ],
)
def test_a_manifest_with_markup_is_refused_naming_the_field(
    refusing_hub: Hub, trained: Trained, field: str, value: object
) -> None:
    hub = refusing_hub
    before = artifact_files(hub.home)
    r = upload(hub, "user", NAME, trained.model, trained.manifest(**{field: value}))
    assert r.status_code == 422, r.text
    error = r.json()["error"]
    assert error["code"] == "invalid_manifest"
    assert error["detail"]["field"].startswith(f"manifest.{field}")
    assert "markup" in error["message"]
    assert_nothing_registered(hub, before)
    # the same rule for a new model's fields (FastAPI's 422, naming the body's field)
    r = create(hub, "user", "acme.scripted", description="<script>alert(1)</script>")
    assert r.status_code == 422 and "body.description" in r.json()["error"]["message"]


@pytest.mark.parametrize(
    ("manifest", "field"),
    [
        ("{not json", "manifest"),
        ({"input_type": None}, "manifest.input_type"),
        ({"surprise": 1}, "manifest.surprise"),
        ({"featurizer": "no.such"}, "manifest.featurizer"),
        ({"featurizer_params": {"n_bits": "many"}}, "manifest.featurizer_params"),
        ({"outputs": [{"name": "other", "unit": "1"}]}, "manifest.outputs"),
        ({"visibility": "group:nobody"}, "manifest.visibility"),
    ],
)
def test_a_bad_manifest_is_a_422_naming_the_field(
    refusing_hub: Hub, trained: Trained, manifest: object, field: str
) -> None:
    hub = refusing_hub
    before = artifact_files(hub.home)
    text = json.dumps(trained.manifest(**manifest)) if isinstance(manifest, dict) else manifest
    r = upload(hub, "user", NAME, trained.model, text)
    assert r.status_code == 422, r.text
    assert r.json()["error"]["detail"].get("field", "").startswith(field), r.json()
    assert_nothing_registered(hub, before)


def test_an_upload_over_the_limit_is_a_413(refusing_hub: Hub, trained: Trained) -> None:
    from fastapi.testclient import TestClient

    from hub.runtime import Runtime
    from hub.service.app import create_app

    hub = refusing_hub
    before = artifact_files(hub.home)
    runtime = hub.client.app.state.runtime
    limit = len(trained.model) // 2
    small = Settings(
        database_url=runtime.store.url,
        artifacts_dir=hub.home / "artifacts",
        max_upload_bytes=limit,
        max_body_bytes=1024,  # the default limit of other routes does not apply to uploads
    )
    app = create_app(Runtime(small, store=runtime.store), warm=False)
    with TestClient(app, raise_server_exceptions=False) as client:
        small_hub = Hub(runtime.store, client, hub.keys, hub.home)
        r = upload(small_hub, "user", NAME, trained.model, trained.manifest())
        assert r.status_code == 413, r.text
        assert r.json()["error"]["code"] == "payload_too_large"
        assert r.json()["error"]["detail"]["limit"] == limit
        # a body over the route's own limit is stopped before it is read
        r = upload(small_hub, "user", NAME, b"PK\x03\x04" + bytes(3 << 20), trained.manifest())
        assert r.status_code == 413 and "over the limit" in r.json()["error"]["message"]
        # other routes keep HUB_MAX_BODY_BYTES
        r = client.post(
            f"/v1/models/{NAME}/predict",
            headers=hub.headers("user"),
            json={"inputs": ["C" * 2000]},
        )
        assert r.status_code == 413
    assert_nothing_registered(hub, before)


def test_broken_multipart_framing_is_a_422(pub_hub: Hub) -> None:
    """An upload whose multipart framing is broken (found by schemathesis) gets the documented
    422 shape, not a bare 400."""
    boundary = "2009a461a60b478862f9ef477a1e664d"
    r = pub_hub.client.post(
        "/v1/models/acme.anything/versions",
        headers={
            **pub_hub.headers("user"),
            "content-type": f"multipart/form-data; boundary={boundary}",
        },
        content=f"--{boundary}\r\n-1.89e-223--{boundary}--\r\n".encode(),
    )
    assert r.status_code == 422, r.text
    assert r.json()["error"]["code"] == "invalid_request"
