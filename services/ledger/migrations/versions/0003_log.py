"""the log: pending entries, entries, tiles, blocks, the log's and the audit's state, removals, statistics

Revision ID: 0003
Revises: 0002

The log's state and the audit's state are one row each, created here for the empty log.
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql
revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('audit_state',
    sa.Column('id', sa.SmallInteger(), nullable=False),
    sa.Column('audited_size', sa.BigInteger(), nullable=False),
    sa.Column('audited_height', sa.BigInteger(), nullable=False),
    sa.Column('last_block_hash', sa.LargeBinary(), nullable=True),
    sa.Column('edge', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('status', sa.String(length=8), nullable=False),
    sa.Column('failure', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.Column('checked_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("status IN ('ok', 'failed')", name=op.f('ck_audit_state_status')),
    sa.CheckConstraint('id = 1', name=op.f('ck_audit_state_one_row')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_state'))
    )
    op.create_table('blocks',
    sa.Column('height', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('previous_hash', sa.LargeBinary(), nullable=False),
    sa.Column('first_leaf_index', sa.BigInteger(), nullable=False),
    sa.Column('leaf_count', sa.Integer(), nullable=False),
    sa.Column('tree_size', sa.BigInteger(), nullable=False),
    sa.Column('root', sa.LargeBinary(), nullable=False),
    sa.Column('timestamp', sa.DateTime(timezone=True), nullable=False),
    sa.Column('difficulty', sa.SmallInteger(), nullable=False),
    sa.Column('nonce', sa.BigInteger(), nullable=False),
    sa.Column('hash', sa.LargeBinary(), nullable=False),
    sa.Column('signature', sa.LargeBinary(), nullable=False),
    sa.Column('checkpoint', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('height', name=op.f('pk_blocks')),
    sa.UniqueConstraint('first_leaf_index', name=op.f('uq_blocks_first_leaf_index')),
    sa.UniqueConstraint('tree_size', name=op.f('uq_blocks_tree_size'))
    )
    op.create_table('conversation_stats',
    sa.Column('conversation_id', sa.Uuid(), nullable=False),
    sa.Column('message_count', sa.BigInteger(), nullable=False),
    sa.Column('block_count', sa.BigInteger(), nullable=False),
    sa.Column('first_block', sa.BigInteger(), nullable=False),
    sa.Column('last_block', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('conversation_id', name=op.f('pk_conversation_stats'))
    )
    op.create_table('entries',
    sa.Column('leaf_index', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('source', sa.String(length=80), nullable=False),
    sa.Column('kind', sa.SmallInteger(), nullable=False),
    sa.Column('leaf', sa.LargeBinary(), nullable=False),
    sa.Column('leaf_hash', sa.LargeBinary(), nullable=False),
    sa.Column('message_id', sa.Uuid(), nullable=True),
    sa.Column('conversation_id', sa.Uuid(), nullable=True),
    sa.Column('user_id', sa.Uuid(), nullable=True),
    sa.Column('fingerprint', sa.String(length=64), nullable=True),
    sa.Column('logged_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('leaf_index', name=op.f('pk_entries')),
    sa.UniqueConstraint('source', name=op.f('uq_entries_source'))
    )
    op.create_index('ix_entries_fingerprint', 'entries', ['fingerprint', 'kind'], unique=False, postgresql_where=sa.text('fingerprint IS NOT NULL'))
    op.create_index('ix_entries_message_id', 'entries', ['message_id'], unique=True, postgresql_where=sa.text('message_id IS NOT NULL'))
    op.create_index('ix_entries_user_keys', 'entries', ['user_id', 'leaf_index'], unique=False, postgresql_where=sa.text('kind IN (2, 3)'))
    op.create_table('log_state',
    sa.Column('id', sa.SmallInteger(), nullable=False),
    sa.Column('tree_size', sa.BigInteger(), nullable=False),
    sa.Column('sealed_size', sa.BigInteger(), nullable=False),
    sa.Column('height', sa.BigInteger(), nullable=False),
    sa.CheckConstraint('id = 1', name=op.f('ck_log_state_one_row')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_log_state'))
    )
    op.create_table('pending_entries',
    sa.Column('id', sa.BigInteger(), autoincrement=True, nullable=False),
    sa.Column('source', sa.String(length=80), nullable=False),
    sa.Column('kind', sa.SmallInteger(), nullable=False),
    sa.Column('leaf', sa.LargeBinary(), nullable=False),
    sa.Column('message_id', sa.Uuid(), nullable=True),
    sa.Column('conversation_id', sa.Uuid(), nullable=True),
    sa.Column('user_id', sa.Uuid(), nullable=True),
    sa.Column('fingerprint', sa.String(length=64), nullable=True),
    sa.Column('received_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_pending_entries')),
    sa.UniqueConstraint('source', name=op.f('uq_pending_entries_source'))
    )
    op.create_table('removed_messages',
    sa.Column('message_id', sa.Uuid(), nullable=False),
    sa.Column('removed_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('message_id', name=op.f('pk_removed_messages'))
    )
    op.create_table('tiles',
    sa.Column('level', sa.SmallInteger(), nullable=False),
    sa.Column('idx', sa.BigInteger(), nullable=False),
    sa.Column('hashes', sa.LargeBinary(), nullable=False),
    sa.PrimaryKeyConstraint('level', 'idx', name=op.f('pk_tiles'))
    )
    op.execute("INSERT INTO log_state (id, tree_size, sealed_size, height) VALUES (1, 0, 0, 0)")
    op.execute("INSERT INTO audit_state (id, audited_size, audited_height, edge, status) VALUES (1, 0, 0, '{}', 'ok')")


def downgrade() -> None:
    op.drop_table('tiles')
    op.drop_table('removed_messages')
    op.drop_table('pending_entries')
    op.drop_table('log_state')
    op.drop_index('ix_entries_user_keys', table_name='entries', postgresql_where=sa.text('kind IN (2, 3)'))
    op.drop_index('ix_entries_message_id', table_name='entries', postgresql_where=sa.text('message_id IS NOT NULL'))
    op.drop_index('ix_entries_fingerprint', table_name='entries', postgresql_where=sa.text('fingerprint IS NOT NULL'))
    op.drop_table('entries')
    op.drop_table('conversation_stats')
    op.drop_table('blocks')
    op.drop_table('audit_state')
