"""marshmallow schemas of the auth service (request and response), by resource."""
from __future__ import annotations

from marshmallow import Schema, fields, validate
from servicekit.pagination import PageArgs

from auth.browser import API, MODES

# --- accounts, sessions, tokens, login activity ---------------------------------------
from datetime import UTC  # noqa: E402  (this section's own imports, kept with it)

from marshmallow import pre_load  # noqa: E402

USERNAME_PATTERN = r"^[a-z0-9_.]{3,32}$"
E164_PATTERN = r"^\+[1-9][0-9]{6,14}$"


class ChallengeSchema(Schema):
    """A proof-of-work challenge: find a nonce such that SHA-256(token ":" nonce) starts with `difficulty` zero bits."""

    id = fields.UUID(dump_only=True)
    difficulty = fields.Integer(dump_only=True, metadata={"description": "Leading zero bits required."})
    expires_at = fields.AwareDateTime(dump_only=True)
    token = fields.String(dump_only=True, metadata={"description": "Signed; send it back with the nonce."})


class ChallengeSolutionSchema(Schema):
    token = fields.String(required=True, validate=validate.Length(min=1, max=1024))
    nonce = fields.String(required=True, validate=validate.Length(min=1, max=64))


class RegistrationSchema(Schema):
    username = fields.String(required=True, validate=validate.Regexp(
        USERNAME_PATTERN, error="3 to 32 characters: letters, digits, '_' and '.'"),
        metadata={"description": "Case-insensitively unique; stored lower-cased."})
    email = fields.Email(required=True, validate=validate.Length(max=254))
    phone = fields.String(required=True, validate=validate.Regexp(
        E164_PATTERN, error="must be an E.164 number such as +14155550123"))
    password = fields.String(required=True, load_only=True, validate=validate.Length(min=1, max=1024),
                             metadata={"description": "8 to 128 characters; common passwords are refused."})
    challenge = fields.Nested(ChallengeSolutionSchema, required=True)

    @pre_load
    def normalise(self, data, **_kwargs):
        if isinstance(data, dict):
            data = dict(data)
            for name in ("username", "email", "phone"):
                if isinstance(data.get(name), str):
                    data[name] = data[name].strip()
            for name in ("username", "email"):
                if isinstance(data.get(name), str):
                    data[name] = data[name].lower()
        return data


class AccountSchema(Schema):
    """The signed-in user's account (never a secret)."""

    id = fields.UUID(dump_only=True)
    username = fields.String(dump_only=True)
    email = fields.String(dump_only=True)
    phone = fields.String(dump_only=True)
    roles = fields.List(fields.String(), dump_only=True)
    verified = fields.Boolean(dump_only=True)
    totp_enabled = fields.Boolean(dump_only=True)
    created_at = fields.AwareDateTime(dump_only=True)


class TokenDeliverySchema(Schema):
    """How the tokens of a sign-in are handed over (auth/browser.py)."""

    mode = fields.String(load_default=API, validate=validate.OneOf(MODES), metadata={
        "description": "`api`: both tokens in the answer. `browser`: the answer has no `refresh_token`; it is "
                       "set as an HttpOnly, Secure, SameSite=Strict cookie (by default `beyou_refresh`, Path "
                       "/api/auth/token) that POST token/refresh reads, with the header X-BeYou-CSRF: 1."})


class LoginSchema(TokenDeliverySchema):
    username = fields.String(required=True, validate=validate.Length(min=1, max=254),
                             metadata={"description": "The username or the email address."})
    password = fields.String(required=True, load_only=True, validate=validate.Length(min=1, max=1024))


class TokenPairSchema(Schema):
    access_token = fields.String(dump_only=True)
    refresh_token = fields.String(dump_only=True, metadata={
        "description": "Single use: refreshing replaces it. Absent in browser mode (it is in the cookie)."})
    token_type = fields.String(dump_only=True)
    expires_in = fields.Integer(dump_only=True, metadata={"description": "Seconds until the access token expires."})
    session_id = fields.UUID(dump_only=True)


