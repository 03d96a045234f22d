"""``/health``: liveness (the process answers) and readiness (catalog reachable, plugins in)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from hub.errors import HubError
from hub.service.deps import GateDep, Public, RuntimeDep

router = APIRouter(prefix="/health", tags=["health"])


@router.get("/live")
def live(_: Public) -> dict[str, str]:
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
    return JSONResponse(
        {"status": "ok" if status == 200 else "unavailable", **checks}, status_code=status
    )
