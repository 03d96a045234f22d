"""Typed dependencies: the runtime (and through it the catalog) of the running app, the
caller, and the one authorization layer of the routes.

Every route declares what it needs with :func:`require` (a scope, the path parameter naming
a model, whether it changes the model); ``tests/auth`` checks that no route lacks one.

The dependencies are coroutines: FastAPI runs a plain function dependency in a worker thread,
and that hop cost more than everything else the dependency does (0.1-0.4 ms a request,
bench/auth_overhead.py). :func:`require` decides on the event loop when the key and the model
are in the gate's cache (the usual case), and goes to a thread only for a catalog query.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, FastAPI, Request
from starlette.concurrency import run_in_threadpool

from hub.auth.gate import Gate
from hub.auth.identity import Caller
from hub.catalog import CatalogStore
from hub.catalog.refs import parse_ref
from hub.errors import HubError, Unauthenticated
from hub.runtime import Runtime
from hub.service.web_security import SAFE_METHODS, SESSION_COOKIE, csrf_ok


def get_runtime(request: Request) -> Runtime:
    return request.app.state.runtime


def get_catalog(request: Request) -> CatalogStore:
    return request.app.state.runtime.store


# the same as coroutines, for Depends (no worker thread)
async def runtime_dependency(request: Request) -> Runtime:
    return request.app.state.runtime


async def catalog_dependency(request: Request) -> CatalogStore:
    return request.app.state.runtime.store


async def gate_dependency(request: Request) -> Gate:
    return gate_of(request.app)


def gate_of(app: FastAPI) -> Gate:
    """The app's :class:`Gate` (made on first use from the runtime's catalog;
    ``HUB_ANONYMOUS`` is read then)."""
    gate = getattr(app.state, "gate", None)
    if gate is None or gate.store is not app.state.runtime.store:
        gate = app.state.gate = Gate(app.state.runtime.store)
    return gate


def get_gate(request: Request) -> Gate:
    return gate_of(request.app)


def bearer_token(request: Request) -> str | None:
    """The key of ``Authorization: Bearer <key>``; else the web session's key, which counts
    for safe methods, or for others with the session's CSRF token (``X-CSRF-Token``)."""
    header = request.headers.get("authorization")
    if header is not None:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthenticated(
                "the Authorization header must be 'Bearer <key>'", code="invalid_key"
            )
        return token.strip()
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie and (
        request.method in SAFE_METHODS or csrf_ok(cookie, request.headers.get("x-csrf-token"))
    ):
        return cookie
    return None


def get_caller(request: Request) -> Caller:
    """Who is calling, resolved once per request (``request.state.caller``)."""
    caller = getattr(request.state, "caller", None)
    if caller is None:
        gate = get_gate(request)
        address = request.client.host if request.client else None
        token = bearer_token(request)
        from_cookie = token is not None and "authorization" not in request.headers
        try:
            caller = gate.caller(token, address=address)
        except Unauthenticated:
            if not from_cookie:
                raise
            caller = gate.caller(None, address=address)  # a stale session: signed out
        request.state.caller = caller
    return caller


class PageError(HubError):
    """A web page refused (401, 403, 404): the page answers with HTML (the sign-in form for a
    401, a not-found page for a 404) instead of the API's JSON error."""

    def __init__(self, error: HubError) -> None:
        super().__init__(error.message, code=error.code)
        self.status = error.status
        self.error = error


@dataclass(frozen=True)
class Policy:
    """What a route needs: ``scope`` (None: anyone, even with ``HUB_ANONYMOUS=none``), the
    path parameter naming a model the caller must be able to see (``model``), and whether the
    route changes that model (``manage``: its owner or an admin only)."""

    scope: str | None
    model: str | None = None
    manage: bool = False
    page: bool = False


def require(  # noqa: ANN201 - a FastAPI dependency
    scope: str | None, *, model: str | None = None, manage: bool = False, page: bool = False
):
    """A dependency that authorizes the request against :class:`Policy` and returns the
    :class:`Caller`: 401 without a needed key, 403 for a missing scope or a model one does
    not own (when ``manage``), 404 for a model one may not see. A web ``page`` answers a
    missing key with the sign-in form."""
    policy = Policy(scope, model, manage, page)
    is_name = model == "name"  # else a reference (name@alias, name:3)

    async def authorized(request: Request) -> Caller:
        # A cached key and model are decided here, on the event loop, in microseconds; a
        # query of the catalog goes to a thread (with ``manage``: always, for fresh owners).
        asgi = request.scope
        gate = gate_of(asgi["app"])
        caller = None if policy.manage else _cached_caller(asgi, gate)
        name = access = None
        if caller is not None and policy.model is not None:
            name = _model_name(asgi.get("path_params", {}).get(policy.model), is_name)
            cached = False
            if name is not None:
                cached, access = gate.cached_model_access(name)
            if not cached:
                caller = None
        if caller is None:
            return await run_in_threadpool(check, request)
        asgi["state"]["caller"] = caller
        try:
            gate.authorize(caller, policy.scope)
            if name is not None:
                gate.check_access(caller, name, access)
        except HubError as exc:
            if policy.page:
                raise PageError(exc) from exc
            raise
        return caller

    def check(request: Request) -> Caller:
        caller = get_caller(request)
        gate = get_gate(request)
        try:
            gate.authorize(caller, policy.scope)
            if policy.model is not None:
                gate.check_model(
                    caller,
                    request.path_params[policy.model],
                    manage=policy.manage,
                    is_name=is_name,
                )
        except HubError as exc:
            if policy.page:
                raise PageError(exc) from exc
            raise
        return caller

    authorized.policy = policy  # type: ignore[attr-defined] - read by tests/auth
    return authorized


