"""Issue 15's acceptance: a Keras model trained in the test on ESOL is published over HTTP with
a user's key, predicts through the same API with ``in_domain``, shows hub-measured metrics
(apart from the declared ones) on its card and web page, is invisible to another user (404)
and serves a member of the group it is shared with; the next upload (through ``hub publish
--url``) is version 2 and moves ``latest``. SQLite and PostgreSQL."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from tests.auth.support import Hub
from tests.conftest import serve
from tests.publishing.publish_support import Trained, create, upload

NAME = "acme.esol"


def test_publish_predict_card_and_visibility(pub_hub: Hub, trained: Trained) -> None:
    hub = pub_hub
    assert hub.client.post("/v1/models", json={"name": NAME}).status_code == 401
    r = create(hub, "user", NAME)
    assert r.status_code == 201, r.text
    assert (r.json()["owner"], r.json()["visibility"]) == ("alice", "group:chem-team")
    assert create(hub, "other", NAME).status_code == 409
    # only the owner (or an admin) adds versions; others who cannot see it get a 404
    assert upload(hub, "other", NAME, trained.model, trained.manifest()).status_code == 404
    assert upload(hub, "member", NAME, trained.model, trained.manifest()).status_code == 403

    r = upload(
        hub, "user", NAME, trained.model, trained.manifest(),
        evaluation=trained.evaluation, training=trained.training,
    )  # fmt: skip
    assert r.status_code == 201, r.text
    body = r.json()
    assert (body["ref"], body["version"]) == (f"{NAME}:1", 1)
    report = body["report"]
    assert report["featurizer_width"] == trained.width
    assert report["evaluation"]["usable"] == 120 and report["evaluation"]["skipped"] == 1
    assert report["evaluation"]["rows"][0]["code"] == "invalid_smiles"
    assert report["training_inputs"]["usable"] == 400
    assert report["sandbox"]["layers"] == ["Dense", "Dense"]
    metrics = {(m["name"], m["source"]): m for m in body["detail"]["metrics"]}
    rmse = metrics[("rmse", "hub")]
    assert rmse["split"] == "evaluation" and rmse["n_samples"] == 120 and rmse["n"] == 1
    assert rmse["provenance"] == "measured by the hub at registration"
    assert 0.3 < rmse["value"] < 1.6 and metrics[("r2", "hub")]["value"] > 0.4
    declared = metrics[("rmse", "publisher")]
    assert declared["value"] == 0.61 and declared["provenance"] == "declared by the publisher"
    assert 0.9 <= metrics[("fraction_in_domain", "hub")]["value"] <= 1.0
    spec = body["detail"]["spec"]
    assert spec["annotators"][0]["name"] == "chemistry.tanimoto_domain"
    assert body["detail"]["dataset"]["name"] == "esol_eval.csv"

    # predictions through the same API, each with its applicability domain
    r = hub.client.post(
        f"/v1/models/{NAME}/predict",
        headers=hub.headers("user"),
        json={"inputs": ["CCO", "c1ccccc1O", "not-a-smiles"]},
    )
    assert r.status_code == 200, r.text
    out = r.json()["outputs"]
    assert r.json()["version"] == 1
    assert isinstance(out[0]["value"], float) and out[0]["unit"] == "log10(mol/L)"
    assert isinstance(out[1]["in_domain"], bool) and "threshold" in out[1]["domain"]
    assert out[2]["error"]["code"] == "invalid_smiles"

    # the card (JSON, Markdown, web page) says who measured what
    card = hub.client.get(f"/v1/models/{NAME}", headers=hub.headers("user")).json()
    assert card["headline"]["source"] == "hub" and card["headline"]["split"] == "evaluation"
    plots = {p["role"]: p["url"] for p in card["versions"][0]["plots"]}
    assert set(plots) == {"plot_parity"}
    svg = hub.client.get(plots["plot_parity"], headers=hub.headers("user"))
    assert svg.status_code == 200 and svg.headers["content-type"].startswith("image/svg")
    md = hub.client.get(f"/v1/models/{NAME}/card.md", headers=hub.headers("user")).text
    assert "measured by the hub at registration" in md and "declared by the publisher" in md
    page = hub.client.get(f"/models/{NAME}", headers=hub.headers("user"))
    assert page.status_code == 200
    assert "measured by the hub at registration" in page.text
    assert "Declared by the publisher" in page.text and "declared by the publisher" in page.text
    assert "120 samples" in page.text and plots["plot_parity"] in page.text

    # another user: it does not exist; a member of the group: predictions
    for path in (f"/v1/models/{NAME}", f"/models/{NAME}", f"/v1/models/{NAME}/versions"):
        assert hub.client.get(path, headers=hub.headers("other")).status_code == 404, path
        assert hub.client.get(path).status_code in (401, 404), path
    predict = {"inputs": ["CCO"]}
    path = f"/v1/models/{NAME}/predict"
    assert hub.client.post(path, headers=hub.headers("other"), json=predict).status_code == 404
    r = hub.client.post(path, headers=hub.headers("member"), json=predict)
    assert r.status_code == 200 and isinstance(r.json()["outputs"][0]["value"], float)

    # the audit trail names the version registered
    rows = hub.client.get(
        "/v1/audit", headers=hub.headers("admin"), params={"action": "model.publish"}
    ).json()["data"]
    ok = [row for row in rows if row["status"] == 201]
    assert [(row["user"], row["model"], row["version"]) for row in ok] == [("alice", NAME, 1)]


def test_next_version_from_the_cli_moves_latest(pub_hub: Hub, trained: Trained, tmp_path) -> None:  # noqa: ANN001
    from hub.cli import app

    hub = pub_hub
    before = hub.client.get(f"/v1/models/{NAME}/versions/1", headers=hub.headers("user")).json()
    model = tmp_path / "esol.keras"
    model.write_bytes(trained.model)
    evaluation = tmp_path / "esol_eval.csv"
    evaluation.write_bytes(trained.evaluation)
    with serve(hub.client.app) as url:
        result = CliRunner().invoke(
            app,
            [
                "publish", NAME, str(model), "--url", url,
                "--input-type", "smiles", "--featurizer", "chemistry.rdkit2d_morgan",
                "--featurizer-params", json.dumps(trained.manifest()["featurizer_params"]),
                "--output", "logS:log10(mol/L)", "--evaluation", str(evaluation),
                "--metric", "rmse=0.6@test",
            ],
            env={"HUB_API_KEY": hub.keys["user"], "COLUMNS": "200"},
        )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert f"registered {NAME}:2" in result.output and "(hub)" in result.output
    versions = hub.client.get(f"/v1/models/{NAME}/versions", headers=hub.headers("user")).json()
    assert [v["version"] for v in versions] == [1, 2]
    assert versions[0] == before  # immutable
    assert versions[1]["spec"]["annotators"] == []  # no training inputs this time
    aliases = hub.client.get(f"/v1/models/{NAME}/aliases", headers=hub.headers("user")).json()
    assert aliases == [{"alias": "latest", "version": 2}]
    r = hub.client.post(
        f"/v1/models/{NAME}/predict", headers=hub.headers("member"), json={"inputs": ["CCO"]}
    )
    assert r.json()["version"] == 2 and "in_domain" not in r.json()["outputs"][0]
