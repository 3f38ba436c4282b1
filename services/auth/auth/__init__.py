"""The BeYou auth service: accounts, credentials, sessions and tokens, 2FA, login activity, identity verification, the public-key registry."""
from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask
from servicekit.app import create_service_app
from servicekit.db import Database, request_session
from servicekit.tokens import TokenVerifier

from auth.api import blueprints
from auth.commands import create_staff, rotate_data_key
from auth.config import Config
from auth.documents import FileDocumentStore
from auth.encryption import DataCipher
from auth.events import contracts
from auth.sessions import session_is_live
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


def _local_verifier(settings: Config, db: Database) -> TokenVerifier:
    """auth checks its own tokens against its own tables: keys by kid without HTTP to itself, and a
    revoked (or expired) session refused at once, before the revocation event comes back from the bus."""
    keys = LocalKeySource(db, access_token_ttl_seconds=settings.access_token_ttl_seconds,
                          leeway_seconds=settings.token_leeway_seconds)
    return TokenVerifier(keys, issuer=settings.token_issuer, audience=settings.token_audience,
                         leeway=settings.token_leeway_seconds,
                         is_revoked=lambda session_id: not session_is_live(request_session(), session_id))
