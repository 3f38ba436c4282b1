"""The BeYou messaging service: conversations, participants, standard and end-to-end encrypted messages, attachments, read state."""
from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask
from servicekit.app import create_service_app
from servicekit.encryption import DataCipher

from messaging.api import blueprints
from messaging.commands import reencrypt
from messaging.config import Config
from messaging.events import contracts
from messaging.stream import StreamHub


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the messaging app from the environment, with `config` overriding it (tests)."""
    settings = Config.load(config)
    app = create_service_app(settings, Path(__file__).parent, blueprints, contracts=contracts,
                             resources={"cipher": DataCipher(settings.data_keys),
                                        "stream": StreamHub(settings.database_url)},
                             description="Conversations, participants, standard and end-to-end encrypted messages, "
                                         "attachments, read state.")
    app.cli.add_command(reencrypt)
    return app
