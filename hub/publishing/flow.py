"""The publishing flow, shared by ``hub.publish``, ``hub publish`` and the HTTP route.

Every check runs before anything is stored (:func:`publish_version`):

1. size (413 over ``HUB_MAX_UPLOAD_BYTES``) and the static checks of the archive
   (:func:`hub.publishing.inspect.inspect_archive`);
2. the manifest against the plugin registry: the input type, the featurizer (of that input
   type, built with the declared parameters), and against the model when it exists (same
   input type, task and outputs: callers of ``latest`` keep their contract);
3. the evaluation set and the training inputs parsed and featurized (bad rows skipped and
   reported; an evaluation set needs at least five usable rows);
4. the model loaded and run in the sandbox (:mod:`hub.publishing.sandbox`) on the input
   type's example and the evaluation inputs: its input width must be the featurizer's, its
   output count the declared outputs (+1 for an uncertainty column); outputs NaN, infinite,
   or constant on the evaluation set are refused;
5. the hub's own metrics and plots (:mod:`hub.publishing.evaluate`), and the applicability
   domain fitted by the input type's ``domain_annotator`` to the training inputs (threshold
   chosen on the evaluation set).

Only then are the artifacts stored and the model and version registered (the version
becomes ``latest``). A refusal leaves no row and no file.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np

from hub.artifacts import sha256_bytes
from hub.build import software_versions
from hub.entities import DatasetInfo, Metric, ModelInfo, OutputSpec, Version, VersionCreate
from hub.errors import HubError, InvalidRequest, NotFound, PayloadTooLarge
from hub.publishing import evaluate
from hub.publishing.checks import (
    Upload,
    check_group,
    check_shape,
    domain_metrics,
    evaluation_inputs,
    existing_model,
    field_error,
    fit_domain,
    measure,
    plugin_parts,
)
from hub.publishing.inspect import declared_input_width, inspect_archive
from hub.publishing.manifest import Manifest, parse_manifest, plain_text
from hub.publishing.sandbox import run_in_sandbox

RECIPE = "hub.publish"


@dataclass(frozen=True)
class Published:
    """The registered version and what the hub found on the way (timings, rows skipped)."""

    version: Version
    report: dict[str, Any] = field(default_factory=dict)

    @property
    def ref(self) -> str:
        return self.version.ref


def display_name(name: str | None, default: str) -> str:
    """A file's base name for the card (no folders, no markup), else ``default``."""
    base = (name or "").replace("\\", "/").rsplit("/", 1)[-1].strip()[:100]
    try:
        return plain_text(base) if base else default
    except ValueError:
        return default


def read_file(source: str | Path | bytes, *, max_bytes: int, what: str, default: str) -> Upload:
    """The bytes of ``source`` (a path or bytes), 413 over ``max_bytes`` before reading."""
    if isinstance(source, bytes | bytearray):
        data, name = bytes(source), default
    else:
        path = Path(source)
        try:
            size = path.stat().st_size
        except OSError as exc:
            raise InvalidRequest(
                f"{what}: cannot read {path}: {exc.strerror}", code="file_not_found", field=what
            ) from exc
        if size > max_bytes:
            raise PayloadTooLarge(
                f"{what} is {size} bytes, over the limit of {max_bytes} bytes", limit=max_bytes
            )
        data, name = path.read_bytes(), path.name
    if len(data) > max_bytes:
        raise PayloadTooLarge(
            f"{what} is {len(data)} bytes, over the limit of {max_bytes} bytes", limit=max_bytes
        )
    return Upload(data, display_name(name, default))


