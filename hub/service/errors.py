"""Maps every error to one JSON shape, ``{"error": {"code", "message", "detail"?}}``, and
enforces the body-size limit before a request body is read into memory.

Every response carries ``X-Request-ID`` (the client's own, when it sends a sane one) and
``X-Content-Type-Options: nosniff`` (:class:`RequestContext`); the request id is in every
log line about the request (:data:`hub.runtime.items.REQUEST_ID`). A body that is not JSON is
a 422 ``invalid_request`` like any other malformed request, a wrong method a 405 with ``Allow``."""

from __future__ import annotations

import json
import logging
import re
import uuid
from collections.abc import Iterator, Sequence

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hub.errors import HubError
from hub.runtime.items import REQUEST_ID

log = logging.getLogger(__name__)


def error_response(status: int, code: str, message: str, **detail: object) -> Response:
    body: dict[str, object] = {"code": code, "message": message}
    if detail:
        body["detail"] = detail
    try:
        content = orjson.dumps({"error": body}, default=str)
    except TypeError:  # an integer over 64 bits in the detail (a client's own number, B1)
        content = json.dumps({"error": body}, default=str).encode()
    return Response(content, status_code=status, media_type="application/json")


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(HubError)
    async def _hub(_: Request, exc: HubError) -> Response:
        return error_response(exc.status, exc.code, exc.message, **exc.detail)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> Response:
        errors = [
            {"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type")}
            for e in exc.errors()[:20]
        ]
        first = errors[0] if errors else {"loc": [], "msg": "invalid request"}
        where = ".".join(str(p) for p in first["loc"])
        return error_response(422, "invalid_request", f"{where}: {first['msg']}", errors=errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code == 400 and "parsing the body" in str(exc.detail):
            # a body FastAPI could not decode: the documented 422 shape, not a bare 400
            return error_response(422, "invalid_request", "the request body is not valid JSON")
        if exc.status_code == 400 and "multipart" in str(exc.detail).lower():
            # an upload whose multipart framing is broken: the same documented 422
            return error_response(422, "invalid_request", f"the upload: {exc.detail}")
        codes = {404: "not_found", 405: "method_not_allowed", 413: "payload_too_large"}
        code = codes.get(exc.status_code, "http_error")
        resp = error_response(exc.status_code, code, str(exc.detail))
        resp.headers.update(exc.headers or {})
        if exc.status_code == 405:  # every method of the path, not only its first route's
            resp.headers["Allow"] = allowed_methods(request) or resp.headers.get("Allow", "")
        return resp

    @app.exception_handler(Exception)
    async def _crash(_: Request, exc: Exception) -> Response:
        log.exception("unhandled error (request %s)", REQUEST_ID.get(), exc_info=exc)
        resp = error_response(500, "internal_error", f"{type(exc).__name__}: the server failed")
        resp.headers.update(context_headers(REQUEST_ID.get()))  # outside RequestContext
        return resp


def allowed_methods(request: Request) -> str:
    """The methods the app's routes answer on the request's path (``Allow`` of a 405)."""

    def leaves(routes: list[BaseRoute]) -> Iterator[BaseRoute]:
        for route in routes:
            if hasattr(route, "effective_route_contexts"):  # FastAPI's included routers
                for ctx in route.effective_route_contexts():
                    yield ctx.starlette_route or ctx.original_route
            else:
                yield route

    scope = {
        "type": "http",
        "method": request.method,
        "path": request.url.path,
        "root_path": request.scope.get("root_path", ""),
    }
    methods: set[str] = set()
    for route in leaves(request.app.router.routes):
        if getattr(route, "methods", None):
            match, _ = route.matches(scope)
            if match in (Match.FULL, Match.PARTIAL):
                methods |= set(route.methods) - {"HEAD"}
    return ", ".join(sorted(methods))


_SANE_ID = re.compile(r"^[A-Za-z0-9._\-]{1,64}$")


def context_headers(request_id: str) -> dict[str, str]:
    """The headers every response carries."""
    return {"X-Request-ID": request_id, "X-Content-Type-Options": "nosniff"}


class RequestContext:
    """ASGI middleware: give each request an id (the client's ``X-Request-ID`` when it is up
    to 64 of ``[A-Za-z0-9._-]``, else a fresh one), make it the logging context
    (:data:`REQUEST_ID`), and add :func:`context_headers` to every response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = next((v for k, v in scope.get("headers", ()) if k == b"x-request-id"), b"")
        text = given.decode("latin-1")
        request_id = text if _SANE_ID.match(text) else uuid.uuid4().hex[:16]
        scope.setdefault("state", {})["request_id"] = request_id
        token = REQUEST_ID.set(request_id)
        extra = [(k.lower().encode(), v.encode()) for k, v in context_headers(request_id).items()]

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                names = {k for k, _ in extra}
                headers = [(k, v) for k, v in message.get("headers", ()) if k.lower() not in names]
                message = {**message, "headers": headers + extra}
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        finally:
            REQUEST_ID.reset(token)


# uploads streamed to the artifact store under their own limit (HUB_SCREEN_MAX_BYTES)
STREAMED = {("/v1/screens", "POST")}


class BodyLimit:
    """ASGI middleware: answer 413 for a body over ``max_bytes`` (declared or streamed).
    ``routes`` give some requests their own limit: (method, path regex, most bytes), e.g.
    model uploads (:func:`hub.service.routes_publish.body_limits`)."""

    def __init__(
        self, app: ASGIApp, max_bytes: int, routes: Sequence[tuple[str, str, int]] = ()
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.routes = [(method, re.compile(path), limit) for method, path, limit in routes]

    def limit_for(self, scope: Scope) -> int:
        """The most bytes the body of this request may have."""
        for method, path, limit in self.routes:
            if scope.get("method") == method and path.fullmatch(scope.get("path", "")):
                return limit
        return self.max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or (scope.get("path"), scope.get("method")) in STREAMED:
            await self.app(scope, receive, send)  # STREAMED routes bound their own uploads
            return
        limit = self.limit_for(scope)
        for name, value in scope.get("headers", ()):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = 0
                if declared > limit:
                    await self._reject(send, limit)
                    return
        seen = 0

        async def limited() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:  # a streamed body without Content-Length
                    raise StarletteHTTPException(
                        413, f"request body is over the limit of {limit} bytes"
                    )
            return message

        await self.app(scope, limited, send)

    async def _reject(self, send: Send, limit: int) -> None:
        resp = error_response(
            413,
            "payload_too_large",
            f"request body is over the limit of {limit} bytes",
            limit=limit,
        )
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(resp.body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": resp.body})
