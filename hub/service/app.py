"""The FastAPI application: thin routes over :class:`hub.runtime.Runtime`."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from starlette.middleware.trustedhost import TrustedHostMiddleware

from hub import __version__
from hub.config import Settings, load_settings
from hub.runtime import Runtime
from hub.service import (
    routes_auth,
    routes_health,
    routes_inputs,
    routes_jobs,
    routes_models,
    routes_oip,
    routes_packs,
    routes_publish,
    routes_screens,
    routes_train,
    web,
)
from hub.service.deps import PageError, document_security, gate_of
from hub.service.errors import BodyLimit, RequestContext, install_error_handlers
from hub.service.openapi_params import document_parameters
from hub.service.routes_audit import install as install_audit
from hub.service.schemas import ErrorResponse

log = logging.getLogger(__name__)


def create_app(
    runtime: Runtime | None = None, *, settings: Settings | None = None, warm: bool | None = None
) -> FastAPI:
    """The hub's ASGI app. Without ``runtime``, one is made from ``settings`` (or the
    environment) at start-up; ``warm`` loads every model's default version before serving
    (default: the settings' ``warm``, on unless ``HUB_WARM=0``)."""
    config = runtime.settings if runtime else settings or load_settings()
    if warm is None:
        warm = config.warm

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if getattr(app.state, "runtime", None) is None:
            app.state.runtime = Runtime(settings or load_settings())
        if warm:
            loaded = app.state.runtime.warm()
            log.info("warm models: %s", ", ".join(loaded) or "none")
        gate_of(app).log_first_start()  # an empty hub says how to make the first key
        yield

    app = FastAPI(
        # FastAPI's OpenTelemetry check costs about 0.1 ms a request even with no provider
        telemetry=None if config.telemetry else {"tracing": False, "metrics": False, "logs": False},
        title="Model hub for chemistry and physics",
        version=__version__,
        lifespan=lifespan,
        description="One API for the catalog and predictions of scientific models.",
        # what any route may answer: no key or scope, over a body, cost or rate limit
        responses={s: {"model": ErrorResponse} for s in (401, 403, 413, 429)},
    )
    app.state.runtime = runtime
    install_error_handlers(app)
    routes_oip.install(app)  # /v2 errors in the protocol's shape
    app.include_router(routes_models.router)
    app.include_router(routes_publish.router)  # POST /v1/models, /v1/models/{name}/versions
    app.include_router(routes_packs.router)  # .hubpack export and import (hub.packs)
    app.include_router(routes_train.router)  # POST /v1/models/{name}/train
    app.include_router(routes_jobs.router)
    app.include_router(routes_screens.router)  # /v1/screens: bulk screening on Dask
    app.include_router(routes_health.router)
    app.include_router(routes_oip.router)  # /v2: the KServe Open Inference Protocol
    app.include_router(routes_inputs.router)
    app.include_router(web.router)
    app.include_router(routes_auth.router)
    install_audit(app)  # /v1/audit, the audit trail and the quotas of every request
    app.add_exception_handler(PageError, web.page_error)
    document_security(app)  # the API key in the OpenAPI
    document_parameters(app)  # each model kind's and task's parameters in the OpenAPI
    app.mount("/static", web.static_files(), name="static")
    # model uploads have their own, larger limit (HUB_MAX_UPLOAD_BYTES)
    uploads = routes_publish.body_limits(config) + routes_packs.body_limits(config)
    uploads += routes_train.body_limits(config)  # training files (hub.training)
    app.add_middleware(BodyLimit, max_bytes=config.max_body_bytes, routes=uploads)
    # Host names answered (DNS rebinding; usage examples never show a foreign host)
    app.add_middleware(TrustedHostMiddleware, allowed_hosts=list(config.allowed_hosts))
    app.add_middleware(RequestContext)  # outermost: ids and nosniff on every response
    return app
