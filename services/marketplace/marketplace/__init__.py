"""The BeYou marketplace service: categories, items and images, carts, orders, payments and sales figures."""
from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask
from servicekit.app import create_service_app

from marketplace.api import blueprints
from marketplace.config import Config
from marketplace.events import contracts
from marketplace.payments import provider_for


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the marketplace app from the environment, with `config` overriding it (tests)."""
    settings = Config.load(config)
    return create_service_app(settings, Path(__file__).parent, blueprints, contracts=contracts,
                              resources={"payments": provider_for(settings)},
                              description="Categories, items and images, carts, orders, payments and sales figures.")
