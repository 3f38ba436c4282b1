"""The auth service's resources: one flask-smorest Blueprint per module, registered in this order."""
from __future__ import annotations

from auth.api import (admin_login_activity, admin_users, admin_verifications, challenge, jwks, keys, login, me,
                      password_reset, register, sessions, tokens, two_factor, verification)

blueprints = [module.blp for module in (
    challenge, register, login, tokens, sessions, me, two_factor, password_reset, jwks, keys, verification,
    admin_verifications, admin_login_activity, admin_users,
)]
