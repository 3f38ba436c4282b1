"""Orders: mine as a buyer (list, view, pay, cancel), and the lines of my items in others' orders."""
from __future__ import annotations

import uuid

from flask.views import MethodView
from servicekit.api import Blueprint
from servicekit.context import service_resource
from servicekit.db import request_session
from servicekit.pagination import PageArgs, page_of
from servicekit.tokens import current_principal

from marketplace import checkout, orders, sales
from marketplace.api.checkout import answered
from marketplace.schemas import IdempotencyHeaders, OrderSchema, PaySchema, SoldLineQuery, SoldLineSchema

blp = Blueprint("orders", __name__, description="Orders")


@blp.route("/orders")
class Orders(MethodView):
    @blp.login_required
    @blp.arguments(PageArgs, location="query")
    @blp.response(200, page_of(OrderSchema))
    def get(self, query):
        """My orders as a buyer, newest first, with their lines, payments and statuses"""
        return orders.list_orders(request_session(), current_principal().user_id, **query)


@blp.route("/orders/sold")
class SoldLines(MethodView):
    @blp.login_required
    @blp.arguments(SoldLineQuery, location="query")
    @blp.response(200, page_of(SoldLineSchema))
    def get(self, query):
        """The lines of my items in buyers' orders, newest first, with each order's status and buyer"""
        return sales.sold_lines(request_session(), current_principal().user_id, **query)


@blp.route("/orders/<uuid:order_id>")
class OneOrder(MethodView):
    @blp.login_required
    @blp.response(200, OrderSchema)
    @blp.alt_response(404, description="No such order of mine")
    def get(self, order_id: uuid.UUID):
        """One of my orders"""
        return orders.buyer_order(request_session(), current_principal().user_id, order_id)


@blp.route("/orders/<uuid:order_id>/pay")
class PayOrder(MethodView):
    @blp.login_required
    @blp.arguments(PaySchema)
    @blp.arguments(IdempotencyHeaders, location="headers")
    @blp.response(200, OrderSchema, description="The order, paid")
    @blp.alt_response(402, description="The payment failed (declined, insufficient funds, provider timeout or "
                                       "error: the problem's type says which); the order stays pending")
    @blp.alt_response(403, description="I am banned, or a seller of the order and I now block each other")
    @blp.alt_response(404, description="No such order of mine")
    @blp.alt_response(409, description="The order is not pending, its reservation expired (released now), "
                                       "or an item of it is no longer for sale")
    @blp.alt_response(422, description="The card cannot be charged (number, expiry, CVC), a missing "
                                       "Idempotency-Key, or the key already used for another request")
    def post(self, body, headers, order_id: uuid.UUID):
        """Pay one of my pending orders by card (Idempotency-Key required: a retry with the same key gets the
        first answer and charges nothing)"""
        return answered(checkout.pay_order(request_session(), service_resource("payments"),
                                           current_principal().user_id, order_id, card_details=body["card"],
                                           idempotency_key=headers["idempotency_key"]))


@blp.route("/orders/<uuid:order_id>/cancel")
class CancelOrder(MethodView):
    @blp.login_required
    @blp.response(200, OrderSchema, description="The order, cancelled; its units are available again")
    @blp.alt_response(404, description="No such order of mine")
    @blp.alt_response(409, description="The order is not pending")
    def post(self, order_id: uuid.UUID):
        """Cancel one of my pending orders, releasing its reservation"""
        return orders.cancel_order(request_session(), current_principal().user_id, order_id)