def publish_version(
    runtime: Any,
    name: str,
    model: Upload,
    manifest: Manifest,
    *,
    evaluation: Upload | None = None,
    training_inputs: Upload | None = None,
    owner: str | None = None,
    create: bool = True,
) -> Published:
    """Check everything (module docstring), then store and register the next version of
    ``name``. ``create``: make the model (owned by ``owner``, else the hub) when it does not
    exist; else it must. Raises :class:`~hub.publishing.errors.ModelRefused` and other
    :class:`~hub.errors.CallerError` before anything is stored."""
    started = time.perf_counter()
    settings = runtime.settings
    m = manifest
    if m.name is not None and m.name != name:
        raise field_error("name", f"the manifest names {m.name!r}, the upload {name!r}")
    if len(model.data) > settings.max_upload_bytes:
        limit = settings.max_upload_bytes
        raise PayloadTooLarge(f"the model file is over the limit of {limit} bytes", limit=limit)
    archive = inspect_archive(model.data, max_unpacked=4 * settings.max_upload_bytes)
    input_type, featurize, width = plugin_parts(runtime, m)
    stated = declared_input_width(archive.config)  # a wrong width is refused before loading
    if stated is not None and stated != width:
        check_shape(SimpleNamespace(input_width=stated, n_outputs=m.n_columns), width, m)
    existing = existing_model(runtime, name, m)
    if existing is None and not create:
        raise NotFound(f"no model named {name!r}", code="model_not_found")
    check_group(runtime, m.visibility)
    x0 = np.asarray(featurize(input_type.parse(input_type.example)), np.float32).reshape(1, -1)
    report: dict[str, Any] = {"featurizer_width": width}
    eval_objs: list[Any] = []
    y_true = None
    rows = [x0]
    if evaluation is not None:
        parsed, y_true, report["evaluation"] = evaluation_inputs(
            runtime, m, evaluation, input_type, featurize, width
        )
        eval_objs = parsed.objs
        rows.append(parsed.x)
    annotator_entry = None
    if training_inputs is not None:
        annotator_entry, domain_artifacts, annotate, report["training_inputs"] = fit_domain(
            runtime, input_type, training_inputs, eval_objs
        )
    box = run_in_sandbox(
        model.data,
        np.concatenate(rows),
        timeout_s=settings.sandbox_timeout_s,
        memory_mb=settings.sandbox_memory_mb,
    )
    report["sandbox"] = {"load_s": box.load_s, "predict_s": box.predict_s,
                         "wall_s": round(box.wall_s, 3), "layers": list(box.layers)}  # fmt: skip
    check_shape(box, width, m)
    y_all = box.outputs
    assert y_all is not None  # the widths match, so the sandbox ran the model
    y_eval = y_all[1:] if evaluation is not None else None
    evaluate.check_outputs(y_all, y_eval)
    metrics, plots = measure(m, y_true, y_eval)
    if annotator_entry is not None and eval_objs:
        err = None if y_eval is None or m.task != "property-regression" else (
            y_eval[:, 0] - y_true[:, 0])  # fmt: skip
        metrics += domain_metrics(annotate, eval_objs, err, annotator_entry["params"])
    declared = [Metric(**d.model_dump(), source="publisher") for d in m.metrics]

    # -- every check passed: store, then register -----------------------------------------
    put = runtime.artifacts.put_bytes
    artifacts = {"model": put(model.data)}
    for role, (svg, _) in plots.items():
        artifacts[role] = put(svg)
    if annotator_entry is not None:
        artifacts |= {role: put(data) for role, data in domain_artifacts.items()}
    info = _model_info(runtime, name, m, existing, owner)
    runtime.store.upsert_model(info)
    if existing is not None and m.visibility and m.visibility != existing.visibility:
        runtime.store.set_visibility(name, m.visibility)
    spec = {
        "input_type": m.input_type,
        "featurizer": {"name": m.featurizer, "params": m.featurizer_params},
        "outputs": [{"name": o.name, "unit": o.unit} for o in m.outputs],
        "uncertainty": m.uncertainty,
        "annotators": [annotator_entry] if annotator_entry else [],
        "task": m.task,
        "plots": {role: caption for role, (_, caption) in plots.items()},
        "evaluation": _evaluation_text(report),
        "published": {
            "by": owner or info.owner,
            "file": model.name,
            "sha256": artifacts["model"],
            "keras_version": str(archive.metadata.get("keras_version", ""))[:40],
            "layers": list(box.layers),
            "parameters": box.n_params,
        },
    }
    dataset = None
    if evaluation is not None:
        dataset = DatasetInfo(
            name=evaluation.name, sha256=sha256_bytes(evaluation.data), size=len(eval_objs)
        )
    version = runtime.store.register_version(
        name,
        VersionCreate(
            kind="keras",
            spec=spec,
            artifacts=artifacts,
            recipe=RECIPE,
            recipe_params={"manifest": m.model_dump(mode="json", exclude_none=True)},
            fingerprint=artifacts["model"],
            dataset=dataset,
            software=software_versions(),
            metrics=tuple(metrics + declared),
            description=m.version_description,
        ),
    )
    report["seconds"] = round(time.perf_counter() - started, 3)
    return Published(version, report)


def _evaluation_text(report: dict[str, Any]) -> dict[str, str]:
    ev = report.get("evaluation")
    if not ev:
        return {}
    return {
        evaluate.SPLIT: f"the publisher's evaluation set {ev['file']} ({ev['usable']} inputs, "
        f"{ev['skipped']} unusable left out), measured by the hub at registration"
    }


