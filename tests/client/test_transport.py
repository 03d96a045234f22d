"""The client's layers: one transport turning answers into typed errors, resources on top."""

from __future__ import annotations

import httpx
import pytest

from hub.client import HubClient
from hub.client.jobs import JobHandle
from hub.client.transport import Transport
from hub.errors import NotFound, RunError


def _transport(handler) -> Transport:  # noqa: ANN001
    return Transport("http://hub.test", transport=httpx.MockTransport(handler))


def test_transport_turns_answers_into_typed_errors() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/v1/models/nothing":
            err = {"code": "model_not_found", "message": "no model nothing"}
            return httpx.Response(404, json={"error": err})
        if request.url.path == "/list":
            return httpx.Response(500, json=["not", "an", "object"])
        return httpx.Response(200, json={"ok": True})

    t = _transport(handler)
    assert t.request("GET", "/v1/health") == {"ok": True}
    with pytest.raises(NotFound) as e:
        t.request("GET", "/v1/models/nothing")
    assert e.value.code == "model_not_found"
    with pytest.raises(RunError, match="HTTP 500"):  # a JSON body that is not an object
        t.request("GET", "/list")


def test_jobs_use_the_transport_s_public_request() -> None:
    seen: list[tuple[str, str]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append((request.method, request.url.path))
        if request.method == "POST":
            return httpx.Response(201, json={"id": "j1"})
        return httpx.Response(200, json={"id": "j1", "state": "queued"})

    client = HubClient("http://hub.test", transport=httpx.MockTransport(handler))
    handle = client.submit("physics.emt", "md", {"numbers": [29], "positions": [[0, 0, 0]]})
    assert isinstance(handle, JobHandle) and handle.id == "j1"
    assert client.job("j1").status()["state"] == "queued"
    assert seen == [("POST", "/v1/jobs"), ("GET", "/v1/jobs/j1")]


def test_client_modules_have_no_circle() -> None:
    """transport, atoms and predictions import no other client module; calculator and jobs
    never import the HubClient module (grimp, the graph import-linter checks)."""
    import grimp

    graph = grimp.build_graph("hub")
    mods = {m for m in graph.modules if m.startswith("hub.client.")}
    for m in ("hub.client.transport", "hub.client.atoms", "hub.client.predictions"):
        assert not graph.find_modules_directly_imported_by(m) & mods, m
    for m in ("hub.client.calculator", "hub.client.jobs"):
        assert graph.find_shortest_chain(importer=m, imported="hub.client.http") is None, m
    for a in mods:
        for b in mods - {a}:
            there = graph.find_shortest_chain(importer=a, imported=b)
            back = graph.find_shortest_chain(importer=b, imported=a)
            assert there is None or back is None, (there, back)
