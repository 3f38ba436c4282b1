"""marshmallow schemas of the auth service (request and response), by resource."""
from __future__ import annotations

from marshmallow import EXCLUDE, Schema, fields, validate  # noqa: F401  (used by the sections below)

# --- accounts, sessions, tokens, login activity ---------------------------------------

# --- 2FA and password reset ------------------------------------------------------------

# --- identity verification, public keys, bans ------------------------------------------
