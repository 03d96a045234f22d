"""``/v1/audit`` (admins: the audit trail, filtered and paged) and the per-request hooks of the
audit trail and the quotas.

- :class:`AuditMiddleware` (ASGI) times every request, and when it ends records an audit row
  for every write (any method but GET, HEAD, OPTIONS) and every request a route tracked; it
  adds ``Retry-After`` to a 429 from the error's ``retry_after_s``.
- :func:`track` is the one line a route adds: it names the action, resolves the model
  reference, counts the inputs, charges the caller's quotas (429 over a limit) and leaves the
  rest of the row (status, duration, error code) to the middleware.
- :func:`install` wires both into an app (one line in ``hub.service.app``).
"""

from __future__ import annotations

import contextvars
import re
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, FastAPI, Query
from pydantic import BaseModel, BeforeValidator
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hub.auth.audit import AuditEntry, AuditEvent, AuditLog, audit_log_for, query_audit
from hub.auth.identity import ANONYMOUS, Caller
from hub.auth.quotas import Quotas, job_cost, prediction_cost
from hub.errors import HubError
from hub.service.deps import Admin, RuntimeDep
from hub.service.schemas import ErrorResponse

router = APIRouter(prefix="/v1/audit", tags=["audit"])
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
TRACKED = "hub.audit"  # key in the request's state
_REQUEST: contextvars.ContextVar[Scope | None] = contextvars.ContextVar(
    "hub_audit_request", default=None
)


# -- the route ----------------------------------------------------------------------------
class AuditPage(BaseModel):
    data: list[AuditEntry]  # the catalog's own record (a dataclass), as pydantic reads it
    count: int


# ISO 8601 date and time of day (an offset, or none: UTC). Pydantic alone would also read a
# bare number as a Unix time, which the OpenAPI (format date-time) does not allow.
_ISO_TIME = re.compile(
    r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|z|[+-]\d{2}:?\d{2})?"
)


def _iso_time(value: object) -> object:
    if isinstance(value, str) and not _ISO_TIME.fullmatch(value):
        raise ValueError("a date and time in ISO 8601, e.g. 2026-12-03T15:00:00Z")
    return value


def _iso_query(description: str) -> Any:
    return Annotated[datetime | None, BeforeValidator(_iso_time), Query(description=description)]


Since = _iso_query("from this time on (ISO 8601; UTC if naive)")
Until = _iso_query("before this time (ISO 8601; UTC if naive)")


@router.get(
    "",
    response_model=AuditPage,
    responses={401: {"model": ErrorResponse}, 403: {"model": ErrorResponse}},
)
def list_audit(
    runtime: RuntimeDep,
    _: Admin,
    user: str | None = Query(None, max_length=100),
    action: str | None = Query(None, max_length=100, description="predict, job.create, ..."),
    model: str | None = Query(None, max_length=200),
    since: Since = None,
    until: Until = None,
    limit: int = Query(100, ge=1, le=1000),
    offset: int = Query(0, ge=0, le=1_000_000_000),
) -> AuditPage:
    """The audit trail, newest first (admins only): who did what with which model, when,
    with what answer. Rows recorded in this process are written before the query."""
    track("audit.read")
    audit_of(runtime).flush()
    rows, count = query_audit(
        runtime.store.engine,
        user=user,
        action=action,
        model=model,
        since=since,
        until=until,
        limit=limit,
        offset=offset,
    )
    return AuditPage(data=rows, count=count)


# -- the hooks ----------------------------------------------------------------------------
def audit_of(runtime: Any) -> AuditLog:
    """The process's audit log of ``runtime``'s catalog."""
    return audit_log_for(runtime.store.url, flush_s=runtime.settings.audit_flush_s)


def quotas_of(app: Any, runtime: Any = None) -> Quotas:
    """The app's :class:`Quotas` (made on first use from its runtime's settings)."""
    state = app.state
    runtime = runtime or state.runtime
    quotas = getattr(state, "hub_quotas", None)
    if quotas is None or quotas.store is not runtime.store:
        quotas = state.hub_quotas = Quotas(runtime.settings, runtime.store)
    return quotas


@dataclass(slots=True)
class Tracked:
    action: str
    model: str | None
    version: int | None
    target: str | None
    n_inputs: int
    inputs: Any
    cost: int


def _caller(scope: Scope) -> Caller:
    caller = scope["state"].get("caller")
    if isinstance(caller, Caller):
        return caller
    client = scope.get("client")
    return ANONYMOUS.with_address(client[0] if client else None)


def track(
    action: str,
    *,
    ref: str | None = None,
    model: str | None = None,
    version: int | None = None,
    target: str | None = None,
    inputs: Any = None,
    task: str | None = None,
    params: dict[str, Any] | None = None,
) -> None:
    """Record this request in the audit trail as ``action`` and charge the caller's quotas
    (raises :class:`~hub.errors.RateLimited` over a limit). ``ref`` is a model reference to
    resolve (its version is recorded); ``inputs`` the list of inputs (hashed, counted and
    costed: :mod:`hub.auth.quotas`); ``task`` and ``params`` make it a job. Outside a request
    served through :class:`AuditMiddleware`, it does nothing."""
    scope = _REQUEST.get()
    if scope is None:
        return
    app = scope["app"]
    runtime = app.state.runtime
    kind = None
    if ref is not None:
        try:
            v = runtime.resolve(ref)  # remembered by the runtime: no query on most requests
            model, version, kind = v.model, v.version, v.kind
        except HubError:  # the route raises it, typed, in a moment
            model = model or ref.split("@")[0].split(":")[0]
    items = inputs if isinstance(inputs, (list, tuple)) else None
    if task is not None:
        cost = _job_cost(runtime, task, items[0] if items else inputs, params or {})
    elif items is not None:  # sizes read from the raw inputs: no model is loaded here
        cost = prediction_cost(kind, items, explain=action == "explain")
    else:
        cost = 0
    scope["state"][TRACKED] = Tracked(
        action, model, version, target, len(items) if items is not None else 0, inputs, cost
    )
    quotas_of(app, runtime).charge(_caller(scope), cost)


