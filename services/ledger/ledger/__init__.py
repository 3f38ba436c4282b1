"""The BeYou ledger service: the Merkle log of message records (RFC 9162), blocks and signed checkpoints."""
from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask
from servicekit.app import create_service_app

from ledger.api import blueprints
from ledger.config import Config
from ledger.events import contracts


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the ledger app from the environment, with `config` overriding it (tests)."""
    settings = Config.load(config)
    return create_service_app(settings, Path(__file__).parent, blueprints, contracts=contracts,
                              description="The Merkle log of message records (RFC 9162), blocks and signed checkpoints.")
