"""The staff's view of login activity."""
from __future__ import annotations

from servicekit.api import Blueprint
from servicekit.db import request_session
from servicekit.pagination import page_of

from auth.login_activity import activity_stats, list_attempts
from auth.schemas import (LoginActivityPeriodSchema, LoginActivityQuerySchema, LoginActivityStatsSchema,
                          LoginAttemptSchema)

blp = Blueprint("admin_login_activity", __name__, description="Login activity for staff: every attempt, and statistics.")


@blp.get("/admin/login-activity")
@blp.staff_required
@blp.arguments(LoginActivityQuerySchema, location="query")
@blp.response(200, page_of(LoginAttemptSchema))
def login_activity(query):
    """Login attempts, newest first, filtered by username, IP, time range (from, to) and success"""
    return list_attempts(request_session(), **query)


@blp.get("/admin/login-activity/stats")
@blp.staff_required
@blp.arguments(LoginActivityPeriodSchema, location="query")
@blp.response(200, LoginActivityStatsSchema)
def login_activity_stats(query):
    """Totals, successes and failures, unique users and IPs, the most failed usernames and IPs, recent failures"""
    return activity_stats(request_session(), **query)
