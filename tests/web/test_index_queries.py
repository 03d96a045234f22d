"""The index's catalog read: every model with its newest version and metrics in a fixed number
of queries (no query per model), the same filters as ``list_models``, and the facets."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import event

from hub.catalog import CatalogStore
from hub.config import sqlite_url
from hub.entities import Metric, ModelInfo, OutputSpec, VersionCreate


def _register(store: CatalogStore, n: int, *, start: int = 0) -> None:
    for i in range(start, start + n):
        store.upsert_model(
            ModelInfo(
                name=f"chemistry.m{i:04d}",
                domain="chemistry" if i % 2 else "physics",
                task="regression",
                title=f"model {i}",
                description="even" if i % 2 == 0 else "odd",
                input_type="smiles",
                outputs=(OutputSpec("y", "1"),),
                tags=(f"t{i % 3}",),
                visibility="private" if i % 10 == 9 else "public",
            )
        )
        for v in range(1 + i % 3):
            store.register_version(
                f"chemistry.m{i:04d}",
                VersionCreate(
                    kind="keras",
                    spec={},
                    metrics=(Metric("rmse", float(i + v), "random", 0.1, 5), Metric("r2", 0.5)),
                ),
            )


def _count_queries(store: CatalogStore, call) -> tuple[object, int]:  # noqa: ANN001
    seen = []

    def count(*_args: object) -> None:
        seen.append(1)

    event.listen(store.engine, "before_cursor_execute", count)
    try:
        result = call()
    finally:
        event.remove(store.engine, "before_cursor_execute", count)
    return result, len(seen)


def test_summaries_take_the_same_number_of_queries_for_any_catalog(tmp_path: Path) -> None:
    store = CatalogStore(sqlite_url(tmp_path / "registry.db"))
    _register(store, 10)
    small, small_queries = _count_queries(store, store.list_model_summaries)
    _register(store, 60, start=10)
    large, large_queries = _count_queries(store, store.list_model_summaries)
    assert len(small) == 9 and len(large) == 63  # every tenth model is private
    assert large_queries == small_queries <= 5


def test_summaries_carry_the_newest_version_and_its_metrics(tmp_path: Path) -> None:
    store = CatalogStore(sqlite_url(tmp_path / "registry.db"))
    _register(store, 6)
    by_name = {s.model.name: s for s in store.list_model_summaries()}
    for i in range(6):
        s = by_name[f"chemistry.m{i:04d}"]
        newest = store.list_versions(s.model.name)[-1]
        assert s.latest_version == 1 + i % 3 == newest.version
        assert s.built_at == newest.created_at
        assert s.metrics == newest.metrics
        assert s.metrics[0] == Metric("rmse", float(i + i % 3), "random", 0.1, 5)
        assert s.model == store.get_model(s.model.name)


def test_summaries_filter_as_list_models_does(tmp_path: Path) -> None:
    store = CatalogStore(sqlite_url(tmp_path / "registry.db"))
    _register(store, 30)
    store.upsert_model(
        ModelInfo(
            name="physics.unbuilt",
            domain="physics",
            task="simulation",
            title="no versions yet",
            description="",
            input_type="atoms",
            outputs=(),
        )
    )
    for filters in (
        {},
        {"domain": "physics"},
        {"task": "simulation"},
        {"tag": "t1"},
        {"q": "ODD"},
        {"q": "t2", "domain": "chemistry"},
        {"include_private": True},
    ):
        names = [s.model.name for s in store.list_model_summaries(**filters)]
        listed, total = store.list_models(**filters, limit=1000)
        assert names == [m.name for m in listed] and total == len(names), filters
    unbuilt = store.list_model_summaries(task="simulation")[0]
    assert (unbuilt.latest_version, unbuilt.built_at, unbuilt.metrics) == (None, None, ())


def test_facets_list_what_public_models_use(tmp_path: Path) -> None:
    store = CatalogStore(sqlite_url(tmp_path / "registry.db"))
    _register(store, 10)  # model 9 (chemistry, tag t0) is private
    assert store.list_facets() == {
        "domain": ["chemistry", "physics"],
        "task": ["regression"],
        "tag": ["t0", "t1", "t2"],
    }
    store.upsert_model(
        ModelInfo(
            name="web.hidden",
            domain="web",
            task="secret",
            title="",
            description="",
            input_type="smiles",
            outputs=(),
            tags=("hidden",),
            visibility="private",
        )
    )
    assert "web" not in store.list_facets()["domain"]
    assert "hidden" in store.list_facets(include_private=True)["tag"]


def test_index_page_cache_follows_the_catalog(tmp_path: Path) -> None:
    """The rendered index is reused only while nothing changed: a new model, a new version
    or an updated model shows on the next request."""
    from fastapi.testclient import TestClient

    from hub.config import Settings
    from hub.runtime import Runtime
    from hub.service.app import create_app

    settings = Settings(
        database_url=sqlite_url(tmp_path / "registry.db"), artifacts_dir=tmp_path / "artifacts"
    )
    store = CatalogStore(settings.database_url)
    _register(store, 3)
    client = TestClient(create_app(Runtime(settings, store=store), warm=False))
    first = client.get("/").text
    assert first.count("<tr data-search=") == 3 and client.get("/").text == first
    _register(store, 1, start=3)
    assert client.get("/").text.count("<tr data-search=") == 4
    assert ">v2<" not in client.get("/?q=model+0").text
    store.register_version("chemistry.m0000", VersionCreate(kind="keras", spec={}))
    assert ">v2<" in client.get("/?q=model+0").text
    info = store.get_model("chemistry.m0000")
    store.upsert_model(ModelInfo(**{**info.to_dict(), "title": "renamed", "outputs": ()}))
    assert "renamed" in client.get("/").text
    # a model whose first build is under way (hub serve --build) is listed as such
    store.upsert_model(
        ModelInfo(**{**info.to_dict(), "name": "chemistry.new", "title": "fresh", "outputs": ()})
    )
    assert "not built yet" in client.get("/?q=fresh").text
    assert 'id="not-built"' in client.get("/models/chemistry.new").text
    store.register_version("chemistry.new", VersionCreate(kind="keras", spec={}))
    assert "not built yet" not in client.get("/?q=fresh").text


def test_summaries_with_metric_names_keep_the_headline(tmp_path: Path) -> None:
    """Reading only the headline candidates (and each version's first metric) gives the same
    headline as reading every metric."""
    from hub.service.cards import HEADLINE_NAMES, headline_metric

    store = CatalogStore(sqlite_url(tmp_path / "registry.db"))
    _register(store, 4)
    for name, metrics in (
        ("physics.sim", (Metric("lattice_constant", 3.59, "reference"),)),
        ("physics.calib", (Metric("within_1sigma", 0.7, "random"), Metric("r2", 0.8, "random"))),
    ):
        store.upsert_model(
            ModelInfo(
                name=name,
                domain="physics",
                task="simulation",
                title="",
                description="",
                input_type="atoms",
                outputs=(),
            )
        )
        store.register_version(name, VersionCreate(kind="simulator", spec={}, metrics=metrics))
    full = {s.model.name: s for s in store.list_model_summaries()}
    lean = {s.model.name: s for s in store.list_model_summaries(metric_names=HEADLINE_NAMES)}
    assert full.keys() == lean.keys()
    for name, s in lean.items():
        assert headline_metric(s.metrics) == headline_metric(full[name].metrics), name
        assert {m.name for m in s.metrics[1:]} <= set(HEADLINE_NAMES)
    assert headline_metric(lean["physics.sim"].metrics).name == "lattice_constant"
    assert headline_metric(lean["physics.calib"].metrics).name == "r2"


def test_headline_says_splits_only_for_a_spread_over_splits() -> None:
    from hub.catalog.summaries import ModelSummary
    from hub.service.web import IndexEntry

    info = ModelInfo("physics.x", "physics", "t", "X", "d", "atoms", (OutputSpec("y", "1"),))
    over_splits = Metric("rmse", 0.5, "random", std=0.1, n=5)
    on_a_test_set = Metric("mae", 0.11, "test", n=13000)  # n molecules, no spread
    entry = IndexEntry.of(ModelSummary(info, 1, None, (over_splits,)))
    assert entry.headline_split == "random, 5 splits"
    entry = IndexEntry.of(ModelSummary(info, 1, None, (on_a_test_set,)))
    assert entry.headline_split == "test, n=13000"
