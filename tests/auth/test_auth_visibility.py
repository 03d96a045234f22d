"""Private models never show to someone not allowed: not in lists, search, facets, the index
and its counts, cards, card.md, versions, plots, predictions, jobs, /health/ready or error
messages (B29). Owners and admins change visibility; nobody else."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import event

from hub.auth.identity import Caller
from tests.auth.support import CU2, MODELS, Hub

# text that only the private (or group) model has
PRIVATE_MARKS = ("auth.private", "authdomainprivate", "tag-private", "secret description private")
GROUP_MARKS = ("auth.group", "authdomaingroup", "tag-group", "secret description group")


def _pages(hub: Hub, who: str) -> dict[str, str]:
    """Every list, search, facet and index a caller can read, by URL."""
    urls = [
        "/v1/models",
        "/v1/models?q=auth",
        "/v1/models?q=secret",
        "/v1/models?tag=shared",
        "/v1/models?domain=authdomainprivate",
        "/v1/models?tag=tag-private",
        "/v1/models?q=private",
        "/",
        "/?q=auth",
        "/?q=private",
        "/?tag=tag-private",
        "/?domain=authdomainprivate",
        "/health/ready",
    ]
    return {u: hub.client.get(u, headers=hub.headers(who)).text for u in urls}


@pytest.mark.parametrize("who", ["anonymous", "other"])
def test_b29_private_model_absent_from_lists_search_facets_index(hub: Hub, who: str) -> None:
    # load the private model into the runtime, as a warm server would have it
    r = hub.client.post(
        "/v1/models/auth.private/predict", json={"inputs": [CU2]}, headers=hub.headers("admin")
    )
    assert r.status_code == 200
    for url, text in _pages(hub, who).items():
        for mark in PRIVATE_MARKS + GROUP_MARKS:
            assert mark not in text, f"{mark!r} in {url} for {who}"
    listed = hub.client.get("/v1/models", headers=hub.headers(who)).json()
    assert [m["name"] for m in listed["data"]] == ["auth.public"] and listed["count"] == 1
    index = hub.client.get("/", headers=hub.headers(who)).text
    assert re.search(r">1</span> of 1 models", index), "the index counts only what one sees"


def test_group_member_sees_group_model_but_not_private(hub: Hub) -> None:
    pages = _pages(hub, "member")
    listed = hub.client.get("/v1/models", headers=hub.headers("member")).json()
    assert sorted(m["name"] for m in listed["data"]) == ["auth.group", "auth.public"]
    assert "authdomaingroup" in pages["/"] and "tag-group" in pages["/"]
    for url, text in pages.items():
        for mark in PRIVATE_MARKS:
            assert mark not in text, f"{mark!r} in {url} for the group member"
    owner = hub.client.get("/v1/models", headers=hub.headers("user")).json()
    assert owner["count"] == 3


@pytest.mark.parametrize("who", ["anonymous", "other", "member"])
def test_b29_private_model_is_exactly_like_a_missing_one(hub: Hub, who: str) -> None:
    """Every route about a model answers for a private one exactly as for one that does not
    exist (status and body, once the name is swapped): nothing confirms the name."""
    requests = [
        ("GET", "/v1/models/{m}", None),
        ("GET", "/v1/models/{m}/card.md", None),
        ("GET", "/v1/models/{m}/versions", None),
        ("GET", "/v1/models/{m}/versions/1", None),
        ("GET", "/v1/models/{m}/versions/1/plots/plot_check", None),
        ("GET", "/v1/models/{m}/aliases", None),
        ("PUT", "/v1/models/{m}/aliases/staging", {"version": 1}),
        ("PUT", "/v1/models/{m}/visibility", {"visibility": "public"}),
        ("POST", "/v1/models/{m}/predict", {"inputs": [CU2]}),
        ("POST", "/v1/models/{m}@latest/predict", {"inputs": [CU2]}),
        ("POST", "/v1/models/{m}:1/explain", {"inputs": [CU2]}),
        ("POST", "/v1/jobs", {"model": "{m}", "task": "relax", "input": CU2}),
        ("GET", "/models/{m}", None),
    ]
    for method, url, body in requests:
        answers = []
        for name in ("auth.private", "auth.nothere"):
            payload = None
            if body is not None:
                payload = {
                    k: (v.format(m=name) if isinstance(v, str) else v) for k, v in body.items()
                }
            r = hub.client.request(
                method, url.format(m=name), json=payload, headers=hub.headers(who)
            )
            answers.append((r.status_code, r.text.replace(name, "NAME")))
        assert answers[0] == answers[1], f"{method} {url} as {who}: {answers}"
        assert answers[0][0] in (401, 404), (method, url, who, answers[0])
        for mark in PRIVATE_MARKS[1:]:
            assert mark not in answers[0][1]


def test_owner_and_admin_change_visibility_nobody_else(hub: Hub) -> None:
    put = hub.client.put
    url = "/v1/models/auth.public/visibility"
    assert put(url, json={"visibility": "private"}, headers=hub.headers("other")).status_code == 403
    assert put(url, json={"visibility": "private"}).status_code == 401
    assert (
        put(url, json={"visibility": "group:nope"}, headers=hub.headers("user")).status_code == 404
    )
    assert put(url, json={"visibility": "friends"}, headers=hub.headers("user")).status_code == 422
    # the owner may not give it away; an admin may
    assert put(url, json={"owner": "bob"}, headers=hub.headers("user")).status_code == 403
    r = put(url, json={"visibility": "private"}, headers=hub.headers("user"))
    assert r.status_code == 200 and r.json()["visibility"] == "private"
    try:
        assert hub.client.get("/v1/models/auth.public").status_code == 404  # at once
        assert (
            hub.client.get("/v1/models/auth.public", headers=hub.headers("user")).status_code == 200
        )
    finally:
        r = put(url, json={"visibility": "public"}, headers=hub.headers("admin"))
        assert r.status_code == 200
    assert hub.client.get("/v1/models/auth.public").status_code == 200


def test_only_owner_and_admin_move_aliases(hub: Hub) -> None:
    url = "/v1/models/auth.public/aliases/production"
    assert hub.client.put(url, json={"version": 1}).status_code == 401
    assert hub.client.put(url, json={"version": 1}, headers=hub.headers("other")).status_code == 403
    assert hub.client.put(url, json={"version": 1}, headers=hub.headers("user")).status_code == 200
    assert hub.client.put(url, json={"version": 1}, headers=hub.headers("admin")).status_code == 200


def _count_queries(store, fn) -> int:  # noqa: ANN001
    seen = []

    def count(*_a) -> None:  # noqa: ANN002
        seen.append(1)

    event.listen(store.engine, "before_cursor_execute", count)
    try:
        fn()
    finally:
        event.remove(store.engine, "before_cursor_execute", count)
    return len(seen)


def test_visibility_filtered_lists_stay_constant_in_queries(hub: Hub) -> None:
    from hub.entities import ModelInfo

    member = Caller("carol", "k", frozenset({"read"}), frozenset({"chem-team"}))
    calls = (
        lambda: hub.store.list_models(caller=member),
        lambda: hub.store.list_model_summaries(caller=member),
        lambda: hub.store.list_facets(caller=member),
    )
    before = [_count_queries(hub.store, f) for f in calls]
    for i in range(12):
        hub.store.upsert_model(
            ModelInfo(
                name=f"auth.extra{i}",
                domain="auth",
                task="simulation",
                title="x",
                description="",
                input_type="atoms",
                outputs=(),
                owner="alice",
                visibility=("public", "private", "group:chem-team")[i % 3],
            )
        )
    try:
        after = [_count_queries(hub.store, f) for f in calls]
        assert after == before
        names = [m.name for m in hub.store.list_models(caller=member, limit=1000)[0]]
        assert "auth.extra1" not in names and {"auth.extra0", "auth.extra2"} <= set(names)
    finally:
        with hub.store.session() as s:
            from hub.catalog.rows import ModelRow

            for row in s.query(ModelRow).filter(ModelRow.name.like("auth.extra%")).all():
                s.delete(row)
    assert set(MODELS.values()) <= {m.name for m in hub.store.list_models(include_private=True)[0]}
