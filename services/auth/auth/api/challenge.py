"""Proof-of-work challenges: the bot defence in front of registration."""
from __future__ import annotations

from flask import current_app
from servicekit.api import Blueprint

from auth.challenges import issue_challenge
from auth.schemas import ChallengeSchema

blp = Blueprint("challenge", __name__, description="Proof-of-work challenges (hashcash style) to solve before registering.")


@blp.post("/challenge")
@blp.response(201, ChallengeSchema)
def create_challenge():
    """Get a signed, expiring proof-of-work challenge to solve before registering"""
    settings = current_app.extensions["servicekit"].settings
    return issue_challenge(settings.secret_key, difficulty=settings.pow_difficulty_bits,
                           ttl_seconds=settings.pow_challenge_ttl_seconds)
