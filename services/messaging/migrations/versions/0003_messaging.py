"""read models, conversations, messages, attachments, stream events

Revision ID: 0003
Revises: 0002

stream_events inserts are NOTIFY-ed (channel messaging_stream, payload: the row's id, user_id, type
and data as JSON) so that every stream process delivers them at once; a row is small (ids and counts).
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql
revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('blocks',
    sa.Column('blocker_id', sa.Uuid(), nullable=False),
    sa.Column('blocked_id', sa.Uuid(), nullable=False),
    sa.PrimaryKeyConstraint('blocker_id', 'blocked_id', name=op.f('pk_blocks'))
    )
    op.create_index(op.f('ix_blocks_blocked_id'), 'blocks', ['blocked_id'], unique=False)
    op.create_table('conversations',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('type', sa.String(length=8), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=True),
    sa.Column('owner_id', sa.Uuid(), nullable=True),
    sa.Column('pair_key', sa.String(length=73), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('last_message_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('deleted_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("(type = 'direct') = (pair_key IS NOT NULL)", name=op.f('ck_conversations_direct_has_pair')),
    sa.CheckConstraint("(type = 'group') = (owner_id IS NOT NULL AND name IS NOT NULL)", name=op.f('ck_conversations_group_has_owner')),
    sa.CheckConstraint("type IN ('direct', 'group')", name=op.f('ck_conversations_type')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_conversations'))
    )
    op.create_index('uq_conversations_pair', 'conversations', ['pair_key'], unique=True, postgresql_where=sa.text('pair_key IS NOT NULL'))
    op.create_table('friendships',
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('friend_id', sa.Uuid(), nullable=False),
    sa.PrimaryKeyConstraint('user_id', 'friend_id', name=op.f('pk_friendships'))
    )
    op.create_table('public_keys',
    sa.Column('fingerprint', sa.String(length=64), nullable=False),
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('purpose', sa.String(length=16), nullable=False),
    sa.Column('algorithm', sa.String(length=16), nullable=False),
    sa.Column('pem', sa.Text(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('deactivated_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('fingerprint', name=op.f('pk_public_keys'))
    )
    op.create_index('ix_public_keys_user', 'public_keys', ['user_id'], unique=False)
    op.create_index('uq_public_keys_active', 'public_keys', ['user_id', 'purpose'], unique=True, postgresql_where=sa.text('active'))
    op.create_table('stream_events',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=True), nullable=False),
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('type', sa.String(length=32), nullable=False),
    sa.Column('data', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_stream_events'))
    )
    op.create_index('ix_stream_events_user', 'stream_events', ['user_id', 'id'], unique=False)
    op.create_table('users',
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('username', sa.String(length=32), nullable=False),
    sa.Column('verified', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    sa.Column('banned', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    sa.PrimaryKeyConstraint('user_id', name=op.f('pk_users'))
    )
    op.create_table('attachments',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('conversation_id', sa.Uuid(), nullable=False),
    sa.Column('uploader_id', sa.Uuid(), nullable=False),
    sa.Column('encrypted_by_client', sa.Boolean(), nullable=False),
    sa.Column('content_type', sa.String(length=64), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('data', sa.LargeBinary(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['conversation_id'], ['conversations.id'], name=op.f('fk_attachments_conversation_id_conversations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_attachments'))
    )
    op.create_index(op.f('ix_attachments_conversation_id'), 'attachments', ['conversation_id'], unique=False)
    op.create_table('messages',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('seq', sa.BigInteger(), sa.Identity(always=True), nullable=False),
    sa.Column('conversation_id', sa.Uuid(), nullable=False),
    sa.Column('sender_id', sa.Uuid(), nullable=False),
    sa.Column('kind', sa.String(length=8), nullable=False),
    sa.Column('content', sa.LargeBinary(), nullable=True),
    sa.Column('content_salt', sa.LargeBinary(), nullable=True),
    sa.Column('content_sha256', sa.String(length=64), nullable=False),
    sa.Column('sender_key', sa.String(length=64), nullable=True),
    sa.Column('signature', sa.Text(), nullable=True),
    sa.Column('attachment_ids', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('removed_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("kind IN ('standard', 'e2e')", name=op.f('ck_messages_kind')),
    sa.ForeignKeyConstraint(['conversation_id'], ['conversations.id'], name=op.f('fk_messages_conversation_id_conversations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_messages')),
    sa.UniqueConstraint('seq', name=op.f('uq_messages_seq'))
    )
    op.create_index('ix_messages_conversation_seq', 'messages', ['conversation_id', 'seq'], unique=False)
    op.create_table('participants',
    sa.Column('conversation_id', sa.Uuid(), nullable=False),
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('role', sa.String(length=8), server_default='member', nullable=False),
    sa.Column('joined_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('last_read_seq', sa.BigInteger(), server_default=sa.text('0'), nullable=False),
    sa.ForeignKeyConstraint(['conversation_id'], ['conversations.id'], name=op.f('fk_participants_conversation_id_conversations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('conversation_id', 'user_id', name=op.f('pk_participants'))
    )
    op.create_index('ix_participants_user', 'participants', ['user_id', 'conversation_id'], unique=False)

    op.execute("""
        CREATE FUNCTION messaging_stream_notify() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM pg_notify('messaging_stream', json_build_object(
                'id', NEW.id, 'user_id', NEW.user_id, 'type', NEW.type, 'data', NEW.data)::text);
            RETURN NULL;
        END $$""")
    op.execute("""
        CREATE TRIGGER stream_events_notify AFTER INSERT ON stream_events
        FOR EACH ROW EXECUTE FUNCTION messaging_stream_notify()""")

def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS stream_events_notify ON stream_events")
    op.execute("DROP FUNCTION IF EXISTS messaging_stream_notify()")
    op.drop_index('ix_participants_user', table_name='participants')
    op.drop_table('participants')
    op.drop_index('ix_messages_conversation_seq', table_name='messages')
    op.drop_table('messages')
    op.drop_index(op.f('ix_attachments_conversation_id'), table_name='attachments')
    op.drop_table('attachments')
    op.drop_table('users')
    op.drop_index('ix_stream_events_user', table_name='stream_events')
    op.drop_table('stream_events')
    op.drop_index('uq_public_keys_active', table_name='public_keys', postgresql_where=sa.text('active'))
    op.drop_index('ix_public_keys_user', table_name='public_keys')
    op.drop_table('public_keys')
    op.drop_table('friendships')
    op.drop_index('uq_conversations_pair', table_name='conversations', postgresql_where=sa.text('pair_key IS NOT NULL'))
    op.drop_table('conversations')
    op.drop_index(op.f('ix_blocks_blocked_id'), table_name='blocks')
    op.drop_table('blocks')
