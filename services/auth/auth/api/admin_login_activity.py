"""The staff's view of login activity."""
from __future__ import annotations

from flask.views import MethodView
from servicekit.api import Blueprint
from servicekit.db import request_session
from servicekit.pagination import page_of

from auth.login_activity import activity_stats, list_attempts
from auth.schemas import (LoginActivityPeriodSchema, LoginActivityQuerySchema, LoginActivityStatsSchema,
                          LoginAttemptSchema)

blp = Blueprint("admin_login_activity", __name__, description="Login activity for staff: every attempt, and statistics.")


@blp.route("/admin/login-activity")
class LoginActivity(MethodView):
    @blp.staff_required
    @blp.arguments(LoginActivityQuerySchema, location="query")
    @blp.response(200, page_of(LoginAttemptSchema))
    def get(self, query):
        """Login attempts, newest first, filtered by username, IP, time range (from, to) and success"""
        return list_attempts(request_session(), **query)


@blp.route("/admin/login-activity/stats")
class LoginActivityStats(MethodView):
    @blp.staff_required
    @blp.arguments(LoginActivityPeriodSchema, location="query")
    @blp.response(200, LoginActivityStatsSchema)
    def get(self, query):
        """Totals, successes and failures, unique users and IPs, the most failed usernames and IPs, recent failures"""
        return activity_stats(request_session(), **query)
