"""Checkout: my cart's lines in one currency become a pending order that holds their units."""
from __future__ import annotations

from flask import Response, jsonify
from flask.views import MethodView
from servicekit.api import Blueprint
from servicekit.context import service_settings
from servicekit.db import request_session
from servicekit.tokens import current_principal

from marketplace import checkout
from marketplace.schemas import CheckoutSchema, IdempotencyHeaders, OrderSchema
from marketplace.idempotency import Answer

blp = Blueprint("checkout", __name__, description="Checkout")


def answered(answer: Answer) -> Response:
    """An idempotent command's answer as it was first sent (already dumped by its schema)."""
    response = jsonify(answer.body)
    response.status_code = answer.status
    return response


@blp.route("/checkout")
class Checkout(MethodView):
    @blp.login_required
    @blp.arguments(CheckoutSchema)
    @blp.arguments(IdempotencyHeaders, location="headers")
    @blp.response(201, OrderSchema, description="The pending order; its units are reserved until reserved_until")
    @blp.alt_response(403, description="An item of mine, or of a seller who blocks me or whom I block, "
                                       "or I am banned (errors.items names the lines)")
    @blp.alt_response(409, description="My cart is empty, or an item is gone, short of units, or already in a "
                                       "pending order of mine (errors.items names the lines)")
    @blp.alt_response(422, description="Invalid address or currency, several currencies without `currency`, a "
                                       "missing Idempotency-Key, or the key already used for another request")
    def post(self, body, headers):
        """Check out my cart (Idempotency-Key required: a retry with the same key gets the first answer)"""
        return answered(checkout.check_out(
            request_session(), current_principal().user_id, shipping_address=body["shipping_address"],
            currency=body["currency"], reservation_seconds=service_settings().reservation_seconds,
            idempotency_key=headers["idempotency_key"]))