class LoginResultSchema(TokenPairSchema):
    """Tokens, or (2FA on) `mfa_required` with an `mfa_token` for POST login/2fa (`expires_in` is then its lifetime)."""

    mfa_required = fields.Boolean(dump_only=True)
    mfa_token = fields.String(dump_only=True)


class MfaLoginSchema(TokenDeliverySchema):
    mfa_token = fields.String(required=True, validate=validate.Length(min=1, max=256))
    code = fields.String(required=True, validate=validate.Length(min=1, max=64),
                         metadata={"description": "A current TOTP code or an unused recovery code."})


class RefreshSchema(Schema):
    refresh_token = fields.String(validate=validate.Length(min=1, max=256), metadata={
        "description": "The api mode's refresh token. Without it, the browser mode's cookie is read."})


class SessionSchema(Schema):
    id = fields.UUID(dump_only=True)
    created_at = fields.AwareDateTime(dump_only=True)
    last_used_at = fields.AwareDateTime(dump_only=True)
    expires_at = fields.AwareDateTime(dump_only=True)
    ip = fields.String(dump_only=True, allow_none=True)
    user_agent = fields.String(dump_only=True, allow_none=True)
    current = fields.Boolean(dump_only=True, metadata={"description": "The session of this request's token."})
    revoked = fields.Boolean(dump_only=True)
    revoked_at = fields.AwareDateTime(dump_only=True, allow_none=True)


class RevokedSessionsSchema(Schema):
    revoked = fields.Integer(dump_only=True, metadata={"description": "How many sessions were revoked."})


class PasswordChangeSchema(Schema):
    current_password = fields.String(required=True, load_only=True, validate=validate.Length(min=1, max=1024))
    new_password = fields.String(required=True, load_only=True, validate=validate.Length(min=1, max=1024))


class JwksSchema(Schema):
    keys = fields.List(fields.Dict(), dump_only=True, metadata={"description": "Ed25519 public keys (OKP JWKs)."})


class LoginActivityQuerySchema(PageArgs):
    username = fields.String(load_default=None, validate=validate.Length(max=254))
    ip = fields.IP(load_default=None)
    since = fields.AwareDateTime(data_key="from", load_default=None, default_timezone=UTC)
    until = fields.AwareDateTime(data_key="to", load_default=None, default_timezone=UTC)
    success = fields.Boolean(load_default=None, allow_none=True)


class LoginActivityPeriodSchema(Schema):
    since = fields.AwareDateTime(data_key="from", load_default=None, default_timezone=UTC)
    until = fields.AwareDateTime(data_key="to", load_default=None, default_timezone=UTC)


class LoginAttemptSchema(Schema):
    id = fields.Integer(dump_only=True)
    occurred_at = fields.AwareDateTime(dump_only=True)
    kind = fields.String(dump_only=True, metadata={"enum": ["login", "2fa", "refresh", "password", "reset"]})
    username = fields.String(dump_only=True, metadata={"description": "As typed."})
    user_id = fields.UUID(dump_only=True, allow_none=True)
    ip = fields.String(dump_only=True, allow_none=True)
    user_agent = fields.String(dump_only=True, allow_none=True)
    success = fields.Boolean(dump_only=True, allow_none=True, metadata={"description": "null while being checked"})
    # Every reason recorded: login_activity's, login's (suspended), tokens' (reuse), password_reset's (code step).
    failure_reason = fields.String(dump_only=True, allow_none=True, metadata={
        "enum": ["unknown_user", "bad_password", "bad_2fa_code", "locked", "banned", "suspended", "throttled",
                 "refresh_token_reused", "bad_code", "expired", "reset_used", "too_many_codes"]})
    session_id = fields.UUID(dump_only=True, allow_none=True)


class FailedUsernameSchema(Schema):
    username = fields.String(dump_only=True)
    failures = fields.Integer(dump_only=True)


