"""Screens (bulk scoring on Dask, hub.screening): ``screens`` and their finished chunks.

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "screens",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("owner", sa.String(100), nullable=True),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("models", sa.JSON, nullable=False),
        sa.Column("input_sha256", sa.String(64), nullable=False),
        sa.Column("input_name", sa.String(200), nullable=False),
        sa.Column("input_format", sa.String(10), nullable=False),
        sa.Column("input_column", sa.String(100), nullable=False),
        sa.Column("input_type", sa.String(100), nullable=False),
        sa.Column("chunk_size", sa.Integer, nullable=False),
        sa.Column("rows", sa.Integer, nullable=False),
        sa.Column("unique", sa.Integer, nullable=False),
        sa.Column("phase", sa.String(20), nullable=False),
        sa.Column("step", sa.Integer, nullable=False),
        sa.Column("total", sa.Integer, nullable=False),
        sa.Column("message", sa.Text, nullable=False),
        sa.Column("error", sa.JSON, nullable=True),
        sa.Column("result_sha256", sa.String(64), nullable=True),
        sa.Column("driver", sa.String(100), nullable=True),
        sa.Column("cancel_requested", sa.Boolean, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("started_at", TS, nullable=True),
        sa.Column("finished_at", TS, nullable=True),
        sa.Column("updated_at", TS, nullable=False),
    )
    op.create_index("ix_screens_state", "screens", ["state"])
    op.create_index("ix_screens_owner", "screens", ["owner"])
    op.create_table(
        "screen_chunks",
        sa.Column("screen_id", sa.String(36), primary_key=True),
        sa.Column("phase", sa.String(20), primary_key=True),
        sa.Column("k", sa.Integer, primary_key=True),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("rows", sa.Integer, nullable=False),
        sa.Column("worker", sa.String(200), nullable=False),
        sa.Column("created_at", TS, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("screen_chunks")
    op.drop_table("screens")
