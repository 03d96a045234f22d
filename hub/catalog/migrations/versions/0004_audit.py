"""Audit trail (a hash-chained, append-only ``audit_log`` and its ``audit_head``) and per-user
quota overrides (``user_quotas``).

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)
ID = sa.BigInteger().with_variant(sa.Integer, "sqlite")


def upgrade() -> None:
    op.create_table(
        "audit_log",
        sa.Column("id", ID, primary_key=True, autoincrement=False),
        sa.Column("at", TS, nullable=False),
        sa.Column("username", sa.String(100), nullable=True),  # "user" is reserved in SQL
        sa.Column("key_id", sa.String(32), nullable=True),
        sa.Column("action", sa.String(100), nullable=False),
        sa.Column("model", sa.String(200), nullable=True),
        sa.Column("version", sa.Integer, nullable=True),
        sa.Column("target", sa.String(200), nullable=True),
        sa.Column("n_inputs", sa.Integer, nullable=False),
        sa.Column("inputs_sha256", sa.String(64), nullable=True),
        sa.Column("cost", sa.BigInteger, nullable=False),
        sa.Column("status", sa.Integer, nullable=False),
        sa.Column("error", sa.String(100), nullable=True),
        sa.Column("duration_us", sa.BigInteger, nullable=False),
        sa.Column("address", sa.String(100), nullable=True),
        sa.Column("request_id", sa.String(100), nullable=True),
        sa.Column("prev_sha256", sa.String(64), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
    )
    for column in ("at", "username", "action", "model"):
        op.create_index(f"ix_audit_log_{column}", "audit_log", [column])
    head = op.create_table(
        "audit_head",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("last_id", ID, nullable=False),
        sa.Column("last_sha256", sa.String(64), nullable=False),
    )
    op.bulk_insert(head, [{"id": 1, "last_id": 0, "last_sha256": "0" * 64}])
    op.create_table(
        "user_quotas",
        sa.Column("user", sa.String(100), primary_key=True),
        sa.Column("requests_per_minute", sa.Integer, nullable=True),
        sa.Column("items_per_day", sa.BigInteger, nullable=True),
        sa.Column("updated_at", TS, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("user_quotas")
    op.drop_table("audit_head")
    for column in ("at", "username", "action", "model"):
        op.drop_index(f"ix_audit_log_{column}", table_name="audit_log")
    op.drop_table("audit_log")
