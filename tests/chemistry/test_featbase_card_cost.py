"""The featurizer's cost per input on the model card (JSON, card.md, the web page and a pack's
CARD.md), measured where the card is served, with its basis; and the generic measurement of a
featurizer that does not time itself."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest
from fastapi.testclient import TestClient

from hub.cards import cost
from hub.catalog import CatalogStore
from hub.packs.exporter import version_card
from hub.plugins import Domain, Featurizer, InputType, PluginRegistry
from hub.runtime import Runtime
from hub.service.app import create_app
from tests.service.serving_support import PUBLIC, ServingHome, shared_home


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> ServingHome:
    return shared_home(tmp_path_factory)


def test_card_json_markdown_and_page_carry_the_cost(home: ServingHome) -> None:
    runtime = Runtime(home.settings(prediction_cache="off"))
    with TestClient(create_app(runtime, warm=False)) as http:
        card = http.get(f"/v1/models/{PUBLIC}").json()
        c = card["versions"][0]["featurizer_cost"]
        assert 0.05 < c["ms_per_input"] < 1000  # RDKit descriptors: about 1-5 ms of CPU
        assert "16 drug-like molecules" in c["basis"] and "CPU time" in c["basis"]
        assert c["machine"] == cost.machine() and " cores" in c["machine"]
        assert c["parallel_threshold"] == 64 and c["load_average"] >= 0
        when = datetime.fromisoformat(c["measured_at"])
        assert abs((datetime.now(UTC) - when).total_seconds()) < 3600
        again = http.get(f"/v1/models/{PUBLIC}").json()["versions"][0]["featurizer_cost"]
        assert again == c  # measured once per process and featurizer
        md = http.get(f"/v1/models/{PUBLIC}/card.md").text
        line = f"- featurizer cost: {c['ms_per_input']:g} ms CPU per input on one core"
        assert line in md and "where this card was served" in md
        page = http.get(f"/models/{PUBLIC}").text
        assert f"featurizer cost: {c['ms_per_input']:g} ms CPU per input" in page
    store = CatalogStore(home.url)
    try:
        pack_card = version_card(store, PUBLIC, card["latest_version"], plugins=None, base_url="")
        assert "featurizer cost" not in pack_card  # no plugins: nothing measured, nothing said
        pack_card = version_card(
            store, PUBLIC, card["latest_version"], plugins=runtime.plugins, base_url=""
        )
        assert line in pack_card
    finally:
        store.close()


def test_a_featurizer_without_its_own_figure_is_timed_on_the_example() -> None:
    calls: list[str] = []

    def build(width: int) -> object:
        def featurize(obj: str) -> np.ndarray:
            calls.append(obj)
            return np.zeros(width, np.float32)

        return featurize

    registry = PluginRegistry(
        [
            Domain(
                name="toy",
                description="",
                input_types=(InputType("word", "a word", parse=str.upper, example="abc"),),
                featurizers=(Featurizer("toy.zeros", "word", "zeros", build=build),),
            )
        ]
    )
    spec = {"name": "toy.zeros", "params": {"width": 3}}
    c = cost.featurizer_cost(registry, spec, "word")
    assert c is not None and c.ms_per_input >= 0 and c.parallel_threshold is None
    assert c.basis.startswith(f"median of {cost.REPEATS} runs on the input type's example")
    assert calls == ["ABC"] * cost.REPEATS
    assert cost.featurizer_cost(registry, spec, "word") is c and len(calls) == cost.REPEATS
    assert cost.featurizer_cost(registry, {"name": "toy.missing"}, "word") is None
    assert cost.featurizer_cost(None, spec, "word") is None
    assert cost.featurizer_cost(registry, None, "word") is None
