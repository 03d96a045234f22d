"""Plots stored with versions: deterministic, well-formed SVG, captioned in the spec."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np

from hub.artifacts import ArtifactStore
from hub.catalog import CatalogStore
from hub.plots import curve_svg, parity_svg, uncertainty_svg
from tests.conftest import settings_for


def _data() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    y = rng.normal(size=200)
    return y, y + rng.normal(scale=0.3, size=200), np.abs(rng.normal(scale=0.3, size=200))


def test_plots_are_deterministic_svg_with_the_metric_in_the_legend() -> None:
    y, p, s = _data()
    a = parity_svg(y, p, quantity="logS", unit="log10(mol/L)", metric_text="RMSE 0.301")
    assert a == parity_svg(y, p, quantity="logS", unit="log10(mol/L)", metric_text="RMSE 0.301")
    assert ET.fromstring(a).tag.endswith("svg")
    assert b"RMSE 0.301" in a and b"log10(mol/L)" in a
    assert ET.fromstring(uncertainty_svg(y, p, s, unit="%")).tag.endswith("svg")
    eos = curve_svg({"EMT": ([10.0, 11.0, 12.0], [0.1, 0.0, 0.1])}, xlabel="V", ylabel="E")
    assert b"EMT" in eos


def test_every_learned_model_stores_captioned_plots(built_home: Path) -> None:
    settings = settings_for(built_home)
    store, artifacts = CatalogStore(settings.database_url), ArtifactStore(settings.artifacts_dir)
    try:
        models, _ = store.list_models(limit=1000)
        learned = [store.resolve(m.name) for m in models]
        learned = [v for v in learned if v.kind == "keras"]
        assert learned
        for v in learned:
            roles = {r for r in v.artifacts if r.startswith("plot_")}
            assert "plot_parity" in roles, v.ref
            assert roles == set(v.spec["plots"]), v.ref
            for role in roles:
                assert ET.fromstring(artifacts.read(v.artifacts[role])).tag.endswith("svg")
    finally:
        store.close()
