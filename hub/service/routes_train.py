"""``POST /v1/models/{name}/train``: train a model from an uploaded CSV, as a job.

A multipart form: the CSV (``file``) and the fields below; nothing else is read (no server
path, no URL). Everything the hub can check is checked before the job is queued (422 naming
the problem, 413 over the upload limit ``HUB_MAX_UPLOAD_BYTES``); the answer is the queued
job (202, as ``POST /v1/jobs``): follow it at ``/v1/jobs/{id}``, its result names the
registered version and reports every row left out or merged.

Who: a key with the ``publish`` scope. A new model is created owned by the caller (private
unless ``visibility`` says otherwise); an existing one only by its owner or an admin (403),
and one the caller may not see answers 404 as everywhere else.
"""

from __future__ import annotations

import json
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, File, Form, UploadFile

from hub.auth.identity import Caller
from hub.config import Settings
from hub.errors import InvalidRequest
from hub.service.deps import GateDep, RuntimeDep, require
from hub.service.routes_audit import track
from hub.service.routes_jobs import ERRORS, JobPublic
from hub.service.routes_publish import CHUNK, read_limited
from hub.training import TrainingRequest, submit_training

router = APIRouter(tags=["training"])
Publisher = Annotated[Caller, Depends(require("publish"))]
TRAIN_PATH = r"/v1/models/[^/]+/train"


def body_limits(settings: Settings) -> list[tuple[str, str, int]]:
    """(method, path pattern, most bytes) of the bodies this router takes over the default
    limit: a training file, bounded as any upload (``HUB_MAX_UPLOAD_BYTES``)."""
    return [("POST", TRAIN_PATH, settings.max_upload_bytes + CHUNK)]


@router.post("/v1/models/{name}/train", response_model=JobPublic, status_code=202, responses=ERRORS)
def train_model(
    name: str,
    runtime: RuntimeDep,
    gate: GateDep,
    caller: Publisher,
    file: Annotated[UploadFile, File(description="the table: CSV, UTF-8, a header row")],
    target: Annotated[str, Form(description="the column of the values (or 0/1 labels)")],
    smiles_column: Annotated[str, Form(description="the column of the inputs")] = "smiles",
    unit: Annotated[str, Form(description="the target's unit, e.g. log10(mol/L)")] = "",
    task: Annotated[Literal["regression", "classification"], Form()] = "regression",
    visibility: Annotated[
        str | None, Form(description="public, private or group:<name>; default: private")
    ] = None,
    title: Annotated[str, Form(max_length=200)] = "",
    description: Annotated[str, Form(max_length=5000)] = "",
    params: Annotated[
        str, Form(description='trainer parameters as a JSON object, e.g. {"members": 3}')
    ] = "{}",
) -> JobPublic:
    """Queue the training of model ``name`` (created if new) from the uploaded CSV."""
    track("model.train", model=name)
    if gate.model_access(name, fresh=True) is not None:  # existing: its owner or an admin
        gate.check_model(caller, name, manage=True, is_name=True)
    try:
        overrides = json.loads(params)
    except json.JSONDecodeError as exc:
        raise InvalidRequest(f"params is not JSON: {exc}", code="invalid_params") from exc
    if not isinstance(overrides, dict):
        raise InvalidRequest("params must be a JSON object", code="invalid_params")
    limit = runtime.settings.max_upload_bytes
    request = TrainingRequest(
        name=name, target=target, smiles_column=smiles_column, unit=unit, task=task,
        visibility=visibility, title=title, description=description, params=overrides,
        file_name=_file_name(file.filename),
    )  # fmt: skip
    job, _ = submit_training(
        runtime,
        request,
        read_limited(file, limit, "the training file"),
        owner=caller.user,
        max_bytes=limit,
    )
    gate.model_access(name, fresh=True)  # a new model: visible to its owner at once
    return JobPublic.of(job)


def _file_name(raw: str | None) -> str:
    """The upload's base name, for the card (never used as a path)."""
    base = (raw or "").replace("\\", "/").rsplit("/", 1)[-1].strip()
    return "".join(c for c in base if c.isprintable())[:100] or "data.csv"
