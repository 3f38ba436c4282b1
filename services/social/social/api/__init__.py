"""The social service's resources: one flask-smorest Blueprint per resource."""
from __future__ import annotations

from flask_smorest import Blueprint

blueprints: list[Blueprint] = []
