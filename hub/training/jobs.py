"""Training from a user's table as a job: :func:`submit_training` checks everything and
queues, :func:`run_training_job` (called by the job workers for task ``train``) trains and
registers.

Submission, in order, each failure a typed error before anything is queued: the trainer of
the input type and task, its parameters, the table (:mod:`hub.training.table`: columns,
invalid rows, duplicates, at least 50 usable rows, a target that varies), the visibility.
Then the file goes into the artifact store, the model is created (or updated: its owner and,
unless a new one is given, its visibility are kept) and a job of task ``train`` (version 0)
is queued for its owner.

The job reads the stored file again, runs the trainer (``Trainer.train``, which uses the hub's
pipeline, :mod:`hub.learning`), and registers the result as the model's next version through
the same registration as ``hub build`` (:func:`hub.build.register_result`: artifacts first,
then the row). Its result names the version and carries the data report.
"""

from __future__ import annotations

import contextvars
import hashlib
import json
import os
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from hub.build import BUILD_DIR_PREFIX, register_result
from hub.catalog.jobs import TRAIN_TASK
from hub.entities import Job, ModelInfo
from hub.errors import InvalidRequest, NotFound, PluginError
from hub.params import check_params as check_declared
from hub.plugins import PluginRegistry, RecipeContext, Trainer
from hub.training.table import DataReport, build_table, check_task

# A local caller's progress callback (fraction 0..1, message), beside the job's own reports:
# ``hub.train`` runs the job in its own thread and shows a progress bar.
LOCAL_PROGRESS: contextvars.ContextVar[Callable[[float, str], None] | None] = (
    contextvars.ContextVar("hub_training_progress", default=None)
)


@dataclass(frozen=True)
class TrainingRequest:
    """What to train: model ``name`` from the table's ``smiles_column`` (inputs of
    ``input_type``) and ``target`` (in ``unit``), a ``task``; ``params`` override the
    trainer's defaults; ``visibility`` None keeps an existing model's (a new one is
    private)."""

    name: str
    target: str
    smiles_column: str = "smiles"
    unit: str = ""
    task: str = "regression"
    input_type: str = "smiles"
    visibility: str | None = None
    title: str = ""
    description: str = ""
    params: Mapping[str, Any] = field(default_factory=dict)
    trainer: str | None = None
    file_name: str = "data.csv"

    def job_input(self, sha256: str) -> dict[str, Any]:
        """The job's input: this request (but its name and params) and the file's sha256."""
        out = asdict(self)
        del out["name"], out["params"]
        return {**out, "csv_sha256": sha256}

    @classmethod
    def of_job(cls, job: Job, job_input: Mapping[str, Any]) -> tuple[TrainingRequest, str]:
        known = {k: v for k, v in job_input.items() if k in cls.__dataclass_fields__}
        return cls(name=job.model, params=dict(job.params), **known), job_input["csv_sha256"]


def choose_trainer(plugins: PluginRegistry, request: TrainingRequest) -> Trainer:
    """The trainer named in the request, else the first of its input type; 422 when none
    can learn the request's task."""
    check_task(request.task)
    if request.trainer:
        try:
            trainer = plugins.trainer(request.trainer)
        except PluginError as exc:
            raise InvalidRequest(f"no trainer {request.trainer!r}", code="unknown_trainer") from exc
    else:
        found = plugins.trainers_for(request.input_type)
        if not found:
            raise InvalidRequest(
                f"no installed trainer learns from inputs of type {request.input_type!r}",
                code="unknown_trainer",
            )
        trainer = found[0]
    if trainer.input_type != request.input_type or request.task not in trainer.tasks:
        raise InvalidRequest(
            f"trainer {trainer.name} learns {', '.join(trainer.tasks)} from "
            f"{trainer.input_type!r} inputs, not {request.task} from {request.input_type!r}",
            code="unknown_trainer",
        )
    return trainer


