"""An existing catalog (revision 0002, what main made before identities) upgrades in place:
its models, versions, aliases and jobs stay; jobs get a NULL owner (admins only see them);
keys and users work at once. SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import create_engine, inspect, text

from hub.catalog.migrate import current_revision, head_revision, upgrade
from tests.auth.support import CREATED_KEYS


def test_upgrade_from_a_0002_catalog(db_url: str) -> None:
    engine = create_engine(db_url)
    upgrade(engine, "0002")
    assert current_revision(engine) == "0002"
    now = datetime.now(UTC)
    with engine.begin() as c:
        c.execute(
            text(
                "INSERT INTO models (id, name, domain, task, title, description, input_type, "
                "outputs, owner, visibility, default_alias, created_at, updated_at) VALUES "
                "(1, 'old.model', 'old', 'simulation', 'Old', 'kept', 'atoms', '[]', 'hub', "
                "'private', 'latest', :t, :t)"
            ),
            {"t": now},
        )
        c.execute(
            text(
                "INSERT INTO versions (id, model_id, version, kind, spec, artifacts, recipe, "
                "recipe_params, fingerprint, software, status, description, created_at) VALUES "
                "(1, 1, 1, 'simulator', '{}', '{}', 'r', '{}', 'f', '{}', 'ready', '', :t)"
            ),
            {"t": now},
        )
        c.execute(
            text(
                "INSERT INTO aliases (id, model_id, alias, version_id, updated_at) "
                "VALUES (1, 1, 'latest', 1, :t)"
            ),
            {"t": now},
        )
        c.execute(
            text(
                "INSERT INTO jobs (id, model, version, task, state, input, params, step, total, "
                "message, cancel_requested, created_at, updated_at) VALUES ('j1', 'old.model', "
                "1, 'relax', 'queued', '{}', '{}', 0, 0, '', false, :t, :t)"
            ),
            {"t": now},
        )
    engine.dispose()

    from hub.auth import keys, users
    from hub.auth.identity import Caller
    from hub.catalog import CatalogStore
    from hub.catalog.jobs import JobStore

    store = CatalogStore(db_url)  # upgrades in place
    try:
        assert current_revision(store.engine) == head_revision(store.engine)
        tables = set(inspect(store.engine).get_table_names())
        assert {"users", "groups", "group_members", "api_keys"} <= tables
        assert "owner" in {c["name"] for c in inspect(store.engine).get_columns("jobs")}
        assert store.resolve("old.model").version == 1
        assert store.get_model("old.model").description == "kept"
        anyone = Caller("zed", "k", frozenset({"read"}))
        assert store.list_models(caller=anyone)[1] == 0  # private stays private
        admin = Caller("root", "k", frozenset({"admin"}))
        assert store.list_models(caller=admin)[1] == 1
        jobs = JobStore(store)
        assert [j.id for j in jobs.list(caller=admin)] == ["j1"]
        assert jobs.list(caller=anyone) == []  # an old job has no owner: admins only
        users.create_user(store, "root")
        _, token = keys.create_key(store, "root", "admin")
        CREATED_KEYS.append(token)
        assert keys.verify_token(store, token).is_admin
    finally:
        store.close()