class FailedIpSchema(Schema):
    ip = fields.String(dump_only=True)
    failures = fields.Integer(dump_only=True)


class LoginActivityStatsSchema(Schema):
    total = fields.Integer(dump_only=True)
    successes = fields.Integer(dump_only=True)
    failures = fields.Integer(dump_only=True)
    unique_users = fields.Integer(dump_only=True)
    unique_ips = fields.Integer(dump_only=True)
    most_failed_usernames = fields.List(fields.Nested(FailedUsernameSchema), dump_only=True)
    most_failed_ips = fields.List(fields.Nested(FailedIpSchema), dump_only=True)
    recent_failures = fields.List(fields.Nested(LoginAttemptSchema), dump_only=True)


# --- 2FA and password reset ------------------------------------------------------------


class TwoFactorSetupSchema(Schema):
    """A new TOTP secret: enter it (or scan the QR code) in an authenticator app, then confirm."""

    secret = fields.String(dump_only=True, metadata={"description": "The base32 TOTP secret."})
    otpauth_uri = fields.String(dump_only=True, metadata={"description": "otpauth://totp/BeYou:<username>?..."})
    qr_png_base64 = fields.String(dump_only=True, metadata={"description": "The URI as a QR code, base64 PNG."})


class TwoFactorCodeSchema(Schema):
    code = fields.String(required=True, validate=validate.Length(min=1, max=64),
                         metadata={"description": "A current TOTP code or an unused recovery code."})


class PasswordConfirmationSchema(Schema):
    password = fields.String(required=True, validate=validate.Length(min=1, max=1024),
                             metadata={"description": "The account's current password."})


class TwoFactorDisableSchema(TwoFactorCodeSchema):
    password = fields.String(required=True, validate=validate.Length(min=1, max=1024))


class RecoveryCodesSchema(Schema):
    recovery_codes = fields.List(fields.String(), dump_only=True,
                                 metadata={"description": "One-time codes, shown only now; each works once."})


class PasswordResetStartSchema(Schema):
    username_or_email = fields.String(required=True, validate=validate.Length(min=1, max=254))


class PasswordResetStartedSchema(Schema):
    """The same for every login name: verify with a TOTP or recovery code if your account has 2FA on,
    else with the one-time code sent to your email (none is sent to an unknown or a 2FA account)."""

    reset_id = fields.UUID(dump_only=True)
    expires_at = fields.AwareDateTime(dump_only=True)


class PasswordResetCodeSchema(Schema):
    code = fields.String(required=True, validate=validate.Length(min=1, max=64))


class PasswordResetVerifiedSchema(Schema):
    reset_id = fields.UUID(dump_only=True)
    verified = fields.Boolean(dump_only=True)
    expires_at = fields.AwareDateTime(dump_only=True, metadata={"description": "Confirm before this time."})


class PasswordResetConfirmSchema(Schema):
    new_password = fields.String(required=True, validate=validate.Length(min=1, max=1024))


# --- identity verification, public keys, bans ------------------------------------------
from flask_smorest.fields import Upload  # noqa: E402  (this section's own imports, kept with it)


class VerificationDocumentSchema(Schema):
    document = Upload(required=True, metadata={"description": "The ID document: JPEG, PNG or PDF, at most 5 MB."})


class VerificationSubmissionSchema(Schema):
    """The multipart form of a verification request (the file itself is read by VerificationDocumentSchema)."""

    reason = fields.String(required=True, validate=validate.Length(min=1, max=2000))
    document = Upload(load_only=True, metadata={"description": "The ID document (required): JPEG, PNG or PDF, "
                                                               "at most 5 MB."})