def check_params(trainer: Trainer, given: Mapping[str, Any]) -> dict[str, Any]:
    """The trainer's defaults with ``given`` over them, or a 422 naming each bad parameter
    (``detail.errors: [{param, message}]``, as a prediction's or a job's parameters).

    A trainer that declares its parameters (``Trainer.params_model``) has ``given`` checked by
    that model (names, types, bounds); only the given keys replace the defaults, so the others
    keep their exact values. Otherwise an unknown name or a value whose type differs from the
    default's is refused (an int where a float is expected is fine)."""
    params = dict(trainer.params)
    if trainer.params_model is not None:
        raw = dict(given) if isinstance(given, Mapping) else given
        try:
            checked = check_declared(
                trainer.params_model, raw, what=f"parameters of trainer {trainer.name}"
            )
        except InvalidRequest as exc:  # the training path's code since it has had one
            raise InvalidRequest(exc.message, code="invalid_params", **exc.detail) from exc
        return params | checked.model_dump(include=set(given))
    for key, value in given.items():
        if key not in params:
            known = ", ".join(sorted(params)) or "none"
            raise InvalidRequest(
                f"trainer {trainer.name} has no parameter {str(key)[:60]!r} (known: {known})",
                code="invalid_params",
                errors=[{"param": str(key)[:100], "message": "not a parameter"}],
            )
        if not _like(params[key], value):
            raise InvalidRequest(
                f"parameter {key!r} of trainer {trainer.name} must be like {params[key]!r}",
                code="invalid_params",
                errors=[{"param": key, "message": f"must be like {params[key]!r}"}],
            )
        params[key] = value
    return params


def _like(default: Any, value: Any) -> bool:
    """``value`` has the type of ``default`` (None matches anything)."""
    return (
        default is None
        or value is None
        or (isinstance(default, bool) and isinstance(value, bool))
        or (
            not isinstance(default, bool)
            and isinstance(default, int | float)
            and isinstance(value, int | float)
            and not isinstance(value, bool)
            and (isinstance(default, float) or isinstance(value, int))
        )
        or (isinstance(default, list | tuple) and isinstance(value, list | tuple))
        or (isinstance(default, str) and isinstance(value, str))
    )


def submit_training(
    runtime: Any,
    request: TrainingRequest,
    data: bytes,
    *,
    owner: str | None,
    max_bytes: int,
) -> tuple[Job, DataReport]:
    """Check the request and its table, store the file, create or update the model and
    queue the training job of ``owner`` (see the module docstring). Whether the caller may
    create or change this model is the caller's business (the route checks ownership)."""
    from hub.auth.policy import GROUP_PREFIX, check_visibility
    from hub.auth.users import group_row

    trainer = choose_trainer(runtime.plugins, request)
    check_params(trainer, request.params)  # the job checks them again: 422 now, not then
    input_type = runtime.plugins.input_type(request.input_type)
    if request.visibility is not None:
        check_visibility(request.visibility)
        if request.visibility.startswith(GROUP_PREFIX):  # 404 now, not after the model exists
            with runtime.store.session() as s:
                group_row(s, request.visibility.removeprefix(GROUP_PREFIX))
    table, report = build_table(
        data, input_type, smiles_column=request.smiles_column, target=request.target,
        unit=request.unit, task=request.task, name=request.file_name, sha256="",
        max_bytes=max_bytes, max_chars=runtime.settings.max_input_chars,
    )  # fmt: skip
    sha = runtime.artifacts.put_bytes(data)
    _upsert_model(runtime, request, table.output, owner)
    job = runtime.jobs.create(
        model=request.name,
        version=0,
        task=TRAIN_TASK,
        input=request.job_input(sha),
        params=dict(request.params),
        owner=owner,
    )
    return job, report


