"""``/health``: liveness (the process answers) and readiness (catalog reachable, plugins in,
the prediction cache usable: a configured Redis that does not answer makes the hub not ready,
though its predictions stay right, computed instead of cached)."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse

from hub.errors import HubError
from hub.service.deps import GateDep, Policy, Public, RuntimeDep

router = APIRouter(prefix="/health", tags=["health"])


async def _anyone() -> None:
    """Liveness needs no caller, no catalog and no thread: it is answered on the event loop,
    so it stays quick whatever the load (the thread pool may be busy)."""


_anyone.policy = Policy(None)  # type: ignore[attr-defined] - read by tests/auth


@router.get("/live", dependencies=[Depends(_anyone)])
async def live() -> dict[str, str]:
    """The process answers (on the event loop: no thread, no database)."""
    return {"status": "ok"}


@router.get("/ready")
def ready(runtime: RuntimeDep, gate: GateDep, caller: Public) -> JSONResponse:
    checks: dict[str, object] = {
        "plugins": runtime.plugins.describe(),
        "warm_models": gate.visible_refs(caller, runtime.warm_versions()),
    }
    try:
        runtime.store.ping()
        checks["catalog"] = "ok"
        status = 200
    except HubError as exc:
        checks["catalog"] = exc.message
        status = 503
    cache = runtime.cache_health()
    checks["prediction_cache"] = cache
    if not (cache == "off" or cache.endswith(": ok")):
        status = 503
    return JSONResponse(
        {"status": "ok" if status == 200 else "unavailable", **checks}, status_code=status
    )
