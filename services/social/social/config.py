"""Every setting of the social service, read from the environment (see README, Configuration)."""
from __future__ import annotations

import dataclasses
from typing import ClassVar

from servicekit.config import Settings


@dataclasses.dataclass(frozen=True, kw_only=True)
class Config(Settings):
    service: ClassVar[str] = "social"

    # Uploaded images (avatars, report screenshots): checked by decoding, re-encoded, the original dropped.
    avatar_max_bytes: int = 5 * 1024 * 1024
    screenshot_max_bytes: int = 5 * 1024 * 1024
    image_max_pixels: int = 40_000_000   # width x height; more is refused before decoding (decompression bombs)
    max_body_bytes: int = 6 * 1024 * 1024  # a maximal image plus the multipart form around it

    # User search: how alike a name must be to a misspelt query to match (pg_trgm word similarity, 0..1).
    search_min_similarity: float = 0.45
