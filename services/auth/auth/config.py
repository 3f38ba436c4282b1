"""Every setting of the auth service, read from the environment (see README, Configuration)."""
from __future__ import annotations

import dataclasses
import re
from typing import ClassVar

from servicekit.config import ConfigError, Settings

CODE_SENDERS = ("log", "outbox")
COOKIE_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")
COOKIE_PATH = re.compile(r"/[A-Za-z0-9_./~-]*")


@dataclasses.dataclass(frozen=True, kw_only=True)
class Config(Settings):
    service: ClassVar[str] = "auth"

    # Secrets (required; no usable default). SECRET_KEY signs challenges and MFA/reset tokens;
    # DATA_KEYS are Fernet keys (comma-separated, newest first) encrypting TOTP secrets,
    # signing keys and identity documents at rest.
    secret_key: str
    data_keys: tuple[str, ...]

    access_token_ttl_seconds: int = 900
    refresh_token_ttl_seconds: int = 30 * 24 * 3600
    # Browser mode (auth/browser.py): the refresh token travels in a cookie of this name, which the browser
    # sends to this path only (token refresh). Always HttpOnly, Secure and SameSite=Strict: not settings.
    refresh_cookie_name: str = "beyou_refresh"
    refresh_cookie_path: str = "/api/auth/token"
    signing_key_rotation_days: int = 30

    pow_difficulty_bits: int = 20
    pow_challenge_ttl_seconds: int = 300

    login_failure_window_seconds: int = 900
    login_slowdown_after: int = 3          # failures in the window before attempts are throttled
    login_throttle_step_seconds: float = 0.2   # the pause after the last failure grows by this per failure...
    login_throttle_max_seconds: float = 2.0    # ...up to this; an attempt within the pause is refused unchecked
    login_lockout_after: int = 10          # failures per account in the window before a lock
    login_source_lockout_after: int = 50   # failures per source address in the window
    login_lockout_seconds: int = 900
    mfa_token_ttl_seconds: int = 300

    password_reset_ttl_seconds: int = 900
    password_reset_code_sender: str = "log"  # one of CODE_SENDERS: who delivers one-time codes

    documents_dir: str = "/var/lib/beyou/auth/documents"
    document_max_bytes: int = 5 * 1024 * 1024
    max_body_bytes: int = 6 * 1024 * 1024  # a maximal document plus the multipart form around it

    # The worker's purge of dead rows (spent refresh tokens, MFA and proof-of-work challenges, password
    # resets): how often it runs, how long a dead row is kept (while it is kept, reusing a spent refresh
    # token still revokes its session, and a finished reset still answers 410), rows per transaction.
    purge_interval_seconds: float = 3600.0
    purge_retention_seconds: int = 7 * 24 * 3600
    purge_batch_size: int = 1000

    def __post_init__(self) -> None:
        if self.access_token_ttl_seconds > self.token_max_lifetime_seconds:  # every service would refuse them
            raise ConfigError("ACCESS_TOKEN_TTL_SECONDS must not exceed TOKEN_MAX_LIFETIME_SECONDS "
                              f"({self.token_max_lifetime_seconds})")
        if not COOKIE_NAME.fullmatch(self.refresh_cookie_name):  # else Set-Cookie would be malformed or split
            raise ConfigError("REFRESH_COOKIE_NAME must be letters, digits, '_' and '-'")
        if not COOKIE_PATH.fullmatch(self.refresh_cookie_path):
            raise ConfigError("REFRESH_COOKIE_PATH must be an absolute path of letters, digits and _ . / ~ -")
        if self.password_reset_code_sender not in CODE_SENDERS:  # fail at start, not at the first reset
            raise ConfigError(f"PASSWORD_RESET_CODE_SENDER must be one of {', '.join(CODE_SENDERS)}")