def _job_cost(runtime: Any, task: str, raw: Any, params: dict[str, Any]) -> int:
    try:  # the task's defaults count: a relaxation without 'steps' may take 500
        checked = runtime.plugins.task(task).check_params(dict(params))
    except Exception:  # noqa: BLE001 - an unknown task or bad parameters: the route says so
        checked = params
    return job_cost(raw, checked)


def _error_code(body: bytes) -> str | None:
    try:
        err = orjson.loads(body).get("error")
        return str(err.get("code"))[:100] if isinstance(err, dict) else None
    except (orjson.JSONDecodeError, AttributeError):
        return None


def _retry_after(body: bytes) -> int | None:
    try:
        value = orjson.loads(body)["error"]["detail"]["retry_after_s"]
        return max(1, int(value))
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
        return None


class AuditMiddleware:
    """ASGI middleware: an audit row for every write and every tracked request (see the
    module's docstring), and ``Retry-After`` on a 429."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._log: tuple[Any, AuditLog] | None = None  # (runtime, its audit log)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # ``app.state.audit_bypass``: only for bench/auth_overhead.py's baseline
        if scope["type"] != "http" or getattr(scope["app"].state, "audit_bypass", False):
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        state = scope.setdefault("state", {})
        outcome: dict[str, Any] = {"status": 500}
        held: list[Message] = []

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                outcome["status"] = message["status"]
                if message["status"] >= 400:
                    held.append(message)  # sent with the first part of the body
                    return
            elif held and message["type"] == "http.response.body":
                first = held.pop()
                body = message.get("body", b"")
                outcome["error"] = _error_code(body)
                headers = list(first.get("headers", ()))
                if first["status"] == 429 and not any(k == b"retry-after" for k, _ in headers):
                    retry = _retry_after(body)
                    if retry is not None:
                        first = {**first, "headers": [*headers, (b"retry-after", b"%d" % retry)]}
                await send(first)
            await send(message)

        token = _REQUEST.set(scope)
        try:
            await self.app(scope, receive, sending)
        finally:
            _REQUEST.reset(token)
            tracked = state.get(TRACKED)
            if tracked is not None or scope["method"] not in SAFE_METHODS:
                self._record(scope, tracked, outcome, start)

    def _audit_log(self, runtime: Any) -> AuditLog:
        found = self._log
        if found is None or found[0] is not runtime or found[1]._closed:
            found = self._log = (runtime, audit_of(runtime))
        return found[1]

    def _record(self, scope: Scope, tracked: Tracked | None, outcome: dict, start: float) -> None:
        runtime = getattr(scope["app"].state, "runtime", None)
        if runtime is None:
            return
        caller = _caller(scope)
        if tracked is None:  # an untracked write: named after its route
            route = scope.get("route")
            params = dict(scope.get("path_params") or {})
            model = params.pop("name", None) or params.pop("ref", None)
            target = ",".join(f"{k}={v}" for k, v in sorted(params.items())) or None
            tracked = Tracked(
                f"{scope['method']} {getattr(route, 'path', scope.get('path', ''))}",
                model,
                None,
                target,
                0,
                None,
                0,
            )
        client = scope.get("client")
        # the event is made by the writer thread: the request only queues these values
        self._audit_log(runtime).record_later(
            _event,
            tracked,
            caller,
            outcome["status"],
            outcome.get("error"),
            int((time.perf_counter() - start) * 1e6),
            caller.address or (client[0] if client else None),
            scope["state"].get("request_id"),
            time.time(),
        )


def _event(
    tracked: Tracked,
    caller: Caller,
    status: int,
    error: str | None,
    duration_us: int,
    address: str | None,
    request_id: str | None,
    at: float,
) -> AuditEvent:
    """The audit event of a request (made by the audit writer's thread)."""
    return AuditEvent(
        action=tracked.action,
        user=caller.user,
        key_id=caller.key_id,
        model=tracked.model,
        version=tracked.version,
        target=tracked.target,
        n_inputs=tracked.n_inputs,
        inputs=tracked.inputs,
        cost=tracked.cost,
        status=status,
        error=error,
        duration_us=duration_us,
        address=address,
        request_id=request_id,
        at=at,
    )


def install(app: FastAPI) -> None:
    """Serve ``/v1/audit``, audit and rate-limit requests, and write the pending audit rows
    when the app shuts down."""
    app.include_router(router)
    app.add_middleware(AuditMiddleware)
    app.state.audit_bypass = False  # set: a missing attribute of State costs an exception
    inner: Callable[[Any], Any] = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(a: Any) -> AsyncIterator[Any]:
        async with inner(a) as state:
            try:
                yield state
            finally:
                runtime = getattr(app.state, "runtime", None)
                if runtime is not None:
                    audit_of(runtime).flush()
                quotas = getattr(app.state, "hub_quotas", None)
                if quotas is not None:
                    quotas.close()  # unspent Redis allowance back to the other processes

    app.router.lifespan_context = lifespan
