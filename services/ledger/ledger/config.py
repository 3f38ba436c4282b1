"""Every setting of the ledger service, read from the environment (see README, Configuration)."""
from __future__ import annotations

import dataclasses
from typing import ClassVar

from servicekit.config import Settings


@dataclasses.dataclass(frozen=True, kw_only=True)
class Config(Settings):
    service: ClassVar[str] = "ledger"
