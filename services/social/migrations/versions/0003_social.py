"""profiles, avatars, friends, blocks, notifications, reports, known messages and items

Revision ID: 0003
Revises: 0002

pg_trgm (a trusted extension: the database's owner may create it) gives the profile
search its trigram GIN index.
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql
revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    op.create_table('blocks',
    sa.Column('blocker_id', sa.Uuid(), nullable=False),
    sa.Column('blocked_id', sa.Uuid(), nullable=False),
    sa.Column('reason', sa.String(length=500), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint('blocker_id <> blocked_id', name=op.f('ck_blocks_not_self')),
    sa.PrimaryKeyConstraint('blocker_id', 'blocked_id', name=op.f('pk_blocks'))
    )
    op.create_index(op.f('ix_blocks_blocked_id'), 'blocks', ['blocked_id'], unique=False)
    op.create_index('ix_blocks_blocker_created', 'blocks', ['blocker_id', 'created_at', 'blocked_id'], unique=False)
    op.create_table('friend_requests',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('sender_id', sa.Uuid(), nullable=False),
    sa.Column('recipient_id', sa.Uuid(), nullable=False),
    sa.Column('status', sa.String(length=16), server_default='pending', nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("status IN ('pending', 'accepted', 'rejected', 'cancelled')", name=op.f('ck_friend_requests_status')),
    sa.CheckConstraint('sender_id <> recipient_id', name=op.f('ck_friend_requests_not_to_self')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_friend_requests'))
    )
    op.create_index('ix_friend_requests_recipient_open', 'friend_requests', ['recipient_id', 'created_at'], unique=False, postgresql_where=sa.text("status = 'pending'"))
    op.create_index('ix_friend_requests_sender_open', 'friend_requests', ['sender_id', 'created_at'], unique=False, postgresql_where=sa.text("status = 'pending'"))
    op.create_index('uq_friend_requests_open_pair', 'friend_requests', [sa.literal_column('least(sender_id, recipient_id)'), sa.literal_column('greatest(sender_id, recipient_id)')], unique=True, postgresql_where=sa.text("status = 'pending'"))
    op.create_table('friendships',
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('friend_id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint('user_id <> friend_id', name=op.f('ck_friendships_not_self')),
    sa.PrimaryKeyConstraint('user_id', 'friend_id', name=op.f('pk_friendships'))
    )
    op.create_index('ix_friendships_user_created', 'friendships', ['user_id', 'created_at', 'friend_id'], unique=False)
    op.create_table('known_items',
    sa.Column('item_id', sa.Uuid(), nullable=False),
    sa.Column('seller_id', sa.Uuid(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=True),
    sa.Column('listed_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('item_id', name=op.f('pk_known_items'))
    )
    op.create_table('known_messages',
    sa.Column('message_id', sa.Uuid(), nullable=False),
    sa.Column('conversation_id', sa.Uuid(), nullable=False),
    sa.Column('sender_id', sa.Uuid(), nullable=False),
    sa.Column('recipient_ids', sa.ARRAY(sa.Uuid()), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('message_id', name=op.f('pk_known_messages'))
    )
    op.create_table('notifications',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('kind', sa.String(length=48), nullable=False),
    sa.Column('source_id', sa.Uuid(), nullable=False),
    sa.Column('actor_id', sa.Uuid(), nullable=True),
    sa.Column('subject_type', sa.String(length=32), nullable=True),
    sa.Column('subject_id', sa.Uuid(), nullable=True),
    sa.Column('data', postgresql.JSONB(astext_type=sa.Text()), server_default=sa.text("'{}'::jsonb"), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('read_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('unread', sa.Integer(), sa.Computed('CASE WHEN read_at IS NULL THEN 1 ELSE 0 END', persisted=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notifications'))
    )
    op.create_index('ix_notifications_list', 'notifications', ['user_id', 'unread', 'created_at', 'id'], unique=False)
    op.create_index('ix_notifications_unread', 'notifications', ['user_id'], unique=False, postgresql_where=sa.text('read_at IS NULL'))
    op.create_index('uq_notifications_cause', 'notifications', ['user_id', 'kind', 'source_id'], unique=True)
    op.create_table('profiles',
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('username', sa.String(length=32), nullable=False),
    sa.Column('display_name', sa.String(length=64), nullable=True),
    sa.Column('bio', sa.String(length=500), nullable=True),
    sa.Column('avatar_id', sa.Uuid(), nullable=True),
    sa.Column('verified', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    sa.Column('banned', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    sa.Column('search_text', sa.Text(), sa.Computed("lower(username || ' ' || coalesce(display_name, ''))", persisted=True), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('user_id', name=op.f('pk_profiles'))
    )
    op.create_index('ix_profiles_search_text_trgm', 'profiles', ['search_text'], unique=False, postgresql_using='gin', postgresql_ops={'search_text': 'gin_trgm_ops'})
    op.create_index('uq_profiles_username_lower', 'profiles', [sa.literal_column('lower(username)')], unique=True)
    op.create_index('ix_profiles_username_prefix', 'profiles', [sa.literal_column('lower(username)')], unique=False,
                    postgresql_ops={'lower(username)': 'text_pattern_ops'})
    op.create_table('reports',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('reporter_id', sa.Uuid(), nullable=False),
    sa.Column('target_type', sa.String(length=16), nullable=False),
    sa.Column('target_id', sa.Uuid(), nullable=False),
    sa.Column('target_user_id', sa.Uuid(), nullable=False),
    sa.Column('reason', sa.String(length=1000), nullable=False),
    sa.Column('status', sa.String(length=16), server_default='open', nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('reviewer_id', sa.Uuid(), nullable=True),
    sa.Column('review_started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('action', sa.String(length=16), nullable=True),
    sa.Column('notes', sa.String(length=2000), nullable=True),
    sa.Column('duration_seconds', sa.Integer(), nullable=True),
    sa.Column('resolved_by', sa.Uuid(), nullable=True),
    sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("action IS NULL OR action IN ('dismiss', 'warn', 'suspend', 'ban', 'remove_content')", name=op.f('ck_reports_action')),
    sa.CheckConstraint("status IN ('open', 'in_review', 'resolved')", name=op.f('ck_reports_status')),
    sa.CheckConstraint("target_type IN ('user', 'message', 'item')", name=op.f('ck_reports_target_type')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reports'))
    )
    op.create_index('ix_reports_queue', 'reports', ['status', 'created_at', 'id'], unique=False)
    op.create_index(op.f('ix_reports_reporter_id'), 'reports', ['reporter_id'], unique=False)
    op.create_index(op.f('ix_reports_target_user_id'), 'reports', ['target_user_id'], unique=False)
    op.create_index('uq_reports_open_per_reporter_target', 'reports', ['reporter_id', 'target_type', 'target_id'], unique=True, postgresql_where=sa.text("status <> 'resolved'"))
    op.create_table('avatar_images',
    sa.Column('avatar_id', sa.Uuid(), nullable=False),
    sa.Column('size', sa.SmallInteger(), nullable=False),
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('content_type', sa.String(length=32), nullable=False),
    sa.Column('data', sa.LargeBinary(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['profiles.user_id'], name=op.f('fk_avatar_images_user_id_profiles'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('avatar_id', 'size', name=op.f('pk_avatar_images'))
    )
    op.create_index(op.f('ix_avatar_images_user_id'), 'avatar_images', ['user_id'], unique=False)
    op.create_table('report_screenshots',
    sa.Column('report_id', sa.Uuid(), nullable=False),
    sa.Column('content_type', sa.String(length=32), nullable=False),
    sa.Column('width', sa.Integer(), nullable=False),
    sa.Column('height', sa.Integer(), nullable=False),
    sa.Column('data', sa.LargeBinary(), nullable=False),
    sa.ForeignKeyConstraint(['report_id'], ['reports.id'], name=op.f('fk_report_screenshots_report_id_reports'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('report_id', name=op.f('pk_report_screenshots'))
    )


def downgrade() -> None:
    op.drop_table('report_screenshots')
    op.drop_index(op.f('ix_avatar_images_user_id'), table_name='avatar_images')
    op.drop_table('avatar_images')
    op.drop_index('uq_reports_open_per_reporter_target', table_name='reports', postgresql_where=sa.text("status <> 'resolved'"))
    op.drop_index(op.f('ix_reports_target_user_id'), table_name='reports')
    op.drop_index(op.f('ix_reports_reporter_id'), table_name='reports')
    op.drop_index('ix_reports_queue', table_name='reports')
    op.drop_table('reports')
    op.drop_index('ix_profiles_username_prefix', table_name='profiles')
    op.drop_index('uq_profiles_username_lower', table_name='profiles')
    op.drop_index('ix_profiles_search_text_trgm', table_name='profiles', postgresql_using='gin', postgresql_ops={'search_text': 'gin_trgm_ops'})
    op.drop_table('profiles')
    op.drop_index('uq_notifications_cause', table_name='notifications')
    op.drop_index('ix_notifications_unread', table_name='notifications', postgresql_where=sa.text('read_at IS NULL'))
    op.drop_index('ix_notifications_list', table_name='notifications')
    op.drop_table('notifications')
    op.drop_table('known_messages')
    op.drop_table('known_items')
    op.drop_index('ix_friendships_user_created', table_name='friendships')
    op.drop_table('friendships')
    op.drop_index('uq_friend_requests_open_pair', table_name='friend_requests', postgresql_where=sa.text("status = 'pending'"))
    op.drop_index('ix_friend_requests_sender_open', table_name='friend_requests', postgresql_where=sa.text("status = 'pending'"))
    op.drop_index('ix_friend_requests_recipient_open', table_name='friend_requests', postgresql_where=sa.text("status = 'pending'"))
    op.drop_table('friend_requests')
    op.drop_index('ix_blocks_blocker_created', table_name='blocks')
    op.drop_index(op.f('ix_blocks_blocked_id'), table_name='blocks')
    op.drop_table('blocks')
    # pg_trgm stays: other objects may use it, and dropping an extension needs more than this role may have
