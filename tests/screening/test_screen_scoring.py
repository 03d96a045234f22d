"""A screen's scoring phase parses each input once for all its models
(hub.screening.scoring), and answers exactly as each model's ``predict`` on the raw inputs."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from tests.screening.screen_support import esol_smiles

MODELS = ("chemistry.solubility", "chemistry.lipophilicity")
# salts and solvents, charges, elements the models never saw, unreadable and over-long inputs
ODD = [
    "CC(=O)[O-].[Na+]",
    "C[NH3+]",
    "c1ccccc1.O.O",
    "OB(O)c1ccccc1",
    "C[Si](C)(C)C",
    "C[Se]C",
    "C1CC",
    "not a smiles",
    "",
    "C" * 3000,
    "c1ccccc1O",
]


class CountingRuntime:
    """The runtime, with the input type's parse counted."""

    def __init__(self, runtime: Any) -> None:
        self.inner = runtime
        self.parses = 0
        outer = self

        class Plugins:
            def input_type(self, name: str) -> Any:
                itype = runtime.plugins.input_type(name)

                def parse(raw: Any) -> Any:
                    outer.parses += 1
                    return itype.parse(raw)

                return dataclasses.replace(itype, parse=parse)

        self.plugins = Plugins()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def _entries(runtime: Any) -> list[dict[str, Any]]:
    out = []
    for ref in MODELS:
        v = runtime.store.resolve(ref)
        out.append({"ref": ref, "model": v.model, "version": v.version})
    return out


def test_parsed_once_same_answers(runtime: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from hub.screening.scoring import BATCH, score_models

    inputs = esol_smiles()[: BATCH + 40] + ODD  # more than one batch
    entries = _entries(runtime)
    expected = []
    for m in entries:
        predictor = runtime.predictor(runtime.store.get_version(m["model"], m["version"]))
        expected.append(predictor.predict(inputs, {}))
        # the models must not parse or featurize raw text again in the screen
        monkeypatch.setattr(predictor.featurize, "parse_and_featurize", _refuse, raising=False)
        monkeypatch.setattr(
            predictor, "input_type", dataclasses.replace(predictor.input_type, parse=_refuse)
        )
    counting = CountingRuntime(runtime)
    checks = []
    got = score_models(counting, entries, "smiles", inputs, lambda: checks.append(1))
    assert counting.parses == len(inputs)  # once per input, not once per input and model
    assert len(checks) >= 2 * len(MODELS)  # cancellation checked between batches
    for want, have in zip(expected, got, strict=True):
        assert len(have) == len(inputs)
        for i, (a, b) in enumerate(zip(want, have, strict=True)):
            assert a.keys() == b.keys(), (inputs[i][:40], a, b)
            for k in a:
                if isinstance(a[k], float):
                    assert b[k] == pytest.approx(a[k], rel=1e-12, abs=1e-12), (inputs[i], k)
                else:
                    assert b[k] == a[k], (inputs[i][:40], k)
    codes = {o["error"]["code"] for o in got[0] if "error" in o}
    assert {"invalid_smiles", "empty_input", "too_large"} <= codes
    assert sum("error" not in o for o in got[0]) > BATCH


def _refuse(*args: Any, **kwargs: Any) -> Any:
    raise AssertionError("parsed again")


def test_explanations_take_raw_inputs(runtime: Any) -> None:
    """A predictor asked for an explanation is not given parsed objects (predict does it)."""
    from hub.screening.scoring import takes_parsed

    v = runtime.store.resolve(MODELS[0])
    predictor = runtime.predictor(v)
    assert takes_parsed(predictor, "smiles", {})
    assert not takes_parsed(predictor, "smiles", {"explain": True})
    assert not takes_parsed(predictor, "reaction_smiles", {})
    assert not takes_parsed(object(), "smiles", {})
