"""Training from a CSV, end to end (tiny networks, an ESOL subset): through ``hub.train`` as a
job, over HTTP with a user's key (private to that user), and a classifier from ``hub train``.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

import hub
from hub.auth import keys, users
from hub.catalog.jobs import JobStore
from hub.client import HubClient
from hub.errors import NotFound
from hub.runtime import Runtime
from hub.service.cards import model_card
from tests.conftest import serve, settings_for

DATA = Path(__file__).resolve().parents[2] / "domains" / "chemistry" / "data"
TINY = {"n_splits": 1, "members": 2, "epochs": 8, "patience": 3, "hidden": [16]}
SCOPES = "read,predict,jobs,publish"


def esol_csv(n: int = 200, *, label: bool = False, extra: str = "") -> bytes:
    """ESOL's first ``n`` molecules as a user's CSV (columns SMILES and logS, or soluble =
    logS > -3), plus ``extra`` lines."""
    with gzip.open(DATA / "ESOL.csv.gz", "rt") as fh:
        rows = list(csv.DictReader(fh))[:n]
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["name", "SMILES", "soluble" if label else "logS"])
    for i, r in enumerate(rows):
        y = float(r["measured log solubility in mols per litre"])
        w.writerow([f"m{i}", r["smiles"], int(y > -3) if label else y])
    return (buf.getvalue() + extra).encode()


@pytest.fixture(scope="module")
def runtime(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runtime]:
    home = tmp_path_factory.mktemp("train-home")
    rt = Runtime(settings_for(home, max_upload_bytes=64 * 1024))
    yield rt
    rt.store.close()


@pytest.fixture(scope="module")
def trained(runtime: Runtime) -> dict:
    steps: list[tuple[float, str]] = []
    result = hub.train(
        "acme.solubility-inhouse",
        esol_csv(extra="m-bad,C1CC(not smiles,-2.0\n"),
        smiles_column="SMILES",
        target="logS",
        unit="log10(mol/L)",
        params=TINY,
        runtime=runtime,
        progress=lambda f, m: steps.append((f, m)),
    )
    result["steps"] = steps
    return result


def test_train_as_a_job_then_predict(runtime: Runtime, trained: dict) -> None:
    name = "acme.solubility-inhouse"
    assert trained["ref"] == f"{name}:1" and trained["version"] == 1
    assert trained["data"]["rows"] == 201 and trained["data"]["usable"] == 200
    assert trained["data"]["invalid"][0]["row"] == 202
    assert trained["steps"][-1] == (1.0, f"registered {name}:1")
    [job] = [j for j in JobStore(runtime.store).list() if j.model == name]
    assert job.task == "train" and job.state == "succeeded" and job.params == TINY
    out = runtime.predict(name, ["c1ccccc1O", "C1CC("]).outputs
    assert out[0]["unit"] == "log10(mol/L)" and out[0]["uncertainty"] > 0
    assert out[0]["in_domain"] is True and out[0]["smiles"] == "Oc1ccccc1"
    assert out[1]["error"]["code"] == "invalid_smiles"
    model = runtime.store.get_model(name)
    assert model.visibility == "private" and model.task == "property-regression"


def test_card_shows_random_and_scaffold_metrics_and_plots(runtime: Runtime, trained: dict) -> None:
    card = model_card(runtime.store, "acme.solubility-inhouse", plugins=runtime.plugins)
    v = card.versions[0]
    got = {(m.name, m.split) for m in v.metrics}
    for split in ("random", "scaffold"):
        for name in ("rmse", "mae", "r2", "fraction_in_domain"):
            assert (name, split) in got
    for name in ("within_1sigma", "sigma_scale", "ad_threshold"):
        assert (name, "random") in got
    stored = runtime.store.get_version("acme.solubility-inhouse", 1).metrics
    rmse = next(m for m in stored if m.name == "rmse" and m.split == "random")
    assert rmse.n == 1 and rmse.n_samples == 20  # one split, 10 % of 200 held out
    assert {p.role for p in v.plots} == {"plot_parity", "plot_uncertainty"}
    for role in ("model", "plot_parity", "plot_uncertainty", "training_smiles"):
        assert runtime.artifacts.exists(v.artifacts[role])
    ev = v.spec["evaluation"]
    assert "scaffold" in ev["scaffold"] and "Tanimoto" in ev["applicability_domain"]
    assert "201 rows" in ev["training_data"] and "1 invalid rows left out" in ev["training_data"]
    assert v.recipe == "chemistry.property@train" and v.recipe_params["members"] == 2
    assert card.headline is not None and card.headline.name == "rmse"


def _run_queued(runtime: Runtime, job_id: str) -> None:
    """Do what a job worker does with the queued job."""
    from hub.jobs.runner import run_job

    job = runtime.jobs.claim(job_id, "test-worker")
    assert job is not None
    run_job(runtime, job, worker="test-worker")


def test_train_over_http_is_private_to_its_user(runtime: Runtime) -> None:
    from hub.service.app import create_app

    store = runtime.store
    for user in ("alice", "bob"):
        users.create_user(store, user)
    alice = keys.create_key(store, "alice", SCOPES)[1]
    bob = keys.create_key(store, "bob", SCOPES)[1]
    reader = keys.create_key(store, "bob", "read,predict,jobs")[1]
    with serve(create_app(runtime, warm=False)) as url:
        client = HubClient(url, api_key=alice)
        handle = client.train(
            "alice.solubility", esol_csv(), smiles_column="SMILES", target="logS",
            unit="log10(mol/L)", params=TINY,
        )  # fmt: skip
        status = handle.status()
        assert status["state"] == "queued" and status["owner"] == "alice"
        assert status["task"] == "train" and status["version"] == 0
        with pytest.raises(NotFound):  # announced, not trained yet
            client.predict("alice.solubility", ["CCO"])
        _run_queued(runtime, handle.id)
        result = handle.wait(progress=False)
        assert result["ref"] == "alice.solubility:1" and result["data"]["usable"] == 200
        out = client.predict("alice.solubility", ["CCO"]).outputs[0]
        assert out["unit"] == "log10(mol/L)" and "in_domain" in out
        card = client.model("alice.solubility")
        assert card["owner"] == "alice" and card["visibility"] == "private"

        def post(key: str | None, name: str = "alice.solubility", **form: str) -> httpx.Response:
            fields = {"target": "logS", "smiles_column": "SMILES", **form}
            headers = {"Authorization": f"Bearer {key}"} if key else {}
            return httpx.post(
                f"{url}/v1/models/{name}/train", data=fields, headers=headers,
                files={"file": ("t.csv", esol_csv(60), "text/csv")},
            )  # fmt: skip

        with HubClient(url, api_key=bob) as other:
            with pytest.raises(NotFound):
                other.predict("alice.solubility", ["CCO"])
            with pytest.raises(NotFound):
                other.model("alice.solubility")
            with pytest.raises(NotFound):
                other.job(handle.id).status()
        assert httpx.get(f"{url}/v1/models/alice.solubility").status_code == 404
        assert post(bob).status_code == 404  # cannot see it: cannot train it either
        assert post(reader, "bob.new").status_code == 403  # no publish scope
        assert post(None, "anon.new").status_code == 401
        missing = post(alice, target="pIC50")
        assert missing.status_code == 422
        assert missing.json()["error"]["code"] == "missing_columns"
        big = httpx.post(
            f"{url}/v1/models/alice.big/train", headers={"Authorization": f"Bearer {alice}"},
            data={"target": "logS", "smiles_column": "SMILES"},
            files={"file": ("big.csv", esol_csv(1128) * 2, "text/csv")},  # over 64 KiB
        )  # fmt: skip
        assert big.status_code == 413
        bad = post(alice, "alice.other", params=json.dumps({"epochs": "many"}))
        assert bad.status_code == 422 and bad.json()["error"]["code"] == "invalid_params"
        client.close()
    for name in ("alice.big", "alice.other", "bob.new", "anon.new"):
        with pytest.raises(NotFound):
            store.get_model(name)


def test_classifier_from_the_command_line(
    runtime: Runtime, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from hub.cli import app

    path = tmp_path / "soluble.csv"
    path.write_bytes(esol_csv(label=True))
    monkeypatch.setenv("HUB_HOME", str(Path(runtime.settings.artifacts_dir).parent))
    args = ["train", "acme.soluble", str(path), "--smiles-column", "SMILES", "--target"]
    args += ["soluble", "--task", "classification", "--params", json.dumps(TINY)]
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 0, res.output
    assert "registered acme.soluble:1" in res.output and "roc_auc" in res.output
    v = runtime.store.get_version("acme.soluble", 1)
    got = {(m.name, m.split): m.value for m in v.metrics}
    for split in ("random", "scaffold"):
        for name in ("roc_auc", "accuracy", "brier", "ece"):
            assert (name, split) in got
        assert 0.5 < got[("roc_auc", split)] <= 1 and 0 <= got[("brier", split)] < 0.25
    assert ("brier_in_domain", "random") in got and ("within_1sigma", "random") in got
    assert set(v.spec["plots"]) == {"plot_roc", "plot_reliability"}
    assert v.spec["outputs"] == [{"name": "soluble", "unit": "probability"}]
    out = runtime.predict("acme.soluble", ["CCO", "c1ccc2ccccc2c1Cl"]).outputs
    assert all(0 <= o["value"] <= 1 and o["uncertainty"] >= 0 for o in out)
    assert out[0]["value"] > out[1]["value"]  # ethanol dissolves, a chloronaphthalene less so
    assert out[0]["unit"] == "probability"
