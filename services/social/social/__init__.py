"""The BeYou social service: profiles, friend requests and friendships, blocks, notifications, user search, reports and moderation."""
from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask
from servicekit.app import create_service_app

from social.api import blueprints
from social.config import Config
from social.events import contracts


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the social app from the environment, with `config` overriding it (tests)."""
    settings = Config.load(config)
    return create_service_app(settings, Path(__file__).parent, blueprints, contracts=contracts,
                              description="Profiles, friend requests and friendships, blocks, notifications, user search, reports and moderation.")
