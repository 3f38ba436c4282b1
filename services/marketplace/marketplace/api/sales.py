"""My sales figures as a seller."""
from __future__ import annotations

from flask.views import MethodView
from servicekit.api import Blueprint
from servicekit.db import request_session
from servicekit.tokens import current_principal

from marketplace import sales
from marketplace.schemas import SalesSchema

blp = Blueprint("sales", __name__, description="Sales figures")


@blp.route("/sales")
class Sales(MethodView):
    @blp.login_required
    @blp.response(200, SalesSchema)
    def get(self):
        """My sales from paid orders: revenue per currency, units, unique buyers, by month and by item"""
        return sales.sales_figures(request_session(), current_principal().user_id)
