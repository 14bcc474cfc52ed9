"""Indexes the shop's hot queries need: the photo's own hash, retired products, listing by name and by date.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27
"""
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("products") as batch:
        batch.create_index(batch.f("ix_products_image_sha256"), ["image_sha256"])
        batch.create_index(batch.f("ix_products_retired_at"), ["retired_at"])
        batch.create_index(batch.f("ix_products_name"), ["name"])
        batch.create_index(batch.f("ix_products_created_at"), ["created_at"])


def downgrade() -> None:
    with op.batch_alter_table("products") as batch:
        for column in ("created_at", "name", "retired_at", "image_sha256"):
            batch.drop_index(batch.f(f"ix_products_{column}"))
