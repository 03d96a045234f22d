"""``/v1/jobs``: long tasks (relaxations, equations of state, MD) as persisted jobs."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from hub.entities import Job
from hub.errors import Conflict
from hub.jobs import submit_job
from hub.service.deps import GateDep, JobsUser, RuntimeDep
from hub.service.routes_audit import track
from hub.service.schemas import ErrorResponse, RawInput

router = APIRouter(prefix="/v1/jobs", tags=["jobs"])
ERRORS = {
    401: {"model": ErrorResponse},
    403: {"model": ErrorResponse},
    404: {"model": ErrorResponse},
    409: {"model": ErrorResponse},
    413: {"model": ErrorResponse},  # a job over the whole daily quota
    422: {"model": ErrorResponse},
    429: {"model": ErrorResponse},  # over a rate limit or quota (hub.auth.quotas)
}


class JobCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "model": "physics.emt",
                    "task": "relax",
                    "input": {"symbols": ["Cu", "Cu"], "positions": [[0, 0, 0], [0, 0, 2.4]]},
                    "params": {"fmax": 0.05},
                }
            ]
        },
    )

    model: str = Field(description="model reference: name, name@alias or name:3")
    task: str = Field(description="relax, eos, md, ...")
    input: RawInput
    params: dict[str, Any] = Field(default_factory=dict)


class JobPublic(BaseModel):
    id: str
    model: str
    version: int
    task: str
    state: str
    owner: str | None = Field(None, description="the user who submitted it")
    params: dict[str, Any]
    progress: dict[str, Any]
    message: str
    error: dict[str, Any] | None
    created_at: datetime | None
    started_at: datetime | None
    finished_at: datetime | None
    elapsed_s: float | None

    @classmethod
    def of(cls, j: Job) -> JobPublic:
        end = j.finished_at or (datetime.now(UTC) if j.started_at else None)
        elapsed = (end - j.started_at).total_seconds() if j.started_at and end else None
        frac = j.step / j.total if j.total else (1.0 if j.state == "succeeded" else 0.0)
        return cls(
            id=j.id,
            model=j.model,
            version=j.version,
            task=j.task,
            state=j.state,
            owner=j.owner,
            params=j.params,
            progress={"step": j.step, "total": j.total, "fraction": round(frac, 4)},
            message=j.message,
            error=j.error,
            created_at=j.created_at,
            started_at=j.started_at,
            finished_at=j.finished_at,
            elapsed_s=elapsed,
        )


class JobsPublic(BaseModel):
    data: list[JobPublic]
    count: int


@router.post("", response_model=JobPublic, status_code=202, responses=ERRORS)
def create_job(body: JobCreate, runtime: RuntimeDep, gate: GateDep, caller: JobsUser) -> JobPublic:
    """Queue a job (yours: nobody else sees it); answers at once with its id. Poll
    ``GET /v1/jobs/{id}``."""
    gate.check_model(caller, body.model)  # the model is in the body: 404 unless visible
    track("job.create", ref=body.model, inputs=[body.input], task=body.task, params=body.params)
    job = submit_job(
        runtime,
        model=body.model,
        task=body.task,
        input=body.input,
        params=body.params,
        owner=caller.user,
    )
    return JobPublic.of(job)


@router.get("", response_model=JobsPublic)
def list_jobs(runtime: RuntimeDep, caller: JobsUser, state: str | None = None) -> JobsPublic:
    """Your jobs, newest first (an admin's key: everyone's)."""
    jobs = runtime.jobs.list(state=state, caller=caller)
    return JobsPublic(data=[JobPublic.of(j) for j in jobs], count=len(jobs))


@router.get("/{job_id}", response_model=JobPublic, responses=ERRORS)
def get_job(job_id: str, runtime: RuntimeDep, caller: JobsUser) -> JobPublic:
    return JobPublic.of(runtime.jobs.get(job_id, caller=caller))


@router.get("/{job_id}/result", responses=ERRORS)
def get_result(job_id: str, runtime: RuntimeDep, caller: JobsUser) -> Response:
    """The result of a succeeded job (409 while it runs, or if it failed or was cancelled)."""
    job = runtime.jobs.get(job_id, caller=caller)
    if job.state != "succeeded" or not job.result_sha256:
        raise Conflict(
            f"job {job_id} is {job.state}; no result",
            code="job_not_finished" if not job.done else f"job_{job.state}",
            error=job.error,
        )
    return Response(runtime.artifacts.read(job.result_sha256), media_type="application/json")


@router.delete("/{job_id}", response_model=JobPublic, responses=ERRORS)
def cancel_job(job_id: str, runtime: RuntimeDep, caller: JobsUser) -> JobPublic:
    """Cancel a queued or running job of yours (409 ``job_finished`` once it has ended)."""
    track("job.cancel", target=job_id)
    return JobPublic.of(runtime.jobs.cancel(job_id, caller=caller))
