"""The marketplace service's resources: one flask-smorest Blueprint per resource."""
from __future__ import annotations

from marketplace.api import cart, categories, checkout, images, items, orders, sales

blueprints = [module.blp for module in (categories, items, images, cart, checkout, orders, sales)]
