"""Scoring one chunk of a screen's distinct inputs with every model, each input parsed once.

A predictor's public door, ``predict(inputs, params)``, parses every raw input itself: a
screen of N models would parse (and, for molecules, standardise) each distinct input N times,
after its ``keys`` phase parsed it once already. For the chemistry models the parse is about a
quarter of a model's time per molecule (``bench/screen_parse_once.py``), so here a chunk is
parsed once with the screen's input type (:func:`parse_chunk`), and every model that is a
featurizer plus a model (:class:`~hub.runtime.featurized.FeaturizedPredictor`, the ``keras``
and ``lightgbm`` kinds) of that input type scores the parsed objects
(:func:`outputs_of_parsed`): featurize, the input type's description and the annotators'
evidence, then the model's batch predict, with the same answers, errors included, as
``predict`` on the raw inputs (tested). Any other predictor (a simulator, a plugin's kind),
or one asked for explanations, gets the raw inputs through ``predict`` as before.

The hub stays domain-free: the parse is the input type's (a plugin's), the objects are opaque.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from hub.runtime.items import error_item, parse_item

BATCH = 500  # items between two cancellation checks (about a second of scoring)


@dataclass(frozen=True)
class Failed:
    """An input that did not parse: the ``{"error": {...}}`` slot every model answers."""

    slot: dict[str, Any]


def parse_chunk(
    itype: Any, inputs: Sequence[Any], max_chars: int, check: Callable[[], None]
) -> list[Any]:
    """Each input parsed by input type ``itype`` with the hub's per-item limits
    (``max_chars`` characters), or :class:`Failed`; ``check()`` every :data:`BATCH` items."""
    out: list[Any] = []
    for i, raw in enumerate(inputs):
        if i % BATCH == 0:
            check()
        try:
            out.append(parse_item(itype.parse, raw, max_chars))
        except Exception as exc:  # noqa: BLE001 - each input reports its own failure
            out.append(Failed(error_item(exc)))
    return out


def takes_parsed(predictor: Any, input_type: str, params: dict[str, Any]) -> bool:
    """True when ``predictor`` can score objects parsed by ``input_type``: a featurized
    predictor of that input type, asked for no explanation."""
    from hub.runtime.featurized import FeaturizedPredictor

    return (
        isinstance(predictor, FeaturizedPredictor)
        and predictor.input_type.name == input_type
        and predictor.explain_method(params) is None
    )


def outputs_of_parsed(
    predictor: Any, parsed: Sequence[Any], check: Callable[[], None]
) -> list[dict[str, Any]]:
    """One output dict per parsed object (or :class:`Failed`) through a featurized
    predictor's featurizer, description, annotators and batch model, :data:`BATCH` at a time;
    the same dicts as ``predictor.predict`` on the raw inputs."""
    import numpy as np

    describe = predictor.input_type.describe
    slots: list[dict[str, Any]] = []
    for start in range(0, len(parsed), BATCH):
        check()
        rows: list[Any] = []
        where: list[int] = []
        for obj in parsed[start : start + BATCH]:
            if isinstance(obj, Failed):
                slots.append(dict(obj.slot))
                continue
            try:
                row = predictor.featurize(obj)
                extra = describe(obj) if describe is not None else {}
                for annotate in predictor.annotators:
                    extra |= annotate(obj)
            except Exception as exc:  # noqa: BLE001 - each input reports its own failure
                slots.append(error_item(exc))
                continue
            where.append(len(slots))
            slots.append(extra)
            rows.append(row)
        if rows:
            for i, out in zip(where, predictor.outputs_of(np.stack(rows)), strict=True):
                slots[i] = out | slots[i]
    return slots


def outputs_of_raw(
    predictor: Any, inputs: Sequence[Any], params: dict[str, Any], check: Callable[[], None]
) -> list[dict[str, Any]]:
    """One output dict per raw input through ``predictor.predict``, :data:`BATCH` at a time."""
    out: list[dict[str, Any]] = []
    for start in range(0, len(inputs), BATCH):
        check()
        out += predictor.predict(inputs[start : start + BATCH], params)
    return out


def score_models(
    runtime: Any,
    models: Sequence[dict[str, Any]],
    input_type: str,
    inputs: Sequence[Any],
    check: Callable[[], None],
) -> list[list[dict[str, Any]]]:
    """Per model entry of ``models`` (``model``, ``version``), one output dict per input of
    ``inputs`` (raw, of ``input_type``), through the worker's warm predictors (each loaded once
    per process); the inputs are parsed once for every model that takes parsed objects."""
    parsed: list[Any] | None = None
    out = []
    for m in models:
        version = runtime.store.get_version(m["model"], int(m["version"]))
        predictor = runtime.predictor(version)  # loaded once per worker process, then warm
        check_params = getattr(runtime, "check_params", None)
        params = check_params(version, {}) if check_params is not None else {}
        if takes_parsed(predictor, input_type, params):
            if parsed is None:
                itype = runtime.plugins.input_type(input_type)
                parsed = parse_chunk(itype, inputs, runtime.settings.max_input_chars, check)
            out.append(outputs_of_parsed(predictor, parsed, check))
        else:
            out.append(outputs_of_raw(predictor, inputs, params, check))
    return out
