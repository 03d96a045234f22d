"""The ``lightgbm`` model kind: a featurizer plus an ensemble of LightGBM boosters, optionally
averaged with a Keras MLP ensemble (a two-family blend), with SHAP explanations.

Spec of a version (written by :mod:`hub.learning` for the ``trees`` and ``blend`` families)::

    {"input_type": "smiles",
     "featurizer": {"name": "chemistry.rdkit2d_morgan", "params": {...}},
     "outputs": [{"name": "log_solubility", "unit": "log10(mol/L)"}],
     "uncertainty": "member_spread", "sigma_scale": 1.9, "upper": null,
     "trees": {"format": "lightgbm-text", "members": 5, "init": "none"},  # or "ridge"
     "blend": {"trees_weight": 0.5, "keras_members": 5},       # optional
     "annotators": [...]}

Artifacts: ``model``, the boosters as JSON of LightGBM text models (no pickle; read by
:func:`hub.learning.trees.load_trees`), and with a blend ``keras_members``, a ``.keras`` file
whose output is one column per member (loaded with ``safe_mode=True``). Both are checked
against their sha256 by the artifact store and loaded once; the version is then kept warm.

Output: the mean (trees, or ``trees_weight`` x trees + the rest x MLPs), and as uncertainty
``sigma_scale`` x the members' spread (a blend: the spread of the two-family mixture). The
batch loop (parse, featurize, on the featurizer's process pool for a large batch of text,
annotate, explain, per-item errors, the budget) is :mod:`hub.runtime.featurized`'s; a blend's
MLPs run in the Keras kind's padded 64-row chunks, so an answer does not depend on its batch.

``params: {"explain": "shap"}``: each output's ``explanation`` gives the SHAP values of the
trees (the ``shap`` library's TreeExplainer, exact for trees) of every feature, averaged over
the boosters, with the base value; they sum to the trees' prediction minus the base value.
Trees on a ridge (``"init": "ridge"``): each feature's value adds the ridge's exact linear SHAP
value (``coef * (x - mean) / scale``) and the base value its intercept, so the sum is still the
trees' part of the prediction, ridge included (``ridge`` in the answer gives its share). The
input type's ``explain`` names the features (a chemistry fingerprint bit: its atoms) when it
takes a ``shap`` argument. ``true`` or ``"atoms"``: the input type's own explanation (atom
occlusion for molecules).
"""

from __future__ import annotations

import inspect
import threading
from typing import Any, Literal

import numpy as np
from pydantic import Field

from hub.entities import Version
from hub.errors import PluginError
from hub.learning.families import mixture
from hub.learning.trees import load_trees
from hub.params import Params
from hub.plugins import LoadContext, ModelKind
from hub.runtime.featurized import FeaturizedPredictor
from hub.runtime.items import to_json_number
from hub.runtime.keras_kind import compile_forward, load_keras_bytes, run_rows

TOP_FEATURES = 10  # attributions listed per explained input


