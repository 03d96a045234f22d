"""Metric provenance: ``source`` ("hub": measured by the hub; "publisher": declared by whoever
published the model) and ``n_samples`` (held-out samples behind the figure; ``n`` stays the number
of splits). Rows written before this revision read as measured by the hub.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("metrics") as batch:
        batch.add_column(sa.Column("source", sa.String(20), nullable=False, server_default="hub"))
        batch.add_column(sa.Column("n_samples", sa.Integer, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("metrics") as batch:
        batch.drop_column("n_samples")
        batch.drop_column("source")
