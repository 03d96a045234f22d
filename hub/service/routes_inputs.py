"""``/v1/inputs``: the input types the installed plugins understand, and drawings of inputs."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response

from hub.errors import ItemError, NotFound, PluginError, RunError
from hub.runtime.items import parse_item
from hub.service.cards import input_type_public
from hub.service.deps import Reader, RuntimeDep
from hub.service.schemas import DepictRequest, ErrorResponse, InputTypePublic
from hub.service.web_security import image_response

router = APIRouter(prefix="/v1/inputs", tags=["inputs"])
ERRORS = {
    401: {"model": ErrorResponse},
    403: {"model": ErrorResponse},
    404: {"model": ErrorResponse},
    422: {"model": ErrorResponse},
}


@router.get("", response_model=list[InputTypePublic])
def list_input_types(runtime: RuntimeDep, _: Reader) -> list[InputTypePublic]:
    """Every input type of every loaded plugin, with its description and an example."""
    names = sorted(it.name for d in runtime.plugins.domains.values() for it in d.input_types)
    return [input_type_public(runtime.plugins, n) for n in names]


@router.post(
    "/{input_type}/depict",
    response_class=Response,
    responses={**ERRORS, 200: {"content": {"image/svg+xml": {}}}},
)
def depict(input_type: str, body: DepictRequest, runtime: RuntimeDep, _: Reader) -> Response:
    """Draw one input as the model would use it (for ``smiles``: the standardised molecule),
    as SVG. A bad input is a 422 with the same error code a prediction would give."""
    try:
        it = runtime.plugins.input_type(input_type)
    except PluginError as exc:
        raise NotFound(exc.message, code="input_type_not_found") from exc
    if it.depict is None:
        raise NotFound(f"input type {input_type!r} has no depiction", code="depict_unavailable")
    obj = parse_item(it.parse, body.input, runtime.settings.max_input_chars)
    try:
        svg = it.depict(obj)
    except ItemError:
        raise
    except Exception as exc:  # a drawing failure is reported as a RunError, not a crash
        raise RunError(
            f"could not draw this input: {type(exc).__name__}", code="depict_failed"
        ) from exc
    return image_response(svg.encode("utf-8"))