class VerificationRequestSchema(Schema):
    """A verification request as its owner sees it."""

    id = fields.UUID(dump_only=True)
    user_id = fields.UUID(dump_only=True)
    reason = fields.String(dump_only=True)
    status = fields.String(dump_only=True, metadata={"enum": ["pending", "approved", "rejected"]})
    document_type = fields.String(dump_only=True)
    document_size = fields.Integer(dump_only=True)
    document_sha256 = fields.String(dump_only=True)
    created_at = fields.AwareDateTime(dump_only=True)
    decided_at = fields.AwareDateTime(dump_only=True, allow_none=True)
    notes = fields.String(dump_only=True, allow_none=True)


class AdminVerificationRequestSchema(VerificationRequestSchema):
    """A verification request as staff see it (also who decided it)."""

    decided_by = fields.UUID(dump_only=True, allow_none=True)


class AdminVerificationQuerySchema(PageArgs):
    status = fields.String(load_default="pending", validate=validate.OneOf(["pending", "approved", "rejected"]))


class VerificationDecisionSchema(Schema):
    notes = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=2000))


class VerificationRejectionSchema(Schema):
    notes = fields.String(required=True, validate=validate.Length(min=1, max=2000),
                          metadata={"description": "Why, for the user: what to send next time."})


class KeyChallengeSchema(Schema):
    """A challenge to sign when registering a key: bound to you, single-use, expiring (docs/key-registration.md)."""

    challenge = fields.String(dump_only=True, metadata={
        "description": "Opaque ASCII; copy it verbatim into the signed statement and into the registration."})
    expires_at = fields.AwareDateTime(dump_only=True)


class PublicKeyRegistrationSchema(Schema):
    """A public key with its proof of possession (docs/key-registration.md)."""

    purpose = fields.String(required=True, validate=validate.OneOf(["signing", "encryption"]))
    algorithm = fields.String(required=True, validate=validate.OneOf(["rsa", "ed25519", "x25519"]))
    pem = fields.String(required=True, validate=validate.Length(min=1, max=16384),
                        metadata={"description": "The public key as PEM (SubjectPublicKeyInfo); never a private key."})
    challenge = fields.String(required=True, validate=validate.Length(min=1, max=512), metadata={
        "description": "From POST /api/auth/keys/challenge, unaltered."})
    signature = fields.String(required=True, validate=validate.Length(min=1, max=2048), metadata={
        "description": "Base64 (standard, padded) signature of the UTF-8 statement "
                       "\"BeYou key registration v1\\n<challenge>\\n<purpose>\\n<fingerprint>\": by the key itself "
                       "for a signing key, by your active signing key for an encryption key. Ed25519, or RSA-PSS "
                       "with SHA-256, MGF1-SHA-256 and a 32-byte salt."})


class PublicKeySchema(Schema):
    fingerprint = fields.String(dump_only=True, metadata={"description": "SHA-256 hex of the DER SubjectPublicKeyInfo"})
    user_id = fields.UUID(dump_only=True)
    purpose = fields.String(dump_only=True)
    algorithm = fields.String(dump_only=True)
    pem = fields.String(dump_only=True)
    active = fields.Boolean(dump_only=True)
    created_at = fields.AwareDateTime(dump_only=True)
    deactivated_at = fields.AwareDateTime(dump_only=True, allow_none=True)


class PublicKeyQuerySchema(PageArgs):
    active = fields.Boolean(load_default=None, allow_none=True,
                            metadata={"description": "Only active (true) or only historic (false) keys."})


class BanSchema(Schema):
    reason = fields.String(required=True, validate=validate.Length(min=1, max=2000))


class BanStateSchema(Schema):
    """A user's ban state, and the end of their latest suspension."""

    user_id = fields.UUID(attribute="id", dump_only=True)
    banned = fields.Function(lambda user: user.banned_at is not None, dump_only=True)
    banned_at = fields.AwareDateTime(dump_only=True, allow_none=True)
    ban_reason = fields.String(dump_only=True, allow_none=True)
    suspended_until = fields.AwareDateTime(dump_only=True, allow_none=True, metadata={
        "description": "When the user's suspension (decided by moderation) ends or ended; null if never "
                       "suspended. Sign-in is refused until then."})
