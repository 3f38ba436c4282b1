"""Notifications: the list (unread first), the unread count, marking read."""
from __future__ import annotations

import uuid

from flask.views import MethodView
from servicekit.api import Blueprint
from servicekit.db import request_session
from servicekit.pagination import page_of
from servicekit.tokens import current_principal

from social import notifications
from social.schemas import (MarkAllReadSchema, MarkedSchema, NotificationQuery, NotificationSchema,
                            UnreadCountSchema)

blp = Blueprint("notifications", __name__, description="Notifications")


@blp.route("/notifications")
class Notifications(MethodView):
    @blp.login_required
    @blp.arguments(NotificationQuery, location="query")
    @blp.response(200, page_of(NotificationSchema))
    def get(self, query):
        """My notifications: unread first, then the newest first"""
        return notifications.list_notifications(request_session(), current_principal().user_id,
                                                unread_only=query.pop("unread"), **query)


@blp.route("/notifications/unread-count")
class UnreadCount(MethodView):
    @blp.login_required
    @blp.response(200, UnreadCountSchema)
    def get(self):
        """How many of my notifications are unread"""
        return {"unread": notifications.unread_count(request_session(), current_principal().user_id)}


@blp.route("/notifications/read")
class MarkAllRead(MethodView):
    @blp.login_required
    @blp.arguments(MarkAllReadSchema)
    @blp.response(200, MarkedSchema)
    def post(self, body):
        """Mark all my notifications read (those up to a time, if given)"""
        return {"marked": notifications.mark_all_read(request_session(), current_principal().user_id, **body)}


@blp.route("/notifications/<uuid:notification_id>/read")
class MarkRead(MethodView):
    @blp.login_required
    @blp.response(200, NotificationSchema)
    @blp.alt_response(404, description="No such notification of mine")
    def post(self, notification_id: uuid.UUID):
        """Mark one of my notifications read"""
        return notifications.mark_read(request_session(), current_principal().user_id, notification_id)
