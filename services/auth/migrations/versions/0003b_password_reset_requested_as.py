"""password_resets.requested_as: the username or email typed at the start of a reset

Revision ID: 0003b
Revises: 0002
"""
import sqlalchemy as sa
from alembic import op

revision = "0003b"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("password_resets", sa.Column("requested_as", sa.String(length=254), nullable=True))


def downgrade() -> None:
    op.drop_column("password_resets", "requested_as")
