"""The checks of a publication that need the plugin registry or the model's outputs (see
:mod:`hub.publishing.flow` for the order): the manifest against the installed input
types and featurizers and against the existing model, the evaluation set and training inputs
parsed and featurized, the applicability domain fitted, the model's shape and outputs checked
and measured. Each raises a typed :class:`~hub.errors.CallerError` naming the field."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from hub.entities import Metric, ModelInfo
from hub.errors import HubError, InvalidRequest, NotFound
from hub.publishing import evaluate
from hub.publishing.errors import ModelRefused
from hub.publishing.inputs import Parsed, parse_inputs, read_lines
from hub.publishing.manifest import Manifest


@dataclass(frozen=True)
class Upload:
    """A file sent beside the manifest: its bytes and a display name (never a path used)."""

    data: bytes
    name: str


def field_error(where: str, message: str, code: str = "invalid_manifest") -> InvalidRequest:
    return InvalidRequest(f"manifest.{where}: {message}", code=code, field=f"manifest.{where}")


def plugin_parts(runtime: Any, m: Manifest) -> tuple[Any, Any, int]:
    """(input type, built featurizer, feature width of the input type's example)."""
    try:
        input_type = runtime.plugins.input_type(m.input_type)
    except HubError as exc:
        raise field_error("input_type", exc.message) from exc
    try:
        featurizer = runtime.plugins.featurizer(m.featurizer)
    except HubError as exc:
        raise field_error("featurizer", exc.message) from exc
    if featurizer.input_type != m.input_type:
        raise field_error(
            "featurizer", f"{m.featurizer} featurizes {featurizer.input_type!r} inputs, "
            f"not {m.input_type!r}",
        )  # fmt: skip
    try:
        featurize = featurizer.build(**m.featurizer_params)
    except (TypeError, ValueError, KeyError, HubError) as exc:
        text = exc.message if isinstance(exc, HubError) else str(exc)
        raise field_error(
            "featurizer_params", f"{m.featurizer} refused them: {text[:300]}"
        ) from exc
    if input_type.example is None:
        raise field_error("input_type", f"{m.input_type} has no example to check widths on")
    try:
        x0 = np.asarray(featurize(input_type.parse(input_type.example)), np.float32).reshape(-1)
    except (HubError, TypeError, ValueError) as exc:
        raise field_error(
            "featurizer_params", f"the featurizer failed on the example: {exc}"
        ) from exc
    return input_type, featurize, int(x0.shape[0])


def existing_model(runtime: Any, name: str, m: Manifest) -> ModelInfo | None:
    try:
        model = runtime.store.get_model(name)
    except NotFound:
        return None
    if model.input_type != m.input_type:
        raise field_error("input_type", f"{name} takes {model.input_type!r} inputs")
    if model.task != m.task:
        raise field_error("task", f"{name} is a {model.task} model")
    have = [(o.name, o.unit) for o in model.outputs]
    want = [(o.name, o.unit) for o in m.outputs]
    if have != want:
        raise field_error(
            "outputs", f"{name} outputs {have}; a new version must keep its outputs and units"
        )
    return model


def check_group(
    runtime: Any, visibility: str | None, *, where: str = "manifest.visibility"
) -> None:
    """A ``group:<name>`` visibility must name an existing group (422 naming ``where``)."""
    if visibility and visibility.startswith("group:"):
        from hub.auth.users import group_row

        with runtime.store.session() as s:
            try:
                group_row(s, visibility.removeprefix("group:"))
            except NotFound as exc:
                raise InvalidRequest(
                    f"{where}: {exc.message}", code="group_not_found", field=where
                ) from exc


def evaluation_inputs(runtime: Any, m: Manifest, evaluation: Upload, input_type: Any,
                       featurize: Any, width: int) -> tuple[Parsed, np.ndarray, dict]:  # fmt: skip
    column = m.input_column or m.input_type
    table = evaluate.read_table(
        evaluation.data, input_column=column, outputs=[o.name for o in m.outputs]
    )
    parsed = parse_inputs(
        table.inputs, table.rows, input_type,
        max_chars=runtime.settings.max_input_chars, featurize=featurize, width=width,
    )  # fmt: skip
    if len(parsed.objs) < evaluate.MIN_ROWS:
        raise InvalidRequest(
            f"evaluation: {len(parsed.objs)} usable rows; the hub needs at least "
            f"{evaluate.MIN_ROWS} to measure a model",
            code="invalid_evaluation",
            field="evaluation",
        )
    keep = {row: i for i, row in enumerate(table.rows)}
    y = table.y[[keep[r] for r in parsed.rows]]
    report = parsed.report() | {"missing_target": len(table.skipped), "file": evaluation.name}
    return parsed, y, report


def fit_domain(
    runtime: Any, input_type: Any, training: Upload, held_out: list[Any]
) -> tuple[dict[str, Any], dict[str, bytes], Any, dict[str, Any]]:
    """(annotator spec entry, artifacts role -> bytes, report) of the applicability domain."""
    if not input_type.domain_annotator:
        raise InvalidRequest(
            f"training_inputs: inputs of type {input_type.name!r} have no applicability "
            "domain in the installed plugins",
            code="invalid_training_inputs",
            field="training_inputs",
        )
    annotator = runtime.plugins.annotator(input_type.domain_annotator)
    if annotator.fit is None:
        raise InvalidRequest(f"{annotator.name} cannot be fitted", code="invalid_training_inputs")
    raws, rows = read_lines(training.data)
    parsed = parse_inputs(raws, rows, input_type, max_chars=runtime.settings.max_input_chars)
    if not parsed.objs:
        raise InvalidRequest("training_inputs: no usable input", code="invalid_training_inputs",
                             field="training_inputs")  # fmt: skip
    params, artifacts = annotator.fit(parsed.objs, held_out)
    entry = {"name": annotator.name, "params": params, "artifacts": sorted(artifacts)}
    annotate = annotator.build(artifacts, **params)
    return entry, artifacts, annotate, parsed.report() | {"file": training.name}


def domain_metrics(
    annotate: Any, objs: list[Any], err: np.ndarray | None, params: dict[str, Any]
) -> list[Metric]:
    inside = np.array([bool(annotate(o).get("in_domain", True)) for o in objs])
    n = len(objs)
    out = [Metric("fraction_in_domain", float(inside.mean()), evaluate.SPLIT, n=1, n_samples=n)]
    if "threshold" in params:
        out.insert(0, Metric("ad_threshold", float(params["threshold"]), evaluate.SPLIT, n=1))
    if err is not None:
        for name, mask in (("rmse_in_domain", inside), ("rmse_out_of_domain", ~inside)):
            if mask.any():
                value = float(np.sqrt(np.mean(err[mask] ** 2)))
                out.append(Metric(name, value, evaluate.SPLIT, n=1, n_samples=int(mask.sum())))
    return out


def check_shape(box: Any, width: int, m: Manifest) -> None:
    if box.input_width != width:
        raise ModelRefused(
            f"the model takes {box.input_width} features; {m.featurizer} with these "
            f"parameters gives {width}",
            code="input_width_mismatch",
            model_width=box.input_width,
            featurizer_width=width,
        )
    if box.n_outputs != m.n_columns:
        extra = " (+1 uncertainty column)" if m.uncertainty else ""
        raise ModelRefused(
            f"the model outputs {box.n_outputs} columns; the manifest declares "
            f"{len(m.outputs)}{extra}",
            code="output_count_mismatch",
            model_outputs=box.n_outputs,
            declared=m.n_columns,
        )


def measure(
    m: Manifest, y_true: np.ndarray | None, y_eval: np.ndarray | None
) -> tuple[list[Metric], dict[str, tuple[bytes, str]]]:
    if y_true is None or y_eval is None:
        return [], {}
    first = m.outputs[0]
    if m.task == "property-classification":
        metrics = evaluate.classification_metrics(y_true[:, 0], y_eval[:, 0].astype(np.float64))
    else:
        sigma = y_eval[:, -1].astype(np.float64) if m.uncertainty == "last_column" else None
        if sigma is not None and (sigma < 0).any():
            raise ModelRefused("the uncertainty column has negative values",
                               code="negative_uncertainty")  # fmt: skip
        y_pred = y_eval[:, : len(m.outputs)].astype(np.float64)
        metrics = evaluate.regression_metrics(y_true, y_pred, [o.name for o in m.outputs], sigma)
    plots = evaluate.plots(
        m.task, y_true[:, 0], y_eval[:, 0].astype(np.float64), quantity=first.name,
        unit=first.unit, metrics=metrics,
        sigma=y_eval[:, -1] if m.uncertainty == "last_column" else None,
    )  # fmt: skip
    return metrics, plots
