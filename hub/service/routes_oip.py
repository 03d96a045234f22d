"""``/v2``: the KServe Open Inference Protocol v2 beside the hub's own API, on the same runtime.

Tools that speak OIP (Triton's ``tritonclient``, KServe, MLServer clients) call the hub
unchanged: ``GET /v2/health/live|ready``, ``GET /v2`` (server metadata), ``GET
/v2/models/{name}[/versions/{v}]`` (model metadata), ``.../ready`` and ``POST
.../infer``. The same keys, scopes and visibility as ``/v1`` apply (a model the caller may not
see is a 404), and a prediction is the same one ``POST /v1/models/{ref}/predict`` gives (the
cache, micro-batching, deadlines and quotas included).

Tensors: one input, BYTES, one element per raw input (a SMILES); outputs are one FP32 tensor
per model output (shape ``[n]``, NaN where an input failed), ``uncertainty`` (FP32) when the
model gives one, and ``error`` (BYTES: empty, or ``code: message`` for an input that failed, in
its own slot). JSON or the binary tensor extension, as the client asks (:mod:`oip_codec`).

Errors under ``/v2`` have the protocol's shape, ``{"error": "<code>: <message>"}`` (Triton's
clients read the error as a string), with the status the hub's error has elsewhere.
"""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from hub import __version__
from hub.auth.identity import Caller
from hub.entities import Version
from hub.errors import HubError, InvalidRequest, NotFound
from hub.runtime import Prediction
from hub.service.deps import Public, RuntimeDep, require
from hub.service.oip_codec import Tensor, encode_response, parse_request, texts
from hub.service.routes_audit import track
from hub.service.schemas import ModelName, VersionNumber


class OipError(BaseModel):
    """An error of the protocol: ``"<code>: <message>"``."""

    error: str = Field(examples=["model_not_found: no model 'x'"])


MAX_REF_VERSION = 999_999_999  # the largest version a reference 'name:N' can name
router = APIRouter(prefix="/v2", tags=["open inference protocol v2"])
ERRORS: dict[int | str, dict[str, Any]] = {
    s: {"model": OipError} for s in (401, 403, 404, 413, 422, 429, 503)
}
ModelReader = Annotated[Caller, Depends(require("read", model="name"))]
ModelPredictor = Annotated[Caller, Depends(require("predict", model="name"))]
INFER_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {"type": "object", "properties": {"inputs": {"type": "array"}}},
                "example": {
                    "inputs": [
                        {"name": "smiles", "datatype": "BYTES", "shape": [2], "data": ["CCO", "x"]}
                    ]
                },
            },
            "application/octet-stream": {"schema": {"type": "string", "format": "binary"}},
        },
    }
}


@router.get("/health/live", responses=ERRORS)
async def live(_: Public) -> dict[str, bool]:
    """The process answers."""
    return {"live": True}


@router.get("/health/ready", responses=ERRORS)
def ready(runtime: RuntimeDep, _: Public) -> JSONResponse:
    """Ready when the catalog answers and the prediction cache is usable (as
    ``/health/ready``)."""
    problems = []
    try:
        runtime.store.ping()
    except Exception as exc:  # noqa: BLE001 - reported, never raised
        problems.append(f"catalog: {exc}")
    cache = runtime.cache_health()
    if not (cache == "off" or cache.endswith(": ok")):
        problems.append(f"prediction cache: {cache}")
    if problems:
        return JSONResponse({"ready": False, "error": "; ".join(problems)}, status_code=503)
    return JSONResponse({"ready": True})


@router.get("", responses=ERRORS)
async def server_metadata(_: Public) -> dict[str, Any]:
    """The server's name, version and the protocol extensions it speaks."""
    return {"name": "model-hub", "version": __version__, "extensions": ["binary_tensor_data"]}


def _metadata(runtime: Any, name: str, caller: Any, version: int | None) -> dict[str, Any]:
    versions = runtime.store.list_versions(name, caller=caller)
    if version is None:
        v = runtime.store.resolve(name, caller=caller)
    else:  # not through a reference: 'name:<10 digits>' is no reference, but a missing version
        v = runtime.store.get_version(name, version, caller=caller)
    outputs = [{"name": n, "datatype": "FP32", "shape": [-1]} for n in _output_names(v)]
    if v.spec.get("uncertainty"):
        outputs.append({"name": "uncertainty", "datatype": "FP32", "shape": [-1]})
    outputs.append({"name": "error", "datatype": "BYTES", "shape": [-1]})
    return {
        "name": name,
        "versions": [str(x.version) for x in versions],
        "platform": f"hub_{v.kind}",
        "inputs": [{"name": v.spec.get("input_type", "input"), "datatype": "BYTES", "shape": [-1]}],
        "outputs": outputs,
    }


@router.get("/models/{name}", responses=ERRORS)
def model_metadata(name: ModelName, runtime: RuntimeDep, caller: ModelReader) -> dict[str, Any]:
    """The model's versions, its input (BYTES) and outputs (FP32, and ``error``)."""
    return _metadata(runtime, name, caller, None)


@router.get("/models/{name}/versions/{version}", responses=ERRORS)
def version_metadata(
    name: ModelName, version: VersionNumber, runtime: RuntimeDep, caller: ModelReader
) -> dict[str, Any]:
    """As ``GET /v2/models/{name}``, for one version."""
    return _metadata(runtime, name, caller, version)


@router.get("/models/{name}/ready", responses=ERRORS)
def model_ready(name: ModelName, runtime: RuntimeDep, caller: ModelReader) -> dict[str, Any]:
    """200 when the model has a version to serve (404 otherwise)."""
    v = runtime.store.resolve(name, caller=caller)
    return {"name": name, "ready": True, "version": str(v.version)}


