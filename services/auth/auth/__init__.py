"""The BeYou auth service: accounts, credentials, sessions and tokens, 2FA, login activity, identity verification, the public-key registry."""
from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask
from servicekit.app import create_service_app
from servicekit.db import Database
from servicekit.tokens import TokenVerifier, verifier_for

from auth.api import blueprints
from auth.commands import create_staff, rotate_data_key
from auth.config import Config
from auth.documents import FileDocumentStore
from servicekit.encryption import DataCipher
from auth.events import contracts
from auth.signing_keys import LocalKeySource


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the auth app from the environment, with `config` overriding it (tests)."""
    settings = Config.load(config)
    app = create_service_app(settings, Path(__file__).parent, blueprints,
                             description="Accounts, sessions and tokens, 2FA, login activity, "
                                         "identity verification, the public-key registry.",
                             resources={"cipher": DataCipher(settings.data_keys),
                                        "documents": FileDocumentStore(settings.documents_dir)},
                             contracts=contracts, make_verifier=_local_verifier)
    app.cli.add_command(create_staff)
    app.cli.add_command(rotate_data_key)
    return app


def _local_verifier(settings: Config, database: Database) -> TokenVerifier:
    """auth checks its own tokens with keys from its own table (no HTTP to itself); revocations come from
    the same per-process denylist as in every service, which auth fills in the very transaction that
    revokes a session (sessions.revoke_session), so its own API refuses at once."""
    keys = LocalKeySource(database, access_token_ttl_seconds=settings.access_token_ttl_seconds,
                          leeway_seconds=settings.token_leeway_seconds)
    return verifier_for(settings, database, keys=keys)
