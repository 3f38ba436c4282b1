"""Proof-of-work challenges: the bot defence in front of registration."""
from __future__ import annotations

from flask.views import MethodView
from servicekit.api import GATEWAY_THROTTLED, RETRY_AFTER, Blueprint
from servicekit.context import service_settings

from auth.challenges import issue_challenge
from auth.schemas import ChallengeSchema

blp = Blueprint("challenge", __name__, description="Proof-of-work challenges (hashcash style) to solve before registering.")


@blp.route("/challenge")
class Challenge(MethodView):
    @blp.response(201, ChallengeSchema)
    @blp.alt_response(429, description=GATEWAY_THROTTLED, headers=RETRY_AFTER)
    def post(self):
        """Get a signed, expiring proof-of-work challenge to solve before registering"""
        settings = service_settings()
        return issue_challenge(settings.secret_key, difficulty=settings.pow_difficulty_bits,
                               ttl_seconds=settings.pow_challenge_ttl_seconds)