class TreePredictor(FeaturizedPredictor):
    """A warm ``lightgbm`` version: the shared featurized loop (:mod:`hub.runtime.featurized`)
    with the boosters (and a blend's Keras members) as its batch predict, and SHAP."""

    explain_methods = ("atoms", "shap")

    def __init__(self, version: Version, ctx: LoadContext) -> None:
        super().__init__(version, ctx)
        spec = version.spec
        self.sigma_scale = float(spec.get("sigma_scale", 1.0))
        self.upper = spec.get("upper")
        try:
            self.trees = load_trees(ctx.read_artifact(version.artifacts["model"]))
        except ValueError as exc:
            raise PluginError(f"{version.ref}: {exc}") from exc
        self.weight, self.forward = 1.0, None
        blend = spec.get("blend")
        if blend:
            if "keras_members" not in version.artifacts:
                raise PluginError(f"{version.ref} is a blend without 'keras_members'")
            keras_model = load_keras_bytes(ctx.read_artifact(version.artifacts["keras_members"]))
            self.forward = compile_forward(keras_model, self.trees.n_features)
            self.weight = float(blend["trees_weight"])
        explain = self.input_type.explain
        self.names_shap = explain is not None and "shap" in inspect.signature(explain).parameters
        self._explainers: list[Any] | None = None
        self._lock = threading.Lock()

    # -- numbers -------------------------------------------------------------------------
    def mean_std(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Mean and calibrated uncertainty of feature rows ``x`` (n, n_features), each (n,).
        A blend's Keras members run in the Keras kind's padded chunks of fixed shape
        (:func:`~hub.runtime.keras_kind.run_rows`), so a row's answer is independent of its
        batch."""
        mean, std = self.trees.predict(x)
        if self.forward is not None:
            members = run_rows(self.forward, x.astype(np.float32, copy=False))
            mean, std = mixture((mean, std), (members.mean(1), members.std(1)), self.weight)
        if self.upper is not None:
            mean = np.clip(mean, 0.0, float(self.upper))
        return mean, std * self.sigma_scale

    def first_output(self, x: np.ndarray) -> np.ndarray:
        return self.mean_std(x)[0]

    def outputs_of(self, x: np.ndarray) -> list[dict[str, Any]]:
        mean, sigma = self.mean_std(x)
        return [self._assemble(m, s) for m, s in zip(mean, sigma, strict=True)]

    def explain_row(self, method: str, obj: Any, row: np.ndarray) -> dict[str, Any]:
        return self._shap(obj, row)

    def shap_values(self, row: np.ndarray) -> tuple[np.ndarray, float]:
        """SHAP values of the trees' mean prediction for one feature row (n_features,), and
        the base value (the boosters' mean expected value)."""
        import shap

        with self._lock:
            if self._explainers is None:
                self._explainers = [shap.TreeExplainer(b) for b in self.trees.boosters]
        x = np.asarray(row, np.float64)[None, :]
        values = np.mean([np.asarray(e.shap_values(x))[0] for e in self._explainers], axis=0)
        base = float(np.mean([np.ravel(e.expected_value)[0] for e in self._explainers]))
        if self.trees.init is not None:  # the ridge the boosters start from: exact, linear
            linear, intercept = self.trees.init.shap_values(x)
            values, base = values + linear[0], base + intercept
        return values, base

    def _shap(self, obj: Any, row: np.ndarray) -> dict[str, Any]:
        values, base = self.shap_values(row)
        trees_value = base + float(values.sum())
        shap = {
            "values": values,
            "base_value": base,
            "features": np.asarray(row),
            "featurizer": self.fspec,
            "top": TOP_FEATURES,
        }
        if self.names_shap:
            out = dict(self.input_type.explain(obj, self.predict_objects, shap=shap))
        else:
            top = np.argsort(-np.abs(values))[:TOP_FEATURES]
            out = {
                "method": "SHAP (TreeExplainer)",
                "features": [
                    {"feature": f"feature {int(k)}", "index": int(k), "shap": float(values[k])}
                    for k in top
                ],
            }
        out["base_value"] = round(base, 6)
        out["trees_prediction"] = round(trees_value, 6)
        if self.trees.init is not None:
            linear, intercept = self.trees.init.shap_values(np.asarray(row)[None, :])
            out["ridge"] = {
                "prediction": round(float(intercept + linear.sum()), 6),
                "intercept": round(float(intercept), 6),
                "note": "the trees fit the residuals of this ridge regression; each feature's "
                "SHAP value includes its linear term, base_value the intercept",
            }
        if self.forward is not None:
            out["note"] = (
                f"SHAP values of the LightGBM part (weight {self.weight:g}); the served "
                "value averages it with the Keras MLPs"
            )
        return out

    def _assemble(self, mean: float, sigma: float) -> dict[str, Any]:
        return {
            "value": to_json_number(mean),
            "unit": self.outputs[0]["unit"],
            "uncertainty": to_json_number(sigma),
        }


class LightGBMParams(Params):
    explain: bool | Literal["atoms", "shap"] = Field(
        False,
        description=(
            "attribute each prediction: true or 'atoms' to the input's atoms (occlusion), "
            "'shap' to its features (SHAP values of the trees, named; fingerprint bits with "
            "their atoms)"
        ),
    )


LIGHTGBM_KIND = ModelKind(name="lightgbm", load=TreePredictor, params=LightGBMParams)
