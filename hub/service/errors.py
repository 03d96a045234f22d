"""Maps every error to one JSON shape, ``{"error": {"code", "message", "detail"?}}``, and
enforces the body-size limit before a request body is read into memory."""

from __future__ import annotations

import logging

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hub.errors import HubError

log = logging.getLogger(__name__)


def error_response(status: int, code: str, message: str, **detail: object) -> Response:
    body: dict[str, object] = {"code": code, "message": message}
    if detail:
        body["detail"] = detail
    return Response(
        orjson.dumps({"error": body}, default=str),
        status_code=status,
        media_type="application/json",
    )


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
    async def _http(_: Request, exc: StarletteHTTPException) -> Response:
        codes = {404: "not_found", 405: "method_not_allowed", 413: "payload_too_large"}
        code = codes.get(exc.status_code, "http_error")
        return error_response(exc.status_code, code, str(exc.detail))

    @app.exception_handler(Exception)
    async def _crash(_: Request, exc: Exception) -> Response:
        log.exception("unhandled error", exc_info=exc)
        return error_response(500, "internal_error", f"{type(exc).__name__}: the server failed")


class BodyLimit:
    """ASGI middleware: answer 413 for a body over ``max_bytes`` (declared or streamed)."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", ()):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = 0
                if declared > self.max_bytes:
                    await self._reject(send)
                    return
        seen = 0

        async def limited() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:  # a streamed body without Content-Length
                    raise StarletteHTTPException(
                        413, f"request body is over the limit of {self.max_bytes} bytes"
                    )
            return message

        await self.app(scope, limited, send)

    async def _reject(self, send: Send) -> None:
        resp = error_response(
            413,
            "payload_too_large",
            f"request body is over the limit of {self.max_bytes} bytes",
            limit=self.max_bytes,
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