def _upsert_model(runtime: Any, request: TrainingRequest, output: Any, owner: str | None) -> None:
    store = runtime.store
    try:
        old: ModelInfo | None = store.get_model(request.name)
    except NotFound:
        old = None
    if old is not None and old.input_type != request.input_type:
        raise InvalidRequest(
            f"model {request.name} takes {old.input_type!r} inputs, not {request.input_type!r}",
            code="input_type_mismatch",
        )
    domain = next(
        (d.name for d in runtime.plugins.domains.values()
         if any(t.name == request.input_type for t in d.input_types)),
        "user",
    )  # fmt: skip
    what = request.target
    if request.task == "classification":
        what = f"probability of {what}"
    info = ModelInfo(
        name=request.name,
        domain=domain,
        task=f"property-{request.task}",
        title=request.title or (old.title if old else f"{request.target} ({request.file_name})"),
        description=request.description
        or (old.description if old else "")
        or f"Predicts the {what}, learned from {request.file_name} by the hub's standard "
        "property pipeline (hub train).",
        input_type=request.input_type,
        outputs=(output,),
        tags=old.tags if old else ("user-trained", request.task),
        owner=old.owner if old else (owner or "hub"),
        visibility=old.visibility if old else "private",
    )
    store.upsert_model(info)
    if request.visibility is not None and request.visibility != info.visibility:
        store.set_visibility(request.name, request.visibility)


def run_training_job(runtime: Any, job: Job, progress: Callable[..., None]) -> dict[str, Any]:
    """A worker's run of a ``train`` job: read the stored table again, train, register the
    next version; the result names it and carries the data report and the metrics.
    ``progress(step, total, message)`` raises when the job is cancelled."""
    request, sha = TrainingRequest.of_job(job, runtime.jobs.input_of(job.id))
    trainer = choose_trainer(runtime.plugins, request)
    params = check_params(trainer, request.params)
    local = LOCAL_PROGRESS.get()

    def report(fraction: float, message: str) -> None:
        if local is not None:
            local(fraction, message)
        progress(int(fraction * 1000), 1000, message)

    report(0.0, "reading the table")
    table, data_report = build_table(
        runtime.artifacts.read(sha), runtime.plugins.input_type(request.input_type),
        smiles_column=request.smiles_column, target=request.target, unit=request.unit,
        task=request.task, name=request.file_name, sha256=sha, max_bytes=1 << 62,
        max_chars=runtime.settings.max_input_chars,
    )  # fmt: skip

    def put(obj: Path | bytes) -> str:
        store = runtime.artifacts
        return store.put_bytes(obj) if isinstance(obj, bytes) else store.put_file(obj)

    with tempfile.TemporaryDirectory(prefix=f"{BUILD_DIR_PREFIX}{os.getpid()}-") as tmp:
        ctx = RecipeContext(params, put, report, Path(tmp), runtime.settings.cache_dir)
        result = trainer.train(ctx, table)
    d = data_report
    evaluation = {
        **result.spec.get("evaluation", {}),
        "training_data": (
            f"{request.file_name}: {d.rows} rows, input column {request.smiles_column!r}, "
            f"target {request.target!r}; {d.usable} distinct inputs used, {d.invalid_count} "
            f"invalid rows left out, {d.duplicate_count} duplicated inputs merged"
            + (f", {d.dropped_conflicts} with tied labels dropped" if d.dropped_conflicts else "")
        ),
    }
    result = replace(result, spec={**result.spec, "evaluation": evaluation})
    doc = {"trainer": trainer.name, "params": params, "request": request.job_input(sha)}
    fp = hashlib.sha256(json.dumps(doc, sort_keys=True, default=str).encode()).hexdigest()
    version = register_result(
        runtime.store, runtime.artifacts, request.name, result, f"{trainer.name}@train", params, fp
    )
    report(1.0, f"registered {version.ref}")
    return {
        "model": request.name,
        "version": version.version,
        "ref": version.ref,
        "data": d.to_dict(),
        "metrics": [asdict(m) for m in version.metrics],
    }
