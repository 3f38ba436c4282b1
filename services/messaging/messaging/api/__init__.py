"""The messaging service's resources: one flask-smorest Blueprint per resource."""
from __future__ import annotations

from messaging.api import attachments, conversations, keys, messages, stream

blueprints = [module.blp for module in (conversations, messages, keys, attachments, stream)]
