"""My cart: view it priced now, add items, change quantities, remove items."""
from __future__ import annotations

import uuid

from flask.views import MethodView
from servicekit.api import Blueprint
from servicekit.db import request_session
from servicekit.tokens import current_principal

from marketplace import cart
from marketplace.schemas import CartItemAddSchema, CartItemUpdateSchema, CartSchema

blp = Blueprint("cart", __name__, description="The buyer's cart")


@blp.route("/cart")
class Cart(MethodView):
    @blp.login_required
    @blp.response(200, CartSchema)
    def get(self):
        """My cart: each line priced now with its availability, and what checking out would cost per currency"""
        return cart.view_cart(request_session(), current_principal().user_id)


@blp.route("/cart/items")
class CartItems(MethodView):
    @blp.login_required
    @blp.arguments(CartItemAddSchema)
    @blp.response(200, CartSchema, description="My cart, with the item added (or its quantity grown)")
    @blp.alt_response(403, description="My own item, a seller who blocks me or whom I block, or I am banned")
    @blp.alt_response(404, description="No such item (or removed, or its seller banned)")
    @blp.alt_response(409, description="Fewer units available than my cart would then want")
    def post(self, body):
        """Put an item in my cart (more of it, if it is there already)"""
        return cart.add_to_cart(request_session(), current_principal().user_id, body["item_id"], body["quantity"])


@blp.route("/cart/items/<uuid:item_id>")
class CartItem(MethodView):
    @blp.login_required
    @blp.arguments(CartItemUpdateSchema)
    @blp.response(200, CartSchema, description="My cart, with the new quantity")
    @blp.alt_response(403, description="My own item, a seller who blocks me or whom I block, or I am banned")
    @blp.alt_response(404, description="Not in my cart (or the item is removed, or its seller banned)")
    @blp.alt_response(409, description="Fewer units available than wanted")
    def patch(self, body, item_id: uuid.UUID):
        """Change how many units of an item in my cart I want"""
        return cart.change_quantity(request_session(), current_principal().user_id, item_id, body["quantity"])

    @blp.login_required
    @blp.response(204)
    @blp.alt_response(404, description="Not in my cart")
    def delete(self, item_id: uuid.UUID):
        """Take an item out of my cart"""
        cart.remove_from_cart(request_session(), current_principal().user_id, item_id)
