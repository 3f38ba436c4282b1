"""marketplace: read models (users, blocks), categories, items (full-text search vector), images, carts, orders,
order lines, payments, idempotent requests

Revision ID: 0003
Revises: 0002
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
    op.create_table('categories',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('parent_id', sa.Uuid(), nullable=True),
    sa.Column('name', sa.String(length=80), nullable=False),
    sa.Column('slug', sa.String(length=80), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['parent_id'], ['categories.id'], name=op.f('fk_categories_parent_id_categories'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_categories')),
    sa.UniqueConstraint('slug', name=op.f('uq_categories_slug'))
    )
    op.create_index(op.f('ix_categories_parent_id'), 'categories', ['parent_id'], unique=False)
    op.create_table('idempotent_requests',
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('operation', sa.String(length=64), nullable=False),
    sa.Column('key', sa.String(length=255), nullable=False),
    sa.Column('request_hash', sa.String(length=64), nullable=False),
    sa.Column('status_code', sa.SmallInteger(), nullable=False),
    sa.Column('response', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('user_id', 'operation', 'key', name=op.f('pk_idempotent_requests'))
    )
    op.create_table('orders',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('buyer_id', sa.Uuid(), nullable=False),
    sa.Column('status', sa.String(length=16), server_default='pending', nullable=False),
    sa.Column('total_minor', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('shipping_address', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('reserved_until', sa.DateTime(timezone=True), nullable=False),
    sa.Column('failure_reason', sa.String(length=200), nullable=True),
    sa.Column('placed_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('paid_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("status IN ('pending', 'paid', 'cancelled', 'expired')", name=op.f('ck_orders_status')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_orders'))
    )
    op.create_index('ix_orders_buyer', 'orders', ['buyer_id', 'placed_at'], unique=False)
    op.create_index('ix_orders_pending_expiry', 'orders', ['reserved_until'], unique=False, postgresql_where=sa.text("status = 'pending'"))
    op.create_table('users',
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('username', sa.String(length=32), nullable=False),
    sa.Column('verified', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    sa.Column('banned', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    sa.PrimaryKeyConstraint('user_id', name=op.f('pk_users'))
    )
    op.create_table('items',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('seller_id', sa.Uuid(), nullable=False),
    sa.Column('category_id', sa.Uuid(), nullable=False),
    sa.Column('title', sa.String(length=120), nullable=False),
    sa.Column('description', sa.String(length=5000), server_default='', nullable=False),
    sa.Column('price_minor', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('condition', sa.String(length=16), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('reserved', sa.Integer(), server_default=sa.text('0'), nullable=False),
    sa.Column('status', sa.String(length=16), server_default='available', nullable=False),
    sa.Column('search', postgresql.TSVECTOR(), sa.Computed("setweight(to_tsvector('english', title), 'A') || setweight(to_tsvector('english', description), 'B')", persisted=True), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('removed_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("condition IN ('new', 'like_new', 'good', 'fair', 'poor')", name=op.f('ck_items_condition')),
    sa.CheckConstraint("status IN ('available', 'reserved', 'sold', 'removed')", name=op.f('ck_items_status')),
    sa.CheckConstraint('price_minor >= 0', name=op.f('ck_items_price_not_negative')),
    sa.CheckConstraint('quantity >= 0 AND reserved >= 0 AND reserved <= quantity', name=op.f('ck_items_stock')),
    sa.ForeignKeyConstraint(['category_id'], ['categories.id'], name=op.f('fk_items_category_id_categories'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_items'))
    )
    op.create_index('ix_items_category', 'items', ['category_id'], unique=False)
    op.create_index('ix_items_listed_newest', 'items', ['created_at', 'id'], unique=False, postgresql_where=sa.text("status <> 'removed'"))
    op.create_index('ix_items_listed_price', 'items', ['price_minor', 'id'], unique=False, postgresql_where=sa.text("status <> 'removed'"))
    op.create_index('ix_items_search', 'items', ['search'], unique=False, postgresql_using='gin')
    op.create_index('ix_items_seller', 'items', ['seller_id', 'created_at'], unique=False)
    op.create_table('payments',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('order_id', sa.Uuid(), nullable=False),
    sa.Column('outcome', sa.String(length=24), nullable=False),
    sa.Column('amount_minor', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('card_brand', sa.String(length=16), nullable=False),
    sa.Column('card_last4', sa.String(length=4), nullable=False),
    sa.Column('provider_reference', sa.String(length=64), nullable=True),
    sa.Column('reason', sa.String(length=200), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("outcome IN ('succeeded', 'declined', 'insufficient_funds', 'timeout', 'error')", name=op.f('ck_payments_outcome')),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_payments_order_id_orders'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payments'))
    )
    op.create_index(op.f('ix_payments_order_id'), 'payments', ['order_id'], unique=False)
    op.create_table('cart_lines',
    sa.Column('buyer_id', sa.Uuid(), nullable=False),
    sa.Column('item_id', sa.Uuid(), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('added_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint('quantity >= 1', name=op.f('ck_cart_lines_quantity_positive')),
    sa.ForeignKeyConstraint(['item_id'], ['items.id'], name=op.f('fk_cart_lines_item_id_items'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('buyer_id', 'item_id', name=op.f('pk_cart_lines'))
    )
    op.create_table('item_images',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('item_id', sa.Uuid(), nullable=False),
    sa.Column('position', sa.SmallInteger(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['item_id'], ['items.id'], name=op.f('fk_item_images_item_id_items'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_item_images')),
    sa.UniqueConstraint('item_id', 'position', deferrable=True, initially='DEFERRED', name='uq_item_images_position')
    )
    op.create_table('order_lines',
    sa.Column('order_id', sa.Uuid(), nullable=False),
    sa.Column('item_id', sa.Uuid(), nullable=False),
    sa.Column('seller_id', sa.Uuid(), nullable=False),
    sa.Column('title', sa.String(length=120), nullable=False),
    sa.Column('unit_price_minor', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.CheckConstraint('quantity >= 1', name=op.f('ck_order_lines_quantity_positive')),
    sa.ForeignKeyConstraint(['item_id'], ['items.id'], name=op.f('fk_order_lines_item_id_items'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_order_lines_order_id_orders'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('order_id', 'item_id', name=op.f('pk_order_lines'))
    )
    op.create_index(op.f('ix_order_lines_seller_id'), 'order_lines', ['seller_id'], unique=False)
    op.create_table('image_renditions',
    sa.Column('image_id', sa.Uuid(), nullable=False),
    sa.Column('size', sa.SmallInteger(), nullable=False),
    sa.Column('content_type', sa.String(length=32), nullable=False),
    sa.Column('data', sa.LargeBinary(), nullable=False),
    sa.ForeignKeyConstraint(['image_id'], ['item_images.id'], name=op.f('fk_image_renditions_image_id_item_images'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('image_id', 'size', name=op.f('pk_image_renditions'))
    )


def downgrade() -> None:
    op.drop_table('image_renditions')
    op.drop_index(op.f('ix_order_lines_seller_id'), table_name='order_lines')
    op.drop_table('order_lines')
    op.drop_table('item_images')
    op.drop_table('cart_lines')
    op.drop_index(op.f('ix_payments_order_id'), table_name='payments')
    op.drop_table('payments')
    op.drop_index('ix_items_seller', table_name='items')
    op.drop_index('ix_items_search', table_name='items', postgresql_using='gin')
    op.drop_index('ix_items_listed_price', table_name='items', postgresql_where=sa.text("status <> 'removed'"))
    op.drop_index('ix_items_listed_newest', table_name='items', postgresql_where=sa.text("status <> 'removed'"))
    op.drop_index('ix_items_category', table_name='items')
    op.drop_table('items')
    op.drop_table('users')
    op.drop_index('ix_orders_pending_expiry', table_name='orders', postgresql_where=sa.text("status = 'pending'"))
    op.drop_index('ix_orders_buyer', table_name='orders')
    op.drop_table('orders')
    op.drop_table('idempotent_requests')
    op.drop_index(op.f('ix_categories_parent_id'), table_name='categories')
    op.drop_table('categories')
    op.drop_index(op.f('ix_blocks_blocked_id'), table_name='blocks')
    op.drop_table('blocks')
