"""The auth service's resources: one flask-smorest Blueprint (`blp`) per module in this package.

Every module here that defines `blp` is registered, in module-name order; adding
a resource is adding a module.
"""
from __future__ import annotations

import importlib
import pkgutil

from flask_smorest import Blueprint


def _discover() -> list[Blueprint]:
    found = []
    for module in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        blueprint = getattr(importlib.import_module(f"{__name__}.{module.name}"), "blp", None)
        if blueprint is not None:
            found.append(blueprint)
    return found


blueprints: list[Blueprint] = _discover()
