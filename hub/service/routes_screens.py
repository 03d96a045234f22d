"""``/v1/screens``: bulk screening of a library with one or more models, on Dask.

The upload is streamed to the artifact store (never held in memory; its first bytes are
checked at once: empty, binary, no input column answer 422), the screen's row is written, and
the screen is driven by this process's :class:`~hub.screening.driver.ScreenSupervisor`.
Progress and partial results come from the catalog; the results stream out as Parquet or CSV.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, UploadFile
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from hub.catalog.screens import Screen, ScreenStore
from hub.errors import Conflict, InvalidRequest
from hub.service.deps import JobsUser, RuntimeDep
from hub.service.routes_audit import track
from hub.service.schemas import ErrorResponse

router = APIRouter(prefix="/v1/screens", tags=["screens"])
ERRORS = {
    401: {"model": ErrorResponse},
    403: {"model": ErrorResponse},
    404: {"model": ErrorResponse},
    409: {"model": ErrorResponse},
    413: {"model": ErrorResponse},
    422: {"model": ErrorResponse},
    429: {"model": ErrorResponse},
}
UPLOAD_CHUNK = 1 << 20


class ScreenPublic(BaseModel):
    id: str
    state: str
    owner: str | None = Field(None, description="the user who submitted it")
    models: list[dict[str, Any]] = Field(description="each model pinned to its version")
    input: dict[str, Any] = Field(description="the input file: sha256, name, format, column")
    rows: int = Field(description="inputs read (rows of the results)")
    unique: int = Field(description="distinct inputs (by standardised key) to score")
    scored: int = Field(description="distinct inputs scored so far")
    progress: dict[str, Any]
    message: str
    error: dict[str, Any] | None
    result_sha256: str | None
    preview: list[dict[str, Any]] = Field(
        default_factory=list, description="a few scored rows (partial while it runs)"
    )
    created_at: datetime | None
    started_at: datetime | None
    finished_at: datetime | None
    elapsed_s: float | None

    @classmethod
    def of(cls, s: Screen, *, scored: int = 0, preview: list | None = None) -> ScreenPublic:
        from hub.screening.driver import fraction

        end = s.finished_at or (datetime.now(UTC) if s.started_at else None)
        elapsed = (end - s.started_at).total_seconds() if s.started_at and end else None
        return cls(
            id=s.id,
            state=s.state,
            owner=s.owner,
            models=s.models,
            input={
                "sha256": s.input_sha256,
                "name": s.input_name,
                "format": s.input_format,
                "column": s.input_column,
                "type": s.input_type,
            },
            rows=s.rows,
            unique=s.unique,
            scored=scored,
            progress={
                "phase": s.phase,
                "step": s.step,
                "total": s.total,
                "fraction": round(fraction(s.phase, s.step, s.total), 4),
            },
            message=s.message,
            error=s.error,
            result_sha256=s.result_sha256,
            preview=_clean(preview or []),
            created_at=s.created_at,
            started_at=s.started_at,
            finished_at=s.finished_at,
            elapsed_s=elapsed,
        )


def _clean(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows as JSON can carry them (NaN as null)."""
    out = []
    for r in rows:
        out.append({k: (None if isinstance(v, float) and v != v else v) for k, v in r.items()})
    return out


class ScreensPublic(BaseModel):
    data: list[ScreenPublic]
    count: int


def _upload_chunks(upload: UploadFile) -> Iterator[bytes]:
    upload.file.seek(0)
    yield from iter(lambda: upload.file.read(UPLOAD_CHUNK), b"")


