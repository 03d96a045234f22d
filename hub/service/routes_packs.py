"""Moving models between hubs over HTTP (:mod:`hub.packs`).

- ``GET /v1/models/{name}/versions/{version}/pack``: the version as a ``.hubpack`` file. The
  model's owner or an admin only (a key with ``publish``): a pack carries the model's weights
  and training inputs, more than predictions give away. The pack's sha256 is in the
  ``X-Hub-Pack-Sha256`` header.
- ``POST /v1/packs``: a ``.hubpack`` upload (multipart ``file``, with ``name``,
  ``visibility`` and ``sha256`` as optional form fields) registered as a new version; a new
  model is the caller's and private unless ``visibility`` says otherwise. Every check of
  :func:`hub.packs.import_model` runs first: a changed byte is 422 ``pack_corrupt``; the body
  is bounded by ``HUB_MAX_UPLOAD_BYTES`` (:func:`body_limits`), as for a model upload.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Request, Response, UploadFile
from fastapi.responses import FileResponse
from pydantic import BaseModel, Field
from starlette.background import BackgroundTask

from hub.auth.identity import Caller
from hub.catalog.refs import Ref
from hub.config import Settings
from hub.errors import Forbidden, PayloadTooLarge
from hub.service.cards import public_base_url
from hub.service.deps import GateDep, ModelManager, RuntimeDep, require
from hub.service.routes_audit import TRACKED, track
from hub.service.schemas import ErrorResponse, ModelName, VersionNumber, VersionPublic

router = APIRouter(tags=["packs"])
Importer = Annotated[Caller, Depends(require("publish"))]
ERRORS = {s: {"model": ErrorResponse} for s in (401, 403, 404, 409, 413, 422, 429)}
# a multipart body the form parser cannot read is a 400 (``http_error``)
UPLOAD_ERRORS = {400: {"model": ErrorResponse}, **ERRORS}
CHUNK = 1 << 20


def body_limits(settings: Settings) -> list[tuple[str, str, int]]:
    """(method, path pattern, most bytes) of the bodies this router takes over the default
    limit: a pack upload, bounded as a model upload."""
    return [("POST", r"/v1/packs", settings.max_upload_bytes + CHUNK)]


class ImportedPublic(BaseModel):
    """The version an import registered (or found: ``created`` false when this very pack was
    imported into the model before) and where it came from."""

    model: str
    version: int
    ref: str
    created: bool
    pack_sha256: str
    imported_from: dict[str, Any] = Field(
        description="hub, model, version, recipe, fingerprint, exported_at, imported_at, "
        "pack_sha256, manifest_sha256 (and 'previous' for a model moved twice)"
    )
    detail: VersionPublic


@router.get(
    "/v1/models/{name}/versions/{version}/pack",
    response_class=FileResponse,
    responses={200: {"content": {"application/zip": {}}}, **ERRORS},
)
def export_pack(
    name: ModelName,
    version: VersionNumber,
    request: Request,
    runtime: RuntimeDep,
    caller: ModelManager,
) -> FileResponse:
    """Version ``version`` of ``name`` as a ``.hubpack`` (artifacts, manifest, card and every
    sha256), for ``hub import`` or ``POST /v1/packs`` on another hub."""
    from hub.packs.exporter import export_version

    track("model.export", model=name, version=version)
    fd, tmp = tempfile.mkstemp(prefix="hub-export-", suffix=".hubpack")
    os.close(fd)
    path = Path(tmp)
    try:
        result = export_version(
            Ref(name, version=version),  # not parsed: any number the path accepts is a 404
            path,
            store=runtime.store,
            artifacts=runtime.artifacts,
            caller=caller,
            plugins=runtime.plugins,
            hub_url=public_base_url(request).rstrip("/"),
        )
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return FileResponse(
        path,
        media_type="application/zip",
        filename=f"{name}-{version}.hubpack",
        headers={"X-Hub-Pack-Sha256": result.sha256},
        background=BackgroundTask(path.unlink, missing_ok=True),
    )


@router.post(
    "/v1/packs",
    response_model=ImportedPublic,
    status_code=201,
    responses={200: {"model": ImportedPublic, "description": "already imported"}, **UPLOAD_ERRORS},
)
def import_pack(
    request: Request,
    response: Response,
    runtime: RuntimeDep,
    gate: GateDep,
    caller: Importer,
    file: Annotated[UploadFile, File(description="a .hubpack file")],
    name: Annotated[
        str | None, Form(description="register under this name (default: the pack's)")
    ] = None,
    visibility: Annotated[
        str | None, Form(description="public, private or group:NAME (new model: private)")
    ] = None,
    sha256: Annotated[
        str | None, Form(description="refuse the pack unless its sha256 is this one")
    ] = None,
) -> ImportedPublic:
    """Check a ``.hubpack`` (structure, manifest, card, every artifact's sha256, Keras files
    through the publishing sandbox) and register it as the next version of ``name``. The
    model must be new or the caller's; nothing is stored when a check fails."""
    from hub.packs import import_pack as run_import
    from hub.packs import sandbox_limits

    track("model.import", model=name)
    if caller.user is None:
        raise Forbidden("importing needs a user's key", code="missing_user")
    limit = runtime.settings.max_upload_bytes
    with tempfile.TemporaryDirectory(prefix="hub-upload-") as tmp:
        path = Path(tmp) / "upload.hubpack"
        size = 0
        with open(path, "wb") as fh:
            while chunk := file.file.read(CHUNK):
                size += len(chunk)
                if size > limit:
                    raise PayloadTooLarge(
                        f"the pack is over the limit of {limit} bytes", limit=limit, field="file"
                    )
                fh.write(chunk)
        done = run_import(
            path,
            store=runtime.store,
            artifacts=runtime.artifacts,
            plugins=runtime.plugins,
            caller=caller,
            name=name,
            visibility=visibility,
            expected_sha256=sha256,
            max_input_chars=runtime.settings.max_input_chars,
            sandbox=sandbox_limits(runtime.settings),
        )
    v = done.version
    tracked = request.scope.get("state", {}).get(TRACKED)
    if tracked is not None:
        tracked.model, tracked.version = v.model, v.version
    gate.forget()
    if not done.created:
        response.status_code = 200
    return ImportedPublic(
        model=v.model,
        version=v.version,
        ref=v.ref,
        created=done.created,
        pack_sha256=done.pack_sha256,
        imported_from=done.imported_from,
        detail=VersionPublic.of(v),
    )
