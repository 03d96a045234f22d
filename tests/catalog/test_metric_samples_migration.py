"""Revision 0007: the QM9 (recipe revision 1) and NNP rows that wrote a sample size into ``n``
read it as ``n_samples`` after the upgrade; other recipes' rows (``n`` a split count) are left
as they were. SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import create_engine, text

from hub.catalog import CatalogStore
from hub.catalog.migrate import upgrade

# (version id, model name, recipe, metric name, split, n before the upgrade)
ROWS = (
    (2001, "physics.qm9-gap", "physics.qm9-gap@1", "mae", "test", 13083),
    (2002, "physics.nnp-cu", "physics.nnp-cu@1", "nve_drift_mev_per_atom", "md", 108),
    (2003, "chemistry.solubility", "chemistry.solubility@4", "rmse", "random", 5),
    (2004, "physics.qm9-dipole", "physics.qm9-dipole@2", "mae", "test", 1),
)


def test_sample_sizes_move_out_of_the_split_count(db_url: str) -> None:
    engine = create_engine(db_url)
    upgrade(engine, "0006")
    now = datetime.now(UTC)
    with engine.begin() as c:
        for vid, name, recipe, metric, split, n in ROWS:
            c.execute(
                text(
                    "INSERT INTO models (id, name, domain, task, title, description, "
                    "input_type, outputs, owner, visibility, default_alias, created_at, "
                    "updated_at) VALUES (:id, :name, 'd', 'property-regression', 'T', '', "
                    "'smiles', '[]', 'hub', 'public', 'latest', :t, :t)"
                ),
                {"id": vid, "name": name, "t": now},
            )
            c.execute(
                text(
                    "INSERT INTO versions (id, model_id, version, kind, spec, artifacts, recipe, "
                    "recipe_params, fingerprint, software, status, description, created_at) "
                    "VALUES (:id, :id, 1, 'keras', '{}', '{}', :recipe, '{}', 'f', '{}', "
                    "'ready', '', :t)"
                ),
                {"id": vid, "recipe": recipe, "t": now},
            )
            c.execute(
                text(
                    "INSERT INTO metrics (id, version_id, name, split, value, n) "
                    "VALUES (:id, :id, :metric, :split, 0.5, :n)"
                ),
                {"id": vid, "metric": metric, "split": split, "n": n},
            )
    engine.dispose()

    store = CatalogStore(db_url)  # upgrades in place
    try:
        got = {
            name: (m.n, m.n_samples)
            for _, name, *_ in ROWS
            for m in store.get_version(name, 1).metrics
        }
    finally:
        store.close()
    assert got == {
        "physics.qm9-gap": (None, 13083),  # revision 1: a test-set size
        "physics.nnp-cu": (None, 108),  # atoms in the MD cell
        "chemistry.solubility": (5, None),  # five random splits: unchanged
        "physics.qm9-dipole": (1, None),  # revision 2 already wrote n_samples: unchanged
    }
