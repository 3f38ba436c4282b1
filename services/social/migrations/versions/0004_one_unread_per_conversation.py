"""one unread message.received notification per user and conversation, counting its messages

Revision ID: 0004
Revises: 0003

Every message used to make a notification of its own. Now a conversation's unread one
gathers its messages (`data.count`; notifications.py). The notifications already there
are gathered the same way before the unique index can exist: of a user's unread ones
about a conversation the newest stays, counting them all, and the others go. Every
other message.received notification counts its one message.
"""
import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

# As in social.models (ONE_UNREAD_PER_SUBJECT): the rows the unique index holds.
UNREAD_PER_SUBJECT_WHERE = "read_at IS NULL AND kind IN ('message.received')"


def upgrade() -> None:
    op.execute("""
        WITH unread AS (
            SELECT id, row_number() OVER subject AS place, count(*) OVER subject AS gathered
            FROM notifications
            WHERE kind = 'message.received' AND read_at IS NULL AND subject_id IS NOT NULL
            WINDOW subject AS (PARTITION BY user_id, subject_id ORDER BY created_at DESC, id DESC
                               ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)
        ), kept AS (
            UPDATE notifications SET data = notifications.data || jsonb_build_object('count', unread.gathered)
            FROM unread WHERE notifications.id = unread.id AND unread.place = 1
        )
        DELETE FROM notifications USING unread WHERE notifications.id = unread.id AND unread.place > 1
    """)
    op.execute("""
        UPDATE notifications SET data = data || '{"count": 1}'::jsonb
        WHERE kind = 'message.received' AND subject_id IS NOT NULL AND read_at IS NOT NULL AND NOT data ? 'count'
    """)
    op.create_index('uq_notifications_unread_subject', 'notifications', ['user_id', 'kind', 'subject_id'],
                    unique=True, postgresql_where=sa.text(UNREAD_PER_SUBJECT_WHERE))


def downgrade() -> None:
    op.drop_index('uq_notifications_unread_subject', table_name='notifications',
                  postgresql_where=sa.text(UNREAD_PER_SUBJECT_WHERE))
