"""The BeYou auth service: accounts, credentials, sessions and tokens, 2FA, login activity, identity verification, the public-key registry."""
from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask
from servicekit.app import create_service_app

from auth.api import blueprints
from auth.config import Config
from auth.encryption import DataCipher


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the auth app from the environment, with `config` overriding it (tests)."""
    settings = Config.load(config)
    app = create_service_app(settings, Path(__file__).parent, blueprints,
                             description="Accounts, sessions and tokens, 2FA, login activity, "
                                         "identity verification, the public-key registry.")
    app.extensions["auth.cipher"] = DataCipher(settings.data_keys)
    return app
