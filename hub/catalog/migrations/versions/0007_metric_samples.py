"""Old rows whose ``n`` was a sample size: ``n`` is the number of splits, ``n_samples`` the
held-out samples behind the figure (revision 0005). Two recipes wrote a sample size into ``n``
before that: the QM9 models of recipe revision 1 (``physics.qm9-*@1``: the test, validation and
learning-curve sizes) and the copper NNP (``physics.nnp-*``: test structures, MD atoms). Their
rows move the number to ``n_samples`` (one split: ``n`` left empty), so cards stop calling a
test set of 13,000 molecules "13,000 splits". Rows of every other recipe are left as they are.

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

# The versions whose metrics wrote a sample size into n (LIKE patterns on versions.recipe).
SAMPLE_SIZE_RECIPES = ("physics.qm9-%@1", "physics.nnp-%")


def _old_rows() -> sa.sql.ClauseElement:
    versions = sa.table("versions", sa.column("id"), sa.column("recipe"))
    metrics = sa.table("metrics", sa.column("version_id"), sa.column("n"), sa.column("n_samples"))
    of_recipes = sa.select(versions.c.id).where(
        sa.or_(*(versions.c.recipe.like(p) for p in SAMPLE_SIZE_RECIPES))
    )
    return (
        sa.update(metrics)
        .where(
            metrics.c.n_samples.is_(None),
            metrics.c.n.is_not(None),
            metrics.c.version_id.in_(of_recipes),
        )
        .values(n_samples=metrics.c.n, n=None)
    )


def upgrade() -> None:
    op.execute(_old_rows())


def downgrade() -> None:
    pass  # the moved numbers are where they belong; nothing to undo
