"""Publishing over HTTP (issue 15): ``POST /v1/models`` creates a model, ``POST
/v1/models/{name}/versions`` uploads a Keras model as its next version.

Who: a key with the ``publish`` scope. A new model is owned by the caller and private unless
its ``visibility`` says otherwise; versions are added by its owner or an admin only (403 for
others who can see it, 404 for those who cannot). Every check of :mod:`hub.publishing` runs
before anything is stored; a refusal is a typed 422 (``code`` names the reason), an upload
over ``HUB_MAX_UPLOAD_BYTES`` a 413. The whole body of a version upload is bounded by that
limit instead of ``HUB_MAX_BODY_BYTES`` (:func:`body_limits`, read by
:class:`hub.service.errors.BodyLimit`).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from pydantic import BaseModel, Field

from hub.auth.identity import Caller
from hub.config import Settings
from hub.entities import ModelInfo, OutputSpec
from hub.errors import AlreadyExists, Forbidden, HubError, InvalidRequest, PayloadTooLarge
from hub.publishing.manifest import ModelCreate, parse_manifest
from hub.service.deps import GateDep, ModelManager, RuntimeDep, require
from hub.service.routes_audit import TRACKED, track
from hub.service.schemas import ErrorResponse, ModelName, ModelPublic, VersionPublic

router = APIRouter(prefix="/v1/models", tags=["publishing"])
Publisher = Annotated[Caller, Depends(require("publish"))]
ERRORS = {s: {"model": ErrorResponse} for s in (401, 403, 404, 409, 413, 422, 429)}
VERSIONS_PATH = r"/v1/models/[a-z0-9][a-z0-9_.\-]{0,199}/versions"
CHUNK = 1 << 20


def body_limits(settings: Settings) -> list[tuple[str, str, int]]:
    """(method, path pattern, most bytes) of the bodies this router takes over the default
    limit: a version upload carries the model file and its data files."""
    return [("POST", VERSIONS_PATH, settings.max_upload_bytes + CHUNK)]


class PublishedPublic(BaseModel):
    """The registered version and what the hub checked and measured on the way."""

    model: str
    version: int
    ref: str
    detail: VersionPublic
    report: dict[str, Any] = Field(
        description="featurizer width, evaluation and training rows used and left out (with "
        "their row and code), the sandbox's load and run times"
    )


@router.post("", response_model=ModelPublic, status_code=201, responses=ERRORS)
def create_model(
    body: ModelCreate, runtime: RuntimeDep, gate: GateDep, caller: Publisher
) -> ModelPublic:
    """Create a model owned by the caller (private by default); upload versions next."""
    track("model.create", model=body.name)
    if caller.user is None:
        raise Forbidden("publishing needs a user's key", code="missing_user")
    if gate.model_access(body.name, fresh=True) is not None:
        raise AlreadyExists(f"a model named {body.name!r} exists", code="model_exists")
    plugins = runtime.plugins
    try:
        plugins.input_type(body.input_type)
    except HubError as exc:
        raise InvalidRequest(f"body.input_type: {exc.message}", field="body.input_type") from exc
    from hub.publishing.checks import check_group

    check_group(runtime, body.visibility, where="body.visibility")
    domain = next(
        (d.name for d in plugins.domains.values()
         if any(t.name == body.input_type for t in d.input_types)),
        "user",
    )  # fmt: skip
    info = runtime.store.upsert_model(
        ModelInfo(
            name=body.name,
            domain=domain,
            task=body.task,
            title=body.title or body.name,
            description=body.description,
            input_type=body.input_type,
            outputs=tuple(OutputSpec(o.name, o.unit, o.description) for o in body.outputs),
            tags=tuple(body.tags) or ("published",),
            owner=caller.user,
            visibility=body.visibility or "private",
        )
    )
    gate.forget()
    return ModelPublic.of(info)


def read_limited(upload: UploadFile, max_bytes: int, what: str) -> bytes:
    """The uploaded file's bytes; 413 as soon as they pass ``max_bytes``."""
    parts, size = [], 0
    while chunk := upload.file.read(CHUNK):
        size += len(chunk)
        if size > max_bytes:
            raise PayloadTooLarge(
                f"{what} is over the limit of {max_bytes} bytes", limit=max_bytes, field=what
            )
        parts.append(chunk)
    return b"".join(parts)


@router.post("/{name}/versions", response_model=PublishedPublic, status_code=201, responses=ERRORS)
def publish_version(
    name: ModelName,
    request: Request,
    runtime: RuntimeDep,
    gate: GateDep,
    caller: ModelManager,
    file: Annotated[UploadFile, File(description="the model: a Keras 3 '.keras' file")],
    manifest: Annotated[
        str,
        Form(
            description="the manifest, JSON: input_type, featurizer, featurizer_params, "
            "outputs [{name, unit, description}], task, uncertainty, metrics (declared), ..."
        ),
    ],
    evaluation: Annotated[
        UploadFile | None,
        File(
            description="CSV: the inputs' column and one column per output; the hub "
            "measures the model on it"
        ),
    ] = None,
    training_inputs: Annotated[
        UploadFile | None,
        File(description="the training inputs, one a line (.smi): the applicability domain"),
    ] = None,
) -> PublishedPublic:
    """Upload a Keras model as the next version of ``name`` (its owner or an admin). The hub
    checks it, loads it in safe mode in a separate process, measures it on ``evaluation``,
    fits the applicability domain to ``training_inputs``, registers it and moves
    ``latest``. Nothing is stored when a check fails."""
    from hub.publishing.flow import Upload, display_name
    from hub.publishing.flow import publish_version as publish_flow

    track("model.publish", model=name)
    limit = runtime.settings.max_upload_bytes
    m = parse_manifest(manifest)
    model = Upload(read_limited(file, limit, "file"), display_name(file.filename, "model.keras"))
    extra = {}
    for key, upload, default in (
        ("evaluation", evaluation, "evaluation.csv"),
        ("training_inputs", training_inputs, "training.smi"),
    ):
        if upload is not None:
            data = read_limited(upload, limit, key)
            extra[key] = Upload(data, display_name(upload.filename, default))
    done = publish_flow(runtime, name, model, m, owner=caller.user, create=False, **extra)
    tracked = request.scope.get("state", {}).get(TRACKED)
    if tracked is not None:
        tracked.version = done.version.version
    gate.forget()
    v = done.version
    return PublishedPublic(
        model=v.model, version=v.version, ref=v.ref, detail=VersionPublic.of(v), report=done.report
    )
