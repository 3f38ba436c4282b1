"""spent_key_challenges: key-registration challenges already used (each works once)

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
    op.create_table(
        "spent_key_challenges",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_spent_key_challenges")),
    )
    op.create_index(op.f("ix_spent_key_challenges_expires_at"), "spent_key_challenges", ["expires_at"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_spent_key_challenges_expires_at"), table_name="spent_key_challenges")
    op.drop_table("spent_key_challenges")
