"""The authorization matrix, generated from the app's routes: every route x {anonymous, user
(the models' owner), another user, a group member, an admin} x {public, group, private model}
gets the status its declared policy says. A route without a declared policy fails."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute

from hub.auth.identity import SCOPES
from hub.auth.policy import ANONYMOUS_LEVELS
from hub.service.deps import Policy, policy_of
from tests.auth.support import CU2, MODELS, VISIBILITY, Hub

CALLERS = ("anonymous", "user", "other", "member", "admin")
KEY_SCOPES = {
    "user": {"read", "predict", "jobs", "publish"},
    "other": {"read", "predict", "jobs", "publish"},
    "member": {"read", "predict", "jobs", "publish"},
    "admin": set(SCOPES),
}
SEES = {
    "anonymous": {"public"},
    "user": {"public", "group", "private"},  # alice owns all three
    "other": {"public"},
    "member": {"public", "group"},
    "admin": {"public", "group", "private"},
}
MANAGES = {"user", "admin"}
JOB_OWNERS = {"user", "admin"}  # jobs in the matrix are alice's
# framework routes that carry no data of the hub (API docs, static files)
FRAMEWORK = {"/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc", "/static"}
# what success looks like, when it is not a 200
SUCCESS = {
    ("POST", "/v1/jobs"): 202,
    ("GET", "/v1/jobs/{job_id}/result"): 409,  # the job has not run: no result yet
    ("POST", "/v1/screens"): 422,  # no library in the matrix's request
    ("GET", "/v1/screens/{screen_id}/results"): 409,  # the screen has not run
    ("POST", "/v1/models"): 422,  # no model fields in the matrix's request
    ("POST", "/v1/models/{name}/versions"): 422,  # no upload in the matrix's request
    ("POST", "/v1/packs"): 422,  # no .hubpack in the matrix's request
    ("POST", "/v1/models/{name}/train"): 422,  # no training file in the matrix's request
    ("POST", "/signin"): 403,  # no CSRF token in the matrix's request: the form refuses
    ("POST", "/signout"): 403,
    ("POST", "/v2/models/{name}/infer"): 422,  # no tensors in the matrix's request
    ("POST", "/v2/models/{name}/versions/{version}/infer"): 422,
}


# routes whose authorized answer depends on the model, not on the caller: any status but
# 401, 403 and 404 is authorized (explain: a simulator cannot explain)
AUTHORIZED_ANY = {("POST", "/v1/models/{ref}/explain")}
AUTH_STATUSES = {401, 403, 404}


@dataclass(frozen=True)
class RouteInfo:
    method: str
    path: str
    policy: Policy | None


def _policies(dependant: Any) -> Iterator[Policy]:
    for dep in dependant.dependencies:
        found = policy_of(dep.call)
        if found is not None:
            yield found
        yield from _policies(dep)


def app_routes(app: FastAPI) -> list[RouteInfo]:
    """Every (method, path) the app answers, with the policy its dependencies declare."""
    out: list[RouteInfo] = []

    def add(path: str, methods: set[str], dependant: Any) -> None:
        found = list(_policies(dependant)) if dependant is not None else []
        for method in sorted(methods - {"HEAD"}):
            out.append(RouteInfo(method, path, found[0] if len(found) == 1 else None))

    for route in app.routes:
        if isinstance(route, APIRoute):
            add(route.path, set(route.methods), route.dependant)
        elif hasattr(route, "effective_route_contexts"):  # FastAPI's included routers
            for ctx in route.effective_route_contexts():
                add(ctx.path, set(ctx.methods or ()), ctx.dependant)
        elif getattr(route, "path", None) not in FRAMEWORK:
            out.append(RouteInfo("*", getattr(route, "path", repr(route)), None))
    return out


def undeclared(app: FastAPI) -> list[str]:
    return [
        f"{r.method} {r.path}"
        for r in app_routes(app)
        if r.policy is None and r.path not in FRAMEWORK
    ]


def test_every_route_declares_one_policy(hub: Hub) -> None:
    assert undeclared(hub.client.app) == []
    assert len(app_routes(hub.client.app)) >= 20


def test_a_route_without_a_policy_fails_the_matrix(hub: Hub) -> None:
    app = FastAPI()
    app.router.routes.extend(hub.client.app.router.routes)

    @app.get("/v1/sneaky")
    def sneaky() -> dict[str, str]:
        return {"ok": "yes"}

    assert undeclared(app) == ["GET /v1/sneaky"]


def expected(route: RouteInfo, who: str, kind: str, anon: frozenset[str]) -> int:
    policy = route.policy
    assert policy is not None
    scopes = set(anon) | KEY_SCOPES.get(who, set())
    if policy.scope is not None and policy.scope not in scopes and "admin" not in scopes:
        return 401 if who == "anonymous" else 403
    names_model = policy.model is not None or (route.method, route.path) == ("POST", "/v1/jobs")
    if names_model and kind not in SEES[who]:
        return 404
    if policy.manage and who not in MANAGES:
        return 403
    if ("{job_id}" in route.path or "{screen_id}" in route.path) and who not in JOB_OWNERS:
        return 404
    return SUCCESS.get((route.method, route.path), 200)


def request_for(hub: Hub, route: RouteInfo, kind: str) -> tuple[str, dict[str, Any]]:
    """The URL and JSON body of a well-formed request to ``route`` about the ``kind`` model."""
    model = MODELS[kind]
    path = route.path
    if "{job_id}" in path:
        job = hub.client.app.state.runtime.jobs.create(
            model=model, version=1, task="relax", input=CU2, params={}, owner="alice"
        )
        path = path.replace("{job_id}", job.id)
    if "{screen_id}" in path:  # a screen of alice's, queued (nothing drives it here)
        from hub.catalog.screens import ScreenStore

        screen = ScreenStore(hub.client.app.state.runtime.store).create(
            models=[], input_sha256="0" * 64, input_name="", input_format="smi",
            input_column="smiles", input_type="smiles", chunk_size=1000, owner="alice",
        )  # fmt: skip
        path = path.replace("{screen_id}", screen.id)
    for key, value in {
        "{name}": model,
        "{ref}": model,
        "{version}": "1",
        "{role}": "plot_check",
        "{alias}": "staging",
        "{input_type}": "smiles",
    }.items():
        path = path.replace(key, value)
    body: dict[str, Any] = {}
    if path.endswith(("/predict", "/explain")):
        body = {"inputs": [CU2]}
    elif "/aliases/" in path:
        body = {"version": 1}
    elif path.endswith("/visibility"):
        body = {"visibility": VISIBILITY[kind]}  # unchanged: the matrix changes nothing
    elif path == "/v1/jobs" and route.method == "POST":
        body = {"model": model, "task": "relax", "input": CU2, "params": {"fmax": 0.5}}
    elif path.endswith("/depict"):
        body = {"input": "CCO"}
    return path, body


@pytest.mark.parametrize("level", list(ANONYMOUS_LEVELS))
def test_authorization_matrix(hub: Hub, anonymous_level, level: str) -> None:  # noqa: ANN001
    anonymous_level(level)
    anon = ANONYMOUS_LEVELS[level]
    callers = CALLERS if level == "predict" else ("anonymous",)
    wrong: list[str] = []
    cells = 0
    for route in app_routes(hub.client.app):
        if route.path in FRAMEWORK:
            continue
        model_axis = "{name}" in route.path or "{ref}" in route.path or route.path == "/v1/jobs"
        for kind in MODELS if model_axis else ("public",):
            for who in callers:
                path, body = request_for(hub, route, kind)
                want = expected(route, who, kind, anon)
                kw: dict[str, Any] = {"headers": hub.headers(who)}
                if body:
                    kw["json"] = body
                got = hub.client.request(route.method, path, **kw).status_code
                cells += 1
                if (route.method, route.path) in AUTHORIZED_ANY and want not in AUTH_STATUSES:
                    ok = got not in AUTH_STATUSES
                else:
                    ok = got == want
                if not ok:
                    cell = f"{route.method} {route.path} [{kind}] as {who}"
                    wrong.append(f"{cell}: {got}, want {want}")
    assert wrong == [], "\n".join(wrong)
    assert cells >= (200 if level == "predict" else 20)


def test_openapi_documents_the_key_per_route(hub: Hub) -> None:
    schema = hub.client.get("/openapi.json").json()
    assert schema["components"]["securitySchemes"]["apiKey"]["scheme"] == "bearer"
    paths = schema["paths"]
    optional, required = [{}, {"apiKey": []}], [{"apiKey": []}]
    assert paths["/v1/models"]["get"]["security"] == optional
    assert paths["/v1/models/{ref}/predict"]["post"]["security"] == optional
    assert paths["/v1/jobs"]["post"]["security"] == required
    assert paths["/v1/models/{name}/aliases/{alias}"]["put"]["security"] == required
    assert paths["/v1/models/{name}/visibility"]["put"]["security"] == required
