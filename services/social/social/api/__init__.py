"""The social service's resources: one flask-smorest Blueprint per resource."""
from __future__ import annotations

from social.api import (admin_reports, avatars, blocks, friend_requests, friends, notifications, profiles, reports,
                        search)

blueprints = [module.blp for module in (profiles, avatars, search, friend_requests, friends, blocks, notifications,
                                        reports, admin_reports)]