def _model_info(
    runtime: Any, name: str, m: Manifest, existing: ModelInfo | None, owner: str | None
) -> ModelInfo:
    if existing is not None:
        return replace(
            existing,
            title=m.title if m.title is not None else existing.title,
            description=m.description if m.description is not None else existing.description,
            tags=tuple(m.tags) if m.tags is not None else existing.tags,
        )
    domain = next(
        (d.name for d in runtime.plugins.domains.values()
         if any(t.name == m.input_type for t in d.input_types)),
        "user",
    )  # fmt: skip
    return ModelInfo(
        name=name,
        domain=domain,
        task=m.task,
        title=m.title or name,
        description=m.description or "",
        input_type=m.input_type,
        outputs=tuple(OutputSpec(o.name, o.unit, o.description) for o in m.outputs),
        tags=tuple(m.tags or ("published",)),
        owner=owner or "hub",
        visibility=m.visibility or "private",
    )


def publish(
    name: str,
    model: str | Path | bytes,
    *,
    input_type: str,
    featurizer: str,
    outputs: Sequence[Mapping[str, Any] | str],
    featurizer_params: Mapping[str, Any] | None = None,
    task: str = "property-regression",
    uncertainty: str | None = None,
    title: str | None = None,
    description: str | None = None,
    tags: Sequence[str] | None = None,
    visibility: str | None = None,
    metrics: Sequence[Mapping[str, Any]] = (),
    evaluation: str | Path | bytes | None = None,
    training_inputs: str | Path | bytes | None = None,
    input_column: str | None = None,
    version_description: str = "",
    owner: str | None = None,
    runtime: Any = None,
) -> Published:
    """Publish the Keras model ``model`` (a ``.keras`` path or its bytes) as the next version
    of ``name`` in the local catalog (created, owned by ``owner`` or the hub, private unless
    ``visibility`` says otherwise). ``outputs`` are dicts ``{"name", "unit", "description"}``
    or ``"name:unit"`` strings; ``evaluation`` a CSV with the inputs' column (``input_column``,
    default the input type's name) and one column per output, on which the hub measures the
    model; ``training_inputs`` one input a line (a ``.smi`` file), which sets the
    applicability domain. ``metrics`` are figures the publisher declares
    (``{"name", "value", "split", ...}``). Returns :class:`Published` (``.version``,
    ``.ref``, ``.report``); raises a typed :class:`~hub.errors.CallerError`
    (:class:`~hub.publishing.errors.ModelRefused` for the model itself) and registers
    nothing when a check fails."""
    from hub.runtime import Runtime

    rt = runtime or Runtime()
    try:
        limit = rt.settings.max_upload_bytes
        fields = {
            "input_type": input_type, "featurizer": featurizer,
            "featurizer_params": dict(featurizer_params or {}), "outputs": parse_outputs(outputs),
            "task": task, "uncertainty": uncertainty, "title": title, "description": description,
            "tags": list(tags) if tags is not None else None, "visibility": visibility,
            "metrics": [dict(x) for x in metrics], "input_column": input_column,
            "version_description": version_description,
        }  # fmt: skip
        manifest = parse_manifest(json.loads(json.dumps(fields, default=str)))
        upload = read_file(model, max_bytes=limit, what="model", default="model.keras")
        extra = {
            key: read_file(src, max_bytes=limit, what=key, default=default)
            for key, src, default in (
                ("evaluation", evaluation, "evaluation.csv"),
                ("training_inputs", training_inputs, "training.smi"),
            )
            if src is not None
        }
        return publish_version(rt, name, upload, manifest, owner=owner, **extra)
    finally:
        if runtime is None:
            rt.store.close()


def parse_outputs(outputs: Sequence[Mapping[str, Any] | str]) -> list[dict[str, Any]]:
    """``"pIC50:-log10(M)"`` or ``{"name": "pIC50", "unit": "-log10(M)"}`` -> dicts."""
    out = []
    for o in outputs:
        if isinstance(o, str):
            name, _, unit = o.partition(":")
            out.append({"name": name.strip(), "unit": unit.strip()})
        else:
            out.append(dict(o))
    return out


def featurize(
    inputs: Sequence[Any],
    *,
    input_type: str,
    featurizer: str,
    featurizer_params: Mapping[str, Any] | None = None,
) -> tuple[np.ndarray, list[int]]:
    """Features of ``inputs`` exactly as the hub will compute them for a published model:
    float32 (n_kept, width) and the indices of the inputs kept (those that parse). Train on
    these and the model fits the featurizer you declare."""
    from hub.plugins import load_plugins

    plugins = load_plugins()
    kind = plugins.input_type(input_type)
    build = plugins.featurizer(featurizer).build(**dict(featurizer_params or {}))
    rows, kept = [], []
    for i, raw in enumerate(inputs):
        try:
            rows.append(np.asarray(build(kind.parse(raw)), np.float32).reshape(-1))
        except HubError:
            continue
        kept.append(i)
    width = rows[0].shape[0] if rows else 0
    return (np.stack(rows) if rows else np.zeros((0, width), np.float32)), kept