def _cached_caller(scope: dict, gate: Gate) -> Caller | None:
    """The caller of an ASGI request when it needs no query, read from the raw headers
    (else None: a web session, a malformed header, an unknown or expired key go the full
    way, :func:`get_caller`, in a thread). Remembered in the request's state."""
    state = scope.get("state")
    if state is None:
        state = scope["state"] = {}
    caller = state.get("caller")
    if caller is not None:
        return caller
    header = None
    for name, value in scope["headers"]:
        if name == b"authorization":
            header = value
            break
        if name == b"cookie" and SESSION_COOKIE_BYTES in value:
            return None  # maybe a web session (checked with its CSRF token by get_caller)
    client = scope.get("client")
    address = client[0] if client else None
    if header is None:
        return gate.anonymous_at(address)
    kind, _, token = header.decode("latin-1").partition(" ")
    token = token.strip()
    if kind.lower() != "bearer" or not token:
        return None  # get_caller answers 401
    return gate.cached_caller(token, address=address)


SESSION_COOKIE_BYTES = SESSION_COOKIE.encode()
_NAMES: dict[str, str] = {}  # model reference -> model name


def _model_name(ref: object, is_name: bool) -> str | None:
    """The model name of a path parameter (a name, or a reference ``name@alias``,
    ``name:3``), or None when it is not one (the full check then says why)."""
    if not isinstance(ref, str):
        return None
    if is_name:
        return ref
    name = _NAMES.get(ref)
    if name is None:
        try:
            name = parse_ref(ref).name
        except HubError:
            return None
        if len(_NAMES) > 10_000:
            _NAMES.clear()
        _NAMES[ref] = name
    return name


def policy_of(dependency: object) -> Policy | None:
    """The :class:`Policy` a dependency made by :func:`require` enforces, else None."""
    return getattr(dependency, "policy", None)


RuntimeDep = Annotated[Runtime, Depends(runtime_dependency)]
CatalogDep = Annotated[CatalogStore, Depends(catalog_dependency)]
GateDep = Annotated[Gate, Depends(gate_dependency)]
CallerDep = Annotated[Caller, Depends(get_caller)]
# the policies of most routes, ready to annotate a ``caller`` parameter with
Public = Annotated[Caller, Depends(require(None))]
Reader = Annotated[Caller, Depends(require("read"))]
ModelReader = Annotated[Caller, Depends(require("read", model="name"))]
Predictor = Annotated[Caller, Depends(require("predict", model="ref"))]
ModelManager = Annotated[Caller, Depends(require("publish", model="name", manage=True))]
JobsUser = Annotated[Caller, Depends(require("jobs"))]
Admin = Annotated[Caller, Depends(require("admin"))]


def document_security(app: FastAPI) -> None:
    """Put the API key in the app's OpenAPI (the docs' *Authorize* button, schemathesis's
    ``-H 'Authorization: Bearer ...'``): each operation says what its policy needs, optional
    where the default anonymous access (``read``, ``predict``) may pass, required elsewhere."""
    from hub.auth.policy import ANONYMOUS_LEVELS, DEFAULT_ANONYMOUS

    anonymous = ANONYMOUS_LEVELS[DEFAULT_ANONYMOUS]
    build = app.openapi

    def openapi() -> dict:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = build()
        schema.setdefault("components", {})["securitySchemes"] = {
            "apiKey": {
                "type": "http",
                "scheme": "bearer",
                "description": "an API key from `hub keys create` (hub_<id>_<secret>)",
            }
        }
        needs = _route_scopes(app)
        for path, operations in schema.get("paths", {}).items():
            for method, operation in operations.items():
                key = (method.upper(), path)
                if key not in needs:
                    continue
                scope = needs[key]
                if scope is None:
                    operation["security"] = [{}, {"apiKey": []}]
                elif scope in anonymous:
                    operation["security"] = [{}, {"apiKey": []}]
                else:
                    operation["security"] = [{"apiKey": []}]
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def _route_scopes(app: FastAPI) -> dict[tuple[str, str], str | None]:
    """(method, path) -> the scope its :func:`require` policy names."""
    out: dict[tuple[str, str], str | None] = {}

    def walk(dependant: object) -> Policy | None:
        for dep in getattr(dependant, "dependencies", ()):
            found = policy_of(dep.call) or walk(dep)
            if found is not None:
                return found
        return None

    def add(path: str, methods: object, dependant: object) -> None:
        policy = walk(dependant)
        if policy is not None:
            for method in methods or ():
                out[(method, path)] = policy.scope

    for route in app.routes:
        if hasattr(route, "effective_route_contexts"):  # FastAPI's included routers
            for ctx in route.effective_route_contexts():
                add(ctx.path, ctx.methods, ctx.dependant)
        elif hasattr(route, "dependant"):
            add(route.path, route.methods, route.dependant)
    return out
