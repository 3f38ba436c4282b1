"""The BeYou ledger service: the Merkle log of message and key records (RFC 9162), blocks and signed checkpoints."""
from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask
from servicekit.app import create_service_app

from ledger import audit
from ledger.api import blueprints
from ledger.config import Config
from ledger.events import contracts
from ledger.notes import NoteSigner, NoteVerifier
from ledger.tree import FullTileCache


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the ledger app from the environment, with `config` overriding it (tests)."""
    settings = Config.load(config)
    signer = NoteSigner.from_seed(settings.log_origin, settings.signing_key)
    return create_service_app(
        settings, Path(__file__).parent, blueprints, contracts=contracts,
        resources={"signer": signer, "verifier": NoteVerifier.from_vkey(signer.vkey), "tiles": FullTileCache()},
        readiness=audit.readiness,
        description="The Merkle log of message and key records (RFC 9162, C2SP tlog-tiles), blocks and signed "
                    "checkpoints.")