@router.get("/models/{name}/versions/{version}/ready", responses=ERRORS)
def version_ready(
    name: ModelName, version: VersionNumber, runtime: RuntimeDep, caller: ModelReader
) -> dict[str, Any]:
    v = runtime.store.get_version(name, version, caller=caller)
    return {"name": name, "ready": True, "version": str(v.version)}


@router.post("/models/{name}/infer", responses=ERRORS, openapi_extra=INFER_BODY)
async def infer(
    name: ModelName, request: Request, runtime: RuntimeDep, _: ModelPredictor
) -> Response:
    """Predict a BYTES tensor of inputs with the model's default version."""
    return await _infer(name, name, request, runtime)


@router.post("/models/{name}/versions/{version}/infer", responses=ERRORS, openapi_extra=INFER_BODY)
async def infer_version(
    name: ModelName,
    version: VersionNumber,
    request: Request,
    runtime: RuntimeDep,
    _: ModelPredictor,
) -> Response:
    """Predict with one version of the model."""
    if version > MAX_REF_VERSION:  # a reference holds 9 digits: no such version exists
        raise NotFound(f"model {name!r} has no version {version}", code="version_not_found")
    return await _infer(name, f"{name}:{version}", request, runtime)


async def _infer(name: str, ref: str, request: Request, runtime: Any) -> Response:
    req = parse_request(
        await request.body(), request.headers.get("inference-header-content-length")
    )
    if len(req.inputs) != 1:
        raise InvalidRequest(
            f"send one input tensor (BYTES, one element per input), not {len(req.inputs)}"
        )
    inputs = texts(req.inputs[0])
    track("predict", ref=ref, inputs=inputs)
    pred = await runtime.predict_async(
        ref, inputs, req.parameters, disconnected=request.is_disconnected
    )
    tensors = _tensors(runtime.resolve(ref), pred)
    if req.outputs:
        by_name = {t.name: t for t in tensors}
        unknown = [o["name"] for o in req.outputs if o["name"] not in by_name]
        if unknown:
            raise InvalidRequest(f"unknown outputs {unknown}; this model has {list(by_name)}")
        tensors = [by_name[o["name"]] for o in req.outputs]
        binary = {
            o["name"]
            for o in req.outputs
            if (o.get("parameters") or {}).get("binary_data", req.binary_output) is True
        }
    else:
        binary = {t.name for t in tensors} if req.binary_output else set()
    head: dict[str, Any] = {"model_name": name, "model_version": str(pred.version)}
    if req.id is not None:
        head["id"] = req.id
    body, header_length = encode_response(head, tensors, binary)
    if header_length is None:
        return Response(body, media_type="application/json")
    return Response(
        body,
        media_type="application/octet-stream",
        headers={"Inference-Header-Content-Length": str(header_length)},
    )


def _output_names(v: Version) -> list[str]:
    names = [o.get("name") for o in v.spec.get("outputs", ()) if isinstance(o, dict)]
    return [n for n in names if isinstance(n, str)] or ["value"]


def _tensors(version: Version, pred: Prediction) -> list[Tensor]:
    """One FP32 tensor per output, ``uncertainty`` if any, and ``error`` (BYTES)."""
    names = _output_names(version)
    n = len(pred.outputs)
    columns: dict[str, list[float | None]] = {k: [None] * n for k in names}
    uncertainty: list[float | None] = [None] * n
    errors = [""] * n
    for i, out in enumerate(pred.outputs):
        if "error" in out:
            e = out["error"]
            errors[i] = f"{e.get('code')}: {e.get('message')}"
            continue
        value = out.get("value")
        values = value if isinstance(value, dict) else {names[0]: value}
        for k in names:
            x = values.get(k)
            if x is not None and not isinstance(x, int | float):
                raise InvalidRequest(
                    f"{version.ref}'s output {k!r} is not a number: use POST /v1/models/"
                    f"{version.model}/predict for it"
                )
            columns[k][i] = None if x is None else float(x)
        u = out.get("uncertainty")
        uncertainty[i] = float(u) if isinstance(u, int | float) else None
    tensors = [Tensor(k, "FP32", [n], columns[k]) for k in names]
    if version.spec.get("uncertainty") or any(u is not None for u in uncertainty):
        tensors.append(Tensor("uncertainty", "FP32", [n], uncertainty))
    tensors.append(Tensor("error", "BYTES", [n], errors))
    return tensors


def install(app: FastAPI) -> None:
    """Give the errors of ``/v2`` paths the protocol's shape (after the app's own handlers
    are installed: they still decide the status and the message)."""
    for exc_type in (HubError, RequestValidationError, StarletteHTTPException):
        original = app.exception_handlers[exc_type]

        async def handler(request: Request, exc: Exception, original: Any = original) -> Response:
            resp = await original(request, exc)
            if not request.url.path.startswith("/v2"):
                return resp
            return _oip_error(resp)

        app.add_exception_handler(exc_type, handler)


def _oip_error(resp: Response) -> Response:
    """``{"error": {"code", "message"}}`` as ``{"error": "code: message"}``."""
    try:
        error = orjson.loads(resp.body)["error"]
        text = f"{error['code']}: {error['message']}"
    except (orjson.JSONDecodeError, KeyError, TypeError):
        return resp
    headers = {
        k: v for k, v in resp.headers.items() if k.lower() not in ("content-length", "content-type")
    }
    return JSONResponse({"error": text}, status_code=resp.status_code, headers=headers)
