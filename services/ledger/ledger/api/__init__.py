"""The ledger service's resources: one flask-smorest Blueprint per resource."""
from __future__ import annotations

from ledger.api import admin, blocks, checkpoints, entries, proofs, tiles

blueprints = [module.blp for module in (checkpoints, entries, proofs, blocks, tiles, admin)]
