"""``hub.train``: train a model from a CSV file into the local catalog, as a job run here.

The job is queued like one submitted over HTTP (so it is listed, audited by its record and
visible to ``hub serve``'s job pages) and then claimed and run in this process, with its
lease; when a running server's worker claims it first, this waits for that worker instead.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import orjson

from hub.errors import InvalidRequest, PayloadTooLarge, RunError
from hub.training.jobs import LOCAL_PROGRESS, TrainingRequest, submit_training

ProgressFn = Callable[[float, str], None]  # (fraction done 0..1, message)


def read_upload(data: str | Path | bytes, max_bytes: int) -> tuple[bytes, str]:
    """The file's bytes and name (``data.csv`` for bytes); 413 over ``max_bytes``, checked
    before the file is read."""
    if isinstance(data, bytes):
        return data, "data.csv"
    path = Path(data)
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise InvalidRequest(f"cannot read {path}: {exc.strerror}", code="file_not_found") from exc
    if size > max_bytes:
        raise PayloadTooLarge(
            f"the training file is {size} bytes, over the limit of {max_bytes} bytes",
            limit=max_bytes,
        )
    return path.read_bytes(), path.name


def train(
    name: str,
    data: str | Path | bytes,
    *,
    smiles_column: str = "smiles",
    target: str,
    unit: str = "",
    task: str = "regression",
    visibility: str | None = None,
    owner: str | None = None,
    params: Mapping[str, Any] | None = None,
    title: str = "",
    description: str = "",
    input_type: str = "smiles",
    progress: ProgressFn | None = None,
    max_bytes: int | None = None,
    runtime: Any = None,
) -> dict[str, Any]:
    """Train model ``name`` from the CSV ``data`` (a path or its bytes): column
    ``smiles_column`` holds the inputs, ``target`` the values in ``unit`` (``task=
    "classification"``: labels 0/1), ``params`` override the trainer's (``n_splits``,
    ``members``, ``epochs``, ...). A new model is private (``visibility`` to change it) and
    owned by ``owner`` (None: the hub). Runs as a job in this process and returns its result:
    ``{"model", "version", "ref", "data": the data report, "metrics": [...]}``.

    Bad data raises before any training (:class:`~hub.errors.InvalidRequest`, or
    :class:`~hub.errors.PayloadTooLarge` over ``max_bytes``, default ``HUB_MAX_UPLOAD_BYTES``);
    a failed training raises :class:`~hub.errors.RunError`."""
    from hub.jobs.runner import JobLimits, run_job
    from hub.runtime import Runtime

    rt = runtime or Runtime()
    try:
        limit = max_bytes if max_bytes is not None else rt.settings.max_upload_bytes
        content, file_name = read_upload(data, limit)
        request = TrainingRequest(
            name=name, target=target, smiles_column=smiles_column, unit=unit, task=task,
            input_type=input_type, visibility=visibility, title=title, description=description,
            params=dict(params or {}), file_name=file_name,
        )  # fmt: skip
        job, _ = submit_training(rt, request, content, owner=owner, max_bytes=limit)
        worker = f"local-{socket.gethostname()[:40]}-{os.getpid()}"
        claimed = rt.jobs.claim(job.id, worker)
        if claimed is None:  # a server's worker took it: follow it there
            done = _wait(rt, job.id, progress)
        else:
            token = LOCAL_PROGRESS.set(progress)
            try:
                limits = JobLimits.from_env()
                done = run_job(
                    rt,
                    claimed,
                    worker=worker,
                    limits=JobLimits(lease_s=limits.lease_s, time_limit_s=0),
                )
            finally:
                LOCAL_PROGRESS.reset(token)
        if done.state != "succeeded" or not done.result_sha256:
            error = done.error or {}
            raise RunError(
                f"training {name} {done.state}: {error.get('message', done.message)}",
                code=error.get("code", f"job_{done.state}"),
            )
        return orjson.loads(rt.artifacts.read(done.result_sha256))
    finally:
        if runtime is None:
            rt.store.close()


def _wait(rt: Any, job_id: str, progress: ProgressFn | None, poll_s: float = 0.5) -> Any:
    while True:
        job = rt.jobs.get(job_id)
        if progress is not None and job.total:
            progress(job.step / job.total, job.message)
        if job.done:
            return job
        time.sleep(poll_s)
