"""servicekit tables: outbox, inbox, revoked_sessions

Revision ID: 0001
Revises:
"""
from servicekit.migrations import create_servicekit_tables_v1, drop_servicekit_tables_v1

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_servicekit_tables_v1()


def downgrade() -> None:
    drop_servicekit_tables_v1()
