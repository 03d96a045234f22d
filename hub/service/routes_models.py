"""``/v1/models``: the catalog (list, card, versions, aliases) and predictions."""

from __future__ import annotations

import orjson
from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from hub.cards.markdown import card_markdown
from hub.errors import Forbidden, InvalidRequest, NotFound
from hub.runtime import Prediction
from hub.service.cards import model_card, public_base_url
from hub.service.deps import (
    CatalogDep,
    GateDep,
    ModelManager,
    ModelReader,
    Predictor,
    Reader,
    RuntimeDep,
)
from hub.service.routes_audit import track
from hub.service.schemas import (
    AliasName,
    AliasPublic,
    AliasUpdate,
    ErrorResponse,
    ModelCard,
    ModelName,
    ModelPublic,
    ModelRef,
    ModelsPublic,
    Offset,
    PredictRequest,
    PredictResponse,
    VersionNumber,
    VersionPublic,
)
from hub.service.web_security import image_response

router = APIRouter(prefix="/v1/models", tags=["models"])
ERRORS = {
    401: {"model": ErrorResponse},
    403: {"model": ErrorResponse},
    404: {"model": ErrorResponse},
    413: {"model": ErrorResponse},
    422: {"model": ErrorResponse},
    429: {"model": ErrorResponse},  # over a rate limit or quota (hub.auth.quotas)
}


@router.get("", response_model=ModelsPublic)
def list_models(
    catalog: CatalogDep,
    caller: Reader,
    domain: str | None = None,
    task: str | None = None,
    tag: str | None = None,
    q: str | None = Query(None, max_length=200, description="free-text search"),
    limit: int = Query(100, ge=1, le=1000),
    offset: Offset = 0,
) -> ModelsPublic:
    """Models in the catalog the caller may see, filtered by domain, task, tag and free text."""
    models, count = catalog.list_models(
        domain=domain, task=task, tag=tag, q=q, limit=limit, offset=offset, caller=caller
    )
    return ModelsPublic(data=[ModelPublic.of(m) for m in models], count=count)


@router.get("/{name}", response_model=ModelCard, responses=ERRORS)
def get_model(name: ModelName, request: Request, runtime: RuntimeDep, _: ModelReader) -> ModelCard:
    """The model card: description, input type with an example, outputs with units, versions
    with metrics and plots, aliases, the headline metric, and ready curl and Python calls."""
    return model_card(
        runtime.store, name, plugins=runtime.plugins, base_url=public_base_url(request)
    )


@router.get(
    "/{name}/card.md",
    response_class=Response,
    responses={**ERRORS, 200: {"content": {"text/markdown": {}}}},
)
def get_card_markdown(
    name: ModelName, request: Request, runtime: RuntimeDep, _: ModelReader
) -> Response:
    """The model card as Markdown (for a paper's supplementary information)."""
    base = public_base_url(request)
    card = model_card(runtime.store, name, plugins=runtime.plugins, base_url=base)
    return Response(card_markdown(card, base_url=base), media_type="text/markdown; charset=utf-8")


@router.get("/{name}/versions", response_model=list[VersionPublic], responses=ERRORS)
def list_versions(name: ModelName, catalog: CatalogDep, caller: ModelReader) -> list[VersionPublic]:
    return [VersionPublic.of(v) for v in catalog.list_versions(name, caller=caller)]


@router.get("/{name}/versions/{version}", response_model=VersionPublic, responses=ERRORS)
def get_version(
    name: ModelName, version: VersionNumber, catalog: CatalogDep, caller: ModelReader
) -> VersionPublic:
    return VersionPublic.of(catalog.get_version(name, version, caller=caller))


@router.get(
    "/{name}/versions/{version}/plots/{role}",
    response_class=Response,
    responses={**ERRORS, 200: {"content": {"image/svg+xml": {}, "image/png": {}}}},
)
def get_plot(
    name: ModelName, version: VersionNumber, role: str, runtime: RuntimeDep, caller: ModelReader
) -> Response:
    """A plot the recipe stored with the version (an artifact whose role starts with
    ``plot_``), read from the artifact store and checked against its sha256."""
    v = runtime.store.get_version(name, version, caller=caller)
    sha = v.artifacts.get(role) if role.startswith("plot_") else None
    if sha is None:
        raise NotFound(f"{v.ref} has no plot {role[:100]!r}", code="plot_not_found")
    return image_response(runtime.artifacts.read(sha), etag=sha, max_age_s=86400)


