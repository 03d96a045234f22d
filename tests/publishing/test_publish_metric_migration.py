"""Revision 0005 (metric provenance) upgrades a 0004 catalog in place: old metric rows read as
measured by the hub with no sample count; new ones keep ``source`` and ``n_samples``.
SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import create_engine, inspect, text

from hub.catalog.migrate import current_revision, head_revision, upgrade
from hub.entities import Metric, ModelInfo, OutputSpec, VersionCreate


def test_old_metrics_read_as_measured_by_the_hub(db_url: str) -> None:
    engine = create_engine(db_url)
    # explicit ids far from 1: PostgreSQL's sequences do not move for them
    upgrade(engine, "0004")
    now = datetime.now(UTC)
    with engine.begin() as c:
        c.execute(
            text(
                "INSERT INTO models (id, name, domain, task, title, description, input_type, "
                "outputs, owner, visibility, default_alias, created_at, updated_at) VALUES "
                "(1001, 'old.model', 'old', 'property-regression', 'Old', '', 'smiles', '[]', "
                "'hub', 'public', 'latest', :t, :t)"
            ),
            {"t": now},
        )
        c.execute(
            text(
                "INSERT INTO versions (id, model_id, version, kind, spec, artifacts, recipe, "
                "recipe_params, fingerprint, software, status, description, created_at) VALUES "
                "(1001, 1001, 1, 'keras', '{}', '{}', 'r', '{}', 'f', '{}', 'ready', '', :t)"
            ),
            {"t": now},
        )
        c.execute(
            text(
                "INSERT INTO metrics (id, version_id, name, split, value, std, n) "
                "VALUES (1001, 1001, 'rmse', 'random', 0.6, 0.05, 5)"
            )
        )
    engine.dispose()

    from hub.catalog import CatalogStore

    store = CatalogStore(db_url)  # upgrades in place
    try:
        assert current_revision(store.engine) == head_revision(store.engine)
        columns = {c["name"] for c in inspect(store.engine).get_columns("metrics")}
        assert {"source", "n_samples"} <= columns
        (old,) = store.get_version("old.model", 1).metrics
        assert old == Metric("rmse", 0.6, "random", 0.05, 5, source="hub", n_samples=None)
        (summary,) = store.list_model_summaries()
        assert summary.metrics[0].source == "hub"

        store.upsert_model(
            ModelInfo(
                name="new.model",
                domain="new",
                task="property-regression",
                title="New",
                description="",
                input_type="smiles",
                outputs=(OutputSpec("y", "1"),),
            )
        )
        declared = Metric("rmse", 0.5, "test", source="publisher")
        measured = Metric("rmse", 0.7, "evaluation", n=1, source="hub", n_samples=42)
        store.register_version(
            "new.model",
            VersionCreate(kind="keras", spec={}, metrics=(declared, measured)),
            aliases=("latest",),
        )
        assert store.resolve("new.model").metrics == (declared, measured)
        by_name = {m.model.name: m for m in store.list_model_summaries()}
        assert by_name["new.model"].metrics == (declared, measured)
    finally:
        store.close()