@router.post("", response_model=ScreenPublic, status_code=202, responses=ERRORS)
def create_screen(
    runtime: RuntimeDep,
    caller: JobsUser,
    model: Annotated[list[str], Form(description="model references, one or more")],
    file: Annotated[
        UploadFile | None, File(description="a CSV, .smi or .sdf library (optionally .gz)")
    ] = None,
    input_sha256: Annotated[
        str | None, Form(description="instead of a file: the sha256 of one already stored")
    ] = None,
    column: Annotated[str, Form(description="the CSV column of the inputs")] = "smiles",
    format: Annotated[
        str | None, Form(description="csv, smi or sdf (default: from the file name)")
    ] = None,
    chunk_size: Annotated[int | None, Form(description="inputs per chunk")] = None,
) -> ScreenPublic:
    """Screen a library (up to ``HUB_SCREEN_MAX_BYTES``, 2 GiB by default) with one or more
    models; answers at once. Poll ``GET /v1/screens/{id}``, then download the results."""
    from hub.screening.driver import supervisor_for
    from hub.screening.submit import create_screen as create

    if (file is None) == (input_sha256 is None):
        raise InvalidRequest("give either a file or input_sha256", code="no_input")
    track("screen.create", ref=model[0] if model else None)
    screen = create(
        runtime.settings,
        runtime.store,
        runtime.artifacts,
        runtime.plugins,
        models=model,
        chunks=_upload_chunks(file) if file is not None else None,
        input_sha256=input_sha256,
        name=(file.filename or "") if file is not None else "",
        fmt=format,
        column=column,
        chunk_size=chunk_size,
        owner=caller.user,
        caller=caller,
    )
    supervisor_for(runtime.settings).drive(screen.id)
    return ScreenPublic.of(screen)


@router.get("", response_model=ScreensPublic)
def list_screens(runtime: RuntimeDep, caller: JobsUser) -> ScreensPublic:
    """Your screens, newest first (an admin's key: everyone's)."""
    screens = ScreenStore(runtime.store).list(caller=caller)
    return ScreensPublic(data=[ScreenPublic.of(s) for s in screens], count=len(screens))


@router.get("/{screen_id}", response_model=ScreenPublic, responses=ERRORS)
def get_screen(screen_id: str, runtime: RuntimeDep, caller: JobsUser) -> ScreenPublic:
    """The screen's state and progress, with a preview of its (partial) results."""
    from hub.screening.results import preview, scored

    store = ScreenStore(runtime.store)
    s = store.get(screen_id, caller=caller)
    return ScreenPublic.of(
        s, scored=scored(store, s), preview=preview(runtime.artifacts, store, s, 5)
    )


RESULTS = {
    200: {
        "description": "the results, streamed",
        "content": {"application/vnd.apache.parquet": {}, "text/csv": {}},
    },
    **ERRORS,
}


@router.get("/{screen_id}/results", responses=RESULTS, response_class=StreamingResponse)
def get_results(
    screen_id: str,
    runtime: RuntimeDep,
    caller: JobsUser,
    format: str = "parquet",
    partial: bool = False,
) -> StreamingResponse:
    """The results: one row per input, as ``parquet`` (the stored file) or ``csv``. While the
    screen runs: 409, or with ``partial=true`` the distinct inputs scored so far as CSV."""
    from hub.screening import results

    store = ScreenStore(runtime.store)
    s = store.get(screen_id, caller=caller)
    if format not in ("parquet", "csv"):
        raise InvalidRequest("format must be parquet or csv", code="unknown_format")
    if partial and s.result_sha256 is None:
        body = results.partial_csv(runtime.artifacts, store, s)
        return StreamingResponse(body, media_type="text/csv")
    if s.result_sha256 is None:
        raise Conflict(
            f"screen {screen_id} is {s.state}; its results are not ready",
            code="screen_not_finished" if not s.finished else f"screen_{s.state}",
            error=s.error,
        )
    name = f"screen-{s.id}.{format}"
    headers = {"Content-Disposition": f'attachment; filename="{name}"'}
    if format == "csv":
        return StreamingResponse(
            results.csv_chunks(runtime.artifacts, s), media_type="text/csv", headers=headers
        )
    return StreamingResponse(
        results.parquet_chunks(runtime.artifacts, s),
        media_type="application/vnd.apache.parquet",
        headers=headers,
    )


@router.delete("/{screen_id}", response_model=ScreenPublic, responses=ERRORS)
def cancel_screen(screen_id: str, runtime: RuntimeDep, caller: JobsUser) -> ScreenPublic:
    """Cancel a screen of yours: its remaining chunks stop within seconds (409
    ``screen_finished`` once it has ended)."""
    track("screen.cancel", target=screen_id)
    return ScreenPublic.of(ScreenStore(runtime.store).cancel(screen_id, caller=caller))
