"""servicekit 0.2: NOTIFY on revoked_sessions inserts (every API process keeps the denylist in memory)

Revision ID: 0002
Revises: 0001
"""
from servicekit.migrations import create_revocation_notify_v2, drop_revocation_notify_v2

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_revocation_notify_v2()


def downgrade() -> None:
    drop_revocation_notify_v2()