@router.get("/{name}/aliases", response_model=list[AliasPublic], responses=ERRORS)
def list_aliases(name: ModelName, catalog: CatalogDep, caller: ModelReader) -> list[AliasPublic]:
    return [AliasPublic.of(a) for a in catalog.list_aliases(name, caller=caller)]


@router.put("/{name}/aliases/{alias}", response_model=AliasPublic, responses=ERRORS)
def set_alias(
    name: ModelName, alias: AliasName, body: AliasUpdate, catalog: CatalogDep, _: ModelManager
) -> AliasPublic:
    """Point ``alias`` at a version (creating the alias if needed): the model's owner or an
    admin, with a key holding the ``publish`` scope."""
    track("alias.set", model=name, version=body.version, target=alias)
    return AliasPublic.of(catalog.set_alias(name, alias, body.version))


@router.post("/{ref}/predict", response_model=PredictResponse, responses=ERRORS)
async def predict(
    ref: ModelRef, body: PredictRequest, request: Request, runtime: RuntimeDep, _: Predictor
) -> Response:
    """Predict a batch of inputs. ``ref`` is ``name``, ``name@alias`` or ``name:3``. Each
    input gets its own output or its own error, in order, inside one 200 response. The
    request has a deadline per model kind, and stops when its client goes away; the items
    not done then get ``deadline_exceeded``. A batch over the kind's cost limit is a 413
    ``too_expensive``."""
    track("predict", ref=ref, inputs=body.inputs)
    return _json(
        await runtime.predict_async(
            ref, body.inputs, body.params, disconnected=request.is_disconnected
        )
    )


@router.post("/{ref}/explain", response_model=PredictResponse, responses=ERRORS)
async def explain(
    ref: ModelRef, body: PredictRequest, request: Request, runtime: RuntimeDep, _: Predictor
) -> Response:
    """Predict with explanations: per-atom contributions and an SVG depiction coloured by
    them (the same as ``params: {"explain": true}``); ``params: {"explain": "shap"}`` gives
    each prediction's top features by SHAP value instead (tree models)."""
    track("explain", ref=ref, inputs=body.inputs)
    method = body.params.get("explain", True)
    if method is not True and method not in ("atoms", "shap"):  # the route always explains
        raise InvalidRequest(
            "this route always explains: leave 'explain' out of its params, or give true, "
            "'atoms' or 'shap'",
            errors=[{"param": "explain", "message": "must be true, 'atoms' or 'shap' here"}],
        )
    params = {**body.params, "explain": method}
    return _json(
        await runtime.predict_async(ref, body.inputs, params, disconnected=request.is_disconnected)
    )


class VisibilityUpdate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"visibility": "group:chem-team"}]},
    )

    visibility: str | None = Field(
        None,
        max_length=80,
        pattern=r"^(public|private|group:[a-z][a-z0-9_.\-]{0,62})$",
        description="'public', 'private' or 'group:<name>'",
    )
    owner: str | None = Field(
        None,
        max_length=63,
        pattern=r"^[a-z][a-z0-9_.\-]{0,62}$",
        description="a new owner (admins only)",
    )


@router.put("/{name}/visibility", response_model=ModelPublic, responses=ERRORS)
def set_visibility(
    name: ModelName,
    body: VisibilityUpdate,
    catalog: CatalogDep,
    gate: GateDep,
    caller: ModelManager,
) -> ModelPublic:
    """Change who may see the model (its owner or an admin; a new owner: admins only)."""
    if body.owner is not None and not caller.is_admin:
        raise Forbidden("only an admin gives a model to another owner", code="not_admin")
    track("visibility.set", model=name, target=body.visibility or f"owner={body.owner}")
    model = catalog.set_visibility(name, body.visibility, owner=body.owner)
    gate.forget()
    return ModelPublic.of(model)


def _json(result: Prediction) -> Response:
    # orjson straight to bytes: pydantic validation of 10k outputs would cost more than the model
    return Response(
        orjson.dumps(result.to_dict(), option=orjson.OPT_SERIALIZE_NUMPY),
        media_type="application/json",
    )
