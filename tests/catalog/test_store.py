"""The catalog store, on SQLite and (in CI) PostgreSQL."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import inspect

from hub.catalog import CatalogStore, parse_ref
from hub.catalog.migrate import current_revision, head_revision
from hub.entities import DatasetInfo, Metric, ModelInfo, OutputSpec, VersionCreate
from hub.errors import InvalidRequest, NotFound


def info(name: str = "chemistry.toy", **kw) -> ModelInfo:  # noqa: ANN003
    base = dict(
        name=name,
        domain=name.split(".")[0],
        task="property-regression",
        title="Toy model",
        description="A model of toys",
        input_type="smiles",
        outputs=(OutputSpec("y", "kcal/mol"),),
        tags=("toy", "test"),
    )
    return ModelInfo(**{**base, **kw})


def new(fp: str = "f1", rmse: float = 0.5) -> VersionCreate:
    return VersionCreate(
        kind="keras",
        spec={"a": 1},
        artifacts={"model": "0" * 64},
        recipe="r@1",
        recipe_params={"epochs": 3},
        fingerprint=fp,
        dataset=DatasetInfo("d", "1" * 64, 10),
        software={"python": "3"},
        metrics=(Metric("rmse", rmse, "random", std=0.1, n=5),),
    )


def test_schema_is_at_alembic_head(store: CatalogStore) -> None:
    assert current_revision(store.engine) == head_revision(store.engine)
    assert (head_revision(store.engine) or "") >= "0003"  # 0003: identities
    tables = set(inspect(store.engine).get_table_names())
    assert {"models", "versions", "aliases", "metrics", "model_tags", "jobs"} <= tables
    assert {"users", "groups", "group_members", "api_keys"} <= tables
    CatalogStore(store.url).close()  # a second open is a no-op migration


def test_model_round_trip_and_update(store: CatalogStore) -> None:
    created = store.upsert_model(info())
    assert created.outputs == (OutputSpec("y", "kcal/mol"),)
    assert created.tags == ("test", "toy")
    store.upsert_model(info(title="Renamed", tags=("toy", "new")))
    got = store.get_model("chemistry.toy")
    assert got.title == "Renamed" and got.tags == ("new", "toy")


def test_versions_are_numbered_and_latest_moves(store: CatalogStore) -> None:
    store.upsert_model(info())
    v1 = store.register_version("chemistry.toy", new("a", 0.5))
    v2 = store.register_version("chemistry.toy", new("b", 0.4))
    assert (v1.version, v2.version) == (1, 2)
    assert store.resolve("chemistry.toy").version == 2
    assert store.resolve("chemistry.toy@latest").version == 2
    assert store.resolve("chemistry.toy:1").metrics[0].value == 0.5
    assert store.get_version("chemistry.toy", 1) == v1  # immutable: unchanged by v2
    assert v2.metrics == (Metric("rmse", 0.4, "random", std=0.1, n=5),)
    assert v2.dataset == DatasetInfo("d", "1" * 64, 10)
    assert store.find_by_fingerprint("chemistry.toy", "a").version == 1
    assert store.find_by_fingerprint("chemistry.toy", "zzz") is None


def test_aliases(store: CatalogStore) -> None:
    store.upsert_model(info())
    store.register_version("chemistry.toy", new("a"))
    store.register_version("chemistry.toy", new("b"))
    store.set_alias("chemistry.toy", "production", 1)
    assert store.resolve("chemistry.toy@production").version == 1
    store.set_alias("chemistry.toy", "production", 2)
    assert store.resolve("chemistry.toy@production").version == 2
    assert [(a.alias, a.version) for a in store.list_aliases("chemistry.toy")] == [
        ("latest", 2),
        ("production", 2),
    ]
    store.delete_alias("chemistry.toy", "production")
    with pytest.raises(NotFound, match="no alias 'production'"):
        store.resolve("chemistry.toy@production")
    with pytest.raises(NotFound, match="no version 7"):
        store.set_alias("chemistry.toy", "x", 7)
    with pytest.raises(InvalidRequest):
        store.set_alias("chemistry.toy", "12", 1)


def test_errors_are_typed(store: CatalogStore) -> None:
    with pytest.raises(NotFound) as e:
        store.resolve("chemistry.nothing")
    assert e.value.code == "model_not_found"
    store.upsert_model(info())
    with pytest.raises(NotFound) as e:
        store.resolve("chemistry.toy")  # no version yet (being built, say): no 'latest'
    assert e.value.code == "version_not_found" and "being built" in e.value.message
    with pytest.raises(NotFound):
        store.resolve("chemistry.toy:3")
    store.register_version("chemistry.toy", new())
    with pytest.raises(NotFound) as e:
        store.resolve("chemistry.toy@nope")
    assert e.value.code == "alias_not_found"
    for bad in ("", "Chemistry", "a b", "x@", "x:y", "x:-1", "x" * 300):
        with pytest.raises(InvalidRequest):
            parse_ref(bad)
    with pytest.raises(InvalidRequest):
        store.upsert_model(info(name="Bad Name"))


def test_search_filters(store: CatalogStore) -> None:
    store.upsert_model(info("chemistry.a", task="property-regression", tags=("solubility",)))
    store.upsert_model(
        info("chemistry.b", task="yield", description="coupling yields", tags=("reaction",))
    )
    store.upsert_model(info("physics.c", task="simulation", input_type="atoms", tags=()))
    store.upsert_model(info("physics.hidden", visibility="private"))

    def names(**kw) -> list[str]:  # noqa: ANN003
        return [m.name for m in store.list_models(**kw)[0]]

    assert names() == ["chemistry.a", "chemistry.b", "physics.c"]
    assert names(domain="physics") == ["physics.c"]
    assert names(task="yield") == ["chemistry.b"]
    assert names(tag="solubility") == ["chemistry.a"]
    assert names(q="COUPLING") == ["chemistry.b"]
    assert names(q="solub") == ["chemistry.a"]  # tags are searched too
    assert names(q="nothing-like-this") == []
    assert "physics.hidden" in names(include_private=True)
    page, total = store.list_models(limit=1, offset=1)
    assert total == 3 and [m.name for m in page] == ["chemistry.b"]


def test_concurrent_registrations_get_distinct_numbers(store: CatalogStore) -> None:
    store.upsert_model(info())
    numbers: list[int] = []
    errors: list[BaseException] = []

    def register(i: int) -> None:
        try:
            numbers.append(store.register_version("chemistry.toy", new(f"f{i}")).version)
        except BaseException as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=register, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert sorted(numbers) == list(range(1, 9))
    assert store.resolve("chemistry.toy").version == 8 or len(set(numbers)) == 8
