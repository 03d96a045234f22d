"""Jobs belong to their submitter (and admins): others get 404 on get, result and cancel, and
the job list shows only one's own."""

from __future__ import annotations

from tests.auth.support import CU2, Hub


def _submit(hub: Hub, who: str, model: str = "auth.public") -> str:
    r = hub.client.post(
        "/v1/jobs",
        json={"model": model, "task": "relax", "input": CU2, "params": {"fmax": 0.5}},
        headers=hub.headers(who),
    )
    assert r.status_code == 202, r.text
    return r.json()["id"]


def test_jobs_are_their_submitters(hub: Hub) -> None:
    mine = _submit(hub, "user")
    theirs = _submit(hub, "other")
    jobs = hub.client.app.state.runtime.jobs
    assert jobs.get(mine).id == mine
    for path in (f"/v1/jobs/{mine}", f"/v1/jobs/{mine}/result"):
        assert hub.client.get(path, headers=hub.headers("other")).status_code == 404
        assert hub.client.get(path, headers=hub.headers("member")).status_code == 404
        assert hub.client.get(path).status_code == 401
    own = hub.client.get(f"/v1/jobs/{mine}", headers=hub.headers("user"))
    assert own.status_code == 200 and own.json()["owner"] == jobs.get(mine).owner is not None
    admin_view = hub.client.get(f"/v1/jobs/{mine}", headers=hub.headers("admin"))
    assert admin_view.status_code == 200 and admin_view.json()["owner"] == own.json()["owner"]
    assert jobs.get(theirs).owner != jobs.get(mine).owner
    # someone else's job answers like a job that does not exist
    nothing = hub.client.get(
        "/v1/jobs/00000000-0000-0000-0000-000000000000", headers=hub.headers("other")
    )
    other = hub.client.get(f"/v1/jobs/{mine}", headers=hub.headers("other"))
    assert other.json()["error"]["code"] == nothing.json()["error"]["code"] == "job_not_found"
    # cancel: not by another user; by the owner
    assert hub.client.delete(f"/v1/jobs/{mine}", headers=hub.headers("other")).status_code == 404
    assert jobs.get(mine).state == "queued"
    r = hub.client.delete(f"/v1/jobs/{mine}", headers=hub.headers("user"))
    assert r.status_code == 200 and r.json()["state"] == "cancelled"

    # lists: one's own only; an admin's: everyone's
    def listed(who: str) -> set[str]:
        r = hub.client.get("/v1/jobs", headers=hub.headers(who))
        assert r.status_code == 200
        return {j["id"] for j in r.json()["data"]}

    assert mine in listed("user") and theirs not in listed("user")
    assert theirs in listed("other") and mine not in listed("other")
    assert listed("member").isdisjoint({mine, theirs})
    assert {mine, theirs} <= listed("admin")
    from hub.catalog.rows import JobRow

    with hub.store.session() as s:
        assert (s.get(JobRow, theirs).owner, s.get(JobRow, mine).owner) == ("bob", "alice")


def test_jobs_need_a_key_and_a_visible_model(hub: Hub) -> None:
    body = {"model": "auth.private", "task": "relax", "input": CU2}
    assert hub.client.post("/v1/jobs", json=body).status_code == 401
    assert hub.client.post("/v1/jobs", json=body, headers=hub.headers("other")).status_code == 404
    assert hub.client.post("/v1/jobs", json=body, headers=hub.headers("user")).status_code == 202
    assert hub.client.get("/v1/jobs").status_code == 401
