"""The first `hub serve --build`: every model to build is in the catalog from the first
second, queued with its expected time, and its build record follows the build."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from hub.artifacts import ArtifactStore
from hub.build import announce_builds, build_all
from hub.catalog import CatalogStore
from hub.catalog.jobs import BUILD_TASK, JobStore
from hub.errors import NotFound
from hub.plugins import load_plugins
from tests.conftest import settings_for


def test_first_run_every_model_is_listed_as_being_built(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    store = CatalogStore(settings.database_url)
    recipes = load_plugins().recipes()
    planned = announce_builds(recipes, store)
    assert sorted(j.model for j in planned) == sorted(r.name for r in recipes)
    assert all(j.task == BUILD_TASK and j.state == "queued" for j in planned)
    minutes = {r.name: r.minutes for r in recipes}
    assert all(j.params["minutes"] == minutes[j.model] for j in planned)
    _, count = store.list_models(limit=1000)
    assert count == len(recipes)
    with pytest.raises(NotFound) as e:  # what the README's curl meets during the first build
        store.resolve("chemistry.solubility")
    assert e.value.code == "version_not_found" and "being built" in e.value.message
    jobs = JobStore(store)
    assert (
        jobs.build_of("chemistry.solubility").params["minutes"] == minutes["chemistry.solubility"]
    )
    assert jobs.claim_next("a-job-worker") is None  # job workers leave builds alone


def test_build_record_follows_the_build(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    store = CatalogStore(settings.database_url)
    arts = ArtifactStore(settings.artifacts_dir)
    recipes = {r.name: r for r in load_plugins().recipes()}
    emt = recipes["physics.emt"]

    def interrupted(ctx):  # noqa: ANN001, ANN202
        raise KeyboardInterrupt

    stopper = dataclasses.replace(recipes["physics.lennard-jones"], train=interrupted, minutes=0.5)
    later = recipes["chemistry.solubility"]
    planned = {j.model: j for j in announce_builds([emt, stopper, later], store)}
    with pytest.raises(KeyboardInterrupt):
        build_all([emt, stopper, later], store, arts)
    jobs = JobStore(store)
    done = jobs.get(planned["physics.emt"].id)
    assert done.state == "succeeded" and done.message == "registered physics.emt:1"
    assert done.worker.startswith("builder-") and done.step == 1000
    stopped = jobs.get(planned["physics.lennard-jones"].id)
    assert stopped.state == "cancelled" and "interrupted" in stopped.message
    never = jobs.get(planned["chemistry.solubility"].id)  # the build stopped before it
    assert never.state == "cancelled" and jobs.build_of("chemistry.solubility") is None
    # a second `hub serve --build` announces nothing already built
    again = announce_builds([emt, later], store)
    assert [j.model for j in again] == ["chemistry.solubility"]


def test_first_run_card_says_queued_with_expected_time(tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    from hub.runtime import Runtime
    from hub.service.app import create_app

    settings = settings_for(tmp_path)
    store = CatalogStore(settings.database_url)
    recipes = load_plugins().recipes()
    announce_builds(recipes, store, only=["chemistry.solubility"])
    minutes = next(r.minutes for r in recipes if r.name == "chemistry.solubility")
    with TestClient(create_app(Runtime(settings), warm=False)) as http:
        r = http.post("/v1/models/chemistry.solubility/predict", json={"inputs": ["CCO"]})
        assert r.status_code == 404 and r.json()["error"]["code"] == "version_not_found"
        assert "being built" in r.json()["error"]["message"]
        card = http.get("/v1/models/chemistry.solubility").json()
        assert card["build"]["state"] == "queued" and card["build"]["minutes"] == minutes
        page = http.get("/models/chemistry.solubility").text
        assert "queued for building" in page and f"about {minutes} min" in page
