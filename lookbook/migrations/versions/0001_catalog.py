"""Catalog: products and product vectors.

Revision ID: 0001
Revises:
Create Date: 2026-11-27
"""
import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "products",
        sa.Column("id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("category", sa.String(120), nullable=True),
        sa.Column("gender", sa.String(40), nullable=True),
        sa.Column("colour", sa.String(60), nullable=True),
        sa.Column("labels", sa.JSON(), nullable=False),
        sa.Column("predicted_labels", sa.JSON(), nullable=False),
        sa.Column("price_minor", sa.BigInteger(), nullable=True),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("stock", sa.Integer(), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("image_key", sa.String(300), nullable=True),
        sa.Column("image_sha256", sa.String(64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_products")),
    )
    for column in ("category", "gender", "colour"):
        op.create_index(op.f(f"ix_products_{column}"), "products", [column])
    op.create_table(
        "product_vectors",
        sa.Column("product_id", sa.BigInteger(), nullable=False),
        sa.Column("model_version", sa.String(80), nullable=False),
        sa.Column("image_sha256", sa.String(64), nullable=False),
        sa.Column("shape", sa.LargeBinary(), nullable=False),
        sa.Column("colour", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["product_id"], ["products.id"], ondelete="CASCADE",
            name=op.f("fk_product_vectors_product_id_products"),
        ),
        sa.PrimaryKeyConstraint("product_id", name=op.f("pk_product_vectors")),
    )
    op.create_index(op.f("ix_product_vectors_model_version"), "product_vectors", ["model_version"])


def downgrade() -> None:
    op.drop_table("product_vectors")
    op.drop_table("products")
