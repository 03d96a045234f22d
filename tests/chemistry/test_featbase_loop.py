"""The featurized-predictor base (hub/runtime/featurized.py) under the lightgbm kind: a quick
``chemistry.solubility`` (trees on a ridge, blended with Keras MLPs) answers what the loop of
before answered (an item-by-item reference written out here), on the in-process, pooled and
item-by-item paths, and an answer does not depend on the batch it came in."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pytest

from hub.learning.families import mixture
from hub.runtime import Runtime
from hub.runtime.featurized import FeaturizedPredictor, _chunks
from hub.runtime.items import error_item, parse_item, to_json_number
from hub.runtime.keras_kind import run_rows
from tests.service.serving_support import PUBLIC, ServingHome, shared_home

SMILES = (
    [f"C{'C' * k}O" for k in range(25)]
    + [f"c1ccccc1{'C' * k}N" for k in range(25)]
    + [
        "not-a-smiles",
        "",
        "C" * 30_000,
        "CC(=O)Oc1ccccc1C(=O)O",
        "[Na+].[Cl-]",
        "c1ccccc1O",
        "[U]",
        "CC(=O)[O-].[Na+]",
        "Cn1cnc2c1c(=O)n(C)c(=O)n2C",
        "\ud800",
        "C1CC",
    ]
)
VALUED = ("value", "uncertainty")
CODES = [  # of the errors in SMILES, in order
    "invalid_smiles",
    "empty_input",
    "too_large",
    "unsupported_element",
    "invalid_input",
    "invalid_smiles",
]


@pytest.fixture(scope="module")
def predictor(tmp_path_factory: pytest.TempPathFactory) -> Any:
    home: ServingHome = shared_home(tmp_path_factory)
    runtime = Runtime(home.settings(prediction_cache="off"))
    p = runtime.predictor(runtime.resolve(PUBLIC))
    assert isinstance(p, FeaturizedPredictor) and p.version.kind == "lightgbm"
    assert p.forward is not None, "the quick solubility is a blend: trees and Keras MLPs"
    threshold = p.featurize.parallel_threshold
    yield p
    p.featurize.parallel_threshold = threshold


def reference(p: Any, inputs: Sequence[Any], *, padded: bool) -> list[dict[str, Any]]:
    """The lightgbm kind's loop as it was before the base: each input parsed, featurized,
    described and annotated in turn, then one call of the model on all rows; the Keras part
    in one unpadded call as before (``padded=False``) or in the padded 64-row chunks."""
    slots: list[dict[str, Any]] = []
    rows, where = [], []
    for i, raw in enumerate(inputs):
        try:
            obj = parse_item(p.input_type.parse, raw, p.max_chars)
            row = p.featurize(obj)
            extra = p.input_type.describe(obj)
            for annotate in p.annotators:
                extra |= annotate(obj)
        except Exception as exc:  # noqa: BLE001 - as the old loop did
            slots.append(error_item(exc))
            continue
        slots.append(extra)
        rows.append(row)
        where.append(i)
    x = np.stack(rows)
    mean, std = p.trees.predict(x)
    x32 = x.astype(np.float32)
    members = run_rows(p.forward, x32) if padded else np.asarray(p.forward(x32))
    mean, std = mixture((mean, std), (members.mean(1), members.std(1)), p.weight)
    std = std * p.sigma_scale
    for j, i in enumerate(where):
        out = {"value": to_json_number(mean[j]), "unit": p.outputs[0]["unit"]}
        slots[i] = out | {"uncertainty": to_json_number(std[j])} | slots[i]
    return slots


def same(new: list[dict[str, Any]], old: list[dict[str, Any]], tol: dict[str, float]) -> None:
    """Numbers within ``tol`` (by key), everything else (errors too) equal."""
    assert len(new) == len(old)
    for k, (a, b) in enumerate(zip(new, old, strict=True)):
        assert a.keys() == b.keys(), k
        for key in a:
            if key in VALUED:
                assert a[key] == pytest.approx(b[key], abs=tol[key], rel=0), (k, key)
            else:
                assert a[key] == b[key], (k, key)


def test_answers_as_before_on_every_path(predictor: Any) -> None:
    old = reference(predictor, SMILES, padded=False)
    codes = [o["error"]["code"] for o in old if "error" in o]
    assert codes == CODES, codes
    exact = dict.fromkeys(VALUED, 1e-12)
    # before, the Keras part ran unpadded: its float32 rounding moved with the batch's size
    # (by up to 7e-7 between a molecule alone and in a batch); the calibration factor
    # sigma_scale (about 1.7) multiplies that rounding in the uncertainty
    rounding = {"value": 1e-6, "uncertainty": 1e-6 * max(1.0, predictor.sigma_scale)}
    padded = reference(predictor, SMILES, padded=True)
    same(padded, old, rounding)
    predictor.featurize.parallel_threshold = 10**9  # every string in process
    same(predictor.predict(SMILES, {}), padded, exact)
    same(predictor.predict(SMILES, {}), old, rounding)
    predictor.featurize.parallel_threshold = 2  # every string batch on the process pool
    same(predictor.predict(SMILES, {}), padded, exact)
    same(predictor.predict([{"x": 1}, *SMILES], {})[1:], padded, exact)  # item by item
    small = [predictor.predict([s], {})[0] for s in SMILES[48:]]
    same(small, reference(predictor, SMILES[48:], padded=True), exact)


def test_answer_does_not_depend_on_its_batch(predictor: Any) -> None:
    molecule = "CC(C)Cc1ccc(C(C)C(=O)O)cc1"
    batch = [f"C{'C' * k}O" for k in range(99)]
    batch.insert(70, molecule)  # in the second 64-row chunk of the Keras part
    predictor.featurize.parallel_threshold = 64
    alone = predictor.predict([molecule], {})[0]
    for inside in (
        predictor.predict(batch, {})[70],  # the pool
        predictor.predict([{"x": 1}, *batch], {})[71],  # item by item
    ):
        for key in VALUED:
            assert inside[key] == pytest.approx(alone[key], abs=1e-9, rel=0)
    # the blend's Keras part itself, row by row and in a batch of 100
    x = np.stack([predictor.featurize(predictor.input_type.parse(s)) for s in batch])
    mean, std = predictor.mean_std(x)
    one_mean, one_std = predictor.mean_std(x[70:71])
    assert abs(mean[70] - one_mean[0]) <= 1e-9 and abs(std[70] - one_std[0]) <= 1e-9


def test_shap_and_atoms_explanations_go_item_by_item(predictor: Any) -> None:
    out = predictor.predict(["CCO", "not-a-smiles"], {"explain": "shap"})
    assert out[0]["explanation"]["method"].startswith("SHAP")
    assert out[1]["error"]["code"] == "invalid_smiles"
    atoms = predictor.predict(["c1ccccc1O"], {"explain": True})[0]["explanation"]
    assert atoms == predictor.predict(["c1ccccc1O"], {"explain": "atoms"})[0]["explanation"]


def test_deadline_between_string_chunks(predictor: Any) -> None:
    from hub.runtime.budget import Budget

    gone = Budget(10.0)
    gone.cancelled.set()
    out = predictor.predict(["CCO", "C" * 30_000], {}, budget=gone)
    assert out[0]["error"]["code"] == "cancelled"
    assert out[1]["error"]["code"] == "too_large"  # the limits are checked first


def test_chunks_are_even_and_in_order() -> None:
    items = list(range(4100))
    chunks = _chunks(items, 4096)
    assert [len(c) for c in chunks] == [2050, 2050]
    assert [i for c in chunks for i in c] == items
    assert _chunks([], 10) == [] and _chunks([1, 2], 10) == [[1, 2]]
