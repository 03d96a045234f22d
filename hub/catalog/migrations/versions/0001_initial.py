"""The catalog: models, tags, versions, metrics, aliases.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "models",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("domain", sa.String(100), nullable=False),
        sa.Column("task", sa.String(100), nullable=False),
        sa.Column("title", sa.String(300), nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("input_type", sa.String(100), nullable=False),
        sa.Column("outputs", sa.JSON, nullable=False),
        sa.Column("owner", sa.String(200), nullable=False),
        sa.Column("visibility", sa.String(20), nullable=False),
        sa.Column("default_alias", sa.String(100), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
    )
    op.create_index("ix_models_name", "models", ["name"], unique=True)
    op.create_index("ix_models_domain", "models", ["domain"])
    op.create_index("ix_models_task", "models", ["task"])
    op.create_table(
        "model_tags",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "model_id", sa.Integer, sa.ForeignKey("models.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("tag", sa.String(100), nullable=False),
        sa.UniqueConstraint("model_id", "tag"),
    )
    op.create_index("ix_model_tags_model_id", "model_tags", ["model_id"])
    op.create_index("ix_model_tags_tag", "model_tags", ["tag"])
    op.create_table(
        "versions",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "model_id", sa.Integer, sa.ForeignKey("models.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("kind", sa.String(100), nullable=False),
        sa.Column("spec", sa.JSON, nullable=False),
        sa.Column("artifacts", sa.JSON, nullable=False),
        sa.Column("recipe", sa.String(200), nullable=False),
        sa.Column("recipe_params", sa.JSON, nullable=False),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("dataset", sa.JSON, nullable=True),
        sa.Column("software", sa.JSON, nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.UniqueConstraint("model_id", "version"),
    )
    op.create_index("ix_versions_model_id", "versions", ["model_id"])
    op.create_index("ix_versions_fingerprint", "versions", ["fingerprint"])
    op.create_table(
        "metrics",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "version_id",
            sa.Integer,
            sa.ForeignKey("versions.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("split", sa.String(100), nullable=False),
        sa.Column("value", sa.Float, nullable=False),
        sa.Column("std", sa.Float, nullable=True),
        sa.Column("n", sa.Integer, nullable=True),
    )
    op.create_index("ix_metrics_version_id", "metrics", ["version_id"])
    op.create_table(
        "aliases",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "model_id", sa.Integer, sa.ForeignKey("models.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("alias", sa.String(100), nullable=False),
        sa.Column(
            "version_id",
            sa.Integer,
            sa.ForeignKey("versions.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("updated_at", TS, nullable=False),
        sa.UniqueConstraint("model_id", "alias"),
    )
    op.create_index("ix_aliases_model_id", "aliases", ["model_id"])


def downgrade() -> None:
    for table in ("aliases", "metrics", "versions", "model_tags", "models"):
        op.drop_table(table)
