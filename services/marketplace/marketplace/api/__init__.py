"""The marketplace service's resources: one flask-smorest Blueprint per resource."""
from __future__ import annotations

from servicekit.api import Blueprint

blueprints: list[Blueprint] = []
